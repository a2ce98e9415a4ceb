#include "model.h"

#include <algorithm>
#include <cmath>

namespace kn {

ArraySource::ArraySource(const ArrayData& d, std::vector<int64_t> order, int64_t batch_size)
    : d_(d), order_(std::move(order)), batch_size_(batch_size) {
  if (batch_size_ <= 0) throw Error("batch_size must be a positive integer");
}

namespace {
// Gather rows `idx` of `src` (N, ...) into `dst` (len(idx), ...).
void gather(const Tensor& src, const int64_t* idx, int64_t n, Tensor& dst) {
  Shape s = src.shape;
  s[0] = n;
  dst.resize(s);
  const int64_t row = src.shape[0] ? src.size() / src.shape[0] : 0;
  for (int64_t i = 0; i < n; ++i)
    std::copy(src.ptr() + idx[i] * row, src.ptr() + (idx[i] + 1) * row, dst.ptr() + i * row);
}
}  // namespace

bool ArraySource::next(Batch& b) {
  const int64_t total = static_cast<int64_t>(order_.size());
  if (pos_ >= total) return false;
  const int64_t n = std::min(batch_size_, total - pos_);
  const int64_t* idx = order_.data() + pos_;
  b.x.resize(d_.x.size());
  b.y.resize(d_.y.size());
  for (size_t k = 0; k < d_.x.size(); ++k) gather(d_.x[k], idx, n, b.x[k]);
  for (size_t k = 0; k < d_.y.size(); ++k) gather(d_.y[k], idx, n, b.y[k]);
  b.w.clear();
  if (!d_.w.empty())
    for (int64_t i = 0; i < n; ++i) b.w.push_back(d_.w[idx[i]]);
  pos_ += n;
  return true;
}

void Model::compile(const std::vector<std::string>& losses, const std::vector<double>& loss_weights,
                    bool accuracy, std::unique_ptr<Optimizer> opt) {
  const size_t no = graph.outputs.size();
  if (losses.size() != 1 && losses.size() != no)
    throw Error("compile(): the model has " + std::to_string(no) + " output(s) but " +
                std::to_string(losses.size()) + " losses were given");
  std::vector<std::unique_ptr<Loss>> ls;
  std::vector<AccuracyKind> kinds;
  for (size_t k = 0; k < no; ++k) {
    const std::string& nm = losses[losses.size() == 1 ? 0 : k];
    ls.push_back(nm == "graph" ? nullptr : make_loss(nm));
    kinds.push_back(accuracy_kind(nm, graph.nodes[graph.outputs[k]].shape));
  }
  std::vector<double> lw = loss_weights;
  if (lw.empty()) lw.assign(no, 1.0);
  if (lw.size() != no) throw Error("compile(): loss_weights must have one value per output");
  losses_ = std::move(ls);
  acc_kinds_ = std::move(kinds);
  loss_weights_ = std::move(lw);
  accuracy_ = accuracy;
  opt_ = std::move(opt);
  last_params_.clear();
  graph_loss_.assign(no, -1);
}

void Model::clear_graph_terms() {
  graph.remove_loss_nodes();
  graph_loss_.assign(graph.outputs.size(), -1);
  graph_metrics_.clear();
  target_outputs_.clear();
  extra_losses_.clear();
}

void Model::add_graph_loss_term(int node) {
  if (graph.nodes.at(node).dtype != DType::Float32)
    throw Error("add_loss(): the loss must be a float32 tensor, got " + std::string(dtype_name(graph.nodes[node].dtype)));
  extra_losses_.push_back(node);
}

int Model::add_target(size_t output) {
  if (output >= graph.outputs.size()) throw Error("add_target: the model has no output " + std::to_string(output + 1));
  const Node& o = graph.nodes[graph.outputs[output]];
  int id = graph.add_target(o.shape.size(), "y_true" + std::to_string(output + 1));
  target_outputs_.push_back(output);
  return id;
}

void Model::set_graph_loss(size_t output, int node) {
  if (output >= graph_loss_.size()) throw Error("set_graph_loss: compile() the model first");
  if (losses_[output]) throw Error("set_graph_loss: output " + std::to_string(output + 1) + " has a built-in loss");
  const Node& n = graph.nodes.at(node);
  if (n.dtype != DType::Float32)
    throw Error("the loss function must return a float32 tensor, got " + std::string(dtype_name(n.dtype)));
  graph_loss_[output] = node;
}

void Model::add_graph_metric(const std::string& name, int node) {
  if (graph.nodes.at(node).dtype == DType::String) throw Error("metric '" + name + "' returns strings");
  graph_metrics_.emplace_back(name, node);
}

std::vector<const Tensor*> Model::target_ptrs(const Batch& b) const {
  std::vector<const Tensor*> t;
  for (size_t k : target_outputs_) t.push_back(&b.y.at(k));
  return t;
}

std::vector<std::string> Model::metric_names() const {
  std::vector<std::string> out{"loss"};
  if (losses_.size() == 1) {
    if (accuracy_) out.push_back("acc");
  } else {
    auto nm = [&](size_t k) {
      const Node& n = graph.nodes[graph.outputs[k]];
      return n.layer ? n.layer->name : n.is_op() ? n.scope : n.input_name;
    };
    for (size_t k = 0; k < losses_.size(); ++k) out.push_back(nm(k) + "_loss");
    if (accuracy_)
      for (size_t k = 0; k < losses_.size(); ++k) out.push_back(nm(k) + "_acc");
  }
  for (auto& m : graph_metrics_) out.push_back(m.first);
  return out;
}

void Model::check_data(const std::vector<Shape>& xs, const std::vector<Shape>& ys) const {
  if (xs.size() != graph.inputs.size())
    throw Error("the model has " + std::to_string(graph.inputs.size()) + " input(s) but x holds " +
                std::to_string(xs.size()) + " array(s)");
  int64_t n = -1;
  for (size_t k = 0; k < xs.size(); ++k) {
    Shape want = graph.nodes[graph.inputs[k]].shape;
    Shape got(xs[k].begin() + 1, xs[k].end());
    for (size_t d = 0; d < want.size() && d < got.size(); ++d)
      if (want[d] == -1) want[d] = got[d];  // unknown input dimension (layer_input(shape = list(NULL, 8)))
    if (got != want)
      throw Error("x" + (xs.size() > 1 ? "[[" + std::to_string(k + 1) + "]]" : std::string()) +
                  ": expected arrays of shape " + shape_str(want) + " but got " +
                  shape_str(got));
    if (n >= 0 && xs[k][0] != n) throw Error("all x arrays must have the same number of samples");
    n = xs[k][0];
  }
  if (ys.empty()) return;
  if (ys.size() != graph.outputs.size())
    throw Error("the model has " + std::to_string(graph.outputs.size()) + " output(s) but y holds " +
                std::to_string(ys.size()) + " array(s)");
  for (size_t k = 0; k < ys.size(); ++k) {
    if (ys[k][0] != n)
      throw Error("x and y have different numbers of samples: x has " + std::to_string(n) +
                  ", y has " + std::to_string(ys[k][0]));
    Shape got(ys[k].begin() + 1, ys[k].end());
    if (!compiled() || !losses_[k]) continue;
    const Node& out = graph.nodes[graph.outputs[k]];
    try {
      losses_[k]->check_target(out.shape, got, ys[k][0]);
    } catch (const Error& e) {  // name the output layer, as Keras's target check does
      throw Error("output '" + (out.layer ? out.layer->name : out.input_name) + "': " + e.what() +
                  (out.shape.size() > 1 ? " (a Flatten layer may be missing before the Dense layers)" : ""));
    }
  }
}

std::vector<Param*> Model::trainable_params() {
  std::vector<Param*> out;
  for (auto& l : graph.layers())
    if (l->trainable)
      for (auto& p : l->params)
        if (p.trainable) out.push_back(&p);
  return out;
}

// Per-sample values of a traced loss node into per_sample_ (uses coef_); with
// `seed`, the gradient of the weighted total with respect to the node's value.
void Model::graph_loss_values(const Node& node, const Tensor& v, int64_t n, Tensor* seed) {
  const bool per_sample = node.batched && !v.shape.empty() && v.shape[0] == n && n > 0;
  const int64_t rest = per_sample ? v.size() / n : v.size();
  if (seed) seed->resize(v.shape);
  if (per_sample) {
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int64_t j = 0; j < rest; ++j) s += v.data[i * rest + j];
      per_sample_[i] = static_cast<float>(rest ? s / rest : 0.0);
      if (seed)
        for (int64_t j = 0; j < rest; ++j) seed->data[i * rest + j] = coef_[i] / static_cast<float>(rest);
    }
    return;
  }
  double s = 0, c = 0;
  for (float x : v.data) s += x;
  for (int64_t i = 0; i < n; ++i) c += coef_[i];
  for (int64_t i = 0; i < n; ++i) per_sample_[i] = static_cast<float>(v.size() ? s / v.size() : 0.0);
  if (seed)
    for (auto& g : seed->data) g = static_cast<float>(c / std::max<int64_t>(1, v.size()));
}

