// .npz archives (zip of .npy, stored or deflated): the central directory
// walk (zip64 included) and every member parsed as read_npz() does.
#include <string>

#include "fuzz_util.h"
#include "npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view zip(reinterpret_cast<const char*>(data), size);
  std::vector<kn::ZipEntry> es;
  try {
    es = kn::zip_entries(zip, "fuzz.npz");
  } catch (const kn::Error&) {
    return 0;
  }
  for (size_t i = 0; i < es.size() && i < 64; ++i) {
    try {
      kn::NumArray a = kn::npz_member(zip, es[i], "fuzz.npz");
      FUZZ_ASSERT(a.numel() >= 0 && a.numel() <= kn::kMaxArrayValues);
    } catch (const kn::Error&) {
    }
  }
  return 0;
}
