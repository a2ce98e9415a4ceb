// Map graphs of input pipelines: the ops a traced R map function can use
// (parse_example, decode_raw, cast, reshape, one_hot, elementwise arithmetic
// with scalars or same-shaped tensors). Evaluated per element on the thread
// that runs the map; each thread owns a GraphExecutor with reused buffers.
#include <cmath>
#include <cstring>

// The per-element loops below are simple and must vectorize (R builds with -O2).
#pragma GCC optimize("O3")

#include "dataset.h"
#include "example.h"

namespace kn {

namespace {

Shape shape_of_json(const Json& j) {
  Shape s;
  if (j.is_null()) return s;
  if (j.is_number()) { s.push_back(j.as_int()); return s; }
  for (const Json& d : j.elements()) s.push_back(d.is_null() ? -1 : d.as_int());
  return s;
}

std::string sh(const Shape& s) { return shape_str(s, false); }

// Integer conversion following TF's cast: floats truncate toward zero, then
// wrap to the width of the target type.
int64_t wrap_int(int64_t v, DType t) {
  if (t == DType::Int32) return static_cast<int32_t>(static_cast<uint32_t>(v));
  if (t == DType::UInt8) return static_cast<uint8_t>(v);
  return v;
}
int64_t float_to_int(float x, DType t) {
  if (std::isnan(x)) return 0;
  double d = std::trunc(static_cast<double>(x));
  if (d > 9.2e18) d = 9.2e18;
  if (d < -9.2e18) d = -9.2e18;
  return wrap_int(static_cast<int64_t>(d), t);
}

struct FeatureOut {
  DType dtype;
  Shape shape;        // fixed shape; empty + varlen for VarLenFeature
  bool varlen = false;
  bool has_default = false;
  Json deflt;         // array (or scalar) of default values
};

}  // namespace

struct GraphExecutor::Impl {
  const MapGraph& g;
  std::vector<Value> own;           // (n_values,) node outputs (inputs unused)
  std::vector<Value*> val;          // (n_values,) pointers: inputs -> element, others -> own
  std::vector<int> first_out;       // per node: id of its first output
  enum Op { Parse, Decode, Cast, Reshape, OneHot, Binary, Identity };
  std::vector<Op> code;             // per node
  std::vector<int> uses;            // per value: number of reads (node inputs + graph outputs)
  // parse_example state, per node (empty for other ops)
  std::vector<std::unique_ptr<ExampleSpecParser>> parsers;
  std::vector<float> tmp_;          // (numel,) scratch
  std::vector<Value> spare_;        // (n_outputs,) recycled component buffers
  std::vector<std::vector<FeatureOut>> feats;

  explicit Impl(const MapGraph& graph) : g(graph) {
    int next = g.n_inputs;
    for (const GraphNode& n : g.nodes) { first_out.push_back(next); next += n.n_out; }
    own.resize(next);
    val.resize(next, nullptr);
    for (int k = g.n_inputs; k < next; ++k) val[k] = &own[k];
    parsers.resize(g.nodes.size());
    feats.resize(g.nodes.size());
    uses.assign(next, 0);
    for (const GraphNode& n : g.nodes) for (int i : n.inputs) ++uses[i];
    for (int o : g.outputs) ++uses[o];
    for (const GraphNode& n : g.nodes) {
      const std::string& op = n.op;
      code.push_back(op == "parse_example" ? Parse : op == "decode_raw" ? Decode : op == "cast" ? Cast
                     : op == "reshape" ? Reshape : op == "one_hot" ? OneHot : op == "binary" ? Binary
                     : op == "identity" ? Identity : throw Error("map graph: unknown op '" + op + "'"));
    }
    for (size_t n = 0; n < g.nodes.size(); ++n) {
      const GraphNode& node = g.nodes[n];
      if (node.op != "parse_example") continue;
      std::vector<FeatureSpec> specs;
      for (const Json& f : node.attrs["features"].elements()) {
        FeatureOut fo;
        fo.dtype = dtype_from_name(f["dtype"].as_string());
        fo.varlen = f.get("varlen", Json(false)).as_bool();
        fo.shape = shape_of_json(f.get("shape", Json()));
        fo.has_default = f.has("default") && !f["default"].is_null();
        if (fo.has_default) fo.deflt = f["default"];
        FeatureSpec s;
        s.key = f["key"].as_string();
        s.kind = fo.dtype == DType::String ? Feature::Bytes
                 : fo.dtype == DType::Float32 ? Feature::Float
                 : fo.dtype == DType::Int64 ? Feature::Int64
                 : throw Error("parse_single_example: feature '" + s.key + "' has dtype " +
                               dtype_name(fo.dtype) + "; features must be tf$string, tf$float32 or tf$int64");
        s.count = fo.varlen ? -1 : checked_numel(fo.shape, "parse_single_example: feature '" + s.key + "'");
        s.required = !(fo.varlen || fo.has_default);
        specs.push_back(std::move(s));
        feats[n].push_back(std::move(fo));
      }
      parsers[n] = std::make_unique<ExampleSpecParser>(std::move(specs));
    }
  }

