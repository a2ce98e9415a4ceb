// .npy / .npz readers (see npy.h).
#include "npy.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace kn {

namespace {

constexpr uint32_t kMaxHeader = 1u << 20;  // numpy writes a few hundred bytes

[[noreturn]] void npy_fail(const std::string& name, const std::string& what, uint64_t offset) {
  throw Error("invalid .npy file '" + name + "': " + what + " (at byte offset " + std::to_string(offset) + ")");
}

// The header dict: {'descr': '<u1', 'fortran_order': False, 'shape': (2, 3), }
struct NpyHeader {
  std::string descr;
  bool fortran = false;
  Shape shape;
  bool has_descr = false, has_fortran = false, has_shape = false;
};

class DictParser {
 public:
  DictParser(const std::string& t, const std::string& name, uint64_t base) : t_(t), name_(name), base_(base) {}
  NpyHeader parse() {
    NpyHeader h;
    ws();
    expect('{');
    for (;;) {
      ws();
      if (peek() == '}') { ++p_; break; }
      std::string key = str();
      ws();
      expect(':');
      ws();
      if (key == "descr") { h.descr = str(); h.has_descr = true; }
      else if (key == "fortran_order") { h.fortran = boolean(); h.has_fortran = true; }
      else if (key == "shape") { h.shape = tuple(); h.has_shape = true; }
      else fail("unexpected key '" + key + "' in the header dict");
      ws();
      if (peek() == ',') { ++p_; continue; }
      ws();
      expect('}');
      break;
    }
    ws();
    if (p_ != t_.size()) fail("unexpected text after the header dict");
    if (!h.has_descr || !h.has_fortran || !h.has_shape)
      fail(std::string("the header dict lacks '") + (!h.has_descr ? "descr" : !h.has_fortran ? "fortran_order" : "shape") + "'");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    npy_fail(name_, "bad header: " + what + " in \"" + t_.substr(0, 200) + "\"", base_ + p_);
  }
  char peek() const { return p_ < t_.size() ? t_[p_] : '\0'; }
  void ws() { while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\t' || t_[p_] == '\n' || t_[p_] == '\r' || t_[p_] == '\0')) ++p_; }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++p_;
  }
  std::string str() {
    char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    size_t e = t_.find(q, p_ + 1);
    if (e == std::string::npos) fail("unterminated string");
    std::string s = t_.substr(p_ + 1, e - p_ - 1);
    p_ = e + 1;
    return s;
  }
  bool boolean() {
    if (t_.compare(p_, 4, "True") == 0) { p_ += 4; return true; }
    if (t_.compare(p_, 5, "False") == 0) { p_ += 5; return false; }
    fail("expected True or False");
  }
  Shape tuple() {
    expect('(');
    Shape s;
    for (;;) {
      ws();
      if (peek() == ')') { ++p_; break; }
      if (peek() < '0' || peek() > '9') fail("expected a non-negative dimension size");
      int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (v > (INT64_C(1) << 56)) fail("dimension size too large");
        v = v * 10 + (t_[p_++] - '0');
      }
      if (peek() == 'L' || peek() == 'l') ++p_;
      s.push_back(v);
      if (s.size() > 64) fail("more than 64 dimensions");
      ws();
      if (peek() == ',') { ++p_; continue; }
      expect(')');
      break;
    }
    return s;
  }
  const std::string& t_;
  const std::string& name_;
  uint64_t base_;
  size_t p_ = 0;
};

