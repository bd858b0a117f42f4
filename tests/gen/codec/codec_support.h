/*
 * codec_support.h: what the tests of the generated codec share
 * (tests/gen/codec): a table of the types of codec.idl and external.x with
 * their generated functions behind one signature, random valid values and
 * deep equality for each, a builder of hand-written wire bytes, a seeded
 * random generator, buffers that end at a guard page, the checks every test
 * makes, and an account of the allocations the code under test makes.
 *
 * The test executables are linked with --wrap for malloc, calloc and free
 * (see CMakeLists.txt), so every allocation made by the runtime and by the
 * generated code goes through ct_alloc below. That lets a test prove that a
 * hostile length was rejected before anything was allocated, that a failed
 * decode left nothing behind even without the leak checker, and lets it make
 * the k-th allocation fail.
 */
#ifndef PARLEY_TEST_CODEC_SUPPORT_H
#define PARLEY_TEST_CODEC_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "external.h"

/* ---- random numbers ---------------------------------------------------- */

/* ct_rng is a seeded xorshift64* generator: the same seed gives the same
 * values on every host, so a failure can be replayed. */
typedef struct ct_rng {
    uint64_t s;
} ct_rng;

void ct_seed(ct_rng *r, uint64_t seed);
uint32_t ct_u32(ct_rng *r);
uint64_t ct_u64(ct_rng *r);
/* ct_below returns a value in [0, n); n must not be 0. */
uint32_t ct_below(ct_rng *r, uint32_t n);

/* ---- the types -------------------------------------------------------- */

/* codec_type holds one IDL type's generated functions, called through
 * wrappers of one signature each; owns is nonzero when T_free has memory to
 * release. */
typedef struct codec_type {
    const char *name;
    size_t size; /* sizeof(T) */
    int owns;
    int (*encode)(const void *v, void *buf, size_t cap, size_t *len);
    int (*decode)(void *v, const void *buf, size_t len, size_t *used, const parley_limits *lim);
    size_t (*wire_size)(const void *v);
    void (*release)(void *v);
    void (*enc)(parley_enc *e, const void *v);
    void (*dec)(parley_dec *d, void *v);
    /* fill writes a random valid value into v (which it overwrites); free it
     * with release. */
    void (*fill)(ct_rng *r, void *v);
    /* equal compares two values deeply (floats by their bits). */
    int (*equal)(const void *a, const void *b);
    /* copy is the generated T_copy. */
    int (*copy)(void *dst, const void *src, parley_arena *arena);
} codec_type;

extern const codec_type ct_types[];
extern const size_t ct_ntypes;

/* ct_type returns the table entry of the named type; it aborts when there is
 * none (a mistake in a test). */
const codec_type *ct_type(const char *name);

/* The fill and equality functions of the types the tests build by hand. */
void ct_fill_everything(ct_rng *r, everything *v);
int ct_equal_everything(const everything *a, const everything *b);

/* ---- wire bytes ------------------------------------------------------- */

/* ct_wire collects bytes written by hand, word by word as RFC 4506 lays
 * them out. It grows as needed; release it with ct_wire_free. */
typedef struct ct_wire {
    uint8_t *b;
    size_t n, cap;
} ct_wire;

void ct_w32(ct_wire *w, uint32_t v);
void ct_w64(ct_wire *w, uint64_t v);
/* ct_wraw appends n bytes as they are, without padding. */
void ct_wraw(ct_wire *w, const void *p, size_t n);
/* ct_wstr appends a counted string or opaque: length, bytes, zero padding. */
void ct_wstr(ct_wire *w, const void *p, size_t n);
void ct_wire_free(ct_wire *w);

/* ---- allocations ------------------------------------------------------ */

/* ct_alloc counts, while armed, the allocations made through malloc and
 * calloc and the releases made through free: calls is the number of
 * allocation calls, live the blocks allocated and not yet released, bytes
 * the bytes requested. When fail_at is not negative, the allocation call of
 * that index (0 is the first after arming) returns NULL. */
typedef struct ct_alloc_state {
    int armed;
    long fail_at;
    long calls;
    long live;
    size_t bytes;
} ct_alloc_state;

extern ct_alloc_state ct_alloc;

