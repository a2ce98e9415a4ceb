// Gradient averaging for data-parallel training (Horovod / PyTorch DDP design).
//
// Trainable parameters are fused into buckets of about `bucket_bytes`, in
// reverse model order (the order backward finishes them). When backward has
// finished every parameter of a bucket (Graph::on_node_backward reports the
// last node of each layer), the training thread packs the bucket's gradients,
// each scaled by this process's share of the global batch (its loss
// normaliser over the sum of all processes'), into one buffer and hands it to
// a communication thread, which ring-all-reduces the buckets in a fixed order
// while backward goes on. finish() packs what is left, waits, and copies the
// sums back into the gradients. The sum of the scaled gradients is the
// gradient of the global batch's loss (for equal shares: the sum divided by
// the number of processes). Worker threads never touch R.
#pragma once
#ifdef KN_HAVE_MPI
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "comm.h"
#include "model.h"

namespace kn {

class RingGradientSync : public GradientSync {
 public:
  RingGradientSync(Comm& comm, int64_t bucket_bytes, bool overlap);
  ~RingGradientSync() override;
  bool begin_step(const Batch* b, Graph& g, const std::vector<Param*>& params) override;
  void node_done(int node) override;
  void finish(const std::vector<Param*>& params) override;

  // Statistics since the last reset_stats() (per process).
  int64_t samples = 0;      // samples this process trained on
  int64_t steps = 0;        // steps taken
  double wait_s = 0;        // training thread blocked in finish() and begin_step()
  double comm_s = 0;        // time spent in all-reduces (gradient thread + step agreement)
  int64_t bytes = 0;        // bytes of gradients all-reduced (bucket payload)
  void reset_stats() { samples = steps = bytes = 0; wait_s = comm_s = 0; }

 private:
  struct Bucket {
    std::vector<Param*> params;   // in pack order
    std::vector<float> buf;       // (sum of param sizes)
    int pending = 0;              // params not yet finished by backward
    bool packed = false, done = false;
  };
  void plan(Graph& g, const std::vector<Param*>& params);
  void pack(Bucket& b);
  void mark_ready(Param* p);
  void worker();

  Comm& comm_;
  int64_t bucket_bytes_;
  bool overlap_;
  std::vector<Param*> planned_;              // parameters the buckets were made for
  std::vector<Bucket> buckets_;
  std::map<Param*, size_t> bucket_of_;       // param -> bucket index
  std::vector<std::vector<Param*>> node_params_;  // per node: trainable params it finishes
  float scale_ = 1;
  bool in_step_ = false;

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t next_ = 0;      // next bucket the worker reduces
  bool stop_ = false;
  std::string error_;    // worker failure (rethrown by finish)
};

}  // namespace kn
#endif  // KN_HAVE_MPI
