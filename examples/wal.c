/* SPDX-License-Identifier: MIT */
/*
 * A write-ahead log with group commit.
 *
 * Writers (simulated clients on the one loop) each append a record, wait for
 * its commit callback, then append the next. Every record appended while the
 * log's previous write is in flight joins the next group, and a group is one
 * aligned write to a TIO_DSYNC file (with --fsync: a plain write, then one
 * tio_fsync): one durable write per group instead of one per record. The log
 * is created durably, preallocated ahead of its end, and read back at the end:
 * every acknowledged record must be there, intact and in order.
 *
 *   example-wal [--backend NAME] [--fsync] [--writers N] [--records N] PATH
 *
 * PATH is created, or truncated. --records is per writer. Exits 0 only if
 * every step behaved as taskio.h documents and the log read back intact.
 */
#ifndef _WIN32
#  define _POSIX_C_SOURCE 200809L /* clock_gettime */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "taskio.h"

#ifdef _WIN32
#  include <windows.h>
#endif

#define REC_MAGIC 0x57414c31u /* "WAL1" */
#define MAX_PAYLOAD 256u
#define PREALLOC_BYTES (4u << 20) /* reserve the log this far ahead of its end */

/* In the file in host byte order: this log is read back by the same machine. */
typedef struct rec_header {
    uint32_t magic; /* REC_MAGIC; anything else (zeros: padding, reserved space) ends the log */
    uint32_t len;   /* payload bytes that follow */
    uint64_t seq;   /* 0, 1, 2, ... in log order */
    uint32_t writer;
    uint32_t crc; /* CRC-32 of the fields above (crc as 0) and the payload */
} rec_header;

typedef struct group {
    char *data; /* what the group's write sends; starts at an aligned file offset */
    uint64_t offset;
    size_t used;       /* bytes of records, including the previous group's partial block */
    unsigned count;    /* records appended in this group ... */
    unsigned *writers; /* ... and by whom: each writer has at most one record pending */
} group;

typedef struct writer {
    unsigned done;     /* records committed */
    uint64_t start_ns; /* when its pending record was appended */
} writer;

typedef struct wal {
    tio_loop *loop;
    tio_file *file;
    size_t align;
    int use_fsync, failed, can_allocate, allocating;
    tio_task write_task, sync_task, alloc_task;
    group groups[2], *active, *flushing; /* flushing: NULL when no write is in flight */
    uint64_t end, allocated, next_seq, ngroups, acked;
    writer *writers;
    unsigned nwriters, per_writer;
    uint64_t *latency_ns; /* one per committed record */
} wal;

