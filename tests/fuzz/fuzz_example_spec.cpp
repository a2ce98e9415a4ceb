// Parsing records against a feature spec as the input pipeline does
// (src/data: the parse_example op of a map graph, then decode_raw, cast,
// reshape and one_hot on what was parsed). The graphs are the ones
// dataset_map(parse_single_example(...)) builds from R.
#include <string>
#include <vector>

#include "dataset.h"
#include "fuzz_util.h"

namespace {

const char* kGraphs[] = {
    // MNIST as in the TFX file: 784 floats reshaped to 28 x 28 x 1, class one-hot
    R"({"inputs": [{"dtype": "string", "shape": []}], "nodes": [
      {"op": "parse_example", "inputs": [0], "n_out": 2, "attrs": {"features": [
        {"key": "image_floats", "dtype": "float32", "shape": [784]},
        {"key": "image_class", "dtype": "int64", "shape": [1]}]}},
      {"op": "reshape", "inputs": [1], "attrs": {"shape": [28, 28, 1]}},
      {"op": "cast", "inputs": [2], "attrs": {"dtype": "int32"}},
      {"op": "one_hot", "inputs": [4], "attrs": {"depth": 10}}],
      "outputs": [3, 5]})",
    // raw bytes decoded as uint8 and float32, varlen and defaulted features
    R"({"inputs": [{"dtype": "string", "shape": []}], "nodes": [
      {"op": "parse_example", "inputs": [0], "n_out": 4, "attrs": {"features": [
        {"key": "a", "dtype": "string", "shape": []},
        {"key": "b", "dtype": "float32", "shape": [2], "default": [0.5, 1.5]},
        {"key": "c", "dtype": "int64", "varlen": true},
        {"key": "d", "dtype": "string", "varlen": true}]}},
      {"op": "decode_raw", "inputs": [1], "attrs": {"dtype": "uint8"}},
      {"op": "decode_raw", "inputs": [1], "attrs": {"dtype": "float32", "little_endian": false}},
      {"op": "constant", "value": 2},
      {"op": "mul", "inputs": [2, 7]}],
      "outputs": [5, 6, 8, 3, 4]})",
    // the TF tutorial layout (tfrecord_lite_test.tfrecord)
    R"({"inputs": [{"dtype": "string", "shape": []}], "nodes": [
      {"op": "parse_example", "inputs": [0], "n_out": 4, "attrs": {"features": [
        {"key": "feature0", "dtype": "int64", "shape": []},
        {"key": "feature1", "dtype": "int64", "shape": [], "default": 0},
        {"key": "feature2", "dtype": "string", "shape": [], "default": ""},
        {"key": "feature3", "dtype": "float32", "shape": [], "default": 0}]}},
      {"op": "one_hot", "inputs": [2], "attrs": {"depth": 5}}],
      "outputs": [1, 5, 3, 4]})",
};

struct Graphs {
  std::vector<std::shared_ptr<kn::MapGraph>> g;
  std::vector<std::unique_ptr<kn::GraphExecutor>> ex;
  Graphs() {
    for (const char* j : kGraphs) {
      g.push_back(kn::MapGraph::from_json(kn::Json::parse(j)));
      ex.push_back(std::make_unique<kn::GraphExecutor>(*g.back()));
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Graphs graphs;
  for (size_t k = 0; k < graphs.ex.size(); ++k) {
    kn::Element el;
    kn::Value rec;
    rec.dtype = kn::DType::String;
    rec.s.assign(1, std::string(reinterpret_cast<const char*>(data), size));
    el.comps.push_back(std::move(rec));
    try {
      graphs.ex[k]->run(el);
      FUZZ_ASSERT(el.comps.size() == graphs.g[k]->outputs.size());
      for (const kn::Value& v : el.comps) FUZZ_ASSERT(static_cast<int64_t>(v.stored()) == v.numel());
    } catch (const kn::Error&) {
    }
  }
  return 0;
}
