/*
 * store.c: the completion store (store.h), an append-only log of
 * checksummed records with the live state in hash maps.
 *
 * Why a log of our own and not an embedded database: bench/delivery
 * measures this log against LMDB and SQLite (WAL) on the same workload. A
 * completion store only ever appends small records, reads its live state
 * back once at open, and lets records die when clients acknowledge them; a
 * log does exactly that, and its group commit lets a writer release the
 * store before waiting for the disk, which neither database can do.
 *
 * The file. A 32-byte header (magic "PARLEYCS", version, a random salt, a
 * CRC-32C of the header), then records, each:
 *
 *     magic u32 | len u32 | stable u64 | crc u32 | payload (len bytes)
 *
 * big-endian like the rest of Parley. crc is the CRC-32C of the salt, of
 * len and stable, and of the payload: a record cut short, garbled, or left
 * over from another file (a compaction draws a new salt) fails it, and a
 * client cannot forge a record inside a value or a reply without knowing
 * the salt. A payload is a type byte and its fields:
 *
 *     TXN      flags u8 (1: with a call) | [id 16 | seq u64] | nops u32 |
 *              nops x (PUT u8 | klen u32 | key | vlen u32 | value,
 *                      or DEL u8 | klen u32 | key) | [rlen u32 | reply]
 *     STARTED  id 16 | seq u64
 *     ACK      id 16 | ack u64
 *     FORGET   id 16
 *     REG      id 16 | floor u64 | run u64
 *     BOOT     run u64
 *
 * A transaction's puts, deletes and completion record are one TXN record:
 * written whole or not at all, which is what makes them atomic. REG is a
 * client's registration (pl_store_hello): its first floor, and the run of
 * the store it was made in; FORGET ends it (pl_store_forget, or the end of
 * its lease in pl_store_expire). BOOT starts a run: each open writes one
 * more than the highest in the log, and so does a run begun because the
 * tombs of forgotten clients are full. A TXN or STARTED of a client not
 * known (one forgotten while its call ran) makes it known again with that
 * call as its floor; an ACK of one not known, from a log written before
 * registrations, makes it known as of run 0. Leases and tombs are kept in
 * memory only: at open every client's lease starts anew, and the new run
 * stands in for the tombs.
 *
 * Recovery: open replays the records in order. The first record that fails
 * its check ends the replay, and what follows it decides why it failed:
 *
 *   - a torn tail: a crash while records were being appended leaves a
 *     partial last record (a killed process), or after a power loss any
 *     mix of the records written since the last completed sync. These were
 *     never reported durable, so the file is cut there and open succeeds
 *     (stats.torn_bytes tells how much was cut).
 *   - damage: a record that had been reported durable is corrupt. Cutting
 *     there would silently lose it and every later record, so open fails
 *     with PARLEY_ERR_STORE and leaves the file alone, for a person to
 *     look at.
 *
 * Each record's stable field tells the two apart. It is an offset below
 * which the writer knew the file durable at the store's level when it wrote
 * the record: with PL_DUR_PROCESS its own offset (every earlier write had
 * returned), with PL_DUR_MACHINE the end of the last completed fdatasync.
 * A bad record at offset off followed anywhere by a good record whose
 * stable is beyond off is damage; otherwise it is a torn tail. The limit
 * of this: damage within the records written after the last sync that a
 * later record knows of (with PL_DUR_PROCESS, the last record) cannot be
 * told from a torn tail, and is cut off as one.
 *
 * Durability and group commit. Appends happen under the store's mutex, in
 * log order. With PL_DUR_MACHINE a commit then waits until a sync covers
 * its record: the first waiter becomes the leader and syncs everything
 * appended so far, with the mutex released, while the others wait on the
 * condition variable; a follower whose record the leader's sync covered
 * just returns. Positions in the log are counted as LSNs (bytes appended
 * since open), which a compaction does not reset.
 *
 * Transactions are serializable by being one at a time: pl_store_begin
 * takes the writer role, which commit gives up right after appending,
 * before waiting for the sync (early lock release). That is safe because
 * the log is ordered: a later transaction, which may have read this one's
 * effects, is appended after it, so the sync that makes the later one
 * durable makes this one durable too, and no reply leaves before its own
 * sync. A lookup that finds a record not yet synced waits for the sync, so
 * a retransmission cannot get a reply that a crash could still take back.
 *
 * Compaction writes the live state (key-value pairs, clients'
 * acknowledgements, unacknowledged STARTED and completion records) to
 * "<path>.compact", syncs it, renames it over the log and syncs the
 * directory. It runs as the writer, under the mutex, when the log has
 * passed max_bytes and at least half of it is dead, and when an append
 * fails for want of space while dead records take room.
 *
 * Acknowledgements and forgotten clients are recorded lazily: their records
 * ride in the same write as the next append. Losing one in a crash only
 * brings back records that the client's next acknowledgement drops again.
 */
#include "delivery/store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "delivery/crc32c.h"
#include "net/clock.h"
#include "parley/error.h"
#include "parley/xdr.h"

#define ST_FILE_MAGIC  "PARLEYCS"
#define ST_VERSION     1u
#define ST_FILE_HDR    32
#define ST_REC_MAGIC   0x504c5243u /* "PLRC" */
#define ST_REC_HDR     20
#define ST_MAX_TXN_CAP ((size_t)1 << 30)
/* A compaction cuts the key-value space into TXN records of about this. */
#define ST_KV_CHUNK ((size_t)64 << 10)
/* Pending acknowledgement records are written on their own past this. */
#define ST_PEND_FLUSH ((size_t)64 << 10)
/* A compaction writes through a buffer of this size. */
#define ST_COMPACT_BUF ((size_t)256 << 10)

enum { R_TXN = 1, R_STARTED = 2, R_ACK = 3, R_FORGET = 4, R_REG = 5, R_BOOT = 6 };
enum { OP_PUT = 1, OP_DEL = 2 };
enum { TXN_CALL = 1 };

/* The encoded sizes of the fixed records, headers included, for the
 * estimate of what a compaction would write. */
#define ST_SMALL_REC      (ST_REC_HDR + 1 + 16 + 8)             /* STARTED, ACK */
#define ST_REG_REC        (ST_REC_HDR + 1 + 16 + 8 + 8)         /* REG */
#define ST_BOOT_REC       (ST_REC_HDR + 1 + 8)                  /* BOOT */
#define ST_DONE_REC       (ST_REC_HDR + 1 + 1 + 16 + 8 + 4 + 4) /* TXN with a call, no ops */
#define ST_OP_PUT(kl, vl) (1 + 4 + (uint64_t)(kl) + 4 + (uint64_t)(vl))

/* A key and its value, allocated together. */
typedef struct st_kv {
    uint32_t kl, vl;
    uint8_t data[]; /* the key, then the value */
} st_kv;

/* A live STARTED or completion record of a client. */
typedef struct st_call {
    uint64_t seq;
    uint64_t lsn;   /* the end of its log record: durable once synced past */
    uint8_t *reply; /* DONE: the reply (NULL when empty) */
    uint32_t len;
    uint8_t state; /* PL_STORE_STARTED or PL_STORE_DONE */
} st_call;

/* A client: its acknowledgement and its live calls, sorted by seq, in
 * calls[head .. head + n). */
typedef struct st_client {
    uint8_t id[16];
    uint64_t floor;                  /* calls below this are acknowledged */
    uint64_t reg_lsn;                /* the end of its registration record (pl_store_hello) */
    uint64_t reg_boot;               /* the run of the store it was registered in */
    int64_t active;                  /* when it was last heard of (pl_now_ns), for its lease */
    struct st_client *older, *newer; /* the store's list, least recent first */
    st_call *calls;
    size_t head, n, cap;
} st_client;

/* A client forgotten in this run: the number below which every call of it
 * may have run, so that registering it again puts its floor there. */
typedef struct st_tomb {
    uint8_t id[16]; /* first, as in st_client: client_eq compares both */
    uint64_t next;
} st_tomb;

/* An open-addressing hash table of pointers (linear probing, the hash kept
 * beside each so that growing needs no rehash and probes compare it
 * first). */
typedef struct st_slot {
    uint64_t h;
    void *p;
} st_slot;

typedef struct st_table {
    st_slot *slot;
    size_t cap, n; /* cap is 0 or a power of two */
} st_table;

/* A put or a delete of a transaction, not yet committed. */
typedef struct st_op {
    struct st_op *next;
    uint8_t del;
    uint32_t kl, vl;
    uint8_t data[]; /* the key, then the value */
} st_op;

struct pl_store_txn {
    pl_store *s;
    st_op *ops, *last;
    uint32_t nops;
    uint64_t bytes; /* the encoded size of the ops */
};

struct pl_store {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a sync ended, or the writer role was given up */
    char *path, *tmp_path, *dir_path;
    int fd;
    int durability;
    size_t max_bytes, max_key, max_value, max_reply, max_txn;
    uint8_t salt[8];
    uint64_t hseed[2];

    uint64_t file_size;   /* the end of the log */
    uint64_t written_lsn; /* bytes appended since open */
    uint64_t synced_lsn;  /* of which a completed sync covers these */
    uint64_t synced_off;  /* the file offset up to which that sync went */
    int syncing;          /* a leader is in fdatasync, with mu released */
    int writer;           /* a transaction (or a compaction) is under way */
    int err;              /* sticky: the store failed and must be reopened */
    uint64_t retry_at;    /* a failed compaction is not retried below this size */

    st_table kv, clients;
    st_client *oldest, *newest; /* clients by their last activity */
    size_t max_clients;
    uint64_t boot;  /* this run's number: one more than any in the log */
    st_table tombs; /* clients forgotten in this run: their next numbers */
    size_t max_tombs;
    uint64_t live_bytes;
    uint8_t *pend; /* acknowledgement and forget records to ride along */
    size_t pend_len, pend_cap;
    uint8_t *wbuf; /* the writer's buffer for its TXN record */
    size_t wbuf_cap;
    pl_store_txn txn; /* the one transaction */
    pl_store_stats st;
};

/* ---- small helpers ------------------------------------------------------ */

