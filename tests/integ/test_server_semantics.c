/*
 * tests/integ/test_server_semantics.c: a real server (a forked child
 * serving integ.x) called through the generated client stubs over TCP on
 * 127.0.0.1 and ::1, UDP, and a Unix socket in a temporary folder: every
 * procedure's results, AUTH_SYS credentials as the procedure sees them, the
 * range of versions a PROG_MISMATCH tells the client, results decoded into
 * an arena by the _arena stubs, a slow call that does not hold up another
 * client, and a SIGTERM that lets the call in flight finish before the
 * server exits 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "integ.h"
#include "integ_svc.h"
#include "proc.h"

static integ_proc srv;
static integ_shared *shared;
static char tmpdir[64];
static char sockpath[128];
static char unix_addr[160];

/* have_ipv6: whether ::1 can be bound here (some containers lack it). */
static int have_ipv6(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof sin6);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr = in6addr_loopback;
    int ok = bind(fd, (struct sockaddr *)&sin6, sizeof sin6) == 0;
    close(fd);
    return ok;
}

static int start_server(integ_proc *p)
{
    const char *addrs[4] = {"tcp://127.0.0.1:0", "udp://127.0.0.1:0", unix_addr, "tcp://[::1]:0"};
    integ_serve_args a = {addrs, have_ipv6() ? 4 : 3, 4, 0};
    return integ_proc_start(p, integ_serve, &a);
}

static int group_setup(void **state)
{
    (void)state;
    shared = integ_shared_map();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/parley-integ-XXXXXX");
    if (!shared || !mkdtemp(tmpdir))
        return -1;
    snprintf(sockpath, sizeof sockpath, "%s/integ.sock", tmpdir);
    snprintf(unix_addr, sizeof unix_addr, "unix://%s", sockpath);
    return start_server(&srv);
}

static int group_teardown(void **state)
{
    (void)state;
    integ_proc_kill(&srv); /* only when a test failed before the last one */
    unlink(sockpath);
    rmdir(tmpdir);
    return 0;
}

static parley_client *client(const char *addr, uint32_t vers, const parley_cred *cred)
{
    parley_client_opts o;
    memset(&o, 0, sizeof o);
    o.timeout_ms = 5000;
    o.cred = cred;
    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, addr, INTEG_PROG, vers, &o), PARLEY_OK);
    return c;
}

