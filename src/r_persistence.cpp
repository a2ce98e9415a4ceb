// Rcpp glue for model persistence: Keras HDF5 files (weights and full
// models), model configs (JSON) and the optimizer state. The file format
// itself lives in formats/keras_h5.*; this file maps engine models to and
// from the structures Keras writes (model_config / training_config JSON,
// layer_names, weight_names, optimizer_weights).
#include <Rcpp.h>
#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "keras_h5.h"
#include "model.h"
#include "optimizers.h"
#include "r_convert.h"
#include "r_handles.h"

using namespace Rcpp;
using namespace knr;

namespace {

struct H5Holder { kn::KerasH5 f; };

kn::KerasH5& h5_of(SEXP p) {
  XPtr<H5Holder> h(p);
  if (!h.get()) stop("invalid HDF5 handle");
  return h->f;
}

kn::Json shape_json(const kn::Shape& s, int64_t batch) {
  kn::Json b = kn::Json::array();
  if (batch < 0) b.push(kn::Json()); else b.push(kn::Json(batch));
  for (int64_t d : s) b.push(kn::Json(d));
  return b;
}

// Keras name of node `i`'s layer application: (layer name, node index).
struct NodeRef { std::string name; int index = 0; };

std::vector<NodeRef> node_refs(const kn::Graph& g) {
  std::vector<NodeRef> out(g.nodes.size());
  std::map<const kn::Layer*, int> count;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const kn::Node& n = g.nodes[i];
    if (!n.layer) { out[i] = {n.input_name, 0}; continue; }
    out[i] = {n.layer->name, count[n.layer.get()]++};
  }
  return out;
}

kn::Json ref_json(const NodeRef& r, bool with_kwargs) {
  kn::Json a = kn::Json::array();
  a.push(kn::Json(r.name));
  a.push(kn::Json(r.index));
  a.push(kn::Json(0));
  if (with_kwargs) a.push(kn::Json::object());
  return a;
}

// The config of a Sequential model's first layer must carry the input shape
// (Keras rebuilds the model from it); insert it after "trainable" if missing.
kn::Json with_batch_input_shape(const kn::Json& cfg, const kn::Node& input) {
  if (cfg.has("batch_input_shape")) return cfg;
  kn::Json out = kn::Json::object();
  bool done = false;
  for (auto& kv : cfg.items()) {
    out.set(kv.first, kv.second);
    if (kv.first == "trainable") {
      out.set("batch_input_shape", shape_json(input.shape, input.fixed_batch));
      out.set("dtype", "float32");
      done = true;
    }
  }
  if (!done) {
    out.set("batch_input_shape", shape_json(input.shape, input.fixed_batch));
    out.set("dtype", "float32");
  }
  return out;
}

