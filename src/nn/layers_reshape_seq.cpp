// RepeatVector (N, F) -> (N, n, F) and Permute (per-sample axes reordered by
// `dims`, 1-based as Keras).
#include <string>

#include "layer.h"

namespace kn {

class RepeatVector : public Layer {
 public:
  int64_t n = 1;
  std::string class_name() const override { return "RepeatVector"; }

  Shape build(const std::vector<Shape>& in, Rng&) override {
    if (in.at(0).size() != 1)
      throw Error("layer '" + name + "' (RepeatVector) expects inputs of shape (batch, features), got " +
                  shape_str(in[0]));
    checked_numel({n, in[0][0]}, "layer '" + name + "' output");
    built_ = true;
    return {n, in[0][0]};  // (n, F)
  }

  void forward(const RunContext&, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];                  // (N, F)
    const int64_t N = x.shape[0], F = x.shape[1];
    for (int64_t b = 0; b < N; ++b)
      for (int64_t r = 0; r < n; ++r)
        std::copy(x.ptr() + b * F, x.ptr() + (b + 1) * F, out.ptr() + (b * n + r) * F);  // out (N, n, F)
  }

  void backward(const RunContext&, const std::vector<const Tensor*>& in, const Tensor&, const Tensor& dout,
                const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    const int64_t N = in[0]->shape[0], F = in[0]->shape[1];
    for (int64_t b = 0; b < N; ++b)
      for (int64_t r = 0; r < n; ++r)
        for (int64_t f = 0; f < F; ++f) din[0]->data[b * F + f] += dout.data[(b * n + r) * F + f];
  }

  Json config() const override {
    Json c = base_config();
    c.set("n", n);
    return c;
  }
};

LayerPtr make_repeat_vector(const Json& cfg) {
  auto l = std::make_shared<RepeatVector>();
  apply_base_config(*l, cfg);
  l->n = config_count(cfg, "n", *l);
  return l;
}
KN_REGISTER_LAYER(RepeatVector, make_repeat_vector);

class Permute : public Layer {
 public:
  std::vector<int64_t> dims;  // 1-based per-sample axes
  std::string class_name() const override { return "Permute"; }

  Shape build(const std::vector<Shape>& in, Rng&) override {
    const Shape& s = in.at(0);
    if (s.size() != dims.size())
      throw Error("layer '" + name + "' (Permute): dims " + dims_text(dims) + " has " + std::to_string(dims.size()) +
                  " entries but the input has " + std::to_string(s.size()) + " axes (shape " + shape_str(s) + ")");
    Shape out(s.size());
    for (size_t i = 0; i < dims.size(); ++i) out[i] = s[dims[i] - 1];
    built_ = true;
    return out;
  }

  // For each output element (per sample), the input offset.
  static void offsets(const Shape& in, const std::vector<int64_t>& dims, std::vector<int64_t>& off) {
    const size_t r = in.size();
    std::vector<int64_t> in_stride(r, 1), out_shape(r);
    for (size_t i = r - 1; i-- > 0;) in_stride[i] = in_stride[i + 1] * in[i + 1];
    int64_t total = 1;
    for (size_t i = 0; i < r; ++i) { out_shape[i] = in[dims[i] - 1]; total *= out_shape[i]; }
    off.assign(total, 0);
    std::vector<int64_t> idx(r, 0);
    for (int64_t o = 0; o < total; ++o) {
      int64_t src = 0;
      for (size_t i = 0; i < r; ++i) src += idx[i] * in_stride[dims[i] - 1];
      off[o] = src;
      for (size_t i = r; i-- > 0;) {
        if (++idx[i] < out_shape[i]) break;
        idx[i] = 0;
      }
    }
  }

  void forward(const RunContext&, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];                  // (N, ...)
    const Shape s(x.shape.begin() + 1, x.shape.end());
    const std::vector<int64_t>& off = offsets_for(s);
    const int64_t N = x.shape[0], per = static_cast<int64_t>(off.size());
    for (int64_t b = 0; b < N; ++b)
      for (int64_t o = 0; o < per; ++o) out.data[b * per + o] = x.data[b * per + off[o]];
  }

  void backward(const RunContext&, const std::vector<const Tensor*>& in, const Tensor&, const Tensor& dout,
                const std::vector<Tensor*>& din) override {
    if (!din[0]) return;
    const Tensor& x = *in[0];                  // (N, ...)
    const Shape s(x.shape.begin() + 1, x.shape.end());
    const std::vector<int64_t>& off = offsets_for(s);
    const int64_t N = x.shape[0], per = static_cast<int64_t>(off.size());
    for (int64_t b = 0; b < N; ++b)
      for (int64_t o = 0; o < per; ++o) din[0]->data[b * per + off[o]] += dout.data[b * per + o];
  }

  Json config() const override {
    Json c = base_config();
    c.set("dims", json_ints(dims));
    return c;
  }

 private:
  std::vector<int64_t> off_;  // input offset of each output element, for off_shape_
  Shape off_shape_;
  const std::vector<int64_t>& offsets_for(const Shape& s) {
    if (off_shape_ != s || off_.empty()) {
      offsets(s, dims, off_);
      off_shape_ = s;
    }
    return off_;
  }
};

LayerPtr make_permute(const Json& cfg) {
  auto l = std::make_shared<Permute>();
  apply_base_config(*l, cfg);
  const Json& d = cfg.get("dims", Json());
  if (!d.is_array() || d.size() == 0) throw Error("layer '" + l->name + "' (Permute): dims must be a list of axes");
  std::vector<bool> seen(d.size(), false);
  for (size_t i = 0; i < d.size(); ++i) {
    const int64_t a = d[i].is_number() ? d[i].as_int() : 0;
    if (a < 1 || a > static_cast<int64_t>(d.size()) || seen[a - 1])
      throw Error("layer '" + l->name + "' (Permute): dims must be a permutation of 1.." + std::to_string(d.size()) +
                  ", got " + d.dump());
    seen[a - 1] = true;
    l->dims.push_back(a);
  }
  return l;
}
KN_REGISTER_LAYER(Permute, make_permute);

}  // namespace kn
