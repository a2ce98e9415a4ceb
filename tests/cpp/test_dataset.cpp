// Build (from the package root): make build/cpp/test_dataset   (links all engine/format objects:
//   g++ -std=c++17 -O2 -Wall -Isrc/core -Isrc/kernels -Isrc/nn -Isrc/data -Isrc/formats -Isrc/formats/proto -Ibuild/cpp/proto tests/cpp/test_dataset.cpp build/cpp/obj/*/*.o build/cpp/obj/example.pb.o $(pkg-config --libs protobuf hdf5 zlib) -pthread -o build/cpp/test_dataset)
// Run: build/cpp/test_dataset [name-filter]
// Expected values are written out by hand or follow from the construction of the inputs.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "dataset.h"
#include "example.h"
#include "harness.h"
#include "parallel.h"
#include "tfrecord.h"

using namespace kn;

static std::shared_ptr<SliceData> ints(int64_t n) {  // one int32 component 0..n-1
  auto d = std::make_shared<SliceData>(1);
  (*d)[0].dtype = DType::Int32;
  (*d)[0].shape = {n};
  for (int64_t i = 0; i < n; ++i) (*d)[0].i.push_back(i);
  return d;
}

static std::vector<int64_t> drain_ints(const DatasetPtr& ds, uint64_t seed) {
  auto it = make_pipeline(ds, seed);
  std::vector<int64_t> out;
  Element e;
  while (it->next(e)) out.insert(out.end(), e.comps[0].i.begin(), e.comps[0].i.end());
  return out;
}

static DatasetPtr build(const std::string& json, std::vector<std::shared_ptr<SliceData>> s) {
  return dataset_from_json(Json::parse(json), s);
}

TEST(slices_take_skip_shard_batch) {
  auto d = ints(10);
  CHECK((drain_ints(build(R"({"op":"take","count":3,"input":{"op":"tensor_slices","data":0}})", {d}), 1) ==
         std::vector<int64_t>{0, 1, 2}));
  CHECK((drain_ints(build(R"({"op":"skip","count":8,"input":{"op":"tensor_slices","data":0}})", {d}), 1) ==
         std::vector<int64_t>{8, 9}));
  CHECK((drain_ints(build(R"({"op":"shard","num_shards":4,"index":1,"input":{"op":"tensor_slices","data":0}})", {d}), 1) ==
         std::vector<int64_t>{1, 5, 9}));
  auto it = make_pipeline(build(R"({"op":"batch","batch_size":4,"input":{"op":"tensor_slices","data":0}})", {d}), 1);
  Element e;
  std::vector<int64_t> sizes;
  while (it->next(e)) sizes.push_back(e.comps[0].shape[0]);
  CHECK((sizes == std::vector<int64_t>{4, 4, 2}));
}

TEST(shuffle_is_deterministic_permutation) {
  auto d = ints(200);
  const char* spec = R"({"op":"shuffle","buffer_size":50,"input":{"op":"map","num_parallel_calls":3,
     "graph":{"inputs":[{"dtype":"int32","shape":[]}],"nodes":[{"op":"constant","attrs":{"dtype":"int32"},"value":[0],"value_shape":[]},
       {"op":"add","inputs":[0,1]}],"outputs":[2]},
     "input":{"op":"tensor_slices","data":0}}})";
  auto ds = build(spec, {d});
  auto a = drain_ints(ds, 7), b = drain_ints(ds, 7), c = drain_ints(ds, 8);
  CHECK(a == b);
  CHECK(a != c);
  auto s = a;
  std::sort(s.begin(), s.end());
  std::vector<int64_t> want(200);
  for (int i = 0; i < 200; ++i) want[i] = i;
  CHECK(s == want);
}

