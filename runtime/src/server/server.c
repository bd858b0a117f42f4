/*
 * runtime/src/server/server.c: the RPC server of parley/server.h: its
 * lifecycle, the pool of threads and their epoll loop, and the server's
 * list of connections.
 *
 * A pool of threads shares one epoll instance; every socket is registered
 * with EPOLLONESHOT, so exactly one thread at a time reads a connection and
 * its record-marking state needs no lock. The thread woken for a socket's
 * event hands it to the socket's handler (pl_sv_ops: stream.c for TCP and
 * Unix streams, dgram.c for UDP), which reads, re-arms the socket, and
 * answers what it read itself through dispatch.c. A slow procedure holds
 * one thread and nothing else; no call is handed from thread to thread.
 * See docs/runtime.md.
 *
 * A connection is freed when the last thread using it lets go of it
 * (reference counted): the one that sees it end, and any still answering a
 * call read from it.
 *
 * What a procedure may learn of its caller's socket (parley_call_peer and
 * the rest) costs nothing per call: a connection's peer address comes with
 * accept4, a Unix peer's credentials with one getsockopt at accept, and a
 * datagram's source and destination with the recvmsg that reads it (the
 * destination only on sockets bound to a wildcard address, which ask for
 * IP_PKTINFO); getsockname waits until parley_call_local asks.
 */
#include "parley/server.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "parley/uaddr.h"
#include "net/addr.h"
#include "net/clock.h"
#include "net/spin.h"
#include "names/names.h"
#include "server/internal.h"
#include "wire/recmark.h"

enum {
    DEFAULT_SYNC_THREADS = 16, /* the pool with a store at machine durability */
    DEFAULT_MAX_CONNS = 1024,
    DEFAULT_IDLE_MS = 60000,
    DEFAULT_MSG_TIMEOUT_MS = 30000, /* a message must complete this soon after its first byte */
    SCAN_MS = 1000,
};

/* ---- connections ------------------------------------------------------- */

/* log_closed reports the end of c, an accepted stream, and why. */
static void log_closed(const conn *c)
{
    static const char *const text[] = {"closed by the client",
                                       "idle too long",
                                       "a message too slow to arrive",
                                       "a message beyond max_msg",
                                       "unread replies beyond max_queued",
                                       "a malformed message",
                                       "an error on the socket",
                                       "out of memory",
                                       "the server was destroyed"};
    static const int err[] = {
        PARLEY_ERR_CLOSED, PARLEY_ERR_TIMEDOUT, PARLEY_ERR_TIMEDOUT, PARLEY_ERR_MSG_TOO_LARGE,
        PARLEY_ERR_LIMIT,  PARLEY_ERR_PROTOCOL, PARLEY_ERR_IO,       PARLEY_ERR_NOMEM,
        PARLEY_ERR_CLOSED};
    int why = atomic_load_explicit(&c->why, memory_order_relaxed);
    PL_SV_LOG(PARLEY_LOG_DEBUG, PARLEY_LOG_CONN_CLOSED, c, err[why], "connection closed: %s",
              text[why]);
}

/* pl_sv_conn_why records why c ends, unless a reason was recorded first
 * (an idle connection's end is seen by its reader as the client's). */
void pl_sv_conn_why(conn *c, int why)
{
    int none = PL_SV_WHY_PEER;
    atomic_compare_exchange_strong_explicit(&c->why, &none, why, memory_order_relaxed,
                                            memory_order_relaxed);
}

/* pl_sv_conn_unref lets go of one reference to c; the last frees it,
 * taking it off the server's list first when it is on it. */
void pl_sv_conn_unref(parley_server *s, conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    if (c->tracked)
        log_closed(c);
    if (c->tracked) {
        pthread_mutex_lock(&s->mu);
        if (c->prev)
            c->prev->next = c->next;
        else
            s->conns = c->next;
        if (c->next)
            c->next->prev = c->prev;
        s->nconns--;
        pthread_mutex_unlock(&s->mu);
    }
    close(c->fd);
    if (c->wfd >= 0)
        close(c->wfd);
    free(c->outq);
    pl_rm_destroy(&c->rm);
    pthread_mutex_destroy(&c->wmu);
    free(c);
}

/* pl_sv_conn_end stops reading c: it leaves epoll, and is freed when the
 * last call still being answered on it is done. Only the thread holding
 * c's event calls it, once. */
