// RcppParallel backend for the engine's parallel_for (workers never touch R).
#include <RcppParallel.h>
#include <Rcpp.h>

#include "parallel.h"

namespace {
struct TaskWorker : public RcppParallel::Worker {
  const std::function<void(int64_t)>& fn;
  explicit TaskWorker(const std::function<void(int64_t)>& f) : fn(f) {}
  void operator()(std::size_t begin, std::size_t end) override {
    for (std::size_t i = begin; i < end; ++i) fn(static_cast<int64_t>(i));
  }
};

void rcpp_parallel_backend(int64_t n_tasks, const std::function<void(int64_t)>& fn) {
  TaskWorker w(fn);
  RcppParallel::parallelFor(0, static_cast<std::size_t>(n_tasks), w, 1, kn::num_threads());
}
}  // namespace

//' Set the number of engine threads (internal)
//' @noRd
// [[Rcpp::export]]
void cpp_set_num_threads(int n) {
  kn::set_num_threads(n);
  kn::set_parallel_backend(rcpp_parallel_backend);
}

// [[Rcpp::export]]
int cpp_num_threads() { return kn::num_threads(); }
