/*
 * dgram.c: the client over UDP: one datagram per call, retransmitted with
 * a doubling interval until the deadline, and the datagram reader.
 *
 * Part of the client (runtime/src/client/): pl_dgram_ops, the transport
 * that client.c and async.c call for a handle on a connected UDP socket
 * (internal.h). There is no connection to lose and no stream to frame: a
 * call's message is the datagram, sent by its own caller (never queued
 * behind another's), and sent again when its interval passes (by the
 * synchronous caller itself, by parley_client_poll for a submitted call).
 * Whoever holds the read role receives datagrams and matches them by xid
 * like stream replies; a datagram that is not the reply of a waiting call
 * is dropped, and one larger than the handle's limit fails its call with
 * PARLEY_ERR_MSG_TOO_LARGE.
 */
#include <pthread.h>
#include <sys/socket.h>

#include "client/internal.h"
#include "net/clock.h"

/* The largest datagram UDP carries (and so the read buffer of UDP). */
#define DGRAM_MAX ((size_t)65535)

/* dgram_frame: the datagram is the bare message, after the 4 bytes kept
 * for a record mark. */
static int dgram_frame(uint8_t *buf, size_t n, const uint8_t **msg, size_t *len)
{
    *msg = buf + 4;
    *len = n;
    return PARLEY_OK;
}

/* dgram_queue: a datagram is sent by its caller, holding the send role;
 * one call's datagram is one send, with nothing to batch. */
static int dgram_queue(parley_client *c, pending *p, const uint8_t *msg, size_t len)
{
    return -1;
}

/* dgram_flush: nothing is ever queued. */
static void dgram_flush(parley_client *c, int fd, int64_t deadline) {}

/* dgram_read receives datagrams as the holder of the read role (mutex not
 * held) and delivers each to its call, until self's reply has arrived
 * (PARLEY_OK), until (TIMEDOUT: the deadline, or self's next
 * retransmission), or with nonblock until nothing more is there. Other
 * errors: the socket's (a refused port, reported by the kernel to a
 * receive). MSG_TRUNC gives a datagram's real size, so that one cut to the
 * read buffer is told apart. */
static int dgram_read(parley_client *c, pending *self, int fd, int64_t until, int nonblock)
{
    for (;;) {
        size_t got;
        int rc = pl_client_recv(c, fd, MSG_TRUNC, until, nonblock, &got);
        if (rc != PARLEY_OK)
            return rc;
        size_t len = got < c->rcap ? got : c->rcap;
        pthread_mutex_lock(&c->mu);
        int mine = pl_client_deliver(c, self, c->rbuf, len, got > c->max_msg);
        pl_client_unlock(c);
        if (mine)
            return PARLEY_OK;
    }
}

/* dgram_on_broken: a datagram socket has no connection to break, and an
 * error it reports belongs to the call whose thread met it (self, failed
 * by the caller already). The poller (self NULL) has no call of its own:
 * the error fails the submitted calls, which no thread waits for. */
static void dgram_on_broken(parley_client *c, pending *self, int rc)
{
    if (self != NULL)
        return;
    for (pending *q = c->waiters, *next; q; q = next) {
        next = q->next;
        if (q->async)
            pl_client_complete(c, q, rc);
    }
}

/* dgram_reset: a datagram socket never breaks, so it is never closed
 * before the handle is, and the reader keeps no state between reads. */
static void dgram_reset(parley_client *c) {}

/* pl_dgram_backoff returns the interval to wait after a UDP call's
 * transmission that followed an interval of ms milliseconds: twice ms, but
 * never more than PL_DGRAM_MAX_RETRANSMIT_MS, whatever ms is (no overflow).
 * It is the one place where the doubling is written. */
unsigned pl_dgram_backoff(unsigned ms)
{
    return ms >= PL_DGRAM_MAX_RETRANSMIT_MS / 2 ? PL_DGRAM_MAX_RETRANSMIT_MS : ms * 2;
}

/* dgram_schedule sets when the UDP call p is next sent, now being the time
 * of the transmission just made: after the handle's retransmit_ms the
 * first time, lowered to PL_DGRAM_MAX_RETRANSMIT_MS when it is above (the
 * cap bounds how long a lost datagram goes unanswered, the first one's
 * too), then after pl_dgram_backoff of the previous interval.
 * p->retransmit_ms is the interval now running, 0 before the first. */
static void dgram_schedule(const parley_client *c, pending *p, int64_t now)
{
    if (p->retransmit_ms == 0)
        p->retransmit_ms = c->retransmit_ms < PL_DGRAM_MAX_RETRANSMIT_MS
                               ? c->retransmit_ms
                               : PL_DGRAM_MAX_RETRANSMIT_MS;
    else
        p->retransmit_ms = pl_dgram_backoff(p->retransmit_ms);
    p->next_tx = now + (int64_t)p->retransmit_ms * 1000000;
}

const pl_client_ops pl_dgram_ops = {
    .socktype = SOCK_DGRAM,
    .rbuf_size = DGRAM_MAX,
    .frame = dgram_frame,
    .queue = dgram_queue,
    .flush = dgram_flush,
    .read = dgram_read,
    .on_broken = dgram_on_broken,
    .reset = dgram_reset,
    .schedule = dgram_schedule,
};
