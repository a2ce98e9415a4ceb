// g++ -std=c++17 -O2 -Wall -Isrc/core -Isrc/kernels -Isrc/nn -Isrc/data -Isrc/formats bench/bench_conv.cpp src/nn/layers_conv.cpp src/nn/layers_pooling.cpp src/nn/layers_core.cpp src/nn/layer.cpp src/core/json.cpp src/nn/activations.cpp src/nn/initializers.cpp src/kernels/gemm.cpp src/core/parallel.cpp -pthread -o /tmp/bench_conv
//
// Times the seed CNN's layers per batch of 128 (forward + backward, as in
// training): 28x28x1 -> Conv2D(32, 3x3, relu) -> MaxPooling2D(2) ->
// Conv2D(64, 3x3, relu) -> MaxPooling2D(2) -> Flatten -> Dense(512, relu) ->
// Dense(10, softmax). The first conv needs no input gradient. Prints ms per
// batch for each layer and the whole chain, and images/s, for 1 and 2 threads.
// Usage: /tmp/bench_conv [batches=30]
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "gemm.h"
#include "layer.h"
#include "parallel.h"

using namespace kn;

namespace {
Json obj(std::initializer_list<std::pair<const char*, Json>> kv) {
  Json o = Json::object();
  for (auto& p : kv) o.set(p.first, p.second);
  return o;
}

struct Stage {
  const char* label;
  LayerPtr layer;
  Scratch scratch;
  Tensor y, dx;       // output (N, ...) and input gradient
  bool need_dx = true;
  double ms = 0;      // accumulated fwd + bwd
};
}  // namespace

int main(int argc, char** argv) {
  const int batches = argc > 1 ? std::atoi(argv[1]) : 30;
  const int64_t N = 128;
  std::printf("sgemm kernel: %s\n", sgemm_kernel_name());
  for (int threads = 1; threads <= 2; ++threads) {
    set_num_threads(threads);
    std::vector<Stage> st(7);
    st[0] = {"conv2d 28x28x1->32 relu", make_layer("Conv2D", obj({{"name", "c1"}, {"filters", Json(32)},
                                                                {"kernel_size", Json(3)}, {"activation", "relu"}}))};
    st[0].need_dx = false;
    st[1] = {"maxpool 2x2", make_layer("MaxPooling2D", obj({{"name", "p1"}}))};
    st[2] = {"conv2d 13x13x32->64 relu", make_layer("Conv2D", obj({{"name", "c2"}, {"filters", Json(64)},
                                                                 {"kernel_size", Json(3)}, {"activation", "relu"}}))};
    st[3] = {"maxpool 2x2", make_layer("MaxPooling2D", obj({{"name", "p2"}}))};
    st[4] = {"flatten", make_layer("Flatten", obj({{"name", "f"}}))};
    st[5] = {"dense 1600->512 relu", make_layer("Dense", obj({{"name", "d1"}, {"units", Json(512)},
                                                             {"activation", "relu"}}))};
    st[6] = {"dense 512->10 softmax", make_layer("Dense", obj({{"name", "d2"}, {"units", Json(10)},
                                                              {"activation", "softmax"}}))};
    Rng rng(1);
    Shape s{28, 28, 1};
    Tensor x({N, 28, 28, 1});
    for (auto& v : x.data) v = static_cast<float>(rng.uniform());
    std::vector<Shape> in_shapes;
    for (auto& stage : st) {
      in_shapes.push_back(s);
      s = stage.layer->build({s}, rng);
      Shape full{N};
      full.insert(full.end(), s.begin(), s.end());
      stage.y = Tensor(full);
    }
    Tensor dlast(st.back().y.shape);
    for (auto& v : dlast.data) v = static_cast<float>(rng.uniform() - 0.5) * 0.01f;
    for (size_t i = 0; i < st.size(); ++i) {
      Shape full{N};
      full.insert(full.end(), in_shapes[i].begin(), in_shapes[i].end());
      st[i].dx = Tensor(full);
    }
    using clk = std::chrono::steady_clock;
    double total_ms = 0;
    for (int b = -2; b < batches; ++b) {  // 2 warm-up batches
      const bool timed = b >= 0;
      auto t_all = clk::now();
      const Tensor* in = &x;
      for (auto& stage : st) {
        RunContext ctx;
        ctx.training = true;
        ctx.scratch = &stage.scratch;
        auto t0 = clk::now();
        stage.layer->forward(ctx, {in}, stage.y);
        if (timed) stage.ms += std::chrono::duration<double, std::milli>(clk::now() - t0).count();
        in = &stage.y;
      }
      const Tensor* dy = &dlast;
      for (int i = static_cast<int>(st.size()) - 1; i >= 0; --i) {
        Stage& stage = st[i];
        RunContext ctx;
        ctx.training = true;
        ctx.scratch = &stage.scratch;
        for (auto& p : stage.layer->params) p.grad.zero();
        const Tensor* xin = i == 0 ? &x : &st[i - 1].y;
        auto t0 = clk::now();
        if (stage.need_dx) stage.dx.zero();
        stage.layer->backward(ctx, {xin}, stage.y, *dy, {stage.need_dx ? &stage.dx : nullptr});
        if (timed) stage.ms += std::chrono::duration<double, std::milli>(clk::now() - t0).count();
        dy = &stage.dx;
      }
      if (timed) total_ms += std::chrono::duration<double, std::milli>(clk::now() - t_all).count();
    }
    std::printf("threads %d, batch %lld, %d batches (fwd+bwd ms per batch):\n", threads,
                static_cast<long long>(N), batches);
    for (auto& stage : st) std::printf("  %-28s %8.3f\n", stage.label, stage.ms / batches);
    const double per = total_ms / batches;
    std::printf("  %-28s %8.3f  -> %.0f img/s (layers only, no loss/optimizer)\n", "total", per,
                N * 1000.0 / per);
  }
  return 0;
}
