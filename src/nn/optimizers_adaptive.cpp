// Keras 2.2.4's Adadelta, Adamax and Nadam (see optimizers.h; shared machinery
// in optimizer_base.h).
#include "optimizer_base.h"

namespace kn {

namespace {

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

}  // namespace

std::unique_ptr<Optimizer> make_adaptive_optimizer(const std::string& c, const Json& config,
                                                   const std::vector<std::string>& common) {
  auto keys = [&](std::vector<std::string> extra) {
    std::vector<std::string> k = common;
    k.insert(k.end(), extra.begin(), extra.end());
    return k;
  };
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
  return nullptr;
}

}  // namespace kn
