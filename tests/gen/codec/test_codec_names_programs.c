/*
 * test_codec_names_programs.c: a program, version and procedures named err,
 * end, p, arena and start (cursor_fields_as_programs.idl), like fields of
 * the runtime's codec cursors, become #defines that no longer rewrite the
 * generated codec, client or server, which compile with the project's
 * warnings; a real server on the loopback answers the generated client's
 * calls with the generated handlers.
 *
 * The header's #defines come last, after every other header, and the code
 * below takes care not to use their names as its own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cursor_fields_as_programs.h"

int p_1_svc(const int *num, int *res, parley_call *call_)
{
    (void)call_;
    *res = *num + 1;
    return PARLEY_OK;
}

/* arena_1_svc answers the pair scaled by k; the label and the rest point
 * into the arguments, which live until the reply is encoded. */
int arena_1_svc(const pair *in, const int *k, pair *res, parley_call *call_)
{
    (void)call_;
    *res = *in;
    res->first = in->first * *k;
    return PARLEY_OK;
}

static int starts;

int start_1_svc(parley_call *call_)
{
    (void)call_;
    starts++;
    return PARLEY_OK;
}

typedef struct served {
    parley_server *srv;
    pthread_t thread;
    int rc;
    char addr[160];
} served;

static void *run(void *arg)
{
    served *sv = arg;
    sv->rc = parley_server_run(sv->srv);
    return NULL;
}

static void test_the_defines_keep_their_values(void **state)
{
    (void)state;
    assert_int_equal(err, 0x20000778);
    assert_int_equal(end, 1);
    assert_int_equal(p, 1);
    assert_int_equal(arena, 2);
    assert_int_equal(start, 3);
    assert_int_equal(err_1.prog, err);
    assert_int_equal(err_1.vers, end);
    assert_int_equal(err_1.nprocs, 3);
}

static void test_calls_named_like_the_cursor_fields_round_trip(void **state)
{
    (void)state;
    served sv;
    memset(&sv, 0, sizeof sv);
    parley_server_opts so = {.threads = 1};
    assert_int_equal(parley_server_create(&sv.srv, &so), PARLEY_OK);
    assert_int_equal(parley_server_add_program(sv.srv, &err_1), PARLEY_OK);
    assert_int_equal(parley_server_listen(sv.srv, "tcp://127.0.0.1:0", sv.addr, sizeof sv.addr),
                     PARLEY_OK);
    assert_int_equal(pthread_create(&sv.thread, NULL, run, &sv), 0);

    parley_client *cl = NULL;
    assert_int_equal(parley_client_create(&cl, sv.addr, err, end, NULL), PARLEY_OK);

    int num = 41, res = 0;
    assert_int_equal(p_1(cl, &num, &res), PARLEY_OK);
    assert_int_equal(res, 42);

    char second_label[] = "second";
    pair second = {2, second_label, NULL};
    char first_label[] = "first";
    pair first = {-7, first_label, &second};
    int k = 3;
    pair out;
    assert_int_equal(arena_1(cl, &first, &k, &out), PARLEY_OK);
    assert_int_equal(out.first, -21);
    assert_string_equal(out.label, "first");
    assert_non_null(out.rest);
    assert_int_equal(out.rest->first, 2);
    assert_string_equal(out.rest->label, "second");
    assert_null(out.rest->rest);
    pair_free(&out);

    parley_arena *ar = parley_arena_create(0);
    assert_non_null(ar);
    assert_int_equal(arena_1_arena(cl, &first, &k, &out, ar), PARLEY_OK);
    assert_int_equal(out.first, -21);
    assert_string_equal(out.rest->label, "second");
    parley_arena_destroy(ar);

    /* a label over its bound is refused before anything is sent */
    char long_label[] = "seventeen letters";
    first.label = long_label;
    assert_int_equal(arena_1(cl, &first, &k, &out), PARLEY_ERR_TOO_LONG);
    assert_null(out.label);

    assert_int_equal(start_1(cl), PARLEY_OK);
    assert_int_equal(starts, 1);

    parley_client_destroy(cl);
    parley_server_stop(sv.srv);
    assert_int_equal(pthread_join(sv.thread, NULL), 0);
    assert_int_equal(sv.rc, PARLEY_OK);
    parley_server_destroy(sv.srv);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_defines_keep_their_values),
        cmocka_unit_test(test_calls_named_like_the_cursor_fields_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
