/*
 * diff.h: the two sides of the differential test against rpcgen and
 * libtirpc (test_diff_rpcgen.c), and what they share.
 *
 * Parley's generated alltypes.h and rpcgen's alltypes.h define the same type
 * names, so no translation unit can include both. Each side therefore lives
 * in translation units of its own and is reached through void pointers and
 * byte buffers: diff_parley_* functions see Parley's header, diff_rpcgen_*
 * functions see rpcgen's. fill.c and equal.c are compiled once for each side
 * (with DIFF_PARLEY or DIFF_RPCGEN defined, and the matching header on the
 * include path); DIFF_SIDE() gives their functions the side's prefix. Since
 * the two headers promise the same layout, the same source builds the same
 * value on both sides, and either side's functions may be handed a value
 * the other side built.
 */
#ifndef PARLEY_TEST_DIFF_H
#define PARLEY_TEST_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "parts.h"

#if defined(DIFF_PARLEY)
#define DIFF_SIDE(name) diff_parley_##name
#elif defined(DIFF_RPCGEN)
#define DIFF_SIDE(name) diff_rpcgen_##name
#endif

/* How fill() chooses sizes and values. */
typedef enum diff_profile {
    DIFF_RANDOM, /* sizes anywhere within their bounds, values mostly random */
    DIFF_EMPTY,  /* empty arrays and strings, NULL optionals, zeros */
    DIFF_FULL    /* arrays and strings at their bounds, extreme values */
} diff_profile;

/* diff_fill_opts says which value fill() builds; equal options build equal
 * values on either side. arm < 0 picks every union arm at random; arm = k
 * picks arm k (modulo the number of arms) of every union, where the arms are
 * counted by case label and the default arm comes last. list_len > 0 makes
 * the two top-level linked lists exactly that long. negative_longs makes the
 * long of small_ints negative, which libtirpc encodes right but decodes
 * wrong (see fill.c). */
typedef struct diff_fill_opts {
    uint64_t seed;
    diff_profile profile;
    int arm;
    unsigned list_len;
    int negative_longs;
} diff_fill_opts;

/* The most arms (case labels plus default) of any union of alltypes.x. */
#define DIFF_MAX_ARMS 8

/* The number of ways diff_*_overflow() can push a value over one of its
 * bounds. */
#define DIFF_OVERFLOWS 16

/* ---- one side --------------------------------------------------------- */

/* Each side knows the types of parts.h by their number k (DIFF_PART_*).
 *
 * new(k) returns a zeroed value of type k on the heap (and aborts when out
 * of memory); release(k, v) frees what v owns with that side's own function
 * (<type>_free() or xdr_free()) and then v itself; release(k, NULL) is a
 * no-op. part(top, k) points to the value of type k inside the
 * alltypes_top top, or is NULL when top holds none.
 *
 * encode() returns 0 and the length through *len, or nonzero when the
 * encoder refused the value (for Parley, its parley_err). decode() decodes
 * the len bytes at buf into a zeroed value and returns 0 or nonzero; a NULL
 * used makes trailing bytes an error, otherwise *used receives the number of
 * bytes consumed. On failure the value is still releasable. libtirpc takes
 * neither its value nor its buffer as const, hence the rpcgen side's
 * signatures.
 *
 * fill() builds into a zeroed alltypes_top the value that o describes;
 * everything it allocates comes from malloc(), as both sides' decoders'
 * allocations do.
 *
 * equal() returns 1 when the alltypes_top values a and b are the same, and
 * otherwise 0 with the path of the first difference written to why (n
 * bytes).
 *
 * overflow() pushes one length or count of an alltypes_top that fill()
 * built with DIFF_FULL and arm 7 one past its bound (which = 0 ..
 * DIFF_OVERFLOWS - 1), so that its encoding must fail; it returns the name
 * of the field (NULL past the last), and leaves the value releasable. */
void *diff_parley_new(int k);
void diff_parley_release(int k, void *v);
void *diff_parley_part(void *top, int k);
int diff_parley_encode(int k, const void *v, void *buf, size_t cap, size_t *len);
int diff_parley_decode(int k, void *v, const void *buf, size_t len, size_t *used);
/* diff_parley_size is <type>_size(), the exact encoded size. */
size_t diff_parley_size(int k, const void *v);
/* diff_parley_copy is <type>_copy(): src copied deeply into dst, in arena
 * or (NULL) on the heap. */
struct parley_arena;
int diff_parley_copy(int k, void *dst, const void *src, struct parley_arena *arena);
/* diff_parley_sizeof is the size of the C type k. */
size_t diff_parley_sizeof(int k);
void diff_parley_fill(void *top, const diff_fill_opts *o);
int diff_parley_equal(const void *a, const void *b, char *why, size_t n);
const char *diff_parley_overflow(void *top, int which);

void *diff_rpcgen_new(int k);
void diff_rpcgen_release(int k, void *v);
void *diff_rpcgen_part(void *top, int k);
int diff_rpcgen_encode(int k, void *v, void *buf, size_t cap, size_t *len);
int diff_rpcgen_decode(int k, void *v, void *buf, size_t len, size_t *used);
void diff_rpcgen_fill(void *top, const diff_fill_opts *o);
int diff_rpcgen_equal(const void *a, const void *b, char *why, size_t n);
const char *diff_rpcgen_overflow(void *top, int which);

#endif /* PARLEY_TEST_DIFF_H */