// Loss (and accuracy) of one batch after graph.forward(); with_grad fills dout_.
std::vector<double> Model::batch_metrics(const Batch& b, bool with_grad) {
  const int64_t n = b.n();
  const size_t no = graph.outputs.size();
  // Keras 2.2 weighting: mean(loss_i * w_i) / mean(w_i != 0)
  coef_.assign(n, 1.0f);
  double nonzero = n;
  if (!b.w.empty()) {
    nonzero = 0;
    for (int64_t i = 0; i < n; ++i) nonzero += b.w[i] != 0.0f;
  }
  const double norm = nonzero > 0 ? nonzero : 1.0;
  per_sample_.resize(n);
  acc_tmp_.resize(n);
  dout_.resize(no);
  dloss_.resize(no);
  std::vector<double> out_loss(no), out_acc(no);
  double total = 0;
  for (size_t k = 0; k < no; ++k) {
    const Tensor& pred = graph.value(graph.outputs[k]);  // (n, ...)
    for (int64_t i = 0; i < n; ++i)
      coef_[i] = static_cast<float>((b.w.empty() ? 1.0 : b.w[i]) * loss_weights_[k] / norm);
    if (with_grad) dout_[k].resize(pred.shape);
    if (!losses_[k]) {
      if (graph_loss_[k] < 0) throw Error("compile(): the loss of output " + std::to_string(k + 1) + " was not traced");
      graph_loss_values(graph.nodes[graph_loss_[k]], graph.value(graph_loss_[k]), n, with_grad ? &dloss_[k] : nullptr);
    } else {
      losses_[k]->compute(pred, b.y[k], per_sample_.data(), with_grad ? &dout_[k] : nullptr, coef_.data());
    }
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(per_sample_[i]) * (b.w.empty() ? 1.0 : b.w[i]);
    out_loss[k] = s / norm;
    total += loss_weights_[k] * out_loss[k];
    if (accuracy_) {
      accuracy(acc_kinds_[k], pred, b.y[k], acc_tmp_.data());
      double a = 0;
      for (int64_t i = 0; i < n; ++i) a += acc_tmp_[i];
      out_acc[k] = a / std::max<int64_t>(1, n);
    }
  }
  dextra_.resize(extra_losses_.size());
  for (size_t e = 0; e < extra_losses_.size(); ++e) {  // add_loss() terms: their means join the total
    const Tensor& v = graph.value(extra_losses_[e]);
    double s = 0;
    for (float x : v.data) s += x;
    total += v.size() ? s / v.size() : 0.0;
    if (with_grad) {
      dextra_[e].resize(v.shape);
      std::fill(dextra_[e].data.begin(), dextra_[e].data.end(), 1.0f / static_cast<float>(std::max<int64_t>(1, v.size())));
    }
  }
  // Regularization penalties (weights and activities) join the total loss, as in Keras.
  total += graph.activity_penalty();
  for (auto& l : graph.layers()) total += weight_penalty(*l, false);
  std::vector<double> vals{total};
  if (no == 1) {
    if (accuracy_) vals.push_back(out_acc[0]);
  } else {
    for (double v : out_loss) vals.push_back(v);
    if (accuracy_) for (double v : out_acc) vals.push_back(v);
  }
  for (auto& m : graph_metrics_) {  // Keras: mean over the batch of per-sample means = mean of all values
    const Tensor& v = graph.value(m.second);
    double s = 0;
    for (float x : v.data) s += x;
    vals.push_back(v.size() ? s / v.size() : 0.0);
  }
  return vals;
}

