/*
 * tests/fault/test_fault_proxy.c: the fault-injecting proxy (proxy.h)
 * between a client socket of the test and echo peers written here, on
 * threads of their own: a UDP echo, and a TCP echo that reads RPC record
 * marking and sends each whole record back. No Parley runtime is involved,
 * so what these tests see is the proxy alone: datagrams passed, dropped,
 * duplicated, reordered and delayed as the stats say; the same seed making
 * the same decisions; a TCP connection reset after the server read a whole
 * call and before any reply; a retarget; a stop with clients still there.
 * Then the command, parley-faultproxy, whose path is the first argument.
 *
 * The tests print their seed; PARLEY_FAULT_SEED=<seed> replays it. Waits
 * are for conditions, each bounded (WAIT_MS), never for a time to pass.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "parley/error.h"
#include "proxy.h"

/* The bound on every wait for a condition. */
#define WAIT_MS 10000

static const char *cli_path;

static uint64_t test_seed(void)
{
    const char *env = getenv("PARLEY_FAULT_SEED");
    uint64_t seed;
    if (env != NULL) {
        seed = strtoull(env, NULL, 0);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed =
            ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ ((uint64_t)getpid() << 32);
    }
    if (seed == 0)
        seed = 1;
    print_message("seed %" PRIu64 " (replay: PARLEY_FAULT_SEED=%" PRIu64 ")\n", seed, seed);
    return seed;
}

static void nap_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* WAIT_FOR polls the proxy's stats into st until cond holds, at most
 * WAIT_MS, and fails the test if it never does. */
#define WAIT_FOR(p, st, cond)                                                                      \
    do {                                                                                           \
        int ok_ = 0;                                                                               \
        for (unsigned w_ = 0; w_ < WAIT_MS && !ok_; w_++) {                                        \
            pf_stats_get((p), &(st));                                                              \
            ok_ = (cond);                                                                          \
            if (!ok_)                                                                              \
                nap_ms(1);                                                                         \
        }                                                                                          \
        if (!ok_)                                                                                  \
            fail_msg("waited in vain for %s", #cond);                                              \
    } while (0)

/* ---- sockets ---- */

/* addr_of formats the address a socket is bound to as the proxy reads it. */
static void addr_of(int fd, const char *scheme, char *buf, size_t cap)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(buf, cap, "%s://127.0.0.1:%u", scheme, (unsigned)ntohs(sa.sin_port));
}

static int bound_socket(int type)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* connect_to opens a socket of the address's transport connected to it. */
static int connect_to(const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int type;
    assert_int_equal(pf_addr_parse(addr, &ss, &sl, &type), PARLEY_OK);
    int fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&ss, sl), 0);
    return fd;
}

/* recv_wait reads one datagram or some bytes (of a socket or a pipe)
 * within WAIT_MS: the count, or -1 with errno (ETIMEDOUT when nothing
 * came). */
static ssize_t recv_wait(int fd, void *buf, size_t cap)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int r = poll(&pfd, 1, WAIT_MS);
    if (r == 0)
        errno = ETIMEDOUT;
    if (r <= 0)
        return -1;
    return read(fd, buf, cap);
}

static void send_seq(int fd, uint32_t seq)
{
    uint32_t v = htonl(seq);
    assert_int_equal(send(fd, &v, sizeof v, 0), (ssize_t)sizeof v);
}

/* recv_seq receives one datagram of send_seq's and returns its number. */
static uint32_t recv_seq(int fd)
{
    uint32_t v;
    ssize_t n = recv_wait(fd, &v, sizeof v);
    if (n != (ssize_t)sizeof v)
        fail_msg("no datagram: %zd (%s)", n, strerror(errno));
    return ntohl(v);
}

/* ---- the UDP echo ---- */

typedef struct udp_echo {
    int fd;
    pthread_t thread;
    atomic_int stop;
    atomic_uint received;
    char addr[PF_ADDR_MAX];
} udp_echo;

static void *udp_echo_run(void *arg)
{
    udp_echo *e = arg;
    uint8_t buf[65536];
    while (!atomic_load(&e->stop)) { /* until the test stops it */
        struct pollfd pfd = {.fd = e->fd, .events = POLLIN};
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        ssize_t n = recvfrom(e->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
        if (n < 0)
            continue;
        atomic_fetch_add(&e->received, 1);
        sendto(e->fd, buf, (size_t)n, 0, (struct sockaddr *)&ss, sl);
    }
    return NULL;
}

static void udp_echo_start(udp_echo *e)
{
    memset(e, 0, sizeof *e);
    e->fd = bound_socket(SOCK_DGRAM);
    addr_of(e->fd, "udp", e->addr, sizeof e->addr);
    assert_int_equal(pthread_create(&e->thread, NULL, udp_echo_run, e), 0);
}

static void udp_echo_stop(udp_echo *e)
{
    atomic_store(&e->stop, 1);
    pthread_join(e->thread, NULL);
    close(e->fd);
}

/* ---- the TCP echo: whole records back, as they came ---- */

enum { ECHO_CONNS = 8, ECHO_BUF = 512 << 10 };

typedef struct tcp_echo {
    int lfd;
    pthread_t thread;
    atomic_int stop;
    int reply; /* 0: read records and answer none */
    atomic_uint records, resets, accepted;
    char addr[PF_ADDR_MAX];
    int fds[ECHO_CONNS];
    uint8_t *bufs[ECHO_CONNS];
    size_t lens[ECHO_CONNS];
} tcp_echo;

/* record_len returns the length of the whole record at the start of buf
 * (headers included), or 0 while it is incomplete. */
static size_t record_len(const uint8_t *buf, size_t len)
{
    size_t pos = 0;
    for (;;) { /* each fragment moves pos forward by at least 4 */
        if (len - pos < 4)
            return 0;
        uint32_t v = (uint32_t)buf[pos] << 24 | (uint32_t)buf[pos + 1] << 16 |
                     (uint32_t)buf[pos + 2] << 8 | buf[pos + 3];
        size_t flen = v & 0x7fffffffu;
        if (len - pos - 4 < flen)
            return 0;
        pos += 4 + flen;
        if (v >> 31)
            return pos;
    }
}

static void send_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) { /* blocking: each round sends at least a byte or ends */
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        len -= (size_t)w;
    }
}

