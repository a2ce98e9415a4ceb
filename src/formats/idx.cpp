// IDX reader (see idx.h).
#include "idx.h"

#include <cstdio>
#include <cstring>

namespace kn {

namespace {

struct IdxType { int code; int size; NumArray::Kind kind; const char* name; };
const IdxType kTypes[] = {
    {0x08, 1, NumArray::U8, "unsigned byte"}, {0x09, 1, NumArray::I32, "signed byte"},
    {0x0B, 2, NumArray::I32, "short"},        {0x0C, 4, NumArray::I32, "int"},
    {0x0D, 4, NumArray::F64, "float"},        {0x0E, 8, NumArray::F64, "double"},
};

uint32_t be32(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

std::string dims_str(const Shape& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) out += (i ? " x " : "") + std::to_string(s[i]);
  return out;
}

}  // namespace

NumArray parse_idx(ByteSource& src, const std::string& name) {
  auto fail = [&](const std::string& what, uint64_t offset) -> void {
    throw Error("invalid IDX file '" + name + "': " + what + " (at byte offset " + std::to_string(offset) + ")");
  };
  unsigned char magic[4];
  size_t k = src.read(reinterpret_cast<char*>(magic), 4);
  if (k < 4) fail("truncated header: " + std::to_string(k) + " of 4 magic bytes", k);
  if (magic[0] != 0 || magic[1] != 0) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%02x%02x%02x%02x", magic[0], magic[1], magic[2], magic[3]);
    fail(std::string("bad magic number 0x") + hex +
             " (expected 0x0000TTDD: two zero bytes, type code, number of dimensions)", 0);
  }
  const IdxType* tp = nullptr;
  for (const IdxType& t : kTypes)
    if (t.code == magic[2]) tp = &t;
  if (!tp) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "%02x", magic[2]);
    fail(std::string("unknown data type code 0x") + hex + " in magic number (expected 08, 09, 0b, 0c, 0d or 0e)", 2);
  }
  const int ndim = magic[3];
  if (ndim < 1) fail("number of dimensions is 0", 3);

  unsigned char dimbuf[4 * 255];
  k = src.read(reinterpret_cast<char*>(dimbuf), 4 * static_cast<size_t>(ndim));
  if (k < 4 * static_cast<size_t>(ndim))
    fail("truncated header: " + std::to_string(k / 4) + " of " + std::to_string(ndim) + " dimension sizes present", 4 + k);
  NumArray a;
  a.kind = tp->kind;
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) {
    uint32_t v = be32(dimbuf + 4 * d);
    a.shape.push_back(static_cast<int64_t>(v));
    if (n >= 0) n = checked_mul(n, static_cast<int64_t>(v), kMaxArrayValues);
  }
  const uint64_t data_off = 4 + 4 * static_cast<uint64_t>(ndim);
  if (n < 0)
    fail("header declares " + dims_str(a.shape) + " values, more than the " + std::to_string(kMaxArrayValues) +
             " an R array can hold", 4);
  const uint64_t nbytes = static_cast<uint64_t>(n) * tp->size;
  auto short_data = [&](uint64_t got_bytes) {
    fail("truncated data: header declares " + dims_str(a.shape) + " = " + std::to_string(n) + " " + tp->name +
             " values but only " + std::to_string(got_bytes / tp->size) + " are present",
         data_off + got_bytes);
  };
  const int64_t rem = src.remaining();
  if (rem >= 0 && static_cast<uint64_t>(rem) < nbytes) short_data(static_cast<uint64_t>(rem));

  std::vector<uint8_t> raw;
  uint64_t got = read_up_to(src, nbytes, raw);
  if (got < nbytes) short_data(got);
  char extra;
  if (src.read(&extra, 1) == 1)
    fail("unexpected trailing bytes after the " + std::to_string(n) + " values declared by the header (" +
             dims_str(a.shape) + ")",
         data_off + nbytes);

  const unsigned char* p = raw.data();
  switch (tp->code) {
    case 0x08: a.u8.swap(raw); break;
    case 0x09:
      a.i32.resize(n);
      for (int64_t i = 0; i < n; ++i) a.i32[i] = static_cast<int8_t>(p[i]);
      break;
    case 0x0B:
      a.i32.resize(n);
      for (int64_t i = 0; i < n; ++i) a.i32[i] = static_cast<int16_t>((p[2 * i] << 8) | p[2 * i + 1]);
      break;
    case 0x0C:
      a.i32.resize(n);
      for (int64_t i = 0; i < n; ++i) a.i32[i] = static_cast<int32_t>(be32(p + 4 * i));
      break;
    case 0x0D:
      a.f64.resize(n);
      for (int64_t i = 0; i < n; ++i) {
        uint32_t u = be32(p + 4 * i);
        float f;
        std::memcpy(&f, &u, 4);
        a.f64[i] = f;
      }
      break;
    case 0x0E:
      a.f64.resize(n);
      for (int64_t i = 0; i < n; ++i) {
        uint64_t u = (uint64_t(be32(p + 8 * i)) << 32) | be32(p + 8 * i + 4);
        double d;
        std::memcpy(&d, &u, 8);
        a.f64[i] = d;
      }
      break;
  }
  return a;
}

NumArray read_idx(const std::string& path) {
  auto src = gunzip_if_gzip(std::make_unique<FileSource>(path, "IDX file"), "invalid IDX file '" + path + "'");
  return parse_idx(*src, path);
}

}  // namespace kn
