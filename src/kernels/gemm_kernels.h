// Internal interface between the GEMM driver (gemm.cpp) and its packers and
// micro-kernels (gemm_kernels.cpp). Not part of the engine API.
#pragma once
#include <cstdint>
#include <string>

namespace kn {
namespace gemm_detail {

// ---------------------------------------------------------------------------
// Kernel description
// ---------------------------------------------------------------------------

// Micro-kernel: C(mr x nr) = alpha * Ap(kc x mr) * Bp(kc x NR)[:, :nr] + beta * C.
// Ap: packed A panel, a[k * mr + i]; Bp: packed B panel, b[k * NR + j]
// (64-byte aligned, zero padded to NR). beta == 0 never reads C.
// a_ks / b_ks: step between consecutive k (MR / NR when packed; lda for A^T
// read in place, ldb for B read in place).
using MicroFn = void (*)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc,
                         float alpha, float beta, int mr, int nr, int64_t a_ks, int64_t b_ks);
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
                               int64_t ldc, float alpha, float beta, int mr, int nr, int64_t b_ks);

struct Kernel {
  const char* name;
  int mr, nr;          // register tile
  int64_t kc, mc;      // cache blocks (mc is a multiple of mr)
  MicroFn micro;
  PackAFn pack_a;
  PackBFn pack_b;
  MicroDirectFn micro_direct;  // may be null
  int mr_direct;               // rows per tile of micro_direct
  // micro kernels read B rows in place (b_ks = ldb): 0 never, 1 when N is a
  // multiple of NR (unaligned rows), 2 always (masked loads).
  int b_inplace;
};

// Best kernel the CPU supports, at most `want` ("avx512" > "avx2" > "generic";
// empty = best).
const Kernel* pick_kernel(const std::string& want);

}  // namespace gemm_detail
}  // namespace kn
