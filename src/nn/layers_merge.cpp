// Merge layers: Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum.
#include <algorithm>

#include "layer.h"

namespace kn {

namespace {
enum class MergeOp { Add, Subtract, Multiply, Average, Maximum, Minimum };

class Merge : public Layer {
 public:
  MergeOp op;
  std::string cls;
  Merge(MergeOp o, std::string c) : op(o), cls(std::move(c)) {}
  std::string class_name() const override { return cls; }
  int n_inputs() const override { return op == MergeOp::Subtract ? 2 : -1; }
  bool supports_masking() const override { return true; }
  MaskOut output_mask(const std::vector<bool>& in_masked) const override { return merged_mask_out(in_masked); }
  void compute_mask(const std::vector<const Tensor*>&, const std::vector<const Tensor*>& in_masks,
                    Tensor& mask) const override {
    and_masks(in_masks, mask);
  }

  Shape build(const std::vector<Shape>& in, Rng&) override {
    if (in.size() < 2)
      throw Error("layer '" + name + "' (" + cls + ") must be applied to a list of at least 2 tensors");
    for (size_t k = 1; k < in.size(); ++k)
      if (in[k] != in[0])
        throw Error("layer '" + name + "' (" + cls + "): inputs must all have the same shape; got " +
                    shape_str(in[0]) + " and " + shape_str(in[k]));
    built_ = true;
    return in[0];
  }

  void forward(const RunContext&, const std::vector<const Tensor*>& in, Tensor& out) override {
    const int64_t n = out.size();  // all inputs and out: (N, ...)
    float* y = out.ptr();
    std::copy(in[0]->ptr(), in[0]->ptr() + n, y);
    for (size_t k = 1; k < in.size(); ++k) {
      const float* x = in[k]->ptr();
      switch (op) {
        case MergeOp::Add: case MergeOp::Average: for (int64_t i = 0; i < n; ++i) y[i] += x[i]; break;
        case MergeOp::Subtract: for (int64_t i = 0; i < n; ++i) y[i] -= x[i]; break;
        case MergeOp::Multiply: for (int64_t i = 0; i < n; ++i) y[i] *= x[i]; break;
        case MergeOp::Maximum: for (int64_t i = 0; i < n; ++i) y[i] = std::max(y[i], x[i]); break;
        case MergeOp::Minimum: for (int64_t i = 0; i < n; ++i) y[i] = std::min(y[i], x[i]); break;
      }
    }
    if (op == MergeOp::Average) {
      const float inv = 1.0f / static_cast<float>(in.size());
      for (int64_t i = 0; i < n; ++i) y[i] *= inv;
    }
  }

  void backward(const RunContext&, const std::vector<const Tensor*>& in, const Tensor& out,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    const int64_t n = out.size();
    const float* g = dout.ptr();
    for (size_t k = 0; k < in.size(); ++k) {
      if (!din[k]) continue;
      float* dx = din[k]->ptr();
      const float* x = in[k]->ptr();
      switch (op) {
        case MergeOp::Add: for (int64_t i = 0; i < n; ++i) dx[i] += g[i]; break;
        case MergeOp::Average: {
          const float inv = 1.0f / static_cast<float>(in.size());
          for (int64_t i = 0; i < n; ++i) dx[i] += g[i] * inv;
          break;
        }
        case MergeOp::Subtract: {
          const float s = k == 0 ? 1.0f : -1.0f;
          for (int64_t i = 0; i < n; ++i) dx[i] += s * g[i];
          break;
        }
        case MergeOp::Multiply:
          for (int64_t i = 0; i < n; ++i) {
            float p = 1.0f;  // product of the other inputs
            for (size_t j = 0; j < in.size(); ++j) if (j != k) p *= in[j]->data[i];
            dx[i] += g[i] * p;
          }
          break;
        case MergeOp::Maximum: case MergeOp::Minimum:
          // gradient to the first input holding the max/min (as argmax ties go first)
          for (int64_t i = 0; i < n; ++i) {
            size_t w = 0;
            for (size_t j = 1; j < in.size(); ++j) {
              float a = in[j]->data[i], b = in[w]->data[i];
              if (op == MergeOp::Maximum ? a > b : a < b) w = j;
            }
            if (w == k) dx[i] += g[i];
          }
          (void)x;
          break;
      }
    }
  }

