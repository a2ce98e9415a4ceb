// g++ -std=c++17 -O2 -Wall -Isrc/core -Isrc/kernels -Isrc/nn -Isrc/data -Isrc/formats tests/cpp/test_conv.cpp src/nn/layers_conv.cpp src/nn/layers_pooling.cpp src/nn/layers_norm.cpp src/nn/layers_reshape.cpp src/nn/layer.cpp src/core/json.cpp src/nn/activations.cpp src/nn/initializers.cpp src/kernels/gemm.cpp src/core/parallel.cpp -pthread -o /tmp/test_conv
//
// Tests for the convolution-family layers (Conv2D, Conv1D, ZeroPadding2D,
// pooling, BatchNormalization, LeakyReLU, Reshape). Forward values are checked
// against direct-loop references written here (double precision, TF padding
// derived from the Keras/TF formulas), gradients against double-precision
// central finite differences of L = sum(out * R), BatchNormalization against
// values worked out by hand.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "harness.h"
#include "layer.h"
#include "parallel.h"

using namespace kn;

namespace {

Json obj(std::initializer_list<std::pair<const char*, Json>> kv) {
  Json o = Json::object();
  for (auto& p : kv) o.set(p.first, p.second);
  return o;
}
Json ints(std::initializer_list<int64_t> v) { return json_ints(std::vector<int64_t>(v)); }

void fill_uniform(Tensor& t, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Rng r(seed);
  for (auto& v : t.data) v = lo + (hi - lo) * static_cast<float>(r.uniform());
}

Shape with_batch(int64_t n, const Shape& s) {
  Shape b{n};
  b.insert(b.end(), s.begin(), s.end());
  return b;
}

// A layer with its own scratch, built for one per-sample input shape.
struct Harness {
  LayerPtr L;
  Scratch sc;
  Rng rng{1234};
  Shape out_shape;
  Harness(LayerPtr l, const Shape& in) : L(std::move(l)) { out_shape = L->build({in}, rng); }
  Tensor fwd(const Tensor& x, bool training = false) {
    Tensor y(with_batch(x.shape[0], out_shape));
    RunContext ctx;
    ctx.training = training;
    ctx.scratch = &sc;
    L->forward(ctx, {&x}, y);
    return y;
  }
  // Zeroes param grads, returns dx (or empty when !want_dx).
  Tensor bwd(const Tensor& x, const Tensor& y, const Tensor& dy, bool training = false, bool want_dx = true) {
    for (auto& p : L->params) p.grad.zero();
    Tensor dx(x.shape);
    RunContext ctx;
    ctx.training = training;
    ctx.scratch = &sc;
    L->backward(ctx, {&x}, y, dy, {want_dx ? &dx : nullptr});
    return dx;
  }
};

// ---- independent references (double precision, direct loops) ----

struct Pad1 { int64_t out, before; };
Pad1 tf_pad(int64_t in, int64_t k, int64_t s, int64_t d, const std::string& padding) {
  const int64_t ext = (k - 1) * d + 1;
  if (padding == "valid") return {(in - ext) / s + 1, 0};
  if (padding == "causal") return {(in + s - 1) / s, ext - 1};
  const int64_t out = (in + s - 1) / s;
  const int64_t total = std::max<int64_t>((out - 1) * s + ext - in, 0);
  return {out, total / 2};
}

double act_ref(const std::string& a, double z) {
  if (a == "relu") return z > 0 ? z : 0;
  if (a == "tanh") return std::tanh(z);
  return z;
}

// x (N, H, W, C), kernel (KH, KW, C, F), bias (F) -> (N, OH, OW, F)
std::vector<double> conv2d_ref(const Tensor& x, const Tensor& k, const Tensor* b, int64_t sh, int64_t sw,
                               int64_t dh, int64_t dw, const std::string& pad, const std::string& act,
                               Shape& out_shape) {
  const int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3];
  const int64_t KH = k.shape[0], KW = k.shape[1], F = k.shape[3];
  Pad1 ph = tf_pad(H, KH, sh, dh, pad), pw = tf_pad(W, KW, sw, dw, pad);
  out_shape = {N, ph.out, pw.out, F};
  std::vector<double> y(N * ph.out * pw.out * F);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < ph.out; ++oh)
      for (int64_t ow = 0; ow < pw.out; ++ow)
        for (int64_t f = 0; f < F; ++f) {
          double s = b ? b->data[f] : 0.0;
          for (int64_t i = 0; i < KH; ++i)
            for (int64_t j = 0; j < KW; ++j) {
              const int64_t ih = oh * sh - ph.before + i * dh, iw = ow * sw - pw.before + j * dw;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              for (int64_t c = 0; c < C; ++c)
                s += double(x.data[((n * H + ih) * W + iw) * C + c]) * k.data[((i * KW + j) * C + c) * F + f];
            }
          y[((n * ph.out + oh) * pw.out + ow) * F + f] = act_ref(act, s);
        }
  return y;
}

// x (N, H, W, C) -> (N, OH, OW, C); padded cells ignored (max) / not counted (avg)
std::vector<double> pool2d_ref(const Tensor& x, bool is_max, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                               const std::string& pad, Shape& out_shape) {
  const int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3];
  Pad1 ph = tf_pad(H, kh, sh, 1, pad), pw = tf_pad(W, kw, sw, 1, pad);
  out_shape = {N, ph.out, pw.out, C};
  std::vector<double> y;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < ph.out; ++oh)
      for (int64_t ow = 0; ow < pw.out; ++ow)
        for (int64_t c = 0; c < C; ++c) {
          double best = -1e300, sum = 0;
          int cnt = 0;
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t ih = oh * sh - ph.before + i, iw = ow * sw - pw.before + j;
              if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
              const double v = x.data[((n * H + ih) * W + iw) * C + c];
              best = std::max(best, v);
              sum += v;
              ++cnt;
            }
          y.push_back(is_max ? best : sum / cnt);
        }
  return y;
}

double max_abs_diff(const Tensor& a, const std::vector<double>& b) {
  if (static_cast<size_t>(a.size()) != b.size()) return 1e30;
  double m = 0;
  for (size_t i = 0; i < b.size(); ++i) m = std::max(m, std::fabs(a.data[i] - b[i]));
  return m;
}

