// Tests for src/nn/keras_config.* and keras_weights.*: building engine models
// from real Keras configs and files in ../shared/testdata/keras-h5 (skipped
// with a message when absent), writing configs and training configs, and the
// optimizer-state mapping. Expected values come from the files' provenance
// (README: shapes, iteration counts, Keras's own stored outputs) or are
// written by hand here, never from our own output.
#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "harness.h"
#include "keras_config.h"
#include "keras_h5.h"
#include "keras_weights.h"
#include "model.h"
#include "optimizers.h"

namespace fs = std::filesystem;
using kn::Json;

namespace {

// ../shared/testdata/keras-h5 (see kn_test::shared_testdata).
std::string data_dir() {
  const std::string d = kn_test::shared_testdata("keras-h5");
  return (!d.empty() && fs::exists(d + "dl4j_mnist_mlp_tf_keras_2_weights.h5")) ? d : "";
}

bool have_data(const char* test) {
  if (!data_dir().empty()) return true;
  std::printf("  SKIP %s: ../shared/testdata/keras-h5 not present\n", test);
  return false;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Float dataset read with plain HDF5 calls (independent of keras_h5.cpp).
std::vector<float> raw_floats(const std::string& file, const std::string& path, std::vector<hsize_t>& dims) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t d = H5Dopen2(f, path.c_str(), H5P_DEFAULT);
  hid_t s = H5Dget_space(d);
  int nd = H5Sget_simple_extent_ndims(s);
  dims.assign(static_cast<size_t>(nd > 0 ? nd : 0), 0);
  if (nd > 0) H5Sget_simple_extent_dims(s, dims.data(), nullptr);
  std::vector<float> v(static_cast<size_t>(H5Sget_simple_extent_npoints(s)));
  H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  H5Sclose(s);
  H5Dclose(d);
  H5Fclose(f);
  return v;
}

std::vector<std::string> layer_classes(const kn::Model& m) {
  std::vector<std::string> out;
  for (const kn::LayerPtr& l : m.graph.layers()) out.push_back(l->class_name());
  return out;
}

// Inference forward pass of a one-input, one-output model on x (n, ...).
kn::Tensor forward(kn::Model& m, const kn::Tensor& x) {
  m.graph.forward({&x}, false, 0);
  return m.graph.value(m.graph.outputs[0]);
}

// A small compiled model and one training step on fixed data.
void small_model(kn::Model& m, const std::string& opt, const Json& opt_cfg, kn::CompileArgs& args) {
  kn::Rng rng(7);
  Json d = Json::parse(R"({"name": "d1", "units": 3, "activation": "tanh", "batch_input_shape": [null, 2]})");
  int in = m.graph.add_input({2}, "d1_input");
  int h = m.graph.add(kn::make_layer("Dense", d), {in}, rng);
  int o = m.graph.add(kn::make_layer("Dense", Json::parse(R"({"name": "d2", "units": 1})")), {h}, rng);
  m.graph.inputs = {in};
  m.graph.outputs = {o};
  args.losses = {"mse"};
  m.compile(args.losses, args.loss_weights, false, kn::make_optimizer(opt, opt_cfg));
  kn::Batch b;
  kn::Tensor x, y;
  x.shape = {4, 2};  // (N, 2)
  x.data = {0.1f, 0.2f, -0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f};
  y.shape = {4, 1};  // (N, 1)
  y.data = {1, 0, -1, 0.5f};
  b.x = {x};
  b.y = {y};
  m.train_batch(b, 1);
}

}  // namespace

