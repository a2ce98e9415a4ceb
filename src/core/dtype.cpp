#include "dtype.h"

#include "tensor.h"

namespace kn {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::UInt8: return "uint8";
    case DType::String: return "string";
    case DType::Bool: return "bool";
  }
  return "?";
}

DType dtype_from_name(const std::string& s) {
  if (s == "float32" || s == "float") return DType::Float32;
  if (s == "int32") return DType::Int32;
  if (s == "int64") return DType::Int64;
  if (s == "uint8") return DType::UInt8;
  if (s == "string") return DType::String;
  if (s == "bool") return DType::Bool;
  throw Error("unsupported dtype '" + s + "' (supported: float32, int32, int64, uint8, bool, string)");
}

}  // namespace kn
