/*
 * procnet.c: liveness and ownership of local sockets from /proc/net (see
 * procnet.h).
 *
 * A line of /proc/net/tcp, tcp6, udp and udp6 reads
 *
 *    sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid ...
 *     0: 0100007F:0FA0 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 ...
 *
 * where an address is the raw bytes of the in_addr (8 hex digits) or
 * in6_addr (four groups of 8) printed as native 32-bit words, so reading
 * each word back as a native integer and storing it gives the address's
 * bytes on any host; the port is printed in host order. A line of
 * /proc/net/unix reads
 *
 *   Num       RefCount Protocol Flags    Type St Inode Path
 *   0000000000000000: 00000002 00000000 00010000 0001 01 23456 /run/x.sock
 *
 * with the flags, type and state in hex and the path, when there is one,
 * after the inode and one space, printed raw. Each field is checked for its
 * form; a line that has another form is skipped, not guessed at.
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <sys/un.h>

#include "lines.h"
#include "procnet.h"

/* The TCP states of the kernel's tables (include/net/tcp_states.h). */
enum {
    ST_ESTABLISHED = 0x01,
    ST_SYN_RECV = 0x03, /* a connection not yet accepted: the listener's uid */
    ST_FIN_WAIT1 = 0x04,
    ST_FIN_WAIT2 = 0x05,
    ST_CLOSE = 0x07, /* also what an unconnected UDP socket shows */
    ST_CLOSE_WAIT = 0x08,
    ST_LAST_ACK = 0x09,
    ST_LISTEN = 0x0A,
    ST_CLOSING = 0x0B
};

/* /proc/net/unix: the listening flag (__SO_ACCEPTCON) and the state of a
 * socket that is not connected (SS_UNCONNECTED). */
#define UNIX_ACCEPTCON   0x00010000u
#define UNIX_UNCONNECTED 0x01u
#define UNIX_TYPE_STREAM 0x0001u
#define UNIX_TYPE_DGRAM  0x0002u

/* An IP address and port, with v4-mapped IPv6 addresses made IPv4. */
typedef struct naddr {
    int v4;
    uint8_t b[16]; /* the first 4 for IPv4 */
    uint16_t port;
} naddr;

/* One line of a TCP or UDP table. */
typedef struct sockline {
    naddr local, remote;
    unsigned st;
    uid_t uid;
    int orphan; /* inode 0: no process holds it (closed: TIME_WAIT, FIN_WAIT...) */
} sockline;

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* set_v6 stores the 16 bytes of an IPv6 address into *a, as IPv4 when it is
 * v4-mapped. */
static void set_v6(naddr *a, const uint8_t *b)
{
    if (memcmp(b, v4mapped_prefix, 12) == 0) {
        a->v4 = 1;
        memset(a->b, 0, sizeof a->b);
        memcpy(a->b, b + 12, 4);
    } else {
        a->v4 = 0;
        memcpy(a->b, b, 16);
    }
}

/* from_sockaddr converts an AF_INET or AF_INET6 address; returns 0 or -1. */
static int from_sockaddr(const struct sockaddr *sa, socklen_t len, naddr *a)
{
    memset(a, 0, sizeof *a);
    if (!sa || len < (socklen_t)sizeof(sa_family_t))
        return -1;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof sin);
        a->v4 = 1;
        memcpy(a->b, &sin.sin_addr, 4);
        a->port = ntohs(sin.sin_port);
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sa, sizeof sin6);
        set_v6(a, sin6.sin6_addr.s6_addr);
        a->port = ntohs(sin6.sin6_port);
        return 0;
    }
    return -1;
}

static int is_any(const naddr *a)
{
    static const uint8_t zero[16];
    return memcmp(a->b, zero, a->v4 ? 4 : 16) == 0;
}

static int same_addr(const naddr *a, const naddr *b)
{
    return a->v4 == b->v4 && memcmp(a->b, b->b, a->v4 ? 4 : 16) == 0;
}

/* serves is nonzero when a socket bound to sock (its address; ports are
 * compared apart) receives what is sent to the registered address want. */