// Keras 2.0.6's to_json() of the dl4j MLP builds the stated architecture, and
// with the file's weights reproduces the outputs Keras stored for 100 inputs.
TEST(dl4j_config_and_weights_reproduce_keras_outputs) {
  if (!have_data("dl4j_config_and_weights_reproduce_keras_outputs")) return;
  const std::string dir = data_dir();
  kn::Model m;
  bool seq = kn::model_from_keras_config(Json::parse(slurp(dir + "dl4j_mnist_mlp_tf_keras_2_config.json")),
                                         kn::CustomLayers(), "", m);
  CHECK(seq);
  CHECK((layer_classes(m) == std::vector<std::string>{"Dense", "Dropout", "Dense", "Dropout", "Dense"}));
  // 784*512+512 + 512*512+512 + 512*10+10 (README: MLP 784-512-512-10)
  CHECK(m.graph.count_params() == 669706);
  kn::KerasH5 f = kn::read_keras_h5(dir + "dl4j_mnist_mlp_tf_keras_2_weights.h5");
  CHECK(kn::load_keras_weights(m, f, false, false, false).empty());
  std::vector<hsize_t> xd, yd;
  const std::string io = dir + "dl4j_mnist_mlp_tf_keras_2_inputs_and_outputs.h5";
  kn::Tensor x;
  x.data = raw_floats(io, "/inputs/dense_1_input", xd);  // (100, 784)
  x.shape = {static_cast<int64_t>(xd[0]), static_cast<int64_t>(xd[1])};
  std::vector<float> y = raw_floats(io, "/predictions/dense_3", yd);  // (100, 10)
  kn::Tensor p = forward(m, x);  // (100, 10)
  CHECK((p.shape == kn::Shape{100, 10}));
  double worst = 0;
  for (size_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::fabs(double(p.data[i]) - y[i]));
  CHECK_NEAR(worst, 0.0, 1e-5);
}

// Keras 2.2.4 model.save(): architecture from model_config, weight shapes
// and the Adam iteration count stated in the README.
TEST(dnnrepair_full_model_and_optimizer_state) {
  if (!have_data("dnnrepair_full_model_and_optimizer_state")) return;
  kn::KerasH5 f = kn::read_keras_h5(data_dir() + "dnnrepair_mnist0_cnn_full_keras224.hdf5");
  kn::Model m;
  kn::CompileArgs args;
  CHECK(kn::model_from_keras_h5(f, m, args));
  std::vector<std::string> want{"Conv2D", "Activation", "Conv2D", "Activation", "MaxPooling2D",
                                "Flatten", "Dense", "Activation", "Dense", "Activation"};
  CHECK(layer_classes(m) == want);
  // (3*3*1*2+2) + (3*3*2*4+4) + (576*128+128) + (128*10+10)
  CHECK(m.graph.count_params() == 75242);
  CHECK(m.optimizer() && m.optimizer()->class_name() == "Adam");
  CHECK(m.optimizer()->iterations == 9380);
  CHECK((args.losses == std::vector<std::string>{"categorical_crossentropy"}));
  // the first Adam moment is the file's first training/Adam/Variable, by position
  std::vector<kn::Tensor*> st = m.optimizer()->state();
  CHECK(st.size() == 24);  // m, v, vhat for 8 trainable arrays
  CHECK(st[0]->data == f.optimizer_weights[1].data);
}

