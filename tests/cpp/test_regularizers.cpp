// Regularizers and constraints: penalty values and gradients against naive
// double loops, constraints against per-slice norms computed here, and one
// training step of a Dense model whose loss includes kernel, bias and activity
// penalties and whose kernel is max-norm constrained, against the same step
// worked out in double precision in this file.
#include <cmath>
#include <vector>

#include "harness.h"
#include "layer.h"
#include "model.h"

using namespace kn;

TEST(l1_l2_penalty_and_gradient) {
  auto r = make_regularizer(Json::parse(R"({"class_name": "L1L2", "config": {"l1": 0.01, "l2": 0.02}})"), "t");
  Tensor w(Shape{2, 3});
  w.data = {0.5f, -1.5f, 0.0f, 2.0f, -0.25f, 1.0f};
  double pen = 0;
  for (float v : w.data) pen += 0.01 * std::fabs(v) + 0.02 * v * v;
  CHECK_NEAR(r->penalty(w), pen, 1e-7);
  Tensor g(w.shape);
  r->add_grad(w, 1.0f, g);
  for (int i = 0; i < 6; ++i) {
    const double v = w.data[i], s = v > 0 ? 1 : v < 0 ? -1 : 0;
    CHECK_NEAR(g.data[i], 0.01 * s + 0.04 * v, 1e-7);
  }
  // float32 factors echoed as Keras writes them
  CHECK(r->config().dump() == R"({"class_name": "L1L2", "config": {"l1": 0.009999999776482582, "l2": 0.019999999552965164}})");
  CHECK_THROWS(make_regularizer(Json::parse(R"({"class_name": "L1L2", "config": {"l1": -1}})"), "layer 'd': kernel_regularizer"),
               "layer 'd': kernel_regularizer: regularizer 'l1' must be a finite non-negative number");
}

TEST(constraints_match_per_slice_norms) {
  Tensor w(Shape{3, 2});  // (in, units): axis 0 -> one norm per unit (column)
  w.data = {3.0f, 0.1f, 4.0f, -0.2f, 0.0f, 0.2f};
  const double n0 = 5.0, n1 = std::sqrt(0.01 + 0.04 + 0.04);
  auto maxn = make_constraint(Json::parse(R"({"class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}})"), "t");
  Tensor a = w;
  maxn->apply(a);
  for (int r = 0; r < 3; ++r) {
    CHECK_NEAR(a.data[r * 2], w.data[r * 2] * 2.0 / (1e-7 + n0), 1e-6);
    CHECK_NEAR(a.data[r * 2 + 1], w.data[r * 2 + 1] * n1 / (1e-7 + n1), 1e-6);
  }
  auto unit = make_constraint(Json::parse(R"({"class_name": "UnitNorm", "config": {"axis": 1}})"), "t");
  Tensor b = w;
  unit->apply(b);  // axis 1: one norm per row
  for (int r = 0; r < 3; ++r) {
    const double n = std::sqrt(double(w.data[r * 2]) * w.data[r * 2] + double(w.data[r * 2 + 1]) * w.data[r * 2 + 1]);
    CHECK_NEAR(b.data[r * 2], w.data[r * 2] / (1e-7 + n), 1e-6);
  }
  auto mm = make_constraint(Json::parse(R"({"class_name": "MinMaxNorm", "config": {"min_value": 1, "max_value": 2, "rate": 0.5, "axis": 0}})"), "t");
  Tensor c = w;
  mm->apply(c);
  const double d0 = 0.5 * 2 + 0.5 * n0, d1 = 0.5 * 1 + 0.5 * n1;
  CHECK_NEAR(c.data[0], 3.0 * d0 / (1e-7 + n0), 1e-5);
  CHECK_NEAR(c.data[1], 0.1 * d1 / (1e-7 + n1), 1e-5);
  auto nn = make_constraint(Json::parse(R"({"class_name": "NonNeg", "config": {}})"), "t");
  Tensor d = w;
  nn->apply(d);
  CHECK(d.data[3] == 0.0f && d.data[0] == 3.0f && d.data[5] == 0.2f);
  // conv kernel (kh, kw, in, out) with axis [0, 1, 2]: one norm per filter
  Tensor k(Shape{2, 2, 1, 2});
  for (int i = 0; i < 8; ++i) k.data[i] = static_cast<float>(i + 1);
  auto kc = make_constraint(Json::parse(R"({"class_name": "MaxNorm", "config": {"max_value": 1, "axis": [0, 1, 2]}})"), "t");
  kc->apply(k);
  double s0 = 0, s1 = 0;
  for (int i = 0; i < 8; i += 2) { s0 += k.data[i] * k.data[i]; s1 += k.data[i + 1] * k.data[i + 1]; }
  CHECK_NEAR(std::sqrt(s0), 1.0, 1e-5);
  CHECK_NEAR(std::sqrt(s1), 1.0, 1e-5);
  Tensor bias(Shape{2});
  CHECK_THROWS(kc->apply(bias), "axis 1 is out of range");
}

