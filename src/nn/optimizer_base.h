// Shared machinery of the Keras optimizers (optimizers.cpp: SGD, RMSprop, Adam,
// Adagrad and the factory; optimizers_adaptive.cpp: Adadelta, Adamax, Nadam):
// chunked parallel element-wise updates, the KerasOptimizer base class
// (parameter list check, gradient clipping, decayed learning rate) and the
// config readers. Internal to src/nn.
#pragma once
#include "optimizers.h"

#include "parallel.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

namespace kn {

// Element-wise updates split into fixed chunks (independent of the thread
// count, so results stay bitwise reproducible) and run in parallel.
template <class F>
inline void for_chunks(int64_t n, F&& f) {
  const int64_t grain = 1 << 15;
  parallel_for(n_chunks(n, grain), [&](int64_t c) {
    const int64_t lo = c * grain;
    f(lo, std::min(n, lo + grain));
  });
}

inline std::string dims(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  if (s.size() == 1) out += ",";
  return out + ")";
}

// Shared machinery: hyperparameters common to all classes, the parameter list
// check, gradient clipping and decayed learning rate.
class KerasOptimizer : public Optimizer {
 public:
  float lr = 0.01f;     // K.variable (float32)
  float decay = 0.0f;   // K.variable (float32)
  Json clipnorm;        // as given (null = not set)
  Json clipvalue;

  void update(const std::vector<Param*>& params) override {
    std::vector<Param*> tp = trainable(params);
    if (!initialized_) {
      init_state(tp);
    } else {
      check_params(tp);
    }
    const std::vector<const float*> grads = clipped_grads(tp);
    float lr_t = lr;
    if (decay > 0.0f) lr_t = lr * (1.0f / (1.0f + decay * static_cast<float>(iterations)));
    apply(tp, grads, lr_t);
    ++iterations;
  }

  double learning_rate() const override { return lr; }
  void set_learning_rate(double v) override {
    if (!(v >= 0.0)) throw Error("optimizer '" + class_name() + "': the learning rate must be a non-negative number");
    lr = static_cast<float>(v);
  }

  void init_state(const std::vector<Param*>& params) override {
    std::vector<Param*> tp = trainable(params);
    shapes_.clear();
    for (Param* p : tp) shapes_.push_back(p->value.shape);
    allocate(shapes_);
    n_state_ = state().size();
    initialized_ = true;
  }

 protected:
  // Allocates zeroed slots for params of these shapes.
  virtual void allocate(const std::vector<Shape>& shapes) = 0;
  // The class's update rule; grads[k] points at params[k]'s (clipped) gradient.
  virtual void apply(const std::vector<Param*>& params, const std::vector<const float*>& grads, float lr_t) = 0;

  // clipnorm/clipvalue entries go first, as Optimizer.get_config()'s dict is merged first.
  Json base_config() const {
    Json c = Json::object();
    if (!clipnorm.is_null()) c.set("clipnorm", clipnorm);
    if (!clipvalue.is_null()) c.set("clipvalue", clipvalue);
    return c;
  }

  static Tensor zeros(const Shape& s) { return Tensor(s); }

 private:
  bool initialized_ = false;
  std::vector<Shape> shapes_;              // shapes the state was created for
  std::vector<std::vector<float>> clip_;   // clipped gradient copies, same shapes as params

  static std::vector<Param*> trainable(const std::vector<Param*>& params) {
    std::vector<Param*> tp;
    for (Param* p : params)
      if (p && p->trainable) tp.push_back(p);
    return tp;
  }

  void check_params(const std::vector<Param*>& tp) const {
    if (tp.size() != shapes_.size())
      throw Error("optimizer '" + class_name() + "': got " + std::to_string(tp.size()) +
                  " trainable parameters but its state was created for " + std::to_string(shapes_.size()) +
                  "; the parameter list must be the same on every update");
    for (size_t k = 0; k < tp.size(); ++k)
      if (tp[k]->value.shape != shapes_[k])
        throw Error("optimizer '" + class_name() + "': trainable parameter " + std::to_string(k) + " ('" +
                    tp[k]->name + "') has shape " + dims(tp[k]->value.shape) +
                    " but the optimizer state was created for shape " + dims(shapes_[k]));
  }

