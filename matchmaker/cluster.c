/*
 * cluster.c: the matchmaker's agent in an etcd cluster (see cluster.h):
 * the session thread (lease, publishing, keep-alives) and the watch thread
 * (the cache), over the etcd client (etcd.h) and the cache (ccache.h).
 *
 * What the session published is kept as a sorted array of keys and values,
 * so that reconciling it with the table is a merge of two sorted lists:
 * puts for what is new or moved, deletes for what is gone. Both threads
 * share one mutex for the state that CLUSTER reports; neither holds it
 * during a request to etcd.
 */
#include "cluster.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "etcd.h"

#define BACKOFF_MIN_MS    250u
#define BACKOFF_MAX_MS    5000u
#define TICK_MS           1000u /* the session looks at the state at least this often */
#define WATCH_KEEPALIVE_S 5u
#define WATCH_SETTLED_MS  1000u /* a watch this old had been made: resumed at once */

/* One published key and its value. */
typedef struct pub {
    char *key;
    char *value;
} pub;

/* A sorted array of them. */
typedef struct pub_set {
    pub *v;
    size_t n, cap;
} pub_set;

struct mm_cluster {
    char *endpoints, *cacert, *cert, *keyfile;
    char host[MM_HOST_MAX + 1];
    char prefix[MM_CLUSTER_PREFIX_MAX + 1];
    char services[MM_CLUSTER_PREFIX_MAX + sizeof "services/"]; /* PREFIX services/ */
    struct sockaddr_storage adv;
    unsigned ttl_s, stale_s;
    mm_registry *reg;
    void (*log)(int level, const char *fmt, ...);
    mm_etcd *etcd;
    mm_ccache *cache;
    pthread_t session, watcher;
    int started;
    atomic_int watch_stop; /* ends the watch in progress */
    /* under lock */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping;
    int changed;      /* the table changed since the last reconciliation */
    int resync;       /* the watch thread reads the range again */
    int64_t lease;    /* held; 0: none */
    int session_ok;   /* the lease is alive and the last request worked */
    int watch_ok;     /* the cache is filled and the watch runs */
    uint64_t reached; /* when etcd last answered (monotonic ms) */
    int logged_state; /* the state last logged */
    char error[MM_ERROR_MAX + 1];
};

#define LOG(c, ...)                                                                                \
    do {                                                                                           \
        if ((c)->log)                                                                              \
            (c)->log(__VA_ARGS__);                                                                 \
    } while (0)

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const char *state_name(int state)
{
    switch (state) {
    case MM_CLUSTER_CONNECTED:
        return "CONNECTED";
    case MM_CLUSTER_DISCONNECTED:
        return "DISCONNECTED";
    case MM_CLUSTER_STALE:
        return "STALE";
    default:
        return "OFF";
    }
}

/* ---- the state ---- */

/* state_locked is the state now. Under lock. */
static int state_locked(const mm_cluster *c, uint64_t now)
{
    if (c->session_ok && c->watch_ok)
        return MM_CLUSTER_CONNECTED;
    if (now - c->reached > (uint64_t)c->stale_s * 1000u)
        return MM_CLUSTER_STALE;
    return MM_CLUSTER_DISCONNECTED;
}

/* note_state logs a change of state since the last one logged. Under lock. */
static void note_state(mm_cluster *c)
{
    uint64_t now = now_ms();
    int st = state_locked(c, now);
    if (st == c->logged_state)
        return;
    if (st == MM_CLUSTER_DISCONNECTED && !c->error[0])
        return; /* starting: nothing failed yet */
    c->logged_state = st;
    if (st == MM_CLUSTER_CONNECTED)
        c->error[0] = '\0'; /* what kept it from here is over */
    if (st == MM_CLUSTER_CONNECTED)
        LOG(c, LOG_WARNING, "cluster: now %s (lease %llx, revision %lld)", state_name(st),
            (unsigned long long)c->lease, (long long)mm_ccache_revision(c->cache));
    else if (st == MM_CLUSTER_DISCONNECTED)
        LOG(c, LOG_WARNING, "cluster: now %s, cluster names served from the cache for %u s: %s",
            state_name(st), c->stale_s, c->error);
    else
        LOG(c, LOG_WARNING,
            "cluster: now %s, etcd last reached %llu s ago, names only in the cluster are "
            "refused: %s",
            state_name(st), (unsigned long long)((now - c->reached) / 1000u),
            c->error[0] ? c->error : "no answer from etcd yet");
}

