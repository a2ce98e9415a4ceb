// Dataset nodes and their iterators: sources (TFRecord files, in-memory
// slices, string lists), map (sequential or ordered-parallel), shuffle,
// repeat, batch, prefetch, take, skip, shard, interleave.
#include "dataset.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "parallel.h"
#include "rng.h"
#include "tfrecord.h"

namespace kn {

std::string Origin::str() const {
  if (file) {
    return "TFRecord file '" + *file + "', record " + std::to_string(index) + " at " +
           (compressed ? "decompressed " : "") + "byte offset " + std::to_string(offset);
  }
  if (index >= 0) return "element " + std::to_string(index);
  return "element";
}

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

uint64_t derive(uint64_t seed, uint64_t k) { return splitmix64(seed ^ splitmix64(k + 0x51ED)); }

std::vector<std::string> strings_of(const Json& j) {
  std::vector<std::string> v;
  if (j.is_string()) v.push_back(j.as_string());
  else if (j.is_array()) for (const Json& e : j.elements()) v.push_back(e.as_string());
  return v;
}

// Rethrow an engine error with the element's origin in front.
[[noreturn]] void fail_at(const Origin& o, const std::exception& e) {
  throw Error(o.str() + ": " + e.what());
}

// ------------------------------------------------------------------ sources

class TFRecordNode : public DatasetNode {
 public:
  std::vector<std::string> files;
  int file_arg = -1;  // component of the interleave argument holding file names
  Compression comp = Compression::Auto;
  std::unique_ptr<Iterator> make(uint64_t seed, const Element* arg) const override;
};

class TFRecordIterator : public Iterator {
 public:
  TFRecordIterator(std::vector<std::string> files, Compression c) : files_(std::move(files)), comp_(c) {}
  bool next(Element& out) override {
    for (;;) {
      if (!reader_.is_open()) {
        if (fi_ >= files_.size()) return false;
        name_ = std::make_shared<const std::string>(files_[fi_]);
        reader_.open(files_[fi_++], comp_);
      }
      std::string_view rec;
      if (!reader_.next_view(rec)) { reader_.close(); continue; }
      out.comps.resize(1);
      Value& v = out.comps[0];
      v.dtype = DType::String;
      v.shape.clear();
      v.s.resize(1);
      v.s[0].assign(rec.data(), rec.size());
      out.origin.file = name_;
      out.origin.compressed = reader_.compression() != Compression::None;
      out.origin.index = reader_.record_index();
      out.origin.offset = reader_.record_offset();
      return true;
    }
  }
 private:
  std::vector<std::string> files_;
  Compression comp_;
  size_t fi_ = 0;
  TFRecordReader reader_;
  std::shared_ptr<const std::string> name_;
};

std::unique_ptr<Iterator> TFRecordNode::make(uint64_t, const Element* arg) const {
  if (file_arg < 0) return std::make_unique<TFRecordIterator>(files, comp);
  if (!arg || file_arg >= static_cast<int>(arg->comps.size()))
    throw Error("tfrecord_dataset: file names come from the interleave input but none was given");
  const Value& v = arg->comps[file_arg];
  if (v.dtype != DType::String) throw Error(std::string("tfrecord_dataset: file names must be strings, got ") + dtype_name(v.dtype));
  return std::make_unique<TFRecordIterator>(v.s, comp);
}

class SlicesNode : public DatasetNode {
 public:
  std::shared_ptr<SliceData> d;  // components with shape (n, ...)
  int64_t n = 0;
  std::unique_ptr<Iterator> make(uint64_t, const Element*) const override;
};

class SlicesIterator : public Iterator {
 public:
  SlicesIterator(std::shared_ptr<SliceData> d, int64_t n) : d_(std::move(d)), n_(n) {}
  bool next(Element& out) override {
    if (i_ >= n_) return false;
    out.comps.resize(d_->size());
    for (size_t k = 0; k < d_->size(); ++k) {
      const Value& src = (*d_)[k];
      Value& v = out.comps[k];
      v.dtype = src.dtype;
      v.shape.assign(src.shape.begin() + 1, src.shape.end());
      const int64_t row = shape_numel(v.shape);
      const size_t a = static_cast<size_t>(i_ * row), b = a + static_cast<size_t>(row);
      if (src.dtype == DType::Float32) v.f.assign(src.f.begin() + a, src.f.begin() + b);
      else if (src.dtype == DType::String) v.s.assign(src.s.begin() + a, src.s.begin() + b);
      else v.i.assign(src.i.begin() + a, src.i.begin() + b);
    }
    out.origin = Origin();
    out.origin.index = i_++;
    return true;
  }
 private:
  std::shared_ptr<SliceData> d_;
  int64_t n_, i_ = 0;
};

std::unique_ptr<Iterator> SlicesNode::make(uint64_t, const Element*) const {
  return std::make_unique<SlicesIterator>(d, n);
}

// ------------------------------------------------------------------ map

class MapNode : public DatasetNode {
 public:
  DatasetPtr input;
  std::shared_ptr<MapGraph> graph;
  // num_parallel_calls as given: 0 = run on the consumer's thread, < 0 =
  // AUTOTUNE; resolved by dataset_map_threads() when an iterator is made, so a
  // later kn_threads() applies to datasets built before it.
  int64_t num_parallel_calls = 0;
  std::unique_ptr<Iterator> make(uint64_t seed, const Element* arg) const override;
};

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

std::unique_ptr<Iterator> MapNode::make(uint64_t seed, const Element* arg) const {
  auto in = input->make(derive(seed, 1), arg);
  const int threads = dataset_map_threads(num_parallel_calls);
  if (threads <= 1) return std::make_unique<MapIterator>(std::move(in), graph);
  return std::make_unique<ParallelMapIterator>(std::move(in), graph, threads);
}

// ------------------------------------------------------------------ shuffle

class ShuffleNode : public DatasetNode {
 public:
  DatasetPtr input;
  int64_t buffer_size = 1;
  bool has_seed = false;
  uint64_t user_seed = 0;
  std::unique_ptr<Iterator> make(uint64_t seed, const Element* arg) const override;
};

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

std::unique_ptr<Iterator> ShuffleNode::make(uint64_t seed, const Element* arg) const {
  uint64_t s = has_seed ? splitmix64(user_seed + 0x5EED) : derive(seed, 2);
  return std::make_unique<ShuffleIterator>(input->make(derive(seed, 1), arg), buffer_size, s);
}

// ------------------------------------------------------------------ repeat

class RepeatNode : public DatasetNode {
 public:
  DatasetPtr input;
  int64_t count = -1;  // -1: forever
  std::unique_ptr<Iterator> make(uint64_t seed, const Element* arg) const override;
};

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

std::unique_ptr<Iterator> RepeatNode::make(uint64_t seed, const Element* arg) const {
  return std::make_unique<RepeatIterator>(input, count, seed, arg);
}

// ------------------------------------------------------------------ batch

class BatchNode : public DatasetNode {
 public:
  DatasetPtr input;
  int64_t batch_size = 1;
  bool drop_remainder = false;
  std::unique_ptr<Iterator> make(uint64_t seed, const Element* arg) const override;
};

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

std::unique_ptr<Iterator> BatchNode::make(uint64_t seed, const Element* arg) const {
  return std::make_unique<BatchIterator>(input->make(derive(seed, 1), arg), batch_size, drop_remainder);
}

// ------------------------------------------------------------------ prefetch

class PrefetchNode : public DatasetNode {
 public:
  DatasetPtr input;
  int64_t buffer_size = 1;
  std::unique_ptr<Iterator> make(uint64_t seed, const Element* arg) const override;
};

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

std::unique_ptr<Iterator> PrefetchNode::make(uint64_t seed, const Element* arg) const {
  return std::make_unique<PrefetchIterator>(input->make(derive(seed, 1), arg), buffer_size);
}

// ------------------------------------------------------------------ take / skip / shard

class TakeSkipNode : public DatasetNode {
 public:
  DatasetPtr input;
  enum Kind { Take, Skip, Shard } kind = Take;
  int64_t count = 0, num_shards = 1, index = 0;
  std::unique_ptr<Iterator> make(uint64_t seed, const Element* arg) const override;
};

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

std::unique_ptr<Iterator> TakeSkipNode::make(uint64_t seed, const Element* arg) const {
  return std::make_unique<TakeSkipIterator>(input->make(derive(seed, 1), arg), *this);
}

// ------------------------------------------------------------------ interleave

class InterleaveNode : public DatasetNode {
 public:
  DatasetPtr input, inner;
  int64_t cycle = 1, block = 1;
  std::unique_ptr<Iterator> make(uint64_t seed, const Element* arg) const override;
};

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

std::unique_ptr<Iterator> InterleaveNode::make(uint64_t seed, const Element* arg) const {
  return std::make_unique<InterleaveIterator>(input->make(derive(seed, 1), arg), inner, cycle, block, derive(seed, 3));
}

int64_t int_attr(const Json& spec, const char* key, int64_t fallback) {
  const Json v = spec.get(key, Json());
  return v.is_number() ? v.as_int() : fallback;
}

}  // namespace

