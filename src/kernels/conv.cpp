// Convolution, depthwise convolution and pooling kernels (see conv.h).
#include "conv.h"

#include <algorithm>
#include <mutex>

#include "gemm.h"
#include "parallel.h"

namespace kn {

namespace {

constexpr int64_t kTasksPerBatch = 16;       // samples are split into at most this many tasks
constexpr int64_t kColBlockFloats = 262144;  // im2col block budget (1 MB)

// Per-worker buffer sets living in `work` from index `base`: buffer b of
// worker w is work[base + w * shapes.size() + b]. Sized before the parallel
// region; a task borrows any free set (results do not depend on which). If
// more tasks run at once than there are sets, the extra task allocates its own.
class WorkerPool {
 public:
  WorkerPool(ConvWork& work, size_t base, int64_t n_workers, const std::vector<int64_t>& sizes)
      : work_(work), base_(base), sizes_(sizes) {
    const size_t need = base + static_cast<size_t>(n_workers) * sizes.size();
    if (work_.size() < need) work_.resize(need);  // before any pointer into it is taken
    for (int64_t w = 0; w < n_workers; ++w) {
      for (size_t b = 0; b < sizes.size(); ++b) {
        Tensor& t = work_[base_ + w * sizes.size() + b];
        if (t.size() < sizes[b]) t.resize({sizes[b]});
      }
      free_.push_back(static_cast<int>(w));
    }
  }
  int acquire() {
    std::lock_guard<std::mutex> lock(m_);
    if (free_.empty()) return -1;
    const int w = free_.back();
    free_.pop_back();
    return w;
  }
  void release(int w) {
    if (w < 0) return;
    std::lock_guard<std::mutex> lock(m_);
    free_.push_back(w);
  }
  float* buf(int w, size_t b) { return work_[base_ + w * sizes_.size() + b].ptr(); }
  const std::vector<int64_t>& sizes() const { return sizes_; }

