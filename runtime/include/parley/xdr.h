/*
 * parley/xdr.h: the XDR codec primitives (RFC 4506) that generated code calls.
 *
 * Generated encoders and decoders are straight-line code over two cursors:
 * parley_enc writes into a caller's buffer, parley_dec reads from one. Both
 * keep a sticky first error: once an operation fails, the cursor's end is
 * pulled back to its position, so every later operation fails at once and
 * writes or allocates nothing, and the caller checks the error once at the
 * end of a message. A decoder that fails still leaves each value it touched
 * in a state its generated _free() function can release: pointers are valid
 * or NULL and counts match what was allocated.
 *
 * The hot primitives are inline; loops over arrays, strings and allocation
 * live in runtime/src/codec/xdr.c.
 */
#ifndef PARLEY_XDR_H
#define PARLEY_XDR_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parley/arena.h"
#include "parley/error.h"
#include "parley/rpctypes.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define PARLEY_LIKELY(x)   __builtin_expect(!!(x), 1)
#define PARLEY_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define PARLEY_LIKELY(x)   (x)
#define PARLEY_UNLIKELY(x) (x)
#endif

/* Default limits of a decode: what it may allocate in all, and how deep
 * recursive types may nest (each level is one struct or union of a recursive
 * type inside another; the elements of a linked list, a struct whose last
 * field points to the next element, are decoded in a loop and do not count). */
#define PARLEY_DEFAULT_MAX_ALLOC ((size_t)64 << 20)
#define PARLEY_DEFAULT_MAX_DEPTH 128u

/* Decoder flags. By default a decoder rejects non-zero padding bytes
 * (RFC 4506 requires zeros; accepting others would let two different byte
 * strings decode to one value). PARLEY_DEC_LAX_PADDING accepts them. */
#define PARLEY_DEC_LAX_PADDING 0x1u

/* parley_limits bounds one decode. A NULL pointer where a parley_limits is
 * taken means the defaults; a zero max_alloc or max_depth also means the
 * default, so a zero-initialised struct is a valid setting. */
typedef struct parley_limits {
    size_t max_alloc;
    unsigned max_depth;
    unsigned flags;
    /* When set, the decode allocates from this arena instead of malloc: the
     * decoded value is then released by resetting or destroying the arena,
     * and must not be passed to T_free. */
    parley_arena *arena;
} parley_limits;

/* An encoding cursor over [start, end). */
typedef struct parley_enc {
    uint8_t *p;
    uint8_t *end;
    uint8_t *start;
    int err;
} parley_enc;

/* A decoding cursor over [start, end). budget is what may still be allocated;
 * depth is how many more levels of recursion are allowed; err_at is where the
 * first error happened. */
typedef struct parley_dec {
    const uint8_t *p;
    const uint8_t *end;
    const uint8_t *start;
    int err;
    unsigned depth;
    unsigned flags;
    size_t budget;
    const uint8_t *err_at;
    parley_arena *arena;
} parley_dec;

/* ---- byte order ------------------------------------------------------- */

static inline uint32_t parley_ld_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap32(v);
#elif !defined(__BYTE_ORDER__)
    v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
#endif
    return v;
}

static inline uint64_t parley_ld_u64(const uint8_t *p)
{
    return ((uint64_t)parley_ld_u32(p) << 32) | parley_ld_u32(p + 4);
}

static inline void parley_st_u32(uint8_t *p, uint32_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap32(v);
    memcpy(p, &v, 4);
#elif defined(__BYTE_ORDER__)
    memcpy(p, &v, 4);
#else
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
#endif
}

static inline void parley_st_u64(uint8_t *p, uint64_t v)
{
    parley_st_u32(p, (uint32_t)(v >> 32));
    parley_st_u32(p + 4, (uint32_t)v);
}

static inline uint32_t parley_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float parley_bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint64_t parley_f64_bits(double f)
{
    uint64_t u;
    memcpy(&u, &f, 8);
    return u;
}

static inline double parley_bits_f64(uint64_t u)
{
    double f;
    memcpy(&f, &u, 8);
    return f;
}

/* parley_pad4 is the number of zero bytes that follow n bytes of opaque data. */
static inline size_t parley_pad4(size_t n)
{
    return (size_t)(-n & 3u);
}

/* parley_round4 rounds n up to a multiple of four. */
static inline size_t parley_round4(size_t n)
{
    return (n + 3u) & ~(size_t)3u;
}

/* ---- encoder ---------------------------------------------------------- */

