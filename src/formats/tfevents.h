// TensorBoard event files (events.out.tfevents.<seconds>.<host>): TFRecord
// framing (tfrecord.h) around tensorflow.Event messages (proto/event.proto,
// summary.proto, graph.proto). Writer and scalar reader; core only.
//
// A file starts with Event{wall_time, file_version = "brain.Event:2"}; every
// further record is one Event with a Summary (one Value each, as Keras 2.2.5's
// TensorBoard callback writes them) or a serialized GraphDef.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace kn {

// TensorFlow's histogram summary (tensorflow/core/lib/histogram): default
// bucket limits -DBL_MAX, -1e20/1.1.., ..., -1e-12, 0, 1e-12, ..., 1e20-ish,
// DBL_MAX (10% growth); value v falls in the first bucket whose limit is > v;
// runs of empty buckets are collapsed into one entry (limit of the last).
struct Histogram {
  double min = 0, max = 0, num = 0, sum = 0, sum_squares = 0;
  std::vector<double> bucket_limit, bucket;  // (k,) each
};
Histogram make_histogram(const float* values, int64_t n);
const std::vector<double>& histogram_default_limits();

// One node of the model graph shown by TensorBoard's Graphs tab.
struct GraphDefNode {
  std::string name, op;                  // layer name, Keras class ("Dense", "InputLayer")
  std::vector<std::string> inputs;       // names of inbound nodes
  std::vector<int64_t> output_shape;     // without the batch dimension
};

class EventFileWriter {
 public:
  // Creates `log_dir` (recursively) and events.out.tfevents.<seconds>.<host>
  // in it (with a ".<pid>.<n>" suffix when that name exists), then writes the
  // file_version event. Throws kn::Error naming the path on failure.
  explicit EventFileWriter(const std::string& log_dir);
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  void add_scalar(const std::string& tag, double value, int64_t step, double wall_time);
  void add_histogram(const std::string& tag, const float* values, int64_t n, int64_t step, double wall_time);
  void add_graph(const std::vector<GraphDefNode>& nodes, double wall_time);
  void flush();
  void close();
  const std::string& path() const { return path_; }

 private:
  void write_event(const std::string& serialized);
  std::string path_;
  std::FILE* f_ = nullptr;
};

// Scalars of one event file: Summary values with simple_value, and numeric
// scalar tensors (TF2 tf.summary.scalar: plugin "scalars" or no plugin).
struct ScalarEvent {
  std::string tag;
  int64_t step;
  double wall_time, value;
};
std::vector<ScalarEvent> read_event_scalars(const std::string& path);

// The file_version of the first event ("" if none); throws on a bad file.
std::string read_event_file_version(const std::string& path);

}  // namespace kn
