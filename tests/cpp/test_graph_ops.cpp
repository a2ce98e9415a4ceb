// Op nodes in the model graph: a lambda-style op between layers, and losses
// traced into the graph, train exactly like their built-in equivalents.
#include <cmath>

#include "harness.h"
#include "model.h"

using namespace kn;

namespace {

LayerPtr dense(const std::string& name, int units, const std::string& act) {
  return make_layer("Dense", Json::parse(R"({"name": ")" + name + R"(", "units": )" + std::to_string(units) +
                                         R"(, "activation": ")" + act + R"("})"));
}

// Input(4) -> Dense(5) -> relu (layer or op) -> Dense(3, softmax)
struct Net {
  Model m;
  int hidden = -1;
  Net(bool relu_op, const std::string& loss) {
    Graph& g = m.graph;
    int x = g.add_input({4}, "x");
    int h = g.add(dense("d1", 5, "linear"), {x}, m.rng);
    int r = relu_op ? g.add_op(OpCode::Relu, parse_attrs(OpCode::Relu, Json::object()), {h}, "lambda_1")
                    : g.add(make_layer("Activation", Json::parse(R"({"name": "a", "activation": "relu"})")), {h}, m.rng);
    int o = g.add(dense("d2", 3, "softmax"), {r}, m.rng);
    g.inputs = {x};
    g.outputs = {o};
    m.compile({loss}, {}, true, make_optimizer("SGD", Json::parse(R"({"lr": 0.1})")));
  }
};

void copy_weights(Model& from, Model& to) {
  auto a = from.graph.layers(), b = to.graph.layers();
  for (auto& la : a)
    for (auto& lb : b)
      if (la->name == lb->name) for (size_t k = 0; k < la->params.size(); ++k) lb->params[k].value = la->params[k].value;
}

Batch batch(int n) {
  Batch b;
  b.x.emplace_back(Shape{n, 4});
  b.y.emplace_back(Shape{n, 3});
  Rng r(5);
  for (auto& v : b.x[0].data) v = static_cast<float>(r.uniform() * 2 - 1);
  for (int i = 0; i < n; ++i) b.y[0].data[i * 3 + r.below(3)] = 1.0f;
  return b;
}

// mean((y_pred - y_true)^2, axis = -1), traced as ops on a target node
void trace_mse(Model& m) {
  m.clear_graph_terms();
  int yt = m.add_target(0);
  int yp = m.graph.outputs[0];
  int d = m.graph.add_op(OpCode::Sub, OpAttrs(), {yp, yt}, "loss");
  int s = m.graph.add_op(OpCode::Square, OpAttrs(), {d}, "loss");
  int mean = m.graph.add_op(OpCode::Mean, parse_attrs(OpCode::Mean, Json::parse(R"({"axis": -1})")), {s}, "loss");
  m.set_graph_loss(0, mean);
}

}  // namespace

TEST(op_node_trains_like_the_activation_layer) {
  Net a(false, "categorical_crossentropy"), b(true, "categorical_crossentropy");
  copy_weights(a.m, b.m);
  Batch bt = batch(6);
  for (int step = 0; step < 5; ++step) {
    auto va = a.m.train_batch(bt, 1), vb = b.m.train_batch(bt, 1);
    CHECK_NEAR(va[0], vb[0], 1e-6);
    CHECK_NEAR(va[1], vb[1], 1e-6);
  }
  auto la = a.m.graph.layers(), lb = b.m.graph.layers();
  for (auto& x : la)
    for (auto& y : lb)
      if (x->name == y->name)
        for (size_t k = 0; k < x->params.size(); ++k)
          for (int64_t i = 0; i < x->params[k].value.size(); ++i)
            CHECK_NEAR(x->params[k].value.data[i], y->params[k].value.data[i], 1e-6);
}

