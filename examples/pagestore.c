/* SPDX-License-Identifier: MIT */
/*
 * A page store: a file of slots, each a header block (page number and
 * checksum, one tio_file_align unit) followed by a 4096-byte page. Random
 * pages are then read at a fixed queue depth straight into a pool of frames
 * registered with the loop: each read is one tio_readv of {header block,
 * frame} with a deadline, and each page is checked against its header.
 *
 *   example-pagestore [--backend NAME] [--pages N] [--reads N] [--depth N]
 *                     [--deadline-ms N] PATH
 *
 * PATH is created, or truncated. A read that misses its deadline is counted
 * and replaced by another. Exits 0 only if every step behaved as taskio.h
 * documents and every page read back matched its header.
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

#define PAGE_BYTES 4096u
#define PAGE_MAGIC 0x50414745u /* "PAGE" */
#define CREATE_BATCH 64u       /* slots per write while creating the file */

/* The start of a header block, in host byte order; the rest of the block is zero. */
typedef struct page_header {
    uint64_t page_no;
    uint32_t crc; /* CRC-32 of the page */
    uint32_t magic;
} page_header;

typedef struct store {
    tio_loop *loop;
    tio_file *file;
    size_t header_bytes, slot_bytes;
    uint64_t pages, reads, started, verified, misses, deadline_ns, rng;
    int failed;
    uint32_t crc_table[256];
} store;

/* One of the `depth` reads in flight, with its frame and header block from the pool. */
typedef struct reader {
    tio_task task;
    tio_buf segs[2]; /* {header block, page frame} */
    uint64_t page;
    store *s;
} reader;

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

static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17; /* xorshift64 */
    return *x;
}

static uint32_t crc32(const uint32_t table[256], const unsigned char *p, size_t len)
{
    uint32_t crc = ~0u;
    while (len--)
        crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* Page n's contents, and its header block. */
static void make_slot(const store *s, uint64_t n, unsigned char *header, unsigned char *page)
{
    uint64_t x = n * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < PAGE_BYTES; i += 8) {
        uint64_t v = next_random(&x);
        memcpy(page + i, &v, 8);
    }
    page_header h = {n, crc32(s->crc_table, page, PAGE_BYTES), PAGE_MAGIC};
    memset(header, 0, s->header_bytes);
    memcpy(header, &h, sizeof h);
}

static void fail(store *s, const char *step, int64_t result)
{
    const char *why = tio_last_error(s->loop); /* explains a refused call; "" after a callback */
    fprintf(stderr, "%s: %s%s%s\n", step, tio_strerror((int)result), *why ? ". " : "", why);
    s->failed = 1; /* no new reads start: the loop drains */
}

static void on_read(tio_task *task, int64_t result);

static void start_read(reader *r)
{
    store *s = r->s;
    if (s->failed || s->started == s->reads)
        return;
    s->started++;
    r->page = next_random(&s->rng) % s->pages;
    int rc = tio_readv(s->loop, &r->task, s->file, r->segs, 2, r->page * s->slot_bytes, on_read);
    if (rc == 0 && (rc = tio_timeout(s->loop, &r->task, s->deadline_ns)) < 0)
        tio_cancel(s->loop, &r->task); /* cannot happen: the read was just accepted */
    if (rc < 0)
        fail(s, "readv", rc);
}

static void on_read(tio_task *task, int64_t result)
{
    reader *r = task->data;
    store *s = r->s;
    page_header h;
    memcpy(&h, r->segs[0].base, sizeof h);
    if (result == TIO_ETIMEDOUT) {
        s->misses++, s->started--; /* a miss is the deadline working: read another page */
    } else if (result != (int64_t)s->slot_bytes) {
        fail(s, "readv result", result < 0 ? result : TIO_EIO);
        return;
    } else if (h.magic != PAGE_MAGIC || h.page_no != r->page ||
               h.crc != crc32(s->crc_table, r->segs[1].base, PAGE_BYTES)) {
        fprintf(stderr, "page %llu: header says page %llu, magic %#x, crc %#x\n",
                (unsigned long long)r->page, (unsigned long long)h.page_no, (unsigned)h.magic,
                (unsigned)h.crc);
        s->failed = 1;
        return;
    } else {
        s->verified++;
    }
    start_read(r);
}

static void on_step(tio_task *task, int64_t result)
{
    (void)task, (void)result;
}

/* Write every slot, CREATE_BATCH at a time, each batch as one write. */
static int create_store(store *s)
{
    tio_task t = TIO_TASK_INIT;
    unsigned char *batch = tio_alloc(CREATE_BATCH * s->slot_bytes, 0);
    int ok = batch != NULL;
    for (uint64_t first = 0; ok && first < s->pages; first += CREATE_BATCH) {
        uint64_t n = s->pages - first < CREATE_BATCH ? s->pages - first : CREATE_BATCH;
        for (uint64_t i = 0; i < n; i++) {
            unsigned char *slot = batch + i * s->slot_bytes;
            make_slot(s, first + i, slot, slot + s->header_bytes);
        }
        size_t len = (size_t)n * s->slot_bytes;
        int rc = tio_write(s->loop, &t, s->file, batch, len, first * s->slot_bytes, on_step);
        int64_t got = rc < 0 ? rc : tio_wait(s->loop, &t, TIO_FOREVER);
        if (got != (int64_t)len) {
            fail(s, "write", got < 0 ? got : TIO_EIO);
            ok = 0;
        }
    }
    tio_free(batch);
    return ok;
}

