/*
 * cache.h: the server's reply cache, which keeps the promise of at-most-once
 * and exactly-once delivery for clients that carry an identity.
 *
 * Internal to libparley, in the delivery layer. Every guaranteed call names
 * its client (16 random bytes per client incarnation), a sequence number seq
 * (> 0, the same on every retransmission) and an ack (all of the client's
 * calls below it are answered: RIFL's "first incomplete"). A client says
 * HELLO once per server incarnation before its first guaranteed call; that
 * creates its state here. The server asks pl_rcache_begin what to do with
 * each call and records the reply with pl_rcache_finish. The caller applies
 * the incarnation rule (a call first sent to another server incarnation is
 * never looked up here); this module keeps the per-client state.
 *
 * The rules, per client, with floor the lowest sequence number still
 * remembered and highest the highest ever begun:
 *
 *   seq < floor                      STALE: acknowledged and forgotten; drop it.
 *   seq >= floor + window            BEYOND_WINDOW: refused, nothing allocated.
 *   seq never seen (or aborted)      NEW: run it; it is RUNNING until finished.
 *   seq RUNNING                      RUNNING: tell the client to retry later.
 *   seq DONE                         DONE: the recorded reply is handed out.
 *   seq's reply evicted              IN_DOUBT: never run again; say so.
 *   id unknown (no HELLO, or its     UNKNOWN_CLIENT: ask the client to say
 *   state was reclaimed)             HELLO again.
 *   no memory under the cap          BUSY: nothing recorded; retry later.
 *
 * Acks. The ack of every call frees the client's entries below it at once,
 * and moves the floor up; an ack lower than the floor is ignored. An ack is
 * believed only as far as the cache has seen: the floor never passes the
 * call carrying the ack, nor the highest seq begun plus one. So an ack for
 * calls never made (a buggy or hostile client) cannot make a later real call
 * STALE before it has been seen, and no call at or above the floor that was
 * ever begun can run twice. Calls that were never seen and lie below an ack
 * that passed them (a gap the client itself declared answered) are STALE.
 * HELLO sets the floor to the client's next seq, so that a delayed copy of a
 * call sent before it (which a client that had to say HELLO again holds in
 * doubt) is STALE and never runs.
 *
 * Memory. Everything the cache allocates for its clients (the clients, their
 * windows of 16-byte slots and the replies) is counted against max_bytes;
 * the hash tables, sized once at create from max_clients, are not. What
 * eviction cannot free, the clients and their windows (which hold the calls
 * running), is pinned, and may take at most max_pinned bytes (half the cap
 * by default), so that the rest is always left to replies. A client gets a
 * window of 8 slots at HELLO, so that it can keep 8 calls outstanding
 * without the cache allocating anything more, however full it is; a wider
 * span of calls outstanding grows its window (up to window slots), and acks
 * shrink it again. A NEW call whose window cannot grow is refused with BUSY
 * (nothing recorded; the client retries later).
 *
 * Eviction. When a reply would go over the cap, recorded replies are
 * evicted, never RUNNING calls: first from the client whose replies take
 * the most bytes (its lowest seq first), so that a client which leaves many
 * or large replies unacknowledged pays for them, and a well-behaved client,
 * which acknowledges its replies with its next calls and so holds few,
 * keeps them. (Evicting the oldest replies of all would let one client's
 * burst push out everyone's latest reply.) An evicted reply leaves a
 * tombstone in its client's window, exact to the seq: its retransmission is
 * IN_DOUBT, never NEW, until the client acknowledges it. A reply that cannot
 * be kept even so (larger than the room left to replies) is dropped and its
 * call recorded IN_DOUBT in the same way.
 *
 * Clients and leases. A client idle longer than lease_ms (no begin, finish
 * or HELLO) may be reclaimed with all its memory; a client with calls
 * RUNNING is not idle. Reclaiming happens in pl_rcache_expire (bounded work
 * per call), and when a HELLO or a window's growth finds no room. A client
 * that comes back before it was reclaimed keeps its state. A HELLO that finds
 * max_clients clients (or pinned memory full), none expired, is refused with
 * BUSY: no live client is ever evicted to make room, so that a flood of new
 * identities cannot make a client that said HELLO before it lose anything.
 *
 * Thread safety: every function may be called from any thread at once. The
 * clients are spread over shards by a keyed hash of their id, each shard with
 * its own mutex, so that threads serving different clients seldom meet; no
 * function holds two shards' locks at once.
 */
#ifndef PARLEY_DELIVERY_CACHE_H
#define PARLEY_DELIVERY_CACHE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define PL_RC_ID_LEN 16

#define PL_RCACHE_DEFAULT_MAX_BYTES    ((size_t)64 << 20)
#define PL_RCACHE_DEFAULT_MAX_CLIENTS  65536u
#define PL_RCACHE_DEFAULT_WINDOW       1024u
#define PL_RCACHE_DEFAULT_LEASE_MS     120000u
#define PL_RCACHE_DEFAULT_SHARDS       64u
#define PL_RCACHE_DEFAULT_EXPIRE_BATCH 256u

