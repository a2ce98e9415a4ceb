// Element-wise unary ops: y = f(x), dx += dy * f'(x, y). One functor per op
// (f and df side by side); the kernels are templates instantiated per op, so
// the loops carry no per-element dispatch.
#include <cmath>
#include <limits>

#pragma GCC optimize("O3")

#include "op.h"
#include "vec_ops.h"

namespace kn {
namespace {

template <class F>
void unary_fwd(const OpContext&, const OpAttrs& a, const In& in, Tensor& out) {
  const float* x = in[0]->ptr();  // (any shape)
  float* y = out.ptr();           // same shape
  const int64_t n = out.size();
  for (int64_t i = 0; i < n; ++i) y[i] = F::f(x[i], a);
}

template <class F>
void unary_bwd(const OpAttrs& a, const In& in, const Tensor& out, const Tensor& dout, const DIn& din) {
  if (!din[0]) return;
  const float* x = in[0]->ptr();
  const float* y = out.ptr();
  const float* dy = dout.ptr();
  float* dx = din[0]->ptr();
  const int64_t n = out.size();
  for (int64_t i = 0; i < n; ++i) dx[i] += dy[i] * F::df(x[i], y[i], a);
}

// Output keeps the input dtype (numeric ops that make sense on integers).
TType same_numeric(OpAttrs&, const std::vector<TType>& in) {
  if (in[0].dtype == DType::Bool) throw Error("expects a numeric tensor, got bool");
  return in[0];
}
TType float_only(OpAttrs&, const std::vector<TType>& in) {
  need_float(in[0], "this op");
  return in[0];
}
TType any_dtype(OpAttrs&, const std::vector<TType>& in) { return in[0]; }

#define KN_UNARY(CODE, NAME, INFER, FEXPR, DFEXPR)                                          \
  struct F_##CODE {                                                                         \
    static inline float f(float x, const OpAttrs& a) { (void)a; return FEXPR; }             \
    static inline float df(float x, float y, const OpAttrs& a) { (void)x; (void)y; (void)a; return DFEXPR; } \
  };                                                                                        \
  KN_REGISTER_OP(CODE, OpDef{NAME, 1, true, INFER, unary_fwd<F_##CODE>, unary_bwd<F_##CODE>})

inline float sigm(float x) { return x >= 0 ? 1.0f / (1.0f + std::exp(-x)) : std::exp(x) / (1.0f + std::exp(x)); }
inline float sgn(float x) { return static_cast<float>((x > 0) - (x < 0)); }

KN_UNARY(Neg, "neg", same_numeric, -x, -1.0f);
KN_UNARY(Abs, "abs", same_numeric, std::fabs(x), sgn(x));
KN_UNARY(Square, "square", same_numeric, x * x, 2.0f * x);
KN_UNARY(Sqrt, "sqrt", float_only, std::sqrt(x), y > 0 ? 0.5f / y : 0.0f);
KN_UNARY(Exp, "exp", float_only, std::exp(x), y);
KN_UNARY(Log, "log", float_only, std::log(x), 1.0f / x);
KN_UNARY(Log1p, "log1p", float_only, std::log1p(x), 1.0f / (1.0f + x));
KN_UNARY(Sigmoid, "sigmoid", float_only, sigm(x), y * (1.0f - y));
// Keras: clip(0.2 x + 0.5, 0, 1)
KN_UNARY(HardSigmoid, "hard_sigmoid", float_only, std::fmin(1.0f, std::fmax(0.0f, 0.2f * x + 0.5f)),
         (x > -2.5f && x < 2.5f) ? 0.2f : 0.0f);
KN_UNARY(Tanh, "tanh", float_only, std::tanh(x), 1.0f - y * y);
// k_relu(x, alpha, max_value): alpha * x below 0, clipped at max_value (a = alpha, b = max_value).
struct F_Relu {
  static inline float f(float x, const OpAttrs& a) {
    return std::fmin(static_cast<float>(a.b), x > 0 ? x : static_cast<float>(a.a) * x);
  }
  static inline float df(float x, float, const OpAttrs& a) { return x > 0 ? (x < a.b ? 1.0f : 0.0f) : static_cast<float>(a.a); }
};
bool plain_relu(const OpAttrs& a) { return a.a == 0.0 && std::isinf(a.b) && a.b > 0; }
// Plain relu (no slope, no cap) uses the vectorised kernel of the Activation layer.
void relu_fwd(const OpContext& c, const OpAttrs& a, const In& in, Tensor& out) {
  if (!plain_relu(a)) return unary_fwd<F_Relu>(c, a, in, out);
  std::copy(in[0]->data.begin(), in[0]->data.end(), out.data.begin());
  vec::relu(out.ptr(), out.size());
}
void relu_bwd(const OpAttrs& a, const In& in, const Tensor& out, const Tensor& dout, const DIn& din) {
  if (!plain_relu(a)) return unary_bwd<F_Relu>(a, in, out, dout, din);
  if (!din[0]) return;
  const float* y = out.ptr();
  const float* dy = dout.ptr();
  float* dx = din[0]->ptr();
  const int64_t n = out.size();
  for (int64_t i = 0; i < n; ++i) dx[i] += y[i] > 0.0f ? dy[i] : 0.0f;
}
KN_REGISTER_OP(Relu, OpDef{"relu", 1, true, same_numeric, relu_fwd, relu_bwd});
KN_UNARY(Elu, "elu", float_only, x > 0 ? x : static_cast<float>(a.a) * std::expm1(x),
         x > 0 ? 1.0f : y + static_cast<float>(a.a));
KN_UNARY(Softplus, "softplus", float_only, x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)), sigm(x));
KN_UNARY(Softsign, "softsign", float_only, x / (1.0f + std::fabs(x)),
         1.0f / ((1.0f + std::fabs(x)) * (1.0f + std::fabs(x))));
KN_UNARY(Sign, "sign", same_numeric, sgn(x), 0.0f);
KN_UNARY(Round, "round", same_numeric, std::nearbyint(x), 0.0f);  // half to even, as tf.round
KN_UNARY(Floor, "floor", same_numeric, std::floor(x), 0.0f);
KN_UNARY(Ceil, "ceil", same_numeric, std::ceil(x), 0.0f);
KN_UNARY(Clip, "clip", same_numeric, std::fmin(static_cast<float>(a.b), std::fmax(static_cast<float>(a.a), x)),
         (x >= a.a && x <= a.b) ? 1.0f : 0.0f);
KN_UNARY(PowScalar, "pow_scalar", float_only, std::pow(x, static_cast<float>(a.a)),
         static_cast<float>(a.a) * std::pow(x, static_cast<float>(a.a - 1)));
struct F_Identity {
  static inline float f(float x, const OpAttrs&) { return x; }
  static inline float df(float, float, const OpAttrs&) { return 1.0f; }
};
KN_REGISTER_OP(Identity, OpDef{"identity", 1, true, any_dtype, unary_fwd<F_Identity>, unary_bwd<F_Identity>, nullptr, true});
KN_UNARY(Sin, "sin", float_only, std::sin(x), std::cos(x));
KN_UNARY(Cos, "cos", float_only, std::cos(x), -std::sin(x));

// stop_gradient: identity forward, no backward.
KN_REGISTER_OP(StopGradient, OpDef{"stop_gradient", 1, false, any_dtype, unary_fwd<F_Identity>, nullptr, nullptr, true});

struct F_Not {
  static inline float f(float x, const OpAttrs&) { return x != 0.0f ? 0.0f : 1.0f; }
};
KN_REGISTER_OP(LogicalNot, OpDef{"logical_not", 1, false,
  [](OpAttrs&, const std::vector<TType>& in) {
    if (in[0].dtype != DType::Bool) throw Error("expects a bool tensor, got " + std::string(dtype_name(in[0].dtype)));
    return in[0];
  }, unary_fwd<F_Not>, nullptr});

// cast: float -> int truncates toward zero; -> bool is x != 0. The gradient
// flows only float -> float.
void cast_fwd(const OpContext&, const OpAttrs& a, const In& in, Tensor& out) {
  const float* x = in[0]->ptr();
  float* y = out.ptr();
  const int64_t n = out.size();
  if (a.dtype == DType::Bool) for (int64_t i = 0; i < n; ++i) y[i] = x[i] != 0.0f ? 1.0f : 0.0f;
  else if (dtype_is_int(a.dtype)) for (int64_t i = 0; i < n; ++i) y[i] = std::isnan(x[i]) ? 0.0f : std::trunc(x[i]);
  else for (int64_t i = 0; i < n; ++i) y[i] = x[i];
}
void cast_bwd(const OpAttrs& a, const In&, const Tensor&, const Tensor& dout, const DIn& din) {
  if (!din[0] || a.dtype != DType::Float32) return;
  for (int64_t i = 0; i < dout.size(); ++i) din[0]->data[i] += dout.data[i];
}
// TF's integer cast: wrap to the width of the target type.
int64_t wrap_int(int64_t v, DType t) {
  if (t == DType::Int32) return static_cast<int32_t>(static_cast<uint32_t>(v));
  if (t == DType::UInt8) return static_cast<uint8_t>(v);
  return v;
}
// On Values (dataset pipelines): integers stay exact in 64 bits.
void cast_value(OpState*, const OpAttrs& a, const std::vector<const Value*>& in, const std::vector<Value*>& out) {
  const Value& x = *in[0];
  Value& y = *out[0];
  const DType to = a.dtype;
  y.dtype = to;
  y.shape = x.shape;
  const size_t n = x.stored();
  if (to == DType::Float32) {
    y.f.resize(n);
    float* __restrict po = y.f.data();
    if (x.dtype == DType::Float32) std::copy(x.f.begin(), x.f.end(), y.f.begin());
    else for (size_t j = 0; j < n; ++j) po[j] = static_cast<float>(x.i[j]);
    return;
  }
  y.i.resize(n);
  int64_t* __restrict pi = y.i.data();
  if (x.dtype == DType::Float32) {
    for (size_t j = 0; j < n; ++j) {
      const float v = x.f[j];
      if (to == DType::Bool) { pi[j] = v != 0.0f; continue; }
      double d = std::isnan(v) ? 0.0 : std::trunc(static_cast<double>(v));
      d = std::fmax(-9.2e18, std::fmin(9.2e18, d));
      pi[j] = wrap_int(static_cast<int64_t>(d), to);
    }
  } else if (to == DType::Bool) {
    for (size_t j = 0; j < n; ++j) pi[j] = x.i[j] != 0;
  } else {
    for (size_t j = 0; j < n; ++j) pi[j] = wrap_int(x.i[j], to);
  }
}
const DataKernel kCastValue{nullptr, nullptr, cast_value};
KN_REGISTER_OP(Cast, OpDef{"cast", 1, true,
  [](OpAttrs& a, const std::vector<TType>& in) {
    if (in[0].dtype == DType::String || a.dtype == DType::String)
      throw Error(std::string("cannot cast ") + dtype_name(in[0].dtype) + " to " + dtype_name(a.dtype));
    return TType{a.dtype, in[0].shape};
  }, cast_fwd, cast_bwd, &kCastValue});

}  // namespace
}  // namespace kn
