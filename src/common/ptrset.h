/* SPDX-License-Identifier: MIT */
/* A set of pointers (ptrset.c). Zero-initialised is empty. */
#ifndef TIO_PTRSET_H
#define TIO_PTRSET_H

#include "common/internal.h"

typedef struct tio__ptrset {
    const void **slots;
    size_t cap;   /* a power of two, or 0 */
    size_t count; /* members */
} tio__ptrset;

/* false: out of memory (p is not added). */
bool tio__ptrset_add(tio__ptrset *s, const void *p);
/* false: p was not a member. */
bool tio__ptrset_remove(tio__ptrset *s, const void *p);
bool tio__ptrset_has(const tio__ptrset *s, const void *p);
void tio__ptrset_free(tio__ptrset *s);

#endif
