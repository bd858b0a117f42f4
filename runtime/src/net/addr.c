/*
 * addr.c: transport addresses as text (see addr.h for the syntax).
 *
 * pl_addr_parse checks the whole syntax itself, host names included, so
 * that a typo fails at once with PARLEY_ERR_ADDRESS instead of becoming a
 * DNS query; pl_addr_resolve then asks getaddrinfo, with numeric hosts kept
 * numeric so that literals never touch a resolver.
 */
#define _POSIX_C_SOURCE 200809L
#include "net/addr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "parley/error.h"

_Static_assert(PL_ADDR_PATH_MAX + 1 <= sizeof(((struct sockaddr_un *)0)->sun_path),
               "a Unix path fits in sun_path");

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* valid_hostname tells whether the n bytes at s are a host name: dot-separated
 * labels of letters, digits, '-' and '_' (which some internal names use), 1
 * to 63 bytes each, not beginning or ending with '-', at most 253 bytes in
 * all, with an optional final dot. A name of digits and dots only must be an
 * IPv4 literal: "1.2.3" is refused rather than read as inet_aton would. */
static int valid_hostname(const char *s, size_t n)
{
    if (n > 0 && s[n - 1] == '.')
        n--;
    if (n == 0 || n > PL_ADDR_HOST_MAX)
        return 0;
    int numeric = 1;
    size_t label = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        char c = s[i];
        if (!is_alnum(c) && c != '-' && c != '_')
            return 0;
        if (label == 0 && c == '-')
            return 0;
        if (c < '0' || c > '9')
            numeric = 0;
        label++;
    }
    if (numeric) {
        char tmp[PL_ADDR_HOST_MAX + 1];
        struct in_addr a4;
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        return inet_pton(AF_INET, tmp, &a4) == 1;
    }
    return 1;
}

/* valid_v6 tells whether the n bytes at s (the inside of brackets) are an
 * IPv6 literal with an optional zone ("%eth0"). */
static int valid_v6(const char *s, size_t n)
{
    char tmp[INET6_ADDRSTRLEN + 1];
    struct in6_addr a6;
    const char *pct = memchr(s, '%', n);
    size_t alen = pct ? (size_t)(pct - s) : n;
    if (alen == 0 || alen >= sizeof tmp)
        return 0;
    memcpy(tmp, s, alen);
    tmp[alen] = '\0';
    if (inet_pton(AF_INET6, tmp, &a6) != 1)
        return 0;
    if (pct) {
        size_t zlen = n - alen - 1;
        if (zlen == 0 || zlen > 15) /* IF_NAMESIZE - 1 */
            return 0;
        for (size_t i = alen + 1; i < n; i++) {
            if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
                return 0;
        }
    }
    return 1;
}

/* parse_port reads a decimal port of 1 to 5 digits, at most 65535, that
 * runs to the end of s. */
static int parse_port(const char *s, uint16_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5)
        return 0;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    if (v > 65535)
        return 0;
    *out = (uint16_t)v;
    return 1;
}

/* parse_hostport reads "HOST:PORT" or "[V6]:PORT" into a. */
static int parse_hostport(const char *s, pl_addr *a)
{
    const char *host = s, *colon;
    size_t hlen;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL)
            return 0;
        host = s + 1;
        hlen = (size_t)(close - host);
        if (!valid_v6(host, hlen))
            return 0;
        colon = close + 1;
        if (*colon != ':')
            return 0;
    } else {
        colon = strchr(s, ':');
        if (colon == NULL)
            return 0;
        hlen = (size_t)(colon - s);
        if (!valid_hostname(s, hlen))
            return 0; /* also refuses unbracketed IPv6, whose ':' ends the host early */
    }
    if (hlen > PL_ADDR_HOST_MAX || !parse_port(colon + 1, &a->port))
        return 0;
    memcpy(a->host, host, hlen);
    a->host[hlen] = '\0';
    return 1;
}

/* pl_name_valid tells whether the n bytes at s are a service name: 1 to
 * PL_ADDR_NAME_MAX characters of A-Z a-z 0-9 . _ -, the first a letter or a
 * digit. */
