// g++ -std=c++17 -O2 -Wall -Isrc/core -Isrc/kernels -Isrc/nn -Isrc/data -Isrc/formats tests/cpp/test_losses.cpp src/nn/losses.cpp src/nn/metrics.cpp src/core/parallel.cpp -pthread -o /tmp/test_losses
//
// Losses and the accuracy metric against hand-computed values (Keras 2.2.4 /
// TF formulas, epsilon 1e-7) and against central differences of independent
// double-precision implementations of the same formulas.
#include <cmath>
#include <functional>
#include <vector>

#include "harness.h"
#include "losses.h"
#include "metrics.h"

using kn::Shape;
using kn::Tensor;

namespace {

Tensor make(Shape s, std::vector<float> v) {
  Tensor t(std::move(s));
  t.data = std::move(v);
  return t;
}

// Per-sample loss and gradient through the library.
float loss1(const std::string& name, const Tensor& p, const Tensor& t, Tensor* g = nullptr, const float* coef = nullptr) {
  std::vector<float> ps(p.shape[0]);
  kn::make_loss(name)->compute(p, t, ps.data(), g, coef);
  return ps[0];
}

// ---- Independent double-precision references (one row; C values) ----
const double kEps = 1e-7;
double clipd(double x) { return std::min(std::max(x, kEps), 1.0 - kEps); }

double ref_cce(const std::vector<double>& p, const std::vector<double>& t) {
  double s = 0;
  for (double x : p) s += x;
  double l = 0;
  for (size_t j = 0; j < p.size(); ++j) l -= t[j] * std::log(clipd(p[j] / s));
  return l;
}
double ref_scce(const std::vector<double>& p, int y) {
  double s = 0;
  for (double x : p) s += clipd(x);  // softmax of log(clip(p)) = clip(p) / sum
  return -std::log(clipd(p[y]) / s);
}
double ref_bce(const std::vector<double>& p, const std::vector<double>& t) {
  double l = 0;
  for (size_t j = 0; j < p.size(); ++j) {
    const double q = clipd(p[j]);
    l += -(t[j] * std::log(q) + (1 - t[j]) * std::log(1 - q));  // == sigmoid CE on logit(q)
  }
  return l / p.size();
}
double ref_mse(const std::vector<double>& p, const std::vector<double>& t) {
  double l = 0;
  for (size_t j = 0; j < p.size(); ++j) l += (p[j] - t[j]) * (p[j] - t[j]);
  return l / p.size();
}
double ref_mae(const std::vector<double>& p, const std::vector<double>& t) {
  double l = 0;
  for (size_t j = 0; j < p.size(); ++j) l += std::fabs(p[j] - t[j]);
  return l / p.size();
}

struct Lcg {
  uint64_t s = 12345;
  double uniform(double a, double b) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return a + (b - a) * static_cast<double>(s >> 11) / 9007199254740992.0;
  }
};

// Checks value and gradient of loss `name` on a (1, R, C) input against a
// double reference `f(row_p, row_t)` averaged over rows, with central differences.
void fd_check(const std::string& name, int64_t R, int64_t C, double plo, double phi,
              const std::function<std::vector<double>(Lcg&, int64_t)>& make_t, int64_t t_per_row,
              const std::function<double(const std::vector<double>&, const std::vector<double>&)>& f) {
  Lcg rng;
  Tensor p(Shape{1, R, C});  // (1, R, C)
  for (auto& x : p.data) x = static_cast<float>(rng.uniform(plo, phi));
  Tensor t(t_per_row == 1 ? Shape{1, R, 1} : Shape{1, R, C});  // (1, R, C|1)
  for (int64_t r = 0; r < R; ++r) {
    auto tr = make_t(rng, C);
    for (int64_t j = 0; j < t_per_row; ++j) t.data[r * t_per_row + j] = static_cast<float>(tr[j]);
  }
  auto total = [&](const std::vector<double>& pd) {
    double s = 0;
    for (int64_t r = 0; r < R; ++r) {
      std::vector<double> pr(pd.begin() + r * C, pd.begin() + (r + 1) * C);
      std::vector<double> tr(t.data.begin() + r * t_per_row, t.data.begin() + (r + 1) * t_per_row);
      s += f(pr, tr);
    }
    return s / R;
  };
  std::vector<double> pd(p.data.begin(), p.data.end());
  const float coef = 0.75f;  // e.g. sample weight / normaliser
  Tensor g;
  const float v = loss1(name, p, t, &g, &coef);
  const double ref = total(pd);
  CHECK_NEAR(v, ref, 1e-5 * std::max(1.0, std::fabs(ref)));
  CHECK(g.shape == p.shape);
  for (size_t k = 0; k < pd.size(); ++k) {
    const double h = 1e-6;
    std::vector<double> a = pd, b = pd;
    a[k] += h;
    b[k] -= h;
    const double fd = coef * (total(a) - total(b)) / (2 * h);
    CHECK_NEAR(g.data[k], fd, 2e-4 * std::max(1.0, std::fabs(fd)));
  }
}

}  // namespace

