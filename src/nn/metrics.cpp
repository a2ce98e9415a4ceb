// Keras 2.2.4 accuracy metrics, see metrics.h.
#include "metrics.h"

#include <algorithm>
#include <cmath>

#include "losses.h"
#include "parallel.h"

namespace kn {
namespace {

std::string dims(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  if (s.size() == 1) out += ",";
  return out + ")";
}

// First index of the maximum (tf.argmax on CPU returns the first max).
inline int64_t argmax_first(const float* v, int64_t c) {
  int64_t best = 0;
  for (int64_t j = 1; j < c; ++j)
    if (v[j] > v[best]) best = j;
  return best;
}

}  // namespace

AccuracyKind accuracy_kind(const std::string& loss_name, const Shape& output_sample_shape) {
  const std::string loss = canonical_loss_name(loss_name);
  const int64_t last = output_sample_shape.empty() ? 1 : output_sample_shape.back();
  if (last == 1 || loss == "binary_crossentropy") return AccuracyKind::Binary;
  if (loss == "sparse_categorical_crossentropy") return AccuracyKind::SparseCategorical;
  return AccuracyKind::Categorical;
}

std::string accuracy_kind_name(AccuracyKind k) {
  switch (k) {
    case AccuracyKind::Binary: return "binary_accuracy";
    case AccuracyKind::Categorical: return "categorical_accuracy";
    case AccuracyKind::SparseCategorical: return "sparse_categorical_accuracy";
  }
  return "accuracy";
}

void accuracy(AccuracyKind k, const Tensor& y_pred, const Tensor& y_true, float* per_sample) {
  if (y_pred.shape.empty()) throw Error("accuracy: y_pred must have a batch dimension, got a scalar");
  const int64_t n = y_pred.shape[0];
  const int64_t c = y_pred.shape.size() >= 2 ? y_pred.shape.back() : 1;
  const int64_t per = n > 0 ? y_pred.size() / n : 0;  // values per sample
  const int64_t r = c > 0 ? per / c : 0;               // rows per sample
  const std::string kname = accuracy_kind_name(k);
  if (k == AccuracyKind::SparseCategorical) {
    if (y_true.shape.empty() || y_true.shape[0] != n || y_true.size() != n * r)
      throw Error(kname + ": y_true has shape " + dims(y_true.shape) + " but y_pred has shape " +
                  dims(y_pred.shape) + "; expected one class index per row");
  } else if (y_true.shape != y_pred.shape) {
    throw Error(kname + ": y_true has shape " + dims(y_true.shape) + " but y_pred has shape " +
                dims(y_pred.shape));
  }
  const float* p = y_pred.ptr();  // (N, R, C)
  const float* t = y_true.ptr();  // (N, R, C) or (N, R) for sparse
  const int64_t grain = 256;
  parallel_for(n_chunks(n, grain), [&](int64_t task) {
    const int64_t i0 = task * grain, i1 = std::min(n, i0 + grain);
    for (int64_t i = i0; i < i1; ++i) {
      int64_t hits = 0;
      if (k == AccuracyKind::Binary) {
        // K.equal(y_true, K.round(y_pred)); tf.round rounds half to even,
        // as std::nearbyint does in the default rounding mode.
        for (int64_t j = 0; j < per; ++j)
          hits += (std::nearbyint(p[i * per + j]) == t[i * per + j]) ? 1 : 0;
        per_sample[i] = per > 0 ? static_cast<float>(static_cast<double>(hits) / static_cast<double>(per)) : 0.0f;
        continue;
      }
      for (int64_t rr = 0; rr < r; ++rr) {
        const int64_t row = i * r + rr;
        const int64_t pred_label = argmax_first(p + row * c, c);
        if (k == AccuracyKind::Categorical) {
          hits += (argmax_first(t + row * c, c) == pred_label) ? 1 : 0;
        } else {
          hits += (t[row] == static_cast<float>(pred_label)) ? 1 : 0;
        }
      }
      per_sample[i] = r > 0 ? static_cast<float>(static_cast<double>(hits) / static_cast<double>(r)) : 0.0f;
    }
  });
}

}  // namespace kn
