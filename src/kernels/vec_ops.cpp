#include "vec_ops.h"

#include <cmath>

#include "rng.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define KN_VEC_X86 1
#define KN_AVX512 __attribute__((target("avx512f,avx512dq"), optimize("fp-contract=off")))
#endif

namespace kn {
namespace vec {

namespace {
// ---- scalar reference paths (also the tails of the vector paths) ----
inline void rmsprop_s(float* p, float* a, const float* g, int64_t j, int64_t n, float rho, float omr, float lr,
                      float eps) {
  for (; j < n; ++j) {
    const float na = rho * a[j] + omr * (g[j] * g[j]);
    a[j] = na;
    p[j] = p[j] - (lr * g[j]) / (std::sqrt(na) + eps);
  }
}
inline void adagrad_s(float* p, float* a, const float* g, int64_t j, int64_t n, float lr, float eps) {
  for (; j < n; ++j) {
    const float na = a[j] + g[j] * g[j];
    a[j] = na;
    p[j] = p[j] - (lr * g[j]) / (std::sqrt(na) + eps);
  }
}
inline void adam_s(float* p, float* m, float* v, float* vh, const float* g, int64_t j, int64_t n, float b1,
                   float omb1, float b2, float omb2, float lr, float eps) {
  for (; j < n; ++j) {
    const float mt = b1 * m[j] + omb1 * g[j];
    const float vt = b2 * v[j] + omb2 * (g[j] * g[j]);
    m[j] = mt;
    v[j] = vt;
    float d = vt;
    if (vh) { d = vh[j] > vt ? vh[j] : vt; vh[j] = d; }
    p[j] = p[j] - (lr * mt) / (std::sqrt(d) + eps);
  }
}
inline void sgd_s(float* p, float* m, const float* g, int64_t j, int64_t n, float mu, float lr, bool nesterov) {
  for (; j < n; ++j) {
    const float v = mu * m[j] - lr * g[j];
    m[j] = v;
    p[j] = nesterov ? (p[j] + mu * v) - lr * g[j] : p[j] + v;
  }
}
inline void dropout_s(const float* x, float* out, float* mask, int64_t i, int64_t hi, uint64_t key, float keep,
                      float scale) {
  for (; i < hi; ++i) {
    const float m = uniform_at(key, static_cast<uint64_t>(i)) < keep ? scale : 0.0f;
    mask[i] = m;
    out[i] = x[i] * m;
  }
}

#ifdef KN_VEC_X86
bool has_avx512() {
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
  return ok;
}

KN_AVX512 void rmsprop_512(float* p, float* a, const float* g, int64_t n, float rho, float omr, float lr,
                           float eps) {
  const __m512 vr = _mm512_set1_ps(rho), vo = _mm512_set1_ps(omr), vl = _mm512_set1_ps(lr),
               ve = _mm512_set1_ps(eps);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 gj = _mm512_loadu_ps(g + j);
    const __m512 na = _mm512_add_ps(_mm512_mul_ps(vr, _mm512_loadu_ps(a + j)), _mm512_mul_ps(vo, _mm512_mul_ps(gj, gj)));
    _mm512_storeu_ps(a + j, na);
    const __m512 upd = _mm512_div_ps(_mm512_mul_ps(vl, gj), _mm512_add_ps(_mm512_sqrt_ps(na), ve));
    _mm512_storeu_ps(p + j, _mm512_sub_ps(_mm512_loadu_ps(p + j), upd));
  }
  rmsprop_s(p, a, g, j, n, rho, omr, lr, eps);
}

KN_AVX512 void adagrad_512(float* p, float* a, const float* g, int64_t n, float lr, float eps) {
  const __m512 vl = _mm512_set1_ps(lr), ve = _mm512_set1_ps(eps);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 gj = _mm512_loadu_ps(g + j);
    const __m512 na = _mm512_add_ps(_mm512_loadu_ps(a + j), _mm512_mul_ps(gj, gj));
    _mm512_storeu_ps(a + j, na);
    const __m512 upd = _mm512_div_ps(_mm512_mul_ps(vl, gj), _mm512_add_ps(_mm512_sqrt_ps(na), ve));
    _mm512_storeu_ps(p + j, _mm512_sub_ps(_mm512_loadu_ps(p + j), upd));
  }
  adagrad_s(p, a, g, j, n, lr, eps);
}

KN_AVX512 void adam_512(float* p, float* m, float* v, float* vh, const float* g, int64_t n, float b1, float omb1,
                        float b2, float omb2, float lr, float eps) {
  const __m512 vb1 = _mm512_set1_ps(b1), vo1 = _mm512_set1_ps(omb1), vb2 = _mm512_set1_ps(b2),
               vo2 = _mm512_set1_ps(omb2), vl = _mm512_set1_ps(lr), ve = _mm512_set1_ps(eps);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 gj = _mm512_loadu_ps(g + j);
    const __m512 mt = _mm512_add_ps(_mm512_mul_ps(vb1, _mm512_loadu_ps(m + j)), _mm512_mul_ps(vo1, gj));
    const __m512 vt = _mm512_add_ps(_mm512_mul_ps(vb2, _mm512_loadu_ps(v + j)), _mm512_mul_ps(vo2, _mm512_mul_ps(gj, gj)));
    _mm512_storeu_ps(m + j, mt);
    _mm512_storeu_ps(v + j, vt);
    __m512 d = vt;
    if (vh) {  // scalar: vh > vt ? vh : vt
      const __m512 old = _mm512_loadu_ps(vh + j);
      d = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(old, vt, _CMP_GT_OQ), vt, old);
      _mm512_storeu_ps(vh + j, d);
    }
    const __m512 upd = _mm512_div_ps(_mm512_mul_ps(vl, mt), _mm512_add_ps(_mm512_sqrt_ps(d), ve));
    _mm512_storeu_ps(p + j, _mm512_sub_ps(_mm512_loadu_ps(p + j), upd));
  }
  adam_s(p, m, v, vh, g, j, n, b1, omb1, b2, omb2, lr, eps);
}

