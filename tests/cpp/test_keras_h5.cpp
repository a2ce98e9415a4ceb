// Tests for src/formats/keras_h5.{h,cpp}: reading the real Keras files in
// /work/shared/testdata/keras-h5 (skipped with a message when absent), checking
// weights against independent forward passes, and write -> read round trips
// with the attribute types Keras 2.2.4 / h5py produce.
//
// g++ -std=c++17 -O2 -Wall -Isrc/core -Isrc/kernels -Isrc/nn -Isrc/data -Isrc/formats tests/cpp/test_keras_h5.cpp src/formats/keras_h5.cpp $(pkg-config --cflags --libs hdf5) -lz -pthread -o /tmp/test_keras_h5
#include <hdf5.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"
#include "keras_h5.h"

namespace fs = std::filesystem;
using kn::H5Layer;
using kn::H5Weight;
using kn::KerasH5;

namespace {

const std::string kData = "/work/shared/testdata/keras-h5/";
const std::string kMnist = "/work/shared/testdata/mnist/";

bool have_data(const char* test) {
  if (fs::exists(kData + "dl4j_mnist_mlp_tf_keras_2_weights.h5")) return true;
  std::printf("  SKIP %s: %s not present\n", test, kData.c_str());
  return false;
}

// Fresh scratch directory for one test.
std::string scratch(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("kn_test_keras_h5_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int count_files(const std::string& dir) {
  int n = 0;
  for (auto& e : fs::directory_iterator(dir)) { (void)e; ++n; }
  return n;
}

const H5Layer* find_layer(const KerasH5& f, const std::string& name) {
  for (const H5Layer& l : f.layers) if (l.name == name) return &l;
  return nullptr;
}

const H5Weight* find_weight(const KerasH5& f, const std::string& layer, const std::string& wname) {
  const H5Layer* l = find_layer(f, layer);
  if (!l) return nullptr;
  for (const H5Weight& w : l->weights) if (w.name == wname) return &w;
  return nullptr;
}

std::vector<std::string> layer_names(const KerasH5& f) {
  std::vector<std::string> v;
  for (const H5Layer& l : f.layers) v.push_back(l.name);
  return v;
}

// ---- raw HDF5 helpers (independent of keras_h5.cpp) ----

// "STRING fixed 15 nullpad cset0 SIMPLE(10)" / "FLOAT 8 SIMPLE(0)" / "MISSING".
std::string attr_sig(const std::string& file, const std::string& obj, const std::string& attr) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return "NOFILE";
  std::string out = "MISSING";
  if (H5Aexists_by_name(f, obj.c_str(), attr.c_str(), H5P_DEFAULT) > 0) {
    hid_t a = H5Aopen_by_name(f, obj.c_str(), attr.c_str(), H5P_DEFAULT, H5P_DEFAULT);
    hid_t t = H5Aget_type(a), s = H5Aget_space(a);
    char buf[256];
    if (H5Tget_class(t) == H5T_STRING) {
      if (H5Tis_variable_str(t) > 0)
        std::snprintf(buf, sizeof buf, "STRING vlen pad%d cset%d", (int)H5Tget_strpad(t), (int)H5Tget_cset(t));
      else
        std::snprintf(buf, sizeof buf, "STRING fixed %zu pad%d cset%d", H5Tget_size(t), (int)H5Tget_strpad(t),
                      (int)H5Tget_cset(t));
    } else {
      std::snprintf(buf, sizeof buf, "class%d %zu", (int)H5Tget_class(t), H5Tget_size(t));
    }
    out = buf;
    if (H5Sget_simple_extent_type(s) == H5S_SCALAR) {
      out += " SCALAR";
    } else {
      hsize_t d[8] = {0};
      int nd = H5Sget_simple_extent_ndims(s);
      H5Sget_simple_extent_dims(s, d, nullptr);
      out += " SIMPLE(";
      for (int i = 0; i < nd; ++i) out += (i ? "," : "") + std::to_string(d[i]);
      out += ")";
    }
    H5Tclose(t);
    H5Sclose(s);
    H5Aclose(a);
  }
  H5Fclose(f);
  return out;
}

// "FLOAT 4 SIMPLE(3,3,1,2) layout1 nf0" / "INTEGER 8 SCALAR ..." for a dataset.
std::string dset_sig(const std::string& file, const std::string& path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return "NOFILE";
  hid_t d = H5Dopen2(f, path.c_str(), H5P_DEFAULT);
  if (d < 0) {
    H5Fclose(f);
    return "MISSING";
  }
  hid_t t = H5Dget_type(d), s = H5Dget_space(d), p = H5Dget_create_plist(d);
  std::string out = (H5Tget_class(t) == H5T_FLOAT ? "FLOAT " : H5Tget_class(t) == H5T_INTEGER ? "INTEGER " : "OTHER ") +
                    std::to_string(H5Tget_size(t)) + " order" + std::to_string((int)H5Tget_order(t));
  if (H5Sget_simple_extent_type(s) == H5S_SCALAR) {
    out += " SCALAR";
  } else {
    hsize_t dd[8] = {0};
    int nd = H5Sget_simple_extent_ndims(s);
    H5Sget_simple_extent_dims(s, dd, nullptr);
    out += " SIMPLE(";
    for (int i = 0; i < nd; ++i) out += (i ? "," : "") + std::to_string(dd[i]);
    out += ")";
  }
  out += " layout" + std::to_string((int)H5Pget_layout(p)) + " nf" + std::to_string(H5Pget_nfilters(p));
  H5Pclose(p);
  H5Tclose(t);
  H5Sclose(s);
  H5Dclose(d);
  H5Fclose(f);
  return out;
}

// Reads a float dataset with raw HDF5 calls; shape returned in *dims.
std::vector<float> raw_floats(const std::string& file, const std::string& path, std::vector<hsize_t>* dims) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t d = H5Dopen2(f, path.c_str(), H5P_DEFAULT);
  hid_t s = H5Dget_space(d);
  int nd = H5Sget_simple_extent_ndims(s);
  dims->assign(static_cast<size_t>(std::max(nd, 0)), 0);
  if (nd > 0) H5Sget_simple_extent_dims(s, dims->data(), nullptr);
  std::vector<float> v(static_cast<size_t>(H5Sget_simple_extent_npoints(s)));
  H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  H5Sclose(s);
  H5Dclose(d);
  H5Fclose(f);
  return v;
}

