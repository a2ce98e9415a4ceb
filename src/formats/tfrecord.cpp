// TFRecord reader/writer. See tfrecord.h for the format and the "auto" rule.
#include "tfrecord.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "atomic_file.h"
#include "crc32c.h"

namespace kn {

namespace {

constexpr size_t kHeader = 12;  // uint64 length + uint32 masked crc
constexpr size_t kFooter = 4;   // uint32 masked crc of data
constexpr size_t kChunk = 1 << 20;  // largest single read/inflate step (bytes)
constexpr size_t kFirstRead = 4096;  // first read-ahead; doubles per refill up to kChunk

inline uint64_t load_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
inline uint32_t load_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
inline void store_u64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}
inline void store_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

std::string hex32(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

std::string hex_bytes(const unsigned char* p, size_t n) {
  std::string s;
  char b[4];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, i ? " %02x" : "%02x", p[i]);
    s += b;
  }
  return s;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ends_with(const std::string& s, const char* suf) {
  size_t n = std::strlen(suf);
  return s.size() >= n && lower(s.substr(s.size() - n)) == suf;
}

Compression compression_from_extension(const std::string& path) {
  if (ends_with(path, ".gz") || ends_with(path, ".gzip")) return Compression::Gzip;
  if (ends_with(path, ".zlib") || ends_with(path, ".zz")) return Compression::Zlib;
  return Compression::None;
}

bool valid_record_header(const unsigned char* p) {
  return crc32c_mask(crc32c(p, 8)) == load_u32(reinterpret_cast<const char*>(p) + 8);
}

bool zlib_header(const unsigned char* p) {
  unsigned cmf = p[0], flg = p[1];
  return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && (cmf * 256 + flg) % 31 == 0 && !(flg & 0x20);
}

// First bytes of a file (up to n).
std::vector<unsigned char> peek_file(const std::string& path, size_t n) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f)
    throw Error("TFRecord file '" + path + "': cannot open for reading: " + std::strerror(errno));
  std::vector<unsigned char> b(n);
  size_t got = std::fread(b.data(), 1, n, f);
  std::fclose(f);
  b.resize(got);
  return b;
}

// What the first bytes look like, for "wrong compression" messages.
std::string describe_start(const std::vector<unsigned char>& b) {
  if (b.empty()) return "the file is empty";
  std::string first = "it starts with " + hex_bytes(b.data(), std::min<size_t>(b.size(), 4));
  if (b.size() >= 2 && b[0] == 0x1f && b[1] == 0x8b)
    return first + " (gzip magic): it is GZIP-compressed, use compression \"GZIP\" or \"auto\"";
  if (b.size() >= kHeader && valid_record_header(b.data()))
    return first + " and has a valid TFRecord record header: it is an uncompressed TFRecord "
                   "file, use compression \"\" (none) or \"auto\"";
  if (b.size() >= 2 && zlib_header(b.data()))
    return first + " (a zlib header): it is probably ZLIB-compressed, use compression \"ZLIB\" "
                   "or \"auto\"";
  return first + ", which is neither a TFRecord record header nor a gzip/zlib header";
}

}  // namespace

Compression parse_compression(const std::string& name) {
  std::string s = lower(name);
  if (s.empty() || s == "none") return Compression::None;
  if (s == "gzip") return Compression::Gzip;
  if (s == "zlib") return Compression::Zlib;
  if (s == "auto") return Compression::Auto;
  throw Error("unknown TFRecord compression type '" + name +
              "' (expected \"\"/\"NONE\", \"GZIP\", \"ZLIB\" or \"auto\")");
}

const char* compression_name(Compression c) {
  switch (c) {
    case Compression::None: return "NONE";
    case Compression::Gzip: return "GZIP";
    case Compression::Zlib: return "ZLIB";
    case Compression::Auto: return "AUTO";
  }
  return "?";
}

Compression detect_compression(const std::string& path) {
  std::vector<unsigned char> b = peek_file(path, kHeader);
  if (b.empty()) return Compression::None;
  if (b.size() >= 2 && b[0] == 0x1f && b[1] == 0x8b) return Compression::Gzip;
  if (b.size() >= kHeader && valid_record_header(b.data())) return Compression::None;
  if (b.size() >= 2 && zlib_header(b.data())) return Compression::Zlib;
  return compression_from_extension(path);
}

