/*
 * tests/integ/battery.c: the hostile-input battery of battery.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "battery.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "parley/rpc.h"
#include "proc.h"

static uint8_t buf[1 << 17];

long long battery_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The connections the current test opened. */
static int open_fds[1100];
static size_t nopen;

int battery_track(int fd)
{
    if (fd >= 0 && nopen < sizeof open_fds / sizeof open_fds[0])
        open_fds[nopen++] = fd;
    return fd;
}

int battery_open_conn(const battery_target *t)
{
    int fd = raw_connect(t->addr), one = 1;
    if (fd >= 0 && t->nodelay)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return battery_track(fd);
}

void battery_close_conn(int fd)
{
    for (size_t i = 0; i < nopen; i++) {
        if (open_fds[i] == fd) {
            open_fds[i] = open_fds[--nopen];
            break;
        }
    }
    close(fd);
}

int battery_close_all(void **state)
{
    (void)state;
    while (nopen)
        close(open_fds[--nopen]);
    return 0;
}

void battery_call_expect(const battery_target *t, const raw_msg *m, raw_reply *r)
{
    int fd = battery_open_conn(t);
    assert_true(fd >= 0);
    int rc = raw_call_reply(fd, m, r, buf, sizeof buf);
    battery_close_conn(fd);
    assert_int_equal(rc, 0);
}

void battery_send_expect_closed(const battery_target *t, const void *p, size_t n)
{
    int fd = battery_open_conn(t);
    assert_true(fd >= 0);
    assert_int_equal(raw_send_all(fd, p, n), 0);
    size_t len = 0;
    int r = raw_read_record(fd, buf, sizeof buf, &len, 3000);
    battery_close_conn(fd);
    assert_int_equal(r, 0); /* closed, no reply */
}

/* put_u32 writes v big-endian at p. */
static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

/* frame writes m, as one last fragment, to out (room for m->n + 4 bytes);
 * the bytes written. */
static size_t frame(uint8_t *out, const raw_msg *m)
{
    put_u32(out, 0x80000000u | (uint32_t)m->n);
    memcpy(out + 4, m->b, m->n);
    return m->n + 4;
}

void battery_record_expect_closed(const battery_target *t, const raw_msg *m)
{
    static uint8_t framed[sizeof m->b + 4];
    battery_send_expect_closed(t, framed, frame(framed, m));
}

int battery_pipeline_unread(const battery_target *t, const raw_msg *m, size_t *taken, size_t *total)
{
    enum { CALLS = 10000 };
    int fd = battery_open_conn(t);
    assert_true(fd >= 0);
    size_t n = 0, size = CALLS * (m->n + 4);
    uint8_t *all = malloc(size);
    assert_non_null(all);
    for (uint32_t i = 0; i < CALLS; i++) {
        uint8_t *p = all + n;
        n += frame(p, m);
        put_u32(p + 4, i); /* the xid */
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    size_t off = 0;
    long long deadline = battery_now_ms() + 3000;
    while (off < n && battery_now_ms() < deadline) {
        ssize_t k = send(fd, all + off, n - off, MSG_NOSIGNAL);
        if (k > 0) {
            off += (size_t)k;
            continue;
        }
        if (k < 0 && errno != EAGAIN && errno != EINTR)
            break;
        struct pollfd pf = {fd, POLLOUT, 0};
        poll(&pf, 1, 50);
    }
    free(all);
    *taken = off;
    *total = n;
    return fd;
}

void battery_truncated_headers(const battery_target *t, uint32_t prog, uint32_t vers, uint32_t proc)
{
    raw_msg full = {0};
    raw_call(&full, 7, prog, vers, proc);
    /* every proper prefix of a 40-byte header, framed as a whole record */
    for (size_t n = 0; n < full.n; n += 4) {
        raw_msg m = {0};
        memcpy(m.b, full.b, n);
        m.n = n;
        battery_record_expect_closed(t, &m);
    }
    t->still_serving();
}

void battery_malformed_headers(const battery_target *t, uint32_t prog, uint32_t vers, uint32_t proc)
{
    raw_msg m = {0};
    raw_u32(&m, 1);
    raw_u32(&m, 7); /* msg_type neither CALL nor REPLY */
    raw_u32(&m, 2);
    raw_u32(&m, prog);
    raw_u32(&m, vers);
    raw_u32(&m, proc);
    raw_u32(&m, 0);
    raw_u32(&m, 0);
    raw_u32(&m, 0);
    raw_u32(&m, 0);
    battery_record_expect_closed(t, &m);
    raw_msg v = {0}; /* a verifier length past the end */
    raw_call(&v, 2, prog, vers, proc);
    v.b[v.n - 1] = 0x40;
    battery_record_expect_closed(t, &v);
    t->still_serving();
}

void battery_wrong_rpc_version(const battery_target *t, uint32_t prog, uint32_t vers)
{
    raw_msg m = {0};
    raw_reply r;
    raw_call_header(&m, 0x1234, 3, prog, vers, 0, 0, NULL, 0);
    battery_call_expect(t, &m, &r);
    assert_int_equal(r.xid, 0x1234);
    assert_int_equal(r.reply_stat, PARLEY_MSG_DENIED);
    assert_int_equal(r.reject_stat, PARLEY_RPC_MISMATCH);
    assert_int_equal(r.low, 2);
    assert_int_equal(r.high, 2);
    t->still_serving();
}

void battery_unknown_programs(const battery_target *t, const uint32_t *progs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        raw_msg m = {0};
        raw_reply r;
        raw_call(&m, 5, progs[i], 1, 0);
        battery_call_expect(t, &m, &r);
        assert_int_equal(r.xid, 5);
        assert_int_equal(r.reply_stat, PARLEY_MSG_ACCEPTED);
        assert_int_equal(r.accept_stat, PARLEY_PROG_UNAVAIL);
    }
    t->still_serving();
}