// Removes a link or attribute from a file (to fabricate broken files).
void raw_delete_link(const std::string& file, const std::string& link) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  H5Ldelete(f, link.c_str(), H5P_DEFAULT);
  H5Fclose(f);
}
void raw_delete_attr(const std::string& file, const std::string& obj, const std::string& attr) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  H5Adelete_by_name(f, obj.c_str(), attr.c_str(), H5P_DEFAULT);
  H5Fclose(f);
}

// IDX file (gzip) -> bytes after the header.
std::vector<uint8_t> read_idx_gz(const std::string& path, size_t header) {
  std::vector<uint8_t> out;
  gzFile g = gzopen(path.c_str(), "rb");
  if (!g) return out;
  std::vector<uint8_t> buf(1 << 16);
  int n;
  while ((n = gzread(g, buf.data(), static_cast<unsigned>(buf.size()))) > 0) out.insert(out.end(), buf.begin(), buf.begin() + n);
  gzclose(g);
  if (out.size() < header) return {};
  out.erase(out.begin(), out.begin() + static_cast<long>(header));
  return out;
}

// y (n) = x (k) . W (k, n) + b (n), W row-major as Keras stores Dense kernels.
void dense(const float* x, const H5Weight& W, const H5Weight& b, float* y) {
  const int64_t k = W.shape[0], n = W.shape[1];
  for (int64_t j = 0; j < n; ++j) y[j] = b.data[static_cast<size_t>(j)];
  for (int64_t i = 0; i < k; ++i) {
    const float xi = x[i];
    const float* row = W.data.data() + i * n;
    for (int64_t j = 0; j < n; ++j) y[j] += xi * row[j];
  }
}

void relu(std::vector<float>& v) {
  for (float& x : v) x = std::max(x, 0.0f);
}

