// A layer whose computation is a traced sub-graph of ops from the op table
// (src/ops): keras R's R6 custom layers (KerasLayer + create_layer()) and
// layer_lambda(). The layer owns its weights (Params, so get/set_weights,
// HDF5 weight groups, freezing, count_params and the optimizer see them like
// any layer's) and a list of ops whose inputs are the layer's inputs, its
// weights or earlier ops; forward runs the ops in order, backward in reverse.
//
// The ops are traced by `tracer` (the R glue calls the R call() function on
// symbolic tensors) on the first build(), when the input shapes are known.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "layer.h"
#include "op.h"

namespace kn {

// One traced op. `inputs` refer to the layer's inputs (0 .. n_in-1), then its
// weights (n_in .. n_in+n_params-1), then earlier ops (n_in+n_params+k).
struct TracedOp {
  OpCode op = OpCode::Count;
  OpAttrs attrs;
  std::vector<int> inputs;
  DType dtype = DType::Float32;  // output dtype (from inference)
  bool needs_grad = false;       // differentiable and fed by something with a gradient
};

// A weight declared by add_weight() during tracing.
struct WeightSpec {
  std::string name;
  Shape shape;
  Json initializer;  // a name ("glorot_uniform") or a Keras initializer config
  bool trainable = true;
};

// What a tracer returns: the weights (in add_weight() order) and the ops as
// JSON: [{"op": name, "attrs": {...}, "inputs": [refs], "value": [...],
// "value_shape": [...]}], refs numbered as in TracedOp with weights in
// params order (trainable ones first, as Keras orders layer.weights).
struct TraceResult {
  std::vector<WeightSpec> weights;
  Json ops;
};

class CustomLayer : public Layer {
 public:
  // `class_name`: the Keras class ("Lambda" or the R6 class name); `extra`:
  // config entries after the base ones (constructor arguments, Lambda's
  // function/arguments/output_shape).
  CustomLayer(std::string class_name, Json extra) : class_(std::move(class_name)), extra_(std::move(extra)) {}

  using Tracer = std::function<TraceResult(const std::vector<Shape>& inputs)>;
  Tracer tracer;

  std::string class_name() const override { return class_; }
  int n_inputs() const override { return -1; }  // checked against the first build
  Shape build(const std::vector<Shape>& inputs, Rng& rng) override;
  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override;
  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor& out,
                const Tensor& dout, const std::vector<Tensor*>& din) override;
  Json config() const override;

  // Creates the weights (initialised with `rng`) and checks and keeps the
  // ops (inference on the traced shapes); returns the per-sample output
  // shape. Throws kn::Error naming the layer and the op; the layer is then
  // left unbuilt. Public for tests (build() calls it with the tracer's result).
  Shape set_trace(const std::vector<Shape>& inputs, const TraceResult& t, Rng& rng);
  const std::vector<TracedOp>& ops() const { return ops_; }

 private:
  std::string class_;
  Json extra_;
  std::vector<Shape> in_shapes_;  // per-sample input shapes of the first build
  Shape out_shape_;
  std::vector<TracedOp> ops_;
  // Sizes the per-op buffers of `s` for these inputs (once per batch size).
  void plan(Scratch& s, const std::vector<const Tensor*>& in);
};

}  // namespace kn
