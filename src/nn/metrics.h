// The Keras 2.2.4 "accuracy"/"acc" metric. Keras picks the accuracy function
// from the output shape and loss when compiling (training.py):
//   output last dim == 1 or loss binary_crossentropy -> binary_accuracy
//   else loss sparse_categorical_crossentropy         -> sparse_categorical_accuracy
//   else                                              -> categorical_accuracy
// Per-sample values are means over the non-batch axes, as
// `weighted_masked_objective` reduces them; the trainer averages samples.
#pragma once
#include <string>

#include "tensor.h"

namespace kn {

enum class AccuracyKind { Binary, Categorical, SparseCategorical };

// loss_name may be a canonical name or alias ("mse"); output_sample_shape has
// no batch dim, e.g. (10).
AccuracyKind accuracy_kind(const std::string& loss_name, const Shape& output_sample_shape);

// Keras metric function name for the kind: "binary_accuracy", ...
std::string accuracy_kind_name(AccuracyKind k);

// y_pred: (N, ..., C). y_true: same shape (Binary, Categorical), or
// (N, ..., 1) / (N, ...) class indices as floats (SparseCategorical).
// per_sample: (N) output, each in [0, 1]:
//   Binary:      mean over all elements of (round_half_even(p) == y)  (tf.round)
//   Categorical: mean over rows of (argmax y_true == argmax y_pred)  (ties -> first max)
//   Sparse:      mean over rows of (y_true == float(argmax y_pred))
// Throws kn::Error on shape mismatch.
void accuracy(AccuracyKind k, const Tensor& y_pred, const Tensor& y_true, float* per_sample);

}  // namespace kn
