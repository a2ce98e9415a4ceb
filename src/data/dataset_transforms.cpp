// Iterators of the element-order transformations: shuffle, repeat, batch,
// prefetch (a background thread), take / skip / shard, interleave.
#include "dataset_nodes.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace kn {

namespace {

// ------------------------------------------------------------------ shuffle

class ShuffleIterator : public Iterator {
 public:
  ShuffleIterator(std::unique_ptr<Iterator> in, int64_t size, uint64_t seed)
      : in_(std::move(in)), size_(static_cast<size_t>(std::max<int64_t>(1, size))), rng_(seed) {}
  bool next(Element& out) override {
    while (!in_done_ && buf_.size() < size_) {  // fill the buffer
      buf_.emplace_back();
      if (!in_->next(buf_.back())) { buf_.pop_back(); in_done_ = true; }
    }
    if (buf_.empty()) return false;
    const size_t k = static_cast<size_t>(rng_.below(buf_.size()));
    std::swap(out, buf_[k]);  // the caller's old element is refilled (buffer reuse)
    if (!in_done_) {
      if (in_->next(buf_[k])) return true;
      in_done_ = true;
    }
    buf_[k] = std::move(buf_.back());
    buf_.pop_back();
    return true;
  }
 private:
  std::unique_ptr<Iterator> in_;
  size_t size_;
  Rng rng_;
  std::vector<Element> buf_;
  bool in_done_ = false;
};

// ------------------------------------------------------------------ repeat

class RepeatIterator : public Iterator {
 public:
  RepeatIterator(DatasetPtr in, int64_t count, uint64_t seed, const Element* arg)
      : in_(std::move(in)), count_(count), seed_(seed) {
    if (arg) arg_ = *arg, has_arg_ = true;
  }
  bool next(Element& out) override {
    for (;;) {
      if (count_ >= 0 && rep_ >= count_) return false;
      if (!cur_) { cur_ = in_->make(derive(seed_, static_cast<uint64_t>(rep_)), has_arg_ ? &arg_ : nullptr); got_ = 0; }
      if (cur_->next(out)) { ++got_; return true; }
      cur_.reset();
      ++rep_;
      if (got_ == 0) return false;  // empty input: stop instead of spinning
    }
  }
 private:
  DatasetPtr in_;
  int64_t count_, rep_ = 0, got_ = 0;
  uint64_t seed_;
  Element arg_;
  bool has_arg_ = false;
  std::unique_ptr<Iterator> cur_;
};

// ------------------------------------------------------------------ batch

class BatchIterator : public Iterator {
 public:
  BatchIterator(std::unique_ptr<Iterator> in, int64_t n, bool drop)
      : in_(std::move(in)), n_(static_cast<size_t>(n)), drop_(drop), items_(n_) {}
  bool next(Element& out) override {
    if (done_) return false;
    size_t got = 0;
    while (got < n_ && in_->next(items_[got])) ++got;
    if (got < n_) done_ = true;
    if (got == 0 || (drop_ && got < n_)) return false;
    const Element& first = items_[0];
    out.origin = first.origin;
    out.comps.resize(first.comps.size());
    for (size_t k = 0; k < first.comps.size(); ++k) {
      const Value& f = first.comps[k];
      Value& v = out.comps[k];
      v.dtype = f.dtype;
      v.shape.assign(1, static_cast<int64_t>(got));
      v.shape.insert(v.shape.end(), f.shape.begin(), f.shape.end());
      const size_t row = f.stored();
      if (f.dtype == DType::Float32) v.f.resize(row * got);
      else if (f.dtype == DType::String) v.s.resize(row * got);
      else v.i.resize(row * got);
      for (size_t e = 0; e < got; ++e) {
        const Element& el = items_[e];
        if (el.comps.size() != first.comps.size())
          throw Error("batch: " + el.origin.str() + " has " + std::to_string(el.comps.size()) +
                      " components but the first element of the batch has " + std::to_string(first.comps.size()));
        const Value& c = el.comps[k];
        if (c.dtype != f.dtype || c.shape != f.shape)
          throw Error("batch: cannot batch elements of different shapes or types: component " + std::to_string(k + 1) +
                      " of " + el.origin.str() + " is " + dtype_name(c.dtype) + " " + shape_str(c.shape, false) +
                      " but the first element of the batch (" + first.origin.str() + ") has " + dtype_name(f.dtype) +
                      " " + shape_str(f.shape, false) + " (variable-length features cannot be batched densely)");
        if (f.dtype == DType::Float32) std::copy(c.f.begin(), c.f.end(), v.f.begin() + e * row);
        else if (f.dtype == DType::String) std::copy(c.s.begin(), c.s.end(), v.s.begin() + e * row);
        else std::copy(c.i.begin(), c.i.end(), v.i.begin() + e * row);
      }
    }
    return true;
  }
 private:
  std::unique_ptr<Iterator> in_;
  size_t n_;
  bool drop_, done_ = false;
  std::vector<Element> items_;  // (n,) reused staging
};

// ------------------------------------------------------------------ prefetch

// A background thread runs the input and keeps up to `size` elements ready.
class PrefetchIterator : public Iterator {
 public:
  PrefetchIterator(std::unique_ptr<Iterator> in, int64_t size)
      : in_(std::move(in)), size_(static_cast<size_t>(std::max<int64_t>(1, size))) {
    thread_ = std::thread([this] { work(); });
  }
  ~PrefetchIterator() override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool next(Element& out) override {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return !q_.empty() || finished_; });
    if (!q_.empty()) {
      std::swap(out, q_.front());
      if (free_.size() < size_ + 1) free_.push_back(std::move(q_.front()));
      q_.pop_front();
      lk.unlock();
      cv_.notify_all();
      return true;
    }
    if (error_) { auto e = error_; error_ = nullptr; std::rethrow_exception(e); }
    return false;
  }
 private:
  void work() {
    try {
      for (;;) {
        {
          std::unique_lock<std::mutex> lk(mu_);
          cv_.wait(lk, [&] { return stop_ || q_.size() < size_; });
          if (stop_) break;
        }
        Element e;
        {
          std::lock_guard<std::mutex> lk(mu_);
          if (!free_.empty()) { e = std::move(free_.back()); free_.pop_back(); }
        }
        if (!in_->next(e)) break;
        {
          std::lock_guard<std::mutex> lk(mu_);
          q_.push_back(std::move(e));
        }
        cv_.notify_all();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lk(mu_);
      error_ = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lk(mu_);
      finished_ = true;
    }
    cv_.notify_all();
  }
  std::unique_ptr<Iterator> in_;
  size_t size_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Element> q_;
  std::vector<Element> free_;  // elements handed back by the consumer, reused
  bool stop_ = false, finished_ = false;
  std::exception_ptr error_;
};