/* st_mum is the folded 128-bit product of a and b. */
static uint64_t st_mum(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* st_hash hashes the n bytes at p with the store's random seed, so that
 * keys or client ids chosen by a peer cannot be made to collide on
 * purpose without knowing it. */
static uint64_t st_hash(const pl_store *s, const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = s->hseed[0] ^ ((uint64_t)n * 0x9e3779b97f4a7c15ull);

    while (n >= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        h = st_mum(h ^ w, s->hseed[1]);
        b += 8;
        n -= 8;
    }
    uint64_t w = 0;
    if (n)
        memcpy(&w, b, n);
    return st_mum(h ^ w ^ 0xa0761d6478bd642full, s->hseed[1] ^ 0xe7037ed1a0b428dbull);
}

/* st_random fills n bytes from the kernel's generator, or, should that
 * fail, from the clock and the pid (the salt and seeds need to differ, not
 * to be secret from the machine's owner). */
static void st_random(void *out, size_t n)
{
    uint8_t *p = out;
    size_t got = 0;

    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got < n) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)getpid();
        for (; got < n; got++) {
            x = st_mum(x + 0x9e3779b97f4a7c15ull, 0xbf58476d1ce4e5b9ull);
            p[got] = (uint8_t)x;
        }
    }
}

/* st_errno turns a failed write's errno into the store's error. */
static int st_errno(int e)
{
    if (e == ENOSPC || e == EDQUOT || e == EFBIG)
        return PARLEY_ERR_NO_SPACE;
    if (e == ENOMEM)
        return PARLEY_ERR_NOMEM;
    return PARLEY_ERR_STORE;
}

/* st_pwrite writes all n bytes of the iovecs at offset off, going on after
 * short writes. Returns 0 or the errno. */
