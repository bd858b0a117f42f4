/*
 * server/dgram.c: the server's UDP sockets. A thread woken for a socket
 * reads one datagram, re-arms the socket at once (so that another thread
 * can take the next datagram), answers the call and sends the reply to the
 * datagram's source.
 *
 * It sits beside stream.c under server.c's epoll loop, which calls the
 * handlers of pl_sv_dgram_ops, and above dispatch.c, which answers the
 * call. A socket bound to a wildcard address (0.0.0.0, ::) asks for each
 * datagram's destination (IP_PKTINFO, IPV6_RECVPKTINFO), which the same
 * recvmsg brings at no extra cost: parley_call_local reports it, and the
 * reply leaves from it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "server/internal.h"

/* wildcard tells whether sa is 0.0.0.0 or ::. */
static int wildcard(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET)
        return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (sa->ss_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return 0;
}

/* dgram_open: a UDP socket on a wildcard address learns each datagram's
 * destination. Without it (the option refused) the bound address stands
 * in, so this never fails. */
static int dgram_open(conn *l)
{
    if (wildcard(&l->local)) {
        int one = 1;
        l->pktinfo = l->local.ss_family == AF_INET6
                         ? setsockopt(l->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one) == 0
                         : setsockopt(l->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) == 0;
    }
    return 0;
}

/* reply_source sets the control message of out, a reply to the datagram
 * whose recvmsg header is in, to leave from the address in was sent to
 * (its IP_PKTINFO or IPV6_PKTINFO; none for a multicast destination). buf
 * holds the control message. */
static void reply_source(struct msghdr *in, struct msghdr *out, char *buf, size_t cap)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(in); cm; cm = CMSG_NXTHDR(in, cm)) {
        int level = cm->cmsg_level, type = cm->cmsg_type;
        struct in_pktinfo pi;
        struct in6_pktinfo pi6;
        const void *data;
        size_t n;
        if (level == IPPROTO_IP && type == IP_PKTINFO) {
            struct in_pktinfo got;
            memcpy(&got, CMSG_DATA(cm), sizeof got);
            memset(&pi, 0, sizeof pi);
            pi.ipi_spec_dst = got.ipi_spec_dst; /* the local address the call reached */
            data = &pi;
            n = sizeof pi;
        } else if (level == IPPROTO_IPV6 && type == IPV6_PKTINFO) {
            memcpy(&pi6, CMSG_DATA(cm), sizeof pi6);
            if (IN6_IS_ADDR_MULTICAST(&pi6.ipi6_addr))
                return;
            if (!IN6_IS_ADDR_LINKLOCAL(&pi6.ipi6_addr))
                pi6.ipi6_ifindex = 0; /* the route decides, as for any reply */
            data = &pi6;
            n = sizeof pi6;
        } else {
            continue;
        }
        if (CMSG_SPACE(n) > cap)
            return;
        memset(buf, 0, cap);
        out->msg_control = buf;
        out->msg_controllen = CMSG_SPACE(n);
        struct cmsghdr *oc = CMSG_FIRSTHDR(out);
        oc->cmsg_level = level;
        oc->cmsg_type = type;
        oc->cmsg_len = CMSG_LEN(n);
        memcpy(CMSG_DATA(oc), data, n);
        return;
    }
}

/* send_dgram sends the reply in w->out[4 .. 4+len) to the source of the
 * datagram whose recvmsg header is in. On a socket bound to a wildcard
 * address the reply leaves from the address the call was sent to: else the
 * kernel would choose the source by route, and a client whose socket is
 * connected to the address it called (Parley's client, libtirpc's) would
 * drop a reply from another one of the host's addresses. */
static void send_dgram(worker *w, conn *c, size_t len, struct msghdr *in)
{
    if (atomic_load(&c->dead))
        return;
    struct iovec iov = {w->out + 4, len};
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
    } control;
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_name = in->msg_name;
    mh.msg_namelen = in->msg_namelen;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (c->pktinfo)
        reply_source(in, &mh, control.buf, sizeof control.buf);
    sendmsg(c->fd, &mh, MSG_DONTWAIT);
}

enum { REARM_TRIES = 3 }; /* a socket's re-arm, before it is given up */

