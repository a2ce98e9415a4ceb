// Keras 2.2.4 optimizers, see optimizers.h: SGD, RMSprop, Adam, Adagrad and the
// factory (Adadelta, Adamax, Nadam are in optimizers_adaptive.cpp).
#include "optimizer_base.h"

#include "vec_ops.h"

namespace kn {

namespace {

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
  if (auto o = make_adaptive_optimizer(c, config, common)) return o;
  throw Error("unknown optimizer '" + class_name +
              "'; valid optimizers are: SGD, RMSprop, Adam, Adagrad, Adadelta, Adamax, Nadam");
}

}  // namespace kn
