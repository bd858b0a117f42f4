/*
 * tests/integ/test_server_hostile.c: a real server (a forked child serving
 * integ.x on loopback TCP) given what no well-behaved client sends:
 * truncated and malformed headers, every RPC error a call can earn, hostile
 * record marks and lengths, replies, random bytes, calls whose replies are
 * never read, a client that dribbles (closed early by a second server with
 * a short message timeout), and a thousand idle connections.
 * After each case a fresh client's NULL call must still be answered, and at
 * the end the server must exit 0 on SIGTERM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "integ.h"
#include "integ_svc.h"
#include "proc.h"
#include "raw.h"

static integ_proc srv;
static const char *addr; /* tcp://127.0.0.1:port */
static uint8_t buf[1 << 17];

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* null_call_at makes a NULL call from a fresh Parley client to at: its
 * error. */
static int null_call_at(const char *at)
{
    parley_client *c = NULL;
    int rc = parley_client_create(&c, at, INTEG_PROG, INTEG_VERS, NULL);
    if (rc == PARLEY_OK)
        rc = parley_client_call(c, 0, NULL, NULL, 0, NULL, NULL, 3000);
    parley_client_destroy(c);
    return rc;
}

/* null_call makes a NULL call from a fresh Parley client: its error. */
static int null_call(void)
{
    return null_call_at(addr);
}

/* The connections a test opened, closed by the test or, when it fails
 * half-way, by its teardown: a connection left open could hold the server
 * and fail the tests after it. */
static int open_fds[1100];
static size_t nopen;

static int open_conn_to(const char *at)
{
    int fd = raw_connect(at);
    if (fd >= 0 && nopen < sizeof open_fds / sizeof open_fds[0])
        open_fds[nopen++] = fd;
    return fd;
}

static int open_conn(void)
{
    return open_conn_to(addr);
}

static void close_conn(int fd)
{
    for (size_t i = 0; i < nopen; i++) {
        if (open_fds[i] == fd) {
            open_fds[i] = open_fds[--nopen];
            break;
        }
    }
    close(fd);
}

static int close_all(void **state)
{
    (void)state;
    while (nopen)
        close(open_fds[--nopen]);
    return 0;
}

/* still_serving: the check after every case. */
static void still_serving(void)
{
    assert_int_equal(null_call(), PARLEY_OK);
}

static int group_setup(void **state)
{
    (void)state;
    static const char *const addrs[] = {"tcp://127.0.0.1:0"};
    integ_serve_args a = {addrs, 1, 0, 0};
    if (integ_proc_start(&srv, integ_serve, &a) != 0)
        return -1;
    addr = srv.addrs[0];
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    integ_proc_kill(&srv); /* only when a test failed before the last one */
    return 0;
}

/* call_expect sends m on a fresh connection and parses the reply. */
static void call_expect(const raw_msg *m, raw_reply *r)
{
    int fd = open_conn();
    assert_true(fd >= 0);
    int rc = raw_call_reply(fd, m, r, buf, sizeof buf);
    close_conn(fd);
    assert_int_equal(rc, 0);
}

/* send_expect_closed sends n bytes on a fresh connection and expects the
 * server to close it without a reply. */
static void send_expect_closed(const void *p, size_t n)
{
    int fd = open_conn();
    assert_true(fd >= 0);
    assert_int_equal(raw_send_all(fd, p, n), 0);
    size_t len = 0;
    int r = raw_read_record(fd, buf, sizeof buf, &len, 3000);
    close_conn(fd);
    assert_int_equal(r, 0); /* closed, no reply */
}

static void record_expect_closed(const raw_msg *m)
{
    uint8_t framed[sizeof m->b + 4];
    uint32_t v = 0x80000000u | (uint32_t)m->n;
    framed[0] = (uint8_t)(v >> 24);
    framed[1] = (uint8_t)(v >> 16);
    framed[2] = (uint8_t)(v >> 8);
    framed[3] = (uint8_t)v;
    memcpy(framed + 4, m->b, m->n);
    send_expect_closed(framed, m->n + 4);
}

static void test_truncated_headers_close_the_connection(void **state)
{
    (void)state;
    raw_msg full = {0};
    raw_call(&full, 7, INTEG_PROG, INTEG_VERS, 0);
    /* every proper prefix of a 40-byte header, framed as a whole record */
    for (size_t n = 0; n < full.n; n += 4) {
        raw_msg m = {0};
        memcpy(m.b, full.b, n);
        m.n = n;
        record_expect_closed(&m);
    }
    still_serving();
}

