// Shared runner of the real-size layer tests (test_layer_sizes.cpp: spatial
// layers; test_layer_sizes_core.cpp: the others). For each case and batch size
// it builds the registered layer, runs forward and backward on random data and
// compares the output, the input gradients and the parameter gradients with a
// reference the test computes itself in naive double-precision loops (never
// the engine's code paths); then it checks a few input and parameter gradients
// by central finite differences of forward(), as test_gradcheck.cpp does.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "harness.h"
#include "layer.h"
#include "parallel.h"

namespace ls {
using kn::Shape;
using kn::Tensor;

// What a reference sees: copies taken before the engine ran.
struct RefIn {
  int64_t N = 0;
  std::vector<Tensor> xs;      // (N, ...) per input
  std::vector<Tensor> params;  // parameter values in Keras order
  Tensor dout;                 // (N, ...) upstream gradient, shaped as the output
  Tensor out;                  // the engine's output: only Dropout's reference reads it (random mask)
};

// Reference results. *_scale (optional, same length) is the sum of the absolute
// values of the terms behind each value: the float tolerance grows with it.
// An empty dp[k] means parameter k is not compared (non-trainable).
struct RefOut {
  std::vector<double> y, y_scale;
  std::vector<std::vector<double>> dx, dx_scale;
  std::vector<std::vector<double>> dp, dp_scale;
};
using RefFn = std::function<RefOut(const RefIn&)>;

struct SizeCase {
  std::string cls, config;     // registry name and JSON config
  std::vector<Shape> inputs;   // per-sample input shapes
  RefFn ref;
  bool training = false;
  bool kinks = false;          // move FD points away from ties and zero (max, min, relu)
  int fd_points = 3;           // finite-difference points per input and per parameter
  bool fd_params = true;       // false for ReLU layers: a parameter step moves every
                               // pre-activation of the batch, so some cross the kink
  int64_t index_range = 0;     // > 0: inputs are integer indices in [0, index_range)
                               // (Embedding): no finite differences on them
  std::vector<int64_t> batches = {1, 7, 128, 1000};
};

// ---- naive activations in double (Keras 2.2 definitions), from the pre-activation z
inline double act_f(const std::string& a, double z) {
  const double sa = 1.6732632423543772, ss = 1.0507009873554805;
  if (a == "relu") return z > 0 ? z : 0;
  if (a == "tanh") return std::tanh(z);
  if (a == "sigmoid") return 1 / (1 + std::exp(-z));
  if (a == "elu") return z > 0 ? z : std::exp(z) - 1;
  if (a == "selu") return ss * (z > 0 ? z : sa * (std::exp(z) - 1));
  if (a == "softplus") return std::log(1 + std::exp(z));
  if (a == "softsign") return z / (1 + std::fabs(z));
  if (a == "hard_sigmoid") return std::min(1.0, std::max(0.0, 0.2 * z + 0.5));
  return z;  // linear
}
inline double act_d(const std::string& a, double z) {  // d act_f / dz
  const double sa = 1.6732632423543772, ss = 1.0507009873554805;
  if (a == "relu") return z > 0 ? 1 : 0;
  if (a == "tanh") return 1 - std::tanh(z) * std::tanh(z);
  if (a == "sigmoid") { const double s = 1 / (1 + std::exp(-z)); return s * (1 - s); }
  if (a == "elu") return z > 0 ? 1 : std::exp(z);
  if (a == "selu") return z > 0 ? ss : ss * sa * std::exp(z);
  if (a == "softplus") return 1 / (1 + std::exp(-z));
  if (a == "softsign") return 1 / ((1 + std::fabs(z)) * (1 + std::fabs(z)));
  if (a == "hard_sigmoid") return (0.2 * z + 0.5 > 0 && 0.2 * z + 0.5 < 1) ? 0.2 : 0;
  return 1;
}
// Softmax of one row z (n values) and its vector-Jacobian product with g.
inline void softmax_row(const double* z, const double* g, int64_t n, double* y, double* dz) {
  double m = z[0], s = 0, gy = 0;
  for (int64_t i = 1; i < n; ++i) m = std::max(m, z[i]);
  for (int64_t i = 0; i < n; ++i) { y[i] = std::exp(z[i] - m); s += y[i]; }
  for (int64_t i = 0; i < n; ++i) { y[i] /= s; gy += g[i] * y[i]; }
  for (int64_t i = 0; i < n; ++i) dz[i] = y[i] * (g[i] - gy);
}

inline std::vector<double> to_d(const Tensor& t) { return std::vector<double>(t.data.begin(), t.data.end()); }

// Compares got (float) with ref; tolerance rtol * max(|ref|, scale, 1) . Prints
// the first few mismatches; returns their number.
inline int compare(const std::string& what, const Tensor& got, const std::vector<double>& ref,
                   const std::vector<double>& scale, double rtol) {
  if (static_cast<int64_t>(ref.size()) != got.size()) {
    std::printf("  %s: reference has %zu values, engine %lld\n", what.c_str(), ref.size(),
                static_cast<long long>(got.size()));
    return 1;
  }
  int bad = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double s = std::max({std::fabs(ref[i]), scale.empty() ? 0.0 : scale[i], 1.0});
    if (!(std::fabs(got.data[i] - ref[i]) <= rtol * s)) {
      if (bad < 3) std::printf("  %s[%zu]: engine %.8g, reference %.8g\n", what.c_str(), i, got.data[i], ref[i]);
      ++bad;
    }
  }
  return bad;
}