// ---- finite-difference gradient check ----
// L = sum(out * R) with fixed random R. Checks dL/dx and dL/d(trainable params)
// against central differences (losses accumulated in double).
struct GradOpts {
  double eps = 1e-2;
  double atol = 2e-3, rtol = 1e-2;
  bool training = false;
  bool check_input = true;
};

double loss_of(Harness& h, const Tensor& x, const Tensor& R, bool training) {
  Tensor y = h.fwd(x, training);
  double s = 0;
  for (int64_t i = 0; i < y.size(); ++i) s += double(y.data[i]) * R.data[i];
  return s;
}

int gradcheck(Harness& h, Tensor x, const GradOpts& o, const char* what) {
  Tensor y0 = h.fwd(x, o.training);
  Tensor R(y0.shape);
  fill_uniform(R, 99);
  // Moving statistics change in training forward; snapshot all params to restore.
  std::vector<Tensor> saved;
  for (auto& p : h.L->params) saved.push_back(p.value);
  auto restore_nontrainable = [&]() {
    for (size_t i = 0; i < saved.size(); ++i)
      if (!h.L->params[i].trainable) h.L->params[i].value = saved[i];
  };
  Tensor y = h.fwd(x, o.training);
  Tensor dx = h.bwd(x, y, R, o.training, o.check_input);
  std::vector<Tensor> pgrad;
  for (auto& p : h.L->params) pgrad.push_back(p.grad);
  int bad = 0;
  auto cmp = [&](double a, double n, const std::string& where) {
    if (std::fabs(a - n) > o.atol + o.rtol * std::fabs(n)) {
      if (bad < 5) std::printf("  gradcheck %s %s: analytic %.6g numeric %.6g\n", what, where.c_str(), a, n);
      ++bad;
    }
  };
  if (o.check_input)
    for (int64_t i = 0; i < x.size(); ++i) {
      const float v = x.data[i];
      x.data[i] = static_cast<float>(v + o.eps);
      double lp = loss_of(h, x, R, o.training);
      x.data[i] = static_cast<float>(v - o.eps);
      double lm = loss_of(h, x, R, o.training);
      x.data[i] = v;
      restore_nontrainable();
      cmp(dx.data[i], (lp - lm) / (2 * o.eps), "dx[" + std::to_string(i) + "]");
    }
  for (size_t k = 0; k < h.L->params.size(); ++k) {
    if (!h.L->params[k].trainable) continue;
    Tensor& pv = h.L->params[k].value;
    for (int64_t i = 0; i < pv.size(); ++i) {
      const float v = pv.data[i];
      pv.data[i] = static_cast<float>(v + o.eps);
      double lp = loss_of(h, x, R, o.training);
      pv.data[i] = static_cast<float>(v - o.eps);
      double lm = loss_of(h, x, R, o.training);
      pv.data[i] = v;
      restore_nontrainable();
      cmp(pgrad[k].data[i], (lp - lm) / (2 * o.eps), h.L->params[k].name + "[" + std::to_string(i) + "]");
    }
  }
  if (bad) std::printf("  gradcheck %s: %d mismatches\n", what, bad);
  return bad;
}

// Distinct values spaced by `gap`, shuffled: keeps max-pooling away from ties.
void fill_distinct(Tensor& t, uint64_t seed, float gap = 0.01f) {
  std::vector<int64_t> perm(t.size());
  std::iota(perm.begin(), perm.end(), 0);
  Rng r(seed);
  for (int64_t i = t.size() - 1; i > 0; --i) std::swap(perm[i], perm[r.below(i + 1)]);
  for (int64_t i = 0; i < t.size(); ++i) t.data[i] = (perm[i] - t.size() / 2) * gap;
}

Json conv2d_cfg(int64_t filters, Json kernel, Json strides, const char* pad, Json dil, const char* act) {
  return obj({{"name", "conv2d_1"}, {"filters", Json(filters)}, {"kernel_size", kernel}, {"strides", strides},
              {"padding", pad}, {"dilation_rate", dil}, {"activation", act}});
}

void randomize_params(Layer& L, uint64_t seed) {
  for (size_t k = 0; k < L.params.size(); ++k) fill_uniform(L.params[k].value, seed + k, -0.5f, 0.5f);
}

}  // namespace

// ---------------------------------------------------------------- Conv2D forward
TEST(conv2d_forward_matches_reference) {
  struct Case { int64_t N, H, W, C, F, kh, kw, sh, sw, dh, dw; const char* pad; const char* act; };
  const Case cases[] = {
      {2, 7, 6, 3, 4, 3, 3, 1, 1, 1, 1, "valid", "linear"},
      {2, 7, 6, 3, 4, 3, 3, 2, 2, 1, 1, "same", "linear"},
      {3, 8, 5, 2, 3, 3, 2, 2, 1, 1, 1, "SAME", "relu"},
      {2, 9, 9, 2, 3, 3, 3, 1, 1, 2, 2, "valid", "linear"},
      {2, 9, 8, 2, 3, 3, 3, 1, 1, 2, 2, "same", "tanh"},
      {2, 5, 5, 1, 6, 5, 5, 1, 1, 1, 1, "same", "linear"},
      {2, 4, 4, 3, 5, 1, 1, 1, 1, 1, 1, "valid", "linear"},   // 1x1: identity im2col path
      {37, 6, 7, 3, 5, 2, 3, 3, 2, 1, 1, "same", "relu"},    // many tasks, odd sizes
      {20, 11, 10, 4, 7, 4, 4, 2, 3, 1, 1, "valid", "linear"},
  };
  for (const Case& c : cases) {
    Json cfg = conv2d_cfg(c.F, ints({c.kh, c.kw}), ints({c.sh, c.sw}), c.pad, ints({c.dh, c.dw}), c.act);
    Harness h(make_layer("Conv2D", cfg), {c.H, c.W, c.C});
    randomize_params(*h.L, 11);
    Tensor x({c.N, c.H, c.W, c.C});
    fill_uniform(x, 5);
    Tensor y = h.fwd(x);
    Shape ref_shape;
    std::string pad = c.pad;
    std::transform(pad.begin(), pad.end(), pad.begin(), ::tolower);
    auto ref = conv2d_ref(x, h.L->params[0].value, &h.L->params[1].value, c.sh, c.sw, c.dh, c.dw, pad, c.act,
                          ref_shape);
    CHECK(y.shape == ref_shape);
    CHECK(with_batch(c.N, h.out_shape) == ref_shape);
    CHECK_NEAR(max_abs_diff(y, ref), 0.0, 1e-5);
  }
}