DatasetPtr dataset_from_json(const Json& spec, const std::vector<std::shared_ptr<SliceData>>& slices) {
  const std::string op = spec["op"].as_string();
  auto input = [&]() { return dataset_from_json(spec["input"], slices); };
  if (op == "tfrecord") {
    auto n = std::make_shared<TFRecordNode>();
    n->files = strings_of(spec.get("files", Json()));
    n->file_arg = static_cast<int>(int_attr(spec, "file_arg", -1));
    n->comp = parse_compression(spec.get("compression", Json("auto")).as_string());
    return n;
  }
  if (op == "tensor_slices" || op == "strings") {
    auto n = std::make_shared<SlicesNode>();
    if (op == "strings") {
      n->d = std::make_shared<SliceData>(1);
      Value& v = (*n->d)[0];
      v.dtype = DType::String;
      v.s = strings_of(spec["values"]);
      v.shape = {static_cast<int64_t>(v.s.size())};
      n->n = static_cast<int64_t>(v.s.size());
    } else {
      const int64_t k = spec["data"].as_int();
      if (k < 0 || k >= static_cast<int64_t>(slices.size())) throw Error("tensor_slices: missing data");
      n->d = slices[k];
      n->n = -1;
      for (const Value& v : *n->d) {
        if (v.shape.empty()) throw Error("tensor_slices: components must have at least one dimension");
        if (n->n >= 0 && v.shape[0] != n->n)
          throw Error("tensor_slices: all components must have the same first dimension, got " +
                      std::to_string(n->n) + " and " + std::to_string(v.shape[0]));
        n->n = v.shape[0];
        if (static_cast<int64_t>(v.stored()) != v.numel()) throw Error("tensor_slices: data size does not match its shape");
      }
      if (n->n < 0) n->n = 0;
    }
    return n;
  }
  if (op == "map") {
    auto n = std::make_shared<MapNode>();
    n->input = input();
    n->graph = MapGraph::from_json(spec["graph"]);
    n->num_parallel_calls = int_attr(spec, "num_parallel_calls", 0);
    return n;
  }
  if (op == "shuffle") {
    auto n = std::make_shared<ShuffleNode>();
    n->input = input();
    n->buffer_size = int_attr(spec, "buffer_size", 1);
    if (spec.has("seed") && spec["seed"].is_number()) {
      n->has_seed = true;
      n->user_seed = static_cast<uint64_t>(spec["seed"].as_number());
    }
    return n;
  }
  if (op == "repeat") {
    auto n = std::make_shared<RepeatNode>();
    n->input = input();
    n->count = int_attr(spec, "count", -1);
    return n;
  }
  if (op == "batch") {
    auto n = std::make_shared<BatchNode>();
    n->input = input();
    n->batch_size = int_attr(spec, "batch_size", 1);
    if (n->batch_size < 1) throw Error("batch: batch_size must be positive");
    n->drop_remainder = spec.get("drop_remainder", Json(false)).as_bool();
    return n;
  }
  if (op == "prefetch") {
    auto n = std::make_shared<PrefetchNode>();
    n->input = input();
    n->buffer_size = int_attr(spec, "buffer_size", 1);
    if (n->buffer_size < 0) n->buffer_size = 2;  // AUTOTUNE
    if (n->buffer_size == 0) return n->input;
    return n;
  }
  if (op == "take" || op == "skip" || op == "shard") {
    auto n = std::make_shared<TakeSkipNode>();
    n->input = input();
    n->kind = op == "take" ? TakeSkipNode::Take : op == "skip" ? TakeSkipNode::Skip : TakeSkipNode::Shard;
    n->count = int_attr(spec, "count", 0);
    n->num_shards = int_attr(spec, "num_shards", 1);
    n->index = int_attr(spec, "index", 0);
    if (n->kind == TakeSkipNode::Shard && (n->num_shards < 1 || n->index < 0 || n->index >= n->num_shards))
      throw Error("shard: index must be in [0, num_shards)");
    return n;
  }
  if (op == "interleave") {
    auto n = std::make_shared<InterleaveNode>();
    n->input = input();
    n->inner = dataset_from_json(spec["inner"], slices);
    n->cycle = std::max<int64_t>(1, int_attr(spec, "cycle_length", 1));
    n->block = std::max<int64_t>(1, int_attr(spec, "block_length", 1));
    return n;
  }
  throw Error("dataset spec: unknown op '" + op + "'");
}

std::unique_ptr<Iterator> make_pipeline(const DatasetPtr& ds, uint64_t seed) { return ds->make(seed, nullptr); }

}  // namespace kn
