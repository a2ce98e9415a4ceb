// Rcpp glue for layers, models, compile/fit/evaluate/predict. Thin: converts
// through r_convert.h and forwards to the engine.
#include <Rcpp.h>

#include <chrono>
#include <memory>

#include "model.h"
#include "progbar.h"
#include "r_callbacks.h"
#include "r_convert.h"
#include "r_handles.h"

using namespace Rcpp;
using namespace knr;


// ---------------------------------------------------------------- layers

// [[Rcpp::export]]
SEXP cpp_layer_new(std::string class_name, std::string config_json) {
  auto h = new LayerHolder{kn::make_layer(class_name, kn::Json::parse(config_json))};
  return XPtr<LayerHolder>(h, true);
}

// [[Rcpp::export]]
std::string cpp_layer_class(SEXP layer) { return layer_of(layer)->class_name(); }

// [[Rcpp::export]]
std::string cpp_layer_name(SEXP layer) { return layer_of(layer)->name; }

// [[Rcpp::export]]
std::string cpp_layer_config(SEXP layer) { return kn::layer_config(*layer_of(layer)).dump(); }

// [[Rcpp::export]]
IntegerVector cpp_layer_build(SEXP layer, List input_shapes, double seed) {
  std::vector<kn::Shape> shapes;
  for (R_xlen_t i = 0; i < input_shapes.size(); ++i) shapes.push_back(knr::shape_from_r(input_shapes[i]));
  kn::LayerPtr& l = layer_of(layer);
  if (l->n_inputs() >= 0 && static_cast<int>(shapes.size()) != l->n_inputs())
    stop("layer '%s' expects %d input(s) but was given %d", l->name, l->n_inputs(), (int)shapes.size());
  kn::Rng rng(seed_of(seed));
  kn::Shape out;
  try {
    out = l->build(shapes, rng);
    kn::check_weight_rules(*l);
  } catch (const kn::Error& e) {
    std::string msg = e.what();
    if (msg.find(l->name) == std::string::npos) msg = "layer '" + l->name + "' (" + l->class_name() + "): " + msg;
    stop(msg);
  }
  IntegerVector res = knr::shape_to_r(out);
  std::vector<kn::Shape> extra = l->extra_output_shapes(shapes);
  if (!extra.empty()) {  // shapes of outputs 1..k-1 (multi-output layers)
    List e(extra.size());
    for (size_t i = 0; i < extra.size(); ++i) e[i] = knr::shape_to_r(extra[i]);
    res.attr("extra") = e;
  }
  return res;
}

// [[Rcpp::export]]
List cpp_layer_weights(SEXP layer) {
  kn::LayerPtr& l = layer_of(layer);
  List out(l->params.size());
  CharacterVector nm(l->params.size());
  LogicalVector tr(l->params.size());
  for (size_t k = 0; k < l->params.size(); ++k) {
    out[k] = knr::tensor_to_r(l->params[k].value, true);
    nm[k] = l->name + "/" + l->params[k].name + ":0";
    tr[k] = l->params[k].trainable;
  }
  out.attr("names") = nm;
  out.attr("trainable") = tr;
  return out;
}

// [[Rcpp::export]]
void cpp_layer_set_weights(SEXP layer, List weights) {
  kn::LayerPtr& l = layer_of(layer);
  if (static_cast<size_t>(weights.size()) != l->params.size())
    stop("layer '%s' has %d weight array(s) but %d were given", l->name, (int)l->params.size(), (int)weights.size());
  std::vector<kn::Tensor> ts;
  for (size_t k = 0; k < l->params.size(); ++k) {
    kn::Tensor t = knr::tensor_from_r(weights[k], "weights");
    const kn::Shape& want = l->params[k].value.shape;
    if (t.size() != l->params[k].value.size() || (t.shape != want && !(want.size() == 1 && t.shape.size() == 1)))
      stop("layer '%s': weight '%s' has shape %s but the given array has shape %s", l->name,
           l->params[k].name, kn::shape_str(want, false), kn::shape_str(t.shape, false));
    ts.push_back(std::move(t));
  }
  for (size_t k = 0; k < ts.size(); ++k) l->params[k].value.data = std::move(ts[k].data);
}

// [[Rcpp::export]]
void cpp_layer_set_trainable(SEXP layer, bool trainable) { layer_of(layer)->trainable = trainable; }

// [[Rcpp::export]]
bool cpp_layer_trainable(SEXP layer) { return layer_of(layer)->trainable; }