static std::vector<const Tensor*> ptrs(const std::vector<Tensor>& v) {
  std::vector<const Tensor*> p;
  for (auto& t : v) p.push_back(&t);
  return p;
}

std::vector<double> Model::train_batch(const Batch& b, uint64_t step_key) {
  if (!compiled()) throw Error("the model must be compiled before training; call compile()");
  std::vector<Param*> params = trainable_params();
  if (params != last_params_) {
    // Layers were frozen or unfrozen since the last step: replan which nodes
    // need gradients and (as a Keras recompile would) start fresh optimizer slots.
    graph.invalidate();
    if (!last_params_.empty()) opt_->init_state(params);
    last_params_ = params;
  }
  graph.forward(ptrs(b.x), true, step_key, target_ptrs(b));
  std::vector<double> vals = batch_metrics(b, true);
  std::vector<std::pair<int, const Tensor*>> seeds;
  for (size_t k = 0; k < graph.outputs.size(); ++k) {
    if (losses_[k]) seeds.emplace_back(graph.outputs[k], &dout_[k]);
    else if (graph.needs_grad(graph_loss_[k])) seeds.emplace_back(graph_loss_[k], &dloss_[k]);
  }
  for (size_t e = 0; e < extra_losses_.size(); ++e)
    if (graph.needs_grad(extra_losses_[e])) seeds.emplace_back(extra_losses_[e], &dextra_[e]);
  if (sync) graph.on_node_backward = [this](int node) { sync->node_done(node); };
  try {
    graph.backward_from(seeds, true, step_key);
  } catch (...) {
    graph.on_node_backward = nullptr;
    throw;
  }
  graph.on_node_backward = nullptr;
  if (sync) sync->finish(params);  // gradients averaged over processes
  const std::vector<LayerPtr> layers = graph.layers();
  for (auto& l : layers) weight_penalty(*l, true);   // + gradients of the weight penalties
  opt_->update(params);
  for (auto& l : layers) apply_constraints(*l);      // Keras: new_p = constraint(new_p)
  return vals;
}

