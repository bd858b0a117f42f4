/*
 * bench_cluster_scale.c: one etcd cluster under the load of many
 * matchmakers, simulated in one process (docs/cluster.md, "Scale").
 *
 * It starts an etcd cluster of its own (3 members by default, loopback
 * ports, data in a temporary folder; in a network namespace of its own when
 * it runs as root) and plays H hosts of S services each through the
 * matchmaker's own etcd client (matchmaker/etcd.h), doing what each host's
 * matchmaker does: one lease per host (TTL T), its S keys
 * PREFIX services/svc-S/host-H/PROG/1/tcp attached to it, and a keep-alive
 * every T/3. Then it measures, phase by phase:
 *
 *   grant     H leases from N threads: grants per second;
 *   publish   H x S puts from N threads (the keep-alives already running):
 *             puts per second as the client saw them and as etcd counted
 *             them (etcd_mvcc_put_total), and each put's latency;
 *   resync    one range read of the whole prefix, what a matchmaker does
 *             when it (re)connects: its time and size; then R of them from
 *             N threads at once, as after an outage every matchmaker reads
 *             the range again: reads per second;
 *   steady    keep-alives only, for a while: their rate, latency and
 *             lateness against the T/3 schedule, leases lost, etcd's CPU;
 *   fan-out   W watchers of the prefix (threads in mm_etcd_watch, spread over
 *             the members, started B at a time; as many as the machine lets
 *             go live, up to W),
 *             then E puts one after the other: for each, the time until the
 *             first, the median and the last watcher had the event;
 *   revoke    every lease revoked from N threads (a clean stop of every
 *             host): revokes per second, and the prefix empty afterwards.
 *
 * Between phases it reads each member's VmRSS (/proc/PID/status) and the
 * database's size (etcd_mvcc_db_total_size_in_bytes from /metrics). Every
 * wait is bounded, and a watchdog ends the run after --max-s seconds. It
 * exits 1 when etcd does not start or a request fails where none should;
 * the figures are printed, never judged. Without the etcd program it says so
 * and exits 0.
 *
 * Usage: bench_cluster_scale [--quick] [--hosts H] [--services S] [--ttl T]
 *          [--threads N] [--steady-s S] [--watchers W] [--events E]
 *          [--members 1|3] [--storm R] [--watch-batch B] [--max-s S]
 *          [--etcd PATH] [--dir DIR]
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"
#include "clusterutil.h"
#include "etcd.h"

#define PREFIX        "/parley/v1/"
#define PROG_BASE     0x20001000u
#define MAX_THREADS   64
#define MAX_WATCHERS  20000
#define EVENT_WAIT_MS 10000
#define SYNC_WAIT_MS  60000

typedef struct options {
    int quick;
    unsigned hosts, services, ttl, threads, steady_s, watchers, events, members, max_s, storm,
        watch_batch;
    const char *etcd, *dir;
} options;

static options opt;
static bc_etcd cluster;
static mm_etcd *handle[BC_MAX_MEMBERS]; /* one per member: host h uses h % n */
static int64_t *lease;                  /* lease[h] */
static atomic_int stop_keepalive;

/* ---- the keep-alive threads ---- */

static atomic_ullong ka_ok, ka_failed, ka_lost;
static atomic_ullong ka_late_max_us; /* the most a keep-alive was sent past its time */
static uint64_t ka_start_ns;

/* ka_thread keeps alive the leases h = t, t + N, t + 2N, ...: each one
 * T/3 after the last, in the order they were granted (which is the order
 * they fall due). A lease found expired is counted lost and left. */
static void *ka_thread(void *arg)
{
    unsigned t = (unsigned)(uintptr_t)arg;
    uint64_t period = (uint64_t)opt.ttl * 1000000000u / 3;
    size_t mine = 0;
    for (unsigned h = t; h < opt.hosts; h += opt.threads)
        mine++;
    uint64_t *due = calloc(mine ? mine : 1, sizeof *due);
    if (due == NULL)
        return NULL;
    for (size_t i = 0; i < mine; i++)
        due[i] = ka_start_ns + period;
    for (size_t i = 0; !atomic_load(&stop_keepalive); i = (i + 1) % (mine ? mine : 1)) {
        if (mine == 0) {
            bc_sleep_ms(100);
            continue;
        }
        unsigned h = t + (unsigned)i * opt.threads;
        if (lease[h] == 0)
            continue;
        uint64_t now = bc_now_ns();
        while (now < due[i] && !atomic_load(&stop_keepalive)) {
            uint64_t left = (due[i] - now) / 1000000u;
            bc_sleep_ms(left > 100 ? 100 : (unsigned)left + 1);
            now = bc_now_ns();
        }
        if (atomic_load(&stop_keepalive))
            break;
        uint64_t late = (now - due[i]) / 1000u;
        unsigned long long prev = atomic_load(&ka_late_max_us);
        while (late > prev && !atomic_compare_exchange_weak(&ka_late_max_us, &prev, late))
            ;
        int64_t left_s = 0;
        int rc = mm_etcd_lease_keepalive(handle[h % cluster.n], lease[h], &left_s, NULL);
        if (rc == MM_ETCD_OK) {
            atomic_fetch_add(&ka_ok, 1);
        } else if (rc == MM_ETCD_NOT_FOUND) {
            atomic_fetch_add(&ka_lost, 1);
            lease[h] = 0;
        } else {
            atomic_fetch_add(&ka_failed, 1);
        }
        due[i] = now + period;
    }
    free(due);
    return NULL;
}