void pl_sv_conn_end(parley_server *s, conn *c)
{
    atomic_store(&c->dead, 1);
    epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
    shutdown(c->fd, SHUT_RDWR);
    pl_sv_conn_unref(s, c);
}

/* pl_sv_arm (re-)registers c's one-shot read event. The thread that armed
 * it hands c's reader state (record marking, timestamps) to whichever
 * thread the event wakes next: the kernel orders the two, but the C memory
 * model (and ThreadSanitizer) see only what the program says, so the
 * hand-off is also a release here and an acquire in serve_one, on
 * c->handoff. 0, or -1 with errno set. */
int pl_sv_arm(parley_server *s, conn *c, int op)
{
    atomic_fetch_add_explicit(&c->handoff, 1, memory_order_release);
    struct epoll_event ev = {0};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.ptr = &c->rd;
    return epoll_ctl(s->ep, op, c->fd, &ev) == 0 ? 0 : -1;
}

/* mutex_init initialises m: PARLEY_OK, or PARLEY_ERR_NOMEM when the
 * system lacks the memory or the resources for it (ENOMEM, EAGAIN),
 * PARLEY_ERR_IO for anything else it might say. */
static int mutex_init(pthread_mutex_t *m)
{
    int err = pthread_mutex_init(m, NULL);
    if (err == 0)
        return PARLEY_OK;
    return err == ENOMEM || err == EAGAIN ? PARLEY_ERR_NOMEM : PARLEY_ERR_IO;
}

/* pl_sv_conn_new makes a connection of the kind ops serves on fd, with
 * one reference (its registration's), into *out. Errors: those of
 * mutex_init, PARLEY_ERR_NOMEM; fd is then still the caller's. */
int pl_sv_conn_new(const pl_sv_ops *ops, int fd, conn **out)
{
    conn *c = calloc(1, sizeof *c);
    if (!c)
        return PARLEY_ERR_NOMEM;
    int rc = mutex_init(&c->wmu);
    if (rc != PARLEY_OK) {
        free(c);
        return rc;
    }
    c->ops = ops;
    c->fd = fd;
    c->wfd = -1;
    c->rd.c = c;
    c->wr.c = c;
    atomic_init(&c->refs, 1);
    atomic_init(&c->dead, 0);
    pl_rm_init(&c->rm);
    atomic_init(&c->handoff, 0);
    atomic_init(&c->last_active, pl_now_ms());
    atomic_init(&c->partial_since, 0);
    atomic_init(&c->why, PL_SV_WHY_PEER);
    *out = c;
    return PARLEY_OK;
}

/* pl_sv_track puts c, an accepted connection not armed yet, on the
 * server's list: scan looks at it, destroy frees it, and the last
 * reference takes it off. */
void pl_sv_track(parley_server *s, conn *c)
{
    c->tracked = 1;
    pthread_mutex_lock(&s->mu);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    pthread_mutex_unlock(&s->mu);
}

/* ---- the loop ----------------------------------------------------------- */

/* scan ends connections idle too long, and those whose message has been
 * arriving for too long (a client dribbling bytes). */
static void scan(parley_server *s)
{
    int64_t t = pl_now_ms();
    pthread_mutex_lock(&s->mu);
    for (conn *c = s->conns; c; c = c->next) {
        int64_t active = atomic_load_explicit(&c->last_active, memory_order_relaxed);
        int64_t since = atomic_load_explicit(&c->partial_since, memory_order_relaxed);
        int idle = t - active > (int64_t)s->opts.idle_timeout_ms;
        int slow = since && t - since > (int64_t)s->opts.msg_timeout_ms;
        if (!(idle || slow) || atomic_load(&c->dead))
            continue;
        pl_sv_conn_why(c, slow ? PL_SV_WHY_MSG_TIMEOUT : PL_SV_WHY_IDLE);
        if (slow)
            PL_SV_LOG(PARLEY_LOG_WARNING, PARLEY_LOG_LIMIT_MSG_TIMEOUT, c, PARLEY_ERR_TIMEDOUT,
                      "a message took longer than msg_timeout (%u ms): closing",
                      s->opts.msg_timeout_ms);
        else
            PL_SV_LOG(PARLEY_LOG_INFO, PARLEY_LOG_LIMIT_IDLE, c, PARLEY_ERR_TIMEDOUT,
                      "idle longer than idle_timeout (%u ms): closing", s->opts.idle_timeout_ms);
        shutdown(c->fd, SHUT_RDWR); /* its reader sees the end and frees it */
    }
    pthread_mutex_unlock(&s->mu);
    pl_sv_guard_expire(s); /* clients whose lease ran out */
}

