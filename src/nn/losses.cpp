// Keras 2.2.4 losses (TensorFlow backend formulas), see losses.h.
#include "losses.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "parallel.h"

namespace kn {
namespace {

constexpr float kEps = 1e-7f;            // K.epsilon() as a float32 tensor
constexpr float kOneMinusEps = 1.0f - 1e-7f;  // `1. - _epsilon` evaluated in float32

// "(None, 10)" / "(60000, 9)": batch dim then the per-sample shape.
std::string fmt_shape(int64_t batch, const Shape& sample) {
  std::string s = "(";
  s += batch < 0 ? std::string("None") : std::to_string(batch);
  for (int64_t d : sample) s += ", " + std::to_string(d);
  if (sample.empty()) s += ",";
  return s + ")";
}

// Row geometry of a batched prediction: N samples, R rows per sample, C values per row.
struct Geometry {
  int64_t n = 0, r = 0, c = 0;
};

Geometry geometry(const std::string& loss, const Tensor& y_pred) {
  if (y_pred.shape.empty())
    throw Error("loss '" + loss + "': y_pred must have a batch dimension, got a scalar");
  Geometry g;
  g.n = y_pred.shape[0];
  g.c = y_pred.shape.size() >= 2 ? y_pred.shape.back() : 1;
  const int64_t per_sample = g.n > 0 ? shape_numel(y_pred.shape) / g.n : 0;
  g.r = g.c > 0 ? per_sample / g.c : 0;
  return g;
}

Shape sample_shape(const Shape& s) { return s.empty() ? Shape{} : Shape(s.begin() + 1, s.end()); }

// Row kernel: loss of one row (C values) from p (C), t (C, or 1 label for sparse).
// When g != nullptr writes gscale * d loss / d p into g (C).
using RowFn = std::function<double(const float* p, const float* t, int64_t c, float* g, float gscale)>;

// Runs `row` over all rows, averaging rows into per-sample values (N) and
// scaling gradients by coef[i] / R. t_stride: floats of y_true per row.
void run_rows(const Geometry& geo, const Tensor& y_pred, const Tensor& y_true, int64_t t_stride,
              float* per_sample, Tensor* dpred, const float* coef, const RowFn& row_fn) {
  if (dpred) dpred->resize(y_pred.shape);  // (N, ..., C)
  const float* p = y_pred.ptr();           // (N, R, C)
  const float* t = y_true.ptr();           // (N, R, t_stride)
  float* g = dpred ? dpred->ptr() : nullptr;  // (N, R, C)
  const int64_t grain = 256;
  const int64_t n_tasks = n_chunks(geo.n, grain);
  parallel_for(n_tasks, [&](int64_t task) {
    const int64_t i0 = task * grain, i1 = std::min(geo.n, i0 + grain);
    for (int64_t i = i0; i < i1; ++i) {
      const float gscale = (coef ? coef[i] : 1.0f) / static_cast<float>(geo.r);
      double acc = 0.0;
      for (int64_t r = 0; r < geo.r; ++r) {
        const int64_t row = i * geo.r + r;
        acc += row_fn(p + row * geo.c, t + row * t_stride, geo.c, g ? g + row * geo.c : nullptr, gscale);
      }
      if (per_sample) per_sample[i] = geo.r > 0 ? static_cast<float>(acc / static_cast<double>(geo.r)) : 0.0f;
    }
  });
}

// Losses whose target has the output's shape.
class DenseLoss : public Loss {
 public:
  void compute(const Tensor& y_pred, const Tensor& y_true, float* per_sample, Tensor* dpred,
               const float* coef) const override {
    if (y_true.shape != y_pred.shape)
      throw Error("loss '" + name() + "': y_true has shape " + fmt_shape(y_true.shape.empty() ? -1 : y_true.shape[0], sample_shape(y_true.shape)) +
                  " but y_pred has shape " + fmt_shape(y_pred.shape.empty() ? -1 : y_pred.shape[0], sample_shape(y_pred.shape)));
    Geometry geo = geometry(name(), y_pred);
    run_rows(geo, y_pred, y_true, geo.c, per_sample, dpred, coef,
             [this](const float* p, const float* t, int64_t c, float* g, float s) { return row(p, t, c, g, s); });
  }

