/*
 * bench_mm.c: look-ups per second of parley-matchmaker against rpcbind, the
 * binder it stands in for, measured in one run. Each daemon runs on port 111
 * of a network namespace of its own (and a mount namespace with a tmpfs on
 * /run, for the local sockets and lock files), so neither touches the host's
 * binder; the clients of a daemon run in its namespace too, in a forked
 * child that the parent drives through pipes: "measure this case for W ms",
 * answered with the look-ups made and their median latency. The two
 * children take turns case by case and repetition by repetition, so that
 * the machine's drift falls on both alike.
 *
 * Before measuring, each child binds 50 TCP and 50 UDP sockets on
 * 127.0.0.1 and registers them (SET of rpcbind version 3, over UDP on
 * loopback) as programs 0x20000100 to 0x20000131, version 1, so that a
 * look-up searches a table that is not trivial and finds a live address.
 * The clients send the exact bytes of the call (AUTH_NONE) and read the
 * reply on a connected UDP socket or one TCP connection, calls back to
 * back; every reply is checked (xid, SUCCESS, the length of the result),
 * the first of each run in full.
 *
 * The cases: GETADDR of versions 3 and 4 over UDP and TCP, with 1 client
 * thread and with 4 in parallel (each its own socket), and GETPORT of the
 * port mapper (version 2) over UDP. It prints, per case, the median of the
 * look-ups per second over the repetitions for each daemon, the median of
 * the ratio within each repetition (parley over rpcbind: above 1 is more
 * look-ups), and, for one client, the median latency of a look-up.
 *
 * Namespaces need root: without it, or without rpcbind, or where the
 * kernel refuses the namespaces, it says so and exits 0. It exits 1 only
 * when a daemon fails to start or a look-up fails or is answered wrongly.
 *
 * Usage: bench_mm [--quick] [--reps N] [--window-ms W] [--matchmaker PATH]
 *                 [--rpcbind PATH]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"

#define DEFAULT_REPS      7
#define DEFAULT_WINDOW_MS 500
#define QUICK_REPS        1
#define QUICK_WINDOW_MS   40
#define MAX_THREADS       4
#define MAX_REPS          101
#define NPROGS            50
#define PROG_BASE         0x20000100u
#define LOOKED_UP         (PROG_BASE + 24) /* a program in the middle of the table */
#define MAX_LAT           (1u << 20)       /* latencies recorded per run */
#define WAIT_MS           10000            /* the longest wait for a daemon or a child */

enum { PROTO_UDP, PROTO_TCP };

/* One measurement: a procedure of one version over one transport, from a
 * number of client threads. */
typedef struct mm_case {
    const char *label;
    unsigned vers; /* 2: GETPORT; 3, 4: GETADDR */
    int proto;
    unsigned threads;
} mm_case;

static const mm_case cases[] = {
    {"v3 GETADDR udp", 3, PROTO_UDP, 1}, {"v4 GETADDR udp", 4, PROTO_UDP, 1},
    {"v3 GETADDR tcp", 3, PROTO_TCP, 1}, {"v4 GETADDR tcp", 4, PROTO_TCP, 1},
    {"v2 GETPORT udp", 2, PROTO_UDP, 1}, {"v4 GETADDR udp", 4, PROTO_UDP, 4},
    {"v4 GETADDR tcp", 4, PROTO_TCP, 4}, {"v2 GETPORT udp", 2, PROTO_UDP, 4},
};
enum { NCASES = sizeof cases / sizeof cases[0] };

enum { D_PARLEY, D_RPCBIND, NDAEMONS };
static const char *const daemon_names[NDAEMONS] = {"parley", "rpcbind"};

/* What the parent asks a child, and what the child answers. kase < 0:
 * stop the daemon and exit. */
typedef struct command {
    int kase;
    int window_ms;
} command;

typedef struct result {
    int status; /* 0: done; 1: skipped (why in msg); -1: failed (why in msg) */
    double per_s;
    double median_ns;
    char msg[160];
} result;

