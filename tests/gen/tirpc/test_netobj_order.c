/*
 * tests/gen/tirpc/test_netobj_order.c: a generated header that uses netobj
 * sits beside libtirpc's <rpc/xdr.h> in either order (xdr_first.c,
 * xdr_after.c: the build fails if one defines it twice), and the codecs of
 * both agree on its bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tirpc_order.h"

static void test_netobj_roundtrips_with_rpc_xdr_before_the_header(void **state)
{
    (void)state;
    assert_true(xdr_first_roundtrip());
}

static void test_netobj_roundtrips_with_rpc_xdr_after_the_header(void **state)
{
    (void)state;
    assert_true(xdr_after_roundtrip());
}

static void test_netobj_encodes_as_libtirpc_xdr_netobj_does(void **state)
{
    (void)state;
    assert_true(xdr_after_same_bytes_as_tirpc());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_netobj_roundtrips_with_rpc_xdr_before_the_header),
        cmocka_unit_test(test_netobj_roundtrips_with_rpc_xdr_after_the_header),
        cmocka_unit_test(test_netobj_encodes_as_libtirpc_xdr_netobj_does),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
