// All SEXP <-> engine conversions live in r_convert.cpp.
#pragma once
#include <Rcpp.h>

#include "json.h"
#include "num_array.h"
#include "tensor.h"

namespace knr {

// R numeric/integer/logical array (or vector) -> row-major float32 tensor with
// the same index meaning: x[i, j, k] in R == t[(i, j, k)] row-major.
// `what` names the argument in errors (non-numeric data, NA values).
kn::Tensor tensor_from_r(SEXP x, const char* what);
// Row-major tensor -> R double array with dim = shape (vector when 1-D and drop_1d).
SEXP tensor_to_r(const kn::Tensor& t, bool drop_1d = false);
// R integer/double vector -> Shape
kn::Shape shape_from_r(SEXP s);
Rcpp::IntegerVector shape_to_r(const kn::Shape& s);

// Array read from a data file -> R vector (1-D, scalar) or array with the same
// index meaning: x[i, j, k] in R == element (i, j, k) of the file's array.
// U8/I32 -> integer, Bool -> logical, F64 -> double.
SEXP num_array_to_r(const kn::NumArray& a);

// JSON text <-> kn::Json (R side uses jsonlite).
kn::Json json_from_r(SEXP text);
Rcpp::String json_to_r(const kn::Json& j);

}  // namespace knr
