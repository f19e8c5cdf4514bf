/* SPDX-License-Identifier: MIT */
/*
 * libtio-fio.so: an fio external ioengine on the taskio API.
 *
 *   fio --ioengine=external:/path/to/libtio-fio.so --tio_backend=io_uring ...
 *
 * One tio loop per fio job (thread or process), created in ->init on the
 * job's own thread, which is the thread every later call comes from (the
 * engine refuses io_submit_mode=offload: FIO_NO_OFFLOAD). Each io_u owns one
 * tio_task, handed out in ->io_u_init from an array allocated in ->init, so
 * nothing is allocated per I/O.
 *
 *   ->queue      tio_read / tio_write / tio_fsync; FIO_Q_QUEUED. A call the
 *                library rejects (e.g. misaligned direct I/O) completes the
 *                io_u at once with the error (FIO_Q_COMPLETED).
 *   ->commit     tio_run(loop, 0): hands the queued batch to the backend (one
 *                io_uring_enter for the io_uring backend) and reaps whatever
 *                is already complete.
 *   ->getevents  tio_run until at least `min` completions are waiting (or
 *                the timeout passed); returns at most `max` of them.
 *   ->event      the completed io_u, with ->error (positive errno) or
 *                ->resid (short transfer) set.
 *   ->open_file  tio_file_open, honouring direct= (TIO_DIRECT), sync=
 *                (TIO_DSYNC) and allow_create; f->fd is the descriptor, so
 *                fio's own cache invalidation and fadvise work on it.
 *
 * Engine options (fio --enghelp=/path/to/libtio-fio.so lists them):
 *   tio_backend=auto|io_uring|threads   (auto: $TIO_BACKEND, else the first
 *                                        backend that initialises)
 *   tio_threads=N         worker threads of the threads backend (0: taskio's
 *                         default, 4)
 *   tio_queue_depth=N     the loop's queue depth (0: max(iodepth, 256))
 *   tio_verbose=1         print the backend each job runs on, and how each
 *                         file was opened (direct, alignment, dsync)
 *
 * Built against the fio source of the installed fio version (see
 * CMakeLists.txt), so FIO_IOOPS_VERSION and the struct layouts match.
 */
/* fio's headers, built with fio's own -Wall but not -Wextra, define four
 * inline functions with unused parameters (arch-x86-common.h, os-linux.h,
 * debug.h). Only that warning, only for fio's headers; everything else of
 * -Wall -Wextra -Werror applies to them and to this file. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "fio.h"
#include "optgroup.h"
#pragma GCC diagnostic pop

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "taskio.h"

enum { TFIO_BACKEND_AUTO = 0, TFIO_BACKEND_IO_URING, TFIO_BACKEND_THREADS };

struct tfio_options {
    void *pad; /* fio treats off1 == 0 as "no offset": keep real fields off 0 */
    unsigned int backend;
    unsigned int threads;
    unsigned int queue_depth;
    unsigned int verbose;
};

static struct fio_option tfio_opts[] = {
    {
        .name = "tio_backend",
        .lname = "taskio backend",
        .type = FIO_OPT_STR,
        .off1 = offsetof(struct tfio_options, backend),
        .help = "taskio backend the job's loop runs on",
        .def = "auto",
        .category = FIO_OPT_C_ENGINE,
        .group = FIO_OPT_G_INVALID,
        .posval =
            {
                {.ival = "auto",
                 .oval = TFIO_BACKEND_AUTO,
                 .help = "$TIO_BACKEND, else the first backend that initialises"},
                {.ival = "io_uring", .oval = TFIO_BACKEND_IO_URING, .help = "Linux io_uring"},
                {.ival = "threads",
                 .oval = TFIO_BACKEND_THREADS,
                 .help = "worker threads running pread/pwrite"},
            },
    },
    {
        .name = "tio_threads",
        .lname = "taskio worker threads",
        .type = FIO_OPT_INT,
        .off1 = offsetof(struct tfio_options, threads),
        .help = "Worker threads of the threads backend (0: taskio default)",
        .def = "0",
        .minval = 0,
        .maxval = 1024,
        .category = FIO_OPT_C_ENGINE,
        .group = FIO_OPT_G_INVALID,
    },
    {
        .name = "tio_queue_depth",
        .lname = "taskio loop queue depth",
        .type = FIO_OPT_INT,
        .off1 = offsetof(struct tfio_options, queue_depth),
        .help = "Queue depth of the job's tio loop (0: max(iodepth, 256))",
        .def = "0",
        .minval = 0,
        .maxval = 32768,
        .category = FIO_OPT_C_ENGINE,
        .group = FIO_OPT_G_INVALID,
    },
    {
        .name = "tio_verbose",
        .lname = "taskio verbose",
        .type = FIO_OPT_BOOL,
        .off1 = offsetof(struct tfio_options, verbose),
        .help = "Print each job's backend and how each file was opened",
        .def = "0",
        .category = FIO_OPT_C_ENGINE,
        .group = FIO_OPT_G_INVALID,
    },
    {
        .name = NULL,
    },
};

