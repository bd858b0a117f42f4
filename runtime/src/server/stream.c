/*
 * server/stream.c: the server's TCP and Unix stream sockets, one
 * implementation for both (libuv's cut): accepting connections, reading
 * them with record marking, and writing replies without ever waiting for
 * a client.
 *
 * It sits between server.c, whose epoll loop calls the handlers of
 * pl_sv_listener_ops and pl_sv_stream_ops, and dispatch.c, which answers
 * the messages read here. A reader holds its connection's one-shot read
 * event: it reads what is there, splits it into messages, re-arms the
 * connection (so that another thread can read the next messages of a
 * pipelining client), then answers the messages itself and writes their
 * replies, those of one read in one write, under the connection's write
 * lock. Replies a client does not take wait in the connection's queue,
 * flushed on EPOLLOUT from a second registration (a dup of the
 * descriptor), while the connection is not read; past max_queued bytes the
 * connection is ended.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/clock.h"
#include "server/internal.h"
#include "wire/recmark.h"

/* ---- output ------------------------------------------------------------ */

/* arm_writable asks for EPOLLOUT on c's second registration (under wmu). */
static int arm_writable(parley_server *s, conn *c)
{
    struct epoll_event ev = {0};
    ev.events = EPOLLOUT | EPOLLONESHOT;
    ev.data.ptr = &c->wr;
    if (c->wfd < 0) {
        c->wfd = fcntl(c->fd, F_DUPFD_CLOEXEC, 0);
        if (c->wfd < 0)
            return -1;
        return epoll_ctl(s->ep, EPOLL_CTL_ADD, c->wfd, &ev);
    }
    return epoll_ctl(s->ep, EPOLL_CTL_MOD, c->wfd, &ev);
}

/* flush writes what c has queued (under wmu): 1 when all of it is out, 0
 * when the socket is full, -1 when the connection failed. */
