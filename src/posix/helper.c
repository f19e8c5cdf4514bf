/* SPDX-License-Identifier: MIT */
/* Helper threads: see helper.h. */
#include "posix/helper.h"
#include "posix/posix.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HELPERS 16u

_Thread_local bool tio__posix_cancellable;

enum { AT_NONE = 0, AT_QUEUED, AT_RUNNING, AT_DONE };

/* The task's backend words while the helper has it. */
typedef struct hjob {
    tio__task *next; /* h->queue or h->done */
    int32_t err;
    uint8_t where;
    uint8_t slot; /* AT_RUNNING: the thread running it */
} hjob;

_Static_assert(sizeof(hjob) <= sizeof(((tio__task *)0)->backend), "hjob exceeds backend words");

static hjob *H(tio__task *t)
{
    return (hjob *)(void *)t->backend;
}

typedef struct list {
    tio__task *head, *tail;
} list;

/* One helper thread. A thread asked to stop a blocked open is condemned:
 * a cancellation request, once made, cannot be withdrawn, so it runs no
 * other task and exits (dead; the loop thread joins it in tio__helper_reap). */
typedef struct slot {
    pthread_t thread;
    struct tio__helper *h;
    tio__task *running;
    bool used, dead, condemned;
} slot;

struct tio__helper {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* helpers wait for work */
    list queue, done;
    unsigned live, idle;
    bool stopping;
    slot slots[MAX_HELPERS];
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

/* t's outcome for the loop (under h->mu). */
static void post(tio__helper *h, tio__task *t, int err)
{
    H(t)->err = err;
    H(t)->where = AT_DONE;
    push(&h->done, t);
}

/* A thread retires (cancelled in an open, or condemned). Under h->mu;
 * the caller then notifies the loop, whose tio__helper_reap joins it and
 * hands work queued behind it to a new thread (else that work could wait
 * for ever once every thread had been stopping a blocked open). */
static void retire(tio__helper *h, slot *s)
{
    h->live--;
    s->dead = true;
}

/* The thread was cancelled inside a blocked open (the only call run with
 * cancellation enabled: open_cancellable in file.c): the open did not
 * happen. */
static void cancelled(void *arg)
{
    slot *s = arg;
    tio__helper *h = s->h;
    pthread_mutex_lock(&h->mu);
    post(h, s->running, ECANCELED);
    s->running = NULL;
    retire(h, s);
    pthread_mutex_unlock(&h->mu);
    h->notify(h->arg);
}

static void *helper_main(void *arg)
{
    slot *s = arg;
    tio__helper *h = s->h;
    /* Cancellation stays off except around the open(2) of a task's open. */
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    tio__posix_cancellable = true;
    pthread_mutex_lock(&h->mu);
    while (!s->condemned) {
        while (h->queue.head == NULL && !h->stopping) {
            h->idle++;
            pthread_cond_wait(&h->cv, &h->mu);
            h->idle--;
        }
        tio__task *t = pop(&h->queue);
        if (t == NULL)
            break;
        H(t)->where = AT_RUNNING;
        H(t)->slot = (uint8_t)(s - h->slots);
        s->running = t;
        pthread_mutex_unlock(&h->mu);
        int err;
        pthread_cleanup_push(cancelled, s);
        err = tio__os_engine_run(t);
        pthread_cleanup_pop(0);
        pthread_mutex_lock(&h->mu);
        s->running = NULL;
        post(h, t, err);
        pthread_mutex_unlock(&h->mu);
        h->notify(h->arg);
        pthread_mutex_lock(&h->mu);
    }
    bool condemned = s->condemned;
    retire(h, s);
    pthread_mutex_unlock(&h->mu);
    if (condemned)
        h->notify(h->arg);
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
    for (unsigned i = 0; i < MAX_HELPERS; i++)
        h->slots[i].h = h;
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
    for (unsigned i = 0; i < MAX_HELPERS; i++) {
        if (h->slots[i].used)
            pthread_join(h->slots[i].thread, NULL);
    }
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

/* A helper thread with every signal blocked: the program's signals go to
 * its own threads, as if taskio had none. (Cancellation does not need
 * one unblocked: glibc and macOS deliver it by their own means.) */
static int spawn(tio__helper *h)
{
    slot *s = NULL;
    for (unsigned i = 0; i < MAX_HELPERS && s == NULL; i++) {
        if (!h->slots[i].used)
            s = &h->slots[i];
    }
    if (s == NULL)
        return EAGAIN;
    s->used = s->dead = s->condemned = false;
    s->running = NULL;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&s->thread, NULL, helper_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err == 0) {
        s->used = true;
        h->live++;
    }
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
    if (h->idle <= queued && h->live < MAX_HELPERS) {
        err = spawn(h);
        if (err != 0 && h->live > 0)
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

/* Not begun: taken back (the OS never saw it). A running open, which may
 * wait for ever for a FIFO's peer: its thread is cancelled (if the open
 * already returned, the thread just retires after reporting it). Anything
 * else running reports its real result. */
void tio__helper_cancel(tio__helper *h, tio__task *t)
{
    pthread_mutex_lock(&h->mu);
    bool taken = H(t)->where == AT_QUEUED && unlink_task(&h->queue, t);
    if (taken) {
        H(t)->where = AT_NONE;
    } else if (H(t)->where == AT_RUNNING && t->op == TIO__OP_OPEN) {
        slot *s = &h->slots[H(t)->slot];
        TIO_ASSERT(s->running == t);
        if (!s->condemned) {
            s->condemned = true;
            pthread_cancel(s->thread);
        }
    }
    pthread_mutex_unlock(&h->mu);
    if (taken)
        tio__task_complete_slow(t, 0, ECANCELED);
}

void tio__helper_reap(tio__helper *h)
{
    if (h == NULL)
        return;
    /* Retired threads are joined here, with no lock held: a retiring
     * thread's last act, notify, may take the backend's lock, which a
     * thread starting work holds while it takes h->mu. */
    pthread_t retired[MAX_HELPERS];
    unsigned nretired = 0;
    pthread_mutex_lock(&h->mu);
    tio__task *t = h->done.head;
    h->done.head = h->done.tail = NULL;
    for (unsigned i = 0; i < MAX_HELPERS; i++) {
        if (h->slots[i].used && h->slots[i].dead) {
            retired[nretired++] = h->slots[i].thread;
            h->slots[i].used = false;
        }
    }
    pthread_mutex_unlock(&h->mu);
    for (unsigned i = 0; i < nretired; i++)
        pthread_join(retired[i], NULL);
    if (nretired > 0) {
        pthread_mutex_lock(&h->mu);
        if (h->queue.head != NULL && h->idle == 0 && h->live < MAX_HELPERS)
            (void)spawn(h); /* failing, the next start tries again */
        pthread_mutex_unlock(&h->mu);
    }
    while (t != NULL) {
        tio__task *next = H(t)->next;
        H(t)->where = AT_NONE;
        tio__task_complete_slow(t, 0, H(t)->err);
        t = next;
    }
}
