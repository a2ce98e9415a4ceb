// Registry-driven finite-difference gradient checks: every layer class in the
// registry and every loss must have a case here, so a new op cannot skip it.
// Loss: L = sum(out * R) with fixed random R; input and parameter gradients
// from backward() are compared with central differences of forward().
#include <cmath>
#include <map>
#include <set>

#include "harness.h"
#include "layer.h"
#include "losses.h"

using namespace kn;

namespace {

struct Case {
  std::string cls;
  std::string config;          // JSON
  std::vector<Shape> inputs;   // per-sample shapes
  bool training = false;
  int64_t index_range = 0;     // > 0: inputs are integer indices in [0, index_range), no input gradient
};

// Inputs kept away from kinks and ties: a shuffled grid +-(0.2 + 0.03 k), so
// any two values differ by more than twice the finite-difference step.
void fill_inputs(Tensor& t, Rng& rng) {
  const int64_t n = t.size();
  std::vector<int64_t> k(n);
  for (int64_t i = 0; i < n; ++i) k[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(k[i], k[rng.below(i + 1)]);
  const float step = n > 60 ? 1.8f / n : 0.03f;
  for (int64_t i = 0; i < n; ++i) {
    float m = 0.2f + step * k[i];
    t.data[i] = rng.uniform() < 0.5 ? -m : m;
  }
}

double loss_of(Layer& l, std::vector<Tensor>& xs, const Tensor& R, Tensor& out, Scratch& sc, bool training) {
  std::vector<const Tensor*> in;
  for (auto& x : xs) in.push_back(&x);
  RunContext ctx;
  ctx.training = training;
  ctx.step_key = 1234;
  ctx.scratch = &sc;
  l.forward(ctx, in, out);
  double s = 0;
  for (int64_t i = 0; i < out.size(); ++i) s += static_cast<double>(out.data[i]) * R.data[i];
  return s;
}

int check_case(const Case& c) {
  Json cfg = Json::parse(c.config);
  LayerPtr l = make_layer(c.cls, cfg);
  Rng rng(7);
  Shape os = l->build(c.inputs, rng);
  const int64_t n = 2;
  std::vector<Tensor> xs;
  for (auto& s : c.inputs) {
    Shape full = s;
    full.insert(full.begin(), n);
    xs.emplace_back(full);
    if (c.index_range > 0) {
      for (int64_t i = 0; i < xs.back().size(); ++i)
        xs.back().data[i] = static_cast<float>((i * 7 + 3) % c.index_range);  // repeats rows
    } else {
      fill_inputs(xs.back(), rng);
    }
  }
  for (auto& p : l->params) fill_inputs(p.value, rng);  // nudge params too (e.g. BN gamma)
  Shape ofull = os;
  ofull.insert(ofull.begin(), n);
  Tensor out(ofull), R(ofull), dout(ofull);
  for (auto& v : R.data) v = static_cast<float>(rng.uniform() * 2 - 1);
  Scratch sc;
  loss_of(*l, xs, R, out, sc, c.training);
  dout.data = R.data;
  std::vector<Tensor> dxs;
  std::vector<Tensor*> din;
  std::vector<const Tensor*> in;
  for (auto& x : xs) { dxs.emplace_back(x.shape); }
  for (size_t k = 0; k < xs.size(); ++k) { din.push_back(&dxs[k]); in.push_back(&xs[k]); }
  for (auto& p : l->params) p.grad = Tensor(p.value.shape);
  RunContext ctx;
  ctx.training = c.training;
  ctx.step_key = 1234;
  ctx.scratch = &sc;
  l->backward(ctx, in, out, dout, din);

  int bad = 0;
  const float eps = 1e-2f;
  auto compare = [&](const char* what, float& v, double analytic) {
    // BatchNormalization in training mode updates moving stats in forward;
    // they are not inputs of the loss, so re-running forward is harmless.
    float old = v;
    Tensor o2(ofull);
    Scratch s2;
    v = old + eps; double lp = loss_of(*l, xs, R, o2, s2, c.training);
    v = old - eps; double lm = loss_of(*l, xs, R, o2, s2, c.training);
    v = old;
    double numeric = (lp - lm) / (2 * eps);
    double tol = 2e-2 * std::max(1.0, std::fabs(numeric));
    if (std::fabs(numeric - analytic) > tol) {
      if (bad < 5) std::printf("  %s %s: numeric %.6f analytic %.6f\n", c.cls.c_str(), what, numeric, analytic);
      ++bad;
    }
  };
  for (size_t k = 0; k < xs.size(); ++k) {
    if (c.index_range > 0) {  // index inputs: no gradient flows back
      for (float v : dxs[k].data) if (v != 0.0f) ++bad;
      continue;
    }
    for (int64_t i = 0; i < xs[k].size(); ++i) compare("input", xs[k].data[i], dxs[k].data[i]);
  }
  for (auto& p : l->params) {
    if (!p.trainable) continue;
    for (int64_t i = 0; i < p.value.size(); ++i) compare(p.name.c_str(), p.value.data[i], p.grad.data[i]);
  }
  return bad;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> c = {
    {"Dense", R"({"name": "d", "units": 3, "activation": "tanh"})", {{4}}},
    {"Dense", R"({"name": "d", "units": 5, "activation": "softmax"})", {{3}}},
    {"Dense", R"({"name": "d", "units": 3, "activation": "relu", "use_bias": false})", {{2, 4}}},
    {"Dropout", R"({"name": "dr", "rate": 0.4})", {{6}}, true},
    {"Dropout", R"({"name": "dr", "rate": 0.4})", {{6}}, false},
    {"Activation", R"({"name": "a", "activation": "sigmoid"})", {{5}}},
    {"Activation", R"({"name": "a", "activation": "softmax"})", {{5}}},
    {"Activation", R"({"name": "a", "activation": "elu"})", {{5}}},
    {"Activation", R"({"name": "a", "activation": "selu"})", {{5}}},
    {"Activation", R"({"name": "a", "activation": "softplus"})", {{5}}},
    {"Activation", R"({"name": "a", "activation": "softsign"})", {{5}}},
    {"Activation", R"({"name": "a", "activation": "hard_sigmoid"})", {{5}}},
    {"Activation", R"({"name": "a", "activation": "relu"})", {{5}}},
    {"Activation", R"({"name": "a", "activation": "linear"})", {{5}}},
    {"Flatten", R"({"name": "f"})", {{2, 3, 2}}},
    {"Conv2D", R"({"name": "c", "filters": 3, "kernel_size": [3, 3], "activation": "tanh"})", {{5, 6, 2}}},
    {"Conv2D", R"({"name": "c", "filters": 2, "kernel_size": [3, 2], "strides": [2, 2], "padding": "same"})", {{5, 5, 3}}},
    {"Conv2D", R"({"name": "c", "filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "same"})", {{6, 5, 1}}},
    {"Conv1D", R"({"name": "c1", "filters": 2, "kernel_size": 3, "padding": "same"})", {{7, 2}}},
    {"ZeroPadding2D", R"({"name": "z", "padding": [[1, 2], [0, 1]]})", {{3, 3, 2}}},
    {"MaxPooling2D", R"({"name": "p", "pool_size": [2, 2]})", {{5, 4, 2}}},
    {"MaxPooling2D", R"({"name": "p", "pool_size": [3, 3], "strides": [2, 2], "padding": "same"})", {{5, 5, 1}}},
    {"AveragePooling2D", R"({"name": "p", "pool_size": [2, 2], "padding": "same"})", {{5, 3, 2}}},
    {"GlobalMaxPooling2D", R"({"name": "g"})", {{3, 3, 2}}},
    {"GlobalAveragePooling2D", R"({"name": "g"})", {{3, 3, 2}}},
    {"MaxPooling1D", R"({"name": "p1", "pool_size": 2})", {{7, 2}}},
    {"Reshape", R"({"name": "r", "target_shape": [3, -1]})", {{2, 3}}},
    {"BatchNormalization", R"({"name": "bn"})", {{3, 2}}, true},
    {"BatchNormalization", R"({"name": "bn"})", {{4}}, false},
    {"LeakyReLU", R"({"name": "lr", "alpha": 0.3})", {{6}}},
    {"Concatenate", R"({"name": "m", "axis": -1})", {{2, 3}, {2, 2}}},
    {"Add", R"({"name": "m"})", {{4}, {4}}},
    {"Subtract", R"({"name": "m"})", {{4}, {4}}},
    {"Multiply", R"({"name": "m"})", {{4}, {4}, {4}}},
    {"Average", R"({"name": "m"})", {{4}, {4}}},
    {"Maximum", R"({"name": "m"})", {{4}, {4}}},
    {"Minimum", R"({"name": "m"})", {{4}, {4}}},
    {"SimpleRNN", R"({"name": "r", "units": 3})", {{4, 2}}},
    {"SimpleRNN", R"({"name": "r", "units": 2, "return_sequences": true, "go_backwards": true})", {{3, 3}}},
    {"SimpleRNN", R"({"name": "r", "units": 3, "activation": "sigmoid", "use_bias": false, "return_sequences": true})", {{1, 2}}},
    {"LSTM", R"({"name": "l", "units": 3, "recurrent_activation": "sigmoid"})", {{4, 2}}},
    {"LSTM", R"({"name": "l", "units": 2, "recurrent_activation": "sigmoid", "return_sequences": true, "go_backwards": true})", {{3, 3}}},
    {"LSTM", R"({"name": "l", "units": 2, "return_sequences": true})", {{3, 2}}},
    {"GRU", R"({"name": "g", "units": 3, "recurrent_activation": "sigmoid"})", {{4, 2}}},
    {"GRU", R"({"name": "g", "units": 2, "recurrent_activation": "sigmoid", "return_sequences": true, "go_backwards": true})", {{3, 3}}},
    {"GRU", R"({"name": "g", "units": 2, "use_bias": false, "return_sequences": true})", {{3, 2}}},
    {"GRU", R"({"name": "g", "units": 2, "reset_after": true, "return_sequences": true})", {{3, 2}}},
    {"CuDNNLSTM", R"({"name": "l", "units": 2, "return_sequences": true})", {{3, 2}}},
    {"CuDNNGRU", R"({"name": "g", "units": 2})", {{4, 2}}},
    {"Masking", R"({"name": "mk", "mask_value": 0.5})", {{3, 2}}},
    {"Bidirectional", R"({"name": "b", "merge_mode": "mul", "layer": {"class_name": "LSTM", "config": {"name": "l", "units": 2, "recurrent_activation": "sigmoid", "return_sequences": true}}})", {{3, 2}}},
    {"Bidirectional", R"({"name": "b", "merge_mode": "ave", "layer": {"class_name": "GRU", "config": {"name": "g", "units": 2, "recurrent_activation": "sigmoid"}}})", {{3, 2}}},
    {"TimeDistributed", R"({"name": "t", "layer": {"class_name": "Dense", "config": {"name": "d", "units": 2, "activation": "tanh"}}})", {{3, 2}}},
    {"GlobalAveragePooling1D", R"({"name": "g"})", {{4, 3}}},
    {"GlobalMaxPooling1D", R"({"name": "g"})", {{4, 3}}},
    {"AveragePooling1D", R"({"name": "p", "pool_size": 2, "strides": 1, "padding": "same"})", {{5, 2}}},
    {"UpSampling1D", R"({"name": "u", "size": 3})", {{3, 2}}},
    {"Cropping1D", R"({"name": "c", "cropping": [1, 2]})", {{5, 2}}},
    {"ZeroPadding1D", R"({"name": "z", "padding": [2, 1]})", {{3, 2}}},
    {"RepeatVector", R"({"name": "r", "n": 3})", {{4}}},
    {"Permute", R"({"name": "p", "dims": [2, 1]})", {{3, 4}}},
    {"Permute", R"({"name": "p", "dims": [3, 1, 2]})", {{2, 3, 4}}},
    {"SimpleRNN", R"({"name": "r", "units": 2, "return_state": true})", {{3, 2}}},
    {"Embedding", R"({"name": "e", "input_dim": 5, "output_dim": 3})", {{4}}, false, 5},
    {"Embedding", R"({"name": "e", "input_dim": 9, "output_dim": 2, "input_length": 3})", {{3}}, false, 9},
    {"ReLU", R"({"name": "r", "max_value": 6, "negative_slope": 0.2})", {{6}}},
    {"ELU", R"({"name": "e", "alpha": 0.5})", {{6}}},
    {"ThresholdedReLU", R"({"name": "t", "theta": 0.0})", {{6}}},
    {"Softmax", R"({"name": "s", "axis": 1})", {{4, 3}}},
    {"PReLU", R"({"name": "p", "shared_axes": [1]})", {{3, 2}}},
    {"SpatialDropout1D", R"({"name": "s", "rate": 0.5})", {{4, 3}}, true},
    {"SpatialDropout2D", R"({"name": "s", "rate": 0.5})", {{3, 2, 3}}, true},
    {"SpatialDropout3D", R"({"name": "s", "rate": 0.5})", {{2, 2, 2, 3}}, true},
    {"GaussianNoise", R"({"name": "g", "stddev": 0.5})", {{5}}, true},
    {"GaussianDropout", R"({"name": "g", "rate": 0.3})", {{5}}, true},
    {"AlphaDropout", R"({"name": "g", "rate": 0.3})", {{5}}, true},
    {"ActivityRegularization", R"({"name": "a", "l1": 0.1})", {{5}}},
    {"UpSampling2D", R"({"name": "u", "size": [2, 1]})", {{2, 3, 2}}},
    {"UpSampling3D", R"({"name": "u", "size": 2})", {{2, 1, 2, 1}}},
    {"Cropping2D", R"({"name": "c", "cropping": [[1, 0], [0, 1]]})", {{3, 3, 2}}},
    {"Cropping3D", R"({"name": "c", "cropping": 1})", {{3, 3, 4, 1}}},
    {"ZeroPadding3D", R"({"name": "z", "padding": 1})", {{2, 1, 2, 1}}},
    {"Conv2DTranspose", R"({"name": "ct", "filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "tanh"})", {{2, 3, 2}}},
    {"Conv3D", R"({"name": "c3", "filters": 2, "kernel_size": 2, "padding": "same"})", {{3, 2, 3, 2}}},
    {"Conv3DTranspose", R"({"name": "c3t", "filters": 2, "kernel_size": 2, "strides": 2})", {{2, 1, 2, 2}}},
    {"DepthwiseConv2D", R"({"name": "dw", "kernel_size": 2, "depth_multiplier": 2})", {{3, 3, 2}}},
    {"SeparableConv2D", R"({"name": "sc", "filters": 3, "kernel_size": 2, "padding": "same", "activation": "tanh"})", {{3, 3, 2}}},
    {"LocallyConnected1D", R"({"name": "l1", "filters": 2, "kernel_size": 2})", {{4, 2}}},
    {"LocallyConnected2D", R"({"name": "l2", "filters": 2, "kernel_size": 2})", {{3, 3, 2}}},
    {"MaxPooling3D", R"({"name": "p", "pool_size": 2})", {{2, 2, 4, 1}}},
    {"AveragePooling3D", R"({"name": "p", "pool_size": 2, "padding": "same"})", {{3, 2, 3, 1}}},
    {"GlobalMaxPooling3D", R"({"name": "g"})", {{2, 2, 2, 2}}},
    {"GlobalAveragePooling3D", R"({"name": "g"})", {{2, 2, 2, 2}}},
    {"Dot", R"({"name": "d", "axes": [2, 2], "normalize": true})", {{2, 3}, {2, 3}}},
    // channels_first (layers_channels_first.cpp), dilated Conv2DTranspose, bilinear UpSampling2D
    {"Conv2D", R"({"name": "c", "filters": 2, "kernel_size": [2, 3], "data_format": "channels_first"})", {{3, 4, 5}}},
    {"MaxPooling2D", R"({"name": "p", "pool_size": 2, "padding": "same", "data_format": "channels_first"})", {{2, 3, 4}}},
    {"GlobalAveragePooling2D", R"({"name": "g", "data_format": "channels_first"})", {{3, 2, 2}}},
    {"Conv3DTranspose", R"({"name": "c3t", "filters": 2, "kernel_size": 2, "data_format": "channels_first"})", {{2, 2, 1, 2}}},
    {"Conv2DTranspose", R"({"name": "ct", "filters": 2, "kernel_size": [2, 3], "dilation_rate": 2, "padding": "same"})", {{3, 4, 2}}},
    {"Conv2DTranspose", R"({"name": "ct", "filters": 1, "kernel_size": 2, "dilation_rate": 3, "data_format": "channels_first"})", {{2, 2, 3}}},
    {"UpSampling2D", R"({"name": "u", "size": [2, 3], "interpolation": "bilinear"})", {{2, 3, 2}}},
    {"UpSampling2D", R"({"name": "u", "size": 2, "interpolation": "bilinear", "data_format": "channels_first"})", {{2, 2, 3}}},
  };
  return c;
}

}  // namespace

