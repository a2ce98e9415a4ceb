// Recurrent layers (Keras 2.2 equations and weight layouts): SimpleRNN, LSTM, GRU.
// Input (N, T, in). The inputs of all steps are projected with one GEMM,
// xp = x (T*N, in) * kernel (in, G*u) + bias, then the steps run in order
// (reversed for go_backwards), each adding h_prev (N, u) * recurrent_kernel
// (u, G*u). State buffers are kept time-major, (T, N, .), in processing
// order, so that each step's slice is contiguous; backward through time
// reuses them and finishes with one GEMM each for the kernel, the recurrent
// kernel and the input gradient.
//
// Inputs: x, then optionally the initial states (Keras's initial_state): h0
// (N, u), and c0 (N, u) for LSTM. Without them the states start at zero.
// Outputs: the output, then with return_state the final states h (N, u) (and
// c (N, u) for LSTM) as extra outputs of the node (see Layer::extra_output_shapes).
// Mask (N, T) on x (Keras 2.2's K.rnn): at a masked step every state keeps its
// previous value and the step's output is the previous h.
// Dropout (Keras 2.2, training only): one input mask (N, in) and one recurrent
// mask (N, u) per gate, drawn once per batch and shared by all steps (inverted:
// kept values scaled by 1/(1-rate)); implementation 2 uses gate 0's masks for
// every gate, as Keras. Masks come from the step key (seeded from R's RNG).
// Stateful: the final states of a batch are the next batch's initial states
// (no gradient flows across batches) until reset_states().
#pragma once
#include <string>

#include "activations.h"
#include "layer.h"

namespace kn {

class RecurrentBase : public Layer {
 public:
  // Scratch slots: 0 Xs (T, N, in) inputs in processing order; 1 A (T, N, G*u);
  // 2 H (T, N, u); 3 dH (T, N, u); 4 DZ (T, N, G*u); 5 dXs (T, N, in);
  // 6..9 cell-specific; 10 H0 (N, u); 11 C0 (N, u); 12 dH0 (N, u); 13 dC0 (N, u);
  // 14 M (T, N) mask in processing order (1 = step used); 15 DM (G, N, in)
  // input dropout masks, 16 RM (G, N, u) recurrent dropout masks (size 0 when
  // off); 17 Xd (T, N, in) masked inputs; 18 Hd (T, N, u) masked h_prev;
  // 19 tmp (N, u).
  static constexpr size_t kScratchSlots = 20;
  enum Slot { kXs = 0, kA = 1, kH = 2, kdH = 3, kDZ = 4, kdXs = 5, kH0 = 10, kC0 = 11, kdH0 = 12, kdC0 = 13, kM = 14,
              kDM = 15, kRM = 16, kXd = 17, kHd = 18, kRtmp = 19 };
  int64_t units = 0;
  int64_t gates = 1;  // G: 1 SimpleRNN, 4 LSTM, 3 GRU
  Activation act = Activation::Tanh;
  bool use_bias = true, return_sequences = false, return_state = false, go_backwards = false, unroll = false;
  bool stateful = false;
  double dropout = 0.0, recurrent_dropout = 0.0;
  int64_t implementation = 1;  // 2: one dropout mask for all gates
  std::vector<Tensor> states;  // stateful: the last batch's final states, (B, u) each; empty after reset
  Json kernel_init, recurrent_init, bias_init;

  // Number of states: 1 (h), 2 for LSTM (h, c).
  virtual int n_states() const { return 1; }
  int n_inputs() const override { return -1; }  // x (+ initial states)
  // Keras 2.2: the output sequence keeps the input's mask; a last output has none.
  bool supports_masking() const override { return true; }
  MaskOut output_mask(const std::vector<bool>& in_masked) const override {
    return return_sequences && in_masked.at(0) ? MaskOut::Input0 : MaskOut::None;
  }

