// Keras HDF5 reader/writer on the HDF5 C API. See keras_h5.h for the format.
#include "keras_h5.h"

#include <hdf5.h>

#include "atomic_file.h"
#include "h5_guard.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <system_error>
#include <utility>

namespace kn {
namespace {

namespace fs = std::filesystem;

// Keras's limit for one attribute (HDF5 object header limit minus headroom).
constexpr size_t kAttrLimit = 64512;

// ---------------------------------------------------------------- HDF5 glue

// Switches HDF5's automatic error printing off for the lifetime of the object
// and restores the previous handler afterwards.
class ErrorSilencer {
 public:
  ErrorSilencer() {
    H5Eget_auto2(H5E_DEFAULT, &fn_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~ErrorSilencer() { H5Eset_auto2(H5E_DEFAULT, fn_, data_); }
  ErrorSilencer(const ErrorSilencer&) = delete;
  ErrorSilencer& operator=(const ErrorSilencer&) = delete;

 private:
  H5E_auto2_t fn_ = nullptr;
  void* data_ = nullptr;
};

herr_t walk_cb(unsigned, const H5E_error2_t* e, void* out) {
  if (e && e->desc && e->desc[0]) *static_cast<std::string*>(out) = e->desc;  // walked downward: ends at the deepest
  return 0;
}

// Innermost message on HDF5's error stack (then clears it), as " (HDF5: ...)".
std::string h5_detail() {
  std::string msg;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, &msg);
  H5Eclear2(H5E_DEFAULT);
  if (msg.empty()) return "";
  return " (HDF5: " + msg + ")";
}

// Owning hid_t with the matching close function.
class Hid {
 public:
  Hid() = default;
  Hid(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Hid(Hid&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Hid& operator=(Hid&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      close_ = o.close_;
      o.id_ = -1;
    }
    return *this;
  }
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  ~Hid() { reset(); }
  void reset() {
    if (id_ >= 0 && close_) close_(id_);
    id_ = -1;
  }
  // Closes now and reports failure (used for the file, where close flushes).
  bool close_checked() {
    herr_t r = (id_ >= 0 && close_) ? close_(id_) : 0;
    id_ = -1;
    return r >= 0;
  }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

Hid h_type(hid_t id) { return Hid(id, H5Tclose); }
Hid h_space(hid_t id) { return Hid(id, H5Sclose); }
Hid h_attr(hid_t id) { return Hid(id, H5Aclose); }
Hid h_group(hid_t id) { return Hid(id, H5Gclose); }
Hid h_dset(hid_t id) { return Hid(id, H5Dclose); }
Hid h_plist(hid_t id) { return Hid(id, H5Pclose); }
Hid h_file(hid_t id) { return Hid(id, H5Fclose); }

// Error context: "<op> '<path>': <what>". file_size bounds every size the
// file declares (read only).
struct Ctx {
  std::string op, path;
  uint64_t file_size = 0;
  [[noreturn]] void fail(const std::string& what, bool with_h5 = true) const {
    throw Error(op + " '" + path + "': " + what + (with_h5 ? h5_detail() : std::string()));
  }
};

// "/" for the root, else the group's name in the file (for messages).
std::string obj_name(hid_t obj) {
  ssize_t n = H5Iget_name(obj, nullptr, 0);
  if (n <= 0) return "?";
  std::string s(static_cast<size_t>(n) + 1, '\0');
  H5Iget_name(obj, &s[0], s.size());
  s.resize(static_cast<size_t>(n));
  return s;
}

bool attr_exists(hid_t obj, const std::string& name) {
  return H5Aexists(obj, name.c_str()) > 0;
}

bool link_exists(hid_t loc, const std::string& name) {
  return H5Lexists(loc, name.c_str(), H5P_DEFAULT) > 0;
}

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
