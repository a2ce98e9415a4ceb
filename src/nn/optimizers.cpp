// Keras 2.2.4 optimizers, see optimizers.h.
#include "optimizers.h"

#include "parallel.h"
#include "vec_ops.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace kn {

namespace {
// Element-wise updates split into fixed chunks (independent of the thread
// count, so results stay bitwise reproducible) and run in parallel.
template <class F>
void for_chunks(int64_t n, F&& f) {
  const int64_t grain = 1 << 15;
  parallel_for(n_chunks(n, grain), [&](int64_t c) {
    const int64_t lo = c * grain;
    f(lo, std::min(n, lo + grain));
  });
}
}  // namespace

namespace {

std::string dims(const Shape& s) {
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

// SGD: v = momentum * m - lr * g; m = v; p += v
// (nesterov: p = p + momentum * v - lr * g).
class SGD : public KerasOptimizer {
 public:
  float momentum = 0.0f;
  bool nesterov = false;
  std::vector<Tensor> moments;  // one per param, param shape

  std::string class_name() const override { return "SGD"; }
  bool state_has_iterations() const override { return true; }
  Json config() const override {
    Json c = base_config();
    c.set("lr", static_cast<double>(lr));
    c.set("momentum", static_cast<double>(momentum));
    c.set("decay", static_cast<double>(decay));
    c.set("nesterov", nesterov);
    return c;
  }
  std::vector<Tensor*> state() override {
    std::vector<Tensor*> s;
    for (auto& t : moments) s.push_back(&t);
    return s;
  }

 protected:
  void allocate(const std::vector<Shape>& shapes) override {
    moments.clear();
    for (const Shape& s : shapes) moments.push_back(zeros(s));
  }
  void apply(const std::vector<Param*>& params, const std::vector<const float*>& grads, float lr_t) override {
    for (size_t k = 0; k < params.size(); ++k) {
      float* p = params[k]->value.ptr();  // param shape
      float* m = moments[k].ptr();        // param shape
      const float* g = grads[k];          // param shape
      const int64_t n = params[k]->value.size();
      const float mu = momentum;
      for_chunks(n, [&](int64_t lo, int64_t hi) { vec::sgd_momentum(p + lo, m + lo, g + lo, hi - lo, mu, lr_t, nesterov); });
    }
  }
};

// RMSprop: a = rho * a + (1 - rho) * g^2; p -= lr * g / (sqrt(a) + epsilon).
class RMSprop : public KerasOptimizer {
 public:
  float rho = 0.9f;
  double epsilon = 1e-7;  // Python float in Keras
  std::vector<Tensor> accumulators;  // one per param, param shape

  std::string class_name() const override { return "RMSprop"; }
  bool state_has_iterations() const override { return false; }
  Json config() const override {
    Json c = base_config();
    c.set("lr", static_cast<double>(lr));
    c.set("rho", static_cast<double>(rho));
    c.set("decay", static_cast<double>(decay));
    c.set("epsilon", epsilon);
    return c;
  }
  std::vector<Tensor*> state() override {
    std::vector<Tensor*> s;
    for (auto& t : accumulators) s.push_back(&t);
    return s;
  }

 protected:
  void allocate(const std::vector<Shape>& shapes) override {
    accumulators.clear();
    for (const Shape& s : shapes) accumulators.push_back(zeros(s));
  }
  void apply(const std::vector<Param*>& params, const std::vector<const float*>& grads, float lr_t) override {
    const float one_minus_rho = 1.0f - rho;
    const float eps = static_cast<float>(epsilon);
    for (size_t k = 0; k < params.size(); ++k) {
      float* p = params[k]->value.ptr();   // param shape
      float* a = accumulators[k].ptr();    // param shape
      const float* g = grads[k];           // param shape
      const int64_t n = params[k]->value.size();
      for_chunks(n, [&](int64_t lo, int64_t hi) { vec::rmsprop(p + lo, a + lo, g + lo, hi - lo, rho, one_minus_rho, lr_t, eps); });
    }
  }
};

// Adam: t = iterations + 1; lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t);
// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
// p -= lr_t * m / (sqrt(v) + eps)   (amsgrad: vhat = max(vhat, v), sqrt(vhat)).
class Adam : public KerasOptimizer {
 public:
  float beta_1 = 0.9f, beta_2 = 0.999f;
  double epsilon = 1e-7;
  bool amsgrad = false;
  std::vector<Tensor> ms, vs, vhats;  // param shapes; vhats (1) each unless amsgrad

  std::string class_name() const override { return "Adam"; }
  bool state_has_iterations() const override { return true; }
  Json config() const override {
    Json c = base_config();
    c.set("lr", static_cast<double>(lr));
    c.set("beta_1", static_cast<double>(beta_1));
    c.set("beta_2", static_cast<double>(beta_2));
    c.set("decay", static_cast<double>(decay));
    c.set("epsilon", epsilon);
    c.set("amsgrad", amsgrad);
    return c;
  }
  std::vector<Tensor*> state() override {
    std::vector<Tensor*> s;
    for (auto& t : ms) s.push_back(&t);
    for (auto& t : vs) s.push_back(&t);
    for (auto& t : vhats) s.push_back(&t);
    return s;
  }

 protected:
  void allocate(const std::vector<Shape>& shapes) override {
    ms.clear();
    vs.clear();
    vhats.clear();
    for (const Shape& s : shapes) ms.push_back(zeros(s));
    for (const Shape& s : shapes) vs.push_back(zeros(s));
    for (const Shape& s : shapes) vhats.push_back(zeros(amsgrad ? s : Shape{1}));
  }
  void apply(const std::vector<Param*>& params, const std::vector<const float*>& grads, float lr_dec) override {
    const float t = static_cast<float>(iterations) + 1.0f;
    const float lr_t = lr_dec * (std::sqrt(1.0f - std::pow(beta_2, t)) / (1.0f - std::pow(beta_1, t)));
    const float omb1 = 1.0f - beta_1, omb2 = 1.0f - beta_2;
    const float eps = static_cast<float>(epsilon);
    for (size_t k = 0; k < params.size(); ++k) {
      float* p = params[k]->value.ptr();  // param shape
      float* m = ms[k].ptr();             // param shape
      float* v = vs[k].ptr();             // param shape
      const float* g = grads[k];          // param shape
      const int64_t n = params[k]->value.size();
      float* vh = amsgrad ? vhats[k].ptr() : nullptr;  // param shape when amsgrad
      for_chunks(n, [&](int64_t lo, int64_t hi) {
        vec::adam(p + lo, m + lo, v + lo, vh ? vh + lo : nullptr, g + lo, hi - lo, beta_1, omb1, beta_2, omb2, lr_t, eps);
      });
    }
  }
};

// Adagrad: a += g^2; p -= lr * g / (sqrt(a) + epsilon).
class Adagrad : public KerasOptimizer {
 public:
  double epsilon = 1e-7;
  std::vector<Tensor> accumulators;  // one per param, param shape

  std::string class_name() const override { return "Adagrad"; }
  bool state_has_iterations() const override { return false; }
  Json config() const override {
    Json c = base_config();
    c.set("lr", static_cast<double>(lr));
    c.set("decay", static_cast<double>(decay));
    c.set("epsilon", epsilon);
    return c;
  }
  std::vector<Tensor*> state() override {
    std::vector<Tensor*> s;
    for (auto& t : accumulators) s.push_back(&t);
    return s;
  }

 protected:
  void allocate(const std::vector<Shape>& shapes) override {
    accumulators.clear();
    for (const Shape& s : shapes) accumulators.push_back(zeros(s));
  }
  void apply(const std::vector<Param*>& params, const std::vector<const float*>& grads, float lr_t) override {
    const float eps = static_cast<float>(epsilon);
    for (size_t k = 0; k < params.size(); ++k) {
      float* p = params[k]->value.ptr();  // param shape
      float* a = accumulators[k].ptr();   // param shape
      const float* g = grads[k];          // param shape
      const int64_t n = params[k]->value.size();
      for_chunks(n, [&](int64_t lo, int64_t hi) { vec::adagrad(p + lo, a + lo, g + lo, hi - lo, lr_t, eps); });
    }
  }
};

// Adadelta (rho and epsilon are Python floats in Keras):
// a = rho a + (1 - rho) g^2; u = g sqrt(d + eps) / sqrt(a + eps); p -= lr u;
// d = rho d + (1 - rho) u^2.
class Adadelta : public KerasOptimizer {
 public:
  double rho = 0.95, epsilon = 1e-7;
  std::vector<Tensor> accumulators, delta_accumulators;  // param shapes

  std::string class_name() const override { return "Adadelta"; }
  bool state_has_iterations() const override { return false; }
  Json config() const override {
    Json c = base_config();
    c.set("lr", static_cast<double>(lr));
    c.set("rho", rho);
    c.set("decay", static_cast<double>(decay));
    c.set("epsilon", epsilon);
    return c;
  }
  std::vector<Tensor*> state() override {
    std::vector<Tensor*> s;
    for (auto& t : accumulators) s.push_back(&t);
    for (auto& t : delta_accumulators) s.push_back(&t);
    return s;
  }

 protected:
  void allocate(const std::vector<Shape>& shapes) override {
    accumulators.clear();
    delta_accumulators.clear();
    for (const Shape& s : shapes) accumulators.push_back(zeros(s));
    for (const Shape& s : shapes) delta_accumulators.push_back(zeros(s));
  }
  void apply(const std::vector<Param*>& params, const std::vector<const float*>& grads, float lr_t) override {
    const float r = static_cast<float>(rho), omr = static_cast<float>(1.0 - rho), eps = static_cast<float>(epsilon);
    for (size_t k = 0; k < params.size(); ++k) {
      float* p = params[k]->value.ptr();          // param shape
      float* a = accumulators[k].ptr();           // param shape
      float* d = delta_accumulators[k].ptr();     // param shape
      const float* g = grads[k];                  // param shape
      for_chunks(params[k]->value.size(), [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          const float na = r * a[i] + omr * (g[i] * g[i]);
          const float u = g[i] * std::sqrt(d[i] + eps) / std::sqrt(na + eps);
          a[i] = na;
          p[i] = p[i] - lr_t * u;
          d[i] = r * d[i] + omr * (u * u);
        }
      });
    }
  }
};

// Adamax: t = iterations + 1; lr_t = lr / (1 - beta_1^t); m = b1 m + (1 - b1) g;
// u = max(b2 u, |g|); p -= lr_t m / (u + eps).
class Adamax : public KerasOptimizer {
 public:
  float beta_1 = 0.9f, beta_2 = 0.999f;
  double epsilon = 1e-7;
  std::vector<Tensor> ms, us;  // param shapes

