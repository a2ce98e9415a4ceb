#include "activations.h"

#include <algorithm>
#include <cmath>

#include "tensor.h"
#include "vec_ops.h"

namespace kn {

Activation activation_from_name(const std::string& name) {
  if (name.empty() || name == "linear" || name == "NULL") return Activation::Linear;
  if (name == "relu") return Activation::Relu;
  if (name == "sigmoid") return Activation::Sigmoid;
  if (name == "softmax") return Activation::Softmax;
  if (name == "tanh") return Activation::Tanh;
  if (name == "elu") return Activation::Elu;
  if (name == "selu") return Activation::Selu;
  if (name == "softplus") return Activation::Softplus;
  if (name == "softsign") return Activation::Softsign;
  if (name == "hard_sigmoid") return Activation::HardSigmoid;
  if (name == "exponential") return Activation::Exponential;
  throw Error("unknown activation '" + name +
              "'; expected one of: linear, relu, sigmoid, softmax, tanh, elu, selu, "
              "softplus, softsign, hard_sigmoid, exponential");
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::Linear: return "linear";
    case Activation::Relu: return "relu";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Softmax: return "softmax";
    case Activation::Tanh: return "tanh";
    case Activation::Elu: return "elu";
    case Activation::Selu: return "selu";
    case Activation::Softplus: return "softplus";
    case Activation::Softsign: return "softsign";
    case Activation::HardSigmoid: return "hard_sigmoid";
    case Activation::Exponential: return "exponential";
  }
  return "linear";
}

namespace {
constexpr float kSeluAlpha = 1.6732632423543772f;
constexpr float kSeluScale = 1.0507009873554805f;
}

void activation_forward(Activation a, float* x, int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;  // x: (rows, cols)
  switch (a) {
    case Activation::Linear: return;
    case Activation::Relu:
      vec::relu(x, n);
      return;
    case Activation::Sigmoid:
      for (int64_t i = 0; i < n; ++i) x[i] = 1.0f / (1.0f + std::exp(-x[i]));
      return;
    case Activation::Tanh:
      for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
      return;
    case Activation::Elu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? x[i] : std::expm1(x[i]);
      return;
    case Activation::Selu:
      for (int64_t i = 0; i < n; ++i)
        x[i] = kSeluScale * (x[i] > 0.0f ? x[i] : kSeluAlpha * std::expm1(x[i]));
      return;
    case Activation::Softplus:  // log(1 + e^x), stable
      for (int64_t i = 0; i < n; ++i)
        x[i] = x[i] > 0.0f ? x[i] + std::log1p(std::exp(-x[i])) : std::log1p(std::exp(x[i]));
      return;
    case Activation::Softsign:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::fabs(x[i]));
      return;
    case Activation::HardSigmoid:
      for (int64_t i = 0; i < n; ++i) x[i] = std::min(1.0f, std::max(0.0f, 0.2f * x[i] + 0.5f));
      return;
    case Activation::Exponential:
      for (int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i]);
      return;
    case Activation::Softmax:
      for (int64_t r = 0; r < rows; ++r) {
        float* row = x + r * cols;  // (cols)
        float mx = row[0];
        for (int64_t j = 1; j < cols; ++j) mx = std::max(mx, row[j]);
        float s = 0.0f;
        for (int64_t j = 0; j < cols; ++j) { row[j] = std::exp(row[j] - mx); s += row[j]; }
        const float inv = 1.0f / s;
        for (int64_t j = 0; j < cols; ++j) row[j] *= inv;
      }
      return;
  }
}

void activation_backward(Activation a, const float* y, const float* dy, float* dx,
                         int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;  // y, dy, dx: (rows, cols)
  switch (a) {
    case Activation::Linear:
      if (dx != dy) std::copy(dy, dy + n, dx);
      return;
    case Activation::Relu:
      vec::relu_backward(y, dy, dx, n);
      return;
    case Activation::Sigmoid:
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
      return;
    case Activation::Tanh:
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      return;
    case Activation::Elu:  // y < 0: f' = y + 1
      for (int64_t i = 0; i < n; ++i) dx[i] = y[i] > 0.0f ? dy[i] : dy[i] * (y[i] + 1.0f);
      return;
    case Activation::Selu:  // y < 0: f' = y + scale*alpha
      for (int64_t i = 0; i < n; ++i)
        dx[i] = y[i] > 0.0f ? dy[i] * kSeluScale : dy[i] * (y[i] + kSeluScale * kSeluAlpha);
      return;
    case Activation::Softplus:  // f' = sigmoid(x) = 1 - e^-y
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * -std::expm1(-y[i]);
      return;
    case Activation::Softsign: {  // f' = (1 - |y|)^2
      for (int64_t i = 0; i < n; ++i) { float t = 1.0f - std::fabs(y[i]); dx[i] = dy[i] * t * t; }
      return;
    }
    case Activation::HardSigmoid:
      for (int64_t i = 0; i < n; ++i) dx[i] = (y[i] > 0.0f && y[i] < 1.0f) ? 0.2f * dy[i] : 0.0f;
      return;
    case Activation::Exponential:  // f' = e^x = y
      for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i];
      return;
    case Activation::Softmax:
      for (int64_t r = 0; r < rows; ++r) {
        const float* yr = y + r * cols;   // (cols)
        const float* dyr = dy + r * cols; // (cols)
        float* dxr = dx + r * cols;       // (cols)
        float dot = 0.0f;
        for (int64_t j = 0; j < cols; ++j) dot += yr[j] * dyr[j];
        for (int64_t j = 0; j < cols; ++j) dxr[j] = yr[j] * (dyr[j] - dot);
      }
      return;
  }
}

}  // namespace kn