/* Busy polling (parley_server_opts.busy_poll_us): a pool thread done with
 * an event looks for the next one for a while before it sleeps in
 * epoll_wait, so that a client calling again at once finds a thread awake:
 * no sleep and no wake-up on the round trip's path. One thread at a time
 * spins, the others sleep in epoll_wait; the kernel may still wake one of
 * them for an event the spinner takes first, a wake-up off the round trip's
 * path (it finds nothing and sleeps again). Whether to spin is the adaptive
 * policy of net/spin.h, per thread. */

/* spin_wait busy polls for an event (see above); returns 1 with *ev, or 0
 * when it found none or did not spin. */
static int spin_wait(worker *w, struct epoll_event *ev)
{
    parley_server *s = w->s;
    if (!w->pool || s->spin_ns == 0 || !pl_spin_wanted(&w->spin))
        return 0;
    if (atomic_exchange_explicit(&s->spinning, 1, memory_order_acquire))
        return 0;
    int64_t until = pl_now_ns() + s->spin_ns;
    int n;
    do
        n = epoll_wait(s->ep, ev, 1, 0);
    while (n == 0 && pl_now_ns() < until);
    atomic_store_explicit(&s->spinning, 0, memory_order_release);
    pl_spin_account(&w->spin, n > 0);
    return n > 0;
}

/* serve_one waits up to timeout_ms for one event and handles it; returns
 * nonzero when it handled one. */
static int serve_one(worker *w, int timeout_ms)
{
    parley_server *s = w->s;
    struct epoll_event ev;
    int n = timeout_ms != 0 ? spin_wait(w, &ev) : 0;
    if (n == 0)
        n = epoll_wait(s->ep, &ev, 1, timeout_ms);
    int64_t t = pl_now_ms();
    if (t - w->last_scan >= SCAN_MS) {
        w->last_scan = t;
        scan(s);
    }
    if (n <= 0)
        return 0;
    pl_sv_ev *e = ev.data.ptr;
    if (!e) /* the eventfd of parley_server_stop */
        return 0;
    conn *c = e->c;
    if (e == &c->wr) {
        c->ops->on_writable(w, c);
        return 1;
    }
    (void)atomic_load_explicit(&c->handoff, memory_order_acquire); /* see pl_sv_arm */
    c->ops->on_read(w, c);
    return 1;
}

static void *worker_loop(void *arg)
{
    worker *w = arg;
    while (!atomic_load(&w->s->stopping))
        serve_one(w, SCAN_MS);
    return NULL;
}

static int worker_init(worker *w, parley_server *s)
{
    w->s = s;
    w->in = malloc(PL_SV_READ_CHUNK > PL_SV_UDP_MAX ? PL_SV_READ_CHUNK : PL_SV_UDP_MAX);
    w->arena = parley_arena_create(0);
    if (!w->in || !w->arena || pl_sv_out_reserve(w, 4096) != 0)
        return PARLEY_ERR_NOMEM;
    return PARLEY_OK;
}

static void worker_fini(worker *w)
{
    free(w->in);
    free(w->out);
    free(w->msgs);
    free(w->batch);
    parley_arena_destroy(w->arena);
}

/* parley_server_fd: see server.h. */
int parley_server_fd(const parley_server *s)
{
    return s->ep;
}

/* parley_server_poll: see server.h. It handles at most 64 events per call,
 * so that a busy server does not keep the caller's loop from its other
 * work. */
int parley_server_poll(parley_server *s, int timeout_ms)
{
    if (!s->embedded) {
        worker *w = calloc(1, sizeof *w);
        if (!w)
            return PARLEY_ERR_NOMEM;
        if (worker_init(w, s) != PARLEY_OK) {
            worker_fini(w);
            free(w);
            return PARLEY_ERR_NOMEM;
        }
        s->embedded = w;
    }
    if (serve_one(s->embedded, timeout_ms < 0 ? -1 : timeout_ms))
        for (int k = 1; k < 64 && serve_one(s->embedded, 0); k++)
            ;
    return PARLEY_OK;
}

