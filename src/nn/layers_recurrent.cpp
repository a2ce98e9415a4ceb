// RecurrentBase (see layers_recurrent.h) and SimpleRNN. LSTM and GRU are in
// layers_recurrent_gated.cpp.
#include "layers_recurrent.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gemm.h"
#include "initializers.h"
#include "rng.h"

namespace kn {

Activation rnn_activation(const Json& cfg, const char* key, const char* fallback) {
  const Json& a = cfg.get(key, Json(fallback));
  return activation_from_name(a.is_string() ? a.as_string() : std::string("linear"));
}

Shape RecurrentBase::build(const std::vector<Shape>& in, Rng& rng) {
  const std::string who = "layer '" + name + "' (" + class_name() + ")";
  const Shape& s = in.at(0);
  if (s.size() != 2)
    throw Error(who + " expects inputs of shape (batch, time, features), got " + shape_str(s));
  if (in.size() != 1 && in.size() != static_cast<size_t>(1 + n_states()))
    throw Error(who + " takes the sequence plus " + std::to_string(n_states()) +
                " initial state tensor(s), got " + std::to_string(in.size() - 1) + " state tensor(s)");
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
      params[2].value = Tensor(bias_shape());  // (G*u), or input + recurrent biases
      init_bias(params[2].value, rng);
    }
    for (auto& p : params) p.grad = Tensor(p.value.shape);
    built_ = true;
  } else if (params[0].value.shape[0] != fan_in) {
    throw Error(who + " expects " + std::to_string(params[0].value.shape[0]) + " features per step but got " +
                shape_str(s));
  }
  for (size_t i = 1; i < in.size(); ++i)
    if (in[i] != Shape{units})
      throw Error(who + ": initial state " + std::to_string(i) + " must have shape " + shape_str({units}) +
                  ", got " + shape_str(in[i]));
  if (return_sequences) return {s[0], units};  // (T, u)
  return {units};                              // (u)
}

std::vector<Shape> RecurrentBase::extra_output_shapes(const std::vector<Shape>&) const {
  if (!return_state) return {};
  return std::vector<Shape>(n_states(), Shape{units});  // h (u) (, c (u))
}

void RecurrentBase::init_bias(Tensor& b, Rng& rng) { initialize(b, bias_init, b.size(), b.size(), rng); }

void RecurrentBase::input_bias(float* row) const {
  std::copy(params[2].value.ptr(), params[2].value.ptr() + gates * units, row);
}

void RecurrentBase::bias_grad(Scratch& sc, int64_t rows) {
  const int64_t gu = gates * units;
  const float* dz = sc.at(kDZ).ptr();        // (rows, G*u)
  float* db = params[2].grad.ptr();          // (G*u)
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < gu; ++j) db[j] += dz[r * gu + j];
}

void RecurrentBase::forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) {
  forward_multi(ctx, in, {&out});
}

void RecurrentBase::backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor& out,
                             const Tensor& dout, const std::vector<Tensor*>& din) {
  backward_multi(ctx, in, {&out}, {&dout}, din);
}

