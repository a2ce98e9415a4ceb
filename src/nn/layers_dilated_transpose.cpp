// Conv2DTranspose with dilation_rate > 1 (Keras calls TensorFlow's atrous
// transposed convolution: strides 1, one rate for both axes). It equals the
// plain transposed convolution with the dilated kernel, (k - 1) * rate + 1
// wide, zero between the taps. DilatedConv2DTranspose keeps Keras's compact
// kernel (kh, kw, filters, in) as its weight, scatters it into the dilated
// kernel of an inner Conv2DTranspose before each call and gathers the
// gradient back. make_layer() (layer.cpp) builds it for such configs.
#include <string>
#include <utility>
#include <vector>

#include "layer.h"

namespace kn {

LayerPtr make_layer(const std::string& class_name, const Json& config);

namespace {

class DilatedConv2DTranspose : public Layer {
 public:
  DilatedConv2DTranspose(LayerPtr inner, LayerPtr compact, int64_t rate, std::vector<int64_t> ksize)
      : inner_(std::move(inner)), compact_(std::move(compact)), rate_(rate), k_(std::move(ksize)) {
    name = compact_->name;
    trainable = compact_->trainable;
    weight_regularizers = compact_->weight_regularizers;
    weight_constraints = compact_->weight_constraints;
    activity_regularizer = compact_->activity_regularizer;
    rule_config = compact_->rule_config;
    batch_input_shape = compact_->batch_input_shape;
    has_batch_input_shape = compact_->has_batch_input_shape;
    fixed_batch_size = compact_->fixed_batch_size;
  }
  std::string class_name() const override { return "Conv2DTranspose"; }

  Shape build(const std::vector<Shape>& inputs, Rng& rng) override {
    if (!built_) {
      // Keras's initialisation: the compact kernel, with its own fans
      compact_->build(inputs, rng);
      params = std::move(compact_->params);
      compact_->params.clear();
    }
    inner_->name = name;
    Shape out = inner_->build(inputs, rng);
    built_ = true;
    return out;
  }

  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    load_kernel();
    inner_->forward(ctx, in, out);
  }

  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor& out,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    for (Param& p : inner_->params) p.grad.resize(p.value.shape), p.grad.zero();
    load_kernel();
    inner_->backward(ctx, in, out, dout, din);
    // kernel (kh, kw, F, C) <- dilated (kh', kw', F, C) at taps (u * rate, v * rate)
    const Tensor& g = inner_->params[0].grad;
    Tensor& kg = params[0].grad;
    if (kg.shape != params[0].value.shape) { kg.resize(params[0].value.shape); kg.zero(); }
    const int64_t fc = g.shape[2] * g.shape[3], kwd = g.shape[1];
    for (int64_t u = 0; u < k_[0]; ++u)
      for (int64_t v = 0; v < k_[1]; ++v) {
        const float* src = g.ptr() + ((u * rate_) * kwd + v * rate_) * fc;
        float* dst = kg.ptr() + (u * k_[1] + v) * fc;
        for (int64_t i = 0; i < fc; ++i) dst[i] += src[i];
      }
    if (params.size() > 1) {  // bias (F)
      Tensor& bg = params[1].grad;
      if (bg.shape != params[1].value.shape) { bg.resize(params[1].value.shape); bg.zero(); }
      for (int64_t i = 0; i < bg.size(); ++i) bg.data[i] += inner_->params[1].grad.data[i];
    }
  }

  Json config() const override {
    compact_->name = name;
    compact_->trainable = trainable;
    Json c = compact_->config();
    c.set("dilation_rate", json_ints({rate_, rate_}));
    return c;
  }

 private:
  // The inner (dilated) kernel from the compact one; the bias copied.
  void load_kernel() {
    Tensor& big = inner_->params[0].value;  // (kh', kw', F, C)
    const Tensor& k = params[0].value;      // (kh, kw, F, C)
    big.zero();
    const int64_t fc = big.shape[2] * big.shape[3], kwd = big.shape[1];
    for (int64_t u = 0; u < k_[0]; ++u)
      for (int64_t v = 0; v < k_[1]; ++v) {
        const float* src = k.ptr() + (u * k_[1] + v) * fc;
        float* dst = big.ptr() + ((u * rate_) * kwd + v * rate_) * fc;
        for (int64_t i = 0; i < fc; ++i) dst[i] = src[i];
      }
    if (params.size() > 1) inner_->params[1].value.data = params[1].value.data;
  }

  LayerPtr inner_, compact_;
  int64_t rate_;
  std::vector<int64_t> k_;
};

}  // namespace

// Called by make_layer() for a Conv2DTranspose config with dilation_rate > 1.
LayerPtr make_dilated_conv2d_transpose(const Json& config) {
  const std::string who = "layer '" + config.get("name", Json("conv2d_transpose")).dump() + "' (Conv2DTranspose): ";
  const std::vector<int64_t> rate = config_ints(config, "dilation_rate", 2);
  if (rate[0] != rate[1])
    throw Error(who + "dilation_rate must be the same on both axes (TensorFlow's atrous transposed convolution)");
  if (config.has("strides") && !config["strides"].is_null())
    for (int64_t s : config_ints(config, "strides", 2))
      if (s != 1) throw Error(who + "dilation_rate > 1 needs strides = 1 (TensorFlow's atrous transposed convolution)");
  const std::vector<int64_t> k = config_ints(config, "kernel_size", 2);
  Json compact = config;
  compact.set("dilation_rate", json_ints({1, 1}));
  Json dilated = compact;
  dilated.set("kernel_size", json_ints({(k[0] - 1) * rate[0] + 1, (k[1] - 1) * rate[0] + 1}));
  return std::make_shared<DilatedConv2DTranspose>(make_layer("Conv2DTranspose", dilated),
                                                  make_layer("Conv2DTranspose", compact), rate[0], k);
}

}  // namespace kn
