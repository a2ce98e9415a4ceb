#include "tfevents.h"

#include <unistd.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "proto/event.pb.h"
#include "proto/graph.pb.h"
#include "tensor.h"
#include "tfrecord.h"

namespace kn {

const std::vector<double>& histogram_default_limits() {
  static const std::vector<double> limits = [] {
    std::vector<double> pos, neg;
    for (double v = 1.0e-12; v < 1.0e20; v *= 1.1) { pos.push_back(v); neg.push_back(-v); }
    pos.push_back(DBL_MAX);
    neg.push_back(-DBL_MAX);
    std::reverse(neg.begin(), neg.end());
    std::vector<double> all(neg);
    all.push_back(0.0);
    all.insert(all.end(), pos.begin(), pos.end());
    return all;
  }();
  return limits;
}

Histogram make_histogram(const float* values, int64_t n) {
  const std::vector<double>& limits = histogram_default_limits();
  std::vector<double> counts(limits.size(), 0.0);  // (k,)
  Histogram h;
  h.min = limits.back();
  h.max = -DBL_MAX;
  for (int64_t i = 0; i < n; ++i) {
    const double v = values[i];
    if (!std::isfinite(v)) throw Error("histogram of a weight with a NaN or infinite value");
    size_t b = std::upper_bound(limits.begin(), limits.end(), v) - limits.begin();
    if (b >= counts.size()) b = counts.size() - 1;
    counts[b] += 1.0;
    h.min = std::min(h.min, v);
    h.max = std::max(h.max, v);
    h.num += 1;
    h.sum += v;
    h.sum_squares += v * v;
  }
  for (size_t i = 0; i < counts.size();) {
    double end = limits[i], count = counts[i];
    ++i;
    if (count <= 0.0) {  // collapse a run of empty buckets into one entry
      while (i < counts.size() && counts[i] <= 0.0) { end = limits[i]; count = counts[i]; ++i; }
    }
    h.bucket_limit.push_back(end);
    h.bucket.push_back(count);
  }
  if (h.bucket.empty()) { h.bucket_limit.push_back(DBL_MAX); h.bucket.push_back(0.0); }
  return h;
}

namespace {
std::string hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
  return buf;
}
}  // namespace

EventFileWriter::EventFileWriter(const std::string& log_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(log_dir, ec);
  if (ec || !fs::is_directory(log_dir))
    throw Error("cannot create the TensorBoard log directory '" + log_dir + "'" + (ec ? ": " + ec.message() : ""));
  const long long secs = static_cast<long long>(std::time(nullptr));
  char name[64];
  std::snprintf(name, sizeof name, "events.out.tfevents.%010lld.", secs);
  std::string base = (fs::path(log_dir) / (name + hostname())).string();
  path_ = base;
  for (int k = 1; fs::exists(path_); ++k) path_ = base + "." + std::to_string(getpid()) + "." + std::to_string(k);
  f_ = std::fopen(path_.c_str(), "wb");
  if (!f_) throw Error("cannot open the event file '" + path_ + "' for writing: " + std::strerror(errno));
  tensorflow::Event ev;
  ev.set_wall_time(static_cast<double>(secs));
  ev.set_file_version("brain.Event:2");
  write_event(ev.SerializeAsString());
  flush();
}

EventFileWriter::~EventFileWriter() {
  if (f_) std::fclose(f_);
}

void EventFileWriter::write_event(const std::string& s) {
  if (!f_) throw Error("the event file '" + path_ + "' is closed");
  std::string rec = frame_record(s);
  if (std::fwrite(rec.data(), 1, rec.size(), f_) != rec.size())
    throw Error("write error on the event file '" + path_ + "': " + std::strerror(errno));
}

void EventFileWriter::add_scalar(const std::string& tag, double value, int64_t step, double wall_time) {
  tensorflow::Event ev;
  ev.set_wall_time(wall_time);
  ev.set_step(step);
  tensorflow::Summary::Value* v = ev.mutable_summary()->add_value();
  v->set_tag(tag);
  v->set_simple_value(static_cast<float>(value));
  write_event(ev.SerializeAsString());
}