/* ---- lifecycle --------------------------------------------------------- */

/* parley_server_create: see server.h. */
int parley_server_create(parley_server **out, const parley_server_opts *opts)
{
    if (!out)
        return PARLEY_ERR_INVALID;
    parley_server *s = calloc(1, sizeof *s);
    if (!s)
        return PARLEY_ERR_NOMEM;
    if (opts)
        s->opts = *opts;
    if (!s->opts.threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->opts.threads = n > 0 && n < 1024 ? (unsigned)n : 2;
        /* with machine durability a thread answering an exactly-once call
         * waits for the disk's sync; more of them waiting at once share
         * each sync (group commit) */
        if (s->opts.store && s->opts.durability == PARLEY_DURABLE_MACHINE &&
            s->opts.threads < DEFAULT_SYNC_THREADS)
            s->opts.threads = DEFAULT_SYNC_THREADS;
    }
    if (!s->opts.max_msg)
        s->opts.max_msg = PL_RM_DEFAULT_MAX_MSG;
    if (!s->opts.max_conns)
        s->opts.max_conns = DEFAULT_MAX_CONNS;
    if (!s->opts.idle_timeout_ms)
        s->opts.idle_timeout_ms = DEFAULT_IDLE_MS;
    if (!s->opts.max_queued)
        s->opts.max_queued = (size_t)4 << 20;
    if (!s->opts.msg_timeout_ms)
        s->opts.msg_timeout_ms = DEFAULT_MSG_TIMEOUT_MS;
    s->spin_ns = pl_spin_ns(s->opts.busy_poll_us);
    s->ep = s->wake_fd = -1;
    int rc = mutex_init(&s->mu);
    if (rc != PARLEY_OK) {
        free(s);
        return rc;
    }
    rc = PARLEY_ERR_IO;
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    if (s->ep < 0)
        goto fail;
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->wake_fd < 0)
        goto fail;
    struct epoll_event ev = {0};
    ev.events = EPOLLIN; /* level-triggered: wakes every thread once stopping */
    ev.data.ptr = NULL;  /* serve_one's sign of the wake-up */
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->wake_fd, &ev) != 0)
        goto fail;
    rc = pl_sv_guard_open(s);
    if (rc != PARLEY_OK)
        goto fail;
    *out = s;
    return PARLEY_OK;
fail:
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    if (s->ep >= 0)
        close(s->ep);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return rc;
}

/* parley_server_add_program: see server.h. The table calls read is never
 * changed: an addition publishes a copy one longer, with a release that
 * pairs with the acquire of the call that reads it, so a call sees the
 * table before or after, whole. Additions race only with each other, and
 * a compare-and-swap orders them: one that lost reads the winner's table
 * and tries again (a program both add is then refused to the second).
 * Old tables stay until destroy, since nothing says when the last call
 * reading one is done: n programs added one by one hold 3n(n+1)/2
 * pointers (64 programs: 49 KiB). */
int parley_server_add_program(parley_server *s, const parley_program_def *def)
{
    return parley_server_add_program_ctx(s, def, NULL);
}

/* parley_server_add_program_ctx: see server.h, and parley_server_add_program
 * above for how the table is published; the contexts are copied with it. */
int parley_server_add_program_ctx(parley_server *s, const parley_program_def *def, void *ctx)
{
    if (!s || !def)
        return PARLEY_ERR_INVALID;
    pl_sv_progs *cur = atomic_load_explicit(&s->progs, memory_order_acquire);
    pl_sv_pstat *ps = pl_sv_stats_new(def); /* its counters (stats.c) */
    if (!ps)
        return PARLEY_ERR_NOMEM;
    for (;;) {
        size_t n = cur ? cur->n : 0;
        for (size_t i = 0; i < n; i++)
            if (cur->defs[i]->prog == def->prog && cur->defs[i]->vers == def->vers) {
                free(ps);
                return PARLEY_ERR_INVALID;
            }
        pl_sv_progs *t = malloc(
            sizeof *t + (n + 1) * (sizeof t->defs[0] + sizeof t->stats[0] + sizeof t->ctx[0]));
        if (!t) {
            free(ps);
            return PARLEY_ERR_NOMEM;
        }
        t->stats = (pl_sv_pstat **)(void *)((char *)t + sizeof *t + (n + 1) * sizeof t->defs[0]);
        t->ctx = (void **)(void *)((char *)t + sizeof *t +
                                   (n + 1) * (sizeof t->defs[0] + sizeof t->stats[0]));
        if (n) {
            memcpy(t->defs, cur->defs, n * sizeof t->defs[0]);
            memcpy(t->stats, cur->stats, n * sizeof t->stats[0]);
            memcpy(t->ctx, cur->ctx, n * sizeof t->ctx[0]);
        }
        t->defs[n] = def;
        t->stats[n] = ps;
        t->ctx[n] = ctx;
        t->n = n + 1;
        t->older = cur;
        if (atomic_compare_exchange_strong_explicit(&s->progs, &cur, t, memory_order_acq_rel,
                                                    memory_order_acquire))
            return PARLEY_OK;
        free(t); /* another addition came first: cur is now its table */
    }
}

