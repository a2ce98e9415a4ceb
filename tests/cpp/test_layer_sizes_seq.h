// Real-size cases of the recurrent layers (SimpleRNN, LSTM, GRU): the case list
// lives here so that test_layer_sizes_seq.cpp runs it and the registry-coverage
// test of test_layer_sizes_core.cpp counts it. The references are naive
// per-sample double-precision recurrences with backpropagation through time,
// written from the Keras 2.2 equations (not from the engine's code):
//   SimpleRNN  h = act(x W + b + h_prev U)
//   LSTM       gates i, f, c, o: i = ra(z_i), f = ra(z_f), g = act(z_c), o = ra(z_o),
//              c = f c_prev + i g, h = o act(c)
//   GRU        (reset_after = FALSE) blocks z, r, h: zt = ra(x Wz + bz + h_prev Uz),
//              r = ra(x Wr + br + h_prev Ur), hh = act(x Wh + bh + (r h_prev) Uh),
//              h = zt h_prev + (1 - zt) hh
// with z_* = x W + b + h_prev U per block, ra the recurrent activation.
#pragma once
#include <algorithm>
#include <functional>

#include "test_layer_sizes.h"

namespace ls {

enum class Cell { SimpleRNN, LSTM, GRU };

// Input (N, T, K), params kernel W (K, G*u), recurrent_kernel U (u, G*u),
// bias b (G*u); output (N, T, u) with return_sequences (steps in processing
// order), else (N, u) = the last processed step.
inline RefOut rnn_reference(const RefIn& ri, Cell cell, int64_t u, bool seq, bool back, const std::string& act,
                            const std::string& ra) {
  const Tensor& x = ri.xs[0];  // (N, T, K)
  const int64_t N = x.shape[0], T = x.shape[1], K = x.shape[2];
  const int64_t G = cell == Cell::SimpleRNN ? 1 : cell == Cell::LSTM ? 4 : 3, gu = G * u;
  const std::vector<float>& W = ri.params[0].data;  // (K, G*u)
  const std::vector<float>& U = ri.params[1].data;  // (u, G*u)
  const std::vector<float>& b = ri.params[2].data;  // (G*u)
  RefOut o;
  o.y.assign(N * (seq ? T : 1) * u, 0);
  o.dx.assign(1, std::vector<double>(x.size(), 0));
  o.dp = {std::vector<double>(W.size(), 0), std::vector<double>(U.size(), 0), std::vector<double>(b.size(), 0)};
  o.dp_scale = o.dp;
  // Per-sample state, indexed by processing step s (time t = back ? T-1-s : s).
  std::vector<std::vector<double>> xs(T, std::vector<double>(K)), z(T, std::vector<double>(gu)),
      h(T + 1, std::vector<double>(u)), c(T + 1, std::vector<double>(u)), rh(T, std::vector<double>(u));
  // h[s + 1] / c[s + 1] are the states after step s; h[0] = c[0] = 0.
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t s = 0; s < T; ++s) {
      const int64_t t = back ? T - 1 - s : s;
      for (int64_t k = 0; k < K; ++k) xs[s][k] = x.data[(n * T + t) * K + k];
      const std::vector<double>& hp = h[s];
      for (int64_t j = 0; j < gu; ++j) {
        double v = b[j];
        for (int64_t k = 0; k < K; ++k) v += xs[s][k] * W[k * gu + j];
        z[s][j] = v;
      }
      if (cell == Cell::GRU)
        for (int64_t i = 0; i < u; ++i) rh[s][i] = 0;
      for (int64_t j = 0; j < (cell == Cell::GRU ? 2 * u : gu); ++j)
        for (int64_t i = 0; i < u; ++i) z[s][j] += hp[i] * U[i * gu + j];
      if (cell == Cell::SimpleRNN) {
        for (int64_t j = 0; j < u; ++j) h[s + 1][j] = act_f(act, z[s][j]);
      } else if (cell == Cell::LSTM) {
        for (int64_t j = 0; j < u; ++j) {
          const double ig = act_f(ra, z[s][j]), fg = act_f(ra, z[s][u + j]), gg = act_f(act, z[s][2 * u + j]),
                       og = act_f(ra, z[s][3 * u + j]);
          c[s + 1][j] = fg * c[s][j] + ig * gg;
          h[s + 1][j] = og * act_f(act, c[s + 1][j]);
        }
      } else {
        for (int64_t i = 0; i < u; ++i) rh[s][i] = act_f(ra, z[s][u + i]) * hp[i];
        for (int64_t j = 0; j < u; ++j)
          for (int64_t i = 0; i < u; ++i) z[s][2 * u + j] += rh[s][i] * U[i * gu + 2 * u + j];
        for (int64_t j = 0; j < u; ++j) {
          const double zt = act_f(ra, z[s][j]);
          h[s + 1][j] = zt * hp[j] + (1 - zt) * act_f(act, z[s][2 * u + j]);
        }
      }
      if (seq)
        for (int64_t j = 0; j < u; ++j) o.y[(n * T + s) * u + j] = h[s + 1][j];
    }
    if (!seq)
      for (int64_t j = 0; j < u; ++j) o.y[n * u + j] = h[T][j];

