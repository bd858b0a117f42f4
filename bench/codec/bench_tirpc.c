/*
 * bench_tirpc.c: the libtirpc side of the codec benchmark, over the code
 * rpcgen generates from bench.x (see bench_codec.h for the contract). It
 * uses libtirpc as its users do: an XDR stream made with xdrmem_create for
 * every message, the rpcgen routine xdr_<type>, and for decoding a zeroed
 * value (so that the routines allocate) released afterwards with xdr_free.
 */
#include "bench.h"
#include "bench_codec.h"

#include <stdlib.h>
#include <string.h>

/* Side-specific failures (the shared ones are negative). */
#define TIRPC_ERR_ENCODE 1
#define TIRPC_ERR_DECODE 2

/* The side's state, as in bench_parley.c. */
static struct {
    const bench_data *in;
    users users;
    blob blob;
    ints ints;
    char *buf[BENCH_NCASES];
    size_t cap[BENCH_NCASES];
    size_t len[BENCH_NCASES];
} S;

/* The rpcgen routines of each case, and xdr_free's type for them. The cast
 * goes through void (*)(void), the type that converts to and from any
 * function pointer without a warning; xdr_free calls the routine with the
 * arguments it was declared with, which is what libtirpc expects. */
static xdrproc_t proc_of(int c)
{
    switch (c) {
    case BENCH_CASE_USERS:
        return (xdrproc_t)(void (*)(void))xdr_users;
    case BENCH_CASE_BLOB:
        return (xdrproc_t)(void (*)(void))xdr_blob;
    default:
        return (xdrproc_t)(void (*)(void))xdr_ints;
    }
}

static void release(void)
{
    free(S.users.users_val);
    free(S.ints.ints_val);
    for (int c = 0; c < BENCH_NCASES; c++)
        free(S.buf[c]);
    memset(&S, 0, sizeof S);
}

/* encode_one encodes case c once into S.buf[c] and stores its length. */
static int encode_one(int c)
{
    XDR x;
    bool_t ok;

    xdrmem_create(&x, S.buf[c], (u_int)S.cap[c], XDR_ENCODE);
    switch (c) {
    case BENCH_CASE_USERS:
        ok = xdr_users(&x, &S.users);
        break;
    case BENCH_CASE_BLOB:
        ok = xdr_blob(&x, &S.blob);
        break;
    default:
        ok = xdr_ints(&x, &S.ints);
        break;
    }
    S.len[c] = xdr_getpos(&x);
    xdr_destroy(&x);
    return ok ? 0 : TIRPC_ERR_ENCODE;
}

/* prepare builds the side's values from the shared input (names and the
 * blob are borrowed), and encodes each case once into a buffer of the size
 * the wire format gives. */
static int prepare(const bench_data *in)
{
    size_t users_wire = 4;
    int rc;

    memset(&S, 0, sizeof S);
    S.in = in;
    S.users.users_val = calloc(in->nusers, sizeof *S.users.users_val);
    S.ints.ints_val = malloc(in->nints * sizeof *S.ints.ints_val);
    if (S.users.users_val == NULL || S.ints.ints_val == NULL)
        goto nomem;
    S.users.users_len = (u_int)in->nusers;
    for (size_t i = 0; i < in->nusers; i++) {
        S.users.users_val[i].name = in->names[i];
        S.users.users_val[i].uid = in->uids[i];
        S.users.users_val[i].login_time = in->times[i];
        users_wire += 4 + ((strlen(in->names[i]) + 3) & ~(size_t)3) + 4 + 8;
    }
    S.blob.blob_len = (u_int)in->blob_len;
    S.blob.blob_val = (char *)in->blob;
    S.ints.ints_len = (u_int)in->nints;
    memcpy(S.ints.ints_val, in->ints, in->nints * sizeof *S.ints.ints_val);

    S.cap[BENCH_CASE_USERS] = users_wire;
    S.cap[BENCH_CASE_BLOB] = 4 + ((in->blob_len + 3) & ~(size_t)3);
    S.cap[BENCH_CASE_INTS] = 4 + 4 * in->nints;
    for (int c = 0; c < BENCH_NCASES; c++) {
        if ((S.buf[c] = malloc(S.cap[c])) == NULL)
            goto nomem;
        if ((rc = encode_one(c)) != 0) {
            release();
            return rc;
        }
    }
    return 0;
nomem:
    release();
    return BENCH_ERR_NOMEM;
}

static void wire(int c, const uint8_t **bytes, size_t *len)
{
    *bytes = (const uint8_t *)S.buf[c];
    *len = S.len[c];
}

/* decode_one decodes case c's wire bytes into *v, which must be zeroed, and
 * checks that they were all used. On failure *v may still hold allocations,
 * which xdr_free releases. */
