// Internal to src/formats: the HDF5 C API glue shared by the Keras HDF5
// reader (keras_h5.cpp) and writer (keras_h5_write.cpp): owning handles,
// error-stack text, and the error context every message is built from.
#ifndef KN_FORMATS_H5_GLUE_H
#define KN_FORMATS_H5_GLUE_H

#include <hdf5.h>

#include <cstdint>
#include <string>

#include "tensor.h"

namespace kn {
namespace h5 {
// Keras's limit for one attribute (HDF5 object header limit minus headroom).
inline constexpr size_t kAttrLimit = 64512;

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

inline herr_t walk_cb(unsigned, const H5E_error2_t* e, void* out) {
  if (e && e->desc && e->desc[0]) *static_cast<std::string*>(out) = e->desc;  // walked downward: ends at the deepest
  return 0;
}

// Innermost message on HDF5's error stack (then clears it), as " (HDF5: ...)".
inline std::string h5_detail() {
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

inline Hid h_type(hid_t id) { return Hid(id, H5Tclose); }
inline Hid h_space(hid_t id) { return Hid(id, H5Sclose); }
inline Hid h_attr(hid_t id) { return Hid(id, H5Aclose); }
inline Hid h_group(hid_t id) { return Hid(id, H5Gclose); }
inline Hid h_dset(hid_t id) { return Hid(id, H5Dclose); }
inline Hid h_plist(hid_t id) { return Hid(id, H5Pclose); }
inline Hid h_file(hid_t id) { return Hid(id, H5Fclose); }

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
inline std::string obj_name(hid_t obj) {
  ssize_t n = H5Iget_name(obj, nullptr, 0);
  if (n <= 0) return "?";
  std::string s(static_cast<size_t>(n) + 1, '\0');
  H5Iget_name(obj, &s[0], s.size());
  s.resize(static_cast<size_t>(n));
  return s;
}

inline bool attr_exists(hid_t obj, const std::string& name) {
  return H5Aexists(obj, name.c_str()) > 0;
}

inline bool link_exists(hid_t loc, const std::string& name) {
  return H5Lexists(loc, name.c_str(), H5P_DEFAULT) > 0;
}

}  // namespace h5
}  // namespace kn

#endif  // KN_FORMATS_H5_GLUE_H