/* unix_stale returns nonzero when path is a Unix socket nobody listens on
 * (left by a server that died), which may be replaced. */
static int unix_stale(const struct sockaddr *sa, socklen_t len)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int stale = connect(fd, sa, len) != 0 && errno == ECONNREFUSED;
    close(fd);
    return stale;
}

static int listen_error(int err)
{
    switch (err) {
    case EADDRINUSE:
        return PARLEY_ERR_IN_USE;
    case EACCES:
    case EPERM:
        return PARLEY_ERR_DENIED;
    case EADDRNOTAVAIL:
        return PARLEY_ERR_ADDRESS;
    default:
        return PARLEY_ERR_IO;
    }
}

/* parley_server_listen: see server.h. */
int parley_server_listen(parley_server *s, const char *text, char *bound, size_t boundlen)
{
    return parley_server_listen_opts(s, text, NULL, bound, boundlen);
}

/* parley_server_listen_opts: see server.h. A name that resolves to several
 * addresses is listened on at the first. A Unix socket's mode is set
 * between bind and listen: before listen nobody can connect, so no client
 * gets in under the umask's permissions. */
int parley_server_listen_opts(parley_server *s, const char *text, const parley_listen_opts *opts,
                              char *bound, size_t boundlen)
{
    if (!s || !text)
        return PARLEY_ERR_INVALID;
    parley_listen_opts o = {0};
    if (opts)
        o = *opts;
    if (o.unix_mode & ~07777u)
        return PARLEY_ERR_INVALID;
    pl_addr a;
    int rc = pl_addr_parse(text, &a);
    if (rc != PARLEY_OK)
        return rc;
    if (a.transport == PL_TR_NAME)
        return PARLEY_ERR_ADDRESS; /* a service name is where to call, not where to listen */
    pl_sockaddr *list = NULL;
    size_t n = 0;
    rc = pl_addr_resolve(&a, &list, &n);
    if (rc != PARLEY_OK)
        return rc;
    if (n == 0) {
        pl_addr_resolved_free(list);
        return PARLEY_ERR_RESOLVE;
    }
    pl_sockaddr *sa = &list[0];
    int made_file = 0; /* a Unix socket's file, bound here: removed on failure */
    const pl_sv_ops *ops = sa->socktype == SOCK_STREAM ? &pl_sv_listener_ops : &pl_sv_dgram_ops;
    conn *l = NULL;
    int fd = socket(sa->family, sa->socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, sa->protocol);
    if (fd < 0) {
        rc = listen_error(errno);
        goto fail;
    }
    if (sa->family != AF_UNIX) {
        /* TCP: a restarted server binds its port again though connections
         * of the last one linger in TIME_WAIT. Not UDP, which has no such
         * state, and where SO_REUSEADDR on both sides lets a second process
         * bind a port already served and take its datagrams, silently */
        int one = 1;
        if (sa->socktype == SOCK_STREAM)
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        int only = o.v6only > 0;
        if (sa->family == AF_INET6 && o.v6only != 0 &&
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof only) != 0) {
            rc = listen_error(errno);
            goto fail;
        }
    } else if (unix_stale((struct sockaddr *)&sa->ss, sa->len)) {
        unlink(a.path);
    }
    if (bind(fd, (struct sockaddr *)&sa->ss, sa->len) != 0) {
        rc = listen_error(errno);
        goto fail;
    }
    made_file = sa->family == AF_UNIX;
    if (sa->family == AF_UNIX && o.unix_mode && chmod(a.path, (mode_t)o.unix_mode) != 0) {
        rc = listen_error(errno);
        goto fail;
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    memset(&got, 0, sizeof got);
    if (sa->family != AF_UNIX && getsockname(fd, (struct sockaddr *)&got, &gl) == 0)
        a.port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                 : ((struct sockaddr_in *)&got)->sin_port);
    rc = pl_sv_conn_new(ops, fd, &l);
    if (rc != PARLEY_OK)
        goto fail;
    fd = -1;
    l->transport = a.transport;
    l->local = got;
    l->local_len = gl;
    if (sa->family == AF_UNIX)
        snprintf(l->unix_path, sizeof l->unix_path, "%s", a.path);
    if (ops->open(l) != 0) {
        rc = listen_error(errno);
        goto fail;
    }
    if (s->nlisteners == s->caplisteners) {
        size_t cap = s->caplisteners ? 2 * s->caplisteners : 4;
        conn **g = realloc(s->listeners, cap * sizeof *g);
        if (!g) {
            rc = PARLEY_ERR_NOMEM;
            goto fail;
        }
        s->listeners = g;
        s->caplisteners = cap;
    }
    if (pl_sv_arm(s, l, EPOLL_CTL_ADD) != 0) {
        rc = PARLEY_ERR_IO;
        goto fail;
    }
    s->listeners[s->nlisteners++] = l; /* only now: what failed is never registered */
    if (bound && boundlen)
        pl_addr_format(&a, bound, boundlen, NULL);
    pl_addr_resolved_free(list);
    return PARLEY_OK;
