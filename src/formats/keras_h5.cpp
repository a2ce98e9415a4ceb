// Keras HDF5 reader on the HDF5 C API. See keras_h5.h for the format; the
// writer is keras_h5_write.cpp, the shared glue h5_glue.h.
#include "keras_h5.h"

#include <hdf5.h>

#include "h5_glue.h"
#include "h5_guard.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

namespace kn {
namespace {

using namespace h5;
namespace fs = std::filesystem;

// ---------------------------------------------------------------- reading

// Reads a string attribute: scalar or 1-D, fixed-length (NULL/space padded or
// NUL-terminated) or variable-length. An attribute without elements reads as
// an empty list whatever its type (h5py stores [] as float64 (0,)).
std::vector<std::string> read_string_attr(hid_t obj, const std::string& name, const Ctx& ctx) {
  const std::string where = "attribute '" + name + "' of '" + obj_name(obj) + "'";
  Hid attr = h_attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  if (!attr.ok()) ctx.fail("cannot open " + where);
  Hid ftype = h_type(H5Aget_type(attr.get()));
  Hid space = h_space(H5Aget_space(attr.get()));
  if (!ftype.ok() || !space.ok()) ctx.fail("cannot query " + where);
  hssize_t npts = H5Sget_simple_extent_npoints(space.get());
  if (npts < 0) ctx.fail("cannot query size of " + where);
  std::vector<std::string> out;
  if (npts == 0 || H5Sget_simple_extent_type(space.get()) == H5S_NULL) return out;
  if (H5Tget_class(ftype.get()) != H5T_STRING) ctx.fail(where + " is not a string attribute", false);
  const size_t n = static_cast<size_t>(npts);
  const H5T_cset_t cset = H5Tget_cset(ftype.get());
  const bool vlen = H5Tis_variable_str(ftype.get()) > 0;
  // Every element takes at least 8 bytes of the file (a heap reference) when
  // variable-length, `size` bytes when fixed: larger counts are false claims.
  const uint64_t elem = vlen ? 8 : std::max<uint64_t>(H5Tget_size(ftype.get()), 1);
  if (static_cast<uint64_t>(npts) > ctx.file_size / elem)
    ctx.fail(where + " declares " + std::to_string(npts) + " strings of " + std::to_string(elem) +
                 " bytes, more than the file's " + std::to_string(ctx.file_size) + " bytes can hold",
             false);
  if (vlen) {
    Hid mtype = h_type(H5Tcopy(H5T_C_S1));
    H5Tset_size(mtype.get(), H5T_VARIABLE);
    H5Tset_cset(mtype.get(), cset);
    std::vector<char*> ptrs(n, nullptr);
    if (H5Aread(attr.get(), mtype.get(), ptrs.data()) < 0) ctx.fail("cannot read " + where);
    out.reserve(n);
    for (char* p : ptrs) out.emplace_back(p ? p : "");
#if H5_VERSION_GE(1, 12, 0)
    H5Treclaim(mtype.get(), space.get(), H5P_DEFAULT, ptrs.data());
#else
    H5Dvlen_reclaim(mtype.get(), space.get(), H5P_DEFAULT, ptrs.data());
#endif
  } else {
    const size_t sz = H5Tget_size(ftype.get());
    if (sz == 0) ctx.fail("cannot query element size of " + where);
    const H5T_str_t pad = H5Tget_strpad(ftype.get());
    Hid mtype = h_type(H5Tcopy(H5T_C_S1));
    H5Tset_size(mtype.get(), sz);
    H5Tset_strpad(mtype.get(), pad);
    H5Tset_cset(mtype.get(), cset);
    std::vector<char> buf(n * sz, '\0');  // (n, sz) bytes
    if (H5Aread(attr.get(), mtype.get(), buf.data()) < 0) ctx.fail("cannot read " + where);
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      const char* s = buf.data() + i * sz;
      size_t len = sz;
      if (pad == H5T_STR_SPACEPAD) {
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\0')) --len;
      } else {
        const void* z = std::memchr(s, '\0', sz);
        if (z) len = static_cast<size_t>(static_cast<const char*>(z) - s);
      }
      out.emplace_back(s, len);
    }
  }
  return out;
}

// Reads a list attribute as Keras's load_attributes_from_hdf5_group does:
// `name` itself, else the chunks `name0`, `name1`, ... Returns false if
// neither exists.
bool read_list_attr(hid_t obj, const std::string& name, const Ctx& ctx, std::vector<std::string>* out) {
  out->clear();
  if (attr_exists(obj, name)) {
    *out = read_string_attr(obj, name, ctx);
    return true;
  }
  int chunk = 0;
  for (;; ++chunk) {
    const std::string cname = name + std::to_string(chunk);
    if (!attr_exists(obj, cname)) break;
    std::vector<std::string> part = read_string_attr(obj, cname, ctx);
    out->insert(out->end(), part.begin(), part.end());
  }
  return chunk > 0;
}

// Optional scalar string attribute ("" when absent or empty).
std::string read_scalar_string(hid_t obj, const std::string& name, const Ctx& ctx) {
  if (!attr_exists(obj, name)) return "";
  std::vector<std::string> v = read_string_attr(obj, name, ctx);
  if (v.empty()) return "";
  if (v.size() != 1)
    ctx.fail("attribute '" + name + "' of '" + obj_name(obj) + "' has " + std::to_string(v.size()) +
                 " strings, expected 1",
             false);
  return v[0];
}

std::string dtype_name(hid_t t) {
  const size_t bits = H5Tget_size(t) * 8;
  switch (H5Tget_class(t)) {
    case H5T_FLOAT: return "float" + std::to_string(bits);
    case H5T_INTEGER:
      return (H5Tget_sign(t) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits);
    case H5T_STRING: return "string";
    case H5T_ENUM: return "enum (e.g. bool)";
    case H5T_COMPOUND: return "compound";
    default: return "class " + std::to_string(static_cast<int>(H5Tget_class(t)));
  }
}

// Before anything is allocated for dataset `d`: the bytes it declares
// (shape x element size) must really be stored in the file. Contiguous and
// compact data must be fully present (and, when contiguous, inside the file);
// chunked data may be compressed, at most 1100:1 (deflate's limit is ~1032:1).
// A dataset that was never written (reads as fill values) is rejected.
void check_storage(hid_t d, hid_t ftype, const std::string& where, const std::string& name, const Shape& shape,
                   const Ctx& ctx) {
  const uint64_t esz = H5Tget_size(ftype);
  int64_t declared = 0;
  if (esz == 0 || !size_mul(shape_numel(shape), static_cast<int64_t>(esz), &declared))
    ctx.fail(where + " (weight '" + name + "') declares shape " + dims_text(shape) + " of " + std::to_string(esz) +
                 "-byte elements, more than 2^36 bytes",
             false);
  const uint64_t stored = H5Dget_storage_size(d);
  Hid dcpl = h_plist(H5Dget_create_plist(d));
  if (!dcpl.ok()) ctx.fail("cannot query the storage layout of " + where);
  const H5D_layout_t layout = H5Pget_layout(dcpl.get());
  const int nfilters = H5Pget_nfilters(dcpl.get());
  const std::string claim = where + " (weight '" + name + "') declares shape " + dims_text(shape) + " (" +
                            std::to_string(declared) + " bytes) but ";
  if (stored == 0) ctx.fail(claim + "has no data stored in the file", false);
  if (stored > ctx.file_size)
    ctx.fail(claim + "claims " + std::to_string(stored) + " bytes of storage in a file of " +
                 std::to_string(ctx.file_size) + " bytes",
             false);
  const uint64_t ratio = (layout == H5D_CHUNKED && nfilters > 0) ? 1100 : 1;
  if (static_cast<uint64_t>(declared) > stored * ratio)
    ctx.fail(claim + "only " + std::to_string(stored) + " bytes are stored" +
                 (ratio > 1 ? " (even compressed, that is too few)" : ""),
             false);
  if (layout == H5D_CONTIGUOUS) {
    const haddr_t off = H5Dget_offset(d);
    if (off == HADDR_UNDEF || off > ctx.file_size || static_cast<uint64_t>(declared) > ctx.file_size - off)
      ctx.fail(claim + "its data would lie outside the file (" + std::to_string(ctx.file_size) + " bytes)", false);
  }
}

// Reads dataset `dname` (a path relative to `loc`) into a weight called `name`.
H5Weight read_weight(hid_t loc, const std::string& dname, const std::string& name, const Ctx& ctx) {
  const std::string where = "dataset '" + obj_name(loc) + (obj_name(loc) == "/" ? "" : "/") + dname + "'";
  if (!link_exists(loc, dname)) {
    H5Eclear2(H5E_DEFAULT);
    ctx.fail(where + " (listed in weight_names) is missing", false);
  }
  Hid d = h_dset(H5Dopen2(loc, dname.c_str(), H5P_DEFAULT));
  if (!d.ok()) ctx.fail("cannot open " + where);
  Hid ftype = h_type(H5Dget_type(d.get()));
  Hid space = h_space(H5Dget_space(d.get()));
  if (!ftype.ok() || !space.ok()) ctx.fail("cannot query " + where);
  H5Weight w;
  w.name = name;
  w.dtype = dtype_name(ftype.get());
  const H5T_class_t cls = H5Tget_class(ftype.get());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER)
    ctx.fail(where + " has unsupported element type " + w.dtype + " (expected float or integer)", false);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) ctx.fail("cannot query rank of " + where);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  for (hsize_t v : dims) w.shape.push_back(static_cast<int64_t>(v));
  const int64_t numel = shape_numel_or_neg(w.shape);
  if (numel < 0)
    ctx.fail(where + " (weight '" + name + "') declares shape " + dims_text(w.shape) +
                 ", more than 2^36 elements",
             false);
  const hssize_t npts = H5Sget_simple_extent_npoints(space.get());
  if (npts < 0 || npts != numel) ctx.fail("inconsistent dataspace of " + where);
  const size_t n = static_cast<size_t>(npts);
  if (n > 0) check_storage(d.get(), ftype.get(), where, name, w.shape, ctx);
  w.data.resize(n);  // row-major, shape w.shape
  if (n == 0) return w;
  if (cls == H5T_INTEGER) {
    w.int_data.resize(n);  // same layout as data
    if (H5Dread(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, w.int_data.data()) < 0)
      ctx.fail("cannot read " + where + " (" + w.dtype + ")");
    for (size_t i = 0; i < n; ++i) w.data[i] = static_cast<float>(w.int_data[i]);
  } else {
    if (H5Dread(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, w.data.data()) < 0)
      ctx.fail("cannot read " + where + " (" + w.dtype + ")");
  }
  return w;
}

