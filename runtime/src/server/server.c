/*
 * runtime/src/server/server.c: the RPC server of parley/server.h.
 *
 * A pool of threads shares one epoll instance; every socket is registered
 * with EPOLLONESHOT, so exactly one thread at a time reads a connection and
 * its record-marking state needs no lock. The thread that wakes reads what
 * is there, splits it into messages, re-arms the socket (so that another
 * thread can read the next messages of a pipelining client), and then runs
 * the calls it read itself and writes their replies, under the connection's
 * write lock. A slow procedure holds one thread and nothing else; no call is
 * handed from thread to thread. See docs/runtime.md.
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
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "net/addr.h"
#include "net/clock.h"
#include "net/spin.h"
#include "names/names.h"
#include "wire/recmark.h"
#include "wire/auth.h"
#include "wire/rpcmsg.h"

enum {
    DEFAULT_MAX_CONNS = 1024,
    DEFAULT_IDLE_MS = 60000,
    DEFAULT_MSG_TIMEOUT_MS = 30000, /* a message must complete this soon after its first byte */
    READ_CHUNK = 64 * 1024,
    UDP_MAX = 65536,
    SCAN_MS = 1000,
};

typedef enum sock_kind { SK_WAKE, SK_LISTEN, SK_STREAM, SK_UDP, SK_WRITABLE } sock_kind;

struct conn;

/* The tag of a stream's second registration, for EPOLLOUT: a dup of its
 * descriptor, so that waiting to write never disturbs the one-shot read
 * registration a reading thread owns. */
typedef struct wtag {
    sock_kind kind; /* SK_WRITABLE; first, as in conn, so an event's kind reads alike */
    struct conn *c;
} wtag;

typedef struct conn {
    sock_kind kind;
    int fd;
    int transport;                 /* PL_TR_TCP, PL_TR_UDP or PL_TR_UNIX */
    atomic_int refs;               /* the registration, plus each call being answered */
    atomic_int dead;               /* ended: no more reads, replies are dropped */
    pthread_mutex_t wmu;           /* one writer at a time */
    pl_rm_reader rm;               /* STREAM: reassembly (only the thread holding the event) */
    _Atomic int64_t last_active;   /* ms, monotonic: set by the reading thread, read by scan */
    _Atomic int64_t partial_since; /* ms when a partly read message began, or 0 (the same) */
    atomic_uint handoff;           /* see arm */
    struct conn *prev, *next;      /* the server's list of connections */
    char unix_path[108];           /* SK_LISTEN on a Unix socket: unlinked at the end */
    /* Replies the client has not taken yet (under wmu). While any wait, the
     * connection is not read (read_paused), so a client that sends and never
     * reads costs at most max_queued bytes, then its connection is ended;
     * no thread ever waits for it. */
    uint8_t *outq;
    size_t outq_off, outq_len, outq_cap;
    int out_blocked; /* waiting for EPOLLOUT on wfd (holds a reference) */
    int read_paused; /* not re-armed for reading while out_blocked */
    int wfd;         /* dup of fd for the EPOLLOUT registration, or -1 */
    wtag wt;
    /* STREAM: the peer's address (from accept4), and on a Unix socket its
     * credentials (SO_PEERCRED, when has_ids) */
    struct sockaddr_storage peer;
    socklen_t peer_len;
    int has_ids;
    struct ucred ids;
    /* UDP: the address bound, and whether datagrams come with their
     * destination address (pktinfo: bound to a wildcard address) */
    struct sockaddr_storage local;
    socklen_t local_len;
    int pktinfo;
} conn;

struct parley_server {
    parley_server_opts opts;
    const parley_program_def **progs;
    size_t nprogs, capprogs;
    int ep;
    conn wake;
    atomic_int stopping;
    pthread_mutex_t mu; /* the connection list and counts */
    conn *conns;        /* streams */
    conn **listeners;
    size_t nlisteners, caplisteners;
    unsigned nconns;
    atomic_int running;
    atomic_int spinning;                 /* a worker is busy polling (one at a time) */
    int64_t spin_ns;                     /* opts.busy_poll_us in ns; 0: never */
    struct worker *embedded;             /* the caller's, for parley_server_poll */
    char reg_name[PL_ADDR_NAME_MAX + 1]; /* registered with the matchmaker as, or "" */
};

/* A message read off a stream, copied when the reader's buffer would not
 * outlive the next feed. */
typedef struct msgref {
    const uint8_t *p;
    size_t len;
    uint8_t *owned;
} msgref;

