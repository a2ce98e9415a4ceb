#include "graph.h"

#include <algorithm>
#include <set>

namespace kn {

int Graph::add_input(const Shape& shape, const std::string& name, int64_t fixed_batch) {
  Shape known;  // -1 = unknown dimension (given at run time)
  for (int64_t d : shape) {
    if (d <= 0 && d != -1)
      throw Error("input '" + name + "': every dimension of the shape must be positive or unknown, got " +
                  shape_str(shape, false));
    known.push_back(d < 0 ? 1 : d);
  }
  checked_numel(known, "input '" + name + "'");  // per-sample size within kMaxNumel
  Node n;
  n.shape = shape;
  n.input_name = name;
  n.fixed_batch = fixed_batch;
  nodes.push_back(std::move(n));
  planned_n_ = -1;
  return static_cast<int>(nodes.size()) - 1;
}

int Graph::add(const LayerPtr& layer, const std::vector<int>& in, Rng& rng) {
  std::vector<Shape> shapes;
  for (int id : in) {
    if (id < 0 || id >= static_cast<int>(nodes.size())) throw Error("invalid input tensor");
    const Node& src = nodes[id];
    if (!src.batched)
      throw Error("layer '" + layer->name + "': its input " + node_name(id) + " has no batch dimension (shape " +
                  shape_str(src.shape, false) + ")");
    for (int64_t d : src.shape)
      if (d < 0)
        throw Error("layer '" + layer->name + "': its input " + node_name(id) + " has unknown dimensions " +
                    shape_str(src.shape) + "; layers need known per-sample shapes");
    if (src.role != NodeRole::Model) throw Error("layer '" + layer->name + "' cannot be applied to a loss tensor");
    shapes.push_back(src.shape);
  }
  std::vector<bool> in_masked;
  for (int id : in) in_masked.push_back(nodes[id].mask_from >= 0);
  for (size_t k = 0; k < in.size(); ++k)
    if (in_masked[k] && !layer->supports_masking())
      throw Error("layer '" + layer->name + "' (" + layer->class_name() + ") does not support masking, but was passed "
                  "an input mask (from " + node_name(nodes[in[k]].mask_from) + ")");
  if (layer->n_inputs() >= 0 && static_cast<int>(in.size()) != layer->n_inputs())
    throw Error("layer '" + layer->name + "' expects " + std::to_string(layer->n_inputs()) +
                " input(s) but was given " + std::to_string(in.size()));
  if (layer->needs_fixed_batch()) {  // Keras: a stateful RNN needs its batch size (batch_input_shape)
    std::vector<int> todo(in.begin(), in.end());
    std::vector<bool> seen(nodes.size(), false);
    while (!todo.empty()) {
      const int id = todo.back();
      todo.pop_back();
      if (seen[id]) continue;
      seen[id] = true;
      if (nodes[id].is_input() && nodes[id].fixed_batch <= 0)
        throw Error("layer '" + layer->name + "' (" + layer->class_name() + ") is stateful and needs to know its "
                    "batch size: give the first layer batch_input_shape (or batch_size), or layer_input(batch_shape = ...)");
      for (int j : nodes[id].inputs) todo.push_back(j);
    }
  }
  Shape out;
  try {
    out = layer->build(shapes, rng);
    check_weight_rules(*layer);
  } catch (const Error& e) {
    std::string msg = e.what();
    if (msg.find(layer->name) == std::string::npos)
      msg = "layer '" + layer->name + "' (" + layer->class_name() + "): " + msg;
    throw Error(msg);
  }
  Node n;
  n.layer = layer;
  n.inputs = in;
  n.shape = out;
  n.extra_shapes = layer->extra_output_shapes(shapes);
  const int id = static_cast<int>(nodes.size());
  switch (layer->output_mask(in_masked)) {
    case Layer::MaskOut::None: break;
    case Layer::MaskOut::Input0: n.mask_from = nodes[in[0]].mask_from; break;
    case Layer::MaskOut::Computed:
      if (out.empty()) throw Error("layer '" + layer->name + "' computes a mask but its output has no time axis");
      n.mask_from = id;
      break;
  }
  nodes.push_back(std::move(n));
  planned_n_ = -1;
  return static_cast<int>(nodes.size()) - 1;
}

std::vector<LayerPtr> Graph::layers() const {
  std::vector<LayerPtr> out;
  std::set<const Layer*> seen;
  for (auto& n : nodes)
    if (n.layer && seen.insert(n.layer.get()).second) out.push_back(n.layer);
  return out;
}

int64_t Graph::count_params(bool trainable_only) const {
  int64_t total = 0;
  for (auto& l : layers())
    for (auto& p : l->params)
      if (!trainable_only || (p.trainable && l->trainable)) total += p.value.size();
  return total;
}

int Graph::add_op(OpCode op, const OpAttrs& attrs, const std::vector<int>& in, const std::string& scope,
                  NodeRole role) {
  std::vector<TType> ts;
  bool any_batched = false, loss = role != NodeRole::Model;
  for (int id : in) {
    if (id < 0 || id >= static_cast<int>(nodes.size())) throw Error("invalid input tensor");
    const Node& src = nodes[id];
    TType t{src.dtype, src.shape};
    if (src.batched) t.shape.insert(t.shape.begin(), -1);
    ts.push_back(std::move(t));
    any_batched = any_batched || src.batched;
    loss = loss || src.role != NodeRole::Model;
  }
  auto a = std::make_shared<OpAttrs>(attrs);
  TType out;
  try {
    out = infer_op(op, *a, ts);
  } catch (const Error& e) {
    throw Error(scope.empty() ? std::string(e.what()) : scope + ": " + e.what());
  }
  Node n;
  n.op = op;
  n.attrs = std::move(a);
  n.dtype = out.dtype;
  n.role = loss ? NodeRole::Loss : NodeRole::Model;
  n.batched = any_batched && !out.shape.empty() && out.shape[0] == -1;
  n.shape = out.shape;
  if (n.batched) n.shape.erase(n.shape.begin());
  n.inputs = in;
  n.scope = scope;
  nodes.push_back(std::move(n));
  planned_n_ = -1;
  return static_cast<int>(nodes.size()) - 1;
}

int Graph::add_output(int node, int index) {
  if (node < 0 || node >= static_cast<int>(nodes.size())) throw Error("invalid input tensor");
  const Node& src = nodes[node];
  const int k = 1 + static_cast<int>(src.extra_shapes.size());
  if (index < 0 || index >= k)
    throw Error(node_name(node) + " has " + std::to_string(k) + " output(s); there is no output " + std::to_string(index));
  if (index == 0) return node;
  Node n;
  n.inputs = {node};
  n.output_index = index;
  n.shape = src.extra_shapes[index - 1];
  n.role = src.role;
  nodes.push_back(std::move(n));
  planned_n_ = -1;
  return static_cast<int>(nodes.size()) - 1;
}

int Graph::add_target(size_t rank, const std::string& name) {
  Node n;
  n.shape.assign(rank, -1);
  n.input_name = name;
  n.role = NodeRole::Target;
  nodes.push_back(std::move(n));
  planned_n_ = -1;
  return static_cast<int>(nodes.size()) - 1;
}

std::vector<int> Graph::targets() const {
  std::vector<int> t;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].role == NodeRole::Target) t.push_back(static_cast<int>(i));
  return t;
}

