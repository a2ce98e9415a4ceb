// A model: a static DAG of nodes built from symbolic tensors. A node is a
// model input, a Keras layer application, or an op of the op table (src/ops:
// k_* functions, tensor arithmetic, lambda layers, traced losses and metrics).
// A Sequential model is a chain. Buffers (values and gradients) are planned
// once per batch shape and reused.
//
// Shapes: a node's value is (n, shape...) when `batched` (dim 0 is the batch),
// else `shape` itself (e.g. a constant, or a loss reduced over the batch).
// Input nodes and op nodes may have unknown dimensions (-1) beyond the batch
// (layer_input(shape = list(NULL, 8))); buffers are planned per actual input
// shapes, op shapes coming from the op's inference on the concrete shapes.
// Layers need known per-sample input shapes.
//
// Several outputs: a layer node whose layer reports extra_output_shapes()
// (e.g. LSTM(return_state = TRUE) -> [output, h, c]) keeps output 0 as its
// own value and outputs 1..k-1 in per-node side buffers (`extra_shapes`).
// add_output(node, i) appends an output-selection node (`output_index` = i,
// inputs = {node}) whose value is a copy of output i; other nodes consume it
// like any node, and its gradient flows back into output i of the producer.
// Output 0 is the producer node itself (add_output(node, 0) returns node).
// In Keras configs a selection node is the reference [layer, node, i].
//
// Masks (Keras's _keras_mask): `mask_from` is the node whose mask buffer this
// node's value carries (-1: none; the node itself when its layer computes a
// mask, e.g. Embedding(mask_zero = TRUE) or Masking; an upstream node when the
// layer passes its input's mask on, e.g. Dense). Masks are (n, shape[:-1])
// 0/1 tensors, fixed at add() time (Layer::output_mask) and computed in
// forward; layers receive their inputs' masks in RunContext::masks. Op nodes
// and output-selection nodes carry no mask.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "layer.h"
#include "op.h"

namespace kn {

// Model: part of the network (predict runs it). Target: a y_true placeholder
// fed by fit()/evaluate(). Loss: an op traced from a loss or metric function
// (runs only when targets are fed; never saved with the model config).
enum class NodeRole { Model, Target, Loss };

struct Node {
  LayerPtr layer;            // set for a layer application
  OpCode op = OpCode::Count; // set (not Count) for an op node
  std::shared_ptr<OpAttrs> attrs;  // op nodes: attributes, canonicalised at add time
  DType dtype = DType::Float32;
  bool batched = true;       // the value's dim 0 is the batch
  NodeRole role = NodeRole::Model;
  std::vector<int> inputs;   // node ids
  Shape shape;               // per-sample shape (batched) or full shape; -1 = unknown
  std::string input_name;    // input nodes: InputLayer name
  std::string scope;         // op nodes: what traced them ("lambda_1", "loss", a metric name)
  int64_t fixed_batch = -1;  // input nodes: batch size from batch_shape, -1 = None
  std::vector<Shape> extra_shapes;  // layer nodes: per-sample shapes of outputs 1..k-1 (empty: one output)
  int output_index = 0;      // > 0: output-selection node, value = output `output_index` of inputs[0]
  int mask_from = -1;        // node whose mask this value carries (-1: no mask)

  bool is_op() const { return op != OpCode::Count; }
  bool is_output_select() const { return output_index > 0; }
  bool is_input() const { return !layer && !is_op() && !is_output_select(); }
};

class Graph {
 public:
  // Symbolic construction. Returns node ids. `add` builds the layer (shape
  // inference); on error nothing is added and kn::Error names the layer.
  int add_input(const Shape& shape, const std::string& name, int64_t fixed_batch = -1);
  int add(const LayerPtr& layer, const std::vector<int>& inputs, Rng& rng);
  // An op node; inference through the op table (errors name the op and scope).
  int add_op(OpCode op, const OpAttrs& attrs, const std::vector<int>& inputs, const std::string& scope,
             NodeRole role = NodeRole::Model);
  // Output `index` of layer node `node` (0: `node` itself; see the header comment).
  int add_output(int node, int index);
  // A y_true placeholder of per-sample rank `rank` (all dimensions unknown).
  int add_target(size_t rank, const std::string& name);
  // Drop every Target and Loss node (before tracing new losses in compile()).
  void remove_loss_nodes();
  bool has_model_ops() const;

