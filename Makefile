# Routine acts for kerasnative. `make demo` and `make test` work on a fresh
# Debian 12 machine (they install what is missing first).
R ?= R
RSCRIPT ?= Rscript
PKG := kerasnative
LIB ?= $(CURDIR)/_build/lib
# Engine folders, lowest first: core <- kernels <- ops <- nn <- data; formats depends on core only.
ENGINE_DIRS := core kernels ops nn data formats
ENGINE_INC := $(foreach d,$(ENGINE_DIRS),-Isrc/$(d)) -Isrc/formats/proto
CXXTEST = g++ -std=c++17 -O2 -Wall $(ENGINE_INC)
CPP_LIBS = $(shell pkg-config --libs protobuf hdf5 zlib 2>/dev/null) -pthread
CPP_CFLAGS = $(shell pkg-config --cflags protobuf hdf5 zlib 2>/dev/null)

.PHONY: deps docs install test test-r test-cpp check bench demo clean sanitize sanitize-cpp-bins fuzz fuzz-bins

deps:
	@sh tools/deps.sh

# Generated files: RcppExports.* (Rcpp attributes), NAMESPACE and man/ (roxygen2).
docs: deps
	$(RSCRIPT) -e 'Rcpp::compileAttributes(".")' -e 'roxygen2::roxygenise(".", roclets = c("rd", "namespace"), load_code = roxygen2::load_source)'

