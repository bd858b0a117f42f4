/*
 * client.c: the RPC client (parley/client.h, docs/runtime.md "Client"): the
 * handle, its calls in flight, the send and read roles, and synchronous
 * calls.
 *
 * The top of the client layer (runtime/src/client/, internal.h): the
 * transport's part is behind the handle's pl_client_ops, stream.c for a
 * TCP or Unix stream connection, opened on the first call and again on the
 * call after it broke, dgram.c for a connected UDP socket; dial.c resolves
 * and connects; async.c has the submitted calls and parley_client_poll.
 * Any number of threads call through a handle at once:
 *
 *   - A call takes an xid from an atomic counter, encodes its message (record
 *     mark, header, arguments) into one buffer outside any lock, takes the
 *     send role (a flag under the handle's mutex, so that waiting for it
 *     honours the call's deadline), registers itself among the calls waiting
 *     for a reply, and sends the buffer with one send(). On a stream, a call
 *     that finds the send role taken queues its message for the holder
 *     instead, which writes the queue after its own send (stream.c).
 *   - It then waits for its reply with no lock held across the round trip,
 *     leader/follower style: one waiting call at a time holds the read role
 *     and reads the socket; each reply it reads is matched by xid to its call,
 *     copied out and handed over, the call's thread woken on a futex word of
 *     its own (see the wakes below); a reply nobody waits for (its call timed
 *     out) is dropped. The replies one read brought are all delivered under
 *     one hold of the mutex, the leader's own among them, before it passes
 *     the read role to the first other waiter. When no other call waits, it
 *     decodes its reply in place, in the read buffer, and only then gives the
 *     role up: a single-threaded caller makes one send() and one recv() per
 *     call, and copies nothing.
 *   - What a failed socket means is the transport's (on_broken): a
 *     stream's connection breaks, failing every call waiting on it, and is
 *     closed by the last thread that used it (pl_client_maybe_close); a
 *     datagram socket's error fails the call that met it.
 *   - A call is sent again when the transport's schedule says: a UDP call
 *     with a doubling interval until its deadline, a stream's never.
 *
 * The waiting calls are a linked list searched by xid: a handle has as many
 * entries as threads calling through it plus the submitted calls in flight.
 */
#include "parley/client.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
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
/* Messages up to this size are encoded on the stack. */
#define STACK_MSG 2048u

/* ---- helpers under the handle's mutex ------------------------------------ */

/* pl_client_set_errno keeps e, the errno of a failed system call, for
 * parley_client_errno; 0 for a failure that had none (the server closed the
 * stream, a time-out), so that an earlier failure's errno is never shown
 * with a later failure. */
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

/* pl_client_unlock releases the handle's mutex, then wakes the sleepers
 * noted. */
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

/* pl_client_complete ends the waiting call p with err (its reply, if any,
 * already attached) and wakes its thread, or for a submitted call moves it
 * to the finished list and wakes the poller. */
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

/* pl_client_maybe_close closes a broken connection once no thread uses its
 * fd, and resets the reader for the next one; the next connection tries
 * the address it went to last (another instance of a service first). */
void pl_client_maybe_close(parley_client *c)
{
    if (!c->broken || c->sending || c->reading)
        return;
    close(c->fd);
    c->fd = -1;
    c->broken = 0;
    c->avoid = c->conn_at; /* the next connection tries another instance first */
    c->avoid_set = 1;
    c->ops->reset(c);
    c->rcvtimeo = 0;
    pthread_cond_broadcast(&c->send_cv);
}

/* timed_wait waits on cv until deadline (CLOCK_MONOTONIC); returns nonzero
 * when the deadline passed. */
static int timed_wait(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline)
{
    struct timespec ts = pl_timespec(deadline);
    return pthread_cond_timedwait(cv, mu, &ts) == ETIMEDOUT;
}

/* ---- reading ------------------------------------------------------------- */