// Keras 2.12: variable-length names and the new optimizer's named slots
// ("Adam/m/dense/kernel:0"), mapped to the engine's slot order by name.
TEST(keras212_named_optimizer_slots) {
  if (!have_data("keras212_named_optimizer_slots")) return;
  kn::KerasH5 f = kn::read_keras_h5(data_dir() + "hotaruk_mnist_mlp_full_keras212.h5");
  kn::Model m;
  CHECK(kn::model_from_keras_config(Json::parse(f.model_config), kn::CustomLayers(), "", m));
  CHECK((layer_classes(m) == std::vector<std::string>{"Flatten", "Dense", "Dense"}));
  CHECK(m.graph.count_params() == 784 * 128 + 128 + 128 * 10 + 10);
  CHECK(kn::load_keras_weights(m, f, false, false, false).empty());
  m.compile({"categorical_crossentropy"}, {}, true, kn::make_optimizer("Adam", Json::object()));
  CHECK(kn::load_keras_optimizer_state(m, f, 0) == "");
  const kn::H5Weight* mk = nullptr;
  const kn::H5Weight* vb = nullptr;
  const kn::H5Weight* it = nullptr;
  for (const kn::H5Weight& w : f.optimizer_weights) {
    if (w.name == "Adam/m/dense/kernel:0") mk = &w;
    if (w.name == "Adam/v/dense_1/bias:0") vb = &w;
    if (w.name == "iteration:0") it = &w;
  }
  CHECK(mk && vb && it);
  if (!mk || !vb || !it) return;
  std::vector<kn::Tensor*> st = m.optimizer()->state();  // m: 4 arrays, then v: 4 arrays
  CHECK(st[0]->data == mk->data);
  CHECK(st[7]->data == vb->data);
  CHECK(m.optimizer()->iterations == (it->int_data.empty() ? int64_t(it->data[0]) : it->int_data[0]));
  CHECK(m.optimizer()->iterations > 0);
}

// tf.keras LeNet config (InputLayer-less Sequential, "same" padding) with the
// weights the README lists; written back as a Keras 2.2.4 config it builds
// the same network again.
TEST(kotlindl_config_round_trip) {
  if (!have_data("kotlindl_config_round_trip")) return;
  const std::string dir = data_dir();
  kn::Model m;
  CHECK(kn::model_from_keras_config(Json::parse(slurp(dir + "kotlindl_lenet_fashion_modelConfig.json")),
                                    kn::CustomLayers(), "", m));
  kn::KerasH5 f = kn::read_keras_h5(dir + "kotlindl_lenet_fashion_weights_tfkeras.h5");
  CHECK(kn::load_keras_weights(m, f, false, false, false).empty());
  std::vector<kn::LayerPtr> ls = m.graph.layers();
  CHECK((ls[0]->params[0].value.shape == kn::Shape{3, 3, 1, 32}));
  CHECK((ls[2]->params[0].value.shape == kn::Shape{3, 3, 32, 64}));
  // 32*9+32 + 64*32*9+64 + 3136*256+256 + 256*84+84 + 84*10+10
  CHECK(m.graph.count_params() == 320 + 18496 + 803072 + 21588 + 850);
  Json cfg = kn::keras_model_config(m, true);
  CHECK(cfg["class_name"].as_string() == "Sequential");
  Json first = cfg["config"]["layers"][0]["config"];
  CHECK(first["batch_input_shape"].dump() == "[null, 28, 28, 1]");
  kn::Model m2;
  CHECK(kn::model_from_keras_config(cfg, kn::CustomLayers(), "", m2));
  CHECK(layer_classes(m2) == layer_classes(m));
  CHECK(m2.graph.count_params() == m.graph.count_params());
}