static int serves(const naddr *sock, const naddr *want)
{
    if (!sock->v4 && is_any(sock))
        return 1; /* ::, taken to be dual-stack */
    if (sock->v4 != want->v4)
        return 0;
    return is_any(sock) || is_any(want) || same_addr(sock, want);
}

/* ---- parsing ------------------------------------------------------------- */

static int hexdig(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* hexnum parses exactly n hex digits at s; returns 0 or -1. */
static int hexnum(const char *s, size_t n, uint32_t *out)
{
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = hexdig(s[i]);
        if (d < 0)
            return -1;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

/* next_token returns the next space-separated token of *p (NUL-terminating
 * it) and advances *p past it, or NULL at the end of the line. */
static char *next_token(char **p)
{
    char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s)
        return NULL;
    char *e = s;
    while (*e && *e != ' ' && *e != '\t')
        e++;
    if (*e)
        *e++ = '\0';
    *p = e;
    return s;
}

/* parse_endpoint parses "HHHHHHHH:PPPP" (v6: 32 hex digits) into *a. */
static int parse_endpoint(const char *tok, int v6, naddr *a)
{
    size_t hexlen = v6 ? 32 : 8;
    if (strlen(tok) != hexlen + 5 || tok[hexlen] != ':')
        return -1;
    uint8_t b[16];
    for (size_t i = 0; i < hexlen / 8; i++) {
        uint32_t word;
        if (hexnum(tok + 8 * i, 8, &word) != 0)
            return -1;
        memcpy(b + 4 * i, &word, 4); /* the kernel printed the native word */
    }
    uint32_t port;
    if (hexnum(tok + hexlen + 1, 4, &port) != 0)
        return -1;
    memset(a, 0, sizeof *a);
    if (v6) {
        set_v6(a, b);
    } else {
        a->v4 = 1;
        memcpy(a->b, b, 4);
    }
    a->port = (uint16_t)port;
    return 0;
}

/* parse_decimal parses a uid: digits only, below (uid_t)-1. */
static int parse_uid(const char *s, uid_t *out)
{
    if (!*s)
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v >= (uint64_t)(uid_t)-1)
            return -1;
    }
    *out = (uid_t)v;
    return 0;
}

/* parse_inet_line parses one line of a TCP or UDP table; returns 0, or -1
 * for the header and any line of another form. */
static int parse_inet_line(char *line, int v6, sockline *out)
{
    char *p = line;
    char *tok[8];
    for (int i = 0; i < 8; i++)
        if (!(tok[i] = next_token(&p)))
            return -1;
    size_t n = strlen(tok[0]);
    if (n < 2 || tok[0][n - 1] != ':')
        return -1;
    for (size_t i = 0; i + 1 < n; i++)
        if (tok[0][i] < '0' || tok[0][i] > '9')
            return -1;
    uint32_t st;
    if (parse_endpoint(tok[1], v6, &out->local) != 0 ||
        parse_endpoint(tok[2], v6, &out->remote) != 0 || strlen(tok[3]) != 2 ||
        hexnum(tok[3], 2, &st) != 0 || parse_uid(tok[7], &out->uid) != 0)
        return -1;
    out->st = st;
    /* then the timeout and the inode: a socket no file refers to any more
     * (closed, lingering in TIME_WAIT or FIN_WAIT) shows uid 0 */
    char *timeout = next_token(&p), *inode = timeout ? next_token(&p) : NULL;
    out->orphan = inode != NULL && strcmp(inode, "0") == 0;
    return 0;
}

/* ---- scanning ------------------------------------------------------------ */

typedef int inet_fn(const sockline *s, void *ctx); /* nonzero: stop */

/* scan_inet runs fn on every socket of root/net/name; a missing table
 * counts as empty when absent_ok. Returns 0 or an errno. */