struct tfio_data;

struct tfio_req {
    tio_task task; /* task.data points back at this request */
    struct io_u *io_u;
    struct tfio_data *d;
};

struct tfio_data {
    tio_loop *loop;
    struct tfio_req *reqs; /* one per io_u */
    unsigned nreqs;
    unsigned nassigned;
    /* Completed io_us, in completion order: a ring of `cap` entries.
     * ->getevents hands out the first `handed` of them, ->event(i) reads
     * them, and the next ->getevents drops them. */
    struct io_u **done;
    unsigned cap;
    unsigned head;
    unsigned count;
    unsigned handed;
    /* io_us queued since the last commit: handed to the backend by the next
     * tio_run, which is when their issue_time is taken (as fio's io_uring
     * engine does, FIO_ASYNCIO_SETS_ISSUE_TIME). */
    struct io_u **queued;
    unsigned nqueued;
};

static int tfio_errno(const tio_task *task, int64_t code)
{
    switch ((int)code) {
    case TIO_EINVAL: return EINVAL;
    case TIO_EBUSY: return EBUSY;
    case TIO_ENOENT: return ENOENT;
    case TIO_ECANCELED: return ECANCELED;
    case TIO_ETIMEDOUT: return ETIMEDOUT;
    case TIO_EACCES: return EACCES;
    case TIO_EEXIST: return EEXIST;
    case TIO_EBADF: return EBADF;
    case TIO_ENOSPC: return ENOSPC;
    case TIO_EIO: return EIO;
    case TIO_ENOMEM: return ENOMEM;
    case TIO_ENOTSUP: return EOPNOTSUPP;
    case TIO_EPIPE: return EPIPE;
    case TIO_EISDIR: return EISDIR;
    case TIO_EROFS: return EROFS;
    case TIO_EFBIG: return EFBIG;
    default: {
        /* TIO_EOTHER: the raw errno, when the task has one. */
        int os = task ? tio_os_error(task) : 0;
        return os > 0 ? os : EIO;
    }
    }
}

static void tfio_done(tio_task *task, int64_t result)
{
    struct tfio_req *r = task->data;
    struct tfio_data *d = r->d;
    struct io_u *io_u = r->io_u;

    if (result < 0) {
        io_u->error = tfio_errno(task, result);
    } else if (ddir_rw(io_u->ddir) && (unsigned long long)result < io_u->xfer_buflen) {
        io_u->resid = io_u->xfer_buflen - (unsigned long long)result;
    }
    /* At most one entry per io_u is ever waiting, and cap >= 2 * nreqs. */
    d->done[(d->head + d->count) % d->cap] = io_u;
    d->count++;
}

static enum fio_q_status tfio_queue(struct thread_data *td, struct io_u *io_u)
{
    struct tfio_data *d = td->io_ops_data;
    struct tfio_req *r = io_u->engine_data;
    tio_file *f = FILE_ENG_DATA(io_u->file);
    int rc;

    fio_ro_check(td, io_u);

    switch (io_u->ddir) {
    case DDIR_READ:
        rc = tio_read(d->loop, &r->task, f, io_u->xfer_buf, io_u->xfer_buflen, io_u->offset,
                      tfio_done);
        break;
    case DDIR_WRITE:
        rc = tio_write(d->loop, &r->task, f, io_u->xfer_buf, io_u->xfer_buflen, io_u->offset,
                       tfio_done);
        break;
    case DDIR_SYNC: rc = tio_fsync(d->loop, &r->task, f, 0, tfio_done); break;
    case DDIR_DATASYNC:
    case DDIR_SYNC_FILE_RANGE: /* no range sync in taskio: the whole file's data */
        rc = tio_fsync(d->loop, &r->task, f, TIO_FSYNC_DATA, tfio_done);
        break;
    default: /* trim: taskio has no discard */ io_u->error = EOPNOTSUPP; return FIO_Q_COMPLETED;
    }
    if (rc < 0) {
        io_u->error = tfio_errno(NULL, rc);
        return FIO_Q_COMPLETED;
    }
    d->queued[d->nqueued++] = io_u;
    return FIO_Q_QUEUED;
}