int pl_name_valid(const char *s, size_t n)
{
    if (n == 0 || n > PL_ADDR_NAME_MAX || !is_alnum(s[0]))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return 0;
    return 1;
}

/* parse_name reads "NAME", "NAME@HOST" or "NAME@HOST:PORT" into a. */
static int parse_name(const char *s, pl_addr *a)
{
    const char *at = strchr(s, '@');
    size_t n = at ? (size_t)(at - s) : strlen(s);
    if (!pl_name_valid(s, n))
        return 0;
    memcpy(a->name, s, n);
    a->name[n] = '\0';
    if (at == NULL)
        return 1;
    const char *h = at + 1;
    const char *colon = *h == '[' ? strstr(h, "]:") : strchr(h, ':');
    if (colon != NULL)
        return parse_hostport(h, a) && a->port != 0;
    size_t hlen = strlen(h);
    if (*h == '[') {
        if (hlen < 2 || h[hlen - 1] != ']' || !valid_v6(h + 1, hlen - 2))
            return 0;
        memcpy(a->host, h + 1, hlen - 2);
        a->host[hlen - 2] = '\0';
        return 1;
    }
    if (!valid_hostname(h, hlen))
        return 0;
    memcpy(a->host, h, hlen + 1);
    return 1;
}

/* pl_addr_parse parses text (syntax in addr.h) into *out, written only on
 * success. Errors: PARLEY_ERR_NULL for NULL text, PARLEY_ERR_ADDRESS for
 * anything else that is not an address (an unknown scheme, a bad host or
 * port, a missing port, a relative "unix://" path, a path longer than
 * PL_ADDR_PATH_MAX bytes). Never touches the network. */
int pl_addr_parse(const char *text, pl_addr *out)
{
    pl_addr a;
    if (text == NULL)
        return PARLEY_ERR_NULL;
    memset(&a, 0, sizeof a);
    if (strncasecmp(text, "tcp://", 6) == 0 || strncasecmp(text, "udp://", 6) == 0) {
        a.transport = (text[0] == 't' || text[0] == 'T') ? PL_TR_TCP : PL_TR_UDP;
        if (!parse_hostport(text + 6, &a))
            return PARLEY_ERR_ADDRESS;
    } else if (strncasecmp(text, "unix:", 5) == 0) {
        const char *path = text + 5;
        if (strncmp(path, "//", 2) == 0) {
            path += 2;
            if (path[0] != '/')
                return PARLEY_ERR_ADDRESS;
        }
        size_t n = strlen(path);
        if (n == 0 || n > PL_ADDR_PATH_MAX)
            return PARLEY_ERR_ADDRESS;
        a.transport = PL_TR_UNIX;
        memcpy(a.path, path, n + 1);
    } else if (strstr(text, "://") == NULL) {
        a.transport = PL_TR_NAME;
        if (!parse_name(text, &a))
            return PARLEY_ERR_ADDRESS;
    } else {
        return PARLEY_ERR_ADDRESS;
    }
    *out = a;
    return PARLEY_OK;
}

/* pl_addr_format writes a as text, in the form pl_addr_parse reads (the
 * scheme in lower case, IPv6 literals in brackets, absolute Unix paths as
 * unix:///path), NUL-terminated, into the cap bytes at buf, and its length
 * without the NUL through *len (which may be NULL). Errors:
 * PARLEY_ERR_BUFFER_FULL (buf then holds a truncated string, if cap > 0),
 * PARLEY_ERR_INVALID for an unknown transport. */
