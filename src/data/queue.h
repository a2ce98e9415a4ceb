// TensorFlow 1.x input queues (tf$train$shuffle_batch(), tf$train$batch(),
// numpy_input_fn): a bounded queue over in-memory examples, filled by worker
// threads (the "queue runners") and drained one batch at a time.
//
// The stream of examples is the data in order, repeated `num_epochs` times
// (forever when -1), so every example is delivered exactly once per pass.
// Workers claim stream positions, copy those examples into free slots (at most
// `capacity` slots) and publish them; the consumer admits published examples
// to the pool strictly in stream order. In shuffling mode a dequeue first
// fills the pool to min(capacity, examples left) and then draws `batch_size`
// examples uniformly from it with a generator seeded from R, so the batches
// depend only on the seed, never on thread timing. After a dequeue at least
// capacity - batch_size >= min_after_dequeue examples remain (until the end of
// a finite stream). Workers never touch R.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "dtype.h"
#include "rng.h"
#include "tensor.h"

namespace kn {

struct QueueOptions {
  int64_t batch_size = 32;
  int64_t capacity = 32;
  int64_t min_after_dequeue = 0;
  bool shuffle = true;
  int num_threads = 1;            // workers (capped by the engine's thread count)
  int64_t num_epochs = -1;        // passes over the data, -1 = forever
  bool allow_smaller_final_batch = false;
  uint64_t seed = 0;
};

class ExampleQueue {
 public:
  // `components[k]`: (N, shape_k...) (all the same N); `dtypes[k]` travels with them.
  ExampleQueue(std::vector<Tensor> components, std::vector<DType> dtypes, QueueOptions opt);
  ~ExampleQueue();
  ExampleQueue(const ExampleQueue&) = delete;
  ExampleQueue& operator=(const ExampleQueue&) = delete;

  void start();  // launch the workers (no-op when running)
  void stop();   // ask the workers to stop and join them; the queue stays usable after start()
  bool running() const { return !workers_.empty(); }
  // One batch: out[k] = (b, shape_k...). False once a finite stream is drained
  // (or fewer than batch_size examples are left and smaller batches are not allowed).
  // Throws kn::Error when the workers are not running.
  bool dequeue(std::vector<Tensor>& out);
  int64_t pool_size();            // examples admitted and not yet dequeued
  int64_t examples() const { return n_; }
  const std::vector<DType>& dtypes() const { return dtypes_; }
  const QueueOptions& options() const { return opt_; }
  std::vector<Shape> example_shapes() const;  // per-example shape of each component

 private:
  std::vector<Tensor> data_;       // (N, ...) per component
  std::vector<DType> dtypes_;
  std::vector<int64_t> row_;       // values per example, per component
  QueueOptions opt_;
  int64_t n_ = 0;                  // examples per pass
  int64_t total_ = -1;             // stream length, -1 = endless
  std::vector<std::vector<float>> slots_;  // per component: capacity * row values
  std::vector<int> free_;          // free slot ids
  std::map<int64_t, int> ready_;   // published stream position -> slot
  std::vector<int> pool_;          // admitted slots, in admission order
  int64_t next_claim_ = 0, next_admit_ = 0, dequeued_ = 0;
  bool stop_ = false;
  Rng rng_;
  std::mutex mu_;
  std::condition_variable cv_work_, cv_ready_;
  std::vector<std::thread> workers_;
  void work();
  void admit();  // under mu_
};

}  // namespace kn
