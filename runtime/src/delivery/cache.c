/*
 * cache.c: the server's reply cache (cache.h), the memory of which calls of
 * each identified client ran and what they answered.
 *
 * The clients live in shards chosen by SipHash of their id under a key drawn
 * at create, so that a client cannot choose ids that crowd one shard or one
 * hash chain. Each shard has its mutex, a hash table of its clients, a list
 * of them from the least recently active (for leases) and a max-heap of them
 * by the bytes of their recorded replies (for eviction). A client's calls
 * from its floor up to its highest seq sit in a ring of 16-byte slots indexed
 * by seq modulo the ring's size, a power of two that grows with the span of
 * the calls outstanding (up to the window) and shrinks when acks empty it:
 * beginning a call allocates nothing unless the ring must grow, and an ack
 * frees its replies at once.
 *
 * Two counts are global and atomic: the clients (against max_clients) and the
 * bytes (against max_bytes). A thread reserves what it is about to allocate
 * before allocating it; when the reservation fails it evicts with no lock
 * held, taking one shard's lock at a time, and tries once more.
 */
#include "delivery/cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "parley/error.h"

/* Slot states. A slot between a client's floor and its highest seq that is
 * EMPTY was never begun (or was aborted); outside that range every slot is
 * EMPTY. */
enum { SLOT_EMPTY, SLOT_RUNNING, SLOT_DONE, SLOT_EVICTED };

/* The smallest ring, which a client gets at HELLO: it can then keep 8 calls
 * outstanding without the cache allocating anything, however full it is. */
#define RING_MIN 8u

typedef struct rc_slot {
    pl_rc_reply *reply; /* when DONE */
    uint32_t state;
} rc_slot;

typedef struct rc_client {
    uint8_t id[PL_RC_ID_LEN];
    uint64_t hash;
    struct rc_client *hnext;         /* hash chain */
    struct rc_client *older, *newer; /* the shard's list by last activity */
    int64_t last;                    /* last activity, ns */
    uint64_t floor;                  /* lowest seq remembered */
    uint64_t highest;                /* highest seq begun (floor - 1 when none) */
    rc_slot *ring;                   /* cap slots, or NULL */
    uint32_t cap;
    uint32_t heap_ix;  /* position in the shard's heap */
    uint32_t running;  /* slots RUNNING */
    uint32_t done;     /* slots DONE */
    uint32_t doubt;    /* slots EVICTED */
    size_t done_bytes; /* cost of the DONE slots: the heap's key */
    size_t mem;        /* everything counted for this client */
} rc_client;

/* What a client costs at HELLO: itself and its smallest ring. */
#define CLIENT_COST (sizeof(rc_client) + RING_MIN * sizeof(rc_slot))

typedef struct rc_shard {
    _Alignas(64) pthread_mutex_t mu;
    rc_client **buckets;
    uint32_t mask; /* buckets - 1 */
    rc_client *oldest, *newest;
    rc_client **heap;
    size_t heap_len, heap_cap;
    /* Read without the lock by evictors choosing a shard, and by a HELLO
     * looking for expired clients; written under it. */
    atomic_size_t top;           /* done_bytes of the heap's top */
    _Atomic int64_t oldest_last; /* last of the oldest client, INT64_MAX if none */
    /* gauges and counters, under mu */
    size_t clients, running, done, doubt, reply_bytes;
    uint64_t begins, unknown, stale, beyond_window;
} rc_shard;

struct pl_rcache {
    size_t max_bytes;
    size_t max_pinned;
    uint32_t max_clients;
    uint32_t window;
    int64_t lease_ns;
    uint32_t nshards; /* a power of two */
    uint32_t expire_batch;
    uint64_t key[2];
    atomic_size_t bytes;  /* everything, against max_bytes */
    atomic_size_t pinned; /* clients and rings, against max_pinned */
    atomic_uint nclients;
    atomic_uint cursor; /* where the next sweep starts */
    atomic_uint_fast64_t hellos, hello_refused, busy, evictions, evicted_bytes, expired;
    rc_shard *shards;
};

/* ---- hashing -------------------------------------------------------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

/* pl_siphash13 is SipHash-1-3 of the len bytes at data under key: a keyed
 * hash that a peer who does not know the key cannot steer into collisions.
 * The reply cache hashes client ids with it, the duplicate request cache
 * (drc.c) its keys and the calls' arguments. */
uint64_t pl_siphash13(const uint64_t key[2], const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t v0 = 0x736f6d6570736575ULL ^ key[0];
    uint64_t v1 = 0x646f72616e646f6dULL ^ key[1];
    uint64_t v2 = 0x6c7967656e657261ULL ^ key[0];
    uint64_t v3 = 0x7465646279746573ULL ^ key[1];
    size_t whole = len & ~(size_t)7;

    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = 0;
        for (int k = 7; k >= 0; k--)
            m = m << 8 | p[i + (size_t)k];
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t k = 0; k < (len & 7); k++)
        b |= (uint64_t)p[whole + k] << (8 * k);
    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* pl_random_key fills key with random bits from the kernel. Should the
 * kernel have none to give (no getrandom, a seccomp filter), it falls back
 * to the clock, the process id and an address, which an attacker on the
 * network can hardly guess, and returns PARLEY_ERR_IO so that a caller that
 * cares can tell; the key is usable either way. */