    // Backward through time.
    std::vector<double> dhn(u, 0), dcn(u, 0), dz(gu), dh(u), drh(u);
    for (int64_t s = T - 1; s >= 0; --s) {
      const int64_t t = back ? T - 1 - s : s;
      const std::vector<double>& hp = h[s];
      for (int64_t j = 0; j < u; ++j) {
        dh[j] = dhn[j];
        if (seq) dh[j] += ri.dout.data[(n * T + s) * u + j];
        else if (s == T - 1) dh[j] += ri.dout.data[n * u + j];
        dhn[j] = 0;
      }
      if (cell == Cell::SimpleRNN) {
        for (int64_t j = 0; j < u; ++j) dz[j] = dh[j] * act_d(act, z[s][j]);
      } else if (cell == Cell::LSTM) {
        for (int64_t j = 0; j < u; ++j) {
          const double ig = act_f(ra, z[s][j]), fg = act_f(ra, z[s][u + j]), gg = act_f(act, z[s][2 * u + j]),
                       og = act_f(ra, z[s][3 * u + j]), cs = c[s + 1][j];
          const double dc = dcn[j] + dh[j] * og * act_d(act, cs);
          dz[j] = dc * gg * act_d(ra, z[s][j]);
          dz[u + j] = dc * c[s][j] * act_d(ra, z[s][u + j]);
          dz[2 * u + j] = dc * ig * act_d(act, z[s][2 * u + j]);
          dz[3 * u + j] = dh[j] * act_f(act, cs) * act_d(ra, z[s][3 * u + j]);
          dcn[j] = dc * fg;
        }
      } else {
        for (int64_t j = 0; j < u; ++j) {
          const double zt = act_f(ra, z[s][j]);
          dz[j] = dh[j] * (hp[j] - act_f(act, z[s][2 * u + j])) * act_d(ra, z[s][j]);
          dz[2 * u + j] = dh[j] * (1 - zt) * act_d(act, z[s][2 * u + j]);
          dhn[j] += dh[j] * zt;
        }
        for (int64_t i = 0; i < u; ++i) {
          drh[i] = 0;
          for (int64_t j = 0; j < u; ++j) drh[i] += dz[2 * u + j] * U[i * gu + 2 * u + j];
          dz[u + i] = drh[i] * hp[i] * act_d(ra, z[s][u + i]);
          dhn[i] += drh[i] * act_f(ra, z[s][u + i]);
        }
      }
      for (int64_t j = 0; j < gu; ++j) {
        o.dp[2][j] += dz[j];
        o.dp_scale[2][j] += std::fabs(dz[j]);
        for (int64_t k = 0; k < K; ++k) {
          o.dp[0][k * gu + j] += xs[s][k] * dz[j];
          o.dp_scale[0][k * gu + j] += std::fabs(xs[s][k] * dz[j]);
          o.dx[0][(n * T + t) * K + k] += dz[j] * W[k * gu + j];
        }
        const bool via_rh = cell == Cell::GRU && j >= 2 * u;  // GRU's h block sees r * h_prev
        for (int64_t i = 0; i < u; ++i) {
          const double hin = via_rh ? rh[s][i] : hp[i];
          o.dp[1][i * gu + j] += hin * dz[j];
          o.dp_scale[1][i * gu + j] += std::fabs(hin * dz[j]);
          if (!via_rh) dhn[i] += dz[j] * U[i * gu + j];
        }
      }
    }
  }
  return o;
}