/* ---- XDR by hand ---- */

typedef struct msg {
    uint8_t b[512];
    size_t n;
} msg;

static void put32(msg *m, uint32_t v)
{
    m->b[m->n++] = (uint8_t)(v >> 24);
    m->b[m->n++] = (uint8_t)(v >> 16);
    m->b[m->n++] = (uint8_t)(v >> 8);
    m->b[m->n++] = (uint8_t)v;
}

static void put_string(msg *m, const char *s)
{
    size_t n = strlen(s);
    put32(m, (uint32_t)n);
    memcpy(m->b + m->n, s, n);
    m->n += n;
    while (m->n % 4)
        m->b[m->n++] = 0;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* call_header appends a CALL of program 100000 (AUTH_NONE). */
static void call_header(msg *m, uint32_t xid, uint32_t vers, uint32_t proc)
{
    put32(m, xid);
    put32(m, 0); /* CALL */
    put32(m, 2);
    put32(m, 100000);
    put32(m, vers);
    put32(m, proc);
    put32(m, 0);
    put32(m, 0);
    put32(m, 0);
    put32(m, 0);
}

/* rpcb_args appends an rpcb: prog, vers, netid, addr, owner "". */
static void rpcb_args(msg *m, uint32_t prog, const char *netid, const char *addr)
{
    put32(m, prog);
    put32(m, 1);
    put_string(m, netid);
    put_string(m, addr);
    put_string(m, "");
}

/* reply_result checks a reply's header (xid, MSG_ACCEPTED, SUCCESS) and
 * points *res at what follows; 0 or -1. */
static int reply_result(const uint8_t *p, size_t n, uint32_t xid, const uint8_t **res, size_t *rlen)
{
    if (n < 24 || get32(p) != xid || get32(p + 4) != 1 || get32(p + 8) != 0)
        return -1;
    uint32_t vlen = get32(p + 16);
    size_t off = 20 + (size_t)(vlen + 3) / 4 * 4;
    if (vlen > 400 || n < off + 4 || get32(p + off) != 0)
        return -1;
    *res = p + off + 4;
    *rlen = n - off - 4;
    return 0;
}

/* ---- inside a namespace ---- */

static long long now_ms(void)
{
    return (long long)(bench_now_ns() / 1000000u);
}

static void sleep_ms(int ms)
{
    poll(NULL, 0, ms);
}

/* The registered services: the ports of the sockets bound for them. */
static unsigned tcp_ports[NPROGS], udp_ports[NPROGS];
static int service_fds[2 * NPROGS];

static int bind_services(void)
{
    for (int i = 0; i < 2 * NPROGS; i++) {
        int tcp = i < NPROGS;
        int fd = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t l = sizeof a;
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
            (tcp && listen(fd, 1) != 0) || getsockname(fd, (struct sockaddr *)&a, &l) != 0)
            return -1;
        service_fds[i] = fd;
        if (tcp)
            tcp_ports[i] = ntohs(a.sin_port);
        else
            udp_ports[i - NPROGS] = ntohs(a.sin_port);
    }
    return 0;
}

static void uaddr_of(char *out, size_t cap, unsigned port)
{
    snprintf(out, cap, "127.0.0.1.%u.%u", port >> 8, port & 0xff);
}

static int connect_binder(int proto)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(111);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, (proto == PROTO_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A client: one socket to the binder and the call it repeats. */
typedef struct client {
    int fd, proto;
    msg call;       /* over TCP, with its record mark */
    size_t xid_off; /* where the xid is in call */
    uint32_t xid;
    uint8_t rb[4096];
} client;

static int client_init(client *c, int proto, const msg *body, uint32_t xid0)
{
    memset(c, 0, sizeof *c);
    c->proto = proto;
    c->xid = xid0;
    c->fd = connect_binder(proto);
    if (c->fd < 0)
        return -1;
    if (proto == PROTO_TCP) {
        put32(&c->call, 0x80000000u | (uint32_t)body->n);
        c->xid_off = 4;
    }
    memcpy(c->call.b + c->call.n, body->b, body->n);
    c->call.n += body->n;
    return 0;
}

/* read_full reads n bytes from a TCP socket (2 s at most); 0 or -1. */
static int read_full(int fd, uint8_t *p, size_t n)
{
    while (n) {
        struct pollfd pf = {fd, POLLIN, 0};
        ssize_t k = recv(fd, p, n, MSG_DONTWAIT);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
            continue;
        }
        if (k == 0 || (errno != EAGAIN && errno != EINTR))
            return -1;
        if (poll(&pf, 1, 2000) <= 0 && errno != EINTR)
            return -1;
    }
    return 0;
}

