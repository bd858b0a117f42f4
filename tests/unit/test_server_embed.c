/*
 * tests/unit/test_server_embed.c: a server driven from the caller's own
 * event loop (parley_server_fd + parley_server_poll), with a handler written
 * against the public API by hand, and the client calling it from a thread.
 */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "parley/client.h"
#include "parley/server.h"

enum { PROG = 0x20001234, VERS = 3, PROC_DOUBLE = 1, CALLS = 200 };

/* double_handler answers PROC_DOUBLE: an unsigned int, doubled. */
static int double_handler(parley_call *call, parley_dec *args)
{
    uint32_t x = parley_get_u32(args);
    if (args->err || parley_dec_remaining(args))
        return PARLEY_ERR_GARBAGE_ARGS;
    parley_enc *e = parley_call_result(call, 4);
    if (!e)
        return PARLEY_ERR_SYSTEM_ERR;
    parley_put_u32(e, 2 * x);
    return PARLEY_OK;
}

static const parley_proc_def procs[] = {{.proc = PROC_DOUBLE, .handler = double_handler}};
static const parley_program_def program = {PROG, VERS, procs, 1};

static void put_arg(parley_enc *e, const void *a)
{
    parley_put_u32(e, *(const uint32_t *)a);
}

static void get_res(parley_dec *d, void *r)
{
    *(uint32_t *)r = parley_get_u32(d);
}

typedef struct job {
    char addr[128];
    atomic_int done;
    int failures;
} job;

static void *client_thread(void *arg)
{
    job *j = arg;
    parley_client *c = NULL;
    if (parley_client_create(&c, j->addr, PROG, VERS, NULL) != PARLEY_OK) {
        j->failures = CALLS;
    } else {
        for (uint32_t i = 0; i < CALLS; i++) {
            uint32_t r = 0;
            int rc = parley_client_call(c, PROC_DOUBLE, put_arg, &i, 4, get_res, &r, 5000);
            if (rc != PARLEY_OK || r != 2 * i)
                j->failures++;
        }
        /* and the errors the server decides */
        uint32_t r = 0, x = 1;
        if (parley_client_call(c, 9, put_arg, &x, 4, get_res, &r, 5000) != PARLEY_ERR_PROC_UNAVAIL)
            j->failures++;
        if (parley_client_call(c, PROC_DOUBLE, NULL, NULL, 0, get_res, &r, 5000) !=
            PARLEY_ERR_GARBAGE_ARGS)
            j->failures++;
    }
    parley_client_destroy(c);
    atomic_store(&j->done, 1);
    return NULL;
}

static void serve_while_client_runs(const char *listen_addr)
{
    parley_server *s = NULL;
    assert_int_equal(parley_server_create(&s, NULL), PARLEY_OK);
    assert_int_equal(parley_server_add_program(s, &program), PARLEY_OK);
    assert_int_equal(parley_server_add_program(s, &program), PARLEY_ERR_INVALID);
    job j;
    memset(&j, 0, sizeof j);
    assert_int_equal(parley_server_listen(s, listen_addr, j.addr, sizeof j.addr), PARLEY_OK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, client_thread, &j), 0);
    /* the program's own loop: poll on the server's descriptor, bounded */
    for (int rounds = 0; !atomic_load(&j.done) && rounds < 20000; rounds++) {
        struct pollfd pf = {parley_server_fd(s), POLLIN, 0};
        poll(&pf, 1, 10);
        assert_int_equal(parley_server_poll(s, 0), PARLEY_OK);
    }
    pthread_join(t, NULL);
    assert_int_equal(j.failures, 0);
    parley_server_destroy(s);
}

static void test_an_embedded_server_answers_over_tcp(void **state)
{
    (void)state;
    serve_while_client_runs("tcp://127.0.0.1:0");
}

static void test_an_embedded_server_answers_over_udp(void **state)
{
    (void)state;
    serve_while_client_runs("udp://127.0.0.1:0");
}

static void test_listening_on_a_bad_address_is_an_error(void **state)
{
    (void)state;
    parley_server *s = NULL;
    assert_int_equal(parley_server_create(&s, NULL), PARLEY_OK);
    assert_int_equal(parley_server_listen(s, "tcp://127.0.0.1", NULL, 0), PARLEY_ERR_ADDRESS);
    assert_int_equal(parley_server_listen(s, "ftp://127.0.0.1:1", NULL, 0), PARLEY_ERR_ADDRESS);
    char bound[128];
    assert_int_equal(parley_server_listen(s, "tcp://127.0.0.1:0", bound, sizeof bound), PARLEY_OK);
    /* the same port again is in use */
    assert_int_equal(parley_server_listen(s, bound, NULL, 0), PARLEY_ERR_IN_USE);
    parley_server_destroy(s);
    parley_server_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_embedded_server_answers_over_tcp),
        cmocka_unit_test(test_an_embedded_server_answers_over_udp),
        cmocka_unit_test(test_listening_on_a_bad_address_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