/* ---- parallel phases: grant, publish, revoke ---- */

enum { PH_GRANT, PH_PUBLISH, PH_REVOKE };

typedef struct worker {
    unsigned t;
    int phase;
    double *lat; /* put latencies in ns, one slot per key of this worker */
    size_t nlat;
    unsigned errors, expired;
    mm_etcd_err err;
} worker;

/* key_of writes host h's key of service s and its value. */
static void key_of(unsigned h, unsigned s, char *key, size_t kcap, char *val, size_t vcap)
{
    unsigned port = 20000 + s;
    snprintf(key, kcap, PREFIX "services/svc-%u/host-%04u/%u/1/tcp", s, h, PROG_BASE + s);
    snprintf(val, vcap, "127.%u.%u.1.%u.%u", (h >> 8) & 255, h & 255, port >> 8, port & 255);
}

/* phase_thread does a worker's share of a phase (its hosts h = t, t + N,
 * ...): grant, publish (timing each put) or revoke, counting failures. */
static void *phase_thread(void *arg)
{
    worker *w = arg;
    for (unsigned h = w->t; h < opt.hosts; h += opt.threads) {
        mm_etcd *c = handle[h % cluster.n];
        int rc = MM_ETCD_OK;
        if (w->phase == PH_GRANT) {
            rc = mm_etcd_lease_grant(c, opt.ttl, &lease[h], &w->err);
        } else if (w->phase == PH_REVOKE) {
            if (lease[h] != 0)
                rc = mm_etcd_lease_revoke(c, lease[h], &w->err);
            if (rc == MM_ETCD_NOT_FOUND) { /* expired already */
                w->expired++;
                rc = MM_ETCD_OK;
            }
            lease[h] = 0;
        } else {
            for (unsigned s = 0; s < opt.services && rc == MM_ETCD_OK; s++) {
                char key[160], val[64];
                key_of(h, s, key, sizeof key, val, sizeof val);
                uint64_t t0 = bc_now_ns();
                rc = mm_etcd_put(c, key, val, strlen(val), lease[h], NULL, &w->err);
                w->lat[w->nlat++] = (double)(bc_now_ns() - t0);
            }
        }
        if (rc != MM_ETCD_OK)
            w->errors++;
    }
    return NULL;
}

static unsigned phase_expired; /* leases a revocation found expired already */

/* run_phase runs phase in opt.threads threads and returns its time in
 * seconds, or -1 when a request failed (said). lat, when not NULL, gets
 * every put's latency (lat_n of them). */
