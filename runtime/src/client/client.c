/*
 * client.c: the RPC client (parley/client.h, docs/runtime.md "Client").
 *
 * A handle talks to one address over one TCP or Unix stream connection,
 * opened on the first call and again on the call after it broke, or over one
 * connected UDP socket. Any number of threads call through it at once:
 *
 *   - A call takes an xid from an atomic counter, encodes its message (record
 *     mark, header, arguments) into one buffer outside any lock, takes the
 *     send role (a flag under the handle's mutex, so that waiting for it
 *     honours the call's deadline), registers itself among the calls waiting
 *     for a reply, and sends the buffer with one send().
 *   - On a stream, a call that finds the send role taken does not wait for
 *     it: it registers itself, copies its message to the handle's send queue
 *     and goes on to wait for its reply. The holder, after its own send,
 *     writes the whole queue with one send(), and again until it is empty
 *     (flush_queue), so that many threads' calls take few system calls.
 *   - It then waits for its reply with no lock held across the round trip,
 *     leader/follower style: one waiting call at a time holds the read role
 *     and reads the socket; each reply it reads is matched by xid to its call,
 *     copied out and handed over with the call's own condition variable; a
 *     reply nobody waits for (its call timed out) is dropped. The replies
 *     one read brought are all delivered under one hold of the mutex, the
 *     leader's own among them, before it passes the read role to the first
 *     other waiter. When no other call waits, it decodes its reply in place,
 *     in the read buffer, and only then gives the role up: a single-threaded
 *     caller makes one send() and one recv() per call, and copies nothing.
 *   - A broken connection (end of stream, reset, lost framing, a send that
 *     stopped half-way) fails every call waiting on it with
 *     PARLEY_ERR_CLOSED; it is shut down at once (which wakes a leader
 *     blocked in recv) and closed by the last thread that used it; the next
 *     call connects again.
 *   - UDP calls are one datagram each, sent again with doubling intervals
 *     until the deadline; whoever holds the read role receives datagrams and
 *     matches them by xid like stream replies, and datagrams that are not the
 *     reply of a waiting call are dropped.
 *
 * Submitted calls (parley_client_submit) and parley_client_poll are in
 * async.c, resolving and connecting in dial.c.
 *
 * The waiting calls are a linked list searched by xid: a handle has as many
 * entries as threads calling through it plus the submitted calls in flight.
 */
#include "parley/client.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "client/internal.h"
#include "net/addr.h"
#include "wire/recmark.h"
#include "wire/auth.h"
#include "wire/rpcmsg.h"
#include "net/sock.h"
#include "net/spin.h"

#define DEFAULT_TIMEOUT_MS    25000u
#define DEFAULT_MAX_MSG       PL_RM_DEFAULT_MAX_MSG
#define DEFAULT_RETRANSMIT_MS 250u
/* The read buffer of a stream: a read takes up to this much at once. */
#define STREAM_RBUF ((size_t)64 << 10)
/* The largest datagram UDP carries (and so the read buffer of UDP). */
#define DGRAM_MAX ((size_t)65535)
/* Messages up to this size are encoded on the stack. */
#define STACK_MSG 2048u
/* The most bytes of messages queued for the holder of the send role; a
 * call that would pass it waits for the role instead. */
#define SEND_QUEUE_MAX ((size_t)256 << 10)

/* ---- helpers under the handle's mutex ------------------------------------ */

/* pl_client_set_errno keeps e, the errno of a failed system call, for
 * parley_client_errno. */
void pl_client_set_errno(parley_client *c, int e)
{
    atomic_store_explicit(&c->sys_errno, e, memory_order_relaxed);
}

/* Waking sleepers. A synchronous caller waiting for its reply (or for the
 * read role) sleeps on its pending's futex word, not on a condition
 * variable, so that whoever wakes it can do so after releasing the handle's
 * mutex: woken under the mutex, the sleeper would run only to block on the
 * mutex at once, a second switch for nothing (the leader delivering a read
 * of eight replies would cause eight). wake_later bumps the word under the
 * mutex and notes its address; unlock releases the mutex, then wakes the
 * noted ones. The sleeper reads the word under the mutex before it sleeps,
 * so a wake between its release of the mutex and its sleep is never lost.
 * A noted sleeper may have left (seen its call done, by a time-out) and its
 * pending gone from its stack by the time it is woken: a futex wake on such
 * an address is harmless (the kernel does not touch the memory; at worst
 * whoever sleeps there now wakes spuriously, which every futex user
 * tolerates). */