// ---------------- values by hand ----------------

TEST(cce_hand_values) {
  // -log(0.5)
  CHECK_NEAR(loss1("categorical_crossentropy", make({1, 3}, {0.2f, 0.3f, 0.5f}), make({1, 3}, {0, 0, 1})),
             0.69314718055994531, 1e-6);
  // Unnormalised [1, 1, 2] -> [0.25, 0.25, 0.5]; class 1: -log(0.25)
  CHECK_NEAR(loss1("categorical_crossentropy", make({1, 3}, {1, 1, 2}), make({1, 3}, {0, 1, 0})),
             1.3862943611198906, 1e-6);
  // Soft labels: -(0.5 log 0.2 + 0.5 log 0.3)
  CHECK_NEAR(loss1("categorical_crossentropy", make({1, 3}, {0.2f, 0.3f, 0.5f}), make({1, 3}, {0.5f, 0.5f, 0})),
             1.4067053583800182, 1e-6);
  // Clipping: q = 0 -> clipped to 1e-7 (float32 1.00000001168609742e-07): -log = 16.11809564
  CHECK_NEAR(loss1("categorical_crossentropy", make({1, 3}, {0, 0.5f, 0.5f}), make({1, 3}, {1, 0, 0})),
             16.118095639272, 1e-4);
  // Two samples, per-sample values
  std::vector<float> ps(2);
  kn::make_loss("categorical_crossentropy")
      ->compute(make({2, 2}, {0.5f, 0.5f, 0.1f, 0.9f}), make({2, 2}, {1, 0, 0, 1}), ps.data(), nullptr, nullptr);
  CHECK_NEAR(ps[0], 0.69314718055994531, 1e-6);        // -log 0.5
  CHECK_NEAR(ps[1], 0.10536051565782628, 1e-6);        // -log 0.9
}

TEST(cce_hand_gradients) {
  // p = [0.2, 0.3, 0.5] (S = 1), class 2: gq = [0, 0, -2], sum gq*q = -1, grad = gq + 1 = [1, 1, -1]
  Tensor g;
  loss1("categorical_crossentropy", make({1, 3}, {0.2f, 0.3f, 0.5f}), make({1, 3}, {0, 0, 1}), &g);
  CHECK_NEAR(g.data[0], 1.0, 1e-5);
  CHECK_NEAR(g.data[1], 1.0, 1e-5);
  CHECK_NEAR(g.data[2], -1.0, 1e-5);
  // p = [1, 1, 2] (S = 4), class 1: gq = [0, -4, 0], sum gq*q = -1, grad = (gq + 1) / 4
  loss1("categorical_crossentropy", make({1, 3}, {1, 1, 2}), make({1, 3}, {0, 1, 0}), &g);
  CHECK_NEAR(g.data[0], 0.25, 1e-6);
  CHECK_NEAR(g.data[1], -0.75, 1e-6);
  CHECK_NEAR(g.data[2], 0.25, 1e-6);
  // Target entry clipped (q = 0 < eps): no gradient anywhere.
  loss1("categorical_crossentropy", make({1, 3}, {0, 0.5f, 0.5f}), make({1, 3}, {1, 0, 0}), &g);
  for (float x : g.data) CHECK(x == 0.0f);
  // coef scales the gradient, not the value: coef 3 -> [3, 3, -3]
  const float coef = 3.0f;
  float v = loss1("categorical_crossentropy", make({1, 3}, {0.2f, 0.3f, 0.5f}), make({1, 3}, {0, 0, 1}), &g, &coef);
  CHECK_NEAR(v, 0.69314718055994531, 1e-6);
  CHECK_NEAR(g.data[0], 3.0, 1e-5);
  CHECK_NEAR(g.data[2], -3.0, 1e-5);
}

