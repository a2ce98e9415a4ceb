# A minimal, safe reader of Python pickles (protocols 0-4 opcodes that data
# pickles use), for the CIFAR batches Keras caches ("cifar-10-batches-py/",
# "cifar-100-python/"): dicts, lists, tuples, strings, numbers and numpy
# arrays. It runs no code: the only globals it accepts are numpy's array
# reconstruction (numpy.core.multiarray._reconstruct, numpy.ndarray,
# numpy.dtype) and _codecs.encode (how Python 3 pickles bytes at protocol 2).
#
# Values: a dict is a list of class "py_dict" with fields keys and values
# (lists); a list or tuple an R list; str a character string; bytes (and
# Python 2 str) a raw vector of class "py_bytes"; numbers doubles; numpy
# arrays R arrays with numpy's index order.

py_pickle_read <- function(path, what = "pickle") {
  size <- file.size(path)
  if (is.na(size)) stop(sprintf("%s: cannot read '%s'", what, path), call. = FALSE)
  con <- file(path, "rb")
  buf <- readBin(con, "raw", size)
  close(con)
  py_unpickle(buf, sprintf("%s '%s'", what, path))
}

# A bytes object: raw vector with class "py_bytes".
py_bytes <- function(r) structure(r, class = "py_bytes")

# A str or bytes value as a character string.
py_text <- function(x) if (is.raw(x)) rawToChar(unclass(x)) else as.character(x)

# The latin-1 bytes of a str given as text or UTF-8 bytes: how Python 3
# pickles bytes at protocol 2 (_codecs.encode(str, "latin1")).
utf8_to_latin1 <- function(s, fail) {
  v <- as.integer(if (is.raw(s)) unclass(s) else charToRaw(enc2utf8(s)))
  i <- which(v >= 0xC0)
  if (any(v[i] > 0xC3)) fail("bytes encoded with characters outside latin-1")
  if (length(i)) {
    v[i] <- (v[i] - 0xC0) * 64 + (v[i + 1] - 0x80)
    v <- v[-(i + 1)]
  }
  as.raw(v)
}

# Key lookup in a py_dict (keys compared as text).
py_get <- function(d, key) {
  ks <- vapply(d$keys, py_text, "")
  i <- match(key, ks)
  if (is.na(i)) NULL else d$values[[i]]
}

