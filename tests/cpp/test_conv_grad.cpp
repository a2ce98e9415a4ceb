// Finite-difference gradient checks of the convolution-family layers (Conv2D,
// Conv1D, ZeroPadding2D, pooling, BatchNormalization, LeakyReLU, Reshape),
// BatchNormalization against values worked out by hand, and bitwise
// reproducibility of conv training at any thread count.
#include "test_conv_util.h"

using namespace kn;
using namespace conv_test;

// ---------------------------------------------------------------- gradient checks
TEST(gradcheck_conv2d) {
  struct Case { int64_t H, W, C, F, kh, kw, sh, sw, dh, dw; const char* pad; const char* act; };
  const Case cases[] = {
      {5, 6, 2, 3, 3, 3, 1, 1, 1, 1, "valid", "linear"}, {5, 6, 2, 3, 3, 2, 2, 2, 1, 1, "same", "tanh"},
      {7, 7, 2, 2, 3, 3, 1, 1, 2, 2, "same", "linear"},  {6, 5, 1, 3, 3, 3, 1, 1, 1, 1, "valid", "tanh"},
      {4, 4, 3, 2, 1, 1, 1, 1, 1, 1, "valid", "tanh"},   {7, 6, 2, 2, 2, 3, 3, 2, 1, 1, "same", "linear"},
  };
  for (const Case& c : cases) {
    Harness h(make_layer("Conv2D", conv2d_cfg(c.F, ints({c.kh, c.kw}), ints({c.sh, c.sw}), c.pad,
                                              ints({c.dh, c.dw}), c.act)),
              {c.H, c.W, c.C});
    randomize_params(*h.L, 31);
    Tensor x({3, c.H, c.W, c.C});
    fill_uniform(x, 32);
    CHECK(gradcheck(h, x, GradOpts(), "conv2d") == 0);
  }
}

TEST(gradcheck_conv2d_relu_off_kinks) {
  // Pick a seed whose pre-activations all stay > 0.005 away from the ReLU kink
  // (a perturbation of 1e-3 in one input (|w| <= 0.5) or weight (|x| <= 1) moves them by <= 1e-3).
  Json cfg = conv2d_cfg(3, Json(3), Json(1), "same", Json(1), "relu");
  for (uint64_t seed = 1; seed < 200; ++seed) {
    Json lin = cfg;
    lin.set("activation", "linear");
    Harness hl(make_layer("Conv2D", lin), {5, 5, 2});
    randomize_params(*hl.L, seed);
    Tensor x({2, 5, 5, 2});
    fill_uniform(x, seed + 1000);
    Tensor z = hl.fwd(x);
    float mn = 1e9;
    for (float v : z.data) mn = std::min(mn, std::fabs(v));
    if (mn < 0.005f) continue;
    Harness h(make_layer("Conv2D", cfg), {5, 5, 2});
    for (size_t k = 0; k < h.L->params.size(); ++k) h.L->params[k].value = hl.L->params[k].value;
    GradOpts o;
    o.eps = 1e-3;
    o.atol = 3e-3;
    CHECK(gradcheck(h, x, o, "conv2d_relu") == 0);
    return;
  }
  CHECK(false);  // no seed found
}

TEST(gradcheck_conv1d) {
  const char* pads[] = {"valid", "same", "causal"};
  for (const char* pad : pads) {
    Json cfg = obj({{"name", "conv1d_1"}, {"filters", Json(3)}, {"kernel_size", Json(3)}, {"strides", Json(1)},
                    {"padding", pad}, {"dilation_rate", Json(2)}, {"activation", "tanh"}});
    Harness h(make_layer("Conv1D", cfg), {9, 2});
    randomize_params(*h.L, 41);
    Tensor x({2, 9, 2});
    fill_uniform(x, 42);
    CHECK(gradcheck(h, x, GradOpts(), pad) == 0);
  }
  Json cfg = obj({{"name", "conv1d_2"}, {"filters", Json(2)}, {"kernel_size", Json(2)}, {"strides", Json(2)},
                  {"padding", "same"}});
  Harness h(make_layer("Conv1D", cfg), {7, 3});
  randomize_params(*h.L, 43);
  Tensor x({2, 7, 3});
  fill_uniform(x, 44);
  CHECK(gradcheck(h, x, GradOpts(), "conv1d stride 2") == 0);
}

