// GEMM packers and micro-kernels (generic, AVX2, AVX-512) and run-time
// kernel selection; the blocking driver is in gemm.cpp.
#include "gemm_kernels.h"

#include <algorithm>
#include <cstring>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#define KN_GEMM_X86 1
#include <immintrin.h>
#define KN_TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))
#define KN_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define KN_GEMM_X86 0
#endif

namespace kn {
namespace gemm_detail {
namespace {

// ---------------------------------------------------------------------------
// Portable packers (used by the generic and AVX2 kernels)
// ---------------------------------------------------------------------------

void pack_a_scalar(bool trans_a, const float* A, int64_t lda, int64_t i, int rows,
                   int64_t k0, int64_t kc, float* d) {
  // d: (kc, rows)
  if (trans_a) {  // A stored (K, M): row k of op(A)^T is contiguous
    for (int64_t k = 0; k < kc; ++k) {
      const float* s = A + (k0 + k) * lda + i;
      for (int r = 0; r < rows; ++r) d[k * rows + r] = s[r];
    }
  } else {  // A stored (M, K)
    for (int r = 0; r < rows; ++r) {
      const float* s = A + (i + r) * lda + k0;
      for (int64_t k = 0; k < kc; ++k) d[k * rows + r] = s[k];
    }
  }
}

template <int NR>
void pack_b_scalar(bool trans_b, const float* B, int64_t ldb, int64_t k0, int64_t kc,
                   int64_t j0, int64_t nc, float* dst) {
  for (int64_t p = 0; p * NR < nc; ++p) {
    const int64_t j = j0 + p * NR;
    const int cols = static_cast<int>(std::min<int64_t>(NR, j0 + nc - j));
    float* d = dst + p * kc * NR;  // (kc, NR)
    if (!trans_b) {  // B stored (K, N)
      for (int64_t k = 0; k < kc; ++k) {
        const float* s = B + (k0 + k) * ldb + j;
        int c = 0;
        for (; c < cols; ++c) d[k * NR + c] = s[c];
        for (; c < NR; ++c) d[k * NR + c] = 0.0f;
      }
    } else {  // B stored (N, K)
      for (int c = 0; c < NR; ++c) {
        if (c < cols) {
          const float* s = B + (j + c) * ldb + k0;
          for (int64_t k = 0; k < kc; ++k) d[k * NR + c] = s[k];
        } else {
          for (int64_t k = 0; k < kc; ++k) d[k * NR + c] = 0.0f;
        }
      }
    }
  }
}

// Writes the (mr x nr) block `t` (row stride ts) into C with alpha/beta.
inline void store_tile_scalar(const float* t, int64_t ts, float* c, int64_t ldc, float alpha,
                              float beta, int mr, int nr) {
  for (int i = 0; i < mr; ++i) {
    float* ci = c + i * ldc;
    const float* ti = t + i * ts;
    if (beta == 0.0f) {
      for (int j = 0; j < nr; ++j) ci[j] = alpha * ti[j];
    } else if (beta == 1.0f) {
      for (int j = 0; j < nr; ++j) ci[j] += alpha * ti[j];
    } else {
      for (int j = 0; j < nr; ++j) ci[j] = alpha * ti[j] + beta * ci[j];
    }
  }
}

// ---------------------------------------------------------------------------
// Generic kernel: 6 x 8, plain C++
// ---------------------------------------------------------------------------

constexpr int kGenMR = 6, kGenNR = 8;

#if defined(__GNUC__)
// GCC/Clang vector extension: 4 floats, lowered to SSE/NEON/... or scalars.
typedef float V4f __attribute__((vector_size(16)));

template <int MR>
void micro_generic_t(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                     float alpha, float beta, int nr, int64_t a_ks, int64_t b_ks) {
  V4f acc0[MR], acc1[MR];  // (MR, 8) as two 4-wide halves
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) { acc0[i] = V4f{0, 0, 0, 0}; acc1[i] = V4f{0, 0, 0, 0}; }
  for (int64_t k = 0; k < kc; ++k) {
    V4f b0, b1;
    std::memcpy(&b0, b, sizeof b0);
    std::memcpy(&b1, b + 4, sizeof b1);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const float ai = a[i];
      acc0[i] += ai * b0;
      acc1[i] += ai * b1;
    }
    a += a_ks;
    b += b_ks;
  }
  float t[MR * kGenNR];  // (MR, NR)
  for (int i = 0; i < MR; ++i) {
    std::memcpy(t + i * kGenNR, &acc0[i], sizeof(V4f));
    std::memcpy(t + i * kGenNR + 4, &acc1[i], sizeof(V4f));
  }
  store_tile_scalar(t, kGenNR, c, ldc, alpha, beta, MR, nr);
}
#else
template <int MR>
void micro_generic_t(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                     float alpha, float beta, int nr, int64_t a_ks, int64_t b_ks) {
  float acc[MR][kGenNR] = {};  // (MR, NR)
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < MR; ++i) {
      const float ai = a[i];
      for (int j = 0; j < kGenNR; ++j) acc[i][j] += ai * b[j];
    }
    a += a_ks;
    b += b_ks;
  }
  store_tile_scalar(&acc[0][0], kGenNR, c, ldc, alpha, beta, MR, nr);
}
#endif