// [[Rcpp::export]]
bool cpp_layer_built(SEXP layer) { return layer_of(layer)->built(); }

// [[Rcpp::export]]
SEXP cpp_layer_batch_input_shape(SEXP layer) {
  kn::LayerPtr& l = layer_of(layer);
  if (!l->has_batch_input_shape) return R_NilValue;
  kn::Shape s = l->batch_input_shape;
  s.insert(s.begin(), l->fixed_batch_size);
  return knr::shape_to_r(s);
}

// [[Rcpp::export]]
double cpp_layer_count_params(SEXP layer) {
  double n = 0;
  for (auto& p : layer_of(layer)->params) n += p.value.size();
  return n;
}

// Recurrent layers with stateful = TRUE forget their carried states (others: no-op).
// [[Rcpp::export]]
void cpp_layer_reset_states(SEXP layer) { layer_of(layer)->reset_states(); }

// [[Rcpp::export]]
CharacterVector cpp_registered_layers() { return wrap(kn::registered_layers()); }

// ---------------------------------------------------------------- models

// [[Rcpp::export]]
SEXP cpp_model_new(std::string name, double seed) {
  auto h = new ModelHolder();
  h->model.name = name;
  h->model.rng.seed(seed_of(seed));
  return XPtr<ModelHolder>(h, true);
}

// [[Rcpp::export]]
int cpp_model_add_input(SEXP model, NumericVector shape, std::string name, double fixed_batch) {
  return model_of(model).graph.add_input(knr::shape_from_r(shape), name, static_cast<int64_t>(fixed_batch));
}

// [[Rcpp::export]]
int cpp_model_add(SEXP model, SEXP layer, IntegerVector inputs) {
  kn::Model& m = model_of(model);
  return m.graph.add(layer_of(layer), std::vector<int>(inputs.begin(), inputs.end()), m.rng);
}

// Output `index` (0-based) of layer node `node` (Graph::add_output).
// [[Rcpp::export]]
int cpp_model_add_output(SEXP model, int node, int index) {
  return model_of(model).graph.add_output(node, index);
}

// [[Rcpp::export]]
void cpp_model_set_io(SEXP model, IntegerVector inputs, IntegerVector outputs) {
  kn::Model& m = model_of(model);
  m.graph.inputs.assign(inputs.begin(), inputs.end());
  m.graph.outputs.assign(outputs.begin(), outputs.end());
  m.graph.invalidate();
}

// [[Rcpp::export]]
void cpp_model_pop(SEXP model) {
  kn::Model& m = model_of(model);
  if (m.graph.nodes.size() <= 1 || !m.graph.nodes.back().layer) stop("there are no layers to pop");
  m.graph.nodes.pop_back();
  m.graph.outputs = {static_cast<int>(m.graph.nodes.size()) - 1};
  m.graph.invalidate();
}

// Node table: one row per node (inputs included) for summary(), model$layers...
// [[Rcpp::export]]
List cpp_model_nodes(SEXP model) {
  kn::Model& m = model_of(model);
  const auto& nodes = m.graph.nodes;
  List layers(nodes.size()), shapes(nodes.size()), inputs(nodes.size());
  CharacterVector names(nodes.size()), classes(nodes.size());
  NumericVector fixed(nodes.size());
  List extra(nodes.size());  // per-sample shapes of outputs 1..k-1 of multi-output layer nodes
  IntegerVector out_index(nodes.size());  // output-selection nodes: which output (0-based)
  for (size_t i = 0; i < nodes.size(); ++i) {
    const kn::Node& n = nodes[i];
    List ex(n.extra_shapes.size());
    for (size_t k = 0; k < n.extra_shapes.size(); ++k) ex[k] = knr::shape_to_r(n.extra_shapes[k]);
    extra[i] = ex;
    out_index[i] = n.output_index;
    if (n.layer) {
      auto h = new LayerHolder{n.layer};
      layers[i] = XPtr<LayerHolder>(h, true);
      names[i] = n.layer->name;
      classes[i] = n.layer->class_name();
    } else if (n.is_output_select()) {  // output i of a multi-output layer node
      layers[i] = R_NilValue;
      names[i] = nodes[n.inputs[0]].layer ? nodes[n.inputs[0]].layer->name : std::string();
      classes[i] = "OutputSelect";
    } else if (n.is_op()) {  // backend op (lambda layer, k_* function, traced loss)
      layers[i] = R_NilValue;
      names[i] = n.scope;
      classes[i] = n.role == kn::NodeRole::Model ? "Op" : "LossOp";
    } else {
      layers[i] = R_NilValue;
      names[i] = n.input_name;
      classes[i] = n.role == kn::NodeRole::Target ? "Target" : "InputLayer";
    }
    shapes[i] = knr::shape_to_r(n.shape);
    inputs[i] = IntegerVector(n.inputs.begin(), n.inputs.end());
    fixed[i] = static_cast<double>(n.fixed_batch);
  }
  return List::create(_["layer"] = layers, _["name"] = names, _["class"] = classes, _["shape"] = shapes,
                      _["inputs"] = inputs, _["fixed_batch"] = fixed, _["extra_shapes"] = extra,
                      _["output_index"] = out_index,
                      _["model_inputs"] = IntegerVector(m.graph.inputs.begin(), m.graph.inputs.end()),
                      _["model_outputs"] = IntegerVector(m.graph.outputs.begin(), m.graph.outputs.end()));
}