// Reads the weights-only layout found in group `g` (the root or /model_weights).
std::vector<H5Layer> read_layers(hid_t g, const Ctx& ctx) {
  std::vector<std::string> layer_names;
  if (!read_list_attr(g, "layer_names", ctx, &layer_names))
    ctx.fail("attribute 'layer_names' missing in group '" + obj_name(g) + "'", false);
  std::vector<H5Layer> layers;
  layers.reserve(layer_names.size());
  for (const std::string& lname : layer_names) {
    if (lname.empty() || !link_exists(g, lname)) {
      H5Eclear2(H5E_DEFAULT);
      ctx.fail("group for layer '" + lname + "' (listed in layer_names of '" + obj_name(g) + "') is missing", false);
    }
    Hid lg = h_group(H5Gopen2(g, lname.c_str(), H5P_DEFAULT));
    if (!lg.ok()) ctx.fail("cannot open group of layer '" + lname + "'");
    std::vector<std::string> wnames;
    if (!read_list_attr(lg.get(), "weight_names", ctx, &wnames))
      ctx.fail("attribute 'weight_names' missing in group '" + obj_name(lg.get()) + "' (layer '" + lname + "')",
               false);
    H5Layer layer;
    layer.name = lname;
    layer.weights.reserve(wnames.size());
    for (const std::string& wn : wnames) {
      if (wn.empty()) ctx.fail("layer '" + lname + "' has an empty weight name", false);
      layer.weights.push_back(read_weight(lg.get(), wn, wn, ctx));
    }
    layers.push_back(std::move(layer));
  }
  return layers;
}

}  // namespace

