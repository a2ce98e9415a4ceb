// Real-size cases for the keras 2.2.5 surface layers (advanced activations,
// noise layers, ActivityRegularization, UpSampling / Cropping / ZeroPadding 3D):
// naive references written here in double, run by test_layer_sizes_surface.cpp
// and counted by the registry-coverage test of test_layer_sizes_core.cpp.
#pragma once
#include "test_layer_sizes.h"

namespace ls {

inline SizeCase surface_make(const std::string& cls, const std::string& config, std::vector<Shape> inputs, RefFn ref) {
  SizeCase c;
  c.cls = cls;
  c.config = config;
  c.inputs = std::move(inputs);
  c.ref = std::move(ref);
  return c;
}

// y = f(x), dx = f'(x) dout, element-wise.
inline SizeCase elementwise_case(const std::string& cls, const std::string& cfg, Shape in,
                                 std::function<double(double)> f, std::function<double(double)> df) {
  return surface_make(cls, cfg, {in}, [=](const RefIn& ri) {
    RefOut o;
    const Tensor& x = ri.xs[0];
    o.y.resize(x.size());
    o.dx.assign(1, std::vector<double>(x.size()));
    for (int64_t i = 0; i < x.size(); ++i) {
      o.y[i] = f(x.data[i]);
      o.dx[0][i] = df(x.data[i]) * ri.dout.data[i];
    }
    return o;
  });
}

// Softmax along axis `a` of the full tensor: (outer, len, inner) loops.
inline SizeCase softmax_case(int64_t axis, Shape in) {
  return surface_make("Softmax", "{\"name\": \"s\", \"axis\": " + std::to_string(axis) + "}", {in}, [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];
    const int64_t rank = static_cast<int64_t>(x.shape.size()), a = axis < 0 ? axis + rank : axis;
    int64_t outer = 1, inner = 1, len = x.shape[a];
    for (int64_t d = 0; d < a; ++d) outer *= x.shape[d];
    for (int64_t d = a + 1; d < rank; ++d) inner *= x.shape[d];
    RefOut o;
    o.y.resize(x.size());
    o.dx.assign(1, std::vector<double>(x.size()));
    std::vector<double> z(len), g(len), y(len), dz(len);
    for (int64_t p = 0; p < outer; ++p)
      for (int64_t q = 0; q < inner; ++q) {
        for (int64_t j = 0; j < len; ++j) { z[j] = x.data[(p * len + j) * inner + q]; g[j] = ri.dout.data[(p * len + j) * inner + q]; }
        softmax_row(z.data(), g.data(), len, y.data(), dz.data());
        for (int64_t j = 0; j < len; ++j) { o.y[(p * len + j) * inner + q] = y[j]; o.dx[0][(p * len + j) * inner + q] = dz[j]; }
      }
    return o;
  });
}

// PReLU with alpha of shape (H, W, C) or shared over the given 1-based axes (3-D input).
inline SizeCase prelu_case(bool share_hw, Shape in) {
  const std::string cfg = std::string("{\"name\": \"p\"") + (share_hw ? ", \"shared_axes\": [1, 2]}" : "}");
  SizeCase c = surface_make("PReLU", cfg, {in}, [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];
    const Tensor& al = ri.params[0];
    const int64_t per = x.size() / ri.N, C = in.back();
    RefOut o;
    o.y.resize(x.size());
    o.dx.assign(1, std::vector<double>(x.size()));
    o.dp.assign(1, std::vector<double>(al.size(), 0.0));
    o.dp_scale.assign(1, std::vector<double>(al.size(), 0.0));
    for (int64_t n = 0; n < ri.N; ++n)
      for (int64_t i = 0; i < per; ++i) {
        const int64_t ai = share_hw ? i % C : i;
        const double v = x.data[n * per + i], a = al.data[ai], g = ri.dout.data[n * per + i];
        o.y[n * per + i] = v > 0 ? v : a * v;
        o.dx[0][n * per + i] = (v > 0 ? 1 : a) * g;
        if (v < 0) { o.dp[0][ai] += v * g; o.dp_scale[0][ai] += std::fabs(v * g); }
      }
    return o;
  });
  c.kinks = true;
  return c;
}

