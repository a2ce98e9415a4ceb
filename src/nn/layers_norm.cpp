// BatchNormalization and LeakyReLU (Keras 2.2.5 with the TensorFlow 1.x backend).
//
// BatchNormalization over the last (channels) axis; rows = all other positions.
//  training:  y = gamma * (x - mean_B) / sqrt(var_B + eps) + beta, with the batch
//             mean and the BIASED batch variance var_B (as tf.nn.moments and
//             tf.nn.fused_batch_norm normalise). The moving statistics are
//             updated in forward (TF's assign_moving_average, zero_debias=False):
//               moving = moving * momentum + batch * (1 - momentum).
//             The variance fed to the update is, as in Keras 2.2's
//             BatchNormalization.call, the backend's batch variance times
//             m / (m - (1 + epsilon)) (m = rows; Keras's "unbiased" correction).
//             The backend's batch variance is itself already Bessel-corrected
//             (times m / (m - 1)) when Keras 2.2 takes the fused path, i.e. for
//             4-D (N, H, W, C) inputs; 2-D/3-D inputs use tf.nn.moments (biased).
//             We reproduce both: 4-D -> var_B * m/(m-1) * m/(m-1-eps), else
//             var_B * m/(m-1-eps). When m <= 1 + eps the correction is skipped.
//  inference: y = gamma * (x - moving_mean) / sqrt(moving_variance + eps) + beta.
// Weights in Keras order: gamma (if scale), beta (if center), moving_mean,
// moving_variance (the last two non-trainable).
#include <algorithm>
#include <cmath>

#include "initializers.h"
#include "layer.h"
#include "parallel.h"

namespace kn {

namespace {
Json null_json() { return Json(); }
constexpr int64_t kRowGrain = 1024;  // rows per statistics task (fixed: thread-count independent)
}  // namespace

// ---------------------------------------------------------------- BatchNormalization
class BatchNormalization : public Layer {
 public:
  int64_t axis = -1;
  double momentum = 0.99, epsilon = 1e-3;
  bool center = true, scale = true;
  Json beta_init, gamma_init, mean_init, var_init;
  int ig = -1, ib = -1, im = -1, iv = -1;  // param indices
  int64_t in_rank = 0;                      // per-sample rank seen at build

  std::string class_name() const override { return "BatchNormalization"; }
  bool supports_masking() const override { return true; }  // passes the input mask on (Keras)

  Shape build(const std::vector<Shape>& in, Rng& rng) override {
    const Shape& s = in.at(0);
    const int64_t r = static_cast<int64_t>(s.size());  // full rank is r + 1
    if (r < 1)
      throw Error("layer '" + name + "' (BatchNormalization) needs inputs with at least one feature axis");
    if (!(axis == -1 || axis == r))
      throw Error("layer '" + name + "' (BatchNormalization): only the last (channels) axis is supported "
                  "(axis = -1 or " + std::to_string(r) + " for input " + shape_str(s) + "), got axis = " +
                  std::to_string(axis));
    const int64_t C = s.back();
    if (!built_) {
      in_rank = r;
      params.clear();
      auto add = [&](const char* nm, const Json& init, bool tr) {
        Param p;
        p.name = nm;
        p.value = Tensor({C});  // (C)
        initialize(p.value, init, C, C, rng);
        p.grad = Tensor({C});
        p.trainable = tr;
        params.push_back(std::move(p));
        return static_cast<int>(params.size()) - 1;
      };
      if (scale) ig = add("gamma", gamma_init, true);
      if (center) ib = add("beta", beta_init, true);
      im = add("moving_mean", mean_init, false);
      iv = add("moving_variance", var_init, false);
      built_ = true;
    } else if (params[im].value.shape[0] != C) {
      throw Error("layer '" + name + "' (BatchNormalization) was built for " +
                  std::to_string(params[im].value.shape[0]) + " channels but got " + shape_str(s));
    }
    return s;
  }

