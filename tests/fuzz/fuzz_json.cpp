// The JSON parser behind model_from_json() and every Keras config: parse,
// then dump -> parse -> dump must be a fixed point, and the checked
// accessors throw kn::Error (never crash) whatever the value's type.
#include <string>

#include "fuzz_util.h"
#include "json.h"
#include "tensor.h"

namespace {
// Typed accessors on every value; the wrong-type ones (which throw) only at
// the top, to keep each execution fast.
void walk(const kn::Json& j, int depth) {
  if (depth > 200) return;
  if (j.is_number()) { (void)j.as_number(); if (j.is_int()) (void)j.as_int(); }
  if (j.is_string()) (void)j.as_string();
  if (j.is_bool()) (void)j.as_bool();
  if (j.is_array()) for (size_t i = 0; i < j.size(); ++i) walk(j[i], depth + 1);
  if (j.is_object()) for (const auto& kv : j.items()) { FUZZ_ASSERT(j.has(kv.first)); walk(kv.second, depth + 1); }
}
void wrong_types(const kn::Json& j) {
  try { (void)j.as_int(); } catch (const kn::Error&) {}
  try { (void)j.as_string(); } catch (const kn::Error&) {}
  try { (void)j.as_bool(); } catch (const kn::Error&) {}
  try { (void)j["name"]; } catch (const kn::Error&) {}
  try { (void)j[size_t(3)]; } catch (const kn::Error&) {}
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  kn::Json j;
  try {
    j = kn::Json::parse(text);
  } catch (const kn::Error&) {
    return 0;
  }
  const std::string once = j.dump();
  kn::Json again = kn::Json::parse(once);  // our own output must parse
  FUZZ_ASSERT(again.dump() == once);
  walk(j, 0);
  wrong_types(j);
  return 0;
}