TEST(conv2d_no_bias_and_kernel_shape) {
  Json cfg = conv2d_cfg(4, Json(3), Json(1), "valid", Json(1), "linear");
  cfg.set("use_bias", false);
  Harness h(make_layer("Conv2D", cfg), {6, 6, 2});
  CHECK(h.L->params.size() == 1);
  CHECK(h.L->params[0].name == "kernel");
  CHECK((h.L->params[0].value.shape == Shape{3, 3, 2, 4}));
  CHECK((h.out_shape == Shape{4, 4, 4}));
  // glorot_uniform: limit sqrt(6 / (fan_in + fan_out)) = sqrt(6 / (18 + 36))
  const double limit = std::sqrt(6.0 / (18 + 36));
  float mx = 0;
  for (float v : h.L->params[0].value.data) mx = std::max(mx, std::fabs(v));
  CHECK(mx <= limit && mx > 0.5 * limit);
  Tensor x({2, 6, 6, 2});
  fill_uniform(x, 3);
  Tensor y = h.fwd(x);
  Shape rs;
  auto ref = conv2d_ref(x, h.L->params[0].value, nullptr, 1, 1, 1, 1, "valid", "linear", rs);
  CHECK_NEAR(max_abs_diff(y, ref), 0.0, 1e-5);
}

TEST(conv2d_hand_values) {
  // 3x3 input 1..9, 2x2 kernel [[1, 0], [0, -1]], bias 0.5, valid:
  // out(i, j) = x(i, j) - x(i+1, j+1) + 0.5 = -4 + 0.5 everywhere.
  Harness h(make_layer("Conv2D", conv2d_cfg(1, Json(2), Json(1), "valid", Json(1), "linear")), {3, 3, 1});
  h.L->params[0].value.data = {1, 0, 0, -1};
  h.L->params[1].value.data = {0.5f};
  Tensor x({1, 3, 3, 1});
  for (int i = 0; i < 9; ++i) x.data[i] = float(i + 1);
  Tensor y = h.fwd(x);
  CHECK((y.shape == Shape{1, 2, 2, 1}));
  for (float v : y.data) CHECK_NEAR(v, -3.5, 1e-6);
  // same padding, stride 2 on 3x3 with 2x2 kernel: out 2x2, pad_total = 1 -> 0 before, 1 after.
  Harness h2(make_layer("Conv2D", conv2d_cfg(1, Json(2), Json(2), "same", Json(1), "linear")), {3, 3, 1});
  h2.L->params[0].value.data = {1, 1, 1, 1};
  h2.L->params[1].value.data = {0};
  Tensor y2 = h2.fwd(x);
  CHECK((y2.shape == Shape{1, 2, 2, 1}));
  // windows: rows {0,1} x cols {0,1}: 1+2+4+5 = 12; rows {0,1} x col {2}: 3+6 = 9;
  // row {2} x cols {0,1}: 7+8 = 15; row {2} x col {2}: 9.
  CHECK_NEAR(y2.data[0], 12, 1e-6);
  CHECK_NEAR(y2.data[1], 9, 1e-6);
  CHECK_NEAR(y2.data[2], 15, 1e-6);
  CHECK_NEAR(y2.data[3], 9, 1e-6);
}

// ---------------------------------------------------------------- Conv1D forward
TEST(conv1d_forward_matches_reference) {
  struct Case { int64_t N, L, C, F, k, s, d; const char* pad; };
  const Case cases[] = {{2, 9, 3, 4, 3, 1, 1, "valid"}, {2, 9, 3, 4, 3, 2, 1, "same"},
                        {3, 10, 2, 3, 3, 1, 2, "causal"}, {2, 8, 2, 3, 2, 1, 3, "same"},
                        {2, 7, 1, 2, 4, 3, 1, "causal"}};
  for (const Case& c : cases) {
    Json cfg = obj({{"name", "conv1d_1"}, {"filters", Json(c.F)}, {"kernel_size", Json(c.k)},
                    {"strides", Json(c.s)}, {"padding", c.pad}, {"dilation_rate", Json(c.d)}});
    Harness h(make_layer("Conv1D", cfg), {c.L, c.C});
    randomize_params(*h.L, 21);
    CHECK((h.L->params[0].value.shape == Shape{c.k, c.C, c.F}));
    Tensor x({c.N, c.L, c.C});
    fill_uniform(x, 8);
    Tensor y = h.fwd(x);
    // reference: 1-D direct loops
    Pad1 p = tf_pad(c.L, c.k, c.s, c.d, c.pad);
    CHECK((y.shape == Shape{c.N, p.out, c.F}));
    std::vector<double> ref;
    const Tensor& K = h.L->params[0].value;  // (k, C, F)
    for (int64_t n = 0; n < c.N; ++n)
      for (int64_t o = 0; o < p.out; ++o)
        for (int64_t f = 0; f < c.F; ++f) {
          double s = h.L->params[1].value.data[f];
          for (int64_t i = 0; i < c.k; ++i) {
            const int64_t t = o * c.s - p.before + i * c.d;
            if (t < 0 || t >= c.L) continue;
            for (int64_t ch = 0; ch < c.C; ++ch) s += double(x.data[(n * c.L + t) * c.C + ch]) * K.data[(i * c.C + ch) * c.F + f];
          }
          ref.push_back(s);
        }
    CHECK_NEAR(max_abs_diff(y, ref), 0.0, 1e-5);
  }
}

