// Matrix products and source ops (constant, random tensors).
//
// matmul(A, B): A (..., M, K) (stored (..., K, M) when transpose_a), B (K, N)
// shared by every batch entry or (..., K, N) with A's batch dims (stored
// transposed when transpose_b). Output (..., M, N).
#include <cmath>

#include "gemm.h"
#include "op.h"
#include "rng.h"

namespace kn {
namespace {

struct MM { int64_t batch, M, N, K; bool shared_b; };

MM mm_dims(const OpAttrs& a, const Shape& sa, const Shape& sb) {
  MM d;
  const size_t ra = sa.size(), rb = sb.size();
  d.M = a.trans_a ? sa[ra - 1] : sa[ra - 2];
  d.K = a.trans_a ? sa[ra - 2] : sa[ra - 1];
  d.N = a.trans_b ? sb[rb - 2] : sb[rb - 1];
  d.batch = 1;
  for (size_t i = 0; i + 2 < ra; ++i) d.batch *= sa[i];
  d.shared_b = rb == 2;
  return d;
}

TType matmul_infer(OpAttrs& a, const std::vector<TType>& in) {
  const Shape& sa = in[0].shape;
  const Shape& sb = in[1].shape;
  need_float(in[0], "matmul");
  need_float(in[1], "matmul");
  if (sa.size() < 2 || sb.size() < 2)
    throw Error("both tensors need at least 2 dimensions, got shapes " + shape_str(sa, false) + " and " + shape_str(sb, false));
  if (sb.size() != 2 && sb.size() != sa.size())
    throw Error("the second tensor must be a matrix or have the first's batch dimensions, got shapes " +
                shape_str(sa, false) + " and " + shape_str(sb, false));
  const size_t ra = sa.size(), rb = sb.size();
  if (rb > 2)
    for (size_t i = 0; i + 2 < ra; ++i)
      if (sa[i] != sb[i] && sa[i] != -1 && sb[i] != -1)
        throw Error("batch dimensions differ: shapes " + shape_str(sa, false) + " and " + shape_str(sb, false));
  const int64_t ka = a.trans_a ? sa[ra - 2] : sa[ra - 1];
  const int64_t kb = a.trans_b ? sb[rb - 1] : sb[rb - 2];
  if (ka != kb && ka != -1 && kb != -1)
    throw Error("inner dimensions differ: shapes " + shape_str(sa, false) + " and " + shape_str(sb, false) +
                " (" + std::to_string(ka) + " vs " + std::to_string(kb) + ")");
  Shape out(sa.begin(), sa.end() - 2);
  out.push_back(a.trans_a ? sa[ra - 1] : sa[ra - 2]);
  out.push_back(a.trans_b ? sb[rb - 2] : sb[rb - 1]);
  return TType{DType::Float32, out};
}

void matmul_fwd(const OpContext&, const OpAttrs& a, const In& in, Tensor& out) {
  const MM d = mm_dims(a, in[0]->shape, in[1]->shape);
  const int64_t lda = a.trans_a ? d.M : d.K, ldb = a.trans_b ? d.K : d.N;
  for (int64_t b = 0; b < d.batch; ++b)
    sgemm(a.trans_a, a.trans_b, d.M, d.N, d.K, 1.0f, in[0]->ptr() + b * d.M * d.K, lda,
          in[1]->ptr() + (d.shared_b ? 0 : b * d.K * d.N), ldb, 0.0f, out.ptr() + b * d.M * d.N, d.N);
}

void matmul_bwd(const OpAttrs& a, const In& in, const Tensor&, const Tensor& dout, const DIn& din) {
  const MM d = mm_dims(a, in[0]->shape, in[1]->shape);
  const int64_t lda = a.trans_a ? d.M : d.K, ldb = a.trans_b ? d.K : d.N;
  for (int64_t b = 0; b < d.batch; ++b) {
    const float* A = in[0]->ptr() + b * d.M * d.K;
    const float* B = in[1]->ptr() + (d.shared_b ? 0 : b * d.K * d.N);
    const float* dC = dout.ptr() + b * d.M * d.N;  // (M, N)
    if (din[0]) {
      float* dA = din[0]->ptr() + b * d.M * d.K;
      if (!a.trans_a) sgemm(false, !a.trans_b, d.M, d.K, d.N, 1.0f, dC, d.N, B, ldb, 1.0f, dA, d.K);
      else sgemm(a.trans_b, true, d.K, d.M, d.N, 1.0f, B, ldb, dC, d.N, 1.0f, dA, d.M);
    }
    if (din[1]) {
      float* dB = din[1]->ptr() + (d.shared_b ? 0 : b * d.K * d.N);
      if (!a.trans_b) sgemm(!a.trans_a, false, d.K, d.N, d.M, 1.0f, A, lda, dC, d.N, 1.0f, dB, d.N);
      else sgemm(true, a.trans_a, d.N, d.K, d.M, 1.0f, dC, d.N, A, lda, 1.0f, dB, d.K);
    }
  }
}
KN_REGISTER_OP(MatMul, OpDef{"matmul", 2, true, matmul_infer, matmul_fwd, matmul_bwd});

// constant: the value held in the attributes.
KN_REGISTER_OP(Constant, OpDef{"constant", 0, false,
  [](OpAttrs& a, const std::vector<TType>&) { return TType{a.dtype, a.value.shape}; },
  [](const OpContext&, const OpAttrs& a, const In&, Tensor& out) { out.data = a.value.data; },
  nullptr});

TType random_infer(OpAttrs& a, const std::vector<TType>&) {
  for (int64_t d : a.shape)
    if (d < 0) throw Error("the shape " + shape_str(a.shape, false) + " must be fully known");
  return TType{DType::Float32, a.shape};
}
// Draws depend on (seed, step key, index): a fresh sample every training step.
void uniform_fwd(const OpContext& c, const OpAttrs& a, const In&, Tensor& out) {
  const uint64_t key = splitmix64(a.seed ^ splitmix64(c.step_key));
  for (int64_t i = 0; i < out.size(); ++i)
    out.data[i] = static_cast<float>(a.a + (a.b - a.a) * uniform_at(key, static_cast<uint64_t>(i)));
}
void normal_fwd(const OpContext& c, const OpAttrs& a, const In&, Tensor& out) {
  const uint64_t key = splitmix64(a.seed ^ splitmix64(c.step_key));
  for (int64_t i = 0; i < out.size(); ++i) {  // Box-Muller from two uniforms per value
    double u1 = uniform_at(key, 2 * static_cast<uint64_t>(i)), u2 = uniform_at(key, 2 * static_cast<uint64_t>(i) + 1);
    if (u1 < 1e-12) u1 = 1e-12;
    out.data[i] = static_cast<float>(a.a + a.b * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }
}
KN_REGISTER_OP(RandomUniform, OpDef{"random_uniform", 0, false, random_infer, uniform_fwd, nullptr});
KN_REGISTER_OP(RandomNormal, OpDef{"random_normal", 0, false, random_infer, normal_fwd, nullptr});

}  // namespace
}  // namespace kn
