/*
 * server/internal.h: what the server's files share, and nothing public.
 *
 * The server of parley/server.h is four files: server.c (the lifecycle, the
 * worker pool and its epoll loop, the list of connections), stream.c (TCP
 * and Unix streams: accepting, reading with record marking, queued output),
 * dgram.c (UDP sockets: a datagram in, a datagram out) and dispatch.c (a
 * call message to its procedure, and the parley_call_* functions a
 * procedure asks of its call). The cut is streams against datagrams, as in
 * libuv: what varies between them sits behind pl_sv_ops, one table per
 * kind of socket, so that server.c and dispatch.c never ask which kind a
 * socket is and a change to UDP touches dgram.c alone.
 *
 * Each kind's reader calls pl_sv_process for the messages it read and sends
 * the replies itself (a stream gathers those of one read into one write, a
 * datagram's reply goes to its source), so sending is not in the table:
 * nobody but the reader sends.
 */
#ifndef PARLEY_SERVER_INTERNAL_H
#define PARLEY_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "parley/server.h"
#include "parley/stats.h"
#include "delivery/drc.h"
#include "net/addr.h"
#include "net/log.h"
#include "net/spin.h"
#include "wire/recmark.h"
#include "wire/rpcmsg.h"
#include "wire/seq.h"

struct pl_rcache;
struct pl_store;
struct pl_store_txn;

enum {
    PL_SV_READ_CHUNK = 64 * 1024, /* what a stream's reader asks recv for */
    PL_SV_UDP_MAX = 65536,        /* the largest datagram */
};

struct conn;
struct worker;

/* One key (name, vers, netid) a server registered with the matchmaker, to
 * be unregistered alone: never a key it did not register, which may be
 * another live server's. netid is a parley_netid's (static). */
typedef struct pl_sv_regkey {
    uint32_t vers;
    const char *netid;
} pl_sv_regkey;

/* What an epoll registration's data points to: one of a connection's two
 * registrations, rd (its one-shot read event on fd) or wr (a stream's
 * EPOLLOUT on wfd, a dup of fd, so that waiting to write never disturbs the
 * read registration a reading thread owns). serve_one tells them apart by
 * address. The eventfd that wakes the threads registers NULL. */
typedef struct pl_sv_ev {
    struct conn *c;
} pl_sv_ev;

/* The transport interface: what each kind of socket does its own way. A
 * listening stream socket, an accepted stream and a UDP socket each have
 * one (stream.c, dgram.c). */
typedef struct pl_sv_ops {
    int socktype; /* SOCK_STREAM or SOCK_DGRAM: what the matchmaker is told */
    /* open readies a socket just bound to be served (a listening one only):
     * listen(2) for a stream, ask for each datagram's destination on a
     * wildcard address for UDP. 0, or -1 with errno set. */
    int (*open)(struct conn *l);
    /* on_read handles c's read event, which the calling thread holds (the
     * one-shot registration fired and the hand-off is acquired): it reads,
     * re-arms or ends c, and answers what it read. */
    void (*on_read)(struct worker *w, struct conn *c);
    /* on_writable handles c's EPOLLOUT registration (streams only). */
    void (*on_writable)(struct worker *w, struct conn *c);
    /* peer and local answer parley_call_peer and parley_call_local for a
     * call read from this kind of socket (arguments checked already). */
    int (*peer)(const parley_call *call, struct sockaddr_storage *out, socklen_t *len);
    int (*local)(const parley_call *call, struct sockaddr_storage *out, socklen_t *len);
} pl_sv_ops;

extern const pl_sv_ops pl_sv_listener_ops; /* stream.c: a listening TCP or Unix socket */
extern const pl_sv_ops pl_sv_stream_ops;   /* stream.c: an accepted connection */
extern const pl_sv_ops pl_sv_dgram_ops;    /* dgram.c: a UDP socket */

/* The program table: an array never changed once published, so that a
 * call reads it without a lock while parley_server_add_program publishes
 * a longer copy (see there). Every table stays until the server is
 * destroyed, linked through older. stats and ctx point into the same
 * allocation, past defs. */
/* A procedure's counters (parley/stats.h), one per parley_proc_def,
 * added to with relaxed atomics; calls is their sum, made when read. */
typedef struct pl_sv_pstat {
    _Atomic uint64_t ok, garbage_args, system_err, not_run;
    _Atomic uint64_t latency_us[PARLEY_STATS_BUCKETS];
} pl_sv_pstat;

typedef struct pl_sv_progs {
    struct pl_sv_progs *older; /* the table this one replaced, or NULL */
    size_t n;
    pl_sv_pstat **stats; /* defs[i]'s counters, one per procedure (after defs, in this
                            block; each array shared by the newer tables, freed once) */
    void **ctx;          /* the context defs[i] was added with (after stats) */
    const parley_program_def *defs[];
} pl_sv_progs;

