/*
 * parley/uaddr.h: network identifiers and universal addresses (RFC 1833 section 2,
 * RFC 5665 sections 5 and 6), the names rpcbind and the matchmaker give to
 * a transport endpoint.
 *
 * A netid names a transport ("tcp", "udp6", "local"); a universal address
 * (uaddr) is the text of a socket address in the form the netid's family
 * defines:
 *
 *   inet   "h1.h2.h3.h4.p1.p2"   the four octets of the IPv4 address, then
 *                                the port's high and low bytes, in decimal
 *   inet6  "x:x::x.p1.p2"        an IPv6 address as inet_ntop(3) writes it
 *                                (RFC 5952; "::", "::1", "::ffff:1.2.3.4"),
 *                                then the port's bytes
 *   local  "/path/to/socket"     the absolute path of a Unix socket
 *
 * Parsing is strict: decimal fields are 0 to 255 without sign, spaces or
 * leading zeros, nothing may follow the last field, an IPv6 address may not
 * carry a zone ("%eth0": a uaddr has no place for it), and a local path must
 * be absolute, shorter than sun_path and free of control characters (a
 * newline in a path would forge lines in the matchmaker's line-oriented
 * files and in /proc/net/unix). The IPv6 part is taken in any form
 * inet_pton(3) accepts ("0:0::1" as well as "::1"), because peers other than
 * libtirpc may write it so; formatting always writes the canonical text. So
 * parse(format(sa)) == sa, and format(parse(u)) == u for every canonical u:
 * the registry keeps addresses in that form and compares them as strings.
 *
 * Part of the public API: the matchmaker, rpcbind clients and Parley's own
 * client and server use it. Errors are parley_err values (parley/error.h).
 */
#ifndef PARLEY_UADDR_H
#define PARLEY_UADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The longest universal address of each family, without its NUL:
 * "255.255.255.255.255.255"; an IPv6 text address (at most 45 characters,
 * "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255") and ".255.255"; and a
 * path that fits sun_path with its NUL. */
#define PARLEY_UADDR_INET_MAX  23u
#define PARLEY_UADDR_INET6_MAX 53u
#define PARLEY_UADDR_LOCAL_MAX 107u

/* The nc_semantics of a transport (RFC 1833's rpcb_entry, netconfig(5)). */
#define PARLEY_NC_TPI_CLTS     1u /* connectionless: udp, udp6 */
#define PARLEY_NC_TPI_COTS     2u /* connection-oriented */
#define PARLEY_NC_TPI_COTS_ORD 3u /* connection-oriented, orderly release: tcp, tcp6, local */

/* One transport Parley knows, with what rpcbind's GETADDRLIST
 * reports about it (the fields of /etc/netconfig). */
typedef struct parley_netid {
    const char *netid;     /* "tcp" */
    int family;            /* AF_INET */
    int socktype;          /* SOCK_STREAM */
    int protocol;          /* IPPROTO_TCP; 0 for local */
    uint32_t semantics;    /* nc_semantics: PARLEY_NC_TPI_COTS_ORD or _CLTS */
    const char *protofmly; /* "inet", "inet6", "loopback" */
    const char *proto;     /* "tcp", "udp", or "-" */
} parley_netid;

/* parley_netid_find returns the transport named netid ("tcp", "udp", "tcp6",
 * "udp6", "local", "unix"; the comparison is exact), or NULL for any other
 * name or NULL. The result is static and never freed. */
const parley_netid *parley_netid_find(const char *netid);

/* parley_netid_for returns the transport of a socket of family and socktype,
 * or NULL when there is none. Of "local" and "unix", which name the same
 * kind of socket, it returns "local". */
const parley_netid *parley_netid_for(int family, int socktype);

/* parley_uaddr_format writes the universal address of the socket address sa
 * (len bytes; AF_INET, AF_INET6 or AF_UNIX) into buf, NUL-terminated, and
 * its length into *outlen (which may be NULL). buf is written only on
 * success. Errors: PARLEY_ERR_INVALID (NULL sa or buf, a len too short for
 * the family, another family), PARLEY_ERR_ADDRESS (an address with no
 * universal form: an IPv6 address with a scope id, an unnamed, abstract,
 * relative or control-character Unix path), PARLEY_ERR_BUFFER_FULL (cap
 * has no room for the text and its NUL). */
int parley_uaddr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap,
                        size_t *outlen);

/* parley_uaddr_parse parses the universal address uaddr of family (AF_INET,
 * AF_INET6 or AF_UNIX, as the netid says) into *ss, and its length into
 * *len; both are written only on success. Errors: PARLEY_ERR_INVALID (NULL
 * arguments, another family), PARLEY_ERR_ADDRESS (anything but the
 * canonical text described above). */
int parley_uaddr_parse(const char *uaddr, int family, struct sockaddr_storage *ss, socklen_t *len);

#ifdef __cplusplus
}
#endif
#endif /* PARLEY_UADDR_H */
