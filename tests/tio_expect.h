/* SPDX-License-Identifier: MIT */
/*
 * For the test programs that run without Check (tests/enospc.c,
 * direct_refused.c, fs/align.c, fuse/eio.c): EXPECT counts a failure in
 * `failures` and says where, the run goes on; skip says why on stdout and
 * returns 77, CTest's visible skip. Include it in one translation unit.
 */
#ifndef TIO_TESTS_EXPECT_H
#define TIO_TESTS_EXPECT_H

#include <stdio.h>

static int failures;

/* clang-format off */
#define EXPECT(cond, ...)                                  \
  do {                                                     \
    if (!(cond)) {                                         \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                        \
      fputc('\n', stderr);                                 \
      failures++;                                          \
    }                                                      \
  } while (0)
/* clang-format on */

static inline int skip(const char *why)
{
    printf("SKIP: %s\n", why);
    return 77;
}

#endif
