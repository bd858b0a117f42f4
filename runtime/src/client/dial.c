/*
 * dial.c: where a client handle connects to, and the connecting.
 *
 * Part of the client (runtime/src/client/), beneath client.c, which calls
 * it at create, to choose the transport, and with the send role held, to
 * connect. An address is resolved at each connection, so a reconnection
 * follows a host name that moved; a service name is looked up through the
 * names layer (names/names.h), the only part of the client that calls it:
 * once at create and again at each connection (the server may have
 * restarted at another port).
 */
#include <sys/socket.h>

#include "client/internal.h"
#include "names/names.h"
#include "net/addr.h"
#include "net/clock.h"
#include "net/sock.h"

/* pl_client_kind chooses at create the handle's transport (c->ops): UDP's
 * or a stream's, by the address's scheme, or for a service name by what
 * the matchmaker offers (asked within the handle's default timeout, up to
 * PL_MM_TIMEOUT_MS; the addresses it gives are asked for again at each
 * connection). Errors: the look-up's; c->ops is set only on success. */
int pl_client_kind(parley_client *c)
{
    int dgram = c->addr.transport == PL_TR_UDP;
    if (c->addr.transport == PL_TR_NAME) {
        pl_sockaddr *list;
        size_t n;
        unsigned ms = c->timeout_ms < PL_MM_TIMEOUT_MS ? c->timeout_ms : PL_MM_TIMEOUT_MS;
        int rc = pl_mm_lookup(&c->addr, c->prog, c->vers, -1, ms, &list, &n, &dgram);
        if (rc != PARLEY_OK)
            return rc;
        pl_addr_resolved_free(list);
    }
    c->ops = dgram ? &pl_dgram_ops : &pl_stream_ops;
    return PARLEY_OK;
}

/* pl_client_dial resolves the handle's address and connects to the
 * addresses it gives, in order, until one answers (mutex not held; the
 * caller has the send role). Resolution happens at each connection, so a
 * reconnection follows a name that moved, and a service name is asked of
 * the matchmaker again (the server may have restarted at another port); a
 * host name lookup is not bounded by the deadline (getaddrinfo cannot be),
 * IP literals and Unix paths need none. Returns the last address's error
 * when none connects; *out_fd, the connected socket, on success. */
int pl_client_dial(parley_client *c, int64_t deadline, int *out_fd)
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
    } else {
        rc = pl_addr_resolve(&c->addr, &list, &n);
    }
    if (rc != PARLEY_OK) {
        PL_CLIENT_LOG(c, PARLEY_LOG_INFO, PARLEY_LOG_CONNECT_FAILED, rc, "cannot find %s: %s",
                      c->addr_text, parley_strerror(rc));
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        int e = 0;
        rc = pl_sock_connect(out_fd, (const struct sockaddr *)&list[i].ss, list[i].len,
                             list[i].socktype, deadline, &e);
        if (rc == PARLEY_OK) {
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
        if (rc == PARLEY_ERR_TIMEDOUT)
            break;
    }
    pl_addr_resolved_free(list);
    return rc;
}