/* Per thread: buffers reused from call to call. */
typedef struct worker worker;
struct worker {
    parley_server *s;
    uint8_t *in;  /* READ_CHUNK bytes */
    uint8_t *out; /* the reply being built, with 4 bytes for the record mark */
    size_t out_cap;
    parley_arena *arena; /* arguments; reset after each call */
    int64_t last_scan;
    struct msgref *msgs; /* the messages of one read */
    size_t msgs_cap;
    uint8_t *batch; /* replies to the messages of one read, framed */
    size_t batch_len, batch_cap;
    int pool;     /* a thread of parley_server_run's pool (may busy poll) */
    pl_spin spin; /* adaptive busy poll (net/spin.h): see spin_wait */
};

/* Where a message came from: its connection or UDP socket, and for a
 * datagram the recvmsg header that holds its source (msg_name) and, with
 * pktinfo, its destination (msg_control). */
typedef struct msgsrc {
    const conn *c;
    struct msghdr *dgram; /* UDP; not const: CMSG_NXTHDR takes it so */
} msgsrc;

struct parley_call {
    worker *w;
    const msgsrc *src;
    parley_cred cred;
    parley_limits limits;
    parley_enc result;
    size_t header_end; /* where the result starts in w->out */
    int result_ok;
};

/* ---- connections ------------------------------------------------------- */

