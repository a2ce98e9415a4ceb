#include "constraints.h"

#include <algorithm>
#include <cmath>

namespace kn {

void Constraint::apply(Tensor& w) const {
  const int64_t n = w.size();
  float* p = w.ptr();  // (weight shape)
  if (cls == "NonNeg") {
    for (int64_t i = 0; i < n; ++i) p[i] = p[i] * (p[i] >= 0.0f ? 1.0f : 0.0f);
    return;
  }
  const int64_t rank = static_cast<int64_t>(w.shape.size());
  std::vector<bool> reduced(static_cast<size_t>(rank), false);
  for (int64_t a : axis) {
    const int64_t k = a < 0 ? a + rank : a;
    if (k < 0 || k >= rank)
      throw Error(cls + " constraint: axis " + std::to_string(a) + " is out of range for a weight of shape " +
                  shape_str(w.shape, false));
    reduced[static_cast<size_t>(k)] = true;
  }
  // Each element's slice: its flat index over the kept (non-reduced) axes.
  std::vector<int64_t> slice(static_cast<size_t>(n));
  int64_t n_slices = 1;
  for (int64_t d = 0; d < rank; ++d)
    if (!reduced[static_cast<size_t>(d)]) n_slices *= w.shape[d];
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, key = 0, mult = 1;
    for (int64_t d = rank - 1; d >= 0; --d) {
      const int64_t c = rem % w.shape[d];
      rem /= w.shape[d];
      if (!reduced[static_cast<size_t>(d)]) { key += c * mult; mult *= w.shape[d]; }
    }
    slice[static_cast<size_t>(i)] = key;
  }
  std::vector<float> sq(static_cast<size_t>(n_slices), 0.0f);  // (slices): sum of squares
  for (int64_t i = 0; i < n; ++i) sq[slice[i]] += p[i] * p[i];
  std::vector<float> factor(static_cast<size_t>(n_slices));     // (slices)
  const float eps = 1e-7f;
  for (int64_t s = 0; s < n_slices; ++s) {
    const float norm = std::sqrt(sq[s]);
    float desired;
    if (cls == "UnitNorm") desired = 1.0f;
    else if (cls == "MaxNorm") desired = std::min(std::max(norm, 0.0f), max_value);
    else desired = rate * std::min(std::max(norm, min_value), max_value) + (1.0f - rate) * norm;  // MinMaxNorm
    factor[s] = desired / (eps + norm);
  }
  for (int64_t i = 0; i < n; ++i) p[i] = p[i] * factor[slice[i]];
}

std::shared_ptr<const Constraint> make_constraint(const Json& cfg, const std::string& who) {
  if (!cfg.is_object() || !cfg.has("class_name") || !cfg["class_name"].is_string())
    throw Error(who + ": expected a constraint config {\"class_name\": ..., \"config\": {...}}, got " + cfg.dump());
  std::string cls = cfg["class_name"].as_string();
  if (cls == "max_norm" || cls == "maxnorm") cls = "MaxNorm";
  if (cls == "min_max_norm") cls = "MinMaxNorm";
  if (cls == "unit_norm" || cls == "unitnorm") cls = "UnitNorm";
  if (cls == "non_neg" || cls == "nonneg") cls = "NonNeg";
  if (cls != "MaxNorm" && cls != "MinMaxNorm" && cls != "UnitNorm" && cls != "NonNeg")
    throw Error(who + ": unknown constraint class '" + cls + "' (supported: MaxNorm, MinMaxNorm, UnitNorm, NonNeg)");
  const Json c = cfg.get("config", Json::object());
  auto k = std::make_shared<Constraint>();
  k->cls = cls;
  k->cfg = cfg;
  auto num = [&](const char* key, float fallback) {
    const Json v = c.get(key, Json());
    if (v.is_null()) return fallback;
    if (!v.is_number() || !std::isfinite(v.as_number()))
      throw Error(who + ": constraint " + cls + " '" + key + "' must be a finite number, got " + v.dump());
    return static_cast<float>(v.as_number());
  };
  k->max_value = num("max_value", cls == "MaxNorm" ? 2.0f : 1.0f);
  k->min_value = num("min_value", 0.0f);
  k->rate = num("rate", 1.0f);
  if (cls == "MinMaxNorm" && k->min_value > k->max_value)
    throw Error(who + ": constraint MinMaxNorm needs min_value <= max_value");
  const Json ax = c.get("axis", Json(0));
  k->axis.clear();
  if (ax.is_number()) k->axis.push_back(ax.as_int());
  else if (ax.is_array()) for (auto& e : ax.elements()) k->axis.push_back(e.as_int());
  else if (cls != "NonNeg") throw Error(who + ": constraint " + cls + " 'axis' must be an integer or a list of integers");
  return k;
}

}  // namespace kn
