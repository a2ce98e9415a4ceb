// A Keras layer: parameters plus forward and backward. Layers are applied to
// nodes of a Graph; one layer may be applied several times (shared weights),
// so per-application scratch state lives in the node (`Scratch`), not here.
#pragma once
#include <map>
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "constraints.h"
#include "json.h"
#include "regularizers.h"
#include "rng.h"
#include "tensor.h"

namespace kn {

struct Param {
  std::string name;   // Keras weight name without layer prefix: "kernel", "bias", "moving_mean"
  Tensor value;       // shape as in Keras weight files, e.g. kernel (in, out), conv (kh, kw, in, out)
  Tensor grad;        // same shape; accumulated by backward()
  bool trainable = true;  // false for e.g. BatchNormalization moving statistics
};

// Per-node buffers an op keeps between its forward and backward (masks, argmax
// indices, im2col columns...). Sized on first use for a batch shape, reused after.
struct Scratch {
  std::vector<Tensor> t;
  std::vector<int32_t> idx;
  std::vector<Scratch> sub;  // wrapper layers: one per inner layer
  Tensor& at(size_t i) { if (t.size() <= i) t.resize(i + 1); return t[i]; }
};

struct RunContext {
  bool training = false;   // dropout / batch-norm behaviour
  uint64_t step_key = 0;   // fresh random key for this step (dropout masks)
  Scratch* scratch = nullptr;  // this node's scratch
  // Keras masks of the inputs (see Layer::compute_mask): masks[i] is input i's
  // mask or nullptr; empty when no input has one.
  std::vector<const Tensor*> masks;
  const Tensor* mask(size_t i) const { return i < masks.size() ? masks[i] : nullptr; }
};

class Layer {
 public:
  virtual ~Layer() = default;
  virtual std::string class_name() const = 0;

  std::string name;
  bool trainable = true;

  // Per-sample input shapes (no batch dim). Validates (throws kn::Error naming
  // the layer, expected and got), creates parameters on first call (`rng` for
  // initializers) and returns the per-sample output shape. Called once per
  // application (node); later calls must accept compatible shapes.
  virtual Shape build(const std::vector<Shape>& inputs, Rng& rng) = 0;

  // inputs/outputs carry the batch as dim 0. `out` is pre-sized by the graph.
  virtual void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) = 0;

  // Adds dL/d(input i) into *din[i] (din[i] may be null: no gradient wanted) and
  // adds parameter gradients into params[k].grad. `out` is forward's output.
  virtual void backward(const RunContext& ctx, const std::vector<const Tensor*>& in,
                        const Tensor& out, const Tensor& dout,
                        const std::vector<Tensor*>& din) = 0;

  // Keras get_config() (without class_name); includes "name" and "trainable".
  virtual Json config() const = 0;

  // Number of inputs the layer takes (-1 = any number >= 1, e.g. merge layers).
  virtual int n_inputs() const { return 1; }

  // Keras masks. A node may carry a mask: a 0/1 tensor over its value's
  // leading dims, (n, shape[:-1]) (e.g. (n, T) for a (n, T, F) sequence).
  // supports_masking(): the layer accepts masked inputs (Keras's
  // supports_masking); the graph rejects a masked input otherwise, as Keras.
  // output_mask(): where the output's mask comes from, given which inputs
  // are masked: none, input 0's mask unchanged (the default for layers that
  // support masking), or computed by compute_mask() after forward() (`mask`
  // pre-sized to (n, output shape[:-1]); in_masks[i] null when unmasked).
  enum class MaskOut { None, Input0, Computed };
  virtual bool supports_masking() const { return false; }
  virtual MaskOut output_mask(const std::vector<bool>& in_masked) const {
    return supports_masking() && !in_masked.empty() && in_masked[0] ? MaskOut::Input0 : MaskOut::None;
  }
  virtual void compute_mask(const std::vector<const Tensor*>& /*in*/, const std::vector<const Tensor*>& /*in_masks*/,
                            Tensor& /*mask*/) const {}

  // Layers with several outputs (an RNN with return_state: [output, h(, c)]).
  // Output 0 is the `out` of forward()/backward() above; outputs 1..k-1 have
  // the per-sample shapes returned here (asked right after build() with the
  // same input shapes; empty = one output). Such layers override the *_multi
  // pair; the graph calls it with outs = {output 0, output 1, ...} (pre-sized)
  // and douts of the same shapes (zero where an output is unused).
  virtual std::vector<Shape> extra_output_shapes(const std::vector<Shape>&) const { return {}; }
  virtual void forward_multi(const RunContext& ctx, const std::vector<const Tensor*>& in,
                             const std::vector<Tensor*>& outs) {
    forward(ctx, in, *outs[0]);
  }
  virtual void backward_multi(const RunContext& ctx, const std::vector<const Tensor*>& in,
                              const std::vector<const Tensor*>& outs, const std::vector<const Tensor*>& douts,
                              const std::vector<Tensor*>& din) {
    backward(ctx, in, *outs[0], *douts[0], din);
  }