static void tcp_echo_drop(tcp_echo *e, unsigned i)
{
    close(e->fds[i]);
    free(e->bufs[i]);
    e->fds[i] = -1;
    e->bufs[i] = NULL;
    e->lens[i] = 0;
}

static void tcp_echo_read(tcp_echo *e, unsigned i)
{
    if (e->lens[i] == ECHO_BUF)
        e->lens[i] = 0; /* a record larger than the echo takes: read on, answer nothing */
    ssize_t n = recv(e->fds[i], e->bufs[i] + e->lens[i], ECHO_BUF - e->lens[i], MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        if (n < 0 && errno == ECONNRESET)
            atomic_fetch_add(&e->resets, 1);
        tcp_echo_drop(e, i);
        return;
    }
    e->lens[i] += (size_t)n;
    size_t rl;
    while ((rl = record_len(e->bufs[i], e->lens[i])) > 0) { /* at most lens/4 records */
        atomic_fetch_add(&e->records, 1);
        if (e->reply)
            send_all(e->fds[i], e->bufs[i], rl);
        memmove(e->bufs[i], e->bufs[i] + rl, e->lens[i] - rl);
        e->lens[i] -= rl;
    }
}

static void *tcp_echo_run(void *arg)
{
    tcp_echo *e = arg;
    while (!atomic_load(&e->stop)) { /* until the test stops it */
        struct pollfd pfd[1 + ECHO_CONNS];
        unsigned n = 0, who[ECHO_CONNS];
        pfd[n++] = (struct pollfd){.fd = e->lfd, .events = POLLIN};
        for (unsigned i = 0; i < ECHO_CONNS; i++) {
            if (e->fds[i] >= 0) {
                who[n - 1] = i;
                pfd[n++] = (struct pollfd){.fd = e->fds[i], .events = POLLIN};
            }
        }
        if (poll(pfd, n, 20) <= 0)
            continue;
        for (unsigned k = 1; k < n; k++)
            if (pfd[k].revents)
                tcp_echo_read(e, who[k - 1]);
        if (pfd[0].revents & POLLIN) {
            int fd = accept4(e->lfd, NULL, NULL, SOCK_CLOEXEC);
            unsigned i = 0;
            while (i < ECHO_CONNS && e->fds[i] >= 0)
                i++;
            if (fd >= 0 && i < ECHO_CONNS && (e->bufs[i] = malloc(ECHO_BUF)) != NULL) {
                e->fds[i] = fd;
                atomic_fetch_add(&e->accepted, 1);
            } else if (fd >= 0) {
                close(fd);
            }
        }
    }
    return NULL;
}

static void tcp_echo_start(tcp_echo *e, int reply)
{
    memset(e, 0, sizeof *e);
    e->reply = reply;
    for (unsigned i = 0; i < ECHO_CONNS; i++)
        e->fds[i] = -1;
    e->lfd = bound_socket(SOCK_STREAM);
    assert_int_equal(listen(e->lfd, 16), 0);
    addr_of(e->lfd, "tcp", e->addr, sizeof e->addr);
    assert_int_equal(pthread_create(&e->thread, NULL, tcp_echo_run, e), 0);
}

static void tcp_echo_stop(tcp_echo *e)
{
    atomic_store(&e->stop, 1);
    pthread_join(e->thread, NULL);
    for (unsigned i = 0; i < ECHO_CONNS; i++)
        if (e->fds[i] >= 0)
            tcp_echo_drop(e, i);
    close(e->lfd);
}

/* wait_count waits (bounded) until *c reaches want. */
static void wait_count(atomic_uint *c, unsigned want)
{
    for (unsigned i = 0; i < WAIT_MS && atomic_load(c) < want; i++)
        nap_ms(1);
    assert_int_equal(atomic_load(c), want);
}

/* ---- records for the TCP tests ---- */

/* send_record sends len bytes of filler as one record of nfrag fragments. */
static void send_record(int fd, size_t len, unsigned nfrag, uint8_t fill)
{
    size_t left = len;
    for (unsigned f = 0; f < nfrag; f++) {
        size_t flen = f + 1 == nfrag ? left : left / 2;
        uint32_t h = htonl((uint32_t)flen | (f + 1 == nfrag ? 0x80000000u : 0));
        uint8_t *b = malloc(4 + flen);
        assert_non_null(b);
        memcpy(b, &h, 4);
        memset(b + 4, fill, flen);
        send_all(fd, b, 4 + flen);
        free(b);
        left -= flen;
    }
}

/* recv_record reads one whole record into a fresh buffer of its payload
 * (all fragments joined); the payload's length, or -errno (ETIMEDOUT; a
 * reset; ECONNABORTED for an end of stream). The caller frees *out. */
static ssize_t recv_record(int fd, uint8_t **out)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    for (unsigned f = 0; f < 1000; f++) {
        uint8_t h[4];
        size_t got = 0;
        while (got < 4) { /* bounded by recv_wait's time-out */
            ssize_t n = recv_wait(fd, h + got, 4 - got);
            if (n <= 0) {
                free(buf);
                return n == 0 ? -ECONNABORTED : -errno;
            }
            got += (size_t)n;
        }
        uint32_t v = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
        size_t flen = v & 0x7fffffffu;
        uint8_t *nb = realloc(buf, len + flen + 1);
        assert_non_null(nb);
        buf = nb;
        for (got = 0; got < flen;) {
            ssize_t n = recv_wait(fd, buf + len + got, flen - got);
            if (n <= 0) {
                free(buf);
                return n == 0 ? -ECONNABORTED : -errno;
            }
            got += (size_t)n;
        }
        len += flen;
        if (v >> 31) {
            *out = buf;
            return (ssize_t)len;
        }
    }
    free(buf);
    return -EPROTO;
}

/* expect_record receives a record of len bytes of fill. */
static void expect_record(int fd, size_t len, uint8_t fill)
{
    uint8_t *b = NULL;
    ssize_t n = recv_record(fd, &b);
    assert_int_equal(n, (ssize_t)len);
    for (size_t i = 0; i < len; i++)
        if (b[i] != fill)
            fail_msg("byte %zu of the record is %u, not %u", i, b[i], fill);
    free(b);
}

/* ---- UDP ---- */

