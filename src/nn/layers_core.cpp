// Core layers: Dense, Dropout, Activation, Flatten.
#include <algorithm>

#include "activations.h"
#include "gemm.h"
#include "initializers.h"
#include "layer.h"
#include "parallel.h"
#include "vec_ops.h"

namespace kn {

namespace {
Json null_json() { return Json(); }
Json act_json(const Json& cfg) {
  const Json a = cfg.get("activation", Json("linear"));
  return a.is_string() ? a : Json("linear");
}
}  // namespace

// ---------------------------------------------------------------- Dense
class Dense : public Layer {
 public:
  int64_t units = 0;
  Activation act = Activation::Linear;
  bool use_bias = true;
  Json kernel_init, bias_init;

  std::string class_name() const override { return "Dense"; }
  bool supports_masking() const override { return true; }  // passes the input mask on (Keras)

  Shape build(const std::vector<Shape>& in, Rng& rng) override {
    const Shape& s = in.at(0);
    if (s.empty())
      throw Error("layer '" + name + "' (Dense) needs an input with at least 1 dimension");
    const int64_t fan_in = s.back();
    if (!built_) {
      params.resize(use_bias ? 2 : 1);
      params[0].name = "kernel";
      params[0].value = Tensor({fan_in, units});  // (in, units)
      initialize(params[0].value, kernel_init, fan_in, units, rng);
      if (use_bias) {
        params[1].name = "bias";
        params[1].value = Tensor({units});  // (units)
        initialize(params[1].value, bias_init, units, units, rng);
      }
      for (auto& p : params) p.grad = Tensor(p.value.shape);
      built_ = true;
    } else if (params[0].value.shape[0] != fan_in) {
      throw Error("layer '" + name + "' (Dense) expects inputs with last dimension " +
                  std::to_string(params[0].value.shape[0]) + " but got " + shape_str(s));
    }
    Shape out = s;
    out.back() = units;
    return out;
  }

  void forward(const RunContext&, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];                   // (rows, in) after folding leading dims
    const int64_t k = params[0].value.shape[0];
    const int64_t rows = x.size() / k;
    float* y = out.ptr();                       // (rows, units)
    if (use_bias) {
      const float* b = params[1].value.ptr();   // (units)
      for (int64_t r = 0; r < rows; ++r) std::copy(b, b + units, y + r * units);
    }
    sgemm(false, false, rows, units, k, 1.0f, x.ptr(), k, params[0].value.ptr(), units,
          use_bias ? 1.0f : 0.0f, y, units);
    activation_forward(act, y, rows, units);
  }

  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor& out,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    const Tensor& x = *in[0];
    const int64_t k = params[0].value.shape[0];
    const int64_t rows = x.size() / k;
    Tensor& dz = ctx.scratch->at(0);            // (rows, units): gradient before activation
    dz.resize({rows, units});
    activation_backward(act, out.ptr(), dout.ptr(), dz.ptr(), rows, units);
    if (trainable) {
      // dW (in, units) += x^T (in, rows) * dz (rows, units)
      sgemm(true, false, k, units, rows, 1.0f, x.ptr(), k, dz.ptr(), units, 1.0f,
            params[0].grad.ptr(), units);
      if (use_bias) {
        float* db = params[1].grad.ptr();       // (units)
        for (int64_t r = 0; r < rows; ++r) {
          const float* z = dz.ptr() + r * units;
          for (int64_t j = 0; j < units; ++j) db[j] += z[j];
        }
      }
    }
    if (din[0]) {
      // dx (rows, in) += dz (rows, units) * W^T (units, in)
      sgemm(false, true, rows, k, units, 1.0f, dz.ptr(), units, params[0].value.ptr(), units,
            1.0f, din[0]->ptr(), k);
    }
  }

  Json config() const override {
    Json c = base_config();
    c.set("units", units);
    c.set("activation", activation_name(act));
    c.set("use_bias", use_bias);
    c.set("kernel_initializer", kernel_init);
    c.set("bias_initializer", bias_init);
    c.set("kernel_regularizer", null_json());
    c.set("bias_regularizer", null_json());
    c.set("activity_regularizer", null_json());
    c.set("kernel_constraint", null_json());
    c.set("bias_constraint", null_json());
    return c;
  }
};

LayerPtr make_dense(const Json& cfg) {
  auto l = std::make_shared<Dense>();
  apply_base_config(*l, cfg);
  l->units = config_count(cfg, "units", *l);
  if (l->units <= 0) throw Error("layer '" + l->name + "': units must be a positive integer");
  l->act = activation_from_name(act_json(cfg).as_string());
  l->use_bias = cfg.get("use_bias", Json(true)).as_bool();
  l->kernel_init = initializer_config(cfg.get("kernel_initializer", Json("glorot_uniform")));
  l->bias_init = initializer_config(cfg.get("bias_initializer", Json("zeros")));
  return l;
}
KN_REGISTER_LAYER(Dense, make_dense);