/* The largest settings accepted (pl_rcache_create refuses more). */
#define PL_RCACHE_MAX_CLIENTS_LIMIT (1u << 24)
#define PL_RCACHE_MAX_WINDOW        (1u << 20)
#define PL_RCACHE_MAX_SHARDS        4096u

/* pl_rcache_opts are the settings of a cache; 0 in any field (or a NULL
 * opts) means the default. */
typedef struct pl_rcache_opts {
    size_t max_bytes;      /* memory cap: clients, windows, replies (64 MiB) */
    size_t max_pinned;     /* of which clients and windows, never evicted (half) */
    uint32_t max_clients;  /* clients at once (65,536) */
    uint32_t window;       /* calls from a client's floor up (1,024) */
    uint32_t lease_ms;     /* idle time after which a client may be reclaimed (120 s) */
    uint32_t shards;       /* locks, rounded up to a power of two (64) */
    uint32_t expire_batch; /* clients examined per pl_rcache_expire (256) */
} pl_rcache_opts;

/* What pl_rcache_begin says about a call (see the table above). */
typedef enum pl_rc_verdict {
    PL_RC_NEW,
    PL_RC_RUNNING,
    PL_RC_DONE,
    PL_RC_STALE,
    PL_RC_IN_DOUBT,
    PL_RC_UNKNOWN_CLIENT,
    PL_RC_BEYOND_WINDOW,
    PL_RC_BUSY,
} pl_rc_verdict;

/* What pl_rcache_hello did. */
typedef enum pl_rc_hello {
    PL_RC_HELLO_CREATED, /* the client's state was made */
    PL_RC_HELLO_KNOWN,   /* the client was known: its state is kept */
    PL_RC_HELLO_BUSY,    /* no room (clients or memory): nothing made */
} pl_rc_hello;

/* pl_rc_reply is a recorded reply, shared by the cache and the threads
 * sending it: len bytes at data, immutable, freed when the last reference
 * is put. pl_rcache_begin hands out a reference; pl_rcache_reply_put gives
 * it back. refs is private. */
typedef struct pl_rc_reply {
    atomic_uint refs;
    size_t len;
    uint8_t data[];
} pl_rc_reply;

/* pl_rcache_stats is a snapshot for tests, benchmarks and monitoring. The
 * gauges are summed shard by shard, so under concurrent use they are
 * approximate; the counters only grow. */
typedef struct pl_rcache_stats {
    size_t clients;         /* clients with state */
    size_t running;         /* calls RUNNING */
    size_t done;            /* replies recorded */
    size_t in_doubt;        /* tombstones of evicted or dropped replies */
    size_t bytes;           /* memory counted against max_bytes */
    size_t pinned;          /* of which clients and windows */
    size_t reply_bytes;     /* of which the replies' bytes */
    uint64_t hellos;        /* clients created */
    uint64_t hello_refused; /* HELLOs refused: table or memory full */
    uint64_t begins;        /* pl_rcache_begin calls for known clients */
    uint64_t unknown;       /* UNKNOWN_CLIENT verdicts */
    uint64_t stale;         /* STALE verdicts */
    uint64_t beyond_window; /* BEYOND_WINDOW verdicts */
    uint64_t busy;          /* BUSY verdicts (memory) */
    uint64_t evictions;     /* replies evicted or dropped for the cap */
    uint64_t evicted_bytes; /* their bytes */
    uint64_t expired;       /* clients reclaimed at the end of their lease */
} pl_rcache_stats;

typedef struct pl_rcache pl_rcache;

int pl_rcache_create(pl_rcache **out, const pl_rcache_opts *opts);
void pl_rcache_destroy(pl_rcache *rc);

int pl_rcache_hello(pl_rcache *rc, const uint8_t id[PL_RC_ID_LEN], uint64_t first_seq, int64_t now,
                    pl_rc_hello *result);
int pl_rcache_begin(pl_rcache *rc, const uint8_t id[PL_RC_ID_LEN], uint64_t seq, uint64_t ack,
                    int64_t now, pl_rc_verdict *verdict, pl_rc_reply **reply);
int pl_rcache_finish(pl_rcache *rc, const uint8_t id[PL_RC_ID_LEN], uint64_t seq, const void *reply,
                     size_t len, int64_t now);
int pl_rcache_abort(pl_rcache *rc, const uint8_t id[PL_RC_ID_LEN], uint64_t seq);
size_t pl_rcache_expire(pl_rcache *rc, int64_t now);
void pl_rcache_stats_get(pl_rcache *rc, pl_rcache_stats *stats);

pl_rc_reply *pl_rc_reply_new(const void *data, size_t len);
void pl_rc_reply_get(pl_rc_reply *r);
void pl_rc_reply_put(pl_rc_reply *r);

uint64_t pl_siphash13(const uint64_t key[2], const void *data, size_t len);
int pl_random_key(uint64_t key[2]);

#endif /* PARLEY_DELIVERY_CACHE_H */
