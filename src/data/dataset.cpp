// Dataset specs -> node trees: the JSON built by the R functions
// (tfrecord_dataset(), dataset_map(), ...) becomes the nodes of
// dataset_nodes.h; Origin messages.
#include "dataset_nodes.h"

#include <algorithm>

namespace kn {

std::string Origin::str() const {
  if (file) {
    return "TFRecord file '" + *file + "', record " + std::to_string(index) + " at " +
           (compressed ? "decompressed " : "") + "byte offset " + std::to_string(offset);
  }
  if (index >= 0) return "element " + std::to_string(index);
  return "element";
}

namespace {

std::vector<std::string> strings_of(const Json& j) {
  std::vector<std::string> v;
  if (j.is_string()) v.push_back(j.as_string());
  else if (j.is_array()) for (const Json& e : j.elements()) v.push_back(e.as_string());
  return v;
}

int64_t int_attr(const Json& spec, const char* key, int64_t fallback) {
  const Json v = spec.get(key, Json());
  return v.is_number() ? v.as_int() : fallback;
}

}  // namespace

DatasetPtr dataset_from_json(const Json& spec, const std::vector<std::shared_ptr<SliceData>>& slices) {
  const std::string op = spec["op"].as_string();
  auto input = [&]() { return dataset_from_json(spec["input"], slices); };
  if (op == "tfrecord") {
    auto n = std::make_shared<TFRecordNode>();
    n->files = strings_of(spec.get("files", Json()));
    n->file_arg = static_cast<int>(int_attr(spec, "file_arg", -1));
    n->comp = parse_compression(spec.get("compression", Json("auto")).as_string());
    return n;
  }
  if (op == "tensor_slices" || op == "strings") {
    auto n = std::make_shared<SlicesNode>();
    if (op == "strings") {
      n->d = std::make_shared<SliceData>(1);
      Value& v = (*n->d)[0];
      v.dtype = DType::String;
      v.s = strings_of(spec["values"]);
      v.shape = {static_cast<int64_t>(v.s.size())};
      n->n = static_cast<int64_t>(v.s.size());
    } else {
      const int64_t k = spec["data"].as_int();
      if (k < 0 || k >= static_cast<int64_t>(slices.size())) throw Error("tensor_slices: missing data");
      n->d = slices[k];
      n->n = -1;
      for (const Value& v : *n->d) {
        if (v.shape.empty()) throw Error("tensor_slices: components must have at least one dimension");
        if (n->n >= 0 && v.shape[0] != n->n)
          throw Error("tensor_slices: all components must have the same first dimension, got " +
                      std::to_string(n->n) + " and " + std::to_string(v.shape[0]));
        n->n = v.shape[0];
        if (static_cast<int64_t>(v.stored()) != v.numel()) throw Error("tensor_slices: data size does not match its shape");
      }
      if (n->n < 0) n->n = 0;
    }
    return n;
  }
  if (op == "map") {
    auto n = std::make_shared<MapNode>();
    n->input = input();
    n->graph = MapGraph::from_json(spec["graph"]);
    n->num_parallel_calls = int_attr(spec, "num_parallel_calls", 0);
    return n;
  }
  if (op == "shuffle") {
    auto n = std::make_shared<ShuffleNode>();
    n->input = input();
    n->buffer_size = int_attr(spec, "buffer_size", 1);
    if (spec.has("seed") && spec["seed"].is_number()) {
      n->has_seed = true;
      n->user_seed = static_cast<uint64_t>(spec["seed"].as_number());
    }
    return n;
  }
  if (op == "repeat") {
    auto n = std::make_shared<RepeatNode>();
    n->input = input();
    n->count = int_attr(spec, "count", -1);
    return n;
  }
  if (op == "batch") {
    auto n = std::make_shared<BatchNode>();
    n->input = input();
    n->batch_size = int_attr(spec, "batch_size", 1);
    if (n->batch_size < 1) throw Error("batch: batch_size must be positive");
    n->drop_remainder = spec.get("drop_remainder", Json(false)).as_bool();
    return n;
  }
  if (op == "prefetch") {
    auto n = std::make_shared<PrefetchNode>();
    n->input = input();
    n->buffer_size = int_attr(spec, "buffer_size", 1);
    if (n->buffer_size < 0) n->buffer_size = 2;  // AUTOTUNE
    if (n->buffer_size == 0) return n->input;
    return n;
  }
  if (op == "take" || op == "skip" || op == "shard") {
    auto n = std::make_shared<TakeSkipNode>();
    n->input = input();
    n->kind = op == "take" ? TakeSkipNode::Take : op == "skip" ? TakeSkipNode::Skip : TakeSkipNode::Shard;
    n->count = int_attr(spec, "count", 0);
    n->num_shards = int_attr(spec, "num_shards", 1);
    n->index = int_attr(spec, "index", 0);
    if (n->kind == TakeSkipNode::Shard && (n->num_shards < 1 || n->index < 0 || n->index >= n->num_shards))
      throw Error("shard: index must be in [0, num_shards)");
    return n;
  }
  if (op == "interleave") {
    auto n = std::make_shared<InterleaveNode>();
    n->input = input();
    n->inner = dataset_from_json(spec["inner"], slices);
    n->cycle = std::max<int64_t>(1, int_attr(spec, "cycle_length", 1));
    n->block = std::max<int64_t>(1, int_attr(spec, "block_length", 1));
    return n;
  }
  throw Error("dataset spec: unknown op '" + op + "'");
}

std::unique_ptr<Iterator> make_pipeline(const DatasetPtr& ds, uint64_t seed) { return ds->make(seed, nullptr); }

}  // namespace kn
