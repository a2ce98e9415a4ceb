# kn_threads() and kn_config(): what the engine chose at run time.

test_that("kn_config() reports the run-time choices, checked against /proc/cpuinfo", {
  cfg <- kn_config()
  expect_s3_class(cfg, "kerasnative_config")
  expect_identical(cfg$threads, kn_threads())
  expect_true(cfg$gemm_kernel %in% c("avx512", "avx2", "generic"))
  expect_true(cfg$crc32c %in% c("sse4.2", "slice-by-8"))
  expect_identical(cfg$crc32c == "sse4.2", unname(cfg$cpu[["sse4.2"]]))
  expect_match(cfg$hdf5, "^[0-9]+\\.[0-9]+\\.[0-9]+$")
  expect_false(cfg$mpi)
  expect_identical(cfg$version, as.character(packageVersion("kerasnative")))
  if (file.exists("/proc/cpuinfo")) {
    flags <- strsplit(sub("^flags\\s*:\\s*", "", grep("^flags", readLines("/proc/cpuinfo"), value = TRUE)[1]), " ")[[1]]
    expect_identical(unname(cfg$cpu[["sse4.2"]]), "sse4_2" %in% flags)
    expect_identical(unname(cfg$cpu[["avx2"]]), "avx2" %in% flags)
    expect_identical(unname(cfg$cpu[["avx512f"]]), "avx512f" %in% flags)
    # the GEMM kernel never needs a feature the CPU lacks
    if (cfg$gemm_kernel == "avx512") expect_true("avx512f" %in% flags)
    if (cfg$gemm_kernel == "avx2") expect_true(all(c("avx2", "fma") %in% flags))
  }
  old <- kn_threads()
  on.exit(kn_threads(old))
  kn_threads(1)
  expect_identical(kn_config()$threads, 1L)
  expect_output(print(kn_config()), "GEMM kernel")
})
