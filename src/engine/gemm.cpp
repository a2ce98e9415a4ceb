// Single-precision GEMM, row-major, GotoBLAS/BLIS-style:
//   * op(B) is packed once per call into NR-wide column panels, grouped by
//     KC-deep blocks of K;
//   * the output C is split into a grid of tasks (row blocks x column blocks)
//     whose shape depends only on (M, N, K) and the kernel, never on the
//     number of threads; each task packs MC x KC blocks of op(A) into MR-row
//     panels and runs a register-blocked micro-kernel over its tiles;
//   * every C element is accumulated over the K blocks in the same fixed order,
//     so results are bitwise identical for any thread count (and sgemm_st gives
//     the same bits as sgemm).
// Kernels (selected at run time, the package is built without -march):
//   avx512: 14x32 tile (28 zmm accumulators), AVX-512 transposing packers;
//   avx2:   6x16 tile (12 ymm accumulators);
//   generic: 6x8 tile in plain C++ (portable).
// KERASNATIVE_GEMM=generic|avx2|avx512 forces a kernel (falls back to the best
// available one if the CPU lacks it).
#include "gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "parallel.h"
#include "tensor.h"

#ifndef KN_DIRECT_MR
#define KN_DIRECT_MR 8
#endif
#if defined(__x86_64__) || defined(__i386__)
#define KN_GEMM_X86 1
#include <immintrin.h>
#define KN_TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma")))
#define KN_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define KN_GEMM_X86 0
#endif

namespace kn {
namespace {

// ---------------------------------------------------------------------------
// Kernel description
// ---------------------------------------------------------------------------

// Micro-kernel: C(mr x nr) = alpha * Ap(kc x mr) * Bp(kc x NR)[:, :nr] + beta * C.
// Ap: packed A panel, a[k * mr + i]; Bp: packed B panel, b[k * NR + j]
// (64-byte aligned, zero padded to NR). beta == 0 never reads C.
using MicroFn = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                         float alpha, float beta, int mr, int nr);
// Packs one tile op(A)[i0:i0+rows, k0:k0+kc] (rows <= MR) as d[k * rows + i].
using PackAFn = void (*)(bool trans_a, const float* A, int64_t lda, int64_t i0, int rows,
                         int64_t k0, int64_t kc, float* dst);
// Packs op(B)[k0:k0+kc, j0:j0+nc] into panels of NR columns: panel p starts at
// dst + p * kc * NR with layout d[k * NR + j], zero padded to NR columns.
using PackBFn = void (*)(bool trans_b, const float* B, int64_t ldb, int64_t k0, int64_t kc,
                         int64_t j0, int64_t nc, float* dst);

// Micro-kernel reading A unpacked (A stored (M, K), rows a + i * lda), for
// small N where packing A would not be amortised.
using MicroDirectFn = void (*)(int64_t kc, const float* a, int64_t lda, const float* b, float* c,
                               int64_t ldc, float alpha, float beta, int mr, int nr);

struct Kernel {
  const char* name;
  int mr, nr;          // register tile
  int64_t kc, mc;      // cache blocks (mc is a multiple of mr)
  MicroFn micro;
  PackAFn pack_a;
  PackBFn pack_b;
  MicroDirectFn micro_direct;  // may be null
  int mr_direct;               // rows per tile of micro_direct
};

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
                     float alpha, float beta, int nr) {
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
    a += MR;
    b += kGenNR;
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
                     float alpha, float beta, int nr) {
  float acc[MR][kGenNR] = {};  // (MR, NR)
  for (int64_t k = 0; k < kc; ++k) {
    for (int i = 0; i < MR; ++i) {
      const float ai = a[i];
      for (int j = 0; j < kGenNR; ++j) acc[i][j] += ai * b[j];
    }
    a += MR;
    b += kGenNR;
  }
  store_tile_scalar(&acc[0][0], kGenNR, c, ldc, alpha, beta, MR, nr);
}
#endif