/* parley_enc_init points e at cap bytes of buf. A NULL buf is an empty
 * buffer (so a first write fails with PARLEY_ERR_BUFFER_FULL), and with a
 * non-zero cap it records PARLEY_ERR_NULL; no arithmetic is done on a null
 * pointer, which would be undefined even for an offset of zero. */
static inline void parley_enc_init(parley_enc *e, void *buf, size_t cap)
{
    e->start = (uint8_t *)buf;
    e->p = e->start;
    e->end = buf ? e->start + cap : e->start;
    e->err = (buf == NULL && cap != 0) ? PARLEY_ERR_NULL : 0;
}

/* parley_enc_fail records err unless an error is already recorded, and stops
 * every later write. */
static inline void parley_enc_fail(parley_enc *e, int err)
{
    if (!e->err)
        e->err = err;
    e->end = e->p;
}

/* parley_enc_room returns nonzero when n more bytes fit; otherwise it records
 * PARLEY_ERR_BUFFER_FULL and returns 0. */
static inline int parley_enc_room(parley_enc *e, size_t n)
{
    if (PARLEY_LIKELY((size_t)(e->end - e->p) >= n))
        return 1;
    parley_enc_fail(e, PARLEY_ERR_BUFFER_FULL);
    return 0;
}

/* parley_enc_finish returns the first error, or PARLEY_OK and the number of
 * bytes written through *len (which may be NULL). */
static inline int parley_enc_finish(const parley_enc *e, size_t *len)
{
    if (e->err)
        return e->err;
    if (len)
        *len = (size_t)(e->p - e->start);
    return PARLEY_OK;
}

/* The accessors below are how generated code reaches the cursor's fields.
 * A constant, program, version or procedure of an IDL file is a #define in
 * the generated header, which includes this one first: a `const p = 4;`
 * cannot rewrite these bodies, already read, but would rewrite a `_e->p`
 * written in the generated code itself. Being inline, they compile to the
 * field access they wrap. */

/* parley_enc_pos is where the next byte will be written. */
static inline uint8_t *parley_enc_pos(const parley_enc *e)
{
    return e->p;
}

/* parley_enc_set_pos moves the write position to p, which must lie within
 * [position, end]: generated code writes a run of fixed-size values after
 * one parley_enc_room check and then steps past them. */
static inline void parley_enc_set_pos(parley_enc *e, uint8_t *p)
{
    e->p = p;
}

/* parley_enc_error is the first error recorded, or 0 (PARLEY_OK). */
static inline int parley_enc_error(const parley_enc *e)
{
    return e->err;
}

static inline void parley_put_u32(parley_enc *e, uint32_t v)
{
    if (parley_enc_room(e, 4)) {
        parley_st_u32(e->p, v);
        e->p += 4;
    }
}

static inline void parley_put_u64(parley_enc *e, uint64_t v)
{
    if (parley_enc_room(e, 8)) {
        parley_st_u64(e->p, v);
        e->p += 8;
    }
}

/* parley_put_bool encodes b, which must be 0 or 1 (any other value is an
 * error: the peer would reject it). */
static inline void parley_put_bool(parley_enc *e, bool_t b)
{
    if (PARLEY_UNLIKELY((uint32_t)b > 1u)) {
        parley_enc_fail(e, PARLEY_ERR_BAD_BOOL);
        return;
    }
    parley_put_u32(e, (uint32_t)b);
}

/* parley_put_string encodes the NUL-terminated s, at most max bytes long.
 * Errors: PARLEY_ERR_NULL for a NULL s, PARLEY_ERR_TOO_LONG, and
 * PARLEY_ERR_BUFFER_FULL. */
void parley_put_string(parley_enc *e, const char *s, uint32_t max);

/* parley_put_bytes encodes a variable-length opaque of len bytes at v, at
 * most max. v may be NULL only when len is 0. */
void parley_put_bytes(parley_enc *e, const void *v, uint32_t len, uint32_t max);

/* parley_put_opaque encodes n bytes of fixed-length opaque data and its zero
 * padding. */
static inline void parley_put_opaque(parley_enc *e, const void *v, size_t n)
{
    size_t padded = parley_round4(n);
    if (parley_enc_room(e, padded)) {
        memcpy(e->p, v, n);
        memset(e->p + n, 0, padded - n);
        e->p += padded;
    }
}

/* parley_put_u32s encodes n 32-bit values (int, unsigned int, or a type of
 * the same representation) from v; parley_put_u64s does the same for
 * hypers. parley_put_f32s and parley_put_f64s are for float and double.
 * v may be NULL only when n is 0 (else PARLEY_ERR_NULL). */
