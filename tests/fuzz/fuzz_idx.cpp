// IDX reader (src/formats/idx.*): plain and gzipped input through the same
// path read_idx() takes for files (gzip detected from the content).
#include <string>

#include "fuzz_util.h"
#include "idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto src = kn::gunzip_if_gzip(std::make_unique<kn::MemorySource>(std::string_view(reinterpret_cast<const char*>(data), size)),
                                "invalid IDX file 'fuzz'");
  try {
    kn::NumArray a = kn::parse_idx(*src, "fuzz");
    const int64_t n = a.numel();
    FUZZ_ASSERT(n >= 0 && n <= kn::kMaxArrayValues);
    const size_t stored = a.kind == kn::NumArray::I32 ? a.i32.size() : a.kind == kn::NumArray::F64 ? a.f64.size() : a.u8.size();
    FUZZ_ASSERT(static_cast<int64_t>(stored) == n);
  } catch (const kn::Error&) {
  }
  return 0;
}
