// The map graph of dataset_map(): ops of the one op table (src/ops), run per
// element on the thread that maps it. Each thread owns a GraphExecutor whose
// buffers, attribute copies and op states (e.g. the Example parser) are made
// once and reused for every element.
//
// Ops with a data kernel (parse_example, decode_raw, cast) run on Values;
// layout-only ops (reshape, expand_dims, squeeze, identity) move the Value
// and give it the inferred shape; every other op converts its inputs to
// float32 tensors (float32 data is swapped in, not copied), runs the op's
// forward kernel and converts back to the inferred dtype.
#include <cmath>

#pragma GCC optimize("O3")

#include "dataset.h"

namespace kn {

namespace {

void copy_value(const Value& x, Value& out) {
  out.dtype = x.dtype;
  out.shape = x.shape;
  if (x.dtype == DType::Float32) out.f.assign(x.f.begin(), x.f.end());
  else if (x.dtype == DType::String) out.s.assign(x.s.begin(), x.s.end());
  else out.i.assign(x.i.begin(), x.i.end());
}

// Integers beyond 2^24 do not fit float32 exactly: refuse rather than round.
constexpr int64_t kExactFloatInt = int64_t(1) << 24;

// Value -> tensor for a float kernel; `steal` moves float32 data (the value
// has no other reader).
void to_tensor(Value& v, Tensor& t, bool steal, const char* op) {
  t.shape = v.shape;
  if (v.dtype == DType::Float32) {
    if (steal) std::swap(v.f, t.data);
    else t.data.assign(v.f.begin(), v.f.end());
    return;
  }
  const size_t n = v.i.size();
  t.data.resize(n);
  float* __restrict d = t.data.data();
  const int64_t* __restrict s = v.i.data();
  bool exact = true;
  for (size_t j = 0; j < n; ++j) {
    exact = exact && s[j] <= kExactFloatInt && s[j] >= -kExactFloatInt;
    d[j] = static_cast<float>(s[j]);
  }
  if (!exact)
    throw Error(std::string(op) + ": " + dtype_name(v.dtype) + " values beyond 2^24 cannot be computed exactly by this op "
                "(its kernel works in float32; parse_example, decode_raw, cast and reshape keep 64-bit integers)");
}

void from_tensor(Tensor& t, DType dt, Value& o) {
  o.dtype = dt;
  o.shape = t.shape;
  if (dt == DType::Float32) {
    std::swap(o.f, t.data);
    return;
  }
  const size_t n = t.data.size();
  o.i.resize(n);
  const float* __restrict s = t.data.data();
  int64_t* __restrict d = o.i.data();
  if (dt == DType::Bool) for (size_t j = 0; j < n; ++j) d[j] = s[j] != 0.0f;
  else for (size_t j = 0; j < n; ++j) d[j] = static_cast<int64_t>(std::nearbyint(s[j]));
}

}  // namespace

struct GraphExecutor::Impl {
  const MapGraph& g;
  std::vector<OpAttrs> attrs;                   // per node: this thread's copy
  std::vector<std::unique_ptr<OpState>> states; // per node: data-kernel state (or null)
  std::vector<Value> own;                       // (n_values,) node outputs (inputs unused)
  std::vector<Value*> val;                      // (n_values,) inputs -> element, others -> own
  std::vector<int> first_out;                   // per node: id of its first output
  std::vector<int> uses;                        // per value: reads (node inputs + graph outputs)
  std::vector<std::vector<Tensor>> tin;         // per node, per input: float32 operands
  std::vector<Tensor> tout;                     // per node: float32 result
  std::vector<const Tensor*> tptr;
  std::vector<std::vector<TType>> last_in;      // per node: input types of the last inference
  std::vector<TType> last_out;                  // per node: its result
  std::vector<char> has_last;                   // per node: last_in/last_out valid
  std::vector<const Value*> vin;
  std::vector<Value*> vout;
  std::vector<Value> spare_;                    // (n_outputs,) recycled component buffers

