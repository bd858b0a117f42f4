/*
 * addr.h: the addresses of Parley's transports as text, parsed, formatted
 * back, and resolved into socket addresses.
 *
 * Internal to libparley; the client and the server take these strings:
 *
 *   tcp://HOST:PORT   udp://HOST:PORT
 *     HOST is a host name, an IPv4 literal (1.2.3.4) or an IPv6 literal in
 *     brackets ([::1], [fe80::1%eth0]); PORT is 0 to 65535 and required.
 *   unix:///abs/path  a Unix stream socket by absolute path
 *   unix:rel/path     one by path relative to the working directory
 *   NAME              a service registered with the local matchmaker
 *   NAME@HOST         one registered with the matchmaker on HOST
 *   NAME@HOST:PORT    ... whose matchmaker listens on PORT
 *     NAME is 1 to 64 characters of A-Z a-z 0-9 . _ -, the first a letter
 *     or a digit (the matchmaker's rule); HOST as above (an IPv6 literal in
 *     brackets). Without HOST, or without PORT, the matchmaker is the one
 *     PARLEY_MATCHMAKER names (see names.h).
 *
 * "unix://rel/path" is refused: in a URI the part after "//" is a host, so
 * it reads as host "rel", and accepting it would make "unix://tmp/x" mean
 * "tmp/x" where the writer most likely meant "/tmp/x". Schemes are
 * case-insensitive. Parsing never touches the network; resolution is a
 * separate step.
 */
#ifndef PARLEY_ADDR_H
#define PARLEY_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum pl_transport { PL_TR_TCP = 1, PL_TR_UDP = 2, PL_TR_UNIX = 3, PL_TR_NAME = 4 };

/* The longest host: a DNS name (253) or a bracketed IPv6 literal with a
 * zone; and the longest Unix path (sun_path holds 108 bytes with its NUL). */
#define PL_ADDR_HOST_MAX 253u
#define PL_ADDR_PATH_MAX 107u
#define PL_ADDR_NAME_MAX 64u

/* A parsed address. host (without brackets) and port for TCP and UDP, path
 * for Unix; for a service name, name and the matchmaker's host and port
 * (empty and 0 when not given); the unused fields are zero. */
typedef struct pl_addr {
    int transport;
    char host[PL_ADDR_HOST_MAX + 1];
    uint16_t port;
    char path[PL_ADDR_PATH_MAX + 1];
    char name[PL_ADDR_NAME_MAX + 1];
} pl_addr;

int pl_name_valid(const char *s, size_t n);

/* One socket address to try, as getaddrinfo gives it. remote: an instance
 * of a service name on another host, learnt from the cluster (names.c sets
 * it for a look-up's entries of owner "cluster"); 0 for every other
 * address. */
typedef struct pl_sockaddr {
    struct sockaddr_storage ss;
    socklen_t len;
    int family, socktype, protocol;
    int remote;
} pl_sockaddr;

int pl_addr_parse(const char *text, pl_addr *out);
int pl_addr_format(const pl_addr *a, char *buf, size_t cap, size_t *len);
int pl_addr_resolve(const pl_addr *a, pl_sockaddr **out, size_t *n);
void pl_addr_resolved_free(pl_sockaddr *list);

#endif /* PARLEY_ADDR_H */