  const Value& in(const GraphNode& n, size_t k) const { return *val[n.inputs.at(k)]; }
  // The input's buffer when this node is its only reader (then it may be reused).
  Value* stealable(const GraphNode& n, size_t k) {
    const int id = n.inputs.at(k);
    return id >= g.n_inputs && uses[id] == 1 ? &own[id] : nullptr;
  }

  void parse_example(size_t ni, const GraphNode& node) {
    const Value& rec = in(node, 0);
    if (rec.dtype != DType::String || rec.s.size() != 1)
      throw Error("parse_single_example: the serialized input must be a scalar string, got " +
                  std::string(dtype_name(rec.dtype)) + " of shape " + sh(rec.shape));
    ExampleSpecParser& p = *parsers[ni];
    p.parse(rec.s[0]);
    const auto& fs = feats[ni];
    for (size_t k = 0; k < fs.size(); ++k) {
      const FeatureOut& fo = fs[k];
      const FeatureValues& fv = p[k];
      Value& out = own[first_out[ni] + k];
      out.dtype = fo.dtype;
      if (fv.present || fo.varlen) {
        const size_t n = fv.present ? fv.size() : 0;
        if (fo.varlen) out.shape.assign(1, static_cast<int64_t>(n));
        else out.shape = fo.shape;
        if (fo.dtype == DType::Float32) out.f.assign(fv.floats.begin(), fv.floats.begin() + (fv.present ? n : 0));
        else if (fo.dtype == DType::Int64) out.i.assign(fv.ints.begin(), fv.ints.begin() + (fv.present ? n : 0));
        else {
          out.s.resize(n);
          for (size_t j = 0; j < n; ++j) out.s[j].assign(fv.bytes[j].data(), fv.bytes[j].size());
        }
      } else {  // missing, with a default value
        out.shape = fo.shape;
        const int64_t n = shape_numel(fo.shape);
        std::vector<Json> d;
        if (fo.deflt.is_array()) d = fo.deflt.elements(); else d.push_back(fo.deflt);
        if (d.size() != 1 && static_cast<int64_t>(d.size()) != n)
          throw Error("parse_single_example: default_value of feature '" + p.specs()[k].key + "' has " +
                      std::to_string(d.size()) + " values but the shape " + sh(fo.shape) + " needs " + std::to_string(n));
        auto at = [&](int64_t j) -> const Json& { return d.size() == 1 ? d[0] : d[j]; };
        if (fo.dtype == DType::Float32) { out.f.resize(n); for (int64_t j = 0; j < n; ++j) out.f[j] = static_cast<float>(at(j).as_number()); }
        else if (fo.dtype == DType::Int64) { out.i.resize(n); for (int64_t j = 0; j < n; ++j) out.i[j] = static_cast<int64_t>(at(j).as_number()); }
        else { out.s.resize(n); for (int64_t j = 0; j < n; ++j) out.s[j] = at(j).as_string(); }
      }
    }
  }

