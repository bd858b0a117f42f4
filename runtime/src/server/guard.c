/*
 * server/guard.c: the server's side of the delivery guarantees
 * (docs/semantics.md): what dispatch.c asks before it runs a procedure and
 * tells after, so that an at-most-once call never runs twice and an
 * exactly-once call runs once across a crash.
 *
 * It sits between dispatch.c and the delivery layer: the reply cache
 * (delivery/cache.h) for calls that carry a Parley identity, the duplicate
 * request cache (delivery/drc.h) for plain ONC RPC callers, and the
 * completion store (delivery/store.h) for exactly-once calls. Before a
 * call runs, pl_sv_guard_begin says whether to run it, to answer at once
 * (a recorded reply, or a status in the Parley verifier) or to drop it;
 * after, pl_sv_guard_end records its reply (and, for an exactly-once call,
 * commits its completion record with what it put in the store, before the
 * reply leaves).
 *
 * The incarnation rule. A server without a store forgets every call when
 * it stops; its incarnation (random, in every Parley verifier) tells a
 * retransmission that an earlier incarnation may have run from a call this
 * one has simply not seen: a call carries the incarnation its client knew
 * when it first sent it, and one first sent to another incarnation, or
 * from a client this incarnation does not know, is never run here: it is
 * answered PL_SEQ_HELLO with this incarnation. The client knows what the
 * server cannot, how often and over what it sent the call, and decides:
 * a call that went out once, over a connection to this very server (or,
 * over UDP, to the same incarnation), never ran anywhere and is sent again
 * after a HELLO; any other is in doubt.
 */
#include <string.h>
#include <sys/random.h>

#include "delivery/cache.h"
#include "delivery/drc.h"
#include "delivery/store.h"
#include "net/clock.h"
#include "server/internal.h"
#include "wire/seq.h"

/* draw_incarnation draws an incarnation: random, or with a store, the
 * store's run in the high 32 bits and 32 random bits, so that the run in
 * which a call was first sent can be read off the incarnation it carries
 * (see begin_seq). Never 0, which is "not known yet" on the wire. */
static uint64_t draw_incarnation(uint64_t boot)
{
    uint64_t inc = 0;
    while ((boot ? (uint32_t)inc : inc) == 0)
        if (getrandom(&inc, sizeof inc, 0) != (ssize_t)sizeof inc)
            inc = (uint64_t)pl_now_ns() * 0x9e3779b97f4a7c15u;
    return boot ? boot << 32 | (uint32_t)inc : inc;
}

/* pl_sv_guard_open makes s's caches, opens its store when it has one, and
 * draws its incarnation. Errors: PARLEY_ERR_NOMEM, PARLEY_ERR_INVALID (a
 * setting out of range), the store's (PARLEY_ERR_STORE: unreadable,
 * damaged or in use by another process, ...). Nothing is left on failure. */
int pl_sv_guard_open(parley_server *s)
{
    const parley_server_opts *o = &s->opts;
    atomic_store_explicit(&s->incarnation, draw_incarnation(0), memory_order_relaxed);
    pl_rcache_opts ro = {.max_bytes = o->cache_max_bytes,
                         .max_clients = o->cache_max_clients,
                         .window = o->cache_window,
                         .lease_ms = o->lease_ms};
    int rc = pl_rcache_create(&s->rcache, &ro);
    if (rc != PARLEY_OK)
        return rc;
    pl_drc_opts dro = {
        .max_entries =
            (uint32_t)(o->drc_max_entries > UINT32_MAX ? UINT32_MAX : o->drc_max_entries)};
    rc = pl_drc_create(&s->drc, &dro);
    if (rc != PARLEY_OK)
        goto fail_rc;
    if (o->store) {
        pl_store_opts so = {.durability = o->durability == PARLEY_DURABLE_MACHINE ? PL_DUR_MACHINE
                                                                                  : PL_DUR_PROCESS,
                            .max_bytes = o->store_max_bytes,
                            .max_clients = o->store_max_clients};
        s->store_lease_ns =
            (int64_t)(o->store_lease_ms ? o->store_lease_ms : PARLEY_DEFAULT_STORE_LEASE_MS) *
            1000000;
        rc = pl_store_open(&s->store, o->store, &so);
        if (rc != PARLEY_OK)
            goto fail_drc;
        s->store_boot = pl_store_boot(s->store);
        atomic_store_explicit(&s->incarnation, draw_incarnation(s->store_boot),
                              memory_order_relaxed);
    }
    return PARLEY_OK;
fail_drc:
    pl_drc_destroy(s->drc);
    s->drc = NULL;
fail_rc:
    pl_rcache_destroy(s->rcache);
    s->rcache = NULL;
    return rc;
}

