# Optimizer updates of a small Dense model against plain-R implementations of
# Keras 2.2.5's formulas (keras/optimizers.py).

dense_problem <- function() {
  set.seed(3)
  list(x = matrix(rnorm(12), 4, 3), y = matrix(rnorm(8), 4, 2),
       w = matrix(c(0.4, -0.3, 0.2, 0.6, -0.5, 0.1), 3, 2), b = c(0.1, -0.2))
}
# mse gradient of a linear Dense layer: list(dW, db)
mse_grads <- function(p, w, b) {
  e <- sweep(p$x %*% w, 2, b, "+") - p$y
  d <- 2 * e / length(e)
  list(crossprod(p$x, d), colSums(d))
}
run_engine <- function(opt, p, steps = 3) {
  m <- keras_model_sequential() %>% layer_dense(units = 2, input_shape = 3)
  set_weights(m, list(p$w, p$b))
  m %>% compile(loss = "mse", optimizer = opt)
  for (i in seq_len(steps)) train_on_batch(m, p$x, p$y)
  get_weights(m)
}
run_ref <- function(p, update, steps = 3) {
  params <- list(p$w, p$b)
  state <- vector("list", 2)
  for (t in seq_len(steps)) {
    g <- mse_grads(p, params[[1]], params[[2]])
    for (k in 1:2) {
      r <- update(params[[k]], g[[k]], state[[k]], t)
      params[[k]] <- r$p
      state[[k]] <- r$s
    }
  }
  params
}

test_that("optimizer_adadelta follows Keras's update", {
  p <- dense_problem()
  rho <- 0.9; eps <- 1e-7; lr <- 0.5; decay <- 0.1
  ref <- run_ref(p, function(w, g, s, t) {
    if (is.null(s)) s <- list(a = 0 * w, d = 0 * w)
    a <- rho * s$a + (1 - rho) * g^2
    u <- g * sqrt(s$d + eps) / sqrt(a + eps)
    list(p = w - lr / (1 + decay * (t - 1)) * u, s = list(a = a, d = rho * s$d + (1 - rho) * u^2))
  })
  got <- run_engine(optimizer_adadelta(lr = lr, rho = rho, decay = decay), p)
  expect_equal(got[[1]], ref[[1]], tolerance = 1e-5)
  expect_equal(got[[2]], ref[[2]], tolerance = 1e-5)
})

test_that("optimizer_adamax follows Keras's update", {
  p <- dense_problem()
  b1 <- 0.8; b2 <- 0.99; lr <- 0.01
  ref <- run_ref(p, function(w, g, s, t) {
    if (is.null(s)) s <- list(m = 0 * w, u = 0 * w)
    m <- b1 * s$m + (1 - b1) * g
    u <- pmax(b2 * s$u, abs(g))
    list(p = w - lr / (1 - b1^t) * m / (u + 1e-7), s = list(m = m, u = u))
  })
  got <- run_engine(optimizer_adamax(lr = lr, beta_1 = b1, beta_2 = b2), p)
  expect_equal(got[[1]], ref[[1]], tolerance = 1e-5)
  expect_equal(got[[2]], ref[[2]], tolerance = 1e-5)
})

test_that("optimizer_nadam follows Keras's update with its momentum schedule", {
  p <- dense_problem()
  b1 <- 0.9; b2 <- 0.999; lr <- 0.01; sd <- 0.004
  sched <- 1
  ms <- list(); vs <- list(); params <- list(p$w, p$b)
  for (t in 1:3) {
    g <- mse_grads(p, params[[1]], params[[2]])
    mc <- b1 * (1 - 0.5 * 0.96^(t * sd)); mc1 <- b1 * (1 - 0.5 * 0.96^((t + 1) * sd))
    sn <- sched * mc; sx <- sched * mc * mc1; sched <- sn
    for (k in 1:2) {
      m <- b1 * (if (t == 1) 0 else ms[[k]]) + (1 - b1) * g[[k]]
      v <- b2 * (if (t == 1) 0 else vs[[k]]) + (1 - b2) * g[[k]]^2
      mbar <- (1 - mc) * g[[k]] / (1 - sn) + mc1 * m / (1 - sx)
      params[[k]] <- params[[k]] - lr * mbar / (sqrt(v / (1 - b2^t)) + 1e-7)
      ms[[k]] <- m; vs[[k]] <- v
    }
  }
  got <- run_engine(optimizer_nadam(lr = lr), p)
  expect_equal(got[[1]], params[[1]], tolerance = 1e-5)
  expect_equal(got[[2]], params[[2]], tolerance = 1e-5)
})

test_that("optimizer_sgd honours momentum, nesterov, decay and clipnorm", {
  p <- dense_problem()
  lr <- 0.1; mu <- 0.9; decay <- 0.05; cn <- 0.3
  params <- list(p$w, p$b); vel <- list(0, 0)
  for (t in 1:3) {
    g <- mse_grads(p, params[[1]], params[[2]])
    n <- sqrt(sum(g[[1]]^2) + sum(g[[2]]^2))
    if (n >= cn) g <- lapply(g, function(x) x * cn / n)
    lr_t <- lr / (1 + decay * (t - 1))
    for (k in 1:2) {
      v <- mu * vel[[k]] - lr_t * g[[k]]
      params[[k]] <- params[[k]] + mu * v - lr_t * g[[k]]
      vel[[k]] <- v
    }
  }
  got <- run_engine(optimizer_sgd(lr = lr, momentum = mu, decay = decay, nesterov = TRUE, clipnorm = cn), p)
  expect_equal(got[[1]], params[[1]], tolerance = 1e-5)
  expect_equal(got[[2]], params[[2]], tolerance = 1e-5)
})

test_that("new optimizers have keras's defaults, names and errors", {
  expect_equal(optimizer_adadelta()$config[c("lr", "rho")], list(lr = 1, rho = 0.95))
  expect_equal(optimizer_adamax()$lr, 0.002)
  expect_equal(optimizer_nadam()$schedule_decay, 0.004)
  expect_s3_class(optimizer_nadam(), "keras.optimizers.Nadam")
  expect_error(optimizer_adadelta(rho = 2), "rho")
  expect_error(optimizer_nadam(schedule_decay = -1), "schedule_decay")
  m <- keras_model_sequential() %>% layer_dense(units = 1, input_shape = 2)
  expect_silent(m %>% compile(loss = "mse", optimizer = "nadam"))
  expect_equal(m$optimizer$class_name, "Nadam")
})

test_that("Adadelta, Adamax and Nadam state survives save_model_hdf5 / load_model_hdf5", {
  p <- dense_problem()
  for (opt in list(optimizer_adadelta(lr = 0.5), optimizer_adamax(), optimizer_nadam(lr = 0.01))) {
    m <- keras_model_sequential() %>% layer_dense(units = 2, input_shape = 3)
    set_weights(m, list(p$w, p$b))
    m %>% compile(loss = "mse", optimizer = opt)
    for (i in 1:2) train_on_batch(m, p$x, p$y)
    f <- tempfile(fileext = ".h5")
    save_model_hdf5(m, f)
    m2 <- load_model_hdf5(f)
    expect_equal(m2$optimizer$class_name, m$optimizer$class_name)
    train_on_batch(m, p$x, p$y)
    train_on_batch(m2, p$x, p$y)
    expect_equal(get_weights(m2), get_weights(m), tolerance = 1e-6, info = m$optimizer$class_name)
  }
})