/* check_procedures calls every procedure at addr and checks the results. */
static void check_procedures(const char *addr)
{
    print_message("procedures over %s\n", addr);
    parley_client *c = client(addr, INTEG_VERS, NULL);
    assert_int_equal(parley_client_call(c, 0, NULL, NULL, 0, NULL, NULL, 0), PARLEY_OK);

    int vals[] = {1, 2, 3, -4};
    char hello[] = "hello", hi[] = "hi";
    record r = {hello, -5000000000LL, (u_quad_t)1 << 40, {4, vals}, {'a', 'b', 'c', 'd'}, BLUE};
    record rr;
    memset(&rr, 0, sizeof rr);
    assert_int_equal(echo_record_1(c, &r, &rr), PARLEY_OK);
    assert_string_equal(rr.name, "olleh");
    assert_true(rr.big == 5000000000LL);
    assert_true(rr.ubig == ((u_quad_t)1 << 40) + 1);
    assert_int_equal(rr.values.values_len, 4);
    assert_int_equal(rr.values.values_val[0], -4);
    assert_int_equal(rr.values.values_val[3], 1);
    assert_memory_equal(rr.tag, "dcba", 4);
    assert_int_equal(rr.hue, RED);
    record_free(&rr);

    shape red = {RED, {.side = 21}}, green = {GREEN, {.label = hi}}, blue = {BLUE, {0}};
    shape sr;
    memset(&sr, 0, sizeof sr);
    assert_int_equal(echo_shape_1(c, &red, &sr), PARLEY_OK);
    assert_int_equal(sr.kind, RED);
    assert_int_equal(sr.shape_u.side, 42);
    shape_free(&sr);
    assert_int_equal(echo_shape_1(c, &green, &sr), PARLEY_OK);
    assert_int_equal(sr.kind, GREEN);
    assert_string_equal(sr.shape_u.label, "hi!");
    shape_free(&sr);
    assert_int_equal(echo_shape_1(c, &blue, &sr), PARLEY_OK);
    assert_int_equal(sr.kind, BLUE);
    shape_free(&sr);

    color in = GREEN, out = RED;
    assert_int_equal(next_color_1(c, &in, &out), PARLEY_OK);
    assert_int_equal(out, BLUE);

    node nodes[10];
    for (int i = 0; i < 10; i++) {
        nodes[i].value = i + 1;
        nodes[i].next = i < 9 ? &nodes[i + 1] : NULL;
    }
    node_list list = nodes, empty = NULL;
    int sum = -1;
    assert_int_equal(sum_list_1(c, &list, &sum), PARLEY_OK);
    assert_int_equal(sum, 55);
    assert_int_equal(sum_list_1(c, &empty, &sum), PARLEY_OK);
    assert_int_equal(sum, 0);

    int five = 5, zero = 0;
    node_list made = NULL;
    assert_int_equal(make_list_1(c, &five, &made), PARLEY_OK);
    int expect = 1;
    for (node *p = made; p; p = p->next)
        assert_int_equal(p->value, expect++);
    assert_int_equal(expect, 6);
    node_list_free(&made);
    made = NULL;
    assert_int_equal(make_list_1(c, &zero, &made), PARLEY_OK);
    assert_null(made);

    whoami_res who;
    memset(&who, 0, sizeof who);
    assert_int_equal(whoami_1(c, &who), PARLEY_OK);
    assert_int_equal(who.flavor, PARLEY_AUTH_NONE);
    assert_int_equal(who.uid, 0);
    assert_int_equal(who.gids.gids_len, 0);
    assert_string_equal(who.machine, "");
    whoami_res_free(&who);

    int one = 1, got = 0;
    assert_int_equal(slow_1(c, &one, &got), PARLEY_OK);
    assert_int_equal(got, 1);

    static char bytes[INTEG_MAX_BLOB];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (char)(i * 7);
    /* a datagram holds 3,000 bytes of arguments; a stream the whole 64 KiB */
    u_int sizes[] = {0, 1, 3000, strncmp(addr, "udp:", 4) ? INTEG_MAX_BLOB : 3001};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        blob b = {sizes[i], bytes}, br;
        memset(&br, 0, sizeof br);
        assert_int_equal(echo_blob_1(c, &b, &br), PARLEY_OK);
        assert_int_equal(br.blob_len, sizes[i]);
        if (sizes[i])
            assert_memory_equal(br.blob_val, bytes, sizes[i]);
        blob_free(&br);
    }
    parley_client_destroy(c);

    parley_client *c3 = client(addr, INTEG_VERS3, NULL);
    int four = 4;
    got = 0;
    assert_int_equal(ping3_3(c3, &four, &got), PARLEY_OK);
    assert_int_equal(got, 7);
    parley_client_destroy(c3);
}

static void test_every_procedure_is_right_over_tcp_udp_and_unix(void **state)
{
    (void)state;
    assert_true(srv.naddrs >= 3);
    for (size_t i = 0; i < srv.naddrs; i++)
        check_procedures(srv.addrs[i]);
}