/* pl_sv_guard_close frees what pl_sv_guard_open made. */
void pl_sv_guard_close(parley_server *s)
{
    pl_store_close(s->store);
    pl_drc_destroy(s->drc);
    pl_rcache_destroy(s->rcache);
    s->store = NULL;
    s->drc = NULL;
    s->rcache = NULL;
}

/* pl_sv_guard_expire reclaims the clients whose lease ran out (a bounded
 * amount of work; the idle scan calls it about once a second). */
void pl_sv_guard_expire(parley_server *s)
{
    int64_t now = pl_now_ns();
    if (s->rcache)
        pl_rcache_expire(s->rcache, now);
    if (s->store) {
        pl_store_expire(s->store, now, s->store_lease_ns, 4096);
        uint64_t boot = pl_store_boot(s->store);
        if (boot != s->store_boot) {
            /* the tombs of forgotten clients were full: a new run, told
             * by a new incarnation as a restart is (docs/semantics.md) */
            s->store_boot = boot;
            atomic_store_explicit(&s->incarnation, draw_incarnation(boot), memory_order_relaxed);
        }
    }
}

/* incarnation is s's incarnation now (it changes only when a store's new
 * run begins, see pl_sv_guard_expire). */
static uint64_t incarnation(const parley_server *s)
{
    return atomic_load_explicit(&s->incarnation, memory_order_relaxed);
}

/* pl_sv_verf makes the Parley verifier with status in buf. */
void pl_sv_verf(const parley_server *s, uint32_t status, uint8_t buf[PL_SEQ_VERF_BYTES],
                pl_opaque_auth *verf)
{
    parley_enc e;
    size_t len = 0;
    pl_seq_verf v = {incarnation(s), status};
    parley_enc_init(&e, buf, PL_SEQ_VERF_BYTES);
    pl_seq_verf_enc(&e, &v);
    parley_enc_finish(&e, &len);
    verf->flavor = PL_AUTH_PARLEY;
    verf->len = (uint32_t)len;
    verf->body = buf;
}

/* status answers the call h with SYSTEM_ERR and status in the verifier:
 * what the client makes of a call that was not run. */
static size_t status(worker *w, const pl_call_header *h, uint32_t st)
{
    uint8_t buf[PL_SEQ_VERF_BYTES];
    pl_opaque_auth verf;
    PL_SV_LOG_STATUS(w, st);
    pl_sv_verf(w->s, st, buf, &verf);
    return pl_sv_reply_accepted(w, h->xid, &verf, PARLEY_SYSTEM_ERR, 0, 0);
}

/* replay answers the call h with a recorded reply (len bytes at r), its
 * xid made the call's (a retransmission over a new connection, or from a
 * restarted client, may carry another). 0 (no answer) when the reply
 * buffer cannot grow. */
