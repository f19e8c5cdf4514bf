// SPDX-License-Identifier: MIT
/*
 * Read a log written by examples/wal.c after a simulated crash and check it:
 * records from offset 0, in sequence order, each intact (its CRC-32 and its
 * payload, a function of its sequence number, as wal.c writes them), up to
 * the first block that is not a record. The record format is wal.c's.
 *
 *   tio-walcheck PATH [EXPECTED]
 *
 * With EXPECTED (the records wal.c acknowledged: it exits 0 only after all
 * of them were), fewer intact records is a failure: an acknowledged record
 * was lost. Prints the number of intact records. Plain POSIX I/O: the
 * checker must not depend on what it checks.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_MAGIC 0x57414c31u
#define MAX_PAYLOAD 256u

typedef struct rec_header {
    uint32_t magic, len;
    uint64_t seq;
    uint32_t writer, crc;
} rec_header;

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

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33, x *= 0xff51afd7ed558ccdull, x ^= x >> 33;
    return x;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s PATH [EXPECTED]\n", argv[0]);
        return 2;
    }
    long long expected = argc == 3 ? atoll(argv[2]) : -1;
    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(argv[1]);
        return 1;
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + sizeof(rec_header));
    if (buf == NULL)
        return 1;
    size_t got = 0;
    while (got < size) {
        ssize_t n = pread(fd, buf + got, size - got, (off_t)got);
        if (n <= 0) {
            perror("pread");
            return 1;
        }
        got += (size_t)n;
    }
    memset(buf + size, 0, sizeof(rec_header));
    close(fd);

    uint64_t seq = 0;
    size_t pos = 0;
    int damaged = 0;
    char payload[MAX_PAYLOAD];
    for (rec_header h; pos + sizeof h <= size; seq++) {
        memcpy(&h, buf + pos, sizeof h);
        if (h.magic != REC_MAGIC)
            break;
        uint32_t want_len = 8 + (uint32_t)(mix(seq) % (MAX_PAYLOAD - 8));
        rec_header z = h;
        z.crc = 0;
        if (h.seq != seq || h.len != want_len || pos + sizeof h + h.len > size ||
            h.crc != crc32(crc32(0, &z, sizeof z), buf + pos + sizeof h, h.len)) {
            fprintf(stderr, "walcheck: record %llu at offset %zu is damaged\n",
                    (unsigned long long)seq, pos);
            damaged = 1;
            break;
        }
        uint64_t x = h.seq + 1;
        for (uint32_t i = 0; i < h.len; i++)
            payload[i] = (char)(x = mix(x + i));
        if (memcmp(payload, buf + pos + sizeof h, h.len) != 0) {
            fprintf(stderr, "walcheck: record %llu: wrong payload\n", (unsigned long long)seq);
            damaged = 1;
            break;
        }
        pos += sizeof h + h.len;
    }
    free(buf);
    printf("walcheck: %s: %llu intact records (%zu bytes of %zu)%s\n", argv[1],
           (unsigned long long)seq, pos, size, expected >= 0 ? "" : ", none promised");
    if (expected >= 0 && (long long)seq < expected) {
        fprintf(stderr, "walcheck: %lld acknowledged records LOST (%lld acknowledged)\n",
                expected - (long long)seq, expected);
        return 1;
    }
    return damaged ? 1 : 0;
}