// Dropout drawing per element of a noise shape: the reference reads the kept
// elements from the engine's output, requires the draw to be shared along the
// broadcast axes (`bcast`, per-sample axes) and the kept fraction to be ~ 1 - rate.
inline SizeCase shaped_dropout_case(const std::string& cls, const std::string& cfg, double rate, Shape in,
                                    std::vector<bool> bcast) {
  SizeCase c = surface_make(cls, cfg, {in}, [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];
    const int64_t per = x.size() / ri.N;
    RefOut o;
    o.y.resize(x.size());
    o.dx.assign(1, std::vector<double>(x.size()));
    int64_t kept = 0, draws = 0;
    for (int64_t n = 0; n < ri.N; ++n)
      for (int64_t i = 0; i < per; ++i) {
        // the representative element: broadcast coordinates set to 0
        int64_t rem = i, rep = 0, mult = 1;
        for (int64_t d = static_cast<int64_t>(in.size()) - 1; d >= 0; --d) {
          const int64_t cc = rem % in[d];
          rem /= in[d];
          rep += (bcast[d] ? 0 : cc) * mult;
          mult *= in[d];
        }
        const bool keep = ri.out.data[n * per + rep] != 0.0f;
        if (rep == i) { kept += keep; ++draws; }
        const double s = keep ? 1.0 / (1.0 - rate) : 0.0;
        o.y[n * per + i] = s * x.data[n * per + i];
        o.dx[0][n * per + i] = s * ri.dout.data[n * per + i];
      }
    if (draws >= 1000) {
      const double mean = draws * (1 - rate), sd = std::sqrt(draws * rate * (1 - rate));
      CHECK(std::fabs(kept - mean) <= 5 * sd);
    }
    return o;
  });
  c.training = true;
  return c;
}

// GaussianNoise / GaussianDropout / AlphaDropout in training: the reference
// recovers each element's draw from the output, checks its distribution on
// large batches and computes the gradient from it.
inline SizeCase gaussian_case(const std::string& cls, double p, Shape in) {
  const std::string cfg = "{\"name\": \"g\", \"" + std::string(cls == "GaussianNoise" ? "stddev" : "rate") +
                          "\": " + std::to_string(p) + "}";
  SizeCase c = surface_make(cls, cfg, {in}, [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];
    const int64_t n = x.size();
    RefOut o;
    o.y.resize(n);
    o.dx.assign(1, std::vector<double>(n));
    double s1 = 0, s2 = 0;
    int64_t kept = 0;
    const double ap = -1.6732632423543772 * 1.0507009873554805;
    const double a = std::pow((1 - p) * (1 + p * ap * ap), -0.5), b = -a * ap * p;
    for (int64_t i = 0; i < n; ++i) {
      const double v = x.data[i], out = ri.out.data[i], g = ri.dout.data[i];
      if (cls == "GaussianNoise") {  // out = x + e
        const double e = out - v;
        s1 += e; s2 += e * e;
        o.y[i] = v + e;
        o.dx[0][i] = g;
      } else if (cls == "GaussianDropout") {  // out = x * m
        const double m = out / v;
        s1 += m; s2 += (m - 1) * (m - 1);
        o.y[i] = v * m;
        o.dx[0][i] = m * g;
      } else {  // AlphaDropout: kept a x + b, dropped a ap + b
        const bool k = std::fabs(out - (a * v + b)) < std::fabs(out - (a * ap + b));
        kept += k;
        o.y[i] = k ? a * v + b : a * ap + b;
        o.dx[0][i] = k ? a * g : 0.0;
      }
    }
    if (n >= 1000) {
      if (cls == "GaussianNoise") {
        CHECK(std::fabs(s1 / n) <= 5 * p / std::sqrt(double(n)));
        CHECK(std::fabs(std::sqrt(s2 / n) / p - 1) < 0.1);
      } else if (cls == "GaussianDropout") {
        CHECK(std::fabs(s1 / n - 1) <= 5 * std::sqrt(p / (1 - p) / n));
        CHECK(std::fabs(s2 / n / (p / (1 - p)) - 1) < 0.15);
      } else {
        CHECK(std::fabs(kept - n * (1 - p)) <= 5 * std::sqrt(n * p * (1 - p)));
      }
    }
    return o;
  });
  c.training = true;
  c.fd_points = cls == "GaussianDropout" ? 3 : 3;
  return c;
}

