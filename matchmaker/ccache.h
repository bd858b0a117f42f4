/*
 * ccache.h: the matchmaker's cache of the cluster's services, the entries
 * every matchmaker of a cluster publishes in etcd (cluster.h), kept here so
 * that a look-up never waits for etcd. A plain data structure: the cluster
 * agent feeds it with what etcd says (a range read, then watch events), the
 * service reads it; it knows nothing of etcd's network side.
 *
 * Key layout. Under a prefix (by default "/parley/v1/") each instance is one
 * key and its value:
 *
 *   PREFIX services/NAME/HOST/PROG/VERS/NETID  ->  UADDR
 *   /parley/v1/services/date/b/536870913/1/tcp  ->  10.212.0.2.156.64
 *
 * NAME is a service name (mm_name_valid); HOST the publishing host's name,
 * 1 to MM_HOST_MAX characters of A-Z a-z 0-9 '.' '_' ':' '-'; PROG and VERS
 * decimal numbers without sign or leading zeros that fit 32 bits, VERS at
 * least 1; NETID one of tcp, udp, tcp6, udp6; UADDR a universal address of
 * the netid's family (parley/uaddr.h), neither the wildcard address nor
 * port 0, which no other host could call. Anything else under the prefix is
 * malformed: it is left out of the cache and reported through the log
 * callback at warning level, once per key and revision (a key read again
 * unchanged after a reconnection is not reported again), and never changes
 * what the cache holds for other keys.
 *
 * Bound. At most max_entries instances are held. A range read with more
 * keeps the first ones in key order; a put of a new key into a full cache
 * is refused. Each refusal is counted (mm_ccache_stats.refused) and the
 * first one after the cache had room is logged; the entries refused stay
 * out until the next range read that finds room for them.
 *
 * Order. Instances are kept in the order (name, host, prog, vers, netid),
 * names and hosts compared bytewise: look-ups and lists return them so.
 *
 * Threads. Every function may be called from any thread: a read-write lock
 * guards the cache, the look-ups take it shared and copy what they return.
 *
 * Internal to the matchmaker.
 */
#ifndef MM_CCACHE_H
#define MM_CCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "etcd.h"
#include "matchmaker.h"
#include "parley/uaddr.h"
#include "registry.h"

/* The default key prefix (--cluster-prefix). */
#define MM_CLUSTER_PREFIX_DEFAULT "/parley/v1/"

/* The longest prefix accepted. */
#define MM_CLUSTER_PREFIX_MAX 128u

/* The longest key of an instance under the longest prefix. */
#define MM_CLUSTER_KEY_MAX                                                                         \
    (MM_CLUSTER_PREFIX_MAX + sizeof "services/" + MM_NAME_MAX + MM_HOST_MAX + 10 + 10 + 4 + 5)

/* One instance of a service in the cluster. */
typedef struct mm_cc_entry {
    char name[MM_NAME_MAX + 1];
    char host[MM_HOST_MAX + 1];
    uint32_t prog;
    uint32_t vers;
    char netid[8];                          /* tcp, udp, tcp6, udp6 */
    char uaddr[PARLEY_UADDR_INET6_MAX + 1]; /* canonical (parley/uaddr.h) */
    int64_t lease;                          /* its etcd lease; 0: none */
    int64_t mod_revision;                   /* of its last write */
    int64_t learnt; /* when this cache learnt its address, seconds since the epoch */
} mm_cc_entry;

/* The cache's counters and bookkeeping. */
typedef struct mm_ccache_stats {
    size_t entries;   /* instances held */
    size_t max;       /* the bound */
    size_t malformed; /* malformed keys under the prefix, as far as known */
    uint64_t refused; /* instances refused for want of room, ever */
    int64_t revision; /* the last etcd revision applied; 0: none yet */
    int full;         /* the last refusal has not been made good by a range read */
} mm_ccache_stats;

/* The cache's settings. */
typedef struct mm_ccache_cfg {
    const char *prefix;                           /* NULL: MM_CLUSTER_PREFIX_DEFAULT */
    const char *host;                             /* this host's name: left out of look-ups */
    size_t max_entries;                           /* 0: MM_CLUSTER_MAX */
    void (*log)(int level, const char *fmt, ...); /* syslog levels; NULL: silent */
} mm_ccache_cfg;

typedef struct mm_ccache mm_ccache;

/* mm_cluster_host_valid is nonzero when host is a valid host name of the
 * key layout: 1 to MM_HOST_MAX characters of A-Z a-z 0-9 '.' '_' ':' '-'. */
