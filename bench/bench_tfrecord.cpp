// TFRecord + tf.train.Example throughput, single-threaded.
// Build (from the package root):
//   protoc --proto_path=src/formats/proto --cpp_out=src/formats/proto src/formats/proto/example.proto && g++ -std=c++17 -O2 -Wall -Isrc/core -Isrc/kernels -Isrc/nn -Isrc/data -Isrc/formats bench/bench_tfrecord.cpp src/formats/crc32c.cpp src/formats/tfrecord.cpp src/formats/example.cpp src/formats/proto/example.pb.cc $(pkg-config --cflags --libs protobuf) -lz -o /tmp/bench_tfrecord
// Run: /tmp/bench_tfrecord [n_records=60000]
// Writes n MNIST-like Examples (image_raw: 784-byte bytes feature, label: int64),
// then times read + CRC + parse (spec fast path, full walker, protobuf).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "crc32c.h"
#include "example.h"
#include "tfrecord.h"

using namespace kn;
using Clock = std::chrono::steady_clock;

static double secs(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 60000;
  std::mt19937 rng(42);
  std::string dir = "/tmp";
  std::string plain = dir + "/kn_bench_mnist.tfrecord", gz = dir + "/kn_bench_mnist.tfrecord.gz";

  // ---- write
  std::string img(784, '\0');  // (28, 28) uint8
  std::string rec;
  ExampleMap ex(2);
  ex[0].first = "image_raw";
  ex[1].first = "label";
  std::vector<std::string> images(n);  // (n,) 784-byte digit-like images
  for (int i = 0; i < n; ++i) {
    for (int p = 0; p < 784; ++p) img[p] = (p % 28 > 6 && p % 28 < 21 && (rng() & 3)) ? char(rng() & 0xFF) : 0;
    images[i] = img;
  }
  auto t0 = Clock::now();
  for (int c = 0; c < 2; ++c) {
    TFRecordWriter w(c == 0 ? plain : gz, c == 0 ? Compression::None : Compression::Gzip);
    for (int i = 0; i < n; ++i) {
      ex[0].second = Feature::of_bytes({images[i]});
      ex[1].second = Feature::of_ints({int64_t(i % 10)});
      encode_example(ex, rec);
      w.write(rec);
    }
    w.close();
    if (c == 0) {
      auto t1 = Clock::now();
      std::printf("write (encode+frame, plain): %d records in %.3f s = %.0f rec/s\n", n, secs(t0, t1),
                  n / secs(t0, t1));
    }
  }

  // ---- read + CRC + spec parse (the input-pipeline hot loop)
  ExampleSpecParser sp({{"image_raw", Feature::Bytes, 1}, {"label", Feature::Int64, 1}});
  std::vector<float> batch(784);  // (784,) decoded pixels of the current record
  auto run = [&](const std::string& path, Compression c, int mode, const char* name) {
    double best = 1e30;
    int64_t check = 0;
    for (int rep = 0; rep < 3; ++rep) {
      auto a = Clock::now();
      TFRecordReader r(path, c);
      std::string_view v;
      std::string buf;
      int64_t cnt = 0, sum = 0;
      while (r.next_view(v)) {
        if (mode == 0) {  // spec fast path + uint8 -> float conversion
          sp.parse(v);
          const std::string_view px = sp[0].bytes[0];
          if (px.size() != 784) { std::fprintf(stderr, "bad size\n"); return; }
          for (int p = 0; p < 784; ++p) batch[p] = (unsigned char)px[p] * (1.0f / 255.0f);
          sum += sp[1].ints[0];
        } else if (mode == 1) {
          sp.parse(v);
          sum += sp[1].ints[0];
        } else if (mode == 2) {
          ExampleMap m = parse_example_fast(v);
          sum += m[1].second.ints[0];
        } else if (mode == 3) {
          buf.assign(v.data(), v.size());
          ExampleMap m = parse_example(buf);
          sum += find_feature(m, "label")->ints[0];
        } else {
          sum += v.size();  // framing + CRC only
        }
        ++cnt;
      }
      auto b = Clock::now();
      if (cnt != n) { std::fprintf(stderr, "count %lld != %d\n", (long long)cnt, n); return; }
      best = std::min(best, secs(a, b));
      check = sum;
    }
    std::printf("%-48s %9.0f rec/s  (%.3f s, %.2f us/rec, checksum %lld)\n", name, n / best, best,
                1e6 * best / n, (long long)check);
  };
  std::printf("crc32c implementation: %s\n", crc32c_impl_name());
  run(plain, Compression::None, 4, "read+CRC only (plain)");
  run(plain, Compression::None, 1, "read+CRC+spec parse (plain)");
  run(plain, Compression::None, 0, "read+CRC+spec parse+u8->float (plain)");
  run(plain, Compression::None, 2, "read+CRC+parse_example_fast (plain)");
  run(plain, Compression::None, 3, "read+CRC+parse_example/protobuf (plain)");
  run(gz, Compression::Gzip, 1, "read+gunzip+CRC+spec parse (GZIP)");

  // ---- raw CRC throughput
  std::string big(64 << 20, '\0');
  for (auto& ch : big) ch = char(rng());
  for (int impl = 0; impl < 2; ++impl) {
    if (impl == 1 && !crc32c_hw_available()) continue;
    auto a = Clock::now();
    uint32_t c = impl == 0 ? crc32c_extend_sw(0, big.data(), big.size()) : crc32c_extend_hw(0, big.data(), big.size());
    auto b = Clock::now();
    std::printf("crc32c %-10s %.2f GB/s (crc %08x)\n", impl == 0 ? "slice-by-8" : "sse4.2",
                big.size() / secs(a, b) / 1e9, c);
  }
  std::remove(plain.c_str());
  std::remove(gz.c_str());
  return 0;
}
