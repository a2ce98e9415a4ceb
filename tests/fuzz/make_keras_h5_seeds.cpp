// Writes the tiny seed files of tests/fuzz/corpus/keras_h5 (run from the
// repository root): small Keras 2.2.4-layout files, so the fuzzer mutates a
// few KB instead of the megabytes of the real files in ../shared/testdata.
// Also writes the hostile files of tests/testthat/fixtures/h5 used by
// tests/testthat/test-persistence-corrupt.R (issue 8's cases):
//   dense_units_2p62.h5  full model whose Dense has units = 2^62
//   claims_4gib.h5       weights file whose kernel claims 2^30 floats, stores 16 bytes
//   nan_iterations.h5    full Adam model whose iterations is a float32 NaN
//   g++ -std=c++17 -Isrc/core -Isrc/formats tests/fuzz/make_keras_h5_seeds.cpp src/formats/keras_h5.cpp \
//     src/formats/h5_guard.cpp $(pkg-config --cflags --libs hdf5) -o /tmp/seeds && /tmp/seeds
#include <hdf5.h>

#include <cmath>
#include <string>

#include "keras_h5.h"

using kn::H5Layer;
using kn::H5Weight;
using kn::KerasH5;

static H5Weight w(const std::string& name, kn::Shape shape, float start) {
  H5Weight x;
  x.name = name;
  x.shape = shape;
  x.data.resize(static_cast<size_t>(kn::shape_numel(shape)));
  for (size_t i = 0; i < x.data.size(); ++i) x.data[i] = start + 0.25f * static_cast<float>(i);
  return x;
}

