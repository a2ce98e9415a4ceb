// Rcpp glue for TensorBoard event files (src/formats/tfevents.h).
#include <Rcpp.h>

#include <memory>

#include "tfevents.h"

using namespace Rcpp;

namespace {
kn::EventFileWriter& writer_of(SEXP p) {
  XPtr<kn::EventFileWriter> h(p);
  if (!h.get()) stop("this TensorBoard event writer is no longer valid");
  return *h;
}
}  // namespace

// [[Rcpp::export]]
SEXP cpp_tfevents_open(std::string log_dir) {
  return XPtr<kn::EventFileWriter>(new kn::EventFileWriter(log_dir), true);
}

// [[Rcpp::export]]
std::string cpp_tfevents_path(SEXP w) { return writer_of(w).path(); }

// One event per value (as Keras 2.2.5 writes its logs), then a flush.
// [[Rcpp::export]]
void cpp_tfevents_scalars(SEXP w, CharacterVector tags, NumericVector values, double step, double wall_time) {
  kn::EventFileWriter& ew = writer_of(w);
  for (R_xlen_t k = 0; k < tags.size(); ++k)
    ew.add_scalar(as<std::string>(tags[k]), values[k], static_cast<int64_t>(step), wall_time);
  ew.flush();
}

// [[Rcpp::export]]
void cpp_tfevents_histogram(SEXP w, std::string tag, NumericVector values, double step, double wall_time) {
  std::vector<float> v(values.begin(), values.end());  // (n,) float32 weights
  writer_of(w).add_histogram(tag, v.data(), static_cast<int64_t>(v.size()), static_cast<int64_t>(step), wall_time);
  writer_of(w).flush();
}

// [[Rcpp::export]]
void cpp_tfevents_graph(SEXP w, CharacterVector names, CharacterVector ops, List inputs, List shapes,
                        double wall_time) {
  std::vector<kn::GraphDefNode> nodes;
  for (R_xlen_t k = 0; k < names.size(); ++k) {
    kn::GraphDefNode n;
    n.name = as<std::string>(names[k]);
    n.op = as<std::string>(ops[k]);
    n.inputs = as<std::vector<std::string>>(inputs[k]);
    NumericVector s = shapes[k];
    for (double d : s) n.output_shape.push_back(static_cast<int64_t>(d));
    nodes.push_back(std::move(n));
  }
  writer_of(w).add_graph(nodes, wall_time);
  writer_of(w).flush();
}

// [[Rcpp::export]]
void cpp_tfevents_close(SEXP w) { writer_of(w).close(); }

// [[Rcpp::export]]
DataFrame cpp_tfevents_read_scalars(std::string path) {
  std::vector<kn::ScalarEvent> ev = kn::read_event_scalars(path);
  CharacterVector tag(ev.size());
  NumericVector step(ev.size()), wall(ev.size()), value(ev.size());
  for (size_t i = 0; i < ev.size(); ++i) {
    tag[i] = ev[i].tag;
    step[i] = static_cast<double>(ev[i].step);
    wall[i] = ev[i].wall_time;
    value[i] = ev[i].value;
  }
  return DataFrame::create(_["tag"] = tag, _["step"] = step, _["wall_time"] = wall, _["value"] = value,
                           _["stringsAsFactors"] = false);
}

// [[Rcpp::export]]
std::string cpp_tfevents_file_version(std::string path) { return kn::read_event_file_version(path); }
