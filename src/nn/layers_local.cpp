// LocallyConnected1D / LocallyConnected2D (Keras 2.2.5): a convolution whose
// weights are not shared between output positions. "valid" padding only (as
// Keras), channels-last. Weights as Keras stores them (implementation 1):
//   2D: kernel (OH * OW, kh * kw * C, filters), bias (OH, OW, filters)
//   1D: kernel (OL, k * C, filters),           bias (OL, filters)
// Patches are im2col rows (order (i, j, c), as Keras flattens them); output
// position p is one sgemm over the batch: y[:, p] = col[:, p] * W[p] + b[p].
#include <algorithm>

#include "activations.h"
#include "conv.h"
#include "gemm.h"
#include "initializers.h"
#include "layer.h"
#include "parallel.h"

namespace kn {

class LocallyConnected : public Layer {
 public:
  int rank = 2;
  int64_t filters = 0;
  std::vector<int64_t> kernel_size, strides;
  Activation act = Activation::Linear;
  bool use_bias = true;
  Json kernel_init, bias_init;

  std::string class_name() const override { return rank == 2 ? "LocallyConnected2D" : "LocallyConnected1D"; }

  ConvGeom geometry(const Shape& s) const {
    if (static_cast<int>(s.size()) != rank + 1)
      throw Error("layer '" + name + "' (" + class_name() + ") expects inputs of shape " +
                  (rank == 2 ? "(H, W, C)" : "(steps, channels)") + " per sample, but got " + shape_str(s));
    ConvGeom g;
    g.C = s.back();
    g.F = filters;
    if (rank == 2) {
      g.h.in = s[0]; g.h.k = kernel_size[0]; g.h.stride = strides[0];
      g.w.in = s[1]; g.w.k = kernel_size[1]; g.w.stride = strides[1];
    } else {
      g.h.in = 1;
      g.w.in = s[0]; g.w.k = kernel_size[0]; g.w.stride = strides[0];
    }
    if (!window_axis(g.h, "valid") || !window_axis(g.w, "valid"))
      throw Error("layer '" + name + "' (" + class_name() + "): kernel " + dims_text(kernel_size) +
                  " is larger than the input " + shape_str(s));
    return g;
  }

