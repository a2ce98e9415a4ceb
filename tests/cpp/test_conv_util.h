// Shared helpers of the convolution-family layer tests (test_conv.cpp,
// test_conv_grad.cpp): a layer harness, double-precision direct-loop
// references (TF padding from the Keras/TF formulas) and the finite-difference
// gradient check of L = sum(out * R). One test binary includes it once.
#pragma once
#include <algorithm>
#include <cmath>
#include <numeric>

#include "harness.h"
#include "layer.h"
#include "parallel.h"

namespace conv_test {
using namespace kn;

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

}  // namespace conv_test
