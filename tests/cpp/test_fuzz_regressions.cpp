// Inputs the libFuzzer harnesses (tests/fuzz) found, kept as ordinary tests.
// Run under `make sanitize` they also guard against the sanitizer reports
// they first caused.
#include <cstdio>
#include <string>
#include <vector>
#include <unistd.h>

#include "crc32c.h"
#include "example.h"
#include "harness.h"
#include "tfrecord.h"

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

namespace {
std::string scratch(const std::string& name, const std::string& content) {
  std::string p = "/tmp/kn_fuzzreg_" + std::to_string(getpid()) + "_" + name;
  std::FILE* f = std::fopen(p.c_str(), "wb");
  std::fwrite(content.data(), 1, content.size(), f);
  std::fclose(f);
  return p;
}
}  // namespace

// fuzz_tfrecord ran at a few hundred inputs per second: every open allocated
// and zeroed a 1 MiB read buffer (and 1 MiB more for compressed input), even
// for a 20-byte file. The buffer now grows with the data actually read.
TEST(tfrecord_reader_buffer_grows_with_data) {
  // small file: 3 records of 5 bytes -> 63 bytes on disk
  std::string small;
  for (const char* r : {"alpha", "bravo", "charl"}) append_framed_record(small, r, 5);
  CHECK(small.size() == 3u * (12 + 5 + 4));
  const std::string p1 = scratch("small.tfrecord", small);
  {
    TFRecordReader r(p1, Compression::None);
    std::string rec;
    std::vector<std::string> got;
    while (r.next(rec)) got.push_back(rec);
    CHECK(got == std::vector<std::string>({"alpha", "bravo", "charl"}));
    CHECK(r.buffer_capacity() <= small.size());  // sized by the file, not 1 MiB
  }
  // a 3 MiB record (several growth steps) reads back byte for byte, and the
  // buffer stays within twice the record
  std::string big(3u << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  std::string framed;
  append_framed_record(framed, "x", 1);
  append_framed_record(framed, big.data(), big.size());
  const std::string p2 = scratch("big.tfrecord", framed);
  {
    TFRecordReader r(p2, Compression::None);
    std::string rec;
    CHECK(r.next(rec) && rec == "x");
    CHECK(r.next(rec) && rec == big);
    CHECK(!r.next(rec));
    CHECK(r.buffer_capacity() >= big.size() && r.buffer_capacity() <= 2 * framed.size());
  }
  // a header claiming 2^40 bytes (with a valid header CRC) in a 60-byte file:
  // a "truncated" error naming the claim, and no buffer sized by it
  std::string liar;
  append_framed_record(liar, "0123456789012345678901234567890123456789", 40);
  const uint64_t claim = uint64_t(1) << 40;
  for (int i = 0; i < 8; ++i) liar[i] = static_cast<char>((claim >> (8 * i)) & 0xFF);
  const uint32_t hcrc = crc32c_mask(crc32c(liar.data(), 8));
  for (int i = 0; i < 4; ++i) liar[8 + i] = static_cast<char>((hcrc >> (8 * i)) & 0xFF);
  const std::string p3 = scratch("liar.tfrecord", liar);
  {
    TFRecordReader r(p3, Compression::None);
    std::string rec;
    std::string msg;
    try {
      r.next(rec);
    } catch (const Error& e) {
      msg = e.what();
    }
    CHECK(msg.find("truncated record") != std::string::npos);
    CHECK(msg.find("1099511627776") != std::string::npos);
    CHECK(r.buffer_capacity() <= liar.size());
  }
  std::remove(p1.c_str());
  std::remove(p2.c_str());
  std::remove(p3.c_str());
}

KN_TEST_MAIN