TEST(traced_mse_loss_matches_builtin) {
  Net a(false, "mean_squared_error"), b(false, "graph");
  trace_mse(b.m);
  copy_weights(a.m, b.m);
  Batch bt = batch(7);
  bt.w = {1, 2, 0, 1, 1, 3, 1};  // sample weights go through the same normalisation
  for (int step = 0; step < 4; ++step) {
    auto va = a.m.train_batch(bt, 1), vb = b.m.train_batch(bt, 1);
    CHECK_NEAR(va[0], vb[0], 1e-6);
  }
  auto ea = a.m.test_batch(bt), eb = b.m.test_batch(bt);
  CHECK_NEAR(ea[0], eb[0], 1e-6);
  // predict ignores the loss nodes (no targets needed)
  ArrayData data{{bt.x[0]}, {}, {}};
  ArraySource src(data, {0, 1, 2}, 2);
  bool stopped = false;
  auto p = b.m.predict(src, nullptr, stopped);
  CHECK(p[0].shape == Shape({3, 3}));
}

TEST(scalar_loss_and_metric_nodes) {
  // loss = mean over everything (a scalar): same value and gradients as per-sample mse when unweighted
  Net a(false, "mean_squared_error"), b(false, "graph");
  b.m.clear_graph_terms();
  int yt = b.m.add_target(0);
  int d = b.m.graph.add_op(OpCode::SquaredDifference, OpAttrs(), {b.m.graph.outputs[0], yt}, "loss");
  int mean = b.m.graph.add_op(OpCode::Mean, parse_attrs(OpCode::Mean, Json::parse(R"({"axis": null})")), {d}, "loss");
  CHECK(!b.m.graph.nodes[mean].batched);
  b.m.set_graph_loss(0, mean);
  // metric: mean absolute error, hand-checked below
  int ad = b.m.graph.add_op(OpCode::Sub, OpAttrs(), {b.m.graph.outputs[0], yt}, "mae");
  int ab = b.m.graph.add_op(OpCode::Abs, OpAttrs(), {ad}, "mae");
  b.m.add_graph_metric("mae", ab);
  copy_weights(a.m, b.m);
  Batch bt = batch(5);
  auto vb = b.m.test_batch(bt);
  auto va = a.m.test_batch(bt);
  CHECK_NEAR(va[0], vb[0], 1e-6);
  CHECK(b.m.metric_names().back() == "mae");
  const Tensor& pred = b.m.graph.value(b.m.graph.outputs[0]);
  double mae = 0;
  for (int64_t i = 0; i < pred.size(); ++i) mae += std::fabs(pred.data[i] - bt.y[0].data[i]);
  CHECK_NEAR(vb.back(), mae / pred.size(), 1e-6);
  for (int step = 0; step < 3; ++step) {
    auto ta = a.m.train_batch(bt, 1), tb = b.m.train_batch(bt, 1);
    CHECK_NEAR(ta[0], tb[0], 1e-6);
  }
  // recompiling drops the traced nodes
  size_t before = b.m.graph.nodes.size();
  b.m.clear_graph_terms();
  CHECK(b.m.graph.nodes.size() == before - 5);
}

TEST(op_node_errors) {
  Model m;
  Graph& g = m.graph;
  int x = g.add_input({4}, "x");
  // reshape(-1, 2) makes (2n, 2): flagged when the batch is known
  int r = g.add_op(OpCode::Reshape, parse_attrs(OpCode::Reshape, Json::parse(R"({"shape": [-1, 2]})")), {x}, "lambda_1");
  g.inputs = {x};
  g.outputs = {r};
  Tensor in(Shape{3, 4});
  CHECK_THROWS(g.forward({&in}, false, 0), "changes the batch dimension");
  // a layer on a tensor without batch dimension
  int s = g.add_op(OpCode::Sum, parse_attrs(OpCode::Sum, Json::parse(R"({"axis": 0})")), {x}, "lambda_2");
  CHECK(!g.nodes[s].batched);
  CHECK_THROWS(g.add(dense("d", 2, "linear"), {s}, m.rng), "no batch dimension");
  CHECK_THROWS(g.add_op(OpCode::Softmax, parse_attrs(OpCode::Softmax, Json::parse(R"({"axis": 2})")), {x}, "lambda_3"),
               "lambda_3: softmax: axis 2 is out of range");
  CHECK_THROWS(g.add_op(OpCode::Sqrt, OpAttrs(), {g.add_op(OpCode::ArgMax, OpAttrs(), {x}, "l")}, "lambda_4"),
               "lambda_4: sqrt");
}

KN_TEST_MAIN