/* The queued io_us are about to be handed to the backend (by the caller's
 * next tio_run): stamp their issue time and count the submission. */
static void tfio_submitting(struct thread_data *td, struct tfio_data *d)
{
    if (d->nqueued == 0)
        return;
    if (fio_fill_issue_time(td)) {
        struct timespec now;
        fio_gettime(&now, NULL);
        for (unsigned i = 0; i < d->nqueued; i++)
            d->queued[i]->issue_time = now;
    }
    io_u_mark_submit(td, d->nqueued);
    d->nqueued = 0;
}

static int tfio_commit(struct thread_data *td)
{
    struct tfio_data *d = td->io_ops_data;

    if (d->nqueued == 0)
        return 0;
    tfio_submitting(td, d);
    int rc = tio_run(d->loop, 0);
    return rc < 0 ? -tfio_errno(NULL, rc) : 0;
}

static int64_t tfio_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int tfio_getevents(struct thread_data *td, unsigned int min, unsigned int max,
                          const struct timespec *t)
{
    struct tfio_data *d = td->io_ops_data;
    int64_t deadline = -1;

    /* The events handed out last time have been consumed by now. */
    d->head = (d->head + d->handed) % d->cap;
    d->count -= d->handed;
    d->handed = 0;

    if (t)
        deadline = tfio_now_ns() + (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
    /* fio skips ->commit when min == 0: io_us may still be queued here. */
    int unsubmitted = d->nqueued > 0;
    tfio_submitting(td, d);

    if (min == 0 && (d->count == 0 || unsubmitted)) {
        int rc = tio_run(d->loop, 0);
        if (rc < 0)
            return -tfio_errno(NULL, rc);
    }
    while (d->count < min && tio_pending(d->loop) > 0) {
        int64_t wait = TIO_FOREVER;
        if (deadline >= 0) {
            wait = deadline - tfio_now_ns();
            if (wait < 0)
                wait = 0;
        }
        int rc = tio_run(d->loop, wait);
        if (rc < 0)
            return -tfio_errno(NULL, rc);
        if (wait == 0)
            break;
    }
    d->handed = d->count < max ? d->count : max;
    return (int)d->handed;
}

static struct io_u *tfio_event(struct thread_data *td, int event)
{
    struct tfio_data *d = td->io_ops_data;
    return d->done[(d->head + (unsigned)event) % d->cap];
}

static void tfio_cleanup(struct thread_data *td)
{
    struct tfio_data *d = td->io_ops_data;

    if (d == NULL)
        return;
    if (d->loop)
        tio_loop_destroy(d->loop); /* cancels and reaps anything still pending */
    free(d->reqs);
    free(d->done);
    free(d->queued);
    free(d);
    td->io_ops_data = NULL;
}

static int tfio_init(struct thread_data *td)
{
    struct tfio_options *o = td->eo;
    struct tfio_data *d = calloc(1, sizeof *d);
    static const char *const names[] = {NULL, "io_uring", "threads"};

#ifdef TFIO_FIO_VERSION
    if (strcmp(fio_version_string, TFIO_FIO_VERSION) != 0) {
        log_err("fio: taskio: this engine was built against the headers of %s, but this "
                "is %s: rebuild it (the build fetches the matching fio source)\n",
                TFIO_FIO_VERSION, fio_version_string);
        td_verror(td, EINVAL, "tio init");
        free(d);
        return 1;
    }
#endif
    if (d == NULL) {
        td_verror(td, ENOMEM, "tio init");
        return 1;
    }
    td->io_ops_data = d;
    d->nreqs = td->o.iodepth ? td->o.iodepth : 1;
    d->cap = 2 * d->nreqs;
    d->reqs = calloc(d->nreqs, sizeof *d->reqs);
    d->done = calloc(d->cap, sizeof *d->done);
    d->queued = calloc(d->nreqs, sizeof *d->queued);
    if (d->reqs == NULL || d->done == NULL || d->queued == NULL) {
        td_verror(td, ENOMEM, "tio init");
        tfio_cleanup(td);
        return 1;
    }

    tio_loop_config cfg = {0, 0, NULL, 0};
    cfg.queue_depth = o->queue_depth;
    if (cfg.queue_depth == 0 && td->o.iodepth > 256)
        cfg.queue_depth = td->o.iodepth;
    cfg.threads = o->threads;
    cfg.backend = o->backend < sizeof names / sizeof names[0] ? names[o->backend] : NULL;
    int rc = tio_loop_create(&d->loop, &cfg);
    if (rc < 0) {
        if (rc == TIO_ENOTSUP && cfg.backend)
            log_err("fio: taskio: backend %s is not available here: %s\n", cfg.backend,
                    tio_last_error(NULL));
        else
            log_err("fio: taskio: tio_loop_create(backend %s) failed: %s: %s\n",
                    cfg.backend ? cfg.backend : "auto", tio_strerror(rc), tio_last_error(NULL));
        td_verror(td, tfio_errno(NULL, rc), "tio_loop_create");
        d->loop = NULL;
        tfio_cleanup(td);
        return 1;
    }
    if (o->verbose)
        log_info("fio: taskio: job %s runs on the %s backend\n", td->o.name,
                 tio_loop_backend(d->loop));
    return 0;
}

static int tfio_io_u_init(struct thread_data *td, struct io_u *io_u)
{
    struct tfio_data *d = td->io_ops_data;

    if (d->nassigned >= d->nreqs) {
        log_err("fio: taskio: more io_us than iodepth (%u)\n", d->nreqs);
        return 1;
    }
    struct tfio_req *r = &d->reqs[d->nassigned++];
    r->task.data = r;
    r->io_u = io_u;
    r->d = d;
    io_u->engine_data = r;
    return 0;
}

static int tfio_open_file(struct thread_data *td, struct fio_file *f)
{
    struct tfio_data *d = td->io_ops_data;
    unsigned flags;
    tio_file *tf;

    if (d == NULL || d->loop == NULL) {
        log_err("fio: taskio: open of %s before the engine's init\n", f->file_name);
        td_verror(td, EINVAL, "tio open");
        return 1;
    }
    if (td_write(td) || td_trim(td)) {
        flags = read_only ? TIO_RDONLY : TIO_RDWR;
        if (f->filetype == FIO_TYPE_FILE && td->o.allow_create)
            flags |= TIO_CREATE;
    } else {
        flags = TIO_RDONLY;
    }
    if (td->o.odirect)
        flags |= TIO_DIRECT;
    if (td->o.sync_io)
        flags |= TIO_DSYNC;

    int rc = tio_file_open(d->loop, &tf, f->file_name, flags, 0644);
    if (rc < 0) {
        int e = tfio_errno(NULL, rc);
        /* EINVAL with direct= set makes fio add "destination does not
         * support O_DIRECT", which is what TIO_ENOTSUP means here. */
        if (rc == TIO_ENOTSUP && td->o.odirect)
            e = EINVAL;
        log_err("fio: taskio: %s\n", tio_last_error(d->loop));
        td_verror(td, e, "tio_file_open");
        return 1;
    }
    FILE_SET_ENG_DATA(f, tf);
    f->fd = tio_file_handle(tf);
    if (((struct tfio_options *)td->eo)->verbose)
        log_info("fio: taskio: opened %s: direct=%d align=%zu dsync=%d (%s backend)\n",
                 f->file_name, tio_file_is_direct(tf), tio_file_align(tf), (flags & TIO_DSYNC) != 0,
                 tio_loop_backend(d->loop));
    return 0;
}

static int tfio_close_file(struct thread_data *td, struct fio_file *f)
{
    tio_file *tf = FILE_ENG_DATA(f);
    int rc = 0;

    (void)td;
    if (tf) {
        rc = tio_file_close(tf);
        if (rc == TIO_EBUSY) /* fio closes only files without I/O in flight */
            return EBUSY;
        FILE_SET_ENG_DATA(f, NULL);
    }
    f->fd = -1;
    return rc < 0 ? tfio_errno(NULL, rc) : 0;
}

/* fio looks the engine up by the symbol name "ioengine". */
__attribute__((visibility("default"))) struct ioengine_ops ioengine = {
    .name = "taskio",
    .version = FIO_IOOPS_VERSION,
    .flags = FIO_NO_OFFLOAD | FIO_ASYNCIO_SETS_ISSUE_TIME,
    .init = tfio_init,
    .queue = tfio_queue,
    .commit = tfio_commit,
    .getevents = tfio_getevents,
    .event = tfio_event,
    .cleanup = tfio_cleanup,
    .open_file = tfio_open_file,
    .close_file = tfio_close_file,
    .get_file_size = generic_get_file_size,
    .io_u_init = tfio_io_u_init,
    .options = tfio_opts,
    .option_struct_size = sizeof(struct tfio_options),
};
