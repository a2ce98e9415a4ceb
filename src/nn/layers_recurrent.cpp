// Recurrent layers (Keras 2.2 equations and weight layouts): SimpleRNN, LSTM, GRU.
// Input (N, T, in). The inputs of all steps are projected with one GEMM,
// xp = x (T*N, in) * kernel (in, G*u) + bias, then the steps run in order
// (reversed for go_backwards), each adding h_prev (N, u) * recurrent_kernel
// (u, G*u). State buffers are kept time-major, (T, N, .), in processing
// order, so that each step's slice is contiguous; backward through time
// reuses them and finishes with one GEMM each for the kernel, the recurrent
// kernel and the input gradient.
#include <algorithm>
#include <string>

#include "activations.h"
#include "gemm.h"
#include "initializers.h"
#include "layer.h"

namespace kn {

namespace {
Activation act_of(const Json& cfg, const char* key, const char* fallback) {
  const Json& a = cfg.get(key, Json(fallback));
  return activation_from_name(a.is_string() ? a.as_string() : std::string("linear"));
}
}  // namespace

class RecurrentBase : public Layer {
 public:
  static constexpr size_t kScratchSlots = 10;
  int64_t units = 0;
  int64_t gates = 1;  // G: 1 SimpleRNN, 4 LSTM
  Activation act = Activation::Tanh;
  bool use_bias = true, return_sequences = false, go_backwards = false, unroll = false;
  Json kernel_init, recurrent_init, bias_init;

  Shape build(const std::vector<Shape>& in, Rng& rng) override {
    const Shape& s = in.at(0);
    if (s.size() != 2)
      throw Error("layer '" + name + "' (" + class_name() + ") expects inputs of shape (batch, time, features), got " +
                  shape_str(s));
    const int64_t fan_in = s[1], gu = gates * units;
    if (!built_) {
      params.resize(use_bias ? 3 : 2);
      params[0].name = "kernel";
      params[0].value = Tensor({fan_in, gu});  // (in, G*u)
      initialize(params[0].value, kernel_init, fan_in, gu, rng);
      params[1].name = "recurrent_kernel";
      params[1].value = Tensor({units, gu});   // (u, G*u)
      initialize(params[1].value, recurrent_init, units, gu, rng);
      if (use_bias) {
        params[2].name = "bias";
        params[2].value = Tensor({gu});        // (G*u)
        init_bias(params[2].value, rng);
      }
      for (auto& p : params) p.grad = Tensor(p.value.shape);
      built_ = true;
    } else if (params[0].value.shape[0] != fan_in) {
      throw Error("layer '" + name + "' (" + class_name() + ") expects " +
                  std::to_string(params[0].value.shape[0]) + " features per step but got " + shape_str(s));
    }
    if (return_sequences) return {s[0], units};  // (T, u)
    return {units};                              // (u)
  }

  virtual void init_bias(Tensor& b, Rng& rng) { initialize(b, bias_init, b.size(), b.size(), rng); }

  // Steps: on entry A (T, N, G*u) holds x*kernel + bias per step; the cell adds
  // the recurrent term, activates in place, and fills H (T, N, u).
  virtual void cell_forward(Scratch& sc, int64_t T, int64_t N) = 0;
  // From dH (T, N, u) (the gradient reaching each h directly from the output)
  // fill DZ (T, N, G*u), the gradient of the pre-activations xp + h_prev*U.
  virtual void cell_backward(Scratch& sc, int64_t T, int64_t N) = 0;

