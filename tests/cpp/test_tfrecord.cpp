// Build (from the package root; protoc writes the generated, git-ignored example.pb.{h,cc} next to example.proto):
//   protoc --proto_path=src/formats/proto --cpp_out=src/formats/proto src/formats/proto/example.proto && g++ -std=c++17 -O2 -Wall -Isrc/core -Isrc/kernels -Isrc/nn -Isrc/data -Isrc/formats tests/cpp/test_tfrecord.cpp src/formats/crc32c.cpp src/formats/tfrecord.cpp src/formats/example.cpp src/formats/proto/example.pb.cc src/core/parallel.cpp -pthread $(pkg-config --cflags --libs protobuf) -lz -o /tmp/test_tfrecord
// Run: /tmp/test_tfrecord [name-filter]   (test data: ../shared/testdata/tfrecord, or $KN_TFRECORD_TESTDATA)
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <algorithm>
#include <functional>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include <signal.h>
#include <sys/resource.h>

#include "crc32c.h"
#include "example.h"
#include "harness.h"
#include "tfrecord.h"

using namespace kn;

namespace {

std::string data_dir() {
  const char* d = std::getenv("KN_TFRECORD_TESTDATA");
  return d ? std::string(d) : kn_test::shared_testdata("tfrecord");
}
std::string data(const std::string& f) { return data_dir() + "/" + f; }

// Scratch directory, removed with its contents when the test binary exits.
struct TmpDir {
  std::string path;
  TmpDir() {
    char tmpl[] = "/tmp/kn_tfrecord_test_XXXXXX";
    char* r = mkdtemp(tmpl);
    if (!r) throw Error("cannot create a scratch directory in /tmp");
    path = r;
  }
  ~TmpDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};
std::string tmp_dir() {
  static TmpDir d;
  return d.path;
}
std::string tmp(const std::string& f) { return tmp_dir() + "/" + f; }

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
void dump(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
bool exists(const std::string& path) { return static_cast<bool>(std::ifstream(path)); }

// Decompress a whole gzip (multi-member) or zlib file with zlib's own gz* API /
// uncompress loop: independent of the reader's streaming inflate code.
std::string gunzip_file(const std::string& path) {
  gzFile g = gzopen(path.c_str(), "rb");
  std::string out;
  char buf[65536];
  int n;
  while ((n = gzread(g, buf, sizeof buf)) > 0) out.append(buf, n);
  gzclose(g);
  return out;
}
std::string zlib_inflate_all(const std::string& comp) {
  std::string out;
  z_stream zs{};
  inflateInit(&zs);
  zs.next_in = (Bytef*)comp.data();
  zs.avail_in = (uInt)comp.size();
  char buf[65536];
  int ret;
  do {
    zs.next_out = (Bytef*)buf;
    zs.avail_out = sizeof buf;
    ret = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  } while (ret == Z_OK);
  inflateEnd(&zs);
  return out;
}
std::string raw_deflate(const std::string& in) {  // no header (windowBits -15)
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()) + 64, '\0');
  zs.next_in = (Bytef*)in.data();
  zs.avail_in = (uInt)in.size();
  zs.next_out = (Bytef*)&out[0];
  zs.avail_out = (uInt)out.size();
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}
void put_le32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s += char((v >> (8 * i)) & 0xFF);
}
// A gzip member built by hand (RFC 1952) with every optional header field.
std::string gzip_member_all_flags(const std::string& payload) {
  std::string h;
  h += char(0x1f); h += char(0x8b); h += char(8);
  h += char(0x04 | 0x08 | 0x10 | 0x02);  // FEXTRA | FNAME | FCOMMENT | FHCRC
  put_le32(h, 1700000000u);              // mtime
  h += char(0); h += char(3);            // XFL, OS = Unix
  std::string extra = "AB\x03\x00xyz";
  h += char(extra.size()); h += char(0);
  h += extra;
  h += std::string("data.tfrecord") + '\0';
  h += std::string("a comment") + '\0';
  uint32_t hc = crc32(0, (const Bytef*)h.data(), (uInt)h.size());
  h += char(hc & 0xFF); h += char((hc >> 8) & 0xFF);
  h += raw_deflate(payload);
  put_le32(h, crc32(0, (const Bytef*)payload.data(), (uInt)payload.size()));
  put_le32(h, (uint32_t)payload.size());
  return h;
}

std::vector<std::string> all_records(const std::string& path, Compression c = Compression::Auto) {
  return read_tfrecords(path, c);
}

ExampleMap sorted(ExampleMap m) {
  std::sort(m.begin(), m.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return m;
}

bool same_map(const ExampleMap& a, const ExampleMap& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].first != b[i].first || a[i].second != b[i].second) return false;
  return true;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}
