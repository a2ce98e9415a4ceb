// Rcpp glue for callbacks and R generators: the optimizer's learning rate,
// stand-alone progress bars, and single steps run on a worker thread so that
// R can produce the next batch while the engine trains on the previous one.
// The worker thread only touches engine objects, never the R API.
#include <Rcpp.h>

#include <atomic>
#include <exception>
#include <memory>
#include <thread>

#include "model.h"
#include "parallel.h"
#include "progbar.h"
#include "r_convert.h"
#include "r_handles.h"

using namespace Rcpp;
using namespace knr;

// ---------------------------------------------------------------- learning rate

// [[Rcpp::export]]
double cpp_optimizer_get_lr(SEXP model) {
  kn::Model& m = model_of(model);
  if (!m.optimizer()) stop("the model has no optimizer: call compile() first");
  return m.optimizer()->learning_rate();
}

// [[Rcpp::export]]
void cpp_optimizer_set_lr(SEXP model, double lr) {
  kn::Model& m = model_of(model);
  if (!m.optimizer()) stop("the model has no optimizer: call compile() first");
  m.optimizer()->set_learning_rate(lr);
}

// ---------------------------------------------------------------- progress bars

// [[Rcpp::export]]
SEXP cpp_progress_new(CharacterVector names, double target, int verbose, bool dynamic) {
  auto ph = std::make_unique<ProgressHolder>();
  ph->run.names = as<std::vector<std::string>>(names);
  ph->run.hold_last = true;
  ph->run.start(static_cast<int64_t>(target), verbose, dynamic);
  return XPtr<ProgressHolder>(ph.release(), true);
}

// Progress update after `seen` samples/steps with the batch values (in the
// order of the names given to cpp_progress_new). Returns FALSE on a user interrupt.
// [[Rcpp::export]]
bool cpp_progress_update(SEXP progress, double seen, NumericVector values) {
  XPtr<ProgressHolder> h(progress);
  std::vector<double> v(values.begin(), values.end());
  return h->run.callback()(static_cast<int64_t>(seen), v);
}

// Values shown as they are (not averaged): Keras's stateful metrics.
// [[Rcpp::export]]
void cpp_progress_set_values(SEXP progress, List values) {
  XPtr<ProgressHolder> h(progress);
  if (!h->run.bar) return;
  CharacterVector nm = values.names();
  std::vector<std::pair<std::string, double>> vals;
  for (R_xlen_t k = 0; k < values.size(); ++k) vals.push_back({as<std::string>(nm[k]), as<double>(values[k])});
  h->run.bar->set_final(vals);
}

// ---------------------------------------------------------------- async steps

namespace {
// One batch handed over to a worker thread. The batch is moved out of the R
// data handle, so the worker owns everything it reads except the model, which
// the R caller keeps alive and leaves alone until cpp_step_wait().
struct StepHolder {
  kn::Batch batch;
  std::vector<double> values;        // train/test: metrics
  std::vector<kn::Tensor> outputs;   // predict: model outputs (n, ...)
  std::string error;
  std::atomic<bool> done{false};
  std::thread worker;
  ~StepHolder() { if (worker.joinable()) worker.join(); }
};

// A source yielding one batch (for Model::predict on a single batch).
class OneBatch : public kn::BatchSource {
 public:
  explicit OneBatch(const kn::Batch& b) : b_(b) {}
  bool next(kn::Batch& out) override {
    if (used_) return false;
    used_ = true;
    out = b_;
    return true;
  }
 private:
  const kn::Batch& b_;
  bool used_ = false;
};
}  // namespace

// Starts one step on a worker thread. mode: "train", "test" or "predict".
// The data handle is emptied (its tensors move into the step).
// [[Rcpp::export]]
SEXP cpp_step_start(SEXP model, SEXP data, std::string mode, double seed) {
  kn::Model& m = model_of(model);
  kn::ArrayData& d = data_of(data);
  if (mode != "train" && mode != "test" && mode != "predict") stop("unknown step mode '%s'", mode);
  if (mode != "predict" && !m.compiled()) stop("the model must be compiled first: call compile()");
  auto h = std::make_unique<StepHolder>();
  h->batch.x = std::move(d.x);
  h->batch.y = std::move(d.y);
  h->batch.w = std::move(d.w);
  d = kn::ArrayData();
  // The TBB arena is created lazily by the first parallel_for: create it here,
  // on the main thread, before two threads can use it at once.
  kn::parallel_for(2, [](int64_t) {});
  const uint64_t key = seed_of(seed);
  StepHolder* s = h.get();
  s->worker = std::thread([s, &m, mode, key] {
    try {
      if (mode == "train") {
        s->values = m.train_batch(s->batch, key);
      } else if (mode == "test") {
        s->values = m.test_batch(s->batch);
      } else {
        OneBatch src(s->batch);
        bool stopped = false;
        s->outputs = m.predict(src, {}, stopped);
      }
    } catch (const std::exception& e) {
      s->error = e.what();
      if (s->error.empty()) s->error = "unknown error";
    } catch (...) {
      s->error = "unknown error";
    }
    s->done.store(true);
  });
  return XPtr<StepHolder>(h.release(), true);
}

// [[Rcpp::export]]
bool cpp_step_done(SEXP step) {
  XPtr<StepHolder> h(step);
  return h->done.load();
}

// Waits for the step; returns the named metrics (train/test) or the list of
// outputs (predict). Engine errors become R errors.
// [[Rcpp::export]]
SEXP cpp_step_wait(SEXP model, SEXP step) {
  XPtr<StepHolder> h(step);
  if (h->worker.joinable()) h->worker.join();
  if (!h->error.empty()) stop(h->error);
  if (!h->outputs.empty()) {
    List res(h->outputs.size());
    for (size_t k = 0; k < h->outputs.size(); ++k) res[k] = knr::tensor_to_r(h->outputs[k]);
    h->outputs.clear();
    return res;
  }
  return named_values(model_of(model).metric_names(), h->values);
}