  // Per-channel sums over rows [0, M) of f(x(r, c)), in fixed row chunks
  // reduced in order: deterministic whatever the thread count. Result in out (C).
  template <class F>
  static void channel_sums(const float* x, int64_t M, int64_t C, std::vector<double>& part,
                           double* out, F f) {
    const int64_t T = n_chunks(M, kRowGrain);
    part.assign(static_cast<size_t>(T * C), 0.0);  // (T, C)
    parallel_for(T, [&](int64_t t) {
      double* p = part.data() + t * C;
      const int64_t r1 = std::min(M, (t + 1) * kRowGrain);
      for (int64_t r = t * kRowGrain; r < r1; ++r) {
        const float* row = x + r * C;
        for (int64_t c = 0; c < C; ++c) p[c] += f(row[c], c);
      }
    });
    std::fill(out, out + C, 0.0);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < C; ++c) out[c] += part[t * C + c];
  }

  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];  // (N, ..., C) viewed as (M, C)
    const int64_t C = x.shape.back(), M = x.size() / C;
    Tensor& stats = ctx.scratch->at(0);  // (2, C): mean, inv_std used by this forward
    stats.resize({2, C});
    float* mean = stats.ptr();
    float* inv_std = stats.ptr() + C;
    const float* gamma = ig >= 0 ? params[ig].value.ptr() : nullptr;
    const float* beta = ib >= 0 ? params[ib].value.ptr() : nullptr;
    float* mm = params[im].value.ptr();
    float* mv = params[iv].value.ptr();
    if (ctx.training) {
      std::vector<double> part, s1(C), s2(C);
      channel_sums(x.ptr(), M, C, part, s1.data(), [](float v, int64_t) { return double(v); });
      for (int64_t c = 0; c < C; ++c) s1[c] /= double(M);
      const double* mu = s1.data();
      channel_sums(x.ptr(), M, C, part, s2.data(), [mu](float v, int64_t c) {
        const double d = double(v) - mu[c];
        return d * d;
      });
      const double m = double(M);
      double corr = 1.0;  // see the header comment
      if (m > 1.0 + epsilon) corr = m / (m - (1.0 + epsilon));
      if (x.shape.size() == 4 && m > 1.0) corr *= m / (m - 1.0);
      for (int64_t c = 0; c < C; ++c) {
        const double var = s2[c] / m;  // biased
        mean[c] = static_cast<float>(mu[c]);
        inv_std[c] = static_cast<float>(1.0 / std::sqrt(var + epsilon));
        mm[c] = static_cast<float>(mm[c] * momentum + mu[c] * (1.0 - momentum));
        mv[c] = static_cast<float>(mv[c] * momentum + var * corr * (1.0 - momentum));
      }
    } else {
      for (int64_t c = 0; c < C; ++c) {
        mean[c] = mm[c];
        inv_std[c] = static_cast<float>(1.0 / std::sqrt(double(mv[c]) + epsilon));
      }
    }
    // y = (x - mean) * (gamma * inv_std) + beta
    std::vector<float> a(C), b(C);  // (C) scale and shift
    for (int64_t c = 0; c < C; ++c) {
      a[c] = (gamma ? gamma[c] : 1.0f) * inv_std[c];
      b[c] = (beta ? beta[c] : 0.0f) - mean[c] * a[c];
    }
    parallel_for(n_chunks(M, kRowGrain), [&](int64_t t) {
      const int64_t r1 = std::min(M, (t + 1) * kRowGrain);
      for (int64_t r = t * kRowGrain; r < r1; ++r) {
        const float* xr = x.ptr() + r * C;
        float* yr = out.ptr() + r * C;
        for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * a[c] + b[c];
      }
    });
  }

  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor&,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    const Tensor& x = *in[0];  // (M, C)
    const int64_t C = x.shape.back(), M = x.size() / C;
    const Tensor& stats = ctx.scratch->at(0);  // (2, C) from forward
    if (stats.size() != 2 * C)
      throw Error("layer '" + name + "': backward called without a matching forward");
    const float* mean = stats.ptr();
    const float* inv_std = stats.ptr() + C;
    const float* gamma = ig >= 0 ? params[ig].value.ptr() : nullptr;
    const float* dy = dout.ptr();
    // sum(dy) and sum(dy * xhat) per channel, xhat = (x - mean) * inv_std
    std::vector<double> part, sdy(C), sdyx(C);
    channel_sums(dy, M, C, part, sdy.data(), [](float v, int64_t) { return double(v); });
    {
      const int64_t T = n_chunks(M, kRowGrain);
      part.assign(static_cast<size_t>(T * C), 0.0);  // (T, C)
      parallel_for(T, [&](int64_t t) {
        double* p = part.data() + t * C;
        const int64_t r1 = std::min(M, (t + 1) * kRowGrain);
        for (int64_t r = t * kRowGrain; r < r1; ++r) {
          const float* xr = x.ptr() + r * C;
          const float* dr = dy + r * C;
          for (int64_t c = 0; c < C; ++c) p[c] += double(dr[c]) * (double(xr[c]) - mean[c]) * inv_std[c];
        }
      });
      for (int64_t t = 0; t < T; ++t)
        for (int64_t c = 0; c < C; ++c) sdyx[c] += part[t * C + c];
    }
    if (trainable) {
      if (ig >= 0) for (int64_t c = 0; c < C; ++c) params[ig].grad.data[c] += static_cast<float>(sdyx[c]);
      if (ib >= 0) for (int64_t c = 0; c < C; ++c) params[ib].grad.data[c] += static_cast<float>(sdy[c]);
    }
    if (!din[0]) return;
    float* dx = din[0]->ptr();
    // training: dx = g*inv_std * (dy - mean(dy) - xhat * mean(dy*xhat)); inference: g*inv_std*dy
    std::vector<float> k(C), mdy(C), mdyx(C);
    for (int64_t c = 0; c < C; ++c) {
      k[c] = (gamma ? gamma[c] : 1.0f) * inv_std[c];
      mdy[c] = ctx.training ? static_cast<float>(sdy[c] / double(M)) : 0.0f;
      mdyx[c] = ctx.training ? static_cast<float>(sdyx[c] / double(M)) : 0.0f;
    }
    parallel_for(n_chunks(M, kRowGrain), [&](int64_t t) {
      const int64_t r1 = std::min(M, (t + 1) * kRowGrain);
      for (int64_t r = t * kRowGrain; r < r1; ++r) {
        const float* xr = x.ptr() + r * C;
        const float* dr = dy + r * C;
        float* o = dx + r * C;
        for (int64_t c = 0; c < C; ++c) {
          const float xhat = (xr[c] - mean[c]) * inv_std[c];
          o[c] += k[c] * (dr[c] - mdy[c] - xhat * mdyx[c]);
        }
      }
    });
  }

  Json config() const override {
    Json c = base_config();
    c.set("axis", axis);
    c.set("momentum", momentum);
    c.set("epsilon", epsilon);
    c.set("center", center);
    c.set("scale", scale);
    c.set("beta_initializer", beta_init);
    c.set("gamma_initializer", gamma_init);
    c.set("moving_mean_initializer", mean_init);
    c.set("moving_variance_initializer", var_init);
    c.set("beta_regularizer", null_json());
    c.set("gamma_regularizer", null_json());
    c.set("beta_constraint", null_json());
    c.set("gamma_constraint", null_json());
    return c;
  }
};