/* pl_client_deliver hands the message msg to the waiting call with its
 * xid. For another call, the bytes are copied out. For self (the reader's
 * call), they are borrowed in place when no other call waits (the caller
 * keeps the read role while it decodes them), else copied. A message too
 * short to hold an xid, or whose call is no longer waiting, is dropped.
 * Returns nonzero when self's reply arrived. too_large: the message was cut
 * (a datagram over the handle's limit), and its call fails with
 * PARLEY_ERR_MSG_TOO_LARGE. The handle's mutex is held. */
int pl_client_deliver(parley_client *c, pending *self, const uint8_t *msg, size_t len,
                      int too_large)
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
    c->last_rx = pl_now_ns();
    pl_client_complete(c, q, err);
    return q == self;
}

/* pl_client_recv receives into the read buffer, as the holder of the read
 * role (mutex not held), with flags for recv(): what is there at once with
 * nonblock (the poller: PARLEY_ERR_TIMEDOUT when nothing is), else
 * spinning first as the busy-poll policy says (never past until), then
 * blocking until until. *got is the size recv() returned. Errors:
 * PARLEY_ERR_TIMEDOUT, the socket's (its errno kept). */
int pl_client_recv(parley_client *c, int fd, int flags, int64_t until, int nonblock, size_t *got)
{
    if (nonblock) {
        /* the socket stays blocking for the synchronous callers: look
         * first, then the receive finds something at once */
        struct pollfd pf = {.fd = fd, .events = POLLIN, .revents = 0};
        if (poll(&pf, 1, 0) <= 0)
            return PARLEY_ERR_TIMEDOUT;
        until = pl_deadline_after_ms(1000);
    }
    int e = 0;
    int rc = PARLEY_ERR_TIMEDOUT;
    if (!nonblock && c->spin_ns > 0 && pl_spin_wanted(&c->spin)) {
        int64_t spin_until = pl_now_ns() + c->spin_ns;
        rc = pl_sock_recv_spin(fd, c->rbuf, c->rcap, flags, spin_until < until ? spin_until : until,
                               got, &e);
        pl_spin_account(&c->spin, rc == PARLEY_OK);
    }
    if (rc == PARLEY_ERR_TIMEDOUT)
        rc = pl_sock_recv(fd, c->rbuf, c->rcap, flags, until, &c->rcvtimeo, got, &e);
    if (rc != PARLEY_OK && e)
        pl_client_set_errno(c, e);
    else if (rc == PARLEY_OK && *got == 0 && c->ops->socktype == SOCK_STREAM)
        pl_client_set_errno(c, 0); /* the stream's end: a failure with no errno of its own */
    return rc;
}

/* pl_client_release_reader gives the read role up after the transport's
 * read returned rc for self (mutex held; self is NULL for the poller). A
 * failure fails self with rc (the end of the stream is PARLEY_ERR_CLOSED,
 * lost framing PARLEY_ERR_MSG_TOO_LARGE or _PROTOCOL) and goes to the
 * transport's on_broken: a stream is broken, failing the other calls in
 * flight with PARLEY_ERR_CLOSED; a datagram socket's error met by the
 * poller (the port is unreachable) fails the submitted calls. A
 * synchronous caller's release wakes the poller, which does not watch the
 * socket while the role is held and may find replies left in the read
 * buffer. */
void pl_client_release_reader(parley_client *c, pending *self, int rc)
{
    c->reading = 0;
    if (rc != PARLEY_OK && rc != PARLEY_ERR_TIMEDOUT) {
        if (self && !self->done)
            pl_client_complete(c, self, rc);
        c->ops->on_broken(c, self, rc);
    }
    if (self && c->n_async > 0)
        pl_async_wake(c);
    pl_client_maybe_close(c);
    wake_next_reader(c);
}

/* ---- sending ------------------------------------------------------------- */

/* register_call adds p to the calls waiting for a reply (mutex held). */
static void register_call(parley_client *c, pending *p)
{
    pl_pending_add(&c->waiters, p);
    if (p->async) {
        c->n_async++;
        pl_async_added(c, p);
    }
}