install: deps
	mkdir -p $(LIB)
	@# R's build has no header dependencies: drop objects older than the newest header
	@newest=$$(ls -t src/*.h $(foreach d,$(ENGINE_DIRS),src/$(d)/*.h) 2>/dev/null | head -1); \
	  [ -z "$$newest" ] || find src -name '*.o' ! -newer "$$newest" -delete
	MAKEFLAGS=-j2 $(R) CMD INSTALL --no-test-load --library=$(LIB) . 2>&1 | tail -n 3
	@test -d $(LIB)/$(PKG) || (echo "install failed" && exit 1)

# Standalone C++ tests of the engine folders (no R), one binary per tests/cpp/test_*.cpp.
CPP_SRC := $(wildcard $(foreach d,$(ENGINE_DIRS),src/$(d)/*.cpp))
PROTOS := example tensor summary event graph
PROTO_CC := $(patsubst %,_build/cpp/proto/%.pb.cc,$(PROTOS))
CPP_OBJ := $(patsubst src/%.cpp,_build/cpp/obj/%.o,$(CPP_SRC)) $(patsubst %,_build/cpp/obj/%.pb.o,$(PROTOS))
CPP_TESTS := $(patsubst tests/cpp/%.cpp,_build/cpp/%,$(wildcard tests/cpp/test_*.cpp))

_build/cpp/proto/%.pb.cc: src/formats/proto/%.proto
	@mkdir -p _build/cpp/proto
	protoc --cpp_out=_build/cpp/proto -Isrc/formats/proto $<
_build/cpp/obj/%.pb.o: _build/cpp/proto/%.pb.cc $(PROTO_CC)
	@mkdir -p $(dir $@)
	$(CXXTEST) $(CPP_CFLAGS) -I_build/cpp -I_build/cpp/proto -c $< -o $@
_build/cpp/obj/%.o: src/%.cpp $(wildcard $(foreach d,$(ENGINE_DIRS),src/$(d)/*.h)) $(PROTO_CC)
	@mkdir -p $(dir $@)
	$(CXXTEST) $(CPP_CFLAGS) -I_build/cpp -I_build/cpp/proto -c $< -o $@
_build/cpp/test_%: tests/cpp/test_%.cpp $(wildcard tests/cpp/*.h) $(CPP_OBJ)
	$(CXXTEST) $(CPP_CFLAGS) -I_build/cpp -I_build/cpp/proto $< $(CPP_OBJ) -o $@ $(CPP_LIBS)

.SECONDARY:

test-cpp: deps
	@$(MAKE) --no-print-directory -j2 $(CPP_TESTS)
	@fail=0; for t in $(CPP_TESTS); do echo "== $$t"; (cd tests/cpp && ../../$$t) || fail=1; done; exit $$fail

test-r: install
	cd tests/testthat && R_LIBS=$(LIB) NOT_CRAN=true KERASNATIVE_THREADS=2 $(RSCRIPT) -e 'library(testthat); library($(PKG)); res <- as.data.frame(test_dir(".", package = "$(PKG)", load_package = "installed", reporter = "summary", stop_on_failure = FALSE)); f <- sum(res$$failed) + sum(res$$error); cat(sprintf("\n%d passed, %d failed, %d skipped\n", sum(res$$nb) - sum(res$$failed) - sum(res$$skipped), f, sum(res$$skipped))); quit(status = f > 0)'

test: test-cpp test-r

check: docs
	@# tools R CMD check --as-cran looks for (checkbashisms for configure, qpdf for PDFs)
	@dpkg -s devscripts qpdf >/dev/null 2>&1 || (apt-get install -y -qq --no-install-recommends devscripts qpdf >/dev/null)
	rm -rf _build/check && mkdir -p _build/check
	cd _build/check && $(R) CMD build ../.. && _R_CHECK_FORCE_SUGGESTS_=false $(R) CMD check --as-cran --no-manual $(PKG)_*.tar.gz

bench: install
	@dpkg -s python3-torch python3-numpy >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends python3-torch python3-numpy >/dev/null
	sh bench/run.sh

demo: install
	R_LIBS=$(LIB) $(RSCRIPT) inst/scripts/demo.R

# ---- make sanitize: C++ tests and the R suite under ASan + UBSan (tools/sanitize.sh)
# tools/sanitize.sh first builds the package instrumented (-O1) from a copy of
# the source tree in _build/san/pkg; the C++ tests then link the engine objects
# of that build, so each source is compiled once with the sanitizers.
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_SRC := _build/san/pkg/src
CXXSAN = g++ -std=c++17 -O1 -g $(SAN_FLAGS) -I$(SAN_SRC)/formats -I$(SAN_SRC)/formats/proto $(ENGINE_INC)
SAN_OBJ = $(patsubst src/%.cpp,$(SAN_SRC)/%.o,$(CPP_SRC)) $(patsubst %,$(SAN_SRC)/formats/proto/%.pb.o,$(PROTOS))
SAN_TESTS := $(patsubst tests/cpp/%.cpp,_build/san/cpp/%,$(wildcard tests/cpp/test_*.cpp))

_build/san/cpp/test_%: tests/cpp/test_%.cpp $(wildcard tests/cpp/*.h) $(SAN_SRC)/kerasnative.so
	@mkdir -p $(dir $@)
	$(CXXSAN) $(CPP_CFLAGS) $< $(SAN_OBJ) -o $@ $(CPP_LIBS)

sanitize-cpp-bins: $(SAN_TESTS)

sanitize: deps
	@sh tools/sanitize.sh

# ---- make fuzz FUZZ_SECONDS=N: libFuzzer harnesses tests/fuzz/fuzz_*.cpp (clang-16)
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
CXXFUZZ = $(shell command -v ccache) clang++-16 -std=c++17 -O1 -g $(FUZZ_FLAGS) $(ENGINE_INC)
FUZZ_OBJ := $(patsubst src/%.cpp,_build/fuzz/obj/%.o,$(CPP_SRC)) $(patsubst %,_build/fuzz/obj/%.pb.o,$(PROTOS))
FUZZ_TARGETS := $(patsubst tests/fuzz/%.cpp,_build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.cpp))

_build/fuzz/obj/%.pb.o: _build/cpp/proto/%.pb.cc $(PROTO_CC)
	@mkdir -p $(dir $@)
	$(CXXFUZZ) $(CPP_CFLAGS) -I_build/cpp -I_build/cpp/proto -c $< -o $@
# The numeric kernels are not what the harnesses test, and instrumented they
# take minutes to compile (gemm_kernels.cpp): plain -O2 for them.
_build/fuzz/obj/kernels/%.o: src/kernels/%.cpp $(wildcard src/core/*.h src/kernels/*.h)
	@mkdir -p $(dir $@)
	$(shell command -v ccache) clang++-16 -std=c++17 -O2 -g $(ENGINE_INC) -c $< -o $@
_build/fuzz/obj/%.o: src/%.cpp $(wildcard $(foreach d,$(ENGINE_DIRS),src/$(d)/*.h)) $(PROTO_CC)
	@mkdir -p $(dir $@)
	$(CXXFUZZ) $(CPP_CFLAGS) -I_build/cpp -I_build/cpp/proto -c $< -o $@
_build/fuzz/fuzz_%: tests/fuzz/fuzz_%.cpp $(wildcard tests/fuzz/*.h) $(FUZZ_OBJ)
	$(CXXFUZZ) -fsanitize=fuzzer $(CPP_CFLAGS) -I_build/cpp -I_build/cpp/proto $< $(FUZZ_OBJ) -o $@ $(CPP_LIBS)

fuzz-bins: $(FUZZ_TARGETS)

fuzz: deps
	@sh tools/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf _build src/*.o src/*.so src/*/*.o src/formats/proto/*.o src/Makevars \
	  src/formats/proto/*.pb.*
