// Convolution layers: Conv2D, Conv1D (Conv1D is Conv2D with height 1) and
// ZeroPadding2D. Keras 2.2 semantics: cross-correlation, channels-last,
// kernel (kh, kw, in, out), TensorFlow "same" padding.
//
// The math is src/kernels/conv.h's (im2col + sgemm in fixed sample tasks,
// bitwise identical at any thread count); this file holds the Keras layers.
#include <algorithm>
#include <cstring>

#include "activations.h"
#include "conv.h"
#include "initializers.h"
#include "layer.h"
#include "parallel.h"

namespace kn {

namespace {

Json null_json() { return Json(); }

std::string dims_str(const std::vector<int64_t>& v) {  // {3, 5} -> "3x5"
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "x" : "") + std::to_string(v[i]);
  return s;
}

// Ints from config with a default when the key is missing or null.
std::vector<int64_t> ints_or(const Json& cfg, const std::string& key, size_t n, int64_t dflt,
                             const std::string& layer) {
  if (!cfg.has(key) || cfg[key].is_null()) return std::vector<int64_t>(n, dflt);
  try {
    return config_ints(cfg, key, n);
  } catch (const Error& e) {
    throw Error("layer '" + layer + "': " + e.what());
  }
}

}  // namespace

// ---------------------------------------------------------------- Conv2D / Conv1D
class ConvBase : public Layer {
 public:
  int rank = 2;                       // 1 = Conv1D, 2 = Conv2D
  int64_t filters = 0;
  std::vector<int64_t> kernel_size;   // (rank)
  std::vector<int64_t> strides;       // (rank)
  std::vector<int64_t> dilation;      // (rank)
  std::string padding = "valid";
  Activation act = Activation::Linear;
  bool use_bias = true;
  Json kernel_init, bias_init;

  std::string class_name() const override { return rank == 2 ? "Conv2D" : "Conv1D"; }

  // Geometry for a per-sample input shape; throws naming the layer when invalid.
  ConvGeom geometry(const Shape& s) const {
    const size_t want = static_cast<size_t>(rank) + 1;
    if (s.size() != want)
      throw Error("layer '" + name + "' (" + class_name() + ") expects inputs of shape " +
                  (rank == 2 ? "(H, W, C)" : "(steps, channels)") + " per sample, i.e. " +
                  (rank == 2 ? "(None, H, W, C)" : "(None, steps, channels)") + ", but got " +
                  shape_str(s));
    ConvGeom g;
    g.C = s.back();
    g.F = filters;
    if (rank == 2) {
      g.h.in = s[0]; g.h.k = kernel_size[0]; g.h.stride = strides[0]; g.h.dilation = dilation[0];
      g.w.in = s[1]; g.w.k = kernel_size[1]; g.w.stride = strides[1]; g.w.dilation = dilation[1];
    } else {
      g.h.in = 1;
      g.w.in = s[0]; g.w.k = kernel_size[0]; g.w.stride = strides[0]; g.w.dilation = dilation[0];
    }
    const bool ok_h = window_axis(g.h, padding);
    const bool ok_w = window_axis(g.w, padding);
    if (!ok_h || !ok_w) {
      std::vector<int64_t> in_sp = rank == 2 ? std::vector<int64_t>{g.h.in, g.w.in}
                                             : std::vector<int64_t>{g.w.in};
      std::vector<int64_t> ext = rank == 2 ? std::vector<int64_t>{g.h.extent(), g.w.extent()}
                                           : std::vector<int64_t>{g.w.extent()};
      throw Error("layer '" + name + "': kernel " + dims_str(kernel_size) + " (dilated " +
                  dims_str(ext) + ") is larger than the input " + dims_str(in_sp) +
                  " with padding '" + padding + "'");
    }
    return g;
  }

