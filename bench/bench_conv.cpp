// Build (after `make test-cpp` has built the engine objects), one line:
//   g++ -std=c++17 -O2 -Isrc/core -Isrc/kernels -Isrc/ops -Isrc/nn bench/bench_conv.cpp
//     _build/cpp/obj/*.o _build/cpp/obj/*/*.o $(pkg-config --libs protobuf hdf5 zlib) -pthread -o /tmp/bench_conv
//
// Per-layer training cost of the seed-002 CNN (M3), batch 128, channels-last:
// 28x28x1 -> Conv2D(32, 5x5, same, relu) -> MaxPooling2D(2) -> Conv2D(64, 5x5,
// same, relu) -> MaxPooling2D(2) -> Flatten -> Dense(1024, relu) -> Dense(10,
// softmax). The first conv needs no input gradient. Prints, for 1 and 2
// threads, ms per batch of each layer's forward and backward and, for the
// convolutions and dense layers, GFLOP/s (multiply-add = 2 flops: forward
// 2*rows*K*F, backward 2*rows*K*F per gradient taken) and the share of the
// measured FMA peak (a register-only FMA loop, same thread count).
// Usage: /tmp/bench_conv [batches=20]
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "gemm.h"
#include "layer.h"
#include "parallel.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define KN_BENCH_X86 1
#endif

using namespace kn;

namespace {
Json obj(std::initializer_list<std::pair<const char*, Json>> kv) {
  Json o = Json::object();
  for (auto& p : kv) o.set(p.first, p.second);
  return o;
}

using clk = std::chrono::steady_clock;
double ms_since(clk::time_point t0) { return std::chrono::duration<double, std::milli>(clk::now() - t0).count(); }

#ifdef KN_BENCH_X86
// 12 independent FMA chains on 16-float registers: flops = iters * 12 * 16 * 2.
__attribute__((target("avx512f"))) float fma_loop_avx512(int64_t iters) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(0.001f * i);
  const __m512 a = _mm512_set1_ps(0.9999f), b = _mm512_set1_ps(1e-6f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}
__attribute__((target("avx2,fma"))) float fma_loop_avx2(int64_t iters) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(0.001f * i);
  const __m256 a = _mm256_set1_ps(0.9999f), b = _mm256_set1_ps(1e-6f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  float out[8];
  __m256 s = acc[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, acc[i]);
  _mm256_storeu_ps(out, s);
  return out[0];
}
#endif

// Measured FMA peak (GFLOP/s) with `threads` threads, best of 5.
double fma_peak(int threads) {
#ifdef KN_BENCH_X86
  const bool avx512 = __builtin_cpu_supports("avx512f");
  const int64_t iters = 20000000;
  const double flops = static_cast<double>(iters) * 12 * (avx512 ? 16 : 8) * 2 * threads;
  double best = 0;
  volatile float sink = 0;
  for (int rep = 0; rep < 5; ++rep) {
    auto t0 = clk::now();
    parallel_for(threads, [&](int64_t) { sink = sink + (avx512 ? fma_loop_avx512(iters) : fma_loop_avx2(iters)); });
    best = std::max(best, flops / (ms_since(t0) * 1e6));
  }
  return best;
#else
  (void)threads;
  return 0;
#endif
}

struct Stage {
  const char* label;
  LayerPtr layer;
  double fwd_flops = 0, bwd_flops = 0;  // per batch
  bool need_dx = true;
  Scratch scratch;
  Tensor y, dx;         // output (N, ...) and input gradient
  double fwd_ms = 0, bwd_ms = 0;
};

std::vector<Stage> m3_stages() {
  std::vector<Stage> st(8);
  st[0] = {"conv2d 28x28x1->32 5x5", make_layer("Conv2D", obj({{"name", "c1"}, {"filters", Json(32)},
           {"kernel_size", Json(5)}, {"padding", "same"}, {"activation", "relu"}}))};
  st[0].need_dx = false;
  st[1] = {"maxpool 2x2", make_layer("MaxPooling2D", obj({{"name", "p1"}}))};
  st[2] = {"conv2d 14x14x32->64 5x5", make_layer("Conv2D", obj({{"name", "c2"}, {"filters", Json(64)},
           {"kernel_size", Json(5)}, {"padding", "same"}, {"activation", "relu"}}))};
  st[3] = {"maxpool 2x2", make_layer("MaxPooling2D", obj({{"name", "p2"}}))};
  st[4] = {"flatten", make_layer("Flatten", obj({{"name", "f"}}))};
  st[5] = {"dense 3136->1024", make_layer("Dense", obj({{"name", "d1"}, {"units", Json(1024)}, {"activation", "relu"}}))};
  st[6] = {"dense 1024->10", make_layer("Dense", obj({{"name", "d2"}, {"units", Json(10)}, {"activation", "softmax"}}))};
  st.pop_back();
  return st;
}
}  // namespace

int main(int argc, char** argv) {
  const int batches = argc > 1 ? std::atoi(argv[1]) : 20;
  const int64_t N = 128;
  std::printf("sgemm kernel: %s\n", sgemm_kernel_name());
  for (int threads = 1; threads <= 2; ++threads) {
    set_num_threads(threads);
    const double peak = fma_peak(threads);
    std::vector<Stage> st = m3_stages();
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
      if (!stage.layer->params.empty()) {  // conv / dense: 2 * rows * K * F per product
        const Shape& k = stage.layer->params[0].value.shape;
        const double KF = static_cast<double>(shape_numel(k));
        const double rows = static_cast<double>(N) * shape_numel(s) / k.back();
        stage.fwd_flops = 2 * rows * KF;
        stage.bwd_flops = stage.fwd_flops * (stage.need_dx ? 2 : 1);
      }
    }
    Tensor dlast(st.back().y.shape);
    for (auto& v : dlast.data) v = static_cast<float>(rng.uniform() - 0.5) * 0.01f;
    for (size_t i = 0; i < st.size(); ++i) {
      Shape full{N};
      full.insert(full.end(), in_shapes[i].begin(), in_shapes[i].end());
      st[i].dx = Tensor(full);
    }
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
        if (timed) stage.fwd_ms += ms_since(t0);
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
        if (timed) stage.bwd_ms += ms_since(t0);
        dy = &stage.dx;
      }
      if (timed) total_ms += ms_since(t_all);
    }
    std::printf("threads %d, batch %lld, %d batches; measured FMA peak %.0f GFLOP/s\n", threads,
                static_cast<long long>(N), batches, peak);
    std::printf("  %-26s %9s %9s %10s %10s %7s %7s\n", "layer", "fwd ms", "bwd ms", "fwd GF/s", "bwd GF/s",
                "fwd %pk", "bwd %pk");
    for (auto& stage : st) {
      const double f = stage.fwd_ms / batches, bk = stage.bwd_ms / batches;
      if (stage.fwd_flops > 0) {
        const double gf = stage.fwd_flops / (f * 1e6), gb = stage.bwd_flops / (bk * 1e6);
        std::printf("  %-26s %9.3f %9.3f %10.1f %10.1f %6.0f%% %6.0f%%\n", stage.label, f, bk, gf, gb,
                    100 * gf / peak, 100 * gb / peak);
      } else {
        std::printf("  %-26s %9.3f %9.3f\n", stage.label, f, bk);
      }
    }
    const double per = total_ms / batches;
    std::printf("  %-26s %9.3f ms  -> %.0f img/s (layers only, no loss/optimizer)\n", "total", per, N * 1000.0 / per);
  }
  return 0;
}
