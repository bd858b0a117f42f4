/*
 * procnet.h: liveness and ownership of local sockets, from the kernel's
 * tables under /proc/net.
 *
 * The matchmaker accepts registrations only from the local host, so every
 * address it holds is a socket on this host, and the kernel lists it:
 * /proc/net/tcp and tcp6 (one line per TCP socket, with its state and the
 * uid that created it), udp and udp6, and unix (Unix sockets by path, with
 * no uid). From them this module answers two questions:
 *
 * (a) Is a server still there? mm_procnet_listening looks for a socket that
 *     serves an address: a TCP socket in the LISTEN state, an unconnected
 *     UDP socket, a listening Unix stream socket bound to a path, optionally
 *     owned by a given uid. A socket bound to the wildcard address (0.0.0.0
 *     or ::) serves every address of its port, and a registered wildcard
 *     address is served by any socket of its port; an IPv6 socket bound to
 *     :: is taken to accept IPv4 too (whether it is IPV6_V6ONLY is not in the
 *     table), and a v4-mapped address (::ffff:a.b.c.d) is the IPv4 address.
 *     /proc/net/unix has no uid column, so the owner of a Unix socket is the
 *     owner of its file (it is created by bind(2) with the binder's uid).
 *
 * (b) Who is calling? mm_procnet_owner finds the uid of the local socket at
 *     an address: the peer of a connection (or the sender of a datagram) to
 *     the matchmaker, which is a socket on this host when the peer address
 *     is a local one; the caller checks that first. For TCP the socket must
 *     be connected to the given remote address (the matchmaker's end), so
 *     that only that connection's other end matches; for UDP a socket bound
 *     to the wildcard address matches too, since it sends from any of them.
 *
 * The tables are read as text, defensively: a line that does not have the
 * expected form is skipped, a line longer than 1024 bytes is skipped whole,
 * and the read stops past 256 MiB. The kernel builds them while they are
 * read, so a socket opened or closed meanwhile may or may not be seen:
 * callers that act on absence (dropping a registration) confirm it with a
 * second look later. A path in /proc/net/unix is printed raw, so a local user
 * can bind a socket whose path holds a newline and a forged line; the
 * effect is limited to making a dead Unix registration look alive, and the
 * matchmaker refuses such paths in registrations (parley/uaddr.h).
 *
 * root is the directory that holds net/tcp and the others: "/proc", or
 * (NULL) that default; tests point it at fixture files. The IPv6 tables may
 * be absent (IPv6 disabled): they then count as empty. Internal to the
 * matchmaker; functions return 0 or an errno value.
 */
#ifndef MM_PROCNET_H
#define MM_PROCNET_H

#include <sys/socket.h>
#include <sys/types.h>

#define MM_PROCNET_LINE_MAX  1024u
#define MM_PROCNET_READ_MAX  (256u << 20)
#define MM_PROCNET_ANY_OWNER ((uid_t)-1)

/* mm_procnet_listening sets *found to 1 when a socket owned by uid
 * (MM_PROCNET_ANY_OWNER: anyone) serves the address sa (len bytes; AF_INET,
 * AF_INET6 or AF_UNIX) for socktype (SOCK_STREAM or SOCK_DGRAM), as
 * described above, and to 0 otherwise. Returns 0; EINVAL for bad arguments;
 * or the errno of reading a table (ENOENT when /proc is not there). */
int mm_procnet_listening(const char *root, const struct sockaddr *sa, socklen_t len, int socktype,
                         uid_t uid, int *found);

/* mm_procnet_owner sets *uid to the owner of the local socket of socktype
 * (SOCK_STREAM: TCP; SOCK_DGRAM: UDP) bound to local (a sockaddr_in or
 * sockaddr_in6 with the port) and, for TCP, connected to remote; remote may
 * be NULL to accept any peer (for UDP: an unconnected socket, or one
 * connected to remote). Returns 0 with *uid; ESRCH when no socket matches;
 * ENOTUNIQ when sockets of different uids match (then nothing is known);
 * EINVAL for bad arguments; or the errno of reading a table. On the real
 * tables (root NULL) with a remote, the kernel is asked first for that one
 * socket through NETLINK_SOCK_DIAG, a hashed look-up, and the table is read
 * only when that gives no answer: reading /proc/net/tcp costs a line per
 * socket on the host, milliseconds per registration on a busy one. */
int mm_procnet_owner(const char *root, int socktype, const struct sockaddr *local,
                     socklen_t locallen, const struct sockaddr *remote, socklen_t remotelen,
                     uid_t *uid);

#endif /* MM_PROCNET_H */
