// Single-precision GEMM, row-major, GotoBLAS/BLIS-style.
//   * op(B) is packed once per call into NR-wide column panels grouped by
//     KC-deep blocks of K; op(A) is packed into MR-row tiles, per task in
//     MC x KC blocks (tall problems) or once for all tasks (several column tasks).
//   * For small N (<= 2 panels) packing is not amortised: A^T is read in place
//     (k step lda), A rows are read in place by a dedicated AVX-512 kernel, and
//     B (not transposed) is read in place by the AVX-512 kernels.
//   * The output C is split into a grid of tasks (row blocks x column blocks)
//     whose shape depends only on (M, N, K) and the kernel, never on the number
//     of threads. Each C element accumulates its K blocks in a fixed order, so
//     results are bitwise identical for any thread count, and sgemm_st gives the
//     same bits as sgemm. When the grid has few tasks and K is long, the K blocks
//     are split into a fixed number of parts whose partial products are added in
//     a fixed order afterwards (still independent of the thread count).
//   * A short last row tile is merged with the previous one and the pair split
//     evenly (M = 128 with MR = 14: 8 x 14 + 8 + 8), avoiding a 2-row tile.
// Kernels (selected at run time; the package is built without -march):
//   avx512:  14x32 tile (28 zmm accumulators), 8x32 for A rows in place,
//            AVX-512 transposing packers;
//   avx2:    6x16 tile (12 ymm accumulators), scalar packers;
//   generic: 6x8 tile, GCC/Clang vector extensions (plain loops otherwise).
// KERASNATIVE_GEMM=generic|avx2|avx512 forces a kernel (falling back to the best
// one the CPU has). sgemm_set_kernel (below, not in gemm.h) does the same for
// tests and benchmarks.
#include "gemm.h"
#include "gemm_kernels.h"

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

