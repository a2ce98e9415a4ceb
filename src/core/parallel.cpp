#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace kn {
namespace {
int g_threads = 0;
ParallelBackend g_backend;

// Fallback backend for standalone C++ builds: plain std::thread, tasks taken
// from an atomic counter.
void thread_backend(int64_t n_tasks, const std::function<void(int64_t)>& fn) {
  int nt = std::min<int64_t>(num_threads(), n_tasks);
  if (nt <= 1) { for (int64_t i = 0; i < n_tasks; ++i) fn(i); return; }
  std::atomic<int64_t> next{0};
  auto work = [&] { for (int64_t i; (i = next.fetch_add(1)) < n_tasks;) fn(i); };
  std::vector<std::thread> pool;
  for (int t = 1; t < nt; ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
}
}  // namespace

void set_parallel_backend(ParallelBackend backend) { g_backend = std::move(backend); }
void set_num_threads(int n) { g_threads = n < 0 ? 0 : n; }
int num_threads() {
  if (g_threads > 0) return g_threads;
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}
void parallel_for(int64_t n_tasks, const std::function<void(int64_t)>& fn) {
  if (n_tasks <= 0) return;
  if (n_tasks == 1 || num_threads() == 1) { for (int64_t i = 0; i < n_tasks; ++i) fn(i); return; }
  if (g_backend) g_backend(n_tasks, fn); else thread_backend(n_tasks, fn);
}

}  // namespace kn