static size_t replay(worker *w, const pl_call_header *h, const uint8_t *r, size_t len)
{
    if (len < 4 || pl_sv_out_reserve(w, len + 4) != 0)
        return 0;
    if (r != w->out + 4)
        memcpy(w->out + 4, r, len);
    uint8_t *m = w->out + 4;
    parley_st_u32(m, h->xid);
    /* a reply recorded by an earlier incarnation (from the store) says
     * which incarnation answers now: xid, REPLY, MSG_ACCEPTED, then the
     * verifier's flavor, length and body (incarnation, status) */
    if (len >= 32 && parley_ld_u32(m + 12) == PL_AUTH_PARLEY &&
        parley_ld_u32(m + 16) == PL_SEQ_VERF_BYTES) {
        uint64_t inc = incarnation(w->s);
        parley_st_u32(m + 20, (uint32_t)(inc >> 32));
        parley_st_u32(m + 24, (uint32_t)inc);
    }
    return len;
}

/* replay_shared answers with a reply the caches hand out, and lets go of it. */
static size_t replay_shared(worker *w, const pl_call_header *h, pl_rc_reply *r)
{
    size_t n = replay(w, h, r->data, r->len);
    pl_rc_reply_put(r);
    return n;
}

/* from_store looks (id, seq) up in the store, for an exactly-once call
 * whose reply cache entry is NEW (fresh) or IN_DOUBT (evicted). Returns
 * PL_SV_RUN (no record: the call never completed, and its effects, kept
 * in the store, were never committed) or PL_SV_ANSWERED with *out_len. */
static int from_store(worker *w, const pl_call_header *h, const pl_seq_cred *q,
                      pl_rc_verdict verdict, size_t *out_len)
{
    parley_server *s = w->s;
    size_t len = 0;
    int state = PL_STORE_NONE;
    int rc = pl_store_lookup(s->store, q->client, q->seq, w->out + 4, w->out_cap - 4, &len, &state);
    if (rc == PARLEY_ERR_BUFFER_FULL && pl_sv_out_reserve(w, len + 4) == 0)
        rc = pl_store_lookup(s->store, q->client, q->seq, w->out + 4, w->out_cap - 4, &len, &state);
    if (rc != PARLEY_OK) {
        if (verdict == PL_RC_NEW)
            pl_rcache_abort(s->rcache, q->client, q->seq);
        *out_len = status(w, h, PL_SEQ_STORE);
        return PL_SV_ANSWERED;
    }
    if (state == PL_STORE_NONE && verdict == PL_RC_NEW)
        return PL_SV_RUN;
    if (state == PL_STORE_DONE) {
        if (verdict == PL_RC_NEW) /* remembered again, for the next retransmission */
            pl_rcache_finish(s->rcache, q->client, q->seq, w->out + 4, len, pl_now_ns());
        *out_len = replay(w, h, w->out + 4, len);
        return PL_SV_ANSWERED;
    }
    if (verdict == PL_RC_NEW)
        pl_rcache_abort(s->rcache, q->client, q->seq);
    if (state == PL_STORE_UNKNOWN) { /* forgotten meanwhile: see begin_seq */
        *out_len = status(w, h, PL_SEQ_HELLO);
        return PL_SV_ANSWERED;
    }
    if (state == PL_STORE_ACKED && q->seq < q->ack) {
        /* answered, and its client acknowledged it: nobody waits for it */
        *out_len = 0;
        return PL_SV_ANSWERED;
    }
    /* below the floor yet not acknowledged by this copy: a call sent
     * before the client registered again (after its lease ran out), whose
     * record went with the old registration */
    /* started and never completed (an effect outside the store may have
     * happened), or evicted from the cache and not in the store */
    *out_len = status(w, h, PL_SEQ_IN_DOUBT);
    return PL_SV_ANSWERED;
}

