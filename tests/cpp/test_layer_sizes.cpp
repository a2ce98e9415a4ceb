// Real sizes for the spatial layers (issue 8): Conv2D, Conv1D, ZeroPadding2D and
// the pooling layers, forward and backward at batch sizes 1, 7, 128 and 1000 on
// odd spatial sizes, strides, dilations and "valid"/"same"/"causal" padding,
// against naive loops written here, plus finite differences (runner in
// test_layer_sizes.h). The seed-002 CNN's second convolution (5x5 "same" on
// 14x14x32), whose im2col wrote past its block buffer at batch 500 and 1000,
// runs at those batches; im2col itself is checked against guard zones.
#include <set>

#include "im2col.h"
#include "test_layer_sizes.h"

using namespace kn;
using ls::RefIn;
using ls::RefOut;
using ls::SizeCase;

namespace {

// One axis of a window, TensorFlow's definition: "valid" out = floor((in -
// ext) / s) + 1; "same" out = ceil(in / s), pad_before = floor(max((out - 1) s +
// ext - in, 0) / 2); "causal" (Conv1D) pads ext - 1 before, out = ceil(in / s).
struct Ax { int64_t in, k, s, d, pb, out; };
Ax axis_of(int64_t in, int64_t k, int64_t s, int64_t d, const std::string& pad) {
  Ax a{in, k, s, d, 0, 0};
  const int64_t ext = (k - 1) * d + 1;
  if (pad == "valid") {
    a.out = (in - ext) / s + 1;
  } else {
    a.out = (in + s - 1) / s;
    a.pb = pad == "same" ? std::max<int64_t>((a.out - 1) * s + ext - in, 0) / 2 : ext - 1;
  }
  return a;
}

std::string ints(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// ---------------------------------------------------------------- convolution
struct ConvSpec {
  int rank = 2;
  int64_t F = 1;
  std::vector<int64_t> k, s, d;  // (rank) each
  std::string pad = "valid", act = "linear";
  bool bias = true;
};

RefOut conv_ref(const ConvSpec& sp, const RefIn& ri) {
  const Tensor& x = ri.xs[0];  // (N, H, W, C) or (N, L, C)
  const int64_t N = ri.N, C = x.shape.back(), F = sp.F, r = sp.rank;
  const Ax ah = r == 2 ? axis_of(x.shape[1], sp.k[0], sp.s[0], sp.d[0], sp.pad) : Ax{1, 1, 1, 1, 0, 1};
  const Ax aw = axis_of(x.shape[r], sp.k[r - 1], sp.s[r - 1], sp.d[r - 1], sp.pad);
  const int64_t H = ah.in, W = aw.in, KH = ah.k, KW = aw.k, OH = ah.out, OW = aw.out;
  const std::vector<float>& Wt = ri.params[0].data;  // (KH, KW, C, F)
  RefOut o;
  o.y.assign(N * OH * OW * F, 0);
  o.y_scale.assign(o.y.size(), 0);
  o.dx.assign(1, std::vector<double>(x.size(), 0));
  o.dx_scale.assign(1, std::vector<double>(x.size(), 0));
  o.dp.assign(sp.bias ? 2 : 1, std::vector<double>());
  o.dp_scale.assign(o.dp.size(), std::vector<double>());
  o.dp[0].assign(Wt.size(), 0);
  o.dp_scale[0].assign(Wt.size(), 0);
  if (sp.bias) { o.dp[1].assign(F, 0); o.dp_scale[1].assign(F, 0); }
  std::vector<double> z(F), zs(F), dz(F);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t yo = ((n * OH + oh) * OW + ow) * F;
        for (int64_t f = 0; f < F; ++f) {
          z[f] = sp.bias ? ri.params[1].data[f] : 0.0;
          zs[f] = std::fabs(z[f]);
        }
        for (int pass = 0; pass < 2; ++pass) {  // 0: pre-activation z; 1: dx, dW
          if (pass == 1)
            for (int64_t f = 0; f < F; ++f) {
              o.y[yo + f] = ls::act_f(sp.act, z[f]);
              o.y_scale[yo + f] = zs[f];
              dz[f] = ri.dout.data[yo + f] * ls::act_d(sp.act, z[f]);
              if (sp.bias) { o.dp[1][f] += dz[f]; o.dp_scale[1][f] += std::fabs(dz[f]); }
            }
          for (int64_t i = 0; i < KH; ++i) {
            const int64_t ih = oh * ah.s - ah.pb + i * ah.d;
            if (ih < 0 || ih >= H) continue;
            for (int64_t j = 0; j < KW; ++j) {
              const int64_t iw = ow * aw.s - aw.pb + j * aw.d;
              if (iw < 0 || iw >= W) continue;
              for (int64_t c = 0; c < C; ++c) {
                const int64_t xi = ((n * H + ih) * W + iw) * C + c, wi = ((i * KW + j) * C + c) * F;
                const double xv = x.data[xi];
                for (int64_t f = 0; f < F; ++f) {
                  if (pass == 0) {
                    z[f] += xv * Wt[wi + f];
                    zs[f] += std::fabs(xv * Wt[wi + f]);
                  } else {
                    o.dx[0][xi] += dz[f] * Wt[wi + f];
                    o.dx_scale[0][xi] += std::fabs(dz[f] * Wt[wi + f]);
                    o.dp[0][wi + f] += xv * dz[f];
                    o.dp_scale[0][wi + f] += std::fabs(xv * dz[f]);
                  }
                }
              }
            }
          }
        }
      }
  return o;
}

SizeCase conv_case(const ConvSpec& sp, Shape in, int fd = 3) {
  SizeCase c;
  c.cls = sp.rank == 2 ? "Conv2D" : "Conv1D";
  c.config = "{\"name\": \"c\", \"filters\": " + std::to_string(sp.F) + ", \"kernel_size\": " + ints(sp.k) +
             ", \"strides\": " + ints(sp.s) + ", \"dilation_rate\": " + ints(sp.d) + ", \"padding\": \"" +
             sp.pad + "\", \"activation\": \"" + sp.act + "\", \"use_bias\": " + (sp.bias ? "true" : "false") + "}";
  c.inputs = {std::move(in)};
  c.ref = [sp](const RefIn& ri) { return conv_ref(sp, ri); };
  c.fd_points = fd;
  c.fd_params = sp.act != "relu";
  return c;
}

// ---------------------------------------------------------------- pooling
// Windowed pooling; rank 1 is (N, L, C) with height 1. Max: the first maximum
// of a row-major scan of the window's in-bounds cells gets the gradient.
SizeCase pool_case(bool is_max, int rank, std::vector<int64_t> k, std::vector<int64_t> s,
                   const std::string& pad, Shape in) {
  SizeCase c;
  c.cls = std::string(is_max ? "Max" : "Average") + (rank == 2 ? "Pooling2D" : "Pooling1D");
  c.config = "{\"name\": \"p\", \"pool_size\": " + ints(k) + ", \"strides\": " + ints(s) + ", \"padding\": \"" +
             pad + "\"}";
  c.inputs = {std::move(in)};
  c.kinks = is_max;
  c.ref = [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];
    const int64_t N = ri.N, C = x.shape.back();
    const Ax ah = rank == 2 ? axis_of(x.shape[1], k[0], s[0], 1, pad) : Ax{1, 1, 1, 1, 0, 1};
    const Ax aw = axis_of(x.shape[rank], k[rank - 1], s[rank - 1], 1, pad);
    RefOut o;
    o.y.assign(N * ah.out * aw.out * C, 0);
    o.dx.assign(1, std::vector<double>(x.size(), 0));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t oh = 0; oh < ah.out; ++oh)
        for (int64_t ow = 0; ow < aw.out; ++ow)
          for (int64_t ch = 0; ch < C; ++ch) {
            std::vector<int64_t> cells;  // in-bounds input indices, row-major
            for (int64_t ih = oh * ah.s - ah.pb; ih < oh * ah.s - ah.pb + ah.k; ++ih)
              for (int64_t iw = ow * aw.s - aw.pb; iw < ow * aw.s - aw.pb + aw.k; ++iw)
                if (ih >= 0 && ih < ah.in && iw >= 0 && iw < aw.in)
                  cells.push_back(((n * ah.in + ih) * aw.in + iw) * C + ch);
            const int64_t yo = ((n * ah.out + oh) * aw.out + ow) * C + ch;
            const double g = ri.dout.data[yo];
            if (is_max) {
              int64_t best = cells[0];
              for (int64_t e : cells) if (x.data[e] > x.data[best]) best = e;
              o.y[yo] = x.data[best];
              o.dx[0][best] += g;
            } else {
              for (int64_t e : cells) o.y[yo] += x.data[e] / double(cells.size());
              for (int64_t e : cells) o.dx[0][e] += g / double(cells.size());
            }
          }
    return o;
  };
  return c;
}