static int st_pwritev(int fd, struct iovec *iov, int cnt, uint64_t off)
{
    while (cnt > 0) {
        ssize_t w = pwritev(fd, iov, cnt, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (w == 0)
            return ENOSPC;
        off += (uint64_t)w;
        size_t left = (size_t)w;
        while (cnt > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return 0;
}

/* st_fsync_dir syncs the directory of the log, so that a rename or a
 * creation in it survives a power loss. Returns 0 or the errno. */
static int st_fsync_dir(const pl_store *s)
{
    int dfd = open(s->dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return errno;
    int rc = fsync(dfd) < 0 ? errno : 0;
    close(dfd);
    return rc;
}

/* ---- the hash table ----------------------------------------------------- */

typedef int (*st_eq_fn)(const void *item, const void *key, size_t kl);

/* tab_find returns the slot of the item equal to key, or SIZE_MAX. */
static size_t tab_find(const st_table *t, uint64_t h, st_eq_fn eq, const void *key, size_t kl)
{
    if (t->n == 0)
        return SIZE_MAX;
    size_t mask = t->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        if (t->slot[i].p == NULL)
            return SIZE_MAX;
        if (t->slot[i].h == h && eq(t->slot[i].p, key, kl))
            return i;
    }
}

/* tab_put_slot places p with hash h in the first free slot of its probe. */
static void tab_put_slot(st_slot *slot, size_t cap, uint64_t h, void *p)
{
    size_t i = (size_t)h & (cap - 1);
    while (slot[i].p != NULL)
        i = (i + 1) & (cap - 1);
    slot[i].h = h;
    slot[i].p = p;
}

/* tab_reserve makes room for one more item, keeping the load at most 3/4.
 * Errors: PARLEY_ERR_NOMEM. */
static int tab_reserve(st_table *t)
{
    if ((t->n + 1) * 4 <= t->cap * 3)
        return PARLEY_OK;
    size_t cap = t->cap ? t->cap * 2 : 64;
    st_slot *ns = calloc(cap, sizeof *ns);
    if (ns == NULL)
        return PARLEY_ERR_NOMEM;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slot[i].p != NULL)
            tab_put_slot(ns, cap, t->slot[i].h, t->slot[i].p);
    free(t->slot);
    t->slot = ns;
    t->cap = cap;
    return PARLEY_OK;
}

/* tab_insert adds p, which is not in t yet. Errors: PARLEY_ERR_NOMEM. */
static int tab_insert(st_table *t, uint64_t h, void *p)
{
    int rc = tab_reserve(t);
    if (rc != PARLEY_OK)
        return rc;
    tab_put_slot(t->slot, t->cap, h, p);
    t->n++;
    return PARLEY_OK;
}

/* tab_remove_at empties slot i and shifts back the items after it that
 * their probe allows, so that no tombstones are needed. */
static void tab_remove_at(st_table *t, size_t i)
{
    size_t mask = t->cap - 1;
    size_t j = i;

    t->slot[i].p = NULL;
    t->n--;
    for (;;) {
        j = (j + 1) & mask;
        if (t->slot[j].p == NULL)
            return;
        size_t home = (size_t)t->slot[j].h & mask;
        /* move j into the hole at i unless its home lies in (i, j] */
        if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
            continue;
        t->slot[i] = t->slot[j];
        t->slot[j].p = NULL;
        i = j;
    }
}

/* kv_eq tells whether the pair item has the key (key, kl). */
static int kv_eq(const void *item, const void *key, size_t kl)
{
    const st_kv *e = item;
    return e->kl == kl && (kl == 0 || memcmp(e->data, key, kl) == 0);
}

/* client_eq tells whether the client item has the id key. */
static int client_eq(const void *item, const void *key, size_t kl)
{
    return memcmp(((const st_client *)item)->id, key, 16) == 0;
}

/* ---- the live state ----------------------------------------------------- */

/* kv_find returns the committed pair of key k, or NULL. */
static st_kv *kv_find(const pl_store *s, const void *k, size_t kl, uint64_t h)
{
    size_t i = tab_find(&s->kv, h, kv_eq, k, kl);
    return i == SIZE_MAX ? NULL : s->kv.slot[i].p;
}

/* kv_set puts the pair (k, v) into the key-value space, replacing any
 * value. Errors: PARLEY_ERR_NOMEM. */
static int kv_set(pl_store *s, const uint8_t *k, uint32_t kl, const uint8_t *v, uint32_t vl)
{
    uint64_t h = st_hash(s, k, kl);
    st_kv *e = malloc(sizeof *e + (size_t)kl + vl);
    if (e == NULL)
        return PARLEY_ERR_NOMEM;
    e->kl = kl;
    e->vl = vl;
    if (kl)
        memcpy(e->data, k, kl);
    if (vl)
        memcpy(e->data + kl, v, vl);
    size_t i = tab_find(&s->kv, h, kv_eq, k, kl);
    if (i != SIZE_MAX) {
        st_kv *old = s->kv.slot[i].p;
        s->live_bytes -= ST_OP_PUT(old->kl, old->vl);
        free(old);
        s->kv.slot[i].p = e;
    } else {
        int rc = tab_insert(&s->kv, h, e);
        if (rc != PARLEY_OK) {
            free(e);
            return rc;
        }
    }
    s->live_bytes += ST_OP_PUT(kl, vl);
    return PARLEY_OK;
}

/* kv_unset removes key k, if present. */
static void kv_unset(pl_store *s, const uint8_t *k, uint32_t kl)
{
    size_t i = tab_find(&s->kv, st_hash(s, k, kl), kv_eq, k, kl);
    if (i == SIZE_MAX)
        return;
    st_kv *old = s->kv.slot[i].p;
    s->live_bytes -= ST_OP_PUT(old->kl, old->vl);
    free(old);
    tab_remove_at(&s->kv, i);
}

/* client_find returns the client of id, or NULL. */
static st_client *client_find(const pl_store *s, const uint8_t id[16])
{
    size_t i = tab_find(&s->clients, st_hash(s, id, 16), client_eq, id, 16);
    return i == SIZE_MAX ? NULL : s->clients.slot[i].p;
}

/* lru_unlink takes c out of the store's list of clients by activity. */
static void lru_unlink(pl_store *s, st_client *c)
{
    if (c->older)
        c->older->newer = c->newer;
    else
        s->oldest = c->newer;
    if (c->newer)
        c->newer->older = c->older;
    else
        s->newest = c->older;
    c->older = c->newer = NULL;
}

/* client_touch records that c was heard of now: its lease starts again. */
static void client_touch(pl_store *s, st_client *c)
{
    c->active = pl_now_ns();
    if (s->newest == c)
        return;
    if (c->older != NULL || s->oldest == c) /* in the list (a new one is not) */
        lru_unlink(s, c);
    c->older = s->newest;
    if (s->newest)
        s->newest->newer = c;
    else
        s->oldest = c;
    s->newest = c;
}

/* client_get returns the client of id, created if new (*created then set,
 * when created is not NULL). Errors: PARLEY_ERR_NOMEM. */
static int client_get(pl_store *s, const uint8_t id[16], st_client **out, int *created)
{
    st_client *c = client_find(s, id);
    if (created)
        *created = c == NULL;
    if (c == NULL) {
        c = calloc(1, sizeof *c);
        if (c == NULL)
            return PARLEY_ERR_NOMEM;
        memcpy(c->id, id, 16);
        c->reg_boot = s->boot; /* made by a call: see st_apply */
        int rc = tab_insert(&s->clients, st_hash(s, id, 16), c);
        if (rc != PARLEY_OK) {
            free(c);
            return rc;
        }
        s->live_bytes += ST_REG_REC; /* what a compaction writes for it */
        client_touch(s, c);
    }
    *out = c;
    return PARLEY_OK;
}

/* call_bytes is what a compaction writes for call c. */
static uint64_t call_bytes(const st_call *c)
{
    return c->state == PL_STORE_DONE ? ST_DONE_REC + (uint64_t)c->len : ST_SMALL_REC;
}

/* client_search returns the index (from head) of the first call of c whose
 * seq is at least seq. */
static size_t client_search(const st_client *c, uint64_t seq)
{
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->calls[c->head + mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* client_call returns the call seq of c, or NULL. */
static st_call *client_call(const st_client *c, uint64_t seq)
{
    size_t i = client_search(c, seq);
    return i < c->n && c->calls[c->head + i].seq == seq ? &c->calls[c->head + i] : NULL;
}

/* client_record records call seq of c as STARTED (reply NULL and state
 * PL_STORE_STARTED) or DONE with the len bytes at reply, which it copies;
 * a DONE replaces a STARTED. A call below the client's acknowledgement is
 * dead on arrival and not kept. Errors: PARLEY_ERR_NOMEM. */
static int client_record(pl_store *s, st_client *c, uint64_t seq, int state, const uint8_t *reply,
                         uint32_t len, uint64_t lsn)
{
    if (seq < c->floor)
        return PARLEY_OK;
    uint8_t *copy = NULL;
    if (state == PL_STORE_DONE && len) {
        copy = malloc(len);
        if (copy == NULL)
            return PARLEY_ERR_NOMEM;
        memcpy(copy, reply, len);
    }
    size_t i = client_search(c, seq);
    st_call *k;
    if (i < c->n && c->calls[c->head + i].seq == seq) {
        k = &c->calls[c->head + i];
        s->live_bytes -= call_bytes(k);
        free(k->reply);
    } else {
        if (c->head + c->n == c->cap) {
            if (c->head > 0) {
                memmove(c->calls, c->calls + c->head, c->n * sizeof *c->calls);
                c->head = 0;
            } else {
                size_t cap = c->cap ? c->cap * 2 : 4;
                st_call *nc = realloc(c->calls, cap * sizeof *nc);
                if (nc == NULL) {
                    free(copy);
                    return PARLEY_ERR_NOMEM;
                }
                c->calls = nc;
                c->cap = cap;
            }
        }
        k = &c->calls[c->head + i];
        memmove(k + 1, k, (c->n - i) * sizeof *k);
        c->n++;
    }
    k->seq = seq;
    k->lsn = lsn;
    k->reply = copy;
    k->len = state == PL_STORE_DONE ? len : 0;
    k->state = (uint8_t)state;
    s->live_bytes += call_bytes(k);
    return PARLEY_OK;
}

/* client_ack raises c's acknowledgement to ack and drops the calls below
 * it. Returns whether the acknowledgement rose. */
static int client_ack(pl_store *s, st_client *c, uint64_t ack)
{
    if (ack <= c->floor)
        return 0;
    c->floor = ack;
    size_t k = client_search(c, ack);
    for (size_t i = 0; i < k; i++) {
        st_call *x = &c->calls[c->head + i];
        s->live_bytes -= call_bytes(x);
        free(x->reply);
    }
    c->head += k;
    c->n -= k;
    if (c->n == 0)
        c->head = 0;
    return 1;
}

/* client_free releases c and the records it holds from the live state. */
static void client_free(pl_store *s, st_client *c)
{
    lru_unlink(s, c);
    for (size_t i = 0; i < c->n; i++) {
        s->live_bytes -= call_bytes(&c->calls[c->head + i]);
        free(c->calls[c->head + i].reply);
    }
    s->live_bytes -= ST_REG_REC;
    free(c->calls);
    free(c);
}

/* client_drop forgets client id entirely. Returns whether it was known. */
static int client_drop(pl_store *s, const uint8_t id[16])
{
    size_t i = tab_find(&s->clients, st_hash(s, id, 16), client_eq, id, 16);
    if (i == SIZE_MAX)
        return 0;
    client_free(s, s->clients.slot[i].p);
    tab_remove_at(&s->clients, i);
    return 1;
}

static void st_new_run(pl_store *s);
static void st_pend_push(pl_store *s, const uint8_t *p, size_t len);

/* tomb_take removes the tomb of id, if any, and returns its next number
 * (0 when there was none). */
static uint64_t tomb_take(pl_store *s, const uint8_t id[16])
{
    size_t i = tab_find(&s->tombs, st_hash(s, id, 16), client_eq, id, 16);
    if (i == SIZE_MAX)
        return 0;
    st_tomb *t = s->tombs.slot[i].p;
    uint64_t next = t->next;
    free(t);
    tab_remove_at(&s->tombs, i);
    return next;
}

/* tomb_restore puts back the tomb of id taken by tomb_take, or, when that
 * cannot be, begins a new run (see client_forget). */
static void tomb_restore(pl_store *s, const uint8_t id[16], uint64_t next)
{
    st_tomb *t = malloc(sizeof *t);
    if (t != NULL) {
        memcpy(t->id, id, 16);
        t->next = next;
    }
    if (t == NULL || tab_insert(&s->tombs, st_hash(s, id, 16), t) != PARLEY_OK) {
        free(t);
        st_new_run(s);
    }
}

/* tombs_clear forgets every tomb (a new run begins). */
static void tombs_clear(pl_store *s)
{
    for (size_t i = 0; i < s->tombs.cap; i++)
        free(s->tombs.slot[i].p);
    free(s->tombs.slot);
    s->tombs.slot = NULL;
    s->tombs.cap = s->tombs.n = 0;
}

/* st_new_run begins a new run of the store: its number one more, written
 * (lazily: it rides before any registration of the new run), the tombs of
 * the old run no longer needed (a call first sent before the new run is
 * told from one sent after by its run, see pl_store_touch). */
static void st_new_run(pl_store *s)
{
    uint8_t p[ST_BOOT_REC - ST_REC_HDR];
    s->boot++;
    p[0] = R_BOOT;
    parley_st_u64(p + 1, s->boot);
    st_pend_push(s, p, sizeof p);
    tombs_clear(s);
}

/* client_forget forgets c (at the end of its lease, or as asked), leaving
 * a tomb with the number below which its calls may have run, and a FORGET
 * record to ride with the next append. When the tombs are full a new run
 * begins instead (st_new_run), which needs none. */
static void client_forget(pl_store *s, st_client *c)
{
    uint8_t p[17];
    uint64_t next = c->floor;
    if (c->n && c->calls[c->head + c->n - 1].seq >= next)
        next = c->calls[c->head + c->n - 1].seq + 1;
    p[0] = R_FORGET;
    memcpy(p + 1, c->id, 16);
    client_drop(s, p + 1);
    st_pend_push(s, p, sizeof p);
    if (s->tombs.n >= s->max_tombs) {
        st_new_run(s);
        return;
    }
    st_tomb *t = malloc(sizeof *t);
    if (t != NULL) {
        memcpy(t->id, p + 1, 16);
        t->next = next;
    }
    if (t == NULL || tab_insert(&s->tombs, st_hash(s, p + 1, 16), t) != PARLEY_OK) {
        free(t);
        st_new_run(s); /* without its tomb, only a new run keeps it safe */
    }
}

/* ---- applying records ----------------------------------------------------- */

/* A reader of a payload, with a sticky error. */
typedef struct st_cur {
    const uint8_t *p;
    size_t n;
    int bad;
} st_cur;

static const uint8_t *cur_take(st_cur *c, size_t n)
{
    if (c->bad || n > c->n) {
        c->bad = 1;
        return NULL;
    }
    const uint8_t *p = c->p;
    c->p += n;
    c->n -= n;
    return p;
}

static uint8_t cur_u8(st_cur *c)
{
    const uint8_t *p = cur_take(c, 1);
    return p ? *p : 0;
}

static uint32_t cur_u32(st_cur *c)
{
    const uint8_t *p = cur_take(c, 4);
    return p ? parley_ld_u32(p) : 0;
}

static uint64_t cur_u64(st_cur *c)
{
    const uint8_t *p = cur_take(c, 8);
    return p ? parley_ld_u64(p) : 0;
}

/* st_apply applies the payload of one record (p, n), whose end is at lsn in
 * the log, to the live state. Open replays the log with it, and the live
 * paths apply what they have just appended with it, so that the state
 * after a reopen cannot differ from the state before. Errors:
 * PARLEY_ERR_STORE (a malformed payload; the state may be partly changed,
 * which only matters to open, which then fails), PARLEY_ERR_NOMEM. */
static int st_apply(pl_store *s, const uint8_t *p, size_t n, uint64_t lsn)
{
    st_cur c = {p, n, 0};
    uint8_t type = cur_u8(&c);
    const uint8_t *id;
    st_client *cl;
    int rc, created = 0;

    switch (type) {
    case R_TXN: {
        uint8_t flags = cur_u8(&c);
        uint64_t seq = 0;
        id = NULL;
        if (flags & TXN_CALL) {
            id = cur_take(&c, 16);
            seq = cur_u64(&c);
        }
        uint32_t nops = cur_u32(&c);
        for (uint32_t i = 0; i < nops && !c.bad; i++) {
            uint8_t op = cur_u8(&c);
            uint32_t kl = cur_u32(&c);
            const uint8_t *k = cur_take(&c, kl);
            if (op == OP_PUT) {
                uint32_t vl = cur_u32(&c);
                const uint8_t *v = cur_take(&c, vl);
                if (c.bad)
                    break;
                if ((rc = kv_set(s, k, kl, v, vl)) != PARLEY_OK)
                    return rc;
            } else if (op == OP_DEL) {
                if (c.bad)
                    break;
                kv_unset(s, k, kl);
            } else {
                c.bad = 1;
            }
        }
        if (flags & TXN_CALL) {
            uint32_t rl = cur_u32(&c);
            const uint8_t *r = cur_take(&c, rl);
            if (c.bad || c.n)
                return PARLEY_ERR_STORE;
            if ((rc = client_get(s, id, &cl, &created)) != PARLEY_OK)
                return rc;
            if (created) /* see below */
                client_ack(s, cl, seq);
            return client_record(s, cl, seq, PL_STORE_DONE, r, rl, lsn);
        }
        break;
    }
    case R_STARTED:
    case R_ACK: {
        id = cur_take(&c, 16);
        uint64_t v = cur_u64(&c);
        if (c.bad || c.n)
            return PARLEY_ERR_STORE;
        if ((rc = client_get(s, id, &cl, &created)) != PARLEY_OK)
            return rc;
        if (type == R_ACK) {
            /* an acknowledgement of a client not known: a log written
             * before registrations had their own record */
            client_ack(s, cl, v);
            if (created) /* a log written before registrations had runs */
                cl->reg_boot = 0;
            return PARLEY_OK;
        }
        /* A call of a client not known (forgotten at the end of its lease
         * while the call ran, or from a log written before registrations)
         * makes it known again with the call as its floor: no copy of an
         * older call, which may have run before it was forgotten, can then
         * be taken for a new one. */
        if (created)
            client_ack(s, cl, v);
        return client_record(s, cl, v, PL_STORE_STARTED, NULL, 0, lsn);
    }
    case R_FORGET:
        id = cur_take(&c, 16);
        if (c.bad || c.n)
            return PARLEY_ERR_STORE;
        client_drop(s, id);
        return PARLEY_OK;
    case R_REG: {
        id = cur_take(&c, 16);
        uint64_t floor = cur_u64(&c), boot = cur_u64(&c);
        if (c.bad || c.n)
            return PARLEY_ERR_STORE;
        if ((rc = client_get(s, id, &cl, &created)) != PARLEY_OK)
            return rc;
        client_ack(s, cl, floor);
        if (created) {
            cl->reg_boot = boot;
            cl->reg_lsn = lsn;
        }
        return PARLEY_OK;
    }
    case R_BOOT: {
        uint64_t boot = cur_u64(&c);
        if (c.bad || c.n)
            return PARLEY_ERR_STORE;
        if (boot > s->boot)
            s->boot = boot;
        return PARLEY_OK;
    }
    default:
        return PARLEY_ERR_STORE;
    }
    return c.bad || c.n ? PARLEY_ERR_STORE : PARLEY_OK;
}

/* ---- the log -------------------------------------------------------------- */

/* st_rec_crc is the checksum of the record whose header is at hdr. */
static uint32_t st_rec_crc(const uint8_t salt[8], const uint8_t *hdr, const uint8_t *payload,
                           size_t len)
{
    uint32_t crc = pl_crc32c(0, salt, 8);
    crc = pl_crc32c(crc, hdr + 4, 12);
    return pl_crc32c(crc, payload, len);
}

/* st_seal writes the header of a record of len payload bytes into the
 * ST_REC_HDR bytes at rec, the payload following them, for offset off of
 * the log. */
static void st_seal(const pl_store *s, uint8_t *rec, size_t len, uint64_t off)
{
    uint64_t stable = s->durability == PL_DUR_PROCESS ? off : s->synced_off;
    parley_st_u32(rec, ST_REC_MAGIC);
    parley_st_u32(rec + 4, (uint32_t)len);
    parley_st_u64(rec + 8, stable);
    parley_st_u32(rec + 16, st_rec_crc(s->salt, rec, rec + ST_REC_HDR, len));
}

/* st_check tells whether a whole, good record starts at off of the n bytes
 * of the file at buf, with its payload length in *len. */
static int st_check(const uint8_t *buf, size_t n, size_t off, const uint8_t salt[8], size_t *len)
{
    if (n - off < ST_REC_HDR || parley_ld_u32(buf + off) != ST_REC_MAGIC)
        return 0;
    size_t l = parley_ld_u32(buf + off + 4);
    if (l > n - off - ST_REC_HDR)
        return 0;
    if (st_rec_crc(salt, buf + off, buf + off + ST_REC_HDR, l) != parley_ld_u32(buf + off + 16))
        return 0;
    *len = l;
    return 1;
}

/* st_pend_push adds a record of the len payload bytes at p to those that
 * ride along with the next append, written on their own when they pile up.
 * Acknowledgements and forgets are advisory, so failing to keep one (out
 * of memory, or no space) loses nothing but room. */
static void st_pend_push(pl_store *s, const uint8_t *p, size_t len)
{
    size_t need = s->pend_len + ST_REC_HDR + len;
    if (need > s->pend_cap) {
        size_t cap = s->pend_cap ? s->pend_cap * 2 : 1024;
        while (cap < need)
            cap *= 2;
        uint8_t *np = realloc(s->pend, cap);
        if (np == NULL)
            return;
        s->pend = np;
        s->pend_cap = cap;
    }
    parley_st_u32(s->pend + s->pend_len + 4, (uint32_t)len);
    memcpy(s->pend + s->pend_len + ST_REC_HDR, p, len);
    s->pend_len = need;
}

/* st_append writes the pending records and then, when rec is not NULL, the
 * record of len payload bytes at rec + ST_REC_HDR, in one write at the end
 * of the log, and sets *end_lsn to the LSN after it. A failed write is cut
 * off again, and the next append overwrites whatever of it remains, so the
 * log never keeps half a record before a whole one. Called with mu held.
 * Errors: PARLEY_ERR_NO_SPACE, PARLEY_ERR_STORE, the store's sticky error. */
static int st_append(pl_store *s, uint8_t *rec, size_t len, uint64_t *end_lsn)
{
    struct iovec iov[2];
    int cnt = 0;
    uint64_t off = s->file_size;

    if (s->err)
        return s->err;
    for (size_t at = 0; at < s->pend_len;) {
        size_t l = parley_ld_u32(s->pend + at + 4);
        st_seal(s, s->pend + at, l, off + at);
        at += ST_REC_HDR + l;
    }
    if (s->pend_len)
        iov[cnt++] = (struct iovec){s->pend, s->pend_len};
    if (rec != NULL) {
        st_seal(s, rec, len, off + s->pend_len);
        iov[cnt++] = (struct iovec){rec, ST_REC_HDR + len};
    }
    uint64_t total = s->pend_len + (rec ? ST_REC_HDR + len : 0);
    if (total == 0) {
        *end_lsn = s->written_lsn;
        return PARLEY_OK;
    }
    int e = st_pwritev(s->fd, iov, cnt, off);
    if (e != 0) {
        if (ftruncate(s->fd, (off_t)off) < 0) {
            /* the next append overwrites the remains from off */
        }
        return st_errno(e);
    }
    s->file_size += total;
    s->written_lsn += total;
    s->pend_len = 0;
    *end_lsn = s->written_lsn;
    return PARLEY_OK;
}

/* st_wait_durable waits until a sync covers the log up to lsn, syncing as
 * the leader of a group when no sync is under way (group commit). Called
 * and returns with mu held, but releases it while syncing or waiting. A
 * failed sync fails the store for good: after a failed fdatasync the
 * kernel may have dropped the dirty pages, and whether they reached the
 * disk cannot be known. Errors: PARLEY_ERR_STORE. */
static int st_wait_durable(pl_store *s, uint64_t lsn)
{
    while (s->synced_lsn < lsn) {
        if (s->err)
            return s->err;
        if (s->syncing) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        uint64_t target = s->written_lsn, target_off = s->file_size;
        int fd = s->fd;
        s->syncing = 1;
        pthread_mutex_unlock(&s->mu);
        int rc = fdatasync(fd);
        pthread_mutex_lock(&s->mu);
        s->syncing = 0;
        if (rc == 0) {
            /* a compaction waits for syncs to end: fd is still the log */
            if (target > s->synced_lsn)
                s->synced_lsn = target;
            if (target_off > s->synced_off)
                s->synced_off = target_off;
            s->st.syncs++;
        } else {
            s->err = PARLEY_ERR_STORE;
        }
        pthread_cond_broadcast(&s->cv);
    }
    return PARLEY_OK;
}

/* ---- compaction ------------------------------------------------------------ */

/* A compaction's output: a buffer written to fd when it fills. */
typedef struct st_out {
    pl_store *s;
    int fd;
    uint8_t salt[8];
    uint8_t *buf;
    size_t len, cap;
    uint64_t off; /* bytes of the new file written so far, buffer included */
    int err;      /* an errno */
} st_out;

/* out_flush writes the buffer to the new file. */
static void out_flush(st_out *o)
{
    if (o->err || o->len == 0)
        return;
    struct iovec iov = {o->buf, o->len};
    o->err = st_pwritev(o->fd, &iov, 1, o->off - o->len);
    o->len = 0;
}

/* out_room returns room for n bytes in the buffer, flushing or growing it. */
static uint8_t *out_room(st_out *o, size_t n)
{
    if (o->len + n > o->cap)
        out_flush(o);
    if (n > o->cap) {
        uint8_t *nb = realloc(o->buf, n);
        if (nb == NULL) {
            o->err = ENOMEM;
            return NULL;
        }
        o->buf = nb;
        o->cap = n;
    }
    return o->err ? NULL : o->buf + o->len;
}

/* out_record seals the record of len payload bytes just built in the
 * buffer (after ST_REC_HDR bytes of room) and counts it. Every record of
 * a compacted file is stable at its own offset: the file is synced before
 * it becomes the log. */
static void out_record(st_out *o, size_t len)
{
    uint8_t *rec = o->buf + o->len;
    parley_st_u32(rec, ST_REC_MAGIC);
    parley_st_u32(rec + 4, (uint32_t)len);
    parley_st_u64(rec + 8, o->off);
    parley_st_u32(rec + 16, st_rec_crc(o->salt, rec, rec + ST_REC_HDR, len));
    o->len += ST_REC_HDR + len;
    o->off += ST_REC_HDR + len;
}

/* out_small writes a STARTED or ACK record. */
static void out_small(st_out *o, uint8_t type, const uint8_t id[16], uint64_t v)
{
    uint8_t *r = out_room(o, ST_SMALL_REC);
    if (r == NULL)
        return;
    r[ST_REC_HDR] = type;
    memcpy(r + ST_REC_HDR + 1, id, 16);
    parley_st_u64(r + ST_REC_HDR + 17, v);
    out_record(o, ST_SMALL_REC - ST_REC_HDR);
}

/* out_reg writes the registration of client c, its floor and its run. */
static void out_reg(st_out *o, const st_client *c)
{
    uint8_t *r = out_room(o, ST_REG_REC);
    if (r == NULL)
        return;
    r[ST_REC_HDR] = R_REG;
    memcpy(r + ST_REC_HDR + 1, c->id, 16);
    parley_st_u64(r + ST_REC_HDR + 17, c->floor);
    parley_st_u64(r + ST_REC_HDR + 25, c->reg_boot);
    out_record(o, ST_REG_REC - ST_REC_HDR);
}

/* out_boot writes the store's run number. */
static void out_boot(st_out *o, uint64_t boot)
{
    uint8_t *r = out_room(o, ST_BOOT_REC);
    if (r == NULL)
        return;
    r[ST_REC_HDR] = R_BOOT;
    parley_st_u64(r + ST_REC_HDR + 1, boot);
    out_record(o, ST_BOOT_REC - ST_REC_HDR);
}

/* out_done writes a completion record as a TXN without puts. */
static void out_done(st_out *o, const uint8_t id[16], const st_call *k)
{
    uint8_t *r = out_room(o, ST_DONE_REC + (size_t)k->len);
    if (r == NULL)
        return;
    uint8_t *p = r + ST_REC_HDR;
    p[0] = R_TXN;
    p[1] = TXN_CALL;
    memcpy(p + 2, id, 16);
    parley_st_u64(p + 18, k->seq);
    parley_st_u32(p + 26, 0);
    parley_st_u32(p + 30, k->len);
    if (k->len)
        memcpy(p + 34, k->reply, k->len);
    out_record(o, ST_DONE_REC - ST_REC_HDR + (size_t)k->len);
}

/* out_kv writes the key-value space as TXN records without calls of about
 * ST_KV_CHUNK bytes each. */
static void out_kv(st_out *o, const st_table *kv)
{
    size_t i = 0;
    while (i < kv->cap && !o->err) {
        /* gather the pairs of one record */
        size_t j = i, bytes = 0;
        uint32_t n = 0;
        for (; j < kv->cap; j++) {
            const st_kv *e = kv->slot[j].p;
            if (e == NULL)
                continue;
            size_t b = (size_t)ST_OP_PUT(e->kl, e->vl);
            if (n > 0 && bytes + b > ST_KV_CHUNK)
                break;
            bytes += b;
            n++;
        }
        if (n == 0)
            break;
        size_t plen = 1 + 1 + 4 + bytes;
        uint8_t *r = out_room(o, ST_REC_HDR + plen);
        if (r == NULL)
            return;
        uint8_t *p = r + ST_REC_HDR;
        *p++ = R_TXN;
        *p++ = 0;
        parley_st_u32(p, n);
        p += 4;
        for (; i < j; i++) {
            const st_kv *e = kv->slot[i].p;
            if (e == NULL)
                continue;
            *p++ = OP_PUT;
            parley_st_u32(p, e->kl);
            memcpy(p + 4, e->data, e->kl);
            p += 4 + e->kl;
            parley_st_u32(p, e->vl);
            memcpy(p + 4, e->data + e->kl, e->vl);
            p += 4 + e->vl;
        }
        out_record(o, plen);
    }
}

/* st_file_header writes the 32-byte header with salt into h. */
static void st_file_header(uint8_t h[ST_FILE_HDR], const uint8_t salt[8])
{
    memset(h, 0, ST_FILE_HDR);
    memcpy(h, ST_FILE_MAGIC, 8);
    parley_st_u32(h + 8, ST_VERSION);
    memcpy(h + 16, salt, 8);
    parley_st_u32(h + 28, pl_crc32c(0, h, 28));
}

/* st_compact rewrites the log as its live state (see the file's opening
 * comment). The caller holds mu and the writer role, so that neither the
 * key-value space nor the clients change under it. On failure the old log
 * stays as it was and the temporary file is removed. Errors:
 * PARLEY_ERR_NO_SPACE, PARLEY_ERR_STORE, PARLEY_ERR_NOMEM; after the
 * rename, a directory that cannot be synced fails the store (a power loss
 * could bring back the old file without the records appended since). */
static int st_compact(pl_store *s)
{
    st_out o = {.s = s, .fd = -1};
    struct stat sb;
    int rc;

    while (s->syncing)
        pthread_cond_wait(&s->cv, &s->mu);
    if (s->err)
        return s->err;
    if (fstat(s->fd, &sb) < 0)
        sb.st_mode = 0600;
    o.fd = open(s->tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, sb.st_mode & 0777);
    if (o.fd < 0)
        return st_errno(errno);
    if (flock(o.fd, LOCK_EX | LOCK_NB) < 0) {
        rc = PARLEY_ERR_STORE;
        goto fail;
    }
    o.cap = ST_COMPACT_BUF;
    o.buf = malloc(o.cap);
    if (o.buf == NULL) {
        rc = PARLEY_ERR_NOMEM;
        goto fail;
    }
    st_random(o.salt, sizeof o.salt);
    st_file_header(o.buf, o.salt);
    o.len = o.off = ST_FILE_HDR;
    out_boot(&o, s->boot);
    for (size_t i = 0; i < s->clients.cap && !o.err; i++) {
        const st_client *c = s->clients.slot[i].p;
        if (c == NULL)
            continue;
        out_reg(&o, c);
        for (size_t k = 0; k < c->n && !o.err; k++) {
            const st_call *x = &c->calls[c->head + k];
            if (x->state == PL_STORE_DONE)
                out_done(&o, c->id, x);
            else
                out_small(&o, R_STARTED, c->id, x->seq);
        }
    }
    out_kv(&o, &s->kv);
    out_flush(&o);
    if (o.err == 0 && fsync(o.fd) < 0)
        o.err = errno;
    if (o.err) {
        rc = st_errno(o.err);
        goto fail;
    }
    if (rename(s->tmp_path, s->path) < 0) {
        rc = st_errno(errno);
        goto fail;
    }
    /* The new file is the log now, whatever happens next. */
    close(s->fd);
    s->fd = o.fd;
    memcpy(s->salt, o.salt, sizeof s->salt);
    s->file_size = s->synced_off = o.off;
    s->synced_lsn = s->written_lsn;
    s->pend_len = 0; /* the acknowledgements are in the new file */
    s->retry_at = 0;
    s->st.compactions++;
    pthread_cond_broadcast(&s->cv); /* waiters for a sync are covered now */
    free(o.buf);
    if (st_fsync_dir(s) != 0 && st_fsync_dir(s) != 0) {
        s->err = PARLEY_ERR_STORE;
        return s->err;
    }
    return PARLEY_OK;

fail:
    free(o.buf);
    close(o.fd);
    unlink(s->tmp_path);
    s->retry_at = s->file_size + (s->max_bytes / 4 > 4096 ? s->max_bytes / 4 : 4096);
    return rc;
}

/* st_dead_dominates tells whether at least half of the log is dead. */
static int st_dead_dominates(const pl_store *s)
{
    return s->live_bytes + ST_FILE_HDR <= s->file_size / 2;
}

/* st_maybe_compact compacts when the log has passed its bound and dead
 * records dominate it. The caller holds mu and the writer role. A failure
 * leaves the log as it was, and the next try waits for it to grow a
 * quarter of max_bytes more; the caller's own operation has succeeded. */
static void st_maybe_compact(pl_store *s)
{
    if (s->file_size >= s->max_bytes && s->file_size >= s->retry_at && st_dead_dominates(s))
        (void)st_compact(s);
}

/* ---- open and close ----------------------------------------------------- */

/* st_create makes an empty log at path: a header written to the temporary
 * name, synced, renamed, and the directory synced, so that a crash never
 * leaves a log without its header. */
static int st_create(pl_store *s)
{
    uint8_t h[ST_FILE_HDR], salt[8];
    int rc = PARLEY_OK;

    st_random(salt, sizeof salt);
    st_file_header(h, salt);
    int fd = open(s->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return st_errno(errno);
    struct iovec iov = {h, sizeof h};
    int e = st_pwritev(fd, &iov, 1, 0);
    if (e == 0 && fsync(fd) < 0)
        e = errno;
    close(fd);
    if (e == 0 && rename(s->tmp_path, s->path) < 0)
        e = errno;
    if (e == 0)
        e = st_fsync_dir(s);
    if (e != 0) {
        unlink(s->tmp_path);
        rc = st_errno(e);
    }
    return rc;
}

/* st_read_all reads the whole file fd, of size n, into a new buffer. */
static int st_read_all(int fd, size_t n, uint8_t **out)
{
    uint8_t *b = malloc(n ? n : 1);
    if (b == NULL)
        return PARLEY_ERR_NOMEM;
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, b + got, n - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(b);
            return PARLEY_ERR_STORE;
        }
        got += (size_t)r;
    }
    *out = b;
    return PARLEY_OK;
}

/* st_replay replays the log at fd into s, cutting a torn tail off (see the
 * file's opening comment). Errors: PARLEY_ERR_STORE (not a store, a damaged
 * record, a record that makes no sense), PARLEY_ERR_NOMEM. */
static int st_replay(pl_store *s)
{
    struct stat sb;
    uint8_t *buf = NULL;
    int rc;

    if (fstat(s->fd, &sb) < 0)
        return PARLEY_ERR_STORE;
    size_t n = (size_t)sb.st_size;
    if (n < ST_FILE_HDR)
        return PARLEY_ERR_STORE;
    if ((rc = st_read_all(s->fd, n, &buf)) != PARLEY_OK)
        return rc;
    if (memcmp(buf, ST_FILE_MAGIC, 8) != 0 || parley_ld_u32(buf + 8) != ST_VERSION ||
        parley_ld_u32(buf + 28) != pl_crc32c(0, buf, 28)) {
        rc = PARLEY_ERR_STORE;
        goto out;
    }
    memcpy(s->salt, buf + 16, 8);

    size_t off = ST_FILE_HDR, len;
    while (off < n) {
        if (st_check(buf, n, off, s->salt, &len)) {
            rc = st_apply(s, buf + off + ST_REC_HDR, len, 0);
            if (rc != PARLEY_OK)
                goto out;
            off += ST_REC_HDR + len;
            continue;
        }
        /* A bad record: torn tail, or damage? */
        for (size_t p = off + 1; p + ST_REC_HDR <= n; p++) {
            if (parley_ld_u32(buf + p) == ST_REC_MAGIC && st_check(buf, n, p, s->salt, &len) &&
                parley_ld_u64(buf + p + 8) > off) {
                rc = PARLEY_ERR_STORE;
                goto out;
            }
        }
        if (ftruncate(s->fd, (off_t)off) < 0) {
            rc = PARLEY_ERR_STORE;
            goto out;
        }
        s->st.torn_bytes = n - off;
        n = off;
        break;
    }
    s->file_size = n;
    rc = PARLEY_OK;
out:
    free(buf);
    return rc;
}

/* st_paths derives the temporary name and the directory from path. */
static int st_paths(pl_store *s, const char *path)
{
    size_t n = strlen(path);
    s->path = strdup(path);
    s->tmp_path = malloc(n + sizeof ".compact");
    const char *slash = strrchr(path, '/');
    s->dir_path = slash == NULL   ? strdup(".")
                  : slash == path ? strdup("/")
                                  : strndup(path, (size_t)(slash - path));
    if (s->path == NULL || s->tmp_path == NULL || s->dir_path == NULL)
        return PARLEY_ERR_NOMEM;
    memcpy(s->tmp_path, path, n);
    memcpy(s->tmp_path + n, ".compact", sizeof ".compact");
    return PARLEY_OK;
}

/* st_free releases everything s holds (the log's fd included). */
static void st_free(pl_store *s)
{
    for (size_t i = 0; i < s->clients.cap; i++)
        if (s->clients.slot[i].p != NULL)
            client_free(s, s->clients.slot[i].p);
    for (size_t i = 0; i < s->kv.cap; i++)
        free(s->kv.slot[i].p);
    tombs_clear(s);
    free(s->clients.slot);
    free(s->kv.slot);
    if (s->fd >= 0)
        close(s->fd);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s->pend);
    free(s->wbuf);
    free(s->path);
    free(s->tmp_path);
    free(s->dir_path);
    free(s);
}

/* pl_store_open opens the completion store at path, creating an empty one
 * when there is no file, and replays it: a torn tail (a crash while
 * appending) is cut off, and a damaged record that had been reported
 * durable fails the open rather than being skipped with all that follows
 * it. The store takes an exclusive lock on the file: one process at a
 * time. o may be NULL for every default (see pl_store_opts). On success
 * *out is a store that the caller closes with pl_store_close.
 * Errors: PARLEY_ERR_NULL, PARLEY_ERR_INVALID (a setting out of range),
 * PARLEY_ERR_STORE (not a store, damaged, locked by another process, or
 * cannot be read or created), PARLEY_ERR_NO_SPACE (while creating it),
 * PARLEY_ERR_NOMEM. */
int pl_store_open(pl_store **out, const char *path, const pl_store_opts *o)
{
    static const pl_store_opts none;
    pl_store *s;
    int rc;

    if (out == NULL || path == NULL)
        return PARLEY_ERR_NULL;
    if (o == NULL)
        o = &none;
    if (o->durability != 0 && o->durability != PL_DUR_PROCESS && o->durability != PL_DUR_MACHINE)
        return PARLEY_ERR_INVALID;
    if (o->max_txn > ST_MAX_TXN_CAP || *path == '\0')
        return PARLEY_ERR_INVALID;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return PARLEY_ERR_NOMEM;
    s->fd = -1;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return PARLEY_ERR_NOMEM;
    }
    if (pthread_cond_init(&s->cv, NULL) != 0) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        return PARLEY_ERR_NOMEM;
    }
    s->durability = o->durability ? o->durability : PL_DUR_MACHINE;
    s->max_bytes = o->max_bytes ? o->max_bytes : PL_STORE_DEFAULT_MAX_BYTES;
    s->max_key = o->max_key ? o->max_key : PL_STORE_DEFAULT_MAX_KEY;
    s->max_value = o->max_value ? o->max_value : PL_STORE_DEFAULT_MAX_VALUE;
    s->max_reply = o->max_reply ? o->max_reply : PL_STORE_DEFAULT_MAX_REPLY;
    s->max_txn = o->max_txn ? o->max_txn : PL_STORE_DEFAULT_MAX_TXN;
    s->max_clients = o->max_clients ? o->max_clients : PL_STORE_DEFAULT_MAX_CLIENTS;
    s->txn.s = s;
    st_random(s->hseed, sizeof s->hseed);
    s->hseed[1] |= 1;
    s->live_bytes = ST_FILE_HDR + ST_BOOT_REC;
    s->max_tombs = o->max_tombs ? o->max_tombs : 4 * s->max_clients;
    if ((rc = st_paths(s, path)) != PARLEY_OK)
        goto fail;

    s->fd = open(path, O_RDWR | O_CLOEXEC);
    if (s->fd < 0 && errno == ENOENT) {
        if ((rc = st_create(s)) != PARLEY_OK)
            goto fail;
        s->fd = open(path, O_RDWR | O_CLOEXEC);
    }
    if (s->fd < 0) {
        rc = errno == ENOMEM ? PARLEY_ERR_NOMEM : PARLEY_ERR_STORE;
        goto fail;
    }
    if (flock(s->fd, LOCK_EX | LOCK_NB) < 0) {
        rc = PARLEY_ERR_STORE;
        goto fail;
    }
    unlink(s->tmp_path); /* a compaction cut short by a crash */
    if ((rc = st_replay(s)) != PARLEY_OK)
        goto fail;
    /* this run's number, in the log before anything of the run */
    {
        uint8_t rec[ST_BOOT_REC];
        uint64_t end;
        rec[ST_REC_HDR] = R_BOOT;
        parley_st_u64(rec + ST_REC_HDR + 1, s->boot + 1);
        if ((rc = st_append(s, rec, ST_BOOT_REC - ST_REC_HDR, &end)) != PARLEY_OK)
            goto fail;
        s->boot++;
    }
    if (s->durability == PL_DUR_MACHINE && fdatasync(s->fd) < 0) {
        rc = PARLEY_ERR_STORE;
        goto fail;
    }
    s->synced_off = s->file_size;
    if (s->file_size >= s->max_bytes && st_dead_dominates(s)) {
        pthread_mutex_lock(&s->mu);
        (void)st_compact(s);
        pthread_mutex_unlock(&s->mu);
    }
    *out = s;
    return PARLEY_OK;

fail:
    st_free(s);
    return rc;
}

