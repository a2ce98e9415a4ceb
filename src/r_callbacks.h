// Batch-level callback hooks for the Rcpp glue: an R function
// hook(what, batch, size, values) called on the main thread at batch
// boundaries of the engine's loops. what = "begin" (values NULL) or "end"
// (values = named list of the batch's metrics); it returns FALSE to stop.
#pragma once
#include <Rcpp.h>

#include <string>
#include <vector>

#include "model.h"

namespace knr {

struct BatchHooks {
  SEXP fn = R_NilValue;                 // R function or NULL
  std::vector<std::string> names;       // metric names for "end" values
  int64_t batch = 0;                    // index of the batch in flight
  bool stop = false;                    // a hook asked to stop

  BatchHooks(SEXP f, std::vector<std::string> metric_names) : fn(f), names(std::move(metric_names)) {}
  bool active() const { return !Rf_isNull(fn); }

  bool call(const char* what, int64_t b, int64_t size, SEXP values) {
    Rcpp::Function f(fn);
    SEXP r = f(Rcpp::String(what), static_cast<double>(b), static_cast<double>(size), values);
    if (Rf_length(r) == 1 && Rf_asLogical(r) == 0) stop = true;
    return !stop;
  }
  kn::BatchBeginCallback begin() {
    if (!active()) return {};
    return [this](int64_t b, int64_t size) {
      batch = b;
      last_size = size;
      return call("begin", b, size, R_NilValue);
    };
  }
  // Wraps `inner` (progress/interrupts): calls the "end" hook after it.
  kn::BatchCallback end(kn::BatchCallback inner) {
    if (!active()) return inner;
    return [this, inner](int64_t seen, const std::vector<double>& v) {
      bool ok = inner ? inner(seen, v) : true;
      Rcpp::List vals(v.size());
      Rcpp::CharacterVector nm(v.size());
      for (size_t k = 0; k < v.size(); ++k) { vals[k] = v[k]; nm[k] = k < names.size() ? names[k] : "metric"; }
      vals.attr("names") = nm;
      return call("end", batch, last_size, vals) && ok;
    };
  }
  int64_t last_size = 0;
};

}  // namespace knr
