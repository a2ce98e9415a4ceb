// Keras 2.2.5 advanced activation layers: ReLU, ELU, ThresholdedReLU, Softmax,
// PReLU (LeakyReLU is in layers_norm.cpp). Element-wise work runs in fixed
// chunks (independent of the thread count).
//   ReLU(max_value, negative_slope, threshold) = K.relu:
//     y = min(x, max_value) for x > threshold, negative_slope * (x - threshold)
//     for x < threshold, else 0.
//   ELU(alpha):            y = x (x > 0), alpha * (exp(x) - 1) otherwise.
//   ThresholdedReLU(theta): y = x * (x > theta).
//   Softmax(axis):         softmax along `axis` of the full tensor (-1 = last).
//   PReLU:                 y = x (x > 0), alpha * x otherwise; alpha has the
//                          per-sample input shape with `shared_axes` set to 1.
#include <algorithm>
#include <cmath>

#include "initializers.h"
#include "layer.h"
#include "parallel.h"

namespace kn {

namespace {
template <class F>
void chunks(int64_t n, F&& f) {
  const int64_t grain = 1 << 15;
  parallel_for(n_chunks(n, grain), [&](int64_t t) { f(t * grain, std::min(n, (t + 1) * grain)); });
}
double number(const Json& cfg, const std::string& key, double fallback, const Layer& l, double min) {
  const Json v = cfg.get(key, Json());
  if (v.is_null()) return fallback;
  if (!v.is_number() || !std::isfinite(v.as_number()) || v.as_number() < min)
    throw Error("layer '" + l.name + "' (" + l.class_name() + "): '" + key + "' must be a number >= " +
                std::to_string(static_cast<int>(min)) + ", got " + v.dump());
  return v.as_number();
}

// Element-wise layer: y = f(x), dx = g(x) * dy.
class Elementwise : public Layer {
 public:
  Shape build(const std::vector<Shape>& in, Rng&) override { built_ = true; return in.at(0); }
  virtual float f(float x) const = 0;
  virtual float df(float x) const = 0;
  void forward(const RunContext&, const std::vector<const Tensor*>& in, Tensor& out) override {
    const float* x = in[0]->ptr();  // (N, ...)
    float* y = out.ptr();           // (N, ...)
    chunks(in[0]->size(), [&](int64_t lo, int64_t hi) { for (int64_t i = lo; i < hi; ++i) y[i] = f(x[i]); });
  }
  void backward(const RunContext&, const std::vector<const Tensor*>& in, const Tensor&, const Tensor& dout,
                const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    const float* x = in[0]->ptr();  // (N, ...)
    const float* dy = dout.ptr();   // (N, ...)
    float* dx = din[0]->ptr();      // (N, ...)
    chunks(in[0]->size(), [&](int64_t lo, int64_t hi) { for (int64_t i = lo; i < hi; ++i) dx[i] += df(x[i]) * dy[i]; });
  }
};
}  // namespace

// ---------------------------------------------------------------- ReLU
class ReLU : public Elementwise {
 public:
  bool has_max = false;
  float max_value = 0.0f, slope = 0.0f, threshold = 0.0f;
  std::string class_name() const override { return "ReLU"; }
  float f(float x) const override {
    if (x > threshold) return has_max ? std::min(x, max_value) : x;
    return x < threshold ? slope * (x - threshold) : 0.0f;
  }
  float df(float x) const override {
    if (x > threshold) return (!has_max || x <= max_value) ? 1.0f : 0.0f;
    return x < threshold ? slope : 0.0f;
  }
  Json config() const override {
    Json c = base_config();
    c.set("max_value", has_max ? Json(static_cast<double>(max_value)) : Json());
    c.set("negative_slope", static_cast<double>(slope));
    c.set("threshold", static_cast<double>(threshold));
    return c;
  }
};

LayerPtr make_relu(const Json& cfg) {
  auto l = std::make_shared<ReLU>();
  apply_base_config(*l, cfg);
  const Json mv = cfg.get("max_value", Json());
  l->has_max = !mv.is_null();
  if (l->has_max) l->max_value = static_cast<float>(number(cfg, "max_value", 0, *l, 0));
  l->slope = static_cast<float>(number(cfg, "negative_slope", 0, *l, 0));
  l->threshold = static_cast<float>(number(cfg, "threshold", 0, *l, 0));
  return l;
}
KN_REGISTER_LAYER(ReLU, make_relu);

// ---------------------------------------------------------------- ELU
class ELU : public Elementwise {
 public:
  float alpha = 1.0f;
  std::string class_name() const override { return "ELU"; }
  float f(float x) const override { return x > 0.0f ? x : alpha * std::expm1(x); }
  float df(float x) const override { return x > 0.0f ? 1.0f : alpha * std::exp(x); }
  Json config() const override {
    Json c = base_config();
    c.set("alpha", static_cast<double>(alpha));
    return c;
  }
};

LayerPtr make_elu(const Json& cfg) {
  auto l = std::make_shared<ELU>();
  apply_base_config(*l, cfg);
  l->alpha = static_cast<float>(number(cfg, "alpha", 1.0, *l, -1e300));
  return l;
}
KN_REGISTER_LAYER(ELU, make_elu);

// ---------------------------------------------------------------- ThresholdedReLU
class ThresholdedReLU : public Elementwise {
 public:
  float theta = 1.0f;
  std::string class_name() const override { return "ThresholdedReLU"; }
  float f(float x) const override { return x > theta ? x : 0.0f; }
  float df(float x) const override { return x > theta ? 1.0f : 0.0f; }
  Json config() const override {
    Json c = base_config();
    c.set("theta", static_cast<double>(theta));
    return c;
  }
};

LayerPtr make_thresholded_relu(const Json& cfg) {
  auto l = std::make_shared<ThresholdedReLU>();
  apply_base_config(*l, cfg);
  l->theta = static_cast<float>(number(cfg, "theta", 1.0, *l, 0));
  return l;
}
KN_REGISTER_LAYER(ThresholdedReLU, make_thresholded_relu);

// ---------------------------------------------------------------- Softmax
class Softmax : public Layer {
 public:
  int64_t axis = -1;  // of the full (batched) tensor
  std::string class_name() const override { return "Softmax"; }
  Shape build(const std::vector<Shape>& in, Rng&) override {
    const int64_t rank = static_cast<int64_t>(in.at(0).size()) + 1;
    const int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 1 || a >= rank)
      throw Error("layer '" + name + "' (Softmax): axis " + std::to_string(axis) + " is out of range for inputs " +
                  shape_str(in.at(0)) + " (the batch axis 0 cannot be normalised)");
    built_ = true;
    return in.at(0);
  }
  // (outer, len, inner) view of the batched tensor around the axis.
  void view(const Shape& s, int64_t& outer, int64_t& len, int64_t& inner) const {
    const int64_t rank = static_cast<int64_t>(s.size()), a = axis < 0 ? axis + rank : axis;
    outer = 1; inner = 1; len = s[a];
    for (int64_t d = 0; d < a; ++d) outer *= s[d];
    for (int64_t d = a + 1; d < rank; ++d) inner *= s[d];
  }
  void forward(const RunContext&, const std::vector<const Tensor*>& in, Tensor& out) override {
    int64_t outer, len, inner;
    view(in[0]->shape, outer, len, inner);
    const float* x = in[0]->ptr();  // (outer, len, inner)
    float* y = out.ptr();           // (outer, len, inner)
    parallel_for(outer, [&](int64_t o) {
      for (int64_t q = 0; q < inner; ++q) {
        const int64_t base = o * len * inner + q;
        float mx = x[base];
        for (int64_t j = 1; j < len; ++j) mx = std::max(mx, x[base + j * inner]);
        float s = 0.0f;
        for (int64_t j = 0; j < len; ++j) { y[base + j * inner] = std::exp(x[base + j * inner] - mx); s += y[base + j * inner]; }
        for (int64_t j = 0; j < len; ++j) y[base + j * inner] /= s;
      }
    });
  }
  void backward(const RunContext&, const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& dout,
                const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    int64_t outer, len, inner;
    view(in[0]->shape, outer, len, inner);
    const float* y = out.ptr();    // (outer, len, inner)
    const float* dy = dout.ptr();  // (outer, len, inner)
    float* dx = din[0]->ptr();     // (outer, len, inner)
    parallel_for(outer, [&](int64_t o) {
      for (int64_t q = 0; q < inner; ++q) {
        const int64_t base = o * len * inner + q;
        float dot = 0.0f;
        for (int64_t j = 0; j < len; ++j) dot += y[base + j * inner] * dy[base + j * inner];
        for (int64_t j = 0; j < len; ++j) dx[base + j * inner] += y[base + j * inner] * (dy[base + j * inner] - dot);
      }
    });
  }
  Json config() const override {
    Json c = base_config();
    c.set("axis", axis);
    return c;
  }
};

