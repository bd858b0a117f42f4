/*
 * service.c: parley-matchmaker's procedures and its liveness scan (see
 * service.h). The procedures of both protocols work on one registration
 * table; results are built in the call's arena, which the server releases
 * once the reply is sent.
 */
#include "service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "parley/server.h"
#include "procnet.h"
#include "rpcb_prot.h"
#include "parley/uaddr.h"

/* GETSTAT's addrinfo: look-ups (GETPORT, GETADDR, GETVERSADDR) of each
 * (prog, vers, netid) per version, found or not, as rpcbind keeps them; at
 * most MM_ADDRSTAT_MAX keys per version (rpcbind has no bound), later keys
 * are not counted. */
#define MM_ADDRSTAT_MAX 64
typedef struct addrstat {
    uint32_t prog, vers;
    char netid[MM_NETID_MAX + 1];
    int success, failure;
} addrstat;

/* The service's whole state: the programs' context (parley_call_ctx). */
struct mm_service {
    mm_service_cfg cfg;
    /* the scan thread's state, under lock */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t scanner;
    int running;
    int stopping;
    int dirty;
    /* GETSTAT's counters: calls of each procedure of versions 2, 3 and 4,
     * and successful SETs and UNSETs */
    atomic_int stat_calls[MM_RPCBVERS_STAT][MM_RPCBSTAT_HIGHPROC];
    atomic_int stat_set[MM_RPCBVERS_STAT];
    atomic_int stat_unset[MM_RPCBVERS_STAT];
    /* GETSTAT's addrinfo, under stat_lock */
    pthread_mutex_t stat_lock;
    addrstat addrstats[MM_RPCBVERS_STAT][MM_ADDRSTAT_MAX];
    size_t naddrstats[MM_RPCBVERS_STAT];
};

static void count_lookup(mm_service *sv, unsigned vers, uint32_t prog, uint32_t pvers,
                         const char *netid, int ok)
{
    if (vers < 2 || vers > 4 || strlen(netid) > MM_NETID_MAX)
        return;
    pthread_mutex_lock(&sv->stat_lock);
    addrstat *a = sv->addrstats[vers - 2];
    size_t *n = &sv->naddrstats[vers - 2], i;
    for (i = 0; i < *n; i++)
        if (a[i].prog == prog && a[i].vers == pvers && strcmp(a[i].netid, netid) == 0)
            break;
    if (i == *n && *n < MM_ADDRSTAT_MAX) {
        memset(&a[i], 0, sizeof a[i]);
        a[i].prog = prog;
        a[i].vers = pvers;
        snprintf(a[i].netid, sizeof a[i].netid, "%s", netid);
        (*n)++;
    }
    if (i < *n)
        *(ok ? &a[i].success : &a[i].failure) += 1;
    pthread_mutex_unlock(&sv->stat_lock);
}

static void count(mm_service *sv, unsigned vers, unsigned proc)
{
    if (vers >= 2 && vers <= 4 && proc < MM_RPCBSTAT_HIGHPROC)
        atomic_fetch_add(&sv->stat_calls[vers - 2][proc], 1);
}

#define LOG(sv, ...)                                                                               \
    do {                                                                                           \
        if ((sv)->cfg.log)                                                                         \
            (sv)->cfg.log(__VA_ARGS__);                                                            \
    } while (0)

/* ---- what the socket says about a caller ---- */

/* unmap turns a v4-mapped IPv6 address (a caller reaching a dual-stack
 * socket over IPv4) into the IPv4 address it stands for, in place. */
static void unmap(struct sockaddr_storage *ss, socklen_t *len)
{
    if (ss->ss_family != AF_INET6)
        return;
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
    if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
        return;
    struct sockaddr_in s4;
    memset(&s4, 0, sizeof s4);
    s4.sin_family = AF_INET;
    s4.sin_port = s6->sin6_port;
    memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
    memset(ss, 0, sizeof *ss);
    memcpy(ss, &s4, sizeof s4);
    *len = sizeof s4;
}

int mm_caller_is_local(int transport, const struct sockaddr *peer, socklen_t len)
{
    if (transport == PARLEY_TRANSPORT_UNIX)
        return 1;
    if (!peer)
        return 0;
    if (peer->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)peer;
        return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    }
    if (peer->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)peer;
        if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && s6->sin6_addr.s6_addr[12] == 127;
    }
    return 0;
}

/* A caller as the matchmaker sees it. */
typedef struct caller {
    int transport;
    struct sockaddr_storage peer, local;
    socklen_t peerlen, locallen;
    const char *netid; /* of the call's transport ("tcp", "udp6", "local") */
    int local_ok;      /* on this host */
} caller;

static void caller_get(parley_call *call, caller *c)
{
    memset(c, 0, sizeof *c);
    c->transport = parley_call_transport(call);
    c->peerlen = sizeof c->peer;
    c->locallen = sizeof c->local;
    if (parley_call_peer(call, &c->peer, &c->peerlen) != PARLEY_OK)
        c->peerlen = 0;
    if (parley_call_local(call, &c->local, &c->locallen) != PARLEY_OK)
        c->locallen = 0;
    unmap(&c->peer, &c->peerlen);
    unmap(&c->local, &c->locallen);
    if (c->transport == PARLEY_TRANSPORT_UNIX) {
        c->netid = "local";
    } else {
        int v6 = c->locallen ? c->local.ss_family == AF_INET6 : c->peer.ss_family == AF_INET6;
        if (c->transport == PARLEY_TRANSPORT_TCP)
            c->netid = v6 ? "tcp6" : "tcp";
        else
            c->netid = v6 ? "udp6" : "udp";
    }
    c->local_ok = mm_caller_is_local(c->transport, (struct sockaddr *)&c->peer, c->peerlen);
}

/* caller_uid is the caller's uid as the kernel knows it: SO_PEERCRED on a
 * Unix socket, the owner of the peer's socket in /proc/net over loopback
 * TCP and UDP; MM_UID_UNKNOWN when it cannot be learnt. *pid gets the
 * peer's pid when known, else 0. */
static uid_t caller_uid(parley_call *call, const caller *c, pid_t *pid)
{
    const mm_service *sv = parley_call_ctx(call);
    *pid = 0;
    if (c->transport == PARLEY_TRANSPORT_UNIX) {
        uid_t uid;
        pid_t p;
        if (parley_call_peer_ids(call, &uid, NULL, &p) == PARLEY_OK) {
            *pid = p;
            return uid;
        }
        return MM_UID_UNKNOWN;
    }
    if (!c->peerlen || !c->locallen)
        return MM_UID_UNKNOWN;
    uid_t uid;
    int st = c->transport == PARLEY_TRANSPORT_TCP ? SOCK_STREAM : SOCK_DGRAM;
    if (mm_procnet_owner(sv->cfg.proc_root, st, (const struct sockaddr *)&c->peer, c->peerlen,
                         (const struct sockaddr *)&c->local, c->locallen, &uid) != 0)
        return MM_UID_UNKNOWN;
    return uid;
}

/* ---- answers ---- */

