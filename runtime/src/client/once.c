/*
 * client/once.c: the client's side of the delivery guarantees
 * (docs/semantics.md): at-most-once and exactly-once calls.
 *
 * A handle has an identity of its own (16 random bytes), numbers its
 * guaranteed calls 1, 2, 3, ... and tells the server, with every call,
 * the lowest number whose call is not complete yet (its acknowledgement:
 * everything below is answered and may be forgotten). All three travel in
 * Parley's credential (wire/seq.h), around the handle's own AUTH_NONE or
 * AUTH_SYS credential. Before its first guaranteed call, and again when the
 * server says it does not know the handle, the handle says HELLO (the NULL
 * procedure with sequence number 0), which tells it the server's
 * incarnation, or that the server is a plain ONC RPC server that refuses
 * the credential.
 *
 * A call keeps its sequence number (and xid) across every transmission:
 * UDP retransmissions, and a new connection after a broken one, until it
 * has its reply or its deadline passes; the server's reply cache answers a
 * transmission of a call it ran with the recorded reply instead of running
 * it again. Against a plain server the handle keeps what it can by its own
 * behaviour: an at-most-once call is sent once, never again (its deadline
 * passing is PARLEY_ERR_TIMEDOUT, a connection broken after it was sent
 * PARLEY_ERR_IN_DOUBT); an exactly-once call is refused
 * (PARLEY_ERR_NOT_GUARANTEED). It never downgrades silently.
 *
 * A service name may have several instances (a cluster's): a guaranteed
 * call that went out is pinned to the instance it went to, whose reply
 * cache or store alone holds its record, and goes out again only on a
 * connection to it; when the handle's connection goes to another instance,
 * the attempt is refused before sending (client.c) and the call ends
 * PARLEY_ERR_IN_DOUBT, never run a second time elsewhere.
 *
 * It sits in the client layer, on client.c's attempts (pl_client_attempt)
 * and the wire layer's codec of the credential.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "client/internal.h"
#include "net/clock.h"
#include "wire/auth.h"
#include "wire/seq.h"

/* The first wait before asking again after RETRY or BUSY, and its cap. */
#define RETRY_FIRST_NS ((int64_t)1000000)
#define RETRY_MAX_NS   ((int64_t)100000000)

/* mark_done sets seq's bit among the complete calls (mutex held, or no
 * other thread yet). */
static void mark_done(parley_client *c, uint64_t seq)
{
    uint64_t bit = seq % PL_ONCE_TRACK;
    c->done_bits[bit / 8] |= (uint8_t)(1u << (bit % 8));
}

/* recover_state sets c's numbers from its journal: the next number after
 * the highest it used, the acknowledgement at the lowest call in flight,
 * every number between them not in flight complete. */
static void recover_state(parley_client *c, uint64_t next_seq)
{
    c->next_seq = next_seq;
    c->floor = next_seq;
    for (const pl_jcall *k = c->recovered; k; k = k->next)
        if (k->seq < c->floor)
            c->floor = k->seq;
    if (next_seq - c->floor >= PL_ONCE_TRACK)
        c->floor = next_seq - PL_ONCE_TRACK + 1; /* older ones cannot be tracked */
    for (uint64_t s = c->floor; s < next_seq; s++) {
        int inflight = 0;
        for (const pl_jcall *k = c->recovered; k && !inflight; k = k->next)
            inflight = k->seq == s;
        if (!inflight)
            mark_done(c, s);
    }
    c->recovering = c->recovered != NULL;
}

/* pl_once_init gives c its identity: a random one, or its journal's.
 * Errors: PARLEY_ERR_NOMEM, PARLEY_ERR_INVALID (min_semantics out of
 * range), the journal's (PARLEY_ERR_IO, PARLEY_ERR_STORE). */
int pl_once_init(parley_client *c, const parley_client_opts *o)
{
    if (o->min_semantics < PARLEY_MIN_DECLARED || o->min_semantics > PARLEY_MIN_EXACTLY_ONCE)
        return PARLEY_ERR_INVALID;
    c->done_bits = calloc(PL_ONCE_TRACK / 8, 1);
    if (!c->done_bits)
        return PARLEY_ERR_NOMEM;
    if (getrandom(c->id, sizeof c->id, 0) != (ssize_t)sizeof c->id) {
        /* no entropy source: the clock and the address, which still
         * differ between the handles of one host */
        uint64_t a = (uint64_t)pl_now_ns(), b = (uint64_t)(uintptr_t)c ^ ((uint64_t)getpid() << 32);
        memcpy(c->id, &a, 8);
        memcpy(c->id + 8, &b, 8);
    }
    c->next_seq = 1;
    c->floor = 1;
    c->min_sem = o->min_semantics;
    if (o->journal) {
        uint64_t next_seq = 1;
        int rc = pl_journal_open(o->journal, c->id, &next_seq, &c->journal);
        if (rc != PARLEY_OK) {
            free(c->done_bits);
            c->done_bits = NULL;
            return rc;
        }
        c->recovered = pl_journal_inflight(c->journal);
        recover_state(c, next_seq);
    }
    return PARLEY_OK;
}

static void free_jcalls(pl_jcall *k)
{
    while (k) {
        pl_jcall *next = k->next;
        free(k);
        k = next;
    }
}

/* pl_once_fini frees what pl_once_init made. */
void pl_once_fini(parley_client *c)
{
    pl_journal_close(c->journal);
    free_jcalls(c->jlive);
    free_jcalls(c->recovered);
    free(c->done_bits);
    c->journal = NULL;
    c->jlive = c->recovered = NULL;
    c->done_bits = NULL;
}

