/*
 * bench_codec.h: what the codec benchmark's main program (bench_codec.c)
 * shares with its two sides, Parley (bench_parley.c) and libtirpc
 * (bench_tirpc.c).
 *
 * parleygen and rpcgen give the types of bench.x the same names, so each
 * side lives in its own translation unit and sees only its own generator's
 * header. What crosses between them is plain C: the input values in
 * bench_data, the case numbers, and a table of functions per side.
 */
#ifndef BENCH_CODEC_H
#define BENCH_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_NUSERS     100
#define BENCH_NAME_MIN   6
#define BENCH_NAME_MAX   24
#define BENCH_BLOB_BYTES ((size_t)1 << 20)
#define BENCH_NINTS      100000

/* The values to encode, built once by main and given to both sides, so
 * that they encode identical inputs. */
typedef struct bench_data {
    size_t nusers;
    char **names; /* NUL-terminated, BENCH_NAME_MIN..BENCH_NAME_MAX bytes */
    uint32_t *uids;
    int64_t *times;
    size_t blob_len;
    uint8_t *blob;
    size_t nints;
    int32_t *ints;
} bench_data;

/* The cases: (a) users, (b) blob, (c) ints. */
enum bench_case { BENCH_CASE_USERS, BENCH_CASE_BLOB, BENCH_CASE_INTS, BENCH_NCASES };

/* bench_side is one codec. Every function returns 0, or nonzero on a
 * failure that strerror() describes. The side keeps its state (its own
 * values and one encode buffer per case) between prepare() and release().
 *
 * prepare builds the side's values from in (which must outlive the side)
 * and encodes each once. wire gives that encoding of case c: the bytes stay
 * the side's. check decodes the wire bytes of case c once (each way the side
 * can) and compares the result with in. encode performs iters encodes of
 * case c into the side's buffer; decode performs iters decodes of case c's
 * wire bytes, each followed by the free that releases what it allocated.
 * decode_arena, NULL where the codec has no such thing, does the same
 * decoding into an arena, reset after each decode. */
typedef struct bench_side {
    const char *name;
    int (*prepare)(const bench_data *in);
    void (*release)(void);
    void (*wire)(int c, const uint8_t **bytes, size_t *len);
    int (*check)(int c);
    int (*encode)(int c, size_t iters);
    int (*decode)(int c, size_t iters);
    int (*decode_arena)(int c, size_t iters);
    const char *(*strerror)(int rc);
} bench_side;

/* Failures that are the benchmark's own rather than a codec's. */
#define BENCH_ERR_MISMATCH (-1) /* a decoded value differs from the input */
#define BENCH_ERR_NOMEM    (-2)

/* bench_strerror describes the two failures above (NULL for other values). */
const char *bench_strerror(int rc);

extern const bench_side bench_side_parley;
extern const bench_side bench_side_tirpc;

#endif /* BENCH_CODEC_H */
