/*
 * test_stubs_handover.c: the generated stubs of handover.idl against a real
 * server on the loopback.
 *
 * The server's procedures put their results on the heap (strdup, malloc,
 * T_copy with no arena) and hand them over with parley_call_free_result,
 * and one fails after handing its result over: the generated handler
 * releases each after encoding it, which the sanitizer build's leak
 * checker verifies over many calls from several clients at once (and
 * ThreadSanitizer, that the hand-over of one call does not touch another). The client's _opts and
 * _submit_opts forms give one call a deadline of its own: 100 ms against a handle's 30 s, on a
 * procedure that sleeps 2 s, ends the call with PARLEY_ERR_TIMEDOUT (without the per-call deadline
 * it would succeed after 2 s), and asking for exactly-once from a server without a store is
 * refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handover.h"

/* ---- the server --------------------------------------------------------- */

/* The entries FIND copies from, built before the server starts. */
static entry *kept;

static void nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* new_list fills head with a list of n + 1 entries on the heap. */
static int new_list(entry *head, int n)
{
    entry *e = head;
    for (int i = 0; i <= n; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%d", i);
        e->key = strdup(key);
        e->value.value_len = (u_int)i;
        e->value.value_val = i ? malloc((size_t)i) : NULL;
        if (!e->key || (i && !e->value.value_val))
            return PARLEY_ERR_NOMEM;
        if (i)
            memset(e->value.value_val, 'a' + i % 26, (size_t)i);
        if (i < n) {
            e->next = calloc(1, sizeof *e->next);
            if (!e->next)
                return PARLEY_ERR_NOMEM;
            e = e->next;
        }
    }
    return PARLEY_OK;
}

int echo_1_svc(char *const *in, char **res, parley_call *call)
{
    parley_call_free_result(call);
    *res = strdup(*in);
    return *res ? PARLEY_OK : PARLEY_ERR_NOMEM;
}

int list_1_svc(const int *n, entry *res, parley_call *call)
{
    parley_call_free_result(call); /* also what is built when it fails */
    return new_list(res, *n);
}

int find_1_svc(char *const *key, found *res, parley_call *call)
{
    for (const entry *e = kept; e; e = e->next) {
        if (strcmp(e->key, *key) == 0) {
            res->ok = TRUE;
            parley_call_free_result(call);
            return entry_copy(&res->found_u.e, e, NULL);
        }
    }
    res->ok = FALSE; /* nothing on the heap: nothing handed over */
    return PARLEY_OK;
}

int fail_1_svc(const int *n, entry *res, parley_call *call)
{
    parley_call_free_result(call);
    if (new_list(res, *n) != PARLEY_OK)
        return PARLEY_ERR_NOMEM;
    return PARLEY_ERR_SYSTEM_ERR;
}

int slow_1_svc(const int *ms, int *res, parley_call *call)
{
    (void)call;
    nap(*ms);
    *res = *ms;
    return PARLEY_OK;
}

