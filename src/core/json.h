// Minimal JSON value for Keras configs (model_config, training_config,
// layer get_config). Object key order is preserved; numbers remember whether
// they were written as integers so configs round-trip ("units": 512, "rate": 0.5,
// "scale": 1.0).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kn {

class Json {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };

  Json() = default;                          // null
  Json(std::nullptr_t) {}
  Json(bool b) : type_(Type::Bool), b_(b) {}
  Json(int v) : type_(Type::Number), num_(v), is_int_(true) {}
  Json(int64_t v) : type_(Type::Number), num_(static_cast<double>(v)), is_int_(true) {}
  Json(double v) : type_(Type::Number), num_(v), is_int_(false) {}
  Json(const char* s) : type_(Type::String), str_(s) {}
  Json(std::string s) : type_(Type::String), str_(std::move(s)) {}

  static Json array();
  static Json object();
  // Throws kn::Error("JSON parse error at offset N: ...") on bad input.
  static Json parse(const std::string& text);
  // Compact output like Python's json.dumps (", " and ": " separators);
  // integers without a decimal point, other numbers in shortest round-trip form
  // with ".0" kept for integral doubles (1.0), NaN/Infinity as Python writes them.
  std::string dump() const;

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_int() const { return type_ == Type::Number && is_int_; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  // Checked accessors: throw kn::Error naming the expected and found type.
  //
  // Lifetime rule: nothing returns a reference into a temporary. get() returns
  // by value, and every accessor that returns a reference into *this has an
  // `&&` overload that returns by value when called on a temporary, so
  //   const Json& x = cfg.get("k", Json());              // lifetime-extended copy
  //   const std::string& s = cfg.get("k", Json("a")).as_string();  // ditto
  //   for (const Json& e : cfg.get("layers", Json()).elements()) ...
  // are all safe (tests/cpp/test_json.cpp checks them under ASan).
  bool as_bool() const;
  double as_number() const;
  int64_t as_int() const;
  const std::string& as_string() const&;
  std::string as_string() &&;

  // Arrays.
  size_t size() const;                       // array length or object size
  const Json& operator[](size_t i) const&;   // throws when out of range
  Json& operator[](size_t i) &;
  Json operator[](size_t i) &&;
  void push(Json v);                         // turns null into an array
  const std::vector<Json>& elements() const&;
  std::vector<Json> elements() &&;

  // Objects (insertion order kept).
  bool has(const std::string& key) const;
  const Json& operator[](const std::string& key) const&;  // throws naming the key when missing
  Json operator[](const std::string& key) &&;
  Json& set(const std::string& key, Json v);              // replaces or appends; turns null into an object
  // The value at `key`, or `fallback` when the key is missing or null. Returns
  // a copy (configs are small), so binding the result to a reference is safe.
  Json get(const std::string& key, Json fallback) const;
  const std::vector<std::pair<std::string, Json>>& items() const&;
  std::vector<std::pair<std::string, Json>> items() &&;

 private:
  Type type_ = Type::Null;
  bool b_ = false;
  double num_ = 0;
  bool is_int_ = false;
  std::string str_;
  std::vector<Json> arr_;
  std::vector<std::pair<std::string, Json>> obj_;
};

}  // namespace kn