int pl_random_key(uint64_t key[2])
{
    uint64_t k[2];
    if (getrandom(k, sizeof k, 0) == (ssize_t)sizeof k) {
        memcpy(key, k, sizeof k);
        return PARLEY_OK;
    }
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    clock_gettime(CLOCK_REALTIME, &b);
    uint64_t seed[4] = {(uint64_t)a.tv_sec * 1000000000u + (uint64_t)a.tv_nsec,
                        (uint64_t)b.tv_sec * 1000000000u + (uint64_t)b.tv_nsec, (uint64_t)getpid(),
                        (uint64_t)(uintptr_t)&a};
    const uint64_t zero[2] = {0x5bd1e9955bd1e995ULL, 0x27d4eb2f165667c5ULL};
    key[0] = pl_siphash13(zero, seed, sizeof seed);
    seed[0] ^= key[0];
    key[1] = pl_siphash13(zero, seed, sizeof seed);
    return PARLEY_ERR_IO;
}

/* ---- replies -------------------------------------------------------- */

/* pl_rc_reply_new copies len bytes of data into a new reply holding one
 * reference, which the caller owns. NULL when out of memory. */
pl_rc_reply *pl_rc_reply_new(const void *data, size_t len)
{
    if (len > SIZE_MAX - sizeof(pl_rc_reply))
        return NULL;
    pl_rc_reply *r = malloc(sizeof *r + len);
    if (r == NULL)
        return NULL;
    atomic_init(&r->refs, 1);
    r->len = len;
    if (len)
        memcpy(r->data, data, len);
    return r;
}

/* pl_rc_reply_get takes another reference to r, for a holder that already
 * has one (or holds the lock of the cache that has one). */
void pl_rc_reply_get(pl_rc_reply *r)
{
    atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
}

/* pl_rc_reply_put gives back a reference to r, freeing it with the last
 * one. The decrement is a release (every holder's reads of r come before
 * it) and an acquire (the free comes after all of them); a separate acquire
 * fence would do on the hardware, but ThreadSanitizer does not see fences.
 * NULL is a no-op. */
void pl_rc_reply_put(pl_rc_reply *r)
{
    if (r == NULL)
        return;
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1)
        free(r);
}

/* ---- memory accounting ---------------------------------------------- */

/* reserve_on adds n to *count unless that would pass max, and says whether
 * it did. */
static int reserve_on(atomic_size_t *count, size_t max, size_t n)
{
    size_t cur = atomic_load_explicit(count, memory_order_relaxed);
    do {
        if (n > max || cur > max - n)
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(count, &cur, cur + n, memory_order_relaxed,
                                                    memory_order_relaxed));
    return 1;
}

/* reserve counts n more bytes against the cap, or returns 0 and counts
 * nothing when they do not fit. */
static int reserve(pl_rcache *rc, size_t n)
{
    return reserve_on(&rc->bytes, rc->max_bytes, n);
}

static void unreserve(pl_rcache *rc, size_t n)
{
    atomic_fetch_sub_explicit(&rc->bytes, n, memory_order_relaxed);
}

/* Memory that eviction cannot free (clients, and the rings that hold calls
 * running) is pinned. It may take at most max_pinned bytes of the cap, half
 * by default, so that the other half is always left to replies: a reply of
 * up to that size can always be kept by evicting older ones, and clients
 * holding calls open cannot squeeze the replies of others out. */
enum { PIN_OK, PIN_FULL, PIN_CAP };

/* pin reserves n pinned bytes, both against max_pinned and the cap. Returns
 * PIN_OK, PIN_FULL (max_pinned reached: eviction cannot help) or PIN_CAP (the
 * cap reached: evicting replies can help), having reserved nothing. */
static int pin(pl_rcache *rc, size_t n)
{
    if (!reserve_on(&rc->pinned, rc->max_pinned, n))
        return PIN_FULL;
    if (!reserve(rc, n)) {
        atomic_fetch_sub_explicit(&rc->pinned, n, memory_order_relaxed);
        return PIN_CAP;
    }
    return PIN_OK;
}

static void unpin(pl_rcache *rc, size_t n)
{
    atomic_fetch_sub_explicit(&rc->pinned, n, memory_order_relaxed);
    unreserve(rc, n);
}

/* reply_cost is what a reply of len bytes counts against the cap, or 0 when
 * it could never fit. */
static size_t reply_cost(const pl_rcache *rc, size_t len)
{
    if (len > rc->max_bytes - sizeof(pl_rc_reply) || sizeof(pl_rc_reply) > rc->max_bytes)
        return 0;
    return sizeof(pl_rc_reply) + len;
}

/* ---- the shard's heap of clients by reply bytes ----------------------- */

static void heap_swap(rc_shard *sh, size_t a, size_t b)
{
    rc_client *t = sh->heap[a];
    sh->heap[a] = sh->heap[b];
    sh->heap[b] = t;
    sh->heap[a]->heap_ix = (uint32_t)a;
    sh->heap[b]->heap_ix = (uint32_t)b;
}

/* heap_fix restores the heap's order after the key of the client at i
 * changed, and republishes the top for evictors. Under the shard's lock. */
static void heap_fix(rc_shard *sh, size_t i)
{
    while (i > 0 && sh->heap[(i - 1) / 2]->done_bytes < sh->heap[i]->done_bytes) {
        heap_swap(sh, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < sh->heap_len && sh->heap[l]->done_bytes > sh->heap[m]->done_bytes)
            m = l;
        if (r < sh->heap_len && sh->heap[r]->done_bytes > sh->heap[m]->done_bytes)
            m = r;
        if (m == i)
            break;
        heap_swap(sh, i, m);
        i = m;
    }
    atomic_store_explicit(&sh->top, sh->heap_len ? sh->heap[0]->done_bytes : 0,
                          memory_order_relaxed);
}

