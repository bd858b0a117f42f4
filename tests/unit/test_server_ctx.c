/*
 * tests/unit/test_server_ctx.c: a program's context
 * (parley_server_add_program_ctx, parley_call_ctx). Two servers in one
 * process serve the same program definition with two contexts, each on
 * TCP, UDP and a Unix socket: every call sees its own server's context, on
 * every transport, and counts itself there. A program added without a
 * context sees NULL, and two programs of one server keep their own. The
 * call's size (parley_call_size) is its message's on every transport.
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
#include <unistd.h>

#include <cmocka.h>

#include "parley/client.h"
#include "parley/server.h"

enum { PROG = 0x20003000, PROG2 = 0x20003001, VERS = 1, PROC_WHO = 1, CALLS = 5 };

/* A service's state, as a context. */
typedef struct svc_state {
    uint32_t id;
    atomic_int calls;
    atomic_int size; /* parley_call_size of the last call */
} svc_state;

/* who answers the id of its call's context (0 without one) and counts the
 * call there. */
static int who(parley_call *call, parley_dec *args)
{
    if (parley_dec_remaining(args))
        return PARLEY_ERR_GARBAGE_ARGS;
    svc_state *st = parley_call_ctx(call);
    parley_enc *e = parley_call_result(call, 4);
    if (!e)
        return PARLEY_ERR_SYSTEM_ERR;
    parley_put_u32(e, st ? st->id : 0);
    if (st) {
        atomic_fetch_add(&st->calls, 1);
        atomic_store(&st->size, (int)parley_call_size(call));
    }
    return PARLEY_OK;
}

static const parley_proc_def procs[] = {{.proc = PROC_WHO, .handler = who}};
static const parley_program_def prog = {PROG, VERS, procs, 1};
static const parley_program_def prog2 = {PROG2, VERS, procs, 1};

static void get_u32(parley_dec *d, void *r)
{
    *(uint32_t *)r = parley_get_u32(d);
}

/* A server running in its own thread, on three transports. */
typedef struct served {
    parley_server *s;
    pthread_t thread;
    int rc;
    char dir[64];
    char addr[3][160]; /* tcp, udp, unix */
} served;

static void *run(void *arg)
{
    served *v = arg;
    v->rc = parley_server_run(v->s);
    return NULL;
}

static void serve(served *v, svc_state *st, svc_state *st2)
{
    memset(v, 0, sizeof *v);
    parley_server_opts o = {.threads = 2};
    assert_int_equal(parley_server_create(&v->s, &o), PARLEY_OK);
    assert_int_equal(parley_server_add_program_ctx(v->s, &prog, st), PARLEY_OK);
    if (st2)
        assert_int_equal(parley_server_add_program_ctx(v->s, &prog2, st2), PARLEY_OK);
    else
        assert_int_equal(parley_server_add_program(v->s, &prog2), PARLEY_OK);
    /* the same program again is refused, with or without a context */
    assert_int_equal(parley_server_add_program_ctx(v->s, &prog, st2), PARLEY_ERR_INVALID);
    snprintf(v->dir, sizeof v->dir, "/tmp/parley-ctx-XXXXXX");
    assert_non_null(mkdtemp(v->dir));
    char want[160];
    snprintf(want, sizeof want, "unix://%s/s", v->dir);
    const char *wants[3] = {"tcp://127.0.0.1:0", "udp://127.0.0.1:0", want};
    for (int i = 0; i < 3; i++)
        assert_int_equal(parley_server_listen(v->s, wants[i], v->addr[i], sizeof v->addr[i]),
                         PARLEY_OK);
    assert_int_equal(pthread_create(&v->thread, NULL, run, v), 0);
}

static void unserve(served *v)
{
    parley_server_stop(v->s);
    pthread_join(v->thread, NULL);
    assert_int_equal(v->rc, PARLEY_OK);
    parley_server_destroy(v->s);
    rmdir(v->dir);
}

/* ask calls PROC_WHO of prog at addr and returns the id answered. */
static uint32_t ask(const char *addr, uint32_t p)
{
    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, addr, p, VERS, NULL), PARLEY_OK);
    uint32_t id = 0xffffffffu;
    assert_int_equal(parley_client_call(c, PROC_WHO, NULL, NULL, 0, get_u32, &id, 10000),
                     PARLEY_OK);
    parley_client_destroy(c);
    return id;
}

static void test_two_servers_give_each_call_its_own_context_on_every_transport(void **state)
{
    (void)state;
    svc_state a = {.id = 11}, b = {.id = 22};
    atomic_init(&a.calls, 0);
    atomic_init(&b.calls, 0);
    served va, vb;
    serve(&va, &a, NULL);
    serve(&vb, &b, NULL);
    for (int k = 0; k < CALLS; k++) {
        for (int t = 0; t < 3; t++) {
            assert_int_equal(ask(va.addr[t], PROG), 11);
            assert_int_equal(ask(vb.addr[t], PROG), 22);
            /* the program added without a context sees none */
            assert_int_equal(ask(va.addr[t], PROG2), 0);
        }
    }
    assert_int_equal(atomic_load(&a.calls), 3 * CALLS);
    assert_int_equal(atomic_load(&b.calls), 3 * CALLS);
    unserve(&va);
    unserve(&vb);
}

static void test_programs_of_one_server_keep_their_own_contexts(void **state)
{
    (void)state;
    svc_state a = {.id = 33}, b = {.id = 44};
    atomic_init(&a.calls, 0);
    atomic_init(&b.calls, 0);
    served v;
    serve(&v, &a, &b);
    int sizes[3];
    for (int t = 0; t < 3; t++) {
        assert_int_equal(ask(v.addr[t], PROG), 33);
        assert_int_equal(ask(v.addr[t], PROG2), 44);
        sizes[t] = atomic_load(&a.size);
    }
    /* the call's size is its message's, the same on every transport (a
     * stream's record mark not counted): a header of at least 40 bytes */
    assert_true(sizes[0] >= 40);
    assert_int_equal(sizes[1], sizes[0]);
    assert_int_equal(sizes[2], sizes[0]);
    assert_int_equal(atomic_load(&a.calls), 3);
    assert_int_equal(atomic_load(&b.calls), 3);
    unserve(&v);
}

static void test_context_arguments_are_checked(void **state)
{
    (void)state;
    assert_int_equal(parley_server_add_program_ctx(NULL, &prog, NULL), PARLEY_ERR_INVALID);
    parley_server *s = NULL;
    assert_int_equal(parley_server_create(&s, NULL), PARLEY_OK);
    assert_int_equal(parley_server_add_program_ctx(s, NULL, s), PARLEY_ERR_INVALID);
    parley_server_destroy(s);
    assert_null(parley_call_ctx(NULL));
    assert_int_equal(parley_call_size(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_servers_give_each_call_its_own_context_on_every_transport),
        cmocka_unit_test(test_programs_of_one_server_keep_their_own_contexts),
        cmocka_unit_test(test_context_arguments_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
