/*
 * tests/unit/test_arena.c: the bump allocator of parley/arena.h, and decoding
 * into it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "parley/arena.h"
#include "parley/xdr.h"

static void test_allocations_are_aligned_and_distinct(void **state)
{
    (void)state;
    parley_arena *a = parley_arena_create(256);
    assert_non_null(a);
    unsigned char *prev = NULL;
    for (size_t n = 1; n < 200; n++) {
        unsigned char *p = parley_arena_alloc(a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
        memset(p, 0xab, n); /* ASan would catch an allocation that overlaps its block's end */
        assert_ptr_not_equal(p, prev);
        prev = p;
    }
    parley_arena_destroy(a);
}

static void test_zero_bytes_and_absurd_sizes_give_null(void **state)
{
    (void)state;
    parley_arena *a = parley_arena_create(0);
    assert_non_null(a);
    assert_null(parley_arena_alloc(a, 0));
    assert_null(parley_arena_alloc(a, SIZE_MAX));
    assert_null(parley_arena_alloc(a, SIZE_MAX - 8));
    parley_arena_destroy(a);
}

static void test_large_requests_get_blocks_of_their_own(void **state)
{
    (void)state;
    parley_arena *a = parley_arena_create(1024);
    assert_non_null(a);
    char *small1 = parley_arena_alloc(a, 16);
    char *big = parley_arena_alloc(a, 1 << 20);
    char *small2 = parley_arena_alloc(a, 16);
    assert_non_null(big);
    memset(big, 1, 1 << 20);
    /* the current block keeps serving small requests after the big one */
    assert_int_equal(small2 - small1, 16);
    assert_int_equal(parley_arena_used(a), 16 + (1 << 20) + 16);
    parley_arena_destroy(a);
}

static void test_reset_releases_everything_and_reuses_the_first_block(void **state)
{
    (void)state;
    parley_arena *a = parley_arena_create(4096);
    assert_non_null(a);
    void *first = parley_arena_alloc(a, 64);
    for (int i = 0; i < 1000; i++)
        assert_non_null(parley_arena_alloc(a, 100));
    parley_arena_reset(a);
    assert_int_equal(parley_arena_used(a), 0);
    assert_ptr_equal(parley_arena_alloc(a, 64), first);
    parley_arena_destroy(a);
    parley_arena_destroy(NULL);
}

static void test_decoding_allocates_from_the_arena_and_respects_the_budget(void **state)
{
    (void)state;
    /* "hello" as an XDR string */
    static const uint8_t wire[] = {0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', 0, 0, 0};
    parley_arena *a = parley_arena_create(0);
    assert_non_null(a);
    parley_limits lim = {.arena = a};
    parley_dec d;
    parley_dec_init(&d, wire, sizeof wire, &lim);
    char *s = NULL;
    parley_get_string(&d, &s, 100);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_OK);
    assert_string_equal(s, "hello");
    assert_true(parley_arena_used(a) >= 6);

    /* the budget still bounds what the arena hands out */
    lim.max_alloc = 5;
    parley_dec_init(&d, wire, sizeof wire, &lim);
    parley_get_string(&d, &s, 100);
    assert_int_equal(d.err, PARLEY_ERR_LIMIT);
    assert_null(s);
    parley_arena_destroy(a); /* releases the decoded string: no leak */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocations_are_aligned_and_distinct),
        cmocka_unit_test(test_zero_bytes_and_absurd_sizes_give_null),
        cmocka_unit_test(test_large_requests_get_blocks_of_their_own),
        cmocka_unit_test(test_reset_releases_everything_and_reuses_the_first_block),
        cmocka_unit_test(test_decoding_allocates_from_the_arena_and_respects_the_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
