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
    return v;
  }();
  return c;
}

}  // namespace ls
