/* SPDX-License-Identifier: MIT */
/*
 * errors.c: conformance, errors.
 *
 * What the OS reports arrives as the same TIO_E* everywhere, with an
 * explanation in tio_last_error (opening a missing path, an existing one
 * with TIO_EXCL); tio_strerror describes every code.
 *
 * Misuse, what the library itself refuses at the call (semantic 3: NULL
 * arguments, lengths over TIO_MAX_IO, the wrong access mode, a pending
 * task, a file or task of another loop, tio_cancel/tio_timeout of an idle
 * task, submit_batch over queue_depth), is tested once, for every public
 * function and on every backend, in reliability/hostile.c's table.
 */
#include "harness.h"

START_TEST(open_missing_path_without_create_gives_enoent)
{
    tio_loop *loop = new_loop();
    const char *path = scratch("missing");
    tio_file *f = NULL;
    ck_assert_int_eq(tio_file_open(loop, &f, path, TIO_RDWR, 0644), TIO_ENOENT);
    ck_assert_int_eq(tio_file_open(loop, &f, path, TIO_RDONLY, 0644), TIO_ENOENT);
    const char *why = tio_last_error(loop);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, path) != NULL, "tio_last_error does not name the path: \"%s\"", why);
    end_loop(loop);
}
END_TEST

START_TEST(open_existing_with_create_excl_gives_eexist)
{
    tio_loop *loop = new_loop();
    const char *path = scratch("excl");
    tio_file *f = open_file(loop, path, TIO_CREATE | TIO_EXCL | TIO_RDWR);
    close_file(f);
    tio_file *g = NULL;
    ck_assert_int_eq(tio_file_open(loop, &g, path, TIO_CREATE | TIO_EXCL | TIO_RDWR, 0644),
                     TIO_EEXIST);
    /* without EXCL it opens */
    g = open_file(loop, path, TIO_CREATE | TIO_RDWR);
    close_file(g);
    end_loop(loop);
}
END_TEST

START_TEST(strerror_describes_every_code)
{
    static const int codes[] = {
        TIO_EINVAL, TIO_EBUSY,  TIO_ENOENT, TIO_ECANCELED, TIO_ETIMEDOUT, TIO_EACCES,
        TIO_EEXIST, TIO_EBADF,  TIO_ENOSPC, TIO_EIO,       TIO_ENOMEM,    TIO_ENOTSUP,
        TIO_EPIPE,  TIO_EISDIR, TIO_EROFS,  TIO_EFBIG,     TIO_EOTHER,    TIO_ENOTDIR,
    };
    enum { N = sizeof codes / sizeof codes[0] };
    ck_assert_int_eq(N, 18);
    for (int i = 0; i < N; i++) {
        const char *s = tio_strerror(codes[i]);
        ck_assert_msg(s != NULL && s[0] != '\0', "tio_strerror(%d) is empty", codes[i]);
        for (int j = 0; j < i; j++)
            ck_assert_msg(strcmp(s, tio_strerror(codes[j])) != 0,
                          "tio_strerror(%d) == tio_strerror(%d): \"%s\"", codes[i], codes[j], s);
    }
    const char *ok = tio_strerror(0);
    ck_assert(ok != NULL && ok[0] != '\0');
    ck_assert(tio_strerror(4096) != NULL && tio_strerror(4096)[0] != '\0');
    ck_assert(tio_strerror(-9999) != NULL && tio_strerror(-9999)[0] != '\0');
}
END_TEST

/* ================================================================ suite */

void add_errors_tests(Suite *s, conf_suite which)
{
    if (which == CONF_CORE) {
        TCase *tc = new_tcase("errors", 60);
        tcase_add_test(tc, open_missing_path_without_create_gives_enoent);
        tcase_add_test(tc, open_existing_with_create_excl_gives_eexist);
        tcase_add_test(tc, strerror_describes_every_code);
        suite_add_tcase(s, tc);
    }
}