 protected:
  virtual double row(const float* p, const float* t, int64_t c, float* g, float gscale) const = 0;
};

// mean(square(y_pred - y_true), axis=-1)
class MeanSquaredError : public DenseLoss {
 public:
  std::string name() const override { return "mean_squared_error"; }

 protected:
  double row(const float* p, const float* t, int64_t c, float* g, float gscale) const override {
    double s = 0.0;
    for (int64_t j = 0; j < c; ++j) {
      const float d = p[j] - t[j];
      s += static_cast<double>(d * d);
    }
    if (g) {
      const float k = 2.0f * gscale / static_cast<float>(c);
      for (int64_t j = 0; j < c; ++j) g[j] = k * (p[j] - t[j]);
    }
    return s / static_cast<double>(c);
  }
};

// mean(abs(y_pred - y_true), axis=-1); gradient sign(d), 0 at d == 0 (tf.sign).
class MeanAbsoluteError : public DenseLoss {
 public:
  std::string name() const override { return "mean_absolute_error"; }

 protected:
  double row(const float* p, const float* t, int64_t c, float* g, float gscale) const override {
    double s = 0.0;
    for (int64_t j = 0; j < c; ++j) s += static_cast<double>(std::fabs(p[j] - t[j]));
    if (g) {
      const float k = gscale / static_cast<float>(c);
      for (int64_t j = 0; j < c; ++j) {
        const float d = p[j] - t[j];
        g[j] = d > 0.0f ? k : (d < 0.0f ? -k : 0.0f);
      }
    }
    return s / static_cast<double>(c);
  }
};

// Keras TF backend, from probabilities:
//   q = p / sum(p); c = clip(q, eps, 1 - eps); loss = -sum(t * log(c)).
// Gradient through clip (passes where eps <= q <= 1 - eps, as TF's clip
// gradient does) and through the normalisation:
//   gq_j = -t_j / c_j (masked);  dL/dp_k = (gq_k - sum_j gq_j q_j) / S.
class CategoricalCrossentropy : public DenseLoss {
 public:
  std::string name() const override { return "categorical_crossentropy"; }

  void check_target(const Shape& pred, const Shape& truth, int64_t n_samples) const override {
    if (!pred.empty() && !truth.empty() && truth.back() == 1 && pred.back() != 1 &&
        Shape(truth.begin(), truth.end() - 1) == Shape(pred.begin(), pred.end() - 1)) {
      throw Error("loss 'categorical_crossentropy': y has shape " + fmt_shape(n_samples, truth) +
                  " but the model output is " + fmt_shape(-1, pred) +
                  "; categorical_crossentropy expects one-hot targets of shape " + fmt_shape(-1, pred) +
                  " (convert integer classes with to_categorical()), or use loss "
                  "'sparse_categorical_crossentropy' for integer class targets");
    }
    Loss::check_target(pred, truth, n_samples);
  }

