/*
 * internal.h: the client's handle, shared by the parts of the client
 * (runtime/src/client/).
 *
 * Internal to libparley, in the client layer, above names, net, wire and
 * codec. client.c holds the handle's life, its synchronous calls and the
 * roles threads take to send and read; async.c the submitted calls and
 * parley_client_poll; dial.c resolving and connecting. What differs
 * between a stream (TCP, Unix) and a datagram socket (UDP) is behind
 * pl_client_ops, chosen once at create: stream.c and dgram.c. The fields
 * below are guarded as their comments say, most by the handle's mutex.
 */
#ifndef PARLEY_CLIENT_INTERNAL_H
#define PARLEY_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "parley/client.h"
#include "net/addr.h"
#include "net/log.h"
#include "net/spin.h"
#include "wire/recmark.h"
#include "wire/rpcmsg.h"

/* Wakes deferred past the mutex's release at most; more are done at once. */
#define PL_CLIENT_WAKE_BATCH 64

/* UDP: the longest interval between a call's transmissions (see
 * pl_dgram_backoff). */
#define PL_DGRAM_MAX_RETRANSMIT_MS 8000u

/* pending: a call waiting for its reply, on its caller's stack, or on the
 * heap for a submitted call (async). Its fields are guarded by the handle's
 * mutex while it is in a list. */
typedef struct pending {
    uint32_t xid;
    int done;             /* the call is over: err says how */
    int err;              /* a parley_err */
    int borrowed;         /* reply points into the reader's buffer (read role kept) */
    const uint8_t *reply; /* the reply message, when done with PARLEY_OK */
    size_t reply_len;
    uint8_t *copy;    /* reply's storage when copied out for this call (malloc) */
    atomic_uint wake; /* a synchronous caller sleeps on it (futex): see wake_later */
    struct pending *prev, *next;
    int handed;             /* the message was given to the socket (or the send queue) */
    unsigned resent;        /* UDP: transmissions after the first */
    int64_t next_tx;        /* UDP: when to send again; PL_NEVER on a stream */
    unsigned retransmit_ms; /* UDP: the interval ending then; 0: not sent yet */
    uint64_t batch;         /* stream: the send queue's batch its message joined */

    /* a submitted call: completed onto the finished list, not signalled */
    int async;
    int64_t deadline;
    parley_done_fn *fn;
    void *ctx;
    parley_res_dec *dec;
    void *res;
    parley_arena *arena; /* what the result is decoded into; NULL: malloc */
    const uint8_t *msg;  /* the message, for UDP retransmissions */
    size_t msg_len;
    uint64_t seq;   /* a guaranteed submitted call's sequence number; 0: none */
    int once_plain; /* an at-most-once call to a plain server (once.c) */
    /* a guaranteed submitted call between its sends (once.c decides, async.c
     * keeps it, on the handle's parked list while it waits) */
    int sem;             /* its parley_semantics */
    uint64_t first_inc;  /* the server's incarnation in its credential */
    unsigned sent;       /* transmissions that may have reached a server, ended attempts */
    unsigned reconnects; /* broken connections it met */
    int64_t wait;        /* the next backoff; 0: not begun */
    int parked;          /* waiting on the parked list until next_tx */
    int renew;           /* to go out under a new number after a HELLO to hello_inc */
    uint64_t hello_inc;  /* the incarnation that answered it HELLO */
    int park_rc;         /* what it ends with if its deadline passes while parked */
    /* a guaranteed call is pinned to the instance of a service it was first
     * handed to (see the handle's inst): it goes out again only on a
     * connection to that instance, else ends in doubt */
    int pin;       /* pin it when it is handed */
    uint64_t inst; /* the instance (the handle's inst) it was first handed to; 0: none */
} pending;

/* A guaranteed call as the journal keeps it (journal.c). */
typedef struct pl_jcall {
    struct pl_jcall *next;
    uint64_t seq, incarnation; /* its number; the server's incarnation at its first send */
    uint32_t proc, semantics;  /* semantics: a parley_semantics */
    size_t len;                /* of its encoded arguments */
    uint8_t args[];
} pl_jcall;
typedef struct pl_journal pl_journal;

