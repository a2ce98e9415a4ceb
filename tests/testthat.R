library(testthat)
library(kerasnative)

test_check("kerasnative")