/* failed records that the request what failed with err. Under lock. */
static void failed(mm_cluster *c, const char *what, const mm_etcd_err *err)
{
    const char *text = err->text[0] ? err->text : mm_etcd_strerror(err->code);
    size_t a = strnlen(what, 64), b = strnlen(text, sizeof c->error - a - 3);
    memcpy(c->error, what, a);
    memcpy(c->error + a, ": ", 2);
    memcpy(c->error + a + 2, text, b);
    c->error[a + 2 + b] = '\0';
    LOG(c, LOG_DEBUG, "cluster: %s", c->error);
}

/* reached records that etcd answered. Under lock. */
static void reached(mm_cluster *c)
{
    c->reached = now_ms();
}

/* wait_until waits on the condition until the monotonic time t (ms) or a
 * signal. Under lock. */
static void wait_until(mm_cluster *c, uint64_t t)
{
    uint64_t now = now_ms();
    if (t <= now)
        return;
    uint64_t d = t - now;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(d / 1000u);
    ts.tv_nsec += (long)(d % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&c->wake, &c->lock, &ts);
}

static unsigned next_backoff(unsigned b)
{
    return b == 0 ? BACKOFF_MIN_MS : b * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b * 2;
}

/* ---- what is published ---- */

/* pub_clear frees s's keys and values (NULL ones are those moved out). */
static void pub_clear(pub_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].key);
        free(s->v[i].value);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int pub_cmp(const void *a, const void *b)
{
    return strcmp(((const pub *)a)->key, ((const pub *)b)->key);
}

/* pub_add appends key = value to s (not sorted). 0 or -1 (no memory). */
static int pub_add(pub_set *s, const char *key, const char *value)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        pub *p = realloc(s->v, cap * sizeof *p);
        if (!p)
            return -1;
        s->v = p;
        s->cap = cap;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return -1;
    }
    s->v[s->n++] = (pub){k, v};
    return 0;
}

/* desired fills *out (sorted) with the keys and values the table's
 * registrations are published as. 0 or -1 (no memory). */
