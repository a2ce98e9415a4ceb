// Glue for the op table: shape/dtype inference while R traces (the rules
// live only in src/ops), eager execution of k_* on R arrays, and op nodes,
// targets, traced losses and metrics in a model's graph.
#include <Rcpp.h>

#include "op.h"
#include "r_convert.h"
#include "r_handles.h"

using namespace Rcpp;
using namespace knr;

namespace {

kn::Shape shape_arg(SEXP s) {
  kn::Shape out;
  if (Rf_isNull(s)) return out;
  NumericVector v(s);
  for (double d : v) out.push_back(ISNAN(d) ? -1 : static_cast<int64_t>(d));
  return out;
}

IntegerVector shape_out(const kn::Shape& s) {
  IntegerVector v(s.size());
  for (size_t i = 0; i < s.size(); ++i) v[i] = s[i] < 0 ? NA_INTEGER : static_cast<int>(s[i]);
  return v;
}

kn::OpAttrs attrs_of(kn::OpCode c, const std::string& json, SEXP value, SEXP value_shape) {
  kn::OpAttrs a = kn::parse_attrs(c, kn::Json::parse(json));
  if (!Rf_isNull(value)) {
    a.value = tensor_from_r(value, "value");
    kn::Shape s = shape_arg(value_shape);
    if (kn::shape_numel(s) != a.value.size())
      throw kn::Error("constant: " + std::to_string(a.value.size()) + " values do not fit shape " + kn::shape_str(s, false));
    a.value.shape = s;
  }
  return a;
}

}  // namespace

// Output type of `op` on inputs of the given full shapes (NA = unknown) and dtypes.
// [[Rcpp::export]]
List cpp_op_infer(std::string op, std::string attrs, List shapes, CharacterVector dtypes, SEXP value,
                  SEXP value_shape) {
  kn::OpCode c = kn::op_code(op);
  kn::OpAttrs a = attrs_of(c, attrs, value, value_shape);
  std::vector<kn::TType> in;
  for (R_xlen_t k = 0; k < shapes.size(); ++k)
    in.push_back(kn::TType{kn::dtype_from_name(as<std::string>(dtypes[k])), shape_arg(shapes[k])});
  kn::TType t = kn::infer_op(c, a, in);
  return List::create(_["shape"] = shape_out(t.shape), _["dtype"] = kn::dtype_name(t.dtype));
}

// Types of every output of `op` (several for parse_example): a list of list(shape, dtype).
// [[Rcpp::export]]
List cpp_op_infer_all(std::string op, std::string attrs, List shapes, CharacterVector dtypes) {
  kn::OpCode c = kn::op_code(op);
  kn::OpAttrs a = attrs_of(c, attrs, R_NilValue, R_NilValue);
  std::vector<kn::TType> in;
  for (R_xlen_t k = 0; k < shapes.size(); ++k)
    in.push_back(kn::TType{kn::dtype_from_name(as<std::string>(dtypes[k])), shape_arg(shapes[k])});
  List out;
  for (const kn::TType& t : kn::infer_outputs(c, a, in))
    out.push_back(List::create(_["shape"] = shape_out(t.shape), _["dtype"] = kn::dtype_name(t.dtype)));
  return out;
}

// Eager run: inputs are R arrays (values only; `shapes` give their row-major shapes).
// Returns the value as an R array (a length-1 vector for scalars) with its shape and dtype.
// [[Rcpp::export]]
List cpp_op_run(std::string op, std::string attrs, List inputs, List shapes, CharacterVector dtypes, SEXP value,
                SEXP value_shape, double seed) {
  kn::OpCode c = kn::op_code(op);
  kn::OpAttrs a = attrs_of(c, attrs, value, value_shape);
  std::vector<kn::Tensor> xs;
  std::vector<kn::DType> dts;
  for (R_xlen_t k = 0; k < inputs.size(); ++k) {
    xs.push_back(tensor_from_r(inputs[k], "x"));
    kn::Shape s = shape_arg(shapes[k]);
    if (kn::shape_numel(s) != xs.back().size()) throw kn::Error(op + ": input values do not match their shape");
    xs.back().shape = s;
    dts.push_back(kn::dtype_from_name(as<std::string>(dtypes[k])));
  }
  std::vector<const kn::Tensor*> in;
  for (auto& x : xs) in.push_back(&x);
  kn::OpContext ctx;
  ctx.step_key = seed_of(seed);
  kn::Tensor out;
  kn::TType t = kn::run_op(c, a, in, dts, out, ctx);
  kn::Shape shape = out.shape;
  if (out.shape.empty()) out.shape = {1};
  return List::create(_["value"] = tensor_to_r(out, true), _["shape"] = shape_out(shape),
                      _["dtype"] = kn::dtype_name(t.dtype));
}

