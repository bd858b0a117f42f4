/*
 * tests/unit/test_once.c: the delivery guarantees end to end in one
 * process (client/once.c against server/guard.c): a server run by a thread
 * on loopback (TCP and UDP), procedures declaring each guarantee, and
 * clients calling them with parley_client_call_opts. The faults that test
 * the guarantees for real (a proxy dropping and duplicating datagrams and
 * breaking connections, servers killed and restarted) are in
 * tests/delivery/; this file checks the protocol's paths one by one: HELLO,
 * the identity a procedure reads, exactly-once without a store, the store's
 * key-value space, a server restarted under a client, min_semantics.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "parley/client.h"
#include "parley/server.h"

enum {
    PROG = 0x20005a5a,
    VERS = 1,
    P_AMO = 1,
    P_EO = 2,
    P_IDEM = 3,
    P_WHO = 4,
    P_EXT = 5,
    P_SLOW = 6,
    P_FAIL = 7
};

/* Runs of each procedure, by the procedures themselves. */
static atomic_int runs_amo, runs_eo, runs_idem;

/* add_handler adds its argument to a count: kept in the store for an
 * exactly-once call (committed with its completion record), in memory
 * otherwise; answers the new count. */
static atomic_uint mem_count;

static int add(parley_call *call, parley_dec *args, int in_store, atomic_int *runs)
{
    uint32_t x = parley_get_u32(args);
    if (args->err || parley_dec_remaining(args))
        return PARLEY_ERR_GARBAGE_ARGS;
    atomic_fetch_add(runs, 1);
    uint32_t count;
    if (in_store) {
        const void *v = NULL;
        size_t vl = 0;
        uint32_t now = 0;
        if (parley_call_store_get(call, "count", 5, &v, &vl) != PARLEY_OK)
            return PARLEY_ERR_SYSTEM_ERR;
        if (v && vl == 4)
            memcpy(&now, v, 4);
        count = now + x;
        if (parley_call_store_put(call, "count", 5, &count, 4) != PARLEY_OK)
            return PARLEY_ERR_SYSTEM_ERR;
    } else {
        count = atomic_fetch_add(&mem_count, x) + x;
    }
    parley_enc *e = parley_call_result(call, 4);
    if (!e)
        return PARLEY_ERR_SYSTEM_ERR;
    parley_put_u32(e, count);
    return PARLEY_OK;
}

static int amo_handler(parley_call *call, parley_dec *args)
{
    return add(call, args, 0, &runs_amo);
}

static int eo_handler(parley_call *call, parley_dec *args)
{
    return add(call, args, 1, &runs_eo);
}

static int idem_handler(parley_call *call, parley_dec *args)
{
    return add(call, args, 0, &runs_idem);
}

/* who_handler answers the call's sequence number, or 0 without identity;
 * and checks that the store is refused to an at-most-once call. */
static int who_handler(parley_call *call, parley_dec *args)
{
    (void)args;
    uint8_t id[16];
    uint64_t seq = 0;
    if (parley_call_identity(call, id, &seq) != PARLEY_OK)
        seq = 0;
    const void *v;
    size_t vl;
    if (parley_call_store_get(call, "k", 1, &v, &vl) != PARLEY_ERR_UNSUPPORTED ||
        parley_call_external(call) != PARLEY_ERR_UNSUPPORTED)
        return PARLEY_ERR_SYSTEM_ERR;
    parley_enc *e = parley_call_result(call, 8);
    if (!e)
        return PARLEY_ERR_SYSTEM_ERR;
    parley_put_u64(e, seq);
    return PARLEY_OK;
}

/* ext_handler records that it started (an effect outside the store would
 * follow), then answers 1. */
static int ext_handler(parley_call *call, parley_dec *args)
{
    (void)args;
    if (parley_call_external(call) != PARLEY_OK)
        return PARLEY_ERR_SYSTEM_ERR;
    parley_enc *e = parley_call_result(call, 4);
    if (!e)
        return PARLEY_ERR_SYSTEM_ERR;
    parley_put_u32(e, 1);
    return PARLEY_OK;
}

