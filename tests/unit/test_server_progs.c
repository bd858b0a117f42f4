/*
 * tests/unit/test_server_progs.c: programs added to a server while it
 * serves. One thread adds programs one at a time while clients on three
 * threads keep calling a program added before the server started, and
 * now and then the newest program added: every call is answered, and a
 * program is served as soon as parley_server_add_program has returned.
 * Two threads adding the same programs at once add each exactly once.
 *
 * The counts are bounded (no test waits on time alone); the point of the
 * test is as much its run under ThreadSanitizer, which sees any read of the
 * program table that is not ordered after the write that made it.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/clock.h"
#include "parley/client.h"
#include "parley/server.h"

enum {
    PROG_BASE = 0x20002000,
    VERS = 1,
    PROC_ECHO = 1,
    NPROGS = 64, /* programs added in all */
    CLIENTS = 3, /* calling threads */
    CALLS = 400, /* calls of each */
    PROBE = 8,   /* every PROBE calls, one to the newest program */
    PER_ADD = 4, /* calls answered between two additions */
    ADDERS = 2,  /* threads adding the same programs at once */
};

static atomic_int served; /* calls answered */

static int echo_handler(parley_call *call, parley_dec *args)
{
    uint32_t x = parley_get_u32(args);
    if (args->err || parley_dec_remaining(args))
        return PARLEY_ERR_GARBAGE_ARGS;
    parley_enc *e = parley_call_result(call, 4);
    if (!e)
        return PARLEY_ERR_SYSTEM_ERR;
    parley_put_u32(e, x);
    atomic_fetch_add(&served, 1);
    return PARLEY_OK;
}

static const parley_proc_def procs[] = {{.proc = PROC_ECHO, .handler = echo_handler}};
static parley_program_def defs[NPROGS]; /* PROG_BASE + i, filled by make_defs */

static void make_defs(void)
{
    for (uint32_t i = 0; i < NPROGS; i++)
        defs[i] = (parley_program_def){PROG_BASE + i, VERS, procs, 1};
}

static void put_arg(parley_enc *e, const void *a)
{
    parley_put_u32(e, *(const uint32_t *)a);
}

static void get_res(parley_dec *d, void *r)
{
    *(uint32_t *)r = parley_get_u32(d);
}

typedef struct shared {
    char addr[128];
    atomic_int added; /* programs 0 .. added-1 have been added */
} shared;

typedef struct caller {
    shared *sh;
    int failures;
    int probes;
} caller;

/* echo calls c once: 1 when the answer is right. */
static int echo(parley_client *c, uint32_t x)
{
    uint32_t r = ~x;
    return parley_client_call(c, PROC_ECHO, put_arg, &x, 4, get_res, &r, 10000) == PARLEY_OK &&
           r == x;
}

static void *caller_thread(void *arg)
{
    caller *k = arg;
    parley_client *c = NULL;
    if (parley_client_create(&c, k->sh->addr, PROG_BASE, VERS, NULL) != PARLEY_OK) {
        k->failures = CALLS;
        return NULL;
    }
    for (uint32_t i = 0; i < CALLS; i++) {
        if (!echo(c, i))
            k->failures++;
        if (i % PROBE != 0)
            continue;
        /* the newest program: added, so served */
        int newest = atomic_load(&k->sh->added) - 1;
        parley_client *p = NULL;
        if (parley_client_create(&p, k->sh->addr, PROG_BASE + (uint32_t)newest, VERS, NULL) !=
                PARLEY_OK ||
            !echo(p, i))
            k->failures++;
        parley_client_destroy(p);
        k->probes++;
    }
    parley_client_destroy(c);
    return NULL;
}

typedef struct runner {
    parley_server *s;
    int rc;
} runner;

static void *run_thread(void *arg)
{
    runner *r = arg;
    r->rc = parley_server_run(r->s);
    return NULL;
}