static void heap_remove(rc_shard *sh, rc_client *c)
{
    size_t i = c->heap_ix, last = sh->heap_len - 1;
    if (i != last)
        heap_swap(sh, i, last);
    sh->heap_len--;
    if (i < sh->heap_len)
        heap_fix(sh, i);
    else
        atomic_store_explicit(&sh->top, sh->heap_len ? sh->heap[0]->done_bytes : 0,
                              memory_order_relaxed);
}

/* ---- the shard's list by last activity -------------------------------- */

static void publish_oldest(rc_shard *sh)
{
    atomic_store_explicit(&sh->oldest_last, sh->oldest ? sh->oldest->last : INT64_MAX,
                          memory_order_relaxed);
}

static void list_unlink(rc_shard *sh, rc_client *c)
{
    if (c->older)
        c->older->newer = c->newer;
    else
        sh->oldest = c->newer;
    if (c->newer)
        c->newer->older = c->older;
    else
        sh->newest = c->older;
    c->older = c->newer = NULL;
}

static void list_append(rc_shard *sh, rc_client *c)
{
    c->older = sh->newest;
    c->newer = NULL;
    if (sh->newest)
        sh->newest->newer = c;
    else
        sh->oldest = c;
    sh->newest = c;
}

/* touch records activity of c at now and makes it the shard's newest. A now
 * older than c's last activity (threads read the clock in turn) keeps the
 * later time, so the list stays nearly sorted. */
static void touch(rc_shard *sh, rc_client *c, int64_t now)
{
    if (now > c->last)
        c->last = now;
    if (sh->newest != c) {
        list_unlink(sh, c);
        list_append(sh, c);
    }
    publish_oldest(sh);
}

/* ---- clients ---------------------------------------------------------- */

static rc_shard *shard_of(pl_rcache *rc, uint64_t h)
{
    return &rc->shards[h & (rc->nshards - 1)];
}

static rc_client *find(rc_shard *sh, const uint8_t *id, uint64_t h)
{
    rc_client *c = sh->buckets[(h >> 32) & sh->mask];
    while (c != NULL && (c->hash != h || memcmp(c->id, id, PL_RC_ID_LEN) != 0))
        c = c->hnext;
    return c;
}

static rc_slot *slot_of(const rc_client *c, uint64_t seq)
{
    return &c->ring[seq & (c->cap - 1)];
}

/* in_span says whether seq lies between c's floor and its highest seq, where
 * its ring has a slot for it. */
static int in_span(const rc_client *c, uint64_t seq)
{
    return c->cap != 0 && seq >= c->floor && seq <= c->highest;
}

/* slot_clear forgets the call in s, freeing its reply. Under the lock. */
static void slot_clear(pl_rcache *rc, rc_shard *sh, rc_client *c, rc_slot *s)
{
    switch (s->state) {
    case SLOT_RUNNING:
        c->running--;
        sh->running--;
        break;
    case SLOT_DONE: {
        size_t cost = sizeof(pl_rc_reply) + s->reply->len;
        c->done--;
        sh->done--;
        c->done_bytes -= cost;
        c->mem -= cost;
        sh->reply_bytes -= s->reply->len;
        unreserve(rc, cost);
        pl_rc_reply_put(s->reply);
        break;
    }
    case SLOT_EVICTED:
        c->doubt--;
        sh->doubt--;
        break;
    default:
        break;
    }
    s->reply = NULL;
    s->state = SLOT_EMPTY;
}

/* ring_resize moves c's slots from floor to highest into a new ring of cap
 * slots (a power of two not less than their span). The caller has counted
 * the difference in bytes. Errors: PARLEY_ERR_NOMEM, c unchanged. */
static int ring_resize(rc_client *c, uint32_t cap)
{
    rc_slot *nr = calloc(cap, sizeof *nr);
    if (nr == NULL)
        return PARLEY_ERR_NOMEM;
    /* counted, not compared with highest: highest may be UINT64_MAX, and
     * the span is bounded by the window */
    if (c->cap != 0 && c->highest >= c->floor)
        for (uint64_t k = 0, span = c->highest - c->floor; k <= span; k++)
            nr[(c->floor + k) & (cap - 1)] = *slot_of(c, c->floor + k);
    free(c->ring);
    c->ring = nr;
    c->cap = cap;
    return PARLEY_OK;
}

static uint32_t pow2_at_least(uint64_t n)
{
    uint32_t p = RING_MIN;
    while (p < n)
        p <<= 1;
    return p;
}

/* maybe_shrink halves c's ring, or more, when the calls outstanding use a
 * quarter of it or less, so that the memory of a burst goes back once it is
 * acknowledged. A failed allocation keeps the larger ring. */
static void maybe_shrink(pl_rcache *rc, rc_client *c)
{
    uint64_t span = c->highest >= c->floor ? c->highest - c->floor + 1 : 0;
    if (c->cap <= RING_MIN || span * 4 > c->cap)
        return;
    uint32_t cap = pow2_at_least(span * 2);
    uint32_t old = c->cap;
    if (ring_resize(c, cap) == PARLEY_OK) {
        size_t freed = (size_t)(old - cap) * sizeof(rc_slot);
        c->mem -= freed;
        unpin(rc, freed);
    }
}

/* apply_ack moves c's floor up to ack, forgetting the calls below it, once
 * ack is clamped to the highest seq begun plus one (an ack is believed only
 * as far as the cache has seen). A lower ack changes nothing. Under the
 * lock. */
