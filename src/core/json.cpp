// JSON value: parser (strict JSON plus Python's NaN/Infinity/-Infinity) and a
// writer matching Python's json.dumps defaults (", " / ": " separators, repr-style
// floats). Used for Keras model_config / training_config / layer configs.
#include "json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <system_error>

#include "tensor.h"

namespace kn {

namespace {

const char* type_name(Json::Type t) {
  switch (t) {
    case Json::Type::Null: return "null";
    case Json::Type::Bool: return "bool";
    case Json::Type::Number: return "number";
    case Json::Type::String: return "string";
    case Json::Type::Array: return "array";
    case Json::Type::Object: return "object";
  }
  return "unknown";
}

[[noreturn]] void type_error(const char* expected, Json::Type found, const std::string& what) {
  throw Error(std::string("JSON type error: expected ") + expected + ", found " +
              type_name(found) + " (in " + what + ")");
}

// ---------------------------------------------------------------- parser

constexpr int kMaxDepth = 1000;

class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text), n_(text.size()) {}

  Json parse_document() {
    skip_ws();
    Json v = parse_value(0);
    skip_ws();
    if (p_ != n_) fail(p_, "unexpected trailing " + describe(p_) + " after the JSON value");
    return v;
  }

 private:
  const std::string& s_;
  size_t n_;
  size_t p_ = 0;

  [[noreturn]] void fail(size_t at, const std::string& what) const {
    throw Error("JSON parse error at offset " + std::to_string(at) + ": " + what);
  }

  // "character 'x'" / "byte 0x1f" / "end of input" for error messages.
  std::string describe(size_t at) const {
    if (at >= n_) return "end of input";
    unsigned char c = static_cast<unsigned char>(s_[at]);
    if (c >= 0x20 && c < 0x7f) return std::string("character '") + static_cast<char>(c) + "'";
    char buf[16];
    std::snprintf(buf, sizeof buf, "byte 0x%02x", c);
    return buf;
  }

