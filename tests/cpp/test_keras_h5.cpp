// Tests for src/formats/keras_h5.cpp, reading: the real Keras files in
// ../shared/testdata/keras-h5 (skipped with a message when absent), checking
// weights against independent forward passes. Writing and round trips:
// test_keras_h5_write.cpp.
#include "keras_h5_test_util.h"


TEST(read_dl4j_weights_only_keras206) {
  if (!have_data("read_dl4j_weights_only_keras206")) return;
  KerasH5 f = kn::read_keras_h5(kData + "dl4j_mnist_mlp_tf_keras_2_weights.h5");
  CHECK(f.keras_version == "2.0.6");
  CHECK(f.backend == "tensorflow");
  CHECK(!f.full_model);
  CHECK(f.model_config.empty() && f.training_config.empty() && f.optimizer_weights.empty());
  CHECK((layer_names(f) == std::vector<std::string>{"dense_1", "dropout_1", "dense_2", "dropout_2", "dense_3"}));
  CHECK(find_layer(f, "dropout_1") && find_layer(f, "dropout_1")->weights.empty());
  const H5Layer* d1 = find_layer(f, "dense_1");
  CHECK(d1 && d1->weights.size() == 2);
  if (d1 && d1->weights.size() == 2) {
    CHECK(d1->weights[0].name == "dense_1/kernel:0");
    CHECK((d1->weights[0].shape == kn::Shape{784, 512}));
    CHECK(d1->weights[0].data.size() == 784u * 512u);
    CHECK(d1->weights[0].dtype == "float32");
    CHECK(d1->weights[1].name == "dense_1/bias:0");
    CHECK((d1->weights[1].shape == kn::Shape{512}));
  }
  const H5Weight* k3 = find_weight(f, "dense_3", "dense_3/kernel:0");
  CHECK(k3 && (k3->shape == kn::Shape{512, 10}));
}

// Independent forward pass (dense relu -> dense relu -> dense softmax; dropout
// is identity at inference) against the outputs Keras stored for 100 inputs.
TEST(dl4j_reference_forward_pass) {
  if (!have_data("dl4j_reference_forward_pass")) return;
  KerasH5 f = kn::read_keras_h5(kData + "dl4j_mnist_mlp_tf_keras_2_weights.h5");
  const std::string io = kData + "dl4j_mnist_mlp_tf_keras_2_inputs_and_outputs.h5";
  std::vector<hsize_t> xd, yd;
  std::vector<float> x = raw_floats(io, "/inputs/dense_1_input", &xd);  // (100, 784)
  std::vector<float> y = raw_floats(io, "/predictions/dense_3", &yd);   // (100, 10)
  CHECK((xd == std::vector<hsize_t>{100, 784}));
  CHECK((yd == std::vector<hsize_t>{100, 10}));
  const H5Weight* k1 = find_weight(f, "dense_1", "dense_1/kernel:0");
  const H5Weight* b1 = find_weight(f, "dense_1", "dense_1/bias:0");
  const H5Weight* k2 = find_weight(f, "dense_2", "dense_2/kernel:0");
  const H5Weight* b2 = find_weight(f, "dense_2", "dense_2/bias:0");
  const H5Weight* k3 = find_weight(f, "dense_3", "dense_3/kernel:0");
  const H5Weight* b3 = find_weight(f, "dense_3", "dense_3/bias:0");
  CHECK(k1 && b1 && k2 && b2 && k3 && b3);
  if (!(k1 && b1 && k2 && b2 && k3 && b3) || xd.size() != 2 || yd.size() != 2) return;
  double max_diff = 0;
  int agree = 0;
  for (size_t n = 0; n < 100; ++n) {
    std::vector<float> h1(512), h2(512), o(10);  // (512,), (512,), (10,)
    dense(x.data() + n * 784, *k1, *b1, h1.data());
    relu(h1);
    dense(h1.data(), *k2, *b2, h2.data());
    relu(h2);
    dense(h2.data(), *k3, *b3, o.data());
    const float m = *std::max_element(o.begin(), o.end());
    double sum = 0;
    for (float& v : o) sum += (v = std::exp(v - m));
    for (size_t j = 0; j < 10; ++j) {
      const double p = o[j] / sum;
      max_diff = std::max(max_diff, std::fabs(p - y[n * 10 + j]));
    }
    std::vector<float> ref(y.begin() + static_cast<long>(n * 10), y.begin() + static_cast<long>(n * 10 + 10));
    agree += argmax(o) == argmax(ref);
  }
  CHECK_NEAR(max_diff, 0.0, 1e-5);
  CHECK(agree == 100);
}