/* pl_store_close writes the pending acknowledgements (best effort: they are
 * advisory) and releases the store. No transaction may be open and no other
 * thread may be using s. NULL is a no-op. */
void pl_store_close(pl_store *s)
{
    uint64_t end;

    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    while (s->syncing)
        pthread_cond_wait(&s->cv, &s->mu);
    if (s->pend_len)
        (void)st_append(s, NULL, 0, &end);
    pthread_mutex_unlock(&s->mu);
    st_free(s);
}

/* ---- transactions --------------------------------------------------------- */

/* st_writer_take waits for the writer role and takes it. Called with mu. */
static void st_writer_take(pl_store *s)
{
    while (s->writer)
        pthread_cond_wait(&s->cv, &s->mu);
    s->writer = 1;
}

/* st_writer_give gives up the writer role. Called with mu. */
static void st_writer_give(pl_store *s)
{
    s->writer = 0;
    pthread_cond_broadcast(&s->cv);
}

/* txn_clear frees the puts and deletes of t. */
static void txn_clear(pl_store_txn *t)
{
    st_op *op = t->ops;
    while (op != NULL) {
        st_op *next = op->next;
        free(op);
        op = next;
    }
    t->ops = t->last = NULL;
    t->nops = 0;
    t->bytes = 0;
}

