// CRC-32C: slice-by-8 tables built at compile time; SSE4.2 crc32 instruction
// via a target attribute, chosen once at run time with __builtin_cpu_supports.
#include "crc32c.h"

#include <atomic>
#include <cstring>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define KN_CRC32C_X86 1
#include <nmmintrin.h>
#endif

namespace kn {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

// table[k][b]: CRC contribution of byte b followed by k zero bytes.
struct Tables {
  uint32_t t[8][256];
};

constexpr Tables make_tables() {
  Tables tb{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t c = b;
    for (int i = 0; i < 8; ++i) c = (c >> 1) ^ ((c & 1u) ? kPoly : 0u);
    tb.t[0][b] = c;
  }
  for (int k = 1; k < 8; ++k)
    for (uint32_t b = 0; b < 256; ++b) {
      uint32_t prev = tb.t[k - 1][b];
      tb.t[k][b] = (prev >> 8) ^ tb.t[0][prev & 0xFFu];
    }
  return tb;
}

constexpr Tables kTables = make_tables();

inline uint64_t load_le64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

using CrcFn = uint32_t (*)(uint32_t, const void*, size_t);

CrcFn select_impl() {
#ifdef KN_CRC32C_X86
  __builtin_cpu_init();  // safe even if called before static constructors ran
  if (__builtin_cpu_supports("sse4.2")) return &crc32c_extend_hw;
#endif
  return &crc32c_extend_sw;
}

// Constant-initialised to a resolver so calls from other static initialisers
// are safe; the first call stores the selected implementation.
uint32_t resolve_and_call(uint32_t crc, const void* data, size_t n);
std::atomic<CrcFn> g_impl{&resolve_and_call};
uint32_t resolve_and_call(uint32_t crc, const void* data, size_t n) {
  CrcFn f = select_impl();
  g_impl.store(f, std::memory_order_relaxed);
  return f(crc, data, n);
}

}  // namespace

uint32_t crc32c_extend_sw(uint32_t crc, const void* data, size_t n) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  const auto& t = kTables.t;
  uint32_t c = ~crc;
  while (n >= 8) {
    uint64_t v = load_le64(p) ^ c;
    c = t[7][v & 0xFF] ^ t[6][(v >> 8) & 0xFF] ^ t[5][(v >> 16) & 0xFF] ^
        t[4][(v >> 24) & 0xFF] ^ t[3][(v >> 32) & 0xFF] ^ t[2][(v >> 40) & 0xFF] ^
        t[1][(v >> 48) & 0xFF] ^ t[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ t[0][(c ^ *p++) & 0xFF];
  return ~c;
}

#ifdef KN_CRC32C_X86
__attribute__((target("sse4.2")))
uint32_t crc32c_extend_hw(uint32_t crc, const void* data, size_t n) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  uint32_t c = ~crc;
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7u) != 0) {
    c = _mm_crc32_u8(c, *p++);
    --n;
  }
#if defined(__x86_64__)
  uint64_t c64 = c;
  while (n >= 32) {  // 4 dependent steps per iteration (crc32 has 1/cycle throughput, 3 latency)
    uint64_t a, b, d, e;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + 8, 8);
    std::memcpy(&d, p + 16, 8);
    std::memcpy(&e, p + 24, 8);
    c64 = _mm_crc32_u64(c64, a);
    c64 = _mm_crc32_u64(c64, b);
    c64 = _mm_crc32_u64(c64, d);
    c64 = _mm_crc32_u64(c64, e);
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    uint64_t a;
    std::memcpy(&a, p, 8);
    c64 = _mm_crc32_u64(c64, a);
    p += 8;
    n -= 8;
  }
  c = static_cast<uint32_t>(c64);
#else
  while (n >= 4) {
    uint32_t a;
    std::memcpy(&a, p, 4);
    c = _mm_crc32_u32(c, a);
    p += 4;
    n -= 4;
  }
#endif
  while (n--) c = _mm_crc32_u8(c, *p++);
  return ~c;
}
bool crc32c_hw_available() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
#else
uint32_t crc32c_extend_hw(uint32_t crc, const void* data, size_t n) {
  return crc32c_extend_sw(crc, data, n);
}
bool crc32c_hw_available() { return false; }
#endif

uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n) {
  return g_impl.load(std::memory_order_relaxed)(crc, data, n);
}
uint32_t crc32c(const void* data, size_t n) { return crc32c_extend(0, data, n); }
const char* crc32c_impl_name() { return select_impl() == &crc32c_extend_sw ? "slice-by-8" : "sse4.2"; }

}  // namespace kn
