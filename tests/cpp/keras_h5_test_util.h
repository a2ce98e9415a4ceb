// Helpers shared by the Keras HDF5 tests (test_keras_h5.cpp: real Keras
// files; test_keras_h5_write.cpp: writing and round trips). The real files
// come from ../shared/testdata/keras-h5 and are skipped with a message when absent.
#pragma once
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

const std::string kData = kn_test::shared_testdata("keras-h5");
const std::string kMnist = kn_test::shared_testdata("mnist");

inline bool have_data(const char* test) {
  if (fs::exists(kData + "dl4j_mnist_mlp_tf_keras_2_weights.h5")) return true;
  std::printf("  SKIP %s: %s not present\n", test, kData.c_str());
  return false;
}

// Fresh scratch directory for one test.
inline std::string scratch(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("kn_test_keras_h5_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline int count_files(const std::string& dir) {
  int n = 0;
  for (auto& e : fs::directory_iterator(dir)) { (void)e; ++n; }
  return n;
}

inline const H5Layer* find_layer(const KerasH5& f, const std::string& name) {
  for (const H5Layer& l : f.layers) if (l.name == name) return &l;
  return nullptr;
}

inline const H5Weight* find_weight(const KerasH5& f, const std::string& layer, const std::string& wname) {
  const H5Layer* l = find_layer(f, layer);
  if (!l) return nullptr;
  for (const H5Weight& w : l->weights) if (w.name == wname) return &w;
  return nullptr;
}

inline std::vector<std::string> layer_names(const KerasH5& f) {
  std::vector<std::string> v;
  for (const H5Layer& l : f.layers) v.push_back(l.name);
  return v;
}

// ---- raw HDF5 helpers (independent of keras_h5.cpp) ----

// "STRING fixed 15 nullpad cset0 SIMPLE(10)" / "FLOAT 8 SIMPLE(0)" / "MISSING".
inline std::string attr_sig(const std::string& file, const std::string& obj, const std::string& attr) {
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
inline std::string dset_sig(const std::string& file, const std::string& path) {
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
inline std::vector<float> raw_floats(const std::string& file, const std::string& path, std::vector<hsize_t>* dims) {
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
inline void raw_delete_link(const std::string& file, const std::string& link) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  H5Ldelete(f, link.c_str(), H5P_DEFAULT);
  H5Fclose(f);
}
inline void raw_delete_attr(const std::string& file, const std::string& obj, const std::string& attr) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  H5Adelete_by_name(f, obj.c_str(), attr.c_str(), H5P_DEFAULT);
  H5Fclose(f);
}

// IDX file (gzip) -> bytes after the header.
inline std::vector<uint8_t> read_idx_gz(const std::string& path, size_t header) {
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
inline void dense(const float* x, const H5Weight& W, const H5Weight& b, float* y) {
  const int64_t k = W.shape[0], n = W.shape[1];
  for (int64_t j = 0; j < n; ++j) y[j] = b.data[static_cast<size_t>(j)];
  for (int64_t i = 0; i < k; ++i) {
    const float xi = x[i];
    const float* row = W.data.data() + i * n;
    for (int64_t j = 0; j < n; ++j) y[j] += xi * row[j];
  }
}

inline void relu(std::vector<float>& v) {
  for (float& x : v) x = std::max(x, 0.0f);
}

inline int argmax(const std::vector<float>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

// Small synthetic model: values are exact binary fractions so equality is exact.
inline KerasH5 synthetic_model() {
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

inline void check_same_weights(const std::vector<H5Weight>& a, const std::vector<H5Weight>& b) {
  CHECK(a.size() == b.size());
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    CHECK(a[i].name == b[i].name);
    CHECK(a[i].shape == b[i].shape);
    CHECK(a[i].data == b[i].data);
    CHECK(a[i].dtype == b[i].dtype);
    CHECK(a[i].int_data == b[i].int_data);
  }
}

inline void check_same_layers(const KerasH5& a, const KerasH5& b) {
  CHECK(a.layers.size() == b.layers.size());
  for (size_t i = 0; i < std::min(a.layers.size(), b.layers.size()); ++i) {
    CHECK(a.layers[i].name == b.layers[i].name);
    check_same_weights(a.layers[i].weights, b.layers[i].weights);
  }
}

}  // namespace

// ---------------------------------------------------------------- real files