/* pl_once_semantics is the guarantee a call of proc asking for sem (a
 * parley_semantics, or PL_SEM_PLAIN) gets: the NULL procedure is
 * idempotent by definition, and the handle's min_semantics may make a
 * call's stronger, a plain one's too. */
int pl_once_semantics(const parley_client *c, uint32_t proc, int sem)
{
    if (proc == 0)
        return sem == PL_SEM_PLAIN ? PL_SEM_PLAIN : PARLEY_IDEMPOTENT;
    if (c->min_sem == PARLEY_MIN_EXACTLY_ONCE)
        return PARLEY_EXACTLY_ONCE;
    if (c->min_sem == PARLEY_MIN_AT_MOST_ONCE)
        return sem == PL_SEM_PLAIN
                   ? PARLEY_AT_MOST_ONCE
                   : parley_semantics_stronger((parley_semantics)sem, PARLEY_AT_MOST_ONCE);
    return sem;
}

/* take_seq gives the next sequence number and the acknowledgement to send
 * with it. PARLEY_ERR_BUSY when PL_ONCE_TRACK calls are incomplete. */
static int take_seq(parley_client *c, uint64_t *seq)
{
    pthread_mutex_lock(&c->mu);
    int rc = PARLEY_OK;
    if (c->next_seq - c->floor >= PL_ONCE_TRACK)
        rc = PARLEY_ERR_BUSY;
    else
        *seq = c->next_seq++;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

/* complete_seq marks seq complete, and moves the acknowledgement over the
 * complete calls at its bottom. A call that failed for good counts as
 * complete too: the client will not send it again, so the server may
 * forget it (and a late copy of it is then never run). */
static void complete_seq(parley_client *c, uint64_t seq)
{
    pthread_mutex_lock(&c->mu);
    mark_done(c, seq);
    if (c->journal) {
        int was = 0;
        for (pl_jcall **pp = &c->jlive; *pp; pp = &(*pp)->next)
            if ((*pp)->seq == seq) {
                pl_jcall *k = *pp;
                *pp = k->next;
                free(k);
                was = 1;
                break;
            }
        if (was)
            pl_journal_done(c->journal, seq, c->id, c->jlive);
    }
    while (c->floor < c->next_seq) {
        uint64_t f = c->floor % PL_ONCE_TRACK;
        if (!(c->done_bits[f / 8] & (1u << (f % 8))))
            break;
        c->done_bits[f / 8] &= (uint8_t) ~(1u << (f % 8));
        c->floor++;
    }
    pthread_mutex_unlock(&c->mu);
}

/* seq_cred encodes the credential of call seq (0: HELLO) into buf. */
static int seq_cred(parley_client *c, uint64_t seq, uint64_t incarnation, parley_semantics sem,
                    uint8_t buf[PARLEY_MAX_AUTH_BYTES], pl_opaque_auth *out)
{
    pl_seq_cred q;
    memcpy(q.client, c->id, sizeof q.client);
    q.seq = seq;
    pthread_mutex_lock(&c->mu);
    /* HELLO: the next call's number, below which the server drops copies;
     * while calls recovered from the journal wait to go out again, the
     * lowest of them; and to a new server (an incarnation no call of the
     * handle carries, which runs none of them but answers each, HELLO or
     * from its store) the lowest call not complete, so that the calls
     * still out learn their outcome instead of being dropped unanswered */
    q.ack = seq == 0 && !c->recovering && !c->fresh ? c->next_seq : c->floor;
    pthread_mutex_unlock(&c->mu);
    q.incarnation = incarnation;
    q.semantics = sem == PARLEY_EXACTLY_ONCE   ? PL_SEM_EXACTLY_ONCE
                  : sem == PARLEY_AT_MOST_ONCE ? PL_SEM_AT_MOST_ONCE
                                               : PL_SEM_NONE;
    q.inner = c->cred;
    parley_enc e;
    size_t len = 0;
    parley_enc_init(&e, buf, PARLEY_MAX_AUTH_BYTES);
    pl_seq_cred_enc(&e, &q);
    int rc = parley_enc_finish(&e, &len);
    if (rc != PARLEY_OK)
        return rc;
    out->flavor = PL_AUTH_PARLEY;
    out->len = (uint32_t)len;
    out->body = buf;
    return PARLEY_OK;
}

/* The outcome of one reply to a guaranteed call. */
typedef struct outcome {
    int rc;          /* the call's error, as parley_client_call reports it */
    int parley;      /* the reply carried a Parley verifier */
    uint32_t status; /* its status (PL_SEQ_*) */
    uint64_t incarnation;
} outcome;

/* decode decodes the reply of p: its verifier, then (for PL_SEQ_OK) its
 * result, as pl_client_decode_reply does. */
static outcome decode(parley_client *c, const pending *p, parley_res_dec *dec, void *res,
                      parley_arena *arena, parley_rpc_detail *det)
{
    outcome o = {PARLEY_OK, 0, PL_SEQ_OK, 0};
    parley_limits lim = {.max_alloc = c->max_alloc, .max_depth = 0, .flags = 0, .arena = arena};
    parley_dec d;
    pl_reply_header h;
    parley_dec_init(&d, p->reply, p->reply_len, &lim);
    o.rc = pl_msg_decode_reply(&d, &h);
    if (o.rc != PARLEY_OK)
        return o;
    if (h.stat == PARLEY_MSG_ACCEPTED && h.verf.flavor == PL_AUTH_PARLEY) {
        pl_seq_verf v;
        o.rc = pl_seq_verf_decode(h.verf.body, h.verf.len, &v);
        if (o.rc != PARLEY_OK)
            return o;
        o.parley = 1;
        o.status = v.status;
        o.incarnation = v.incarnation;
        if (v.status != PL_SEQ_OK)
            return o;
    }
    o.rc = pl_reply_error(&h);
    if (o.rc != PARLEY_OK) {
        det->low = h.low;
        det->high = h.high;
        det->auth_stat = h.auth_stat;
        return o;
    }
    if (dec)
        dec(&d, res);
    if (!d.err && d.p != d.end)
        parley_dec_fail(&d, PARLEY_ERR_TRAILING);
    o.rc = parley_dec_finish(&d, NULL);
    return o;
}

/* exchange makes one call of proc with credential cred until deadline:
 * encodes it (xid given), sends it (over UDP sent again as scheduled when
 * resend), and decodes what came back. *sent tells whether the message may
 * have reached the server (it was handed to the socket). inst: see
 * pl_client_attempt (NULL for a call that may go to any instance). */
static outcome exchange(parley_client *c, uint32_t xid, uint32_t proc, const pl_opaque_auth *cred,
                        parley_args_enc *enc, const void *args, size_t args_size,
                        parley_res_dec *dec, void *res, parley_arena *arena, int64_t deadline,
                        int resend, parley_rpc_detail *det, unsigned *sent, uint64_t *inst)
{
    outcome o = {PARLEY_OK, 0, PL_SEQ_OK, 0};
    size_t head = 4 + 24 + 8 + parley_round4(cred->len) + 8;
    if (args_size > SIZE_MAX - head) {
        o.rc = PARLEY_ERR_MSG_TOO_LARGE;
        return o;
    }
    size_t cap = head + args_size;
    uint8_t stack_buf[2048];
    uint8_t *buf = cap <= sizeof stack_buf ? stack_buf : malloc(cap);
    if (!buf) {
        o.rc = PARLEY_ERR_NOMEM;
        return o;
    }
    const uint8_t *msg;
    size_t len;
    o.rc = pl_client_encode_cred(c, xid, proc, cred, enc, args, buf, cap, &msg, &len);
    if (o.rc == PARLEY_OK) {
        pending p;
        o.rc = pl_client_attempt(c, &p, msg, len, deadline, resend, inst);
        /* what may have reached the server: nothing when the attempt
         * failed before its message was given to the socket (connecting,
         * or a deadline that passed while it waited its turn) */
        *sent += p.handed ? 1 + p.resent : 0;
        if (o.rc == PARLEY_OK)
            o = decode(c, &p, dec, res, arena, det);
        pl_client_attempt_end(c, &p);
    }
    if (buf != stack_buf)
        free(buf);
    return o;
}

static void backoff(int64_t *d, int64_t deadline);

/* hello says HELLO to the server, learning its incarnation, or that it is
 * a plain server. Errors: the call's (the server refusing the program or
 * version, not being there, the deadline), PARLEY_ERR_BUSY (the server has
 * no room for another client now). */
static int hello(parley_client *c, int64_t deadline, parley_rpc_detail *det)
{
    uint8_t buf[PARLEY_MAX_AUTH_BYTES];
    pl_opaque_auth cred;
    int rc = seq_cred(c, 0, 0, PARLEY_AT_MOST_ONCE, buf, &cred);
    if (rc != PARLEY_OK)
        return rc;
    int64_t wait = RETRY_FIRST_NS;
    unsigned reconnects = 0;
    for (;;) {
        uint32_t xid = atomic_fetch_add_explicit(&c->next_xid, 1, memory_order_relaxed);
        unsigned sent = 0;
        outcome o = exchange(c, xid, 0, &cred, NULL, NULL, 0, NULL, NULL, NULL, deadline, 1, det,
                             &sent, NULL);
        if (pl_now_ns() < deadline &&
            (o.rc == PARLEY_ERR_CLOSED || o.rc == PARLEY_ERR_IO || o.rc == PARLEY_ERR_REFUSED ||
             o.rc == PARLEY_ERR_CONNECT || (o.parley && o.status == PL_SEQ_BUSY))) {
            /* HELLO is idempotent: a broken connection is retried, a
             * server restarting or full is waited for, as a call's loop
             * does (at once only for the first broken connection) */
            if (o.rc != PARLEY_ERR_CLOSED || reconnects++ > 0)
                backoff(&wait, deadline);
            continue;
        }
        if (o.parley && o.status == PL_SEQ_BUSY)
            return PARLEY_ERR_BUSY;
        if (o.parley && o.status == PL_SEQ_NO_SPACE) /* no room to register it */
            return PARLEY_ERR_NO_SPACE;
        if (o.parley && o.status == PL_SEQ_STORE)
            return PARLEY_ERR_STORE;
        if (o.parley && o.rc == PARLEY_OK) {
            PL_CLIENT_LOG(c, PARLEY_LOG_DEBUG, PARLEY_LOG_HELLO, 0,
                          "HELLO answered: server incarnation %016llx",
                          (unsigned long long)o.incarnation);
            pthread_mutex_lock(&c->mu);
            c->peer = PL_PEER_PARLEY;
            c->incarnation = o.incarnation;
            c->greeted = 1;
            c->greeted_inc = o.incarnation;
            c->fresh = 0;
            pthread_mutex_unlock(&c->mu);
            return PARLEY_OK;
        }
        if ((o.rc == PARLEY_ERR_AUTH && det->auth_stat == PARLEY_AUTH_REJECTEDCRED) ||
            (!o.parley && (o.rc == PARLEY_OK || o.rc == PARLEY_ERR_TRAILING ||
                           o.rc == PARLEY_ERR_GARBAGE_ARGS || o.rc == PARLEY_ERR_SYSTEM_ERR))) {
            /* the flavor refused (a plain ONC RPC server answers an
             * unknown flavor AUTH_REJECTEDCRED; a Parley server refusing
             * the inner credential says why, and that error is the
             * call's), or a reply without Parley's verifier: a plain
             * server, whatever its NULL procedure says */
            memset(det, 0, sizeof *det);
            pthread_mutex_lock(&c->mu);
            c->peer = PL_PEER_PLAIN;
            pthread_mutex_unlock(&c->mu);
            return PARLEY_OK;
        }
        return o.rc;
    }
}

/* plain_call makes an at-most-once call to a plain server: sent once,
 * never again (not over UDP, not on a new connection), since the server
 * would run a second copy; a reply lost is PARLEY_ERR_IN_DOUBT. */
static int plain_call(parley_client *c, uint32_t proc, parley_args_enc *enc, const void *args,
                      size_t args_size, parley_res_dec *dec, void *res, parley_arena *arena,
                      int64_t deadline, parley_rpc_detail *det)
{
    uint32_t xid = atomic_fetch_add_explicit(&c->next_xid, 1, memory_order_relaxed);
    unsigned sent = 0;
    outcome o = exchange(c, xid, proc, &c->cred, enc, args, args_size, dec, res, arena, deadline, 0,
                         det, &sent, NULL);
    if (sent && (o.rc == PARLEY_ERR_CLOSED || o.rc == PARLEY_ERR_IO))
        return PARLEY_ERR_IN_DOUBT; /* sent, and then the connection broke */
    return o.rc;
}

/* backoff waits d (doubling it, up to RETRY_MAX_NS) or until deadline. */
static void backoff(int64_t *d, int64_t deadline)
{
    int64_t until = pl_now_ns() + *d;
    if (until > deadline)
        until = deadline;
    struct timespec ts = pl_timespec(until);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
    *d = *d * 2 < RETRY_MAX_NS ? *d * 2 : RETRY_MAX_NS;
}

/* journal_call records the call seq (its arguments encoded at jargs, jlen
 * bytes) in c's journal before it first leaves, and keeps it among the
 * calls in flight. Errors: those of writing the journal. */
static int journal_call(parley_client *c, uint64_t seq, uint64_t inc, uint32_t proc,
                        parley_semantics sem, const uint8_t *jargs, size_t jlen)
{
    pl_jcall *k = malloc(sizeof *k + jlen);
    if (!k)
        return PARLEY_ERR_NOMEM;
    k->seq = seq;
    k->incarnation = inc;
    k->proc = proc;
    k->semantics = (uint32_t)sem;
    k->len = jlen;
    if (jlen)
        memcpy(k->args, jargs, jlen);
    int rc = pl_journal_call(c->journal, k);
    if (rc != PARLEY_OK) {
        free(k);
        return rc;
    }
    pthread_mutex_lock(&c->mu);
    k->next = c->jlive;
    c->jlive = k;
    pthread_mutex_unlock(&c->mu);
    return PARLEY_OK;
}

/* A call's arguments already encoded (a journaled call's), for exchange. */
typedef struct raw_bytes {
    const uint8_t *p;
    size_t n;
} raw_bytes;

static void raw_enc(parley_enc *e, const void *a)
{
    const raw_bytes *r = a;
    parley_put_opaque(e, r->p, r->n); /* XDR already: a multiple of four */
}

/* The next step of a guaranteed call after one of its attempts (judge). */
enum {
    STEP_END,   /* it is over */
    STEP_NOW,   /* sent again at once, the same number */
    STEP_LATER, /* sent again after a backoff, the same number */
    STEP_RENEW  /* never ran: sent again under a new number, after a HELLO */
};

/* judge holds the rules, for synchronous and submitted calls alike, of
 * what follows the outcome o of an attempt of a guaranteed call first sent
 * to the incarnation first_inc, which has gone out sent times in all (as
 * far as the client knows), its deadline deadline, *reconnects the broken
 * connections it met. Returns a STEP_*; *rc is the call's error for
 * STEP_END, for STEP_NOW and STEP_LATER what it ends with should its
 * deadline pass before it is answered. Notes the server's incarnation, or
 * that it is a new server, in c. */
static int judge(parley_client *c, const outcome *o, unsigned sent, uint64_t first_inc,
                 int64_t deadline, unsigned *reconnects, int *rc)
{
    *rc = o->rc;
    if (o->rc == PARLEY_ERR_IN_DOUBT)
        return STEP_END; /* not sent again: the handle's connection goes to another
                            instance than the one it went out to (client.c) */
    int broken = o->rc == PARLEY_ERR_CLOSED || o->rc == PARLEY_ERR_IO ||
                 o->rc == PARLEY_ERR_REFUSED || o->rc == PARLEY_ERR_CONNECT;
    if (pl_now_ns() >= deadline && o->rc != PARLEY_OK) {
        /* its time is up: a call that went out and whose answer is lost
         * with its connection is in doubt */
        if (broken)
            *rc = sent ? PARLEY_ERR_IN_DOUBT : PARLEY_ERR_TIMEDOUT;
        return STEP_END;
    }
    if (broken) {
        /* a broken connection, or a server restarting: the same call, the
         * same number, on a new connection; at once the first time, then
         * backing off (a server that closes every connection is not
         * hammered) */
        *rc = sent ? PARLEY_ERR_IN_DOUBT : PARLEY_ERR_TIMEDOUT;
        return o->rc != PARLEY_ERR_CLOSED || (*reconnects)++ > 0 ? STEP_LATER : STEP_NOW;
    }
    if (!o->parley || o->status == PL_SEQ_OK) {
        if (o->parley) { /* the server's incarnation, for the next calls' */
            pthread_mutex_lock(&c->mu);
            if (first_inc == c->incarnation) /* not a late answer of an old one */
                c->incarnation = o->incarnation;
            pthread_mutex_unlock(&c->mu);
        }
        return STEP_END; /* the call's reply, or an RPC error that is the call's answer */
    }
    switch (o->status) {
    case PL_SEQ_RETRY: /* running: ask again */
    case PL_SEQ_BUSY:  /* no room now: it did not run */
        *rc = o->status == PL_SEQ_BUSY ? PARLEY_ERR_BUSY : PARLEY_ERR_TIMEDOUT;
        return STEP_LATER;
    case PL_SEQ_HELLO:
        PL_CLIENT_LOG(c, PARLEY_LOG_DEBUG, PARLEY_LOG_HELLO, 0,
                      "the server asks for a HELLO (incarnation %016llx)",
                      (unsigned long long)o->incarnation);
        /* the server does not know this handle, or the call was first sent
         * to another incarnation of it, and did not run it. A call that
         * went out once, over a connection to this very server or as one
         * datagram to the same incarnation, never ran anywhere and goes
         * out again after a HELLO; any other may have run before the
         * server forgot (a UDP datagram may have been duplicated on its
         * way to a server since restarted) */
        if (sent != 1 || (c->ops->socktype != SOCK_STREAM && o->incarnation != first_inc)) {
            pthread_mutex_lock(&c->mu);
            if (c->incarnation != o->incarnation) {
                c->peer = PL_PEER_UNKNOWN; /* a new server: the next call says HELLO */
                c->fresh = 1;
            }
            pthread_mutex_unlock(&c->mu);
            *rc = PARLEY_ERR_IN_DOUBT;
            return STEP_END;
        }
        return STEP_RENEW;
    case PL_SEQ_IN_DOUBT:
        if (o->incarnation != first_inc) { /* a new server: later calls say HELLO */
            pthread_mutex_lock(&c->mu);
            c->peer = PL_PEER_UNKNOWN;
            c->fresh |= o->incarnation != c->incarnation;
            pthread_mutex_unlock(&c->mu);
        }
        *rc = PARLEY_ERR_IN_DOUBT;
        return STEP_END;
    case PL_SEQ_NO_STORE:
        *rc = PARLEY_ERR_NOT_GUARANTEED;
        return STEP_END;
    case PL_SEQ_NO_SPACE:
        *rc = PARLEY_ERR_NO_SPACE;
        return STEP_END;
    default:
        *rc = PARLEY_ERR_STORE;
        return STEP_END;
    }
}

/* renumber makes anew the call seq, which never ran (STEP_RENEW: answered
 * HELLO by the incarnation hello_inc, having been first sent to first_inc):
 * completes seq, says HELLO unless the handle has said it to hello_inc
 * already (once per handle, not once per call, when many calls learn of a
 * restarted server; but again when the server forgot the handle, which it
 * tells a call first sent to itself), and takes a new number, above the
 * floor the HELLO set, so that no delayed copy of an older call can run
 * after it: *seq, and the incarnation to send it to, *inc. Errors: those
 * of HELLO and take_seq (seq is complete, no new number taken). */
static int renumber(parley_client *c, uint64_t hello_inc, uint64_t first_inc, int64_t deadline,
                    parley_rpc_detail *det, uint64_t *seq, uint64_t *inc)
{
    complete_seq(c, *seq);
    pthread_mutex_lock(&c->mu);
    int known = c->peer == PL_PEER_PARLEY && c->greeted && c->greeted_inc == hello_inc &&
                first_inc != hello_inc;
    if (!known && hello_inc != c->incarnation)
        c->fresh = 1; /* a new server */
    pthread_mutex_unlock(&c->mu);
    int rc = known ? PARLEY_OK : hello(c, deadline, det);
    uint64_t s = 0;
    if (rc == PARLEY_OK)
        rc = take_seq(c, &s);
    if (rc != PARLEY_OK)
        return rc;
    pthread_mutex_lock(&c->mu);
    *inc = c->incarnation;
    pthread_mutex_unlock(&c->mu);
    *seq = s;
    return PARLEY_OK;
}

/* run sends the call seq of proc, first sent when the server's incarnation
 * was first_inc, and already sent sent_before times (a recovered call: as
 * many as may have been), until its answer or deadline (see pl_once_call),
 * as judge rules; completes seq, and journals a call made anew under
 * another number. */
static int run(parley_client *c, uint32_t proc, parley_args_enc *enc, const void *args,
               size_t args_size, parley_res_dec *dec, void *res, parley_arena *arena,
               parley_semantics sem, int64_t deadline, parley_rpc_detail *det, uint64_t seq,
               uint64_t first_inc, unsigned sent_before, const raw_bytes *jargs)
{
    uint32_t xid = atomic_fetch_add_explicit(&c->next_xid, 1, memory_order_relaxed);
    unsigned sent = sent_before;
    uint64_t inst = 0; /* the instance it went out to (pl_client_attempt) */
    unsigned reconnects = 0;
    int64_t wait = RETRY_FIRST_NS;
    uint8_t buf[PARLEY_MAX_AUTH_BYTES];
    pl_opaque_auth cred;
    int rc;
    for (;;) {
        rc = seq_cred(c, seq, first_inc, sem, buf, &cred);
        if (rc != PARLEY_OK)
            break;
        outcome o = exchange(c, xid, proc, &cred, enc, args, args_size, dec, res, arena, deadline,
                             1, det, &sent, &inst);
        int step = judge(c, &o, sent, first_inc, deadline, &reconnects, &rc);
        if (step == STEP_END)
            break;
        if (step == STEP_LATER) {
            backoff(&wait, deadline);
            if (pl_now_ns() >= deadline)
                break; /* rc: what judge said it ends with then */
            continue;
        }
        if (step == STEP_NOW)
            continue;
        /* STEP_RENEW */
        rc = renumber(c, o.incarnation, first_inc, deadline, det, &seq, &first_inc);
        if (rc != PARLEY_OK)
            return rc;
        if (c->journal &&
            (rc = journal_call(c, seq, first_inc, proc, sem, jargs->p, jargs->n)) != PARLEY_OK)
            break;
        xid = atomic_fetch_add_explicit(&c->next_xid, 1, memory_order_relaxed);
        sent = 0;
        inst = 0; /* a call never sent may go to any instance */
    }
    complete_seq(c, seq);
    return rc;
}

/* session says HELLO when the server is not known yet; *peer is what it is. */
static int session(parley_client *c, int64_t deadline, parley_rpc_detail *det, int *peer)
{
    pthread_mutex_lock(&c->mu);
    *peer = c->peer;
    pthread_mutex_unlock(&c->mu);
    if (*peer != PL_PEER_UNKNOWN)
        return PARLEY_OK;
    int rc = hello(c, deadline, det);
    if (rc != PARLEY_OK)
        return rc;
    pthread_mutex_lock(&c->mu);
    *peer = c->peer;
    pthread_mutex_unlock(&c->mu);
    return PARLEY_OK;
}

/* pl_once_call makes a call of proc with the guarantee sem (at-most-once
 * or exactly-once; see the file's comment) until deadline. With a journal
 * the call is recorded before it first leaves. Errors: those of
 * parley_client_call, and PARLEY_ERR_IN_DOUBT (the call may have run and
 * its outcome is lost: the server forgot it, or a plain server's reply did
 * not come), PARLEY_ERR_NOT_GUARANTEED (exactly-once asked of a server
 * without a store, or of a plain server: nothing was sent),
 * PARLEY_ERR_BUSY (the server had no room for it until the deadline: it
 * did not run), PARLEY_ERR_NO_SPACE and PARLEY_ERR_STORE (the server's
 * store could not keep it: it did not run, or its effects were undone),
 * and those of writing the journal (nothing was sent). */
int pl_once_call(parley_client *c, uint32_t proc, parley_args_enc *enc, const void *args,
                 size_t args_size, parley_res_dec *dec, void *res, parley_arena *arena,
                 parley_semantics sem, int64_t deadline, parley_rpc_detail *det)
{
    int peer;
    int rc = session(c, deadline, det, &peer);
    if (rc != PARLEY_OK)
        return rc;
    if (peer == PL_PEER_PLAIN) {
        if (sem == PARLEY_EXACTLY_ONCE)
            return PARLEY_ERR_NOT_GUARANTEED;
        return plain_call(c, proc, enc, args, args_size, dec, res, arena, deadline, det);
    }
    uint64_t seq;
    rc = take_seq(c, &seq);
    if (rc != PARLEY_OK)
        return rc;
    pthread_mutex_lock(&c->mu);
    uint64_t first_inc = c->incarnation; /* the server known at the first send */
    pthread_mutex_unlock(&c->mu);
    raw_bytes jargs = {NULL, 0};
    uint8_t *jbuf = NULL;
    if (c->journal) {
        /* the arguments as they go out, for the journal */
        parley_enc e;
        jbuf = malloc(args_size ? args_size : 1);
        rc = jbuf ? PARLEY_OK : PARLEY_ERR_NOMEM;
        if (rc == PARLEY_OK) {
            parley_enc_init(&e, jbuf, args_size);
            if (enc)
                enc(&e, args);
            rc = parley_enc_finish(&e, &jargs.n);
            jargs.p = jbuf;
        }
        if (rc == PARLEY_OK)
            rc = journal_call(c, seq, first_inc, proc, sem, jargs.p, jargs.n);
        if (rc != PARLEY_OK) {
            free(jbuf);
            complete_seq(c, seq);
            return rc;
        }
    }
    rc = run(c, proc, enc, args, args_size, dec, res, arena, sem, deadline, det, seq, first_inc, 0,
             &jargs);
    free(jbuf);
    return rc;
}

/* A recovered call's result: its bytes, copied out of the reply. */
typedef struct raw_result {
    uint8_t *p;
    size_t n;
} raw_result;

static void raw_dec(parley_dec *d, void *out)
{
    raw_result *r = out;
    size_t n = parley_dec_remaining(d);
    r->p = malloc(n ? n : 1);
    if (!r->p) {
        parley_dec_fail(d, PARLEY_ERR_NOMEM);
        return;
    }
    memcpy(r->p, parley_dec_pos(d), n);
    parley_dec_set_pos(d, parley_dec_pos(d) + n);
    r->n = n;
}

/* parley_client_recover: see parley/client.h. The recovered calls go out
 * oldest first, each with the deadline of the handle, having been sent an
 * unknown number of times before: a server that does not know them is
 * taken to have forgotten them (PARLEY_ERR_IN_DOUBT). */
int parley_client_recover(parley_client *c, parley_recover_fn *fn, void *ctx, unsigned *n)
{
    if (n)
        *n = 0;
    if (!c || !fn)
        return PARLEY_ERR_INVALID;
    pthread_mutex_lock(&c->mu);
    pl_jcall *list = c->recovered;
    c->recovered = NULL;
    pthread_mutex_unlock(&c->mu);
    /* oldest first: the list is newest first */
    pl_jcall *ordered = NULL;
    while (list) {
        pl_jcall *k = list;
        list = k->next;
        pl_jcall **pp = &ordered;
        while (*pp && (*pp)->seq < k->seq)
            pp = &(*pp)->next;
        k->next = *pp;
        *pp = k;
    }
    unsigned count = 0;
    while (ordered) {
        pl_jcall *k = ordered;
        ordered = k->next;
        int64_t deadline = pl_deadline_after_ms(c->timeout_ms);
        parley_rpc_detail det = {0, 0, 0, 0};
        raw_result res = {NULL, 0};
        uint32_t proc = k->proc;
        uint64_t seq = k->seq, inc = k->incarnation;
        parley_semantics sem = (parley_semantics)k->semantics;
        /* the arguments are the call's own: k goes to the calls in flight,
         * freed with its journal record when the call completes */
        uint8_t *copy = malloc(k->len ? k->len : 1);
        raw_bytes args = {copy, k->len};
        if (copy)
            memcpy(copy, k->args, k->len);
        pthread_mutex_lock(&c->mu);
        k->next = c->jlive;
        c->jlive = k;
        pthread_mutex_unlock(&c->mu);
        int peer;
        int rc = copy ? session(c, deadline, &det, &peer) : PARLEY_ERR_NOMEM;
        if (rc == PARLEY_OK && peer == PL_PEER_PLAIN)
            rc = PARLEY_ERR_NOT_GUARANTEED; /* a plain server keeps nothing to ask */
        if (rc == PARLEY_OK)
            rc = run(c, proc, raw_enc, &args, args.n, raw_dec, &res, NULL, sem, deadline, &det, seq,
                     inc, 2, &args);
        else
            complete_seq(c, seq);
        pl_client_set_detail(rc, &det);
        fn(ctx, proc, seq, rc, res.p, rc == PARLEY_OK ? res.n : 0);
        free(res.p);
        free(copy);
        count++;
    }
    pthread_mutex_lock(&c->mu);
    c->recovering = 0;
    pthread_mutex_unlock(&c->mu);
    if (n)
        *n = count;
    return PARLEY_OK;
}

/* pl_once_submit_cred readies a submitted call p with the guarantee sem:
 * says HELLO first if the server is not known yet (within deadline), and
 * writes into *cred (its body in buf) the credential to send: Parley's,
 * with p->seq taken, or the handle's own for a plain server (p->once_plain:
 * sent once, never again). Errors: those of HELLO,
 * PARLEY_ERR_NOT_GUARANTEED (exactly-once of a plain server),
 * PARLEY_ERR_BUSY (too many calls incomplete). */
int pl_once_submit_cred(parley_client *c, parley_semantics sem, int64_t deadline, pending *p,
                        uint8_t buf[PARLEY_MAX_AUTH_BYTES], pl_opaque_auth *cred,
                        parley_rpc_detail *det)
{
    pthread_mutex_lock(&c->mu);
    int peer = c->peer;
    pthread_mutex_unlock(&c->mu);
    if (peer == PL_PEER_UNKNOWN) {
        int rc = hello(c, deadline, det);
        if (rc != PARLEY_OK)
            return rc;
        pthread_mutex_lock(&c->mu);
        peer = c->peer;
        pthread_mutex_unlock(&c->mu);
    }
    if (peer == PL_PEER_PLAIN) {
        if (sem == PARLEY_EXACTLY_ONCE)
            return PARLEY_ERR_NOT_GUARANTEED;
        p->once_plain = 1;
        *cred = c->cred;
        return PARLEY_OK;
    }
    uint64_t seq;
    int rc = take_seq(c, &seq);
    if (rc != PARLEY_OK)
        return rc;
    pthread_mutex_lock(&c->mu);
    uint64_t inc = c->incarnation;
    pthread_mutex_unlock(&c->mu);
    rc = seq_cred(c, seq, inc, sem, buf, cred);
    if (rc != PARLEY_OK) {
        complete_seq(c, seq);
        return rc;
    }
    p->seq = seq;
    p->sem = (int)sem;
    p->first_inc = inc;
    return PARLEY_OK;
}

/* The parts of a call message, as pl_client_encode_cred lays it out. */
typedef struct msg_parts {
    size_t xid;  /* offset of the xid (after a stream's record mark) */
    size_t cred; /* offset of the credential's body */
    size_t args; /* offset of the arguments */
    uint32_t proc, cred_len;
} msg_parts;

/* parts finds the parts of the call message of p. Errors: PARLEY_ERR_PROTOCOL
 * (not a message this handle encoded). */
static int parts(const parley_client *c, const pending *p, msg_parts *m)
{
    m->xid = c->ops->socktype == SOCK_STREAM ? 4 : 0;
    m->cred = m->xid + 32;
    if (p->msg_len < m->cred)
        return PARLEY_ERR_PROTOCOL;
    m->proc = parley_ld_u32(p->msg + m->xid + 20);
    m->cred_len = parley_ld_u32(p->msg + m->xid + 28);
    size_t verf = m->cred + parley_round4(m->cred_len);
    if (m->cred_len > PARLEY_MAX_AUTH_BYTES || p->msg_len < verf + 8)
        return PARLEY_ERR_PROTOCOL;
    size_t verf_len = parley_ld_u32(p->msg + verf + 4);
    if (verf_len > PARLEY_MAX_AUTH_BYTES || p->msg_len < verf + 8 + parley_round4(verf_len))
        return PARLEY_ERR_PROTOCOL;
    m->args = verf + 8 + parley_round4(verf_len);
    return PARLEY_OK;
}

/* pl_once_submit_journal records the guaranteed submitted call p, its
 * message encoded, in c's journal before it first leaves (nothing without
 * a journal, or for a call to a plain server). Errors: those of writing
 * the journal; then p->seq is still to be completed. */
int pl_once_submit_journal(parley_client *c, const pending *p)
{
    if (!c->journal || !p->seq)
        return PARLEY_OK;
    msg_parts m;
    int rc = parts(c, p, &m);
    if (rc != PARLEY_OK)
        return rc;
    return journal_call(c, p->seq, p->first_inc, m.proc, (parley_semantics)p->sem, p->msg + m.args,
                        p->msg_len - m.args);
}

/* pl_once_park_later sets when the submitted call p goes out again: after its
 * backoff (doubling it, up to RETRY_MAX_NS), or at its deadline. */
void pl_once_park_later(pending *p)
{
    if (p->wait == 0)
        p->wait = RETRY_FIRST_NS;
    int64_t at = pl_now_ns() + p->wait;
    p->next_tx = at < p->deadline ? at : p->deadline;
    p->wait = p->wait * 2 < RETRY_MAX_NS ? p->wait * 2 : RETRY_MAX_NS;
}

/* pl_once_settle decides, by the rules of a synchronous call (judge),
 * what becomes of the guaranteed submitted call p whose attempt ended
 * with p->err (its reply attached when PARLEY_OK):
 *   PL_ONCE_END: it is over, *rc its error (its result decoded), its
 *     number complete;
 *   PL_ONCE_AGAIN: it goes out again, the same message, at p->next_tx (at
 *     once, or after its backoff), *rc what it ends with should its
 *     deadline pass first (p->park_rc too);
 *   PL_ONCE_RENEW: it never ran, its number is complete, and it goes out
 *     again under a new one after pl_once_renew.
 * The attempt's transmissions are added to p->sent. */
int pl_once_settle(parley_client *c, pending *p, parley_rpc_detail *det, int *rc)
{
    p->sent += p->handed ? 1 + p->resent : 0;
    p->handed = 0;
    p->resent = 0;
    outcome o = {p->err, 0, PL_SEQ_OK, 0};
    if (p->err == PARLEY_OK)
        o = decode(c, p, p->dec, p->res, p->arena, det);
    int step = judge(c, &o, p->sent, p->first_inc, p->deadline, &p->reconnects, rc);
    if (step == STEP_END) {
        complete_seq(c, p->seq);
        p->seq = 0;
        return PL_ONCE_END;
    }
    if (step == STEP_RENEW) {
        complete_seq(c, p->seq);
        p->seq = 0;
        p->renew = 1;
        p->hello_inc = o.incarnation;
        p->park_rc = PARLEY_ERR_TIMEDOUT; /* it never ran */
        return PL_ONCE_RENEW;
    }
    p->park_rc = *rc;
    if (step == STEP_NOW)
        p->next_tx = pl_now_ns();
    else
        pl_once_park_later(p);
    return PL_ONCE_AGAIN;
}

/* pl_once_renew gives the submitted call p, settled PL_ONCE_RENEW, its new
 * number (renumber: a HELLO first unless the handle said it to the
 * incarnation that answered p already), and writes it, the incarnation
 * and a new xid into its message; with a journal the call is recorded
 * again under it. Errors: those of renumber and of writing the journal
 * (then p has no number). */
int pl_once_renew(parley_client *c, pending *p, parley_rpc_detail *det)
{
    msg_parts m;
    int rc = parts(c, p, &m);
    uint64_t seq = 0, inc = 0;
    if (rc == PARLEY_OK)
        rc = renumber(c, p->hello_inc, p->first_inc, p->deadline, det, &seq, &inc);
    if (rc != PARLEY_OK)
        return rc;
    uint8_t buf[PARLEY_MAX_AUTH_BYTES];
    pl_opaque_auth cred;
    rc = seq_cred(c, seq, inc, (parley_semantics)p->sem, buf, &cred);
    if (rc == PARLEY_OK && cred.len != m.cred_len)
        rc = PARLEY_ERR_PROTOCOL; /* cannot happen: the same fields, the same size */
    if (rc != PARLEY_OK) {
        complete_seq(c, seq);
        return rc;
    }
    /* the message lives in the call's own allocation, right after it
     * (async.c's submit) */
    uint8_t *msg = (uint8_t *)(p + 1) + (p->msg - (const uint8_t *)(p + 1));
    memcpy(msg + m.cred, cred.body, cred.len);
    p->xid = atomic_fetch_add_explicit(&c->next_xid, 1, memory_order_relaxed);
    parley_st_u32(msg + m.xid, p->xid);
    p->seq = seq;
    p->first_inc = inc;
    p->sent = 0;
    p->inst = 0; /* never sent under its new number: it may go to any instance */
    p->reconnects = 0;
    p->renew = 0;
    rc = pl_once_submit_journal(c, p);
    if (rc != PARLEY_OK) {
        complete_seq(c, seq);
        p->seq = 0;
    }
    return rc;
}

/* pl_once_finish ends a submitted call p made at-most-once to a plain
 * server (p->once_plain), or a guaranteed one that goes out no more (never
 * submitted, cancelled, or its deadline passed while it waited to go out
 * again), whose outcome is p->err (its reply attached when PARLEY_OK):
 * decodes its reply, marks its sequence number complete, and returns its
 * error; a plain server's call whose connection broke after it was sent is
 * in doubt. */
int pl_once_finish(parley_client *c, pending *p, parley_rpc_detail *det)
{
    int rc = p->err;
    if (rc == PARLEY_OK) {
        outcome o = decode(c, p, p->dec, p->res, p->arena, det);
        rc = o.rc;
    } else if ((rc == PARLEY_ERR_CLOSED || rc == PARLEY_ERR_IO) && p->handed) {
        rc = PARLEY_ERR_IN_DOUBT;
    }
    if (p->seq)
        complete_seq(c, p->seq);
    p->seq = 0;
    return rc;
}