void append_framed_record(std::string& out, const char* data, size_t n) {
  char hdr[kHeader], ftr[kFooter];
  store_u64(hdr, static_cast<uint64_t>(n));
  store_u32(hdr + 8, crc32c_mask(crc32c(hdr, 8)));
  store_u32(ftr, crc32c_mask(crc32c(data, n)));
  out.append(hdr, kHeader);
  out.append(data, n);
  out.append(ftr, kFooter);
}

// ---------------------------------------------------------------------------
// Byte sources

namespace detail {

struct ByteSource {
  virtual ~ByteSource() = default;
  // Fills dst with up to n bytes; returns 0 only at the end of the stream (a
  // short non-zero read is allowed). Throws kn::Error (without file/record
  // context) on I/O or decompression errors; an inflating source first returns
  // the bytes decoded before the error and throws on the following call, so the
  // error is attributed to the record that is actually affected.
  virtual size_t read(char* dst, size_t n) = 0;
  // Bytes still to come when known (a plain file), else -1.
  virtual int64_t remaining() const { return -1; }
};

struct FileSource : ByteSource {
  std::FILE* f = nullptr;
  int64_t size = 0, consumed = 0;  // file size at open, bytes read so far
  explicit FileSource(const std::string& path) {
    f = std::fopen(path.c_str(), "rb");
    if (!f) throw Error(std::string("cannot open for reading: ") + std::strerror(errno));
    std::setvbuf(f, nullptr, _IONBF, 0);  // we read in large chunks ourselves
    if (std::fseek(f, 0, SEEK_END) == 0) size = std::ftell(f);
    std::rewind(f);
    if (size < 0) size = 0;
  }
  // reading stops at the size the file had when opened
  int64_t remaining() const override { return std::max<int64_t>(size - consumed, 0); }
  ~FileSource() override {
    if (f) std::fclose(f);
  }
  size_t read(char* dst, size_t n) override {
    size_t got = 0;
    while (got < n) {
      size_t r = std::fread(dst + got, 1, n - got, f);
      got += r;
      if (r == 0) {
        if (std::ferror(f)) throw Error(std::string("read error: ") + std::strerror(errno));
        break;
      }
    }
    consumed += static_cast<int64_t>(got);
    return got;
  }
};

struct InflateSource : ByteSource {
  FileSource in;
  bool gzip;
  z_stream zs{};
  std::vector<unsigned char> inbuf;  // (kChunk,) compressed bytes
  bool in_eof = false;
  bool between = false;  // a member/stream just ended
  bool done = false;
  uint64_t consumed_before = 0;  // compressed bytes consumed by finished members
  int members = 0;
  std::string pending_error;  // raised on the next read()

  // compressed input buffer: (min(file size, kChunk),) bytes
  InflateSource(const std::string& path, bool is_gzip)
      : in(path), gzip(is_gzip),
        inbuf(static_cast<size_t>(std::clamp<int64_t>(in.remaining(), 1, kChunk))) {
    // 16+MAX_WBITS: gzip wrapper with any header flags (FNAME, FEXTRA, FCOMMENT, FHCRC).
    int wbits = gzip ? 16 + MAX_WBITS : MAX_WBITS;
    if (inflateInit2(&zs, wbits) != Z_OK) throw Error("inflateInit2 failed (out of memory?)");
  }
  ~InflateSource() override { inflateEnd(&zs); }

  uint64_t comp_offset() const { return consumed_before + zs.total_in; }
  const char* kind() const { return gzip ? "gzip" : "zlib"; }

  size_t read(char* dst, size_t n) override {
    if (!pending_error.empty()) throw Error(pending_error);
    size_t produced = 0;
    try {
      produce(dst, n, produced);
    } catch (const Error& e) {
      if (produced == 0) throw;
      pending_error = e.what();
    }
    return produced;
  }

