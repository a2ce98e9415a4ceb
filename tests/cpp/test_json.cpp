// g++ -std=c++17 -O2 -Wall -Isrc/core -Isrc/kernels -Isrc/nn -Isrc/data -Isrc/formats tests/cpp/test_json.cpp src/core/json.cpp src/core/parallel.cpp -pthread -o /tmp/test_json
//
// Tests for kn::Json. Expected strings come from Python 3's json.dumps / repr
// (computed by hand outside this project), not from this code's own output.
// Run from the repository root; reference configs are read from
// ../shared/testdata/keras-h5 (kn_test::shared_testdata; skipped when absent).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

#include "harness.h"
#include "json.h"
#include "tensor.h"

using kn::Json;

namespace {

std::string testdata_dir() { return kn_test::shared_testdata("keras-h5"); }

bool have_data(const char* test) {
  if (!testdata_dir().empty()) return true;
  std::printf("  SKIP %s: ../shared/testdata/keras-h5 not present\n", test);
  return false;
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw kn::Error("cannot open test file " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// 64-bit FNV-1a of a string (the reference hashes were computed in Python).
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) { h ^= c; h *= 0x100000001b3ULL; }
  return h;
}

// Structural equality: same types, same int-ness, same values, same key order.
bool same(const Json& a, const Json& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Json::Type::Null: return true;
    case Json::Type::Bool: return a.as_bool() == b.as_bool();
    case Json::Type::Number: {
      if (a.is_int() != b.is_int()) return false;
      double x = a.as_number(), y = b.as_number();
      if (std::isnan(x) || std::isnan(y)) return std::isnan(x) && std::isnan(y);
      return x == y && std::signbit(x) == std::signbit(y);
    }
    case Json::Type::String: return a.as_string() == b.as_string();
    case Json::Type::Array: {
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i)
        if (!same(a[i], b[i])) return false;
      return true;
    }
    case Json::Type::Object: {
      const auto& x = a.items();
      const auto& y = b.items();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (x[i].first != y[i].first || !same(x[i].second, y[i].second)) return false;
      return true;
    }
  }
  return false;
}

std::string dump_double(double v) { return Json(v).dump(); }

}  // namespace

// ------------------------------------------------------------ real Keras configs

TEST(keras_dl4j_mlp_config_round_trip) {
  if (!have_data("keras_dl4j_mlp_config_round_trip")) return;
  std::string text = read_text(testdata_dir() + "/dl4j_mnist_mlp_tf_keras_2_config.json");
  Json j = Json::parse(text);
  // Hand-checked values from the file.
  CHECK(j["class_name"].as_string() == "Sequential");
  CHECK(j["keras_version"].as_string() == "2.0.6");
  CHECK(j["backend"].as_string() == "tensorflow");
  const Json& layers = j["config"];
  CHECK(layers.is_array());
  CHECK(layers.size() == 5);
  CHECK(layers[0]["class_name"].as_string() == "Dense");
  const Json& d1 = layers[0]["config"];
  CHECK(d1["units"].is_int());
  CHECK(d1["units"].as_int() == 512);
  CHECK(d1["batch_input_shape"].size() == 2);
  CHECK(d1["batch_input_shape"][0].is_null());
  CHECK(d1["batch_input_shape"][1].as_int() == 784);
  CHECK(d1["use_bias"].as_bool() == true);
  CHECK(d1["kernel_initializer"]["config"]["scale"].is_number());
  CHECK(!d1["kernel_initializer"]["config"]["scale"].is_int());  // written "1.0"
  CHECK(d1["kernel_initializer"]["config"]["seed"].is_null());
  CHECK(d1["bias_initializer"]["config"].is_object());
  CHECK(d1["bias_initializer"]["config"].size() == 0);
  CHECK(layers[1]["class_name"].as_string() == "Dropout");
  CHECK_NEAR(layers[1]["config"]["rate"].as_number(), 0.2, 0.0);
  CHECK(layers[4]["config"]["units"].as_int() == 10);
  CHECK(layers[4]["config"]["activation"].as_string() == "softmax");
  // Key order preserved as in the file.
  CHECK(d1.items()[0].first == "kernel_initializer");
  CHECK(d1.items()[1].first == "name");
  CHECK(d1.items().back().first == "activity_regularizer");

  std::string out = j.dump();
  // Python: json.dumps(json.load(f)) has length 1732 and FNV-1a 0x30babc07f404a69c.
  CHECK(out.size() == 1732u);
  CHECK(fnv1a(out) == 0x30babc07f404a69cULL);
  CHECK(out.rfind("{\"class_name\": \"Sequential\", \"keras_version\": \"2.0.6\", \"config\": [{\"class_name\": "
                  "\"Dense\", \"config\": {\"kernel_initializer\": {\"class_name\": \"VarianceScaling\", "
                  "\"config\": {\"distribution\": \"uniform\", \"scale\": 1.0, \"seed\": null, ",
                  0) == 0);
  Json again = Json::parse(out);
  CHECK(same(j, again));
  CHECK(again.dump() == out);
}