// T steps of K features, u units.
inline SizeCase rnn_case(Cell cell, int64_t T, int64_t K, int64_t u, bool seq, bool back,
                         const std::string& act = "tanh") {
  const char* cls = cell == Cell::SimpleRNN ? "SimpleRNN" : cell == Cell::LSTM ? "LSTM" : "GRU";
  const std::string ra = "hard_sigmoid";
  std::string cfg = "{\"name\": \"rnn\", \"units\": " + std::to_string(u) + ", \"activation\": \"" + act +
                    "\", \"return_sequences\": " + (seq ? "true" : "false") +
                    ", \"go_backwards\": " + (back ? "true" : "false");
  if (cell != Cell::SimpleRNN) cfg += ", \"recurrent_activation\": \"" + ra + "\"";
  cfg += "}";
  SizeCase c;
  c.cls = cls;
  c.config = cfg;
  c.inputs = {{T, K}};
  c.ref = [=](const RefIn& ri) { return rnn_reference(ri, cell, u, seq, back, act, ra); };
  return c;
}

// CuDNNLSTM: LSTM with sigmoid gates and bias (8u) = input + recurrent biases,
// which add up: the LSTM reference on the summed bias, its gradient to both halves.
inline SizeCase cudnn_lstm_case(int64_t T, int64_t K, int64_t u, bool seq) {
  SizeCase c;
  c.cls = "CuDNNLSTM";
  c.config = "{\"name\": \"rnn\", \"units\": " + std::to_string(u) + ", \"return_sequences\": " +
             (seq ? "true" : "false") + "}";
  c.inputs = {{T, K}};
  c.ref = [=](const RefIn& ri) {
    RefIn r2 = ri;
    Tensor b({4 * u});                               // (4u) summed bias
    for (int64_t j = 0; j < 4 * u; ++j) b.data[j] = ri.params[2].data[j] + ri.params[2].data[4 * u + j];
    r2.params[2] = b;
    RefOut o = rnn_reference(r2, Cell::LSTM, u, seq, false, "tanh", "sigmoid");
    for (auto* v : {&o.dp[2], &o.dp_scale[2]}) {
      std::vector<double> half = *v;
      v->insert(v->end(), half.begin(), half.end());  // (8u)
    }
    return o;
  };
  return c;
}