// ---------------------------------------------------------------- pooling forward
TEST(pooling2d_forward_matches_reference) {
  struct Case { bool is_max; int64_t N, H, W, C, kh, kw, sh, sw; const char* pad; };
  const Case cases[] = {
      {true, 2, 6, 6, 3, 2, 2, 2, 2, "valid"}, {true, 2, 7, 5, 3, 2, 2, 2, 2, "valid"},
      {true, 2, 7, 5, 3, 3, 2, 2, 1, "same"},  {true, 2, 7, 7, 2, 3, 3, 3, 3, "same"},
      {false, 2, 6, 6, 3, 2, 2, 2, 2, "valid"}, {false, 2, 7, 5, 3, 3, 2, 2, 1, "same"},
      {false, 2, 7, 7, 2, 3, 3, 1, 1, "same"}, {false, 3, 5, 8, 2, 2, 3, 3, 2, "valid"},
  };
  for (const Case& c : cases) {
    Json cfg = obj({{"name", "pool"}, {"pool_size", ints({c.kh, c.kw})}, {"strides", ints({c.sh, c.sw})},
                    {"padding", c.pad}});
    Harness h(make_layer(c.is_max ? "MaxPooling2D" : "AveragePooling2D", cfg), {c.H, c.W, c.C});
    Tensor x({c.N, c.H, c.W, c.C});
    fill_uniform(x, 4);
    Tensor y = h.fwd(x);
    Shape rs;
    auto ref = pool2d_ref(x, c.is_max, c.kh, c.kw, c.sh, c.sw, c.pad, rs);
    CHECK(y.shape == rs);
    CHECK_NEAR(max_abs_diff(y, ref), 0.0, 1e-6);
  }
}

TEST(pooling_hand_values_and_defaults) {
  // 3x3 input 1..9, AveragePooling2D(2, strides 1... default strides = pool_size = 2), same:
  // out 2x2; windows {1,2,4,5} -> 3, {3,6} -> 4.5, {7,8} -> 7.5, {9} -> 9 (padding not counted).
  Harness h(make_layer("AveragePooling2D", obj({{"name", "avg"}, {"pool_size", ints({2, 2})},
                                                {"strides", Json()}, {"padding", "same"}})),
            {3, 3, 1});
  Tensor x({1, 3, 3, 1});
  for (int i = 0; i < 9; ++i) x.data[i] = float(i + 1);
  Tensor y = h.fwd(x);
  CHECK((y.shape == Shape{1, 2, 2, 1}));
  CHECK_NEAR(y.data[0], 3.0, 1e-6);
  CHECK_NEAR(y.data[1], 4.5, 1e-6);
  CHECK_NEAR(y.data[2], 7.5, 1e-6);
  CHECK_NEAR(y.data[3], 9.0, 1e-6);
  CHECK(h.L->config()["strides"].dump() == "[2, 2]");
  // Max pooling backward goes to the FIRST maximum of a tied window.
  Harness m(make_layer("MaxPooling2D", obj({{"name", "mp"}})), {2, 2, 1});
  Tensor t({1, 2, 2, 1});
  t.data = {1, 5, 5, 2};
  Tensor ty = m.fwd(t);
  CHECK_NEAR(ty.data[0], 5, 0);
  Tensor g({1, 1, 1, 1});
  g.data = {1};
  Tensor dx = m.bwd(t, ty, g);
  CHECK(dx.data[1] == 1.0f && dx.data[2] == 0.0f && dx.data[0] == 0.0f && dx.data[3] == 0.0f);
}

