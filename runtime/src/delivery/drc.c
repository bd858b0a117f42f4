/*
 * drc.c: the duplicate request cache (drc.h) for callers without an
 * identity: best effort, bounded, least recently used out first.
 *
 * Each shard has a mutex, a hash table of its entries sized at create and a
 * list of its finished entries from the least recently used. Entries in
 * progress are not on the list: they are never evicted (their duplicates
 * must be dropped while they run), and they count against the bounds like
 * the others, so a shard full of calls in progress runs new calls
 * untracked rather than grow. Keys are hashed with SipHash under a key drawn
 * at create, so that a client cannot aim its calls at one hash chain, nor
 * make two different argument bodies hash alike.
 */
#include "delivery/drc.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "parley/error.h"

enum { E_IN_PROGRESS, E_DONE };

typedef struct drc_entry {
    struct drc_entry *hnext;
    struct drc_entry *older, *newer; /* the LRU list, when done */
    pl_drc_ticket key;
    pl_rc_reply *reply; /* when done */
    int64_t finished;   /* when done: the time its age counts from */
    int state;
} drc_entry;

typedef struct drc_shard {
    _Alignas(64) pthread_mutex_t mu;
    drc_entry **buckets;
    uint32_t mask;
    drc_entry *lru, *mru; /* finished entries, least recently used first */
    size_t entries, in_progress, bytes;
    uint64_t replays, dropped, untracked, evictions, aged;
} drc_shard;

struct pl_drc {
    size_t max_bytes;   /* per shard */
    size_t max_entries; /* per shard */
    int64_t max_age_ns;
    uint32_t nshards;
    uint64_t key[2];
    drc_shard *shards;
};

/* pl_drc_create makes a cache with opts (NULL: the defaults) and writes it
 * to *out; the caller owns it and frees it with pl_drc_destroy. The bounds
 * are divided evenly among the shards. Errors: PARLEY_ERR_NULL,
 * PARLEY_ERR_INVALID (more than PL_DRC_MAX_SHARDS shards, or bounds too
 * small to give each shard one entry), PARLEY_ERR_NOMEM. */
int pl_drc_create(pl_drc **out, const pl_drc_opts *opts)
{
    pl_drc_opts o = {0};
    if (out == NULL)
        return PARLEY_ERR_NULL;
    if (opts != NULL)
        o = *opts;
    if (o.max_bytes == 0)
        o.max_bytes = PL_DRC_DEFAULT_MAX_BYTES;
    if (o.max_entries == 0)
        o.max_entries = PL_DRC_DEFAULT_MAX_ENTRIES;
    if (o.max_age_ms == 0)
        o.max_age_ms = PL_DRC_DEFAULT_MAX_AGE_MS;
    if (o.shards == 0)
        o.shards = PL_DRC_DEFAULT_SHARDS;
    if (o.shards > PL_DRC_MAX_SHARDS)
        return PARLEY_ERR_INVALID;
    uint32_t nshards = 1;
    while (nshards < o.shards)
        nshards <<= 1;
    if (o.max_entries < nshards || o.max_bytes / nshards < sizeof(drc_entry))
        return PARLEY_ERR_INVALID;
    uint32_t per = 4;
    while (per < o.max_entries / nshards)
        per <<= 1;

    pl_drc *d = calloc(1, sizeof *d);
    if (d == NULL)
        return PARLEY_ERR_NOMEM;
    d->max_bytes = o.max_bytes / nshards;
    d->max_entries = o.max_entries / nshards;
    d->max_age_ns = (int64_t)o.max_age_ms * 1000000;
    d->nshards = nshards;
    (void)pl_random_key(d->key); /* a weaker key still works */
    d->shards = aligned_alloc(_Alignof(drc_shard), sizeof(drc_shard) * nshards);
    if (d->shards == NULL)
        goto fail;
    uint32_t made = 0;
    for (; made < nshards; made++) {
        drc_shard *sh = &d->shards[made];
        memset(sh, 0, sizeof *sh);
        sh->buckets = calloc(per, sizeof *sh->buckets);
        if (sh->buckets == NULL || pthread_mutex_init(&sh->mu, NULL) != 0) {
            free(sh->buckets);
            goto fail_shards;
        }
        sh->mask = per - 1;
    }
    *out = d;
    return PARLEY_OK;

fail_shards:
    while (made-- > 0) {
        pthread_mutex_destroy(&d->shards[made].mu);
        free(d->shards[made].buckets);
    }
    free(d->shards);
fail:
    free(d);
    return PARLEY_ERR_NOMEM;
}

