/*
 * test_codec_depth.c: recursion in the generated codec is bounded. A tree
 * nested deeper than parley_limits.max_depth is rejected with
 * PARLEY_ERR_DEPTH however deep the input claims to go, and a linked list
 * (a struct whose last field points to the next element) of a million
 * elements is decoded, sized, encoded and freed in loops, not by recursion.
 *
 * The work runs on a thread with a 256 KiB stack, where a decoder that
 * recursed once per list element, or past the depth limit, would overflow
 * it and crash. cmocka's assertions must not run on that thread (they jump
 * back to the test on failure), so the thread only records what happened
 * and the test checks it afterwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "codec_support.h"
#include "guard.h"

#define SMALL_STACK ((size_t)256 << 10)

/* See test_list_linked_through_a_typedef_pointer_decodes_in_a_loop; set to
 * 0 once the generator walks such lists in loops. */
#ifndef CT_BUG_TYPEDEF_LIST_RECURSES
#define CT_BUG_TYPEDEF_LIST_RECURSES 0
#endif
#define LONG_LIST 1000000u

/* ---- running on a small stack -------------------------------------------- */

/* on_small_stack runs fn(arg) on a new thread with a 256 KiB stack and waits
 * for it. */
static void on_small_stack(void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    pthread_t th;
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, SMALL_STACK), 0);
    assert_int_equal(pthread_create(&th, &attr, fn, arg), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    pthread_attr_destroy(&attr);
}

/* A decode to run on the small stack, and what came of it. */
typedef struct job {
    const codec_type *t;
    const uint8_t *in; /* guarded */
    size_t n;
    parley_limits lim;
    int rc;
    int zeroed; /* the value was zeroed after a failure */
} job;

/* decode_job decodes, checks the value is zeroed on failure, and frees. */
static void *decode_job(void *arg)
{
    job *j = arg;
    void *v = malloc(j->t->size);
    if (v == NULL) {
        j->rc = -1;
        return NULL;
    }
    memset(v, 0xa5, j->t->size);
    j->rc = j->t->decode(v, j->in, j->n, NULL, &j->lim);
    j->zeroed = ct_is_zero(v, j->t->size);
    j->t->release(v);
    free(v);
    return NULL;
}

/* decode_small decodes the n bytes at b (copied before a guard page) as the
 * type named tn with a maximum depth (0: the default), on the small stack,
 * and returns the error. */
static int decode_small(const char *tn, const uint8_t *b, size_t n, unsigned max_depth)
{
    uint8_t *g = pt_guard_alloc(n);
    assert_non_null(g);
    memcpy(g, b, n);
    job j = {ct_type(tn), g, n, {.max_depth = max_depth}, -1, 0};
    ct_arm(-1);
    on_small_stack(decode_job, &j);
    ct_disarm();
    pt_guard_free(g);
    assert_int_equal(ct_alloc.live, 0);
    if (j.rc != PARLEY_OK)
        assert_true(j.zeroed);
    return j.rc;
}

/* ---- trees ---------------------------------------------------------------- */

/* left_chain writes a tree of depth nodes, each the left child of the one
 * before: left flags down, then a leaf, then on the way up each node's
 * absent right child and key (fields in the order left, right, key). */
static void left_chain(ct_wire *w, size_t depth)
{
    for (size_t i = 1; i < depth; i++)
        ct_w32(w, 1);
    ct_w32(w, 0);
    ct_w32(w, 0);
    ct_w32(w, (uint32_t)depth);
    for (size_t i = depth - 1; i >= 1; i--) {
        ct_w32(w, 0);
        ct_w32(w, (uint32_t)i);
    }
}

/* right_chain is left_chain with right children. */
static void right_chain(ct_wire *w, size_t depth)
{
    for (size_t i = 1; i < depth; i++) {
        ct_w32(w, 0);
        ct_w32(w, 1);
    }
    ct_w32(w, 0);
    ct_w32(w, 0);
    for (size_t i = depth; i >= 1; i--)
        ct_w32(w, (uint32_t)i);
}

