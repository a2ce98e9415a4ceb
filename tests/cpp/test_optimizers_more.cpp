// Adadelta, Adamax and Nadam against double-precision implementations of the
// Keras 2.2.4/2.2.5 formulas written here (keras/optimizers.py), three steps
// on two parameters, with lr decay (Adadelta, Adamax) and clipnorm.
#include <algorithm>
#include <cmath>
#include <vector>

#include "harness.h"
#include "optimizers.h"

using kn::Json;
using kn::Param;
using kn::Shape;
using kn::Tensor;

namespace {

const double kStart[4] = {0.5, -1.0, 2.0, 0.3};
const double kGrads[3][4] = {{0.1, -0.2, 0.3, 1.0}, {0.05, 0.4, -0.1, 0.01}, {-0.3, 0.1, 0.2, 0.02}};

// Runs the engine's optimizer for 3 steps; returns the 4 parameter values.
std::vector<double> engine(const std::string& cls, const std::string& cfg) {
  std::vector<Param> ps(2);
  ps[0].name = "kernel";
  ps[0].value = Tensor(Shape{3});
  ps[1].name = "bias";
  ps[1].value = Tensor(Shape{1});
  for (int j = 0; j < 3; ++j) ps[0].value.data[j] = static_cast<float>(kStart[j]);
  ps[1].value.data[0] = static_cast<float>(kStart[3]);
  for (auto& p : ps) p.grad = Tensor(p.value.shape);
  auto opt = kn::make_optimizer(cls, Json::parse(cfg));
  for (int s = 0; s < 3; ++s) {
    for (int j = 0; j < 3; ++j) ps[0].grad.data[j] = static_cast<float>(kGrads[s][j]);
    ps[1].grad.data[0] = static_cast<float>(kGrads[s][3]);
    opt->update({&ps[0], &ps[1]});
  }
  CHECK(opt->iterations == 3);
  std::vector<double> out(ps[0].value.data.begin(), ps[0].value.data.end());
  out.push_back(ps[1].value.data[0]);
  return out;
}

// Gradients of step s, clipped to global norm `clipnorm` (0 = none).
std::vector<double> grads(int s, double clipnorm) {
  std::vector<double> g(kGrads[s], kGrads[s] + 4);
  if (clipnorm > 0) {
    double n = 0;
    for (double x : g) n += x * x;
    n = std::sqrt(n);
    if (n >= clipnorm) for (double& x : g) x *= clipnorm / n;
  }
  return g;
}

void check_close(const std::vector<double>& got, const std::vector<double>& want) {
  CHECK(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) CHECK_NEAR(got[i], want[i], 2e-6 * std::max(1.0, std::fabs(want[i])));
}

}  // namespace

TEST(adadelta_matches_keras_formulas) {
  const double lr = 1.0, rho = 0.95, eps = 1e-7, decay = 0.1;
  std::vector<double> p(kStart, kStart + 4), a(4, 0), d(4, 0);
  for (int s = 0; s < 3; ++s) {
    const std::vector<double> g = grads(s, 0);
    const double lr_t = lr / (1 + decay * s);
    for (int i = 0; i < 4; ++i) {
      a[i] = rho * a[i] + (1 - rho) * g[i] * g[i];
      const double u = g[i] * std::sqrt(d[i] + eps) / std::sqrt(a[i] + eps);
      p[i] -= lr_t * u;
      d[i] = rho * d[i] + (1 - rho) * u * u;
    }
  }
  check_close(engine("Adadelta", R"({"decay": 0.1})"), p);
  // defaults: lr 1.0, rho 0.95
  auto o = kn::make_optimizer("adadelta", Json());
  CHECK(o->config().dump() == R"({"lr": 1.0, "rho": 0.95, "decay": 0.0, "epsilon": 1e-07})");
}

TEST(adamax_matches_keras_formulas) {
  const double lr = 0.002, b1 = 0.9, b2 = 0.999, eps = 1e-7, decay = 0.05;
  std::vector<double> p(kStart, kStart + 4), m(4, 0), u(4, 0);
  for (int s = 0; s < 3; ++s) {
    const std::vector<double> g = grads(s, 0.5);
    const double lr_t = lr / (1 + decay * s) / (1 - std::pow(b1, s + 1));
    for (int i = 0; i < 4; ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      u[i] = std::max(b2 * u[i], std::fabs(g[i]));
      p[i] -= lr_t * m[i] / (u[i] + eps);
    }
  }
  check_close(engine("Adamax", R"({"decay": 0.05, "clipnorm": 0.5})"), p);
}

TEST(nadam_matches_keras_formulas) {
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-7, sd = 0.004;
  std::vector<double> p(kStart, kStart + 4), m(4, 0), v(4, 0);
  double sched = 1;
  for (int s = 0; s < 3; ++s) {
    const std::vector<double> g = grads(s, 0);
    const double t = s + 1;
    const double mc = b1 * (1 - 0.5 * std::pow(0.96, t * sd)), mc1 = b1 * (1 - 0.5 * std::pow(0.96, (t + 1) * sd));
    const double sn = sched * mc, sx = sched * mc * mc1;
    sched = sn;
    for (int i = 0; i < 4; ++i) {
      const double gp = g[i] / (1 - sn);
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      const double mp = m[i] / (1 - sx);
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const double vp = v[i] / (1 - std::pow(b2, t));
      const double mbar = (1 - mc) * gp + mc1 * mp;
      p[i] -= lr * mbar / (std::sqrt(vp) + eps);
    }
  }
  check_close(engine("Nadam", R"({"lr": 0.01})"), p);
  CHECK_THROWS(kn::make_optimizer("Nadam", Json::parse(R"({"decay": 0.1})")), "unexpected config key 'decay'");
}

TEST(new_optimizers_state_layout) {
  std::vector<Param> ps(1);
  ps[0].name = "kernel";
  ps[0].value = Tensor(Shape{2, 3});
  ps[0].grad = Tensor(Shape{2, 3});
  for (const char* cls : {"Adadelta", "Adamax", "Nadam"}) {
    auto o = kn::make_optimizer(cls, Json());
    o->update({&ps[0]});
    CHECK(o->state().size() == 2);
    CHECK(o->state_has_iterations() == (std::string(cls) != "Adadelta"));
  }
}

KN_TEST_MAIN
