// g++ -std=c++17 -O2 -Wall -Isrc/core -Isrc/kernels -Isrc/nn -Isrc/data -Isrc/formats tests/cpp/test_optimizers.cpp src/nn/optimizers.cpp src/core/json.cpp src/core/parallel.cpp -pthread -o /tmp/test_optimizers
//
// Optimizer steps against numbers computed independently in float64 from the
// Keras 2.2.4 formulas (keras/optimizers.py) with a short Python script:
//   lr_it = lr / (1 + decay * it)                      (it = iterations before the step: 0, 1, 2)
//   SGD:     v = mom*m - lr_it*g; m = v; p += v   (nesterov: p += mom*v - lr_it*g)
//   RMSprop: a = rho*a + (1-rho)*g^2; p -= lr_it*g/(sqrt(a)+1e-7)
//   Adam:    t = it+1; lr_t = lr_it*sqrt(1-b2^t)/(1-b1^t); m = b1*m+(1-b1)*g;
//            v = b2*v+(1-b2)*g^2; vhat = max(vhat, v); p -= lr_t*m/(sqrt(v or vhat)+1e-7)
//   Adagrad: a += g^2; p -= lr_it*g/(sqrt(a)+1e-7)
// Start p = [[0.5, -1, 2], [0.3]], gradients per step:
//   [[0.1, -0.2, 0.3], [1.0]], [[0.05, 0.4, -0.1], [0.01]], [[-0.3, 0.1, 0.2], [0.02]].
// Expected arrays list param 0's three values then param 1's value.
#include <cmath>
#include <memory>
#include <vector>

#include "harness.h"
#include "optimizers.h"

using kn::Json;
using kn::Param;
using kn::Shape;
using kn::Tensor;

namespace {

struct Model {
  std::vector<Param> ps;
  Model() {
    ps.resize(2);
    ps[0].name = "kernel";
    ps[0].value = Tensor(Shape{3});
    ps[0].value.data = {0.5f, -1.0f, 2.0f};
    ps[1].name = "bias";
    ps[1].value = Tensor(Shape{1});
    ps[1].value.data = {0.3f};
    for (auto& p : ps) p.grad = Tensor(p.value.shape);
  }
  std::vector<Param*> ptrs() { return {&ps[0], &ps[1]}; }
  std::vector<float> flat() const {
    std::vector<float> v = ps[0].value.data;
    v.push_back(ps[1].value.data[0]);
    return v;
  }
};

const float kGrads[3][4] = {{0.1f, -0.2f, 0.3f, 1.0f}, {0.05f, 0.4f, -0.1f, 0.01f}, {-0.3f, 0.1f, 0.2f, 0.02f}};

Model run3(kn::Optimizer& opt) {
  Model m;
  for (int s = 0; s < 3; ++s) {
    for (int j = 0; j < 3; ++j) m.ps[0].grad.data[j] = kGrads[s][j];
    m.ps[1].grad.data[0] = kGrads[s][3];
    opt.update(m.ptrs());
  }
  CHECK(opt.iterations == 3);
  return m;
}

void check_vec(const std::vector<float>& got, const std::vector<double>& want, double rel) {
  CHECK(got.size() == want.size());
  for (size_t k = 0; k < got.size() && k < want.size(); ++k)
    CHECK_NEAR(got[k], want[k], rel * std::max(1.0, std::fabs(want[k])));
}

std::vector<float> flat_state(const std::vector<Tensor*>& st, size_t first, size_t count) {
  std::vector<float> v;
  for (size_t k = first; k < first + count; ++k) v.insert(v.end(), st[k]->data.begin(), st[k]->data.end());
  return v;
}

Json cfg(std::initializer_list<std::pair<const char*, Json>> kv) {
  Json j = Json::object();
  for (auto& e : kv) j.set(e.first, e.second);
  return j;
}

}  // namespace

TEST(sgd_momentum_decay) {
  auto opt = kn::make_optimizer("SGD", cfg({{"lr", 0.1}, {"momentum", 0.9}, {"decay", 0.1}}));
  Model m = run3(*opt);
  check_vec(m.flat(), {0.48926363636363635, -1.0232242424242424, 1.9193060606060606, 0.025606060606060563}, 2e-6);
  auto st = opt->state();
  CHECK(st.size() == 2);
  check_vec(flat_state(st, 0, 2), {0.012809090909090907, -0.024860606060606062, -0.032784848484848486, -0.083484848484848495}, 2e-6);
  CHECK(opt->state_has_iterations());
}