int argmax(const std::vector<float>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

// Small synthetic model: values are exact binary fractions so equality is exact.
KerasH5 synthetic_model() {
  KerasH5 f;
  H5Layer d1{"dense_1", {}};
  H5Weight k{"dense_1/kernel:0", {3, 2}, {}, "float32", {}};
  for (int i = 0; i < 6; ++i) k.data.push_back(0.25f * static_cast<float>(i) - 0.5f);
  H5Weight b{"dense_1/bias:0", {2}, {1.5f, -3.0f}, "float32", {}};
  d1.weights = {k, b};
  H5Layer drop{"dropout_1", {}};
  H5Layer d2{"dense_2", {}};
  d2.weights.push_back(H5Weight{"dense_2/kernel:0", {2, 1}, {7.0f, -0.125f}, "float32", {}});
  d2.weights.push_back(H5Weight{"dense_2/bias:0", {1}, {0.0625f}, "float32", {}});
  f.layers = {d1, drop, d2};
  return f;
}

void check_same_weights(const std::vector<H5Weight>& a, const std::vector<H5Weight>& b) {
  CHECK(a.size() == b.size());
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    CHECK(a[i].name == b[i].name);
    CHECK(a[i].shape == b[i].shape);
    CHECK(a[i].data == b[i].data);
    CHECK(a[i].dtype == b[i].dtype);
    CHECK(a[i].int_data == b[i].int_data);
  }
}

void check_same_layers(const KerasH5& a, const KerasH5& b) {
  CHECK(a.layers.size() == b.layers.size());
  for (size_t i = 0; i < std::min(a.layers.size(), b.layers.size()); ++i) {
    CHECK(a.layers[i].name == b.layers[i].name);
    check_same_weights(a.layers[i].weights, b.layers[i].weights);
  }
}

}  // namespace

// ---------------------------------------------------------------- real files

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

TEST(weights_only_round_trip_and_keras_attr_types) {
  const std::string dir = scratch("wo");
  const std::string path = dir + "/w.h5";
  KerasH5 f = synthetic_model();
  kn::write_keras_h5(path, f, false);
  KerasH5 g = kn::read_keras_h5(path);
  CHECK(!g.full_model);
  CHECK(g.keras_version == "2.2.4" && g.backend == "tensorflow");
  CHECK(g.model_config.empty() && g.training_config.empty());
  check_same_layers(f, g);
  // Layout and attribute types as Keras 2.2.4 + h5py write them.
  CHECK(attr_sig(path, "/", "layer_names") == "STRING fixed 9 pad1 cset0 SIMPLE(3)");  // 'S9', NULLPAD, ASCII
  CHECK(attr_sig(path, "/", "backend") == "STRING vlen pad0 cset0 SCALAR");
  CHECK(attr_sig(path, "/", "keras_version") == "STRING vlen pad0 cset0 SCALAR");
  CHECK(attr_sig(path, "/", "model_config") == "MISSING");
  CHECK(attr_sig(path, "/dense_1", "weight_names") == "STRING fixed 16 pad1 cset0 SIMPLE(2)");
  CHECK(attr_sig(path, "/dropout_1", "weight_names") == "class1 8 SIMPLE(0)");  // float64 (0,) as h5py writes []
  CHECK(dset_sig(path, "/dense_1/dense_1/kernel:0") == "FLOAT 4 order0 SIMPLE(3,2) layout1 nf0");
  CHECK(dset_sig(path, "/dense_2/dense_2/bias:0") == "FLOAT 4 order0 SIMPLE(1) layout1 nf0");
  if (have_data("weights_only_round_trip_and_keras_attr_types (comparison part)")) {
    // Same kinds of attributes as in a file written by Keras 2.0.6 itself.
    const std::string ref = kData + "dl4j_mnist_mlp_tf_keras_2_weights.h5";
    CHECK(attr_sig(ref, "/", "backend") == attr_sig(path, "/", "backend"));
    CHECK(attr_sig(ref, "/", "keras_version") == attr_sig(path, "/", "keras_version"));
    CHECK(attr_sig(ref, "/dense_1", "weight_names") == attr_sig(path, "/dense_1", "weight_names"));
    CHECK(attr_sig(ref, "/dropout_1", "weight_names") == attr_sig(path, "/dropout_1", "weight_names"));
    CHECK(attr_sig(ref, "/", "layer_names").substr(0, 19) == "STRING fixed 9 pad1");
  }
  fs::remove_all(dir);
}

