// Window geometry shared by the convolution and pooling layers (Keras 2.2 /
// TensorFlow semantics), plus the im2col / col2im transforms used by Conv1D and
// Conv2D. Everything is channels-last; a 1-D op is a 2-D op with height 1.
#pragma once
#include <algorithm>
#include <cstdint>
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

// Geometry of a 2-D channels-last convolution, per sample:
// input (H, W, C) -> output (OH, OW, F), kernel (KH, KW, C, F).
struct ConvGeom {
  WindowAxis h, w;
  int64_t C = 0;  // input channels
  int64_t F = 0;  // filters
  int64_t K() const { return h.k * w.k * C; }      // im2col row length
  int64_t in_size() const { return h.in * w.in * C; }   // per-sample input size
  int64_t out_pixels() const { return h.out * w.out; }  // per-sample output rows
};

// im2col for global output rows [r0, r1) of a batch, row r = (n, oh, ow):
// col(r - r0, (i, j, c)) = x(n, oh*sh - pt + i*dh, ow*sw - pl + j*dw, c), zero
// outside the input. x: (N, H, W, C); col: (r1 - r0, KH*KW*C).
inline void im2col_rows(const ConvGeom& g, const float* x, int64_t r0, int64_t r1, float* col) {
  const int64_t P = g.out_pixels(), K = g.K(), C = g.C;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t n = r / P, p = r % P, oh = p / g.w.out, ow = p % g.w.out;
    const float* xs = x + n * g.in_size();  // (H, W, C)
    float* dst = col + (r - r0) * K;         // (KH, KW, C)
    for (int64_t i = 0; i < g.h.k; ++i) {
      const int64_t ih = oh * g.h.stride - g.h.pad_before + i * g.h.dilation;
      if (ih < 0 || ih >= g.h.in) {
        std::fill(dst, dst + g.w.k * C, 0.0f);
        dst += g.w.k * C;
        continue;
      }
      for (int64_t j = 0; j < g.w.k; ++j, dst += C) {
        const int64_t iw = ow * g.w.stride - g.w.pad_before + j * g.w.dilation;
        if (iw < 0 || iw >= g.w.in) std::fill(dst, dst + C, 0.0f);
        else std::copy(xs + (ih * g.w.in + iw) * C, xs + (ih * g.w.in + iw + 1) * C, dst);
      }
    }
  }
}

// Adjoint of im2col_rows: dx(n, ih, iw, c) += dcol(r - r0, (i, j, c)).
// dx: (N, H, W, C); dcol: (r1 - r0, KH*KW*C).
inline void col2im_rows_add(const ConvGeom& g, const float* dcol, int64_t r0, int64_t r1, float* dx) {
  const int64_t P = g.out_pixels(), K = g.K(), C = g.C;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t n = r / P, p = r % P, oh = p / g.w.out, ow = p % g.w.out;
    float* xs = dx + n * g.in_size();         // (H, W, C)
    const float* src = dcol + (r - r0) * K;   // (KH, KW, C)
    for (int64_t i = 0; i < g.h.k; ++i) {
      const int64_t ih = oh * g.h.stride - g.h.pad_before + i * g.h.dilation;
      if (ih < 0 || ih >= g.h.in) { src += g.w.k * C; continue; }
      for (int64_t j = 0; j < g.w.k; ++j, src += C) {
        const int64_t iw = ow * g.w.stride - g.w.pad_before + j * g.w.dilation;
        if (iw < 0 || iw >= g.w.in) continue;
        float* d = xs + (ih * g.w.in + iw) * C;
        for (int64_t c = 0; c < C; ++c) d[c] += src[c];
      }
    }
  }
}

}  // namespace kn
