// Real-size cases for the keras 2.2.5 convolution-family surface layers:
// Conv2DTranspose, Conv3D, Conv3DTranspose, DepthwiseConv2D, SeparableConv2D,
// LocallyConnected1D/2D, Max/AveragePooling3D, GlobalMax/AveragePooling3D and
// Dot, against naive double loops written here (direct sums over output
// positions and kernel offsets; TensorFlow's window placement).
#pragma once
#include "test_layer_sizes.h"

namespace ls {

// Per-axis window: output o reads input o * s - p + i * d (convolution).
struct Ax { int64_t in, out, k, s, d, p; };
inline Ax conv_ax(int64_t in, int64_t k, int64_t s, int64_t d, bool same) {
  const int64_t ext = (k - 1) * d + 1;
  Ax a{in, 0, k, s, d, 0};
  if (same) { a.out = (in + s - 1) / s; a.p = std::max<int64_t>((a.out - 1) * s + ext - in, 0) / 2; }
  else a.out = (in - ext) / s + 1;
  return a;
}
// Transposed: `in` is the layer's input length; returns the axis of the
// virtual convolution from the output (in = output length) to the input.
inline Ax deconv_ax(int64_t in, int64_t k, int64_t s, bool same) {
  const int64_t out = same ? in * s : in * s + std::max<int64_t>(k - s, 0);
  Ax a{out, in, k, s, 1, 0};
  if (same) a.p = std::max<int64_t>((in - 1) * s + k - out, 0) / 2;
  return a;
}

// Naive (transposed) convolution of rank r (channels-last), with bias and activation.
// Convolution: x (N, ax.in..., C), W (k..., C, F), y (N, ax.out..., F).
// Transposed:  x (N, ax.out..., C), W (k..., F, C), y (N, ax.in..., F).
inline SizeCase naive_conv_case(const std::string& cls, const std::string& cfg, std::vector<Ax> ax, int64_t C,
                                int64_t F, bool transpose, const std::string& act, bool bias) {
  const int r = static_cast<int>(ax.size());
  Shape in, out;
  for (auto& a : ax) { in.push_back(transpose ? a.out : a.in); out.push_back(transpose ? a.in : a.out); }
  in.push_back(C);
  SizeCase c;
  c.cls = cls;
  c.config = cfg;
  c.inputs = {in};
  c.ref = [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];
    const Tensor& W = ri.params[0];
    const int64_t N = ri.N;
    int64_t big = 1, small = 1, K = 1;  // positions of the convolution's input / output, kernel offsets
    for (auto& a : ax) { big *= a.in; small *= a.out; K *= a.k; }
    const int64_t Pout = transpose ? big : small;  // this layer's output positions
    std::vector<double> z(N * Pout * F, 0.0), zs(N * Pout * F, 0.0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t f = 0; f < F; ++f)
        for (int64_t p = 0; p < Pout; ++p) z[(n * Pout + p) * F + f] = bias ? ri.params[1].data[f] : 0.0;
    // visit (convolution output position o, kernel offset k) -> convolution input position b
    auto visit = [&](auto fn) {
      std::vector<int64_t> oc(r), kc(r);
      for (int64_t o = 0; o < small; ++o) {
        int64_t rem = o;
        for (int d = r - 1; d >= 0; --d) { oc[d] = rem % ax[d].out; rem /= ax[d].out; }
        for (int64_t kk = 0; kk < K; ++kk) {
          int64_t kr = kk, b = 0;
          bool ok = true;
          for (int d = r - 1; d >= 0; --d) { kc[d] = kr % ax[d].k; kr /= ax[d].k; }
          for (int d = 0; d < r; ++d) {
            const int64_t i = oc[d] * ax[d].s - ax[d].p + kc[d] * ax[d].d;
            if (i < 0 || i >= ax[d].in) ok = false;
            b = b * ax[d].in + (ok ? i : 0);
          }
          if (ok) fn(o, kk, b);
        }
      }
    };
    // W index: (kk, c, f) for convolution, (kk, f, c) for transposed
    auto widx = [&](int64_t kk, int64_t ci, int64_t f) { return transpose ? (kk * F + f) * C + ci : (kk * C + ci) * F + f; };
    for (int64_t n = 0; n < N; ++n)
      visit([&](int64_t o, int64_t kk, int64_t b) {
        const int64_t xin = transpose ? o : b, yout = transpose ? b : o;
        for (int64_t ci = 0; ci < C; ++ci) {
          const double xv = x.data[(n * (transpose ? small : big) + xin) * C + ci];
          for (int64_t f = 0; f < F; ++f) {
            const double t = xv * W.data[widx(kk, ci, f)];
            z[(n * Pout + yout) * F + f] += t;
            zs[(n * Pout + yout) * F + f] += std::fabs(t);
          }
        }
      });
    RefOut ro;
    ro.y.resize(z.size());
    ro.y_scale = zs;
    std::vector<double> dz(z.size());
    for (size_t i = 0; i < z.size(); ++i) {
      ro.y[i] = act_f(act, z[i]);
      dz[i] = act_d(act, z[i]) * ri.dout.data[i];
    }
    ro.dx.assign(1, std::vector<double>(x.size(), 0.0));
    ro.dx_scale.assign(1, std::vector<double>(x.size(), 0.0));
    ro.dp.assign(bias ? 2 : 1, {});
    ro.dp[0].assign(W.size(), 0.0);
    ro.dp_scale.assign(bias ? 2 : 1, {});
    ro.dp_scale[0].assign(W.size(), 0.0);
    for (int64_t n = 0; n < N; ++n)
      visit([&](int64_t o, int64_t kk, int64_t b) {
        const int64_t xin = transpose ? o : b, yout = transpose ? b : o;
        for (int64_t ci = 0; ci < C; ++ci) {
          const int64_t xi = (n * (transpose ? small : big) + xin) * C + ci;
          for (int64_t f = 0; f < F; ++f) {
            const double g = dz[(n * Pout + yout) * F + f];
            ro.dx[0][xi] += g * W.data[widx(kk, ci, f)];
            ro.dx_scale[0][xi] += std::fabs(g * W.data[widx(kk, ci, f)]);
            ro.dp[0][widx(kk, ci, f)] += g * x.data[xi];
            ro.dp_scale[0][widx(kk, ci, f)] += std::fabs(g * x.data[xi]);
          }
        }
      });
    if (bias) {
      ro.dp[1].assign(F, 0.0);
      ro.dp_scale[1].assign(F, 0.0);
      for (size_t i = 0; i < dz.size(); ++i) { ro.dp[1][i % F] += dz[i]; ro.dp_scale[1][i % F] += std::fabs(dz[i]); }
    }
    return ro;
  };
  c.kinks = act == "relu";
  c.fd_params = act != "relu";
  c.batches = {1, 7, 128, 300};
  return c;
}

