// Real sizes for the non-spatial layers (issue 8): Dense, Dropout, Activation,
// Flatten, Reshape, BatchNormalization, LeakyReLU, the merge layers and
// Embedding, forward and backward at batch sizes 1, 7, 128 and 1000 against
// naive loops written here, plus finite differences (runner in
// test_layer_sizes.h). The spatial layers are in test_layer_sizes.cpp, the
// recurrent ones in test_layer_sizes_seq.cpp (cases in test_layer_sizes_seq.h);
// the coverage test below checks that together they cover the registry.
#include <set>

#include "test_layer_sizes.h"
#include "test_layer_sizes_seq.h"
#include "test_layer_sizes_surface.h"
#include "test_layer_sizes_conv_surface.h"

using namespace kn;
using ls::RefIn;
using ls::RefOut;
using ls::SizeCase;

namespace {

SizeCase make(const std::string& cls, const std::string& config, std::vector<Shape> inputs, ls::RefFn ref) {
  SizeCase c;
  c.cls = cls;
  c.config = config;
  c.inputs = std::move(inputs);
  c.ref = std::move(ref);
  return c;
}

// ---------------------------------------------------------------- Dense
// Applied to the last axis: rows = N * (leading per-sample dims), z = x W + b.
SizeCase dense_case(int64_t units, const std::string& act, bool bias, Shape in) {
  const std::string cfg = "{\"name\": \"d\", \"units\": " + std::to_string(units) + ", \"activation\": \"" + act +
                          "\", \"use_bias\": " + (bias ? "true" : "false") + "}";
  SizeCase c = make("Dense", cfg, {in}, [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];
    const int64_t U = units, K = x.shape.back(), rows = x.size() / K;
    const std::vector<float>& W = ri.params[0].data;  // (K, U)
    RefOut o;
    o.y.assign(rows * U, 0);
    o.y_scale.assign(rows * U, 0);
    o.dx.assign(1, std::vector<double>(x.size(), 0));
    o.dx_scale.assign(1, std::vector<double>(x.size(), 0));
    o.dp.assign(bias ? 2 : 1, std::vector<double>(W.size(), 0));
    o.dp_scale = o.dp;
    if (bias) { o.dp[1].assign(U, 0); o.dp_scale[1].assign(U, 0); }
    std::vector<double> z(U), g(U), y(U), dz(U);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t u = 0; u < U; ++u) {
        z[u] = bias ? ri.params[1].data[u] : 0.0;
        double s = std::fabs(z[u]);
        for (int64_t k = 0; k < K; ++k) {
          z[u] += double(x.data[r * K + k]) * W[k * U + u];
          s += std::fabs(double(x.data[r * K + k]) * W[k * U + u]);
        }
        o.y_scale[r * U + u] = s;
        g[u] = ri.dout.data[r * U + u];
      }
      if (act == "softmax") {
        ls::softmax_row(z.data(), g.data(), U, y.data(), dz.data());
      } else {
        for (int64_t u = 0; u < U; ++u) { y[u] = ls::act_f(act, z[u]); dz[u] = g[u] * ls::act_d(act, z[u]); }
      }
      for (int64_t u = 0; u < U; ++u) {
        o.y[r * U + u] = y[u];
        if (bias) { o.dp[1][u] += dz[u]; o.dp_scale[1][u] += std::fabs(dz[u]); }
        for (int64_t k = 0; k < K; ++k) {
          const double xv = x.data[r * K + k];
          o.dx[0][r * K + k] += dz[u] * W[k * U + u];
          o.dx_scale[0][r * K + k] += std::fabs(dz[u] * W[k * U + u]);
          o.dp[0][k * U + u] += xv * dz[u];
          o.dp_scale[0][k * U + u] += std::fabs(xv * dz[u]);
        }
      }
    }
    return o;
  });
  c.fd_params = act != "relu";
  return c;
}