  // Stateful layers (recurrent layers with stateful = TRUE): reset_states()
  // forgets the carried states; needs_fixed_batch(): the graph requires the
  // layer's input to come from inputs with a fixed batch size (Keras).
  virtual void reset_states() {}
  virtual bool needs_fixed_batch() const { return false; }

  std::vector<Param> params;
  bool built() const { return built_; }

 protected:
  bool built_ = false;
  // Base config entries: name, trainable (and batch_input_shape when set).
  Json base_config() const;
 public:
  // Regularizers and constraints of weights, by weight name ("kernel", "bias",
  // "recurrent_kernel", ...), and the activity regularizer (on the output),
  // read from the config's "<w>_regularizer" / "<w>_constraint" entries.
  std::map<std::string, std::shared_ptr<const Regularizer>> weight_regularizers;
  std::map<std::string, std::shared_ptr<const Constraint>> weight_constraints;
  std::shared_ptr<const Regularizer> activity_regularizer;
  Json rule_config = Json::object();  // those entries as configured (layer_config() echoes them)
  Shape batch_input_shape;  // per-sample input shape given by input_shape= (empty if none)
  bool has_batch_input_shape = false;
  int64_t fixed_batch_size = -1;  // batch_input_shape's batch dim, -1 = None
};

using LayerPtr = std::shared_ptr<Layer>;

// Keras's merge-layer mask: 1 where every masked input's mask is 1 (inputs
// without a mask count as all ones). All masks have mask's shape.
inline Layer::MaskOut merged_mask_out(const std::vector<bool>& in_masked) {
  for (bool m : in_masked)
    if (m) return Layer::MaskOut::Computed;
  return Layer::MaskOut::None;
}
inline void and_masks(const std::vector<const Tensor*>& in_masks, Tensor& mask) {
  std::fill(mask.data.begin(), mask.data.end(), 1.0f);
  for (const Tensor* m : in_masks)
    if (m)
      for (int64_t i = 0; i < mask.size(); ++i)
        if (m->data[i] == 0.0f) mask.data[i] = 0.0f;
}

// Reads the entries every Keras layer config has ("name", "trainable",
// "batch_input_shape") into `layer`. Factories call it first.
void apply_base_config(Layer& layer, const Json& config);
// config() with the regularizer / constraint entries the layer was given.
Json layer_config(const Layer& layer);
// After build(): every weight regularizer / constraint names an existing weight
// (else kn::Error naming the layer, the argument and its weights).
void check_weight_rules(const Layer& layer);
// Sum of the layer's weight penalties; with `grads`, their gradients are added
// into the trainable weights' .grad. apply_constraints() projects the trainable
// weights after an update.
double weight_penalty(Layer& layer, bool grads);
void apply_constraints(Layer& layer);
// Helpers for factories: an int or [a, b] list -> vector of `n` ints.
std::vector<int64_t> config_ints(const Json& config, const std::string& key, size_t n);
// A size entry ("units", "filters", ...): a whole number in [1, 2^36], else
// an error naming the layer, the key and the value found.
int64_t config_count(const Json& config, const std::string& key, const Layer& layer);
// Lower-cased string entry ("same"/"SAME" -> "same"); fallback when missing/null.
std::string config_lower(const Json& config, const std::string& key, const std::string& fallback);
// Json array from ints.
Json json_ints(const std::vector<int64_t>& v);

// Registry: Keras class name -> factory from a Keras config. Each layer's .cpp
// file registers itself with KN_REGISTER_LAYER. Unknown names throw kn::Error.
using LayerFactory = LayerPtr (*)(const Json& config);
void register_layer(const std::string& class_name, LayerFactory f);
LayerPtr make_layer(const std::string& class_name, const Json& config);
std::vector<std::string> registered_layers();

struct LayerRegistrar {
  LayerRegistrar(const char* name, LayerFactory f) { register_layer(name, f); }
};
#define KN_REGISTER_LAYER(CLASS, FACTORY) \
  static ::kn::LayerRegistrar kn_registrar_##CLASS(#CLASS, FACTORY)

}  // namespace kn