static double run_phase(int phase, double **lat, size_t *lat_n)
{
    worker w[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    memset(w, 0, sizeof w);
    size_t per = ((size_t)opt.hosts / opt.threads + 1) * opt.services;
    int ok = 1;
    for (unsigned t = 0; t < opt.threads; t++) {
        w[t].t = t;
        w[t].phase = phase;
        if (phase == PH_PUBLISH && (w[t].lat = calloc(per, sizeof *w[t].lat)) == NULL)
            ok = 0;
    }
    uint64_t t0 = bc_now_ns();
    unsigned started = 0;
    for (; ok && started < opt.threads; started++)
        if (pthread_create(&th[started], NULL, phase_thread, &w[started]) != 0)
            ok = 0;
    for (unsigned t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    double secs = (double)(bc_now_ns() - t0) / 1e9;
    unsigned errors = 0;
    phase_expired = 0;
    for (unsigned t = 0; t < opt.threads; t++)
        phase_expired += w[t].expired;
    for (unsigned t = 0; t < opt.threads; t++)
        if (w[t].errors) {
            if (errors == 0)
                fprintf(stderr, "bench_cluster_scale: %s\n", w[t].err.text);
            errors += w[t].errors;
        }
    if (lat && ok) {
        size_t n = 0;
        for (unsigned t = 0; t < opt.threads; t++)
            n += w[t].nlat;
        *lat = calloc(n ? n : 1, sizeof **lat);
        *lat_n = 0;
        for (unsigned t = 0; *lat && t < opt.threads; t++) {
            memcpy(*lat + *lat_n, w[t].lat, w[t].nlat * sizeof **lat);
            *lat_n += w[t].nlat;
        }
    }
    for (unsigned t = 0; t < opt.threads; t++)
        free(w[t].lat);
    if (!ok || errors) {
        fprintf(stderr, "bench_cluster_scale: %u requests failed in a phase\n", errors);
        return -1;
    }
    return secs;
}

/* ---- a resynchronisation storm ---- */

static atomic_uint storm_left, storm_failed;
static atomic_ullong storm_keys;

/* storm_thread reads the whole prefix, as a reconnecting matchmaker does,
 * until storm_left is used up. */
static void *storm_thread(void *arg)
{
    unsigned t = (unsigned)(uintptr_t)arg;
    for (;;) {
        unsigned left = atomic_load(&storm_left);
        while (left > 0 && !atomic_compare_exchange_weak(&storm_left, &left, left - 1))
            ;
        if (left == 0)
            break;
        mm_etcd_kvs kvs;
        memset(&kvs, 0, sizeof kvs);
        if (mm_etcd_range(handle[t % cluster.n], PREFIX "services/", &kvs, NULL) != MM_ETCD_OK)
            atomic_fetch_add(&storm_failed, 1);
        else
            atomic_fetch_add(&storm_keys, kvs.n);
        mm_etcd_kvs_free(&kvs);
    }
    return NULL;
}

/* storm makes reads range reads of the prefix from opt.threads threads; the
 * time in seconds, or -1. */
static double storm(unsigned reads)
{
    pthread_t th[MAX_THREADS];
    atomic_store(&storm_left, reads);
    uint64_t t0 = bc_now_ns();
    unsigned started = 0;
    for (; started < opt.threads; started++)
        if (pthread_create(&th[started], NULL, storm_thread, (void *)(uintptr_t)started) != 0)
            break;
    for (unsigned t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    if (started == 0 || atomic_load(&storm_failed)) {
        fprintf(stderr, "bench_cluster_scale: %u range reads failed\n", atomic_load(&storm_failed));
        return -1;
    }
    return (double)(bc_now_ns() - t0) / 1e9;
}

/* ---- readings of the members ---- */

/* Set once the watchers' limit is reached: a member that does not answer
 * /metrics then is reported, not a failure. */
static int past_limit;

typedef struct snapshot {
    uint64_t t;
    long rss_kib[BC_MAX_MEMBERS];
    double cpu[BC_MAX_MEMBERS];
    double db_bytes, db_in_use, puts, renewed, watchers, streams, proposals, fsyncs;
    double self_cpu;     /* this process's CPU time, s */
    unsigned unanswered; /* members whose /metrics did not answer (past the limit) */
} snapshot;

/* take reads every member's /metrics, VmRSS and CPU time, and this
 * process's CPU time, into *s; 0 or -1 (said). */
static int take(snapshot *s)
{
    memset(s, 0, sizeof *s);
    s->t = bc_now_ns();
    s->self_cpu = bc_cpu_s(getpid());
    for (unsigned i = 0; i < cluster.n; i++) {
        char *m = NULL;
        if (bc_metrics_of(&cluster, i, &m) != 0) {
            if (past_limit) { /* an overwhelmed member is the figure, not a failure */
                s->rss_kib[i] = bc_rss_kib(cluster.pid[i]);
                s->cpu[i] = bc_cpu_s(cluster.pid[i]);
                s->unanswered++;
                continue;
            }
            fprintf(stderr, "bench_cluster_scale: cannot read member m%u's /metrics\n", i);
            return -1;
        }
        double db = bc_metric(m, "etcd_mvcc_db_total_size_in_bytes", NULL);
        if (db < 0)
            db = bc_metric(m, "etcd_debugging_mvcc_db_total_size_in_bytes", NULL);
        if (db > s->db_bytes)
            s->db_bytes = db;
        double use = bc_metric(m, "etcd_mvcc_db_total_size_in_use_in_bytes", NULL);
        if (use > s->db_in_use)
            s->db_in_use = use;
        double puts = bc_metric(m, "etcd_mvcc_put_total", NULL);
        if (puts > s->puts)
            s->puts = puts;
        double r = bc_metric(m, "etcd_debugging_lease_renewed_total", NULL);
        s->renewed += r > 0 ? r : 0;
        double wt = bc_metric(m, "etcd_debugging_mvcc_watcher_total", NULL);
        s->watchers += wt > 0 ? wt : 0;
        double st = bc_metric(m, "etcd_debugging_mvcc_watch_stream_total", NULL);
        s->streams += st > 0 ? st : 0;
        double p = bc_metric(m, "etcd_server_proposals_committed_total", NULL);
        if (p > s->proposals)
            s->proposals = p;
        double f = bc_metric(m, "etcd_disk_wal_fsync_duration_seconds_count", NULL);
        s->fsyncs += f > 0 ? f : 0;
        s->rss_kib[i] = bc_rss_kib(cluster.pid[i]);
        s->cpu[i] = bc_cpu_s(cluster.pid[i]);
        free(m);
    }
    return 0;
}

/* print_members prints the members' memory and the database's size. */
static void print_members(const char *when, const snapshot *s)
{
    printf("    %-30s", when);
    for (unsigned i = 0; i < cluster.n; i++)
        printf(" m%u %7.1f MiB", i, s->rss_kib[i] / 1024.0);
    printf("   db %8.2f MiB (in use %.2f)%s\n", s->db_bytes / 1048576.0, s->db_in_use / 1048576.0,
           s->unanswered ? "; a member did not answer /metrics: its figures are missing" : "");
}

/* cpu_share is the members' CPU time between a and b, in % of one core. */
static double cpu_share(const snapshot *a, const snapshot *b)
{
    double cpu = 0;
    for (unsigned i = 0; i < cluster.n; i++)
        cpu += b->cpu[i] - a->cpu[i];
    return 100 * cpu / ((double)(b->t - a->t) / 1e9);
}

/* print_lat sorts the n times v (ns) and prints their median, p99 and max
 * in ms. */
static void print_lat(const char *what, double *v, size_t n)
{
    qsort(v, n, sizeof *v, bench_cmp_double);
    printf("    %-30s median %8.2f ms  p99 %8.2f ms  max %8.2f ms  (%zu)\n", what,
           bench_quantile(v, n, 0.5) / 1e6, bench_quantile(v, n, 0.99) / 1e6,
           n ? v[n - 1] / 1e6 : 0, n);
}

/* ---- the watchers ---- */

typedef struct watcher {
    unsigned w;
    pthread_t th;
    atomic_int stop;  /* ends this watcher's watch */
    atomic_int ended; /* mm_etcd_watch returned */
    int rc;
    mm_etcd_err err;
} watcher;

static watcher *watchers;
static unsigned nwatchers;
static unsigned wcap;             /* the stride of arrival[] */
static atomic_uint synced;        /* watchers that have seen a sync key */
static atomic_uchar *seen_sync;   /* per watcher */
static _Atomic uint64_t *arrival; /* [event * nwatchers + w]: when it saw the event, ns */
static atomic_uint *arrived;      /* per event: how many have it */
static int64_t watch_from;
static atomic_uint watch_retries; /* watches made again after an error */
static char retry_why[256];       /* the first one's error */

/* on_events records, for watcher ctx, the sync keys and the events it is
 * given. */
static int on_events(void *ctx, const mm_etcd_event *ev, size_t n, int64_t revision)
{
    watcher *w = ctx;
    uint64_t now = bc_now_ns();
    static const char ekey[] = PREFIX "services/bench-fanout/e/";
    static const char skey[] = PREFIX "services/bench-fanout/sync/";
    (void)revision;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].type != MM_ETCD_PUT)
            continue;
        if (strncmp(ev[i].key, skey, sizeof skey - 1) == 0) {
            if (atomic_exchange(&seen_sync[w->w], 1) == 0)
                atomic_fetch_add(&synced, 1);
        } else if (strncmp(ev[i].key, ekey, sizeof ekey - 1) == 0) {
            unsigned e = (unsigned)strtoul(ev[i].key + sizeof ekey - 1, NULL, 10);
            if (e < opt.events) {
                uint64_t zero = 0;
                if (atomic_compare_exchange_strong(&arrival[(size_t)e * wcap + w->w], &zero, now))
                    atomic_fetch_add(&arrived[e], 1);
            }
        }
    }
    return 0;
}

