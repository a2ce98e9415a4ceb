// 3-D pooling (Keras 2.2.5), channels-last (N, D, H, W, C):
//   MaxPooling3D / AveragePooling3D(pool_size, strides = pool_size, padding):
//     windows placed as TensorFlow places them ("same": ceil(in / stride)
//     outputs, padding split with the extra cell after); padded cells are
//     ignored (max) / not counted (average, as tf.nn.avg_pool3d).
//   GlobalMaxPooling3D / GlobalAveragePooling3D: over D, H, W -> (N, C).
// Max backward sends the gradient to the first maximum of each window (in
// window order d, h, w), as TensorFlow's MaxPool3DGrad.
#include <algorithm>
#include <limits>

#include "conv.h"
#include "layer.h"
#include "parallel.h"

namespace kn {

class Pooling3D : public Layer {
 public:
  bool is_max = true;
  std::vector<int64_t> pool{2, 2, 2}, strides{2, 2, 2};
  std::string padding = "valid";
  std::string class_name() const override { return is_max ? "MaxPooling3D" : "AveragePooling3D"; }

  ConvGeom geometry(const Shape& s) const {
    if (s.size() != 4)
      throw Error("layer '" + name + "' (" + class_name() + ") expects inputs of shape (D, H, W, C) per sample, "
                  "i.e. (None, D, H, W, C), but got " + shape_str(s));
    ConvGeom g;
    g.C = s[3];
    WindowAxis* ax[3] = {&g.d, &g.h, &g.w};
    for (int d = 0; d < 3; ++d) {
      ax[d]->in = s[d];
      ax[d]->k = pool[d];
      ax[d]->stride = strides[d];
      if (!window_axis(*ax[d], padding))
        throw Error("layer '" + name + "' (" + class_name() + "): pool_size " + dims_text(pool) +
                    " is larger than the input " + shape_str(s) + " with padding 'valid'");
    }
    return g;
  }
  Shape build(const std::vector<Shape>& in, Rng&) override {
    const ConvGeom g = geometry(in.at(0));
    built_ = true;
    return Shape{g.d.out, g.h.out, g.w.out, g.C};
  }
  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];  // (N, D, H, W, C)
    const ConvGeom g = geometry(Shape(x.shape.begin() + 1, x.shape.end()));
    const int64_t N = x.shape[0];
    std::vector<int32_t>& arg = ctx.scratch->idx;  // (N, P, C): input offset of the max (max pooling)
    if (is_max) arg.resize(static_cast<size_t>(N * g.out_pixels() * g.C));
    pool_forward(g, N, is_max, x.ptr(), out.ptr(), is_max ? arg.data() : nullptr);  // out (N, OD, OH, OW, C)
  }
  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor&, const Tensor& dout,
                const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    const Tensor& x = *in[0];
    const ConvGeom g = geometry(Shape(x.shape.begin() + 1, x.shape.end()));
    const int64_t N = x.shape[0];
    const std::vector<int32_t>& arg = ctx.scratch->idx;
    if (is_max && static_cast<int64_t>(arg.size()) != N * g.out_pixels() * g.C)
      throw Error("layer '" + name + "': backward called without a matching forward");
    pool_backward(g, N, is_max, dout.ptr(), is_max ? arg.data() : nullptr, din[0]->ptr());  // (N, D, H, W, C)
  }
  Json config() const override {
    Json c = base_config();
    c.set("pool_size", json_ints(pool));
    c.set("padding", padding);
    c.set("strides", json_ints(strides));
    c.set("data_format", "channels_last");
    return c;
  }
};

