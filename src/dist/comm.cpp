#ifdef KN_HAVE_MPI
#include "comm.h"

#include <dlfcn.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "tensor.h"  // kn::Error

namespace kn {

namespace {
Comm* g_comm = nullptr;
double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}
}  // namespace

Comm* Comm::get() { return g_comm; }

Comm& Comm::init(double timeout) {
  if (g_comm) {
    g_comm->timeout_ = timeout;
    return *g_comm;
  }
  // Open MPI loads its transports as plugins that expect libmpi's symbols to
  // be global; R loaded us (and libmpi) with RTLD_LOCAL. Promote it.
  dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
  int inited = 0;
  MPI_Initialized(&inited);
  int provided = 0;
  if (!inited) {
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
      throw Error("distribute_init(): MPI_Init_thread failed");
  } else {
    MPI_Query_thread(&provided);
  }
  auto* c = new Comm();
  c->thread_level_ = provided;
  c->timeout_ = timeout;
  MPI_Comm_dup(MPI_COMM_WORLD, &c->comm_);
  MPI_Comm_set_errhandler(c->comm_, MPI_ERRORS_RETURN);
  MPI_Comm_rank(c->comm_, &c->rank_);
  MPI_Comm_size(c->comm_, &c->size_);
  c->post_abort_recv();
  g_comm = c;
  std::atexit(&Comm::finalize);
  return *c;
}

void Comm::post_abort_recv() {
  check(MPI_Irecv(abort_buf_, sizeof(abort_buf_) - 1, MPI_CHAR, MPI_ANY_SOURCE, kTagAbort, comm_, &abort_req_),
        "posting the abort receive");
}

void Comm::finalize() {
  Comm* c = g_comm;
  if (!c || c->finalized_ || c->broken_) return;  // broken: leave it to mpirun
  c->finalized_ = true;
  if (c->abort_req_ != MPI_REQUEST_NULL) {
    MPI_Cancel(&c->abort_req_);
    MPI_Request_free(&c->abort_req_);
  }
  MPI_Comm_free(&c->comm_);
  int fin = 0;
  MPI_Finalized(&fin);
  if (!fin) MPI_Finalize();
}

void Comm::fail(const std::string& msg) {
  broken_ = true;
  throw Error(msg);
}

void Comm::check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, buf, &len);
  fail(std::string("distributed training: MPI error while ") + what + ": " + std::string(buf, len));
}

void Comm::wait_all(MPI_Request* reqs, int count, const char* what, int peer) {
  const double t0 = now_s();
  for (int spin = 0;; ++spin) {
    if (broken_) throw Error("distributed training: stopped after a failure on this process");
    int done = 0, aborted = 0;
    MPI_Status st;
    {
      std::lock_guard<std::mutex> lk(mu_);
      check(MPI_Testall(count, reqs, &done, MPI_STATUSES_IGNORE), what);
      check(MPI_Test(&abort_req_, &aborted, &st), "checking for failed processes");
    }
    if (aborted) {
      abort_buf_[sizeof(abort_buf_) - 1] = 0;
      fail("distributed training stopped: process " + std::to_string(st.MPI_SOURCE) + " failed: " + abort_buf_);
    }
    if (done) return;
    if (now_s() - t0 > timeout_)
      fail("distributed training: no answer from process " + std::to_string(peer) + " within " +
           std::to_string(static_cast<int>(timeout_)) + " s while " + what +
           " (a process died or is stuck; see distribute_init(timeout =))");
    if (spin < 200) std::this_thread::yield();
    else std::this_thread::sleep_for(std::chrono::microseconds(spin < 2000 ? 20 : 200));
  }
}

