// Window geometry shared by the convolution and pooling kernels (Keras 2.2 /
// TensorFlow semantics), plus the im2col / col2im transforms of conv.cpp.
// Everything is channels-last; a 1-D or 2-D op is a 3-D op with unit depth
// (and height).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "tensor.h"

namespace kn {

// One spatial axis of a sliding window.
struct WindowAxis {
  int64_t in = 0;        // input length
  int64_t k = 1;         // window (kernel / pool) length
  int64_t stride = 1;
  int64_t dilation = 1;
  int64_t pad_before = 0;  // zeros (or ignored cells) before the first input cell
  int64_t out = 0;       // output length
  int64_t extent() const { return (k - 1) * dilation + 1; }  // dilated window length
};

// Fills pad_before/out for `padding` ("valid", "same" or "causal"). "same" is
// TensorFlow's: out = ceil(in / stride), pad_total = max((out - 1) * stride +
// extent - in, 0), pad_before = pad_total / 2 (the extra cell goes after).
// "causal" pads extent - 1 before (Conv1D only). Returns false when a "valid"
// window is larger than the input (out would be < 1).
inline bool window_axis(WindowAxis& a, const std::string& padding) {
  const int64_t ext = a.extent();
  if (padding == "same") {
    a.out = (a.in + a.stride - 1) / a.stride;
    const int64_t total = std::max<int64_t>((a.out - 1) * a.stride + ext - a.in, 0);
    a.pad_before = total / 2;
  } else if (padding == "causal") {
    a.pad_before = ext - 1;
    a.out = (a.in - 1) / a.stride + 1;
  } else {  // valid
    a.pad_before = 0;
    if (a.in < ext) { a.out = 0; return false; }
    a.out = (a.in - ext) / a.stride + 1;
  }
  return a.out >= 1;
}

// Geometry of a channels-last convolution with up to three spatial axes, per
// sample: input (D, H, W, C) -> output (OD, OH, OW, F), kernel (KD, KH, KW, C, F).
// A 2-D convolution has d = {in 1, k 1, out 1}; a 1-D one also h = d.
struct ConvGeom {
  WindowAxis d = unit_axis(), h = unit_axis(), w;
  int64_t C = 0;  // input channels
  int64_t F = 0;  // filters
  static WindowAxis unit_axis() { WindowAxis a; a.in = 1; a.out = 1; return a; }
  int64_t taps() const { return d.k * h.k * w.k; }                 // kernel cells
  int64_t K() const { return taps() * C; }                          // im2col row length
  int64_t in_size() const { return d.in * h.in * w.in * C; }        // per-sample input size
  int64_t out_pixels() const { return d.out * h.out * w.out; }      // per-sample output rows
};

// Calls fn(n, od, oh, ow0, ow1, row) for each run of output rows in [r0, r1)
// that share (n, od, oh); row is the global index of (n, od, oh, ow0).
template <class Fn>
inline void for_row_segments(const ConvGeom& g, int64_t r0, int64_t r1, Fn fn) {
  const int64_t P = g.out_pixels();
  for (int64_t r = r0; r < r1;) {
    const int64_t n = r / P, p = r % P, q = p / g.w.out, ow0 = p % g.w.out;
    const int64_t od = q / g.h.out, oh = q % g.h.out;
    const int64_t ow1 = std::min(g.w.out, ow0 + (r1 - r));
    fn(n, od, oh, ow0, ow1, r);
    r += ow1 - ow0;
  }
}

// Output columns ow in [ow0, ow1) whose input column ow*sw - pl + j*dw lies in
// [0, W): returns the sub-range [lo, hi), always with ow0 <= lo <= hi <= ow1
// (empty when lo == hi), so [ow0, lo) and [hi, ow1) are the padded columns.
// Clamping lo to ow1 matters: a short run of rows (cut by the end of an im2col
// block, or a narrow output) can lie entirely left of the first valid column,
// and the padding loops must not run past ow1 (they did: issue 8's overflow).
inline void valid_cols(const WindowAxis& a, int64_t j, int64_t ow0, int64_t ow1, int64_t& lo, int64_t& hi) {
  const int64_t off = j * a.dilation - a.pad_before;  // iw = ow * stride + off
  // iw >= 0  <=> ow >= ceil(-off / stride); iw < in <=> ow <= floor((in - 1 - off) / stride)
  const int64_t first = off >= 0 ? 0 : (-off + a.stride - 1) / a.stride;
  const int64_t last = a.in - 1 - off < 0 ? -1 : (a.in - 1 - off) / a.stride;
  lo = std::min(ow1, std::max(ow0, first));
  hi = std::max(lo, std::min(ow1, last + 1));
}

// Input index of window cell i for output position o along axis a (may be
// outside [0, a.in)).
inline int64_t window_in(const WindowAxis& a, int64_t o, int64_t i) {
  return o * a.stride - a.pad_before + i * a.dilation;
}

// im2col for global output rows [r0, r1) of a batch, row r = (n, od, oh, ow):
// col(r - r0, (a, i, j, c)) = x(n, od*sd - pd + a*dd, oh*sh - pt + i*dh,
// ow*sw - pl + j*dw, c), zero outside the input. x: (N, D, H, W, C);
// col: (r1 - r0, KD*KH*KW*C).
inline void im2col_rows(const ConvGeom& g, const float* x, int64_t r0, int64_t r1, float* col) {
  const int64_t K = g.K(), C = g.C, KH = g.h.k, KW = g.w.k;
  for_row_segments(g, r0, r1, [&](int64_t n, int64_t od, int64_t oh, int64_t ow0, int64_t ow1, int64_t row) {
    const float* xs = x + n * g.in_size();  // (D, H, W, C)
    float* seg = col + (row - r0) * K;      // (ow1 - ow0, K)
    for (int64_t a = 0; a < g.d.k; ++a) {
      const int64_t id = window_in(g.d, od, a);
      for (int64_t i = 0; i < KH; ++i) {
        const int64_t ih = window_in(g.h, oh, i);
        const bool row_in = id >= 0 && id < g.d.in && ih >= 0 && ih < g.h.in;
        for (int64_t j = 0; j < KW; ++j) {
          float* d0 = seg + ((a * KH + i) * KW + j) * C;  // column block (a, i, j) of the segment's rows
          int64_t lo = ow0, hi = ow0;
          if (row_in) valid_cols(g.w, j, ow0, ow1, lo, hi);
          for (int64_t ow = ow0; ow < lo; ++ow)
            for (int64_t c = 0; c < C; ++c) d0[(ow - ow0) * K + c] = 0.0f;
          for (int64_t ow = hi; ow < ow1; ++ow)
            for (int64_t c = 0; c < C; ++c) d0[(ow - ow0) * K + c] = 0.0f;
          if (lo >= hi) continue;
          const int64_t sw = g.w.stride * C;
          const float* src = xs + ((id * g.h.in + ih) * g.w.in + window_in(g.w, lo, j)) * C;
          float* dst = d0 + (lo - ow0) * K;
          if (C == 1) {
            for (int64_t ow = lo; ow < hi; ++ow, src += sw, dst += K) *dst = *src;
          } else {
            for (int64_t ow = lo; ow < hi; ++ow, src += sw, dst += K) std::copy(src, src + C, dst);
          }
        }
      }
    }
  });
}

// Adjoint of im2col_rows: dx(n, id, ih, iw, c) += dcol(r - r0, (a, i, j, c)).
// dx: (N, D, H, W, C); dcol: (r1 - r0, KD*KH*KW*C).
inline void col2im_rows_add(const ConvGeom& g, const float* dcol, int64_t r0, int64_t r1, float* dx) {
  const int64_t K = g.K(), C = g.C, KH = g.h.k, KW = g.w.k;
  for_row_segments(g, r0, r1, [&](int64_t n, int64_t od, int64_t oh, int64_t ow0, int64_t ow1, int64_t row) {
    float* xs = dx + n * g.in_size();          // (D, H, W, C)
    const float* seg = dcol + (row - r0) * K;  // (ow1 - ow0, K)
    for (int64_t a = 0; a < g.d.k; ++a) {
      const int64_t id = window_in(g.d, od, a);
      if (id < 0 || id >= g.d.in) continue;
      for (int64_t i = 0; i < KH; ++i) {
        const int64_t ih = window_in(g.h, oh, i);
        if (ih < 0 || ih >= g.h.in) continue;
        for (int64_t j = 0; j < KW; ++j) {
          int64_t lo, hi;
          valid_cols(g.w, j, ow0, ow1, lo, hi);
          if (lo >= hi) continue;
          const int64_t sw = g.w.stride * C;
          float* dst = xs + ((id * g.h.in + ih) * g.w.in + window_in(g.w, lo, j)) * C;
          const float* src = seg + (lo - ow0) * K + ((a * KH + i) * KW + j) * C;
          for (int64_t ow = lo; ow < hi; ++ow, src += K, dst += sw)
            for (int64_t c = 0; c < C; ++c) dst[c] += src[c];
        }
      }
    }
  });
}

// ---- small element-wise kernels shared by conv / pooling ----
// Written with GCC/Clang vector extensions (4 floats: SSE2 on x86-64, NEON on
// ARM) because the package is built with plain -O2, which does not vectorise
// loops of unknown length; everything is branch-free (random signs / window
// maxima would make branches mispredict). Scalar fallback elsewhere.
#if defined(__GNUC__) || defined(__clang__)
#define KN_VEC4 1
typedef float kn_v4f __attribute__((vector_size(16)));
typedef int32_t kn_v4i __attribute__((vector_size(16)));
inline kn_v4f v4_load(const float* p) { kn_v4f v; std::memcpy(&v, p, 16); return v; }
inline void v4_store(float* p, kn_v4f v) { std::memcpy(p, &v, 16); }
inline kn_v4i v4i_load(const int32_t* p) { kn_v4i v; std::memcpy(&v, p, 16); return v; }
inline void v4i_store(int32_t* p, kn_v4i v) { std::memcpy(p, &v, 16); }
#else
#define KN_VEC4 0
#endif

inline float relu_scalar(float v) {  // +0 for values with the sign bit set
  int32_t b;
  std::memcpy(&b, &v, 4);
  b &= ~(b >> 31);
  std::memcpy(&v, &b, 4);
  return v;
}

// y(r, :) = relu?(y(r, :) + bias) over rows of `cols`; bias may be null.
inline void bias_relu_rows(float* y, int64_t rows, int64_t cols, const float* bias, bool relu) {
  if (!bias && !relu) return;
  for (int64_t r = 0; r < rows; ++r) {
    float* row = y + r * cols;  // (cols)
    int64_t c = 0;
#if KN_VEC4
    const kn_v4f zero = {0, 0, 0, 0};
    for (; c + 4 <= cols; c += 4) {
      kn_v4f v = v4_load(row + c);
      if (bias) v += v4_load(bias + c);
      if (relu) v = (kn_v4f)((kn_v4i)v & (v > zero));
      v4_store(row + c, v);
    }
#endif
    for (; c < cols; ++c) {
      float v = row[c] + (bias ? bias[c] : 0.0f);
      row[c] = relu ? relu_scalar(v) : v;
    }
  }
}

// dz = dy where y > 0, else +0 (ReLU backward from the output y). n values.
inline void relu_backward(const float* y, const float* dy, float* dz, int64_t n) {
  int64_t i = 0;
#if KN_VEC4
  const kn_v4f zero = {0, 0, 0, 0};
  for (; i + 4 <= n; i += 4)
    v4_store(dz + i, (kn_v4f)((kn_v4i)v4_load(dy + i) & (v4_load(y + i) > zero)));
#endif
  for (; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, dy + i, 4);
    bits &= 0u - static_cast<uint32_t>(y[i] > 0.0f);
    std::memcpy(dz + i, &bits, 4);
  }
}