/* slow_handler is an exactly-once ADD that says it has begun, then waits
 * (bounded) until the test lets it go on. */
static atomic_int slow_entered, slow_release, runs_slow;

static int slow_handler(parley_call *call, parley_dec *args)
{
    atomic_store(&slow_entered, 1);
    for (int i = 0; i < 10000 && !atomic_load(&slow_release); i++)
        usleep(1000);
    return add(call, args, 1, &runs_slow);
}

/* fail_handler is an exactly-once procedure with an effect outside the
 * store, which fails after making it: its failure is its answer, and no
 * copy of the call may run it (and its effect) again. It takes a while,
 * so that the client's UDP copies come while it runs and after. */
static atomic_int runs_fail, fail_effects;

static int fail_handler(parley_call *call, parley_dec *args)
{
    (void)args;
    atomic_fetch_add(&runs_fail, 1);
    if (parley_call_external(call) != PARLEY_OK)
        return PARLEY_ERR_SYSTEM_ERR; /* refused: no effect */
    atomic_fetch_add(&fail_effects, 1);
    usleep(300 * 1000);
    return PARLEY_ERR_SYSTEM_ERR;
}

static const parley_proc_def procs[] = {
    {P_AMO, amo_handler, PARLEY_AT_MOST_ONCE},   {P_EO, eo_handler, PARLEY_EXACTLY_ONCE},
    {P_IDEM, idem_handler, PARLEY_IDEMPOTENT},   {P_WHO, who_handler, PARLEY_AT_MOST_ONCE},
    {P_EXT, ext_handler, PARLEY_EXACTLY_ONCE},   {P_SLOW, slow_handler, PARLEY_EXACTLY_ONCE},
    {P_FAIL, fail_handler, PARLEY_EXACTLY_ONCE},
};
static const parley_program_def program = {PROG, VERS, procs, sizeof procs / sizeof procs[0]};

/* make_dir makes a temporary folder for a test's files, under TMPDIR when
 * it is set, into dir (cap bytes). */
static void make_dir(char *dir, size_t cap, const char *what)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, cap, "%s/parley-%s-XXXXXX", tmp && tmp[0] ? tmp : "/tmp", what);
    assert_non_null(mkdtemp(dir));
}

static void put_u32(parley_enc *e, const void *a)
{
    parley_put_u32(e, *(const uint32_t *)a);
}

static void get_u32(parley_dec *d, void *r)
{
    *(uint32_t *)r = parley_get_u32(d);
}

static void get_u64(parley_dec *d, void *r)
{
    *(uint64_t *)r = parley_get_u64(d);
}

typedef struct running {
    parley_server *s;
    pthread_t thread;
    int rc;
    char tcp[128], udp[128];
} running;

static void *run(void *arg)
{
    running *r = arg;
    r->rc = parley_server_run(r->s);
    return NULL;
}

/* start serves program on loopback TCP and UDP (at the ports in tcp_at and
 * udp_at when given, else at ports the system chooses), with a store at
 * store (NULL: none). */
static void start(running *r, const char *store, const char *tcp_at, const char *udp_at)
{
    parley_server_opts o = {.threads = 2, .store = store};
    assert_int_equal(parley_server_create(&r->s, &o), PARLEY_OK);
    assert_int_equal(parley_server_add_program(r->s, &program), PARLEY_OK);
    assert_int_equal(
        parley_server_listen(r->s, tcp_at ? tcp_at : "tcp://127.0.0.1:0", r->tcp, sizeof r->tcp),
        PARLEY_OK);
    assert_int_equal(
        parley_server_listen(r->s, udp_at ? udp_at : "udp://127.0.0.1:0", r->udp, sizeof r->udp),
        PARLEY_OK);
    assert_int_equal(pthread_create(&r->thread, NULL, run, r), 0);
}

static void stop(running *r)
{
    parley_server_stop(r->s);
    assert_int_equal(pthread_join(r->thread, NULL), 0);
    parley_server_destroy(r->s);
    assert_int_equal(r->rc, PARLEY_OK);
}

