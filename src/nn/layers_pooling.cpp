// Pooling layers: MaxPooling2D, AveragePooling2D, MaxPooling1D,
// GlobalMaxPooling2D, GlobalAveragePooling2D. Channels-last, TensorFlow
// semantics: "same" padding as in im2col.h; padded cells never win a max and
// are excluded from an average's count. Max backward routes the gradient to the
// first maximum of each window (row-major scan), recorded in Scratch.idx.
// Windowed pooling runs src/kernels/conv.h's pool_forward / pool_backward.
#include <algorithm>
#include <cstring>
#include <limits>

#include "conv.h"
#include "layer.h"
#include "parallel.h"

namespace kn {

namespace {

std::vector<int64_t> pool_ints(const Json& cfg, const std::string& key, size_t n,
                               const std::vector<int64_t>& dflt, const std::string& layer) {
  if (!cfg.has(key) || cfg[key].is_null()) return dflt;
  std::vector<int64_t> v;
  try {
    v = config_ints(cfg, key, n);
  } catch (const Error& e) {
    throw Error("layer '" + layer + "': " + e.what());
  }
  for (int64_t x : v)
    if (x < 1 || x > kMaxNumel)
      throw Error("layer '" + layer + "': " + key + " must be positive integers below 2^36, got " + dims_text(v));
  return v;
}

void check_channels_last(const Json& cfg, const std::string& layer, const std::string& cls) {
  const std::string df = config_lower(cfg, "data_format", "channels_last");
  if (df != "channels_last")
    throw Error("layer '" + layer + "' (" + cls + "): data_format '" + df +
                "' is not supported; only 'channels_last' inputs are");
}

// Samples per parallel task so that each task has at least ~16K values.
int64_t sample_grain(int64_t per_sample) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, per_sample));
}

}  // namespace

// ---------------------------------------------------------------- windowed pooling
class Pooling : public Layer {
 public:
  bool is_max = true;
  int rank = 2;                      // 1: (steps, C); 2: (H, W, C)
  std::vector<int64_t> pool_size;    // (rank)
  std::vector<int64_t> strides;      // (rank)
  std::string padding = "valid";

  std::string class_name() const override {
    return std::string(is_max ? "Max" : "Average") + (rank == 2 ? "Pooling2D" : "Pooling1D");
  }

  // Window geometry of a per-sample shape (g.C = channels); throws naming the layer.
  ConvGeom geometry(const Shape& s) const {
    if (s.size() != static_cast<size_t>(rank) + 1)
      throw Error("layer '" + name + "' (" + class_name() + ") expects inputs of shape " +
                  (rank == 2 ? "(H, W, C) per sample, i.e. (None, H, W, C)"
                             : "(steps, channels) per sample, i.e. (None, steps, channels)") +
                  ", but got " + shape_str(s));
    ConvGeom g;
    g.C = s.back();
    if (rank == 2) {
      g.h.in = s[0]; g.h.k = pool_size[0]; g.h.stride = strides[0];
      g.w.in = s[1]; g.w.k = pool_size[1]; g.w.stride = strides[1];
    } else {
      g.w.in = s[0]; g.w.k = pool_size[0]; g.w.stride = strides[0];
    }
    const bool ok = window_axis(g.h, padding) & window_axis(g.w, padding);
    if (!ok) {
      std::string ps, is;
      for (size_t i = 0; i < pool_size.size(); ++i) {
        ps += (i ? "x" : "") + std::to_string(pool_size[i]);
        is += (i ? "x" : "") + std::to_string(s[i]);
      }
      throw Error("layer '" + name + "': pool_size " + ps + " is larger than the input " + is +
                  " with padding '" + padding + "'");
    }
    return g;
  }

