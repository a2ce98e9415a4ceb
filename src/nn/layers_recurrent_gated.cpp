// LSTM and GRU cells on RecurrentBase (layers_recurrent.h).
#include <algorithm>
#include <string>
#include <vector>

#include "gemm.h"
#include "initializers.h"
#include "layers_recurrent.h"

namespace kn {

// ---------------------------------------------------------------- LSTM
// Gates in Keras's order i, f, c, o (column blocks of kernel/recurrent_kernel/bias):
// i = ra(z_i), f = ra(z_f), g = act(z_c), o = ra(z_o), c_t = f c_{t-1} + i g,
// h_t = o act(c_t), with z = x_t W + b + h_{t-1} U.
class LSTM : public RecurrentBase {
 public:
  Activation rec_act = Activation::HardSigmoid;
  bool unit_forget_bias = true;

  std::string class_name() const override { return "LSTM"; }
  int n_states() const override { return 2; }

  void init_bias(Tensor& b, Rng& rng) override {
    initialize(b, bias_init, b.size(), b.size(), rng);
    if (unit_forget_bias) {  // Keras: zeros/init for i, ones for f, init for c and o
      Tensor part({units});
      for (int64_t blk : {0, 2, 3}) {
        initialize(part, bias_init, units, units, rng);
        std::copy(part.data.begin(), part.data.end(), b.data.begin() + blk * units);
      }
      std::fill(b.data.begin() + units, b.data.begin() + 2 * units, 1.0f);
    }
  }

  enum { kC = 6, kTC = 7, kdc = 8, kTmp = 9 };
  // Cell slots: 6 C (T, N, u) cell states; 7 TC (T, N, u) = act(C); 8 dc (N, u);
  // 9 tmp (N, u).
  void cell_forward(Scratch& sc, int64_t T, int64_t N, const float* mask, bool zero0) override {
    const int64_t u = units, gu = 4 * u;
    float* a = sc.at(kA).ptr();                // (T, N, 4u)
    float* h = sc.at(kH).ptr();                // (T, N, u)
    sc.at(kC).resize({T, N, u});               // (T, N, u)
    sc.at(kTC).resize({T, N, u});              // (T, N, u)
    for (int64_t s = 0; s < T; ++s) {
      float* z = a + s * N * gu;               // (N, 4u)
      const float* hp = prev(sc, kH0, kH, s, N * u);  // (N, u)
      const float* cp = prev(sc, kC0, static_cast<Slot>(kC), s, N * u);  // (N, u)
      if (s > 0 || !zero0) rec_product(sc, hp, N, z, 0, 4);
      float* c = sc.at(kC).ptr() + s * N * u;  // (N, u)
      float* tc = sc.at(kTC).ptr() + s * N * u;  // (N, u)
      for (int64_t n = 0; n < N; ++n) {
        float* zn = z + n * gu;
        activation_forward(rec_act, zn, 1, u);           // i
        activation_forward(rec_act, zn + u, 1, u);       // f
        activation_forward(act, zn + 2 * u, 1, u);       // g
        activation_forward(rec_act, zn + 3 * u, 1, u);   // o
        for (int64_t j = 0; j < u; ++j) c[n * u + j] = zn[u + j] * cp[n * u + j] + zn[j] * zn[2 * u + j];
      }
      std::copy(c, c + N * u, tc);
      activation_forward(act, tc, N, u);
      for (int64_t n = 0; n < N; ++n) {
        float* hn = h + (s * N + n) * u;
        if (mask && mask[s * N + n] == 0.0f) {  // masked step: keep h and c
          std::copy(hp + n * u, hp + (n + 1) * u, hn);
          std::copy(cp + n * u, cp + (n + 1) * u, c + n * u);
          continue;
        }
        for (int64_t j = 0; j < u; ++j) hn[j] = z[n * gu + 3 * u + j] * tc[n * u + j];
      }
    }
  }