static void conn_unref(parley_server *s, conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    if (c->kind == SK_STREAM) {
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

/* conn_end stops reading c: it leaves epoll, and is freed when the last
 * call still being answered on it is done. Only the thread holding c's
 * event calls it, once. */
static void conn_end(parley_server *s, conn *c)
{
    atomic_store(&c->dead, 1);
    epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
    shutdown(c->fd, SHUT_RDWR);
    conn_unref(s, c);
}

/* arm (re-)registers c's one-shot read event. The thread that armed it
 * hands c's reader state (record marking, timestamps) to whichever thread
 * the event wakes next: the kernel orders the two, but the C memory model
 * (and ThreadSanitizer) see only what the program says, so the hand-off is
 * also a release here and an acquire in serve_one, on c->handoff. */
static int arm(parley_server *s, conn *c, int op)
{
    atomic_fetch_add_explicit(&c->handoff, 1, memory_order_release);
    struct epoll_event ev = {0};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.ptr = c;
    return epoll_ctl(s->ep, op, c->fd, &ev) == 0 ? 0 : -1;
}

static conn *conn_new(sock_kind kind, int fd)
{
    conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->kind = kind;
    c->fd = fd;
    c->wfd = -1;
    c->wt.kind = SK_WRITABLE;
    c->wt.c = c;
    atomic_init(&c->refs, 1);
    atomic_init(&c->dead, 0);
    pthread_mutex_init(&c->wmu, NULL);
    pl_rm_init(&c->rm);
    atomic_init(&c->handoff, 0);
    atomic_init(&c->last_active, pl_now_ms());
    atomic_init(&c->partial_since, 0);
    return c;
}

/* ---- replies ----------------------------------------------------------- */

static int out_reserve(worker *w, size_t need)
{
    if (need <= w->out_cap)
        return 0;
    size_t cap = w->out_cap ? w->out_cap : 4096;
    while (cap < need)
        cap *= 2;
    uint8_t *b = realloc(w->out, cap);
    if (!b)
        return -1;
    w->out = b;
    w->out_cap = cap;
    return 0;
}

/* arm_writable asks for EPOLLOUT on c's second registration (under wmu). */
static int arm_writable(parley_server *s, conn *c)
{
    struct epoll_event ev = {0};
    ev.events = EPOLLOUT | EPOLLONESHOT;
    ev.data.ptr = &c->wt;
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

/* fail_writes gives up on c's output (under wmu): the queue is dropped,
 * and reading resumes so that the reader sees the shut-down connection and
 * ends it. */
static void fail_writes(parley_server *s, conn *c)
{
    shutdown(c->fd, SHUT_RDWR);
    c->outq_off = c->outq_len = 0;
    if (c->read_paused) {
        c->read_paused = 0;
        arm(s, c, EPOLL_CTL_MOD);
    }
}

/* send_framed sends framed replies on a stream, or queues them behind
 * replies the client has not taken yet; never waits. */
static void send_framed(parley_server *s, conn *c, const uint8_t *p, size_t n)
{
    pthread_mutex_lock(&c->wmu);
    if (atomic_load(&c->dead)) {
        pthread_mutex_unlock(&c->wmu);
        return;
    }
    if (c->outq_len - c->outq_off + n > s->opts.max_queued) {
        fail_writes(s, c); /* a client that does not read its replies */
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
                fail_writes(s, c);
            pthread_mutex_unlock(&c->wmu);
            return;
        }
    }
    if (c->outq_len + n > c->outq_cap) {
        size_t cap = c->outq_cap ? c->outq_cap : 16384;
        while (cap < c->outq_len + n)
            cap *= 2;
        uint8_t *g = realloc(c->outq, cap);
        if (!g) {
            fail_writes(s, c);
            pthread_mutex_unlock(&c->wmu);
            return;
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
            fail_writes(s, c);
            pthread_mutex_unlock(&c->wmu);
            conn_unref(s, c);
            return;
        }
    }
    pthread_mutex_unlock(&c->wmu);
}

/* on_writable continues writing what a slow reader left queued. */
static void on_writable(parley_server *s, conn *c)
{
    pthread_mutex_lock(&c->wmu);
    int rc = atomic_load(&c->dead) ? -1 : flush(c);
    if (rc == 0 && arm_writable(s, c) == 0) {
        pthread_mutex_unlock(&c->wmu);
        return;
    }
    c->out_blocked = 0;
    if (rc < 0 || rc == 0)
        fail_writes(s, c);
    else if (c->read_paused) { /* all out: read the client again */
        c->read_paused = 0;
        arm(s, c, EPOLL_CTL_MOD);
    }
    pthread_mutex_unlock(&c->wmu);
    conn_unref(s, c);
}

/* reply_source sets the control message of out, a reply to the datagram
 * whose recvmsg header is in, to leave from the address in was sent to
 * (its IP_PKTINFO or IPV6_PKTINFO; none for a multicast destination). buf
 * holds the control message. */
static void reply_source(struct msghdr *in, struct msghdr *out, char *buf, size_t cap)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(in); cm; cm = CMSG_NXTHDR(in, cm)) {
        int level = cm->cmsg_level, type = cm->cmsg_type;
        struct in_pktinfo pi;
        struct in6_pktinfo pi6;
        const void *data;
        size_t n;
        if (level == IPPROTO_IP && type == IP_PKTINFO) {
            struct in_pktinfo got;
            memcpy(&got, CMSG_DATA(cm), sizeof got);
            memset(&pi, 0, sizeof pi);
            pi.ipi_spec_dst = got.ipi_spec_dst; /* the local address the call reached */
            data = &pi;
            n = sizeof pi;
        } else if (level == IPPROTO_IPV6 && type == IPV6_PKTINFO) {
            memcpy(&pi6, CMSG_DATA(cm), sizeof pi6);
            if (IN6_IS_ADDR_MULTICAST(&pi6.ipi6_addr))
                return;
            if (!IN6_IS_ADDR_LINKLOCAL(&pi6.ipi6_addr))
                pi6.ipi6_ifindex = 0; /* the route decides, as for any reply */
            data = &pi6;
            n = sizeof pi6;
        } else {
            continue;
        }
        if (CMSG_SPACE(n) > cap)
            return;
        memset(buf, 0, cap);
        out->msg_control = buf;
        out->msg_controllen = CMSG_SPACE(n);
        struct cmsghdr *oc = CMSG_FIRSTHDR(out);
        oc->cmsg_level = level;
        oc->cmsg_type = type;
        oc->cmsg_len = CMSG_LEN(n);
        memcpy(CMSG_DATA(oc), data, n);
        return;
    }
}

/* send_dgram sends the reply in w->out[4 .. 4+len) to the source of the
 * datagram whose recvmsg header is in. On a socket bound to a wildcard
 * address the reply leaves from the address the call was sent to: else the
 * kernel would choose the source by route, and a client whose socket is
 * connected to the address it called (Parley's client, libtirpc's) would
 * drop a reply from another one of the host's addresses. */
static void send_dgram(worker *w, conn *c, size_t len, struct msghdr *in)
{
    if (atomic_load(&c->dead))
        return;
    struct iovec iov = {w->out + 4, len};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    } control;
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_name = in->msg_name;
    mh.msg_namelen = in->msg_namelen;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (c->pktinfo)
        reply_source(in, &mh, control.buf, sizeof control.buf);
    sendmsg(c->fd, &mh, MSG_DONTWAIT);
}

/* ---- dispatch ---------------------------------------------------------- */