// Keras 2.2.4 model.get_config() wrapped as {"class_name", "config"}.
kn::Json model_config(kn::Model& m, bool sequential) {
  const kn::Graph& g = m.graph;
  kn::Json root = kn::Json::object();
  kn::Json cfg = kn::Json::object();
  cfg.set("name", m.name);
  kn::Json layers = kn::Json::array();
  if (sequential) {
    root.set("class_name", "Sequential");
    bool first = true;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const kn::Node& n = g.nodes[i];
      if (!n.layer) continue;
      kn::Json lc = n.layer->config();
      if (first && !n.inputs.empty()) lc = with_batch_input_shape(lc, g.nodes[n.inputs[0]]);
      first = false;
      kn::Json e = kn::Json::object();
      e.set("class_name", n.layer->class_name());
      e.set("config", lc);
      layers.push(e);
    }
    cfg.set("layers", layers);
  } else {
    root.set("class_name", "Model");
    std::vector<NodeRef> refs = node_refs(g);
    // input layers first, then layers in first-use order, each with all its nodes
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const kn::Node& n = g.nodes[i];
      if (n.layer) continue;
      kn::Json c = kn::Json::object();
      c.set("batch_input_shape", shape_json(n.shape, n.fixed_batch));
      c.set("dtype", "float32");
      c.set("sparse", false);
      c.set("name", n.input_name);
      kn::Json e = kn::Json::object();
      e.set("name", n.input_name);
      e.set("class_name", "InputLayer");
      e.set("config", c);
      e.set("inbound_nodes", kn::Json::array());
      layers.push(e);
    }
    for (const kn::LayerPtr& l : g.layers()) {
      kn::Json inbound = kn::Json::array();
      for (size_t i = 0; i < g.nodes.size(); ++i) {
        const kn::Node& n = g.nodes[i];
        if (n.layer != l) continue;
        kn::Json node = kn::Json::array();
        for (int src : n.inputs) node.push(ref_json(refs[src], true));
        inbound.push(node);
      }
      kn::Json e = kn::Json::object();
      e.set("name", l->name);
      e.set("class_name", l->class_name());
      e.set("config", l->config());
      e.set("inbound_nodes", inbound);
      layers.push(e);
    }
    cfg.set("layers", layers);
    kn::Json ins = kn::Json::array(), outs = kn::Json::array();
    for (int i : g.inputs) ins.push(ref_json(refs[i], false));
    for (int o : g.outputs) outs.push(ref_json(refs[o], false));
    cfg.set("input_layers", ins);
    cfg.set("output_layers", outs);
  }
  root.set("config", cfg);
  return root;
}

// Weights-only layout: one group per layer (inputs too for functional
// models, as Keras 2.2.4's model.layers lists them), weights in param order.
std::vector<kn::H5Layer> model_weight_groups(kn::Model& m, bool sequential) {
  std::vector<kn::H5Layer> out;
  if (!sequential)
    for (const kn::Node& n : m.graph.nodes)
      if (!n.layer) out.push_back(kn::H5Layer{n.input_name, {}});
  for (const kn::LayerPtr& l : m.graph.layers()) {
    kn::H5Layer hl;
    hl.name = l->name;
    for (const kn::Param& p : l->params) {
      kn::H5Weight w;
      w.name = l->name + "/" + p.name + ":0";
      w.shape = p.value.shape;
      w.data = p.value.data;
      hl.weights.push_back(std::move(w));
    }
    out.push_back(std::move(hl));
  }
  return out;
}

std::vector<kn::H5Weight> optimizer_weight_list(kn::Model& m) {
  std::vector<kn::H5Weight> out;
  kn::Optimizer* opt = m.optimizer();
  if (!opt) return out;
  std::vector<kn::Tensor*> st = opt->state();
  if (st.empty()) return out;
  std::vector<std::string> names = opt->state_names();
  size_t off = 0;
  if (opt->state_has_iterations()) {
    kn::H5Weight it;
    it.name = names.empty() ? "iterations:0" : names[0];
    it.shape = {};
    it.data = {static_cast<float>(opt->iterations)};
    it.dtype = "int64";
    it.int_data = {opt->iterations};
    out.push_back(std::move(it));
    off = 1;
  }
  for (size_t k = 0; k < st.size(); ++k) {
    kn::H5Weight w;
    w.name = k + off < names.size() ? names[k + off] : "training/Variable_" + std::to_string(k) + ":0";
    w.shape = st[k]->shape;
    w.data = st[k]->data;
    out.push_back(std::move(w));
  }
  return out;
}

std::string shape_txt(const kn::Shape& s) { return kn::shape_str(s, false); }

bool shapes_compatible(const kn::Shape& model, const kn::Shape& file, bool reshape) {
  if (model == file) return true;
  return reshape && kn::shape_numel(model) == kn::shape_numel(file);
}

// ---------------------------------------------------------------- config -> model

struct Ref { std::string name; int node = 0; int tensor = 0; };