LayerPtr make_softmax(const Json& cfg) {
  auto l = std::make_shared<Softmax>();
  apply_base_config(*l, cfg);
  const Json a = cfg.get("axis", Json(-1));
  if (!a.is_number() || a.as_number() != std::floor(a.as_number()))
    throw Error("layer '" + l->name + "' (Softmax): 'axis' must be an integer, got " + a.dump());
  l->axis = a.as_int();
  return l;
}
KN_REGISTER_LAYER(Softmax, make_softmax);

// ---------------------------------------------------------------- PReLU
class PReLU : public Layer {
 public:
  Json alpha_init;
  std::vector<int64_t> shared_axes;  // 1-based axes of the batched input (Keras)
  Json shared_json;                  // as configured (null or list)
  Shape in_shape;                    // per-sample input shape at build
  std::string class_name() const override { return "PReLU"; }

  Shape build(const std::vector<Shape>& in, Rng& rng) override {
    const Shape& s = in.at(0);
    Shape ashape = s;  // (per-sample shape with shared axes = 1)
    for (int64_t a : shared_axes) {
      if (a < 1 || a > static_cast<int64_t>(s.size()))
        throw Error("layer '" + name + "' (PReLU): shared axis " + std::to_string(a) + " is out of range for inputs " +
                    shape_str(s) + " (axes are 1-based; the batch axis 0 cannot be shared)");
      ashape[a - 1] = 1;
    }
    if (!built_) {
      params.resize(1);
      params[0].name = "alpha";
      params[0].value = Tensor(ashape);
      int64_t fi = 0, fo = 0;
      compute_fans(ashape, fi, fo);
      initialize(params[0].value, alpha_init, fi, fo, rng);
      params[0].grad = Tensor(ashape);
      in_shape = s;
      built_ = true;
    } else if (s != in_shape) {
      throw Error("layer '" + name + "' (PReLU) was built for inputs " + shape_str(in_shape) + " but got " + shape_str(s));
    }
    return s;
  }
  // Index into alpha of per-sample element i (broadcast over shared axes).
  int64_t alpha_index(int64_t i) const {
    const Shape& as = params[0].value.shape;
    int64_t rem = i, idx = 0, mult = 1;
    for (int64_t d = static_cast<int64_t>(in_shape.size()) - 1; d >= 0; --d) {
      const int64_t c = rem % in_shape[d];
      rem /= in_shape[d];
      if (as[d] != 1) idx += c * mult;
      mult *= as[d];
    }
    return idx;
  }
  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    const int64_t per = shape_numel(in_shape), N = in[0]->shape[0];
    std::vector<int32_t>& map = ctx.scratch->idx;  // (per): alpha index of each per-sample element
    map.resize(static_cast<size_t>(per));
    for (int64_t i = 0; i < per; ++i) map[i] = static_cast<int32_t>(alpha_index(i));
    const float* a = params[0].value.ptr();
    const float* x = in[0]->ptr();  // (N, per)
    float* y = out.ptr();           // (N, per)
    parallel_for(N, [&](int64_t n) {
      for (int64_t i = 0; i < per; ++i) {
        const float v = x[n * per + i];
        y[n * per + i] = v > 0.0f ? v : a[map[i]] * v;
      }
    });
  }
  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor&, const Tensor& dout,
                const std::vector<Tensor*>& din) override {
    const int64_t per = shape_numel(in_shape), N = in[0]->shape[0];
    const std::vector<int32_t>& map = ctx.scratch->idx;
    if (static_cast<int64_t>(map.size()) != per) throw Error("layer '" + name + "': backward without a matching forward");
    const float* a = params[0].value.ptr();
    const float* x = in[0]->ptr();   // (N, per)
    const float* dy = dout.ptr();    // (N, per)
    if (din[0]) {
      float* dx = din[0]->ptr();     // (N, per)
      parallel_for(N, [&](int64_t n) {
        for (int64_t i = 0; i < per; ++i) {
          const float v = x[n * per + i];
          dx[n * per + i] += (v > 0.0f ? 1.0f : a[map[i]]) * dy[n * per + i];
        }
      });
    }
    if (trainable) {  // d alpha = sum over batch and shared axes of x * dy where x < 0 (in sample order)
      float* ga = params[0].grad.ptr();
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < per; ++i) {
          const float v = x[n * per + i];
          if (v < 0.0f) ga[map[i]] += v * dy[n * per + i];
        }
    }
  }
  Json config() const override {
    Json c = base_config();
    c.set("alpha_initializer", alpha_init);
    c.set("alpha_regularizer", Json());
    c.set("alpha_constraint", Json());
    c.set("shared_axes", shared_json);
    return c;
  }
};

LayerPtr make_prelu(const Json& cfg) {
  auto l = std::make_shared<PReLU>();
  apply_base_config(*l, cfg);
  l->alpha_init = initializer_config(cfg.get("alpha_initializer", Json("zeros")));
  l->shared_json = cfg.get("shared_axes", Json());
  if (l->shared_json.is_number()) {
    l->shared_axes.push_back(l->shared_json.as_int());
    Json a = Json::array();
    a.push(l->shared_json);
    l->shared_json = a;
  } else if (l->shared_json.is_array()) {
    for (auto& e : l->shared_json.elements()) {
      if (!e.is_number()) throw Error("layer '" + l->name + "' (PReLU): 'shared_axes' must be integers");
      l->shared_axes.push_back(e.as_int());
    }
  } else if (!l->shared_json.is_null()) {
    throw Error("layer '" + l->name + "' (PReLU): 'shared_axes' must be null or a list of integers");
  }
  return l;
}
KN_REGISTER_LAYER(PReLU, make_prelu);

}  // namespace kn
