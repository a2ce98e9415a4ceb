// Tests for the convolution-family layers (Conv2D, Conv1D, ZeroPadding2D,
// pooling, BatchNormalization, LeakyReLU, Reshape): forward values against
// direct-loop references (test_conv_util.h), Keras configs and error messages.
// Gradients, thread-count reproducibility and BatchNormalization by hand are in
// test_conv_grad.cpp.
#include "test_conv_util.h"

using namespace kn;
using namespace conv_test;

// ---------------------------------------------------------------- Conv2D forward
TEST(conv2d_forward_matches_reference) {
  struct Case { int64_t N, H, W, C, F, kh, kw, sh, sw, dh, dw; const char* pad; const char* act; };
  const Case cases[] = {
      {2, 7, 6, 3, 4, 3, 3, 1, 1, 1, 1, "valid", "linear"},
      {2, 7, 6, 3, 4, 3, 3, 2, 2, 1, 1, "same", "linear"},
      {3, 8, 5, 2, 3, 3, 2, 2, 1, 1, 1, "SAME", "relu"},
      {2, 9, 9, 2, 3, 3, 3, 1, 1, 2, 2, "valid", "linear"},
      {2, 9, 8, 2, 3, 3, 3, 1, 1, 2, 2, "same", "tanh"},
      {2, 5, 5, 1, 6, 5, 5, 1, 1, 1, 1, "same", "linear"},
      {2, 4, 4, 3, 5, 1, 1, 1, 1, 1, 1, "valid", "linear"},   // 1x1: identity im2col path
      {37, 6, 7, 3, 5, 2, 3, 3, 2, 1, 1, "same", "relu"},    // many tasks, odd sizes
      {20, 11, 10, 4, 7, 4, 4, 2, 3, 1, 1, "valid", "linear"},
  };
  for (const Case& c : cases) {
    Json cfg = conv2d_cfg(c.F, ints({c.kh, c.kw}), ints({c.sh, c.sw}), c.pad, ints({c.dh, c.dw}), c.act);
    Harness h(make_layer("Conv2D", cfg), {c.H, c.W, c.C});
    randomize_params(*h.L, 11);
    Tensor x({c.N, c.H, c.W, c.C});
    fill_uniform(x, 5);
    Tensor y = h.fwd(x);
    Shape ref_shape;
    std::string pad = c.pad;
    std::transform(pad.begin(), pad.end(), pad.begin(), ::tolower);
    auto ref = conv2d_ref(x, h.L->params[0].value, &h.L->params[1].value, c.sh, c.sw, c.dh, c.dw, pad, c.act,
                          ref_shape);
    CHECK(y.shape == ref_shape);
    CHECK(with_batch(c.N, h.out_shape) == ref_shape);
    CHECK_NEAR(max_abs_diff(y, ref), 0.0, 1e-5);
  }
}

TEST(conv2d_no_bias_and_kernel_shape) {
  Json cfg = conv2d_cfg(4, Json(3), Json(1), "valid", Json(1), "linear");
  cfg.set("use_bias", false);
  Harness h(make_layer("Conv2D", cfg), {6, 6, 2});
  CHECK(h.L->params.size() == 1);
  CHECK(h.L->params[0].name == "kernel");
  CHECK((h.L->params[0].value.shape == Shape{3, 3, 2, 4}));
  CHECK((h.out_shape == Shape{4, 4, 4}));
  // glorot_uniform: limit sqrt(6 / (fan_in + fan_out)) = sqrt(6 / (18 + 36))
  const double limit = std::sqrt(6.0 / (18 + 36));
  float mx = 0;
  for (float v : h.L->params[0].value.data) mx = std::max(mx, std::fabs(v));
  CHECK(mx <= limit && mx > 0.5 * limit);
  Tensor x({2, 6, 6, 2});
  fill_uniform(x, 3);
  Tensor y = h.fwd(x);
  Shape rs;
  auto ref = conv2d_ref(x, h.L->params[0].value, nullptr, 1, 1, 1, 1, "valid", "linear", rs);
  CHECK_NEAR(max_abs_diff(y, ref), 0.0, 1e-5);
}

