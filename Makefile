# Thin wrapper around CMake for the common tasks on Linux.
#
#   make demo               build, then run tio-bench from build/linux
#   make test               build, then run the whole test suite (ctest)
#   make test-threads-only  the same for a build with only the threads backend
#   make build | clean

BUILD_DIR   := build/linux
THREADS_DIR := build/threads
BUILD_TYPE  ?= RelWithDebInfo
JOBS        ?= $(shell nproc 2>/dev/null || echo 4)

# cmake --build runs make again: keep its "Entering directory" lines out.
MAKEFLAGS += --no-print-directory

.PHONY: all deps build demo test test-threads-only clean

all: build

deps:
	@sh scripts/deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)
	cmake --build $(BUILD_DIR) -j$(JOBS)

demo: build
	cd $(BUILD_DIR) && ./tio-bench

# ctest's summary stays the last thing printed.
test: build
	cd $(BUILD_DIR) && ctest --output-on-failure

test-threads-only:
	@sh scripts/deps.sh threads-only
	cmake -S . -B $(THREADS_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DTIO_BACKENDS=threads
	cmake --build $(THREADS_DIR) -j$(JOBS)
	cd $(THREADS_DIR) && ctest --output-on-failure

clean:
	rm -rf $(BUILD_DIR) $(THREADS_DIR)