/* connected notes that the handle's new connection goes to at (mutex held,
 * the send role taken): a connection to another instance of the service
 * than the last one gets a new instance number (see pinned_elsewhere). */
static void connected(parley_client *c, const pl_sockaddr *at)
{
    if (c->inst == 0 || !pl_client_same_instance(&c->conn_at, at))
        c->inst++;
    c->conn_at = *at;
    c->avoid_set = 0;
}

/* pinned_elsewhere tells whether the call p is pinned to an instance of
 * the service that the handle's connection does not go to (mutex held):
 * a guaranteed call that went out to one instance, whose connection then
 * broke, may have run there, and only that instance's records can answer
 * for it; another instance, which has no record of it, would run it a
 * second time (or answer it HELLO, by the incarnation rule, but not when
 * it knows the handle from earlier calls and keeps exactly-once calls in a
 * store of its own). */
static int pinned_elsewhere(const parley_client *c, const pending *p)
{
    return p->pin && p->inst != 0 && p->inst != c->inst;
}

/* hand registers p as handed to the connection, pinning it to the
 * connection's instance when it asks to be (mutex held). */
static void hand(parley_client *c, pending *p)
{
    p->handed = 1;
    if (p->pin && p->inst == 0)
        p->inst = c->inst;
    register_call(c, p);
}

/* How long a connection may go without a reply before a call first looks
 * whether the server has closed it: long enough that calls made back to
 * back (a few microseconds apart) pay no system call for it, short enough
 * that a server restarted between two calls is seen. */
#define IDLE_CHECK_NS ((int64_t)20000)

/* idle_conn_closed tells whether the server has closed the handle's
 * stream connection while no call was in flight on it (mutex held, the
 * send role taken): a server that restarted, or closed it for idleness.
 * Looked at only on a connection idle for a while, and with no call
 * waiting and no reader on it, so that a busy connection pays nothing;
 * then one non-blocking peek. */