/* watch_thread is one watcher: mm_etcd_watch of the prefix from watch_from
 * until its stop flag, made again after an error. */
static void *watch_thread(void *arg)
{
    watcher *w = arg;
    int64_t compact = 0;
    /* as the matchmaker's agent does: a watch that broke or was not created
     * in time is made again after a backoff from 250 ms doubling to 5 s
     * (the events it already gave come again, and count once) */
    unsigned backoff = 0;
    for (;;) {
        w->rc = mm_etcd_watch(handle[w->w % cluster.n], PREFIX "services/", watch_from, on_events,
                              w, &w->stop, 5, &compact, &w->err);
        if (w->rc == MM_ETCD_STOPPED || atomic_load(&w->stop) || w->rc == MM_ETCD_COMPACTED ||
            w->rc == MM_ETCD_INVALID)
            break;
        if (atomic_fetch_add(&watch_retries, 1) == 0)
            snprintf(retry_why, sizeof retry_why, "%s", w->err.text);
        backoff = backoff == 0 ? 250 : backoff * 2 > 5000 ? 5000 : backoff * 2;
        for (unsigned slept = 0; slept < backoff && !atomic_load(&w->stop); slept += 50)
            bc_sleep_ms(50);
    }
    atomic_store(&w->ended, 1);
    return NULL;
}

/* fan_out is the fan-out phase (top of this file); before is the steady
 * state's reading, for the memory per watcher. 0 or -1. */