static void test_udp_without_faults_passes_every_datagram_unchanged(void **state)
{
    udp_echo e;
    pf_proxy *p;
    char bound[PF_ADDR_MAX];
    pf_opts o = {.seed = test_seed()};
    pf_stats st;

    udp_echo_start(&e);
    assert_int_equal(pf_start(&p, "udp://127.0.0.1:0", e.addr, &o, bound, sizeof bound), PARLEY_OK);
    assert_int_equal(pf_seed(p), o.seed);
    /* two clients, two flows, each gets its own replies */
    int a = connect_to(bound), b = connect_to(bound);
    for (uint32_t i = 0; i < 50; i++) {
        send_seq(a, i);
        send_seq(b, 1000 + i);
        assert_int_equal(recv_seq(a), i);
        assert_int_equal(recv_seq(b), 1000 + i);
    }
    /* the largest datagram too, unchanged */
    uint8_t *big = malloc(65507), *back = malloc(65536);
    assert_non_null(big);
    assert_non_null(back);
    for (size_t i = 0; i < 65507; i++)
        big[i] = (uint8_t)(i * 7);
    assert_int_equal(send(a, big, 65507, 0), 65507);
    assert_int_equal(recv_wait(a, back, 65536), 65507);
    assert_memory_equal(big, back, 65507);
    free(big);
    free(back);

    pf_stats_get(p, &st);
    for (int d = 0; d < 2; d++) {
        assert_int_equal(st.dir[d].datagrams, 101);
        assert_int_equal(st.dir[d].sent, 101);
        assert_int_equal(st.dir[d].dropped + st.dir[d].duplicated + st.dir[d].delayed +
                             st.dir[d].reordered + st.dir[d].send_failed,
                         0);
    }
    assert_int_equal(st.flows, 2);
    assert_int_equal(st.held, 0);
    close(a);
    close(b);
    pf_stop(p);
    udp_echo_stop(&e);
}

static void test_udp_drop_all_delivers_nothing(void **state)
{
    udp_echo e;
    pf_proxy *p;
    char bound[PF_ADDR_MAX];
    pf_opts o = {.seed = test_seed(), .drop_pct = 100};
    pf_stats st;

    udp_echo_start(&e);
    assert_int_equal(pf_start(&p, "udp://127.0.0.1:0", e.addr, &o, bound, sizeof bound), PARLEY_OK);
    int c = connect_to(bound);
    for (uint32_t i = 0; i < 20; i++)
        send_seq(c, i);
    WAIT_FOR(p, st, st.dir[PF_TO_SERVER].datagrams == 20);
    assert_int_equal(st.dir[PF_TO_SERVER].dropped, 20);
    assert_int_equal(st.dir[PF_TO_SERVER].sent, 0);

    /* Heal the network: a marker goes through, and is all the echo saw. */
    o.drop_pct = 0;
    assert_int_equal(pf_set(p, &o), PARLEY_OK);
    send_seq(c, 99);
    assert_int_equal(recv_seq(c), 99);
    assert_int_equal(atomic_load(&e.received), 1);
    close(c);
    pf_stop(p);
    udp_echo_stop(&e);
}

static void test_udp_dup_all_delivers_every_datagram_twice(void **state)
{
    udp_echo e;
    pf_proxy *p;
    char bound[PF_ADDR_MAX];
    pf_opts o = {.seed = test_seed(), .dup_pct = 100, .direction_mask = PF_DIR_TO_SERVER};
    pf_stats st;

    udp_echo_start(&e);
    assert_int_equal(pf_start(&p, "udp://127.0.0.1:0", e.addr, &o, bound, sizeof bound), PARLEY_OK);
    int c = connect_to(bound);
    for (uint32_t i = 0; i < 20; i++) {
        send_seq(c, i);
        assert_int_equal(recv_seq(c), i);
        assert_int_equal(recv_seq(c), i);
    }
    /* Both directions now: each datagram comes back four times. */
    o.direction_mask = PF_DIR_BOTH;
    assert_int_equal(pf_set(p, &o), PARLEY_OK);
    send_seq(c, 20);
    for (int k = 0; k < 4; k++)
        assert_int_equal(recv_seq(c), 20);
    /* Healed, a marker shows that nothing more was on its way. */
    o.dup_pct = 0;
    assert_int_equal(pf_set(p, &o), PARLEY_OK);
    send_seq(c, 21);
    assert_int_equal(recv_seq(c), 21);

    pf_stats_get(p, &st);
    assert_int_equal(atomic_load(&e.received), 43);
    assert_int_equal(st.dir[PF_TO_SERVER].datagrams, 22);
    assert_int_equal(st.dir[PF_TO_SERVER].duplicated, 21);
    assert_int_equal(st.dir[PF_TO_SERVER].sent, 43);
    assert_int_equal(st.dir[PF_TO_CLIENT].datagrams, 43);
    assert_int_equal(st.dir[PF_TO_CLIENT].duplicated, 2);
    assert_int_equal(st.dir[PF_TO_CLIENT].sent, 45);
    close(c);
    pf_stop(p);
    udp_echo_stop(&e);
}

static void test_udp_reorder_swaps_each_datagram_with_the_next(void **state)
{
    udp_echo e;
    pf_proxy *p;
    char bound[PF_ADDR_MAX];
    /* a wait far longer than the test, so only the next datagram or
     * pf_flush lets one go */
    pf_opts o = {.seed = test_seed(),
                 .reorder_pct = 100,
                 .reorder_wait_ms = 600000,
                 .direction_mask = PF_DIR_TO_SERVER};
    pf_stats st;

    udp_echo_start(&e);
    assert_int_equal(pf_start(&p, "udp://127.0.0.1:0", e.addr, &o, bound, sizeof bound), PARLEY_OK);
    int c = connect_to(bound);
    for (uint32_t i = 1; i <= 11; i++)
        send_seq(c, i);
    /* 1 is held until 2 passes, then 3 until 4, ...: 2 1 4 3 ... 10 9 */
    for (uint32_t i = 1; i <= 10; i += 2) {
        assert_int_equal(recv_seq(c), i + 1);
        assert_int_equal(recv_seq(c), i);
    }
    WAIT_FOR(p, st, st.dir[PF_TO_SERVER].datagrams == 11);
    assert_int_equal(st.held, 1); /* 11, with nothing after it */
    pf_flush(p, 0);
    assert_int_equal(recv_seq(c), 11);
    pf_stats_get(p, &st);
    assert_int_equal(st.dir[PF_TO_SERVER].reordered, 6);
    assert_int_equal(st.dir[PF_TO_SERVER].sent, 11);
    assert_int_equal(st.dir[PF_TO_CLIENT].reordered, 0);
    assert_int_equal(st.held, 0);
    assert_int_equal(atomic_load(&e.received), 11);
    close(c);
    pf_stop(p);
    udp_echo_stop(&e);
}