  void produce(char* dst, size_t n, size_t& produced) {
    while (produced < n && !done) {
      if (zs.avail_in == 0 && !in_eof) {
        size_t got = in.read(reinterpret_cast<char*>(inbuf.data()), inbuf.size());
        if (got == 0) in_eof = true;
        zs.next_in = inbuf.data();
        zs.avail_in = static_cast<uInt>(got);
      }
      if (between) {
        if (zs.avail_in == 0 && in_eof) {
          done = true;
          break;
        }
        if (!gzip)
          throw Error("unexpected data after the end of the zlib stream at compressed byte offset " +
                      std::to_string(comp_offset()));
        consumed_before += zs.total_in;
        inflateReset(&zs);  // next gzip member
        between = false;
      }
      if (zs.avail_in == 0 && in_eof) {
        if (members == 0 && zs.total_in == 0) {  // empty file: zero records
          done = true;
          break;
        }
        throw Error(std::string("compressed data ends inside a ") + kind() +
                    " stream at compressed byte offset " + std::to_string(comp_offset()) +
                    " (truncated file?)");
      }
      zs.next_out = reinterpret_cast<Bytef*>(dst + produced);
      zs.avail_out = static_cast<uInt>(std::min<size_t>(n - produced, 1u << 30));
      uInt before_out = zs.avail_out;
      int ret = inflate(&zs, Z_NO_FLUSH);
      produced += before_out - zs.avail_out;
      if (ret == Z_STREAM_END) {
        ++members;
        between = true;
      } else if (ret == Z_OK || ret == Z_BUF_ERROR) {
        continue;  // need more input or more output space
      } else {
        std::string msg = zs.msg ? zs.msg : ("zlib error " + std::to_string(ret));
        if (members > 0 && gzip && zs.total_in < 10)
          throw Error("data after gzip member " + std::to_string(members) +
                      " is not another gzip member (" + msg + ") at compressed byte offset " +
                      std::to_string(comp_offset()));
        throw Error(std::string(kind()) + " decompression error: " + msg +
                    " at compressed byte offset " + std::to_string(comp_offset()));
      }
    }
  }
};

}  // namespace detail

// ---------------------------------------------------------------------------
// Reader

TFRecordReader::TFRecordReader() = default;
TFRecordReader::TFRecordReader(const std::string& path, Compression c, bool verify_crc) {
  open(path, c, verify_crc);
}
TFRecordReader::TFRecordReader(const std::string& path, const std::string& compression) {
  open(path, parse_compression(compression));
}
TFRecordReader::~TFRecordReader() = default;

void TFRecordReader::open(const std::string& path, Compression c, bool verify_crc) {
  close();
  path_ = path;
  verify_crc_ = verify_crc;
  std::vector<unsigned char> start = peek_file(path, kHeader);
  comp_ = c == Compression::Auto ? detect_compression(path) : c;
  std::string head = "TFRecord file '" + path + "': ";
  // Check the requested compression against the magic bytes up front so that a
  // wrong choice gives a clear message rather than a generic zlib error.
  if (comp_ == Compression::Gzip && !start.empty() &&
      !(start.size() >= 2 && start[0] == 0x1f && start[1] == 0x8b))
    throw Error(head + "compression \"GZIP\" was requested but the file does not start with the "
                "gzip magic 1f 8b; " + describe_start(start));
  if (comp_ == Compression::Zlib && !start.empty() && !(start.size() >= 2 && zlib_header(start.data())))
    throw Error(head + "compression \"ZLIB\" was requested but the file does not start with a "
                "zlib header; " + describe_start(start));
  try {
    if (comp_ == Compression::None)
      src_.reset(new detail::FileSource(path));
    else
      src_.reset(new detail::InflateSource(path, comp_ == Compression::Gzip));
  } catch (const Error& e) {
    throw Error(head + e.what());
  }
  // buf_ grows in fill() as data arrive (capacity kept across rewind())
  read_ahead_ = kFirstRead;
  pos_ = end_ = 0;
  buf_offset_ = 0;
  src_eof_ = false;
  index_ = -1;
  rec_offset_ = 0;
}

void TFRecordReader::close() { src_.reset(); }

void TFRecordReader::rewind() {
  if (path_.empty()) throw Error("TFRecordReader::rewind(): no file was opened");
  open(path_, comp_, verify_crc_);
}

std::string TFRecordReader::where_at(int64_t index, uint64_t offset) const {
  std::string s = "TFRecord file '" + path_ + "'";
  if (comp_ != Compression::None) s += std::string(" (") + compression_name(comp_) + ")";
  s += ", record " + std::to_string(index) + " at " +
       (comp_ != Compression::None ? "decompressed byte offset " : "byte offset ") +
       std::to_string(offset);
  return s;
}

std::string TFRecordReader::where() const { return where_at(index_ < 0 ? 0 : index_, rec_offset_); }

void TFRecordReader::fail(int64_t index, uint64_t offset, const std::string& what) const {
  throw Error(where_at(index, offset) + ": " + what);
}

