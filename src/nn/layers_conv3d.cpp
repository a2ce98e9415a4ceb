// Conv3D and Conv3DTranspose (Keras 2.2.5), channels-last (N, D, H, W, C).
// Conv3D kernel (kd, kh, kw, in, filters); Conv3DTranspose kernel (kd, kh, kw,
// filters, in), as Keras stores them. Windows as TensorFlow places them
// (im2col.h's WindowAxis); the transpose is the adjoint of the convolution
// from its output shape to its input shape (see layers_conv_transpose.cpp for
// the output size and padding rules). The math is src/kernels/conv.h's: the
// transpose's forward is the virtual convolution's backward-data, its input
// gradient that convolution's forward.
#include <algorithm>

#include "activations.h"
#include "conv.h"
#include "initializers.h"
#include "layer.h"
#include "parallel.h"

namespace kn {

namespace {
int64_t deconv_len(int64_t in, int64_t k, int64_t s, const std::string& pad, int64_t op) {
  if (op < 0) return pad == "valid" ? in * s + std::max<int64_t>(k - s, 0) : in * s;
  return (in - 1) * s + k - 2 * (pad == "same" ? k / 2 : 0) + op;
}
}  // namespace

class Conv3DBase : public Layer {
 public:
  bool transpose = false;
  int64_t filters = 0;
  std::vector<int64_t> kernel_size{1, 1, 1}, strides{1, 1, 1}, dilation{1, 1, 1};
  std::vector<int64_t> output_padding;  // transpose only; empty = None
  std::string padding = "valid";
  Activation act = Activation::Linear;
  bool use_bias = true;
  Json kernel_init, bias_init;

  std::string class_name() const override { return transpose ? "Conv3DTranspose" : "Conv3D"; }

  // The convolution's geometry: for Conv3D from the input; for the transpose,
  // the virtual convolution from this layer's output to its input.
  ConvGeom geometry(const Shape& s) const {
    if (s.size() != 4)
      throw Error("layer '" + name + "' (" + class_name() + ") expects inputs of shape (D, H, W, C) per sample, "
                  "i.e. (None, D, H, W, C), but got " + shape_str(s));
    ConvGeom g;
    g.C = transpose ? filters : s[3];  // the (virtual) convolution's input channels
    g.F = transpose ? s[3] : filters;
    WindowAxis* ax[3] = {&g.d, &g.h, &g.w};
    for (int d = 0; d < 3; ++d) {
      WindowAxis& a = *ax[d];
      a.k = kernel_size[d];
      a.stride = strides[d];
      a.dilation = dilation[d];
      if (!transpose) {
        a.in = s[d];
        if (!window_axis(a, padding))
          throw Error("layer '" + name + "' (Conv3D): kernel " + dims_text(kernel_size) + " is larger than the input " +
                      shape_str(s) + " with padding '" + padding + "'");
      } else {
        a.out = s[d];
        a.in = deconv_len(s[d], a.k, a.stride, padding, output_padding.empty() ? -1 : output_padding[d]);
        a.pad_before = padding == "same" ? std::max<int64_t>((a.out - 1) * a.stride + a.k - a.in, 0) / 2 : 0;
        if (a.in < 1) throw Error("layer '" + name + "' (Conv3DTranspose): empty output for input " + shape_str(s));
      }
    }
    return g;
  }
  int64_t in_ch(const Shape& s) const { return s.at(3); }

