// Real sizes for the recurrent layers: SimpleRNN, LSTM (hard_sigmoid gates) and
// GRU (reset_after = FALSE), forward and backward at batch sizes 1, 7, 128 and
// 1000, return_sequences both ways and go_backwards, against the naive
// recurrences of test_layer_sizes_seq.h, plus finite differences (runner in
// test_layer_sizes.h). test_layer_sizes_core.cpp counts these cases in its
// registry-coverage test.
#include "test_layer_sizes_seq.h"

TEST(recurrent_layers_at_batch_1_7_128_1000_match_naive_loops) { ls::run_cases(ls::seq_cases()); }

KN_TEST_MAIN
