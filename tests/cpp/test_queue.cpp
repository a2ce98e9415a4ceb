// The TF1 input queue (src/data/queue.h): order, pairing, the capacity bound,
// exactly-once delivery per epoch, and determinism whatever the thread count.
#include <algorithm>
#include <map>

#include "harness.h"
#include "parallel.h"
#include "queue.h"

using namespace kn;

namespace {
// Components: x (n, 2) with row i = (i, 10 i); y (n) = i.
std::vector<Tensor> data(int64_t n) {
  Tensor x({n, 2}), y({n});
  for (int64_t i = 0; i < n; ++i) { x.data[2 * i] = i; x.data[2 * i + 1] = 10.0f * i; y.data[i] = i; }
  return {x, y};
}
std::vector<float> draw(int threads, uint64_t seed, int batches) {
  QueueOptions o;
  o.batch_size = 6; o.capacity = 30; o.min_after_dequeue = 10; o.num_threads = threads; o.seed = seed;
  ExampleQueue q(data(100), {DType::Float32, DType::Int32}, o);
  q.start();
  std::vector<float> out;
  std::vector<Tensor> b;
  for (int i = 0; i < batches; ++i) {
    CHECK(q.dequeue(b));
    out.insert(out.end(), b[1].data.begin(), b[1].data.end());
  }
  return out;
}
}  // namespace

TEST(fifo_order_and_pairing) {
  set_num_threads(4);
  QueueOptions o;
  o.batch_size = 7; o.capacity = 14; o.shuffle = false; o.num_threads = 3;
  ExampleQueue q(data(10), {DType::Float32, DType::Int32}, o);
  std::vector<Tensor> b;
  CHECK_THROWS(q.dequeue(b), "start_queue_runners");
  q.start();
  for (int k = 0; k < 5; ++k) {
    CHECK(q.dequeue(b));
    CHECK(b[0].shape == (Shape{7, 2}) && b[1].shape == (Shape{7}));
    for (int i = 0; i < 7; ++i) {
      const float want = static_cast<float>((k * 7 + i) % 10);  // the data repeated, in order
      CHECK(b[1].data[i] == want);
      CHECK(b[0].data[2 * i] == want && b[0].data[2 * i + 1] == 10 * want);
    }
    CHECK(q.pool_size() <= 14);
  }
}

TEST(shuffle_exactly_once_per_epoch) {
  QueueOptions o;
  o.batch_size = 8; o.capacity = 24; o.min_after_dequeue = 8; o.num_threads = 4; o.num_epochs = 3;
  o.allow_smaller_final_batch = true; o.seed = 5;
  ExampleQueue q(data(37), {DType::Float32, DType::Int32}, o);
  q.start();
  std::map<int, int> count;
  std::vector<Tensor> b;
  int64_t total = 0, batches = 0;
  while (q.dequeue(b)) {
    for (float v : b[1].data) ++count[static_cast<int>(v)];
    total += b[1].shape[0];
    ++batches;
    CHECK(q.pool_size() <= 24);
  }
  CHECK(total == 111);
  CHECK(batches == 14);  // 13 full batches and one of 7
  CHECK(count.size() == 37);
  for (auto& c : count) CHECK(c.second == 3);
}

TEST(shuffle_deterministic_across_threads) {
  set_num_threads(4);
  std::vector<float> a = draw(1, 42, 40), b = draw(4, 42, 40), c = draw(4, 43, 40);
  CHECK(a == b);
  CHECK(a != c);
  std::vector<float> first(a.begin(), a.begin() + 6);
  CHECK(first != (std::vector<float>{0, 1, 2, 3, 4, 5}));
}

TEST(bad_options) {
  QueueOptions o;
  o.batch_size = 8; o.capacity = 10; o.min_after_dequeue = 5;
  CHECK_THROWS(ExampleQueue(data(20), {DType::Float32, DType::Int32}, o), "min_after_dequeue");
  o.capacity = 4; o.shuffle = false;
  CHECK_THROWS(ExampleQueue(data(20), {DType::Float32, DType::Int32}, o), "at least `batch_size`");
  Tensor short_y({5});
  o.capacity = 16;
  CHECK_THROWS(ExampleQueue({data(20)[0], short_y}, {DType::Float32, DType::Int32}, o), "same number of examples");
}

KN_TEST_MAIN