bool has(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

// A small deterministic stream of varied Examples.
ExampleMap varied_example(int i) {
  ExampleMap m;
  m.emplace_back("z_bytes", Feature::of_bytes({std::string("rec") + std::to_string(i), std::string("\0\x01\xff", 3), ""}));
  m.emplace_back("floats", Feature::of_floats({1.5f, -0.0f, 3.14f, 1e-30f, -2.5e30f, float(i)}));
  m.emplace_back("ints", Feature::of_ints({0, 1, -1, 127, 128, INT64_MAX, INT64_MIN, int64_t(i) * 1000003}));
  m.emplace_back("empty_f", Feature::of_floats({}));
  m.emplace_back("empty_i", Feature::of_ints({}));
  m.emplace_back("empty_b", Feature::of_bytes({}));
  if (i % 3 == 0) m.emplace_back("unset", Feature());
  if (i % 5 == 0) m.emplace_back("big", Feature::of_floats(std::vector<float>(3000 + i, 0.25f)));
  return m;
}

const char* kFiles[] = {"tfx_mnist_1000.tfrecord", "tfx_penguin_eval.tfrecord.gz",
                        "tfx_next_page.tfrecord.gz", "pwnall_singles.tfrecords",
                        "tfrecord_lite_test.tfrecord"};

}  // namespace

// ---------------------------------------------------------------------------
// CRC-32C

TEST(crc32c_known_vectors) {
  // "123456789" check value of CRC-32C and the RFC 3720 (iSCSI) B.4 vectors.
  std::string zeros(32, '\0'), ones(32, '\xff'), inc(32, 0), dec(32, 0);
  for (int i = 0; i < 32; ++i) { inc[i] = char(i); dec[i] = char(31 - i); }
  for (auto fn : {&crc32c_extend_sw, &crc32c_extend_hw, &crc32c_extend}) {
    if (fn == &crc32c_extend_hw && !crc32c_hw_available()) continue;
    CHECK(fn(0, "123456789", 9) == 0xE3069283u);
    CHECK(fn(0, zeros.data(), 32) == 0x8A9136AAu);
    CHECK(fn(0, ones.data(), 32) == 0x62A8AB43u);
    CHECK(fn(0, inc.data(), 32) == 0x46DD794Eu);
    CHECK(fn(0, dec.data(), 32) == 0x113FDB5Cu);
    CHECK(fn(0, "", 0) == 0u);
  }
  CHECK(crc32c("123456789", 9) == 0xE3069283u);
}

TEST(crc32c_sw_hw_agree_all_lengths_and_alignments) {
  std::mt19937 rng(7);
  std::string buf(5000, '\0');
  for (auto& c : buf) c = char(rng());
  for (size_t off = 0; off < 9; ++off)
    for (size_t n : {0, 1, 3, 7, 8, 9, 15, 31, 32, 33, 63, 64, 100, 1000, 4096, 4990}) {
      uint32_t sw = crc32c_extend_sw(0, buf.data() + off, n);
      uint32_t hw = crc32c_hw_available() ? crc32c_extend_hw(0, buf.data() + off, n) : sw;
      CHECK(sw == hw);
      // Bitwise reference (no tables): shift register, one bit at a time.
      uint32_t c = 0xFFFFFFFFu;
      for (size_t i = 0; i < n; ++i) {
        c ^= (unsigned char)buf[off + i];
        for (int b = 0; b < 8; ++b) c = (c >> 1) ^ ((c & 1) ? 0x82F63B78u : 0);
      }
      CHECK(sw == ~c);
      // extend == one-shot over the concatenation
      size_t h = n / 3;
      CHECK(crc32c_extend(crc32c(buf.data() + off, h), buf.data() + off + h, n - h) == sw);
    }
}

TEST(crc32c_mask_roundtrip) {
  for (uint32_t x : {0u, 1u, 0xE3069283u, 0xFFFFFFFFu, 0x12345678u}) {
    uint32_t m = crc32c_mask(x);
    CHECK(m == (((x >> 15) | (x << 17)) + 0xa282ead8u));
    CHECK(crc32c_unmask(m) == x);
  }
}

// ---------------------------------------------------------------------------
// Real files

TEST(real_files_counts_and_detection) {
  CHECK(count_tfrecords(data("tfx_mnist_1000.tfrecord")) == 1000);
  CHECK(count_tfrecords(data("tfx_penguin_eval.tfrecord.gz")) == 100);
  CHECK(count_tfrecords(data("tfx_next_page.tfrecord.gz")) == 100);
  CHECK(count_tfrecords(data("pwnall_singles.tfrecords")) == 3);
  CHECK(count_tfrecords(data("tfrecord_lite_test.tfrecord")) == 42);
  CHECK(detect_compression(data("tfx_mnist_1000.tfrecord")) == Compression::None);
  CHECK(detect_compression(data("tfx_penguin_eval.tfrecord.gz")) == Compression::Gzip);
  CHECK(detect_compression(data("tfx_next_page.tfrecord.gz")) == Compression::Gzip);
  // explicit compression strings
  CHECK(count_tfrecords(data("tfx_penguin_eval.tfrecord.gz"), parse_compression("GZIP")) == 100);
  CHECK(count_tfrecords(data("tfx_next_page.tfrecord.gz"), parse_compression("gzip")) == 100);
  CHECK(count_tfrecords(data("pwnall_singles.tfrecords"), parse_compression("")) == 3);
}

