// Rcpp glue for data-parallel training over MPI (src/dist). Without MPI at
// install time every function but cpp_dist_available() raises one clear error.
#include <Rcpp.h>

#include <algorithm>
#include <memory>

#include "model.h"
#include "r_callbacks.h"
#include "r_convert.h"
#include "r_handles.h"
#ifdef KN_HAVE_MPI
#include "comm.h"
#include "grad_sync.h"
#endif

using namespace Rcpp;
using namespace knr;

// [[Rcpp::export]]
bool cpp_dist_available() {
#ifdef KN_HAVE_MPI
  return true;
#else
  return false;
#endif
}

#ifndef KN_HAVE_MPI
// Stubs (same signatures as the exports below, which Rcpp::compileAttributes reads).
namespace {
[[noreturn]] void no_mpi() { stop("kerasnative was installed without MPI (Open MPI was not found at install time)"); }
}  // namespace
List cpp_dist_init(double timeout) { no_mpi(); }
bool cpp_dist_initialized() { return false; }
IntegerVector cpp_dist_rank_size() { no_mpi(); }
void cpp_dist_attach(SEXP model, double bucket_mb, bool overlap) { no_mpi(); }
void cpp_dist_detach(SEXP model) {}
void cpp_dist_broadcast_weights(SEXP model) { no_mpi(); }
void cpp_dist_average_state(SEXP model) { no_mpi(); }
NumericVector cpp_dist_allreduce(NumericVector x) { no_mpi(); }
NumericVector cpp_dist_broadcast(NumericVector x) { no_mpi(); }
void cpp_dist_abort(std::string msg) {}
List cpp_dist_stats(SEXP model, bool reset) { no_mpi(); }
List cpp_dist_fit_epoch(SEXP model, SEXP data, IntegerVector indices, int batch_size, double seed, int verbose,
                        bool dynamic, SEXP hook = R_NilValue) { no_mpi(); }
List cpp_dist_evaluate(SEXP model, SEXP data, int batch_size, int verbose, bool dynamic, SEXP hook = R_NilValue) {
  no_mpi();
}
#else
namespace {
kn::Comm& comm() {
  kn::Comm* c = kn::Comm::get();
  if (!c) stop("call distribute_init() first");
  return *c;
}
kn::RingGradientSync* sync_of(kn::Model& m) { return dynamic_cast<kn::RingGradientSync*>(m.sync.get()); }
// Every float weight of the model, trainable or not (first-use layer order).
std::vector<kn::Param*> all_params(kn::Model& m, bool only_state) {
  std::vector<kn::Param*> out;
  for (auto& l : m.graph.layers())
    for (auto& p : l->params)
      if (!only_state || !p.trainable) out.push_back(&p);
  return out;
}
// Run `f`; an engine error becomes an R error (the communicator may be broken).
template <typename F>
auto guarded(F f) -> decltype(f()) {
  try {
    return f();
  } catch (const kn::Error& e) {
    stop(e.what());
  }
}
}  // namespace

// [[Rcpp::export]]
List cpp_dist_init(double timeout) {
  kn::Comm& c = guarded([&]() -> kn::Comm& { return kn::Comm::init(timeout); });
  return List::create(_["rank"] = c.rank(), _["size"] = c.size(), _["threads"] = c.threads_ok());
}

// [[Rcpp::export]]
bool cpp_dist_initialized() { return kn::Comm::get() != nullptr; }

// [[Rcpp::export]]
IntegerVector cpp_dist_rank_size() { return IntegerVector::create(comm().rank(), comm().size()); }

// [[Rcpp::export]]
void cpp_dist_attach(SEXP model, double bucket_mb, bool overlap) {
  kn::Model& m = model_of(model);
  m.sync = std::make_shared<kn::RingGradientSync>(comm(), static_cast<int64_t>(bucket_mb * 1024 * 1024), overlap);
}

// [[Rcpp::export]]
void cpp_dist_detach(SEXP model) { model_of(model).sync.reset(); }