/* ct_arm resets the account and starts it, with the allocation of index
 * fail_at (or none, for -1) failing; ct_disarm pauses it, keeping the
 * counts for the caller to read. */
void ct_arm(long fail_at);
void ct_disarm(void);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void __wrap_free(void *p);

/* ---- helpers ---------------------------------------------------------- */

/* ct_is_zero is nonzero when the n bytes at p are all zero. */
int ct_is_zero(const void *p, size_t n);

/* ct_encode_new encodes v into a new exact-size buffer (malloc) and stores
 * its length in *len; it aborts when the value does not encode (a mistake in
 * a test). */
uint8_t *ct_encode_new(const codec_type *t, const void *v, size_t *len);

/* ---- guarded buffers ---------------------------------------------------- */

/* ct_guard_in returns a copy of the n bytes at src that ends right before an
 * inaccessible page, and ct_guard_out n writable bytes placed the same way.
 * Each returns one reused buffer, valid until its next call; neither is
 * released by the caller. */
const void *ct_guard_in(const void *src, size_t n);
uint8_t *ct_guard_out(size_t n);

/* ---- checks ------------------------------------------------------------ */

/* Known bug, reported: for a type that owns no memory (an enum, a struct or
 * union of plain numbers) the generated T_free does nothing, where
 * docs/idl.md says it zeroes the value; so a failed T_decode of such a type
 * leaves what it read in *v (an invalid enum value, a discriminant without
 * an arm) instead of zeroing it. While this is 1 the checks below test the
 * zeroing only for types that own memory; test_codec_values has the case
 * itself, skipped. Set it to 0 once the generator is fixed. */
#ifndef CT_BUG_PLAIN_FREE_DOES_NOT_ZERO
#define CT_BUG_PLAIN_FREE_DOES_NOT_ZERO 0
#endif

/* Known bug, reported: for a fixed-length opaque whose length is a C
 * constant a .x file does not define (external.x: `typedef opaque
 * ext_key[EXT_N];`), the generated T_size counts no bytes for the data, so
 * ext_key_size is 0 and ext_keys_size too small, while the encoder writes
 * them. While this is 1, ext_keys is left out of ct_types (whose checks all
 * rely on T_size); test_codec_roundtrip has the case itself, skipped. */
#ifndef CT_BUG_EXTERNAL_OPAQUE_SIZE
#define CT_BUG_EXTERNAL_OPAQUE_SIZE 0
#endif

/* The checks below fail the running cmocka test, after printing the type
 * and the bytes, when the codec misbehaves. Every decode reads from a copy
 * of the bytes that ends right before an inaccessible page (guard.h), into
 * a value first filled with 0xa5 bytes so that a field the decoder forgets
 * to write shows, and with the allocations accounted (ct_alloc). */

/* ct_expect_reject checks that the n bytes at buf do not decode: the
 * decoder returns want, both with used == NULL and (unless want is
 * PARLEY_ERR_TRAILING) with a used pointer; nothing it allocated is left;
 * the value is zeroed; and T_free on it, twice, is harmless. */
void ct_expect_reject(const codec_type *t, const void *buf, size_t n, const parley_limits *lim,
                      int want);

/* ct_expect_accept checks that the n bytes at buf decode, filling them
 * exactly; that T_size of the value is n; that it encodes back to the same
 * bytes; and that T_free releases everything (twice is harmless). */
void ct_expect_accept(const codec_type *t, const void *buf, size_t n, const parley_limits *lim);

/* ct_expect_roundtrip checks that v encodes into an output buffer of
 * exactly T_size(v) bytes that ends right before an inaccessible page,
 * that those bytes decode (with ct_expect_accept's checks) to a value equal
 * to v, and that the decoded value encodes to the same bytes. */
void ct_expect_roundtrip(const codec_type *t, const void *v);

/* ct_probe decodes the n bytes at buf, whatever they are, with and
 * without a used pointer. A success must be canonical: T_size is the count
 * of bytes used and the value encodes to exactly those bytes. A failure must
 * leave no allocation and a zeroed value. Returns the error of the decode
 * with a used pointer. */
int ct_probe(const codec_type *t, const void *buf, size_t n, const parley_limits *lim);

#endif /* PARLEY_TEST_CODEC_SUPPORT_H */