static const parley_proc_def *find_proc(const parley_program_def *p, uint32_t proc)
{
    for (size_t i = 0; i < p->nprocs; i++)
        if (p->procs[i].proc == proc)
            return &p->procs[i];
    return NULL;
}

/* reply_error writes an accepted reply with an error status at w->out+4. */
static size_t reply_accepted(worker *w, uint32_t xid, const pl_opaque_auth *verf, uint32_t stat,
                             uint32_t low, uint32_t high)
{
    parley_enc e;
    parley_enc_init(&e, w->out + 4, w->out_cap - 4);
    pl_msg_encode_reply_accepted(&e, xid, verf, stat, low, high);
    size_t len = 0;
    parley_enc_finish(&e, &len);
    return len;
}

/* process answers one call message; returns the reply's length at
 * w->out+4, or 0 for no reply (the message is dropped). *fatal is set when
 * the connection is to be ended (a message that is not a call). */
static size_t process(worker *w, const msgsrc *src, const uint8_t *msg, size_t len, int *fatal)
{
    parley_server *s = w->s;
    *fatal = 0;
    if (out_reserve(w, 4096) != 0)
        return 0;
    parley_dec d;
    parley_dec_init(&d, msg, len, NULL);
    pl_call_header h;
    int rc = pl_msg_decode_call(&d, &h);
    if (rc != PARLEY_OK) {
        *fatal = 1; /* not a call we can even answer: a REPLY, or garbage */
        return 0;
    }
    parley_enc e;
    size_t out_len = 0;
    if (h.rpcvers != PARLEY_RPC_VERSION) {
        parley_enc_init(&e, w->out + 4, w->out_cap - 4);
        pl_msg_encode_reply_denied_rpc_mismatch(&e, h.xid, PARLEY_RPC_VERSION, PARLEY_RPC_VERSION);
        parley_enc_finish(&e, &out_len);
        return out_len;
    }
    parley_call call;
    memset(&call, 0, sizeof call);
    call.w = w;
    call.src = src;
    uint32_t auth = pl_auth_check(&h, &call.cred);
    if (auth != PARLEY_AUTH_OK) {
        parley_enc_init(&e, w->out + 4, w->out_cap - 4);
        pl_msg_encode_reply_denied_auth_error(&e, h.xid, auth);
        parley_enc_finish(&e, &out_len);
        return out_len;
    }
    uint8_t verf_buf[PARLEY_MAX_AUTH_BYTES];
    pl_opaque_auth verf = {PARLEY_AUTH_NONE, 0, NULL};
    const pl_auth_ops *ops = pl_auth_find(h.cred.flavor);
    if (ops && ops->make_verf && ops->make_verf(&h, &call.cred, verf_buf, &verf) != PARLEY_OK)
        return reply_accepted(w, h.xid, &verf, PARLEY_SYSTEM_ERR, 0, 0);

    const parley_program_def *prog = NULL;
    uint32_t low = UINT32_MAX, high = 0;
    for (size_t i = 0; i < s->nprogs; i++) {
        if (s->progs[i]->prog != h.prog)
            continue;
        low = s->progs[i]->vers < low ? s->progs[i]->vers : low;
        high = s->progs[i]->vers > high ? s->progs[i]->vers : high;
        if (s->progs[i]->vers == h.vers)
            prog = s->progs[i];
    }
    if (!prog && high == 0 && low == UINT32_MAX)
        return reply_accepted(w, h.xid, &verf, PARLEY_PROG_UNAVAIL, 0, 0);
    if (!prog)
        return reply_accepted(w, h.xid, &verf, PARLEY_PROG_MISMATCH, low, high);
    const parley_proc_def *proc = find_proc(prog, h.proc);
    if (!proc && h.proc == 0) /* the NULL procedure, which every program has */
        return d.p == d.end ? reply_accepted(w, h.xid, &verf, PARLEY_SUCCESS, 0, 0)
                            : reply_accepted(w, h.xid, &verf, PARLEY_GARBAGE_ARGS, 0, 0);
    if (!proc)
        return reply_accepted(w, h.xid, &verf, PARLEY_PROC_UNAVAIL, 0, 0);

    /* the success header first; the handler's result follows it */
    parley_enc_init(&e, w->out + 4, w->out_cap - 4);
    pl_msg_encode_reply_accepted(&e, h.xid, &verf, PARLEY_SUCCESS, 0, 0);
    parley_enc_finish(&e, &call.header_end);
    call.header_end += 4;
    call.limits.max_alloc = PARLEY_DEFAULT_MAX_ALLOC;
    call.limits.arena = w->arena;
    d.arena = w->arena; /* the arguments go into the call's arena */
    d.budget = call.limits.max_alloc;
    rc = proc->handler(&call, &d);
    parley_arena_reset(w->arena);
    if (rc == PARLEY_ERR_GARBAGE_ARGS)
        return reply_accepted(w, h.xid, &verf, PARLEY_GARBAGE_ARGS, 0, 0);
    if (rc != PARLEY_OK)
        return reply_accepted(w, h.xid, &verf, PARLEY_SYSTEM_ERR, 0, 0);
    if (!call.result_ok) { /* a void result: nothing after the header */
        return call.header_end - 4;
    }
    if (call.result.err)
        return reply_accepted(w, h.xid, &verf, PARLEY_SYSTEM_ERR, 0, 0);
    return (size_t)(call.result.p - w->out) - 4;
}

