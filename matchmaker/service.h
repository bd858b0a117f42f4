/*
 * service.h: the procedures of parley-matchmaker, its own protocol
 * (matchmaker.idl) and rpcbind's (rpcb_prot.x: port mapper v2, rpcbind v3
 * and v4), over the registration table (registry.h), and the liveness scan
 * that drops the entries of servers that are gone.
 *
 * The generated skeletons call the *_svc procedures with the call alone;
 * each finds the service, whose whole mutable state is one mm_service,
 * through the call's context (parley_call_ctx), so that nothing but
 * constants is static. It uses only the public runtime API:
 * what it knows of a caller comes from parley_call_transport, _peer, _local
 * and _peer_ids, never from what the caller claims.
 *
 * Reflection. Over UDP a source address can be forged, and a portmapper's
 * answers are larger than its calls (rpcbind's DUMP 17 times, GETSTAT 12):
 * a known reflection amplifier. So an answer over UDP larger than
 * udp_ratio times its call (parley_call_size) goes only to a caller on this
 * host (loopback; a Unix socket is never UDP). Another caller gets, for
 * LOOKUP and INSTANCES, the entries that fit (at least one, or none of the
 * procedures below), and for the other procedures (rpcbind's DUMP, GETADDR,
 * GETVERSADDR, GETADDRLIST, GETSTAT, TADDR2UADDR, UADDR2TADDR, LIST and
 * CLUSTER) SYSTEM_ERR, a reply of 24 bytes, smaller than any call: rpcbind's
 * protocol has no "use TCP", an empty list would lie, and a dropped call
 * would be sent again until the client's deadline. TCP is not bounded.
 *
 * The cluster. With an agent (cluster.h), LOOKUP and INSTANCES answer this
 * host's registrations first, then the instances of the name other hosts
 * published (from the agent's cache, owner "cluster"); a version 0 asks for
 * the highest among both. A name found only in the cluster while the agent
 * is STALE gets MM_STALE; a name with local registrations gets those alone
 * then. Every change of the table (register, unregister, a liveness
 * removal) is told to the agent (mm_service_changed), which publishes it.
 * rpcbind's protocol stays local.
 *
 * Liveness. Every check_ms the scan thread takes a snapshot of the table
 * and asks /proc/net (procnet.h) whether a socket still serves each entry's
 * address (owned by the entry's owner when that is a known non-root uid).
 * An entry found missing in two consecutive scans is removed, so an entry
 * outlives its server's socket by at most two periods plus the time of a
 * scan. The matchmaker's own entries are not checked. The same thread saves
 * the table to the state file when it has changed, at most once per
 * MM_SAVE_DEBOUNCE_MS.
 */
#ifndef MM_SERVICE_H
#define MM_SERVICE_H

#include <stddef.h>
#include <sys/socket.h>

#include "cluster.h"
#include "parley/server.h"
#include "registry.h"

#define MM_SAVE_DEBOUNCE_MS 100u

/* The service's settings. */
typedef struct mm_service_cfg {
    mm_registry *reg;                             /* the table (the caller keeps ownership) */
    const char *state_path;                       /* where the table is saved; NULL: not saved */
    const char *proc_root;                        /* procnet's root; NULL: /proc */
    unsigned check_ms;                            /* liveness period; 0: no scan */
    void (*log)(int level, const char *fmt, ...); /* syslog levels; NULL: silent */
    unsigned udp_ratio;  /* over UDP, an answer to a caller off this host is at
                            most this many times its call's size (reflection);
                            0: no bound */
    mm_cluster *cluster; /* the cluster agent (the caller keeps ownership); NULL:
                            no cluster, LOOKUP and INSTANCES answer from the
                            table alone and CLUSTER says MM_CLUSTER_OFF */
} mm_service_cfg;

/* The default of mm_service_cfg.udp_ratio (--udp-ratio). */
#define MM_UDP_RATIO_DEFAULT 4u

/* The bytes of an accepted reply's header with an AUTH_NONE verifier (xid,
 * message type, reply status, verifier flavor and length, accept status),
 * which the bound counts with the result. */
#define MM_REPLY_HEADER 24u

/* The service: its settings, the scan thread, GETSTAT's counters. The
 * server's four programs (the matchmaker's, rpcbind's versions 2, 3 and 4)
 * are added with it as their context (parley_server_add_program_ctx), which
 * is how every procedure finds it (parley_call_ctx); a program added
 * without it must not be served. */
typedef struct mm_service mm_service;

/* mm_service_create makes a service with the settings cfg (copied; the
 * strings and the registry must outlive the service) into *out, which the
 * caller owns and frees with mm_service_destroy once no server serves it.
 * Returns 0 or an errno value (ENOMEM, or of a mutex). */
int mm_service_create(mm_service **out, const mm_service_cfg *cfg);

/* mm_service_destroy frees sv (stopped, or never started); NULL is a no-op. */
void mm_service_destroy(mm_service *sv);

/* mm_service_start starts the scan thread. Returns 0 or an errno value (of
 * pthread_create). */
int mm_service_start(mm_service *sv);

/* mm_service_changed tells the scan thread that the table changed and
 * should be saved, and the cluster agent that it should publish the
 * change. Any thread. */
void mm_service_changed(mm_service *sv);

/* mm_service_stop stops the scan thread and saves the table when it changed
 * (or always when force_save). Returns 0 or the errno of the save. */
int mm_service_stop(mm_service *sv, int force_save);

/* mm_caller_is_local is nonzero when a caller on transport (enum
 * parley_transport) at peer (len bytes) is on the local host: a Unix
 * socket, or a loopback address (127.0.0.0/8, ::1, or ::ffff:127.x.y.z).
 * Only such callers may register and unregister. */
int mm_caller_is_local(int transport, const struct sockaddr *peer, socklen_t len);

/* mm_rpcb_counting makes *out the program gen (rpcbind's version 2, 3 or
 * 4, as generated) with a NULL procedure that GETSTAT counts: the
 * skeleton's answers NULL without calling the service, but rpcbind counts
 * every call. procs (cap entries, at least gen's procedures and one) holds
 * the procedures; it and gen must outlive the server. Returns PARLEY_OK, or
 * PARLEY_ERR_INVALID for another program or a procs too small. */
int mm_rpcb_counting(const parley_program_def *gen, parley_proc_def *procs, size_t cap,
                     parley_program_def *out);

/* Which of the matchmaker's own programs mm_self_register registers. */
enum {
    MM_SELF_RPCBIND = 1,    /* 100000 v2, v3 and v4 */
    MM_SELF_MATCHMAKER = 2, /* the matchmaker v1, named "matchmaker" */
    MM_SELF_ALL = 3
};

/* mm_self_register registers the matchmaker's own programs of which (an OR
 * of MM_SELF_*) at the universal address uaddr of netid, owned by root;
 * rpcbind's versions from the highest, in the order rpcbind lists them.
 * Returns an mm_status. */
int mm_self_register(mm_service *sv, const char *netid, const char *uaddr, unsigned which);

/* mm_self_remove removes the entries of the matchmaker's own programs, as
 * loaded from a state file: they are registered again from the addresses
 * of this run. */
void mm_self_remove(mm_service *sv);

#endif /* MM_SERVICE_H */
