// Glue for CustomLayer (nn/layers_custom.h): R6 custom layers and
// layer_lambda(). The layer's tracer calls back into R (the R function runs
// build() and call() on symbolic tensors and returns the weights and the ops).
#include <Rcpp.h>

#include "layers_custom.h"
#include "r_convert.h"
#include "r_handles.h"

using namespace Rcpp;
using namespace knr;

// A CustomLayer of Keras class `class_name`. `base_json` holds the entries
// every layer has (name, trainable, batch_input_shape); `extra_json` the
// rest of its config. `tracer(shapes)` gets the per-sample input shapes and
// returns list(weights = list(list(name, shape, initializer (JSON text),
// trainable), ...), ops = JSON text) or list(error = message).
// [[Rcpp::export]]
SEXP cpp_custom_layer_new(std::string class_name, std::string base_json, std::string extra_json, Function tracer) {
  auto l = std::make_shared<kn::CustomLayer>(class_name, kn::Json::parse(extra_json));
  kn::apply_base_config(*l, kn::Json::parse(base_json));
  l->tracer = [tracer](const std::vector<kn::Shape>& in) {
    List shapes(in.size());
    for (size_t i = 0; i < in.size(); ++i) shapes[i] = shape_to_r(in[i]);
    List res = tracer(shapes);
    if (res.containsElementNamed("error")) throw kn::Error(as<std::string>(res["error"]));
    kn::TraceResult t;
    List ws = res["weights"];
    for (R_xlen_t i = 0; i < ws.size(); ++i) {
      List w = ws[i];
      kn::WeightSpec s;
      s.name = as<std::string>(w["name"]);
      NumericVector sh = w["shape"];
      for (double d : sh) s.shape.push_back(static_cast<int64_t>(d));
      s.initializer = kn::Json::parse(as<std::string>(w["initializer"]));
      s.trainable = as<bool>(w["trainable"]);
      t.weights.push_back(std::move(s));
    }
    t.ops = kn::Json::parse(as<std::string>(res["ops"]));
    return t;
  };
  return XPtr<LayerHolder>(new LayerHolder{l}, true);
}
