/*
 * tests/unit/test_netobj.c: the codec of netobj (runtime/src/codec/netobj.c),
 * the one type of the runtime that generated code names as its own: it
 * follows the contract of a generated type, netobj_free(NULL) included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parley/netobj.h"

static void test_free_of_null_is_a_no_op(void **state)
{
    (void)state;
    netobj_free(NULL);
}

static void test_free_releases_the_bytes_and_zeroes_the_object(void **state)
{
    (void)state;
    netobj v = {3, malloc(3)};
    assert_non_null(v.n_bytes);
    memcpy(v.n_bytes, "abc", 3);
    netobj_free(&v);
    assert_null(v.n_bytes);
    assert_int_equal(v.n_len, 0);
    netobj_free(&v); /* a second free of the zeroed object is harmless */
}

static void test_round_trip_keeps_the_bytes_and_pads_to_four(void **state)
{
    (void)state;
    char bytes[5] = {1, 2, 3, 4, 5};
    netobj in = {5, bytes};
    uint8_t buf[16];
    size_t len = 0;
    assert_int_equal(netobj_encode(&in, buf, sizeof buf, &len), PARLEY_OK);
    assert_int_equal(len, 4 + 8);
    assert_int_equal(netobj_size(&in), len);
    netobj out = {0, NULL};
    assert_int_equal(netobj_decode(&out, buf, len, NULL, NULL), PARLEY_OK);
    assert_int_equal(out.n_len, 5);
    assert_memory_equal(out.n_bytes, bytes, 5);
    netobj_free(&out);
}

static void test_truncated_input_fails_and_leaves_nothing_allocated(void **state)
{
    (void)state;
    char bytes[5] = {1, 2, 3, 4, 5};
    netobj in = {5, bytes};
    uint8_t buf[16];
    size_t len = 0;
    assert_int_equal(netobj_encode(&in, buf, sizeof buf, &len), PARLEY_OK);
    for (size_t cut = 0; cut < len; cut++) {
        netobj out = {0, NULL};
        assert_int_equal(netobj_decode(&out, buf, cut, NULL, NULL), PARLEY_ERR_TRUNCATED);
        assert_null(out.n_bytes);
        assert_int_equal(out.n_len, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_of_null_is_a_no_op),
        cmocka_unit_test(test_free_releases_the_bytes_and_zeroes_the_object),
        cmocka_unit_test(test_round_trip_keeps_the_bytes_and_pads_to_four),
        cmocka_unit_test(test_truncated_input_fails_and_leaves_nothing_allocated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
