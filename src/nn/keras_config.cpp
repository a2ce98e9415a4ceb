// Keras model configs <-> engine models (see keras_config.h).
#include "keras_config.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace kn {

namespace {

Json shape_json(const Shape& s, int64_t batch) {
  Json b = Json::array();
  if (batch < 0) b.push(Json()); else b.push(Json(batch));
  for (int64_t d : s) b.push(Json(d));
  return b;
}

// Keras name of node `i`'s layer application: (layer name, node index, tensor
// index); an output-selection node names output `tensor` of its producer.
struct NodeRef { std::string name; int index = 0; int tensor = 0; };

std::vector<NodeRef> node_refs(const Graph& g) {
  std::vector<NodeRef> out(g.nodes.size());
  std::map<const Layer*, int> count;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    if (n.is_output_select()) { out[i] = out[n.inputs[0]]; out[i].tensor = n.output_index; continue; }
    if (!n.layer) { out[i] = {n.is_op() ? n.scope : n.input_name, 0}; continue; }
    out[i] = {n.layer->name, count[n.layer.get()]++};
  }
  return out;
}

Json ref_json(const NodeRef& r, bool with_kwargs) {
  Json a = Json::array();
  a.push(Json(r.name));
  a.push(Json(r.index));
  a.push(Json(r.tensor));
  if (with_kwargs) a.push(Json::object());
  return a;
}

// The config of a Sequential model's first layer must carry the input shape
// (Keras rebuilds the model from it); insert it after "trainable" if missing.
Json with_batch_input_shape(const Json& cfg, const Node& input) {
  if (cfg.has("batch_input_shape")) return cfg;
  Json out = Json::object();
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

}  // namespace

Json keras_model_config(const Model& m, bool sequential) {
  const Graph& g = m.graph;
  if (g.has_model_ops())
    throw Error("models with backend (k_*) ops or tensor arithmetic outside a layer cannot be saved: wrap them in "
                "layer_lambda() (Lambda layers and custom layers are saved)");
  Json root = Json::object();
  Json cfg = Json::object();
  cfg.set("name", m.name);
  Json layers = Json::array();
  if (sequential) {
    root.set("class_name", "Sequential");
    bool first = true;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const Node& n = g.nodes[i];
      if (!n.layer) continue;
      Json lc = layer_config(*n.layer);
      if (first && !n.inputs.empty()) lc = with_batch_input_shape(lc, g.nodes[n.inputs[0]]);
      first = false;
      Json e = Json::object();
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
      const Node& n = g.nodes[i];
      if (!n.is_input() || n.role != NodeRole::Model) continue;  // y_true placeholders are not inputs
      Json c = Json::object();
      c.set("batch_input_shape", shape_json(n.shape, n.fixed_batch));
      c.set("dtype", "float32");
      c.set("sparse", false);
      c.set("name", n.input_name);
      Json e = Json::object();
      e.set("name", n.input_name);
      e.set("class_name", "InputLayer");
      e.set("config", c);
      e.set("inbound_nodes", Json::array());
      layers.push(e);
    }
    for (const LayerPtr& l : g.layers()) {
      Json inbound = Json::array();
      for (size_t i = 0; i < g.nodes.size(); ++i) {
        const Node& n = g.nodes[i];
        if (n.layer != l) continue;
        Json node = Json::array();
        for (int src : n.inputs) node.push(ref_json(refs[src], true));
        inbound.push(node);
      }
      Json e = Json::object();
      e.set("name", l->name);
      e.set("class_name", l->class_name());
      e.set("config", layer_config(*l));
      e.set("inbound_nodes", inbound);
      layers.push(e);
    }
    cfg.set("layers", layers);
    Json ins = Json::array(), outs = Json::array();
    for (int i : g.inputs) ins.push(ref_json(refs[i], false));
    for (int o : g.outputs) outs.push(ref_json(refs[o], false));
    cfg.set("input_layers", ins);
    cfg.set("output_layers", outs);
  }
  root.set("config", cfg);
  return root;
}

