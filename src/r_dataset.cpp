// Rcpp glue for input pipelines and TFRecord writing. write_tfrecord() columns
// cross the boundary as R arrays in R order (read per record through
// knr::RecordColumn, no aperm()); everything per record of a pipeline happens
// in src/data/dataset*.cpp.
#include <Rcpp.h>

#include <memory>

#include "dataset.h"
#include "dataset_source.h"
#include "example.h"
#include "parallel.h"
#include "r_convert.h"
#include "r_callbacks.h"
#include "r_handles.h"
#include "tfrecord.h"

using namespace Rcpp;
using namespace knr;

namespace {

struct DatasetHolder { kn::DatasetPtr ds; };
struct IteratorHolder {
  kn::DatasetPtr ds;  // keeps the nodes alive
  std::unique_ptr<kn::Iterator> it;
  bool done = false;
};
struct WriterHolder { kn::TFRecordWriter w; };

kn::DatasetPtr& dataset_of(SEXP p) {
  XPtr<DatasetHolder> h(p);
  if (!h.get()) stop("this dataset handle is no longer valid");
  return h->ds;
}
IteratorHolder& iterator_of(SEXP p) {
  XPtr<IteratorHolder> h(p);
  if (!h.get()) stop("this iterator is no longer valid (iterators cannot be saved)");
  return *h;
}

// list(dtype, shape, values) with values flat row-major -> Value
kn::Value value_from_r(List c) {
  kn::Value v;
  v.dtype = kn::dtype_from_name(as<std::string>(c["dtype"]));
  NumericVector sh = c["shape"];
  for (double d : sh) v.shape.push_back(static_cast<int64_t>(d));
  SEXP x = c["values"];
  const R_xlen_t n = Rf_xlength(x);
  switch (v.dtype) {
    case kn::DType::Float32: {
      NumericVector d(x);
      v.f.assign(d.begin(), d.end());
      break;
    }
    case kn::DType::String: {
      CharacterVector s(x);
      v.s.resize(n);
      for (R_xlen_t i = 0; i < n; ++i) v.s[i] = as<std::string>(s[i]);
      break;
    }
    case kn::DType::UInt8:
      if (TYPEOF(x) == RAWSXP) {
        v.i.assign(RAW(x), RAW(x) + n);
        break;
      }
      // fall through
    default: {
      if (TYPEOF(x) == REALSXP) {
        NumericVector d(x);
        v.i.resize(n);
        for (R_xlen_t i = 0; i < n; ++i) v.i[i] = static_cast<int64_t>(d[i]);
      } else {
        IntegerVector d(x);
        v.i.assign(d.begin(), d.end());
      }
    }
  }
  if (static_cast<int64_t>(v.stored()) != v.numel()) stop("internal: component data does not match its shape");
  return v;
}

SEXP value_to_r(const kn::Value& v) {
  SEXP values;
  if (v.dtype == kn::DType::Float32) {
    values = wrap(std::vector<double>(v.f.begin(), v.f.end()));
  } else if (v.dtype == kn::DType::Int64) {
    values = wrap(std::vector<double>(v.i.begin(), v.i.end()));
  } else if (v.dtype == kn::DType::String) {
    bool binary = false;
    for (const std::string& s : v.s) binary = binary || s.find('\0') != std::string::npos;
    if (binary) {
      List l(v.s.size());
      for (size_t k = 0; k < v.s.size(); ++k) {
        RawVector r(v.s[k].size());
        std::copy(v.s[k].begin(), v.s[k].end(), r.begin());
        l[k] = r;
      }
      values = l;
    } else {
      values = wrap(v.s);
    }
  } else if (v.dtype == kn::DType::Bool) {
    LogicalVector lv(v.i.size());
    for (size_t k = 0; k < v.i.size(); ++k) lv[k] = v.i[k] != 0;
    values = lv;
  } else {
    IntegerVector iv(v.i.size());
    for (size_t k = 0; k < v.i.size(); ++k) iv[k] = static_cast<int>(v.i[k]);
    values = iv;
  }
  return List::create(_["dtype"] = kn::dtype_name(v.dtype),
                      _["shape"] = NumericVector(v.shape.begin(), v.shape.end()), _["values"] = values);
}

std::vector<int> idx_vec(IntegerVector v) { return std::vector<int>(v.begin(), v.end()); }

}  // namespace