  void cell_backward(Scratch& sc, int64_t T, int64_t N, const float* mask) override {
    const int64_t u = units, gu = 4 * u;
    const float* a = sc.at(kA).ptr();          // (T, N, 4u) activated gates
    float* dz = sc.at(kDZ).ptr();              // (T, N, 4u)
    const float* tcT = sc.at(kTC).ptr();       // (T, N, u)
    Tensor& dcn = sc.at(kdc);
    dcn = sc.at(kdC0);                         // (N, u) dL/dc flowing from step s+1 (final c's on entry)
    Tensor& tmp = sc.at(kTmp);
    tmp.resize({N, u});                        // (N, u)
    for (int64_t s = T - 1; s >= 0; --s) {
      const float* g = a + s * N * gu;         // (N, 4u)
      const float* tc = tcT + s * N * u;       // (N, u)
      const float* cp = prev(sc, kC0, static_cast<Slot>(kC), s, N * u);  // (N, u)
      float* d = dz + s * N * gu;              // (N, 4u): first the gate gradients, then pre-activation
      float* dhs = sc.at(kdH).ptr() + s * N * u;  // (N, u)
      float* dhp = prev(sc, kdH0, kdH, s, N * u);  // (N, u)
      for (int64_t r = 0; r < N * u; ++r) {
        const int64_t n = r / u, j = r % u;
        tmp.data[r] = dhs[r] * g[n * gu + 3 * u + j];  // dL/d act(c)
      }
      activation_backward(act, tc, tmp.ptr(), tmp.ptr(), N, u);  // dL/dc through h
      for (int64_t n = 0; n < N; ++n) {
        const float* gn = g + n * gu;
        float* dn = d + n * gu;
        if (mask && mask[s * N + n] == 0.0f) {  // masked: h and c pass through
          std::fill(dn, dn + gu, 0.0f);
          for (int64_t j = 0; j < u; ++j) dhp[n * u + j] += dhs[n * u + j];
          continue;
        }
        for (int64_t j = 0; j < u; ++j) {
          const int64_t r = n * u + j;
          const float dc = dcn.data[r] + tmp.data[r];
          dn[j] = dc * gn[2 * u + j];             // di
          dn[u + j] = dc * cp[r];                 // df
          dn[2 * u + j] = dc * gn[j];             // dg
          dn[3 * u + j] = dhs[r] * tc[r];         // do
          dcn.data[r] = dc * gn[u + j];
        }
        activation_backward(rec_act, gn, dn, dn, 1, u);
        activation_backward(rec_act, gn + u, dn + u, dn + u, 1, u);
        activation_backward(act, gn + 2 * u, dn + 2 * u, dn + 2 * u, 1, u);
        activation_backward(rec_act, gn + 3 * u, dn + 3 * u, dn + 3 * u, 1, u);
      }
      // dh_prev (N, u) += dz[s] (N, 4u) * U^T (4u, u) (times the recurrent dropout masks)
      rec_product_back(sc, d, N, dhp, 0, 4);
    }
    sc.at(kdC0) = dcn;                         // dL/dc0 (N, u)
  }

  const float* final_state(Scratch& sc, int k, int64_t T, int64_t N) override {
    if (k == 0) return RecurrentBase::final_state(sc, k, T, N);
    return sc.at(kC).ptr() + (T - 1) * N * units;
  }

  Json config() const override {
    Json c = rnn_config();
    c.set("recurrent_activation", activation_name(rec_act));
    c.set("unit_forget_bias", unit_forget_bias);
    c.set("implementation", implementation);
    return c;
  }
};

LayerPtr make_lstm(const Json& cfg) {
  auto l = std::make_shared<LSTM>();
  l->gates = 4;
  apply_rnn_config(*l, cfg);
  l->rec_act = rnn_activation(cfg, "recurrent_activation", "hard_sigmoid");
  l->unit_forget_bias = cfg.get("unit_forget_bias", Json(true)).as_bool();
  l->implementation = cfg.get("implementation", Json(static_cast<int64_t>(1))).as_int();
  if (l->implementation != 1 && l->implementation != 2)
    throw Error("layer '" + l->name + "' (LSTM): implementation must be 1 or 2");
  return l;
}
KN_REGISTER_LAYER(LSTM, make_lstm);

// ---------------------------------------------------------------- GRU
// Keras 2.2 (reset_after = FALSE), column blocks z, r, h:
// z = ra(x Wz + bz + h_{t-1} Uz), r = ra(x Wr + br + h_{t-1} Ur),
// hh = act(x Wh + bh + (r h_{t-1}) Uh), h_t = z h_{t-1} + (1 - z) hh.
// reset_after = TRUE (Keras's option, CuDNN's equations): bias (2, 3u) = input
// and recurrent biases, hh = act(x Wh + bh + r (h_{t-1} Uh + rbh)) and the z, r
// pre-activations add rb too. CuDNNGRU is this cell with sigmoid gates.
class GRU : public RecurrentBase {
 public:
  Activation rec_act = Activation::HardSigmoid;
  bool reset_after = false;