static int fan_out(const snapshot *before)
{
    unsigned want = opt.watchers;
    wcap = want;
    watchers = calloc(want, sizeof *watchers);
    seen_sync = calloc(want, sizeof *seen_sync);
    arrival = calloc((size_t)want * opt.events, sizeof *arrival);
    arrived = calloc(opt.events, sizeof *arrived);
    double *all = calloc(opt.events, sizeof *all), *first = calloc(opt.events, sizeof *first);
    double *mid = calloc(opt.events, sizeof *mid), *one = calloc(want, sizeof *one);
    if (!watchers || !seen_sync || !arrival || !arrived || !all || !first || !mid || !one) {
        fprintf(stderr, "bench_cluster_scale: out of memory for %u watchers\n", want);
        return -1;
    }
    /* the revision to watch from: after everything written so far */
    int64_t rev = 0;
    if (mm_etcd_put(handle[0], PREFIX "services/bench-fanout/start", "0", 1, 0, &rev, NULL) !=
        MM_ETCD_OK) {
        fprintf(stderr, "bench_cluster_scale: a put failed\n");
        return -1;
    }
    watch_from = rev + 1;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    uint64_t t0 = bc_now_ns();
    const char *why = "";
    char whybuf[400], events_why[400] = "";
    int rc = 0;
    unsigned done = 0;
    double setup = 0;
    snapshot during, after;
    memset(&during, 0, sizeof during);
    memset(&after, 0, sizeof after);
    unsigned sync_key = 0, sync_failed = 0;
    char sync_why[256] = "";
    /* in batches, as matchmakers come up over time: a batch is live when
     * each of its watchers has seen a sync key (written until they all
     * have), which a watch from watch_from gives it as soon as it is
     * created; a batch that is not live in time is stopped, and the count
     * reached is the machine's limit */
    printf("\nfan-out: up to %u watchers of " PREFIX "services/, %u at a time, spread over %u "
           "member%s\n",
           want, opt.watch_batch, cluster.n, cluster.n > 1 ? "s" : "");
    nwatchers = 0;
    while (nwatchers < want && why[0] == '\0') {
        unsigned from = nwatchers, to = nwatchers + opt.watch_batch;
        if (to > want)
            to = want;
        for (unsigned w = from; w < to; w++) {
            watchers[w].w = w;
            int e = pthread_create(&watchers[w].th, &attr, watch_thread, &watchers[w]);
            if (e != 0) {
                snprintf(whybuf, sizeof whybuf, "thread creation failed: %s", strerror(e));
                why = whybuf;
                to = w;
                break;
            }
        }
        nwatchers = to;
        uint64_t b0 = bc_now_ns();
        while (atomic_load(&synced) < nwatchers) {
            char key[128];
            snprintf(key, sizeof key, PREFIX "services/bench-fanout/sync/%u", sync_key++);
            mm_etcd_err perr;
            /* a sync put that fails (timed out while the members are busy
             * creating watches) is only noted: the next one may pass */
            if (mm_etcd_put(handle[0], key, "1", 1, 0, NULL, &perr) != MM_ETCD_OK &&
                sync_failed++ == 0)
                snprintf(sync_why, sizeof sync_why, "%s", perr.text);
            if (bc_now_ns() - b0 > (uint64_t)SYNC_WAIT_MS * 1000000u) {
                snprintf(whybuf, sizeof whybuf,
                         "%u watchers more were not all live after %u ms (%u were); the first "
                         "watch error: %s; sync puts failed: %u%s%s",
                         to - from, SYNC_WAIT_MS, atomic_load(&synced) - from,
                         atomic_load(&watch_retries) ? retry_why : "none", sync_failed,
                         sync_failed ? ", the first: " : "", sync_why);
                why = whybuf;
                past_limit = 1;
                for (unsigned w = from; w < to; w++)
                    atomic_store(&watchers[w].stop, 1);
                for (unsigned w = from; w < to; w++)
                    pthread_join(watchers[w].th, NULL);
                nwatchers = from;
                unsigned live = 0;
                for (unsigned w = 0; w < nwatchers; w++)
                    live += atomic_load(&seen_sync[w]);
                atomic_store(&synced, live);
                bc_sleep_ms(5000); /* for the members to settle */
                break;
            }
            bc_sleep_ms(200);
        }
        if (atomic_load(&synced) >= nwatchers && nwatchers)
            printf("    %u watchers live after %.1f s\n", nwatchers,
                   (double)(bc_now_ns() - t0) / 1e9);
        fflush(stdout);
    }
    pthread_attr_destroy(&attr);
    if (nwatchers == 0)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "bench_cluster_scale: no watcher went live: %s\n", why);
    setup = (double)(bc_now_ns() - t0) / 1e9;
    if (rc == 0)
        rc = take(&during);
    for (unsigned e = 0; e < opt.events && rc == 0; e++) {
        char key[128];
        snprintf(key, sizeof key, PREFIX "services/bench-fanout/e/%u", e);
        uint64_t s0 = bc_now_ns();
        mm_etcd_err perr;
        int prc = MM_ETCD_FAILED;
        /* a put that timed out is made again (at most 3 tries; timed from
         * the first): after a batch of watchers too many, the members may
         * still be electing */
        for (int tries = 0; tries < 3 && prc != MM_ETCD_OK; tries++) {
            prc = mm_etcd_put(handle[e % cluster.n], key, "1", 1, 0, NULL, &perr);
        }
        if (prc != MM_ETCD_OK) {
            if (why[0]) { /* past the limit: what the cluster could not do is the figure */
                snprintf(events_why, sizeof events_why,
                         "after the limit, event %u's put failed 3 times: %s", e, perr.text);
                break;
            }
            fprintf(stderr, "bench_cluster_scale: a put failed: %s\n", perr.text);
            rc = -1;
            break;
        }
        while (atomic_load(&arrived[e]) < nwatchers &&
               bc_now_ns() - s0 < (uint64_t)EVENT_WAIT_MS * 1000000u)
            usleep(200);
        if (atomic_load(&arrived[e]) < nwatchers) {
            snprintf(events_why, sizeof events_why, "event %u reached %u of %u watchers in %u ms",
                     e, atomic_load(&arrived[e]), nwatchers, EVENT_WAIT_MS);
            if (why[0])
                break;
            fprintf(stderr, "bench_cluster_scale: %s\n", events_why);
            rc = -1;
            break;
        }
        for (unsigned w = 0; w < nwatchers; w++)
            one[w] = (double)(atomic_load(&arrival[(size_t)e * wcap + w]) - s0);
        qsort(one, nwatchers, sizeof *one, bench_cmp_double);
        first[e] = one[0];
        mid[e] = bench_quantile(one, nwatchers, 0.5);
        all[e] = one[nwatchers - 1];
        done++;
        bc_sleep_ms(20);
    }
    if (rc == 0)
        rc = take(&after);
    for (unsigned w = 0; w < nwatchers; w++)
        atomic_store(&watchers[w].stop, 1);
    for (unsigned w = 0; w < nwatchers; w++)
        pthread_join(watchers[w].th, NULL);
    if (rc == 0) {
        printf("    %u watchers live (of %u asked for) after %.1f s%s%s\n", nwatchers, want, setup,
               why[0] ? "; stopped there: " : "", why);
        printf("    etcd counts %.0f watchers on %.0f watch streams%s; %u watches were made again "
               "after an error (the first: %s)\n",
               during.watchers, during.streams,
               during.unanswered ? " (on the members that answered /metrics)" : "",
               atomic_load(&watch_retries), atomic_load(&watch_retries) ? retry_why : "none");
        print_members("memory with the watchers", &during);
        for (unsigned i = 0; i < cluster.n; i++) {
            unsigned on = nwatchers / cluster.n + (i < nwatchers % cluster.n);
            printf("    m%u: %u watchers, %+.1f KiB each over the steady state\n", i, on,
                   on ? (double)(during.rss_kib[i] - before->rss_kib[i]) / on : 0);
        }
        printf("    %u puts, one at a time; from each put's call to its event at:\n", done);
        print_lat("the first watcher", first, done);
        print_lat("half of the watchers", mid, done);
        print_lat("every watcher", all, done);
        if (events_why[0])
            printf("    the events stopped there: %s\n", events_why);
        printf("    CPU while the puts went out: etcd %.0f%% of one core, the watchers' process "
               "%.0f%%\n",
               cpu_share(&during, &after),
               100 * (after.self_cpu - during.self_cpu) / ((double)(after.t - during.t) / 1e9));
    }
    free(watchers);
    free(seen_sync);
    free(arrival);
    free(arrived);
    free(all);
    free(first);
    free(mid);
    free(one);
    return rc;
}

