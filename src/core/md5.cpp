// MD5 (RFC 1321): 64-byte blocks, four rounds of 16 operations on (a, b, c, d).
#include "md5.h"

#include <cmath>
#include <cstring>
#include <vector>

namespace kn {

namespace {

inline uint32_t rotl(uint32_t x, int s) { return (x << s) | (x >> (32 - s)); }

// Per-operation shift amounts (by round, 4 distinct per round) and constants
// K[i] = floor(|sin(i + 1)| * 2^32).
const int kShift[4][4] = {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

const std::array<uint32_t, 64>& constants() {
  static const std::array<uint32_t, 64> k = [] {
    std::array<uint32_t, 64> t{};
    for (int i = 0; i < 64; ++i) t[i] = static_cast<uint32_t>(std::floor(std::fabs(std::sin(i + 1.0)) * 4294967296.0));
    return t;
  }();
  return k;
}

void block(uint32_t h[4], const uint8_t* p) {
  uint32_t m[16];
  for (int i = 0; i < 16; ++i)  // little-endian words
    m[i] = static_cast<uint32_t>(p[4 * i]) | static_cast<uint32_t>(p[4 * i + 1]) << 8 |
           static_cast<uint32_t>(p[4 * i + 2]) << 16 | static_cast<uint32_t>(p[4 * i + 3]) << 24;
  const auto& K = constants();
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
  for (int i = 0; i < 64; ++i) {
    uint32_t f;
    int g;
    const int r = i / 16;
    if (r == 0) { f = (b & c) | (~b & d); g = i; }
    else if (r == 1) { f = (d & b) | (~d & c); g = (5 * i + 1) % 16; }
    else if (r == 2) { f = b ^ c ^ d; g = (3 * i + 5) % 16; }
    else { f = c ^ (b | ~d); g = (7 * i) % 16; }
    const uint32_t tmp = d;
    d = c;
    c = b;
    b = b + rotl(a + f + K[i] + m[g], kShift[r][i % 4]);
    a = tmp;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d;
}

}  // namespace

std::array<uint8_t, 16> md5(const std::string& data) {
  uint32_t h[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
  // message + 0x80 + zeros to 56 mod 64 + the bit length (64-bit little-endian)
  std::vector<uint8_t> msg(data.begin(), data.end());
  const uint64_t bits = static_cast<uint64_t>(data.size()) * 8;
  msg.push_back(0x80);
  while (msg.size() % 64 != 56) msg.push_back(0);
  for (int i = 0; i < 8; ++i) msg.push_back(static_cast<uint8_t>(bits >> (8 * i)));
  for (size_t off = 0; off < msg.size(); off += 64) block(h, msg.data() + off);
  std::array<uint8_t, 16> out{};
  for (int i = 0; i < 16; ++i) out[i] = static_cast<uint8_t>(h[i / 4] >> (8 * (i % 4)));
  return out;
}

std::string md5_hex(const std::string& data) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (uint8_t b : md5(data)) { s += hex[b >> 4]; s += hex[b & 15]; }
  return s;
}

uint64_t md5_mod(const std::string& data, uint64_t m) {
  unsigned __int128 r = 0;
  for (uint8_t b : md5(data)) r = (r * 256 + b) % m;
  return static_cast<uint64_t>(r);
}

}  // namespace kn