  void decode_raw(const GraphNode& node, Value& out) {
    const Value& x = in(node, 0);
    if (x.dtype != DType::String) throw Error("decode_raw: input must be a string tensor, got " + std::string(dtype_name(x.dtype)));
    out.dtype = dtype_from_name(node.attrs["dtype"].as_string());
    const bool little = node.attrs.get("little_endian", Json(true)).as_bool();
    size_t width = out.dtype == DType::UInt8 ? 1 : (out.dtype == DType::Int64 ? 8 : 4);
    if (out.dtype == DType::String) throw Error("decode_raw: out_type cannot be tf$string");
    if (x.s.empty()) throw Error("decode_raw: empty input");
    const size_t len = x.s[0].size();
    for (const std::string& b : x.s)
      if (b.size() != len) throw Error("decode_raw: all input strings must have the same length, got " +
                                       std::to_string(len) + " and " + std::to_string(b.size()) + " bytes");
    if (len % width != 0)
      throw Error("decode_raw: input of " + std::to_string(len) + " bytes is not a multiple of the " +
                  std::to_string(width) + "-byte size of " + dtype_name(out.dtype));
    const size_t per = len / width;
    out.shape = x.shape;
    out.shape.push_back(static_cast<int64_t>(per));
    const size_t total = per * x.s.size();
    if (out.dtype == DType::Float32) out.f.resize(total); else out.i.resize(total);
    size_t o = 0;
    for (const std::string& b : x.s) {
      const unsigned char* p = reinterpret_cast<const unsigned char*>(b.data());
      if (out.dtype == DType::UInt8) {
        int64_t* __restrict dst = out.i.data() + o;
        for (size_t j = 0; j < per; ++j) dst[j] = p[j];
      } else {
        for (size_t j = 0; j < per; ++j) {
          unsigned char tmp[8];
          for (size_t q = 0; q < width; ++q) tmp[q] = little ? p[j * width + q] : p[j * width + width - 1 - q];
          if (out.dtype == DType::Float32) { float v; std::memcpy(&v, tmp, 4); out.f[o + j] = v; }
          else if (out.dtype == DType::Int32) { int32_t v; std::memcpy(&v, tmp, 4); out.i[o + j] = v; }
          else { int64_t v; std::memcpy(&v, tmp, 8); out.i[o + j] = v; }
        }
      }
      o += per;
    }
  }

  void cast(const GraphNode& node, Value& out) {
    const Value& x = in(node, 0);
    DType to = dtype_from_name(node.attrs["dtype"].as_string());
    if (x.dtype == DType::String || to == DType::String)
      throw Error(std::string("cast: cannot cast ") + dtype_name(x.dtype) + " to " + dtype_name(to));
    out.dtype = to;
    out.shape = x.shape;
    const size_t n = x.stored();
    if (to == DType::Float32) {
      out.f.resize(n);
      const int64_t* __restrict pi = x.i.data();
      float* __restrict po = out.f.data();
      if (x.dtype == DType::Float32) std::copy(x.f.begin(), x.f.end(), out.f.begin());
      else for (size_t j = 0; j < n; ++j) po[j] = static_cast<float>(pi[j]);
    } else {
      out.i.resize(n);
      if (x.dtype == DType::Float32) for (size_t j = 0; j < n; ++j) out.i[j] = float_to_int(x.f[j], to);
      else for (size_t j = 0; j < n; ++j) out.i[j] = wrap_int(x.i[j], to);
    }
  }

  void reshape(const GraphNode& node, Value& out) {
    const Value& x = in(node, 0);
    Shape s = shape_of_json(node.attrs["shape"]);
    const int64_t n = static_cast<int64_t>(x.stored());
    int free_dim = -1;
    int64_t known = 1;
    for (size_t k = 0; k < s.size(); ++k) {
      if (s[k] < 0) {
        if (free_dim >= 0) throw Error("reshape: only one dimension can be -1 (None), got " + sh(s));
        free_dim = static_cast<int>(k);
      } else if (!size_mul(known, s[k], &known)) {
        throw Error("reshape: shape " + sh(s) + " has more than 2^36 elements");
      }
    }
    if (free_dim >= 0) {
      if (known == 0 || n % known != 0)
        throw Error("reshape: cannot reshape a tensor of " + std::to_string(n) + " values (shape " + sh(x.shape) +
                    ") into shape " + sh(s));
      s[free_dim] = n / known;
    } else if (known != n) {
      throw Error("reshape: cannot reshape a tensor of " + std::to_string(n) + " values (shape " + sh(x.shape) +
                  ") into shape " + sh(s) + " (" + std::to_string(known) + " values)");
    }
    if (Value* v = stealable(node, 0)) std::swap(*v, out);
    else copy_value(x, out);
    out.shape = std::move(s);
  }

