// DepthwiseConv2D and SeparableConv2D (Keras 2.2.5), channels-last.
// Weights as Keras stores them: depthwise_kernel (kh, kw, C, dm),
// pointwise_kernel (1, 1, C * dm, F) (separable only), bias (C * dm or F).
//   depthwise: z(n, oh, ow, c * dm + m) = sum_{i, j} x(n, ih, iw, c) * D(i, j, c, m)
//   separable: y = act(z * P + b); depthwise: y = act(z + b)
// The window follows Conv2D (TensorFlow "same" placement, dilation for
// SeparableConv2D). The depthwise product is src/kernels/conv.h's
// depthwise_forward / depthwise_backward, the pointwise product the threaded
// sgemm; fixed row blocks keep results independent of the thread count.
#include <algorithm>

#include "activations.h"
#include "conv.h"
#include "gemm.h"
#include "initializers.h"
#include "layer.h"
#include "parallel.h"

namespace kn {

class DepthwiseBase : public Layer {
 public:
  bool separable = false;
  int64_t filters = 0, depth_multiplier = 1;
  std::vector<int64_t> kernel_size{1, 1}, strides{1, 1}, dilation{1, 1};
  std::string padding = "valid";
  Activation act = Activation::Linear;
  bool use_bias = true;
  Json depthwise_init, pointwise_init, bias_init;
  int64_t C = 0;  // input channels at build

  std::string class_name() const override { return separable ? "SeparableConv2D" : "DepthwiseConv2D"; }
  int64_t mid() const { return C * depth_multiplier; }
  int64_t out_ch() const { return separable ? filters : mid(); }

  ConvGeom geometry(const Shape& s) const {
    if (s.size() != 3)
      throw Error("layer '" + name + "' (" + class_name() + ") expects inputs of shape (H, W, C) per sample, i.e. "
                  "(None, H, W, C), but got " + shape_str(s));
    ConvGeom g;
    g.C = s[2];
    g.F = out_ch();
    g.h.in = s[0]; g.h.k = kernel_size[0]; g.h.stride = strides[0]; g.h.dilation = dilation[0];
    g.w.in = s[1]; g.w.k = kernel_size[1]; g.w.stride = strides[1]; g.w.dilation = dilation[1];
    if (!window_axis(g.h, padding) || !window_axis(g.w, padding))
      throw Error("layer '" + name + "' (" + class_name() + "): the kernel is larger than the input " + shape_str(s) +
                  " with padding '" + padding + "'");
    return g;
  }

  Shape build(const std::vector<Shape>& in, Rng& rng) override {
    const Shape& s = in.at(0);
    if (built_ && s.size() == 3 && s[2] != C)
      throw Error("layer '" + name + "' (" + class_name() + ") was built for " + std::to_string(C) +
                  " input channels but got " + shape_str(s));
    if (!built_ && s.size() == 3) C = s[2];
    const ConvGeom g = geometry(s);
    if (!built_) {
      params.clear();
      auto add = [&](const char* nm, Shape shape, const Json& init) {
        Param p;
        p.name = nm;
        p.value = Tensor(shape);
        int64_t fi = 0, fo = 0;
        compute_fans(shape, fi, fo);
        initialize(p.value, init, fi, fo, rng);
        p.grad = Tensor(shape);
        params.push_back(std::move(p));
      };
      add("depthwise_kernel", {kernel_size[0], kernel_size[1], C, depth_multiplier}, depthwise_init);
      if (separable) add("pointwise_kernel", {1, 1, mid(), filters}, pointwise_init);
      if (use_bias) add("bias", {out_ch()}, bias_init);
      built_ = true;
    }
    return Shape{g.h.out, g.w.out, out_ch()};
  }

  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];  // (N, H, W, C)
    const ConvGeom g = geometry(Shape(x.shape.begin() + 1, x.shape.end()));
    const int64_t R = x.shape[0] * g.out_pixels(), M = mid(), F = out_ch();
    if (ctx.scratch->sub.empty()) ctx.scratch->sub.resize(1);
    Tensor& z = ctx.scratch->sub[0].at(0);  // (R, M): depthwise output (kept for backward when separable)
    z.resize({R, M});
    depthwise_forward(g, x.shape[0], depth_multiplier, x.ptr(), params[0].value.ptr(), z.ptr(), ctx.scratch->t);
    float* y = out.ptr();  // (R, F)
    if (separable) sgemm(false, false, R, F, M, 1.0f, z.ptr(), M, params[1].value.ptr(), F, 0.0f, y, F);
    else std::copy(z.ptr(), z.ptr() + R * M, y);
    bias_relu_rows(y, R, F, use_bias ? params.back().value.ptr() : nullptr, act == Activation::Relu);
    if (act != Activation::Relu) activation_forward(act, y, R, F);
  }

  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor& out,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    const Tensor& x = *in[0];  // (N, H, W, C)
    const ConvGeom g = geometry(Shape(x.shape.begin() + 1, x.shape.end()));
    const int64_t R = x.shape[0] * g.out_pixels(), M = mid(), F = out_ch();
    float* dx = din[0] ? din[0]->ptr() : nullptr;  // (N, H, W, C)
    if (!trainable && !dx) return;
    if (ctx.scratch->sub.empty()) ctx.scratch->sub.resize(1);
    Scratch& own = ctx.scratch->sub[0];
    own.at(2);                       // size first: at() may reallocate
    const Tensor& z = own.at(0);     // (R, M) from forward
    if (z.size() != R * M) throw Error("layer '" + name + "': backward called without a matching forward");
    Tensor& dy = own.at(1);          // (R, F): gradient before the activation
    dy.resize({R, F});
    activation_backward(act, out.ptr(), dout.ptr(), dy.ptr(), R, F);
    if (trainable && use_bias) {
      float* gb = params.back().grad.ptr();  // (F)
      for (int64_t r = 0; r < R; ++r) add_scaled(gb, dy.ptr() + r * F, 1.0f, F);
    }
    Tensor& dz = own.at(2);          // (R, M)
    if (separable) {
      dz.resize({R, M});
      const float* P = params[1].value.ptr();  // (M, F)
      sgemm(false, true, R, M, F, 1.0f, dy.ptr(), F, P, F, 0.0f, dz.ptr(), M);
      if (trainable) sgemm(true, false, M, F, R, 1.0f, z.ptr(), M, dy.ptr(), F, 1.0f, params[1].grad.ptr(), F);
    }
    depthwise_backward(g, x.shape[0], depth_multiplier, x.ptr(), params[0].value.ptr(),
                       separable ? dz.ptr() : dy.ptr(), dx, trainable ? params[0].grad.ptr() : nullptr,
                       ctx.scratch->t);
  }

  Json config() const override {
    Json c = base_config();
    if (separable) c.set("filters", filters);
    c.set("kernel_size", json_ints(kernel_size));
    c.set("strides", json_ints(strides));
    c.set("padding", padding);
    c.set("data_format", "channels_last");
    c.set("dilation_rate", json_ints(dilation));
    c.set("activation", activation_name(act));
    c.set("use_bias", use_bias);
    c.set("bias_initializer", bias_init);
    c.set("bias_regularizer", Json());
    c.set("activity_regularizer", Json());
    c.set("bias_constraint", Json());
    c.set("depth_multiplier", depth_multiplier);
    c.set("depthwise_initializer", depthwise_init);
    c.set("depthwise_regularizer", Json());
    c.set("depthwise_constraint", Json());
    if (separable) {
      c.set("pointwise_initializer", pointwise_init);
      c.set("pointwise_regularizer", Json());
      c.set("pointwise_constraint", Json());
    }
    return c;
  }
};

