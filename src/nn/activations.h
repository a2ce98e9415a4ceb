// Element-wise activations (and softmax over the last axis), Keras 2.2 names.
// Backward works from the activation's OUTPUT y, so layers need not keep their
// pre-activation: dx = f'(y) * dy.
#pragma once
#include <cstdint>
#include <string>

namespace kn {

enum class Activation { Linear, Relu, Sigmoid, Softmax, Tanh, Elu, Selu, Softplus, Softsign, HardSigmoid,
                        Exponential };

// "relu", "linear", NULL/"" -> Linear ...; throws kn::Error listing valid names.
Activation activation_from_name(const std::string& name);
const char* activation_name(Activation a);

// y = f(x) in place over `rows` rows of `cols` values (softmax is per row).
void activation_forward(Activation a, float* x, int64_t rows, int64_t cols);
// dx = f'(y) * dy, written (not added) into dx (may alias dy); y is the output.
void activation_backward(Activation a, const float* y, const float* dy, float* dx,
                         int64_t rows, int64_t cols);

}  // namespace kn
