// GEMM throughput for the shapes the seed models use, per kernel, 1 and 2 threads.
// Build (R's plain flags, no -march):
//   g++ -std=c++17 -O2 -Wall -Isrc/core -Isrc/kernels bench/bench_gemm.cpp src/kernels/gemm.cpp src/core/parallel.cpp -pthread -o /tmp/bench_gemm
// Run: /tmp/bench_gemm [kernel...]   (default: every kernel the CPU supports)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "gemm.h"
#include "parallel.h"

namespace kn { bool sgemm_set_kernel(const char* name); }

namespace {

struct Shape { const char* label; bool ta, tb; int64_t M, N, K; };

double bench_one(const Shape& s, int threads) {
  const int64_t a_rows = s.ta ? s.K : s.M, a_cols = s.ta ? s.M : s.K;
  const int64_t b_rows = s.tb ? s.N : s.K, b_cols = s.tb ? s.K : s.N;
  std::vector<float> A(a_rows * a_cols);  // (M, K), or (K, M) when ta
  std::vector<float> B(b_rows * b_cols);  // (K, N), or (N, K) when tb
  std::vector<float> C(s.M * s.N);        // (M, N)
  for (size_t i = 0; i < A.size(); ++i) A[i] = static_cast<float>((i * 7 + 3) % 13) * 0.1f - 0.6f;
  for (size_t i = 0; i < B.size(); ++i) B[i] = static_cast<float>((i * 5 + 1) % 11) * 0.1f - 0.5f;
  kn::set_num_threads(threads);
  auto run = [&] {
    kn::sgemm(s.ta, s.tb, s.M, s.N, s.K, 1.0f, A.data(), a_cols, B.data(), b_cols, 0.0f,
              C.data(), s.N);
  };
  run();  // warm-up (also grows the packing buffers)
  const double flop = 2.0 * s.M * s.N * s.K;
  // Enough repetitions for ~0.3 s, best of 5 rounds.
  auto t0 = std::chrono::steady_clock::now();
  run();
  double one = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int reps = std::max(1, static_cast<int>(0.1 / std::max(one, 1e-7)));
  double best = 1e30;
  for (int round = 0; round < 5; ++round) {
    t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) run();
    double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
    best = std::min(best, dt);
  }
  return flop / best * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  const Shape shapes[] = {
      {"512x512x512          ", false, false, 512, 512, 512},
      {"conv1 86528x32x9     ", false, false, 86528, 32, 9},
      {"conv2 15488x64x288   ", false, false, 15488, 64, 288},
      {"dense 128x512x1600   ", false, false, 128, 512, 1600},
      {"dW 1600x512x128 (Ta) ", true, false, 1600, 512, 128},
      {"dX 128x1600x512 (Tb) ", false, true, 128, 1600, 512},
      {"conv2 dW 288x64x15488 (Ta)", true, false, 288, 64, 15488},
      {"conv2 dX 15488x288x64 (Tb)", false, true, 15488, 288, 64},
      {"conv1 dW 9x32x86528 (Ta)", true, false, 9, 32, 86528},
      {"img 784x32x9         ", false, false, 784, 32, 9},
      {"img 676x64x288       ", false, false, 676, 64, 288},
      {"dense 128x10x512     ", false, false, 128, 10, 512},
      {"dense 128x256x3136   ", false, false, 128, 256, 3136},
  };
  std::vector<std::string> kernels;
  for (int i = 1; i < argc; ++i) kernels.push_back(argv[i]);
  if (kernels.empty()) kernels = {"generic", "avx2", "avx512"};
  std::printf("%-27s %-8s %10s %10s   (GFLOP/s)\n", "shape (M x N x K)", "kernel", "1 thread", "2 threads");
  for (const auto& kname : kernels) {
    if (!kn::sgemm_set_kernel(kname.c_str())) {
      std::printf("kernel %s not supported on this CPU, skipped\n", kname.c_str());
      continue;
    }
    for (const Shape& s : shapes) {
      double g1 = bench_one(s, 1), g2 = bench_one(s, 2);
      std::printf("%-27s %-8s %10.1f %10.1f\n", s.label, kn::sgemm_kernel_name(), g1, g2);
      std::fflush(stdout);
    }
  }
  return 0;
}