void micro_generic(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                   float alpha, float beta, int mr, int nr, int64_t a_ks, int64_t b_ks) {
  switch (mr) {
    case 6: micro_generic_t<6>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 5: micro_generic_t<5>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 4: micro_generic_t<4>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 3: micro_generic_t<3>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 2: micro_generic_t<2>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    default: micro_generic_t<1>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
  }
}

const Kernel kGeneric = {"generic", kGenMR, kGenNR, 256, 96, micro_generic,
                         pack_a_scalar, pack_b_scalar<kGenNR>, nullptr, 0, 1};

#if KN_GEMM_X86

// ---------------------------------------------------------------------------
// AVX2 + FMA kernel: 6 x 16
// ---------------------------------------------------------------------------

constexpr int kAvx2MR = 6, kAvx2NR = 16;

template <int MR>
KN_TARGET_AVX2 void micro_avx2_t(int64_t kc, const float* a, const float* b, float* c,
                                 int64_t ldc, float alpha, float beta, int nr, int64_t a_ks, int64_t b_ks) {
  __m256 acc0[MR], acc1[MR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) { acc0[i] = _mm256_setzero_ps(); acc1[i] = _mm256_setzero_ps(); }
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      acc0[i] = _mm256_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm256_fmadd_ps(ai, b1, acc1[i]);
    }
    a += a_ks;
    b += b_ks;
  }
  const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
  if (nr == kAvx2NR) {
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      float* ci = c + i * ldc;
      __m256 r0 = _mm256_mul_ps(acc0[i], va), r1 = _mm256_mul_ps(acc1[i], va);
      if (beta == 1.0f) {
        r0 = _mm256_add_ps(r0, _mm256_loadu_ps(ci));
        r1 = _mm256_add_ps(r1, _mm256_loadu_ps(ci + 8));
      } else if (beta != 0.0f) {
        r0 = _mm256_fmadd_ps(_mm256_loadu_ps(ci), vb, r0);
        r1 = _mm256_fmadd_ps(_mm256_loadu_ps(ci + 8), vb, r1);
      }
      _mm256_storeu_ps(ci, r0);
      _mm256_storeu_ps(ci + 8, r1);
    }
  } else {
    alignas(32) float t[MR * kAvx2NR];  // (MR, NR)
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      _mm256_store_ps(t + i * kAvx2NR, acc0[i]);
      _mm256_store_ps(t + i * kAvx2NR + 8, acc1[i]);
    }
    store_tile_scalar(t, kAvx2NR, c, ldc, alpha, beta, MR, nr);
  }
}

KN_TARGET_AVX2 void micro_avx2(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                               float alpha, float beta, int mr, int nr, int64_t a_ks, int64_t b_ks) {
  switch (mr) {
    case 6: micro_avx2_t<6>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 5: micro_avx2_t<5>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 4: micro_avx2_t<4>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 3: micro_avx2_t<3>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 2: micro_avx2_t<2>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    default: micro_avx2_t<1>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
  }
}

