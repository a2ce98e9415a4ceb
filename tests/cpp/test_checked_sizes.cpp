// Element counts never wrap (issue 8): shape_numel / size_mul / checked_numel
// in src/core/tensor.h, and the configs that used to overflow them. Expected
// values are plain arithmetic worked out by hand.
#include <cstdint>
#include <string>

#include "graph.h"
#include "harness.h"
#include "json.h"
#include "layer.h"
#include "tensor.h"

using kn::Json;
using kn::Shape;

TEST(size_products_are_checked) {
  CHECK(kn::shape_numel({}) == 1);
  CHECK(kn::shape_numel({28, 28, 1}) == 784);
  CHECK(kn::shape_numel({0, 5}) == 0);
  CHECK(kn::shape_numel({int64_t(1) << 36}) == (int64_t(1) << 36));  // the limit itself is allowed
  // 784 * 2^62 wraps to 0 in int64 arithmetic: this was the zero-sized kernel.
  CHECK_THROWS(kn::shape_numel({784, int64_t(1) << 62}), "more than 2^36 (68719476736) elements");
  CHECK_THROWS(kn::shape_numel({int64_t(1) << 32, int64_t(1) << 32}), "(4294967296, 4294967296)");
  CHECK_THROWS(kn::shape_numel({3, -2}), "negative dimension");
  CHECK_THROWS(kn::checked_numel({(int64_t(1) << 36) + 1}, "weight 'w'"), "weight 'w': shape (68719476737,)");
  CHECK(kn::shape_numel_or_neg({int64_t(1) << 18, int64_t(1) << 18, 2}) == -1);
  CHECK(kn::shape_numel_or_neg({int64_t(1) << 18, int64_t(1) << 18}) == (int64_t(1) << 36));
  int64_t out = 7;
  CHECK(kn::size_mul(1 << 20, 1 << 16, &out) && out == (int64_t(1) << 36));
  CHECK(!kn::size_mul(1 << 20, (1 << 16) + 1, &out) && out == (int64_t(1) << 36));  // untouched on failure
  CHECK(!kn::size_mul(INT64_MAX, INT64_MAX, &out));
  CHECK(!kn::size_mul(-1, 5, &out));
  CHECK(kn::size_mul(0, INT64_MAX, &out) == false);  // a factor above the limit is refused even times 0
  CHECK(kn::size_mul(0, 5, &out) && out == 0);
  CHECK_THROWS(kn::Tensor(Shape{784, int64_t(1) << 62}), "elements");
}

namespace {
// Builds layer `cls` from `cfg` on a per-sample input of shape `in`.
void build(const std::string& cls, const std::string& cfg, const Shape& in) {
  kn::Graph g;
  kn::Rng rng(1);
  int x = g.add_input(in, "input_1");
  g.add(kn::make_layer(cls, Json::parse(cfg)), {x}, rng);
}
}  // namespace

TEST(configs_with_absurd_sizes_are_errors) {
  // The case: Dense units = 2^62 on 784 inputs (kernel count wrapped to 0).
  CHECK_THROWS(build("Dense", "{\"name\": \"dense_1\", \"units\": 4611686018427387904}", {784}),
               "layer 'dense_1' (Dense)");
  CHECK_THROWS(build("Dense", "{\"name\": \"dense_1\", \"units\": 4611686018427387904}", {784}),
               "'units' must be a whole number in [1, 2^36], got 4611686018427387904");
  // 2^40 units on 1 input: no wrap, but over the limit.
  CHECK_THROWS(build("Dense", "{\"name\": \"big\", \"units\": 1099511627776}", {1}), "layer 'big'");
  // Inputs: per-sample size over the limit.
  kn::Graph g;
  CHECK_THROWS(g.add_input({int64_t(1) << 30, int64_t(1) << 30}, "img"), "input 'img': shape (1073741824, 1073741824)");
  // Conv: (kernel_size - 1) * dilation_rate would overflow int64.
  CHECK_THROWS(build("Conv2D", "{\"name\": \"c\", \"filters\": 1, \"kernel_size\": [4611686018427387904, 1], "
                               "\"dilation_rate\": [4, 1], \"padding\": \"same\"}", {8, 8, 1}),
               "layer 'c' (Conv2D): kernel_size (4611686018427387904, 1)");
  CHECK_THROWS(build("Conv2D", "{\"name\": \"c\", \"filters\": 1, \"kernel_size\": 1, "
                               "\"strides\": [4611686018427387904, 1], \"padding\": \"same\"}", {8, 8, 1}),
               "too large");
  CHECK_THROWS(build("MaxPooling2D", "{\"name\": \"p\", \"pool_size\": [2, 2], \"strides\": [4611686018427387904, 1], "
                                     "\"padding\": \"same\"}", {8, 8, 1}),
               "layer 'p': strides must be positive integers below 2^36");
  CHECK_THROWS(build("ZeroPadding2D", "{\"name\": \"z\", \"padding\": 4611686018427387904}", {8, 8, 1}),
               "layer 'z' (ZeroPadding2D): padding must be");
  // Reshape target whose product overflows int64 (2^62 * 4 * 196 wraps to 0).
  CHECK_THROWS(build("Reshape", "{\"name\": \"r\", \"target_shape\": [4611686018427387905, 4, 196]}", {784}),
               "layer 'r' (Reshape): target_shape");
  // Sane configs still build.
  build("Dense", "{\"name\": \"ok\", \"units\": 10}", {784});
  build("Reshape", "{\"name\": \"r2\", \"target_shape\": [28, 28, 1]}", {784});
}

KN_TEST_MAIN