  // Scratch slots: 0 Xs (T, N, in) inputs in processing order; 1 A (T, N, G*u);
  // 2 H (T, N, u); 3 dH (T, N, u); 4 DZ (T, N, G*u); 5 dXs (T, N, in);
  // 6.. cell-specific.
  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];                  // (N, T, in)
    const int64_t N = x.shape[0], T = x.shape[1], k = x.shape[2], gu = gates * units;
    Scratch& sc = *ctx.scratch;
    sc.at(kScratchSlots - 1);                  // size the slot vector once: references stay valid
    Tensor& xs = sc.at(0);
    xs.resize({T, N, k});                      // (T, N, in), step s = time go_backwards ? T-1-s : s
    for (int64_t s = 0; s < T; ++s) {
      const int64_t t = go_backwards ? T - 1 - s : s;
      for (int64_t n = 0; n < N; ++n)
        std::copy(x.ptr() + (n * T + t) * k, x.ptr() + (n * T + t + 1) * k, xs.ptr() + (s * N + n) * k);
    }
    Tensor& a = sc.at(1);
    a.resize({T, N, gu});                      // (T, N, G*u)
    if (use_bias) {
      const float* b = params[2].value.ptr();  // (G*u)
      for (int64_t r = 0; r < T * N; ++r) std::copy(b, b + gu, a.ptr() + r * gu);
    }
    sgemm(false, false, T * N, gu, k, 1.0f, xs.ptr(), k, params[0].value.ptr(), gu,
          use_bias ? 1.0f : 0.0f, a.ptr(), gu);
    sc.at(2).resize({T, N, units});            // H (T, N, u)
    cell_forward(sc, T, N);
    const float* h = sc.at(2).ptr();
    float* y = out.ptr();                      // (N, T, u) or (N, u)
    if (return_sequences) {
      for (int64_t s = 0; s < T; ++s)
        for (int64_t n = 0; n < N; ++n)
          std::copy(h + (s * N + n) * units, h + (s * N + n + 1) * units, y + (n * T + s) * units);
    } else {
      std::copy(h + (T - 1) * N * units, h + T * N * units, y);
    }
  }

  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor&,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    const Tensor& x = *in[0];                  // (N, T, in)
    const int64_t N = x.shape[0], T = x.shape[1], k = x.shape[2], gu = gates * units;
    Scratch& sc = *ctx.scratch;
    sc.at(kScratchSlots - 1);                  // size the slot vector once: references stay valid
    Tensor& dh = sc.at(3);
    dh.resize({T, N, units});                  // (T, N, u)
    std::fill(dh.data.begin(), dh.data.end(), 0.0f);
    const float* dy = dout.ptr();              // (N, T, u) or (N, u)
    if (return_sequences) {
      for (int64_t s = 0; s < T; ++s)
        for (int64_t n = 0; n < N; ++n)
          std::copy(dy + (n * T + s) * units, dy + (n * T + s + 1) * units, dh.ptr() + (s * N + n) * units);
    } else {
      std::copy(dy, dy + N * units, dh.ptr() + (T - 1) * N * units);
    }
    Tensor& dz = sc.at(4);
    dz.resize({T, N, gu});                     // (T, N, G*u)
    cell_backward(sc, T, N);
    const Tensor& xs = sc.at(0);               // (T, N, in)
    if (trainable) {
      // dW (in, G*u) += Xs^T (in, T*N) * DZ (T*N, G*u)
      sgemm(true, false, k, gu, T * N, 1.0f, xs.ptr(), k, dz.ptr(), gu, 1.0f, params[0].grad.ptr(), gu);
      recurrent_kernel_grad(sc, T, N);
      if (use_bias) {
        float* db = params[2].grad.ptr();      // (G*u)
        for (int64_t r = 0; r < T * N; ++r)
          for (int64_t j = 0; j < gu; ++j) db[j] += dz.data[r * gu + j];
      }
    }
    if (din[0]) {
      Tensor& dxs = sc.at(5);
      dxs.resize({T, N, k});                   // (T, N, in) = DZ (T*N, G*u) * W^T (G*u, in)
      sgemm(false, true, T * N, k, gu, 1.0f, dz.ptr(), gu, params[0].value.ptr(), gu, 0.0f, dxs.ptr(), k);
      float* dx = din[0]->ptr();               // (N, T, in)
      for (int64_t s = 0; s < T; ++s) {
        const int64_t t = go_backwards ? T - 1 - s : s;
        for (int64_t n = 0; n < N; ++n) {
          const float* src = dxs.ptr() + (s * N + n) * k;
          float* dst = dx + (n * T + t) * k;
          for (int64_t j = 0; j < k; ++j) dst[j] += src[j];
        }
      }
    }
  }

  // dU (u, G*u) += H[0..T-2]^T (u, (T-1)*N) * DZ[1..T-1]; step 0 starts from h = 0.
  virtual void recurrent_kernel_grad(Scratch& sc, int64_t T, int64_t N) {
    const int64_t gu = gates * units;
    if (T > 1)
      sgemm(true, false, units, gu, (T - 1) * N, 1.0f, sc.at(2).ptr(), units, sc.at(4).ptr() + N * gu, gu,
            1.0f, params[1].grad.ptr(), gu);
  }

  Json rnn_config() const {
    Json c = base_config();
    c.set("return_sequences", return_sequences);
    c.set("return_state", false);
    c.set("go_backwards", go_backwards);
    c.set("stateful", false);
    c.set("unroll", unroll);
    c.set("units", units);
    c.set("activation", activation_name(act));
    c.set("use_bias", use_bias);
    c.set("kernel_initializer", kernel_init);
    c.set("recurrent_initializer", recurrent_init);
    c.set("bias_initializer", bias_init);
    for (const char* key : {"kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                            "activity_regularizer", "kernel_constraint", "recurrent_constraint",
                            "bias_constraint"})
      c.set(key, Json());
    c.set("dropout", 0.0);
    c.set("recurrent_dropout", 0.0);
    return c;
  }
};

