// The op table (src/ops): registry-driven finite-difference gradient checks
// (every differentiable op must have a case here, or the test fails) and
// forward values against hand-computed or naive-loop values.
#include <algorithm>
#include <cmath>
#include <set>

#include "harness.h"
#include "op.h"
#include "rng.h"

using namespace kn;

namespace {

struct Input {
  Shape shape;
  std::string kind = "grid";  // grid (+-), pos (> 0), idx:N (integers in [0, N)), bool
};

struct GradCase {
  std::string op;
  std::string attrs;  // JSON
  std::vector<Input> inputs;
};

// Values kept away from kinks (0, +-0.5, +-1) and ties: a shuffled grid.
void fill(Tensor& t, const Input& in, Rng& rng, int which, DType& dt) {
  const int64_t n = t.size();
  std::vector<int64_t> k(n);
  for (int64_t i = 0; i < n; ++i) k[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(k[i], k[rng.below(i + 1)]);
  dt = DType::Float32;
  for (int64_t i = 0; i < n; ++i) {
    const float m = 0.2137f + 0.0113f * which + 0.0313f * static_cast<float>(k[i] % 25);
    if (in.kind == "grid") t.data[i] = rng.uniform() < 0.5 ? -m : m;
    else if (in.kind == "pos") t.data[i] = m;
    else if (in.kind == "bool") { t.data[i] = rng.uniform() < 0.5 ? 1.0f : 0.0f; dt = DType::Bool; }
    else { t.data[i] = static_cast<float>(rng.below(std::stoi(in.kind.substr(4)))); dt = DType::Int32; }
  }
}

double loss_of(OpCode c, OpAttrs& a, const std::vector<Tensor>& xs, const std::vector<DType>& dts,
               const Tensor& R, Tensor& out) {
  std::vector<const Tensor*> in;
  for (auto& x : xs) in.push_back(&x);
  run_op(c, a, in, dts, out);
  double s = 0;
  for (int64_t i = 0; i < out.size(); ++i) s += static_cast<double>(out.data[i]) * R.data[i];
  return s;
}

int gradcheck(const GradCase& gc) {
  const OpCode c = op_code(gc.op);
  OpAttrs a = parse_attrs(c, Json::parse(gc.attrs));
  Rng rng(11);
  std::vector<Tensor> xs;
  std::vector<DType> dts;
  for (size_t k = 0; k < gc.inputs.size(); ++k) {
    xs.emplace_back(gc.inputs[k].shape);
    DType dt;
    fill(xs.back(), gc.inputs[k], rng, static_cast<int>(k), dt);
    dts.push_back(dt);
  }
  Tensor out;
  std::vector<const Tensor*> in;
  for (auto& x : xs) in.push_back(&x);
  run_op(c, a, in, dts, out);
  Tensor R(out.shape);
  for (auto& v : R.data) v = static_cast<float>(rng.uniform() * 2 - 1);
  std::vector<Tensor> dxs;
  DIn din;
  for (auto& x : xs) dxs.emplace_back(x.shape);
  for (size_t k = 0; k < xs.size(); ++k) din.push_back(dts[k] == DType::Float32 ? &dxs[k] : nullptr);
  op_def(c).backward(a, in, out, R, din);
  int bad = 0;
  const float eps = 1e-3f;
  for (size_t k = 0; k < xs.size(); ++k) {
    if (!din[k]) continue;
    for (int64_t i = 0; i < xs[k].size(); ++i) {
      float& v = xs[k].data[i];
      const float old = v;
      Tensor o2;
      v = old + eps; double lp = loss_of(c, a, xs, dts, R, o2);
      v = old - eps; double lm = loss_of(c, a, xs, dts, R, o2);
      v = old;
      const double numeric = (lp - lm) / (2.0 * eps), analytic = dxs[k].data[i];
      if (std::fabs(numeric - analytic) > 2e-2 * std::max(1.0, std::fabs(numeric))) {
        if (bad < 4) std::printf("  %s %s input %zu [%lld]: numeric %.6f analytic %.6f\n", gc.op.c_str(),
                                 gc.attrs.c_str(), k, static_cast<long long>(i), numeric, analytic);
        ++bad;
      }
    }
  }
  return bad;
}

const std::vector<GradCase>& grad_cases() {
  static const std::vector<GradCase> c = {
    {"neg", "{}", {{{2, 3}}}}, {"abs", "{}", {{{2, 3}}}}, {"square", "{}", {{{2, 3}}}},
    {"sqrt", "{}", {{{2, 3}, "pos"}}}, {"exp", "{}", {{{2, 3}}}}, {"log", "{}", {{{2, 3}, "pos"}}},
    {"log1p", "{}", {{{2, 3}, "pos"}}}, {"sigmoid", "{}", {{{2, 3}}}}, {"hard_sigmoid", "{}", {{{2, 3}}}},
    {"tanh", "{}", {{{2, 3}}}}, {"relu", "{}", {{{2, 3}}}}, {"relu", R"({"alpha": 0.1, "max": 0.5})", {{{3, 4}}}},
    {"elu", R"({"alpha": 0.7})", {{{2, 3}}}}, {"softplus", "{}", {{{2, 3}}}}, {"softsign", "{}", {{{2, 3}}}},
    {"sign", "{}", {{{2, 3}}}}, {"round", "{}", {{{2, 3}}}}, {"floor", "{}", {{{2, 3}}}}, {"ceil", "{}", {{{2, 3}}}},
    {"clip", R"({"min": -0.5, "max": 0.5})", {{{3, 4}}}}, {"pow_scalar", R"({"exponent": 2.5})", {{{2, 3}, "pos"}}},
    {"identity", "{}", {{{2, 3}}}}, {"cast", R"({"dtype": "float32"})", {{{2, 3}}}},
    {"cast", R"({"dtype": "int32"})", {{{2, 3}}}},
    {"add", "{}", {{{2, 3}}, {{3}}}}, {"sub", "{}", {{{2, 1}}, {{1, 3}}}}, {"mul", "{}", {{{2, 3}}, {{2, 3}}}},
    {"mul", "{}", {{{2, 3, 2}}, {{}}}}, {"div", "{}", {{{2, 3}}, {{2, 1}}}}, {"maximum", "{}", {{{2, 3}}, {{3}}}},
    {"minimum", "{}", {{{2, 3}}, {{2, 3}}}}, {"pow", "{}", {{{2, 3}, "pos"}, {{3}}}},
    {"squared_difference", "{}", {{{2, 3}}, {{2, 3}}}},
    {"where", "{}", {{{2, 3}, "bool"}, {{2, 3}}, {{3}}}},
    {"sum", R"({"axis": null})", {{{2, 3}}}}, {"sum", R"({"axis": [0, 2], "keepdims": true})", {{{2, 3, 2}}}},
    {"mean", R"({"axis": -1})", {{{2, 3, 4}}}}, {"mean", R"({"axis": 1, "keepdims": true})", {{{2, 3}}}},
    {"max", R"({"axis": 1})", {{{2, 4, 3}}}}, {"min", R"({"axis": null})", {{{3, 4}}}},
    {"prod", R"({"axis": 0})", {{{3, 4}}}},
    {"softmax", "{}", {{{2, 5}}}}, {"softmax", R"({"axis": 1})", {{{2, 3, 2}}}},
    {"log_softmax", "{}", {{{3, 4}}}}, {"cumsum", R"({"axis": 1})", {{{2, 4, 2}}}},
    {"reshape", R"({"shape": [3, -1]})", {{{2, 3}}}}, {"expand_dims", R"({"axis": 1})", {{{2, 3}}}},
    {"squeeze", R"({"axis": 1})", {{{2, 1, 3}}}}, {"transpose", R"({"perm": [2, 0, 1]})", {{{2, 3, 4}}}},
    {"slice", R"({"axis": [1, 2], "begin": [1, 0], "end": [3, 4], "step": [1, 2], "shrink": []})", {{{2, 4, 4}}}},
    {"slice", R"({"axis": [1], "begin": [2], "end": [3], "shrink": [1]})", {{{2, 4}}}},
    {"concatenate", R"({"axis": 1})", {{{2, 3}}, {{2, 2}}, {{2, 1}}}},
    {"concatenate", R"({"axis": 0})", {{{1, 3}}, {{2, 3}}}},
    {"gather", "{}", {{{4, 3}}, {{5}, "idx:4"}}}, {"tile", R"({"multiples": [2, 3]})", {{{2, 2}}}},
    {"sin", "{}", {{{2, 3}}}}, {"cos", "{}", {{{2, 3}}}},
    {"reverse", R"({"axis": [0, 2]})", {{{2, 3, 2}}}},
    {"matmul", "{}", {{{3, 4}}, {{4, 2}}}}, {"matmul", R"({"transpose_a": true})", {{{4, 3}}, {{4, 2}}}},
    {"matmul", R"({"transpose_b": true})", {{{3, 4}}, {{2, 4}}}},
    {"matmul", R"({"transpose_a": true, "transpose_b": true})", {{{4, 3}}, {{2, 4}}}},
    {"matmul", "{}", {{{2, 3, 4}}, {{4, 2}}}}, {"matmul", "{}", {{{2, 3, 4}}, {{2, 4, 2}}}},
    // convolution and pooling (forward values: test_conv_ops.cpp and testthat test-backend-conv.R)
    {"conv", R"({"strides": [1, 1], "padding": "valid"})", {{{2, 5, 4, 3}}, {{3, 2, 3, 2}}}},
    {"conv", R"({"strides": [2, 1], "padding": "same", "dilation_rate": [1, 2]})", {{{2, 5, 6, 2}}, {{2, 3, 2, 3}}}},
    {"conv", R"({"padding": "causal", "dilation_rate": [2]})", {{{2, 7, 2}}, {{3, 2, 3}}}},
    {"conv", R"({"strides": [1, 2, 1], "padding": "same"})", {{{1, 3, 4, 3, 2}}, {{2, 2, 2, 2, 2}}}},
    {"conv_transpose", R"({"strides": [2, 2], "padding": "same", "output_shape": [2, 6, 6, 3]})",
     {{{2, 3, 3, 2}}, {{3, 3, 3, 2}}}},
    {"conv_transpose", R"({"strides": [2, 1], "padding": "valid", "output_shape": [-1, 7, 5, 2]})",
     {{{2, 3, 3, 3}}, {{3, 3, 2, 3}}}},
    {"depthwise_conv", R"({"strides": [1, 2], "padding": "same", "dilation_rate": [1, 1]})",
     {{{2, 4, 5, 3}}, {{3, 3, 3, 2}}}},
    {"depthwise_conv", R"({"padding": "valid", "dilation_rate": [2, 1]})", {{{1, 5, 4, 2}}, {{2, 2, 2, 1}}}},
    {"pool", R"({"pool_size": [2, 2], "strides": [2, 2], "padding": "same", "pool_mode": "max"})", {{{1, 4, 5, 1}}}},
    {"pool", R"({"pool_size": [3, 2], "strides": [1, 2], "padding": "same", "pool_mode": "avg"})", {{{2, 4, 5, 2}}}},
    {"pool", R"({"pool_size": [2, 2, 2], "strides": [1, 1, 2], "padding": "valid", "pool_mode": "max"})",
     {{{1, 2, 3, 4, 1}}}},
    {"pool", R"({"pool_size": [2, 2, 2], "strides": [1, 2, 2], "padding": "same", "pool_mode": "avg"})",
     {{{2, 3, 4, 4, 2}}}},
    // ops_extra.cpp
    {"cumprod", R"({"axis": 1})", {{{2, 4, 2}}}}, {"cumprod", R"({"axis": 0})", {{{5}}}},
  };
  return c;
}

}  // namespace

TEST(every_op_is_registered) {
  for (int i = 0; i < static_cast<int>(OpCode::Count); ++i) {
    bool ok = true;
    try { op_def(static_cast<OpCode>(i)); } catch (const std::exception&) { ok = false; }
    if (!ok) std::printf("  op #%d has no table entry\n", i);
    CHECK(ok);
  }
  std::printf("  %zu ops in the table\n", op_names().size());
}

TEST(every_differentiable_op_has_a_gradcheck) {
  std::set<std::string> covered;
  for (auto& c : grad_cases()) covered.insert(c.op);
  for (auto& n : op_names()) {
    if (!op_def(op_code(n)).differentiable) continue;
    if (!covered.count(n)) std::printf("  differentiable op '%s' has no gradcheck case\n", n.c_str());
    CHECK(covered.count(n) == 1);
    CHECK(op_def(op_code(n)).backward != nullptr);
  }
}

TEST(gradcheck_all_cases) {
  int bad_cases = 0;
  for (auto& c : grad_cases()) {
    int bad = 0;
    try { bad = gradcheck(c); } catch (const std::exception& e) {
      std::printf("  %s %s: %s\n", c.op.c_str(), c.attrs.c_str(), e.what());
      bad = 1;
    }
    bad_cases += bad > 0;
    CHECK(bad == 0);
  }
  std::printf("  %zu gradcheck cases, %d failing\n", grad_cases().size(), bad_cases);
}

// ---------------------------------------------------------------- forward values

namespace {
struct Arg {
  Shape shape;
  std::vector<float> v;
  DType dt = DType::Float32;
};
Tensor fwd(const std::string& op, const std::string& attrs, const std::vector<Arg>& args, TType* type = nullptr) {
  const OpCode c = op_code(op);
  OpAttrs a = parse_attrs(c, Json::parse(attrs));
  std::vector<Tensor> xs;
  std::vector<DType> dts;
  for (auto& g : args) {
    xs.emplace_back(g.shape);
    xs.back().data = g.v;
    dts.push_back(g.dt);
  }
  std::vector<const Tensor*> in;
  for (auto& x : xs) in.push_back(&x);
  Tensor out;
  TType t = run_op(c, a, in, dts, out);
  if (type) *type = t;
  return out;
}
void check_vals(const Tensor& t, const Shape& shape, const std::vector<float>& want, double tol = 1e-6) {
  CHECK(t.shape == shape);
  if (t.shape != shape) std::printf("  shape %s vs %s\n", shape_str(t.shape, false).c_str(), shape_str(shape, false).c_str());
  CHECK(t.data.size() == want.size());
  for (size_t i = 0; i < std::min(t.data.size(), want.size()); ++i) CHECK_NEAR(t.data[i], want[i], tol);
}
}  // namespace

TEST(forward_unary_hand_values) {
  Arg x{{4}, {-2.0f, -0.5f, 0.25f, 3.0f}};
  check_vals(fwd("neg", "{}", {x}), {4}, {2, 0.5f, -0.25f, -3});
  check_vals(fwd("abs", "{}", {x}), {4}, {2, 0.5f, 0.25f, 3});
  check_vals(fwd("square", "{}", {x}), {4}, {4, 0.25f, 0.0625f, 9});
  check_vals(fwd("relu", "{}", {x}), {4}, {0, 0, 0.25f, 3});
  check_vals(fwd("relu", R"({"alpha": 0.1, "max": 2})", {x}), {4}, {-0.2f, -0.05f, 0.25f, 2});
  check_vals(fwd("sign", "{}", {x}), {4}, {-1, -1, 1, 1});
  check_vals(fwd("clip", R"({"min": -1, "max": 1})", {x}), {4}, {-1, -0.5f, 0.25f, 1});
  check_vals(fwd("hard_sigmoid", "{}", {x}), {4}, {0.1f, 0.4f, 0.55f, 1});
  check_vals(fwd("softsign", "{}", {x}), {4}, {-2.0f / 3, -0.5f / 1.5f, 0.25f / 1.25f, 0.75f});
  check_vals(fwd("round", "{}", {Arg{{4}, {0.5f, 1.5f, 2.5f, -0.5f}}}), {4}, {0, 2, 2, -0});  // half to even
  check_vals(fwd("floor", "{}", {x}), {4}, {-2, -1, 0, 3});
  check_vals(fwd("ceil", "{}", {x}), {4}, {-2, -0, 1, 3});
  Arg p{{3}, {0.25f, 1.0f, 4.0f}};
  check_vals(fwd("sqrt", "{}", {p}), {3}, {0.5f, 1, 2});
  check_vals(fwd("log", "{}", {p}), {3}, {-1.3862944f, 0, 1.3862944f});
  check_vals(fwd("log1p", "{}", {p}), {3}, {0.22314355f, 0.69314718f, 1.6094379f});
  check_vals(fwd("exp", "{}", {Arg{{2}, {0, 1}}}), {2}, {1, 2.7182818f});
  check_vals(fwd("sin", "{}", {Arg{{2}, {0, 1.5707963f}}}), {2}, {0, 1});
  check_vals(fwd("cos", "{}", {Arg{{2}, {0, 3.1415927f}}}), {2}, {1, -1});
  check_vals(fwd("sigmoid", "{}", {Arg{{3}, {0, 2, -50}}}), {3}, {0.5f, 0.880797f, 0});
  check_vals(fwd("tanh", "{}", {Arg{{2}, {0, 1}}}), {2}, {0, 0.7615942f});
  check_vals(fwd("elu", "{}", {Arg{{2}, {-1, 2}}}), {2}, {-0.63212056f, 2});
  check_vals(fwd("softplus", "{}", {Arg{{3}, {0, 30, -30}}}), {3}, {0.6931472f, 30, 9.357623e-14f});
  check_vals(fwd("pow_scalar", R"({"exponent": 3})", {p}), {3}, {0.015625f, 1, 64});
  TType t;
  check_vals(fwd("cast", R"({"dtype": "int32"})", {Arg{{3}, {-1.7f, 2.9f, 0.2f}}}, &t), {3}, {-1, 2, 0});
  CHECK(t.dtype == DType::Int32);
  check_vals(fwd("cast", R"({"dtype": "bool"})", {Arg{{3}, {-1.7f, 0, 0.2f}}}, &t), {3}, {1, 0, 1});
  CHECK(t.dtype == DType::Bool);
  check_vals(fwd("logical_not", "{}", {Arg{{2}, {1, 0}, DType::Bool}}), {2}, {0, 1});
  check_vals(fwd("stop_gradient", "{}", {x}), {4}, x.v);
}

TEST(forward_binary_broadcasting_naive_loops) {
  // (2, 3) op (3) and (2, 1) op (1, 3): compare with explicit index loops.
  Arg a{{2, 3}, {1, -2, 3, 4, 5, -6}}, b{{3}, {0.5f, 2, -1}};
  Tensor o = fwd("add", "{}", {a, b});
  CHECK(o.shape == Shape({2, 3}));
  for (int i = 0; i < 2; ++i) for (int j = 0; j < 3; ++j) CHECK_NEAR(o.data[i * 3 + j], a.v[i * 3 + j] + b.v[j], 1e-6);
  Arg c{{2, 1}, {3, -4}}, d{{1, 3}, {1, 2, 4}};
  o = fwd("div", "{}", {c, d});
  for (int i = 0; i < 2; ++i) for (int j = 0; j < 3; ++j) CHECK_NEAR(o.data[i * 3 + j], c.v[i] / d.v[j], 1e-6);
  o = fwd("sub", "{}", {d, c});
  for (int i = 0; i < 2; ++i) for (int j = 0; j < 3; ++j) CHECK_NEAR(o.data[i * 3 + j], d.v[j] - c.v[i], 1e-6);
  check_vals(fwd("mul", "{}", {a, Arg{{}, {2}}}), {2, 3}, {2, -4, 6, 8, 10, -12});
  check_vals(fwd("maximum", "{}", {a, b}), {2, 3}, {1, 2, 3, 4, 5, -1});
  check_vals(fwd("minimum", "{}", {a, b}), {2, 3}, {0.5f, -2, -1, 0.5f, 2, -6});
  check_vals(fwd("pow", "{}", {Arg{{2}, {2, 9}}, Arg{{2}, {3, 0.5f}}}), {2}, {8, 3});
  check_vals(fwd("squared_difference", "{}", {Arg{{2}, {2, 9}}, Arg{{2}, {3, 0.5f}}}), {2}, {1, 72.25f});
  TType t;
  check_vals(fwd("greater", "{}", {a, b}, &t), {2, 3}, {1, 0, 1, 1, 1, 0});
  CHECK(t.dtype == DType::Bool);
  check_vals(fwd("less_equal", "{}", {a, Arg{{}, {3}}}), {2, 3}, {1, 1, 1, 0, 0, 1});
  check_vals(fwd("equal", "{}", {a, Arg{{}, {3}}}), {2, 3}, {0, 0, 1, 0, 0, 0});
  check_vals(fwd("not_equal", "{}", {a, Arg{{}, {3}}}), {2, 3}, {1, 1, 0, 1, 1, 1});
  check_vals(fwd("less", "{}", {a, Arg{{}, {3}}}), {2, 3}, {1, 1, 0, 0, 0, 1});
  check_vals(fwd("greater_equal", "{}", {a, Arg{{}, {3}}}), {2, 3}, {0, 0, 1, 1, 1, 0});
  Arg t1{{2}, {1, 0}, DType::Bool}, t2{{2}, {1, 1}, DType::Bool};
  check_vals(fwd("logical_and", "{}", {t1, t2}), {2}, {1, 0});
  check_vals(fwd("logical_or", "{}", {t1, Arg{{2}, {0, 0}, DType::Bool}}), {2}, {1, 0});
  check_vals(fwd("where", "{}", {Arg{{2, 1}, {1, 0}, DType::Bool}, a, Arg{{}, {0}}}), {2, 3}, {1, -2, 3, 0, 0, 0});
  // dtype promotion: int32 + int32 stays int32, int / int is float
  fwd("add", "{}", {Arg{{1}, {1}, DType::Int32}, Arg{{1}, {2}, DType::Int32}}, &t);
  CHECK(t.dtype == DType::Int32);
  fwd("div", "{}", {Arg{{1}, {1}, DType::Int32}, Arg{{1}, {2}, DType::Int32}}, &t);
  CHECK(t.dtype == DType::Float32);
  CHECK_THROWS(fwd("add", "{}", {Arg{{2, 3}, a.v}, Arg{{2}, {1, 2}}}), "cannot be broadcast");
}

TEST(forward_reductions_naive_loops) {
  // x (2, 3, 2) = 1..12
  Arg x{{2, 3, 2}, {}};
  for (int i = 0; i < 12; ++i) x.v.push_back(static_cast<float>(i + 1) * (i % 3 == 1 ? -1.0f : 1.0f));
  auto at = [&](int i, int j, int k) { return x.v[i * 6 + j * 2 + k]; };
  Tensor s = fwd("sum", R"({"axis": 1})", {x});
  CHECK(s.shape == Shape({2, 2}));
  for (int i = 0; i < 2; ++i) for (int k = 0; k < 2; ++k) {
    float e = 0; for (int j = 0; j < 3; ++j) e += at(i, j, k);
    CHECK_NEAR(s.data[i * 2 + k], e, 1e-5);
  }
  Tensor m = fwd("mean", R"({"axis": [0, 2], "keepdims": true})", {x});
  CHECK(m.shape == Shape({1, 3, 1}));
  for (int j = 0; j < 3; ++j) {
    float e = 0; for (int i = 0; i < 2; ++i) for (int k = 0; k < 2; ++k) e += at(i, j, k);
    CHECK_NEAR(m.data[j], e / 4, 1e-5);
  }
  Tensor mx = fwd("max", R"({"axis": -1})", {x}), mn = fwd("min", R"({"axis": null})", {x});
  for (int i = 0; i < 2; ++i) for (int j = 0; j < 3; ++j) CHECK_NEAR(mx.data[i * 3 + j], std::max(at(i, j, 0), at(i, j, 1)), 0);
  CHECK(mn.shape == Shape({}));
  CHECK_NEAR(mn.data[0], *std::min_element(x.v.begin(), x.v.end()), 0);
  check_vals(fwd("prod", R"({"axis": 0})", {Arg{{2, 2}, {1, 2, 3, -4}}}), {2}, {3, -8});
  check_vals(fwd("any", R"({"axis": 1})", {Arg{{2, 2}, {0, 1, 0, 0}, DType::Bool}}), {2}, {1, 0});
  check_vals(fwd("all", R"({"axis": 1})", {Arg{{2, 2}, {1, 1, 1, 0}, DType::Bool}}), {2}, {1, 0});
  TType t;
  check_vals(fwd("argmax", "{}", {Arg{{2, 3}, {1, 5, 5, -1, -2, -0.5f}}}, &t), {2}, {1, 2});  // ties: first
  CHECK(t.dtype == DType::Int64);
  check_vals(fwd("argmin", R"({"axis": 0})", {Arg{{2, 3}, {1, 5, 5, -1, -2, 7}}}), {3}, {1, 1, 0});
  check_vals(fwd("cumsum", R"({"axis": 0})", {Arg{{3, 2}, {1, 2, 3, 4, 5, 6}}}), {3, 2}, {1, 2, 4, 6, 9, 12});
  // softmax of (1, 2, 3): exp(i) / sum
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  check_vals(fwd("softmax", "{}", {Arg{{1, 3}, {1, 2, 3}}}), {1, 3},
             {float(std::exp(1.0) / z), float(std::exp(2.0) / z), float(std::exp(3.0) / z)});
  check_vals(fwd("log_softmax", "{}", {Arg{{1, 3}, {1, 2, 3}}}), {1, 3},
             {float(1 - std::log(z)), float(2 - std::log(z)), float(3 - std::log(z))}, 1e-5);
  check_vals(fwd("softmax", R"({"axis": 0})", {Arg{{2, 1}, {0, 0}}}), {2, 1}, {0.5f, 0.5f});
}

TEST(forward_shape_ops_hand_values) {
  Arg x{{2, 3}, {1, 2, 3, 4, 5, 6}};
  check_vals(fwd("reshape", R"({"shape": [3, -1]})", {x}), {3, 2}, x.v);
  check_vals(fwd("expand_dims", R"({"axis": -1})", {x}), {2, 3, 1}, x.v);
  check_vals(fwd("squeeze", "{}", {Arg{{1, 3, 1}, {1, 2, 3}}}), {3}, {1, 2, 3});
  check_vals(fwd("transpose", "{}", {x}), {3, 2}, {1, 4, 2, 5, 3, 6});
  // (2, 3, 2) permuted (1, 2, 0): out[j][k][i] = x[i][j][k]
  Arg y{{2, 3, 2}, {}};
  for (int i = 0; i < 12; ++i) y.v.push_back(static_cast<float>(i));
  Tensor tp = fwd("transpose", R"({"perm": [1, 2, 0]})", {y});
  CHECK(tp.shape == Shape({3, 2, 2}));
  for (int i = 0; i < 2; ++i) for (int j = 0; j < 3; ++j) for (int k = 0; k < 2; ++k)
    CHECK_NEAR(tp.data[j * 4 + k * 2 + i], y.v[i * 6 + j * 2 + k], 0);
  check_vals(fwd("concatenate", R"({"axis": 1})", {x, Arg{{2, 1}, {7, 8}}}), {2, 4}, {1, 2, 3, 7, 4, 5, 6, 8});
  check_vals(fwd("concatenate", R"({"axis": 0})", {x, Arg{{1, 3}, {7, 8, 9}}}), {3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  // x[, 2:3] and x[2, ] (R) -> slice
  check_vals(fwd("slice", R"({"axis": [1], "begin": [1], "end": [3]})", {x}), {2, 2}, {2, 3, 5, 6});
  check_vals(fwd("slice", R"({"axis": [0], "begin": [1], "end": [2], "shrink": [0]})", {x}), {3}, {4, 5, 6});
  check_vals(fwd("slice", R"({"axis": [1], "begin": [0], "end": [-1], "step": [2]})", {x}), {2, 2}, {1, 3, 4, 6});
  check_vals(fwd("gather", "{}", {x, Arg{{3}, {1, 0, 1}, DType::Int32}}), {3, 3}, {4, 5, 6, 1, 2, 3, 4, 5, 6});
  CHECK_THROWS(fwd("gather", "{}", {x, Arg{{1}, {2}, DType::Int32}}), "out of range");
  check_vals(fwd("one_hot", R"({"depth": 3})", {Arg{{3}, {2, 0, 5}, DType::Int32}}), {3, 3}, {0, 0, 1, 1, 0, 0, 0, 0, 0});
  check_vals(fwd("tile", R"({"multiples": [1, 2]})", {Arg{{2, 1}, {1, 2}}}), {2, 2}, {1, 1, 2, 2});
  check_vals(fwd("reverse", R"({"axis": [1]})", {x}), {2, 3}, {3, 2, 1, 6, 5, 4});
  check_vals(fwd("reverse", R"({"axis": [0, 1]})", {x}), {2, 3}, {6, 5, 4, 3, 2, 1});
  // in_top_k: row 0 target 1 (0.5 is 2nd largest), row 1 target 0 (tied with 2 others at the top)
  check_vals(fwd("in_top_k", R"({"k": 1})", {Arg{{2, 3}, {0.2f, 0.5f, 0.9f, 0.4f, 0.4f, 0.4f}},
                                             Arg{{2}, {1, 0}, DType::Int64}}), {2}, {0, 1});
  check_vals(fwd("in_top_k", R"({"k": 2})", {Arg{{2, 3}, {0.2f, 0.5f, 0.9f, 0.4f, 0.4f, 0.4f}},
                                             Arg{{2}, {0, 2}, DType::Int64}}), {2}, {0, 1});
  CHECK_THROWS(fwd("reshape", R"({"shape": [4, -1]})", {x}), "cannot reshape");
  CHECK_THROWS(fwd("squeeze", R"({"axis": 0})", {x}), "cannot squeeze");
  CHECK_THROWS(fwd("slice", R"({"axis": [1], "begin": [2], "end": [4]})", {x}), "out of range");
}

TEST(forward_matmul_naive_loops) {
  Rng rng(3);
  auto rnd = [&](Shape s) { Arg a{s, {}}; for (int64_t i = 0; i < shape_numel(s); ++i) a.v.push_back(float(rng.uniform() - 0.5)); return a; };
  Arg A = rnd({2, 3, 4}), B = rnd({4, 5}), Bb = rnd({2, 4, 5});
  Tensor C = fwd("matmul", "{}", {A, B}), Cb = fwd("matmul", "{}", {A, Bb});
  CHECK(C.shape == Shape({2, 3, 5}));
  for (int b = 0; b < 2; ++b) for (int i = 0; i < 3; ++i) for (int j = 0; j < 5; ++j) {
    double s = 0, sb = 0;
    for (int k = 0; k < 4; ++k) {
      s += A.v[b * 12 + i * 4 + k] * B.v[k * 5 + j];
      sb += A.v[b * 12 + i * 4 + k] * Bb.v[b * 20 + k * 5 + j];
    }
    CHECK_NEAR(C.data[b * 15 + i * 5 + j], s, 1e-5);
    CHECK_NEAR(Cb.data[b * 15 + i * 5 + j], sb, 1e-5);
  }
  Arg At = rnd({4, 3}), Bt = rnd({5, 4});
  Tensor Ct = fwd("matmul", R"({"transpose_a": true, "transpose_b": true})", {At, Bt});
  for (int i = 0; i < 3; ++i) for (int j = 0; j < 5; ++j) {
    double s = 0;
    for (int k = 0; k < 4; ++k) s += At.v[k * 3 + i] * Bt.v[j * 4 + k];
    CHECK_NEAR(Ct.data[i * 5 + j], s, 1e-5);
  }
  CHECK_THROWS(fwd("matmul", "{}", {rnd({3, 4}), rnd({3, 4})}), "inner dimensions differ");
}

TEST(shape_inference_with_unknown_dims) {
  auto infer = [](const std::string& op, const std::string& attrs, std::vector<TType> in) {
    OpCode c = op_code(op);
    OpAttrs a = parse_attrs(c, Json::parse(attrs));
    return infer_op(c, a, in).shape;
  };
  CHECK(infer("add", "{}", {{DType::Float32, {-1, 3}}, {DType::Float32, {3}}}) == Shape({-1, 3}));
  CHECK(infer("sum", R"({"axis": 1})", {{DType::Float32, {-1, 3}}}) == Shape({-1}));
  CHECK(infer("mean", R"({"axis": null})", {{DType::Float32, {-1, 3}}}) == Shape({}));
  CHECK(infer("reshape", R"({"shape": [-1, 6]})", {{DType::Float32, {-1, 2, 3}}}) == Shape({-1, 6}));
  CHECK(infer("matmul", "{}", {{DType::Float32, {-1, 4}}, {DType::Float32, {4, 2}}}) == Shape({-1, 2}));
  CHECK(infer("slice", R"({"axis": [1], "begin": [0], "end": [2]})", {{DType::Float32, {-1, 5}}}) == Shape({-1, 2}));
  CHECK_THROWS(infer("matmul", "{}", {{DType::Float32, {-1, 4}}, {DType::Float32, {3, 2}}}), "matmul: inner");
  CHECK_THROWS(infer("sqrt", "{}", {{DType::Int32, {2}}}), "float32");
  CHECK_THROWS(infer("softmax", R"({"axis": 2})", {{DType::Float32, {-1, 3}}}), "out of range");
  CHECK_THROWS(op_code("frobnicate"), "unknown op 'frobnicate'");
}

TEST(random_ops_moments) {
  OpAttrs u = parse_attrs(OpCode::RandomUniform, Json::parse(R"({"shape": [20000], "minval": -1, "maxval": 3, "seed": 5})"));
  OpAttrs g = parse_attrs(OpCode::RandomNormal, Json::parse(R"({"shape": [20000], "mean": 2, "stddev": 0.5, "seed": 5})"));
  Tensor a, b, a2;
  run_op(OpCode::RandomUniform, u, {}, {}, a);
  run_op(OpCode::RandomNormal, g, {}, {}, b);
  OpContext step;
  step.step_key = 99;
  run_op(OpCode::RandomUniform, u, {}, {}, a2, step);
  double ma = 0, mb = 0, vb = 0, lo = 1e9, hi = -1e9;
  for (float v : a.data) { ma += v; lo = std::min<double>(lo, v); hi = std::max<double>(hi, v); }
  for (float v : b.data) mb += v;
  ma /= a.size(); mb /= b.size();
  for (float v : b.data) vb += (v - mb) * (v - mb);
  vb /= b.size();
  CHECK_NEAR(ma, 1.0, 0.05);  // uniform(-1, 3): mean 1
  CHECK(lo >= -1 && hi < 3);
  CHECK_NEAR(mb, 2.0, 0.02);
  CHECK_NEAR(std::sqrt(vb), 0.5, 0.02);
  CHECK(a.data != a2.data);  // another step draws other values
}

KN_TEST_MAIN
