// Rcpp glue for the TF1 input queues (src/data/queue.h): creating, starting
// and draining them, training a model fed from a queue, and reading a node's
// value after a step (estimator hooks).
#include <Rcpp.h>

#include <memory>

#include "queue.h"
#include "r_callbacks.h"
#include "r_convert.h"
#include "r_handles.h"

using namespace Rcpp;
using namespace knr;

namespace {
struct QueueHolder { std::unique_ptr<kn::ExampleQueue> q; };

kn::ExampleQueue& queue_of(SEXP p) {
  XPtr<QueueHolder> h(p);
  if (!h.get() || !h->q) stop("this input queue is no longer valid (queues cannot be saved)");
  return *h->q;
}

// Graph inputs fed from queue components: input k gets component comp[k].
class QueueSource : public kn::BatchSource {
 public:
  QueueSource(kn::ExampleQueue& q, std::vector<int> comp, int64_t steps) : q_(q), comp_(std::move(comp)), steps_(steps) {}
  bool next(kn::Batch& b) override {
    if (done_ >= steps_ || !q_.dequeue(parts_)) return false;
    b.x.resize(comp_.size());
    for (size_t k = 0; k < comp_.size(); ++k) b.x[k] = parts_.at(static_cast<size_t>(comp_[k]));
    b.y.clear();
    b.w.clear();
    ++done_;
    return true;
  }
  int64_t steps() const { return done_; }
 private:
  kn::ExampleQueue& q_;
  std::vector<int> comp_;
  int64_t steps_, done_ = 0;
  std::vector<kn::Tensor> parts_;
};
}  // namespace

// [[Rcpp::export]]
SEXP cpp_queue_new(List components, CharacterVector dtypes, double batch_size, double capacity,
                   double min_after_dequeue, bool shuffle, int num_threads, double num_epochs,
                   bool allow_smaller_final_batch, double seed) {
  std::vector<kn::Tensor> comps;
  std::vector<kn::DType> dts;
  for (R_xlen_t k = 0; k < components.size(); ++k) {
    comps.push_back(tensor_from_r(components[k], "tensors"));
    dts.push_back(kn::dtype_from_name(as<std::string>(dtypes[k])));
  }
  kn::QueueOptions o;
  o.batch_size = static_cast<int64_t>(batch_size);
  o.capacity = static_cast<int64_t>(capacity);
  o.min_after_dequeue = static_cast<int64_t>(min_after_dequeue);
  o.shuffle = shuffle;
  o.num_threads = num_threads;
  o.num_epochs = static_cast<int64_t>(num_epochs);
  o.allow_smaller_final_batch = allow_smaller_final_batch;
  o.seed = seed_of(seed);
  auto h = std::make_unique<QueueHolder>();
  try {
    h->q = std::make_unique<kn::ExampleQueue>(std::move(comps), std::move(dts), o);
  } catch (const kn::Error& e) {
    stop(e.what());
  }
  return XPtr<QueueHolder>(h.release(), true);
}

// [[Rcpp::export]]
void cpp_queue_start(SEXP queue) { queue_of(queue).start(); }

// [[Rcpp::export]]
void cpp_queue_stop(SEXP queue) { queue_of(queue).stop(); }

// [[Rcpp::export]]
bool cpp_queue_running(SEXP queue) { return queue_of(queue).running(); }

// [[Rcpp::export]]
double cpp_queue_size(SEXP queue) { return static_cast<double>(queue_of(queue).pool_size()); }

// One batch as a list of R arrays (b, shape...) (vectors for scalar examples); NULL at the end.
// [[Rcpp::export]]
SEXP cpp_queue_dequeue(SEXP queue) {
  std::vector<kn::Tensor> out;
  bool ok;
  try {
    ok = queue_of(queue).dequeue(out);
  } catch (const kn::Error& e) {
    stop(e.what());
  }
  if (!ok) return R_NilValue;
  List res(out.size());
  for (size_t k = 0; k < out.size(); ++k) res[k] = tensor_to_r(out[k], true);
  return res;
}

// fit() over a queue: `steps` batches, graph input k fed from component comp[k].
// Returns what cpp_model_fit_epoch returns.
// [[Rcpp::export]]
List cpp_model_fit_queue(SEXP model, SEXP queue, IntegerVector comp, double steps, double seed, int verbose,
                         bool dynamic, SEXP hook = R_NilValue) {
  kn::Model& m = model_of(model);
  QueueSource src(queue_of(queue), std::vector<int>(comp.begin(), comp.end()), static_cast<int64_t>(steps));
  auto ph = std::make_unique<ProgressHolder>();
  ProgressRun& pr = ph->run;
  pr.names = m.metric_names();
  pr.hold_last = true;
  pr.start(static_cast<int64_t>(steps), verbose, dynamic);
  auto inner = pr.callback();
  kn::BatchCallback cb = [&](int64_t, const std::vector<double>& v) { return inner(src.steps(), v); };
  BatchHooks hooks(hook, pr.names);
  bool stopped = false;
  std::vector<double> v;
  try {
    v = m.train_epoch(src, seed_of(seed), hooks.end(cb), stopped, hooks.begin());
  } catch (const kn::Error& e) {
    stop(e.what());
  }
  if (src.steps() < static_cast<int64_t>(steps) && !stopped && !pr.user_stop && !hooks.stop)
    Rf_warning("the input queue ran out of data after %d of %d steps", static_cast<int>(src.steps()),
               static_cast<int>(steps));
  return List::create(_["values"] = named_values(pr.names, v), _["stopped"] = pr.user_stop,
                      _["stop_training"] = hooks.stop, _["batches"] = static_cast<double>(src.steps()),
                      _["progress"] = XPtr<ProgressHolder>(ph.release(), true));
}

// The value of node `id` after the last forward pass (estimator hooks), or NULL.
// [[Rcpp::export]]
SEXP cpp_model_node_value(SEXP model, int id) {
  kn::Model& m = model_of(model);
  if (id < 0 || id >= static_cast<int>(m.graph.nodes.size())) stop("no node %d in the model", id);
  const kn::Tensor& v = m.graph.value(id);
  if (v.data.empty()) return R_NilValue;
  return tensor_to_r(v, true);
}
