// A model: a static DAG of layer applications (nodes) built from symbolic
// tensors. Node 0..k are inputs. A Sequential model is a chain. Buffers
// (values and gradients) are planned once per batch size and reused.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "layer.h"

namespace kn {

struct Node {
  LayerPtr layer;            // null for an input node
  std::vector<int> inputs;   // node ids
  Shape shape;               // per-sample output shape
  std::string input_name;    // for input nodes: InputLayer name
  int64_t fixed_batch = -1;  // input nodes: batch size from batch_shape, -1 = None
};

class Graph {
 public:
  // Symbolic construction. Returns node ids. `add` builds the layer (shape
  // inference); on error nothing is added and kn::Error names the layer.
  int add_input(const Shape& shape, const std::string& name, int64_t fixed_batch = -1);
  int add(const LayerPtr& layer, const std::vector<int>& inputs, Rng& rng);

  std::vector<Node> nodes;
  std::vector<int> inputs;    // input node ids, in model input order
  std::vector<int> outputs;   // output node ids, in model output order

  // Distinct layers in first-use order (Keras's model.layers, without inputs).
  std::vector<LayerPtr> layers() const;
  int64_t count_params(bool trainable_only = false) const;

  // ---- execution ----
  // Prepare buffers for batch size `n` (no-op when unchanged).
  void plan(int64_t n);
  // Forward pass; `x[i]` has shape (n, inputs[i] shape...). Values stay in
  // value(node) until the next forward.
  void forward(const std::vector<const Tensor*>& x, bool training, uint64_t step_key);
  // Backward from output gradients (one per output, shape of the output),
  // after forward(). Parameter grads are zeroed first, then accumulated.
  void backward(const std::vector<const Tensor*>& doutputs, bool training, uint64_t step_key);

  const Tensor& value(int node) const { return values_[node]; }
  // Forget the buffer plan (after freezing/unfreezing layers).
  void invalidate() { planned_n_ = -1; }
  int64_t planned_batch() const { return planned_n_; }

 private:
  int64_t planned_n_ = -1;
  std::vector<Tensor> values_;
  std::vector<Tensor> grads_;
  std::vector<Scratch> scratch_;
  std::vector<bool> needs_grad_;
};

}  // namespace kn