/* entry_cost is what e counts against the bytes bound. */
static size_t entry_cost(const drc_entry *e)
{
    return sizeof *e + (e->reply ? sizeof(pl_rc_reply) + e->reply->len : 0);
}

static void lru_unlink(drc_shard *sh, drc_entry *e)
{
    if (e->older)
        e->older->newer = e->newer;
    else
        sh->lru = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        sh->mru = e->older;
    e->older = e->newer = NULL;
}

static void lru_append(drc_shard *sh, drc_entry *e)
{
    e->older = sh->mru;
    e->newer = NULL;
    if (sh->mru)
        sh->mru->newer = e;
    else
        sh->lru = e;
    sh->mru = e;
}

/* entry_free unlinks e from its shard and frees it; its reply lives on
 * while a sender holds it. Under the shard's lock. */
static void entry_free(drc_shard *sh, drc_entry *e)
{
    drc_entry **pp = &sh->buckets[(e->key.hash >> 32) & sh->mask];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    if (e->state == E_DONE)
        lru_unlink(sh, e);
    else
        sh->in_progress--;
    sh->bytes -= entry_cost(e);
    sh->entries--;
    pl_rc_reply_put(e->reply);
    free(e);
}

/* pl_drc_destroy frees d and its entries; replies handed out stay valid
 * until put. No other thread may use d meanwhile. NULL is a no-op. */
void pl_drc_destroy(pl_drc *d)
{
    if (d == NULL)
        return;
    for (uint32_t i = 0; i < d->nshards; i++) {
        drc_shard *sh = &d->shards[i];
        for (uint32_t b = 0; b <= sh->mask; b++)
            while (sh->buckets[b] != NULL)
                entry_free(sh, sh->buckets[b]);
        pthread_mutex_destroy(&sh->mu);
        free(sh->buckets);
    }
    free(d->shards);
    free(d);
}

static int same_key(const pl_drc_ticket *a, const pl_drc_ticket *b)
{
    return a->hash == b->hash && a->xid == b->xid && a->prog == b->prog && a->vers == b->vers &&
           a->proc == b->proc && a->args_hash == b->args_hash && a->args_len == b->args_len &&
           a->peer_len == b->peer_len && memcmp(a->peer, b->peer, a->peer_len) == 0;
}

static drc_entry *find(drc_shard *sh, const pl_drc_ticket *k)
{
    drc_entry *e = sh->buckets[(k->hash >> 32) & sh->mask];
    while (e != NULL && !same_key(&e->key, k))
        e = e->hnext;
    return e;
}

static drc_shard *shard_of(pl_drc *d, const pl_drc_ticket *k)
{
    return &d->shards[k->hash & (d->nshards - 1)];
}

/* aged says whether the finished entry e is past its age at now. */
static int aged(const pl_drc *d, const drc_entry *e, int64_t now)
{
    return now - e->finished >= d->max_age_ns;
}

/* make_room frees finished entries from the least recently used end, aged
 * ones first met, until entries more entries and n more bytes fit in sh.
 * Entries in progress are never freed, so when even a shard holding
 * nothing else would have no room, it returns 0 before evicting anything:
 * emptying the cache could not help, and would only make every
 * retransmission of the calls it held run again. Otherwise 1, with the
 * room made. Under the lock. */
