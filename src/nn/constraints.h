// Keras 2.2 weight constraints (keras.constraints), applied to a weight after
// every optimizer update (Keras: new_p = p.constraint(new_p)).
//   MaxNorm:    w * clip(n, 0, max_value) / (eps + n)
//   MinMaxNorm: w * (rate * clip(n, min_value, max_value) + (1 - rate) * n) / (eps + n)
//   UnitNorm:   w / (eps + n)
//   NonNeg:     w * (w >= 0)
// n = sqrt(sum(w^2 over `axis`)) (kept per slice of the other axes), eps = 1e-7.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "json.h"
#include "tensor.h"

namespace kn {

struct Constraint {
  std::string cls;                     // "MaxNorm", "MinMaxNorm", "UnitNorm", "NonNeg"
  float max_value = 2.0f, min_value = 0.0f, rate = 1.0f;
  std::vector<int64_t> axis{0};        // reduced axes (negative counts from the end)
  Json cfg;                            // the Keras config as given (echoed back)
  void apply(Tensor& w) const;         // w: any shape (axes must exist)
};

// From a Keras config {"class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}}
// (also the aliases max_norm, min_max_norm, unit_norm, non_neg).
std::shared_ptr<const Constraint> make_constraint(const Json& cfg, const std::string& who);

}  // namespace kn
