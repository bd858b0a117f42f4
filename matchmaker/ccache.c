/*
 * ccache.c: the cache of the cluster's services (see ccache.h).
 *
 * The instances are separately allocated and kept as an array of pointers
 * sorted by (name, host, prog, vers, netid): a look-up is a binary search
 * for the name and a walk over its instances, an insertion or removal moves
 * pointers only (half a megabyte at the bound of 65536). Malformed keys are
 * remembered as a hash of the key with the revision that wrote it, sorted
 * by hash, so that one is reported once per key and revision and a range
 * read after a reconnection does not report again what did not change. At
 * most max_entries of them are remembered; past that they are reported
 * every time they are seen, which a bound on memory is worth.
 */
#include "ccache.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "registry.h"

_Static_assert(MM_HOST_MAX == 64, "the key layout's hosts are at most 64 characters");

/* A malformed key as remembered: its hash and the revision that wrote it. */
typedef struct bad_key {
    uint64_t hash;
    int64_t rev;
} bad_key;

/* A set of malformed keys, sorted by hash. */
typedef struct bad_set {
    bad_key *v;
    size_t n, cap;
} bad_set;

struct mm_ccache {
    pthread_rwlock_t lock;
    char prefix[MM_CLUSTER_PREFIX_MAX + 1];
    char host[MM_HOST_MAX + 1];
    size_t max;
    void (*log)(int level, const char *fmt, ...);
    /* under lock */
    mm_cc_entry **v; /* sorted (cmp_entry) */
    size_t n, cap;
    bad_set bad;
    uint64_t refused;
    int full;
    int64_t revision;
};

#define LOG(cc, ...)                                                                               \
    do {                                                                                           \
        if ((cc)->log)                                                                             \
            (cc)->log(__VA_ARGS__);                                                                \
    } while (0)

/* ---- the key layout ---- */

static int is_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* host_char says whether ch may be part of a host name of the key layout. */
static int host_char(char ch)
{
    return is_alnum(ch) || ch == '.' || ch == '_' || ch == ':' || ch == '-';
}

/* mm_cluster_host_valid: see ccache.h. */
int mm_cluster_host_valid(const char *host)
{
    if (!host || !host[0])
        return 0;
    size_t i = 0;
    for (; host[i] && i <= MM_HOST_MAX; i++)
        if (!host_char(host[i]))
            return 0;
    return i <= MM_HOST_MAX;
}

/* mm_cluster_prefix_valid: see ccache.h. */
int mm_cluster_prefix_valid(const char *prefix)
{
    if (!prefix || !prefix[0])
        return 0;
    size_t i = 0;
    for (; prefix[i] && i <= MM_CLUSTER_PREFIX_MAX; i++)
        if (prefix[i] <= ' ' || prefix[i] > '~')
            return 0;
    return i <= MM_CLUSTER_PREFIX_MAX && prefix[i - 1] == '/';
}

/* mm_ccache_key: see ccache.h. */
int mm_ccache_key(const char *prefix, const mm_cc_entry *e, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%sservices/%s/%s/%u/%u/%s", prefix, e->name, e->host, e->prog,
                     e->vers, e->netid);
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}

/* decimal parses the n characters at s as a decimal number of 32 bits
 * without sign or leading zeros into *out; -1 when they are not one. */
