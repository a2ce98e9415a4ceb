// .npy reader (src/formats/npy.*), from memory (sizes known, as for files)
// and through a deflate stream (sizes unknown, as for .npz members).
#include <string>

#include "fuzz_util.h"
#include "npy.h"

namespace {
void check(const kn::NumArray& a) {
  const int64_t n = a.numel();
  FUZZ_ASSERT(n >= 0 && n <= kn::kMaxArrayValues);
  const size_t stored = a.kind == kn::NumArray::I32 ? a.i32.size() : a.kind == kn::NumArray::F64 ? a.f64.size() : a.u8.size();
  FUZZ_ASSERT(static_cast<int64_t>(stored) == n);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    kn::MemorySource m(bytes);
    check(kn::parse_npy(m, "fuzz.npy"));
  } catch (const kn::Error&) {
  }
  // the same bytes taken as a raw deflate stream
  try {
    kn::InflateSource z(std::make_unique<kn::MemorySource>(bytes), kn::InflateSource::Raw, "fuzz");
    check(kn::parse_npy(z, "fuzz.npy"));
  } catch (const kn::Error&) {
  }
  return 0;
}
