// Conv2DTranspose (Keras 2.2.5): the adjoint of a Conv2D, channels-last.
// Kernel (kh, kw, filters, in_channels), as Keras stores it. Output size per
// axis (conv_utils.deconv_length): without output_padding, valid: in * s +
// max(k - s, 0), same: in * s; with output_padding p: (in - 1) * s + k -
// 2 * pad + p (pad = k // 2 for same, 0 for valid). TensorFlow places the
// window as for the forward convolution from the output to the input shape:
// pad_before = max((in - 1) * s + k - out, 0) / 2 for same, 0 for valid.
//
// With that "virtual" convolution g (input = this layer's output (OH, OW, F),
// output = this layer's input (H, W, C), kernel viewed as (K = kh*kw*F, C)),
// using the kernels of src/kernels/conv.h:
//   forward:  y = backward-data_g(x) + b
//   backward: dx += forward_g(dz); dW += backward-filter_g(input dz, output-gradient x).
#include <algorithm>

#include "activations.h"
#include "conv.h"
#include "initializers.h"
#include "layer.h"

namespace kn {

class Conv2DTranspose : public Layer {
 public:
  int64_t filters = 0;
  std::vector<int64_t> kernel_size{1, 1}, strides{1, 1};
  std::vector<int64_t> output_padding;  // empty = None
  std::string padding = "valid";
  Activation act = Activation::Linear;
  bool use_bias = true;
  Json kernel_init, bias_init;

  std::string class_name() const override { return "Conv2DTranspose"; }

  static int64_t out_len(int64_t in, int64_t k, int64_t s, const std::string& pad, int64_t op) {
    if (op < 0) return pad == "valid" ? in * s + std::max<int64_t>(k - s, 0) : in * s;
    const int64_t p = pad == "same" ? k / 2 : 0;
    return (in - 1) * s + k - 2 * p + op;
  }
  ConvGeom geometry(const Shape& s) const {
    if (s.size() != 3)
      throw Error("layer '" + name + "' (Conv2DTranspose) expects inputs of shape (H, W, C) per sample, i.e. "
                  "(None, H, W, C), but got " + shape_str(s));
    ConvGeom g;
    g.C = filters;  // the virtual convolution's input channels
    g.F = s[2];
    WindowAxis* ax[2] = {&g.h, &g.w};
    for (int d = 0; d < 2; ++d) {
      WindowAxis& a = *ax[d];
      a.k = kernel_size[d];
      a.stride = strides[d];
      a.out = s[d];
      a.in = out_len(s[d], a.k, a.stride, padding, output_padding.empty() ? -1 : output_padding[d]);
      a.pad_before = padding == "same" ? std::max<int64_t>((a.out - 1) * a.stride + a.k - a.in, 0) / 2 : 0;
      if (a.in < 1)
        throw Error("layer '" + name + "' (Conv2DTranspose): the output would be empty for input " + shape_str(s));
    }
    return g;
  }

