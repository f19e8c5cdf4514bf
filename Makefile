# Thin wrapper around CMake for the common tasks.
#
#   make demo               build, then run tio-bench from build/linux
#   make test               everything: the Linux suites (io_uring, threads, a
#                           threads-only build) and the Windows suite under Wine,
#                           reported by one ctest run
#   make test-windows       only the Windows (mingw-w64 + Wine) suite, in build/windows
#   make test-threads-only  only a build with the threads backend, in build/threads
#   make build | build-windows | clean

BUILD_DIR   := build/linux
WIN_DIR     := build/windows
THREADS_DIR := build/threads
BUILD_TYPE  ?= RelWithDebInfo
JOBS        ?= $(shell nproc 2>/dev/null || echo 4)
CMAKE_BUILD := cmake --build
MAKEFLAGS   += --no-print-directory

FUZZ_DIR    := build/fuzz

.PHONY: all deps build demo test build-windows test-windows test-threads-only soak fuzz clean

all: build

deps:
	@sh scripts/deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)
	$(CMAKE_BUILD) $(BUILD_DIR) -j$(JOBS)

demo: build
	cd $(BUILD_DIR) && ./tio-bench

# The Windows tree is built first; the Linux ctest runs its suite as the test
# windows.iocp_under_wine, so ctest's summary is the last line and covers all.
test: deps build-windows
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	      -DTIO_WINDOWS_BUILD_DIR=$(abspath $(WIN_DIR))
	$(CMAKE_BUILD) $(BUILD_DIR) -j$(JOBS)
	cd $(BUILD_DIR) && ctest --output-on-failure

build-windows:
	@sh scripts/deps.sh windows
	sh scripts/build-check-mingw.sh $(WIN_DIR)/deps
	cmake -S . -B $(WIN_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	      -DCMAKE_TOOLCHAIN_FILE=$(abspath cmake/mingw-w64.cmake) \
	      -DTIO_MINGW_PREFIX=$(abspath $(WIN_DIR)/deps)
	$(CMAKE_BUILD) $(WIN_DIR) -j$(JOBS)

test-windows: build-windows
	cd $(WIN_DIR) && ctest --output-on-failure

test-threads-only:
	@sh scripts/deps.sh threads-only
	cmake -S . -B $(THREADS_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DTIO_BACKENDS=threads
	$(CMAKE_BUILD) $(THREADS_DIR) -j$(JOBS)
	cd $(THREADS_DIR) && ctest --output-on-failure

# One million mixed operations per Linux backend at queue depth 256, with
# random cancels and timeouts; prints RSS at the start and the end.
soak: build
	cd $(BUILD_DIR) && ./tests/reliability/tio-soak

# The model-based fuzzer, open-ended (Ctrl-C to stop); clang + libFuzzer.
fuzz:
	@sh scripts/deps.sh
	CC=clang cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=Debug -DTIO_FUZZ=ON \
	      -DTIO_BUILD_BENCH=OFF -DTIO_BUILD_CONTRIB=OFF
	$(CMAKE_BUILD) $(FUZZ_DIR) -j$(JOBS) --target tio-fuzz
	cd $(FUZZ_DIR) && ./tests/fuzz/tio-fuzz -max_total_time=$${FUZZ_SECONDS:-0} \
	      fuzz-corpus ../../tests/fuzz/corpus

clean:
	rm -rf $(BUILD_DIR) $(WIN_DIR) $(THREADS_DIR) $(FUZZ_DIR)
