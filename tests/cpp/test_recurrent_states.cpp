// Recurrent layers with states and masks, and the graph's multi-output nodes:
// return_state (extra outputs h, c through Graph::add_output), initial_state
// (extra inputs h0, c0) and masks (Keras 2.2's K.rnn: a masked step keeps every
// state and outputs the previous h). Forward passes are compared with naive
// double-precision recurrences written here from the Keras equations; gradients
// (through the final states, into the initial states, through masked steps)
// with central finite differences of the forward pass.
#include <cmath>
#include <string>

#include "graph.h"
#include "harness.h"
#include "layer.h"

using namespace kn;

namespace {

double sigm(double z) { return 1 / (1 + std::exp(-z)); }
double hsig(double z) { return z < -2.5 ? 0 : z > 2.5 ? 1 : 0.2 * z + 0.5; }
double ract(const std::string& ra, double z) { return ra == "sigmoid" ? sigm(z) : hsig(z); }

// GRUAfter: GRU(reset_after = TRUE); CuDNNLSTM / CuDNNGRU: double biases (input then
// recurrent), CuDNNGRU resets after the recurrent product.
enum class Cell { SimpleRNN, LSTM, GRU, GRUAfter, CuDNNLSTM, CuDNNGRU };
const char* cls_of(Cell c) {
  switch (c) {
    case Cell::SimpleRNN: return "SimpleRNN";
    case Cell::LSTM: return "LSTM";
    case Cell::CuDNNLSTM: return "CuDNNLSTM";
    case Cell::CuDNNGRU: return "CuDNNGRU";
    default: return "GRU";
  }
}
int gates_of(Cell c) { return c == Cell::SimpleRNN ? 1 : (c == Cell::LSTM || c == Cell::CuDNNLSTM) ? 4 : 3; }
bool is_lstm(Cell c) { return c == Cell::LSTM || c == Cell::CuDNNLSTM; }
bool resets_after(Cell c) { return c == Cell::GRUAfter || c == Cell::CuDNNGRU; }

struct RefOut { std::vector<double> y, h, c; };  // y (N, T?, u), h/c (N, u)

// Naive recurrence, activation tanh. x (N, T, K); W (K, G u), U (u, G u), b (G u);
// h0/c0 (N, u) or empty (zeros); mask (N, T) or empty; dropout masks dm (G, N, K)
// on the inputs and rm (G, N, u) on h_prev, per gate block, or empty.
RefOut reference(Cell cell, const std::string& ra, int64_t u, bool seq, bool back, const Tensor& x,
                 const Layer& l, const std::vector<float>& h0, const std::vector<float>& c0,
                 const std::vector<float>& mask, const std::vector<float>& dm = {},
                 const std::vector<float>& rm = {}) {
  const int64_t N = x.shape[0], T = x.shape[1], K = x.shape[2], G = gates_of(cell), gu = G * u;
  const auto& W = l.params[0].value.data;
  const auto& U = l.params[1].value.data;
  const auto& b = l.params[2].value.data;
  RefOut o;
  o.y.assign(N * (seq ? T : 1) * u, 0);
  o.h.assign(N * u, 0);
  o.c.assign(N * u, 0);
  for (int64_t n = 0; n < N; ++n) {
    std::vector<double> h(u, 0), c(u, 0), z(gu), hn(u), cn(u);
    for (int64_t j = 0; j < u; ++j) {
      if (!h0.empty()) h[j] = h0[n * u + j];
      if (!c0.empty()) c[j] = c0[n * u + j];
    }
    for (int64_t s = 0; s < T; ++s) {
      const int64_t t = back ? T - 1 - s : s;
      auto dmv = [&](int64_t g, int64_t k) { return dm.empty() ? 1.0 : dm[(g * N + n) * K + k]; };
      auto rmv = [&](int64_t g, int64_t i) { return rm.empty() ? 1.0 : rm[(g * N + n) * u + i]; };
      // recurrent biases (b has 2 G u values) and rec = h U + rb per column
      const bool two = static_cast<int64_t>(b.size()) == 2 * gu;
      std::vector<double> rec(gu);
      for (int64_t j = 0; j < gu; ++j) {
        double v = b[j], r = two ? b[gu + j] : 0.0;
        const int64_t g = j / u;
        for (int64_t k = 0; k < K; ++k) v += x.data[(n * T + t) * K + k] * dmv(g, k) * W[k * gu + j];
        for (int64_t i = 0; i < u; ++i) r += h[i] * rmv(g, i) * U[i * gu + j];
        rec[j] = r;
        const bool gru_h = (cell == Cell::GRU || resets_after(cell)) && j >= 2 * u;
        z[j] = gru_h ? v : v + r;
      }
      for (int64_t j = 0; j < u; ++j) {
        if (cell == Cell::SimpleRNN) {
          hn[j] = std::tanh(z[j]);
        } else if (resets_after(cell)) {
          const double zz = ract(ra, z[j]), rr = ract(ra, z[u + j]);
          hn[j] = zz * h[j] + (1 - zz) * std::tanh(z[2 * u + j] + rr * rec[2 * u + j]);
        } else if (is_lstm(cell)) {
          cn[j] = ract(ra, z[u + j]) * c[j] + ract(ra, z[j]) * std::tanh(z[2 * u + j]);
          hn[j] = ract(ra, z[3 * u + j]) * std::tanh(cn[j]);
        } else {
          double hh = z[2 * u + j];
          for (int64_t i = 0; i < u; ++i) hh += ract(ra, z[u + i]) * h[i] * rmv(2, i) * U[i * gu + 2 * u + j];
          const double zz = ract(ra, z[j]);
          hn[j] = zz * h[j] + (1 - zz) * std::tanh(hh);
        }
      }
      const bool keep = !mask.empty() && mask[n * T + t] == 0.0f;
      if (!keep) { h = hn; c = cn; }
      if (seq)
        for (int64_t j = 0; j < u; ++j) o.y[(n * T + s) * u + j] = h[j];
    }
    for (int64_t j = 0; j < u; ++j) {
      if (!seq) o.y[n * u + j] = h[j];
      o.h[n * u + j] = h[j];
      o.c[n * u + j] = c[j];
    }
  }
  return o;
}

void fill(Tensor& t, uint64_t seed, float scale) {
  Rng r(seed);
  for (auto& v : t.data) v = static_cast<float>((r.uniform() * 2 - 1) * scale);
}

LayerPtr make_rnn(Cell cell, int64_t u, bool seq, bool back, const std::string& ra, bool state,
                  const std::string& extra = "") {
  const bool cudnn = cell == Cell::CuDNNLSTM || cell == Cell::CuDNNGRU;  // (no go_backwards argument)
  std::string cfg = std::string("{\"name\": \"rnn\", \"units\": ") + std::to_string(u) + extra +
                    ", \"return_sequences\": " + (seq ? "true" : "false") +
                    (cudnn ? std::string() : std::string(", \"go_backwards\": ") + (back ? "true" : "false")) +
                    ", \"return_state\": " + (state ? "true" : "false");
  if (cell == Cell::LSTM || cell == Cell::GRU || cell == Cell::GRUAfter)
    cfg += ", \"recurrent_activation\": \"" + ra + "\"";
  if (cell == Cell::GRUAfter) cfg += ", \"reset_after\": true";
  cfg += "}";
  return make_layer(cls_of(cell), Json::parse(cfg));
}

// Direct layer call with initial states, mask and return_state: forward against
// the reference, gradients (x, h0, c0, params) against finite differences of
// L = sum(y R0) + sum(h R1) + sum(c R2).
// impl > 0: training with dropout 0.4 and recurrent_dropout 0.3 (implementation
// impl): the layer's masks (scratch slots 15, 16) must hold 0 or 1/(1-rate), be
// shared by all gates for implementation 2, and give the reference's outputs.
void check_direct(Cell cell, bool seq, bool back, bool with_mask, int impl = 0) {
  const int64_t N = 3, T = 4, K = 2, u = 3;
  const std::string ra = "sigmoid";
  const std::string drop = impl == 0 ? "" : ", \"dropout\": 0.4, \"recurrent_dropout\": 0.3, \"implementation\": " +
                                             std::to_string(impl);
  LayerPtr l = make_rnn(cell, u, seq, back, ra, true, drop);
  const int ns = is_lstm(cell) ? 2 : 1;
  std::vector<Shape> ins{{T, K}};
  for (int i = 0; i < ns; ++i) ins.push_back({u});
  Rng rng(3);
  Shape os = l->build(ins, rng);
  std::vector<Shape> es = l->extra_output_shapes(ins);
  CHECK(static_cast<int>(es.size()) == ns);
  for (size_t k = 0; k < l->params.size(); ++k) fill(l->params[k].value, 10 + k, 0.6f);
  std::vector<Tensor> xs{Tensor({N, T, K})};
  fill(xs[0], 20, 1.0f);
  for (int i = 0; i < ns; ++i) { xs.emplace_back(Shape{N, u}); fill(xs.back(), 30 + i, 0.8f); }
  Tensor mask({N, T});
  const float mv[] = {1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1};  // sample 1: last step masked; 0: step 1
  for (int64_t i = 0; i < N * T; ++i) mask.data[i] = mv[i];
  Shape yshape = os;
  yshape.insert(yshape.begin(), N);
  std::vector<Tensor> outs{Tensor(yshape)};
  for (int i = 0; i < ns; ++i) outs.emplace_back(Shape{N, u});
  std::vector<Tensor> R;
  for (size_t o = 0; o < outs.size(); ++o) { R.emplace_back(outs[o].shape); fill(R.back(), 40 + o, 1.0f); }
  Scratch sc;
  auto run = [&]() {
    std::vector<const Tensor*> in;
    for (auto& t : xs) in.push_back(&t);
    std::vector<Tensor*> op;
    for (auto& t : outs) op.push_back(&t);
    RunContext ctx;
    ctx.scratch = &sc;
    ctx.training = impl > 0;
    ctx.step_key = 77;
    if (with_mask) ctx.masks = {&mask};
    l->forward_multi(ctx, in, op);
    double s = 0;
    for (size_t o = 0; o < outs.size(); ++o)
      for (int64_t i = 0; i < outs[o].size(); ++i) s += static_cast<double>(outs[o].data[i]) * R[o].data[i];
    return s;
  };
  run();
  std::vector<float> dm, rm;
  if (impl > 0) {
    const int64_t G = gates_of(cell);
    dm = sc.t.at(15).data;
    rm = sc.t.at(16).data;
    CHECK(static_cast<int64_t>(dm.size()) == G * N * K);
    CHECK(static_cast<int64_t>(rm.size()) == G * N * u);
    for (float v : dm) CHECK(v == 0.0f || std::fabs(v - 1 / 0.6f) < 1e-6);
    for (float v : rm) CHECK(v == 0.0f || std::fabs(v - 1 / 0.7f) < 1e-6);
    bool same = true;
    for (int64_t g = 1; g < G; ++g)
      for (int64_t i = 0; i < N * K; ++i) same = same && dm[g * N * K + i] == dm[i];
    if (impl == 2 || G == 1) CHECK(same);
    else CHECK(!same);  // 24+ independent draws: equal with probability < 1e-6
  }
  RefOut ref = reference(cell, ra, u, seq, back, xs[0], *l, xs[1].data, ns > 1 ? xs[2].data : std::vector<float>(),
                         with_mask ? mask.data : std::vector<float>(), dm, rm);
  for (int64_t i = 0; i < outs[0].size(); ++i) CHECK_NEAR(outs[0].data[i], ref.y[i], 1e-5);
  for (int64_t i = 0; i < N * u; ++i) CHECK_NEAR(outs[1].data[i], ref.h[i], 1e-5);
  if (ns > 1)
    for (int64_t i = 0; i < N * u; ++i) CHECK_NEAR(outs[2].data[i], ref.c[i], 1e-5);
  // backward
  for (auto& p : l->params) p.grad.zero();
  std::vector<Tensor> dx;
  for (auto& t : xs) dx.emplace_back(t.shape);
  {
    std::vector<const Tensor*> in, op, dop;
    for (auto& t : xs) in.push_back(&t);
    for (auto& t : outs) op.push_back(&t);
    for (auto& t : R) dop.push_back(&t);
    std::vector<Tensor*> din;
    for (auto& t : dx) din.push_back(&t);
    RunContext ctx;
    ctx.scratch = &sc;
    ctx.training = impl > 0;
    ctx.step_key = 77;
    if (with_mask) ctx.masks = {&mask};
    l->backward_multi(ctx, in, op, dop, din);
  }
  const float eps = 1e-3f;
  auto fd = [&](float& v) {
    const float keep = v;
    v = keep + eps;
    const double lp = run();
    v = keep - eps;
    const double lm = run();
    v = keep;
    return (lp - lm) / (2 * eps);
  };
  for (size_t k = 0; k < xs.size(); ++k)
    for (int64_t i = 0; i < xs[k].size(); ++i) CHECK_NEAR(dx[k].data[i], fd(xs[k].data[i]), 2e-3);
  for (auto& p : l->params)
    for (int64_t i = 0; i < p.value.size(); ++i) CHECK_NEAR(p.grad.data[i], fd(p.value.data[i]), 2e-3);
}

}  // namespace

