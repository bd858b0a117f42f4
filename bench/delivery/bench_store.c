/*
 * bench_store.c: the completion store's log (runtime/src/delivery/store.c)
 * against LMDB and SQLite in WAL mode, on the workload of an exactly-once
 * server, measured in one run.
 *
 * One call is one transaction: read the client's counter, write it plus
 * one, record the completion of (client id, seq) with a 64-byte reply, and
 * drop the client's records below seq (its acknowledgement: every earlier
 * call is answered). Each thread is a client of its own. No backend batches
 * several calls into one transaction.
 *
 * - log: begin, get, put, pl_store_commit, pl_store_ack. PROCESS is
 *   PL_DUR_PROCESS (write()), MACHINE is PL_DUR_MACHINE (fdatasync with
 *   group commit: the writer is released before the sync, and concurrent
 *   commits share one).
 * - LMDB: one write transaction per call, the completion in a second
 *   database keyed by id and big-endian seq, the acknowledgement a cursor
 *   deleting the client's keys below seq. PROCESS is MDB_NOSYNC |
 *   MDB_WRITEMAP (the commit is in the shared mapping: it survives the
 *   process, not the machine). MACHINE is LMDB's default, a synced commit.
 *   LMDB holds its writer lock through the sync, so concurrent commits
 *   cannot share one; a group commit over MDB_NOSYNC commits and
 *   mdb_env_sync is not safe (LMDB's documentation: with NOSYNC a system
 *   crash can corrupt the database, since freed pages are reused before the
 *   meta page that frees them is durable), so none is attempted.
 * - SQLite: WAL mode, one connection shared by the threads under a mutex
 *   (SQLite serializes writers anyway, and a connection per thread only
 *   adds busy-wait sleeps), BEGIN IMMEDIATE .. COMMIT per call with
 *   prepared statements. PROCESS is synchronous=OFF (the WAL is written,
 *   never synced: it survives the process). MACHINE is synchronous=FULL,
 *   which syncs the WAL at every commit; synchronous=NORMAL in WAL mode
 *   syncs only at checkpoints, so a commit can roll back on power loss,
 *   and it is not machine durability.
 *
 * For each backend, durability and thread count (1 and 8) it prints
 * commits per second (the median of the repetitions, which take turns
 * across backends) and the median and 99th percentile latency of one call;
 * then the size on disk after 1,000,000 calls of one client with PROCESS
 * durability (allocated blocks, as du counts them: LMDB's file is sparse
 * up to its map size), and the ratios against the log. It also prints the
 * log's syncs per commit under 8 threads, group commit's measure.
 *
 * --quick runs a few thousand calls per case and checks every backend's
 * counters and records afterwards; its figures are not to be read. The
 * program exits 1 only when a backend fails or a check does not hold.
 *
 * Usage: bench_store [--quick] [--dir DIR] [--seconds S] [--reps N] [--calls N]
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LMDB
#include <lmdb.h>
#endif
#ifdef HAVE_SQLITE
#include <sqlite3.h>
#endif

#include "delivery/store.h"
#include "parley/error.h"

#define MAX_THREADS 8
#define REPLY_LEN   64

enum { DUR_PROCESS = 0, DUR_MACHINE = 1 };
static const char *const dur_name[] = {"process", "machine"};

static char base_dir[512];

/* ---- the backends ----------------------------------------------------------- */

typedef struct backend {
    const char *name;
    /* open a fresh store in the folder dir */
    int (*open)(void **h, const char *dir, int dur);
    /* one call of client t: counter, completion (id, seq), acknowledgement seq */
    int (*call)(void *h, unsigned t, const uint8_t id[16], uint64_t seq);
    /* the counter of client t, and whether (id, seq) has its completion */
    int (*check)(void *h, unsigned t, const uint8_t id[16], uint64_t seq, uint64_t *count,
                 int *found);
    void (*close)(void *h);
} backend;