  Shape build(const std::vector<Shape>& in, Rng& rng) override {
    const Shape& s = in.at(0);
    ConvGeom g = geometry(s);
    if (!built_) {
      Shape kshape = kernel_size;   // (kh, kw, in, out) or (k, in, out)
      kshape.push_back(g.C);
      kshape.push_back(filters);
      params.resize(use_bias ? 2 : 1);
      params[0].name = "kernel";
      params[0].value = Tensor(kshape);
      int64_t fan_in = 0, fan_out = 0;
      compute_fans(kshape, fan_in, fan_out);
      initialize(params[0].value, kernel_init, fan_in, fan_out, rng);
      if (use_bias) {
        params[1].name = "bias";
        params[1].value = Tensor({filters});  // (filters)
        initialize(params[1].value, bias_init, filters, filters, rng);
      }
      for (auto& p : params) p.grad = Tensor(p.value.shape);
      built_ = true;
    } else if (params[0].value.shape[rank] != g.C) {
      throw Error("layer '" + name + "' (" + class_name() + ") was built for " +
                  std::to_string(params[0].value.shape[rank]) + " input channels but got " +
                  shape_str(s));
    }
    if (rank == 2) return Shape{g.h.out, g.w.out, filters};
    return Shape{g.w.out, filters};
  }

  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];  // (N, H, W, C) or (N, L, C)
    const ConvGeom g = geometry(Shape(x.shape.begin() + 1, x.shape.end()));
    const float* b = use_bias ? params[1].value.ptr() : nullptr;  // (F)
    // out (N*P, F) = x (*) kernel (K, F) + b, ReLU fused
    conv_forward(g, x.shape[0], x.ptr(), params[0].value.ptr(), b, act == Activation::Relu, false, out.ptr(),
                 ctx.scratch->t);
    if (act != Activation::Relu) activation_forward(act, out.ptr(), out.size() / filters, filters);
  }

  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor& out,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    const Tensor& x = *in[0];  // (N, H, W, C) or (N, L, C)
    const ConvGeom g = geometry(Shape(x.shape.begin() + 1, x.shape.end()));
    float* dx = din[0] ? din[0]->ptr() : nullptr;  // (N, H, W, C)
    if (!trainable && !dx) return;
    // Gradient before the activation: ReLU and linear are taken block by block
    // inside the kernel; other activations first into a buffer (N*P, F).
    const float* dy = dout.ptr();
    const float* relu_y = act == Activation::Relu ? out.ptr() : nullptr;
    if (act != Activation::Relu && act != Activation::Linear) {
      if (ctx.scratch->sub.empty()) ctx.scratch->sub.resize(1);
      Tensor& dz = ctx.scratch->sub[0].at(0);  // (N, OH, OW, F)
      dz.resize(out.shape);
      activation_backward(act, out.ptr(), dout.ptr(), dz.ptr(), out.size() / filters, filters);
      dy = dz.ptr();
    }
    float* dw = trainable ? params[0].grad.ptr() : nullptr;             // (K, F)
    float* db = trainable && use_bias ? params[1].grad.ptr() : nullptr;  // (F)
    conv_backward(g, x.shape[0], x.ptr(), params[0].value.ptr(), dy, relu_y, dx, dw, db, ctx.scratch->t);
  }

  Json config() const override {
    Json c = base_config();
    c.set("filters", filters);
    c.set("kernel_size", json_ints(kernel_size));
    c.set("strides", json_ints(strides));
    c.set("padding", padding);
    c.set("data_format", "channels_last");
    c.set("dilation_rate", json_ints(dilation));
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

class Conv2D : public ConvBase {
 public:
  Conv2D() { rank = 2; }
};
class Conv1D : public ConvBase {
 public:
  Conv1D() { rank = 1; }
};

namespace {
void parse_conv(ConvBase& l, const Json& cfg) {
  apply_base_config(l, cfg);
  const size_t r = static_cast<size_t>(l.rank);
  const std::string cls = l.class_name();
  l.filters = config_count(cfg, "filters", l);
  if (l.filters <= 0) throw Error("layer '" + l.name + "': filters must be a positive integer");
  if (!cfg.has("kernel_size") || cfg["kernel_size"].is_null())
    throw Error("layer '" + l.name + "' (" + cls + "): kernel_size is required");
  l.kernel_size = ints_or(cfg, "kernel_size", r, 1, l.name);
  l.strides = ints_or(cfg, "strides", r, 1, l.name);
  l.dilation = ints_or(cfg, "dilation_rate", r, 1, l.name);
  for (size_t i = 0; i < r; ++i)
    if (l.kernel_size[i] < 1 || l.strides[i] < 1 || l.dilation[i] < 1)
      throw Error("layer '" + l.name + "': kernel_size, strides and dilation_rate must be positive");
  int64_t ext;  // dilated window length - 1, bounded so window arithmetic cannot overflow
  for (size_t i = 0; i < r; ++i)
    if (!size_mul(l.kernel_size[i] - 1, l.dilation[i], &ext) || l.strides[i] > kMaxNumel)
      throw Error("layer '" + l.name + "' (" + cls + "): kernel_size " + dims_text(l.kernel_size) +
                  ", strides " + dims_text(l.strides) + " and dilation_rate " + dims_text(l.dilation) +
                  " are too large (dilated kernel and strides must stay below 2^36)");
  l.padding = config_lower(cfg, "padding", "valid");
  const bool pad_ok = l.padding == "valid" || l.padding == "same" || (l.rank == 1 && l.padding == "causal");
  if (!pad_ok)
    throw Error("layer '" + l.name + "' (" + cls + "): padding must be " +
                (l.rank == 1 ? "'valid', 'same' or 'causal'" : "'valid' or 'same'") + ", got '" +
                l.padding + "'");
  const std::string df = config_lower(cfg, "data_format", "channels_last");
  if (df != "channels_last")
    throw Error("layer '" + l.name + "' (" + cls + "): data_format '" + df +
                "' is not supported; only 'channels_last' (N, ..., C) inputs are");
  const Json a = cfg.get("activation", Json("linear"));
  l.act = activation_from_name(a.is_string() ? a.as_string() : "linear");
  l.use_bias = cfg.get("use_bias", Json(true)).as_bool();
  l.kernel_init = initializer_config(cfg.get("kernel_initializer", Json("glorot_uniform")));
  l.bias_init = initializer_config(cfg.get("bias_initializer", Json("zeros")));
}
}  // namespace

LayerPtr make_conv2d(const Json& cfg) {
  auto l = std::make_shared<Conv2D>();
  parse_conv(*l, cfg);
  return l;
}
LayerPtr make_conv1d(const Json& cfg) {
  auto l = std::make_shared<Conv1D>();
  parse_conv(*l, cfg);
  return l;
}
KN_REGISTER_LAYER(Conv2D, make_conv2d);
KN_REGISTER_LAYER(Conv1D, make_conv1d);

// ---------------------------------------------------------------- ZeroPadding2D
class ZeroPadding2D : public Layer {
 public:
  int64_t top = 1, bottom = 1, left = 1, right = 1;
  std::string class_name() const override { return "ZeroPadding2D"; }

  Shape build(const std::vector<Shape>& in, Rng&) override {
    const Shape& s = in.at(0);
    if (s.size() != 3)
      throw Error("layer '" + name + "' (ZeroPadding2D) expects inputs of shape (H, W, C) per sample, "
                  "i.e. (None, H, W, C), but got " + shape_str(s));
    built_ = true;
    return Shape{s[0] + top + bottom, s[1] + left + right, s[2]};
  }

  void forward(const RunContext&, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];  // (N, H, W, C)
    const int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3];
    const int64_t OH = H + top + bottom, OW = W + left + right;
    out.zero();                // (N, OH, OW, C)
    parallel_for(N, [&](int64_t n) {
      for (int64_t h = 0; h < H; ++h) {
        const float* src = x.ptr() + ((n * H + h) * W) * C;
        float* dst = out.ptr() + ((n * OH + h + top) * OW + left) * C;
        std::copy(src, src + W * C, dst);
      }
    });
  }

  void backward(const RunContext&, const std::vector<const Tensor*>& in, const Tensor&,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    const Tensor& x = *in[0];  // (N, H, W, C)
    const int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3];
    const int64_t OH = H + top + bottom, OW = W + left + right;
    float* dx = din[0]->ptr();
    parallel_for(N, [&](int64_t n) {
      for (int64_t h = 0; h < H; ++h) {
        const float* src = dout.ptr() + ((n * OH + h + top) * OW + left) * C;
        float* dst = dx + ((n * H + h) * W) * C;
        for (int64_t i = 0; i < W * C; ++i) dst[i] += src[i];
      }
    });
  }

  Json config() const override {
    Json c = base_config();
    Json pad = Json::array();
    pad.push(json_ints({top, bottom}));
    pad.push(json_ints({left, right}));
    c.set("padding", pad);
    c.set("data_format", "channels_last");
    return c;
  }
};