TEST(global_pooling_and_maxpool1d_forward) {
  Tensor x({2, 3, 4, 5});
  fill_uniform(x, 12);
  Harness gm(make_layer("GlobalMaxPooling2D", obj({{"name", "gmp"}})), {3, 4, 5});
  Harness ga(make_layer("GlobalAveragePooling2D", obj({{"name", "gap"}})), {3, 4, 5});
  Tensor ym = gm.fwd(x), ya = ga.fwd(x);
  CHECK((ym.shape == Shape{2, 5}) && (ya.shape == Shape{2, 5}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 5; ++c) {
      double mx = -1e30, s = 0;
      for (int64_t p = 0; p < 12; ++p) { double v = x.data[(n * 12 + p) * 5 + c]; mx = std::max(mx, v); s += v; }
      CHECK_NEAR(ym.data[n * 5 + c], mx, 0);
      CHECK_NEAR(ya.data[n * 5 + c], s / 12, 1e-6);
    }
  // MaxPooling1D(pool 3, stride 2, same) on (7, 2): out 4, pad_total = max(3*2+3-7, 0) = 2 -> 1 before.
  Harness mp(make_layer("MaxPooling1D", obj({{"name", "mp1"}, {"pool_size", Json(3)}, {"strides", Json(2)},
                                              {"padding", "same"}})),
             {7, 2});
  Tensor x1({1, 7, 2});
  fill_uniform(x1, 13);
  Tensor y1 = mp.fwd(x1);
  CHECK((y1.shape == Shape{1, 4, 2}));
  for (int64_t o = 0; o < 4; ++o)
    for (int64_t c = 0; c < 2; ++c) {
      double mx = -1e30;
      for (int64_t i = 0; i < 3; ++i) {
        int64_t t = o * 2 - 1 + i;
        if (t >= 0 && t < 7) mx = std::max<double>(mx, x1.data[t * 2 + c]);
      }
      CHECK_NEAR(y1.data[o * 2 + c], mx, 0);
    }
  // Default MaxPooling1D: pool 2, strides = pool, valid: (7,2) -> (3,2)
  Harness mpd(make_layer("MaxPooling1D", obj({{"name", "mp1d"}})), {7, 2});
  CHECK((mpd.out_shape == Shape{3, 2}));
}

// ---------------------------------------------------------------- gradient checks
TEST(gradcheck_conv2d) {
  struct Case { int64_t H, W, C, F, kh, kw, sh, sw, dh, dw; const char* pad; const char* act; };
  const Case cases[] = {
      {5, 6, 2, 3, 3, 3, 1, 1, 1, 1, "valid", "linear"}, {5, 6, 2, 3, 3, 2, 2, 2, 1, 1, "same", "tanh"},
      {7, 7, 2, 2, 3, 3, 1, 1, 2, 2, "same", "linear"},  {6, 5, 1, 3, 3, 3, 1, 1, 1, 1, "valid", "tanh"},
      {4, 4, 3, 2, 1, 1, 1, 1, 1, 1, "valid", "tanh"},   {7, 6, 2, 2, 2, 3, 3, 2, 1, 1, "same", "linear"},
  };
  for (const Case& c : cases) {
    Harness h(make_layer("Conv2D", conv2d_cfg(c.F, ints({c.kh, c.kw}), ints({c.sh, c.sw}), c.pad,
                                              ints({c.dh, c.dw}), c.act)),
              {c.H, c.W, c.C});
    randomize_params(*h.L, 31);
    Tensor x({3, c.H, c.W, c.C});
    fill_uniform(x, 32);
    CHECK(gradcheck(h, x, GradOpts(), "conv2d") == 0);
  }
}

TEST(gradcheck_conv2d_relu_off_kinks) {
  // Pick a seed whose pre-activations all stay > 0.005 away from the ReLU kink
  // (a perturbation of 1e-3 in one input (|w| <= 0.5) or weight (|x| <= 1) moves them by <= 1e-3).
  Json cfg = conv2d_cfg(3, Json(3), Json(1), "same", Json(1), "relu");
  for (uint64_t seed = 1; seed < 200; ++seed) {
    Json lin = cfg;
    lin.set("activation", "linear");
    Harness hl(make_layer("Conv2D", lin), {5, 5, 2});
    randomize_params(*hl.L, seed);
    Tensor x({2, 5, 5, 2});
    fill_uniform(x, seed + 1000);
    Tensor z = hl.fwd(x);
    float mn = 1e9;
    for (float v : z.data) mn = std::min(mn, std::fabs(v));
    if (mn < 0.005f) continue;
    Harness h(make_layer("Conv2D", cfg), {5, 5, 2});
    for (size_t k = 0; k < h.L->params.size(); ++k) h.L->params[k].value = hl.L->params[k].value;
    GradOpts o;
    o.eps = 1e-3;
    o.atol = 3e-3;
    CHECK(gradcheck(h, x, o, "conv2d_relu") == 0);
    return;
  }
  CHECK(false);  // no seed found
}

TEST(gradcheck_conv1d) {
  const char* pads[] = {"valid", "same", "causal"};
  for (const char* pad : pads) {
    Json cfg = obj({{"name", "conv1d_1"}, {"filters", Json(3)}, {"kernel_size", Json(3)}, {"strides", Json(1)},
                    {"padding", pad}, {"dilation_rate", Json(2)}, {"activation", "tanh"}});
    Harness h(make_layer("Conv1D", cfg), {9, 2});
    randomize_params(*h.L, 41);
    Tensor x({2, 9, 2});
    fill_uniform(x, 42);
    CHECK(gradcheck(h, x, GradOpts(), pad) == 0);
  }
  Json cfg = obj({{"name", "conv1d_2"}, {"filters", Json(2)}, {"kernel_size", Json(2)}, {"strides", Json(2)},
                  {"padding", "same"}});
  Harness h(make_layer("Conv1D", cfg), {7, 3});
  randomize_params(*h.L, 43);
  Tensor x({2, 7, 3});
  fill_uniform(x, 44);
  CHECK(gradcheck(h, x, GradOpts(), "conv1d stride 2") == 0);
}

TEST(gradcheck_zero_padding_reshape_leaky) {
  {
    Json cfg = obj({{"name", "zp"}, {"padding", Json::parse("[[1, 2], [0, 3]]")}});
    Harness h(make_layer("ZeroPadding2D", cfg), {3, 2, 2});
    CHECK((h.out_shape == Shape{6, 5, 2}));
    Tensor x({2, 3, 2, 2});
    fill_uniform(x, 51);
    Tensor y = h.fwd(x);
    // hand check: out(n, h+1, w, c) = x(n, h, w, c); row 0 and cols >= 2 are zero
    CHECK_NEAR(y.data[((0 * 6 + 1) * 5 + 0) * 2 + 1], x.data[1], 0);
    CHECK_NEAR(y.data[((1 * 6 + 3) * 5 + 1) * 2 + 0], x.data[((1 * 3 + 2) * 2 + 1) * 2 + 0], 0);
    CHECK_NEAR(y.data[((0 * 6 + 0) * 5 + 0) * 2 + 0], 0, 0);
    CHECK_NEAR(y.data[((0 * 6 + 2) * 5 + 4) * 2 + 0], 0, 0);
    CHECK(gradcheck(h, x, GradOpts(), "zeropadding") == 0);
  }
  {
    Harness h(make_layer("Reshape", obj({{"name", "r"}, {"target_shape", ints({-1, 3})}})), {2, 3, 2});
    CHECK((h.out_shape == Shape{4, 3}));
    Tensor x({2, 2, 3, 2});
    fill_uniform(x, 52);
    Tensor y = h.fwd(x);
    CHECK(y.data == x.data);
    CHECK(gradcheck(h, x, GradOpts(), "reshape") == 0);
  }
  {
    Harness h(make_layer("LeakyReLU", obj({{"name", "lr"}, {"alpha", Json(0.2)}})), {4, 3});
    Tensor x({2, 4, 3});
    fill_distinct(x, 53, 0.05f);  // no value within 1e-2 of 0 except exact 0 at the middle
    for (auto& v : x.data) if (v == 0.0f) v = 0.025f;
    Tensor y = h.fwd(x);
    for (int64_t i = 0; i < x.size(); ++i)
      CHECK_NEAR(y.data[i], x.data[i] > 0 ? x.data[i] : 0.2 * x.data[i], 1e-7);
    CHECK(gradcheck(h, x, GradOpts(), "leakyrelu") == 0);
    Harness d(make_layer("LeakyReLU", obj({{"name", "lr2"}})), {4});
    CHECK_NEAR(d.L->config()["alpha"].as_number(), 0.3, 0);
  }
}

TEST(gradcheck_pooling) {
  GradOpts o;
  o.eps = 2e-3;  // values are 1e-2 apart: no window's arg max changes
  o.atol = 2e-3;
  struct Case { const char* cls; int64_t H, W, C, kh, kw, sh, sw; const char* pad; };
  const Case cases[] = {
      {"MaxPooling2D", 6, 6, 2, 2, 2, 2, 2, "valid"}, {"MaxPooling2D", 7, 5, 2, 3, 2, 2, 1, "same"},
      {"MaxPooling2D", 5, 5, 2, 3, 3, 1, 1, "same"},  {"AveragePooling2D", 7, 5, 2, 3, 2, 2, 1, "same"},
      {"AveragePooling2D", 6, 6, 2, 2, 2, 2, 2, "valid"}, {"AveragePooling2D", 5, 7, 1, 3, 3, 3, 3, "same"},
  };
  for (const Case& c : cases) {
    Json cfg = obj({{"name", "p"}, {"pool_size", ints({c.kh, c.kw})}, {"strides", ints({c.sh, c.sw})},
                    {"padding", c.pad}});
    Harness h(make_layer(c.cls, cfg), {c.H, c.W, c.C});
    Tensor x({2, c.H, c.W, c.C});
    fill_distinct(x, 61);
    CHECK(gradcheck(h, x, o, c.cls) == 0);
  }
  const char* globals[] = {"GlobalMaxPooling2D", "GlobalAveragePooling2D"};
  for (const char* g : globals) {
    Harness h(make_layer(g, obj({{"name", "g"}})), {3, 4, 3});
    Tensor x({2, 3, 4, 3});
    fill_distinct(x, 62);
    CHECK(gradcheck(h, x, o, g) == 0);
  }
  Harness h(make_layer("MaxPooling1D", obj({{"name", "m"}, {"pool_size", Json(3)}, {"strides", Json(2)},
                                            {"padding", "same"}})),
            {8, 3});
  Tensor x({2, 8, 3});
  fill_distinct(x, 63);
  CHECK(gradcheck(h, x, o, "MaxPooling1D") == 0);
}

TEST(gradcheck_batchnorm) {
  // training mode (batch statistics) on 4-D and 2-D inputs, and inference mode
  for (int mode = 0; mode < 3; ++mode) {
    Shape in = mode == 1 ? Shape{5} : Shape{3, 2, 4};
    Harness h(make_layer("BatchNormalization", obj({{"name", "bn"}})), in);
    fill_uniform(h.L->params[0].value, 71, 0.5f, 1.5f);   // gamma
    fill_uniform(h.L->params[1].value, 72, -0.5f, 0.5f);  // beta
    fill_uniform(h.L->params[2].value, 73, -0.5f, 0.5f);  // moving_mean
    fill_uniform(h.L->params[3].value, 74, 0.5f, 1.5f);   // moving_variance
    Tensor x(with_batch(3, in));
    fill_uniform(x, 75, -2.0f, 2.0f);
    GradOpts o;
    o.training = mode != 2;
    o.eps = 1e-2;
    CHECK(gradcheck(h, x, o, mode == 2 ? "bn inference" : "bn training") == 0);
  }
}

// ---------------------------------------------------------------- BatchNormalization by hand
TEST(batchnorm_train_and_inference_by_hand) {
  // x = [1, 2, 3, 6] in one channel: mean 3, biased var (4+1+0+9)/4 = 3.5.
  const double eps = 1e-3, var = 3.5;
  const float xs[] = {1, 2, 3, 6};
  for (int four_d = 0; four_d < 2; ++four_d) {
    Shape in = four_d ? Shape{2, 2, 1} : Shape{1};
    Harness h(make_layer("BatchNormalization", obj({{"name", "bn"}})), in);
    CHECK(h.L->params.size() == 4);
    CHECK(h.L->params[0].name == "gamma" && h.L->params[1].name == "beta" &&
          h.L->params[2].name == "moving_mean" && h.L->params[3].name == "moving_variance");
    CHECK(h.L->params[0].trainable && h.L->params[1].trainable && !h.L->params[2].trainable &&
          !h.L->params[3].trainable);
    h.L->params[0].value.data = {2.0f};  // gamma
    h.L->params[1].value.data = {0.5f};  // beta
    Tensor x(four_d ? Shape{1, 2, 2, 1} : Shape{4, 1});
    for (int i = 0; i < 4; ++i) x.data[i] = xs[i];
    Tensor y = h.fwd(x, /*training=*/true);
    for (int i = 0; i < 4; ++i) CHECK_NEAR(y.data[i], 2.0 * (xs[i] - 3.0) / std::sqrt(var + eps) + 0.5, 1e-5);
    // moving_mean = 0 * 0.99 + 3 * 0.01; moving_variance = 1 * 0.99 + v * 0.01 with
    // v = 3.5 * 4/(4 - 1.001) (Keras's correction), times 4/3 more on the fused 4-D path.
    const double v = var * 4.0 / (4.0 - 1.001) * (four_d ? 4.0 / 3.0 : 1.0);
    CHECK_NEAR(h.L->params[2].value.data[0], 0.03, 1e-7);
    CHECK_NEAR(h.L->params[3].value.data[0], 0.99 + 0.01 * v, 1e-6);
    // inference uses the moving statistics
    const double mm = 0.03, mv = 0.99 + 0.01 * v;
    Tensor yi = h.fwd(x, false);
    for (int i = 0; i < 4; ++i) CHECK_NEAR(yi.data[i], 2.0 * (xs[i] - mm) / std::sqrt(mv + eps) + 0.5, 1e-5);
    // no update in inference
    CHECK_NEAR(h.L->params[2].value.data[0], 0.03, 1e-7);
  }
  // center = FALSE, scale = FALSE: only the moving statistics
  Harness h(make_layer("BatchNormalization", obj({{"name", "bn2"}, {"center", false}, {"scale", false},
                                                  {"momentum", Json(0.5)}, {"epsilon", Json(0.01)}})),
            {1});
  CHECK(h.L->params.size() == 2 && h.L->params[0].name == "moving_mean");
  Tensor x({4, 1});
  for (int i = 0; i < 4; ++i) x.data[i] = xs[i];
  Tensor y = h.fwd(x, true);
  for (int i = 0; i < 4; ++i) CHECK_NEAR(y.data[i], (xs[i] - 3.0) / std::sqrt(3.5 + 0.01), 1e-5);
  CHECK_NEAR(h.L->params[0].value.data[0], 1.5, 1e-6);
  CHECK_NEAR(h.L->params[1].value.data[0], 0.5 + 0.5 * 3.5 * 4.0 / (4.0 - 1.01), 1e-6);
}

// ---------------------------------------------------------------- determinism
TEST(threads_bitwise_identical) {
  // Seed-CNN shapes: conv 28x28x1 -> 32 (3x3), conv 13x13x32 -> 64 (3x3), batch 128; plus BN and pooling.
  struct Net { Shape in; Json cfg; const char* cls; };
  std::vector<Net> nets = {
      {{28, 28, 1}, conv2d_cfg(32, Json(3), Json(1), "valid", Json(1), "relu"), "Conv2D"},
      {{13, 13, 32}, conv2d_cfg(64, Json(3), Json(1), "same", Json(1), "relu"), "Conv2D"},
      {{13, 13, 8}, obj({{"name", "bn"}}), "BatchNormalization"},
      {{13, 13, 8}, obj({{"name", "mp"}}), "MaxPooling2D"},
  };
  for (auto& net : nets) {
    std::vector<Tensor> results[2];
    for (int t = 0; t < 2; ++t) {
      set_num_threads(t + 1);
      Harness h(make_layer(net.cls, net.cfg), net.in);
      Tensor x(with_batch(128, net.in));
      fill_uniform(x, 81);
      Tensor y = h.fwd(x, true);
      Tensor dy(y.shape);
      fill_uniform(dy, 82);
      Tensor dx = h.bwd(x, y, dy, true);
      results[t].push_back(y);
      results[t].push_back(dx);
      for (auto& p : h.L->params) { results[t].push_back(p.grad); results[t].push_back(p.value); }
    }
    set_num_threads(0);
    CHECK(results[0].size() == results[1].size());
    for (size_t i = 0; i < results[0].size(); ++i) {
      const auto& a = results[0][i].data;
      const auto& b = results[1][i].data;
      CHECK(a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
    }
  }
}

TEST(conv_backward_gradients_accumulate) {
  // backward adds into din and param grads: calling twice doubles them.
  Harness h(make_layer("Conv2D", conv2d_cfg(2, Json(3), Json(1), "same", Json(1), "linear")), {4, 4, 2});
  Tensor x({2, 4, 4, 2});
  fill_uniform(x, 91);
  Tensor y = h.fwd(x);
  Tensor dy(y.shape);
  fill_uniform(dy, 92);
  Tensor dx1 = h.bwd(x, y, dy);
  std::vector<float> g1 = h.L->params[0].grad.data;
  Tensor dx2(x.shape);
  RunContext ctx;
  ctx.scratch = &h.sc;
  h.L->backward(ctx, {&x}, y, dy, {&dx2});
  h.L->backward(ctx, {&x}, y, dy, {&dx2});
  for (int64_t i = 0; i < x.size(); ++i) CHECK_NEAR(dx2.data[i], 2 * dx1.data[i], 1e-5);
  for (size_t i = 0; i < g1.size(); ++i) CHECK_NEAR(h.L->params[0].grad.data[i], 3 * g1[i], 1e-4);
}

// ---------------------------------------------------------------- configs
TEST(configs_keras_keys_and_round_trip) {
  auto keys = [](const Json& c) {
    std::string s;
    for (auto& kv : c.items()) s += kv.first + ",";
    return s;
  };
  Json cc = conv2d_cfg(8, Json(3), Json(1), "SAME", Json(1), "relu");
  LayerPtr conv = make_layer("Conv2D", cc);
  Json c = conv->config();
  CHECK(keys(c) == "name,trainable,filters,kernel_size,strides,padding,data_format,dilation_rate,activation,"
                   "use_bias,kernel_initializer,bias_initializer,kernel_regularizer,bias_regularizer,"
                   "activity_regularizer,kernel_constraint,bias_constraint,");
  CHECK(c["padding"].as_string() == "same");
  CHECK(c["kernel_size"].dump() == "[3, 3]");
  CHECK(c["strides"].dump() == "[1, 1]");
  CHECK(c["data_format"].as_string() == "channels_last");
  CHECK(c["kernel_initializer"].dump() ==
        "{\"class_name\": \"VarianceScaling\", \"config\": {\"scale\": 1.0, \"mode\": \"fan_avg\", "
        "\"distribution\": \"uniform\", \"seed\": null}}");
  CHECK(c["bias_initializer"]["class_name"].as_string() == "Zeros");
  CHECK(c["kernel_regularizer"].is_null() && c["bias_constraint"].is_null());
  CHECK(make_layer("Conv2D", c)->config().dump() == c.dump());

  Json c1 = make_layer("Conv1D", obj({{"name", "c1"}, {"filters", Json(4)}, {"kernel_size", Json(5)},
                                      {"padding", "causal"}}))->config();
  CHECK(keys(c1) == keys(c));
  CHECK(c1["kernel_size"].dump() == "[5]" && c1["padding"].as_string() == "causal");

  Json mp = make_layer("MaxPooling2D", obj({{"name", "m"}, {"pool_size", ints({2, 2})}}))->config();
  CHECK(keys(mp) == "name,trainable,pool_size,padding,strides,data_format,");
  CHECK(mp["strides"].dump() == "[2, 2]");
  Json ap = make_layer("AveragePooling2D", obj({{"name", "a"}, {"pool_size", Json(3)}, {"strides", Json(1)}}))->config();
  CHECK(ap["pool_size"].dump() == "[3, 3]" && ap["strides"].dump() == "[1, 1]");
  Json m1 = make_layer("MaxPooling1D", obj({{"name", "m1"}, {"pool_size", Json(2)}}))->config();
  CHECK(keys(m1) == "name,trainable,strides,pool_size,padding,data_format,");
  CHECK(m1["strides"].dump() == "[2]");
  CHECK(keys(make_layer("GlobalMaxPooling2D", obj({{"name", "g"}}))->config()) == "name,trainable,data_format,");
  CHECK(keys(make_layer("GlobalAveragePooling2D", obj({{"name", "g"}}))->config()) == "name,trainable,data_format,");
  Json zp = make_layer("ZeroPadding2D", obj({{"name", "z"}, {"padding", ints({1, 2})}}))->config();
  CHECK(keys(zp) == "name,trainable,padding,data_format,");
  CHECK(zp["padding"].dump() == "[[1, 1], [2, 2]]");
  CHECK(make_layer("ZeroPadding2D", obj({{"name", "z"}, {"padding", Json(3)}}))->config()["padding"].dump() ==
        "[[3, 3], [3, 3]]");
  Json rs = make_layer("Reshape", obj({{"name", "r"}, {"target_shape", ints({7, -1})}}))->config();
  CHECK(keys(rs) == "name,trainable,target_shape,");
  CHECK(rs["target_shape"].dump() == "[7, -1]");
  Json lr = make_layer("LeakyReLU", obj({{"name", "l"}, {"alpha", Json(0.1)}}))->config();
  CHECK(keys(lr) == "name,trainable,alpha,");
  Json bn = make_layer("BatchNormalization", obj({{"name", "b"}}))->config();
  CHECK(keys(bn) == "name,trainable,axis,momentum,epsilon,center,scale,beta_initializer,gamma_initializer,"
                    "moving_mean_initializer,moving_variance_initializer,beta_regularizer,gamma_regularizer,"
                    "beta_constraint,gamma_constraint,");
  CHECK(bn["axis"].dump() == "-1" && bn["momentum"].dump() == "0.99" && bn["epsilon"].dump() == "0.001");
  CHECK(bn["gamma_initializer"]["class_name"].as_string() == "Ones");
  CHECK(make_layer("BatchNormalization", bn)->config().dump() == bn.dump());
}

// ---------------------------------------------------------------- errors
TEST(error_messages) {
  Rng rng;
  {
    LayerPtr l = make_layer("Conv2D", conv2d_cfg(4, Json(5), Json(1), "valid", Json(1), "linear"));
    CHECK_THROWS(l->build({{3, 3, 1}}, rng),
                 "layer 'conv2d_1': kernel 5x5 (dilated 5x5) is larger than the input 3x3 with padding 'valid'");
    CHECK_THROWS(l->build({{28, 28}}, rng), "expects inputs of shape (H, W, C) per sample");
    CHECK_THROWS(l->build({{28, 28}}, rng), "got (None, 28, 28)");
  }
  {
    LayerPtr l = make_layer("Conv2D", conv2d_cfg(4, Json(3), Json(1), "valid", Json(2), "linear"));
    CHECK_THROWS(l->build({{4, 9, 1}}, rng), "kernel 3x3 (dilated 5x5) is larger than the input 4x9");
  }
  {
    LayerPtr l = make_layer("Conv2D", conv2d_cfg(4, Json(3), Json(1), "valid", Json(1), "linear"));
    l->build({{8, 8, 3}}, rng);
    CHECK_THROWS(l->build({{8, 8, 2}}, rng), "built for 3 input channels");
  }
  Json cf = conv2d_cfg(4, Json(3), Json(1), "valid", Json(1), "linear");
  cf.set("data_format", "channels_first");  // wrapped (layers_channels_first.cpp): takes (C, H, W)
  {
    LayerPtr l = make_layer("Conv2D", cf);
    CHECK(l->build({{3, 8, 8}}, rng) == Shape({4, 6, 6}));
    CHECK(l->config()["data_format"].as_string() == "channels_first");
  }
  cf.set("data_format", "channels_middle");
  CHECK_THROWS(make_layer("Conv2D", cf), "layer 'conv2d_1' (Conv2D): data_format 'channels_middle' is not supported");
  CHECK_THROWS(make_layer("Conv2D", conv2d_cfg(4, Json(3), Json(1), "full", Json(1), "linear")),
               "padding must be 'valid' or 'same', got 'full'");
  CHECK_THROWS(make_layer("Conv2D", conv2d_cfg(4, Json(3), Json(1), "causal", Json(1), "linear")),
               "padding must be 'valid' or 'same'");
  CHECK_THROWS(make_layer("Conv2D", conv2d_cfg(4, ints({3, 3, 3}), Json(1), "valid", Json(1), "linear")),
               "'kernel_size' must be an integer or a list of 2 integers");
  CHECK_THROWS(make_layer("Conv2D", conv2d_cfg(4, Json(3), Json(1), "valid", Json(1), "swish")), "swish");
  CHECK_THROWS(make_layer("Conv1D", obj({{"name", "c"}, {"filters", Json(2)}, {"kernel_size", Json(3)}}))
                   ->build({{5, 5, 2}}, rng),
               "expects inputs of shape (steps, channels)");
  CHECK_THROWS(make_layer("MaxPooling2D", obj({{"name", "mp"}, {"pool_size", Json(4)}}))->build({{3, 5, 1}}, rng),
               "pool_size 4x4 is larger than the input 3x5");
  CHECK_THROWS(make_layer("MaxPooling2D", obj({{"name", "mp"}, {"data_format", "nchw"}})),
               "data_format 'nchw' is not supported");
  CHECK_THROWS(make_layer("GlobalAveragePooling2D", obj({{"name", "g"}}))->build({{5, 2}}, rng),
               "expects inputs of shape (H, W, C)");
  CHECK_THROWS(make_layer("Reshape", obj({{"name", "r"}, {"target_shape", ints({5, -1})}}))->build({{4, 3}}, rng),
               "cannot reshape input (None, 4, 3) (12 values per sample) to target_shape (5, -1)");
  CHECK_THROWS(make_layer("Reshape", obj({{"name", "r"}, {"target_shape", ints({5, 2})}}))->build({{4, 3}}, rng),
               "cannot reshape input (None, 4, 3) (12 values per sample) to target_shape (5, 2) (10 values)");
  CHECK_THROWS(make_layer("Reshape", obj({{"name", "r"}, {"target_shape", ints({-1, -1})}})),
               "at most one target_shape entry may be -1");
  CHECK_THROWS(make_layer("ZeroPadding2D", obj({{"name", "z"}, {"padding", ints({1, 2, 3})}})),
               "padding must be an integer");
  CHECK_THROWS(make_layer("BatchNormalization", obj({{"name", "b"}, {"axis", Json(1)}}))->build({{4, 4, 3}}, rng),
               "only the last (channels) axis is supported");
  // axis = 3 is the last axis of (None, 4, 4, 3): accepted
  CHECK((make_layer("BatchNormalization", obj({{"name", "b"}, {"axis", Json(3)}}))->build({{4, 4, 3}}, rng) ==
         Shape{4, 4, 3}));
}

KN_TEST_MAIN
