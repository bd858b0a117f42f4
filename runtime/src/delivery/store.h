/*
 * store.h: the completion store, the crash-safe memory of exactly-once
 * delivery.
 *
 * Internal to libparley, in the delivery layer. A server that promises
 * exactly-once puts each call's completion record (the client's id, the
 * call's sequence number, the encoded reply) here before the reply leaves,
 * so that a retransmission after a crash of the server gets the recorded
 * reply instead of a second run. A procedure's own effects go into the
 * store's key-value space in the same transaction, and commit atomically
 * with its completion record. A procedure whose effects live elsewhere gets
 * a durable STARTED record before it runs, so that after a crash its retry
 * is reported in doubt rather than run twice. A client's acknowledgement
 * (every call below a sequence number is answered) lets the store drop
 * those records, and an expired lease forgets the client.
 *
 * Clients are registered: a client's HELLO registers it durably
 * (pl_store_hello) before it is answered, and only a registered client's
 * exactly-once calls run. A client not heard of for a lease is forgotten
 * with its records (pl_store_expire), so that the store stays bounded even
 * when every client process is a new identity that never acknowledges its
 * last call. A forgotten client is not registered: a late copy of one of
 * its calls is not run (its client, which must say HELLO again, takes what
 * it had sent as in doubt), rather than taken for a new call. Registering
 * it again puts its floor above every call it made before: within a run of
 * the store by the number kept for it (a tomb: 24 bytes, not its records),
 * and across runs by the run's number (pl_store_boot), which the server
 * puts in its incarnation, so that a call first sent in an earlier run
 * than its client's registration is known for one that may have run.
 *
 * The store is one append-only log file of checksummed records, replayed at
 * open into hash maps of the live state, and rewritten (compacted) when dead
 * records dominate it. See store.c for the format and the reasoning.
 */
#ifndef PARLEY_STORE_H
#define PARLEY_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct pl_store pl_store;
typedef struct pl_store_txn pl_store_txn;

/* How durable a commit is when pl_store_commit or pl_store_started returns. */
enum {
    /* The record reached the kernel (write() returned): it survives the
     * process being killed (SIGKILL), not the machine losing power. */
    PL_DUR_PROCESS = 1,
    /* The record is on the disk (fdatasync), with group commit: concurrent
     * commits share one sync. It survives power loss. */
    PL_DUR_MACHINE = 2,
};

/* What pl_store_lookup finds for a call. */
enum {
    PL_STORE_NONE = 0,    /* no record: the call never ran (or was forgotten) */
    PL_STORE_STARTED = 1, /* a STARTED record and no completion: in doubt */
    PL_STORE_DONE = 2,    /* completed: the recorded reply is returned */
    PL_STORE_ACKED = 3,   /* below the client's acknowledgement: answered and
                           * forgotten; a retransmission to be dropped */
    PL_STORE_UNKNOWN = 4, /* the client is not registered (never, or forgotten
                           * at the end of its lease): nothing can be said */
};

/* The defaults of pl_store_opts; 0 in a field means its default. */
#define PL_STORE_DEFAULT_MAX_BYTES   ((size_t)64 << 20)
#define PL_STORE_DEFAULT_MAX_KEY     ((size_t)1024)
#define PL_STORE_DEFAULT_MAX_VALUE   ((size_t)64 << 10)
#define PL_STORE_DEFAULT_MAX_REPLY   ((size_t)1 << 20)
#define PL_STORE_DEFAULT_MAX_TXN     ((size_t)4 << 20)
#define PL_STORE_DEFAULT_MAX_CLIENTS ((size_t)1 << 18)

/* pl_store_opts are the settings of a store; a zeroed struct (or NULL) is
 * every default. */
typedef struct pl_store_opts {
    int durability;     /* PL_DUR_PROCESS or PL_DUR_MACHINE (0: PL_DUR_MACHINE) */
    size_t max_bytes;   /* the log's size that triggers a compaction when at least
                         * half of it is dead (PL_STORE_DEFAULT_MAX_BYTES); the
                         * file stays below max(max_bytes, 2 x live) + one record */
    size_t max_key;     /* longest key (PL_STORE_DEFAULT_MAX_KEY) */
    size_t max_value;   /* longest value (PL_STORE_DEFAULT_MAX_VALUE) */
    size_t max_reply;   /* longest recorded reply (PL_STORE_DEFAULT_MAX_REPLY) */
    size_t max_txn;     /* largest transaction: its puts, deletes and reply,
                         * encoded (PL_STORE_DEFAULT_MAX_TXN) */
    size_t max_clients; /* clients registered at once; a HELLO beyond is
                         * refused (PL_STORE_DEFAULT_MAX_CLIENTS) */
    size_t max_tombs;   /* clients forgotten in one run and remembered by
                         * number (24 bytes each); past it a new run begins
                         * (0: 4 x max_clients) */
} pl_store_opts;

/* Counters of a store, for tests and the benchmark. */
typedef struct pl_store_stats {
    uint64_t file_bytes;    /* the log's size now */
    uint64_t live_bytes;    /* what a compaction would write now */
    uint64_t kv_pairs;      /* keys in the key-value space */
    uint64_t clients;       /* clients with records or an acknowledgement */
    uint64_t calls;         /* live STARTED and completion records */
    uint64_t commits;       /* pl_store_commit successes since open */
    uint64_t syncs;         /* fdatasyncs of the log since open */
    uint64_t compactions;   /* compactions since open */
    uint64_t torn_bytes;    /* bytes of a torn tail cut off at open */
    uint64_t registered;    /* clients registered by pl_store_hello since open */
    uint64_t expired;       /* clients forgotten at the end of their lease */
    uint64_t hello_refused; /* registrations refused: max_clients reached */
    uint64_t tombs;         /* clients forgotten in this run, remembered by number */
    uint64_t boot;          /* the store's run (pl_store_boot) */
} pl_store_stats;

int pl_store_open(pl_store **out, const char *path, const pl_store_opts *o);
void pl_store_close(pl_store *s);

int pl_store_begin(pl_store *s, pl_store_txn **out);
int pl_store_get(pl_store_txn *t, const void *k, size_t kl, const void **v, size_t *vl);
int pl_store_put(pl_store_txn *t, const void *k, size_t kl, const void *v, size_t vl);
int pl_store_del(pl_store_txn *t, const void *k, size_t kl);
int pl_store_commit(pl_store_txn *t, const uint8_t id[16], uint64_t seq, const void *reply,
                    size_t len);
void pl_store_abort(pl_store_txn *t);

int pl_store_started(pl_store *s, const uint8_t id[16], uint64_t seq);
int pl_store_lookup(pl_store *s, const uint8_t id[16], uint64_t seq, void *buf, size_t cap,
                    size_t *len, int *state);
int pl_store_hello(pl_store *s, const uint8_t id[16], uint64_t floor, int *known);
int pl_store_touch(pl_store *s, const uint8_t id[16], uint64_t ack, int *known, uint64_t *reg_boot);
uint64_t pl_store_boot(pl_store *s);
int pl_store_ack(pl_store *s, const uint8_t id[16], uint64_t ack);
size_t pl_store_expire(pl_store *s, int64_t now, int64_t lease_ns, size_t max);
int pl_store_forget(pl_store *s, const uint8_t id[16]);
int pl_store_compact(pl_store *s);
void pl_store_stats_get(pl_store *s, pl_store_stats *out);

#endif /* PARLEY_STORE_H */