static void reply_for(uint8_t r[REPLY_LEN], uint64_t count)
{
    memset(r, 0x2a, REPLY_LEN);
    memcpy(r, &count, sizeof count);
}

static void counter_key(char k[8], unsigned t)
{
    snprintf(k, 8, "ctr%u", t);
}

/* -- the log -- */

static int log_open(void **h, const char *dir, int dur)
{
    char p[600];
    pl_store_opts o = {.durability = dur == DUR_MACHINE ? PL_DUR_MACHINE : PL_DUR_PROCESS};
    snprintf(p, sizeof p, "%s/store.log", dir);
    return pl_store_open((pl_store **)h, p, &o);
}

static int log_call(void *h, unsigned t, const uint8_t id[16], uint64_t seq)
{
    pl_store *s = h;
    pl_store_txn *x;
    const void *v;
    size_t vl;
    uint64_t c = 0;
    uint8_t reply[REPLY_LEN];
    char k[8];
    int rc;

    counter_key(k, t);
    if ((rc = pl_store_begin(s, &x)) != PARLEY_OK)
        return rc;
    if ((rc = pl_store_get(x, k, strlen(k), &v, &vl)) != PARLEY_OK) {
        pl_store_abort(x);
        return rc;
    }
    if (v != NULL)
        memcpy(&c, v, sizeof c);
    c++;
    if ((rc = pl_store_put(x, k, strlen(k), &c, sizeof c)) != PARLEY_OK) {
        pl_store_abort(x);
        return rc;
    }
    reply_for(reply, c);
    if ((rc = pl_store_commit(x, id, seq, reply, sizeof reply)) != PARLEY_OK)
        return rc;
    return pl_store_ack(s, id, seq);
}

static int log_check(void *h, unsigned t, const uint8_t id[16], uint64_t seq, uint64_t *count,
                     int *found)
{
    pl_store *s = h;
    pl_store_txn *x;
    const void *v;
    size_t vl, len;
    uint8_t buf[REPLY_LEN];
    char k[8];
    int st, rc;

    counter_key(k, t);
    *count = 0;
    if ((rc = pl_store_begin(s, &x)) != PARLEY_OK)
        return rc;
    rc = pl_store_get(x, k, strlen(k), &v, &vl);
    if (rc == PARLEY_OK && v != NULL)
        memcpy(count, v, sizeof *count);
    pl_store_abort(x);
    if (rc != PARLEY_OK)
        return rc;
    if ((rc = pl_store_lookup(s, id, seq, buf, sizeof buf, &len, &st)) != PARLEY_OK)
        return rc;
    *found = st == PL_STORE_DONE && len == REPLY_LEN && memcmp(buf, count, sizeof *count) == 0;
    return 0;
}

static void log_close(void *h)
{
    pl_store_close(h);
}

static const backend be_log = {"log", log_open, log_call, log_check, log_close};

/* log_open_small is the log with a bound of 1 MiB instead of the default
 * 64 MiB, for the size on disk. */
static int log_open_small(void **h, const char *dir, int dur)
{
    char p[600];
    pl_store_opts o = {.durability = dur == DUR_MACHINE ? PL_DUR_MACHINE : PL_DUR_PROCESS,
                       .max_bytes = (size_t)1 << 20};
    snprintf(p, sizeof p, "%s/store.log", dir);
    return pl_store_open((pl_store **)h, p, &o);
}

static const backend be_log_small = {"log-1MiB", log_open_small, log_call, log_check, log_close};

/* -- LMDB -- */

#ifdef HAVE_LMDB
typedef struct lm {
    MDB_env *env;
    MDB_dbi kv, calls;
} lm;