static int make_room(pl_drc *d, drc_shard *sh, size_t entries, size_t n, int64_t now)
{
    while (sh->lru != NULL && aged(d, sh->lru, now)) {
        entry_free(sh, sh->lru);
        sh->aged++;
    }
    /* what eviction cannot touch: an entry in progress costs its entry
     * alone (its reply comes with pl_drc_finish) */
    size_t fixed = sh->in_progress * sizeof(drc_entry);
    if (sh->in_progress + entries > d->max_entries || fixed > d->max_bytes ||
        n > d->max_bytes - fixed)
        return 0;
    while (sh->entries + entries > d->max_entries || sh->bytes + n > d->max_bytes) {
        if (sh->lru == NULL) /* not while the counts add up (see the check above) */
            return 0;
        entry_free(sh, sh->lru);
        sh->evictions++;
    }
    return 1;
}

/* ticket_of computes the key of call into *t. Errors: PARLEY_ERR_INVALID
 * (peer longer than PL_DRC_MAX_PEER). */
static int ticket_of(const pl_drc *d, const pl_drc_call *call, pl_drc_ticket *t)
{
    if (call->peer_len > PL_DRC_MAX_PEER)
        return PARLEY_ERR_INVALID;
    memset(t, 0, sizeof *t);
    if (call->peer_len)
        memcpy(t->peer, call->peer, call->peer_len);
    t->peer_len = (uint32_t)call->peer_len;
    t->xid = call->xid;
    t->prog = call->prog;
    t->vers = call->vers;
    t->proc = call->proc;
    t->args_hash = pl_siphash13(d->key, call->args, call->args_len);
    t->args_len = call->args_len;
    _Static_assert(offsetof(pl_drc_ticket, hash) ==
                       PL_DRC_MAX_PEER + 6 * sizeof(uint32_t) + 2 * sizeof(uint64_t),
                   "pl_drc_ticket has padding before hash");
    t->hash = pl_siphash13(d->key, t, offsetof(pl_drc_ticket, hash));
    return PARLEY_OK;
}

/* pl_drc_begin looks up call at time now and writes its key to *ticket and
 * the verdict to *verdict; for PL_DRC_REPLAY it writes a reference to the
 * recorded reply to *reply (NULL otherwise), which the caller owns and puts
 * with pl_rc_reply_put once sent. After PL_DRC_NEW the server runs the call
 * and ends it with pl_drc_finish or pl_drc_abort, passing the ticket. A call
 * that finds its shard full of calls in progress is PL_DRC_NEW_UNTRACKED.
 * Errors: PARLEY_ERR_NULL, PARLEY_ERR_INVALID (peer too long),
 * PARLEY_ERR_NOMEM (nothing recorded). The arguments are hashed before the
 * shard's lock is taken. */
int pl_drc_begin(pl_drc *d, const pl_drc_call *call, int64_t now, pl_drc_ticket *ticket,
                 pl_drc_verdict *verdict, pl_rc_reply **reply)
{
    if (d == NULL || call == NULL || ticket == NULL || verdict == NULL || reply == NULL ||
        (call->peer == NULL && call->peer_len != 0) || (call->args == NULL && call->args_len != 0))
        return PARLEY_ERR_NULL;
    pl_drc_ticket t;
    int err = ticket_of(d, call, &t);
    if (err != PARLEY_OK)
        return err;
    drc_shard *sh = shard_of(d, &t);
    pl_drc_verdict v = PL_DRC_NEW;
    pl_rc_reply *r = NULL;

    pthread_mutex_lock(&sh->mu);
    drc_entry *e = find(sh, &t);
    if (e != NULL && e->state == E_DONE && aged(d, e, now)) {
        entry_free(sh, e);
        sh->aged++;
        e = NULL;
    }
    if (e != NULL && e->state == E_IN_PROGRESS) {
        sh->dropped++;
        v = PL_DRC_IN_PROGRESS;
    } else if (e != NULL) {
        lru_unlink(sh, e);
        lru_append(sh, e);
        pl_rc_reply_get(e->reply);
        r = e->reply;
        sh->replays++;
        v = PL_DRC_REPLAY;
    } else if (!make_room(d, sh, 1, sizeof *e, now)) {
        sh->untracked++;
        v = PL_DRC_NEW_UNTRACKED;
    } else {
        e = calloc(1, sizeof *e);
        if (e == NULL) {
            pthread_mutex_unlock(&sh->mu);
            return PARLEY_ERR_NOMEM;
        }
        e->key = t;
        e->state = E_IN_PROGRESS;
        drc_entry **bucket = &sh->buckets[(t.hash >> 32) & sh->mask];
        e->hnext = *bucket;
        *bucket = e;
        sh->entries++;
        sh->in_progress++;
        sh->bytes += sizeof *e;
    }
    pthread_mutex_unlock(&sh->mu);
    *ticket = t;
    *reply = r;
    *verdict = v;
    return PARLEY_OK;
}