void micro_generic(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                   float alpha, float beta, int mr, int nr) {
  switch (mr) {
    case 6: micro_generic_t<6>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 5: micro_generic_t<5>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 4: micro_generic_t<4>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 3: micro_generic_t<3>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 2: micro_generic_t<2>(kc, a, b, c, ldc, alpha, beta, nr); break;
    default: micro_generic_t<1>(kc, a, b, c, ldc, alpha, beta, nr); break;
  }
}

const Kernel kGeneric = {"generic", kGenMR, kGenNR, 256, 96, micro_generic,
                         pack_a_scalar, pack_b_scalar<kGenNR>, nullptr, 0};

#if KN_GEMM_X86

// ---------------------------------------------------------------------------
// AVX2 + FMA kernel: 6 x 16
// ---------------------------------------------------------------------------

constexpr int kAvx2MR = 6, kAvx2NR = 16;

template <int MR>
KN_TARGET_AVX2 void micro_avx2_t(int64_t kc, const float* a, const float* b, float* c,
                                 int64_t ldc, float alpha, float beta, int nr) {
  __m256 acc0[MR], acc1[MR];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) { acc0[i] = _mm256_setzero_ps(); acc1[i] = _mm256_setzero_ps(); }
  for (int64_t k = 0; k < kc; ++k) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      acc0[i] = _mm256_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm256_fmadd_ps(ai, b1, acc1[i]);
    }
    a += MR;
    b += kAvx2NR;
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
                               float alpha, float beta, int mr, int nr) {
  switch (mr) {
    case 6: micro_avx2_t<6>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 5: micro_avx2_t<5>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 4: micro_avx2_t<4>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 3: micro_avx2_t<3>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 2: micro_avx2_t<2>(kc, a, b, c, ldc, alpha, beta, nr); break;
    default: micro_avx2_t<1>(kc, a, b, c, ldc, alpha, beta, nr); break;
  }
}

const Kernel kAvx2 = {"avx2", kAvx2MR, kAvx2NR, 256, 96, micro_avx2,
                      pack_a_scalar, pack_b_scalar<kAvx2NR>, nullptr, 0};

// ---------------------------------------------------------------------------
// AVX-512 kernel: 14 x 32
// ---------------------------------------------------------------------------

constexpr int kAvx512MR = 14, kAvx512NR = 32;

// GCC 12's AVX-512 headers trip -Wuninitialized (_mm512_undefined_ps) when
// inlined; harmless.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// In-register transpose of a 16 x 16 block: r[i] holds row i on entry and
// column i on exit.
KN_TARGET_AVX512 inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // u[4g + c]: 128-bit lane L holds rows 4g..4g+3 of column 4L + c.
  __m512 u[16];
  for (int g = 0; g < 4; ++g) {
    const __m512d x0 = _mm512_castps_pd(t[4 * g]), x1 = _mm512_castps_pd(t[4 * g + 1]);
    const __m512d x2 = _mm512_castps_pd(t[4 * g + 2]), x3 = _mm512_castps_pd(t[4 * g + 3]);
    u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(x0, x2));
    u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(x0, x2));
    u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(x1, x3));
    u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(x1, x3));
  }
  // 4 x 4 transpose of 128-bit lanes for each c.
  for (int c = 0; c < 4; ++c) {
    const __m512 w0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x44);
    const __m512 w1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xEE);
    const __m512 w2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x44);
    const __m512 w3 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xEE);
    r[c] = _mm512_shuffle_f32x4(w0, w2, 0x88);
    r[4 + c] = _mm512_shuffle_f32x4(w0, w2, 0xDD);
    r[8 + c] = _mm512_shuffle_f32x4(w1, w3, 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(w1, w3, 0xDD);
  }
}

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
                                     int64_t ldc, float alpha, float beta, int nr) {
  __m512 acc0[MR], acc1[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) { acc0[i] = _mm512_setzero_ps(); acc1[i] = _mm512_setzero_ps(); }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kAvx512NR), _MM_HINT_T0);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
    }
    a += MR;
    b += kAvx512NR;
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  const __mmask16 m0 = lane_mask(nr), m1 = lane_mask(nr - 16);
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
                                            float beta, int nr) {
  __m512 acc0[MR], acc1[MR];
  const float* ar[MR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    acc0[i] = _mm512_setzero_ps();
    acc1[i] = _mm512_setzero_ps();
    ar[i] = a + i * lda;
  }
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(ar[i][k]);
      acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
    }
    b += kAvx512NR;
  }
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  const __mmask16 m0 = lane_mask(nr), m1 = lane_mask(nr - 16);
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