void battery_unknown_versions(const battery_target *t, uint32_t prog, const uint32_t *vers,
                              size_t n, uint32_t low, uint32_t high)
{
    for (size_t i = 0; i < n; i++) {
        raw_msg m = {0};
        raw_reply r;
        raw_call(&m, 6, prog, vers[i], 0);
        battery_call_expect(t, &m, &r);
        assert_int_equal(r.reply_stat, PARLEY_MSG_ACCEPTED);
        assert_int_equal(r.accept_stat, PARLEY_PROG_MISMATCH);
        assert_int_equal(r.low, low);
        assert_int_equal(r.high, high);
    }
    t->still_serving();
}

void battery_auth_body_over_400(const battery_target *t, uint32_t prog, uint32_t vers,
                                uint32_t proc)
{
    /* RFC 5531 bounds opaque_auth bodies at 400 bytes: the header does not
     * decode, so the message is not answered and the connection ends */
    uint8_t cred[404];
    memset(cred, 0, sizeof cred);
    raw_msg m = {0};
    raw_call_header(&m, 12, 2, prog, vers, proc, PARLEY_AUTH_SYS, cred, sizeof cred);
    battery_record_expect_closed(t, &m);
    raw_msg v = {0}; /* the same in the verifier */
    raw_u32(&v, 13);
    raw_u32(&v, 0);
    raw_u32(&v, 2);
    raw_u32(&v, prog);
    raw_u32(&v, vers);
    raw_u32(&v, 0);
    raw_u32(&v, 0);
    raw_u32(&v, 0);
    raw_u32(&v, 0);
    raw_opaque(&v, cred, sizeof cred);
    battery_record_expect_closed(t, &v);
    t->still_serving();
}

void battery_huge_fragment_header(const battery_target *t)
{
    long before = integ_rss_kib(t->pid);
    static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1};
    battery_send_expect_closed(t, huge, sizeof huge);
    static const uint8_t huge_last[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1};
    battery_send_expect_closed(t, huge_last, sizeof huge_last);
    long after = integ_rss_kib(t->pid);
    assert_true(before > 0 && after > 0);
    assert_true(after - before < t->rss_small); /* nothing near 2 GiB */
    t->still_serving();
}

void battery_endless_empty_fragments(const battery_target *t)
{
    int fd = battery_open_conn(t);
    assert_true(fd >= 0);
    static uint8_t zeros[64 * 1024]; /* 16,384 empty non-last fragments a write */
    int closed = 0;
    long long deadline = battery_now_ms() + 5000;
    for (int i = 0; i < 64 && !closed && battery_now_ms() < deadline; i++) {
        if (raw_send_all(fd, zeros, sizeof zeros) != 0)
            closed = 1;
        else if (raw_closed(fd, 0))
            closed = 1;
    }
    if (!closed)
        closed = raw_closed(fd, 3000);
    battery_close_conn(fd);
    assert_true(closed);
    t->still_serving();
}

void battery_reply_sent(const battery_target *t)
{
    raw_msg m = {0};
    raw_u32(&m, 77);
    raw_u32(&m, 1); /* REPLY */
    raw_u32(&m, 0); /* MSG_ACCEPTED */
    raw_u32(&m, 0);
    raw_u32(&m, 0);
    raw_u32(&m, 0); /* SUCCESS */
    battery_record_expect_closed(t, &m);
    t->still_serving();
}

