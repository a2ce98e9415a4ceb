// BatchSource over a dataset pipeline: fit()/evaluate()/predict() pull
// batched elements list(x, y[, sample_weight]) and train on them directly.
#pragma once
#include <string>
#include <vector>

#include "dataset.h"
#include "model.h"

namespace kn {

class DatasetBatchSource : public BatchSource {
 public:
  // x, y: flat component indices of the element; w: index or -1.
  // max_steps < 0: until the iterator ends. `model` (optional) checks shapes.
  DatasetBatchSource(Iterator& it, std::vector<int> x, std::vector<int> y, int w, int64_t max_steps,
                     const Model* model = nullptr)
      : it_(it), x_(std::move(x)), y_(std::move(y)), w_(w), max_steps_(max_steps), model_(model) {}

  bool next(Batch& b) override {
    if (max_steps_ >= 0 && steps_ >= max_steps_) return false;
    if (!it_.next(el_)) { exhausted_ = true; return false; }
    b.x.resize(x_.size());
    b.y.resize(y_.size());
    for (size_t k = 0; k < x_.size(); ++k) to_tensor(x_[k], b.x[k], "x");
    for (size_t k = 0; k < y_.size(); ++k) to_tensor(y_[k], b.y[k], "y");
    int64_t n = b.x.empty() ? -1 : b.x[0].shape.at(0);
    for (auto* v : {&b.x, &b.y})
      for (const Tensor& t : *v)
        if (t.shape.at(0) != n)
          throw Error("dataset batch: components have different batch sizes (" + std::to_string(n) + " and " +
                      std::to_string(t.shape[0]) + ")");
    if (w_ >= 0) {
      Tensor wt;
      to_tensor(w_, wt, "sample_weight");
      if (wt.size() != n)
        throw Error("dataset batch: sample_weight has " + std::to_string(wt.size()) + " values for " +
                    std::to_string(n) + " samples");
      b.w.assign(wt.data.begin(), wt.data.end());
    } else {
      b.w.clear();
    }
    if (model_) check(b);
    ++steps_;
    return true;
  }
  int64_t steps() const { return steps_; }
  bool exhausted() const { return exhausted_; }

 private:
  void to_tensor(int idx, Tensor& t, const char* what) {
    if (idx < 0 || idx >= static_cast<int>(el_.comps.size()))
      throw Error(std::string("dataset element has no component for ") + what);
    const Value& v = el_.comps[idx];
    if (v.dtype == DType::String)
      throw Error(std::string("dataset: ") + what + " is a string tensor; models need numbers (parse and decode it in dataset_map())");
    if (v.shape.empty())
      throw Error(std::string("dataset: ") + what + " is a scalar per element; batch the dataset with dataset_batch() first");
    Shape s = v.shape;
    if (s.size() == 1) s.push_back(1);  // (N) -> (N, 1) as for arrays
    t.resize(s);
    if (v.dtype == DType::Float32) std::copy(v.f.begin(), v.f.end(), t.data.begin());
    else for (size_t j = 0; j < v.i.size(); ++j) t.data[j] = static_cast<float>(v.i[j]);
  }
  void check(const Batch& b) {
    std::vector<Shape> xs, ys;
    bool same = !checked_x_.empty() || !checked_y_.empty();
    for (const Tensor& t : b.x) xs.emplace_back(t.shape.begin() + 1, t.shape.end());
    for (const Tensor& t : b.y) ys.emplace_back(t.shape.begin() + 1, t.shape.end());
    if (same && xs == checked_x_ && ys == checked_y_) return;
    std::vector<Shape> fx, fy;
    for (const Tensor& t : b.x) fx.push_back(t.shape);
    for (const Tensor& t : b.y) fy.push_back(t.shape);
    try {
      model_->check_data(fx, fy);
    } catch (const Error& e) {
      throw Error(std::string("dataset elements do not fit the model: ") + e.what());
    }
    checked_x_ = xs;
    checked_y_ = ys;
  }
  Iterator& it_;
  std::vector<int> x_, y_;
  int w_;
  int64_t max_steps_, steps_ = 0;
  const Model* model_;
  bool exhausted_ = false;
  Element el_;
  std::vector<Shape> checked_x_, checked_y_;
};

}  // namespace kn
