// Embedding: lookups against the table, bad indices rejected before any read,
// gradients only in the rows seen.
#include "harness.h"
#include "layer.h"

using namespace kn;

namespace {
LayerPtr built_embedding(int64_t input_dim, int64_t output_dim, int64_t len) {
  LayerPtr l = make_layer("Embedding", Json::parse(
      "{\"name\": \"emb\", \"input_dim\": " + std::to_string(input_dim) +
      ", \"output_dim\": " + std::to_string(output_dim) + "}"));
  Rng rng(1);
  l->build({{len}}, rng);
  for (int64_t i = 0; i < l->params[0].value.size(); ++i) l->params[0].value.data[i] = 0.5f * i;
  return l;
}
}  // namespace

TEST(embedding_looks_up_rows_and_scatters_gradients) {
  LayerPtr l = built_embedding(4, 2, 3);
  Tensor x({2, 3});  // (N, T)
  x.data = {3, 0, 3, 1, 1, 2};
  Tensor y({2, 3, 2});  // (N, T, output_dim)
  Scratch sc;
  RunContext ctx;
  ctx.scratch = &sc;
  l->forward(ctx, {&x}, y);
  // table row r = (r, r + 0.5)
  const float want[] = {3, 3.5, 0, 0.5, 3, 3.5, 1, 1.5, 1, 1.5, 2, 2.5};
  for (int i = 0; i < 12; ++i) CHECK_NEAR(y.data[i], want[i], 0);
  Tensor dy({2, 3, 2});
  for (int i = 0; i < 12; ++i) dy.data[i] = static_cast<float>(i + 1);
  Tensor dx({2, 3});
  l->backward(ctx, {&x}, y, dy, {&dx});
  const float g[] = {3, 4, 7 + 9, 8 + 10, 11, 12, 1 + 5, 2 + 6};  // rows 0, 1, 2, 3
  for (int i = 0; i < 8; ++i) CHECK_NEAR(l->params[0].grad.data[i], g[i], 0);
  for (float v : dx.data) CHECK(v == 0.0f);
}

TEST(embedding_rejects_out_of_range_and_fractional_indices) {
  LayerPtr l = built_embedding(4, 2, 2);
  Tensor y({1, 2, 2});
  Scratch sc;
  RunContext ctx;
  ctx.scratch = &sc;
  for (float bad : {4.0f, -1.0f, 1.5f, 1e9f}) {
    Tensor x({1, 2});
    x.data = {0, bad};
    CHECK_THROWS(l->forward(ctx, {&x}, y), "layer 'emb' (Embedding): index");
    CHECK_THROWS(l->forward(ctx, {&x}, y), "input_dim = 4");
  }
  Tensor nan({1, 2});
  nan.data = {0, std::nanf("")};
  CHECK_THROWS(l->forward(ctx, {&nan}, y), "is not an integer");
}

TEST(embedding_config_arguments) {
  // mask_zero is supported now (test_recurrent_states.cpp): it must round-trip in the config
  CHECK(make_layer("Embedding", Json::parse(R"({"name": "e", "input_dim": 3, "output_dim": 2, "mask_zero": true})"))
            ->config()["mask_zero"].as_bool());
  // embeddings_regularizer is supported now (its penalty: testthat test-layers-penalties-more.R);
  // it must round-trip in the layer's config (layer_config() adds the weight rules)
  auto e = make_layer("Embedding", Json::parse(
      R"({"name": "e", "input_dim": 3, "output_dim": 2,
          "embeddings_regularizer": {"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.5}}})"));
  CHECK(kn::layer_config(*e)["embeddings_regularizer"]["config"]["l2"].as_number() == 0.5);
  CHECK_THROWS(make_layer("Embedding", Json::parse(R"({"name": "e", "input_dim": 0, "output_dim": 2})")),
               "input_dim");
}

KN_TEST_MAIN
