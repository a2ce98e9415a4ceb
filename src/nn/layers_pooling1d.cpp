// Temporal (1D, channels-last) layers: GlobalAveragePooling1D (masked mean as
// Keras 2.2.5 when the input carries a mask), GlobalMaxPooling1D,
// UpSampling1D, Cropping1D, ZeroPadding1D. Inputs (N, steps, C).
#include <algorithm>
#include <limits>
#include <string>

#include "layer.h"

namespace kn {

namespace {
// (steps, C) per sample, else an error naming the layer.
void check_temporal(const Layer& l, const Shape& s) {
  if (s.size() != 2)
    throw Error("layer '" + l.name + "' (" + l.class_name() + ") expects inputs of shape (batch, steps, channels), got " +
                shape_str(s));
}

void check_channels_last(const Json& cfg, const Layer& l) {
  const std::string df = config_lower(cfg, "data_format", "channels_last");
  if (df != "channels_last")
    throw Error("layer '" + l.name + "' (" + l.class_name() + "): data_format '" + df + "' is not supported; only 'channels_last'");
}

// A non-negative count entry (int or [a, b]) -> n values.
std::vector<int64_t> counts(const Json& cfg, const std::string& key, size_t n, int64_t dflt, const Layer& l, int64_t min) {
  if (!cfg.has(key) || cfg[key].is_null()) return std::vector<int64_t>(n, dflt);
  std::vector<int64_t> v;
  try {
    v = config_ints(cfg, key, n);
  } catch (const Error& e) {
    throw Error("layer '" + l.name + "' (" + l.class_name() + "): " + e.what());
  }
  for (int64_t x : v)
    if (x < min || x > kMaxNumel)
      throw Error("layer '" + l.name + "' (" + l.class_name() + "): " + key + " must be whole numbers >= " +
                  std::to_string(min) + ", got " + dims_text(v));
  return v;
}
}  // namespace

// ---------------------------------------------------------------- global pooling
class GlobalPooling1D : public Layer {
 public:
  bool is_max = false;
  std::string class_name() const override { return is_max ? "GlobalMaxPooling1D" : "GlobalAveragePooling1D"; }
  // Keras 2.2.5: the average honours the input mask (and drops it); max does not support masks.
  bool supports_masking() const override { return !is_max; }
  MaskOut output_mask(const std::vector<bool>&) const override { return MaskOut::None; }

  Shape build(const std::vector<Shape>& in, Rng&) override {
    check_temporal(*this, in.at(0));
    built_ = true;
    return {in[0][1]};  // (C)
  }

  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];                  // (N, T, C)
    const int64_t N = x.shape[0], T = x.shape[1], C = x.shape[2];
    const Tensor* m = ctx.mask(0);             // (N, T) or null
    for (int64_t n = 0; n < N; ++n) {
      float* y = out.ptr() + n * C;            // (C)
      if (is_max) {
        std::fill(y, y + C, -std::numeric_limits<float>::infinity());
        for (int64_t t = 0; t < T; ++t)
          for (int64_t c = 0; c < C; ++c) y[c] = std::max(y[c], x.data[(n * T + t) * C + c]);
        continue;
      }
      std::fill(y, y + C, 0.0f);
      float wsum = 0.0f;
      for (int64_t t = 0; t < T; ++t) {
        const float w = m ? m->data[n * T + t] : 1.0f;
        wsum += w;
        for (int64_t c = 0; c < C; ++c) y[c] += w * x.data[(n * T + t) * C + c];
      }
      for (int64_t c = 0; c < C; ++c) y[c] /= wsum;  // all masked: 0/0 as Keras
    }
  }

  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& dout,
                const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    const Tensor& x = *in[0];                  // (N, T, C)
    const int64_t N = x.shape[0], T = x.shape[1], C = x.shape[2];
    const Tensor* m = ctx.mask(0);
    float* dx = din[0]->ptr();                 // (N, T, C)
    for (int64_t n = 0; n < N; ++n) {
      const float* g = dout.ptr() + n * C;     // (C)
      if (is_max) {  // to the first maximum of each channel
        for (int64_t c = 0; c < C; ++c)
          for (int64_t t = 0; t < T; ++t)
            if (x.data[(n * T + t) * C + c] == out.data[n * C + c]) {
              dx[(n * T + t) * C + c] += g[c];
              break;
            }
        continue;
      }
      float wsum = 0.0f;
      for (int64_t t = 0; t < T; ++t) wsum += m ? m->data[n * T + t] : 1.0f;
      for (int64_t t = 0; t < T; ++t) {
        const float w = (m ? m->data[n * T + t] : 1.0f) / wsum;
        for (int64_t c = 0; c < C; ++c) dx[(n * T + t) * C + c] += w * g[c];
      }
    }
  }

  Json config() const override {
    Json c = base_config();
    c.set("data_format", "channels_last");
    return c;
  }
};

