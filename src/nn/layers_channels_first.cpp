// data_format = "channels_first" for the spatial layers (convolutions,
// pooling, upsampling, cropping, padding...): the layer is built channels
// last and wrapped in ChannelsFirst, which transposes its input
// (N, C, spatial...) -> (N, spatial..., C) before the channels-last kernel
// and the output back (spatial outputs only; global pooling outputs (N, C)
// need no transpose), and does the same for the gradients. make_layer()
// (layer.cpp) wraps a layer whose config asks for channels_first.
#include <string>
#include <utility>
#include <vector>

#include "layer.h"

namespace kn {

namespace {

// (N, A, B) -> (N, B, A) with A the first non-batch dim of `src` ("C first"
// to "C last") or the last ("C last" to "C first"): a per-sample transpose.
void transpose_per_sample(const Tensor& src, int64_t a, int64_t b, Tensor& dst, bool accumulate) {
  const int64_t n = src.shape[0];
  const float* s = src.ptr();
  float* d = dst.ptr();
  for (int64_t i = 0; i < n; ++i) {
    const float* si = s + i * a * b;  // (a, b)
    float* di = d + i * a * b;        // (b, a)
    for (int64_t r = 0; r < a; ++r)
      for (int64_t c = 0; c < b; ++c) {
        if (accumulate) di[c * a + r] += si[r * b + c];
        else di[c * a + r] = si[r * b + c];
      }
  }
}

// Shape (N, C, S...) -> (N, S..., C) and back.
Shape to_last(const Shape& s) {
  Shape o{s[0]};
  o.insert(o.end(), s.begin() + 2, s.end());
  o.push_back(s[1]);
  return o;
}
int64_t spatial_numel(const Shape& s, size_t from, size_t to) {
  int64_t k = 1;
  for (size_t i = from; i < to; ++i) k *= s[i];
  return k;
}

// Lends the wrapper's parameters to the inner layer for one call.
struct ParamLoan {
  Layer& outer;
  Layer& inner;
  ParamLoan(Layer& o, Layer& i) : outer(o), inner(i) { std::swap(outer.params, inner.params); }
  ~ParamLoan() { std::swap(outer.params, inner.params); }
};

class ChannelsFirst : public Layer {
 public:
  explicit ChannelsFirst(LayerPtr inner) : inner_(std::move(inner)) {
    name = inner_->name;
    trainable = inner_->trainable;
    weight_regularizers = inner_->weight_regularizers;
    weight_constraints = inner_->weight_constraints;
    activity_regularizer = inner_->activity_regularizer;
    rule_config = inner_->rule_config;
    batch_input_shape = inner_->batch_input_shape;
    has_batch_input_shape = inner_->has_batch_input_shape;
    fixed_batch_size = inner_->fixed_batch_size;
  }
  std::string class_name() const override { return inner_->class_name(); }

  // inputs[0]: per-sample (C, spatial...)
  Shape build(const std::vector<Shape>& inputs, Rng& rng) override {
    if (inputs.size() != 1 || inputs[0].size() < 2)
      throw Error("layer '" + name + "' (" + class_name() +
                  ", channels_first): expected one input of shape (channels, spatial...), got rank " +
                  std::to_string(inputs.empty() ? 0 : inputs[0].size()));
    Shape in_last(inputs[0].begin() + 1, inputs[0].end());  // (spatial..., C)
    in_last.push_back(inputs[0][0]);
    inner_->name = name;
    inner_->trainable = trainable;
    Shape out;
    {
      ParamLoan loan(*this, *inner_);
      out = inner_->build({in_last}, rng);
    }
    built_ = true;
    if (out.size() != in_last.size()) return out;  // e.g. global pooling: (C)
    Shape first{out.back()};                        // (C', spatial'...)
    first.insert(first.end(), out.begin(), out.end() - 1);
    return first;
  }

  // in: (N, C, S...); out: (N, C', S'...) or (N, C') for global pooling.
  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    Scratch& sc = *ctx.scratch;
    if (sc.sub.empty()) sc.sub.resize(1);
    if (sc.t.size() < 4) sc.t.resize(4);  // references below stay valid
    const Shape& s = in[0]->shape;
    Tensor& in_t = sc.at(0);  // (N, S..., C)
    in_t.resize(to_last(s));
    transpose_per_sample(*in[0], s[1], spatial_numel(s, 2, s.size()), in_t, false);
    Tensor& out_t = sc.at(1);  // (N, S'..., C')
    const bool spatial_out = out.shape.size() == s.size();
    out_t.resize(spatial_out ? to_last(out.shape) : out.shape);
    RunContext inner_ctx = ctx;
    inner_ctx.scratch = &sc.sub[0];
    {
      ParamLoan loan(*this, *inner_);
      inner_->forward(inner_ctx, {&in_t}, out_t);
    }
    if (spatial_out)
      transpose_per_sample(out_t, spatial_numel(out_t.shape, 1, out_t.shape.size() - 1), out_t.shape.back(), out, false);
    else
      out.data = out_t.data;
  }

  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor& out,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    Scratch& sc = *ctx.scratch;
    if (sc.t.size() < 4) sc.t.resize(4);
    const Shape& s = in[0]->shape;
    Tensor& in_t = sc.at(0);   // (N, S..., C) from forward
    Tensor& out_t = sc.at(1);  // (N, S'..., C') from forward
    Tensor& dout_t = sc.at(2);
    const bool spatial_out = out.shape.size() == s.size();
    dout_t.resize(out_t.shape);
    if (spatial_out)
      transpose_per_sample(dout, out.shape[1], spatial_numel(out.shape, 2, out.shape.size()), dout_t, false);
    else
      dout_t.data = dout.data;
    Tensor* din_t = nullptr;
    if (din[0]) {
      din_t = &sc.at(3);  // (N, S..., C)
      din_t->resize(in_t.shape);
      din_t->zero();
    }
    RunContext inner_ctx = ctx;
    inner_ctx.scratch = &sc.sub[0];
    {
      ParamLoan loan(*this, *inner_);
      inner_->backward(inner_ctx, {&in_t}, out_t, dout_t, {din_t});
    }
    if (din[0])
      transpose_per_sample(*din_t, spatial_numel(s, 2, s.size()), s[1], *din[0], true);
  }

  Json config() const override {
    inner_->name = name;
    inner_->trainable = trainable;
    Json c = inner_->config();
    c.set("data_format", "channels_first");
    return c;
  }

 private:
  LayerPtr inner_;
};

}  // namespace

// Called by make_layer() (layer.cpp) for a config with data_format "channels_first".
LayerPtr make_channels_first(LayerPtr inner) { return std::make_shared<ChannelsFirst>(std::move(inner)); }

}  // namespace kn