static int call(parley_client *c, uint32_t proc, uint32_t x, uint32_t *res, parley_semantics sem)
{
    parley_call_opts o = {5000, sem, NULL};
    *res = 0;
    return parley_client_call_opts(c, proc, put_u32, &x, 4, get_u32, res, &o);
}

static void reset_counts(void)
{
    atomic_store(&runs_amo, 0);
    atomic_store(&runs_eo, 0);
    atomic_store(&runs_idem, 0);
    atomic_store(&mem_count, 0);
}

static void test_at_most_once_calls_run_once_each_over_tcp_and_udp(void **state)
{
    (void)state;
    reset_counts();
    running r;
    start(&r, NULL, NULL, NULL);
    const char *addrs[] = {r.tcp, r.udp};
    for (int t = 0; t < 2; t++) {
        parley_client *c = NULL;
        assert_int_equal(parley_client_create(&c, addrs[t], PROG, VERS, NULL), PARLEY_OK);
        for (uint32_t i = 1; i <= 50; i++) {
            uint32_t res;
            assert_int_equal(call(c, P_AMO, 1, &res, PARLEY_AT_MOST_ONCE), PARLEY_OK);
            assert_int_equal(res, 50 * t + i);
        }
        /* a procedure reads its call's identity: the handle's numbers go up */
        uint64_t seq1 = 0, seq2 = 0;
        parley_call_opts o = {5000, PARLEY_AT_MOST_ONCE, NULL};
        assert_int_equal(parley_client_call_opts(c, P_WHO, NULL, NULL, 0, get_u64, &seq1, &o),
                         PARLEY_OK);
        assert_int_equal(parley_client_call_opts(c, P_WHO, NULL, NULL, 0, get_u64, &seq2, &o),
                         PARLEY_OK);
        assert_true(seq1 > 50 && seq2 == seq1 + 1);
        /* a plain call carries none */
        uint64_t none = 7;
        assert_int_equal(parley_client_call(c, P_WHO, NULL, NULL, 0, get_u64, &none, 5000),
                         PARLEY_OK);
        assert_int_equal(none, 0);
        parley_client_destroy(c);
    }
    assert_int_equal(atomic_load(&runs_amo), 100);
    stop(&r);
}

static void test_exactly_once_without_a_store_is_refused_and_does_not_run(void **state)
{
    (void)state;
    reset_counts();
    running r;
    start(&r, NULL, NULL, NULL);
    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, r.tcp, PROG, VERS, NULL), PARLEY_OK);
    uint32_t res;
    assert_int_equal(call(c, P_EO, 1, &res, PARLEY_EXACTLY_ONCE), PARLEY_ERR_NOT_GUARANTEED);
    assert_int_equal(atomic_load(&runs_eo), 0);
    /* a stronger guarantee asked of an at-most-once procedure is held to */
    assert_int_equal(call(c, P_AMO, 1, &res, PARLEY_EXACTLY_ONCE), PARLEY_ERR_NOT_GUARANTEED);
    assert_int_equal(atomic_load(&runs_amo), 0);
    /* and so is the handle's floor */
    parley_client *strict = NULL;
    parley_client_opts co = {.min_semantics = PARLEY_MIN_EXACTLY_ONCE};
    assert_int_equal(parley_client_create(&strict, r.tcp, PROG, VERS, &co), PARLEY_OK);
    assert_int_equal(call(strict, P_IDEM, 1, &res, PARLEY_IDEMPOTENT), PARLEY_ERR_NOT_GUARANTEED);
    assert_int_equal(atomic_load(&runs_idem), 0);
    parley_client_destroy(strict);
    parley_client_destroy(c);
    stop(&r);
}