uint64_t load_uint(const uint8_t* p, int size, bool big) {
  uint64_t v = 0;
  if (big) for (int i = 0; i < size; ++i) v = (v << 8) | p[i];
  else for (int i = size - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

std::string shape_text(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

}  // namespace

NumArray parse_npy(ByteSource& src, const std::string& name) {
  unsigned char pre[12];
  size_t k = src.read(reinterpret_cast<char*>(pre), 8);
  if (k < 6 || std::memcmp(pre, "\x93NUMPY", 6) != 0) npy_fail(name, "bad magic string (expected \\x93NUMPY)", 0);
  if (k < 8) npy_fail(name, "truncated header (no version bytes)", k);
  const int major = pre[6], minor = pre[7];
  if (major < 1 || major > 3)
    npy_fail(name, "unsupported format version " + std::to_string(major) + "." + std::to_string(minor), 6);
  const size_t lsize = major == 1 ? 2 : 4;
  k = src.read(reinterpret_cast<char*>(pre + 8), lsize);
  if (k < lsize) npy_fail(name, "truncated header (no header length)", 8 + k);
  const uint32_t hlen = static_cast<uint32_t>(load_uint(pre + 8, static_cast<int>(lsize), false));
  const uint64_t hoff = 8 + lsize;
  if (hlen > kMaxHeader)
    npy_fail(name, "header length " + std::to_string(hlen) + " exceeds the " + std::to_string(kMaxHeader) + "-byte limit", 8);
  const int64_t rem0 = src.remaining();
  if (rem0 >= 0 && static_cast<uint64_t>(rem0) < hlen)
    npy_fail(name, "truncated header: " + std::to_string(rem0) + " of " + std::to_string(hlen) + " header bytes present", hoff + rem0);
  std::string header(hlen, '\0');
  k = src.read(&header[0], hlen);
  if (k < hlen)
    npy_fail(name, "truncated header: " + std::to_string(k) + " of " + std::to_string(hlen) + " header bytes present", hoff + k);
  const NpyHeader h = DictParser(header, name, hoff).parse();
  const uint64_t data_off = hoff + hlen;

  // descr: [<>|=]? kind size
  const std::string& d = h.descr;
  size_t p = 0;
  bool big = false;
  if (p < d.size() && (d[p] == '<' || d[p] == '>' || d[p] == '|' || d[p] == '=')) big = d[p++] == '>';
  const char kind = p < d.size() ? d[p++] : '?';
  const std::string sz = d.substr(std::min(p, d.size()));
  const int size = sz == "1" ? 1 : sz == "2" ? 2 : sz == "4" ? 4 : sz == "8" ? 8 : 0;
  bool ok = (kind == 'b' && size == 1) || ((kind == 'i' || kind == 'u') && size > 0) || (kind == 'f' && size >= 4);
  if (!ok) npy_fail(name, "unsupported dtype '" + d + "' (supported: b1, i1/2/4/8, u1/2/4/8, f4/8)", hoff);

  NumArray a;
  a.shape = h.shape;
  a.fortran_order = h.fortran;
  int64_t n = 1;
  for (int64_t v : h.shape)
    if (n >= 0) n = checked_mul(n, v, kMaxArrayValues);
  if (n < 0)
    npy_fail(name, "shape " + shape_text(h.shape) + " has more values than the " + std::to_string(kMaxArrayValues) +
                       " an R array can hold", hoff);
  const uint64_t nbytes = static_cast<uint64_t>(n) * size;
  auto short_data = [&](uint64_t got) {
    npy_fail(name, "truncated data: shape " + shape_text(h.shape) + " of dtype '" + d + "' needs " + std::to_string(n) +
                       " values but only " + std::to_string(got / size) + " are present",
             data_off + got);
  };
  const int64_t rem = src.remaining();
  if (rem >= 0 && static_cast<uint64_t>(rem) < nbytes) short_data(static_cast<uint64_t>(rem));
  std::vector<uint8_t> raw;
  uint64_t got = read_up_to(src, nbytes, raw);
  if (got < nbytes) short_data(got);
  char extra;
  if (src.read(&extra, 1) == 1)
    npy_fail(name, "unexpected trailing bytes after the " + std::to_string(n) + " values declared by shape " + shape_text(h.shape),
             data_off + nbytes);

  const uint8_t* q = raw.data();
  if (kind == 'b') {
    a.kind = NumArray::Bool;
    a.u8.resize(n);
    for (int64_t i = 0; i < n; ++i) a.u8[i] = q[i] != 0;
  } else if (kind == 'u' && size == 1) {
    a.kind = NumArray::U8;
    a.u8.swap(raw);
  } else if (kind == 'f') {
    a.kind = NumArray::F64;
    a.f64.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      uint64_t u = load_uint(q + i * size, size, big);
      if (size == 4) {
        uint32_t u32 = static_cast<uint32_t>(u);
        float f;
        std::memcpy(&f, &u32, 4);
        a.f64[i] = f;
      } else {
        std::memcpy(&a.f64[i], &u, 8);
      }
    }
  } else if (size <= 2 || (kind == 'i' && size == 4)) {
    a.kind = NumArray::I32;
    a.i32.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      uint64_t u = load_uint(q + i * size, size, big);
      if (kind == 'u') a.i32[i] = static_cast<int32_t>(u);
      else if (size == 1) a.i32[i] = static_cast<int8_t>(u);
      else if (size == 2) a.i32[i] = static_cast<int16_t>(u);
      else a.i32[i] = static_cast<int32_t>(static_cast<uint32_t>(u));
    }
  } else {  // u4, i8, u8 as double
    a.kind = NumArray::F64;
    a.f64.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      uint64_t u = load_uint(q + i * size, size, big);
      a.f64[i] = kind == 'i' && size == 8 ? static_cast<double>(static_cast<int64_t>(u)) : static_cast<double>(u);
    }
  }
  return a;
}