TEST(rnn_states_and_masks_match_naive_loops_and_finite_differences) {
  for (Cell c : {Cell::SimpleRNN, Cell::LSTM, Cell::GRU})
    for (int v = 0; v < 8; ++v) check_direct(c, v & 1, (v >> 1) & 1, (v >> 2) & 1);
}

TEST(gru_reset_after_and_cudnn_layers_match_naive_loops_and_finite_differences) {
  for (Cell c : {Cell::GRUAfter, Cell::CuDNNLSTM, Cell::CuDNNGRU})
    for (int v = 0; v < 4; ++v)
      if (c == Cell::GRUAfter || !((v >> 1) & 1)) check_direct(c, v & 1, (v >> 1) & 1, false);
  for (int v = 0; v < 8; v += 4) check_direct(Cell::GRUAfter, true, false, v & 4);  // masks
  check_direct(Cell::GRUAfter, true, false, false, 1);  // with dropout
  check_direct(Cell::GRUAfter, false, true, false, 2);
}

TEST(rnn_dropout_masks_match_naive_loops_and_finite_differences) {
  for (Cell c : {Cell::SimpleRNN, Cell::LSTM, Cell::GRU})
    for (int impl : {1, 2})
      for (int v = 0; v < 8; v += 3) check_direct(c, v & 1, (v >> 1) & 1, (v >> 2) & 1, impl);
}