TEST(keras_kotlindl_lenet_config_round_trip) {
  if (!have_data("keras_kotlindl_lenet_config_round_trip")) return;
  std::string text = read_text(testdata_dir() + "/kotlindl_lenet_fashion_modelConfig.json");
  Json j = Json::parse(text);
  CHECK(j["class_name"].as_string() == "Sequential");
  CHECK(j["keras_version"].as_string() == "2.2.4-tf");
  const Json& layers = j["config"]["layers"];
  CHECK(layers.size() == 8);
  const char* classes[] = {"Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D",
                           "Flatten", "Dense", "Dense", "Dense"};
  for (size_t i = 0; i < 8; ++i) CHECK(layers[i]["class_name"].as_string() == classes[i]);
  const Json& c0 = layers[0]["config"];
  CHECK(c0["filters"].as_int() == 32);
  CHECK(c0["kernel_size"][0].as_int() == 3 && c0["kernel_size"][1].as_int() == 3);
  CHECK(c0["padding"].as_string() == "same");
  CHECK(c0["batch_input_shape"][0].is_null());
  CHECK(c0["batch_input_shape"][3].as_int() == 1);
  // Python: json.dumps(layers[1]["config"]).
  CHECK(layers[1]["config"].dump() ==
        "{\"name\": \"max_pooling2d\", \"trainable\": true, \"dtype\": \"float32\", \"pool_size\": [2, 2], "
        "\"padding\": \"same\", \"strides\": [2, 2], \"data_format\": \"channels_last\"}");
  const Json& last = layers[7]["config"];
  CHECK(last["units"].as_int() == 10);
  CHECK(last["kernel_initializer"]["config"]["scale"].dump() == "2.0");
  CHECK(last["kernel_initializer"]["config"]["seed"].as_int() == 12);

  std::string out = j.dump();
  // Python: json.dumps(json.load(f)) has length 3593 and FNV-1a 0x9ffb15b7ffd5480a.
  CHECK(out.size() == 3593u);
  CHECK(fnv1a(out) == 0x9ffb15b7ffd5480aULL);
  Json again = Json::parse(out);
  CHECK(same(j, again));
  CHECK(again.dump() == out);
}

// ------------------------------------------------------------ numbers