TEST(sgd_nesterov) {
  auto opt = kn::make_optimizer("sgd", cfg({{"lr", 0.1}, {"momentum", 0.9}, {"decay", 0.1}, {"nesterov", true}}));
  Model m = run3(*opt);
  check_vec(m.flat(), {0.50079181818181817, -1.0455987878787878, 1.8897996969696969, -0.049530303030303105}, 2e-6);
}

TEST(sgd_plain) {
  // lr 0.2, decay 0.5, no momentum: p -= 0.2*g, 0.2/1.5*g, 0.2/2*g
  auto opt = kn::make_optimizer("SGD", cfg({{"lr", 0.2}, {"decay", 0.5}}));
  Model m = run3(*opt);
  check_vec(m.flat(), {0.5033333333333333, -1.0233333333333332, 1.9333333333333333, 0.096666666666666637}, 2e-6);
  CHECK(opt->state().size() == 2);  // Keras 2.2.4 creates moments even with momentum 0
}

TEST(rmsprop_decay) {
  auto opt = kn::make_optimizer("RMSprop", cfg({{"lr", 0.01}, {"rho", 0.9}, {"decay", 0.1}}));
  Model m = run3(*opt);
  check_vec(m.flat(), {0.47992988832470673, -1.0004550131748675, 1.9628116436189627, 0.26748879030913941}, 2e-6);
  auto st = opt->state();
  CHECK(st.size() == 2);
  check_vec(flat_state(st, 0, 2), {0.010034999999999997, 0.01864, 0.012189999999999998, 0.081048999999999982}, 2e-6);
  CHECK(!opt->state_has_iterations());
}

TEST(adam_decay) {
  auto opt = kn::make_optimizer("Adam", cfg({{"lr", 0.01}, {"decay", 0.1}}));
  Model m = run3(*opt);
  check_vec(m.flat(), {0.48441969628678261, -0.99679208454067325, 1.981336112895095, 0.2793715288808567}, 2e-6);
  auto st = opt->state();  // m (2 params), v (2), vhat (2, shape (1) placeholders)
  CHECK(st.size() == 6);
  check_vec(flat_state(st, 0, 2), {-0.017399999999999992, 0.029799999999999993, 0.035299999999999991, 0.083899999999999988}, 2e-6);
  check_vec(flat_state(st, 2, 2), {0.00010247751000000009, 0.00020976004000000022, 0.00013981009000000013, 0.000998500900000001}, 2e-5);
  CHECK(st[4]->shape == Shape{1});
  CHECK(st[5]->shape == Shape{1});
  CHECK(st[4]->data[0] == 0.0f);
  auto names = opt->state_names();
  CHECK(names.size() == 7);
  CHECK(names[0] == "Adam/iterations:0");
  CHECK(names[1] == "training/Adam/Variable:0");
  CHECK(names[6] == "training/Adam/Variable_5:0");
}

TEST(adam_amsgrad) {
  // Param 1's gradient drops 1.0 -> 0.01 so v shrinks and vhat keeps the max.
  auto opt = kn::make_optimizer("adam", cfg({{"lr", 0.01}, {"decay", 0.1}, {"amsgrad", true}}));
  Model m = run3(*opt);
  check_vec(m.flat(), {0.48441969628678261, -0.99679208454067325, 1.981336112895095, 0.27937765246949769}, 2e-6);
  auto st = opt->state();
  CHECK(st[4]->shape == Shape{3});
  check_vec(flat_state(st, 4, 2), {0.00010247751000000009, 0.00020976004000000022, 0.00013981009000000013, 0.0010000000000000009}, 2e-5);
}

TEST(adagrad_decay) {
  auto opt = kn::make_optimizer("Adagrad", cfg({{"lr", 0.1}, {"decay", 0.1}}));
  Model m = run3(*opt);
  check_vec(m.flat(), {0.43743121150848352, -0.99949641485441454, 1.8842044745572408, 0.19742471464334316}, 2e-6);
  check_vec(flat_state(opt->state(), 0, 2), {0.10249999999999999, 0.21000000000000005, 0.14000000000000001, 1.0004999999999999}, 2e-6);
  CHECK(!opt->state_has_iterations());
  CHECK(opt->state_names().size() == 2);
  CHECK(opt->state_names()[1] == "training/Adagrad/Variable_1:0");
}