TEST(real_pwnall_values_and_offsets) {
  TFRecordReader r(data("pwnall_singles.tfrecords"));
  std::string rec;
  std::vector<std::string> recs;
  std::vector<uint64_t> offs;
  while (r.next(rec)) {
    CHECK(r.record_index() == (int64_t)recs.size());
    recs.push_back(rec);
    offs.push_back(r.record_offset());
  }
  CHECK(recs.size() == 3);
  // Offsets: each record starts 16 bytes after the previous record's data.
  CHECK(offs[0] == 0);
  CHECK(offs[1] == 16 + recs[0].size());
  CHECK(offs[2] == offs[1] + 16 + recs[1].size());
  CHECK(offs[2] + 16 + recs[2].size() == 130);  // file size from the README
  ExampleMap e0 = parse_example(recs[0]), e1 = parse_example(recs[1]), e2 = parse_example(recs[2]);
  CHECK(e0.size() == 1 && e0[0].first == "int_feature" && e0[0].second.kind == Feature::Int64 &&
        e0[0].second.ints == std::vector<int64_t>{42});
  CHECK(e1.size() == 1 && e1[0].first == "float_feature" && e1[0].second.kind == Feature::Float &&
        e1[0].second.floats.size() == 1 && e1[0].second.floats[0] == 3.14f);
  CHECK(e2.size() == 1 && e2[0].first == "byte_feature" && e2[0].second.kind == Feature::Bytes &&
        e2[0].second.bytes == std::vector<std::string>{"@ABCD"});
}

TEST(real_tfx_mnist_values) {
  TFRecordReader r(data("tfx_mnist_1000.tfrecord"), "auto");
  ExampleSpecParser sp({{"image_floats", Feature::Float, 784}, {"image_class", Feature::Int64, 1}});
  std::string_view rec;
  int n = 0, bad_pixels = 0;
  int counts[10] = {0};
  while (r.next_view(rec)) {
    sp.parse(rec);
    const auto& img = sp[0].floats;
    for (float x : img) {
      // every value is float32(k/255 - 0.5) for an integer k in 0..255
      long k = std::lround((double(x) + 0.5) * 255.0);
      if (k < 0 || k > 255 || x != float(double(k) / 255.0 - 0.5)) ++bad_pixels;
    }
    int64_t lab = sp[1].ints[0];
    CHECK(lab >= 0 && lab <= 9);
    if (lab >= 0 && lab <= 9) counts[lab]++;
    ++n;
  }
  CHECK(n == 1000);
  CHECK(bad_pixels == 0);
  int expect[10] = {87, 137, 87, 90, 118, 79, 78, 107, 120, 97};
  for (int d = 0; d < 10; ++d) CHECK(counts[d] == expect[d]);
}

TEST(real_penguin_values) {
  ExampleSpecParser sp({{"species", Feature::Int64, 1},
                        {"culmen_length_mm", Feature::Float, 1},
                        {"culmen_depth_mm", Feature::Float, 1},
                        {"flipper_length_mm", Feature::Float, 1},
                        {"body_mass_g", Feature::Float, 1}});
  int counts[3] = {0};
  int n = 0;
  std::set<std::vector<std::string>> orders;
  for (const auto& rec : all_records(data("tfx_penguin_eval.tfrecord.gz"))) {
    sp.parse(rec);
    int64_t s = sp[0].ints[0];
    CHECK(s >= 0 && s <= 2);
    if (s >= 0 && s <= 2) counts[s]++;
    for (int j = 1; j < 5; ++j) CHECK(sp[j].floats[0] >= 0.0f && sp[j].floats[0] <= 1.0f);
    std::vector<std::string> keys;
    for (auto& kv : parse_example_fast(rec)) keys.push_back(kv.first);
    CHECK(keys.size() == 5);
    orders.insert(keys);
    ++n;
  }
  CHECK(n == 100);
  CHECK(counts[0] == 47 && counts[1] == 22 && counts[2] == 31);
  CHECK(orders.size() > 1);  // README: map order varies between records
}

TEST(real_next_page_values) {
  ExampleSpecParser sp({{"cur_page", Feature::Bytes, 1}, {"label", Feature::Bytes, 1},
                        {"session_index", Feature::Int64, 1}});
  std::set<std::string> labels;
  int n = 0;
  for (const auto& rec : all_records(data("tfx_next_page.tfrecord.gz"), Compression::Gzip)) {
    sp.parse(rec);
    std::string lab(sp[1].bytes[0]);
    CHECK(lab == "page1" || lab == "page2" || lab == "page3" || lab == "page4");
    labels.insert(lab);
    CHECK(sp[2].ints[0] >= 0 && sp[2].ints[0] <= 9);
    ++n;
  }
  CHECK(n == 100);
  CHECK(labels.size() >= 2);
}