/* pl_store_begin starts a transaction on s, waiting while another one is
 * under way: transactions run one at a time, and are serializable by that.
 * The transaction is the store's; it ends with pl_store_commit or
 * pl_store_abort, from any thread. Errors: PARLEY_ERR_NULL, the store's
 * sticky error (PARLEY_ERR_STORE after a failed sync). */
int pl_store_begin(pl_store *s, pl_store_txn **out)
{
    if (s == NULL || out == NULL)
        return PARLEY_ERR_NULL;
    pthread_mutex_lock(&s->mu);
    st_writer_take(s);
    if (s->err) {
        int rc = s->err;
        st_writer_give(s);
        pthread_mutex_unlock(&s->mu);
        return rc;
    }
    pthread_mutex_unlock(&s->mu);
    *out = &s->txn;
    return PARLEY_OK;
}

/* txn_find returns t's own put or delete of key k, or NULL. */
static st_op *txn_find(const pl_store_txn *t, const void *k, size_t kl)
{
    for (st_op *op = t->ops; op != NULL; op = op->next)
        if (op->kl == kl && (kl == 0 || memcmp(op->data, k, kl) == 0))
            return op;
    return NULL;
}

/* pl_store_get finds key (k, kl) as the transaction sees it: the committed
 * state with its own puts and deletes over it. *v is the value and *vl its
 * length, or NULL and 0 when the key has none (an empty value has a
 * non-NULL *v). The value belongs to the store and stays valid until the
 * transaction puts or deletes that key or ends. Errors: PARLEY_ERR_NULL,
 * PARLEY_ERR_TOO_LONG (a key longer than max_key). */
