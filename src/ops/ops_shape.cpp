// Shape manipulation: reshape, expand_dims, squeeze (copies), transpose,
// concat, slice (R's `[`), gather, one_hot, tile. Backward kernels scatter the
// output gradient back to the input positions.
#include <algorithm>
#include <cmath>

#include "op.h"

namespace kn {
namespace {

void copy_fwd(const OpContext&, const OpAttrs&, const In& in, Tensor& out) {
  std::copy(in[0]->data.begin(), in[0]->data.end(), out.data.begin());
}
void copy_bwd(const OpAttrs&, const In&, const Tensor&, const Tensor& dout, const DIn& din) {
  if (!din[0]) return;
  for (int64_t i = 0; i < dout.size(); ++i) din[0]->data[i] += dout.data[i];
}

TType reshape_infer(OpAttrs& a, const std::vector<TType>& in) {
  const Shape& s = in[0].shape;
  int unknown_target = 0;
  int64_t known = 1;
  for (int64_t d : a.shape) {
    if (d == -1) ++unknown_target;
    else if (d <= 0) throw Error("target shape " + shape_str(a.shape, false) + " has a dimension <= 0");
    else known *= d;
  }
  if (unknown_target > 1) throw Error("only one dimension of the target shape can be -1, got " + shape_str(a.shape, false));
  const bool in_known = std::find(s.begin(), s.end(), -1) == s.end();
  Shape out = a.shape;
  if (in_known) {
    const int64_t n = shape_numel(s);
    if (unknown_target) {
      if (n % known) throw Error("cannot reshape a tensor of shape " + shape_str(s, false) + " (" + std::to_string(n) +
                                 " values) into " + shape_str(a.shape, false));
      for (auto& d : out) if (d == -1) d = n / known;
    } else if (n != known) {
      throw Error("cannot reshape a tensor of shape " + shape_str(s, false) + " (" + std::to_string(n) +
                  " values) into " + shape_str(a.shape, false));
    }
  }
  return TType{in[0].dtype, out};
}
KN_REGISTER_OP(Reshape, OpDef{"reshape", 1, true, reshape_infer, copy_fwd, copy_bwd, nullptr, true});

TType expand_infer(OpAttrs& a, const std::vector<TType>& in) {
  const int64_t r = static_cast<int64_t>(in[0].shape.size());
  a.axis = norm_axis(a.axis, r + 1, "expand_dims");
  Shape out = in[0].shape;
  out.insert(out.begin() + a.axis, 1);
  return TType{in[0].dtype, out};
}
KN_REGISTER_OP(ExpandDims, OpDef{"expand_dims", 1, true, expand_infer, copy_fwd, copy_bwd, nullptr, true});

TType squeeze_infer(OpAttrs& a, const std::vector<TType>& in) {
  const Shape& s = in[0].shape;
  const int64_t r = static_cast<int64_t>(s.size());
  if (a.all_axes || a.axes.empty()) {
    a.axes.clear();
    for (int64_t d = 0; d < r; ++d) if (s[d] == 1) a.axes.push_back(d);
    a.all_axes = false;
  }
  for (auto& d : a.axes) {
    d = norm_axis(d, r, "squeeze");
    if (s[d] != 1 && s[d] != -1)
      throw Error("cannot squeeze axis " + std::to_string(d) + " of a tensor of shape " + shape_str(s, false) +
                  ": its size is " + std::to_string(s[d]) + ", not 1");
  }
  Shape out;
  for (int64_t d = 0; d < r; ++d)
    if (std::find(a.axes.begin(), a.axes.end(), d) == a.axes.end()) out.push_back(s[d]);
  return TType{in[0].dtype, out};
}
KN_REGISTER_OP(Squeeze, OpDef{"squeeze", 1, true, squeeze_infer, copy_fwd, copy_bwd, nullptr, true});

// ---- strided copies: out element i <- in offset (odometer over `shape`) ----
template <class F>
void strided_for(const Shape& shape, const std::vector<int64_t>& st, int64_t base, F f) {
  const int r = static_cast<int>(shape.size());
  const int64_t n = shape_numel(shape);
  if (r == 0) { f(0, base); return; }
  std::vector<int64_t> idx(r, 0);
  int64_t o = base;
  for (int64_t i = 0; i < n; ++i) {
    f(i, o);
    for (int d = r - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) { o += st[d]; break; }
      o -= st[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

TType transpose_infer(OpAttrs& a, const std::vector<TType>& in) {
  const int64_t r = static_cast<int64_t>(in[0].shape.size());
  if (a.axes.empty()) for (int64_t d = r; d-- > 0;) a.axes.push_back(d);
  if (static_cast<int64_t>(a.axes.size()) != r)
    throw Error("perm has " + std::to_string(a.axes.size()) + " entries but the tensor has rank " + std::to_string(r));
  std::vector<bool> seen(r, false);
  Shape out;
  for (auto& p : a.axes) {
    p = norm_axis(p, r, "transpose");
    if (seen[p]) throw Error("perm is not a permutation of the axes");
    seen[p] = true;
    out.push_back(in[0].shape[p]);
  }
  return TType{in[0].dtype, out};
}
std::vector<int64_t> perm_strides(const OpAttrs& a, const Shape& in) {
  std::vector<int64_t> s = strides_of(in), st;
  for (int64_t p : a.axes) st.push_back(s[p]);
  return st;
}
void transpose_fwd(const OpContext&, const OpAttrs& a, const In& in, Tensor& out) {
  const float* x = in[0]->ptr();
  strided_for(out.shape, perm_strides(a, in[0]->shape), 0, [&](int64_t i, int64_t o) { out.data[i] = x[o]; });
}
void transpose_bwd(const OpAttrs& a, const In& in, const Tensor& out, const Tensor& dout, const DIn& din) {
  if (!din[0]) return;
  float* dx = din[0]->ptr();
  strided_for(out.shape, perm_strides(a, in[0]->shape), 0, [&](int64_t i, int64_t o) { dx[o] += dout.data[i]; });
}
KN_REGISTER_OP(Transpose, OpDef{"transpose", 1, true, transpose_infer, transpose_fwd, transpose_bwd});

// slice: per entry k of axes, begin[k] <= i < end[k] (end -1 = to the end) by step[k] >= 1;
// `shrink` axes (size 1 after slicing) are dropped.
TType slice_infer(OpAttrs& a, const std::vector<TType>& in) {
  const Shape& s = in[0].shape;
  const int64_t r = static_cast<int64_t>(s.size());
  if (a.begin.size() != a.axes.size() || a.end.size() != a.axes.size())
    throw Error("axis, begin and end must have the same length");
  if (a.step.empty()) a.step.assign(a.axes.size(), 1);
  Shape full = s;
  for (size_t k = 0; k < a.axes.size(); ++k) {
    const int64_t d = a.axes[k] = norm_axis(a.axes[k], r, "slice");
    if (a.step[k] < 1) throw Error("step must be >= 1");
    if (a.begin[k] < 0) throw Error("begin must be >= 0");
    if (s[d] == -1) { full[d] = -1; continue; }
    const int64_t e = a.end[k] < 0 ? s[d] : a.end[k];
    if (e > s[d] || a.begin[k] >= e)
      throw Error("index " + std::to_string(a.begin[k] + 1) + ":" + std::to_string(e) + " is out of range for axis " +
                  std::to_string(d + 1) + " of size " + std::to_string(s[d]));
    full[d] = (e - a.begin[k] + a.step[k] - 1) / a.step[k];
  }
  Shape out;
  for (int64_t d = 0; d < r; ++d) {
    if (std::find(a.shrink.begin(), a.shrink.end(), d) != a.shrink.end()) {
      if (full[d] != 1 && full[d] != -1) throw Error("cannot drop axis " + std::to_string(d + 1) + " of size " + std::to_string(full[d]));
      continue;
    }
    out.push_back(full[d]);
  }
  return TType{in[0].dtype, out};
}
// Shape of the slice before dropping axes, input offset of its first element and its strides.
void slice_geom(const OpAttrs& a, const Shape& in, Shape& full, int64_t& base, std::vector<int64_t>& st) {
  st = strides_of(in);
  full = in;
  base = 0;
  for (size_t k = 0; k < a.axes.size(); ++k) {
    const int64_t d = a.axes[k];
    const int64_t e = a.end[k] < 0 ? in[d] : a.end[k];
    full[d] = (e - a.begin[k] + a.step[k] - 1) / a.step[k];
    base += a.begin[k] * st[d];
    st[d] *= a.step[k];
  }
}
void slice_fwd(const OpContext&, const OpAttrs& a, const In& in, Tensor& out) {
  Shape full; int64_t base; std::vector<int64_t> st;
  slice_geom(a, in[0]->shape, full, base, st);
  const float* x = in[0]->ptr();
  strided_for(full, st, base, [&](int64_t i, int64_t o) { out.data[i] = x[o]; });
}
void slice_bwd(const OpAttrs& a, const In& in, const Tensor&, const Tensor& dout, const DIn& din) {
  if (!din[0]) return;
  Shape full; int64_t base; std::vector<int64_t> st;
  slice_geom(a, in[0]->shape, full, base, st);
  float* dx = din[0]->ptr();
  strided_for(full, st, base, [&](int64_t i, int64_t o) { dx[o] += dout.data[i]; });
}
KN_REGISTER_OP(Slice, OpDef{"slice", 1, true, slice_infer, slice_fwd, slice_bwd});

// concat along `axis`: every input (outer, len_k, inner).
TType concat_infer(OpAttrs& a, const std::vector<TType>& in) {
  const int64_t r = static_cast<int64_t>(in[0].shape.size());
  a.axis = norm_axis(a.axis, r, "concatenate");
  TType out = in[0];
  for (size_t k = 1; k < in.size(); ++k) {
    const Shape& s = in[k].shape;
    if (static_cast<int64_t>(s.size()) != r) throw Error("all inputs must have the same rank");
    for (int64_t d = 0; d < r; ++d) {
      if (d == a.axis) { out.shape[d] = (out.shape[d] < 0 || s[d] < 0) ? -1 : out.shape[d] + s[d]; continue; }
      if (s[d] != out.shape[d] && s[d] != -1 && out.shape[d] != -1)
        throw Error("shapes " + shape_str(in[0].shape, false) + " and " + shape_str(s, false) +
                    " differ outside the concatenation axis " + std::to_string(a.axis + 1));
      if (out.shape[d] == -1) out.shape[d] = s[d];
    }
    out.dtype = promote(out.dtype, in[k].dtype);
  }
  return out;
}
template <bool Fwd>
void concat_run(const OpAttrs& a, const In& in, float* o, const DIn* din) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < a.axis; ++d) outer *= in[0]->shape[d];
  for (size_t d = a.axis + 1; d < in[0]->shape.size(); ++d) inner *= in[0]->shape[d];
  int64_t total = 0;
  for (auto* t : in) total += t->shape[a.axis] * inner;
  int64_t pos = 0;
  for (size_t k = 0; k < in.size(); ++k) {
    const int64_t w = in[k]->shape[a.axis] * inner;
    float* dk = (!Fwd && (*din)[k]) ? (*din)[k]->ptr() : nullptr;
    for (int64_t j = 0; j < outer; ++j) {
      if (Fwd) std::copy(in[k]->ptr() + j * w, in[k]->ptr() + (j + 1) * w, o + j * total + pos);
      else if (dk) for (int64_t t = 0; t < w; ++t) dk[j * w + t] += o[j * total + pos + t];
    }
    pos += w;
  }
}
void concat_fwd(const OpContext&, const OpAttrs& a, const In& in, Tensor& out) { concat_run<true>(a, in, out.ptr(), nullptr); }
void concat_bwd(const OpAttrs& a, const In& in, const Tensor&, const Tensor& dout, const DIn& din) {
  concat_run<false>(a, in, const_cast<float*>(dout.ptr()), &din);
}
KN_REGISTER_OP(Concat, OpDef{"concatenate", -1, true, concat_infer, concat_fwd, concat_bwd});

// gather(params, indices): rows of params (axis 0) at 0-based indices.
TType gather_infer(OpAttrs&, const std::vector<TType>& in) {
  if (!dtype_is_int(in[1].dtype)) throw Error(std::string("indices must be integers, got ") + dtype_name(in[1].dtype));
  if (in[0].shape.empty()) throw Error("params must have at least one dimension");
  Shape out = in[1].shape;
  out.insert(out.end(), in[0].shape.begin() + 1, in[0].shape.end());
  return TType{in[0].dtype, out};
}
int64_t gather_row(float v, int64_t rows) {
  const int64_t r = static_cast<int64_t>(v);
  if (r < 0 || r >= rows)
    throw Error("gather: index " + std::to_string(r + 1) + " is out of range [1, " + std::to_string(rows) + "]");
  return r;
}
void gather_fwd(const OpContext&, const OpAttrs&, const In& in, Tensor& out) {
  const int64_t rows = in[0]->shape[0], w = rows ? in[0]->size() / rows : 0;
  for (int64_t i = 0; i < in[1]->size(); ++i) {
    const int64_t r = gather_row(in[1]->data[i], rows);
    std::copy(in[0]->ptr() + r * w, in[0]->ptr() + (r + 1) * w, out.ptr() + i * w);
  }
}
void gather_bwd(const OpAttrs&, const In& in, const Tensor&, const Tensor& dout, const DIn& din) {
  if (!din[0]) return;
  const int64_t rows = in[0]->shape[0], w = rows ? in[0]->size() / rows : 0;
  for (int64_t i = 0; i < in[1]->size(); ++i) {
    const int64_t r = gather_row(in[1]->data[i], rows);
    for (int64_t t = 0; t < w; ++t) din[0]->data[r * w + t] += dout.data[i * w + t];
  }
}
KN_REGISTER_OP(Gather, OpDef{"gather", 2, true, gather_infer, gather_fwd, gather_bwd});

// one_hot(indices, depth): a new last axis; out-of-range indices give all off_value (as TF).
TType one_hot_infer(OpAttrs& a, const std::vector<TType>& in) {
  if (!dtype_is_int(in[0].dtype)) throw Error(std::string("indices must be integers, got ") + dtype_name(in[0].dtype));
  if (a.depth <= 0) throw Error("depth must be a positive integer");
  Shape out = in[0].shape;
  out.push_back(a.depth);
  return TType{a.dtype, out};
}
void one_hot_fwd(const OpContext&, const OpAttrs& a, const In& in, Tensor& out) {
  std::fill(out.data.begin(), out.data.end(), static_cast<float>(a.b));
  for (int64_t i = 0; i < in[0]->size(); ++i) {
    const float v = in[0]->data[i];
    if (v >= 0 && v < a.depth) out.data[i * a.depth + static_cast<int64_t>(v)] = static_cast<float>(a.a);
  }
}
KN_REGISTER_OP(OneHot, OpDef{"one_hot", 1, false, one_hot_infer, one_hot_fwd, nullptr});

// tile(x, multiples): out dim d = in dim d * multiples[d].
TType tile_infer(OpAttrs& a, const std::vector<TType>& in) {
  if (a.shape.size() != in[0].shape.size())
    throw Error("multiples has " + std::to_string(a.shape.size()) + " entries but the tensor has rank " +
                std::to_string(in[0].shape.size()));
  Shape out = in[0].shape;
  for (size_t d = 0; d < out.size(); ++d) {
    if (a.shape[d] < 1) throw Error("multiples must be >= 1");
    if (out[d] != -1) out[d] *= a.shape[d];
  }
  return TType{in[0].dtype, out};
}
template <class F>
void tile_for(const Shape& in, const Shape& out, F f) {
  // out coordinate c maps to in coordinate c % in[d]
  std::vector<int64_t> st = strides_of(in);
  const int r = static_cast<int>(out.size());
  std::vector<int64_t> idx(r, 0);
  const int64_t n = shape_numel(out);
  for (int64_t i = 0; i < n; ++i) {
    int64_t o = 0;
    for (int d = 0; d < r; ++d) o += (idx[d] % in[d]) * st[d];
    f(i, o);
    for (int d = r - 1; d >= 0; --d) { if (++idx[d] < out[d]) break; idx[d] = 0; }
  }
}
void tile_fwd(const OpContext&, const OpAttrs&, const In& in, Tensor& out) {
  tile_for(in[0]->shape, out.shape, [&](int64_t i, int64_t o) { out.data[i] = in[0]->data[o]; });
}
void tile_bwd(const OpAttrs&, const In& in, const Tensor& out, const Tensor& dout, const DIn& din) {
  if (!din[0]) return;
  tile_for(in[0]->shape, out.shape, [&](int64_t i, int64_t o) { din[0]->data[o] += dout.data[i]; });
}
KN_REGISTER_OP(Tile, OpDef{"tile", 1, true, tile_infer, tile_fwd, tile_bwd});

// reverse(x, axes): x[..., n - 1 - i, ...] along each axis in `axes`.
TType reverse_infer(OpAttrs& a, const std::vector<TType>& in) {
  const int64_t r = static_cast<int64_t>(in[0].shape.size());
  if (a.axes.empty()) throw Error("needs at least one axis");
  for (auto& d : a.axes) d = norm_axis(d, r, "reverse");
  return in[0];
}
void reverse_geom(const OpAttrs& a, const Shape& s, int64_t& base, std::vector<int64_t>& st) {
  st = strides_of(s);
  base = 0;
  for (int64_t d : a.axes) {
    base += (s[d] - 1) * st[d];
    st[d] = -st[d];
  }
}
void reverse_fwd(const OpContext&, const OpAttrs& a, const In& in, Tensor& out) {
  int64_t base; std::vector<int64_t> st;
  reverse_geom(a, in[0]->shape, base, st);
  const float* x = in[0]->ptr();
  strided_for(out.shape, st, base, [&](int64_t i, int64_t o) { out.data[i] = x[o]; });
}
void reverse_bwd(const OpAttrs& a, const In& in, const Tensor& out, const Tensor& dout, const DIn& din) {
  if (!din[0]) return;
  int64_t base; std::vector<int64_t> st;
  reverse_geom(a, in[0]->shape, base, st);
  float* dx = din[0]->ptr();
  strided_for(out.shape, st, base, [&](int64_t i, int64_t o) { dx[o] += dout.data[i]; });
}
KN_REGISTER_OP(Reverse, OpDef{"reverse", 1, true, reverse_infer, reverse_fwd, reverse_bwd});

// in_top_k(predictions (b, c), targets (b) 0-based, k): whether each target's
// prediction is among the k largest; ties at the boundary count as in (as TF).
TType in_top_k_infer(OpAttrs& a, const std::vector<TType>& in) {
  need_float(in[0], "in_top_k");
  if (in[0].shape.size() != 2) throw Error("predictions must be 2-D (batch, classes), got " + shape_str(in[0].shape, false));
  if (!dtype_is_int(in[1].dtype)) throw Error(std::string("targets must be integers, got ") + dtype_name(in[1].dtype));
  if (in[1].shape.size() != 1) throw Error("targets must be 1-D (batch), got " + shape_str(in[1].shape, false));
  if (a.depth < 1) throw Error("k must be >= 1");
  return TType{DType::Bool, Shape{in[0].shape[0]}};
}
void in_top_k_fwd(const OpContext&, const OpAttrs& a, const In& in, Tensor& out) {
  const int64_t b = in[0]->shape[0], c = in[0]->shape[1];
  for (int64_t i = 0; i < b; ++i) {
    const float* row = in[0]->ptr() + i * c;
    const int64_t t = static_cast<int64_t>(in[1]->data[i]);
    if (t < 0 || t >= c || !std::isfinite(row[t])) { out.data[i] = 0.0f; continue; }
    int64_t greater = 0;
    for (int64_t j = 0; j < c; ++j) greater += row[j] > row[t];
    out.data[i] = greater < a.depth ? 1.0f : 0.0f;
  }
}
KN_REGISTER_OP(InTopK, OpDef{"in_top_k", 2, false, in_top_k_infer, in_top_k_fwd, nullptr});

}  // namespace
}  // namespace kn