static int idle_conn_closed(parley_client *c)
{
    if (c->ops->socktype != SOCK_STREAM || c->waiters || c->reading || c->broken ||
        pl_now_ns() - c->last_rx < IDLE_CHECK_NS)
        return 0;
    uint8_t b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* pl_client_start connects if need be, registers p among the waiting calls
 * and sends msg. When another call holds the send role on a working
 * stream, msg is queued for it instead (the transport's queue, stream.c)
 * and start returns at once; the holder sends its own message, then the
 * queue (the transport's flush). On failure p is not registered; a stream
 * that got part of the message is broken. A call pinned to an instance
 * (p->pin, p->inst) that the connection does not go to is not sent:
 * PARLEY_ERR_IN_DOUBT. A submitted call (p->async) that
 * was registered is never failed here: a failure of its send completes it
 * with the error, for its callback, and start returns PARLEY_OK; from then
 * on p belongs to the handle and may already be freed when start
 * returns. */
int pl_client_start(parley_client *c, pending *p, const uint8_t *msg, size_t len, int64_t deadline)
{
    pthread_mutex_lock(&c->mu);
    /* wait for the send role, and for a broken connection to be closed by
     * the leader still reading it (woken by its shutdown) */
    while (c->sending || c->broken) {
        if (c->sending && !c->broken && c->fd >= 0 && !pinned_elsewhere(c, p) &&
            c->ops->queue(c, p, msg, len) == 0) {
            hand(c, p);
            pl_client_unlock(c);
            return PARLEY_OK;
        }
        wake_now(c); /* the wait releases the mutex without pl_client_unlock */
        if (timed_wait(&c->send_cv, &c->mu, deadline) && (c->sending || c->broken)) {
            pl_client_unlock(c);
            return PARLEY_ERR_TIMEDOUT;
        }
    }
    c->sending = 1;
    if (c->fd >= 0 && idle_conn_closed(c)) {
        /* the server closed it while idle (it restarted, or timed it out):
         * this call has not left yet, so it goes out on a new one. No
         * call waits on it and nobody reads it, and this thread holds
         * the send role: it closes it at once. */
        close(c->fd);
        c->fd = -1;
        c->ops->reset(c);
        c->rcvtimeo = 0;
        c->avoid = c->conn_at;
        c->avoid_set = 1;
    }
    if (c->fd < 0) {
        int fd = -1;
        pl_sockaddr avoid = c->avoid, at;
        int avoid_set = c->avoid_set;
        pl_client_unlock(c);
        int rc = pl_client_dial(c, deadline, avoid_set ? &avoid : NULL, &fd, &at);
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
        connected(c, &at);
    }
    if (pinned_elsewhere(c, p)) {
        /* the connection goes to another instance than the one this call
         * went out to, and whose records alone can tell whether it ran
         * there: not sent here (docs/semantics.md) */
        c->sending = 0;
        pthread_cond_signal(&c->send_cv);
        pl_client_unlock(c);
        return PARLEY_ERR_IN_DOUBT;
    }
    int fd = c->fd;
    hand(c, p);
    pl_client_unlock(c);

    size_t sent = 0;
    int e = 0;
    int rc = pl_sock_send(fd, msg, len, deadline, &sent, &e);

    pthread_mutex_lock(&c->mu);
    int failed = rc != PARLEY_OK;
    if (failed) {
        pl_client_set_errno(c, e); /* 0 for a time-out: no system call failed */
        if (sent > 0 || rc != PARLEY_ERR_TIMEDOUT)
            c->ops->on_broken(c, p, rc);
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
     * (their batch shares this call's deadline; see stream.c's flush_queue) */
    c->ops->flush(c, fd, deadline);
    c->sending = 0;
    pthread_cond_signal(&c->send_cv);
    if (failed)
        wake_next_reader(c);
    pl_client_maybe_close(c); /* the connection may have broken while this thread sent */
    pl_client_unlock(c);
    return rc;
}

/* await waits for p's reply until deadline, taking the read role when it is
 * free, and sends msg again when the transport's schedule says (UDP; a
 * stream's call is never sent again). Returns p's outcome; with PARLEY_OK,
 * p->reply is the reply, and when p->borrowed the caller still holds the
 * read role. */
static int await(parley_client *c, pending *p, const uint8_t *msg, size_t len, int64_t deadline)
{
    pthread_mutex_lock(&c->mu);
    while (!p->done) {
        int64_t now = pl_now_ns();
        if (now >= deadline) {
            pl_pending_remove(&c->waiters, p);
            p->done = 1;
            p->err = PARLEY_ERR_TIMEDOUT;
            pl_client_set_errno(c, 0); /* no system call failed */
            break;
        }
        if (now >= p->next_tx) {
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
            p->resent++;
            PL_CLIENT_LOG(c, PARLEY_LOG_DEBUG, PARLEY_LOG_RETRANSMIT, 0,
                          "call xid %u sent again (transmission %u)", p->xid, p->resent + 1);
            c->ops->schedule(c, p, now);
            continue;
        }
        int64_t until = p->next_tx < deadline ? p->next_tx : deadline;
        if (!c->reading && c->fd >= 0 && !c->broken) {
            int fd = c->fd;
            c->reading = 1;
            pl_client_unlock(c);
            int rc = c->ops->read(c, p, fd, until, 0);
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
    pl_client_maybe_close(c);
    pl_client_unlock(c);
    return p->err;
}

/* ---- the reply ----------------------------------------------------------- */

/* The details of the last call completed in each thread
 * (parley_client_last_detail). */
static _Thread_local parley_rpc_detail last_detail;

/* pl_client_set_detail records the outcome err of a call completing in this
 * thread, with the details det (NULL: none). */
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

/* pl_client_decode_reply checks the reply header of p and decodes the
 * result into res with dec, allocating from arena (NULL: malloc). Results
 * with bytes left over are PARLEY_ERR_TRAILING: the server's idea of the
 * result type is not the caller's, which is worth reporting (libtirpc
 * ignores them). *det gets the versions and the auth_stat a refusal carries
 * (the header's fields, zero when absent). */
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

/* pl_client_message_size is the size of a call's message with args_size
 * bytes of arguments: record mark, xid .. proc (6 words), cred, verf
 * (AUTH_NONE). */
int pl_client_message_size(const parley_client *c, size_t args_size, size_t *out)
{
    size_t head = 4 + 24 + 8 + parley_round4(c->cred.len) + 8;
    if (args_size > SIZE_MAX - head)
        return PARLEY_ERR_MSG_TOO_LARGE;
    *out = head + args_size;
    return PARLEY_OK;
}

/* pl_client_encode encodes the call xid of proc into buf (cap bytes, from
 * pl_client_message_size); *msg and *len are what to send, as the
 * transport frames it: the record-marked message on a stream, the bare one
 * in a datagram. */
int pl_client_encode(parley_client *c, uint32_t xid, uint32_t proc, parley_args_enc *enc,
                     const void *args, uint8_t *buf, size_t cap, const uint8_t **msg, size_t *len)
{
    return pl_client_encode_cred(c, xid, proc, &c->cred, enc, args, buf, cap, msg, len);
}

/* pl_client_encode_cred is pl_client_encode with the credential cred (the
 * guarantees' own, around the handle's): buf has room for it. */
int pl_client_encode_cred(parley_client *c, uint32_t xid, uint32_t proc, const pl_opaque_auth *cred,
                          parley_args_enc *enc, const void *args, uint8_t *buf, size_t cap,
                          const uint8_t **msg, size_t *len)
{
    parley_enc e;
    size_t n = 0;
    parley_enc_init(&e, buf + 4, cap - 4);
    pl_msg_encode_call(&e, xid, c->prog, c->vers, proc, cred, NULL);
    if (enc)
        enc(&e, args);
    int rc = parley_enc_finish(&e, &n);
    if (rc != PARLEY_OK)
        return rc;
    return c->ops->frame(buf, n, msg, len);
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
    snprintf(c->addr_text, sizeof c->addr_text, "%s", addr);
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
    c->rcap = c->ops->rbuf_size;
    c->rbuf = malloc(c->rcap);
    rc = PARLEY_ERR_NOMEM;
    if (c->rbuf == NULL)
        goto fail;
    if (pthread_mutex_init(&c->mu, NULL) != 0)
        goto fail_buf;
    if (pl_cond_init_monotonic(&c->send_cv) != PARLEY_OK)
        goto fail_mu;
    rc = pl_once_init(c, &o);
    if (rc != PARLEY_OK)
        goto fail_cv;
    *out = c;
    return PARLEY_OK;
fail_cv:
    pthread_cond_destroy(&c->send_cv);
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
    pl_async_cancel_parked(c);
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
    pl_once_fini(c);
    pthread_cond_destroy(&c->send_cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* pl_client_attempt sends msg, the message of the call p (its xid set),
 * and waits for its reply until deadline; over UDP it is sent again as the
 * schedule says when resend is set, else only once. inst (NULL: the call
 * may go to any instance) pins a guaranteed call: *inst is the instance it
 * went out to before (0: none yet), where alone it may go again
 * (PARLEY_ERR_IN_DOUBT, nothing sent, when the handle's connection goes
 * elsewhere), and the one it has gone to afterwards. With PARLEY_OK the
 * reply is p->reply, and pl_client_attempt_end must follow once it is
 * decoded (it lets the read role go when the reply was read in place). */
int pl_client_attempt(parley_client *c, pending *p, const uint8_t *msg, size_t len,
                      int64_t deadline, int resend, uint64_t *inst)
{
    memset(p, 0, sizeof *p);
    atomic_init(&p->wake, 0);
    p->pin = inst != NULL;
    p->inst = inst ? *inst : 0;
    p->xid = parley_ld_u32(msg + (c->ops->socktype == SOCK_STREAM ? 4 : 0));
    c->ops->schedule(c, p, pl_now_ns());
    if (!resend)
        p->next_tx = PL_NEVER;
    int rc = pl_client_start(c, p, msg, len, deadline);
    if (inst)
        *inst = p->inst;
    if (rc == PARLEY_OK)
        rc = await(c, p, msg, len, deadline);
    return rc;
}

/* pl_client_attempt_end ends what pl_client_attempt began for p. */
void pl_client_attempt_end(parley_client *c, pending *p)
{
    if (p->borrowed) {
        pthread_mutex_lock(&c->mu);
        c->reading = 0;
        if (c->n_async > 0)
            pl_async_wake(c);
        pl_client_maybe_close(c);
        wake_next_reader(c);
        pl_client_unlock(c);
        p->borrowed = 0;
    }
    free(p->copy);
    p->copy = NULL;
}

/* call makes the call of parley_client_call with the guarantee sem (a
 * parley_semantics, or PL_SEM_PLAIN); *det gets the details of a refusal.
 * A plain or idempotent call is made here, the idempotent one sent again on
 * a new connection when its own broke, as often as the deadline allows;
 * the others go through once.c. The message is encoded into a
 * stack buffer when it is small, else into one allocated for the call.
 * Errors before anything is sent: PARLEY_ERR_INVALID, the encoder's
 * errors, PARLEY_ERR_MSG_TOO_LARGE, PARLEY_ERR_NOMEM. */
static int call(parley_client *c, uint32_t proc, parley_args_enc *enc, const void *args,
                size_t args_size, parley_res_dec *dec, void *res, unsigned timeout_ms,
                parley_arena *arena, int sem, parley_rpc_detail *det)
{
    if (c == NULL || (dec != NULL && res == NULL))
        return PARLEY_ERR_INVALID;
    int64_t deadline = pl_deadline_after_ms(timeout_ms ? timeout_ms : c->timeout_ms);
    sem = pl_once_semantics(c, proc, sem);
    if (sem == PARLEY_AT_MOST_ONCE || sem == PARLEY_EXACTLY_ONCE)
        return pl_once_call(c, proc, enc, args, args_size, dec, res, arena, (parley_semantics)sem,
                            deadline, det);
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
    for (;;) {
        pending p;
        rc = pl_client_attempt(c, &p, msg, len, deadline, 1, NULL);
        if (rc == PARLEY_OK)
            rc = pl_client_decode_reply(c, &p, dec, res, arena, det);
        pl_client_attempt_end(c, &p);
        /* an idempotent call may run again: a broken connection is retried
         * (a plain call reports it, as ONC RPC clients do) */
        if (sem != PARLEY_IDEMPOTENT || rc != PARLEY_ERR_CLOSED || pl_now_ns() >= deadline)
            break;
    }
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
    int rc = call(c, proc, enc, args, args_size, dec, res, timeout_ms, arena, PL_SEM_PLAIN, &det);
    pl_client_set_detail(rc, &det);
    return rc;
}

/* parley_client_call_opts: see parley/client.h. */
int parley_client_call_opts(parley_client *c, uint32_t proc, parley_args_enc *enc, const void *args,
                            size_t args_size, parley_res_dec *dec, void *res,
                            const parley_call_opts *o)
{
    parley_call_opts d = {0, PARLEY_AT_MOST_ONCE, NULL};
    if (o)
        d = *o;
    if (d.semantics != PARLEY_AT_MOST_ONCE && d.semantics != PARLEY_IDEMPOTENT &&
        d.semantics != PARLEY_EXACTLY_ONCE)
        return PARLEY_ERR_INVALID;
    parley_rpc_detail det = {0, 0, 0, 0};
    int rc = call(c, proc, enc, args, args_size, dec, res, d.timeout_ms, d.arena, (int)d.semantics,
                  &det);
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