/* rearm re-arms c, a UDP socket whose event the calling thread holds, for
 * the next datagram. Nobody else would ever re-arm it, and a socket left
 * unarmed would take its callers' datagrams into a buffer nobody reads, so
 * a failure is not left at that: epoll_ctl's MOD is tried REARM_TRIES
 * times (a lack of memory may pass), then the registration is made anew
 * (DEL and ADD: what a lost one, ENOENT, needs). If that fails too, the
 * socket is connected to its own address: the kernel then gives it no
 * other datagram and answers them with ICMP port unreachable, so that its
 * callers see their calls refused (and may try another address) instead of
 * sending them again until their deadlines, and the failure shows wherever
 * the service is watched. A reply to a datagram already read still leaves
 * (sendmsg names its destination). The server's other sockets are served
 * on. */
static void rearm(parley_server *s, conn *c)
{
    for (int k = 0; k < REARM_TRIES; k++)
        if (pl_sv_arm(s, c, EPOLL_CTL_MOD) == 0)
            return;
    epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
    for (int k = 0; k < REARM_TRIES; k++)
        if (pl_sv_arm(s, c, EPOLL_CTL_ADD) == 0)
            return;
    if (c->local_len)
        connect(c->fd, (const struct sockaddr *)&c->local, c->local_len);
}

/* on_udp reads and answers one datagram. recvmsg costs what recvfrom
 * would; on a socket bound to a wildcard address it also brings the
 * datagram's destination, for parley_call_local. */
static void on_udp(worker *w, conn *c)
{
    parley_server *s = w->s;
    struct sockaddr_storage from;
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
    } control;
    struct iovec iov = {w->in, PL_SV_UDP_MAX};
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_name = &from;
    mh.msg_namelen = sizeof from;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (c->pktinfo) {
        mh.msg_control = control.buf;
        mh.msg_controllen = sizeof control.buf;
    }
    ssize_t n = recvmsg(c->fd, &mh, 0);
    rearm(s, c);
    if (n < 0)
        return;
    int fatal = 0;
    const msgsrc src = {c, &mh};
    size_t len = pl_sv_process(w, &src, w->in, (size_t)n, &fatal);
    if (len)
        send_dgram(w, c, len, &mh);
}

/* dgram_peer is the datagram's source, from its recvmsg header. */
static int dgram_peer(const parley_call *call, struct sockaddr_storage *out, socklen_t *len)
{
    const struct msghdr *mh = call->src->dgram;
    memset(out, 0, sizeof *out);
    memcpy(out, mh->msg_name, mh->msg_namelen);
    *len = mh->msg_namelen;
    return PARLEY_OK;
}

/* dgram_dest finds the destination address of a datagram in the
 * IP_PKTINFO or IPV6_PKTINFO of its recvmsg header and writes it, with the
 * port of c's address, to *out; returns 0 when the header has neither. */
static int dgram_dest(const conn *c, struct msghdr *mh, struct sockaddr_storage *out,
                      socklen_t *len)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
        if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO &&
            c->local.ss_family == AF_INET) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(cm), sizeof pi);
            struct sockaddr_in sin = *(const struct sockaddr_in *)&c->local;
            sin.sin_addr = pi.ipi_addr;
            memset(out, 0, sizeof *out);
            memcpy(out, &sin, sizeof sin);
            *len = sizeof sin;
            return 1;
        }
        if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO &&
            c->local.ss_family == AF_INET6) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(cm), sizeof pi);
            struct sockaddr_in6 sin6 = *(const struct sockaddr_in6 *)&c->local;
            sin6.sin6_addr = pi.ipi6_addr;
            sin6.sin6_scope_id = IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr) ? pi.ipi6_ifindex : 0;
            memset(out, 0, sizeof *out);
            memcpy(out, &sin6, sizeof sin6);
            *len = sizeof sin6;
            return 1;
        }
    }
    return 0;
}

/* dgram_local is the datagram's destination on a wildcard socket, else the
 * socket's bound address (no system call either way). */
static int dgram_local(const parley_call *call, struct sockaddr_storage *out, socklen_t *len)
{
    const conn *c = call->src->c;
    struct sockaddr_storage ss;
    socklen_t n = sizeof ss;
    if (!(c->pktinfo && dgram_dest(c, call->src->dgram, &ss, &n))) {
        ss = c->local;
        n = c->local_len;
    }
    *out = ss;
    *len = n;
    return PARLEY_OK;
}

const pl_sv_ops pl_sv_dgram_ops = {
    .socktype = SOCK_DGRAM,
    .open = dgram_open,
    .on_read = on_udp,
    .peer = dgram_peer,
    .local = dgram_local,
};
