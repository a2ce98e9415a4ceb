// Global heap collection check; see h5_guard.h.
#include "h5_guard.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "tensor.h"  // kn::Error

namespace kn {
namespace {

// Random access to the file's bytes (a FILE* or a memory image).
struct Source {
  const uint8_t* mem = nullptr;
  std::FILE* f = nullptr;
  uint64_t size = 0;
  bool read(uint64_t off, uint8_t* out, size_t n) const {
    if (off > size || n > size - off) return false;
    if (mem) {
      if (n) std::memcpy(out, mem + off, n);
      return true;
    }
    if (std::fseek(f, static_cast<long>(off), SEEK_SET) != 0) return false;
    return std::fread(out, 1, n, f) == n;
  }
};

[[noreturn]] void fail(uint64_t pos, const std::string& what) {
  throw Error("corrupt HDF5 global heap collection at offset " + std::to_string(pos) + ": " + what);
}

// Little-endian unsigned of `n` bytes; false when it does not fit 64 bits.
bool decode(const uint8_t* p, int n, uint64_t* out) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) {
    if (i >= 8) {
      if (p[i] != 0) return false;
      continue;
    }
    v = (v << 8) | p[i];
  }
  *out = v;
  return true;
}

// Size of lengths declared by the superblock (searched at 0, 512, 1024, ...
// as libhdf5 does), or 0 when there is no superblock.
int sizeof_lengths(const Source& s) {
  static const uint8_t sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  for (uint64_t off = 0; off < s.size && s.size - off >= 16; off = off ? off * 2 : 512) {
    uint8_t b[16];
    if (!s.read(off, b, 16)) break;
    if (std::memcmp(b, sig, 8) != 0) continue;
    const int len = b[8] <= 1 ? b[14] : b[10];  // superblock v0/1: byte 14; v2/3: byte 10
    if (len != 2 && len != 4 && len != 8 && len != 16 && len != 32)
      throw Error("corrupt HDF5 superblock at offset " + std::to_string(off) + ": size of lengths " +
                  std::to_string(len) + " (expected 2, 4, 8, 16 or 32)");
    return len;
  }
  return 0;
}

void check_collection(const Source& s, uint64_t pos, int len) {
  const uint64_t hdr = 8 + static_cast<uint64_t>(len);     // "GCOL", version, reserved(3), size
  const uint64_t objhdr = 8 + static_cast<uint64_t>(len);  // index(2), refcount(2), reserved(4), size
  uint8_t h[8 + 32] = {};
  if (!s.read(pos, h, 5) || h[4] != 1) return;  // not a version 1 collection: libhdf5 refuses it itself
  if (!s.read(pos, h, hdr)) fail(pos, "the collection header runs past the end of the file");
  uint64_t size = 0;
  if (!decode(h + 8, len, &size) || size > s.size - pos)
    fail(pos, "collection size " + (size ? std::to_string(size) : std::string("(over 2^64)")) +
                  " runs past the end of the file (" + std::to_string(s.size) + " bytes)");
  if (size < hdr) fail(pos, "collection size " + std::to_string(size) + " is smaller than its header");
  std::vector<uint8_t> c(static_cast<size_t>(size));  // the whole collection, bounded by the file
  if (!s.read(pos, c.data(), c.size())) fail(pos, "cannot read the collection");
  std::vector<bool> seen(65536, false);
  uint64_t p = hdr;
  while (p < size) {
    if (size - p < objhdr) break;  // too small for an object header: free space
    const unsigned idx = static_cast<unsigned>(c[p]) | (static_cast<unsigned>(c[p + 1]) << 8);
    uint64_t osz = 0;
    const bool fits = decode(&c[p + 8], len, &osz);
    const std::string at = "object " + std::to_string(idx) + " at offset " + std::to_string(pos + p);
    if (idx == 0) {  // free space: last, size includes its header
      if (!fits || osz != size - p)
        fail(pos, "free-space " + at + " has size " + (fits ? std::to_string(osz) : std::string("over 2^64")) +
                      ", expected the " + std::to_string(size - p) + " bytes left in the collection");
      break;
    }
    if (!fits || osz > size - p - objhdr)
      fail(pos, at + " has size " + (fits ? std::to_string(osz) : std::string("over 2^64")) + ", more than the " +
                    std::to_string(size - p - objhdr) + " bytes left in the collection");
    const uint64_t need = objhdr + ((osz + 7) & ~uint64_t(7));  // data padded to 8 bytes
    if (need > size - p) fail(pos, at + " (padded to " + std::to_string(need) + " bytes) runs past the collection");
    if (seen[idx]) fail(pos, at + ": index " + std::to_string(idx) + " appears twice");
    seen[idx] = true;
    p += need;
  }
}

void check_all(const Source& s) {
  const int len = sizeof_lengths(s);
  if (len == 0) return;
  const size_t block = 1 << 20;
  std::vector<uint8_t> buf(block + 3);
  size_t carry = 0;  // bytes kept from the previous block (a signature may straddle blocks)
  for (uint64_t off = 0; off < s.size;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(block, s.size - off));
    if (!s.read(off, buf.data() + carry, n)) throw Error("cannot read the file at offset " + std::to_string(off));
    const size_t total = carry + n;
    const uint64_t base = off - carry;  // file offset of buf[0]
    for (size_t i = 0; i + 4 <= total; ++i)
      if (buf[i] == 'G' && buf[i + 1] == 'C' && buf[i + 2] == 'O' && buf[i + 3] == 'L') check_collection(s, base + i, len);
    carry = std::min<size_t>(3, total);
    std::memmove(buf.data(), buf.data() + total - carry, carry);
    off += n;
  }
}

}  // namespace

void check_h5_global_heaps(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) return;  // the caller reports missing / unreadable files
  Source s;
  s.f = f.get();
  if (std::fseek(s.f, 0, SEEK_END) != 0) return;
  const long end = std::ftell(s.f);
  if (end <= 0) return;
  s.size = static_cast<uint64_t>(end);
  check_all(s);
}

void check_h5_global_heaps_bytes(const uint8_t* data, size_t size) {
  Source s;
  s.mem = data;
  s.size = size;
  check_all(s);
}

}  // namespace kn