py_unpickle <- function(buf, what) {
  n <- length(buf)
  pos <- 1L
  stack <- vector("list", 64L); sp <- 0L
  marks <- integer(); memo <- list()
  fail <- function(msg) stop(sprintf("%s: %s (byte offset %d)", what, msg, pos - 1L), call. = FALSE)
  take <- function(k) {
    if (pos + k - 1L > n) fail(sprintf("truncated: needs %d more bytes, %d left", k, n - pos + 1L))
    r <- buf[pos:(pos + k - 1L)]
    pos <<- pos + k
    r
  }
  uint <- function(k) { b <- as.numeric(take(k)); sum(b * 256^(seq_len(k) - 1)) }
  int4 <- function() { v <- uint(4); if (v >= 2^31) v - 2^32 else v }
  line <- function() {
    e <- pos
    while (e <= n && buf[e] != as.raw(10)) e <- e + 1L
    if (e > n) fail("unterminated text line")
    s <- if (e > pos) rawToChar(buf[pos:(e - 1L)]) else ""
    pos <<- e + 1L
    s
  }
  push <- function(v) {
    force(v)  # may pop: evaluate before moving the stack pointer
    sp <<- sp + 1L
    if (sp > length(stack)) length(stack) <<- 2L * length(stack)
    if (is.null(v)) stack[sp] <<- list(NULL) else stack[[sp]] <<- v
  }
  pop <- function() {
    if (sp < 1L) fail("stack underflow")
    v <- stack[[sp]]; stack[sp] <<- list(NULL); sp <<- sp - 1L
    v
  }
  pop_mark <- function() {
    if (!length(marks)) fail("no MARK on the stack")
    m <- marks[length(marks)]; marks <<- marks[-length(marks)]
    items <- if (sp > m) stack[(m + 1L):sp] else list()
    if (sp > m) stack[(m + 1L):sp] <<- list(NULL)
    sp <<- m
    items
  }
  # str: a character string; one holding NUL characters stays UTF-8 bytes
  text <- function(k) {
    r <- take(k)
    if (any(r == as.raw(0))) return(structure(r, class = "py_utf8"))
    s <- rawToChar(r); Encoding(s) <- "UTF-8"; s
  }
  bytes <- function(k) py_bytes(take(k))
  set_memo <- function(i) memo[[as.character(i)]] <<- stack[[sp]]
  get_memo <- function(i) {
    v <- memo[[as.character(i)]]
    if (is.null(v) && !as.character(i) %in% names(memo)) fail(sprintf("memo key %d not defined", i))
    push(v)
  }
  global <- function(mod, name) {
    ok <- paste(mod, name, sep = ".")
    if (!ok %in% c("numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
                   "numpy.ndarray", "numpy.dtype", "_codecs.encode"))
      fail(sprintf("refusing to load global '%s' (only numpy arrays and plain data are read)", ok))
    structure(list(name = ok), class = "py_global")
  }
  reduce <- function(f, args) {
    nm <- f$name
    if (nm == "_codecs.encode") return(py_bytes(utf8_to_latin1(args[[1]], fail)))
    if (nm == "numpy.dtype") return(structure(list(str = py_text(args[[1]]), order = "|"), class = "py_dtype"))
    if (grepl("_reconstruct$", nm)) return(structure(list(), class = "py_ndarray_pending"))
    fail(sprintf("cannot call '%s'", nm))
  }
  build <- function(obj, state) {
    if (inherits(obj, "py_dtype")) {
      if (is.list(state) && length(state) >= 2 && !is.null(state[[2]])) obj$order <- py_text(state[[2]])
      return(obj)
    }
    if (inherits(obj, "py_ndarray_pending")) return(py_ndarray(state, fail))
    if (inherits(obj, "py_dict") && inherits(state, "py_dict")) {
      obj$keys <- c(obj$keys, state$keys); obj$values <- c(obj$values, state$values)
      return(obj)
    }
    fail("BUILD on an unsupported object")
  }
  setitems <- function(d, items) {
    if (!inherits(d, "py_dict")) fail("SETITEMS on a non-dict")
    if (length(items) %% 2) fail("odd number of items for SETITEMS")
    for (k in seq(1L, length(items), by = 2L)) {
      d$keys[[length(d$keys) + 1L]] <- items[[k]]
      d$values[length(d$values) + 1L] <- list(items[[k + 1L]])
    }
    d
  }
  repeat {
    if (pos > n) fail("ended without STOP")
    op <- as.integer(take(1))
    switch(as.character(op),
      "128" = take(1),                                   # PROTO
      "149" = take(8),                                   # FRAME
      "46" = return(pop()),                              # STOP
      "40" = marks <- c(marks, sp),                      # MARK
      "125" = push(structure(list(keys = list(), values = list()), class = "py_dict")),  # EMPTY_DICT
      "93" = push(list()),                               # EMPTY_LIST
      "41" = push(list()),                               # EMPTY_TUPLE
      "78" = push(NULL),                                 # NONE
      "136" = push(TRUE), "137" = push(FALSE),           # NEWTRUE, NEWFALSE
      "75" = push(uint(1)), "77" = push(uint(2)), "74" = push(int4()),  # BININT1/2, BININT
      "138" = {                                          # LONG1
        k <- uint(1); b <- as.numeric(take(k))
        v <- sum(b * 256^(seq_len(k) - 1)); if (k && b[k] >= 128) v <- v - 256^k
        push(v)
      },
      "71" = push(readBin(take(8), "double", size = 8, endian = "big")),         # BINFLOAT
      "73" = push(as.numeric(line())),                   # INT (text)
      "85" = push(bytes(uint(1))), "84" = push(bytes(int4())),        # SHORT_BINSTRING, BINSTRING
      "67" = push(bytes(uint(1))), "66" = push(bytes(uint(4))),       # SHORT_BINBYTES, BINBYTES
      "142" = push(bytes(uint(8))),                                   # BINBYTES8
      "140" = push(text(uint(1))), "88" = push(text(uint(4))),        # SHORT_BINUNICODE, BINUNICODE
      "141" = push(text(uint(8))),                                    # BINUNICODE8
      "113" = set_memo(uint(1)), "114" = set_memo(uint(4)),           # BINPUT, LONG_BINPUT
      "148" = set_memo(length(memo)),                                 # MEMOIZE
      "104" = get_memo(uint(1)), "106" = get_memo(uint(4)),           # BINGET, LONG_BINGET
      "99" = { mod <- line(); push(global(mod, line())) },            # GLOBAL
      "147" = { name <- pop(); push(global(pop(), name)) },           # STACK_GLOBAL
      "133" = push(list(pop())),                                      # TUPLE1
      "134" = { b <- pop(); push(list(pop(), b)) },                   # TUPLE2
      "135" = { c3 <- pop(); b <- pop(); push(list(pop(), b, c3)) },  # TUPLE3
      "116" = push(pop_mark()),                                       # TUPLE
      "108" = push(pop_mark()),                                       # LIST
      "97" = { v <- pop(); l <- pop(); l[length(l) + 1L] <- list(v); push(l) },  # APPEND
      "101" = { items <- pop_mark(); l <- pop(); push(c(l, items)) },            # APPENDS
      "115" = { v <- pop(); k <- pop(); push(setitems(pop(), list(k, v))) },     # SETITEM
      "117" = { items <- pop_mark(); push(setitems(pop(), items)) },             # SETITEMS
      "82" = { args <- pop(); push(reduce(pop(), args)) },                        # REDUCE
      "98" = { state <- pop(); push(build(pop(), state)) },                      # BUILD
      "48" = pop(),                                                               # POP
      fail(sprintf("unsupported pickle opcode 0x%02x", op)))
  }
}