  Shape build(const std::vector<Shape>& in, Rng&) override {
    const ConvGeom g = geometry(in.at(0));
    built_ = true;
    if (rank == 2) return Shape{g.h.out, g.w.out, g.C};
    return Shape{g.w.out, g.C};
  }

  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];  // (N, H, W, C) or (N, L, C)
    const ConvGeom g = geometry(Shape(x.shape.begin() + 1, x.shape.end()));
    const int64_t N = x.shape[0];
    std::vector<int32_t>& idx = ctx.scratch->idx;  // (N, OH, OW, C): per-sample input offset of the max
    if (is_max) idx.resize(static_cast<size_t>(N * g.out_pixels() * g.C));
    pool_forward(g, N, is_max, x.ptr(), out.ptr(), is_max ? idx.data() : nullptr);
  }

  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor&,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    const Tensor& x = *in[0];
    const ConvGeom g = geometry(Shape(x.shape.begin() + 1, x.shape.end()));
    const int64_t N = x.shape[0];
    const std::vector<int32_t>& idx = ctx.scratch->idx;
    if (is_max && static_cast<int64_t>(idx.size()) < N * g.out_pixels() * g.C)
      throw Error("layer '" + name + "': backward called without a matching forward");
    pool_backward(g, N, is_max, dout.ptr(), is_max ? idx.data() : nullptr, din[0]->ptr());  // (N, H, W, C)
  }

  Json config() const override {
    Json c = base_config();
    if (rank == 2) {  // Keras 2.2 _Pooling2D order
      c.set("pool_size", json_ints(pool_size));
      c.set("padding", padding);
      c.set("strides", json_ints(strides));
    } else {          // Keras 2.2 _Pooling1D order
      c.set("strides", json_ints(strides));
      c.set("pool_size", json_ints(pool_size));
      c.set("padding", padding);
    }
    c.set("data_format", "channels_last");
    return c;
  }
};

class MaxPooling2D : public Pooling {};
class AveragePooling2D : public Pooling {};
class MaxPooling1D : public Pooling {};
class AveragePooling1D : public Pooling {};

namespace {
void parse_pooling(Pooling& l, const Json& cfg) {
  apply_base_config(l, cfg);
  const size_t r = static_cast<size_t>(l.rank);
  l.pool_size = pool_ints(cfg, "pool_size", r, std::vector<int64_t>(r, 2), l.name);
  l.strides = pool_ints(cfg, "strides", r, l.pool_size, l.name);  // NULL -> pool_size
  l.padding = config_lower(cfg, "padding", "valid");
  if (l.padding != "valid" && l.padding != "same")
    throw Error("layer '" + l.name + "' (" + l.class_name() + "): padding must be 'valid' or 'same', got '" +
                l.padding + "'");
  check_channels_last(cfg, l.name, l.class_name());
}
}  // namespace

LayerPtr make_max_pooling2d(const Json& cfg) {
  auto l = std::make_shared<MaxPooling2D>();
  l->is_max = true; l->rank = 2;
  parse_pooling(*l, cfg);
  return l;
}
LayerPtr make_average_pooling2d(const Json& cfg) {
  auto l = std::make_shared<AveragePooling2D>();
  l->is_max = false; l->rank = 2;
  parse_pooling(*l, cfg);
  return l;
}
LayerPtr make_max_pooling1d(const Json& cfg) {
  auto l = std::make_shared<MaxPooling1D>();
  l->is_max = true; l->rank = 1;
  parse_pooling(*l, cfg);
  return l;
}
LayerPtr make_average_pooling1d(const Json& cfg) {
  auto l = std::make_shared<AveragePooling1D>();
  l->is_max = false; l->rank = 1;
  parse_pooling(*l, cfg);
  return l;
}
KN_REGISTER_LAYER(AveragePooling1D, make_average_pooling1d);
KN_REGISTER_LAYER(MaxPooling2D, make_max_pooling2d);
KN_REGISTER_LAYER(AveragePooling2D, make_average_pooling2d);
KN_REGISTER_LAYER(MaxPooling1D, make_max_pooling1d);