static void test_tree_as_deep_as_the_limit_decodes_and_one_deeper_does_not(void **state)
{
    (void)state;
    static const unsigned limits[] = {1, 2, 5, PARLEY_DEFAULT_MAX_DEPTH};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        unsigned lim = limits[i];
        unsigned as_given = lim == PARLEY_DEFAULT_MAX_DEPTH ? 0 : lim;
        for (int side = 0; side < 2; side++) {
            ct_wire w = {0};
            (side ? right_chain : left_chain)(&w, lim);
            assert_int_equal(decode_small("tree", w.b, w.n, as_given), PARLEY_OK);
            parley_limits l = {.max_depth = lim};
            ct_expect_accept(ct_type("tree"), w.b, w.n, &l);
            ct_wire_free(&w);

            (side ? right_chain : left_chain)(&w, lim + 1);
            assert_int_equal(decode_small("tree", w.b, w.n, as_given), PARLEY_ERR_DEPTH);
            ct_expect_reject(ct_type("tree"), w.b, w.n, &l, PARLEY_ERR_DEPTH);
            ct_wire_free(&w);
        }
    }
}

static void test_tree_a_million_levels_deep_fails_without_exhausting_the_stack(void **state)
{
    (void)state;
    ct_wire w = {0};
    left_chain(&w, LONG_LIST);
    assert_int_equal(decode_small("tree", w.b, w.n, 0), PARLEY_ERR_DEPTH);
    /* a limit the caller raised is still a limit */
    assert_int_equal(decode_small("tree", w.b, w.n, 1000), PARLEY_ERR_DEPTH);
    ct_wire_free(&w);
    right_chain(&w, LONG_LIST);
    assert_int_equal(decode_small("tree", w.b, w.n, 0), PARLEY_ERR_DEPTH);
    ct_wire_free(&w);
}

static void test_deep_tree_inside_another_type_is_limited_too(void **state)
{
    (void)state;
    /* everything holds an optional tree; encode one with no tree and empty
     * fields after it, then splice a chain of trees in where the tree's
     * absent flag is. What follows the flag: sp's flag, raw, one, hs, fl
     * (four bytes each) and db (sixteen). */
    ct_rng r;
    ct_seed(&r, 7);
    everything ev, orig;
    ct_fill_everything(&r, &ev);
    orig = ev;
    ev.root = NULL;
    ev.sp = NULL;
    memset(&ev.raw, 0, sizeof ev.raw);
    memset(&ev.hs, 0, sizeof ev.hs);
    memset(&ev.fl, 0, sizeof ev.fl);
    size_t n;
    uint8_t *enc = ct_encode_new(ct_type("everything"), &ev, &n);
    everything_free(&orig);
    const size_t after = 36;
    assert_int_equal(parley_ld_u32(enc + n - after - 4), 0);

    for (size_t depth = PARLEY_DEFAULT_MAX_DEPTH; depth <= PARLEY_DEFAULT_MAX_DEPTH + 1; depth++) {
        ct_wire w = {0};
        ct_wraw(&w, enc, n - after - 4);
        ct_w32(&w, 1);
        left_chain(&w, depth);
        ct_wraw(&w, enc + n - after, after);
        if (depth == PARLEY_DEFAULT_MAX_DEPTH) {
            assert_int_equal(decode_small("everything", w.b, w.n, 0), PARLEY_OK);
            ct_expect_accept(ct_type("everything"), w.b, w.n, NULL);
        } else {
            assert_int_equal(decode_small("everything", w.b, w.n, 0), PARLEY_ERR_DEPTH);
            ct_expect_reject(ct_type("everything"), w.b, w.n, NULL, PARLEY_ERR_DEPTH);
        }
        ct_wire_free(&w);
    }
    free(enc);
}

static void test_truncated_deep_tree_is_released(void **state)
{
    (void)state;
    ct_wire w = {0};
    left_chain(&w, PARLEY_DEFAULT_MAX_DEPTH);
    /* cut in the way up: every level below is built and must be freed */
    for (size_t cut = w.n - 4 * 40; cut < w.n; cut += 4)
        assert_int_equal(decode_small("tree", w.b, cut, 0), PARLEY_ERR_TRUNCATED);
    ct_wire_free(&w);
}