TEST(real_tfrecord_lite_values_and_wire_order) {
  auto recs = all_records(data("tfrecord_lite_test.tfrecord"));
  CHECK(recs.size() == 42);
  std::set<std::string> animals = {"cat", "dog", "chicken", "horse", "goat"};
  for (const auto& rec : recs) {
    ExampleMap m = parse_example(rec);
    CHECK(m.size() == 4);
    const Feature* f0 = find_feature(m, "feature0");
    const Feature* f1 = find_feature(m, "feature1");
    const Feature* f2 = find_feature(m, "feature2");
    const Feature* f3 = find_feature(m, "feature3");
    CHECK(f0 && f0->kind == Feature::Int64 && f0->ints.size() == 1 && (f0->ints[0] == 0 || f0->ints[0] == 1));
    CHECK(f1 && f1->kind == Feature::Int64 && f1->ints.size() == 1 && f1->ints[0] >= 0 && f1->ints[0] <= 4);
    CHECK(f2 && f2->kind == Feature::Bytes && f2->bytes.size() == 1 && animals.count(f2->bytes[0]));
    CHECK(f3 && f3->kind == Feature::Float && f3->floats.size() == 1 && std::fabs(f3->floats[0]) < 6);
  }
  // README: record 0 is feature2, feature3, feature0, feature1 on the wire; record 1 is sorted.
  auto k0 = parse_example_fast(recs[0]);
  auto k1 = parse_example_fast(recs[1]);
  CHECK(k0.size() == 4 && k0[0].first == "feature2" && k0[1].first == "feature3" &&
        k0[2].first == "feature0" && k0[3].first == "feature1");
  CHECK(k1.size() == 4 && k1[0].first == "feature0" && k1[1].first == "feature1" &&
        k1[2].first == "feature2" && k1[3].first == "feature3");
}

TEST(real_files_fast_parser_matches_protobuf_and_reencodes_exactly) {
  for (const char* f : kFiles) {
    int n = 0, mism_parse = 0, mism_wire = 0, mism_sorted = 0, mism_spec = 0;
    for (const auto& rec : all_records(data(f))) {
      ExampleMap pb = parse_example(rec);
      ExampleMap fast = parse_example_fast(rec);
      if (!same_map(pb, sorted(fast))) ++mism_parse;
      if (encode_example(fast) != rec) ++mism_wire;  // wire order kept => byte-identical
      if (encode_example(fast, true) != encode_example_protobuf(pb)) ++mism_sorted;
      // spec parser with every key (any kind/count) gives the same values
      std::vector<FeatureSpec> specs;
      for (auto& kv : pb) specs.push_back({kv.first, kv.second.kind, (int64_t)kv.second.size()});
      ExampleSpecParser sp(specs);
      sp.parse(rec);
      for (size_t i = 0; i < pb.size(); ++i) {
        const Feature& e = pb[i].second;
        const FeatureValues& v = sp[i];
        bool ok = v.present && v.kind == e.kind && v.floats == e.floats && v.ints == e.ints &&
                  v.bytes.size() == e.bytes.size();
        for (size_t j = 0; ok && j < e.bytes.size(); ++j) ok = v.bytes[j] == e.bytes[j];
        if (!ok) ++mism_spec;
      }
      ++n;
    }
    CHECK(n > 0);
    CHECK(mism_parse == 0);
    CHECK(mism_wire == 0);
    CHECK(mism_sorted == 0);
    CHECK(mism_spec == 0);
    if (mism_parse || mism_wire || mism_sorted || mism_spec) std::printf("  in %s\n", f);
  }
}

TEST(real_files_reframing_reproduces_stream) {
  for (const char* f : kFiles) {
    std::string path = data(f);
    std::string original = has(f, ".gz") ? gunzip_file(path) : slurp(path);
    std::string reframed;
    for (const auto& rec : all_records(path)) append_framed_record(reframed, rec.data(), rec.size());
    CHECK(!original.empty());
    CHECK(reframed == original);
  }
  CHECK(slurp(data("tfx_penguin_eval.tfrecord.gz")).size() == 2434);
  CHECK(gunzip_file(data("tfx_penguin_eval.tfrecord.gz")).size() == 15200);  // README
}

// ---------------------------------------------------------------------------
// Encoding

TEST(encode_matches_protobuf_and_hand_bytes) {
  // Hand-assembled bytes for {"a": int64 [1, 300]}:
  // Example.features(0a len) { entry(0a len) { key(0a 01 'a') value(12 len) { int64_list(1a len) { 0a 03 01 ac 02 }}}}
  ExampleMap m = {{"a", Feature::of_ints({1, 300})}};
  // 300 = varint ac 02, so the packed payload is 3 bytes.
  std::string expect = std::string("\x0a\x0e\x0a\x0c\x0a\x01" "a" "\x12\x07\x1a\x05\x0a\x03\x01\xac\x02", 16);
  CHECK(encode_example(m) == expect);
  // float [1.0]: 0x3f800000 little-endian
  ExampleMap mf = {{"f", Feature::of_floats({1.0f})}};
  std::string ef = std::string("\x0a\x0f\x0a\x0d\x0a\x01" "f" "\x12\x08\x12\x06\x0a\x04\x00\x00\x80\x3f", 17);
  CHECK(encode_example(mf) == ef);
  // bytes ["xy"]
  ExampleMap mb = {{"b", Feature::of_bytes({"xy"})}};
  std::string eb = std::string("\x0a\x0d\x0a\x0b\x0a\x01" "b" "\x12\x06\x0a\x04\x0a\x02xy", 15);
  CHECK(encode_example(mb) == eb);
  // empty Example: features present but empty
  CHECK(encode_example(ExampleMap{}) == std::string("\x0a\x00", 2));
  // sorted encoding equals protobuf deterministic serialization for varied content
  for (int i = 0; i < 20; ++i) {
    ExampleMap v = varied_example(i);
    v.emplace_back("", Feature::of_ints({5}));  // empty key
    CHECK(encode_example(v, true) == encode_example_protobuf(v));
    CHECK(same_map(parse_example(encode_example(v)), sorted(v)));
    CHECK(same_map(parse_example_fast(encode_example(v)), v));
  }
}

