// Element-wise kernels (vec_ops): whatever path runs (AVX-512 or generic),
// results must equal, bit for bit, the plain formulas written out here.
#include <cmath>
#include <cstring>
#include <vector>

#include "harness.h"
#include "rng.h"
#include "vec_ops.h"

using namespace kn;

namespace {
std::vector<float> randv(size_t n, Rng& r, float lo, float hi) {
  std::vector<float> v(n);
  for (auto& x : v) x = lo + (hi - lo) * static_cast<float>(r.uniform());
  return v;
}
bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}
}  // namespace

TEST(optimizer_kernels_equal_the_scalar_formulas) {
  Rng r(5);
  std::printf("  vec kernel: %s\n", vec::kernel_name());
  for (size_t n : {1, 15, 16, 17, 100, 1000}) {
    auto g = randv(n, r, -1, 1), p0 = randv(n, r, -1, 1), a0 = randv(n, r, 0, 1), m0 = randv(n, r, -1, 1),
         v0 = randv(n, r, 0, 1), h0 = randv(n, r, 0, 1);
    // RMSprop
    auto p = p0, a = a0, pe = p0, ae = a0;
    vec::rmsprop(p.data(), a.data(), g.data(), n, 0.9f, 0.1f, 0.01f, 1e-7f);
    for (size_t j = 0; j < n; ++j) {
      float na = 0.9f * ae[j] + 0.1f * (g[j] * g[j]);
      ae[j] = na;
      pe[j] = pe[j] - (0.01f * g[j]) / (std::sqrt(na) + 1e-7f);
    }
    CHECK(same_bits(p, pe));
    CHECK(same_bits(a, ae));
    // Adagrad
    p = p0; a = a0; pe = p0; ae = a0;
    vec::adagrad(p.data(), a.data(), g.data(), n, 0.05f, 1e-7f);
    for (size_t j = 0; j < n; ++j) {
      float na = ae[j] + g[j] * g[j];
      ae[j] = na;
      pe[j] = pe[j] - (0.05f * g[j]) / (std::sqrt(na) + 1e-7f);
    }
    CHECK(same_bits(p, pe));
    // Adam with and without amsgrad
    for (int ams = 0; ams < 2; ++ams) {
      auto pa = p0, m = m0, v = v0, h = h0, pb = p0, mb = m0, vb = v0, hb = h0;
      vec::adam(pa.data(), m.data(), v.data(), ams ? h.data() : nullptr, g.data(), n, 0.9f, 0.1f, 0.999f,
                0.001f, 0.003f, 1e-7f);
      for (size_t j = 0; j < n; ++j) {
        float mt = 0.9f * mb[j] + 0.1f * g[j];
        float vt = 0.999f * vb[j] + 0.001f * (g[j] * g[j]);
        mb[j] = mt; vb[j] = vt;
        float d = vt;
        if (ams) { d = hb[j] > vt ? hb[j] : vt; hb[j] = d; }
        pb[j] = pb[j] - (0.003f * mt) / (std::sqrt(d) + 1e-7f);
      }
      CHECK(same_bits(pa, pb));
      CHECK(same_bits(m, mb));
      CHECK(same_bits(v, vb));
      if (ams) CHECK(same_bits(h, hb));
    }
    // SGD momentum, plain and Nesterov
    for (int nest = 0; nest < 2; ++nest) {
      auto ps = p0, m = m0, pb = p0, mb = m0;
      vec::sgd_momentum(ps.data(), m.data(), g.data(), n, 0.9f, 0.01f, nest);
      for (size_t j = 0; j < n; ++j) {
        float v = 0.9f * mb[j] - 0.01f * g[j];
        mb[j] = v;
        pb[j] = nest ? (pb[j] + 0.9f * v) - 0.01f * g[j] : pb[j] + v;
      }
      CHECK(same_bits(ps, pb));
      CHECK(same_bits(m, mb));
    }
  }
}

TEST(relu_kernels_equal_the_scalar_formulas) {
  Rng r(6);
  for (size_t n : {3, 16, 33}) {
    auto x = randv(n, r, -1, 1), dy = randv(n, r, -1, 1);
    x[0] = -0.0f;
    auto y = x, ye = x;
    vec::relu(y.data(), n);
    for (auto& v : ye) v = v > 0.0f ? v : 0.0f;
    CHECK(same_bits(y, ye));
    std::vector<float> dx(n), dxe(n);
    vec::relu_backward(y.data(), dy.data(), dx.data(), n);
    for (size_t j = 0; j < n; ++j) dxe[j] = dy[j] * static_cast<float>(y[j] > 0.0f);
    CHECK(same_bits(dx, dxe));
  }
}

TEST(dropout_mask_equals_the_counter_based_draws) {
  Rng r(7);
  const int64_t n = 1000;
  auto x = randv(n, r, -1, 1);
  std::vector<float> out(n), mask(n);
  const float keep = 0.6f, scale = 1.0f / 0.6f;
  vec::dropout(x.data(), out.data(), mask.data(), 3, n, 12345, keep, scale);  // odd start: tails
  int kept = 0;
  for (int64_t i = 3; i < n; ++i) {
    float m = uniform_at(12345, static_cast<uint64_t>(i)) < keep ? scale : 0.0f;
    CHECK(std::memcmp(&mask[i], &m, sizeof m) == 0);
    float o = x[i] * m;
    CHECK(std::memcmp(&out[i], &o, sizeof o) == 0);
    kept += m != 0.0f;
  }
  CHECK_NEAR(kept / 997.0, 0.6, 0.05);
}

KN_TEST_MAIN