size_t TFRecordReader::fill(size_t need) {
  size_t avail = end_ - pos_;
  if (avail >= need || src_eof_) return avail;
  // Compact: move the unread tail to the front, grow only as data arrives.
  if (pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + pos_, avail);
    buf_offset_ += pos_;
    pos_ = 0;
    end_ = avail;
  }
  while (end_ < need && !src_eof_) {
    // What is missing, at least the read-ahead; but never more than the data
    // already held (or the read-ahead), so a record length claimed by the file
    // grows the buffer only as fast as real bytes arrive; and never more than
    // a plain file still holds.
    size_t want = std::max(need - end_, read_ahead_);
    want = std::min(want, std::max(end_, read_ahead_));
    const int64_t rem = src_->remaining();
    if (rem >= 0) want = std::min<uint64_t>(want, static_cast<uint64_t>(rem));
    if (want == 0) {
      src_eof_ = true;
      break;
    }
    read_ahead_ = std::min(read_ahead_ * 2, kChunk);
    if (buf_.size() < end_ + want) buf_.resize(end_ + want);
    size_t got;
    try {
      got = src_->read(buf_.data() + end_, want);
    } catch (const Error& e) {
      fail(index_ + 1, buf_offset_ + pos_, e.what());
    }
    end_ += got;
    if (got == 0) src_eof_ = true;
  }
  return end_ - pos_;
}

bool TFRecordReader::next_view(std::string_view& record) {
  if (!src_) throw Error("TFRecordReader: next() called without an open file");
  const int64_t idx = index_ + 1;
  size_t avail = fill(kHeader);
  const uint64_t off = buf_offset_ + pos_;
  if (avail == 0) return false;
  if (avail < kHeader) {
    if (idx == 0)
      fail(idx, off, "not a TFRecord file: only " + std::to_string(avail) +
                         " bytes, a record header needs 12; " +
                         describe_start(std::vector<unsigned char>(buf_.data() + pos_, buf_.data() + end_)));
    fail(idx, off, "truncated record: the file ends inside the record header (expected 12 header "
                   "bytes, found " + std::to_string(avail) + ")");
  }
  const char* h = buf_.data() + pos_;
  const uint64_t len = load_u64(h);
  const uint32_t stored_len_crc = load_u32(h + 8);
  const uint32_t len_crc = crc32c_mask(crc32c(h, 8));
  if (len_crc != stored_len_crc) {
    std::string what = "length CRC mismatch (stored masked CRC " + hex32(stored_len_crc) +
                       ", computed " + hex32(len_crc) + " for length field " +
                       std::to_string(len) + ")";
    if (idx == 0)
      what += ": not a TFRecord file (or its first record header is corrupt); " +
              describe_start(std::vector<unsigned char>(h, h + kHeader));
    else
      what += ": corrupt record header";
    fail(idx, off, what);
  }
  if (len > (uint64_t(1) << 46)) fail(idx, off, "implausible record length " + std::to_string(len));
  const size_t total = kHeader + static_cast<size_t>(len) + kFooter;
  avail = fill(total);
  if (avail < total)
    fail(idx, off, "truncated record: header says " + std::to_string(len) +
                       " data bytes + 4 CRC bytes, but the file ends after " +
                       std::to_string(avail >= kHeader ? avail - kHeader : 0) + " of them");
  const char* d = buf_.data() + pos_ + kHeader;
  if (verify_crc_) {
    const uint32_t stored = load_u32(d + len);
    const uint32_t got = crc32c_mask(crc32c(d, static_cast<size_t>(len)));
    if (got != stored)
      fail(idx, off, "data CRC mismatch (stored masked CRC " + hex32(stored) + ", computed " +
                         hex32(got) + " over " + std::to_string(len) + " data bytes)");
  }
  record = std::string_view(d, static_cast<size_t>(len));
  pos_ += total;
  index_ = idx;
  rec_offset_ = off;
  return true;
}

bool TFRecordReader::next(std::string& record) {
  std::string_view v;
  if (!next_view(v)) return false;
  record.assign(v.data(), v.size());
  return true;
}

std::vector<std::string> read_tfrecords(const std::string& path, Compression c) {
  TFRecordReader r(path, c);
  std::vector<std::string> out;
  std::string rec;
  while (r.next(rec)) out.push_back(rec);
  return out;
}

int64_t count_tfrecords(const std::string& path, Compression c) {
  TFRecordReader r(path, c);
  std::string_view v;
  int64_t n = 0;
  while (r.next_view(v)) ++n;
  return n;
}

// ---------------------------------------------------------------------------
// Writer

TFRecordWriter::TFRecordWriter() = default;
TFRecordWriter::TFRecordWriter(const std::string& path, Compression c, int level) {
  open(path, c, level);
}
TFRecordWriter::TFRecordWriter(const std::string& path, const std::string& compression, int level) {
  open(path, parse_compression(compression), level);
}
TFRecordWriter::~TFRecordWriter() { abort(); }

