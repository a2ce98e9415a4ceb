// Building a model from a Keras config (the engine side of model_from_json()
// and load_model_hdf5()'s model_config): Json::parse, then each layer entry
// through the layer registry (make_layer: every layer's config parsing) and
// Graph::add (shape inference, weight allocation) as a Sequential chain, then
// one forward pass on a batch of 2. Bad configs must give kn::Error.
//
// Memory: a config may legitimately ask for a model larger than the fuzzer's
// 2 GB limit (Dense(60000) after a 60000-wide input). Such allocations throw
// std::bad_alloc here (the operator new below), which is what R reports too;
// only crashes, sanitizer reports and allocations the config did not ask for
// (sizes wrapped around) are findings.
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "graph.h"
#include "json.h"
#include "layer.h"

// Every non-aligned form, so that allocation and release always pair up
// (malloc/free underneath, still checked by AddressSanitizer).
namespace {
void* fuzz_alloc(size_t n) {
  if (n > (size_t(1) << 29)) return nullptr;
  return std::malloc(n ? n : 1);
}
}  // namespace
void* operator new(size_t n) {
  if (void* p = fuzz_alloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept { return fuzz_alloc(n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return fuzz_alloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

void build(const kn::Json& root_in) {
  const kn::Json* root = &root_in;
  if (root->is_object() && root->has("config")) root = &(*root)["config"];
  const kn::Json& layers = root->is_array() ? *root : (*root)["layers"];
  kn::Graph g;
  kn::Rng rng(1);
  int last = -1;
  kn::Shape in_shape;
  for (size_t i = 0; i < layers.size() && i < 16; ++i) {
    const kn::Json& e = layers[i];
    const std::string cls = e["class_name"].as_string();
    const kn::Json& cfg = e["config"];
    if (cls == "InputLayer") {
      if (last >= 0) return;
      const kn::Json b = cfg.get("batch_input_shape", kn::Json());
      if (!b.is_array() || b.size() < 2) return;
      for (size_t k = 1; k < b.size(); ++k) in_shape.push_back(b[k].as_int());
      last = g.add_input(in_shape, "input");
      continue;
    }
    kn::LayerPtr l = kn::make_layer(cls, cfg);
    if (last < 0) {
      if (!l->has_batch_input_shape) return;
      in_shape = l->batch_input_shape;
      last = g.add_input(in_shape, l->name + "_input");
    }
    last = g.add(l, {last}, rng);
  }
  if (last < 0) return;
  g.inputs = {0};
  g.outputs = {last};
  // forward on 2 samples when the input is small enough to run in time
  int64_t per = 1;
  for (int64_t d : in_shape) {
    if (d <= 0 || d > 4096) return;
    per *= d;
    if (per > 4096) return;
  }
  if (g.count_params() > 2000000) return;
  kn::Shape xs = in_shape;
  xs.insert(xs.begin(), 2);
  kn::Tensor x(xs);  // (2, input shape...)
  for (int64_t i = 0; i < x.size(); ++i) x.data[i] = static_cast<float>(i % 7) - 3.0f;
  g.forward({&x}, false, 1);
  const kn::Tensor& y = g.value(last);
  FUZZ_ASSERT(!y.shape.empty() && y.shape[0] == 2);
  FUZZ_ASSERT(static_cast<int64_t>(y.data.size()) == kn::shape_numel(y.shape));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kn::Json j;
  try {
    j = kn::Json::parse(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const kn::Error&) {
    return 0;
  }
  try {
    build(j);
  } catch (const kn::Error&) {
  } catch (const std::bad_alloc&) {
  }
  return 0;
}
