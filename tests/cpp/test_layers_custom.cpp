// CustomLayer (traced sub-graph of ops with its own weights): forward and
// backward against naive loops, finite differences, use in a Graph (weights
// trained through the model), non-trainable weights, and trace errors.
#include <cmath>

#include "harness.h"
#include "keras_config.h"
#include "layers_custom.h"
#include "model.h"

using namespace kn;

namespace {

// y = 2 * relu(x %*% W) + b, W (3, 2) trainable, b (2) non-trainable.
TraceResult dense_like_trace() {
  TraceResult t;
  t.weights.push_back(WeightSpec{"bias", {2}, Json("ones"), false});     // declared first, stored second
  t.weights.push_back(WeightSpec{"kernel", {3, 2}, Json("random_normal"), true});
  // refs: 0 = x, 1 = kernel, 2 = bias, then ops 3, 4, ...
  t.ops = Json::parse(R"([
    {"op": "matmul", "inputs": [0, 1]},
    {"op": "relu", "inputs": [3]},
    {"op": "constant", "attrs": {"dtype": "float32"}, "inputs": [], "value": [2], "value_shape": []},
    {"op": "mul", "inputs": [4, 5]},
    {"op": "add", "inputs": [6, 2]}
  ])");
  return t;
}

std::shared_ptr<CustomLayer> make_custom() {
  auto l = std::make_shared<CustomLayer>("CustomLayer", Json::parse(R"({"output_dim": 2})"));
  l->name = "custom_1";
  l->tracer = [](const std::vector<Shape>&) { return dense_like_trace(); };
  return l;
}

// naive forward of the traced function
std::vector<double> naive(const Tensor& x, const Tensor& w, const Tensor& b) {
  int64_t n = x.shape[0];
  std::vector<double> y(n * 2);
  for (int64_t i = 0; i < n; ++i)
    for (int j = 0; j < 2; ++j) {
      double z = 0;
      for (int k = 0; k < 3; ++k) z += static_cast<double>(x.data[i * 3 + k]) * w.data[k * 2 + j];
      y[i * 2 + j] = 2 * std::max(z, 0.0) + b.data[j];
    }
  return y;
}

}  // namespace

TEST(custom_layer_weights_and_forward) {
  auto l = make_custom();
  Rng rng(7);
  Shape out = l->build({{3}}, rng);
  CHECK(out == Shape({2}));
  CHECK(l->params.size() == 2);
  CHECK(l->params[0].name == "kernel" && l->params[0].trainable);   // trainable first, as Keras
  CHECK(l->params[1].name == "bias" && !l->params[1].trainable);
  CHECK(l->params[1].value.data[0] == 1.0f);
  Tensor x({4, 3});  // (4, 3)
  for (int64_t i = 0; i < x.size(); ++i) x.data[i] = std::sin(1.3 * i);
  Tensor y({4, 2});  // (4, 2)
  Scratch s;
  RunContext ctx;
  ctx.scratch = &s;
  l->forward(ctx, {&x}, y);
  std::vector<double> want = naive(x, l->params[0].value, l->params[1].value);
  for (int i = 0; i < 8; ++i) CHECK_NEAR(y.data[i], want[i], 1e-5);
}

TEST(custom_layer_backward_matches_naive_and_fd) {
  auto l = make_custom();
  Rng rng(3);
  l->build({{3}}, rng);
  Tensor x({5, 3});  // (5, 3)
  for (int64_t i = 0; i < x.size(); ++i) x.data[i] = std::cos(0.7 * i) - 0.2;
  Tensor y({5, 2}), dy({5, 2}), dx({5, 3});
  for (int64_t i = 0; i < dy.size(); ++i) dy.data[i] = 0.1f * (i % 4) - 0.15f;
  Scratch s;
  RunContext ctx;
  ctx.scratch = &s;
  l->forward(ctx, {&x}, y);
  for (auto& p : l->params) p.grad.zero();
  l->backward(ctx, {&x}, y, dy, {&dx});
  const Tensor& w = l->params[0].value;
  for (int k = 0; k < 3; ++k)
    for (int j = 0; j < 2; ++j) {
      double g = 0;
      for (int i = 0; i < 5; ++i) {
        double z = 0;
        for (int q = 0; q < 3; ++q) z += x.data[i * 3 + q] * w.data[q * 2 + j];
        if (z > 0) g += x.data[i * 3 + k] * 2 * dy.data[i * 2 + j];
      }
      CHECK_NEAR(l->params[0].grad.data[k * 2 + j], g, 1e-5);
    }
  for (float v : l->params[1].grad.data) CHECK(v == 0.0f);  // non-trainable: no gradient
  // dL/dx by central finite differences of L = sum(dy * y)
  auto loss = [&](const Tensor& xx) {
    std::vector<double> yy = naive(xx, l->params[0].value, l->params[1].value);
    double L = 0;
    for (size_t i = 0; i < yy.size(); ++i) L += yy[i] * dy.data[i];
    return L;
  };
  for (int64_t i = 0; i < x.size(); ++i) {
    Tensor xp = x, xm = x;
    xp.data[i] += 1e-3f;
    xm.data[i] -= 1e-3f;
    CHECK_NEAR(dx.data[i], (loss(xp) - loss(xm)) / 2e-3, 1e-3);
  }
}

