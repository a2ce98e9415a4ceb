// The JSON parser behind model_from_json() and every Keras config: parse,
// then dump -> parse -> dump must be a fixed point, and the checked
// accessors throw kn::Error (never crash) whatever the value's type.
#include <string>

#include "fuzz_util.h"
#include "json.h"

namespace {
void walk(const kn::Json& j, int depth) {
  if (depth > 200) return;
  try { (void)j.as_int(); } catch (const kn::Error&) {}
  try { (void)j.as_string(); } catch (const kn::Error&) {}
  try { (void)j.as_bool(); } catch (const kn::Error&) {}
  try { (void)j["name"]; } catch (const kn::Error&) {}
  try { (void)j[size_t(3)]; } catch (const kn::Error&) {}
  if (j.is_array()) for (const kn::Json& e : j.elements()) walk(e, depth + 1);
  if (j.is_object()) for (const auto& kv : j.items()) { FUZZ_ASSERT(j.has(kv.first)); walk(kv.second, depth + 1); }
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
  return 0;
}