// Reads the arguments all recurrent layers share; unsupported ones throw.
void apply_rnn_config(RecurrentBase& l, const Json& cfg) {
  apply_base_config(l, cfg);
  const std::string who = "layer '" + l.name + "' (" + l.class_name() + "): ";
  l.units = config_count(cfg, "units", l);
  if (l.units <= 0) throw Error(who + "units must be a positive integer");
  for (const char* key : {"return_state", "stateful"})
    if (cfg.get(key, Json(false)).as_bool())
      throw Error(who + key + " = TRUE is not supported yet");
  for (const char* key : {"dropout", "recurrent_dropout"})
    if (cfg.get(key, Json(0.0)).as_number() != 0.0)
      throw Error(who + key + " > 0 is not supported yet");
  for (const char* key : {"kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
                          "activity_regularizer", "kernel_constraint", "recurrent_constraint",
                          "bias_constraint"})
    if (!cfg.get(key, Json()).is_null()) throw Error(who + key + " is not supported yet");
  l.act = act_of(cfg, "activation", "tanh");
  l.use_bias = cfg.get("use_bias", Json(true)).as_bool();
  l.return_sequences = cfg.get("return_sequences", Json(false)).as_bool();
  l.go_backwards = cfg.get("go_backwards", Json(false)).as_bool();
  l.unroll = cfg.get("unroll", Json(false)).as_bool();  // same result either way
  l.kernel_init = initializer_config(cfg.get("kernel_initializer", Json("glorot_uniform")));
  l.recurrent_init = initializer_config(cfg.get("recurrent_initializer", Json("orthogonal")));
  l.bias_init = initializer_config(cfg.get("bias_initializer", Json("zeros")));
}

// ---------------------------------------------------------------- SimpleRNN
// h_t = act(x_t W + b + h_{t-1} U)
class SimpleRNN : public RecurrentBase {
 public:
  std::string class_name() const override { return "SimpleRNN"; }

  void cell_forward(Scratch& sc, int64_t T, int64_t N) override {
    float* a = sc.at(1).ptr();                 // (T, N, u)
    float* h = sc.at(2).ptr();                 // (T, N, u)
    const float* U = params[1].value.ptr();    // (u, u)
    const int64_t step = N * units;
    for (int64_t s = 0; s < T; ++s) {
      float* z = a + s * step;                 // (N, u)
      if (s > 0) sgemm(false, false, N, units, units, 1.0f, h + (s - 1) * step, units, U, units, 1.0f, z, units);
      activation_forward(act, z, N, units);
      std::copy(z, z + step, h + s * step);
    }
  }

  void cell_backward(Scratch& sc, int64_t T, int64_t N) override {
    const float* h = sc.at(2).ptr();           // (T, N, u)
    float* dh = sc.at(3).ptr();                // (T, N, u)
    float* dz = sc.at(4).ptr();                // (T, N, u)
    const float* U = params[1].value.ptr();    // (u, u)
    const int64_t step = N * units;
    for (int64_t s = T - 1; s >= 0; --s) {
      activation_backward(act, h + s * step, dh + s * step, dz + s * step, N, units);
      // dh[s-1] (N, u) += dz[s] (N, u) * U^T
      if (s > 0) sgemm(false, true, N, units, units, 1.0f, dz + s * step, units, U, units, 1.0f,
                       dh + (s - 1) * step, units);
    }
  }

