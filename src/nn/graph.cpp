#include "graph.h"

#include <algorithm>
#include <set>

namespace kn {

int Graph::add_input(const Shape& shape, const std::string& name, int64_t fixed_batch) {
  for (int64_t d : shape)
    if (d <= 0) throw Error("input '" + name + "': every dimension of the shape must be positive, got " + shape_str(shape, false));
  checked_numel(shape, "input '" + name + "'");  // per-sample size within kMaxNumel
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
    shapes.push_back(nodes[id].shape);
  }
  if (layer->n_inputs() >= 0 && static_cast<int>(in.size()) != layer->n_inputs())
    throw Error("layer '" + layer->name + "' expects " + std::to_string(layer->n_inputs()) +
                " input(s) but was given " + std::to_string(in.size()));
  Shape out;
  try {
    out = layer->build(shapes, rng);
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

void Graph::plan(int64_t n) {
  if (n == planned_n_ && values_.size() == nodes.size()) return;
  const size_t m = nodes.size();
  values_.resize(m);
  grads_.resize(m);
  scratch_.resize(m);
  needs_grad_.assign(m, false);
  for (size_t i = 0; i < m; ++i) {
    Shape s = nodes[i].shape;
    s.insert(s.begin(), n);  // (n, ...)
    values_[i].resize(s);
    // A node needs a gradient if any layer upstream of it has trainable params.
    if (nodes[i].layer) {
      bool g = false;
      for (auto& p : nodes[i].layer->params) g = g || (p.trainable && nodes[i].layer->trainable);
      for (int j : nodes[i].inputs) g = g || needs_grad_[j];
      needs_grad_[i] = g;
    }
    grads_[i].resize(s);
  }
  planned_n_ = n;
}

void Graph::forward(const std::vector<const Tensor*>& x, bool training, uint64_t step_key) {
  if (x.size() != inputs.size())
    throw Error("the model expects " + std::to_string(inputs.size()) + " input(s) but got " +
                std::to_string(x.size()));
  const int64_t n = x.empty() ? 0 : x[0]->shape.at(0);
  plan(n);
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor& v = values_[inputs[k]];
    if (x[k]->size() != v.size())
      throw Error("input " + std::to_string(k + 1) + ": expected shape " + shape_str(nodes[inputs[k]].shape) +
                  " with batch " + std::to_string(n) + " but got " + std::to_string(x[k]->size()) + " values");
    std::copy(x[k]->ptr(), x[k]->ptr() + x[k]->size(), v.ptr());
  }
  std::vector<const Tensor*> in;
  for (size_t i = 0; i < nodes.size(); ++i) {
    Node& nd = nodes[i];
    if (!nd.layer) continue;
    in.clear();
    for (int j : nd.inputs) in.push_back(&values_[j]);
    RunContext ctx;
    ctx.training = training;
    ctx.step_key = splitmix64(step_key ^ (0x51ED27ULL * (i + 1)));
    ctx.scratch = &scratch_[i];
    nd.layer->forward(ctx, in, values_[i]);
  }
}

void Graph::backward(const std::vector<const Tensor*>& dout, bool training, uint64_t step_key) {
  if (dout.size() != outputs.size()) throw Error("backward: wrong number of output gradients");
  for (auto& l : layers())
    for (auto& p : l->params) p.grad.zero();
  for (size_t i = 0; i < nodes.size(); ++i)
    if (needs_grad_[i] || nodes[i].layer) grads_[i].zero();
  for (size_t k = 0; k < outputs.size(); ++k) {
    Tensor& g = grads_[outputs[k]];
    for (int64_t t = 0; t < g.size(); ++t) g.data[t] += dout[k]->data[t];
  }
  std::vector<const Tensor*> in;
  std::vector<Tensor*> din;
  for (size_t ii = nodes.size(); ii-- > 0;) {
    Node& nd = nodes[ii];
    if (!nd.layer || !needs_grad_[ii]) continue;
    in.clear();
    din.clear();
    for (int j : nd.inputs) {
      in.push_back(&values_[j]);
      din.push_back(needs_grad_[j] ? &grads_[j] : nullptr);
    }
    RunContext ctx;
    ctx.training = training;
    ctx.step_key = splitmix64(step_key ^ (0x51ED27ULL * (ii + 1)));
    ctx.scratch = &scratch_[ii];
    nd.layer->backward(ctx, in, values_[ii], grads_[ii], din);
  }
}

}  // namespace kn
