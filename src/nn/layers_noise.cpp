// Keras 2.2.5 noise and regularization layers, all identities at inference:
//   Dropout with noise_shape, SpatialDropout1D/2D/3D: one keep/drop draw per
//     element of the noise shape, broadcast over its size-1 axes (spatial:
//     whole channels), kept values scaled by 1 / (1 - rate).
//   GaussianNoise(stddev): y = x + N(0, stddev^2).
//   GaussianDropout(rate): y = x * N(1, rate / (1 - rate)).
//   AlphaDropout(rate): kept = (u >= rate); y = a (x kept + alpha' (1 - kept)) + b,
//     alpha' = -1.6732632423543772 * 1.0507009873554805,
//     a = ((1 - rate)(1 + rate alpha'^2))^-1/2, b = -a alpha' rate.
//   ActivityRegularization(l1, l2): identity whose output carries an activity penalty.
// Random draws are keyed by (step key, element index), so they do not depend
// on the thread count; the mask / noise of the forward is kept for backward.
#include <algorithm>
#include <cmath>

#include "layer.h"
#include "parallel.h"

namespace kn {

namespace {
float normal_at(uint64_t key, uint64_t i) {  // Box-Muller on two keyed uniforms
  const double u1 = uniform_at(key, 2 * i) + 1.0 / 33554432.0, u2 = uniform_at(key, 2 * i + 1);
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
}
template <class F>
void chunks(int64_t n, F&& f) {
  const int64_t grain = 1 << 15;
  parallel_for(n_chunks(n, grain), [&](int64_t t) { f(t * grain, std::min(n, (t + 1) * grain)); });
}
double rate_of(const Json& cfg, const Layer& l, const char* key = "rate") {
  const Json v = cfg.get(key, Json());
  if (!v.is_number() || !(v.as_number() >= 0.0 && v.as_number() < 1.0))
    throw Error("layer '" + l.name + "' (" + l.class_name() + "): '" + key + "' must be a number in [0, 1), got " +
                (v.is_null() ? std::string("nothing") : v.dump()));
  return v.as_number();
}
}  // namespace

// Base: identity at inference; in training y = x * mask (+ shift), where
// forward fills the mask (N, ...) (and the constant shift).
class NoiseLayer : public Layer {
 public:
  Shape build(const std::vector<Shape>& in, Rng&) override { built_ = true; return in.at(0); }
  virtual bool active() const = 0;
  // Fills mask (x's shape) for this step; returns the additive term per
  // element (mask_shift: y = x * mask + shift[i], shift empty = 0).
  virtual void draw(const RunContext& ctx, const Tensor& x, Tensor& mask, Tensor& shift) = 0;
  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];  // (N, ...)
    const int64_t n = x.size();
    if (!ctx.training || !active()) { std::copy(x.ptr(), x.ptr() + n, out.ptr()); return; }
    ctx.scratch->at(1);                  // size the scratch first: at() may reallocate
    Tensor& mask = ctx.scratch->at(0);   // (N, ...)
    Tensor& shift = ctx.scratch->at(1);  // (N, ...) or empty
    mask.resize(x.shape);
    draw(ctx, x, mask, shift);
    const bool sh = shift.size() == n;
    chunks(n, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) out.data[i] = x.data[i] * mask.data[i] + (sh ? shift.data[i] : 0.0f);
    });
  }
  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor&, const Tensor& dout,
                const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    const int64_t n = in[0]->size();
    float* dx = din[0]->ptr();  // (N, ...)
    if (!ctx.training || !active()) { for (int64_t i = 0; i < n; ++i) dx[i] += dout.data[i]; return; }
    const Tensor& mask = ctx.scratch->at(0);  // (N, ...) from the training forward
    if (mask.size() != n) throw Error("layer '" + name + "': backward called without a matching forward");
    chunks(n, [&](int64_t lo, int64_t hi) { for (int64_t i = lo; i < hi; ++i) dx[i] += dout.data[i] * mask.data[i]; });
  }
};