typedef struct conn {
    const pl_sv_ops *ops;
    int fd;
    int transport;                 /* PL_TR_TCP, PL_TR_UDP or PL_TR_UNIX */
    pl_sv_ev rd, wr;               /* its epoll registrations (see pl_sv_ev) */
    atomic_int refs;               /* the registration, plus each call being answered */
    atomic_int dead;               /* ended: no more reads, replies are dropped */
    pthread_mutex_t wmu;           /* one writer at a time */
    pl_rm_reader rm;               /* stream: reassembly (only the thread holding the event) */
    _Atomic int64_t last_active;   /* ms, monotonic: set by the reading thread, read by scan */
    _Atomic int64_t partial_since; /* ms when a partly read message began, or 0 (the same) */
    atomic_uint handoff;           /* see pl_sv_arm */
    int tracked;                   /* on the server's list (pl_sv_track); set before it is armed */
    struct conn *prev, *next;      /* the server's list of connections */
    char unix_path[108];           /* a listening Unix socket: unlinked at the end */
    /* Replies the client has not taken yet (under wmu). While any wait, the
     * connection is not read (read_paused), so a client that sends and never
     * reads costs at most max_queued bytes, then its connection is ended;
     * no thread ever waits for it. */
    uint8_t *outq;
    size_t outq_off, outq_len, outq_cap;
    int out_blocked; /* waiting for EPOLLOUT on wfd (holds a reference) */
    int read_paused; /* not re-armed for reading while out_blocked */
    int wfd;         /* dup of fd for the EPOLLOUT registration, or -1 */
    /* stream: the peer's address (from accept4), and on a Unix socket its
     * credentials (SO_PEERCRED, when has_ids) */
    struct sockaddr_storage peer;
    socklen_t peer_len;
    int has_ids;
    struct ucred ids;
    /* a listening socket: the address bound; UDP: whether datagrams come
     * with their destination address (pktinfo: bound to a wildcard address) */
    struct sockaddr_storage local;
    socklen_t local_len;
    int pktinfo;
    atomic_int why; /* an accepted stream: why it ends (PL_SV_WHY_*), the first reason set */
} conn;

/* Why a connection ended, for the log's conn_closed (pl_sv_conn_why). */
enum {
    PL_SV_WHY_PEER = 0, /* the client closed it (or nothing else was said) */
    PL_SV_WHY_IDLE,
    PL_SV_WHY_MSG_TIMEOUT,
    PL_SV_WHY_MAX_MSG,
    PL_SV_WHY_MAX_QUEUED,
    PL_SV_WHY_MALFORMED,
    PL_SV_WHY_IO,
    PL_SV_WHY_NOMEM,
    PL_SV_WHY_DESTROY,
};

struct parley_server {
    parley_server_opts opts;
    _Atomic(pl_sv_progs *) progs; /* stored with a release, loaded with an acquire; or NULL */
    int ep;
    int wake_fd; /* an eventfd, written by parley_server_stop */
    atomic_int stopping;
    pthread_mutex_t mu; /* the connection list and counts */
    conn *conns;        /* accepted streams */
    conn **listeners;
    size_t nlisteners, caplisteners;
    unsigned nconns;
    atomic_int running;
    atomic_int spinning;                 /* a worker is busy polling (one at a time) */
    int64_t spin_ns;                     /* opts.busy_poll_us in ns; 0: never */
    struct worker *embedded;             /* the caller's, for parley_server_poll */
    char reg_name[PL_ADDR_NAME_MAX + 1]; /* registered with the matchmaker as, or "" */
    struct pl_sv_regkey *reg_keys;       /* what it registered: (version, netid) keys */
    size_t nreg_keys;
    char reg_holder[PL_ADDR_HOST_MAX + 64]; /* who held the name at the last refusal, or "" */
    /* the delivery guarantees (guard.c) */
    _Atomic uint64_t incarnation; /* drawn at create, in every Parley verifier (guard.c) */
    uint64_t store_boot;          /* the store's run in it (idle scan's thread) */
    int64_t store_lease_ns;       /* parley_server_opts.store_lease_ms, or its default */
    struct pl_rcache *rcache;     /* calls with a Parley identity */
    pl_drc *drc;                  /* plain ONC RPC calls, best effort */
    struct pl_store *store;       /* completion records; NULL: no exactly-once */
};

/* A message read off a stream, copied when the reader's buffer would not
 * outlive the next feed. */
typedef struct msgref {
    const uint8_t *p;
    size_t len;
    uint8_t *owned;
} msgref;

