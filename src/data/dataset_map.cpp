// Map iterators: sequential (on the consumer's thread) and ordered-parallel
// (worker threads, each with its own GraphExecutor of the map graph).
#include "dataset_nodes.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "parallel.h"

namespace kn {

// The pipeline shares the engine's thread budget (kn_threads()): a map never
// runs more workers than the compute pool has threads.
int dataset_map_threads(int64_t num_parallel_calls) {
  const int64_t budget = num_threads();
  if (num_parallel_calls < 0) return static_cast<int>(budget);
  return static_cast<int>(std::min(num_parallel_calls, budget));
}

namespace {
std::atomic<int> g_live_map_workers{0};  // threads owned by live ParallelMapIterators
}
int dataset_live_map_workers() { return g_live_map_workers.load(); }

namespace {

class MapIterator : public Iterator {
 public:
  MapIterator(std::unique_ptr<Iterator> in, std::shared_ptr<MapGraph> g)
      : in_(std::move(in)), g_(std::move(g)), ex_(*g_) {}
  bool next(Element& out) override {
    if (!in_->next(out)) return false;
    try { ex_.run(out); } catch (const std::exception& e) { fail_at(out.origin, e); }
    return true;
  }
 private:
  std::unique_ptr<Iterator> in_;
  std::shared_ptr<MapGraph> g_;
  GraphExecutor ex_;
};

// Ordered parallel map: workers take chunks of consecutive input elements
// (reading the input under a lock), map them, and deposit them by sequence
// number; the consumer returns chunks strictly in sequence order. At most
// 2 * threads chunks are in flight.
class ParallelMapIterator : public Iterator {
 public:
  static constexpr size_t kChunk = 64;
  ParallelMapIterator(std::unique_ptr<Iterator> in, std::shared_ptr<MapGraph> g, int threads)
      : in_(std::move(in)), g_(std::move(g)), max_inflight_(2 * static_cast<size_t>(threads)) {
    for (int t = 0; t < threads; ++t) {
      workers_.emplace_back([this] { work(); });
      ++g_live_map_workers;
    }
  }
  ~ParallelMapIterator() override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    g_live_map_workers -= static_cast<int>(workers_.size());
  }
  bool next(Element& out) override {
    for (;;) {
      if (cur_ && pos_ < cur_->elems.size()) {
        std::swap(out, cur_->elems[pos_++]);  // the caller's old element goes back to the workers
        return true;
      }
      if (cur_) {
        if (cur_->error) { auto e = cur_->error; cur_.reset(); done_ = true; std::rethrow_exception(e); }
        if (cur_->last) { cur_.reset(); done_ = true; return false; }
        std::lock_guard<std::mutex> lk(mu_);
        free_.push_back(std::move(cur_));
      }
      if (done_) return false;
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return ready_.count(consumed_) > 0; });
      cur_ = std::move(ready_[consumed_]);
      ready_.erase(consumed_);
      ++consumed_;
      pos_ = 0;
      lk.unlock();
      cv_.notify_all();
    }
  }
 private:
  struct Chunk {
    std::vector<Element> elems;
    std::exception_ptr error;
    bool last = false;  // no elements after this chunk
  };
  void work() {
    GraphExecutor ex(*g_);
    for (;;) {
      std::unique_ptr<Chunk> chunk;
      uint64_t seq;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stop_ || input_done_ || next_seq_ - consumed_ < max_inflight_; });
        if (stop_ || input_done_) return;
        if (!free_.empty()) {
          chunk = std::move(free_.back());
          free_.pop_back();
        } else {
          chunk = std::make_unique<Chunk>();
        }
        seq = next_seq_++;
        // read under the lock: input order == sequence order
        size_t n = 0;
        chunk->elems.resize(kChunk);
        try {
          while (n < kChunk && in_->next(chunk->elems[n])) ++n;
          if (n < kChunk) { chunk->last = true; input_done_ = true; }
        } catch (...) {  // keep the elements read before the failure
          chunk->error = std::current_exception();
          chunk->last = true;
          input_done_ = true;
        }
        chunk->elems.resize(n);
      }
      for (size_t k = 0; k < chunk->elems.size(); ++k) {
        try {
          ex.run(chunk->elems[k]);
        } catch (const std::exception& e) {
          try { fail_at(chunk->elems[k].origin, e); } catch (...) { chunk->error = std::current_exception(); }
          chunk->elems.resize(k);
          chunk->last = true;
          break;
        }
      }
      {
        std::lock_guard<std::mutex> lk(mu_);
        ready_[seq] = std::move(chunk);
      }
      cv_.notify_all();
    }
  }

  std::unique_ptr<Iterator> in_;
  std::shared_ptr<MapGraph> g_;
  size_t max_inflight_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false, input_done_ = false;
  uint64_t next_seq_ = 0, consumed_ = 0;
  std::map<uint64_t, std::unique_ptr<Chunk>> ready_;
  std::vector<std::unique_ptr<Chunk>> free_;  // consumed chunks, reused with their buffers
  // consumer side
  std::unique_ptr<Chunk> cur_;
  size_t pos_ = 0;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<Iterator> MapNode::make(uint64_t seed, const Element* arg) const {
  auto in = input->make(derive(seed, 1), arg);
  const int threads = dataset_map_threads(num_parallel_calls);
  if (threads <= 1) return std::make_unique<MapIterator>(std::move(in), graph);
  return std::make_unique<ParallelMapIterator>(std::move(in), graph, threads);
}

}  // namespace kn
