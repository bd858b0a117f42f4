/*
 * bench_parley.c: the Parley side of the codec benchmark, over the code
 * parleygen generates from bench.x (see bench_codec.h for the contract).
 * Encoding goes through <type>_encode into a preallocated buffer; decoding
 * through <type>_decode, each followed by the <type>_free that releases what
 * it allocated, as a user of a decoded message would, or into an arena
 * (parley_limits.arena) that is reset after each message.
 */
#include "bench.h"
#include "bench_codec.h"

#include <stdlib.h>
#include <string.h>

/* The side's state: its values, built from the shared input, and one
 * buffer per case holding their encoding. It is static because the
 * benchmark has exactly one Parley side. */
static struct {
    const bench_data *in;
    parley_arena *arena;
    parley_limits arena_limits;
    users users;
    blob blob;
    ints ints;
    uint8_t *buf[BENCH_NCASES];
    size_t cap[BENCH_NCASES];
    size_t len[BENCH_NCASES];
} S;

static void release(void)
{
    free(S.users.users_val);
    free(S.ints.ints_val);
    for (int c = 0; c < BENCH_NCASES; c++)
        free(S.buf[c]);
    parley_arena_destroy(S.arena);
    memset(&S, 0, sizeof S);
}

/* encode_one encodes case c once into buf (cap bytes). */
static int encode_one(int c, uint8_t *buf, size_t cap, size_t *len)
{
    switch (c) {
    case BENCH_CASE_USERS:
        return users_encode(&S.users, buf, cap, len);
    case BENCH_CASE_BLOB:
        return blob_encode(&S.blob, buf, cap, len);
    default:
        return ints_encode(&S.ints, buf, cap, len);
    }
}

/* prepare points the side's values at the shared input (names and the
 * blob are borrowed, not copied: encoding only reads them), sizes each
 * buffer with <type>_size, and encodes each case once. The arena has the
 * default block size, which holds a decoded (a) in its first block, kept
 * across resets; the larger values of (b) and (c) get blocks of their own
 * each time. */
static int prepare(const bench_data *in)
{
    int rc;

    memset(&S, 0, sizeof S);
    S.in = in;
    S.users.users_val = calloc(in->nusers, sizeof *S.users.users_val);
    S.ints.ints_val = malloc(in->nints * sizeof *S.ints.ints_val);
    S.arena = parley_arena_create(0);
    S.arena_limits.arena = S.arena;
    if (S.users.users_val == NULL || S.ints.ints_val == NULL || S.arena == NULL)
        goto nomem;
    S.users.users_len = (u_int)in->nusers;
    for (size_t i = 0; i < in->nusers; i++) {
        S.users.users_val[i].name = in->names[i];
        S.users.users_val[i].uid = in->uids[i];
        S.users.users_val[i].login_time = in->times[i];
    }
    S.blob.blob_len = (u_int)in->blob_len;
    S.blob.blob_val = (char *)in->blob;
    S.ints.ints_len = (u_int)in->nints;
    memcpy(S.ints.ints_val, in->ints, in->nints * sizeof *S.ints.ints_val);

    S.cap[BENCH_CASE_USERS] = users_size(&S.users);
    S.cap[BENCH_CASE_BLOB] = blob_size(&S.blob);
    S.cap[BENCH_CASE_INTS] = ints_size(&S.ints);
    for (int c = 0; c < BENCH_NCASES; c++) {
        if ((S.buf[c] = malloc(S.cap[c])) == NULL)
            goto nomem;
        if ((rc = encode_one(c, S.buf[c], S.cap[c], &S.len[c])) != 0) {
            release();
            return rc;
        }
        /* <type>_size must be exact, not merely an upper bound. */
        if (S.len[c] != S.cap[c]) {
            release();
            return BENCH_ERR_MISMATCH;
        }
    }
    return 0;
nomem:
    release();
    return BENCH_ERR_NOMEM;
}