void RecurrentBase::forward_multi(const RunContext& ctx, const std::vector<const Tensor*>& in,
                                  const std::vector<Tensor*>& outs) {
  const Tensor& x = *in[0];                  // (N, T, in)
  const int64_t N = x.shape[0], T = x.shape[1], k = x.shape[2], gu = gates * units;
  Scratch& sc = *ctx.scratch;
  sc.at(kScratchSlots - 1);                  // size the slot vector once: references stay valid
  Tensor& xs = sc.at(kXs);
  xs.resize({T, N, k});                      // (T, N, in), step s = time go_backwards ? T-1-s : s
  for (int64_t s = 0; s < T; ++s) {
    const int64_t t = go_backwards ? T - 1 - s : s;
    for (int64_t n = 0; n < N; ++n)
      std::copy(x.ptr() + (n * T + t) * k, x.ptr() + (n * T + t + 1) * k, xs.ptr() + (s * N + n) * k);
  }
  // Dropout masks, once per batch (training only): DM (G, N, in), RM (G, N, u).
  const bool drop_in = ctx.training && dropout > 0.0, drop_rec = ctx.training && recurrent_dropout > 0.0;
  draw_masks(sc.at(kDM), drop_in, N, k, dropout, splitmix64(ctx.step_key ^ 0xD5A1ULL));
  draw_masks(sc.at(kRM), drop_rec, N, units, recurrent_dropout, splitmix64(ctx.step_key ^ 0x5EC7ULL));
  Tensor& a = sc.at(kA);
  a.resize({T, N, gu});                      // (T, N, G*u)
  if (use_bias) {
    std::vector<float> b(gu);                // (G*u)
    input_bias(b.data());
    for (int64_t r = 0; r < T * N; ++r) std::copy(b.begin(), b.end(), a.ptr() + r * gu);
  }
  if (!drop_in) {
    sgemm(false, false, T * N, gu, k, 1.0f, xs.ptr(), k, params[0].value.ptr(), gu, use_bias ? 1.0f : 0.0f,
          a.ptr(), gu);
  } else {
    for (int64_t g = 0; g < gates; ++g) {    // A[:, g] (T*N, u) += (Xs * dm_g) W_g
      const float* xd = masked_inputs(sc, g, T, N, k);
      sgemm(false, false, T * N, units, k, 1.0f, xd, k, params[0].value.ptr() + g * units, gu,
            use_bias ? 1.0f : 0.0f, a.ptr() + g * units, gu);
    }
  }
  sc.at(kH).resize({T, N, units});           // H (T, N, u)
  bool zero0 = in.size() == 1;
  if (stateful && in.size() == 1 && !states.empty()) {
    if (states[0].shape[0] != N)
      throw Error("layer '" + name + "' (" + class_name() + ") is stateful and holds states for batches of " +
                  std::to_string(states[0].shape[0]) + " samples, but got a batch of " + std::to_string(N) +
                  "; use a batch size that divides the data, or call reset_states()");
    zero0 = false;
  }
  for (int st = 0; st < n_states(); ++st) {  // H0, C0 (N, u): given, carried (stateful) or zeros
    Tensor& s0 = sc.at(st == 0 ? kH0 : kC0);
    s0.resize({N, units});
    if (in.size() > 1) std::copy(in[1 + st]->ptr(), in[1 + st]->ptr() + N * units, s0.ptr());
    else if (!zero0) s0 = states[st];
    else s0.zero();
  }
  const float* mask = nullptr;
  if (const Tensor* m = ctx.mask(0)) {
    if (m->size() != N * T)
      throw Error("layer '" + name + "' (" + class_name() + "): the mask has " + std::to_string(m->size()) +
                  " values, expected (batch, time) = " + std::to_string(N * T));
    Tensor& ms = sc.at(kM);
    ms.resize({T, N});                       // (T, N) in processing order
    for (int64_t s = 0; s < T; ++s) {
      const int64_t t = go_backwards ? T - 1 - s : s;
      for (int64_t n = 0; n < N; ++n) ms.data[s * N + n] = m->data[n * T + t] != 0.0f ? 1.0f : 0.0f;
    }
    mask = ms.ptr();
  }
  cell_forward(sc, T, N, mask, zero0);
  if (stateful) {                            // carry the final states (N, u) to the next batch
    states.resize(n_states());
    for (int st = 0; st < n_states(); ++st) {
      const float* f = final_state(sc, st, T, N);
      states[st].resize({N, units});
      std::copy(f, f + N * units, states[st].ptr());
    }
  }
  const float* h = sc.at(kH).ptr();
  float* y = outs[0]->ptr();                 // (N, T, u) or (N, u)
  if (return_sequences) {
    for (int64_t s = 0; s < T; ++s)
      for (int64_t n = 0; n < N; ++n)
        std::copy(h + (s * N + n) * units, h + (s * N + n + 1) * units, y + (n * T + s) * units);
  } else {
    std::copy(h + (T - 1) * N * units, h + T * N * units, y);
  }
  for (size_t o = 1; o < outs.size(); ++o) {  // final states (N, u)
    const float* f = final_state(sc, static_cast<int>(o) - 1, T, N);
    std::copy(f, f + N * units, outs[o]->ptr());
  }
}