static void test_malformed_headers_close_the_connection(void **state)
{
    (void)state;
    raw_msg m = {0};
    raw_u32(&m, 1);
    raw_u32(&m, 7); /* msg_type neither CALL nor REPLY */
    raw_u32(&m, 2);
    raw_u32(&m, INTEG_PROG);
    raw_u32(&m, 1);
    raw_u32(&m, 0);
    raw_u32(&m, 0);
    raw_u32(&m, 0);
    raw_u32(&m, 0);
    raw_u32(&m, 0);
    record_expect_closed(&m);
    raw_msg v = {0}; /* a verifier length past the end */
    raw_call(&v, 2, INTEG_PROG, INTEG_VERS, 0);
    v.b[v.n - 1] = 0x40;
    record_expect_closed(&v);
    still_serving();
}

static void test_wrong_rpc_version_is_rpc_mismatch_2_2(void **state)
{
    (void)state;
    raw_msg m = {0};
    raw_reply r;
    raw_call_header(&m, 0x1234, 3, INTEG_PROG, INTEG_VERS, 0, 0, NULL, 0);
    call_expect(&m, &r);
    assert_int_equal(r.xid, 0x1234);
    assert_int_equal(r.reply_stat, PARLEY_MSG_DENIED);
    assert_int_equal(r.reject_stat, PARLEY_RPC_MISMATCH);
    assert_int_equal(r.low, 2);
    assert_int_equal(r.high, 2);
    still_serving();
}

static void test_unknown_program_is_prog_unavail(void **state)
{
    (void)state;
    raw_msg m = {0};
    raw_reply r;
    raw_call(&m, 5, INTEG_PROG + 1, 1, 0);
    call_expect(&m, &r);
    assert_int_equal(r.xid, 5);
    assert_int_equal(r.reply_stat, PARLEY_MSG_ACCEPTED);
    assert_int_equal(r.accept_stat, PARLEY_PROG_UNAVAIL);
    still_serving();
}

static void test_unknown_version_is_prog_mismatch_with_low_and_high(void **state)
{
    (void)state;
    uint32_t bad[] = {0, 2, 4, 0xffffffffu};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        raw_msg m = {0};
        raw_reply r;
        raw_call(&m, 6, INTEG_PROG, bad[i], 0);
        call_expect(&m, &r);
        assert_int_equal(r.reply_stat, PARLEY_MSG_ACCEPTED);
        assert_int_equal(r.accept_stat, PARLEY_PROG_MISMATCH);
        assert_int_equal(r.low, 1);
        assert_int_equal(r.high, 3);
    }
    still_serving();
}

static void test_unknown_procedure_is_proc_unavail(void **state)
{
    (void)state;
    uint32_t procs[] = {9, 99, 0xffffffffu};
    for (size_t i = 0; i < sizeof procs / sizeof procs[0]; i++) {
        raw_msg m = {0};
        raw_reply r;
        raw_call(&m, 7, INTEG_PROG, INTEG_VERS, procs[i]);
        call_expect(&m, &r);
        assert_int_equal(r.reply_stat, PARLEY_MSG_ACCEPTED);
        assert_int_equal(r.accept_stat, PARLEY_PROC_UNAVAIL);
    }
    raw_msg m = {0}; /* a procedure of version 1 asked of version 3 */
    raw_reply r;
    raw_call(&m, 8, INTEG_PROG, INTEG_VERS3, SLOW);
    call_expect(&m, &r);
    assert_int_equal(r.accept_stat, PARLEY_PROC_UNAVAIL);
    still_serving();
}

/* expect_garbage: a call of proc with args gets GARBAGE_ARGS. */
static void expect_garbage(uint32_t proc, const void *args, size_t n)
{
    raw_msg m = {0};
    raw_reply r;
    raw_call(&m, 9, INTEG_PROG, INTEG_VERS, proc);
    if (n)
        memcpy(m.b + m.n, args, n);
    m.n += n;
    call_expect(&m, &r);
    assert_int_equal(r.xid, 9);
    assert_int_equal(r.reply_stat, PARLEY_MSG_ACCEPTED);
    assert_int_equal(r.accept_stat, PARLEY_GARBAGE_ARGS);
}

