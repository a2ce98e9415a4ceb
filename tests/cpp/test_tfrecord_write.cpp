// TFRecordWriter::write_framed (records framed on worker threads, written in
// order): the file is byte for byte what write() gives, for every compression;
// frames are checked against a hand-built header/footer with the RFC 3720
// CRC32C vectors' bitwise reference.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "crc32c.h"
#include "harness.h"
#include "tfrecord.h"

using namespace kn;

namespace {
std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}
std::string tmp(const std::string& name) { return "/tmp/kn_test_write_" + name; }

// Bitwise CRC32C (no tables) and the TFRecord mask, written out here.
uint32_t crc_ref(const std::string& s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1) ? 0x82F63B78u : 0);
  }
  return ~c;
}
std::string le(uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return s;
}
uint32_t mask_ref(uint32_t c) { return ((c >> 15) | (c << 17)) + 0xa282ead8u; }
}  // namespace

TEST(frame_matches_hand_built_bytes) {
  for (const std::string data : {std::string(), std::string("123456789"), std::string(300, '\x7f')}) {
    const std::string len = le(data.size(), 8);
    const std::string want = len + le(mask_ref(crc_ref(len)), 4) + data + le(mask_ref(crc_ref(data)), 4);
    CHECK(frame_record(data) == want);
  }
}

TEST(write_framed_equals_write_for_every_compression) {
  std::vector<std::string> recs;
  for (int i = 0; i < 700; ++i) recs.push_back(std::string(static_cast<size_t>(i % 37), static_cast<char>('a' + i % 26)));
  for (const char* comp : {"", "GZIP", "ZLIB"}) {
    const std::string a = tmp("a.tfrecord"), b = tmp("b.tfrecord");
    {
      TFRecordWriter w(a, comp);
      for (const auto& r : recs) w.write(r);
      w.close();
    }
    {
      TFRecordWriter w(b, comp);
      std::string chunk;  // chunks of 256 records, as write_tfrecord() frames them
      for (size_t i = 0; i < recs.size(); i += 256) {
        chunk.clear();
        const size_t e = std::min(recs.size(), i + 256);
        for (size_t j = i; j < e; ++j) append_framed_record(chunk, recs[j].data(), recs[j].size());
        w.write_framed(chunk, static_cast<int64_t>(e - i));
      }
      CHECK(w.records_written() == 700);
      w.close();
    }
    CHECK(slurp(a) == slurp(b));
    CHECK(read_tfrecords(b) == recs);
    std::remove(a.c_str());
    std::remove(b.c_str());
  }
  TFRecordWriter closed;
  CHECK_THROWS(closed.write_framed("x", 1), "not open");
}

KN_TEST_MAIN