TEST(cce_rows_are_averaged) {
  // (1, 2, 2): rows [0.5, 0.5] class 0 and [0.1, 0.9] class 1 -> mean(-log .5, -log .9)
  Tensor g;
  float v = loss1("categorical_crossentropy", make({1, 2, 2}, {0.5f, 0.5f, 0.1f, 0.9f}), make({1, 2, 2}, {1, 0, 0, 1}), &g);
  CHECK_NEAR(v, (0.69314718055994531 + 0.10536051565782628) / 2, 1e-6);
  // Row 0 gradient: gq = [-2, 0], sum gq q = -1 -> [-1, 1], halved by the row mean.
  CHECK_NEAR(g.data[0], -0.5, 1e-5);
  CHECK_NEAR(g.data[1], 0.5, 1e-5);
}

TEST(sparse_cce_hand_values) {
  // label 2 of [0.2, 0.3, 0.5]: -log(0.5)
  CHECK_NEAR(loss1("sparse_categorical_crossentropy", make({1, 3}, {0.2f, 0.3f, 0.5f}), make({1, 1}, {2})),
             0.69314718055994531, 1e-6);
  // (N) labels accepted too; [0.1, 0.2, 0.2] label 0: -log(0.1 / 0.5) = log 5
  Tensor g;
  CHECK_NEAR(loss1("sparse_categorical_crossentropy", make({1, 3}, {0.1f, 0.2f, 0.2f}), make({1}, {0}), &g),
             1.6094379124341003, 1e-6);
  // d/dp_j = 1/S - [j == y]/p_y = [2 - 10, 2, 2]
  CHECK_NEAR(g.data[0], -8.0, 1e-4);
  CHECK_NEAR(g.data[1], 2.0, 1e-5);
  CHECK_NEAR(g.data[2], 2.0, 1e-5);
  // Clipping happens BEFORE normalising: [1, 1, 2] -> all 1 - eps -> -log(1/3)
  CHECK_NEAR(loss1("sparse_categorical_crossentropy", make({1, 3}, {1, 1, 2}), make({1}, {2}), &g),
             1.0986122886681098, 1e-6);
  CHECK(g.data[2] == 0.0f);  // 2 > 1 - eps: clipped, no gradient
  // Out-of-range labels throw.
  std::vector<float> ps(1);
  CHECK_THROWS(kn::make_loss("sparse_categorical_crossentropy")
                   ->compute(make({1, 3}, {0.2f, 0.3f, 0.5f}), make({1}, {3}), ps.data(), nullptr, nullptr),
               "outside the valid class range [0, 3)");
  CHECK_THROWS(kn::make_loss("sparse_categorical_crossentropy")
                   ->compute(make({1, 3}, {0.2f, 0.3f, 0.5f}), make({1}, {-1}), ps.data(), nullptr, nullptr),
               "outside");
}

TEST(bce_hand_values) {
  // mean(-log 0.8, -log 0.7)
  Tensor g;
  CHECK_NEAR(loss1("binary_crossentropy", make({1, 2}, {0.8f, 0.3f}), make({1, 2}, {1, 0}), &g),
             (0.22314355131420976 + 0.35667494393873245) / 2, 1e-6);
  // dL/dp = (p - z) / (p (1 - p)) / C: -0.2/0.16/2 = -0.625, 0.3/0.21/2 = 0.71428571
  CHECK_NEAR(g.data[0], -0.625, 1e-5);
  CHECK_NEAR(g.data[1], 0.7142857142857143, 1e-5);
  // Fully wrong at the clip: p = 1 -> 1 - eps = 0.99999988079071045 in float32,
  // 1 - that = 2^-23, loss -log(2^-23) = 15.942385 (Keras's familiar value).
  CHECK_NEAR(loss1("binary_crossentropy", make({1, 1}, {1}), make({1, 1}, {0}), &g), 15.942385152878742, 2e-4);
  CHECK(g.data[0] == 0.0f);
  // p = 0, target 1: -log(1e-7) = 16.118096
  CHECK_NEAR(loss1("binary_crossentropy", make({1, 1}, {0}), make({1, 1}, {1})), 16.118095639272, 2e-4);
  // Perfect prediction at 1: -log(1 - 2^-23) ~ 1.19e-7
  CHECK_NEAR(loss1("binary_crossentropy", make({1, 1}, {1}), make({1, 1}, {1})), 1.1920929665620861e-07, 2e-8);
}