// ------------------------------------------------------------------ take / skip / shard

class TakeSkipIterator : public Iterator {
 public:
  TakeSkipIterator(std::unique_ptr<Iterator> in, const TakeSkipNode& n) : in_(std::move(in)), n_(n) {}
  bool next(Element& out) override {
    switch (n_.kind) {
      case TakeSkipNode::Take:
        if (n_.count >= 0 && seen_ >= n_.count) return false;
        ++seen_;
        return in_->next(out);
      case TakeSkipNode::Skip:
        for (; n_.count < 0 || seen_ < n_.count; ++seen_)
          if (!in_->next(out)) return false;
        return in_->next(out);
      case TakeSkipNode::Shard:
        for (;;) {
          if (!in_->next(out)) return false;
          if (seen_++ % n_.num_shards == n_.index) return true;
        }
    }
    return false;
  }
 private:
  std::unique_ptr<Iterator> in_;
  const TakeSkipNode& n_;
  int64_t seen_ = 0;
};

// ------------------------------------------------------------------ interleave

class InterleaveIterator : public Iterator {
 public:
  InterleaveIterator(std::unique_ptr<Iterator> in, DatasetPtr inner, int64_t cycle, int64_t block, uint64_t seed)
      : in_(std::move(in)), inner_(std::move(inner)), block_(block), seed_(seed),
        slots_(static_cast<size_t>(std::max<int64_t>(1, cycle))) {
    for (auto& s : slots_) s = open_next();
  }
  bool next(Element& out) override {
    for (;;) {
      bool any = false;
      for (auto& s : slots_) any = any || static_cast<bool>(s);
      if (!any) return false;
      auto& s = slots_[cur_];
      if (!s) { advance(); continue; }
      if (s->next(out)) {
        if (++in_block_ >= block_) advance();
        return true;
      }
      s = open_next();  // the next input takes over this slot
      in_block_ = 0;
      if (!s) advance();
    }
  }
 private:
  std::unique_ptr<Iterator> open_next() {
    if (in_done_) return nullptr;
    Element arg;
    if (!in_->next(arg)) { in_done_ = true; return nullptr; }
    return inner_->make(derive(seed_, opened_++), &arg);
  }
  void advance() { cur_ = (cur_ + 1) % slots_.size(); in_block_ = 0; }
  std::unique_ptr<Iterator> in_;
  DatasetPtr inner_;
  int64_t block_;
  uint64_t seed_, opened_ = 0;
  std::vector<std::unique_ptr<Iterator>> slots_;
  size_t cur_ = 0;
  int64_t in_block_ = 0;
  bool in_done_ = false;
};

}  // namespace

std::unique_ptr<Iterator> ShuffleNode::make(uint64_t seed, const Element* arg) const {
  uint64_t s = has_seed ? splitmix64(user_seed + 0x5EED) : derive(seed, 2);
  return std::make_unique<ShuffleIterator>(input->make(derive(seed, 1), arg), buffer_size, s);
}

std::unique_ptr<Iterator> RepeatNode::make(uint64_t seed, const Element* arg) const {
  return std::make_unique<RepeatIterator>(input, count, seed, arg);
}

std::unique_ptr<Iterator> BatchNode::make(uint64_t seed, const Element* arg) const {
  return std::make_unique<BatchIterator>(input->make(derive(seed, 1), arg), batch_size, drop_remainder);
}

std::unique_ptr<Iterator> PrefetchNode::make(uint64_t seed, const Element* arg) const {
  return std::make_unique<PrefetchIterator>(input->make(derive(seed, 1), arg), buffer_size);
}

std::unique_ptr<Iterator> TakeSkipNode::make(uint64_t seed, const Element* arg) const {
  return std::make_unique<TakeSkipIterator>(input->make(derive(seed, 1), arg), *this);
}

std::unique_ptr<Iterator> InterleaveNode::make(uint64_t seed, const Element* arg) const {
  return std::make_unique<InterleaveIterator>(input->make(derive(seed, 1), arg), inner, cycle, block, derive(seed, 3));
}

}  // namespace kn