static void call_key(uint8_t k[24], const uint8_t id[16], uint64_t seq)
{
    memcpy(k, id, 16);
    for (int i = 0; i < 8; i++)
        k[16 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

static int lm_open(void **h, const char *dir, int dur)
{
    lm *l = calloc(1, sizeof *l);
    MDB_txn *x;
    int rc;
    if (l == NULL)
        return ENOMEM;
    unsigned flags = MDB_NOSUBDIR | (dur == DUR_PROCESS ? MDB_NOSYNC | MDB_WRITEMAP : 0);
    char p[600];
    snprintf(p, sizeof p, "%s/lmdb.mdb", dir);
    if ((rc = mdb_env_create(&l->env)) != 0)
        goto fail;
    mdb_env_set_maxdbs(l->env, 4);
    mdb_env_set_mapsize(l->env, (size_t)4 << 30);
    if ((rc = mdb_env_open(l->env, p, flags, 0600)) != 0)
        goto fail;
    if ((rc = mdb_txn_begin(l->env, NULL, 0, &x)) != 0)
        goto fail;
    if ((rc = mdb_dbi_open(x, "kv", MDB_CREATE, &l->kv)) != 0 ||
        (rc = mdb_dbi_open(x, "calls", MDB_CREATE, &l->calls)) != 0) {
        mdb_txn_abort(x);
        goto fail;
    }
    if ((rc = mdb_txn_commit(x)) != 0)
        goto fail;
    *h = l;
    return 0;
fail:
    fprintf(stderr, "lmdb: %s\n", mdb_strerror(rc));
    mdb_env_close(l->env);
    free(l);
    return rc;
}

static int lm_call(void *h, unsigned t, const uint8_t id[16], uint64_t seq)
{
    lm *l = h;
    MDB_txn *x;
    MDB_cursor *cur;
    char k[8];
    uint8_t ck[24], reply[REPLY_LEN], lo[24];
    uint64_t c = 0;
    int rc;

    counter_key(k, t);
    if ((rc = mdb_txn_begin(l->env, NULL, 0, &x)) != 0)
        return rc;
    MDB_val key = {strlen(k), k}, val;
    rc = mdb_get(x, l->kv, &key, &val);
    if (rc == 0 && val.mv_size == sizeof c)
        memcpy(&c, val.mv_data, sizeof c);
    else if (rc != MDB_NOTFOUND && rc != 0)
        goto fail;
    c++;
    val = (MDB_val){sizeof c, &c};
    if ((rc = mdb_put(x, l->kv, &key, &val, 0)) != 0)
        goto fail;
    reply_for(reply, c);
    call_key(ck, id, seq);
    MDB_val kk = {sizeof ck, ck}, rv = {sizeof reply, reply};
    if ((rc = mdb_put(x, l->calls, &kk, &rv, 0)) != 0)
        goto fail;
    /* the acknowledgement: the client's keys below seq */
    if ((rc = mdb_cursor_open(x, l->calls, &cur)) != 0)
        goto fail;
    call_key(lo, id, 0);
    MDB_val ckey = {sizeof lo, lo}, cval;
    rc = mdb_cursor_get(cur, &ckey, &cval, MDB_SET_RANGE);
    while (rc == 0 && ckey.mv_size == 24 && memcmp(ckey.mv_data, id, 16) == 0 &&
           memcmp(ckey.mv_data, ck, 24) < 0) {
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        rc = mdb_cursor_get(cur, &ckey, &cval, MDB_GET_CURRENT);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND && rc != EINVAL)
        goto fail;
    return mdb_txn_commit(x);
fail:
    mdb_txn_abort(x);
    return rc;
}

static int lm_check(void *h, unsigned t, const uint8_t id[16], uint64_t seq, uint64_t *count,
                    int *found)
{
    lm *l = h;
    MDB_txn *x;
    char k[8];
    uint8_t ck[24];
    int rc;

    counter_key(k, t);
    *count = 0;
    *found = 0;
    if ((rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &x)) != 0)
        return rc;
    MDB_val key = {strlen(k), k}, val;
    if (mdb_get(x, l->kv, &key, &val) == 0 && val.mv_size == 8)
        memcpy(count, val.mv_data, 8);
    call_key(ck, id, seq);
    MDB_val kk = {sizeof ck, ck};
    if (mdb_get(x, l->calls, &kk, &val) == 0 && val.mv_size == REPLY_LEN &&
        memcmp(val.mv_data, count, 8) == 0)
        *found = 1;
    mdb_txn_abort(x);
    return 0;
}

static void lm_close(void *h)
{
    lm *l = h;
    mdb_env_close(l->env);
    free(l);
}

static const backend be_lmdb = {"lmdb", lm_open, lm_call, lm_check, lm_close};
#endif

/* -- SQLite -- */

#ifdef HAVE_SQLITE
typedef struct sq {
    sqlite3 *db;
    pthread_mutex_t mu;
    sqlite3_stmt *begin, *commit, *rollback, *get, *put, *done, *ack, *find;
} sq;

static int sq_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s: %s\n", sql, err ? err : sqlite3_errstr(rc));
        sqlite3_free(err);
    }
    return rc;
}

