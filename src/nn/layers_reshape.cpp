// Reshape: per-sample reshape to target_shape (one entry may be -1, inferred).
// Row-major data is unchanged, so forward and backward are copies.
#include <algorithm>

#include "layer.h"

namespace kn {

class Reshape : public Layer {
 public:
  std::vector<int64_t> target;  // as given, may hold one -1
  std::string class_name() const override { return "Reshape"; }

  static std::string dims(const std::vector<int64_t>& v) {
    std::string s = "(";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    if (v.size() == 1) s += ",";
    return s + ")";
  }

  Shape build(const std::vector<Shape>& in, Rng&) override {
    const Shape& s = in.at(0);
    const int64_t total = shape_numel(s);
    int64_t known = 1, unknown = -1;
    for (size_t i = 0; i < target.size(); ++i) {
      if (target[i] == -1) unknown = static_cast<int64_t>(i);
      else if (!size_mul(known, target[i], &known))
        throw Error("layer '" + name + "' (Reshape): target_shape " + dims(target) + " has more than 2^36 elements");
    }
    Shape out(target.begin(), target.end());
    bool ok;
    if (unknown >= 0) {
      ok = known > 0 && total % known == 0;
      if (ok) out[unknown] = total / known;
    } else {
      ok = known == total;
    }
    if (!ok)
      throw Error("layer '" + name + "' (Reshape): cannot reshape input " + shape_str(s) + " (" +
                  std::to_string(total) + " values per sample) to target_shape " + dims(target) +
                  (unknown >= 0 ? " (the known dimensions multiply to " + std::to_string(known) +
                                      ", which does not divide " + std::to_string(total) + ")"
                                : " (" + std::to_string(known) + " values)"));
    built_ = true;
    return out;
  }

  void forward(const RunContext&, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];  // (N, ...) -> (N, target...)
    std::copy(x.data.begin(), x.data.end(), out.data.begin());
  }

  void backward(const RunContext&, const std::vector<const Tensor*>&, const Tensor&,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    float* dx = din[0]->ptr();
    const int64_t n = dout.size();
    for (int64_t i = 0; i < n; ++i) dx[i] += dout.data[i];
  }

  Json config() const override {
    Json c = base_config();
    c.set("target_shape", json_ints(target));
    return c;
  }
};

LayerPtr make_reshape(const Json& cfg) {
  auto l = std::make_shared<Reshape>();
  apply_base_config(*l, cfg);
  const Json& t = cfg["target_shape"];
  if (t.is_number()) {
    l->target = {t.as_int()};
  } else if (t.is_array()) {
    for (auto& e : t.elements()) l->target.push_back(e.is_null() ? -1 : e.as_int());
  } else {
    throw Error("layer '" + l->name + "' (Reshape): target_shape must be a list of integers");
  }
  int n_unknown = 0;
  for (int64_t d : l->target) {
    if (d == -1) ++n_unknown;
    else if (d < 1)
      throw Error("layer '" + l->name + "' (Reshape): target_shape entries must be positive or -1, got " +
                  Reshape::dims(l->target));
  }
  if (n_unknown > 1)
    throw Error("layer '" + l->name + "' (Reshape): at most one target_shape entry may be -1, got " +
                Reshape::dims(l->target));
  return l;
}
KN_REGISTER_LAYER(Reshape, make_reshape);

}  // namespace kn
