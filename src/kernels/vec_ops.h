// Element-wise kernels of the training step (optimizer updates, ReLU,
// dropout masks), with an AVX-512 path chosen at run time (the package is
// compiled with R's plain -O2, which does not vectorise these loops).
// Every path performs the same IEEE single-precision operations in the same
// order (no FMA contraction), so results are bitwise identical whichever
// path runs.
#pragma once
#include <cstdint>

namespace kn {
namespace vec {

// a = rho*a + omr*g*g; p -= (lr*g) / (sqrt(a) + eps)          (RMSprop)
void rmsprop(float* p, float* a, const float* g, int64_t n, float rho, float omr, float lr, float eps);
// a += g*g; p -= (lr*g) / (sqrt(a) + eps)                     (Adagrad)
void adagrad(float* p, float* a, const float* g, int64_t n, float lr, float eps);
// m = b1*m + omb1*g; v = b2*v + omb2*g*g; [vh = max(vh, v)];
// p -= (lr*m) / (sqrt(vh or v) + eps)                         (Adam, vh may be null)
void adam(float* p, float* m, float* v, float* vh, const float* g, int64_t n, float b1, float omb1,
          float b2, float omb2, float lr, float eps);
// v = mu*m - lr*g; m = v; p = nesterov ? (p + mu*v) - lr*g : p + v   (SGD)
void sgd_momentum(float* p, float* m, const float* g, int64_t n, float mu, float lr, bool nesterov);
// x = max(x, 0)
void relu(float* x, int64_t n);
// dx = dy * (y > 0)
void relu_backward(const float* y, const float* dy, float* dx, int64_t n);
// Inverted dropout over elements [lo, hi): mask[i] = u(key, i) < keep ? scale : 0
// with u = top 24 bits of splitmix64(key + i * golden) / 2^24; out[i] = x[i] * mask[i].
void dropout(const float* x, float* out, float* mask, int64_t lo, int64_t hi, uint64_t key, float keep,
             float scale);

const char* kernel_name();  // "avx512" or "generic"

}  // namespace vec
}  // namespace kn
