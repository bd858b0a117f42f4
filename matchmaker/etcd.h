/*
 * etcd.h: the matchmaker's client of etcd v3 (3.4), the consensus store
 * the matchmakers of a cluster share their services through (cluster.h,
 * docs/cluster.md). It speaks etcd's JSON gateway (the v3 API as JSON over
 * HTTP: /v3/kv/range, /v3/kv/put, /v3/kv/deleterange, /v3/lease/grant,
 * /v3/lease/keepalive, /v3/lease/revoke, /v3/watch) through libcurl, the
 * field's HTTP client, and json-c, a JSON library Debian keeps; keys and
 * values travel base64-encoded, as the gateway wants them, and 64-bit
 * numbers as JSON strings.
 *
 * Endpoints. A handle is made with one or more client URLs of the cluster's
 * members ("http://10.0.0.1:2379,https://..."). A request goes to the
 * endpoint that last answered and, when that one cannot be reached (refused,
 * timed out, TLS failure) or says it is unavailable (a member cut off from
 * its leader answers "no leader"), to the next, until every endpoint was
 * tried once: one member down changes nothing. The error then is the last
 * endpoint's. An answer of etcd itself (an error such as "permission
 * denied", or "lease not found") is final and not tried elsewhere. A request
 * that timed out may still have been applied by the member that did not
 * answer in time, and is sent again to the next: puts, deletes and
 * keep-alives are the same when done twice; a lease grant may leave an
 * unused lease behind, which expires at its TTL.
 *
 * Errors. Every function returns an MM_ETCD_* code and, when err is not
 * NULL, fills it with the code and a text that names the endpoint and the
 * cause ("http://127.0.0.1:2379: cannot connect: Connection refused",
 * "https://...: TLS failure: certificate verify failed", "...: permission
 * denied (etcdserver: permission denied)"). Nothing is printed.
 *
 * Threads. A handle may be used by several threads at once (the matchmaker's
 * session thread keeps the lease and publishes while its watch thread
 * watches); each request uses a libcurl easy handle of its own, taken from
 * the handle's pool of idle ones (which keep their connections open for the
 * next request) or made for it.
 *
 * Internal to the matchmaker.
 */
#ifndef MM_ETCD_H
#define MM_ETCD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* The outcome of a request. */
enum mm_etcd_code {
    MM_ETCD_OK = 0,
    MM_ETCD_UNREACHABLE, /* no endpoint could be connected to (refused, no route, timed out),
                            or none had a leader ("etcdserver: no leader") */
    MM_ETCD_TIMEDOUT,    /* connected, but no answer within the request's time */
    MM_ETCD_TLS,         /* the TLS handshake failed (certificate, key, CA, or protocol) */
    MM_ETCD_DENIED,      /* etcd refused: permission denied, or authentication needed/failed */
    MM_ETCD_NOT_FOUND,   /* the lease does not exist (expired, or revoked) */
    MM_ETCD_COMPACTED,   /* a watch's start revision was compacted away */
    MM_ETCD_TOO_LARGE,   /* a request or an answer larger than etcd or the handle allows */
    MM_ETCD_PROTOCOL,    /* an answer that is not the JSON etcd sends */
    MM_ETCD_FAILED,      /* any other error etcd answered (its text says which) */
    MM_ETCD_NOMEM,
    MM_ETCD_INVALID, /* a bad argument or setting (an endpoint that is not a URL, ...) */
    MM_ETCD_STOPPED  /* a watch ended because it was asked to stop */
};

/* A request's error: its code and a text naming the endpoint and the cause. */
typedef struct mm_etcd_err {
    int code;
    char text[256];
} mm_etcd_err;

/* mm_etcd_strerror is a static text for code ("etcd unreachable", ...). */
const char *mm_etcd_strerror(int code);

/* A handle's settings. */
typedef struct mm_etcd_cfg {
    const char *endpoints; /* client URLs, comma-separated: http:// or https:// */
    const char *cacert;    /* the CA that signed the members' certificates; NULL: the system's */
    const char *cert;      /* this client's certificate (PEM); NULL: none */
    const char *key;       /* its private key (PEM); NULL: none */
    unsigned timeout_ms;   /* of one request on one endpoint (a watch: until etcd says it
                              was created); 0: 2000, at most 600000 */
    size_t max_answer;     /* the largest answer (a watch: the largest of its answers)
                              accepted, in bytes; 0: 64 MiB, at most 1 GiB */
    unsigned max_idle;     /* idle connections kept for the next requests; 0: 4, at most
                              1024 */
} mm_etcd_cfg;

typedef struct mm_etcd mm_etcd;

/* mm_etcd_create makes a handle with the settings cfg (copied) into *out,
 * which the caller frees with mm_etcd_destroy. It checks the settings (the
 * endpoints are URLs; the certificate files can be read) but connects to
 * nothing. Errors: MM_ETCD_INVALID (err says which setting), _NOMEM. */
int mm_etcd_create(mm_etcd **out, const mm_etcd_cfg *cfg, mm_etcd_err *err);

