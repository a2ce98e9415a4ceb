// The one place where R objects become engine values and back.
#include "r_convert.h"

#include "parallel.h"

#include <algorithm>
#include <cmath>

namespace knr {

namespace {
// Copy an R column-major array of n samples with trailing dims `d` into a
// row-major buffer. `get(i)` reads R element i as float.
template <class Get>
void colmajor_to_rowmajor(const kn::Shape& dims, float* dst, Get get) {
  const int64_t n = dims.empty() ? 1 : dims[0];
  int64_t row = 1;  // values per sample
  for (size_t k = 1; k < dims.size(); ++k) row *= dims[k];
  // Walk trailing positions in R order (first trailing dim fastest) and keep
  // the matching row-major offset.
  std::vector<int64_t> idx(dims.size() > 1 ? dims.size() - 1 : 0, 0);
  std::vector<int64_t> stride(idx.size(), 1);  // row-major strides of trailing dims
  for (int64_t k = static_cast<int64_t>(idx.size()) - 2; k >= 0; --k) stride[k] = stride[k + 1] * dims[k + 2];
  // Blocks of 64 samples, converted in parallel (plain memory, no R API).
  const int64_t block = 64;
  kn::parallel_for(kn::n_chunks(n, block), [&](int64_t b) {
    const int64_t i0 = b * block, i1 = std::min(n, i0 + block);
    std::vector<int64_t> pos(idx.size(), 0);
    int64_t off = 0;
    for (int64_t t = 0; t < row; ++t) {
      const int64_t src = t * n;
      for (int64_t i = i0; i < i1; ++i) dst[i * row + off] = get(src + i);
      for (size_t k = 0; k < pos.size(); ++k) {  // increment R-order counter
        if (++pos[k] < dims[k + 1]) { off += stride[k]; break; }
        off -= stride[k] * (dims[k + 1] - 1);
        pos[k] = 0;
      }
    }
  });
}
}  // namespace

kn::Tensor tensor_from_r(SEXP x, const char* what) {
  if (!Rf_isNumeric(x) && !Rf_isLogical(x) && TYPEOF(x) != REALSXP)
    Rcpp::stop("`%s` must be a numeric array, not %s", what, Rf_type2char(TYPEOF(x)));
  kn::Shape dims;
  SEXP d = Rf_getAttrib(x, R_DimSymbol);
  if (Rf_isNull(d)) {
    dims.push_back(Rf_xlength(x));
  } else {
    for (R_xlen_t k = 0; k < Rf_xlength(d); ++k) dims.push_back(INTEGER(d)[k]);
  }
  kn::Tensor t(dims);
  float* out = t.ptr();
  const R_xlen_t n = Rf_xlength(x);
  if (TYPEOF(x) == REALSXP) {
    const double* p = REAL(x);
    for (R_xlen_t i = 0; i < n; ++i)
      if (std::isnan(p[i])) Rcpp::stop("`%s` contains NA/NaN values (first at element %lld)", what, (long long)i + 1);
    colmajor_to_rowmajor(dims, out, [p](int64_t i) { return static_cast<float>(p[i]); });
  } else {
    const int* p = TYPEOF(x) == LGLSXP ? LOGICAL(x) : INTEGER(x);
    for (R_xlen_t i = 0; i < n; ++i)
      if (p[i] == NA_INTEGER) Rcpp::stop("`%s` contains NA values (first at element %lld)", what, (long long)i + 1);
    colmajor_to_rowmajor(dims, out, [p](int64_t i) { return static_cast<float>(p[i]); });
  }
  return t;
}

SEXP tensor_to_r(const kn::Tensor& t, bool drop_1d) {
  const kn::Shape& s = t.shape;
  const int64_t total = t.size();
  Rcpp::NumericVector out(total);
  double* o = out.begin();
  const int64_t n = s.empty() ? 1 : s[0];
  const int64_t row = n ? total / std::max<int64_t>(1, n) : 0;
  // inverse of colmajor_to_rowmajor: R element (i + n * t_rorder) <- row-major (i*row + off)
  std::vector<int64_t> idx(s.size() > 1 ? s.size() - 1 : 0, 0), stride(idx.size(), 1);
  for (int64_t k = static_cast<int64_t>(idx.size()) - 2; k >= 0; --k) stride[k] = stride[k + 1] * s[k + 2];
  int64_t off = 0;
  const float* src = t.ptr();
  for (int64_t tt = 0; tt < row; ++tt) {
    for (int64_t i = 0; i < n; ++i) o[tt * n + i] = src[i * row + off];
    for (size_t k = 0; k < idx.size(); ++k) {
      if (++idx[k] < s[k + 1]) { off += stride[k]; break; }
      off -= stride[k] * (s[k + 1] - 1);
      idx[k] = 0;
    }
  }
  if (!(drop_1d && s.size() == 1) && !s.empty()) out.attr("dim") = shape_to_r(s);
  return out;
}

kn::Shape shape_from_r(SEXP s) {
  kn::Shape out;
  if (Rf_isNull(s)) return out;
  Rcpp::NumericVector v(s);
  for (double d : v) {
    if (std::isnan(d)) out.push_back(-1);
    else out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

Rcpp::IntegerVector shape_to_r(const kn::Shape& s) {
  Rcpp::IntegerVector v(s.size());
  for (size_t k = 0; k < s.size(); ++k) v[k] = s[k] < 0 ? NA_INTEGER : static_cast<int>(s[k]);
  return v;
}

namespace {
// Fill R's column-major `out` from `src` (row-major unless fortran): walk R
// positions in order and keep the matching source offset.
template <class Out, class In>
void fill_r_order(const kn::Shape& d, bool fortran, Out* out, const In* src, int64_t n) {
  const size_t k = d.size();
  if (fortran || k <= 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<Out>(src[i]);
    return;
  }
  std::vector<int64_t> stride(k, 1), pos(k, 0);  // row-major strides of the source
  for (size_t j = k - 1; j-- > 0;) stride[j] = stride[j + 1] * d[j + 1];
  int64_t off = 0;
  for (int64_t i = 0; i < n; ++i) {
    out[i] = static_cast<Out>(src[off]);
    for (size_t j = 0; j < k; ++j) {  // increment the R-order counter (first index fastest)
      if (++pos[j] < d[j]) { off += stride[j]; break; }
      off -= stride[j] * (d[j] - 1);
      pos[j] = 0;
    }
  }
}
}  // namespace

SEXP num_array_to_r(const kn::NumArray& a) {
  const int64_t n = a.numel();
  SEXP out;
  switch (a.kind) {
    case kn::NumArray::U8:
      out = PROTECT(Rf_allocVector(INTSXP, n));
      fill_r_order(a.shape, a.fortran_order, INTEGER(out), a.u8.data(), n);
      break;
    case kn::NumArray::Bool:
      out = PROTECT(Rf_allocVector(LGLSXP, n));
      fill_r_order(a.shape, a.fortran_order, LOGICAL(out), a.u8.data(), n);
      break;
    case kn::NumArray::I32:
      out = PROTECT(Rf_allocVector(INTSXP, n));
      fill_r_order(a.shape, a.fortran_order, INTEGER(out), a.i32.data(), n);
      break;
    default:
      out = PROTECT(Rf_allocVector(REALSXP, n));
      fill_r_order(a.shape, a.fortran_order, REAL(out), a.f64.data(), n);
  }
  if (a.shape.size() > 1) {
    SEXP dim = PROTECT(Rf_allocVector(INTSXP, a.shape.size()));
    for (size_t j = 0; j < a.shape.size(); ++j) INTEGER(dim)[j] = static_cast<int>(a.shape[j]);
    Rf_setAttrib(out, R_DimSymbol, dim);
    UNPROTECT(1);
  }
  UNPROTECT(1);
  return out;
}

kn::Json json_from_r(SEXP text) {
  return kn::Json::parse(Rcpp::as<std::string>(text));
}

Rcpp::String json_to_r(const kn::Json& j) { return Rcpp::String(j.dump()); }

}  // namespace knr
