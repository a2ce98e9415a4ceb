// g++ -std=c++17 -O2 -Wall -Isrc/core -Isrc/kernels -Isrc/nn -Isrc/data -Isrc/formats tests/cpp/test_gemm.cpp src/kernels/gemm.cpp src/core/parallel.cpp -pthread -o /tmp/test_gemm
//
// sgemm checked against a naive double-precision triple loop for every kernel
// the CPU supports, all four transpose cases, odd sizes, alpha/beta variants
// and padded leading dimensions; plus thread-count invariance (bitwise).
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "gemm.h"
#include "harness.h"
#include "parallel.h"

namespace kn { bool sgemm_set_kernel(const char* name); }  // test hook in gemm.cpp

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();

// Deterministic values in [-1, 1).
struct Lcg {
  uint64_t s;
  explicit Lcg(uint64_t seed) : s(seed * 2654435761u + 12345) {}
  float next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<float>((s >> 40) & 0xFFFFFF) / 8388608.0f - 1.0f;
  }
};

std::vector<std::string> kernels() {
  std::vector<std::string> out;
  for (const char* k : {"generic", "avx2", "avx512"})
    if (kn::sgemm_set_kernel(k)) out.push_back(k);
  kn::sgemm_set_kernel(nullptr);  // back to the default choice
  return out;
}

// One checked product. Storage: A is (M, K) or (K, M) when ta, row stride lda;
// B is (K, N) or (N, K) when tb; C is (M, N) with row stride ldc. Padding
// elements are NaN so reading them shows up; C's padding must stay untouched.
// Returns the number of failing elements (also reported through CHECK).
int check_case(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, float beta,
               int64_t pad_a, int64_t pad_b, int64_t pad_c, bool nan_c, uint64_t seed,
               bool threaded = true) {
  const int64_t a_rows = ta ? K : M, a_cols = ta ? M : K;
  const int64_t b_rows = tb ? N : K, b_cols = tb ? K : N;
  const int64_t lda = a_cols + pad_a, ldb = b_cols + pad_b, ldc = N + pad_c;
  std::vector<float> A(std::max<int64_t>(1, a_rows * lda), kNaN);   // (a_rows, lda)
  std::vector<float> B(std::max<int64_t>(1, b_rows * ldb), kNaN);   // (b_rows, ldb)
  std::vector<float> C(std::max<int64_t>(1, M * ldc), kNaN);        // (M, ldc)
  Lcg rng(seed);
  for (int64_t r = 0; r < a_rows; ++r)
    for (int64_t c = 0; c < a_cols; ++c) A[r * lda + c] = rng.next();
  for (int64_t r = 0; r < b_rows; ++r)
    for (int64_t c = 0; c < b_cols; ++c) B[r * ldb + c] = rng.next();
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = nan_c ? kNaN : rng.next();
  const std::vector<float> C0 = C;
  if (threaded)
    kn::sgemm(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  else
    kn::sgemm_st(ta, tb, M, N, K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  int bad = 0;
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      double s = 0, sabs = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double a = ta ? A[k * lda + i] : A[i * lda + k];
        const double b = tb ? B[j * ldb + k] : B[k * ldb + j];
        s += a * b;
        sabs += std::fabs(a * b);
      }
      double ref = alpha * s, mag = std::fabs(alpha) * sabs;
      if (beta != 0.0f) {
        ref += static_cast<double>(beta) * C0[i * ldc + j];
        mag += std::fabs(static_cast<double>(beta) * C0[i * ldc + j]);
      }
      // float32 accumulation error grows at most linearly with K.
      const double tol = 2.0 * (K + 2) * 1.2e-7 * mag + 1e-30;
      const double got = C[i * ldc + j];
      if (!(std::fabs(got - ref) <= tol)) {
        if (bad < 3)
          std::printf("  %s ta=%d tb=%d M=%lld N=%lld K=%lld alpha=%g beta=%g C[%lld,%lld]=%.9g ref=%.9g\n",
                      kn::sgemm_kernel_name(), ta, tb, (long long)M, (long long)N, (long long)K,
                      alpha, beta, (long long)i, (long long)j, got, ref);
        ++bad;
      }
    }
    for (int64_t j = N; j < ldc; ++j) {  // padding of C untouched (still NaN)
      if (!std::isnan(C[i * ldc + j])) {
        if (bad < 3) std::printf("  C padding written at row %lld col %lld\n", (long long)i, (long long)j);
        ++bad;
      }
    }
  }
  CHECK(bad == 0);
  return bad;
}

}  // namespace