// CuDNNGRU (reset after, sigmoid gates, tanh): bias (6u) = input bi then recurrent br;
// a = x W + bi, q = h_prev U + br per block z, r, h; zt = s(a_z + q_z), r = s(a_r + q_r),
// hh = tanh(a_h + r q_h), h = zt h_prev + (1 - zt) hh.
inline SizeCase cudnn_gru_case(int64_t T, int64_t K, int64_t u, bool seq) {
  SizeCase c;
  c.cls = "CuDNNGRU";
  c.config = "{\"name\": \"rnn\", \"units\": " + std::to_string(u) + ", \"return_sequences\": " +
             (seq ? "true" : "false") + "}";
  c.inputs = {{T, K}};
  c.ref = [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];  // (N, T, K)
    const int64_t N = x.shape[0], gu = 3 * u;
    const std::vector<float>& W = ri.params[0].data;  // (K, 3u)
    const std::vector<float>& U = ri.params[1].data;  // (u, 3u)
    const std::vector<float>& b = ri.params[2].data;  // (6u)
    RefOut o;
    o.y.assign(N * (seq ? T : 1) * u, 0);
    o.dx.assign(1, std::vector<double>(x.size(), 0));
    o.dp = {std::vector<double>(W.size(), 0), std::vector<double>(U.size(), 0), std::vector<double>(b.size(), 0)};
    o.dp_scale = o.dp;
    std::vector<std::vector<double>> a(T, std::vector<double>(gu)), q(T, std::vector<double>(gu)),
        h(T + 1, std::vector<double>(u));
    auto sg = [](double v) { return 1 / (1 + std::exp(-v)); };
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t j = 0; j < gu; ++j) {
          double av = b[j], qv = b[gu + j];
          for (int64_t k = 0; k < K; ++k) av += x.data[(n * T + t) * K + k] * W[k * gu + j];
          for (int64_t i = 0; i < u; ++i) qv += h[t][i] * U[i * gu + j];
          a[t][j] = av;
          q[t][j] = qv;
        }
        for (int64_t j = 0; j < u; ++j) {
          const double zt = sg(a[t][j] + q[t][j]), r = sg(a[t][u + j] + q[t][u + j]);
          h[t + 1][j] = zt * h[t][j] + (1 - zt) * std::tanh(a[t][2 * u + j] + r * q[t][2 * u + j]);
          if (seq) o.y[(n * T + t) * u + j] = h[t + 1][j];
        }
      }
      if (!seq)
        for (int64_t j = 0; j < u; ++j) o.y[n * u + j] = h[T][j];
      std::vector<double> dhn(u, 0), din(gu), drec(gu);
      for (int64_t t = T - 1; t >= 0; --t) {
        for (int64_t j = 0; j < u; ++j) {
          double dh = dhn[j];
          if (seq) dh += ri.dout.data[(n * T + t) * u + j];
          else if (t == T - 1) dh += ri.dout.data[n * u + j];
          const double zt = sg(a[t][j] + q[t][j]), r = sg(a[t][u + j] + q[t][u + j]);
          const double hh = std::tanh(a[t][2 * u + j] + r * q[t][2 * u + j]);
          const double dah = dh * (1 - zt) * (1 - hh * hh);
          din[j] = drec[j] = dh * (h[t][j] - hh) * zt * (1 - zt);
          din[u + j] = drec[u + j] = dah * q[t][2 * u + j] * r * (1 - r);
          din[2 * u + j] = dah;
          drec[2 * u + j] = dah * r;
          dhn[j] = dh * zt;
        }
        for (int64_t j = 0; j < gu; ++j) {
          o.dp[2][j] += din[j];
          o.dp_scale[2][j] += std::fabs(din[j]);
          o.dp[2][gu + j] += drec[j];
          o.dp_scale[2][gu + j] += std::fabs(drec[j]);
          for (int64_t k = 0; k < K; ++k) {
            const double xv = x.data[(n * T + t) * K + k];
            o.dp[0][k * gu + j] += xv * din[j];
            o.dp_scale[0][k * gu + j] += std::fabs(xv * din[j]);
            o.dx[0][(n * T + t) * K + k] += din[j] * W[k * gu + j];
          }
          for (int64_t i = 0; i < u; ++i) {
            o.dp[1][i * gu + j] += h[t][i] * drec[j];
            o.dp_scale[1][i * gu + j] += std::fabs(h[t][i] * drec[j]);
            dhn[i] += drec[j] * U[i * gu + j];
          }
        }
      }
    }
    return o;
  };
  return c;
}

// Masking: y = x * keep, keep = any feature of the step != mask_value; dx = dout * keep.
inline SizeCase masking_case(int64_t T, int64_t F, double v) {
  SizeCase c;
  c.cls = "Masking";
  c.config = "{\"name\": \"mk\", \"mask_value\": " + std::to_string(v) + "}";
  c.inputs = {{T, F}};
  c.ref = [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];  // (N, T, F)
    RefOut o;
    o.y.assign(x.size(), 0);
    o.dx.assign(1, std::vector<double>(x.size(), 0));
    for (int64_t r = 0; r < x.size() / F; ++r) {
      bool keep = false;
      for (int64_t j = 0; j < F; ++j) keep = keep || x.data[r * F + j] != static_cast<float>(v);
      for (int64_t j = 0; j < F; ++j) {
        o.y[r * F + j] = keep ? x.data[r * F + j] : 0.0;
        o.dx[0][r * F + j] = keep ? ri.dout.data[r * F + j] : 0.0;
      }
    }
    return o;
  };
  return c;
}

