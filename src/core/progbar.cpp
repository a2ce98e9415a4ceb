#include "progbar.h"

#include <cmath>
#include <cstdio>

namespace kn {

std::string format_metric(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, std::fabs(v) > 1e-3 ? "%.4f" : "%.4e", v);
  return buf;
}

Progbar::Progbar(int64_t target, int verbose, bool dynamic, Sink sink, double interval, int width)
    : target_(target), verbose_(verbose), dynamic_(dynamic), sink_(std::move(sink)),
      interval_(interval), width_(width) {}

void Progbar::set_final(const std::vector<std::pair<std::string, double>>& values) {
  for (auto& kv : values) {
    size_t k = 0;
    while (k < names_.size() && names_[k] != kv.first) ++k;
    if (k == names_.size()) { names_.push_back(kv.first); sums_.push_back({0, 0}); }
    sums_[k] = {kv.second, -1.0};
  }
}

void Progbar::update(int64_t current, const std::vector<std::pair<std::string, double>>& values,
                     double now, bool force) {
  if (!started_) start(now);
  const double count = static_cast<double>(current - seen_so_far_);
  for (auto& kv : values) {
    size_t k = 0;
    while (k < names_.size() && names_[k] != kv.first) ++k;
    if (k == names_.size()) { names_.push_back(kv.first); sums_.push_back({0, 0}); }
    sums_[k].first += kv.second * count;
    sums_[k].second += count;
  }
  seen_so_far_ = current;
  const bool done = target_ > 0 && current >= target_;
  char buf[128];
  std::snprintf(buf, sizeof buf, " - %.0fs", now - start_);
  std::string info = buf;
  auto metrics = [&](std::string& s) {
    for (size_t k = 0; k < names_.size(); ++k) {
      double avg = sums_[k].second < 0 ? sums_[k].first : sums_[k].first / std::max(1.0, sums_[k].second);
      s += " - " + names_[k] + ": " + format_metric(avg);
    }
  };
  if (verbose_ == 1) {
    if (!force && (now - last_update_) < interval_ && !done) return;
    if (!dynamic_ && !done) return;  // non-interactive: only the final line of each bar
    std::string out;
    const size_t prev_width = total_width_;
    if (dynamic_) out += "\r";
    std::string bar;
    if (target_ > 0) {
      int digits = static_cast<int>(std::floor(std::log10(static_cast<double>(target_)))) + 1;
      std::snprintf(buf, sizeof buf, "%*lld/%lld [", digits, static_cast<long long>(current),
                    static_cast<long long>(target_));
      bar = buf;
      double prog = static_cast<double>(current) / target_;
      int pw = static_cast<int>(width_ * prog);
      if (pw > width_) pw = width_;
      if (pw > 0) { bar.append(pw - 1, '='); bar += done ? '=' : '>'; }
      bar.append(width_ - pw, '.');
      bar += ']';
    } else {
      std::snprintf(buf, sizeof buf, "%7lld/Unknown", static_cast<long long>(current));
      bar = buf;
    }
    total_width_ = bar.size();
    double tpu = current > 0 ? (now - start_) / current : 0.0;
    if (target_ > 0 && !done) {
      double eta = tpu * (target_ - current);
      long e = static_cast<long>(eta);
      if (eta > 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", e / 3600, (e % 3600) / 60, e % 60);
      else if (eta > 60) std::snprintf(buf, sizeof buf, "%ld:%02ld", e / 60, e % 60);
      else std::snprintf(buf, sizeof buf, "%lds", e);
      info = std::string(" - ETA: ") + buf;
    } else {
      if (tpu >= 1) std::snprintf(buf, sizeof buf, " %.0fs/step", tpu);
      else if (tpu >= 1e-3) std::snprintf(buf, sizeof buf, " %.0fms/step", tpu * 1e3);
      else std::snprintf(buf, sizeof buf, " %.0fus/step", tpu * 1e6);
      info += buf;
    }
    metrics(info);
    total_width_ += info.size();
    if (dynamic_ && prev_width > total_width_) info.append(prev_width - total_width_, ' ');
    out += bar + info;
    if (done || !dynamic_) out += "\n";
    sink_(out);
    last_update_ = now;
  } else if (verbose_ == 2) {
    if (!done) return;
    metrics(info);
    sink_(info + "\n");
  }
}

}  // namespace kn
