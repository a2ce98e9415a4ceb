// CustomLayer: a layer running a traced sub-graph of op-table ops (see
// layers_custom.h). Scratch layout per application (node): t[k] is op k's
// value, t[K + k] its gradient (K ops; the last op writes into `out` and
// takes `dout` directly); idx holds the batch size the buffers are sized for.
#include "layers_custom.h"

#include "initializers.h"

namespace kn {

namespace {

std::string shapes_str(const std::vector<Shape>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + shape_str(v[i]);
  return s;
}

Shape json_shape(const Json& j, const std::string& what) {
  Shape s;
  if (j.is_null()) return s;
  if (j.is_number()) return Shape{j.as_int()};
  if (!j.is_array()) throw Error(what + " must be a list of integers");
  for (const Json& d : j.elements()) s.push_back(d.as_int());
  return s;
}

}  // namespace

Shape CustomLayer::set_trace(const std::vector<Shape>& inputs, const TraceResult& t, Rng& rng) {
  const std::string who = "layer '" + name + "' (" + class_ + ")";
  std::vector<Param> ps;
  // Keras orders layer.weights as trainable weights, then non-trainable ones.
  for (int pass = 0; pass < 2; ++pass) {
    for (const WeightSpec& w : t.weights) {
      if (w.trainable != (pass == 0)) continue;
      for (const Param& q : ps)
        if (q.name == w.name) throw Error(who + ": two weights are named '" + w.name + "'");
      for (int64_t d : w.shape)
        if (d <= 0) throw Error(who + ": weight '" + w.name + "' has shape " + shape_str(w.shape, false) +
                                "; every dimension must be a positive integer");
      Param p;
      p.name = w.name;
      p.trainable = w.trainable;
      p.value = Tensor(w.shape);  // the declared shape, e.g. kernel (in, out)
      int64_t fan_in, fan_out;
      compute_fans(w.shape, fan_in, fan_out);
      try {
        initialize(p.value, initializer_config(w.initializer.is_null() ? Json("glorot_uniform") : w.initializer),
                   fan_in, fan_out, rng);
      } catch (const Error& e) {
        throw Error(who + ": weight '" + w.name + "': " + e.what());
      }
      p.grad = Tensor(w.shape);
      ps.push_back(std::move(p));
    }
  }
  if (!t.ops.is_array() || t.ops.size() == 0) throw Error(who + ": call() recorded no operations");
  std::vector<TType> types;  // inputs, weights, then ops (full shapes, -1 = batch)
  for (const Shape& s : inputs) {
    TType ty{DType::Float32, s};
    ty.shape.insert(ty.shape.begin(), -1);
    types.push_back(std::move(ty));
  }
  for (const Param& p : ps) types.push_back(TType{DType::Float32, p.value.shape});
  std::vector<TracedOp> ops;
  std::vector<bool> grad(types.size(), true);  // inputs and weights carry gradients
  for (const Json& e : t.ops.elements()) {
    TracedOp op;
    const std::string opname = e["op"].as_string();
    op.op = op_code(opname);
    op.attrs = parse_attrs(op.op, e.get("attrs", Json::object()));
    const Json v = e.get("value", Json());
    if (!v.is_null()) {
      Shape s = json_shape(e.get("value_shape", Json()), "value_shape");
      Tensor c(s);  // constant of shape s
      std::vector<Json> vals = v.is_array() ? v.elements() : std::vector<Json>{v};
      if (static_cast<int64_t>(vals.size()) != c.size())
        throw Error(who + ": constant with " + std::to_string(vals.size()) + " values for shape " + shape_str(s, false));
      for (size_t i = 0; i < vals.size(); ++i) c.data[i] = static_cast<float>(vals[i].as_number());
      op.attrs.value = std::move(c);
    }
    std::vector<TType> in;
    bool any_grad = false;
    for (const Json& r : e.get("inputs", Json::array()).elements()) {
      int64_t k = r.as_int();
      if (k < 0 || k >= static_cast<int64_t>(types.size()))
        throw Error(who + ": op '" + opname + "' refers to an unknown tensor " + std::to_string(k));
      op.inputs.push_back(static_cast<int>(k));
      in.push_back(types[k]);
      any_grad = any_grad || (grad[k] && types[k].dtype == DType::Float32);
    }
    TType out;
    try {
      out = infer_op(op.op, op.attrs, in);
    } catch (const Error& err) {
      throw Error(who + ": " + err.what());
    }
    op.dtype = out.dtype;
    op.needs_grad = op_def(op.op).differentiable && any_grad;
    types.push_back(out);
    grad.push_back(op.needs_grad);
    ops.push_back(std::move(op));
  }
  const TType& last = types.back();
  if (last.shape.empty() || last.shape[0] != -1)
    throw Error(who + ": call() must return a tensor whose first dimension is the batch, got shape " +
                shape_str(last.shape, false));
  Shape out(last.shape.begin() + 1, last.shape.end());
  for (int64_t d : out)
    if (d < 0) throw Error(who + ": call() returns a tensor of unknown shape " + shape_str(last.shape, false));
  if (last.dtype != DType::Float32)
    throw Error(who + ": call() must return a float32 tensor, got " + dtype_name(last.dtype));
  params = std::move(ps);
  ops_ = std::move(ops);
  in_shapes_ = inputs;
  out_shape_ = out;
  built_ = true;
  return out;
}

Shape CustomLayer::build(const std::vector<Shape>& inputs, Rng& rng) {
  if (built_) {
    if (inputs != in_shapes_)
      throw Error("layer '" + name + "' (" + class_ + ") was built for input shape(s) " + shapes_str(in_shapes_) +
                  " but is applied to " + shapes_str(inputs));
    return out_shape_;
  }
  if (!tracer) throw Error("layer '" + name + "' (" + class_ + ") has no call() function to trace");
  return set_trace(inputs, tracer(inputs), rng);
}

void CustomLayer::plan(Scratch& s, const std::vector<const Tensor*>& in) {
  const int64_t n = in.at(0)->shape.at(0);
  if (s.idx.size() == 2 && (static_cast<int64_t>(s.idx[0]) | (static_cast<int64_t>(s.idx[1]) << 31)) == n) return;
  const size_t K = ops_.size();
  const size_t n_in = in.size(), n_w = params.size();
  std::vector<TType> ts;
  for (size_t k = 0; k < K; ++k) {
    TracedOp& op = ops_[k];
    ts.clear();
    for (int r : op.inputs) {
      const Shape& sh = static_cast<size_t>(r) < n_in ? in[r]->shape
                        : static_cast<size_t>(r) < n_in + n_w ? params[r - n_in].value.shape
                        : s.t[r - n_in - n_w].shape;
      ts.push_back(TType{DType::Float32, sh});  // dtype only matters for checks already done
    }
    for (size_t j = 0; j < op.inputs.size(); ++j) {
      size_t r = op.inputs[j];
      if (r >= n_in + n_w) ts[j].dtype = ops_[r - n_in - n_w].dtype;
    }
    Shape sh;
    try {
      sh = infer_op(op.op, op.attrs, ts).shape;
    } catch (const Error& e) {
      throw Error("layer '" + name + "' (" + class_ + "): " + e.what());
    }
    s.at(k).resize(sh);
    s.at(K + k).resize(sh);
  }
  Shape want = out_shape_;
  want.insert(want.begin(), n);
  if (s.t[K - 1].shape != want)
    throw Error("layer '" + name + "' (" + class_ + "): call() gives shape " + shape_str(s.t[K - 1].shape, false) +
                " for a batch of " + std::to_string(n) + ", expected " + shape_str(want, false));
  s.idx = {static_cast<int32_t>(n & 0x7fffffff), static_cast<int32_t>(n >> 31)};
}

void CustomLayer::forward(const RunContext& ctx, const std::vector<const Tensor*>& in, Tensor& out) {
  Scratch& s = *ctx.scratch;
  plan(s, in);
  const size_t K = ops_.size(), n_in = in.size(), n_w = params.size();
  std::vector<const Tensor*> xs;
  for (size_t k = 0; k < K; ++k) {
    const TracedOp& op = ops_[k];
    xs.clear();
    for (int r : op.inputs)
      xs.push_back(static_cast<size_t>(r) < n_in ? in[r]
                   : static_cast<size_t>(r) < n_in + n_w ? &params[r - n_in].value
                   : &s.t[r - n_in - n_w]);  // an earlier op (never the last)
    OpContext c;
    c.training = ctx.training;
    c.step_key = splitmix64(ctx.step_key ^ (0x9E3779B97F4A7C15ULL * (k + 1)));
    op_def(op.op).forward(c, op.attrs, xs, k + 1 == K ? out : s.t[k]);
  }
}

void CustomLayer::backward(const RunContext& ctx, const std::vector<const Tensor*>& in, const Tensor& out,
                           const Tensor& dout, const std::vector<Tensor*>& din) {
  Scratch& s = *ctx.scratch;
  const size_t K = ops_.size(), n_in = in.size(), n_w = params.size();
  for (size_t k = 0; k + 1 < K; ++k)
    if (ops_[k].needs_grad) s.t[K + k].zero();
  std::vector<const Tensor*> xs;
  std::vector<Tensor*> ds;
  for (size_t k = K; k-- > 0;) {
    const TracedOp& op = ops_[k];
    if (!op.needs_grad) continue;
    xs.clear();
    ds.clear();
    for (int r : op.inputs) {
      size_t u = static_cast<size_t>(r);
      if (u < n_in) {
        xs.push_back(in[u]);
        ds.push_back(din[u]);
      } else if (u < n_in + n_w) {
        Param& p = params[u - n_in];
        xs.push_back(&p.value);
        ds.push_back(trainable && p.trainable ? &p.grad : nullptr);
      } else {
        size_t j = u - n_in - n_w;
        xs.push_back(&s.t[j]);
        ds.push_back(ops_[j].needs_grad && ops_[j].dtype == DType::Float32 ? &s.t[K + j] : nullptr);
      }
    }
    op_def(op.op).backward(op.attrs, xs, k + 1 == K ? out : s.t[k], k + 1 == K ? dout : s.t[K + k], ds);
  }
}

Json CustomLayer::config() const {
  Json c = base_config();
  if (extra_.is_object())
    for (auto& kv : extra_.items()) c.set(kv.first, kv.second);
  return c;
}

}  // namespace kn