// Layers that move values without arithmetic (UpSampling1D, Cropping1D,
// ZeroPadding1D, RepeatVector, Permute): y[o] = x[src(o)] (src < 0: zero), and
// dx[src(o)] += dout[o]. `src` maps a per-sample output offset to an input offset.
inline SizeCase gather_case(const std::string& cls, const std::string& cfg, Shape in, Shape out,
                            std::function<int64_t(int64_t)> src) {
  SizeCase c;
  c.cls = cls;
  c.config = cfg;
  c.inputs = {in};
  c.ref = [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];
    int64_t per_in = 1, per_out = 1;
    for (int64_t d : in) per_in *= d;
    for (int64_t d : out) per_out *= d;
    RefOut o;
    o.y.assign(ri.N * per_out, 0);
    o.dx.assign(1, std::vector<double>(x.size(), 0));
    for (int64_t n = 0; n < ri.N; ++n)
      for (int64_t k = 0; k < per_out; ++k) {
        const int64_t s = src(k);
        if (s < 0) continue;
        o.y[n * per_out + k] = x.data[n * per_in + s];
        o.dx[0][n * per_in + s] += ri.dout.data[n * per_out + k];
      }
    return o;
  };
  return c;
}

// Global pooling over steps of (N, T, C): mean, or max (gradient to the first max).
inline SizeCase global_pool1d_case(bool is_max, int64_t T, int64_t C) {
  SizeCase c;
  c.cls = is_max ? "GlobalMaxPooling1D" : "GlobalAveragePooling1D";
  c.config = "{\"name\": \"g\"}";
  c.inputs = {{T, C}};
  c.kinks = is_max;
  c.ref = [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];
    RefOut o;
    o.y.assign(ri.N * C, 0);
    o.dx.assign(1, std::vector<double>(x.size(), 0));
    for (int64_t n = 0; n < ri.N; ++n)
      for (int64_t ch = 0; ch < C; ++ch) {
        int64_t best = 0;
        double sum = 0;
        for (int64_t t = 0; t < T; ++t) {
          const double v = x.data[(n * T + t) * C + ch];
          sum += v;
          if (v > x.data[(n * T + best) * C + ch]) best = t;
        }
        const double g = ri.dout.data[n * C + ch];
        if (is_max) {
          o.y[n * C + ch] = x.data[(n * T + best) * C + ch];
          o.dx[0][(n * T + best) * C + ch] = g;
        } else {
          o.y[n * C + ch] = sum / T;
          for (int64_t t = 0; t < T; ++t) o.dx[0][(n * T + t) * C + ch] = g / T;
        }
      }
    return o;
  };
  return c;
}

// AveragePooling1D, "same" or "valid": windows [t*s - pad, t*s - pad + k) clipped
// to the input; the mean over the cells inside (TensorFlow's count_include_pad = false).
inline SizeCase avg_pool1d_case(int64_t T, int64_t C, int64_t k, int64_t st, bool same) {
  SizeCase c;
  c.cls = "AveragePooling1D";
  c.config = "{\"name\": \"p\", \"pool_size\": " + std::to_string(k) + ", \"strides\": " + std::to_string(st) +
             ", \"padding\": \"" + (same ? "same" : "valid") + "\"}";
  c.inputs = {{T, C}};
  const int64_t To = same ? (T + st - 1) / st : (T - k) / st + 1;
  const int64_t pad = same ? std::max<int64_t>(0, ((To - 1) * st + k - T) / 2) : 0;
  c.ref = [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];
    RefOut o;
    o.y.assign(ri.N * To * C, 0);
    o.dx.assign(1, std::vector<double>(x.size(), 0));
    for (int64_t n = 0; n < ri.N; ++n)
      for (int64_t t = 0; t < To; ++t) {
        const int64_t lo = std::max<int64_t>(0, t * st - pad), hi = std::min<int64_t>(T, t * st - pad + k);
        for (int64_t ch = 0; ch < C; ++ch) {
          double sum = 0;
          for (int64_t i = lo; i < hi; ++i) sum += x.data[(n * T + i) * C + ch];
          o.y[(n * To + t) * C + ch] = sum / (hi - lo);
          for (int64_t i = lo; i < hi; ++i)
            o.dx[0][(n * T + i) * C + ch] += ri.dout.data[(n * To + t) * C + ch] / (hi - lo);
        }
      }
    return o;
  };
  return c;
}