TEST(conv2d_hand_values) {
  // 3x3 input 1..9, 2x2 kernel [[1, 0], [0, -1]], bias 0.5, valid:
  // out(i, j) = x(i, j) - x(i+1, j+1) + 0.5 = -4 + 0.5 everywhere.
  Harness h(make_layer("Conv2D", conv2d_cfg(1, Json(2), Json(1), "valid", Json(1), "linear")), {3, 3, 1});
  h.L->params[0].value.data = {1, 0, 0, -1};
  h.L->params[1].value.data = {0.5f};
  Tensor x({1, 3, 3, 1});
  for (int i = 0; i < 9; ++i) x.data[i] = float(i + 1);
  Tensor y = h.fwd(x);
  CHECK((y.shape == Shape{1, 2, 2, 1}));
  for (float v : y.data) CHECK_NEAR(v, -3.5, 1e-6);
  // same padding, stride 2 on 3x3 with 2x2 kernel: out 2x2, pad_total = 1 -> 0 before, 1 after.
  Harness h2(make_layer("Conv2D", conv2d_cfg(1, Json(2), Json(2), "same", Json(1), "linear")), {3, 3, 1});
  h2.L->params[0].value.data = {1, 1, 1, 1};
  h2.L->params[1].value.data = {0};
  Tensor y2 = h2.fwd(x);
  CHECK((y2.shape == Shape{1, 2, 2, 1}));
  // windows: rows {0,1} x cols {0,1}: 1+2+4+5 = 12; rows {0,1} x col {2}: 3+6 = 9;
  // row {2} x cols {0,1}: 7+8 = 15; row {2} x col {2}: 9.
  CHECK_NEAR(y2.data[0], 12, 1e-6);
  CHECK_NEAR(y2.data[1], 9, 1e-6);
  CHECK_NEAR(y2.data[2], 15, 1e-6);
  CHECK_NEAR(y2.data[3], 9, 1e-6);
}

// ---------------------------------------------------------------- Conv1D forward
TEST(conv1d_forward_matches_reference) {
  struct Case { int64_t N, L, C, F, k, s, d; const char* pad; };
  const Case cases[] = {{2, 9, 3, 4, 3, 1, 1, "valid"}, {2, 9, 3, 4, 3, 2, 1, "same"},
                        {3, 10, 2, 3, 3, 1, 2, "causal"}, {2, 8, 2, 3, 2, 1, 3, "same"},
                        {2, 7, 1, 2, 4, 3, 1, "causal"}};
  for (const Case& c : cases) {
    Json cfg = obj({{"name", "conv1d_1"}, {"filters", Json(c.F)}, {"kernel_size", Json(c.k)},
                    {"strides", Json(c.s)}, {"padding", c.pad}, {"dilation_rate", Json(c.d)}});
    Harness h(make_layer("Conv1D", cfg), {c.L, c.C});
    randomize_params(*h.L, 21);
    CHECK((h.L->params[0].value.shape == Shape{c.k, c.C, c.F}));
    Tensor x({c.N, c.L, c.C});
    fill_uniform(x, 8);
    Tensor y = h.fwd(x);
    // reference: 1-D direct loops
    Pad1 p = tf_pad(c.L, c.k, c.s, c.d, c.pad);
    CHECK((y.shape == Shape{c.N, p.out, c.F}));
    std::vector<double> ref;
    const Tensor& K = h.L->params[0].value;  // (k, C, F)
    for (int64_t n = 0; n < c.N; ++n)
      for (int64_t o = 0; o < p.out; ++o)
        for (int64_t f = 0; f < c.F; ++f) {
          double s = h.L->params[1].value.data[f];
          for (int64_t i = 0; i < c.k; ++i) {
            const int64_t t = o * c.s - p.before + i * c.d;
            if (t < 0 || t >= c.L) continue;
            for (int64_t ch = 0; ch < c.C; ++ch) s += double(x.data[(n * c.L + t) * c.C + ch]) * K.data[(i * c.C + ch) * c.F + f];
          }
          ref.push_back(s);
        }
    CHECK_NEAR(max_abs_diff(y, ref), 0.0, 1e-5);
  }
}

