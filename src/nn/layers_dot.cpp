// Dot (Keras 2.2.5 merge layer): batch-wise dot product of two inputs along
// one axis of each (K.batch_dot). Axes count the batch as 0; negative axes
// from the end. Per sample, with x (I..., L) and y (J..., L) after moving the
// summed axis last: out(i..., j...) = sum_l x(i..., l) y(j..., l); the output
// shape is x's remaining axes then y's; a scalar result becomes (1,) as in
// Keras. normalize = TRUE l2-normalises both along their axis first
// (x / sqrt(max(sum(x^2), 1e-12))).
#include <algorithm>
#include <cmath>

#include "layer.h"
#include "parallel.h"

namespace kn {

class Dot : public Layer {
 public:
  std::vector<int64_t> axes{-1, -1};  // as configured (full-tensor axes)
  Json axes_json;
  bool normalize = false;
  Shape sx, sy;                       // per-sample input shapes
  int64_t ax = 0, ay = 0;             // per-sample axes (0-based)

  std::string class_name() const override { return "Dot"; }
  int n_inputs() const override { return 2; }

  Shape build(const std::vector<Shape>& in, Rng&) override {
    sx = in.at(0);
    sy = in.at(1);
    auto per = [&](int64_t a, const Shape& s, int k) {
      const int64_t r = static_cast<int64_t>(s.size()) + 1;
      const int64_t full = a < 0 ? a + r : a;
      if (full < 1 || full >= r)
        throw Error("layer '" + name + "' (Dot): axis " + std::to_string(a) + " is out of range for input " +
                    std::to_string(k + 1) + " " + shape_str(s) + " (the batch axis 0 cannot be summed)");
      return full - 1;
    };
    ax = per(axes[0], sx, 0);
    ay = per(axes[1], sy, 1);
    if (sx[ax] != sy[ay])
      throw Error("layer '" + name + "' (Dot): dimension incompatibility: " + std::to_string(sx[ax]) + " (axis " +
                  std::to_string(ax + 1) + " of " + shape_str(sx) + ") != " + std::to_string(sy[ay]) + " (axis " +
                  std::to_string(ay + 1) + " of " + shape_str(sy) + ")");
    Shape o;
    for (int64_t d = 0; d < static_cast<int64_t>(sx.size()); ++d) if (d != ax) o.push_back(sx[d]);
    for (int64_t d = 0; d < static_cast<int64_t>(sy.size()); ++d) if (d != ay) o.push_back(sy[d]);
    if (o.empty()) o.push_back(1);
    built_ = true;
    return o;
  }

  // (pre, L, post) view of a per-sample shape around axis a.
  static void view(const Shape& s, int64_t a, int64_t& pre, int64_t& L, int64_t& post) {
    pre = 1; post = 1; L = s[a];
    for (int64_t d = 0; d < a; ++d) pre *= s[d];
    for (int64_t d = a + 1; d < static_cast<int64_t>(s.size()); ++d) post *= s[d];
  }
  // Element (i, l) of a sample: i indexes the remaining axes in order.
  static int64_t at(int64_t i, int64_t l, int64_t L, int64_t post) { return ((i / post) * L + l) * post + i % post; }

  // Normalised copy of one sample (or a plain copy): out (size of x).
  void normalized(const float* x, int64_t pre, int64_t L, int64_t post, float* out, float* norms) const {
    for (int64_t i = 0; i < pre * post; ++i) {
      double s = 0;
      for (int64_t l = 0; l < L; ++l) { const double v = x[at(i, l, L, post)]; s += v * v; }
      const float n = normalize ? static_cast<float>(std::sqrt(std::max(s, 1e-12))) : 1.0f;
      norms[i] = n;
      for (int64_t l = 0; l < L; ++l) out[at(i, l, L, post)] = x[at(i, l, L, post)] / n;
    }
  }

