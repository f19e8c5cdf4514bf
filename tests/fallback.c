/* SPDX-License-Identifier: MIT */
/*
 * Backend selection when io_uring is refused: a seccomp filter makes
 * io_uring_setup fail with EPERM, as Docker's default profile and
 * kernel.io_uring_disabled=2 do. A loop created without a backend name must
 * then run on "threads", and one that names "io_uring" must fail with
 * TIO_ENOTSUP and say why. Each case runs in a forked child (Check's
 * default), so the filter never outlives it.
 */
#include "taskio.h"

#include <check.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static void refuse_io_uring_setup(int err)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof code / sizeof code[0], code};
    ck_assert_int_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    ck_assert_int_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
}

static int sleeps_done;
static void sleep_cb(tio_task *t, int64_t result)
{
    (void)t;
    ck_assert_int_eq(result, 0);
    sleeps_done++;
}

/* With io_uring_setup refused with err, the default loop runs "threads",
 * and works. */
static void check_threads_serve(int err)
{
    refuse_io_uring_setup(err);
    unsetenv("TIO_BACKEND");
    tio_loop *loop = NULL;
    ck_assert_int_eq(tio_loop_create(&loop, NULL), 0);
    ck_assert_str_eq(tio_loop_backend(loop), "threads");
    tio_task t = TIO_TASK_INIT;
    ck_assert_int_eq(tio_sleep(loop, &t, 1000000, sleep_cb), 0);
    ck_assert_int_eq(tio_drain(loop), 0);
    ck_assert_int_eq(sleeps_done, 1);
    tio_loop_destroy(loop);
}

START_TEST(eperm_from_io_uring_setup_falls_back_to_threads)
{
    check_threads_serve(EPERM);
}
END_TEST

START_TEST(enosys_from_io_uring_setup_falls_back_to_threads)
{
    check_threads_serve(ENOSYS);
}
END_TEST

START_TEST(naming_a_refused_io_uring_fails_with_enotsup_and_a_reason)
{
    refuse_io_uring_setup(EPERM);
    tio_loop *loop = NULL;
    tio_loop_config cfg = {0, 0, "io_uring", 0};
    ck_assert_int_eq(tio_loop_create(&loop, &cfg), TIO_ENOTSUP);
    ck_assert_ptr_null(loop);
    ck_assert_msg(strstr(tio_last_error(NULL), "io_uring_setup") != NULL, "reason: %s",
                  tio_last_error(NULL));
}
END_TEST

START_TEST(environment_names_the_backend)
{
    setenv("TIO_BACKEND", "threads", 1);
    tio_loop *loop = NULL;
    ck_assert_int_eq(tio_loop_create(&loop, NULL), 0);
    ck_assert_str_eq(tio_loop_backend(loop), "threads");
    tio_loop_destroy(loop);
    setenv("TIO_BACKEND", "nonsense", 1);
    ck_assert_int_eq(tio_loop_create(&loop, NULL), TIO_EINVAL);
    setenv("TIO_BACKEND", "iocp", 1);
    ck_assert_int_eq(tio_loop_create(&loop, NULL), TIO_ENOTSUP);
    unsetenv("TIO_BACKEND");
}
END_TEST

START_TEST(unrefused_default_is_io_uring)
{
    unsetenv("TIO_BACKEND");
    tio_loop *loop = NULL;
    ck_assert_int_eq(tio_loop_create(&loop, NULL), 0);
    ck_assert_str_eq(tio_loop_backend(loop), "io_uring");
    tio_loop_destroy(loop);
}
END_TEST

int main(void)
{
    /* Without io_uring here at all there is nothing to fall back from. */
    tio_loop *probe = NULL;
    tio_loop_config cfg = {0, 0, "io_uring", 0};
    if (tio_loop_create(&probe, &cfg) != 0) {
        printf("SKIP: io_uring unavailable on this machine: %s\n", tio_last_error(NULL));
        return 77;
    }
    tio_loop_destroy(probe);

    Suite *s = suite_create("fallback");
    TCase *tc = tcase_create("selection");
    tcase_add_test(tc, eperm_from_io_uring_setup_falls_back_to_threads);
    tcase_add_test(tc, enosys_from_io_uring_setup_falls_back_to_threads);
    tcase_add_test(tc, naming_a_refused_io_uring_fails_with_enotsup_and_a_reason);
    tcase_add_test(tc, environment_names_the_backend);
    tcase_add_test(tc, unrefused_default_is_io_uring);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK); /* the seccomp filter must die with the case */
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
