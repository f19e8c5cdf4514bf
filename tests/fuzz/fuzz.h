/* SPDX-License-Identifier: MIT */
/*
 * The model-based fuzzer's entry points (fuzz.c), shared by the libFuzzer
 * build (tio-fuzz, clang) and the replay driver run by `make test`
 * (tio-fuzz-replay, any compiler).
 */
#ifndef TIO_FUZZ_H
#define TIO_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Called once before the first input: scratch directory, buffers. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Decode one input into operations on a fresh loop, check every result
 * against the model, abort() with a message at the first divergence.
 * Always returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* TIO_FUZZ_H */