// ---------------------------------------------------------------- public API

KerasH5 read_keras_h5_in_process(const std::string& path) {
  ErrorSilencer quiet;
  Ctx ctx{"read_keras_h5", path};
  std::error_code ec;
  if (!fs::exists(path, ec)) ctx.fail("file does not exist", false);
  if (fs::is_directory(path, ec)) ctx.fail("is a directory, not a file", false);
  ctx.file_size = fs::file_size(path, ec);
  if (ec) ctx.fail("cannot query the file size: " + ec.message(), false);
  // libhdf5 1.10 trusts global heap collections (crash / endless loop on bad
  // ones): check them before libhdf5 sees the file.
  try {
    check_h5_global_heaps(path);
  } catch (const Error& e) {
    ctx.fail(e.what(), false);
  }
  const htri_t is_h5 = H5Fis_hdf5(path.c_str());
  if (is_h5 < 0) ctx.fail("cannot open file");
  if (is_h5 == 0) ctx.fail("not an HDF5 file", false);
  Hid file = h_file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.ok()) ctx.fail("cannot open HDF5 file");
  const hid_t root = file.get();

  KerasH5 out;
  out.keras_version = read_scalar_string(root, "keras_version", ctx);
  out.backend = read_scalar_string(root, "backend", ctx);
  out.model_config = read_scalar_string(root, "model_config", ctx);
  out.training_config = read_scalar_string(root, "training_config", ctx);

  // Keras's rule: weights live in /model_weights unless the root itself has layer_names.
  const bool root_has_names = attr_exists(root, "layer_names") || attr_exists(root, "layer_names0");
  if (!root_has_names && link_exists(root, "model_weights")) {
    Hid mw = h_group(H5Gopen2(root, "model_weights", H5P_DEFAULT));
    if (!mw.ok()) ctx.fail("cannot open group '/model_weights'");
    out.full_model = true;
    if (out.keras_version.empty()) out.keras_version = read_scalar_string(mw.get(), "keras_version", ctx);
    if (out.backend.empty()) out.backend = read_scalar_string(mw.get(), "backend", ctx);
    out.layers = read_layers(mw.get(), ctx);
  } else if (root_has_names) {
    out.layers = read_layers(root, ctx);
  } else {
    H5Eclear2(H5E_DEFAULT);
    ctx.fail("no 'layer_names' attribute at the root and no '/model_weights' group: not a Keras weights file",
             false);
  }

  if (link_exists(root, "optimizer_weights")) {
    Hid og = h_group(H5Gopen2(root, "optimizer_weights", H5P_DEFAULT));
    if (!og.ok()) ctx.fail("cannot open group '/optimizer_weights'");
    std::vector<std::string> wnames;
    if (!read_list_attr(og.get(), "weight_names", ctx, &wnames))
      ctx.fail("attribute 'weight_names' missing in group '/optimizer_weights'", false);
    out.optimizer_weights.reserve(wnames.size());
    for (const std::string& wn : wnames) {
      if (wn.empty()) ctx.fail("an optimizer weight has an empty name", false);
      out.optimizer_weights.push_back(read_weight(og.get(), wn, wn, ctx));
    }
  }
  H5Eclear2(H5E_DEFAULT);
  return out;
}

}  // namespace kn
