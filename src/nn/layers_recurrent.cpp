// RecurrentBase (see layers_recurrent.h) and SimpleRNN. LSTM and GRU are in
// layers_recurrent_gated.cpp.
#include "layers_recurrent.h"

#include <algorithm>
#include <string>

#include "gemm.h"
#include "initializers.h"

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
      params[2].value = Tensor({gu});        // (G*u)
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
  Tensor& a = sc.at(kA);
  a.resize({T, N, gu});                      // (T, N, G*u)
  if (use_bias) {
    const float* b = params[2].value.ptr();  // (G*u)
    for (int64_t r = 0; r < T * N; ++r) std::copy(b, b + gu, a.ptr() + r * gu);
  }
  sgemm(false, false, T * N, gu, k, 1.0f, xs.ptr(), k, params[0].value.ptr(), gu, use_bias ? 1.0f : 0.0f,
        a.ptr(), gu);
  sc.at(kH).resize({T, N, units});           // H (T, N, u)
  for (int st = 0; st < n_states(); ++st) {  // H0, C0 (N, u): given initial states or zeros
    Tensor& s0 = sc.at(st == 0 ? kH0 : kC0);
    s0.resize({N, units});
    if (in.size() > 1) std::copy(in[1 + st]->ptr(), in[1 + st]->ptr() + N * units, s0.ptr());
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
  cell_forward(sc, T, N, mask, in.size() == 1);
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
    Tensor& dxs = sc.at(kdXs);
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
  for (size_t i = 1; i < din.size(); ++i) {  // initial states (N, u)
    if (!din[i]) continue;
    const Tensor& g = sc.at(i == 1 ? kdH0 : kdC0);
    for (int64_t r = 0; r < N * units; ++r) din[i]->data[r] += g.data[r];
  }
}

void RecurrentBase::recurrent_kernel_grad(Scratch& sc, int64_t T, int64_t N) {
  const int64_t gu = gates * units;
  // dU (u, G*u) += H0^T (u, N) DZ[0] + H[0..T-2]^T (u, (T-1)*N) * DZ[1..T-1]
  sgemm(true, false, units, gu, N, 1.0f, sc.at(kH0).ptr(), units, sc.at(kDZ).ptr(), gu, 1.0f,
        params[1].grad.ptr(), gu);
  if (T > 1)
    sgemm(true, false, units, gu, (T - 1) * N, 1.0f, sc.at(kH).ptr(), units, sc.at(kDZ).ptr() + N * gu, gu,
          1.0f, params[1].grad.ptr(), gu);
}

const float* RecurrentBase::final_state(Scratch& sc, int, int64_t T, int64_t N) {
  return sc.at(kH).ptr() + (T - 1) * N * units;
}

Json RecurrentBase::rnn_config() const {
  Json c = base_config();
  c.set("return_sequences", return_sequences);
  c.set("return_state", return_state);
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

void apply_rnn_config(RecurrentBase& l, const Json& cfg) {
  apply_base_config(l, cfg);
  const std::string who = "layer '" + l.name + "' (" + l.class_name() + "): ";
  l.units = config_count(cfg, "units", l);
  if (l.units <= 0) throw Error(who + "units must be a positive integer");
  if (cfg.get("stateful", Json(false)).as_bool()) throw Error(who + "stateful = TRUE is not supported yet");
  for (const char* key : {"dropout", "recurrent_dropout"})
    if (cfg.get(key, Json(0.0)).as_number() != 0.0)
      throw Error(who + key + " > 0 is not supported yet");
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
    const float* U = params[1].value.ptr();    // (u, u)
    const int64_t step = N * units;
    for (int64_t s = 0; s < T; ++s) {
      float* z = a + s * step;                 // (N, u)
      const float* hp = prev(sc, kH0, kH, s, step);  // (N, u)
      if (s > 0 || !zero0) sgemm(false, false, N, units, units, 1.0f, hp, units, U, units, 1.0f, z, units);
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
    const float* U = params[1].value.ptr();    // (u, u)
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
      // dh_prev (N, u) += dz[s] (N, u) * U^T
      sgemm(false, true, N, units, units, 1.0f, dz + s * step, units, U, units, 1.0f, dhp, units);
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