/* begin_seq is pl_sv_guard_begin for a call with a Parley identity. */
static int begin_seq(worker *w, parley_call *call, const pl_call_header *h, parley_semantics sem,
                     pl_sv_guard *g, size_t *out_len)
{
    parley_server *s = w->s;
    const pl_seq_cred *q = call->seq;
    int64_t now = pl_now_ns();
    if (sem == PARLEY_EXACTLY_ONCE && !s->store) {
        *out_len = status(w, h, PL_SEQ_NO_STORE);
        return PL_SV_ANSWERED;
    }
    if (sem == PARLEY_IDEMPOTENT)
        return PL_SV_RUN;
    if (sem == PARLEY_EXACTLY_ONCE) {
        /* Only a client registered in the store (by its HELLO) runs
         * exactly-once calls: one the store forgot at the end of its lease
         * must say HELLO again, and a late copy of a call it sent before
         * is not taken for a new one. Its lease starts again, and its
         * acknowledgement is written lazily, with the next record. */
        int known = 0;
        uint64_t reg_boot = 0;
        pl_store_touch(s->store, q->client, q->ack, &known, &reg_boot);
        if (!known) {
            *out_len = status(w, h, PL_SEQ_HELLO);
            return PL_SV_ANSWERED;
        }
        if (q->incarnation >> 32 < reg_boot) {
            /* first sent in an earlier run of the store than its client's
             * registration: to a registration since forgotten (its lease
             * ran out), which may have run it. Not run again. */
            *out_len = status(w, h, PL_SEQ_IN_DOUBT);
            return PL_SV_ANSWERED;
        }
    }
    pl_rc_verdict v;
    pl_rc_reply *r = NULL;
    int rc = pl_rcache_begin(s->rcache, q->client, q->seq, q->ack, now, &v, &r);
    int remade = 0; /* the cache had forgotten the client: only the store knows */
    if (rc == PARLEY_OK && v == PL_RC_UNKNOWN_CLIENT && sem == PARLEY_EXACTLY_ONCE) {
        /* after a restart, or the end of its lease, the store, not the
         * cache, knows the client: remember it again from its own
         * acknowledgement */
        pl_rc_hello hr;
        rc = pl_rcache_hello(s->rcache, q->client, q->ack, now, &hr);
        if (rc == PARLEY_OK && hr == PL_RC_HELLO_BUSY)
            v = PL_RC_BUSY;
        else if (rc == PARLEY_OK)
            rc = pl_rcache_begin(s->rcache, q->client, q->seq, q->ack, now, &v, &r);
        remade = 1;
    }
    if (rc != PARLEY_OK) {
        *out_len = status(w, h, PL_SEQ_BUSY);
        return PL_SV_ANSWERED;
    }
    switch (v) {
    case PL_RC_NEW:
        if (sem == PARLEY_EXACTLY_ONCE && q->incarnation == incarnation(s) && !remade) {
            /* first sent when this incarnation was known, to a cache that
             * has known the client since: no earlier incarnation can have
             * seen it, nor has this one forgotten it, so the store has no
             * record of it */
            g->kind = PL_SV_GUARD_STORE;
            return PL_SV_RUN;
        }
        if (sem == PARLEY_EXACTLY_ONCE) {
            int run = from_store(w, h, q, v, out_len);
            if (run == PL_SV_RUN)
                g->kind = PL_SV_GUARD_STORE;
            return run;
        }
        if (q->incarnation != incarnation(s)) {
            /* first sent to another incarnation, which may have run it:
             * not run here; the client, which knows how often and how it
             * sent it, decides whether it is in doubt (see client/once.c) */
            pl_rcache_abort(s->rcache, q->client, q->seq);
            *out_len = status(w, h, PL_SEQ_HELLO);
            return PL_SV_ANSWERED;
        }
        g->kind = PL_SV_GUARD_CACHE;
        return PL_SV_RUN;
    case PL_RC_DONE:
        *out_len = replay_shared(w, h, r);
        return PL_SV_ANSWERED;
    case PL_RC_RUNNING:
        *out_len = status(w, h, PL_SEQ_RETRY);
        return PL_SV_ANSWERED;
    case PL_RC_STALE: /* acknowledged: its client waits for nothing */
        *out_len = 0;
        return PL_SV_ANSWERED;
    case PL_RC_IN_DOUBT:
        if (sem == PARLEY_EXACTLY_ONCE)
            return from_store(w, h, q, v, out_len);
        *out_len = status(w, h, PL_SEQ_IN_DOUBT);
        return PL_SV_ANSWERED;
    case PL_RC_UNKNOWN_CLIENT: /* this incarnation ran nothing of it that it remembers */
        *out_len = status(w, h, PL_SEQ_HELLO);
        return PL_SV_ANSWERED;
    case PL_RC_BEYOND_WINDOW:
    case PL_RC_BUSY:
        break;
    }
    *out_len = status(w, h, PL_SEQ_BUSY);
    return PL_SV_ANSWERED;
}