static int scan_inet(const char *root, const char *name, int v6, int absent_ok, inet_fn *fn,
                     void *ctx)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/net/%s", root ? root : "/proc", name);
    if (n < 0 || (size_t)n >= sizeof path)
        return ENAMETOOLONG;
    mm_lines lr;
    int rc = mm_lines_open(&lr, path, MM_PROCNET_READ_MAX);
    if (rc != 0)
        return rc == ENOENT && absent_ok ? 0 : rc;
    char line[MM_PROCNET_LINE_MAX + 1];
    size_t len;
    for (;;) {
        int kind = mm_lines_next(&lr, line, sizeof line, &len);
        if (kind == MM_LINE_EOF)
            break;
        if (kind == MM_LINE_ERROR) {
            rc = lr.err;
            break;
        }
        sockline s;
        if (kind == MM_LINE_OK && parse_inet_line(line, v6, &s) == 0 && fn(&s, ctx))
            break;
    }
    mm_lines_close(&lr);
    return rc;
}

/* scan_both scans the IPv4 and IPv6 tables of a protocol ("tcp", "udp"). */
static int scan_both(const char *root, const char *proto, inet_fn *fn, void *ctx)
{
    char name6[8];
    snprintf(name6, sizeof name6, "%s6", proto);
    int rc = scan_inet(root, proto, 0, 0, fn, ctx);
    if (rc == 0)
        rc = scan_inet(root, name6, 1, 1, fn, ctx);
    return rc;
}

/* ---- (a) listening ------------------------------------------------------- */

struct listen_ctx {
    naddr want;
    unsigned st;
    uid_t uid;
    int found;
};

static int listen_match(const sockline *s, void *arg)
{
    struct listen_ctx *c = arg;
    if (s->st == c->st && s->local.port == c->want.port && serves(&s->local, &c->want) &&
        (c->uid == MM_PROCNET_ANY_OWNER || s->uid == c->uid))
        c->found = 1;
    return c->found;
}

/* unix_listening is mm_procnet_listening for a path. */
static int unix_listening(const char *root, const char *want, int socktype, uid_t uid, int *found)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/net/unix", root ? root : "/proc");
    if (n < 0 || (size_t)n >= sizeof path)
        return ENAMETOOLONG;
    mm_lines lr;
    int rc = mm_lines_open(&lr, path, MM_PROCNET_READ_MAX);
    if (rc != 0)
        return rc;
    char line[MM_PROCNET_LINE_MAX + 1];
    size_t len;
    int listed = 0;
    for (;;) {
        int kind = mm_lines_next(&lr, line, sizeof line, &len);
        if (kind == MM_LINE_EOF)
            break;
        if (kind == MM_LINE_ERROR) {
            rc = lr.err;
            break;
        }
        if (kind != MM_LINE_OK)
            continue;
        /* Num: RefCount Protocol Flags Type St Inode, then " path" */
        char *p = line;
        char *tok[7];
        int ok = 1;
        for (int i = 0; i < 7 && ok; i++)
            ok = (tok[i] = next_token(&p)) != NULL;
        uint32_t flags, type, st;
        size_t n0 = ok ? strlen(tok[0]) : 0;
        if (!ok || n0 < 2 || tok[0][n0 - 1] != ':' || strlen(tok[3]) != 8 ||
            hexnum(tok[3], 8, &flags) != 0 || strlen(tok[4]) != 4 ||
            hexnum(tok[4], 4, &type) != 0 || strlen(tok[5]) != 2 || hexnum(tok[5], 2, &st) != 0)
            continue;
        /* next_token stopped after the inode's terminator: the path starts
         * right there, after the one space the kernel prints */
        const char *bound = p;
        if (tok[6] + strlen(tok[6]) + 1 != p || strcmp(bound, want) != 0)
            continue;
        if (socktype == SOCK_STREAM && type == UNIX_TYPE_STREAM && (flags & UNIX_ACCEPTCON) &&
            st == UNIX_UNCONNECTED)
            listed = 1;
        else if (socktype == SOCK_DGRAM && type == UNIX_TYPE_DGRAM)
            listed = 1;
        if (listed)
            break;
    }
    mm_lines_close(&lr);
    if (rc != 0)
        return rc;
    /* the socket file must still be there, a socket, and the owner's */
    struct stat sb;
    *found = listed && stat(want, &sb) == 0 && S_ISSOCK(sb.st_mode) &&
             (uid == MM_PROCNET_ANY_OWNER || sb.st_uid == uid);
    return 0;
}

