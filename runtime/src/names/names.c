/*
 * runtime/src/names/names.c: service names through the matchmaker (see names.h).
 *
 * Every function here opens its own client handle to the matchmaker, makes
 * one call with the stubs parleygen wrote from matchmaker.idl, and closes
 * it: look-ups happen when a client is made and when it reconnects,
 * registrations when a server starts and stops, so a handle kept open would
 * only hold a descriptor for nothing.
 */
#include "names/names.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "matchmaker.h"
#include "parley/arena.h"
#include "parley/client.h"
#include "parley/error.h"
#include "parley/uaddr.h"

/* split_env reads PARLEY_MATCHMAKER's "HOST", "HOST:PORT", "[V6]" or
 * "[V6]:PORT" into host (cap bytes) and *port (0 when absent). */
static int split_env(const char *env, char *host, size_t cap, uint16_t *port)
{
    const char *h = env, *rest;
    size_t hlen;
    if (*env == '[') {
        const char *close = strchr(env, ']');
        if (close == NULL)
            return PARLEY_ERR_ADDRESS;
        h = env + 1;
        hlen = (size_t)(close - h);
        rest = close + 1;
    } else {
        rest = strchr(env, ':');
        if (rest && strchr(rest + 1, ':'))
            return PARLEY_ERR_ADDRESS; /* an IPv6 literal without brackets */
        hlen = rest ? (size_t)(rest - env) : strlen(env);
        if (!rest)
            rest = env + hlen;
    }
    *port = 0;
    if (*rest == ':') {
        char *end;
        unsigned long v = strtoul(rest + 1, &end, 10);
        if (rest[1] < '0' || rest[1] > '9' || *end != '\0' || v == 0 || v > 65535)
            return PARLEY_ERR_ADDRESS;
        *port = (uint16_t)v;
    } else if (*rest != '\0') {
        return PARLEY_ERR_ADDRESS;
    }
    if (hlen == 0 || hlen >= cap)
        return PARLEY_ERR_ADDRESS;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    return PARLEY_OK;
}

/* pl_mm_address writes into out the address of the matchmaker to ask:
 * PARLEY_MATCHMAKER's (see names.h), with host and port, when given (host
 * not NULL or empty, port not 0), in place of its own. A full address in
 * PARLEY_MATCHMAKER is used as it is unless host is given. Errors:
 * PARLEY_ERR_ADDRESS (PARLEY_MATCHMAKER cannot be read), _BUFFER_FULL. */
int pl_mm_address(const char *host, uint16_t port, char *out, size_t cap)
{
    const char *env = getenv("PARLEY_MATCHMAKER");
    char h[PL_ADDR_HOST_MAX + 1] = "localhost";
    uint16_t p = PL_MM_PORT;
    int n;
    if (env && *env) {
        if (strstr(env, "://") || strncasecmp(env, "unix:", 5) == 0) {
            pl_addr a;
            if (pl_addr_parse(env, &a) != PARLEY_OK || a.transport == PL_TR_NAME)
                return PARLEY_ERR_ADDRESS;
            if (!host || !*host) {
                n = snprintf(out, cap, "%s", env);
                return n < 0 || (size_t)n >= cap ? PARLEY_ERR_BUFFER_FULL : PARLEY_OK;
            }
            if (a.transport != PL_TR_UNIX)
                p = a.port;
        } else {
            uint16_t ep;
            int rc = split_env(env, h, sizeof h, &ep);
            if (rc != PARLEY_OK)
                return rc;
            if (ep)
                p = ep;
        }
    }
    if (host && *host) {
        if (strlen(host) >= sizeof h)
            return PARLEY_ERR_ADDRESS;
        strcpy(h, host);
    }
    if (port)
        p = port;
    const char *open = strchr(h, ':') ? "[" : "", *close = *open ? "]" : "";
    n = snprintf(out, cap, "tcp://%s%s%s:%u", open, h, close, (unsigned)p);
    return n < 0 || (size_t)n >= cap ? PARLEY_ERR_BUFFER_FULL : PARLEY_OK;
}

/* status_error is the parley_err of a matchmaker's answer. */
static int status_error(mm_status st)
{
    switch (st) {
    case MM_OK:
        return PARLEY_OK;
    case MM_DENIED:
        return PARLEY_ERR_NOT_LOCAL;
    case MM_NOT_OWNER:
    case MM_EXISTS:
        return PARLEY_ERR_NOT_OWNER;
    case MM_NOENT:
        return PARLEY_ERR_NOT_REGISTERED;
    case MM_FULL:
        return PARLEY_ERR_TABLE_FULL;
    case MM_INVALID:
        return PARLEY_ERR_INVALID;
    }
    return PARLEY_ERR_PROTOCOL;
}

/* is_local_host tells whether host names this host, so that the
 * service's Unix sockets are reachable and its wildcard addresses are
 * loopback. */
static int is_local_host(const char *host)
{
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        return 1;
    return strncmp(host, "127.", 4) == 0;
}

/* connect_mm makes a handle to the matchmaker at host:port (see
 * pl_mm_address) whose calls take at most timeout_ms, and says where it is:
 * *mm (its address, parsed) and *local (on this host). */