  void skip_ws() {
    while (p_ < n_) {
      char c = s_[p_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') ++p_;
      else break;
    }
  }

  bool match_literal(const char* lit) {
    size_t len = std::strlen(lit);
    if (s_.compare(p_, len, lit) == 0) { p_ += len; return true; }
    return false;
  }

  Json parse_value(int depth) {
    if (p_ >= n_) fail(p_, "unexpected end of input, expected a value");
    char c = s_[p_];
    switch (c) {
      case '{': return parse_object(depth + 1);
      case '[': return parse_array(depth + 1);
      case '"': return Json(parse_string());
      case 't': if (match_literal("true")) return Json(true); break;
      case 'f': if (match_literal("false")) return Json(false); break;
      case 'n': if (match_literal("null")) return Json(); break;
      case 'N': if (match_literal("NaN")) return Json(std::numeric_limits<double>::quiet_NaN()); break;
      case 'I': if (match_literal("Infinity")) return Json(std::numeric_limits<double>::infinity()); break;
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
    }
    fail(p_, "unexpected " + describe(p_) + ", expected a value");
  }

  Json parse_object(int depth) {
    if (depth > kMaxDepth) fail(p_, "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    ++p_;  // '{'
    Json obj = Json::object();
    skip_ws();
    if (p_ < n_ && s_[p_] == '}') { ++p_; return obj; }
    for (;;) {
      skip_ws();
      if (p_ >= n_ || s_[p_] != '"')
        fail(p_, "unexpected " + describe(p_) + ", expected a string key in object");
      std::string key = parse_string();
      skip_ws();
      if (p_ >= n_ || s_[p_] != ':')
        fail(p_, "unexpected " + describe(p_) + ", expected ':' after object key \"" + key + "\"");
      ++p_;
      skip_ws();
      obj.set(key, parse_value(depth));  // duplicate keys: last value wins (as in Python)
      skip_ws();
      if (p_ < n_ && s_[p_] == ',') { ++p_; continue; }
      if (p_ < n_ && s_[p_] == '}') { ++p_; return obj; }
      fail(p_, "unexpected " + describe(p_) + ", expected ',' or '}' in object");
    }
  }

  Json parse_array(int depth) {
    if (depth > kMaxDepth) fail(p_, "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    ++p_;  // '['
    Json arr = Json::array();
    skip_ws();
    if (p_ < n_ && s_[p_] == ']') { ++p_; return arr; }
    for (;;) {
      skip_ws();
      arr.push(parse_value(depth));
      skip_ws();
      if (p_ < n_ && s_[p_] == ',') { ++p_; continue; }
      if (p_ < n_ && s_[p_] == ']') { ++p_; return arr; }
      fail(p_, "unexpected " + describe(p_) + ", expected ',' or ']' in array");
    }
  }

  static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // Reads the 4 hex digits of a \uXXXX escape starting at p_ (just after "\u").
  unsigned read_hex4() {
    if (p_ + 4 > n_) fail(p_, "truncated \\u escape (need 4 hex digits)");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      int h = hex_value(s_[p_ + i]);
      if (h < 0) fail(p_ + i, "invalid hex digit " + describe(p_ + i) + " in \\u escape");
      v = v * 16 + static_cast<unsigned>(h);
    }
    p_ += 4;
    return v;
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string parse_string() {
    size_t start = p_;
    ++p_;  // opening quote
    std::string out;
    for (;;) {
      if (p_ >= n_) fail(p_, "unterminated string starting at offset " + std::to_string(start));
      char c = s_[p_];
      if (c == '"') { ++p_; return out; }
      if (static_cast<unsigned char>(c) < 0x20)
        fail(p_, "unescaped control " + describe(p_) + " in string");
      if (c != '\\') {
        // Copy a run of plain bytes at once (UTF-8 passes through unchanged).
        size_t q = p_;
        while (q < n_ && s_[q] != '"' && s_[q] != '\\' && static_cast<unsigned char>(s_[q]) >= 0x20) ++q;
        out.append(s_, p_, q - p_);
        p_ = q;
        continue;
      }
      size_t esc = p_;
      ++p_;
      if (p_ >= n_) fail(p_, "unterminated string starting at offset " + std::to_string(start));
      char e = s_[p_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = read_hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            // High surrogate: must be followed by \uDC00..\uDFFF.
            if (p_ + 1 < n_ && s_[p_] == '\\' && s_[p_ + 1] == 'u') {
              size_t low_at = p_;
              p_ += 2;
              unsigned lo = read_hex4();
              if (lo < 0xDC00 || lo > 0xDFFF)
                fail(low_at, "high surrogate \\u escape not followed by a low surrogate");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              fail(esc, "unpaired high surrogate in \\u escape");
            }
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail(esc, "unpaired low surrogate in \\u escape");
          }
          append_utf8(out, cp);
          break;
        }
        default:
          fail(esc, "invalid escape '\\" + std::string(1, e) + "' in string");
      }
    }
  }

  // JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, plus -Infinity.
  Json parse_number() {
    size_t start = p_;
    if (s_[p_] == '-') {
      ++p_;
      if (match_literal("Infinity")) return Json(-std::numeric_limits<double>::infinity());
    }
    auto is_digit = [&](size_t i) { return i < n_ && s_[i] >= '0' && s_[i] <= '9'; };
    if (!is_digit(p_)) fail(p_, "unexpected " + describe(p_) + ", expected a digit in number");
    if (s_[p_] == '0') {
      ++p_;
      if (is_digit(p_)) fail(p_, "leading zeros are not allowed in numbers");
    } else {
      while (is_digit(p_)) ++p_;
    }
    bool integral = true;
    if (p_ < n_ && s_[p_] == '.') {
      integral = false;
      ++p_;
      if (!is_digit(p_)) fail(p_, "unexpected " + describe(p_) + ", expected a digit after '.'");
      while (is_digit(p_)) ++p_;
    }
    if (p_ < n_ && (s_[p_] == 'e' || s_[p_] == 'E')) {
      integral = false;
      ++p_;
      if (p_ < n_ && (s_[p_] == '+' || s_[p_] == '-')) ++p_;
      if (!is_digit(p_)) fail(p_, "unexpected " + describe(p_) + ", expected a digit in exponent");
      while (is_digit(p_)) ++p_;
    }
    const char* first = s_.data() + start;
    const char* last = s_.data() + p_;
    if (integral) {
      int64_t iv = 0;
      auto r = std::from_chars(first, last, iv);
      if (r.ec == std::errc() && r.ptr == last) return Json(iv);
    }
    double dv = 0;
    auto r = std::from_chars(first, last, dv);
    if (r.ec == std::errc::result_out_of_range) {
      // Overflow -> +/-inf, underflow -> +/-0, as Python's float() does.
      dv = std::strtod(std::string(first, last).c_str(), nullptr);
    } else if (r.ec != std::errc() || r.ptr != last) {
      fail(start, "malformed number '" + std::string(first, last) + "'");
    }
    // Integer literals beyond int64 fall back to a (non-integer) double.
    return Json(dv);
  }
};

// ---------------------------------------------------------------- writer

// Python repr() of a float: shortest round-trip digits; scientific notation when
// the decimal exponent is < -4 or >= 16 ("1e-05", "1e+16", "1.5e-07"), otherwise
// positional with at least one fractional digit ("0.0001", "1.0", "123.25").
void write_double(std::string& out, double v) {
  if (std::isnan(v)) { out += "NaN"; return; }
  if (std::isinf(v)) { out += v < 0 ? "-Infinity" : "Infinity"; return; }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  // buf = "-d.ddde[+-]xx": split into sign, significant digits, exponent.
  std::string sci(buf, r.ptr);
  size_t epos = sci.find('e');
  std::string mant = sci.substr(0, epos);
  int exp10 = std::atoi(sci.c_str() + epos + 1);
  bool neg = !mant.empty() && mant[0] == '-';
  std::string digits;
  for (char c : mant) if (c >= '0' && c <= '9') digits += c;
  if (neg) out += '-';
  if (exp10 < -4 || exp10 >= 16) {
    out += digits[0];
    if (digits.size() > 1) { out += '.'; out.append(digits, 1, std::string::npos); }
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    out += eb;
  } else if (exp10 < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-exp10 - 1), '0');
    out += digits;
  } else {
    size_t int_len = static_cast<size_t>(exp10) + 1;
    if (digits.size() <= int_len) {
      out += digits;
      out.append(int_len - digits.size(), '0');
      out += ".0";
    } else {
      out.append(digits, 0, int_len);
      out += '.';
      out.append(digits, int_len, std::string::npos);
    }
  }
}

