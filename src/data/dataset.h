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
#include "op.h"
#include "tensor.h"
#include "value.h"

namespace kn {


// One component of an element: Value (src/ops/value.h), a typed dense array, row-major.

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
// Map graphs: the ops of the op table (src/ops) traced from an R map function.
// Values are numbered: 0..n_inputs-1 are the element's components, each node
// appends its outputs (several for parse_example). Attributes are parsed and
// canonicalised once, when the graph is built from JSON.

struct MapOpNode {
  OpCode op = OpCode::Count;
  OpAttrs attrs;                 // canonicalised against the traced input types
  std::vector<int> inputs;       // value ids
  int n_out = 1;
};

class MapGraph;
// Per-thread evaluator: node buffers and op states are made once and reused.
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
  // {"inputs": [{"dtype", "shape"}...], "nodes": [{"op", "inputs", "attrs", "value", "value_shape"}...],
  //  "outputs": [ids]}; "attrs" is a JSON object or a string holding one.
  static std::shared_ptr<MapGraph> from_json(const Json& j);
  int n_inputs = 0;
  std::vector<TType> input_types;  // traced types of the components (-1 = unknown)
  std::vector<MapOpNode> nodes;
  std::vector<int> outputs;        // value ids
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