/* receive_each_once receives n datagrams numbered base..base+n-1 in any
 * order, each exactly once, and returns how many came after a higher one. */
static unsigned receive_each_once(int c, uint32_t base, unsigned n)
{
    uint8_t seen[512] = {0};
    unsigned late = 0;
    uint32_t high = 0;
    assert_true(n <= sizeof seen);
    for (unsigned k = 0; k < n; k++) {
        uint32_t v = recv_seq(c);
        assert_true(v >= base && v < base + n);
        if (seen[v - base]++)
            fail_msg("datagram %u came twice", v);
        if (k > 0 && v < high)
            late++;
        if (v > high)
            high = v;
    }
    return late;
}

static void test_udp_delay_and_reorder_deliver_every_datagram_once(void **state)
{
    udp_echo e;
    pf_proxy *p;
    char bound[PF_ADDR_MAX];
    pf_opts o = {.seed = test_seed(), .delay_pct = 100, .delay_max_ms = 20};
    pf_stats st, st0;

    udp_echo_start(&e);
    assert_int_equal(pf_start(&p, "udp://127.0.0.1:0", e.addr, &o, bound, sizeof bound), PARLEY_OK);
    int c = connect_to(bound);
    /* every datagram delayed, both ways */
    for (uint32_t i = 0; i < 30; i++)
        send_seq(c, i);
    receive_each_once(c, 0, 30);
    WAIT_FOR(p, st0, st0.held == 0);
    for (int d = 0; d < 2; d++) {
        assert_int_equal(st0.dir[d].datagrams, 30);
        assert_int_equal(st0.dir[d].delayed, 30);
        assert_int_equal(st0.dir[d].reordered, 0);
        assert_int_equal(st0.dir[d].sent, 30);
    }

    /* half delayed, a share of the rest held for reordering, both ways */
    o.delay_pct = 50;
    o.reorder_pct = 50;
    o.reorder_wait_ms = 50;
    assert_int_equal(pf_set(p, &o), PARLEY_OK);
    for (uint32_t i = 100; i < 300; i++)
        send_seq(c, i);
    unsigned late = receive_each_once(c, 100, 200);
    WAIT_FOR(p, st, st.held == 0);
    uint64_t delayed = 0, reordered = 0;
    for (int d = 0; d < 2; d++) {
        assert_int_equal(st.dir[d].datagrams - st0.dir[d].datagrams, 200);
        assert_int_equal(st.dir[d].sent - st0.dir[d].sent, 200);
        assert_int_equal(st.dir[d].dropped + st.dir[d].duplicated, 0);
        assert_true(st.dir[d].delayed - st0.dir[d].delayed > 0);
        assert_true(st.dir[d].reordered > 0);
        assert_true(st.dir[d].delayed - st0.dir[d].delayed + st.dir[d].reordered <= 200);
        delayed += st.dir[d].delayed - st0.dir[d].delayed;
        reordered += st.dir[d].reordered;
    }
    print_message("200 datagrams each way: %" PRIu64 " delayed, %" PRIu64
                  " held for reordering, %u arrived after a later one\n",
                  delayed, reordered, late);
    assert_true(late > 0);
    assert_int_equal(atomic_load(&e.received), 230);
    close(c);
    pf_stop(p);
    udp_echo_stop(&e);
}

/* one_run sends 100 datagrams through a new proxy seeded with seed, lets
 * every one of them and of their echoes through the faults, and returns
 * the stats. Reordering waits far longer than the run, and each direction
 * is flushed only once all its datagrams were seen, so that the datagrams
 * alone decide what is held: timing cannot. */
static void one_run(uint64_t seed, pf_stats *st)
{
    udp_echo e;
    pf_proxy *p;
    char bound[PF_ADDR_MAX];
    pf_opts o = {.seed = seed,
                 .drop_pct = 20,
                 .dup_pct = 20,
                 .delay_pct = 30,
                 .delay_max_ms = 10,
                 .reorder_pct = 30,
                 .reorder_wait_ms = 600000};

    udp_echo_start(&e);
    assert_int_equal(pf_start(&p, "udp://127.0.0.1:0", e.addr, &o, bound, sizeof bound), PARLEY_OK);
    int c = connect_to(bound);
    for (uint32_t i = 0; i < 100; i++)
        send_seq(c, i);
    WAIT_FOR(p, *st, st->dir[PF_TO_SERVER].datagrams == 100);
    pf_flush(p, PF_DIR_TO_SERVER);
    WAIT_FOR(p, *st,
             st->dir[PF_TO_SERVER].sent + st->dir[PF_TO_SERVER].send_failed ==
                 100 - st->dir[PF_TO_SERVER].dropped + st->dir[PF_TO_SERVER].duplicated);
    uint64_t to_echo = st->dir[PF_TO_SERVER].sent;
    WAIT_FOR(p, *st, st->dir[PF_TO_CLIENT].datagrams == to_echo);
    pf_flush(p, PF_DIR_TO_CLIENT);
    WAIT_FOR(p, *st, st->held == 0);
    close(c);
    pf_stop(p);
    udp_echo_stop(&e);
}

static void test_udp_same_seed_makes_the_same_decisions(void **state)
{
    uint64_t seed = test_seed();
    pf_stats a, b, c;
    one_run(seed, &a);
    one_run(seed, &b);
    for (int d = 0; d < 2; d++) {
        print_message("%s: %" PRIu64 " datagrams, %" PRIu64 " dropped, %" PRIu64
                      " duplicated, %" PRIu64 " delayed, %" PRIu64 " reordered\n",
                      d ? "to client" : "to server", a.dir[d].datagrams, a.dir[d].dropped,
                      a.dir[d].duplicated, a.dir[d].delayed, a.dir[d].reordered);
        assert_int_equal(a.dir[d].datagrams, b.dir[d].datagrams);
        assert_int_equal(a.dir[d].dropped, b.dir[d].dropped);
        assert_int_equal(a.dir[d].duplicated, b.dir[d].duplicated);
        assert_int_equal(a.dir[d].delayed, b.dir[d].delayed);
        assert_int_equal(a.dir[d].reordered, b.dir[d].reordered);
        assert_int_equal(a.dir[d].sent, b.dir[d].sent);
    }
    /* Another seed decides otherwise (all ten counts alike by chance is
     * far less likely than a cosmic ray). */
    one_run(seed + 1, &c);
    int differ = 0;
    for (int d = 0; d < 2; d++)
        differ |= a.dir[d].dropped != c.dir[d].dropped ||
                  a.dir[d].duplicated != c.dir[d].duplicated ||
                  a.dir[d].delayed != c.dir[d].delayed || a.dir[d].reordered != c.dir[d].reordered;
    assert_true(differ);
}