static int decimal(const char *s, size_t n, uint32_t *out)
{
    if (n == 0 || n > 10 || (s[0] == '0' && n > 1))
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* family_of is the address family of a netid the cluster carries; 0 for
 * any other netid (local and unix never leave their host). */
static int family_of(const char *netid)
{
    if (strcmp(netid, "tcp") == 0 || strcmp(netid, "udp") == 0)
        return AF_INET;
    if (strcmp(netid, "tcp6") == 0 || strcmp(netid, "udp6") == 0)
        return AF_INET6;
    return 0;
}

/* parse_key parses the key of an instance under prefix into e's name,
 * host, prog, vers and netid. 0, or -1 with *why. */
static int parse_key(const char *prefix, const char *key, mm_cc_entry *e, const char **why)
{
    size_t plen = strlen(prefix);
    if (strncmp(key, prefix, plen) != 0) {
        *why = "not under the prefix";
        return -1;
    }
    const char *p = key + plen;
    if (strncmp(p, "services/", sizeof "services/" - 1) != 0) {
        *why = "not under the prefix's services/";
        return -1;
    }
    p += sizeof "services/" - 1;
    /* five fields: NAME/HOST/PROG/VERS/NETID */
    const char *field[5];
    size_t len[5];
    for (int i = 0; i < 5; i++) {
        field[i] = p;
        const char *slash = strchr(p, '/');
        if (i < 4 && !slash) {
            *why = "not of the form services/NAME/HOST/PROG/VERS/NETID (too few parts)";
            return -1;
        }
        if (i == 4 && slash) {
            *why = "not of the form services/NAME/HOST/PROG/VERS/NETID (too many parts)";
            return -1;
        }
        len[i] = slash ? (size_t)(slash - p) : strlen(p);
        p = slash ? slash + 1 : p + len[i];
    }
    if (len[0] > MM_NAME_MAX) {
        *why = "the service name is longer than 64 characters";
        return -1;
    }
    memcpy(e->name, field[0], len[0]);
    e->name[len[0]] = '\0';
    if (!mm_name_valid(e->name)) {
        *why = "not a valid service name";
        return -1;
    }
    if (len[1] > MM_HOST_MAX) {
        *why = "the host name is longer than 64 characters";
        return -1;
    }
    memcpy(e->host, field[1], len[1]);
    e->host[len[1]] = '\0';
    if (!mm_cluster_host_valid(e->host)) {
        *why = "not a valid host name";
        return -1;
    }
    if (decimal(field[2], len[2], &e->prog) != 0) {
        *why = "the program is not a decimal number of 32 bits";
        return -1;
    }
    if (decimal(field[3], len[3], &e->vers) != 0 || e->vers == 0) {
        *why = "the version is not a decimal number from 1 to 4294967295";
        return -1;
    }
    if (len[4] >= sizeof e->netid) {
        *why = "the netid is not tcp, udp, tcp6 or udp6";
        return -1;
    }
    memcpy(e->netid, field[4], len[4]);
    e->netid[len[4]] = '\0';
    if (!family_of(e->netid)) {
        *why = "the netid is not tcp, udp, tcp6 or udp6";
        return -1;
    }
    return 0;
}

/* parse_value parses the universal address value (len bytes) for e's
 * netid into e->uaddr, canonical. 0, or -1 with *why. */
static int parse_value(const char *value, size_t len, mm_cc_entry *e, const char **why)
{
    char text[PARLEY_UADDR_INET6_MAX + 1];
    if (len == 0) {
        *why = "the address is empty";
        return -1;
    }
    if (len >= sizeof text) {
        *why = "the address is too long for a universal address";
        return -1;
    }
    if (!value || memchr(value, '\0', len)) {
        *why = "the address holds a NUL byte";
        return -1;
    }
    memcpy(text, value, len);
    text[len] = '\0';
    int family = family_of(e->netid);
    struct sockaddr_storage ss;
    socklen_t sl;
    if (parley_uaddr_parse(text, family, &ss, &sl) != PARLEY_OK) {
        *why = family == AF_INET ? "the address is not an IPv4 universal address"
                                 : "the address is not an IPv6 universal address";
        return -1;
    }
    int wildcard, port;
    if (family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
        wildcard = s4->sin_addr.s_addr == htonl(INADDR_ANY);
        port = ntohs(s4->sin_port);
    } else {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
        wildcard = IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
        port = ntohs(s6->sin6_port);
    }
    if (wildcard) {
        *why = "the address is the wildcard address, which no other host can call";
        return -1;
    }
    if (port == 0) {
        *why = "the address has port 0";
        return -1;
    }
    if (parley_uaddr_format((const struct sockaddr *)&ss, sl, e->uaddr, sizeof e->uaddr, NULL) !=
        PARLEY_OK) {
        *why = "the address has no universal form";
        return -1;
    }
    return 0;
}

/* mm_cluster_publish_uaddr: see ccache.h. */
int mm_cluster_publish_uaddr(const mm_reg_entry *e, const struct sockaddr *adv, char *out,
                             size_t cap)
{
    int family = family_of(e->netid);
    if (!family || !e->name[0] || !mm_name_valid(e->name) || e->prog == MATCHMAKER_PROG ||
        e->prog == 100000u || !adv)
        return 0;
    struct sockaddr_storage ss;
    socklen_t len;
    if (parley_uaddr_parse(e->uaddr, family, &ss, &len) != PARLEY_OK)
        return 0;
    if (family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        if (s4->sin_port == 0 || (ntohl(s4->sin_addr.s_addr) >> 24) == 127)
            return 0;
        if (s4->sin_addr.s_addr == htonl(INADDR_ANY)) {
            if (adv->sa_family != AF_INET)
                return 0;
            s4->sin_addr = ((const struct sockaddr_in *)adv)->sin_addr;
        }
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        const uint8_t *b = s6->sin6_addr.s6_addr;
        if (s6->sin6_port == 0 || IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ||
            (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && b[12] == 127))
            return 0;
        if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr)) {
            if (adv->sa_family != AF_INET6)
                return 0;
            s6->sin6_addr = ((const struct sockaddr_in6 *)adv)->sin6_addr;
        }
    }
    return parley_uaddr_format((const struct sockaddr *)&ss, len, out, cap, NULL) == PARLEY_OK;
}