// Gradients of sum(entries[[loss]]) with respect to entries[[wrt]] (1-based in R,
// 0-based here) over a recorded eager tape: each entry is list(op ("" for a
// leaf), attrs, inputs (0-based entry ids), value, shape, dtype, cvalue,
// cvalue_shape (constants)). Returns a list of R arrays, NULL when unconnected.
// [[Rcpp::export]]
List cpp_op_gradients(List entries, int loss, IntegerVector wrt) {
  std::vector<kn::TapeEntry> tape;
  std::vector<kn::Tensor> values;
  std::vector<kn::DType> dtypes;
  for (R_xlen_t k = 0; k < entries.size(); ++k) {
    List e = entries[k];
    kn::TapeEntry t;
    const std::string op = as<std::string>(e["op"]);
    if (!op.empty()) {
      t.op = kn::op_code(op);
      t.attrs = attrs_of(t.op, as<std::string>(e["attrs"]), e["cvalue"], e["cvalue_shape"]);
      IntegerVector in = e["inputs"];
      t.inputs.assign(in.begin(), in.end());
    }
    tape.push_back(std::move(t));
    kn::Tensor v = tensor_from_r(e["value"], "value");
    kn::Shape s = shape_arg(e["shape"]);
    if (kn::shape_numel(s) != v.size()) throw kn::Error("gradients: a value does not match its shape");
    v.shape = s;
    values.push_back(std::move(v));
    dtypes.push_back(kn::dtype_from_name(as<std::string>(e["dtype"])));
  }
  std::vector<bool> connected;
  std::vector<kn::Tensor> g = kn::tape_gradients(tape, values, dtypes, loss, std::vector<int>(wrt.begin(), wrt.end()),
                                                 connected);
  List out(g.size());
  for (size_t k = 0; k < g.size(); ++k) {
    if (!connected[k]) continue;
    kn::Shape shape = g[k].shape;
    if (g[k].shape.empty()) g[k].shape = {1};
    out[k] = List::create(_["value"] = tensor_to_r(g[k], true), _["shape"] = shape_out(shape));
  }
  return out;
}

// [[Rcpp::export]]
CharacterVector cpp_op_names() { return wrap(kn::op_names()); }

// An op node in the model's graph; returns its id.
// [[Rcpp::export]]
int cpp_model_add_op(SEXP model, std::string op, std::string attrs, IntegerVector inputs, std::string scope,
                     SEXP value, SEXP value_shape, bool loss) {
  kn::Model& m = model_of(model);
  kn::OpCode c = kn::op_code(op);
  return m.graph.add_op(c, attrs_of(c, attrs, value, value_shape), std::vector<int>(inputs.begin(), inputs.end()),
                        scope, loss ? kn::NodeRole::Loss : kn::NodeRole::Model);
}

// Type of node `id`: per-sample shape (batched) or full shape, dtype, batched.
// [[Rcpp::export]]
List cpp_model_node_type(SEXP model, int id) {
  const kn::Node& n = model_of(model).graph.nodes.at(id);
  return List::create(_["shape"] = shape_out(n.shape), _["dtype"] = kn::dtype_name(n.dtype),
                      _["batched"] = n.batched);
}

// [[Rcpp::export]]
void cpp_model_clear_graph_terms(SEXP model) { model_of(model).clear_graph_terms(); }

// [[Rcpp::export]]
int cpp_model_add_target(SEXP model, int output) { return model_of(model).add_target(static_cast<size_t>(output)); }

// [[Rcpp::export]]
void cpp_model_set_graph_loss(SEXP model, int output, int node) {
  model_of(model).set_graph_loss(static_cast<size_t>(output), node);
}

// [[Rcpp::export]]
void cpp_model_add_graph_metric(SEXP model, std::string name, int node) {
  model_of(model).add_graph_metric(name, node);
}

// [[Rcpp::export]]
void cpp_model_add_loss_term(SEXP model, int node) { model_of(model).add_graph_loss_term(node); }

// Gradients of sum(output `loss`) with respect to outputs `wrt` (0-based model
// output indices) of the model on inputs `x` (R arrays, one per model input,
// all samples in one pass), through the graph's backward kernels. Outputs the
// loss does not depend on get zeros. k_gradients() on model tensors.
// [[Rcpp::export]]
List cpp_model_gradients(SEXP model, List x, int loss, IntegerVector wrt) {
  kn::Graph& g = model_of(model).graph;
  std::vector<kn::Tensor> xs;
  for (R_xlen_t k = 0; k < x.size(); ++k) xs.push_back(tensor_from_r(x[k], "x"));
  std::vector<const kn::Tensor*> in;
  for (auto& t : xs) in.push_back(&t);
  if (loss < 0 || loss >= static_cast<int>(g.outputs.size())) throw kn::Error("gradients: no such loss output");
  struct InputGrads {  // inputs need gradients only during this call
    kn::Graph& g;
    explicit InputGrads(kn::Graph& gr) : g(gr) { g.input_grads = true; g.invalidate(); }
    ~InputGrads() { g.input_grads = false; g.invalidate(); }
  } scope(g);
  g.forward(in, false, 0);
  const int ln = g.outputs[loss];
  if (g.nodes[ln].dtype != kn::DType::Float32) throw kn::Error("gradients: the loss must be float32");
  kn::Tensor seed(g.value(ln).shape);  // d sum(loss) / d loss = 1
  std::fill(seed.data.begin(), seed.data.end(), 1.0f);
  g.backward_from({{ln, &seed}}, false, 0);
  List out(wrt.size());
  for (R_xlen_t k = 0; k < wrt.size(); ++k) {
    if (wrt[k] < 0 || wrt[k] >= static_cast<int>(g.outputs.size())) throw kn::Error("gradients: no such variable output");
    const int node = g.outputs[wrt[k]];
    kn::Tensor gr = g.needs_grad(node) ? g.grad(node) : kn::Tensor(g.value(node).shape);
    out[k] = tensor_to_r(gr, true);
  }
  return out;
}
