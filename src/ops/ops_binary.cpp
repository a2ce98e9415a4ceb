// Element-wise binary ops with numpy broadcasting, comparisons (-> bool),
// logical ops and where(cond, x, y). One functor per op: f(x, y) and the two
// partial derivatives side by side.
#include <cmath>

#pragma GCC optimize("O3")

#include "op.h"

namespace kn {
namespace {

// Calls f(i, o0, o1, o2) for every element i of `out`, with the offsets of
// the broadcast inputs (up to three; unused shapes empty).
template <class F>
void bcast_for(const Shape& out, const Shape& s0, const Shape& s1, const Shape& s2, F f) {
  const int r = static_cast<int>(out.size());
  const int64_t n = shape_numel(out);
  if (r == 0) { if (n) f(0, 0, 0, 0); return; }
  std::vector<int64_t> st0 = broadcast_strides(s0, out), st1 = broadcast_strides(s1, out),
                       st2 = s2.empty() && out.size() ? std::vector<int64_t>(r, 0) : broadcast_strides(s2, out);
  std::vector<int64_t> idx(r, 0);
  int64_t o0 = 0, o1 = 0, o2 = 0;
  const int64_t inner = out[r - 1], i0 = st0[r - 1], i1 = st1[r - 1], i2 = st2[r - 1];
  for (int64_t i = 0; i < n; i += inner) {
    for (int64_t k = 0; k < inner; ++k) f(i + k, o0 + k * i0, o1 + k * i1, o2 + k * i2);
    for (int d = r - 2; d >= 0; --d) {
      if (++idx[d] < out[d]) { o0 += st0[d]; o1 += st1[d]; o2 += st2[d]; break; }
      o0 -= st0[d] * (out[d] - 1); o1 -= st1[d] * (out[d] - 1); o2 -= st2[d] * (out[d] - 1);
      idx[d] = 0;
    }
  }
}

template <class F>
void binary_fwd(const OpContext&, const OpAttrs&, const In& in, Tensor& out) {
  const float* x = in[0]->ptr();
  const float* y = in[1]->ptr();
  float* o = out.ptr();  // broadcast shape of x and y
  const int64_t n = out.size();
  if (in[0]->shape == out.shape && in[1]->shape == out.shape) {
    for (int64_t i = 0; i < n; ++i) o[i] = F::f(x[i], y[i]);
  } else if (in[0]->shape == out.shape && in[1]->size() == 1) {
    const float b = y[0];
    for (int64_t i = 0; i < n; ++i) o[i] = F::f(x[i], b);
  } else if (in[1]->shape == out.shape && in[0]->size() == 1) {
    const float b = x[0];
    for (int64_t i = 0; i < n; ++i) o[i] = F::f(b, y[i]);
  } else {
    bcast_for(out.shape, in[0]->shape, in[1]->shape, {}, [&](int64_t i, int64_t a, int64_t b, int64_t) {
      o[i] = F::f(x[a], y[b]);
    });
  }
}

template <class F>
void binary_bwd(const OpAttrs&, const In& in, const Tensor& out, const Tensor& dout, const DIn& din) {
  const float* x = in[0]->ptr();
  const float* y = in[1]->ptr();
  const float* o = out.ptr();
  const float* g = dout.ptr();
  float* dx = din[0] ? din[0]->ptr() : nullptr;
  float* dy = din[1] ? din[1]->ptr() : nullptr;
  bcast_for(out.shape, in[0]->shape, in[1]->shape, {}, [&](int64_t i, int64_t a, int64_t b, int64_t) {
    if (dx) dx[a] += g[i] * F::dx(x[a], y[b], o[i]);
    if (dy) dy[b] += g[i] * F::dy(x[a], y[b], o[i]);
  });
}

TType arith(OpAttrs&, const std::vector<TType>& in) {
  for (auto& t : in)
    if (t.dtype == DType::Bool) throw Error("arithmetic needs numeric tensors, got bool (cast it with k_cast())");
  return TType{promote(in[0].dtype, in[1].dtype), broadcast_shapes(in[0].shape, in[1].shape)};
}
TType arith_float(OpAttrs& a, const std::vector<TType>& in) {
  TType t = arith(a, in);
  t.dtype = DType::Float32;  // true division / pow of integers give floats
  return t;
}
TType compare(OpAttrs&, const std::vector<TType>& in) {
  return TType{DType::Bool, broadcast_shapes(in[0].shape, in[1].shape)};
}
TType logical(OpAttrs&, const std::vector<TType>& in) {
  if (in[0].dtype != DType::Bool || in[1].dtype != DType::Bool)
    throw Error(std::string("expects bool tensors, got ") + dtype_name(in[0].dtype) + " and " + dtype_name(in[1].dtype));
  return TType{DType::Bool, broadcast_shapes(in[0].shape, in[1].shape)};
}

#define KN_BINARY(CODE, NAME, INFER, FEXPR, DXEXPR, DYEXPR)                                          \
  struct F_##CODE {                                                                                  \
    static inline float f(float x, float y) { return FEXPR; }                                        \
    static inline float dx(float x, float y, float o) { (void)x; (void)y; (void)o; return DXEXPR; }  \
    static inline float dy(float x, float y, float o) { (void)x; (void)y; (void)o; return DYEXPR; }  \
  };                                                                                                 \
  KN_REGISTER_OP(CODE, OpDef{NAME, 2, true, INFER, binary_fwd<F_##CODE>, binary_bwd<F_##CODE>})

#define KN_PREDICATE(CODE, NAME, INFER, FEXPR)                                 \
  struct F_##CODE {                                                            \
    static inline float f(float x, float y) { return (FEXPR) ? 1.0f : 0.0f; } \
  };                                                                           \
  KN_REGISTER_OP(CODE, OpDef{NAME, 2, false, INFER, binary_fwd<F_##CODE>, nullptr})

KN_BINARY(Add, "add", arith, x + y, 1.0f, 1.0f);
KN_BINARY(Sub, "sub", arith, x - y, 1.0f, -1.0f);
KN_BINARY(Mul, "mul", arith, x * y, y, x);
KN_BINARY(Div, "div", arith_float, x / y, 1.0f / y, -o / y);
// Ties send the gradient to x (TF: x >= y for maximum, x <= y for minimum).
KN_BINARY(Maximum, "maximum", arith, x >= y ? x : y, x >= y ? 1.0f : 0.0f, x >= y ? 0.0f : 1.0f);
KN_BINARY(Minimum, "minimum", arith, x <= y ? x : y, x <= y ? 1.0f : 0.0f, x <= y ? 0.0f : 1.0f);
KN_BINARY(Pow, "pow", arith_float, std::pow(x, y), y * std::pow(x, y - 1.0f), x > 0 ? o * std::log(x) : 0.0f);
KN_BINARY(SquaredDifference, "squared_difference", arith, (x - y) * (x - y), 2.0f * (x - y), -2.0f * (x - y));

KN_PREDICATE(Equal, "equal", compare, x == y);
KN_PREDICATE(NotEqual, "not_equal", compare, x != y);
KN_PREDICATE(Less, "less", compare, x < y);
KN_PREDICATE(LessEqual, "less_equal", compare, x <= y);
KN_PREDICATE(Greater, "greater", compare, x > y);
KN_PREDICATE(GreaterEqual, "greater_equal", compare, x >= y);
KN_PREDICATE(LogicalAnd, "logical_and", logical, x != 0.0f && y != 0.0f);
KN_PREDICATE(LogicalOr, "logical_or", logical, x != 0.0f || y != 0.0f);

// where(cond, x, y): x where cond is true, else y; all three broadcast.
TType where_infer(OpAttrs&, const std::vector<TType>& in) {
  if (in[0].dtype != DType::Bool) throw Error(std::string("the condition must be bool, got ") + dtype_name(in[0].dtype));
  if (in[1].dtype != in[2].dtype)
    throw Error(std::string("x and y must have the same dtype, got ") + dtype_name(in[1].dtype) + " and " +
                dtype_name(in[2].dtype));
  return TType{in[1].dtype, broadcast_shapes(in[0].shape, broadcast_shapes(in[1].shape, in[2].shape))};
}
void where_fwd(const OpContext&, const OpAttrs&, const In& in, Tensor& out) {
  const float* c = in[0]->ptr();
  const float* x = in[1]->ptr();
  const float* y = in[2]->ptr();
  float* o = out.ptr();
  bcast_for(out.shape, in[0]->shape, in[1]->shape, in[2]->shape, [&](int64_t i, int64_t a, int64_t b, int64_t d) {
    o[i] = c[a] != 0.0f ? x[b] : y[d];
  });
}
void where_bwd(const OpAttrs&, const In& in, const Tensor& out, const Tensor& dout, const DIn& din) {
  const float* c = in[0]->ptr();
  const float* g = dout.ptr();
  float* dx = din[1] ? din[1]->ptr() : nullptr;
  float* dy = din[2] ? din[2]->ptr() : nullptr;
  bcast_for(out.shape, in[0]->shape, in[1]->shape, in[2]->shape, [&](int64_t i, int64_t a, int64_t b, int64_t d) {
    if (c[a] != 0.0f) { if (dx) dx[b] += g[i]; }
    else if (dy) dy[d] += g[i];
  });
}
KN_REGISTER_OP(Where, OpDef{"where", 3, true, where_infer, where_fwd, where_bwd});

}  // namespace
}  // namespace kn
