// Keras 2.2 initializers. Configs are Keras's serialized form,
// {"class_name": "VarianceScaling", "config": {...}}; the short names used in
// R ("glorot_uniform", "he_normal", "zeros", ...) map to those configs.
#pragma once
#include <string>

#include "json.h"
#include "rng.h"
#include "tensor.h"

namespace kn {

// "glorot_uniform" -> {"class_name": "VarianceScaling", "config": {"scale": 1.0,
// "mode": "fan_avg", "distribution": "uniform", "seed": null}}; a Json object
// (already a config) is returned unchanged. Throws on unknown names.
Json initializer_config(const Json& name_or_config);

// Fill `t` (already sized) following `config`. fan_in/fan_out as Keras
// computes them: dense (in, out); conv (kh*kw*in, kh*kw*out).
void initialize(Tensor& t, const Json& config, int64_t fan_in, int64_t fan_out, Rng& rng);

// Keras's fans for a weight shape: 2-D (in, out); k-D (..., in, out) with the
// receptive field product.
void compute_fans(const Shape& shape, int64_t& fan_in, int64_t& fan_out);

}  // namespace kn