// ---------------------------------------------------------------- element-wise
SizeCase activation_case(const std::string& act, Shape in) {
  SizeCase c = make("Activation", "{\"name\": \"a\", \"activation\": \"" + act + "\"}", {in}, [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];
    const int64_t C = x.shape.back(), rows = x.size() / C;
    RefOut o;
    o.y.assign(x.size(), 0);
    o.dx.assign(1, std::vector<double>(x.size(), 0));
    std::vector<double> z(C), g(C);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < C; ++j) { z[j] = x.data[r * C + j]; g[j] = ri.dout.data[r * C + j]; }
      if (act == "softmax") {
        ls::softmax_row(z.data(), g.data(), C, &o.y[r * C], &o.dx[0][r * C]);
      } else {
        for (int64_t j = 0; j < C; ++j) {
          o.y[r * C + j] = ls::act_f(act, z[j]);
          o.dx[0][r * C + j] = g[j] * ls::act_d(act, z[j]);
        }
      }
    }
    return o;
  });
  c.kinks = act == "relu" || act == "selu";
  return c;
}

SizeCase leaky_case(double alpha, Shape in) {
  SizeCase c = make("LeakyReLU", "{\"name\": \"l\", \"alpha\": " + std::to_string(alpha) + "}", {in},
                    [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];
    RefOut o;
    o.y.resize(x.size());
    o.dx.assign(1, std::vector<double>(x.size()));
    for (int64_t i = 0; i < x.size(); ++i) {
      const double v = x.data[i], s = v > 0 ? 1.0 : alpha;
      o.y[i] = s * v;
      o.dx[0][i] = s * ri.dout.data[i];
    }
    return o;
  });
  c.kinks = true;
  return c;
}

// Flatten and Reshape keep the row-major order of each sample: y = x, dx = dout.
SizeCase copy_case(const std::string& cls, const std::string& config, Shape in) {
  return make(cls, config, {in}, [](const RefIn& ri) {
    RefOut o;
    o.y = ls::to_d(ri.xs[0]);
    o.dx = {ls::to_d(ri.dout)};
    return o;
  });
}

// Dropout in training: each output is 0 or x / (1 - rate); the mask is random,
// so the reference reads which outputs were kept from the engine's output, and
// checks that about (1 - rate) of them were.
SizeCase dropout_case(double rate, bool training, Shape in) {
  SizeCase c = make("Dropout", "{\"name\": \"dr\", \"rate\": " + std::to_string(rate) + "}", {in},
                    [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];
    const int64_t n = x.size();
    RefOut o;
    o.y.resize(n);
    o.dx.assign(1, std::vector<double>(n));
    int64_t kept = 0;
    for (int64_t i = 0; i < n; ++i) {
      const bool keep = !training || ri.out.data[i] != 0.0f;
      const double s = !training ? 1.0 : keep ? 1.0 / (1.0 - rate) : 0.0;
      kept += keep;
      o.y[i] = s * x.data[i];
      o.dx[0][i] = s * ri.dout.data[i];
    }
    if (training && n >= 1000) {  // binomial(n, 1 - rate) within 5 standard deviations
      const double mean = n * (1 - rate), sd = std::sqrt(n * rate * (1 - rate));
      if (!(std::fabs(kept - mean) <= 5 * sd)) std::printf("  Dropout kept %lld of %lld\n", (long long)kept, (long long)n);
      CHECK(std::fabs(kept - mean) <= 5 * sd);
    }
    return o;
  });
  c.training = training;
  return c;
}

