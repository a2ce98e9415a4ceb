// libFuzzer harness: Keras HDF5 loading, weights and whole models.
//
// The input bytes are written to a temporary file (libhdf5 reads files), then
//   1. kn::read_keras_h5, the process-isolated reader that R uses (or, with
//      KN_FUZZ_ISOLATED=0, kn::read_keras_h5_in_process) reads it (global-heap
//      guard, attributes, datasets);
//   2. a model_config found in the file is parsed (kn::Json) and built layer by
//      layer through the layer registry (Sequential, or functional models by
//      their inbound_nodes), as load_model_hdf5() does;
//   3. weights are loaded by layer name when every shape matches, and
//   4. a forward pass on a batch of 2 runs when the model is small enough, to
//      catch layers whose buffers disagree with their shapes.
// Every kn::Error (and std::bad_alloc from a legitimately large model) is an
// accepted outcome; anything else - a sanitizer report, a crash, a hang, an
// escaped exception - is a finding.
//
// Build (what `make fuzz` does):
//   clang++-16 -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/core -Isrc/kernels \
//     -Isrc/nn -Isrc/formats tests/fuzz/fuzz_keras_h5.cpp <engine sources> $(pkg-config --cflags --libs hdf5)
// Seeds: tests/fuzz/corpus/keras_h5/ (tiny Keras files).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "graph.h"
#include "json.h"
#include "keras_h5.h"
#include "layer.h"
#include "tensor.h"

namespace {

const std::string& temp_path() {
  static const std::string p = "/tmp/fuzz_keras_h5_" + std::to_string(static_cast<long>(getpid())) + ".h5";
  return p;
}

// Per-sample input shape of an InputLayer config (batch_input_shape / batch_shape).
kn::Shape input_shape(const kn::Json& cfg) {
  kn::Json b = cfg.get("batch_input_shape", cfg.get("batch_shape", kn::Json()));
  if (!b.is_array() || b.size() < 2) throw kn::Error("InputLayer without a shape");
  kn::Shape s;
  for (size_t i = 1; i < b.size(); ++i) s.push_back(b[i].as_int());
  return s;
}

// Default: read through kn::read_keras_h5, the process-isolated reader that
// load_model_hdf5() and load_model_weights_hdf5() use, so a crash or a hang
// inside libhdf5 ends the child and comes back as kn::Error, as it does for R
// users (the "R stays alive" check). KN_FUZZ_ISOLATED=0 reads in-process
// instead (libFuzzer then sees libhdf5's coverage, and its crashes as findings).
bool isolated() {
  static const bool on = !(std::getenv("KN_FUZZ_ISOLATED") && std::string(std::getenv("KN_FUZZ_ISOLATED")) == "0");
  return on;
}

// Builds the graph described by a Keras model_config (subset of r_persistence's builder).
void build(const kn::Json& root, kn::Graph& g, kn::Rng& rng) {
  const std::string cls = root["class_name"].as_string();
  const kn::Json& cfg = root["config"];
  const kn::Json& layers = cfg.is_array() ? cfg : cfg["layers"];
  std::map<std::string, int> node_of;  // layer name -> output node
  int last = -1;
  for (const kn::Json& e : layers.elements()) {
    const std::string lc = e["class_name"].as_string();
    const kn::Json& lcfg = e["config"];
    const std::string name = lcfg.get("name", kn::Json("layer")).as_string();
    if (lc == "InputLayer") {
      last = node_of[name] = g.add_input(input_shape(lcfg), name);
      g.inputs.push_back(last);
      continue;
    }
    kn::LayerPtr l = kn::make_layer(lc, lcfg);
    std::vector<int> in;
    if (cls == "Sequential") {
      if (last < 0) {
        if (!l->has_batch_input_shape) throw kn::Error("no input shape");
        last = g.add_input(l->batch_input_shape, l->name + "_input");
        g.inputs.push_back(last);
      }
      in = {last};
    } else {
      const kn::Json inbound = e.get("inbound_nodes", kn::Json::array());
      if (inbound.size() == 0) throw kn::Error("layer without inbound nodes");
      for (const kn::Json& t : inbound[0].elements()) {
        auto it = node_of.find(t[0].as_string());
        if (it == node_of.end()) throw kn::Error("unknown inbound layer");
        in.push_back(it->second);
      }
    }
    last = node_of[l->name] = g.add(l, in, rng);
  }
  if (last < 0 || g.inputs.empty()) throw kn::Error("empty model");
  g.outputs = {last};
}

// Copies the file's weights into layers of the same name when all shapes match.
void load_weights(const kn::KerasH5& f, kn::Graph& g) {
  std::map<std::string, kn::Layer*> by_name;
  for (const kn::LayerPtr& l : g.layers()) by_name[l->name] = l.get();
  for (const kn::H5Layer& hl : f.layers) {
    auto it = by_name.find(hl.name);
    if (it == by_name.end() || it->second->params.size() != hl.weights.size()) continue;
    bool ok = true;
    for (size_t k = 0; k < hl.weights.size(); ++k)
      ok = ok && it->second->params[k].value.shape == hl.weights[k].shape;
    if (!ok) continue;
    for (size_t k = 0; k < hl.weights.size(); ++k) it->second->params[k].value.data = hl.weights[k].data;
  }
}

void run(const kn::KerasH5& f) {
  if (f.model_config.empty()) return;
  kn::Json cfg = kn::Json::parse(f.model_config);
  kn::Graph g;
  kn::Rng rng(1);
  build(cfg, g, rng);
  load_weights(f, g);
  // Forward on 2 samples when every activation and the parameters are small.
  int64_t total = g.count_params();
  for (const kn::Node& n : g.nodes) total += 2 * kn::shape_numel(n.shape);
  if (total > (int64_t(1) << 22)) return;
  std::vector<kn::Tensor> xs;
  for (int id : g.inputs) {
    kn::Shape s = g.nodes[id].shape;
    s.insert(s.begin(), 2);
    xs.emplace_back(s);
    for (float& v : xs.back().data) v = 0.5f;
  }
  std::vector<const kn::Tensor*> xp;
  for (const kn::Tensor& x : xs) xp.push_back(&x);
  g.forward(xp, false, 0);
}

}  // namespace

// A child that libhdf5 keeps looping is killed after 0.5 s (users: 60 s), so
// it becomes an error before libFuzzer's 1 s per-input limit.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("KERASNATIVE_H5_TIMEOUT", "0.5", 0);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = temp_path();
  std::FILE* out = std::fopen(path.c_str(), "wb");
  if (!out) return 0;
  std::fwrite(data, 1, size, out);
  std::fclose(out);
  try {
    kn::KerasH5 f = isolated() ? kn::read_keras_h5(path) : kn::read_keras_h5_in_process(path);
    run(f);
  } catch (const kn::Error&) {
  } catch (const std::bad_alloc&) {
  }
  return 0;
}