TEST(number_formatting_like_python_repr) {
  // Each expected string is Python's json.dumps(float) == repr(float).
  CHECK(dump_double(0.1) == "0.1");
  CHECK(dump_double(1e-07) == "1e-07");
  CHECK(dump_double(1.0) == "1.0");
  CHECK(dump_double(2e-3) == "0.002");
  CHECK(dump_double(1e+20) == "1e+20");
  CHECK(dump_double(1e16) == "1e+16");
  CHECK(dump_double(1e15) == "1000000000000000.0");
  CHECK(dump_double(123456789012345.6) == "123456789012345.6");
  CHECK(dump_double(0.0001) == "0.0001");
  CHECK(dump_double(0.00001) == "1e-05");
  CHECK(dump_double(-0.0) == "-0.0");
  CHECK(dump_double(0.0) == "0.0");
  CHECK(dump_double(5e-324) == "5e-324");
  CHECK(dump_double(1.7976931348623157e308) == "1.7976931348623157e+308");
  CHECK(dump_double(2.5) == "2.5");
  CHECK(dump_double(1.0 / 3.0) == "0.3333333333333333");
  CHECK(dump_double(-1.5e-10) == "-1.5e-10");
  CHECK(dump_double(100.0) == "100.0");
  CHECK(dump_double(1e22) == "1e+22");
  CHECK(dump_double(0.1 + 0.2) == "0.30000000000000004");
  CHECK(dump_double(std::nan("")) == "NaN");
  CHECK(dump_double(std::numeric_limits<double>::infinity()) == "Infinity");
  CHECK(dump_double(-std::numeric_limits<double>::infinity()) == "-Infinity");
  // Integers: no decimal point.
  CHECK(Json(512).dump() == "512");
  CHECK(Json(-7).dump() == "-7");
  CHECK(Json(static_cast<int64_t>(1) << 40).dump() == "1099511627776");
  CHECK(Json(std::numeric_limits<int64_t>::min()).dump() == "-9223372036854775808");
}

TEST(number_parsing) {
  Json a = Json::parse("[0, -0, 42, -17, 1.5, -2.25e3, 1E2, 3e-2, 0.0, 1.0, 1e400, -1e400, 1e-400]");
  CHECK(a.size() == 13);
  CHECK(a[0].is_int() && a[0].as_int() == 0);
  CHECK(a[1].is_int() && a[1].as_int() == 0);
  CHECK(a[2].is_int() && a[2].as_int() == 42);
  CHECK(a[3].is_int() && a[3].as_int() == -17);
  CHECK(!a[4].is_int() && a[4].as_number() == 1.5);
  CHECK(!a[5].is_int() && a[5].as_number() == -2250.0);
  CHECK(!a[6].is_int() && a[6].as_number() == 100.0);  // exponent => float, like Python
  CHECK(a[6].dump() == "100.0");
  CHECK_NEAR(a[7].as_number(), 0.03, 0.0);
  CHECK(!a[8].is_int() && a[8].dump() == "0.0");
  CHECK(!a[9].is_int() && a[9].dump() == "1.0");
  CHECK(std::isinf(a[10].as_number()) && a[10].as_number() > 0);  // Python: inf
  CHECK(std::isinf(a[11].as_number()) && a[11].as_number() < 0);
  CHECK(a[12].as_number() == 0.0);
  // Python's non-standard tokens (Keras configs can contain them).
  Json b = Json::parse("{\"lo\": -Infinity, \"hi\": Infinity, \"x\": NaN}");
  CHECK(std::isinf(b["lo"].as_number()) && b["lo"].as_number() < 0);
  CHECK(std::isinf(b["hi"].as_number()) && b["hi"].as_number() > 0);
  CHECK(std::isnan(b["x"].as_number()));
  CHECK(b.dump() == "{\"lo\": -Infinity, \"hi\": Infinity, \"x\": NaN}");  // json.dumps output
  // int64 extremes.
  Json c = Json::parse("[9007199254740992, -9223372036854775808]");
  CHECK(c[0].is_int() && c[0].as_int() == 9007199254740992LL);
  CHECK(c[1].as_int() == std::numeric_limits<int64_t>::min());
  // Shortest round trip: parse(dump(x)) == x for awkward doubles.
  const double vals[] = {0.1, 1.0 / 3.0, 2.0 / 3.0, 1e-300, 123.456e-7, 6.02214076e23, 4.9406564584124654e-324};
  for (double v : vals) CHECK(Json::parse(Json(v).dump()).as_number() == v);
  // Whitespace everywhere.
  Json w = Json::parse(" \n\t{ \r\n\"a\" :\t[ 1 , 2 ]\n, \"b\" : { } , \"c\":[ ]}  \n");
  CHECK(w.dump() == "{\"a\": [1, 2], \"b\": {}, \"c\": []}");
}

