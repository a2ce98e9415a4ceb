// Handle types shared by the Rcpp glue files (external pointers held by R
// objects) and small helpers for progress output and interrupts.
#pragma once
#include <Rcpp.h>

#include <chrono>
#include <memory>

#include "keras_weights.h"
#include "model.h"
#include "progbar.h"

namespace knr {
using namespace Rcpp;
struct LayerHolder { kn::LayerPtr layer; };
// The engine model, and the compile() arguments as given (written into
// training_config when the model is saved or serialized).
struct ModelHolder { kn::Model model; kn::CompileArgs compiled; };
struct DataHolder { kn::ArrayData data; };

inline kn::LayerPtr& layer_of(SEXP p) {
  XPtr<LayerHolder> h(p);
  if (!h.get())
    stop("this layer handle is no longer valid: layer objects are not restored by readRDS()/unserialize() (they "
         "belong to a model); save the model instead and get the layer back with get_layer(model, name)");
  return h->layer;
}
inline kn::Model& model_of(SEXP p) {
  XPtr<ModelHolder> h(p);
  if (!h.get()) stop("this model handle is no longer valid (models saved with saveRDS() must be restored with readRDS() from kerasnative)");
  return h->model;
}
inline kn::ArrayData& data_of(SEXP p) {
  XPtr<DataHolder> h(p);
  if (!h.get()) stop("invalid data handle");
  return h->data;
}
inline uint64_t seed_of(double s) { return kn::splitmix64(static_cast<uint64_t>(s) * 2654435761ULL + 12345); }

inline double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}
inline void r_sink(const std::string& s) {
  Rprintf("%s", s.c_str());
  R_FlushConsole();
}
inline void check_interrupt_fn(void*) { R_CheckUserInterrupt(); }
inline bool interrupted() { return !R_ToplevelExec(check_interrupt_fn, nullptr); }

inline List named_values(const std::vector<std::string>& names, const std::vector<double>& v) {
  List out(v.size());
  CharacterVector nm(v.size());
  for (size_t k = 0; k < v.size(); ++k) { out[k] = v[k]; nm[k] = k < names.size() ? names[k] : "metric"; }
  out.attr("names") = nm;
  return out;
}
inline std::vector<int64_t> order_from_r(IntegerVector idx) {
  std::vector<int64_t> o(idx.size());
  for (R_xlen_t i = 0; i < idx.size(); ++i) o[i] = idx[i];
  return o;
}

// Runs `body` with a progress callback honouring verbose / interrupts.
struct ProgressRun {
  std::unique_ptr<kn::Progbar> bar;
  std::vector<std::string> names;
  bool hold_last = false;  // leave the final line to the caller (validation metrics)
  int64_t target = 0;
  bool user_stop = false;
  // Show a progress bar (verbose 1 or 2) of `n` samples or steps.
  void start(int64_t n, int verbose, bool dynamic) {
    target = n;
    if (verbose > 0) {
      bar = std::make_unique<kn::Progbar>(n, verbose, dynamic, r_sink);
      bar->start(now_s());
    }
  }
  kn::BatchCallback callback() {
    return [this](int64_t seen, const std::vector<double>& v) {
      if (bar && !(hold_last && seen >= target)) {
        std::vector<std::pair<std::string, double>> vals;
        for (size_t k = 0; k < v.size() && k < names.size(); ++k) vals.push_back({names[k], v[k]});
        bar->update(seen, vals, now_s());
      } else if (bar) {
        std::vector<std::pair<std::string, double>> vals;
        for (size_t k = 0; k < v.size() && k < names.size(); ++k) vals.push_back({names[k], v[k]});
        pending = vals;
        pending_seen = seen;
      }
      if (interrupted()) { user_stop = true; return false; }
      return true;
    };
  }
  std::vector<std::pair<std::string, double>> pending;
  int64_t pending_seen = 0;
};

struct ProgressHolder { ProgressRun run; };
}  // namespace knr