TEST(hand_computed_2x3_times_3x2) {
  // [1 2 3; 4 5 6] * [7 8; 9 10; 11 12] = [58 64; 139 154]
  const float A[] = {1, 2, 3, 4, 5, 6};
  const float B[] = {7, 8, 9, 10, 11, 12};
  const float At[] = {1, 4, 2, 5, 3, 6};   // A^T stored (3, 2)
  const float Bt[] = {7, 9, 11, 8, 10, 12};  // B^T stored (2, 3)
  for (const auto& k : kernels()) {
    kn::sgemm_set_kernel(k.c_str());
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      float C[4] = {kNaN, kNaN, kNaN, kNaN};
      kn::sgemm(ta, tb, 2, 2, 3, 1.0f, ta ? At : A, ta ? 2 : 3, tb ? Bt : B, tb ? 3 : 2, 0.0f, C, 2);
      CHECK_NEAR(C[0], 58, 0); CHECK_NEAR(C[1], 64, 0);
      CHECK_NEAR(C[2], 139, 0); CHECK_NEAR(C[3], 154, 0);
    }
    // alpha = 2, beta = -1 on C = ones: 2*58-1 = 115 ...
    float C[4] = {1, 1, 1, 1};
    kn::sgemm(false, false, 2, 2, 3, 2.0f, A, 3, B, 2, -1.0f, C, 2);
    CHECK_NEAR(C[0], 115, 0); CHECK_NEAR(C[1], 127, 0);
    CHECK_NEAR(C[2], 277, 0); CHECK_NEAR(C[3], 307, 0);
  }
  kn::sgemm_set_kernel(nullptr);
}

TEST(kernel_name_matches_selection) {
  for (const auto& k : kernels()) {
    CHECK(kn::sgemm_set_kernel(k.c_str()));
    CHECK(std::string(kn::sgemm_kernel_name()) == k);
  }
  CHECK(!kn::sgemm_set_kernel("sse9"));
  CHECK(!kn::sgemm_set_kernel(""));
  // KERASNATIVE_GEMM picks the default kernel (re-read by sgemm_set_kernel(nullptr)).
  const char* old = std::getenv("KERASNATIVE_GEMM");
  const std::string saved = old ? old : "";
  setenv("KERASNATIVE_GEMM", "generic", 1);
  kn::sgemm_set_kernel(nullptr);
  CHECK(std::string(kn::sgemm_kernel_name()) == "generic");
  if (old) setenv("KERASNATIVE_GEMM", saved.c_str(), 1); else unsetenv("KERASNATIVE_GEMM");
  kn::sgemm_set_kernel(nullptr);
  std::printf("  default kernel: %s\n", kn::sgemm_kernel_name());
}

TEST(odd_sizes_all_kernels_all_trans) {
  int cases = 0;
  for (const auto& k : kernels()) {
    kn::sgemm_set_kernel(k.c_str());
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      for (int64_t x = 1; x <= 37; ++x) {
        // Sweep each dimension over 1..37 with the others varying too.
        const int64_t y = (x * 7) % 37 + 1, z = (x * 13) % 37 + 1;
        check_case(ta, tb, x, y, z, 1.0f, 0.0f, 0, 0, 0, false, x * 10 + t);
        check_case(ta, tb, y, x, z, 1.0f, 0.0f, 0, 0, 0, false, x * 10 + t + 1);
        check_case(ta, tb, z, y, x, 1.0f, 0.0f, 0, 0, 0, false, x * 10 + t + 2);
        cases += 3;
      }
    }
  }
  kn::sgemm_set_kernel(nullptr);
  CHECK(cases > 0);
}