TEST(rnn_default_hard_sigmoid_with_states_matches_reference) {
  for (Cell cell : {Cell::LSTM, Cell::GRU}) {
    const int64_t N = 2, T = 5, K = 3, u = 4;
    LayerPtr l = make_rnn(cell, u, true, false, "hard_sigmoid", true);
    Rng rng(1);
    const int ns = cell == Cell::LSTM ? 2 : 1;
    std::vector<Shape> ins{{T, K}};
    for (int i = 0; i < ns; ++i) ins.push_back({u});
    l->build(ins, rng);
    for (size_t k = 0; k < l->params.size(); ++k) fill(l->params[k].value, 50 + k, 1.0f);
    Tensor x({N, T, K}), h0({N, u}), c0({N, u}), y({N, T, u}), h({N, u}), c({N, u});
    fill(x, 1, 1.5f);
    fill(h0, 2, 1.0f);
    fill(c0, 3, 1.0f);
    Scratch sc;
    RunContext ctx;
    ctx.scratch = &sc;
    std::vector<const Tensor*> in{&x, &h0};
    std::vector<Tensor*> op{&y, &h};
    if (ns > 1) { in.push_back(&c0); op.push_back(&c); }
    l->forward_multi(ctx, in, op);
    RefOut ref = reference(cell, "hard_sigmoid", u, true, false, x, *l, h0.data, ns > 1 ? c0.data : std::vector<float>(), {});
    for (int64_t i = 0; i < y.size(); ++i) CHECK_NEAR(y.data[i], ref.y[i], 1e-5);
    for (int64_t i = 0; i < h.size(); ++i) CHECK_NEAR(h.data[i], ref.h[i], 1e-5);
  }
}