std::vector<double> Model::test_batch(const Batch& b) {
  if (!compiled()) throw Error("the model must be compiled before evaluation; call compile()");
  graph.forward(ptrs(b.x), false, 0, target_ptrs(b));
  return batch_metrics(b, false);
}

std::vector<double> Model::train_epoch(BatchSource& src, uint64_t seed, const BatchCallback& cb, bool& stopped,
                                       const BatchBeginCallback& begin) {
  Rng step_rng(seed);
  Batch b;
  std::vector<double> sums;
  int64_t seen = 0, batch = 0;
  stopped = false;
  while (true) {
    const bool has = src.next(b);
    if (sync && !sync->begin_step(has ? &b : nullptr, graph, trainable_params())) break;
    if (!has) break;
    if (begin && !begin(batch++, b.n())) { stopped = true; break; }
    std::vector<double> v = train_batch(b, step_rng.next_u64());
    if (sums.empty()) sums.assign(v.size(), 0.0);
    for (size_t k = 0; k < v.size(); ++k) sums[k] += v[k] * b.n();
    seen += b.n();
    if (cb && !cb(seen, v)) { stopped = true; break; }
  }
  for (double& s : sums) s /= std::max<int64_t>(1, seen);
  return sums;
}

std::vector<double> Model::evaluate(BatchSource& src, const BatchCallback& cb, bool& stopped,
                                    const BatchBeginCallback& begin) {
  Batch b;
  std::vector<double> sums;
  int64_t seen = 0, batch = 0;
  stopped = false;
  while (src.next(b)) {
    if (begin && !begin(batch++, b.n())) { stopped = true; break; }
    std::vector<double> v = test_batch(b);
    if (sums.empty()) sums.assign(v.size(), 0.0);
    for (size_t k = 0; k < v.size(); ++k) sums[k] += v[k] * b.n();
    seen += b.n();
    if (cb && !cb(seen, v)) { stopped = true; break; }
  }
  for (double& s : sums) s /= std::max<int64_t>(1, seen);
  return sums;
}

std::vector<Tensor> Model::predict(BatchSource& src, const BatchCallback& cb, bool& stopped,
                                   const BatchBeginCallback& begin) {
  const size_t no = graph.outputs.size();
  std::vector<std::vector<float>> acc(no);
  Batch b;
  int64_t seen = 0, batch = 0;
  stopped = false;
  while (src.next(b)) {
    if (begin && !begin(batch++, b.n())) { stopped = true; break; }
    graph.forward(ptrs(b.x), false, 0);
    for (size_t k = 0; k < no; ++k) {
      const Tensor& v = graph.value(graph.outputs[k]);
      acc[k].insert(acc[k].end(), v.data.begin(), v.data.end());
    }
    seen += b.n();
    if (cb && !cb(seen, {})) { stopped = true; break; }
  }
  std::vector<Tensor> out(no);
  for (size_t k = 0; k < no; ++k) {
    Shape s = graph.nodes[graph.outputs[k]].shape;
    if (seen > 0 && std::find(s.begin(), s.end(), -1) != s.end()) {  // unknown dims: the run-time sizes
      const Shape& v = graph.value(graph.outputs[k]).shape;  // (n, ...)
      s.assign(v.begin() + 1, v.end());
    }
    s.insert(s.begin(), seen);
    out[k].shape = s;
    out[k].data = std::move(acc[k]);
  }
  return out;
}

}  // namespace kn