/* pl_sv_guard_hello answers a HELLO (the NULL procedure with a Parley
 * identity and sequence number 0): the client's state is made (or kept),
 * its floor at the sequence number the HELLO acknowledges. */
size_t pl_sv_guard_hello(worker *w, const parley_call *call, const pl_call_header *h)
{
    parley_server *s = w->s;
    const pl_seq_cred *q = call->seq;
    pl_rc_hello hr = PL_RC_HELLO_BUSY;
    uint64_t first = q->ack ? q->ack : 1;
    if (s->store) {
        /* registered durably before the answer, so that the client's
         * exactly-once calls run across a crash that follows it */
        int known = 0;
        int rc = pl_store_hello(s->store, q->client, first, &known);
        if (rc != PARLEY_OK)
            return status(w, h,
                          rc == PARLEY_ERR_BUSY       ? PL_SEQ_BUSY
                          : rc == PARLEY_ERR_NO_SPACE ? PL_SEQ_NO_SPACE
                          : rc == PARLEY_ERR_NOMEM    ? PL_SEQ_BUSY
                                                      : PL_SEQ_STORE);
    }
    if (pl_rcache_hello(s->rcache, q->client, first, pl_now_ns(), &hr) != PARLEY_OK ||
        hr == PL_RC_HELLO_BUSY)
        return status(w, h, PL_SEQ_BUSY);
    uint8_t buf[PL_SEQ_VERF_BYTES];
    pl_opaque_auth verf;
    pl_sv_verf(s, PL_SEQ_OK, buf, &verf);
    return pl_sv_reply_accepted(w, h->xid, &verf, PARLEY_SUCCESS, 0, 0);
}

/* pl_sv_guard_begin decides what becomes of call, whose procedure declares
 * sem, before its handler runs: PL_SV_RUN (run it; g says what to record
 * after), or PL_SV_ANSWERED with the answer's length at w->out + 4 in
 * *out_len (0: no answer, the call is dropped). args are the call's
 * argument bytes (for the duplicate request cache's key). */
int pl_sv_guard_begin(worker *w, parley_call *call, const pl_call_header *h, parley_semantics sem,
                      const uint8_t *args, size_t args_len, pl_sv_guard *g, size_t *out_len)
{
    parley_server *s = w->s;
    memset(g, 0, sizeof *g);
    if (call->seq) {
        /* what the client asks may be stronger than what is declared */
        uint32_t asked = call->seq->semantics;
        sem = parley_semantics_stronger(sem, asked == PL_SEM_EXACTLY_ONCE   ? PARLEY_EXACTLY_ONCE
                                             : asked == PL_SEM_AT_MOST_ONCE ? PARLEY_AT_MOST_ONCE
                                                                            : PARLEY_IDEMPOTENT);
        call->sem = sem;
        return begin_seq(w, call, h, sem, g, out_len);
    }
    call->sem = sem;
    if (sem == PARLEY_IDEMPOTENT)
        return PL_SV_RUN;
    /* a plain ONC RPC caller: the best-effort cache, by address and xid */
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    if (parley_call_peer(call, &peer, &plen) != PARLEY_OK)
        return PL_SV_RUN;
    pl_drc_call dc = {.peer = &peer,
                      .peer_len = plen,
                      .xid = h->xid,
                      .prog = h->prog,
                      .vers = h->vers,
                      .proc = h->proc,
                      .args = args,
                      .args_len = args_len};
    pl_drc_verdict v;
    pl_rc_reply *r = NULL;
    if (pl_drc_begin(s->drc, &dc, pl_now_ns(), &g->ticket, &v, &r) != PARLEY_OK)
        return PL_SV_RUN;
    switch (v) {
    case PL_DRC_NEW:
        g->kind = PL_SV_GUARD_DRC;
        return PL_SV_RUN;
    case PL_DRC_NEW_UNTRACKED:
        return PL_SV_RUN;
    case PL_DRC_IN_PROGRESS:
        *out_len = 0;
        return PL_SV_ANSWERED;
    case PL_DRC_REPLAY:
        *out_len = replay_shared(w, h, r);
        return PL_SV_ANSWERED;
    }
    return PL_SV_RUN;
}