KN_AVX512 void sgd_512(float* p, float* m, const float* g, int64_t n, float mu, float lr, bool nesterov) {
  const __m512 vm = _mm512_set1_ps(mu), vl = _mm512_set1_ps(lr);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 lg = _mm512_mul_ps(vl, _mm512_loadu_ps(g + j));
    const __m512 vv = _mm512_sub_ps(_mm512_mul_ps(vm, _mm512_loadu_ps(m + j)), lg);
    _mm512_storeu_ps(m + j, vv);
    const __m512 pj = _mm512_loadu_ps(p + j);
    _mm512_storeu_ps(p + j, nesterov ? _mm512_sub_ps(_mm512_add_ps(pj, _mm512_mul_ps(vm, vv)), lg)
                                     : _mm512_add_ps(pj, vv));
  }
  sgd_s(p, m, g, j, n, mu, lr, nesterov);
}

KN_AVX512 void relu_512(float* x, int64_t n) {
  const __m512 z = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) _mm512_storeu_ps(x + j, _mm512_max_ps(_mm512_loadu_ps(x + j), z));
  for (; j < n; ++j) x[j] = x[j] > 0.0f ? x[j] : 0.0f;
}

KN_AVX512 void relu_backward_512(const float* y, const float* dy, float* dx, int64_t n) {
  const __m512 z = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 pos = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(_mm512_loadu_ps(y + j), z, _CMP_GT_OQ), z, one);
    _mm512_storeu_ps(dx + j, _mm512_mul_ps(_mm512_loadu_ps(dy + j), pos));
  }
  for (; j < n; ++j) dx[j] = dy[j] * static_cast<float>(y[j] > 0.0f);
}

KN_AVX512 __m512i splitmix_512(__m512i x) {
  x = _mm512_add_epi64(x, _mm512_set1_epi64(static_cast<long long>(0x9E3779B97F4A7C15ULL)));
  x = _mm512_mullo_epi64(_mm512_xor_si512(x, _mm512_srli_epi64(x, 30)),
                         _mm512_set1_epi64(static_cast<long long>(0xBF58476D1CE4E5B9ULL)));
  x = _mm512_mullo_epi64(_mm512_xor_si512(x, _mm512_srli_epi64(x, 27)),
                         _mm512_set1_epi64(static_cast<long long>(0x94D049BB133111EBULL)));
  return _mm512_xor_si512(x, _mm512_srli_epi64(x, 31));
}