TEST(read_dnnrepair_full_model_keras224) {
  if (!have_data("read_dnnrepair_full_model_keras224")) return;
  KerasH5 f = kn::read_keras_h5(kData + "dnnrepair_mnist0_cnn_full_keras224.hdf5");
  CHECK(f.full_model);
  CHECK(f.keras_version == "2.2.4");
  CHECK(f.backend == "tensorflow");
  CHECK(f.model_config.rfind("{\"class_name\": \"Sequential\"", 0) == 0);
  CHECK(f.training_config.rfind("{\"optimizer_config\": {\"class_name\": \"Adam\"", 0) == 0);
  CHECK((layer_names(f) == std::vector<std::string>{"conv2d_1", "activation_1", "conv2d_2", "activation_2",
                                                    "max_pooling2d_1", "flatten_1", "dense_1", "activation_3",
                                                    "dense_2", "activation_4"}));
  const H5Weight* c1 = find_weight(f, "conv2d_1", "conv2d_1/kernel:0");
  CHECK(c1 && (c1->shape == kn::Shape{3, 3, 1, 2}));
  const H5Weight* c2 = find_weight(f, "conv2d_2", "conv2d_2/kernel:0");
  CHECK(c2 && (c2->shape == kn::Shape{3, 3, 2, 4}));
  const H5Weight* d1 = find_weight(f, "dense_1", "dense_1/kernel:0");
  CHECK(d1 && (d1->shape == kn::Shape{576, 128}));
  const H5Weight* d2 = find_weight(f, "dense_2", "dense_2/kernel:0");
  CHECK(d2 && (d2->shape == kn::Shape{128, 10}));
  CHECK(find_layer(f, "flatten_1") && find_layer(f, "flatten_1")->weights.empty());
  CHECK(f.optimizer_weights.size() == 25u);
  if (f.optimizer_weights.size() == 25u) {
    const H5Weight& it = f.optimizer_weights[0];
    CHECK(it.name == "Adam/iterations:0");
    CHECK(it.dtype == "int64");
    CHECK(it.shape.empty());
    CHECK(it.int_data.size() == 1 && it.int_data[0] == 9380);
    CHECK(it.data.size() == 1 && it.data[0] == 9380.0f);
    CHECK(f.optimizer_weights[1].name == "training/Adam/Variable:0");
    CHECK((f.optimizer_weights[1].shape == kn::Shape{3, 3, 1, 2}));
    CHECK(f.optimizer_weights[12].name == "training/Adam/Variable_11:0");  // weight_names order, not alphabetical
    CHECK((f.optimizer_weights[12].shape == kn::Shape{4}));
    CHECK(f.optimizer_weights[24].name == "training/Adam/Variable_23:0");
    CHECK((f.optimizer_weights[24].shape == kn::Shape{1}));
  }
}