/* pl_sv_guard_end records the outcome of call, run after pl_sv_guard_begin
 * said PL_SV_RUN: its reply of len bytes at w->out + 4 (0: the handler
 * made no reply), ok when the handler succeeded. An exactly-once call's
 * completion record is committed here, with what the call put in the store,
 * and durable (at the server's level) when this returns; if the commit
 * fails, nothing of the call is kept and its answer becomes a status
 * (PL_SEQ_NO_SPACE or PL_SEQ_STORE), whose length is returned. Returns the
 * length of the answer to send. */
size_t pl_sv_guard_end(worker *w, parley_call *call, const pl_call_header *h, pl_sv_guard *g,
                       size_t len, int ok)
{
    parley_server *s = w->s;
    const pl_seq_cred *q = call->seq;
    int64_t now = pl_now_ns();
    if (call->txn && g->kind != PL_SV_GUARD_STORE) {
        /* a plain caller's exactly-once call: what it put is committed
         * before the reply leaves, without a completion record (it has no
         * identity to record one under) */
        int rc = ok ? pl_store_commit(call->txn, NULL, 0, NULL, 0) : PARLEY_OK;
        if (!ok)
            pl_store_abort(call->txn);
        call->txn = NULL;
        if (rc != PARLEY_OK) {
            if (g->kind == PL_SV_GUARD_DRC)
                pl_drc_abort(s->drc, &g->ticket);
            return pl_sv_reply_accepted(w, h->xid, NULL, PARLEY_SYSTEM_ERR, 0, 0);
        }
    }
    switch (g->kind) {
    case PL_SV_GUARD_NONE:
        break;
    case PL_SV_GUARD_CACHE:
        if (len)
            pl_rcache_finish(s->rcache, q->client, q->seq, w->out + 4, len, now);
        else
            pl_rcache_abort(s->rcache, q->client, q->seq);
        break;
    case PL_SV_GUARD_DRC:
        if (len)
            pl_drc_finish(s->drc, &g->ticket, w->out + 4, len, now);
        else
            pl_drc_abort(s->drc, &g->ticket);
        break;
    case PL_SV_GUARD_STORE: {
        if (!len) { /* no answer at all: as if it had not come */
            pl_store_abort(call->txn);
            call->txn = NULL;
            pl_rcache_abort(s->rcache, q->client, q->seq);
            break;
        }
        if (!ok) {
            /* a failed procedure keeps nothing of what it put, and its
             * failure is its answer: recorded, so that a late copy gets it
             * instead of running it again (with its effects outside the
             * store), and committed alone as its completion */
            pl_store_abort(call->txn);
            call->txn = NULL;
        }
        int rc = call->txn ? PARLEY_OK : pl_store_begin(s->store, &call->txn);
        if (rc == PARLEY_OK)
            rc = pl_store_commit(call->txn, q->client, q->seq, w->out + 4, len);
        call->txn = NULL; /* commit ends the transaction either way */
        if (rc == PARLEY_ERR_IO) {
            /* recorded and applied, its sync failed: it may or may not
             * survive a crash of the machine */
            len = status(w, h, PL_SEQ_IN_DOUBT);
            pl_rcache_finish(s->rcache, q->client, q->seq, w->out + 4, len, now);
            return len;
        }
        if (rc != PARLEY_OK) {
            /* not kept: nothing of it happened in the store; the answer
             * is recorded for its copies */
            len = status(w, h, rc == PARLEY_ERR_NO_SPACE ? PL_SEQ_NO_SPACE : PL_SEQ_STORE);
            pl_rcache_finish(s->rcache, q->client, q->seq, w->out + 4, len, now);
            return len;
        }
        pl_rcache_finish(s->rcache, q->client, q->seq, w->out + 4, len, now);
        break;
    }
    }
    return len;
}