  std::string class_name() const override { return "Adamax"; }
  bool state_has_iterations() const override { return true; }
  Json config() const override {
    Json c = base_config();
    c.set("lr", static_cast<double>(lr));
    c.set("beta_1", static_cast<double>(beta_1));
    c.set("beta_2", static_cast<double>(beta_2));
    c.set("decay", static_cast<double>(decay));
    c.set("epsilon", epsilon);
    return c;
  }
  std::vector<Tensor*> state() override {
    std::vector<Tensor*> s;
    for (auto& t : ms) s.push_back(&t);
    for (auto& t : us) s.push_back(&t);
    return s;
  }

 protected:
  void allocate(const std::vector<Shape>& shapes) override {
    ms.clear();
    us.clear();
    for (const Shape& s : shapes) ms.push_back(zeros(s));
    for (const Shape& s : shapes) us.push_back(zeros(s));
  }
  void apply(const std::vector<Param*>& params, const std::vector<const float*>& grads, float lr_dec) override {
    const float t = static_cast<float>(iterations) + 1.0f;
    const float lr_t = lr_dec / (1.0f - std::pow(beta_1, t));
    const float omb1 = 1.0f - beta_1, eps = static_cast<float>(epsilon);
    for (size_t k = 0; k < params.size(); ++k) {
      float* p = params[k]->value.ptr();  // param shape
      float* m = ms[k].ptr();             // param shape
      float* u = us[k].ptr();             // param shape
      const float* g = grads[k];          // param shape
      for_chunks(params[k]->value.size(), [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          m[i] = beta_1 * m[i] + omb1 * g[i];
          u[i] = std::max(beta_2 * u[i], std::fabs(g[i]));
          p[i] = p[i] - lr_t * m[i] / (u[i] + eps);
        }
      });
    }
  }
};