static void test_programs_added_while_calls_run_are_served_at_once(void **state)
{
    (void)state;
    make_defs();
    atomic_store(&served, 0);
    parley_server_opts o = {.threads = 4};
    parley_server *s = NULL;
    assert_int_equal(parley_server_create(&s, &o), PARLEY_OK);
    assert_int_equal(parley_server_add_program(s, &defs[0]), PARLEY_OK);
    shared sh;
    memset(&sh, 0, sizeof sh);
    atomic_store(&sh.added, 1);
    assert_int_equal(parley_server_listen(s, "tcp://127.0.0.1:0", sh.addr, sizeof sh.addr),
                     PARLEY_OK);
    runner r = {s, -1};
    pthread_t rt, ct[CLIENTS];
    assert_int_equal(pthread_create(&rt, NULL, run_thread, &r), 0);
    caller callers[CLIENTS];
    memset(callers, 0, sizeof callers);
    for (int i = 0; i < CLIENTS; i++) {
        callers[i].sh = &sh;
        assert_int_equal(pthread_create(&ct[i], NULL, caller_thread, &callers[i]), 0);
    }
    /* one program after every PER_ADD calls answered, so that additions and
     * calls interleave; bounded by a deadline, not paced by it */
    int64_t deadline = pl_now_ms() + 60000;
    for (int k = 1; k < NPROGS; k++) {
        while (atomic_load(&served) < k * PER_ADD && pl_now_ms() < deadline)
            sched_yield();
        assert_int_equal(parley_server_add_program(s, &defs[k]), PARLEY_OK);
        atomic_store(&sh.added, k + 1);
    }
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(ct[i], NULL);
    int failures = 0, probes = 0;
    for (int i = 0; i < CLIENTS; i++) {
        failures += callers[i].failures;
        probes += callers[i].probes;
    }
    print_message("%d calls answered, %d to the newest program\n", atomic_load(&served), probes);
    assert_int_equal(failures, 0);
    /* every program added is served, and none twice */
    for (int k = 0; k < NPROGS; k++) {
        parley_client *c = NULL;
        assert_int_equal(parley_client_create(&c, sh.addr, PROG_BASE + (uint32_t)k, VERS, NULL),
                         PARLEY_OK);
        assert_true(echo(c, (uint32_t)k));
        parley_client_destroy(c);
        assert_int_equal(parley_server_add_program(s, &defs[k]), PARLEY_ERR_INVALID);
    }
    parley_server_stop(s);
    pthread_join(rt, NULL);
    assert_int_equal(r.rc, PARLEY_OK);
    parley_server_destroy(s);
}

typedef struct adder {
    parley_server *s;
    atomic_int *go;
    int added, refused, other;
} adder;

static void *adder_thread(void *arg)
{
    adder *a = arg;
    while (!atomic_load(a->go))
        sched_yield();
    for (int k = 0; k < NPROGS; k++) {
        int rc = parley_server_add_program(a->s, &defs[k]);
        if (rc == PARLEY_OK)
            a->added++;
        else if (rc == PARLEY_ERR_INVALID)
            a->refused++;
        else
            a->other++;
    }
    return NULL;
}

static void test_threads_adding_the_same_programs_add_each_once(void **state)
{
    (void)state;
    make_defs();
    parley_server *s = NULL;
    assert_int_equal(parley_server_create(&s, NULL), PARLEY_OK);
    atomic_int go = 0;
    adder adders[ADDERS];
    pthread_t t[ADDERS];
    memset(adders, 0, sizeof adders);
    for (int i = 0; i < ADDERS; i++) {
        adders[i].s = s;
        adders[i].go = &go;
        assert_int_equal(pthread_create(&t[i], NULL, adder_thread, &adders[i]), 0);
    }
    atomic_store(&go, 1);
    int added = 0, refused = 0, other = 0;
    for (int i = 0; i < ADDERS; i++) {
        pthread_join(t[i], NULL);
        added += adders[i].added;
        refused += adders[i].refused;
        other += adders[i].other;
    }
    assert_int_equal(added, NPROGS);
    assert_int_equal(refused, (ADDERS - 1) * NPROGS);
    assert_int_equal(other, 0);
    parley_server_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_programs_added_while_calls_run_are_served_at_once),
        cmocka_unit_test(test_threads_adding_the_same_programs_add_each_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
