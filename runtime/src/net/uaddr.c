/*
 * runtime/src/net/uaddr.c: network identifiers and universal addresses (see parley/uaddr.h). The
 * decimal fields are parsed by hand rather than with sscanf, which would
 * take signs, spaces, leading zeros and values past 255; the IPv6 part goes
 * through inet_pton after its length and characters have been checked.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "parley/error.h"
#include "parley/uaddr.h"

/* The transports, in the order "local" before "unix" so that parley_netid_for
 * prefers it (libtirpc's /etc/netconfig lists both for AF_LOCAL streams). */
static const parley_netid netids[] = {
    {"tcp", AF_INET, SOCK_STREAM, IPPROTO_TCP, PARLEY_NC_TPI_COTS_ORD, "inet", "tcp"},
    {"udp", AF_INET, SOCK_DGRAM, IPPROTO_UDP, PARLEY_NC_TPI_CLTS, "inet", "udp"},
    {"tcp6", AF_INET6, SOCK_STREAM, IPPROTO_TCP, PARLEY_NC_TPI_COTS_ORD, "inet6", "tcp"},
    {"udp6", AF_INET6, SOCK_DGRAM, IPPROTO_UDP, PARLEY_NC_TPI_CLTS, "inet6", "udp"},
    {"local", AF_UNIX, SOCK_STREAM, 0, PARLEY_NC_TPI_COTS_ORD, "loopback", "-"},
    {"unix", AF_UNIX, SOCK_STREAM, 0, PARLEY_NC_TPI_COTS_ORD, "loopback", "-"},
};

/* parley_netid_find: see parley/uaddr.h. */
const parley_netid *parley_netid_find(const char *netid)
{
    if (!netid)
        return NULL;
    for (size_t i = 0; i < sizeof netids / sizeof netids[0]; i++)
        if (strcmp(netids[i].netid, netid) == 0)
            return &netids[i];
    return NULL;
}

/* parley_netid_for: see parley/uaddr.h. */
const parley_netid *parley_netid_for(int family, int socktype)
{
    for (size_t i = 0; i < sizeof netids / sizeof netids[0]; i++)
        if (netids[i].family == family && netids[i].socktype == socktype)
            return &netids[i];
    return NULL;
}

/* ---- formatting ---------------------------------------------------------- */

/* put_text copies the n characters of text and a NUL into buf if they fit. */
static int put_text(const char *text, size_t n, char *buf, size_t cap, size_t *outlen)
{
    if (n >= cap)
        return PARLEY_ERR_BUFFER_FULL;
    memcpy(buf, text, n);
    buf[n] = '\0';
    if (outlen)
        *outlen = n;
    return PARLEY_OK;
}

/* has_control is nonzero when one of the n bytes at s is a control
 * character (below 0x20, or DEL). */
static int has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            return 1;
    }
    return 0;
}

/* parley_uaddr_format: see parley/uaddr.h. */
int parley_uaddr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t cap,
                        size_t *outlen)
{
    if (!sa || !buf || len < (socklen_t)sizeof(sa_family_t))
        return PARLEY_ERR_INVALID;
    char text[PARLEY_UADDR_LOCAL_MAX + 1];
    int n;
    switch (sa->sa_family) {
    case AF_INET: {
        struct sockaddr_in sin;
        if (len < (socklen_t)sizeof sin)
            return PARLEY_ERR_INVALID;
        memcpy(&sin, sa, sizeof sin);
        const unsigned char *a = (const unsigned char *)&sin.sin_addr;
        unsigned port = ntohs(sin.sin_port);
        n = snprintf(text, sizeof text, "%u.%u.%u.%u.%u.%u", a[0], a[1], a[2], a[3], port >> 8,
                     port & 0xffu);
        break;
    }
    case AF_INET6: {
        struct sockaddr_in6 sin6;
        if (len < (socklen_t)sizeof sin6)
            return PARLEY_ERR_INVALID;
        memcpy(&sin6, sa, sizeof sin6);
        if (sin6.sin6_scope_id != 0)
            return PARLEY_ERR_ADDRESS;
        char host[INET6_ADDRSTRLEN];
        if (!inet_ntop(AF_INET6, &sin6.sin6_addr, host, sizeof host))
            return PARLEY_ERR_ADDRESS;
        unsigned port = ntohs(sin6.sin6_port);
        n = snprintf(text, sizeof text, "%s.%u.%u", host, port >> 8, port & 0xffu);
        break;
    }
    case AF_UNIX: {
        size_t off = offsetof(struct sockaddr_un, sun_path);
        if ((size_t)len <= off)
            return PARLEY_ERR_ADDRESS; /* unnamed */
        const struct sockaddr_un *sun = (const struct sockaddr_un *)(const void *)sa;
        size_t room = (size_t)len - off;
        if (room > sizeof sun->sun_path)
            room = sizeof sun->sun_path;
        const char *path = sun->sun_path;
        size_t plen = strnlen(path, room);
        /* abstract (a leading NUL), relative, or with no NUL inside sun_path */
        if (plen == 0 || path[0] != '/' || plen > PARLEY_UADDR_LOCAL_MAX || has_control(path, plen))
            return PARLEY_ERR_ADDRESS;
        return put_text(path, plen, buf, cap, outlen);
    }
    default:
        return PARLEY_ERR_INVALID;
    }
    if (n < 0 || (size_t)n >= sizeof text)
        return PARLEY_ERR_ADDRESS;
    return put_text(text, (size_t)n, buf, cap, outlen);
}