TEST(parallel_map_keeps_order_and_computes) {
  auto d = ints(1000);
  auto ds = build(R"({"op":"map","num_parallel_calls":4,"input":{"op":"tensor_slices","data":0},
     "graph":{"inputs":[{"dtype":"int32","shape":[]}],"nodes":[{"op":"cast","inputs":[0],"attrs":{"dtype":"float32"}},
       {"op":"constant","value":4},{"op":"div","inputs":[1,2]}],"outputs":[3]}})", {d});
  auto it = make_pipeline(ds, 1);
  Element e;
  int64_t k = 0;
  bool ok = true;
  while (it->next(e)) { ok = ok && e.comps[0].dtype == DType::Float32 && e.comps[0].f[0] == k / 4.0f; ++k; }
  CHECK(ok);
  CHECK(k == 1000);
}

static std::string write_file(int n, const char* name) {
  std::string path = std::string("/tmp/kn_test_dataset_") + name + ".tfrecord";
  TFRecordWriter w(path);
  for (int r = 0; r < n; ++r) {
    ExampleMap ex;
    std::string raw(6, '\0');
    for (int j = 0; j < 6; ++j) raw[j] = static_cast<char>(r * 10 + j);  // bytes r*10 .. r*10+5
    ex.push_back({"image_raw", Feature::of_bytes({raw})});
    ex.push_back({"label", Feature::of_ints({r % 3})});
    w.write(encode_example(ex));
  }
  w.close();
  return path;
}

static const char* kMnistLike = R"({"op":"batch","batch_size":2,"input":{"op":"map","num_parallel_calls":2,
  "input":{"op":"tfrecord","files":"FILE","compression":"auto"},
  "graph":{"inputs":[{"dtype":"string","shape":[]}],"nodes":[
    {"op":"parse_example","inputs":[0],"n_out":2,"attrs":{"features":[
       {"key":"image_raw","dtype":"string","shape":[]},{"key":"label","dtype":"int64","shape":[]}]}},
    {"op":"decode_raw","inputs":[1],"attrs":{"dtype":"uint8"}},
    {"op":"cast","inputs":[3],"attrs":{"dtype":"float32"}},
    {"op":"constant","value":2,"value_shape":[]},
    {"op":"div","inputs":[4,5]},
    {"op":"reshape","inputs":[6],"attrs":{"shape":[2,3]}},
    {"op":"cast","inputs":[2],"attrs":{"dtype":"int32"}},
    {"op":"one_hot","inputs":[8],"attrs":{"depth":3}}],
   "outputs":[7,9]}}})";

static std::string spec_for(const std::string& path) {
  std::string s = kMnistLike;
  s.replace(s.find("FILE"), 4, path);
  return s;
}

TEST(tfrecord_parse_decode_batch) {
  std::string path = write_file(5, "ok");
  auto it = make_pipeline(build(spec_for(path), {}), 1);
  Element e;
  CHECK(it->next(e));
  CHECK((e.comps[0].shape == Shape{2, 2, 3}));
  CHECK((e.comps[1].shape == Shape{2, 3}));
  CHECK_NEAR(e.comps[0].f[0], 0.0, 0);     // record 0 byte 0 / 2
  CHECK_NEAR(e.comps[0].f[5], 2.5, 0);     // record 0 byte 5 / 2
  CHECK_NEAR(e.comps[0].f[6], 5.0, 0);     // record 1 byte 0 = 10, / 2
  CHECK((e.comps[1].f == std::vector<float>{1, 0, 0, 0, 1, 0}));  // labels 0, 1
  CHECK(it->next(e));
  CHECK(it->next(e));
  CHECK(e.comps[0].shape[0] == 1);  // 5 records -> 2 + 2 + 1
  CHECK((e.comps[1].f == std::vector<float>{0, 1, 0}));  // label of record 4 = 1
  CHECK(!it->next(e));
}

