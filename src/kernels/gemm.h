// Single-precision matrix product, row-major:
//   C(M,N) = alpha * op(A)(M,K) * op(B)(K,N) + beta * C
// op(A) = A (M x K, leading dim lda) or A^T when trans_a (A stored K x M).
// Kernels for AVX-512 / AVX2+FMA are chosen at run time (the package is
// compiled with R's plain flags). Multithreaded through kn::parallel_for; the
// result is bitwise identical whatever the number of threads.
#pragma once
#include <cstdint>

namespace kn {

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
           float* C, int64_t ldc);

// Same, single-threaded (for callers that already parallelise outside).
void sgemm_st(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
              const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
              float* C, int64_t ldc);

// Name of the kernel in use: "avx512", "avx2" or "generic".
const char* sgemm_kernel_name();

// Force a kernel ("generic", "avx2", "avx512"); nullptr restores the default
// (KERASNATIVE_GEMM or the best the CPU has). Returns false if unavailable.
bool sgemm_set_kernel(const char* name);

}  // namespace kn