static void test_garbage_arguments_are_garbage_args(void **state)
{
    (void)state;
    static const uint8_t color77[] = {0, 0, 0, 77};                  /* not a color */
    static const uint8_t short3[] = {0, 0, 0};                       /* not even a word */
    static const uint8_t trailing[] = {0, 0, 0, 1, 0, 0, 0, 9};      /* a color and more */
    static const uint8_t bad_bool[] = {0, 0, 0, 2};                  /* optional: neither 0 nor 1 */
    static const uint8_t long_name[] = {0, 0, 0, 65, 'a', 'b'};      /* over <64>, and short */
    static const uint8_t void_args[] = {0, 0, 0, 1};                 /* NULL takes none */
    static const uint8_t nonzero_pad[] = {0, 0, 0, 1, 'a', 1, 1, 1}; /* a blob, bad padding */
    expect_garbage(NEXT_COLOR, color77, sizeof color77);
    expect_garbage(NEXT_COLOR, short3, sizeof short3);
    expect_garbage(NEXT_COLOR, trailing, sizeof trailing);
    expect_garbage(NEXT_COLOR, NULL, 0);
    expect_garbage(SUM_LIST, bad_bool, sizeof bad_bool);
    expect_garbage(ECHO_RECORD, long_name, sizeof long_name);
    expect_garbage(ECHO_SHAPE, color77, sizeof color77);
    expect_garbage(WHOAMI, void_args, sizeof void_args);
    expect_garbage(0, void_args, sizeof void_args);
    expect_garbage(ECHO_BLOB, nonzero_pad, sizeof nonzero_pad);
    still_serving();
}

static void test_lengths_of_0xffffffff_are_garbage_args(void **state)
{
    (void)state;
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 'x', 'y', 'z', 0};
    expect_garbage(ECHO_RECORD, huge, sizeof huge); /* the string's length */
    expect_garbage(ECHO_BLOB, huge, sizeof huge);   /* the opaque's length */
    static const uint8_t arr[] = {0, 0, 0, 1, 'a', 0, 0, 0, 0,    0,    0,    1,
                                  0, 0, 0, 2, 0,   0, 0, 3, 0xff, 0xff, 0xff, 0xff};
    expect_garbage(ECHO_RECORD, arr, sizeof arr); /* the int array's count */
    still_serving();
}

/* authsys appends an AUTH_SYS body with a machine name of mlen bytes and
 * ngids group ids (as declared, whatever follows). */
static void authsys(raw_msg *m, uint32_t mlen, const char *machine, uint32_t ngids)
{
    raw_u32(m, 42);
    raw_opaque(m, machine, mlen);
    raw_u32(m, 1000);
    raw_u32(m, 100);
    raw_u32(m, ngids);
    for (uint32_t i = 0; i < ngids && i < 20; i++)
        raw_u32(m, 200 + i);
}

static void expect_badcred(const raw_msg *cred)
{
    raw_msg m = {0};
    raw_reply r;
    raw_call_header(&m, 11, 2, INTEG_PROG, INTEG_VERS, WHOAMI, PARLEY_AUTH_SYS, cred->b,
                    (uint32_t)cred->n);
    call_expect(&m, &r);
    assert_int_equal(r.xid, 11);
    assert_int_equal(r.reply_stat, PARLEY_MSG_DENIED);
    assert_int_equal(r.reject_stat, PARLEY_AUTH_ERROR);
    assert_int_equal(r.auth_stat, PARLEY_AUTH_BADCRED);
}

static void test_bad_auth_sys_bodies_are_auth_error_badcred(void **state)
{
    (void)state;
    raw_msg too_many_gids = {0};
    authsys(&too_many_gids, 4, "host", 17);
    expect_badcred(&too_many_gids);
    raw_msg long_machine = {0};
    char name[300];
    memset(name, 'm', sizeof name);
    authsys(&long_machine, 256, name, 0);
    expect_badcred(&long_machine);
    raw_msg short_body = {0};
    raw_u32(&short_body, 42);
    raw_u32(&short_body, 1000); /* a machine name's length, and nothing */
    expect_badcred(&short_body);
    raw_msg trailing = {0};
    authsys(&trailing, 4, "host", 1);
    raw_u32(&trailing, 7);
    expect_badcred(&trailing);
    still_serving();
}

