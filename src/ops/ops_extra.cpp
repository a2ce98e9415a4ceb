// More backend ops: cumprod along one axis (k_cumprod) and the truncated
// normal source (k_truncated_normal), each with its inference, forward and
// (cumprod) backward kernel side by side.
#include <cmath>

#include "op.h"
#include "rng.h"

namespace kn {
namespace {

// f(offset of element 0 of the slice, stride, length) for each slice along `axis`.
template <class F>
void along_axis(const Shape& s, int64_t axis, F f) {
  int64_t outer = 1, len = 1, inner = 1;
  for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d) {
    if (d < axis) outer *= s[d];
    else if (d == axis) len = s[d];
    else inner *= s[d];
  }
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < inner; ++k) f(o * len * inner + k, inner, len);
}

// cumprod: y_i = prod_{k <= i} x_k along the axis.
TType cumprod_infer(OpAttrs& a, const std::vector<TType>& in) {
  if (in[0].dtype == DType::Bool) throw Error("expects a numeric tensor, got bool");
  a.axis = norm_axis(a.axis, static_cast<int64_t>(in[0].shape.size()), "cumprod");
  return in[0];
}
void cumprod_fwd(const OpContext&, const OpAttrs& a, const In& in, Tensor& out) {
  const float* x = in[0]->ptr();  // (any shape)
  float* y = out.ptr();           // same shape
  along_axis(in[0]->shape, a.axis, [&](int64_t b, int64_t st, int64_t len) {
    float p = 1.0f;
    for (int64_t j = 0; j < len; ++j) { p *= x[b + j * st]; y[b + j * st] = p; }
  });
}
// dx_j = sum_{i >= j} g_i prod_{k <= i, k != j} x_k = P_{j-1} S_j, with
// P_{j-1} = prod_{k < j} x_k and S_j = g_j + x_{j+1} S_{j+1} (no division, so
// zeros in x are exact).
void cumprod_bwd(const OpAttrs& a, const In& in, const Tensor&, const Tensor& dout, const DIn& din) {
  if (!din[0]) return;
  const float* x = in[0]->ptr();
  const float* g = dout.ptr();
  float* dx = din[0]->ptr();
  along_axis(in[0]->shape, a.axis, [&](int64_t b, int64_t st, int64_t len) {
    std::vector<double> prefix(len + 1, 1.0);  // prefix[j] = prod_{k < j} x_k
    for (int64_t j = 0; j < len; ++j) prefix[j + 1] = prefix[j] * x[b + j * st];
    double s = 0;
    for (int64_t j = len; j-- > 0;) {
      s = g[b + j * st] + (j + 1 < len ? x[b + (j + 1) * st] * s : 0.0);
      dx[b + j * st] += static_cast<float>(prefix[j] * s);
    }
  });
}
KN_REGISTER_OP(CumProd, OpDef{"cumprod", 1, true, cumprod_infer, cumprod_fwd, cumprod_bwd});

// truncated_normal(shape, mean, stddev): normal draws, redrawn while more than
// two standard deviations from the mean (as tf.truncated_normal).
TType truncated_infer(OpAttrs& a, const std::vector<TType>&) {
  for (int64_t d : a.shape)
    if (d < 0) throw Error("the shape " + shape_str(a.shape, false) + " must be fully known");
  if (!(a.b >= 0)) throw Error("stddev must be >= 0");
  return TType{DType::Float32, a.shape};
}
void truncated_fwd(const OpContext& c, const OpAttrs& a, const In&, Tensor& out) {
  const uint64_t key = splitmix64(a.seed ^ splitmix64(c.step_key) ^ 0x7452554E43ULL);
  const uint64_t n = static_cast<uint64_t>(out.size());
  for (uint64_t i = 0; i < n; ++i) {
    double z = 0;
    for (uint64_t t = 0;; ++t) {  // attempt t uses draws 2 (i + t n) and 2 (i + t n) + 1
      const uint64_t k = 2 * (i + t * n);
      double u1 = uniform_at(key, k), u2 = uniform_at(key, k + 1);
      if (u1 < 1e-12) u1 = 1e-12;
      z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
      if (std::fabs(z) <= 2.0) break;  // accepted with probability 0.954
    }
    out.data[i] = static_cast<float>(a.a + a.b * z);
  }
}
KN_REGISTER_OP(TruncatedNormal, OpDef{"truncated_normal", 0, false, truncated_infer, truncated_fwd, nullptr});

}  // namespace
}  // namespace kn