/* mm_procnet_listening: see procnet.h. */
int mm_procnet_listening(const char *root, const struct sockaddr *sa, socklen_t len, int socktype,
                         uid_t uid, int *found)
{
    if (!sa || !found || (socktype != SOCK_STREAM && socktype != SOCK_DGRAM) ||
        len < (socklen_t)sizeof(sa_family_t))
        return EINVAL;
    if (sa->sa_family == AF_UNIX) {
        size_t off = offsetof(struct sockaddr_un, sun_path);
        const struct sockaddr_un *sun = (const struct sockaddr_un *)(const void *)sa;
        if ((size_t)len <= off)
            return EINVAL;
        size_t room = (size_t)len - off;
        if (room > sizeof sun->sun_path)
            room = sizeof sun->sun_path;
        size_t plen = strnlen(sun->sun_path, room);
        if (plen == 0 || plen == room)
            return EINVAL; /* unnamed or abstract, or no NUL within sun_path */
        char want[sizeof sun->sun_path];
        memcpy(want, sun->sun_path, plen);
        want[plen] = '\0';
        return unix_listening(root, want, socktype, uid, found);
    }
    struct listen_ctx c;
    memset(&c, 0, sizeof c);
    if (from_sockaddr(sa, len, &c.want) != 0)
        return EINVAL;
    c.st = socktype == SOCK_STREAM ? ST_LISTEN : ST_CLOSE;
    c.uid = uid;
    int rc = scan_both(root, socktype == SOCK_STREAM ? "tcp" : "udp", listen_match, &c);
    if (rc != 0)
        return rc;
    *found = c.found;
    return 0;
}

/* ---- (b) owner ----------------------------------------------------------- */

struct owner_ctx {
    int tcp;
    naddr local, remote;
    int has_remote;
    int n;
    uid_t uid;
    int conflict;
};

static int connected_state(unsigned st)
{
    return st == ST_ESTABLISHED || st == ST_SYN_RECV || st == ST_FIN_WAIT1 || st == ST_FIN_WAIT2 ||
           st == ST_CLOSE_WAIT || st == ST_LAST_ACK || st == ST_CLOSING;
}

static int owner_match(const sockline *s, void *arg)
{
    struct owner_ctx *c = arg;
    /* a closed socket has lost its owner (the kernel shows uid 0): a caller
     * that sent and closed at once must not pass for root */
    if (s->local.port != c->local.port || s->orphan)
        return 0;
    if (c->tcp) {
        if (!connected_state(s->st) || !same_addr(&s->local, &c->local))
            return 0;
        if (c->has_remote &&
            (s->remote.port != c->remote.port || !same_addr(&s->remote, &c->remote)))
            return 0;
    } else {
        /* an unconnected socket bound to the wildcard sends from every
         * local address */
        int any = is_any(&s->local) && (s->local.v4 == c->local.v4 || !s->local.v4);
        if (!any && !same_addr(&s->local, &c->local))
            return 0;
        int unconnected = s->remote.port == 0 && is_any(&s->remote);
        if (!unconnected && c->has_remote &&
            (s->remote.port != c->remote.port || !same_addr(&s->remote, &c->remote)))
            return 0;
    }
    if (c->n++ == 0)
        c->uid = s->uid;
    else if (s->uid != c->uid)
        c->conflict = 1;
    return c->conflict;
}

/* mm_procnet_owner: see procnet.h. */
/* put_endpoint writes sa's address and port (network order) into the
 * inet_diag fields; returns its family, or -1. */
static int put_endpoint(const struct sockaddr *sa, socklen_t len, __be32 addr[4], __be16 *port)
{
    memset(addr, 0, 16);
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
        memcpy(addr, &sin->sin_addr, 4);
        *port = sin->sin_port;
        return AF_INET;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(addr, &sin6->sin6_addr, 16);
        *port = sin6->sin6_port;
        return AF_INET6;
    }
    return -1;
}

/* diag_owner asks the kernel for the one socket of the 4-tuple through
 * NETLINK_SOCK_DIAG (a hashed look-up, where reading /proc/net/tcp costs a
 * line per socket on the host: milliseconds on a busy one, for every
 * registration over loopback). The kernel keys a TCP socket by its own
 * address as the source, a UDP socket by its own as the destination (as a
 * datagram to it would be addressed). Returns 0 with *uid, or an errno
 * value (ESRCH: none; anything else: ask /proc). */