static void sq_close(void *h)
{
    sq *q = h;
    sqlite3_stmt *all[] = {q->begin, q->commit, q->rollback, q->get,
                           q->put,   q->done,   q->ack,      q->find};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        sqlite3_finalize(all[i]);
    sqlite3_close(q->db);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

static int sq_open(void **h, const char *dir, int dur)
{
    sq *q = calloc(1, sizeof *q);
    char p[600];
    int rc;
    if (q == NULL)
        return ENOMEM;
    pthread_mutex_init(&q->mu, NULL);
    snprintf(p, sizeof p, "%s/sqlite.db", dir);
    if ((rc = sqlite3_open(p, &q->db)) != SQLITE_OK)
        goto fail;
    if ((rc = sq_exec(q->db, "PRAGMA journal_mode=WAL")) != SQLITE_OK ||
        (rc = sq_exec(q->db, dur == DUR_PROCESS ? "PRAGMA synchronous=OFF"
                                                : "PRAGMA synchronous=FULL")) != SQLITE_OK ||
        (rc = sq_exec(q->db, "CREATE TABLE kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID")) !=
            SQLITE_OK ||
        (rc = sq_exec(q->db, "CREATE TABLE calls(client BLOB, seq INTEGER, reply BLOB, "
                             "PRIMARY KEY(client, seq)) WITHOUT ROWID")) != SQLITE_OK)
        goto fail;
    struct {
        sqlite3_stmt **st;
        const char *sql;
    } prep[] = {
        {&q->begin, "BEGIN IMMEDIATE"},
        {&q->commit, "COMMIT"},
        {&q->rollback, "ROLLBACK"},
        {&q->get, "SELECT v FROM kv WHERE k=?1"},
        {&q->put, "INSERT OR REPLACE INTO kv(k, v) VALUES(?1, ?2)"},
        {&q->done, "INSERT INTO calls(client, seq, reply) VALUES(?1, ?2, ?3)"},
        {&q->ack, "DELETE FROM calls WHERE client=?1 AND seq<?2"},
        {&q->find, "SELECT reply FROM calls WHERE client=?1 AND seq=?2"},
    };
    for (size_t i = 0; i < sizeof prep / sizeof prep[0]; i++)
        if ((rc = sqlite3_prepare_v2(q->db, prep[i].sql, -1, prep[i].st, NULL)) != SQLITE_OK)
            goto fail;
    *h = q;
    return 0;
fail:
    fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(q->db));
    sq_close(q);
    return rc ? rc : 1;
}

