/*
 * sock.c: connect, send and receive with a deadline, for the client.
 *
 * The client's fast path is one send and one receive system call per call,
 * as a raw ping-pong makes. Sends pass MSG_DONTWAIT, which usually writes
 * everything at once, and poll only when the socket's buffer is full. A
 * receive cannot do that: right after a send the reply is not there yet, so
 * a non-blocking read would fail and cost a poll and a second read. The
 * socket is therefore left blocking and pl_sock_recv blocks in recv() with
 * SO_RCVTIMEO as its bound, setting the option only when the remaining time
 * of the call has moved away from the value last set (calls with the same
 * timeout reuse it; see pl_sock_recv).
 */
#include "net/sock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "parley/error.h"

/* poll_ms is the poll() timeout that waits until deadline, rounded up so
 * that a poll that times out has reached it; -1 when the deadline passed. */
static int poll_ms(int64_t deadline)
{
    int64_t rem = deadline - pl_now_ns();
    if (rem <= 0)
        return -1;
    int64_t ms = (rem + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* wait_fd polls fd for events until deadline: PARLEY_OK when it is ready
 * (or has an error pending, which the next call on it reports),
 * PARLEY_ERR_TIMEDOUT, or PARLEY_ERR_IO. */
static int wait_fd(int fd, short events, int64_t deadline, int *sys_errno)
{
    for (;;) {
        int ms = poll_ms(deadline);
        if (ms < 0)
            return PARLEY_ERR_TIMEDOUT;
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        int n = poll(&p, 1, ms);
        if (n > 0)
            return PARLEY_OK;
        if (n < 0 && errno != EINTR) {
            *sys_errno = errno;
            return PARLEY_ERR_IO;
        }
    }
}

/* io_error maps the errno of a failed send or receive to a parley_err. */
static int io_error(int e)
{
    switch (e) {
    case EPIPE:
    case ECONNRESET:
    case ENOTCONN:
    case ESHUTDOWN:
    case ECONNABORTED:
        return PARLEY_ERR_CLOSED;
    case ECONNREFUSED:
        return PARLEY_ERR_REFUSED;
    case EMSGSIZE:
        return PARLEY_ERR_MSG_TOO_LARGE;
    case ENOMEM:
    case ENOBUFS:
        return PARLEY_ERR_NOMEM;
    default:
        return PARLEY_ERR_IO;
    }
}

/* connect_error maps the errno of a failed connect: a refusal is told apart
 * because it usually means "no server", the rest are PARLEY_ERR_CONNECT. */
static int connect_error(int e)
{
    return e == ECONNREFUSED ? PARLEY_ERR_REFUSED : PARLEY_ERR_CONNECT;
}

/* pl_sock_connect opens a socket of socktype (SOCK_STREAM or SOCK_DGRAM)
 * and connects it to sa before deadline: a non-blocking connect and a poll,
 * then the socket is made blocking again. TCP sockets get TCP_NODELAY: a
 * call is one write, and waiting for the previous call's ACK (Nagle) would
 * only add latency. On success *out_fd is the socket, which the caller owns.
 * Errors: PARLEY_ERR_REFUSED (ECONNREFUSED), PARLEY_ERR_TIMEDOUT (the
 * deadline passed first), PARLEY_ERR_CONNECT (anything else); *sys_errno is
 * set to the errno of the failure (ETIMEDOUT for the deadline). */
int pl_sock_connect(int *out_fd, const struct sockaddr *sa, socklen_t sa_len, int socktype,
                    int64_t deadline, int *sys_errno)
{
    int rc;
    int fd = socket(sa->sa_family, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *sys_errno = errno;
        return PARLEY_ERR_CONNECT;
    }
    if (socktype == SOCK_STREAM && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
        int one = 1;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
            *sys_errno = errno;
            rc = PARLEY_ERR_CONNECT;
            goto fail;
        }
    }
    if (connect(fd, sa, sa_len) != 0) {
        if (errno != EINPROGRESS && errno != EINTR) {
            *sys_errno = errno;
            rc = connect_error(errno);
            goto fail;
        }
        rc = wait_fd(fd, POLLOUT, deadline, sys_errno);
        if (rc == PARLEY_ERR_TIMEDOUT)
            *sys_errno = ETIMEDOUT;
        if (rc != PARLEY_OK)
            goto fail;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (err != 0) {
            *sys_errno = err;
            rc = connect_error(err);
            goto fail;
        }
    }
    /* a fresh socket has no other status flag than O_NONBLOCK to keep */
    if (fcntl(fd, F_SETFL, 0) != 0) {
        *sys_errno = errno;
        rc = PARLEY_ERR_CONNECT;
        goto fail;
    }
    *out_fd = fd;
    return PARLEY_OK;
fail:
    close(fd);
    return rc;
}

/* pl_sock_send sends the len bytes at buf before deadline, with
 * MSG_NOSIGNAL (a closed peer is an error, not SIGPIPE). *sent is the
 * number of bytes sent, also on failure: a stream that got part of a message
 * is unusable. Errors: PARLEY_ERR_TIMEDOUT, PARLEY_ERR_CLOSED (the peer
 * closed or reset the connection), PARLEY_ERR_REFUSED (a datagram's port was
 * unreachable), PARLEY_ERR_MSG_TOO_LARGE (a datagram too large),
 * PARLEY_ERR_NOMEM, PARLEY_ERR_IO; *sys_errno is set. */
int pl_sock_send(int fd, const void *buf, size_t len, int64_t deadline, size_t *sent,
                 int *sys_errno)
{
    const char *p = buf;
    size_t off = 0;
    int rc = PARLEY_OK;
    while (off < len) {
        ssize_t n = send(fd, p + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0) {
            off += (size_t)n;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            *sys_errno = errno;
            rc = io_error(errno);
            break;
        }
        rc = wait_fd(fd, POLLOUT, deadline, sys_errno);
        if (rc != PARLEY_OK)
            break;
    }
    *sent = off;
    return rc;
}

/* The smallest receive timeout worth setting; below it the call has as good
 * as reached its deadline. */
#define MIN_RCVTIMEO_NS 1000

/* pl_sock_recv receives what is there on fd, up to cap bytes (recv() flags:
 * MSG_TRUNC to learn a datagram's real length), waiting until
 * deadline for something to arrive. It blocks in recv() rather than polling
 * first, bounded by the socket's SO_RCVTIMEO, whose value the caller keeps
 * in *rcvtimeo (0 when never set; only one thread receives on a socket at a
 * time). The option is set again only when the time left is not within
 * [*rcvtimeo, *rcvtimeo * 8/7]: it is then set to 15/16 of the time left, so
 * that calls with the same timeout keep reusing it and a receive never
 * outlasts the deadline by more than the kernel's rounding to its clock
 * tick. A receive that times out before the deadline loops with the time
 * that is left.
 *
 * On success *got is the number of bytes received (with MSG_TRUNC, a
 * datagram's length, which may exceed cap): 0 is the end of a stream (or an
 * empty datagram). Errors: PARLEY_ERR_TIMEDOUT, PARLEY_ERR_CLOSED
 * (reset), PARLEY_ERR_REFUSED (a datagram socket's port is unreachable),
 * PARLEY_ERR_NOMEM, PARLEY_ERR_IO; *sys_errno is set. */
int pl_sock_recv(int fd, void *buf, size_t cap, int flags, int64_t deadline, int64_t *rcvtimeo,
                 size_t *got, int *sys_errno)
{
    for (;;) {
        int64_t rem = deadline - pl_now_ns();
        if (rem < MIN_RCVTIMEO_NS)
            return PARLEY_ERR_TIMEDOUT;
        if (*rcvtimeo == 0 || *rcvtimeo > rem || *rcvtimeo < rem - rem / 8) {
            int64_t t = rem - rem / 16;
            struct timeval tv = {.tv_sec = (time_t)(t / 1000000000),
                                 .tv_usec = (suseconds_t)(t % 1000000000 / 1000)};
            if (tv.tv_sec == 0 && tv.tv_usec == 0)
                tv.tv_usec = 1; /* zero would mean no timeout at all */
            if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
                *sys_errno = errno;
                return PARLEY_ERR_IO;
            }
            *rcvtimeo = t;
        }
        ssize_t n = recv(fd, buf, cap, flags);
        if (n >= 0) {
            *got = (size_t)n;
            return PARLEY_OK;
        }
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            continue;
        *sys_errno = errno;
        return io_error(errno);
    }
}

/* pl_sock_recv_spin receives what is there on fd without blocking, trying
 * again until spin_until: a busy poll, for a reply expected within
 * microseconds, that spares the caller the sleep and the wake-up (on a
 * virtual machine, an interrupt sent to an idle CPU) of a blocking receive.
 * Returns PARLEY_OK with *got as pl_sock_recv, PARLEY_ERR_TIMEDOUT when
 * nothing came by spin_until, or the errors of pl_sock_recv. */
int pl_sock_recv_spin(int fd, void *buf, size_t cap, int flags, int64_t spin_until, size_t *got,
                      int *sys_errno)
{
    for (;;) {
        ssize_t n = recv(fd, buf, cap, flags | MSG_DONTWAIT);
        if (n >= 0) {
            *got = (size_t)n;
            return PARLEY_OK;
        }
        if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
            *sys_errno = errno;
            return io_error(errno);
        }
        if (pl_now_ns() >= spin_until)
            return PARLEY_ERR_TIMEDOUT;
    }
}