constexpr int kAvx512DirectMR = KN_DIRECT_MR;

KN_TARGET_AVX512 void micro_avx512_direct(int64_t kc, const float* a, int64_t lda, const float* b,
                                          float* c, int64_t ldc, float alpha, float beta, int mr,
                                          int nr) {
  switch (mr) {
#if KN_DIRECT_MR >= 12
    case 12: micro_avx512_direct_t<12>(kc, a, lda, b, c, ldc, alpha, beta, nr); break;
    case 11: micro_avx512_direct_t<11>(kc, a, lda, b, c, ldc, alpha, beta, nr); break;
    case 10: micro_avx512_direct_t<10>(kc, a, lda, b, c, ldc, alpha, beta, nr); break;
    case 9: micro_avx512_direct_t<9>(kc, a, lda, b, c, ldc, alpha, beta, nr); break;
#endif
    case 8: micro_avx512_direct_t<8>(kc, a, lda, b, c, ldc, alpha, beta, nr); break;
    case 7: micro_avx512_direct_t<7>(kc, a, lda, b, c, ldc, alpha, beta, nr); break;
    case 6: micro_avx512_direct_t<6>(kc, a, lda, b, c, ldc, alpha, beta, nr); break;
    case 5: micro_avx512_direct_t<5>(kc, a, lda, b, c, ldc, alpha, beta, nr); break;
    case 4: micro_avx512_direct_t<4>(kc, a, lda, b, c, ldc, alpha, beta, nr); break;
    case 3: micro_avx512_direct_t<3>(kc, a, lda, b, c, ldc, alpha, beta, nr); break;
    case 2: micro_avx512_direct_t<2>(kc, a, lda, b, c, ldc, alpha, beta, nr); break;
    default: micro_avx512_direct_t<1>(kc, a, lda, b, c, ldc, alpha, beta, nr); break;
  }
}

KN_TARGET_AVX512 void micro_avx512(int64_t kc, const float* a, const float* b, float* c,
                                   int64_t ldc, float alpha, float beta, int mr, int nr) {
  switch (mr) {
    case 14: micro_avx512_t<14>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 13: micro_avx512_t<13>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 12: micro_avx512_t<12>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 11: micro_avx512_t<11>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 10: micro_avx512_t<10>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 9: micro_avx512_t<9>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 8: micro_avx512_t<8>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 7: micro_avx512_t<7>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 6: micro_avx512_t<6>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 5: micro_avx512_t<5>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 4: micro_avx512_t<4>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 3: micro_avx512_t<3>(kc, a, b, c, ldc, alpha, beta, nr); break;
    case 2: micro_avx512_t<2>(kc, a, b, c, ldc, alpha, beta, nr); break;
    default: micro_avx512_t<1>(kc, a, b, c, ldc, alpha, beta, nr); break;
  }
}

const Kernel kAvx512 = {"avx512", kAvx512MR, kAvx512NR, 256, 14 * 24, micro_avx512,
                        pack_a_avx512, pack_b_avx512, micro_avx512_direct, kAvx512DirectMR};

#pragma GCC diagnostic pop

bool cpu_has_avx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("fma");
}
bool cpu_has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

#endif  // KN_GEMM_X86

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

std::atomic<const Kernel*>& kernel_slot() {
  static std::atomic<const Kernel*> slot{[] {
    const char* env = std::getenv("KERASNATIVE_GEMM");
    return pick_kernel(env ? std::string(env) : std::string());
  }()};
  return slot;
}

const Kernel& active_kernel() { return *kernel_slot().load(std::memory_order_relaxed); }

// ---------------------------------------------------------------------------
// Packing buffers: a process-wide pool of 64-byte aligned blocks that only
// grow, so steady-state calls do no heap allocation.
// ---------------------------------------------------------------------------

