/*
 * server/dispatch.c: from a call message to its reply. pl_sv_process
 * decodes the call's header, checks its RPC version and credentials, finds
 * the program, version and procedure, runs the procedure's handler with
 * the worker's arena and writes the reply into the worker's buffer; the
 * parley_call_* functions are what a handler may ask of its call.
 *
 * It sits above the wire layer (wire/rpcmsg.h, wire/auth.h) and beneath
 * the readers of stream.c and dgram.c, which call pl_sv_process and send
 * what it wrote. Nothing here knows a socket's kind: the caller's
 * addresses come from its socket's pl_sv_ops.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/clock.h"
#include "server/internal.h"
#include "wire/auth.h"
#include "wire/rpcmsg.h"
#include "wire/seq.h"

/* pl_sv_out_reserve grows w's reply buffer to need bytes: 0, or -1 when
 * memory ran out (the buffer is then as it was). */
int pl_sv_out_reserve(worker *w, size_t need)
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

static const parley_proc_def *find_proc(const parley_program_def *p, uint32_t proc)
{
    for (size_t i = 0; i < p->nprocs; i++)
        if (p->procs[i].proc == proc)
            return &p->procs[i];
    return NULL;
}

/* pl_sv_reply_accepted writes an accepted reply with status stat at
 * w->out+4 (verf NULL: AUTH_NONE); returns its length. */
size_t pl_sv_reply_accepted(worker *w, uint32_t xid, const pl_opaque_auth *verf, uint32_t stat,
                            uint32_t low, uint32_t high)
{
    parley_enc e;
    parley_enc_init(&e, w->out + 4, w->out_cap - 4);
    pl_msg_encode_reply_accepted(&e, xid, verf, stat, low, high);
    size_t len = 0;
    parley_enc_finish(&e, &len);
    return len;
}

/* pl_sv_log_call logs an event of the call w answers (see internal.h). */
void pl_sv_log_call(const worker *w, int level, int event, int err, const char *what)
{
    const msgsrc *src = w->src;
    const pl_call_header *h = w->hdr;
    pl_log_src ls = {.transport = src->c->transport, .err = err};
    if (src->dgram) {
        ls.peer = src->dgram->msg_name;
        ls.peer_len = src->dgram->msg_namelen;
    } else {
        ls.peer = (const struct sockaddr *)&src->c->peer;
        ls.peer_len = src->c->peer_len;
    }
    if (!h) {
        pl_log_emit(level, event, &ls, "%s", what);
        return;
    }
    ls.prog = h->prog;
    ls.vers = h->vers;
    ls.proc = h->proc;
    pl_log_emit(level, event, &ls, "call %u/%u/%u %s", h->prog, h->vers, h->proc, what);
}

/* pl_sv_log_status logs the delivery status st answered to w's call
 * instead of running it: a shortage (busy, no space, the store failing)
 * and a call in doubt are warnings, a call that asks for what the server
 * lacks is refused (info), and the protocol's ordinary steps (hello,
 * retry) are debug. */
void pl_sv_log_status(const worker *w, uint32_t st)
{
    int level = PARLEY_LOG_WARNING, event = PARLEY_LOG_CALL_NOT_RUN, err;
    const char *what;
    switch (st) {
    case PL_SEQ_BUSY:
        event = PARLEY_LOG_LIMIT_CACHE;
        err = PARLEY_ERR_BUSY;
        what = "not run: busy (the reply cache or the store has no room)";
        break;
    case PL_SEQ_IN_DOUBT:
        err = PARLEY_ERR_IN_DOUBT;
        what = "not run: in doubt (it may have run, its record is gone)";
        break;
    case PL_SEQ_NO_SPACE:
        event = PARLEY_LOG_LIMIT_CACHE;
        err = PARLEY_ERR_NO_SPACE;
        what = "not run: the store's disk is full";
        break;
    case PL_SEQ_STORE:
        level = PARLEY_LOG_ERROR;
        err = PARLEY_ERR_STORE;
        what = "not run: the store failed";
        break;
    case PL_SEQ_NO_STORE:
        level = PARLEY_LOG_INFO;
        event = PARLEY_LOG_CALL_REFUSED;
        err = PARLEY_ERR_NOT_GUARANTEED;
        what = "refused: exactly-once asked of a server without a store";
        break;
    case PL_SEQ_HELLO:
        level = PARLEY_LOG_DEBUG;
        err = 0;
        what = "not run: the client must say HELLO (unknown client or incarnation)";
        break;
    default:
        level = PARLEY_LOG_DEBUG;
        err = 0;
        what = "not run: still running, the client is to ask again";
        break;
    }
    if (PL_LOG_ON(level))
        pl_sv_log_call(w, level, event, err, what);
}