template <bool Max>
LayerPtr make_global_pooling1d(const Json& cfg) {
  auto l = std::make_shared<GlobalPooling1D>();
  l->is_max = Max;
  apply_base_config(*l, cfg);
  check_channels_last(cfg, *l);
  return l;
}
LayerPtr make_global_max_pooling1d(const Json& cfg) { return make_global_pooling1d<true>(cfg); }
LayerPtr make_global_average_pooling1d(const Json& cfg) { return make_global_pooling1d<false>(cfg); }
KN_REGISTER_LAYER(GlobalMaxPooling1D, make_global_max_pooling1d);
KN_REGISTER_LAYER(GlobalAveragePooling1D, make_global_average_pooling1d);

// ---------------------------------------------------------------- resampling along steps
// Output step t' reads input step src(t') (or zero padding, src = -1):
// UpSampling1D: t' / size; Cropping1D: t' + left; ZeroPadding1D: t' - left.
class TemporalMap : public Layer {
 public:
  enum Kind { UpSampling, Cropping, ZeroPadding } kind = UpSampling;
  int64_t size = 2;                 // UpSampling1D
  int64_t left = 0, right = 0;      // Cropping1D / ZeroPadding1D

  std::string class_name() const override {
    return kind == UpSampling ? "UpSampling1D" : kind == Cropping ? "Cropping1D" : "ZeroPadding1D";
  }

  Shape build(const std::vector<Shape>& in, Rng&) override {
    const Shape& s = in.at(0);
    check_temporal(*this, s);
    int64_t T = s[0];
    if (kind == UpSampling) T *= size;
    else if (kind == Cropping) T -= left + right;
    else T += left + right;
    if (T <= 0)
      throw Error("layer '" + name + "' (Cropping1D): cropping (" + std::to_string(left) + ", " +
                  std::to_string(right) + ") removes all " + std::to_string(s[0]) + " steps");
    checked_numel({T, s[1]}, "layer '" + name + "' output");
    built_ = true;
    return {T, s[1]};  // (T', C)
  }

  int64_t src(int64_t t, int64_t T) const {
    if (kind == UpSampling) return t / size;
    if (kind == Cropping) return t + left;
    const int64_t u = t - left;
    return u >= 0 && u < T ? u : -1;
  }

  void forward(const RunContext&, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];                  // (N, T, C)
    const int64_t N = x.shape[0], T = x.shape[1], C = x.shape[2], To = out.shape[1];
    for (int64_t n = 0; n < N; ++n)
      for (int64_t t = 0; t < To; ++t) {
        float* y = out.ptr() + (n * To + t) * C;   // (C)
        const int64_t s = src(t, T);
        if (s < 0) std::fill(y, y + C, 0.0f);
        else std::copy(x.ptr() + (n * T + s) * C, x.ptr() + (n * T + s + 1) * C, y);
      }
  }

  void backward(const RunContext&, const std::vector<const Tensor*>& in, const Tensor& out, const Tensor& dout,
                const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    const Tensor& x = *in[0];                  // (N, T, C)
    const int64_t N = x.shape[0], T = x.shape[1], C = x.shape[2], To = out.shape[1];
    for (int64_t n = 0; n < N; ++n)
      for (int64_t t = 0; t < To; ++t) {
        const int64_t s = src(t, T);
        if (s < 0) continue;
        const float* g = dout.ptr() + (n * To + t) * C;
        float* dx = din[0]->ptr() + (n * T + s) * C;
        for (int64_t c = 0; c < C; ++c) dx[c] += g[c];
      }
  }

  Json config() const override {
    Json c = base_config();
    if (kind == UpSampling) {
      c.set("size", size);
    } else {
      Json p = Json::array();
      p.push(Json(left));
      p.push(Json(right));
      c.set(kind == Cropping ? "cropping" : "padding", p);
    }
    return c;
  }
};

LayerPtr make_upsampling1d(const Json& cfg) {
  auto l = std::make_shared<TemporalMap>();
  l->kind = TemporalMap::UpSampling;
  apply_base_config(*l, cfg);
  l->size = counts(cfg, "size", 1, 2, *l, 1)[0];
  return l;
}
LayerPtr make_cropping1d(const Json& cfg) {
  auto l = std::make_shared<TemporalMap>();
  l->kind = TemporalMap::Cropping;
  apply_base_config(*l, cfg);
  auto v = counts(cfg, "cropping", 2, 1, *l, 0);
  l->left = v[0];
  l->right = v[1];
  return l;
}
LayerPtr make_zero_padding1d(const Json& cfg) {
  auto l = std::make_shared<TemporalMap>();
  l->kind = TemporalMap::ZeroPadding;
  apply_base_config(*l, cfg);
  auto v = counts(cfg, "padding", 2, 1, *l, 0);
  l->left = v[0];
  l->right = v[1];
  return l;
}
KN_REGISTER_LAYER(UpSampling1D, make_upsampling1d);
KN_REGISTER_LAYER(Cropping1D, make_cropping1d);
KN_REGISTER_LAYER(ZeroPadding1D, make_zero_padding1d);

}  // namespace kn