// Configs written by hand: what keras_model_config must produce for a small
// functional model, and custom_objects renaming an unknown class.
TEST(functional_config_by_hand_and_custom_classes) {
  const char* text = R"({"class_name": "Model", "config": {"name": "net", "layers": [
    {"name": "in", "class_name": "InputLayer", "config": {"batch_input_shape": [null, 4], "name": "in"},
     "inbound_nodes": []},
    {"name": "a", "class_name": "MyDense", "config": {"name": "a", "units": 3},
     "inbound_nodes": [[["in", 0, 0, {}]]]},
    {"name": "b", "class_name": "Dense", "config": {"name": "b", "units": 3, "trainable": false},
     "inbound_nodes": [[["in", 0, 0, {}]]]},
    {"name": "s", "class_name": "Add", "config": {"name": "s"},
     "inbound_nodes": [[["a", 0, 0, {}], ["b", 0, 0, {}]]]}],
    "input_layers": [["in", 0, 0]], "output_layers": [["s", 0, 0]]}})";
  {
    kn::Model m;
    CHECK_THROWS(kn::model_from_keras_config(Json::parse(text), kn::CustomLayers(), "", m),
                 "unknown layer class 'MyDense' (layer 'a')");
  }
  kn::CustomLayers custom;
  custom["MyDense"].use_class = "Dense";
  kn::Model m;
  CHECK(!kn::model_from_keras_config(Json::parse(text), custom, "", m));
  CHECK(m.name == "net");
  CHECK((layer_classes(m) == std::vector<std::string>{"Dense", "Dense", "Add"}));
  CHECK(m.graph.layers()[1]->trainable == false);
  Json cfg = kn::keras_model_config(m, false);
  CHECK(cfg["class_name"].as_string() == "Model");
  const Json& c = cfg["config"];
  CHECK(c["input_layers"].dump() == R"([["in", 0, 0]])");
  CHECK(c["output_layers"].dump() == R"([["s", 0, 0]])");
  CHECK(c["layers"][0]["class_name"].as_string() == "InputLayer");
  CHECK(c["layers"][0]["config"]["batch_input_shape"].dump() == "[null, 4]");
  CHECK(c["layers"][3]["inbound_nodes"].dump() == R"([[["a", 0, 0, {}], ["b", 0, 0, {}]]])");
  CHECK(c["layers"][2]["config"]["trainable"].as_bool() == false);
  // a builder function takes precedence and gets the layer's config
  kn::CustomLayers fn;
  std::string seen;
  fn["MyDense"].build = [&seen](const Json& cfg) {
    seen = cfg["name"].as_string();
    return kn::make_layer("Dense", Json::parse(R"({"name": "a", "units": 3})"));
  };
  kn::Model m3;
  kn::model_from_keras_config(Json::parse(text), fn, "", m3);
  CHECK(seen == "a");
  // disconnected graphs and nested models are named
  kn::Model m4;
  std::string broken = text;
  broken.replace(broken.find(R"([["a", 0, 0, {}], ["b")"), 5, R"([["z")");
  CHECK_THROWS(kn::model_from_keras_config(Json::parse(broken), custom, "", m4), "cannot connect layer 's'");
}

// training_config as Keras 2.2.4 writes it (keys by hand), and compiling from it.
TEST(training_config_by_hand) {
  kn::Model m;
  kn::CompileArgs args;
  small_model(m, "RMSprop", Json::parse(R"({"lr": 0.01})"), args);
  args.metrics = {"accuracy"};
  Json tc = kn::keras_training_config(m, args);
  CHECK(tc["loss"].as_string() == "mse");
  CHECK(tc["metrics"].dump() == R"(["accuracy"])");
  CHECK(tc["loss_weights"].is_null());
  CHECK(tc["sample_weight_mode"].is_null());
  CHECK(tc["optimizer_config"]["class_name"].as_string() == "RMSprop");
  CHECK_NEAR(tc["optimizer_config"]["config"]["lr"].as_number(), 0.01, 1e-8);
  CHECK(tc["kerasnative_iterations"].as_int() == 1);  // RMSprop: Keras keeps no count
  kn::Model m2;
  kn::CompileArgs a2;
  small_model(m2, "SGD", Json::object(), a2);  // same graph; recompiled below
  kn::CompileArgs back = kn::compile_from_training_config(m2, tc);
  CHECK(back.losses == args.losses && back.metrics == args.metrics);
  CHECK((m2.metric_names() == std::vector<std::string>{"loss", "acc"}));
  CHECK(m2.optimizer()->class_name() == "RMSprop");
  CHECK_THROWS(kn::compile_from_training_config(m2, Json::parse(R"({"loss": 3})")), "loss");
  kn::Model m3;
  kn::CompileArgs a3;
  small_model(m3, "Adam", Json::object(), a3);
  CHECK(!kn::keras_training_config(m3, a3).has("kerasnative_iterations"));
}