int nap_1_svc(const int *ms, parley_call *call)
{
    (void)call;
    nap(*ms);
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

static void serve(served *sv)
{
    memset(sv, 0, sizeof *sv);
    parley_server_opts so = {.threads = 4};
    assert_int_equal(parley_server_create(&sv->srv, &so), PARLEY_OK);
    assert_int_equal(parley_server_add_program(sv->srv, &handover_prog_1), PARLEY_OK);
    assert_int_equal(parley_server_listen(sv->srv, "tcp://127.0.0.1:0", sv->addr, sizeof sv->addr),
                     PARLEY_OK);
    assert_int_equal(pthread_create(&sv->thread, NULL, run, sv), 0);
}

static void unserve(served *sv)
{
    parley_server_stop(sv->srv);
    assert_int_equal(pthread_join(sv->thread, NULL), 0);
    assert_int_equal(sv->rc, PARLEY_OK);
    parley_server_destroy(sv->srv);
}

static parley_client *client_of(const served *sv)
{
    parley_client_opts co = {.timeout_ms = 30000};
    parley_client *cl = NULL;
    assert_int_equal(parley_client_create(&cl, sv->addr, HANDOVER_PROG, HANDOVER_V1, &co),
                     PARLEY_OK);
    return cl;
}

/* ---- the tests -------------------------------------------------------- */

static int list_length(const entry *e)
{
    int n = 0;
    for (; e; e = e->next)
        n++;
    return n;
}

/* A client thread's calls, and how many of them went wrong (the checks of
 * cmocka cannot run outside the main thread). */
typedef struct caller {
    const served *sv;
    pthread_t thread;
    int calls;
    int wrong;
} caller;

#define CHECK(c, cond) ((c)->wrong += !(cond))

static void *calls(void *arg)
{
    caller *c = arg;
    parley_client_opts co = {.timeout_ms = 30000};
    parley_client *cl = NULL;
    if (parley_client_create(&cl, c->sv->addr, HANDOVER_PROG, HANDOVER_V1, &co) != PARLEY_OK) {
        c->wrong++;
        return NULL;
    }
    for (int i = 0; i < c->calls; i++) {
        char word[32];
        snprintf(word, sizeof word, "word %d", i);
        char *in = word, *out = NULL;
        CHECK(c, echo_1(cl, &in, &out) == PARLEY_OK && out && strcmp(out, word) == 0);
        free(out);

        int n = i % 17;
        entry l;
        CHECK(c, list_1(cl, &n, &l) == PARLEY_OK && list_length(&l) == n + 1 &&
                     strcmp(l.key, "k0") == 0);
        entry_free(&l);

        char key[8];
        snprintf(key, sizeof key, "k%d", i % 6); /* k5 is not kept */
        char *k = key;
        found f;
        CHECK(c, find_1(cl, &k, &f) == PARLEY_OK);
        if (i % 6 < 5)
            CHECK(c, f.ok && strcmp(f.found_u.e.key, key) == 0 &&
                         list_length(&f.found_u.e) == 5 - i % 6 &&
                         f.found_u.e.value.value_len == (u_int)(i % 6));
        else
            CHECK(c, !f.ok);
        found_free(&f);

        if (i % 10 == 0) {
            entry e;
            CHECK(c, fail_1(cl, &n, &e) == PARLEY_ERR_SYSTEM_ERR && e.key == NULL);
        }
    }
    parley_client_destroy(cl);
    return NULL;
}

static void test_results_handed_over_are_released_by_the_handler(void **state)
{
    (void)state;
    kept = calloc(1, sizeof *kept);
    assert_non_null(kept);
    assert_int_equal(new_list(kept, 4), PARLEY_OK);
    served sv;
    serve(&sv);

    /* three clients at once, so that handlers on several server threads
     * hand their results over at the same time */
    caller c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = (caller){&sv, 0, 400, 0};
        assert_int_equal(pthread_create(&c[i].thread, NULL, calls, &c[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pthread_join(c[i].thread, NULL), 0);
        assert_int_equal(c[i].wrong, 0);
    }

    unserve(&sv);
    entry_free(kept);
    free(kept);
}

static void test_a_call_deadline_shorter_than_the_handles_ends_a_slow_call(void **state)
{
    (void)state;
    served sv;
    serve(&sv);
    parley_client *cl = client_of(&sv);

    int ms = 2000, res = -1;
    parley_call_opts o = {.timeout_ms = 100};
    assert_int_equal(slow_1_opts(cl, &ms, &res, &o), PARLEY_ERR_TIMEDOUT);
    assert_int_equal(res, 0);
    assert_int_equal(nap_1_opts(cl, &ms, &o), PARLEY_ERR_TIMEDOUT);

    /* the short forms and NULL options keep the handle's deadline */
    ms = 10;
    assert_int_equal(slow_1_opts(cl, &ms, &res, NULL), PARLEY_OK);
    assert_int_equal(res, 10);
    res = -1;
    assert_int_equal(slow_1(cl, &ms, &res), PARLEY_OK);
    assert_int_equal(res, 10);

    parley_client_destroy(cl);
    unserve(&sv);
}

typedef struct outcome {
    int done;
    int err;
} outcome;

static void done_fn(void *ctx, int err)
{
    outcome *oc = ctx;
    oc->err = err;
    oc->done = 1;
}

/* wait_done polls cl until oc is done, for at most 20 s. */
static void wait_done(parley_client *cl, outcome *oc)
{
    for (int i = 0; i < 200 && !oc->done; i++)
        assert_int_equal(parley_client_poll(cl, 100, NULL), PARLEY_OK);
    assert_true(oc->done);
}

static void test_a_submitted_calls_deadline_ends_it_too(void **state)
{
    (void)state;
    served sv;
    serve(&sv);
    parley_client *cl = client_of(&sv);

    int ms = 2000, res = -1;
    parley_call_opts o = {.timeout_ms = 100};
    outcome a = {0, -1}, b = {0, -1}, c = {0, -1};
    assert_int_equal(slow_1_submit_opts(cl, &ms, &res, &o, done_fn, &a), PARLEY_OK);
    assert_int_equal(nap_1_submit_opts(cl, &ms, &o, done_fn, &b), PARLEY_OK);
    wait_done(cl, &a);
    wait_done(cl, &b);
    assert_int_equal(a.err, PARLEY_ERR_TIMEDOUT);
    assert_int_equal(b.err, PARLEY_ERR_TIMEDOUT);

    int quick = 5, got = -1;
    assert_int_equal(slow_1_submit_opts(cl, &quick, &got, NULL, done_fn, &c), PARLEY_OK);
    wait_done(cl, &c);
    assert_int_equal(c.err, PARLEY_OK);
    assert_int_equal(got, 5);

    parley_client_destroy(cl);
    unserve(&sv);
}

static void test_options_may_ask_for_exactly_once(void **state)
{
    (void)state;
    served sv;
    serve(&sv);
    parley_client *cl = client_of(&sv);

    /* a server without a store cannot give it: refused, nothing sent */
    char word[] = "once";
    char *in = word, *out = NULL;
    parley_call_opts o = {.semantics = PARLEY_EXACTLY_ONCE};
    assert_int_equal(echo_1_opts(cl, &in, &out, &o), PARLEY_ERR_NOT_GUARANTEED);
    assert_null(out);
    /* any other value keeps the declared guarantee */
    o.semantics = PARLEY_IDEMPOTENT;
    assert_int_equal(echo_1_opts(cl, &in, &out, &o), PARLEY_OK);
    assert_string_equal(out, "once");
    free(out);

    parley_client_destroy(cl);
    unserve(&sv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_results_handed_over_are_released_by_the_handler),
        cmocka_unit_test(test_a_call_deadline_shorter_than_the_handles_ends_a_slow_call),
        cmocka_unit_test(test_a_submitted_calls_deadline_ends_it_too),
        cmocka_unit_test(test_options_may_ask_for_exactly_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