int main(int argc, char **argv)
{
    store s = {0};
    tio_loop_config cfg = {0};
    const char *path = NULL;
    unsigned depth = 16, deadline_ms = 1000;
    unsigned char *frames = NULL, *headers = NULL;
    reader *readers = NULL;
    int ok = 0;
    s.pages = 4096, s.reads = 20000, s.rng = 88172645463325252ull;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc)
            cfg.backend = argv[++i];
        else if (strcmp(argv[i], "--pages") == 0 && i + 1 < argc)
            s.pages = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--reads") == 0 && i + 1 < argc)
            s.reads = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--depth") == 0 && i + 1 < argc)
            depth = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--deadline-ms") == 0 && i + 1 < argc)
            deadline_ms = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && path == NULL)
            path = argv[i];
        else
            path = NULL, i = argc;
    }
    if (path == NULL || s.pages - 1 >= (1u << 20) || depth - 1 >= 1024 || deadline_ms == 0) {
        fprintf(stderr,
                "usage: %s [--backend NAME] [--pages 1..1048576] [--reads N] "
                "[--depth 1..1024] [--deadline-ms N] PATH\n",
                argv[0]);
        return 2;
    }
    s.deadline_ns = (uint64_t)deadline_ms * 1000000u;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
        s.crc_table[i] = c;
    }
    int rc = tio_loop_create(&s.loop, &cfg);
    if (rc < 0) {
        fprintf(stderr, "loop: %s. %s\n", tio_strerror(rc), tio_last_error(NULL));
        return 1;
    }
    rc = tio_file_open(s.loop, &s.file, path, TIO_RDWR | TIO_CREATE | TIO_TRUNCATE | TIO_DIRECT_TRY,
                       0644);
    if (rc < 0) {
        fail(&s, path, rc);
        goto out;
    }
    /* One alignment unit holds the header and keeps the page behind it
     * aligned; a buffered file (alignment 1) still gets a whole sector. */
    size_t align = tio_file_align(s.file);
    s.header_bytes = align < 512 ? 512 : align;
    s.slot_bytes = s.header_bytes + PAGE_BYTES;
    if (PAGE_BYTES % align != 0) {
        fprintf(stderr, "alignment %zu is over the page size\n", align);
        goto out;
    }
    uint64_t start = now_ns();
    if (!create_store(&s))
        goto out;
    printf("%s backend, %s I/O: %llu slots of %zu + %u bytes written in %.0f ms\n",
           tio_loop_backend(s.loop), tio_file_is_direct(s.file) ? "direct" : "buffered",
           (unsigned long long)s.pages, s.header_bytes, PAGE_BYTES,
           (double)(now_ns() - start) / 1e6);

    /* The pool: one frame and one header block per read in flight, in two
     * allocations registered once (io_uring pins them once, not per read). */
    frames = tio_alloc((size_t)depth * PAGE_BYTES, 0);
    headers = tio_alloc((size_t)depth * s.header_bytes, 0);
    readers = calloc(depth, sizeof *readers);
    if (frames == NULL || headers == NULL || readers == NULL) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    tio_buf pool[2] = {{frames, (size_t)depth * PAGE_BYTES},
                       {headers, (size_t)depth * s.header_bytes}};
    if ((rc = tio_register_buffers(s.loop, pool, 2)) < 0) {
        fail(&s, "register buffers", rc);
        goto out;
    }
    start = now_ns();
    for (unsigned i = 0; i < depth; i++) {
        reader *r = &readers[i];
        r->s = &s, r->task.data = r;
        r->segs[0] = (tio_buf){headers + (size_t)i * s.header_bytes, s.header_bytes};
        r->segs[1] = (tio_buf){frames + (size_t)i * PAGE_BYTES, PAGE_BYTES};
        start_read(r);
    }
    tio_drain(s.loop); /* each completion starts the next read until s.reads are done */
    double seconds = (double)(now_ns() - start) / 1e9;
    if (s.failed || s.verified != s.reads) {
        fprintf(stderr, "stopped after %llu of %llu reads\n", (unsigned long long)s.verified,
                (unsigned long long)s.reads);
        goto out;
    }
    printf("%llu random page reads at depth %u: %.0f reads/s, %llu deadline misses "
           "(deadline %u ms), every page matched its header\n",
           (unsigned long long)s.reads, depth, (double)s.reads / seconds,
           (unsigned long long)s.misses, deadline_ms);
    ok = 1;

out:
    /* Destroying the loop drops the registration before the pool is freed. */
    tio_loop_destroy(s.loop);
    tio_free(frames);
    tio_free(headers);
    free(readers);
    return ok ? 0 : 1;
}