 private:
  ConvWork& work_;
  size_t base_;
  std::vector<int64_t> sizes_;
  std::vector<int> free_;
  std::mutex m_;
};

// Buffer set borrowed by one task.
struct Borrow {
  WorkerPool& pool;
  int w;
  std::vector<std::vector<float>> own;  // used only when the pool was empty
  explicit Borrow(WorkerPool& p) : pool(p), w(p.acquire()) {
    if (w < 0)
      for (int64_t s : p.sizes()) own.emplace_back(static_cast<size_t>(s));
  }
  ~Borrow() { pool.release(w); }
  float* operator[](size_t b) { return w >= 0 ? pool.buf(w, b) : own[b].data(); }
};

// Task split (depends only on the batch size) and im2col row block size.
struct Plan {
  int64_t N, P, K, F, per_task, n_tasks, block_rows, n_workers;
  bool single;    // tasks run in parallel, each with a single-threaded sgemm
  bool identity;  // 1x1x1 kernel, stride 1, no padding: the input is its own im2col
};

Plan plan(const ConvGeom& g, int64_t N) {
  Plan p;
  p.N = N; p.P = g.out_pixels(); p.K = g.K(); p.F = g.F;
  p.per_task = std::max<int64_t>(1, (N + kTasksPerBatch - 1) / kTasksPerBatch);
  p.n_tasks = n_chunks(N, p.per_task);
  // Rows per im2col block: the budget, but never more than a task's rows, so
  // the worker buffers (block_rows, K) and (block_rows, F) are sized by use.
  p.block_rows = std::min(std::max<int64_t>(1, kColBlockFloats / p.K), p.per_task * p.P);
  p.single = p.n_tasks > 1;
  p.n_workers = std::min<int64_t>(p.n_tasks, std::max(1, num_threads()));
  auto unit = [](const WindowAxis& a) { return a.k == 1 && a.stride == 1 && a.pad_before == 0 && a.out == a.in; };
  p.identity = unit(g.d) && unit(g.h) && unit(g.w);
  return p;
}

void gemm(bool single, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (single) sgemm_st(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
  else sgemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace

void conv_forward(const ConvGeom& g, int64_t N, const float* x, const float* w, const float* bias, bool relu,
                  bool add, float* y, ConvWork& work) {
  const Plan p = plan(g, N);
  // Worker buffers (same indices as conv_backward's): col block (R, K).
  WorkerPool pool(work, 2, p.n_workers, p.identity ? std::vector<int64_t>{} : std::vector<int64_t>{p.block_rows * p.K});
  parallel_for(p.n_tasks, [&](int64_t t) {
    const int64_t r_begin = t * p.per_task * p.P;
    const int64_t r_end = std::min(p.N, (t + 1) * p.per_task) * p.P;
    Borrow bufs(pool);
    for (int64_t r0 = r_begin; r0 < r_end; r0 += p.block_rows) {
      const int64_t r1 = std::min(r_end, r0 + p.block_rows), rr = r1 - r0;
      const float* col;  // (rr, K)
      if (p.identity) {
        col = x + r0 * p.K;
      } else {
        im2col_rows(g, x, r0, r1, bufs[0]);
        col = bufs[0];
      }
      float* yb = y + r0 * p.F;  // (rr, F)
      gemm(p.single, false, false, rr, p.F, p.K, col, p.K, w, p.F, add ? 1.0f : 0.0f, yb, p.F);
      bias_relu_rows(yb, rr, p.F, bias, relu);  // fused, branch-free
    }
  });
}

void conv_backward(const ConvGeom& g, int64_t N, const float* x, const float* w, const float* dy,
                   const float* relu_y, float* dx, float* dw, float* db, ConvWork& work) {
  const Plan p = plan(g, N);
  if (!dw && !db && !dx) return;
  // Worker buffers: col (R, K), dz (R, F), dcol (R, K). Created first: it may
  // grow `work`, which would invalidate references taken before.
  const int64_t colf = p.identity ? 0 : p.block_rows * p.K;
  WorkerPool pool(work, 2, p.n_workers, {colf, relu_y ? p.block_rows * p.F : 0, colf});
  Tensor& dw_part = work[0];  // (T, K, F) per-task partial dW
  Tensor& db_part = work[1];  // (T, F) per-task partial db
  if (dw) dw_part.resize({p.n_tasks, p.K, p.F});
  if (db) db_part.resize({p.n_tasks, p.F});
  parallel_for(p.n_tasks, [&](int64_t t) {
    const int64_t r_begin = t * p.per_task * p.P;
    const int64_t r_end = std::min(p.N, (t + 1) * p.per_task) * p.P;
    Borrow bufs(pool);
    float* dwt = dw ? dw_part.ptr() + t * p.K * p.F : nullptr;  // (K, F)
    float* dbt = db ? db_part.ptr() + t * p.F : nullptr;        // (F)
    if (dbt) std::fill(dbt, dbt + p.F, 0.0f);
    bool first = true;
    for (int64_t r0 = r_begin; r0 < r_end; r0 += p.block_rows) {
      const int64_t r1 = std::min(r_end, r0 + p.block_rows), rr = r1 - r0;
      const float* dz = dy + r0 * p.F;  // (rr, F): gradient before the activation
      if (relu_y) {
        relu_backward(relu_y + r0 * p.F, dz, bufs[1], rr * p.F);
        dz = bufs[1];
      }
      if (dwt) {
        const float* col;  // (rr, K)
        if (p.identity) {
          col = x + r0 * p.K;
        } else {
          im2col_rows(g, x, r0, r1, bufs[0]);
          col = bufs[0];
        }
        // dW (K, F) (+)= col^T (K, rr) * dz (rr, F)
        gemm(p.single, true, false, p.K, p.F, rr, col, p.K, dz, p.F, first ? 0.0f : 1.0f, dwt, p.F);
      }
      if (dbt)
        for (int64_t r = 0; r < rr; ++r) add_scaled(dbt, dz + r * p.F, 1.0f, p.F);
      if (dx) {
        if (p.identity) {
          // dx (rr, K) += dz (rr, F) * W^T (F, K)
          gemm(p.single, false, true, rr, p.K, p.F, dz, p.F, w, p.F, 1.0f, dx + r0 * p.K, p.K);
        } else {
          gemm(p.single, false, true, rr, p.K, p.F, dz, p.F, w, p.F, 0.0f, bufs[2], p.K);
          col2im_rows_add(g, bufs[2], r0, r1, dx);
        }
      }
      first = false;
    }
  });
  // Sum the partials in task order (fixed), parallel over disjoint element ranges.
  const int64_t T = p.n_tasks;
  if (dw) {
    const int64_t KF = p.K * p.F, grain = 4096;
    parallel_for(n_chunks(KF, grain), [&](int64_t c) {
      const int64_t lo = c * grain, hi = std::min(KF, lo + grain);
      for (int64_t t = 0; t < T; ++t) {
        const float* src = dw_part.ptr() + t * KF;  // (K, F)
        for (int64_t e = lo; e < hi; ++e) dw[e] += src[e];
      }
    });
  }
  if (db)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t f = 0; f < p.F; ++f) db[f] += db_part.data[t * p.F + f];
}

// ---------------------------------------------------------------- depthwise
namespace {
int64_t depthwise_block(const ConvGeom& g, int64_t rows) {
  return std::min<int64_t>(rows, std::max<int64_t>(1, kColBlockFloats / g.K()));
}
}  // namespace

void depthwise_forward(const ConvGeom& g, int64_t N, int64_t dm, const float* x, const float* dk, float* z,
                       ConvWork& work) {
  const int64_t R = N * g.out_pixels(), K = g.K(), T = g.taps(), C = g.C, M = C * dm;
  const int64_t B = depthwise_block(g, R);
  if (work.empty()) work.resize(1);
  Tensor& col = work[0];  // (B, K)
  col.resize({B, K});
  for (int64_t r0 = 0; r0 < R; r0 += B) {
    const int64_t r1 = std::min(R, r0 + B), rr = r1 - r0;
    im2col_rows(g, x, r0, r1, col.ptr());
    float* zb = z + r0 * M;  // (rr, M)
    parallel_for(n_chunks(rr, 64), [&](int64_t t0) {
      const int64_t lo = t0 * 64, hi = std::min(rr, lo + 64);
      for (int64_t r = lo; r < hi; ++r) {
        float* zr = zb + r * M;  // (C * dm)
        std::fill(zr, zr + M, 0.0f);
        for (int64_t t = 0; t < T; ++t)
          for (int64_t c = 0; c < C; ++c) {
            const float v = col.data[r * K + t * C + c];
            for (int64_t m = 0; m < dm; ++m) zr[c * dm + m] += v * dk[(t * C + c) * dm + m];
          }
      }
    });
  }
}

void depthwise_backward(const ConvGeom& g, int64_t N, int64_t dm, const float* x, const float* dk,
                        const float* dz, float* dx, float* ddk, ConvWork& work) {
  const int64_t R = N * g.out_pixels(), K = g.K(), T = g.taps(), C = g.C, M = C * dm;
  const int64_t B = depthwise_block(g, R);
  if (work.size() < 2) work.resize(2);
  Tensor& col = work[0];   // (B, K)
  Tensor& dcol = work[1];  // (B, K)
  if (ddk) col.resize({B, K});
  if (dx) dcol.resize({B, K});
  for (int64_t r0 = 0; r0 < R; r0 += B) {
    const int64_t r1 = std::min(R, r0 + B), rr = r1 - r0;
    const float* dzb = dz + r0 * M;  // (rr, M)
    if (ddk) {
      im2col_rows(g, x, r0, r1, col.ptr());
      for (int64_t r = 0; r < rr; ++r)
        for (int64_t t = 0; t < T; ++t)
          for (int64_t c = 0; c < C; ++c) {
            const float v = col.data[r * K + t * C + c];
            for (int64_t m = 0; m < dm; ++m) ddk[(t * C + c) * dm + m] += v * dzb[r * M + c * dm + m];
          }
    }
    if (dx) {
      parallel_for(n_chunks(rr, 64), [&](int64_t t0) {
        const int64_t lo = t0 * 64, hi = std::min(rr, lo + 64);
        for (int64_t r = lo; r < hi; ++r)
          for (int64_t t = 0; t < T; ++t)
            for (int64_t c = 0; c < C; ++c) {
              float s = 0.0f;
              for (int64_t m = 0; m < dm; ++m) s += dzb[r * M + c * dm + m] * dk[(t * C + c) * dm + m];
              dcol.data[r * K + t * C + c] = s;
            }
      });
      col2im_rows_add(g, dcol.ptr(), r0, r1, dx);
    }
  }
}

// ---------------------------------------------------------------- pooling
namespace {
// Samples per parallel task so that each task has at least ~16K values.
int64_t sample_grain(int64_t per_sample) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, per_sample)); }

// Clipped window [lo, hi) of output o along a (pool windows: dilation 1).
void clip_window(const WindowAxis& a, int64_t o, int64_t& lo, int64_t& hi) {
  lo = std::max<int64_t>(0, o * a.stride - a.pad_before);
  hi = std::min(a.in, o * a.stride - a.pad_before + a.k);
}

// Calls fn(od, oh, ow, d0, d1, h0, h1, w0, w1) for every output of one sample.
template <class Fn>
void for_windows(const ConvGeom& g, Fn fn) {
  for (int64_t od = 0; od < g.d.out; ++od) {
    int64_t d0, d1;
    clip_window(g.d, od, d0, d1);
    for (int64_t oh = 0; oh < g.h.out; ++oh) {
      int64_t h0, h1;
      clip_window(g.h, oh, h0, h1);
      for (int64_t ow = 0; ow < g.w.out; ++ow) {
        int64_t w0, w1;
        clip_window(g.w, ow, w0, w1);
        fn((od * g.h.out + oh) * g.w.out + ow, d0, d1, h0, h1, w0, w1);
      }
    }
  }
}
}  // namespace