TEST(mse_mae_hand_values) {
  Tensor g;
  // d = [1, 0, -2]: mse 5/3, grad 2d/3
  CHECK_NEAR(loss1("mse", make({1, 3}, {1, 2, 3}), make({1, 3}, {0, 2, 5}), &g), 5.0 / 3.0, 1e-6);
  CHECK_NEAR(g.data[0], 2.0 / 3.0, 1e-6);
  CHECK_NEAR(g.data[1], 0.0, 1e-7);
  CHECK_NEAR(g.data[2], -4.0 / 3.0, 1e-6);
  // mae 1, grad sign(d)/3 with sign(0) = 0
  CHECK_NEAR(loss1("mean_absolute_error", make({1, 3}, {1, 2, 3}), make({1, 3}, {0, 2, 5}), &g), 1.0, 1e-6);
  CHECK_NEAR(g.data[0], 1.0 / 3.0, 1e-6);
  CHECK(g.data[1] == 0.0f);
  CHECK_NEAR(g.data[2], -1.0 / 3.0, 1e-6);
  // Per-sample coef: sample 1 weighted 0 -> zero gradient, sample 0 weighted 2.
  const float coef[2] = {2.0f, 0.0f};
  std::vector<float> ps(2);
  kn::make_loss("MSE")->compute(make({2, 1}, {1, 3}), make({2, 1}, {0, 0}), ps.data(), &g, coef);
  CHECK_NEAR(ps[0], 1.0, 1e-7);
  CHECK_NEAR(ps[1], 9.0, 1e-6);
  CHECK_NEAR(g.data[0], 4.0, 1e-6);  // 2 * 2 * 1
  CHECK(g.data[1] == 0.0f);
}

// ---------------- gradient checks vs double references ----------------

TEST(fd_categorical_crossentropy) {
  // Unnormalised positive outputs; soft targets summing to 1.
  fd_check("categorical_crossentropy", 2, 4, 0.1, 1.0,
           [](Lcg& r, int64_t C) {
             std::vector<double> t(C);
             double s = 0;
             for (auto& x : t) s += (x = r.uniform(0, 1));
             for (auto& x : t) x /= s;
             return t;
           },
           4, ref_cce);
}

TEST(fd_sparse_categorical_crossentropy) {
  fd_check("sparse_categorical_crossentropy", 3, 5, 0.05, 0.9,
           [](Lcg& r, int64_t C) { return std::vector<double>{std::floor(r.uniform(0, C - 1e-9))}; }, 1,
           [](const std::vector<double>& p, const std::vector<double>& t) { return ref_scce(p, static_cast<int>(t[0])); });
}

TEST(fd_binary_crossentropy) {
  fd_check("binary_crossentropy", 2, 3, 0.05, 0.95,
           [](Lcg& r, int64_t C) {
             std::vector<double> t(C);
             for (auto& x : t) x = r.uniform(0, 1) < 0.5 ? 0.0 : 1.0;
             return t;
           },
           3, ref_bce);
}

TEST(fd_mse_mae) {
  auto targets = [](Lcg& r, int64_t C) {
    std::vector<double> t(C);
    for (auto& x : t) x = r.uniform(-2, 2);
    return t;
  };
  fd_check("mean_squared_error", 2, 3, -2.0, 2.0, targets, 3, ref_mse);
  fd_check("mae", 2, 3, -2.0, 2.0, targets, 3, ref_mae);
}

// ---------------- names, shapes ----------------

TEST(make_loss_names_and_errors) {
  CHECK(kn::make_loss("mse")->name() == "mean_squared_error");
  CHECK(kn::make_loss("MAE")->name() == "mean_absolute_error");
  CHECK(kn::make_loss("binary_crossentropy")->name() == "binary_crossentropy");
  CHECK(kn::make_loss("sparse_categorical_crossentropy")->name() == "sparse_categorical_crossentropy");
  CHECK(kn::canonical_loss_name("mse") == "mean_squared_error");
  CHECK(kn::canonical_loss_name("hinge") == "hinge");
  CHECK_THROWS(kn::make_loss("hinge"), "unknown loss 'hinge'");
  CHECK_THROWS(kn::make_loss("hinge"), "categorical_crossentropy");
}