// ---------------------------------------------------------------- Dropout
class Dropout : public Layer {
 public:
  double rate = 0.5;
  Json seed;
  std::string class_name() const override { return "Dropout"; }
  bool supports_masking() const override { return true; }  // passes the input mask on (Keras)
  Shape build(const std::vector<Shape>& in, Rng&) override { built_ = true; return in.at(0); }

  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];                   // (N, ...)
    const int64_t n = x.size();
    if (!ctx.training || rate <= 0.0) { std::copy(x.ptr(), x.ptr() + n, out.ptr()); return; }
    Tensor& mask = ctx.scratch->at(0);          // (N, ...) of 0 or 1/(1-rate)
    mask.resize(x.shape);
    const float keep = static_cast<float>(1.0 - rate), scale = 1.0f / keep;
    const int64_t grain = 1 << 14;
    const uint64_t key = ctx.step_key;
    parallel_for(n_chunks(n, grain), [&](int64_t c) {
      const int64_t lo = c * grain, hi = std::min(n, lo + grain);
      vec::dropout(x.ptr(), out.ptr(), mask.ptr(), lo, hi, key, keep, scale);
    });
  }

  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor&,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    const int64_t n = in[0]->size();
    float* dx = din[0]->ptr();
    if (!ctx.training || rate <= 0.0) { for (int64_t i = 0; i < n; ++i) dx[i] += dout.data[i]; return; }
    const Tensor& mask = ctx.scratch->at(0);    // (N, ...) from the training forward
    if (mask.size() != n) throw Error("layer '" + name + "': backward called without a matching forward");
    for (int64_t i = 0; i < n; ++i) dx[i] += dout.data[i] * mask.data[i];
  }

  Json config() const override {
    Json c = base_config();
    c.set("rate", rate);
    c.set("noise_shape", Json());
    c.set("seed", seed);
    return c;
  }
};

LayerPtr make_dropout_noise_shape(const Json& cfg);  // layers_noise.cpp

LayerPtr make_dropout(const Json& cfg) {
  if (!cfg.get("noise_shape", Json()).is_null()) return make_dropout_noise_shape(cfg);
  auto l = std::make_shared<Dropout>();
  apply_base_config(*l, cfg);
  l->rate = cfg["rate"].as_number();
  if (!(l->rate >= 0.0 && l->rate < 1.0))
    throw Error("layer '" + l->name + "': rate must be in [0, 1), got " + std::to_string(l->rate));
  l->seed = cfg.get("seed", Json());
  return l;
}
KN_REGISTER_LAYER(Dropout, make_dropout);

// ---------------------------------------------------------------- Activation
class ActivationLayer : public Layer {
 public:
  Activation act = Activation::Linear;
  std::string class_name() const override { return "Activation"; }
  bool supports_masking() const override { return true; }  // passes the input mask on (Keras)
  Shape build(const std::vector<Shape>& in, Rng&) override {
    if (act == Activation::Softmax && in.at(0).empty())
      throw Error("layer '" + name + "': softmax needs at least one feature dimension");
    built_ = true;
    return in.at(0);
  }
  void forward(const RunContext&, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];  // (N, ..., C)
    std::copy(x.ptr(), x.ptr() + x.size(), out.ptr());
    const int64_t cols = x.shape.size() > 1 ? x.shape.back() : 1;
    activation_forward(act, out.ptr(), x.size() / cols, cols);
  }
  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor& out,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    const int64_t cols = out.shape.size() > 1 ? out.shape.back() : 1;
    Tensor& tmp = ctx.scratch->at(0);  // (N, ..., C)
    tmp.resize(out.shape);
    activation_backward(act, out.ptr(), dout.ptr(), tmp.ptr(), out.size() / cols, cols);
    float* dx = din[0]->ptr();
    for (int64_t i = 0; i < tmp.size(); ++i) dx[i] += tmp.data[i];
    (void)in;
  }
  Json config() const override {
    Json c = base_config();
    c.set("activation", activation_name(act));
    return c;
  }
};

LayerPtr make_activation(const Json& cfg) {
  auto l = std::make_shared<ActivationLayer>();
  apply_base_config(*l, cfg);
  l->act = activation_from_name(act_json(cfg).as_string());
  return l;
}
KN_REGISTER_LAYER(Activation, make_activation);

// ---------------------------------------------------------------- Flatten
class Flatten : public Layer {
 public:
  std::string class_name() const override { return "Flatten"; }
  Shape build(const std::vector<Shape>& in, Rng&) override {
    built_ = true;
    return {shape_numel(in.at(0))};  // (H*W*C), C fastest as Keras
  }
  void forward(const RunContext&, const std::vector<const Tensor*>& in, Tensor& out) override {
    std::copy(in[0]->ptr(), in[0]->ptr() + in[0]->size(), out.ptr());
  }
  void backward(const RunContext&, const std::vector<const Tensor*>&, const Tensor&,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    float* dx = din[0]->ptr();
    for (int64_t i = 0; i < dout.size(); ++i) dx[i] += dout.data[i];
  }
  Json config() const override {
    Json c = base_config();
    c.set("data_format", "channels_last");
    return c;
  }
};

LayerPtr make_flatten(const Json& cfg) {
  auto l = std::make_shared<Flatten>();
  apply_base_config(*l, cfg);
  return l;
}
KN_REGISTER_LAYER(Flatten, make_flatten);

}  // namespace kn