static void test_exactly_once_keeps_its_effects_in_the_store_across_a_restart(void **state)
{
    (void)state;
    reset_counts();
    char dir[200];
    make_dir(dir, sizeof dir, "once");
    char store[256];
    snprintf(store, sizeof store, "%s/store", dir);
    running r;
    start(&r, store, NULL, NULL);
    char tcp[128];
    snprintf(tcp, sizeof tcp, "%s", r.tcp);
    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, tcp, PROG, VERS, NULL), PARLEY_OK);
    uint32_t res;
    for (uint32_t i = 1; i <= 20; i++) {
        assert_int_equal(call(c, P_EO, 2, &res, PARLEY_EXACTLY_ONCE), PARLEY_OK);
        assert_int_equal(res, 2 * i);
    }
    uint32_t one = 0;
    parley_call_opts o = {5000, PARLEY_EXACTLY_ONCE, NULL};
    assert_int_equal(parley_client_call_opts(c, P_EXT, NULL, NULL, 0, get_u32, &one, &o),
                     PARLEY_OK);
    assert_int_equal(one, 1);
    stop(&r);
    /* a new server on the same address and store: the count goes on, and
     * the client, whose connection the old one closed, goes on too */
    start(&r, store, tcp, NULL);
    for (uint32_t i = 21; i <= 30; i++) {
        assert_int_equal(call(c, P_EO, 2, &res, PARLEY_EXACTLY_ONCE), PARLEY_OK);
        assert_int_equal(res, 2 * i);
    }
    assert_int_equal(atomic_load(&runs_eo), 30);
    parley_client_destroy(c);
    stop(&r);
    unlink(store);
    rmdir(dir);
}

static void test_a_restarted_server_without_a_store_is_met_with_a_new_hello(void **state)
{
    (void)state;
    reset_counts();
    running r;
    start(&r, NULL, NULL, NULL);
    char tcp[128];
    snprintf(tcp, sizeof tcp, "%s", r.tcp);
    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, tcp, PROG, VERS, NULL), PARLEY_OK);
    uint32_t res;
    assert_int_equal(call(c, P_AMO, 1, &res, PARLEY_AT_MOST_ONCE), PARLEY_OK);
    stop(&r);
    start(&r, NULL, tcp, NULL);
    /* the idle connection is found closed before the call leaves; the new
     * server does not know the client, the call went out once over a
     * connection to it: HELLO again, and the call runs, once */
    assert_int_equal(call(c, P_AMO, 1, &res, PARLEY_AT_MOST_ONCE), PARLEY_OK);
    assert_int_equal(res, 2);
    assert_int_equal(atomic_load(&runs_amo), 2);
    parley_client_destroy(c);
    stop(&r);
}

static void test_idempotent_and_plain_calls_need_no_hello(void **state)
{
    (void)state;
    reset_counts();
    running r;
    start(&r, NULL, NULL, NULL);
    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, r.udp, PROG, VERS, NULL), PARLEY_OK);
    uint32_t res;
    assert_int_equal(call(c, P_IDEM, 3, &res, PARLEY_IDEMPOTENT), PARLEY_OK);
    assert_int_equal(res, 3);
    assert_int_equal(parley_client_call(c, P_IDEM, put_u32, &(uint32_t){4}, 4, get_u32, &res, 5000),
                     PARLEY_OK);
    assert_int_equal(res, 7);
    assert_int_equal(atomic_load(&runs_idem), 2);
    parley_client_destroy(c);
    stop(&r);
}

typedef struct recovered {
    unsigned n;
    uint32_t proc;
    int err;
    uint32_t count;
} recovered;

static void on_recovered(void *ctx, uint32_t proc, uint64_t seq, int err, const uint8_t *result,
                         size_t len)
{
    recovered *r = ctx;
    (void)seq;
    r->n++;
    r->proc = proc;
    r->err = err;
    if (err == PARLEY_OK && len == 4)
        r->count = parley_ld_u32(result);
}

static void on_submitted(void *ctx, int err)
{
    *(int *)ctx = err;
}

/* journal_case: a client with a journal crashes (SIGKILL) while its
 * exactly-once call runs, made synchronously or submitted (and polled
 * for); the call completes on the server; a new client process made with
 * the same journal sends it again under the same identity and number, and
 * learns its outcome, the recorded reply: it ran once. */
