// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) as used by the TFRecord
// framing. Software slice-by-8 everywhere; on x86 a hardware SSE4.2 version is
// selected at run time (the package itself compiles with plain -O2).
#pragma once
#include <cstddef>
#include <cstdint>

namespace kn {

// CRC-32C of `n` bytes (standard init/final inversion): crc32c("123456789") == 0xE3069283.
uint32_t crc32c(const void* data, size_t n);
// Continue a CRC: crc32c_extend(crc32c(a), b) == crc32c(a ++ b).
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t n);

// Individual implementations (for tests/benchmarks). crc32c_hw must only be
// called when crc32c_hw_available() is true.
uint32_t crc32c_extend_sw(uint32_t crc, const void* data, size_t n);
uint32_t crc32c_extend_hw(uint32_t crc, const void* data, size_t n);
bool crc32c_hw_available();
// "sse4.2" or "slice-by-8": the implementation crc32c() dispatches to.
const char* crc32c_impl_name();

// TFRecord masking: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
inline uint32_t crc32c_mask(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}
inline uint32_t crc32c_unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace kn
