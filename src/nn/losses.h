// Keras 2.2.4 loss functions (TensorFlow backend, epsilon 1e-7) with their
// exact gradients, evaluated per sample.
//
// Layout: y_pred is (N, ..., C) row-major; a "row" is one slice along the last
// axis (C values) and each sample has R = numel / (N * C) rows. Keras applies
// the loss function row by row (sum over C for the cross-entropies, mean over C
// for mse/mae/binary_crossentropy) and then, in `weighted_masked_objective`,
// averages the remaining non-batch axes, so
//   per_sample[i] = (1 / R) * sum_r f(row r of sample i).
// The trainer multiplies by sample weights and normalises; it hands that factor
// to compute() as `coef` so the gradient comes out already scaled.
//
// Arithmetic is float32 like TensorFlow; row sums are accumulated in double
// (TF sums float32 in an unspecified order, so last-bit differences are
// expected either way).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "tensor.h"

namespace kn {

class Loss {
 public:
  virtual ~Loss() = default;
  // Canonical Keras name, e.g. "categorical_crossentropy", "mean_squared_error".
  virtual std::string name() const = 0;

  // y_pred: (N, ..., C); y_true: same shape, or for sparse_categorical_crossentropy
  // (N, ..., 1) / (N, ...) holding class indices as floats.
  // per_sample: (N) output, per-sample loss as described above.
  // dpred: when non-null, resized to y_pred's shape and overwritten with
  //   coef[i] * d per_sample[i] / d y_pred[i, ...]   (coef == nullptr means 1).
  // Throws kn::Error on mismatched shapes or out-of-range sparse labels.
  virtual void compute(const Tensor& y_pred, const Tensor& y_true, float* per_sample,
                       Tensor* dpred, const float* coef) const = 0;

  // Validates target against output, both per-sample (no batch dim). Throws
  // kn::Error like "loss 'categorical_crossentropy': y has shape (60000, 9) but
  // the model output is (None, 10)". n_samples (if >= 0) is printed as y's
  // batch dim, otherwise "None".
  virtual void check_target(const Shape& pred_sample_shape, const Shape& true_sample_shape,
                            int64_t n_samples = -1) const;
};

// Names (and Keras aliases): mse, MSE, mean_squared_error, mae, MAE,
// mean_absolute_error, categorical_crossentropy, sparse_categorical_crossentropy,
// binary_crossentropy. Unknown -> kn::Error listing the valid names.
std::unique_ptr<Loss> make_loss(const std::string& name);

// Canonical name for a loss name or alias ("mse" -> "mean_squared_error");
// returns `name` unchanged when it is not a known loss.
std::string canonical_loss_name(const std::string& name);

// The names make_loss accepts.
std::vector<std::string> valid_loss_names();

}  // namespace kn