  Shape build(const std::vector<Shape>& in, Rng& rng) override {
    const Shape& s = in.at(0);
    const ConvGeom g = geometry(s);
    const int64_t C = in_ch(s);
    if (!built_) {
      params.resize(use_bias ? 2 : 1);
      params[0].name = "kernel";
      params[0].value = transpose ? Tensor({kernel_size[0], kernel_size[1], kernel_size[2], filters, C})
                                  : Tensor({kernel_size[0], kernel_size[1], kernel_size[2], C, filters});
      int64_t fi = 0, fo = 0;
      compute_fans(params[0].value.shape, fi, fo);
      initialize(params[0].value, kernel_init, fi, fo, rng);
      if (use_bias) {
        params[1].name = "bias";
        params[1].value = Tensor({filters});  // (filters)
        initialize(params[1].value, bias_init, filters, filters, rng);
      }
      for (auto& p : params) p.grad = Tensor(p.value.shape);
      built_ = true;
    } else if (params[0].value.shape[transpose ? 4 : 3] != C) {
      throw Error("layer '" + name + "' (" + class_name() + ") was built for " +
                  std::to_string(params[0].value.shape[transpose ? 4 : 3]) + " input channels but got " + shape_str(s));
    }
    Shape out = transpose ? Shape{g.d.in, g.h.in, g.w.in, filters} : Shape{g.d.out, g.h.out, g.w.out, filters};
    checked_numel(out, "layer '" + name + "' output");
    return out;
  }

  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];  // (N, D, H, W, C)
    const ConvGeom g = geometry(Shape(x.shape.begin() + 1, x.shape.end()));
    const int64_t N = x.shape[0];
    const float* W = params[0].value.ptr();  // Conv3D (K, F); transpose (K, C) of the virtual convolution
    const float* b = use_bias ? params[1].value.ptr() : nullptr;  // (filters)
    const bool relu = act == Activation::Relu;
    if (!transpose) {
      conv_forward(g, N, x.ptr(), W, b, relu, false, out.ptr(), ctx.scratch->t);  // (N, OD, OH, OW, F)
    } else {
      out.zero();  // (N, D', H', W', filters): adjoint of the virtual convolution applied to x
      conv_backward(g, N, nullptr, W, x.ptr(), nullptr, out.ptr(), nullptr, nullptr, ctx.scratch->t);
      bias_relu_rows(out.ptr(), out.size() / filters, filters, b, relu);
    }
    if (!relu) activation_forward(act, out.ptr(), out.size() / filters, filters);
  }

  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor& out,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    const Tensor& x = *in[0];  // (N, D, H, W, C)
    const ConvGeom g = geometry(Shape(x.shape.begin() + 1, x.shape.end()));
    const int64_t N = x.shape[0];
    float* dx = din[0] ? din[0]->ptr() : nullptr;  // (N, D, H, W, C)
    if (!trainable && !dx) return;
    if (ctx.scratch->sub.empty()) ctx.scratch->sub.resize(1);
    Tensor& dz = ctx.scratch->sub[0].at(0);  // output-shaped: gradient before the activation
    dz.resize(out.shape);
    const int64_t rows = out.size() / filters;
    activation_backward(act, out.ptr(), dout.ptr(), dz.ptr(), rows, filters);
    const float* W = params[0].value.ptr();
    float* gW = trainable ? params[0].grad.ptr() : nullptr;
    float* gb = trainable && use_bias ? params[1].grad.ptr() : nullptr;  // (filters)
    if (!transpose) {
      conv_backward(g, N, x.ptr(), W, dz.ptr(), nullptr, dx, gW, gb, ctx.scratch->t);
      return;
    }
    if (gb)
      for (int64_t r = 0; r < rows; ++r) add_scaled(gb, dz.ptr() + r * filters, 1.0f, filters);
    // virtual convolution: input dz (this layer's output), output-gradient x
    if (gW) conv_backward(g, N, dz.ptr(), W, x.ptr(), nullptr, nullptr, gW, nullptr, ctx.scratch->t);
    if (dx) conv_forward(g, N, dz.ptr(), W, nullptr, false, true, dx, ctx.scratch->t);
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
    for (const char* k : {"kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                          "bias_constraint"})
      c.set(k, Json());
    if (transpose) c.set("output_padding", output_padding.empty() ? Json() : json_ints(output_padding));
    return c;
  }
};

namespace {
LayerPtr make_conv3d_base(const Json& cfg, bool transpose) {
  auto l = std::make_shared<Conv3DBase>();
  l->transpose = transpose;
  apply_base_config(*l, cfg);
  const std::string who = "layer '" + l->name + "' (" + l->class_name() + "): ";
  l->filters = config_count(cfg, "filters", *l);
  if (!cfg.has("kernel_size") || cfg["kernel_size"].is_null()) throw Error(who + "kernel_size is required");
  try {
    l->kernel_size = config_ints(cfg, "kernel_size", 3);
    if (cfg.has("strides") && !cfg["strides"].is_null()) l->strides = config_ints(cfg, "strides", 3);
    if (cfg.has("dilation_rate") && !cfg["dilation_rate"].is_null()) l->dilation = config_ints(cfg, "dilation_rate", 3);
    if (transpose && cfg.has("output_padding") && !cfg["output_padding"].is_null())
      l->output_padding = config_ints(cfg, "output_padding", 3);
  } catch (const Error& e) {
    throw Error(who + e.what());
  }
  for (int d = 0; d < 3; ++d) {
    if (l->kernel_size[d] < 1 || l->strides[d] < 1 || l->dilation[d] < 1 || l->kernel_size[d] > 4096 ||
        l->strides[d] > 4096 || l->dilation[d] > 4096)
      throw Error(who + "kernel_size, strides and dilation_rate must be in [1, 4096]");
    if (transpose && l->dilation[d] != 1) throw Error(who + "dilation_rate other than 1 is not supported");
    if (!l->output_padding.empty() && (l->output_padding[d] < 0 || l->output_padding[d] >= l->strides[d]))
      throw Error(who + "output_padding must be >= 0 and smaller than the strides");
  }
  l->padding = config_lower(cfg, "padding", "valid");
  if (l->padding != "valid" && l->padding != "same") throw Error(who + "padding must be 'valid' or 'same', got '" + l->padding + "'");
  const std::string df = config_lower(cfg, "data_format", "channels_last");
  if (df != "channels_last") throw Error(who + "data_format '" + df + "' is not supported; only 'channels_last'");
  const Json a = cfg.get("activation", Json("linear"));
  l->act = activation_from_name(a.is_string() ? a.as_string() : "linear");
  l->use_bias = cfg.get("use_bias", Json(true)).as_bool();
  l->kernel_init = initializer_config(cfg.get("kernel_initializer", Json("glorot_uniform")));
  l->bias_init = initializer_config(cfg.get("bias_initializer", Json("zeros")));
  return l;
}
}  // namespace

LayerPtr make_conv3d(const Json& c) { return make_conv3d_base(c, false); }
LayerPtr make_conv3d_transpose(const Json& c) { return make_conv3d_base(c, true); }
KN_REGISTER_LAYER(Conv3D, make_conv3d);
KN_REGISTER_LAYER(Conv3DTranspose, make_conv3d_transpose);

}  // namespace kn
