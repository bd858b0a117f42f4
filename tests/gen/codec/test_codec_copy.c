/*
 * test_codec_copy.c: the generated T_copy of every type of codec.idl and
 * external.x. A decoded value copied into an arena and onto the heap
 * encodes to the very bytes of the original and equals it; the heap copy
 * shares nothing with the original and T_free releases all of it; a copy
 * whose k-th allocation fails returns PARLEY_ERR_NOMEM with nothing left
 * behind, for every k; a long list copies without recursion and a tree
 * nested past PARLEY_COPY_MAX_DEPTH is refused.
 *
 * Allocations are accounted through the --wrap of malloc, calloc and free
 * (codec_support.h), so a leak fails the test even without the leak
 * checker.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_support.h"

enum { ROUNDS = 40 };

/* decoded returns a new value of t decoded (with malloc) from the encoding
 * of a random one, and that encoding through *wire and *len. */
static void *decoded(const codec_type *t, ct_rng *r, uint8_t **wire, size_t *len)
{
    void *v = calloc(1, t->size), *d = calloc(1, t->size);
    assert_non_null(v);
    assert_non_null(d);
    t->fill(r, v);
    *wire = ct_encode_new(t, v, len);
    t->release(v);
    free(v);
    assert_int_equal(t->decode(d, *wire, *len, NULL, NULL), PARLEY_OK);
    return d;
}

/* expect_same_bytes checks that v encodes to the n bytes at want. */
static void expect_same_bytes(const codec_type *t, const void *v, const uint8_t *want, size_t n)
{
    size_t len = 0;
    uint8_t *got = ct_encode_new(t, v, &len);
    if (len != n || memcmp(got, want, n) != 0)
        fail_msg("%s: the copy encodes to other wire than the original (%zu, %zu wire)", t->name,
                 len, n);
    free(got);
}

static void test_copies_of_every_type_encode_like_the_original(void **state)
{
    (void)state;
    ct_rng r;
    ct_seed(&r, 0x636f7079u);
    parley_arena *arena = parley_arena_create(0);
    assert_non_null(arena);
    for (size_t i = 0; i < ct_ntypes; i++) {
        const codec_type *t = &ct_types[i];
        for (int k = 0; k < ROUNDS; k++) {
            uint8_t *wire;
            size_t len;
            void *orig = decoded(t, &r, &wire, &len);
            void *ac = calloc(1, t->size), *hc = calloc(1, t->size);
            assert_non_null(ac);
            assert_non_null(hc);

            assert_int_equal(t->copy(ac, orig, arena), PARLEY_OK);
            expect_same_bytes(t, ac, wire, len);
            assert_true(t->equal(ac, orig));

            ct_arm(-1);
            assert_int_equal(t->copy(hc, orig, NULL), PARLEY_OK);
            ct_disarm();
            long made = ct_alloc.live;
            /* the heap copy owns all its memory: it outlives the original */
            t->release(orig);
            expect_same_bytes(t, hc, wire, len);
            ct_arm(-1);
            t->release(hc);
            ct_disarm();
            if (ct_alloc.live != -made)
                fail_msg("%s: T_free released %ld of the %ld blocks T_copy made", t->name,
                         -ct_alloc.live, made);
            assert_true(ct_is_zero(hc, t->size));

            parley_arena_reset(arena);
            free(ac);
            free(hc);
            free(orig);
            free(wire);
        }
    }
    parley_arena_destroy(arena);
}

/* copy_failing copies orig (into arena, or onto the heap when it is NULL)
 * with each of its allocations made to fail in turn: each failure is
 * PARLEY_ERR_NOMEM, leaves *dst zeroed and nothing allocated on the heap
 * (an arena copy may need fewer allocations the second time, its first
 * block kept by the reset). */
static void copy_failing(const codec_type *t, const void *orig, parley_arena *arena)
{
    void *dst = calloc(1, t->size);
    assert_non_null(dst);
    ct_arm(-1);
    assert_int_equal(t->copy(dst, orig, arena), PARLEY_OK);
    ct_disarm();
    long calls = ct_alloc.calls;
    if (arena)
        parley_arena_reset(arena);
    else
        t->release(dst);
    for (long k = 0; k < calls; k++) {
        memset(dst, 0xa5, t->size);
        ct_arm(k);
        int rc = t->copy(dst, orig, arena);
        ct_disarm();
        if (rc == PARLEY_OK && ct_alloc.calls <= k) {
            /* an arena reset keeps its first block: fewer allocations */
            parley_arena_reset(arena);
            continue;
        }
        if (rc != PARLEY_ERR_NOMEM)
            fail_msg("%s: allocation %ld of %ld failing: %s, not PARLEY_ERR_NOMEM", t->name, k,
                     calls, parley_errname(rc));
        if (!ct_is_zero(dst, t->size))
            fail_msg("%s: a failed copy left its destination unzeroed", t->name);
        if (!arena && ct_alloc.live != 0)
            fail_msg("%s: a failed copy left %ld blocks behind", t->name, ct_alloc.live);
        t->release(dst); /* harmless */
        if (arena)
            parley_arena_reset(arena);
    }
    free(dst);
}

