/*
 * runtime/src/codec/netobj.c: the codec of netobj (see parley/netobj.h), written
 * as parleygen would write it for `typedef opaque netobj<1024>` with
 * libtirpc's field names.
 */
#include "parley/netobj.h"

#include <stdlib.h>
#include <string.h>

/* netobj_enc encodes v on e. */
void netobj_enc(parley_enc *e, const netobj *v)
{
    parley_put_bytes(e, v->n_bytes, v->n_len, PARLEY_NETOBJ_MAX);
}

/* netobj_dec decodes into v; on failure v holds nothing. */
void netobj_dec(parley_dec *d, netobj *v)
{
    parley_get_bytes(d, &v->n_bytes, &v->n_len, PARLEY_NETOBJ_MAX);
}

/* netobj_size is v's encoded size. */
size_t netobj_size(const netobj *v)
{
    return 4 + parley_round4(v->n_len);
}

/* netobj_free frees v's bytes and zeroes it; NULL is a no-op, as for every
 * generated type. */
void netobj_free(netobj *v)
{
    if (v == NULL)
        return;
    free(v->n_bytes);
    v->n_bytes = NULL;
    v->n_len = 0;
}

/* netobj_encode: see parley/netobj.h. */
int netobj_encode(const netobj *v, void *buf, size_t cap, size_t *len)
{
    parley_enc e;
    parley_enc_init(&e, buf, cap);
    netobj_enc(&e, v);
    return parley_enc_finish(&e, len);
}

/* netobj_decode: see parley/netobj.h. */
int netobj_decode(netobj *v, const void *buf, size_t len, size_t *used, const parley_limits *lim)
{
    parley_dec d;
    parley_dec_init(&d, buf, len, lim);
    netobj_dec(&d, v);
    if (!d.err && !used && d.p != d.end)
        parley_dec_fail(&d, PARLEY_ERR_TRAILING);
    int rc = parley_dec_finish(&d, used);
    if (rc && !d.arena)
        netobj_free(v);
    else if (rc)
        memset(v, 0, sizeof *v);
    return rc;
}