/* fits says whether an answer whose result takes result_size bytes may go
 * to call's caller: anything over TCP, a Unix socket or from this host;
 * over UDP from elsewhere, at most udp_ratio times the call (see
 * Reflection in service.h). */
static int fits(const mm_service *sv, parley_call *call, size_t result_size)
{
    if (!sv->cfg.udp_ratio || parley_call_transport(call) != PARLEY_TRANSPORT_UDP)
        return 1;
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    if (parley_call_peer(call, &peer, &len) == PARLEY_OK &&
        mm_caller_is_local(PARLEY_TRANSPORT_UDP, (struct sockaddr *)&peer, len))
        return 1;
    return MM_REPLY_HEADER + result_size <= (size_t)sv->cfg.udp_ratio * parley_call_size(call);
}

/* bounded is rc, or PARLEY_ERR_SYSTEM_ERR (a 24-byte reply) when the
 * answer does not fit (fits). */
static int bounded(const mm_service *sv, parley_call *call, int rc, size_t result_size)
{
    return rc == PARLEY_OK && !fits(sv, call, result_size) ? PARLEY_ERR_SYSTEM_ERR : rc;
}

static char *arena_strdup(parley_call *call, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = parley_arena_alloc(parley_call_arena(call), n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* answer_uaddr writes into out (MM_UADDR_MAX + 1 bytes) the address to
 * give caller c for entry e: e's own, except that a wildcard address
 * (0.0.0.0 or ::) becomes the address c reached the matchmaker at, with
 * e's port, as rpcbind answers; a caller on a Unix socket gets the loopback
 * address. */
static void answer_uaddr(const caller *c, const mm_reg_entry *e, char *out)
{
    snprintf(out, MM_UADDR_MAX + 1, "%s", e->uaddr);
    const parley_netid *ni = parley_netid_find(e->netid);
    if (!ni || ni->family == AF_UNIX)
        return;
    struct sockaddr_storage ss;
    socklen_t len;
    if (parley_uaddr_parse(e->uaddr, ni->family, &ss, &len) != PARLEY_OK)
        return;
    uint16_t port;
    if (ni->family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        if (s4->sin_addr.s_addr != htonl(INADDR_ANY))
            return;
        port = s4->sin_port;
        if (c->locallen && c->local.ss_family == AF_INET)
            s4->sin_addr = ((const struct sockaddr_in *)&c->local)->sin_addr;
        else if (c->transport == PARLEY_TRANSPORT_UNIX)
            s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        else
            return;
        s4->sin_port = port;
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        if (!IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
            return;
        port = s6->sin6_port;
        if (c->locallen && c->local.ss_family == AF_INET6)
            s6->sin6_addr = ((const struct sockaddr_in6 *)&c->local)->sin6_addr;
        else if (c->transport == PARLEY_TRANSPORT_UNIX)
            s6->sin6_addr = in6addr_loopback;
        else
            return;
        s6->sin6_port = port;
        s6->sin6_scope_id = 0;
    }
    char buf[MM_UADDR_MAX + 1];
    if (parley_uaddr_format((struct sockaddr *)&ss, len, buf, sizeof buf, NULL) == PARLEY_OK)
        snprintf(out, MM_UADDR_MAX + 1, "%s", buf);
}

static const char *str(const char *s)
{
    return s ? s : "";
}

/* copy_str copies s into dst (cap bytes); -1 when it does not fit. */
static int copy_str(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(str(s));
    if (n >= cap)
        return -1;
    memcpy(dst, str(s), n + 1);
    return 0;
}

/* ---- the matchmaker's own protocol ---- */

static int alive(const mm_service *sv, const mm_reg_entry *e);

/* held_live finds an entry that e would replace under either of its keys,
 * (name, vers, netid) or (prog, vers, netid), at another address, and that
 * a live server still serves (its socket is there: alive). Such an entry
 * is never replaced: the server holding it would go on serving with no
 * entry left once the newcomer unregistered. One whose server is gone (or
 * cannot be checked) is replaced, as by a restarted server. 1 with it in
 * *out, else 0. */
static int held_live(mm_service *sv, const mm_reg_entry *e, mm_reg_entry *out)
{
    mm_reg_entry found[8];
    size_t n = 0;
    mm_reg_filter f = {e->name, e->netid, 0, e->vers, MM_MATCH_VERS};
    if (mm_registry_find(sv->cfg.reg, &f, found, 8, &n) != MM_OK)
        n = 0;
    if (n > 8)
        n = 8;
    if (n < 8 && mm_registry_get(sv->cfg.reg, e->prog, e->vers, e->netid, &found[n]) == MM_OK)
        n++;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(found[i].uaddr, e->uaddr) == 0 || alive(sv, &found[i]) != 1)
            continue;
        *out = found[i];
        return 1;
    }
    return 0;
}

int matchmaker_register_1_svc(const mm_registration *arg, mm_status *result, parley_call *call)
{
    mm_service *sv = parley_call_ctx(call);
    caller c;
    caller_get(call, &c);
    if (!c.local_ok) {
        LOG(sv, LOG_INFO, "refused to register %s %u/%u: not from this host", str(arg->name),
            arg->prog, arg->vers);
        *result = MM_DENIED;
        return PARLEY_OK;
    }
    mm_reg_entry e;
    memset(&e, 0, sizeof e);
    if (!mm_name_valid(str(arg->name)) || copy_str(e.name, sizeof e.name, arg->name) != 0 ||
        copy_str(e.netid, sizeof e.netid, arg->netid) != 0 ||
        copy_str(e.uaddr, sizeof e.uaddr, arg->uaddr) != 0 || arg->vers == 0) {
        LOG(sv, LOG_INFO, "refused to register %u/%u: a bad name, netid or address", arg->prog,
            arg->vers);
        *result = MM_INVALID;
        return PARLEY_OK;
    }
    e.prog = arg->prog;
    e.vers = arg->vers;
    e.owner = caller_uid(call, &c, &e.pid);
    mm_reg_entry held;
    if (e.netid[0] && held_live(sv, &e, &held)) {
        char owner[MM_OWNER_TEXT_MAX + 1];
        mm_owner_format(held.owner, owner);
        LOG(sv, LOG_NOTICE,
            "refusing %s %u/%u on %s at %s: a live server holds it at %s (owner %s, pid %d)",
            e.name, e.prog, e.vers, e.netid, e.uaddr, held.uaddr, owner, (int)held.pid);
        *result = MM_EXISTS;
        return PARLEY_OK;
    }
    *result = mm_registry_set(sv->cfg.reg, &e, MM_REG_REPLACE);
    LOG(sv, LOG_INFO, "register %s %u/%u on %s at %s by uid %u: status %d", e.name, e.prog, e.vers,
        e.netid, e.uaddr, (unsigned)e.owner, (int)*result);
    if (*result == MM_OK)
        mm_service_changed(sv);
    return PARLEY_OK;
}

int matchmaker_unregister_1_svc(const mm_key *arg, mm_status *result, parley_call *call)
{
    mm_service *sv = parley_call_ctx(call);
    caller c;
    caller_get(call, &c);
    if (!c.local_ok) {
        *result = MM_DENIED;
        return PARLEY_OK;
    }
    pid_t pid;
    uid_t uid = caller_uid(call, &c, &pid);
    *result =
        mm_registry_unset_name(sv->cfg.reg, str(arg->name), arg->vers, str(arg->netid), uid, NULL);
    LOG(sv, LOG_INFO, "unregister %s version %u on '%s' by uid %u: status %d", str(arg->name),
        arg->vers, str(arg->netid), (unsigned)uid, (int)*result);
    if (*result == MM_OK)
        mm_service_changed(sv);
    return PARLEY_OK;
}

/* entry_to_wire fills w from e, in the call's arena; -1 when it ran out. */
static int entry_to_wire(parley_call *call, const caller *c, const mm_reg_entry *e, mm_entry *w)
{
    char owner[MM_OWNER_TEXT_MAX + 1];
    char uaddr[MM_UADDR_MAX + 1];
    mm_owner_format(e->owner, owner);
    if (c)
        answer_uaddr(c, e, uaddr);
    else
        snprintf(uaddr, sizeof uaddr, "%s", e->uaddr);
    w->name = arena_strdup(call, e->name);
    w->netid = arena_strdup(call, e->netid);
    w->uaddr = arena_strdup(call, uaddr);
    w->owner = arena_strdup(call, owner);
    w->prog = e->prog;
    w->vers = e->vers;
    w->registered = e->registered;
    return w->name && w->netid && w->uaddr && w->owner ? 0 : -1;
}

/* What a look-up found: this host's registrations, then the cluster's. */
typedef struct found_set {
    mm_reg_entry local[8];
    size_t nl;
    mm_cc_entry *cl; /* malloc'd; NULL when none */
    size_t nc;
} found_set;

/* find_instances looks the query up in the table and, with a cluster, in
 * its cache (other hosts' instances); version 0 is the highest among both.
 * Returns MM_OK with at least one instance in *f (the caller frees f->cl),
 * MM_INVALID, MM_NOENT, MM_STALE (only in the cluster, and the agent is
 * STALE), or -1 when memory ran out. */
static int find_instances(mm_service *sv, const mm_query *arg, found_set *f)
{
    memset(f, 0, sizeof *f);
    mm_status st = mm_registry_lookup(sv->cfg.reg, str(arg->name), arg->vers, str(arg->netid),
                                      f->local, 8, &f->nl);
    if (st == MM_INVALID)
        return MM_INVALID;
    if (st != MM_OK)
        f->nl = 0;
    if (f->nl > 8)
        f->nl = 8;
    if (!sv->cfg.cluster)
        return f->nl ? MM_OK : MM_NOENT;
    mm_cluster_status cs;
    mm_cluster_status_get(sv->cfg.cluster, &cs);
    uint32_t vc = 0;
    if (mm_ccache_lookup(mm_cluster_cache(sv->cfg.cluster), str(arg->name), arg->vers,
                         str(arg->netid), &f->cl, &f->nc, &vc) != 0)
        return -1;
    if (cs.state == MM_CLUSTER_STALE) { /* the cache is not to be trusted: local alone */
        int only_cluster = f->nl == 0 && f->nc > 0;
        free(f->cl);
        f->cl = NULL;
        f->nc = 0;
        return f->nl ? MM_OK : only_cluster ? MM_STALE : MM_NOENT;
    }
    if (arg->vers == 0 && f->nl && f->nc) {
        if (f->local[0].vers > vc) {
            free(f->cl);
            f->cl = NULL;
            f->nc = 0;
        } else if (vc > f->local[0].vers) {
            f->nl = 0;
        }
    }
    return f->nl || f->nc ? MM_OK : MM_NOENT;
}

/* cc_to_wire fills w from a cluster instance e, in the call's arena: owner
 * "cluster", registered when this matchmaker learnt it; -1 when the arena
 * ran out. */
static int cc_to_wire(parley_call *call, const mm_cc_entry *e, mm_entry *w)
{
    w->name = arena_strdup(call, e->name);
    w->netid = arena_strdup(call, e->netid);
    w->uaddr = arena_strdup(call, e->uaddr);
    w->owner = arena_strdup(call, "cluster");
    w->prog = e->prog;
    w->vers = e->vers;
    w->registered = e->learnt;
    return w->name && w->netid && w->uaddr && w->owner ? 0 : -1;
}

/* fitting is how many of the first n items, whose sizes item_size gives,
 * an answer of base bytes and them may carry to call's caller (fits). */
static size_t fitting(const mm_service *sv, parley_call *call, size_t base, const void *items,
                      size_t n, size_t elem, size_t (*item_size)(const void *))
{
    size_t total = base, k = 0;
    for (; k < n; k++) {
        size_t s = item_size((const char *)items + k * elem);
        if (!fits(sv, call, total + s))
            break;
        total += s;
    }
    return k;
}

static size_t entry_size(const void *p)
{
    return mm_entry_size(p);
}

static size_t instance_size(const void *p)
{
    return mm_instance_size(p);
}

int matchmaker_lookup_1_svc(const mm_query *arg, mm_lookup_res *result, parley_call *call)
{
    mm_service *sv = parley_call_ctx(call);
    caller c;
    caller_get(call, &c);
    found_set f;
    int st = find_instances(sv, arg, &f);
    if (st < 0)
        return PARLEY_ERR_SYSTEM_ERR;
    result->status = (mm_status)st;
    if (st != MM_OK)
        return PARLEY_OK;
    size_t n = f.nl + f.nc;
    if (n > MM_LIST_MAX)
        n = MM_LIST_MAX;
    mm_entry *w = parley_arena_alloc(parley_call_arena(call), n * sizeof *w);
    int rc = w ? PARLEY_OK : PARLEY_ERR_SYSTEM_ERR;
    if (w)
        memset(w, 0, n * sizeof *w);
    for (size_t i = 0; rc == PARLEY_OK && i < n; i++)
        if (i < f.nl ? entry_to_wire(call, &c, &f.local[i], &w[i]) != 0
                     : cc_to_wire(call, &f.cl[i - f.nl], &w[i]) != 0)
            rc = PARLEY_ERR_SYSTEM_ERR;
    free(f.cl);
    if (rc != PARLEY_OK)
        return rc;
    result->mm_lookup_res_u.entries.mm_entry_list_len = 0;
    result->mm_lookup_res_u.entries.mm_entry_list_val = w;
    /* over UDP from elsewhere, the entries that fit the bound: each is an
     * address of the service, so fewer are still a true answer */
    n = fitting(sv, call, mm_lookup_res_size(result), w, n, sizeof *w, entry_size);
    result->mm_lookup_res_u.entries.mm_entry_list_len = (u_int)n;
    return n > 0 ? PARLEY_OK : PARLEY_ERR_SYSTEM_ERR;
}

/* empty is the "" of a reply's strings (the wire types are not const). */
static char empty[1];

/* matchmaker_instances_1_svc answers INSTANCES: what LOOKUP would answer,
 * each with its origin, the host that published it (this host's own name
 * for a local one, "" without a cluster) and its lease. */
int matchmaker_instances_1_svc(const mm_query *arg, mm_instances_res *result, parley_call *call)
{
    mm_service *sv = parley_call_ctx(call);
    caller c;
    caller_get(call, &c);
    found_set f;
    int st = find_instances(sv, arg, &f);
    if (st < 0)
        return PARLEY_ERR_SYSTEM_ERR;
    result->status = (mm_status)st;
    if (st != MM_OK)
        return PARLEY_OK;
    size_t n = f.nl + f.nc;
    if (n > MM_CLUSTER_MAX)
        n = MM_CLUSTER_MAX;
    char *self = sv->cfg.cluster ? arena_strdup(call, mm_cluster_host(sv->cfg.cluster)) : empty;
    mm_instance *w = parley_arena_alloc(parley_call_arena(call), n * sizeof *w);
    int rc = w && self ? PARLEY_OK : PARLEY_ERR_SYSTEM_ERR;
    if (w)
        memset(w, 0, n * sizeof *w);
    for (size_t i = 0; rc == PARLEY_OK && i < n; i++) {
        if (i < f.nl) {
            if (entry_to_wire(call, &c, &f.local[i], &w[i].entry) != 0)
                rc = PARLEY_ERR_SYSTEM_ERR;
            w[i].origin = MM_ORIGIN_LOCAL;
            w[i].host = self;
            continue;
        }
        const mm_cc_entry *e = &f.cl[i - f.nl];
        w[i].origin = MM_ORIGIN_CLUSTER;
        w[i].host = arena_strdup(call, e->host);
        w[i].lease = e->lease;
        if (!w[i].host || cc_to_wire(call, e, &w[i].entry) != 0)
            rc = PARLEY_ERR_SYSTEM_ERR;
    }
    free(f.cl);
    if (rc != PARLEY_OK)
        return rc;
    result->mm_instances_res_u.instances.mm_instance_list_len = 0;
    result->mm_instances_res_u.instances.mm_instance_list_val = w;
    n = fitting(sv, call, mm_instances_res_size(result), w, n, sizeof *w, instance_size);
    result->mm_instances_res_u.instances.mm_instance_list_len = (u_int)n;
    return n > 0 ? PARLEY_OK : PARLEY_ERR_SYSTEM_ERR;
}

/* matchmaker_cluster_1_svc answers CLUSTER: the agent's state and every
 * instance of its cache, this host's too; without a cluster, the state
 * MM_CLUSTER_OFF and no instance. Bounded over UDP as a whole. */
int matchmaker_cluster_1_svc(mm_cluster_info *result, parley_call *call)
{
    mm_service *sv = parley_call_ctx(call);
    memset(result, 0, sizeof *result);
    result->state = MM_CLUSTER_OFF;
    result->host = empty;
    result->error = empty;
    if (!sv->cfg.cluster)
        return PARLEY_OK;
    mm_cluster_status cs;
    mm_cluster_status_get(sv->cfg.cluster, &cs);
    mm_cc_entry *all = NULL;
    size_t n = 0;
    if (mm_ccache_list(mm_cluster_cache(sv->cfg.cluster), &all, &n, NULL) != 0)
        return PARLEY_ERR_SYSTEM_ERR;
    if (n > MM_CLUSTER_MAX)
        n = MM_CLUSTER_MAX;
    result->state = (mm_cluster_state)cs.state;
    result->host = arena_strdup(call, cs.host);
    result->lease = cs.lease;
    result->ttl = cs.ttl;
    result->revision = cs.revision;
    result->age_ms = cs.age_ms;
    result->error = arena_strdup(call, cs.error);
    int rc = result->host && result->error ? PARLEY_OK : PARLEY_ERR_SYSTEM_ERR;
    mm_instance *w = NULL;
    if (rc == PARLEY_OK && n) {
        w = parley_arena_alloc(parley_call_arena(call), n * sizeof *w);
        if (!w)
            rc = PARLEY_ERR_SYSTEM_ERR;
        else
            memset(w, 0, n * sizeof *w);
    }
    for (size_t i = 0; rc == PARLEY_OK && i < n; i++) {
        w[i].origin = MM_ORIGIN_CLUSTER;
        w[i].host = arena_strdup(call, all[i].host);
        w[i].lease = all[i].lease;
        if (!w[i].host || cc_to_wire(call, &all[i], &w[i].entry) != 0)
            rc = PARLEY_ERR_SYSTEM_ERR;
    }
    free(all);
    if (rc != PARLEY_OK)
        return rc;
    result->instances.mm_instance_list_len = (u_int)n;
    result->instances.mm_instance_list_val = w;
    return bounded(sv, call, PARLEY_OK, mm_cluster_info_size(result));
}

int matchmaker_list_1_svc(mm_entry_list *result, parley_call *call)
{
    mm_service *sv = parley_call_ctx(call);
    mm_reg_entry *all = NULL;
    size_t n = 0;
    if (mm_registry_snapshot(sv->cfg.reg, &all, &n) != 0)
        return PARLEY_ERR_SYSTEM_ERR;
    if (n > MM_LIST_MAX)
        n = MM_LIST_MAX;
    int rc = PARLEY_OK;
    mm_entry *w = NULL;
    if (n) {
        w = parley_arena_alloc(parley_call_arena(call), n * sizeof *w);
        if (!w)
            rc = PARLEY_ERR_SYSTEM_ERR;
        else
            memset(w, 0, n * sizeof *w);
    }
    for (size_t i = 0; rc == PARLEY_OK && i < n; i++)
        if (entry_to_wire(call, NULL, &all[i], &w[i]) != 0)
            rc = PARLEY_ERR_SYSTEM_ERR;
    free(all);
    if (rc != PARLEY_OK)
        return rc;
    result->mm_entry_list_len = (u_int)n;
    result->mm_entry_list_val = w;
    return bounded(sv, call, PARLEY_OK, mm_entry_list_size(result));
}

/* ---- rpcbind's protocol ---- */

/* find_addr looks up (prog, vers) on netid: the exact version, or, unless
 * onevers, another version of prog on netid (the highest), as rpcbind
 * does so that the client learns the versions from the server itself. */
static int find_addr(mm_service *sv, uint32_t prog, uint32_t vers, const char *netid, int onevers,
                     mm_reg_entry *out)
{
    if (mm_registry_get(sv->cfg.reg, prog, vers, netid, out) == MM_OK)
        return 0;
    if (onevers)
        return -1;
    uint32_t low, high;
    if (mm_registry_versions(sv->cfg.reg, prog, netid, &low, &high) != MM_OK)
        return -1;
    return mm_registry_get(sv->cfg.reg, prog, high, netid, out) == MM_OK ? 0 : -1;
}

/* rpcb_set is SET of versions 3 and 4: owned by the caller as the
 * matchmaker learns it (r_owner is ignored), never replacing. */
static bool_t rpcb_set(parley_call *call, unsigned vers, const mm_rpcb *arg)
{
    mm_service *sv = parley_call_ctx(call);
    caller c;
    caller_get(call, &c);
    if (!c.local_ok)
        return 0;
    mm_reg_entry e;
    memset(&e, 0, sizeof e);
    if (copy_str(e.netid, sizeof e.netid, arg->r_netid) != 0 ||
        copy_str(e.uaddr, sizeof e.uaddr, arg->r_addr) != 0)
        return 0;
    e.prog = arg->r_prog;
    e.vers = arg->r_vers;
    e.owner = caller_uid(call, &c, &e.pid);
    if (mm_registry_set(sv->cfg.reg, &e, 0) != MM_OK)
        return 0;
    atomic_fetch_add(&sv->stat_set[vers - 2], 1);
    mm_service_changed(sv);
    return 1;
}

/* rpcb_unset removes (prog, vers) on netid ("": every transport). */
static bool_t rpcb_unset(parley_call *call, unsigned vers, uint32_t prog, uint32_t pvers,
                         const char *netid)
{
    mm_service *sv = parley_call_ctx(call);
    caller c;
    caller_get(call, &c);
    if (!c.local_ok)
        return 0;
    pid_t pid;
    uid_t uid = caller_uid(call, &c, &pid);
    if (mm_registry_unset(sv->cfg.reg, prog, pvers, netid, uid, NULL) != MM_OK)
        return 0;
    atomic_fetch_add(&sv->stat_unset[vers - 2], 1);
    mm_service_changed(sv);
    return 1;
}

static const char *pmap_netid(uint32_t prot)
{
    return prot == MM_IPPROTO_TCP ? "tcp" : prot == MM_IPPROTO_UDP ? "udp" : NULL;
}

int mm_pmapproc_set_2_svc(const mm_pmap *arg, bool_t *result, parley_call *call)
{
    mm_service *sv = parley_call_ctx(call);
    count(sv, 2, 1);
    *result = 0;
    const char *netid = pmap_netid(arg->pm_prot);
    if (!netid || arg->pm_port == 0 || arg->pm_port > 65535)
        return PARLEY_OK;
    /* rpcbind registers a port mapper SET at the wildcard address */
    char uaddr[32], nid[8], owner[1] = "";
    snprintf(uaddr, sizeof uaddr, "0.0.0.0.%u.%u", arg->pm_port >> 8, arg->pm_port & 0xff);
    snprintf(nid, sizeof nid, "%s", netid);
    mm_rpcb r = {arg->pm_prog, arg->pm_vers, nid, uaddr, owner};
    *result = rpcb_set(call, 2, &r);
    return PARLEY_OK;
}

int mm_pmapproc_unset_2_svc(const mm_pmap *arg, bool_t *result, parley_call *call)
{
    mm_service *sv = parley_call_ctx(call);
    count(sv, 2, 2);
    /* both transports, as rpcbind does */
    bool_t t = rpcb_unset(call, 2, arg->pm_prog, arg->pm_vers, "tcp");
    bool_t u = rpcb_unset(call, 2, arg->pm_prog, arg->pm_vers, "udp");
    *result = t || u;
    return PARLEY_OK;
}

/* uaddr_port is the port of an inet or inet6 universal address, or 0. */
static unsigned uaddr_port(const char *netid, const char *uaddr)
{
    const parley_netid *ni = parley_netid_find(netid);
    struct sockaddr_storage ss;
    socklen_t len;
    if (!ni || ni->family == AF_UNIX ||
        parley_uaddr_parse(uaddr, ni->family, &ss, &len) != PARLEY_OK)
        return 0;
    if (ni->family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

int mm_pmapproc_getport_2_svc(const mm_pmap *arg, u_int *result, parley_call *call)
{
    mm_service *sv = parley_call_ctx(call);
    count(sv, 2, 3);
    *result = 0;
    const char *netid = pmap_netid(arg->pm_prot);
    mm_reg_entry e;
    if (netid && find_addr(sv, arg->pm_prog, arg->pm_vers, netid, 0, &e) == 0)
        *result = uaddr_port(e.netid, e.uaddr);
    if (netid)
        count_lookup(sv, 2, arg->pm_prog, arg->pm_vers, netid, *result != 0);
    return PARLEY_OK;
}

int mm_pmapproc_dump_2_svc(mm_pmaplist_ptr *result, parley_call *call)
{
    mm_service *sv = parley_call_ctx(call);
    count(sv, 2, 4);
    *result = NULL;
    mm_reg_entry *all = NULL;
    size_t n = 0;
    if (mm_registry_snapshot(sv->cfg.reg, &all, &n) != 0)
        return PARLEY_ERR_SYSTEM_ERR;
    mm_pmaplist **tail = result;
    int rc = PARLEY_OK;
    for (size_t i = 0; i < n; i++) {
        uint32_t prot = strcmp(all[i].netid, "tcp") == 0   ? MM_IPPROTO_TCP
                        : strcmp(all[i].netid, "udp") == 0 ? MM_IPPROTO_UDP
                                                           : 0;
        if (!prot)
            continue;
        mm_pmaplist *p = parley_arena_alloc(parley_call_arena(call), sizeof *p);
        if (!p) {
            rc = PARLEY_ERR_SYSTEM_ERR;
            break;
        }
        p->pml_map.pm_prog = all[i].prog;
        p->pml_map.pm_vers = all[i].vers;
        p->pml_map.pm_prot = prot;
        p->pml_map.pm_port = uaddr_port(all[i].netid, all[i].uaddr);
        p->pml_next = NULL;
        *tail = p;
        tail = &p->pml_next;
    }
    free(all);
    return bounded(sv, call, rc, mm_pmaplist_ptr_size(result));
}

static int rpcb_getaddr(unsigned vers, unsigned proc, const mm_rpcb *arg, mm_rpcb_uaddr *result,
                        parley_call *call, int onevers)
{
    mm_service *sv = parley_call_ctx(call);
    count(sv, vers, proc);
    caller c;
    caller_get(call, &c);
    const char *netid = arg->r_netid && arg->r_netid[0] ? arg->r_netid : c.netid;
    mm_reg_entry e;
    char uaddr[MM_UADDR_MAX + 1] = "";
    if (parley_netid_find(netid) &&
        find_addr(sv, arg->r_prog, arg->r_vers, netid, onevers, &e) == 0)
        answer_uaddr(&c, &e, uaddr);
    count_lookup(sv, vers, arg->r_prog, arg->r_vers, netid, uaddr[0] != '\0');
    *result = arena_strdup(call, uaddr);
    return *result ? bounded(sv, call, PARLEY_OK, mm_rpcb_uaddr_size(result))
                   : PARLEY_ERR_SYSTEM_ERR;
}

static int rpcb_dump(unsigned vers, mm_rpcblist_ptr *result, parley_call *call)
{
    mm_service *sv = parley_call_ctx(call);
    count(sv, vers, 4);
    *result = NULL;
    mm_reg_entry *all = NULL;
    size_t n = 0;
    if (mm_registry_snapshot(sv->cfg.reg, &all, &n) != 0)
        return PARLEY_ERR_SYSTEM_ERR;
    mm_rp__list **tail = result;
    int rc = PARLEY_OK;
    for (size_t i = 0; i < n; i++) {
        mm_rp__list *p = parley_arena_alloc(parley_call_arena(call), sizeof *p);
        char owner[MM_OWNER_TEXT_MAX + 1];
        mm_owner_format(all[i].owner, owner);
        if (p) {
            p->rpcb_map.r_prog = all[i].prog;
            p->rpcb_map.r_vers = all[i].vers;
            p->rpcb_map.r_netid = arena_strdup(call, all[i].netid);
            p->rpcb_map.r_addr = arena_strdup(call, all[i].uaddr);
            p->rpcb_map.r_owner = arena_strdup(call, owner);
            p->rpcb_next = NULL;
        }
        if (!p || !p->rpcb_map.r_netid || !p->rpcb_map.r_addr || !p->rpcb_map.r_owner) {
            rc = PARLEY_ERR_SYSTEM_ERR;
            break;
        }
        *tail = p;
        tail = &p->rpcb_next;
    }
    free(all);
    return bounded(sv, call, rc, mm_rpcblist_ptr_size(result));
}

/* rpcb_uaddr2taddr parses uaddr as an address of the call's transport. */
static int rpcb_uaddr2taddr(unsigned vers, const mm_rpcb_uaddr *arg, mm_netbuf *result,
                            parley_call *call)
{
    mm_service *sv = parley_call_ctx(call);
    count(sv, vers, 7);
    caller c;
    caller_get(call, &c);
    memset(result, 0, sizeof *result);
    const parley_netid *ni = parley_netid_find(c.netid);
    struct sockaddr_storage ss;
    socklen_t len;
    if (!ni || parley_uaddr_parse(str(*arg), ni->family, &ss, &len) != PARLEY_OK)
        return PARLEY_OK;
    char *buf = parley_arena_alloc(parley_call_arena(call), len);
    if (!buf)
        return PARLEY_ERR_SYSTEM_ERR;
    memcpy(buf, &ss, len);
    result->maxlen = (u_int)len;
    result->buf.buf_len = (u_int)len;
    result->buf.buf_val = buf;
    return bounded(sv, call, PARLEY_OK, mm_netbuf_size(result));
}

/* rpcb_taddr2uaddr formats the socket address in the bytes of arg. */
static int rpcb_taddr2uaddr(unsigned vers, const mm_netbuf *arg, mm_rpcb_uaddr *result,
                            parley_call *call)
{
    mm_service *sv = parley_call_ctx(call);
    count(sv, vers, 8);
    char uaddr[MM_UADDR_MAX + 1] = "";
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    size_t n = arg->buf.buf_len;
    if (n >= sizeof(sa_family_t) && n <= sizeof ss && arg->buf.buf_val) {
        memcpy(&ss, arg->buf.buf_val, n);
        if (parley_uaddr_format((struct sockaddr *)&ss, (socklen_t)n, uaddr, sizeof uaddr, NULL) !=
            PARLEY_OK)
            uaddr[0] = '\0';
    }
    *result = arena_strdup(call, uaddr);
    return *result ? bounded(sv, call, PARLEY_OK, mm_rpcb_uaddr_size(result))
                   : PARLEY_ERR_SYSTEM_ERR;
}

static int rpcb_gettime(mm_service *sv, unsigned vers, u_int *result)
{
    count(sv, vers, 6);
    *result = (u_int)time(NULL);
    return PARLEY_OK;
}

int mm_rpcbproc_set_3_svc(const mm_rpcb *arg, bool_t *result, parley_call *call)
{
    mm_service *sv = parley_call_ctx(call);
    count(sv, 3, 1);
    *result = rpcb_set(call, 3, arg);
    return PARLEY_OK;
}

int mm_rpcbproc_unset_3_svc(const mm_rpcb *arg, bool_t *result, parley_call *call)
{
    mm_service *sv = parley_call_ctx(call);
    count(sv, 3, 2);
    *result = rpcb_unset(call, 3, arg->r_prog, arg->r_vers, str(arg->r_netid));
    return PARLEY_OK;
}

int mm_rpcbproc_getaddr_3_svc(const mm_rpcb *arg, mm_rpcb_uaddr *result, parley_call *call)
{
    return rpcb_getaddr(3, 3, arg, result, call, 0);
}

int mm_rpcbproc_dump_3_svc(mm_rpcblist_ptr *result, parley_call *call)
{
    return rpcb_dump(3, result, call);
}

int mm_rpcbproc_gettime_3_svc(u_int *result, parley_call *call)
{
    return rpcb_gettime(parley_call_ctx(call), 3, result);
}

int mm_rpcbproc_uaddr2taddr_3_svc(const mm_rpcb_uaddr *arg, mm_netbuf *result, parley_call *call)
{
    return rpcb_uaddr2taddr(3, arg, result, call);
}

int mm_rpcbproc_taddr2uaddr_3_svc(const mm_netbuf *arg, mm_rpcb_uaddr *result, parley_call *call)
{
    return rpcb_taddr2uaddr(3, arg, result, call);
}

int mm_rpcbproc_set_4_svc(const mm_rpcb *arg, bool_t *result, parley_call *call)
{
    mm_service *sv = parley_call_ctx(call);
    count(sv, 4, 1);
    *result = rpcb_set(call, 4, arg);
    return PARLEY_OK;
}

int mm_rpcbproc_unset_4_svc(const mm_rpcb *arg, bool_t *result, parley_call *call)
{
    mm_service *sv = parley_call_ctx(call);
    count(sv, 4, 2);
    *result = rpcb_unset(call, 4, arg->r_prog, arg->r_vers, str(arg->r_netid));
    return PARLEY_OK;
}

int mm_rpcbproc_getaddr_4_svc(const mm_rpcb *arg, mm_rpcb_uaddr *result, parley_call *call)
{
    return rpcb_getaddr(4, 3, arg, result, call, 0);
}

int mm_rpcbproc_dump_4_svc(mm_rpcblist_ptr *result, parley_call *call)
{
    return rpcb_dump(4, result, call);
}

int mm_rpcbproc_gettime_4_svc(u_int *result, parley_call *call)
{
    return rpcb_gettime(parley_call_ctx(call), 4, result);
}

int mm_rpcbproc_uaddr2taddr_4_svc(const mm_rpcb_uaddr *arg, mm_netbuf *result, parley_call *call)
{
    return rpcb_uaddr2taddr(4, arg, result, call);
}

int mm_rpcbproc_taddr2uaddr_4_svc(const mm_netbuf *arg, mm_rpcb_uaddr *result, parley_call *call)
{
    return rpcb_taddr2uaddr(4, arg, result, call);
}

int mm_rpcbproc_getversaddr_4_svc(const mm_rpcb *arg, mm_rpcb_uaddr *result, parley_call *call)
{
    return rpcb_getaddr(4, 9, arg, result, call, 1);
}

int mm_rpcbproc_getaddrlist_4_svc(const mm_rpcb *arg, mm_rpcb_entry_list_ptr *result,
                                  parley_call *call)
{
    mm_service *sv = parley_call_ctx(call);
    count(sv, 4, 11);
    *result = NULL;
    caller c;
    caller_get(call, &c);
    mm_reg_filter f = {NULL, NULL, arg->r_prog, arg->r_vers, MM_MATCH_PROG | MM_MATCH_VERS};
    mm_reg_entry found[32];
    size_t n = 0;
    if (mm_registry_find(sv->cfg.reg, &f, found, 32, &n) != MM_OK) {
        count_lookup(sv, 4, arg->r_prog, arg->r_vers, c.netid, 0);
        return PARLEY_OK;
    }
    if (n > 32)
        n = 32;
    /* rpcbind answers with the addresses of the protocol family the call
     * came in on (an IPv4 caller gets inet's, not inet6's nor a local
     * socket's path), each merged with the address the caller reached */
    const parley_netid *mine = parley_netid_find(c.netid);
    mm_rpcb_entry_list **tail = result;
    int answered = 0;
    for (size_t i = 0; i < n; i++) {
        const parley_netid *ni = parley_netid_find(found[i].netid);
        if (!ni || !mine || strcmp(ni->protofmly, mine->protofmly) != 0)
            continue;
        mm_rpcb_entry_list *p = parley_arena_alloc(parley_call_arena(call), sizeof *p);
        char uaddr[MM_UADDR_MAX + 1];
        answer_uaddr(&c, &found[i], uaddr);
        if (!p)
            return PARLEY_ERR_SYSTEM_ERR;
        mm_rpcb_entry *m = &p->rpcb_entry_map;
        m->r_maddr = arena_strdup(call, uaddr);
        m->r_nc_netid = arena_strdup(call, found[i].netid);
        m->r_nc_semantics = ni->semantics;
        m->r_nc_protofmly = arena_strdup(call, ni->protofmly);
        m->r_nc_proto = arena_strdup(call, ni->proto);
        p->rpcb_entry_next = NULL;
        if (!m->r_maddr || !m->r_nc_netid || !m->r_nc_protofmly || !m->r_nc_proto)
            return PARLEY_ERR_SYSTEM_ERR;
        *tail = p;
        tail = &p->rpcb_entry_next;
        answered = 1;
    }
    /* rpcbind counts a GETADDRLIST as a look-up on the call's netid too
     * (rpcinfo -m adds GETADDRLIST's calls to GETADDR's for that reason) */
    count_lookup(sv, 4, arg->r_prog, arg->r_vers, c.netid, answered);
    return bounded(sv, call, PARLEY_OK, mm_rpcb_entry_list_ptr_size(result));
}

int mm_rpcbproc_getstat_4_svc(mm_rpcb_stat_byvers *result, parley_call *call)
{
    mm_service *sv = parley_call_ctx(call);
    count(sv, 4, 12);
    memset(result, 0, sizeof *result);
    for (int v = 0; v < MM_RPCBVERS_STAT; v++) {
        for (int p = 0; p < MM_RPCBSTAT_HIGHPROC; p++)
            (*result)[v].info[p] = atomic_load(&sv->stat_calls[v][p]);
        (*result)[v].setinfo = atomic_load(&sv->stat_set[v]);
        (*result)[v].unsetinfo = atomic_load(&sv->stat_unset[v]);
    }
    int rc = PARLEY_OK;
    pthread_mutex_lock(&sv->stat_lock);
    for (int v = 0; v < MM_RPCBVERS_STAT && rc == PARLEY_OK; v++) {
        mm_rpcbs_addrlist **tail = &(*result)[v].addrinfo;
        /* the newest key first, as rpcbind lists them */
        for (size_t k = sv->naddrstats[v]; k > 0; k--) {
            const addrstat *a = &sv->addrstats[v][k - 1];
            mm_rpcbs_addrlist *p = parley_arena_alloc(parley_call_arena(call), sizeof *p);
            char *netid = arena_strdup(call, a->netid);
            if (!p || !netid) {
                rc = PARLEY_ERR_SYSTEM_ERR;
                break;
            }
            p->prog = a->prog;
            p->vers = a->vers;
            p->success = a->success;
            p->failure = a->failure;
            p->netid = netid;
            p->next = NULL;
            *tail = p;
            tail = &p->next;
        }
    }
    pthread_mutex_unlock(&sv->stat_lock);
    return bounded(sv, call, rc, mm_rpcb_stat_byvers_size(result));
}

/* rpcb_null counts a NULL call of version vers, as rpcbind does, and
 * answers it as the generated skeleton would: arguments are garbage. */
static int rpcb_null(parley_call *call, unsigned vers, parley_dec *args)
{
    count(parley_call_ctx(call), vers, 0);
    return parley_dec_remaining(args) ? PARLEY_ERR_GARBAGE_ARGS : PARLEY_OK;
}

static int rpcb_null_2(parley_call *call, parley_dec *args)
{
    return rpcb_null(call, 2, args);
}

static int rpcb_null_3(parley_call *call, parley_dec *args)
{
    return rpcb_null(call, 3, args);
}

static int rpcb_null_4(parley_call *call, parley_dec *args)
{
    return rpcb_null(call, 4, args);
}

int mm_rpcb_counting(const parley_program_def *gen, parley_proc_def *procs, size_t cap,
                     parley_program_def *out)
{
    parley_handler *null = gen->vers == MM_PMAPVERS    ? rpcb_null_2
                           : gen->vers == MM_RPCBVERS  ? rpcb_null_3
                           : gen->vers == MM_RPCBVERS4 ? rpcb_null_4
                                                       : NULL;
    if (gen->prog != MM_RPCBPROG || !null || gen->nprocs + 1 > cap)
        return PARLEY_ERR_INVALID;
    size_t n = 0;
    procs[n++] = (parley_proc_def){.proc = 0, .handler = null, .semantics = PARLEY_IDEMPOTENT};
    for (size_t i = 0; i < gen->nprocs; i++)
        if (gen->procs[i].proc != 0)
            procs[n++] = gen->procs[i];
    *out = (parley_program_def){gen->prog, gen->vers, procs, n};
    return PARLEY_OK;
}

/* ---- the matchmaker's own entries ---- */

static int is_self(const mm_reg_entry *e)
{
    return e->prog == MM_RPCBPROG || e->prog == MATCHMAKER_PROG;
}

int mm_self_register(mm_service *sv, const char *netid, const char *uaddr, unsigned which)
{
    static const uint32_t vers[] = {MM_RPCBVERS4, MM_RPCBVERS, MM_PMAPVERS};
    mm_reg_entry e;
    memset(&e, 0, sizeof e);
    if (copy_str(e.netid, sizeof e.netid, netid) != 0 || copy_str(e.uaddr, sizeof e.uaddr, uaddr))
        return MM_INVALID;
    e.owner = 0;
    e.pid = getpid();
    e.prog = MM_RPCBPROG;
    for (size_t i = 0; (which & MM_SELF_RPCBIND) && i < sizeof vers / sizeof vers[0]; i++) {
        /* the port mapper (v2) knows only TCP and UDP over IPv4 */
        if (vers[i] == MM_PMAPVERS && strcmp(netid, "tcp") != 0 && strcmp(netid, "udp") != 0)
            continue;
        e.vers = vers[i];
        mm_status st = mm_registry_set(sv->cfg.reg, &e, MM_REG_REPLACE);
        if (st != MM_OK)
            return st;
    }
    if (!(which & MM_SELF_MATCHMAKER))
        return MM_OK;
    snprintf(e.name, sizeof e.name, "%s", MATCHMAKER_PROG_SERVICE);
    e.prog = MATCHMAKER_PROG;
    e.vers = MATCHMAKER_VERS;
    return mm_registry_set(sv->cfg.reg, &e, MM_REG_REPLACE);
}

static int pred_self(const mm_reg_entry *e, void *ctx)
{
    (void)ctx;
    return is_self(e);
}

void mm_self_remove(mm_service *sv)
{
    mm_registry_remove_if(sv->cfg.reg, pred_self, NULL);
}

/* ---- liveness and saving ---- */

/* The ids found dead by a scan, sorted. */
typedef struct idset {
    uint64_t *ids;
    size_t n, cap;
} idset;

static int idset_add(idset *s, uint64_t id)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        uint64_t *p = realloc(s->ids, cap * sizeof *p);
        if (!p)
            return -1;
        s->ids = p;
        s->cap = cap;
    }
    s->ids[s->n++] = id;
    return 0;
}

static int idset_has(const idset *s, uint64_t id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->ids[i] == id)
            return 1;
    return 0;
}