// ---------------------------------------------------------------- Dropout with a noise shape, SpatialDropout
class ShapedDropout : public NoiseLayer {
 public:
  std::string cls = "Dropout";
  double rate = 0.5;
  std::vector<int64_t> noise;  // per full-tensor axis: size, or -1 = the input's size
  Json noise_json, seed;
  std::string data_format;     // SpatialDropout2D/3D only
  std::string class_name() const override { return cls; }
  bool active() const override { return rate > 0.0; }

  Shape build(const std::vector<Shape>& in, Rng&) override {
    const Shape& s = in.at(0);
    if (cls != "Dropout") {  // spatial: one draw per (sample, channel)
      const size_t want = cls == "SpatialDropout1D" ? 2 : cls == "SpatialDropout2D" ? 3 : 4;
      if (s.size() != want)
        throw Error("layer '" + name + "' (" + cls + ") expects inputs of rank " + std::to_string(want + 1) +
                    " (batch included), got " + shape_str(s));
      noise.assign(want + 1, 1);
      noise[0] = -1;
      noise[data_format == "channels_first" ? 1 : want] = -1;
    } else if (noise.size() != s.size() + 1) {
      throw Error("layer '" + name + "' (Dropout): noise_shape has " + std::to_string(noise.size()) +
                  " entries but the input " + shape_str(s) + " has rank " + std::to_string(s.size() + 1));
    }
    for (size_t d = 1; d < noise.size(); ++d)
      if (noise[d] != -1 && noise[d] != 1 && noise[d] != s[d - 1])
        throw Error("layer '" + name + "' (" + cls + "): noise_shape entry " + std::to_string(noise[d]) +
                    " must be 1 or the input's size " + std::to_string(s[d - 1]) + " for input " + shape_str(s));
    built_ = true;
    return s;
  }
  void draw(const RunContext& ctx, const Tensor& x, Tensor& mask, Tensor& shift) override {
    shift.resize({0});
    const int64_t rank = static_cast<int64_t>(x.shape.size()), n = x.size();
    std::vector<bool> bcast(static_cast<size_t>(rank));  // axis broadcast (noise size 1 < input size)
    for (int64_t d = 0; d < rank; ++d) bcast[d] = noise[d] == 1 && x.shape[d] != 1;
    const float keep = static_cast<float>(1.0 - rate), scale = 1.0f / keep;
    const uint64_t key = ctx.step_key;
    chunks(n, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        int64_t rem = i, idx = 0, mult = 1;  // index of element i in the noise tensor
        for (int64_t d = rank - 1; d >= 0; --d) {
          const int64_t c = rem % x.shape[d];
          rem /= x.shape[d];
          if (!bcast[d]) { idx += c * mult; mult *= x.shape[d]; }
        }
        mask.data[i] = uniform_at(key, static_cast<uint64_t>(idx)) < keep ? scale : 0.0f;
      }
    });
  }
  Json config() const override {
    Json c = base_config();
    c.set("rate", rate);
    c.set("noise_shape", noise_json);
    c.set("seed", seed);
    if (!data_format.empty()) c.set("data_format", data_format);
    return c;
  }
};

