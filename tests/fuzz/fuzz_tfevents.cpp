// TensorBoard event files (src/formats/tfevents.*): read_event_file_version()
// and read_event_scalars(), the readers behind tfevents_scalars().
// The first byte picks how the rest is used:
//   even: the bytes are the event file as is (TFRecord framing, CRCs checked);
//   odd:  the bytes are a list of Event messages, each prefixed by a 2-byte
//         little-endian length, which the harness frames with valid CRCs first,
//         so mutations reach the tensorflow.Event / Summary / TensorProto
//         decoding instead of stopping at a CRC mismatch.
// Seeds: tests/fuzz/corpus/tfevents/ (from ../shared/testdata/tfevents, made by
// tests/fuzz/make_tfevents_seeds.py).
#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "tfevents.h"
#include "tfrecord.h"

// protobuf logs every invalid UTF-8 string it parses; silence it (speed).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const char* p = reinterpret_cast<const char*>(data + 1);
  const size_t n = size - 1;
  std::string file;
  if (data[0] % 2 == 0) {
    file.assign(p, n);
  } else {
    size_t at = 0;
    while (at + 2 <= n) {
      size_t len = static_cast<unsigned char>(p[at]) | (static_cast<size_t>(static_cast<unsigned char>(p[at + 1])) << 8);
      at += 2;
      len = std::min(len, n - at);
      kn::append_framed_record(file, p + at, len);
      at += len;
    }
  }
  const std::string& path = kn_fuzz::write_scratch(".tfevents", reinterpret_cast<const uint8_t*>(file.data()), file.size());
  try {
    std::string version = kn::read_event_file_version(path);
    FUZZ_ASSERT(version.size() <= file.size());
  } catch (const kn::Error&) {
  }
  try {
    std::vector<kn::ScalarEvent> s = kn::read_event_scalars(path);
    // every scalar comes from a record of the file: at most one per tag byte
    FUZZ_ASSERT(s.size() <= file.size());
    for (const kn::ScalarEvent& e : s) FUZZ_ASSERT(e.tag.size() <= file.size());
  } catch (const kn::Error&) {
  }
  return 0;
}