  static void copy_value(const Value& x, Value& out) {
    out.dtype = x.dtype;
    out.shape = x.shape;
    if (x.dtype == DType::Float32) out.f.assign(x.f.begin(), x.f.end());
    else if (x.dtype == DType::String) out.s.assign(x.s.begin(), x.s.end());
    else out.i.assign(x.i.begin(), x.i.end());
  }

  void one_hot(const GraphNode& node, Value& out) {
    const Value& x = in(node, 0);
    if (!dtype_is_int(x.dtype))
      throw Error(std::string("one_hot: indices must be integers (use tf$cast(x, tf$int32)), got ") + dtype_name(x.dtype));
    const int64_t depth = node.attrs["depth"].as_int();
    const float on = static_cast<float>(node.attrs.get("on_value", Json(1.0)).as_number());
    const float off = static_cast<float>(node.attrs.get("off_value", Json(0.0)).as_number());
    out.dtype = DType::Float32;
    out.shape = x.shape;
    out.shape.push_back(depth);
    const size_t n = x.i.size();
    out.f.assign(n * depth, off);
    for (size_t j = 0; j < n; ++j) {
      int64_t c = x.i[j];
      if (c >= 0 && c < depth) out.f[j * depth + c] = on;  // out of range: all off, as TF
    }
  }

  void binary(const GraphNode& node, Value& out) {
    const std::string& fn = node.attrs["fn"].as_string();
    const bool has_scalar = node.attrs.has("scalar");
    const int scalar_pos = has_scalar ? static_cast<int>(node.attrs.get("scalar_pos", Json(1)).as_int()) : -1;
    const double sc = has_scalar ? node.attrs["scalar"].as_number() : 0.0;
    const bool sc_int = has_scalar && node.attrs.get("scalar_int", Json(false)).as_bool();
    const Value& a = in(node, 0);
    const Value* b = has_scalar ? nullptr : &in(node, 1);
    if (a.dtype == DType::String || (b && b->dtype == DType::String))
      throw Error("arithmetic (" + fn + ") is not defined for string tensors");
    const bool as_float = fn == "div" || a.dtype == DType::Float32 || (b && b->dtype == DType::Float32) ||
                          (has_scalar && !sc_int);
    // operand sizes and output shape (same shape, or one side a single value)
    const size_t na = a.stored(), nb = b ? b->stored() : 1;
    Shape shape;
    if (!b || nb == 1) shape = a.shape;
    else if (na == 1) shape = b->shape;
    else if (a.shape == b->shape) shape = a.shape;
    else throw Error("arithmetic (" + fn + "): shapes " + sh(a.shape) + " and " + sh(b->shape) + " are incompatible");
    const size_t n = std::max(na, nb);
    out.shape = shape;
    auto op = [&fn](double x, double y) -> double {
      if (fn == "add") return x + y;
      if (fn == "sub") return x - y;
      if (fn == "mul") return x * y;
      return x / y;
    };
    if (as_float) {
      out.dtype = DType::Float32;
      out.f.resize(n);
      auto get = [](const Value& v, size_t j) -> float {
        size_t k = v.stored() == 1 ? 0 : j;
        return v.dtype == DType::Float32 ? v.f[k] : static_cast<float>(v.i[k]);
      };
      float* __restrict o = out.f.data();
      if (has_scalar) {
        const float s = static_cast<float>(sc);
        const int f = fn == "add" ? 0 : fn == "sub" ? (scalar_pos == 0 ? 1 : 2) : fn == "mul" ? 3 : (scalar_pos == 0 ? 4 : 5);
        const float* __restrict pa = a.f.data();
        if (a.dtype != DType::Float32) {  // integer tensor: convert first
          tmp_.resize(n);
          for (size_t j = 0; j < n; ++j) tmp_[j] = static_cast<float>(a.i[j]);
          pa = tmp_.data();
        }
        switch (f) {
          case 0: for (size_t j = 0; j < n; ++j) o[j] = pa[j] + s; break;
          case 1: for (size_t j = 0; j < n; ++j) o[j] = s - pa[j]; break;
          case 2: for (size_t j = 0; j < n; ++j) o[j] = pa[j] - s; break;
          case 3: for (size_t j = 0; j < n; ++j) o[j] = pa[j] * s; break;
          case 4: for (size_t j = 0; j < n; ++j) o[j] = s / pa[j]; break;
          default: for (size_t j = 0; j < n; ++j) o[j] = pa[j] / s; break;
        }
      } else {
        for (size_t j = 0; j < n; ++j) o[j] = static_cast<float>(op(get(a, j), get(*b, j)));
      }
    } else {
      out.dtype = a.dtype;
      out.i.resize(n);
      for (size_t j = 0; j < n; ++j) {
        int64_t x = a.i[na == 1 ? 0 : j];
        int64_t y = has_scalar ? static_cast<int64_t>(sc) : b->i[nb == 1 ? 0 : j];
        if (scalar_pos == 0) std::swap(x, y);
        int64_t r = fn == "add" ? x + y : fn == "sub" ? x - y : x * y;
        out.i[j] = wrap_int(r, out.dtype);
      }
    }
  }