LayerPtr make_shaped_dropout(const Json& cfg, const std::string& cls) {
  auto l = std::make_shared<ShapedDropout>();
  l->cls = cls;
  apply_base_config(*l, cfg);
  l->rate = rate_of(cfg, *l);
  l->seed = cfg.get("seed", Json());
  l->noise_json = cfg.get("noise_shape", Json());
  if (cls == "Dropout") {
    if (!l->noise_json.is_array() || l->noise_json.size() < 1)
      throw Error("layer '" + l->name + "' (Dropout): noise_shape must be a list of sizes (null for the batch)");
    for (auto& e : l->noise_json.elements()) {
      if (e.is_null()) { l->noise.push_back(-1); continue; }
      if (!e.is_number() || e.as_number() < 1 || e.as_number() != std::floor(e.as_number()))
        throw Error("layer '" + l->name + "' (Dropout): noise_shape entries must be positive whole numbers or null, got " + e.dump());
      l->noise.push_back(e.as_int());
    }
    if (l->noise[0] != -1) l->noise[0] = -1;  // the batch draws per sample whatever size is given
  } else if (cls != "SpatialDropout1D") {
    l->data_format = config_lower(cfg, "data_format", "channels_last");
    if (l->data_format != "channels_last" && l->data_format != "channels_first")
      throw Error("layer '" + l->name + "' (" + cls + "): data_format must be 'channels_last' or 'channels_first'");
  }
  return l;
}
// Dropout with a noise_shape (layers_core.cpp's factory hands those over).
LayerPtr make_dropout_noise_shape(const Json& cfg) { return make_shaped_dropout(cfg, "Dropout"); }
LayerPtr make_spatial_dropout1d(const Json& cfg) { return make_shaped_dropout(cfg, "SpatialDropout1D"); }
LayerPtr make_spatial_dropout2d(const Json& cfg) { return make_shaped_dropout(cfg, "SpatialDropout2D"); }
LayerPtr make_spatial_dropout3d(const Json& cfg) { return make_shaped_dropout(cfg, "SpatialDropout3D"); }
KN_REGISTER_LAYER(SpatialDropout1D, make_spatial_dropout1d);
KN_REGISTER_LAYER(SpatialDropout2D, make_spatial_dropout2d);
KN_REGISTER_LAYER(SpatialDropout3D, make_spatial_dropout3d);

// ---------------------------------------------------------------- GaussianNoise
class GaussianNoise : public NoiseLayer {
 public:
  double stddev = 0.0;
  std::string class_name() const override { return "GaussianNoise"; }
  bool active() const override { return stddev > 0.0; }
  void draw(const RunContext& ctx, const Tensor& x, Tensor& mask, Tensor& shift) override {
    shift.resize(x.shape);
    const float sd = static_cast<float>(stddev);
    const uint64_t key = ctx.step_key;
    chunks(x.size(), [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) { mask.data[i] = 1.0f; shift.data[i] = sd * normal_at(key, i); }
    });
  }
  Json config() const override {
    Json c = base_config();
    c.set("stddev", stddev);
    return c;
  }
};

LayerPtr make_gaussian_noise(const Json& cfg) {
  auto l = std::make_shared<GaussianNoise>();
  apply_base_config(*l, cfg);
  const Json v = cfg.get("stddev", Json());
  if (!v.is_number() || !(v.as_number() >= 0) || !std::isfinite(v.as_number()))
    throw Error("layer '" + l->name + "' (GaussianNoise): 'stddev' must be a finite number >= 0, got " +
                (v.is_null() ? std::string("nothing") : v.dump()));
  l->stddev = v.as_number();
  return l;
}
KN_REGISTER_LAYER(GaussianNoise, make_gaussian_noise);

// ---------------------------------------------------------------- GaussianDropout
class GaussianDropout : public NoiseLayer {
 public:
  double rate = 0.0;
  std::string class_name() const override { return "GaussianDropout"; }
  bool active() const override { return rate > 0.0; }
  void draw(const RunContext& ctx, const Tensor& x, Tensor& mask, Tensor& shift) override {
    shift.resize({0});
    const float sd = static_cast<float>(std::sqrt(rate / (1.0 - rate)));
    const uint64_t key = ctx.step_key;
    chunks(x.size(), [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) mask.data[i] = 1.0f + sd * normal_at(key, i);
    });
  }
  Json config() const override {
    Json c = base_config();
    c.set("rate", rate);
    return c;
  }
};