/* ---- the public call API ----------------------------------------------- */

const parley_cred *parley_call_cred(const parley_call *call)
{
    return &call->cred;
}

_Static_assert((int)PL_TR_TCP == (int)PARLEY_TRANSPORT_TCP &&
                   (int)PL_TR_UDP == (int)PARLEY_TRANSPORT_UDP &&
                   (int)PL_TR_UNIX == (int)PARLEY_TRANSPORT_UNIX,
               "a connection's transport is its address's");

/* parley_call_transport: see server.h. */
int parley_call_transport(const parley_call *call)
{
    return call->src->c->transport;
}

/* parley_call_peer: see server.h. */
int parley_call_peer(const parley_call *call, struct sockaddr_storage *out, socklen_t *len)
{
    if (!call || !out || !len)
        return PARLEY_ERR_INVALID;
    const conn *c = call->src->c;
    if (c->kind == SK_UDP) {
        const struct msghdr *mh = call->src->dgram;
        memset(out, 0, sizeof *out);
        memcpy(out, mh->msg_name, mh->msg_namelen);
        *len = mh->msg_namelen;
    } else {
        *out = c->peer;
        *len = c->peer_len;
    }
    return PARLEY_OK;
}

/* dgram_dest finds the destination address of a datagram in the
 * IP_PKTINFO or IPV6_PKTINFO of its recvmsg header and writes it, with the
 * port of c's address, to *out; returns 0 when the header has neither. */
static int dgram_dest(const conn *c, struct msghdr *mh, struct sockaddr_storage *out,
                      socklen_t *len)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
        if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO &&
            c->local.ss_family == AF_INET) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(cm), sizeof pi);
            struct sockaddr_in sin = *(const struct sockaddr_in *)&c->local;
            sin.sin_addr = pi.ipi_addr;
            memset(out, 0, sizeof *out);
            memcpy(out, &sin, sizeof sin);
            *len = sizeof sin;
            return 1;
        }
        if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO &&
            c->local.ss_family == AF_INET6) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(cm), sizeof pi);
            struct sockaddr_in6 sin6 = *(const struct sockaddr_in6 *)&c->local;
            sin6.sin6_addr = pi.ipi6_addr;
            sin6.sin6_scope_id = IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr) ? pi.ipi6_ifindex : 0;
            memset(out, 0, sizeof *out);
            memcpy(out, &sin6, sizeof sin6);
            *len = sizeof sin6;
            return 1;
        }
    }
    return 0;
}

/* parley_call_local: see server.h. */
int parley_call_local(const parley_call *call, struct sockaddr_storage *out, socklen_t *len)
{
    if (!call || !out || !len)
        return PARLEY_ERR_INVALID;
    const conn *c = call->src->c;
    struct sockaddr_storage ss;
    socklen_t n = sizeof ss;
    if (c->kind == SK_UDP) {
        if (!(c->pktinfo && dgram_dest(c, call->src->dgram, &ss, &n))) {
            ss = c->local;
            n = c->local_len;
        }
    } else if (getsockname(c->fd, (struct sockaddr *)&ss, &n) != 0) {
        return PARLEY_ERR_IO;
    }
    *out = ss;
    *len = n;
    return PARLEY_OK;
}

/* parley_call_peer_ids: see server.h. */
int parley_call_peer_ids(const parley_call *call, uid_t *uid, gid_t *gid, pid_t *pid)
{
    if (!call)
        return PARLEY_ERR_INVALID;
    const conn *c = call->src->c;
    if (c->transport != PL_TR_UNIX)
        return PARLEY_ERR_UNSUPPORTED;
    if (!c->has_ids)
        return PARLEY_ERR_IO;
    if (uid)
        *uid = c->ids.uid;
    if (gid)
        *gid = c->ids.gid;
    if (pid)
        *pid = c->ids.pid;
    return PARLEY_OK;
}

