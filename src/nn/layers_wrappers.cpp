// Layer wrappers (Keras 2.2): Bidirectional(layer, merge_mode) and
// TimeDistributed(layer). The wrapper owns the inner layers' parameters (in
// Keras's order: Bidirectional's forward then backward weights, named
// "forward_<name>/kernel"... as in Keras files) and lends them to the inner
// layers for each call; per-call buffers of the inner layers live in the
// node's Scratch::sub.
#include <algorithm>
#include <string>

#include "layer.h"

namespace kn {

namespace {

class Wrapper : public Layer {
 public:
  std::vector<LayerPtr> inner;        // Bidirectional: forward, backward; TimeDistributed: the layer
  std::vector<std::string> prefix;    // parameter name prefix per inner layer

  // Lends the wrapper's parameters to the inner layers for the guard's lifetime.
  struct Lease {
    Wrapper& w;
    explicit Lease(Wrapper& wr) : w(wr) { w.move_params(true); }
    ~Lease() { w.move_params(false); }
  };

  // After building the inner layers: take their parameters (names prefixed).
  void adopt_params() {
    params.clear();
    counts_.clear();
    for (size_t k = 0; k < inner.size(); ++k) {
      counts_.push_back(inner[k]->params.size());
      for (Param& p : inner[k]->params) {
        params.push_back(std::move(p));
        params.back().name = prefix[k] + params.back().name;
      }
      inner[k]->params.clear();
    }
  }

  void reset_states() override {
    for (auto& l : inner) l->reset_states();
  }
  bool needs_fixed_batch() const override {
    for (const auto& l : inner)
      if (l->needs_fixed_batch()) return true;
    return false;
  }

  Json inner_config(size_t k) const {
    Lease lease(const_cast<Wrapper&>(*this));
    Json j = Json::object();
    j.set("class_name", inner[k]->class_name());
    j.set("config", inner[k]->config());
    return j;
  }

 protected:
  std::vector<size_t> counts_;
  void move_params(bool lend) {
    if (counts_.size() != inner.size()) return;  // not built yet: the inner layers have no parameters
    size_t off = 0;
    for (size_t k = 0; k < inner.size(); ++k) {
      auto& ip = inner[k]->params;
      if (lend) ip.resize(counts_[k]);
      for (size_t i = 0; i < counts_[k]; ++i) {
        Param& outer = params[off + i];
        if (lend) {
          ip[i] = std::move(outer);
          ip[i].name = ip[i].name.substr(prefix[k].size());
        } else {
          outer = std::move(ip[i]);
          outer.name = prefix[k] + outer.name;
        }
      }
      if (!lend) ip.clear();
      off += counts_[k];
    }
    for (auto& l : inner) l->trainable = trainable;
  }
};

LayerPtr inner_from_config(const Json& cfg, const std::string& who) {
  const Json& l = cfg.get("layer", Json());
  if (!l.is_object() || !l.has("class_name") || !l.has("config"))
    throw Error(who + "config needs 'layer': {class_name, config}");
  LayerPtr inner = make_layer(l["class_name"].as_string(), l["config"]);
  // The graph applies penalties and constraints of its own layers only.
  if (!inner->weight_regularizers.empty() || !inner->weight_constraints.empty() || inner->activity_regularizer)
    throw Error(who + "regularizers and constraints of the wrapped layer are not supported (they would not be applied)");
  return inner;
}

RunContext sub_context(const RunContext& ctx, size_t k) {
  RunContext c = ctx;
  if (k > 0) c.step_key = splitmix64(ctx.step_key ^ (0xB1D1ULL * k));  // independent dropout masks per inner layer
  if (ctx.scratch->sub.size() <= k) ctx.scratch->sub.resize(k + 1);
  c.scratch = &ctx.scratch->sub[k];
  return c;
}

}  // namespace

// ---------------------------------------------------------------- Bidirectional
// y = merge(f(x), reverse_time(b(x))) for sequences (b runs with go_backwards
// flipped, so its outputs come in reverse time order), merge(f(x), b(x)) for
// last outputs. merge_mode "concat" (last axis), "sum", "mul", "ave", or null:
// two outputs [f, b] (output 1 through the graph's multi-output nodes).
class Bidirectional : public Wrapper {
 public:
  std::string merge_mode = "concat";  // "" = null
  bool seq = false;                   // the inner layer returns sequences
  int64_t units_ = 0;                 // the inner layer's output features