// Every process starts from process 0's weights (Horovod's broadcast of the initial state).
// [[Rcpp::export]]
void cpp_dist_broadcast_weights(SEXP model) {
  kn::Model& m = model_of(model);
  std::vector<kn::Param*> ps = all_params(m, false);
  guarded([&] {
    double n[2] = {static_cast<double>(ps.size()), 0};
    for (auto* p : ps) n[1] += static_cast<double>(p->value.size());
    double mine[2] = {n[0], n[1]};
    comm().broadcast(n, sizeof(n));
    if (n[0] != mine[0] || n[1] != mine[1])
      throw kn::Error("distributed training: process " + std::to_string(comm().rank()) + " has a model with " +
                      std::to_string(static_cast<int64_t>(mine[1])) + " weights but process 0 has " +
                      std::to_string(static_cast<int64_t>(n[1])) + " (every process must build the same model)");
    for (auto* p : ps) comm().broadcast(p->value.ptr(), p->value.size() * static_cast<int64_t>(sizeof(float)));
    return 0;
  });
}

// Non-trainable weights (BatchNormalization moving statistics) follow each
// process's own batches: make them the mean over processes.
// [[Rcpp::export]]
void cpp_dist_average_state(SEXP model) {
  kn::Model& m = model_of(model);
  guarded([&] {
    const float inv = 1.0f / static_cast<float>(comm().size());
    for (auto* p : all_params(m, true)) {
      comm().allreduce_sum(p->value.ptr(), p->value.size());
      for (auto& v : p->value.data) v *= inv;
    }
    return 0;
  });
}

// [[Rcpp::export]]
NumericVector cpp_dist_allreduce(NumericVector x) {
  NumericVector out = clone(x);
  guarded([&] { comm().allreduce_sum(out.begin(), out.size()); return 0; });
  return out;
}

// [[Rcpp::export]]
NumericVector cpp_dist_broadcast(NumericVector x) {
  NumericVector out = clone(x);
  guarded([&] {
    double n = static_cast<double>(out.size());
    comm().broadcast(&n, sizeof(n));
    if (n != out.size())
      throw kn::Error("distribute_broadcast(): process 0 sends " + std::to_string(static_cast<int64_t>(n)) +
                      " values but this process has " + std::to_string(out.size()));
    comm().broadcast(out.begin(), out.size() * static_cast<int64_t>(sizeof(double)));
    return 0;
  });
  return out;
}

// [[Rcpp::export]]
void cpp_dist_abort(std::string msg) {
  if (kn::Comm* c = kn::Comm::get()) c->notify_abort(msg);
}

// [[Rcpp::export]]
List cpp_dist_stats(SEXP model, bool reset) {
  kn::RingGradientSync* s = sync_of(model_of(model));
  if (!s) stop("the model is not being trained on several processes");
  List out = List::create(_["samples"] = static_cast<double>(s->samples), _["steps"] = static_cast<double>(s->steps),
                          _["wait_s"] = s->wait_s, _["comm_s"] = s->comm_s,
                          _["bytes"] = static_cast<double>(s->bytes), _["bytes_sent"] = static_cast<double>(comm().bytes_sent));
  if (reset) {
    s->reset_stats();
    comm().bytes_sent = 0;
  }
  return out;
}

namespace {
// Sample-weighted means over processes: `v` holds this process's means over `n` samples.
std::vector<double> global_means(const std::vector<double>& v, double n) {
  std::vector<double> buf(v.size() + 1);  // (metrics..., samples)
  for (size_t k = 0; k < v.size(); ++k) buf[k] = v[k] * n;
  buf[v.size()] = n;
  comm().allreduce_sum(buf.data(), static_cast<int64_t>(buf.size()));
  for (size_t k = 0; k < v.size(); ++k) buf[k] /= std::max(1.0, buf[v.size()]);
  buf.pop_back();
  return buf;
}
}  // namespace