static void journal_case(int submitted)
{
    reset_counts();
    atomic_store(&slow_entered, 0);
    atomic_store(&slow_release, 0);
    atomic_store(&runs_slow, 0);
    char dir[200];
    make_dir(dir, sizeof dir, "journal");
    char store[256], journal[256];
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(journal, sizeof journal, "%s/journal", dir);
    running r;
    start(&r, store, NULL, NULL);
    parley_client_opts jo = {.journal = journal, .timeout_ms = 20000};
    pid_t pid = fork();
    if (pid == 0) {
        parley_client *c = NULL;
        uint32_t res;
        if (parley_client_create(&c, r.tcp, PROG, VERS, &jo) != PARLEY_OK ||
            call(c, P_EO, 5, &res, PARLEY_EXACTLY_ONCE) != PARLEY_OK || res != 5)
            _exit(3);
        if (!submitted) {
            call(c, P_SLOW, 1, &res, PARLEY_EXACTLY_ONCE); /* killed while it waits */
            _exit(4);
        }
        parley_call_opts o = {5000, PARLEY_EXACTLY_ONCE, NULL};
        uint32_t x = 1;
        int err = -1;
        if (parley_client_submit_opts(c, P_SLOW, put_u32, &x, 4, get_u32, &res, &o, on_submitted,
                                      &err) != PARLEY_OK)
            _exit(5);
        for (int i = 0; i < 100 && err == -1; i++) /* killed while it polls */
            parley_client_poll(c, 100, NULL);
        _exit(4);
    }
    assert_true(pid > 0);
    for (int i = 0; i < 10000 && !atomic_load(&slow_entered); i++)
        usleep(1000);
    assert_int_equal(atomic_load(&slow_entered), 1);
    kill(pid, SIGKILL);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    atomic_store(&slow_release, 1); /* the call completes, its record is kept */

    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, r.tcp, PROG, VERS, &jo), PARLEY_OK);
    recovered got = {0, 0, -1, 0};
    unsigned n = 0;
    assert_int_equal(parley_client_recover(c, on_recovered, &got, &n), PARLEY_OK);
    assert_int_equal(n, 1);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.proc, P_SLOW);
    assert_int_equal(got.err, PARLEY_OK);
    assert_int_equal(got.count, 6);
    assert_int_equal(atomic_load(&runs_slow), 1);
    /* nothing left to recover; new calls go on under the same identity */
    assert_int_equal(parley_client_recover(c, on_recovered, &got, &n), PARLEY_OK);
    assert_int_equal(n, 0);
    uint32_t res;
    assert_int_equal(call(c, P_EO, 1, &res, PARLEY_EXACTLY_ONCE), PARLEY_OK);
    assert_int_equal(res, 7);
    parley_client_destroy(c);
    /* a handle made again with the journal finds nothing in flight; a
     * second one at the same time is refused */
    assert_int_equal(parley_client_create(&c, r.tcp, PROG, VERS, &jo), PARLEY_OK);
    parley_client *twin = NULL;
    assert_int_equal(parley_client_create(&twin, r.tcp, PROG, VERS, &jo), PARLEY_ERR_IN_USE);
    assert_int_equal(parley_client_recover(c, on_recovered, &got, &n), PARLEY_OK);
    assert_int_equal(n, 0);
    parley_client_destroy(c);
    stop(&r);
    unlink(store);
    unlink(journal);
    rmdir(dir);
}

static void test_a_journal_carries_a_call_across_the_clients_crash(void **state)
{
    (void)state;
    journal_case(0);
}

static void test_a_journal_carries_a_submitted_call_across_the_clients_crash(void **state)
{
    (void)state;
    journal_case(1);
}

/* A journal that is not one, or whose tail was torn, is read as far as it
 * can be trusted. */
static void test_a_damaged_journal_is_refused_and_a_torn_one_cut(void **state)
{
    (void)state;
    char dir[200];
    make_dir(dir, sizeof dir, "journal");
    char journal[256];
    snprintf(journal, sizeof journal, "%s/journal", dir);
    FILE *f = fopen(journal, "w");
    assert_non_null(f);
    fputs("not a journal at all", f);
    fclose(f);
    parley_client *c = NULL;
    parley_client_opts jo = {.journal = journal};
    assert_int_equal(parley_client_create(&c, "tcp://127.0.0.1:9", PROG, VERS, &jo),
                     PARLEY_ERR_STORE);
    unlink(journal);
    assert_int_equal(parley_client_create(&c, "tcp://127.0.0.1:9", PROG, VERS, &jo), PARLEY_OK);
    parley_client_destroy(c);
    f = fopen(journal, "a");
    assert_non_null(f);
    fputs("\x00\x00\x01", f); /* a torn record after the identity */
    fclose(f);
    assert_int_equal(parley_client_create(&c, "tcp://127.0.0.1:9", PROG, VERS, &jo), PARLEY_OK);
    unsigned n = 9;
    recovered got = {0, 0, -1, 0};
    assert_int_equal(parley_client_recover(c, on_recovered, &got, &n), PARLEY_OK);
    assert_int_equal(n, 0);
    parley_client_destroy(c);
    unlink(journal);
    rmdir(dir);
}

