// The dataset nodes (src/data internal): one class per tf.data transformation,
// immutable once built from the JSON spec (dataset.cpp); their iterators live
// in dataset_sources.cpp, dataset_map.cpp and dataset_transforms.cpp.
#pragma once
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "dataset.h"
#include "rng.h"
#include "tfrecord.h"

namespace kn {

// Seed of the k-th child of a node seeded with `seed`.
inline uint64_t derive(uint64_t seed, uint64_t k) { return splitmix64(seed ^ splitmix64(k + 0x51ED)); }

// Rethrow an engine error with the element's origin in front.
[[noreturn]] inline void fail_at(const Origin& o, const std::exception& e) { throw Error(o.str() + ": " + e.what()); }

class TFRecordNode : public DatasetNode {
 public:
  std::vector<std::string> files;
  int file_arg = -1;  // component of the interleave argument holding file names
  Compression comp = Compression::Auto;
  std::unique_ptr<Iterator> make(uint64_t seed, const Element* arg) const override;
};

class SlicesNode : public DatasetNode {
 public:
  std::shared_ptr<SliceData> d;  // components with shape (n, ...)
  int64_t n = 0;
  std::unique_ptr<Iterator> make(uint64_t, const Element*) const override;
};

class MapNode : public DatasetNode {
 public:
  DatasetPtr input;
  std::shared_ptr<MapGraph> graph;
  // num_parallel_calls as given: 0 = run on the consumer's thread, < 0 =
  // AUTOTUNE; resolved by dataset_map_threads() when an iterator is made, so a
  // later kn_threads() applies to datasets built before it.
  int64_t num_parallel_calls = 0;
  std::unique_ptr<Iterator> make(uint64_t seed, const Element* arg) const override;
};

class ShuffleNode : public DatasetNode {
 public:
  DatasetPtr input;
  int64_t buffer_size = 1;
  bool has_seed = false;
  uint64_t user_seed = 0;
  std::unique_ptr<Iterator> make(uint64_t seed, const Element* arg) const override;
};

class RepeatNode : public DatasetNode {
 public:
  DatasetPtr input;
  int64_t count = -1;  // -1: forever
  std::unique_ptr<Iterator> make(uint64_t seed, const Element* arg) const override;
};

class BatchNode : public DatasetNode {
 public:
  DatasetPtr input;
  int64_t batch_size = 1;
  bool drop_remainder = false;
  std::unique_ptr<Iterator> make(uint64_t seed, const Element* arg) const override;
};

class PrefetchNode : public DatasetNode {
 public:
  DatasetPtr input;
  int64_t buffer_size = 1;
  std::unique_ptr<Iterator> make(uint64_t seed, const Element* arg) const override;
};

class TakeSkipNode : public DatasetNode {
 public:
  DatasetPtr input;
  enum Kind { Take, Skip, Shard } kind = Take;
  int64_t count = 0, num_shards = 1, index = 0;
  std::unique_ptr<Iterator> make(uint64_t seed, const Element* arg) const override;
};

class InterleaveNode : public DatasetNode {
 public:
  DatasetPtr input, inner;
  int64_t cycle = 1, block = 1;
  std::unique_ptr<Iterator> make(uint64_t seed, const Element* arg) const override;
};

}  // namespace kn