/* ---- lists ---------------------------------------------------------------- */

/* A list to decode, size, encode and free on the small stack. */
typedef struct list_job {
    const uint8_t *in; /* guarded */
    size_t n;
    unsigned max_depth;
    int rc_dec, rc_enc;
    size_t size, enc_len, count;
    int same_bytes, values_ok;
} list_job;

static void *list_job_run(void *arg)
{
    list_job *j = arg;
    parley_limits lim = {.max_depth = j->max_depth};
    chain c;
    j->rc_dec = chain_decode(&c, j->in, j->n, NULL, &lim);
    if (j->rc_dec != PARLEY_OK)
        return NULL;
    j->values_ok = 1;
    for (const chain *p = &c; p; p = p->next) {
        if (p->n != (uint32_t)j->count)
            j->values_ok = 0;
        j->count++;
    }
    j->size = chain_size(&c);
    uint8_t *out = malloc(j->size);
    if (out != NULL) {
        j->rc_enc = chain_encode(&c, out, j->size, &j->enc_len);
        j->same_bytes = j->enc_len == j->n && memcmp(out, j->in, j->n) == 0;
        free(out);
    }
    chain_free(&c);
    chain_free(&c);
    return NULL;
}

/* chain_wire writes a list of count elements numbered from 0. */
static void chain_wire(ct_wire *w, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        ct_w32(w, (uint32_t)i);
        ct_w32(w, i + 1 < count);
    }
}

static void test_list_of_a_million_elements_round_trips_on_a_small_stack(void **state)
{
    (void)state;
    ct_wire w = {0};
    chain_wire(&w, LONG_LIST);
    assert_int_equal(w.n, 8 * (size_t)LONG_LIST);
    uint8_t *g = pt_guard_alloc(w.n);
    assert_non_null(g);
    memcpy(g, w.b, w.n);

    /* with a maximum depth of one: the elements of a list do not count */
    list_job j;
    memset(&j, 0, sizeof j);
    j.in = g;
    j.n = w.n;
    j.max_depth = 1;
    ct_arm(-1);
    on_small_stack(list_job_run, &j);
    ct_disarm();
    assert_int_equal(j.rc_dec, PARLEY_OK);
    assert_int_equal(j.count, LONG_LIST);
    assert_true(j.values_ok);
    assert_int_equal(j.size, w.n);
    assert_int_equal(j.rc_enc, PARLEY_OK);
    assert_true(j.same_bytes);
    assert_int_equal(ct_alloc.live, 0);
    pt_guard_free(g);

    /* cut in the last element: the million built before are released */
    assert_int_equal(decode_small("chain", w.b, w.n - 2, 0), PARLEY_ERR_TRUNCATED);
    ct_wire_free(&w);
    /* a bad flag at the end of a shorter list, likewise */
    chain_wire(&w, 1000);
    parley_st_u32(w.b + w.n - 4, 2);
    assert_int_equal(decode_small("chain", w.b, w.n, 0), PARLEY_ERR_BAD_BOOL);
    ct_wire_free(&w);
}

static void test_list_of_lists_counts_depth_once_per_list(void **state)
{
    (void)state;
    /* a spine walks its right pointers as a list, its left ones by
     * recursion: a long right spine decodes with depth one, and left
     * nesting past the limit does not */
    ct_wire w = {0};
    for (size_t i = 0; i < 100000; i++) {
        ct_w32(&w, (uint32_t)i);
        ct_w32(&w, 0);
        ct_w32(&w, i + 1 < 100000);
    }
    assert_int_equal(decode_small("spine", w.b, w.n, 1), PARLEY_OK);
    ct_wire_free(&w);

    for (size_t i = 0; i < 1000; i++) {
        ct_w32(&w, (uint32_t)i);
        ct_w32(&w, i + 1 < 1000); /* left */
    }
    for (size_t i = 0; i < 1000; i++)
        ct_w32(&w, 0); /* right */
    assert_int_equal(decode_small("spine", w.b, w.n, 0), PARLEY_ERR_DEPTH);
    assert_int_equal(decode_small("spine", w.b, w.n, 1000), PARLEY_OK);
    assert_int_equal(decode_small("spine", w.b, w.n, 999), PARLEY_ERR_DEPTH);
    ct_wire_free(&w);
}