void pool_forward(const ConvGeom& g, int64_t N, bool is_max, const float* x, float* y, int32_t* arg) {
  const int64_t C = g.C, in_size = g.in_size(), out_size = g.out_pixels() * C;
  const int64_t grain = sample_grain(out_size), H = g.h.in, W = g.w.in;
  parallel_for(n_chunks(N, grain), [&](int64_t task) {
    const int64_t n1 = std::min(N, (task + 1) * grain);
    for (int64_t n = task * grain; n < n1; ++n) {
      const float* xs = x + n * in_size;  // (D, H, W, C)
      float* ys = y + n * out_size;       // (OD, OH, OW, C)
      int32_t* as = is_max ? arg + n * out_size : nullptr;
      for_windows(g, [&](int64_t p, int64_t d0, int64_t d1, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
        float* yp = ys + p * C;  // (C)
        if (is_max) {
          int32_t* ap = as + p * C;  // (C)
          const int64_t first = ((d0 * H + h0) * W + w0) * C;
          for (int64_t c = 0; c < C; ++c) { yp[c] = xs[first + c]; ap[c] = static_cast<int32_t>(first + c); }
          for (int64_t id = d0; id < d1; ++id)
            for (int64_t ih = h0; ih < h1; ++ih)
              for (int64_t iw = w0; iw < w1; ++iw) {
                const int64_t off = ((id * H + ih) * W + iw) * C;
                max_update(xs + off, static_cast<int32_t>(off), yp, ap, C);
              }
        } else {
          std::fill(yp, yp + C, 0.0f);
          for (int64_t id = d0; id < d1; ++id)
            for (int64_t ih = h0; ih < h1; ++ih)
              for (int64_t iw = w0; iw < w1; ++iw) add_scaled(yp, xs + ((id * H + ih) * W + iw) * C, 1.0f, C);
          const float inv = 1.0f / static_cast<float>((d1 - d0) * (h1 - h0) * (w1 - w0));
          for (int64_t c = 0; c < C; ++c) yp[c] *= inv;
        }
      });
    }
  });
}