static void apply_ack(pl_rcache *rc, rc_shard *sh, rc_client *c, uint64_t ack)
{
    uint64_t lim = c->highest == UINT64_MAX ? UINT64_MAX : c->highest + 1;
    if (ack > lim)
        ack = lim;
    if (ack <= c->floor)
        return;
    size_t had = c->done_bytes;
    for (uint64_t s = c->floor; s < ack; s++)
        slot_clear(rc, sh, c, slot_of(c, s));
    c->floor = ack;
    if (c->done_bytes != had)
        heap_fix(sh, c->heap_ix);
    maybe_shrink(rc, c);
}

/* client_free unlinks c from its shard and frees it with all its calls and
 * replies. Under the shard's lock. */
static void client_free(pl_rcache *rc, rc_shard *sh, rc_client *c)
{
    rc_client **pp = &sh->buckets[(c->hash >> 32) & sh->mask];
    while (*pp != c)
        pp = &(*pp)->hnext;
    *pp = c->hnext;
    list_unlink(sh, c);
    publish_oldest(sh);
    heap_remove(sh, c);
    if (c->cap != 0 && c->highest >= c->floor)
        for (uint64_t k = 0, span = c->highest - c->floor; k <= span; k++)
            slot_clear(rc, sh, c, slot_of(c, c->floor + k));
    free(c->ring);
    unpin(rc, c->mem); /* with the replies gone, what is left is pinned */
    sh->clients--;
    atomic_fetch_sub_explicit(&rc->nclients, 1, memory_order_relaxed);
    free(c);
}

/* reclaim frees up to *budget of sh's clients whose lease ran out at now,
 * oldest first; a client with calls running is not idle, and is moved to
 * the newest end with its lease restarted. Returns how many were freed.
 * Under the shard's lock. */
static size_t reclaim(pl_rcache *rc, rc_shard *sh, int64_t now, size_t *budget)
{
    size_t freed = 0;
    while (*budget > 0 && sh->oldest != NULL && now - sh->oldest->last >= rc->lease_ns) {
        rc_client *c = sh->oldest;
        (*budget)--;
        if (c->running) {
            touch(sh, c, now);
            continue;
        }
        client_free(rc, sh, c);
        freed++;
    }
    if (freed)
        atomic_fetch_add_explicit(&rc->expired, freed, memory_order_relaxed);
    return freed;
}

/* sweep reclaims expired clients across the shards, starting where the last
 * sweep stopped, examining at most expire_batch clients; shards whose oldest
 * client is not expired are passed without taking their lock. Takes each
 * shard's lock in turn; the caller holds none. */
static size_t sweep(pl_rcache *rc, int64_t now)
{
    size_t budget = rc->expire_batch, freed = 0;
    unsigned start = atomic_fetch_add_explicit(&rc->cursor, 1, memory_order_relaxed);
    for (uint32_t i = 0; i < rc->nshards && budget > 0; i++) {
        rc_shard *sh = &rc->shards[(start + i) & (rc->nshards - 1)];
        int64_t oldest = atomic_load_explicit(&sh->oldest_last, memory_order_relaxed);
        if (oldest == INT64_MAX || now - oldest < rc->lease_ns)
            continue;
        pthread_mutex_lock(&sh->mu);
        freed += reclaim(rc, sh, now, &budget);
        pthread_mutex_unlock(&sh->mu);
    }
    return freed;
}

/* ---- eviction --------------------------------------------------------- */

/* evict_one evicts the lowest recorded reply of the client of sh whose
 * replies take the most bytes, leaving a tombstone so that its
 * retransmission is IN_DOUBT. Returns 0 when sh has none. Under the lock. */
static int evict_one(pl_rcache *rc, rc_shard *sh)
{
    if (sh->heap_len == 0 || sh->heap[0]->done_bytes == 0)
        return 0;
    rc_client *c = sh->heap[0];
    if (c->highest < c->floor)
        return 0;
    for (uint64_t k = 0, span = c->highest - c->floor; k <= span; k++) {
        rc_slot *sl = slot_of(c, c->floor + k);
        if (sl->state != SLOT_DONE)
            continue;
        size_t cost = sizeof(pl_rc_reply) + sl->reply->len;
        slot_clear(rc, sh, c, sl);
        sl->state = SLOT_EVICTED;
        c->doubt++;
        sh->doubt++;
        heap_fix(sh, c->heap_ix);
        atomic_fetch_add_explicit(&rc->evictions, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&rc->evicted_bytes, cost, memory_order_relaxed);
        return 1;
    }
    return 0; /* not reached: done_bytes > 0 means a DONE slot */
}

/* make_room evicts replies until n more bytes fit under the cap, choosing
 * each time the shard whose top client holds the most reply bytes. Returns 0
 * when nothing more can be evicted. The caller holds no lock; this takes one
 * shard's at a time. */
static int make_room(pl_rcache *rc, size_t n)
{
    unsigned misses = 0;
    if (n > rc->max_bytes)
        return 0;
    while (atomic_load_explicit(&rc->bytes, memory_order_relaxed) > rc->max_bytes - n) {
        rc_shard *best = NULL;
        size_t most = 0;
        for (uint32_t i = 0; i < rc->nshards; i++) {
            size_t t = atomic_load_explicit(&rc->shards[i].top, memory_order_relaxed);
            if (t > most) {
                most = t;
                best = &rc->shards[i];
            }
        }
        if (best == NULL)
            return 0;
        pthread_mutex_lock(&best->mu);
        int got = evict_one(rc, best);
        pthread_mutex_unlock(&best->mu);
        if (!got && ++misses > rc->nshards)
            return 0; /* others keep taking what we free */
    }
    return 1;
}