void write_number(std::string& out, double v, bool is_int) {
  if (is_int && std::isfinite(v)) {
    if (v >= -9223372036854775808.0 && v < 9223372036854775808.0) {
      out += std::to_string(static_cast<long long>(v));
    } else {
      char buf[400];
      std::snprintf(buf, sizeof buf, "%.0f", v);
      out += buf;
    }
    return;
  }
  write_double(out, v);
}

// JSON string with escapes for '"', '\\' and control characters; other bytes
// (including UTF-8 sequences) are written raw, like json.dumps(ensure_ascii=False).
void write_string(std::string& out, const std::string& s) {
  out += '"';
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

}  // namespace

// ---------------------------------------------------------------- Json

Json Json::array() {
  Json j;
  j.type_ = Type::Array;
  return j;
}

Json Json::object() {
  Json j;
  j.type_ = Type::Object;
  return j;
}

Json Json::parse(const std::string& text) {
  Parser p(text);
  return p.parse_document();
}

static void dump_into(std::string& out, const Json& j) {
  switch (j.type()) {
    case Json::Type::Null: out += "null"; break;
    case Json::Type::Bool: out += j.as_bool() ? "true" : "false"; break;
    case Json::Type::Number: write_number(out, j.as_number(), j.is_int()); break;
    case Json::Type::String: write_string(out, j.as_string()); break;
    case Json::Type::Array: {
      out += '[';
      bool first = true;
      for (const Json& e : j.elements()) {
        if (!first) out += ", ";
        first = false;
        dump_into(out, e);
      }
      out += ']';
      break;
    }
    case Json::Type::Object: {
      out += '{';
      bool first = true;
      for (const auto& kv : j.items()) {
        if (!first) out += ", ";
        first = false;
        write_string(out, kv.first);
        out += ": ";
        dump_into(out, kv.second);
      }
      out += '}';
      break;
    }
  }
}

std::string Json::dump() const {
  std::string out;
  dump_into(out, *this);
  return out;
}

bool Json::as_bool() const {
  if (type_ != Type::Bool) type_error("bool", type_, "as_bool");
  return b_;
}

double Json::as_number() const {
  if (type_ != Type::Number) type_error("number", type_, "as_number");
  return num_;
}

