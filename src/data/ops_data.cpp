// Data ops of the op table (dataset_map() only, no gradient): parse_example
// (tf$io$parse_single_example with FixedLenFeature / VarLenFeature specs,
// one output per feature) and decode_raw (bytes -> numbers). Their kernels
// work on Values (strings, exact int64); the feature specs are parsed once
// per thread into a reused ExampleSpecParser.
#include <cstring>

#pragma GCC optimize("O3")

#include "example.h"
#include "op.h"

namespace kn {
namespace {

std::string sh(const Shape& s) { return shape_str(s, false); }

Shape shape_of_json(const Json& j) {
  Shape s;
  if (j.is_null()) return s;
  if (j.is_number()) { s.push_back(j.as_int()); return s; }
  for (const Json& d : j.elements()) s.push_back(d.is_null() ? -1 : d.as_int());
  return s;
}

// One feature of parse_example: its output type and default value.
struct FeatureOut {
  std::string key;
  DType dtype = DType::Float32;
  Shape shape;          // fixed shape; [-1] for VarLenFeature
  bool varlen = false;
  bool has_default = false;
  Value deflt;          // (numel,) default values, expanded from one value if needed
};

std::vector<FeatureOut> features_of(const OpAttrs& a) {
  if (!a.features.is_array() || a.features.size() == 0)
    throw Error("parse_single_example: `features` must be a non-empty list of FixedLenFeature/VarLenFeature");
  std::vector<FeatureOut> fs;
  for (const Json& f : a.features.elements()) {
    FeatureOut fo;
    fo.key = f["key"].as_string();
    fo.dtype = dtype_from_name(f["dtype"].as_string());
    if (fo.dtype != DType::Float32 && fo.dtype != DType::Int64 && fo.dtype != DType::String)
      throw Error("parse_single_example: feature '" + fo.key + "' has dtype " + dtype_name(fo.dtype) +
                  "; features must be tf$string, tf$float32 or tf$int64");
    fo.varlen = f.get("varlen", Json(false)).as_bool();
    fo.shape = fo.varlen ? Shape{-1} : shape_of_json(f.get("shape", Json()));
    for (int64_t d : fo.shape)
      if (!fo.varlen && d < 0) throw Error("parse_single_example: the shape of feature '" + fo.key + "' must be fully known");
    fo.has_default = f.has("default") && !f["default"].is_null();
    if (fo.has_default) {
      const int64_t n = checked_numel(fo.shape, "parse_single_example: feature '" + fo.key + "'");
      std::vector<Json> d;
      if (f["default"].is_array()) d = f["default"].elements(); else d.push_back(f["default"]);
      if (d.size() != 1 && static_cast<int64_t>(d.size()) != n)
        throw Error("parse_single_example: default_value of feature '" + fo.key + "' has " + std::to_string(d.size()) +
                    " values but the shape " + sh(fo.shape) + " needs " + std::to_string(n));
      auto at = [&](int64_t j) -> const Json& { return d.size() == 1 ? d[0] : d[j]; };
      Value& v = fo.deflt;
      v.dtype = fo.dtype;
      v.shape = fo.shape;
      if (fo.dtype == DType::Float32) for (int64_t j = 0; j < n; ++j) v.f.push_back(static_cast<float>(at(j).as_number()));
      else if (fo.dtype == DType::Int64) for (int64_t j = 0; j < n; ++j) v.i.push_back(static_cast<int64_t>(at(j).as_number()));
      else for (int64_t j = 0; j < n; ++j) v.s.push_back(at(j).as_string());
    }
    fs.push_back(std::move(fo));
  }
  return fs;
}

std::vector<TType> parse_infer(OpAttrs& a, const std::vector<TType>& in) {
  if (in[0].dtype != DType::String || !in[0].shape.empty())
    throw Error("`serialized` must be a scalar string tensor (a record of tfrecord_dataset()), got " +
                std::string(dtype_name(in[0].dtype)) + " " + sh(in[0].shape) +
                (in[0].shape.empty() ? "" : " (parse before dataset_batch())"));
  std::vector<TType> out;
  for (const FeatureOut& f : features_of(a)) out.push_back(TType{f.dtype, f.shape});
  return out;
}

struct ParseState : OpState {
  std::vector<FeatureOut> feats;
  ExampleSpecParser parser;
};

std::unique_ptr<OpState> parse_state(const OpAttrs& a) {
  auto st = std::make_unique<ParseState>();
  st->feats = features_of(a);
  std::vector<FeatureSpec> specs;
  for (const FeatureOut& fo : st->feats) {
    FeatureSpec s;
    s.key = fo.key;
    s.kind = fo.dtype == DType::Float32 ? Feature::Float : fo.dtype == DType::Int64 ? Feature::Int64 : Feature::Bytes;
    s.count = fo.varlen ? -1 : checked_numel(fo.shape, "parse_single_example: feature '" + fo.key + "'");
    s.required = !(fo.varlen || fo.has_default);
    specs.push_back(std::move(s));
  }
  st->parser.set_specs(std::move(specs));
  return st;
}

void parse_run(OpState* state, const OpAttrs&, const std::vector<const Value*>& in, const std::vector<Value*>& out) {
  const Value& rec = *in[0];
  if (rec.dtype != DType::String || rec.s.size() != 1)
    throw Error("parse_single_example: the serialized input must be a scalar string, got " +
                std::string(dtype_name(rec.dtype)) + " of shape " + sh(rec.shape));
  ParseState& st = *static_cast<ParseState*>(state);
  st.parser.parse(rec.s[0]);
  for (size_t k = 0; k < st.feats.size(); ++k) {
    const FeatureOut& fo = st.feats[k];
    const FeatureValues& fv = st.parser[k];
    Value& o = *out[k];
    if (!fv.present && !fo.varlen) {  // missing, with a default value
      o.dtype = fo.dtype;
      o.shape = fo.shape;
      o.f = fo.deflt.f;
      o.i = fo.deflt.i;
      o.s = fo.deflt.s;
      continue;
    }
    const size_t n = fv.present ? fv.size() : 0;
    o.dtype = fo.dtype;
    if (fo.varlen) o.shape.assign(1, static_cast<int64_t>(n));
    else o.shape = fo.shape;
    if (fo.dtype == DType::Float32) o.f.assign(fv.floats.begin(), fv.floats.begin() + n);
    else if (fo.dtype == DType::Int64) o.i.assign(fv.ints.begin(), fv.ints.begin() + n);
    else {
      o.s.resize(n);
      for (size_t j = 0; j < n; ++j) o.s[j].assign(fv.bytes[j].data(), fv.bytes[j].size());
    }
  }
}

const DataKernel kParse{parse_infer, parse_state, parse_run};
KN_REGISTER_OP(ParseExample, OpDef{"parse_example", 1, false,
  [](OpAttrs& a, const std::vector<TType>& in) { return parse_infer(a, in).at(0); },
  nullptr, nullptr, &kParse});

// decode_raw(bytes, dtype): every string of the input becomes a new last
// axis of numbers (all strings must have the same length).
TType decode_infer(OpAttrs& a, const std::vector<TType>& in) {
  if (in[0].dtype != DType::String) throw Error("input must be a string tensor, got " + std::string(dtype_name(in[0].dtype)));
  if (a.dtype == DType::String || a.dtype == DType::Bool)
    throw Error(std::string("out_type cannot be tf$") + dtype_name(a.dtype));
  Shape s = in[0].shape;
  s.push_back(-1);
  return TType{a.dtype, s};
}

void decode_run(OpState*, const OpAttrs& a, const std::vector<const Value*>& in, const std::vector<Value*>& out) {
  const Value& x = *in[0];
  Value& o = *out[0];
  o.dtype = a.dtype;
  const size_t width = o.dtype == DType::UInt8 ? 1 : (o.dtype == DType::Int64 ? 8 : 4);
  if (x.s.empty()) throw Error("decode_raw: empty input");
  const size_t len = x.s[0].size();
  for (const std::string& b : x.s)
    if (b.size() != len) throw Error("decode_raw: all input strings must have the same length, got " +
                                     std::to_string(len) + " and " + std::to_string(b.size()) + " bytes");
  if (len % width != 0)
    throw Error("decode_raw: input of " + std::to_string(len) + " bytes is not a multiple of the " +
                std::to_string(width) + "-byte size of " + dtype_name(o.dtype));
  const size_t per = len / width;
  o.shape = x.shape;
  o.shape.push_back(static_cast<int64_t>(per));
  const size_t total = per * x.s.size();
  if (o.dtype == DType::Float32) o.f.resize(total); else o.i.resize(total);
  const bool little = a.little_endian;
  size_t off = 0;
  for (const std::string& b : x.s) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(b.data());
    if (o.dtype == DType::UInt8) {
      int64_t* __restrict dst = o.i.data() + off;
      for (size_t j = 0; j < per; ++j) dst[j] = p[j];
    } else {
      for (size_t j = 0; j < per; ++j) {
        unsigned char tmp[8];
        for (size_t q = 0; q < width; ++q) tmp[q] = little ? p[j * width + q] : p[j * width + width - 1 - q];
        if (o.dtype == DType::Float32) { float v; std::memcpy(&v, tmp, 4); o.f[off + j] = v; }
        else if (o.dtype == DType::Int32) { int32_t v; std::memcpy(&v, tmp, 4); o.i[off + j] = v; }
        else { int64_t v; std::memcpy(&v, tmp, 8); o.i[off + j] = v; }
      }
    }
    off += per;
  }
}

const DataKernel kDecode{nullptr, nullptr, decode_run};
KN_REGISTER_OP(DecodeRaw, OpDef{"decode_raw", 1, false, decode_infer, nullptr, nullptr, &kDecode});

}  // namespace
}  // namespace kn