/* ---- main ---- */

static void on_watchdog(int sig)
{
    static const char text[] = "bench_cluster_scale: watchdog: --max-s passed; stopping\n";
    (void)sig;
    if (write(2, text, sizeof text - 1) < 0) {
        /* nothing more to do */
    }
    bc_children_kill();
    _exit(1);
}

/* parse_uint parses s as a decimal from lo to hi into *out; 0 or -1. */
static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* usage prints the command line's form to f. */
static void usage(FILE *f)
{
    fputs("usage: bench_cluster_scale [--quick] [--hosts H] [--services S] [--ttl T]\n"
          "         [--threads N] [--steady-s S] [--watchers W] [--events E]\n"
          "         [--members 1|3] [--storm R] [--watch-batch B] [--max-s S]\n"
          "         [--etcd PATH] [--dir DIR]\n",
          f);
}

/* parse reads the command line into opt, with --quick's or the full run's
 * defaults for what is not given; 0, or -1 after the usage. */
static int parse(int argc, char **argv)
{
    enum { NOPTS = 11 };
    unsigned v[NOPTS] = {0};
    static const char *const names[NOPTS] = {
        "--hosts",  "--services", "--ttl",   "--threads", "--steady-s",   "--watchers",
        "--events", "--members",  "--max-s", "--storm",   "--watch-batch"};
    static const unsigned lo[NOPTS] = {1, 1, 2, 1, 1, 1, 1, 1, 10, 1, 1};
    static const unsigned hi[NOPTS] = {100000, 1000,         3600,        MAX_THREADS,
                                       3600,   MAX_WATCHERS, 10000,       BC_MAX_MEMBERS,
                                       86400,  100000,       MAX_WATCHERS};
    opt.etcd = "etcd";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            opt.quick = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        int bad = val == NULL, known = 0;
        for (int k = 0; k < NOPTS && !bad; k++)
            if (strcmp(a, names[k]) == 0) {
                known = 1;
                bad = parse_uint(val, lo[k], hi[k], &v[k]) != 0;
            }
        if (!bad && !known) {
            if (strcmp(a, "--etcd") == 0)
                opt.etcd = val;
            else if (strcmp(a, "--dir") == 0)
                opt.dir = val;
            else
                bad = 1;
        }
        if (bad || v[7] == 2) {
            fprintf(stderr, "bench_cluster_scale: bad option or value: %s %s\n", a, val ? val : "");
            usage(stderr);
            return -1;
        }
        i++;
    }
    int q = opt.quick;
    opt.hosts = v[0] ? v[0] : q ? 20 : 1000;
    opt.services = v[1] ? v[1] : q ? 2 : 10;
    opt.ttl = v[2] ? v[2] : q ? 3 : 10;
    opt.threads = v[3] ? v[3] : 4;
    opt.steady_s = v[4] ? v[4] : q ? 3 : 30;
    opt.watchers = v[5] ? v[5] : q ? 10 : 1000;
    opt.events = v[6] ? v[6] : q ? 5 : 50;
    opt.members = v[7] ? v[7] : q ? 1 : 3;
    opt.max_s = v[8] ? v[8] : q ? 120 : 900;
    opt.storm = v[9] ? v[9] : q ? 4 : 100;
    opt.watch_batch = v[10] ? v[10] : q ? 5 : 500;
    return 0;
}