TEST(clipnorm_is_global) {
  // g = [3, 0], [4]: global norm 5 >= 1 -> g * 1/5 = [0.6, 0], [0.8]; SGD lr 1 -> p -= g.
  // (Per-tensor clipping would give [1, 0], [1].)
  auto opt = kn::make_optimizer("SGD", cfg({{"lr", 1.0}, {"clipnorm", 1.0}}));
  std::vector<Param> ps(2);
  ps[0].value = Tensor(Shape{2});
  ps[0].grad = Tensor(Shape{2});
  ps[0].grad.data = {3, 0};
  ps[1].value = Tensor(Shape{1});
  ps[1].grad = Tensor(Shape{1});
  ps[1].grad.data = {4};
  opt->update({&ps[0], &ps[1]});
  CHECK_NEAR(ps[0].value.data[0], -0.6, 1e-6);
  CHECK_NEAR(ps[0].value.data[1], 0.0, 1e-7);
  CHECK_NEAR(ps[1].value.data[0], -0.8, 1e-6);
  CHECK(ps[0].grad.data[0] == 3.0f);  // .grad untouched
  // Below the threshold nothing changes: norm 0.5 < 1.
  ps[0].grad.data = {0.3f, 0};
  ps[1].grad.data = {0.4f};
  opt->update({&ps[0], &ps[1]});
  CHECK_NEAR(ps[0].value.data[0], -0.9, 1e-6);
  CHECK_NEAR(ps[1].value.data[0], -1.2, 1e-6);
}

TEST(clipvalue_and_both) {
  std::vector<Param> ps(1);
  ps[0].value = Tensor(Shape{3});
  ps[0].grad = Tensor(Shape{3});
  ps[0].grad.data = {3.0f, -0.2f, -4.0f};
  auto opt = kn::make_optimizer("SGD", cfg({{"lr", 1.0}, {"clipvalue", 0.5}}));
  opt->update({&ps[0]});
  CHECK_NEAR(ps[0].value.data[0], -0.5, 1e-7);
  CHECK_NEAR(ps[0].value.data[1], 0.2, 1e-7);
  CHECK_NEAR(ps[0].value.data[2], 0.5, 1e-7);
  // clipnorm 2.5 first (norm sqrt(9 + 0.04 + 16) = 5.003998...): g *= 2.5/5.004 -> [1.49880, -0.09992, -1.99840],
  // then clipvalue 1 -> [1, -0.09992, -1].
  ps[0].value.zero();
  auto both = kn::make_optimizer("SGD", cfg({{"lr", 1.0}, {"clipnorm", 2.5}, {"clipvalue", 1.0}}));
  both->update({&ps[0]});
  CHECK_NEAR(ps[0].value.data[0], -1.0, 1e-7);
  CHECK_NEAR(ps[0].value.data[1], 0.2 * 2.5 / std::sqrt(25.04), 1e-6);
  CHECK_NEAR(ps[0].value.data[2], 1.0, 1e-7);
}

TEST(non_trainable_params_skipped) {
  Model m;
  m.ps[1].trainable = false;
  for (auto& p : m.ps) std::fill(p.grad.data.begin(), p.grad.data.end(), 1.0f);
  auto opt = kn::make_optimizer("RMSprop", Json());
  opt->update(m.ptrs());
  CHECK(opt->state().size() == 1);  // no accumulator for the frozen param
  CHECK(m.ps[1].value.data[0] == 0.3f);
  // First RMSprop step with g = 1: a = 0.1, p -= 0.001 / (sqrt(0.1) + 1e-7)
  CHECK_NEAR(m.ps[0].value.data[0], 0.5 - 0.001 / (std::sqrt(0.1) + 1e-7), 1e-6);
}

