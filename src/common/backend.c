/* SPDX-License-Identifier: MIT */
/*
 * The backend table and selection: tio_loop_config.backend, else the
 * environment variable TIO_BACKEND, else the first compiled backend that
 * initialises (io_uring before threads: a container whose seccomp profile or
 * kernel.io_uring_disabled refuses io_uring_setup falls back to threads).
 */
#include "common/internal.h"

#include <stdlib.h>
#include <string.h>

extern const tio__backend tio__backend_io_uring;
extern const tio__backend tio__backend_threads;
extern const tio__backend tio__backend_iocp;

static const tio__backend *const compiled[] = {
#ifdef TIO_HAVE_IO_URING
    &tio__backend_io_uring,
#endif
#ifdef TIO_HAVE_IOCP
    &tio__backend_iocp,
#endif
#ifdef TIO_HAVE_THREADS
    &tio__backend_threads,
#endif
    NULL,
};

static bool known_name(const char *name)
{
    return strcmp(name, "io_uring") == 0 || strcmp(name, "threads") == 0 ||
           strcmp(name, "iocp") == 0;
}

static int create_named(tio_loop *loop, const tio_loop_config *cfg, const char *name,
                        const char *from)
{
    for (size_t i = 0; compiled[i] != NULL; i++) {
        if (strcmp(compiled[i]->name, name) != 0)
            continue;
        tio__loop_set_backend(loop, compiled[i]);
        return compiled[i]->create(loop, cfg);
    }
    if (!known_name(name))
        return tio__fail(loop, TIO_EINVAL,
                         "unknown backend \"%s\" (%s); expected io_uring, "
                         "threads or iocp",
                         name, from);
    return tio__fail(loop, TIO_ENOTSUP,
                     "backend \"%s\" (%s) is not compiled into this build "
                     "(CMake -DTIO_BACKENDS)",
                     name, from);
}

int tio__backend_select(tio_loop *loop, const tio_loop_config *cfg)
{
    if (cfg->backend != NULL)
        return create_named(loop, cfg, cfg->backend, "tio_loop_config.backend");
    const char *env = getenv("TIO_BACKEND");
    if (env != NULL && env[0] != '\0')
        return create_named(loop, cfg, env, "environment TIO_BACKEND");
    int rc = tio__fail(loop, TIO_ENOTSUP, "no backend compiled in");
    for (size_t i = 0; compiled[i] != NULL; i++) {
        tio__loop_set_backend(loop, compiled[i]);
        rc = compiled[i]->create(loop, cfg);
        if (rc != TIO_ENOTSUP)
            return rc; /* 0, or a failure that the next backend would share */
    }
    return rc;
}