int pl_addr_format(const pl_addr *a, char *buf, size_t cap, size_t *len)
{
    int n;
    if (a->transport == PL_TR_TCP || a->transport == PL_TR_UDP) {
        const char *scheme = a->transport == PL_TR_TCP ? "tcp" : "udp";
        if (strchr(a->host, ':') != NULL)
            n = snprintf(buf, cap, "%s://[%s]:%u", scheme, a->host, (unsigned)a->port);
        else
            n = snprintf(buf, cap, "%s://%s:%u", scheme, a->host, (unsigned)a->port);
    } else if (a->transport == PL_TR_UNIX) {
        n = snprintf(buf, cap, "%s%s", a->path[0] == '/' ? "unix://" : "unix:", a->path);
    } else if (a->transport == PL_TR_NAME) {
        const char *open = strchr(a->host, ':') ? "[" : "", *close = *open ? "]" : "";
        if (!a->host[0])
            n = snprintf(buf, cap, "%s", a->name);
        else if (a->port)
            n = snprintf(buf, cap, "%s@%s%s%s:%u", a->name, open, a->host, close,
                         (unsigned)a->port);
        else
            n = snprintf(buf, cap, "%s@%s%s%s", a->name, open, a->host, close);
    } else {
        return PARLEY_ERR_INVALID;
    }
    if (n < 0)
        return PARLEY_ERR_INVALID;
    if ((size_t)n >= cap)
        return PARLEY_ERR_BUFFER_FULL;
    if (len)
        *len = (size_t)n;
    return PARLEY_OK;
}

/* is_numeric_host tells whether host is an IP literal, so that
 * getaddrinfo is told not to look it up. */
static int is_numeric_host(const char *host)
{
    struct in_addr a4;
    return strchr(host, ':') != NULL || inet_pton(AF_INET, host, &a4) == 1;
}

/* pl_addr_resolve turns a into the socket addresses to try, in the order
 * getaddrinfo gives them: a new array of *n entries in *out (both written
 * only on success), which the caller releases with pl_addr_resolved_free.
 * A Unix address gives one sockaddr_un without any lookup; IP literals are
 * converted without a lookup either. Errors: PARLEY_ERR_RESOLVE (the name
 * does not resolve, or to nothing of the right kind), PARLEY_ERR_NOMEM,
 * PARLEY_ERR_INVALID for an unknown transport. May block in the resolver
 * for a host name. */
int pl_addr_resolve(const pl_addr *a, pl_sockaddr **out, size_t *n)
{
    pl_sockaddr *list;
    if (a->transport == PL_TR_UNIX) {
        struct sockaddr_un *un;
        list = calloc(1, sizeof *list);
        if (list == NULL)
            return PARLEY_ERR_NOMEM;
        un = (struct sockaddr_un *)&list->ss;
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, a->path, strlen(a->path) + 1);
        list->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(a->path) + 1);
        list->family = AF_UNIX;
        list->socktype = SOCK_STREAM;
        *out = list;
        *n = 1;
        return PARLEY_OK;
    }
    if (a->transport != PL_TR_TCP && a->transport != PL_TR_UDP)
        return PARLEY_ERR_INVALID;

    struct addrinfo hints, *res = NULL;
    char port[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = a->transport == PL_TR_TCP ? SOCK_STREAM : SOCK_DGRAM;
    hints.ai_protocol = a->transport == PL_TR_TCP ? IPPROTO_TCP : IPPROTO_UDP;
    hints.ai_flags = AI_NUMERICSERV | (is_numeric_host(a->host) ? AI_NUMERICHOST : 0);
    snprintf(port, sizeof port, "%u", (unsigned)a->port);
    int rc = getaddrinfo(a->host, port, &hints, &res);
    if (rc != 0)
        return rc == EAI_MEMORY ? PARLEY_ERR_NOMEM : PARLEY_ERR_RESOLVE;

    size_t count = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_addrlen <= sizeof(struct sockaddr_storage))
            count++;
    }
    if (count == 0) {
        freeaddrinfo(res);
        return PARLEY_ERR_RESOLVE;
    }
    list = calloc(count, sizeof *list);
    if (list == NULL) {
        freeaddrinfo(res);
        return PARLEY_ERR_NOMEM;
    }
    size_t i = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(struct sockaddr_storage))
            continue;
        memcpy(&list[i].ss, ai->ai_addr, ai->ai_addrlen);
        list[i].len = ai->ai_addrlen;
        list[i].family = ai->ai_family;
        list[i].socktype = ai->ai_socktype;
        list[i].protocol = ai->ai_protocol;
        i++;
    }
    freeaddrinfo(res);
    *out = list;
    *n = count;
    return PARLEY_OK;
}

/* pl_addr_resolved_free releases what pl_addr_resolve returned; NULL is a
 * no-op. */
void pl_addr_resolved_free(pl_sockaddr *list)
{
    free(list);
}