void Graph::remove_loss_nodes() {
  std::vector<int> map(nodes.size(), -1);
  std::vector<Node> kept;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].role != NodeRole::Model) continue;
    map[i] = static_cast<int>(kept.size());
    kept.push_back(std::move(nodes[i]));
    for (int& j : kept.back().inputs) j = map[j];
    if (kept.back().mask_from >= 0) kept.back().mask_from = map[kept.back().mask_from];
  }
  nodes = std::move(kept);
  for (int& i : inputs) i = map[i];
  for (int& o : outputs) o = map[o];
  planned_n_ = -1;
}

bool Graph::has_model_ops() const {
  for (auto& n : nodes)
    if (n.is_op() && n.role == NodeRole::Model) return true;
  return false;
}

std::string Graph::node_name(int id) const {
  const Node& n = nodes.at(id);
  if (n.layer) return "'" + n.layer->name + "'";
  if (n.is_output_select()) return node_name(n.inputs[0]) + " (output " + std::to_string(n.output_index) + ")";
  if (n.is_op()) return "'" + (n.scope.empty() ? std::string() : n.scope + "/") + op_def(n.op).name + "'";
  return "'" + n.input_name + "'";
}

void Graph::plan(const std::vector<const Tensor*>& x, const std::vector<const Tensor*>& targets) {
  const int64_t n = x.empty() ? 0 : x[0]->shape.at(0);
  const bool with_t = !targets.empty();
  std::vector<Shape> tshapes, xshapes;
  for (auto* t : targets) tshapes.push_back(t->shape);
  for (auto* t : x) xshapes.push_back(t->shape);
  if (n == planned_n_ && values_.size() == nodes.size() && with_t == planned_with_targets_ &&
      tshapes == planned_targets_ && xshapes == planned_inputs_)
    return;
  std::vector<int> input_pos(nodes.size(), -1);  // node id -> model input index
  for (size_t k = 0; k < inputs.size(); ++k) input_pos[inputs[k]] = static_cast<int>(k);
  const size_t m = nodes.size();
  values_.resize(m);
  grads_.resize(m);
  scratch_.resize(m);
  masks_.assign(m, Tensor());
  extra_values_.assign(m, {});
  extra_grads_.assign(m, {});
  needs_grad_.assign(m, false);
  active_.assign(m, true);
  size_t next_target = 0;
  std::vector<TType> ts;
  for (size_t i = 0; i < m; ++i) {
    Node& nd = nodes[i];
    for (int j : nd.inputs) active_[i] = active_[i] && active_[j];
    Shape s = nd.shape;
    if (nd.role == NodeRole::Target) {
      if (!with_t) { active_[i] = false; continue; }
      if (next_target >= targets.size()) throw Error("the model's loss needs more targets (y) than were given");
      s = targets[next_target++]->shape;
      if (s.size() != nd.shape.size() + 1 || s[0] != n)
        throw Error("target " + node_name(static_cast<int>(i)) + ": expected " + std::to_string(n) + " samples of rank " +
                    std::to_string(nd.shape.size()) + ", got shape " + shape_str(s, false));
    } else if (!active_[i]) {
      continue;
    } else if (nd.is_output_select()) {
      s.insert(s.begin(), n);  // (n, ...)
      needs_grad_[i] = needs_grad_[nd.inputs[0]];
    } else if (nd.is_op()) {
      ts.clear();
      for (int j : nd.inputs) ts.push_back(TType{nodes[j].dtype, values_[j].shape});
      try {
        s = infer_op(nd.op, *nd.attrs, ts).shape;
      } catch (const Error& e) {
        throw Error("op " + node_name(static_cast<int>(i)) + ": " + e.what());
      }
      if (nd.batched && (s.empty() || s[0] != n))
        throw Error("op " + node_name(static_cast<int>(i)) + " changes the batch dimension: output " + shape_str(s, false) +
                    " for a batch of " + std::to_string(n) + " (keep the batch as the first dimension)");
      bool g = op_def(nd.op).differentiable;
      bool any = false;
      for (int j : nd.inputs) any = any || (needs_grad_[j] && nodes[j].dtype == DType::Float32);
      needs_grad_[i] = g && any;
    } else if (nd.is_input() && input_pos[i] >= 0) {
      s.insert(s.begin(), n);  // (n, ...)
      const bool unknown = std::find(nd.shape.begin(), nd.shape.end(), -1) != nd.shape.end();
      if (unknown) s = xshapes[input_pos[i]];  // unknown dims of the input take the data's sizes
      bool ok = !unknown || s.size() == nd.shape.size() + 1;
      for (size_t d = 0; ok && d < nd.shape.size(); ++d) ok = nd.shape[d] == -1 || nd.shape[d] == s[d + 1];
      if (!ok)
        throw Error("input " + std::to_string(input_pos[i] + 1) + ": expected shape " + shape_str(nd.shape) +
                    " but got " + shape_str(s, false));
      needs_grad_[i] = input_grads && nd.dtype == DType::Float32;
    } else {
      s.insert(s.begin(), n);  // (n, ...)
      // A node needs a gradient if any layer upstream of it has trainable params.
      if (nd.layer) {
        bool g = false;
        for (auto& p : nd.layer->params) g = g || (p.trainable && nd.layer->trainable);
        for (int j : nd.inputs) g = g || needs_grad_[j];
        needs_grad_[i] = g;
        if (nd.mask_from == static_cast<int>(i)) masks_[i].resize(Shape(s.begin(), s.end() - 1));  // (n, shape[:-1])
        for (const Shape& e : nd.extra_shapes) {
          Shape es = e;
          es.insert(es.begin(), n);  // (n, ...)
          extra_values_[i].emplace_back(es);
          extra_grads_[i].emplace_back(es);
        }
      }
    }
    values_[i].resize(s);
    grads_[i].resize(s);
  }
  planned_n_ = n;
  planned_inputs_ = std::move(xshapes);
  planned_targets_ = std::move(tshapes);
  planned_with_targets_ = with_t;
}