  void forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) override {
    int64_t px, L, qx, py, L2, qy;
    view(sx, ax, px, L, qx);
    view(sy, ay, py, L2, qy);
    const int64_t N = in[0]->shape[0], nx = px * L * qx, ny = py * L * qy, I = px * qx, J = py * qy;
    ctx.scratch->at(3);               // size the scratch first: at() may reallocate
    Tensor& xn = ctx.scratch->at(0);  // (N, nx) normalised x
    Tensor& yn = ctx.scratch->at(1);  // (N, ny)
    Tensor& rx = ctx.scratch->at(2);  // (N, I) norms
    Tensor& ry = ctx.scratch->at(3);  // (N, J)
    xn.resize({N, nx}); yn.resize({N, ny}); rx.resize({N, I}); ry.resize({N, J});
    parallel_for(N, [&](int64_t n) {
      normalized(in[0]->ptr() + n * nx, px, L, qx, xn.ptr() + n * nx, rx.ptr() + n * I);
      normalized(in[1]->ptr() + n * ny, py, L, qy, yn.ptr() + n * ny, ry.ptr() + n * J);
      float* o = out.ptr() + n * I * J;  // (I, J)
      for (int64_t i = 0; i < I; ++i)
        for (int64_t j = 0; j < J; ++j) {
          float s = 0.0f;
          for (int64_t l = 0; l < L; ++l) s += xn.data[n * nx + at(i, l, L, qx)] * yn.data[n * ny + at(j, l, L, qy)];
          o[i * J + j] = s;
        }
    });
  }

  void backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor&, const Tensor& dout,
                const std::vector<Tensor*>& din) override {
    int64_t px, L, qx, py, L2, qy;
    view(sx, ax, px, L, qx);
    view(sy, ay, py, L2, qy);
    const int64_t N = in[0]->shape[0], nx = px * L * qx, ny = py * L * qy, I = px * qx, J = py * qy;
    ctx.scratch->at(3);  // size the scratch first: at() may reallocate
    const Tensor &xn = ctx.scratch->at(0), &yn = ctx.scratch->at(1), &rx = ctx.scratch->at(2), &ry = ctx.scratch->at(3);
    if (xn.size() != N * nx) throw Error("layer '" + name + "': backward called without a matching forward");
    parallel_for(N, [&](int64_t n) {
      const float* g = dout.ptr() + n * I * J;  // (I, J)
      std::vector<float> gx(static_cast<size_t>(nx), 0.0f), gy(static_cast<size_t>(ny), 0.0f);
      for (int64_t i = 0; i < I; ++i)
        for (int64_t j = 0; j < J; ++j)
          for (int64_t l = 0; l < L; ++l) {
            gx[at(i, l, L, qx)] += g[i * J + j] * yn.data[n * ny + at(j, l, L, qy)];
            gy[at(j, l, L, qy)] += g[i * J + j] * xn.data[n * nx + at(i, l, L, qx)];
          }
      // through the normalisation: d x = (g - xn * sum(g * xn)) / norm
      auto chain = [&](std::vector<float>& gv, const float* vn, const float* norms, int64_t rows, int64_t post,
                       float* dst) {
        for (int64_t i = 0; i < rows; ++i) {
          float dot = 0.0f;
          if (normalize) for (int64_t l = 0; l < L; ++l) dot += gv[at(i, l, L, post)] * vn[at(i, l, L, post)];
          for (int64_t l = 0; l < L; ++l) {
            const int64_t e = at(i, l, L, post);
            dst[e] += normalize ? (gv[e] - vn[e] * dot) / norms[i] : gv[e];
          }
        }
      };
      if (din[0]) chain(gx, xn.ptr() + n * nx, rx.ptr() + n * I, I, qx, din[0]->ptr() + n * nx);
      if (din[1]) chain(gy, yn.ptr() + n * ny, ry.ptr() + n * J, J, qy, din[1]->ptr() + n * ny);
    });
  }

  Json config() const override {
    Json c = base_config();
    c.set("axes", axes_json);
    c.set("normalize", normalize);
    return c;
  }
};

LayerPtr make_dot(const Json& cfg) {
  auto l = std::make_shared<Dot>();
  apply_base_config(*l, cfg);
  const Json a = cfg.get("axes", Json());
  if (a.is_number()) {
    l->axes = {a.as_int(), a.as_int()};
  } else if (a.is_array() && a.size() == 2 && a[0].is_number() && a[1].is_number()) {
    l->axes = {a[0].as_int(), a[1].as_int()};
  } else {
    throw Error("layer '" + l->name + "' (Dot): 'axes' must be an integer or a list of 2 integers, got " +
                (a.is_null() ? std::string("nothing") : a.dump()));
  }
  l->axes_json = a;
  l->normalize = cfg.get("normalize", Json(false)).as_bool();
  return l;
}
KN_REGISTER_LAYER(Dot, make_dot);

}  // namespace kn