struct AlignedBuf {
  float* p = nullptr;
  size_t cap = 0;  // floats
  ~AlignedBuf() { if (p) ::operator delete(p, std::align_val_t(64)); }
  float* get(size_t n) {
    if (n > cap) {
      if (p) ::operator delete(p, std::align_val_t(64));
      p = nullptr;
      cap = 0;
      p = static_cast<float*>(::operator new(n * sizeof(float), std::align_val_t(64)));
      cap = n;
    }
    return p;
  }
};

class BufPool {
 public:
  AlignedBuf* acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) { AlignedBuf* b = free_.back(); free_.pop_back(); return b; }
    }
    return new AlignedBuf();
  }
  void release(AlignedBuf* b) {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(b);
  }
 private:
  std::mutex mu_;
  std::vector<AlignedBuf*> free_;
};

BufPool& pool() {
  static BufPool* p = new BufPool();  // never destroyed: may be used during exit
  return *p;
}

struct PooledBuf {
  AlignedBuf* b;
  PooledBuf() : b(pool().acquire()) {}
  ~PooledBuf() { pool().release(b); }
  PooledBuf(const PooledBuf&) = delete;
  PooledBuf& operator=(const PooledBuf&) = delete;
};

// ---------------------------------------------------------------------------
// Driver
// ---------------------------------------------------------------------------

constexpr int kMaxTiles = 64;  // row tiles per MC chunk (MC / MR)

struct GemmCall {
  const Kernel* kern;
  bool trans_a, trans_b;
  int64_t M, N, K;
  float alpha, beta;
  const float* A; int64_t lda;
  const float* B; int64_t ldb;
  float* C; int64_t ldc;
  // derived
  int64_t n_pad;            // N rounded up to NR
  int64_t n_panels;         // n_pad / NR
  int64_t n_kblocks;        // ceil(K / KC)
  bool direct;              // use kern->micro_direct (A not packed)
  int64_t kc_blk;           // K block depth: ceil(K / n_kblocks) rounded up to 8, <= KC
  float* bpack;             // (K, n_pad) packed: kc block b at b*KC*n_pad, panel p at +p*kc*NR
  int64_t rows_per_task;    // multiple of MR
  int64_t panels_per_task;
  int64_t n_row_tasks, n_col_tasks;
  int64_t bpack_groups;     // panel groups per K block for the packing tasks
  int64_t panels_per_group;

  void pack_b_task(int64_t t) {
    const Kernel& kr = *kern;
    const int64_t kb = t / bpack_groups, g = t % bpack_groups;
    const int64_t k0 = kb * kc_blk, kc = std::min<int64_t>(kc_blk, K - k0);
    const int64_t p0 = g * panels_per_group;
    const int64_t p1 = std::min(n_panels, p0 + panels_per_group);
    const int64_t j0 = p0 * kr.nr, nc = std::min(N, p1 * kr.nr) - j0;
    kr.pack_b(trans_b, B, ldb, k0, kc, j0, nc, bpack + k0 * n_pad + p0 * kc * kr.nr);
  }