/* txn is the store transaction of an exactly-once call, begun at its first
 * use. Errors: PARLEY_ERR_UNSUPPORTED (not an exactly-once call, or no
 * store), the store's. */
static int txn(parley_call *call, pl_store_txn **out)
{
    parley_server *s = call->w->s;
    if (!s->store || call->sem != PARLEY_EXACTLY_ONCE)
        return PARLEY_ERR_UNSUPPORTED;
    if (!call->txn) {
        int rc = pl_store_begin(s->store, &call->txn);
        if (rc != PARLEY_OK)
            return rc;
    }
    *out = call->txn;
    return PARLEY_OK;
}

/* parley_call_identity: see server.h. */
int parley_call_identity(const parley_call *call, uint8_t client_id[16], uint64_t *seq)
{
    if (!call)
        return PARLEY_ERR_INVALID;
    if (!call->seq || call->seq->seq == 0)
        return PARLEY_ERR_UNSUPPORTED;
    if (client_id)
        memcpy(client_id, call->seq->client, PL_SEQ_ID_BYTES);
    if (seq)
        *seq = call->seq->seq;
    return PARLEY_OK;
}

/* parley_call_store_get: see server.h. */
int parley_call_store_get(parley_call *call, const void *key, size_t klen, const void **val,
                          size_t *vlen)
{
    if (!call || !key || !val || !vlen)
        return PARLEY_ERR_INVALID;
    pl_store_txn *t;
    int rc = txn(call, &t);
    return rc == PARLEY_OK ? pl_store_get(t, key, klen, val, vlen) : rc;
}

/* parley_call_store_put: see server.h. */
int parley_call_store_put(parley_call *call, const void *key, size_t klen, const void *val,
                          size_t vlen)
{
    if (!call || !key || (!val && vlen))
        return PARLEY_ERR_INVALID;
    pl_store_txn *t;
    int rc = txn(call, &t);
    return rc == PARLEY_OK ? pl_store_put(t, key, klen, val, vlen) : rc;
}

/* parley_call_store_del: see server.h. */
int parley_call_store_del(parley_call *call, const void *key, size_t klen)
{
    if (!call || !key)
        return PARLEY_ERR_INVALID;
    pl_store_txn *t;
    int rc = txn(call, &t);
    return rc == PARLEY_OK ? pl_store_del(t, key, klen) : rc;
}

/* parley_call_external: see server.h. A plain caller's exactly-once call
 * has no identity to record: it is refused too. Besides the errors there,
 * PARLEY_ERR_IN_DOUBT: a STARTED record of the call is there already,
 * another run's. */
int parley_call_external(parley_call *call)
{
    if (!call)
        return PARLEY_ERR_INVALID;
    parley_server *s = call->w->s;
    if (!s->store || call->sem != PARLEY_EXACTLY_ONCE || !call->seq)
        return PARLEY_ERR_UNSUPPORTED;
    /* a STARTED record already there is another run's: this one must not
     * make the effect again */
    size_t len = 0;
    int state = PL_STORE_NONE;
    uint8_t none;
    int rc = pl_store_lookup(s->store, call->seq->client, call->seq->seq, &none, 0, &len, &state);
    if ((rc == PARLEY_OK || rc == PARLEY_ERR_BUFFER_FULL) && state != PL_STORE_NONE)
        return PARLEY_ERR_IN_DOUBT;
    return pl_store_started(s->store, call->seq->client, call->seq->seq);
}