// [[Rcpp::export]]
SEXP cpp_dataset_new(std::string spec_json, List slices) {
  std::vector<std::shared_ptr<kn::SliceData>> data;
  for (R_xlen_t k = 0; k < slices.size(); ++k) {
    List comps = slices[k];
    auto d = std::make_shared<kn::SliceData>();
    for (R_xlen_t j = 0; j < comps.size(); ++j) d->push_back(value_from_r(comps[j]));
    data.push_back(std::move(d));
  }
  auto h = new DatasetHolder{kn::dataset_from_json(kn::Json::parse(spec_json), data)};
  return XPtr<DatasetHolder>(h, true);
}

// [[Rcpp::export]]
SEXP cpp_dataset_iterator(SEXP dataset, double seed) {
  auto h = std::make_unique<IteratorHolder>();
  h->ds = dataset_of(dataset);
  h->it = kn::make_pipeline(h->ds, seed_of(seed));
  return XPtr<IteratorHolder>(h.release(), true);
}

// Next element as a list of components list(dtype, shape, values), or NULL.
// [[Rcpp::export]]
SEXP cpp_iterator_next(SEXP iterator) {
  IteratorHolder& h = iterator_of(iterator);
  if (h.done) return R_NilValue;
  kn::Element el;
  bool ok;
  try {
    ok = h.it->next(el);
  } catch (...) {
    h.done = true;
    throw;
  }
  if (!ok) {
    h.done = true;
    h.it.reset();  // stop worker threads
    return R_NilValue;
  }
  List out(el.comps.size());
  for (size_t k = 0; k < el.comps.size(); ++k) out[k] = value_to_r(el.comps[k]);
  return out;
}

// Pull up to `max` elements (all when max < 0) without converting them:
// list(elements, seconds). For benchmarks and counting.
// [[Rcpp::export]]
List cpp_iterator_drain(SEXP iterator, double max) {
  IteratorHolder& h = iterator_of(iterator);
  kn::Element el;
  double n = 0, rows = 0;
  const double t0 = now_s();
  while (!h.done && (max < 0 || n < max)) {
    if (!h.it->next(el)) { h.done = true; break; }
    n += 1;
    rows += el.comps.empty() || el.comps[0].shape.empty() ? 1 : static_cast<double>(el.comps[0].shape[0]);
    if (static_cast<int64_t>(n) % 256 == 0) Rcpp::checkUserInterrupt();
  }
  return List::create(_["elements"] = n, _["rows"] = rows, _["seconds"] = now_s() - t0);
}

// [[Rcpp::export]]
void cpp_iterator_close(SEXP iterator) {
  IteratorHolder& h = iterator_of(iterator);
  h.it.reset();
  h.done = true;
}

// One epoch of fit() over a dataset iterator. steps < 0: until it ends.
// target: steps shown by the progress bar (0 = unknown).
// [[Rcpp::export]]
List cpp_dataset_fit_epoch(SEXP model, SEXP iterator, IntegerVector x_idx, IntegerVector y_idx, int w_idx,
                           double steps, double target, double seed, int verbose, bool dynamic,
                           SEXP hook = R_NilValue) {
  kn::Model& m = model_of(model);
  IteratorHolder& h = iterator_of(iterator);
  if (h.done) stop("the dataset iterator is exhausted");
  kn::DatasetBatchSource src(*h.it, idx_vec(x_idx), idx_vec(y_idx), w_idx, static_cast<int64_t>(steps), &m);
  auto ph = std::make_unique<ProgressHolder>();
  ProgressRun& pr = ph->run;
  pr.names = m.metric_names();
  pr.target = static_cast<int64_t>(target);
  pr.hold_last = true;
  const bool unknown = pr.target <= 0;  // first pass without steps: show the bar at the end
  const double t0 = now_s();
  if (!unknown) pr.start(pr.target, verbose, dynamic);
  auto inner = pr.callback();
  kn::BatchCallback cb = [&](int64_t, const std::vector<double>& v) { return inner(src.steps(), v); };
  BatchHooks hooks(hook, pr.names);
  bool stopped = false;
  std::vector<double> v;
  try {
    v = m.train_epoch(src, seed_of(seed), hooks.end(cb), stopped, hooks.begin());
  } catch (...) {
    h.done = true;
    h.it.reset();
    throw;
  }
  if (src.exhausted()) h.done = true;
  if (unknown && verbose > 0 && src.steps() > 0) {
    // one update with the epoch means (what Keras's running averages end at)
    pr.target = src.steps();
    pr.bar = std::make_unique<kn::Progbar>(pr.target, verbose, dynamic, r_sink);
    pr.bar->start(t0);
    pr.pending.clear();
    for (size_t k = 0; k < v.size() && k < pr.names.size(); ++k) pr.pending.push_back({pr.names[k], v[k]});
    pr.pending_seen = src.steps();
  }
  return List::create(_["values"] = named_values(pr.names, v), _["stopped"] = pr.user_stop,
                      _["stop_training"] = hooks.stop,
                      _["progress"] = XPtr<ProgressHolder>(ph.release(), true),
                      _["batches"] = static_cast<double>(src.steps()), _["exhausted"] = src.exhausted());
}

