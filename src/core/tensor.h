// Row-major float32 tensors. Shapes include the batch dimension at execution
// time; per-sample shapes (as in Keras's `None`-less shapes) are plain Shape too.
#pragma once
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace kn {

using Shape = std::vector<int64_t>;

inline int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// "(None, 26, 26, 32)" as Keras prints output shapes (batch dim shown as None).
std::string shape_str(const Shape& s, bool with_batch = true);

struct Tensor {
  Shape shape;             // full shape, batch first when batched
  std::vector<float> data; // row-major, size == shape_numel(shape)

  Tensor() = default;
  explicit Tensor(Shape s) : shape(std::move(s)), data(shape_numel(shape), 0.0f) {}

  int64_t size() const { return static_cast<int64_t>(data.size()); }
  float* ptr() { return data.data(); }
  const float* ptr() const { return data.data(); }
  // Resize without shrinking capacity: planned once per batch shape, reused after.
  void resize(const Shape& s) {
    shape = s;
    data.resize(static_cast<size_t>(shape_numel(s)));
  }
  void zero() { std::fill(data.begin(), data.end(), 0.0f); }
};

// Error raised for bad shapes/arguments; the glue turns it into an R error.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace kn
