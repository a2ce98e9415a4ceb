// Real sizes for the keras 2.2.5 surface layers (cases and naive references in
// test_layer_sizes_surface.h): batches 1, 7, 128, 1000, plus finite differences.
#include "test_layer_sizes_conv_surface.h"
#include "test_layer_sizes_surface.h"

TEST(surface_layers_at_batch_1_7_128_1000_match_naive_loops) { ls::run_cases(ls::surface_cases()); }

TEST(conv_surface_layers_match_naive_loops) { ls::run_cases(ls::conv_surface_cases()); }

KN_TEST_MAIN