/* mm_ccache_parse: see ccache.h. */
int mm_ccache_parse(const char *prefix, const char *key, const char *value, size_t len,
                    mm_cc_entry *out, const char **why)
{
    memset(out, 0, sizeof *out);
    if (parse_key(prefix, key, out, why) != 0)
        return -1;
    return parse_value(value, len, out, why);
}

/* ---- the cache's order ---- */

/* cmp_entry orders instances by (name, host, prog, vers, netid). */
static int cmp_entry(const mm_cc_entry *a, const mm_cc_entry *b)
{
    int c = strcmp(a->name, b->name);
    if (c)
        return c;
    if ((c = strcmp(a->host, b->host)) != 0)
        return c;
    if (a->prog != b->prog)
        return a->prog < b->prog ? -1 : 1;
    if (a->vers != b->vers)
        return a->vers < b->vers ? -1 : 1;
    return strcmp(a->netid, b->netid);
}

static int cmp_ptr(const void *a, const void *b)
{
    return cmp_entry(*(mm_cc_entry *const *)a, *(mm_cc_entry *const *)b);
}

/* search is the index of e's key in v (n sorted pointers), with *found
 * nonzero, or the index where it belongs. */
static size_t search(mm_cc_entry *const *v, size_t n, const mm_cc_entry *e, int *found)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_entry(v[mid], e);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

/* first_of is the index of the first instance of name in v. */
static size_t first_of(mm_cc_entry *const *v, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(v[mid]->name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- malformed keys ---- */

/* hash_key is FNV-1a of key, 64 bits. */
static uint64_t hash_key(const char *key)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return h;
}

static size_t bad_search(const bad_set *s, uint64_t hash, int *found)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->v[mid].hash == hash) {
            *found = 1;
            return mid;
        }
        if (s->v[mid].hash < hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

/* bad_note records key as malformed at rev in s (at most max keys; beyond
 * that, and when memory runs out, it is not remembered). Returns nonzero
 * when it must be reported: not in s at rev already. */
static int bad_note(bad_set *s, size_t max, const char *key, int64_t rev)
{
    uint64_t h = hash_key(key);
    int found;
    size_t i = bad_search(s, h, &found);
    if (found) {
        if (s->v[i].rev == rev)
            return 0;
        s->v[i].rev = rev;
        return 1;
    }
    if (s->n >= max)
        return 1;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        bad_key *p = realloc(s->v, cap * sizeof *p);
        if (!p)
            return 1;
        s->v = p;
        s->cap = cap;
    }
    memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof *s->v);
    s->v[i] = (bad_key){h, rev};
    s->n++;
    return 1;
}