TEST(large_sizes_cross_block_boundaries) {
  // Sizes crossing the K block (256), the row block (MC) and task boundaries.
  const int64_t sizes[][3] = {{300, 70, 600}, {515, 97, 260}, {64, 1000, 33},
                              {29, 33, 513}, {700, 32, 9}, {128, 10, 784},
                              {7, 300, 100}, {14, 129, 513},  // one row tile, wide B
                              {20, 40, 12000}};  // last: few output tiles, K split in parts
  for (const auto& k : kernels()) {
    kn::sgemm_set_kernel(k.c_str());
    for (int t = 0; t < 4; ++t)
      for (const auto& s : sizes)
        check_case(t & 1, t & 2, s[0], s[1], s[2], 1.0f, 0.0f, 0, 0, 0, false, 99 + t);
  }
  kn::sgemm_set_kernel(nullptr);
}

TEST(alpha_beta_and_leading_dims) {
  const float ab[][2] = {{1.0f, 0.0f}, {0.5f, 1.0f}, {-1.5f, 0.25f}, {2.0f, -1.0f}};
  const int64_t sizes[][3] = {{1, 1, 1}, {13, 17, 5}, {37, 35, 300}, {15, 33, 29}, {9, 32, 30000},
                              {5, 100, 40}, {5, 96, 40}};
  for (const auto& k : kernels()) {
    kn::sgemm_set_kernel(k.c_str());
    for (int t = 0; t < 4; ++t)
      for (const auto& s : sizes)
        for (const auto& p : ab) {
          check_case(t & 1, t & 2, s[0], s[1], s[2], p[0], p[1], 3, 5, 7, false, 7 + t);
          check_case(t & 1, t & 2, s[0], s[1], s[2], p[0], p[1], 0, 0, 0, false, 8 + t, false);
        }
  }
  kn::sgemm_set_kernel(nullptr);
}

TEST(beta_zero_ignores_nan_in_c) {
  for (const auto& k : kernels()) {
    kn::sgemm_set_kernel(k.c_str());
    for (int t = 0; t < 4; ++t) {
      check_case(t & 1, t & 2, 19, 45, 300, 1.0f, 0.0f, 1, 2, 3, true, 5);
      check_case(t & 1, t & 2, 3, 2, 1, -2.0f, 0.0f, 0, 0, 0, true, 6);
    }
  }
  kn::sgemm_set_kernel(nullptr);
}

TEST(k_zero_and_alpha_zero_only_scale_c) {
  std::vector<float> C = {1, 2, 3, 4, 5, 6};  // (2, 3)
  const float dummy = kNaN;  // A and B must not be read
  kn::sgemm(false, false, 2, 3, 0, 1.0f, &dummy, 1, &dummy, 3, 0.5f, C.data(), 3);
  CHECK_NEAR(C[0], 0.5, 0); CHECK_NEAR(C[5], 3.0, 0);
  std::vector<float> A(2 * 4, kNaN), B(4 * 3, kNaN);
  kn::sgemm(false, false, 2, 3, 4, 0.0f, A.data(), 4, B.data(), 3, 2.0f, C.data(), 3);
  CHECK_NEAR(C[0], 1.0, 0); CHECK_NEAR(C[5], 6.0, 0);
  std::vector<float> D(6, kNaN);
  kn::sgemm(false, false, 2, 3, 0, 1.0f, &dummy, 1, &dummy, 3, 0.0f, D.data(), 3);
  for (float v : D) CHECK(v == 0.0f);
  // M == 0 / N == 0: nothing happens, nothing is read.
  kn::sgemm(false, false, 0, 3, 4, 1.0f, nullptr, 4, nullptr, 3, 0.0f, nullptr, 3);
  kn::sgemm(true, true, 2, 0, 4, 1.0f, nullptr, 2, nullptr, 4, 0.0f, nullptr, 1);
}

