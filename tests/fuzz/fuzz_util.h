// Helpers shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.cpp).
// A harness must never crash, hang or trip a sanitizer on any input; kn::Error
// (the engine's "clear error") is the expected outcome for bad input.
#pragma once
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace kn_fuzz {

// A per-process scratch file on tmpfs (for readers that only take a path).
inline const std::string& scratch_path(const char* ext) {
  static std::string p = [&] {
    const char* dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    return std::string(dir) + "/kn_fuzz_" + std::to_string(getpid()) + ext;
  }();
  return p;
}

inline const std::string& write_scratch(const char* ext, const uint8_t* data, size_t size) {
  const std::string& p = scratch_path(ext);
  std::FILE* f = std::fopen(p.c_str(), "wb");
  if (!f) std::abort();
  if (size && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return p;
}

// A property every harness checks: failing it is a finding.
#define FUZZ_ASSERT(cond)                                                         \
  do {                                                                            \
    if (!(cond)) {                                                                \
      std::fprintf(stderr, "FUZZ_ASSERT failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                               \
    }                                                                             \
  } while (0)

}  // namespace kn_fuzz