void Graph::set_masks(const Node& nd, RunContext& ctx) const {
  bool any = false;
  for (int j : nd.inputs) any = any || nodes[j].mask_from >= 0;
  if (!any) return;
  for (int j : nd.inputs) ctx.masks.push_back(nodes[j].mask_from >= 0 ? &masks_[nodes[j].mask_from] : nullptr);
}

void Graph::forward(const std::vector<const Tensor*>& x, bool training, uint64_t step_key,
                    const std::vector<const Tensor*>& targets) {
  if (x.size() != inputs.size())
    throw Error("the model expects " + std::to_string(inputs.size()) + " input(s) but got " +
                std::to_string(x.size()));
  for (size_t k = 0; k < x.size(); ++k)
    if (x[k]->shape.empty() || x[k]->shape[0] != x[0]->shape[0])
      throw Error("input " + std::to_string(k + 1) + ": every input needs the same number of samples (got shape " +
                  shape_str(x[k]->shape, false) + ")");
  plan(x, targets);
  const int64_t n = planned_n_;
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor& v = values_[inputs[k]];
    if (x[k]->size() != v.size())
      throw Error("input " + std::to_string(k + 1) + ": expected shape " + shape_str(nodes[inputs[k]].shape) +
                  " with batch " + std::to_string(n) + " but got " + std::to_string(x[k]->size()) + " values");
    std::copy(x[k]->ptr(), x[k]->ptr() + x[k]->size(), v.ptr());
  }
  size_t next_target = 0;
  std::vector<const Tensor*> in;
  for (size_t i = 0; i < nodes.size(); ++i) {
    Node& nd = nodes[i];
    if (!active_[i]) continue;
    if (nd.role == NodeRole::Target) {
      const Tensor* t = targets[next_target++];
      std::copy(t->ptr(), t->ptr() + t->size(), values_[i].ptr());
      continue;
    }
    if (nd.is_input()) continue;
    if (nd.is_output_select()) {
      const Tensor& src = extra_values_[nd.inputs[0]][nd.output_index - 1];
      std::copy(src.ptr(), src.ptr() + src.size(), values_[i].ptr());
      continue;
    }
    in.clear();
    for (int j : nd.inputs) in.push_back(&values_[j]);
    const uint64_t key = splitmix64(step_key ^ (0x51ED27ULL * (i + 1)));
    if (nd.is_op()) {
      OpContext c;
      c.training = training;
      c.step_key = key;
      op_def(nd.op).forward(c, *nd.attrs, in, values_[i]);
      continue;
    }
    RunContext ctx;
    ctx.training = training;
    ctx.step_key = key;
    ctx.scratch = &scratch_[i];
    set_masks(nd, ctx);
    if (nd.extra_shapes.empty()) {
      nd.layer->forward(ctx, in, values_[i]);
    } else {
      std::vector<Tensor*> outs{&values_[i]};
      for (Tensor& e : extra_values_[i]) outs.push_back(&e);
      nd.layer->forward_multi(ctx, in, outs);
    }
    if (nd.mask_from == static_cast<int>(i)) nd.layer->compute_mask(in, ctx.masks, masks_[i]);
  }
}

