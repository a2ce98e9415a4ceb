// Convolution kernels shared by the conv layers (src/nn/layers_conv*.cpp) and
// the conv ops (src/ops/ops_conv.cpp). Channels-last, Keras 2.2 / TensorFlow
// semantics (cross-correlation, windows placed by im2col.h's window_axis):
//   x (N, D, H, W, C), kernel w (KD, KH, KW, C, F) = (K, F) with K = KD*KH*KW*C,
//   y (N, OD, OH, OW, F) = (N*P, F) rows with P = OD*OH*OW.
// 1-D and 2-D convolutions are 3-D ones with unit depth (and height): see
// ConvGeom in im2col.h. A transposed convolution is the adjoint of the
// convolution from its output shape to its input shape, so it runs
// conv_backward for its forward pass and conv_forward for its input gradient.
//
// Implementation: im2col blocks + sgemm. The batch is split into tasks of
// whole samples (the split depends only on N, never on the thread count);
// tasks run through parallel_for, each with a single-threaded sgemm (or one
// task with the threaded sgemm). Weight gradients are per-task partials summed
// in task order, so every result is bitwise identical at any thread count.
//
// `work` holds reusable buffers (kept by the caller between calls, e.g. a
// layer's Scratch::t): its entries are owned by these kernels during a call.
#pragma once
#include <cstdint>
#include <vector>

#include "im2col.h"
#include "tensor.h"

namespace kn {

using ConvWork = std::vector<Tensor>;

// y (N*P, F) = x (*) w [+ bias (F)] [then ReLU]; with `add`, y += x (*) w
// (bias and relu must then be off). bias may be null.
void conv_forward(const ConvGeom& g, int64_t N, const float* x, const float* w, const float* bias, bool relu,
                  bool add, float* y, ConvWork& work);

// Gradients of z = x (*) w + b from dz (N*P, F). When relu_y (N*P, F) is given,
// dz = dy where relu_y > 0 (ReLU backward from the output), computed block by
// block; else dz = dy. Adds into dx (N, D, H, W, C), dw (K, F), db (F); a null
// pointer skips that gradient (x may be null when dw is).
void conv_backward(const ConvGeom& g, int64_t N, const float* x, const float* w, const float* dy,
                   const float* relu_y, float* dx, float* dw, float* db, ConvWork& work);

// Depthwise convolution with depth multiplier dm, kernel dk (KD, KH, KW, C, dm):
//   z(n, p, c*dm + m) = sum_t x(n, window cell t of p, c) * dk(t, c, m)
// z: (N*P, C*dm), written (not added).
void depthwise_forward(const ConvGeom& g, int64_t N, int64_t dm, const float* x, const float* dk, float* z,
                       ConvWork& work);
// Adds the gradients of depthwise_forward from dz (N*P, C*dm) into dx
// (N, D, H, W, C) and ddk (KD, KH, KW, C, dm); null skips.
void depthwise_backward(const ConvGeom& g, int64_t N, int64_t dm, const float* x, const float* dk,
                        const float* dz, float* dx, float* ddk, ConvWork& work);

// Pooling over the windows of g (g.F unused; kernel = pool size, dilation 1).
// Padded cells never win a max and are not counted in an average. Max records
// in arg (N*P, C) the per-sample input offset of the first maximum of each
// window (window order d, h, w); backward routes the gradient there.
// y: (N*P, C), written; dx: (N, D, H, W, C), added.
void pool_forward(const ConvGeom& g, int64_t N, bool is_max, const float* x, float* y, int32_t* arg);
void pool_backward(const ConvGeom& g, int64_t N, bool is_max, const float* dy, const int32_t* arg, float* dx);

}  // namespace kn
