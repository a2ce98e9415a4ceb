// tf.train.Example <-> plain C++ structures (no protobuf types in this header).
//
// Wire format (TensorFlow's example.proto/feature.proto, field numbers kept):
//   Example  { Features features = 1; }
//   Features { map<string, Feature> feature = 1; }   // entry: key = 1, value = 2
//   Feature  { oneof { BytesList bytes_list = 1; FloatList float_list = 2; Int64List int64_list = 3; } }
//   BytesList { repeated bytes value = 1; }  FloatList { repeated float value = 1 [packed]; }
//   Int64List { repeated int64 value = 1 [packed]; }
//
// Map order: protobuf gives no order for map fields. TensorFlow's C++-backed
// Python protobuf writes entries in hash-table order (it differs from record to
// record in real files), pure-Python protobuf in dict insertion order, and
// deterministic serialization sorted by key (bytewise). encode_example() writes
// the entries exactly in the order of the ExampleMap vector (= insertion order,
// as a Python dict / R named list), or sorted by key when sort_keys is true
// (then byte-identical to protobuf's deterministic SerializeToString). Each map
// entry always carries both key and value (as protobuf C++ writes them), float
// and int64 lists are packed (as TF writes them; empty lists write no value
// field). parse_example_fast() keeps the wire order, so
// encode_example(parse_example_fast(b)) == b for every TF-written record.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tensor.h"

namespace kn {

struct Feature {
  enum Kind { None, Bytes, Float, Int64 };  // None: the oneof is not set
  Kind kind = None;
  std::vector<std::string> bytes;  // (n,) when kind == Bytes
  std::vector<float> floats;       // (n,) when kind == Float
  std::vector<int64_t> ints;       // (n,) when kind == Int64

  static Feature of_bytes(std::vector<std::string> v);
  static Feature of_floats(std::vector<float> v);
  static Feature of_ints(std::vector<int64_t> v);
  size_t size() const;  // number of values of the active kind
  bool operator==(const Feature& o) const;
  bool operator!=(const Feature& o) const { return !(*this == o); }
};

const char* feature_kind_name(Feature::Kind k);  // "none", "bytes_list", "float_list", "int64_list"

using ExampleMap = std::vector<std::pair<std::string, Feature>>;

// Parse with the protobuf-generated classes. Entries are sorted by key (the
// protobuf map has no order). Throws kn::Error if the bytes do not parse.
ExampleMap parse_example(const std::string& bytes);
// Hand-written wire walker: same result as parse_example but in wire order
// (duplicate keys: the last entry wins, at the position of the first; repeated
// occurrences of a message field are merged, as protobuf does).
ExampleMap parse_example_fast(std::string_view bytes);

// Serialize (see the order note above). The second form reuses `out`'s capacity.
std::string encode_example(const ExampleMap& ex, bool sort_keys = false);
void encode_example(const ExampleMap& ex, std::string& out, bool sort_keys = false);
// Serialize via protobuf (reference for tests): deterministic => sorted keys.
std::string encode_example_protobuf(const ExampleMap& ex);

// Lookup by key; nullptr when absent.
const Feature* find_feature(const ExampleMap& ex, std::string_view key);

// ---------------------------------------------------------------------------
// Fast path for the input pipeline: pull only the requested keys out of the
// wire bytes. After warm-up parse() allocates nothing: bytes values are views
// into the record buffer, floats/ints go into reused vectors.

struct FeatureSpec {
  std::string key;
  Feature::Kind kind = Feature::None;  // None = accept any kind
  int64_t count = -1;                  // required number of values; -1 = any
  bool required = true;                // missing key -> error (else present = false)
};

struct FeatureValues {
  Feature::Kind kind = Feature::None;
  bool present = false;
  std::vector<std::string_view> bytes;  // (n,) views into the parsed record
  std::vector<float> floats;            // (n,)
  std::vector<int64_t> ints;            // (n,)
  size_t size() const;
};

class ExampleSpecParser {
 public:
  ExampleSpecParser() = default;
  explicit ExampleSpecParser(std::vector<FeatureSpec> specs);
  void set_specs(std::vector<FeatureSpec> specs);
  const std::vector<FeatureSpec>& specs() const { return specs_; }

  // Parse one serialized Example. Throws kn::Error on malformed bytes, a
  // missing required key, a kind or count mismatch (message names the key,
  // expected vs found, and the byte offset inside the record).
  void parse(std::string_view record);
  const FeatureValues& operator[](size_t i) const { return values_[i]; }
  const FeatureValues& value(size_t i) const { return values_[i]; }
  // Spec index of `key`, or -1.
  int index_of(std::string_view key) const;

 private:
  std::vector<FeatureSpec> specs_;
  std::vector<FeatureValues> values_;  // (n_specs,)
};

}  // namespace kn