const Kernel kAvx2 = {"avx2", kAvx2MR, kAvx2NR, 256, 96, micro_avx2,
                      pack_a_scalar, pack_b_scalar<kAvx2NR>, nullptr, 0, 1};

// ---------------------------------------------------------------------------
// AVX-512 kernel: 14 x 32
// ---------------------------------------------------------------------------

constexpr int kAvx512MR = 14, kAvx512NR = 32;

// Full-mask forms of the shuffles: the plain intrinsics in GCC 12's headers
// trip -Wuninitialized (their _mm512_undefined_ps); these compile the same.
KN_TARGET_AVX512 inline __m512 unpacklo32(__m512 x, __m512 y) {
  return _mm512_mask_unpacklo_ps(x, 0xFFFF, x, y);
}
KN_TARGET_AVX512 inline __m512 unpackhi32(__m512 x, __m512 y) {
  return _mm512_mask_unpackhi_ps(x, 0xFFFF, x, y);
}
KN_TARGET_AVX512 inline __m512 unpacklo64(__m512 x, __m512 y) {
  const __m512d xd = _mm512_castps_pd(x);
  return _mm512_castpd_ps(_mm512_mask_unpacklo_pd(xd, 0xFF, xd, _mm512_castps_pd(y)));
}
KN_TARGET_AVX512 inline __m512 unpackhi64(__m512 x, __m512 y) {
  const __m512d xd = _mm512_castps_pd(x);
  return _mm512_castpd_ps(_mm512_mask_unpackhi_pd(xd, 0xFF, xd, _mm512_castps_pd(y)));
}
#define KN_SHUF128(x, y, imm) _mm512_mask_shuffle_f32x4((x), 0xFFFF, (x), (y), (imm))

// In-register transpose of a 16 x 16 block: r[i] holds row i on entry and
// column i on exit.
KN_TARGET_AVX512 inline void transpose16(__m512 r[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = unpacklo32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = unpackhi32(r[2 * i], r[2 * i + 1]);
  }
  // u[4g + c]: 128-bit lane L holds rows 4g..4g+3 of column 4L + c.
  __m512 u[16];
#pragma GCC unroll 4
  for (int g = 0; g < 4; ++g) {
    u[4 * g] = unpacklo64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 1] = unpackhi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 2] = unpacklo64(t[4 * g + 1], t[4 * g + 3]);
    u[4 * g + 3] = unpackhi64(t[4 * g + 1], t[4 * g + 3]);
  }
  // 4 x 4 transpose of 128-bit lanes for each c.
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    const __m512 w0 = KN_SHUF128(u[c], u[4 + c], 0x44);
    const __m512 w1 = KN_SHUF128(u[c], u[4 + c], 0xEE);
    const __m512 w2 = KN_SHUF128(u[8 + c], u[12 + c], 0x44);
    const __m512 w3 = KN_SHUF128(u[8 + c], u[12 + c], 0xEE);
    r[c] = KN_SHUF128(w0, w2, 0x88);
    r[4 + c] = KN_SHUF128(w0, w2, 0xDD);
    r[8 + c] = KN_SHUF128(w1, w3, 0x88);
    r[12 + c] = KN_SHUF128(w1, w3, 0xDD);
  }
}
#undef KN_SHUF128

KN_TARGET_AVX512 inline __mmask16 lane_mask(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF)
                 : static_cast<__mmask16>((1u << static_cast<unsigned>(n > 0 ? n : 0)) - 1u);
}

KN_TARGET_AVX512 void pack_a_avx512(bool trans_a, const float* A, int64_t lda, int64_t i,
                                    int rows, int64_t k0, int64_t kc, float* d) {
  {  // d: (kc, rows), rows <= 14
    const __mmask16 rm = lane_mask(rows);
    if (trans_a) {  // A stored (K, M)
      const float* s = A + k0 * lda + i;
      for (int64_t k = 0; k < kc; ++k, s += lda)
        _mm512_mask_storeu_ps(d + k * rows, rm, _mm512_maskz_loadu_ps(rm, s));
    } else {  // A stored (M, K): transpose 16-deep slices of the rows
      const float* s = A + i * lda + k0;
      for (int64_t k = 0; k < kc; k += 16) {
        const int64_t kk = std::min<int64_t>(16, kc - k);
        const __mmask16 km = lane_mask(kk);
        __m512 r[16];
#pragma GCC unroll 16
        for (int q = 0; q < 16; ++q)
          r[q] = q < rows ? _mm512_maskz_loadu_ps(km, s + q * lda + k) : _mm512_setzero_ps();
        transpose16(r);
        for (int q = 0; q < kk; ++q) _mm512_mask_storeu_ps(d + (k + q) * rows, rm, r[q]);
      }
    }
  }
}