LayerPtr make_zero_padding2d(const Json& cfg) {
  auto l = std::make_shared<ZeroPadding2D>();
  apply_base_config(*l, cfg);
  const Json p = cfg.get("padding", Json(1));
  auto bad = [&]() {
    return Error("layer '" + l->name + "' (ZeroPadding2D): padding must be an integer, "
                 "(symmetric_height, symmetric_width) or ((top, bottom), (left, right)), got " +
                 p.dump());
  };
  if (p.is_number()) {
    l->top = l->bottom = l->left = l->right = p.as_int();
  } else if (p.is_array() && p.size() == 2 && p[0].is_number() && p[1].is_number()) {
    l->top = l->bottom = p[0].as_int();
    l->left = l->right = p[1].as_int();
  } else if (p.is_array() && p.size() == 2 && p[0].is_array() && p[1].is_array() &&
             p[0].size() == 2 && p[1].size() == 2) {
    l->top = p[0][0].as_int(); l->bottom = p[0][1].as_int();
    l->left = p[1][0].as_int(); l->right = p[1][1].as_int();
  } else {
    throw bad();
  }
  for (int64_t v : {l->top, l->bottom, l->left, l->right})
    if (v < 0 || v > kMaxNumel) throw bad();
  const std::string df = config_lower(cfg, "data_format", "channels_last");
  if (df != "channels_last")
    throw Error("layer '" + l->name + "' (ZeroPadding2D): data_format '" + df +
                "' is not supported; only 'channels_last' (N, H, W, C) inputs are");
  return l;
}
KN_REGISTER_LAYER(ZeroPadding2D, make_zero_padding2d);

}  // namespace kn
