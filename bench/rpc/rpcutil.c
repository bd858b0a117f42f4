/*
 * rpcutil.c: the helpers of the RPC benchmark that are no side's own: the
 * users of the USERS procedure and their XDR encoding, the server child
 * processes, and whole reads and writes on streams.
 */
#include "bench_rpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long the parent waits for a server child to report its address, and
 * for one sent SIGTERM to end, in ms. */
#define REPORT_WAIT_MS 10000
#define STOP_WAIT_MS   3000

/* What a listen_serve child writes to its report pipe. */
typedef struct bound_report {
    socklen_t addrlen;
    struct sockaddr_storage addr;
} bound_report;

rb_users rb_input;

void rb_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* splitmix64 is the codec benchmark's generator, with its seed, so that the
 * users are those of its case (a). */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void rb_make_input(void)
{
    static const char letters[] = "abcdefghijklmnopqrstuvwxyz";
    uint64_t seed = 20240601;

    memset(&rb_input, 0, sizeof rb_input);
    rb_input.n = RB_NUSERS;
    for (size_t i = 0; i < rb_input.n; i++) {
        size_t len = RB_NAME_MIN + splitmix64(&seed) % (RB_NAME_MAX - RB_NAME_MIN + 1);
        char *s = rb_input.names[i];

        for (size_t k = 0; k < len; k++) {
            uint64_t r = splitmix64(&seed);
            if (k == len / 2 && r % 3 == 0)
                s[k] = '.';
            else if (k == len - 1 && r % 4 == 0)
                s[k] = (char)('0' + r % 10);
            else
                s[k] = letters[r % 26];
        }
        s[len] = '\0';
        rb_input.uids[i] = 1000 + (uint32_t)(splitmix64(&seed) % 60000);
        rb_input.times[i] = 1600000000000000 + (int64_t)(splitmix64(&seed) % 200000000000000);
    }
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

/* rb_encode_users writes users<> as XDR does: the count, then per user the
 * name's length, its bytes padded to four, the uid and the two halves of
 * the hyper, most significant first. */
size_t rb_encode_users(uint8_t *buf, size_t cap)
{
    size_t need = 4;
    uint8_t *p = buf;

    for (size_t i = 0; i < rb_input.n; i++)
        need += 4 + ((strlen(rb_input.names[i]) + 3) & ~(size_t)3) + 4 + 8;
    if (need > cap)
        return 0;
    p = put32(p, (uint32_t)rb_input.n);
    for (size_t i = 0; i < rb_input.n; i++) {
        size_t len = strlen(rb_input.names[i]);
        uint64_t t = (uint64_t)rb_input.times[i];

        p = put32(p, (uint32_t)len);
        memcpy(p, rb_input.names[i], len);
        memset(p + len, 0, ((len + 3) & ~(size_t)3) - len);
        p += (len + 3) & ~(size_t)3;
        p = put32(p, rb_input.uids[i]);
        p = put32(p, (uint32_t)(t >> 32));
        p = put32(p, (uint32_t)t);
    }
    return (size_t)(p - buf);
}

int rb_read_full(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;

    while (n > 0) {
        ssize_t k = read(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int rb_write_full(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;

    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int rb_child_setup(void)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        return -1;
    /* The parent may have died between fork and prctl: then the child now
     * belongs to another process and the signal will never come. */
    return getppid() == 1 ? -1 : 0;
}

/* close_others closes every descriptor above stderr but keep, so that a
 * server child holds no copy of the parent's other servers and clients
 * (a copy would keep a connection open after the parent closed it). */
static void close_others(int keep)
{
    struct rlimit rl;
    unsigned top;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur > 1u << 20)
        top = 1u << 20;
    else
        top = (unsigned)rl.rlim_cur;
    if (keep >= 3 && (keep == 3 || close_range(3, (unsigned)keep - 1, 0) == 0) &&
        close_range((unsigned)keep + 1, ~0u, 0) == 0)
        return;
    for (unsigned fd = 3; fd < top; fd++)
        if ((int)fd != keep)
            close((int)fd);
}

/* bind_socket makes the socket of transport, bound and (for streams)
 * listening, and stores its address in srv. */
static int bind_socket(int transport, const char *sock_path, rb_server *srv, char *err,
                       size_t errlen)
{
    int fd = -1;

    memset(&srv->addr, 0, sizeof srv->addr);
    if (transport == RB_UNIX) {
        struct sockaddr_un *sun = (struct sockaddr_un *)&srv->addr;

        if (strlen(sock_path) >= sizeof sun->sun_path) {
            rb_set_err(err, errlen, "socket path too long: %s", sock_path);
            return -1;
        }
        sun->sun_family = AF_UNIX;
        strcpy(sun->sun_path, sock_path);
        srv->addrlen = sizeof *sun;
        unlink(sock_path);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)&srv->addr;

        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        srv->addrlen = sizeof *sin;
        fd = socket(AF_INET, transport == RB_UDP ? SOCK_DGRAM : SOCK_STREAM, 0);
    }
    if (fd < 0)
        goto fail;
    if (transport == RB_TCP) {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    if (bind(fd, (struct sockaddr *)&srv->addr, srv->addrlen) != 0)
        goto fail;
    if (transport != RB_UDP && listen(fd, SOMAXCONN) != 0)
        goto fail;
    if (transport != RB_UNIX && getsockname(fd, (struct sockaddr *)&srv->addr, &srv->addrlen) != 0)
        goto fail;
    return fd;
fail:
    rb_set_err(err, errlen, "server socket: %s", strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

int rb_report_bound(int report_fd, const struct sockaddr *addr, socklen_t addrlen)
{
    bound_report r;
    int rc = -1;

    memset(&r, 0, sizeof r);
    if (addrlen <= sizeof r.addr) {
        r.addrlen = addrlen;
        memcpy(&r.addr, addr, addrlen);
        rc = rb_write_full(report_fd, &r, sizeof r);
    }
    close(report_fd);
    return rc;
}

/* start_listening forks a child that runs side->listen_serve and waits for
 * the address it reports. */
static int start_listening(const rb_side *side, int transport, const char *sock_path,
                           rb_server *srv, char *err, size_t errlen)
{
    struct pollfd pfd;
    bound_report r;
    int fds[2], rc;
    pid_t pid;

    if (pipe(fds) != 0) {
        rb_set_err(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        rb_set_err(err, errlen, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        char msg[256] = "";

        if (rb_child_setup() != 0)
            _exit(1);
        close_others(fds[1]);
        if (side->listen_serve(transport, sock_path, fds[1], msg, sizeof msg) == 0)
            _exit(0);
        fprintf(stderr, "bench_rpc: %s server: %s\n", side->name, msg);
        _exit(1);
    }
    close(fds[1]);
    srv->pid = pid;
    pfd.fd = fds[0];
    pfd.events = POLLIN;
    while ((rc = poll(&pfd, 1, REPORT_WAIT_MS)) < 0 && errno == EINTR)
        ;
    rc = rc == 1 ? rb_read_full(fds[0], &r, sizeof r) : -1;
    close(fds[0]);
    if (rc != 0 || r.addrlen == 0 || r.addrlen > sizeof srv->addr) {
        rb_set_err(err, errlen, "the server did not report the address it listens on");
        rb_server_stop(srv);
        return -1;
    }
    memcpy(&srv->addr, &r.addr, r.addrlen);
    srv->addrlen = r.addrlen;
    return 0;
}

int rb_server_start(const rb_side *side, int transport, const char *sock_path, rb_server *srv,
                    char *err, size_t errlen)
{
    int fd;
    pid_t pid;

    memset(srv, 0, sizeof *srv);
    srv->transport = transport;
    if (side->serve == NULL)
        return start_listening(side, transport, sock_path, srv, err, errlen);
    if ((fd = bind_socket(transport, sock_path, srv, err, errlen)) < 0)
        return -1;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        rb_set_err(err, errlen, "fork: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (pid == 0) {
        char msg[256] = "";

        if (rb_child_setup() != 0)
            _exit(1);
        close_others(fd);
        side->serve(transport, fd, msg, sizeof msg);
        fprintf(stderr, "bench_rpc: %s server: %s\n", side->name, msg);
        _exit(1);
    }
    close(fd);
    srv->pid = pid;
    return 0;
}

void rb_server_stop(rb_server *srv)
{
    if (srv->pid > 0) {
        struct timespec ms = {0, 1000000};
        pid_t r = 0;

        /* SIGTERM first: the servers that stop cleanly on it (Parley's)
         * then do so, the others die of it */
        kill(srv->pid, SIGTERM);
        for (int i = 0; i < STOP_WAIT_MS && (r = waitpid(srv->pid, NULL, WNOHANG)) == 0; i++)
            nanosleep(&ms, NULL);
        if (r == 0) {
            kill(srv->pid, SIGKILL);
            while (waitpid(srv->pid, NULL, 0) < 0 && errno == EINTR)
                ;
        }
        srv->pid = 0;
    }
    if (srv->transport == RB_UNIX && srv->addr.ss_family == AF_UNIX)
        unlink(((struct sockaddr_un *)&srv->addr)->sun_path);
    srv->addr.ss_family = AF_UNSPEC;
}
