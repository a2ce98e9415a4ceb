// MPI communicator for data-parallel training (Open MPI). No R headers.
//
// All traffic goes through a duplicate of MPI_COMM_WORLD with MPI_ERRORS_RETURN,
// so failures become kn::Error instead of aborting the process. Every wait
// polls its requests together with an "abort" message (posted by a process
// that failed, see notify_abort) and a deadline: a dead or stuck peer gives a
// clear error within `timeout` seconds, never a hang. After such an error the
// communicator is "broken": later calls fail at once and MPI_Finalize is
// skipped at exit (mpirun then stops the remaining processes).
//
// Sums are ring all-reduces over point-to-point messages (reduce-scatter then
// all-gather): each chunk is summed in a fixed order on one process and copied
// to the others, so every process gets identical bits and a run is bitwise
// reproducible for a given number of processes.
//
// Thread use: MPI is initialised with at least MPI_THREAD_SERIALIZED and every
// MPI call takes mu_, so the training thread and the gradient thread may both
// communicate (never at the same time).
#pragma once
#ifdef KN_HAVE_MPI
#include <mpi.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace kn {

class Comm {
 public:
  // MPI_Init_thread (once per process); `timeout` seconds for any wait.
  static Comm& init(double timeout);
  static Comm* get();  // null before init()
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool threads_ok() const { return thread_level_ >= MPI_THREAD_SERIALIZED; }
  bool broken() const { return broken_; }
  double timeout() const { return timeout_; }
  void set_timeout(double t) { timeout_ = t; }

  // In-place element-wise sums over all processes (ring; identical bits everywhere).
  // `tag` keeps the gradient thread's traffic (kTagGrad) apart from the training thread's.
  static constexpr int kTagMain = 20, kTagGrad = 30, kTagAbort = 99;
  void allreduce_sum(float* data, int64_t n, int tag = kTagMain);   // (n)
  void allreduce_sum(double* data, int64_t n, int tag = kTagMain);  // (n)
  // Copy `n` bytes from process `root` into `data` on every process.
  void broadcast(void* data, int64_t n, int root = 0);
  void barrier();
  // Tell every other process that this one failed (they raise `msg`), then mark broken.
  void notify_abort(const std::string& msg);
  // MPI_Finalize unless broken (registered with atexit by init()).
  static void finalize();

  // Bytes this process sent in ring all-reduces (for the benchmark).
  int64_t bytes_sent = 0;

 private:
  Comm() = default;
  template <typename T>
  void ring_sum(T* data, int64_t n, MPI_Datatype type, int tag);
  // Wait for `reqs` (polling); throws on abort message, MPI error or timeout.
  void wait_all(MPI_Request* reqs, int count, const char* what, int peer);
  void check(int rc, const char* what);
  [[noreturn]] void fail(const std::string& msg);
  void post_abort_recv();

  int rank_ = 0, size_ = 1, thread_level_ = 0;
  double timeout_ = 60;
  std::atomic<bool> broken_{false};
  bool finalized_ = false;
  MPI_Comm comm_ = MPI_COMM_NULL;
  MPI_Request abort_req_ = MPI_REQUEST_NULL;
  char abort_buf_[1024] = {0};
  std::mutex mu_;
};

}  // namespace kn
#endif  // KN_HAVE_MPI
