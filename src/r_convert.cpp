// The one place where R objects become engine values and back.
#include "r_convert.h"

#include "parallel.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace knr {

namespace {
// Copy an R column-major array of n samples with trailing dims `d` into a
// row-major buffer. `get(i)` reads R element i as float (NaN for NA). Blocks
// of 64 samples run in parallel (plain memory, no R API): a block reads 64
// consecutive values of each R column and writes 64 rows, so both sides stay
// in cache. Returns true when some value is NaN (checked in the same pass).
template <class Get>
bool colmajor_to_rowmajor(const kn::Shape& dims, float* dst, Get get) {
  const int64_t n = dims.empty() ? 1 : dims[0];
  int64_t row = 1;  // values per sample
  for (size_t k = 1; k < dims.size(); ++k) row *= dims[k];
  // Walk trailing positions in R order (first trailing dim fastest) and keep
  // the matching row-major offset.
  const size_t nd = dims.size() > 1 ? dims.size() - 1 : 0;
  std::vector<int64_t> stride(nd, 1);  // row-major strides of trailing dims
  for (int64_t k = static_cast<int64_t>(nd) - 2; k >= 0; --k) stride[k] = stride[k + 1] * dims[k + 2];
  const int64_t block = 64, n_blocks = kn::n_chunks(n, block);
  std::vector<char> nan(static_cast<size_t>(n_blocks), 0);  // (n_blocks,) NaN seen
  kn::parallel_for(n_blocks, [&](int64_t b) {
    const int64_t i0 = b * block, i1 = std::min(n, i0 + block);
    std::vector<int64_t> pos(nd, 0);
    int64_t off = 0;
    bool bad = false;
    for (int64_t t = 0; t < row; ++t) {
      const int64_t src = t * n;
      float* d = dst + off;
      for (int64_t i = i0; i < i1; ++i) {
        const float v = get(src + i);
        bad |= v != v;
        d[i * row] = v;
      }
      for (size_t k = 0; k < nd; ++k) {  // increment R-order counter
        if (++pos[k] < dims[k + 1]) { off += stride[k]; break; }
        off -= stride[k] * (dims[k + 1] - 1);
        pos[k] = 0;
      }
    }
    nan[b] = bad;
  });
  return std::find(nan.begin(), nan.end(), 1) != nan.end();
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
  // One parallel pass converts and looks for NA/NaN; the first one is located
  // (serially, only then) for the message.
  if (TYPEOF(x) == REALSXP) {
    const double* p = REAL(x);
    if (colmajor_to_rowmajor(dims, out, [p](int64_t i) { return static_cast<float>(p[i]); }))
      for (R_xlen_t i = 0; i < n; ++i)
        if (std::isnan(p[i])) Rcpp::stop("`%s` contains NA/NaN values (first at element %lld)", what, (long long)i + 1);
  } else {
    const int* p = TYPEOF(x) == LGLSXP ? LOGICAL(x) : INTEGER(x);
    if (colmajor_to_rowmajor(dims, out, [p](int64_t i) { return p[i] == NA_INTEGER ? NAN : static_cast<float>(p[i]); }))
      for (R_xlen_t i = 0; i < n; ++i)
        if (p[i] == NA_INTEGER) Rcpp::stop("`%s` contains NA values (first at element %lld)", what, (long long)i + 1);
  }
  return t;
}

bool all_finite_r(SEXP x) {
  const R_xlen_t n = Rf_xlength(x);
  const int64_t grain = 1 << 16, n_tasks = kn::n_chunks(n, grain);
  std::vector<char> ok(static_cast<size_t>(n_tasks), 1);  // (n_tasks,) all finite in the task's range
  if (TYPEOF(x) == REALSXP) {
    const double* p = REAL(x);
    kn::parallel_for(n_tasks, [&](int64_t t) {
      const int64_t a = t * grain, b = std::min<int64_t>(n, a + grain);
      bool good = true;  // x - x is NaN exactly for NaN/NA/Inf
      for (int64_t i = a; i < b; ++i) good &= (p[i] - p[i]) == 0.0;
      ok[t] = good;
    });
  } else if (TYPEOF(x) == INTSXP || TYPEOF(x) == LGLSXP) {
    const int* p = TYPEOF(x) == LGLSXP ? LOGICAL(x) : INTEGER(x);
    kn::parallel_for(n_tasks, [&](int64_t t) {
      const int64_t a = t * grain, b = std::min<int64_t>(n, a + grain);
      bool good = true;
      for (int64_t i = a; i < b; ++i) good &= p[i] != NA_INTEGER;
      ok[t] = good;
    });
  } else {
    return false;
  }
  return std::find(ok.begin(), ok.end(), 0) == ok.end();
}

SEXP tensor_to_r(const kn::Tensor& t, bool drop_1d) {
  const kn::Shape& s = t.shape;
  const int64_t total = t.size();
  Rcpp::NumericVector out(total);
  double* o = out.begin();
  const int64_t n = s.empty() ? 1 : s[0];
  const int64_t row = n ? total / std::max<int64_t>(1, n) : 0;
  // inverse of colmajor_to_rowmajor: R element (i + n * t_rorder) <- row-major
  // (i*row + off); blocks of 64 samples in parallel
  const size_t nd = s.size() > 1 ? s.size() - 1 : 0;
  std::vector<int64_t> stride(nd, 1);
  for (int64_t k = static_cast<int64_t>(nd) - 2; k >= 0; --k) stride[k] = stride[k + 1] * s[k + 2];
  const float* src = t.ptr();
  const int64_t block = 64;
  kn::parallel_for(kn::n_chunks(n, block), [&](int64_t b) {
    const int64_t i0 = b * block, i1 = std::min(n, i0 + block);
    std::vector<int64_t> idx(nd, 0);
    int64_t off = 0;
    for (int64_t tt = 0; tt < row; ++tt) {
      for (int64_t i = i0; i < i1; ++i) o[tt * n + i] = src[i * row + off];
      for (size_t k = 0; k < nd; ++k) {
        if (++idx[k] < s[k + 1]) { off += stride[k]; break; }
        off -= stride[k] * (s[k + 1] - 1);
        idx[k] = 0;
      }
    }
  });
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

namespace {
// R's NA_real_ is a NaN whose low word is 1954 (R_IsNA without the R API).
inline bool is_na_real(double v) {
  if (!std::isnan(v)) return false;
  uint64_t u;
  std::memcpy(&u, &v, 8);
  return static_cast<uint32_t>(u) == 1954u;
}
[[noreturn]] void column_na(const RecordColumn& c) {
  throw kn::Error("write_tfrecord(): feature '" + c.name + "' contains NA");
}
}  // namespace

RecordColumn record_column_from_r(SEXP spec) {
  Rcpp::List s(spec);
  RecordColumn c;
  c.name = Rcpp::as<std::string>(s["name"]);
  const int kind = Rcpp::as<int>(s["kind"]);
  c.kind = kind == 0 ? kn::Feature::Int64 : kind == 1 ? kn::Feature::Float : kn::Feature::Bytes;
  c.one_value = kind == 3;
  SEXP v = s["values"];
  c.rtype = TYPEOF(v);
  Rcpp::NumericVector dims(s["dims"]);
  c.n = static_cast<int64_t>(dims[0]);
  c.row = 1;
  for (R_xlen_t k = 1; k < dims.size(); ++k) c.row *= static_cast<int64_t>(dims[k]);
  if (static_cast<int64_t>(Rf_xlength(v)) != c.n * c.row)
    Rcpp::stop("write_tfrecord(): feature '%s' has %lld values for dims giving %lld", c.name,
               (long long)Rf_xlength(v), (long long)(c.n * c.row));
  switch (c.rtype) {
    case INTSXP: c.data = INTEGER(v); break;
    case LGLSXP: c.data = LOGICAL(v); break;
    case REALSXP: c.data = REAL(v); break;
    case RAWSXP: c.data = RAW(v); break;
    case STRSXP:
      c.strings.resize(Rf_xlength(v));
      for (R_xlen_t i = 0; i < Rf_xlength(v); ++i) {
        SEXP e = STRING_ELT(v, i);
        if (e == NA_STRING) Rcpp::stop("write_tfrecord(): feature '%s' contains NA", c.name);
        c.strings[i] = std::string_view(CHAR(e), static_cast<size_t>(LENGTH(e)));
      }
      break;
    default: Rcpp::stop("write_tfrecord(): feature '%s' has unsupported storage %s", c.name, Rf_type2char(c.rtype));
  }
  if ((c.one_value && c.rtype == STRSXP) || (kind == 2 && c.rtype != STRSXP) || (c.kind == kn::Feature::Int64 && c.rtype != INTSXP && c.rtype != LGLSXP) ||
      (c.kind == kn::Feature::Float && c.rtype != REALSXP))
    Rcpp::stop("write_tfrecord(): feature '%s': kind %d does not fit storage %s", c.name, kind, Rf_type2char(c.rtype));
  // gather[j]: walk the trailing dims in row-major order (last fastest) and
  // keep the column-major trailing index.
  const size_t k = dims.size() > 1 ? dims.size() - 1 : 0;
  std::vector<int64_t> d(k), cstride(k, 1), pos(k, 0);
  for (size_t j = 0; j < k; ++j) d[j] = static_cast<int64_t>(dims[j + 1]);
  for (size_t j = 1; j < k; ++j) cstride[j] = cstride[j - 1] * d[j - 1];
  c.gather.resize(c.row);
  int64_t off = 0;
  for (int64_t j = 0; j < c.row; ++j) {
    c.gather[j] = off;
    for (size_t q = k; q-- > 0;) {  // increment the row-major counter
      if (++pos[q] < d[q]) { off += cstride[q]; break; }
      off -= cstride[q] * (d[q] - 1);
      pos[q] = 0;
    }
  }
  return c;
}

void fill_record_feature(const RecordColumn& c, int64_t r, kn::Feature& f) {
  const int64_t* g = c.gather.data();
  const int64_t n = c.n, row = c.row;
  f.kind = c.kind;
  if (c.one_value) {  // (row,) uint8 values as one bytes value
    f.bytes.resize(1);
    std::string& b = f.bytes[0];
    b.resize(static_cast<size_t>(row));
    char* o = &b[0];
    bool ok = true;
    if (c.rtype == RAWSXP) {
      const unsigned char* p = static_cast<const unsigned char*>(c.data) + r;
      for (int64_t j = 0; j < row; ++j) o[j] = static_cast<char>(p[n * g[j]]);
    } else if (c.rtype == REALSXP) {
      const double* p = static_cast<const double*>(c.data) + r;
      for (int64_t j = 0; j < row; ++j) {
        const double v = p[n * g[j]];
        ok &= v >= 0 && v <= 255 && v == std::floor(v);  // NaN fails
        o[j] = static_cast<char>(static_cast<unsigned char>(ok ? v : 0));
      }
    } else {  // integer or logical
      const int* p = static_cast<const int*>(c.data) + r;
      for (int64_t j = 0; j < row; ++j) {
        const int v = p[n * g[j]];
        ok &= v >= 0 && v <= 255;  // NA_INTEGER is negative
        o[j] = static_cast<char>(static_cast<unsigned char>(v));
      }
    }
    if (!ok)
      throw kn::Error("write_tfrecord(): feature '" + c.name + "' is listed in `as_bytes` but its values are not " +
                      "integers in 0..255");
    return;
  }
  switch (c.kind) {
    case kn::Feature::Int64: {
      f.ints.resize(static_cast<size_t>(row));
      const int* p = static_cast<const int*>(c.data) + r;
      int64_t* o = f.ints.data();
      bool na = false;
      for (int64_t j = 0; j < row; ++j) {
        const int v = p[n * g[j]];
        na |= v == NA_INTEGER;
        o[j] = v;
      }
      if (na) column_na(c);
      break;
    }
    case kn::Feature::Float: {
      f.floats.resize(static_cast<size_t>(row));
      const double* p = static_cast<const double*>(c.data) + r;
      float* o = f.floats.data();
      bool nan = false;
      for (int64_t j = 0; j < row; ++j) {
        const double v = p[n * g[j]];
        nan |= std::isnan(v);
        o[j] = static_cast<float>(v);
      }
      if (nan)  // NaN is a float value; NA is missing data
        for (int64_t j = 0; j < row; ++j)
          if (is_na_real(p[n * g[j]])) column_na(c);
      break;
    }
    default: {  // strings, one bytes value each
      f.bytes.resize(static_cast<size_t>(row));
      for (int64_t j = 0; j < row; ++j) {
        const std::string_view s = c.strings[static_cast<size_t>(r + n * g[j])];
        f.bytes[j].assign(s.data(), s.size());
      }
    }
  }
}

kn::Json json_from_r(SEXP text) {
  return kn::Json::parse(Rcpp::as<std::string>(text));
}

Rcpp::String json_to_r(const kn::Json& j) { return Rcpp::String(j.dump()); }

}  // namespace knr

// [[Rcpp::export]]
bool cpp_all_finite(SEXP x) { return knr::all_finite_r(x); }