/* forest_chain writes a forest nested depth levels deep, one kid a level. */
static void forest_chain(ct_wire *w, size_t depth)
{
    for (size_t i = 1; i < depth; i++) {
        ct_w32(w, (uint32_t)i);
        ct_w32(w, 1);
    }
    ct_w32(w, (uint32_t)depth);
    ct_w32(w, 0);
}

static void test_recursion_through_an_array_is_limited_too(void **state)
{
    (void)state;
    ct_wire w = {0};
    forest_chain(&w, PARLEY_DEFAULT_MAX_DEPTH);
    assert_int_equal(decode_small("forest", w.b, w.n, 0), PARLEY_OK);
    ct_expect_accept(ct_type("forest"), w.b, w.n, NULL);
    ct_wire_free(&w);
    forest_chain(&w, PARLEY_DEFAULT_MAX_DEPTH + 1);
    assert_int_equal(decode_small("forest", w.b, w.n, 0), PARLEY_ERR_DEPTH);
    ct_expect_reject(ct_type("forest"), w.b, w.n, NULL, PARLEY_ERR_DEPTH);
    ct_wire_free(&w);
    forest_chain(&w, LONG_LIST);
    assert_int_equal(decode_small("forest", w.b, w.n, 0), PARLEY_ERR_DEPTH);
    ct_wire_free(&w);
}

/* groups_wire writes a mount-protocol style list of count elements (a
 * typedef of a pointer links them). */
static void groups_wire(ct_wire *w, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        ct_w32(w, 1);
        ct_wstr(w, "g", 1);
    }
    ct_w32(w, 0);
}

static void test_list_linked_through_a_typedef_pointer_fails_cleanly_when_long(void **state)
{
    (void)state;
    /* Whether or not such lists are walked in loops, a million elements
     * must decode or fail cleanly, never overflow the stack. */
    ct_wire w = {0};
    groups_wire(&w, LONG_LIST);
    int rc = decode_small("groups", w.b, w.n, 0);
    assert_true(rc == PARLEY_OK || rc == PARLEY_ERR_DEPTH);
    ct_wire_free(&w);
    groups_wire(&w, 10);
    ct_expect_accept(ct_type("groups"), w.b, w.n, NULL);
    ct_wire_free(&w);
}

static void test_list_linked_through_a_typedef_pointer_decodes_in_a_loop(void **state)
{
    (void)state;
    /* Known bug, reported: the mount protocol's list idiom (RFC 1813,
     * appendix I: `typedef struct groupnode *groups; struct groupnode {
     * name gr_name; groups gr_next; };`) is not recognised as a linked list.
     * Its decoder recurses, two levels of depth per element, so with the
     * default depth of 128 a list of more than 64 elements fails with
     * PARLEY_ERR_DEPTH; and its encoder, T_size and T_free recurse once per
     * element, so a long list built by a caller overflows the stack. */
    if (CT_BUG_TYPEDEF_LIST_RECURSES)
        skip();
    ct_wire w = {0};
    groups_wire(&w, 1000);
    assert_int_equal(decode_small("groups", w.b, w.n, 0), PARLEY_OK);
    assert_int_equal(decode_small("groups", w.b, w.n, 1), PARLEY_OK);
    ct_wire_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_as_deep_as_the_limit_decodes_and_one_deeper_does_not),
        cmocka_unit_test(test_tree_a_million_levels_deep_fails_without_exhausting_the_stack),
        cmocka_unit_test(test_deep_tree_inside_another_type_is_limited_too),
        cmocka_unit_test(test_truncated_deep_tree_is_released),
        cmocka_unit_test(test_list_of_a_million_elements_round_trips_on_a_small_stack),
        cmocka_unit_test(test_list_of_lists_counts_depth_once_per_list),
        cmocka_unit_test(test_recursion_through_an_array_is_limited_too),
        cmocka_unit_test(test_list_linked_through_a_typedef_pointer_fails_cleanly_when_long),
        cmocka_unit_test(test_list_linked_through_a_typedef_pointer_decodes_in_a_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