TEST(check_target_shapes) {
  auto cce = kn::make_loss("categorical_crossentropy");
  cce->check_target({10}, {10});
  CHECK_THROWS(cce->check_target({10}, {9}, 60000),
               "loss 'categorical_crossentropy': y has shape (60000, 9) but the model output is (None, 10)");
  CHECK_THROWS(cce->check_target({10}, {1}, 5), "to_categorical");
  auto sp = kn::make_loss("sparse_categorical_crossentropy");
  sp->check_target({10}, {1});
  sp->check_target({10}, {});
  sp->check_target({4, 10}, {4, 1});
  CHECK_THROWS(sp->check_target({10}, {10}, 3), "y has shape (3, 10)");
  CHECK_THROWS(kn::make_loss("mse")->check_target({2}, {3}), "(None, 3) but the model output is (None, 2)");
  std::vector<float> ps(2);
  CHECK_THROWS(kn::make_loss("mse")->compute(make({2, 2}, {0, 0, 0, 0}), make({2, 3}, {0, 0, 0, 0, 0, 0}),
                                             ps.data(), nullptr, nullptr),
               "y_true has shape (2, 3) but y_pred has shape (2, 2)");
}

// ---------------- accuracy ----------------

TEST(accuracy_kinds) {
  using K = kn::AccuracyKind;
  CHECK(kn::accuracy_kind("categorical_crossentropy", {10}) == K::Categorical);
  CHECK(kn::accuracy_kind("binary_crossentropy", {10}) == K::Binary);
  CHECK(kn::accuracy_kind("mse", {1}) == K::Binary);
  CHECK(kn::accuracy_kind("mse", {3}) == K::Categorical);
  CHECK(kn::accuracy_kind("sparse_categorical_crossentropy", {10}) == K::SparseCategorical);
  CHECK(kn::accuracy_kind("sparse_categorical_crossentropy", {1}) == K::Binary);  // last dim 1 wins
  CHECK(kn::accuracy_kind("categorical_crossentropy", {5, 1}) == K::Binary);
}

TEST(accuracy_values) {
  std::vector<float> a(2);
  // Binary: tf.round is half-to-even, round(0.5) = 0 == 0 (hit), round(2.5) = 2.
  // Sample 0: [0.4->0 ok, 0.5->0 ok, 0.6->1 ok, 0.9->1 vs 0 miss] = 0.75; sample 1: 2.5 -> 2 vs 2 hit, 1.5->2 vs 1 miss.
  kn::accuracy(kn::AccuracyKind::Binary, make({2, 2, 2}, {0.4f, 0.5f, 0.6f, 0.9f, 2.5f, 1.5f, 0.2f, 0.7f}),
               make({2, 2, 2}, {0, 0, 1, 0, 2, 1, 0, 1}), a.data());
  CHECK_NEAR(a[0], 0.75, 1e-7);
  CHECK_NEAR(a[1], 0.75, 1e-7);
  // Categorical: tie [0.4, 0.4, 0.2] -> argmax 0 (first).
  kn::accuracy(kn::AccuracyKind::Categorical, make({2, 3}, {0.4f, 0.4f, 0.2f, 0.4f, 0.4f, 0.2f}),
               make({2, 3}, {1, 0, 0, 0, 1, 0}), a.data());
  CHECK(a[0] == 1.0f);
  CHECK(a[1] == 0.0f);
  // Sparse with (N, 1) labels.
  kn::accuracy(kn::AccuracyKind::SparseCategorical, make({2, 3}, {0.1f, 0.7f, 0.2f, 0.5f, 0.3f, 0.2f}),
               make({2, 1}, {1, 2}), a.data());
  CHECK(a[0] == 1.0f);
  CHECK(a[1] == 0.0f);
  // Sparse over rows (1, 2, 3) with (1, 2) labels: one of two rows right.
  kn::accuracy(kn::AccuracyKind::SparseCategorical, make({1, 2, 3}, {0.1f, 0.7f, 0.2f, 0.5f, 0.3f, 0.2f}),
               make({1, 2}, {1, 1}), a.data());
  CHECK_NEAR(a[0], 0.5, 1e-7);
  CHECK_THROWS(kn::accuracy(kn::AccuracyKind::Categorical, make({1, 3}, {0, 0, 1}), make({1, 2}, {0, 1}), a.data()),
               "categorical_accuracy: y_true has shape (1, 2) but y_pred has shape (1, 3)");
}

KN_TEST_MAIN