/* sq_step runs st to its end and resets it. */
static int sq_step(sqlite3_stmt *st)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int sq_call(void *h, unsigned t, const uint8_t id[16], uint64_t seq)
{
    sq *q = h;
    char k[8];
    uint8_t reply[REPLY_LEN];
    uint64_t c = 0;
    int rc;

    counter_key(k, t);
    pthread_mutex_lock(&q->mu);
    if ((rc = sq_step(q->begin)) != SQLITE_OK)
        goto out;
    sqlite3_bind_blob(q->get, 1, k, (int)strlen(k), SQLITE_STATIC);
    if ((rc = sqlite3_step(q->get)) == SQLITE_ROW && sqlite3_column_bytes(q->get, 0) == 8)
        memcpy(&c, sqlite3_column_blob(q->get, 0), 8);
    sqlite3_reset(q->get);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        goto fail;
    c++;
    sqlite3_bind_blob(q->put, 1, k, (int)strlen(k), SQLITE_STATIC);
    sqlite3_bind_blob(q->put, 2, &c, 8, SQLITE_STATIC);
    if ((rc = sq_step(q->put)) != SQLITE_OK)
        goto fail;
    reply_for(reply, c);
    sqlite3_bind_blob(q->done, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_int64(q->done, 2, (sqlite3_int64)seq);
    sqlite3_bind_blob(q->done, 3, reply, REPLY_LEN, SQLITE_STATIC);
    if ((rc = sq_step(q->done)) != SQLITE_OK)
        goto fail;
    sqlite3_bind_blob(q->ack, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_int64(q->ack, 2, (sqlite3_int64)seq);
    if ((rc = sq_step(q->ack)) != SQLITE_OK)
        goto fail;
    rc = sq_step(q->commit);
    goto out;
fail:
    sq_step(q->rollback);
out:
    pthread_mutex_unlock(&q->mu);
    return rc;
}

static int sq_check(void *h, unsigned t, const uint8_t id[16], uint64_t seq, uint64_t *count,
                    int *found)
{
    sq *q = h;
    char k[8];

    counter_key(k, t);
    *count = 0;
    *found = 0;
    pthread_mutex_lock(&q->mu);
    sqlite3_bind_blob(q->get, 1, k, (int)strlen(k), SQLITE_STATIC);
    if (sqlite3_step(q->get) == SQLITE_ROW && sqlite3_column_bytes(q->get, 0) == 8)
        memcpy(count, sqlite3_column_blob(q->get, 0), 8);
    sqlite3_reset(q->get);
    sqlite3_bind_blob(q->find, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_int64(q->find, 2, (sqlite3_int64)seq);
    if (sqlite3_step(q->find) == SQLITE_ROW && sqlite3_column_bytes(q->find, 0) == REPLY_LEN &&
        memcmp(sqlite3_column_blob(q->find, 0), count, 8) == 0)
        *found = 1;
    sqlite3_reset(q->find);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

static const backend be_sqlite = {"sqlite-wal", sq_open, sq_call, sq_check, sq_close};
#endif

/* ---- running a case ------------------------------------------------------ */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct runner {
    const backend *be;
    void *h;
    unsigned t;
    uint64_t max_calls; /* stop after this many, or at the deadline */
    volatile int *stop;
    uint32_t *lat; /* latency of each call, in microseconds x 10 */
    uint64_t cap, n;
    int err;
} runner;

static void client_of(uint8_t id[16], unsigned t)
{
    memset(id, 0x77, 16);
    memcpy(id, &t, sizeof t);
}

static void *runner_main(void *arg)
{
    runner *r = arg;
    uint8_t id[16];

    client_of(id, r->t);
    for (uint64_t seq = 1; seq <= r->max_calls && !__atomic_load_n(r->stop, __ATOMIC_RELAXED);
         seq++) {
        uint64_t t0 = now_ns();
        int rc = r->be->call(r->h, r->t, id, seq);
        uint64_t dt = now_ns() - t0;
        if (rc != 0) {
            r->err = rc;
            break;
        }
        if (r->n < r->cap)
            r->lat[r->n] = (uint32_t)(dt / 100 > UINT32_MAX ? UINT32_MAX : dt / 100);
        r->n++;
    }
    return NULL;
}

typedef struct result {
    double rate[16]; /* commits per second of each repetition */
    unsigned reps;
    uint32_t *lat; /* all latencies of all repetitions */
    uint64_t nlat, cap;
    uint64_t syncs, commits; /* the log's, over all repetitions */
} result;

/* make_dir makes a fresh folder for one case under base_dir. */
static int make_dir(char *out, size_t n, const char *tag)
{
    snprintf(out, n, "%s/bench_store_%s_XXXXXX", base_dir, tag);
    return mkdtemp(out) ? 0 : -1;
}

/* remove_dir removes the files a backend leaves and the folder. */
static void remove_dir(const char *d)
{
    static const char *const files[] = {"store.log",     "store.log.compact", "lmdb.mdb",
                                        "lmdb.mdb-lock", "sqlite.db",         "sqlite.db-wal",
                                        "sqlite.db-shm"};
    char p[700];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", d, files[i]);
        unlink(p);
    }
    rmdir(d);
}

/* disk_bytes is the space the backend's files take (allocated blocks). */
static uint64_t disk_bytes(const char *d, uint64_t *apparent)
{
    static const char *const files[] = {"store.log", "lmdb.mdb", "sqlite.db", "sqlite.db-wal",
                                        "sqlite.db-shm"};
    char p[700];
    uint64_t sum = 0, app = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", d, files[i]);
        if (stat(p, &sb) == 0) {
            sum += (uint64_t)sb.st_blocks * 512;
            app += (uint64_t)sb.st_size;
        }
    }
    *apparent = app;
    return sum;
}

/* run_case runs one repetition of a case: threads clients of calls each
 * (or until seconds pass), on a fresh store; then checks each client's
 * counter and last record. */
static int run_case(const backend *be, int dur, unsigned threads, double seconds,
                    uint64_t max_calls, result *res)
{
    char d[600];
    void *h;
    pthread_t th[MAX_THREADS];
    runner r[MAX_THREADS];
    volatile int stop = 0;
    int rc = 0;

    if (make_dir(d, sizeof d, be->name) < 0)
        return -1;
    if (be->open(&h, d, dur) != 0) {
        remove_dir(d);
        return -1;
    }
    uint64_t cap = max_calls < 4000000 ? max_calls : 4000000;
    for (unsigned i = 0; i < threads; i++) {
        r[i] =
            (runner){.be = be, .h = h, .t = i, .max_calls = max_calls, .stop = &stop, .cap = cap};
        r[i].lat = malloc(cap * sizeof *r[i].lat);
        if (r[i].lat == NULL)
            return -1;
    }
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, runner_main, &r[i]);
    if (seconds > 0) {
        while ((double)(now_ns() - t0) < seconds * 1e9) {
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    }
    uint64_t total = 0;
    for (unsigned i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += r[i].n;
    }
    double el = (double)(now_ns() - t0) / 1e9;
    if (be == &be_log) {
        pl_store_stats st;
        pl_store_stats_get(h, &st);
        res->syncs += st.syncs;
        res->commits += st.commits;
    }
    /* the check: each client's counter is its calls, its last call recorded */
    for (unsigned i = 0; i < threads; i++) {
        uint8_t id[16];
        uint64_t count;
        int found;
        client_of(id, i);
        if (r[i].err) {
            fprintf(stderr, "%s: call failed: %d\n", be->name, r[i].err);
            rc = -1;
        } else if (be->check(h, i, id, r[i].n, &count, &found) != 0 || count != r[i].n ||
                   (r[i].n > 0 && !found)) {
            fprintf(stderr, "%s: client %u made %llu calls, its counter says %llu%s\n", be->name, i,
                    (unsigned long long)r[i].n, (unsigned long long)count,
                    found ? "" : ", its last record is missing");
            rc = -1;
        }
    }
    be->close(h);
    remove_dir(d);
    if (res->reps < 16)
        res->rate[res->reps++] = (double)total / el;
    for (unsigned i = 0; i < threads; i++) {
        uint64_t n = r[i].n < r[i].cap ? r[i].n : r[i].cap;
        if (res->nlat + n > res->cap) {
            uint64_t nc = (res->nlat + n) * 2;
            uint32_t *nl = realloc(res->lat, nc * sizeof *nl);
            if (nl != NULL) {
                res->lat = nl;
                res->cap = nc;
            }
        }
        if (res->nlat + n <= res->cap) {
            memcpy(res->lat + res->nlat, r[i].lat, n * sizeof *res->lat);
            res->nlat += n;
        }
        free(r[i].lat);
    }
    return rc;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_rate(result *r)
{
    if (r->reps == 0)
        return 0;
    qsort(r->rate, r->reps, sizeof r->rate[0], cmp_double);
    return r->reps % 2 ? r->rate[r->reps / 2]
                       : (r->rate[r->reps / 2 - 1] + r->rate[r->reps / 2]) / 2;
}

/* percentile_us is the p-th percentile of r's latencies, in microseconds. */
static double percentile_us(result *r, double p)
{
    if (r->nlat == 0)
        return 0;
    uint64_t i = (uint64_t)(p * (double)(r->nlat - 1) + 0.5);
    return r->lat[i] / 10.0;
}

static const backend *const backends[] = {
    &be_log,
#ifdef HAVE_LMDB
    &be_lmdb,
#endif
#ifdef HAVE_SQLITE
    &be_sqlite,
#endif
};
#define NBACK (sizeof backends / sizeof backends[0])

static const char *fs_name(const char *d)
{
    struct statfs sf;
    if (statfs(d, &sf) < 0)
        return "unknown";
    switch ((unsigned long)sf.f_type) {
    case 0xef53:
        return "ext4";
    case 0x58465342:
        return "xfs";
    case 0x9123683e:
        return "btrfs";
    case 0x01021994:
        return "tmpfs (syncs cost nothing)";
    case 0x794c7630:
        return "overlayfs";
    default:
        return "other";
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_store [--quick] [--dir DIR] [--seconds S] [--reps N] "
                    "[--calls N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int quick = 0;
    double seconds = 1.0;
    unsigned reps = 3;
    uint64_t size_calls = 1000000;
    const char *dir = getenv("TMPDIR");
    static const unsigned nthreads[] = {1, 8};

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc)
            size_calls = strtoull(argv[++i], NULL, 0);
        else
            usage();
    }
    if (reps < 1 || reps > 16 || seconds <= 0)
        usage();
    snprintf(base_dir, sizeof base_dir, "%s", dir && *dir ? dir : "/tmp");
    if (quick) {
        reps = 1;
        size_calls = 20000;
    }
    printf("bench_store: %s; files in %s (%s)\n",
           quick ? "--quick: a check, the figures are not to be read" : "the completion store",
           base_dir, fs_name(base_dir));
    printf("one call = get + put of a counter + completion record (64-byte reply) + ack, "
           "one transaction; no batching\n");
#ifndef HAVE_LMDB
    printf("LMDB not found at build time: not measured\n");
#endif
#ifndef HAVE_SQLITE
    printf("SQLite not found at build time: not measured\n");
#endif

    int failed = 0;
    result res[2][2][NBACK];
    memset(res, 0, sizeof res);
    /* the repetitions take turns across backends and cases */
    for (unsigned rep = 0; rep < reps; rep++)
        for (int dur = 0; dur < 2; dur++)
            for (unsigned ti = 0; ti < 2; ti++)
                for (size_t k = 0; k < NBACK; k++) {
                    size_t b = rep % 2 ? NBACK - 1 - k : k;
                    uint64_t calls = quick ? (dur == DUR_MACHINE ? 50 : 2000) : UINT64_MAX / 2;
                    if (run_case(backends[b], dur, nthreads[ti], quick ? 0 : seconds, calls,
                                 &res[dur][ti][b]) != 0)
                        failed = 1;
                }

    printf("\n(x log: commits/s over the log's; above 1 is faster than the log)\n");
    printf("%-10s %-8s %3s %12s %8s %10s %10s\n", "backend", "durable", "thr", "commits/s", "x log",
           "median us", "p99 us");
    for (int dur = 0; dur < 2; dur++)
        for (unsigned ti = 0; ti < 2; ti++) {
            double base = median_rate(&res[dur][ti][0]);
            for (size_t b = 0; b < NBACK; b++) {
                result *r = &res[dur][ti][b];
                double rate = median_rate(r);
                qsort(r->lat, r->nlat, sizeof *r->lat, cmp_u32);
                printf("%-10s %-8s %3u %12.0f %8.2f %10.1f %10.1f\n", backends[b]->name,
                       dur_name[dur], nthreads[ti], rate, base > 0 ? rate / base : 0,
                       percentile_us(r, 0.5), percentile_us(r, 0.99));
            }
        }
    for (unsigned ti = 0; ti < 2; ti++) {
        result *r = &res[DUR_MACHINE][ti][0];
        printf("log, machine, %u thread%s: %llu commits, %llu fdatasyncs (%.2f commits per "
               "sync: group commit)\n",
               nthreads[ti], nthreads[ti] > 1 ? "s" : "", (unsigned long long)r->commits,
               (unsigned long long)r->syncs,
               r->syncs ? (double)r->commits / (double)r->syncs : 0.0);
    }

    /* the size on disk after many calls of one client, acknowledged as they go */
    printf("\nsize on disk after %llu calls of one client (process durability):\n",
           (unsigned long long)size_calls);
    printf("%-10s %14s %14s %14s %8s %8s\n", "backend", "allocated B", "apparent B", "peak alloc B",
           "x log", "secs");
    static const backend *const sized[] = {
        &be_log,
        &be_log_small,
#ifdef HAVE_LMDB
        &be_lmdb,
#endif
#ifdef HAVE_SQLITE
        &be_sqlite,
#endif
    };
    double log_size = 0;
    for (size_t b = 0; b < sizeof sized / sizeof sized[0]; b++) {
        uint64_t app, peak = 0;
        char d[600];
        void *h;
        uint8_t id[16];
        if (make_dir(d, sizeof d, "size") < 0 || sized[b]->open(&h, d, DUR_PROCESS) != 0) {
            failed = 1;
            continue;
        }
        client_of(id, 0);
        uint64_t t0 = now_ns(), seq;
        for (seq = 1; seq <= size_calls; seq++) {
            if (sized[b]->call(h, 0, id, seq) != 0) {
                fprintf(stderr, "%s: call %llu failed\n", sized[b]->name, (unsigned long long)seq);
                failed = 1;
                break;
            }
            if (seq % 10000 == 0) {
                uint64_t now = disk_bytes(d, &app);
                peak = now > peak ? now : peak;
            }
        }
        double el = (double)(now_ns() - t0) / 1e9;
        uint64_t count;
        int found;
        if (sized[b]->check(h, 0, id, size_calls, &count, &found) != 0 || count != size_calls ||
            !found) {
            fprintf(stderr, "%s: after %llu calls the counter says %llu\n", sized[b]->name,
                    (unsigned long long)size_calls, (unsigned long long)count);
            failed = 1;
        }
        sized[b]->close(h);
        uint64_t alloc = disk_bytes(d, &app);
        peak = alloc > peak ? alloc : peak;
        if (b == 0)
            log_size = (double)alloc;
        printf("%-10s %14llu %14llu %14llu %8.2f %8.1f\n", sized[b]->name,
               (unsigned long long)alloc, (unsigned long long)app, (unsigned long long)peak,
               log_size > 0 ? (double)alloc / log_size : 0, el);
        remove_dir(d);
    }
    for (int dur = 0; dur < 2; dur++)
        for (unsigned ti = 0; ti < 2; ti++)
            for (size_t b = 0; b < NBACK; b++)
                free(res[dur][ti][b].lat);
    if (failed)
        printf("\nFAILED: a backend failed or a check did not hold\n");
    return failed;
}
