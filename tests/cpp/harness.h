// Tiny test harness for the pure C++ engine and formats (no R). Each
// tests/cpp/test_*.cpp defines TEST(name) blocks; KN_TEST_MAIN in one place
// per binary runs them and prints "N passed, N failed".
#pragma once
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace kn_test {
// ../shared/testdata/<sub>/ seen from tests/cpp (where the tests run), else
// from the repository root, else $KERASNATIVE_SHARED/<sub>/ (the testdata
// folder, or its parent); "" when absent, so the caller can skip.
inline std::string shared_testdata(const std::string& sub) {
  std::vector<std::string> cands;
  if (const char* e = std::getenv("KERASNATIVE_SHARED")) {
    cands.push_back(std::string(e) + "/" + sub + "/");
    cands.push_back(std::string(e) + "/testdata/" + sub + "/");
  }
  cands.push_back("../../../shared/testdata/" + sub + "/");
  cands.push_back("../shared/testdata/" + sub + "/");
  for (const std::string& c : cands)
    if (std::filesystem::is_directory(c)) return c;
  return "";
}
struct Case { const char* name; std::function<void()> fn; };
inline std::vector<Case>& cases() { static std::vector<Case> c; return c; }
inline int& failures() { static int f = 0; return f; }
struct Reg { Reg(const char* n, std::function<void()> f) { cases().push_back({n, std::move(f)}); } };
inline int run_all(const char* filter) {
  int passed = 0, failed = 0;
  for (auto& c : cases()) {
    if (filter && std::string(c.name).find(filter) == std::string::npos) continue;
    int before = failures();
    try { c.fn(); } catch (const std::exception& e) {
      std::printf("  exception: %s\n", e.what()); ++failures();
    }
    if (failures() == before) { ++passed; } else { ++failed; std::printf("FAIL %s\n", c.name); }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
}  // namespace kn_test

#define KN_CAT2(a, b) a##b
#define KN_CAT(a, b) KN_CAT2(a, b)
#define TEST(name) \
  static void name(); \
  static kn_test::Reg KN_CAT(reg_, name)(#name, name); \
  static void name()
#define CHECK(cond) do { if (!(cond)) { std::printf("  %s:%d: CHECK(%s)\n", __FILE__, __LINE__, #cond); ++kn_test::failures(); } } while (0)
#define CHECK_NEAR(a, b, tol) do { double _a = (a), _b = (b); if (!(std::fabs(_a - _b) <= (tol))) { \
  std::printf("  %s:%d: %s = %.9g vs %s = %.9g (tol %g)\n", __FILE__, __LINE__, #a, _a, #b, _b, (double)(tol)); ++kn_test::failures(); } } while (0)
#define CHECK_THROWS(expr, substr) do { bool _t = false; try { expr; } catch (const std::exception& e) { \
  _t = std::string(e.what()).find(substr) != std::string::npos; if (!_t) std::printf("  %s:%d: message '%s' lacks '%s'\n", __FILE__, __LINE__, e.what(), substr); } \
  if (!_t) { std::printf("  %s:%d: %s did not throw\n", __FILE__, __LINE__, #expr); ++kn_test::failures(); } } while (0)
#define KN_TEST_MAIN int main(int argc, char** argv) { return kn_test::run_all(argc > 1 ? argv[1] : nullptr); }