  std::string class_name() const override { return "Bidirectional"; }
  int n_inputs() const override { return 1; }
  bool supports_masking() const override { return true; }
  MaskOut output_mask(const std::vector<bool>& in_masked) const override {
    return seq && in_masked.at(0) ? MaskOut::Input0 : MaskOut::None;
  }

  Shape build(const std::vector<Shape>& in, Rng& rng) override {
    Shape s;
    if (built_) {
      Lease lease(*this);
      s = inner[0]->build(in, rng);
      inner[1]->build(in, rng);
    } else {
      s = inner[0]->build(in, rng);
      inner[1]->build(in, rng);
      adopt_params();
      built_ = true;
    }
    if (!inner[0]->extra_output_shapes(in).empty())
      throw Error("layer '" + name + "' (Bidirectional): return_state = TRUE in the wrapped layer is not supported yet");
    seq = s.size() == 2;
    units_ = s.back();
    if (merge_mode == "concat") s.back() *= 2;
    return s;
  }

  // merge_mode null: output 1 is the backward layer's output (same shape as output 0).
  std::vector<Shape> extra_output_shapes(const std::vector<Shape>& in) const override {
    if (!merge_mode.empty()) return {};
    return {seq ? Shape{in.at(0)[0], units_} : Shape{units_}};
  }

  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    forward_multi(ctx, in, {&out});
  }
  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& dout,
                const std::vector<Tensor*>& din) override {
    backward_multi(ctx, in, {&out}, {&dout}, din);
  }

  // Copies src (N, T, u) or (N, u) into dst with the time axis reversed (sequences).
  void time_reverse(const Tensor& src, Tensor& dst) const {
    dst.resize(src.shape);
    if (!seq) { dst.data = src.data; return; }
    const int64_t N = src.shape[0], T = src.shape[1], u = src.shape[2];
    for (int64_t n = 0; n < N; ++n)
      for (int64_t t = 0; t < T; ++t)
        std::copy(src.ptr() + (n * T + t) * u, src.ptr() + (n * T + t + 1) * u, dst.ptr() + (n * T + T - 1 - t) * u);
  }

  void forward_multi(const RunContext& ctx, const std::vector<const Tensor*>& in,
                     const std::vector<Tensor*>& outs) override {
    Lease lease(*this);
    Scratch& sc = *ctx.scratch;
    sc.at(3);
    Tensor& yf = sc.at(0);                     // (N, T, u) or (N, u)
    Tensor& yb = sc.at(1);                     // same, backward layer's processing order
    Tensor& ybr = sc.at(2);                    // yb in time order
    Shape s = in[0]->shape;
    Shape os = seq ? Shape{s[0], s[1], units_} : Shape{s[0], units_};
    yf.resize(os);
    yb.resize(os);
    inner[0]->forward(sub_context(ctx, 0), in, yf);
    inner[1]->forward(sub_context(ctx, 1), in, yb);
    time_reverse(yb, ybr);
    const int64_t m = yf.size(), u = os.back(), rows = m / u;
    float* y = outs[0]->ptr();
    if (merge_mode == "concat") {
      for (int64_t r = 0; r < rows; ++r) {
        std::copy(yf.ptr() + r * u, yf.ptr() + (r + 1) * u, y + r * 2 * u);
        std::copy(ybr.ptr() + r * u, ybr.ptr() + (r + 1) * u, y + r * 2 * u + u);
      }
    } else if (merge_mode.empty()) {
      std::copy(yf.data.begin(), yf.data.end(), y);
      std::copy(ybr.data.begin(), ybr.data.end(), outs[1]->ptr());
    } else {
      for (int64_t i = 0; i < m; ++i) {
        const float a = yf.data[i], b = ybr.data[i];
        y[i] = merge_mode == "sum" ? a + b : merge_mode == "mul" ? a * b : 0.5f * (a + b);
      }
    }
  }

  void backward_multi(const RunContext& ctx, const std::vector<const Tensor*>& in, const std::vector<const Tensor*>&,
                      const std::vector<const Tensor*>& douts, const std::vector<Tensor*>& din) override {
    Lease lease(*this);
    Scratch& sc = *ctx.scratch;
    sc.at(5);
    const Tensor& yf = sc.at(0);
    const Tensor& ybr = sc.at(2);
    Tensor& dyf = sc.at(3);                    // (N, T, u) or (N, u)
    Tensor& dybr = sc.at(4);                   // in time order
    Tensor& dyb = sc.at(5);                    // in the backward layer's order
    dyf.resize(yf.shape);
    dybr.resize(yf.shape);
    const int64_t m = yf.size(), u = yf.shape.back(), rows = m / u;
    const float* g = douts[0]->ptr();
    if (merge_mode == "concat") {
      for (int64_t r = 0; r < rows; ++r) {
        std::copy(g + r * 2 * u, g + r * 2 * u + u, dyf.ptr() + r * u);
        std::copy(g + r * 2 * u + u, g + (r + 1) * 2 * u, dybr.ptr() + r * u);
      }
    } else if (merge_mode.empty()) {
      std::copy(g, g + m, dyf.ptr());
      std::copy(douts[1]->ptr(), douts[1]->ptr() + m, dybr.ptr());
    } else {
      for (int64_t i = 0; i < m; ++i) {
        const float a = yf.data[i], b = ybr.data[i];
        dyf.data[i] = merge_mode == "sum" ? g[i] : merge_mode == "mul" ? g[i] * b : 0.5f * g[i];
        dybr.data[i] = merge_mode == "sum" ? g[i] : merge_mode == "mul" ? g[i] * a : 0.5f * g[i];
      }
    }
    time_reverse(dybr, dyb);
    inner[0]->backward(sub_context(ctx, 0), in, yf, dyf, din);
    inner[1]->backward(sub_context(ctx, 1), in, sc.at(1), dyb, din);
  }

  Json config() const override {
    Json c = base_config();
    c.set("layer", inner_config(0));
    c.set("merge_mode", merge_mode.empty() ? Json() : Json(merge_mode));
    return c;
  }
};