SizeCase global_pool_case(bool is_max, Shape in) {
  SizeCase c;
  c.cls = is_max ? "GlobalMaxPooling2D" : "GlobalAveragePooling2D";
  c.config = R"({"name": "g"})";
  c.inputs = {std::move(in)};
  c.kinks = is_max;
  c.ref = [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];  // (N, H, W, C)
    const int64_t N = ri.N, P = x.shape[1] * x.shape[2], C = x.shape[3];
    RefOut o;
    o.y.assign(N * C, 0);
    o.dx.assign(1, std::vector<double>(x.size(), 0));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t ch = 0; ch < C; ++ch) {
        int64_t best = n * P * C + ch;
        for (int64_t p = 0; p < P; ++p) {
          const int64_t e = (n * P + p) * C + ch;
          if (is_max) { if (x.data[e] > x.data[best]) best = e; }
          else o.y[n * C + ch] += x.data[e] / double(P);
        }
        const double g = ri.dout.data[n * C + ch];
        if (is_max) { o.y[n * C + ch] = x.data[best]; o.dx[0][best] = g; }
        else for (int64_t p = 0; p < P; ++p) o.dx[0][(n * P + p) * C + ch] = g / double(P);
      }
    return o;
  };
  return c;
}

SizeCase zero_padding_case(int64_t t, int64_t b, int64_t l, int64_t r, Shape in) {
  SizeCase c;
  c.cls = "ZeroPadding2D";
  c.config = "{\"name\": \"z\", \"padding\": [" + ints({t, b}) + ", " + ints({l, r}) + "]}";
  c.inputs = {std::move(in)};
  c.ref = [=](const RefIn& ri) {
    const Tensor& x = ri.xs[0];  // (N, H, W, C)
    const int64_t N = ri.N, H = x.shape[1], W = x.shape[2], C = x.shape[3], OH = H + t + b, OW = W + l + r;
    RefOut o;
    o.y.assign(N * OH * OW * C, 0);
    o.dx.assign(1, std::vector<double>(x.size(), 0));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w)
          for (int64_t ch = 0; ch < C; ++ch) {
            const int64_t xi = ((n * H + h) * W + w) * C + ch, yi = ((n * OH + h + t) * OW + w + l) * C + ch;
            o.y[yi] = x.data[xi];
            o.dx[0][xi] = ri.dout.data[yi];
          }
    return o;
  };
  return c;
}

