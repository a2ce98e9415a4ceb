// Deterministic, counter-based random numbers. A model's generator is seeded
// from R's RNG (so set.seed() makes runs reproducible); parallel consumers draw
// with (stream, counter) keys so results never depend on the thread count.
#pragma once
#include <cmath>
#include <cstdint>

namespace kn {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) from a 64-bit value (24 random bits, exact in float).
inline float u01_from_bits(uint64_t b) { return static_cast<float>(b >> 40) * (1.0f / 16777216.0f); }

// Stateless draw: the `i`-th uniform of stream `key`.
// (The splitmix64 stream of seed `key`, element i: one mix per draw.)
inline float uniform_at(uint64_t key, uint64_t i) {
  return u01_from_bits(splitmix64(key + i * 0x9E3779B97F4A7C15ULL));
}

class Rng {
 public:
  explicit Rng(uint64_t seed = 42) : state_(seed) {}
  void seed(uint64_t s) { state_ = s; }
  uint64_t next_u64() { state_ += 0x9E3779B97F4A7C15ULL; return splitmix64(state_); }
  double uniform() { return static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0); }
  double normal() {  // Box-Muller, one value per call (deterministic)
    double u1 = uniform(), u2 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double truncated_normal() {  // within two standard deviations, as TF's
    for (;;) { double z = normal(); if (std::fabs(z) <= 2.0) return z; }
  }
  // integer in [0, n)
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next_u64() % n; }
 private:
  uint64_t state_;
};

}  // namespace kn