static void test_udp_retarget_follows_a_restarted_server(void **state)
{
    udp_echo a, b;
    pf_proxy *p;
    char bound[PF_ADDR_MAX];
    pf_opts o = {.seed = test_seed()};

    udp_echo_start(&a);
    assert_int_equal(pf_start(&p, "udp://127.0.0.1:0", a.addr, &o, bound, sizeof bound), PARLEY_OK);
    int c = connect_to(bound);
    send_seq(c, 1);
    assert_int_equal(recv_seq(c), 1);
    udp_echo_stop(&a); /* the server goes away, and comes back elsewhere */
    udp_echo_start(&b);
    assert_int_equal(pf_retarget(p, "tcp://127.0.0.1:1"), PARLEY_ERR_INVALID);
    assert_int_equal(pf_retarget(p, "udp://localhost:1"), PARLEY_ERR_ADDRESS);
    assert_int_equal(pf_retarget(p, NULL), PARLEY_ERR_INVALID);
    assert_int_equal(pf_retarget(p, b.addr), PARLEY_OK);
    send_seq(c, 2);
    assert_int_equal(recv_seq(c), 2);
    assert_int_equal(atomic_load(&a.received), 1);
    assert_int_equal(atomic_load(&b.received), 1);
    close(c);
    pf_stop(p);
    udp_echo_stop(&b);
}

static void test_udp_evicts_the_oldest_flow_past_the_bound(void **state)
{
    udp_echo e;
    pf_proxy *p;
    char bound[PF_ADDR_MAX];
    pf_opts o = {.seed = test_seed()};
    pf_stats st;
    int c[PF_MAX_FLOWS + 1];

    udp_echo_start(&e);
    assert_int_equal(pf_start(&p, "udp://127.0.0.1:0", e.addr, &o, bound, sizeof bound), PARLEY_OK);
    for (unsigned i = 0; i <= PF_MAX_FLOWS; i++) {
        c[i] = connect_to(bound);
        send_seq(c[i], i);
        assert_int_equal(recv_seq(c[i]), i);
    }
    pf_stats_get(p, &st);
    assert_int_equal(st.flows, PF_MAX_FLOWS + 1);
    assert_int_equal(st.flows_evicted, 1);
    /* the evicted client comes back as a new flow, and is answered */
    send_seq(c[0], 7);
    assert_int_equal(recv_seq(c[0]), 7);
    for (unsigned i = 0; i <= PF_MAX_FLOWS; i++)
        close(c[i]);
    pf_stop(p);
    udp_echo_stop(&e);
}

/* ---- TCP ---- */

static void test_tcp_without_faults_forwards_records_unchanged(void **state)
{
    tcp_echo e;
    pf_proxy *p;
    char bound[PF_ADDR_MAX];
    pf_opts o = {.seed = test_seed()};
    pf_stats st;

    tcp_echo_start(&e, 1);
    assert_int_equal(pf_start(&p, "tcp://127.0.0.1:0", e.addr, &o, bound, sizeof bound), PARLEY_OK);
    int c = connect_to(bound);
    /* pipelined: empty, small, in three fragments, larger than the
     * proxy's buffer */
    send_record(c, 0, 1, 0);
    send_record(c, 10, 1, 'a');
    send_record(c, 3000, 3, 'b');
    expect_record(c, 0, 0);
    expect_record(c, 10, 'a');
    expect_record(c, 3000, 'b');
    send_record(c, 200000, 2, 'c');
    expect_record(c, 200000, 'c');
    pf_stats_get(p, &st);
    assert_int_equal(st.dir[PF_TO_SERVER].records, 4);
    assert_int_equal(st.dir[PF_TO_CLIENT].records, 4);
    uint64_t bytes = 4 + 4 + 10 + 12 + 3000 + 8 + 200000;
    assert_int_equal(st.dir[PF_TO_SERVER].bytes, bytes);
    assert_int_equal(st.dir[PF_TO_CLIENT].bytes, bytes);
    assert_int_equal(st.connections, 1);

    /* the client's half-close reaches the server, and the server's end the client */
    shutdown(c, SHUT_WR);
    uint8_t *b = NULL;
    assert_int_equal(recv_record(c, &b), -ECONNABORTED);
    close(c);
    pf_stop(p);
    tcp_echo_stop(&e);
}

static void test_tcp_break_resets_after_the_call_and_before_the_reply(void **state)
{
    tcp_echo e;
    pf_proxy *p;
    char bound[PF_ADDR_MAX];
    pf_opts o = {.seed = test_seed(), .break_after_call_pct = 100, .break_max = 1};
    pf_stats st;
    uint8_t *b = NULL;

    tcp_echo_start(&e, 1);
    assert_int_equal(pf_start(&p, "tcp://127.0.0.1:0", e.addr, &o, bound, sizeof bound), PARLEY_OK);
    int c = connect_to(bound);
    send_record(c, 100, 2, 'x');
    assert_int_equal(recv_record(c, &b), -ECONNRESET);
    close(c);
    /* the server read the whole call: the reset came after the last byte */
    wait_count(&e.records, 1);
    pf_stats_get(p, &st);
    assert_int_equal(st.connections_broken, 1);
    assert_int_equal(st.dir[PF_TO_SERVER].records, 1);
    assert_int_equal(st.dir[PF_TO_SERVER].bytes, 108);
    assert_int_equal(st.dir[PF_TO_CLIENT].bytes, 0);

    /* break_max reached: the next connection is left alone */
    c = connect_to(bound);
    send_record(c, 100, 1, 'y');
    expect_record(c, 100, 'y');
    pf_stats_get(p, &st);
    assert_int_equal(st.connections_broken, 1);
    close(c);
    pf_stop(p);
    tcp_echo_stop(&e);
}

