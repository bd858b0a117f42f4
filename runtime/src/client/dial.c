/*
 * dial.c: where a client handle connects to, and the connecting.
 *
 * Part of the client (runtime/src/client/), beneath client.c, which calls
 * it at create, to choose the transport, and with the send role held, to
 * connect. An address is resolved at each connection, so a reconnection
 * follows a host name that moved; a service name is looked up through the
 * names layer (names/names.h), the only part of the client that calls it:
 * once at create and again at each connection (the server may have
 * restarted at another port), its instances on other hosts of a cluster
 * taken in turn. parley_client_create_host, the counterpart
 * of libtirpc's clnt_create, asks a host's portmapper for a program by
 * number through it too, once, and makes a handle for the address found.
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "client/internal.h"
#include "names/names.h"
#include "net/addr.h"
#include "net/clock.h"
#include "net/sock.h"

/* looks_like_host tells whether a service name is rather a host: an IPv4
 * literal or "localhost", which a matchmaker is unlikely to have as a name
 * and a migrating clnt_create(host, ...) is likely to pass. */
static int looks_like_host(const char *name)
{
    if (strcmp(name, "localhost") == 0)
        return 1;
    unsigned dots = 0, digits = 0;
    for (const char *p = name; *p; p++) {
        if (*p == '.') {
            if (digits == 0)
                return 0;
            dots++;
            digits = 0;
        } else if (*p >= '0' && *p <= '9' && digits < 3) {
            digits++;
        } else {
            return 0;
        }
    }
    return dots == 3 && digits > 0;
}

/* pl_client_kind chooses at create the handle's transport (c->ops): UDP's
 * or a stream's, by the address's scheme, or for a service name by what
 * the matchmaker offers (asked within the handle's default timeout, up to
 * PL_MM_TIMEOUT_MS; the addresses it gives are asked for again at each
 * connection). Errors: the look-up's, or PARLEY_ERR_HOST_NOT_NAME in its
 * stead when the look-up failed for a name that looks like a host (an IPv4
 * literal, "localhost"): its text says what to write instead. c->ops is
 * set only on success. */
int pl_client_kind(parley_client *c)
{
    int dgram = c->addr.transport == PL_TR_UDP;
    if (c->addr.transport == PL_TR_NAME) {
        pl_sockaddr *list;
        size_t n;
        unsigned ms = c->timeout_ms < PL_MM_TIMEOUT_MS ? c->timeout_ms : PL_MM_TIMEOUT_MS;
        int rc = pl_mm_lookup(&c->addr, c->prog, c->vers, -1, ms, &list, &n, &dgram);
        if (rc != PARLEY_OK)
            return looks_like_host(c->addr.name) ? PARLEY_ERR_HOST_NOT_NAME : rc;
        pl_addr_resolved_free(list);
    }
    c->ops = dgram ? &pl_dgram_ops : &pl_stream_ops;
    return PARLEY_OK;
}

/* same_address tells whether a and b are the same socket address (the
 * family's address and port, or path), of the same socket type. */
static int same_address(const pl_sockaddr *a, const pl_sockaddr *b)
{
    if (a->ss.ss_family != b->ss.ss_family || a->socktype != b->socktype)
        return 0;
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)&a->ss,
                                 *y = (const struct sockaddr_in *)&b->ss;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->ss,
                                  *y = (const struct sockaddr_in6 *)&b->ss;
        return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
    return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/* pl_client_same_instance tells whether the addresses a and b, where two
 * connections went, reach the same instance of the service as far as the
 * client can tell: both this host's (or not a name's), or both the same
 * instance of the cluster, known by its address. */
int pl_client_same_instance(const pl_sockaddr *a, const pl_sockaddr *b)
{
    return a->remote == b->remote && (!a->remote || same_address(a, b));
}

/* try_last moves the address avoid, where the last broken connection went,
 * to the end of its group in list (n addresses: this host's, then the
 * cluster's): the next connection goes to another instance first, and to
 * that one only when no other answers. */
static void try_last(pl_sockaddr *list, size_t n, const pl_sockaddr *avoid)
{
    for (size_t i = 0; i < n; i++) {
        if (!same_address(&list[i], avoid))
            continue;
        size_t end = i + 1;
        while (end < n && list[end].remote == list[i].remote)
            end++;
        pl_sockaddr t = list[i];
        memmove(&list[i], &list[i + 1], (end - i - 1) * sizeof *list);
        list[end - 1] = t;
        return;
    }
}

/* pl_client_dial resolves the handle's address and connects to the
 * addresses it gives, in order, until one answers (mutex not held; the
 * caller has the send role). Resolution happens at each connection, so a
 * reconnection follows a name that moved, and a service name is asked of
 * the matchmaker again (the server may have restarted at another port); a
 * host name lookup is not bounded by the deadline (getaddrinfo cannot be),
 * IP literals and Unix paths need none. A service name's instances are
 * tried this host's first, then the cluster's from the next in turn
 * (pl_mm_spread); avoid (NULL: none), where the last broken connection
 * went, is tried last of its group. An address that refuses or cannot be
 * reached is passed over for the next; the deadline passing ends the
 * dial. Returns the last address's error when none connects; *out_fd, the
 * connected socket, and *at, its address, on success. */
