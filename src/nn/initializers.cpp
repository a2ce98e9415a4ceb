#include "initializers.h"

#include <vector>

#include <cmath>

namespace kn {

namespace {
Json variance_scaling(double scale, const char* mode, const char* dist) {
  Json c = Json::object();
  c.set("scale", scale);
  c.set("mode", mode);
  c.set("distribution", dist);
  c.set("seed", Json());
  Json o = Json::object();
  o.set("class_name", "VarianceScaling");
  o.set("config", c);
  return o;
}
Json simple(const char* cls, Json config) {
  Json o = Json::object();
  o.set("class_name", cls);
  o.set("config", std::move(config));
  return o;
}
}  // namespace

Json initializer_config(const Json& v) {
  if (v.is_object()) {
    if (!v.has("class_name") || !v["class_name"].is_string())
      throw Error("initializer config must have a string 'class_name', got " + v.dump());
    return v;
  }
  if (!v.is_string()) throw Error("initializer must be a name or a config object");
  const std::string& n = v.as_string();
  if (n == "glorot_uniform") return variance_scaling(1.0, "fan_avg", "uniform");
  if (n == "glorot_normal") return variance_scaling(1.0, "fan_avg", "normal");
  if (n == "he_normal") return variance_scaling(2.0, "fan_in", "normal");
  if (n == "he_uniform") return variance_scaling(2.0, "fan_in", "uniform");
  if (n == "lecun_normal") return variance_scaling(1.0, "fan_in", "normal");
  if (n == "lecun_uniform") return variance_scaling(1.0, "fan_in", "uniform");
  if (n == "zeros" || n == "zero") return simple("Zeros", Json::object());
  if (n == "ones" || n == "one") return simple("Ones", Json::object());
  if (n == "constant") { Json c = Json::object(); c.set("value", 0.0); return simple("Constant", c); }
  if (n == "identity") { Json c = Json::object(); c.set("gain", 1.0); return simple("Identity", c); }
  if (n == "random_normal" || n == "normal") {
    Json c = Json::object(); c.set("mean", 0.0); c.set("stddev", 0.05); c.set("seed", Json());
    return simple("RandomNormal", c);
  }
  if (n == "truncated_normal") {
    Json c = Json::object(); c.set("mean", 0.0); c.set("stddev", 0.05); c.set("seed", Json());
    return simple("TruncatedNormal", c);
  }
  if (n == "random_uniform" || n == "uniform") {
    Json c = Json::object(); c.set("minval", -0.05); c.set("maxval", 0.05); c.set("seed", Json());
    return simple("RandomUniform", c);
  }
  if (n == "orthogonal") {
    Json c = Json::object(); c.set("gain", 1.0); c.set("seed", Json());
    return simple("Orthogonal", c);
  }
  throw Error("unknown initializer '" + n +
              "'; expected one of: glorot_uniform, glorot_normal, he_normal, he_uniform, "
              "lecun_normal, lecun_uniform, zeros, ones, constant, identity, random_normal, "
              "random_uniform, truncated_normal, orthogonal");
}

void compute_fans(const Shape& s, int64_t& fan_in, int64_t& fan_out) {
  if (s.size() == 2) { fan_in = s[0]; fan_out = s[1]; return; }
  if (s.size() < 2) { fan_in = fan_out = s.empty() ? 1 : s[0]; return; }
  int64_t rf = 1;
  for (size_t i = 0; i + 2 < s.size(); ++i) rf *= s[i];
  fan_in = s[s.size() - 2] * rf;
  fan_out = s[s.size() - 1] * rf;
}

void initialize(Tensor& t, const Json& config, int64_t fan_in, int64_t fan_out, Rng& model_rng) {
  const std::string cls = config["class_name"].as_string();
  const Json c = config.get("config", Json());
  // A seeded initializer draws from its own generator: the same seed gives the
  // same values on every call (as Keras's seeded initializers).
  Rng seeded(0);
  const Json seed = c.is_object() ? c.get("seed", Json()) : Json();
  if (!seed.is_null()) {
    if (!seed.is_number() || seed.as_number() < 0 || seed.as_number() != std::floor(seed.as_number()))
      throw Error("initializer " + cls + ": 'seed' must be a non-negative whole number, got " + seed.dump());
    seeded.seed(splitmix64(static_cast<uint64_t>(seed.as_number()) ^ 0x1A2B3C4DULL));
  }
  Rng& rng = seed.is_null() ? model_rng : seeded;
  float* p = t.ptr();
  const int64_t n = t.size();
  if (cls == "Zeros") { for (int64_t i = 0; i < n; ++i) p[i] = 0.0f; return; }
  if (cls == "Ones") { for (int64_t i = 0; i < n; ++i) p[i] = 1.0f; return; }
  if (cls == "Constant") {
    float v = static_cast<float>(c.get("value", Json(0.0)).as_number());
    for (int64_t i = 0; i < n; ++i) p[i] = v;
    return;
  }
  if (cls == "RandomNormal" || cls == "TruncatedNormal") {
    double mean = c.get("mean", Json(0.0)).as_number(), sd = c.get("stddev", Json(0.05)).as_number();
    bool trunc = cls == "TruncatedNormal";
    for (int64_t i = 0; i < n; ++i)
      p[i] = static_cast<float>(mean + sd * (trunc ? rng.truncated_normal() : rng.normal()));
    return;
  }
  if (cls == "RandomUniform") {
    double lo = c.get("minval", Json(-0.05)).as_number(), hi = c.get("maxval", Json(0.05)).as_number();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(lo + (hi - lo) * rng.uniform());
    return;
  }
  if (cls == "VarianceScaling") {
    double scale = c.get("scale", Json(1.0)).as_number();
    std::string mode = c.get("mode", Json("fan_in")).as_string();
    std::string dist = c.get("distribution", Json("normal")).as_string();
    if (!(scale > 0)) throw Error("VarianceScaling: 'scale' must be a positive float, got " + std::to_string(scale));
    if (mode != "fan_in" && mode != "fan_out" && mode != "fan_avg")
      throw Error("VarianceScaling: invalid 'mode' '" + mode + "'; expected one of fan_in, fan_out, fan_avg");
    // tf.keras also writes truncated_normal (= Keras 2.2's normal) and untruncated_normal.
    if (dist != "normal" && dist != "uniform" && dist != "truncated_normal" && dist != "untruncated_normal")
      throw Error("VarianceScaling: invalid 'distribution' '" + dist + "'; expected normal or uniform");
    double denom = mode == "fan_in" ? fan_in : mode == "fan_out" ? fan_out : (fan_in + fan_out) / 2.0;
    scale /= std::max(1.0, denom);
    if (dist == "uniform") {
      double limit = std::sqrt(3.0 * scale);
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>((2.0 * rng.uniform() - 1.0) * limit);
    } else if (dist == "untruncated_normal") {
      const double sd = std::sqrt(scale);
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(sd * rng.normal());
    } else {  // Keras 2.2: truncated normal, stddev corrected for the truncation
      double sd = std::sqrt(scale) / 0.87962566103423978;
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(sd * rng.truncated_normal());
    }
    return;
  }
  if (cls == "Identity") {  // Keras 2.2: gain * I, 2-D square matrices only
    if (t.shape.size() != 2 || t.shape[0] != t.shape[1])
      throw Error("Identity matrix initializer can only be used for 2D square matrices, got a weight of shape " +
                  shape_str(t.shape, false));
    const float gain = static_cast<float>(c.get("gain", Json(1.0)).as_number());
    for (int64_t i = 0; i < n; ++i) p[i] = (i / t.shape[1] == i % t.shape[1]) ? gain : 0.0f;
    return;
  }
  if (cls == "Orthogonal") {
    // Keras: (rows = prod(shape[:-1]), cols = shape[-1]) normal matrix made
    // orthonormal along its shorter side, times gain. Here by Gram-Schmidt
    // (run twice for accuracy) on the rows or on the columns.
    const double gain = c.get("gain", Json(1.0)).as_number();
    const int64_t cols = t.shape.empty() ? 1 : t.shape.back(), rows = n / std::max<int64_t>(cols, 1);
    const bool by_rows = rows < cols;          // orthonormal rows (rows, cols) or columns
    const int64_t nv = by_rows ? rows : cols, len = by_rows ? cols : rows;
    std::vector<double> v(static_cast<size_t>(nv * len));  // (nv, len): vector k at v[k*len]
    for (auto& e : v) e = rng.normal();
    for (int64_t k = 0; k < nv; ++k) {
      double* a = &v[k * len];
      for (int pass = 0; pass < 2; ++pass)
        for (int64_t j = 0; j < k; ++j) {
          const double* b = &v[j * len];
          double d = 0;
          for (int64_t i = 0; i < len; ++i) d += a[i] * b[i];
          for (int64_t i = 0; i < len; ++i) a[i] -= d * b[i];
        }
      double nrm = 0;
      for (int64_t i = 0; i < len; ++i) nrm += a[i] * a[i];
      nrm = std::sqrt(nrm);
      for (int64_t i = 0; i < len; ++i) a[i] /= nrm;
    }
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t q = 0; q < cols; ++q)
        p[r * cols + q] = static_cast<float>(gain * (by_rows ? v[r * len + q] : v[q * len + r]));
    return;
  }
  if (cls == "GlorotUniform" || cls == "GlorotNormal" || cls == "HeNormal" || cls == "HeUniform" ||
      cls == "LecunNormal" || cls == "LecunUniform") {  // tf.keras class names
    static const char* names[][2] = {{"GlorotUniform", "glorot_uniform"}, {"GlorotNormal", "glorot_normal"},
                                     {"HeNormal", "he_normal"}, {"HeUniform", "he_uniform"},
                                     {"LecunNormal", "lecun_normal"}, {"LecunUniform", "lecun_uniform"}};
    for (auto& nm : names)
      if (cls == nm[0]) return initialize(t, initializer_config(Json(nm[1])), fan_in, fan_out, rng);
  }
  throw Error("unknown initializer class '" + cls + "'");
}

}  // namespace kn
