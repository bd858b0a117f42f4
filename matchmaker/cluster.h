/*
 * cluster.h: the matchmaker as the local agent of an etcd cluster
 * (parley-matchmaker --cluster). It publishes this host's registrations
 * that other hosts can use under one etcd lease, and keeps a cache of every
 * host's (ccache.h) that the service answers LOOKUP, INSTANCES and CLUSTER
 * from, never waiting for etcd.
 *
 * Two threads. The session thread takes a lease of ttl_s seconds, puts the
 * keys of the registrations (what is published: mm_cluster_publish_uaddr),
 * renews the lease every ttl_s / 3, and reconciles what it published with
 * the table whenever mm_cluster_changed says the table changed (register,
 * unregister, a liveness removal): a put for each registration new or
 * moved, a delete for each one gone. The watch thread reads the range of
 * PREFIX services/ into the cache, then watches it from the revision read
 * + 1; a broken watch is resumed from the last revision it gave + 1 (at
 * once when it had run for a second, so that one member going away does
 * not change the state; else after the backoff), and a compacted one reads
 * the range again.
 *
 * Failures. Any request that fails (etcd unreachable, timed out, a TLS
 * failure, refused, the lease gone) is retried after a backoff growing from
 * 250 ms to 5 s. A session that failed starts afresh once etcd answers: a
 * new lease (the old one may have expired), every key put again under it,
 * then the old lease revoked (which takes with it any key of a registration
 * gone meanwhile), and the watch thread told to read the range again.
 *
 * States (mm_cluster_state, matchmaker.idl): CONNECTED while the lease is
 * alive and the watch runs; DISCONNECTED while not, for up to stale_s
 * seconds after etcd was last reached (cluster names are answered from the
 * cache); STALE past that (names found only in the cluster are refused with
 * MM_STALE). Each change of state is logged at warning level with the last
 * error, whose text names the request and its cause ("lease keep-alive:
 * http://10.0.0.1:2379: cannot connect: ..."); CLUSTER reports that error
 * until the state is CONNECTED again.
 *
 * Stopping (mm_cluster_stop) revokes the lease, so that the keys vanish at
 * once rather than after the TTL; a revocation etcd does not answer takes
 * at most one request's time per endpoint.
 *
 * Threads: every function but create, start, stop and destroy may be
 * called from any thread. Internal to the matchmaker.
 */
#ifndef MM_CLUSTER_H
#define MM_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "ccache.h"
#include "matchmaker.h"
#include "registry.h"

/* The defaults and bounds of the settings (parley-matchmaker's options). */
#define MM_CLUSTER_TTL_DEFAULT   10u
#define MM_CLUSTER_TTL_MIN       2u
#define MM_CLUSTER_TTL_MAX       3600u
#define MM_CLUSTER_STALE_DEFAULT 30u
#define MM_CLUSTER_STALE_MAX     86400u

/* The agent's settings. The strings are copied. */
typedef struct mm_cluster_cfg {
    const char *endpoints; /* etcd's client URLs, comma-separated */
    const char *cacert;    /* NULL: the system's CAs */
    const char *cert;      /* NULL: no client certificate */
    const char *key;       /* its key */
    const char *advertise; /* the IP address other hosts reach this one at */
    const char *host;      /* this host's name in the keys; NULL: advertise's text */
    const char *prefix;    /* NULL: MM_CLUSTER_PREFIX_DEFAULT */
    unsigned ttl_s;        /* 0: MM_CLUSTER_TTL_DEFAULT */
    unsigned stale_s;      /* cluster names served from the cache this long after
                              etcd was last reached */
    size_t max_entries;    /* the cache's bound; 0: MM_CLUSTER_MAX */
    mm_registry *reg;      /* the table published (must outlive the agent) */
    void (*log)(int level, const char *fmt, ...); /* syslog levels; NULL: silent */
} mm_cluster_cfg;

/* The agent's state as CLUSTER reports it. */
typedef struct mm_cluster_status {
    int state; /* mm_cluster_state */
    char host[MM_HOST_MAX + 1];
    int64_t lease;                /* 0: none held */
    unsigned ttl;                 /* the lease's TTL setting, seconds */
    int64_t revision;             /* the last revision applied to the cache */
    uint64_t age_ms;              /* 0 when connected; else since etcd was last reached */
    char error[MM_ERROR_MAX + 1]; /* the last error; "" when none, or connected */
} mm_cluster_status;

typedef struct mm_cluster mm_cluster;

/* mm_cluster_create makes an agent (not started) with the settings cfg into
 * *out, which the caller frees with mm_cluster_destroy. Returns 0, or -1
 * with why (cap bytes) saying which setting is wrong or what failed. */
int mm_cluster_create(mm_cluster **out, const mm_cluster_cfg *cfg, char *why, size_t cap);

/* mm_cluster_start starts the two threads. Returns 0 or an errno value. */
int mm_cluster_start(mm_cluster *c);

/* mm_cluster_changed tells the agent that the table changed: the session
 * reconciles what it published. Any thread; it only signals. */
void mm_cluster_changed(mm_cluster *c);

/* mm_cluster_stop stops both threads and revokes the lease (bounded: see
 * the top of this file). Once, after start. */
void mm_cluster_stop(mm_cluster *c);

/* mm_cluster_destroy frees c (stopped, or never started); NULL is a no-op. */
void mm_cluster_destroy(mm_cluster *c);

/* mm_cluster_status_get fills *st with the state now. */
void mm_cluster_status_get(mm_cluster *c, mm_cluster_status *st);

/* mm_cluster_cache is the agent's cache (owned by the agent). */
mm_ccache *mm_cluster_cache(mm_cluster *c);

/* mm_cluster_host is this host's name in the keys (owned by the agent). */
const char *mm_cluster_host(const mm_cluster *c);

#endif /* MM_CLUSTER_H */
