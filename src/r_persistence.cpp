// Rcpp glue for model persistence: Keras HDF5 files (weights and full
// models), model configs (JSON) and the optimizer state. The file format
// lives in formats/keras_h5.*, the mapping between engine models and what
// Keras writes (model_config / training_config JSON, weight and optimizer
// names) in nn/keras_config.* and nn/keras_weights.*; this file only converts
// R arguments.
#include <Rcpp.h>
#include <hdf5.h>

#include <memory>
#include <string>
#include <vector>

#include "keras_config.h"
#include "keras_h5.h"
#include "keras_weights.h"
#include "model.h"
#include "r_convert.h"
#include "r_handles.h"

using namespace Rcpp;
using namespace knr;

namespace {

struct H5Holder { kn::KerasH5 f; };

kn::KerasH5& h5_of(SEXP p) {
  XPtr<H5Holder> h(p);
  if (!h.get()) stop("invalid HDF5 handle");
  return h->f;
}

// custom_objects from R: class name -> supported class name, or an R
// function(config_json) returning a layer handle.
kn::CustomLayers custom_layers(const List& custom) {
  kn::CustomLayers out;
  if (custom.size() == 0) return out;
  CharacterVector nm = custom.names();
  for (R_xlen_t i = 0; i < custom.size(); ++i) {
    std::string cls = as<std::string>(nm[i]);
    SEXP v = custom[i];
    kn::CustomObject c;
    if (Rf_isFunction(v)) {
      Function f(v);
      c.build = [f](const kn::Json& cfg) { return layer_of(f(cfg.dump())); };
    } else if (TYPEOF(v) == STRSXP && Rf_length(v) == 1) {
      c.use_class = as<std::string>(v);
    }
    out[cls] = c;
  }
  return out;
}

kn::CompileArgs compile_args(CharacterVector loss, CharacterVector metrics, Nullable<NumericVector> loss_weights) {
  kn::CompileArgs a;
  a.losses = as<std::vector<std::string>>(loss);
  a.metrics = as<std::vector<std::string>>(metrics);
  if (loss_weights.isNotNull()) a.loss_weights = as<std::vector<double>>(NumericVector(loss_weights.get()));
  return a;
}

}  // namespace

// ---------------------------------------------------------------- exports

// Reads a Keras HDF5 file; returns its metadata and a handle on the arrays.
// [[Rcpp::export]]
List cpp_h5_read(std::string path) {
  auto h = std::make_unique<H5Holder>();
  h->f = kn::read_keras_h5(path);
  const kn::KerasH5& f = h->f;
  CharacterVector names(f.layers.size());
  List wnames(f.layers.size());
  for (size_t i = 0; i < f.layers.size(); ++i) {
    names[i] = f.layers[i].name;
    CharacterVector wn(f.layers[i].weights.size());
    for (size_t k = 0; k < f.layers[i].weights.size(); ++k) wn[k] = f.layers[i].weights[k].name;
    wnames[i] = wn;
  }
  CharacterVector onames(f.optimizer_weights.size());
  for (size_t k = 0; k < f.optimizer_weights.size(); ++k) onames[k] = f.optimizer_weights[k].name;
  return List::create(_["handle"] = XPtr<H5Holder>(h.release(), true), _["keras_version"] = f.keras_version,
                      _["backend"] = f.backend, _["model_config"] = f.model_config,
                      _["training_config"] = f.training_config, _["full_model"] = f.full_model,
                      _["layer_names"] = names, _["weight_names"] = wnames, _["optimizer_weight_names"] = onames);
}

// The arrays of one layer of a read file (R arrays, Keras shapes).
// [[Rcpp::export]]
List cpp_h5_layer_weights(SEXP h5, std::string layer) {
  const kn::KerasH5& f = h5_of(h5);
  for (const kn::H5Layer& l : f.layers) {
    if (l.name != layer) continue;
    List out(l.weights.size());
    CharacterVector nm(l.weights.size());
    for (size_t k = 0; k < l.weights.size(); ++k) {
      kn::Tensor t;
      t.shape = l.weights[k].shape;
      t.data = l.weights[k].data;
      out[k] = knr::tensor_to_r(t, true);
      nm[k] = l.weights[k].name;
    }
    out.attr("names") = nm;
    return out;
  }
  stop("the file has no layer '%s'", layer);
}