TEST(gradcheck_zero_padding_reshape_leaky) {
  {
    Json cfg = obj({{"name", "zp"}, {"padding", Json::parse("[[1, 2], [0, 3]]")}});
    Harness h(make_layer("ZeroPadding2D", cfg), {3, 2, 2});
    CHECK((h.out_shape == Shape{6, 5, 2}));
    Tensor x({2, 3, 2, 2});
    fill_uniform(x, 51);
    Tensor y = h.fwd(x);
    // hand check: out(n, h+1, w, c) = x(n, h, w, c); row 0 and cols >= 2 are zero
    CHECK_NEAR(y.data[((0 * 6 + 1) * 5 + 0) * 2 + 1], x.data[1], 0);
    CHECK_NEAR(y.data[((1 * 6 + 3) * 5 + 1) * 2 + 0], x.data[((1 * 3 + 2) * 2 + 1) * 2 + 0], 0);
    CHECK_NEAR(y.data[((0 * 6 + 0) * 5 + 0) * 2 + 0], 0, 0);
    CHECK_NEAR(y.data[((0 * 6 + 2) * 5 + 4) * 2 + 0], 0, 0);
    CHECK(gradcheck(h, x, GradOpts(), "zeropadding") == 0);
  }
  {
    Harness h(make_layer("Reshape", obj({{"name", "r"}, {"target_shape", ints({-1, 3})}})), {2, 3, 2});
    CHECK((h.out_shape == Shape{4, 3}));
    Tensor x({2, 2, 3, 2});
    fill_uniform(x, 52);
    Tensor y = h.fwd(x);
    CHECK(y.data == x.data);
    CHECK(gradcheck(h, x, GradOpts(), "reshape") == 0);
  }
  {
    Harness h(make_layer("LeakyReLU", obj({{"name", "lr"}, {"alpha", Json(0.2)}})), {4, 3});
    Tensor x({2, 4, 3});
    fill_distinct(x, 53, 0.05f);  // no value within 1e-2 of 0 except exact 0 at the middle
    for (auto& v : x.data) if (v == 0.0f) v = 0.025f;
    Tensor y = h.fwd(x);
    for (int64_t i = 0; i < x.size(); ++i)
      CHECK_NEAR(y.data[i], x.data[i] > 0 ? x.data[i] : 0.2 * x.data[i], 1e-7);
    CHECK(gradcheck(h, x, GradOpts(), "leakyrelu") == 0);
    Harness d(make_layer("LeakyReLU", obj({{"name", "lr2"}})), {4});
    CHECK_NEAR(d.L->config()["alpha"].as_number(), 0.3, 0);
  }
}

TEST(gradcheck_pooling) {
  GradOpts o;
  o.eps = 2e-3;  // values are 1e-2 apart: no window's arg max changes
  o.atol = 2e-3;
  struct Case { const char* cls; int64_t H, W, C, kh, kw, sh, sw; const char* pad; };
  const Case cases[] = {
      {"MaxPooling2D", 6, 6, 2, 2, 2, 2, 2, "valid"}, {"MaxPooling2D", 7, 5, 2, 3, 2, 2, 1, "same"},
      {"MaxPooling2D", 5, 5, 2, 3, 3, 1, 1, "same"},  {"AveragePooling2D", 7, 5, 2, 3, 2, 2, 1, "same"},
      {"AveragePooling2D", 6, 6, 2, 2, 2, 2, 2, "valid"}, {"AveragePooling2D", 5, 7, 1, 3, 3, 3, 3, "same"},
  };
  for (const Case& c : cases) {
    Json cfg = obj({{"name", "p"}, {"pool_size", ints({c.kh, c.kw})}, {"strides", ints({c.sh, c.sw})},
                    {"padding", c.pad}});
    Harness h(make_layer(c.cls, cfg), {c.H, c.W, c.C});
    Tensor x({2, c.H, c.W, c.C});
    fill_distinct(x, 61);
    CHECK(gradcheck(h, x, o, c.cls) == 0);
  }
  const char* globals[] = {"GlobalMaxPooling2D", "GlobalAveragePooling2D"};
  for (const char* g : globals) {
    Harness h(make_layer(g, obj({{"name", "g"}})), {3, 4, 3});
    Tensor x({2, 3, 4, 3});
    fill_distinct(x, 62);
    CHECK(gradcheck(h, x, o, g) == 0);
  }
  Harness h(make_layer("MaxPooling1D", obj({{"name", "m"}, {"pool_size", Json(3)}, {"strides", Json(2)},
                                            {"padding", "same"}})),
            {8, 3});
  Tensor x({2, 8, 3});
  fill_distinct(x, 63);
  CHECK(gradcheck(h, x, o, "MaxPooling1D") == 0);
}