TEST(worker_errors_reach_the_consumer_with_origin) {
  std::string path = write_file(5, "bad");
  std::FILE* f = std::fopen(path.c_str(), "r+b");
  std::fseek(f, 0, SEEK_END);
  long size = std::ftell(f);
  long rec = size / 5;                   // equal-sized records
  std::fseek(f, 3 * rec + 14, SEEK_SET);  // a data byte of record 3
  int c = std::fgetc(f);
  std::fseek(f, 3 * rec + 14, SEEK_SET);
  std::fputc(c ^ 0x40, f);
  std::fclose(f);
  auto it = make_pipeline(build(spec_for(path), {}), 1);
  Element e;
  CHECK(it->next(e));  // records 0, 1
  const std::string want = "record 3 at byte offset " + std::to_string(3 * rec);
  CHECK_THROWS(it->next(e), want.c_str());
  // a missing feature names the record
  std::string good = write_file(2, "ok2");
  std::string spec = spec_for(good);
  spec.replace(spec.find("\"label\""), 7, "\"lbl\"");
  auto it2 = make_pipeline(build(spec, {}), 1);
  CHECK_THROWS(it2->next(e), "record 0 at byte offset 0: tf.train.Example: required feature 'lbl' is missing");
}

TEST(interleave_and_repeat) {
  std::string a = write_file(2, "ia"), b = write_file(3, "ib");
  std::string spec = R"({"op":"interleave","cycle_length":2,"block_length":1,
    "input":{"op":"strings","values":[")" + a + "\",\"" + b + R"("]},
    "inner":{"op":"tfrecord","file_arg":0,"compression":"auto"}})";
  auto it = make_pipeline(build(spec, {}), 1);
  Element e;
  std::vector<std::string> order;
  while (it->next(e)) order.push_back(*e.origin.file + "#" + std::to_string(e.origin.index));
  std::vector<std::string> want = {a + "#0", b + "#0", a + "#1", b + "#1", b + "#2"};
  CHECK(order == want);
  auto d = ints(3);
  CHECK((drain_ints(build(R"({"op":"repeat","count":2,"input":{"op":"tensor_slices","data":0}})", {d}), 1) ==
         std::vector<int64_t>{0, 1, 2, 0, 1, 2}));
}

// The parallel map's worker count follows the engine's thread setting
// (kn_threads() in R): AUTOTUNE uses it, explicit counts are capped by it, and
// with one thread the map runs on the consumer's thread (no workers at all).
TEST(map_workers_follow_num_threads) {
  auto d = ints(300);
  auto spec = [](const char* npc) {
    return std::string(R"({"op":"map","num_parallel_calls":)") + npc + R"(,"input":{"op":"tensor_slices","data":0},
      "graph":{"inputs":[{"dtype":"int32","shape":[]}],"nodes":[{"op":"constant","attrs":{"dtype":"int32"},"value":3},
        {"op":"mul","inputs":[0,1]}],"outputs":[2]}})";
  };
  auto autotune = build(spec("-1"), {d}), four = build(spec("4"), {d}), one = build(spec("1"), {d});
  std::vector<int64_t> want(300);
  for (int i = 0; i < 300; ++i) want[i] = 3 * i;
  const int saved = num_threads();
  struct Case { int threads; const DatasetPtr* ds; int workers; };
  const Case cases[] = {{1, &autotune, 0}, {1, &four, 0}, {3, &autotune, 3}, {3, &four, 3},
                        {5, &four, 4}, {2, &autotune, 2}, {5, &one, 0}};
  for (const Case& c : cases) {
    set_num_threads(c.threads);
    CHECK(dataset_live_map_workers() == 0);
    {
      auto it = make_pipeline(*c.ds, 1);  // threads resolved now, not when the node was built
      if (dataset_live_map_workers() != c.workers)
        std::printf("  kn_threads %d: %d workers, want %d\n", c.threads, dataset_live_map_workers(), c.workers);
      CHECK(dataset_live_map_workers() == c.workers);
      std::vector<int64_t> got;
      Element e;
      while (it->next(e)) got.insert(got.end(), e.comps[0].i.begin(), e.comps[0].i.end());
      CHECK(got == want);
    }
    CHECK(dataset_live_map_workers() == 0);  // joined with the iterator
  }
  CHECK(dataset_map_threads(-1) == num_threads());
  set_num_threads(saved);
}

KN_TEST_MAIN