void battery_random_bytes(const battery_target *t, int udp_port)
{
    uint32_t seed = 0x9e3779b9u;
    int udp = -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    if (udp_port) {
        udp = socket(AF_INET, SOCK_DGRAM, 0);
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)udp_port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_true(udp >= 0);
    }
    for (int round = 0; round < 64; round++) {
        uint8_t junk[512];
        size_t n = 1 + (seed >> 7) % sizeof junk;
        for (size_t i = 0; i < n; i++) {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            junk[i] = (uint8_t)seed;
        }
        /* the same bytes as a datagram: dropped or answered, never fatal */
        if (udp >= 0)
            sendto(udp, junk, n, 0, (struct sockaddr *)&a, sizeof a);
        int fd = battery_open_conn(t);
        assert_true(fd >= 0);
        assert_int_equal(raw_send_all(fd, junk, n), 0);
        /* either t closes, or it waits for the rest of a fragment; a
         * reply, if any, must be one */
        size_t len = 0;
        int r = raw_read_record(fd, buf, sizeof buf, &len, 100);
        if (r == 1) {
            raw_reply rep;
            assert_int_equal(raw_parse_reply(buf, len, &rep), 0);
        }
        battery_close_conn(fd);
    }
    if (udp >= 0)
        close(udp);
    t->still_serving();
}

void battery_unread_pipelined(const battery_target *t, const raw_msg *m, const char *calls,
                              int others)
{
    long before = integ_rss_kib(t->pid);
    size_t taken, total;
    int fd = battery_pipeline_unread(t, m, &taken, &total);
    long peak = 0;
    for (int i = 0; i < 5; i++) {
        long rss = integ_rss_kib(t->pid);
        peak = rss > peak ? rss : peak;
        if (others) {
            long long t0 = battery_now_ms();
            assert_int_equal(t->served(), 0);
            assert_true(battery_now_ms() - t0 < 1000);
        }
        poll(NULL, 0, 100);
    }
    print_message("10,000 unread %s: %zu of %zu bytes taken; %s RSS %ld KiB before, "
                  "%ld KiB peak\n",
                  calls, taken, total, t->name, before, peak);
    assert_true(before > 0 && peak - before < t->rss_bound);
    battery_close_conn(fd); /* t's blocked writes fail, and it lets go */
    t->still_serving();
}

void battery_dribbling_client(const battery_target *t, const raw_msg *m)
{
    int fd = battery_open_conn(t);
    assert_true(fd >= 0);
    static uint8_t framed[sizeof m->b + 4];
    size_t n = frame(framed, m);
    /* one byte every 200 ms (the pace of the attack, not a wait for a
     * result); between bytes, another client's call is answered */
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(raw_send_all(fd, framed + i, 1), 0);
        long long t0 = battery_now_ms();
        assert_int_equal(t->served(), 0);
        assert_true(battery_now_ms() - t0 < 1000);
        poll(NULL, 0, 200);
    }
    /* the rest, at once: the dribbled call is answered too */
    assert_int_equal(raw_send_all(fd, framed + 10, n - 10), 0);
    size_t len = 0;
    raw_reply r;
    assert_int_equal(raw_read_record(fd, buf, sizeof buf, &len, 2000), 1);
    assert_int_equal(raw_parse_reply(buf, len, &r), 0);
    assert_int_equal(r.accept_stat, PARLEY_SUCCESS);
    battery_close_conn(fd);
    t->still_serving();
}

void battery_idle_connections(const battery_target *t)
{
    enum { IDLE = 1000 };
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < IDLE + 64) {
        rl.rlim_cur = rl.rlim_max < IDLE + 64 ? rl.rlim_max : IDLE + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur < IDLE + 64) {
        print_message("ulimit -n is %lu: skipped\n", (unsigned long)rl.rlim_cur);
        skip();
    }
    long before = integ_rss_kib(t->pid);
    static int fds[IDLE];
    int n = 0;
    for (; n < IDLE; n++) {
        fds[n] = battery_open_conn(t);
        if (fds[n] < 0)
            break;
    }
    /* a call on a connection made after them all is answered once they
     * have all been accepted (the listen queue is first in, first out) */
    int rc = t->served();
    long after = integ_rss_kib(t->pid);
    for (int i = 0; i < n; i++)
        battery_close_conn(fds[i]);
    print_message("1000 idle connections: %s RSS %ld -> %ld KiB, %.2f KiB each\n", t->name, before,
                  after, (double)(after - before) / IDLE);
    assert_int_equal(n, IDLE);
    assert_int_equal(rc, 0);
    assert_true(after - before < t->rss_bound);
    t->still_serving();
}