// One numeric dataset of any HDF5 file as an R array (row-major shape kept:
// x[i, j] is element (i, j)); for test fixtures that are not Keras files.
// [[Rcpp::export]]
SEXP cpp_h5_dataset(std::string path, std::string name) {
  H5E_auto2_t old_fn;
  void* old_data;
  H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) { H5Eset_auto2(H5E_DEFAULT, old_fn, old_data); stop("cannot open HDF5 file '%s'", path); }
  hid_t ds = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
  if (ds < 0) { H5Fclose(file); H5Eset_auto2(H5E_DEFAULT, old_fn, old_data); stop("'%s' has no dataset '%s'", path, name); }
  hid_t sp = H5Dget_space(ds);
  int nd = H5Sget_simple_extent_ndims(sp);
  std::vector<hsize_t> dims(std::max(nd, 0));
  if (nd > 0) H5Sget_simple_extent_dims(sp, dims.data(), nullptr);
  kn::Shape shape(dims.begin(), dims.end());
  std::vector<double> buf(static_cast<size_t>(kn::shape_numel(shape)));
  herr_t rc = buf.empty() ? 0 : H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
  H5Sclose(sp);
  H5Dclose(ds);
  H5Fclose(file);
  H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
  if (rc < 0) stop("cannot read dataset '%s' of '%s' as numbers", name, path);
  kn::Tensor t;
  t.shape = shape.empty() ? kn::Shape{1} : shape;
  t.data.assign(buf.begin(), buf.end());
  return knr::tensor_to_r(t, true);
}

// Keras model_config JSON of a model ({"class_name", "config"}), with
// keras_version/backend appended when `to_json` (model.to_json()).
// [[Rcpp::export]]
std::string cpp_model_config_json(SEXP model, bool sequential, bool to_json) {
  kn::Json j = kn::keras_model_config(model_of(model), sequential);
  if (to_json) {
    j.set("keras_version", "2.2.4");
    j.set("backend", "tensorflow");
  }
  return j.dump();
}

// Keras 2.2.4 training_config JSON from the engine optimizer and the compile
// arguments kept in R.
// [[Rcpp::export]]
std::string cpp_model_training_config(SEXP model, CharacterVector loss, CharacterVector metrics,
                                      Nullable<NumericVector> loss_weights) {
  kn::Json tc = kn::keras_training_config(model_of(model), compile_args(loss, metrics, loss_weights));
  return tc.is_null() ? "" : tc.dump();
}

// Writes the model as Keras 2.2.4 does: weights only (full = false) or the
// full model (architecture, training config, weights, optimizer state). With
// include_optimizer and a training_config, a weights-only file also holds the
// training_config and optimizer state (estimator checkpoints of graphs with ops).
// [[Rcpp::export]]
void cpp_model_save_h5(SEXP model, std::string path, bool sequential, bool full, bool include_optimizer,
                       std::string training_config) {
  kn::Model& m = model_of(model);
  kn::KerasH5 f;
  f.layers = kn::keras_weight_groups(m, sequential);
  if (full) f.model_config = kn::keras_model_config(m, sequential).dump();
  if (include_optimizer) {
    f.training_config = training_config;
    if (!training_config.empty()) f.optimizer_weights = kn::keras_optimizer_weights(m);
  }
  kn::write_keras_h5(path, f, full);
}

// Builds an engine model from a Keras model config (JSON text). Returns
// list(ptr, sequential, name).
// [[Rcpp::export]]
List cpp_model_from_config(std::string json, List custom_objects, std::string default_name, double seed) {
  kn::Json j = kn::Json::parse(json);
  auto h = std::make_unique<ModelHolder>();
  h->model.rng.seed(seed_of(seed));
  bool sequential = kn::model_from_keras_config(j, custom_layers(custom_objects), default_name, h->model);
  std::string name = h->model.name;
  return List::create(_["ptr"] = XPtr<ModelHolder>(h.release(), true), _["sequential"] = sequential,
                      _["name"] = name);
}

// Loads the weights of a read file into the model (all checked before any is
// assigned). Returns warnings (skipped layers with skip_mismatch).
// [[Rcpp::export]]
CharacterVector cpp_model_load_weights(SEXP model, SEXP h5, bool by_name, bool skip_mismatch, bool reshape) {
  kn::Model& m = model_of(model);
  std::vector<std::string> w = kn::load_keras_weights(m, h5_of(h5), by_name, skip_mismatch, reshape);
  m.graph.invalidate();
  return wrap(w);
}

// Restores the optimizer state of a read file into a compiled model; returns
// "" or a warning (the optimizer then starts fresh).
// [[Rcpp::export]]
std::string cpp_model_load_optimizer_state(SEXP model, SEXP h5, double fallback_iterations) {
  return kn::load_keras_optimizer_state(model_of(model), h5_of(h5), fallback_iterations);
}