/* PL_CLIENT_LOG(c, level, event, err, fmt, ...) logs an event of c, with
 * its address as the peer. */
#define PL_CLIENT_LOG(c, level, event, err_, ...)                                                  \
    do {                                                                                           \
        if (PL_LOG_ON(level))                                                                      \
            pl_log_emit((level), (event),                                                          \
                        (&(pl_log_src){.err = (err_), .peer_text = (c)->addr_text}), __VA_ARGS__); \
    } while (0)

struct parley_client {
    pl_addr addr;
    uint32_t prog, vers;
    unsigned timeout_ms, retransmit_ms;
    size_t max_msg, max_alloc;
    const struct pl_client_ops *ops; /* the transport's part, chosen at create */
    pl_opaque_auth cred;
    uint8_t cred_buf[PARLEY_MAX_AUTH_BYTES];
    atomic_uint_least32_t next_xid;
    atomic_int sys_errno;
    char addr_text[PL_LOG_PEER_MAX]; /* the address as given to create, for the log */
    int dialed;                      /* connected once: the next dial is a reconnection
                                        (under the send role) */

    pthread_mutex_t mu;
    pthread_cond_t send_cv; /* the send role was released, or a broken fd closed */
    int fd;                 /* -1: not connected */
    int broken;             /* the connection failed; fd is closed when no role is held */
    int sending;            /* a thread holds the send role (connects, sends) */
    int reading;            /* a thread holds the read role */
    uint8_t *queue;         /* stream: messages waiting for the send role's holder */
    size_t queue_len, queue_cap;
    uint64_t batch;  /* the number of the batch now being queued */
    uint8_t *outbox; /* the batch the holder of the send role is writing */
    size_t outbox_cap;
    pending *waiters;   /* calls waiting for their reply */
    pending *finished;  /* submitted calls completed, callbacks not run */
    pending *parked;    /* guaranteed submitted calls waiting to be sent again */
    int n_async;        /* submitted calls among the waiters */
    int efd, evfd, tfd; /* epoll set, eventfd, timerfd; -1 until first used */
    int64_t timer_at;   /* when tfd is armed to go off; PL_NEVER: disarmed */

    /* The reader's state: used only by the thread holding the read role,
     * reset when the connection is closed. */
    pl_rm_reader rm; /* a stream's record marking (stream.c) */
    uint8_t *rbuf;
    size_t rcap, rpos, rlen;
    int64_t rcvtimeo;
    /* The sleepers to wake once the mutex is released (see wake_later). */
    atomic_uint *wakes[PL_CLIENT_WAKE_BATCH];
    size_t nwakes;
    int64_t spin_ns; /* busy poll for a reply this long first; 0: never */
    pl_spin spin;    /* the adaptive policy (net/spin.h), the read role's */
    int64_t last_rx; /* when a reply last arrived (under the mutex) */

    /* The delivery guarantees (once.c), under the mutex. */
    uint8_t id[16];       /* this handle's identity: random, one per handle */
    uint64_t next_seq;    /* the next call's sequence number (from 1) */
    uint64_t floor;       /* every call below it is complete: the acknowledgement */
    uint8_t *done_bits;   /* complete calls from floor up (PL_ONCE_TRACK bits) */
    int peer;             /* PL_PEER_*: what the server is, learnt by HELLO */
    uint64_t incarnation; /* the server's, as last heard */
    int min_sem;          /* parley_client_opts.min_semantics */
    pl_journal *journal;  /* parley_client_opts.journal, or NULL */
    pl_jcall *jlive;      /* the journal's calls in flight (this process's) */
    pl_jcall *recovered;  /* calls in flight when the journal was opened */
    int recovering;       /* recovered calls not yet sent again: HELLO keeps them */
    int closing;          /* parley_client_destroy: no call goes out again */
    int fresh;            /* the next HELLO goes to a new server (see seq_cred) */
    int greeted;          /* a HELLO was answered by the incarnation greeted_inc */
    uint64_t greeted_inc;