LayerPtr make_bidirectional(const Json& cfg) {
  auto l = std::make_shared<Bidirectional>();
  apply_base_config(*l, cfg);
  const std::string who = "layer '" + l->name + "' (Bidirectional): ";
  // merge_mode null (two outputs) is an explicit null; a missing entry is "concat"
  const Json mm = cfg.has("merge_mode") ? cfg["merge_mode"] : Json("concat");
  l->merge_mode = mm.is_null() ? "" : mm.as_string();
  if (!mm.is_null() && l->merge_mode != "concat" && l->merge_mode != "sum" && l->merge_mode != "mul" &&
      l->merge_mode != "ave")
    throw Error(who + "merge_mode must be 'concat', 'sum', 'mul', 'ave' or null, got '" + l->merge_mode + "'");
  LayerPtr f = inner_from_config(cfg, who);
  const std::string cls = f->class_name();
  if (cls != "SimpleRNN" && cls != "LSTM" && cls != "GRU")
    throw Error(who + "can only wrap a recurrent layer (SimpleRNN, LSTM, GRU), got " + cls);
  Json bc = f->config();
  bc.set("go_backwards", !bc.get("go_backwards", Json(false)).as_bool());
  LayerPtr b = make_layer(cls, bc);
  const std::string base = f->name;
  f->name = "forward_" + base;
  b->name = "backward_" + base;
  l->inner = {f, b};
  l->prefix = {f->name + "/", b->name + "/"};
  return l;
}
KN_REGISTER_LAYER(Bidirectional, make_bidirectional);