static void wire(int c, const uint8_t **bytes, size_t *len)
{
    *bytes = S.buf[c];
    *len = S.len[c];
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

/* check_with decodes case c's wire bytes under lim, as a whole message
 * (trailing bytes would be an error), and compares the values with the
 * input; it releases them with <type>_free, or by resetting the arena when
 * lim has one. */
static int check_with(int c, const parley_limits *lim)
{
    const bench_data *in = S.in;
    int rc, same = 0, own = lim == NULL || lim->arena == NULL;

    switch (c) {
    case BENCH_CASE_USERS: {
        users u;
        if ((rc = users_decode(&u, S.buf[c], S.len[c], NULL, lim)) != 0)
            return rc;
        same = same_users(&u, in);
        if (own)
            users_free(&u);
        break;
    }
    case BENCH_CASE_BLOB: {
        blob b;
        if ((rc = blob_decode(&b, S.buf[c], S.len[c], NULL, lim)) != 0)
            return rc;
        same = b.blob_len == in->blob_len && memcmp(b.blob_val, in->blob, in->blob_len) == 0;
        if (own)
            blob_free(&b);
        break;
    }
    default: {
        ints n;
        if ((rc = ints_decode(&n, S.buf[c], S.len[c], NULL, lim)) != 0)
            return rc;
        same = n.ints_len == in->nints &&
               memcmp(n.ints_val, in->ints, in->nints * sizeof *n.ints_val) == 0;
        if (own)
            ints_free(&n);
        break;
    }
    }
    if (!own)
        parley_arena_reset(lim->arena);
    return same ? 0 : BENCH_ERR_MISMATCH;
}

/* check decodes case c both with malloc and into the arena. */
static int check(int c)
{
    int rc = check_with(c, NULL);
    return rc ? rc : check_with(c, &S.arena_limits);
}

/* encode encodes case c iters times into its buffer; one loop per case, so
 * that the loop itself costs next to nothing. */
static int encode(int c, size_t iters)
{
    uint8_t *buf = S.buf[c];
    size_t cap = S.cap[c], len;
    int rc = 0;

    switch (c) {
    case BENCH_CASE_USERS:
        for (size_t i = 0; i < iters && rc == 0; i++)
            rc = users_encode(&S.users, buf, cap, &len);
        break;
    case BENCH_CASE_BLOB:
        for (size_t i = 0; i < iters && rc == 0; i++)
            rc = blob_encode(&S.blob, buf, cap, &len);
        break;
    default:
        for (size_t i = 0; i < iters && rc == 0; i++)
            rc = ints_encode(&S.ints, buf, cap, &len);
        break;
    }
    return rc;
}

/* decode decodes case c's wire bytes iters times, each time followed by the
 * matching <type>_free. */
static int decode(int c, size_t iters)
{
    const uint8_t *buf = S.buf[c];
    size_t len = S.len[c];
    int rc = 0;

    switch (c) {
    case BENCH_CASE_USERS:
        for (size_t i = 0; i < iters && rc == 0; i++) {
            users u;
            if ((rc = users_decode(&u, buf, len, NULL, NULL)) == 0)
                users_free(&u);
        }
        break;
    case BENCH_CASE_BLOB:
        for (size_t i = 0; i < iters && rc == 0; i++) {
            blob b;
            if ((rc = blob_decode(&b, buf, len, NULL, NULL)) == 0)
                blob_free(&b);
        }
        break;
    default:
        for (size_t i = 0; i < iters && rc == 0; i++) {
            ints n;
            if ((rc = ints_decode(&n, buf, len, NULL, NULL)) == 0)
                ints_free(&n);
        }
        break;
    }
    return rc;
}

/* decode_arena decodes case c's wire bytes iters times into the arena,
 * each time followed by the reset that releases the value, as a server that
 * decodes each call into an arena does. */
static int decode_arena(int c, size_t iters)
{
    const uint8_t *buf = S.buf[c];
    const parley_limits *lim = &S.arena_limits;
    size_t len = S.len[c];
    int rc = 0;

    switch (c) {
    case BENCH_CASE_USERS:
        for (size_t i = 0; i < iters && rc == 0; i++) {
            users u;
            rc = users_decode(&u, buf, len, NULL, lim);
            parley_arena_reset(S.arena);
        }
        break;
    case BENCH_CASE_BLOB:
        for (size_t i = 0; i < iters && rc == 0; i++) {
            blob b;
            rc = blob_decode(&b, buf, len, NULL, lim);
            parley_arena_reset(S.arena);
        }
        break;
    default:
        for (size_t i = 0; i < iters && rc == 0; i++) {
            ints n;
            rc = ints_decode(&n, buf, len, NULL, lim);
            parley_arena_reset(S.arena);
        }
        break;
    }
    return rc;
}

static const char *describe(int rc)
{
    const char *s = bench_strerror(rc);
    return s ? s : parley_strerror(rc);
}

const bench_side bench_side_parley = {
    .name = "parley",
    .prepare = prepare,
    .release = release,
    .wire = wire,
    .check = check,
    .encode = encode,
    .decode = decode,
    .decode_arena = decode_arena,
    .strerror = describe,
};
