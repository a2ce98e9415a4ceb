# Parameter counts of the applications added here, against Keras's published
# figures (the keras applications documentation table): InceptionResNetV2
# 55,873,736.

test_that("application_inception_resnet_v2 has Keras's parameter count and layer names", {
  skip_on_cran()
  m <- application_inception_resnet_v2(weights = NULL, input_shape = c(75, 75, 3))
  expect_equal(count_params(m), 55873736)
  for (nm in c("mixed_5b", "block35_10", "mixed_6a", "block17_20", "mixed_7a", "block8_10", "conv_7b",
               "conv_7b_bn", "avg_pool", "predictions"))
    expect_equal(get_layer(m, nm)$name, nm)
  small <- application_inception_resnet_v2(weights = NULL, include_top = FALSE, pooling = "avg",
                                           input_shape = c(75, 75, 3))
  y <- predict(small, array(runif(75 * 75 * 3), c(1, 75, 75, 3)))
  expect_equal(dim(y), c(1, 1536))
  expect_equal(inception_resnet_v2_preprocess_input(array(c(0, 127.5, 255), c(1, 1, 3))),
               array(c(-1, 0, 1), c(1, 1, 3)))
})

test_that("NASNet Mobile and Large have Keras's parameter counts (5,326,716 and 88,949,818)", {
  skip_on_cran()
  mob <- application_nasnetmobile(weights = NULL, input_shape = c(32, 32, 3))
  expect_equal(count_params(mob), 5326716)
  for (nm in c("stem_conv1", "reduction_concat_stem_1", "normal_concat_0", "reduction_concat_reduce_4",
               "normal_concat_12", "adjust_bn_5", "predictions"))
    expect_equal(get_layer(mob, nm)$name, nm)
  y <- predict(application_nasnetmobile(weights = NULL, include_top = FALSE, pooling = "max", input_shape = c(33, 33, 3)),
               array(runif(33 * 33 * 3), c(1, 33, 33, 3)))
  expect_equal(dim(y), c(1, 1056))
  large <- application_nasnetlarge(weights = NULL, input_shape = c(32, 32, 3))
  expect_equal(count_params(large), 88949818)
  expect_equal(count_params(application_nasnet(input_shape = c(32, 32, 3), penultimate_filters = 1056, num_blocks = 4,
                                               stem_block_filters = 32, skip_reduction = FALSE)), 5326716)
  expect_error(application_nasnet(weights = "imagenet"), "weights = NULL")
})