// Iteration counts read from files are checked before conversion: NaN,
// negative, fractional and huge values leave a fresh optimizer and a reason.
TEST(optimizer_iterations_are_checked) {
  kn::Model m;
  kn::CompileArgs args;
  small_model(m, "Adam", Json::object(), args);
  kn::KerasH5 f = kn::model_to_keras_h5(m, true, &args);
  CHECK(f.optimizer_weights.size() == 13);  // iterations + m, v, vhat for 4 arrays
  CHECK(f.optimizer_weights[0].name == "Adam/iterations:0");
  const double bad[] = {std::numeric_limits<double>::quiet_NaN(), -1.0, 2.5, 1e30,
                        std::numeric_limits<double>::infinity()};
  for (double v : bad) {
    kn::KerasH5 g = f;
    g.optimizer_weights[0].int_data.clear();
    g.optimizer_weights[0].data = {static_cast<float>(v)};
    std::string msg = kn::load_keras_optimizer_state(m, g, 0);
    CHECK(msg.find("not an iteration count") != std::string::npos);
    CHECK(m.optimizer()->iterations == 0);
  }
  kn::KerasH5 g = f;
  g.optimizer_weights[0].int_data = {-3};
  CHECK(kn::load_keras_optimizer_state(m, g, 0).find("not an iteration count") != std::string::npos);
  CHECK(kn::load_keras_optimizer_state(m, f, std::nan("")).find("kerasnative_iterations") != std::string::npos);
  CHECK(kn::load_keras_optimizer_state(m, f, 0) == "");
  CHECK(m.optimizer()->iterations == 1);
}

// A whole model through an HDF5 file and back: graph, weights, compile
// settings and optimizer state equal the original's.
TEST(whole_model_round_trip_through_file) {
  kn::Model m;
  kn::CompileArgs args;
  small_model(m, "Adam", Json::parse(R"({"lr": 0.05, "amsgrad": true})"), args);
  fs::path p = fs::temp_directory_path() / ("kn_test_keras_config_" + std::to_string(getpid()) + ".h5");
  kn::write_keras_h5(p.string(), kn::model_to_keras_h5(m, true, &args), true);
  kn::KerasH5 f = kn::read_keras_h5(p.string());
  fs::remove(p);
  kn::Model m2;
  kn::CompileArgs a2;
  CHECK(kn::model_from_keras_h5(f, m2, a2));
  CHECK(a2.losses == args.losses);
  CHECK(m2.optimizer()->iterations == 1);
  CHECK(m2.optimizer()->config().dump() == m.optimizer()->config().dump());
  std::vector<kn::Tensor*> s1 = m.optimizer()->state(), s2 = m2.optimizer()->state();
  CHECK(s1.size() == s2.size());
  for (size_t k = 0; k < s1.size() && k < s2.size(); ++k) CHECK(s1[k]->data == s2[k]->data);
  std::vector<kn::LayerPtr> l1 = m.graph.layers(), l2 = m2.graph.layers();
  for (size_t i = 0; i < l1.size(); ++i)
    for (size_t k = 0; k < l1[i]->params.size(); ++k) CHECK(l1[i]->params[k].value.data == l2[i]->params[k].value.data);
  // freezing a layer after the state was loaded starts fresh slots at the
  // next step (as after a step), instead of failing on the changed list
  m2.graph.layers()[0]->trainable = false;
  kn::Batch b;
  kn::Tensor x, y;
  x.shape = {1, 2};  // (N, 2)
  x.data = {0.5f, -0.5f};
  y.shape = {1, 1};  // (N, 1)
  y.data = {2};
  b.x = {x};
  b.y = {y};
  m2.train_batch(b, 2);
  CHECK(m2.optimizer()->iterations == 2);
  CHECK(m2.optimizer()->state().size() == 6);  // m, v, vhat for d2's kernel and bias
  kn::KerasH5 empty;
  empty.layers = f.layers;
  kn::Model m3;
  CHECK_THROWS(kn::model_from_keras_h5(empty, m3, a2), "no model_config");
}

KN_TEST_MAIN