static void futex_wake(atomic_uint *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void wake_later(parley_client *c, pending *p)
{
    atomic_fetch_add_explicit(&p->wake, 1, memory_order_relaxed);
    if (c->nwakes < PL_CLIENT_WAKE_BATCH)
        c->wakes[c->nwakes++] = &p->wake;
    else
        futex_wake(&p->wake);
}

/* wake_now wakes the noted sleepers with the mutex held (before a wait on
 * a condition variable, which releases the mutex itself). */
static void wake_now(parley_client *c)
{
    for (size_t i = 0; i < c->nwakes; i++)
        futex_wake(c->wakes[i]);
    c->nwakes = 0;
}

/* pl_client_unlock releases the handle's mutex, then wakes the sleepers noted. */
void pl_client_unlock(parley_client *c)
{
    atomic_uint *w[PL_CLIENT_WAKE_BATCH];
    size_t n = c->nwakes;
    if (n)
        memcpy(w, c->wakes, n * sizeof w[0]);
    c->nwakes = 0;
    pthread_mutex_unlock(&c->mu);
    for (size_t i = 0; i < n; i++)
        futex_wake(w[i]);
}

/* sleep_until sleeps (mutex held, released during the sleep) until p is
 * woken, deadline (CLOCK_MONOTONIC ns) passes, or spuriously. */
static void sleep_until(parley_client *c, pending *p, int64_t deadline)
{
    unsigned seen = atomic_load_explicit(&p->wake, memory_order_relaxed);
    pl_client_unlock(c);
    struct timespec ts = pl_timespec(deadline);
    syscall(SYS_futex, &p->wake, FUTEX_WAIT_BITSET_PRIVATE, seen, &ts, NULL,
            FUTEX_BITSET_MATCH_ANY);
    pthread_mutex_lock(&c->mu);
}

/* pl_client_complete ends the waiting call p with err (its reply, if any, already
 * attached) and wakes its thread, or for a submitted call moves it to the
 * finished list and wakes the poller. */
void pl_client_complete(parley_client *c, pending *p, int err)
{
    pl_pending_remove(&c->waiters, p);
    p->done = 1;
    p->err = err;
    if (p->async) {
        c->n_async--;
        pl_pending_add(&c->finished, p);
        pl_async_wake(c);
    } else {
        wake_later(c, p);
    }
}

/* wake_next_reader hands the free read role to the first waiting
 * synchronous call, whose thread takes it when it wakes. */
static void wake_next_reader(parley_client *c)
{
    if (c->reading)
        return;
    for (pending *q = c->waiters; q; q = q->next) {
        if (!q->async) {
            wake_later(c, q);
            return;
        }
    }
}

/* maybe_close closes a broken connection once no thread uses its fd, and
 * resets the reader for the next one. */
static void maybe_close(parley_client *c)
{
    if (!c->broken || c->sending || c->reading)
        return;
    close(c->fd);
    c->fd = -1;
    c->broken = 0;
    pl_rm_destroy(&c->rm);
    pl_rm_init(&c->rm);
    c->rm.max_msg = c->max_msg;
    c->rpos = c->rlen = 0;
    c->rcvtimeo = 0;
    pthread_cond_broadcast(&c->send_cv);
}

/* break_conn marks the stream connection broken: shut down at once, so that
 * a leader blocked in recv() returns, and closed by maybe_close. Every call
 * waiting on it fails with err. */
static void break_conn(parley_client *c, int err)
{
    if (c->fd >= 0 && !c->broken) {
        c->broken = 1;
        shutdown(c->fd, SHUT_RDWR);
    }
    c->queue_len = 0; /* their calls fail below */
    while (c->waiters)
        pl_client_complete(c, c->waiters, err);
    maybe_close(c);
}

/* timed_wait waits on cv until deadline (CLOCK_MONOTONIC); returns nonzero
 * when the deadline passed. */
static int timed_wait(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline)
{
    struct timespec ts = pl_timespec(deadline);
    return pthread_cond_timedwait(cv, mu, &ts) == ETIMEDOUT;
}

/* ---- reading ------------------------------------------------------------- */

/* deliver hands the message msg to the waiting call with its xid. For
 * another call, the bytes are copied out. For self (the reader's call), they
 * are borrowed in place when no other call waits (the caller keeps the read
 * role while it decodes them), else copied. A message too short to hold an
 * xid, or whose call is no longer waiting, is dropped. Returns nonzero when
 * self's reply arrived. too_large: the message was cut (a datagram over
 * the handle's limit), and its call fails with PARLEY_ERR_MSG_TOO_LARGE.
 * The handle's mutex is held. */
static int deliver(parley_client *c, pending *self, const uint8_t *msg, size_t len, int too_large)
{
    if (len < 4)
        return 0;
    uint32_t xid = parley_ld_u32(msg);
    pending *q = c->waiters;
    while (q && q->xid != xid)
        q = q->next;
    if (q == NULL)
        return 0;
    int err = PARLEY_OK;
    if (too_large) {
        err = PARLEY_ERR_MSG_TOO_LARGE;
    } else if (q == self && c->waiters == self && self->next == NULL) {
        q->reply = msg;
        q->borrowed = 1;
    } else if ((q->copy = malloc(len)) != NULL) {
        memcpy(q->copy, msg, len);
        q->reply = q->copy;
    } else {
        err = PARLEY_ERR_NOMEM;
    }
    q->reply_len = len;
    pl_client_complete(c, q, err);
    return q == self;
}

/* drain_rbuf delivers the replies complete in the read buffer, under one
 * hold of the mutex for all of them. It goes on after self's own reply
 * (*mine) while more bytes are buffered, so that the replies a read brought
 * reach their calls without handing the read role on first; it stops at
 * self's reply only when that is borrowed in place (no other call waits).
 * Returns PARLEY_OK, or the error of a stream whose framing failed. */
static int drain_rbuf(parley_client *c, pending *self, int *mine)
{
    int rc = PARLEY_OK;
    if (c->rpos >= c->rlen)
        return PARLEY_OK; /* nothing buffered: no need of the mutex */
    pthread_mutex_lock(&c->mu);
    while (c->rpos < c->rlen) {
        size_t used;
        int r = pl_rm_feed(&c->rm, c->rbuf + c->rpos, c->rlen - c->rpos, &used);
        c->rpos += used;
        if (r == PL_RM_MESSAGE) {
            if (deliver(c, self, c->rm.msg, c->rm.msg_len, 0)) {
                *mine = 1;
                if (self->borrowed)
                    break;
            }
        } else if (r < 0) {
            rc = -r;
            break;
        }
    }
    pl_client_unlock(c);
    return rc;
}

/* pl_client_lead reads replies, as the holder of the read role, until self's own has
 * arrived (PARLEY_OK) or until (PARLEY_ERR_TIMEDOUT): the call's deadline, or
 * for UDP its next retransmission; with nonblock (the poller, self NULL),
 * until nothing more is there to read. Other errors: the stream's framing or
 * connection failed (break it), or a datagram socket reported one. */
int pl_client_lead(parley_client *c, pending *self, int fd, int64_t until, int nonblock)
{
    for (;;) {
        if (!c->dgram) {
            int mine = 0;
            int rc = drain_rbuf(c, self, &mine);
            if (rc != PARLEY_OK)
                return rc;
            if (mine)
                return PARLEY_OK;
            c->rpos = c->rlen = 0;
        }
        if (nonblock) {
            /* the socket stays blocking for the synchronous callers: look
             * first, then the receive finds something at once */
            struct pollfd pf = {.fd = fd, .events = POLLIN, .revents = 0};
            if (poll(&pf, 1, 0) <= 0)
                return PARLEY_ERR_TIMEDOUT;
            until = pl_deadline_after_ms(1000);
        }
        size_t got;
        int e = 0;
        int flags = c->dgram ? MSG_TRUNC : 0;
        int rc = PARLEY_ERR_TIMEDOUT;
        if (!nonblock && c->spin_ns > 0 && pl_spin_wanted(&c->spin)) {
            int64_t spin_until = pl_now_ns() + c->spin_ns;
            rc = pl_sock_recv_spin(fd, c->rbuf, c->rcap, flags,
                                   spin_until < until ? spin_until : until, &got, &e);
            pl_spin_account(&c->spin, rc == PARLEY_OK);
        }
        if (rc == PARLEY_ERR_TIMEDOUT)
            rc = pl_sock_recv(fd, c->rbuf, c->rcap, flags, until, &c->rcvtimeo, &got, &e);
        if (rc != PARLEY_OK) {
            if (e)
                pl_client_set_errno(c, e);
            return rc;
        }
        if (c->dgram) {
            size_t len = got < c->rcap ? got : c->rcap;
            pthread_mutex_lock(&c->mu);
            int mine = deliver(c, self, c->rbuf, len, got > c->max_msg);
            pl_client_unlock(c);
            if (mine)
                return PARLEY_OK;
        } else if (got == 0) {
            return PARLEY_ERR_CLOSED;
        } else {
            c->rlen = got;
        }
    }
}

/* pl_client_release_reader gives the read role up after lead returned rc for self
 * (mutex held; self is NULL for the poller). A failure fails self with rc
 * (the end of the stream is PARLEY_ERR_CLOSED, lost framing
 * PARLEY_ERR_MSG_TOO_LARGE or _PROTOCOL); on a stream it also breaks the
 * connection, failing the other calls in flight with PARLEY_ERR_CLOSED. A
 * datagram socket's error met by the poller (the port is unreachable) fails
 * the submitted calls. A synchronous caller's release wakes the poller,
 * which does not watch the socket while the role is held and may find
 * replies left in the read buffer. */
void pl_client_release_reader(parley_client *c, pending *self, int rc)
{
    c->reading = 0;
    if (rc != PARLEY_OK && rc != PARLEY_ERR_TIMEDOUT) {
        if (self && !self->done)
            pl_client_complete(c, self, rc);
        if (!c->dgram) {
            break_conn(c, PARLEY_ERR_CLOSED);
        } else if (self == NULL) {
            for (pending *q = c->waiters, *next; q; q = next) {
                next = q->next;
                if (q->async)
                    pl_client_complete(c, q, rc);
            }
        }
    }
    if (self && c->n_async > 0)
        pl_async_wake(c);
    maybe_close(c);
    wake_next_reader(c);
}

/* ---- sending ------------------------------------------------------------- */

/* enqueue appends msg to the messages waiting for the holder of the send
 * role (mutex held): the copy lets the caller go on to wait for its reply
 * at once. Returns nonzero when the queue has no room for it. */
static int enqueue(parley_client *c, const uint8_t *msg, size_t len)
{
    if (len > SEND_QUEUE_MAX - c->queue_len)
        return -1;
    if (c->queue_len + len > c->queue_cap) {
        size_t cap = c->queue_cap ? c->queue_cap : 4096;
        while (cap < c->queue_len + len)
            cap *= 2;
        uint8_t *q = realloc(c->queue, cap);
        if (q == NULL)
            return -1;
        c->queue = q;
        c->queue_cap = cap;
    }
    memcpy(c->queue + c->queue_len, msg, len);
    c->queue_len += len;
    return 0;
}

/* register_call adds p to the calls waiting for a reply (mutex held). */
static void register_call(parley_client *c, pending *p)
{
    pl_pending_add(&c->waiters, p);
    if (p->async) {
        c->n_async++;
        pl_async_added(c, p);
    }
}

/* flush_queue writes, as the holder of the send role, the messages that
 * other calls queued while it sent (mutex held, released around each
 * write): all of those queued at a time in one send(), and again until the
 * queue is empty, so that the calls of many threads reach the socket in
 * few system calls. Each queued call learns the outcome through its
 * pending entry: nothing to learn when the write succeeds; a write that
 * took nothing before the deadline (the holder's: a queued call shares the
 * deadline of the thread that writes it) fails the calls of its batch with
 * PARLEY_ERR_TIMEDOUT and drops their messages; any other failure breaks
 * the connection, failing every call on it with PARLEY_ERR_CLOSED. The
 * holder calls it also when its own message was not taken, with its
 * deadline passed: the queue then gets one try. */
static void flush_queue(parley_client *c, int fd, int64_t deadline)
{
    while (c->queue_len > 0 && !c->broken) {
        uint8_t *out = c->queue;
        size_t len = c->queue_len, cap = c->queue_cap;
        uint64_t batch = c->batch++;
        c->queue = c->outbox;
        c->queue_cap = c->outbox_cap;
        c->queue_len = 0;
        c->outbox = out;
        c->outbox_cap = cap;
        pl_client_unlock(c);
        size_t sent = 0;
        int e = 0;
        int rc = pl_sock_send(fd, out, len, deadline, &sent, &e);
        pthread_mutex_lock(&c->mu);
        if (rc == PARLEY_OK)
            continue;
        if (e)
            pl_client_set_errno(c, e);
        if (sent > 0 || rc != PARLEY_ERR_TIMEDOUT) {
            break_conn(c, PARLEY_ERR_CLOSED);
            return;
        }
        for (pending *q = c->waiters, *next; q; q = next) {
            next = q->next;
            if (q->batch == batch + 1)
                pl_client_complete(c, q, rc);
        }
    }
}

/* pl_client_start connects if need be, registers p among the waiting calls and sends
 * msg. When another call holds the send role on a working stream, msg is
 * queued for it instead (see flush_queue) and start returns at once; the
 * holder sends its own message, then the queue. On failure p is not
 * registered; a stream that got part of the message is broken. A submitted
 * call (p->async) that was registered is never failed here: a failure of
 * its send completes it with the error, for its callback, and start returns
 * PARLEY_OK; from then on p belongs to the handle and may already be freed
 * when start returns. */
int pl_client_start(parley_client *c, pending *p, const uint8_t *msg, size_t len, int64_t deadline)
{
    pthread_mutex_lock(&c->mu);
    /* wait for the send role, and for a broken connection to be closed by
     * the leader still reading it (woken by its shutdown) */
    while (c->sending || c->broken) {
        if (c->sending && !c->broken && !c->dgram && c->fd >= 0 && enqueue(c, msg, len) == 0) {
            /* batch numbers start at 1 in p->batch: 0 is no batch */
            p->batch = c->batch + 1;
            register_call(c, p);
            pl_client_unlock(c);
            return PARLEY_OK;
        }
        wake_now(c); /* the wait releases the mutex without pl_client_unlock() */
        if (timed_wait(&c->send_cv, &c->mu, deadline) && (c->sending || c->broken)) {
            pl_client_unlock(c);
            return PARLEY_ERR_TIMEDOUT;
        }
    }
    c->sending = 1;
    if (c->fd < 0) {
        int fd = -1;
        pl_client_unlock(c);
        int rc = pl_client_dial(c, deadline, &fd);
        pthread_mutex_lock(&c->mu);
        if (rc == PARLEY_OK && (rc = pl_async_watch(c, fd)) != PARLEY_OK)
            close(fd);
        if (rc != PARLEY_OK) {
            c->sending = 0;
            pthread_cond_signal(&c->send_cv);
            pl_client_unlock(c);
            return rc;
        }
        c->fd = fd;
    }
    int fd = c->fd;
    register_call(c, p);
    pl_client_unlock(c);

    size_t sent = 0;
    int e = 0;
    int rc = pl_sock_send(fd, msg, len, deadline, &sent, &e);

    pthread_mutex_lock(&c->mu);
    int failed = rc != PARLEY_OK;
    if (failed) {
        if (e)
            pl_client_set_errno(c, e);
        if (!c->dgram && (sent > 0 || rc != PARLEY_ERR_TIMEDOUT))
            break_conn(c, PARLEY_ERR_CLOSED);
        if (p->async) {
            if (!p->done)
                pl_client_complete(c, p, rc); /* p may be freed once the mutex is let go */
            rc = PARLEY_OK;                   /* the callback reports it */
        } else {
            if (!p->done)
                pl_pending_remove(&c->waiters, p);
            p->done = 1;
            free(p->copy);
            p->copy = NULL;
        }
    }
    /* the queue is written even when this call's own message was not taken:
     * the calls queued behind it wait for this thread, and a queue left
     * behind would go out with a later call's, after they had timed out
     * (their batch shares this call's deadline; see flush_queue) */
    if (!c->dgram)
        flush_queue(c, fd, deadline);
    c->sending = 0;
    pthread_cond_signal(&c->send_cv);
    if (failed)
        wake_next_reader(c);
    maybe_close(c); /* the connection may have broken while this thread sent */
    pl_client_unlock(c);
    return rc;
}

/* pl_dgram_backoff returns the interval to wait after a UDP call's
 * transmission that followed an interval of ms milliseconds: twice ms, but
 * never more than PL_DGRAM_MAX_RETRANSMIT_MS, whatever ms is (no overflow).
 * It is the one place where the doubling is written. */
unsigned pl_dgram_backoff(unsigned ms)
{
    return ms >= PL_DGRAM_MAX_RETRANSMIT_MS / 2 ? PL_DGRAM_MAX_RETRANSMIT_MS : ms * 2;
}

/* pl_dgram_schedule sets when the UDP call p is next sent, now being the time of
 * the transmission just made: after the handle's retransmit_ms the first
 * time, lowered to PL_DGRAM_MAX_RETRANSMIT_MS when it is above (the cap
 * bounds how long a lost datagram goes unanswered, the first one's too),
 * then after pl_dgram_backoff of the previous interval. p->retransmit_ms
 * is the interval now running, 0 before the first. */
void pl_dgram_schedule(const parley_client *c, pending *p, int64_t now)
{
    if (p->retransmit_ms == 0)
        p->retransmit_ms = c->retransmit_ms < PL_DGRAM_MAX_RETRANSMIT_MS
                               ? c->retransmit_ms
                               : PL_DGRAM_MAX_RETRANSMIT_MS;
    else
        p->retransmit_ms = pl_dgram_backoff(p->retransmit_ms);
    p->next_tx = now + (int64_t)p->retransmit_ms * 1000000;
}

/* await waits for p's reply until deadline, taking the read role when it is
 * free, and for UDP sends msg again when p's retransmission time comes.
 * Returns p's outcome; with PARLEY_OK, p->reply is the reply, and when
 * p->borrowed the caller still holds the read role. */
static int await(parley_client *c, pending *p, const uint8_t *msg, size_t len, int64_t deadline)
{
    pthread_mutex_lock(&c->mu);
    while (!p->done) {
        int64_t now = pl_now_ns();
        if (now >= deadline) {
            pl_pending_remove(&c->waiters, p);
            p->done = 1;
            p->err = PARLEY_ERR_TIMEDOUT;
            break;
        }
        if (c->dgram && now >= p->next_tx) {
            int fd = c->fd;
            pl_client_unlock(c);
            size_t sent;
            int e = 0;
            int rc = pl_sock_send(fd, msg, len, deadline, &sent, &e);
            pthread_mutex_lock(&c->mu);
            if (rc != PARLEY_OK && !p->done) {
                pl_client_set_errno(c, e);
                pl_pending_remove(&c->waiters, p);
                p->done = 1;
                p->err = rc;
                break;
            }
            pl_dgram_schedule(c, p, now);
            continue;
        }
        int64_t until = c->dgram && p->next_tx < deadline ? p->next_tx : deadline;
        if (!c->reading && c->fd >= 0 && !c->broken) {
            int fd = c->fd;
            c->reading = 1;
            pl_client_unlock(c);
            int rc = pl_client_lead(c, p, fd, until, 0);
            pthread_mutex_lock(&c->mu);
            if (rc == PARLEY_OK && p->borrowed)
                break; /* decoded in place; the role is released afterwards */
            pl_client_release_reader(c, p, rc);
            continue;
        }
        sleep_until(c, p, until);
    }
    if (!c->reading)
        wake_next_reader(c);
    maybe_close(c);
    pl_client_unlock(c);
    return p->err;
}

/* ---- the reply ----------------------------------------------------------- */

/* The details of the last call completed in each thread
 * (parley_client_last_detail). */
static _Thread_local parley_rpc_detail last_detail;

/* pl_client_set_detail records the outcome err of a call completing in this thread,
 * with the details det (NULL: none). */
void pl_client_set_detail(int err, const parley_rpc_detail *det)
{
    parley_rpc_detail d = {err, 0, 0, 0};
    if (det) {
        d.low = det->low;
        d.high = det->high;
        d.auth_stat = det->auth_stat;
    }
    last_detail = d;
}

/* pl_client_decode_reply checks the reply header of p and decodes the result into res
 * with dec, allocating from arena (NULL: malloc). Results with bytes left
 * over are PARLEY_ERR_TRAILING: the server's idea of the result type is not
 * the caller's, which is worth reporting (libtirpc ignores them). *det gets
 * the versions and the auth_stat a refusal carries (the header's fields,
 * zero when absent). */
int pl_client_decode_reply(parley_client *c, const pending *p, parley_res_dec *dec, void *res,
                           parley_arena *arena, parley_rpc_detail *det)
{
    parley_limits lim = {.max_alloc = c->max_alloc, .max_depth = 0, .flags = 0, .arena = arena};
    parley_dec d;
    pl_reply_header h;
    parley_dec_init(&d, p->reply, p->reply_len, &lim);
    int rc = pl_msg_decode_reply(&d, &h);
    if (rc != PARLEY_OK)
        return rc;
    rc = pl_reply_error(&h);
    if (rc != PARLEY_OK) {
        det->low = h.low;
        det->high = h.high;
        det->auth_stat = h.auth_stat;
        return rc;
    }
    if (dec)
        dec(&d, res);
    if (!d.err && d.p != d.end)
        parley_dec_fail(&d, PARLEY_ERR_TRAILING);
    return parley_dec_finish(&d, NULL);
}

/* pl_client_message_size is the size of a call's message with args_size bytes of
 * arguments: record mark, xid .. proc (6 words), cred, verf (AUTH_NONE). */
int pl_client_message_size(const parley_client *c, size_t args_size, size_t *out)
{
    size_t head = 4 + 24 + 8 + parley_round4(c->cred.len) + 8;
    if (args_size > SIZE_MAX - head)
        return PARLEY_ERR_MSG_TOO_LARGE;
    *out = head + args_size;
    return PARLEY_OK;
}

/* pl_client_encode encodes the call xid of proc into buf (cap bytes, from
 * message_size); *msg and *len are what to send: the record-marked message
 * on a stream, the bare one in a datagram. */
int pl_client_encode(parley_client *c, uint32_t xid, uint32_t proc, parley_args_enc *enc,
                     const void *args, uint8_t *buf, size_t cap, const uint8_t **msg, size_t *len)
{
    parley_enc e;
    size_t n = 0;
    parley_enc_init(&e, buf + 4, cap - 4);
    pl_msg_encode_call(&e, xid, c->prog, c->vers, proc, &c->cred, NULL);
    if (enc)
        enc(&e, args);
    int rc = parley_enc_finish(&e, &n);
    if (rc != PARLEY_OK)
        return rc;
    if (c->dgram) {
        *msg = buf + 4;
        *len = n;
        return PARLEY_OK;
    }
    rc = pl_rm_frame(buf, n);
    if (rc != PARLEY_OK)
        return rc;
    *msg = buf;
    *len = n + 4;
    return PARLEY_OK;
}

/* ---- the API ------------------------------------------------------------- */

/* parley_client_create: see parley/client.h. Errors: PARLEY_ERR_INVALID (a
 * NULL out or addr), the address's (PARLEY_ERR_ADDRESS, _RESOLVE),
 * PARLEY_ERR_TOO_LONG for a credential that does not fit AUTH_SYS, and
 * PARLEY_ERR_NOMEM. *out is written only on success. */
int parley_client_create(parley_client **out, const char *addr, uint32_t prog, uint32_t vers,
                         const parley_client_opts *opts)
{
    if (out == NULL || addr == NULL)
        return PARLEY_ERR_INVALID;
    parley_client_opts o = {0};
    if (opts)
        o = *opts;
    parley_client *c = calloc(1, sizeof *c);
    if (c == NULL)
        return PARLEY_ERR_NOMEM;
    int rc = pl_addr_parse(addr, &c->addr);
    if (rc != PARLEY_OK)
        goto fail;
    c->prog = prog;
    c->vers = vers;
    c->timeout_ms = o.timeout_ms ? o.timeout_ms : DEFAULT_TIMEOUT_MS;
    c->retransmit_ms = o.retransmit_ms ? o.retransmit_ms : DEFAULT_RETRANSMIT_MS;
    c->max_msg = o.max_msg ? o.max_msg : DEFAULT_MAX_MSG;
    c->max_alloc = o.max_alloc ? o.max_alloc : PARLEY_DEFAULT_MAX_ALLOC;
    rc = pl_client_kind(c);
    if (rc != PARLEY_OK)
        goto fail;
    c->spin_ns = pl_spin_ns(o.busy_poll_us);
    pl_spin_init(&c->spin);
    c->fd = -1;
    c->efd = c->evfd = c->tfd = -1;
    c->timer_at = PL_NEVER;
    const pl_auth_ops *auth = pl_auth_find(o.cred ? PARLEY_AUTH_SYS : PARLEY_AUTH_NONE);
    rc = auth ? auth->make_cred(o.cred, c->cred_buf, &c->cred) : PARLEY_ERR_INVALID;
    if (rc != PARLEY_OK)
        goto fail;
    uint32_t seed =
        (uint32_t)pl_now_ns() ^ ((uint32_t)getpid() << 16) ^ (uint32_t)((uintptr_t)c >> 4);
    atomic_init(&c->next_xid, seed);
    atomic_init(&c->sys_errno, 0);
    pl_rm_init(&c->rm);
    c->rm.max_msg = c->max_msg;
    c->rcap = c->dgram ? DGRAM_MAX : STREAM_RBUF;
    c->rbuf = malloc(c->rcap);
    rc = PARLEY_ERR_NOMEM;
    if (c->rbuf == NULL)
        goto fail;
    if (pthread_mutex_init(&c->mu, NULL) != 0)
        goto fail_buf;
    if (pl_cond_init_monotonic(&c->send_cv) != PARLEY_OK)
        goto fail_mu;
    *out = c;
    return PARLEY_OK;
fail_mu:
    pthread_mutex_destroy(&c->mu);
fail_buf:
    free(c->rbuf);
fail:
    free(c);
    return rc;
}

/* parley_client_destroy: see parley/client.h. Only submitted calls can be
 * waiting (no synchronous call may be in progress). */
void parley_client_destroy(parley_client *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->mu);
    while (c->waiters)
        pl_client_complete(c, c->waiters, PARLEY_ERR_CANCELLED);
    pending *done = pl_async_take_finished(c);
    pl_client_unlock(c);
    pl_async_run_callbacks(c, done);
    if (c->fd >= 0)
        close(c->fd);
    pl_async_close(c);
    pl_rm_destroy(&c->rm);
    free(c->rbuf);
    free(c->queue);
    free(c->outbox);
    pthread_cond_destroy(&c->send_cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* call makes the call of parley_client_call; *det gets the details of a
 * refusal. The message is encoded into a stack buffer when it is small,
 * else into one allocated for the call. Errors before anything is sent:
 * PARLEY_ERR_INVALID, the encoder's errors, PARLEY_ERR_MSG_TOO_LARGE,
 * PARLEY_ERR_NOMEM. */
static int call(parley_client *c, uint32_t proc, parley_args_enc *enc, const void *args,
                size_t args_size, parley_res_dec *dec, void *res, unsigned timeout_ms,
                parley_arena *arena, parley_rpc_detail *det)
{
    if (c == NULL || (dec != NULL && res == NULL))
        return PARLEY_ERR_INVALID;
    int64_t deadline = pl_deadline_after_ms(timeout_ms ? timeout_ms : c->timeout_ms);
    uint32_t xid = atomic_fetch_add_explicit(&c->next_xid, 1, memory_order_relaxed);

    size_t cap;
    int rc = pl_client_message_size(c, args_size, &cap);
    if (rc != PARLEY_OK)
        return rc;
    uint8_t stack_buf[STACK_MSG];
    uint8_t *buf = cap <= sizeof stack_buf ? stack_buf : malloc(cap);
    if (buf == NULL)
        return PARLEY_ERR_NOMEM;
    const uint8_t *msg;
    size_t len;
    rc = pl_client_encode(c, xid, proc, enc, args, buf, cap, &msg, &len);
    if (rc != PARLEY_OK)
        goto out;

    pending p;
    memset(&p, 0, sizeof p);
    p.xid = xid;
    atomic_init(&p.wake, 0);
    pl_dgram_schedule(c, &p, pl_now_ns());
    rc = pl_client_start(c, &p, msg, len, deadline);
    if (rc == PARLEY_OK)
        rc = await(c, &p, msg, len, deadline);
    if (rc == PARLEY_OK)
        rc = pl_client_decode_reply(c, &p, dec, res, arena, det);
    if (p.borrowed) {
        pthread_mutex_lock(&c->mu);
        c->reading = 0;
        if (c->n_async > 0)
            pl_async_wake(c);
        maybe_close(c);
        wake_next_reader(c);
        pl_client_unlock(c);
    }
    free(p.copy);
out:
    if (buf != stack_buf)
        free(buf);
    return rc;
}

/* parley_client_call: see parley/client.h. */
int parley_client_call(parley_client *c, uint32_t proc, parley_args_enc *enc, const void *args,
                       size_t args_size, parley_res_dec *dec, void *res, unsigned timeout_ms)
{
    return parley_client_call_arena(c, proc, enc, args, args_size, dec, res, timeout_ms, NULL);
}

/* parley_client_call_arena: see parley/client.h. */
int parley_client_call_arena(parley_client *c, uint32_t proc, parley_args_enc *enc,
                             const void *args, size_t args_size, parley_res_dec *dec, void *res,
                             unsigned timeout_ms, parley_arena *arena)
{
    parley_rpc_detail det = {0, 0, 0, 0};
    int rc = call(c, proc, enc, args, args_size, dec, res, timeout_ms, arena, &det);
    pl_client_set_detail(rc, &det);
    return rc;
}

/* parley_client_errno: see parley/client.h. */
int parley_client_errno(const parley_client *c)
{
    return c ? atomic_load_explicit(&c->sys_errno, memory_order_relaxed) : 0;
}

/* parley_client_last_detail: see parley/client.h. */
void parley_client_last_detail(parley_rpc_detail *out)
{
    if (out)
        *out = last_detail;
}

/* parley_rpc_detail_format: see parley/client.h. */
char *parley_rpc_detail_format(const parley_rpc_detail *d, char *buf, size_t len)
{
    if (buf == NULL || len == 0)
        return buf;
    if (d == NULL) {
        buf[0] = '\0';
        return buf;
    }
    switch (d->err) {
    case PARLEY_ERR_PROG_MISMATCH:
        if (d->low == d->high)
            snprintf(buf, len, "program version mismatch: the server serves version %" PRIu32,
                     d->low);
        else
            snprintf(buf, len,
                     "program version mismatch: the server serves versions %" PRIu32 " to %" PRIu32,
                     d->low, d->high);
        break;
    case PARLEY_ERR_RPC_MISMATCH:
        if (d->low == d->high)
            snprintf(buf, len, "RPC version mismatch: the server speaks RPC version %" PRIu32,
                     d->low);
        else
            snprintf(buf, len,
                     "RPC version mismatch: the server speaks RPC versions %" PRIu32 " to %" PRIu32,
                     d->low, d->high);
        break;
    case PARLEY_ERR_AUTH:
        snprintf(buf, len, "authentication failed: %s", parley_auth_strerror(d->auth_stat));
        break;
    default:
        snprintf(buf, len, "%s", parley_strerror(d->err));
        break;
    }
    return buf;
}