  void run(Element& el) {
    if (static_cast<int>(el.comps.size()) != g.n_inputs)
      throw Error("map function expects " + std::to_string(g.n_inputs) + " component(s) but the element has " +
                  std::to_string(el.comps.size()));
    for (int k = 0; k < g.n_inputs; ++k) val[k] = &el.comps[k];
    for (size_t ni = 0; ni < g.nodes.size(); ++ni) {
      const GraphNode& node = g.nodes[ni];
      Value& out = own[first_out[ni]];
      switch (code[ni]) {
        case Parse: parse_example(ni, node); break;
        case Decode: decode_raw(node, out); break;
        case Cast: cast(node, out); break;
        case Reshape: reshape(node, out); break;
        case OneHot: one_hot(node, out); break;
        case Binary: binary(node, out); break;
        case Identity: copy_value(in(node, 0), out); break;
      }
    }
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
      if (!dtype_is_int(r.dtype)) std::vector<int64_t>().swap(r.i);
    }
    el.comps.swap(res);
  }
};

GraphExecutor::GraphExecutor(const MapGraph& g) : impl_(std::make_unique<Impl>(g)) {}
GraphExecutor::~GraphExecutor() = default;
void GraphExecutor::run(Element& el) { impl_->run(el); }

std::shared_ptr<MapGraph> MapGraph::from_json(const Json& j) {
  auto g = std::make_shared<MapGraph>();
  g->n_inputs = static_cast<int>(j["n_inputs"].as_int());
  int next = g->n_inputs;
  for (const Json& n : j["nodes"].elements()) {
    GraphNode node;
    node.op = n["op"].as_string();
    const Json ins = n.get("inputs", Json());
    if (ins.is_number()) node.inputs.push_back(static_cast<int>(ins.as_int()));
    else if (ins.is_array()) for (const Json& i : ins.elements()) node.inputs.push_back(static_cast<int>(i.as_int()));
    for (int i : node.inputs)
      if (i < 0 || i >= next) throw Error("map graph: node '" + node.op + "' uses value " + std::to_string(i) + " before it is defined");
    node.n_out = static_cast<int>(n.get("n_out", Json(1)).as_int());
    node.attrs = n.get("attrs", Json::object());
    next += node.n_out;
    g->nodes.push_back(std::move(node));
  }
  const Json& outs = j["outputs"];
  if (outs.is_number()) g->outputs.push_back(static_cast<int>(outs.as_int()));
  else for (const Json& o : outs.elements()) g->outputs.push_back(static_cast<int>(o.as_int()));
  for (int o : g->outputs)
    if (o < 0 || o >= next) throw Error("map graph: output value " + std::to_string(o) + " does not exist");
  return g;
}

}  // namespace kn
