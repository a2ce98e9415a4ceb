// The op table (in the spirit of ggml's op enum): every tensor operation the
// R backend (k_*, tensor arithmetic, traced losses and metrics, lambda layers)
// can record. Each op has, side by side in its ops_*.cpp file: a name, its
// attributes (parsed once from JSON into OpAttrs, canonicalised once by
// `infer` when the input ranks are known), shape and dtype inference, a
// forward kernel and a backward kernel.
//
// Shapes are full shapes (batch included); -1 is an unknown dimension during
// tracing. At run time the graph calls `infer` again with concrete shapes to
// size the output buffer, then `forward` (which may assume `out` is sized).
// All dtypes are stored as float32 values (see dtype.h).
//
// Data ops (dataset_map(): parse_example, decode_raw, and cast for exact
// 64-bit integers) also have a kernel on Values (value.h: strings, int64),
// possibly with several outputs; they have no gradient. Layout-only ops
// (reshape, expand_dims, squeeze, identity) move any Value, strings included.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dtype.h"
#include "json.h"
#include "tensor.h"
#include "value.h"

namespace kn {

enum class OpCode : int {
  // element-wise unary (float -> float unless noted)
  Neg, Abs, Square, Sqrt, Exp, Log, Log1p, Sigmoid, HardSigmoid, Tanh, Relu, Elu, Softplus,
  Softsign, Sign, Round, Floor, Ceil, Clip, PowScalar, Identity, StopGradient, LogicalNot, Cast, Sin, Cos,
  // element-wise binary with broadcasting
  Add, Sub, Mul, Div, Maximum, Minimum, Pow, SquaredDifference,
  Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual, LogicalAnd, LogicalOr,
  Where,
  // reductions and along-axis ops
  Sum, Mean, Max, Min, Prod, Any, All, ArgMax, ArgMin, Softmax, LogSoftmax, CumSum,
  // shape manipulation
  Reshape, Transpose, ExpandDims, Squeeze, Concat, Slice, Gather, OneHot, Tile, Reverse, InTopK,
  // linear algebra
  MatMul,
  // convolution and pooling (ops_conv.cpp; channels-last, 1 to 3 spatial axes)
  Conv, ConvTranspose, DepthwiseConv, Pool,
  // sources
  Constant, RandomUniform, RandomNormal,
  // more backend ops (ops_extra.cpp)
  CumProd, TruncatedNormal,
  // data ops (dataset pipelines only; src/data/ops_data.cpp)
  ParseExample, DecodeRaw,
  Count
};

// Attributes of one op instance. Only the fields the op reads are meaningful.
struct OpAttrs {
  DType dtype = DType::Float32;  // cast, one_hot, constant, random ops
  std::vector<int64_t> axes;     // reductions (empty + all_axes = all), transpose perm, squeeze, slice axes
  bool all_axes = false;         // reductions over every axis (axis = NULL)
  bool keepdims = false;
  int64_t axis = -1;             // softmax, concat, argmax, gather, expand_dims, one_hot, cumsum
  Shape shape;                   // reshape target (one -1 allowed), random shape, tile multiples
  double a = 0, b = 0;           // clip lo/hi, pow exponent, elu alpha, one_hot on/off, random (min,max)/(mean,sd)
  int64_t depth = 0;             // one_hot depth, in_top_k k
  std::vector<int64_t> begin, end, step;  // slice: per entry of `axes` (end exclusive)
  std::vector<int64_t> shrink;   // slice: axes (of the input) removed from the output
  bool trans_a = false, trans_b = false;  // matmul
  std::vector<int64_t> strides, dilation, pool_size;  // conv / pool (one per spatial axis; empty = 1s)
  std::string padding = "valid";  // conv / pool: valid, same (causal: 1-D conv)
  bool pool_max = true;           // pool: pool_mode max (else avg)
  Tensor value;                  // constant
  uint64_t seed = 0;             // random ops
  Json features;                 // parse_example: [{key, dtype, shape, varlen, default}]
  bool little_endian = true;     // decode_raw
};

// Type of a tensor: dtype and full shape (-1 = unknown dimension).
struct TType {
  DType dtype = DType::Float32;
  Shape shape;
};

struct OpContext {
  bool training = false;
  uint64_t step_key = 0;  // random ops draw from (seed, step_key)
};

using In = std::vector<const Tensor*>;
using DIn = std::vector<Tensor*>;

// Per-thread state of a data kernel (e.g. a feature parser with its buffers).
struct OpState {
  virtual ~OpState() = default;
};

// Kernel on Values for dataset pipelines. `infer` (null: OpDef::infer, one
// output) gives one type per output; `run` sets each output's dtype, shape
// and data (shapes may depend on the data, e.g. VarLenFeature).
struct DataKernel {
  std::vector<TType> (*infer)(OpAttrs& a, const std::vector<TType>& in) = nullptr;
  std::unique_ptr<OpState> (*make_state)(const OpAttrs& a) = nullptr;
  void (*run)(OpState* st, const OpAttrs& a, const std::vector<const Value*>& in, const std::vector<Value*>& out) = nullptr;
};

struct OpDef {
  const char* name = nullptr;  // Keras backend / TF name, e.g. "add", "reduce_sum" is "sum"
  int n_inputs = 1;            // -1 = one or more (concat)
  bool differentiable = true;  // has a backward kernel (float inputs get gradients)
  // Validates inputs and returns the output type; canonicalises attrs (negative
  // axes resolved against the input rank). Throws kn::Error naming the op.
  TType (*infer)(OpAttrs& a, const std::vector<TType>& in) = nullptr;
  void (*forward)(const OpContext& c, const OpAttrs& a, const In& in, Tensor& out) = nullptr;
  // Adds dL/d in[k] into *din[k] (din[k] may be null). `out` is forward's output.
  void (*backward)(const OpAttrs& a, const In& in, const Tensor& out, const Tensor& dout, const DIn& din) = nullptr;
  const DataKernel* data = nullptr;  // kernel on Values (dataset pipelines), or null
  bool layout_only = false;          // output = input data with a new shape (any dtype)
};

// The table, indexed by OpCode. Each ops_*.cpp file fills its entries.
const OpDef& op_def(OpCode c);
OpCode op_code(const std::string& name);          // throws kn::Error listing close names
std::vector<std::string> op_names();
void register_op(OpCode c, const OpDef& d);
struct OpRegistrar {
  OpRegistrar(OpCode c, const OpDef& d) { register_op(c, d); }
};
#define KN_REGISTER_OP(CODE, ...) static ::kn::OpRegistrar KN_OPREG_##CODE(::kn::OpCode::CODE, __VA_ARGS__)

// Attributes from JSON keys: axis (int, list or null), keepdims, shape, perm,
// dtype, min/max, exponent, alpha, depth, on_value/off_value, begin/end/step,
// shrink, transpose_a/b, minval/maxval, mean/stddev, seed; conv / pool:
// strides, dilation_rate, padding, pool_size, pool_mode, output_shape.
OpAttrs parse_attrs(OpCode c, const Json& j);

// Inference with the op's name prefixed to errors.
TType infer_op(OpCode c, OpAttrs& a, const std::vector<TType>& in);

// Types of every output (several for data ops such as parse_example).
std::vector<TType> infer_outputs(OpCode c, OpAttrs& a, const std::vector<TType>& in);

// Eager execution: infer, size `out`, forward.
TType run_op(OpCode c, OpAttrs& a, const std::vector<const Tensor*>& in, const std::vector<DType>& dtypes,
             Tensor& out, const OpContext& ctx = OpContext());

// ---- reverse mode over recorded eager ops (k_gradients) ----
// Entry k of a tape is a leaf (op == Count) or an op applied to earlier
// entries; `values[k]` holds every entry's forward value, `dtypes[k]` its
// dtype. Returns d sum(values[loss]) / d values[w] for each w in `wrt`
// (`connected[i]` false when values[wrt[i]] does not influence the loss;
// its gradient is then zeros). Throws kn::Error naming the op.
struct TapeEntry {
  OpCode op = OpCode::Count;
  OpAttrs attrs;
  std::vector<int> inputs;
};
std::vector<Tensor> tape_gradients(std::vector<TapeEntry>& tape, const std::vector<Tensor>& values,
                                   const std::vector<DType>& dtypes, int loss, const std::vector<int>& wrt,
                                   std::vector<bool>& connected);

// ---- helpers shared by the ops_*.cpp files ----
// Broadcast two shapes (numpy rules; -1 unknown). Throws with both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b);
// Strides of `in` aligned to `out` (rank of out), 0 on broadcast dimensions.
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);
// Row-major strides.
std::vector<int64_t> strides_of(const Shape& s);
// Axis in [-rank, rank) -> [0, rank); throws naming the op.
int64_t norm_axis(int64_t axis, int64_t rank, const char* op);
// Dtype of arithmetic on a and b: float32 if either is float, else the wider int.
DType promote(DType a, DType b);
// Float-only ops: throws when dtype is not float32.
void need_float(const TType& t, const char* op);

}  // namespace kn