static void test_auth_body_over_400_bytes_closes_the_connection(void **state)
{
    (void)state;
    /* RFC 5531 bounds opaque_auth bodies at 400 bytes: the header does not
     * decode, so the message is not answered and the connection ends */
    uint8_t cred[404];
    memset(cred, 0, sizeof cred);
    raw_msg m = {0};
    raw_call_header(&m, 12, 2, INTEG_PROG, INTEG_VERS, WHOAMI, PARLEY_AUTH_SYS, cred, sizeof cred);
    record_expect_closed(&m);
    raw_msg v = {0}; /* the same in the verifier */
    raw_u32(&v, 13);
    raw_u32(&v, 0);
    raw_u32(&v, 2);
    raw_u32(&v, INTEG_PROG);
    raw_u32(&v, INTEG_VERS);
    raw_u32(&v, 0);
    raw_u32(&v, 0);
    raw_u32(&v, 0);
    raw_u32(&v, 0);
    raw_opaque(&v, cred, sizeof cred);
    record_expect_closed(&v);
    still_serving();
}

static void test_huge_fragment_header_closes_before_allocating(void **state)
{
    (void)state;
    long before = integ_rss_kib(srv.pid);
    static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1};
    send_expect_closed(huge, sizeof huge);
    static const uint8_t huge_last[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1};
    send_expect_closed(huge_last, sizeof huge_last);
    long after = integ_rss_kib(srv.pid);
    assert_true(before > 0 && after > 0);
    assert_true(after - before < 4 * 1024); /* nothing near 2 GiB, nor 4 MiB */
    still_serving();
}

static void test_endless_empty_fragments_close_the_connection(void **state)
{
    (void)state;
    int fd = open_conn();
    assert_true(fd >= 0);
    static uint8_t zeros[64 * 1024]; /* 16,384 empty non-last fragments a write */
    int closed = 0;
    long long deadline = now_ms() + 5000;
    for (int i = 0; i < 64 && !closed && now_ms() < deadline; i++) {
        if (raw_send_all(fd, zeros, sizeof zeros) != 0)
            closed = 1;
        else if (raw_closed(fd, 0))
            closed = 1;
    }
    if (!closed)
        closed = raw_closed(fd, 3000);
    close_conn(fd);
    assert_true(closed);
    still_serving();
}

static void test_a_reply_sent_to_the_server_closes_the_connection(void **state)
{
    (void)state;
    raw_msg m = {0};
    raw_u32(&m, 77);
    raw_u32(&m, 1); /* REPLY */
    raw_u32(&m, 0); /* MSG_ACCEPTED */
    raw_u32(&m, 0);
    raw_u32(&m, 0);
    raw_u32(&m, 0); /* SUCCESS */
    record_expect_closed(&m);
    still_serving();
}

static void test_random_bytes_are_closed_or_ignored(void **state)
{
    (void)state;
    uint32_t seed = 0x9e3779b9u;
    for (int round = 0; round < 64; round++) {
        uint8_t junk[512];
        size_t n = 1 + (seed >> 7) % sizeof junk;
        for (size_t i = 0; i < n; i++) {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            junk[i] = (uint8_t)seed;
        }
        int fd = open_conn();
        assert_true(fd >= 0);
        assert_int_equal(raw_send_all(fd, junk, n), 0);
        /* either the server closes, or it waits for the rest of a
         * fragment; a reply, if any, must be one */
        size_t len = 0;
        int r = raw_read_record(fd, buf, sizeof buf, &len, 100);
        if (r == 1) {
            raw_reply rep;
            assert_int_equal(raw_parse_reply(buf, len, &rep), 0);
        }
        close_conn(fd);
    }
    still_serving();
}

/* pipeline_unread opens a connection and pipelines 10,000 calls of a
 * 1 KiB echo on it, writing for at most 3 s what the server takes, and
 * never reads a reply. Returns the connection; *taken and *total are the
 * bytes the server took and those there were. */