  std::vector<Node> nodes;
  std::vector<int> inputs;    // input node ids, in model input order
  std::vector<int> outputs;   // output node ids, in model output order

  // Distinct layers in first-use order (Keras's model.layers, without inputs).
  std::vector<LayerPtr> layers() const;
  int64_t count_params(bool trainable_only = false) const;
  // Name of a node for messages: layer name, input name or "<scope>/<op>".
  std::string node_name(int id) const;

  // ---- execution ----
  // Forward pass; `x[i]` has shape (n, inputs[i] shape...). `targets` (may be
  // empty: then Target/Loss nodes are skipped) feed the add_target() nodes in
  // id order. Values stay in value(node) until the next forward.
  void forward(const std::vector<const Tensor*>& x, bool training, uint64_t step_key,
               const std::vector<const Tensor*>& targets = {});
  // Backward from output gradients (one per output, shape of the output),
  // after forward(). Parameter grads are zeroed first, then accumulated.
  void backward(const std::vector<const Tensor*>& doutputs, bool training, uint64_t step_key);
  // Backward from gradients of any nodes (seeds: node id, gradient of its value).
  void backward_from(const std::vector<std::pair<int, const Tensor*>>& seeds, bool training, uint64_t step_key);
  // Called by backward_from() after each layer node's backward (data-parallel
  // training starts averaging gradients that are complete); null = none.
  std::function<void(int node)> on_node_backward;

  const Tensor& value(int node) const { return values_[node]; }
  // Sum of the activity regularizers' penalties on the outputs of the last
  // forward() (backward_from() adds their gradients).
  double activity_penalty() const;
  // The mask carried by `node`'s value after forward(), or null.
  const Tensor* mask(int node) const {
    int m = nodes.at(node).mask_from;
    return m < 0 ? nullptr : &masks_[m];
  }
  bool needs_grad(int node) const { return node < static_cast<int>(needs_grad_.size()) && needs_grad_[node]; }
  // Gradient buffer of `node` after backward_from() (k_gradients on model tensors).
  const Tensor& grad(int node) const { return grads_.at(node); }
  // When true, float input nodes need gradients too (so backward_from() fills
  // grad() of inputs and of everything computed from them); set it, then
  // invalidate().
  bool input_grads = false;
  // Forget the buffer plan (after freezing/unfreezing layers).
  void invalidate() { planned_n_ = -1; }
  int64_t planned_batch() const { return planned_n_; }
  std::vector<int> targets() const;

 private:
  int64_t planned_n_ = -1;
  std::vector<Shape> planned_inputs_;  // input shapes (n, ...) of the plan (inputs may have unknown dims)
  std::vector<Shape> planned_targets_;
  bool planned_with_targets_ = false;
  std::vector<Tensor> values_;
  std::vector<Tensor> grads_;
  std::vector<Scratch> scratch_;
  std::vector<Tensor> masks_;                        // per node computing a mask: (n, shape[:-1])
  std::vector<std::vector<Tensor>> extra_values_;  // per node: outputs 1..k-1 (n, extra_shapes[i]...)
  std::vector<std::vector<Tensor>> extra_grads_;   // same shapes
  std::vector<bool> needs_grad_;
  std::vector<bool> active_;   // computed in the current plan (loss nodes only with targets)
  void plan(const std::vector<const Tensor*>& x, const std::vector<const Tensor*>& targets);
  void set_masks(const Node& nd, RunContext& ctx) const;  // ctx.masks from the inputs' masks
};

}  // namespace kn