LayerPtr make_gaussian_dropout(const Json& cfg) {
  auto l = std::make_shared<GaussianDropout>();
  apply_base_config(*l, cfg);
  l->rate = rate_of(cfg, *l);
  return l;
}
KN_REGISTER_LAYER(GaussianDropout, make_gaussian_dropout);

// ---------------------------------------------------------------- AlphaDropout
class AlphaDropout : public NoiseLayer {
 public:
  double rate = 0.0;
  Json noise_json, seed;
  std::string class_name() const override { return "AlphaDropout"; }
  bool active() const override { return rate > 0.0; }
  void draw(const RunContext& ctx, const Tensor& x, Tensor& mask, Tensor& shift) override {
    const double alpha_p = -1.6732632423543772 * 1.0507009873554805;
    const double a = std::pow((1 - rate) * (1 + rate * alpha_p * alpha_p), -0.5), b = -a * alpha_p * rate;
    const float fa = static_cast<float>(a), kept_shift = static_cast<float>(b),
                drop_shift = static_cast<float>(a * alpha_p + b), r = static_cast<float>(rate);
    shift.resize(x.shape);
    const uint64_t key = ctx.step_key;
    chunks(x.size(), [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) {
        const bool kept = uniform_at(key, static_cast<uint64_t>(i)) >= r;
        mask.data[i] = kept ? fa : 0.0f;
        shift.data[i] = kept ? kept_shift : drop_shift;
      }
    });
  }
  Json config() const override {
    Json c = base_config();
    c.set("rate", rate);
    return c;
  }
};

LayerPtr make_alpha_dropout(const Json& cfg) {
  auto l = std::make_shared<AlphaDropout>();
  apply_base_config(*l, cfg);
  l->rate = rate_of(cfg, *l);
  if (!cfg.get("noise_shape", Json()).is_null())
    throw Error("layer '" + l->name + "' (AlphaDropout): noise_shape is not supported; leave it NULL");
  return l;
}
KN_REGISTER_LAYER(AlphaDropout, make_alpha_dropout);

// ---------------------------------------------------------------- ActivityRegularization
class ActivityRegularization : public Layer {
 public:
  double l1 = 0.0, l2 = 0.0;
  std::string class_name() const override { return "ActivityRegularization"; }
  Shape build(const std::vector<Shape>& in, Rng&) override { built_ = true; return in.at(0); }
  void forward(const RunContext&, const std::vector<const Tensor*>& in, Tensor& out) override {
    std::copy(in[0]->ptr(), in[0]->ptr() + in[0]->size(), out.ptr());  // (N, ...)
  }
  void backward(const RunContext&, const std::vector<const Tensor*>& in, const Tensor&, const Tensor& dout,
                const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    for (int64_t i = 0; i < in[0]->size(); ++i) din[0]->data[i] += dout.data[i];  // the graph added the penalty's gradient
  }
  Json config() const override {
    Json c = base_config();
    c.set("l1", l1);
    c.set("l2", l2);
    return c;
  }
};

LayerPtr make_activity_regularization(const Json& cfg) {
  auto l = std::make_shared<ActivityRegularization>();
  apply_base_config(*l, cfg);
  for (const char* key : {"l1", "l2"}) {
    const Json v = cfg.get(key, Json(0.0));
    if (!v.is_number() || !(v.as_number() >= 0) || !std::isfinite(v.as_number()))
      throw Error("layer '" + l->name + "' (ActivityRegularization): '" + key + "' must be a finite number >= 0, got " + v.dump());
    (std::string(key) == "l1" ? l->l1 : l->l2) = v.as_number();
  }
  auto r = std::make_shared<Regularizer>();
  r->l1 = static_cast<float>(l->l1);
  r->l2 = static_cast<float>(l->l2);
  l->activity_regularizer = r;
  return l;
}
KN_REGISTER_LAYER(ActivityRegularization, make_activity_regularization);

}  // namespace kn