/* bad_forget forgets key (deleted, or now valid). */
static void bad_forget(bad_set *s, const char *key)
{
    int found;
    size_t i = bad_search(s, hash_key(key), &found);
    if (!found)
        return;
    memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
    s->n--;
}

/* printable copies s into buf (cap bytes, at least 4) for a log line:
 * bytes outside ' ' to '~' as '?', cut with "..." when too long. */
static const char *printable(const char *s, char *buf, size_t cap)
{
    size_t i = 0;
    for (; s[i] && i < cap - 1; i++)
        buf[i] = s[i] >= ' ' && s[i] <= '~' ? s[i] : '?';
    buf[i] = '\0';
    if (s[i])
        memcpy(buf + cap - 4, "...", 4);
    return buf;
}

/* report_bad logs that key (written at rev) is ignored and why, unless
 * it was reported at rev already. Under the write lock. */
static void report_bad(mm_ccache *cc, bad_set *s, const char *key, int64_t rev, const char *why)
{
    if (!bad_note(s, cc->max, key, rev))
        return;
    char k[200];
    LOG(cc, LOG_WARNING, "cluster: ignoring the malformed key '%s' (revision %lld): %s",
        printable(key, k, sizeof k), (long long)rev, why);
}

/* ---- the cache ---- */

/* mm_ccache_create: see ccache.h. */
int mm_ccache_create(mm_ccache **out, const mm_ccache_cfg *cfg)
{
    const char *prefix = cfg->prefix ? cfg->prefix : MM_CLUSTER_PREFIX_DEFAULT;
    if (!mm_cluster_prefix_valid(prefix) || !mm_cluster_host_valid(cfg->host) ||
        cfg->max_entries > MM_CLUSTER_MAX)
        return EINVAL;
    mm_ccache *cc = calloc(1, sizeof *cc);
    if (!cc)
        return ENOMEM;
    int rc = pthread_rwlock_init(&cc->lock, NULL);
    if (rc != 0) {
        free(cc);
        return rc;
    }
    snprintf(cc->prefix, sizeof cc->prefix, "%s", prefix);
    snprintf(cc->host, sizeof cc->host, "%s", cfg->host);
    cc->max = cfg->max_entries ? cfg->max_entries : MM_CLUSTER_MAX;
    cc->log = cfg->log;
    *out = cc;
    return 0;
}