TEST(every_registered_layer_has_a_gradient_case) {
  std::set<std::string> covered;
  for (auto& c : cases()) covered.insert(c.cls);
  for (auto& name : registered_layers()) {
    if (!covered.count(name)) std::printf("  no gradient check case for layer class %s\n", name.c_str());
    CHECK(covered.count(name) == 1);
  }
}

TEST(layer_gradients_match_finite_differences) {
  std::set<std::string> registered;
  for (auto& n : registered_layers()) registered.insert(n);
  for (auto& c : cases()) {
    if (!registered.count(c.cls)) continue;  // class not built into this binary
    int bad = check_case(c);
    if (bad) std::printf("  %s %s: %d mismatches\n", c.cls.c_str(), c.config.c_str(), bad);
    CHECK(bad == 0);
  }
}

TEST(every_loss_gradient_matches_finite_differences) {
  Rng rng(3);
  for (auto& name : valid_loss_names()) {
    auto loss = make_loss(name);
    const int64_t n = 3, k = 4;
    Tensor pred({n, k}), y({n, k}), d({n, k});
    for (auto& v : pred.data) v = 0.1f + 0.8f * static_cast<float>(rng.uniform());
    if (loss->name() == "sparse_categorical_crossentropy") {
      y = Tensor({n, 1});
      for (int64_t i = 0; i < n; ++i) y.data[i] = static_cast<float>(i % k);
    } else if (loss->name() == "categorical_crossentropy") {
      for (int64_t i = 0; i < n; ++i) y.data[i * k + (i % k)] = 1.0f;
    } else {
      for (auto& v : y.data) v = static_cast<float>(rng.uniform() < 0.5 ? 0 : 1);
      if (loss->name() == "mean_absolute_error")  // keep |pred - y| away from 0
        for (int64_t i = 0; i < y.size(); ++i) y.data[i] = pred.data[i] + (i % 2 ? 0.3f : -0.3f);
    }
    std::vector<float> ps(n), coef(n, 1.0f);
    loss->compute(pred, y, ps.data(), &d, coef.data());
    const float eps = 1e-3f;
    for (int64_t i = 0; i < pred.size(); ++i) {
      float old = pred.data[i];
      std::vector<float> a(n), b(n);
      pred.data[i] = old + eps; loss->compute(pred, y, a.data(), nullptr, nullptr);
      pred.data[i] = old - eps; loss->compute(pred, y, b.data(), nullptr, nullptr);
      pred.data[i] = old;
      double num = 0;
      for (int64_t r = 0; r < n; ++r) num += (static_cast<double>(a[r]) - b[r]) / (2 * eps);
      CHECK_NEAR(d.data[i], num, 2e-2 * std::max(1.0, std::fabs(num)));
    }
  }
}

KN_TEST_MAIN