    /* The instances of a service name (dial.c), under the mutex. One of the
     * cluster's instances is told by its address; this host's instances,
     * and every address of a handle not made for a name, count as one. */
    pl_sockaddr conn_at; /* where the connection (fd) goes, once connected */
    pl_sockaddr avoid;   /* where the last broken connection went: the next dial tries it last */
    int avoid_set;
    uint64_t inst; /* the instance fd goes to: a number changed whenever a connection goes
                      to another instance than the last one did (0: never connected) */
};

/* The calls a handle tracks between its acknowledgement and its newest:
 * past it, a guaranteed call is refused with PARLEY_ERR_BUSY. */
#define PL_ONCE_TRACK 65536u

/* What the client knows of its server's guarantees. */
enum { PL_PEER_UNKNOWN = 0, PL_PEER_PARLEY, PL_PEER_PLAIN };

/* pl_client_ops: the part of the client that differs between a stream
 * (pl_stream_ops, stream.c: TCP and Unix) and a datagram socket
 * (pl_dgram_ops, dgram.c: UDP), chosen once at create (pl_client_kind).
 * The roles, the waiting calls, the deadlines and the polling are the same
 * code for both, and call these; the handle's mutex is held unless said. */
typedef struct pl_client_ops {
    int socktype;     /* SOCK_STREAM or SOCK_DGRAM: what a service name is looked up for */
    size_t rbuf_size; /* the read buffer: the most one receive takes */
    /* frame makes what to send of the call encoded at buf + 4 (n bytes;
     * the 4 bytes before it are free for a record mark): *msg, *len. */
    int (*frame)(uint8_t *buf, size_t n, const uint8_t **msg, size_t *len);
    /* queue takes a copy of p's message msg for the holder of the send
     * role, another call on a working connection, and returns 0; nonzero:
     * p waits for the send role and sends the message itself. */
    int (*queue)(parley_client *c, pending *p, const uint8_t *msg, size_t len);
    /* flush writes, as the holder of the send role just after its own
     * send on fd, what other calls queued meanwhile (the mutex is released
     * around the writes). */
    void (*flush)(parley_client *c, int fd, int64_t deadline);
    /* read receives and delivers replies as the holder of the read role
     * (mutex not held) until self's own has arrived (PARLEY_OK), until
     * (PARLEY_ERR_TIMEDOUT), or with nonblock (the poller, self NULL) until
     * nothing more is there to read; other errors are the socket's. */
    int (*read)(parley_client *c, pending *self, int fd, int64_t until, int nonblock);
    /* on_broken: the socket failed with rc under self's call, reading or
     * sending (self NULL: under the poller, reading). */
    void (*on_broken)(parley_client *c, pending *self, int rc);
    /* reset makes the reader's state ready for the next connection, once
     * a broken one is closed. */
    void (*reset)(parley_client *c);
    /* schedule sets p->next_tx, when the call p is sent again, now being
     * the time of the send just made: PL_NEVER for a stream. */
    void (*schedule)(const parley_client *c, pending *p, int64_t now);
} pl_client_ops;

extern const pl_client_ops pl_stream_ops;
extern const pl_client_ops pl_dgram_ops;

/* pl_pending_remove takes p out of the list at *head (mutex held). */
static inline void pl_pending_remove(pending **head, pending *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        *head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    p->prev = p->next = NULL;
}

/* pl_pending_add puts p at the head of the list at *head (mutex held). */
static inline void pl_pending_add(pending **head, pending *p)
{
    p->prev = NULL;
    p->next = *head;
    if (*head)
        (*head)->prev = p;
    *head = p;
}

/* client.c */
void pl_client_set_errno(parley_client *c, int e);
void pl_client_unlock(parley_client *c);
void pl_client_complete(parley_client *c, pending *p, int err);
void pl_client_maybe_close(parley_client *c);
int pl_client_deliver(parley_client *c, pending *self, const uint8_t *msg, size_t len,
                      int too_large);