// DepthwiseConv2D / SeparableConv2D: z(o, c*dm+m) = sum_k x(b, c) D(k, c, m); y = act(z [P] + b).
inline SizeCase depthwise_case(bool separable, int64_t H, int64_t W_, int64_t C, int64_t dm, int64_t F, int64_t k,
                               int64_t s, int64_t d, bool same, const std::string& act) {
  const Ax ah = conv_ax(H, k, s, d, same), aw = conv_ax(W_, k, s, d, same);
  const std::string cfg = "{\"name\": \"dw\", \"kernel_size\": " + std::to_string(k) + ", \"strides\": " + std::to_string(s) +
                          ", \"dilation_rate\": " + std::to_string(d) + ", \"padding\": \"" + (same ? "same" : "valid") +
                          "\", \"depth_multiplier\": " + std::to_string(dm) + ", \"activation\": \"" + act + "\"" +
                          (separable ? ", \"filters\": " + std::to_string(F) : std::string()) + "}";
  SizeCase c;
  c.cls = separable ? "SeparableConv2D" : "DepthwiseConv2D";
  c.config = cfg;
  c.inputs = {{H, W_, C}};
  c.ref = [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];
    const Tensor& D = ri.params[0];
    const int64_t N = ri.N, P = ah.out * aw.out, M = C * dm, Fo = separable ? F : M;
    const Tensor* Pw = separable ? &ri.params[1] : nullptr;
    const Tensor& B = ri.params[separable ? 2 : 1];
    std::vector<double> z(N * P * M, 0.0), y(N * P * Fo), dy(N * P * Fo), dzv(N * P * M, 0.0);
    auto src = [&](int64_t n, int64_t p, int64_t i, int64_t j) -> int64_t {  // input pixel or -1
      const int64_t ih = (p / aw.out) * s - ah.p + i * d, iw = (p % aw.out) * s - aw.p + j * d;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W_) return -1;
      return (n * H + ih) * W_ + iw;
    };
    for (int64_t n = 0; n < N; ++n)
      for (int64_t p = 0; p < P; ++p)
        for (int64_t i = 0; i < k; ++i)
          for (int64_t j = 0; j < k; ++j) {
            const int64_t b = src(n, p, i, j);
            if (b < 0) continue;
            for (int64_t ci = 0; ci < C; ++ci)
              for (int64_t m = 0; m < dm; ++m)
                z[(n * P + p) * M + ci * dm + m] += x.data[b * C + ci] * D.data[((i * k + j) * C + ci) * dm + m];
          }
    RefOut ro;
    ro.y.resize(N * P * Fo);
    for (int64_t r = 0; r < N * P; ++r)
      for (int64_t f = 0; f < Fo; ++f) {
        double v = B.data[f];
        if (separable) for (int64_t q = 0; q < M; ++q) v += z[r * M + q] * Pw->data[q * F + f];
        else v += z[r * M + f];
        ro.y[r * Fo + f] = act_f(act, v);
        dy[r * Fo + f] = act_d(act, v) * ri.dout.data[r * Fo + f];
      }
    ro.dp.assign(ri.params.size(), {});
    ro.dp[0].assign(D.size(), 0.0);
    if (separable) ro.dp[1].assign(Pw->size(), 0.0);
    ro.dp.back().assign(Fo, 0.0);
    for (int64_t r = 0; r < N * P; ++r)
      for (int64_t f = 0; f < Fo; ++f) {
        ro.dp.back()[f] += dy[r * Fo + f];
        if (separable)
          for (int64_t q = 0; q < M; ++q) { dzv[r * M + q] += dy[r * Fo + f] * Pw->data[q * F + f]; ro.dp[1][q * F + f] += z[r * M + q] * dy[r * Fo + f]; }
        else dzv[r * M + f] += dy[r * Fo + f];
      }
    ro.dx.assign(1, std::vector<double>(x.size(), 0.0));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t p = 0; p < P; ++p)
        for (int64_t i = 0; i < k; ++i)
          for (int64_t j = 0; j < k; ++j) {
            const int64_t b = src(n, p, i, j);
            if (b < 0) continue;
            for (int64_t ci = 0; ci < C; ++ci)
              for (int64_t m = 0; m < dm; ++m) {
                const int64_t di = ((i * k + j) * C + ci) * dm + m;
                const double g = dzv[(n * P + p) * M + ci * dm + m];
                ro.dx[0][b * C + ci] += g * D.data[di];
                ro.dp[0][di] += g * x.data[b * C + ci];
              }
          }
    return ro;
  };
  c.batches = {1, 7, 128, 300};
  return c;
}