TEST(fast_parser_accepts_unpacked_and_merges_like_protobuf) {
  // Unpacked float (wire type 5) and int64 (wire type 0) values, an unknown
  // field, and the same key twice (protobuf: last entry wins).
  std::string feat_f = std::string("\x12\x0a\x0d\x00\x00\x80\x3f\x0d\x00\x00\x00\x40", 12);  // float_list {1, 2}
  std::string feat_i = std::string("\x1a\x04\x08\x07\x08\x09", 6);                           // int64_list {7, 9}
  auto entry = [](const std::string& k, const std::string& feat) {
    std::string e = std::string("\x0a") + char(k.size()) + k + "\x12" + char(feat.size()) + feat;
    return std::string("\x0a") + char(e.size()) + e;
  };
  std::string features = entry("f", feat_f) + entry("i", std::string("\x1a\x02\x08\x01", 4)) + entry("i", feat_i);
  std::string ex = std::string("\x0a") + char(features.size()) + features + std::string("\x10\x05", 2);
  ExampleMap pb = parse_example(ex), fast = parse_example_fast(ex);
  CHECK(same_map(pb, sorted(fast)));
  const Feature* f = find_feature(fast, "f");
  const Feature* i = find_feature(fast, "i");
  CHECK(f && f->floats == std::vector<float>({1.0f, 2.0f}));
  CHECK(i && i->ints == std::vector<int64_t>({7, 9}));
  ExampleSpecParser sp({{"i", Feature::Int64, 2}, {"f", Feature::Float, 2}});
  sp.parse(ex);
  CHECK(sp[0].ints == std::vector<int64_t>({7, 9}) && sp[1].floats == std::vector<float>({1.0f, 2.0f}));
}

TEST(spec_parser_errors_and_optional) {
  std::string rec = encode_example({{"label", Feature::of_ints({3})}, {"img", Feature::of_bytes({std::string(784, 'x')})}});
  ExampleSpecParser ok({{"img", Feature::Bytes, 1}, {"label", Feature::Int64, 1}, {"w", Feature::Float, -1, false}});
  ok.parse(rec);
  CHECK(ok[0].bytes.size() == 1 && ok[0].bytes[0].size() == 784 && ok[1].ints[0] == 3 && !ok[2].present);
  CHECK(ok.index_of("label") == 1 && ok.index_of("nope") == -1);
  ExampleSpecParser miss({{"image", Feature::Bytes, 1}});
  std::string m = error_of([&] { miss.parse(rec); });
  CHECK(has(m, "'image'") && has(m, "missing") && has(m, "'label'") && has(m, "'img'"));
  ExampleSpecParser kind({{"label", Feature::Float, 1}});
  m = error_of([&] { kind.parse(rec); });
  CHECK(has(m, "'label'") && has(m, "float_list") && has(m, "int64_list"));
  ExampleSpecParser cnt({{"label", Feature::Int64, 2}});
  m = error_of([&] { cnt.parse(rec); });
  CHECK(has(m, "should have 2") && has(m, "has 1"));
  // malformed wire bytes: every truncation of the record must throw, never read past the end
  int thrown = 0;
  for (size_t cut = 1; cut < rec.size(); ++cut) {
    std::string t = rec.substr(0, cut);
    if (!error_of([&] { ok.parse(t); }).empty()) ++thrown;
    CHECK(has(error_of([&] { parse_example_fast(t); }), "malformed"));
  }
  CHECK(thrown == (int)rec.size() - 1);
  CHECK_THROWS(parse_example(std::string("\x0a\x05\x0a", 3)), "malformed");
  CHECK_THROWS(ExampleSpecParser({{"a"}, {"a"}}), "duplicate");
}

// ---------------------------------------------------------------------------
// Round trips and writer behaviour