static void free_entries(mm_cc_entry **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* mm_ccache_destroy: see ccache.h. */
void mm_ccache_destroy(mm_ccache *cc)
{
    if (!cc)
        return;
    free_entries(cc->v, cc->n);
    free(cc->bad.v);
    pthread_rwlock_destroy(&cc->lock);
    free(cc);
}

/* refuse counts an instance refused for want of room; the first refusal
 * since the cache last had room is logged. Under the write lock. */
static void refuse(mm_ccache *cc, size_t count, const char *what)
{
    cc->refused += count;
    if (cc->full)
        return;
    cc->full = 1;
    LOG(cc, LOG_WARNING,
        "cluster: the cache holds its most, %zu instances (--cluster-max-entries): %s left out "
        "until there is room",
        cc->max, what);
}

/* mm_ccache_replace: see ccache.h. */
int mm_ccache_replace(mm_ccache *cc, const mm_etcd_kv *kv, size_t n, int64_t revision)
{
    mm_cc_entry **v = NULL;
    size_t nv = 0;
    if (n) {
        v = malloc(n * sizeof *v);
        if (!v)
            return ENOMEM;
    }
    /* parse outside the lock; malformed keys are reported below */
    const char **why = n ? calloc(n, sizeof *why) : NULL;
    if (n && !why) {
        free(v);
        return ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        mm_cc_entry e;
        if (mm_ccache_parse(cc->prefix, kv[i].key, kv[i].value, kv[i].value_len, &e, &why[i]) != 0)
            continue;
        mm_cc_entry *p = malloc(sizeof *p);
        if (!p) {
            free_entries(v, nv);
            free(why);
            return ENOMEM;
        }
        e.lease = kv[i].lease;
        e.mod_revision = kv[i].mod_revision;
        *p = e;
        v[nv++] = p;
    }
    if (nv)
        qsort(v, nv, sizeof *v, cmp_ptr);
    bad_set bad = {0};
    int64_t now = (int64_t)time(NULL);
    pthread_rwlock_wrlock(&cc->lock);
    for (size_t i = 0; i < n; i++) {
        if (!why[i])
            continue;
        /* known at the same revision: remembered without a report */
        int found;
        size_t j = bad_search(&cc->bad, hash_key(kv[i].key), &found);
        if (found && cc->bad.v[j].rev == kv[i].mod_revision)
            bad_note(&bad, cc->max, kv[i].key, kv[i].mod_revision);
        else
            report_bad(cc, &bad, kv[i].key, kv[i].mod_revision, why[i]);
    }
    for (size_t i = 0; i < nv; i++) {
        int found;
        size_t j = search(cc->v, cc->n, v[i], &found);
        v[i]->learnt = found && strcmp(cc->v[j]->uaddr, v[i]->uaddr) == 0 ? cc->v[j]->learnt : now;
    }
    cc->full = 0;
    if (nv > cc->max) {
        char what[64];
        snprintf(what, sizeof what, "%zu of the %zu read", nv - cc->max, nv);
        refuse(cc, nv - cc->max, what);
        for (size_t i = cc->max; i < nv; i++)
            free(v[i]);
        nv = cc->max;
    }
    free_entries(cc->v, cc->n);
    free(cc->bad.v);
    cc->v = v;
    cc->n = cc->cap = nv;
    cc->bad = bad;
    cc->revision = revision;
    pthread_rwlock_unlock(&cc->lock);
    free(why);
    return 0;
}

/* put stores e (parsed from key) in the cache. Under the write lock.
 * Returns 0 or ENOMEM. */
static int put(mm_ccache *cc, const mm_cc_entry *e, const char *key)
{
    int found;
    size_t i = search(cc->v, cc->n, e, &found);
    if (found) {
        mm_cc_entry *old = cc->v[i];
        int64_t learnt = strcmp(old->uaddr, e->uaddr) == 0 ? old->learnt : (int64_t)time(NULL);
        *old = *e;
        old->learnt = learnt;
        return 0;
    }
    if (cc->n >= cc->max) {
        char k[200], what[240];
        snprintf(what, sizeof what, "'%s' and any other new instance", printable(key, k, sizeof k));
        refuse(cc, 1, what);
        return 0;
    }
    if (cc->n == cc->cap) {
        size_t cap = cc->cap ? 2 * cc->cap : 64;
        mm_cc_entry **p = realloc(cc->v, cap * sizeof *p);
        if (!p)
            return ENOMEM;
        cc->v = p;
        cc->cap = cap;
    }
    mm_cc_entry *p = malloc(sizeof *p);
    if (!p)
        return ENOMEM;
    *p = *e;
    p->learnt = (int64_t)time(NULL);
    memmove(&cc->v[i + 1], &cc->v[i], (cc->n - i) * sizeof *cc->v);
    cc->v[i] = p;
    cc->n++;
    return 0;
}

/* drop removes the instance of e's key, if held. Under the write lock. */
static void drop(mm_ccache *cc, const mm_cc_entry *e)
{
    int found;
    size_t i = search(cc->v, cc->n, e, &found);
    if (!found)
        return;
    free(cc->v[i]);
    memmove(&cc->v[i], &cc->v[i + 1], (cc->n - i - 1) * sizeof *cc->v);
    cc->n--;
}

/* mm_ccache_apply: see ccache.h. */
int mm_ccache_apply(mm_ccache *cc, const mm_etcd_event *ev, size_t n, int64_t revision)
{
    int rc = 0;
    pthread_rwlock_wrlock(&cc->lock);
    for (size_t i = 0; i < n && rc == 0; i++) {
        mm_cc_entry e;
        memset(&e, 0, sizeof e);
        const char *why = NULL;
        int key_ok = parse_key(cc->prefix, ev[i].key, &e, &why) == 0;
        if (ev[i].type == MM_ETCD_DELETE) {
            if (key_ok)
                drop(cc, &e);
            bad_forget(&cc->bad, ev[i].key);
            continue;
        }
        if (key_ok && parse_value(ev[i].value, ev[i].value_len, &e, &why) == 0) {
            e.lease = ev[i].lease;
            e.mod_revision = ev[i].mod_revision;
            bad_forget(&cc->bad, ev[i].key);
            rc = put(cc, &e, ev[i].key);
            continue;
        }
        if (key_ok) /* the key's address is no longer known */
            drop(cc, &e);
        report_bad(cc, &cc->bad, ev[i].key, ev[i].mod_revision, why);
    }
    if (rc == 0 && revision > cc->revision)
        cc->revision = revision;
    pthread_rwlock_unlock(&cc->lock);
    return rc;
}

/* mm_ccache_revision: see ccache.h. */
int64_t mm_ccache_revision(mm_ccache *cc)
{
    pthread_rwlock_rdlock(&cc->lock);
    int64_t r = cc->revision;
    pthread_rwlock_unlock(&cc->lock);
    return r;
}

/* stats_locked fills *st. Under the lock, shared or not. */
static void stats_locked(const mm_ccache *cc, mm_ccache_stats *st)
{
    st->entries = cc->n;
    st->max = cc->max;
    st->malformed = cc->bad.n;
    st->refused = cc->refused;
    st->revision = cc->revision;
    st->full = cc->full;
}

/* mm_ccache_stats_get: see ccache.h. */
void mm_ccache_stats_get(mm_ccache *cc, mm_ccache_stats *st)
{
    pthread_rwlock_rdlock(&cc->lock);
    stats_locked(cc, st);
    pthread_rwlock_unlock(&cc->lock);
}

/* wanted says whether e is an instance of another host on netid. */
static int wanted(const mm_ccache *cc, const mm_cc_entry *e, const char *netid)
{
    return strcmp(e->host, cc->host) != 0 && (!netid || !netid[0] || strcmp(e->netid, netid) == 0);
}

/* mm_ccache_lookup: see ccache.h. */
int mm_ccache_lookup(mm_ccache *cc, const char *name, uint32_t vers, const char *netid,
                     mm_cc_entry **out, size_t *n, uint32_t *vers_out)
{
    *out = NULL;
    *n = 0;
    pthread_rwlock_rdlock(&cc->lock);
    size_t first = first_of(cc->v, cc->n, name), end = first;
    uint32_t best = 0;
    for (; end < cc->n && strcmp(cc->v[end]->name, name) == 0; end++)
        if (wanted(cc, cc->v[end], netid) && cc->v[end]->vers > best)
            best = cc->v[end]->vers;
    if (vers == 0)
        vers = best;
    size_t count = 0;
    for (size_t i = first; i < end; i++)
        count += wanted(cc, cc->v[i], netid) && cc->v[i]->vers == vers;
    int rc = 0;
    if (count) {
        mm_cc_entry *v = malloc(count * sizeof *v);
        if (!v) {
            rc = ENOMEM;
        } else {
            size_t k = 0;
            for (size_t i = first; i < end; i++)
                if (wanted(cc, cc->v[i], netid) && cc->v[i]->vers == vers)
                    v[k++] = *cc->v[i];
            *out = v;
            *n = count;
        }
    }
    pthread_rwlock_unlock(&cc->lock);
    if (rc == 0 && vers_out)
        *vers_out = count ? vers : 0;
    return rc;
}

/* mm_ccache_list: see ccache.h. */
int mm_ccache_list(mm_ccache *cc, mm_cc_entry **out, size_t *n, mm_ccache_stats *st)
{
    *out = NULL;
    *n = 0;
    int rc = 0;
    pthread_rwlock_rdlock(&cc->lock);
    if (cc->n) {
        mm_cc_entry *v = malloc(cc->n * sizeof *v);
        if (!v) {
            rc = ENOMEM;
        } else {
            for (size_t i = 0; i < cc->n; i++)
                v[i] = *cc->v[i];
            *out = v;
            *n = cc->n;
        }
    }
    if (st)
        stats_locked(cc, st);
    pthread_rwlock_unlock(&cc->lock);
    return rc;
}