  std::vector<const float*> clipped_grads(const std::vector<Param*>& tp) {
    for (size_t k = 0; k < tp.size(); ++k)
      if (tp[k]->grad.size() != tp[k]->value.size())
        throw Error("optimizer '" + class_name() + "': parameter '" + tp[k]->name + "' has gradient of shape " +
                    dims(tp[k]->grad.shape) + " but value of shape " + dims(tp[k]->value.shape));
    std::vector<const float*> g(tp.size());
    const double cn = clipnorm.is_null() ? 0.0 : clipnorm.as_number();
    const double cv = clipvalue.is_null() ? 0.0 : clipvalue.as_number();
    if (!(cn > 0.0) && !(cv > 0.0)) {
      for (size_t k = 0; k < tp.size(); ++k) g[k] = tp[k]->grad.ptr();
      return g;
    }
    clip_.resize(tp.size());
    for (size_t k = 0; k < tp.size(); ++k) {
      clip_[k].assign(tp[k]->grad.data.begin(), tp[k]->grad.data.end());  // same shape as param
      g[k] = clip_[k].data();
    }
    if (cn > 0.0) {
      // One norm over all gradients (Keras 2.2.4 get_gradients).
      double sq = 0.0;
      for (size_t k = 0; k < tp.size(); ++k)
        for (float x : clip_[k]) sq += static_cast<double>(x) * static_cast<double>(x);
      const float norm = static_cast<float>(std::sqrt(sq));
      const float c = static_cast<float>(cn);
      if (norm >= c) {
        const float scale = c / norm;  // tf.scalar_mul(c / n, g)
        for (auto& v : clip_)
          for (float& x : v) x = scale * x;
      }
    }
    if (cv > 0.0) {
      const float c = static_cast<float>(cv);
      for (auto& v : clip_)
        for (float& x : v) x = std::min(std::max(x, -c), c);
    }
    return g;
  }
};

inline std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// Config readers; `who` names the optimizer in messages.
struct ConfigReader {
  const Json& cfg;
  std::string who;

  const Json* find(const std::string& key) const {
    if (!cfg.is_object() || !cfg.has(key)) return nullptr;
    const Json& v = cfg[key];
    return v.is_null() ? nullptr : &v;
  }
  double number(const std::string& key, double fallback) const {
    const Json* v = find(key);
    if (!v) return fallback;
    if (!v->is_number()) throw Error("optimizer '" + who + "': config '" + key + "' must be a number, got " + v->dump());
    return v->as_number();
  }
  bool boolean(const std::string& key, bool fallback) const {
    const Json* v = find(key);
    if (!v) return fallback;
    if (v->is_bool()) return v->as_bool();
    if (v->is_number()) return v->as_number() != 0.0;
    throw Error("optimizer '" + who + "': config '" + key + "' must be true/false, got " + v->dump());
  }
  Json raw(const std::string& key) const {
    const Json* v = find(key);
    if (!v) return Json();
    if (!v->is_number()) throw Error("optimizer '" + who + "': config '" + key + "' must be a number, got " + v->dump());
    return *v;
  }
  void check_keys(const std::vector<std::string>& valid) const {
    if (cfg.is_null()) return;
    if (!cfg.is_object()) throw Error("optimizer '" + who + "': config must be an object, got " + cfg.dump());
    for (const auto& kv : cfg.items()) {
      if (std::find(valid.begin(), valid.end(), kv.first) != valid.end()) continue;
      std::string msg = "optimizer '" + who + "': unexpected config key '" + kv.first + "'; valid keys are: ";
      for (size_t i = 0; i < valid.size(); ++i) msg += (i ? ", " : "") + valid[i];
      throw Error(msg);
    }
  }
};

inline void read_common(KerasOptimizer& o, const ConfigReader& r, double default_lr) {
  if (r.find("lr") && r.find("learning_rate"))
    throw Error("optimizer '" + r.who + "': give only one of 'lr' and 'learning_rate'");
  const double lr = r.find("lr") ? r.number("lr", default_lr) : r.number("learning_rate", default_lr);
  o.lr = static_cast<float>(lr);
  o.decay = static_cast<float>(r.number("decay", 0.0));
  o.clipnorm = r.raw("clipnorm");
  o.clipvalue = r.raw("clipvalue");
}

// Adadelta, Adamax and Nadam (optimizers_adaptive.cpp) from a lower-cased class
// name and config; null for other names. `common` lists the shared config keys.
std::unique_ptr<Optimizer> make_adaptive_optimizer(const std::string& lower_name, const Json& config,
                                                   const std::vector<std::string>& common);

}  // namespace kn