static void test_tcp_break_on_reply_waits_for_the_server_to_answer(void **state)
{
    tcp_echo e;
    pf_proxy *p;
    char bound[PF_ADDR_MAX];
    pf_opts o = {.seed = test_seed(), .break_after_call_pct = 100, .break_on_reply = 1};
    pf_stats st;
    uint8_t *b = NULL;

    tcp_echo_start(&e, 1);
    assert_int_equal(pf_start(&p, "tcp://127.0.0.1:0", e.addr, &o, bound, sizeof bound), PARLEY_OK);
    for (unsigned round = 1; round <= 3; round++) {
        int c = connect_to(bound);
        send_record(c, 64, 1, 'z');
        assert_int_equal(recv_record(c, &b), -ECONNRESET);
        /* the echo counts a call before it answers, and the proxy broke
         * only once the answer came: no wait needed */
        assert_int_equal(atomic_load(&e.records), round);
        close(c);
    }
    pf_stats_get(p, &st);
    assert_int_equal(st.connections_broken, 3);
    assert_int_equal(st.dir[PF_TO_CLIENT].bytes, 0);
    pf_stop(p);
    tcp_echo_stop(&e);
}

static void test_tcp_direction_mask_without_to_server_never_breaks(void **state)
{
    tcp_echo e;
    pf_proxy *p;
    char bound[PF_ADDR_MAX];
    pf_opts o = {
        .seed = test_seed(), .break_after_call_pct = 100, .direction_mask = PF_DIR_TO_CLIENT};
    pf_stats st;

    tcp_echo_start(&e, 1);
    assert_int_equal(pf_start(&p, "tcp://127.0.0.1:0", e.addr, &o, bound, sizeof bound), PARLEY_OK);
    int c = connect_to(bound);
    for (unsigned i = 0; i < 5; i++) {
        send_record(c, 32, 1, 'm');
        expect_record(c, 32, 'm');
    }
    pf_stats_get(p, &st);
    assert_int_equal(st.connections_broken, 0);
    close(c);
    pf_stop(p);
    tcp_echo_stop(&e);
}

static void test_tcp_record_over_the_limit_resets_the_connection(void **state)
{
    tcp_echo e;
    pf_proxy *p;
    char bound[PF_ADDR_MAX];
    pf_opts o = {.seed = test_seed()};
    pf_stats st;
    uint8_t *b = NULL;

    tcp_echo_start(&e, 1);
    assert_int_equal(pf_start(&p, "tcp://127.0.0.1:0", e.addr, &o, bound, sizeof bound), PARLEY_OK);
    int c = connect_to(bound);
    /* two fragments whose sum passes PF_MAX_RECORD */
    uint32_t h[2] = {htonl(PF_MAX_RECORD / 2), 0};
    send_all(c, h, 4);
    uint8_t *fill = calloc(1, PF_MAX_RECORD / 2);
    assert_non_null(fill);
    send_all(c, fill, PF_MAX_RECORD / 2);
    free(fill);
    h[0] = htonl(0x80000000u | (PF_MAX_RECORD / 2 + 1));
    send_all(c, h, 4);
    assert_int_equal(recv_record(c, &b), -ECONNRESET);
    pf_stats_get(p, &st);
    assert_int_equal(st.records_rejected, 1);
    assert_int_equal(st.dir[PF_TO_SERVER].records, 0);
    assert_int_equal(atomic_load(&e.records), 0);
    close(c);
    pf_stop(p);
    tcp_echo_stop(&e);
}

static void test_tcp_retarget_sends_new_connections_to_the_new_server(void **state)
{
    tcp_echo a, b;
    pf_proxy *p;
    char bound[PF_ADDR_MAX];
    pf_opts o = {.seed = test_seed()};
    pf_stats st;

    tcp_echo_start(&a, 1);
    tcp_echo_start(&b, 1);
    assert_int_equal(pf_start(&p, "tcp://127.0.0.1:0", a.addr, &o, bound, sizeof bound), PARLEY_OK);
    int c1 = connect_to(bound);
    send_record(c1, 8, 1, '1');
    expect_record(c1, 8, '1');
    assert_int_equal(pf_retarget(p, "udp://127.0.0.1:1"), PARLEY_ERR_INVALID);
    assert_int_equal(pf_retarget(p, b.addr), PARLEY_OK);
    int c2 = connect_to(bound);
    send_record(c2, 8, 1, '2');
    expect_record(c2, 8, '2');
    send_record(c1, 8, 1, '3'); /* the old connection stays where it was */
    expect_record(c1, 8, '3');
    assert_int_equal(atomic_load(&a.records), 2);
    assert_int_equal(atomic_load(&b.records), 1);
    close(c1);
    close(c2);

    /* nobody at the target: the client's connection is reset */
    int gone = bound_socket(SOCK_STREAM);
    char nowhere[PF_ADDR_MAX];
    addr_of(gone, "tcp", nowhere, sizeof nowhere);
    close(gone);
    assert_int_equal(pf_retarget(p, nowhere), PARLEY_OK);
    int c3 = connect_to(bound);
    uint8_t *r = NULL;
    ssize_t n = recv_record(c3, &r);
    assert_true(n == -ECONNRESET || n == -ECONNABORTED);
    WAIT_FOR(p, st, st.connections_failed == 1);
    close(c3);
    pf_stop(p);
    tcp_echo_stop(&a);
    tcp_echo_stop(&b);
}

/* ---- stopping ---- */