TEST(roundtrip_all_compressions) {
  for (Compression c : {Compression::None, Compression::Gzip, Compression::Zlib}) {
    std::string path = tmp(std::string("rt_") + compression_name(c) + ".tfrecord");
    std::vector<std::string> written;
    {
      TFRecordWriter w(path, c);
      for (int i = 0; i < 300; ++i) {
        written.push_back(encode_example(varied_example(i)));
        w.write(written.back());
      }
      written.push_back("");  // zero-length record
      w.write(written.back());
      written.push_back(std::string(3 << 20, 'q'));  // 3 MB record, larger than the read chunk
      w.write(written.back());
      CHECK(w.records_written() == 302);
      w.close();
    }
    std::string file = slurp(path);
    if (c == Compression::Gzip) CHECK((unsigned char)file[0] == 0x1f && (unsigned char)file[1] == 0x8b);
    if (c == Compression::Zlib)
      CHECK(((unsigned char)file[0] * 256 + (unsigned char)file[1]) % 31 == 0 && (file[0] & 0x0f) == 8);
    CHECK(detect_compression(path) == c);
    // independent decompression + framing
    std::string stream = c == Compression::None ? file : c == Compression::Gzip ? gunzip_file(path) : zlib_inflate_all(file);
    std::string expect;
    for (auto& r : written) append_framed_record(expect, r.data(), r.size());
    CHECK(stream == expect);
    for (Compression rc : {c, Compression::Auto}) {
      TFRecordReader r(path, rc);
      CHECK(r.compression() == c);
      std::string rec;
      size_t i = 0;
      uint64_t off = 0;
      bool all_ok = true;
      while (r.next(rec)) {
        all_ok = all_ok && i < written.size() && rec == written[i] && r.record_offset() == off;
        off += 16 + rec.size();
        ++i;
      }
      CHECK(all_ok && i == written.size());
      for (size_t j = 0; j < 300; j += 37) CHECK(same_map(parse_example_fast(written[j]), varied_example(j)));
      r.rewind();
      CHECK(r.next(rec) && rec == written[0] && r.record_index() == 0);
    }
  }
}

TEST(writer_temp_file_and_abort) {
  std::string path = tmp("atomic.tfrecord");
  std::remove(path.c_str());
  std::string tmp_name;
  {
    TFRecordWriter w(path);
    w.write("hello");
    tmp_name = w.temp_path();
    // same directory, hidden name derived from the target's that cannot be taken for it
    const std::string dir = path.substr(0, path.find_last_of('/') + 1);
    const std::string base = path.substr(dir.size());
    CHECK(tmp_name.rfind(dir + "." + base + ".tmp-", 0) == 0);
    CHECK(tmp_name.find('/', dir.size()) == std::string::npos);
    CHECK(exists(tmp_name));
    CHECK(!exists(path));
  }  // destroyed without close()
  CHECK(!exists(tmp_name));
  CHECK(!exists(path));
  {
    TFRecordWriter w(path, "GZIP");
    w.write("hello");
    tmp_name = w.temp_path();
    w.close();
    CHECK(!w.is_open());
    CHECK_THROWS(w.write("x"), "not open");
  }
  CHECK(exists(path) && !exists(tmp_name));
  CHECK(all_records(path) == std::vector<std::string>{"hello"});
  // Writer auto = by extension
  TFRecordWriter wz(tmp("x.tfrecord.gz"), Compression::Auto);
  CHECK(wz.compression() == Compression::Gzip);
  wz.abort();
  CHECK_THROWS(TFRecordWriter(tmp("nodir/sub/x.tfrecord")), "cannot create temporary file");
  CHECK_THROWS(parse_compression("bzip2"), "unknown TFRecord compression");
}

// Files in `dir` other than `keep` (stray temporaries).
std::vector<std::string> others_in(const std::string& dir, const std::string& keep) {
  std::vector<std::string> v;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().filename() != keep) v.push_back(e.path().filename().string());
  return v;
}

// Overwriting: the previous file stays byte-identical until close() succeeds,
// and every failure (abort, destruction, a write error) removes the temporary.
TEST(writer_overwrite_keeps_previous_file_on_failure) {
  const std::string dir = tmp("overwrite");
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/data.tfrecord";
  {
    TFRecordWriter w(path);
    w.write("old-1");
    w.write("old-2");
    w.close();
  }
  const std::string before = slurp(path);
  CHECK(before.size() == 2 * 16 + 10);  // 12 + 4 framing bytes per record
  {  // abort() mid-write
    TFRecordWriter w(path);
    for (int i = 0; i < 1000; ++i) w.write(std::string(1000, 'n'));
    CHECK(slurp(path) == before);
    w.abort();
  }
  CHECK(slurp(path) == before);
  CHECK(others_in(dir, "data.tfrecord").empty());
  {  // an exception unwinds through an open writer
    try {
      TFRecordWriter w(path, Compression::Gzip);
      w.write(std::string(5000, 'g'));
      throw Error("caller failed");
    } catch (const Error&) {
    }
  }
  CHECK(slurp(path) == before);
  CHECK(others_in(dir, "data.tfrecord").empty());
  // A real write error: the file size limit (RLIMIT_FSIZE) makes write(2) fail
  // with EFBIG part-way through the temporary file.
  struct rlimit old_lim;
  getrlimit(RLIMIT_FSIZE, &old_lim);
  void (*old_sig)(int) = signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim = old_lim;
  lim.rlim_cur = 256 * 1024;
  setrlimit(RLIMIT_FSIZE, &lim);
  bool threw = false;
  std::string msg;
  try {
    TFRecordWriter w(path);
    for (int i = 0; i < 100; ++i) w.write(std::string(64 * 1024, 'x'));  // 6.4 MB > 256 KB
    w.close();
  } catch (const Error& e) {
    threw = true;
    msg = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old_lim);
  signal(SIGXFSZ, old_sig);
  CHECK(threw);
  CHECK(msg.find("write error") != std::string::npos && msg.find(path) != std::string::npos);
  CHECK(slurp(path) == before);
  CHECK(others_in(dir, "data.tfrecord").empty());
  {  // and a successful close() replaces it
    TFRecordWriter w(path);
    w.write("new");
    CHECK(slurp(path) == before);
    w.close();
  }
  CHECK(all_records(path) == std::vector<std::string>{"new"});
  CHECK(others_in(dir, "data.tfrecord").empty());
}