static int pred_in(const mm_reg_entry *e, void *ctx)
{
    return idset_has(ctx, e->id);
}

/* alive says whether a socket still serves e: 1 yes, 0 no, -1 unknown. */
static int alive(const mm_service *sv, const mm_reg_entry *e)
{
    const parley_netid *ni = parley_netid_find(e->netid);
    struct sockaddr_storage ss;
    socklen_t len;
    if (!ni || parley_uaddr_parse(e->uaddr, ni->family, &ss, &len) != PARLEY_OK)
        return 0;
    /* root registers for others (and the kernel's services) */
    uid_t uid = e->owner == 0 || e->owner == MM_UID_UNKNOWN ? MM_PROCNET_ANY_OWNER : e->owner;
    int found = 0;
    if (mm_procnet_listening(sv->cfg.proc_root, (struct sockaddr *)&ss, len, ni->socktype, uid,
                             &found) != 0)
        return -1;
    return found;
}

/* scan checks every entry; prev holds the ids found dead by the previous
 * scan and gets those of this one. */
static void scan(mm_service *sv, idset *prev)
{
    mm_reg_entry *all = NULL;
    size_t n = 0;
    if (mm_registry_snapshot(sv->cfg.reg, &all, &n) != 0)
        return;
    idset now = {0}, gone = {0};
    for (size_t i = 0; i < n; i++) {
        if (is_self(&all[i]) || alive(sv, &all[i]) != 0)
            continue;
        if (idset_has(prev, all[i].id)) {
            if (idset_add(&gone, all[i].id) == 0)
                LOG(sv, LOG_INFO, "removing %s%s%u/%u on %s at %s: nobody serves it", all[i].name,
                    all[i].name[0] ? " " : "", all[i].prog, all[i].vers, all[i].netid,
                    all[i].uaddr);
        } else {
            idset_add(&now, all[i].id);
        }
    }
    free(all);
    if (gone.n && mm_registry_remove_if(sv->cfg.reg, pred_in, &gone) > 0)
        mm_service_changed(sv);
    free(gone.ids);
    free(prev->ids);
    *prev = now;
}