fail:
    if (l)
        pl_sv_conn_unref(s, l); /* and its descriptor */
    if (fd >= 0)
        close(fd);
    if (made_file)
        unlink(a.path);
    pl_addr_resolved_free(list);
    return rc;
}

/* parley_server_run: see server.h. */
int parley_server_run(parley_server *s)
{
    unsigned n = s->opts.threads;
    pthread_t *tids = calloc(n, sizeof *tids);
    worker *ws = calloc(n, sizeof *ws);
    int rc = PARLEY_OK;
    unsigned started = 0;
    if (!tids || !ws) {
        rc = PARLEY_ERR_NOMEM;
        goto done;
    }
    for (unsigned i = 0; i < n; i++) {
        if (worker_init(&ws[i], s) != PARLEY_OK) {
            rc = PARLEY_ERR_NOMEM;
            goto done;
        }
        ws[i].pool = 1;
        pl_spin_init(&ws[i].spin);
    }
    atomic_store(&s->running, 1);
    for (started = 1; started < n; started++)
        if (pthread_create(&tids[started], NULL, worker_loop, &ws[started]) != 0)
            break;
    worker_loop(&ws[0]);
    for (unsigned i = 1; i < started; i++)
        pthread_join(tids[i], NULL);
    atomic_store(&s->running, 0);
done:
    for (unsigned i = 0; ws && i < n; i++)
        worker_fini(&ws[i]);
    free(ws);
    free(tids);
    return rc;
}

/* parley_server_stop: see server.h. */
void parley_server_stop(parley_server *s)
{
    atomic_store(&s->stopping, 1);
    uint64_t one = 1;
    ssize_t k = write(s->wake_fd, &one, sizeof one);
    (void)k;
}

/* ---- the matchmaker ------------------------------------------------------ */

/* key_in is nonzero when (vers, netid) is among the n keys. */
static int key_in(const pl_sv_regkey *keys, size_t n, uint32_t vers, const char *netid)
{
    for (size_t i = 0; i < n; i++)
        if (keys[i].vers == vers && strcmp(keys[i].netid, netid) == 0)
            return 1;
    return 0;
}

/* parley_server_register: see server.h. Every (program, version) on every
 * address, one REGISTER each; the keys (version, netid) registered are
 * kept, and on a failure those already made are removed again, and only
 * they: a key refused is another server's (the matchmaker refuses a key a
 * live server holds at another address), and removing by name alone would
 * take that server's entries away while it still serves. */
