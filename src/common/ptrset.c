/* SPDX-License-Identifier: MIT */
/*
 * A set of pointers: open addressing, linear probing, deletion by backward
 * shift (no tombstones, so the table never needs rebuilding). For a
 * backend that must tell its own requests from anything else the OS hands
 * it (IOCP: a completion packet for an OVERLAPPED someone else issued on a
 * wrapped handle). Memory grows by doubling when the set fills, never per
 * operation in steady state.
 */
#include "common/ptrset.h"

#include <stdlib.h>

static size_t slot_of(const void *p, size_t mask)
{
    uint64_t h = (uint64_t)(uintptr_t)p * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 32) & mask;
}

static bool place(tio__ptrset *s, const void *p)
{
    size_t mask = s->cap - 1;
    size_t i = slot_of(p, mask);
    while (s->slots[i] != NULL)
        i = (i + 1) & mask;
    s->slots[i] = p;
    s->count++;
    return true;
}

static bool grow(tio__ptrset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    const void **old = s->slots;
    size_t old_cap = s->cap;
    const void **slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return false;
    s->slots = slots;
    s->cap = cap;
    s->count = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i] != NULL)
            place(s, old[i]);
    free(old);
    return true;
}

bool tio__ptrset_add(tio__ptrset *s, const void *p)
{
    TIO_ASSERT(p != NULL && !tio__ptrset_has(s, p));
    /* Keep at least half the slots empty: probes stay short. */
    if (2 * (s->count + 1) > s->cap && !grow(s))
        return false;
    return place(s, p);
}

static const void **find(const tio__ptrset *s, const void *p)
{
    if (s->cap == 0)
        return NULL;
    size_t mask = s->cap - 1;
    for (size_t i = slot_of(p, mask); s->slots[i] != NULL; i = (i + 1) & mask)
        if (s->slots[i] == p)
            return &s->slots[i];
    return NULL;
}

bool tio__ptrset_has(const tio__ptrset *s, const void *p)
{
    return find(s, p) != NULL;
}

/* Empty slot i, then move back every later member of its probe run that
 * may live at i (its home is not cyclically within (i, j]). */
bool tio__ptrset_remove(tio__ptrset *s, const void *p)
{
    const void **slot = find(s, p);
    if (slot == NULL)
        return false;
    size_t mask = s->cap - 1;
    size_t i = (size_t)(slot - s->slots);
    s->slots[i] = NULL;
    s->count--;
    for (size_t j = (i + 1) & mask; s->slots[j] != NULL; j = (j + 1) & mask) {
        size_t home = slot_of(s->slots[j], mask);
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        s->slots[i] = s->slots[j];
        s->slots[j] = NULL;
        i = j;
    }
    return true;
}

void tio__ptrset_free(tio__ptrset *s)
{
    free(s->slots);
    s->slots = NULL;
    s->cap = s->count = 0;
}