int pl_store_get(pl_store_txn *t, const void *k, size_t kl, const void **v, size_t *vl)
{
    static const uint8_t empty[1];

    if (t == NULL || v == NULL || vl == NULL || (k == NULL && kl))
        return PARLEY_ERR_NULL;
    if (kl > t->s->max_key)
        return PARLEY_ERR_TOO_LONG;
    const st_op *op = txn_find(t, k, kl);
    if (op != NULL) {
        *v = op->del ? NULL : op->vl ? op->data + op->kl : empty;
        *vl = op->del ? 0 : op->vl;
        return PARLEY_OK;
    }
    /* The writer role keeps the key-value space still: no lock needed. */
    const st_kv *e = kv_find(t->s, k, kl, st_hash(t->s, k, kl));
    *v = e == NULL ? NULL : e->vl ? e->data + e->kl : empty;
    *vl = e == NULL ? 0 : e->vl;
    return PARLEY_OK;
}

/* txn_set records a put (del 0) or a delete of key k in t, replacing an
 * earlier one of the same key. */
static int txn_set(pl_store_txn *t, const void *k, size_t kl, const void *v, size_t vl, int del)
{
    pl_store *s = t->s;

    if (k == NULL && kl)
        return PARLEY_ERR_NULL;
    if (kl > s->max_key || vl > s->max_value)
        return PARLEY_ERR_TOO_LONG;
    uint64_t add = del ? 1 + 4 + (uint64_t)kl : ST_OP_PUT(kl, vl);
    st_op *old = txn_find(t, k, kl);
    uint64_t sub = old == NULL ? 0 : old->del ? 1 + 4 + (uint64_t)old->kl : ST_OP_PUT(kl, old->vl);
    if (1 + 1 + 4 + t->bytes - sub + add > s->max_txn) /* as txn_encode counts */
        return PARLEY_ERR_TOO_LONG;
    st_op *op = malloc(sizeof *op + kl + vl);
    if (op == NULL)
        return PARLEY_ERR_NOMEM;
    op->next = NULL;
    op->del = (uint8_t)del;
    op->kl = (uint32_t)kl;
    op->vl = (uint32_t)vl;
    if (kl)
        memcpy(op->data, k, kl);
    if (vl)
        memcpy(op->data + kl, v, vl);
    if (old != NULL) {
        /* take old's place in the list, keeping the order of first puts */
        st_op **pp = &t->ops;
        while (*pp != old)
            pp = &(*pp)->next;
        op->next = old->next;
        *pp = op;
        if (t->last == old)
            t->last = op;
        free(old);
    } else {
        if (t->last)
            t->last->next = op;
        else
            t->ops = op;
        t->last = op;
        t->nops++;
    }
    t->bytes = t->bytes - sub + add;
    return PARLEY_OK;
}