  Json config() const override { return rnn_config(); }
};

LayerPtr make_simple_rnn(const Json& cfg) {
  auto l = std::make_shared<SimpleRNN>();
  l->gates = 1;
  apply_rnn_config(*l, cfg);
  return l;
}
KN_REGISTER_LAYER(SimpleRNN, make_simple_rnn);

// ---------------------------------------------------------------- LSTM
// Gates in Keras's order i, f, c, o (column blocks of kernel/recurrent_kernel/bias):
// i = ra(z_i), f = ra(z_f), g = act(z_c), o = ra(z_o), c_t = f c_{t-1} + i g,
// h_t = o act(c_t), with z = x_t W + b + h_{t-1} U.
class LSTM : public RecurrentBase {
 public:
  Activation rec_act = Activation::HardSigmoid;
  bool unit_forget_bias = true;
  int64_t implementation = 1;

  std::string class_name() const override { return "LSTM"; }

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

  // Cell slots: 6 C (T, N, u) cell states; 7 TC (T, N, u) = act(C); 8 dc (N, u);
  // 9 tmp (N, u).
  void cell_forward(Scratch& sc, int64_t T, int64_t N) override {
    const int64_t u = units, gu = 4 * u;
    float* a = sc.at(1).ptr();                 // (T, N, 4u)
    float* h = sc.at(2).ptr();                 // (T, N, u)
    Tensor& cT = sc.at(6);
    cT.resize({T, N, u});                      // (T, N, u)
    Tensor& tcT = sc.at(7);
    tcT.resize({T, N, u});                     // (T, N, u)
    const float* U = params[1].value.ptr();    // (u, 4u)
    for (int64_t s = 0; s < T; ++s) {
      float* z = a + s * N * gu;               // (N, 4u)
      if (s > 0) sgemm(false, false, N, gu, u, 1.0f, h + (s - 1) * N * u, u, U, gu, 1.0f, z, gu);
      float* c = cT.ptr() + s * N * u;         // (N, u)
      float* tc = tcT.ptr() + s * N * u;       // (N, u)
      for (int64_t n = 0; n < N; ++n) {
        float* zn = z + n * gu;
        activation_forward(rec_act, zn, 1, u);           // i
        activation_forward(rec_act, zn + u, 1, u);       // f
        activation_forward(act, zn + 2 * u, 1, u);       // g
        activation_forward(rec_act, zn + 3 * u, 1, u);   // o
        const float* cp = s > 0 ? cT.ptr() + ((s - 1) * N + n) * u : nullptr;
        for (int64_t j = 0; j < u; ++j)
          c[n * u + j] = (cp ? zn[u + j] * cp[j] : 0.0f) + zn[j] * zn[2 * u + j];
      }
      std::copy(c, c + N * u, tc);
      activation_forward(act, tc, N, u);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t j = 0; j < u; ++j)
          h[(s * N + n) * u + j] = z[n * gu + 3 * u + j] * tc[n * u + j];
    }
  }

  void cell_backward(Scratch& sc, int64_t T, int64_t N) override {
    const int64_t u = units, gu = 4 * u;
    const float* a = sc.at(1).ptr();           // (T, N, 4u) activated gates
    float* dh = sc.at(3).ptr();                // (T, N, u)
    float* dz = sc.at(4).ptr();                // (T, N, 4u)
    const float* cT = sc.at(6).ptr();          // (T, N, u)
    const float* tcT = sc.at(7).ptr();         // (T, N, u)
    Tensor& dcn = sc.at(8);
    dcn.resize({N, u});                        // (N, u) dL/dc flowing from step s+1
    std::fill(dcn.data.begin(), dcn.data.end(), 0.0f);
    Tensor& tmp = sc.at(9);
    tmp.resize({N, u});                        // (N, u)
    const float* U = params[1].value.ptr();    // (u, 4u)
    for (int64_t s = T - 1; s >= 0; --s) {
      const float* g = a + s * N * gu;         // (N, 4u)
      const float* tc = tcT + s * N * u;       // (N, u)
      float* d = dz + s * N * gu;              // (N, 4u): first the gate gradients, then pre-activation
      const float* dhs = dh + s * N * u;       // (N, u)
      for (int64_t r = 0; r < N * u; ++r) {
        const int64_t n = r / u, j = r % u;
        tmp.data[r] = dhs[r] * g[n * gu + 3 * u + j];  // dL/d act(c)
      }
      activation_backward(act, tc, tmp.ptr(), tmp.ptr(), N, u);  // dL/dc through h
      for (int64_t n = 0; n < N; ++n) {
        const float* gn = g + n * gu;
        float* dn = d + n * gu;
        for (int64_t j = 0; j < u; ++j) {
          const int64_t r = n * u + j;
          const float dc = dcn.data[r] + tmp.data[r];
          const float cp = s > 0 ? cT[((s - 1) * N + n) * u + j] : 0.0f;
          dn[j] = dc * gn[2 * u + j];             // di
          dn[u + j] = dc * cp;                    // df
          dn[2 * u + j] = dc * gn[j];             // dg
          dn[3 * u + j] = dhs[r] * tc[r];         // do
          dcn.data[r] = dc * gn[u + j];
        }
        activation_backward(rec_act, gn, dn, dn, 1, u);
        activation_backward(rec_act, gn + u, dn + u, dn + u, 1, u);
        activation_backward(act, gn + 2 * u, dn + 2 * u, dn + 2 * u, 1, u);
        activation_backward(rec_act, gn + 3 * u, dn + 3 * u, dn + 3 * u, 1, u);
      }
      // dh[s-1] (N, u) += dz[s] (N, 4u) * U^T (4u, u)
      if (s > 0) sgemm(false, true, N, u, gu, 1.0f, d, gu, U, gu, 1.0f, dh + (s - 1) * N * u, u);
    }
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
  l->rec_act = act_of(cfg, "recurrent_activation", "hard_sigmoid");
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
class GRU : public RecurrentBase {
 public:
  Activation rec_act = Activation::HardSigmoid;
  int64_t implementation = 1;

  std::string class_name() const override { return "GRU"; }

  // Cell slot: 6 RH (T, N, u) = r * h_{t-1} (zero at step 0); 7 tmp (N, u).
  void cell_forward(Scratch& sc, int64_t T, int64_t N) override {
    const int64_t u = units, gu = 3 * u;
    float* a = sc.at(1).ptr();                 // (T, N, 3u)
    float* h = sc.at(2).ptr();                 // (T, N, u)
    Tensor& rhT = sc.at(6);
    rhT.resize({T, N, u});                     // (T, N, u)
    const float* U = params[1].value.ptr();    // (u, 3u)
    for (int64_t s = 0; s < T; ++s) {
      float* z = a + s * N * gu;               // (N, 3u)
      const float* hp = s > 0 ? h + (s - 1) * N * u : nullptr;  // (N, u)
      float* rh = rhT.ptr() + s * N * u;       // (N, u)
      if (hp) sgemm(false, false, N, 2 * u, u, 1.0f, hp, u, U, gu, 1.0f, z, gu);
      for (int64_t n = 0; n < N; ++n) {
        activation_forward(rec_act, z + n * gu, 1, u);      // z
        activation_forward(rec_act, z + n * gu + u, 1, u);  // r
        for (int64_t j = 0; j < u; ++j) rh[n * u + j] = hp ? z[n * gu + u + j] * hp[n * u + j] : 0.0f;
      }
      if (hp) sgemm(false, false, N, u, u, 1.0f, rh, u, U + 2 * u, gu, 1.0f, z + 2 * u, gu);
      for (int64_t n = 0; n < N; ++n) {
        float* zn = z + n * gu;
        activation_forward(act, zn + 2 * u, 1, u);          // hh
        for (int64_t j = 0; j < u; ++j)
          h[(s * N + n) * u + j] = zn[j] * (hp ? hp[n * u + j] : 0.0f) + (1.0f - zn[j]) * zn[2 * u + j];
      }
    }
  }

  void cell_backward(Scratch& sc, int64_t T, int64_t N) override {
    const int64_t u = units, gu = 3 * u;
    const float* a = sc.at(1).ptr();           // (T, N, 3u) activated z, r, hh
    const float* h = sc.at(2).ptr();           // (T, N, u)
    float* dh = sc.at(3).ptr();                // (T, N, u)
    float* dz = sc.at(4).ptr();                // (T, N, 3u)
    Tensor& drh = sc.at(7);
    drh.resize({N, u});                        // (N, u) dL/d(r h_{t-1})
    const float* U = params[1].value.ptr();    // (u, 3u)
    for (int64_t s = T - 1; s >= 0; --s) {
      const float* g = a + s * N * gu;         // (N, 3u)
      float* d = dz + s * N * gu;              // (N, 3u)
      const float* dhs = dh + s * N * u;       // (N, u)
      const float* hp = s > 0 ? h + (s - 1) * N * u : nullptr;
      float* dhp = s > 0 ? dh + (s - 1) * N * u : nullptr;
      for (int64_t n = 0; n < N; ++n) {
        const float* gn = g + n * gu;
        float* dn = d + n * gu;
        for (int64_t j = 0; j < u; ++j) {
          const float hpj = hp ? hp[n * u + j] : 0.0f, d1 = dhs[n * u + j];
          dn[j] = d1 * (hpj - gn[2 * u + j]);         // dz (before ra')
          dn[2 * u + j] = d1 * (1.0f - gn[j]);        // dhh (before act')
          if (dhp) dhp[n * u + j] += d1 * gn[j];
        }
        activation_backward(act, gn + 2 * u, dn + 2 * u, dn + 2 * u, 1, u);
      }
      // d(r h) (N, u) = Dh (N, u) * Uh^T (u, u)
      sgemm(false, true, N, u, u, 1.0f, d + 2 * u, gu, U + 2 * u, gu, 0.0f, drh.ptr(), u);
      for (int64_t n = 0; n < N; ++n) {
        const float* gn = g + n * gu;
        float* dn = d + n * gu;
        for (int64_t j = 0; j < u; ++j) {
          const float hpj = hp ? hp[n * u + j] : 0.0f;
          dn[u + j] = drh.data[n * u + j] * hpj;      // dr (before ra')
          if (dhp) dhp[n * u + j] += drh.data[n * u + j] * gn[u + j];
        }
        activation_backward(rec_act, gn, dn, dn, 1, u);
        activation_backward(rec_act, gn + u, dn + u, dn + u, 1, u);
      }
      // dh[s-1] (N, u) += D(z, r) (N, 2u) * U(z, r)^T (2u, u)
      if (dhp) sgemm(false, true, N, u, 2 * u, 1.0f, d, gu, U, gu, 1.0f, dhp, u);
    }
  }

  // dU(z, r) += H[0..T-2]^T D(z, r)[1..]; dUh += RH[1..]^T Dh[1..].
  void recurrent_kernel_grad(Scratch& sc, int64_t T, int64_t N) override {
    const int64_t u = units, gu = 3 * u;
    if (T < 2) return;
    const float* dz = sc.at(4).ptr() + N * gu;  // (T-1, N, 3u)
    float* gU = params[1].grad.ptr();           // (u, 3u)
    sgemm(true, false, u, 2 * u, (T - 1) * N, 1.0f, sc.at(2).ptr(), u, dz, gu, 1.0f, gU, gu);
    sgemm(true, false, u, u, (T - 1) * N, 1.0f, sc.at(6).ptr() + N * u, u, dz + 2 * u, gu, 1.0f,
          gU + 2 * u, gu);
  }

  Json config() const override {
    Json c = rnn_config();
    c.set("recurrent_activation", activation_name(rec_act));
    c.set("implementation", implementation);
    c.set("reset_after", false);
    return c;
  }
};

LayerPtr make_gru(const Json& cfg) {
  auto l = std::make_shared<GRU>();
  l->gates = 3;
  apply_rnn_config(*l, cfg);
  l->rec_act = act_of(cfg, "recurrent_activation", "hard_sigmoid");
  l->implementation = cfg.get("implementation", Json(static_cast<int64_t>(1))).as_int();
  if (l->implementation != 1 && l->implementation != 2)
    throw Error("layer '" + l->name + "' (GRU): implementation must be 1 or 2");
  if (cfg.get("reset_after", Json(false)).as_bool())
    throw Error("layer '" + l->name + "' (GRU): reset_after = TRUE is not supported yet");
  return l;
}
KN_REGISTER_LAYER(GRU, make_gru);

}  // namespace kn