static int flush(conn *c)
{
    while (c->outq_off < c->outq_len) {
        ssize_t k = send(c->fd, c->outq + c->outq_off, c->outq_len - c->outq_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k > 0) {
            c->outq_off += (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        return k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    }
    c->outq_off = c->outq_len = 0;
    return 1;
}

/* resume_reads re-arms c's read event if it was left unarmed while c's
 * replies waited (read_paused), under wmu. Nobody holds that event then,
 * so the thread that clears read_paused takes it over: when the re-arm
 * fails, nobody would ever read c again, see its end and free it, and it
 * would count against max_conns until destroy (an idle scan's shutdown
 * wakes only an armed socket). So c is marked dead at once (later replies
 * are dropped) and 1 is returned: the caller must then end c with
 * pl_sv_conn_end after letting go of wmu, never under it (ending drops the
 * registration's reference). Every caller holds a reference of its own
 * (the reader's, or the EPOLLOUT registration's), so that c outlives it.
 * Returns 0 otherwise. */
static int resume_reads(parley_server *s, conn *c)
{
    if (!c->read_paused)
        return 0;
    c->read_paused = 0;
    if (pl_sv_arm(s, c, EPOLL_CTL_MOD) == 0)
        return 0;
    atomic_store(&c->dead, 1);
    return 1;
}

/* fail_writes gives up on c's output (under wmu): the queue is dropped,
 * and reading resumes so that the reader sees the shut-down connection and
 * ends it. Returns resume_reads' answer: 1 when the caller must end c. */
static int fail_writes(parley_server *s, conn *c)
{
    shutdown(c->fd, SHUT_RDWR);
    c->outq_off = c->outq_len = 0;
    return resume_reads(s, c);
}

/* send_framed sends framed replies on a stream, or queues them behind
 * replies the client has not taken yet; never waits. The caller holds a
 * reference to c (see resume_reads). */
static void send_framed(parley_server *s, conn *c, const uint8_t *p, size_t n)
{
    int end = 0;
    pthread_mutex_lock(&c->wmu);
    if (atomic_load(&c->dead)) {
        pthread_mutex_unlock(&c->wmu);
        return;
    }
    if (!c->out_blocked) { /* the usual case: straight out */
        while (n) {
            ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (k > 0) {
                p += k;
                n -= (size_t)k;
            } else if (!(k < 0 && errno == EINTR)) {
                break;
            }
        }
        if (!n || !(errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (n)
                end = fail_writes(s, c);
            goto out;
        }
    }
    /* what the socket did not take waits: a client that does not read its
     * replies may hold at most max_queued bytes of them (counted on what
     * waits, not on what was sent: a read's many replies that the socket
     * takes at once never end a connection) */
    if (c->outq_len - c->outq_off + n > s->opts.max_queued) {
        pl_sv_conn_why(c, PL_SV_WHY_MAX_QUEUED);
        PL_SV_LOG(PARLEY_LOG_WARNING, PARLEY_LOG_LIMIT_MAX_QUEUED, c, PARLEY_ERR_LIMIT,
                  "unread replies beyond max_queued (%zu bytes): closing", s->opts.max_queued);
        end = fail_writes(s, c);
        goto out;
    }
    if (c->outq_len + n > c->outq_cap) {
        size_t cap = c->outq_cap ? c->outq_cap : 16384;
        while (cap < c->outq_len + n)
            cap *= 2;
        uint8_t *g = realloc(c->outq, cap);
        if (!g) {
            end = fail_writes(s, c);
            goto out;
        }
        c->outq = g;
        c->outq_cap = cap;
    }
    memcpy(c->outq + c->outq_len, p, n);
    c->outq_len += n;
    if (!c->out_blocked) {
        c->out_blocked = 1;
        atomic_fetch_add(&c->refs, 1); /* the EPOLLOUT registration's */
        if (arm_writable(s, c) != 0) {
            c->out_blocked = 0;
            end = fail_writes(s, c);
            pthread_mutex_unlock(&c->wmu);
            if (end)
                pl_sv_conn_end(s, c);
            pl_sv_conn_unref(s, c);
            return;
        }
    }
out:
    pthread_mutex_unlock(&c->wmu);
    if (end)
        pl_sv_conn_end(s, c);
}

/* on_writable continues writing what a slow reader left queued; it holds
 * the EPOLLOUT registration's reference until it is done. */
static void on_writable(worker *w, conn *c)
{
    parley_server *s = w->s;
    pthread_mutex_lock(&c->wmu);
    int rc = atomic_load(&c->dead) ? -1 : flush(c);
    if (rc == 0 && arm_writable(s, c) == 0) {
        pthread_mutex_unlock(&c->wmu);
        return;
    }
    c->out_blocked = 0;
    /* failed (or EPOLLOUT could not be asked for again), or all out: read
     * the client again */
    int end = rc <= 0 ? fail_writes(s, c) : resume_reads(s, c);
    pthread_mutex_unlock(&c->wmu);
    if (end)
        pl_sv_conn_end(s, c);
    pl_sv_conn_unref(s, c);
}

/* ---- accepting --------------------------------------------------------- */

enum { REARM_TRIES = 3 }; /* a listener's re-arm, before it is given up */

/* rearm_listener re-arms l, a listening socket whose event the calling
 * thread holds. Nobody else would ever re-arm it, and a listener left
 * unarmed accepts no connection again while the kernel goes on completing
 * its clients' handshakes into a queue nobody takes from: so a failure is
 * not left at that. epoll_ctl's MOD is tried REARM_TRIES times (a lack of
 * memory may pass), then the registration is made anew (DEL and ADD: what
 * a lost one, ENOENT, needs). If that fails too, the listener is shut
 * down: it then refuses its clients at once (and resets those queued), so
 * that they can try another address instead of waiting out their
 * deadlines, and the failure shows wherever the service is watched. The
 * server's other sockets are served on. */
static void rearm_listener(parley_server *s, conn *l)
{
    for (int k = 0; k < REARM_TRIES; k++)
        if (pl_sv_arm(s, l, EPOLL_CTL_MOD) == 0)
            return;
    epoll_ctl(s->ep, EPOLL_CTL_DEL, l->fd, NULL);
    for (int k = 0; k < REARM_TRIES; k++)
        if (pl_sv_arm(s, l, EPOLL_CTL_ADD) == 0)
            return;
    PL_LOG(PARLEY_LOG_ERROR, PARLEY_LOG_LISTENER_LOST, NULL,
           "a listening socket could not be re-armed: shut down");
    shutdown(l->fd, SHUT_RDWR);
}

/* listener_open makes a bound stream socket listen. */
static int listener_open(conn *l)
{
    return listen(l->fd, SOMAXCONN);
}

/* on_listen accepts up to 64 connections, then re-arms the listener. */
static void on_listen(worker *w, conn *l)
{
    parley_server *s = w->s;
    for (int k = 0; k < 64; k++) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        int fd = accept4(l->fd, (struct sockaddr *)&peer, &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            break;
        pthread_mutex_lock(&s->mu);
        int full = s->nconns >= s->opts.max_conns;
        pthread_mutex_unlock(&s->mu);
        if (full) { /* accept and close at once, so the listen queue never fills */
            PL_LOG(PARLEY_LOG_WARNING, PARLEY_LOG_LIMIT_MAX_CONNS,
                   (&(pl_log_src){.peer = (struct sockaddr *)&peer,
                                  .peer_len = peer_len,
                                  .transport = l->transport,
                                  .err = PARLEY_ERR_LIMIT}),
                   "connection refused: max_conns (%u) reached", s->opts.max_conns);
            close(fd);
            continue;
        }
        conn *c = NULL;
        if (pl_sv_conn_new(&pl_sv_stream_ops, fd, &c) != PARLEY_OK) {
            close(fd); /* the client sees its connection end unanswered */
            continue;
        }
        c->transport = l->transport;
        c->peer = peer;
        c->peer_len = peer_len;
        if (c->transport == PL_TR_TCP) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        } else {
            socklen_t n = sizeof c->ids;
            c->has_ids = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->ids, &n) == 0;
        }
        c->rm.max_msg = s->opts.max_msg;
        PL_SV_LOG(PARLEY_LOG_DEBUG, PARLEY_LOG_CONN_ACCEPTED, c, 0, "connection accepted");
        pl_sv_track(s, c);
        if (pl_sv_arm(s, c, EPOLL_CTL_ADD) != 0)
            pl_sv_conn_end(s, c);
    }
    if (!atomic_load(&s->stopping))
        rearm_listener(s, l);
}

/* ---- reading ----------------------------------------------------------- */

/* rearm_reader re-arms c's read event, which the calling thread holds,
 * unless the client is not taking its replies: then c waits unarmed until
 * they are out (on_writable re-arms it). 0, or -1 when the re-arm failed:
 * the caller, still holding the event, ends c (pl_sv_conn_end), since
 * nobody would read it again. */
static int rearm_reader(parley_server *s, conn *c)
{
    int rc = 0;
    pthread_mutex_lock(&c->wmu);
    if (c->out_blocked)
        c->read_paused = 1;
    else
        rc = pl_sv_arm(s, c, EPOLL_CTL_MOD);
    pthread_mutex_unlock(&c->wmu);
    return rc;
}

/* log_bad_stream records why c's record marking failed (err, a
 * parley_err) and logs it. */
static void log_bad_stream(parley_server *s, conn *c, int err)
{
    if (err == PARLEY_ERR_MSG_TOO_LARGE) {
        pl_sv_conn_why(c, PL_SV_WHY_MAX_MSG);
        PL_SV_LOG(PARLEY_LOG_WARNING, PARLEY_LOG_LIMIT_MAX_MSG, c, err,
                  "a message beyond max_msg (%zu bytes): closing", s->opts.max_msg);
    } else if (err == PARLEY_ERR_NOMEM) {
        pl_sv_conn_why(c, PL_SV_WHY_NOMEM);
    } else {
        pl_sv_conn_why(c, PL_SV_WHY_MALFORMED);
        PL_SV_LOG(PARLEY_LOG_WARNING, PARLEY_LOG_MALFORMED, c, err, "bad record marking: %s",
                  parley_strerror(err));
    }
}

/* on_stream reads what c has, answers every whole message in it, and
 * re-arms c (or ends it) before running the calls. From the moment c is
 * re-armed another thread may read it, see its end and let go of the
 * registration's reference: this thread holds a reference of its own
 * until it is done with c, so that c (its descriptor, its write lock) is
 * not freed under it, even inside the epoll_ctl that re-arms it. */
static void on_stream(worker *w, conn *c)
{
    parley_server *s = w->s;
    atomic_fetch_add(&c->refs, 1);
    ssize_t n = recv(c->fd, w->in, PL_SV_READ_CHUNK, 0);
    if (n <= 0) {
        /* nothing there after all (a spurious wake-up): wait for more, or
         * end c if it cannot be waited for */
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            pl_sv_conn_why(c, PL_SV_WHY_IO);
        if (!(n < 0 && (errno == EAGAIN || errno == EINTR)) || rearm_reader(s, c) != 0)
            pl_sv_conn_end(s, c);
        pl_sv_conn_unref(s, c);
        return;
    }
    int64_t t = pl_now_ms();
    atomic_store_explicit(&c->last_active, t, memory_order_relaxed);
    size_t nm = 0, off = 0;
    int bad = 0;
    while (off < (size_t)n) {
        size_t used = 0;
        int rc = pl_rm_feed(&c->rm, w->in + off, (size_t)n - off, &used);
        off += used;
        if (rc < 0) {
            log_bad_stream(s, c, -rc);
            bad = 1;
            break;
        }
        if (rc == PL_RM_NEED_MORE)
            break;
        if (nm == w->msgs_cap) {
            size_t cap = w->msgs_cap ? 2 * w->msgs_cap : 64;
            msgref *g = realloc(w->msgs, cap * sizeof *g);
            if (!g) {
                pl_sv_conn_why(c, PL_SV_WHY_NOMEM);
                bad = 1;
                break;
            }
            w->msgs = g;
            w->msgs_cap = cap;
        }
        /* a message: it may point into w->in (zero-copy), which stays put
         * until this thread reads again, or into the reader's buffer, which
         * the next feed reuses: copy the latter */
        msgref m = {c->rm.msg, c->rm.msg_len, NULL};
        if (!(c->rm.msg >= w->in && c->rm.msg < w->in + PL_SV_READ_CHUNK)) {
            m.owned = malloc(m.len ? m.len : 1);
            if (!m.owned) {
                pl_sv_conn_why(c, PL_SV_WHY_NOMEM);
                bad = 1;
                break;
            }
            memcpy(m.owned, m.p, m.len);
            m.p = m.owned;
        }
        w->msgs[nm++] = m;
    }
    int64_t since = atomic_load_explicit(&c->partial_since, memory_order_relaxed);
    atomic_store_explicit(&c->partial_since,
                          c->rm.in_body || c->rm.hdr_have ? (since ? since : t) : 0,
                          memory_order_relaxed);
    atomic_fetch_add(&c->refs, (int)nm);
    /* read on (see rearm_reader) */
    if (bad || rearm_reader(s, c) != 0)
        pl_sv_conn_end(s, c);
    /* the replies of one read go out in one write (a pipelining client sends
     * many calls at once); one reply goes straight from w->out */
    w->batch_len = 0;
    int fatal_seen = 0;
    const msgsrc src = {c, NULL};
    for (size_t i = 0; i < nm; i++) {
        int fatal = 0;
        size_t len = pl_sv_process(w, &src, w->msgs[i].p, w->msgs[i].len, &fatal);
        free(w->msgs[i].owned);
        fatal_seen |= fatal;
        if (!len)
            continue;
        pl_rm_header(w->out, (uint32_t)len, 1);
        if (nm == 1) {
            send_framed(s, c, w->out, len + 4);
            continue;
        }
        if (w->batch_len + len + 4 > w->batch_cap) {
            size_t cap = w->batch_cap ? w->batch_cap : 16384;
            while (cap < w->batch_len + len + 4)
                cap *= 2;
            uint8_t *g = realloc(w->batch, cap);
            if (!g) {
                send_framed(s, c, w->out, len + 4);
                continue;
            }
            w->batch = g;
            w->batch_cap = cap;
        }
        memcpy(w->batch + w->batch_len, w->out, len + 4);
        w->batch_len += len + 4;
        if (w->batch_len >= PL_SV_READ_CHUNK) {
            send_framed(s, c, w->batch, w->batch_len);
            w->batch_len = 0;
        }
    }
    if (w->batch_len)
        send_framed(s, c, w->batch, w->batch_len);
    if (fatal_seen) {
        pl_sv_conn_why(c, PL_SV_WHY_MALFORMED);
        shutdown(c->fd, SHUT_RDWR);
    }
    for (size_t i = 0; i < nm + 1; i++) /* the calls' and this thread's own */
        pl_sv_conn_unref(s, c);
}

/* ---- the caller's addresses -------------------------------------------- */

/* stream_peer is the peer accept4 gave. */
static int stream_peer(const parley_call *call, struct sockaddr_storage *out, socklen_t *len)
{
    const conn *c = call->src->c;
    *out = c->peer;
    *len = c->peer_len;
    return PARLEY_OK;
}

/* stream_local is the connection's own address, asked of the kernel only
 * now: no call that does not want it pays for it. */
static int stream_local(const parley_call *call, struct sockaddr_storage *out, socklen_t *len)
{
    struct sockaddr_storage ss;
    socklen_t n = sizeof ss;
    if (getsockname(call->src->c->fd, (struct sockaddr *)&ss, &n) != 0)
        return PARLEY_ERR_IO;
    *out = ss;
    *len = n;
    return PARLEY_OK;
}

const pl_sv_ops pl_sv_listener_ops = {
    .socktype = SOCK_STREAM,
    .open = listener_open,
    .on_read = on_listen,
};

const pl_sv_ops pl_sv_stream_ops = {
    .socktype = SOCK_STREAM,
    .on_read = on_stream,
    .on_writable = on_writable,
    .peer = stream_peer,
    .local = stream_local,
};
