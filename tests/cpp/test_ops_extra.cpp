// Forward values of the ops in src/ops/ops_extra.cpp against hand-computed or
// naive-loop values (their gradients are checked in test_ops.cpp).
#include <cmath>

#include "graph.h"
#include "harness.h"
#include "op.h"

using namespace kn;

namespace {
Tensor run1(const std::string& op, const std::string& attrs, const Tensor* x, DType dt = DType::Float32,
            TType* type = nullptr) {
  const OpCode c = op_code(op);
  OpAttrs a = parse_attrs(c, Json::parse(attrs));
  Tensor out;
  std::vector<const Tensor*> in;
  std::vector<DType> dts;
  if (x) { in.push_back(x); dts.push_back(dt); }
  TType t = run_op(c, a, in, dts, out);
  if (type) *type = t;
  return out;
}
}  // namespace

TEST(cumprod_naive_loops) {
  Tensor x({2, 3, 2});  // (2, 3, 2)
  for (int64_t i = 0; i < x.size(); ++i) x.data[i] = 0.5f + 0.25f * static_cast<float>(i % 5) - (i == 7 ? 2.0f : 0.0f);
  x.data[4] = 0.0f;  // a zero inside a run
  Tensor y = run1("cumprod", R"({"axis": 1})", &x);
  CHECK(y.shape == Shape({2, 3, 2}));
  for (int a = 0; a < 2; ++a)
    for (int c = 0; c < 2; ++c) {
      double p = 1;
      for (int b = 0; b < 3; ++b) {
        p *= x.data[(a * 3 + b) * 2 + c];
        CHECK_NEAR(y.data[(a * 3 + b) * 2 + c], p, 1e-6);
      }
    }
  Tensor v({4});
  v.data = {1, 2, 3, 4};
  Tensor w = run1("cumprod", R"({"axis": -1})", &v);
  CHECK(w.data == std::vector<float>({1, 2, 6, 24}));
  TType t;
  Tensor vi({3});
  vi.data = {2, 3, -1};
  run1("cumprod", R"({"axis": 0})", &vi, DType::Int32, &t);
  CHECK(t.dtype == DType::Int32);
  CHECK_THROWS(run1("cumprod", R"({"axis": 3})", &x), "cumprod: axis 3 is out of range");
}

TEST(cumprod_gradient_at_zero_is_exact) {
  // x = (2, 0, 3): y = (2, 0, 0); d sum(y) / dx = (1 + 0 + 0, 2 + 2 * 3, 0) = (1, 8, 0)
  Tensor x({3});
  x.data = {2, 0, 3};
  const OpCode c = op_code("cumprod");
  OpAttrs a = parse_attrs(c, Json::parse(R"({"axis": 0})"));
  Tensor out;
  run_op(c, a, {&x}, {DType::Float32}, out);
  Tensor g({3}), dx({3});
  g.data = {1, 1, 1};
  op_def(c).backward(a, {&x}, out, g, {&dx});
  CHECK_NEAR(dx.data[0], 1.0, 1e-6);
  CHECK_NEAR(dx.data[1], 8.0, 1e-6);
  CHECK_NEAR(dx.data[2], 0.0, 1e-6);
}

TEST(truncated_normal_moments_and_bounds) {
  OpAttrs a = parse_attrs(OpCode::TruncatedNormal, Json::parse(R"({"shape": [40000], "mean": 1, "stddev": 0.5, "seed": 3})"));
  Tensor t, t2;
  run_op(OpCode::TruncatedNormal, a, {}, {}, t);
  OpContext step;
  step.step_key = 7;
  run_op(OpCode::TruncatedNormal, a, {}, {}, t2, step);
  double m = 0, v = 0, lo = 1e9, hi = -1e9;
  for (float x : t.data) { m += x; lo = std::min<double>(lo, x); hi = std::max<double>(hi, x); }
  m /= t.size();
  for (float x : t.data) v += (x - m) * (x - m);
  v /= t.size();
  CHECK(lo >= 1 - 2 * 0.5 - 1e-6 && hi <= 1 + 2 * 0.5 + 1e-6);
  CHECK_NEAR(m, 1.0, 0.01);
  // sd of a standard normal truncated at +-2: sqrt(1 - 4 phi(2) / (2 Phi(2) - 1)) = 0.8796
  CHECK_NEAR(std::sqrt(v), 0.5 * 0.8796, 0.01);
  CHECK(hi - lo > 1.9);  // the tails up to the bounds are reached
  CHECK(t.data != t2.data);
  OpAttrs bad = parse_attrs(OpCode::TruncatedNormal, Json::parse(R"({"shape": [-1, 2]})"));
  Tensor o;
  CHECK_THROWS(run_op(OpCode::TruncatedNormal, bad, {}, {}, o), "must be fully known");
}

// Op nodes on an input with an unknown dimension beyond the batch: buffers
// follow each forward's input shape; with input_grads the backward pass
// fills the gradient of the input (k_gradients on model tensors).
TEST(graph_unknown_input_dims_and_input_gradients) {
  Graph g;
  const int x = g.add_input({-1, 2}, "x");  // (batch, time unknown, 2)
  const int sq = g.add_op(OpCode::Square, OpAttrs(), {x}, "lambda");
  const int s = g.add_op(OpCode::Sum, parse_attrs(OpCode::Sum, Json::parse(R"({"axis": 1})")), {sq}, "lambda");
  CHECK(g.nodes[s].shape == Shape({2}));
  CHECK(g.nodes[sq].shape == Shape({-1, 2}));
  g.inputs = {x};
  g.outputs = {s};
  g.input_grads = true;
  for (int64_t len : {3, 5}) {
    Tensor in({2, len, 2});  // (2, len, 2)
    for (int64_t i = 0; i < in.size(); ++i) in.data[i] = 0.1f * static_cast<float>(i) - 0.7f;
    g.forward({&in}, false, 0);
    const Tensor& out = g.value(s);  // (2, 2): sum over time of x^2
    CHECK(out.shape == Shape({2, 2}));
    for (int b = 0; b < 2; ++b)
      for (int c = 0; c < 2; ++c) {
        double want = 0;
        for (int64_t t = 0; t < len; ++t) want += std::pow(in.data[(b * len + t) * 2 + c], 2);
        CHECK_NEAR(out.data[b * 2 + c], want, 1e-5);
      }
    Tensor seed(out.shape);
    for (auto& v : seed.data) v = 1.0f;
    g.backward_from({{s, &seed}}, false, 0);
    const Tensor& gx = g.grad(x);  // d sum(out) / dx = 2 x
    CHECK(gx.shape == in.shape);
    for (int64_t i = 0; i < in.size(); ++i) CHECK_NEAR(gx.data[i], 2.0 * in.data[i], 1e-5);
  }
  Tensor bad({2, 3, 4});
  CHECK_THROWS(g.forward({&bad}, false, 0), "input 1: expected shape (None, None, 2)");
  CHECK_THROWS(g.add_input({0, 2}, "z"), "positive or unknown");
}

KN_TEST_MAIN
