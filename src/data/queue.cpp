#include "queue.h"

#include <algorithm>

#include "parallel.h"

namespace kn {

ExampleQueue::ExampleQueue(std::vector<Tensor> components, std::vector<DType> dtypes, QueueOptions opt)
    : data_(std::move(components)), dtypes_(std::move(dtypes)), opt_(opt), rng_(opt.seed) {
  if (data_.empty()) throw Error("the queue needs at least one tensor");
  if (dtypes_.size() != data_.size()) throw Error("the queue needs one dtype per tensor");
  n_ = data_[0].shape.empty() ? 0 : data_[0].shape[0];
  for (size_t k = 0; k < data_.size(); ++k) {
    const Shape& s = data_[k].shape;
    if (s.empty() || s[0] != n_)
      throw Error("all tensors must have the same number of examples (first dimension): tensor 1 has " +
                  std::to_string(n_) + ", tensor " + std::to_string(k + 1) + " has " +
                  (s.empty() ? std::string("a scalar") : std::to_string(s[0])));
    row_.push_back(n_ ? data_[k].size() / n_ : 0);
  }
  if (n_ == 0) throw Error("the queue's tensors hold no examples");
  if (opt_.batch_size < 1) throw Error("`batch_size` must be a positive integer");
  if (opt_.capacity < opt_.batch_size)
    throw Error("`capacity` (" + std::to_string(opt_.capacity) + ") must be at least `batch_size` (" +
                std::to_string(opt_.batch_size) + ")");
  if (opt_.shuffle && (opt_.min_after_dequeue < 0 || opt_.capacity < opt_.min_after_dequeue + opt_.batch_size))
    throw Error("`capacity` (" + std::to_string(opt_.capacity) + ") must be at least `min_after_dequeue` + " +
                "`batch_size` (" + std::to_string(opt_.min_after_dequeue) + " + " +
                std::to_string(opt_.batch_size) + "), or the queue could never be dequeued");
  if (opt_.num_epochs == 0 || opt_.num_epochs < -1) throw Error("`num_epochs` must be NULL or a positive integer");
  if (opt_.num_epochs > 0 && !size_mul(opt_.num_epochs, n_, &total_))
    throw Error("`num_epochs` is too large");
  slots_.resize(data_.size());
  for (size_t k = 0; k < data_.size(); ++k) slots_[k].assign(static_cast<size_t>(opt_.capacity * row_[k]), 0.0f);
  for (int64_t s = opt_.capacity; s-- > 0;) free_.push_back(static_cast<int>(s));
}

ExampleQueue::~ExampleQueue() { stop(); }

std::vector<Shape> ExampleQueue::example_shapes() const {
  std::vector<Shape> out;
  for (auto& t : data_) out.emplace_back(t.shape.begin() + 1, t.shape.end());
  return out;
}

void ExampleQueue::start() {
  if (running()) return;
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = false;
  }
  const int n = std::max(1, std::min(opt_.num_threads, num_threads() > 0 ? num_threads() : 1));
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { work(); });
}

void ExampleQueue::stop() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_work_.notify_all();
  cv_ready_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

// A worker: claim up to 64 stream positions (one free slot each), copy those
// examples outside the lock, publish them.
void ExampleQueue::work() {
  std::vector<std::pair<int64_t, int>> claim;
  for (;;) {
    claim.clear();
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_work_.wait(lk, [&] { return stop_ || (!free_.empty() && (total_ < 0 || next_claim_ < total_)); });
      if (stop_) return;
      while (!free_.empty() && (total_ < 0 || next_claim_ < total_) && claim.size() < 64) {
        claim.emplace_back(next_claim_++, free_.back());
        free_.pop_back();
      }
    }
    for (auto& c : claim) {
      const int64_t ex = c.first % n_;
      for (size_t k = 0; k < data_.size(); ++k)
        std::copy(data_[k].ptr() + ex * row_[k], data_[k].ptr() + (ex + 1) * row_[k],
                  slots_[k].data() + static_cast<int64_t>(c.second) * row_[k]);
    }
    {
      std::lock_guard<std::mutex> g(mu_);
      for (auto& c : claim) ready_[c.first] = c.second;
    }
    cv_ready_.notify_all();
  }
}

void ExampleQueue::admit() {
  for (auto it = ready_.find(next_admit_); it != ready_.end(); it = ready_.find(next_admit_)) {
    pool_.push_back(it->second);
    ready_.erase(it);
    ++next_admit_;
  }
}

int64_t ExampleQueue::pool_size() {
  std::lock_guard<std::mutex> g(mu_);
  admit();
  return static_cast<int64_t>(pool_.size());
}

bool ExampleQueue::dequeue(std::vector<Tensor>& out) {
  std::unique_lock<std::mutex> lk(mu_);
  const int64_t left = total_ < 0 ? opt_.capacity : total_ - dequeued_;  // examples still to come
  if (left == 0 || (left < opt_.batch_size && !opt_.allow_smaller_final_batch)) return false;
  const int64_t b = std::min(opt_.batch_size, left);
  // shuffling: fill the pool to capacity (or to what is left) so batches depend only on the seed
  const int64_t need = opt_.shuffle ? std::min(opt_.capacity, left) : b;
  for (;;) {
    admit();
    if (static_cast<int64_t>(pool_.size()) >= need) break;
    if (workers_.empty() || stop_)
      throw Error("the input queue is not running: call tf$train$start_queue_runners() first (or the "
                  "coordinator stopped it)");
    cv_ready_.wait(lk);
  }
  out.resize(data_.size());
  for (size_t k = 0; k < data_.size(); ++k) {
    Shape s = data_[k].shape;
    s[0] = b;
    out[k].resize(s);  // (b, shape_k...)
  }
  for (int64_t i = 0; i < b; ++i) {
    int slot;
    if (opt_.shuffle) {
      const size_t j = static_cast<size_t>(rng_.below(pool_.size()));
      slot = pool_[j];
      pool_[j] = pool_.back();
      pool_.pop_back();
    } else {
      slot = pool_.front();
      pool_.erase(pool_.begin());
    }
    for (size_t k = 0; k < data_.size(); ++k)
      std::copy(slots_[k].data() + static_cast<int64_t>(slot) * row_[k],
                slots_[k].data() + static_cast<int64_t>(slot + 1) * row_[k], out[k].ptr() + i * row_[k]);
    free_.push_back(slot);
  }
  dequeued_ += b;
  lk.unlock();
  cv_work_.notify_all();
  return true;
}

}  // namespace kn
