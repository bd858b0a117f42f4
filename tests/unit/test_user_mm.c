/*
 * tests/unit/test_user_mm.c: a program whose IDL (user_mm.idl) defines the
 * names of the matchmaker's protocol with other shapes links against
 * libparley and works, as a new user's would: libparley's names layer
 * speaks the matchmaker's protocol with a codec of its own and exports
 * none of those names.
 *
 * The program uses the client and the server, which bring in the names
 * layer; it serves its own MATCHMAKER_LOOKUP on loopback and calls it with
 * its own stubs, so the symbols bound are its own (an mm_key of its shape
 * goes through, and answers with entries of its shape).
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

#include "parley/client.h"
#include "parley/server.h"
#include "user_mm.h"

/* matchmaker_lookup_1_svc answers key as two entries: itself, and one
 * whose id is one more and whose label is "next". */
int matchmaker_lookup_1_svc(const mm_key *key, mm_lookup_res *result, parley_call *call)
{
    parley_arena *a = parley_call_arena(call);
    mm_key *e = parley_arena_alloc(a, 2 * sizeof *e);
    char *label = parley_arena_alloc(a, strlen(key->label) + 1);
    char *next = parley_arena_alloc(a, 5);
    if (e == NULL || label == NULL || next == NULL)
        return PARLEY_ERR_NOMEM;
    memcpy(label, key->label, strlen(key->label) + 1);
    memcpy(next, "next", 5);
    e[0].id = key->id;
    e[0].label = label;
    e[1].id = key->id + 1;
    e[1].label = next;
    result->status = MM_OK;
    result->mm_lookup_res_u.entries.mm_entry_list_len = 2;
    result->mm_lookup_res_u.entries.mm_entry_list_val = e;
    return PARLEY_OK;
}

typedef struct running {
    parley_server *s;
    int rc;
} running;

static void *run(void *arg)
{
    running *r = arg;
    r->rc = parley_server_run(r->s);
    return NULL;
}

static void test_a_user_idl_with_the_matchmakers_names_links_and_works(void **state)
{
    (void)state;
    /* its own codec: an mm_key of its shape */
    char label[] = "mine";
    mm_key k = {.id = -7, .label = label}, back;
    uint8_t buf[64];
    size_t len = 0;
    memset(&back, 0, sizeof back);
    assert_int_equal(mm_key_encode(&k, buf, sizeof buf, &len), PARLEY_OK);
    assert_int_equal(len, 12);
    assert_int_equal(mm_key_decode(&back, buf, len, NULL, NULL), PARLEY_OK);
    assert_int_equal(back.id, -7);
    assert_string_equal(back.label, "mine");
    mm_key_free(&back);

    /* its own program, served and called through the runtime */
    running r = {NULL, -1};
    char bound[128];
    pthread_t t;
    assert_int_equal(parley_server_create(&r.s, NULL), PARLEY_OK);
    assert_int_equal(parley_server_add_program(r.s, &matchmaker_prog_1), PARLEY_OK);
    assert_int_equal(parley_server_listen(r.s, "tcp://127.0.0.1:0", bound, sizeof bound),
                     PARLEY_OK);
    assert_int_equal(pthread_create(&t, NULL, run, &r), 0);
    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, bound, MATCHMAKER_PROG, MATCHMAKER_VERS, NULL),
                     PARLEY_OK);
    mm_lookup_res res;
    memset(&res, 0, sizeof res);
    assert_int_equal(matchmaker_lookup_1(c, &k, &res), PARLEY_OK);
    assert_int_equal(res.status, MM_OK);
    const mm_entry_list *l = &res.mm_lookup_res_u.entries;
    assert_int_equal(l->mm_entry_list_len, 2);
    assert_int_equal(l->mm_entry_list_val[0].id, -7);
    assert_string_equal(l->mm_entry_list_val[0].label, "mine");
    assert_int_equal(l->mm_entry_list_val[1].id, -6);
    assert_string_equal(l->mm_entry_list_val[1].label, "next");
    mm_lookup_res_free(&res);
    parley_client_destroy(c);
    parley_server_stop(r.s);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(r.rc, PARLEY_OK);
    parley_server_destroy(r.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_user_idl_with_the_matchmakers_names_links_and_works),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