void parley_put_u32s(parley_enc *e, const void *v, size_t n);
void parley_put_u64s(parley_enc *e, const void *v, size_t n);
void parley_put_f32s(parley_enc *e, const float *v, size_t n);
void parley_put_f64s(parley_enc *e, const double *v, size_t n);

/* parley_put_count encodes the element count of a variable-length array,
 * checking it against the declared maximum; val may be NULL only when the
 * count is zero. Returns nonzero when the elements should follow. */
static inline int parley_put_count(parley_enc *e, const void *val, uint32_t n, uint32_t max)
{
    if (PARLEY_UNLIKELY(n > max)) {
        parley_enc_fail(e, PARLEY_ERR_TOO_LONG);
        return 0;
    }
    if (PARLEY_UNLIKELY(val == NULL && n != 0)) {
        parley_enc_fail(e, PARLEY_ERR_NULL);
        return 0;
    }
    parley_put_u32(e, n);
    return !e->err;
}

/* ---- decoder ---------------------------------------------------------- */

/* parley_dec_init points d at len bytes of buf under lim (NULL: defaults).
 * A NULL buf is an empty message, and with a non-zero len records
 * PARLEY_ERR_NULL. */
void parley_dec_init(parley_dec *d, const void *buf, size_t len, const parley_limits *lim);

/* parley_dec_fail records err at the current position unless an error is
 * already recorded, and makes every later read fail. */
static inline void parley_dec_fail(parley_dec *d, int err)
{
    if (!d->err) {
        d->err = err;
        d->err_at = d->p;
    }
    d->end = d->p;
}

/* parley_dec_need returns nonzero when n more bytes remain; otherwise it
 * records PARLEY_ERR_TRUNCATED and returns 0. */
static inline int parley_dec_need(parley_dec *d, size_t n)
{
    if (PARLEY_LIKELY((size_t)(d->end - d->p) >= n))
        return 1;
    parley_dec_fail(d, PARLEY_ERR_TRUNCATED);
    return 0;
}

/* parley_dec_remaining is the number of unread bytes. */
static inline size_t parley_dec_remaining(const parley_dec *d)
{
    return (size_t)(d->end - d->p);
}

/* parley_dec_pos is where the next byte will be read (see parley_enc_pos
 * for why generated code goes through these accessors). */
static inline const uint8_t *parley_dec_pos(const parley_dec *d)
{
    return d->p;
}

/* parley_dec_set_pos moves the read position to p, which must lie within
 * [position, end]: generated code reads a run of fixed-size values after
 * one parley_dec_need check and then steps past them. */
static inline void parley_dec_set_pos(parley_dec *d, const uint8_t *p)
{
    d->p = p;
}

/* parley_dec_error is the first error recorded, or 0 (PARLEY_OK). */
static inline int parley_dec_error(const parley_dec *d)
{
    return d->err;
}

/* parley_dec_arena is the arena the decode allocates from (see
 * parley_limits), or NULL when it allocates with malloc. */
static inline parley_arena *parley_dec_arena(const parley_dec *d)
{
    return d->arena;
}

/* parley_dec_finish returns the first error, or PARLEY_OK and the number of
 * bytes consumed through *used (which may be NULL). */
static inline int parley_dec_finish(const parley_dec *d, size_t *used)
{
    if (d->err)
        return d->err;
    if (used)
        *used = (size_t)(d->p - d->start);
    return PARLEY_OK;
}

/* The single-value getters return 0 once an error is recorded. */
static inline uint32_t parley_get_u32(parley_dec *d)
{
    uint32_t v = 0;
    if (parley_dec_need(d, 4)) {
        v = parley_ld_u32(d->p);
        d->p += 4;
    }
    return v;
}

static inline uint64_t parley_get_u64(parley_dec *d)
{
    uint64_t v = 0;
    if (parley_dec_need(d, 8)) {
        v = parley_ld_u64(d->p);
        d->p += 8;
    }
    return v;
}

/* parley_get_bool reads a bool; values other than 0 and 1 are
 * PARLEY_ERR_BAD_BOOL. */
static inline bool_t parley_get_bool(parley_dec *d)
{
    uint32_t v = parley_get_u32(d);
    if (PARLEY_UNLIKELY(v > 1u)) {
        d->p -= 4;
        parley_dec_fail(d, PARLEY_ERR_BAD_BOOL);
        return 0;
    }
    return (bool_t)v;
}