  Shape build(const std::vector<Shape>& in, Rng& rng) override {
    const ConvGeom g = geometry(in.at(0));
    if (!built_) {
      params.resize(use_bias ? 2 : 1);
      params[0].name = "kernel";
      params[0].value = Tensor({kernel_size[0], kernel_size[1], filters, g.F});  // (kh, kw, filters, in)
      int64_t fan_in = 0, fan_out = 0;
      compute_fans(params[0].value.shape, fan_in, fan_out);
      initialize(params[0].value, kernel_init, fan_in, fan_out, rng);
      if (use_bias) {
        params[1].name = "bias";
        params[1].value = Tensor({filters});  // (filters)
        initialize(params[1].value, bias_init, filters, filters, rng);
      }
      for (auto& p : params) p.grad = Tensor(p.value.shape);
      built_ = true;
    } else if (params[0].value.shape[3] != g.F) {
      throw Error("layer '" + name + "' (Conv2DTranspose) was built for " + std::to_string(params[0].value.shape[3]) +
                  " input channels but got " + shape_str(in.at(0)));
    }
    checked_numel({g.h.in, g.w.in, filters}, "layer '" + name + "' output");
    return Shape{g.h.in, g.w.in, filters};
  }

  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];  // (N, H, W, C)
    const ConvGeom g = geometry(Shape(x.shape.begin() + 1, x.shape.end()));
    out.zero();                // (N, OH, OW, F)
    conv_backward(g, x.shape[0], nullptr, params[0].value.ptr(), x.ptr(), nullptr, out.ptr(), nullptr, nullptr,
                  ctx.scratch->t);
    const int64_t rows = out.size() / filters;
    bias_relu_rows(out.ptr(), rows, filters, use_bias ? params[1].value.ptr() : nullptr, act == Activation::Relu);
    if (act != Activation::Relu) activation_forward(act, out.ptr(), rows, filters);
  }

  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor& out,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    const Tensor& x = *in[0];  // (N, H, W, C)
    const ConvGeom g = geometry(Shape(x.shape.begin() + 1, x.shape.end()));
    float* dx = din[0] ? din[0]->ptr() : nullptr;  // (N, H, W, C)
    if (!trainable && !dx) return;
    if (ctx.scratch->sub.empty()) ctx.scratch->sub.resize(1);
    Tensor& dz = ctx.scratch->sub[0].at(0);  // (N, OH, OW, F): gradient before the activation
    dz.resize(out.shape);
    const int64_t rows = out.size() / filters;
    activation_backward(act, out.ptr(), dout.ptr(), dz.ptr(), rows, filters);
    if (trainable && use_bias) {
      float* gb = params[1].grad.ptr();  // (F)
      for (int64_t r = 0; r < rows; ++r) add_scaled(gb, dz.ptr() + r * filters, 1.0f, filters);
    }
    // dW (K, C) += backward-filter of the virtual convolution (input dz, output-gradient x)
    if (trainable)
      conv_backward(g, x.shape[0], dz.ptr(), params[0].value.ptr(), x.ptr(), nullptr, nullptr,
                    params[0].grad.ptr(), nullptr, ctx.scratch->t);
    // dx (N, H, W, C) += virtual forward of dz
    if (dx) conv_forward(g, x.shape[0], dz.ptr(), params[0].value.ptr(), nullptr, false, true, dx, ctx.scratch->t);
  }

  Json config() const override {
    Json c = base_config();
    c.set("filters", filters);
    c.set("kernel_size", json_ints(kernel_size));
    c.set("strides", json_ints(strides));
    c.set("padding", padding);
    c.set("data_format", "channels_last");
    c.set("dilation_rate", json_ints({1, 1}));
    c.set("activation", activation_name(act));
    c.set("use_bias", use_bias);
    c.set("kernel_initializer", kernel_init);
    c.set("bias_initializer", bias_init);
    for (const char* k : {"kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                          "bias_constraint"})
      c.set(k, Json());
    c.set("output_padding", output_padding.empty() ? Json() : json_ints(output_padding));
    return c;
  }
};

LayerPtr make_conv2d_transpose(const Json& cfg) {
  auto l = std::make_shared<Conv2DTranspose>();
  apply_base_config(*l, cfg);
  const std::string who = "layer '" + l->name + "' (Conv2DTranspose): ";
  l->filters = config_count(cfg, "filters", *l);
  if (!cfg.has("kernel_size") || cfg["kernel_size"].is_null()) throw Error(who + "kernel_size is required");
  try {
    l->kernel_size = config_ints(cfg, "kernel_size", 2);
    if (cfg.has("strides") && !cfg["strides"].is_null()) l->strides = config_ints(cfg, "strides", 2);
    if (cfg.has("output_padding") && !cfg["output_padding"].is_null()) l->output_padding = config_ints(cfg, "output_padding", 2);
    if (cfg.has("dilation_rate") && !cfg["dilation_rate"].is_null())
      for (int64_t d : config_ints(cfg, "dilation_rate", 2))
        if (d != 1) throw Error("dilation_rate other than 1 is not supported");
  } catch (const Error& e) {
    throw Error(who + e.what());
  }
  for (int d = 0; d < 2; ++d) {
    if (l->kernel_size[d] < 1 || l->strides[d] < 1 || l->kernel_size[d] > 4096 || l->strides[d] > 4096)
      throw Error(who + "kernel_size and strides must be in [1, 4096]");
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
KN_REGISTER_LAYER(Conv2DTranspose, make_conv2d_transpose);

}  // namespace kn