KN_AVX512 void dropout_512(const float* x, float* out, float* mask, int64_t lo, int64_t hi, uint64_t key,
                           float keep, float scale) {
  const __m512i golden = _mm512_set1_epi64(static_cast<long long>(0x9E3779B97F4A7C15ULL));
  const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  const __m512 vkeep = _mm512_set1_ps(keep), vscale = _mm512_set1_ps(scale), z = _mm512_setzero_ps();
  const __m512 inv24 = _mm512_set1_ps(1.0f / 16777216.0f);
  int64_t i = lo;
  for (; i + 16 <= hi; i += 16) {
    // state = key + idx * golden for idx = i .. i+15 (two halves of 8 lanes)
    const __m512i i0 = _mm512_add_epi64(_mm512_set1_epi64(i), lane);
    const __m512i i1 = _mm512_add_epi64(i0, _mm512_set1_epi64(8));
    const __m512i k = _mm512_set1_epi64(static_cast<long long>(key));
    const __m512i h0 = splitmix_512(_mm512_add_epi64(k, _mm512_mullo_epi64(i0, golden)));
    const __m512i h1 = splitmix_512(_mm512_add_epi64(k, _mm512_mullo_epi64(i1, golden)));
    // top 24 bits -> int32 lanes -> float (exact)
    const __m256i b0 = _mm512_cvtepi64_epi32(_mm512_srli_epi64(h0, 40));
    const __m256i b1 = _mm512_cvtepi64_epi32(_mm512_srli_epi64(h1, 40));
    const __m512i b = _mm512_inserti64x4(_mm512_castsi256_si512(b0), b1, 1);
    const __m512 u = _mm512_mul_ps(_mm512_cvtepi32_ps(b), inv24);
    const __m512 m = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(u, vkeep, _CMP_LT_OQ), z, vscale);
    _mm512_storeu_ps(mask + i, m);
    _mm512_storeu_ps(out + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), m));
  }
  dropout_s(x, out, mask, i, hi, key, keep, scale);
}
#endif
}  // namespace

#ifdef KN_VEC_X86
#define KN_DISPATCH(call512, ...) do { if (has_avx512()) { call512; return; } } while (0)
#else
#define KN_DISPATCH(call512, ...) do { } while (0)
#endif

void rmsprop(float* p, float* a, const float* g, int64_t n, float rho, float omr, float lr, float eps) {
  KN_DISPATCH(rmsprop_512(p, a, g, n, rho, omr, lr, eps));
  rmsprop_s(p, a, g, 0, n, rho, omr, lr, eps);
}
void adagrad(float* p, float* a, const float* g, int64_t n, float lr, float eps) {
  KN_DISPATCH(adagrad_512(p, a, g, n, lr, eps));
  adagrad_s(p, a, g, 0, n, lr, eps);
}
void adam(float* p, float* m, float* v, float* vh, const float* g, int64_t n, float b1, float omb1, float b2,
          float omb2, float lr, float eps) {
  KN_DISPATCH(adam_512(p, m, v, vh, g, n, b1, omb1, b2, omb2, lr, eps));
  adam_s(p, m, v, vh, g, 0, n, b1, omb1, b2, omb2, lr, eps);
}
void sgd_momentum(float* p, float* m, const float* g, int64_t n, float mu, float lr, bool nesterov) {
  KN_DISPATCH(sgd_512(p, m, g, n, mu, lr, nesterov));
  sgd_s(p, m, g, 0, n, mu, lr, nesterov);
}
void relu(float* x, int64_t n) {
  KN_DISPATCH(relu_512(x, n));
  for (int64_t j = 0; j < n; ++j) x[j] = x[j] > 0.0f ? x[j] : 0.0f;
}
void relu_backward(const float* y, const float* dy, float* dx, int64_t n) {
  KN_DISPATCH(relu_backward_512(y, dy, dx, n));
  for (int64_t j = 0; j < n; ++j) dx[j] = dy[j] * static_cast<float>(y[j] > 0.0f);
}
void dropout(const float* x, float* out, float* mask, int64_t lo, int64_t hi, uint64_t key, float keep,
             float scale) {
  KN_DISPATCH(dropout_512(x, out, mask, lo, hi, key, keep, scale));
  dropout_s(x, out, mask, lo, hi, key, keep, scale);
}

const char* kernel_name() {
#ifdef KN_VEC_X86
  if (has_avx512()) return "avx512";
#endif
  return "generic";
}

}  // namespace vec
}  // namespace kn