// ---------------------------------------------------------------- global pooling
class GlobalPooling2D : public Layer {
 public:
  bool is_max = true;
  std::string class_name() const override {
    return is_max ? "GlobalMaxPooling2D" : "GlobalAveragePooling2D";
  }
  Shape build(const std::vector<Shape>& in, Rng&) override {
    const Shape& s = in.at(0);
    if (s.size() != 3)
      throw Error("layer '" + name + "' (" + class_name() + ") expects inputs of shape (H, W, C) "
                  "per sample, i.e. (None, H, W, C), but got " + shape_str(s));
    built_ = true;
    return Shape{s[2]};
  }

  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];  // (N, H, W, C)
    const int64_t N = x.shape[0], C = x.shape[3], P = x.shape[1] * x.shape[2];
    std::vector<int32_t>& idx = ctx.scratch->idx;  // (N, C): per-sample input offset of the max
    if (is_max) idx.resize(static_cast<size_t>(N * C));
    const int64_t grain = sample_grain(P * C);
    parallel_for(n_chunks(N, grain), [&](int64_t task) {
      const int64_t n1 = std::min(N, (task + 1) * grain);
      for (int64_t n = task * grain; n < n1; ++n) {
        const float* xs = x.ptr() + n * P * C;  // (P, C)
        float* y = out.ptr() + n * C;           // (C)
        if (is_max) {
          int32_t* id = idx.data() + n * C;
          for (int64_t c = 0; c < C; ++c) { y[c] = xs[c]; id[c] = static_cast<int32_t>(c); }
          for (int64_t p = 1; p < P; ++p) max_update(xs + p * C, static_cast<int32_t>(p * C), y, id, C);
        } else {
          std::fill(y, y + C, 0.0f);
          for (int64_t p = 0; p < P; ++p)
            for (int64_t c = 0; c < C; ++c) y[c] += xs[p * C + c];
          const float inv = 1.0f / static_cast<float>(P);
          for (int64_t c = 0; c < C; ++c) y[c] *= inv;
        }
      }
    });
  }

  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor&,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    const Tensor& x = *in[0];  // (N, H, W, C)
    const int64_t N = x.shape[0], C = x.shape[3], P = x.shape[1] * x.shape[2];
    const std::vector<int32_t>& idx = ctx.scratch->idx;
    if (is_max && static_cast<int64_t>(idx.size()) < N * C)
      throw Error("layer '" + name + "': backward called without a matching forward");
    float* dx = din[0]->ptr();
    const float inv = 1.0f / static_cast<float>(P);
    parallel_for(N, [&](int64_t n) {
      float* dxs = dx + n * P * C;          // (P, C)
      const float* dy = dout.ptr() + n * C;  // (C)
      if (is_max) {
        const int32_t* id = idx.data() + n * C;
        for (int64_t c = 0; c < C; ++c) dxs[id[c]] += dy[c];
      } else {
        for (int64_t p = 0; p < P; ++p)
          for (int64_t c = 0; c < C; ++c) dxs[p * C + c] += dy[c] * inv;
      }
    });
  }

  Json config() const override {
    Json c = base_config();
    c.set("data_format", "channels_last");
    return c;
  }
};

class GlobalMaxPooling2D : public GlobalPooling2D {};
class GlobalAveragePooling2D : public GlobalPooling2D {};

LayerPtr make_global_max_pooling2d(const Json& cfg) {
  auto l = std::make_shared<GlobalMaxPooling2D>();
  l->is_max = true;
  apply_base_config(*l, cfg);
  check_channels_last(cfg, l->name, l->class_name());
  return l;
}
LayerPtr make_global_average_pooling2d(const Json& cfg) {
  auto l = std::make_shared<GlobalAveragePooling2D>();
  l->is_max = false;
  apply_base_config(*l, cfg);
  check_channels_last(cfg, l->name, l->class_name());
  return l;
}
KN_REGISTER_LAYER(GlobalMaxPooling2D, make_global_max_pooling2d);
KN_REGISTER_LAYER(GlobalAveragePooling2D, make_global_average_pooling2d);

}  // namespace kn