// One epoch on this process's share: `indices` (0-based, process 0's order is
// used by all) split into global batches of `batch_size`; process r takes the
// r-th of `size` near-equal contiguous pieces of every global batch.
// [[Rcpp::export]]
List cpp_dist_fit_epoch(SEXP model, SEXP data, IntegerVector indices, int batch_size, double seed, int verbose,
                        bool dynamic, SEXP hook = R_NilValue) {
  kn::Model& m = model_of(model);
  kn::RingGradientSync* s = sync_of(m);
  if (!s) stop("the model is not being trained on several processes");
  kn::Comm& c = comm();
  const int p = c.size(), r = c.rank();
  std::vector<int> idx(indices.begin(), indices.end());
  guarded([&] {
    c.broadcast(&seed, sizeof(seed));
    c.broadcast(idx.data(), static_cast<int64_t>(idx.size() * sizeof(int)));
    return 0;
  });
  const int64_t n = static_cast<int64_t>(idx.size()), B = batch_size;
  std::vector<int64_t> local;
  for (int64_t start = 0; start < n; start += B) {
    const int64_t mb = std::min(B, n - start), base = mb / p, rem = mb % p;
    const int64_t from = start + base * r + std::min<int64_t>(r, rem), len = base + (r < rem ? 1 : 0);
    for (int64_t i = 0; i < len; ++i) local.push_back(idx[from + i]);
  }
  const int64_t local_bs = B / p + (r < B % p ? 1 : 0);
  if (local_bs == 0) stop("fit(): batch_size (%d) must be at least the number of processes (%d)", batch_size, p);
  kn::ArraySource src(data_of(data), std::move(local), local_bs);
  auto ph = std::make_unique<ProgressHolder>();
  ProgressRun& pr = ph->run;
  pr.names = m.metric_names();
  pr.hold_last = true;
  pr.start(n, verbose, dynamic);
  BatchHooks hooks(hook, pr.names);
  kn::BatchCallback inner = pr.callback();
  int64_t steps = 0;
  // the bar counts global samples: `steps` global batches done
  kn::BatchCallback cb = [&](int64_t, const std::vector<double>& v) {
    ++steps;
    return inner(std::min(n, steps * B), v);
  };
  s->samples = 0;
  bool stopped = false;
  // dropout masks etc.: process r > 0 draws its own stream (its samples differ from process 0's)
  const uint64_t key = r == 0 ? seed_of(seed) : kn::splitmix64(seed_of(seed) ^ static_cast<uint64_t>(r));
  std::vector<double> v = guarded([&] { return m.train_epoch(src, key, hooks.end(cb), stopped, hooks.begin()); });
  const double seen = static_cast<double>(s->samples);
  if (v.empty()) v.assign(pr.names.size(), 0.0);
  v = guarded([&] { return global_means(v, seen); });
  return List::create(_["values"] = named_values(pr.names, v), _["stopped"] = pr.user_stop,
                      _["stop_training"] = hooks.stop, _["progress"] = XPtr<ProgressHolder>(ph.release(), true));
}

// evaluate() on this process's contiguous block of the samples; global sample-weighted means.
// [[Rcpp::export]]
List cpp_dist_evaluate(SEXP model, SEXP data, int batch_size, int verbose, bool dynamic, SEXP hook = R_NilValue) {
  kn::Model& m = model_of(model);
  kn::Comm& c = comm();
  kn::ArrayData& d = data_of(data);
  const int64_t n = d.n(), p = c.size(), r = c.rank();
  const int64_t from = n * r / p, to = n * (r + 1) / p;
  std::vector<int64_t> order;
  for (int64_t i = from; i < to; ++i) order.push_back(i);
  kn::ArraySource src(d, std::move(order), batch_size);
  ProgressRun pr;
  pr.start(to - from, verbose, dynamic);
  BatchHooks hooks(hook, m.metric_names());
  bool stopped = false;
  std::vector<double> v = guarded([&] { return m.evaluate(src, hooks.end(pr.callback()), stopped, hooks.begin()); });
  if (stopped || pr.user_stop) stop("evaluation interrupted");
  if (v.empty()) v.assign(m.metric_names().size(), 0.0);
  v = guarded([&] { return global_means(v, static_cast<double>(to - from)); });
  return named_values(m.metric_names(), v);
}
#endif  // KN_HAVE_MPI