TEST(custom_layer_in_a_model_trains_its_kernel_only) {
  Model m;
  Graph& g = m.graph;
  int in = g.add_input({3}, "x");
  auto l = make_custom();
  int o = g.add(l, {in}, m.rng);
  g.inputs = {in};
  g.outputs = {o};
  CHECK(g.count_params() == 8);
  CHECK(g.count_params(true) == 6);
  m.compile({"mean_squared_error"}, {}, false, make_optimizer("SGD", Json::parse(R"({"lr": 0.1})")));
  Batch b;
  b.x.push_back(Tensor({6, 3}));
  b.y.push_back(Tensor({6, 2}));
  for (int64_t i = 0; i < 18; ++i) b.x[0].data[i] = std::sin(0.9 * i);
  for (int64_t i = 0; i < 12; ++i) b.y[0].data[i] = 2.0f + 0.5f * std::cos(0.4 * i);
  Tensor w0 = l->params[0].value;
  double first = m.test_batch(b)[0];
  // one SGD step by hand: W -= lr * dL/dW, L = mean over samples and outputs of (y - t)^2
  std::vector<double> y = naive(b.x[0], w0, l->params[1].value);
  std::vector<double> want(6, 0.0);
  for (int k = 0; k < 3; ++k)
    for (int j = 0; j < 2; ++j) {
      double gsum = 0;
      for (int i = 0; i < 6; ++i) {
        double z = 0;
        for (int q = 0; q < 3; ++q) z += b.x[0].data[i * 3 + q] * w0.data[q * 2 + j];
        if (z > 0) gsum += 2.0 * (y[i * 2 + j] - b.y[0].data[i * 2 + j]) / 12.0 * 2 * b.x[0].data[i * 3 + k];
      }
      want[k * 2 + j] = w0.data[k * 2 + j] - 0.1 * gsum;
    }
  m.train_batch(b, 1);
  for (int i = 0; i < 6; ++i) CHECK_NEAR(l->params[0].value.data[i], want[i], 1e-5);
  CHECK(l->params[1].value.data[0] == 1.0f && l->params[1].value.data[1] == 1.0f);
  for (int s = 0; s < 200; ++s) m.train_batch(b, s + 2);
  CHECK(m.test_batch(b)[0] < first);
  // a second application with another shape is refused
  int in2 = g.add_input({4}, "x2");
  CHECK_THROWS(g.add(l, {in2}, m.rng), "was built for input shape");
}

TEST(custom_layer_trace_errors_name_the_layer) {
  auto l = std::make_shared<CustomLayer>("MyLayer", Json::object());
  l->name = "my_1";
  Rng rng(1);
  l->tracer = [](const std::vector<Shape>&) {
    TraceResult t;
    t.ops = Json::parse(R"([{"op": "sum", "attrs": {"axis": null}, "inputs": [0]}])");
    return t;
  };
  CHECK_THROWS(l->build({{3}}, rng), "my_1' (MyLayer): call() must return a tensor whose first dimension is the batch");
  CHECK(!l->built() && l->params.empty());
  l->tracer = [](const std::vector<Shape>&) {
    TraceResult t;
    t.weights.push_back(WeightSpec{"k", {3, 0}, Json(), true});
    t.ops = Json::parse(R"([{"op": "matmul", "inputs": [0, 1]}])");
    return t;
  };
  CHECK_THROWS(l->build({{3}}, rng), "weight 'k' has shape");
  l->tracer = [](const std::vector<Shape>&) {
    TraceResult t;
    t.weights.push_back(WeightSpec{"k", {4, 2}, Json(), true});
    t.ops = Json::parse(R"([{"op": "matmul", "inputs": [0, 1]}])");
    return t;
  };
  CHECK_THROWS(l->build({{3}}, rng), "my_1' (MyLayer): matmul");
  CHECK(!l->built());
}

TEST(custom_layer_config_is_keras_shaped_and_loads_through_custom_objects) {
  Model m;
  Graph& g = m.graph;
  int in = g.add_input({3}, "input_1");
  int o = g.add(make_custom(), {in}, m.rng);
  g.inputs = {in};
  g.outputs = {o};
  Json cfg = keras_model_config(m, false);
  const Json& layer = cfg["config"]["layers"][1];
  CHECK(layer["class_name"].as_string() == "CustomLayer");
  CHECK(layer["config"]["name"].as_string() == "custom_1");
  CHECK(layer["config"]["output_dim"].as_int() == 2);
  CHECK(layer["inbound_nodes"][0][0][0].as_string() == "input_1");
  // without the class: an error naming it; with it: the same model again
  Model m2;
  CHECK_THROWS(model_from_keras_config(cfg, CustomLayers(), "", m2), "unknown layer class 'CustomLayer'");
  CustomLayers custom;
  custom["CustomLayer"].build = [](const Json& c) {
    auto l = make_custom();
    CHECK(c["output_dim"].as_int() == 2);
    return LayerPtr(l);
  };
  Model m3;
  model_from_keras_config(cfg, custom, "", m3);
  CHECK(m3.graph.count_params() == 8);
  CHECK(m3.graph.layers()[0]->class_name() == "CustomLayer");
  // a Lambda needs its function from custom_objects
  Json lam = Json::parse(R"({"class_name": "Sequential", "config": {"name": "s", "layers": [
    {"class_name": "Lambda", "config": {"name": "lambda_1", "batch_input_shape": [null, 2],
     "function": "f", "function_type": "function", "arguments": {}}}]}})");
  Model m4;
  CHECK_THROWS(model_from_keras_config(lam, CustomLayers(), "", m4), "Lambda layer 'lambda_1' needs its R function");
}

KN_TEST_MAIN