  void compute_task(int64_t t) {
    const Kernel& kr = *kern;
    const int64_t rt = t / n_col_tasks, ct = t % n_col_tasks;
    const int64_t m0 = rt * rows_per_task, m1 = std::min(M, m0 + rows_per_task);
    const int64_t p0 = ct * panels_per_task;
    const int64_t p1 = std::min(n_panels, p0 + panels_per_task);
    if (direct) {  // A read in place, tiles of mr_direct rows
      for (int64_t kb = 0; kb < n_kblocks; ++kb) {
        const int64_t k0 = kb * kc_blk, kc = std::min<int64_t>(kc_blk, K - k0);
        const float beta_k = kb == 0 ? beta : 1.0f;
        const float* bblock = bpack + k0 * n_pad;  // (kc, n_pad) in NR panels
        for (int64_t i = m0; i < m1; i += kr.mr_direct) {
          const int mr = static_cast<int>(std::min<int64_t>(kr.mr_direct, m1 - i));
          for (int64_t p = p0; p < p1; ++p) {  // at most 2 panels: A tile reused from L1
            const int64_t j = p * kr.nr;
            const int nr = static_cast<int>(std::min<int64_t>(kr.nr, N - j));
            kr.micro_direct(kc, A + i * lda + k0, lda, bblock + p * kc * kr.nr, C + i * ldc + j,
                            ldc, alpha, beta_k, mr, nr);
          }
        }
      }
      return;
    }
    PooledBuf abuf;
    float* ap = abuf.b->get(static_cast<size_t>(kr.mc * kc_blk));  // (MC, KC) in row tiles
    for (int64_t kb = 0; kb < n_kblocks; ++kb) {
      const int64_t k0 = kb * kc_blk, kc = std::min<int64_t>(kc_blk, K - k0);
      const float beta_k = kb == 0 ? beta : 1.0f;
      const float* bblock = bpack + k0 * n_pad;  // (kc, n_pad) in NR panels
      for (int64_t ic = m0; ic < m1; ic += kr.mc) {
        const int64_t mc = std::min<int64_t>(kr.mc, m1 - ic);
        // Row tiles of MR; a short last tile (< MR/2 rows) is merged with the
        // previous one and the pair split evenly (e.g. 128 = 8*14 + 8 + 8).
        int64_t n_tiles = (mc + kr.mr - 1) / kr.mr;
        int64_t split_at = mc, rem = mc - (n_tiles - 1) * kr.mr;
        if (n_tiles >= 2 && rem < kr.mr / 2) split_at = (n_tiles - 2) * kr.mr + (kr.mr + rem + 1) / 2;
        int64_t tile_r0[kMaxTiles + 1];
        int nt = 0;
        for (int64_t r = 0; r < mc; ++nt) {
          tile_r0[nt] = r;
          int64_t next = std::min(mc, r + kr.mr);
          if (r < split_at && next > split_at) next = split_at;
          r = next;
        }
        tile_r0[nt] = mc;
        for (int q = 0; q < nt; ++q) {  // packed tile q at ap + r0 * kc, (kc, rows)
          kr.pack_a(trans_a, A, lda, ic + tile_r0[q], static_cast<int>(tile_r0[q + 1] - tile_r0[q]),
                    k0, kc, ap + tile_r0[q] * kc);
        }
        for (int64_t p = p0; p < p1; ++p) {
          const int64_t j = p * kr.nr;
          const int nr = static_cast<int>(std::min<int64_t>(kr.nr, N - j));
          const float* bp = bblock + p * kc * kr.nr;
          for (int q = 0; q < nt; ++q) {
            const int64_t ir = tile_r0[q];
            const int mr = static_cast<int>(tile_r0[q + 1] - ir);
            kr.micro(kc, ap + ir * kc, bp, C + (ic + ir) * ldc + j, ldc, alpha, beta_k, mr, nr);
          }
        }
      }
    }
  }
};

void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    float* ci = C + i * ldc;
    if (beta == 0.0f) std::fill(ci, ci + N, 0.0f);
    else if (beta != 1.0f) for (int64_t j = 0; j < N; ++j) ci[j] *= beta;
  }
}

void check_args(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, int64_t lda,
                int64_t ldb, int64_t ldc) {
  if (M < 0 || N < 0 || K < 0)
    throw Error("sgemm: negative size M=" + std::to_string(M) + " N=" + std::to_string(N) +
                " K=" + std::to_string(K));
  const int64_t min_lda = std::max<int64_t>(1, trans_a ? M : K);
  const int64_t min_ldb = std::max<int64_t>(1, trans_b ? K : N);
  const int64_t min_ldc = std::max<int64_t>(1, N);
  if (lda < min_lda)
    throw Error("sgemm: lda=" + std::to_string(lda) + " < " + std::to_string(min_lda) +
                (trans_a ? " (A is K x M, trans_a)" : " (A is M x K)"));
  if (ldb < min_ldb)
    throw Error("sgemm: ldb=" + std::to_string(ldb) + " < " + std::to_string(min_ldb) +
                (trans_b ? " (B is N x K, trans_b)" : " (B is K x N)"));
  if (ldc < min_ldc)
    throw Error("sgemm: ldc=" + std::to_string(ldc) + " < " + std::to_string(min_ldc) +
                " (C is M x N)");
}