// sum(out * R) after a fresh forward (the finite-difference loss).
inline double fd_loss(kn::Layer& l, const std::vector<Tensor>& xs, const Tensor& R, bool training) {
  std::vector<const Tensor*> in;
  for (auto& x : xs) in.push_back(&x);
  Tensor out(R.shape);
  kn::Scratch sc;
  kn::RunContext ctx;
  ctx.training = training;
  ctx.step_key = 99;
  ctx.scratch = &sc;
  l.forward(ctx, in, out);
  double s = 0;
  for (int64_t i = 0; i < out.size(); ++i) s += static_cast<double>(out.data[i]) * R.data[i];
  return s;
}

// Moves x[i] (of sample n) to the middle of the widest gap between the other
// values of that sample (all inputs), 0 and +-1, so a +-eps step changes no
// max/min winner and crosses no ReLU kink. Returns false if the gap is too narrow.
inline bool separate(std::vector<Tensor>& xs, size_t k, int64_t i, int64_t N, double margin) {
  std::vector<double> v = {-1.0, 0.0, 1.0};
  const int64_t per_k = xs[k].size() / N, n = i / per_k;
  for (size_t q = 0; q < xs.size(); ++q) {
    const int64_t per = xs[q].size() / N;
    for (int64_t e = n * per; e < (n + 1) * per; ++e)
      if (!(q == k && e == i)) v.push_back(xs[q].data[e]);
  }
  std::sort(v.begin(), v.end());
  double best = 0, mid = 0;
  for (size_t e = 1; e < v.size(); ++e)
    if (v[e] <= 1.0 && v[e - 1] >= -1.0 && v[e] - v[e - 1] > best) { best = v[e] - v[e - 1]; mid = 0.5 * (v[e] + v[e - 1]); }
  xs[k].data[i] = static_cast<float>(mid);
  return best >= 2 * margin;
}