// ------------------------------------------------------------ strings

TEST(string_escapes_parse) {
  Json s = Json::parse(R"(["a\"b", "back\\slash", "sl\/ash", "\b\f\n\r\t", "\u0041\u00e9\u20ac", "\ud83d\ude00", "\u0000x"])");
  CHECK(s[0].as_string() == "a\"b");
  CHECK(s[1].as_string() == "back\\slash");
  CHECK(s[2].as_string() == "sl/ash");
  CHECK(s[3].as_string() == "\b\f\n\r\t");
  // U+0041 'A', U+00E9 (C3 A9), U+20AC (E2 82 AC).
  CHECK(s[4].as_string() == "A\xC3\xA9\xE2\x82\xAC");
  // U+1F600 via surrogate pair -> F0 9F 98 80.
  CHECK(s[5].as_string() == "\xF0\x9F\x98\x80");
  CHECK(s[6].as_string().size() == 2 && s[6].as_string()[0] == '\0' && s[6].as_string()[1] == 'x');
  // Raw UTF-8 passes through unchanged.
  CHECK(Json::parse("\"caf\xC3\xA9\"").as_string() == "caf\xC3\xA9");
}

TEST(string_escapes_dump) {
  // Python: json.dumps('a"b\\c\n\t\x01\x1f/') == '"a\\"b\\\\c\\n\\t\\u0001\\u001f/"'
  CHECK(Json("a\"b\\c\n\t\x01\x1f/").dump() == "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f/\"");
  CHECK(Json("\b\f\r").dump() == "\"\\b\\f\\r\"");
  CHECK(Json(std::string("x\0y", 3)).dump() == "\"x\\u0000y\"");
  CHECK(Json("caf\xC3\xA9").dump() == "\"caf\xC3\xA9\"");  // non-ASCII written raw
  // Round trip of every control character.
  std::string all;
  for (int c = 1; c < 0x20; ++c) all += static_cast<char>(c);
  CHECK(Json::parse(Json(all).dump()).as_string() == all);
  // Keys are escaped too.
  Json o = Json::object();
  o.set("k\"ey", Json(1));
  CHECK(o.dump() == "{\"k\\\"ey\": 1}");
}

// ------------------------------------------------------------ errors

