// Keras HDF5 files (save_weights / model.save of Keras 2.x), read and written
// with the HDF5 C library. Engine-agnostic: plain structs in, plain structs out;
// this header does not include hdf5.h.
//
// Reading accepts every Keras 2 flavour seen in practice:
//   * weights-only files (root attrs `layer_names`, `backend`, `keras_version`,
//     one group per layer with attr `weight_names`, datasets at
//     `<layer>/<weight name>` where '/' in the weight name means nested groups);
//   * full models (root attrs `model_config`, `training_config`, ...; the
//     weights-only layout inside group `/model_weights`; optional group
//     `/optimizer_weights` with attr `weight_names`);
//   * string attributes stored fixed-length (numpy 'S') or variable-length
//     (ASCII or UTF-8), scalar or 1-D;
//   * list attributes split into chunks `<name>0`, `<name>1`, ... (Keras does
//     this when one attribute would exceed 64512 bytes);
//   * empty lists stored as a zero-length float64 array (what h5py makes of []);
//   * weight datasets of any float (16/32/64 bit) or integer type, scalar or
//     N-D. Groups not listed in `layer_names` (e.g. Keras 2.12's
//     `top_level_model_weights`) are ignored.
//
// Writing produces exactly the layout and attribute types of Keras 2.2.4 with
// h5py 2.x (see write_keras_h5).
//
// HDF5 error printing is switched off during each call (the previous handler
// is restored afterwards); HDF5's innermost message is appended to kn::Error
// messages instead. Not thread-safe with respect to other concurrent HDF5 use
// unless the HDF5 library itself was built thread-safe.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tensor.h"

namespace kn {

// One stored array.
struct H5Weight {
  std::string name;         // full Keras name as listed in weight_names, e.g. "dense_1/kernel:0"
  Shape shape;              // dataset shape; {} for a scalar (e.g. Adam/iterations:0)
  std::vector<float> data;  // row-major values converted to float32, size == shape_numel(shape)
  // Element type in the file: "float16", "float32", "float64", "int8".."int64",
  // "uint8".."uint64". On write: "" or "float32" (default), "float16",
  // "float64", "int32" or "int64".
  std::string dtype = "float32";
  // Exact values for integer datasets (same size as data); empty for floats.
  // On write of an integer dtype it is used when its size matches, otherwise
  // data is rounded to the nearest integer.
  std::vector<int64_t> int_data;
};

// One layer group: its weights in weight_names order (may be empty).
struct H5Layer {
  std::string name;
  std::vector<H5Weight> weights;
};

// Everything a Keras HDF5 file holds.
struct KerasH5 {
  std::string keras_version = "2.2.4";  // root attr (falls back to model_weights attrs on read)
  std::string backend = "tensorflow";   // root attr
  std::string model_config;             // JSON text; empty if the file has none (weights-only)
  std::string training_config;          // JSON text; empty if none
  std::vector<H5Layer> layers;          // in layer_names order
  std::vector<H5Weight> optimizer_weights;  // in /optimizer_weights weight_names order; empty if none
  // Set by read_keras_h5: true when the weights were found in a
  // `/model_weights` group (model.save layout). Ignored by write_keras_h5.
  bool full_model = false;
};

// Reads a Keras HDF5 file. Throws kn::Error naming the path and what failed:
// missing file, not an HDF5 file, missing `layer_names` (and no
// `/model_weights` group), missing layer group, missing/unreadable dataset
// (with its path inside the file), size mismatches, unsupported types.
// Hostile files: the global heap collections are checked first (h5_guard.h)
// because libhdf5 1.10 crashes or hangs on malformed ones; every size the file
// declares is checked before anything is allocated for it - a dataset's shape
// against the 2^36-element limit and against the bytes it really stores (in
// the file; chunked data compressed at most 1100:1), a string attribute's
// count against the file size - so allocations are bounded by the real file.
// On POSIX systems the reading runs in a child process (keras_h5_isolated.cpp):
// libhdf5 1.10 crashes on some malformed metadata the checks above cannot see,
// and such a crash, or a read taking over 60 s + 1 s per MB, then becomes a
// kn::Error naming the file instead of killing the calling process (R).
KerasH5 read_keras_h5(const std::string& path);
// The same reading in the calling process (what the child runs; for fuzzing).
KerasH5 read_keras_h5_in_process(const std::string& path);

// Writes `f` as Keras 2.2.4 does.
//   full_model == false (save_weights): root attrs `layer_names`, `backend`,
//     `keras_version`; one group per layer (also layers without weights) with
//     attr `weight_names`; datasets `<layer>/<weight name>`. model_config,
//     training_config and optimizer_weights are not written.
//   full_model == true (model.save): root attrs `keras_version`, `backend`,
//     `model_config` (required, non-empty), `training_config` (only if
//     non-empty); group `model_weights` holding the weights-only layout (with
//     its own `layer_names`, `backend`, `keras_version`); group
//     `optimizer_weights` with attr `weight_names` and one dataset per weight,
//     written only when optimizer_weights is non-empty.
// Attribute types as h5py 2.x writes them for Keras 2.2.4: scalar strings are
// variable-length ASCII; name lists are fixed-length NULL-padded ASCII arrays
// (element size = longest name), an empty list is a float64 array of shape
// (0,), and a list whose bytes would exceed 64512 is split into `<name>0`,
// `<name>1`, ... like numpy.array_split. Empty backend/keras_version are
// written as "tensorflow"/"2.2.4".
// Atomic: the file is written to a temporary file in the same directory and
// renamed over `path` only on success; on any error the temporary file is
// removed, an existing `path` is left untouched, and kn::Error is thrown.
// Validation (before anything is written): layer names non-empty, unique and
// without '/'; weight names non-empty; data.size() == shape_numel(shape).
void write_keras_h5(const std::string& path, const KerasH5& f, bool full_model);

}  // namespace kn