// Read Keras 2.2.4's own full-model file, write it back, compare everything
// and the attribute/dataset types object by object with the original.
TEST(full_model_round_trip_matches_keras224_file) {
  if (!have_data("full_model_round_trip_matches_keras224_file")) return;
  const std::string ref = kData + "dnnrepair_mnist0_cnn_full_keras224.hdf5";
  const std::string dir = scratch("full");
  const std::string path = dir + "/m.h5";
  KerasH5 f = kn::read_keras_h5(ref);
  kn::write_keras_h5(path, f, true);
  KerasH5 g = kn::read_keras_h5(path);
  CHECK(g.full_model);
  CHECK(g.keras_version == f.keras_version && g.backend == f.backend);
  CHECK(g.model_config == f.model_config);
  CHECK(g.training_config == f.training_config);
  check_same_layers(f, g);
  check_same_weights(f.optimizer_weights, g.optimizer_weights);
  const char* root_attrs[] = {"keras_version", "backend", "model_config", "training_config"};
  for (const char* a : root_attrs) CHECK(attr_sig(ref, "/", a) == attr_sig(path, "/", a));
  const char* mw_attrs[] = {"layer_names", "backend", "keras_version"};
  for (const char* a : mw_attrs) CHECK(attr_sig(ref, "/model_weights", a) == attr_sig(path, "/model_weights", a));
  for (const H5Layer& l : f.layers) {
    const std::string grp = "/model_weights/" + l.name;
    CHECK(attr_sig(ref, grp, "weight_names") == attr_sig(path, grp, "weight_names"));
    for (const H5Weight& w : l.weights) CHECK(dset_sig(ref, grp + "/" + w.name) == dset_sig(path, grp + "/" + w.name));
  }
  CHECK(attr_sig(ref, "/optimizer_weights", "weight_names") == attr_sig(path, "/optimizer_weights", "weight_names"));
  CHECK(attr_sig(path, "/optimizer_weights", "weight_names") == "STRING fixed 27 pad1 cset0 SIMPLE(25)");
  for (const H5Weight& w : f.optimizer_weights)
    CHECK(dset_sig(ref, "/optimizer_weights/" + w.name) == dset_sig(path, "/optimizer_weights/" + w.name));
  CHECK(dset_sig(path, "/optimizer_weights/Adam/iterations:0") == "INTEGER 8 order0 SCALAR layout1 nf0");
  fs::remove_all(dir);
}

TEST(hotaruk_vlen_file_rewritten_as_keras224) {
  if (!have_data("hotaruk_vlen_file_rewritten_as_keras224")) return;
  const std::string dir = scratch("hot");
  const std::string path = dir + "/m.h5";
  KerasH5 f = kn::read_keras_h5(kData + "hotaruk_mnist_mlp_full_keras212.h5");
  kn::write_keras_h5(path, f, true);
  KerasH5 g = kn::read_keras_h5(path);
  check_same_layers(f, g);
  check_same_weights(f.optimizer_weights, g.optimizer_weights);
  CHECK(g.keras_version == "2.12.0");
  // written as fixed-length strings (Keras 2.2.4 style), not vlen as in the source
  CHECK(attr_sig(path, "/model_weights", "layer_names") == "STRING fixed 7 pad1 cset0 SIMPLE(3)");
  CHECK(attr_sig(path, "/model_weights/top_level_model_weights", "weight_names") == "MISSING");
  fs::remove_all(dir);
}

TEST(full_model_without_optimizer_or_training_config) {
  const std::string dir = scratch("full_noopt");
  const std::string path = dir + "/m.h5";
  KerasH5 f = synthetic_model();
  f.model_config = "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\", \"layers\": []}}";
  kn::write_keras_h5(path, f, true);
  KerasH5 g = kn::read_keras_h5(path);
  CHECK(g.full_model);
  CHECK(g.model_config == f.model_config);
  CHECK(g.training_config.empty());
  CHECK(g.optimizer_weights.empty());
  check_same_layers(f, g);
  CHECK(attr_sig(path, "/", "training_config") == "MISSING");
  CHECK(attr_sig(path, "/", "layer_names") == "MISSING");
  CHECK(attr_sig(path, "/model_weights", "layer_names") == "STRING fixed 9 pad1 cset0 SIMPLE(3)");
  // full model requires model_config
  f.model_config.clear();
  CHECK_THROWS(kn::write_keras_h5(dir + "/x.h5", f, true), "model_config");
  CHECK(!fs::exists(dir + "/x.h5"));
  fs::remove_all(dir);
}