/* expect_end waits until the peer of fd ended the connection. */
static void expect_end(int fd)
{
    uint8_t buf[64];
    for (unsigned i = 0; i < 1000; i++) { /* bytes already on their way first */
        ssize_t n = recv_wait(fd, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return;
        if (n < 0)
            fail_msg("the connection did not end: %s", strerror(errno));
    }
    fail_msg("the connection did not end");
}

static void test_stop_with_clients_still_there_frees_everything(void **state)
{
    udp_echo ue;
    tcp_echo te;
    pf_proxy *up, *tp;
    char ubound[PF_ADDR_MAX], tbound[PF_ADDR_MAX];
    pf_opts uo = {.seed = test_seed(),
                  .delay_pct = 50,
                  .delay_max_ms = 600000,
                  .reorder_pct = 100,
                  .reorder_wait_ms = 600000};
    pf_opts to = {
        .seed = uo.seed, .break_after_call_pct = 100, .break_on_reply = 1, .break_wait_ms = 600000};
    pf_stats st;

    /* UDP: three flows, datagrams held in the timer queue and for reordering */
    udp_echo_start(&ue);
    assert_int_equal(pf_start(&up, "udp://127.0.0.1:0", ue.addr, &uo, ubound, sizeof ubound),
                     PARLEY_OK);
    int u[3];
    for (unsigned i = 0; i < 3; i++) {
        u[i] = connect_to(ubound);
        for (uint32_t k = 0; k < 10; k++)
            send_seq(u[i], k);
    }
    WAIT_FOR(up, st, st.dir[PF_TO_SERVER].datagrams == 30);
    assert_true(st.held > 0);

    /* TCP: one waiting for a reply that never comes, one in the middle of
     * a record, one idle */
    tcp_echo_start(&te, 0);
    assert_int_equal(pf_start(&tp, "tcp://127.0.0.1:0", te.addr, &to, tbound, sizeof tbound),
                     PARLEY_OK);
    int t[3];
    for (unsigned i = 0; i < 3; i++)
        t[i] = connect_to(tbound);
    send_record(t[0], 50, 1, 'w');
    uint32_t h = htonl(0x80000000u | 100);
    send_all(t[1], &h, 4);
    send_all(t[1], "half", 4);
    wait_count(&te.records, 1);
    WAIT_FOR(tp, st, st.connections == 3 && st.dir[PF_TO_SERVER].bytes == 54 + 8);
    assert_int_equal(st.connections_broken, 0);

    pf_stop(up);
    pf_stop(tp);
    for (unsigned i = 0; i < 3; i++)
        expect_end(t[i]);
    for (unsigned i = 0; i < 3; i++) {
        close(u[i]);
        close(t[i]);
    }
    pf_stop(NULL);
    udp_echo_stop(&ue);
    tcp_echo_stop(&te);
}

/* ---- arguments ---- */

static void test_start_rejects_what_it_cannot_serve(void **state)
{
    pf_proxy *p = NULL, *q = NULL;
    char bound[PF_ADDR_MAX], tiny[8];
    pf_opts o = {.drop_pct = 101};
    struct sockaddr_storage ss;
    socklen_t sl;
    int type;

    assert_int_equal(pf_start(NULL, "udp://127.0.0.1:0", "udp://127.0.0.1:9", NULL, NULL, 0),
                     PARLEY_ERR_INVALID);
    assert_int_equal(pf_start(&p, NULL, "udp://127.0.0.1:9", NULL, NULL, 0), PARLEY_ERR_INVALID);
    assert_int_equal(pf_start(&p, "udp://127.0.0.1:0", "udp://127.0.0.1:9", &o, NULL, 0),
                     PARLEY_ERR_INVALID);
    o = (pf_opts){.direction_mask = 4};
    assert_int_equal(pf_start(&p, "udp://127.0.0.1:0", "udp://127.0.0.1:9", &o, NULL, 0),
                     PARLEY_ERR_INVALID);
    assert_int_equal(pf_start(&p, "udp://127.0.0.1:0", "tcp://127.0.0.1:9", NULL, NULL, 0),
                     PARLEY_ERR_INVALID);
    assert_int_equal(
        pf_start(&p, "udp://127.0.0.1:0", "udp://127.0.0.1:9", NULL, tiny, sizeof tiny),
        PARLEY_ERR_INVALID);
    static const char *const bad[] = {
        "udp://localhost:9",     "unix:///tmp/x",      "udp://127.0.0.1", "udp://127.0.0.1:",
        "udp://127.0.0.1:65536", "udp://127.0.0.1:9x", "udp://[::1:9",    "udp://[::1]",
        "udp://[127.0.0.1]:9",   "udp://::1:9",        "udp://:9",        "udp://127.0.0.1:123456",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(pf_addr_parse(bad[i], &ss, &sl, &type), PARLEY_ERR_ADDRESS);
        assert_int_equal(pf_start(&p, bad[i], "udp://127.0.0.1:9", NULL, NULL, 0),
                         PARLEY_ERR_ADDRESS);
    }
    assert_null(p);
    assert_int_equal(pf_addr_parse(NULL, &ss, &sl, &type), PARLEY_ERR_INVALID);
    assert_int_equal(pf_addr_parse("tcp://[::1]:65535", &ss, &sl, &type), PARLEY_OK);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_int_equal(type, SOCK_STREAM);

    /* an address in use */
    assert_int_equal(
        pf_start(&p, "tcp://127.0.0.1:0", "tcp://127.0.0.1:9", NULL, bound, sizeof bound),
        PARLEY_OK);
    assert_int_equal(pf_start(&q, bound, "tcp://127.0.0.1:9", NULL, NULL, 0), PARLEY_ERR_IN_USE);
    assert_null(q);
    o = (pf_opts){.dup_pct = 101};
    assert_int_equal(pf_set(p, &o), PARLEY_ERR_INVALID);
    assert_int_equal(pf_set(p, NULL), PARLEY_ERR_INVALID);
    assert_true(pf_seed(p) != 0); /* drawn from the clock */
    pf_stop(p);
}

static void test_ipv6_loopback_works_too(void **state)
{
    pf_proxy *p;
    char bound[PF_ADDR_MAX], target[PF_ADDR_MAX];
    int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (s >= 0)
            close(s);
        print_message("no IPv6 loopback here: skipped\n");
        skip();
    }
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
    snprintf(target, sizeof target, "udp://[::1]:%u", (unsigned)ntohs(sa.sin6_port));
    assert_int_equal(pf_start(&p, "udp://[::1]:0", target, NULL, bound, sizeof bound), PARLEY_OK);
    assert_memory_equal(bound, "udp://[::1]:", 12);
    int c = connect_to(bound);
    send_seq(c, 6);
    uint32_t v;
    struct sockaddr_storage from;
    socklen_t fl = sizeof from;
    struct pollfd pfd = {.fd = s, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
    assert_int_equal(recvfrom(s, &v, sizeof v, 0, (struct sockaddr *)&from, &fl), 4);
    assert_int_equal(ntohl(v), 6);
    assert_int_equal(sendto(s, &v, sizeof v, 0, (struct sockaddr *)&from, fl), 4);
    assert_int_equal(recv_seq(c), 6);
    close(c);
    close(s);
    pf_stop(p);
}

/* ---- the command ---- */

/* cli_spawn runs parley-faultproxy with args, its output on a pipe. */
static pid_t cli_spawn(const char *const *args, int *out)
{
    char *argv[24];
    size_t n = 0;
    argv[n++] = (char *)(uintptr_t)cli_path;
    for (; args[n - 1] != NULL && n < 23; n++)
        argv[n] = (char *)(uintptr_t)args[n - 1];
    argv[n] = NULL;
    int pp[2];
    assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pp[1], 1);
        dup2(pp[1], 2);
        execv(cli_path, argv);
        _exit(127);
    }
    close(pp[1]);
    *out = pp[0];
    return pid;
}