// The CNN on the standard MNIST test set (raw 0..255 pixels, no scaling, as
// trained): the producer's log states "Test accuracy: 0.9854".
TEST(dnnrepair_cnn_mnist_test_accuracy) {
  if (!have_data("dnnrepair_cnn_mnist_test_accuracy")) return;
  std::vector<uint8_t> img = read_idx_gz(kMnist + "t10k-images-idx3-ubyte.gz", 16);  // (10000, 28, 28)
  std::vector<uint8_t> lab = read_idx_gz(kMnist + "t10k-labels-idx1-ubyte.gz", 8);   // (10000,)
  if (img.size() != 10000u * 784u || lab.size() != 10000u) {
    std::printf("  SKIP dnnrepair_cnn_mnist_test_accuracy: MNIST test files not readable\n");
    return;
  }
  KerasH5 f = kn::read_keras_h5(kData + "dnnrepair_mnist0_cnn_full_keras224.hdf5");
  const H5Weight* ck1 = find_weight(f, "conv2d_1", "conv2d_1/kernel:0");  // (3, 3, 1, 2)
  const H5Weight* cb1 = find_weight(f, "conv2d_1", "conv2d_1/bias:0");    // (2,)
  const H5Weight* ck2 = find_weight(f, "conv2d_2", "conv2d_2/kernel:0");  // (3, 3, 2, 4)
  const H5Weight* cb2 = find_weight(f, "conv2d_2", "conv2d_2/bias:0");    // (4,)
  const H5Weight* k1 = find_weight(f, "dense_1", "dense_1/kernel:0");     // (576, 128)
  const H5Weight* b1 = find_weight(f, "dense_1", "dense_1/bias:0");
  const H5Weight* k2 = find_weight(f, "dense_2", "dense_2/kernel:0");     // (128, 10)
  const H5Weight* b2 = find_weight(f, "dense_2", "dense_2/bias:0");
  CHECK(ck1 && cb1 && ck2 && cb2 && k1 && b1 && k2 && b2);
  if (!(ck1 && cb1 && ck2 && cb2 && k1 && b1 && k2 && b2)) return;
  // valid 3x3 convolution, channels-last, kernel (3, 3, cin, cout), then relu
  auto conv = [](const std::vector<float>& in, int H, int W, int cin, const H5Weight& k, const H5Weight& b,
                 int cout) {
    const int Ho = H - 2, Wo = W - 2;
    std::vector<float> out(static_cast<size_t>(Ho * Wo * cout));  // (Ho, Wo, cout)
    for (int y = 0; y < Ho; ++y)
      for (int x = 0; x < Wo; ++x)
        for (int o = 0; o < cout; ++o) {
          float s = b.data[static_cast<size_t>(o)];
          for (int dy = 0; dy < 3; ++dy)
            for (int dx = 0; dx < 3; ++dx)
              for (int c = 0; c < cin; ++c)
                s += in[static_cast<size_t>(((y + dy) * W + (x + dx)) * cin + c)] *
                     k.data[static_cast<size_t>(((dy * 3 + dx) * cin + c) * cout + o)];
          out[static_cast<size_t>((y * Wo + x) * cout + o)] = std::max(s, 0.0f);
        }
    return out;
  };
  int correct = 0;
  for (size_t n = 0; n < 10000; ++n) {
    std::vector<float> x(784);  // (28, 28, 1), raw pixel values
    for (size_t i = 0; i < 784; ++i) x[i] = static_cast<float>(img[n * 784 + i]);
    std::vector<float> a1 = conv(x, 28, 28, 1, *ck1, *cb1, 2);   // (26, 26, 2)
    std::vector<float> a2 = conv(a1, 26, 26, 2, *ck2, *cb2, 4);  // (24, 24, 4)
    std::vector<float> p(576);                                   // (12, 12, 4) flattened
    for (int y = 0; y < 12; ++y)
      for (int xx = 0; xx < 12; ++xx)
        for (int c = 0; c < 4; ++c) {
          float m = -INFINITY;
          for (int dy = 0; dy < 2; ++dy)
            for (int dx = 0; dx < 2; ++dx) m = std::max(m, a2[static_cast<size_t>(((2 * y + dy) * 24 + 2 * xx + dx) * 4 + c)]);
          p[static_cast<size_t>((y * 12 + xx) * 4 + c)] = m;
        }
    std::vector<float> h(128), o(10);  // (128,), (10,)
    dense(p.data(), *k1, *b1, h.data());
    relu(h);
    dense(h.data(), *k2, *b2, o.data());
    correct += argmax(o) == lab[n];
  }
  const double acc = correct / 10000.0;
  std::printf("  dnnrepair CNN MNIST test accuracy %.4f (stated 0.9854)\n", acc);
  CHECK_NEAR(acc, 0.9854, 0.0005);
}