void TFRecordWriter::fail(const std::string& what) {
  std::string p = path_, t = tmp_;
  abort();
  throw Error("TFRecord writer '" + p + "' (temporary file '" + t + "'): " + what);
}

void TFRecordWriter::open(const std::string& path, Compression c, int level) {
  abort();
  if (level < -1 || level > 9)
    throw Error("TFRecord writer '" + path + "': compression level must be -1..9, got " +
                std::to_string(level));
  path_ = path;
  comp_ = c == Compression::Auto ? compression_from_extension(path) : c;
  count_ = 0;
  file_.reset(new AtomicFile(path));
  tmp_ = file_->tmp_path();
  f_ = std::fopen(tmp_.c_str(), "wb");
  if (!f_) {
    int e = errno;
    file_.reset();
    throw Error("TFRecord writer '" + path + "': cannot create temporary file '" + tmp_ +
                "': " + std::strerror(e));
  }
  std::setvbuf(f_, nullptr, _IOFBF, kChunk);
  if (comp_ != Compression::None) {
    z_stream* zs = new z_stream{};
    int wbits = comp_ == Compression::Gzip ? 16 + MAX_WBITS : MAX_WBITS;
    if (deflateInit2(zs, level, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      delete zs;
      fail("deflateInit2 failed");
    }
    zs_ = zs;
    zbuf_.resize(kChunk);
  }
}

void TFRecordWriter::deflate_out(int flush) {
  z_stream* zs = static_cast<z_stream*>(zs_);
  int ret;
  do {
    zs->next_out = zbuf_.data();
    zs->avail_out = static_cast<uInt>(zbuf_.size());
    ret = deflate(zs, flush);
    if (ret == Z_STREAM_ERROR) fail("deflate failed");
    size_t have = zbuf_.size() - zs->avail_out;
    if (have && std::fwrite(zbuf_.data(), 1, have, f_) != have)
      fail(std::string("write error: ") + std::strerror(errno));
  } while (zs->avail_out == 0 || (flush == Z_FINISH && ret != Z_STREAM_END));
}

void TFRecordWriter::put(const char* data, size_t n) {
  if (!zs_) {
    if (n && std::fwrite(data, 1, n, f_) != n) fail(std::string("write error: ") + std::strerror(errno));
    return;
  }
  z_stream* zs = static_cast<z_stream*>(zs_);
  while (n > 0) {
    uInt step = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    zs->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    zs->avail_in = step;
    deflate_out(Z_NO_FLUSH);
    data += step;
    n -= step;
  }
}

void TFRecordWriter::write(const char* data, size_t n) {
  if (!f_) throw Error("TFRecordWriter::write(): writer is not open (closed or never opened)");
  char hdr[kHeader], ftr[kFooter];
  store_u64(hdr, static_cast<uint64_t>(n));
  store_u32(hdr + 8, crc32c_mask(crc32c(hdr, 8)));
  store_u32(ftr, crc32c_mask(crc32c(data, n)));
  put(hdr, kHeader);
  put(data, n);
  put(ftr, kFooter);
  ++count_;
}

void TFRecordWriter::write_framed(std::string_view framed, int64_t n_records) {
  if (!f_) throw Error("TFRecordWriter::write_framed(): writer is not open (closed or never opened)");
  put(framed.data(), framed.size());
  count_ += n_records;
}

void TFRecordWriter::close() {
  if (!f_) return;
  if (zs_) {
    static_cast<z_stream*>(zs_)->avail_in = 0;
    deflate_out(Z_FINISH);
    deflateEnd(static_cast<z_stream*>(zs_));
    delete static_cast<z_stream*>(zs_);
    zs_ = nullptr;
  }
  if (std::fflush(f_) != 0) fail(std::string("write error on flush: ") + std::strerror(errno));
  int rc = std::fclose(f_);
  f_ = nullptr;
  if (rc != 0) fail(std::string("error closing the file: ") + std::strerror(errno));
  try {
    file_->commit();  // rename onto path_: the old file or the complete new one
  } catch (const Error& e) {
    file_.reset();  // removes the temporary file
    throw Error("TFRecord writer '" + path_ + "': " + e.what());
  }
  file_.reset();
}

void TFRecordWriter::abort() {
  if (zs_) {
    deflateEnd(static_cast<z_stream*>(zs_));
    delete static_cast<z_stream*>(zs_);
    zs_ = nullptr;
  }
  if (f_) {
    std::fclose(f_);
    f_ = nullptr;
  }
  file_.reset();  // an uncommitted AtomicFile removes its temporary file
}

}  // namespace kn