namespace {
LayerPtr make_depthwise_base(const Json& cfg, bool separable) {
  auto l = std::make_shared<DepthwiseBase>();
  l->separable = separable;
  apply_base_config(*l, cfg);
  const std::string who = "layer '" + l->name + "' (" + l->class_name() + "): ";
  if (separable) l->filters = config_count(cfg, "filters", *l);
  if (!cfg.has("kernel_size") || cfg["kernel_size"].is_null()) throw Error(who + "kernel_size is required");
  try {
    l->kernel_size = config_ints(cfg, "kernel_size", 2);
    if (cfg.has("strides") && !cfg["strides"].is_null()) l->strides = config_ints(cfg, "strides", 2);
    if (cfg.has("dilation_rate") && !cfg["dilation_rate"].is_null()) l->dilation = config_ints(cfg, "dilation_rate", 2);
  } catch (const Error& e) {
    throw Error(who + e.what());
  }
  for (int d = 0; d < 2; ++d)
    if (l->kernel_size[d] < 1 || l->strides[d] < 1 || l->dilation[d] < 1 || l->kernel_size[d] > 4096 ||
        l->strides[d] > 4096 || l->dilation[d] > 4096)
      throw Error(who + "kernel_size, strides and dilation_rate must be in [1, 4096]");
  if (!separable && (l->dilation[0] != 1 || l->dilation[1] != 1))
    throw Error(who + "dilation_rate is not an argument of DepthwiseConv2D in Keras 2.2.5; it must be 1");
  l->depth_multiplier = cfg.has("depth_multiplier") ? config_count(cfg, "depth_multiplier", *l) : 1;
  l->padding = config_lower(cfg, "padding", "valid");
  if (l->padding != "valid" && l->padding != "same") throw Error(who + "padding must be 'valid' or 'same', got '" + l->padding + "'");
  const std::string df = config_lower(cfg, "data_format", "channels_last");
  if (df != "channels_last") throw Error(who + "data_format '" + df + "' is not supported; only 'channels_last'");
  const Json a = cfg.get("activation", Json("linear"));
  l->act = activation_from_name(a.is_string() ? a.as_string() : "linear");
  l->use_bias = cfg.get("use_bias", Json(true)).as_bool();
  l->depthwise_init = initializer_config(cfg.get("depthwise_initializer", Json("glorot_uniform")));
  l->pointwise_init = initializer_config(cfg.get("pointwise_initializer", Json("glorot_uniform")));
  l->bias_init = initializer_config(cfg.get("bias_initializer", Json("zeros")));
  return l;
}
}  // namespace

LayerPtr make_depthwise_conv2d(const Json& cfg) { return make_depthwise_base(cfg, false); }
LayerPtr make_separable_conv2d(const Json& cfg) { return make_depthwise_base(cfg, true); }
KN_REGISTER_LAYER(DepthwiseConv2D, make_depthwise_conv2d);
KN_REGISTER_LAYER(SeparableConv2D, make_separable_conv2d);

}  // namespace kn