// ---------------------------------------------------------------- BatchNormalization
// Over the last axis, rows = all other positions. Training: batch mean and
// biased variance; inference: moving statistics. Params: [gamma][beta] mm mv.
SizeCase bn_case(bool training, bool center, bool scale, Shape in) {
  const std::string cfg = std::string("{\"name\": \"bn\", \"momentum\": 0.9, \"epsilon\": 0.001, \"center\": ") +
                          (center ? "true" : "false") + ", \"scale\": " + (scale ? "true" : "false") + "}";
  SizeCase c = make("BatchNormalization", cfg, {in}, [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];
    const int64_t C = x.shape.back(), M = x.size() / C;
    const int ig = scale ? 0 : -1, ib = center ? (scale ? 1 : 0) : -1;  // gamma, beta
    const int mm = (scale ? 1 : 0) + (center ? 1 : 0), mv = mm + 1;     // moving mean, variance
    RefOut o;
    o.y.resize(x.size());
    o.dx.assign(1, std::vector<double>(x.size()));
    o.dp.assign(ri.params.size(), std::vector<double>());
    if (ig >= 0) o.dp[ig].assign(C, 0);
    if (ib >= 0) o.dp[ib].assign(C, 0);
    for (int64_t ch = 0; ch < C; ++ch) {
      double mean = ri.params[mm].data[ch], var = ri.params[mv].data[ch];
      if (training) {
        mean = 0; var = 0;
        for (int64_t r = 0; r < M; ++r) mean += x.data[r * C + ch];
        mean /= M;
        for (int64_t r = 0; r < M; ++r) var += (x.data[r * C + ch] - mean) * (x.data[r * C + ch] - mean);
        var /= M;
      }
      const double inv = 1 / std::sqrt(var + 0.001), gam = ig >= 0 ? ri.params[ig].data[ch] : 1.0;
      const double bet = ib >= 0 ? ri.params[ib].data[ch] : 0.0;
      double sdy = 0, sdyx = 0;
      for (int64_t r = 0; r < M; ++r) {
        const double xh = (x.data[r * C + ch] - mean) * inv, g = ri.dout.data[r * C + ch];
        o.y[r * C + ch] = gam * xh + bet;
        sdy += g;
        sdyx += g * xh;
      }
      if (ig >= 0) o.dp[ig][ch] = sdyx;
      if (ib >= 0) o.dp[ib][ch] = sdy;
      for (int64_t r = 0; r < M; ++r) {
        const double xh = (x.data[r * C + ch] - mean) * inv, g = ri.dout.data[r * C + ch];
        o.dx[0][r * C + ch] = training ? gam * inv * (g - sdy / M - xh * sdyx / M) : gam * inv * g;
      }
    }
    return o;
  });
  c.training = training;
  return c;
}

// ---------------------------------------------------------------- merges
enum class Op { Add, Subtract, Multiply, Average, Maximum, Minimum };
SizeCase merge_case(const std::string& cls, Op op, int n_in, Shape in) {
  SizeCase c = make(cls, "{\"name\": \"m\"}", std::vector<Shape>(n_in, in), [=](const RefIn& ri) {
    const int64_t n = ri.xs[0].size();
    RefOut o;
    o.y.resize(n);
    o.dx.assign(n_in, std::vector<double>(n, 0));
    for (int64_t i = 0; i < n; ++i) {
      const double g = ri.dout.data[i];
      double y = ri.xs[0].data[i];
      int win = 0;  // first input holding the max / min
      for (int k = 1; k < n_in; ++k) {
        const double v = ri.xs[k].data[i];
        if (op == Op::Add || op == Op::Average) y += v;
        if (op == Op::Subtract) y -= v;
        if (op == Op::Multiply) y *= v;
        if ((op == Op::Maximum && v > y) || (op == Op::Minimum && v < y)) { y = v; win = k; }
      }
      if (op == Op::Average) y /= n_in;
      o.y[i] = y;
      for (int k = 0; k < n_in; ++k) {
        double d = 0;
        if (op == Op::Add) d = g;
        if (op == Op::Average) d = g / n_in;
        if (op == Op::Subtract) d = k == 0 ? g : -g;
        if (op == Op::Maximum || op == Op::Minimum) d = k == win ? g : 0;
        if (op == Op::Multiply) {
          d = g;
          for (int j = 0; j < n_in; ++j) if (j != k) d *= ri.xs[j].data[i];
        }
        o.dx[k][i] = d;
      }
    }
    return o;
  });
  c.kinks = op == Op::Maximum || op == Op::Minimum;
  return c;
}