void pool_backward(const ConvGeom& g, int64_t N, bool is_max, const float* dy, const int32_t* arg, float* dx) {
  const int64_t C = g.C, in_size = g.in_size(), out_size = g.out_pixels() * C;
  const int64_t grain = sample_grain(out_size), H = g.h.in, W = g.w.in;
  parallel_for(n_chunks(N, grain), [&](int64_t task) {
    const int64_t n1 = std::min(N, (task + 1) * grain);
    for (int64_t n = task * grain; n < n1; ++n) {
      float* dxs = dx + n * in_size;         // (D, H, W, C)
      const float* dys = dy + n * out_size;  // (OD, OH, OW, C)
      if (is_max) {
        const int32_t* as = arg + n * out_size;
        for (int64_t o = 0; o < out_size; ++o) dxs[as[o]] += dys[o];
        continue;
      }
      for_windows(g, [&](int64_t p, int64_t d0, int64_t d1, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
        const float inv = 1.0f / static_cast<float>((d1 - d0) * (h1 - h0) * (w1 - w0));
        const float* dp = dys + p * C;  // (C)
        for (int64_t id = d0; id < d1; ++id)
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) {
              float* d = dxs + ((id * H + ih) * W + iw) * C;
              for (int64_t c = 0; c < C; ++c) d[c] += dp[c] * inv;
            }
      });
    }
  });
}

}  // namespace kn