int pl_client_recv(parley_client *c, int fd, int flags, int64_t until, int nonblock, size_t *got);
void pl_client_release_reader(parley_client *c, pending *self, int rc);
int pl_client_start(parley_client *c, pending *p, const uint8_t *msg, size_t len, int64_t deadline);
void pl_client_set_detail(int err, const parley_rpc_detail *det);
int pl_client_decode_reply(parley_client *c, const pending *p, parley_res_dec *dec, void *res,
                           parley_arena *arena, parley_rpc_detail *det);
int pl_client_message_size(const parley_client *c, size_t args_size, size_t *out);
int pl_client_encode(parley_client *c, uint32_t xid, uint32_t proc, parley_args_enc *enc,
                     const void *args, uint8_t *buf, size_t cap, const uint8_t **msg, size_t *len);
int pl_client_encode_cred(parley_client *c, uint32_t xid, uint32_t proc, const pl_opaque_auth *cred,
                          parley_args_enc *enc, const void *args, uint8_t *buf, size_t cap,
                          const uint8_t **msg, size_t *len);
int pl_client_attempt(parley_client *c, pending *p, const uint8_t *msg, size_t len,
                      int64_t deadline, int resend, uint64_t *inst);
void pl_client_attempt_end(parley_client *c, pending *p);

/* journal.c */
int pl_journal_open(const char *path, uint8_t id[16], uint64_t *next_seq, pl_journal **out);
void pl_journal_close(pl_journal *j);
pl_jcall *pl_journal_inflight(pl_journal *j);
int pl_journal_call(pl_journal *j, const pl_jcall *k);
void pl_journal_done(pl_journal *j, uint64_t seq, const uint8_t id[16], const pl_jcall *live);

/* once.c */
/* A plain call (parley_client_call and the rest without a parley_call_opts):
 * no guarantee asked, made as ONC RPC clients make them. */
#define PL_SEM_PLAIN (-1)
int pl_once_init(parley_client *c, const parley_client_opts *o);
void pl_once_fini(parley_client *c);
int pl_once_semantics(const parley_client *c, uint32_t proc, int sem);
int pl_once_call(parley_client *c, uint32_t proc, parley_args_enc *enc, const void *args,
                 size_t args_size, parley_res_dec *dec, void *res, parley_arena *arena,
                 parley_semantics sem, int64_t deadline, parley_rpc_detail *det);
int pl_once_submit_cred(parley_client *c, parley_semantics sem, int64_t deadline, pending *p,
                        uint8_t buf[PARLEY_MAX_AUTH_BYTES], pl_opaque_auth *cred,
                        parley_rpc_detail *det);
int pl_once_submit_journal(parley_client *c, const pending *p);
/* What becomes of a guaranteed submitted call after an attempt
 * (pl_once_settle). */
enum { PL_ONCE_END, PL_ONCE_AGAIN, PL_ONCE_RENEW };
int pl_once_settle(parley_client *c, pending *p, parley_rpc_detail *det, int *rc);
int pl_once_renew(parley_client *c, pending *p, parley_rpc_detail *det);
void pl_once_park_later(pending *p);
int pl_once_finish(parley_client *c, pending *p, parley_rpc_detail *det);

/* async.c */
void pl_async_wake(parley_client *c);
int pl_async_watch(parley_client *c, int fd);
void pl_async_added(parley_client *c, const pending *p);
pending *pl_async_take_finished(parley_client *c);
unsigned pl_async_run_callbacks(parley_client *c, pending *list);
void pl_async_close(parley_client *c);
void pl_async_cancel_parked(parley_client *c);

/* dial.c */
int pl_client_kind(parley_client *c);
int pl_client_dial(parley_client *c, int64_t deadline, const pl_sockaddr *avoid, int *out_fd,
                   pl_sockaddr *at);
int pl_client_same_instance(const pl_sockaddr *a, const pl_sockaddr *b);

/* dgram.c */
unsigned pl_dgram_backoff(unsigned ms);

#endif /* PARLEY_CLIENT_INTERNAL_H */
