// tf.train.Example: protobuf-based reference parser, hand-written wire walker
// (full and spec-driven fast path) and a hand-written encoder.
#include "example.h"

#include <algorithm>
#include <cstring>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "proto/example.pb.h"

namespace kn {

// ---------------------------------------------------------------------------
// Feature helpers

Feature Feature::of_bytes(std::vector<std::string> v) {
  Feature f;
  f.kind = Bytes;
  f.bytes = std::move(v);
  return f;
}
Feature Feature::of_floats(std::vector<float> v) {
  Feature f;
  f.kind = Float;
  f.floats = std::move(v);
  return f;
}
Feature Feature::of_ints(std::vector<int64_t> v) {
  Feature f;
  f.kind = Int64;
  f.ints = std::move(v);
  return f;
}

size_t Feature::size() const {
  switch (kind) {
    case Bytes: return bytes.size();
    case Float: return floats.size();
    case Int64: return ints.size();
    default: return 0;
  }
}

bool Feature::operator==(const Feature& o) const {
  if (kind != o.kind) return false;
  switch (kind) {
    case Bytes: return bytes == o.bytes;
    case Float:  // bitwise, so NaN payloads and -0 compare exactly
      return floats.size() == o.floats.size() &&
             (floats.empty() ||
              std::memcmp(floats.data(), o.floats.data(), floats.size() * sizeof(float)) == 0);
    case Int64: return ints == o.ints;
    default: return true;
  }
}

const char* feature_kind_name(Feature::Kind k) {
  switch (k) {
    case Feature::Bytes: return "bytes_list";
    case Feature::Float: return "float_list";
    case Feature::Int64: return "int64_list";
    default: return "none";
  }
}

size_t FeatureValues::size() const {
  switch (kind) {
    case Feature::Bytes: return bytes.size();
    case Feature::Float: return floats.size();
    case Feature::Int64: return ints.size();
    default: return 0;
  }
}

const Feature* find_feature(const ExampleMap& ex, std::string_view key) {
  for (const auto& kv : ex)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

// ---------------------------------------------------------------------------
// Wire walker

namespace {

using u8 = unsigned char;

#if defined(__GNUC__)
#define KN_COLD __attribute__((noinline, cold))
#define KN_INLINE inline __attribute__((always_inline))
#else
#define KN_COLD
#define KN_INLINE inline
#endif

// Error paths are out of line so the hot walkers stay small and inlinable.
[[noreturn]] KN_COLD void bad(const u8* base, const u8* at, const std::string& what) {
  throw Error("malformed tf.train.Example: " + what + " at byte offset " +
              std::to_string(at - base) + " of the record");
}
[[noreturn]] KN_COLD void bad_field(const u8* base, const u8* at, int code, uint64_t a, uint64_t b) {
  switch (code) {
    case 0: bad(base, at, "truncated varint");
    case 1: bad(base, at, "varint longer than 10 bytes");
    case 2: bad(base, at, "invalid field number");
    case 3: bad(base, at, "fixed-width field " + std::to_string(a) + " is truncated");
    case 4:
      bad(base, at, "field " + std::to_string(a) + " declares " + std::to_string(b) +
                        " bytes but fewer remain in the enclosing message");
    case 5: bad(base, at, "packed float_list of " + std::to_string(a) + " bytes (not a multiple of 4)");
    default: bad(base, at, "unsupported wire type " + std::to_string(b) + " for field " + std::to_string(a));
  }
}

KN_INLINE uint64_t read_varint(const u8*& p, const u8* end, const u8* base) {
  if (p < end && *p < 0x80) return *p++;
  const u8* start = p;
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (p >= end) bad_field(base, start, 0, 0, 0);
    u8 b = *p++;
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
  }
  bad_field(base, start, 1, 0, 0);
}

// Tags are compared whole (e.g. 0x0A = field 1, wire type 2); keeping num and
// wire type as separate members made GCC merge two 32-bit stores into one
// 64-bit compare, a store-forwarding stall on every field.
struct Field {
  uint64_t tag = 0;
  uint32_t num() const { return static_cast<uint32_t>(tag >> 3); }
  int wt() const { return static_cast<int>(tag & 7); }
  uint64_t v = 0;            // wire type 0
  const u8* data = nullptr;  // wire types 1, 2, 5
  size_t len = 0;
};

// Next field of the message [p, end); false at end.
KN_INLINE bool next_field(const u8*& p, const u8* end, const u8* base, Field& f) {
  if (p >= end) return false;
  const u8* at = p;
  const uint64_t tag = read_varint(p, end, base);
  f.tag = tag;
  const int wt = static_cast<int>(tag & 7);
  if ((tag >> 3) == 0 || (tag >> 3) > 0x1FFFFFFFu) bad_field(base, at, 2, 0, 0);
  if (wt == 2) {
    uint64_t n = read_varint(p, end, base);
    if (n > static_cast<uint64_t>(end - p)) bad_field(base, at, 4, tag >> 3, n);
    f.data = p;
    f.len = static_cast<size_t>(n);
    p += n;
  } else if (wt == 0) {
    f.v = read_varint(p, end, base);
  } else if (wt == 1 || wt == 5) {
    size_t n = wt == 1 ? 8 : 4;
    if (static_cast<size_t>(end - p) < n) bad_field(base, at, 3, tag >> 3, 0);
    f.data = p;
    f.len = n;
    p += n;
  } else {
    bad_field(base, at, 6, tag >> 3, static_cast<uint64_t>(wt));
  }
  return true;
}

inline float load_float(const u8* p) {
  float x;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  u8 b[4] = {p[3], p[2], p[1], p[0]};
  std::memcpy(&x, b, 4);
#else
  std::memcpy(&x, p, 4);
#endif
  return x;
}

inline void append_floats(std::vector<float>& out, const u8* p, size_t n) {
  size_t old = out.size();
  out.resize(old + n);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  for (size_t i = 0; i < n; ++i) out[old + i] = load_float(p + 4 * i);
#else
  if (n) std::memcpy(out.data() + old, p, 4 * n);
#endif
}

inline void push_bytes(std::vector<std::string>& v, const u8* p, size_t n) {
  v.emplace_back(reinterpret_cast<const char*>(p), n);
}
inline void push_bytes(std::vector<std::string_view>& v, const u8* p, size_t n) {
  v.emplace_back(reinterpret_cast<const char*>(p), n);
}

// Merge one serialized Feature message into `f` (Feature or FeatureValues):
// a different oneof member clears the previous one, the same member appends.
template <class F>
void merge_feature(const u8* p, const u8* end, const u8* base, F& f) {
  Field fd, lf;
  while (next_field(p, end, base, fd)) {
    // 0x0A / 0x12 / 0x1A: bytes_list / float_list / int64_list; others skipped
    if (fd.tag != 0x0A && fd.tag != 0x12 && fd.tag != 0x1A) continue;
    Feature::Kind k = fd.tag == 0x0A ? Feature::Bytes : fd.tag == 0x12 ? Feature::Float : Feature::Int64;
    if (f.kind != k) {
      f.bytes.clear();
      f.floats.clear();
      f.ints.clear();
      f.kind = k;
    }
    const u8* q = fd.data;
    const u8* qe = fd.data + fd.len;
    while (next_field(q, qe, base, lf)) {
      if (lf.num() != 1) continue;
      if (k == Feature::Bytes) {
        if (lf.tag == 0x0A) push_bytes(f.bytes, lf.data, lf.len);
      } else if (k == Feature::Float) {
        if (lf.tag == 0x0A) {
          if (lf.len % 4 != 0) bad_field(base, lf.data, 5, lf.len, 0);
          append_floats(f.floats, lf.data, lf.len / 4);
        } else if (lf.tag == 0x0D) {
          f.floats.push_back(load_float(lf.data));
        }
      } else {
        if (lf.tag == 0x0A) {
          const u8* r = lf.data;
          const u8* re = lf.data + lf.len;
          while (r < re) f.ints.push_back(static_cast<int64_t>(read_varint(r, re, base)));
        } else if (lf.tag == 0x08) {
          f.ints.push_back(static_cast<int64_t>(lf.v));
        }
      }
    }
  }
}

// Calls on_entry(key, entry_begin, entry_end) for every map entry of every
// `features` field of the Example in [p, end).
template <class OnEntry>
void walk_example(const u8* p, const u8* end, OnEntry&& on_entry) {
  const u8* base = p;
  Field ef, ff, kf;
  while (next_field(p, end, base, ef)) {
    if (ef.tag != 0x0A) continue;  // Example.features
    const u8* q = ef.data;
    const u8* qe = ef.data + ef.len;
    while (next_field(q, qe, base, ff)) {
      if (ff.tag != 0x0A) continue;  // Features.feature map entry
      // Find the key (last occurrence wins, default "").
      std::string_view key;
      const u8* r = ff.data;
      const u8* re = ff.data + ff.len;
      while (next_field(r, re, base, kf))
        if (kf.tag == 0x0A) key = std::string_view(reinterpret_cast<const char*>(kf.data), kf.len);
      on_entry(key, ff.data, ff.data + ff.len);
    }
  }
}

// Merge every `value` (field 2) of the map entry [p, end) into f.
template <class F>
void merge_entry_values(const u8* p, const u8* end, const u8* base, F& f) {
  Field vf;
  while (next_field(p, end, base, vf))
    if (vf.tag == 0x12) merge_feature(vf.data, vf.data + vf.len, base, f);
}

// --- encoder sizes
inline size_t vsize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
inline char* put_varint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

size_t packed_ints_size(const std::vector<int64_t>& v) {
  size_t n = 0;
  for (int64_t x : v) n += vsize(static_cast<uint64_t>(x));
  return n;
}

size_t list_size(const Feature& f, size_t packed_ints) {
  switch (f.kind) {
    case Feature::Bytes: {
      size_t n = 0;
      for (const auto& s : f.bytes) n += 1 + vsize(s.size()) + s.size();
      return n;
    }
    case Feature::Float:
      return f.floats.empty() ? 0 : 1 + vsize(4 * f.floats.size()) + 4 * f.floats.size();
    case Feature::Int64:
      return f.ints.empty() ? 0 : 1 + vsize(packed_ints) + packed_ints;
    default: return 0;
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// Parsers

ExampleMap parse_example(const std::string& bytes) {
  tensorflow::Example ex;
  if (!ex.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    throw Error("malformed tf.train.Example: protobuf could not parse " +
                std::to_string(bytes.size()) + " bytes");
  ExampleMap out;
  out.reserve(ex.features().feature_size());
  for (const auto& kv : ex.features().feature()) {
    Feature f;
    const tensorflow::Feature& pf = kv.second;
    switch (pf.kind_case()) {
      case tensorflow::Feature::kBytesList:
        f.kind = Feature::Bytes;
        f.bytes.assign(pf.bytes_list().value().begin(), pf.bytes_list().value().end());
        break;
      case tensorflow::Feature::kFloatList:
        f.kind = Feature::Float;
        f.floats.assign(pf.float_list().value().begin(), pf.float_list().value().end());
        break;
      case tensorflow::Feature::kInt64List:
        f.kind = Feature::Int64;
        f.ints.assign(pf.int64_list().value().begin(), pf.int64_list().value().end());
        break;
      default: break;
    }
    out.emplace_back(kv.first, std::move(f));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

ExampleMap parse_example_fast(std::string_view bytes) {
  const u8* p = reinterpret_cast<const u8*>(bytes.data());
  const u8* end = p + bytes.size();
  ExampleMap out;
  walk_example(p, end, [&](std::string_view key, const u8* eb, const u8* ee) {
    Feature* f = nullptr;
    for (auto& kv : out)
      if (kv.first == key) {
        f = &kv.second;
        *f = Feature();  // a repeated key replaces the earlier entry
        break;
      }
    if (!f) {
      out.emplace_back(std::string(key), Feature());
      f = &out.back().second;
    }
    merge_entry_values(eb, ee, p, *f);
  });
  return out;
}

// ---------------------------------------------------------------------------
// Encoders

void encode_example(const ExampleMap& ex, std::string& out, bool sort_keys) {
  std::vector<const std::pair<std::string, Feature>*> order;
  order.reserve(ex.size());
  for (const auto& kv : ex) order.push_back(&kv);
  if (sort_keys)
    std::stable_sort(order.begin(), order.end(),
                     [](const auto* a, const auto* b) { return a->first < b->first; });
  // Sizes, bottom-up: list body -> Feature body -> map entry -> Features.
  std::vector<size_t> sz(order.size() * 3);  // (n_entries, 3): packed ints, list, feature
  size_t features_size = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    const Feature& f = order[i]->second;
    size_t pk = f.kind == Feature::Int64 ? packed_ints_size(f.ints) : 0;
    size_t ls = list_size(f, pk);
    size_t fs = f.kind == Feature::None ? 0 : 1 + vsize(ls) + ls;
    const std::string& k = order[i]->first;
    size_t es = 1 + vsize(k.size()) + k.size() + 1 + vsize(fs) + fs;
    sz[3 * i] = pk;
    sz[3 * i + 1] = ls;
    sz[3 * i + 2] = fs;
    features_size += 1 + vsize(es) + es;
  }
  const size_t total = 1 + vsize(features_size) + features_size;
  out.resize(total);
  char* p = &out[0];
  *p++ = 0x0A;  // Example.features
  p = put_varint(p, features_size);
  for (size_t i = 0; i < order.size(); ++i) {
    const std::string& k = order[i]->first;
    const Feature& f = order[i]->second;
    size_t pk = sz[3 * i], ls = sz[3 * i + 1], fs = sz[3 * i + 2];
    size_t es = 1 + vsize(k.size()) + k.size() + 1 + vsize(fs) + fs;
    *p++ = 0x0A;  // Features.feature (map entry)
    p = put_varint(p, es);
    *p++ = 0x0A;  // entry key
    p = put_varint(p, k.size());
    if (!k.empty()) std::memcpy(p, k.data(), k.size());
    p += k.size();
    *p++ = 0x12;  // entry value (Feature)
    p = put_varint(p, fs);
    if (f.kind == Feature::None) continue;
    *p++ = static_cast<char>(f.kind == Feature::Bytes ? 0x0A : f.kind == Feature::Float ? 0x12 : 0x1A);
    p = put_varint(p, ls);
    if (f.kind == Feature::Bytes) {
      for (const auto& s : f.bytes) {
        *p++ = 0x0A;
        p = put_varint(p, s.size());
        if (!s.empty()) std::memcpy(p, s.data(), s.size());
        p += s.size();
      }
    } else if (f.kind == Feature::Float && !f.floats.empty()) {
      *p++ = 0x0A;
      p = put_varint(p, 4 * f.floats.size());
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
      for (float x : f.floats) {
        uint32_t u;
        std::memcpy(&u, &x, 4);
        for (int b = 0; b < 4; ++b) *p++ = static_cast<char>((u >> (8 * b)) & 0xFF);
      }
#else
      std::memcpy(p, f.floats.data(), 4 * f.floats.size());
      p += 4 * f.floats.size();
#endif
    } else if (f.kind == Feature::Int64 && !f.ints.empty()) {
      *p++ = 0x0A;
      p = put_varint(p, pk);
      for (int64_t x : f.ints) p = put_varint(p, static_cast<uint64_t>(x));
    }
  }
  if (p != out.data() + total) throw Error("encode_example: internal size mismatch");
}

std::string encode_example(const ExampleMap& ex, bool sort_keys) {
  std::string out;
  encode_example(ex, out, sort_keys);
  return out;
}

std::string encode_example_protobuf(const ExampleMap& ex) {
  tensorflow::Example pe;
  auto* fmap = pe.mutable_features()->mutable_feature();
  for (const auto& kv : ex) {
    tensorflow::Feature& pf = (*fmap)[kv.first];
    pf.Clear();
    const Feature& f = kv.second;
    switch (f.kind) {
      case Feature::Bytes: {
        auto* l = pf.mutable_bytes_list();
        for (const auto& s : f.bytes) l->add_value(s);
        break;
      }
      case Feature::Float: {
        auto* l = pf.mutable_float_list();
        for (float x : f.floats) l->add_value(x);
        break;
      }
      case Feature::Int64: {
        auto* l = pf.mutable_int64_list();
        for (int64_t x : f.ints) l->add_value(x);
        break;
      }
      default: break;
    }
  }
  std::string out;
  {
    google::protobuf::io::StringOutputStream zs(&out);
    google::protobuf::io::CodedOutputStream cs(&zs);
    cs.SetSerializationDeterministic(true);
    if (!pe.SerializeToCodedStream(&cs)) throw Error("encode_example_protobuf: serialization failed");
  }
  return out;
}

// ---------------------------------------------------------------------------
// Spec parser

ExampleSpecParser::ExampleSpecParser(std::vector<FeatureSpec> specs) { set_specs(std::move(specs)); }

void ExampleSpecParser::set_specs(std::vector<FeatureSpec> specs) {
  for (size_t i = 0; i < specs.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (specs[i].key == specs[j].key) throw Error("ExampleSpecParser: duplicate key '" + specs[i].key + "'");
  specs_ = std::move(specs);
  values_.assign(specs_.size(), FeatureValues());
}

int ExampleSpecParser::index_of(std::string_view key) const {
  for (size_t i = 0; i < specs_.size(); ++i)
    if (specs_[i].key == key) return static_cast<int>(i);
  return -1;
}

void ExampleSpecParser::parse(std::string_view record) {
  for (auto& v : values_) {
    v.present = false;
    v.kind = Feature::None;
    v.bytes.clear();
    v.floats.clear();
    v.ints.clear();
  }
  const u8* p = reinterpret_cast<const u8*>(record.data());
  const u8* end = p + record.size();
  const size_t ns = specs_.size();
  walk_example(p, end, [&](std::string_view key, const u8* eb, const u8* ee) {
    for (size_t i = 0; i < ns; ++i) {
      const std::string& k = specs_[i].key;
      if (std::string_view(k) != key) continue;  // (no memcmp: an absent key has a null data())
      FeatureValues& v = values_[i];
      v.present = true;  // a repeated key replaces the earlier entry
      v.kind = Feature::None;
      v.bytes.clear();
      v.floats.clear();
      v.ints.clear();
      merge_entry_values(eb, ee, p, v);
      return;
    }
  });
  for (size_t i = 0; i < ns; ++i) {
    const FeatureSpec& s = specs_[i];
    const FeatureValues& v = values_[i];
    if (!v.present) {
      if (!s.required) continue;
      std::string keys;
      walk_example(p, end, [&](std::string_view key, const u8*, const u8*) {
        keys += (keys.empty() ? "'" : ", '") + std::string(key) + "'";
      });
      throw Error("tf.train.Example: required feature '" + s.key + "' is missing (record has " +
                  (keys.empty() ? std::string("no features") : "features " + keys) + ")");
    }
    if (s.kind != Feature::None && v.kind != s.kind)
      throw Error("tf.train.Example: feature '" + s.key + "' should be a " + feature_kind_name(s.kind) +
                  " but is a " + feature_kind_name(v.kind));
    if (s.count >= 0 && static_cast<int64_t>(v.size()) != s.count)
      throw Error("tf.train.Example: feature '" + s.key + "' should have " + std::to_string(s.count) +
                  " value(s) but has " + std::to_string(v.size()));
  }
}

}  // namespace kn
