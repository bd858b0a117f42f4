/*
 * tests/unit/test_stats.c: a server's per-procedure counters
 * (parley/stats.h). Known calls over TCP, UDP and a Unix socket, some
 * answered, some refused by their procedure, some failing: after each
 * transport the counters are exact, their latencies add up to their calls,
 * and the walk over every procedure sees them in order.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "parley/client.h"
#include "parley/server.h"
#include "parley/stats.h"

enum { PROG = 0x20004100, VERS = 1, PROC_ECHO = 1, PROC_GARBAGE = 2, PROC_FAIL = 3 };

static int echo_handler(parley_call *call, parley_dec *args)
{
    uint32_t x = parley_get_u32(args);
    if (args->err || parley_dec_remaining(args))
        return PARLEY_ERR_GARBAGE_ARGS;
    parley_enc *e = parley_call_result(call, 4);
    if (!e)
        return PARLEY_ERR_SYSTEM_ERR;
    parley_put_u32(e, x);
    return PARLEY_OK;
}

static int fail_handler(parley_call *call, parley_dec *args)
{
    (void)call;
    (void)args;
    return PARLEY_ERR_SYSTEM_ERR;
}

static const parley_proc_def procs[] = {
    {.proc = PROC_ECHO, .handler = echo_handler},
    {.proc = PROC_GARBAGE, .handler = echo_handler}, /* called with no argument: garbage */
    {.proc = PROC_FAIL, .handler = fail_handler},
};
static const parley_program_def prog_def = {PROG, VERS, procs, 3};

static void put_u32(parley_enc *e, const void *a)
{
    parley_put_u32(e, *(const uint32_t *)a);
}

static void get_u32(parley_dec *d, void *r)
{
    *(uint32_t *)r = parley_get_u32(d);
}

static void *run_thread(void *arg)
{
    parley_server_run(arg);
    return NULL;
}

/* check compares the counters of proc with the outcomes given. */
static void check(parley_server *s, uint32_t proc, uint64_t ok, uint64_t garbage, uint64_t syserr)
{
    parley_proc_stats st;
    assert_int_equal(parley_server_stats(s, PROG, VERS, proc, &st), PARLEY_OK);
    assert_int_equal(st.prog, PROG);
    assert_int_equal(st.vers, VERS);
    assert_int_equal(st.proc, proc);
    assert_int_equal(st.ok, ok);
    assert_int_equal(st.garbage_args, garbage);
    assert_int_equal(st.system_err, syserr);
    assert_int_equal(st.not_run, 0);
    assert_int_equal(st.calls, ok + garbage + syserr);
    uint64_t sum = 0;
    for (int b = 0; b < PARLEY_STATS_BUCKETS; b++)
        sum += st.latency_us[b];
    assert_int_equal(sum, st.calls);
}

typedef struct walk {
    uint32_t procs[8];
    uint64_t calls;
    int n;
} walk;

static int walk_fn(void *ctx, const parley_proc_stats *st)
{
    walk *w = ctx;
    if (w->n < 8)
        w->procs[w->n++] = st->proc;
    w->calls += st->calls;
    return 0;
}

static int stop_fn(void *ctx, const parley_proc_stats *st)
{
    (void)ctx;
    (void)st;
    return 5;
}

static void test_counters_are_exact_over_tcp_udp_and_unix(void **state)
{
    (void)state;
    parley_server *s = NULL;
    parley_server_opts o = {.threads = 2};
    assert_int_equal(parley_server_create(&s, &o), PARLEY_OK);
    assert_int_equal(parley_server_add_program(s, &prog_def), PARLEY_OK);
    char dir[64], addrs[3][160], a[160];
    snprintf(dir, sizeof dir, "/tmp/parley-stats-XXXXXX");
    assert_non_null(mkdtemp(dir));
    assert_int_equal(parley_server_listen(s, "tcp://127.0.0.1:0", addrs[0], sizeof addrs[0]),
                     PARLEY_OK);
    assert_int_equal(parley_server_listen(s, "udp://127.0.0.1:0", addrs[1], sizeof addrs[1]),
                     PARLEY_OK);
    snprintf(a, sizeof a, "unix://%s/s.sock", dir);
    assert_int_equal(parley_server_listen(s, a, addrs[2], sizeof addrs[2]), PARLEY_OK);
    check(s, PROC_ECHO, 0, 0, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_thread, s), 0);

    for (int t = 0; t < 3; t++) {
        parley_client *c = NULL;
        assert_int_equal(parley_client_create(&c, addrs[t], PROG, VERS, NULL), PARLEY_OK);
        uint32_t x = 5, r = 0;
        for (int i = 0; i < 5; i++)
            assert_int_equal(parley_client_call(c, PROC_ECHO, put_u32, &x, 4, get_u32, &r, 0),
                             PARLEY_OK);
        for (int i = 0; i < 3; i++)
            assert_int_equal(parley_client_call(c, PROC_GARBAGE, NULL, NULL, 0, get_u32, &r, 0),
                             PARLEY_ERR_GARBAGE_ARGS);
        for (int i = 0; i < 2; i++)
            assert_int_equal(parley_client_call(c, PROC_FAIL, put_u32, &x, 4, get_u32, &r, 0),
                             PARLEY_ERR_SYSTEM_ERR);
        /* refused before any procedure: counted nowhere */
        assert_int_equal(parley_client_call(c, 9, put_u32, &x, 4, get_u32, &r, 0),
                         PARLEY_ERR_PROC_UNAVAIL);
        /* at-most-once: the HELLO before it is not a call of the procedure */
        parley_call_opts once = {.semantics = PARLEY_AT_MOST_ONCE};
        assert_int_equal(parley_client_call_opts(c, PROC_ECHO, put_u32, &x, 4, get_u32, &r, &once),
                         PARLEY_OK);
        parley_client_destroy(c);
        uint64_t k = (uint64_t)t + 1;
        check(s, PROC_ECHO, 6 * k, 0, 0);
        check(s, PROC_GARBAGE, 0, 3 * k, 0);
        check(s, PROC_FAIL, 0, 0, 2 * k);
    }

    walk w = {{0}, 0, 0};
    assert_int_equal(parley_server_stats_each(s, walk_fn, &w), PARLEY_OK);
    assert_int_equal(w.n, 3);
    assert_int_equal(w.procs[0], PROC_ECHO);
    assert_int_equal(w.procs[1], PROC_GARBAGE);
    assert_int_equal(w.procs[2], PROC_FAIL);
    assert_int_equal(w.calls, 33);
    assert_int_equal(parley_server_stats_each(s, stop_fn, NULL), 5);

    parley_proc_stats st;
    memset(&st, 0x5a, sizeof st);
    assert_int_equal(parley_server_stats(s, PROG, VERS, 9, &st), PARLEY_ERR_PROC_UNAVAIL);
    assert_int_equal(parley_server_stats(s, PROG, VERS + 1, PROC_ECHO, &st),
                     PARLEY_ERR_PROC_UNAVAIL);
    assert_int_equal(st.prog, 0x5a5a5a5a); /* not written */
    assert_int_equal(parley_server_stats(NULL, PROG, VERS, 1, &st), PARLEY_ERR_INVALID);
    assert_int_equal(parley_server_stats(s, PROG, VERS, 1, NULL), PARLEY_ERR_INVALID);
    assert_int_equal(parley_server_stats_each(s, NULL, NULL), PARLEY_ERR_INVALID);

    parley_server_stop(s);
    pthread_join(th, NULL);
    parley_server_destroy(s);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_are_exact_over_tcp_udp_and_unix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