/* client_call makes one call and leaves the reply's result in *res; 0 or
 * -1. Over UDP a lost datagram is sent again (every 200 ms, 5 times). */
static int client_call(client *c, const uint8_t **res, size_t *rlen)
{
    uint32_t xid = ++c->xid;
    uint8_t *x = c->call.b + c->xid_off;
    x[0] = (uint8_t)(xid >> 24);
    x[1] = (uint8_t)(xid >> 16);
    x[2] = (uint8_t)(xid >> 8);
    x[3] = (uint8_t)xid;
    if (c->proto == PROTO_UDP) {
        for (int attempt = 0; attempt < 5; attempt++) {
            if (send(c->fd, c->call.b, c->call.n, 0) != (ssize_t)c->call.n)
                return -1;
            struct pollfd pf = {c->fd, POLLIN, 0};
            while (poll(&pf, 1, 200) > 0) {
                ssize_t k = recv(c->fd, c->rb, sizeof c->rb, 0);
                if (k < 0)
                    return -1;
                if ((size_t)k >= 4 && get32(c->rb) == xid)
                    return reply_result(c->rb, (size_t)k, xid, res, rlen);
            }
        }
        return -1;
    }
    if (send(c->fd, c->call.b, c->call.n, MSG_NOSIGNAL) != (ssize_t)c->call.n)
        return -1;
    size_t have = 0;
    for (;;) {
        uint8_t h[4];
        if (read_full(c->fd, h, 4) != 0)
            return -1;
        uint32_t v = get32(h);
        size_t n = v & 0x7fffffffu;
        if (n > sizeof c->rb - have || read_full(c->fd, c->rb + have, n) != 0)
            return -1;
        have += n;
        if (v & 0x80000000u)
            break;
    }
    return reply_result(c->rb, have, xid, res, rlen);
}

/* lookup_body is the call of a case (the xid is set per call). */
static void lookup_body(const mm_case *k, msg *m)
{
    memset(m, 0, sizeof *m);
    if (k->vers == 2) {
        call_header(m, 0, 2, 3); /* PMAPPROC_GETPORT */
        put32(m, LOOKED_UP);
        put32(m, 1);
        put32(m, 17); /* IPPROTO_UDP */
        put32(m, 0);
    } else {
        call_header(m, 0, k->vers, 3); /* RPCBPROC_GETADDR */
        rpcb_args(m, LOOKED_UP, k->proto == PROTO_TCP ? "tcp" : "udp", "");
    }
}

/* expected is the result a look-up of case k must get. */
static void expected(const mm_case *k, msg *m)
{
    memset(m, 0, sizeof *m);
    unsigned i = LOOKED_UP - PROG_BASE;
    if (k->vers == 2) {
        put32(m, udp_ports[i]);
    } else {
        char ua[32];
        uaddr_of(ua, sizeof ua, k->proto == PROTO_TCP ? tcp_ports[i] : udp_ports[i]);
        put_string(m, ua);
    }
}