/* parley_dec_alloc allocates n zero-filled bytes charged to the decode's
 * budget; it records PARLEY_ERR_LIMIT or PARLEY_ERR_NOMEM and returns NULL on
 * failure, and allocates nothing once an error is recorded. An n of 0 returns
 * NULL and is not an error (an empty array has no storage). The memory is
 * released with free(); being zeroed, an array whose decoding stopped
 * half-way holds NULL pointers past that point and can be released. */
void *parley_dec_alloc(parley_dec *d, size_t n);

/* parley_dec_skip_pad checks that the n (0 to 3) padding bytes at the cursor
 * are zero (unless PARLEY_DEC_LAX_PADDING) and skips them. The caller has
 * already made sure they are there, and that they follow the opaque data
 * they pad (padding always does: data and padding fill whole words). */
static inline void parley_dec_skip_pad(parley_dec *d, size_t n)
{
    if (n) {
        /* the n bytes are the low end of the word that ends with them, which
         * starts inside the opaque data (data and padding fill whole words) */
        uint32_t word = parley_ld_u32(d->p + n - 4);
        if (PARLEY_UNLIKELY((word & ((1u << (8 * n)) - 1u)) != 0) &&
            !(d->flags & PARLEY_DEC_LAX_PADDING)) {
            parley_dec_fail(d, PARLEY_ERR_BAD_PADDING);
            return;
        }
        d->p += n;
    }
}

/* parley_get_string decodes a string of at most max bytes into a new
 * NUL-terminated allocation stored in *out (NULL on failure). Errors:
 * PARLEY_ERR_TOO_LONG, PARLEY_ERR_TRUNCATED, PARLEY_ERR_BAD_STRING (an
 * embedded NUL, which a C string cannot hold), PARLEY_ERR_BAD_PADDING,
 * PARLEY_ERR_LIMIT, PARLEY_ERR_NOMEM. */
void parley_get_string(parley_dec *d, char **out, uint32_t max);

/* parley_get_bytes decodes a variable-length opaque of at most max bytes into
 * a new allocation (*val NULL and *len 0 for an empty one, or on failure). */
void parley_get_bytes(parley_dec *d, char **val, u_int *len, uint32_t max);

/* parley_get_opaque decodes n bytes of fixed-length opaque data and checks
 * its padding; on failure (bad padding included) the n bytes at v are
 * zeroed. */
static inline void parley_get_opaque(parley_dec *d, void *v, size_t n)
{
    size_t padded = parley_round4(n);
    if (parley_dec_need(d, padded)) {
        memcpy(v, d->p, n);
        d->p += n;
        parley_dec_skip_pad(d, padded - n);
        if (PARLEY_UNLIKELY(d->err))
            memset(v, 0, n);
    } else {
        memset(v, 0, n);
    }
}

/* parley_get_count decodes the element count of a variable-length array and
 * checks it before anything is allocated: against max (PARLEY_ERR_TOO_LONG),
 * against the bytes that remain given that each element takes at least
 * min_wire bytes (PARLEY_ERR_TRUNCATED), and against the allocation budget
 * for elements of elem_size bytes (PARLEY_ERR_LIMIT). Returns 0 on failure. */
uint32_t parley_get_count(parley_dec *d, uint32_t max, size_t min_wire, size_t elem_size);

/* parley_get_u32s decodes n 32-bit values into v (n*4 bytes); likewise
 * parley_get_u64s, parley_get_f32s and parley_get_f64s. On failure the
 * values are zeroed. v may be NULL only when n is 0 (else PARLEY_ERR_NULL). */
void parley_get_u32s(parley_dec *d, void *v, size_t n);
void parley_get_u64s(parley_dec *d, void *v, size_t n);
void parley_get_f32s(parley_dec *d, float *v, size_t n);
void parley_get_f64s(parley_dec *d, double *v, size_t n);

/* parley_dec_enter and parley_dec_leave bracket the decoding of a value of a
 * recursive type; parley_dec_enter records PARLEY_ERR_DEPTH and returns 0
 * past the configured depth. */
static inline int parley_dec_enter(parley_dec *d)
{
    if (PARLEY_UNLIKELY(d->depth == 0)) {
        parley_dec_fail(d, PARLEY_ERR_DEPTH);
        return 0;
    }
    d->depth--;
    return 1;
}

static inline void parley_dec_leave(parley_dec *d)
{
    d->depth++;
}

