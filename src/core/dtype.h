// Element types of tensors in op graphs and dataset pipelines. Op tensors
// (kn::Tensor) store every dtype as float32 values: integers are exact up to
// 2^24, bool is 0/1; the dtype travels beside the data (shape inference).
#pragma once
#include <string>

namespace kn {

enum class DType { Float32, Int32, Int64, UInt8, String, Bool };

const char* dtype_name(DType t);               // "float32", "int32", "int64", "uint8", "string", "bool"
DType dtype_from_name(const std::string& s);   // throws kn::Error on unknown names
inline bool dtype_is_int(DType t) { return t == DType::Int32 || t == DType::Int64 || t == DType::UInt8; }

}  // namespace kn