// Copy layers: output coordinate -> input coordinate per axis (or outside = 0),
// written out explicitly for each class. `map(d, c)` maps the output
// coordinate c of per-sample axis d; returns -1 when outside the input.
inline SizeCase copy_map_case(const std::string& cls, const std::string& cfg, Shape in, Shape out,
                              std::function<int64_t(int64_t, int64_t)> map) {
  return surface_make(cls, cfg, {in}, [=](const RefIn& ri) {
    const int64_t pin = kn::shape_numel(in), pout = kn::shape_numel(out), r = static_cast<int64_t>(in.size());
    RefOut o;
    o.y.assign(ri.N * pout, 0.0);
    o.dx.assign(1, std::vector<double>(ri.N * pin, 0.0));
    o.dx_scale.assign(1, std::vector<double>(ri.N * pin, 0.0));
    std::vector<int64_t> c(r);
    for (int64_t n = 0; n < ri.N; ++n)
      for (int64_t j = 0; j < pout; ++j) {
        int64_t rem = j;
        for (int64_t d = r - 1; d >= 0; --d) { c[d] = rem % out[d]; rem /= out[d]; }
        int64_t idx = 0;
        bool inside = true;
        for (int64_t d = 0; d < r; ++d) {
          const int64_t ic = map(d, c[d]);
          if (ic < 0 || ic >= in[d]) inside = false;
          idx = idx * in[d] + (inside ? ic : 0);
        }
        if (!inside) continue;
        o.y[n * pout + j] = ri.xs[0].data[n * pin + idx];
        o.dx[0][n * pin + idx] += ri.dout.data[n * pout + j];
        o.dx_scale[0][n * pin + idx] += std::fabs(ri.dout.data[n * pout + j]);
      }
    return o;
  });
}

