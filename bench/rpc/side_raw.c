/*
 * side_raw.c: the "raw" side of the RPC benchmark, the physical limit of
 * each transport. Its client sends the exact bytes of an ONC RPC call of
 * rpcbench.x (with AUTH_NONE, and over streams the 4-byte record mark) and
 * its server answers with the exact bytes of the reply, copying the xid
 * into a canned message: one write and one read per message on each end,
 * no decoding, no dispatch. Whatever an RPC runtime adds on top of this is
 * its own cost.
 *
 * The "raw+poll" side is the same ping-pong with each end polling its
 * socket (MSG_DONTWAIT) for up to RAW_SPIN_US before it blocks, as Parley's
 * busy poll does: the limit for a runtime that polls.
 */
#include "bench_rpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CALL_LEN      40 /* xid, CALL, rpcvers, prog, vers, proc, cred, verf */
#define REPLY_HDR_LEN 24 /* xid, REPLY, MSG_ACCEPTED, verf, SUCCESS */
#define MARK_LAST     0x80000000u
#define IO_TIMEOUT_S  5  /* a lost reply or a dead server fails the call */
#define RAW_SPIN_US   50 /* raw+poll: how long a read polls before it blocks */

/* Whether the server's reads poll first (raw+poll's server child); set
 * before it serves. */
static int spin_reads;

/* raw_recv is recvfrom() (from may be NULL), polling first when spin. */
static ssize_t raw_recv(int fd, void *buf, size_t len, struct sockaddr *from, socklen_t *fromlen,
                        int spin)
{
    if (spin) {
        struct timespec t0, t;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        do {
            socklen_t keep = fromlen ? *fromlen : 0;
            ssize_t k = recvfrom(fd, buf, len, MSG_DONTWAIT, from, fromlen);
            if (k >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                return k;
            if (fromlen)
                *fromlen = keep;
            clock_gettime(CLOCK_MONOTONIC, &t);
        } while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) <
                 RAW_SPIN_US * 1000L);
    }
    return recvfrom(fd, buf, len, 0, from, fromlen);
}

/* A canned message: its bytes with room for the record mark in front, and
 * its length without the mark. */
typedef struct canned {
    uint8_t bytes[4 + RB_MAX_MESSAGE];
    size_t len;
} canned;

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    uint32_t be = htonl(v);
    memcpy(p, &be, 4);
    return p + 4;
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t be;
    memcpy(&be, p, 4);
    return ntohl(be);
}

/* make_call builds the call of workload w, record mark included. */
static void make_call(canned *c, int w)
{
    uint8_t *p = c->bytes;

    p = put32(p, MARK_LAST | CALL_LEN);
    p = put32(p, 0); /* xid, set per call */
    p = put32(p, 0); /* CALL */
    p = put32(p, 2); /* RPC version */
    p = put32(p, RB_PROG);
    p = put32(p, RB_VERS);
    p = put32(p, w == RB_USERS ? RB_PROC_USERS : RB_PROC_NULL);
    p = put32(p, 0); /* credentials: AUTH_NONE, empty */
    p = put32(p, 0);
    p = put32(p, 0); /* verifier: AUTH_NONE, empty */
    put32(p, 0);
    c->len = CALL_LEN;
}

/* make_reply builds the successful reply of workload w. */
static void make_reply(canned *c, int w)
{
    uint8_t *p = c->bytes + 4;
    size_t body = 0;

    p = put32(p, 0); /* xid, copied from the call */
    p = put32(p, 1); /* REPLY */
    p = put32(p, 0); /* MSG_ACCEPTED */
    p = put32(p, 0); /* verifier: AUTH_NONE, empty */
    p = put32(p, 0);
    p = put32(p, 0); /* SUCCESS */
    if (w == RB_USERS)
        body = rb_encode_users(p, RB_MAX_MESSAGE - REPLY_HDR_LEN);
    c->len = REPLY_HDR_LEN + body;
    put32(c->bytes, MARK_LAST | (uint32_t)c->len);
}

/* ---- server ------------------------------------------------------------- */