TEST(gradcheck_batchnorm) {
  // training mode (batch statistics) on 4-D and 2-D inputs, and inference mode
  for (int mode = 0; mode < 3; ++mode) {
    Shape in = mode == 1 ? Shape{5} : Shape{3, 2, 4};
    Harness h(make_layer("BatchNormalization", obj({{"name", "bn"}})), in);
    fill_uniform(h.L->params[0].value, 71, 0.5f, 1.5f);   // gamma
    fill_uniform(h.L->params[1].value, 72, -0.5f, 0.5f);  // beta
    fill_uniform(h.L->params[2].value, 73, -0.5f, 0.5f);  // moving_mean
    fill_uniform(h.L->params[3].value, 74, 0.5f, 1.5f);   // moving_variance
    Tensor x(with_batch(3, in));
    fill_uniform(x, 75, -2.0f, 2.0f);
    GradOpts o;
    o.training = mode != 2;
    o.eps = 1e-2;
    CHECK(gradcheck(h, x, o, mode == 2 ? "bn inference" : "bn training") == 0);
  }
}

// ---------------------------------------------------------------- BatchNormalization by hand
TEST(batchnorm_train_and_inference_by_hand) {
  // x = [1, 2, 3, 6] in one channel: mean 3, biased var (4+1+0+9)/4 = 3.5.
  const double eps = 1e-3, var = 3.5;
  const float xs[] = {1, 2, 3, 6};
  for (int four_d = 0; four_d < 2; ++four_d) {
    Shape in = four_d ? Shape{2, 2, 1} : Shape{1};
    Harness h(make_layer("BatchNormalization", obj({{"name", "bn"}})), in);
    CHECK(h.L->params.size() == 4);
    CHECK(h.L->params[0].name == "gamma" && h.L->params[1].name == "beta" &&
          h.L->params[2].name == "moving_mean" && h.L->params[3].name == "moving_variance");
    CHECK(h.L->params[0].trainable && h.L->params[1].trainable && !h.L->params[2].trainable &&
          !h.L->params[3].trainable);
    h.L->params[0].value.data = {2.0f};  // gamma
    h.L->params[1].value.data = {0.5f};  // beta
    Tensor x(four_d ? Shape{1, 2, 2, 1} : Shape{4, 1});
    for (int i = 0; i < 4; ++i) x.data[i] = xs[i];
    Tensor y = h.fwd(x, /*training=*/true);
    for (int i = 0; i < 4; ++i) CHECK_NEAR(y.data[i], 2.0 * (xs[i] - 3.0) / std::sqrt(var + eps) + 0.5, 1e-5);
    // moving_mean = 0 * 0.99 + 3 * 0.01; moving_variance = 1 * 0.99 + v * 0.01 with
    // v = 3.5 * 4/(4 - 1.001) (Keras's correction), times 4/3 more on the fused 4-D path.
    const double v = var * 4.0 / (4.0 - 1.001) * (four_d ? 4.0 / 3.0 : 1.0);
    CHECK_NEAR(h.L->params[2].value.data[0], 0.03, 1e-7);
    CHECK_NEAR(h.L->params[3].value.data[0], 0.99 + 0.01 * v, 1e-6);
    // inference uses the moving statistics
    const double mm = 0.03, mv = 0.99 + 0.01 * v;
    Tensor yi = h.fwd(x, false);
    for (int i = 0; i < 4; ++i) CHECK_NEAR(yi.data[i], 2.0 * (xs[i] - mm) / std::sqrt(mv + eps) + 0.5, 1e-5);
    // no update in inference
    CHECK_NEAR(h.L->params[2].value.data[0], 0.03, 1e-7);
  }
  // center = FALSE, scale = FALSE: only the moving statistics
  Harness h(make_layer("BatchNormalization", obj({{"name", "bn2"}, {"center", false}, {"scale", false},
                                                  {"momentum", Json(0.5)}, {"epsilon", Json(0.01)}})),
            {1});
  CHECK(h.L->params.size() == 2 && h.L->params[0].name == "moving_mean");
  Tensor x({4, 1});
  for (int i = 0; i < 4; ++i) x.data[i] = xs[i];
  Tensor y = h.fwd(x, true);
  for (int i = 0; i < 4; ++i) CHECK_NEAR(y.data[i], (xs[i] - 3.0) / std::sqrt(3.5 + 0.01), 1e-5);
  CHECK_NEAR(h.L->params[0].value.data[0], 1.5, 1e-6);
  CHECK_NEAR(h.L->params[1].value.data[0], 0.5 + 0.5 * 3.5 * 4.0 / (4.0 - 1.01), 1e-6);
}

