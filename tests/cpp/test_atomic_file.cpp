// kn::AtomicFile: the target is either the old file or the complete new one.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "atomic_file.h"
#include "harness.h"

static std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
static bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}
static std::string tmpdir() {
  char tmpl[] = "/tmp/kn_atomic_XXXXXX";
  const char* d = mkdtemp(tmpl);
  return d ? d : "/tmp";
}

TEST(atomic_file_commit_replaces_target) {
  std::string dir = tmpdir(), target = dir + "/model.h5";
  std::ofstream(target) << "old";
  {
    kn::AtomicFile f(target);
    CHECK(f.tmp_path().rfind(dir + "/.model.h5.tmp-", 0) == 0);  // same directory
    std::ofstream(f.tmp_path()) << "new contents";
    CHECK(slurp(target) == "old");  // untouched until commit
    f.commit();
    CHECK(f.committed());
    CHECK(!exists(f.tmp_path()));
  }
  CHECK(slurp(target) == "new contents");
  std::remove(target.c_str());
}

TEST(atomic_file_without_commit_keeps_old_file_and_removes_temp) {
  std::string dir = tmpdir(), target = dir + "/w.h5", tmp;
  std::ofstream(target) << "previous";
  try {
    kn::AtomicFile f(target);
    tmp = f.tmp_path();
    std::ofstream(tmp) << "partial";
    throw kn::Error("write failed");
  } catch (const kn::Error&) {
  }
  CHECK(!tmp.empty() && !exists(tmp));
  CHECK(slurp(target) == "previous");
  std::remove(target.c_str());
}

TEST(atomic_file_unique_temp_names_and_errors) {
  kn::AtomicFile a("x.bin"), b("x.bin");
  CHECK(a.tmp_path() != b.tmp_path());
  CHECK(a.tmp_path().rfind(".x.bin.tmp-", 0) == 0);  // relative path stays relative
  CHECK_THROWS(kn::AtomicFile(""), "empty file path");
  CHECK_THROWS(kn::AtomicFile("/tmp/"), "names a directory");
  // Committing when nothing was written names the target.
  CHECK_THROWS(a.commit(), "x.bin");
  // A target in a missing directory: the temp file cannot exist either.
  kn::AtomicFile c("/nonexistent_dir_kn/y.h5");
  CHECK_THROWS(c.commit(), "/nonexistent_dir_kn/y.h5");
}

KN_TEST_MAIN