/* The canned replies, built once in the server child; each connection's
 * thread works on its own copy, since it writes the xid into it. */
static canned replies[RB_NWORKLOADS];

/* reply_to returns the reply among r[] to a call of len bytes at msg, with
 * the xid of the call, or NULL when the call is too short or not of
 * rpcbench.x. */
static canned *reply_to(canned *r, const uint8_t *msg, size_t len)
{
    if (len < CALL_LEN || get32(msg + 12) != RB_PROG)
        return NULL;
    r = &r[get32(msg + 20) == RB_PROC_USERS ? RB_USERS : RB_NULL];
    memcpy(r->bytes + 4, msg, 4);
    return r;
}

/* The state of one connection's thread. */
typedef struct stream_conn {
    int fd;
    canned replies[RB_NWORKLOADS];
    uint8_t in[2 * (4 + RB_MAX_MESSAGE)];
} stream_conn;

/* serve_stream answers the calls of one connection: per message one read
 * (more only when a message arrives in pieces) and one write. */
static void *serve_stream(void *arg)
{
    stream_conn *c = arg;
    size_t have = 0;

    for (;;) {
        ssize_t k = raw_recv(c->fd, c->in + have, sizeof c->in - have, NULL, NULL, spin_reads);
        size_t at = 0;

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        have += (size_t)k;
        while (have - at >= 4) {
            size_t len = get32(c->in + at) & ~MARK_LAST;
            canned *r;

            if (len > RB_MAX_MESSAGE)
                goto done;
            if (have - at < 4 + len)
                break;
            if ((r = reply_to(c->replies, c->in + at + 4, len)) == NULL ||
                rb_write_full(c->fd, r->bytes, 4 + r->len) != 0)
                goto done;
            at += 4 + len;
        }
        memmove(c->in, c->in + at, have - at);
        have -= at;
    }
done:
    close(c->fd);
    free(c);
    return NULL;
}

/* serve_dgram answers each datagram with one. */
static int serve_dgram(int fd, char *err, size_t errlen)
{
    static uint8_t in[RB_MAX_MESSAGE];

    for (;;) {
        struct sockaddr_storage from;
        socklen_t fromlen = sizeof from;
        ssize_t k = raw_recv(fd, in, sizeof in, (struct sockaddr *)&from, &fromlen, spin_reads);
        canned *r;

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rb_set_err(err, errlen, "recvfrom: %s", strerror(errno));
            return -1;
        }
        if ((r = reply_to(replies, in, (size_t)k)) != NULL)
            sendto(fd, r->bytes + 4, r->len, 0, (struct sockaddr *)&from, fromlen);
    }
}

static int raw_serve(int transport, int fd, char *err, size_t errlen)
{
    for (int w = 0; w < RB_NWORKLOADS; w++)
        make_reply(&replies[w], w);
    if (transport == RB_UDP)
        return serve_dgram(fd, err, errlen);
    for (;;) {
        int fd_c = accept(fd, NULL, NULL);
        stream_conn *c;
        pthread_t t;

        if (fd_c < 0 && (errno == EINTR || errno == ECONNABORTED))
            continue;
        if (fd_c < 0) {
            rb_set_err(err, errlen, "accept: %s", strerror(errno));
            return -1;
        }
        if ((c = malloc(sizeof *c)) == NULL) {
            close(fd_c);
            continue;
        }
        c->fd = fd_c;
        memcpy(c->replies, replies, sizeof replies);
        if (pthread_create(&t, NULL, serve_stream, c) != 0) {
            rb_set_err(err, errlen, "no thread for a connection");
            return -1;
        }
        pthread_detach(t);
    }
}

/* ---- client ------------------------------------------------------------- */

typedef struct raw_client {
    int fd;
    int stream;
    int spin; /* raw+poll */
    uint32_t xid;
    canned call[RB_NWORKLOADS];
    size_t reply_len[RB_NWORKLOADS];
    uint8_t in[4 + RB_MAX_MESSAGE];
} raw_client;

static void raw_disconnect(void *p)
{
    raw_client *c = p;

    if (c != NULL) {
        close(c->fd);
        free(c);
    }
}