TEST(param_list_must_match) {
  Model m;
  auto opt = kn::make_optimizer("Adam", Json());
  opt->update(m.ptrs());
  CHECK_THROWS(opt->update({&m.ps[0]}), "got 1 trainable parameters but its state was created for 2");
  Model other;
  other.ps[0].value = Tensor(Shape{2});
  other.ps[0].grad = Tensor(Shape{2});
  CHECK_THROWS(opt->update(other.ptrs()), "('kernel') has shape (2,) but the optimizer state was created for shape (3,)");
}

TEST(init_state_for_loading) {
  Model m;
  auto opt = kn::make_optimizer("SGD", cfg({{"lr", 0.1}, {"momentum", 0.5}}));
  opt->init_state(m.ptrs());
  auto st = opt->state();
  CHECK(st.size() == 2);
  CHECK(st[0]->shape == Shape{3});
  // Loaded velocity m = [1, 0, 0], [0]; g = 0: v = 0.5 * 1 -> p0 += 0.5
  st[0]->data[0] = 1.0f;
  opt->iterations = 7;
  opt->update(m.ptrs());
  CHECK_NEAR(m.ps[0].value.data[0], 1.0, 1e-7);
  CHECK(opt->iterations == 8);
  CHECK(opt->state_names()[0] == "SGD/iterations:0");
}

TEST(configs_and_defaults) {
  // Variable-backed values come back float32-rounded, as Keras 2.2.4's get_config.
  Json c = kn::make_optimizer("adam", Json())->config();
  CHECK(c.size() == 6);
  CHECK(c.items()[0].first == "lr");
  CHECK(c["lr"].as_number() == 0.0010000000474974513);   // float32(0.001)
  CHECK(c["beta_1"].as_number() == 0.8999999761581421);   // float32(0.9)
  CHECK(c["beta_2"].as_number() == 0.9990000128746033);   // float32(0.999)
  CHECK(c["decay"].as_number() == 0.0);
  CHECK(c["epsilon"].as_number() == 1e-7);
  CHECK(c["amsgrad"].as_bool() == false);
  CHECK(c.items()[4].first == "epsilon");
  c = kn::make_optimizer("SGD", Json())->config();
  CHECK(c.size() == 4);
  CHECK(c["lr"].as_number() == 0.009999999776482582);    // float32(0.01)
  CHECK(c["momentum"].as_number() == 0.0);
  CHECK(c["nesterov"].as_bool() == false);
  CHECK(c.items()[2].first == "decay");
  c = kn::make_optimizer("RMSprop", cfg({{"epsilon", Json()}, {"clipnorm", 1}}))->config();
  CHECK(c.size() == 5);
  CHECK(c.items()[0].first == "clipnorm");  // base config entries first
  CHECK(c["clipnorm"].is_int());
  CHECK(c.items()[1].first == "lr");
  CHECK(c["rho"].as_number() == 0.8999999761581421);
  CHECK(c["epsilon"].as_number() == 1e-7);
  CHECK(c.items()[4].first == "epsilon");
  c = kn::make_optimizer("Adagrad", cfg({{"learning_rate", 0.5}, {"epsilon", 1e-8}}))->config();
  CHECK(c.size() == 3);
  CHECK(c["lr"].as_number() == 0.5);
  CHECK(c.items()[1].first == "decay");
  CHECK(c["epsilon"].as_number() == 1e-8);
  CHECK(kn::make_optimizer("rmsprop", Json())->class_name() == "RMSprop");
  CHECK(kn::make_optimizer("ADAGRAD", Json())->class_name() == "Adagrad");
}

TEST(make_optimizer_errors) {
  // (Nadam, Adadelta and Adamax exist since issue 13: test_optimizers_more.cpp)
  CHECK_THROWS(kn::make_optimizer("Ftrl", Json()),
               "unknown optimizer 'Ftrl'; valid optimizers are: SGD, RMSprop, Adam, Adagrad, Adadelta, Adamax, Nadam");
  CHECK_THROWS(kn::make_optimizer("SGD", cfg({{"rho", 0.9}})), "optimizer 'SGD': unexpected config key 'rho'");
  CHECK_THROWS(kn::make_optimizer("SGD", cfg({{"rho", 0.9}})), "momentum");
  CHECK_THROWS(kn::make_optimizer("Adam", cfg({{"lr", "fast"}})), "'lr' must be a number");
}

KN_TEST_MAIN