// Graph: encoder LSTM(return_state) -> its h, c become the decoder LSTM's
// initial_state (seq2seq). The encoder's weights get gradients only through
// the state outputs (output-selection nodes); checked by finite differences.
TEST(graph_multi_output_nodes_carry_states_and_their_gradients) {
  const int64_t N = 2, Te = 3, Td = 4, K = 2, u = 3;
  Graph g;
  Rng rng(5);
  int xe = g.add_input({Te, K}, "enc_in");
  int xd = g.add_input({Td, K}, "dec_in");
  LayerPtr enc = make_layer("LSTM", Json::parse("{\"name\": \"enc\", \"units\": 3, \"return_state\": true, "
                                                "\"recurrent_activation\": \"sigmoid\"}"));
  LayerPtr dec = make_layer("LSTM", Json::parse("{\"name\": \"dec\", \"units\": 3, \"return_sequences\": true, "
                                                "\"recurrent_activation\": \"sigmoid\"}"));
  int e = g.add(enc, {xe}, rng);
  CHECK(g.nodes[e].extra_shapes.size() == 2);
  CHECK(g.add_output(e, 0) == e);
  int eh = g.add_output(e, 1), ec = g.add_output(e, 2);
  CHECK_THROWS(g.add_output(e, 3), "has 3 output(s)");
  CHECK(g.nodes[eh].shape == Shape{u});
  int d = g.add(dec, {xd, eh, ec}, rng);
  CHECK_THROWS(g.add(make_layer("LSTM", Json::parse("{\"name\": \"bad\", \"units\": 3}")), {xd, eh}, rng),
               "initial state tensor");
  g.inputs = {xe, xd};
  g.outputs = {d, eh};
  for (auto* l : {enc.get(), dec.get()})
    for (size_t k = 0; k < l->params.size(); ++k) fill(l->params[k].value, 60 + k + (l == dec.get()) * 7, 0.6f);
  Tensor x1({N, Te, K}), x2({N, Td, K});
  fill(x1, 70, 1.0f);
  fill(x2, 71, 1.0f);
  Tensor R0({N, Td, u}), R1({N, u});
  fill(R0, 72, 1.0f);
  fill(R1, 73, 1.0f);
  auto loss = [&]() {
    g.forward({&x1, &x2}, false, 0);
    double s = 0;
    for (int64_t i = 0; i < R0.size(); ++i) s += g.value(d).data[i] * static_cast<double>(R0.data[i]);
    for (int64_t i = 0; i < R1.size(); ++i) s += g.value(eh).data[i] * static_cast<double>(R1.data[i]);
    return s;
  };
  loss();
  // Reference: encoder from zero states, decoder from the encoder's final states.
  RefOut re = reference(Cell::LSTM, "sigmoid", u, false, false, x1, *enc, {}, {}, {});
  std::vector<float> hf(re.h.begin(), re.h.end()), cf(re.c.begin(), re.c.end());
  RefOut rd = reference(Cell::LSTM, "sigmoid", u, true, false, x2, *dec, hf, cf, {});
  for (int64_t i = 0; i < R0.size(); ++i) CHECK_NEAR(g.value(d).data[i], rd.y[i], 1e-5);
  for (int64_t i = 0; i < R1.size(); ++i) CHECK_NEAR(g.value(eh).data[i], re.h[i], 1e-5);
  g.backward({&R0, &R1}, false, 0);
  std::vector<std::vector<float>> grads;
  for (auto* l : {enc.get(), dec.get()})
    for (auto& p : l->params) grads.push_back(p.grad.data);
  size_t gi = 0;
  const float eps = 1e-3f;
  for (auto* l : {enc.get(), dec.get()})
    for (auto& p : l->params) {
      for (int64_t i = 0; i < p.value.size(); ++i) {
        const float keep = p.value.data[i];
        p.value.data[i] = keep + eps;
        const double lp = loss();
        p.value.data[i] = keep - eps;
        const double lm = loss();
        p.value.data[i] = keep;
        CHECK_NEAR(grads[gi][i], (lp - lm) / (2 * eps), 2e-3);
      }
      ++gi;
    }
}

KN_TEST_MAIN