// ---------------------------------------------------------------- determinism
TEST(threads_bitwise_identical) {
  // Seed-CNN shapes: conv 28x28x1 -> 32 (3x3), conv 13x13x32 -> 64 (3x3), batch 128; plus BN and pooling.
  struct Net { Shape in; Json cfg; const char* cls; };
  std::vector<Net> nets = {
      {{28, 28, 1}, conv2d_cfg(32, Json(3), Json(1), "valid", Json(1), "relu"), "Conv2D"},
      {{13, 13, 32}, conv2d_cfg(64, Json(3), Json(1), "same", Json(1), "relu"), "Conv2D"},
      {{13, 13, 8}, obj({{"name", "bn"}}), "BatchNormalization"},
      {{13, 13, 8}, obj({{"name", "mp"}}), "MaxPooling2D"},
  };
  for (auto& net : nets) {
    std::vector<Tensor> results[2];
    for (int t = 0; t < 2; ++t) {
      set_num_threads(t + 1);
      Harness h(make_layer(net.cls, net.cfg), net.in);
      Tensor x(with_batch(128, net.in));
      fill_uniform(x, 81);
      Tensor y = h.fwd(x, true);
      Tensor dy(y.shape);
      fill_uniform(dy, 82);
      Tensor dx = h.bwd(x, y, dy, true);
      results[t].push_back(y);
      results[t].push_back(dx);
      for (auto& p : h.L->params) { results[t].push_back(p.grad); results[t].push_back(p.value); }
    }
    set_num_threads(0);
    CHECK(results[0].size() == results[1].size());
    for (size_t i = 0; i < results[0].size(); ++i) {
      const auto& a = results[0][i].data;
      const auto& b = results[1][i].data;
      CHECK(a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
    }
  }
}

TEST(conv_backward_gradients_accumulate) {
  // backward adds into din and param grads: calling twice doubles them.
  Harness h(make_layer("Conv2D", conv2d_cfg(2, Json(3), Json(1), "same", Json(1), "linear")), {4, 4, 2});
  Tensor x({2, 4, 4, 2});
  fill_uniform(x, 91);
  Tensor y = h.fwd(x);
  Tensor dy(y.shape);
  fill_uniform(dy, 92);
  Tensor dx1 = h.bwd(x, y, dy);
  std::vector<float> g1 = h.L->params[0].grad.data;
  Tensor dx2(x.shape);
  RunContext ctx;
  ctx.scratch = &h.sc;
  h.L->backward(ctx, {&x}, y, dy, {&dx2});
  h.L->backward(ctx, {&x}, y, dy, {&dx2});
  for (int64_t i = 0; i < x.size(); ++i) CHECK_NEAR(dx2.data[i], 2 * dx1.data[i], 1e-5);
  for (size_t i = 0; i < g1.size(); ++i) CHECK_NEAR(h.L->params[0].grad.data[i], 3 * g1[i], 1e-4);
}

KN_TEST_MAIN
