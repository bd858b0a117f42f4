/*
 * stream.c: the client over a stream socket, TCP or Unix: record marking,
 * the send queue, the stream's reader, and breaking a connection that
 * failed.
 *
 * Part of the client (runtime/src/client/): pl_stream_ops, the transport
 * that client.c and async.c call for a handle on a stream (internal.h), as
 * libuv shares one stream implementation between TCP and pipes. The
 * connection is opened on the first call and again on the call after it
 * broke (client.c, dial.c).
 *
 *   - A call that finds the send role taken does not wait for it: it
 *     registers itself, copies its message to the handle's send queue and
 *     goes on to wait for its reply. The holder, after its own send, writes
 *     the whole queue with one send(), and again until it is empty
 *     (flush_queue), so that many threads' calls take few system calls.
 *   - The holder of the read role reads into the handle's read buffer and
 *     delivers every complete message the read brought under one hold of
 *     the mutex (drain_rbuf); a reply's record may span reads, and the
 *     record-marking reader (wire/recmark.h) keeps it until it is whole.
 *   - A broken connection (end of stream, reset, lost framing, a send that
 *     stopped half-way) fails every call waiting on it with
 *     PARLEY_ERR_CLOSED; it is shut down at once (which wakes a leader
 *     blocked in recv) and closed by the last thread that used it; the next
 *     call connects again.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "client/internal.h"
#include "net/clock.h"
#include "net/sock.h"
#include "wire/recmark.h"

/* The read buffer of a stream: a read takes up to this much at once. */
#define STREAM_RBUF ((size_t)64 << 10)
/* The most bytes of messages queued for the holder of the send role; a
 * call that would pass it waits for the role instead. */
#define SEND_QUEUE_MAX ((size_t)256 << 10)

/* stream_frame puts the record mark in the 4 bytes before the n bytes of
 * the message at buf + 4: one fragment, the whole of it. */
static int stream_frame(uint8_t *buf, size_t n, const uint8_t **msg, size_t *len)
{
    int rc = pl_rm_frame(buf, n);
    if (rc != PARLEY_OK)
        return rc;
    *msg = buf;
    *len = n + 4;
    return PARLEY_OK;
}

/* break_conn marks the stream connection broken: shut down at once, so that
 * a leader blocked in recv() returns, and closed by pl_client_maybe_close.
 * Every call waiting on it fails with err. */
static void break_conn(parley_client *c, int err)
{
    if (c->fd >= 0 && !c->broken) {
        c->broken = 1;
        shutdown(c->fd, SHUT_RDWR);
    }
    c->queue_len = 0; /* their calls fail below */
    while (c->waiters)
        pl_client_complete(c, c->waiters, err);
    pl_client_maybe_close(c);
}

/* ---- the send queue ------------------------------------------------------ */

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

/* stream_queue queues p's message msg for the holder of the send role
 * (mutex held) and notes the batch it joins; nonzero when the queue has no
 * room, and p waits for the role instead. */
static int stream_queue(parley_client *c, pending *p, const uint8_t *msg, size_t len)
{
    if (enqueue(c, msg, len) != 0)
        return -1;
    /* batch numbers start at 1 in p->batch: 0 is no batch */
    p->batch = c->batch + 1;
    return 0;
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

/* ---- the reader ---------------------------------------------------------- */

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
            if (pl_client_deliver(c, self, c->rm.msg, c->rm.msg_len, 0)) {
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

/* stream_read reads replies as the holder of the read role (mutex not
 * held): first those left in the read buffer by the last read, then from
 * the socket, until self's own has arrived (PARLEY_OK), until (TIMEDOUT),
 * or with nonblock until nothing more is there. Other errors: the end of
 * the stream (PARLEY_ERR_CLOSED), lost framing, the socket's. */
static int stream_read(parley_client *c, pending *self, int fd, int64_t until, int nonblock)
{
    for (;;) {
        int mine = 0;
        int rc = drain_rbuf(c, self, &mine);
        if (rc != PARLEY_OK)
            return rc;
        if (mine)
            return PARLEY_OK;
        c->rpos = c->rlen = 0;
        size_t got;
        rc = pl_client_recv(c, fd, 0, until, nonblock, &got);
        if (rc != PARLEY_OK)
            return rc;
        if (got == 0)
            return PARLEY_ERR_CLOSED;
        c->rlen = got;
    }
}

/* stream_on_broken breaks the connection, whoever met its failure: the
 * calls in flight on it fail with PARLEY_ERR_CLOSED. */
static void stream_on_broken(parley_client *c, pending *self, int rc)
{
    break_conn(c, PARLEY_ERR_CLOSED);
}

/* stream_reset makes the reader ready for the next connection, once the
 * broken one is closed (no thread holds the read role). */
static void stream_reset(parley_client *c)
{
    pl_rm_destroy(&c->rm);
    pl_rm_init(&c->rm);
    c->rm.max_msg = c->max_msg;
    c->rpos = c->rlen = 0;
}

/* stream_schedule: a stream delivers the message or breaks, so a call is
 * never sent again. */
static void stream_schedule(const parley_client *c, pending *p, int64_t now)
{
    p->next_tx = PL_NEVER;
}

const pl_client_ops pl_stream_ops = {
    .socktype = SOCK_STREAM,
    .rbuf_size = STREAM_RBUF,
    .frame = stream_frame,
    .queue = stream_queue,
    .flush = flush_queue,
    .read = stream_read,
    .on_broken = stream_on_broken,
    .reset = stream_reset,
    .schedule = stream_schedule,
};
