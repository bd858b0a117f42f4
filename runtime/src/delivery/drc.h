/*
 * drc.h: the duplicate request cache, a best-effort defence against running
 * twice a retransmitted call from a client that carries no identity (a plain
 * ONC RPC client such as libtirpc's), as Linux's nfsd keeps one.
 *
 * Internal to libparley, in the delivery layer, beside the reply cache
 * (cache.h), which serves clients with an identity and keeps real promises.
 * A call is known by its peer's address bytes, xid, program, version,
 * procedure, and a keyed 64-bit hash and the length of its argument bytes.
 * A call first seen is NEW and IN_PROGRESS; a duplicate while it runs is
 * dropped (the client will retransmit); once finished, a duplicate gets the
 * recorded reply (DONE). Entries are bounded in number and bytes, evicted
 * least recently used first, and age out max_age_ms after they finished.
 *
 * What it guarantees: while an entry lives, a retransmission with the same
 * key is not run again. What it does not:
 *   - An entry evicted (by the bounds) or aged out is forgotten: a late
 *     retransmission then runs again. Only finished entries are evicted,
 *     and only when that makes the room wanted: a call that finds no room
 *     beside the calls in progress is run untracked (PL_DRC_NEW_UNTRACKED),
 *     a reply that finds none is not kept, and neither evicts anything.
 *   - A server restart loses every entry.
 *   - xids are the client's: a client that restarts and reuses an xid for a
 *     call with the same program, version, procedure and arguments from the
 *     same address within the age limit gets the old reply instead of a run.
 *     Different arguments make a different key (barring a 64-bit collision
 *     under a key the client does not know), so they are not confused.
 *   - Peers behind one NAT address and port are one peer; peers are told
 *     apart only by the bytes the caller passes (for Unix sockets, whose
 *     peers are unnamed, the caller should pass the peer's credentials).
 *   - It cannot tell a retransmission from a deliberate repeat of the same
 *     call with the same xid; RPC says the xid tells them apart.
 *
 * Thread safety: every function may be called from any thread at once.
 * Entries are spread over shards by the hash of their key, each with its own
 * mutex, LRU list and share of the bounds (max_entries and max_bytes divided
 * by the shards), so the order of eviction is least recently used within a
 * shard. Set shards to 1 for one exact LRU order.
 */
#ifndef PARLEY_DELIVERY_DRC_H
#define PARLEY_DELIVERY_DRC_H

#include <stddef.h>
#include <stdint.h>

#include "delivery/cache.h"

#define PL_DRC_MAX_PEER 32 /* address bytes kept: a sockaddr_in6 fits */

#define PL_DRC_DEFAULT_MAX_ENTRIES 8192u
#define PL_DRC_DEFAULT_MAX_BYTES   ((size_t)16 << 20)
#define PL_DRC_DEFAULT_MAX_AGE_MS  120000u
#define PL_DRC_DEFAULT_SHARDS      16u
#define PL_DRC_MAX_SHARDS          1024u

/* pl_drc_opts are the settings of a cache; 0 in any field (or a NULL opts)
 * means the default. */
typedef struct pl_drc_opts {
    size_t max_bytes;     /* entries and replies (16 MiB) */
    uint32_t max_entries; /* entries at once (8,192) */
    uint32_t max_age_ms;  /* a finished entry's life (120 s) */
    uint32_t shards;      /* locks, rounded up to a power of two (16) */
} pl_drc_opts;

/* pl_drc_call names a call: what pl_drc_begin looks up. peer is borrowed
 * for the call only; args are the call's argument bytes (its body after the
 * credentials and verifier), hashed, not kept. */
typedef struct pl_drc_call {
    const void *peer;
    size_t peer_len; /* at most PL_DRC_MAX_PEER */
    uint32_t xid, prog, vers, proc;
    const void *args;
    size_t args_len;
} pl_drc_call;

/* pl_drc_ticket is the key of a call as pl_drc_begin computed it; the
 * server keeps it while the call runs and hands it to pl_drc_finish or
 * pl_drc_abort. Its fields are private. */
typedef struct pl_drc_ticket {
    uint8_t peer[PL_DRC_MAX_PEER];
    uint32_t peer_len;
    uint32_t xid, prog, vers, proc;
    uint32_t zero; /* no padding: the bytes up to hash are hashed */
    uint64_t args_hash, args_len;
    uint64_t hash;
} pl_drc_ticket;

typedef enum pl_drc_verdict {
    PL_DRC_NEW,           /* run it, then pl_drc_finish or pl_drc_abort */
    PL_DRC_NEW_UNTRACKED, /* run it; no room to remember it (finish is a no-op) */
    PL_DRC_IN_PROGRESS,   /* a duplicate of a call running: drop it */
    PL_DRC_REPLAY,        /* a duplicate of a finished call: send the reply */
} pl_drc_verdict;

typedef struct pl_drc_stats {
    size_t entries;     /* in progress and done */
    size_t in_progress; /* of which running */
    size_t bytes;       /* counted against max_bytes */
    uint64_t replays;   /* REPLAY verdicts */
    uint64_t dropped;   /* IN_PROGRESS verdicts */
    uint64_t untracked; /* NEW_UNTRACKED verdicts */
    uint64_t evictions; /* finished entries evicted for room */
    uint64_t aged;      /* finished entries dropped for their age */
} pl_drc_stats;

typedef struct pl_drc pl_drc;

int pl_drc_create(pl_drc **out, const pl_drc_opts *opts);
void pl_drc_destroy(pl_drc *d);
int pl_drc_begin(pl_drc *d, const pl_drc_call *call, int64_t now, pl_drc_ticket *ticket,
                 pl_drc_verdict *verdict, pl_rc_reply **reply);
int pl_drc_finish(pl_drc *d, const pl_drc_ticket *ticket, const void *reply, size_t len,
                  int64_t now);
int pl_drc_abort(pl_drc *d, const pl_drc_ticket *ticket);
void pl_drc_stats_get(pl_drc *d, pl_drc_stats *stats);

#endif /* PARLEY_DELIVERY_DRC_H */
