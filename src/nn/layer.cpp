#include "layer.h"

#include <cmath>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <map>

namespace kn {

std::string shape_str(const Shape& s, bool with_batch) {
  std::vector<std::string> parts;
  if (with_batch) parts.push_back("None");
  for (int64_t d : s) parts.push_back(d < 0 ? std::string("None") : std::to_string(d));
  std::string out = "(";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  if (parts.size() == 1) out += ",";
  return out + ")";
}

namespace {
std::map<std::string, LayerFactory>& registry() {
  static std::map<std::string, LayerFactory> r;
  return r;
}
}  // namespace

void register_layer(const std::string& class_name, LayerFactory f) { registry()[class_name] = f; }

// Defined in layers_channels_first.cpp: wraps a channels-last spatial layer
// to take and give (N, C, spatial...) tensors.
LayerPtr make_channels_first(LayerPtr inner);
// Defined in layers_dilated_transpose.cpp: Conv2DTranspose with dilation_rate > 1.
LayerPtr make_dilated_conv2d_transpose(const Json& config);

LayerPtr make_layer(const std::string& class_name, const Json& config) {
  auto it = registry().find(class_name);
  if (it == registry().end())
    throw Error("unknown layer class '" + class_name +
                "'; supply it through `custom_objects` or use one of the supported layers");
  // Spatial layers whose weights do not depend on data_format: channels_first
  // is their channels-last kernel between transposes. (UpSampling, Cropping,
  // ZeroPadding3D and SpatialDropout handle both formats themselves.)
  static const char* const kChannelsFirst[] = {
      "Conv2D", "Conv3D", "Conv2DTranspose", "Conv3DTranspose", "SeparableConv2D", "DepthwiseConv2D",
      "MaxPooling2D", "AveragePooling2D", "MaxPooling3D", "AveragePooling3D", "GlobalMaxPooling2D",
      "GlobalAveragePooling2D", "GlobalMaxPooling3D", "GlobalAveragePooling3D", "ZeroPadding2D"};
  Json cfg = config;
  const bool channels_first =
      config.is_object() && config_lower(config, "data_format", "channels_last") == "channels_first" &&
      std::find(std::begin(kChannelsFirst), std::end(kChannelsFirst), class_name) != std::end(kChannelsFirst);
  if (channels_first) cfg.set("data_format", "channels_last");
  bool dilated = false;
  if (class_name == "Conv2DTranspose" && cfg.is_object() && cfg.has("dilation_rate") && !cfg["dilation_rate"].is_null())
    for (int64_t d : config_ints(cfg, "dilation_rate", 2)) dilated = dilated || d != 1;
  LayerPtr layer = dilated ? make_dilated_conv2d_transpose(cfg) : it->second(cfg);
  return channels_first ? make_channels_first(layer) : layer;
}

std::vector<std::string> registered_layers() {
  std::vector<std::string> out;
  for (auto& kv : registry()) out.push_back(kv.first);
  return out;
}

Json Layer::base_config() const {
  Json c = Json::object();
  c.set("name", name);
  c.set("trainable", trainable);
  if (has_batch_input_shape) {
    Json b = Json::array();
    if (fixed_batch_size < 0) b.push(Json()); else b.push(Json(fixed_batch_size));
    for (int64_t d : batch_input_shape) b.push(Json(d));
    c.set("batch_input_shape", b);
    c.set("dtype", "float32");
  }
  return c;
}

namespace {
// "kernel_regularizer" -> "kernel", "recurrent_constraint" -> "recurrent_kernel", ...
std::string weight_of_key(const std::string& key, const std::string& suffix) {
  std::string w = key.substr(0, key.size() - suffix.size());
  if (w == "recurrent" || w == "depthwise" || w == "pointwise") w += "_kernel";
  return w;
}
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

Json layer_config(const Layer& layer) {
  Json c = layer.config();
  for (const auto& kv : layer.rule_config.items()) c.set(kv.first, kv.second);
  return c;
}

void check_weight_rules(const Layer& layer) {
  auto has = [&](const std::string& w) {
    for (auto& p : layer.params) if (p.name == w) return true;
    return false;
  };
  std::string names;
  for (auto& p : layer.params) names += (names.empty() ? "" : ", ") + p.name;
  for (const auto& kv : layer.rule_config.items()) {
    if (kv.first == "activity_regularizer") continue;
    const bool reg = ends_with(kv.first, "_regularizer");
    const std::string w = weight_of_key(kv.first, reg ? "_regularizer" : "_constraint");
    if (!has(w))
      throw Error("layer '" + layer.name + "' (" + layer.class_name() + "): '" + kv.first +
                  "' is given but the layer has no weight '" + w + "' (its weights: " +
                  (names.empty() ? std::string("none") : names) + ")");
  }
}

double weight_penalty(Layer& layer, bool grads) {
  double total = 0;
  if (layer.weight_regularizers.empty()) return 0;
  for (auto& p : layer.params) {
    auto it = layer.weight_regularizers.find(p.name);
    if (it == layer.weight_regularizers.end()) continue;
    total += it->second->penalty(p.value);
    if (grads && p.trainable && layer.trainable) it->second->add_grad(p.value, 1.0f, p.grad);
  }
  return total;
}

void apply_constraints(Layer& layer) {
  if (layer.weight_constraints.empty() || !layer.trainable) return;
  for (auto& p : layer.params) {
    auto it = layer.weight_constraints.find(p.name);
    if (it != layer.weight_constraints.end() && p.trainable) it->second->apply(p.value);
  }
}

void apply_base_config(Layer& layer, const Json& config) {
  if (config.has("name") && config["name"].is_string()) layer.name = config["name"].as_string();
  if (config.is_object())
    for (const auto& kv : config.items()) {
      const std::string& key = kv.first;
      const bool reg = ends_with(key, "_regularizer"), con = ends_with(key, "_constraint");
      if ((!reg && !con) || kv.second.is_null()) continue;
      const std::string who = "layer '" + layer.name + "': " + key;
      if (reg) {  // echoed in Keras's form (float32 factors widened)
        auto r = make_regularizer(kv.second, who);
        layer.rule_config.set(key, r->config());
        if (key == "activity_regularizer") layer.activity_regularizer = r;
        else layer.weight_regularizers[weight_of_key(key, "_regularizer")] = r;
      } else {
        layer.rule_config.set(key, kv.second);
        layer.weight_constraints[weight_of_key(key, "_constraint")] = make_constraint(kv.second, who);
      }
    }
  if (config.has("trainable") && config["trainable"].is_bool()) layer.trainable = config["trainable"].as_bool();
  const Json b = config.get("batch_input_shape", Json());
  if (b.is_array() && b.size() >= 1) {
    layer.has_batch_input_shape = true;
    layer.fixed_batch_size = b[0].is_null() ? -1 : b[0].as_int();
    layer.batch_input_shape.clear();
    for (size_t i = 1; i < b.size(); ++i) {
      if (b[i].is_null())
        throw Error("layer '" + layer.name + "': input shapes with unknown (NULL) dimensions other than the batch are not supported");
      layer.batch_input_shape.push_back(b[i].as_int());
    }
  }
}

int64_t config_count(const Json& config, const std::string& key, const Layer& layer) {
  const Json v = config.get(key, Json());
  const double d = v.is_number() ? v.as_number() : -1;
  if (!(d >= 1 && d <= static_cast<double>(kMaxNumel) && d == std::floor(d)))
    throw Error("layer '" + layer.name + "' (" + layer.class_name() + "): '" + key + "' must be a whole number in [1, 2^36], got " +
                (v.is_null() ? std::string("nothing") : v.dump()));
  return static_cast<int64_t>(d);
}

std::vector<int64_t> config_ints(const Json& config, const std::string& key, size_t n) {
  const Json& v = config[key];
  std::vector<int64_t> out;
  if (v.is_number()) {
    out.assign(n, v.as_int());
  } else if (v.is_array()) {
    for (auto& e : v.elements()) out.push_back(e.as_int());
    if (out.size() == 1 && n > 1) out.assign(n, out[0]);
  }
  if (out.size() != n)
    throw Error("'" + key + "' must be an integer or a list of " + std::to_string(n) + " integers");
  return out;
}

std::string config_lower(const Json& config, const std::string& key, const std::string& fallback) {
  const Json v = config.get(key, Json());
  if (!v.is_string()) return fallback;
  std::string s = v.as_string();
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

Json json_ints(const std::vector<int64_t>& v) {
  Json a = Json::array();
  for (int64_t x : v) a.push(Json(x));
  return a;
}

}  // namespace kn