namespace {

struct Ref { std::string name; int node = 0; int tensor = 0; };

// Inbound references in every Keras flavour: [name, node, tensor(, kwargs)]
// lists (Keras 2) or {"keras_history": [name, node, tensor]} objects (Keras 3).
void collect_refs(const Json& j, std::vector<Ref>& out) {
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

// Builds one layer from a config entry, through `custom` for classes it names.
LayerPtr build_layer(const std::string& cls, const Json& cfg, const CustomLayers& custom) {
  std::string lname = cfg.is_object() && cfg.has("name") && cfg["name"].is_string() ? cfg["name"].as_string() : "?";
  if (cls == "Sequential" || cls == "Model" || cls == "Functional")
    throw Error("layer '" + lname + "' is a nested " + cls + " model, which kerasnative cannot load; flatten the model first");
  std::string use = cls;
  auto c = custom.find(cls);
  if (c != custom.end()) {
    if (c->second.build) {
      LayerPtr l = c->second.build(cfg);
      if (!l) throw Error("custom_objects entry '" + cls + "' returned no layer (layer '" + lname + "')");
      return l;
    }
    if (c->second.use_class.empty())
      throw Error("custom_objects entry '" + cls + "' must be the name of a supported layer class or a function");
    use = c->second.use_class;
  }
  if (use == "Lambda")  // its function is R (or Python) code that configs only name
    throw Error("Lambda layer '" + lname + "' needs its R function: load the model with custom_objects = " +
                "list(<function name> = <function>) (models with Lambda or R6 custom layers cannot be " +
                "restored from readRDS()/unserialize(); use save_model_hdf5() and load_model_hdf5())");
  std::vector<std::string> known = registered_layers();
  if (std::find(known.begin(), known.end(), use) == known.end())
    throw Error("unknown layer class '" + use + "' (layer '" + lname + "'); supply it through `custom_objects` " +
                    "(e.g. custom_objects = list(" + use + " = \"Dense\") or a function(config) returning a layer). " +
                    "Supported classes: " + join(known, ", "));
  try {
    return make_layer(use, cfg);
  } catch (const Error& e) {
    std::string msg = e.what();
    if (msg.find(lname) == std::string::npos) msg = "layer '" + lname + "' (" + use + "): " + msg;
    throw Error(msg);
  }
}

// InputLayer config -> (per-sample shape, fixed batch).
void input_spec(const Json& cfg, Shape& shape, int64_t& fixed) {
  const Json* b = nullptr;
  if (cfg.has("batch_input_shape") && cfg["batch_input_shape"].is_array()) b = &cfg["batch_input_shape"];
  else if (cfg.has("batch_shape") && cfg["batch_shape"].is_array()) b = &cfg["batch_shape"];
  Json nm = cfg.get("name", Json("input"));
  std::string name = nm.is_string() ? nm.as_string() : "input";
  if (!b || b->size() < 1) throw Error("InputLayer '" + name + "' has no batch_input_shape");
  fixed = (*b)[0].is_null() ? -1 : (*b)[0].as_int();
  shape.clear();
  for (size_t i = 1; i < b->size(); ++i) {
    if ((*b)[i].is_null())
      throw Error("InputLayer '" + name + "': input shapes with unknown (NULL) dimensions other than the batch are not supported");
    shape.push_back((*b)[i].as_int());
  }
}

}  // namespace

bool model_from_keras_config(const Json& root_in, const CustomLayers& custom, const std::string& default_name,
                             Model& m) {
  const Json* root = &root_in;
  std::string cls;
  if (root->is_object() && root->has("class_name") && root->has("config")) {
    cls = (*root)["class_name"].as_string();
    root = &(*root)["config"];
  }
  if (!m.graph.nodes.empty()) throw Error("model_from_keras_config: the model is not empty");
  if (cls.empty()) cls = root->is_object() && root->has("input_layers") ? "Model" : "Sequential";
  if (cls != "Sequential" && cls != "Model" && cls != "Functional")
    throw Error("the configuration describes a '" + cls + "', not a model (expected Sequential or Model)");
  m.name = root->is_object() && root->has("name") && (*root)["name"].is_string() ? (*root)["name"].as_string() : default_name;
  if (m.name.empty()) m.name = cls == "Sequential" ? "sequential_1" : "model_1";
  const Json& layers = root->is_array() ? *root : (*root)["layers"];
  if (!layers.is_array()) throw Error("model config: \"layers\" must be a list");
  Graph& g = m.graph;
  if (cls == "Sequential") {
    int last = -1, input = -1;
    for (size_t i = 0; i < layers.size(); ++i) {
      const Json& e = layers[i];
      std::string lc = e["class_name"].as_string();
      const Json& cfg = e["config"];
      if (lc == "InputLayer") {
        if (input >= 0) throw Error("Sequential config: InputLayer must be the first entry");
        Shape s;
        int64_t fixed;
        input_spec(cfg, s, fixed);
        input = last = g.add_input(s, cfg.get("name", Json("input_1")).as_string(), fixed);
        continue;
      }
      LayerPtr l = build_layer(lc, cfg, custom);
      if (input < 0) {
        if (!l->has_batch_input_shape)
          throw Error("Sequential config: the first layer ('" + l->name + "') has no batch_input_shape, so the input shape is unknown");
        input = last = g.add_input(l->batch_input_shape, l->name + "_input", l->fixed_batch_size);
      }
      last = g.add(l, {last}, m.rng);
    }
    if (input < 0) throw Error("Sequential config has no layers");
    g.inputs = {input};
    g.outputs = {last};
    g.invalidate();
    return true;
  }
  // create layers (InputLayers become input nodes right away)
  struct Pending { size_t entry; int node; std::vector<Ref> refs; };
  std::map<std::string, LayerPtr> layer_by_name;
  std::map<std::string, int> node_id;  // "name#node" -> graph node
  auto key = [](const std::string& n, int k) { return n + "#" + std::to_string(k); };
  std::vector<Pending> pending;
  // Tensor `r.tensor` of the node `id` that `r` names (one selection node per output).
  std::map<std::pair<int, int>, int> selected;
  auto output_of = [&](int id, const Ref& r) {
    if (r.tensor == 0) return id;
    auto it = selected.find({id, r.tensor});
    if (it != selected.end()) return it->second;
    int sel;
    try {
      sel = g.add_output(id, r.tensor);
    } catch (const Error& e) {
      throw Error("model config: reference to '" + r.name + "' tensor " + std::to_string(r.tensor) + ": " + e.what());
    }
    selected[{id, r.tensor}] = sel;
    return sel;
  };
  for (size_t i = 0; i < layers.size(); ++i) {
    const Json& e = layers[i];
    std::string lc = e["class_name"].as_string();
    const Json& cfg = e["config"];
    std::string name = e.has("name") ? e["name"].as_string() : cfg["name"].as_string();
    if (layer_by_name.count(name) || node_id.count(key(name, 0)))
      throw Error("model config: two layers are named '" + name + "'");
    if (lc == "InputLayer") {
      Shape s;
      int64_t fixed;
      input_spec(cfg, s, fixed);
      node_id[key(name, 0)] = g.add_input(s, name, fixed);
      continue;
    }
    LayerPtr l = build_layer(lc, cfg, custom);
    l->name = name;
    layer_by_name[name] = l;
    Json inbound = e.get("inbound_nodes", Json::array());
    for (size_t k = 0; k < inbound.size(); ++k) {
      Pending p{i, static_cast<int>(k), {}};
      collect_refs(inbound[k], p.refs);
      if (p.refs.empty()) throw Error("model config: node " + std::to_string(k) + " of layer '" + name + "' has no inputs");
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
        auto it = node_id.find(key(r.name, r.node));
        if (it == node_id.end()) { ready = false; break; }
        ins.push_back(output_of(it->second, r));
      }
      if (!ready) { ++pi; continue; }
      const Json& e = layers[p.entry];
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
      throw Error("model config: cannot connect layer '" + name + "': missing input(s) " + join(miss, ", "));
    }
  }
  auto refs_of = [&](const char* what) {
    std::vector<int> ids;
    const Json& v = (*root)[what];
    std::vector<Ref> refs;  // a single ["name", 0, 0] or a list of them
    collect_refs(v, refs);
    for (const Ref& r : refs) {
      auto it = node_id.find(key(r.name, r.node));
      if (it == node_id.end()) throw Error(std::string("model config: ") + what + " names unknown layer '" + r.name + "'");
      ids.push_back(output_of(it->second, r));
    }
    if (ids.empty()) throw Error(std::string("model config: ") + what + " is empty");
    return ids;
  };
  g.inputs = refs_of("input_layers");
  g.outputs = refs_of("output_layers");
  for (int i : g.inputs)
    if (g.nodes[i].layer) throw Error("model config: model inputs must be InputLayers");
  g.invalidate();
  return false;
}

}  // namespace kn