void EventFileWriter::add_histogram(const std::string& tag, const float* values, int64_t n, int64_t step,
                                    double wall_time) {
  Histogram h = make_histogram(values, n);
  tensorflow::Event ev;
  ev.set_wall_time(wall_time);
  ev.set_step(step);
  tensorflow::Summary::Value* v = ev.mutable_summary()->add_value();
  v->set_tag(tag);
  tensorflow::HistogramProto* p = v->mutable_histo();
  p->set_min(h.min);
  p->set_max(h.max);
  p->set_num(h.num);
  p->set_sum(h.sum);
  p->set_sum_squares(h.sum_squares);
  for (double l : h.bucket_limit) p->add_bucket_limit(l);
  for (double c : h.bucket) p->add_bucket(c);
  write_event(ev.SerializeAsString());
}

void EventFileWriter::add_graph(const std::vector<GraphDefNode>& nodes, double wall_time) {
  tensorflow::GraphDef g;
  for (const GraphDefNode& n : nodes) {
    tensorflow::NodeDef* nd = g.add_node();
    nd->set_name(n.name);
    nd->set_op(n.op);
    for (const std::string& in : n.inputs) nd->add_input(in);
    tensorflow::AttrValue shapes;
    tensorflow::TensorShapeProto* s = shapes.mutable_list()->add_shape();
    s->add_dim()->set_size(-1);  // batch
    for (int64_t d : n.output_shape) s->add_dim()->set_size(d);
    (*nd->mutable_attr())["_output_shapes"] = shapes;
  }
  tensorflow::Event ev;
  ev.set_wall_time(wall_time);
  ev.set_graph_def(g.SerializeAsString());
  write_event(ev.SerializeAsString());
}

void EventFileWriter::flush() {
  if (f_ && std::fflush(f_) != 0) throw Error("write error on the event file '" + path_ + "'");
}

void EventFileWriter::close() {
  if (!f_) return;
  const int rc = std::fclose(f_);
  f_ = nullptr;
  if (rc != 0) throw Error("write error closing the event file '" + path_ + "'");
}

namespace {
tensorflow::Event parse_event(const std::string& rec, const TFRecordReader& r) {
  tensorflow::Event ev;
  if (!ev.ParseFromString(rec)) throw Error("malformed tensorflow.Event in " + r.where());
  return ev;
}

// Value of a numeric scalar tensor; false if `t` is not one.
bool tensor_scalar(const tensorflow::TensorProto& t, double& out) {
  int64_t n = 1;
  for (const auto& d : t.tensor_shape().dim()) n *= d.size();
  if (n != 1) return false;
  const std::string& c = t.tensor_content();
  switch (t.dtype()) {
    case tensorflow::DT_FLOAT:
      if (c.size() == 4) { float f; std::memcpy(&f, c.data(), 4); out = f; return true; }
      if (t.float_val_size() == 1) { out = t.float_val(0); return true; }
      return false;
    case tensorflow::DT_DOUBLE:
      if (c.size() == 8) { std::memcpy(&out, c.data(), 8); return true; }
      if (t.double_val_size() == 1) { out = t.double_val(0); return true; }
      return false;
    case tensorflow::DT_INT32:
      if (c.size() == 4) { int32_t v; std::memcpy(&v, c.data(), 4); out = v; return true; }
      if (t.int_val_size() == 1) { out = t.int_val(0); return true; }
      return false;
    case tensorflow::DT_INT64:
      if (c.size() == 8) { int64_t v; std::memcpy(&v, c.data(), 8); out = static_cast<double>(v); return true; }
      if (t.int64_val_size() == 1) { out = static_cast<double>(t.int64_val(0)); return true; }
      return false;
    default:
      return false;
  }
}
}  // namespace

std::vector<ScalarEvent> read_event_scalars(const std::string& path) {
  TFRecordReader r(path, Compression::None, true);
  std::vector<ScalarEvent> out;
  std::string rec;
  while (r.next(rec)) {
    tensorflow::Event ev = parse_event(rec, r);
    if (!ev.has_summary()) continue;
    for (const auto& v : ev.summary().value()) {
      double x;
      if (v.value_case() == tensorflow::Summary::Value::kSimpleValue) {
        x = v.simple_value();
      } else if (v.value_case() == tensorflow::Summary::Value::kTensor) {
        const std::string& plugin = v.metadata().plugin_data().plugin_name();
        if (!(plugin.empty() || plugin == "scalars") || !tensor_scalar(v.tensor(), x)) continue;
      } else {
        continue;
      }
      out.push_back({v.tag(), ev.step(), ev.wall_time(), x});
    }
  }
  return out;
}

std::string read_event_file_version(const std::string& path) {
  TFRecordReader r(path, Compression::None, true);
  std::string rec;
  if (!r.next(rec)) return "";
  return parse_event(rec, r).file_version();
}

}  // namespace kn