KN_TARGET_AVX512 void pack_b_avx512(bool trans_b, const float* B, int64_t ldb, int64_t k0,
                                    int64_t kc, int64_t j0, int64_t nc, float* dst) {
  constexpr int NR = kAvx512NR;
  for (int64_t p = 0; p * NR < nc; ++p) {
    const int64_t j = j0 + p * NR;
    const int64_t cols = std::min<int64_t>(NR, j0 + nc - j);
    float* d = dst + p * kc * NR;  // (kc, NR)
    if (!trans_b) {  // B stored (K, N)
      const __mmask16 m0 = lane_mask(cols), m1 = lane_mask(cols - 16);
      const float* s = B + k0 * ldb + j;
      for (int64_t k = 0; k < kc; ++k, s += ldb) {
        _mm512_store_ps(d + k * NR, _mm512_maskz_loadu_ps(m0, s));
        _mm512_store_ps(d + k * NR + 16, _mm512_maskz_loadu_ps(m1, s + 16));
      }
    } else {  // B stored (N, K): transpose 16 x 16 blocks
      for (int h = 0; h < 2; ++h) {
        const int64_t ch = std::min<int64_t>(16, cols - 16 * h);  // columns in this half
        if (ch <= 0) {
          for (int64_t k = 0; k < kc; ++k) _mm512_store_ps(d + k * NR + 16 * h, _mm512_setzero_ps());
          continue;
        }
        const float* s = B + (j + 16 * h) * ldb + k0;
        for (int64_t k = 0; k < kc; k += 16) {
          const int64_t kk = std::min<int64_t>(16, kc - k);
          const __mmask16 km = lane_mask(kk);
          __m512 r[16];
#pragma GCC unroll 16
          for (int q = 0; q < 16; ++q)
            r[q] = q < ch ? _mm512_maskz_loadu_ps(km, s + q * ldb + k) : _mm512_setzero_ps();
          transpose16(r);
          for (int q = 0; q < kk; ++q) _mm512_store_ps(d + (k + q) * NR + 16 * h, r[q]);
        }
      }
    }
  }
}

template <int MR>
KN_TARGET_AVX512 void micro_avx512_t(int64_t kc, const float* a, const float* b, float* c,
                                     int64_t ldc, float alpha, float beta, int nr, int64_t a_ks, int64_t b_ks) {
  __m512 acc0[MR], acc1[MR];
  const __mmask16 m0 = lane_mask(nr), m1 = lane_mask(nr - 16);  // valid columns
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) { acc0[i] = _mm512_setzero_ps(); acc1[i] = _mm512_setzero_ps(); }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_maskz_loadu_ps(m1, b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * b_ks), _MM_HINT_T0);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
    }
    a += a_ks;
    b += b_ks;
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    float* ci = c + i * ldc;
    __m512 r0 = _mm512_mul_ps(acc0[i], va), r1 = _mm512_mul_ps(acc1[i], va);
    if (beta == 1.0f) {
      r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, ci));
      r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, ci + 16));
    } else if (beta != 0.0f) {
      r0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, ci), vb, r0);
      r1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, ci + 16), vb, r1);
    }
    _mm512_mask_storeu_ps(ci, m0, r0);
    _mm512_mask_storeu_ps(ci + 16, m1, r1);
  }
}

