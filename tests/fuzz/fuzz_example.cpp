// tf.train.Example parsing, every path: the protobuf-generated parser, the
// hand-written wire walker (parse_example_fast, differentially against
// protobuf), the encoder round trip, and ExampleSpecParser with fixed specs.
#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <string>

#include "example.h"
#include "fuzz_util.h"

namespace {
kn::ExampleMap sorted(kn::ExampleMap m) {
  std::stable_sort(m.begin(), m.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return m;
}
}  // namespace

// protobuf logs every rejected message (invalid UTF-8 keys...) to stderr
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  bool ok_pb = false, ok_fast = false;
  kn::ExampleMap pb, fast;
  try { pb = kn::parse_example(bytes); ok_pb = true; } catch (const kn::Error&) {}
  try { fast = kn::parse_example_fast(bytes); ok_fast = true; } catch (const kn::Error&) {}
  if (ok_pb && ok_fast) FUZZ_ASSERT(sorted(fast) == pb);
  if (ok_fast) {
    // encode -> parse gives the same map; sorted encoding equals protobuf's
    const std::string enc = kn::encode_example(fast);
    FUZZ_ASSERT(kn::parse_example_fast(enc) == fast);
    FUZZ_ASSERT(kn::encode_example(fast, true) == kn::encode_example_protobuf(fast));
    for (const auto& kv : fast) FUZZ_ASSERT(kn::find_feature(fast, kv.first) != nullptr);
  }
  // spec parsing: all kinds, fixed counts, optional keys
  static kn::ExampleSpecParser specs[] = {
      kn::ExampleSpecParser({{"image_floats", kn::Feature::Float, 784, true}, {"image_class", kn::Feature::Int64, 1, true}}),
      kn::ExampleSpecParser({{"a", kn::Feature::Bytes, -1, false}, {"b", kn::Feature::Float, 2, false},
                             {"c", kn::Feature::Int64, -1, false}, {"", kn::Feature::None, -1, false}}),
      kn::ExampleSpecParser({{"feature0", kn::Feature::Int64, 1, true}, {"feature2", kn::Feature::Bytes, 1, true},
                             {"feature3", kn::Feature::Float, 1, false}}),
  };
  for (auto& p : specs) {
    try {
      p.parse(bytes);
      for (size_t i = 0; i < p.specs().size(); ++i) {
        const kn::FeatureValues& v = p[i];
        if (!v.present) continue;
        if (p.specs()[i].count >= 0) FUZZ_ASSERT(static_cast<int64_t>(v.size()) == p.specs()[i].count);
        if (ok_fast) {
          const kn::Feature* f = kn::find_feature(fast, p.specs()[i].key);
          FUZZ_ASSERT(f && f->size() == v.size());
        }
      }
    } catch (const kn::Error&) {
    }
  }
  return 0;
}