static int connect_mm(const char *host, uint16_t port, unsigned timeout_ms, parley_client **out,
                      pl_addr *mm, int *local)
{
    char where[PL_ADDR_HOST_MAX + 64];
    int rc = pl_mm_address(host, port, where, sizeof where);
    if (rc == PARLEY_OK)
        rc = pl_addr_parse(where, mm);
    if (rc != PARLEY_OK)
        return rc;
    *local = mm->transport == PL_TR_UNIX || is_local_host(mm->host);
    parley_client_opts o = {.timeout_ms = timeout_ms ? timeout_ms : PL_MM_TIMEOUT_MS};
    return parley_client_create(out, where, MATCHMAKER_PROG, MATCHMAKER_VERS, &o);
}

/* rank orders the transports a client tries: a Unix socket first when the
 * server is on this host, then TCP, TCP over IPv6, UDP, UDP over IPv6; -1
 * for one it cannot use. */
static int rank(const parley_netid *t, int local)
{
    if (t->family == AF_UNIX)
        return local ? 0 : -1;
    int v6 = t->family == AF_INET6;
    return t->socktype == SOCK_STREAM ? 1 + v6 : 3 + v6;
}

/* unwild replaces a wildcard address (0.0.0.0, ::; a server listening on
 * every interface) by one of the host the matchmaker is on: loopback for
 * the local one, else the first address host resolves to in the family. */