// LocallyConnected: y(n, p, f) = b(p, f) + sum_{(i,j,c)} patch(n, p, (i,j,c)) W(p, (i,j,c), f).
inline SizeCase local_case(int rank, int64_t H, int64_t W_, int64_t C, int64_t F, int64_t k, int64_t s, const std::string& act) {
  const Ax ah = rank == 2 ? conv_ax(H, k, s, 1, false) : Ax{1, 1, 1, 1, 1, 0}, aw = conv_ax(W_, k, s, 1, false);
  const int64_t kh = rank == 2 ? k : 1;
  SizeCase c;
  c.cls = rank == 2 ? "LocallyConnected2D" : "LocallyConnected1D";
  c.config = "{\"name\": \"lc\", \"filters\": " + std::to_string(F) + ", \"kernel_size\": " + std::to_string(k) +
             ", \"strides\": " + std::to_string(s) + ", \"activation\": \"" + act + "\"}";
  c.inputs = rank == 2 ? std::vector<Shape>{{H, W_, C}} : std::vector<Shape>{{W_, C}};
  c.ref = [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];
    const Tensor& Wt = ri.params[0];
    const Tensor& B = ri.params[1];
    const int64_t N = ri.N, P = ah.out * aw.out, K = kh * k * C, Hh = rank == 2 ? H : 1;
    RefOut ro;
    ro.y.resize(N * P * F);
    ro.dx.assign(1, std::vector<double>(x.size(), 0.0));
    ro.dp.assign(2, {});
    ro.dp[0].assign(Wt.size(), 0.0);
    ro.dp[1].assign(B.size(), 0.0);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t p = 0; p < P; ++p) {
        std::vector<int64_t> idx(K);  // patch element -> input index
        for (int64_t i = 0; i < kh; ++i)
          for (int64_t j = 0; j < k; ++j)
            for (int64_t ci = 0; ci < C; ++ci)
              idx[(i * k + j) * C + ci] = ((n * Hh + (p / aw.out) * (rank == 2 ? s : 1) + i) * W_ + (p % aw.out) * s + j) * C + ci;
        for (int64_t f = 0; f < F; ++f) {
          double v = B.data[p * F + f];
          for (int64_t e = 0; e < K; ++e) v += x.data[idx[e]] * Wt.data[(p * K + e) * F + f];
          ro.y[(n * P + p) * F + f] = act_f(act, v);
          const double g = act_d(act, v) * ri.dout.data[(n * P + p) * F + f];
          ro.dp[1][p * F + f] += g;
          for (int64_t e = 0; e < K; ++e) {
            ro.dx[0][idx[e]] += g * Wt.data[(p * K + e) * F + f];
            ro.dp[0][(p * K + e) * F + f] += g * x.data[idx[e]];
          }
        }
      }
    return ro;
  };
  return c;
}

