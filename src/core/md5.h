// MD5 message digest (RFC 1321), for text_hashing_trick(hash_function = "md5")
// as Keras: int(md5(word).hexdigest(), 16) % (n - 1) + 1.
#pragma once
#include <array>
#include <cstdint>
#include <string>

namespace kn {

// The 16 digest bytes of `data`.
std::array<uint8_t, 16> md5(const std::string& data);
// Lower-case hex digest (32 characters).
std::string md5_hex(const std::string& data);
// The digest read as a 128-bit big-endian integer, modulo m (m >= 1).
uint64_t md5_mod(const std::string& data, uint64_t m);

}  // namespace kn