// [[Rcpp::export]]
void cpp_model_compile(SEXP model, CharacterVector losses, NumericVector loss_weights, bool accuracy,
                       std::string optimizer_class, std::string optimizer_config) {
  XPtr<ModelHolder> h(model);
  kn::Model& m = model_of(model);
  auto opt = kn::make_optimizer(optimizer_class, kn::Json::parse(optimizer_config));
  kn::CompileArgs args;
  args.losses = as<std::vector<std::string>>(losses);
  args.loss_weights = as<std::vector<double>>(loss_weights);
  if (accuracy) args.metrics = {"accuracy"};
  m.compile(args.losses, args.loss_weights, accuracy, std::move(opt));
  h->compiled = std::move(args);  // for training_config when the model is saved
}

// [[Rcpp::export]]
CharacterVector cpp_model_metric_names(SEXP model) { return wrap(model_of(model).metric_names()); }

// [[Rcpp::export]]
List cpp_model_optimizer(SEXP model) {
  kn::Model& m = model_of(model);
  if (!m.optimizer()) return R_NilValue;
  return List::create(_["class_name"] = m.optimizer()->class_name(), _["config"] = m.optimizer()->config().dump(),
                      _["iterations"] = static_cast<double>(m.optimizer()->iterations));
}

// [[Rcpp::export]]
List cpp_model_losses(SEXP model) {
  kn::Model& m = model_of(model);
  CharacterVector out;
  for (auto& l : m.losses()) out.push_back(l->name());
  return List::create(_["losses"] = out);
}

// ---------------------------------------------------------------- data

// [[Rcpp::export]]
SEXP cpp_data_new(List xs, SEXP ys, SEXP sample_weight) {
  auto h = std::make_unique<DataHolder>();
  for (R_xlen_t k = 0; k < xs.size(); ++k) {
    kn::Tensor t = knr::tensor_from_r(xs[k], "x");
    if (t.shape.size() == 1) t.shape.push_back(1);  // plain vector: one feature per sample
    h->data.x.push_back(std::move(t));
  }
  if (!Rf_isNull(ys)) {
    List yl(ys);
    for (R_xlen_t k = 0; k < yl.size(); ++k) {
      kn::Tensor t = knr::tensor_from_r(yl[k], "y");
      if (t.shape.size() == 1) t.shape.push_back(1);
      h->data.y.push_back(std::move(t));
    }
  }
  if (!Rf_isNull(sample_weight)) {
    NumericVector w(sample_weight);
    h->data.w.assign(w.begin(), w.end());
    if (static_cast<int64_t>(h->data.w.size()) != h->data.n())
      stop("`sample_weight` has %d values but x has %d samples", (int)h->data.w.size(), (int)h->data.n());
  }
  return XPtr<DataHolder>(h.release(), true);
}

// [[Rcpp::export]]
double cpp_data_n(SEXP data) { return static_cast<double>(data_of(data).n()); }

// [[Rcpp::export]]
void cpp_model_check_data(SEXP model, SEXP data) {
  kn::ArrayData& d = data_of(data);
  std::vector<kn::Shape> xs, ys;
  for (auto& t : d.x) xs.push_back(t.shape);
  for (auto& t : d.y) ys.push_back(t.shape);
  model_of(model).check_data(xs, ys);
}

// ---------------------------------------------------------------- loops