/* reserve_evicting reserves n bytes, evicting once to make room. */
static int reserve_evicting(pl_rcache *rc, size_t n)
{
    return reserve(rc, n) || (make_room(rc, n) && reserve(rc, n));
}

/* ---- create and destroy ----------------------------------------------- */

/* pl_rcache_create makes a cache with opts (NULL: the defaults) and writes
 * it to *out; the caller owns it and frees it with pl_rcache_destroy. The
 * hash tables, about 8 bytes per client of max_clients, are allocated here
 * and not counted against max_bytes. Errors: PARLEY_ERR_NULL,
 * PARLEY_ERR_INVALID (a setting over its PL_RCACHE_*_LIMIT or a cap too
 * small for one client), PARLEY_ERR_NOMEM. */
int pl_rcache_create(pl_rcache **out, const pl_rcache_opts *opts)
{
    pl_rcache_opts o = {0};
    if (out == NULL)
        return PARLEY_ERR_NULL;
    if (opts != NULL)
        o = *opts;
    if (o.max_bytes == 0)
        o.max_bytes = PL_RCACHE_DEFAULT_MAX_BYTES;
    if (o.max_clients == 0)
        o.max_clients = PL_RCACHE_DEFAULT_MAX_CLIENTS;
    if (o.window == 0)
        o.window = PL_RCACHE_DEFAULT_WINDOW;
    if (o.max_pinned == 0)
        o.max_pinned = o.max_bytes / 2;
    if (o.lease_ms == 0)
        o.lease_ms = PL_RCACHE_DEFAULT_LEASE_MS;
    if (o.shards == 0)
        o.shards = PL_RCACHE_DEFAULT_SHARDS;
    if (o.expire_batch == 0)
        o.expire_batch = PL_RCACHE_DEFAULT_EXPIRE_BATCH;
    if (o.max_clients > PL_RCACHE_MAX_CLIENTS_LIMIT || o.window > PL_RCACHE_MAX_WINDOW ||
        o.shards > PL_RCACHE_MAX_SHARDS || o.max_pinned > o.max_bytes || o.max_pinned < CLIENT_COST)
        return PARLEY_ERR_INVALID;

    uint32_t nshards = 1;
    while (nshards < o.shards)
        nshards <<= 1;
    uint32_t per = 4;
    while (per < o.max_clients / nshards)
        per <<= 1;

    pl_rcache *rc = calloc(1, sizeof *rc);
    if (rc == NULL)
        return PARLEY_ERR_NOMEM;
    rc->max_bytes = o.max_bytes;
    rc->max_pinned = o.max_pinned;
    rc->max_clients = o.max_clients;
    rc->window = o.window;
    rc->lease_ns = (int64_t)o.lease_ms * 1000000;
    rc->nshards = nshards;
    rc->expire_batch = o.expire_batch;
    (void)pl_random_key(rc->key); /* a weaker key still works */
    rc->shards = aligned_alloc(_Alignof(rc_shard), sizeof(rc_shard) * nshards);
    if (rc->shards == NULL)
        goto fail;
    uint32_t made = 0;
    for (; made < nshards; made++) {
        rc_shard *sh = &rc->shards[made];
        memset(sh, 0, sizeof *sh);
        sh->buckets = calloc(per, sizeof *sh->buckets);
        if (sh->buckets == NULL || pthread_mutex_init(&sh->mu, NULL) != 0) {
            free(sh->buckets);
            goto fail_shards;
        }
        sh->mask = per - 1;
        atomic_init(&sh->top, 0);
        atomic_init(&sh->oldest_last, INT64_MAX);
    }
    *out = rc;
    return PARLEY_OK;

fail_shards:
    while (made-- > 0) {
        pthread_mutex_destroy(&rc->shards[made].mu);
        free(rc->shards[made].buckets);
    }
    free(rc->shards);
fail:
    free(rc);
    return PARLEY_ERR_NOMEM;
}

/* pl_rcache_destroy frees rc and everything in it. Replies handed out by
 * pl_rcache_begin stay valid until their holders put them. No other thread
 * may use rc during or after the call. NULL is a no-op. */
void pl_rcache_destroy(pl_rcache *rc)
{
    if (rc == NULL)
        return;
    for (uint32_t i = 0; i < rc->nshards; i++) {
        rc_shard *sh = &rc->shards[i];
        while (sh->oldest != NULL)
            client_free(rc, sh, sh->oldest);
        pthread_mutex_destroy(&sh->mu);
        free(sh->buckets);
        free(sh->heap);
    }
    free(rc->shards);
    free(rc);
}

/* ---- HELLO ------------------------------------------------------------ */