int pl_client_dial(parley_client *c, int64_t deadline, const pl_sockaddr *avoid, int *out_fd,
                   pl_sockaddr *at)
{
    pl_sockaddr *list;
    size_t n;
    int dgram;
    int rc;
    if (c->addr.transport == PL_TR_NAME) {
        /* the look-up's calls share the call's deadline */
        int64_t left_ms = (deadline - pl_now_ns()) / 1000000;
        if (left_ms <= 0)
            return PARLEY_ERR_TIMEDOUT;
        unsigned ms = left_ms < PL_MM_TIMEOUT_MS ? (unsigned)left_ms : PL_MM_TIMEOUT_MS;
        rc = pl_mm_lookup(&c->addr, c->prog, c->vers, c->ops->socktype == SOCK_DGRAM, ms, &list, &n,
                          &dgram);
        if (rc == PARLEY_OK)
            pl_mm_spread(list, n);
    } else {
        rc = pl_addr_resolve(&c->addr, &list, &n);
    }
    if (rc != PARLEY_OK) {
        PL_CLIENT_LOG(c, PARLEY_LOG_INFO, PARLEY_LOG_CONNECT_FAILED, rc, "cannot find %s: %s",
                      c->addr_text, parley_strerror(rc));
        return rc;
    }
    if (avoid)
        try_last(list, n, avoid);
    for (size_t i = 0; i < n; i++) {
        int e = 0;
        rc = pl_sock_connect(out_fd, (const struct sockaddr *)&list[i].ss, list[i].len,
                             list[i].socktype, deadline, &e);
        if (rc == PARLEY_OK) {
            *at = list[i];
            if (c->dialed++)
                PL_CLIENT_LOG(c, PARLEY_LOG_INFO, PARLEY_LOG_RECONNECT, 0,
                              "connected again (connection %d)", c->dialed);
            break;
        }
        PL_LOG(PARLEY_LOG_INFO, PARLEY_LOG_CONNECT_FAILED,
               (&(pl_log_src){.peer = (const struct sockaddr *)&list[i].ss,
                              .peer_len = list[i].len,
                              .transport = list[i].socktype == SOCK_DGRAM    ? PL_TR_UDP
                                           : list[i].ss.ss_family == AF_UNIX ? PL_TR_UNIX
                                                                             : PL_TR_TCP,
                              .err = rc}),
               "cannot connect for %s: %s", c->addr_text, parley_strerror(rc));
        pl_client_set_errno(c, e);
        if (rc == PARLEY_ERR_TIMEDOUT || pl_now_ns() >= deadline)
            break;
    }
    pl_addr_resolved_free(list);
    return rc;
}

/* parley_client_create_host: see parley/client.h. The portmapper is asked
 * within the handle's default timeout, up to PL_MM_TIMEOUT_MS; the address
 * it answers is given to parley_client_create as "tcp://IP:PORT" (or udp,
 * an IPv6 literal in brackets). */
int parley_client_create_host(parley_client **out, const char *host, uint32_t prog, uint32_t vers,
                              const char *nettype, const parley_client_opts *opts)
{
    if (out == NULL || host == NULL)
        return PARLEY_ERR_INVALID;
    const char *netid = nettype ? nettype : "tcp";
    if (strcmp(netid, "tcp") != 0 && strcmp(netid, "udp") != 0 && strcmp(netid, "tcp6") != 0 &&
        strcmp(netid, "udp6") != 0)
        return PARLEY_ERR_INVALID;
    /* "[::1]" as well as "::1" */
    char h[PL_ADDR_HOST_MAX + 1];
    size_t hlen = strlen(host);
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        host++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= sizeof h || memchr(host, '/', hlen) || memchr(host, '@', hlen))
        return PARLEY_ERR_ADDRESS;
    memcpy(h, host, hlen);
    h[hlen] = '\0';
    unsigned ms = opts && opts->timeout_ms ? opts->timeout_ms : PL_MM_TIMEOUT_MS;
    if (ms > PL_MM_TIMEOUT_MS)
        ms = PL_MM_TIMEOUT_MS;
    pl_sockaddr sa;
    int rc = pl_rpcb_getaddr(h, prog, vers, netid, ms, &sa);
    if (rc != PARLEY_OK)
        return rc;
    char ip[64], port[8], addr[96];
    if (getnameinfo((const struct sockaddr *)&sa.ss, sa.len, ip, sizeof ip, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return PARLEY_ERR_PROTOCOL;
    int v6 = sa.family == AF_INET6;
    snprintf(addr, sizeof addr, "%s://%s%s%s:%s", sa.socktype == SOCK_DGRAM ? "udp" : "tcp",
             v6 ? "[" : "", ip, v6 ? "]" : "", port);
    return parley_client_create(out, addr, prog, vers, opts);
}