// Runs one case at batch N; returns the number of mismatches.
inline int run_case(const SizeCase& c, int64_t N, uint64_t seed, double rtol = 1e-4) {
  kn::LayerPtr l = kn::make_layer(c.cls, kn::Json::parse(c.config));
  kn::Rng rng(seed);
  const Shape os = l->build(c.inputs, rng);
  std::vector<Tensor> xs;
  for (auto& s : c.inputs) {
    Shape full = s;
    full.insert(full.begin(), N);
    xs.emplace_back(full);
    for (auto& v : xs.back().data)
      v = c.index_range > 0 ? static_cast<float>(std::min(c.index_range - 1, static_cast<int64_t>(rng.uniform() * c.index_range)))
                            : static_cast<float>(rng.uniform() * 2 - 1);
  }
  for (auto& p : l->params) {  // gamma / variances positive, the rest around 0
    const bool pos = p.name == "gamma" || p.name == "moving_variance";
    for (auto& v : p.value.data) v = static_cast<float>(pos ? 0.5 + rng.uniform() : rng.uniform() - 0.5);
  }
  const double eps = 2e-3;
  // Finite-difference points, chosen (and separated) before anything runs.
  std::vector<std::pair<size_t, int64_t>> fd_in;
  for (size_t k = 0; k < xs.size() && c.index_range == 0; ++k)
    for (int q = 0; q < c.fd_points; ++q) {
      const int64_t i = q == 0 ? xs[k].size() - 1 : static_cast<int64_t>(rng.below(xs[k].size()));
      if (c.kinks && !separate(xs, k, i, N, 3 * eps)) { std::printf("  no gap for an FD point\n"); continue; }
      fd_in.emplace_back(k, i);
    }
  Shape ofull = os;
  ofull.insert(ofull.begin(), N);
  RefIn ri;
  ri.N = N;
  ri.xs = xs;
  for (auto& p : l->params) ri.params.push_back(p.value);
  ri.dout = Tensor(ofull);
  for (auto& v : ri.dout.data) v = static_cast<float>(rng.uniform() * 2 - 1);

  // Engine: forward, then backward with every input gradient wanted.
  Tensor out(ofull);
  kn::Scratch sc;
  kn::RunContext ctx;
  ctx.training = c.training;
  ctx.step_key = 99;
  ctx.scratch = &sc;
  std::vector<const Tensor*> in;
  for (auto& x : xs) in.push_back(&x);
  l->forward(ctx, in, out);
  std::vector<Tensor> dxs;
  for (auto& x : xs) dxs.emplace_back(x.shape);
  std::vector<Tensor*> din;
  for (auto& d : dxs) din.push_back(&d);
  for (auto& p : l->params) p.grad = Tensor(p.value.shape);
  l->backward(ctx, in, out, ri.dout, din);

  ri.out = out;
  const RefOut ro = c.ref(ri);
  const std::string tag = c.cls + " N=" + std::to_string(N);
  int bad = compare(tag + " output", out, ro.y, ro.y_scale, rtol);
  for (size_t k = 0; k < xs.size(); ++k)
    bad += compare(tag + " dx" + std::to_string(k), dxs[k], ro.dx.at(k),
                   k < ro.dx_scale.size() ? ro.dx_scale[k] : std::vector<double>(), rtol);
  for (size_t p = 0; p < l->params.size(); ++p) {
    if (p >= ro.dp.size() || ro.dp[p].empty()) continue;
    bad += compare(tag + " d" + l->params[p].name, l->params[p].grad, ro.dp[p],
                   p < ro.dp_scale.size() ? ro.dp_scale[p] : std::vector<double>(), rtol);
  }

  // Finite differences of the engine's forward vs its backward.
  auto fd = [&](const char* what, float& v, double analytic) {
    const float old = v;
    v = old + static_cast<float>(eps);
    const double lp = fd_loss(*l, xs, ri.dout, c.training);
    v = old - static_cast<float>(eps);
    const double lm = fd_loss(*l, xs, ri.dout, c.training);
    v = old;
    const double num = (lp - lm) / (2 * eps);
    if (!(std::fabs(num - analytic) <= 2e-2 * std::max(1.0, std::fabs(num)))) {
      std::printf("  %s FD %s: numeric %.6f, backward %.6f\n", tag.c_str(), what, num, analytic);
      ++bad;
    }
  };
  for (auto& [k, i] : fd_in) fd("input", xs[k].data[i], dxs[k].data[i]);
  for (auto& p : l->params) {
    if (!c.fd_params || !p.trainable || !l->trainable) continue;
    for (int q = 0; q < c.fd_points; ++q) {
      const int64_t j = static_cast<int64_t>(rng.below(p.value.size()));
      fd(p.name.c_str(), p.value.data[j], p.grad.data[j]);
    }
  }
  return bad;
}

// Runs every case at each of its batch sizes with 2 threads; prints timings.
inline void run_cases(const std::vector<SizeCase>& cases) {
  kn::set_num_threads(2);
  uint64_t seed = 1;
  for (auto& c : cases) {
    const auto t0 = std::chrono::steady_clock::now();
    int bad = 0;
    for (int64_t N : c.batches) bad += run_case(c, N, seed++);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("  %-22s %-70.70s %.2f s\n", c.cls.c_str(), c.config.c_str(), sec);
    if (bad) std::printf("  %s %s: %d mismatches\n", c.cls.c_str(), c.config.c_str(), bad);
    CHECK(bad == 0);
  }
}

}  // namespace ls
