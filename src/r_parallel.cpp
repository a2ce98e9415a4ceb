// RcppParallel backend for the engine's parallel_for (workers never touch R).
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <google/protobuf/stubs/common.h>
#include <hdf5.h>
#include <zlib.h>

#include <memory>
#include <thread>
#include <Rcpp.h>

#include "crc32c.h"
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

namespace {
bool cpu_has(const char* feature) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
  const std::string f(feature);
  if (f == "sse4.2") return __builtin_cpu_supports("sse4.2");
  if (f == "avx2") return __builtin_cpu_supports("avx2");
  if (f == "fma") return __builtin_cpu_supports("fma");
  if (f == "avx512f") return __builtin_cpu_supports("avx512f");
#endif
  (void)feature;
  return false;
}
}  // namespace

// What the engine chose at run time and what it was built with (kn_config()).
// [[Rcpp::export]]
Rcpp::List cpp_config() {
  using Rcpp::_;
  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
#ifdef H5_HAVE_PARALLEL
  const bool h5_parallel = true;
#else
  const bool h5_parallel = false;
#endif
  Rcpp::LogicalVector cpu = Rcpp::LogicalVector::create(
      _["sse4.2"] = cpu_has("sse4.2"), _["avx2"] = cpu_has("avx2"), _["fma"] = cpu_has("fma"),
      _["avx512f"] = cpu_has("avx512f"));
  return Rcpp::List::create(
      _["threads"] = kn::num_threads(),
      _["cores"] = static_cast<int>(std::thread::hardware_concurrency()),
      _["gemm_kernel"] = kn::sgemm_kernel_name(),
      _["crc32c"] = kn::crc32c_impl_name(),
      _["cpu"] = cpu,
      _["hdf5"] = std::to_string(maj) + "." + std::to_string(min) + "." + std::to_string(rel),
      _["hdf5_parallel"] = h5_parallel,
      _["mpi"] = false,
      _["protobuf"] = google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION),
      _["zlib"] = std::string(zlibVersion()),
      _["compiler"] = std::string(__VERSION__));
}
