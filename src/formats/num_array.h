// A numeric array read from a data file (IDX, .npy): shape as declared by the
// file, values in file order, in the narrowest type R can hold them in.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor.h"

namespace kn {

struct NumArray {
  enum Kind { U8, Bool, I32, F64 };
  Kind kind = U8;
  Shape shape;                 // () for a scalar
  bool fortran_order = false;  // values column-major (first index fastest), else row-major
  std::vector<uint8_t> u8;     // (numel,) when kind == U8 or Bool (0/1)
  std::vector<int32_t> i32;    // (numel,) when kind == I32
  std::vector<double> f64;     // (numel,) when kind == F64
  int64_t numel() const { return shape_numel(shape); }
};

// Largest array the readers return: R's integer index limit.
constexpr int64_t kMaxArrayValues = 2147483647;

}  // namespace kn
