// Keras HDF5 writer on the HDF5 C API (temporary file + rename). See
// keras_h5.h for the format; the reader is keras_h5.cpp.
#include "keras_h5.h"

#include <hdf5.h>

#include "atomic_file.h"
#include "h5_glue.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <system_error>

namespace kn {
namespace {

using namespace h5;
namespace fs = std::filesystem;

// ---------------------------------------------------------------- writing

Hid vlen_ascii_type() {
  Hid t = h_type(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), H5T_VARIABLE);
  H5Tset_strpad(t.get(), H5T_STR_NULLTERM);
  H5Tset_cset(t.get(), H5T_CSET_ASCII);
  return t;
}

// Scalar variable-length ASCII string attribute (h5py 2.x for a bytes value).
void write_scalar_string(hid_t obj, const std::string& name, const std::string& value, const Ctx& ctx) {
  Hid t = vlen_ascii_type();
  Hid s = h_space(H5Screate(H5S_SCALAR));
  Hid a = h_attr(H5Acreate2(obj, name.c_str(), t.get(), s.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!t.ok() || !s.ok() || !a.ok()) ctx.fail("cannot create attribute '" + name + "' on '" + obj_name(obj) + "'");
  const char* p = value.c_str();
  if (H5Awrite(a.get(), t.get(), &p) < 0) ctx.fail("cannot write attribute '" + name + "' on '" + obj_name(obj) + "'");
}

// One fixed-length NULL-padded ASCII string array attribute, elements of
// `itemsize` bytes (numpy 'S<itemsize>').
void write_fixed_strings(hid_t obj, const std::string& name, const std::string* items, size_t n, size_t itemsize,
                         const Ctx& ctx) {
  Hid t = h_type(H5Tcopy(H5T_C_S1));
  H5Tset_size(t.get(), itemsize);
  H5Tset_strpad(t.get(), H5T_STR_NULLPAD);
  H5Tset_cset(t.get(), H5T_CSET_ASCII);
  const hsize_t dims[1] = {static_cast<hsize_t>(n)};
  Hid s = h_space(H5Screate_simple(1, dims, nullptr));
  Hid a = h_attr(H5Acreate2(obj, name.c_str(), t.get(), s.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!t.ok() || !s.ok() || !a.ok()) ctx.fail("cannot create attribute '" + name + "' on '" + obj_name(obj) + "'");
  std::vector<char> buf(n * itemsize, '\0');  // (n, itemsize) bytes
  for (size_t i = 0; i < n; ++i) std::memcpy(buf.data() + i * itemsize, items[i].data(), items[i].size());
  if (H5Awrite(a.get(), t.get(), buf.data()) < 0)
    ctx.fail("cannot write attribute '" + name + "' on '" + obj_name(obj) + "'");
}

// A list attribute as Keras 2.2.4's save_attributes_to_hdf5_group writes it:
// empty -> float64 (0,); otherwise fixed-length strings, split into
// numpy.array_split-style chunks `<name>0`, `<name>1`, ... while the largest
// chunk would exceed kAttrLimit bytes.
void write_list_attr(hid_t obj, const std::string& name, const std::vector<std::string>& items, const Ctx& ctx) {
  if (items.empty()) {
    const hsize_t dims[1] = {0};
    Hid s = h_space(H5Screate_simple(1, dims, nullptr));
    Hid a = h_attr(H5Acreate2(obj, name.c_str(), H5T_IEEE_F64LE, s.get(), H5P_DEFAULT, H5P_DEFAULT));
    if (!s.ok() || !a.ok()) ctx.fail("cannot create attribute '" + name + "' on '" + obj_name(obj) + "'");
    return;
  }
  size_t itemsize = 1;  // numpy 'S' arrays are at least 'S1'
  for (const std::string& s : items) itemsize = std::max(itemsize, s.size());
  if (itemsize > kAttrLimit)
    ctx.fail("attribute '" + name + "' on '" + obj_name(obj) + "': an item of " + std::to_string(itemsize) +
                 " bytes exceeds the HDF5 attribute limit of " + std::to_string(kAttrLimit) + " bytes",
             false);
  const size_t n = items.size();
  size_t chunks = 1;
  while (((n + chunks - 1) / chunks) * itemsize > kAttrLimit) ++chunks;
  if (chunks == 1) {
    write_fixed_strings(obj, name, items.data(), n, itemsize, ctx);
    return;
  }
  // array_split: the first n % chunks pieces get one extra element.
  size_t start = 0;
  for (size_t c = 0; c < chunks; ++c) {
    const size_t len = n / chunks + (c < n % chunks ? 1 : 0);
    write_fixed_strings(obj, name + std::to_string(c), items.data() + start, len, itemsize, ctx);
    start += len;
  }
}

// File datatype for a weight's dtype ("" = float32).
Hid file_type_for(const H5Weight& w, const std::string& where, const Ctx& ctx) {
  const std::string& dt = w.dtype;
  if (dt.empty() || dt == "float32") return h_type(H5Tcopy(H5T_IEEE_F32LE));
  if (dt == "float64") return h_type(H5Tcopy(H5T_IEEE_F64LE));
  if (dt == "int64") return h_type(H5Tcopy(H5T_STD_I64LE));
  if (dt == "int32") return h_type(H5Tcopy(H5T_STD_I32LE));
  if (dt == "float16") {  // IEEE half: sign bit 15, exponent bits 10..14 (bias 15), mantissa bits 0..9
    Hid t = h_type(H5Tcopy(H5T_IEEE_F32LE));
    if (H5Tset_fields(t.get(), 15, 10, 5, 0, 10) < 0 || H5Tset_size(t.get(), 2) < 0 ||
        H5Tset_ebias(t.get(), 15) < 0)
      ctx.fail("cannot build float16 type for " + where);
    return t;
  }
  ctx.fail(where + ": unsupported dtype '" + dt + "' (use float32, float16, float64, int32 or int64)", false);
}

// Writes dataset `dname` (path relative to `loc`, '/' creating nested groups).
void write_weight(hid_t loc, const std::string& dname, const H5Weight& w, const Ctx& ctx) {
  const std::string where = "dataset '" + obj_name(loc) + "/" + dname + "'";
  Hid ftype = file_type_for(w, where, ctx);
  std::vector<hsize_t> dims;
  for (int64_t v : w.shape) dims.push_back(static_cast<hsize_t>(v));
  Hid space = h_space(w.shape.empty() ? H5Screate(H5S_SCALAR)
                                      : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  Hid lcpl = h_plist(H5Pcreate(H5P_LINK_CREATE));
  if (!ftype.ok() || !space.ok() || !lcpl.ok()) ctx.fail("cannot prepare " + where);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Hid d = h_dset(H5Dcreate2(loc, dname.c_str(), ftype.get(), space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!d.ok()) ctx.fail("cannot create " + where);
  if (w.data.empty()) return;
  herr_t r;
  const bool is_int = w.dtype == "int64" || w.dtype == "int32";
  if (is_int) {
    std::vector<int64_t> v = w.int_data;  // same layout as data
    if (v.size() != w.data.size()) {
      v.resize(w.data.size());
      for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int64_t>(std::llround(w.data[i]));
    }
    r = H5Dwrite(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  } else {
    r = H5Dwrite(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w.data.data());
  }
  if (r < 0) ctx.fail("cannot write " + where);
}

// Weights-only layout into group `g` (root or /model_weights).
void write_layers(hid_t g, const KerasH5& f, const std::string& backend, const std::string& version, const Ctx& ctx) {
  std::vector<std::string> names;
  names.reserve(f.layers.size());
  for (const H5Layer& l : f.layers) names.push_back(l.name);
  write_list_attr(g, "layer_names", names, ctx);
  write_scalar_string(g, "backend", backend, ctx);
  write_scalar_string(g, "keras_version", version, ctx);
  for (const H5Layer& l : f.layers) {
    Hid lg = h_group(H5Gcreate2(g, l.name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    if (!lg.ok()) ctx.fail("cannot create group for layer '" + l.name + "'");
    std::vector<std::string> wnames;
    wnames.reserve(l.weights.size());
    for (const H5Weight& w : l.weights) wnames.push_back(w.name);
    write_list_attr(lg.get(), "weight_names", wnames, ctx);
    for (const H5Weight& w : l.weights) write_weight(lg.get(), w.name, w, ctx);
  }
}

void validate_weight(const H5Weight& w, const std::string& owner, const Ctx& ctx) {
  if (w.name.empty()) ctx.fail(owner + " has a weight with an empty name", false);
  for (int64_t d : w.shape)
    if (d < 0) ctx.fail(owner + " weight '" + w.name + "' has a negative dimension", false);
  const int64_t numel = checked_numel(w.shape, owner + " weight '" + w.name + "'");
  if (static_cast<int64_t>(w.data.size()) != numel)
    ctx.fail(owner + " weight '" + w.name + "': data has " + std::to_string(w.data.size()) + " values but shape " +
                 dims_text(w.shape) + " needs " + std::to_string(numel),
             false);
}

void validate(const KerasH5& f, bool full_model, const Ctx& ctx) {
  std::set<std::string> seen;
  for (const H5Layer& l : f.layers) {
    if (l.name.empty()) ctx.fail("a layer has an empty name", false);
    if (l.name.find('/') != std::string::npos || l.name == ".")
      ctx.fail("layer name '" + l.name + "' cannot be used as an HDF5 group name", false);
    if (!seen.insert(l.name).second) ctx.fail("duplicate layer name '" + l.name + "'", false);
    for (const H5Weight& w : l.weights) validate_weight(w, "layer '" + l.name + "'", ctx);
  }
  if (full_model && f.model_config.empty()) ctx.fail("full model requested but model_config is empty", false);
  for (const H5Weight& w : f.optimizer_weights) validate_weight(w, "optimizer", ctx);
}

}  // namespace

// ---------------------------------------------------------------- public API

void write_keras_h5(const std::string& path, const KerasH5& f, bool full_model) {
  ErrorSilencer quiet;
  const Ctx ctx{"write_keras_h5", path};
  validate(f, full_model, ctx);
  const fs::path target(path);
  std::error_code ec;
  if (target.filename().empty()) ctx.fail("path has no file name", false);
  if (fs::is_directory(target, ec)) ctx.fail("is a directory", false);
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  if (!fs::is_directory(dir, ec)) ctx.fail("directory '" + dir.string() + "' does not exist", false);
  const std::string backend = f.backend.empty() ? "tensorflow" : f.backend;
  const std::string version = f.keras_version.empty() ? "2.2.4" : f.keras_version;

  // Written to a temporary file next to the target and renamed over it only
  // when complete. On any error `file` is closed first (declared last), then
  // the AtomicFile removes the temporary file; the target is left untouched.
  AtomicFile out(path);
  Hid file = h_file(H5Fcreate(out.tmp_path().c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (!file.ok()) ctx.fail("cannot create temporary file '" + out.tmp_path() + "' in '" + dir.string() + "'");
  {
    const hid_t root = file.get();
    if (!full_model) {
      // weights at the root (Keras load_weights() layout); a training_config
      // and optimizer_weights may ride along (estimator checkpoints), which
      // Keras's load_weights() ignores
      write_layers(root, f, backend, version, ctx);
      if (!f.training_config.empty()) write_scalar_string(root, "training_config", f.training_config, ctx);
    } else {
      write_scalar_string(root, "keras_version", version, ctx);
      write_scalar_string(root, "backend", backend, ctx);
      write_scalar_string(root, "model_config", f.model_config, ctx);
      if (!f.training_config.empty()) write_scalar_string(root, "training_config", f.training_config, ctx);
      {
        Hid mw = h_group(H5Gcreate2(root, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
        if (!mw.ok()) ctx.fail("cannot create group 'model_weights'");
        write_layers(mw.get(), f, backend, version, ctx);
      }
    }
    if (!f.optimizer_weights.empty()) {
      Hid og = h_group(H5Gcreate2(root, "optimizer_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
      if (!og.ok()) ctx.fail("cannot create group 'optimizer_weights'");
      std::vector<std::string> wnames;
      for (const H5Weight& w : f.optimizer_weights) wnames.push_back(w.name);
      write_list_attr(og.get(), "weight_names", wnames, ctx);
      for (const H5Weight& w : f.optimizer_weights) write_weight(og.get(), w.name, w, ctx);
    }
    if (!file.close_checked()) ctx.fail("cannot flush/close temporary file '" + out.tmp_path() + "'");
    out.commit();  // fsync + rename over the target
  }
  H5Eclear2(H5E_DEFAULT);
}

}  // namespace kn