  std::string class_name() const override { return "GRU"; }

  Shape bias_shape() const override {
    return reset_after ? Shape{2, 3 * units} : Shape{3 * units};  // (2, 3u): input, recurrent
  }
  void bias_grad(Scratch& sc, int64_t rows) override {
    RecurrentBase::bias_grad(sc, rows);      // input biases from DZ
    if (!reset_after) return;
    const int64_t gu = 3 * units;
    const float* dr = sc.at(kDR).ptr();      // (rows, 3u)
    float* db = params[2].grad.ptr() + gu;   // recurrent biases (3u)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < gu; ++j) db[j] += dr[r * gu + j];
  }

  enum { kRH = 6, kdrh = 7, kDR = 8, kRec = 9 };
  // Cell slots: 6 RH (T, N, u) = r * h_{t-1} (reset_after: h_{t-1} Uh + rbh);
  // 7 drh (N, u); reset_after: 8 DR (T, N, 3u) recurrent-side pre-activation
  // gradients, 9 Rec (N, 3u) recurrent products.
  void cell_forward(Scratch& sc, int64_t T, int64_t N, const float* mask, bool zero0) override {
    if (reset_after) return forward_after(sc, T, N, mask, zero0);
    const int64_t u = units, gu = 3 * u;
    float* a = sc.at(kA).ptr();                // (T, N, 3u)
    float* h = sc.at(kH).ptr();                // (T, N, u)
    sc.at(kRH).resize({T, N, u});              // (T, N, u)
    const float* U = params[1].value.ptr();    // (u, 3u)
    for (int64_t s = 0; s < T; ++s) {
      float* z = a + s * N * gu;               // (N, 3u)
      const float* hp = prev(sc, kH0, kH, s, N * u);  // (N, u)
      float* rh = sc.at(kRH).ptr() + s * N * u;  // (N, u)
      const bool rec = s > 0 || !zero0;
      if (rec) rec_product(sc, hp, N, z, 0, 2);
      const float* m2 = rec_mask(sc, 2, N);    // (N, u) recurrent dropout mask of the h block, or null
      for (int64_t n = 0; n < N; ++n) {
        activation_forward(rec_act, z + n * gu, 1, u);      // z
        activation_forward(rec_act, z + n * gu + u, 1, u);  // r
        for (int64_t j = 0; j < u; ++j)
          rh[n * u + j] = z[n * gu + u + j] * hp[n * u + j] * (m2 ? m2[n * u + j] : 1.0f);
      }
      if (rec) sgemm(false, false, N, u, u, 1.0f, rh, u, U + 2 * u, gu, 1.0f, z + 2 * u, gu);
      for (int64_t n = 0; n < N; ++n) {
        float* zn = z + n * gu;
        float* hn = h + (s * N + n) * u;
        activation_forward(act, zn + 2 * u, 1, u);          // hh
        if (mask && mask[s * N + n] == 0.0f) {              // masked step: keep h
          std::copy(hp + n * u, hp + (n + 1) * u, hn);
          continue;
        }
        for (int64_t j = 0; j < u; ++j) hn[j] = zn[j] * hp[n * u + j] + (1.0f - zn[j]) * zn[2 * u + j];
      }
    }
  }