// Inbound references in every Keras flavour: [name, node, tensor(, kwargs)]
// lists (Keras 2) or {"keras_history": [name, node, tensor]} objects (Keras 3).
void collect_refs(const kn::Json& j, std::vector<Ref>& out) {
  if (j.is_array()) {
    if (j.size() >= 3 && j[0].is_string() && j[1].is_number() && j[2].is_number()) {
      out.push_back(Ref{j[0].as_string(), static_cast<int>(j[1].as_int()), static_cast<int>(j[2].as_int())});
      return;
    }
    for (auto& e : j.elements()) collect_refs(e, out);
  } else if (j.is_object()) {
    if (j.has("keras_history")) { collect_refs(j["keras_history"], out); return; }
    for (auto& kv : j.items()) collect_refs(kv.second, out);
  }
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

// Builds one layer from a config entry; `custom` maps class names to a
// supported class name (string) or an R function(config_json) returning a
// layer handle.
kn::LayerPtr build_layer(const std::string& cls, const kn::Json& cfg, const List& custom) {
  std::string lname = cfg.is_object() && cfg.has("name") && cfg["name"].is_string() ? cfg["name"].as_string() : "?";
  if (cls == "Sequential" || cls == "Model" || cls == "Functional")
    throw kn::Error("layer '" + lname + "' is a nested " + cls + " model, which kerasnative cannot load; flatten the model first");
  std::string use = cls;
  if (custom.size() > 0 && custom.containsElementNamed(cls.c_str())) {
    SEXP v = custom[cls];
    if (Rf_isFunction(v)) {
      Function f(v);
      SEXP p = f(cfg.dump());
      return layer_of(p);
    }
    if (TYPEOF(v) == STRSXP && Rf_length(v) == 1) use = as<std::string>(v);
    else throw kn::Error("custom_objects entry '" + cls + "' must be the name of a supported layer class or a function");
  }
  std::vector<std::string> known = kn::registered_layers();
  if (std::find(known.begin(), known.end(), use) == known.end())
    throw kn::Error("unknown layer class '" + use + "' (layer '" + lname + "'); supply it through `custom_objects` " +
                    "(e.g. custom_objects = list(" + use + " = \"Dense\") or a function(config) returning a layer). " +
                    "Supported classes: " + join(known, ", "));
  try {
    return kn::make_layer(use, cfg);
  } catch (const kn::Error& e) {
    std::string msg = e.what();
    if (msg.find(lname) == std::string::npos) msg = "layer '" + lname + "' (" + use + "): " + msg;
    throw kn::Error(msg);
  }
}

// InputLayer config -> (per-sample shape, fixed batch).
void input_spec(const kn::Json& cfg, kn::Shape& shape, int64_t& fixed) {
  const kn::Json* b = nullptr;
  if (cfg.has("batch_input_shape") && cfg["batch_input_shape"].is_array()) b = &cfg["batch_input_shape"];
  else if (cfg.has("batch_shape") && cfg["batch_shape"].is_array()) b = &cfg["batch_shape"];
  std::string name = cfg.get("name", kn::Json("input")).is_string() ? cfg.get("name", kn::Json("input")).as_string() : "input";
  if (!b || b->size() < 1) throw kn::Error("InputLayer '" + name + "' has no batch_input_shape");
  fixed = (*b)[0].is_null() ? -1 : (*b)[0].as_int();
  shape.clear();
  for (size_t i = 1; i < b->size(); ++i) {
    if ((*b)[i].is_null())
      throw kn::Error("InputLayer '" + name + "': input shapes with unknown (NULL) dimensions other than the batch are not supported");
    shape.push_back((*b)[i].as_int());
  }
}

struct Built { std::unique_ptr<ModelHolder> h; bool sequential = true; };

Built build_model(const kn::Json& root_in, const List& custom, const std::string& default_name, double seed) {
  const kn::Json* root = &root_in;
  std::string cls;
  if (root->is_object() && root->has("class_name") && root->has("config")) {
    cls = (*root)["class_name"].as_string();
    root = &(*root)["config"];
  }
  Built b;
  b.h = std::make_unique<ModelHolder>();
  kn::Model& m = b.h->model;
  m.rng.seed(seed_of(seed));
  if (cls.empty()) cls = root->is_object() && root->has("input_layers") ? "Model" : "Sequential";
  if (cls != "Sequential" && cls != "Model" && cls != "Functional")
    throw kn::Error("the configuration describes a '" + cls + "', not a model (expected Sequential or Model)");
  m.name = root->is_object() && root->has("name") && (*root)["name"].is_string() ? (*root)["name"].as_string() : default_name;
  if (m.name.empty()) m.name = cls == "Sequential" ? "sequential_1" : "model_1";
  const kn::Json& layers = root->is_array() ? *root : (*root)["layers"];
  if (!layers.is_array()) throw kn::Error("model config: \"layers\" must be a list");
  kn::Graph& g = m.graph;
  if (cls == "Sequential") {
    b.sequential = true;
    int last = -1, input = -1;
    for (size_t i = 0; i < layers.size(); ++i) {
      const kn::Json& e = layers[i];
      std::string lc = e["class_name"].as_string();
      const kn::Json& cfg = e["config"];
      if (lc == "InputLayer") {
        if (input >= 0) throw kn::Error("Sequential config: InputLayer must be the first entry");
        kn::Shape s;
        int64_t fixed;
        input_spec(cfg, s, fixed);
        input = last = g.add_input(s, cfg.get("name", kn::Json("input_1")).as_string(), fixed);
        continue;
      }
      kn::LayerPtr l = build_layer(lc, cfg, custom);
      if (input < 0) {
        if (!l->has_batch_input_shape)
          throw kn::Error("Sequential config: the first layer ('" + l->name + "') has no batch_input_shape, so the input shape is unknown");
        input = last = g.add_input(l->batch_input_shape, l->name + "_input", l->fixed_batch_size);
      }
      last = g.add(l, {last}, m.rng);
    }
    if (input < 0) throw kn::Error("Sequential config has no layers");
    g.inputs = {input};
    g.outputs = {last};
    g.invalidate();
    return b;
  }
  b.sequential = false;
  // create layers (InputLayers become input nodes right away)
  struct Pending { size_t entry; int node; std::vector<Ref> refs; };
  std::map<std::string, kn::LayerPtr> layer_by_name;
  std::map<std::string, int> node_id;  // "name#node" -> graph node
  auto key = [](const std::string& n, int k) { return n + "#" + std::to_string(k); };
  std::vector<Pending> pending;
  for (size_t i = 0; i < layers.size(); ++i) {
    const kn::Json& e = layers[i];
    std::string lc = e["class_name"].as_string();
    const kn::Json& cfg = e["config"];
    std::string name = e.has("name") ? e["name"].as_string() : cfg["name"].as_string();
    if (layer_by_name.count(name) || node_id.count(key(name, 0)))
      throw kn::Error("model config: two layers are named '" + name + "'");
    if (lc == "InputLayer") {
      kn::Shape s;
      int64_t fixed;
      input_spec(cfg, s, fixed);
      node_id[key(name, 0)] = g.add_input(s, name, fixed);
      continue;
    }
    kn::LayerPtr l = build_layer(lc, cfg, custom);
    l->name = name;
    layer_by_name[name] = l;
    const kn::Json& inbound = e.get("inbound_nodes", kn::Json::array());
    for (size_t k = 0; k < inbound.size(); ++k) {
      Pending p{i, static_cast<int>(k), {}};
      collect_refs(inbound[k], p.refs);
      if (p.refs.empty()) throw kn::Error("model config: node " + std::to_string(k) + " of layer '" + name + "' has no inputs");
      pending.push_back(std::move(p));
    }
  }
  while (!pending.empty()) {
    bool progress = false;
    for (size_t pi = 0; pi < pending.size();) {
      Pending& p = pending[pi];
      std::vector<int> ins;
      bool ready = true;
      for (const Ref& r : p.refs) {
        if (r.tensor != 0) throw kn::Error("model config: layers with several outputs are not supported (reference to '" + r.name + "' tensor " + std::to_string(r.tensor) + ")");
        auto it = node_id.find(key(r.name, r.node));
        if (it == node_id.end()) { ready = false; break; }
        ins.push_back(it->second);
      }
      if (!ready) { ++pi; continue; }
      const kn::Json& e = layers[p.entry];
      std::string name = e.has("name") ? e["name"].as_string() : e["config"]["name"].as_string();
      node_id[key(name, p.node)] = g.add(layer_by_name[name], ins, m.rng);
      pending.erase(pending.begin() + pi);
      progress = true;
    }
    if (!progress) {
      const Pending& p = pending.front();
      std::vector<std::string> miss;
      for (const Ref& r : p.refs)
        if (!node_id.count(key(r.name, r.node))) miss.push_back("'" + r.name + "' node " + std::to_string(r.node));
      std::string name = layers[p.entry].has("name") ? layers[p.entry]["name"].as_string() : "?";
      throw kn::Error("model config: cannot connect layer '" + name + "': missing input(s) " + join(miss, ", "));
    }
  }
  auto refs_of = [&](const char* what) {
    std::vector<int> ids;
    const kn::Json& v = (*root)[what];
    std::vector<Ref> refs;
    if (v.is_array() && v.size() >= 1 && v[0].is_string()) {  // a single ["name", 0, 0]
      collect_refs(v, refs);
    } else {
      collect_refs(v, refs);
    }
    for (const Ref& r : refs) {
      auto it = node_id.find(key(r.name, r.node));
      if (it == node_id.end()) throw kn::Error(std::string("model config: ") + what + " names unknown layer '" + r.name + "'");
      ids.push_back(it->second);
    }
    if (ids.empty()) throw kn::Error(std::string("model config: ") + what + " is empty");
    return ids;
  };
  g.inputs = refs_of("input_layers");
  g.outputs = refs_of("output_layers");
  for (int i : g.inputs)
    if (g.nodes[i].layer) throw kn::Error("model config: model inputs must be InputLayers");
  g.invalidate();
  return b;
}

// ---------------------------------------------------------------- weights

struct Assign { kn::Param* p; const std::vector<float>* src; };

std::vector<std::string> load_weights(kn::Model& m, const kn::KerasH5& f, bool by_name, bool skip_mismatch,
                                      bool reshape) {
  std::vector<std::string> warnings;
  std::vector<Assign> todo;
  std::vector<kn::LayerPtr> layers = m.graph.layers();
  auto check_layer = [&](kn::Layer& l, const kn::H5Layer& hl) -> bool {
    if (hl.weights.size() != l.params.size()) {
      std::string msg = "layer '" + l.name + "' (" + l.class_name() + ") has " + std::to_string(l.params.size()) +
                        " weight array(s) but the file's layer '" + hl.name + "' has " + std::to_string(hl.weights.size());
      if (by_name && skip_mismatch) { warnings.push_back("skipping " + msg); return false; }
      throw kn::Error(msg);
    }
    for (size_t k = 0; k < l.params.size(); ++k) {
      const kn::Shape& ms = l.params[k].value.shape;
      const kn::H5Weight& w = hl.weights[k];
      if (!shapes_compatible(ms, w.shape, reshape)) {
        std::string msg = "layer '" + l.name + "': weight '" + l.params[k].name + "' has shape " + shape_txt(ms) +
                          " in the model but the file's '" + w.name + "' has shape " + shape_txt(w.shape);
        if (by_name && skip_mismatch) { warnings.push_back("skipping " + msg); continue; }
        throw kn::Error(msg);
      }
      todo.push_back(Assign{&l.params[k], &w.data});
    }
    return true;
  };
  if (by_name) {
    std::map<std::string, const kn::H5Layer*> by;
    for (const kn::H5Layer& hl : f.layers) by[hl.name] = &hl;
    for (const kn::LayerPtr& l : layers) {
      auto it = by.find(l->name);
      if (it == by.end()) continue;
      check_layer(*l, *it->second);
    }
  } else {
    std::vector<kn::Layer*> ml;
    std::vector<const kn::H5Layer*> fl;
    std::vector<std::string> mn, fn;
    for (const kn::LayerPtr& l : layers)
      if (!l->params.empty()) { ml.push_back(l.get()); mn.push_back(l->name); }
    for (const kn::H5Layer& hl : f.layers)
      if (!hl.weights.empty()) { fl.push_back(&hl); fn.push_back(hl.name); }
    if (ml.size() != fl.size())
      throw kn::Error("the weight file has " + std::to_string(fl.size()) + " layer(s) with weights (" + join(fn, ", ") +
                      ") but the model has " + std::to_string(ml.size()) + " (" + join(mn, ", ") + ")");
    for (size_t i = 0; i < ml.size(); ++i) check_layer(*ml[i], *fl[i]);
  }
  for (Assign& a : todo) a.p->value.data = *a.src;
  return warnings;
}

// Optimizer state: Keras 2.2.4 positional order, or the Keras >= 2.11
// optimizer's named slots ("iteration:0", "Adam/m/dense/kernel:0", ...).
std::string load_optimizer_state(kn::Model& m, const kn::KerasH5& f, double fallback_iterations) {
  kn::Optimizer* opt = m.optimizer();
  if (!opt) return "the model is not compiled";
  std::vector<kn::Param*> params = m.trainable_params();
  opt->init_state(params);
  opt->iterations = 0;
  std::vector<kn::Tensor*> st = opt->state();
  const std::vector<kn::H5Weight>& w = f.optimizer_weights;
  if (w.empty()) return "";
  size_t off = opt->state_has_iterations() ? 1 : 0;
  // Iteration counts read from files are checked before the integer cast (a
  // NaN cast is undefined: it gave -9.2e18): whole numbers in [0, 2^53], else -1.
  auto whole = [](double v) -> int64_t {
    return std::isfinite(v) && v >= 0 && v <= 9007199254740992.0 && v == std::floor(v) ? static_cast<int64_t>(v) : -1;
  };
  auto count_of = [&](const kn::H5Weight& x) -> int64_t {
    if (!x.int_data.empty()) return x.int_data[0] >= 0 ? x.int_data[0] : -1;
    return x.data.empty() ? -1 : whole(x.data[0]);
  };
  const int64_t fallback = whole(fallback_iterations);
  auto fail = [&](const std::string& why) {
    opt->init_state(params);
    opt->iterations = 0;
    return "could not restore the optimizer state (" + why + "); the optimizer starts fresh";
  };
  // Keras 2.2.4: positional
  if (w.size() == st.size() + off) {
    bool ok = true;
    std::string why;
    if (off && !w[0].shape.empty() && kn::shape_numel(w[0].shape) != 1) { ok = false; why = "first weight is not the iteration count"; }
    for (size_t k = 0; ok && k < st.size(); ++k)
      if (st[k]->shape != w[k + off].shape) {
        ok = false;
        why = "'" + w[k + off].name + "' has shape " + shape_txt(w[k + off].shape) + ", expected " + shape_txt(st[k]->shape);
      }
    if (ok) {
      const int64_t it = off ? count_of(w[0]) : fallback;
      if (it < 0) return fail("iteration count '" + (off ? w[0].name : std::string("kerasnative_iterations")) + "' is not a whole number >= 0");
      for (size_t k = 0; k < st.size(); ++k) st[k]->data = w[k + off].data;
      opt->iterations = it;
      return "";
    }
    bool named = false;
    for (auto& x : w) if (x.name.find("iteration:") != std::string::npos) named = true;
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
  std::vector<std::pair<kn::Tensor*, const kn::H5Weight*>> todo;
  int64_t iters = -1;
  for (const kn::H5Weight& x : w) {
    std::string nm = x.name;
    size_t colon = nm.rfind(':');
    if (colon != std::string::npos) nm = nm.substr(0, colon);
    if (nm == "iteration" || nm == "iterations" || nm.size() >= 10 && nm.substr(nm.size() - 10) == "/iteration") {
      iters = count_of(x);
      if (iters < 0) return fail("iteration count '" + x.name + "' is not a whole number >= 0");
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
  if (iters < 0 && fallback < 0) return fail("the stored iteration count is not a whole number >= 0");
  opt->iterations = iters >= 0 ? iters : fallback;
  return "";
}

}  // namespace

// ---------------------------------------------------------------- exports

// Reads a Keras HDF5 file; returns its metadata and a handle on the arrays.
// [[Rcpp::export]]
List cpp_h5_read(std::string path) {
  auto h = std::make_unique<H5Holder>();
  h->f = kn::read_keras_h5(path);
  const kn::KerasH5& f = h->f;
  CharacterVector names(f.layers.size());
  List wnames(f.layers.size());
  for (size_t i = 0; i < f.layers.size(); ++i) {
    names[i] = f.layers[i].name;
    CharacterVector wn(f.layers[i].weights.size());
    for (size_t k = 0; k < f.layers[i].weights.size(); ++k) wn[k] = f.layers[i].weights[k].name;
    wnames[i] = wn;
  }
  CharacterVector onames(f.optimizer_weights.size());
  for (size_t k = 0; k < f.optimizer_weights.size(); ++k) onames[k] = f.optimizer_weights[k].name;
  return List::create(_["handle"] = XPtr<H5Holder>(h.release(), true), _["keras_version"] = f.keras_version,
                      _["backend"] = f.backend, _["model_config"] = f.model_config,
                      _["training_config"] = f.training_config, _["full_model"] = f.full_model,
                      _["layer_names"] = names, _["weight_names"] = wnames, _["optimizer_weight_names"] = onames);
}

// The arrays of one layer of a read file (R arrays, Keras shapes).
// [[Rcpp::export]]
List cpp_h5_layer_weights(SEXP h5, std::string layer) {
  const kn::KerasH5& f = h5_of(h5);
  for (const kn::H5Layer& l : f.layers) {
    if (l.name != layer) continue;
    List out(l.weights.size());
    CharacterVector nm(l.weights.size());
    for (size_t k = 0; k < l.weights.size(); ++k) {
      kn::Tensor t;
      t.shape = l.weights[k].shape;
      t.data = l.weights[k].data;
      out[k] = knr::tensor_to_r(t, true);
      nm[k] = l.weights[k].name;
    }
    out.attr("names") = nm;
    return out;
  }
  stop("the file has no layer '%s'", layer);
}

// One numeric dataset of any HDF5 file as an R array (row-major shape kept:
// x[i, j] is element (i, j)); for test fixtures that are not Keras files.
// [[Rcpp::export]]
SEXP cpp_h5_dataset(std::string path, std::string name) {
  H5E_auto2_t old_fn;
  void* old_data;
  H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) { H5Eset_auto2(H5E_DEFAULT, old_fn, old_data); stop("cannot open HDF5 file '%s'", path); }
  hid_t ds = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
  if (ds < 0) { H5Fclose(file); H5Eset_auto2(H5E_DEFAULT, old_fn, old_data); stop("'%s' has no dataset '%s'", path, name); }
  hid_t sp = H5Dget_space(ds);
  int nd = H5Sget_simple_extent_ndims(sp);
  std::vector<hsize_t> dims(std::max(nd, 0));
  if (nd > 0) H5Sget_simple_extent_dims(sp, dims.data(), nullptr);
  kn::Shape shape(dims.begin(), dims.end());
  std::vector<double> buf(static_cast<size_t>(kn::shape_numel(shape)));
  herr_t rc = buf.empty() ? 0 : H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
  H5Sclose(sp);
  H5Dclose(ds);
  H5Fclose(file);
  H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
  if (rc < 0) stop("cannot read dataset '%s' of '%s' as numbers", name, path);
  kn::Tensor t;
  t.shape = shape.empty() ? kn::Shape{1} : shape;
  t.data.assign(buf.begin(), buf.end());
  return knr::tensor_to_r(t, true);
}

// Keras model_config JSON of a model ({"class_name", "config"}), with
// keras_version/backend appended when `to_json` (model.to_json()).
// [[Rcpp::export]]
std::string cpp_model_config_json(SEXP model, bool sequential, bool to_json) {
  kn::Json j = model_config(model_of(model), sequential);
  if (to_json) {
    j.set("keras_version", "2.2.4");
    j.set("backend", "tensorflow");
  }
  return j.dump();
}

// Keras 2.2.4 training_config JSON from the engine optimizer and the compile
// arguments kept in R.
// [[Rcpp::export]]
std::string cpp_model_training_config(SEXP model, CharacterVector loss, CharacterVector metrics,
                                      Nullable<NumericVector> loss_weights) {
  kn::Model& m = model_of(model);
  kn::Optimizer* opt = m.optimizer();
  if (!opt) return "";
  kn::Json tc = kn::Json::object();
  kn::Json oc = kn::Json::object();
  oc.set("class_name", opt->class_name());
  oc.set("config", opt->config());
  tc.set("optimizer_config", oc);
  if (loss.size() == 1) {
    tc.set("loss", as<std::string>(loss[0]));
  } else {
    kn::Json l = kn::Json::array();
    for (R_xlen_t i = 0; i < loss.size(); ++i) l.push(kn::Json(as<std::string>(loss[i])));
    tc.set("loss", l);
  }
  kn::Json mt = kn::Json::array();
  for (R_xlen_t i = 0; i < metrics.size(); ++i) mt.push(kn::Json(as<std::string>(metrics[i])));
  tc.set("metrics", mt);
  tc.set("sample_weight_mode", kn::Json());
  if (loss_weights.isNull()) {
    tc.set("loss_weights", kn::Json());
  } else {
    NumericVector lw(loss_weights.get());
    kn::Json a = kn::Json::array();
    for (double v : lw) a.push(kn::Json(v));
    tc.set("loss_weights", a);
  }
  // Keras 2.2.4 does not save `iterations` for RMSprop/Adagrad; keep it here
  // (an extra key Keras ignores) so that lr decay resumes exactly.
  if (!opt->state_has_iterations()) tc.set("kerasnative_iterations", kn::Json(opt->iterations));
  return tc.dump();
}

// Writes the model as Keras 2.2.4 does: weights only (full = false) or the
// full model (architecture, training config, weights, optimizer state).
// [[Rcpp::export]]
void cpp_model_save_h5(SEXP model, std::string path, bool sequential, bool full, bool include_optimizer,
                       std::string training_config) {
  kn::Model& m = model_of(model);
  kn::KerasH5 f;
  f.layers = model_weight_groups(m, sequential);
  if (full) {
    f.model_config = model_config(m, sequential).dump();
    if (include_optimizer) {
      f.training_config = training_config;
      if (!training_config.empty()) f.optimizer_weights = optimizer_weight_list(m);
    }
  }
  kn::write_keras_h5(path, f, full);
}

// Builds an engine model from a Keras model config (JSON text). Returns
// list(ptr, sequential, name).
// [[Rcpp::export]]
List cpp_model_from_config(std::string json, List custom_objects, std::string default_name, double seed) {
  kn::Json j = kn::Json::parse(json);
  Built b = build_model(j, custom_objects, default_name, seed);
  std::string name = b.h->model.name;
  return List::create(_["ptr"] = XPtr<ModelHolder>(b.h.release(), true), _["sequential"] = b.sequential,
                      _["name"] = name);
}

// Loads the weights of a read file into the model (all checked before any is
// assigned). Returns warnings (skipped layers with skip_mismatch).
// [[Rcpp::export]]
CharacterVector cpp_model_load_weights(SEXP model, SEXP h5, bool by_name, bool skip_mismatch, bool reshape) {
  kn::Model& m = model_of(model);
  std::vector<std::string> w = load_weights(m, h5_of(h5), by_name, skip_mismatch, reshape);
  m.graph.invalidate();
  return wrap(w);
}

// Restores the optimizer state of a read file into a compiled model; returns
// "" or a warning (the optimizer then starts fresh).
// [[Rcpp::export]]
std::string cpp_model_load_optimizer_state(SEXP model, SEXP h5, double fallback_iterations) {
  return load_optimizer_state(model_of(model), h5_of(h5), fallback_iterations);
}