# numpy's ndarray.__setstate__ state: (version, shape, dtype, is_fortran,
# data). Returns an R array with numpy's index order (dims = shape).
py_ndarray <- function(state, fail) {
  if (!is.list(state) || length(state) < 5) fail("unexpected numpy array state")
  shape <- as.numeric(unlist(state[[2]]))
  dt <- state[[3]]
  if (!inherits(dt, "py_dtype")) fail("numpy array without a dtype")
  fortran <- isTRUE(state[[4]])
  data <- state[[5]]
  if (!inherits(data, "py_bytes")) fail("numpy array data is not a byte string")
  code <- sub("^[<>|=]", "", dt$str)
  size <- as.integer(sub("^[a-z]", "", code))
  kind <- substr(code, 1, 1)
  endian <- if (dt$order == ">") "big" else "little"
  count <- prod(shape)
  if (length(data) != count * size)
    fail(sprintf("numpy array data has %d bytes, expected %g (shape (%s), dtype %s)",
                 length(data), count * size, paste(shape, collapse = ", "), dt$str))
  raw <- unclass(data)
  v <- if (kind == "u" && size == 1) as.integer(raw)
       else if (kind == "u" && size == 4) {
         w <- readBin(raw, "integer", count, size = 4, endian = endian)
         ifelse(w < 0, w + 2^32, w)
       }
       else if (kind %in% c("i", "u") && size %in% c(1, 2, 4))
         readBin(raw, "integer", count, size = size, signed = kind == "i" || size == 4, endian = endian)
       else if (kind == "f" && size %in% c(4, 8)) readBin(raw, "double", count, size = size, endian = endian)
       else if (kind == "b" && size == 1) as.logical(as.integer(raw))
       else fail(sprintf("unsupported numpy dtype '%s'", dt$str))
  if (length(shape) <= 1) return(v)
  if (fortran) return(array(v, shape))
  aperm(array(v, rev(shape)), rev(seq_along(shape)))
}