static void test_a_copy_whose_allocation_fails_leaves_nothing(void **state)
{
    (void)state;
    ct_rng r;
    ct_seed(&r, 0x6e6f6d65u);
    /* arena blocks of 256 wire, so that arena copies allocate too */
    parley_arena *arena = parley_arena_create(256);
    assert_non_null(arena);
    for (size_t i = 0; i < ct_ntypes; i++) {
        const codec_type *t = &ct_types[i];
        if (!t->owns)
            continue;
        for (int k = 0; k < 4; k++) {
            uint8_t *wire;
            size_t len;
            void *orig = decoded(t, &r, &wire, &len);
            copy_failing(t, orig, NULL);
            copy_failing(t, orig, arena);
            t->release(orig);
            free(orig);
            free(wire);
        }
    }
    parley_arena_destroy(arena);
}

static void test_a_long_list_copies_in_a_loop(void **state)
{
    (void)state;
    enum { N = 200000 };
    node *head = NULL;
    for (int i = 0; i < N; i++) {
        node *n = calloc(1, sizeof *n);
        assert_non_null(n);
        n->value = i;
        n->tag = strdup(i % 2 ? "odd" : "");
        assert_non_null(n->tag);
        n->next = head;
        head = n;
    }
    node c;
    assert_int_equal(node_copy(&c, head, NULL), PARLEY_OK);
    size_t len = node_size(head);
    uint8_t *a = malloc(len), *b = malloc(len);
    size_t la = 0, lb = 0;
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(node_encode(head, a, len, &la), PARLEY_OK);
    assert_int_equal(node_encode(&c, b, len, &lb), PARLEY_OK);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    node_free(&c);
    node_free(head);
    free(head);
    free(a);
    free(b);
}

static void test_a_tree_nested_past_the_limit_is_refused(void **state)
{
    (void)state;
    const unsigned depth = PARLEY_COPY_MAX_DEPTH + 10;
    tree *root = calloc(1, sizeof *root), *t = root;
    assert_non_null(root);
    for (unsigned i = 1; i < depth; i++) {
        t->left = calloc(1, sizeof *t->left);
        assert_non_null(t->left);
        t = t->left;
        t->key = (int)i;
    }
    tree c;
    memset(&c, 0xa5, sizeof c);
    ct_arm(-1);
    assert_int_equal(tree_copy(&c, root, NULL), PARLEY_ERR_DEPTH);
    ct_disarm();
    assert_int_equal(ct_alloc.live, 0);
    assert_true(ct_is_zero(&c, sizeof c));
    /* one level within the limit copies */
    tree *sub = root;
    for (unsigned i = 0; i < depth - PARLEY_COPY_MAX_DEPTH; i++)
        sub = sub->left;
    assert_int_equal(tree_copy(&c, sub, NULL), PARLEY_OK);
    tree_free(&c);
    tree_free(root);
    free(root);
}

static void test_copy_of_or_into_null_is_invalid(void **state)
{
    (void)state;
    inner v;
    memset(&v, 0, sizeof v);
    assert_int_equal(inner_copy(NULL, &v, NULL), PARLEY_ERR_INVALID);
    assert_int_equal(inner_copy(&v, NULL, NULL), PARLEY_ERR_INVALID);
    /* a count without its array does not copy, and leaves nothing */
    row bad = {3, NULL};
    row c;
    ct_arm(-1);
    assert_int_equal(row_copy(&c, &bad, NULL), PARLEY_ERR_NULL);
    ct_disarm();
    assert_int_equal(ct_alloc.live, 0);
    assert_true(ct_is_zero(&c, sizeof c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copies_of_every_type_encode_like_the_original),
        cmocka_unit_test(test_a_copy_whose_allocation_fails_leaves_nothing),
        cmocka_unit_test(test_a_long_list_copies_in_a_loop),
        cmocka_unit_test(test_a_tree_nested_past_the_limit_is_refused),
        cmocka_unit_test(test_copy_of_or_into_null_is_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