// [[Rcpp::export]]
List cpp_dataset_evaluate(SEXP model, SEXP iterator, IntegerVector x_idx, IntegerVector y_idx, int w_idx,
                          double steps, int verbose, bool dynamic, SEXP hook = R_NilValue) {
  kn::Model& m = model_of(model);
  IteratorHolder& h = iterator_of(iterator);
  kn::DatasetBatchSource src(*h.it, idx_vec(x_idx), idx_vec(y_idx), w_idx, static_cast<int64_t>(steps), &m);
  ProgressRun pr;
  pr.names = m.metric_names();
  pr.target = steps > 0 ? static_cast<int64_t>(steps) : 0;
  pr.start(pr.target, verbose, dynamic);
  auto inner = pr.callback();
  kn::BatchCallback cb = [&](int64_t, const std::vector<double>& v) { return inner(src.steps(), v); };
  BatchHooks hooks(hook, m.metric_names());
  bool stopped = false;
  std::vector<double> v = m.evaluate(src, hooks.end(cb), stopped, hooks.begin());
  if (stopped || pr.user_stop) stop("evaluation interrupted");
  if (src.steps() == 0) stop("evaluate(): the dataset produced no batches");
  return named_values(m.metric_names(), v);
}

// [[Rcpp::export]]
List cpp_dataset_predict(SEXP model, SEXP iterator, IntegerVector x_idx, double steps, int verbose, bool dynamic,
                         SEXP hook = R_NilValue) {
  kn::Model& m = model_of(model);
  IteratorHolder& h = iterator_of(iterator);
  kn::DatasetBatchSource src(*h.it, idx_vec(x_idx), {}, -1, static_cast<int64_t>(steps), &m);
  ProgressRun pr;
  pr.target = steps > 0 ? static_cast<int64_t>(steps) : 0;
  pr.start(pr.target, verbose, dynamic);
  auto inner = pr.callback();
  kn::BatchCallback cb = [&](int64_t, const std::vector<double>& v) { return inner(src.steps(), v); };
  BatchHooks hooks(hook, {});
  bool stopped = false;
  std::vector<kn::Tensor> outs = m.predict(src, hooks.end(cb), stopped, hooks.begin());
  if (stopped || pr.user_stop) stop("prediction interrupted");
  if (src.steps() == 0) stop("predict(): the dataset produced no batches");
  List res(outs.size());
  for (size_t k = 0; k < outs.size(); ++k) res[k] = knr::tensor_to_r(outs[k]);
  return res;
}

// ---------------------------------------------------------------- writing

namespace {
std::vector<RecordColumn> record_columns(const List& columns) {
  std::vector<RecordColumn> cols;
  for (R_xlen_t k = 0; k < columns.size(); ++k) cols.push_back(record_column_from_r(columns[k]));
  return cols;
}

// Records [r0, r1) as framed TFRecords appended to `out` (no R API: runs on
// worker threads). One ExampleMap per call, its buffers reused per record.
void encode_records(const std::vector<RecordColumn>& cols, int64_t r0, int64_t r1, std::string& out) {
  kn::ExampleMap ex(cols.size());
  for (size_t k = 0; k < cols.size(); ++k) ex[k].first = cols[k].name;
  std::string rec;
  out.clear();
  for (int64_t r = r0; r < r1; ++r) {
    for (size_t k = 0; k < cols.size(); ++k) fill_record_feature(cols[k], r, ex[k].second);
    kn::encode_example(ex, rec);
    kn::append_framed_record(out, rec.data(), rec.size());
  }
}
}  // namespace

