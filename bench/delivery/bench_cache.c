/*
 * bench_cache.c: what the server's reply cache (runtime/src/delivery/cache.c)
 * costs: begin and finish pairs per second, the pair a server makes for
 * every guaranteed call, from 1 and 8 threads (each serving clients of its
 * own, over the default 64 shards and then over one shard, where all the
 * threads meet on one lock), and the bytes the cache counts per client and
 * per recorded call.
 *
 * Each call acknowledges the one before it, as a client with one call out at
 * a time does, so the cache stays small and the figures are the fast path:
 * a hash of the id, a shard's lock, the ack, a slot, a copy of the reply.
 * Every figure is the median of several runs, with the minimum beside it.
 *
 *   bench_cache [--quick]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "delivery/cache.h"
#include "parley/error.h"

#define MAX_THREADS     8
#define CLIENTS_PER_RUN 64
#define REPLY_LEN       64

typedef struct run {
    pl_rcache *rc;
    int t;
    uint64_t pairs;
    atomic_int *go;
    int failed;
} run;

static void make_id(uint8_t id[PL_RC_ID_LEN], uint64_t n)
{
    memset(id, 0x5a, PL_RC_ID_LEN);
    memcpy(id, &n, sizeof n);
}

/* worker makes pairs begin+finish over its clients, each call acknowledging
 * the one before it. */
static void *worker(void *arg)
{
    run *r = arg;
    uint8_t reply[REPLY_LEN] = {0};
    uint8_t ids[CLIENTS_PER_RUN][PL_RC_ID_LEN];
    uint64_t base = (uint64_t)r->t * CLIENTS_PER_RUN;
    for (int c = 0; c < CLIENTS_PER_RUN; c++)
        make_id(ids[c], base + (uint64_t)c);
    while (!atomic_load(r->go))
        ;
    for (uint64_t i = 0; i < r->pairs; i++) {
        const uint8_t *id = ids[i % CLIENTS_PER_RUN];
        uint64_t s = 1 + i / CLIENTS_PER_RUN;
        pl_rc_verdict v;
        pl_rc_reply *rep = NULL;
        if (pl_rcache_begin(r->rc, id, s, s, 0, &v, &rep) != PARLEY_OK || v != PL_RC_NEW) {
            r->failed = 1;
            return NULL;
        }
        if (pl_rcache_finish(r->rc, id, s, reply, sizeof reply, 0) != PARLEY_OK) {
            r->failed = 1;
            return NULL;
        }
    }
    return NULL;
}

/* measure returns the pairs per second of nthreads threads making pairs
 * pairs each on a fresh cache of shards shards (0: the default), or 0 on a
 * failure. */
static double measure(int nthreads, uint32_t shards, uint64_t pairs)
{
    pl_rcache *rc;
    pl_rcache_opts o = {.shards = shards};
    if (pl_rcache_create(&rc, &o) != PARLEY_OK)
        return 0;
    uint8_t id[PL_RC_ID_LEN];
    pl_rc_hello h;
    for (uint64_t c = 0; c < (uint64_t)MAX_THREADS * CLIENTS_PER_RUN; c++) {
        make_id(id, c);
        (void)pl_rcache_hello(rc, id, 1, 0, &h);
    }
    atomic_int go = 0;
    run runs[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    for (int t = 0; t < nthreads; t++) {
        runs[t] = (run){.rc = rc, .t = t, .pairs = pairs, .go = &go};
        pthread_create(&th[t], NULL, worker, &runs[t]);
    }
    uint64_t t0 = bench_now_ns();
    atomic_store(&go, 1);
    int failed = 0;
    for (int t = 0; t < nthreads; t++) {
        pthread_join(th[t], NULL);
        failed |= runs[t].failed;
    }
    uint64_t ns = bench_now_ns() - t0;
    pl_rcache_destroy(rc);
    return failed ? 0 : (double)pairs * nthreads / ((double)ns / 1e9);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* row prints the median and minimum over reps runs of one configuration. */
static int row(const char *label, int nthreads, uint32_t shards, uint64_t pairs, int reps)
{
    double v[16];
    for (int i = 0; i < reps; i++) {
        v[i] = measure(nthreads, shards, pairs);
        if (v[i] == 0) {
            fprintf(stderr, "bench_cache: %s failed\n", label);
            return 1;
        }
    }
    qsort(v, (size_t)reps, sizeof v[0], cmp_double);
    printf("%-40s %12.0f pairs/s (min %.0f)\n", label, v[reps / 2], v[0]);
    return 0;
}

/* sizes prints what the cache counts per client at rest and per recorded
 * call with an empty reply. */
static int sizes(void)
{
    pl_rcache *rc;
    pl_rcache_stats s0, s1, s2;
    if (pl_rcache_create(&rc, NULL) != PARLEY_OK)
        return 1;
    enum { N = 10000, CALLS = 16 };
    uint8_t id[PL_RC_ID_LEN];
    pl_rc_hello h;
    pl_rcache_stats_get(rc, &s0);
    for (uint64_t c = 0; c < N; c++) {
        make_id(id, c);
        if (pl_rcache_hello(rc, id, 1, 0, &h) != PARLEY_OK || h != PL_RC_HELLO_CREATED)
            return 1;
    }
    pl_rcache_stats_get(rc, &s1);
    for (uint64_t c = 0; c < N; c++) {
        make_id(id, c);
        for (uint64_t s = 1; s <= CALLS; s++) {
            pl_rc_verdict v;
            pl_rc_reply *r;
            if (pl_rcache_begin(rc, id, s, 1, 0, &v, &r) != PARLEY_OK || v != PL_RC_NEW ||
                pl_rcache_finish(rc, id, s, NULL, 0, 0) != PARLEY_OK)
                return 1;
        }
    }
    pl_rcache_stats_get(rc, &s2);
    printf("%-40s %12.1f bytes\n", "per client after HELLO (8-slot window)",
           (double)(s1.bytes - s0.bytes) / N);
    printf("%-40s %12.1f bytes\n", "per recorded call, empty reply",
           (double)(s2.bytes - s1.bytes) / (N * CALLS));
    printf("%-40s %12s\n", "", "(a 16-slot window and 16 reply headers)");
    pl_rcache_destroy(rc);
    return 0;
}

int main(int argc, char **argv)
{
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    uint64_t pairs = quick ? 20000 : 2000000;
    int reps = quick ? 1 : 5;
    printf("bench_cache: %s, replies of %d bytes, %d clients per thread\n",
           quick ? "quick" : "full", REPLY_LEN, CLIENTS_PER_RUN);
    int err = row("1 thread", 1, 0, pairs, reps);
    err |= row("8 threads, clients of their own", 8, 0, pairs / 4, reps);
    err |= row("8 threads, one shard (one lock)", 8, 1, pairs / 4, reps);
    err |= sizes();
    return err;
}