TEST(read_hotaruk_full_model_keras212_vlen) {
  if (!have_data("read_hotaruk_full_model_keras212_vlen")) return;
  KerasH5 f = kn::read_keras_h5(kData + "hotaruk_mnist_mlp_full_keras212.h5");
  CHECK(f.full_model);
  CHECK(f.keras_version == "2.12.0");
  CHECK(f.backend == "tensorflow");
  CHECK(f.model_config.rfind("{\"class_name\": \"Sequential\"", 0) == 0);
  CHECK(f.training_config.find("Custom>Adam") != std::string::npos);
  // top_level_model_weights is not in layer_names and must not appear
  CHECK((layer_names(f) == std::vector<std::string>{"flatten", "dense", "dense_1"}));
  const H5Weight* k = find_weight(f, "dense", "dense/kernel:0");
  CHECK(k && (k->shape == kn::Shape{784, 128}));
  const H5Weight* k2 = find_weight(f, "dense_1", "dense_1/kernel:0");
  CHECK(k2 && (k2->shape == kn::Shape{128, 10}));
  CHECK(f.optimizer_weights.size() == 9u);
  if (f.optimizer_weights.size() == 9u) {
    CHECK(f.optimizer_weights[0].name == "iteration:0");
    CHECK(f.optimizer_weights[0].dtype == "int64" && f.optimizer_weights[0].shape.empty());
    CHECK(f.optimizer_weights[1].name == "Adam/m/dense/kernel:0");
    CHECK((f.optimizer_weights[1].shape == kn::Shape{784, 128}));
    CHECK(f.optimizer_weights[8].name == "Adam/v/dense_1/bias:0");
    CHECK((f.optimizer_weights[8].shape == kn::Shape{10}));
  }
}

// Flatten -> Dense(128, relu) -> Dense(10, softmax) on digits10k scaled /255;
// the data README measured 99.77 % with an independent numpy pass.
TEST(hotaruk_mlp_digits10k_accuracy) {
  if (!have_data("hotaruk_mlp_digits10k_accuracy")) return;
  std::vector<uint8_t> img = read_idx_gz(kMnist + "digits10k-images-idx3-ubyte.gz", 16);  // (10000, 28, 28)
  std::vector<uint8_t> lab = read_idx_gz(kMnist + "digits10k-labels-idx1-ubyte.gz", 8);   // (10000,)
  if (img.size() != 10000u * 784u || lab.size() != 10000u) {
    std::printf("  SKIP hotaruk_mlp_digits10k_accuracy: digits10k not readable\n");
    return;
  }
  KerasH5 f = kn::read_keras_h5(kData + "hotaruk_mnist_mlp_full_keras212.h5");
  const H5Weight* k1 = find_weight(f, "dense", "dense/kernel:0");
  const H5Weight* b1 = find_weight(f, "dense", "dense/bias:0");
  const H5Weight* k2 = find_weight(f, "dense_1", "dense_1/kernel:0");
  const H5Weight* b2 = find_weight(f, "dense_1", "dense_1/bias:0");
  CHECK(k1 && b1 && k2 && b2);
  if (!(k1 && b1 && k2 && b2)) return;
  int correct = 0;
  for (size_t n = 0; n < 10000; ++n) {
    std::vector<float> x(784), h(128), o(10);  // (784,), (128,), (10,)
    for (size_t i = 0; i < 784; ++i) x[i] = static_cast<float>(img[n * 784 + i]) / 255.0f;
    dense(x.data(), *k1, *b1, h.data());
    relu(h);
    dense(h.data(), *k2, *b2, o.data());
    correct += argmax(o) == lab[n];
  }
  CHECK_NEAR(correct / 10000.0, 0.9977, 0.0005);
}

TEST(read_kotlindl_tfkeras_weights_only) {
  if (!have_data("read_kotlindl_tfkeras_weights_only")) return;
  KerasH5 f = kn::read_keras_h5(kData + "kotlindl_lenet_fashion_weights_tfkeras.h5");
  CHECK(f.keras_version == "2.2.4-tf");
  CHECK(!f.full_model);
  CHECK((layer_names(f) == std::vector<std::string>{"conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1",
                                                    "flatten", "dense", "dense_1", "dense_2"}));
  const H5Weight* c = find_weight(f, "conv2d", "conv2d/kernel:0");
  CHECK(c && (c->shape == kn::Shape{3, 3, 1, 32}));
  const H5Weight* c1 = find_weight(f, "conv2d_1", "conv2d_1/kernel:0");
  CHECK(c1 && (c1->shape == kn::Shape{3, 3, 32, 64}));
  const H5Weight* d = find_weight(f, "dense", "dense/kernel:0");
  CHECK(d && (d->shape == kn::Shape{3136, 256}));
  const H5Weight* d2b = find_weight(f, "dense_2", "dense_2/bias:0");
  CHECK(d2b && (d2b->shape == kn::Shape{10}));
}

// ---------------------------------------------------------------- writing

KN_TEST_MAIN