static int unwild(struct sockaddr_storage *ss, socklen_t *len, const char *host, int local)
{
    uint16_t port;
    if (ss->ss_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        if (sin->sin_addr.s_addr != htonl(INADDR_ANY))
            return 1;
        port = sin->sin_port;
    } else if (ss->ss_family == AF_INET6) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        if (!IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
            return 1;
        port = sin6->sin6_port;
    } else {
        return 1;
    }
    if (local) {
        if (ss->ss_family == AF_INET)
            ((struct sockaddr_in *)ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        else
            ((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_loopback;
        return 1;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = ss->ss_family;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL)
        return 0;
    int ok = res->ai_addrlen <= sizeof *ss;
    if (ok) {
        memcpy(ss, res->ai_addr, res->ai_addrlen);
        *len = res->ai_addrlen;
        if (ss->ss_family == AF_INET)
            ((struct sockaddr_in *)ss)->sin_port = port;
        else
            ((struct sockaddr_in6 *)ss)->sin6_port = port;
    }
    freeaddrinfo(res);
    return ok;
}

/* pl_mm_lookup asks the matchmaker (a's host and port, or the default) for
 * the addresses of the service a->name, program prog, version vers, and
 * returns those of one kind of transport, in the order to try them: a new
 * array of *n in *out (released with pl_addr_resolved_free), and *dgram
 * (nonzero: UDP). want_dgram chooses the kind (0 streams, 1 datagrams, -1
 * the best the service offers: a Unix socket when the matchmaker is on this
 * host, TCP, then UDP). Each call to the matchmaker takes at most
 * timeout_ms (0: PL_MM_TIMEOUT_MS); there are one or two. Errors:
 * PARLEY_ERR_NOT_REGISTERED (no such name, or none on a usable transport),
 * _PROG_MISMATCH (the name is registered, but not version vers),
 * _PROG_UNAVAIL (it is another program), the errors of reaching the
 * matchmaker (_REFUSED, _TIMEDOUT, ...), _NOMEM. */
int pl_mm_lookup(const pl_addr *a, uint32_t prog, uint32_t vers, int want_dgram,
                 unsigned timeout_ms, pl_sockaddr **out, size_t *n, int *dgram)
{
    parley_client *c = NULL;
    pl_addr mm;
    int local;
    int rc = connect_mm(a->host, a->port, timeout_ms, &c, &mm, &local);
    if (rc != PARLEY_OK)
        return rc;
    parley_arena *arena = parley_arena_create(0);
    if (arena == NULL) {
        parley_client_destroy(c);
        return PARLEY_ERR_NOMEM;
    }
    /* the generated structures hold char *, not const: copies to point at */
    char name[PL_ADDR_NAME_MAX + 1], any_netid[1] = "";
    strcpy(name, a->name);
    mm_query q = {.name = name, .vers = vers, .netid = any_netid};
    mm_lookup_res res;
    memset(&res, 0, sizeof res);
    rc = matchmaker_lookup_1_arena(c, &q, &res, arena);
    if (rc == PARLEY_OK && res.status == MM_NOENT) {
        /* is it there in another version? */
        mm_lookup_res any;
        memset(&any, 0, sizeof any);
        q.vers = 0;
        if (matchmaker_lookup_1_arena(c, &q, &any, arena) == PARLEY_OK && any.status == MM_OK)
            rc = PARLEY_ERR_PROG_MISMATCH;
    }
    if (rc == PARLEY_OK)
        rc = status_error(res.status);
    parley_client_destroy(c);
    pl_sockaddr *list = NULL;
    size_t count = 0, best = 0;
    int other_prog = 0, kind = want_dgram;
    if (rc == PARLEY_OK) {
        const mm_entry_list *l = &res.mm_lookup_res_u.entries;
        list = calloc(l->mm_entry_list_len ? l->mm_entry_list_len : 1, sizeof *list);
        if (list == NULL)
            rc = PARLEY_ERR_NOMEM;
        /* the kind: the best-ranked transport's, unless asked for */
        for (u_int i = 0; rc == PARLEY_OK && kind < 0 && i < l->mm_entry_list_len; i++) {
            const parley_netid *t = parley_netid_find(l->mm_entry_list_val[i].netid);
            if (t && l->mm_entry_list_val[i].prog == prog && rank(t, local) >= 0 &&
                (best == 0 || (size_t)rank(t, local) + 1 < best)) {
                best = (size_t)rank(t, local) + 1;
                kind = t->socktype == SOCK_DGRAM;
            }
        }
        /* the entries of that kind, best rank first */
        for (int r = 0; rc == PARLEY_OK && r <= 4; r++) {
            for (u_int i = 0; i < l->mm_entry_list_len; i++) {
                const mm_entry *e = &l->mm_entry_list_val[i];
                const parley_netid *t = parley_netid_find(e->netid);
                if (e->prog != prog) {
                    other_prog = 1;
                    continue;
                }
                if (!t || rank(t, local) != r || (t->socktype == SOCK_DGRAM) != kind)
                    continue;
                pl_sockaddr *s = &list[count];
                if (parley_uaddr_parse(e->uaddr, t->family, &s->ss, &s->len) != PARLEY_OK ||
                    !unwild(&s->ss, &s->len, mm.host, local))
                    continue;
                s->family = t->family;
                s->socktype = t->socktype;
                s->protocol = t->protocol;
                count++;
            }
        }
        if (rc == PARLEY_OK && count == 0)
            rc = other_prog ? PARLEY_ERR_PROG_UNAVAIL : PARLEY_ERR_NOT_REGISTERED;
    }
    parley_arena_destroy(arena);
    if (rc != PARLEY_OK) {
        free(list);
        return rc;
    }
    *out = list;
    *n = count;
    *dgram = kind;
    return PARLEY_OK;
}

/* pl_mm_register registers the socket address sa (len bytes, of socktype)
 * with the default matchmaker as name, program prog, version vers. A
 * wildcard address is registered as it is (the matchmaker answers it with
 * the address it was reached at). Errors: PARLEY_ERR_ADDRESS (sa has no
 * universal address), the matchmaker's refusals (PARLEY_ERR_NOT_LOCAL,
 * _NOT_OWNER, _TABLE_FULL, _INVALID), and those of reaching it. */
int pl_mm_register(const char *name, uint32_t prog, uint32_t vers, const struct sockaddr *sa,
                   socklen_t len, int socktype)
{
    const parley_netid *t = parley_netid_for(sa->sa_family, socktype);
    char uaddr[PARLEY_UADDR_LOCAL_MAX + 1];
    if (t == NULL || parley_uaddr_format(sa, len, uaddr, sizeof uaddr, NULL) != PARLEY_OK)
        return PARLEY_ERR_ADDRESS;
    parley_client *c = NULL;
    pl_addr mm;
    int local;
    int rc = connect_mm(NULL, 0, 0, &c, &mm, &local);
    if (rc != PARLEY_OK)
        return rc;
    char n[PL_ADDR_NAME_MAX + 1], netid[16];
    if (strlen(name) >= sizeof n || strlen(t->netid) >= sizeof netid) {
        parley_client_destroy(c);
        return PARLEY_ERR_INVALID;
    }
    strcpy(n, name);
    strcpy(netid, t->netid);
    mm_registration r = {.name = n, .prog = prog, .vers = vers, .netid = netid, .uaddr = uaddr};
    mm_status st = MM_OK;
    rc = matchmaker_register_1(c, &r, &st);
    parley_client_destroy(c);
    return rc != PARLEY_OK ? rc : status_error(st);
}

/* pl_mm_unregister removes name's registrations of version vers (0: all)
 * on netid ("": all) from the default matchmaker. Nothing to remove is
 * success. Errors: as pl_mm_register's. */
int pl_mm_unregister(const char *name, uint32_t vers, const char *netid)
{
    parley_client *c = NULL;
    pl_addr mm;
    int local;
    int rc = connect_mm(NULL, 0, 0, &c, &mm, &local);
    if (rc != PARLEY_OK)
        return rc;
    char n[PL_ADDR_NAME_MAX + 1], id[16];
    if (strlen(name) >= sizeof n || strlen(netid) >= sizeof id) {
        parley_client_destroy(c);
        return PARLEY_ERR_INVALID;
    }
    strcpy(n, name);
    strcpy(id, netid);
    mm_key k = {.name = n, .vers = vers, .netid = id};
    mm_status st = MM_OK;
    rc = matchmaker_unregister_1(c, &k, &st);
    parley_client_destroy(c);
    if (rc == PARLEY_OK && st == MM_NOENT)
        return PARLEY_OK;
    return rc != PARLEY_OK ? rc : status_error(st);
}