// Same tile computation with A read in place: row i at a + i * lda.
template <int MR>
KN_TARGET_AVX512 void micro_avx512_direct_t(int64_t kc, const float* a, int64_t lda,
                                            const float* b, float* c, int64_t ldc, float alpha,
                                            float beta, int nr, int64_t b_ks) {
  __m512 acc0[MR], acc1[MR];
  const __mmask16 m0 = lane_mask(nr), m1 = lane_mask(nr - 16);  // valid columns
  const float* ar[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    acc0[i] = _mm512_setzero_ps();
    acc1[i] = _mm512_setzero_ps();
    ar[i] = a + i * lda;
  }
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_maskz_loadu_ps(m1, b + 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(ar[i][k]);
      acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
    }
    b += b_ks;
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    float* ci = c + i * ldc;
    __m512 r0 = _mm512_mul_ps(acc0[i], va), r1 = _mm512_mul_ps(acc1[i], va);
    if (beta == 1.0f) {
      r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, ci));
      r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, ci + 16));
    } else if (beta != 0.0f) {
      r0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, ci), vb, r0);
      r1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, ci + 16), vb, r1);
    }
    _mm512_mask_storeu_ps(ci, m0, r0);
    _mm512_mask_storeu_ps(ci + 16, m1, r1);
  }
}

constexpr int kAvx512DirectMR = 8;

KN_TARGET_AVX512 void micro_avx512_direct(int64_t kc, const float* a, int64_t lda, const float* b,
                                          float* c, int64_t ldc, float alpha, float beta, int mr,
                                          int nr, int64_t b_ks) {
  switch (mr) {
    case 8: micro_avx512_direct_t<8>(kc, a, lda, b, c, ldc, alpha, beta, nr, b_ks); break;
    case 7: micro_avx512_direct_t<7>(kc, a, lda, b, c, ldc, alpha, beta, nr, b_ks); break;
    case 6: micro_avx512_direct_t<6>(kc, a, lda, b, c, ldc, alpha, beta, nr, b_ks); break;
    case 5: micro_avx512_direct_t<5>(kc, a, lda, b, c, ldc, alpha, beta, nr, b_ks); break;
    case 4: micro_avx512_direct_t<4>(kc, a, lda, b, c, ldc, alpha, beta, nr, b_ks); break;
    case 3: micro_avx512_direct_t<3>(kc, a, lda, b, c, ldc, alpha, beta, nr, b_ks); break;
    case 2: micro_avx512_direct_t<2>(kc, a, lda, b, c, ldc, alpha, beta, nr, b_ks); break;
    default: micro_avx512_direct_t<1>(kc, a, lda, b, c, ldc, alpha, beta, nr, b_ks); break;
  }
}

KN_TARGET_AVX512 void micro_avx512(int64_t kc, const float* a, const float* b, float* c,
                                   int64_t ldc, float alpha, float beta, int mr, int nr, int64_t a_ks, int64_t b_ks) {
  switch (mr) {
    case 14: micro_avx512_t<14>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 13: micro_avx512_t<13>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 12: micro_avx512_t<12>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 11: micro_avx512_t<11>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 10: micro_avx512_t<10>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 9: micro_avx512_t<9>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 8: micro_avx512_t<8>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 7: micro_avx512_t<7>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 6: micro_avx512_t<6>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 5: micro_avx512_t<5>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 4: micro_avx512_t<4>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 3: micro_avx512_t<3>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    case 2: micro_avx512_t<2>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
    default: micro_avx512_t<1>(kc, a, b, c, ldc, alpha, beta, nr, a_ks, b_ks); break;
  }
}

const Kernel kAvx512 = {"avx512", kAvx512MR, kAvx512NR, 256, 14 * 24, micro_avx512,
                        pack_a_avx512, pack_b_avx512, micro_avx512_direct, kAvx512DirectMR, 2};

bool cpu_has_avx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("fma");
}
bool cpu_has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

#endif  // KN_GEMM_X86

}  // namespace

// Best kernel the CPU supports, at most `want` ("avx512" > "avx2" > "generic").
const Kernel* pick_kernel(const std::string& want) {
#if KN_GEMM_X86
  const bool allow512 = want.empty() || want == "avx512";
  const bool allow2 = allow512 || want == "avx2";
  if (allow512 && cpu_has_avx512()) return &kAvx512;
  if (allow2 && cpu_has_avx2()) return &kAvx2;
#else
  (void)want;
#endif
  return &kGeneric;
}

}  // namespace gemm_detail
}  // namespace kn