  explicit Impl(const MapGraph& graph) : g(graph) {
    int next = g.n_inputs;
    for (const MapOpNode& n : g.nodes) {
      first_out.push_back(next);
      next += n.n_out;
      attrs.push_back(n.attrs);
      const OpDef& d = op_def(n.op);
      states.push_back(d.data && d.data->make_state ? d.data->make_state(n.attrs) : nullptr);
      tin.emplace_back(n.inputs.size());
    }
    tout.resize(g.nodes.size());
    last_in.resize(g.nodes.size());
    last_out.resize(g.nodes.size());
    has_last.assign(g.nodes.size(), 0);
    own.resize(next);
    val.resize(next, nullptr);
    for (int k = g.n_inputs; k < next; ++k) val[k] = &own[k];
    uses.assign(next, 0);
    for (const MapOpNode& n : g.nodes) for (int i : n.inputs) ++uses[i];
    for (int o : g.outputs) ++uses[o];
  }

  // The node's output type for the current input types: inferred again only
  // when they differ from the previous element's (no allocation otherwise).
  const TType& infer_cached(size_t ni) {
    const MapOpNode& n = g.nodes[ni];
    std::vector<TType>& last = last_in[ni];
    bool same = last.size() == n.inputs.size() && has_last[ni];
    for (size_t k = 0; same && k < n.inputs.size(); ++k)
      same = last[k].dtype == val[n.inputs[k]]->dtype && last[k].shape == val[n.inputs[k]]->shape;
    if (!same) {
      has_last[ni] = false;
      last.resize(n.inputs.size());
      for (size_t k = 0; k < n.inputs.size(); ++k) last[k] = TType{val[n.inputs[k]]->dtype, val[n.inputs[k]]->shape};
      last_out[ni] = infer_op(n.op, attrs[ni], last);
      has_last[ni] = true;
    }
    return last_out[ni];
  }

  void run_node(size_t ni, const OpContext& ctx) {
    const MapOpNode& n = g.nodes[ni];
    const OpDef& d = op_def(n.op);
    if (d.data) {
      vin.clear();
      vout.clear();
      for (int i : n.inputs) vin.push_back(val[i]);
      for (int k = 0; k < n.n_out; ++k) vout.push_back(&own[first_out[ni] + k]);
      d.data->run(states[ni].get(), attrs[ni], vin, vout);
      return;
    }
    const TType& t = infer_cached(ni);  // concrete shapes of this element
    Value& o = own[first_out[ni]];
    if (d.layout_only) {
      const int i = n.inputs[0];
      if (uses[i] == 1) std::swap(*val[i], o);
      else copy_value(*val[i], o);
      o.shape = t.shape;
      o.dtype = t.dtype;
      return;
    }
    tptr.clear();
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const int i = n.inputs[k];
      bool once = uses[i] == 1;
      for (size_t q = 0; q < n.inputs.size(); ++q) once = once && (q == k || n.inputs[q] != i);
      to_tensor(*val[i], tin[ni][k], once, d.name);
      tptr.push_back(&tin[ni][k]);
    }
    Tensor& out = tout[ni];
    out.resize(t.shape);
    d.forward(ctx, attrs[ni], tptr, out);
    from_tensor(out, t.dtype, o);
  }

  void run(Element& el) {
    if (static_cast<int>(el.comps.size()) != g.n_inputs)
      throw Error("map function expects " + std::to_string(g.n_inputs) + " component(s) but the element has " +
                  std::to_string(el.comps.size()));
    for (int k = 0; k < g.n_inputs; ++k) val[k] = &el.comps[k];
    OpContext ctx;  // random ops draw per element: the key is the element's index
    ctx.step_key = static_cast<uint64_t>(el.origin.index + 1);
    for (size_t ni = 0; ni < g.nodes.size(); ++ni) run_node(ni, ctx);
    // Outputs are swapped out of the node buffers; the element's old
    // components come back as buffers for the next run (recycling capacity).
    std::vector<Value>& res = spare_;
    res.resize(g.outputs.size());
    for (size_t k = 0; k < g.outputs.size(); ++k) {
      const int id = g.outputs[k];
      bool again = false;  // the same value returned twice: copy all but the last
      for (size_t q = k + 1; q < g.outputs.size(); ++q) again = again || g.outputs[q] == id;
      if (id < g.n_inputs || again) copy_value(*val[id], res[k]);
      else std::swap(res[k], own[id]);
      // An output keeps only the storage of its own dtype: recycled buffers
      // may still hold an old record, which would double what shuffle
      // buffers keep in memory.
      Value& r = res[k];
      if (r.dtype != DType::Float32) std::vector<float>().swap(r.f);
      if (r.dtype != DType::String) std::vector<std::string>().swap(r.s);
      if (r.dtype == DType::Float32 || r.dtype == DType::String) std::vector<int64_t>().swap(r.i);
    }
    el.comps.swap(res);
  }
};