/* raw_connect connects a socket to the server (UDP sockets too, so that
 * send and recv need no address), with a timeout on its reads. */
static void *raw_connect(const rb_server *srv, char *err, size_t errlen)
{
    raw_client *c = calloc(1, sizeof *c);
    struct timeval tv = {IO_TIMEOUT_S, 0};
    int type = srv->transport == RB_UDP ? SOCK_DGRAM : SOCK_STREAM;

    if (c == NULL) {
        rb_set_err(err, errlen, "out of memory");
        return NULL;
    }
    c->stream = srv->transport != RB_UDP;
    c->xid = 0x51a70000u;
    for (int w = 0; w < RB_NWORKLOADS; w++) {
        canned r;
        make_call(&c->call[w], w);
        make_reply(&r, w);
        c->reply_len[w] = r.len;
    }
    c->fd = socket(srv->addr.ss_family, type, 0);
    if (c->fd < 0 || setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
        connect(c->fd, (const struct sockaddr *)&srv->addr, srv->addrlen) != 0) {
        rb_set_err(err, errlen, "connect: %s", strerror(errno));
        if (c->fd >= 0)
            close(c->fd);
        free(c);
        return NULL;
    }
    return c;
}

/* raw_call sends one call and reads its reply, checking the xid, that the
 * call was accepted and succeeded, and the reply's length. */
static int raw_call(void *p, int w, char *err, size_t errlen)
{
    raw_client *c = p;
    canned *call = &c->call[w];
    const uint8_t *msg = c->in;
    size_t len = 0;
    uint32_t xid = ++c->xid;

    errno = 0;
    put32(call->bytes + 4, xid);
    if (c->stream) {
        size_t have = 0;

        if (rb_write_full(c->fd, call->bytes, 4 + call->len) != 0)
            goto io;
        do {
            ssize_t k = raw_recv(c->fd, c->in + have, sizeof c->in - have, NULL, NULL, c->spin);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                goto io;
            have += (size_t)k;
        } while (have < 4 || have < 4 + (get32(c->in) & ~MARK_LAST));
        len = get32(c->in) & ~MARK_LAST;
        msg = c->in + 4;
        if (have != 4 + len)
            goto bad;
    } else {
        ssize_t k;

        if (send(c->fd, call->bytes + 4, call->len, 0) != (ssize_t)call->len)
            goto io;
        while ((k = raw_recv(c->fd, c->in, sizeof c->in, NULL, NULL, c->spin)) < 0 &&
               errno == EINTR)
            ;
        if (k < 0)
            goto io;
        len = (size_t)k;
    }
    if (len != c->reply_len[w] || get32(msg) != xid || get32(msg + 4) != 1 || get32(msg + 8) != 0 ||
        get32(msg + 20) != 0)
        goto bad;
    return 0;
io:
    rb_set_err(err, errlen, "%s", errno ? strerror(errno) : "connection closed");
    return -1;
bad:
    rb_set_err(err, errlen, "unexpected reply (%zu bytes)", len);
    return -1;
}

const rb_side rb_side_raw = {
    .name = "raw",
    .transports = 1u << RB_TCP | 1u << RB_UDP | 1u << RB_UNIX,
    .shared = 0,
    .serve = raw_serve,
    .connect = raw_connect,
    .call = raw_call,
    .disconnect = raw_disconnect,
};

static int rawpoll_serve(int transport, int fd, char *err, size_t errlen)
{
    spin_reads = 1;
    return raw_serve(transport, fd, err, errlen);
}

static void *rawpoll_connect(const rb_server *srv, char *err, size_t errlen)
{
    raw_client *c = raw_connect(srv, err, errlen);
    if (c != NULL)
        c->spin = 1;
    return c;
}

const rb_side rb_side_rawpoll = {
    .name = "raw+poll",
    .transports = 1u << RB_TCP | 1u << RB_UDP | 1u << RB_UNIX,
    .shared = 0,
    .serve = rawpoll_serve,
    .connect = rawpoll_connect,
    .call = raw_call,
    .disconnect = raw_disconnect,
};