double Graph::activity_penalty() const {
  double total = 0;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (active_.size() == nodes.size() && active_[i] && nodes[i].layer && nodes[i].layer->activity_regularizer)
      total += nodes[i].layer->activity_regularizer->penalty(values_[i]);
  return total;
}

void Graph::backward(const std::vector<const Tensor*>& dout, bool training, uint64_t step_key) {
  if (dout.size() != outputs.size()) throw Error("backward: wrong number of output gradients");
  std::vector<std::pair<int, const Tensor*>> seeds;
  for (size_t k = 0; k < outputs.size(); ++k) seeds.emplace_back(outputs[k], dout[k]);
  backward_from(seeds, training, step_key);
}

void Graph::backward_from(const std::vector<std::pair<int, const Tensor*>>& seeds, bool training, uint64_t step_key) {
  for (auto& l : layers())
    for (auto& p : l->params) p.grad.zero();
  for (size_t i = 0; i < nodes.size(); ++i)
    if (active_[i] && (needs_grad_[i] || nodes[i].layer)) {
      grads_[i].zero();
      for (Tensor& e : extra_grads_[i]) e.zero();
    }
  for (auto& s : seeds) {
    Tensor& g = grads_[s.first];
    if (s.second->size() != g.size()) throw Error("backward: gradient of " + node_name(s.first) + " has the wrong size");
    for (int64_t t = 0; t < g.size(); ++t) g.data[t] += s.second->data[t];
  }
  std::vector<const Tensor*> in;
  std::vector<Tensor*> din;
  for (size_t ii = nodes.size(); ii-- > 0;) {
    Node& nd = nodes[ii];
    if (!active_[ii] || nd.is_input() || !needs_grad_[ii]) continue;
    if (nd.is_output_select()) {  // gradient of output i flows into the producer's side buffer
      Tensor& g = extra_grads_[nd.inputs[0]][nd.output_index - 1];
      for (int64_t t = 0; t < g.size(); ++t) g.data[t] += grads_[ii].data[t];
      continue;
    }
    in.clear();
    din.clear();
    for (int j : nd.inputs) {
      in.push_back(&values_[j]);
      din.push_back(needs_grad_[j] && nodes[j].dtype == DType::Float32 ? &grads_[j] : nullptr);
    }
    if (nd.is_op()) {
      op_def(nd.op).backward(*nd.attrs, in, values_[ii], grads_[ii], din);
      continue;
    }
    RunContext ctx;
    ctx.training = training;
    ctx.step_key = splitmix64(step_key ^ (0x51ED27ULL * (ii + 1)));
    ctx.scratch = &scratch_[ii];
    set_masks(nd, ctx);
    if (nd.layer->activity_regularizer)  // its penalty on this output is part of the loss
      nd.layer->activity_regularizer->add_grad(values_[ii], 1.0f, grads_[ii]);
    if (nd.extra_shapes.empty()) {
      nd.layer->backward(ctx, in, values_[ii], grads_[ii], din);
    } else {
      std::vector<const Tensor*> outs{&values_[ii]}, douts{&grads_[ii]};
      for (size_t e = 0; e < nd.extra_shapes.size(); ++e) {
        outs.push_back(&extra_values_[ii][e]);
        douts.push_back(&extra_grads_[ii][e]);
      }
      nd.layer->backward_multi(ctx, in, outs, douts, din);
    }
    if (on_node_backward) on_node_backward(static_cast<int>(ii));
  }
}

}  // namespace kn