void RecurrentBase::backward_multi(const RunContext& ctx, const std::vector<const Tensor*>& in,
                                   const std::vector<const Tensor*>&, const std::vector<const Tensor*>& douts,
                                   const std::vector<Tensor*>& din) {
  const Tensor& x = *in[0];                  // (N, T, in)
  const int64_t N = x.shape[0], T = x.shape[1], k = x.shape[2], gu = gates * units;
  Scratch& sc = *ctx.scratch;
  sc.at(kScratchSlots - 1);                  // size the slot vector once: references stay valid
  Tensor& dh = sc.at(kdH);
  dh.resize({T, N, units});                  // (T, N, u)
  dh.zero();
  const float* dy = douts[0]->ptr();         // (N, T, u) or (N, u)
  if (return_sequences) {
    for (int64_t s = 0; s < T; ++s)
      for (int64_t n = 0; n < N; ++n)
        std::copy(dy + (n * T + s) * units, dy + (n * T + s + 1) * units, dh.ptr() + (s * N + n) * units);
  } else {
    std::copy(dy, dy + N * units, dh.ptr() + (T - 1) * N * units);
  }
  if (douts.size() > 1) {                    // gradient of the final h (N, u)
    float* last = dh.ptr() + (T - 1) * N * units;
    for (int64_t r = 0; r < N * units; ++r) last[r] += douts[1]->data[r];
  }
  sc.at(kdH0).resize({N, units});            // (N, u)
  sc.at(kdH0).zero();
  Tensor& dc0 = sc.at(kdC0);                 // (N, u): gradient of the final c on entry, of c0 on exit
  dc0.resize({N, units});
  if (douts.size() > 2) std::copy(douts[2]->ptr(), douts[2]->ptr() + N * units, dc0.ptr());
  else dc0.zero();
  Tensor& dz = sc.at(kDZ);
  dz.resize({T, N, gu});                     // (T, N, G*u)
  const float* mask = ctx.mask(0) ? sc.at(kM).ptr() : nullptr;
  cell_backward(sc, T, N, mask);
  const Tensor& xs = sc.at(kXs);             // (T, N, in)
  const bool drop_in = sc.at(kDM).size() > 0;
  if (trainable) {
    // dW (in, G*u) += Xs^T (in, T*N) * DZ (T*N, G*u) (per gate with the masked inputs under dropout)
    if (!drop_in)
      sgemm(true, false, k, gu, T * N, 1.0f, xs.ptr(), k, dz.ptr(), gu, 1.0f, params[0].grad.ptr(), gu);
    else
      for (int64_t g = 0; g < gates; ++g)
        sgemm(true, false, k, units, T * N, 1.0f, masked_inputs(sc, g, T, N, k), k, dz.ptr() + g * units, gu, 1.0f,
              params[0].grad.ptr() + g * units, gu);
    recurrent_kernel_grad(sc, T, N);
    if (use_bias) bias_grad(sc, T * N);
  }
  if (din[0]) {
    Tensor& dxs = sc.at(kdXs);
    dxs.resize({T, N, k});                   // (T, N, in) = DZ (T*N, G*u) * W^T (G*u, in)
    if (!drop_in) {
      sgemm(false, true, T * N, k, gu, 1.0f, dz.ptr(), gu, params[0].value.ptr(), gu, 0.0f, dxs.ptr(), k);
    } else {                                 // sum over gates of (DZ_g W_g^T) * dm_g
      dxs.zero();
      Tensor& part = sc.at(kXd);
      part.resize({T, N, k});                // (T, N, in)
      for (int64_t g = 0; g < gates; ++g) {
        sgemm(false, true, T * N, k, units, 1.0f, dz.ptr() + g * units, gu, params[0].value.ptr() + g * units, gu,
              0.0f, part.ptr(), k);
        const float* m = sc.at(kDM).ptr() + g * N * k;  // (N, in)
        for (int64_t r = 0; r < T * N; ++r)
          for (int64_t j = 0; j < k; ++j) dxs.data[r * k + j] += part.data[r * k + j] * m[(r % N) * k + j];
      }
    }
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
  for (size_t i = 1; i < din.size(); ++i) {  // initial states (N, u)
    if (!din[i]) continue;
    const Tensor& g = sc.at(i == 1 ? kdH0 : kdC0);
    for (int64_t r = 0; r < N * units; ++r) din[i]->data[r] += g.data[r];
  }
}

void RecurrentBase::recurrent_kernel_grad(Scratch& sc, int64_t T, int64_t N) { rec_kernel_grad(sc, T, N, 0, gates); }

void RecurrentBase::rec_kernel_grad(Scratch& sc, int64_t T, int64_t N, int64_t g0, int64_t g1, size_t dz_slot) {
  const int64_t gu = gates * units, u = units;
  const float* dz = sc.at(dz_slot).ptr();    // (T, N, G*u)
  float* dU = params[1].grad.ptr();          // (u, G*u)
  if (!rec_mask(sc, 0, N)) {
    // dU[:, g0:g1] += H0^T (u, N) DZ[0] + H[0..T-2]^T (u, (T-1)*N) * DZ[1..T-1]
    const int64_t w = (g1 - g0) * u;
    sgemm(true, false, u, w, N, 1.0f, sc.at(kH0).ptr(), u, dz + g0 * u, gu, 1.0f, dU + g0 * u, gu);
    if (T > 1)
      sgemm(true, false, u, w, (T - 1) * N, 1.0f, sc.at(kH).ptr(), u, dz + N * gu + g0 * u, gu, 1.0f, dU + g0 * u,
            gu);
    return;
  }
  Tensor& hd = sc.at(kHd);
  hd.resize({T, N, u});                      // (T, N, u): h_prev of each step times rm_g
  for (int64_t g = g0; g < g1; ++g) {
    const float* m = rec_mask(sc, g, N);     // (N, u)
    for (int64_t s = 0; s < T; ++s) {
      const float* hp = prev(sc, kH0, kH, s, N * u);
      for (int64_t r = 0; r < N * u; ++r) hd.data[s * N * u + r] = hp[r] * m[r];
    }
    sgemm(true, false, u, u, T * N, 1.0f, hd.ptr(), u, dz + g * u, gu, 1.0f, dU + g * u, gu);
  }
}

void RecurrentBase::rec_product(Scratch& sc, const float* hp, int64_t N, float* z, int64_t g0, int64_t g1) {
  const int64_t gu = gates * units, u = units;
  const float* U = params[1].value.ptr();    // (u, G*u)
  if (!rec_mask(sc, 0, N)) {
    sgemm(false, false, N, (g1 - g0) * u, u, 1.0f, hp, u, U + g0 * u, gu, 1.0f, z + g0 * u, gu);
    return;
  }
  Tensor& t = sc.at(kRtmp);
  t.resize({N, u});                          // (N, u) = hp * rm_g
  for (int64_t g = g0; g < g1; ++g) {
    const float* m = rec_mask(sc, g, N);
    for (int64_t r = 0; r < N * u; ++r) t.data[r] = hp[r] * m[r];
    sgemm(false, false, N, u, u, 1.0f, t.ptr(), u, U + g * u, gu, 1.0f, z + g * u, gu);
  }
}

void RecurrentBase::rec_product_back(Scratch& sc, const float* dz, int64_t N, float* dhp, int64_t g0, int64_t g1) {
  const int64_t gu = gates * units, u = units;
  const float* U = params[1].value.ptr();    // (u, G*u)
  if (!rec_mask(sc, 0, N)) {                 // dhp (N, u) += dz[:, g0:g1] U[:, g0:g1]^T
    sgemm(false, true, N, u, (g1 - g0) * u, 1.0f, dz + g0 * u, gu, U + g0 * u, gu, 1.0f, dhp, u);
    return;
  }
  Tensor& t = sc.at(kRtmp);
  t.resize({N, u});                          // (N, u) = dz_g U_g^T
  for (int64_t g = g0; g < g1; ++g) {
    sgemm(false, true, N, u, u, 1.0f, dz + g * u, gu, U + g * u, gu, 0.0f, t.ptr(), u);
    const float* m = rec_mask(sc, g, N);
    for (int64_t r = 0; r < N * u; ++r) dhp[r] += t.data[r] * m[r];
  }
}

void RecurrentBase::draw_masks(Tensor& m, bool on, int64_t N, int64_t width, double rate, uint64_t key) const {
  if (!on) { m.resize({0}); return; }
  m.resize({gates, N, width});               // (G, N, width)
  const float keep = static_cast<float>(1.0 - rate), scale = 1.0f / keep;
  const int64_t per = N * width;
  for (int64_t i = 0; i < m.size(); ++i) {
    // implementation 2: every gate uses gate 0's mask (Keras)
    const int64_t src = implementation == 2 ? i % per : i;
    m.data[i] = uniform_at(key, static_cast<uint64_t>(src)) < keep ? scale : 0.0f;
  }
}

const float* RecurrentBase::masked_inputs(Scratch& sc, int64_t g, int64_t T, int64_t N, int64_t k) {
  const Tensor& xs = sc.at(kXs);             // (T, N, in)
  const float* m = sc.at(kDM).ptr() + g * N * k;  // (N, in)
  Tensor& xd = sc.at(kXd);
  xd.resize({T, N, k});                      // (T, N, in)
  for (int64_t r = 0; r < T * N; ++r)
    for (int64_t j = 0; j < k; ++j) xd.data[r * k + j] = xs.data[r * k + j] * m[(r % N) * k + j];
  return xd.ptr();
}

const float* RecurrentBase::final_state(Scratch& sc, int, int64_t T, int64_t N) {
  return sc.at(kH).ptr() + (T - 1) * N * units;
}

Json RecurrentBase::rnn_config() const {
  Json c = base_config();
  c.set("return_sequences", return_sequences);
  c.set("return_state", return_state);
  c.set("go_backwards", go_backwards);
  c.set("stateful", stateful);
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
  c.set("dropout", dropout);
  c.set("recurrent_dropout", recurrent_dropout);
  return c;
}

void apply_rnn_config(RecurrentBase& l, const Json& cfg) {
  apply_base_config(l, cfg);
  const std::string who = "layer '" + l.name + "' (" + l.class_name() + "): ";
  l.units = config_count(cfg, "units", l);
  if (l.units <= 0) throw Error(who + "units must be a positive integer");
  l.stateful = cfg.get("stateful", Json(false)).as_bool();
  for (const char* key : {"dropout", "recurrent_dropout"}) {
    const double r = cfg.get(key, Json(0.0)).as_number();
    if (!(r >= 0.0 && r < 1.0)) throw Error(who + key + " must be in [0, 1), got " + std::to_string(r));
    (std::string(key) == "dropout" ? l.dropout : l.recurrent_dropout) = r;
  }
  // kernel / recurrent / bias regularizers and constraints: read by apply_base_config()
  l.act = rnn_activation(cfg, "activation", "tanh");
  l.use_bias = cfg.get("use_bias", Json(true)).as_bool();
  l.return_sequences = cfg.get("return_sequences", Json(false)).as_bool();
  l.return_state = cfg.get("return_state", Json(false)).as_bool();
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

  void cell_forward(Scratch& sc, int64_t T, int64_t N, const float* mask, bool zero0) override {
    float* a = sc.at(kA).ptr();                // (T, N, u)
    float* h = sc.at(kH).ptr();                // (T, N, u)
    const int64_t step = N * units;
    for (int64_t s = 0; s < T; ++s) {
      float* z = a + s * step;                 // (N, u)
      const float* hp = prev(sc, kH0, kH, s, step);  // (N, u)
      if (s > 0 || !zero0) rec_product(sc, hp, N, z, 0, 1);
      activation_forward(act, z, N, units);
      std::copy(z, z + step, h + s * step);
      if (mask)
        for (int64_t n = 0; n < N; ++n)
          if (mask[s * N + n] == 0.0f) std::copy(hp + n * units, hp + (n + 1) * units, h + s * step + n * units);
    }
  }

  void cell_backward(Scratch& sc, int64_t T, int64_t N, const float* mask) override {
    const float* a = sc.at(kA).ptr();          // (T, N, u) activated
    float* dh = sc.at(kdH).ptr();              // (T, N, u)
    float* dz = sc.at(kDZ).ptr();              // (T, N, u)
    const int64_t step = N * units;
    for (int64_t s = T - 1; s >= 0; --s) {
      float* dhs = dh + s * step;              // (N, u)
      float* dhp = prev(sc, kdH0, kdH, s, step);  // (N, u)
      if (mask)  // a masked step passes h_prev through unchanged
        for (int64_t n = 0; n < N; ++n)
          if (mask[s * N + n] == 0.0f)
            for (int64_t j = 0; j < units; ++j) {
              dhp[n * units + j] += dhs[n * units + j];
              dhs[n * units + j] = 0.0f;
            }
      activation_backward(act, a + s * step, dhs, dz + s * step, N, units);
      // dh_prev (N, u) += dz[s] (N, u) * U^T (times the recurrent dropout mask)
      rec_product_back(sc, dz + s * step, N, dhp, 0, 1);
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

}  // namespace kn
