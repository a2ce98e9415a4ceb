// Engine-level model: a Graph plus what compile() adds (losses, accuracy
// metric, optimizer) and the batch loops of fit/evaluate/predict. The R glue
// owns epochs, callbacks and history; everything per batch happens here.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "graph.h"
#include "losses.h"
#include "metrics.h"
#include "optimizers.h"

namespace kn {

// In-memory data: one tensor per model input / output, all with the same
// number of samples (dim 0). Sample weights optional (empty = all 1).
struct ArrayData {
  std::vector<Tensor> x;   // each (N, input shape...)
  std::vector<Tensor> y;   // each (N, output shape...) or (N) / (N, 1) for sparse targets
  std::vector<float> w;    // (N) or empty
  int64_t n() const { return x.empty() ? 0 : x[0].shape.at(0); }
};

// A batch of samples gathered from somewhere (arrays or a dataset pipeline).
struct Batch {
  std::vector<Tensor> x, y;  // like ArrayData, batch-sized
  std::vector<float> w;      // (n) or empty
  int64_t n() const { return x.empty() ? 0 : x[0].shape.at(0); }
};

// Pulls batches; returns false at the end of the epoch. Throws kn::Error on bad data.
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual bool next(Batch& b) = 0;
  virtual int64_t size_hint() const { return -1; }  // samples per epoch, -1 if unknown
};

// Batches from arrays, in a given order of sample indices.
class ArraySource : public BatchSource {
 public:
  ArraySource(const ArrayData& d, std::vector<int64_t> order, int64_t batch_size);
  bool next(Batch& b) override;
  int64_t size_hint() const override { return static_cast<int64_t>(order_.size()); }
 private:
  const ArrayData& d_;
  std::vector<int64_t> order_;
  int64_t batch_size_, pos_ = 0;
};

// Called after each batch with (samples seen, batch metric values); returns
// false to stop (interrupt). Runs on the calling thread.
using BatchCallback = std::function<bool(int64_t seen, const std::vector<double>& values)>;
// Called after a batch is fetched and before it is used, with its 0-based index
// in the epoch and its number of samples; returns false to stop. Calling thread.
using BatchBeginCallback = std::function<bool(int64_t batch, int64_t size)>;

// Data-parallel training (src/dist implements it over MPI): every process
// trains a replica on its share of each global batch and applies the same
// update. Set Model::sync to train that way; null = single process.
class GradientSync {
 public:
  virtual ~GradientSync() = default;
  // Before each step, on every process: `b` is this process's batch, or null
  // when it has none left. False = some process has none: the epoch ends on all.
  virtual bool begin_step(const Batch* b, Graph& g, const std::vector<Param*>& params) = 0;
  // During backward: layer node `node` is done (gradients may be complete).
  virtual void node_done(int node) = 0;
  // After backward: each trainable gradient becomes the global one (identical bits on all processes).
  virtual void finish(const std::vector<Param*>& params) = 0;
};

class Model {
 public:
  std::shared_ptr<GradientSync> sync;  // data-parallel training (null = one process)
  Graph graph;
  Rng rng{42};               // initializers; seeded from R
  std::string name;

  // ---- compile ----
  // A loss named "graph" is traced into the graph: set it with set_graph_loss()
  // (after add_target()/ops) before training.
  void compile(const std::vector<std::string>& losses, const std::vector<double>& loss_weights,
               bool accuracy, std::unique_ptr<Optimizer> opt);
  // ---- losses and metrics traced into the graph (roles Target / Loss) ----
  // Drop all traced losses/metrics and their target placeholders.
  void clear_graph_terms();
  // A y_true placeholder for output k (rank of that output); returns its node id.
  int add_target(size_t output);
  // Output k's loss is node `node`: per-sample values (n, ...) averaged over
  // the non-batch axes, or a scalar (Keras's weighted_masked_objective).
  void set_graph_loss(size_t output, int node);
  // A metric reported as `name`: the mean of node `node` over the batch.
  void add_graph_metric(const std::string& name, int node);
  // model$add_loss(): the mean of node `node` is added to the total loss (unweighted).
  void add_graph_loss_term(int node);
  bool compiled() const { return !losses_.empty(); }
  Optimizer* optimizer() { return opt_.get(); }
  const std::vector<std::unique_ptr<Loss>>& losses() const { return losses_; }
  // "loss", "acc" (one output) or "loss", "<out>_loss", "<out>_acc" ... (several)
  std::vector<std::string> metric_names() const;

  // Check y / x shapes against the model (throws naming argument, expected and got).
  void check_data(const std::vector<Shape>& x_shapes, const std::vector<Shape>& y_shapes) const;

  // ---- batch loops ----
  // One pass over `src`, updating weights. Returns sample-weighted means of
  // metric_names(); `stopped` is set when the callback asked to stop.
  // `begin` (optional) runs before each batch (batch-level callbacks).
  std::vector<double> train_epoch(BatchSource& src, uint64_t seed, const BatchCallback& cb, bool& stopped,
                                  const BatchBeginCallback& begin = {});
  std::vector<double> evaluate(BatchSource& src, const BatchCallback& cb, bool& stopped,
                               const BatchBeginCallback& begin = {});
  // Forward in inference mode; outputs concatenated over batches, one per model output.
  std::vector<Tensor> predict(BatchSource& src, const BatchCallback& cb, bool& stopped,
                              const BatchBeginCallback& begin = {});

  // Single batch (train_on_batch / test_on_batch).
  std::vector<double> train_batch(const Batch& b, uint64_t step_key);
  std::vector<double> test_batch(const Batch& b);

  std::vector<Param*> trainable_params();
  // A loader filled the optimizer's state for `params`: freezing or
  // unfreezing layers before the next step then starts fresh slots, as it
  // does after a step (see train_batch).
  void optimizer_state_loaded(std::vector<Param*> params) { last_params_ = std::move(params); }

 private:
  std::vector<std::unique_ptr<Loss>> losses_;
  std::vector<double> loss_weights_;
  bool accuracy_ = false;
  std::vector<AccuracyKind> acc_kinds_;
  std::unique_ptr<Optimizer> opt_;
  std::vector<Param*> last_params_;  // parameters of the last update
  std::vector<Tensor> dout_;       // per output, batch-shaped
  std::vector<float> per_sample_, coef_, acc_tmp_;
  std::vector<int> graph_loss_;          // per output: loss node id, -1 = built-in loss
  std::vector<std::pair<std::string, int>> graph_metrics_;  // (name, node)
  std::vector<size_t> target_outputs_;   // per target node (id order): output index
  std::vector<Tensor> dloss_;            // per output: gradient seed of a graph loss node
  std::vector<int> extra_losses_;        // add_loss() terms (node ids)
  std::vector<Tensor> dextra_;           // their gradient seeds
  std::vector<double> batch_metrics(const Batch& b, bool with_grad);
  std::vector<const Tensor*> target_ptrs(const Batch& b) const;
  void graph_loss_values(const Node& node, const Tensor& v, int64_t n, Tensor* seed);
};

}  // namespace kn