// Nadam (Keras 2.2; no decay): t = iterations + 1;
// mc_t = b1 (1 - 0.5 * 0.96^(t sd)), mc_t1 = b1 (1 - 0.5 * 0.96^((t+1) sd));
// sched_new = sched * mc_t; sched_next = sched_new * mc_t1;
// g' = g / (1 - sched_new); m = b1 m + (1-b1) g; m' = m / (1 - sched_next);
// v = b2 v + (1-b2) g^2; v' = v / (1 - b2^t); mbar = (1 - mc_t) g' + mc_t1 m';
// p -= lr mbar / (sqrt(v') + eps). `m_schedule` (a float32 variable in Keras,
// not among its saved weights) is the product of mc_1..mc_iterations.
class Nadam : public KerasOptimizer {
 public:
  float beta_1 = 0.9f, beta_2 = 0.999f;
  double epsilon = 1e-7, schedule_decay = 0.004;
  std::vector<Tensor> ms, vs;  // param shapes

  std::string class_name() const override { return "Nadam"; }
  bool state_has_iterations() const override { return true; }
  Json config() const override {
    Json c = base_config();
    c.set("lr", static_cast<double>(lr));
    c.set("beta_1", static_cast<double>(beta_1));
    c.set("beta_2", static_cast<double>(beta_2));
    c.set("epsilon", epsilon);
    c.set("schedule_decay", schedule_decay);
    return c;
  }
  std::vector<Tensor*> state() override {
    std::vector<Tensor*> s;
    for (auto& t : ms) s.push_back(&t);
    for (auto& t : vs) s.push_back(&t);
    return s;
  }