TEST(parse_error_offsets) {
  CHECK_THROWS(Json::parse(""), "JSON parse error at offset 0:");
  CHECK_THROWS(Json::parse("   "), "JSON parse error at offset 3: unexpected end of input");
  CHECK_THROWS(Json::parse("{\"a\": }"), "JSON parse error at offset 6: unexpected character '}'");
  CHECK_THROWS(Json::parse("[1, 2,]"), "JSON parse error at offset 6: unexpected character ']'");
  CHECK_THROWS(Json::parse("[1 2]"), "JSON parse error at offset 3: unexpected character '2', expected ',' or ']'");
  CHECK_THROWS(Json::parse("{\"a\" 1}"), "JSON parse error at offset 5: unexpected character '1', expected ':'");
  CHECK_THROWS(Json::parse("{\"a\": 1,}"), "JSON parse error at offset 8: unexpected character '}', expected a string key");
  CHECK_THROWS(Json::parse("{'a': 1}"), "JSON parse error at offset 1:");
  CHECK_THROWS(Json::parse("[1] x"), "JSON parse error at offset 4: unexpected trailing character 'x'");
  CHECK_THROWS(Json::parse("\"abc"), "JSON parse error at offset 4: unterminated string starting at offset 0");
  CHECK_THROWS(Json::parse("[\"a\\qb\"]"), "JSON parse error at offset 3: invalid escape '\\q'");
  CHECK_THROWS(Json::parse("\"\\u12G4\""), "JSON parse error at offset 5: invalid hex digit");
  CHECK_THROWS(Json::parse("\"\\ud83d\""), "JSON parse error at offset 1: unpaired high surrogate");
  CHECK_THROWS(Json::parse("\"\\ude00\""), "JSON parse error at offset 1: unpaired low surrogate");
  CHECK_THROWS(Json::parse("\"a\nb\""), "JSON parse error at offset 2: unescaped control byte 0x0a");
  CHECK_THROWS(Json::parse("01"), "JSON parse error at offset 1: leading zeros");
  CHECK_THROWS(Json::parse("1."), "JSON parse error at offset 2: unexpected end of input, expected a digit after '.'");
  CHECK_THROWS(Json::parse("1e+"), "JSON parse error at offset 3:");
  CHECK_THROWS(Json::parse("-"), "JSON parse error at offset 1:");
  CHECK_THROWS(Json::parse("[tru]"), "JSON parse error at offset 1: unexpected character 't'");
  CHECK_THROWS(Json::parse("nan"), "JSON parse error at offset 0:");
  CHECK_THROWS(Json::parse("{\"a\": [1, {\"b\": 2}"), "JSON parse error at offset 18: unexpected end of input");
  // Deep nesting is rejected instead of overflowing the stack.
  CHECK_THROWS(Json::parse(std::string(5000, '[')), "nesting deeper than");
}

TEST(checked_accessors) {
  Json j = Json::parse("{\"units\": 64, \"rate\": 0.5, \"name\": \"d\", \"ok\": true, \"shape\": [null, 3], \"n\": null}");
  CHECK_THROWS(j["units"].as_string(), "expected string, found number");
  CHECK_THROWS(j["name"].as_number(), "expected number, found string");
  CHECK_THROWS(j["ok"].as_int(), "expected integer number, found bool");
  CHECK_THROWS(j["rate"].as_int(), "expected integer number, found non-integer number 0.5");
  CHECK_THROWS(j["shape"].as_bool(), "expected bool, found array");
  CHECK_THROWS(j["n"].as_string(), "expected string, found null");
  CHECK_THROWS(j["missing_key"], "no key \"missing_key\"");
  CHECK_THROWS(j["name"]["x"], "expected object, found string");
  CHECK_THROWS(j["shape"][2], "index 2 out of range (size 2)");
  CHECK_THROWS(j["units"][0], "expected array, found number");
  CHECK_THROWS(j.elements(), "expected array, found object");
  CHECK_THROWS(j["shape"].items(), "expected object, found array");
  CHECK(j["units"].as_int() == 64);
  CHECK(j["rate"].as_number() == 0.5);
  CHECK(Json::parse("512.0").as_int() == 512);  // integral float accepted by as_int
  CHECK(j.has("rate") && !j.has("nope"));
  CHECK(!Json(3).has("x"));
  // get(): fallback when missing or null.
  Json fb(7);
  CHECK(j.get("units", fb).as_int() == 64);
  CHECK(j.get("absent", fb).as_int() == 7);
  CHECK(j.get("n", fb).as_int() == 7);
}

// The dangling-reference bug (issue 8): `const Json& x = cfg.get(k, Json())`
// used to bind to the fallback temporary, which died at the end of the
// statement (ASan: stack-use-after-scope). The API now makes every such line
// safe; these static_asserts stop anyone from turning it back into references.
using JsonT = kn::Json;
static_assert(!std::is_reference<decltype(std::declval<const JsonT&>().get("k", JsonT()))>::value,
              "Json::get must return by value");
static_assert(!std::is_reference<decltype(std::declval<JsonT>().as_string())>::value,
              "as_string() on a temporary must return by value");
static_assert(!std::is_reference<decltype(std::declval<JsonT>()["k"])>::value,
              "operator[](key) on a temporary must return by value");