/* pl_store_put sets key (k, kl) to the value (v, vl) in the transaction,
 * copying both; the store sees it when the transaction commits. A key's
 * later put or delete replaces an earlier one. Errors: PARLEY_ERR_NULL,
 * PARLEY_ERR_TOO_LONG (key over max_key, value over max_value, or the
 * transaction over max_txn), PARLEY_ERR_NOMEM. On an error the transaction
 * is as it was and may go on. */
int pl_store_put(pl_store_txn *t, const void *k, size_t kl, const void *v, size_t vl)
{
    if (t == NULL || (v == NULL && vl))
        return PARLEY_ERR_NULL;
    return txn_set(t, k, kl, v, vl, 0);
}

/* pl_store_del deletes key (k, kl) in the transaction (a key that has no
 * value is no error). Errors as pl_store_put. */
int pl_store_del(pl_store_txn *t, const void *k, size_t kl)
{
    if (t == NULL)
        return PARLEY_ERR_NULL;
    return txn_set(t, k, kl, NULL, 0, 1);
}

/* pl_store_abort ends the transaction with nothing written. NULL is a
 * no-op. */
void pl_store_abort(pl_store_txn *t)
{
    if (t == NULL)
        return;
    txn_clear(t);
    pthread_mutex_lock(&t->s->mu);
    st_writer_give(t->s);
    pthread_mutex_unlock(&t->s->mu);
}

/* txn_encode builds t's TXN record in the writer's buffer, with the call
 * (id, seq, reply) when id is not NULL, leaving ST_REC_HDR bytes of room
 * for the header; *plen is the payload's length. Errors: PARLEY_ERR_TOO_LONG,
 * PARLEY_ERR_NOMEM. */
static int txn_encode(pl_store_txn *t, const uint8_t *id, uint64_t seq, const void *reply,
                      size_t len, size_t *plen)
{
    pl_store *s = t->s;
    uint64_t n = 1 + 1 + 4 + t->bytes + (id ? 16 + 8 + 4 + (uint64_t)len : 0);

    if (n > s->max_txn || n > UINT32_MAX)
        return PARLEY_ERR_TOO_LONG;
    if (ST_REC_HDR + n > s->wbuf_cap) {
        size_t cap = s->wbuf_cap ? s->wbuf_cap : 4096;
        while (cap < ST_REC_HDR + n)
            cap *= 2;
        uint8_t *nb = realloc(s->wbuf, cap);
        if (nb == NULL)
            return PARLEY_ERR_NOMEM;
        s->wbuf = nb;
        s->wbuf_cap = cap;
    }
    uint8_t *p = s->wbuf + ST_REC_HDR;
    *p++ = R_TXN;
    *p++ = id ? TXN_CALL : 0;
    if (id) {
        memcpy(p, id, 16);
        parley_st_u64(p + 16, seq);
        p += 24;
    }
    parley_st_u32(p, t->nops);
    p += 4;
    for (const st_op *op = t->ops; op != NULL; op = op->next) {
        *p++ = op->del ? OP_DEL : OP_PUT;
        parley_st_u32(p, op->kl);
        memcpy(p + 4, op->data, op->kl);
        p += 4 + op->kl;
        if (!op->del) {
            parley_st_u32(p, op->vl);
            memcpy(p + 4, op->data + op->kl, op->vl);
            p += 4 + op->vl;
        }
    }
    if (id) {
        parley_st_u32(p, (uint32_t)len);
        if (len)
            memcpy(p + 4, reply, len);
        p += 4 + len;
    }
    *plen = (size_t)n;
    return PARLEY_OK;
}

/* pl_store_commit commits the transaction and, when id is not NULL, the
 * completion record of call (id, seq) with its len-byte reply, as one log
 * record: all of it survives a crash or none of it does. It returns when
 * the record is durable at the store's durability; the writer role is
 * given up before waiting for the sync. The transaction ends whatever the
 * outcome; after an error nothing of it is applied. Errors:
 * PARLEY_ERR_NULL, PARLEY_ERR_TOO_LONG (a reply over max_reply, or the
 * transaction over max_txn), PARLEY_ERR_INVALID (the call is already
 * completed, or below the client's acknowledgement: running it again
 * would break exactly-once), PARLEY_ERR_NO_SPACE (the disk is full; the
 * store goes on serving, and later commits may succeed), PARLEY_ERR_STORE
 * (a write failed: nothing applied), PARLEY_ERR_IO (the record was written
 * and applied, and the sync after it failed: whether it survives the
 * machine's crash is unknown; the store refuses every write until
 * reopened), PARLEY_ERR_NOMEM. */
