/* SPDX-License-Identifier: MIT */
/*
 * tio-fuzz-replay: the model-based fuzzer without libFuzzer, for `make test`
 * (CTest fuzz.replay) and for any compiler.
 *
 *   tio-fuzz-replay [--seconds S] [--seeds N] [--seed-base B] [--repeat R] PATH...
 *
 * Runs LLVMFuzzerTestOneInput (fuzz.c) once over every file in each PATH
 * (a file, or a directory read in name order: the committed seed corpus and
 * its regress-* inputs; a regress-* input runs R times, default 100, since
 * some reproduce a race in a few percent of runs), then over pseudo-random
 * inputs made from the fixed
 * seeds B+1 .. B+N (default 1..100000) until S seconds (default 20) have
 * passed since the start, so a run is bounded in time and every run replays
 * the same inputs in the same order. A divergence aborts with the model's
 * message and the name of the input (a corpus file, or "seed K"); rerun
 * with `--seeds 1 --seed-base K-1` and TIO_FUZZ_TRACE=1 to see its steps.
 * Each file runs three times, under TIO_FUZZ_SUBMIT_BATCH 0, 1 and a (see
 * fuzz.c); the random inputs let their hash pick one.
 * A watchdog aborts if one input runs longer than 60 s (a hang).
 */
#include "fuzz.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../tio_util.h" /* now_ns */

#define HANG_NS (60LL * 1000000000LL)
#define MAX_INPUT_BYTES 4096u

static _Atomic long long g_started_ns; /* 0: between inputs */
static char g_current[512];

static void *watchdog(void *arg)
{
    (void)arg;
    for (;;) {
        sleep(1);
        long long s = atomic_load(&g_started_ns);
        if (s != 0 && now_ns() - s > HANG_NS) {
            fprintf(stderr, "tio-fuzz-replay: input %s still running after %lld s: hang\n",
                    g_current, HANG_NS / 1000000000LL);
            abort();
        }
    }
    return NULL;
}

/* A divergence is an abort() in fuzz.c: say which input it was. */
static void on_abort(int sig)
{
    static const char msg[] = "tio-fuzz-replay: the failing input is ";
    ssize_t w = write(2, msg, sizeof msg - 1);
    w = write(2, g_current, strnlen(g_current, sizeof g_current));
    w = write(2, "\n", 1);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

static void run_one(const char *name, const uint8_t *data, size_t size)
{
    const char *batch = getenv("TIO_FUZZ_SUBMIT_BATCH");
    snprintf(g_current, sizeof g_current, "%s%s%s", name,
             batch ? " with TIO_FUZZ_SUBMIT_BATCH=" : "", batch ? batch : "");
    atomic_store(&g_started_ns, now_ns());
    LLVMFuzzerTestOneInput(data, size);
    atomic_store(&g_started_ns, 0);
}

static unsigned g_repeat = 100;

static int run_file(const char *path)
{
    static uint8_t buf[1u << 20];
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    unsigned times = strncmp(base, "regress-", 8) == 0 ? g_repeat : 1;
    static const char *const batches[] = {"0", "1", "a"};
    for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
        setenv("TIO_FUZZ_SUBMIT_BATCH", batches[b], 1);
        for (unsigned i = 0; i < times; i++)
            run_one(path, buf, n);
    }
    unsetenv("TIO_FUZZ_SUBMIT_BATCH");
    return 1;
}

static int only_files(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

/* Every file of a directory in name order, or the file itself. */
static long run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return run_file(path);
    struct dirent **names;
    int n = scandir(path, &names, only_files, alphasort);
    if (n < 0) {
        perror(path);
        return -1;
    }
    long ran = 0;
    for (int i = 0; i < n; i++) {
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, names[i]->d_name);
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && run_file(full) > 0)
            ran++;
        free(names[i]);
    }
    free(names);
    return ran;
}

/* xorshift64*: the same bytes for a seed on every platform. */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

static void random_input(uint64_t seed, uint8_t *buf, size_t *size)
{
    uint64_t s = seed * UINT64_C(0x9E3779B97F4A7C15) + 1;
    size_t ops = 8 + (size_t)(next_rand(&s) % 120);
    *size = 2 + 4 * ops;
    for (size_t i = 0; i < *size; i++)
        buf[i] = (uint8_t)(next_rand(&s) >> 56);
}

int main(int argc, char **argv)
{
    double seconds = 20;
    unsigned long long seeds = 100000, base = 0;
    int first = 1;
    for (; first < argc && strncmp(argv[first], "--", 2) == 0; first += 2) {
        if (first + 1 >= argc)
            break;
        if (strcmp(argv[first], "--seconds") == 0)
            seconds = atof(argv[first + 1]);
        else if (strcmp(argv[first], "--seeds") == 0)
            seeds = strtoull(argv[first + 1], NULL, 10);
        else if (strcmp(argv[first], "--seed-base") == 0)
            base = strtoull(argv[first + 1], NULL, 10);
        else if (strcmp(argv[first], "--repeat") == 0)
            g_repeat = (unsigned)strtoul(argv[first + 1], NULL, 10);
        else
            break;
    }
    if (first < argc && strncmp(argv[first], "--", 2) == 0) {
        fprintf(stderr,
                "usage: %s [--seconds S] [--seeds N] [--seed-base B] [--repeat R] "
                "PATH...\n",
                argv[0]);
        return 2;
    }
    LLVMFuzzerInitialize(&argc, &argv);
    signal(SIGABRT, on_abort);
    pthread_t wd;
    if (pthread_create(&wd, NULL, watchdog, NULL) == 0)
        pthread_detach(wd);

    long long t0 = now_ns();
    long corpus = 0;
    for (int i = first; i < argc; i++) {
        long n = run_path(argv[i]);
        if (n < 0)
            return 1;
        corpus += n;
    }
    unsigned long long done = 0;
    static uint8_t buf[MAX_INPUT_BYTES];
    while (done < seeds && (double)(now_ns() - t0) < seconds * 1e9) {
        size_t size;
        char name[64];
        random_input(base + done + 1, buf, &size);
        snprintf(name, sizeof name, "seed %llu", base + done + 1);
        run_one(name, buf, size);
        done++;
    }
    printf("tio-fuzz-replay: %ld corpus inputs, %llu random inputs (seeds %llu..%llu), %.1f s, "
           "no divergence\n",
           corpus, done, base + 1, base + done, (double)(now_ns() - t0) / 1e9);
    return 0;
}