// ---------------------------------------------------------------- pooling forward
TEST(pooling2d_forward_matches_reference) {
  struct Case { bool is_max; int64_t N, H, W, C, kh, kw, sh, sw; const char* pad; };
  const Case cases[] = {
      {true, 2, 6, 6, 3, 2, 2, 2, 2, "valid"}, {true, 2, 7, 5, 3, 2, 2, 2, 2, "valid"},
      {true, 2, 7, 5, 3, 3, 2, 2, 1, "same"},  {true, 2, 7, 7, 2, 3, 3, 3, 3, "same"},
      {false, 2, 6, 6, 3, 2, 2, 2, 2, "valid"}, {false, 2, 7, 5, 3, 3, 2, 2, 1, "same"},
      {false, 2, 7, 7, 2, 3, 3, 1, 1, "same"}, {false, 3, 5, 8, 2, 2, 3, 3, 2, "valid"},
  };
  for (const Case& c : cases) {
    Json cfg = obj({{"name", "pool"}, {"pool_size", ints({c.kh, c.kw})}, {"strides", ints({c.sh, c.sw})},
                    {"padding", c.pad}});
    Harness h(make_layer(c.is_max ? "MaxPooling2D" : "AveragePooling2D", cfg), {c.H, c.W, c.C});
    Tensor x({c.N, c.H, c.W, c.C});
    fill_uniform(x, 4);
    Tensor y = h.fwd(x);
    Shape rs;
    auto ref = pool2d_ref(x, c.is_max, c.kh, c.kw, c.sh, c.sw, c.pad, rs);
    CHECK(y.shape == rs);
    CHECK_NEAR(max_abs_diff(y, ref), 0.0, 1e-6);
  }
}

TEST(pooling_hand_values_and_defaults) {
  // 3x3 input 1..9, AveragePooling2D(2, strides 1... default strides = pool_size = 2), same:
  // out 2x2; windows {1,2,4,5} -> 3, {3,6} -> 4.5, {7,8} -> 7.5, {9} -> 9 (padding not counted).
  Harness h(make_layer("AveragePooling2D", obj({{"name", "avg"}, {"pool_size", ints({2, 2})},
                                                {"strides", Json()}, {"padding", "same"}})),
            {3, 3, 1});
  Tensor x({1, 3, 3, 1});
  for (int i = 0; i < 9; ++i) x.data[i] = float(i + 1);
  Tensor y = h.fwd(x);
  CHECK((y.shape == Shape{1, 2, 2, 1}));
  CHECK_NEAR(y.data[0], 3.0, 1e-6);
  CHECK_NEAR(y.data[1], 4.5, 1e-6);
  CHECK_NEAR(y.data[2], 7.5, 1e-6);
  CHECK_NEAR(y.data[3], 9.0, 1e-6);
  CHECK(h.L->config()["strides"].dump() == "[2, 2]");
  // Max pooling backward goes to the FIRST maximum of a tied window.
  Harness m(make_layer("MaxPooling2D", obj({{"name", "mp"}})), {2, 2, 1});
  Tensor t({1, 2, 2, 1});
  t.data = {1, 5, 5, 2};
  Tensor ty = m.fwd(t);
  CHECK_NEAR(ty.data[0], 5, 0);
  Tensor g({1, 1, 1, 1});
  g.data = {1};
  Tensor dx = m.bwd(t, ty, g);
  CHECK(dx.data[1] == 1.0f && dx.data[2] == 0.0f && dx.data[0] == 0.0f && dx.data[3] == 0.0f);
}