 protected:
  double row(const float* p, const float* t, int64_t c, float* g, float gscale) const override {
    double sum_p = 0.0;
    for (int64_t j = 0; j < c; ++j) sum_p += static_cast<double>(p[j]);
    const float S = static_cast<float>(sum_p);
    double loss = 0.0;
    for (int64_t j = 0; j < c; ++j) {
      const float q = p[j] / S;
      const float cq = std::min(std::max(q, kEps), kOneMinusEps);
      loss -= static_cast<double>(t[j] * std::log(cq));
    }
    if (g) {
      // g[j] first holds gq_j, then the final gradient.
      double dot = 0.0;  // sum_j gq_j q_j
      for (int64_t j = 0; j < c; ++j) {
        const float q = p[j] / S;
        const bool pass = q >= kEps && q <= kOneMinusEps;
        const float cq = std::min(std::max(q, kEps), kOneMinusEps);
        const float gq = pass ? -t[j] / cq : 0.0f;
        g[j] = gq;
        dot += static_cast<double>(gq) * static_cast<double>(q);
      }
      const float fdot = static_cast<float>(dot);
      const float k = gscale / S;
      for (int64_t j = 0; j < c; ++j) g[j] = k * (g[j] - fdot);
    }
    return loss;
  }
};

// Keras TF backend, from probabilities: p = clip(p, eps, 1 - eps);
// x = log(p / (1 - p)); sigmoid_cross_entropy_with_logits(z, x) =
// max(x, 0) - x z + log1p(exp(-|x|)); mean over the last axis.
// d/dx = sigmoid(x) - z; dx/dp = 1 / (p (1 - p)) inside the clip range, 0 outside.
class BinaryCrossentropy : public DenseLoss {
 public:
  std::string name() const override { return "binary_crossentropy"; }

 protected:
  double row(const float* p, const float* t, int64_t c, float* g, float gscale) const override {
    double loss = 0.0;
    const float k = gscale / static_cast<float>(c);
    for (int64_t j = 0; j < c; ++j) {
      const float pc = std::min(std::max(p[j], kEps), kOneMinusEps);
      const float x = std::log(pc / (1.0f - pc));
      const float z = t[j];
      loss += static_cast<double>(std::max(x, 0.0f) - x * z + std::log1p(std::exp(-std::fabs(x))));
      if (g) {
        const bool pass = p[j] >= kEps && p[j] <= kOneMinusEps;
        const float sig = 1.0f / (1.0f + std::exp(-x));
        g[j] = pass ? k * (sig - z) / (pc * (1.0f - pc)) : 0.0f;
      }
    }
    return loss / static_cast<double>(c);
  }
};

// Keras TF backend, from probabilities: c = clip(p, eps, 1 - eps); logits = log(c);
// sparse_softmax_cross_entropy_with_logits(label, logits) = -log(c_y / sum(c)).
// d/dlogits = softmax - onehot; dlogits/dp = 1 / c inside the clip range.
class SparseCategoricalCrossentropy : public Loss {
 public:
  std::string name() const override { return "sparse_categorical_crossentropy"; }

  void compute(const Tensor& y_pred, const Tensor& y_true, float* per_sample, Tensor* dpred,
               const float* coef) const override {
    Geometry geo = geometry(name(), y_pred);
    if (y_true.shape.empty() || y_true.shape[0] != geo.n || y_true.size() != geo.n * geo.r)
      throw Error("loss 'sparse_categorical_crossentropy': y_true has shape " +
                  fmt_shape(y_true.shape.empty() ? -1 : y_true.shape[0], sample_shape(y_true.shape)) +
                  " but y_pred has shape " + fmt_shape(geo.n, sample_shape(y_pred.shape)) +
                  "; expected one class index per row, shape " +
                  fmt_shape(geo.n, [&] { Shape s = sample_shape(y_pred.shape); if (!s.empty()) s.back() = 1; return s; }()));
    // Validate labels up front (TF fails the same way: label outside [0, C)).
    const float* t = y_true.ptr();  // (N, R)
    for (int64_t k = 0; k < y_true.size(); ++k) {
      const float v = t[k];
      if (!(v > -1.0f && v < static_cast<float>(geo.c)))  // truncation toward zero, as K.cast
        throw Error("loss 'sparse_categorical_crossentropy': target value " + std::to_string(v) +
                    " at position " + std::to_string(k) + " is outside the valid class range [0, " +
                    std::to_string(geo.c) + ")");
    }
    run_rows(geo, y_pred, y_true, 1, per_sample, dpred, coef,
             [](const float* p, const float* tt, int64_t c, float* g, float gscale) {
               const int64_t y = static_cast<int64_t>(tt[0]);
               float m = -INFINITY;
               for (int64_t j = 0; j < c; ++j) {
                 const float l = std::log(std::min(std::max(p[j], kEps), kOneMinusEps));
                 m = std::max(m, l);
               }
               double sum_exp = 0.0;
               for (int64_t j = 0; j < c; ++j) {
                 const float l = std::log(std::min(std::max(p[j], kEps), kOneMinusEps));
                 sum_exp += static_cast<double>(std::exp(l - m));
               }
               const float fsum = static_cast<float>(sum_exp);
               const float ly = std::log(std::min(std::max(p[y], kEps), kOneMinusEps));
               const float loss = std::log(fsum) - (ly - m);
               if (g) {
                 for (int64_t j = 0; j < c; ++j) {
                   const bool pass = p[j] >= kEps && p[j] <= kOneMinusEps;
                   const float cj = std::min(std::max(p[j], kEps), kOneMinusEps);
                   const float soft = std::exp(std::log(cj) - m) / fsum;
                   const float dl = soft - (j == y ? 1.0f : 0.0f);
                   g[j] = pass ? gscale * dl / cj : 0.0f;
                 }
               }
               return static_cast<double>(loss);
             });
  }