 protected:
  void allocate(const std::vector<Shape>& shapes) override {
    ms.clear();
    vs.clear();
    for (const Shape& s : shapes) ms.push_back(zeros(s));
    for (const Shape& s : shapes) vs.push_back(zeros(s));
  }
  float momentum_cache(float t) const {
    return beta_1 * (1.0f - 0.5f * std::pow(0.96f, t * static_cast<float>(schedule_decay)));
  }
  void apply(const std::vector<Param*>& params, const std::vector<const float*>& grads, float) override {
    if (sched_iter_ != iterations) {  // state loaded or first step: rebuild the product
      m_schedule_ = 1.0f;
      for (int64_t i = 1; i <= iterations; ++i) m_schedule_ = m_schedule_ * momentum_cache(static_cast<float>(i));
    }
    const float t = static_cast<float>(iterations) + 1.0f;
    const float mc_t = momentum_cache(t), mc_t1 = momentum_cache(t + 1.0f);
    const float sched_new = m_schedule_ * mc_t, sched_next = m_schedule_ * mc_t * mc_t1;
    const float omb1 = 1.0f - beta_1, omb2 = 1.0f - beta_2, eps = static_cast<float>(epsilon);
    const float bc2 = 1.0f - std::pow(beta_2, t);
    for (size_t k = 0; k < params.size(); ++k) {
      float* p = params[k]->value.ptr();  // param shape
      float* m = ms[k].ptr();             // param shape
      float* v = vs[k].ptr();             // param shape
      const float* g = grads[k];          // param shape
      for_chunks(params[k]->value.size(), [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          const float gp = g[i] / (1.0f - sched_new);
          m[i] = beta_1 * m[i] + omb1 * g[i];
          const float mp = m[i] / (1.0f - sched_next);
          v[i] = beta_2 * v[i] + omb2 * (g[i] * g[i]);
          const float vp = v[i] / bc2;
          const float mbar = (1.0f - mc_t) * gp + mc_t1 * mp;
          p[i] = p[i] - lr * mbar / (std::sqrt(vp) + eps);
        }
      });
    }
    m_schedule_ = sched_new;
    sched_iter_ = iterations + 1;
  }

 private:
  float m_schedule_ = 1.0f;
  int64_t sched_iter_ = 0;
};

std::string lower(std::string s) {
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

void read_common(KerasOptimizer& o, const ConfigReader& r, double default_lr) {
  if (r.find("lr") && r.find("learning_rate"))
    throw Error("optimizer '" + r.who + "': give only one of 'lr' and 'learning_rate'");
  const double lr = r.find("lr") ? r.number("lr", default_lr) : r.number("learning_rate", default_lr);
  o.lr = static_cast<float>(lr);
  o.decay = static_cast<float>(r.number("decay", 0.0));
  o.clipnorm = r.raw("clipnorm");
  o.clipvalue = r.raw("clipvalue");
}

}  // namespace