  void cell_backward(Scratch& sc, int64_t T, int64_t N, const float* mask) override {
    if (reset_after) return backward_after(sc, T, N, mask);
    const int64_t u = units, gu = 3 * u;
    const float* a = sc.at(kA).ptr();          // (T, N, 3u) activated z, r, hh
    float* dz = sc.at(kDZ).ptr();              // (T, N, 3u)
    Tensor& drh = sc.at(kdrh);
    drh.resize({N, u});                        // (N, u) dL/d(r h_{t-1})
    const float* U = params[1].value.ptr();    // (u, 3u)
    for (int64_t s = T - 1; s >= 0; --s) {
      const float* g = a + s * N * gu;         // (N, 3u)
      float* d = dz + s * N * gu;              // (N, 3u)
      float* dhs = sc.at(kdH).ptr() + s * N * u;  // (N, u)
      const float* hp = prev(sc, kH0, kH, s, N * u);  // (N, u)
      float* dhp = prev(sc, kdH0, kdH, s, N * u);     // (N, u)
      if (mask)  // a masked step passes h_prev through unchanged
        for (int64_t n = 0; n < N; ++n)
          if (mask[s * N + n] == 0.0f)
            for (int64_t j = 0; j < u; ++j) {
              dhp[n * u + j] += dhs[n * u + j];
              dhs[n * u + j] = 0.0f;
            }
      for (int64_t n = 0; n < N; ++n) {
        const float* gn = g + n * gu;
        float* dn = d + n * gu;
        for (int64_t j = 0; j < u; ++j) {
          const float d1 = dhs[n * u + j];
          dn[j] = d1 * (hp[n * u + j] - gn[2 * u + j]);  // dz (before ra')
          dn[2 * u + j] = d1 * (1.0f - gn[j]);           // dhh (before act')
          dhp[n * u + j] += d1 * gn[j];
        }
        activation_backward(act, gn + 2 * u, dn + 2 * u, dn + 2 * u, 1, u);
      }
      // d(r h) (N, u) = Dh (N, u) * Uh^T (u, u)
      sgemm(false, true, N, u, u, 1.0f, d + 2 * u, gu, U + 2 * u, gu, 0.0f, drh.ptr(), u);
      const float* m2 = rec_mask(sc, 2, N);    // (N, u) or null
      for (int64_t n = 0; n < N; ++n) {
        const float* gn = g + n * gu;
        float* dn = d + n * gu;
        for (int64_t j = 0; j < u; ++j) {
          const float dm = drh.data[n * u + j] * (m2 ? m2[n * u + j] : 1.0f);  // dL/d(r h m2) * m2
          dn[u + j] = dm * hp[n * u + j];        // dr (before ra')
          dhp[n * u + j] += dm * gn[u + j];
        }
        activation_backward(rec_act, gn, dn, dn, 1, u);
        activation_backward(rec_act, gn + u, dn + u, dn + u, 1, u);
      }
      // dh_prev (N, u) += D(z, r) (N, 2u) * U(z, r)^T (2u, u) (times the recurrent dropout masks)
      rec_product_back(sc, d, N, dhp, 0, 2);
    }
  }

  // dU(z, r) += H0^T D(z, r)[0] + H[0..T-2]^T D(z, r)[1..]; dUh += RH^T Dh (all steps).
  void recurrent_kernel_grad(Scratch& sc, int64_t T, int64_t N) override {
    if (reset_after) return rec_kernel_grad(sc, T, N, 0, 3, kDR);
    const int64_t u = units, gu = 3 * u;
    const float* dz = sc.at(kDZ).ptr();         // (T, N, 3u)
    float* gU = params[1].grad.ptr();           // (u, 3u)
    rec_kernel_grad(sc, T, N, 0, 2);
    sgemm(true, false, u, u, T * N, 1.0f, sc.at(kRH).ptr(), u, dz + 2 * u, gu, 1.0f, gU + 2 * u, gu);
  }

  Json config() const override {
    Json c = rnn_config();
    c.set("recurrent_activation", activation_name(rec_act));
    c.set("implementation", implementation);
    c.set("reset_after", reset_after);
    return c;
  }

 private:
  void forward_after(Scratch& sc, int64_t T, int64_t N, const float* mask, bool zero0) {
    const int64_t u = units, gu = 3 * u;
    float* a = sc.at(kA).ptr();                // (T, N, 3u): x W + input bias
    float* h = sc.at(kH).ptr();                // (T, N, u)
    sc.at(kRH).resize({T, N, u});              // (T, N, u): h_{t-1} Uh + rbh
    Tensor& rec = sc.at(kRec);
    rec.resize({N, gu});                       // (N, 3u)
    const float* rb = use_bias ? params[2].value.ptr() + gu : nullptr;  // (3u) recurrent biases
    for (int64_t s = 0; s < T; ++s) {
      float* z = a + s * N * gu;               // (N, 3u)
      const float* hp = prev(sc, kH0, kH, s, N * u);  // (N, u)
      for (int64_t n = 0; n < N; ++n)
        for (int64_t j = 0; j < gu; ++j) rec.data[n * gu + j] = rb ? rb[j] : 0.0f;
      if (s > 0 || !zero0) rec_product(sc, hp, N, rec.ptr(), 0, 3);
      float* rh = sc.at(kRH).ptr() + s * N * u;  // (N, u)
      for (int64_t n = 0; n < N; ++n) {
        float* zn = z + n * gu;
        const float* rn = rec.ptr() + n * gu;
        for (int64_t j = 0; j < 2 * u; ++j) zn[j] += rn[j];
        activation_forward(rec_act, zn, 1, 2 * u);          // z, r
        for (int64_t j = 0; j < u; ++j) {
          rh[n * u + j] = rn[2 * u + j];
          zn[2 * u + j] += zn[u + j] * rn[2 * u + j];
        }
        activation_forward(act, zn + 2 * u, 1, u);          // hh
        float* hn = h + (s * N + n) * u;
        if (mask && mask[s * N + n] == 0.0f) {              // masked step: keep h
          std::copy(hp + n * u, hp + (n + 1) * u, hn);
          continue;
        }
        for (int64_t j = 0; j < u; ++j) hn[j] = zn[j] * hp[n * u + j] + (1.0f - zn[j]) * zn[2 * u + j];
      }
    }
  }