void gemm_run(bool threaded, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
              float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
              float* C, int64_t ldc) {
  check_args(trans_a, trans_b, M, N, K, lda, ldb, ldc);
  if (M == 0 || N == 0) return;
  if (K == 0 || alpha == 0.0f) { scale_c(M, N, beta, C, ldc); return; }

  GemmCall g;
  g.kern = &active_kernel();
  const Kernel& kr = *g.kern;
  g.trans_a = trans_a; g.trans_b = trans_b;
  g.M = M; g.N = N; g.K = K; g.alpha = alpha; g.beta = beta;
  g.A = A; g.lda = lda; g.B = B; g.ldb = ldb; g.C = C; g.ldc = ldc;
  g.n_panels = (N + kr.nr - 1) / kr.nr;
  g.n_pad = g.n_panels * kr.nr;
  g.n_kblocks = (K + kr.kc - 1) / kr.kc;
  g.direct = kr.micro_direct != nullptr && !trans_a && g.n_panels <= 2;
  g.kc_blk = std::min<int64_t>(kr.kc, ((K + g.n_kblocks - 1) / g.n_kblocks + 7) / 8 * 8);

  // Task grid over C, a function of (M, N, K, kernel) only: about one task per
  // 2^20 multiply-adds, at most 32, split over rows first.
  const int64_t row_tiles = (M + kr.mr - 1) / kr.mr;
  const double work = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  const int64_t want = static_cast<int64_t>(std::min(32.0, std::max(1.0, work / 1048576.0)));
  int64_t nrt = std::min(want, row_tiles);
  int64_t nct = std::min(g.n_panels, (want + nrt - 1) / nrt);
  const int64_t tiles_per_task = (row_tiles + nrt - 1) / nrt;
  g.rows_per_task = tiles_per_task * kr.mr;
  g.n_row_tasks = (row_tiles + tiles_per_task - 1) / tiles_per_task;
  g.panels_per_task = (g.n_panels + nct - 1) / nct;
  g.n_col_tasks = (g.n_panels + g.panels_per_task - 1) / g.panels_per_task;

  // Packing tasks for op(B): K blocks x groups of 16 panels.
  g.panels_per_group = std::min<int64_t>(16, g.n_panels);
  g.bpack_groups = (g.n_panels + g.panels_per_group - 1) / g.panels_per_group;

  PooledBuf bbuf;
  g.bpack = bbuf.b->get(static_cast<size_t>(K * g.n_pad));
  GemmCall* gp = &g;
  const int64_t n_pack_tasks = g.n_kblocks * g.bpack_groups;
  const int64_t n_tasks = g.n_row_tasks * g.n_col_tasks;
  if (threaded && num_threads() > 1) {
    if (K * g.n_pad >= (1 << 20)) {
      parallel_for(n_pack_tasks, [gp](int64_t t) { gp->pack_b_task(t); });
    } else {
      for (int64_t t = 0; t < n_pack_tasks; ++t) g.pack_b_task(t);
    }
    parallel_for(n_tasks, [gp](int64_t t) { gp->compute_task(t); });
  } else {
    for (int64_t t = 0; t < n_pack_tasks; ++t) g.pack_b_task(t);
    for (int64_t t = 0; t < n_tasks; ++t) g.compute_task(t);
  }
}

}  // namespace

// Test/benchmark hook (not in gemm.h): force a kernel by name; returns false
// (and keeps the current one) if the name is unknown or the CPU lacks it.
bool sgemm_set_kernel(const char* name) {
  const std::string want = name ? name : "";
  const Kernel* k = pick_kernel(want);
  if (!want.empty() && want != k->name) return false;
  kernel_slot().store(k);
  return true;
}

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
           int64_t ldc) {
  gemm_run(true, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void sgemm_st(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
              const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
              int64_t ldc) {
  gemm_run(false, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

const char* sgemm_kernel_name() { return active_kernel().name; }

}  // namespace kn
