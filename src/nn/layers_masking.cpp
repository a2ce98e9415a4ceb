// Masking (Keras 2.2): a time step whose features all equal mask_value is
// masked: its output is zeroed and the output mask (N, T) is 0 there, so that
// downstream layers (recurrent, pooling, merges) skip it.
#include <string>

#include "layer.h"

namespace kn {

class Masking : public Layer {
 public:
  double mask_value = 0.0;

  std::string class_name() const override { return "Masking"; }
  bool supports_masking() const override { return true; }
  MaskOut output_mask(const std::vector<bool>&) const override { return MaskOut::Computed; }

  Shape build(const std::vector<Shape>& in, Rng&) override {
    const Shape& s = in.at(0);
    if (s.empty())
      throw Error("layer '" + name + "' (Masking) needs inputs with a feature axis, got shape " + shape_str(s));
    built_ = true;
    return s;
  }

  // keep[r] for each row r of the (rows, F) view: 1 if any feature != mask_value.
  static float row_kept(const float* x, int64_t F, float v) {
    for (int64_t j = 0; j < F; ++j)
      if (x[j] != v) return 1.0f;
    return 0.0f;
  }

  void forward(const RunContext&, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];                  // (N, ..., F)
    const int64_t F = x.shape.back(), rows = x.size() / F;
    const float v = static_cast<float>(mask_value);
    for (int64_t r = 0; r < rows; ++r) {
      const float k = row_kept(x.ptr() + r * F, F, v);
      for (int64_t j = 0; j < F; ++j) out.data[r * F + j] = x.data[r * F + j] * k;
    }
  }

  void backward(const RunContext&, const std::vector<const Tensor*>& in, const Tensor&, const Tensor& dout,
                const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    const Tensor& x = *in[0];                  // (N, ..., F)
    const int64_t F = x.shape.back(), rows = x.size() / F;
    const float v = static_cast<float>(mask_value);
    for (int64_t r = 0; r < rows; ++r) {
      const float k = row_kept(x.ptr() + r * F, F, v);
      for (int64_t j = 0; j < F; ++j) din[0]->data[r * F + j] += dout.data[r * F + j] * k;
    }
  }

  void compute_mask(const std::vector<const Tensor*>& in, const std::vector<const Tensor*>&,
                    Tensor& mask) const override {
    const Tensor& x = *in[0];                  // (N, ..., F) -> mask (N, ...)
    const int64_t F = x.shape.back(), rows = x.size() / F;
    for (int64_t r = 0; r < rows; ++r) mask.data[r] = row_kept(x.ptr() + r * F, F, static_cast<float>(mask_value));
  }

  Json config() const override {
    Json c = base_config();
    c.set("mask_value", mask_value);
    return c;
  }
};

LayerPtr make_masking(const Json& cfg) {
  auto l = std::make_shared<Masking>();
  apply_base_config(*l, cfg);
  const Json& v = cfg.get("mask_value", Json(0.0));
  if (!v.is_number()) throw Error("layer '" + l->name + "' (Masking): mask_value must be a number");
  l->mask_value = v.as_number();
  return l;
}
KN_REGISTER_LAYER(Masking, make_masking);

}  // namespace kn
