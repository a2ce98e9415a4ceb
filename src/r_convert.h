// All SEXP <-> engine conversions live in r_convert.cpp.
#pragma once
#include <Rcpp.h>

#include <string_view>
#include <vector>

#include "example.h"
#include "json.h"
#include "num_array.h"
#include "tensor.h"

namespace knr {

// R numeric/integer/logical array (or vector) -> row-major float32 tensor with
// the same index meaning: x[i, j, k] in R == t[(i, j, k)] row-major.
// `what` names the argument in errors (non-numeric data, NA values).
kn::Tensor tensor_from_r(SEXP x, const char* what);
// True when every value of an R double/integer/logical vector is finite
// (no NA, NaN, Inf); one parallel pass (false for other types).
bool all_finite_r(SEXP x);
// Row-major tensor -> R double array with dim = shape (vector when 1-D and drop_1d).
SEXP tensor_to_r(const kn::Tensor& t, bool drop_1d = false);
// R integer/double vector -> Shape
kn::Shape shape_from_r(SEXP s);
Rcpp::IntegerVector shape_to_r(const kn::Shape& s);

// Array read from a data file -> R vector (1-D, scalar) or array with the same
// index meaning: x[i, j, k] in R == element (i, j, k) of the file's array.
// U8/I32 -> integer, Bool -> logical, F64 -> double.
SEXP num_array_to_r(const kn::NumArray& a);

// One write_tfrecord() feature read straight from its R array (column-major,
// no aperm): record r's row-major value j is R element r + n * gather[j].
// Built on the main thread (takes the data pointer); fill_record_feature()
// then runs on any thread without touching the R API.
struct RecordColumn {
  std::string name;
  kn::Feature::Kind kind = kn::Feature::None;  // Int64, Float or Bytes
  bool one_value = false;   // Bytes: the record's `row` values as one uint8 bytes value
  int rtype = 0;            // INTSXP, LGLSXP, REALSXP, RAWSXP or STRSXP
  const void* data = nullptr;
  std::vector<std::string_view> strings;  // (n * row,) STRSXP values in R order
  int64_t n = 0, row = 0;
  std::vector<int64_t> gather;  // (row,) R offset (in units of n) of row-major value j
};
// spec: list(name, kind (0 int64, 1 float, 2 strings, 3 bytes), values (R array or
// vector in R order), dims = c(n, trailing dims...), one_value).
RecordColumn record_column_from_r(SEXP spec);
// Values of record r into `f` (capacity reused). Throws kn::Error naming the
// feature for NA values, or for `one_value` values outside the integers 0..255.
void fill_record_feature(const RecordColumn& c, int64_t r, kn::Feature& f);

// JSON text <-> kn::Json (R side uses jsonlite).
kn::Json json_from_r(SEXP text);
Rcpp::String json_to_r(const kn::Json& j);

}  // namespace knr