int mm_cluster_host_valid(const char *host);

/* mm_cluster_prefix_valid is nonzero when prefix is usable as the key
 * prefix: 1 to MM_CLUSTER_PREFIX_MAX printable ASCII characters without
 * spaces, ending in '/'. */
int mm_cluster_prefix_valid(const char *prefix);

/* mm_ccache_key writes the key of e under prefix into buf (cap bytes,
 * MM_CLUSTER_KEY_MAX + 1 suffice). Returns 0, or -1 when it does not fit. */
int mm_ccache_key(const char *prefix, const mm_cc_entry *e, char *buf, size_t cap);

/* mm_ccache_parse parses the key (NUL-terminated) and the value (len bytes,
 * which may hold anything) of an instance under prefix into *out (its
 * lease, mod_revision and learnt zero). Returns 0, or -1 with *why (static
 * text) saying what is wrong; *out is then unspecified. */
int mm_ccache_parse(const char *prefix, const char *key, const char *value, size_t len,
                    mm_cc_entry *out, const char **why);

/* mm_cluster_publish_uaddr says whether the local registration e is
 * published to the cluster, and at which address. Published: a named entry
 * (not the matchmaker's own, of its program or rpcbind's) on tcp, udp,
 * tcp6 or udp6 whose address another host can use: a wildcard address
 * (0.0.0.0 or ::) becomes adv, the address this host advertises, with e's
 * port, when adv is of the netid's family; a specific address that is not
 * loopback (127.0.0.0/8, ::1, ::ffff:127.x.y.z) is published as it is.
 * Never a loopback address, a Unix socket, or port 0. adv is an AF_INET or
 * AF_INET6 address (its port is ignored). Returns 1 with the universal
 * address in out (cap bytes; PARLEY_UADDR_INET6_MAX + 1 suffice), else 0. */
int mm_cluster_publish_uaddr(const mm_reg_entry *e, const struct sockaddr *adv, char *out,
                             size_t cap);

/* mm_ccache_create makes an empty cache with the settings cfg (the strings
 * copied) into *out, which the caller frees with mm_ccache_destroy. Returns
 * 0, EINVAL (a prefix or host that is not valid, or max_entries above
 * MM_CLUSTER_MAX), or ENOMEM. */
int mm_ccache_create(mm_ccache **out, const mm_ccache_cfg *cfg);

/* mm_ccache_destroy frees cc; NULL is a no-op. No thread may be using it. */
void mm_ccache_destroy(mm_ccache *cc);

/* mm_ccache_replace makes the cache what a range read of the prefix found:
 * the n keys of kv (any order), read at revision. Malformed keys are
 * reported and left out; an instance already held at the same address
 * keeps its learnt time. All or nothing: 0, or ENOMEM with the cache
 * unchanged. */
int mm_ccache_replace(mm_ccache *cc, const mm_etcd_kv *kv, size_t n, int64_t revision);

/* mm_ccache_apply applies the n watch events of ev in order, then takes
 * revision as the last applied. A put of a malformed key removes the
 * instance the key held (it no longer says where it is) and is reported.
 * Returns 0, or ENOMEM (the events before the failing one are applied; the
 * caller reads the range again). */
int mm_ccache_apply(mm_ccache *cc, const mm_etcd_event *ev, size_t n, int64_t revision);

/* mm_ccache_revision is the last etcd revision applied (0: none). */
int64_t mm_ccache_revision(mm_ccache *cc);

/* mm_ccache_stats_get fills *st with the cache's counters. */
void mm_ccache_stats_get(mm_ccache *cc, mm_ccache_stats *st);

/* mm_ccache_lookup copies into a new array (*out, freed by the caller with
 * free(); NULL when none) the *n instances of name published by other hosts
 * than this one, of version vers (0: the highest version among them on
 * netid), on netid (NULL or "": any), in the cache's order. With vers 0 the
 * version chosen is in *vers_out (may be NULL). Returns 0, or ENOMEM. */
int mm_ccache_lookup(mm_ccache *cc, const char *name, uint32_t vers, const char *netid,
                     mm_cc_entry **out, size_t *n, uint32_t *vers_out);

/* mm_ccache_list copies every instance, this host's too, into a new array
 * (*out, freed with free(); NULL when empty) of *n instances, in the
 * cache's order, and the counters into *st (may be NULL) at the same
 * moment. Returns 0 or ENOMEM. */
int mm_ccache_list(mm_ccache *cc, mm_cc_entry **out, size_t *n, mm_ccache_stats *st);

#endif /* MM_CCACHE_H */