std::vector<std::string> Optimizer::state_names() const {
  std::vector<std::string> names;
  const std::string cls = class_name();
  if (state_has_iterations()) names.push_back(cls + "/iterations:0");
  for (size_t k = 0; k < n_state_; ++k)
    names.push_back("training/" + cls + "/Variable" + (k ? "_" + std::to_string(k) : std::string()) + ":0");
  return names;
}

std::unique_ptr<Optimizer> make_optimizer(const std::string& class_name, const Json& config) {
  const std::string c = lower(class_name);
  const std::vector<std::string> common = {"lr", "learning_rate", "decay", "clipnorm", "clipvalue"};
  auto keys = [&](std::vector<std::string> extra) {
    std::vector<std::string> k = common;
    k.insert(k.end(), extra.begin(), extra.end());
    return k;
  };
  if (c == "sgd") {
    ConfigReader r{config, "SGD"};
    r.check_keys(keys({"momentum", "nesterov"}));
    auto o = std::make_unique<SGD>();
    read_common(*o, r, 0.01);
    o->momentum = static_cast<float>(r.number("momentum", 0.0));
    o->nesterov = r.boolean("nesterov", false);
    return o;
  }
  if (c == "rmsprop") {
    ConfigReader r{config, "RMSprop"};
    r.check_keys(keys({"rho", "epsilon"}));
    auto o = std::make_unique<RMSprop>();
    read_common(*o, r, 0.001);
    o->rho = static_cast<float>(r.number("rho", 0.9));
    o->epsilon = r.number("epsilon", 1e-7);
    return o;
  }
  if (c == "adam") {
    ConfigReader r{config, "Adam"};
    r.check_keys(keys({"beta_1", "beta_2", "epsilon", "amsgrad"}));
    auto o = std::make_unique<Adam>();
    read_common(*o, r, 0.001);
    o->beta_1 = static_cast<float>(r.number("beta_1", 0.9));
    o->beta_2 = static_cast<float>(r.number("beta_2", 0.999));
    o->epsilon = r.number("epsilon", 1e-7);
    o->amsgrad = r.boolean("amsgrad", false);
    return o;
  }
  if (c == "adagrad") {
    ConfigReader r{config, "Adagrad"};
    r.check_keys(keys({"epsilon"}));
    auto o = std::make_unique<Adagrad>();
    read_common(*o, r, 0.01);
    o->epsilon = r.number("epsilon", 1e-7);
    return o;
  }
  if (c == "adadelta") {
    ConfigReader r{config, "Adadelta"};
    r.check_keys(keys({"rho", "epsilon"}));
    auto o = std::make_unique<Adadelta>();
    read_common(*o, r, 1.0);
    o->rho = r.number("rho", 0.95);
    o->epsilon = r.number("epsilon", 1e-7);
    return o;
  }
  if (c == "adamax") {
    ConfigReader r{config, "Adamax"};
    r.check_keys(keys({"beta_1", "beta_2", "epsilon"}));
    auto o = std::make_unique<Adamax>();
    read_common(*o, r, 0.002);
    o->beta_1 = static_cast<float>(r.number("beta_1", 0.9));
    o->beta_2 = static_cast<float>(r.number("beta_2", 0.999));
    o->epsilon = r.number("epsilon", 1e-7);
    return o;
  }
  if (c == "nadam") {
    ConfigReader r{config, "Nadam"};
    r.check_keys({"lr", "learning_rate", "clipnorm", "clipvalue", "beta_1", "beta_2", "epsilon", "schedule_decay"});
    auto o = std::make_unique<Nadam>();
    read_common(*o, r, 0.002);
    o->beta_1 = static_cast<float>(r.number("beta_1", 0.9));
    o->beta_2 = static_cast<float>(r.number("beta_2", 0.999));
    o->epsilon = r.number("epsilon", 1e-7);
    o->schedule_decay = r.number("schedule_decay", 0.004);
    return o;
  }
  throw Error("unknown optimizer '" + class_name +
              "'; valid optimizers are: SGD, RMSprop, Adam, Adagrad, Adadelta, Adamax, Nadam");
}

}  // namespace kn
