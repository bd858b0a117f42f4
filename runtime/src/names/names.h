/*
 * names.h: the runtime's side of the matchmaker (matchmaker/matchmaker.idl):
 * looking a service name up for a client, and registering a server's
 * addresses under a name; and of a host's portmapper (rpcbind, or a
 * matchmaker, which speaks its protocol): looking a program up by number
 * (pl_rpcb_getaddr, for parley_client_create_host).
 *
 * Internal to libparley. The matchmaker is found through the environment
 * variable PARLEY_MATCHMAKER: "HOST:PORT", "[V6]:PORT", "HOST" (port 111),
 * or a full address ("tcp://127.0.0.1:111", "unix:///run/parley/matchmaker.sock");
 * unset or empty, "localhost:111". A client address "NAME@HOST[:PORT]"
 * asks the matchmaker on HOST instead, at PORT or at PARLEY_MATCHMAKER's
 * port.
 *
 * A name may have instances on several hosts of a cluster: the matchmaker
 * answers this host's registrations first, then those it learnt from the
 * cluster (owner "cluster"). A look-up keeps that order (marking the
 * cluster's addresses remote), and pl_mm_spread turns the cluster's part
 * at each connection, so that a host's clients spread their connections
 * over the instances of the other hosts.
 *
 * The names layer sits beneath the client and the server and calls neither:
 * each operation connects (net/sock.h), makes one or two calls with the
 * headers of wire/rpcmsg.h and a codec of its own for the few messages of
 * matchmaker.idl it needs, reads one record per call (one datagram over
 * UDP), and closes. Nothing generated from matchmaker.idl is compiled into
 * libparley, so a user's IDL may define the same names.
 */
#ifndef PARLEY_NAMES_H
#define PARLEY_NAMES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "net/addr.h"
#include "parley/arena.h"

/* The well-known port of the matchmaker (and of rpcbind). */
#define PL_MM_PORT 111u

/* How long a call to the matchmaker may take. */
#define PL_MM_TIMEOUT_MS 5000u

/* What the runtime needs of matchmaker.idl, under names of its own; a test
 * checks them against the generated ones. */
#define PL_MM_PROG       0x2050524cu /* MATCHMAKER_PROG */
#define PL_MM_VERS       1u          /* MATCHMAKER_VERS */
#define PL_MM_REGISTER   1u          /* MATCHMAKER_REGISTER */
#define PL_MM_UNREGISTER 2u          /* MATCHMAKER_UNREGISTER */
#define PL_MM_LOOKUP     3u          /* MATCHMAKER_LOOKUP */
#define PL_MM_NAME_MAX   64u         /* MM_NAME_MAX */
#define PL_MM_NETID_MAX  16u         /* MM_NETID_MAX */
#define PL_MM_UADDR_MAX  128u        /* MM_UADDR_MAX */
#define PL_MM_OWNER_MAX  16u         /* MM_OWNER_MAX */
#define PL_MM_LIST_MAX   8192u       /* MM_LIST_MAX */

/* mm_status, the outcome of a request. */
enum pl_mm_status {
    PL_MM_OK = 0,
    PL_MM_DENIED = 1,
    PL_MM_NOT_OWNER = 2,
    PL_MM_NOENT = 3,
    PL_MM_FULL = 4,
    PL_MM_INVALID = 5,
    PL_MM_EXISTS = 6,
    PL_MM_STALE = 7
};

/* The arguments of a call: mm_registration for REGISTER (every field);
 * mm_key for UNREGISTER and mm_query for LOOKUP, which have the same layout
 * (name, vers, netid). */
typedef struct pl_mm_args {
    const char *name;
    uint32_t prog, vers;
    const char *netid;
    const char *uaddr;
} pl_mm_args;

/* mm_entry, one registration as LOOKUP reports it. */
typedef struct pl_mm_entry {
    char *name;
    uint32_t prog, vers;
    char *netid, *uaddr, *owner;
    int64_t registered;
} pl_mm_entry;

/* A decoded reply: the mm_status of every procedure, and for LOOKUP the
 * entries when it is PL_MM_OK. */
typedef struct pl_mm_reply {
    uint32_t status;
    uint32_t n;
    pl_mm_entry *entries;
} pl_mm_reply;

/* A connection to the matchmaker for one operation: a connected socket, and
 * what the operation's calls share. */
typedef struct pl_mm_conn {
    int fd;           /* connected to the matchmaker; the opener closes it */
    int dgram;        /* fd is a datagram socket (UDP): one datagram a message */
    int local;        /* the matchmaker is on this host */
    const char *host; /* its host, to resolve a service's wildcard address
                         ("" for a Unix socket) */
    int64_t deadline; /* of every call made on it (net/clock.h) */
    uint32_t xid;     /* of the next call */
    int64_t rcvtimeo; /* pl_sock_recv's state of fd; 0 at first */
} pl_mm_conn;

int pl_mm_address(const char *host, uint16_t port, char *out, size_t cap);
int pl_mm_lookup(const pl_addr *a, uint32_t prog, uint32_t vers, int want_dgram,
                 unsigned timeout_ms, pl_sockaddr **out, size_t *n, int *dgram);
void pl_mm_spread(pl_sockaddr *list, size_t n);
int pl_mm_register(const char *name, uint32_t prog, uint32_t vers, const struct sockaddr *sa,
                   socklen_t len, int socktype, char *holder, size_t cap);
int pl_mm_unregister(const char *name, uint32_t vers, const char *netid);

/* A program by number on a host, as libtirpc's clnt_create finds it: asked
 * of the host's portmapper (rpcbind's GETADDR; a matchmaker answers it). */
int pl_rpcb_getaddr(const char *host, uint32_t prog, uint32_t vers, const char *netid,
                    unsigned timeout_ms, pl_sockaddr *out);

/* The same operations on a connection already made (the entry points of
 * the tests, which give them one end of a socket pair). */
int pl_mm_lookup_on(pl_mm_conn *c, const char *name, uint32_t prog, uint32_t vers, int want_dgram,
                    pl_sockaddr **out, size_t *n, int *dgram);
int pl_mm_register_on(pl_mm_conn *c, const pl_mm_args *r);
int pl_mm_holder_on(pl_mm_conn *c, const pl_mm_args *r, char *out, size_t cap);
int pl_mm_unregister_on(pl_mm_conn *c, const char *name, uint32_t vers, const char *netid);
int pl_rpcb_getaddr_on(pl_mm_conn *c, uint32_t prog, uint32_t vers, const char *netid,
                       pl_sockaddr *out);

/* One call and its reply, and the reply's decoder alone. */
int pl_mm_call(pl_mm_conn *c, uint32_t proc, const pl_mm_args *args, parley_arena *arena,
               pl_mm_reply *out);
int pl_mm_reply_decode(const void *msg, size_t len, uint32_t xid, uint32_t proc,
                       parley_arena *arena, pl_mm_reply *out);

#endif /* PARLEY_NAMES_H */