// ---------------------------------------------------------------- TimeDistributed
// Applies the layer to every step: (N, T, ...) is viewed as (N*T, ...).
class TimeDistributed : public Wrapper {
 public:
  std::string class_name() const override { return "TimeDistributed"; }
  bool supports_masking() const override { return true; }  // the output keeps the input's mask

  Shape build(const std::vector<Shape>& in, Rng& rng) override {
    const Shape& s = in.at(0);
    if (s.size() < 2)
      throw Error("layer '" + name + "' (TimeDistributed) expects inputs of shape (batch, time, ...), got " + shape_str(s));
    Shape step(s.begin() + 1, s.end());
    Shape o;
    if (built_) {
      Lease lease(*this);
      o = inner[0]->build({step}, rng);
    } else {
      o = inner[0]->build({step}, rng);
      adopt_params();
      built_ = true;
    }
    if (!inner[0]->extra_output_shapes({step}).empty())
      throw Error("layer '" + name + "' (TimeDistributed): the wrapped layer must have a single output");
    o.insert(o.begin(), s[0]);  // (T, ...)
    return o;
  }

  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    Lease lease(*this);
    Scratch& sc = *ctx.scratch;
    sc.at(1);
    Tensor& xs = sc.at(0);                     // (N*T, ...)
    Tensor& ys = sc.at(1);                     // (N*T, ...)
    const Tensor& x = *in[0];                  // (N, T, ...)
    Shape s(x.shape.begin() + 1, x.shape.end());
    s[0] *= x.shape[0];
    xs.resize(s);
    xs.data = x.data;
    Shape os(out.shape.begin() + 1, out.shape.end());
    os[0] *= out.shape[0];
    ys.resize(os);
    RunContext c = sub_context(ctx, 0);
    c.masks.clear();
    inner[0]->forward(c, {&xs}, ys);
    std::copy(ys.data.begin(), ys.data.end(), out.ptr());
  }

  void backward(const RunContext& ctx, const std::vector<const Tensor*>&, const Tensor&, const Tensor& dout,
                const std::vector<Tensor*>& din) override {
    Lease lease(*this);
    Scratch& sc = *ctx.scratch;
    sc.at(3);
    const Tensor& xs = sc.at(0);
    const Tensor& ys = sc.at(1);
    Tensor& dys = sc.at(2);                    // (N*T, ...)
    Tensor& dxs = sc.at(3);                    // (N*T, ...)
    dys.resize(ys.shape);
    std::copy(dout.ptr(), dout.ptr() + dout.size(), dys.ptr());
    dxs.resize(xs.shape);
    dxs.zero();
    RunContext c = sub_context(ctx, 0);
    c.masks.clear();
    inner[0]->backward(c, {&xs}, ys, dys, {din[0] ? &dxs : nullptr});
    if (din[0])
      for (int64_t i = 0; i < dxs.size(); ++i) din[0]->data[i] += dxs.data[i];
  }

  Json config() const override {
    Json c = base_config();
    c.set("layer", inner_config(0));
    return c;
  }
};

LayerPtr make_time_distributed(const Json& cfg) {
  auto l = std::make_shared<TimeDistributed>();
  apply_base_config(*l, cfg);
  l->inner = {inner_from_config(cfg, "layer '" + l->name + "' (TimeDistributed): ")};
  l->prefix = {""};
  return l;
}
KN_REGISTER_LAYER(TimeDistributed, make_time_distributed);

}  // namespace kn