/* mm_etcd_destroy frees h once no thread uses it; NULL is a no-op. */
void mm_etcd_destroy(mm_etcd *h);

/* mm_etcd_lease_grant grants a lease of ttl_s seconds; its ID in *id. */
int mm_etcd_lease_grant(mm_etcd *h, unsigned ttl_s, int64_t *id, mm_etcd_err *err);

/* mm_etcd_lease_keepalive renews the lease id once; the seconds it has left
 * in *ttl_s (NULL: not wanted). MM_ETCD_NOT_FOUND when it has expired or
 * was revoked (etcd answers a TTL of 0 then). */
int mm_etcd_lease_keepalive(mm_etcd *h, int64_t id, int64_t *ttl_s, mm_etcd_err *err);

/* mm_etcd_lease_revoke revokes the lease id, and with it every key attached
 * to it, at once. MM_ETCD_NOT_FOUND when it no longer exists. */
int mm_etcd_lease_revoke(mm_etcd *h, int64_t id, mm_etcd_err *err);

/* mm_etcd_put writes key = value (len bytes) attached to lease (0: none);
 * the revision of the write in *rev (NULL: not wanted). */
int mm_etcd_put(mm_etcd *h, const char *key, const void *value, size_t len, int64_t lease,
                int64_t *rev, mm_etcd_err *err);

/* mm_etcd_delete deletes key, or with prefix nonzero every key that begins
 * with it; how many in *deleted (NULL: not wanted). */
int mm_etcd_delete(mm_etcd *h, const char *key, int prefix, int64_t *deleted, mm_etcd_err *err);

/* One key and its value. key and value are NUL-terminated (value may also
 * hold NUL bytes: value_len is its length). A key that holds a NUL byte is
 * left out of ranges and watches (no key of Parley's has one; failing on it
 * would let any writer under the prefix stop every reader). */
typedef struct mm_etcd_kv {
    char *key;
    char *value;
    size_t value_len;
    int64_t lease;        /* 0: none */
    int64_t mod_revision; /* of its last write */
} mm_etcd_kv;

/* A range read's answer: the keys in key order, and the store's revision
 * when it was read (a watch from revision + 1 misses nothing). */
typedef struct mm_etcd_kvs {
    mm_etcd_kv *kv;
    size_t n;
    int64_t revision;
} mm_etcd_kvs;

/* mm_etcd_range reads every key that begins with prefix (one consistent
 * read, linearizable) into *out, which the caller frees with
 * mm_etcd_kvs_free. MM_ETCD_TOO_LARGE when the answer passes max_answer. */
int mm_etcd_range(mm_etcd *h, const char *prefix, mm_etcd_kvs *out, mm_etcd_err *err);

/* mm_etcd_kvs_free frees what mm_etcd_range gave; the struct is zeroed. */
void mm_etcd_kvs_free(mm_etcd_kvs *kvs);

/* What a watch event says of a key. */
enum mm_etcd_event_type { MM_ETCD_PUT = 0, MM_ETCD_DELETE = 1 };

/* One event. key and value are valid during the callback only; a DELETE
 * has no value (value_len 0). */
typedef struct mm_etcd_event {
    int type;
    const char *key;
    const char *value;
    size_t value_len;
    int64_t lease;
    int64_t mod_revision;
} mm_etcd_event;

/* What a watch calls with each answer that carries events: the events of
 * one or more revisions, in order, and the store's revision (every event up
 * to it has been given; n is 0 when every event of the answer was left
 * out, see mm_etcd_kv). Return 0 to go on, nonzero to end the watch (which
 * then returns MM_ETCD_STOPPED). An answer larger than max_answer ends the
 * watch with MM_ETCD_TOO_LARGE. */
typedef int mm_etcd_watch_fn(void *ctx, const mm_etcd_event *ev, size_t n, int64_t revision);

/* mm_etcd_watch watches every key that begins with prefix from revision
 * start_rev, calling fn with ctx from the calling thread, and returns only
 * when the watch ends: MM_ETCD_STOPPED when *stop became nonzero (checked at
 * least every 100 ms) or fn asked; MM_ETCD_COMPACTED when start_rev was
 * compacted away (*compact_rev gets the oldest revision left: read the range
 * again); else the error that broke the stream (the member went away or
 * closed it, or lost its leader: MM_ETCD_UNREACHABLE, watch again from the
 * last revision given + 1; etcd canceled it: MM_ETCD_DENIED or _FAILED).
 * The stream's connection
 * has TCP keep-alives (probes after keepalive_s idle seconds, then every
 * keepalive_s, 3 unanswered ones end it; 0: 5, at most 32767), so a member whose machine
 * vanished without closing it is noticed; a caller that learns
 * of trouble otherwise (its lease's keep-alive failed) ends the watch with
 * *stop and starts another. */
int mm_etcd_watch(mm_etcd *h, const char *prefix, int64_t start_rev, mm_etcd_watch_fn *fn,
                  void *ctx, const atomic_int *stop, unsigned keepalive_s, int64_t *compact_rev,
                  mm_etcd_err *err);

#endif /* MM_ETCD_H */