inline const std::vector<SizeCase>& surface_cases() {
  static const std::vector<SizeCase> c = [] {
    std::vector<SizeCase> v;
    SizeCase relu = elementwise_case("ReLU", R"({"name": "r", "max_value": 6, "negative_slope": 0.1})", {13, 7},
        [](double x) { return x > 0 ? std::min(x, 6.0) : 0.1 * x; }, [](double x) { return x > 0 ? 1.0 : 0.1; });
    relu.kinks = true;
    v.push_back(relu);
    SizeCase relu2 = elementwise_case("ReLU", R"({"name": "r", "max_value": 0.6, "threshold": 0.2, "negative_slope": 0.3})", {11},
        [](double x) { return x > 0.2 ? std::min(x, 0.6) : x < 0.2 ? 0.3 * (x - 0.2) : 0.0; },
        [](double x) { return x > 0.2 ? (x <= 0.6 ? 1.0 : 0.0) : 0.3; });
    relu2.fd_points = 0;  // kinks at 0.2 and 0.6: compared with the reference only
    v.push_back(relu2);
    SizeCase elu = elementwise_case("ELU", R"({"name": "e", "alpha": 0.7})", {6, 5},
        [](double x) { return x > 0 ? x : 0.7 * (std::exp(x) - 1); }, [](double x) { return x > 0 ? 1.0 : 0.7 * std::exp(x); });
    elu.kinks = true;
    v.push_back(elu);
    SizeCase th = elementwise_case("ThresholdedReLU", R"({"name": "t", "theta": 0.0})", {9},
        [](double x) { return x > 0 ? x : 0.0; }, [](double x) { return x > 0 ? 1.0 : 0.0; });
    th.kinks = true;
    v.push_back(th);
    SizeCase th2 = elementwise_case("ThresholdedReLU", R"({"name": "t", "theta": 0.4})", {4, 3},
        [](double x) { return x > 0.4 ? x : 0.0; }, [](double x) { return x > 0.4 ? 1.0 : 0.0; });
    th2.fd_points = 0;  // a jump at theta
    v.push_back(th2);
    v.push_back(softmax_case(-1, {4, 6}));
    v.push_back(softmax_case(1, {5, 4, 3}));
    v.push_back(prelu_case(false, {3, 4, 2}));
    v.push_back(prelu_case(true, {5, 4, 3}));
    v.push_back(shaped_dropout_case("SpatialDropout1D", R"({"name": "s", "rate": 0.3})", 0.3, {6, 4}, {true, false}));
    v.push_back(shaped_dropout_case("SpatialDropout2D", R"({"name": "s", "rate": 0.4})", 0.4, {3, 4, 5}, {true, true, false}));
    v.push_back(shaped_dropout_case("SpatialDropout2D", R"({"name": "s", "rate": 0.4, "data_format": "channels_first"})", 0.4,
                                    {5, 3, 4}, {false, true, true}));
    v.push_back(shaped_dropout_case("SpatialDropout3D", R"({"name": "s", "rate": 0.2})", 0.2, {2, 3, 2, 4}, {true, true, true, false}));
    v.push_back(shaped_dropout_case("Dropout", R"({"name": "d", "rate": 0.5, "noise_shape": [null, 1, 3]})", 0.5, {4, 3}, {true, false}));
    v.push_back(gaussian_case("GaussianNoise", 0.3, {5, 4}));
    v.push_back(gaussian_case("GaussianDropout", 0.2, {5, 4}));
    v.push_back(gaussian_case("AlphaDropout", 0.25, {5, 4}));
    v.push_back(elementwise_case("ActivityRegularization", R"({"name": "a", "l1": 0.1, "l2": 0.2})", {7},
                                 [](double x) { return x; }, [](double) { return 1.0; }));
    v.push_back(copy_map_case("UpSampling2D", R"({"name": "u", "size": [2, 3]})", {4, 5, 3}, {8, 15, 3},
        [](int64_t d, int64_t c) { return d == 0 ? c / 2 : d == 1 ? c / 3 : c; }));
    v.push_back(copy_map_case("UpSampling2D", R"({"name": "u", "size": 2, "data_format": "channels_first"})", {3, 4, 5}, {3, 8, 10},
        [](int64_t d, int64_t c) { return d == 0 ? c : c / 2; }));
    v.push_back(copy_map_case("UpSampling3D", R"({"name": "u", "size": [2, 1, 2]})", {3, 2, 4, 2}, {6, 2, 8, 2},
        [](int64_t d, int64_t c) { return d == 0 || d == 2 ? c / 2 : c; }));
    v.push_back(copy_map_case("Cropping2D", R"({"name": "c", "cropping": [[1, 0], [2, 1]]})", {6, 7, 3}, {5, 4, 3},
        [](int64_t d, int64_t c) { return d == 0 ? c + 1 : d == 1 ? c + 2 : c; }));
    v.push_back(copy_map_case("Cropping3D", R"({"name": "c", "cropping": [[1, 1], [0, 2], [1, 0]]})", {4, 5, 3, 2}, {2, 3, 2, 2},
        [](int64_t d, int64_t c) { return d == 0 ? c + 1 : d == 2 ? c + 1 : c; }));
    v.push_back(copy_map_case("ZeroPadding3D", R"({"name": "z", "padding": [[1, 0], [0, 2], [1, 1]]})", {2, 3, 2, 2}, {3, 5, 4, 2},
        [](int64_t d, int64_t c) { return d == 0 ? c - 1 : d == 2 ? c - 1 : c; }));
    return v;
  }();
  return c;
}

}  // namespace ls