// Concatenate along per-sample axis a (Keras axis a + 1, or -1 for the last).
SizeCase concat_case(int keras_axis, std::vector<Shape> ins) {
  const int a = keras_axis < 0 ? static_cast<int>(ins[0].size()) - 1 : keras_axis - 1;
  SizeCase c = make("Concatenate", "{\"name\": \"cat\", \"axis\": " + std::to_string(keras_axis) + "}", ins,
                    [=](const RefIn& ri) {
    int64_t outer = ri.N, inner = 1, width = 0;  // outer: N * dims before a; inner: dims after a
    for (int d = 0; d < a; ++d) outer *= ins[0][d];
    for (size_t d = a + 1; d < ins[0].size(); ++d) inner *= ins[0][d];
    for (auto& s : ins) width += s[a];
    RefOut o;
    o.y.assign(outer * width * inner, 0);
    int64_t off = 0;
    for (size_t k = 0; k < ins.size(); ++k) {
      const int64_t wk = ins[k][a];
      o.dx.emplace_back(ri.xs[k].size(), 0);
      for (int64_t p = 0; p < outer; ++p)
        for (int64_t q = 0; q < wk; ++q)
          for (int64_t e = 0; e < inner; ++e) {
            const int64_t yi = (p * width + off + q) * inner + e, xi = (p * wk + q) * inner + e;
            o.y[yi] = ri.xs[k].data[xi];
            o.dx[k][xi] = ri.dout.data[yi];
          }
      off += wk;
    }
    return o;
  });
  return c;
}

// ---------------------------------------------------------------- Embedding
// y[..., d] = E[x[...], d]; dE[r, d] = sum of dout over the positions holding
// index r; the indices get no gradient (dx = 0).
SizeCase embedding_case(int64_t input_dim, int64_t output_dim, Shape in) {
  const std::string cfg = "{\"name\": \"e\", \"input_dim\": " + std::to_string(input_dim) +
                          ", \"output_dim\": " + std::to_string(output_dim) + "}";
  SizeCase c = make("Embedding", cfg, {in}, [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];                        // (N, ...) indices
    const std::vector<float>& E = ri.params[0].data;   // (input_dim, output_dim)
    const int64_t D = output_dim;
    RefOut o;
    o.y.assign(x.size() * D, 0);                       // (N, ..., D)
    o.dx.assign(1, std::vector<double>(x.size(), 0));
    o.dp.assign(1, std::vector<double>(E.size(), 0));
    o.dp_scale = o.dp;
    for (int64_t i = 0; i < x.size(); ++i) {
      const int64_t r = static_cast<int64_t>(x.data[i]);
      for (int64_t d = 0; d < D; ++d) {
        o.y[i * D + d] = E[r * D + d];
        o.dp[0][r * D + d] += ri.dout.data[i * D + d];
        o.dp_scale[0][r * D + d] += std::fabs(ri.dout.data[i * D + d]);
      }
    }
    return o;
  });
  c.index_range = input_dim;
  return c;
}