namespace {
LayerPtr make_pool3d(const Json& cfg, bool is_max) {
  auto l = std::make_shared<Pooling3D>();
  l->is_max = is_max;
  apply_base_config(*l, cfg);
  const std::string who = "layer '" + l->name + "' (" + l->class_name() + "): ";
  try {
    if (cfg.has("pool_size") && !cfg["pool_size"].is_null()) l->pool = config_ints(cfg, "pool_size", 3);
    l->strides = (cfg.has("strides") && !cfg["strides"].is_null()) ? config_ints(cfg, "strides", 3) : l->pool;
  } catch (const Error& e) {
    throw Error(who + e.what());
  }
  for (int d = 0; d < 3; ++d)
    if (l->pool[d] < 1 || l->strides[d] < 1 || l->pool[d] > 4096 || l->strides[d] > 4096)
      throw Error(who + "pool_size and strides must be in [1, 4096]");
  l->padding = config_lower(cfg, "padding", "valid");
  if (l->padding != "valid" && l->padding != "same") throw Error(who + "padding must be 'valid' or 'same', got '" + l->padding + "'");
  const std::string df = config_lower(cfg, "data_format", "channels_last");
  if (df != "channels_last") throw Error(who + "data_format '" + df + "' is not supported; only 'channels_last'");
  return l;
}
}  // namespace
LayerPtr make_max_pooling3d(const Json& c) { return make_pool3d(c, true); }
LayerPtr make_average_pooling3d(const Json& c) { return make_pool3d(c, false); }
KN_REGISTER_LAYER(MaxPooling3D, make_max_pooling3d);
KN_REGISTER_LAYER(AveragePooling3D, make_average_pooling3d);

// ---------------------------------------------------------------- GlobalMax/AveragePooling3D
class GlobalPooling3D : public Layer {
 public:
  bool is_max = true;
  std::string class_name() const override { return is_max ? "GlobalMaxPooling3D" : "GlobalAveragePooling3D"; }
  Shape build(const std::vector<Shape>& in, Rng&) override {
    const Shape& s = in.at(0);
    if (s.size() != 4)
      throw Error("layer '" + name + "' (" + class_name() + ") expects inputs of shape (D, H, W, C) per sample, "
                  "i.e. (None, D, H, W, C), but got " + shape_str(s));
    built_ = true;
    return Shape{s[3]};
  }
  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];  // (N, S, C) with S = D*H*W
    const int64_t N = x.shape[0], C = x.shape[4], S = x.size() / (N * C);
    std::vector<int32_t>& arg = ctx.scratch->idx;  // (N, C): position of the max
    if (is_max) arg.resize(static_cast<size_t>(N * C));
    parallel_for(N, [&](int64_t n) {
      for (int64_t c = 0; c < C; ++c) {
        float best = x.data[n * S * C + c], sum = 0.0f;
        int64_t where = 0;
        for (int64_t s = 0; s < S; ++s) {
          const float v = x.data[(n * S + s) * C + c];
          if (v > best) { best = v; where = s; }
          sum += v;
        }
        out.data[n * C + c] = is_max ? best : sum / static_cast<float>(S);
        if (is_max) arg[n * C + c] = static_cast<int32_t>(where);
      }
    });
  }
  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor&, const Tensor& dout,
                const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    const Tensor& x = *in[0];
    const int64_t N = x.shape[0], C = x.shape[4], S = x.size() / (N * C);
    const std::vector<int32_t>& arg = ctx.scratch->idx;
    if (is_max && static_cast<int64_t>(arg.size()) != N * C)
      throw Error("layer '" + name + "': backward called without a matching forward");
    float* dx = din[0]->ptr();  // (N, S, C)
    parallel_for(N, [&](int64_t n) {
      for (int64_t c = 0; c < C; ++c) {
        const float g = dout.data[n * C + c];
        if (is_max) dx[(n * S + arg[n * C + c]) * C + c] += g;
        else for (int64_t s = 0; s < S; ++s) dx[(n * S + s) * C + c] += g / static_cast<float>(S);
      }
    });
  }
  Json config() const override {
    Json c = base_config();
    c.set("data_format", "channels_last");
    return c;
  }
};

namespace {
LayerPtr make_global3d(const Json& cfg, bool is_max) {
  auto l = std::make_shared<GlobalPooling3D>();
  l->is_max = is_max;
  apply_base_config(*l, cfg);
  const std::string df = config_lower(cfg, "data_format", "channels_last");
  if (df != "channels_last")
    throw Error("layer '" + l->name + "' (" + l->class_name() + "): data_format '" + df + "' is not supported; only 'channels_last'");
  return l;
}
}  // namespace
LayerPtr make_global_max_pooling3d(const Json& c) { return make_global3d(c, true); }
LayerPtr make_global_average_pooling3d(const Json& c) { return make_global3d(c, false); }
KN_REGISTER_LAYER(GlobalMaxPooling3D, make_global_max_pooling3d);
KN_REGISTER_LAYER(GlobalAveragePooling3D, make_global_average_pooling3d);

}  // namespace kn