namespace kn {
namespace {

using gemm_detail::Kernel;
using gemm_detail::pick_kernel;

// Kernel named by KERASNATIVE_GEMM, else the best one.
const Kernel* default_kernel() {
  const char* env = std::getenv("KERASNATIVE_GEMM");
  return pick_kernel(env ? std::string(env) : std::string());
}

std::atomic<const Kernel*>& kernel_slot() {
  static std::atomic<const Kernel*> slot{default_kernel()};
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

// Row tiling of op(A)/C: tiles of MR rows; when the last tile would be short
// (< MR/2 rows) it is merged with the previous one and the pair split evenly
// (e.g. M = 128, MR = 14: 8 tiles of 14, then 8 + 8).
struct RowTiling {
  int64_t M = 0, mr = 1, n_tiles = 0, last_start = 0;
  RowTiling() = default;
  RowTiling(int64_t M_, int64_t mr_) : M(M_), mr(mr_) {
    n_tiles = (M + mr - 1) / mr;
    const int64_t rem = M - (n_tiles - 1) * mr;
    last_start = (n_tiles - 1) * mr;
    if (n_tiles >= 2 && rem < mr / 2) last_start = (n_tiles - 2) * mr + (mr + rem + 1) / 2;
  }
  // First row of tile t (t == n_tiles gives M).
  int64_t start(int64_t t) const {
    return t >= n_tiles ? M : (t == n_tiles - 1 ? last_start : t * mr);
  }
};

struct GemmCall {
  const Kernel* kern;
  bool trans_a, trans_b;
  int64_t M, N, K;
  float alpha, beta;
  const float* A; int64_t lda;
  const float* B; int64_t ldb;
  float* C; int64_t ldc;

  RowTiling tiles;
  int64_t n_panels;         // ceil(N / NR)
  int64_t n_pad;            // n_panels * NR
  int64_t n_kblocks;        // ceil(K / KC)
  int64_t kc_blk;           // K block depth: ceil(K / n_kblocks) rounded up to 8, <= KC
  // How op(A) reaches the micro-kernel: packed MR-row tiles; A^T (stored K x M)
  // read in place; A (M x K) rows read in place by micro_direct. In-place modes
  // are used for small N (<= 2 panels), where packing would not be amortised.
  enum AMode { kAPacked, kATransInPlace, kARowsInPlace } a_mode;
  bool b_inplace;           // op(B) = B (K x N) read in place (small N or one row tile)
  bool global_a;            // op(A) packed once for all tasks (several column tasks)
  // bpack: (K, n_pad): K block kb at kb*kc_blk*n_pad, panel p at + p*kc*NR, (kc, NR).
  float* bpack;
  // apack (global_a): (K, M): K block kb at kb*kc_blk*M, tile t at + start(t)*kc, (kc, rows).
  float* apack;
  int64_t tiles_per_task, panels_per_task, n_row_tasks, n_col_tasks;
  int64_t panels_per_group, b_groups;  // B packing tasks: K blocks x panel groups
  int64_t tiles_per_group, a_groups;   // A packing tasks: K blocks x tile groups
  int64_t k_splits = 1;     // > 1: few output tasks, K blocks split into this many parts
  int64_t kblocks_per_split;
  float* partial;           // k_splits x (M, N) partial products

  void kblock(int64_t kb, int64_t* k0, int64_t* kc) const {
    *k0 = kb * kc_blk;
    *kc = std::min(kc_blk, K - *k0);
  }

  void pack_b_task(int64_t t) {
    const Kernel& kr = *kern;
    int64_t k0, kc;
    kblock(t / b_groups, &k0, &kc);
    const int64_t p0 = (t % b_groups) * panels_per_group;
    const int64_t p1 = std::min(n_panels, p0 + panels_per_group);
    const int64_t j0 = p0 * kr.nr, nc = std::min(N, p1 * kr.nr) - j0;
    kr.pack_b(trans_b, B, ldb, k0, kc, j0, nc, bpack + k0 * n_pad + p0 * kc * kr.nr);
  }

  void pack_a_task(int64_t t) {
    int64_t k0, kc;
    kblock(t / a_groups, &k0, &kc);
    const int64_t t0 = (t % a_groups) * tiles_per_group;
    const int64_t t1 = std::min(tiles.n_tiles, t0 + tiles_per_group);
    float* base = apack + k0 * M;
    for (int64_t q = t0; q < t1; ++q) {
      const int64_t r0 = tiles.start(q);
      kern->pack_a(trans_a, A, lda, r0, static_cast<int>(tiles.start(q + 1) - r0), k0, kc,
                   base + r0 * kc);
    }
  }

  // Panel p of B for K block (k0, kc) and its step between rows.
  const float* b_panel(int64_t k0, int64_t kc, int64_t p, int64_t* b_ks) const {
    const int nr = kern->nr;
    if (b_inplace) { *b_ks = ldb; return B + k0 * ldb + p * nr; }
    *b_ks = nr;
    return bpack + k0 * n_pad + p * kc * nr;
  }

  // Output target of a compute task: C itself, or (K split) a private partial
  // product. K blocks [kb0, kb1) are accumulated in order.
  struct Target { float* c; int64_t ldc; float alpha, beta; int64_t kb0, kb1; };

  void compute_task(int64_t t) {
    if (k_splits == 1) {
      compute_tile_range(t, Target{C, ldc, alpha, beta, 0, n_kblocks});
    } else {  // task t: output task t / k_splits, K part s (alpha = 1, beta = 0)
      const int64_t s = t % k_splits;
      const int64_t kb0 = s * kblocks_per_split;
      compute_tile_range(t / k_splits, Target{partial + s * M * N, N, 1.0f, 0.0f, kb0,
                                              std::min(n_kblocks, kb0 + kblocks_per_split)});
    }
  }

  // C = alpha * (P_0 + P_1 + ...) + beta * C, parts added in a fixed order.
  void reduce_partials() {
    for (int64_t i = 0; i < M; ++i) {
      float* ci = C + i * ldc;
      for (int64_t j = 0; j < N; ++j) {
        float sum = 0.0f;
        for (int64_t s = 0; s < k_splits; ++s) sum += partial[s * M * N + i * N + j];
        ci[j] = beta == 0.0f ? alpha * sum : alpha * sum + beta * ci[j];
      }
    }
  }

  void compute_tile_range(int64_t t, const Target& tg) {
    const Kernel& kr = *kern;
    const int64_t t0 = (t / n_col_tasks) * tiles_per_task;
    const int64_t t1 = std::min(tiles.n_tiles, t0 + tiles_per_task);
    const int64_t p0 = (t % n_col_tasks) * panels_per_task;
    const int64_t p1 = std::min(n_panels, p0 + panels_per_task);
    if (a_mode == kARowsInPlace) {
      compute_rows_in_place(tiles.start(t0), tiles.start(t1), p0, p1, tg);
      return;
    }
    PooledBuf abuf;
    const int64_t chunk_tiles = kr.mc / kr.mr;
    float* ap_local = (a_mode == kAPacked && !global_a)
                          ? abuf.b->get(static_cast<size_t>(kr.mc * kc_blk)) : nullptr;
    for (int64_t kb = tg.kb0; kb < tg.kb1; ++kb) {
      int64_t k0, kc;
      kblock(kb, &k0, &kc);
      const float beta_k = kb == tg.kb0 ? tg.beta : 1.0f;
      for (int64_t c0 = t0; c0 < t1; c0 += chunk_tiles) {  // MC chunk of tiles [c0, c1)
        const int64_t c1 = std::min(t1, c0 + chunk_tiles);
        const int64_t row0 = tiles.start(c0);
        // Row r of the chunk starts at ap + (r - row0) * a_rs; k step a_ks (per tile).
        const float* ap;
        int64_t a_rs;
        if (a_mode == kATransInPlace) {  // A stored (K, M): a[k * lda + i]
          ap = A + k0 * lda + row0;
          a_rs = 1;
        } else if (global_a) {
          ap = apack + k0 * M + row0 * kc;
          a_rs = kc;
        } else {
          for (int64_t q = c0; q < c1; ++q) {
            const int64_t r0 = tiles.start(q);
            kr.pack_a(trans_a, A, lda, r0, static_cast<int>(tiles.start(q + 1) - r0), k0, kc,
                      ap_local + (r0 - row0) * kc);
          }
          ap = ap_local;
          a_rs = kc;
        }
        for (int64_t p = p0; p < p1; ++p) {
          const int64_t j = p * kr.nr;
          const int nr = static_cast<int>(std::min<int64_t>(kr.nr, N - j));
          int64_t b_ks;
          const float* bp = b_panel(k0, kc, p, &b_ks);
          for (int64_t q = c0; q < c1; ++q) {
            const int64_t r0 = tiles.start(q);
            const int mr = static_cast<int>(tiles.start(q + 1) - r0);
            const int64_t a_ks = a_mode == kATransInPlace ? lda : mr;
            kr.micro(kc, ap + (r0 - row0) * a_rs, bp, tg.c + r0 * tg.ldc + j, tg.ldc, tg.alpha, beta_k, mr, nr,
                     a_ks, b_ks);
          }
        }
      }
    }
  }

  // A (M, K) read in place by micro_direct, tiles of mr_direct rows over [m0, m1).
  void compute_rows_in_place(int64_t m0, int64_t m1, int64_t p0, int64_t p1, const Target& tg) {
    const Kernel& kr = *kern;
    for (int64_t kb = tg.kb0; kb < tg.kb1; ++kb) {
      int64_t k0, kc;
      kblock(kb, &k0, &kc);
      const float beta_k = kb == tg.kb0 ? tg.beta : 1.0f;
      for (int64_t i = m0; i < m1; i += kr.mr_direct) {
        const int mr = static_cast<int>(std::min<int64_t>(kr.mr_direct, m1 - i));
        for (int64_t p = p0; p < p1; ++p) {  // few panels: the A tile stays in L1
          const int64_t j = p * kr.nr;
          const int nr = static_cast<int>(std::min<int64_t>(kr.nr, N - j));
          int64_t b_ks;
          const float* bp = b_panel(k0, kc, p, &b_ks);
          kr.micro_direct(kc, A + i * lda + k0, lda, bp, tg.c + i * tg.ldc + j, tg.ldc, tg.alpha, beta_k, mr,
                          nr, b_ks);
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
  g.tiles = RowTiling(M, kr.mr);
  g.n_panels = (N + kr.nr - 1) / kr.nr;
  g.n_pad = g.n_panels * kr.nr;
  g.n_kblocks = (K + kr.kc - 1) / kr.kc;
  g.kc_blk = std::min<int64_t>(kr.kc, ((K + g.n_kblocks - 1) / g.n_kblocks + 7) / 8 * 8);
  const bool small_n = g.n_panels <= 2;
  g.a_mode = !small_n ? GemmCall::kAPacked
             : trans_a ? GemmCall::kATransInPlace
             : kr.micro_direct ? GemmCall::kARowsInPlace : GemmCall::kAPacked;
  // B read in place when packing it would not pay: small N, or a single row
  // tile (every B element is then used once).
  g.b_inplace = (small_n || g.tiles.n_tiles == 1) && !trans_b &&
                (kr.b_inplace == 2 || (kr.b_inplace == 1 && N % kr.nr == 0));
  const bool a_in_place = g.a_mode != GemmCall::kAPacked;

  // Task grid over C, a function of (M, N, K, kernel) only: about one task per
  // 2^20 multiply-adds, at most 32. Tall problems split rows only (each task
  // packs its own A blocks); otherwise row tasks keep >= 8 tiles so B panels
  // are reused from L1, the rest of the split goes to columns and op(A) is
  // packed once for all tasks.
  const int64_t row_tiles = g.tiles.n_tiles;
  const double work = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  const int64_t want = static_cast<int64_t>(std::min(32.0, std::max(1.0, work / 1048576.0)));
  int64_t nrt, nct;
  if (g.a_mode == GemmCall::kARowsInPlace) {  // rows only: both panels of a tile in one task
    nrt = std::min(want, row_tiles);
    nct = 1;
  } else if (row_tiles >= 8 * want) {
    nrt = want;
    nct = 1;
  } else {
    nrt = std::max<int64_t>(1, row_tiles / 8);
    nct = std::min(g.n_panels, (want + nrt - 1) / nrt);
  }
  g.tiles_per_task = (row_tiles + nrt - 1) / nrt;
  g.n_row_tasks = (row_tiles + g.tiles_per_task - 1) / g.tiles_per_task;
  g.panels_per_task = (g.n_panels + nct - 1) / nct;
  g.n_col_tasks = (g.n_panels + g.panels_per_task - 1) / g.panels_per_task;
  g.global_a = !a_in_place && g.n_col_tasks > 1;

  // Packing tasks: K blocks x groups of 16 B panels / 16 A tiles.
  g.panels_per_group = std::min<int64_t>(16, g.n_panels);
  g.b_groups = (g.n_panels + g.panels_per_group - 1) / g.panels_per_group;
  g.tiles_per_group = std::min<int64_t>(16, row_tiles);
  g.a_groups = (row_tiles + g.tiles_per_group - 1) / g.tiles_per_group;

  // Few output tasks but a long K (e.g. weight gradients 9 x 32 x 86528): split
  // the K blocks into a fixed number of parts summed afterwards in order.
  const int64_t n_out_tasks = g.n_row_tasks * g.n_col_tasks;
  if (n_out_tasks < 8 && g.n_kblocks >= 2 && work >= 8.0 * 1048576.0) {
    const int64_t s = std::min(g.n_kblocks, std::min<int64_t>(
        (8 + n_out_tasks - 1) / n_out_tasks, static_cast<int64_t>(work / 4194304.0)));
    g.kblocks_per_split = (g.n_kblocks + s - 1) / s;
    g.k_splits = (g.n_kblocks + g.kblocks_per_split - 1) / g.kblocks_per_split;
  }

  PooledBuf bbuf, abuf, pbuf;
  g.partial = g.k_splits > 1 ? pbuf.b->get(static_cast<size_t>(g.k_splits * M * N)) : nullptr;
  g.bpack = g.b_inplace ? nullptr : bbuf.b->get(static_cast<size_t>(K * g.n_pad));
  g.apack = g.global_a ? abuf.b->get(static_cast<size_t>(K * M)) : nullptr;
  GemmCall* gp = &g;
  const int64_t n_btasks = g.b_inplace ? 0 : g.n_kblocks * g.b_groups;
  const int64_t n_atasks = g.global_a ? g.n_kblocks * g.a_groups : 0;
  const int64_t n_tasks = n_out_tasks * g.k_splits;
  const bool par = threaded && num_threads() > 1;
  // Packing is pure copying: splitting it never changes results. It is only
  // worth a parallel pass when large.
  if (par && K * (g.n_pad + (g.global_a ? M : 0)) >= (1 << 20)) {
    parallel_for(n_btasks + n_atasks, [gp, n_btasks](int64_t t) {
      if (t < n_btasks) gp->pack_b_task(t); else gp->pack_a_task(t - n_btasks);
    });
  } else {
    for (int64_t t = 0; t < n_btasks; ++t) g.pack_b_task(t);
    for (int64_t t = 0; t < n_atasks; ++t) g.pack_a_task(t);
  }
  if (par) {
    parallel_for(n_tasks, [gp](int64_t t) { gp->compute_task(t); });
  } else {
    for (int64_t t = 0; t < n_tasks; ++t) g.compute_task(t);
  }
  if (g.k_splits > 1) g.reduce_partials();
}

}  // namespace

// Test/benchmark hook (not in gemm.h): force a kernel by name ("generic",
// "avx2", "avx512"); null re-applies the default (KERASNATIVE_GEMM, else the
// best). Returns false, keeping the current kernel, if the name is unknown or
// the CPU lacks it. Not meant to be called while products are running.
bool sgemm_set_kernel(const char* name) {
  if (name == nullptr) { kernel_slot().store(default_kernel()); return true; }
  const std::string want = name;
  const Kernel* k = pick_kernel(want);
  if (want != k->name) return false;
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