  Shape build(const std::vector<Shape>& in, Rng& rng) override {
    const ConvGeom g = geometry(in.at(0));
    const int64_t P = g.out_pixels(), K = g.K();
    if (!built_) {
      params.resize(use_bias ? 2 : 1);
      params[0].name = "kernel";
      params[0].value = Tensor({P, K, filters});  // (positions, patch, filters)
      int64_t fi = 0, fo = 0;
      compute_fans(params[0].value.shape, fi, fo);  // as Keras: (P * K, P * F)
      initialize(params[0].value, kernel_init, fi, fo, rng);
      if (use_bias) {
        params[1].name = "bias";
        params[1].value = rank == 2 ? Tensor({g.h.out, g.w.out, filters}) : Tensor({g.w.out, filters});
        initialize(params[1].value, bias_init, filters, filters, rng);
      }
      for (auto& p : params) p.grad = Tensor(p.value.shape);
      built_ = true;
    } else if (params[0].value.shape[0] != P || params[0].value.shape[1] != K) {
      throw Error("layer '" + name + "' (" + class_name() + ") was built for another input shape than " + shape_str(in.at(0)));
    }
    return rank == 2 ? Shape{g.h.out, g.w.out, filters} : Shape{g.w.out, filters};
  }

  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    const Tensor& x = *in[0];
    const ConvGeom g = geometry(Shape(x.shape.begin() + 1, x.shape.end()));
    const int64_t N = x.shape[0], P = g.out_pixels(), K = g.K(), F = filters;
    ctx.scratch->at(2);                // size the scratch first: at() may reallocate
    Tensor& col = ctx.scratch->at(0);  // (N * P, K)
    col.resize({N * P, K});
    im2col_rows(g, x.ptr(), 0, N * P, col.ptr());
    const float* W = params[0].value.ptr();  // (P, K, F)
    float* y = out.ptr();                    // (N, P, F)
    parallel_for(P, [&](int64_t p) {
      sgemm_st(false, false, N, F, K, 1.0f, col.ptr() + p * K, P * K, W + p * K * F, F, 0.0f, y + p * F, P * F);
      if (use_bias)
        for (int64_t n = 0; n < N; ++n) add_scaled(y + (n * P + p) * F, params[1].value.ptr() + p * F, 1.0f, F);
    });
    activation_forward(act, y, N * P, F);
  }

  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor& out,
                const Tensor& dout, const std::vector<Tensor*>& din) override {
    const Tensor& x = *in[0];
    const ConvGeom g = geometry(Shape(x.shape.begin() + 1, x.shape.end()));
    const int64_t N = x.shape[0], P = g.out_pixels(), K = g.K(), F = filters;
    ctx.scratch->at(2);                      // size the scratch first: at() may reallocate
    const Tensor& col = ctx.scratch->at(0);  // (N * P, K) from forward
    if (col.size() != N * P * K) throw Error("layer '" + name + "': backward called without a matching forward");
    Tensor& dz = ctx.scratch->at(1);         // (N, P, F)
    dz.resize(out.shape);
    activation_backward(act, out.ptr(), dout.ptr(), dz.ptr(), N * P, F);
    Tensor& dcol = ctx.scratch->at(2);       // (N * P, K)
    const bool want_dx = din[0] != nullptr;
    if (want_dx) dcol.resize({N * P, K});
    const float* W = params[0].value.ptr();
    parallel_for(P, [&](int64_t p) {
      const float* dzp = dz.ptr() + p * F;   // rows n: stride P * F
      if (trainable) {
        sgemm_st(true, false, K, F, N, 1.0f, col.ptr() + p * K, P * K, dzp, P * F, 1.0f,
                 params[0].grad.ptr() + p * K * F, F);
        if (use_bias)
          for (int64_t n = 0; n < N; ++n) add_scaled(params[1].grad.ptr() + p * F, dzp + n * P * F, 1.0f, F);
      }
      if (want_dx) sgemm_st(false, true, N, K, F, 1.0f, dzp, P * F, W + p * K * F, F, 0.0f, dcol.ptr() + p * K, P * K);
    });
    if (want_dx) col2im_rows_add(g, dcol.ptr(), 0, N * P, din[0]->ptr());
  }

  Json config() const override {
    Json c = base_config();
    c.set("filters", filters);
    c.set("kernel_size", json_ints(kernel_size));
    c.set("strides", json_ints(strides));
    c.set("padding", "valid");
    if (rank == 2) c.set("data_format", "channels_last");
    c.set("activation", activation_name(act));
    c.set("use_bias", use_bias);
    c.set("kernel_initializer", kernel_init);
    c.set("bias_initializer", bias_init);
    for (const char* k : {"kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                          "bias_constraint"})
      c.set(k, Json());
    return c;
  }
};

namespace {
LayerPtr make_local(const Json& cfg, int rank) {
  auto l = std::make_shared<LocallyConnected>();
  l->rank = rank;
  apply_base_config(*l, cfg);
  const std::string who = "layer '" + l->name + "' (" + l->class_name() + "): ";
  l->filters = config_count(cfg, "filters", *l);
  if (!cfg.has("kernel_size") || cfg["kernel_size"].is_null()) throw Error(who + "kernel_size is required");
  try {
    l->kernel_size = config_ints(cfg, "kernel_size", rank);
    l->strides = (cfg.has("strides") && !cfg["strides"].is_null()) ? config_ints(cfg, "strides", rank)
                                                                 : std::vector<int64_t>(rank, 1);
  } catch (const Error& e) {
    throw Error(who + e.what());
  }
  for (int d = 0; d < rank; ++d)
    if (l->kernel_size[d] < 1 || l->strides[d] < 1 || l->kernel_size[d] > 4096 || l->strides[d] > 4096)
      throw Error(who + "kernel_size and strides must be in [1, 4096]");
  if (config_lower(cfg, "padding", "valid") != "valid")
    throw Error(who + "only padding = 'valid' is supported (as in Keras)");
  const std::string df = config_lower(cfg, "data_format", "channels_last");
  if (df != "channels_last") throw Error(who + "data_format '" + df + "' is not supported; only 'channels_last'");
  if (cfg.get("implementation", Json(1)).as_number() != 1)
    throw Error(who + "only implementation = 1 (Keras's default weight layout) is supported");
  const Json a = cfg.get("activation", Json("linear"));
  l->act = activation_from_name(a.is_string() ? a.as_string() : "linear");
  l->use_bias = cfg.get("use_bias", Json(true)).as_bool();
  l->kernel_init = initializer_config(cfg.get("kernel_initializer", Json("glorot_uniform")));
  l->bias_init = initializer_config(cfg.get("bias_initializer", Json("zeros")));
  return l;
}
}  // namespace

LayerPtr make_locally_connected1d(const Json& c) { return make_local(c, 1); }
LayerPtr make_locally_connected2d(const Json& c) { return make_local(c, 2); }
KN_REGISTER_LAYER(LocallyConnected1D, make_locally_connected1d);
KN_REGISTER_LAYER(LocallyConnected2D, make_locally_connected2d);

}  // namespace kn