ConvSpec conv2(int64_t F, std::vector<int64_t> k, std::vector<int64_t> s, std::vector<int64_t> d,
               const std::string& pad, const std::string& act, bool bias = true) {
  ConvSpec sp;
  sp.rank = static_cast<int>(k.size());
  sp.F = F; sp.k = k; sp.s = s; sp.d = d; sp.pad = pad; sp.act = act; sp.bias = bias;
  return sp;
}

const std::vector<SizeCase>& spatial_cases() {
  static const std::vector<SizeCase> c = [] {
    std::vector<SizeCase> v;
    v.push_back(conv_case(conv2(4, {3, 3}, {1, 1}, {1, 1}, "valid", "tanh"), {13, 11, 3}));
    v.push_back(conv_case(conv2(3, {4, 3}, {2, 3}, {1, 1}, "same", "linear"), {13, 11, 2}));
    v.push_back(conv_case(conv2(2, {3, 3}, {1, 1}, {2, 2}, "same", "relu"), {11, 13, 1}));
    v.push_back(conv_case(conv2(5, {1, 1}, {1, 1}, {1, 1}, "valid", "sigmoid", false), {7, 9, 3}));
    v.push_back(conv_case(conv2(3, {3, 2}, {3, 2}, {1, 1}, "valid", "linear"), {13, 11, 2}));
    // 5x5 "same" on a width-1 input: every output row lies left of the first
    // valid column for j = 0, 1 (the old overflow at any batch size).
    v.push_back(conv_case(conv2(2, {5, 5}, {1, 1}, {1, 1}, "same", "tanh"), {13, 1, 2}));
    // Several im2col blocks per task (K = 300).
    v.push_back(conv_case(conv2(1, {5, 5}, {1, 1}, {1, 1}, "same", "relu"), {13, 11, 12}));
    // The seed-002 CNN's second convolution (K = 800: the same im2col blocks;
    // one filter keeps the naive reference fast).
    v.push_back(conv_case(conv2(1, {5, 5}, {1, 1}, {1, 1}, "same", "relu"), {14, 14, 32}, 2));
    v.push_back(conv_case(conv2(3, {3}, {1}, {2}, "causal", "tanh"), {17, 3}));
    v.push_back(conv_case(conv2(2, {4}, {3}, {1}, "same", "linear"), {19, 2}));
    v.push_back(conv_case(conv2(2, {5}, {1}, {1}, "same", "relu"), {2, 3}));
    v.push_back(conv_case(conv2(4, {3}, {2}, {1}, "valid", "elu", false), {13, 2}));
    v.push_back(zero_padding_case(1, 2, 0, 3, {13, 11, 2}));
    v.push_back(pool_case(true, 2, {2, 2}, {2, 2}, "valid", {13, 11, 2}));
    v.push_back(pool_case(true, 2, {3, 3}, {2, 2}, "same", {13, 11, 2}));
    v.push_back(pool_case(true, 2, {3, 2}, {1, 2}, "valid", {11, 13, 1}));
    v.push_back(pool_case(false, 2, {2, 2}, {2, 2}, "same", {13, 11, 2}));
    v.push_back(pool_case(false, 2, {3, 3}, {2, 1}, "valid", {13, 11, 2}));
    v.push_back(pool_case(true, 1, {3}, {2}, "same", {17, 3}));
    v.push_back(pool_case(true, 1, {2}, {2}, "valid", {13, 2}));
    v.push_back(global_pool_case(true, {13, 11, 3}));
    v.push_back(global_pool_case(false, {13, 11, 3}));
    return v;
  }();
  return c;
}

