/*
 * <check.h> for the test suites, on every OS, plus the time units they use.
 *
 * check.h declares its message functions format(printf), which mingw-w64 GCC
 * takes for the Microsoft CRT's printf (ms_printf): that rejects the %jd of
 * Check's own ck_assert_int_* macros. Check formats with mingw's C99
 * __mingw_vsnprintf, so gnu_printf is what its functions really accept.
 */
#ifndef TIO_TESTS_CHECK_H
#define TIO_TESTS_CHECK_H

#include <stdint.h>

#ifdef __MINGW32__
#  include <float.h>
#  include <math.h>
#  include <stddef.h>
#  define printf gnu_printf
#  include <check.h>
#  undef printf
#else
#  include <check.h>
#endif

#define MS INT64_C(1000000)
#define MSEC MS
#define SEC INT64_C(1000000000)

#endif
