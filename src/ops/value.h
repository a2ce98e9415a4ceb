// One typed dense array as the input pipeline carries it: strings, and
// integers kept exactly in 64 bits (op-table tensors store every dtype as
// float32 values; the dataset map graph converts at the op boundary).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "dtype.h"
#include "tensor.h"

namespace kn {

struct Value {
  DType dtype = DType::Float32;
  Shape shape;                    // per-element shape (batch dim first after batching)
  std::vector<float> f;           // (numel,) when dtype == Float32
  std::vector<int64_t> i;         // (numel,) when integer or bool dtype
  std::vector<std::string> s;     // (numel,) when dtype == String
  int64_t numel() const { return shape_numel(shape); }
  size_t stored() const {
    return dtype == DType::Float32 ? f.size() : dtype == DType::String ? s.size() : i.size();
  }
};

}  // namespace kn