static int save(mm_service *sv)
{
    if (!sv->cfg.state_path)
        return 0;
    int rc = mm_registry_save(sv->cfg.reg, sv->cfg.state_path);
    if (rc != 0)
        LOG(sv, LOG_WARNING, "cannot save %s: %s", sv->cfg.state_path, strerror(rc));
    return rc;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *scan_main(void *arg)
{
    mm_service *sv = arg;
    idset prev = {0};
    uint64_t next_scan = now_ms() + sv->cfg.check_ms;
    uint64_t save_at = 0;
    pthread_mutex_lock(&sv->lock);
    while (!sv->stopping) {
        uint64_t t = now_ms();
        if (sv->dirty && !save_at)
            save_at = t + MM_SAVE_DEBOUNCE_MS;
        if (save_at && t >= save_at) {
            sv->dirty = 0;
            save_at = 0;
            pthread_mutex_unlock(&sv->lock);
            save(sv);
            pthread_mutex_lock(&sv->lock);
            continue;
        }
        if (sv->cfg.check_ms && t >= next_scan) {
            pthread_mutex_unlock(&sv->lock);
            scan(sv, &prev);
            pthread_mutex_lock(&sv->lock);
            next_scan = now_ms() + sv->cfg.check_ms;
            continue;
        }
        uint64_t until = sv->cfg.check_ms ? next_scan : t + 60000u;
        if (save_at && save_at < until)
            until = save_at;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t wait = until > t ? until - t : 0;
        ts.tv_sec += (time_t)(wait / 1000u);
        ts.tv_nsec += (long)(wait % 1000u) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&sv->wake, &sv->lock, &ts);
    }
    pthread_mutex_unlock(&sv->lock);
    free(prev.ids);
    return NULL;
}

