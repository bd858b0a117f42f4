/*
 * tests/unit/test_busy_poll.c: busy polling (busy_poll_us of the client's
 * and of the server's options) changes when a thread sleeps, never what a
 * call returns. A real server run by parley_server_run in a thread and
 * real clients, over TCP, UDP and a Unix socket, with polling off (-1), at
 * its default (0), and so short (1 us) that every spin misses, which drives
 * the adaptive back-off and its periodic probes; calls answered at once and
 * calls answered late (a procedure that sleeps past any spin), from one
 * thread and from several sharing a handle, and a call whose deadline
 * falls inside a spin.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parley/client.h"
#include "parley/server.h"

#define PROG 0x20000077u
#define VERS 1u

enum { PROC_ECHO = 1, PROC_SLOW = 2, PROC_SILENT = 3 };

/* echo answers its u32 argument plus one. */
static int echo(parley_call *call, parley_dec *args)
{
    uint32_t v = parley_get_u32(args);
    if (parley_dec_finish(args, NULL) != PARLEY_OK || parley_dec_remaining(args))
        return PARLEY_ERR_GARBAGE_ARGS;
    parley_enc *e = parley_call_result(call, 4);
    if (e == NULL)
        return PARLEY_ERR_SYSTEM_ERR;
    parley_put_u32(e, v + 1);
    return PARLEY_OK;
}

/* slow is echo after 3 ms, longer than any spin of these tests. */
static int slow(parley_call *call, parley_dec *args)
{
    struct timespec ts = {0, 3 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return echo(call, args);
}

/* silent is echo after 300 ms, past the deadline its caller gives. */
static int silent(parley_call *call, parley_dec *args)
{
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return echo(call, args);
}

static const parley_proc_def procs[] = {{.proc = PROC_ECHO, .handler = echo},
                                        {.proc = PROC_SLOW, .handler = slow},
                                        {.proc = PROC_SILENT, .handler = silent}};
static const parley_program_def program = {PROG, VERS, procs, 3};

typedef struct running {
    parley_server *s;
    pthread_t thread;
    int rc; /* parley_server_run's, checked in the test's thread by stop */
    char addr[160];
    char dir[64];
} running;

static void *run(void *arg)
{
    running *r = arg;
    r->rc = parley_server_run(r->s);
    return NULL;
}

/* start serves the program on a fresh address of kind ("tcp", "udp",
 * "unix") with the server's busy_poll_us. */
static void start(running *r, const char *kind, int busy_poll_us)
{
    memset(r, 0, sizeof *r);
    parley_server_opts o = {.threads = 2, .busy_poll_us = busy_poll_us};
    assert_int_equal(parley_server_create(&r->s, &o), PARLEY_OK);
    assert_int_equal(parley_server_add_program(r->s, &program), PARLEY_OK);
    char want[160];
    if (strcmp(kind, "unix") == 0) {
        strcpy(r->dir, "/tmp/parley-busy-XXXXXX");
        assert_non_null(mkdtemp(r->dir));
        snprintf(want, sizeof want, "unix://%s/s", r->dir);
    } else {
        snprintf(want, sizeof want, "%s://127.0.0.1:0", kind);
    }
    assert_int_equal(parley_server_listen(r->s, want, r->addr, sizeof r->addr), PARLEY_OK);
    assert_int_equal(pthread_create(&r->thread, NULL, run, r), 0);
}

static void stop(running *r)
{
    parley_server_stop(r->s);
    assert_int_equal(pthread_join(r->thread, NULL), 0);
    assert_int_equal(r->rc, PARLEY_OK);
    parley_server_destroy(r->s);
    if (r->dir[0])
        assert_int_equal(rmdir(r->dir), 0);
}

static void enc_u32(parley_enc *e, const void *v)
{
    parley_put_u32(e, *(const uint32_t *)v);
}

static void dec_u32(parley_dec *d, void *v)
{
    *(uint32_t *)v = parley_get_u32(d);
}

static int call(parley_client *c, uint32_t proc, uint32_t arg, uint32_t *res, unsigned timeout_ms)
{
    *res = 0;
    return parley_client_call(c, proc, enc_u32, &arg, 4, dec_u32, res, timeout_ms);
}

typedef struct worker_arg {
    parley_client *c;
    uint32_t base;
    int failures;
} worker_arg;

/* calls makes 150 calls: fast ones, and every tenth a slow one, so that a
 * handle's spins find their reply, then miss it, then find it again. */
static void *calls(void *arg)
{
    worker_arg *w = arg;
    for (uint32_t i = 0; i < 150; i++) {
        uint32_t res, v = w->base + i;
        uint32_t proc = i % 10 == 9 ? PROC_SLOW : PROC_ECHO;
        if (call(w->c, proc, v, &res, 5000) != PARLEY_OK || res != v + 1)
            w->failures++;
    }
    return NULL;
}

/* exercise runs the calls from one thread, then from three sharing the
 * handle, against a server of kind with the two busy_poll_us settings. */
static void exercise(const char *kind, int server_us, int client_us)
{
    running r;
    start(&r, kind, server_us);
    parley_client_opts o = {.busy_poll_us = client_us};
    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, r.addr, PROG, VERS, &o), PARLEY_OK);

    worker_arg one = {c, 1000, 0};
    calls(&one);
    assert_int_equal(one.failures, 0);

    worker_arg ws[3];
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        ws[i] = (worker_arg){c, 100000u * (uint32_t)(i + 1), 0};
        assert_int_equal(pthread_create(&t[i], NULL, calls, &ws[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(ws[i].failures, 0);
    }
    parley_client_destroy(c);
    stop(&r);
}

static void every_setting(const char *kind)
{
    static const int settings[] = {-1, 0, 1};
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++)
            exercise(kind, settings[i], settings[j]);
}

static void test_polling_or_not_gives_the_same_replies_over_tcp(void **state)
{
    (void)state;
    every_setting("tcp");
}

static void test_polling_or_not_gives_the_same_replies_over_udp(void **state)
{
    (void)state;
    every_setting("udp");
}

static void test_polling_or_not_gives_the_same_replies_over_unix(void **state)
{
    (void)state;
    every_setting("unix");
}

/* A spin far longer than the call's deadline still ends at the deadline:
 * the call times out, and the late reply is dropped for the next call's. */
static void test_a_spin_ends_at_the_call_deadline(void **state)
{
    (void)state;
    static const char *const kinds[] = {"tcp", "udp", "unix"};
    for (size_t k = 0; k < 3; k++) {
        running r;
        start(&r, kinds[k], 0);
        parley_client_opts o = {.busy_poll_us = 10 * 1000 * 1000};
        parley_client *c = NULL;
        assert_int_equal(parley_client_create(&c, r.addr, PROG, VERS, &o), PARLEY_OK);
        uint32_t res;
        assert_int_equal(call(c, PROC_ECHO, 1, &res, 0), PARLEY_OK);
        assert_int_equal(res, 2);
        assert_int_equal(call(c, PROC_SILENT, 5, &res, 50), PARLEY_ERR_TIMEDOUT);
        assert_int_equal(call(c, PROC_ECHO, 7, &res, 5000), PARLEY_OK);
        assert_int_equal(res, 8);
        parley_client_destroy(c);
        stop(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_polling_or_not_gives_the_same_replies_over_tcp),
        cmocka_unit_test(test_polling_or_not_gives_the_same_replies_over_udp),
        cmocka_unit_test(test_polling_or_not_gives_the_same_replies_over_unix),
        cmocka_unit_test(test_a_spin_ends_at_the_call_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