/* add_stats counts a call of the procedure whose counters are ps, with its
 * outcome (the counter to add to) and its time in ns: relaxed additions,
 * since nothing is ordered by them (parley/stats.h). */
static void add_stats(pl_sv_pstat *ps, _Atomic uint64_t *outcome, int64_t ns)
{
    uint64_t us = ns > 0 ? (uint64_t)ns / 1000 : 0;
    unsigned b = us ? 64u - (unsigned)__builtin_clzll(us) : 0;
    atomic_fetch_add_explicit(outcome, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(
        &ps->latency_us[b < PARLEY_STATS_BUCKETS ? b : PARLEY_STATS_BUCKETS - 1], 1,
        memory_order_relaxed);
}

/* The call whose procedure handed its result over to the generated
 * handler (parley_call_free_result). A thread runs one handler at a time,
 * from start to end, so one pointer per thread is enough; it is cleared
 * around each handler, so a call at the address of an earlier one never
 * finds its mark. */
static _Thread_local const parley_call *handed_over;

/* pl_sv_process answers one call message; returns the reply's length at
 * w->out+4, or 0 for no reply (the message is dropped). *fatal is set when
 * the connection is to be ended (a message that is not a call). msg need
 * only last the call. */
size_t pl_sv_process(worker *w, const msgsrc *src, const uint8_t *msg, size_t len, int *fatal)
{
    parley_server *s = w->s;
    *fatal = 0;
    w->src = src;
    w->hdr = NULL;
    if (pl_sv_out_reserve(w, 4096) != 0)
        return 0;
    parley_dec d;
    parley_dec_init(&d, msg, len, NULL);
    pl_call_header h;
    int rc = pl_msg_decode_call(&d, &h);
    if (rc != PARLEY_OK) {
        PL_SV_LOG_CALL(w, PARLEY_LOG_WARNING, PARLEY_LOG_MALFORMED, rc,
                       "not a call message: dropped (a stream is closed)");
        *fatal = 1; /* not a call we can even answer: a REPLY, or garbage */
        return 0;
    }
    w->hdr = &h;
    parley_enc e;
    size_t out_len = 0;
    if (h.rpcvers != PARLEY_RPC_VERSION) {
        PL_SV_LOG_CALL(w, PARLEY_LOG_INFO, PARLEY_LOG_CALL_REFUSED, PARLEY_ERR_RPC_MISMATCH,
                       "refused: not RPC version 2");
        parley_enc_init(&e, w->out + 4, w->out_cap - 4);
        pl_msg_encode_reply_denied_rpc_mismatch(&e, h.xid, PARLEY_RPC_VERSION, PARLEY_RPC_VERSION);
        parley_enc_finish(&e, &out_len);
        return out_len;
    }
    parley_call call;
    memset(&call, 0, sizeof call);
    call.size = len;
    call.w = w;
    call.src = src;
    uint8_t verf_buf[PARLEY_MAX_AUTH_BYTES];
    pl_opaque_auth verf = {PARLEY_AUTH_NONE, 0, NULL};
    pl_seq_cred seq;
    uint32_t auth;
    if (h.cred.flavor == PL_AUTH_PARLEY) {
        /* Parley's identity around the caller's own credential, which is
         * checked as if it had come alone; the verifier says which
         * incarnation answers and what became of the call */
        pl_call_header inner = h;
        auth = pl_seq_cred_decode(h.cred.body, h.cred.len, &seq) == PARLEY_OK ? PARLEY_AUTH_OK
                                                                              : PARLEY_AUTH_BADCRED;
        if (auth == PARLEY_AUTH_OK) {
            inner.cred = seq.inner;
            auth = pl_auth_check(&inner, &call.cred);
        }
        call.seq = &seq;
        pl_sv_verf(s, PL_SEQ_OK, verf_buf, &verf);
    } else {
        auth = pl_auth_check(&h, &call.cred);
    }
    if (auth != PARLEY_AUTH_OK) {
        PL_SV_LOG_CALL(w, PARLEY_LOG_INFO, PARLEY_LOG_CALL_REFUSED, PARLEY_ERR_AUTH,
                       "refused: bad credentials");
        parley_enc_init(&e, w->out + 4, w->out_cap - 4);
        pl_msg_encode_reply_denied_auth_error(&e, h.xid, auth);
        parley_enc_finish(&e, &out_len);
        return out_len;
    }
    const pl_auth_ops *ops = call.seq ? NULL : pl_auth_find(h.cred.flavor);
    if (ops && ops->make_verf && ops->make_verf(&h, &call.cred, verf_buf, &verf) != PARLEY_OK)
        return pl_sv_reply_accepted(w, h.xid, &verf, PARLEY_SYSTEM_ERR, 0, 0);

    /* the table as published last (see parley_server_add_program) */
    const pl_sv_progs *tab = atomic_load_explicit(&s->progs, memory_order_acquire);
    const parley_program_def *prog = NULL;
    uint32_t low = UINT32_MAX, high = 0;
    size_t pi = 0;
    for (size_t i = 0; tab && i < tab->n; i++) {
        const parley_program_def *p = tab->defs[i];
        if (p->prog != h.prog)
            continue;
        low = p->vers < low ? p->vers : low;
        high = p->vers > high ? p->vers : high;
        if (p->vers == h.vers) {
            prog = p;
            pi = i;
            call.ctx = tab->ctx[i];
        }
    }
    if (!prog && high == 0 && low == UINT32_MAX) {
        PL_SV_LOG_CALL(w, PARLEY_LOG_INFO, PARLEY_LOG_CALL_REFUSED, PARLEY_ERR_PROG_UNAVAIL,
                       "refused: program unavailable");
        return pl_sv_reply_accepted(w, h.xid, &verf, PARLEY_PROG_UNAVAIL, 0, 0);
    }
    if (!prog) {
        PL_SV_LOG_CALL(w, PARLEY_LOG_INFO, PARLEY_LOG_CALL_REFUSED, PARLEY_ERR_PROG_MISMATCH,
                       "refused: version unavailable");
        return pl_sv_reply_accepted(w, h.xid, &verf, PARLEY_PROG_MISMATCH, low, high);
    }
    if (call.seq && seq.seq == 0) { /* sequence number 0 is a client's HELLO */
        if (h.proc != 0 || d.p != d.end)
            return pl_sv_reply_accepted(w, h.xid, &verf, PARLEY_GARBAGE_ARGS, 0, 0);
        return pl_sv_guard_hello(w, &call, &h);
    }
    const parley_proc_def *proc = find_proc(prog, h.proc);
    if (!proc && h.proc == 0) { /* the NULL procedure, which every program has */
        if (d.p == d.end)
            return pl_sv_reply_accepted(w, h.xid, &verf, PARLEY_SUCCESS, 0, 0);
        PL_SV_LOG_CALL(w, PARLEY_LOG_INFO, PARLEY_LOG_CALL_REFUSED, PARLEY_ERR_GARBAGE_ARGS,
                       "refused: arguments to the NULL procedure");
        return pl_sv_reply_accepted(w, h.xid, &verf, PARLEY_GARBAGE_ARGS, 0, 0);
    }
    if (!proc) {
        PL_SV_LOG_CALL(w, PARLEY_LOG_INFO, PARLEY_LOG_CALL_REFUSED, PARLEY_ERR_PROC_UNAVAIL,
                       "refused: procedure unavailable");
        return pl_sv_reply_accepted(w, h.xid, &verf, PARLEY_PROC_UNAVAIL, 0, 0);
    }
    pl_sv_pstat *ps = &tab->stats[pi][proc - prog->procs]; /* its counters */
    int64_t t0 = pl_now_ns();

    /* the delivery guarantee: run it, or answer (a recorded reply, a status) */
    pl_sv_guard g;
    size_t answer = 0;
    if (pl_sv_guard_begin(w, &call, &h, proc->semantics, d.p, (size_t)(d.end - d.p), &g, &answer) !=
        PL_SV_RUN) {
        add_stats(ps, &ps->not_run, pl_now_ns() - t0);
        return answer;
    }

    /* the success header first; the handler's result follows it */
    parley_enc_init(&e, w->out + 4, w->out_cap - 4);
    pl_msg_encode_reply_accepted(&e, h.xid, &verf, PARLEY_SUCCESS, 0, 0);
    parley_enc_finish(&e, &call.header_end);
    call.header_end += 4;
    call.limits.max_alloc = PARLEY_DEFAULT_MAX_ALLOC;
    call.limits.arena = w->arena;
    d.arena = w->arena; /* the arguments go into the call's arena */
    d.budget = call.limits.max_alloc;
    handed_over = NULL;
    rc = proc->handler(&call, &d);
    handed_over = NULL;
    parley_arena_reset(w->arena);
    size_t reply_len;
    int ok = 0;
    _Atomic uint64_t *outcome = &ps->ok;
    if (rc == PARLEY_ERR_GARBAGE_ARGS) {
        PL_SV_LOG_CALL(w, PARLEY_LOG_INFO, PARLEY_LOG_CALL_REFUSED, PARLEY_ERR_GARBAGE_ARGS,
                       "refused: its arguments do not decode");
        outcome = &ps->garbage_args;
        reply_len = pl_sv_reply_accepted(w, h.xid, &verf, PARLEY_GARBAGE_ARGS, 0, 0);
    } else if (rc != PARLEY_OK || (call.result_ok && call.result.err)) {
        PL_SV_LOG_CALL(w, PARLEY_LOG_INFO, PARLEY_LOG_CALL_REFUSED, PARLEY_ERR_SYSTEM_ERR,
                       "failed: the procedure returned an error (SYSTEM_ERR)");
        outcome = &ps->system_err;
        reply_len = pl_sv_reply_accepted(w, h.xid, &verf, PARLEY_SYSTEM_ERR, 0, 0);
    } else {
        /* a void result: nothing after the header */
        reply_len = call.result_ok ? (size_t)(call.result.p - w->out) - 4 : call.header_end - 4;
        ok = 1;
    }
    reply_len = pl_sv_guard_end(w, &call, &h, &g, reply_len, ok);
    add_stats(ps, outcome, pl_now_ns() - t0);
    return reply_len;
}

/* ---- the public call API ----------------------------------------------- */

/* parley_call_ctx: see server.h. */
void *parley_call_ctx(const parley_call *call)
{
    return call ? call->ctx : NULL;
}

/* parley_call_size: see server.h. */
size_t parley_call_size(const parley_call *call)
{
    return call ? call->size : 0;
}

/* parley_call_cred: see server.h. */
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
    return call->src->c->ops->peer(call, out, len);
}

/* parley_call_local: see server.h. */
int parley_call_local(const parley_call *call, struct sockaddr_storage *out, socklen_t *len)
{
    if (!call || !out || !len)
        return PARLEY_ERR_INVALID;
    return call->src->c->ops->local(call, out, len);
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

/* parley_call_arena: see server.h. */
parley_arena *parley_call_arena(parley_call *call)
{
    return call->w->arena;
}

/* parley_call_limits: see server.h. */
const parley_limits *parley_call_limits(const parley_call *call)
{
    return &call->limits;
}

/* parley_call_result: see server.h. */
parley_enc *parley_call_result(parley_call *call, size_t size)
{
    worker *w = call->w;
    if (size > SIZE_MAX - call->header_end || pl_sv_out_reserve(w, call->header_end + size) != 0)
        return NULL;
    parley_enc_init(&call->result, w->out + call->header_end, size);
    call->result_ok = 1;
    return &call->result;
}

/* parley_call_free_result: see server.h. */
void parley_call_free_result(parley_call *call)
{
    if (call)
        handed_over = call;
}

/* parley_call_frees_result: see server.h. */
int parley_call_frees_result(const parley_call *call)
{
    return call && handed_over == call;
}