// 3001 names of 30 bytes = 90030 bytes > 64512: numpy.array_split into 2
// chunks of 1501 and 1500 (45030 bytes each).
TEST(chunked_layer_names_round_trip) {
  const std::string dir = scratch("chunk");
  const std::string path = dir + "/c.h5";
  KerasH5 f;
  for (int i = 0; i < 3001; ++i) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "a_rather_long_layer_name_%05d", i);  // 30 chars
    f.layers.push_back(H5Layer{buf, {}});
  }
  f.layers[5].weights.push_back(H5Weight{"w/kernel:0", {2}, {1.0f, 2.0f}, "float32", {}});
  kn::write_keras_h5(path, f, false);
  CHECK(attr_sig(path, "/", "layer_names") == "MISSING");
  CHECK(attr_sig(path, "/", "layer_names0") == "STRING fixed 30 pad1 cset0 SIMPLE(1501)");
  CHECK(attr_sig(path, "/", "layer_names1") == "STRING fixed 30 pad1 cset0 SIMPLE(1500)");
  CHECK(attr_sig(path, "/", "layer_names2") == "MISSING");
  KerasH5 g = kn::read_keras_h5(path);
  check_same_layers(f, g);
  // full model: chunks inside model_weights; also a chunked weight_names
  // (2200 names of 31 bytes = 68200 bytes -> 2 chunks of 1100)
  KerasH5 h;
  h.model_config = "{}";
  H5Layer big{"big", {}};
  for (int i = 0; i < 2200; ++i) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "big/a_long_weight_name_%06d:0", i);  // 31 chars
    big.weights.push_back(H5Weight{buf, {1}, {static_cast<float>(i)}, "float32", {}});
  }
  h.layers = {big};
  for (int i = 0; i < 3000; ++i) h.layers.push_back(H5Layer{"layer_with_a_long_name_" + std::to_string(100000 + i), {}});
  const std::string path2 = dir + "/c2.h5";
  kn::write_keras_h5(path2, h, true);
  CHECK(attr_sig(path2, "/model_weights", "layer_names0") == "STRING fixed 29 pad1 cset0 SIMPLE(1501)");  // 3001*29=87029
  CHECK(attr_sig(path2, "/model_weights", "layer_names1") == "STRING fixed 29 pad1 cset0 SIMPLE(1500)");
  CHECK(attr_sig(path2, "/model_weights/big", "weight_names0") == "STRING fixed 31 pad1 cset0 SIMPLE(1100)");
  CHECK(attr_sig(path2, "/model_weights/big", "weight_names1") == "STRING fixed 31 pad1 cset0 SIMPLE(1100)");
  CHECK(attr_sig(path2, "/model_weights/big", "weight_names") == "MISSING");
  KerasH5 k = kn::read_keras_h5(path2);
  check_same_layers(h, k);
  fs::remove_all(dir);
}

TEST(empty_model_and_empty_weight_lists) {
  const std::string dir = scratch("empty");
  const std::string path = dir + "/e.h5";
  KerasH5 f;
  kn::write_keras_h5(path, f, false);
  CHECK(attr_sig(path, "/", "layer_names") == "class1 8 SIMPLE(0)");
  KerasH5 g = kn::read_keras_h5(path);
  CHECK(g.layers.empty());
  f.layers = {H5Layer{"flatten", {}}, H5Layer{"activation", {}}};
  kn::write_keras_h5(path, f, false);  // overwrite existing file
  g = kn::read_keras_h5(path);
  CHECK((layer_names(g) == std::vector<std::string>{"flatten", "activation"}));
  CHECK(g.layers.size() == 2 && g.layers[0].weights.empty() && g.layers[1].weights.empty());
  fs::remove_all(dir);
}