const std::vector<SizeCase>& core_cases() {
  static const std::vector<SizeCase> c = [] {
    std::vector<SizeCase> v;
    v.push_back(dense_case(5, "tanh", true, {7}));
    v.push_back(dense_case(4, "softmax", true, {3, 6}));
    v.push_back(dense_case(3, "relu", false, {9}));
    v.push_back(dense_case(1, "sigmoid", true, {13}));
    for (const char* a : {"linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus", "softsign",
                          "hard_sigmoid"})
      v.push_back(activation_case(a, {5, 7}));
    v.push_back(leaky_case(0.2, {13, 11}));
    v.push_back(copy_case("Flatten", R"({"name": "f"})", {13, 11, 2}));
    v.push_back(copy_case("Reshape", R"({"name": "r", "target_shape": [3, -1]})", {6, 5}));
    v.push_back(copy_case("Reshape", R"({"name": "r", "target_shape": [-1]})", {13, 3}));
    v.push_back(dropout_case(0.3, true, {13, 3}));
    v.push_back(dropout_case(0.4, false, {11}));
    v.push_back(bn_case(true, true, true, {13, 11, 3}));
    v.push_back(bn_case(true, true, false, {5, 4}));
    v.push_back(bn_case(false, true, true, {7}));
    v.push_back(bn_case(false, false, true, {13, 11, 2}));
    v.push_back(merge_case("Add", Op::Add, 3, {13, 5}));
    v.push_back(merge_case("Subtract", Op::Subtract, 2, {13, 5}));
    v.push_back(merge_case("Multiply", Op::Multiply, 3, {13, 5}));
    v.push_back(merge_case("Average", Op::Average, 3, {13, 5}));
    v.push_back(merge_case("Maximum", Op::Maximum, 3, {13, 5}));
    v.push_back(merge_case("Minimum", Op::Minimum, 2, {13, 5}));
    v.push_back(concat_case(-1, {{5, 3}, {5, 4}, {5, 1}}));
    v.push_back(concat_case(1, {{2, 3}, {5, 3}}));
    v.push_back(concat_case(2, {{4, 3, 2}, {4, 1, 2}}));
    v.push_back(embedding_case(11, 4, {5}));
    v.push_back(embedding_case(3, 2, {4, 3}));
    return v;
  }();
  return c;
}

// Covered by test_layer_sizes.cpp.
const std::set<std::string> kSpatial = {"Conv2D", "Conv1D", "ZeroPadding2D", "MaxPooling2D",
                                        "AveragePooling2D", "MaxPooling1D", "GlobalMaxPooling2D",
                                        "GlobalAveragePooling2D"};

}  // namespace

TEST(every_registered_layer_has_a_size_case) {
  std::set<std::string> covered(kSpatial);
  for (auto& c : core_cases()) covered.insert(c.cls);
  for (auto& c : ls::seq_cases()) covered.insert(c.cls);
  for (auto& c : ls::surface_cases()) covered.insert(c.cls);
  for (auto& c : ls::conv_surface_cases()) covered.insert(c.cls);
  for (auto& name : registered_layers()) {
    if (!covered.count(name)) std::printf("  no real-size case for layer class %s\n", name.c_str());
    CHECK(covered.count(name) == 1);
  }
}

TEST(core_layers_at_batch_1_7_128_1000_match_naive_loops) { ls::run_cases(core_cases()); }

// Backward reads what its forward left in the node's Scratch: a backward whose
// forward ran at another batch size (or not at all) is an error, not a read
// past the end of the mask / indices.
TEST(backward_without_a_matching_forward_is_an_error) {
  Rng rng(1);
  for (const char* cls : {"Dropout", "MaxPooling2D"}) {
    LayerPtr l = make_layer(cls, Json::parse(std::string(cls) == "Dropout" ? R"({"name": "x", "rate": 0.5})"
                                                                           : R"({"name": "x"})"));
    const Shape os = l->build({{4, 4, 2}}, rng);
    Tensor x7({7, 4, 4, 2}), y7({7, os[0], os[1], os[2]}), x9({9, 4, 4, 2}), y9({9, os[0], os[1], os[2]});
    Tensor dx9(x9.shape);
    Scratch sc;
    RunContext ctx;
    ctx.training = true;
    ctx.scratch = &sc;
    l->forward(ctx, {&x7}, y7);
    CHECK_THROWS(l->backward(ctx, {&x9}, y9, y9, {&dx9}), "without a matching forward");
  }
}

KN_TEST_MAIN