  void check_target(const Shape& pred, const Shape& truth, int64_t n_samples) const override {
    Shape lead = pred.empty() ? Shape{} : Shape(pred.begin(), pred.end() - 1);
    Shape with_one = lead;
    with_one.push_back(1);
    if (truth == with_one || truth == lead) return;
    throw Error("loss 'sparse_categorical_crossentropy': y has shape " + fmt_shape(n_samples, truth) +
                " but the model output is " + fmt_shape(-1, pred) +
                "; this loss expects integer class indices of shape " + fmt_shape(-1, with_one) +
                (lead.empty() ? std::string(" or a vector") : " or " + fmt_shape(-1, lead)));
  }
};

struct LossName {
  const char* name;
  const char* canonical;
};
const LossName kLossNames[] = {
    {"mean_squared_error", "mean_squared_error"},
    {"mse", "mean_squared_error"},
    {"MSE", "mean_squared_error"},
    {"mean_absolute_error", "mean_absolute_error"},
    {"mae", "mean_absolute_error"},
    {"MAE", "mean_absolute_error"},
    {"categorical_crossentropy", "categorical_crossentropy"},
    {"sparse_categorical_crossentropy", "sparse_categorical_crossentropy"},
    {"binary_crossentropy", "binary_crossentropy"},
};

}  // namespace

void Loss::check_target(const Shape& pred, const Shape& truth, int64_t n_samples) const {
  if (pred == truth) return;
  throw Error("loss '" + name() + "': y has shape " + fmt_shape(n_samples, truth) +
              " but the model output is " + fmt_shape(-1, pred) +
              "; this loss expects targets with the same shape as the output");
}

std::string canonical_loss_name(const std::string& name) {
  for (const auto& e : kLossNames)
    if (name == e.name) return e.canonical;
  return name;
}

std::vector<std::string> valid_loss_names() {
  std::vector<std::string> v;
  for (const auto& e : kLossNames) v.push_back(e.name);
  return v;
}

std::unique_ptr<Loss> make_loss(const std::string& name) {
  const std::string c = canonical_loss_name(name);
  if (c == "mean_squared_error") return std::make_unique<MeanSquaredError>();
  if (c == "mean_absolute_error") return std::make_unique<MeanAbsoluteError>();
  if (c == "categorical_crossentropy") return std::make_unique<CategoricalCrossentropy>();
  if (c == "sparse_categorical_crossentropy") return std::make_unique<SparseCategoricalCrossentropy>();
  if (c == "binary_crossentropy") return std::make_unique<BinaryCrossentropy>();
  std::string msg = "unknown loss '" + name + "'; valid losses are: ";
  bool first = true;
  for (const auto& e : kLossNames) {
    msg += (first ? "" : ", ") + std::string(e.name);
    first = false;
  }
  throw Error(msg);
}

}  // namespace kn