// Running max over n channels: where x[c] > best[c] (strictly: ties keep the
// earlier), best[c] = x[c] and arg[c] = off + c.
inline void max_update(const float* x, int32_t off, float* best, int32_t* arg, int64_t n) {
  int64_t c = 0;
#if KN_VEC4
  const kn_v4i step = {0, 1, 2, 3};
  for (; c + 4 <= n; c += 4) {
    const kn_v4f v = v4_load(x + c), b = v4_load(best + c);
    const kn_v4i m = v > b;
    v4_store(best + c, (kn_v4f)(((kn_v4i)b & ~m) | ((kn_v4i)v & m)));
    const kn_v4i idx = step + static_cast<int32_t>(off + c);
    v4i_store(arg + c, (v4i_load(arg + c) & ~m) | (idx & m));
  }
#endif
  for (; c < n; ++c) {
    const int32_t m = -static_cast<int32_t>(x[c] > best[c]);
    int32_t vb, bb;
    std::memcpy(&vb, x + c, 4);
    std::memcpy(&bb, best + c, 4);
    bb = (bb & ~m) | (vb & m);
    std::memcpy(best + c, &bb, 4);
    arg[c] = (arg[c] & ~m) | (static_cast<int32_t>(off + c) & m);
  }
}

// a[i] += b[i] * s for n values.
inline void add_scaled(float* a, const float* b, float s, int64_t n) {
  int64_t i = 0;
#if KN_VEC4
  for (; i + 4 <= n; i += 4) v4_store(a + i, v4_load(a + i) + v4_load(b + i) * s);
#endif
  for (; i < n; ++i) a[i] += b[i] * s;
}

}  // namespace kn