// Max / average pooling 3D and the global 3D poolings.
inline SizeCase pool3d_case(bool is_max, Shape in, int64_t k, int64_t s, bool same) {
  std::vector<Ax> ax;
  for (int d = 0; d < 3; ++d) ax.push_back(conv_ax(in[d], k, s, 1, same));
  SizeCase c;
  c.cls = is_max ? "MaxPooling3D" : "AveragePooling3D";
  c.config = "{\"name\": \"p\", \"pool_size\": " + std::to_string(k) + ", \"strides\": " + std::to_string(s) +
             ", \"padding\": \"" + (same ? "same" : "valid") + "\"}";
  c.inputs = {in};
  c.ref = [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];
    const int64_t N = ri.N, C = in[3], P = ax[0].out * ax[1].out * ax[2].out;
    RefOut ro;
    ro.y.resize(N * P * C);
    ro.dx.assign(1, std::vector<double>(x.size(), 0.0));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t p = 0; p < P; ++p)
        for (int64_t ci = 0; ci < C; ++ci) {
          const int64_t o[3] = {p / (ax[1].out * ax[2].out), (p / ax[2].out) % ax[1].out, p % ax[2].out};
          std::vector<int64_t> cells;
          for (int64_t a = 0; a < k; ++a)
            for (int64_t b = 0; b < k; ++b)
              for (int64_t q = 0; q < k; ++q) {
                const int64_t i0 = o[0] * s - ax[0].p + a, i1 = o[1] * s - ax[1].p + b, i2 = o[2] * s - ax[2].p + q;
                if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2]) continue;
                cells.push_back((((n * in[0] + i0) * in[1] + i1) * in[2] + i2) * C + ci);
              }
          const double g = ri.dout.data[(n * P + p) * C + ci];
          if (is_max) {
            int64_t best = cells[0];
            for (int64_t e : cells) if (x.data[e] > x.data[best]) best = e;
            ro.y[(n * P + p) * C + ci] = x.data[best];
            ro.dx[0][best] += g;
          } else {
            double sum = 0;
            for (int64_t e : cells) sum += x.data[e];
            ro.y[(n * P + p) * C + ci] = sum / cells.size();
            for (int64_t e : cells) ro.dx[0][e] += g / cells.size();
          }
        }
    return ro;
  };
  c.kinks = is_max;
  c.batches = {1, 7, 128, 300};
  return c;
}

