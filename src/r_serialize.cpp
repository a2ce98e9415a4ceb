// saveRDS() / serialize() / save() support for models. Every R model object
// holds, next to its engine handle, a "model state": a raw vector of the
// ALTREP class `kn_model_state` whose contents are computed when R reads
// them. When R serializes the object (saveRDS, save, serialize, parallel
// workers, knitr's cache...), the state's serialized form is the current
// model as a Keras HDF5 file (architecture with trainable flags, weights,
// compile settings, optimizer state): nothing is kept or refreshed while the
// model is used, and the saved copy is always current. Reading gives back a
// plain raw vector holding those bytes; the R side (model_ptr() in
// R/model-creation.R) rebuilds the engine model from it on first use.
//
// A model without layers has an empty state. R's serialization format
// version 2 (no ALTREP support) reads the same bytes through Length/Dataptr.
#include <Rcpp.h>
#include <R_ext/Altrep.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "keras_h5.h"
#include "keras_weights.h"
#include "r_handles.h"

using namespace Rcpp;
using namespace knr;

namespace {

R_altrep_class_t state_class;

// data1: external pointer to the ModelHolder. data2: list(sequential
// (logical), bytes of the last Length()/Dataptr() call or NULL).
ModelHolder* holder(SEXP x) {
  SEXP p = R_altrep_data1(x);
  return TYPEOF(p) == EXTPTRSXP ? static_cast<ModelHolder*>(R_ExternalPtrAddr(p)) : nullptr;
}
bool sequential(SEXP x) { return LOGICAL(VECTOR_ELT(R_altrep_data2(x), 0))[0] == TRUE; }

// A file name in the session's temporary directory, unique in this process.
std::string temp_file() {
  static std::atomic<long> n{0};
  std::filesystem::path dir = std::filesystem::temp_directory_path();
  return (dir / ("kn_state_" + std::to_string(getpid()) + "_" + std::to_string(n++) + ".h5")).string();
}

std::string slurp(const std::string& path) {
  std::error_code ec;
  const uintmax_t n = std::filesystem::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  std::string bytes(ec ? 0 : static_cast<size_t>(n), '\0');
  if (ec || !in.read(&bytes[0], static_cast<std::streamsize>(bytes.size())))
    throw kn::Error("cannot read back the temporary file '" + path + "'");
  return bytes;
}

// The model as the bytes of a Keras HDF5 file ("" for a model without layers).
std::string model_bytes(ModelHolder& h, bool seq) {
  if (h.model.graph.layers().empty()) return std::string();
  kn::KerasH5 f = kn::model_to_keras_h5(h.model, seq, h.model.optimizer() ? &h.compiled : nullptr);
  std::string path = temp_file();
  std::string bytes;
  try {
    kn::write_keras_h5(path, f, true);
    bytes = slurp(path);
  } catch (...) {
    std::remove(path.c_str());
    throw;
  }
  std::remove(path.c_str());
  return bytes;
}

// Current bytes of state `x` as a new raw vector; an R error (never a C++
// exception) when the model cannot be written.
SEXP state_bytes(SEXP x) {
  char msg[2048] = "";
  SEXP out = R_NilValue;
  {
    std::string bytes;
    ModelHolder* h = holder(x);
    try {
      if (!h) throw kn::Error("the model's engine handle is no longer valid");
      bytes = model_bytes(*h, sequential(x));
    } catch (const std::exception& e) {
      std::snprintf(msg, sizeof msg, "%s", e.what());
    }
    if (!msg[0]) {
      out = Rf_allocVector(RAWSXP, static_cast<R_xlen_t>(bytes.size()));
      if (!bytes.empty()) std::memcpy(RAW(out), bytes.data(), bytes.size());
    }
  }
  if (msg[0]) Rf_error("cannot save the model: %s", msg);
  return out;
}

// ---- ALTREP methods

SEXP state_serialized_state(SEXP x) { return state_bytes(x); }

// The bytes come back as a plain raw vector: the model is rebuilt from them
// on first use (model_ptr()), so reading costs nothing until then and a
// damaged state gives its error where the model is used.
SEXP state_unserialize(SEXP, SEXP state) { return state; }

SEXP state_cache(SEXP x) {
  SEXP bytes = PROTECT(state_bytes(x));
  SET_VECTOR_ELT(R_altrep_data2(x), 1, bytes);
  UNPROTECT(1);
  return bytes;
}

// Length and contents for code that reads the vector itself (serialization
// format version 2, length(), as.raw()...): each Length() takes a fresh copy
// that the following Dataptr() returns.
R_xlen_t state_length(SEXP x) { return XLENGTH(state_cache(x)); }

void* state_dataptr(SEXP x, Rboolean) {
  SEXP bytes = VECTOR_ELT(R_altrep_data2(x), 1);
  if (bytes == R_NilValue) bytes = state_cache(x);
  return RAW(bytes);
}

const void* state_dataptr_or_null(SEXP x) {
  SEXP bytes = VECTOR_ELT(R_altrep_data2(x), 1);
  return bytes == R_NilValue ? nullptr : RAW(bytes);
}

SEXP new_state(SEXP ptr, bool seq) {
  SEXP info = PROTECT(Rf_allocVector(VECSXP, 2));
  SET_VECTOR_ELT(info, 0, Rf_ScalarLogical(seq));
  SEXP out = R_new_altrep(state_class, ptr, info);
  UNPROTECT(1);
  return out;
}

// A copy of the state refers to the same model (models are references).
SEXP state_duplicate(SEXP x, Rboolean) { return new_state(R_altrep_data1(x), sequential(x)); }

Rboolean state_inspect(SEXP x, int, int, int, void (*)(SEXP, int, int, int)) {
  ModelHolder* h = holder(x);
  Rprintf(" kerasnative model state (%s, %s)\n", h ? h->model.name.c_str() : "no engine model",
          sequential(x) ? "sequential" : "functional");
  return TRUE;
}

bool is_state(SEXP x) { return ALTREP(x) && R_altrep_inherits(x, state_class); }

}  // namespace

