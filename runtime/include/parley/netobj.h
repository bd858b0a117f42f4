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

/* libtirpc's <rpc/xdr.h> (and the old glibc one) defines the same struct,
 * without a guard of its own, so the two must never both define it. When
 * <rpc/xdr.h> is on the include path (a program built against libtirpc,
 * with its folder given as -I), it is included here and its definition
 * stands, so that it may come before or after this header, or not at all,
 * in any order; a .x file's `%#include <rpc/xdr.h>` needs nothing more.
 * Otherwise Parley defines netobj itself, with the same layout. Define
 * PARLEY_NETOBJ_NO_RPC_XDR to never include it (then <rpc/xdr.h>, if used,
 * must come first). */
#if !defined(PARLEY_NETOBJ_NO_RPC_XDR) && !defined(_TIRPC_XDR_H) && !defined(_RPC_XDR_H) &&        \
    defined(__has_include)
#if __has_include(<rpc/xdr.h>)
#include <rpc/xdr.h>
#endif
#endif
#if !defined(_TIRPC_XDR_H) && !defined(_RPC_XDR_H)
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