TEST(bad_arguments_throw) {
  float x[16] = {};
  CHECK_THROWS(kn::sgemm(false, false, -1, 2, 2, 1.0f, x, 2, x, 2, 0.0f, x, 2), "negative size");
  CHECK_THROWS(kn::sgemm(false, false, 2, 2, 3, 1.0f, x, 2, x, 2, 0.0f, x, 2), "lda=2 < 3");
  CHECK_THROWS(kn::sgemm(true, false, 4, 2, 3, 1.0f, x, 3, x, 2, 0.0f, x, 2), "lda=3 < 4");
  CHECK_THROWS(kn::sgemm(false, true, 2, 2, 3, 1.0f, x, 3, x, 2, 0.0f, x, 2), "ldb=2 < 3");
  CHECK_THROWS(kn::sgemm(false, false, 2, 3, 2, 1.0f, x, 2, x, 3, 0.0f, x, 2), "ldc=2 < 3");
}

TEST(threads_1_vs_2_bitwise_identical) {
  const int64_t sizes[][3] = {{517, 300, 700}, {4000, 32, 9}, {128, 512, 800}, {1600, 64, 128},
                              {9, 32, 40000}, {300, 64, 5000}};
  for (const auto& k : kernels()) {
    kn::sgemm_set_kernel(k.c_str());
    for (int t = 0; t < 4; ++t) {
      for (const auto& s : sizes) {
        const bool ta = t & 1, tb = t & 2;
        const int64_t M = s[0], N = s[1], K = s[2];
        std::vector<float> A(M * K), B(K * N), C0(M * N);
        Lcg rng(31 + t);
        for (auto& v : A) v = rng.next();
        for (auto& v : B) v = rng.next();
        for (auto& v : C0) v = rng.next();
        std::vector<float> C1 = C0, C2 = C0, C3 = C0;
        const int64_t lda = ta ? M : K, ldb = tb ? K : N;
        kn::set_num_threads(1);
        kn::sgemm(ta, tb, M, N, K, 0.75f, A.data(), lda, B.data(), ldb, 0.5f, C1.data(), N);
        kn::set_num_threads(2);
        kn::sgemm(ta, tb, M, N, K, 0.75f, A.data(), lda, B.data(), ldb, 0.5f, C2.data(), N);
        kn::sgemm_st(ta, tb, M, N, K, 0.75f, A.data(), lda, B.data(), ldb, 0.5f, C3.data(), N);
        CHECK(std::memcmp(C1.data(), C2.data(), C1.size() * sizeof(float)) == 0);
        CHECK(std::memcmp(C1.data(), C3.data(), C1.size() * sizeof(float)) == 0);
        // The product changed C (guards against a no-op passing the comparison).
        CHECK(std::memcmp(C1.data(), C0.data(), C1.size() * sizeof(float)) != 0);
      }
    }
  }
  kn::set_num_threads(0);
  kn::sgemm_set_kernel(nullptr);
}

TEST(kernels_agree_closely) {
  // Different kernels may round differently but must agree to float accuracy.
  const auto ks = kernels();
  const int64_t M = 61, N = 45, K = 777;
  std::vector<float> A(M * K), B(K * N);
  Lcg rng(4);
  for (auto& v : A) v = rng.next();
  for (auto& v : B) v = rng.next();
  std::vector<std::vector<float>> out;
  for (const auto& k : ks) {
    kn::sgemm_set_kernel(k.c_str());
    std::vector<float> C(M * N);
    kn::sgemm(false, true, M, N, K, 1.0f, A.data(), K, B.data(), K, 0.0f, C.data(), N);
    out.push_back(C);
  }
  for (size_t q = 1; q < out.size(); ++q)
    for (int64_t i = 0; i < M * N; ++i) CHECK_NEAR(out[q][i], out[0][i], 1e-3);
  kn::sgemm_set_kernel(nullptr);
}

KN_TEST_MAIN