static int desired(mm_cluster *c, pub_set *out)
{
    memset(out, 0, sizeof *out);
    mm_reg_entry *all = NULL;
    size_t n = 0;
    if (mm_registry_snapshot(c->reg, &all, &n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        mm_cc_entry e;
        memset(&e, 0, sizeof e);
        if (!mm_cluster_publish_uaddr(&all[i], (const struct sockaddr *)&c->adv, e.uaddr,
                                      sizeof e.uaddr))
            continue;
        memcpy(e.name, all[i].name, sizeof e.name);
        memcpy(e.host, c->host, sizeof e.host);
        e.prog = all[i].prog;
        e.vers = all[i].vers;
        size_t nl = strnlen(all[i].netid, sizeof e.netid - 1); /* one of the four */
        memcpy(e.netid, all[i].netid, nl);
        e.netid[nl] = '\0';
        char key[MM_CLUSTER_KEY_MAX + 1];
        if (mm_ccache_key(c->prefix, &e, key, sizeof key) != 0)
            continue;
        if (pub_add(out, key, e.uaddr) != 0) {
            free(all);
            pub_clear(out);
            return -1;
        }
    }
    free(all);
    if (out->n)
        qsort(out->v, out->n, sizeof *out->v, pub_cmp);
    return 0;
}

/* reconcile makes what *have says is published under lease what the table
 * wants, a merge of the two sorted lists in key order: a put for a key new
 * or moved, a delete for a key gone. *have follows each request that
 * worked, so that after a failure it is still true. Returns MM_ETCD_OK or
 * the failure's code (err filled, *what the request). */
static int reconcile(mm_cluster *c, int64_t lease, pub_set *have, mm_etcd_err *err,
                     const char **what)
{
    pub_set want, next = {0};
    if (desired(c, &want) != 0 || !(next.v = malloc((want.n + have->n + 1) * sizeof *next.v))) {
        pub_clear(&want);
        err->code = MM_ETCD_NOMEM;
        snprintf(err->text, sizeof err->text, "no memory for the keys to publish");
        *what = "publishing";
        return MM_ETCD_NOMEM;
    }
    next.cap = want.n + have->n + 1;
    int rc = MM_ETCD_OK;
    size_t i = 0, j = 0;
    while (i < want.n || j < have->n) {
        int cmp = i == want.n ? 1 : j == have->n ? -1 : strcmp(want.v[i].key, have->v[j].key);
        pub *w = i < want.n ? &want.v[i] : NULL, *h = j < have->n ? &have->v[j] : NULL;
        if (rc != MM_ETCD_OK || (cmp == 0 && strcmp(w->value, h->value) == 0)) {
            /* unchanged, or left as it is after a failure */
            if (cmp >= 0) {
                next.v[next.n++] = *h;
                *h = (pub){NULL, NULL};
                j++;
            }
            if (cmp <= 0)
                i++;
            continue;
        }
        if (cmp <= 0) { /* new, or moved: put */
            rc = mm_etcd_put(c->etcd, w->key, w->value, strlen(w->value), lease, NULL, err);
            if (rc != MM_ETCD_OK) {
                *what = "put";
                continue; /* the rest is carried over as it is */
            }
            LOG(c, LOG_DEBUG, "cluster: put %s = %s", w->key, w->value);
            next.v[next.n++] = *w;
            *w = (pub){NULL, NULL};
            i++;
            if (cmp == 0)
                j++; /* the old value, replaced */
            continue;
        }
        rc = mm_etcd_delete(c->etcd, h->key, 0, NULL, err); /* gone: delete */
        if (rc != MM_ETCD_OK) {
            *what = "delete";
            continue;
        }
        LOG(c, LOG_DEBUG, "cluster: deleted %s", h->key);
        j++;
    }
    pub_clear(&want);
    pub_clear(have); /* what is left in it was replaced or deleted */
    *have = next;
    return rc;
}

/* ---- the session thread ---- */

/* revoke revokes lease, telling the log. Without lock. */
static void revoke(mm_cluster *c, int64_t lease, const char *why)
{
    mm_etcd_err err;
    memset(&err, 0, sizeof err);
    int rc = mm_etcd_lease_revoke(c->etcd, lease, &err);
    if (rc == MM_ETCD_OK)
        LOG(c, LOG_INFO, "cluster: lease %llx revoked (%s)", (unsigned long long)lease, why);
    else if (rc != MM_ETCD_NOT_FOUND)
        LOG(c, LOG_WARNING, "cluster: cannot revoke lease %llx (%s): %s", (unsigned long long)lease,
            why, err.text[0] ? err.text : mm_etcd_strerror(rc));
}

static void *session_main(void *arg)
{
    mm_cluster *c = arg;
    pub_set have = {0};
    int64_t lease = 0, old_lease = 0;
    int fresh = 0;     /* a new lease, to publish everything under */
    int had_lease = 0; /* a lease was held before: the next one is a reconnection */
    unsigned backoff = 0;
    uint64_t retry_at = 0, next_ka = 0;
    const uint64_t ka_period = (uint64_t)c->ttl_s * 1000u / 3u;
    mm_etcd_err err;
    pthread_mutex_lock(&c->lock);
    while (!c->stopping) {
        note_state(c);
        uint64_t now = now_ms();
        if (retry_at > now) {
            wait_until(c, retry_at < now + TICK_MS ? retry_at : now + TICK_MS);
            continue;
        }
        memset(&err, 0, sizeof err);
        const char *what = NULL;
        int rc = MM_ETCD_OK;
        if (!lease) {
            int64_t id = 0;
            pthread_mutex_unlock(&c->lock);
            rc = mm_etcd_lease_grant(c->etcd, c->ttl_s, &id, &err);
            pthread_mutex_lock(&c->lock);
            what = "lease grant";
            if (rc == MM_ETCD_OK) {
                lease = id;
                c->lease = id;
                fresh = 1;
                pub_clear(&have);
                reached(c);
                next_ka = now_ms() + ka_period;
                LOG(c, LOG_INFO, "cluster: lease %llx granted (ttl %u s)", (unsigned long long)id,
                    c->ttl_s);
            }
        } else if (fresh || c->changed) {
            c->changed = 0;
            pthread_mutex_unlock(&c->lock);
            rc = reconcile(c, lease, &have, &err, &what);
            if (rc == MM_ETCD_OK && fresh) {
                LOG(c, LOG_INFO, "cluster: %s %zu entries under lease %llx",
                    had_lease ? "republished" : "published", have.n, (unsigned long long)lease);
                if (old_lease)
                    revoke(c, old_lease, "replaced after a reconnection");
            }
            pthread_mutex_lock(&c->lock);
            if (rc != MM_ETCD_OK) {
                c->changed = 1;
            } else {
                if (fresh) {
                    old_lease = 0;
                    if (had_lease) { /* a reconnection: the watch reads the range again */
                        c->resync = 1;
                        atomic_store(&c->watch_stop, 1);
                    }
                    had_lease = 1;
                    fresh = 0;
                }
                c->session_ok = 1;
                reached(c);
            }
        } else if (now >= next_ka) {
            int64_t left = 0;
            pthread_mutex_unlock(&c->lock);
            rc = mm_etcd_lease_keepalive(c->etcd, lease, &left, &err);
            pthread_mutex_lock(&c->lock);
            what = "lease keep-alive";
            if (rc == MM_ETCD_OK) {
                c->session_ok = 1;
                reached(c);
                next_ka = now_ms() + ka_period;
            }
        } else {
            wait_until(c, next_ka < now + TICK_MS ? next_ka : now + TICK_MS);
            continue;
        }
        if (rc == MM_ETCD_OK) {
            backoff = 0;
            continue;
        }
        /* a failure: start afresh with a new lease once etcd answers;
         * the old one is revoked then, or expires */
        failed(c, what, &err);
        c->session_ok = 0;
        if (lease) {
            if (!old_lease)
                old_lease = lease;
            lease = 0;
            c->lease = 0;
            if (!fresh)
                had_lease = 1;
        }
        backoff = next_backoff(backoff);
        retry_at = now_ms() + backoff;
        note_state(c);
    }
    c->session_ok = 0;
    c->lease = 0;
    pthread_mutex_unlock(&c->lock);
    if (lease)
        revoke(c, lease, "stopping");
    if (old_lease && old_lease != lease)
        revoke(c, old_lease, "stopping");
    pub_clear(&have);
    return NULL;
}

/* ---- the watch thread ---- */

/* The watch callback's context. */
typedef struct watch_ctx {
    mm_cluster *c;
    int64_t next_rev; /* the revision to resume from */
    int nomem;
} watch_ctx;

static int on_events(void *ctx, const mm_etcd_event *ev, size_t n, int64_t revision)
{
    watch_ctx *w = ctx;
    mm_cluster *c = w->c;
    if (mm_ccache_apply(c->cache, ev, n, revision) != 0) {
        w->nomem = 1;
        return 1;
    }
    if (revision >= w->next_rev)
        w->next_rev = revision + 1;
    pthread_mutex_lock(&c->lock);
    reached(c);
    c->watch_ok = 1;
    note_state(c);
    int stop = c->stopping;
    pthread_mutex_unlock(&c->lock);
    return stop;
}

static void *watch_main(void *arg)
{
    mm_cluster *c = arg;
    watch_ctx w = {c, 0, 0};
    int need_read = 1;
    unsigned backoff = 0;
    mm_etcd_err err;
    pthread_mutex_lock(&c->lock);
    while (!c->stopping) {
        if (c->resync) {
            c->resync = 0;
            need_read = 1;
        }
        atomic_store(&c->watch_stop, 0);
        pthread_mutex_unlock(&c->lock);
        memset(&err, 0, sizeof err);
        int rc;
        const char *what;
        if (need_read) {
            mm_etcd_kvs kvs;
            memset(&kvs, 0, sizeof kvs);
            what = "range read";
            rc = mm_etcd_range(c->etcd, c->services, &kvs, &err);
            if (rc == MM_ETCD_OK) {
                if (mm_ccache_replace(c->cache, kvs.kv, kvs.n, kvs.revision) == 0) {
                    LOG(c, LOG_INFO, "cluster: read %zu keys at revision %lld", kvs.n,
                        (long long)kvs.revision);
                    w.next_rev = kvs.revision + 1;
                    need_read = 0;
                } else {
                    rc = MM_ETCD_NOMEM;
                    err.code = rc;
                    snprintf(err.text, sizeof err.text, "no memory for the cache");
                }
            }
            mm_etcd_kvs_free(&kvs);
            pthread_mutex_lock(&c->lock);
            if (rc == MM_ETCD_OK) {
                reached(c);
                c->watch_ok = 1;
                backoff = 0;
                note_state(c);
                continue;
            }
        } else {
            /* current until the watch says otherwise: one that cannot be
             * made returns at once (the state needs the session too) */
            pthread_mutex_lock(&c->lock);
            c->watch_ok = 1;
            note_state(c);
            pthread_mutex_unlock(&c->lock);
            int64_t compact = 0;
            w.nomem = 0;
            what = "watch";
            uint64_t began = now_ms();
            rc = mm_etcd_watch(c->etcd, c->services, w.next_rev, on_events, &w, &c->watch_stop,
                               WATCH_KEEPALIVE_S, &compact, &err);
            pthread_mutex_lock(&c->lock);
            if (rc == MM_ETCD_STOPPED && !w.nomem)
                continue; /* stopping, or told to read again */
            if (rc == MM_ETCD_COMPACTED) {
                LOG(c, LOG_WARNING,
                    "cluster: revision %lld was compacted (the oldest left is %lld): reading "
                    "the services again",
                    (long long)w.next_rev, (long long)compact);
                need_read = 1;
                continue;
            }
            if (w.nomem) {
                need_read = 1;
                rc = MM_ETCD_NOMEM;
                err.code = rc;
                snprintf(err.text, sizeof err.text, "no memory for the cache");
            } else if (now_ms() - began >= WATCH_SETTLED_MS) {
                /* a watch that had run broke (its member went away, say):
                 * resumed at once, on another member if need be, the
                 * state left as it is unless that fails too */
                LOG(c, LOG_DEBUG, "cluster: watch ended (%s): resuming from revision %lld",
                    err.text, (long long)w.next_rev);
                backoff = 0;
                continue;
            }
        }
        failed(c, what, &err);
        c->watch_ok = 0;
        note_state(c);
        backoff = next_backoff(backoff);
        wait_until(c, now_ms() + backoff);
    }
    c->watch_ok = 0;
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

/* ---- the agent ---- */

/* mm_cluster_create: see cluster.h. */
int mm_cluster_create(mm_cluster **out, const mm_cluster_cfg *cfg, char *why, size_t cap)
{
    const char *prefix = cfg->prefix ? cfg->prefix : MM_CLUSTER_PREFIX_DEFAULT;
    const char *host = cfg->host ? cfg->host : cfg->advertise;
    unsigned ttl = cfg->ttl_s ? cfg->ttl_s : MM_CLUSTER_TTL_DEFAULT;
    struct sockaddr_storage adv;
    memset(&adv, 0, sizeof adv);
    if (!cfg->advertise) {
        snprintf(why, cap, "no address to advertise");
        return -1;
    }
    if (inet_pton(AF_INET, cfg->advertise, &((struct sockaddr_in *)&adv)->sin_addr) == 1) {
        adv.ss_family = AF_INET;
    } else if (inet_pton(AF_INET6, cfg->advertise, &((struct sockaddr_in6 *)&adv)->sin6_addr) ==
               1) {
        adv.ss_family = AF_INET6;
    } else {
        snprintf(why, cap, "'%s' is not an IPv4 or IPv6 address", cfg->advertise);
        return -1;
    }
    if (!mm_cluster_host_valid(host)) {
        snprintf(why, cap, "'%s' is not a host name of 1 to %d characters of A-Z a-z 0-9 . _ : -",
                 host, MM_HOST_MAX);
        return -1;
    }
    if (!mm_cluster_prefix_valid(prefix)) {
        snprintf(why, cap, "'%s' is not a key prefix (printable, without spaces, ending in '/')",
                 prefix);
        return -1;
    }
    if (!cfg->reg) {
        snprintf(why, cap, "no table to publish");
        return -1;
    }
    if (ttl < MM_CLUSTER_TTL_MIN || ttl > MM_CLUSTER_TTL_MAX) {
        snprintf(why, cap, "a TTL of %u s is not from %u to %u", ttl, MM_CLUSTER_TTL_MIN,
                 MM_CLUSTER_TTL_MAX);
        return -1;
    }
    mm_cluster *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(why, cap, "no memory");
        return -1;
    }
    c->adv = adv;
    c->ttl_s = ttl;
    c->stale_s = cfg->stale_s;
    c->reg = cfg->reg;
    c->log = cfg->log;
    snprintf(c->host, sizeof c->host, "%s", host);
    snprintf(c->prefix, sizeof c->prefix, "%s", prefix);
    snprintf(c->services, sizeof c->services, "%sservices/", prefix);
    c->logged_state = -1;
    c->endpoints = cfg->endpoints ? strdup(cfg->endpoints) : NULL;
    c->cacert = cfg->cacert ? strdup(cfg->cacert) : NULL;
    c->cert = cfg->cert ? strdup(cfg->cert) : NULL;
    c->keyfile = cfg->key ? strdup(cfg->key) : NULL;
    if (!c->endpoints || (cfg->cacert && !c->cacert) || (cfg->cert && !c->cert) ||
        (cfg->key && !c->keyfile)) {
        snprintf(why, cap, cfg->endpoints ? "no memory" : "no etcd endpoint");
        goto fail;
    }
    /* a request waits at most a third of the TTL (and 2 s): a keep-alive
     * that cannot get through is retried before the lease runs out */
    unsigned timeout = ttl * 1000u / 3u;
    mm_etcd_cfg ec;
    memset(&ec, 0, sizeof ec);
    ec.endpoints = c->endpoints;
    ec.cacert = c->cacert;
    ec.cert = c->cert;
    ec.key = c->keyfile;
    ec.timeout_ms = timeout > 2000u ? 2000u : timeout;
    mm_etcd_err err;
    memset(&err, 0, sizeof err);
    if (mm_etcd_create(&c->etcd, &ec, &err) != MM_ETCD_OK) {
        snprintf(why, cap, "%s", err.text[0] ? err.text : mm_etcd_strerror(err.code));
        goto fail;
    }
    mm_ccache_cfg cc = {prefix, host, cfg->max_entries, cfg->log};
    int rc = mm_ccache_create(&c->cache, &cc);
    if (rc != 0) {
        snprintf(why, cap, "cannot make the cache: %s", strerror(rc));
        goto fail;
    }
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0) {
        snprintf(why, cap, "cannot make a condition variable");
        goto fail;
    }
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&c->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0) {
        snprintf(why, cap, "cannot make a condition variable: %s", strerror(rc));
        goto fail;
    }
    if ((rc = pthread_mutex_init(&c->lock, NULL)) != 0) {
        pthread_cond_destroy(&c->wake);
        snprintf(why, cap, "cannot make a mutex: %s", strerror(rc));
        goto fail;
    }
    c->reached = now_ms(); /* the staleness bound counts from the start */
    *out = c;
    return 0;

