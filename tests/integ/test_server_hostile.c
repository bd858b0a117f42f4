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

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "battery.h"
#include "integ.h"
#include "integ_svc.h"
#include "proc.h"
#include "raw.h"

static integ_proc srv;
static battery_target server; /* srv, once started */

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
    return null_call_at(server.addr);
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
    server = (battery_target){.addr = srv.addrs[0],
                              .name = "server",
                              .pid = srv.pid,
                              .rss_small = 4 * 1024,
                              .rss_bound = 64 * 1024,
                              .served = null_call,
                              .still_serving = still_serving};
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
    battery_call_expect(&server, m, r);
}

static void test_truncated_headers_close_the_connection(void **state)
{
    (void)state;
    battery_truncated_headers(&server, INTEG_PROG, INTEG_VERS, 0);
}

static void test_malformed_headers_close_the_connection(void **state)
{
    (void)state;
    battery_malformed_headers(&server, INTEG_PROG, INTEG_VERS, 0);
}

static void test_wrong_rpc_version_is_rpc_mismatch_2_2(void **state)
{
    (void)state;
    battery_wrong_rpc_version(&server, INTEG_PROG, INTEG_VERS);
}

static void test_unknown_program_is_prog_unavail(void **state)
{
    (void)state;
    static const uint32_t progs[] = {INTEG_PROG + 1};
    battery_unknown_programs(&server, progs, 1);
}

static void test_unknown_version_is_prog_mismatch_with_low_and_high(void **state)
{
    (void)state;
    static const uint32_t bad[] = {0, 2, 4, 0xffffffffu};
    battery_unknown_versions(&server, INTEG_PROG, bad, sizeof bad / sizeof bad[0], 1, 3);
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
    battery_auth_body_over_400(&server, INTEG_PROG, INTEG_VERS, WHOAMI);
}

static void test_huge_fragment_header_closes_before_allocating(void **state)
{
    (void)state;
    battery_huge_fragment_header(&server); /* nothing near 2 GiB, nor 4 MiB */
}

static void test_endless_empty_fragments_close_the_connection(void **state)
{
    (void)state;
    battery_endless_empty_fragments(&server);
}

static void test_a_reply_sent_to_the_server_closes_the_connection(void **state)
{
    (void)state;
    battery_reply_sent(&server);
}

static void test_random_bytes_are_closed_or_ignored(void **state)
{
    (void)state;
    battery_random_bytes(&server, 0);
}

/* echo_call: the call pipelined 10,000 times and never read, an echo of
 * 1 KiB. */
static void echo_call(raw_msg *m)
{
    static uint8_t blob_bytes[1024];
    raw_call(m, 0, INTEG_PROG, INTEG_VERS, ECHO_BLOB);
    memset(blob_bytes, 'b', sizeof blob_bytes);
    raw_opaque(m, blob_bytes, sizeof blob_bytes);
}

static void test_unread_pipelined_replies_keep_the_server_bounded(void **state)
{
    (void)state;
    raw_msg m = {0};
    echo_call(&m);
    battery_unread_pipelined(&server, &m, "calls", 0);
}

/* A client that pipelines calls and never reads its replies does not hold
 * up anyone else: its replies queue (bounded), its connection is no longer
 * read, and no server thread waits for it. */
static void test_unread_pipelined_replies_do_not_stop_others(void **state)
{
    (void)state;
    raw_msg m = {0};
    echo_call(&m);
    size_t taken, total;
    int fd = battery_pipeline_unread(&server, &m, &taken, &total);
    for (int i = 0; i < 5; i++) {
        long long t0 = battery_now_ms();
        assert_int_equal(null_call(), PARLEY_OK);
        assert_true(battery_now_ms() - t0 < 1000);
    }
    battery_close_conn(fd);
    still_serving();
}

static void test_a_dribbling_client_does_not_stop_others(void **state)
{
    (void)state;
    raw_msg m = {0};
    raw_call(&m, 1, INTEG_PROG, INTEG_VERS, 0);
    battery_dribbling_client(&server, &m);
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
    int fd = battery_track(raw_connect(quick.addrs[0]));
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
    battery_close_conn(fd);
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
    battery_idle_connections(&server);
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
        cmocka_unit_test_teardown(test_truncated_headers_close_the_connection, battery_close_all),
        cmocka_unit_test_teardown(test_malformed_headers_close_the_connection, battery_close_all),
        cmocka_unit_test_teardown(test_wrong_rpc_version_is_rpc_mismatch_2_2, battery_close_all),
        cmocka_unit_test_teardown(test_unknown_program_is_prog_unavail, battery_close_all),
        cmocka_unit_test_teardown(test_unknown_version_is_prog_mismatch_with_low_and_high,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_unknown_procedure_is_proc_unavail, battery_close_all),
        cmocka_unit_test_teardown(test_garbage_arguments_are_garbage_args, battery_close_all),
        cmocka_unit_test_teardown(test_lengths_of_0xffffffff_are_garbage_args, battery_close_all),
        cmocka_unit_test_teardown(test_bad_auth_sys_bodies_are_auth_error_badcred,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_auth_body_over_400_bytes_closes_the_connection,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_huge_fragment_header_closes_before_allocating,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_endless_empty_fragments_close_the_connection,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_a_reply_sent_to_the_server_closes_the_connection,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_random_bytes_are_closed_or_ignored, battery_close_all),
        cmocka_unit_test_teardown(test_unread_pipelined_replies_keep_the_server_bounded,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_unread_pipelined_replies_do_not_stop_others,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_a_dribbling_client_does_not_stop_others, battery_close_all),
        cmocka_unit_test_teardown(test_a_short_message_timeout_closes_a_dribbling_client,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_a_thousand_idle_connections_leave_others_served,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_the_server_exits_zero_on_sigterm, battery_close_all),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
