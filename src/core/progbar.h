// Keras 2.2's progress bar (keras.utils.generic_utils.Progbar), as text.
// The engine computes the text; the caller supplies the sink (Rprintf in the
// R glue, stdout in C++ tests). `dynamic` = the console understands '\r'
// (an interactive terminal); otherwise each update is a whole line, as Keras
// does under a log file or a notebook.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace kn {

class Progbar {
 public:
  using Sink = std::function<void(const std::string&)>;
  Progbar(int64_t target, int verbose, bool dynamic, Sink sink, double interval = 0.05,
          int width = 30);
  // values: (name, value) pairs averaged over samples (weight = count since
  // the last update); `now` is seconds on any monotonic clock (tests pass it).
  void update(int64_t current, const std::vector<std::pair<std::string, double>>& values,
              double now, bool force = false);
  // Metrics given as already-final values (e.g. val_loss): shown as-is.
  void set_final(const std::vector<std::pair<std::string, double>>& values);
  void start(double now) { start_ = last_update_ = now; started_ = true; }

 private:
  int64_t target_;
  int verbose_;
  bool dynamic_;
  Sink sink_;
  double interval_;
  int width_;
  double start_ = 0, last_update_ = 0;
  bool started_ = false;
  int64_t seen_so_far_ = 0;
  size_t total_width_ = 0;
  std::vector<std::string> names_;
  std::vector<std::pair<double, double>> sums_;  // (sum value*count, count); count < 0: fixed value
};

// Keras's number format in logs: "%.4f" when |v| > 1e-3, else "%.4e".
std::string format_metric(double v);

}  // namespace kn
