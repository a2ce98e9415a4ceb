// Engine models <-> the arrays and settings of Keras HDF5 files (the file
// format itself is formats/keras_h5.*): layer weights under Keras names
// ("dense_1/kernel:0"), the optimizer state (Keras 2.2.4 positional order, or
// the named slots of Keras >= 2.11), and the `training_config` JSON (compile
// settings). model_to_keras_h5 / model_from_keras_h5 put the three together
// with keras_config.h: a whole model, as model.save() writes it.
#pragma once
#include <string>
#include <vector>

#include "json.h"
#include "keras_config.h"
#include "keras_h5.h"
#include "model.h"

namespace kn {

// compile() arguments as the user gave them (the engine keeps only what it
// computes with); written into training_config.
struct CompileArgs {
  std::vector<std::string> losses;   // one, or one per output
  std::vector<std::string> metrics;  // e.g. "accuracy"
  std::vector<double> loss_weights;  // empty = not given
};

// Weights-only layout: one group per layer, named as the layer (for
// functional models also one empty group per input, as Keras 2.2.4's
// model.layers lists them), weights in parameter order.
std::vector<H5Layer> keras_weight_groups(const Model& m, bool sequential);

// Optimizer state in Keras 2.2.4 `optimizer.weights` order and names
// ("Adam/iterations:0" int64 first for SGD/Adam). Empty when not compiled or
// before the first step.
std::vector<H5Weight> keras_optimizer_weights(Model& m);

// Assigns the weights of `f` to `m`: by order of the layers with weights, or
// by layer name. Every array is checked before any is assigned (on an error
// the model is unchanged). Returns warnings for layers skipped with
// by_name && skip_mismatch. Throws kn::Error naming layers, weights, shapes.
std::vector<std::string> load_keras_weights(Model& m, const KerasH5& f, bool by_name, bool skip_mismatch,
                                            bool reshape);

// Restores f.optimizer_weights into the optimizer of compiled `m`; the
// iteration count comes from the file when it holds one, else from
// `fallback_iterations` (kerasnative_iterations of training_config). Returns
// "" or the reason the optimizer starts fresh instead (shapes, names, an
// iteration count that is not a whole number in [0, 2^53]).
std::string load_keras_optimizer_state(Model& m, const KerasH5& f, double fallback_iterations);

// Keras 2.2.4 training_config of compiled `m` (null Json when not compiled):
// optimizer_config, loss, metrics, sample_weight_mode, loss_weights, and
// kerasnative_iterations for optimizers whose Keras state has no iteration
// count (RMSprop, Adagrad).
Json keras_training_config(Model& m, const CompileArgs& args);

// Compiles `m` from a training_config written by keras_training_config (loss
// names, optimizer classes and configs the engine knows). Returns the
// compile arguments. Throws kn::Error on anything else.
CompileArgs compile_from_training_config(Model& m, const Json& tc);

// A whole model as model.save() writes it: model_config, weights, and with
// `args` (a compiled model) training_config and optimizer state.
KerasH5 model_to_keras_h5(Model& m, bool sequential, const CompileArgs* args);

// Rebuilds a model written by model_to_keras_h5 into empty `m`: graph and
// weights, then compile settings and optimizer state when the file has a
// training_config. Returns true for a Sequential model; `args` gets the
// compile arguments (empty when not compiled). Throws kn::Error when the file
// holds no model_config, or on any mismatch.
bool model_from_keras_h5(const KerasH5& f, Model& m, CompileArgs& args);

}  // namespace kn