TEST(empty_files) {
  for (Compression c : {Compression::None, Compression::Gzip, Compression::Zlib}) {
    std::string path = tmp(std::string("empty_") + compression_name(c));
    TFRecordWriter(path, c).close();
    CHECK(count_tfrecords(path, c) == 0);
    CHECK(count_tfrecords(path) == 0);
  }
  dump(tmp("zero_bytes"), "");
  CHECK(count_tfrecords(tmp("zero_bytes")) == 0);
}

// ---------------------------------------------------------------------------
// Gzip flavours

TEST(gzip_all_header_flags_and_multiple_members) {
  std::vector<std::string> recs = {"alpha", std::string(1000, 'b'), "gamma"};
  std::string whole;
  for (auto& r : recs) append_framed_record(whole, r.data(), r.size());
  // split the stream at an arbitrary byte (inside record 1) across two members
  size_t cut = 12 + 5 + 4 + 100;
  std::string gz = gzip_member_all_flags(whole.substr(0, cut)) + gzip_member_all_flags(whole.substr(cut));
  dump(tmp("flags.tfrecord.gz"), gz);
  CHECK(gunzip_file(tmp("flags.tfrecord.gz")) == whole);  // zlib agrees it is valid gzip
  CHECK(all_records(tmp("flags.tfrecord.gz"), Compression::Gzip) == recs);
  CHECK(all_records(tmp("flags.tfrecord.gz")) == recs);
  // trailing garbage after the last member is an error, not silently ignored
  dump(tmp("trail.gz"), gz + "garbage!!!");
  std::string m = error_of([&] { all_records(tmp("trail.gz")); });
  CHECK(has(m, "not another gzip member") && has(m, "trail.gz"));
}

// ---------------------------------------------------------------------------
// Corruption and wrong-compression errors

TEST(corruption_messages) {
  // 4 records of 100 bytes: record k starts at 116*k.
  std::string stream;
  for (int k = 0; k < 4; ++k) {
    std::string r(100, char('a' + k));
    append_framed_record(stream, r.data(), r.size());
  }
  std::string path = tmp("corrupt.tfrecord");
  auto try_read = [&](const std::string& bytes, Compression c = Compression::None) {
    dump(path, bytes);
    return error_of([&] { all_records(path, c); });
  };
  CHECK(try_read(stream).empty());
  // flipped byte in the length of record 2
  std::string b = stream;
  b[232 + 1] ^= 0x40;
  std::string m = try_read(b);
  CHECK(has(m, path) && has(m, "record 2") && has(m, "byte offset 232") && has(m, "length CRC mismatch"));
  // flipped byte in the length CRC of record 1
  b = stream;
  b[116 + 9] ^= 0x01;
  m = try_read(b);
  CHECK(has(m, "record 1") && has(m, "byte offset 116") && has(m, "length CRC mismatch"));
  // flipped payload byte in record 3
  b = stream;
  b[348 + 12 + 50] ^= 0x10;
  m = try_read(b);
  CHECK(has(m, path) && has(m, "record 3") && has(m, "byte offset 348") && has(m, "data CRC mismatch"));
  // flipped byte in the data CRC of record 0
  b = stream;
  b[112] ^= 0x80;
  m = try_read(b);
  CHECK(has(m, "record 0") && has(m, "byte offset 0") && has(m, "data CRC mismatch"));
  // flipped length of record 0: not a TFRecord file (or corrupt first header)
  b = stream;
  b[0] ^= 0x01;
  m = try_read(b);
  CHECK(has(m, "record 0") && has(m, "not a TFRecord file"));
  // truncations: inside header, inside data, inside footer; at a boundary = clean end
  struct Cut { size_t at; int rec; const char* what; };
  for (Cut c : {Cut{5, 0, "not a TFRecord file"}, Cut{116 + 7, 1, "inside the record header"},
                Cut{232 + 12 + 30, 2, "truncated record"}, Cut{348 + 112 + 2, 3, "truncated record"}}) {
    m = try_read(stream.substr(0, c.at));
    CHECK(has(m, "record " + std::to_string(c.rec)) && has(m, c.what) &&
          has(m, "byte offset " + std::to_string(116 * c.rec)));
  }
  CHECK(try_read(stream.substr(0, 232)).empty());
  CHECK(count_tfrecords(path) == 2);
  // random non-TFRecord content
  std::mt19937 rng(3);
  std::string junk(4096, 0);
  for (auto& ch : junk) ch = char(rng());
  junk[0] = 'J';
  m = try_read(junk);
  CHECK(has(m, "not a TFRecord file") && has(m, path));
  m = try_read("just some text that is not a tfrecord\n");
  CHECK(has(m, "not a TFRecord file"));
  // never a silently short read, with CRC checking off a truncation still errors
  dump(path, stream.substr(0, 300));
  TFRecordReader nocrc(path, Compression::None, false);
  std::string rec;
  CHECK(nocrc.next(rec) && nocrc.next(rec));
  CHECK_THROWS(nocrc.next(rec), "truncated record");
}