/* ---- parsing ------------------------------------------------------------- */

/* octet parses the decimal field of [s, end): one to three digits, no
 * leading zero unless the field is "0", at most 255. Returns the value or
 * -1. */
static int octet(const char *s, const char *end)
{
    size_t n = (size_t)(end - s);
    if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
        return -1;
    int v = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v <= 255 ? v : -1;
}

/* port_of parses the trailing ".p1.p2" of a uaddr of n characters: *hostlen
 * is then the length of what precedes it. Returns the port or -1. */
static long port_of(const char *s, size_t n, size_t *hostlen)
{
    const char *end = s + n;
    const char *dot2 = memrchr(s, '.', n);
    if (!dot2)
        return -1;
    const char *dot1 = memrchr(s, '.', (size_t)(dot2 - s));
    if (!dot1)
        return -1;
    int hi = octet(dot1 + 1, dot2);
    int lo = octet(dot2 + 1, end);
    if (hi < 0 || lo < 0)
        return -1;
    *hostlen = (size_t)(dot1 - s);
    return (long)hi << 8 | lo;
}

/* parley_uaddr_parse: see parley/uaddr.h. */
int parley_uaddr_parse(const char *uaddr, int family, struct sockaddr_storage *ss, socklen_t *len)
{
    if (!uaddr || !ss || !len)
        return PARLEY_ERR_INVALID;
    size_t n;
    switch (family) {
    case AF_INET: {
        n = strnlen(uaddr, PARLEY_UADDR_INET_MAX + 1);
        if (n > PARLEY_UADDR_INET_MAX)
            return PARLEY_ERR_ADDRESS;
        size_t hostlen;
        long port = port_of(uaddr, n, &hostlen);
        if (port < 0)
            return PARLEY_ERR_ADDRESS;
        unsigned char a[4];
        const char *p = uaddr;
        const char *hend = uaddr + hostlen;
        for (int i = 0; i < 4; i++) {
            const char *dot = i < 3 ? memchr(p, '.', (size_t)(hend - p)) : hend;
            if (!dot)
                return PARLEY_ERR_ADDRESS;
            int v = octet(p, dot);
            if (v < 0)
                return PARLEY_ERR_ADDRESS;
            a[i] = (unsigned char)v;
            p = dot + 1;
        }
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof sin);
        sin.sin_family = AF_INET;
        sin.sin_port = htons((uint16_t)port);
        memcpy(&sin.sin_addr, a, 4);
        memset(ss, 0, sizeof *ss);
        memcpy(ss, &sin, sizeof sin);
        *len = (socklen_t)sizeof sin;
        return PARLEY_OK;
    }
    case AF_INET6: {
        n = strnlen(uaddr, PARLEY_UADDR_INET6_MAX + 1);
        if (n > PARLEY_UADDR_INET6_MAX)
            return PARLEY_ERR_ADDRESS;
        size_t hostlen;
        long port = port_of(uaddr, n, &hostlen);
        if (port < 0 || hostlen == 0 || hostlen >= INET6_ADDRSTRLEN)
            return PARLEY_ERR_ADDRESS;
        char host[INET6_ADDRSTRLEN];
        for (size_t i = 0; i < hostlen; i++) {
            char ch = uaddr[i];
            /* hex digits, colons, and the dots of an embedded IPv4 tail:
             * no zone, no spaces, nothing inet_pton might take leniently */
            if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
                  (ch >= 'A' && ch <= 'F') || ch == ':' || ch == '.'))
                return PARLEY_ERR_ADDRESS;
        }
        memcpy(host, uaddr, hostlen);
        host[hostlen] = '\0';
        struct sockaddr_in6 sin6;
        memset(&sin6, 0, sizeof sin6);
        if (inet_pton(AF_INET6, host, &sin6.sin6_addr) != 1)
            return PARLEY_ERR_ADDRESS;
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons((uint16_t)port);
        memset(ss, 0, sizeof *ss);
        memcpy(ss, &sin6, sizeof sin6);
        *len = (socklen_t)sizeof sin6;
        return PARLEY_OK;
    }
    case AF_UNIX: {
        n = strnlen(uaddr, PARLEY_UADDR_LOCAL_MAX + 1);
        if (n == 0 || n > PARLEY_UADDR_LOCAL_MAX || uaddr[0] != '/' || has_control(uaddr, n))
            return PARLEY_ERR_ADDRESS;
        struct sockaddr_un sun;
        memset(&sun, 0, sizeof sun);
        sun.sun_family = AF_UNIX;
        memcpy(sun.sun_path, uaddr, n);
        memset(ss, 0, sizeof *ss);
        memcpy(ss, &sun, sizeof sun);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
        return PARLEY_OK;
    }
    default:
        return PARLEY_ERR_INVALID;
    }
}
