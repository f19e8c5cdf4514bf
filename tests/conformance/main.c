/* SPDX-License-Identifier: MIT */
/*
 * main.c: the taskio conformance suite (Check), one binary run per backend:
 *
 *     conformance BACKEND GROUP [SUBMIT_BATCH]
 *
 * BACKEND is "io_uring", "threads" or "iocp" (passed as
 * tio_loop_config.backend); GROUP is "core" (buffered files, pipes, timers,
 * the loop) or "direct" (tests that need O_DIRECT on the scratch
 * directory); SUBMIT_BATCH (default 0) is every loop's
 * tio_loop_config.submit_batch. The scratch directory is $TIO_TEST_DIR
 * (default "."). Exit status 77 is a visible skip: the backend is
 * unavailable here, or (group "direct") the scratch directory's filesystem
 * refuses O_DIRECT.
 *
 * Each test names the behaviour of DESIGN.md ("Semantics every backend must
 * show") that it checks; the groups are one file each (harness.h lists
 * them). Misuse (calls the library refuses) is tested once, for every
 * public function, in reliability/hostile.c.
 */
#include "harness.h"


static Suite *conformance_suite(conf_suite which)
{
    Suite *s = suite_create(which == CONF_CORE ? "core" : "direct");
    add_io_eof_tests(s, which);
    add_errors_tests(s, which);
    add_pipeline_tests(s, which);
    add_vectored_tests(s, which);
    add_engine_tests(s, which);
    add_durability_tests(s, which);
    add_shutdown_tests(s, which);
    add_loop_tests(s, which);
    add_streams_tests(s, which);
    add_cancel_tests(s, which);
    add_timeouts_tests(s, which);
    return s;
}

/* 0: the backend runs here (and, for "direct", O_DIRECT works in g_dir);
 * 77: skip; 1: failure. */
static int probe(const char *group)
{
    int rc = probe_backend(g_backend, "conformance");
    if (rc != 0 || strcmp(group, "direct") != 0)
        return rc;
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = g_backend;
    tio_loop *loop = NULL;
    if ((rc = create_loop_or_skip(&loop, &cfg, "conformance")) != 0)
        return rc;
    rc = probe_direct(loop, g_dir, 0, NULL, "tio-conf");
    tio_loop_destroy(loop);
    return rc;
}

/* `conformance --exclusive-probe PATH BACKEND`: the other process of
 * exclusive_open_refuses_a_second_opener (exec'd, not just forked: a
 * forked copy of a process with threads may not start threads of its own,
 * and ThreadSanitizer refuses it). Exit 0 when its TIO_EXCLUSIVE open of
 * PATH is refused with TIO_EBUSY. */
static int exclusive_probe(const char *path, const char *backend)
{
    tio_loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.backend = backend;
    tio_loop *loop = NULL;
    tio_file *f = NULL;
    int rc = tio_loop_create(&loop, &cfg);
    if (rc == 0) {
        rc = tio_file_open(loop, &f, path, TIO_RDWR | TIO_EXCLUSIVE, 0);
        tio_loop_destroy(loop);
    }
    return rc == TIO_EBUSY ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--exclusive-probe") == 0)
        return exclusive_probe(argv[2], argv[3]);
    g_argv0 = argv[0];
    if ((argc != 3 && argc != 4) ||
        (strcmp(argv[2], "core") != 0 && strcmp(argv[2], "direct") != 0)) {
        fprintf(stderr, "usage: %s io_uring|threads|iocp core|direct [SUBMIT_BATCH]\n", argv[0]);
        return EXIT_FAILURE;
    }
    g_backend = argv[1];
    g_submit_batch = argc == 4 ? (unsigned)strtoul(argv[3], NULL, 10) : 0;
    const char *group = argv[2];
    g_dir = test_dir();
    atexit(remove_scratch);

    int rc = probe(group);
    if (rc != 0)
        return rc == 77 ? 77 : EXIT_FAILURE;
    printf("conformance: backend %s, group %s, scratch dir %s\n", g_backend, group, g_dir);
    fflush(stdout);

    SRunner *sr = srunner_create(
        conformance_suite(strcmp(group, "core") == 0 ? CONF_CORE : CONF_DIRECT));
#ifdef _WIN32
    srunner_set_fork_status(sr, CK_NOFORK); /* no fork() on Windows */
#endif
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