static void test_auth_sys_credentials_reach_the_procedure(void **state)
{
    (void)state;
    parley_cred cred;
    memset(&cred, 0, sizeof cred);
    cred.flavor = PARLEY_AUTH_SYS;
    cred.stamp = 0x5eed;
    snprintf(cred.machine, sizeof cred.machine, "integ-host");
    cred.uid = 1234;
    cred.gid = 567;
    cred.ngids = 3;
    cred.gids[0] = 10;
    cred.gids[1] = 20;
    cred.gids[2] = 30;
    for (size_t i = 0; i < srv.naddrs; i++) {
        parley_client *c = client(srv.addrs[i], INTEG_VERS, &cred);
        whoami_res who;
        memset(&who, 0, sizeof who);
        assert_int_equal(whoami_1(c, &who), PARLEY_OK);
        assert_int_equal(who.flavor, PARLEY_AUTH_SYS);
        assert_int_equal(who.stamp, 0x5eed);
        assert_int_equal(who.uid, 1234);
        assert_int_equal(who.gid, 567);
        assert_int_equal(who.gids.gids_len, 3);
        assert_int_equal(who.gids.gids_val[0], 10);
        assert_int_equal(who.gids.gids_val[2], 30);
        assert_string_equal(who.machine, "integ-host");
        whoami_res_free(&who);
        parley_client_destroy(c);
    }
}

static void test_a_version_between_those_served_is_refused_with_their_range(void **state)
{
    (void)state;
    for (size_t i = 0; i < srv.naddrs; i++) {
        parley_client *c = client(srv.addrs[i], 2, NULL);
        int four = 4, got = 0;
        parley_rpc_detail d;
        memset(&d, 0xa5, sizeof d);
        assert_int_equal(ping3_3(c, &four, &got), PARLEY_ERR_PROG_MISMATCH);
        parley_client_last_detail(&d);
        assert_int_equal(d.err, PARLEY_ERR_PROG_MISMATCH);
        assert_int_equal(d.low, 1);
        assert_int_equal(d.high, 3);
        assert_int_equal(d.auth_stat, 0);
        char text[128];
        assert_string_equal(parley_rpc_detail_format(&d, text, sizeof text),
                            "program version mismatch: the server serves versions 1 to 3");
        parley_client_destroy(c);
    }
}

static void on_record(void *ctx, int err)
{
    *(int *)ctx = err;
}

static void test_results_decode_into_an_arena_through_the_stubs(void **state)
{
    (void)state;
    parley_arena *a = parley_arena_create(0);
    assert_non_null(a);
    for (size_t i = 0; i < srv.naddrs; i++) {
        parley_client *c = client(srv.addrs[i], INTEG_VERS, NULL);
        /* a list of a thousand nodes: a thousand allocations with malloc */
        int n = 1000;
        node_list made = NULL;
        assert_int_equal(make_list_1_arena(c, &n, &made, a), PARLEY_OK);
        int expect = 1;
        for (node *p = made; p; p = p->next)
            assert_int_equal(p->value, expect++);
        assert_int_equal(expect, n + 1);
        assert_true(parley_arena_used(a) >= (size_t)n * sizeof(node));
        parley_arena_reset(a); /* no node_list_free */

        int vals[] = {7, 8};
        char name[] = "arena";
        record r = {name, 1, 2, {2, vals}, {'w', 'x', 'y', 'z'}, RED}, rr;
        assert_int_equal(echo_record_1_arena(c, &r, &rr, a), PARLEY_OK);
        assert_string_equal(rr.name, "anera");
        assert_int_equal(rr.values.values_val[0], 8);
        assert_int_equal(rr.hue, GREEN);

        /* submitted, decoded just before the callback in the polling thread */
        int err = -1;
        memset(&rr, 0, sizeof rr);
        assert_int_equal(echo_record_1_submit_arena(c, &r, &rr, a, on_record, &err), PARLEY_OK);
        for (int k = 0; k < 100 && err < 0; k++)
            assert_int_equal(parley_client_poll(c, 100, NULL), PARLEY_OK);
        assert_int_equal(err, PARLEY_OK);
        assert_string_equal(rr.name, "anera");
        parley_arena_reset(a);
        parley_client_destroy(c);

        /* a failed call leaves a zeroed result and the arena as it was */
        c = client(srv.addrs[i], 2, NULL);
        memset(&rr, 0xa5, sizeof rr);
        assert_int_equal(echo_record_1_arena(c, &r, &rr, a), PARLEY_ERR_PROG_MISMATCH);
        assert_null(rr.name);
        assert_int_equal(rr.values.values_len, 0);
        assert_int_equal(parley_arena_used(a), 0);
        parley_client_destroy(c);
    }
    parley_arena_destroy(a);
}