// Layer classes this file covers; test_layer_sizes_core.cpp covers the rest of
// the registry (and checks that the two lists together are the registry).
const std::set<std::string> kSpatial = {"Conv2D", "Conv1D", "ZeroPadding2D", "MaxPooling2D",
                                        "AveragePooling2D", "MaxPooling1D", "GlobalMaxPooling2D",
                                        "GlobalAveragePooling2D"};

}  // namespace

TEST(every_spatial_layer_has_a_size_case) {
  std::set<std::string> covered;
  for (auto& c : spatial_cases()) covered.insert(c.cls);
  for (auto& name : kSpatial) {
    if (!covered.count(name)) std::printf("  no size case for %s\n", name.c_str());
    CHECK(covered.count(name) == 1);
  }
}

TEST(spatial_layers_at_batch_1_7_128_1000_match_naive_loops) { ls::run_cases(spatial_cases()); }

// im2col_rows / col2im_rows_add over arbitrary row ranges [r0, r1) (the way
// the conv layer cuts its blocks) write only their (r1 - r0) rows: guard zones
// before and after stay untouched, and the contents are the naive definition.
TEST(im2col_row_ranges_stay_inside_their_buffer) {
  struct G { int64_t H, W, C, kh, kw, sh, sw, dh, dw; const char* pad; };
  const std::vector<G> geoms = {
      {14, 14, 2, 5, 5, 1, 1, 1, 1, "same"}, {13, 1, 1, 5, 5, 1, 1, 1, 1, "same"},
      {11, 13, 3, 7, 3, 2, 1, 1, 1, "same"}, {13, 11, 1, 3, 3, 1, 1, 2, 2, "same"},
      {1, 3, 2, 1, 5, 1, 1, 1, 1, "same"},   {13, 11, 2, 3, 2, 3, 2, 1, 1, "valid"},
      {12, 9, 1, 4, 4, 2, 3, 1, 1, "same"}};
  Rng rng(5);
  int bad = 0;
  for (auto& gg : geoms) {
    const Ax ah = axis_of(gg.H, gg.kh, gg.sh, gg.dh, gg.pad), aw = axis_of(gg.W, gg.kw, gg.sw, gg.dw, gg.pad);
    ConvGeom g;
    g.C = gg.C; g.F = 1;
    g.h.in = gg.H; g.h.k = gg.kh; g.h.stride = gg.sh; g.h.dilation = gg.dh;
    g.w.in = gg.W; g.w.k = gg.kw; g.w.stride = gg.sw; g.w.dilation = gg.dw;
    CHECK(window_axis(g.h, gg.pad) && window_axis(g.w, gg.pad));
    CHECK(g.h.out == ah.out && g.w.out == aw.out && g.h.pad_before == ah.pb && g.w.pad_before == aw.pb);
    const int64_t N = 3, K = g.K(), P = ah.out * aw.out, R = N * P, guard = 2 * K + 8;
    std::vector<float> x(N * gg.H * gg.W * gg.C);  // (N, H, W, C)
    for (auto& v : x) v = static_cast<float>(rng.uniform() + 0.5);  // never 0: zeros mean padding
    std::vector<std::pair<int64_t, int64_t>> ranges;
    for (int64_t r0 = 0; r0 < R; ++r0)
      for (int64_t len : {int64_t(1), int64_t(2), aw.out - 1, aw.out, aw.out + 1, P + 3})
        if (len >= 1 && r0 + len <= R) ranges.emplace_back(r0, r0 + len);
    for (auto [r0, r1] : ranges) {
      const int64_t rows = r1 - r0;
      std::vector<float> buf(guard + rows * K + guard, -7.0f);  // guard | (rows, K) | guard
      im2col_rows(g, x.data(), r0, r1, buf.data() + guard);
      for (int64_t e = 0; e < guard; ++e)
        if (buf[e] != -7.0f || buf[guard + rows * K + e] != -7.0f) { ++bad; break; }
      for (int64_t r = r0; r < r1; ++r) {  // naive: col(r, (i, j, c)) = x(n, ih, iw, c) or 0
        const int64_t n = r / P, oh = (r % P) / aw.out, ow = r % aw.out;
        for (int64_t i = 0; i < gg.kh; ++i)
          for (int64_t j = 0; j < gg.kw; ++j)
            for (int64_t c = 0; c < gg.C; ++c) {
              const int64_t ih = oh * gg.sh - ah.pb + i * gg.dh, iw = ow * gg.sw - aw.pb + j * gg.dw;
              const float want = (ih >= 0 && ih < gg.H && iw >= 0 && iw < gg.W)
                                     ? x[((n * gg.H + ih) * gg.W + iw) * gg.C + c] : 0.0f;
              if (buf[guard + (r - r0) * K + (i * gg.kw + j) * gg.C + c] != want) ++bad;
            }
      }
      // col2im adds exactly the in-bounds entries back: with a column of ones,
      // dx counts how many (row, tap) pairs of the range read each input cell.
      std::vector<float> ones(rows * K, 1.0f), dx(x.size(), 0.0f), want(x.size(), 0.0f);
      col2im_rows_add(g, ones.data(), r0, r1, dx.data());
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / P, oh = (r % P) / aw.out, ow = r % aw.out;
        for (int64_t i = 0; i < gg.kh; ++i)
          for (int64_t j = 0; j < gg.kw; ++j) {
            const int64_t ih = oh * gg.sh - ah.pb + i * gg.dh, iw = ow * gg.sw - aw.pb + j * gg.dw;
            if (ih >= 0 && ih < gg.H && iw >= 0 && iw < gg.W)
              for (int64_t c = 0; c < gg.C; ++c) want[((n * gg.H + ih) * gg.W + iw) * gg.C + c] += 1.0f;
          }
      }
      if (dx != want) ++bad;
    }
  }
  if (bad) std::printf("  %d im2col/col2im mismatches or guard overwrites\n", bad);
  CHECK(bad == 0);
}

KN_TEST_MAIN