static int diag_owner(int tcp, const struct sockaddr *local, socklen_t locallen,
                      const struct sockaddr *remote, socklen_t remotelen, uid_t *uid)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } msg;
    memset(&msg, 0, sizeof msg);
    msg.nlh.nlmsg_len = sizeof msg;
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST;
    msg.req.sdiag_protocol = tcp ? IPPROTO_TCP : IPPROTO_UDP;
    msg.req.idiag_states = ~0u;
    struct inet_diag_sockid *id = &msg.req.id;
    __be32 *own = tcp ? id->idiag_src : id->idiag_dst, *peer = tcp ? id->idiag_dst : id->idiag_src;
    __be16 *own_port = tcp ? &id->idiag_sport : &id->idiag_dport;
    __be16 *peer_port = tcp ? &id->idiag_dport : &id->idiag_sport;
    int family = put_endpoint(local, locallen, own, own_port);
    if (family < 0 || !remote || put_endpoint(remote, remotelen, peer, peer_port) != family)
        return EINVAL;
    msg.req.sdiag_family = (__u8)family;
    id->idiag_cookie[0] = id->idiag_cookie[1] = INET_DIAG_NOCOOKIE;

    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0)
        return errno;
    struct timeval tv = {1, 0}; /* the kernel answers at once; never hang on it */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    int rc = EIO;
    if (sendto(fd, &msg, sizeof msg, 0, (struct sockaddr *)&kernel, sizeof kernel) !=
        (ssize_t)sizeof msg) {
        rc = errno;
        close(fd);
        return rc;
    }
    union {
        struct nlmsghdr nlh;
        char buf[8192];
    } in;
    ssize_t n = recv(fd, in.buf, sizeof in.buf, 0);
    close(fd);
    if (n < 0)
        return errno;
    struct nlmsghdr *h = &in.nlh; /* NLMSG_DATA casts away const */
    if (!NLMSG_OK(h, (size_t)n))
        return EIO;
    if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof *e))
            return EIO;
        return e->error == -ENOENT ? ESRCH : (e->error ? -e->error : EIO);
    }
    if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
        h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
        return EIO;
    const struct inet_diag_msg *m = NLMSG_DATA(h);
    /* closed (TIME_WAIT, or orphaned: no inode) sockets show uid 0; their
     * owner is not known, and the caller must not pass for root */
    if (m->idiag_inode == 0 || m->idiag_state == 6 /* TCP_TIME_WAIT */)
        return ESRCH;
    *uid = (uid_t)m->idiag_uid;
    return 0;
}

int mm_procnet_owner(const char *root, int socktype, const struct sockaddr *local,
                     socklen_t locallen, const struct sockaddr *remote, socklen_t remotelen,
                     uid_t *uid)
{
    /* on the real tables, the kernel's own look-up first; /proc when it
     * cannot answer (no such socket by that key, e.g. an IPv4 caller on an
     * IPv6 socket, or no netlink), which also settles conflicts */
    if (!root && uid && (socktype == SOCK_STREAM || socktype == SOCK_DGRAM) && local && remote &&
        diag_owner(socktype == SOCK_STREAM, local, locallen, remote, remotelen, uid) == 0)
        return 0;
    if (!uid || (socktype != SOCK_STREAM && socktype != SOCK_DGRAM))
        return EINVAL;
    struct owner_ctx c;
    memset(&c, 0, sizeof c);
    c.tcp = socktype == SOCK_STREAM;
    if (from_sockaddr(local, locallen, &c.local) != 0)
        return EINVAL;
    if (remote) {
        if (from_sockaddr(remote, remotelen, &c.remote) != 0)
            return EINVAL;
        c.has_remote = 1;
    }
    int rc = scan_both(root, c.tcp ? "tcp" : "udp", owner_match, &c);
    if (rc != 0)
        return rc;
    if (c.conflict)
        return ENOTUNIQ;
    if (c.n == 0)
        return ESRCH;
    *uid = c.uid;
    return 0;
}
