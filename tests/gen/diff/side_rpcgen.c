/*
 * side_rpcgen.c: the rpcgen side of the differential test (see diff.h): the
 * types of parts.h through the xdr_<type>() functions that rpcgen generated
 * from alltypes.x, over libtirpc's memory streams.
 */
#include <stdlib.h>

#include "alltypes.h"
#include "diff.h"

/* One part. xdr_free() takes the xdrproc_t, and calls it inside libtirpc;
 * this file calls each xdr_<type>() through its own type instead, by way of
 * a wrapper written out per type by PART_FUNCS. (Types of fixed arrays
 * take the array, which is the same address as the pointer to it.) */
typedef struct part_ops {
    size_t size;
    bool_t (*code)(XDR *x, void *v);
    xdrproc_t proc;
    void *(*at)(alltypes_top *v);
} part_ops;

#define PART_FUNCS(type, where)                                                                    \
    static bool_t code_##type(XDR *x, void *p)                                                     \
    {                                                                                              \
        return xdr_##type(x, p);                                                                   \
    }                                                                                              \
    static void *at_##type(alltypes_top *v)                                                        \
    {                                                                                              \
        return (void *)(where);                                                                    \
    }
DIFF_PARTS(PART_FUNCS)

#define PART_ENTRY(type, where) {sizeof(type), code_##type, (xdrproc_t)xdr_##type, at_##type},
static const part_ops parts[] = {DIFF_PARTS(PART_ENTRY)};

/* diff_rpcgen_new: see diff.h. The value must start zeroed: libtirpc's
 * decoders write into strings and arrays that a non-NULL pointer already
 * points to instead of allocating them. */
void *diff_rpcgen_new(int k)
{
    void *v = calloc(1, parts[k].size);
    if (!v)
        abort();
    return v;
}

/* diff_rpcgen_release frees with xdr_free(), as rpcgen's users do. */
void diff_rpcgen_release(int k, void *v)
{
    if (v) {
        xdr_free(parts[k].proc, v);
        free(v);
    }
}

/* diff_rpcgen_part: see diff.h. */
void *diff_rpcgen_part(void *top, int k)
{
    return parts[k].at(top);
}

/* diff_rpcgen_encode returns 0 when xdr_<type>() encoded v into the cap
 * bytes at buf, and -1 when it refused. */
int diff_rpcgen_encode(int k, void *v, void *buf, size_t cap, size_t *len)
{
    XDR x;
    xdrmem_create(&x, buf, (u_int)cap, XDR_ENCODE);
    bool_t ok = parts[k].code(&x, v);
    *len = xdr_getpos(&x);
    xdr_destroy(&x);
    return ok ? 0 : -1;
}

/* diff_rpcgen_decode returns 0 when xdr_<type>() decoded the len bytes at
 * buf into v (all of them when used is NULL), and -1 otherwise. */
int diff_rpcgen_decode(int k, void *v, void *buf, size_t len, size_t *used)
{
    XDR x;
    xdrmem_create(&x, buf, (u_int)len, XDR_DECODE);
    bool_t ok = parts[k].code(&x, v);
    size_t pos = xdr_getpos(&x);
    xdr_destroy(&x);
    if (!ok || (!used && pos != len))
        return -1;
    if (used)
        *used = pos;
    return 0;
}
