/*
 * tests/gen/tirpc/xdr_first.c: libtirpc's <rpc/xdr.h> before a generated
 * header that uses netobj. Built and linked into test_netobj_order; a
 * header that defines netobj twice fails the build.
 */
#include <rpc/xdr.h>

#include "netobj_order.h"

#include <string.h>

#include "tirpc_order.h"

/* xdr_first_roundtrip encodes and decodes a keyed value whose netobj is
 * libtirpc's type, and returns 1 when it comes back whole. */
int xdr_first_roundtrip(void)
{
    char key[] = "k1";
    keyed in = {{2, key}, 7}, out = {{0, NULL}, 0};
    char buf[64];
    size_t len = 0, used = 0;
    if (keyed_encode(&in, buf, sizeof buf, &len) != PARLEY_OK)
        return 0;
    if (keyed_decode(&out, buf, len, &used, NULL) != PARLEY_OK)
        return 0;
    struct netobj *n = &out.key; /* the one struct netobj of this unit */
    int ok = used == len && n->n_len == 2 && memcmp(n->n_bytes, "k1", 2) == 0 && out.serial == 7;
    keyed_free(&out);
    return ok;
}
