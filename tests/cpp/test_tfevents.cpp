// TensorBoard event files (src/formats/tfevents.*): writer, scalar reader,
// TensorFlow's histogram buckets (checked against naive loops), and the real
// TensorFlow files in ../shared/testdata/tfevents (skipped when absent).
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "harness.h"
#include "tfevents.h"
#include "tfrecord.h"

using namespace kn;
namespace fs = std::filesystem;

namespace {
std::string tmp_dir(const char* name) {
  fs::path p = fs::temp_directory_path() / (std::string("kn_tfevents_") + name + "_" + std::to_string(std::rand()));
  fs::remove_all(p);
  return p.string();
}
std::string shared_dir() {
  const char* d = std::getenv("KN_TFEVENTS_TESTDATA");
  return d ? d : "../../../shared/testdata/tfevents";
}
}  // namespace

TEST(writer_roundtrip_scalars) {
  std::string dir = tmp_dir("rt");
  std::string path;
  {
    EventFileWriter w(dir + "/run1");
    path = w.path();
    w.add_scalar("loss", 0.75, 0, 100.5);
    w.add_scalar("loss", 0.5, 1, 101.5);
    w.add_scalar("acc", 0.25, 1, 101.5);
    w.close();
  }
  CHECK(fs::path(path).filename().string().rfind("events.out.tfevents.", 0) == 0);
  CHECK(read_event_file_version(path) == "brain.Event:2");
  std::vector<ScalarEvent> s = read_event_scalars(path);
  CHECK(s.size() == 3);
  CHECK(s[0].tag == "loss" && s[0].step == 0 && s[0].value == 0.75 && s[0].wall_time == 100.5);
  CHECK(s[2].tag == "acc" && s[2].step == 1 && s[2].value == 0.25);
  CHECK(count_tfrecords(path) == 4);  // file_version + 3 scalars
  // a second writer in the same directory and second gets its own file
  EventFileWriter w2(dir + "/run1");
  CHECK(w2.path() != path);
  fs::remove_all(dir);
}

TEST(histogram_matches_naive_buckets) {
  const std::vector<double>& lim = histogram_default_limits();
  CHECK(lim.front() == -DBL_MAX && lim.back() == DBL_MAX);
  size_t zero = 0;
  while (lim[zero] != 0.0) ++zero;
  CHECK(lim[zero + 1] == 1e-12);
  CHECK_NEAR(lim[zero + 2], 1.1e-12, 1e-24);
  std::vector<float> v = {0.0f, 0.5f, -0.5f, 0.5f, 3.0f, -1e-13f, 2e30f};
  Histogram h = make_histogram(v.data(), static_cast<int64_t>(v.size()));
  CHECK(h.num == 7);
  CHECK(h.min == -0.5 && h.max == 2e30f);
  double s = 0;
  for (float x : v) s += x;
  CHECK_NEAR(h.sum, s, 1e15);
  // naive: count per limit (first limit > v), then drop empty runs
  std::vector<double> counts(lim.size(), 0.0);
  for (float x : v) {
    size_t b = 0;
    while (b < lim.size() && !(lim[b] > x)) ++b;
    counts[std::min(b, lim.size() - 1)] += 1;
  }
  double total = 0, nonempty = 0;
  for (double c : h.bucket) { total += c; nonempty += c > 0; }
  CHECK(total == 7);
  double want_nonempty = 0;
  for (double c : counts) want_nonempty += c > 0;
  CHECK(nonempty == want_nonempty);
  for (size_t k = 0; k < h.bucket.size(); ++k)
    if (h.bucket[k] > 0) {
      size_t b = 0;
      while (lim[b] != h.bucket_limit[k]) ++b;
      CHECK(counts[b] == h.bucket[k]);
    }
  float bad = NAN;
  CHECK_THROWS(make_histogram(&bad, 1), "NaN");
}

TEST(reads_tensorflow_files) {
  std::string d = shared_dir();
  if (!fs::exists(d)) { std::printf("  (skipped: %s not found)\n", d.c_str()); return; }
  for (auto& e : fs::recursive_directory_iterator(d)) {
    std::string p = e.path().string();
    if (!e.is_regular_file() || p.find("tf2-summary-scalar") == std::string::npos) continue;
    std::vector<ScalarEvent> s = read_event_scalars(p);
    CHECK(s.size() == 100);
    for (size_t i = 0; i < s.size(); ++i) CHECK(s[i].tag == "my_metric" && s[i].step == (int64_t)i && s[i].value == 0.5 * i);
  }
}

TEST(bad_directory_is_an_error) {
  CHECK_THROWS(EventFileWriter("/proc/no/such/dir"), "cannot create the TensorBoard log directory");
}

KN_TEST_MAIN
