// Tests for src/formats/keras_h5_write.cpp: write -> read round trips with the
// attribute types Keras 2.2.4 / h5py produce, chunked name lists, dtypes,
// error messages, and the atomic save (temporary file + rename).
#include "keras_h5_test_util.h"

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
