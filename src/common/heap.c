/* SPDX-License-Identifier: MIT */
/*
 * The deadline heap: an intrusive pairing heap, so arming a timer never
 * allocates. Ordered by (deadline_ns, timer_seq): equal deadlines fire in
 * the order they were armed, which is what makes equal sleeps complete in
 * submission order.
 *
 * Each node links to its first child, its next sibling, and `prev`: its
 * parent when it is a first child, else its left sibling.
 */
#include "common/internal.h"

static const tio__task *task_of_node(const tio__heap_node *n)
{
    return TIO_CONTAINER_OF(n, const tio__task, timer);
}

static bool before(const tio__heap_node *a, const tio__heap_node *b)
{
    const tio__task *ta = task_of_node(a), *tb = task_of_node(b);
    if (ta->deadline_ns != tb->deadline_ns)
        return ta->deadline_ns < tb->deadline_ns;
    return (int32_t)(ta->timer_seq - tb->timer_seq) < 0;
}

/* Make the later of two roots the first child of the earlier one. */
static tio__heap_node *meld(tio__heap_node *a, tio__heap_node *b)
{
    if (a == NULL)
        return b;
    if (b == NULL)
        return a;
    if (before(b, a)) {
        tio__heap_node *tmp = a;
        a = b;
        b = tmp;
    }
    b->next = a->child;
    if (a->child)
        a->child->prev = b;
    b->prev = a;
    a->child = b;
    a->next = a->prev = NULL;
    return a;
}

/* Two-pass pairing of a sibling list into one tree: pair left to right,
 * then meld the pairs right to left. Iterative: no recursion depth. */
static tio__heap_node *merge_pairs(tio__heap_node *first)
{
    tio__heap_node *pairs = NULL; /* reversed list of melded pairs via ->next */
    while (first) {
        tio__heap_node *a = first, *b = first->next;
        first = b ? b->next : NULL;
        a->next = a->prev = NULL;
        if (b)
            b->next = b->prev = NULL;
        tio__heap_node *m = meld(a, b);
        m->next = pairs;
        pairs = m;
    }
    tio__heap_node *root = NULL;
    while (pairs) {
        tio__heap_node *next = pairs->next;
        pairs->next = NULL;
        root = meld(pairs, root);
        pairs = next;
    }
    return root;
}

void tio__heap_insert(tio__heap *h, tio__heap_node *n)
{
    n->child = n->next = n->prev = NULL;
    h->root = meld(h->root, n);
    h->count++;
}

tio__heap_node *tio__heap_min(const tio__heap *h)
{
    return h->root;
}

void tio__heap_remove(tio__heap *h, tio__heap_node *n)
{
    TIO_ASSERT(h->count > 0);
    if (n == h->root) {
        h->root = merge_pairs(n->child);
    } else {
        /* Unlink n from its sibling list, then meld its subtree back in. */
        TIO_ASSERT(n->prev != NULL);
        if (n->prev->child == n)
            n->prev->child = n->next;
        else
            n->prev->next = n->next;
        if (n->next)
            n->next->prev = n->prev;
        n->next = n->prev = NULL;
        h->root = meld(h->root, merge_pairs(n->child));
    }
    if (h->root)
        h->root->prev = NULL;
    n->child = n->next = n->prev = NULL;
    h->count--;
}