/* pl_drc_finish records the len bytes at reply (copied) for the call in
 * progress of ticket, at time now, from which its age counts. A ticket
 * whose entry is gone (aborted, or of an untracked call) is a no-op. When
 * the reply does not fit in the shard's bound even after evicting every
 * finished entry (beside the entries in progress), the entry is forgotten
 * (a duplicate would run again), no finished entry is evicted, and the
 * error is PARLEY_ERR_LIMIT; PARLEY_ERR_NOMEM likewise. Other errors:
 * PARLEY_ERR_NULL. The copy is made before taking the shard's lock. */
int pl_drc_finish(pl_drc *d, const pl_drc_ticket *ticket, const void *reply, size_t len,
                  int64_t now)
{
    if (d == NULL || ticket == NULL || (reply == NULL && len != 0))
        return PARLEY_ERR_NULL;
    drc_shard *sh = shard_of(d, ticket);
    pl_rc_reply *r = len <= d->max_bytes ? pl_rc_reply_new(reply, len) : NULL;
    int rv = PARLEY_OK;

    pthread_mutex_lock(&sh->mu);
    drc_entry *e = find(sh, ticket);
    if (e != NULL && e->state == E_IN_PROGRESS) {
        size_t more = r ? sizeof *r + len : 0;
        if (r == NULL || !make_room(d, sh, 0, more, now)) {
            rv = r == NULL && len <= d->max_bytes ? PARLEY_ERR_NOMEM : PARLEY_ERR_LIMIT;
            entry_free(sh, e);
        } else {
            sh->in_progress--;
            e->state = E_DONE;
            e->reply = r;
            e->finished = now;
            sh->bytes += more;
            lru_append(sh, e);
            r = NULL;
        }
    }
    pthread_mutex_unlock(&sh->mu);
    pl_rc_reply_put(r);
    return rv;
}

/* pl_drc_abort forgets the call in progress of ticket, so that a duplicate
 * runs: for a call refused before it ran. A finished call, or one gone, is
 * left alone. Errors: PARLEY_ERR_NULL. */
int pl_drc_abort(pl_drc *d, const pl_drc_ticket *ticket)
{
    if (d == NULL || ticket == NULL)
        return PARLEY_ERR_NULL;
    drc_shard *sh = shard_of(d, ticket);
    pthread_mutex_lock(&sh->mu);
    drc_entry *e = find(sh, ticket);
    if (e != NULL && e->state == E_IN_PROGRESS)
        entry_free(sh, e);
    pthread_mutex_unlock(&sh->mu);
    return PARLEY_OK;
}

/* pl_drc_stats_get writes a snapshot of d's gauges and counters to *stats,
 * taking each shard's lock in turn. A NULL d or stats is a no-op. */
void pl_drc_stats_get(pl_drc *d, pl_drc_stats *stats)
{
    pl_drc_stats s = {0};
    if (d == NULL || stats == NULL)
        return;
    for (uint32_t i = 0; i < d->nshards; i++) {
        drc_shard *sh = &d->shards[i];
        pthread_mutex_lock(&sh->mu);
        s.entries += sh->entries;
        s.in_progress += sh->in_progress;
        s.bytes += sh->bytes;
        s.replays += sh->replays;
        s.dropped += sh->dropped;
        s.untracked += sh->untracked;
        s.evictions += sh->evictions;
        s.aged += sh->aged;
        pthread_mutex_unlock(&sh->mu);
    }
    *stats = s;
}