GraphExecutor::GraphExecutor(const MapGraph& g) : impl_(std::make_unique<Impl>(g)) {}
GraphExecutor::~GraphExecutor() = default;
void GraphExecutor::run(Element& el) { impl_->run(el); }

namespace {
Shape shape_json(const Json& j) {
  Shape s;
  if (j.is_null()) return s;
  if (j.is_number()) return {j.as_int()};
  for (const Json& d : j.elements()) s.push_back(d.is_null() ? -1 : d.as_int());
  return s;
}
std::vector<int> ids_json(const Json& j) {
  std::vector<int> v;
  if (j.is_number()) v.push_back(static_cast<int>(j.as_int()));
  else if (j.is_array()) for (const Json& i : j.elements()) v.push_back(static_cast<int>(i.as_int()));
  return v;
}
}  // namespace

std::shared_ptr<MapGraph> MapGraph::from_json(const Json& j) {
  auto g = std::make_shared<MapGraph>();
  std::vector<TType> types;  // (n_values,)
  for (const Json& t : j["inputs"].elements())
    types.push_back(TType{dtype_from_name(t["dtype"].as_string()), shape_json(t.get("shape", Json()))});
  g->n_inputs = static_cast<int>(types.size());
  g->input_types = types;
  for (const Json& n : j["nodes"].elements()) {
    MapOpNode node;
    node.op = op_code(n["op"].as_string());
    const char* name = op_def(node.op).name;
    Json aj = n.get("attrs", Json());
    if (aj.is_string()) aj = Json::parse(aj.as_string());
    node.attrs = parse_attrs(node.op, aj);
    if (n.has("value") && !n["value"].is_null()) {
      Json v = n["value"];
      Tensor& c = node.attrs.value;
      if (v.is_number()) c.data.push_back(static_cast<float>(v.as_number()));
      else for (const Json& e : v.elements()) c.data.push_back(static_cast<float>(e.as_number()));
      c.shape = shape_json(n.get("value_shape", Json()));
      if (shape_numel(c.shape) != c.size())
        throw Error(std::string("map graph: constant of ") + std::to_string(c.size()) + " values does not fit shape " +
                    shape_str(c.shape, false));
    }
    node.inputs = ids_json(n.get("inputs", Json()));
    std::vector<TType> in;
    for (int i : node.inputs) {
      if (i < 0 || i >= static_cast<int>(types.size()))
        throw Error(std::string("map graph: node '") + name + "' uses value " + std::to_string(i) + " before it is defined");
      in.push_back(types[i]);
    }
    std::vector<TType> outs = infer_outputs(node.op, node.attrs, in);  // validates and canonicalises attrs
    const OpDef& d = op_def(node.op);
    if (!d.data && !d.layout_only && !d.forward) throw Error(std::string("map graph: op '") + name + "' has no kernel");
    node.n_out = static_cast<int>(outs.size());
    types.insert(types.end(), outs.begin(), outs.end());
    g->nodes.push_back(std::move(node));
  }
  g->outputs = ids_json(j["outputs"]);
  for (int o : g->outputs)
    if (o < 0 || o >= static_cast<int>(types.size())) throw Error("map graph: output value " + std::to_string(o) + " does not exist");
  return g;
}

}  // namespace kn