int main() {
  const std::string dir = "tests/fuzz/corpus/keras_h5/";
  // 1. Sequential MLP, full model with optimizer state (vlen model_config in a global heap).
  KerasH5 mlp;
  mlp.model_config =
      "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential_1\", \"layers\": ["
      "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_1\", \"trainable\": true, "
      "\"batch_input_shape\": [null, 3], \"dtype\": \"float32\", \"units\": 2, \"activation\": \"relu\", "
      "\"use_bias\": true}}, "
      "{\"class_name\": \"Dropout\", \"config\": {\"name\": \"dropout_1\", \"rate\": 0.5}}, "
      "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_2\", \"units\": 1, \"activation\": \"sigmoid\"}}]}}";
  mlp.training_config =
      "{\"optimizer_config\": {\"class_name\": \"Adam\", \"config\": {\"lr\": 0.001}}, \"loss\": "
      "\"binary_crossentropy\", \"metrics\": [\"acc\"]}";
  mlp.layers = {H5Layer{"dense_1", {w("dense_1/kernel:0", {3, 2}, -0.5f), w("dense_1/bias:0", {2}, 0.f)}},
                H5Layer{"dropout_1", {}},
                H5Layer{"dense_2", {w("dense_2/kernel:0", {2, 1}, 0.3f), w("dense_2/bias:0", {1}, 0.1f)}}};
  H5Weight it = w("Adam/iterations:0", {}, 7.f);
  it.dtype = "int64";
  it.int_data = {7};
  mlp.optimizer_weights = {it, w("Adam/m_1:0", {3, 2}, 0.f)};
  kn::write_keras_h5(dir + "mlp_full.h5", mlp, true);
  // 2. The same weights alone (save_weights layout).
  kn::write_keras_h5(dir + "mlp_weights.h5", mlp, false);
  // 3. A small CNN: conv 2x2 "same" -> max-pool -> flatten -> dense, float64/float16 weights.
  KerasH5 cnn;
  cnn.model_config =
      "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential_2\", \"layers\": ["
      "{\"class_name\": \"Conv2D\", \"config\": {\"name\": \"conv2d_1\", \"batch_input_shape\": [null, 4, 4, 1], "
      "\"filters\": 2, \"kernel_size\": [2, 2], \"strides\": [1, 1], \"padding\": \"same\", \"activation\": \"relu\"}}, "
      "{\"class_name\": \"MaxPooling2D\", \"config\": {\"name\": \"max_pooling2d_1\", \"pool_size\": [2, 2]}}, "
      "{\"class_name\": \"Flatten\", \"config\": {\"name\": \"flatten_1\"}}, "
      "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_3\", \"units\": 2, \"activation\": \"softmax\"}}]}}";
  H5Weight k = w("conv2d_1/kernel:0", {2, 2, 1, 2}, -0.2f);
  k.dtype = "float64";
  H5Weight b = w("conv2d_1/bias:0", {2}, 0.f);
  b.dtype = "float16";
  cnn.layers = {H5Layer{"conv2d_1", {k, b}}, H5Layer{"max_pooling2d_1", {}}, H5Layer{"flatten_1", {}},
                H5Layer{"dense_3", {w("dense_3/kernel:0", {8, 2}, -1.f), w("dense_3/bias:0", {2}, 0.f)}}};
  kn::write_keras_h5(dir + "cnn_full.h5", cnn, true);
  // 4. A functional model with two inputs merged by Add.
  KerasH5 fn;
  fn.model_config =
      "{\"class_name\": \"Model\", \"config\": {\"name\": \"model_1\", \"layers\": ["
      "{\"class_name\": \"InputLayer\", \"config\": {\"name\": \"a\", \"batch_input_shape\": [null, 2]}, \"inbound_nodes\": []}, "
      "{\"class_name\": \"InputLayer\", \"config\": {\"name\": \"b\", \"batch_input_shape\": [null, 2]}, \"inbound_nodes\": []}, "
      "{\"class_name\": \"Add\", \"config\": {\"name\": \"add_1\"}, \"inbound_nodes\": [[[\"a\", 0, 0, {}], [\"b\", 0, 0, {}]]]}, "
      "{\"class_name\": \"BatchNormalization\", \"config\": {\"name\": \"bn_1\"}, \"inbound_nodes\": [[[\"add_1\", 0, 0, {}]]]}], "
      "\"input_layers\": [[\"a\", 0, 0], [\"b\", 0, 0]], \"output_layers\": [[\"bn_1\", 0, 0]]}}";
  fn.layers = {H5Layer{"a", {}}, H5Layer{"b", {}}, H5Layer{"add_1", {}},
               H5Layer{"bn_1", {w("bn_1/gamma:0", {2}, 1.f), w("bn_1/beta:0", {2}, 0.f),
                                w("bn_1/moving_mean:0", {2}, 0.f), w("bn_1/moving_variance:0", {2}, 1.f)}}};
  kn::write_keras_h5(dir + "functional_full.h5", fn, true);

  const std::string fx = "tests/testthat/fixtures/h5/";
  // 5. units = 2^62 (shape_numel wrapped to 0: a zero-sized kernel, then out-of-bounds writes).
  KerasH5 huge;
  huge.model_config =
      "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential_1\", \"layers\": ["
      "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_1\", \"trainable\": true, "
      "\"batch_input_shape\": [null, 3], \"dtype\": \"float32\", \"units\": 4611686018427387904, "
      "\"activation\": \"linear\", \"use_bias\": true}}]}}";
  huge.layers = {H5Layer{"dense_1", {w("dense_1/kernel:0", {3, 2}, 0.f), w("dense_1/bias:0", {2}, 0.f)}}};
  kn::write_keras_h5(fx + "dense_units_2p62.h5", huge, true);
  // 6. A kernel that claims 2^30 float32 (4 GiB) but stores one 16-byte chunk.
  KerasH5 claim;
  claim.layers = {H5Layer{"dense_1", {w("dense_1/kernel:0", {2, 2}, 0.f), w("dense_1/bias:0", {2}, 0.f)}}};
  const std::string cpath = fx + "claims_4gib.h5";
  kn::write_keras_h5(cpath, claim, false);
  {
    hid_t file = H5Fopen(cpath.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t g = H5Gopen2(file, "/dense_1/dense_1", H5P_DEFAULT);
    H5Ldelete(g, "kernel:0", H5P_DEFAULT);
    hsize_t dims[1] = {4}, maxd[1] = {H5S_UNLIMITED}, big[1] = {hsize_t(1) << 30};
    hid_t sp = H5Screate_simple(1, dims, maxd);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, dims);
    hid_t d = H5Dcreate2(g, "kernel:0", H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    const float v[4] = {1, 2, 3, 4};
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dset_extent(d, big);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Gclose(g);
    H5Fclose(file);
  }
  // 7. Adam state (iterations, m, v, vhat placeholders) with iterations = NaN as float32.
  KerasH5 nan;
  nan.model_config =
      "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential_1\", \"layers\": ["
      "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_1\", \"trainable\": true, "
      "\"batch_input_shape\": [null, 3], \"dtype\": \"float32\", \"units\": 2, "
      "\"activation\": \"linear\", \"use_bias\": true}}]}}";
  nan.training_config =
      "{\"optimizer_config\": {\"class_name\": \"Adam\", \"config\": {\"lr\": 0.001, \"beta_1\": 0.9, "
      "\"beta_2\": 0.999, \"decay\": 0.0, \"epsilon\": 1e-07, \"amsgrad\": false}}, \"loss\": "
      "\"mean_squared_error\", \"metrics\": [], \"sample_weight_mode\": null, \"loss_weights\": null}";
  nan.layers = {H5Layer{"dense_1", {w("dense_1/kernel:0", {3, 2}, -0.5f), w("dense_1/bias:0", {2}, 0.f)}}};
  H5Weight iters{"Adam/iterations:0", {}, {std::nanf("")}};
  nan.optimizer_weights = {iters,
                           w("training/Adam/Variable:0", {3, 2}, 0.f), w("training/Adam/Variable_1:0", {2}, 0.f),
                           w("training/Adam/Variable_2:0", {3, 2}, 0.f), w("training/Adam/Variable_3:0", {2}, 0.f),
                           w("training/Adam/Variable_4:0", {1}, 0.f), w("training/Adam/Variable_5:0", {1}, 0.f)};
  kn::write_keras_h5(fx + "nan_iterations.h5", nan, true);
  return 0;
}