inline void add_temporal_cases(std::vector<SizeCase>& v) {
  const int64_t T = 6, C = 3;
  v.push_back(global_pool1d_case(false, T, C));
  v.push_back(global_pool1d_case(true, T, C));
  v.push_back(avg_pool1d_case(7, 2, 3, 2, true));
  v.push_back(avg_pool1d_case(7, 2, 2, 2, false));
  v.push_back(gather_case("UpSampling1D", "{\"name\": \"u\", \"size\": 2}", {T, C}, {2 * T, C},
                          [=](int64_t k) { return (k / C / 2) * C + k % C; }));
  v.push_back(gather_case("Cropping1D", "{\"name\": \"c\", \"cropping\": [1, 2]}", {T, C}, {T - 3, C},
                          [=](int64_t k) { return k + C; }));
  v.push_back(gather_case("ZeroPadding1D", "{\"name\": \"z\", \"padding\": [2, 1]}", {T, C}, {T + 3, C},
                          [=](int64_t k) { const int64_t t = k / C - 2; return t < 0 || t >= T ? -1 : t * C + k % C; }));
  v.push_back(gather_case("RepeatVector", "{\"name\": \"r\", \"n\": 4}", {C}, {4, C},
                          [=](int64_t k) { return k % C; }));
  // Permute dims (3, 1, 2) of (A, B, D): out[d][a][b] = in[a][b][d].
  const int64_t A = 2, B = 3, D = 4;
  v.push_back(gather_case("Permute", "{\"name\": \"p\", \"dims\": [3, 1, 2]}", {A, B, D}, {D, A, B},
                          [=](int64_t k) {
                            const int64_t d = k / (A * B), a = (k / B) % A, b = k % B;
                            return (a * B + b) * D + d;
                          }));
}

// Bidirectional(SimpleRNN/LSTM/GRU, merge_mode "concat" or "sum"): the two
// halves are the naive recurrences above (forward weights params[0..2], backward
// params[3..5] with go_backwards), the backward sequence re-reversed in time.
inline SizeCase bidirectional_case(Cell cell, int64_t T, int64_t K, int64_t u, bool seq, const std::string& merge) {
  const char* cls = cell == Cell::SimpleRNN ? "SimpleRNN" : cell == Cell::LSTM ? "LSTM" : "GRU";
  SizeCase c;
  c.cls = "Bidirectional";
  c.config = std::string("{\"name\": \"bi\", \"merge_mode\": \"") + merge + "\", \"layer\": {\"class_name\": \"" +
             cls + "\", \"config\": {\"name\": \"r\", \"units\": " + std::to_string(u) +
             ", \"return_sequences\": " + (seq ? "true" : "false") + "}}}";
  c.inputs = {{T, K}};
  c.ref = [=](const RefIn& ri) {
    const int64_t N = ri.N, steps = seq ? T : 1, rows = N * steps;
    const bool cat = merge == "concat";
    RefIn hf, hb;
    hf.N = hb.N = N;
    hf.xs = hb.xs = ri.xs;
    hf.params = {ri.params[0], ri.params[1], ri.params[2]};
    hb.params = {ri.params[3], ri.params[4], ri.params[5]};
    hf.dout = Tensor(seq ? Shape{N, T, u} : Shape{N, u});
    hb.dout = hf.dout;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t n = r / steps, t = r % steps, rb = n * steps + (seq ? T - 1 - t : 0);  // backward half in its order
      for (int64_t j = 0; j < u; ++j) {
        hf.dout.data[r * u + j] = ri.dout.data[cat ? r * 2 * u + j : r * u + j];
        hb.dout.data[rb * u + j] = ri.dout.data[cat ? r * 2 * u + u + j : r * u + j];
      }
    }
    RefOut f = rnn_reference(hf, cell, u, seq, false, "tanh", "hard_sigmoid");
    RefOut b = rnn_reference(hb, cell, u, seq, true, "tanh", "hard_sigmoid");
    RefOut o;
    o.y.assign(rows * (cat ? 2 * u : u), 0);
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t n = r / steps, t = r % steps, rb = n * steps + (seq ? T - 1 - t : 0);
      for (int64_t j = 0; j < u; ++j) {
        if (cat) {
          o.y[r * 2 * u + j] = f.y[r * u + j];
          o.y[r * 2 * u + u + j] = b.y[rb * u + j];
        } else {
          o.y[r * u + j] = f.y[r * u + j] + b.y[rb * u + j];
        }
      }
    }
    o.dx = f.dx;
    for (size_t i = 0; i < o.dx[0].size(); ++i) o.dx[0][i] += b.dx[0][i];
    o.dp = f.dp;
    o.dp_scale = f.dp_scale;
    for (size_t k = 0; k < 3; ++k) { o.dp.push_back(b.dp[k]); o.dp_scale.push_back(b.dp_scale[k]); }
    return o;
  };
  return c;
}