/* main: see the top of this file. */
int main(int argc, char **argv)
{
    if (parse(argc, argv) != 0)
        return 2;
    char etcd_path[512], why[200];
    if (bc_find_program(opt.etcd, etcd_path, sizeof etcd_path) != 0) {
        printf("bench_cluster_scale: skipped: no etcd program ('%s'; Debian package "
               "etcd-server)\n",
               opt.etcd);
        return 0;
    }
    int private_net = bc_private_network(why, sizeof why) == 0;
    bc_children_guard();
    signal(SIGALRM, on_watchdog);
    alarm(opt.max_s);
    long nofile = bc_raise_nofile();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (bc_etcd_start(&cluster, etcd_path, opt.members, opt.dir, 30000, why, sizeof why) != 0) {
        fprintf(stderr, "bench_cluster_scale: etcd: %s\n", why);
        return 1;
    }
    printf("bench_cluster_scale: etcd %u member%s on loopback (in %s), data on %s\n", cluster.n,
           cluster.n > 1 ? "s" : "",
           private_net ? "a network namespace of its own" : "the host's network",
           bc_fs_type(cluster.dir));
    char load[64];
    bc_loadavg(load, sizeof load);
    printf("    the machine's load average at the start: %s (%ld cores)\n", load,
           sysconf(_SC_NPROCESSORS_ONLN));
    printf("    %u hosts x %u services = %u keys, one lease per host (TTL %u s, a keep-alive "
           "every %.2f s), %u client threads, open files up to %ld\n",
           opt.hosts, opt.services, opt.hosts * opt.services, opt.ttl, opt.ttl / 3.0, opt.threads,
           nofile);

    int rc = 1;
    pthread_t ka[MAX_THREADS];
    unsigned ka_started = 0;
    double *lat = NULL;
    size_t nlat = 0;
    lease = calloc(opt.hosts, sizeof *lease);
    if (lease == NULL)
        goto out;
    for (unsigned i = 0; i < cluster.n; i++) {
        mm_etcd_cfg cfg;
        mm_etcd_err err;
        memset(&cfg, 0, sizeof cfg);
        cfg.endpoints = cluster.url[i];
        if (mm_etcd_create(&handle[i], &cfg, &err) != MM_ETCD_OK) {
            fprintf(stderr, "bench_cluster_scale: %s\n", err.text);
            goto out;
        }
    }
    snapshot s0, s1, s2, s3, s4;
    if (take(&s0) != 0)
        goto out;
    printf("\nmemory and database (VmRSS of each member; etcd_mvcc_db_total_size_in_bytes)\n");
    print_members("at the start", &s0);

    double secs = run_phase(PH_GRANT, NULL, NULL);
    if (secs < 0)
        goto out;
    double grant_s = secs;
    ka_start_ns = bc_now_ns();
    for (; ka_started < opt.threads; ka_started++)
        if (pthread_create(&ka[ka_started], NULL, ka_thread, (void *)(uintptr_t)ka_started) != 0)
            goto out;

    if (take(&s1) != 0)
        goto out;
    secs = run_phase(PH_PUBLISH, &lat, &nlat);
    if (secs < 0 || take(&s2) != 0)
        goto out;
    print_members("after the publication", &s2);

    mm_etcd_kvs kvs;
    memset(&kvs, 0, sizeof kvs);
    uint64_t r0 = bc_now_ns();
    mm_etcd_err rerr;
    if (mm_etcd_range(handle[0], PREFIX "services/", &kvs, &rerr) != MM_ETCD_OK) {
        fprintf(stderr, "bench_cluster_scale: range: %s\n", rerr.text);
        goto out;
    }
    double range_ms = (double)(bc_now_ns() - r0) / 1e6;
    size_t range_n = kvs.n, range_bytes = 0;
    for (size_t i = 0; i < kvs.n; i++)
        range_bytes += strlen(kvs.kv[i].key) + kvs.kv[i].value_len;
    mm_etcd_kvs_free(&kvs);

    double storm_s = storm(opt.storm);
    if (storm_s < 0)
        goto out;

    unsigned long long ok0 = atomic_load(&ka_ok);
    snapshot st0;
    if (take(&st0) != 0)
        goto out;
    bc_sleep_ms(opt.steady_s * 1000);
    if (take(&s3) != 0)
        goto out;
    unsigned long long ok1 = atomic_load(&ka_ok);
    print_members("after the steady state", &s3);

    double ss = (double)(s3.t - st0.t) / 1e9;
    printf("\ngrant: %u leases in %.2f s: %.0f grants/s\n", opt.hosts, grant_s,
           opt.hosts / grant_s);
    printf("\npublish: %zu puts in %.2f s from %u threads: %.0f puts/s as the clients saw "
           "them; etcd counted %.0f puts (%.0f/s); etcd CPU %.0f%% of one core\n",
           nlat, secs, opt.threads, nlat / secs, s2.puts - s1.puts, (s2.puts - s1.puts) / secs,
           cpu_share(&s1, &s2));
    print_lat("one put", lat, nlat);
    printf("\nresync: one range read of " PREFIX "services/: %zu keys, %.1f KiB of keys and "
           "values, %.1f ms\n",
           range_n, range_bytes / 1024.0, range_ms);
    printf("    then %u of them from %u threads at once: %.2f s, %.1f reads/s (%.0f keys/s); "
           "all %u hosts reading it again would take about %.0f s\n",
           opt.storm, opt.threads, storm_s, opt.storm / storm_s,
           (double)atomic_load(&storm_keys) / storm_s, opt.hosts,
           opt.hosts / (opt.storm / storm_s));
    printf("\nsteady: keep-alives only, over %.1f s\n", ss);
    printf("    keep-alives made %.0f/s (%.1f per host per minute; the schedule: %.0f/s); etcd "
           "counted %.0f renewals/s\n",
           (ok1 - ok0) / ss, (ok1 - ok0) / ss / opt.hosts * 60, opt.hosts * 3.0 / opt.ttl,
           (s3.renewed - st0.renewed) / ss);
    printf("    since the leases were granted: %llu keep-alives, %llu failed, %llu leases lost "
           "(expired), sent at most %.1f ms past their time\n",
           (unsigned long long)atomic_load(&ka_ok), (unsigned long long)atomic_load(&ka_failed),
           (unsigned long long)atomic_load(&ka_lost), atomic_load(&ka_late_max_us) / 1000.0);
    printf("    meanwhile etcd committed %.0f Raft proposals (%.2f/s) and made %.0f WAL fsyncs "
           "(%.2f/s, all members)\n",
           s3.proposals - st0.proposals, (s3.proposals - st0.proposals) / ss,
           s3.fsyncs - st0.fsyncs, (s3.fsyncs - st0.fsyncs) / ss);
    printf("    CPU: etcd, all members, %.1f%% of one core; this process %.1f%%\n",
           cpu_share(&st0, &s3), 100 * (s3.self_cpu - st0.self_cpu) / ss);

    unsigned long long f_ok = atomic_load(&ka_ok), f_failed = atomic_load(&ka_failed),
                       f_lost = atomic_load(&ka_lost);
    atomic_store(&ka_late_max_us, 0);
    if (fan_out(&s3) != 0)
        goto out;
    printf("    the keep-alives meanwhile: %llu made, %llu failed, %llu leases lost (expired), "
           "sent at most %.1f ms past their time\n",
           (unsigned long long)atomic_load(&ka_ok) - f_ok,
           (unsigned long long)atomic_load(&ka_failed) - f_failed,
           (unsigned long long)atomic_load(&ka_lost) - f_lost,
           atomic_load(&ka_late_max_us) / 1000.0);

    atomic_store(&stop_keepalive, 1);
    for (unsigned t = 0; t < ka_started; t++)
        pthread_join(ka[t], NULL);
    ka_started = 0;
    secs = run_phase(PH_REVOKE, NULL, NULL);
    if (secs < 0)
        goto out;
    memset(&kvs, 0, sizeof kvs);
    if (mm_etcd_range(handle[0], PREFIX "services/svc-", &kvs, &rerr) != MM_ETCD_OK) {
        fprintf(stderr, "bench_cluster_scale: range: %s\n", rerr.text);
        goto out;
    }
    printf("\nrevoke: %u leases in %.2f s: %.0f revokes/s (%u had expired already); %zu "
           "service keys left after\n",
           opt.hosts, secs, opt.hosts / secs, phase_expired, kvs.n);
    mm_etcd_kvs_free(&kvs);
    if (take(&s4) != 0)
        goto out;
    print_members("after the revocation", &s4);
    rc = 0;
out:
    atomic_store(&stop_keepalive, 1);
    for (unsigned t = 0; t < ka_started; t++)
        pthread_join(ka[t], NULL);
    for (unsigned i = 0; i < BC_MAX_MEMBERS; i++)
        mm_etcd_destroy(handle[i]);
    free(lat);
    free(lease);
    if (rc != 0) {
        printf("\nbench_cluster_scale: stopped by a failure; keep-alives so far: %llu made, %llu "
               "failed, %llu leases lost (expired), sent at most %.1f ms past their time\n",
               (unsigned long long)atomic_load(&ka_ok), (unsigned long long)atomic_load(&ka_failed),
               (unsigned long long)atomic_load(&ka_lost), atomic_load(&ka_late_max_us) / 1000.0);
        bc_etcd_tail_logs(&cluster, 4);
    }
    bc_etcd_stop(&cluster);
    curl_global_cleanup();
    bc_loadavg(load, sizeof load);
    if (rc == 0)
        printf("\nbench_cluster_scale: done; the machine's load average at the end: %s\n", load);
    return rc;
}