int pl_store_commit(pl_store_txn *t, const uint8_t id[16], uint64_t seq, const void *reply,
                    size_t len)
{
    if (t == NULL)
        return PARLEY_ERR_NULL;
    pl_store *s = t->s;
    uint64_t end = 0;
    size_t plen = 0;
    int rc;

    if (id != NULL && reply == NULL && len)
        rc = PARLEY_ERR_NULL;
    else if (id != NULL && len > s->max_reply)
        rc = PARLEY_ERR_TOO_LONG;
    else
        rc = txn_encode(t, id, seq, reply, len, &plen);
    txn_clear(t);
    pthread_mutex_lock(&s->mu);
    if (rc != PARLEY_OK)
        goto out;
    if (id != NULL) {
        const st_client *c = client_find(s, id);
        if (c != NULL && (seq < c->floor || (client_call(c, seq) != NULL &&
                                             client_call(c, seq)->state == PL_STORE_DONE))) {
            rc = PARLEY_ERR_INVALID;
            goto out;
        }
    }
    rc = st_append(s, s->wbuf, plen, &end);
    if (rc == PARLEY_ERR_NO_SPACE && s->file_size >= s->retry_at &&
        s->file_size > s->live_bytes + s->max_bytes / 16 + 4096 && st_compact(s) == PARLEY_OK)
        rc = st_append(s, s->wbuf, plen, &end);
    if (rc != PARLEY_OK)
        goto out;
    rc = st_apply(s, s->wbuf + ST_REC_HDR, plen, end);
    if (rc != PARLEY_OK) {
        /* written but not applied: only a reopen can make them agree */
        s->err = PARLEY_ERR_STORE;
        goto out;
    }
    s->st.commits++;
    st_maybe_compact(s);
out:
    st_writer_give(s);
    if (rc == PARLEY_OK && s->durability == PL_DUR_MACHINE && st_wait_durable(s, end) != PARLEY_OK)
        rc = PARLEY_ERR_IO; /* written and applied, its durability unknown */
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* ---- calls ---------------------------------------------------------------- */

/* pl_store_started records durably that call (id, seq) is about to run, for
 * a procedure whose effects live outside the store: after a crash,
 * pl_store_lookup reports it PL_STORE_STARTED (in doubt) until a commit
 * completes it. Recording it again is no error. Errors: PARLEY_ERR_NULL,
 * PARLEY_ERR_INVALID (the call is completed, or below the client's
 * acknowledgement), PARLEY_ERR_NO_SPACE, PARLEY_ERR_STORE,
 * PARLEY_ERR_NOMEM. */
int pl_store_started(pl_store *s, const uint8_t id[16], uint64_t seq)
{
    uint8_t rec[ST_SMALL_REC];
    st_client *c;
    uint64_t end;
    int rc;

    if (s == NULL || id == NULL)
        return PARLEY_ERR_NULL;
    pthread_mutex_lock(&s->mu);
    c = client_find(s, id);
    const st_call *k = c ? client_call(c, seq) : NULL;
    if (c != NULL && (seq < c->floor || (k != NULL && k->state == PL_STORE_DONE))) {
        rc = PARLEY_ERR_INVALID;
        goto out;
    }
    if (k != NULL) {
        end = k->lsn;
    } else {
        rec[ST_REC_HDR] = R_STARTED;
        memcpy(rec + ST_REC_HDR + 1, id, 16);
        parley_st_u64(rec + ST_REC_HDR + 17, seq);
        if ((rc = st_append(s, rec, sizeof rec - ST_REC_HDR, &end)) != PARLEY_OK)
            goto out;
        if ((rc = st_apply(s, rec + ST_REC_HDR, sizeof rec - ST_REC_HDR, end)) != PARLEY_OK) {
            s->err = PARLEY_ERR_STORE;
            goto out;
        }
        if (!s->writer) {
            s->writer = 1;
            st_maybe_compact(s);
            st_writer_give(s);
        }
    }
    rc = s->durability == PL_DUR_MACHINE ? st_wait_durable(s, end) : PARLEY_OK;
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* pl_store_lookup finds what the store knows of call (id, seq) and sets
 * *state to PL_STORE_UNKNOWN (the client is not registered),
 * PL_STORE_NONE, PL_STORE_STARTED, PL_STORE_DONE or PL_STORE_ACKED; a
 * registered client's lease starts again. For PL_STORE_DONE the reply is copied to buf and *len is
 * its length; when cap is too small nothing is copied, *len is the length
 * needed and the error is PARLEY_ERR_BUFFER_FULL (the one error after which
 * the out-parameters are written). A record that is not durable yet is
 * waited for, so that no reply a crash could take back is ever sent.
 * Errors: PARLEY_ERR_NULL, PARLEY_ERR_BUFFER_FULL, PARLEY_ERR_STORE (a sync
 * failed). */
int pl_store_lookup(pl_store *s, const uint8_t id[16], uint64_t seq, void *buf, size_t cap,
                    size_t *len, int *state)
{
    int rc = PARLEY_OK, st;
    size_t n = 0;

    if (s == NULL || id == NULL || len == NULL || state == NULL || (buf == NULL && cap))
        return PARLEY_ERR_NULL;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        st_client *c = client_find(s, id);
        const st_call *k = c ? client_call(c, seq) : NULL;
        st = c == NULL        ? PL_STORE_UNKNOWN
             : seq < c->floor ? PL_STORE_ACKED
             : k              ? k->state
                              : PL_STORE_NONE;
        if (c != NULL)
            client_touch(s, c);
        if (k == NULL || s->durability != PL_DUR_MACHINE || k->lsn <= s->synced_lsn) {
            if (k != NULL && k->state == PL_STORE_DONE) {
                n = k->len;
                if (n > cap)
                    rc = PARLEY_ERR_BUFFER_FULL;
                else if (n)
                    memcpy(buf, k->reply, n);
            }
            break;
        }
        /* the record may move or go while the lock is released */
        if ((rc = st_wait_durable(s, k->lsn)) != PARLEY_OK)
            break;
    }
    pthread_mutex_unlock(&s->mu);
    if (rc == PARLEY_OK || rc == PARLEY_ERR_BUFFER_FULL) {
        *len = n;
        *state = st;
    }
    return rc;
}

/* pl_store_hello registers client id, as its HELLO asks, with floor as
 * its first acknowledgement (its next call's number: no copy of an older
 * call is taken for a new one), and returns when the registration is
 * durable at the store's durability. A client already registered keeps its
 * floor and its records (a HELLO after the server's restart, or from
 * another thread of the client: its calls in flight are not dropped); its
 * lease starts again. *known tells which it was. Only a registered client's
 * exactly-once calls run (see pl_store_touch): a client the store forgot at
 * the end of its lease must say HELLO again, and whatever it had sent
 * before is then in doubt to it, never run a second time. Errors:
 * PARLEY_ERR_NULL, PARLEY_ERR_BUSY (max_clients clients are registered),
 * PARLEY_ERR_NO_SPACE, PARLEY_ERR_STORE, PARLEY_ERR_NOMEM; nothing is
 * registered then. */
int pl_store_hello(pl_store *s, const uint8_t id[16], uint64_t floor, int *known)
{
    uint8_t rec[ST_REG_REC];
    uint64_t end;
    int rc;

    if (s == NULL || id == NULL || known == NULL)
        return PARLEY_ERR_NULL;
    pthread_mutex_lock(&s->mu);
    st_client *c = client_find(s, id);
    if (c != NULL) {
        client_touch(s, c);
        end = c->reg_lsn; /* its registration may still wait for a sync */
        *known = 1;
    } else {
        *known = 0;
        if (s->clients.n >= s->max_clients) {
            s->st.hello_refused++;
            rc = PARLEY_ERR_BUSY;
            goto out;
        }
        /* forgotten earlier in this run: every call it made before may
         * have run, so its floor goes above them all */
        uint64_t next = tomb_take(s, id);
        if (floor < next)
            floor = next;
        rec[ST_REC_HDR] = R_REG;
        memcpy(rec + ST_REC_HDR + 1, id, 16);
        parley_st_u64(rec + ST_REC_HDR + 17, floor ? floor : 1);
        parley_st_u64(rec + ST_REC_HDR + 25, s->boot);
        if ((rc = st_append(s, rec, sizeof rec - ST_REC_HDR, &end)) != PARLEY_OK) {
            if (next) /* not registered: the tomb stays */
                tomb_restore(s, id, next);
            goto out;
        }
        if ((rc = st_apply(s, rec + ST_REC_HDR, sizeof rec - ST_REC_HDR, end)) != PARLEY_OK) {
            s->err = PARLEY_ERR_STORE;
            goto out;
        }
        s->st.registered++;
    }
    rc = s->durability == PL_DUR_MACHINE ? st_wait_durable(s, end) : PARLEY_OK;
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* pl_store_touch tells whether client id is registered (*known), and the
 * run of the store it was registered in (*reg_boot, when not NULL: 0 for
 * none), and if it is, starts its lease again and records its
 * acknowledgement ack (as pl_store_ack). Every exactly-once call asks it
 * first: a call first sent in an earlier run than its client's
 * registration was sent to a registration since forgotten, and may have
 * run. Errors: PARLEY_ERR_NULL. */
int pl_store_touch(pl_store *s, const uint8_t id[16], uint64_t ack, int *known, uint64_t *reg_boot)
{
    uint64_t end;

    if (s == NULL || id == NULL || known == NULL)
        return PARLEY_ERR_NULL;
    pthread_mutex_lock(&s->mu);
    st_client *c = client_find(s, id);
    *known = c != NULL;
    if (reg_boot)
        *reg_boot = c ? c->reg_boot : 0;
    if (c != NULL) {
        client_touch(s, c);
        if (client_ack(s, c, ack)) {
            uint8_t p[ST_SMALL_REC - ST_REC_HDR];
            p[0] = R_ACK;
            memcpy(p + 1, id, 16);
            parley_st_u64(p + 17, ack);
            st_pend_push(s, p, sizeof p);
            if (s->pend_len >= ST_PEND_FLUSH)
                (void)st_append(s, NULL, 0, &end);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return PARLEY_OK;
}

/* pl_store_ack records that every call of client id below ack is answered:
 * their records are dropped, and later lookups of them say
 * PL_STORE_ACKED. An acknowledgement lower than one already recorded is no
 * error and changes nothing, nor does one of a client not registered. The
 * record of it is written with the next append, not synced: losing it in a
 * crash only keeps records until the client's next acknowledgement.
 * Errors: PARLEY_ERR_NULL. */
int pl_store_ack(pl_store *s, const uint8_t id[16], uint64_t ack)
{
    int known;
    return pl_store_touch(s, id, ack, &known, NULL);
}

/* pl_store_expire forgets the clients not heard of for lease_ns or more at
 * now (pl_now_ns's clock), at most max of them, oldest first, as
 * pl_store_forget does, and returns how many. Bounded work: the clients
 * are kept in the order of their last activity. When the tombs of the
 * forgotten are full, a new run of the store begins (pl_store_boot tells
 * its number), after which the calls sent before need none. */
size_t pl_store_expire(pl_store *s, int64_t now, int64_t lease_ns, size_t max)
{
    size_t n = 0;
    uint64_t end;

    if (s == NULL)
        return 0;
    pthread_mutex_lock(&s->mu);
    while (n < max && s->oldest != NULL && now - s->oldest->active >= lease_ns) {
        client_forget(s, s->oldest);
        n++;
    }
    s->st.expired += n;
    if (s->pend_len >= ST_PEND_FLUSH)
        (void)st_append(s, NULL, 0, &end);
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* pl_store_boot is the number of the store's run: one more than the last
 * run's at open, and one more again whenever the tombs of forgotten
 * clients are full (pl_store_expire). Never 0. */
uint64_t pl_store_boot(pl_store *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t b = s->boot;
    pthread_mutex_unlock(&s->mu);
    return b;
}

/* pl_store_forget forgets client id entirely, its acknowledgement and its
 * records, as when its lease has expired: it must register again, and its
 * calls sent before are not taken for new ones. Forgetting an unknown
 * client is no error. Recorded lazily, as pl_store_ack. Errors:
 * PARLEY_ERR_NULL. */
int pl_store_forget(pl_store *s, const uint8_t id[16])
{
    uint64_t end;

    if (s == NULL || id == NULL)
        return PARLEY_ERR_NULL;
    pthread_mutex_lock(&s->mu);
    st_client *c = client_find(s, id);
    if (c != NULL) {
        client_forget(s, c);
        if (s->pend_len >= ST_PEND_FLUSH)
            (void)st_append(s, NULL, 0, &end);
    }
    pthread_mutex_unlock(&s->mu);
    return PARLEY_OK;
}

/* pl_store_compact rewrites the log as its live state now, whatever its
 * size, waiting for a transaction under way to end. Errors:
 * PARLEY_ERR_NULL, PARLEY_ERR_NO_SPACE (no room for the new file beside
 * the old; the old one stays), PARLEY_ERR_STORE, PARLEY_ERR_NOMEM. */
int pl_store_compact(pl_store *s)
{
    if (s == NULL)
        return PARLEY_ERR_NULL;
    pthread_mutex_lock(&s->mu);
    st_writer_take(s);
    int rc = st_compact(s);
    st_writer_give(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* pl_store_stats_get copies s's counters to *out. */
void pl_store_stats_get(pl_store *s, pl_store_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    out->file_bytes = s->file_size;
    out->live_bytes = s->live_bytes;
    out->kv_pairs = s->kv.n;
    out->clients = s->clients.n;
    out->tombs = s->tombs.n;
    out->boot = s->boot;
    uint64_t calls = 0;
    for (size_t i = 0; i < s->clients.cap; i++)
        if (s->clients.slot[i].p != NULL)
            calls += ((const st_client *)s->clients.slot[i].p)->n;
    out->calls = calls;
    pthread_mutex_unlock(&s->mu);
}
