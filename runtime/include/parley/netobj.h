/*
 * parley/netobj.h: netobj, the counted opaque of up to 1024 bytes that
 * libtirpc predefines and .x files (NLM, KLM, key_prot, NIS) use without
 * defining it. Generated headers include this one when their IDL uses it.
 */
#ifndef PARLEY_NETOBJ_H
#define PARLEY_NETOBJ_H

#include "parley/xdr.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PARLEY_NETOBJ_MAX 1024u

/* libtirpc's <rpc/xdr.h> defines the same struct; when it came first, its
 * definition stands. */
#ifndef _TIRPC_XDR_H
struct netobj {
    u_int n_len;
    char *n_bytes;
};
typedef struct netobj netobj;
#endif

/* The codec of netobj, as for a generated type (see docs/idl.md). */
int netobj_encode(const netobj *v, void *buf, size_t cap, size_t *len);
int netobj_decode(netobj *v, const void *buf, size_t len, size_t *used, const parley_limits *lim);
size_t netobj_size(const netobj *v);
void netobj_free(netobj *v);
void netobj_enc(parley_enc *e, const netobj *v);
void netobj_dec(parley_dec *d, netobj *v);

#ifdef __cplusplus
}
#endif
#endif /* PARLEY_NETOBJ_H */