// columns: list(list(name, kind, values (R order), dims, one_value)); n records.
// Records are encoded in chunks of 512 on the engine's threads, a wave of
// chunks at a time, and written in record order by this thread: the file is
// the same for any thread count.
// [[Rcpp::export]]
double cpp_write_tfrecord(std::string path, std::string compression, List columns, double n) {
  const std::vector<RecordColumn> cols = record_columns(columns);
  const int64_t nr = static_cast<int64_t>(n);
  for (const RecordColumn& c : cols)
    if (c.n != nr) stop("write_tfrecord(): feature '%s' has %lld records, expected %lld", c.name, (long long)c.n, (long long)nr);
  kn::TFRecordWriter w(path, compression);
  const int64_t chunk = 512, n_chunks = kn::n_chunks(nr, chunk), wave = 32;
  std::vector<std::string> out(static_cast<size_t>(std::min(wave, n_chunks)));  // (wave,) framed records per chunk
  std::vector<std::string> err(out.size());
  for (int64_t c0 = 0; c0 < n_chunks; c0 += wave) {
    const int64_t nw = std::min(wave, n_chunks - c0);
    kn::parallel_for(nw, [&](int64_t t) {
      const int64_t r0 = (c0 + t) * chunk, r1 = std::min(nr, r0 + chunk);
      try {
        encode_records(cols, r0, r1, out[t]);
      } catch (const std::exception& e) {
        err[t] = e.what();
      }
    });
    for (int64_t t = 0; t < nw; ++t)  // the first failing chunk in record order; ~w removes the temp file
      if (!err[t].empty()) stop(err[t]);
    for (int64_t t = 0; t < nw; ++t) {
      const int64_t r0 = (c0 + t) * chunk;
      w.write_framed(out[t], std::min(nr, r0 + chunk) - r0);
    }
    Rcpp::checkUserInterrupt();
  }
  w.close();
  return static_cast<double>(w.records_written());
}

// [[Rcpp::export]]
SEXP cpp_tfrecord_writer_new(std::string path, std::string compression) {
  auto h = std::make_unique<WriterHolder>();
  h->w.open(path, kn::parse_compression(compression));
  return XPtr<WriterHolder>(h.release(), true);
}

// Write one record: an Example from `columns` (one record each), or, when
// `raw` is a raw vector, those bytes as they are.
// [[Rcpp::export]]
void cpp_tfrecord_writer_write(SEXP writer, List columns, SEXP raw) {
  XPtr<WriterHolder> h(writer);
  if (!h.get() || !h->w.is_open()) stop("the TFRecord writer is closed");
  if (TYPEOF(raw) == RAWSXP) {
    h->w.write(reinterpret_cast<const char*>(RAW(raw)), static_cast<size_t>(Rf_xlength(raw)));
    return;
  }
  const std::vector<RecordColumn> cols = record_columns(columns);
  kn::ExampleMap ex(cols.size());
  for (size_t k = 0; k < cols.size(); ++k) {
    ex[k].first = cols[k].name;
    fill_record_feature(cols[k], 0, ex[k].second);
  }
  h->w.write(kn::encode_example(ex));
}

// [[Rcpp::export]]
double cpp_tfrecord_writer_close(SEXP writer) {
  XPtr<WriterHolder> h(writer);
  if (!h.get()) stop("invalid writer");
  if (h->w.is_open()) h->w.close();
  return static_cast<double>(h->w.records_written());
}

// [[Rcpp::export]]
void cpp_tfrecord_writer_abort(SEXP writer) {
  XPtr<WriterHolder> h(writer);
  if (h.get() && h->w.is_open()) h->w.abort();
}

// Parse every record of a file into list(key = list(kind, values)) per record
// (debugging and tests; uses the general parser).
// [[Rcpp::export]]
List cpp_tfrecord_read_examples(std::string path, std::string compression, double max) {
  kn::TFRecordReader r(path, compression);
  std::string rec;
  std::vector<SEXP> keep;
  List out;
  while ((max < 0 || out.size() < max) && r.next(rec)) {
    kn::ExampleMap ex;
    try {
      ex = kn::parse_example_fast(rec);
    } catch (const std::exception& e) {
      stop("%s: %s", r.where(), e.what());
    }
    List feats(ex.size());
    CharacterVector nm(ex.size());
    for (size_t k = 0; k < ex.size(); ++k) {
      const kn::Feature& f = ex[k].second;
      nm[k] = ex[k].first;
      SEXP vals;
      if (f.kind == kn::Feature::Float) vals = wrap(std::vector<double>(f.floats.begin(), f.floats.end()));
      else if (f.kind == kn::Feature::Int64) vals = wrap(std::vector<double>(f.ints.begin(), f.ints.end()));
      else {
        List l(f.bytes.size());
        for (size_t j = 0; j < f.bytes.size(); ++j) {
          RawVector rv(f.bytes[j].size());
          std::copy(f.bytes[j].begin(), f.bytes[j].end(), rv.begin());
          l[j] = rv;
        }
        vals = l;
      }
      feats[k] = List::create(_["kind"] = kn::feature_kind_name(f.kind), _["values"] = vals);
    }
    feats.attr("names") = nm;
    out.push_back(feats);
  }
  return out;
}