/* An exactly-once call whose procedure fails after an effect outside the
 * store gets its failure as its answer; the client's copies of it (UDP,
 * sent every 20 ms while it runs, and arriving after) get that answer
 * too, and never run it or its effect again. */
static void test_a_failed_exactly_once_call_is_answered_not_run_again(void **state)
{
    (void)state;
    atomic_store(&runs_fail, 0);
    atomic_store(&fail_effects, 0);
    char dir[200];
    make_dir(dir, sizeof dir, "once");
    char store[256];
    snprintf(store, sizeof store, "%s/store", dir);
    running r;
    start(&r, store, NULL, NULL);
    parley_client_opts co = {.retransmit_ms = 20};
    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, r.udp, PROG, VERS, &co), PARLEY_OK);
    uint32_t res = 0;
    parley_call_opts o = {5000, PARLEY_EXACTLY_ONCE, NULL};
    assert_int_equal(parley_client_call_opts(c, P_FAIL, NULL, NULL, 0, get_u32, &res, &o),
                     PARLEY_ERR_SYSTEM_ERR);
    /* the copies still on their way are answered; a call after them too */
    assert_int_equal(call(c, P_IDEM, 1, &res, PARLEY_IDEMPOTENT), PARLEY_OK);
    assert_int_equal(atomic_load(&runs_fail), 1);
    assert_int_equal(atomic_load(&fail_effects), 1);
    parley_client_destroy(c);
    stop(&r);
    unlink(store);
    rmdir(dir);
}

static void test_semantics_out_of_range_are_refused(void **state)
{
    (void)state;
    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, "tcp://127.0.0.1:9", PROG, VERS, NULL), PARLEY_OK);
    parley_call_opts o = {100, (parley_semantics)7, NULL};
    assert_int_equal(parley_client_call_opts(c, 1, NULL, NULL, 0, NULL, NULL, &o),
                     PARLEY_ERR_INVALID);
    parley_client_destroy(c);
    parley_client_opts bad = {.min_semantics = 9};
    assert_int_equal(parley_client_create(&c, "tcp://127.0.0.1:9", PROG, VERS, &bad),
                     PARLEY_ERR_INVALID);
    assert_int_equal(parley_semantics_stronger(PARLEY_IDEMPOTENT, PARLEY_AT_MOST_ONCE),
                     PARLEY_AT_MOST_ONCE);
    assert_int_equal(parley_semantics_stronger(PARLEY_EXACTLY_ONCE, PARLEY_IDEMPOTENT),
                     PARLEY_EXACTLY_ONCE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_at_most_once_calls_run_once_each_over_tcp_and_udp),
        cmocka_unit_test(test_exactly_once_without_a_store_is_refused_and_does_not_run),
        cmocka_unit_test(test_exactly_once_keeps_its_effects_in_the_store_across_a_restart),
        cmocka_unit_test(test_a_restarted_server_without_a_store_is_met_with_a_new_hello),
        cmocka_unit_test(test_idempotent_and_plain_calls_need_no_hello),
        cmocka_unit_test(test_a_journal_carries_a_call_across_the_clients_crash),
        cmocka_unit_test(test_a_journal_carries_a_submitted_call_across_the_clients_crash),
        cmocka_unit_test(test_a_damaged_journal_is_refused_and_a_torn_one_cut),
        cmocka_unit_test(test_a_failed_exactly_once_call_is_answered_not_run_again),
        cmocka_unit_test(test_semantics_out_of_range_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