/* Per thread: buffers reused from call to call. */
typedef struct worker {
    parley_server *s;
    uint8_t *in;  /* PL_SV_READ_CHUNK bytes, or PL_SV_UDP_MAX if more */
    uint8_t *out; /* the reply being built, with 4 bytes for the record mark */
    size_t out_cap;
    parley_arena *arena; /* arguments; reset after each call */
    int64_t last_scan;
    struct msgref *msgs; /* the messages of one read */
    size_t msgs_cap;
    uint8_t *batch; /* replies to the messages of one read, framed */
    size_t batch_len, batch_cap;
    int pool;                         /* a thread of parley_server_run's pool (may busy poll) */
    const struct msgsrc *src;         /* the message pl_sv_process answers, for the log */
    const struct pl_call_header *hdr; /* its header once decoded, or NULL (the same) */
    pl_spin spin;                     /* adaptive busy poll (net/spin.h): see spin_wait */
} worker;

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
    const pl_seq_cred *seq;   /* the caller's Parley identity, or NULL */
    parley_semantics sem;     /* the guarantee the call is served with */
    struct pl_store_txn *txn; /* an exactly-once call's store transaction, once used */
    void *ctx;                /* its program's context (parley_call_ctx) */
    size_t size;              /* the call message's bytes (parley_call_size) */
};

/* What guard.c says of a call before it runs, and what it records after. */
enum { PL_SV_RUN, PL_SV_ANSWERED };
enum { PL_SV_GUARD_NONE, PL_SV_GUARD_CACHE, PL_SV_GUARD_DRC, PL_SV_GUARD_STORE };
typedef struct pl_sv_guard {
    int kind;
    pl_drc_ticket ticket; /* PL_SV_GUARD_DRC */
} pl_sv_guard;

/* PL_SV_LOG(level, event, c, err, fmt, ...) logs an event of the
 * accepted stream c, with its peer. */
#define PL_SV_LOG(level, event, c, err_, ...)                                                      \
    PL_LOG(level, event,                                                                           \
           (&(pl_log_src){.peer = (const struct sockaddr *)&(c)->peer,                             \
                          .peer_len = (c)->peer_len,                                               \
                          .transport = (c)->transport,                                             \
                          .err = (err_)}),                                                         \
           __VA_ARGS__)

/* PL_SV_LOG_CALL logs an event of the call w answers (its peer and
 * procedure), what a sentence after "call prog/vers/proc ". */
#define PL_SV_LOG_CALL(w, level, event, err, what)                                                 \
    do {                                                                                           \
        if (PL_LOG_ON(level))                                                                      \
            pl_sv_log_call((w), (level), (event), (err), (what));                                  \
    } while (0)

/* PL_SV_LOG_STATUS logs a delivery status (PL_SEQ_*) answered to w's call. */
#define PL_SV_LOG_STATUS(w, st)                                                                    \
    do {                                                                                           \
        if (PL_LOG_ON(PARLEY_LOG_ERROR))                                                           \
            pl_sv_log_status((w), (st));                                                           \
    } while (0)

/* ---- server.c ---- */
void pl_sv_conn_why(conn *c, int why);
int pl_sv_conn_new(const pl_sv_ops *ops, int fd, conn **out);
void pl_sv_conn_unref(parley_server *s, conn *c);
void pl_sv_conn_end(parley_server *s, conn *c);
int pl_sv_arm(parley_server *s, conn *c, int op);
void pl_sv_track(parley_server *s, conn *c);

/* ---- dispatch.c ---- */
int pl_sv_out_reserve(worker *w, size_t need);
size_t pl_sv_process(worker *w, const msgsrc *src, const uint8_t *msg, size_t len, int *fatal);
size_t pl_sv_reply_accepted(worker *w, uint32_t xid, const pl_opaque_auth *verf, uint32_t stat,
                            uint32_t low, uint32_t high);
void pl_sv_log_call(const worker *w, int level, int event, int err, const char *what);
void pl_sv_log_status(const worker *w, uint32_t st);

/* ---- stats.c ---- */
pl_sv_pstat *pl_sv_stats_new(const parley_program_def *def);
void pl_sv_stats_free(pl_sv_progs *newest);

/* ---- guard.c ---- */
int pl_sv_guard_open(parley_server *s);
void pl_sv_guard_close(parley_server *s);
void pl_sv_guard_expire(parley_server *s);
void pl_sv_verf(const parley_server *s, uint32_t status, uint8_t buf[PL_SEQ_VERF_BYTES],
                pl_opaque_auth *verf);
size_t pl_sv_guard_hello(worker *w, const parley_call *call, const pl_call_header *h);
int pl_sv_guard_begin(worker *w, parley_call *call, const pl_call_header *h, parley_semantics sem,
                      const uint8_t *args, size_t args_len, pl_sv_guard *g, size_t *out_len);
size_t pl_sv_guard_end(worker *w, parley_call *call, const pl_call_header *h, pl_sv_guard *g,
                       size_t len, int ok);

#endif /* PARLEY_SERVER_INTERNAL_H */