parley_arena *parley_call_arena(parley_call *call)
{
    return call->w->arena;
}

const parley_limits *parley_call_limits(const parley_call *call)
{
    return &call->limits;
}

parley_enc *parley_call_result(parley_call *call, size_t size)
{
    worker *w = call->w;
    if (size > SIZE_MAX - call->header_end || out_reserve(w, call->header_end + size) != 0)
        return NULL;
    parley_enc_init(&call->result, w->out + call->header_end, size);
    call->result_ok = 1;
    return &call->result;
}

/* ---- events ------------------------------------------------------------ */

static void on_listen(parley_server *s, conn *l)
{
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
            close(fd);
            continue;
        }
        conn *c = conn_new(SK_STREAM, fd);
        if (!c) {
            close(fd);
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
        pthread_mutex_lock(&s->mu);
        c->next = s->conns;
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->nconns++;
        pthread_mutex_unlock(&s->mu);
        if (arm(s, c, EPOLL_CTL_ADD) != 0)
            conn_end(s, c);
    }
    if (!atomic_load(&s->stopping))
        arm(s, l, EPOLL_CTL_MOD);
}

static void on_stream(worker *w, conn *c)
{
    parley_server *s = w->s;
    ssize_t n = recv(c->fd, w->in, READ_CHUNK, 0);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            arm(s, c, EPOLL_CTL_MOD);
            return;
        }
        conn_end(s, c);
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
            bad = 1;
            break;
        }
        if (rc == PL_RM_NEED_MORE)
            break;
        if (nm == w->msgs_cap) {
            size_t cap = w->msgs_cap ? 2 * w->msgs_cap : 64;
            msgref *g = realloc(w->msgs, cap * sizeof *g);
            if (!g) {
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
        if (!(c->rm.msg >= w->in && c->rm.msg < w->in + READ_CHUNK)) {
            m.owned = malloc(m.len ? m.len : 1);
            if (!m.owned) {
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
    int rearm_failed = 0;
    if (!bad) {
        /* read on, unless the client is not taking its replies: then its
         * connection waits until they are out (on_writable re-arms it) */
        pthread_mutex_lock(&c->wmu);
        if (c->out_blocked)
            c->read_paused = 1;
        else
            rearm_failed = arm(s, c, EPOLL_CTL_MOD) != 0;
        pthread_mutex_unlock(&c->wmu);
    }
    if (bad || rearm_failed)
        conn_end(s, c);
    /* the replies of one read go out in one write (a pipelining client sends
     * many calls at once); one reply goes straight from w->out */
    w->batch_len = 0;
    int fatal_seen = 0;
    const msgsrc src = {c, NULL};
    for (size_t i = 0; i < nm; i++) {
        int fatal = 0;
        size_t len = process(w, &src, w->msgs[i].p, w->msgs[i].len, &fatal);
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
        if (w->batch_len >= READ_CHUNK) {
            send_framed(s, c, w->batch, w->batch_len);
            w->batch_len = 0;
        }
    }
    if (w->batch_len)
        send_framed(s, c, w->batch, w->batch_len);
    if (fatal_seen)
        shutdown(c->fd, SHUT_RDWR);
    for (size_t i = 0; i < nm; i++)
        conn_unref(s, c);
}

/* on_udp reads and answers one datagram. recvmsg costs what recvfrom
 * would; on a socket bound to a wildcard address it also brings the
 * datagram's destination, for parley_call_local. */
static void on_udp(worker *w, conn *c)
{
    parley_server *s = w->s;
    struct sockaddr_storage from;
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
    } control;
    struct iovec iov = {w->in, UDP_MAX};
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_name = &from;
    mh.msg_namelen = sizeof from;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (c->pktinfo) {
        mh.msg_control = control.buf;
        mh.msg_controllen = sizeof control.buf;
    }
    ssize_t n = recvmsg(c->fd, &mh, 0);
    arm(s, c, EPOLL_CTL_MOD);
    if (n < 0)
        return;
    int fatal = 0;
    const msgsrc src = {c, &mh};
    size_t len = process(w, &src, w->in, (size_t)n, &fatal);
    if (len)
        send_dgram(w, c, len, &mh);
}

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
        if ((idle || slow) && !atomic_load(&c->dead))
            shutdown(c->fd, SHUT_RDWR); /* its reader sees the end and frees it */
    }
    pthread_mutex_unlock(&s->mu);
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
    conn *c = ev.data.ptr;
    sock_kind kind = *(const sock_kind *)ev.data.ptr; /* conn and wtag begin with it */
    if (kind == SK_LISTEN || kind == SK_STREAM || kind == SK_UDP)
        (void)atomic_load_explicit(&c->handoff, memory_order_acquire); /* see arm */
    switch (kind) {
    case SK_WAKE:
        return 0;
    case SK_LISTEN:
        on_listen(s, c);
        break;
    case SK_STREAM:
        on_stream(w, c);
        break;
    case SK_UDP:
        on_udp(w, c);
        break;
    case SK_WRITABLE:
        on_writable(s, ((wtag *)ev.data.ptr)->c);
        break;
    }
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
    w->in = malloc(READ_CHUNK > UDP_MAX ? READ_CHUNK : UDP_MAX);
    w->arena = parley_arena_create(0);
    if (!w->in || !w->arena || out_reserve(w, 4096) != 0)
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

int parley_server_create(parley_server **out, const parley_server_opts *opts)
{
    parley_server *s = calloc(1, sizeof *s);
    if (!s)
        return PARLEY_ERR_NOMEM;
    if (opts)
        s->opts = *opts;
    if (!s->opts.threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->opts.threads = n > 0 && n < 1024 ? (unsigned)n : 2;
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
    pthread_mutex_init(&s->mu, NULL);
    s->ep = epoll_create1(EPOLL_CLOEXEC);
    s->wake.kind = SK_WAKE;
    s->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (s->ep < 0 || s->wake.fd < 0) {
        if (s->ep >= 0)
            close(s->ep);
        if (s->wake.fd >= 0)
            close(s->wake.fd);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return PARLEY_ERR_IO;
    }
    struct epoll_event ev = {0};
    ev.events = EPOLLIN; /* level-triggered: wakes every thread once stopping */
    ev.data.ptr = &s->wake;
    epoll_ctl(s->ep, EPOLL_CTL_ADD, s->wake.fd, &ev);
    *out = s;
    return PARLEY_OK;
}

int parley_server_add_program(parley_server *s, const parley_program_def *def)
{
    if (!def)
        return PARLEY_ERR_INVALID;
    for (size_t i = 0; i < s->nprogs; i++)
        if (s->progs[i]->prog == def->prog && s->progs[i]->vers == def->vers)
            return PARLEY_ERR_INVALID;
    if (s->nprogs == s->capprogs) {
        size_t cap = s->capprogs ? 2 * s->capprogs : 4;
        const parley_program_def **p = realloc(s->progs, cap * sizeof *p);
        if (!p)
            return PARLEY_ERR_NOMEM;
        s->progs = p;
        s->capprogs = cap;
    }
    s->progs[s->nprogs++] = def;
    return PARLEY_OK;
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

/* wildcard tells whether sa is 0.0.0.0 or ::. */
static int wildcard(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET)
        return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (sa->ss_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return 0;
}

/* parley_server_listen_opts: see server.h. A name that resolves to several
 * addresses is listened on at the first. A Unix socket's mode is set
 * between bind and listen: before listen nobody can connect, so no client
 * gets in under the umask's permissions. */
int parley_server_listen_opts(parley_server *s, const char *text, const parley_listen_opts *opts,
                              char *bound, size_t boundlen)
{
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
    int stream = sa->socktype == SOCK_STREAM;
    int fd = socket(sa->family, sa->socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, sa->protocol);
    if (fd < 0) {
        rc = listen_error(errno);
        goto fail;
    }
    if (sa->family != AF_UNIX) {
        int one = 1;
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
    if (sa->family == AF_UNIX && o.unix_mode && chmod(a.path, (mode_t)o.unix_mode) != 0) {
        rc = listen_error(errno);
        unlink(a.path);
        goto fail;
    }
    if (stream && listen(fd, SOMAXCONN) != 0) {
        rc = listen_error(errno);
        if (sa->family == AF_UNIX)
            unlink(a.path);
        goto fail;
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof got;
    memset(&got, 0, sizeof got);
    if (sa->family != AF_UNIX && getsockname(fd, (struct sockaddr *)&got, &gl) == 0)
        a.port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                 : ((struct sockaddr_in *)&got)->sin_port);
    /* a UDP socket on a wildcard address learns each datagram's destination */
    int pktinfo = 0;
    if (!stream && wildcard(&got)) {
        int one = 1;
        pktinfo = got.ss_family == AF_INET6
                      ? setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) == 0
                      : setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) == 0;
    }
    conn *l = conn_new(stream ? SK_LISTEN : SK_UDP, fd);
    if (!l) {
        rc = PARLEY_ERR_NOMEM;
        goto fail;
    }
    fd = -1;
    l->transport = a.transport;
    l->local = got;
    l->local_len = gl;
    l->pktinfo = pktinfo;
    if (sa->family == AF_UNIX)
        snprintf(l->unix_path, sizeof l->unix_path, "%s", a.path);
    if (s->nlisteners == s->caplisteners) {
        size_t cap = s->caplisteners ? 2 * s->caplisteners : 4;
        conn **g = realloc(s->listeners, cap * sizeof *g);
        if (!g) {
            conn_unref(s, l);
            rc = PARLEY_ERR_NOMEM;
            goto fail;
        }
        s->listeners = g;
        s->caplisteners = cap;
    }
    s->listeners[s->nlisteners++] = l;
    if (arm(s, l, EPOLL_CTL_ADD) != 0) {
        rc = PARLEY_ERR_IO;
        goto fail;
    }
    if (bound && boundlen)
        pl_addr_format(&a, bound, boundlen, NULL);
    pl_addr_resolved_free(list);
    return PARLEY_OK;
fail:
    if (fd >= 0)
        close(fd);
    pl_addr_resolved_free(list);
    return rc;
}

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

void parley_server_stop(parley_server *s)
{
    atomic_store(&s->stopping, 1);
    uint64_t one = 1;
    ssize_t k = write(s->wake.fd, &one, sizeof one);
    (void)k;
}

/* ---- the matchmaker ------------------------------------------------------ */

/* parley_server_register: see server.h. Every (program, version) on every
 * address, one REGISTER each; on a failure, those already made are
 * removed again. */
int parley_server_register(parley_server *s, const char *name)
{
    if (!s || !name || !pl_name_valid(name, strlen(name)))
        return PARLEY_ERR_INVALID;
    if (s->nlisteners == 0 || s->nprogs == 0)
        return PARLEY_ERR_INVALID;
    if (s->reg_name[0])
        parley_server_unregister(s);
    strcpy(s->reg_name, name);
    int rc = PARLEY_OK;
    for (size_t i = 0; i < s->nlisteners && rc == PARLEY_OK; i++) {
        conn *l = s->listeners[i];
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        if (getsockname(l->fd, (struct sockaddr *)&ss, &len) != 0) {
            rc = PARLEY_ERR_IO;
            break;
        }
        int socktype = l->kind == SK_UDP ? SOCK_DGRAM : SOCK_STREAM;
        if (l->transport == PL_TR_UNIX && l->unix_path[0]) {
            /* the absolute path, whatever the address was written as */
            struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
            if (l->unix_path[0] != '/')
                continue; /* a relative path means nothing to another process */
            snprintf(sun->sun_path, sizeof sun->sun_path, "%s", l->unix_path);
            len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(l->unix_path) + 1);
        }
        for (size_t k = 0; k < s->nprogs && rc == PARLEY_OK; k++)
            rc = pl_mm_register(name, s->progs[k]->prog, s->progs[k]->vers, (struct sockaddr *)&ss,
                                len, socktype);
    }
    if (rc != PARLEY_OK)
        parley_server_unregister(s);
    return rc;
}

/* parley_server_unregister: see server.h. */
int parley_server_unregister(parley_server *s)
{
    if (!s)
        return PARLEY_ERR_INVALID;
    if (!s->reg_name[0])
        return PARLEY_OK;
    int rc = PARLEY_OK;
    for (size_t k = 0; k < s->nprogs; k++) {
        int r = pl_mm_unregister(s->reg_name, s->progs[k]->vers, "");
        if (rc == PARLEY_OK)
            rc = r;
    }
    s->reg_name[0] = '\0';
    return rc;
}

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
        conn_unref(s, l);
    }
    while (s->conns) {
        conn *c = s->conns;
        atomic_store(&c->refs, 1);
        conn_unref(s, c);
    }
    if (s->embedded) {
        worker_fini(s->embedded);
        free(s->embedded);
    }
    free(s->listeners);
    free(s->progs);
    close(s->wake.fd);
    close(s->ep);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
