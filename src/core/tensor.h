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

// Error raised for bad shapes/arguments; the glue turns it into an R error.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Upper bound on the element count of one tensor (and of any size product
// read from a file or a config): 2^36 elements = 256 GiB of float32, beyond
// the memory of any machine this runs on, and far enough from INT64_MAX that
// checked products never wrap.
constexpr int64_t kMaxNumel = int64_t(1) << 36;

// a * b for sizes: false (and *out untouched) when a or b is negative or above
// kMaxNumel (even times 0), or the product exceeds kMaxNumel. Never overflows.
inline bool size_mul(int64_t a, int64_t b, int64_t* out) {
  if (a < 0 || b < 0 || a > kMaxNumel || b > kMaxNumel) return false;
  if (a != 0 && b > kMaxNumel / a) return false;
  *out = a * b;
  return true;
}

// Product of the dimensions, or -1 when a dimension is negative or the product
// exceeds kMaxNumel. For sizes read from files: the caller names the source.
inline int64_t shape_numel_or_neg(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s)
    if (!size_mul(n, d, &n)) return -1;
  return n;
}

// "(784, 4611686018427387904)": plain dims, numpy style.
inline std::string dims_text(const Shape& s) {
  std::string t = "(";
  for (size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + (s.size() == 1 ? ",)" : ")");
}

// Product of dims, checked; `what` names the tensor in the error message.
[[noreturn]] inline void numel_error(const Shape& s, const std::string& what) {
  for (int64_t d : s)
    if (d < 0)
      throw Error(what + (what.empty() ? "" : ": ") + "shape " + dims_text(s) + " has a negative dimension");
  throw Error(what + (what.empty() ? "" : ": ") + "shape " + dims_text(s) +
              " has more than 2^36 (68719476736) elements, the limit for one tensor");
}
inline int64_t checked_numel(const Shape& s, const std::string& what) {
  const int64_t n = shape_numel_or_neg(s);
  if (n < 0) numel_error(s, what);
  return n;
}

// Element count of a shape. Throws kn::Error (never wraps) when a dimension is
// negative or the count exceeds kMaxNumel, so a config such as Dense(units =
// 2^62) is an error instead of a zero-sized kernel.
inline int64_t shape_numel(const Shape& s) {
  const int64_t n = shape_numel_or_neg(s);
  if (n < 0) numel_error(s, "");
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

}  // namespace kn