fail:
    mm_ccache_destroy(c->cache);
    mm_etcd_destroy(c->etcd);
    free(c->endpoints);
    free(c->cacert);
    free(c->cert);
    free(c->keyfile);
    free(c);
    return -1;
}

/* mm_cluster_start: see cluster.h. */
int mm_cluster_start(mm_cluster *c)
{
    c->reached = now_ms();
    int rc = pthread_create(&c->session, NULL, session_main, c);
    if (rc != 0)
        return rc;
    rc = pthread_create(&c->watcher, NULL, watch_main, c);
    if (rc != 0) {
        pthread_mutex_lock(&c->lock);
        c->stopping = 1;
        pthread_cond_broadcast(&c->wake);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->session, NULL);
        return rc;
    }
    c->started = 1;
    return 0;
}

/* mm_cluster_changed: see cluster.h. */
void mm_cluster_changed(mm_cluster *c)
{
    pthread_mutex_lock(&c->lock);
    c->changed = 1;
    pthread_cond_broadcast(&c->wake);
    pthread_mutex_unlock(&c->lock);
}

/* mm_cluster_stop: see cluster.h. */
void mm_cluster_stop(mm_cluster *c)
{
    if (!c->started)
        return;
    pthread_mutex_lock(&c->lock);
    c->stopping = 1;
    pthread_cond_broadcast(&c->wake);
    pthread_mutex_unlock(&c->lock);
    atomic_store(&c->watch_stop, 1);
    pthread_join(c->watcher, NULL);
    pthread_join(c->session, NULL);
    c->started = 0;
}