static uint64_t now_ns(void)
{
#ifdef _WIN32
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (uint64_t)((double)c.QuadPart * 1e9 / (double)f.QuadPart);
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

static uint32_t crc32(uint32_t crc, const void *p, size_t len)
{
    const unsigned char *b = p;
    crc = ~crc;
    while (len--) {
        crc ^= *b++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

/* A record's payload is a function of its sequence number, so the reader can check it. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 33, x *= 0xff51afd7ed558ccdull, x ^= x >> 33;
    return x;
}
static uint32_t payload_len(uint64_t seq)
{
    return 8 + (uint32_t)(mix(seq) % (MAX_PAYLOAD - 8));
}

static uint32_t record_crc(const rec_header *h, const char *payload)
{
    rec_header z = *h;
    z.crc = 0;
    return crc32(crc32(0, &z, sizeof z), payload, h->len);
}

static size_t round_up(size_t n, size_t align)
{
    return (n + align - 1) / align * align;
}

static void fail(wal *log, const char *step, int64_t result)
{
    const char *why = tio_last_error(log->loop); /* explains a refused call; "" after a callback */
    fprintf(stderr, "%s: %s%s%s\n", step, tio_strerror((int)result), *why ? ". " : "", why);
    log->failed = 1; /* callbacks start nothing new: tio_drain then returns */
}

static void on_allocated(tio_task *task, int64_t result)
{
    wal *log = task->data;
    log->allocating = 0;
    if (result == 0) {
        log->allocated += PREALLOC_BYTES;
    } else if (result == TIO_ENOTSUP) { /* tmpfs, Wine: the log just grows with its writes */
        printf("tio_allocate: not supported here; the log grows without reserved space\n");
        log->can_allocate = 0;
    } else {
        fail(log, "allocate", result);
    }
}

/* Keep space reserved ahead of the end, so a write finds its blocks there
 * (no ENOSPC in the middle of a commit; on NTFS no synchronous extension). */
static void preallocate(wal *log)
{
    if (!log->can_allocate || log->allocating || log->failed ||
        log->end + PREALLOC_BYTES / 2 < log->allocated)
        return;
    int rc = tio_allocate(log->loop, &log->alloc_task, log->file, log->allocated, PREALLOC_BYTES, 0,
                          on_allocated);
    if (rc < 0)
        fail(log, "allocate", rc);
    log->allocating = rc == 0;
}

static void on_written(tio_task *task, int64_t result);

/* Write the active group, if it has records and no write is in flight. */
static void flush(wal *log)
{
    group *g = log->active, *next = &log->groups[g == &log->groups[0]];
    if (log->flushing != NULL || g->count == 0 || log->failed)
        return;
    size_t len = round_up(g->used, log->align);
    memset(g->data + g->used, 0, len - g->used); /* padding reads back as the end of the log */
    /* The group's last block is partly filled: the next group starts with a
     * copy of it and rewrites it with more records. A rewrite of one aligned
     * block cannot tear the acknowledged records in it on power loss, as
     * tio_stat_file's atomic_write is at least the alignment. */
    size_t keep = (size_t)((g->offset + g->used) % log->align);
    memcpy(next->data, g->data + g->used - keep, keep);
    next->offset = g->offset + g->used - keep, next->used = keep, next->count = 0;
    log->flushing = g, log->active = next;
    int rc = tio_write(log->loop, &log->write_task, log->file, g->data, len, g->offset, on_written);
    if (rc < 0)
        fail(log, "write", rc);
    preallocate(log);
}

static void append(wal *log, unsigned id)
{
    group *g = log->active;
    rec_header h = {REC_MAGIC, payload_len(log->next_seq), log->next_seq, id, 0};
    char *payload = g->data + g->used + sizeof h;
    uint64_t x = h.seq + 1;
    for (uint32_t i = 0; i < h.len; i++)
        payload[i] = (char)(x = mix(x + i));
    h.crc = record_crc(&h, payload);
    memcpy(g->data + g->used, &h, sizeof h);
    g->used += sizeof h + h.len, log->end += sizeof h + h.len, log->next_seq++;
    g->writers[g->count++] = id;
    log->writers[id].start_ns = now_ns();
    flush(log); /* at once if the log is idle; otherwise the record waits for the next group */
}

/* The group is durable: acknowledge its records. Each writer appends its next
 * one at once, into the active group, which is written when this returns. */
static void commit(wal *log)
{
    group *g = log->flushing;
    uint64_t now = now_ns();
    log->ngroups++;
    for (unsigned i = 0; i < g->count; i++) {
        writer *w = &log->writers[g->writers[i]];
        log->latency_ns[log->acked++] = now - w->start_ns;
        if (++w->done < log->per_writer)
            append(log, g->writers[i]);
    }
    log->flushing = NULL;
    flush(log);
}

static void on_synced(tio_task *task, int64_t result)
{
    wal *log = task->data;
    if (result != 0)
        fail(log, "fsync", result);
    else
        commit(log);
}

static void on_written(tio_task *task, int64_t result)
{
    wal *log = task->data;
    if (result != (int64_t)round_up(log->flushing->used, log->align))
        fail(log, "write", result < 0 ? result : TIO_EIO);
    else if (!log->use_fsync) /* TIO_DSYNC: the write's callback means durable */
        commit(log);
    else if ((result = tio_fsync(log->loop, &log->sync_task, log->file, TIO_FSYNC_DATA,
                                 on_synced)) < 0)
        fail(log, "fsync", result);
}

static void on_step(tio_task *task, int64_t result)
{
    (void)task, (void)result;
}

/* Wait for a step started by a call that returned rc; 1 if it succeeded. */
static int step(wal *log, const char *name, tio_task *task, int rc)
{
    int64_t got = rc < 0 ? rc : tio_wait(log->loop, task, TIO_FOREVER);
    if (got != 0)
        fail(log, name, got);
    return got == 0;
}

/* A durable create: the file, its reserved space and its size synced, then
 * its directory, which makes the new name itself durable. */
static int create_log(wal *log, const char *path)
{
    tio_task t = TIO_TASK_INIT;
    tio_file *dir = NULL;
    tio_stat st;
    char dirname[4096] = "."; /* the part of path before its last separator */
    const char *sep = strrchr(path, '/');
#ifdef _WIN32
    if (strrchr(path, '\\') > sep)
        sep = strrchr(path, '\\');
#endif
    if (sep != NULL)
        snprintf(dirname, sizeof dirname, "%.*s", sep == path ? 1 : (int)(sep - path), path);

    unsigned flags = TIO_RDWR | TIO_CREATE | TIO_TRUNCATE | TIO_DIRECT_TRY;
    if (!log->use_fsync)
        flags |= TIO_DSYNC;
    if (!step(log, path, &t, tio_open(log->loop, &t, &log->file, path, flags, 0644, on_step)))
        return 0;
    log->align = tio_file_align(log->file);
    if (!step(log, "stat", &t, tio_stat_file(log->loop, &t, log->file, &st, on_step)))
        return 0;
    printf("%s backend, %s I/O, alignment %zu, atomic write %u bytes, %s\n",
           tio_loop_backend(log->loop), tio_file_is_direct(log->file) ? "direct" : "buffered",
           log->align, (unsigned)st.atomic_write,
           log->use_fsync ? "write + fsync per group" : "TIO_DSYNC writes");
    preallocate(log); /* before the fsync, which then makes the new size durable too */
    if (log->allocating)
        tio_wait(log->loop, &log->alloc_task, TIO_FOREVER); /* on_allocated sees the result */
    if (log->failed)
        return 0;
    return step(log, "fsync", &t, tio_fsync(log->loop, &t, log->file, 0, on_step)) &&
           step(log, dirname, &t,
                tio_open(log->loop, &t, &dir, dirname, TIO_RDONLY | TIO_DIRECTORY, 0, on_step)) &&
           step(log, "fsync directory", &t, tio_fsync(log->loop, &t, dir, 0, on_step)) &&
           step(log, "close directory", &t, tio_close(log->loop, &t, dir, on_step));
}

/* Read the log back: every acknowledged record, in order, intact, and nothing after. */
static int verify(wal *log)
{
    tio_task t = TIO_TASK_INIT;
    size_t len = round_up((size_t)log->end + sizeof(rec_header), log->align), pos = 0;
    char *buf = tio_alloc(len, 0);
    uint64_t seq = 0;
    int ok = 0;
    if (buf == NULL) {
        fprintf(stderr, "verify: out of memory\n");
        return 0;
    }
    /* Past the end: the reserved space, or nothing (a read across end of file
     * gives the bytes that exist). */
    int rc = tio_read(log->loop, &t, log->file, buf, len, 0, on_step);
    int64_t got = rc < 0 ? rc : tio_wait(log->loop, &t, TIO_FOREVER);
    if (got < (int64_t)log->end) {
        fprintf(stderr, "read back: %lld (%s), the log has %llu bytes\n", (long long)got,
                tio_strerror((int)got), (unsigned long long)log->end);
        goto out;
    }
    for (rec_header h; pos + sizeof h <= (size_t)got; seq++) {
        memcpy(&h, buf + pos, sizeof h);
        if (h.magic != REC_MAGIC)
            break;
        if (h.seq != seq || h.len != payload_len(seq) || h.writer >= log->nwriters ||
            pos + sizeof h + h.len > (size_t)got || h.crc != record_crc(&h, buf + pos + sizeof h)) {
            fprintf(stderr, "record %llu at offset %zu is damaged\n", (unsigned long long)seq, pos);
            goto out;
        }
        pos += sizeof h + h.len;
    }
    if (seq != log->acked || pos != log->end) {
        fprintf(stderr, "read back %llu records (%zu bytes), acknowledged %llu (%llu bytes)\n",
                (unsigned long long)seq, pos, (unsigned long long)log->acked,
                (unsigned long long)log->end);
        goto out;
    }
    ok = 1;
out:
    tio_free(buf);
    return ok;
}

static int by_value(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    wal log = {0};
    tio_loop_config cfg = {0};
    const char *path = NULL;
    int ok = 0;
    log.nwriters = 32, log.per_writer = 200, log.can_allocate = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fsync") == 0)
            log.use_fsync = 1;
        else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
            cfg.backend = argv[++i];
        else if (strcmp(argv[i], "--writers") == 0 && i + 1 < argc)
            log.nwriters = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--records") == 0 && i + 1 < argc)
            log.per_writer = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && path == NULL)
            path = argv[i];
        else
            path = NULL, i = argc;
    }
    if (path == NULL || log.nwriters - 1 >= 10000 || log.per_writer - 1 >= 1000000) {
        fprintf(stderr,
                "usage: %s [--backend NAME] [--fsync] [--writers 1..10000] "
                "[--records 1..1000000] PATH\n",
                argv[0]);
        return 2;
    }
    int rc = tio_loop_create(&log.loop, &cfg);
    if (rc < 0) {
        fprintf(stderr, "loop: %s. %s\n", tio_strerror(rc), tio_last_error(NULL));
        return 1;
    }
    log.write_task.data = log.sync_task.data = log.alloc_task.data = &log;
    if (!create_log(&log, path))
        goto out;

    /* A group holds the previous group's partial block and at most one record per writer. */
    size_t total = (size_t)log.nwriters * log.per_writer;
    size_t cap = round_up(log.align + log.nwriters * (sizeof(rec_header) + MAX_PAYLOAD), log.align);
    log.writers = calloc(log.nwriters, sizeof *log.writers);
    log.latency_ns = calloc(total, sizeof *log.latency_ns);
    int have_memory = log.writers != NULL && log.latency_ns != NULL;
    for (int i = 0; i < 2; i++) {
        log.groups[i].data = tio_alloc(cap, log.align > 4096 ? log.align : 0);
        log.groups[i].writers = calloc(log.nwriters, sizeof *log.groups[i].writers);
        have_memory &= log.groups[i].data != NULL && log.groups[i].writers != NULL;
    }
    if (!have_memory) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }

    uint64_t start = now_ns();
    log.active = &log.groups[0];
    for (unsigned i = 0; i < log.nwriters; i++)
        append(&log, i);
    tio_drain(log.loop); /* each commit starts the next appends; a failure stops them */
    double seconds = (double)(now_ns() - start) / 1e9;
    if (log.failed || log.acked != total) {
        fprintf(stderr, "stopped after %llu of %zu records\n", (unsigned long long)log.acked,
                total);
        goto out;
    }
    qsort(log.latency_ns, total, sizeof *log.latency_ns, by_value);
    printf("%zu records from %u writers in %llu groups (%.1f records per group), "
           "%.0f records/s\n",
           total, log.nwriters, (unsigned long long)log.ngroups,
           (double)total / (double)log.ngroups, (double)total / seconds);
    printf("commit latency: p50 %.0f us, p99 %.0f us\n", (double)log.latency_ns[total / 2] / 1e3,
           (double)log.latency_ns[total * 99 / 100] / 1e3);
    if (!verify(&log))
        goto out;
    printf("read back %zu records (%llu bytes): every one intact, in order\n", total,
           (unsigned long long)log.end);
    tio_task t = TIO_TASK_INIT;
    ok = step(&log, "close", &t, tio_close(log.loop, &t, log.file, on_step));

out:
    tio_loop_destroy(log.loop); /* cancels anything a failure left pending, closes the file */
    for (int i = 0; i < 2; i++) {
        tio_free(log.groups[i].data);
        free(log.groups[i].writers);
    }
    free(log.writers);
    free(log.latency_ns);
    return ok ? 0 : 1;
}