  void backward_after(Scratch& sc, int64_t T, int64_t N, const float* mask) {
    const int64_t u = units, gu = 3 * u;
    const float* a = sc.at(kA).ptr();          // (T, N, 3u) activated z, r, hh
    float* dz = sc.at(kDZ).ptr();              // (T, N, 3u) input-side pre-activation gradients
    Tensor& drT = sc.at(kDR);
    drT.resize({T, N, gu});                    // (T, N, 3u) recurrent-side
    for (int64_t s = T - 1; s >= 0; --s) {
      const float* g = a + s * N * gu;         // (N, 3u)
      float* d = dz + s * N * gu;              // (N, 3u)
      float* dr = drT.ptr() + s * N * gu;      // (N, 3u)
      float* dhs = sc.at(kdH).ptr() + s * N * u;  // (N, u)
      const float* hp = prev(sc, kH0, kH, s, N * u);  // (N, u)
      const float* rh = sc.at(kRH).ptr() + s * N * u;  // (N, u)
      float* dhp = prev(sc, kdH0, kdH, s, N * u);     // (N, u)
      for (int64_t n = 0; n < N; ++n) {
        const float* gn = g + n * gu;
        float* dn = d + n * gu;
        float* drn = dr + n * gu;
        if (mask && mask[s * N + n] == 0.0f) {  // masked: h passes through
          for (int64_t j = 0; j < u; ++j) dhp[n * u + j] += dhs[n * u + j];
          std::fill(dn, dn + gu, 0.0f);
          std::fill(drn, drn + gu, 0.0f);
          continue;
        }
        for (int64_t j = 0; j < u; ++j) {
          const float d1 = dhs[n * u + j];
          dn[j] = d1 * (hp[n * u + j] - gn[2 * u + j]);  // dz (before ra')
          dn[2 * u + j] = d1 * (1.0f - gn[j]);           // dhh (before act')
          dhp[n * u + j] += d1 * gn[j];
        }
        activation_backward(act, gn + 2 * u, dn + 2 * u, dn + 2 * u, 1, u);
        for (int64_t j = 0; j < u; ++j) {
          dn[u + j] = dn[2 * u + j] * rh[n * u + j];     // dr (before ra')
          drn[2 * u + j] = dn[2 * u + j] * gn[u + j];    // d(h Uh + rbh)
        }
        activation_backward(rec_act, gn, dn, dn, 1, 2 * u);
        std::copy(dn, dn + 2 * u, drn);
      }
      // dh_prev (N, u) += DR (N, 3u) * U^T (times the recurrent dropout masks)
      rec_product_back(sc, dr, N, dhp, 0, 3);
    }
  }
};

LayerPtr make_gru(const Json& cfg) {
  auto l = std::make_shared<GRU>();
  l->gates = 3;
  apply_rnn_config(*l, cfg);
  l->rec_act = rnn_activation(cfg, "recurrent_activation", "hard_sigmoid");
  l->implementation = cfg.get("implementation", Json(static_cast<int64_t>(1))).as_int();
  if (l->implementation != 1 && l->implementation != 2)
    throw Error("layer '" + l->name + "' (GRU): implementation must be 1 or 2");
  l->reset_after = cfg.get("reset_after", Json(false)).as_bool();
  return l;
}
KN_REGISTER_LAYER(GRU, make_gru);

// ---------------------------------------------------------------- CuDNN layers
// Keras's CuDNNLSTM / CuDNNGRU on the CPU with CuDNN's equations: sigmoid gates,
// tanh, no masking, no dropout; kernels as LSTM / GRU, and double biases:
// CuDNNLSTM bias (8u) = input then recurrent biases of i, f, c, o (they add up);
// CuDNNGRU bias (6u) = input then recurrent biases of z, r, h (reset after).
Json cudnn_config(const RecurrentBase& l) {
  Json c = l.rnn_config();
  Json out = Json::object();
  for (const char* key : {"name", "trainable", "batch_input_shape", "dtype", "return_sequences", "return_state",
                          "stateful", "units", "kernel_initializer", "recurrent_initializer", "bias_initializer",
                          "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                          "activity_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint"})
    if (c.has(key)) out.set(key, c[key]);
  return out;
}

void apply_cudnn_config(RecurrentBase& l, const Json& cfg) {
  for (const char* key : {"go_backwards", "dropout", "recurrent_dropout", "activation", "recurrent_activation",
                          "use_bias", "unroll", "implementation", "reset_after"})
    if (cfg.has(key))
      throw Error("layer '" + cfg.get("name", Json("")).as_string() + "' (" + l.class_name() +
                  "): CuDNN layers have no '" + key + "' argument");
  apply_rnn_config(l, cfg);
}

class CuDNNLSTM : public LSTM {
 public:
  std::string class_name() const override { return "CuDNNLSTM"; }
  bool supports_masking() const override { return false; }
  MaskOut output_mask(const std::vector<bool>&) const override { return MaskOut::None; }
  Shape bias_shape() const override { return {8 * units}; }
  void init_bias(Tensor& b, Rng& rng) override {
    initialize(b, bias_init, b.size(), b.size(), rng);
    if (unit_forget_bias) {  // Keras: init(5u), ones(u) (the recurrent forget bias), init(2u)
      Tensor head({5 * units}), tail({2 * units});
      initialize(head, bias_init, head.size(), head.size(), rng);
      initialize(tail, bias_init, tail.size(), tail.size(), rng);
      std::copy(head.data.begin(), head.data.end(), b.data.begin());
      std::fill(b.data.begin() + 5 * units, b.data.begin() + 6 * units, 1.0f);
      std::copy(tail.data.begin(), tail.data.end(), b.data.begin() + 6 * units);
    }
  }
  void input_bias(float* row) const override {  // (4u) = input + recurrent biases
    const float* b = params[2].value.ptr();
    for (int64_t j = 0; j < 4 * units; ++j) row[j] = b[j] + b[4 * units + j];
  }
  void bias_grad(Scratch& sc, int64_t rows) override {
    const int64_t gu = 4 * units;
    const float* dz = sc.at(kDZ).ptr();        // (rows, 4u)
    float* db = params[2].grad.ptr();          // (8u)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < gu; ++j) {
        db[j] += dz[r * gu + j];
        db[gu + j] += dz[r * gu + j];
      }
  }
  Json config() const override {
    Json c = cudnn_config(*this);
    c.set("unit_forget_bias", unit_forget_bias);
    return c;
  }
};

LayerPtr make_cudnn_lstm(const Json& cfg) {
  auto l = std::make_shared<CuDNNLSTM>();
  l->gates = 4;
  apply_cudnn_config(*l, cfg);
  l->rec_act = Activation::Sigmoid;
  l->unit_forget_bias = cfg.get("unit_forget_bias", Json(true)).as_bool();
  return l;
}
KN_REGISTER_LAYER(CuDNNLSTM, make_cudnn_lstm);

class CuDNNGRU : public GRU {
 public:
  std::string class_name() const override { return "CuDNNGRU"; }
  bool supports_masking() const override { return false; }
  MaskOut output_mask(const std::vector<bool>&) const override { return MaskOut::None; }
  Shape bias_shape() const override { return {6 * units}; }
  Json config() const override { return cudnn_config(*this); }
};

LayerPtr make_cudnn_gru(const Json& cfg) {
  auto l = std::make_shared<CuDNNGRU>();
  l->gates = 3;
  apply_cudnn_config(*l, cfg);
  l->rec_act = Activation::Sigmoid;
  l->reset_after = true;
  return l;
}
KN_REGISTER_LAYER(CuDNNGRU, make_cudnn_gru);

}  // namespace kn