int parley_server_register(parley_server *s, const char *name)
{
    if (!s || !name || !pl_name_valid(name, strlen(name)))
        return PARLEY_ERR_INVALID;
    const pl_sv_progs *tab = atomic_load_explicit(&s->progs, memory_order_acquire);
    if (s->nlisteners == 0 || !tab)
        return PARLEY_ERR_INVALID;
    if (s->reg_name[0])
        parley_server_unregister(s);
    s->reg_holder[0] = '\0';
    pl_sv_regkey *keys = calloc(tab->n * s->nlisteners, sizeof *keys);
    if (!keys)
        return PARLEY_ERR_NOMEM;
    strcpy(s->reg_name, name);
    s->reg_keys = keys;
    s->nreg_keys = 0;
    int rc = PARLEY_OK;
    for (size_t i = 0; i < s->nlisteners && rc == PARLEY_OK; i++) {
        conn *l = s->listeners[i];
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        if (getsockname(l->fd, (struct sockaddr *)&ss, &len) != 0) {
            rc = PARLEY_ERR_IO;
            break;
        }
        int socktype = l->ops->socktype;
        if (l->transport == PL_TR_UNIX && l->unix_path[0]) {
            /* the absolute path, whatever the address was written as */
            struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
            if (l->unix_path[0] != '/')
                continue; /* a relative path means nothing to another process */
            snprintf(sun->sun_path, sizeof sun->sun_path, "%s", l->unix_path);
            len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(l->unix_path) + 1);
        }
        const parley_netid *t = parley_netid_for(ss.ss_family, socktype);
        size_t before = s->nreg_keys; /* the keys of the addresses before this one */
        for (size_t k = 0; k < tab->n && rc == PARLEY_OK; k++) {
            if (t && key_in(keys, before, tab->defs[k]->vers, t->netid))
                continue; /* one address per key: the first (the matchmaker keeps one) */
            rc =
                pl_mm_register(name, tab->defs[k]->prog, tab->defs[k]->vers, (struct sockaddr *)&ss,
                               len, socktype, s->reg_holder, sizeof s->reg_holder);
            if (rc == PARLEY_OK && t)
                keys[s->nreg_keys++] = (pl_sv_regkey){tab->defs[k]->vers, t->netid};
        }
    }
    if (rc != PARLEY_OK)
        parley_server_unregister(s);
    return rc;
}

/* parley_server_register_holder: see server.h. */
int parley_server_register_holder(const parley_server *s, char *buf, size_t cap)
{
    if (!s || !buf || cap == 0)
        return PARLEY_ERR_INVALID;
    if (!s->reg_holder[0])
        return PARLEY_ERR_NOT_REGISTERED;
    size_t n = strlen(s->reg_holder);
    if (n >= cap)
        return PARLEY_ERR_BUFFER_FULL;
    memcpy(buf, s->reg_holder, n + 1);
    return PARLEY_OK;
}

/* parley_server_unregister: see server.h. Each key registered, alone. */
int parley_server_unregister(parley_server *s)
{
    if (!s)
        return PARLEY_ERR_INVALID;
    if (!s->reg_name[0])
        return PARLEY_OK;
    int rc = PARLEY_OK;
    for (size_t k = 0; k < s->nreg_keys; k++) {
        int r = pl_mm_unregister(s->reg_name, s->reg_keys[k].vers, s->reg_keys[k].netid);
        if (rc == PARLEY_OK)
            rc = r;
    }
    s->reg_name[0] = '\0';
    free(s->reg_keys);
    s->reg_keys = NULL;
    s->nreg_keys = 0;
    return rc;
}

/* parley_server_destroy: see server.h. */
void parley_server_destroy(parley_server *s)
{
    if (!s)
        return;
    parley_server_unregister(s);
    for (size_t i = 0; i < s->nlisteners; i++) {
        conn *l = s->listeners[i];
        epoll_ctl(s->ep, EPOLL_CTL_DEL, l->fd, NULL);
        if (l->unix_path[0])
            unlink(l->unix_path);
        pl_sv_conn_unref(s, l);
    }
    while (s->conns) {
        conn *c = s->conns;
        atomic_store(&c->refs, 1);
        pl_sv_conn_why(c, PL_SV_WHY_DESTROY);
        pl_sv_conn_unref(s, c);
    }
    if (s->embedded) {
        worker_fini(s->embedded);
        free(s->embedded);
    }
    free(s->listeners);
    pl_sv_progs *tab = atomic_load_explicit(&s->progs, memory_order_relaxed);
    pl_sv_stats_free(tab);
    while (tab) {
        pl_sv_progs *older = tab->older;
        free(tab);
        tab = older;
    }
    pl_sv_guard_close(s);
    close(s->wake_fd);
    close(s->ep);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
