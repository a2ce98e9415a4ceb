// Reductions over a set of axes (sum, mean, max, min, prod, any, all, with
// keepdims) and ops along one axis (argmax, argmin, softmax, log_softmax,
// cumsum), each with its backward kernel.
#include <algorithm>
#include <cmath>
#include <limits>

#pragma GCC optimize("O3")

#include "op.h"

namespace kn {
namespace {

bool is_reduced(const OpAttrs& a, int64_t d) {
  return std::find(a.axes.begin(), a.axes.end(), d) != a.axes.end();
}

TType reduce_infer(OpAttrs& a, const std::vector<TType>& in, DType out_dtype) {
  const int64_t r = static_cast<int64_t>(in[0].shape.size());
  if (a.all_axes || (a.axes.empty() && !a.all_axes)) {
    a.axes.clear();
    for (int64_t d = 0; d < r; ++d) a.axes.push_back(d);
    a.all_axes = true;
  }
  for (auto& ax : a.axes) ax = norm_axis(ax, r, "reduction");
  std::sort(a.axes.begin(), a.axes.end());
  a.axes.erase(std::unique(a.axes.begin(), a.axes.end()), a.axes.end());
  Shape out;
  for (int64_t d = 0; d < r; ++d) {
    if (!is_reduced(a, d)) out.push_back(in[0].shape[d]);
    else if (a.keepdims) out.push_back(1);
  }
  return TType{out_dtype, out};
}

// Output offset strides over the input's dims (0 on reduced dims).
std::vector<int64_t> out_strides(const OpAttrs& a, const Shape& in) {
  Shape keep = in;
  for (int64_t d : a.axes) keep[d] = 1;
  std::vector<int64_t> st = strides_of(keep);
  for (int64_t d : a.axes) st[d] = 0;
  return st;
}

// f(input index, output offset) for every input element.
template <class F>
void reduce_for(const Shape& in, const std::vector<int64_t>& ost, F f) {
  const int r = static_cast<int>(in.size());
  const int64_t n = shape_numel(in);
  if (r == 0) { f(0, 0); return; }
  std::vector<int64_t> idx(r, 0);
  int64_t o = 0;
  const int64_t inner = in[r - 1], os = ost[r - 1];
  if (inner == 0) return;
  for (int64_t i = 0; i < n; i += inner) {
    for (int64_t k = 0; k < inner; ++k) f(i + k, o + k * os);
    for (int d = r - 2; d >= 0; --d) {
      if (++idx[d] < in[d]) { o += ost[d]; break; }
      o -= ost[d] * (in[d] - 1);
      idx[d] = 0;
    }
  }
}

int64_t reduced_count(const OpAttrs& a, const Shape& in) {
  int64_t c = 1;
  for (int64_t d : a.axes) c *= in[d];
  return c;
}

enum class R { Sum, Mean, Max, Min, Prod, Any, All };

template <R K>
void reduce_fwd(const OpContext&, const OpAttrs& a, const In& in, Tensor& out) {
  const float* x = in[0]->ptr();
  float* y = out.ptr();
  const float init = K == R::Max ? -std::numeric_limits<float>::infinity()
                     : K == R::Min ? std::numeric_limits<float>::infinity()
                     : (K == R::Prod || K == R::All) ? 1.0f : 0.0f;
  std::fill(y, y + out.size(), init);
  reduce_for(in[0]->shape, out_strides(a, in[0]->shape), [&](int64_t i, int64_t o) {
    if (K == R::Sum || K == R::Mean) y[o] += x[i];
    else if (K == R::Max) y[o] = std::max(y[o], x[i]);
    else if (K == R::Min) y[o] = std::min(y[o], x[i]);
    else if (K == R::Prod) y[o] *= x[i];
    else if (K == R::Any) y[o] = (y[o] != 0.0f || x[i] != 0.0f) ? 1.0f : 0.0f;
    else y[o] = (y[o] != 0.0f && x[i] != 0.0f) ? 1.0f : 0.0f;
  });
  if (K == R::Mean) {
    const float inv = 1.0f / static_cast<float>(std::max<int64_t>(1, reduced_count(a, in[0]->shape)));
    for (int64_t o = 0; o < out.size(); ++o) y[o] *= inv;
  }
}

template <R K>
void reduce_bwd(const OpAttrs& a, const In& in, const Tensor& out, const Tensor& dout, const DIn& din) {
  if (!din[0]) return;
  const float* x = in[0]->ptr();
  const float* y = out.ptr();
  const float* g = dout.ptr();
  float* dx = din[0]->ptr();
  const std::vector<int64_t> ost = out_strides(a, in[0]->shape);
  if (K == R::Sum || K == R::Mean) {
    const float s = K == R::Mean ? 1.0f / static_cast<float>(std::max<int64_t>(1, reduced_count(a, in[0]->shape))) : 1.0f;
    reduce_for(in[0]->shape, ost, [&](int64_t i, int64_t o) { dx[i] += g[o] * s; });
  } else if (K == R::Max || K == R::Min) {
    // The gradient is shared equally by tied extreme values (as TensorFlow).
    std::vector<float> ties(out.size(), 0.0f);
    reduce_for(in[0]->shape, ost, [&](int64_t i, int64_t o) { ties[o] += x[i] == y[o]; });
    reduce_for(in[0]->shape, ost, [&](int64_t i, int64_t o) { if (x[i] == y[o]) dx[i] += g[o] / ties[o]; });
  } else {  // Prod: d/dx_i = product of the others (zeros handled without dividing)
    std::vector<float> zeros(out.size(), 0.0f), nz(out.size(), 1.0f);
    reduce_for(in[0]->shape, ost, [&](int64_t i, int64_t o) {
      if (x[i] == 0.0f) zeros[o] += 1; else nz[o] *= x[i];
    });
    reduce_for(in[0]->shape, ost, [&](int64_t i, int64_t o) {
      float others = x[i] != 0.0f ? (zeros[o] > 0 ? 0.0f : nz[o] / x[i]) : (zeros[o] > 1 ? 0.0f : nz[o]);
      dx[i] += g[o] * others;
    });
  }
}

TType red_same(OpAttrs& a, const std::vector<TType>& in) {
  if (in[0].dtype == DType::Bool) throw Error("expects a numeric tensor, got bool (cast it with k_cast())");
  return reduce_infer(a, in, in[0].dtype);
}
TType red_float(OpAttrs& a, const std::vector<TType>& in) {
  need_float(in[0], "mean");
  return reduce_infer(a, in, DType::Float32);
}
TType red_bool(OpAttrs& a, const std::vector<TType>& in) { return reduce_infer(a, in, DType::Bool); }

KN_REGISTER_OP(Sum, OpDef{"sum", 1, true, red_same, reduce_fwd<R::Sum>, reduce_bwd<R::Sum>});
KN_REGISTER_OP(Mean, OpDef{"mean", 1, true, red_float, reduce_fwd<R::Mean>, reduce_bwd<R::Mean>});
KN_REGISTER_OP(Max, OpDef{"max", 1, true, red_same, reduce_fwd<R::Max>, reduce_bwd<R::Max>});
KN_REGISTER_OP(Min, OpDef{"min", 1, true, red_same, reduce_fwd<R::Min>, reduce_bwd<R::Min>});
KN_REGISTER_OP(Prod, OpDef{"prod", 1, true, red_same, reduce_fwd<R::Prod>, reduce_bwd<R::Prod>});
KN_REGISTER_OP(Any, OpDef{"any", 1, false, red_bool, reduce_fwd<R::Any>, nullptr});
KN_REGISTER_OP(All, OpDef{"all", 1, false, red_bool, reduce_fwd<R::All>, nullptr});

// ---- ops along one axis: the tensor seen as (outer, len, inner) ----
struct Split3 { int64_t outer = 1, len = 1, inner = 1; };
Split3 split3(const Shape& s, int64_t axis) {
  Split3 p;
  for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d) {
    if (d < axis) p.outer *= s[d];
    else if (d == axis) p.len = s[d];
    else p.inner *= s[d];
  }
  return p;
}

TType arg_infer(OpAttrs& a, const std::vector<TType>& in) {
  if (in[0].dtype == DType::Bool) throw Error("expects a numeric tensor, got bool");
  a.axis = norm_axis(a.axis, static_cast<int64_t>(in[0].shape.size()), "argmax");
  Shape out = in[0].shape;
  out.erase(out.begin() + a.axis);
  return TType{DType::Int64, out};
}
template <bool IsMax>
void arg_fwd(const OpContext&, const OpAttrs& a, const In& in, Tensor& out) {
  const Split3 p = split3(in[0]->shape, a.axis);
  const float* x = in[0]->ptr();
  for (int64_t o = 0; o < p.outer; ++o)
    for (int64_t k = 0; k < p.inner; ++k) {
      const float* row = x + o * p.len * p.inner + k;
      int64_t best = 0;  // ties: the first index
      for (int64_t j = 1; j < p.len; ++j)
        if (IsMax ? row[j * p.inner] > row[best * p.inner] : row[j * p.inner] < row[best * p.inner]) best = j;
      out.data[o * p.inner + k] = static_cast<float>(best);
    }
}
KN_REGISTER_OP(ArgMax, OpDef{"argmax", 1, false, arg_infer, arg_fwd<true>, nullptr});
KN_REGISTER_OP(ArgMin, OpDef{"argmin", 1, false, arg_infer, arg_fwd<false>, nullptr});

TType axis_float(OpAttrs& a, const std::vector<TType>& in) {
  need_float(in[0], "softmax");
  a.axis = norm_axis(a.axis, static_cast<int64_t>(in[0].shape.size()), "softmax");
  return in[0];
}
TType axis_numeric(OpAttrs& a, const std::vector<TType>& in) {
  if (in[0].dtype == DType::Bool) throw Error("expects a numeric tensor, got bool");
  a.axis = norm_axis(a.axis, static_cast<int64_t>(in[0].shape.size()), "cumsum");
  return in[0];
}

// f(pointer offset of element 0 of the slice, stride, length) per slice along the axis.
template <class F>
void for_slices(const Shape& s, int64_t axis, F f) {
  const Split3 p = split3(s, axis);
  for (int64_t o = 0; o < p.outer; ++o)
    for (int64_t k = 0; k < p.inner; ++k) f(o * p.len * p.inner + k, p.inner, p.len);
}

template <bool Log>
void softmax_fwd(const OpContext&, const OpAttrs& a, const In& in, Tensor& out) {
  const float* x = in[0]->ptr();
  float* y = out.ptr();
  for_slices(in[0]->shape, a.axis, [&](int64_t b, int64_t st, int64_t len) {
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < len; ++j) m = std::max(m, x[b + j * st]);
    double s = 0;
    for (int64_t j = 0; j < len; ++j) s += std::exp(x[b + j * st] - m);
    const float ls = static_cast<float>(std::log(s));
    for (int64_t j = 0; j < len; ++j)
      y[b + j * st] = Log ? x[b + j * st] - m - ls : static_cast<float>(std::exp(x[b + j * st] - m) / s);
  });
}
template <bool Log>
void softmax_bwd(const OpAttrs& a, const In& in, const Tensor& out, const Tensor& dout, const DIn& din) {
  if (!din[0]) return;
  const float* y = out.ptr();
  const float* g = dout.ptr();
  float* dx = din[0]->ptr();
  for_slices(in[0]->shape, a.axis, [&](int64_t b, int64_t st, int64_t len) {
    double s = 0;
    for (int64_t j = 0; j < len; ++j) s += Log ? g[b + j * st] : g[b + j * st] * y[b + j * st];
    for (int64_t j = 0; j < len; ++j) {
      const int64_t i = b + j * st;
      dx[i] += Log ? g[i] - std::exp(y[i]) * static_cast<float>(s) : y[i] * (g[i] - static_cast<float>(s));
    }
  });
}
KN_REGISTER_OP(Softmax, OpDef{"softmax", 1, true, axis_float, softmax_fwd<false>, softmax_bwd<false>});
KN_REGISTER_OP(LogSoftmax, OpDef{"log_softmax", 1, true, axis_float, softmax_fwd<true>, softmax_bwd<true>});

void cumsum_fwd(const OpContext&, const OpAttrs& a, const In& in, Tensor& out) {
  const float* x = in[0]->ptr();
  float* y = out.ptr();
  for_slices(in[0]->shape, a.axis, [&](int64_t b, int64_t st, int64_t len) {
    float s = 0;
    for (int64_t j = 0; j < len; ++j) { s += x[b + j * st]; y[b + j * st] = s; }
  });
}
void cumsum_bwd(const OpAttrs& a, const In& in, const Tensor&, const Tensor& dout, const DIn& din) {
  if (!din[0]) return;
  const float* g = dout.ptr();
  float* dx = din[0]->ptr();
  for_slices(in[0]->shape, a.axis, [&](int64_t b, int64_t st, int64_t len) {
    float s = 0;
    for (int64_t j = len; j-- > 0;) { s += g[b + j * st]; dx[b + j * st] += s; }
  });
}
KN_REGISTER_OP(CumSum, OpDef{"cumsum", 1, true, axis_numeric, cumsum_fwd, cumsum_bwd});

}  // namespace
}  // namespace kn
