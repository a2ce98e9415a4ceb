// Inputs the libFuzzer harnesses (tests/fuzz) found, kept as ordinary tests.
// Run under `make sanitize` they also guard against the sanitizer reports
// they first caused.
#include <string>

#include "example.h"
#include "harness.h"

using namespace kn;

namespace {
std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}
}  // namespace

// fuzz_example: a map entry without a key field (protobuf's default key "")
// matched against a spec whose key is "": memcmp was called with the null
// data() of the absent key (UBSan: null pointer passed as argument 2).
TEST(spec_parser_entry_without_key) {
  // Example { features { feature { value { int64_list { value: [7] } } } } }, no key
  const std::string rec = bytes({0x0a, 0x09, 0x0a, 0x07, 0x12, 0x05, 0x1a, 0x03, 0x0a, 0x01, 0x07});
  ExampleSpecParser p({{"", Feature::Int64, 1, true}, {"x", Feature::Float, -1, false}});
  p.parse(rec);
  CHECK(p[0].present && p[0].kind == Feature::Int64);
  CHECK(p[0].ints.size() == 1 && p[0].ints[0] == 7);
  CHECK(!p[1].present);
  // both parsers agree the entry's key is ""
  ExampleMap fast = parse_example_fast(rec);
  CHECK(fast.size() == 1 && fast[0].first.empty() && fast[0].second.ints == std::vector<int64_t>({7}));
  ExampleMap pb = parse_example(rec);
  CHECK(pb == fast);
}

KN_TEST_MAIN
