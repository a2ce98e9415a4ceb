// Keras 2.2.4 optimizers (keras/optimizers.py with the TensorFlow backend):
// SGD, RMSprop, Adam, Adagrad, Adadelta, Adamax, Nadam, with lr decay (not
// Nadam, which has none), clipnorm and clipvalue.
//
// Numerics follow the Keras graph op by op in float32 (hyperparameters that
// Keras keeps in float32 variables -- lr, momentum, decay, rho, beta_1, beta_2
// -- are rounded to float32; epsilon and clip thresholds are Python floats
// converted to float32 when combined with tensors). The only double is the
// accumulation of the global gradient norm for clipnorm.
//
// Common to all: lr_t = lr * (1 / (1 + decay * iterations)) when decay > 0,
// with `iterations` read before this step's increment.
// Gradient clipping (Optimizer.get_gradients), applied before the update:
//   clipnorm > 0:  norm = sqrt(sum over ALL params of sum(g^2))  (one global norm);
//                  if norm >= clipnorm: g *= clipnorm / norm (every param).
//   clipvalue > 0: g = clip(g, -clipvalue, clipvalue), after clipnorm.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "json.h"
#include "layer.h"
#include "tensor.h"

namespace kn {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string class_name() const = 0;  // "SGD", "RMSprop", "Adam", "Adagrad"
  // Keras get_config(): clipnorm/clipvalue first when given, then the class's keys
  // in Keras order, e.g. RMSprop {"lr": 0.0010000000474974513, "rho": 0.8999999761581543,
  // "decay": 0.0, "epsilon": 1e-07} (float32-variable values widened to double, as
  // Keras writes them into training_config).
  virtual Json config() const = 0;

  // One step on `params` (their .grad holds the batch gradient of the total loss).
  // Params with trainable == false are ignored entirely (no state, no update),
  // matching Keras, which only sees model.trainable_weights. The list must be the
  // same (same order and shapes) on every call; state is created on the first
  // call unless init_state() ran. Mismatch -> kn::Error. Does not modify .grad.
  virtual void update(const std::vector<Param*>& params) = 0;

  int64_t iterations = 0;  // completed update steps (Keras `iterations`, int64)

  // The learning rate `lr` (Keras keeps it in a float32 variable that
  // K.get_value / K.set_value read and write; callbacks change it between steps).
  virtual double learning_rate() const = 0;
  virtual void set_learning_rate(double lr) = 0;

  // Slot tensors in Keras 2.2.4 `optimizer.weights` order, WITHOUT `iterations`.
  // Keras 2.2.4 lists `iterations` first for SGD and Adam only (see
  // state_has_iterations()); RMSprop and Adagrad save just their accumulators.
  //   SGD:     [iterations], moments (one per param, param shape; created even when momentum == 0)
  //   RMSprop: accumulators (one per param)
  //   Adam:    [iterations], m (all params), v (all params), vhat (all params;
  //            param shape when amsgrad, else shape (1) placeholders, as Keras)
  //   Adagrad: accumulators (one per param)
  // Empty before the first update()/init_state().
  virtual std::vector<Tensor*> state() = 0;
  // Whether Keras 2.2.4 puts `iterations` (int64 scalar) before state() in
  // optimizer.weights / the HDF5 "optimizer_weights" group.
  virtual bool state_has_iterations() const = 0;
  // Names Keras 2.2.4 gives those weights in a fresh session, in the same order,
  // including "<Class>/iterations:0" first when state_has_iterations():
  // e.g. "Adam/iterations:0", "training/Adam/Variable:0", "training/Adam/Variable_1:0", ...
  std::vector<std::string> state_names() const;
  // Allocates zero state for `params` (trainable ones only) so a loader can fill
  // state() before the first update(). Replaces any existing state.
  virtual void init_state(const std::vector<Param*>& params) = 0;

 protected:
  size_t n_state_ = 0;  // number of tensors state() returns (for state_names)
};

// class_name: "SGD"/"sgd", "RMSprop"/"rmsprop", "Adam"/"adam", "Adagrad"/"adagrad"
// (case-insensitive). config keys as Keras 2.2 (null values = not given):
//   all:     lr (alias learning_rate), decay, clipnorm, clipvalue
//   SGD:     momentum, nesterov                  (lr 0.01)
//   RMSprop: rho, epsilon                        (lr 0.001, rho 0.9)
//   Adam:    beta_1, beta_2, epsilon, amsgrad    (lr 0.001, 0.9, 0.999, false)
//   Adagrad: epsilon                             (lr 0.01)
//   Adadelta: rho, epsilon                       (lr 1.0, rho 0.95)
//   Adamax:  beta_1, beta_2, epsilon             (lr 0.002)
//   Nadam:   beta_1, beta_2, epsilon, schedule_decay (lr 0.002, 0.004; no decay)
// epsilon missing/null -> 1e-7; decay 0. Unknown class names or keys -> kn::Error
// listing the valid ones (Keras raises TypeError for unexpected keywords).
std::unique_ptr<Optimizer> make_optimizer(const std::string& class_name, const Json& config);

}  // namespace kn