static int decode_one(int c, void *v)
{
    XDR x;
    bool_t ok;

    xdrmem_create(&x, S.buf[c], (u_int)S.len[c], XDR_DECODE);
    switch (c) {
    case BENCH_CASE_USERS:
        ok = xdr_users(&x, v);
        break;
    case BENCH_CASE_BLOB:
        ok = xdr_blob(&x, v);
        break;
    default:
        ok = xdr_ints(&x, v);
        break;
    }
    if (ok && xdr_getpos(&x) != S.len[c])
        ok = FALSE;
    xdr_destroy(&x);
    return ok ? 0 : TIRPC_ERR_DECODE;
}

/* same_users compares decoded users with the input. */
static int same_users(const users *u, const bench_data *in)
{
    if (u->users_len != in->nusers)
        return 0;
    for (size_t i = 0; i < in->nusers; i++) {
        const user *x = &u->users_val[i];
        if (strcmp(x->name, in->names[i]) != 0 || x->uid != in->uids[i] ||
            x->login_time != in->times[i])
            return 0;
    }
    return 1;
}

/* check decodes case c once and compares the values with the input. */
static int check(int c)
{
    const bench_data *in = S.in;
    union {
        users u;
        blob b;
        ints n;
    } v;
    int rc, same = 0;

    memset(&v, 0, sizeof v);
    rc = decode_one(c, &v);
    if (rc == 0) {
        switch (c) {
        case BENCH_CASE_USERS:
            same = same_users(&v.u, in);
            break;
        case BENCH_CASE_BLOB:
            same =
                v.b.blob_len == in->blob_len && memcmp(v.b.blob_val, in->blob, in->blob_len) == 0;
            break;
        default:
            same = v.n.ints_len == in->nints &&
                   memcmp(v.n.ints_val, in->ints, in->nints * sizeof *v.n.ints_val) == 0;
            break;
        }
    }
    xdr_free(proc_of(c), (char *)&v);
    return rc ? rc : same ? 0 : BENCH_ERR_MISMATCH;
}

/* encode encodes case c iters times into its buffer, with a new memory
 * stream each time as a user of libtirpc does for each message. */
static int encode(int c, size_t iters)
{
    char *buf = S.buf[c];
    u_int cap = (u_int)S.cap[c];
    bool_t ok = TRUE;
    XDR x;

    switch (c) {
    case BENCH_CASE_USERS:
        for (size_t i = 0; i < iters && ok; i++) {
            xdrmem_create(&x, buf, cap, XDR_ENCODE);
            ok = xdr_users(&x, &S.users);
            xdr_destroy(&x);
        }
        break;
    case BENCH_CASE_BLOB:
        for (size_t i = 0; i < iters && ok; i++) {
            xdrmem_create(&x, buf, cap, XDR_ENCODE);
            ok = xdr_blob(&x, &S.blob);
            xdr_destroy(&x);
        }
        break;
    default:
        for (size_t i = 0; i < iters && ok; i++) {
            xdrmem_create(&x, buf, cap, XDR_ENCODE);
            ok = xdr_ints(&x, &S.ints);
            xdr_destroy(&x);
        }
        break;
    }
    return ok ? 0 : TIRPC_ERR_ENCODE;
}

/* decode decodes case c's wire bytes iters times into a zeroed value, each
 * time followed by xdr_free. */
static int decode(int c, size_t iters)
{
    char *buf = S.buf[c];
    u_int len = (u_int)S.len[c];
    bool_t ok = TRUE;
    XDR x;

    switch (c) {
    case BENCH_CASE_USERS:
        for (size_t i = 0; i < iters && ok; i++) {
            users u;
            memset(&u, 0, sizeof u);
            xdrmem_create(&x, buf, len, XDR_DECODE);
            ok = xdr_users(&x, &u);
            xdr_destroy(&x);
            xdr_free(proc_of(c), (char *)&u);
        }
        break;
    case BENCH_CASE_BLOB:
        for (size_t i = 0; i < iters && ok; i++) {
            blob b;
            memset(&b, 0, sizeof b);
            xdrmem_create(&x, buf, len, XDR_DECODE);
            ok = xdr_blob(&x, &b);
            xdr_destroy(&x);
            xdr_free(proc_of(c), (char *)&b);
        }
        break;
    default:
        for (size_t i = 0; i < iters && ok; i++) {
            ints n;
            memset(&n, 0, sizeof n);
            xdrmem_create(&x, buf, len, XDR_DECODE);
            ok = xdr_ints(&x, &n);
            xdr_destroy(&x);
            xdr_free(proc_of(c), (char *)&n);
        }
        break;
    }
    return ok ? 0 : TIRPC_ERR_DECODE;
}

static const char *describe(int rc)
{
    const char *s = bench_strerror(rc);

    if (s)
        return s;
    return rc == TIRPC_ERR_ENCODE ? "libtirpc: encoding failed" : "libtirpc: decoding failed";
}

const bench_side bench_side_tirpc = {
    .name = "libtirpc",
    .prepare = prepare,
    .release = release,
    .wire = wire,
    .check = check,
    .encode = encode,
    .decode = decode,
    .decode_arena = NULL,
    .strerror = describe,
};
