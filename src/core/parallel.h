// Threading adapter (uwot style): the engine only asks for `parallel_for`;
// the R glue installs a backend built on RcppParallel, standalone C++ builds
// fall back to std::thread. Work is always split into tasks by the engine, never
// by the backend, so results do not depend on the number of threads.
#pragma once
#include <cstdint>
#include <functional>

namespace kn {

// Runs fn(task) for task in [0, n_tasks), possibly concurrently. Tasks must
// write to disjoint memory. Never touches the R API.
using ParallelBackend =
    std::function<void(int64_t n_tasks, const std::function<void(int64_t)>& fn)>;

void set_parallel_backend(ParallelBackend backend);
void set_num_threads(int n);  // 0 = all cores
int num_threads();
void parallel_for(int64_t n_tasks, const std::function<void(int64_t)>& fn);

// Split [0, n) into chunks of at least `grain` items, independent of thread count.
inline int64_t n_chunks(int64_t n, int64_t grain) {
  return n <= 0 ? 0 : (n + grain - 1) / grain;
}

}  // namespace kn
