#include "regularizers.h"

#include <cmath>

namespace kn {

double Regularizer::penalty(const Tensor& x) const {
  double s1 = 0, s2 = 0;
  for (float v : x.data) {
    s1 += std::fabs(static_cast<double>(v));
    s2 += static_cast<double>(v) * v;
  }
  return (l1 != 0.0f ? l1 * s1 : 0.0) + (l2 != 0.0f ? l2 * s2 : 0.0);
}

void Regularizer::add_grad(const Tensor& x, float scale, Tensor& g) const {
  const float a = scale * l1, b = 2.0f * scale * l2;
  const int64_t n = x.size();
  for (int64_t i = 0; i < n; ++i) {  // x, g: same shape
    const float v = x.data[i];
    g.data[i] += a * static_cast<float>((v > 0.0f) - (v < 0.0f)) + b * v;
  }
}

Json Regularizer::config() const {
  Json c = Json::object();
  c.set("l1", static_cast<double>(l1));
  c.set("l2", static_cast<double>(l2));
  Json o = Json::object();
  o.set("class_name", "L1L2");
  o.set("config", c);
  return o;
}

std::shared_ptr<const Regularizer> make_regularizer(const Json& cfg, const std::string& who) {
  if (!cfg.is_object() || !cfg.has("class_name") || !cfg["class_name"].is_string())
    throw Error(who + ": expected a regularizer config {\"class_name\": \"L1L2\", \"config\": {...}}, got " + cfg.dump());
  const std::string cls = cfg["class_name"].as_string();
  // Keras 2.2 writes L1L2; tf.keras also L1 / L2 (one factor each).
  if (cls != "L1L2" && cls != "l1_l2" && cls != "L1" && cls != "L2")
    throw Error(who + ": unknown regularizer class '" + cls + "' (supported: L1L2, L1, L2, from regularizer_l1/l2/l1_l2)");
  const Json c = cfg.get("config", Json::object());
  auto r = std::make_shared<Regularizer>();
  for (const char* key : {"l1", "l2"}) {
    const Json v = c.get(key, Json(0.0));
    if (!v.is_number() || !std::isfinite(v.as_number()) || v.as_number() < 0)
      throw Error(who + ": regularizer '" + key + "' must be a finite non-negative number, got " + v.dump());
    (std::string(key) == "l1" ? r->l1 : r->l2) = static_cast<float>(v.as_number());
  }
  return r;
}

}  // namespace kn