  Json config() const override { return base_config(); }
};

template <MergeOp O>
LayerPtr make_merge(const Json& cfg) {
  static const char* names[] = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"};
  auto l = std::make_shared<Merge>(O, names[static_cast<int>(O)]);
  apply_base_config(*l, cfg);
  return l;
}

class Concatenate : public Layer {
 public:
  int64_t axis = -1;  // Keras axis including the batch dim (-1 = last)
  std::string class_name() const override { return "Concatenate"; }
  int n_inputs() const override { return -1; }
  int64_t ax_ = 0;    // resolved per-sample axis
  int64_t rank_ = 0;  // per-sample rank of the inputs
  // Masks: along the feature (last) axis only, where Keras's concatenated
  // masks reduce to the AND of the inputs' masks.
  bool supports_masking() const override { return true; }
  MaskOut output_mask(const std::vector<bool>& in_masked) const override {
    MaskOut m = merged_mask_out(in_masked);
    if (m != MaskOut::None && ax_ != rank_ - 1)
      throw Error("layer '" + name + "' (Concatenate): masked inputs can only be concatenated along the last axis");
    return m;
  }
  void compute_mask(const std::vector<const Tensor*>&, const std::vector<const Tensor*>& in_masks,
                    Tensor& mask) const override {
    and_masks(in_masks, mask);
  }
  std::vector<int64_t> widths_;

  Shape build(const std::vector<Shape>& in, Rng&) override {
    if (in.size() < 2) throw Error("layer '" + name + "' (Concatenate) needs a list of at least 2 tensors");
    const int64_t rank = static_cast<int64_t>(in[0].size());
    int64_t a = axis < 0 ? rank + axis : axis - 1;  // per-sample axis
    if (a < 0 || a >= rank)
      throw Error("layer '" + name + "' (Concatenate): axis " + std::to_string(axis) + " is out of range for inputs " + shape_str(in[0]));
    Shape out = in[0];
    out[a] = 0;
    widths_.clear();
    for (auto& s : in) {
      bool ok = static_cast<int64_t>(s.size()) == rank;
      for (int64_t d = 0; ok && d < rank; ++d) ok = d == a || s[d] == in[0][d];
      if (!ok)
        throw Error("layer '" + name + "' (Concatenate) requires inputs with matching shapes except for the concat axis; got " +
                    shape_str(in[0]) + " and " + shape_str(s));
      out[a] += s[a];
    }
    ax_ = a;
    rank_ = rank;
    built_ = true;
    return out;
  }

  // Shapes viewed as (N * outer, width_k * inner) blocks.
  void geometry(const Tensor& out, int64_t& outer, int64_t& inner) const {
    outer = out.shape[0];
    for (int64_t d = 1; d <= ax_; ++d) outer *= out.shape[d];
    inner = 1;
    for (size_t d = ax_ + 2; d < out.shape.size(); ++d) inner *= out.shape[d];
  }

  void forward(const RunContext&, const std::vector<const Tensor*>& in, Tensor& out) override {
    int64_t outer, inner;
    geometry(out, outer, inner);
    const int64_t total = out.shape[ax_ + 1] * inner;  // values per outer row of out
    int64_t off = 0;
    for (auto* x : in) {
      const int64_t w = x->shape[ax_ + 1] * inner;
      for (int64_t o = 0; o < outer; ++o)
        std::copy(x->ptr() + o * w, x->ptr() + (o + 1) * w, out.ptr() + o * total + off);
      off += w;
    }
  }

  void backward(const RunContext&, const std::vector<const Tensor*>& in, const Tensor& out,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    int64_t outer, inner;
    geometry(out, outer, inner);
    const int64_t total = out.shape[ax_ + 1] * inner;
    int64_t off = 0;
    for (size_t k = 0; k < in.size(); ++k) {
      const int64_t w = in[k]->shape[ax_ + 1] * inner;
      if (din[k])
        for (int64_t o = 0; o < outer; ++o) {
          const float* g = dout.ptr() + o * total + off;
          float* dx = din[k]->ptr() + o * w;
          for (int64_t i = 0; i < w; ++i) dx[i] += g[i];
        }
      off += w;
    }
  }

  Json config() const override {
    Json c = base_config();
    c.set("axis", axis);
    return c;
  }
};

LayerPtr make_concatenate(const Json& cfg) {
  auto l = std::make_shared<Concatenate>();
  apply_base_config(*l, cfg);
  l->axis = cfg.get("axis", Json(-1)).as_int();
  return l;
}

}  // namespace

KN_REGISTER_LAYER(Add, make_merge<MergeOp::Add>);
KN_REGISTER_LAYER(Subtract, make_merge<MergeOp::Subtract>);
KN_REGISTER_LAYER(Multiply, make_merge<MergeOp::Multiply>);
KN_REGISTER_LAYER(Average, make_merge<MergeOp::Average>);
KN_REGISTER_LAYER(Maximum, make_merge<MergeOp::Maximum>);
KN_REGISTER_LAYER(Minimum, make_merge<MergeOp::Minimum>);
KN_REGISTER_LAYER(Concatenate, make_concatenate);

}  // namespace kn