TEST(dense_step_includes_penalties_and_constraint) {
  Model m;
  const int in = m.graph.add_input(Shape{3}, "x");
  LayerPtr l = make_layer("Dense", Json::parse(R"({"name": "d", "units": 2, "activation": "linear",
    "kernel_regularizer": {"class_name": "L1L2", "config": {"l1": 0.01, "l2": 0.02}},
    "bias_regularizer": {"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.5}},
    "activity_regularizer": {"class_name": "L1L2", "config": {"l1": 0.05, "l2": 0.0}},
    "kernel_constraint": {"class_name": "MaxNorm", "config": {"max_value": 0.9, "axis": 0}}})"));
  const int d = m.graph.add(l, {in}, m.rng);
  m.graph.inputs = {in};
  m.graph.outputs = {d};
  m.compile({"mean_squared_error"}, {}, false, make_optimizer("SGD", Json::parse(R"({"lr": 0.1})")));
  const float W0[6] = {0.4f, -0.3f, 0.2f, 0.6f, -0.5f, 0.1f}, b0[2] = {0.1f, -0.2f};
  std::copy(W0, W0 + 6, l->params[0].value.data.begin());
  std::copy(b0, b0 + 2, l->params[1].value.data.begin());
  const int N = 4;
  Batch b;
  b.x = {Tensor(Shape{N, 3})};
  b.y = {Tensor(Shape{N, 2})};
  for (int i = 0; i < N * 3; ++i) b.x[0].data[i] = static_cast<float>(std::sin(1.3 * i + 0.2));
  for (int i = 0; i < N * 2; ++i) b.y[0].data[i] = static_cast<float>(std::cos(0.7 * i));
  // reference in double
  double loss = 0, dW[6] = {0}, db[2] = {0}, act = 0;
  for (int n = 0; n < N; ++n)
    for (int j = 0; j < 2; ++j) {
      double y = b0[j];
      for (int k = 0; k < 3; ++k) y += b.x[0].data[n * 3 + k] * W0[k * 2 + j];
      const double e = y - b.y[0].data[n * 2 + j];
      loss += e * e / 2 / N;
      act += 0.05 * std::fabs(y);
      const double dy = 2 * e / 2 / N + 0.05 * (y > 0 ? 1 : -1);
      for (int k = 0; k < 3; ++k) dW[k * 2 + j] += b.x[0].data[n * 3 + k] * dy;
      db[j] += dy;
    }
  double pen = act;
  for (int i = 0; i < 6; ++i) {
    pen += 0.01 * std::fabs(W0[i]) + 0.02 * W0[i] * W0[i];
    dW[i] += 0.01 * (W0[i] > 0 ? 1 : -1) + 0.04 * W0[i];
  }
  for (int j = 0; j < 2; ++j) { pen += 0.5 * b0[j] * b0[j]; db[j] += 1.0 * b0[j]; }
  double W1[6];
  for (int i = 0; i < 6; ++i) W1[i] = W0[i] - 0.1 * dW[i];
  for (int j = 0; j < 2; ++j) {  // max-norm 0.9 per unit (column)
    double n = 0;
    for (int k = 0; k < 3; ++k) n += W1[k * 2 + j] * W1[k * 2 + j];
    n = std::sqrt(n);
    for (int k = 0; k < 3; ++k) W1[k * 2 + j] *= std::min(n, 0.9) / (1e-7 + n);
  }
  const std::vector<double> vals = m.train_batch(b, 1);
  CHECK_NEAR(vals[0], loss + pen, 1e-5);
  for (int i = 0; i < 6; ++i) CHECK_NEAR(l->params[0].value.data[i], W1[i], 1e-5);
  for (int j = 0; j < 2; ++j) CHECK_NEAR(l->params[1].value.data[j], b0[j] - 0.1 * db[j], 1e-5);
  double n0 = 0;
  for (int k = 0; k < 3; ++k) n0 += double(l->params[0].value.data[k * 2]) * l->params[0].value.data[k * 2];
  CHECK(std::sqrt(n0) <= 0.9 + 1e-6);
  // the config echoes what the layer was given
  const Json c = layer_config(*l);
  CHECK(c["kernel_constraint"]["class_name"].as_string() == "MaxNorm");
  CHECK(c["activity_regularizer"]["config"]["l1"].as_number() == static_cast<double>(0.05f));
}

TEST(rules_must_name_existing_weights) {
  Model m;
  const int in = m.graph.add_input(Shape{3}, "x");
  LayerPtr l = make_layer("Dense", Json::parse(R"({"name": "d", "units": 2, "use_bias": false,
    "bias_regularizer": {"class_name": "L1L2", "config": {"l2": 0.1}}})"));
  CHECK_THROWS(m.graph.add(l, {in}, m.rng), "'bias_regularizer' is given but the layer has no weight 'bias'");
}

KN_TEST_MAIN
