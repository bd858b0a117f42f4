/*
 * tests/gen/tirpc/xdr_after.c: libtirpc's <rpc/xdr.h> after a generated
 * header that uses netobj. Built and linked into test_netobj_order; a
 * header that defines netobj twice fails the build.
 */
#include "netobj_order.h"

#include <rpc/xdr.h>

#include <string.h>

#include "tirpc_order.h"

/* xdr_after_roundtrip encodes and decodes a keyed value whose netobj is
 * libtirpc's type, and returns 1 when it comes back whole. */
int xdr_after_roundtrip(void)
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

/* xdr_after_same_bytes_as_tirpc encodes one netobj with the generated
 * codec and with libtirpc's xdr_netobj, and returns 1 when the bytes are
 * the same: the two headers name one type. */
int xdr_after_same_bytes_as_tirpc(void)
{
    char bytes[] = "abcde";
    netobj v = {5, bytes};
    char ours[32], theirs[32];
    size_t len = 0;
    if (netobj_encode(&v, ours, sizeof ours, &len) != PARLEY_OK)
        return 0;
    XDR x;
    xdrmem_create(&x, theirs, sizeof theirs, XDR_ENCODE);
    int ok = xdr_netobj(&x, &v) && xdr_getpos(&x) == len && memcmp(ours, theirs, len) == 0;
    xdr_destroy(&x);
    return ok;
}