TEST(wrong_compression_messages) {
  std::string plain = data("pwnall_singles.tfrecords");
  std::string m = error_of([&] { TFRecordReader r(plain, Compression::Gzip); });
  CHECK(has(m, plain) && has(m, "GZIP") && has(m, "uncompressed TFRecord"));
  m = error_of([&] { TFRecordReader r(plain, Compression::Zlib); });
  CHECK(has(m, "ZLIB") && has(m, "uncompressed TFRecord"));
  std::string gz = data("tfx_penguin_eval.tfrecord.gz");
  m = error_of([&] { all_records(gz, Compression::None); });
  CHECK(has(m, gz) && has(m, "record 0") && has(m, "gzip magic") && has(m, "GZIP"));
  m = error_of([&] { TFRecordReader r(gz, Compression::Zlib); });
  CHECK(has(m, "gzip magic"));
  // a zlib file read as plain
  std::string zpath = tmp("z.tfrecord");
  { TFRecordWriter w(zpath, Compression::Zlib); w.write("abc"); w.close(); }
  m = error_of([&] { all_records(zpath, Compression::None); });
  CHECK(has(m, "ZLIB"));
  // garbage named .gz: auto falls back to the extension, then a clear message
  dump(tmp("junk.gz"), "this is not gzip at all, just text");
  CHECK(detect_compression(tmp("junk.gz")) == Compression::Gzip);
  m = error_of([&] { all_records(tmp("junk.gz")); });
  CHECK(has(m, "gzip magic") && has(m, "junk.gz"));
  m = error_of([&] { TFRecordReader r(tmp("does_not_exist.tfrecord")); });
  CHECK(has(m, "does_not_exist.tfrecord") && has(m, "cannot open"));
}

TEST(compressed_corruption_messages) {
  std::string gzfile = slurp(data("tfx_penguin_eval.tfrecord.gz"));
  // truncated gzip stream
  for (size_t cut : {size_t(20), gzfile.size() / 2, gzfile.size() - 3}) {
    dump(tmp("trunc.gz"), gzfile.substr(0, cut));
    std::string m = error_of([&] { all_records(tmp("trunc.gz")); });
    CHECK(has(m, "trunc.gz") && has(m, "GZIP") && has(m, "record ") &&
          (has(m, "truncated") || has(m, "decompression error")));
  }
  // the error names the first record that could not be fully decoded
  dump(tmp("trunc.gz"), gzfile.substr(0, gzfile.size() / 2));
  {
    TFRecordReader r(tmp("trunc.gz"));
    std::string rec;
    int64_t got = 0;
    std::string m = error_of([&] { while (r.next(rec)) ++got; });
    CHECK(got > 10 && got < 100);
    CHECK(has(m, "record " + std::to_string(got) + " at decompressed byte offset " + std::to_string(152 * got)));
  }
  // corrupted deflate data / checksum
  int errors = 0;
  for (size_t pos : {size_t(30), size_t(500), size_t(1500), gzfile.size() - 6}) {
    std::string b = gzfile;
    b[pos] ^= 0x55;
    dump(tmp("bad.gz"), b);
    std::string m = error_of([&] { all_records(tmp("bad.gz")); });
    if (!m.empty()) ++errors;
    CHECK(m.empty() || has(m, "bad.gz"));
  }
  CHECK(errors == 4);  // deflate error, or the gzip CRC-32 / TFRecord CRC catches it
}

TEST(auto_rule_plain_file_starting_like_zlib) {
  // First record of 0x9c78 bytes: the file starts 78 9c, a valid zlib header,
  // but the record header CRC is valid so "auto" must choose NONE.
  std::string path = tmp("looks_zlib.tfrecord");
  std::string rec(0x9c78, 'z');
  { TFRecordWriter w(path); w.write(rec); w.write("tail"); w.close(); }
  std::string f = slurp(path);
  CHECK((unsigned char)f[0] == 0x78 && (unsigned char)f[1] == 0x9c);
  CHECK(detect_compression(path) == Compression::None);
  CHECK(all_records(path) == (std::vector<std::string>{rec, "tail"}));
}

KN_TEST_MAIN