template <typename T>
void Comm::ring_sum(T* data, int64_t n, MPI_Datatype type, int tag) {
  if (broken_) throw Error("distributed training: the communicator is broken after an earlier failure");
  const int p = size_, r = rank_;
  if (p == 1 || n == 0) return;
  auto off = [&](int k) { return n * k / p; };  // chunk k = [off(k), off(k+1))
  const int right = (r + 1) % p, left = (r + p - 1) % p;
  std::vector<T> tmp(static_cast<size_t>(n / p + 1));  // (largest chunk)
  // Reduce-scatter: after p-1 steps process r holds the sum of chunk (r+1) % p.
  for (int s = 0; s < p - 1; ++s) {
    const int send_c = (r - s + 2 * p) % p, recv_c = (r - s - 1 + 2 * p) % p;
    const int64_t sn = off(send_c + 1) - off(send_c), rn = off(recv_c + 1) - off(recv_c);
    MPI_Request req[2];
    {
      std::lock_guard<std::mutex> lk(mu_);
      check(MPI_Irecv(tmp.data(), static_cast<int>(rn), type, left, tag, comm_, &req[0]), "receiving gradients");
      check(MPI_Isend(data + off(send_c), static_cast<int>(sn), type, right, tag, comm_, &req[1]), "sending gradients");
    }
    wait_all(req, 2, "summing gradients", left);
    bytes_sent += sn * static_cast<int64_t>(sizeof(T));
    T* dst = data + off(recv_c);
    for (int64_t i = 0; i < rn; ++i) dst[i] = tmp[i] + dst[i];  // incoming partial sum + own part
  }
  // All-gather: pass the finished chunks around the ring (copies, no arithmetic).
  for (int s = 0; s < p - 1; ++s) {
    const int send_c = (r + 1 - s + 2 * p) % p, recv_c = (r - s + 2 * p) % p;
    const int64_t sn = off(send_c + 1) - off(send_c), rn = off(recv_c + 1) - off(recv_c);
    MPI_Request req[2];
    {
      std::lock_guard<std::mutex> lk(mu_);
      check(MPI_Irecv(data + off(recv_c), static_cast<int>(rn), type, left, tag, comm_, &req[0]), "receiving sums");
      check(MPI_Isend(data + off(send_c), static_cast<int>(sn), type, right, tag, comm_, &req[1]), "sending sums");
    }
    wait_all(req, 2, "sharing summed gradients", left);
    bytes_sent += sn * static_cast<int64_t>(sizeof(T));
  }
}

void Comm::allreduce_sum(float* data, int64_t n, int tag) { ring_sum(data, n, MPI_FLOAT, tag); }
void Comm::allreduce_sum(double* data, int64_t n, int tag) { ring_sum(data, n, MPI_DOUBLE, tag); }

void Comm::broadcast(void* data, int64_t n, int root) {
  if (broken_) throw Error("distributed training: the communicator is broken after an earlier failure");
  if (size_ == 1 || n == 0) return;
  char* bytes = static_cast<char*>(data);
  const int64_t kMax = int64_t(1) << 30;  // MPI counts are int
  for (int64_t o = 0; o < n; o += kMax) {
    const int cnt = static_cast<int>(std::min(kMax, n - o));
    std::vector<MPI_Request> reqs;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (rank_ == root) {
        for (int q = 0; q < size_; ++q) {
          if (q == root) continue;
          reqs.emplace_back();
          check(MPI_Isend(bytes + o, cnt, MPI_BYTE, q, kTagMain + 1, comm_, &reqs.back()), "broadcasting");
        }
      } else {
        reqs.emplace_back();
        check(MPI_Irecv(bytes + o, cnt, MPI_BYTE, root, kTagMain + 1, comm_, &reqs.back()), "broadcasting");
      }
    }
    wait_all(reqs.data(), static_cast<int>(reqs.size()), "broadcasting from process 0", root);
  }
}

void Comm::barrier() {
  double one = 1;
  allreduce_sum(&one, 1);
}

void Comm::notify_abort(const std::string& msg) {
  if (broken_ || size_ == 1) {
    broken_ = true;
    return;
  }
  broken_ = true;
  std::string m = msg.substr(0, sizeof(abort_buf_) - 2);
  std::vector<MPI_Request> reqs;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (int q = 0; q < size_; ++q) {
      if (q == rank_) continue;
      reqs.emplace_back();
      if (MPI_Isend(m.c_str(), static_cast<int>(m.size() + 1), MPI_CHAR, q, kTagAbort, comm_, &reqs.back()) !=
          MPI_SUCCESS)
        reqs.pop_back();
    }
  }
  // Small messages go out eagerly; give them up to 2 s, then leave.
  const double t0 = now_s();
  while (!reqs.empty() && now_s() - t0 < 2) {
    int done = 0;
    {
      std::lock_guard<std::mutex> lk(mu_);
      MPI_Testall(static_cast<int>(reqs.size()), reqs.data(), &done, MPI_STATUSES_IGNORE);
    }
    if (done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Grace period: the others report the failure before this process exits
  // (mpirun stops the whole job once a process exits without MPI_Finalize).
  std::this_thread::sleep_for(std::chrono::seconds(1));
}

}  // namespace kn
#endif  // KN_HAVE_MPI
