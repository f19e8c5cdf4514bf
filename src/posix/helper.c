/* SPDX-License-Identifier: MIT */
/* Helper threads: see helper.h. */
#include "posix/helper.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HELPERS 16u

enum { AT_NONE = 0, AT_QUEUED, AT_RUNNING, AT_DONE };

/* The task's backend words while the helper has it. */
typedef struct hjob {
    tio__task *next; /* h->queue or h->done */
    int32_t err;
    uint8_t where;
} hjob;

_Static_assert(sizeof(hjob) <= sizeof(((tio__task *)0)->backend), "hjob exceeds backend words");

static hjob *H(tio__task *t) { return (hjob *)(void *)t->backend; }

typedef struct list {
    tio__task *head, *tail;
} list;

struct tio__helper {
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* helpers wait for work */
    list queue, done;
    unsigned nthreads, idle;
    bool stopping;
    pthread_t threads[MAX_HELPERS];
    void (*notify)(void *arg);
    void *arg;
};

static void push(list *l, tio__task *t)
{
    H(t)->next = NULL;
    if (l->tail)
        H(l->tail)->next = t;
    else
        l->head = t;
    l->tail = t;
}

static tio__task *pop(list *l)
{
    tio__task *t = l->head;
    if (t && (l->head = H(t)->next) == NULL)
        l->tail = NULL;
    return t;
}

static bool unlink_task(list *l, tio__task *t)
{
    for (tio__task **pp = &l->head, *prev = NULL; *pp; prev = *pp, pp = &H(*pp)->next) {
        if (*pp != t)
            continue;
        *pp = H(t)->next;
        if (l->tail == t)
            l->tail = prev;
        return true;
    }
    return false;
}

static void *helper_main(void *arg)
{
    tio__helper *h = arg;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (h->queue.head == NULL && !h->stopping) {
            h->idle++;
            pthread_cond_wait(&h->cv, &h->mu);
            h->idle--;
        }
        tio__task *t = pop(&h->queue);
        if (t == NULL)
            break;
        H(t)->where = AT_RUNNING;
        pthread_mutex_unlock(&h->mu);
        int err = tio__os_engine_run(t);
        pthread_mutex_lock(&h->mu);
        H(t)->err = err;
        H(t)->where = AT_DONE;
        push(&h->done, t);
        pthread_mutex_unlock(&h->mu);
        h->notify(h->arg);
        pthread_mutex_lock(&h->mu);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

tio__helper *tio__helper_create(void (*notify)(void *arg), void *arg)
{
    tio__helper *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    if (pthread_mutex_init(&h->mu, NULL) != 0) {
        free(h);
        return NULL;
    }
    if (pthread_cond_init(&h->cv, NULL) != 0) {
        pthread_mutex_destroy(&h->mu);
        free(h);
        return NULL;
    }
    h->notify = notify;
    h->arg = arg;
    return h;
}

void tio__helper_destroy(tio__helper *h)
{
    if (h == NULL)
        return;
    pthread_mutex_lock(&h->mu);
    TIO_ASSERT(h->queue.head == NULL && h->done.head == NULL);
    h->stopping = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    for (unsigned i = 0; i < h->nthreads; i++)
        pthread_join(h->threads[i], NULL);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

/* A helper thread with every signal blocked: the program's signals go to
 * its own threads, as if taskio had none. */
static int spawn(tio__helper *h)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&h->threads[h->nthreads], NULL, helper_main, h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err == 0)
        h->nthreads++;
    return err;
}

int tio__helper_start(tio__helper *h, tio__task *t)
{
    int err = 0;
    pthread_mutex_lock(&h->mu);
    /* One more thread when every one is busy: a blocked open must not hold
     * up the rest. At the limit the work waits its turn. */
    unsigned queued = 0;
    for (tio__task *q = h->queue.head; q; q = H(q)->next)
        queued++;
    if (h->idle <= queued && h->nthreads < MAX_HELPERS) {
        err = spawn(h);
        if (err != 0 && h->nthreads > 0)
            err = 0; /* the threads there are will get to it */
    }
    if (err == 0) {
        memset(H(t), 0, sizeof(hjob));
        H(t)->where = AT_QUEUED;
        push(&h->queue, t);
        pthread_cond_signal(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    return err;
}

void tio__helper_cancel(tio__helper *h, tio__task *t)
{
    pthread_mutex_lock(&h->mu);
    bool taken = H(t)->where == AT_QUEUED && unlink_task(&h->queue, t);
    if (taken)
        H(t)->where = AT_NONE;
    pthread_mutex_unlock(&h->mu);
    /* Not begun: the OS never saw it. */
    if (taken)
        tio__task_complete_slow(t, 0, ECANCELED);
}

void tio__helper_reap(tio__helper *h)
{
    if (h == NULL)
        return;
    pthread_mutex_lock(&h->mu);
    tio__task *t = h->done.head;
    h->done.head = h->done.tail = NULL;
    pthread_mutex_unlock(&h->mu);
    while (t != NULL) {
        tio__task *next = H(t)->next;
        H(t)->where = AT_NONE;
        tio__task_complete_slow(t, 0, H(t)->err);
        t = next;
    }
}
