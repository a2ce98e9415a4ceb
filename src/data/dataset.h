// Input pipelines (tf.data style). A pipeline is described by a JSON spec
// (built by the R functions tfrecord_dataset(), dataset_map(), ...) and
// instantiated here as a tree of iterators. All per-record work (reading,
// CRC, Example parsing, the traced map graph, shuffling, batching) runs in
// C++; parallel map and prefetch use std::thread workers and never call R.
//
// Determinism: the order of elements depends only on the spec and the seed
// given to make_iterator(): parallel map keeps input order, shuffling happens
// in one place (the consumer of the shuffle buffer) with its own generator.
//
// Errors: every failure is a kn::Error; errors raised on worker threads are
// carried to the consuming thread and rethrown there, after all elements that
// preceded the failing one.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dtype.h"
#include "json.h"
#include "tensor.h"

namespace kn {


// One component of an element: a typed dense array, row-major.
struct Value {
  DType dtype = DType::Float32;
  Shape shape;                    // per-element shape (batch dim first after batching)
  std::vector<float> f;           // (numel,) when dtype == Float32
  std::vector<int64_t> i;         // (numel,) when integer dtype
  std::vector<std::string> s;     // (numel,) when dtype == String
  int64_t numel() const { return shape_numel(shape); }
  size_t stored() const {
    return dtype == DType::Float32 ? f.size() : dtype == DType::String ? s.size() : i.size();
  }
};

// Where an element came from, for error messages.
struct Origin {
  std::shared_ptr<const std::string> file;  // null: not from a file
  bool compressed = false;
  int64_t index = -1;    // record index in the file, or element index of an in-memory source
  uint64_t offset = 0;   // byte offset of the record (decompressed stream when compressed)
  std::string str() const;  // "TFRecord file 'a.tfrecord', record 3 at byte offset 1234"
};

struct Element {
  std::vector<Value> comps;  // flat components, in spec order
  Origin origin;
};

class Iterator {
 public:
  virtual ~Iterator() = default;
  // Next element into `out`; false at the end. Throws kn::Error.
  virtual bool next(Element& out) = 0;
};

// ---------------------------------------------------------------------------
// Map graphs: the op graph traced from an R map function. Values are numbered:
// 0..n_inputs-1 are the element's components, each node appends its outputs.

struct GraphNode {
  std::string op;                // parse_example, decode_raw, cast, reshape, one_hot, binary, identity
  std::vector<int> inputs;       // value ids
  int n_out = 1;
  Json attrs;
};

class MapGraph;
// Per-thread evaluator with reused buffers.
class GraphExecutor {
 public:
  explicit GraphExecutor(const MapGraph& g);
  ~GraphExecutor();
  // Replace `el.comps` by the graph outputs. Throws kn::Error (without origin).
  void run(Element& el);
 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class MapGraph {
 public:
  static std::shared_ptr<MapGraph> from_json(const Json& j);
  int n_inputs = 0;
  std::vector<GraphNode> nodes;
  std::vector<int> outputs;      // value ids
};

// ---------------------------------------------------------------------------
// Dataset nodes (immutable once built; shareable by several iterators).

class DatasetNode {
 public:
  virtual ~DatasetNode() = default;
  // `arg`: the input element when this node is the inner dataset of an
  // interleave (the file names come from it); null otherwise.
  virtual std::unique_ptr<Iterator> make(uint64_t seed, const Element* arg) const = 0;
};
using DatasetPtr = std::shared_ptr<const DatasetNode>;

// In-memory data for tensor_slices sources: one Value per component holding
// all elements (shape (N, ...)).
using SliceData = std::vector<Value>;

// Build the node tree from a spec. `slices[k]` holds the data of the
// tensor_slices node whose spec has "data": k.
DatasetPtr dataset_from_json(const Json& spec, const std::vector<std::shared_ptr<SliceData>>& slices);

// Convenience: an iterator over the whole pipeline.
std::unique_ptr<Iterator> make_pipeline(const DatasetPtr& ds, uint64_t seed);

// Worker threads of a parallel map follow the engine's thread count
// (kn::num_threads(), i.e. kn_threads() in R): AUTOTUNE (< 0) uses all of it,
// an explicit num_parallel_calls is capped by it; <= 1 maps on the consumer's
// thread.
int dataset_map_threads(int64_t num_parallel_calls);
// Worker threads owned by the parallel-map iterators alive right now.
int dataset_live_map_workers();

}  // namespace kn