NumArray read_npy(const std::string& path) {
  FileSource f(path, ".npy file");
  return parse_npy(f, path);
}

// ---------------------------------------------------------------- zip

namespace {

uint32_t le(std::string_view z, uint64_t off, int size) {
  uint32_t v = 0;
  for (int i = size - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(z[off + i]);
  return v;
}
uint64_t le64(std::string_view z, uint64_t off) {
  return (uint64_t(le(z, off + 4, 4)) << 32) | le(z, off, 4);
}

[[noreturn]] void zip_fail(const std::string& name, const std::string& what) {
  throw Error("invalid .npz file '" + name + "': " + what);
}

// Computes the CRC-32 of what passes through.
class CrcSource : public ByteSource {
 public:
  explicit CrcSource(std::unique_ptr<ByteSource> in) : in_(std::move(in)) {}
  size_t read(char* dst, size_t n) override {
    size_t k = in_->read(dst, n);
    crc_ = crc32(crc_, reinterpret_cast<const Bytef*>(dst), static_cast<uInt>(k));
    offset_ += k;
    return k;
  }
  int64_t remaining() const override { return in_->remaining(); }
  uint32_t crc() const { return static_cast<uint32_t>(crc_); }

 private:
  std::unique_ptr<ByteSource> in_;
  uLong crc_ = crc32(0, Z_NULL, 0);
};

}  // namespace

std::vector<ZipEntry> zip_entries(std::string_view z, const std::string& name) {
  // end of central directory: 22 bytes + comment (<= 65535), found from the end
  const uint64_t size = z.size();
  if (size < 22) zip_fail(name, "not a readable zip archive (" + std::to_string(size) + " bytes, too short)");
  int64_t eocd = -1;
  for (int64_t p = static_cast<int64_t>(size) - 22; p >= 0 && p >= static_cast<int64_t>(size) - 22 - 65535; --p)
    if (le(z, p, 4) == 0x06054b50) { eocd = p; break; }
  if (eocd < 0) zip_fail(name, "not a readable zip archive (no end-of-central-directory record)");
  uint64_t count = le(z, eocd + 10, 2), cd_size = le(z, eocd + 12, 4), cd_off = le(z, eocd + 16, 4);
  if (count == 0xFFFF || cd_off == 0xFFFFFFFFu) {
    // zip64: locator (20 bytes) just before the EOCD points at the zip64 EOCD
    if (eocd < 20 || le(z, eocd - 20, 4) != 0x07064b50) zip_fail(name, "zip64 archive without a zip64 locator");
    uint64_t z64 = le64(z, eocd - 20 + 8);
    if (z64 > size - 56 || size < 56 || le(z, z64, 4) != 0x06064b50)
      zip_fail(name, "bad zip64 end-of-central-directory offset " + std::to_string(z64));
    count = le64(z, z64 + 32);
    cd_size = le64(z, z64 + 40);
    cd_off = le64(z, z64 + 48);
  }
  if (cd_off > size || cd_size > size - cd_off)
    zip_fail(name, "central directory (offset " + std::to_string(cd_off) + ", " + std::to_string(cd_size) +
                       " bytes) lies outside the " + std::to_string(size) + "-byte file");
  if (count > cd_size / 46) zip_fail(name, "central directory claims " + std::to_string(count) + " entries in " + std::to_string(cd_size) + " bytes");
  std::vector<ZipEntry> out;
  uint64_t p = cd_off;
  const uint64_t end = cd_off + cd_size;
  for (uint64_t i = 0; i < count; ++i) {
    if (end - p < 46 || le(z, p, 4) != 0x02014b50)
      zip_fail(name, "bad central directory entry " + std::to_string(i) + " at byte offset " + std::to_string(p));
    ZipEntry e;
    e.method = static_cast<int>(le(z, p + 10, 2));
    e.crc = le(z, p + 16, 4);
    e.csize = le(z, p + 20, 4);
    e.usize = le(z, p + 24, 4);
    const uint64_t nlen = le(z, p + 28, 2), xlen = le(z, p + 30, 2), clen = le(z, p + 32, 2);
    e.local_offset = le(z, p + 42, 4);
    if (end - p - 46 < nlen + xlen + clen)
      zip_fail(name, "central directory entry " + std::to_string(i) + " at byte offset " + std::to_string(p) + " is truncated");
    e.name.assign(z.data() + p + 46, nlen);
    // zip64 extra field (id 1): the 8-byte values of the fields set to 0xFFFFFFFF, in this order
    uint64_t x = p + 46 + nlen, xend = x + xlen;
    while (xend - x >= 4) {
      uint32_t id = le(z, x, 2), len = le(z, x + 2, 2);
      if (len > xend - x - 4) break;
      if (id == 1) {
        uint64_t q = x + 4, qend = q + len;
        uint64_t* fields[3] = {&e.usize, &e.csize, &e.local_offset};
        for (uint64_t* f : fields)
          if (*f == 0xFFFFFFFFu && qend - q >= 8) { *f = le64(z, q); q += 8; }
      }
      x += 4 + len;
    }
    out.push_back(std::move(e));
    p += 46 + nlen + xlen + clen;
  }
  return out;
}

NumArray npz_member(std::string_view z, const ZipEntry& e, const std::string& name) {
  const std::string mname = name + ":" + e.name;
  const uint64_t size = z.size();
  const uint64_t lo = e.local_offset;
  if (lo > size || size - lo < 30 || le(z, lo, 4) != 0x04034b50)
    zip_fail(name, "member " + e.name + ": no local header at byte offset " + std::to_string(lo));
  const uint64_t start = lo + 30 + le(z, lo + 26, 2) + le(z, lo + 28, 2);
  if (start > size || e.csize > size - start)
    zip_fail(name, "member " + e.name + ": " + std::to_string(e.csize) + " compressed bytes at byte offset " +
                       std::to_string(start) + " run past the end of the " + std::to_string(size) + "-byte file");
  auto raw = std::make_unique<MemorySource>(z.substr(start, e.csize));
  std::unique_ptr<ByteSource> data;
  if (e.method == 0) {
    if (e.usize != e.csize)
      zip_fail(name, "stored member " + e.name + " has " + std::to_string(e.csize) + " bytes but declares " + std::to_string(e.usize));
    data = std::move(raw);
  } else if (e.method == 8) {
    data = std::make_unique<InflateSource>(std::move(raw), InflateSource::Raw, "invalid .npz file '" + name + "', member " + e.name);
  } else {
    zip_fail(name, "member " + e.name + " uses compression method " + std::to_string(e.method) + " (only stored and deflate are supported)");
  }
  CrcSource crc(std::move(data));
  NumArray a = parse_npy(crc, mname);
  if (crc.offset() != e.usize)
    zip_fail(name, "member " + e.name + " holds " + std::to_string(crc.offset()) + " bytes but the directory declares " +
                       std::to_string(e.usize));
  if (crc.crc() != e.crc) zip_fail(name, "member " + e.name + ": CRC-32 mismatch (the data are corrupt)");
  return a;
}

std::vector<NumArray> read_npz(const std::string& path, const std::vector<std::string>& members) {
  const std::string bytes = read_file_bytes(path, ".npz file");
  std::vector<ZipEntry> entries = zip_entries(bytes, path);
  std::vector<const ZipEntry*> found;
  std::string missing;
  for (const std::string& m : members) {
    const ZipEntry* hit = nullptr;
    for (const ZipEntry& e : entries)
      if (e.name == m + ".npy") hit = &e;
    if (!hit) missing += (missing.empty() ? "" : ", ") + m + ".npy";
    found.push_back(hit);
  }
  if (!missing.empty()) {
    std::string held;
    for (const ZipEntry& e : entries) held += (held.empty() ? "" : ", ") + e.name;
    zip_fail(path, "missing member(s) " + missing + " (archive holds: " + (held.empty() ? "nothing" : held) + ")");
  }
  std::vector<NumArray> out;
  for (const ZipEntry* e : found) out.push_back(npz_member(bytes, *e, path));
  return out;
}

}  // namespace kn