inline SizeCase global3d_case(bool is_max, Shape in) {
  SizeCase c;
  c.cls = is_max ? "GlobalMaxPooling3D" : "GlobalAveragePooling3D";
  c.config = R"({"name": "g"})";
  c.inputs = {in};
  c.ref = [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];
    const int64_t N = ri.N, C = in[3], S = in[0] * in[1] * in[2];
    RefOut ro;
    ro.y.resize(N * C);
    ro.dx.assign(1, std::vector<double>(x.size(), 0.0));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t ci = 0; ci < C; ++ci) {
        int64_t best = n * S * C + ci;
        double sum = 0;
        for (int64_t sp = 0; sp < S; ++sp) {
          const int64_t e = (n * S + sp) * C + ci;
          if (x.data[e] > x.data[best]) best = e;
          sum += x.data[e];
        }
        const double g = ri.dout.data[n * C + ci];
        ro.y[n * C + ci] = is_max ? x.data[best] : sum / S;
        if (is_max) ro.dx[0][best] += g;
        else for (int64_t sp = 0; sp < S; ++sp) ro.dx[0][(n * S + sp) * C + ci] += g / S;
      }
    return ro;
  };
  c.kinks = is_max;
  return c;
}

// Dot of x (A, L) and y (B, L) (axes 2, 2), or 1-D vectors (axes 1): out (A, B) / (1).
inline SizeCase dot_case(int64_t A, int64_t B, int64_t L, bool normalize) {
  const bool flat = A == 0;
  SizeCase c;
  c.cls = "Dot";
  c.config = std::string("{\"name\": \"dot\", \"axes\": ") + (flat ? "1" : "[2, 2]") + ", \"normalize\": " +
             (normalize ? "true" : "false") + "}";
  c.inputs = flat ? std::vector<Shape>{{L}, {L}} : std::vector<Shape>{{A, L}, {B, L}};
  c.ref = [=](const RefIn& ri) {
    const int64_t a = flat ? 1 : A, b = flat ? 1 : B, N = ri.N;
    RefOut ro;
    ro.y.assign(N * a * b, 0.0);
    ro.dx.assign(2, {});
    ro.dx[0].assign(N * a * L, 0.0);
    ro.dx[1].assign(N * b * L, 0.0);
    for (int64_t n = 0; n < N; ++n) {
      // normalised rows and norms
      auto rows = [&](const Tensor& t, int64_t R, std::vector<double>& v, std::vector<double>& nr) {
        v.assign(R * L, 0.0);
        nr.assign(R, 1.0);
        for (int64_t r = 0; r < R; ++r) {
          double ss = 0;
          for (int64_t l = 0; l < L; ++l) ss += double(t.data[(n * R + r) * L + l]) * t.data[(n * R + r) * L + l];
          nr[r] = normalize ? std::sqrt(std::max(ss, 1e-12)) : 1.0;
          for (int64_t l = 0; l < L; ++l) v[r * L + l] = t.data[(n * R + r) * L + l] / nr[r];
        }
      };
      std::vector<double> xv, xn, yv, yn;
      rows(ri.xs[0], a, xv, xn);
      rows(ri.xs[1], b, yv, yn);
      std::vector<double> gx(a * L, 0.0), gy(b * L, 0.0);
      for (int64_t i = 0; i < a; ++i)
        for (int64_t j = 0; j < b; ++j) {
          double sum = 0;
          for (int64_t l = 0; l < L; ++l) sum += xv[i * L + l] * yv[j * L + l];
          ro.y[(n * a + i) * b + j] = sum;
          const double g = ri.dout.data[(n * a + i) * b + j];
          for (int64_t l = 0; l < L; ++l) { gx[i * L + l] += g * yv[j * L + l]; gy[j * L + l] += g * xv[i * L + l]; }
        }
      auto back = [&](std::vector<double>& gv, std::vector<double>& v, std::vector<double>& nr, int64_t R, int k) {
        for (int64_t r = 0; r < R; ++r) {
          double dot = 0;
          for (int64_t l = 0; l < L; ++l) dot += gv[r * L + l] * v[r * L + l];
          for (int64_t l = 0; l < L; ++l)
            ro.dx[k][(n * R + r) * L + l] = normalize ? (gv[r * L + l] - v[r * L + l] * dot) / nr[r] : gv[r * L + l];
        }
      };
      back(gx, xv, xn, a, 0);
      back(gy, yv, yn, b, 1);
    }
    return ro;
  };
  return c;
}