LayerPtr make_batch_normalization(const Json& cfg) {
  auto l = std::make_shared<BatchNormalization>();
  apply_base_config(*l, cfg);
  const Json ax = cfg.get("axis", Json(-1));
  if (ax.is_array()) {
    if (ax.size() != 1)
      throw Error("layer '" + l->name + "' (BatchNormalization): only a single (last) axis is supported");
    l->axis = ax[0].as_int();
  } else {
    l->axis = ax.as_int();
  }
  l->momentum = cfg.get("momentum", Json(0.99)).as_number();
  l->epsilon = cfg.get("epsilon", Json(1e-3)).as_number();
  if (!(l->epsilon > 0.0))
    throw Error("layer '" + l->name + "' (BatchNormalization): epsilon must be positive");
  l->center = cfg.get("center", Json(true)).as_bool();
  l->scale = cfg.get("scale", Json(true)).as_bool();
  l->beta_init = initializer_config(cfg.get("beta_initializer", Json("zeros")));
  l->gamma_init = initializer_config(cfg.get("gamma_initializer", Json("ones")));
  l->mean_init = initializer_config(cfg.get("moving_mean_initializer", Json("zeros")));
  l->var_init = initializer_config(cfg.get("moving_variance_initializer", Json("ones")));
  return l;
}
KN_REGISTER_LAYER(BatchNormalization, make_batch_normalization);

// ---------------------------------------------------------------- LeakyReLU
class LeakyReLU : public Layer {
 public:
  double alpha = 0.3;
  std::string class_name() const override { return "LeakyReLU"; }
  bool supports_masking() const override { return true; }  // passes the input mask on (Keras)
  Shape build(const std::vector<Shape>& in, Rng&) override { built_ = true; return in.at(0); }

  void forward(const RunContext&, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];  // (N, ...)
    const int64_t n = x.size(), grain = 1 << 15;
    const float a = static_cast<float>(alpha);
    parallel_for(n_chunks(n, grain), [&](int64_t t) {
      const int64_t hi = std::min(n, (t + 1) * grain);
      for (int64_t i = t * grain; i < hi; ++i) out.data[i] = x.data[i] > 0.0f ? x.data[i] : a * x.data[i];
    });
  }

  void backward(const RunContext&, const std::vector<const Tensor*>& in, const Tensor&,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    const Tensor& x = *in[0];  // (N, ...)
    const int64_t n = x.size(), grain = 1 << 15;
    const float a = static_cast<float>(alpha);
    float* dx = din[0]->ptr();
    parallel_for(n_chunks(n, grain), [&](int64_t t) {
      const int64_t hi = std::min(n, (t + 1) * grain);
      for (int64_t i = t * grain; i < hi; ++i) dx[i] += x.data[i] > 0.0f ? dout.data[i] : a * dout.data[i];
    });
  }

  Json config() const override {
    Json c = base_config();
    c.set("alpha", alpha);
    return c;
  }
};

LayerPtr make_leaky_relu(const Json& cfg) {
  auto l = std::make_shared<LeakyReLU>();
  apply_base_config(*l, cfg);
  l->alpha = cfg.get("alpha", Json(0.3)).as_number();
  return l;
}
KN_REGISTER_LAYER(LeakyReLU, make_leaky_relu);

}  // namespace kn