/* mm_cluster_destroy: see cluster.h. */
void mm_cluster_destroy(mm_cluster *c)
{
    if (!c)
        return;
    mm_ccache_destroy(c->cache);
    mm_etcd_destroy(c->etcd);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake);
    free(c->endpoints);
    free(c->cacert);
    free(c->cert);
    free(c->keyfile);
    free(c);
}

/* mm_cluster_status_get: see cluster.h. */
void mm_cluster_status_get(mm_cluster *c, mm_cluster_status *st)
{
    memset(st, 0, sizeof *st);
    pthread_mutex_lock(&c->lock);
    uint64_t now = now_ms();
    st->state = state_locked(c, now);
    st->lease = c->lease;
    st->age_ms = st->state == MM_CLUSTER_CONNECTED ? 0 : now - c->reached;
    if (st->state != MM_CLUSTER_CONNECTED)
        memcpy(st->error, c->error, sizeof st->error);
    pthread_mutex_unlock(&c->lock);
    memcpy(st->host, c->host, sizeof st->host);
    st->ttl = c->ttl_s;
    st->revision = mm_ccache_revision(c->cache);
}

/* mm_cluster_cache: see cluster.h. */
mm_ccache *mm_cluster_cache(mm_cluster *c)
{
    return c->cache;
}

/* mm_cluster_host: see cluster.h. */
const char *mm_cluster_host(const mm_cluster *c)
{
    return c->host;
}
