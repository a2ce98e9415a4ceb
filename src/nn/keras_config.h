// Keras model configs <-> engine models: the `model_config` JSON that Keras
// writes into HDF5 files and returns from model.to_json(), for Sequential and
// functional ("Model") networks. Writing produces the Keras 2.2.4 layout;
// reading also accepts older (<= 2.2.2: a bare list of layers), tf.keras and
// Keras 2.12/3 configs ("Functional", {"keras_history": ...} references).
#pragma once
#include <functional>
#include <map>
#include <string>

#include "json.h"
#include "layer.h"
#include "model.h"

namespace kn {

// One custom_objects entry for a layer class the engine does not know: build
// `use_class` (a registered class) from the same config, or call `build`
// (when set) with the layer's config.
struct CustomObject {
  std::string use_class;
  std::function<LayerPtr(const Json& config)> build;
};
using CustomLayers = std::map<std::string, CustomObject>;

// Keras 2.2.4 model.get_config() wrapped as {"class_name", "config"}:
// "Sequential" (layers in order, the first carrying batch_input_shape) or
// "Model" (InputLayers, layers with inbound_nodes, input_layers, output_layers).
Json keras_model_config(const Model& m, bool sequential);

// Builds the graph of `m` (which must be empty; its rng initialises the
// weights) from a config: {"class_name", "config"}, a bare config object, or a
// bare list of layers (Sequential). Sets m.name from the config (else
// `default_name`, else "sequential_1"/"model_1"). Returns true for a
// Sequential model. Throws kn::Error naming the layer and what is wrong
// (unknown class, nested model, missing input shape, disconnected graph...).
bool model_from_keras_config(const Json& root, const CustomLayers& custom, const std::string& default_name,
                             Model& m);

}  // namespace kn