  Shape build(const std::vector<Shape>& in, Rng& rng) override;
  std::vector<Shape> extra_output_shapes(const std::vector<Shape>& in) const override;
  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override;
  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor& out,
                const Tensor& dout, const std::vector<Tensor*>& din) override;
  void forward_multi(const RunContext& ctx, const std::vector<const Tensor*>& in,
                     const std::vector<Tensor*>& outs) override;
  void backward_multi(const RunContext& ctx, const std::vector<const Tensor*>& in,
                      const std::vector<const Tensor*>& outs, const std::vector<const Tensor*>& douts,
                      const std::vector<Tensor*>& din) override;

  virtual void init_bias(Tensor& b, Rng& rng);
  // Bias layout hooks (CuDNN layers and GRU reset_after also keep recurrent
  // biases): the shape of `bias`; the bias added to every step's input
  // projection, row (G*u); adding the bias gradient from DZ (T*N, G*u).
  virtual Shape bias_shape() const { return {gates * units}; }
  virtual void input_bias(float* row) const;
  virtual void bias_grad(Scratch& sc, int64_t rows);
  void reset_states() override { states.clear(); }
  bool needs_fixed_batch() const override { return stateful; }

  // Steps: on entry A (T, N, G*u) holds x*kernel + bias per step; the cell adds
  // the recurrent term (from H0 at step 0, C0 for LSTM), activates in place,
  // and fills H (T, N, u). `mask` (T, N) or null. `zero0`: H0 (and C0) are
  // zero, so the step-0 recurrent product may be skipped.
  virtual void cell_forward(Scratch& sc, int64_t T, int64_t N, const float* mask, bool zero0) = 0;
  // From dH (T, N, u) (the gradient reaching each h directly from the outputs)
  // and, for LSTM, dC0 holding the gradient of the final c on entry, fill DZ
  // (T, N, G*u) (gradient of the pre-activations xp + h_prev*U), dH0 and dC0.
  virtual void cell_backward(Scratch& sc, int64_t T, int64_t N, const float* mask) = 0;
  // dU (u, G*u) += H_prev^T DZ over all steps (H_prev = H0, H[0..T-2]).
  virtual void recurrent_kernel_grad(Scratch& sc, int64_t T, int64_t N);
  // Final state k (N, u) after forward (k = 0: h; 1: c for LSTM).
  virtual const float* final_state(Scratch& sc, int k, int64_t T, int64_t N);

  Json rnn_config() const;

 protected:
  // Recurrent products with recurrent dropout (RM) when it is on, for the gate
  // blocks [g0, g1): z (N, G*u) += (hp * rm_g) U_g; dhp (N, u) += (dz_g U_g^T) * rm_g;
  // dU_g += sum over steps of (h_prev * rm_g)^T dz_g.
  const float* rec_mask(Scratch& sc, int64_t g, int64_t N) {
    Tensor& rm = sc.at(kRM);
    return rm.size() == 0 ? nullptr : rm.ptr() + g * N * units;
  }
  void rec_product(Scratch& sc, const float* hp, int64_t N, float* z, int64_t g0, int64_t g1);
  void rec_product_back(Scratch& sc, const float* dz, int64_t N, float* dhp, int64_t g0, int64_t g1);
  // (dz_slot: the slot holding the recurrent-side pre-activation gradients (T, N, G*u).)
  void rec_kernel_grad(Scratch& sc, int64_t T, int64_t N, int64_t g0, int64_t g1, size_t dz_slot = kDZ);
  // m (G, N, width) of 0 or 1/(1-rate) (size 0 when !on).
  void draw_masks(Tensor& m, bool on, int64_t N, int64_t width, double rate, uint64_t key) const;
  // Xd (T, N, in) = Xs * dm_g (broadcast over time).
  const float* masked_inputs(Scratch& sc, int64_t g, int64_t T, int64_t N, int64_t k);

  // h_prev of step s (N, u): H0 at s = 0.
  static float* prev(Scratch& sc, Slot first, Slot all, int64_t s, int64_t rowsize) {
    return s > 0 ? sc.at(all).ptr() + (s - 1) * rowsize : sc.at(first).ptr();
  }
};

// Reads the arguments all recurrent layers share; unsupported ones throw.
void apply_rnn_config(RecurrentBase& l, const Json& cfg);
Activation rnn_activation(const Json& cfg, const char* key, const char* fallback);

}  // namespace kn