static int pipeline_unread(size_t *taken, size_t *total)
{
    enum { CALLS = 10000, BLOB = 1024 };
    int fd = open_conn();
    assert_true(fd >= 0);
    raw_msg m = {0};
    raw_call(&m, 0, INTEG_PROG, INTEG_VERS, ECHO_BLOB);
    static uint8_t blob_bytes[BLOB];
    memset(blob_bytes, 'b', sizeof blob_bytes);
    raw_opaque(&m, blob_bytes, BLOB);
    static uint8_t all[CALLS * (BLOB + 64)];
    size_t n = 0;
    for (uint32_t i = 0; i < CALLS; i++) {
        uint32_t v = 0x80000000u | (uint32_t)m.n;
        uint8_t *p = all + n;
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
        memcpy(p + 4, m.b, m.n);
        p[4] = (uint8_t)(i >> 24); /* the xid */
        p[5] = (uint8_t)(i >> 16);
        p[6] = (uint8_t)(i >> 8);
        p[7] = (uint8_t)i;
        n += m.n + 4;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    size_t off = 0;
    long long deadline = now_ms() + 3000;
    while (off < n && now_ms() < deadline) {
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
    *taken = off;
    *total = n;
    return fd;
}

static void test_unread_pipelined_replies_keep_the_server_bounded(void **state)
{
    (void)state;
    long before = integ_rss_kib(srv.pid);
    size_t taken, total;
    int fd = pipeline_unread(&taken, &total);
    long peak = 0;
    for (int i = 0; i < 5; i++) {
        long rss = integ_rss_kib(srv.pid);
        peak = rss > peak ? rss : peak;
        poll(NULL, 0, 100);
    }
    print_message("10,000 unread calls: %zu of %zu bytes taken; server RSS %ld KiB before, "
                  "%ld KiB peak\n",
                  taken, total, before, peak);
    assert_true(before > 0 && peak - before < 64 * 1024);
    close_conn(fd); /* the server's blocked writes fail, and it lets go */
    still_serving();
}

/* A client that pipelines calls and never reads its replies does not hold
 * up anyone else: its replies queue (bounded), its connection is no longer
 * read, and no server thread waits for it. */
static void test_unread_pipelined_replies_do_not_stop_others(void **state)
{
    (void)state;
    size_t taken, total;
    int fd = pipeline_unread(&taken, &total);
    for (int i = 0; i < 5; i++) {
        long long t0 = now_ms();
        assert_int_equal(null_call(), PARLEY_OK);
        assert_true(now_ms() - t0 < 1000);
    }
    close_conn(fd);
    still_serving();
}

static void test_a_dribbling_client_does_not_stop_others(void **state)
{
    (void)state;
    int fd = open_conn();
    assert_true(fd >= 0);
    raw_msg m = {0};
    raw_call(&m, 1, INTEG_PROG, INTEG_VERS, 0);
    uint8_t framed[64];
    uint32_t v = 0x80000000u | (uint32_t)m.n;
    framed[0] = (uint8_t)(v >> 24);
    framed[1] = (uint8_t)(v >> 16);
    framed[2] = (uint8_t)(v >> 8);
    framed[3] = (uint8_t)v;
    memcpy(framed + 4, m.b, m.n);
    /* one byte every 200 ms (the pace of the attack, not a wait for a
     * result); between bytes, another client's call is answered */
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(raw_send_all(fd, framed + i, 1), 0);
        long long t0 = now_ms();
        assert_int_equal(null_call(), PARLEY_OK);
        assert_true(now_ms() - t0 < 1000);
        poll(NULL, 0, 200);
    }
    /* the rest, at once: the dribbled call is answered too */
    assert_int_equal(raw_send_all(fd, framed + 10, m.n + 4 - 10), 0);
    size_t len = 0;
    raw_reply r;
    assert_int_equal(raw_read_record(fd, buf, sizeof buf, &len, 2000), 1);
    assert_int_equal(raw_parse_reply(buf, len, &r), 0);
    assert_int_equal(r.accept_stat, PARLEY_SUCCESS);
    close_conn(fd);
    still_serving();
}

/* A server whose messages must arrive within 200 ms of their first byte
 * closes a client that dribbles one (the check runs about once a second),
 * and answers another client meanwhile. */
static void test_a_short_message_timeout_closes_a_dribbling_client(void **state)
{
    (void)state;
    static const char *const addrs[] = {"tcp://127.0.0.1:0"};
    integ_serve_args a = {addrs, 1, 2, 200};
    integ_proc quick;
    assert_int_equal(integ_proc_start(&quick, integ_serve, &a), 0);
    int fd = open_conn_to(quick.addrs[0]);
    assert_true(fd >= 0);
    raw_msg m = {0};
    raw_call(&m, 1, INTEG_PROG, INTEG_VERS, 0);
    uint8_t framed[64];
    uint32_t v = 0x80000000u | (uint32_t)m.n;
    framed[0] = (uint8_t)(v >> 24);
    framed[1] = (uint8_t)(v >> 16);
    framed[2] = (uint8_t)(v >> 8);
    framed[3] = (uint8_t)v;
    memcpy(framed + 4, m.b, m.n);
    /* a byte every 100 ms or so (the pace of the attack, never the whole
     * message), at most 60 times; another client's call between bytes */
    int closed = 0, served = 0, rounds = 0;
    for (size_t i = 0; rounds < 60 && !closed; rounds++) {
        if (i + 1 < m.n + 4 && raw_send_all(fd, framed + i++, 1) != 0)
            closed = 1;
        served += null_call_at(quick.addrs[0]) == PARLEY_OK;
        if (!closed)
            closed = raw_closed(fd, 100);
    }
    close_conn(fd);
    int status = integ_proc_stop(&quick);
    print_message("message timeout of 200 ms: dribbling connection %s after %d rounds\n",
                  closed ? "closed" : "still open", rounds);
    assert_true(closed);
    assert_int_equal(served, rounds);
    assert_int_equal(status, 0);
    still_serving();
}

static void test_a_thousand_idle_connections_leave_others_served(void **state)
{
    (void)state;
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
    long before = integ_rss_kib(srv.pid);
    static int fds[IDLE];
    int n = 0;
    for (; n < IDLE; n++) {
        fds[n] = open_conn();
        if (fds[n] < 0)
            break;
    }
    /* a call on a connection made after them all is answered once they
     * have all been accepted (the listen queue is first in, first out) */
    int rc = null_call();
    long after = integ_rss_kib(srv.pid);
    for (int i = 0; i < n; i++)
        close_conn(fds[i]);
    assert_int_equal(n, IDLE);
    assert_int_equal(rc, PARLEY_OK);
    print_message("1000 idle connections: server RSS %ld -> %ld KiB, %.2f KiB each\n", before,
                  after, (double)(after - before) / IDLE);
    assert_true(after - before < 64 * 1024);
    still_serving();
}

static void test_the_server_exits_zero_on_sigterm(void **state)
{
    (void)state;
    still_serving();
    assert_int_equal(integ_proc_stop(&srv), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1) /* a pattern: run only the tests it matches */
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_truncated_headers_close_the_connection, close_all),
        cmocka_unit_test_teardown(test_malformed_headers_close_the_connection, close_all),
        cmocka_unit_test_teardown(test_wrong_rpc_version_is_rpc_mismatch_2_2, close_all),
        cmocka_unit_test_teardown(test_unknown_program_is_prog_unavail, close_all),
        cmocka_unit_test_teardown(test_unknown_version_is_prog_mismatch_with_low_and_high,
                                  close_all),
        cmocka_unit_test_teardown(test_unknown_procedure_is_proc_unavail, close_all),
        cmocka_unit_test_teardown(test_garbage_arguments_are_garbage_args, close_all),
        cmocka_unit_test_teardown(test_lengths_of_0xffffffff_are_garbage_args, close_all),
        cmocka_unit_test_teardown(test_bad_auth_sys_bodies_are_auth_error_badcred, close_all),
        cmocka_unit_test_teardown(test_auth_body_over_400_bytes_closes_the_connection, close_all),
        cmocka_unit_test_teardown(test_huge_fragment_header_closes_before_allocating, close_all),
        cmocka_unit_test_teardown(test_endless_empty_fragments_close_the_connection, close_all),
        cmocka_unit_test_teardown(test_a_reply_sent_to_the_server_closes_the_connection, close_all),
        cmocka_unit_test_teardown(test_random_bytes_are_closed_or_ignored, close_all),
        cmocka_unit_test_teardown(test_unread_pipelined_replies_keep_the_server_bounded, close_all),
        cmocka_unit_test_teardown(test_unread_pipelined_replies_do_not_stop_others, close_all),
        cmocka_unit_test_teardown(test_a_dribbling_client_does_not_stop_others, close_all),
        cmocka_unit_test_teardown(test_a_short_message_timeout_closes_a_dribbling_client,
                                  close_all),
        cmocka_unit_test_teardown(test_a_thousand_idle_connections_leave_others_served, close_all),
        cmocka_unit_test_teardown(test_the_server_exits_zero_on_sigterm, close_all),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