/* reserve_client counts one more client against max_clients, or returns 0. */
static int reserve_client(pl_rcache *rc)
{
    unsigned n = atomic_load_explicit(&rc->nclients, memory_order_relaxed);
    do {
        if (n >= rc->max_clients)
            return 0;
    } while (!atomic_compare_exchange_weak_explicit(&rc->nclients, &n, n + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    return 1;
}

/* hello_known handles a HELLO from a client already known: its lease
 * restarts and first_seq counts as an ack. Under the lock. */
static void hello_known(pl_rcache *rc, rc_shard *sh, rc_client *c, uint64_t first_seq, int64_t now)
{
    touch(sh, c, now);
    /* only over calls never begun: another thread of the client may be
     * sending one that is running or done, whose copies must still find
     * it (the HELLO's number is the client's next, not an acknowledgement
     * of what is in flight) */
    uint64_t to = c->floor;
    while (to < first_seq && c->highest >= c->floor && to <= c->highest &&
           slot_of(c, to)->state == SLOT_EMPTY)
        to++;
    if (c->highest < c->floor || to > c->highest)
        to = first_seq; /* nothing begun from there up */
    apply_ack(rc, sh, c, to < first_seq ? to : first_seq);
}

/* pl_rcache_hello creates the state of the client id, whose next call will
 * have sequence number first_seq (0 is taken as 1): calls below it are
 * STALE, so that a delayed duplicate of a call sent before a HELLO (one the
 * client now holds in doubt) can never run. A HELLO from a known client
 * (a retransmission, or another thread of the client) keeps its state,
 * restarts its lease and moves its floor up to first_seq only over calls
 * never begun: one running or done stays, for its copies.
 *
 * When max_clients clients are known, expired clients are reclaimed first;
 * if none are, the HELLO is refused (*result PL_RC_HELLO_BUSY) and no live
 * client is evicted. The same when the memory cap leaves no room for the
 * client after eviction of replies. Errors: PARLEY_ERR_NULL,
 * PARLEY_ERR_NOMEM. Takes the id's shard's lock, and others' one at a time
 * when it reclaims or evicts. */
int pl_rcache_hello(pl_rcache *rc, const uint8_t id[PL_RC_ID_LEN], uint64_t first_seq, int64_t now,
                    pl_rc_hello *result)
{
    if (rc == NULL || id == NULL || result == NULL)
        return PARLEY_ERR_NULL;
    if (first_seq == 0)
        first_seq = 1;
    uint64_t h = pl_siphash13(rc->key, id, PL_RC_ID_LEN);
    rc_shard *sh = shard_of(rc, h);

    pthread_mutex_lock(&sh->mu);
    rc_client *c = find(sh, id, h);
    if (c != NULL) {
        hello_known(rc, sh, c, first_seq, now);
        pthread_mutex_unlock(&sh->mu);
        *result = PL_RC_HELLO_KNOWN;
        return PARLEY_OK;
    }
    pthread_mutex_unlock(&sh->mu);

    /* room in the table and in pinned memory, or else expired clients
     * reclaimed to make it, or else a refusal */
    for (int swept = 0;; swept = 1) {
        if (reserve_client(rc)) {
            int pinned = pin(rc, CLIENT_COST);
            if (pinned == PIN_CAP && make_room(rc, CLIENT_COST))
                pinned = pin(rc, CLIENT_COST);
            if (pinned == PIN_OK)
                break;
            atomic_fetch_sub_explicit(&rc->nclients, 1, memory_order_relaxed);
        }
        if (swept || sweep(rc, now) == 0) {
            atomic_fetch_add_explicit(&rc->hello_refused, 1, memory_order_relaxed);
            *result = PL_RC_HELLO_BUSY;
            return PARLEY_OK;
        }
    }
    c = calloc(1, sizeof *c);
    if (c == NULL || (c->ring = calloc(RING_MIN, sizeof *c->ring)) == NULL)
        goto fail;
    memcpy(c->id, id, PL_RC_ID_LEN);
    c->hash = h;
    c->cap = RING_MIN;
    c->floor = first_seq;
    c->highest = first_seq - 1;
    c->last = now;
    c->mem = CLIENT_COST;

    pthread_mutex_lock(&sh->mu);
    rc_client *other = find(sh, id, h);
    if (other != NULL) { /* a HELLO of the same client in another thread won */
        hello_known(rc, sh, other, first_seq, now);
        pthread_mutex_unlock(&sh->mu);
        free(c->ring);
        free(c);
        unpin(rc, CLIENT_COST);
        atomic_fetch_sub_explicit(&rc->nclients, 1, memory_order_relaxed);
        *result = PL_RC_HELLO_KNOWN;
        return PARLEY_OK;
    }
    if (sh->heap_len == sh->heap_cap) {
        size_t cap = sh->heap_cap ? sh->heap_cap * 2 : 16;
        rc_client **nh = realloc(sh->heap, cap * sizeof *nh);
        if (nh == NULL) {
            pthread_mutex_unlock(&sh->mu);
            goto fail;
        }
        sh->heap = nh;
        sh->heap_cap = cap;
    }
    rc_client **bucket = &sh->buckets[(h >> 32) & sh->mask];
    c->hnext = *bucket;
    *bucket = c;
    list_append(sh, c);
    if (sh->oldest == c)
        publish_oldest(sh);
    c->heap_ix = (uint32_t)sh->heap_len;
    sh->heap[sh->heap_len++] = c;
    heap_fix(sh, c->heap_ix);
    sh->clients++;
    pthread_mutex_unlock(&sh->mu);
    atomic_fetch_add_explicit(&rc->hellos, 1, memory_order_relaxed);
    *result = PL_RC_HELLO_CREATED;
    return PARLEY_OK;

fail:
    if (c != NULL)
        free(c->ring);
    free(c);
    unpin(rc, CLIENT_COST);
    atomic_fetch_sub_explicit(&rc->nclients, 1, memory_order_relaxed);
    return PARLEY_ERR_NOMEM;
}

/* ---- calls ------------------------------------------------------------ */

/* begin_locked classifies call seq of c after applying its ack, under the
 * shard's lock. When the call is NEW and c's ring must grow first but cannot,
 * it sets *v to PL_RC_BUSY and *need to what the growth must pin: the caller
 * makes room without the lock (evicting replies when *need_cap, reclaiming
 * expired clients otherwise) and tries again. Errors: PARLEY_ERR_NOMEM. */
static int begin_locked(pl_rcache *rc, rc_shard *sh, rc_client *c, uint64_t seq, uint64_t ack,
                        int64_t now, pl_rc_verdict *v, pl_rc_reply **reply, size_t *need,
                        int *need_cap)
{
    *v = PL_RC_BUSY;
    touch(sh, c, now);
    apply_ack(rc, sh, c, ack < seq ? ack : seq); /* a call does not acknowledge itself */
    if (seq < c->floor) {
        sh->stale++;
        *v = PL_RC_STALE;
        return PARLEY_OK;
    }
    if (seq - c->floor >= rc->window) {
        sh->beyond_window++;
        *v = PL_RC_BEYOND_WINDOW;
        return PARLEY_OK;
    }
    if (in_span(c, seq)) {
        rc_slot *s = slot_of(c, seq);
        switch (s->state) {
        case SLOT_RUNNING:
            *v = PL_RC_RUNNING;
            return PARLEY_OK;
        case SLOT_DONE:
            pl_rc_reply_get(s->reply);
            *reply = s->reply;
            *v = PL_RC_DONE;
            return PARLEY_OK;
        case SLOT_EVICTED:
            *v = PL_RC_IN_DOUBT;
            return PARLEY_OK;
        default:
            break; /* never begun, or aborted: NEW */
        }
    } else if (seq - c->floor + 1 > c->cap) {
        uint32_t cap = pow2_at_least(seq - c->floor + 1);
        size_t more = (size_t)(cap - c->cap) * sizeof(rc_slot);
        int pinned = pin(rc, more);
        if (pinned != PIN_OK) {
            *need = more;
            *need_cap = pinned == PIN_CAP;
            return PARLEY_OK;
        }
        if (ring_resize(c, cap) != PARLEY_OK) {
            unpin(rc, more);
            return PARLEY_ERR_NOMEM;
        }
        c->mem += more;
    }
    if (seq > c->highest)
        c->highest = seq;
    slot_of(c, seq)->state = SLOT_RUNNING;
    c->running++;
    sh->running++;
    *v = PL_RC_NEW;
    return PARLEY_OK;
}

/* pl_rcache_begin looks up the call seq (> 0) of the client id, carrying
 * ack, at time now, after freeing the client's calls below ack (see
 * cache.h). It writes the verdict to *verdict and, for PL_RC_DONE, a
 * reference to the recorded reply to *reply (NULL otherwise), which the
 * caller owns and gives back with pl_rc_reply_put once sent: the reply stays
 * valid however the cache changes meanwhile. After PL_RC_NEW the caller runs
 * the call and must end it with pl_rcache_finish or pl_rcache_abort.
 *
 * A NEW call whose client's ring must grow counts the growth against the
 * cap; when even eviction leaves no room, the verdict is PL_RC_BUSY and
 * nothing is recorded. Errors: PARLEY_ERR_NULL, PARLEY_ERR_INVALID (seq 0),
 * PARLEY_ERR_NOMEM (nothing recorded). Takes the id's shard's lock, and
 * releases it before evicting from others. */
int pl_rcache_begin(pl_rcache *rc, const uint8_t id[PL_RC_ID_LEN], uint64_t seq, uint64_t ack,
                    int64_t now, pl_rc_verdict *verdict, pl_rc_reply **reply)
{
    if (rc == NULL || id == NULL || verdict == NULL || reply == NULL)
        return PARLEY_ERR_NULL;
    if (seq == 0)
        return PARLEY_ERR_INVALID;
    uint64_t h = pl_siphash13(rc->key, id, PL_RC_ID_LEN);
    rc_shard *sh = shard_of(rc, h);
    pl_rc_verdict v = PL_RC_BUSY;
    pl_rc_reply *r = NULL;

    for (int attempt = 0;; attempt++) {
        size_t need = 0;
        int need_cap = 0;
        pthread_mutex_lock(&sh->mu);
        rc_client *c = find(sh, id, h);
        if (c == NULL) {
            sh->unknown++;
            pthread_mutex_unlock(&sh->mu);
            v = PL_RC_UNKNOWN_CLIENT;
            break;
        }
        if (attempt == 0)
            sh->begins++;
        int err = begin_locked(rc, sh, c, seq, ack, now, &v, &r, &need, &need_cap);
        pthread_mutex_unlock(&sh->mu);
        if (err != PARLEY_OK)
            return err;
        if (need != 0 && attempt == 0 && (need_cap ? make_room(rc, need) : sweep(rc, now) > 0))
            continue;
        if (v == PL_RC_BUSY)
            atomic_fetch_add_explicit(&rc->busy, 1, memory_order_relaxed);
        break;
    }
    *reply = r;
    *verdict = v;
    return PARLEY_OK;
}

/* pl_rcache_finish records the len bytes at reply (copied) as the reply to
 * the RUNNING call seq of the client id, which becomes DONE, at time now.
 * When the call is no longer RUNNING (its client was reclaimed, or it was
 * acknowledged or aborted meanwhile) nothing is recorded, and that is not an
 * error.
 *
 * When the reply cannot be kept, the call is recorded IN_DOUBT, so that its
 * retransmissions are never run again, and the error says why:
 * PARLEY_ERR_LIMIT (no room under the cap, even after eviction) or
 * PARLEY_ERR_NOMEM. The server sends its reply either way. Other errors:
 * PARLEY_ERR_NULL. The copy is made before taking the id's shard's lock;
 * eviction takes other shards' locks one at a time, holding none. */
int pl_rcache_finish(pl_rcache *rc, const uint8_t id[PL_RC_ID_LEN], uint64_t seq, const void *reply,
                     size_t len, int64_t now)
{
    if (rc == NULL || id == NULL || (reply == NULL && len != 0))
        return PARLEY_ERR_NULL;
    uint64_t h = pl_siphash13(rc->key, id, PL_RC_ID_LEN);
    rc_shard *sh = shard_of(rc, h);
    size_t cost = reply_cost(rc, len);
    int err = PARLEY_ERR_LIMIT, counted = 0;
    pl_rc_reply *r = NULL;
    if (cost != 0) {
        r = pl_rc_reply_new(reply, len);
        if (r == NULL)
            err = PARLEY_ERR_NOMEM;
        else
            counted = reserve_evicting(rc, cost);
    }

    int rv = PARLEY_OK;
    pthread_mutex_lock(&sh->mu);
    rc_client *c = find(sh, id, h);
    if (c != NULL && in_span(c, seq) && slot_of(c, seq)->state == SLOT_RUNNING) {
        rc_slot *s = slot_of(c, seq);
        c->running--;
        sh->running--;
        if (counted) {
            s->state = SLOT_DONE;
            s->reply = r;
            c->done++;
            sh->done++;
            c->done_bytes += cost;
            c->mem += cost;
            sh->reply_bytes += len;
            heap_fix(sh, c->heap_ix);
            r = NULL;
            counted = 0;
        } else {
            s->state = SLOT_EVICTED;
            c->doubt++;
            sh->doubt++;
            atomic_fetch_add_explicit(&rc->evictions, 1, memory_order_relaxed);
            rv = err;
        }
        touch(sh, c, now);
    }
    pthread_mutex_unlock(&sh->mu);
    if (counted)
        unreserve(rc, cost);
    pl_rc_reply_put(r);
    return rv;
}

/* pl_rcache_abort forgets the RUNNING call seq of the client id, so that a
 * retransmission is NEW and runs. The server may use it only when the call
 * did not run and left no effect: refused before it was dispatched (its
 * arguments did not decode, the server is shutting down, the procedure was
 * refused before running). A call that ran, even one that failed, is ended
 * with pl_rcache_finish and the reply that was sent. Anything else (no such
 * client or call) is a no-op. Errors: PARLEY_ERR_NULL. Takes the id's
 * shard's lock. */
int pl_rcache_abort(pl_rcache *rc, const uint8_t id[PL_RC_ID_LEN], uint64_t seq)
{
    if (rc == NULL || id == NULL)
        return PARLEY_ERR_NULL;
    uint64_t h = pl_siphash13(rc->key, id, PL_RC_ID_LEN);
    rc_shard *sh = shard_of(rc, h);
    pthread_mutex_lock(&sh->mu);
    rc_client *c = find(sh, id, h);
    if (c != NULL && in_span(c, seq) && slot_of(c, seq)->state == SLOT_RUNNING) {
        slot_clear(rc, sh, c, slot_of(c, seq));
        /* calls never begun at the top are as if never seen: the window of
         * a call refused far ahead goes back */
        while (c->highest >= c->floor && slot_of(c, c->highest)->state == SLOT_EMPTY)
            c->highest--;
        maybe_shrink(rc, c);
    }
    pthread_mutex_unlock(&sh->mu);
    return PARLEY_OK;
}

/* pl_rcache_expire reclaims clients idle for lease_ms or more at now (not
 * those with calls running), with all their memory, examining at most
 * expire_batch clients, so that a server can call it from a timer without
 * stalling; successive calls go round the shards. Returns how many were
 * reclaimed. Takes each shard's lock in turn. */
size_t pl_rcache_expire(pl_rcache *rc, int64_t now)
{
    return rc == NULL ? 0 : sweep(rc, now);
}

/* pl_rcache_stats_get writes a snapshot of rc's gauges and counters to
 * *stats, taking each shard's lock in turn. A NULL rc or stats is a no-op. */
void pl_rcache_stats_get(pl_rcache *rc, pl_rcache_stats *stats)
{
    pl_rcache_stats s = {0};
    if (rc == NULL || stats == NULL)
        return;
    for (uint32_t i = 0; i < rc->nshards; i++) {
        rc_shard *sh = &rc->shards[i];
        pthread_mutex_lock(&sh->mu);
        s.clients += sh->clients;
        s.running += sh->running;
        s.done += sh->done;
        s.in_doubt += sh->doubt;
        s.reply_bytes += sh->reply_bytes;
        s.begins += sh->begins;
        s.unknown += sh->unknown;
        s.stale += sh->stale;
        s.beyond_window += sh->beyond_window;
        pthread_mutex_unlock(&sh->mu);
    }
    s.bytes = atomic_load_explicit(&rc->bytes, memory_order_relaxed);
    s.pinned = atomic_load_explicit(&rc->pinned, memory_order_relaxed);
    s.hellos = atomic_load_explicit(&rc->hellos, memory_order_relaxed);
    s.hello_refused = atomic_load_explicit(&rc->hello_refused, memory_order_relaxed);
    s.busy = atomic_load_explicit(&rc->busy, memory_order_relaxed);
    s.evictions = atomic_load_explicit(&rc->evictions, memory_order_relaxed);
    s.evicted_bytes = atomic_load_explicit(&rc->evicted_bytes, memory_order_relaxed);
    s.expired = atomic_load_explicit(&rc->expired, memory_order_relaxed);
    *stats = s;
}