TEST(global_pooling_and_maxpool1d_forward) {
  Tensor x({2, 3, 4, 5});
  fill_uniform(x, 12);
  Harness gm(make_layer("GlobalMaxPooling2D", obj({{"name", "gmp"}})), {3, 4, 5});
  Harness ga(make_layer("GlobalAveragePooling2D", obj({{"name", "gap"}})), {3, 4, 5});
  Tensor ym = gm.fwd(x), ya = ga.fwd(x);
  CHECK((ym.shape == Shape{2, 5}) && (ya.shape == Shape{2, 5}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 5; ++c) {
      double mx = -1e30, s = 0;
      for (int64_t p = 0; p < 12; ++p) { double v = x.data[(n * 12 + p) * 5 + c]; mx = std::max(mx, v); s += v; }
      CHECK_NEAR(ym.data[n * 5 + c], mx, 0);
      CHECK_NEAR(ya.data[n * 5 + c], s / 12, 1e-6);
    }
  // MaxPooling1D(pool 3, stride 2, same) on (7, 2): out 4, pad_total = max(3*2+3-7, 0) = 2 -> 1 before.
  Harness mp(make_layer("MaxPooling1D", obj({{"name", "mp1"}, {"pool_size", Json(3)}, {"strides", Json(2)},
                                              {"padding", "same"}})),
             {7, 2});
  Tensor x1({1, 7, 2});
  fill_uniform(x1, 13);
  Tensor y1 = mp.fwd(x1);
  CHECK((y1.shape == Shape{1, 4, 2}));
  for (int64_t o = 0; o < 4; ++o)
    for (int64_t c = 0; c < 2; ++c) {
      double mx = -1e30;
      for (int64_t i = 0; i < 3; ++i) {
        int64_t t = o * 2 - 1 + i;
        if (t >= 0 && t < 7) mx = std::max<double>(mx, x1.data[t * 2 + c]);
      }
      CHECK_NEAR(y1.data[o * 2 + c], mx, 0);
    }
  // Default MaxPooling1D: pool 2, strides = pool, valid: (7,2) -> (3,2)
  Harness mpd(make_layer("MaxPooling1D", obj({{"name", "mp1d"}})), {7, 2});
  CHECK((mpd.out_shape == Shape{3, 2}));
}

// ---------------------------------------------------------------- configs
TEST(configs_keras_keys_and_round_trip) {
  auto keys = [](const Json& c) {
    std::string s;
    for (auto& kv : c.items()) s += kv.first + ",";
    return s;
  };
  Json cc = conv2d_cfg(8, Json(3), Json(1), "SAME", Json(1), "relu");
  LayerPtr conv = make_layer("Conv2D", cc);
  Json c = conv->config();
  CHECK(keys(c) == "name,trainable,filters,kernel_size,strides,padding,data_format,dilation_rate,activation,"
                   "use_bias,kernel_initializer,bias_initializer,kernel_regularizer,bias_regularizer,"
                   "activity_regularizer,kernel_constraint,bias_constraint,");
  CHECK(c["padding"].as_string() == "same");
  CHECK(c["kernel_size"].dump() == "[3, 3]");
  CHECK(c["strides"].dump() == "[1, 1]");
  CHECK(c["data_format"].as_string() == "channels_last");
  CHECK(c["kernel_initializer"].dump() ==
        "{\"class_name\": \"VarianceScaling\", \"config\": {\"scale\": 1.0, \"mode\": \"fan_avg\", "
        "\"distribution\": \"uniform\", \"seed\": null}}");
  CHECK(c["bias_initializer"]["class_name"].as_string() == "Zeros");
  CHECK(c["kernel_regularizer"].is_null() && c["bias_constraint"].is_null());
  CHECK(make_layer("Conv2D", c)->config().dump() == c.dump());

  Json c1 = make_layer("Conv1D", obj({{"name", "c1"}, {"filters", Json(4)}, {"kernel_size", Json(5)},
                                      {"padding", "causal"}}))->config();
  CHECK(keys(c1) == keys(c));
  CHECK(c1["kernel_size"].dump() == "[5]" && c1["padding"].as_string() == "causal");

  Json mp = make_layer("MaxPooling2D", obj({{"name", "m"}, {"pool_size", ints({2, 2})}}))->config();
  CHECK(keys(mp) == "name,trainable,pool_size,padding,strides,data_format,");
  CHECK(mp["strides"].dump() == "[2, 2]");
  Json ap = make_layer("AveragePooling2D", obj({{"name", "a"}, {"pool_size", Json(3)}, {"strides", Json(1)}}))->config();
  CHECK(ap["pool_size"].dump() == "[3, 3]" && ap["strides"].dump() == "[1, 1]");
  Json m1 = make_layer("MaxPooling1D", obj({{"name", "m1"}, {"pool_size", Json(2)}}))->config();
  CHECK(keys(m1) == "name,trainable,strides,pool_size,padding,data_format,");
  CHECK(m1["strides"].dump() == "[2]");
  CHECK(keys(make_layer("GlobalMaxPooling2D", obj({{"name", "g"}}))->config()) == "name,trainable,data_format,");
  CHECK(keys(make_layer("GlobalAveragePooling2D", obj({{"name", "g"}}))->config()) == "name,trainable,data_format,");
  Json zp = make_layer("ZeroPadding2D", obj({{"name", "z"}, {"padding", ints({1, 2})}}))->config();
  CHECK(keys(zp) == "name,trainable,padding,data_format,");
  CHECK(zp["padding"].dump() == "[[1, 1], [2, 2]]");
  CHECK(make_layer("ZeroPadding2D", obj({{"name", "z"}, {"padding", Json(3)}}))->config()["padding"].dump() ==
        "[[3, 3], [3, 3]]");
  Json rs = make_layer("Reshape", obj({{"name", "r"}, {"target_shape", ints({7, -1})}}))->config();
  CHECK(keys(rs) == "name,trainable,target_shape,");
  CHECK(rs["target_shape"].dump() == "[7, -1]");
  Json lr = make_layer("LeakyReLU", obj({{"name", "l"}, {"alpha", Json(0.1)}}))->config();
  CHECK(keys(lr) == "name,trainable,alpha,");
  Json bn = make_layer("BatchNormalization", obj({{"name", "b"}}))->config();
  CHECK(keys(bn) == "name,trainable,axis,momentum,epsilon,center,scale,beta_initializer,gamma_initializer,"
                    "moving_mean_initializer,moving_variance_initializer,beta_regularizer,gamma_regularizer,"
                    "beta_constraint,gamma_constraint,");
  CHECK(bn["axis"].dump() == "-1" && bn["momentum"].dump() == "0.99" && bn["epsilon"].dump() == "0.001");
  CHECK(bn["gamma_initializer"]["class_name"].as_string() == "Ones");
  CHECK(make_layer("BatchNormalization", bn)->config().dump() == bn.dump());
}

// ---------------------------------------------------------------- errors
TEST(error_messages) {
  Rng rng;
  {
    LayerPtr l = make_layer("Conv2D", conv2d_cfg(4, Json(5), Json(1), "valid", Json(1), "linear"));
    CHECK_THROWS(l->build({{3, 3, 1}}, rng),
                 "layer 'conv2d_1': kernel 5x5 (dilated 5x5) is larger than the input 3x3 with padding 'valid'");
    CHECK_THROWS(l->build({{28, 28}}, rng), "expects inputs of shape (H, W, C) per sample");
    CHECK_THROWS(l->build({{28, 28}}, rng), "got (None, 28, 28)");
  }
  {
    LayerPtr l = make_layer("Conv2D", conv2d_cfg(4, Json(3), Json(1), "valid", Json(2), "linear"));
    CHECK_THROWS(l->build({{4, 9, 1}}, rng), "kernel 3x3 (dilated 5x5) is larger than the input 4x9");
  }
  {
    LayerPtr l = make_layer("Conv2D", conv2d_cfg(4, Json(3), Json(1), "valid", Json(1), "linear"));
    l->build({{8, 8, 3}}, rng);
    CHECK_THROWS(l->build({{8, 8, 2}}, rng), "built for 3 input channels");
  }
  Json cf = conv2d_cfg(4, Json(3), Json(1), "valid", Json(1), "linear");
  cf.set("data_format", "channels_first");  // wrapped (layers_channels_first.cpp): takes (C, H, W)
  {
    LayerPtr l = make_layer("Conv2D", cf);
    CHECK(l->build({{3, 8, 8}}, rng) == Shape({4, 6, 6}));
    CHECK(l->config()["data_format"].as_string() == "channels_first");
  }
  cf.set("data_format", "channels_middle");
  CHECK_THROWS(make_layer("Conv2D", cf), "layer 'conv2d_1' (Conv2D): data_format 'channels_middle' is not supported");
  CHECK_THROWS(make_layer("Conv2D", conv2d_cfg(4, Json(3), Json(1), "full", Json(1), "linear")),
               "padding must be 'valid' or 'same', got 'full'");
  CHECK_THROWS(make_layer("Conv2D", conv2d_cfg(4, Json(3), Json(1), "causal", Json(1), "linear")),
               "padding must be 'valid' or 'same'");
  CHECK_THROWS(make_layer("Conv2D", conv2d_cfg(4, ints({3, 3, 3}), Json(1), "valid", Json(1), "linear")),
               "'kernel_size' must be an integer or a list of 2 integers");
  CHECK_THROWS(make_layer("Conv2D", conv2d_cfg(4, Json(3), Json(1), "valid", Json(1), "swish")), "swish");
  CHECK_THROWS(make_layer("Conv1D", obj({{"name", "c"}, {"filters", Json(2)}, {"kernel_size", Json(3)}}))
                   ->build({{5, 5, 2}}, rng),
               "expects inputs of shape (steps, channels)");
  CHECK_THROWS(make_layer("MaxPooling2D", obj({{"name", "mp"}, {"pool_size", Json(4)}}))->build({{3, 5, 1}}, rng),
               "pool_size 4x4 is larger than the input 3x5");
  CHECK_THROWS(make_layer("MaxPooling2D", obj({{"name", "mp"}, {"data_format", "nchw"}})),
               "data_format 'nchw' is not supported");
  CHECK_THROWS(make_layer("GlobalAveragePooling2D", obj({{"name", "g"}}))->build({{5, 2}}, rng),
               "expects inputs of shape (H, W, C)");
  CHECK_THROWS(make_layer("Reshape", obj({{"name", "r"}, {"target_shape", ints({5, -1})}}))->build({{4, 3}}, rng),
               "cannot reshape input (None, 4, 3) (12 values per sample) to target_shape (5, -1)");
  CHECK_THROWS(make_layer("Reshape", obj({{"name", "r"}, {"target_shape", ints({5, 2})}}))->build({{4, 3}}, rng),
               "cannot reshape input (None, 4, 3) (12 values per sample) to target_shape (5, 2) (10 values)");
  CHECK_THROWS(make_layer("Reshape", obj({{"name", "r"}, {"target_shape", ints({-1, -1})}})),
               "at most one target_shape entry may be -1");
  CHECK_THROWS(make_layer("ZeroPadding2D", obj({{"name", "z"}, {"padding", ints({1, 2, 3})}})),
               "padding must be an integer");
  CHECK_THROWS(make_layer("BatchNormalization", obj({{"name", "b"}, {"axis", Json(1)}}))->build({{4, 4, 3}}, rng),
               "only the last (channels) axis is supported");
  // axis = 3 is the last axis of (None, 4, 4, 3): accepted
  CHECK((make_layer("BatchNormalization", obj({{"name", "b"}, {"axis", Json(3)}}))->build({{4, 4, 3}}, rng) ==
         Shape{4, 4, 3}));
}

KN_TEST_MAIN