int mm_service_create(mm_service **out, const mm_service_cfg *cfg)
{
    mm_service *sv = calloc(1, sizeof *sv);
    if (!sv)
        return ENOMEM;
    sv->cfg = *cfg;
    pthread_condattr_t ca;
    int rc = pthread_condattr_init(&ca);
    if (rc != 0)
        goto fail_sv;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&sv->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        goto fail_sv;
    if ((rc = pthread_mutex_init(&sv->lock, NULL)) != 0)
        goto fail_cond;
    if ((rc = pthread_mutex_init(&sv->stat_lock, NULL)) != 0)
        goto fail_lock;
    *out = sv;
    return 0;

fail_lock:
    pthread_mutex_destroy(&sv->lock);
fail_cond:
    pthread_cond_destroy(&sv->wake);
fail_sv:
    free(sv);
    return rc;
}

void mm_service_destroy(mm_service *sv)
{
    if (!sv)
        return;
    pthread_mutex_destroy(&sv->stat_lock);
    pthread_mutex_destroy(&sv->lock);
    pthread_cond_destroy(&sv->wake);
    free(sv);
}

int mm_service_start(mm_service *sv)
{
    sv->stopping = 0;
    int rc = pthread_create(&sv->scanner, NULL, scan_main, sv);
    if (rc != 0)
        return rc;
    sv->running = 1;
    return 0;
}

void mm_service_changed(mm_service *sv)
{
    pthread_mutex_lock(&sv->lock);
    sv->dirty = 1;
    pthread_cond_signal(&sv->wake);
    pthread_mutex_unlock(&sv->lock);
    if (sv->cfg.cluster)
        mm_cluster_changed(sv->cfg.cluster);
}

int mm_service_stop(mm_service *sv, int force_save)
{
    if (sv->running) {
        pthread_mutex_lock(&sv->lock);
        sv->stopping = 1;
        pthread_cond_signal(&sv->wake);
        pthread_mutex_unlock(&sv->lock);
        pthread_join(sv->scanner, NULL);
        sv->running = 0;
    }
    if (force_save || sv->dirty) {
        sv->dirty = 0;
        return save(sv);
    }
    return 0;
}
