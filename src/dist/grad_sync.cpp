#ifdef KN_HAVE_MPI
#include "grad_sync.h"

#include <algorithm>
#include <chrono>

namespace kn {

namespace {
double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}
}  // namespace

RingGradientSync::RingGradientSync(Comm& comm, int64_t bucket_bytes, bool overlap)
    : comm_(comm), bucket_bytes_(std::max<int64_t>(4, bucket_bytes)), overlap_(overlap && comm.threads_ok()) {
  if (overlap_) thread_ = std::thread([this] { worker(); });
}

RingGradientSync::~RingGradientSync() {
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
}

void RingGradientSync::plan(Graph& g, const std::vector<Param*>& params) {
  buckets_.clear();
  bucket_of_.clear();
  Bucket cur;
  int64_t cur_bytes = 0;
  for (size_t k = params.size(); k-- > 0;) {  // last layers first: backward finishes them first
    cur.params.push_back(params[k]);
    cur_bytes += params[k]->grad.size() * static_cast<int64_t>(sizeof(float));
    if (cur_bytes >= bucket_bytes_) {
      buckets_.push_back(std::move(cur));
      cur = Bucket();
      cur_bytes = 0;
    }
  }
  if (!cur.params.empty()) buckets_.push_back(std::move(cur));
  for (size_t i = 0; i < buckets_.size(); ++i) {
    int64_t n = 0;
    for (Param* p : buckets_[i].params) {
      bucket_of_[p] = i;
      n += p->grad.size();
    }
    buckets_[i].buf.assign(static_cast<size_t>(n), 0.0f);  // (params of the bucket, flattened)
  }
  // A layer's gradients are final after its lowest-numbered node (backward runs
  // from the last node down); that node reports them.
  node_params_.assign(g.nodes.size(), {});
  std::map<const Layer*, int> first;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].layer && !first.count(g.nodes[i].layer.get())) first[g.nodes[i].layer.get()] = static_cast<int>(i);
  for (auto& kv : first)
    for (auto& p : kv.first->params)
      if (bucket_of_.count(const_cast<Param*>(&p))) node_params_[kv.second].push_back(const_cast<Param*>(&p));
  planned_ = params;
}

bool RingGradientSync::begin_step(const Batch* b, Graph& g, const std::vector<Param*>& params) {
  if (params != planned_ || node_params_.size() != g.nodes.size()) plan(g, params);
  double norm = 0;
  if (b) {
    if (b->w.empty()) norm = static_cast<double>(b->n());
    else for (float w : b->w) norm += w != 0.0f;
  }
  double v[2] = {b ? 1.0 : 0.0, norm};  // (has a batch, loss normaliser)
  const double t0 = now_s();
  comm_.allreduce_sum(v, 2);
  const double dt = now_s() - t0;
  comm_s += dt;
  wait_s += dt;
  if (v[0] < comm_.size()) return false;  // some process ran out of data: end the epoch everywhere
  scale_ = static_cast<float>(v[1] > 0 ? norm / v[1] : 1.0 / comm_.size());
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& bk : buckets_) {
      bk.pending = static_cast<int>(bk.params.size());
      bk.packed = bk.done = false;
    }
    next_ = 0;
    error_.clear();
  }
  in_step_ = true;
  samples += b->n();
  ++steps;
  return true;
}

void RingGradientSync::pack(Bucket& bk) {
  float* dst = bk.buf.data();
  for (Param* p : bk.params) {
    const float* g = p->grad.ptr();
    for (int64_t i = 0; i < p->grad.size(); ++i) dst[i] = g[i] * scale_;
    dst += p->grad.size();
  }
  bytes += static_cast<int64_t>(bk.buf.size() * sizeof(float));
  {
    std::lock_guard<std::mutex> lk(mu_);
    bk.packed = true;
  }
  cv_.notify_all();
}

void RingGradientSync::mark_ready(Param* p) {
  auto it = bucket_of_.find(p);
  if (it == bucket_of_.end()) return;
  Bucket& bk = buckets_[it->second];
  if (--bk.pending == 0 && !bk.packed) pack(bk);
}

void RingGradientSync::node_done(int node) {
  if (!in_step_ || !overlap_ || node < 0 || static_cast<size_t>(node) >= node_params_.size()) return;
  for (Param* p : node_params_[node]) mark_ready(p);
}

void RingGradientSync::worker() {
  std::unique_lock<std::mutex> lk(mu_);
  while (true) {
    cv_.wait(lk, [this] { return stop_ || (next_ < buckets_.size() && buckets_[next_].packed); });
    if (stop_) return;
    Bucket& bk = buckets_[next_];
    lk.unlock();
    std::string err;
    const double t0 = now_s();
    try {
      comm_.allreduce_sum(bk.buf.data(), static_cast<int64_t>(bk.buf.size()), Comm::kTagGrad);
    } catch (const std::exception& e) {
      err = e.what();
    }
    const double dt = now_s() - t0;
    lk.lock();
    comm_s += dt;
    bk.done = true;
    ++next_;
    if (!err.empty()) {  // give up on this step: finish() reports the error
      error_ = err;
      for (auto& b : buckets_) b.done = true;
      next_ = buckets_.size();
    }
    cv_.notify_all();
  }
}

void RingGradientSync::finish(const std::vector<Param*>& params) {
  if (!in_step_) throw Error("distributed training: gradients finished outside a step");
  in_step_ = false;
  if (params != planned_) throw Error("distributed training: the trainable weights changed during a step");
  const double t0 = now_s();
  for (auto& bk : buckets_)
    if (!bk.packed) pack(bk);  // buckets backward did not report (or no overlap)
  if (overlap_) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [this] {
      for (auto& bk : buckets_)
        if (!bk.done) return false;
      return true;
    });
    if (!error_.empty()) throw Error(error_);
  } else {
    for (auto& bk : buckets_) {
      const double t1 = now_s();
      comm_.allreduce_sum(bk.buf.data(), static_cast<int64_t>(bk.buf.size()), Comm::kTagGrad);
      comm_s += now_s() - t1;
    }
  }
  wait_s += now_s() - t0;
  for (auto& bk : buckets_) {
    const float* src = bk.buf.data();
    for (Param* p : bk.params) {
      std::copy(src, src + p->grad.size(), p->grad.ptr());
      src += p->grad.size();
    }
  }
}

}  // namespace kn
#endif  // KN_HAVE_MPI