/* A SLOW call made from its own thread. */
typedef struct slow_call {
    const char *addr;
    int ms, got, rc;
} slow_call;

static void *slow_thread(void *arg)
{
    slow_call *s = arg;
    parley_client *c = NULL;
    s->rc = parley_client_create(&c, s->addr, INTEG_PROG, INTEG_VERS, NULL);
    if (s->rc == PARLEY_OK)
        s->rc = slow_1(c, &s->ms, &s->got);
    parley_client_destroy(c);
    return NULL;
}

/* wait_started waits (up to 5 s) for the server to begin n SLOW calls. */
static int wait_started(int n)
{
    for (int i = 0; i < 1000; i++) {
        if (atomic_load(&shared->slow_started) >= n)
            return 1;
        poll(NULL, 0, 5);
    }
    return 0;
}

static void test_a_slow_call_does_not_block_another_client(void **state)
{
    (void)state;
    int started = atomic_load(&shared->slow_started);
    int done = atomic_load(&shared->slow_done);
    slow_call s = {srv.addrs[0], 500, 0, -1};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slow_thread, &s), 0);
    int ok = wait_started(started + 1);
    int rc = -1, still_slow = 0;
    if (ok) {
        /* another client's calls, while the slow one is in progress */
        parley_client *c = NULL;
        rc = parley_client_create(&c, srv.addrs[0], INTEG_PROG, INTEG_VERS, NULL);
        for (int i = 0; i < 10 && rc == PARLEY_OK; i++) {
            color in = RED, out = RED;
            rc = next_color_1(c, &in, &out);
        }
        still_slow = atomic_load(&shared->slow_done) == done;
        parley_client_destroy(c);
    }
    pthread_join(t, NULL);
    assert_true(ok);
    assert_int_equal(rc, PARLEY_OK);
    assert_true(still_slow); /* the fast calls returned before the slow one ended */
    assert_int_equal(s.rc, PARLEY_OK);
    assert_int_equal(s.got, 500);
    assert_int_equal(atomic_load(&shared->slow_done), done + 1);
}

static void test_sigterm_lets_the_call_in_flight_finish_then_exits_zero(void **state)
{
    (void)state;
    /* over TCP, UDP and Unix (the first three addresses), each time on a
     * fresh server */
    for (size_t i = 0; i < 3; i++) {
        int started = atomic_load(&shared->slow_started);
        slow_call s = {srv.addrs[i], 500, 0, -1};
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, slow_thread, &s), 0);
        int ok = wait_started(started + 1);
        if (ok)
            kill(srv.pid, SIGTERM);
        pthread_join(t, NULL);
        int status = integ_proc_stop(&srv);
        int restarted = i < 2 ? start_server(&srv) : 0;
        print_message("SIGTERM during a call over %s: call %s, exit status %d\n", s.addr,
                      parley_strerror(s.rc), status);
        assert_true(ok);
        assert_int_equal(s.rc, PARLEY_OK);
        assert_int_equal(s.got, 500);
        assert_int_equal(status, 0);
        assert_int_equal(restarted, 0);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1) /* a pattern: run only the tests it matches */
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_procedure_is_right_over_tcp_udp_and_unix),
        cmocka_unit_test(test_auth_sys_credentials_reach_the_procedure),
        cmocka_unit_test(test_a_version_between_those_served_is_refused_with_their_range),
        cmocka_unit_test(test_results_decode_into_an_arena_through_the_stubs),
        cmocka_unit_test(test_a_slow_call_does_not_block_another_client),
        cmocka_unit_test(test_sigterm_lets_the_call_in_flight_finish_then_exits_zero),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