inline const std::vector<SizeCase>& conv_surface_cases() {
  static const std::vector<SizeCase> c = [] {
    std::vector<SizeCase> v;
    v.push_back(naive_conv_case("Conv2DTranspose", R"({"name": "ct", "filters": 3, "kernel_size": [3, 2], "strides": [2, 1], "activation": "tanh"})",
                                {deconv_ax(4, 3, 2, false), deconv_ax(5, 2, 1, false)}, 2, 3, true, "tanh", true));
    v.push_back(naive_conv_case("Conv2DTranspose", R"({"name": "ct", "filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "use_bias": false})",
                                {deconv_ax(3, 3, 2, true), deconv_ax(4, 3, 2, true)}, 3, 2, true, "linear", false));
    v.push_back(naive_conv_case("Conv2DTranspose", R"({"name": "ct", "filters": 2, "kernel_size": 1, "strides": 3})",
                                {deconv_ax(3, 1, 3, false), deconv_ax(2, 1, 3, false)}, 2, 2, true, "linear", true));
    v.push_back(naive_conv_case("Conv3D", R"({"name": "c3", "filters": 3, "kernel_size": [2, 3, 2], "activation": "sigmoid"})",
                                {conv_ax(4, 2, 1, 1, false), conv_ax(5, 3, 1, 1, false), conv_ax(3, 2, 1, 1, false)}, 2, 3, false, "sigmoid", true));
    v.push_back(naive_conv_case("Conv3D", R"({"name": "c3", "filters": 2, "kernel_size": 3, "strides": [2, 1, 2], "padding": "same", "dilation_rate": 1})",
                                {conv_ax(5, 3, 2, 1, true), conv_ax(4, 3, 1, 1, true), conv_ax(3, 3, 2, 1, true)}, 3, 2, false, "linear", true));
    v.push_back(naive_conv_case("Conv3D", R"({"name": "c3", "filters": 2, "kernel_size": 2, "dilation_rate": [2, 1, 1], "use_bias": false})",
                                {conv_ax(5, 2, 1, 2, false), conv_ax(3, 2, 1, 1, false), conv_ax(3, 2, 1, 1, false)}, 1, 2, false, "linear", false));
    v.push_back(naive_conv_case("Conv3DTranspose", R"({"name": "c3t", "filters": 2, "kernel_size": [2, 3, 2], "strides": [2, 1, 2]})",
                                {deconv_ax(2, 2, 2, false), deconv_ax(3, 3, 1, false), deconv_ax(2, 2, 2, false)}, 2, 2, true, "linear", true));
    v.push_back(naive_conv_case("Conv3DTranspose", R"({"name": "c3t", "filters": 1, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "tanh"})",
                                {deconv_ax(2, 3, 2, true), deconv_ax(2, 3, 2, true), deconv_ax(3, 3, 2, true)}, 2, 1, true, "tanh", true));
    v.push_back(depthwise_case(false, 5, 6, 3, 2, 0, 3, 1, 1, false, "linear"));
    v.push_back(depthwise_case(false, 6, 5, 2, 1, 0, 3, 2, 1, true, "tanh"));
    v.push_back(depthwise_case(true, 5, 6, 3, 2, 4, 3, 1, 1, true, "sigmoid"));
    v.push_back(depthwise_case(true, 7, 6, 2, 1, 3, 2, 2, 1, false, "linear"));
    v.push_back(depthwise_case(true, 7, 7, 2, 1, 2, 3, 1, 2, true, "linear"));
    v.push_back(local_case(2, 5, 6, 2, 3, 3, 1, "tanh"));
    v.push_back(local_case(2, 6, 6, 1, 2, 2, 2, "linear"));
    v.push_back(local_case(1, 1, 9, 3, 2, 3, 2, "sigmoid"));
    v.push_back(pool3d_case(true, {4, 5, 3, 2}, 2, 2, false));
    v.push_back(pool3d_case(true, {5, 3, 4, 2}, 3, 2, true));
    v.push_back(pool3d_case(false, {4, 4, 3, 2}, 2, 1, false));
    v.push_back(pool3d_case(false, {5, 3, 4, 1}, 2, 2, true));
    v.push_back(global3d_case(true, {3, 2, 4, 3}));
    v.push_back(global3d_case(false, {2, 3, 2, 4}));
    v.push_back(dot_case(0, 0, 5, false));
    v.push_back(dot_case(3, 4, 5, false));
    v.push_back(dot_case(2, 3, 4, true));
    return v;
  }();
  return c;
}

}  // namespace ls
