#include "op.h"

#include <algorithm>
#include <limits>

namespace kn {

namespace {
std::vector<OpDef>& table() {
  static std::vector<OpDef> t(static_cast<size_t>(OpCode::Count));
  return t;
}
}  // namespace

void register_op(OpCode c, const OpDef& d) { table().at(static_cast<size_t>(c)) = d; }

const OpDef& op_def(OpCode c) {
  const OpDef& d = table().at(static_cast<size_t>(c));
  if (!d.name) throw Error("op #" + std::to_string(static_cast<int>(c)) + " is not registered");
  return d;
}

std::vector<std::string> op_names() {
  std::vector<std::string> out;
  for (auto& d : table())
    if (d.name) out.push_back(d.name);
  return out;
}

OpCode op_code(const std::string& name) {
  for (size_t i = 0; i < table().size(); ++i)
    if (table()[i].name && name == table()[i].name) return static_cast<OpCode>(i);
  std::string all;
  for (auto& n : op_names()) all += (all.empty() ? "" : ", ") + n;
  throw Error("unknown op '" + name + "' (ops: " + all + ")");
}

namespace {
std::vector<int64_t> ints_of(const Json& j) {
  std::vector<int64_t> v;
  if (j.is_null()) return v;
  if (j.is_number()) return {j.as_int()};
  for (const Json& e : j.elements()) v.push_back(e.is_null() ? -1 : e.as_int());
  return v;
}
}  // namespace

OpAttrs parse_attrs(OpCode c, const Json& j) {
  OpAttrs a;
  if (c == OpCode::Relu) a.b = std::numeric_limits<double>::infinity();
  if (c == OpCode::Elu) a.a = 1.0;
  if (c == OpCode::OneHot) a.a = 1.0;
  if (c == OpCode::RandomUniform || c == OpCode::RandomNormal || c == OpCode::TruncatedNormal) a.b = 1.0;
  if (j.is_null()) return a;
  if (!j.is_object()) throw Error(std::string(op_def(c).name) + ": attributes must be a JSON object");
  const bool reduction = c == OpCode::Sum || c == OpCode::Mean || c == OpCode::Max || c == OpCode::Min ||
                         c == OpCode::Prod || c == OpCode::Any || c == OpCode::All;
  for (auto& kv : j.items()) {
    const std::string& k = kv.first;
    const Json& v = kv.second;
    if (k == "axis") {
      if (reduction || c == OpCode::Squeeze || c == OpCode::Slice || c == OpCode::Reverse) {
        a.all_axes = v.is_null();
        a.axes = ints_of(v);
      } else if (!v.is_null()) {
        a.axis = v.as_int();
      }
    } else if (k == "perm") a.axes = ints_of(v);
    else if (k == "keepdims") a.keepdims = v.as_bool();
    else if (k == "shape" || k == "multiples") a.shape = ints_of(v);
    else if (k == "dtype") a.dtype = dtype_from_name(v.as_string());
    else if (k == "min" || k == "exponent" || k == "alpha" || k == "on_value" || k == "minval" || k == "mean") a.a = v.as_number();
    else if (k == "max" || k == "off_value" || k == "maxval" || k == "stddev") a.b = v.as_number();
    else if (k == "depth" || k == "k") a.depth = v.as_int();
    else if (k == "begin") a.begin = ints_of(v);
    else if (k == "end") a.end = ints_of(v);
    else if (k == "step") a.step = ints_of(v);
    else if (k == "shrink") a.shrink = ints_of(v);
    else if (k == "transpose_a") a.trans_a = v.as_bool();
    else if (k == "transpose_b") a.trans_b = v.as_bool();
    else if (k == "seed") a.seed = static_cast<uint64_t>(v.as_int());
    else if (k == "features") a.features = v;
    else if (k == "strides") a.strides = ints_of(v);
    else if (k == "dilation_rate") a.dilation = ints_of(v);
    else if (k == "pool_size") a.pool_size = ints_of(v);
    else if (k == "output_shape") a.shape = ints_of(v);
    else if (k == "padding") a.padding = v.as_string();
    else if (k == "pool_mode") {
      const std::string m = v.as_string();
      if (m != "max" && m != "avg")
        throw Error(std::string(op_def(c).name) + ": pool_mode must be 'max' or 'avg', got '" + m + "'");
      a.pool_max = m == "max";
    }
    else if (k == "little_endian") a.little_endian = v.as_bool();
    else throw Error(std::string(op_def(c).name) + ": unknown attribute '" + k + "'");
  }
  if (c == OpCode::OneHot && !j.has("on_value")) a.a = 1.0;
  if (c == OpCode::Relu && !j.has("max")) a.b = std::numeric_limits<double>::infinity();
  if (c == OpCode::Elu && !j.has("alpha")) a.a = 1.0;
  if (c == OpCode::RandomUniform && !j.has("maxval")) a.b = 1.0;
  if ((c == OpCode::RandomNormal || c == OpCode::TruncatedNormal) && !j.has("stddev")) a.b = 1.0;
  return a;
}

TType infer_op(OpCode c, OpAttrs& a, const std::vector<TType>& in) {
  const OpDef& d = op_def(c);
  if (d.n_inputs >= 0 && static_cast<int>(in.size()) != d.n_inputs)
    throw Error(std::string(d.name) + ": expects " + std::to_string(d.n_inputs) + " input(s) but got " +
                std::to_string(in.size()));
  if (d.n_inputs < 0 && in.empty()) throw Error(std::string(d.name) + ": expects at least one input");
  if (!d.data && !d.layout_only)
    for (auto& t : in)
      if (t.dtype == DType::String) throw Error(std::string(d.name) + ": string tensors are not supported");
  try {
    return d.infer(a, in);
  } catch (const Error& e) {
    std::string m = e.what();
    if (m.rfind(d.name, 0) == 0) throw;
    throw Error(std::string(d.name) + ": " + m);
  }
}

std::vector<TType> infer_outputs(OpCode c, OpAttrs& a, const std::vector<TType>& in) {
  const OpDef& d = op_def(c);
  if (!d.data || !d.data->infer) return {infer_op(c, a, in)};
  if (d.n_inputs >= 0 && static_cast<int>(in.size()) != d.n_inputs)
    throw Error(std::string(d.name) + ": expects " + std::to_string(d.n_inputs) + " input(s) but got " +
                std::to_string(in.size()));
  try {
    return d.data->infer(a, in);
  } catch (const Error& e) {
    std::string m = e.what();
    if (m.rfind(d.name, 0) == 0) throw;
    throw Error(std::string(d.name) + ": " + m);
  }
}

TType run_op(OpCode c, OpAttrs& a, const std::vector<const Tensor*>& in, const std::vector<DType>& dtypes,
             Tensor& out, const OpContext& ctx) {
  std::vector<TType> ts(in.size());
  for (size_t k = 0; k < in.size(); ++k) {
    ts[k].shape = in[k]->shape;
    ts[k].dtype = k < dtypes.size() ? dtypes[k] : DType::Float32;
  }
  TType t = infer_op(c, a, ts);
  if (!op_def(c).forward)
    throw Error(std::string(op_def(c).name) + ": runs only inside dataset_map() (on dataset tensors)");
  out.resize(t.shape);
  op_def(c).forward(ctx, a, in, out);
  return t;
}

std::vector<Tensor> tape_gradients(std::vector<TapeEntry>& tape, const std::vector<Tensor>& values,
                                   const std::vector<DType>& dtypes, int loss, const std::vector<int>& wrt,
                                   std::vector<bool>& connected) {
  const int n = static_cast<int>(tape.size());
  if (loss < 0 || loss >= n) throw Error("gradients: the loss is not on the tape");
  if (dtypes[loss] != DType::Float32) throw Error("gradients: the loss must be float32");
  std::vector<Tensor> grads(n);      // (value shape) per entry; empty = no gradient
  std::vector<bool> has(n, false);
  grads[loss] = Tensor(values[loss].shape);
  std::fill(grads[loss].data.begin(), grads[loss].data.end(), 1.0f);
  has[loss] = true;
  for (int k = loss; k >= 0; --k) {
    TapeEntry& e = tape[k];
    if (!has[k] || e.op == OpCode::Count) continue;
    const OpDef& d = op_def(e.op);
    if (!d.differentiable || !d.backward) continue;  // comparisons, stop_gradient, ...: no gradient flows
    std::vector<TType> ts;
    In in;
    DIn din;
    for (int i : e.inputs) {
      if (i < 0 || i >= k) throw Error(std::string("gradients: ") + d.name + " uses a later value");
      ts.push_back(TType{dtypes[i], values[i].shape});
      in.push_back(&values[i]);
      if (dtypes[i] == DType::Float32) {
        if (!has[i]) { grads[i] = Tensor(values[i].shape); has[i] = true; }
        din.push_back(&grads[i]);
      } else {
        din.push_back(nullptr);
      }
    }
    infer_op(e.op, e.attrs, ts);  // canonical attributes, as the forward pass had them
    d.backward(e.attrs, in, values[k], grads[k], din);
  }
  std::vector<Tensor> out;
  connected.assign(wrt.size(), false);
  for (size_t w = 0; w < wrt.size(); ++w) {
    const int id = wrt[w];
    if (id < 0 || id >= n) throw Error("gradients: a variable is not on the tape");
    connected[w] = has[id];
    out.push_back(has[id] ? grads[id] : Tensor(values[id].shape));
  }
  return out;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == db) out[i] = da;
    else if (da == 1) out[i] = db;
    else if (db == 1) out[i] = da;
    else if (da == -1) out[i] = db;
    else if (db == -1) out[i] = da;
    else
      throw Error("shapes " + shape_str(a, false) + " and " + shape_str(b, false) + " cannot be broadcast");
  }
  return out;
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  std::vector<int64_t> s = strides_of(in);
  const size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) st[off + i] = in[i] == 1 ? 0 : s[i];
  return st;
}

int64_t norm_axis(int64_t axis, int64_t rank, const char* op) {
  if (axis < -rank || axis >= rank)
    throw Error(std::string(op) + ": axis " + std::to_string(axis) + " is out of range for a tensor of rank " +
                std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

DType promote(DType a, DType b) {
  if (a == DType::Float32 || b == DType::Float32) return DType::Float32;
  if (a == DType::Int64 || b == DType::Int64) return DType::Int64;
  if (a == DType::Int32 || b == DType::Int32) return DType::Int32;
  if (a == DType::UInt8 || b == DType::UInt8) return DType::UInt8;
  return a;
}

void need_float(const TType& t, const char* op) {
  if (t.dtype != DType::Float32)
    throw Error(std::string(op) + ": expects a float32 tensor, got " + dtype_name(t.dtype) +
                " (cast it with k_cast())");
}

}  // namespace kn
