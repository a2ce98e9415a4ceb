// Test-build allocation counter: this binary replaces the global operator new
// (every std::vector / Tensor buffer of the engine goes through it) and counts
// calls, all of them and those of at least 1 KiB (tensor buffers). A training
// epoch of 8 steps must allocate as many buffers as one of 4 steps: no
// buffer is allocated per step in steady state (the batch, activations,
// gradients and optimizer slots are planned once). Small bookkeeping vectors
// (layer and parameter lists, metric values) are still allocated per step:
// the test prints their count per step (known, see bench/README.md).
#include <atomic>
#include <cstdlib>
#include <new>

#include "harness.h"
#include "model.h"
#include "parallel.h"

namespace {
std::atomic<long> g_allocs{0}, g_buffers{0};  // all; >= 1 KiB
}

void* operator new(std::size_t n) {
  ++g_allocs;
  if (n >= 1024) ++g_buffers;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

using namespace kn;

namespace {

LayerPtr layer(const std::string& cls, const std::string& cfg) { return make_layer(cls, Json::parse(cfg)); }

// Input(20) -> Dense(16, relu) -> Dropout(0.3) -> Dense(4, softmax), RMSprop
struct Mlp {
  Model m;
  ArrayData d;
  explicit Mlp(int64_t n) {
    Graph& g = m.graph;
    int x = g.add_input({20}, "x");
    int h = g.add(layer("Dense", R"({"name": "d1", "units": 16, "activation": "relu"})"), {x}, m.rng);
    int r = g.add(layer("Dropout", R"({"name": "dr", "rate": 0.3})"), {h}, m.rng);
    int o = g.add(layer("Dense", R"({"name": "d2", "units": 4, "activation": "softmax"})"), {r}, m.rng);
    g.inputs = {x};
    g.outputs = {o};
    m.compile({"categorical_crossentropy"}, {}, true, make_optimizer("RMSprop", Json::parse(R"({"lr": 0.01})")));
    d.x.emplace_back(Shape{n, 20});
    d.y.emplace_back(Shape{n, 4});
    Rng rng(3);
    for (auto& v : d.x[0].data) v = static_cast<float>(rng.uniform() * 2 - 1);
    for (int64_t i = 0; i < n; ++i) d.y[0].data[i * 4 + rng.below(4)] = 1.0f;
  }
  // Heap allocations (>= 1 KiB, or all) of one training epoch over the first `steps` batches of 32.
  long train_allocs(int64_t steps, long* all = nullptr) {
    std::vector<int64_t> order(static_cast<size_t>(steps * 32));
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    ArraySource src(d, std::move(order), 32);
    bool stopped = false;
    BatchCallback cb = [](int64_t, const std::vector<double>&) { return true; };
    const long a = g_buffers.load(), b = g_allocs.load();
    m.train_epoch(src, 7, cb, stopped);
    if (all) *all = g_allocs.load() - b;
    return g_buffers.load() - a;
  }
  long predict_allocs(int64_t steps) {
    std::vector<int64_t> order(static_cast<size_t>(steps * 32));
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    ArraySource src(d, std::move(order), 32);
    bool stopped = false;
    BatchCallback cb = [](int64_t, const std::vector<double>&) { return true; };
    const long a = g_buffers.load();
    m.predict(src, cb, stopped);
    return g_buffers.load() - a;
  }
};

}  // namespace

TEST(the_counter_counts_engine_buffers) {
  const long a = g_allocs.load(), b = g_buffers.load();
  Tensor small(Shape{3, 4}), big(Shape{16, 16});  // 48 B, 1 KiB of floats
  CHECK(g_allocs.load() - a >= 2);
  CHECK(g_buffers.load() - b == 1);
}

TEST(training_steps_allocate_nothing_in_steady_state) {
  set_num_threads(1);
  Mlp net(512);
  net.train_allocs(4);  // warm-up: buffers, optimizer slots
  net.train_allocs(4);
  long all4 = 0, all8 = 0;
  const long four = net.train_allocs(4, &all4), eight = net.train_allocs(8, &all8), twelve = net.train_allocs(12);
  std::printf("  buffer allocations per training epoch: 4 steps %ld, 8 steps %ld, 12 steps %ld; "
              "small bookkeeping allocations per step: %.1f\n", four, eight, twelve, (all8 - all4) / 4.0);
  CHECK(eight == four);
  CHECK(twelve == four);
}

TEST(training_steps_allocate_nothing_with_two_threads) {
  set_num_threads(2);
  Mlp net(512);
  net.train_allocs(4);
  net.train_allocs(4);
  const long four = net.train_allocs(4), eight = net.train_allocs(8);
  std::printf("  2 threads: 4 steps %ld, 8 steps %ld\n", four, eight);
  CHECK(eight == four);
  set_num_threads(1);
}

TEST(predict_allocates_only_its_output_per_call) {
  set_num_threads(1);
  Mlp net(512);
  net.predict_allocs(4);
  const long four = net.predict_allocs(4), eight = net.predict_allocs(8);
  std::printf("  buffer allocations per predict(): 4 batches %ld, 8 batches %ld\n", four, eight);
  // the output grows with the batches (vector doubling): at most a few more
  CHECK(eight - four <= 2);
}

KN_TEST_MAIN