/* ---- deep copies ------------------------------------------------------
 *
 * The generated T_copy(dst, src, arena) copies a value deeply, into an
 * arena or onto the heap (arena NULL), through a copying cursor that keeps
 * a sticky first error as the codec's cursors do: once an allocation has
 * failed, every later step still writes its part of the copy (NULL
 * pointers, zero counts, the plain fields) but allocates nothing, so the
 * copy is always releasable by T_free. Recursive types nest at most
 * PARLEY_COPY_MAX_DEPTH levels (PARLEY_ERR_DEPTH past it); the elements of
 * a linked list are copied in a loop and do not count. */
#define PARLEY_COPY_MAX_DEPTH 1024u

typedef struct parley_cpy {
    parley_arena *arena;
    int err;
    unsigned depth;
} parley_cpy;

/* parley_cpy_init starts a copy into arena (NULL: the heap). */
static inline void parley_cpy_init(parley_cpy *c, parley_arena *arena)
{
    c->arena = arena;
    c->err = PARLEY_OK;
    c->depth = PARLEY_COPY_MAX_DEPTH;
}

/* parley_cpy_fail records err unless an error is recorded already. */
static inline void parley_cpy_fail(parley_cpy *c, int err)
{
    if (c->err == PARLEY_OK)
        c->err = err;
}

/* parley_cpy_error is the first error of the copy, or PARLEY_OK. */
static inline int parley_cpy_error(const parley_cpy *c)
{
    return c->err;
}

/* parley_cpy_arena is the arena the copy allocates from (NULL: the heap). */
static inline parley_arena *parley_cpy_arena(const parley_cpy *c)
{
    return c->arena;
}

/* parley_cpy_alloc returns count * size zero-filled bytes from the copy's
 * arena or the heap (released with free()), or NULL: for no bytes (not an
 * error), after an earlier error, or when memory ran out or the size
 * overflows (PARLEY_ERR_NOMEM recorded). */
static inline void *parley_cpy_alloc(parley_cpy *c, size_t count, size_t size)
{
    if (c->err != PARLEY_OK || count == 0 || size == 0)
        return NULL;
    if (count > SIZE_MAX / size) {
        parley_cpy_fail(c, PARLEY_ERR_NOMEM);
        return NULL;
    }
    void *p;
    if (c->arena) {
        p = parley_arena_alloc(c->arena, count * size);
        if (p)
            memset(p, 0, count * size);
    } else {
        p = calloc(count, size);
    }
    if (PARLEY_UNLIKELY(!p))
        parley_cpy_fail(c, PARLEY_ERR_NOMEM);
    return p;
}

/* parley_cpy_mem copies count elements of size bytes from src into a new
 * allocation (parley_cpy_alloc's), or returns NULL as it does; a NULL src
 * with a count is PARLEY_ERR_NULL. */
static inline void *parley_cpy_mem(parley_cpy *c, const void *src, size_t count, size_t size)
{
    if (count && !src) {
        parley_cpy_fail(c, PARLEY_ERR_NULL);
        return NULL;
    }
    void *p = parley_cpy_alloc(c, count, size);
    if (p)
        memcpy(p, src, count * size);
    return p;
}

/* parley_cpy_string stores in *dst a copy of the string src (NULL for a
 * NULL src, or on failure). */
static inline void parley_cpy_string(parley_cpy *c, char **dst, const char *src)
{
    *dst = src ? (char *)parley_cpy_mem(c, src, strlen(src) + 1, 1) : NULL;
}

/* parley_cpy_bytes stores in *val and *len a copy of the len bytes at src
 * (NULL and 0 when there are none, or on failure). */
static inline void parley_cpy_bytes(parley_cpy *c, char **val, u_int *len, const char *src, u_int n)
{
    *val = (char *)parley_cpy_mem(c, src, n, 1);
    *len = *val ? n : 0;
}

/* parley_cpy_enter and parley_cpy_leave bracket the copy of a value of a
 * recursive type; parley_cpy_enter records PARLEY_ERR_DEPTH and returns 0
 * past PARLEY_COPY_MAX_DEPTH levels. */
static inline int parley_cpy_enter(parley_cpy *c)
{
    if (PARLEY_UNLIKELY(c->depth == 0)) {
        parley_cpy_fail(c, PARLEY_ERR_DEPTH);
        return 0;
    }
    c->depth--;
    return 1;
}

static inline void parley_cpy_leave(parley_cpy *c)
{
    c->depth++;
}

/* ---- sizes ------------------------------------------------------------ */

/* parley_size_string is the encoded size of s (4 for NULL, which will not
 * encode). */
static inline size_t parley_size_string(const char *s)
{
    return 4 + (s ? parley_round4(strlen(s)) : 0);
}

#ifdef __cplusplus
}
#endif
#endif /* PARLEY_XDR_H */