// Registers the ALTREP class when the package's shared library is loaded.
// [[Rcpp::init]]
void kn_register_model_state(DllInfo* dll) {
  state_class = R_make_altraw_class("kn_model_state", "kerasnative", dll);
  R_set_altrep_Serialized_state_method(state_class, state_serialized_state);
  R_set_altrep_Unserialize_method(state_class, state_unserialize);
  R_set_altrep_Length_method(state_class, state_length);
  R_set_altrep_Duplicate_method(state_class, state_duplicate);
  R_set_altrep_Inspect_method(state_class, state_inspect);
  R_set_altvec_Dataptr_method(state_class, state_dataptr);
  R_set_altvec_Dataptr_or_null_method(state_class, state_dataptr_or_null);
}

// The state object of model handle `ptr`.
// [[Rcpp::export]]
SEXP cpp_model_state(SEXP ptr, bool sequential) {
  if (TYPEOF(ptr) != EXTPTRSXP || !R_ExternalPtrAddr(ptr)) stop("cpp_model_state: not a live model handle");
  return new_state(ptr, sequential);
}

// The live engine handle of a state object, or NULL for a state read back
// from a file (a plain raw vector).
// [[Rcpp::export]]
SEXP cpp_model_state_ptr(SEXP state) {
  if (!is_state(state) || !holder(state)) return R_NilValue;
  return R_altrep_data1(state);
}

// Rebuilds an engine model from the bytes of a state read back by readRDS()
// / unserialize(): list(ptr, sequential). Empty bytes: a new empty model
// named `name`. Throws naming what is wrong with the bytes.
// [[Rcpp::export]]
List cpp_model_from_state(RawVector bytes, std::string name, bool sequential, double seed) {
  auto h = std::make_unique<ModelHolder>();
  h->model.rng.seed(seed_of(seed));
  if (bytes.size() == 0) {
    if (!sequential) stop("the saved state of functional model '%s' is empty", name);
    h->model.name = name;
    return List::create(_["ptr"] = XPtr<ModelHolder>(h.release(), true), _["sequential"] = true);
  }
  std::string path = temp_file();
  kn::KerasH5 f;
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(RAW(bytes)), bytes.size());
    if (!out.good()) { std::remove(path.c_str()); stop("cannot write the model state to '%s'", path); }
  }
  try {
    f = kn::read_keras_h5(path);
  } catch (...) {
    std::remove(path.c_str());
    throw;
  }
  std::remove(path.c_str());
  bool seq = kn::model_from_keras_h5(f, h->model, h->compiled);
  return List::create(_["ptr"] = XPtr<ModelHolder>(h.release(), true), _["sequential"] = seq);
}