static_assert(!std::is_reference<decltype(std::declval<JsonT>()[size_t(0)])>::value,
              "operator[](index) on a temporary must return by value");
static_assert(!std::is_reference<decltype(std::declval<JsonT>().elements())>::value,
              "elements() on a temporary must return by value");
static_assert(!std::is_reference<decltype(std::declval<JsonT>().items())>::value,
              "items() on a temporary must return by value");
static_assert(std::is_reference<decltype(std::declval<const JsonT&>()["k"])>::value,
              "operator[](key) on an lvalue still returns a reference (no copies)");

// Overwrites the stack region a dead temporary would have used.
static std::string churn() {
  Json a = Json::parse("{\"x\": \"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\"}");
  return a["x"].as_string();
}

TEST(get_results_bound_to_references_stay_alive) {
  Json cfg = Json::parse("{\"units\": 64, \"layers\": [{\"n\": 1}, {\"n\": 2}], \"name\": null}");
  const Json& missing = cfg.get("absent", Json("linear_activation_fallback_string"));
  const Json& present = cfg.get("units", Json());
  const Json& null_key = cfg.get("name", Json("dense_1_fallback_name_long_enough"));
  const std::string& s = cfg.get("absent", Json("a_string_longer_than_sso_buffer")).as_string();
  const Json& sub = cfg.get("layers", Json())[1];
  std::string noise = churn();
  CHECK(missing.as_string() == "linear_activation_fallback_string");
  CHECK(present.as_int() == 64);
  CHECK(null_key.as_string() == "dense_1_fallback_name_long_enough");
  CHECK(s == "a_string_longer_than_sso_buffer");
  CHECK(sub["n"].as_int() == 2);
  CHECK(noise.size() == 48);
  // Range-for over elements() of a temporary: the vector is kept alive.
  int64_t sum = 0;
  for (const Json& e : cfg.get("layers", Json()).elements()) sum += e["n"].as_int();
  CHECK(sum == 3);
  int keys = 0;
  for (const auto& kv : Json::parse("{\"a\": 1, \"b\": 2}").items()) keys += kv.first.size() == 1;
  CHECK(keys == 2);
  // get() on a non-object still names the key.
  CHECK_THROWS(Json(3).get("units", Json()), "getting key \"units\"");
  CHECK(Json().get("units", Json(5)).as_int() == 5);  // null acts as an empty object
}

// ------------------------------------------------------------ building

TEST(build_set_push_order) {
  Json o;  // null -> object on set
  o.set("b", Json(1));
  o.set("a", Json("x"));
  o.set("c", Json::array());
  o.set("b", Json(2.5));  // replaces in place, keeps position
  CHECK(o.is_object() && o.size() == 3);
  CHECK(o.dump() == "{\"b\": 2.5, \"a\": \"x\", \"c\": []}");
  Json arr;  // null -> array on push
  arr.push(Json(1));
  arr.push(Json(nullptr));
  arr.push(Json(false));
  arr.push(Json(1.0));
  CHECK(arr.dump() == "[1, null, false, 1.0]");
  arr[0] = Json("z");
  CHECK(arr[0].as_string() == "z");
  CHECK(Json().dump() == "null");
  CHECK(Json::object().dump() == "{}");
  CHECK(Json::array().dump() == "[]");
  CHECK(Json().size() == 0);
  CHECK_THROWS(Json(1).push(Json(2)), "expected array or null, found number");
  CHECK_THROWS(Json("s").set("k", Json(1)), "expected object or null, found string");
  // set() returns a reference to the stored value.
  Json cfg;
  cfg.set("inner", Json::object()).set("k", Json(3));
  CHECK(cfg.dump() == "{\"inner\": {\"k\": 3}}");
  // Duplicate keys in input: last value wins at the first position (as Python dicts).
  CHECK(Json::parse("{\"a\": 1, \"b\": 2, \"a\": 3}").dump() == "{\"a\": 3, \"b\": 2}");
}

KN_TEST_MAIN
