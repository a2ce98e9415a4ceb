// RcppParallel backend for the engine's parallel_for (workers never touch R).
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <memory>
#include <Rcpp.h>

#include "gemm.h"
#include "parallel.h"

namespace {
// One TBB arena (RcppParallel's TBB) kept for the session and rebuilt only when
// the thread count changes: RcppParallel::parallelFor creates an arena per
// call, which costs more than the small per-layer loops of an MLP step.
std::unique_ptr<tbb::task_arena> g_arena;
int g_arena_threads = 0;

void tbb_backend(int64_t n_tasks, const std::function<void(int64_t)>& fn) {
  const int nt = kn::num_threads();
  if (!g_arena || g_arena_threads != nt) {
    g_arena.reset(new tbb::task_arena(nt));
    g_arena_threads = nt;
  }
  g_arena->execute([&] {
    tbb::parallel_for(tbb::blocked_range<int64_t>(0, n_tasks, 1),
                      [&](const tbb::blocked_range<int64_t>& r) {
                        for (int64_t i = r.begin(); i < r.end(); ++i) fn(i);
                      });
  });
}
}  // namespace

//' Set the number of engine threads (internal)
//' @noRd
// [[Rcpp::export]]
void cpp_set_num_threads(int n) {
  kn::set_num_threads(n);
  kn::set_parallel_backend(tbb_backend);
}

// [[Rcpp::export]]
int cpp_num_threads() { return kn::num_threads(); }

// [[Rcpp::export]]
std::string cpp_gemm_kernel() { return kn::sgemm_kernel_name(); }