/* A thread of a run. */
typedef struct worker {
    pthread_t t;
    const mm_case *k;
    pthread_barrier_t *start;
    long long end_ns;
    unsigned long long calls;
    uint64_t *lat; /* one client only: each call's time */
    size_t nlat;
    int failed;
    int id;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    client *c = malloc(sizeof *c);
    msg body, want;
    lookup_body(w->k, &body);
    expected(w->k, &want);
    int ok = c && client_init(c, w->k->proto, &body, (uint32_t)w->id << 24) == 0;
    pthread_barrier_wait(w->start);
    if (!ok) {
        w->failed = 1;
        goto out;
    }
    for (;;) {
        uint64_t t0 = bench_now_ns();
        if ((long long)t0 >= w->end_ns)
            break;
        const uint8_t *res;
        size_t rlen;
        if (client_call(c, &res, &rlen) != 0 || rlen != want.n ||
            (w->calls == 0 && memcmp(res, want.b, want.n) != 0)) {
            w->failed = 1;
            break;
        }
        if (w->lat && w->nlat < MAX_LAT)
            w->lat[w->nlat++] = bench_now_ns() - t0;
        w->calls++;
    }
out:
    if (c && c->fd >= 0)
        close(c->fd);
    free(c);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* run_case measures case k for window_ms. */
static void run_case(const mm_case *k, int window_ms, result *r)
{
    worker w[MAX_THREADS];
    pthread_barrier_t start;
    memset(w, 0, sizeof w);
    pthread_barrier_init(&start, NULL, k->threads + 1);
    uint64_t *lat = k->threads == 1 ? malloc(MAX_LAT * sizeof *lat) : NULL;
    unsigned started = 0;
    for (unsigned i = 0; i < k->threads; i++) {
        w[i].k = k;
        w[i].start = &start;
        w[i].end_ns = INT64_MAX;
        w[i].lat = i == 0 ? lat : NULL;
        w[i].id = (int)i + 1;
    }
    /* the end is set before the threads go: they read it after the barrier */
    for (; started < k->threads; started++)
        if (pthread_create(&w[started].t, NULL, worker_main, &w[started]) != 0)
            break;
    long long t0 = (long long)bench_now_ns();
    for (unsigned i = 0; i < started; i++)
        w[i].end_ns = t0 + (long long)window_ms * 1000000;
    if (started < k->threads) {
        snprintf(r->msg, sizeof r->msg, "pthread_create failed");
        r->status = -1;
        for (unsigned i = started; i < k->threads; i++)
            pthread_barrier_wait(&start);
    } else {
        pthread_barrier_wait(&start);
    }
    t0 = (long long)bench_now_ns();
    unsigned long long calls = 0;
    int failed = 0;
    for (unsigned i = 0; i < started; i++) {
        pthread_join(w[i].t, NULL);
        calls += w[i].calls;
        failed |= w[i].failed;
    }
    long long t1 = (long long)bench_now_ns();
    pthread_barrier_destroy(&start);
    if (failed && r->status == 0) {
        snprintf(r->msg, sizeof r->msg, "%s: a look-up failed or was answered wrongly", k->label);
        r->status = -1;
    }
    r->per_s = t1 > t0 ? (double)calls * 1e9 / (double)(t1 - t0) : 0;
    r->median_ns = 0;
    if (lat && w[0].nlat) {
        qsort(lat, w[0].nlat, sizeof *lat, cmp_u64);
        r->median_ns = (double)lat[w[0].nlat / 2];
    }
    free(lat);
}

/* simple_call makes one call over UDP to the binder; its result's first
 * word, or -1. */
static long long simple_call(const msg *body)
{
    client *c = malloc(sizeof *c);
    long long v = -1;
    const uint8_t *res;
    size_t rlen;
    if (c && client_init(c, PROTO_UDP, body, 0x5e000000u) == 0 && client_call(c, &res, &rlen) == 0)
        v = rlen >= 4 ? (long long)get32(res) : 0;
    if (c && c->fd >= 0)
        close(c->fd);
    free(c);
    return v;
}

/* enter_namespaces gives the child a network namespace with lo up and a
 * mount namespace with a private tmpfs on /run. 0, 1 when the kernel
 * refuses (r->msg says why), -1 on another failure. */
static int enter_namespaces(result *r)
{
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) {
        snprintf(r->msg, sizeof r->msg, "namespaces not permitted (unshare: %s)", strerror(errno));
        return 1;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=755") != 0) {
        snprintf(r->msg, sizeof r->msg, "mounts in the namespace not permitted (%s)",
                 strerror(errno));
        return 1;
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int rc = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 ? 0 : -1;
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (rc == 0)
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        snprintf(r->msg, sizeof r->msg, "bringing lo up failed: %s", strerror(errno));
    return rc;
}

/* start_daemon starts the binder and waits until it answers NULL on UDP;
 * its pid, or -1. */
static pid_t start_daemon(int which, const char *path)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        if (which == D_PARLEY)
            execl(path, path, "--port", "111", "--no-state", "--socket", "/run/parley-mm.sock",
                  "--rpcbind-socket", "/run/rpcbind.sock", (char *)NULL);
        else /* foreground, as root, no warm start */
            execl(path, path, "-f", "-s", (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        return -1;
    msg null_call = {{0}, 0};
    call_header(&null_call, 0, 3, 0);
    for (long long end = now_ms() + WAIT_MS; now_ms() < end;) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1;
        if (simple_call(&null_call) >= 0)
            return pid;
        sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static void stop_daemon(pid_t pid)
{
    kill(pid, SIGTERM);
    for (long long end = now_ms() + WAIT_MS; now_ms() < end; sleep_ms(10))
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* register_services SETs every service over UDP and checks one with
 * GETPORT; 0 or -1. */
static int register_services(void)
{
    for (unsigned i = 0; i < NPROGS; i++) {
        for (int tcp = 0; tcp < 2; tcp++) {
            char ua[32];
            uaddr_of(ua, sizeof ua, tcp ? tcp_ports[i] : udp_ports[i]);
            msg m = {{0}, 0};
            call_header(&m, 0, 3, 1); /* RPCBPROC_SET */
            rpcb_args(&m, PROG_BASE + i, tcp ? "tcp" : "udp", ua);
            if (simple_call(&m) != 1)
                return -1;
        }
    }
    msg m = {{0}, 0};
    call_header(&m, 0, 2, 3);
    put32(&m, LOOKED_UP);
    put32(&m, 1);
    put32(&m, 17);
    put32(&m, 0);
    return simple_call(&m) == udp_ports[LOOKED_UP - PROG_BASE] ? 0 : -1;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n, int timeout_ms)
{
    char *b = p;
    while (n) {
        struct pollfd pf = {fd, POLLIN, 0};
        int r = poll(&pf, 1, timeout_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t k = read(fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

/* child_main: the life of one daemon's namespace. It reports its start
 * (a result: 0, skipped or failed), then answers commands until told to
 * stop. */
static int child_main(int which, const char *path, int cmd_fd, int res_fd)
{
    result r;
    memset(&r, 0, sizeof r);
    int rc = enter_namespaces(&r);
    pid_t pid = -1;
    if (rc == 0 && bind_services() != 0) {
        snprintf(r.msg, sizeof r.msg, "binding the services' sockets failed");
        rc = -1;
    }
    if (rc == 0 && (pid = start_daemon(which, path)) < 0) {
        snprintf(r.msg, sizeof r.msg, "%s did not start or answer on port 111", path);
        rc = -1;
    }
    if (rc == 0 && register_services() != 0) {
        snprintf(r.msg, sizeof r.msg, "%s refused or lost a registration", daemon_names[which]);
        rc = -1;
    }
    r.status = rc;
    if (write_all(res_fd, &r, sizeof r) != 0 || rc != 0)
        goto out;
    for (;;) {
        command c;
        if (read_all(cmd_fd, &c, sizeof c, -1) != 0 || c.kase < 0 || c.kase >= NCASES)
            break;
        memset(&r, 0, sizeof r);
        run_case(&cases[c.kase], c.window_ms, &r);
        if (write_all(res_fd, &r, sizeof r) != 0)
            break;
    }
out:
    if (pid > 0)
        stop_daemon(pid);
    return rc < 0 ? 1 : 0;
}

/* ---- the parent ---- */

typedef struct side {
    pid_t pid;
    int cmd_fd, res_fd;
} side;

static int side_start(side *s, int which, const char *path, result *r)
{
    int cmd[2], res[2];
    if (pipe2(cmd, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(res, O_CLOEXEC) != 0) {
        close(cmd[0]);
        close(cmd[1]);
        return -1;
    }
    fflush(NULL);
    s->pid = fork();
    if (s->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(cmd[1]);
        close(res[0]);
        _exit(child_main(which, path, cmd[0], res[1]));
    }
    close(cmd[0]);
    close(res[1]);
    s->cmd_fd = cmd[1];
    s->res_fd = res[0];
    if (s->pid < 0 || read_all(s->res_fd, r, sizeof *r, WAIT_MS * 3) != 0) {
        snprintf(r->msg, sizeof r->msg, "the %s namespace did not report", daemon_names[which]);
        r->status = -1;
    }
    return r->status;
}

static int side_stop(side *s)
{
    int st = -1;
    if (s->pid <= 0)
        return -1;
    command c = {-1, 0};
    write_all(s->cmd_fd, &c, sizeof c);
    close(s->cmd_fd);
    close(s->res_fd);
    for (long long end = now_ms() + 2 * WAIT_MS; now_ms() < end; sleep_ms(10))
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
    return -1;
}

static double median(double *v, unsigned n)
{
    if (!n)
        return 0;
    for (unsigned i = 1; i < n; i++) /* insertion sort: a handful of values */
        for (unsigned j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const char *find_rpcbind(void)
{
    static const char *const paths[] = {"/usr/sbin/rpcbind", "/sbin/rpcbind"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

/* default_matchmaker is parley-matchmaker beside this program. */
static int default_matchmaker(char *out, size_t cap)
{
    char self[2048];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    snprintf(out, cap, "%s/parley-matchmaker", self);
    return access(out, X_OK) == 0 ? 0 : -1;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_mm [--quick] [--reps N] [--window-ms W] [--matchmaker PATH] "
                    "[--rpcbind PATH]\n"
                    "  --quick            a short run (a smoke test; rough figures)\n"
                    "  --reps N           repetitions of every case (default 7)\n"
                    "  --window-ms W      length of one measurement (default 500)\n"
                    "  --matchmaker PATH  the daemon (default: beside bench_mm)\n"
                    "  --rpcbind PATH     rpcbind (default /usr/sbin/rpcbind)\n");
}

int main(int argc, char **argv)
{
    unsigned reps = DEFAULT_REPS;
    int window_ms = DEFAULT_WINDOW_MS, quick = 0;
    static char mm_path[4096];
    const char *rpcbind_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--quick") == 0) {
            quick = 1;
        } else if (strcmp(a, "--reps") == 0 && v) {
            reps = (unsigned)atoi(v);
            i++;
        } else if (strcmp(a, "--window-ms") == 0 && v) {
            window_ms = atoi(v);
            i++;
        } else if (strcmp(a, "--matchmaker") == 0 && v) {
            snprintf(mm_path, sizeof mm_path, "%s", v);
            i++;
        } else if (strcmp(a, "--rpcbind") == 0 && v) {
            rpcbind_path = v;
            i++;
        } else {
            usage();
            return strcmp(a, "--help") == 0 ? 0 : 2;
        }
    }
    if (quick) {
        reps = QUICK_REPS;
        window_ms = QUICK_WINDOW_MS;
    }
    if (reps < 1 || reps > MAX_REPS || window_ms < 1 || window_ms > 60000) {
        usage();
        return 2;
    }
    if (geteuid() != 0) {
        printf("bench_mm: skipped: the daemons run in network namespaces of their own, which "
               "need root\n");
        return 0;
    }
    if (!rpcbind_path && !(rpcbind_path = find_rpcbind())) {
        printf("bench_mm: skipped: rpcbind is not installed (the Debian package rpcbind)\n");
        return 0;
    }
    if (!mm_path[0] && default_matchmaker(mm_path, sizeof mm_path) != 0) {
        fprintf(stderr, "bench_mm: parley-matchmaker not found beside bench_mm; use "
                        "--matchmaker PATH\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);

    side sides[NDAEMONS];
    memset(sides, 0, sizeof sides);
    const char *paths[NDAEMONS] = {mm_path, rpcbind_path};
    int failed = 0;
    for (int d = 0; d < NDAEMONS && !failed; d++) {
        result r;
        memset(&r, 0, sizeof r);
        int rc = side_start(&sides[d], d, paths[d], &r);
        if (rc == 1) {
            printf("bench_mm: skipped: %s\n", r.msg);
            for (int e = 0; e <= d; e++)
                side_stop(&sides[e]);
            return 0;
        }
        if (rc != 0) {
            fprintf(stderr, "bench_mm: %s\n", r.msg);
            failed = 1;
        }
    }

    static double per_s[NCASES][NDAEMONS][MAX_REPS], ratio[NCASES][MAX_REPS];
    static double lat[NCASES][NDAEMONS][MAX_REPS];
    for (unsigned rep = 0; rep < reps && !failed; rep++) {
        for (int k = 0; k < NCASES && !failed; k++) {
            /* the two daemons take turns, in alternating order */
            for (int j = 0; j < NDAEMONS && !failed; j++) {
                int d = (rep + (unsigned)k) % 2 ? NDAEMONS - 1 - j : j;
                command c = {k, window_ms};
                result r;
                if (write_all(sides[d].cmd_fd, &c, sizeof c) != 0 ||
                    read_all(sides[d].res_fd, &r, sizeof r, window_ms + 3 * WAIT_MS) != 0) {
                    fprintf(stderr, "bench_mm: the %s namespace stopped answering\n",
                            daemon_names[d]);
                    failed = 1;
                    break;
                }
                if (r.status != 0) {
                    fprintf(stderr, "bench_mm: %s: %s\n", daemon_names[d], r.msg);
                    failed = 1;
                }
                per_s[k][d][rep] = r.per_s;
                lat[k][d][rep] = r.median_ns;
            }
            ratio[k][rep] = per_s[k][D_RPCBIND][rep] > 0
                                ? per_s[k][D_PARLEY][rep] / per_s[k][D_RPCBIND][rep]
                                : 0;
        }
    }
    for (int d = 0; d < NDAEMONS; d++)
        if (sides[d].pid > 0 && side_stop(&sides[d]) != 0 && !failed) {
            fprintf(stderr, "bench_mm: the %s namespace did not end cleanly\n", daemon_names[d]);
            failed = 1;
        }
    if (failed)
        return 1;

    printf("bench_mm: look-ups per second on loopback, each daemon on port 111 of its own network "
           "namespace,\n%d programs x (tcp, udp) registered; median of %u runs of %d ms%s\n\n",
           NPROGS, reps, window_ms, quick ? " (--quick: rough figures)" : "");
    printf("%-16s %7s %12s %12s %14s %12s %12s\n", "look-up", "clients", "parley/s", "rpcbind/s",
           "parley/rpcbind", "lat parley", "lat rpcbind");
    for (int k = 0; k < NCASES; k++) {
        double p = median(per_s[k][D_PARLEY], reps), b = median(per_s[k][D_RPCBIND], reps);
        double q = median(ratio[k], reps);
        printf("%-16s %7u %12.0f %12.0f %13.2fx", cases[k].label, cases[k].threads, p, b, q);
        if (cases[k].threads == 1)
            printf(" %10.1fus %10.1fus\n", median(lat[k][D_PARLEY], reps) / 1000,
                   median(lat[k][D_RPCBIND], reps) / 1000);
        else
            printf(" %12s %12s\n", "-", "-");
    }
    printf("\nparley/rpcbind: the median over the runs of the ratio of look-ups per second in "
           "the same run (above 1: parley answers more).\nlat: the median time of one look-up "
           "with one client, calls back to back.\n");
    return 0;
}