// float16/float64/int dtypes: written with their own file types, read back
// converted to float32; integers also exact in int_data.
TEST(dtypes_scalars_and_conversion) {
  const std::string dir = scratch("dtypes");
  const std::string path = dir + "/d.h5";
  KerasH5 f;
  H5Layer l{"mixed", {}};
  // 0.1 in IEEE half is 1638/16384 = 0.0999755859375; the others are exact
  l.weights.push_back(H5Weight{"mixed/half:0", {2, 2}, {0.5f, -2.0f, 1024.0f, 0.1f}, "float16", {}});
  l.weights.push_back(H5Weight{"mixed/double:0", {3}, {0.1f, -1e30f, 3.0f}, "float64", {}});
  const int64_t big = (int64_t(1) << 40) + 1;
  l.weights.push_back(H5Weight{"mixed/count:0", {}, {static_cast<float>(big)}, "int64", {big}});
  l.weights.push_back(H5Weight{"mixed/rounded:0", {2}, {2.6f, -1.4f}, "int32", {}});  // no int_data: rounded
  l.weights.push_back(H5Weight{"mixed/scalar:0", {}, {-0.75f}, "", {}});            // "" = float32
  l.weights.push_back(H5Weight{"mixed/empty:0", {0, 4}, {}, "float32", {}});
  f.layers = {l};
  kn::write_keras_h5(path, f, false);
  CHECK(dset_sig(path, "/mixed/mixed/half:0") == "FLOAT 2 order0 SIMPLE(2,2) layout1 nf0");
  CHECK(dset_sig(path, "/mixed/mixed/double:0") == "FLOAT 8 order0 SIMPLE(3) layout1 nf0");
  CHECK(dset_sig(path, "/mixed/mixed/count:0") == "INTEGER 8 order0 SCALAR layout1 nf0");
  CHECK(dset_sig(path, "/mixed/mixed/rounded:0") == "INTEGER 4 order0 SIMPLE(2) layout1 nf0");
  CHECK(dset_sig(path, "/mixed/mixed/scalar:0") == "FLOAT 4 order0 SCALAR layout1 nf0");
  KerasH5 g = kn::read_keras_h5(path);
  CHECK(g.layers.size() == 1 && g.layers[0].weights.size() == 6);
  if (g.layers.size() != 1 || g.layers[0].weights.size() != 6) return;
  const std::vector<H5Weight>& w = g.layers[0].weights;
  CHECK(w[0].dtype == "float16");
  CHECK((w[0].data == std::vector<float>{0.5f, -2.0f, 1024.0f, 0.0999755859375f}));
  CHECK(w[1].dtype == "float64");
  CHECK((w[1].data == std::vector<float>{0.1f, -1e30f, 3.0f}));
  CHECK(w[2].dtype == "int64" && w[2].shape.empty());
  CHECK(w[2].int_data.size() == 1 && w[2].int_data[0] == big);
  CHECK(w[3].dtype == "int32");
  CHECK((w[3].int_data == std::vector<int64_t>{3, -1}));
  CHECK((w[3].data == std::vector<float>{3.0f, -1.0f}));
  CHECK(w[4].dtype == "float32" && w[4].shape.empty() && w[4].data.size() == 1 && w[4].data[0] == -0.75f);
  CHECK((w[5].shape == kn::Shape{0, 4}) && w[5].data.empty());
  fs::remove_all(dir);
}

// ---------------------------------------------------------------- errors, atomic save

