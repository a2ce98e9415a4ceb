// Engine models <-> Keras HDF5 weights, optimizer state and training_config
// (see keras_weights.h).
#include "keras_weights.h"

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "optimizers.h"

namespace kn {

namespace {

std::string shape_txt(const Shape& s) { return shape_str(s, false); }

bool shapes_compatible(const Shape& model, const Shape& file, bool reshape) {
  if (model == file) return true;
  return reshape && shape_numel(model) == shape_numel(file);
}


std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

struct Assign { Param* p; const std::vector<float>* src; };

// An iteration count as a whole number in [0, 2^53] (the largest range in
// which float64 counts exactly); false for NaN, infinities, fractions and
// negative or huge values (a NaN cast to int64 is undefined behaviour).
bool valid_count(double v) { return std::isfinite(v) && v >= 0 && v <= 9007199254740992.0 && v == std::floor(v); }

// The iteration count stored in `w` (a scalar or 1-element dataset); false
// with `why` set when it is missing or not a valid count.
bool read_iterations(const H5Weight& w, int64_t& out, std::string& why) {
  if (!w.int_data.empty()) {
    if (w.int_data.size() != 1 || w.int_data[0] < 0 || w.int_data[0] > (int64_t{1} << 53)) {
      why = "'" + w.name + "' is not an iteration count (" + std::to_string(w.int_data.size()) + " value(s), first " +
            std::to_string(w.int_data[0]) + ")";
      return false;
    }
    out = w.int_data[0];
    return true;
  }
  if (w.data.size() != 1 || !valid_count(w.data[0])) {
    why = "'" + w.name + "' is not an iteration count (" +
          (w.data.size() == 1 ? "value " + std::to_string(w.data[0]) : std::to_string(w.data.size()) + " values") + ")";
    return false;
  }
  out = static_cast<int64_t>(w.data[0]);
  return true;
}

}  // namespace

std::vector<H5Layer> keras_weight_groups(const Model& m, bool sequential) {
  std::vector<H5Layer> out;
  if (!sequential)
    for (const Node& n : m.graph.nodes)
      if (n.is_input() && n.role == NodeRole::Model) out.push_back(H5Layer{n.input_name, {}});
  for (const LayerPtr& l : m.graph.layers()) {
    H5Layer hl;
    hl.name = l->name;
    for (const Param& p : l->params) {
      H5Weight w;
      w.name = l->name + "/" + p.name + ":0";
      w.shape = p.value.shape;
      w.data = p.value.data;
      hl.weights.push_back(std::move(w));
    }
    out.push_back(std::move(hl));
  }
  return out;
}

std::vector<H5Weight> keras_optimizer_weights(Model& m) {
  std::vector<H5Weight> out;
  Optimizer* opt = m.optimizer();
  if (!opt) return out;
  std::vector<Tensor*> st = opt->state();
  if (st.empty()) return out;
  std::vector<std::string> names = opt->state_names();
  size_t off = 0;
  if (opt->state_has_iterations()) {
    H5Weight it;
    it.name = names.empty() ? "iterations:0" : names[0];
    it.shape = {};
    it.data = {static_cast<float>(opt->iterations)};
    it.dtype = "int64";
    it.int_data = {opt->iterations};
    out.push_back(std::move(it));
    off = 1;
  }
  for (size_t k = 0; k < st.size(); ++k) {
    H5Weight w;
    w.name = k + off < names.size() ? names[k + off] : "training/Variable_" + std::to_string(k) + ":0";
    w.shape = st[k]->shape;
    w.data = st[k]->data;
    out.push_back(std::move(w));
  }
  return out;
}

std::vector<std::string> load_keras_weights(Model& m, const KerasH5& f, bool by_name, bool skip_mismatch,
                                            bool reshape) {
  std::vector<std::string> warnings;
  std::vector<Assign> todo;
  std::vector<LayerPtr> layers = m.graph.layers();
  auto check_layer = [&](Layer& l, const H5Layer& hl) -> bool {
    if (hl.weights.size() != l.params.size()) {
      std::string msg = "layer '" + l.name + "' (" + l.class_name() + ") has " + std::to_string(l.params.size()) +
                        " weight array(s) but the file's layer '" + hl.name + "' has " + std::to_string(hl.weights.size());
      if (by_name && skip_mismatch) { warnings.push_back("skipping " + msg); return false; }
      throw Error(msg);
    }
    for (size_t k = 0; k < l.params.size(); ++k) {
      const Shape& ms = l.params[k].value.shape;
      const H5Weight& w = hl.weights[k];
      if (!shapes_compatible(ms, w.shape, reshape)) {
        std::string msg = "layer '" + l.name + "': weight '" + l.params[k].name + "' has shape " + shape_txt(ms) +
                          " in the model but the file's '" + w.name + "' has shape " + shape_txt(w.shape);
        if (by_name && skip_mismatch) { warnings.push_back("skipping " + msg); continue; }
        throw Error(msg);
      }
      todo.push_back(Assign{&l.params[k], &w.data});
    }
    return true;
  };
  if (by_name) {
    std::map<std::string, const H5Layer*> by;
    for (const H5Layer& hl : f.layers) by[hl.name] = &hl;
    for (const LayerPtr& l : layers) {
      auto it = by.find(l->name);
      if (it == by.end()) continue;
      check_layer(*l, *it->second);
    }
  } else {
    std::vector<Layer*> ml;
    std::vector<const H5Layer*> fl;
    std::vector<std::string> mn, fn;
    for (const LayerPtr& l : layers)
      if (!l->params.empty()) { ml.push_back(l.get()); mn.push_back(l->name); }
    for (const H5Layer& hl : f.layers)
      if (!hl.weights.empty()) { fl.push_back(&hl); fn.push_back(hl.name); }
    if (ml.size() != fl.size())
      throw Error("the weight file has " + std::to_string(fl.size()) + " layer(s) with weights (" + join(fn, ", ") +
                      ") but the model has " + std::to_string(ml.size()) + " (" + join(mn, ", ") + ")");
    for (size_t i = 0; i < ml.size(); ++i) check_layer(*ml[i], *fl[i]);
  }
  for (Assign& a : todo) a.p->value.data = *a.src;
  return warnings;
}

// Optimizer state: Keras 2.2.4 positional order, or the Keras >= 2.11
// optimizer's named slots ("iteration:0", "Adam/m/dense/kernel:0", ...).
std::string load_keras_optimizer_state(Model& m, const KerasH5& f, double fallback_iterations) {
  Optimizer* opt = m.optimizer();
  if (!opt) return "the model is not compiled";
  std::vector<Param*> params = m.trainable_params();
  opt->init_state(params);
  opt->iterations = 0;
  m.optimizer_state_loaded(params);  // every path below leaves state for `params`
  std::vector<Tensor*> st = opt->state();
  const std::vector<H5Weight>& w = f.optimizer_weights;
  if (w.empty()) return "";
  size_t off = opt->state_has_iterations() ? 1 : 0;
  auto fail = [&](const std::string& why) {
    opt->init_state(params);
    opt->iterations = 0;
    return "could not restore the optimizer state (" + why + "); the optimizer starts fresh";
  };
  if (!valid_count(fallback_iterations))
    return fail("kerasnative_iterations " + std::to_string(fallback_iterations) + " is not a whole number in [0, 2^53]");
  // Keras >= 2.11 files name their count "iteration:0" (Keras 2.2.4: "<Class>/iterations:0")
  bool named = false;
  for (auto& x : w) if (x.name.find("iteration:") != std::string::npos) named = true;
  if (!named && w.size() != st.size() + off)
    return fail("the file has " + std::to_string(w.size()) + " optimizer weights but the " + opt->class_name() +
                " optimizer has " + std::to_string(st.size() + off) + " for the model's " +
                std::to_string(params.size()) + " trainable weight array(s); were layers frozen or unfrozen?");
  // Keras 2.2.4: positional
  if (w.size() == st.size() + off) {
    bool ok = true;
    std::string why;
    if (off && !w[0].shape.empty() && shape_numel(w[0].shape) != 1) { ok = false; why = "first weight is not the iteration count"; }
    for (size_t k = 0; ok && k < st.size(); ++k)
      if (st[k]->shape != w[k + off].shape) {
        ok = false;
        why = "'" + w[k + off].name + "' has shape " + shape_txt(w[k + off].shape) + ", expected " + shape_txt(st[k]->shape);
      }
    if (ok) {
      int64_t iters = 0;
      if (off && !read_iterations(w[0], iters, why)) return fail(why);
      for (size_t k = 0; k < st.size(); ++k) st[k]->data = w[k + off].data;
      opt->iterations = off ? iters : static_cast<int64_t>(fallback_iterations);
      return "";
    }
    if (!named) return fail(why);
  }
  // Keras >= 2.11 named slots
  std::map<std::string, size_t> pidx;  // "layer/param" -> trainable index
  {
    size_t i = 0;
    for (auto& l : m.graph.layers())
      if (l->trainable)
        for (auto& p : l->params)
          if (p.trainable) pidx[l->name + "/" + p.name] = i++;
  }
  const size_t n = params.size();
  std::string cls = opt->class_name();
  std::vector<bool> filled(st.size(), false);
  std::vector<std::pair<Tensor*, const H5Weight*>> todo;
  int64_t iters = -1;
  for (const H5Weight& x : w) {
    std::string nm = x.name;
    size_t colon = nm.rfind(':');
    if (colon != std::string::npos) nm = nm.substr(0, colon);
    if (nm == "iteration" || nm == "iterations" || (nm.size() >= 10 && nm.substr(nm.size() - 10) == "/iteration")) {
      std::string why;
      if (!read_iterations(x, iters, why)) return fail(why);
      continue;
    }
    size_t s1 = nm.find('/');
    size_t s2 = s1 == std::string::npos ? std::string::npos : nm.find('/', s1 + 1);
    if (s2 == std::string::npos) return fail("unrecognised optimizer weight '" + x.name + "'");
    std::string slot = nm.substr(s1 + 1, s2 - s1 - 1), var = nm.substr(s2 + 1);
    auto it = pidx.find(var);
    if (it == pidx.end()) return fail("optimizer weight '" + x.name + "' names no trainable weight of the model");
    size_t base;
    if (cls == "Adam" && slot == "m") base = 0;
    else if (cls == "Adam" && slot == "v") base = n;
    else if (cls == "Adam" && slot == "vhat") base = 2 * n;
    else if (cls == "SGD" && slot == "momentum") base = 0;
    else if (cls == "RMSprop" && slot == "velocity") base = 0;
    else if (cls == "Adagrad" && slot == "accumulator") base = 0;
    else if ((cls == "Adamax" || cls == "Nadam") && slot == "m") base = 0;
    else if ((cls == "Adamax" || cls == "Nadam") && slot == "v") base = n;
    else if (cls == "Adadelta" && slot == "accumulated_grad") base = 0;
    else if (cls == "Adadelta" && slot == "accumulated_delta_var") base = n;
    else return fail("optimizer weight '" + x.name + "' has no counterpart in the " + cls + " optimizer");
    size_t k = base + it->second;
    if (k >= st.size() || st[k]->shape != x.shape)
      return fail("'" + x.name + "' has shape " + shape_txt(x.shape) + ", expected " +
                  (k < st.size() ? shape_txt(st[k]->shape) : std::string("none")));
    filled[k] = true;
    todo.push_back({st[k], &x});
  }
  for (size_t k = 0; k < st.size(); ++k)
    if (!filled[k] && !(cls == "Adam" && k >= 2 * n && st[k]->size() == 1))
      return fail("the file has no value for optimizer slot " + std::to_string(k));
  for (auto& t : todo) t.first->data = t.second->data;
  opt->iterations = iters >= 0 ? iters : static_cast<int64_t>(fallback_iterations);
  return "";
}


// ---------------------------------------------------------------- training_config

Json keras_training_config(Model& m, const CompileArgs& args) {
  Optimizer* opt = m.optimizer();
  if (!opt) return Json();
  Json tc = Json::object();
  Json oc = Json::object();
  oc.set("class_name", opt->class_name());
  oc.set("config", opt->config());
  tc.set("optimizer_config", oc);
  if (args.losses.size() == 1) {
    tc.set("loss", args.losses[0]);
  } else {
    Json l = Json::array();
    for (const std::string& x : args.losses) l.push(Json(x));
    tc.set("loss", l);
  }
  Json mt = Json::array();
  for (const std::string& x : args.metrics) mt.push(Json(x));
  tc.set("metrics", mt);
  tc.set("sample_weight_mode", Json());
  if (args.loss_weights.empty()) {
    tc.set("loss_weights", Json());
  } else {
    Json a = Json::array();
    for (double v : args.loss_weights) a.push(Json(v));
    tc.set("loss_weights", a);
  }
  // Keras 2.2.4 does not save `iterations` for RMSprop/Adagrad; keep it here
  // (an extra key Keras ignores) so that lr decay resumes exactly.
  if (!opt->state_has_iterations()) tc.set("kerasnative_iterations", Json(opt->iterations));
  return tc;
}

CompileArgs compile_from_training_config(Model& m, const Json& tc) {
  if (!tc.is_object()) throw Error("training_config must be a JSON object");
  CompileArgs args;
  Json loss = tc.get("loss", Json());
  if (loss.is_string()) {
    args.losses.push_back(loss.as_string());
  } else if (loss.is_array()) {
    for (const Json& l : loss.elements()) {
      if (!l.is_string()) throw Error("training_config: every loss must be a loss name");
      args.losses.push_back(l.as_string());
    }
  } else {
    throw Error("training_config: \"loss\" must be a loss name or a list of them");
  }
  bool accuracy = false;
  Json metrics = tc.get("metrics", Json::array());
  if (!metrics.is_array()) throw Error("training_config: \"metrics\" must be a list");
  for (const Json& x : metrics.elements()) {
    if (!x.is_string()) throw Error("training_config: every metric must be a metric name");
    if (x.as_string() != "accuracy" && x.as_string() != "acc")
      throw Error("training_config: metric '" + x.as_string() + "' is not supported");
    accuracy = true;
    args.metrics.push_back(x.as_string());
  }
  Json lw = tc.get("loss_weights", Json());
  if (lw.is_array()) {
    for (const Json& x : lw.elements()) {
      if (!x.is_number() || !std::isfinite(x.as_number()))
        throw Error("training_config: loss_weights must be finite numbers");
      args.loss_weights.push_back(x.as_number());
    }
  } else if (!lw.is_null()) {
    throw Error("training_config: \"loss_weights\" must be a list of numbers");
  }
  Json oc = tc.get("optimizer_config", Json());
  if (!oc.is_object() || !oc.has("class_name") || !oc["class_name"].is_string())
    throw Error("training_config has no optimizer_config with a class_name");
  std::unique_ptr<Optimizer> opt = make_optimizer(oc["class_name"].as_string(), oc.get("config", Json::object()));
  m.compile(args.losses, args.loss_weights, accuracy, std::move(opt));
  return args;
}

// ---------------------------------------------------------------- whole models

KerasH5 model_to_keras_h5(Model& m, bool sequential, const CompileArgs* args) {
  KerasH5 f;
  f.layers = keras_weight_groups(m, sequential);
  f.model_config = keras_model_config(m, sequential).dump();
  if (args && m.optimizer()) {
    f.training_config = keras_training_config(m, *args).dump();
    f.optimizer_weights = keras_optimizer_weights(m);
  }
  return f;
}

bool model_from_keras_h5(const KerasH5& f, Model& m, CompileArgs& args) {
  if (f.model_config.empty()) throw Error("the file holds weights only (no model_config)");
  bool sequential = model_from_keras_config(Json::parse(f.model_config), CustomLayers(), "", m);
  load_keras_weights(m, f, false, false, false);
  m.graph.invalidate();
  args = CompileArgs();
  if (f.training_config.empty()) return sequential;
  Json tc = Json::parse(f.training_config);
  args = compile_from_training_config(m, tc);
  Json it = tc.get("kerasnative_iterations", Json(0));
  if (!it.is_number()) throw Error("training_config: kerasnative_iterations must be a number");
  std::string msg = load_keras_optimizer_state(m, f, it.as_number());
  if (!msg.empty()) {
    // The saved slots belong to other trainable weights (layers were frozen
    // or unfrozen after the last step): the engine would start fresh slots at
    // the next step and keep the iteration count; do the same here.
    int64_t iters = -1;
    std::string why;
    for (const H5Weight& w : f.optimizer_weights)
      if (w.name.find("iterations:") != std::string::npos && !read_iterations(w, iters, why)) throw Error(why);
    if (iters < 0) {
      if (!valid_count(it.as_number())) throw Error(msg);
      iters = static_cast<int64_t>(it.as_number());
    }
    m.optimizer()->iterations = iters;
  }
  return sequential;
}

}  // namespace kn