// TimeDistributed(Dense(units, linear)): y[n, t] = x[n, t] W + b.
inline SizeCase time_distributed_dense_case(int64_t T, int64_t K, int64_t u) {
  SizeCase c;
  c.cls = "TimeDistributed";
  c.config = "{\"name\": \"td\", \"layer\": {\"class_name\": \"Dense\", \"config\": {\"name\": \"d\", \"units\": " +
             std::to_string(u) + "}}}";
  c.inputs = {{T, K}};
  c.ref = [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];
    const std::vector<float>& W = ri.params[0].data;  // (K, u)
    const std::vector<float>& b = ri.params[1].data;  // (u)
    const int64_t rows = ri.N * T;
    RefOut o;
    o.y.assign(rows * u, 0);
    o.dx.assign(1, std::vector<double>(x.size(), 0));
    o.dp = {std::vector<double>(W.size(), 0), std::vector<double>(u, 0)};
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < u; ++j) {
        double v = b[j];
        const double g = ri.dout.data[r * u + j];
        for (int64_t k = 0; k < K; ++k) {
          v += x.data[r * K + k] * W[k * u + j];
          o.dx[0][r * K + k] += g * W[k * u + j];
          o.dp[0][k * u + j] += g * x.data[r * K + k];
        }
        o.y[r * u + j] = v;
        o.dp[1][j] += g;
      }
    return o;
  };
  return c;
}

inline const std::vector<SizeCase>& seq_cases() {
  static const std::vector<SizeCase> c = [] {
    std::vector<SizeCase> v;
    v.push_back(rnn_case(Cell::SimpleRNN, 5, 3, 4, false, false));
    v.push_back(rnn_case(Cell::SimpleRNN, 5, 3, 4, true, true));
    v.push_back(rnn_case(Cell::SimpleRNN, 3, 2, 5, true, false, "softsign"));
    v.push_back(rnn_case(Cell::LSTM, 5, 3, 4, false, false));
    v.push_back(rnn_case(Cell::LSTM, 5, 3, 4, true, true));
    v.push_back(rnn_case(Cell::LSTM, 1, 3, 2, true, false));
    v.push_back(rnn_case(Cell::GRU, 5, 3, 4, true, false));
    v.push_back(rnn_case(Cell::GRU, 5, 3, 4, false, true));
    v.push_back(rnn_case(Cell::GRU, 4, 2, 3, true, true, "sigmoid"));
    v.push_back(cudnn_lstm_case(5, 3, 4, true));
    v.push_back(cudnn_gru_case(5, 3, 4, true));
    v.push_back(cudnn_gru_case(4, 2, 3, false));
    v.push_back(masking_case(6, 3, 0.0));
    add_temporal_cases(v);
    v.push_back(bidirectional_case(Cell::LSTM, 5, 3, 4, true, "concat"));
    v.push_back(bidirectional_case(Cell::GRU, 4, 2, 3, false, "sum"));
    v.push_back(bidirectional_case(Cell::SimpleRNN, 3, 2, 2, true, "sum"));
    v.push_back(time_distributed_dense_case(5, 3, 4));
    return v;
  }();
  return c;
}

}  // namespace ls