/* cli_read reads the command's output until want appears in it, or until
 * it ends; NUL-terminated in buf. */
static void cli_read(int fd, char *buf, size_t cap, const char *want)
{
    size_t len = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < 1000 && len + 1 < cap && (want == NULL || strstr(buf, want) == NULL);
         i++) {
        ssize_t n = recv_wait(fd, buf + len, cap - 1 - len);
        if (n == 0 || (n < 0 && errno != EINTR))
            break;
        if (n > 0)
            len += (size_t)n;
        buf[len] = '\0';
    }
}

/* cli_wait reaps the command within WAIT_MS (killing it past that) and
 * returns its exit status, or -1. */
static int cli_wait(pid_t pid)
{
    int status;
    for (unsigned i = 0; i < WAIT_MS; i++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        nap_ms(1);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static void test_cli_prints_help_and_refuses_bad_numbers(void **state)
{
    if (cli_path == NULL)
        skip();
    char out[4096];
    int fd;
    pid_t pid = cli_spawn((const char *const[]){"--help", NULL}, &fd);
    cli_read(fd, out, sizeof out, NULL);
    close(fd);
    assert_int_equal(cli_wait(pid), 0);
    assert_non_null(strstr(out, "usage: parley-faultproxy"));

    pid = cli_spawn((const char *const[]){"--listen", "udp://127.0.0.1:0", "--target",
                                          "udp://127.0.0.1:9", "--drop", "101", NULL},
                    &fd);
    cli_read(fd, out, sizeof out, NULL);
    close(fd);
    assert_int_equal(cli_wait(pid), 2);
    pid = cli_spawn((const char *const[]){"--listen", "udp://127.0.0.1:0", NULL}, &fd);
    cli_read(fd, out, sizeof out, NULL);
    close(fd);
    assert_int_equal(cli_wait(pid), 2);
    pid = cli_spawn((const char *const[]){"--listen", "udp://127.0.0.1:0", "--target",
                                          "tcp://127.0.0.1:9", NULL},
                    &fd);
    cli_read(fd, out, sizeof out, NULL);
    close(fd);
    assert_int_equal(cli_wait(pid), 1);
    assert_non_null(strstr(out, "invalid argument"));
}

static void test_cli_forwards_until_told_to_stop(void **state)
{
    if (cli_path == NULL)
        skip();
    udp_echo e;
    char out[4096], addr[PF_ADDR_MAX];
    int fd;

    udp_echo_start(&e);
    pid_t pid = cli_spawn((const char *const[]){"--listen", "udp://127.0.0.1:0", "--target", e.addr,
                                                "--seed", "42", "--dup", "100", "--direction",
                                                "to-server", "--duration-ms", "600000", NULL},
                          &fd);
    cli_read(fd, out, sizeof out, "\n");
    const char *at = strstr(out, "listening on ");
    assert_non_null(at);
    assert_int_equal(sscanf(at, "listening on %63[^,]", addr), 1);
    assert_non_null(strstr(out, "seed 42"));
    int c = connect_to(addr);
    send_seq(c, 5);
    assert_int_equal(recv_seq(c), 5);
    assert_int_equal(recv_seq(c), 5);
    close(c);
    assert_int_equal(kill(pid, SIGTERM), 0);
    cli_read(fd, out, sizeof out, NULL);
    close(fd);
    assert_int_equal(cli_wait(pid), 0);
    assert_non_null(strstr(out, "to server: datagrams 1 dropped 0 duplicated 1"));
    udp_echo_stop(&e);

    /* and on its own once its time is up */
    pid = cli_spawn((const char *const[]){"--listen", "tcp://127.0.0.1:0", "--target",
                                          "tcp://127.0.0.1:9", "--duration-ms", "50", NULL},
                    &fd);
    cli_read(fd, out, sizeof out, NULL);
    close(fd);
    assert_int_equal(cli_wait(pid), 0);
    assert_non_null(strstr(out, "connections 0"));
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc > 1)
        cli_path = argv[1];
    if (argc > 2) /* a pattern: run only the tests it matches */
        cmocka_set_test_filter(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_udp_without_faults_passes_every_datagram_unchanged),
        cmocka_unit_test(test_udp_drop_all_delivers_nothing),
        cmocka_unit_test(test_udp_dup_all_delivers_every_datagram_twice),
        cmocka_unit_test(test_udp_reorder_swaps_each_datagram_with_the_next),
        cmocka_unit_test(test_udp_delay_and_reorder_deliver_every_datagram_once),
        cmocka_unit_test(test_udp_same_seed_makes_the_same_decisions),
        cmocka_unit_test(test_udp_retarget_follows_a_restarted_server),
        cmocka_unit_test(test_udp_evicts_the_oldest_flow_past_the_bound),
        cmocka_unit_test(test_tcp_without_faults_forwards_records_unchanged),
        cmocka_unit_test(test_tcp_break_resets_after_the_call_and_before_the_reply),
        cmocka_unit_test(test_tcp_break_on_reply_waits_for_the_server_to_answer),
        cmocka_unit_test(test_tcp_direction_mask_without_to_server_never_breaks),
        cmocka_unit_test(test_tcp_record_over_the_limit_resets_the_connection),
        cmocka_unit_test(test_tcp_retarget_sends_new_connections_to_the_new_server),
        cmocka_unit_test(test_stop_with_clients_still_there_frees_everything),
        cmocka_unit_test(test_start_rejects_what_it_cannot_serve),
        cmocka_unit_test(test_ipv6_loopback_works_too),
        cmocka_unit_test(test_cli_prints_help_and_refuses_bad_numbers),
        cmocka_unit_test(test_cli_forwards_until_told_to_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