int64_t Json::as_int() const {
  if (type_ != Type::Number) type_error("integer number", type_, "as_int");
  // Integral doubles (e.g. 512.0) are accepted; fractional or out-of-range are not.
  if (!(num_ >= -9223372036854775808.0 && num_ < 9223372036854775808.0) || std::trunc(num_) != num_) {
    std::string text;
    write_number(text, num_, false);
    throw Error("JSON type error: expected integer number, found non-integer number " + text +
                " (in as_int)");
  }
  return static_cast<int64_t>(num_);
}

const std::string& Json::as_string() const& {
  if (type_ != Type::String) type_error("string", type_, "as_string");
  return str_;
}

std::string Json::as_string() && {
  if (type_ != Type::String) type_error("string", type_, "as_string");
  return std::move(str_);
}

size_t Json::size() const {
  if (type_ == Type::Array) return arr_.size();
  if (type_ == Type::Object) return obj_.size();
  if (type_ == Type::Null) return 0;
  type_error("array or object", type_, "size");
}

const Json& Json::operator[](size_t i) const& {
  if (type_ != Type::Array) type_error("array", type_, "operator[](index)");
  if (i >= arr_.size())
    throw Error("JSON array index " + std::to_string(i) + " out of range (size " +
                std::to_string(arr_.size()) + ")");
  return arr_[i];
}

Json& Json::operator[](size_t i) & {
  const Json& c = static_cast<const Json&>(*this)[i];
  return const_cast<Json&>(c);
}

Json Json::operator[](size_t i) && {
  return std::move(static_cast<Json&>(*this)[i]);
}

void Json::push(Json v) {
  if (type_ == Type::Null) type_ = Type::Array;
  if (type_ != Type::Array) type_error("array or null", type_, "push");
  arr_.push_back(std::move(v));
}

const std::vector<Json>& Json::elements() const& {
  static const std::vector<Json> empty;
  if (type_ == Type::Array) return arr_;
  if (type_ == Type::Null) return empty;
  type_error("array", type_, "elements");
}

std::vector<Json> Json::elements() && {
  if (type_ == Type::Array) return std::move(arr_);
  if (type_ == Type::Null) return {};
  type_error("array", type_, "elements");
}

bool Json::has(const std::string& key) const {
  if (type_ != Type::Object) return false;
  for (const auto& kv : obj_)
    if (kv.first == key) return true;
  return false;
}

const Json& Json::operator[](const std::string& key) const& {
  if (type_ != Type::Object)
    throw Error(std::string("JSON type error: expected object, found ") + type_name(type_) +
                " (looking up key \"" + key + "\")");
  for (const auto& kv : obj_)
    if (kv.first == key) return kv.second;
  std::string msg = "JSON object has no key \"" + key + "\" (keys:";
  size_t shown = 0;
  for (const auto& kv : obj_) {
    if (shown == 12) { msg += " ..."; break; }
    msg += (shown == 0 ? " \"" : ", \"") + kv.first + "\"";
    ++shown;
  }
  if (obj_.empty()) msg += " none";
  msg += ")";
  throw Error(msg);
}

Json& Json::set(const std::string& key, Json v) {
  if (type_ == Type::Null) type_ = Type::Object;
  if (type_ != Type::Object) type_error("object or null", type_, "set(\"" + key + "\")");
  for (auto& kv : obj_) {
    if (kv.first == key) {
      kv.second = std::move(v);
      return kv.second;
    }
  }
  obj_.emplace_back(key, std::move(v));
  return obj_.back().second;
}

Json Json::operator[](const std::string& key) && {
  return std::move(const_cast<Json&>(static_cast<const Json&>(*this)[key]));
}

Json Json::get(const std::string& key, Json fallback) const {
  if (type_ == Type::Null) return fallback;
  if (type_ != Type::Object)
    throw Error(std::string("JSON type error: expected object, found ") + type_name(type_) +
                " (getting key \"" + key + "\")");
  for (const auto& kv : obj_)
    if (kv.first == key) return kv.second.is_null() ? fallback : kv.second;
  return fallback;
}

const std::vector<std::pair<std::string, Json>>& Json::items() const& {
  static const std::vector<std::pair<std::string, Json>> empty;
  if (type_ == Type::Object) return obj_;
  if (type_ == Type::Null) return empty;
  type_error("object", type_, "items");
}

std::vector<std::pair<std::string, Json>> Json::items() && {
  if (type_ == Type::Object) return std::move(obj_);
  if (type_ == Type::Null) return {};
  type_error("object", type_, "items");
}

}  // namespace kn