TEST(read_errors_name_path_and_problem) {
  const std::string dir = scratch("rerr");
  CHECK_THROWS(kn::read_keras_h5(dir + "/nope.h5"), "does not exist");
  CHECK_THROWS(kn::read_keras_h5(dir + "/nope.h5"), "nope.h5");
  {
    std::ofstream(dir + "/text.h5") << "this is not hdf5\n";
  }
  CHECK_THROWS(kn::read_keras_h5(dir + "/text.h5"), "not an HDF5 file");
  if (have_data("read_errors_name_path_and_problem (io file)"))
    CHECK_THROWS(kn::read_keras_h5(kData + "dl4j_mnist_mlp_tf_keras_2_inputs_and_outputs.h5"), "layer_names");
  const std::string p = dir + "/m.h5";
  kn::write_keras_h5(p, synthetic_model(), false);
  raw_delete_link(p, "/dense_2/dense_2/kernel:0");
  CHECK_THROWS(kn::read_keras_h5(p), "dataset '/dense_2/dense_2/kernel:0' (listed in weight_names) is missing");
  kn::write_keras_h5(p, synthetic_model(), false);
  raw_delete_link(p, "/dropout_1");
  CHECK_THROWS(kn::read_keras_h5(p), "group for layer 'dropout_1'");
  kn::write_keras_h5(p, synthetic_model(), false);
  raw_delete_attr(p, "/dense_1", "weight_names");
  CHECK_THROWS(kn::read_keras_h5(p), "attribute 'weight_names' missing in group '/dense_1'");
  KerasH5 full = synthetic_model();
  full.model_config = "{}";
  full.optimizer_weights.push_back(H5Weight{"Adam/iterations:0", {}, {5.0f}, "int64", {5}});
  kn::write_keras_h5(p, full, true);
  raw_delete_attr(p, "/optimizer_weights", "weight_names");
  CHECK_THROWS(kn::read_keras_h5(p), "'weight_names' missing in group '/optimizer_weights'");
  kn::write_keras_h5(p, full, true);
  raw_delete_attr(p, "/model_weights", "layer_names");
  CHECK_THROWS(kn::read_keras_h5(p), "attribute 'layer_names' missing in group '/model_weights'");
  fs::remove_all(dir);
}

TEST(atomic_save_keeps_existing_file_on_error) {
  const std::string dir = scratch("atomic");
  const std::string p = dir + "/model.h5";
  kn::write_keras_h5(p, synthetic_model(), false);
  const std::string before = slurp(p);
  CHECK(!before.empty());
  CHECK(count_files(dir) == 1);
  // 1) validation error (before any file is created)
  KerasH5 bad = synthetic_model();
  bad.layers[0].weights[0].data.pop_back();
  CHECK_THROWS(kn::write_keras_h5(p, bad, false), "needs 6");
  CHECK_THROWS(kn::write_keras_h5(p, bad, false), "model.h5");
  // 2) HDF5 failure in the middle of writing: duplicate weight name -> second dataset create fails
  KerasH5 dup = synthetic_model();
  dup.layers[2].weights[1].name = dup.layers[2].weights[0].name;
  CHECK_THROWS(kn::write_keras_h5(p, dup, false), "cannot create dataset '/dense_2/dense_2/kernel:0'");
  // 3) unsupported dtype discovered while writing the last layer
  KerasH5 odd = synthetic_model();
  odd.layers[2].weights[1].dtype = "bfloat16";
  CHECK_THROWS(kn::write_keras_h5(p, odd, true), "model_config");  // full model without config
  odd.model_config = "{}";
  CHECK_THROWS(kn::write_keras_h5(p, odd, true), "unsupported dtype 'bfloat16'");
  // 4) other validation errors
  KerasH5 names = synthetic_model();
  names.layers[1].name = "dense_1";
  CHECK_THROWS(kn::write_keras_h5(p, names, false), "duplicate layer name 'dense_1'");
  names.layers[1].name = "a/b";
  CHECK_THROWS(kn::write_keras_h5(p, names, false), "layer name 'a/b'");
  // the original file is untouched and no temporary file is left behind
  CHECK(slurp(p) == before);
  CHECK(count_files(dir) == 1);
  KerasH5 g = kn::read_keras_h5(p);
  check_same_layers(synthetic_model(), g);
  // writing into a missing directory fails cleanly
  CHECK_THROWS(kn::write_keras_h5(dir + "/no/such/dir/m.h5", synthetic_model(), false), "does not exist");
  // a successful save replaces the file
  KerasH5 other = synthetic_model();
  other.layers[0].weights[1].data = {42.0f, 43.0f};
  kn::write_keras_h5(p, other, false);
  g = kn::read_keras_h5(p);
  const H5Weight* b = find_weight(g, "dense_1", "dense_1/bias:0");
  CHECK(b && (b->data == std::vector<float>{42.0f, 43.0f}));
  CHECK(count_files(dir) == 1);
  fs::remove_all(dir);
}

KN_TEST_MAIN
