// Keras 2.2 weight and activity regularizers (keras.regularizers.L1L2).
// penalty(x) = sum(l1 * |x|) + sum(l2 * x^2), with l1 and l2 held in float32
// (Keras casts them with K.cast_to_floatx). Weight penalties and activity
// penalties (on a layer's output, summed over the whole batch, as Keras 2.2's
// add_loss of activity_regularizer(output)) join the training loss.
#pragma once
#include <memory>
#include <string>

#include "json.h"
#include "tensor.h"

namespace kn {

struct Regularizer {
  float l1 = 0.0f, l2 = 0.0f;
  double penalty(const Tensor& x) const;            // x: any shape
  // g += scale * d penalty / dx  (sign(0) = 0, as TensorFlow's abs gradient)
  void add_grad(const Tensor& x, float scale, Tensor& g) const;
  Json config() const;                              // {"class_name": "L1L2", "config": {...}}
};

// From a Keras config ({"class_name": "L1L2"|"l1_l2", "config": {"l1":, "l2":}}).
// `who` prefixes error messages (layer and argument).
std::shared_ptr<const Regularizer> make_regularizer(const Json& cfg, const std::string& who);

}  // namespace kn