// One epoch of training over `data` in the order `indices` (0-based).
// `hook`: NULL or the R batch hook (see r_callbacks.h).
// Returns list(values = named metrics, stopped (interrupt), stop_training (a
// hook asked to stop), progress = handle for cpp_progress_finish).
// [[Rcpp::export]]
List cpp_model_fit_epoch(SEXP model, SEXP data, IntegerVector indices, int batch_size, double seed,
                         int verbose, bool dynamic, SEXP hook = R_NilValue) {
  kn::Model& m = model_of(model);
  kn::ArraySource src(data_of(data), order_from_r(indices), batch_size);
  auto ph = std::make_unique<ProgressHolder>();
  ProgressRun& pr = ph->run;
  pr.names = m.metric_names();
  pr.hold_last = true;
  pr.start(indices.size(), verbose, dynamic);
  BatchHooks hooks(hook, pr.names);
  bool stopped = false;
  std::vector<double> v = m.train_epoch(src, seed_of(seed), hooks.end(pr.callback()), stopped, hooks.begin());
  List out = List::create(_["values"] = named_values(pr.names, v), _["stopped"] = pr.user_stop,
                          _["stop_training"] = hooks.stop,
                          _["progress"] = XPtr<ProgressHolder>(ph.release(), true));
  return out;
}

// Print the last progress line of an epoch with extra (validation) values.
// [[Rcpp::export]]
void cpp_progress_finish(SEXP progress, Nullable<List> extra) {
  XPtr<ProgressHolder> h(progress);
  ProgressRun& pr = h->run;
  if (!pr.bar) return;
  if (extra.isNotNull()) {
    List e(extra.get());
    CharacterVector nm = e.names();
    std::vector<std::pair<std::string, double>> vals;
    for (R_xlen_t k = 0; k < e.size(); ++k) vals.push_back({as<std::string>(nm[k]), as<double>(e[k])});
    pr.bar->set_final(vals);
  }
  pr.bar->update(pr.pending_seen, pr.pending, now_s(), true);
}

namespace {
// All samples of `data`, in order.
kn::ArraySource in_order(kn::ArrayData& data, int batch_size) {
  std::vector<int64_t> order(static_cast<size_t>(data.n()));
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  return kn::ArraySource(data, std::move(order), batch_size);
}
}  // namespace

// [[Rcpp::export]]
List cpp_model_evaluate(SEXP model, SEXP data, int batch_size, int verbose, bool dynamic,
                        SEXP hook = R_NilValue) {
  kn::Model& m = model_of(model);
  kn::ArraySource src = in_order(data_of(data), batch_size);
  ProgressRun pr;
  pr.start(data_of(data).n(), verbose, dynamic);
  BatchHooks hooks(hook, m.metric_names());
  bool stopped = false;
  std::vector<double> v = m.evaluate(src, hooks.end(pr.callback()), stopped, hooks.begin());
  if (stopped || pr.user_stop) stop("evaluation interrupted");
  return named_values(m.metric_names(), v);
}

// [[Rcpp::export]]
List cpp_model_predict(SEXP model, SEXP data, int batch_size, int verbose, bool dynamic,
                       SEXP hook = R_NilValue) {
  kn::Model& m = model_of(model);
  kn::ArraySource src = in_order(data_of(data), batch_size);
  ProgressRun pr;
  pr.start(data_of(data).n(), verbose, dynamic);
  BatchHooks hooks(hook, {});
  bool stopped = false;
  std::vector<kn::Tensor> outs = m.predict(src, hooks.end(pr.callback()), stopped, hooks.begin());
  if (stopped || pr.user_stop) stop("prediction interrupted");
  List res(outs.size());
  for (size_t k = 0; k < outs.size(); ++k) res[k] = knr::tensor_to_r(outs[k]);
  return res;
}

// [[Rcpp::export]]
List cpp_model_train_on_batch(SEXP model, SEXP data, double seed) {
  kn::Model& m = model_of(model);
  kn::ArrayData& d = data_of(data);
  kn::Batch b{d.x, d.y, d.w};
  return named_values(m.metric_names(), m.train_batch(b, seed_of(seed)));
}

// [[Rcpp::export]]
List cpp_model_test_on_batch(SEXP model, SEXP data) {
  kn::Model& m = model_of(model);
  kn::ArrayData& d = data_of(data);
  kn::Batch b{d.x, d.y, d.w};
  return named_values(m.metric_names(), m.test_batch(b));
}

// [[Rcpp::export]]
bool cpp_ptr_is_null(SEXP p) {
  return TYPEOF(p) != EXTPTRSXP || R_ExternalPtrAddr(p) == nullptr;
}
