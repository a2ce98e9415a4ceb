// Convolution and pooling ops (k_conv1d/2d/3d, k_conv2d_transpose,
// k_depthwise_conv2d, k_separable_conv2d = depthwise then a 1x1 conv,
// k_pool2d/3d), channels-last with r = 1..3 spatial axes, computed by the
// kernels of src/kernels/conv.h:
//   conv:           x (N, s1..sr, C), kernel (k1..kr, C, F)       -> (N, o1..or, F)
//   conv_transpose: x (N, s1..sr, C), kernel (k1..kr, F, C),
//                   output_shape (N, o1..or, F)                   -> (N, o1..or, F)
//   depthwise_conv: x (N, s1..sr, C), kernel (k1..kr, C, dm)      -> (N, o1..or, C*dm)
//   pool:           x (N, s1..sr, C), pool_size (r)               -> (N, o1..or, C)
// Attributes: strides and dilation_rate (one per spatial axis, default 1),
// padding ("valid", "same"; "causal" for a 1-D conv), pool_mode ("max", "avg").
// A transposed convolution is the adjoint of the convolution from its output
// shape to its input shape (TensorFlow's conv2d_transpose).
#include <algorithm>

#include "conv.h"
#include "op.h"

namespace kn {
namespace {

// Spatial rank of x (N, s..., C), checked in [1, 3].
int64_t spatial_rank(const TType& x, const char* op) {
  const int64_t r = static_cast<int64_t>(x.shape.size()) - 2;
  if (r < 1 || r > 3)
    throw Error(std::string(op) + ": expects an input of shape (batch, spatial (1 to 3 axes), channels), got " +
                shape_str(x.shape, false));
  return r;
}

// A per-axis attribute with r entries (empty = all 1), each >= 1.
std::vector<int64_t> per_axis(std::vector<int64_t> v, int64_t r, const char* what) {
  if (v.empty()) v.assign(static_cast<size_t>(r), 1);
  if (v.size() == 1 && r > 1) v.assign(static_cast<size_t>(r), v[0]);
  if (static_cast<int64_t>(v.size()) != r)
    throw Error(std::string(what) + " needs " + std::to_string(r) + " value(s) (one per spatial axis), got " +
                dims_text(v));
  for (int64_t e : v)
    if (e < 1 || e > 4096) throw Error(std::string(what) + " must be in [1, 4096], got " + dims_text(v));
  return v;
}

void check_padding(const OpAttrs& a, int64_t r, bool causal_ok) {
  if (a.padding == "valid" || a.padding == "same" || (causal_ok && r == 1 && a.padding == "causal")) return;
  throw Error("padding must be " + std::string(causal_ok && r == 1 ? "'valid', 'same' or 'causal'" : "'valid' or 'same'") +
              ", got '" + a.padding + "'");
}

// The spatial axes of a ConvGeom, last r of (d, h, w).
std::vector<WindowAxis*> axes_of(ConvGeom& g, int64_t r) {
  std::vector<WindowAxis*> all = {&g.d, &g.h, &g.w};
  return std::vector<WindowAxis*>(all.end() - r, all.end());
}

// Window geometry over x's spatial dims (windows k, attrs' strides/dilation);
// out[i] = -1 when the input length is unknown. Throws when a window does not fit.
ConvGeom window_geom(const OpAttrs& a, const Shape& xs, const std::vector<int64_t>& k, Shape& out_sp) {
  const int64_t r = static_cast<int64_t>(k.size());
  ConvGeom g;
  g.C = xs.back();
  auto ax = axes_of(g, r);
  out_sp.assign(static_cast<size_t>(r), -1);
  for (int64_t i = 0; i < r; ++i) {
    WindowAxis& w = *ax[i];
    w.k = k[i];
    w.stride = a.strides[i];
    w.dilation = a.dilation.empty() ? 1 : a.dilation[i];
    w.in = xs[1 + i];
    if (w.in < 0) continue;
    if (!window_axis(w, a.padding))
      throw Error("the window " + dims_text(k) + " (dilated " + std::to_string(w.extent()) + " on axis " +
                  std::to_string(i + 1) + ") is larger than the input " + shape_str(xs, false) + " with padding '" +
                  a.padding + "'");
    out_sp[i] = w.out;
  }
  return g;
}

// Kernel dims (k1..kr, A, B) checked against rank r and x's channels at `ch_pos`.
std::vector<int64_t> kernel_window(const TType& kt, int64_t r, int64_t C, int ch_pos, const char* what) {
  const Shape& ks = kt.shape;
  if (static_cast<int64_t>(ks.size()) != r + 2)
    throw Error(std::string("the kernel must have shape ") + what + " (rank " + std::to_string(r + 2) + "), got " +
                shape_str(ks, false));
  for (int64_t i = 0; i < r + 2; ++i)
    if (ks[i] < 1) throw Error("the kernel shape " + shape_str(ks, false) + " must be fully known");
  const int64_t kc = ks[r + ch_pos];
  if (C >= 0 && kc != C)
    throw Error("the kernel " + shape_str(ks, false) + " is for " + std::to_string(kc) +
                " input channels but the input has " + std::to_string(C));
  return std::vector<int64_t>(ks.begin(), ks.begin() + r);
}

// ---------------------------------------------------------------- conv
TType conv_infer(OpAttrs& a, const std::vector<TType>& in) {
  need_float(in[0], "conv");
  need_float(in[1], "conv");
  const int64_t r = spatial_rank(in[0], "conv");
  a.strides = per_axis(a.strides, r, "strides");
  a.dilation = per_axis(a.dilation, r, "dilation_rate");
  check_padding(a, r, true);
  const std::vector<int64_t> k = kernel_window(in[1], r, in[0].shape.back(), 0, "(kernel..., in_channels, filters)");
  Shape sp;
  window_geom(a, in[0].shape, k, sp);
  Shape out{in[0].shape[0]};
  out.insert(out.end(), sp.begin(), sp.end());
  out.push_back(in[1].shape.back());
  return TType{DType::Float32, out};
}

ConvGeom conv_geom(const OpAttrs& a, const Tensor& x, const Tensor& kernel) {
  const int64_t r = static_cast<int64_t>(x.shape.size()) - 2;
  Shape sp;
  ConvGeom g = window_geom(a, x.shape, std::vector<int64_t>(kernel.shape.begin(), kernel.shape.begin() + r), sp);
  g.F = kernel.shape.back();
  return g;
}

void conv_fwd(const OpContext&, const OpAttrs& a, const In& in, Tensor& out) {
  const ConvGeom g = conv_geom(a, *in[0], *in[1]);
  ConvWork work;
  // out (N*P, F) = x (*) kernel (K, F)
  conv_forward(g, in[0]->shape[0], in[0]->ptr(), in[1]->ptr(), nullptr, false, false, out.ptr(), work);
}

void conv_bwd(const OpAttrs& a, const In& in, const Tensor&, const Tensor& dout, const DIn& din) {
  const ConvGeom g = conv_geom(a, *in[0], *in[1]);
  ConvWork work;
  conv_backward(g, in[0]->shape[0], in[0]->ptr(), in[1]->ptr(), dout.ptr(), nullptr, din[0] ? din[0]->ptr() : nullptr,
                din[1] ? din[1]->ptr() : nullptr, nullptr, work);
}
KN_REGISTER_OP(Conv, OpDef{"conv", 2, true, conv_infer, conv_fwd, conv_bwd});

// ---------------------------------------------------------------- conv_transpose
// The virtual convolution: input = this op's output (o..., F), output = x (s..., C).
ConvGeom transpose_geom(const OpAttrs& a, const Shape& xs, const Shape& ks, bool check) {
  const int64_t r = static_cast<int64_t>(xs.size()) - 2;
  ConvGeom g;
  g.C = ks[r];      // F: the virtual input's channels
  g.F = ks[r + 1];  // C
  auto ax = axes_of(g, r);
  for (int64_t i = 0; i < r; ++i) {
    WindowAxis& w = *ax[i];
    w.k = ks[i];
    w.stride = a.strides[i];
    w.in = a.shape[1 + i];
    if (!window_axis(w, a.padding) || (check && xs[1 + i] >= 0 && w.out != xs[1 + i]))
      throw Error("output_shape " + shape_str(a.shape, false) + " does not match the input " + shape_str(xs, false) +
                  " for kernel " + shape_str(ks, false) + ", strides " + dims_text(a.strides) + " and padding '" +
                  a.padding + "' (a convolution of the output shape must give the input's spatial shape)");
  }
  return g;
}

TType conv_transpose_infer(OpAttrs& a, const std::vector<TType>& in) {
  need_float(in[0], "conv_transpose");
  need_float(in[1], "conv_transpose");
  const int64_t r = spatial_rank(in[0], "conv_transpose");
  a.strides = per_axis(a.strides, r, "strides");
  check_padding(a, r, false);
  kernel_window(in[1], r, in[0].shape.back(), 1, "(kernel..., filters, in_channels)");
  if (static_cast<int64_t>(a.shape.size()) != r + 2)
    throw Error("output_shape must have " + std::to_string(r + 2) + " entries (batch, spatial..., filters), got " +
                dims_text(a.shape));
  for (int64_t i = 1; i < r + 2; ++i)
    if (a.shape[i] < 1) throw Error("output_shape " + dims_text(a.shape) + " must be known and positive beyond the batch");
  if (a.shape[r + 1] != in[1].shape[r])
    throw Error("output_shape " + dims_text(a.shape) + " has " + std::to_string(a.shape[r + 1]) +
                " channels but the kernel " + shape_str(in[1].shape, false) + " makes " + std::to_string(in[1].shape[r]));
  const int64_t n = in[0].shape[0];
  if (a.shape[0] >= 0 && n >= 0 && a.shape[0] != n)
    throw Error("output_shape " + dims_text(a.shape) + " has batch size " + std::to_string(a.shape[0]) +
                " but the input has " + std::to_string(n));
  transpose_geom(a, in[0].shape, in[1].shape, true);
  Shape out = a.shape;
  out[0] = n;
  return TType{DType::Float32, out};
}

void conv_transpose_fwd(const OpContext&, const OpAttrs& a, const In& in, Tensor& out) {
  const ConvGeom g = transpose_geom(a, in[0]->shape, in[1]->shape, false);
  ConvWork work;
  out.zero();  // (N, o..., F) = adjoint of the virtual convolution applied to x
  conv_backward(g, in[0]->shape[0], nullptr, in[1]->ptr(), in[0]->ptr(), nullptr, out.ptr(), nullptr, nullptr, work);
}

void conv_transpose_bwd(const OpAttrs& a, const In& in, const Tensor&, const Tensor& dout, const DIn& din) {
  const ConvGeom g = transpose_geom(a, in[0]->shape, in[1]->shape, false);
  const int64_t N = in[0]->shape[0];
  ConvWork work;
  if (din[0]) conv_forward(g, N, dout.ptr(), in[1]->ptr(), nullptr, false, true, din[0]->ptr(), work);
  if (din[1]) conv_backward(g, N, dout.ptr(), in[1]->ptr(), in[0]->ptr(), nullptr, nullptr, din[1]->ptr(), nullptr, work);
}
KN_REGISTER_OP(ConvTranspose, OpDef{"conv_transpose", 2, true, conv_transpose_infer, conv_transpose_fwd,
                                    conv_transpose_bwd});

// ---------------------------------------------------------------- depthwise_conv
TType depthwise_infer(OpAttrs& a, const std::vector<TType>& in) {
  need_float(in[0], "depthwise_conv");
  need_float(in[1], "depthwise_conv");
  const int64_t r = spatial_rank(in[0], "depthwise_conv");
  a.strides = per_axis(a.strides, r, "strides");
  a.dilation = per_axis(a.dilation, r, "dilation_rate");
  check_padding(a, r, false);
  const std::vector<int64_t> k =
      kernel_window(in[1], r, in[0].shape.back(), 0, "(kernel..., in_channels, depth_multiplier)");
  Shape sp;
  window_geom(a, in[0].shape, k, sp);
  Shape out{in[0].shape[0]};
  out.insert(out.end(), sp.begin(), sp.end());
  out.push_back(in[0].shape.back() < 0 ? -1 : in[0].shape.back() * in[1].shape.back());
  return TType{DType::Float32, out};
}

void depthwise_fwd(const OpContext&, const OpAttrs& a, const In& in, Tensor& out) {
  ConvGeom g = conv_geom(a, *in[0], *in[1]);
  ConvWork work;
  // out (N*P, C*dm)
  depthwise_forward(g, in[0]->shape[0], in[1]->shape.back(), in[0]->ptr(), in[1]->ptr(), out.ptr(), work);
}

void depthwise_bwd(const OpAttrs& a, const In& in, const Tensor&, const Tensor& dout, const DIn& din) {
  ConvGeom g = conv_geom(a, *in[0], *in[1]);
  ConvWork work;
  depthwise_backward(g, in[0]->shape[0], in[1]->shape.back(), in[0]->ptr(), in[1]->ptr(), dout.ptr(),
                     din[0] ? din[0]->ptr() : nullptr, din[1] ? din[1]->ptr() : nullptr, work);
}
KN_REGISTER_OP(DepthwiseConv, OpDef{"depthwise_conv", 2, true, depthwise_infer, depthwise_fwd, depthwise_bwd});

// ---------------------------------------------------------------- pool
TType pool_infer(OpAttrs& a, const std::vector<TType>& in) {
  need_float(in[0], "pool");
  const int64_t r = spatial_rank(in[0], "pool");
  if (a.pool_size.empty()) throw Error("pool_size is required");
  a.pool_size = per_axis(a.pool_size, r, "pool_size");
  a.strides = per_axis(a.strides, r, "strides");
  a.dilation.clear();
  check_padding(a, r, false);
  Shape sp;
  window_geom(a, in[0].shape, a.pool_size, sp);
  Shape out{in[0].shape[0]};
  out.insert(out.end(), sp.begin(), sp.end());
  out.push_back(in[0].shape.back());
  return TType{DType::Float32, out};
}

void pool_fwd(const OpContext&, const OpAttrs& a, const In& in, Tensor& out) {
  Shape sp;
  const ConvGeom g = window_geom(a, in[0]->shape, a.pool_size, sp);
  std::vector<int32_t> arg(a.pool_max ? static_cast<size_t>(out.size()) : 0);  // (N*P, C)
  pool_forward(g, in[0]->shape[0], a.pool_max, in[0]->ptr(), out.ptr(), a.pool_max ? arg.data() : nullptr);
}

void pool_bwd(const OpAttrs& a, const In& in, const Tensor& out, const Tensor& dout, const DIn& din) {
  if (!din[0]) return;
  Shape sp;
  const ConvGeom g = window_geom(a, in[0]->shape, a.pool_size, sp);
  const int64_t N = in[0]->shape[0];
  std::vector<int32_t> arg;  // (N*P, C): recomputed, the op keeps no state between passes
  if (a.pool_max) {
    arg.resize(static_cast<size_t>(out.size()));
    Tensor y(out.shape);
    pool_forward(g, N, true, in[0]->ptr(), y.ptr(), arg.data());
  }
  pool_backward(g, N, a.pool_max, dout.ptr(), a.pool_max ? arg.data() : nullptr, din[0]->ptr());
}
KN_REGISTER_OP(Pool, OpDef{"pool", 1, true, pool_infer, pool_fwd, pool_bwd});

}  // namespace
}  // namespace kn
