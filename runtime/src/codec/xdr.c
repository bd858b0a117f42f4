/*
 * xdr.c: the XDR codec primitives (RFC 4506) that are too big to inline:
 * counted strings and opaques, array counts, bulk arrays of numbers, and the
 * allocator every decoder goes through.
 *
 * parley/xdr.h holds the two cursors and the one-value primitives; generated
 * encoders and decoders call those and the functions here. Everything below
 * keeps the cursors' rules. The first error sticks, and a call made after it
 * writes and allocates nothing. A decoder checks each length against its
 * declared bound and against the bytes that remain before it allocates, with
 * arithmetic that cannot wrap, so a hostile length of 0xffffffff costs a
 * comparison and nothing more. Every allocation is charged to the decode's
 * budget.
 *
 * Where a length is wrong (too long, truncated, over budget) the error is
 * recorded at the length word itself, so err_at points at the value that
 * could not be decoded; a NUL inside a string and non-zero padding are
 * recorded at the offending byte.
 */
#define _POSIX_C_SOURCE 200809L /* strnlen */

#include "parley/xdr.h"

#include <stdlib.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define XDR_HOST_LITTLE 1
#define XDR_HOST_BIG    0
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define XDR_HOST_LITTLE 0
#define XDR_HOST_BIG    1
#else
#define XDR_HOST_LITTLE 0
#define XDR_HOST_BIG    0
#endif

#if XDR_HOST_LITTLE && defined(__SSE2__)
#include <emmintrin.h>
#define XDR_SSE2 1
#else
#define XDR_SSE2 0
#endif

/* Floats and doubles travel as the bits of IEEE 754 single and double
 * precision values, in the byte order of integers of the same size. */
_Static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE 754 float and double");
_Static_assert(sizeof(u_int) >= 4, "u_int holds an XDR length");

/* ---- byte order of arrays -------------------------------------------- */

/*
 * The bulk array functions are the codec's hot paths, and on a little-endian
 * host they are nothing but a byte swap of each word. clang vectorizes a plain
 * loop of __builtin_bswap32 at -O2, but gcc 12 cannot vectorize a byte swap
 * on baseline x86-64 at any -O level: it wants SSSE3's pshufb, which x86-64
 * does not guarantee, and it turns hand-written shift-and-mask swaps back
 * into bswap before it tries. An optimize("O3") attribute or a per-file -O3
 * would therefore change nothing, so on x86 the swap is spelled with SSE2
 * intrinsics, which every x86-64 has (no run-time dispatch): swap the 16-bit
 * halves of each lane with pshuflw/pshufhw, then the bytes of each half with
 * two shifts. Built with gcc or clang at -O2, that is about 0.1 ns a word on
 * a current x86-64, against about 0.3 ns for the scalar loop and 2.5 to 3 ns
 * for libtirpc's xdr_int. Other little-endian targets take the
 * plain loop and leave vectorizing to the compiler; a big-endian host copies
 * the words as they are.
 */

#if XDR_SSE2
/* bswap32x4 reverses the bytes of each 32-bit lane of v. */
static inline __m128i bswap32x4(__m128i v)
{
    v = _mm_shufflelo_epi16(v, 0xb1);
    v = _mm_shufflehi_epi16(v, 0xb1);
    return _mm_or_si128(_mm_slli_epi16(v, 8), _mm_srli_epi16(v, 8));
}

/* bswap64x2 reverses the bytes of each 64-bit lane of v. */
static inline __m128i bswap64x2(__m128i v)
{
    v = _mm_shufflelo_epi16(v, 0x1b);
    v = _mm_shufflehi_epi16(v, 0x1b);
    return _mm_or_si128(_mm_slli_epi16(v, 8), _mm_srli_epi16(v, 8));
}
#endif

#if XDR_HOST_LITTLE
/* swap32s copies n 32-bit words from src to dst, reversing the bytes of each.
 * A byte reversal is its own inverse, so on a little-endian host it both
 * encodes and decodes. Neither pointer need be aligned. */
static void swap32s(uint8_t *restrict dst, const uint8_t *restrict src, size_t n)
{
    size_t i = 0;
#if XDR_SSE2
    for (; i + 4 <= n; i += 4) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(src + 4 * i));
        _mm_storeu_si128((__m128i *)(void *)(dst + 4 * i), bswap32x4(v));
    }
#endif
    for (; i < n; i++) {
        uint32_t x;
        memcpy(&x, src + 4 * i, 4);
        x = __builtin_bswap32(x);
        memcpy(dst + 4 * i, &x, 4);
    }
}

/* swap64s is swap32s for 64-bit words. */
static void swap64s(uint8_t *restrict dst, const uint8_t *restrict src, size_t n)
{
    size_t i = 0;
#if XDR_SSE2
    for (; i + 2 <= n; i += 2) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(src + 8 * i));
        _mm_storeu_si128((__m128i *)(void *)(dst + 8 * i), bswap64x2(v));
    }
#endif
    for (; i < n; i++) {
        uint64_t x;
        memcpy(&x, src + 8 * i, 8);
        x = __builtin_bswap64(x);
        memcpy(dst + 8 * i, &x, 8);
    }
}
#endif

/* wire_from_host32 writes n 32-bit host values from src to dst in XDR
 * (big-endian) order. */
static void wire_from_host32(uint8_t *restrict dst, const uint8_t *restrict src, size_t n)
{
#if XDR_HOST_LITTLE
    swap32s(dst, src, n);
#elif XDR_HOST_BIG
    memcpy(dst, src, n * 4);
#else
    for (size_t i = 0; i < n; i++) {
        uint32_t x;
        memcpy(&x, src + 4 * i, 4);
        parley_st_u32(dst + 4 * i, x);
    }
#endif
}

/* host_from_wire32 reads n 32-bit XDR values from src into host values at
 * dst. */
static void host_from_wire32(uint8_t *restrict dst, const uint8_t *restrict src, size_t n)
{
#if XDR_HOST_LITTLE
    swap32s(dst, src, n);
#elif XDR_HOST_BIG
    memcpy(dst, src, n * 4);
#else
    for (size_t i = 0; i < n; i++) {
        uint32_t x = parley_ld_u32(src + 4 * i);
        memcpy(dst + 4 * i, &x, 4);
    }
#endif
}

/* wire_from_host64 is wire_from_host32 for 64-bit values. */
static void wire_from_host64(uint8_t *restrict dst, const uint8_t *restrict src, size_t n)
{
#if XDR_HOST_LITTLE
    swap64s(dst, src, n);
#elif XDR_HOST_BIG
    memcpy(dst, src, n * 8);
#else
    for (size_t i = 0; i < n; i++) {
        uint64_t x;
        memcpy(&x, src + 8 * i, 8);
        parley_st_u64(dst + 8 * i, x);
    }
#endif
}

/* host_from_wire64 is host_from_wire32 for 64-bit values. */
static void host_from_wire64(uint8_t *restrict dst, const uint8_t *restrict src, size_t n)
{
#if XDR_HOST_LITTLE
    swap64s(dst, src, n);
#elif XDR_HOST_BIG
    memcpy(dst, src, n * 8);
#else
    for (size_t i = 0; i < n; i++) {
        uint64_t x = parley_ld_u64(src + 8 * i);
        memcpy(dst + 8 * i, &x, 8);
    }
#endif
}

/* ---- encoder ---------------------------------------------------------- */

/* enc_counted writes the wire form shared by strings and variable-length
 * opaques: a length word, the len bytes at v, and zero padding to a multiple
 * of four. The caller has checked len against the declared maximum. Records
 * PARLEY_ERR_BUFFER_FULL, and writes nothing, when the whole does not fit. */
static void enc_counted(parley_enc *e, const void *v, uint32_t len)
{
    size_t pad = parley_pad4(len);
    size_t room = (size_t)(e->end - e->p);

    if (room < 4 || room - 4 < len || room - 4 - len < pad) {
        parley_enc_fail(e, PARLEY_ERR_BUFFER_FULL);
        return;
    }
    parley_st_u32(e->p, len);
    if (len) {
        /* zero the last word first and copy the data over it: that writes the
         * padding without a loop or a call for 0 to 3 bytes */
        uint32_t zero = 0;
        memcpy(e->p + len + pad, &zero, 4);
        memcpy(e->p + 4, v, len);
    }
    e->p += 4 + (size_t)len + pad;
}

/* parley_put_string encodes the NUL-terminated s, which must be at most max
 * bytes long. Errors: PARLEY_ERR_NULL, PARLEY_ERR_TOO_LONG,
 * PARLEY_ERR_BUFFER_FULL. The scan for the terminator stops one byte past
 * max, so an overlong string is rejected without reading all of it. s stays
 * the caller's. */
void parley_put_string(parley_enc *e, const char *s, uint32_t max)
{
    size_t scan, len;

    if (e->err)
        return;
    if (s == NULL) {
        parley_enc_fail(e, PARLEY_ERR_NULL);
        return;
    }
    /* max + 1 wraps to 0 where size_t has 32 bits and max is 0xffffffff;
     * every string is shorter than SIZE_MAX there anyway. */
    scan = (size_t)max + 1;
    if (scan == 0)
        scan = SIZE_MAX;
    len = strnlen(s, scan);
    if (len > max) {
        parley_enc_fail(e, PARLEY_ERR_TOO_LONG);
        return;
    }
    enc_counted(e, s, (uint32_t)len);
}

/* parley_put_bytes encodes len bytes at v as a variable-length opaque of at
 * most max bytes. Errors: PARLEY_ERR_TOO_LONG, PARLEY_ERR_NULL (v NULL with a
 * non-zero len), PARLEY_ERR_BUFFER_FULL. v stays the caller's. */
void parley_put_bytes(parley_enc *e, const void *v, uint32_t len, uint32_t max)
{
    if (e->err)
        return;
    if (len > max) {
        parley_enc_fail(e, PARLEY_ERR_TOO_LONG);
        return;
    }
    if (v == NULL && len != 0) {
        parley_enc_fail(e, PARLEY_ERR_NULL);
        return;
    }
    enc_counted(e, v, len);
}

/* enc_take reserves the bytes of n values of size bytes each, to be encoded
 * from v, and returns where they go; it returns NULL when there is nothing to
 * write: n is 0, an error is recorded, or it records one now
 * (PARLEY_ERR_NULL for a NULL v, PARLEY_ERR_BUFFER_FULL). The division keeps
 * n * size from wrapping. */
static uint8_t *enc_take(parley_enc *e, const void *v, size_t n, size_t size)
{
    uint8_t *dst;

    if (n == 0 || e->err)
        return NULL;
    if (v == NULL) {
        parley_enc_fail(e, PARLEY_ERR_NULL);
        return NULL;
    }
    if (n > (size_t)(e->end - e->p) / size) {
        parley_enc_fail(e, PARLEY_ERR_BUFFER_FULL);
        return NULL;
    }
    dst = e->p;
    e->p += n * size;
    return dst;
}

/* parley_put_u32s encodes the n 32-bit values at v (int, unsigned int, an
 * enum, or anything else of that representation). Errors: PARLEY_ERR_NULL,
 * PARLEY_ERR_BUFFER_FULL; nothing is written on failure. */
void parley_put_u32s(parley_enc *e, const void *v, size_t n)
{
    uint8_t *dst = enc_take(e, v, n, 4);
    if (dst)
        wire_from_host32(dst, v, n);
}

/* parley_put_u64s encodes the n 64-bit values (hyper, unsigned hyper) at v;
 * errors as parley_put_u32s. */
void parley_put_u64s(parley_enc *e, const void *v, size_t n)
{
    uint8_t *dst = enc_take(e, v, n, 8);
    if (dst)
        wire_from_host64(dst, v, n);
}

/* parley_put_f32s encodes the n floats at v; errors as parley_put_u32s. */
void parley_put_f32s(parley_enc *e, const float *v, size_t n)
{
    uint8_t *dst = enc_take(e, v, n, 4);
    if (dst)
        wire_from_host32(dst, (const uint8_t *)v, n);
}

/* parley_put_f64s encodes the n doubles at v; errors as parley_put_u32s. */
void parley_put_f64s(parley_enc *e, const double *v, size_t n)
{
    uint8_t *dst = enc_take(e, v, n, 8);
    if (dst)
        wire_from_host64(dst, (const uint8_t *)v, n);
}

/* ---- decoder ---------------------------------------------------------- */

/* parley_dec_init points d at the len bytes of buf, which stay the caller's
 * and must outlive the decode. lim may be NULL, and its zero fields mean the
 * defaults. A NULL buf with a non-zero len records PARLEY_ERR_NULL at once; a
 * NULL buf with len 0 is an empty message (the cursor then points at a static
 * byte, so no arithmetic is ever done on a null pointer). */
void parley_dec_init(parley_dec *d, const void *buf, size_t len, const parley_limits *lim)
{
    static const uint8_t empty[1];
    const uint8_t *b = buf ? (const uint8_t *)buf : empty;

    d->start = b;
    d->p = b;
    d->end = buf ? b + len : b;
    d->err = PARLEY_OK;
    d->err_at = NULL;
    d->flags = lim ? lim->flags : 0;
    d->depth = lim && lim->max_depth ? lim->max_depth : PARLEY_DEFAULT_MAX_DEPTH;
    d->budget = lim && lim->max_alloc ? lim->max_alloc : PARLEY_DEFAULT_MAX_ALLOC;
    d->arena = lim ? lim->arena : NULL;
    if (buf == NULL && len != 0)
        parley_dec_fail(d, PARLEY_ERR_NULL);
}

/* dec_fail_at records err as found at position at, which lies between the
 * start of the buffer and its end, and moves the cursor there. */
#if defined(__GNUC__) || defined(__clang__)
#define COLD __attribute__((cold, noinline))
#else
#define COLD
#endif

/* dec_fail_at records err at position at. It is kept out of line: inlined,
 * gcc merges its two pointer stores into one 16-byte store and then loads
 * d->p and d->end as one 16-byte value on the hot path too, right after an
 * 8-byte store to d->p, which the CPU cannot forward (a stall per string). */
static COLD void dec_fail_at(parley_dec *d, const uint8_t *at, int err)
{
    d->p = at;
    parley_dec_fail(d, err);
}

/* dec_charge allocates n bytes (n > 0) and charges them to d's budget; the
 * memory is zero-filled when zero is set. Nothing is allocated or charged
 * once an error is recorded. Errors: PARLEY_ERR_LIMIT, PARLEY_ERR_NOMEM. */
static void *dec_charge(parley_dec *d, size_t n, int zero)
{
    void *m;

    if (d->err)
        return NULL;
    if (n > d->budget) {
        parley_dec_fail(d, PARLEY_ERR_LIMIT);
        return NULL;
    }
    if (d->arena) {
        m = parley_arena_alloc(d->arena, n);
        if (m && zero)
            memset(m, 0, n);
    } else {
        m = zero ? calloc(1, n) : malloc(n);
    }
    if (m == NULL) {
        parley_dec_fail(d, PARLEY_ERR_NOMEM);
        return NULL;
    }
    d->budget -= n;
    return m;
}

/* parley_dec_alloc allocates n zero-filled bytes charged to d's budget, which
 * the caller owns and releases with free(). Zero-filling is what lets a
 * generated _free() release an array whose decoding stopped half-way: the
 * elements never reached hold NULL pointers. An n of 0 returns NULL and is
 * not an error (an empty array has no storage, as in rpcgen). Errors:
 * PARLEY_ERR_LIMIT, PARLEY_ERR_NOMEM. */
void *parley_dec_alloc(parley_dec *d, size_t n)
{
    if (n == 0)
        return NULL;
    return dec_charge(d, n, 1);
}

/* pad_ok tells whether the n (< 4) padding bytes at pad are acceptable:
 * zeros, or anything under PARLEY_DEC_LAX_PADDING. */
/* pad_ok checks the n (0 to 3) padding bytes at pad. They are the last n
 * bytes of the 4-byte word that ends where they end, which lies inside the
 * buffer (the length word comes before them), so one aligned-size load and a
 * mask do it; copying 0 to 3 bytes into a word and reading it back would
 * stall on store forwarding. */
static int pad_ok(const parley_dec *d, const uint8_t *pad, size_t n)
{
    if (n == 0 || (d->flags & PARLEY_DEC_LAX_PADDING))
        return 1;
    uint32_t word = parley_ld_u32(pad + n - 4);
    return (word & ((1u << (8 * n)) - 1u)) == 0;
}

/* dec_counted reads the length word of a string or variable-length opaque
 * and checks it and its padding: against max (PARLEY_ERR_TOO_LONG), against
 * the bytes that remain (PARLEY_ERR_TRUNCATED), and the padding's bytes
 * (PARLEY_ERR_BAD_PADDING). On success it returns nonzero with the length in
 * *len and the cursor still before the length word, so that an allocation
 * failure is recorded there too; the data starts 4 bytes on. */
static int dec_counted(parley_dec *d, uint32_t max, uint32_t *len)
{
    const uint8_t *at = d->p;
    uint32_t n;
    size_t pad, left;

    n = parley_get_u32(d);
    if (d->err)
        return 0;
    if (n > max) {
        dec_fail_at(d, at, PARLEY_ERR_TOO_LONG);
        return 0;
    }
    pad = parley_pad4(n);
    left = parley_dec_remaining(d);
    if (n > left || pad > left - n) {
        dec_fail_at(d, at, PARLEY_ERR_TRUNCATED);
        return 0;
    }
    if (!pad_ok(d, d->p + n, pad)) {
        dec_fail_at(d, d->p + n, PARLEY_ERR_BAD_PADDING);
        return 0;
    }
    d->p = at;
    *len = n;
    return 1;
}

/* parley_get_string decodes a string of at most max bytes into a new
 * NUL-terminated allocation that the caller owns (free()); an empty string
 * is a one-byte "". Everything is checked before anything is allocated, so
 * on failure *out is NULL and nothing was allocated. Errors:
 * PARLEY_ERR_TOO_LONG, PARLEY_ERR_TRUNCATED, PARLEY_ERR_BAD_STRING (an
 * embedded NUL), PARLEY_ERR_BAD_PADDING, PARLEY_ERR_LIMIT, PARLEY_ERR_NOMEM. */
void parley_get_string(parley_dec *d, char **out, uint32_t max)
{
    uint32_t len;
    const uint8_t *data, *nul;
    char *s;

    *out = NULL;
    if (!dec_counted(d, max, &len))
        return;
    data = d->p + 4;
    nul = memchr(data, 0, len);
    if (nul != NULL) {
        dec_fail_at(d, nul, PARLEY_ERR_BAD_STRING);
        return;
    }
    /* len fits in the buffer, so len + 1 cannot wrap. */
    s = dec_charge(d, (size_t)len + 1, 0);
    if (s == NULL)
        return;
    memcpy(s, data, len);
    s[len] = '\0';
    d->p = data + len + parley_pad4(len);
    *out = s;
}

/* parley_get_bytes decodes a variable-length opaque of at most max bytes
 * into a new allocation that the caller owns (free()), its length in *len.
 * An empty opaque allocates nothing: *val is NULL and *len 0, as after a
 * failure, which allocates nothing either. Errors: PARLEY_ERR_TOO_LONG,
 * PARLEY_ERR_TRUNCATED, PARLEY_ERR_BAD_PADDING, PARLEY_ERR_LIMIT,
 * PARLEY_ERR_NOMEM. */
void parley_get_bytes(parley_dec *d, char **val, u_int *len, uint32_t max)
{
    uint32_t n;
    const uint8_t *data;
    char *b = NULL;

    *val = NULL;
    *len = 0;
    if (!dec_counted(d, max, &n))
        return;
    data = d->p + 4;
    if (n != 0) {
        b = dec_charge(d, n, 0);
        if (b == NULL)
            return;
        memcpy(b, data, n);
    }
    d->p = data + n + parley_pad4(n);
    *val = b;
    *len = n;
}

/* parley_get_count decodes the element count of a variable-length array and
 * vets it before the caller allocates: n <= max (else PARLEY_ERR_TOO_LONG),
 * n * min_wire <= the bytes that remain (else PARLEY_ERR_TRUNCATED), and
 * n * elem_size <= the budget (else PARLEY_ERR_LIMIT). The budget is only
 * checked here; parley_dec_alloc charges it. The products are compared by
 * division, so they cannot wrap; a zero min_wire or elem_size skips its
 * check. Returns the count, or 0 on failure. */
uint32_t parley_get_count(parley_dec *d, uint32_t max, size_t min_wire, size_t elem_size)
{
    const uint8_t *at = d->p;
    uint32_t n = parley_get_u32(d);

    if (d->err)
        return 0;
    if (n > max) {
        dec_fail_at(d, at, PARLEY_ERR_TOO_LONG);
        return 0;
    }
    if (min_wire != 0 && n > parley_dec_remaining(d) / min_wire) {
        dec_fail_at(d, at, PARLEY_ERR_TRUNCATED);
        return 0;
    }
    if (elem_size != 0 && n > d->budget / elem_size) {
        dec_fail_at(d, at, PARLEY_ERR_LIMIT);
        return 0;
    }
    return n;
}

/* dec_take consumes the bytes of n values of size bytes each, to be decoded
 * into v, and returns where they start; it returns NULL when there is
 * nothing to read: n is 0, or it records an error (PARLEY_ERR_NULL for a NULL
 * v, PARLEY_ERR_TRUNCATED, which a recorded error also causes since it
 * leaves nothing to read). On a truncation the n values at v are zeroed. */
static const uint8_t *dec_take(parley_dec *d, void *v, size_t n, size_t size)
{
    const uint8_t *src;

    if (n == 0)
        return NULL;
    if (v == NULL) {
        parley_dec_fail(d, PARLEY_ERR_NULL);
        return NULL;
    }
    if (n > parley_dec_remaining(d) / size) {
        parley_dec_fail(d, PARLEY_ERR_TRUNCATED);
        /* v holds n * size bytes, so the product cannot wrap unless the
         * caller lied about n; then there is nothing sound to zero. */
        if (n <= SIZE_MAX / size)
            memset(v, 0, n * size);
        return NULL;
    }
    src = d->p;
    d->p += n * size;
    return src;
}

/* parley_get_u32s decodes n 32-bit values into v, which holds n * 4 bytes
 * and stays the caller's. Errors: PARLEY_ERR_NULL, PARLEY_ERR_TRUNCATED; on
 * failure the values are zeroed. */
void parley_get_u32s(parley_dec *d, void *v, size_t n)
{
    const uint8_t *src = dec_take(d, v, n, 4);
    if (src)
        host_from_wire32(v, src, n);
}

/* parley_get_u64s decodes n 64-bit values into v; as parley_get_u32s. */
void parley_get_u64s(parley_dec *d, void *v, size_t n)
{
    const uint8_t *src = dec_take(d, v, n, 8);
    if (src)
        host_from_wire64(v, src, n);
}

/* parley_get_f32s decodes n floats into v; as parley_get_u32s. */
void parley_get_f32s(parley_dec *d, float *v, size_t n)
{
    const uint8_t *src = dec_take(d, v, n, 4);
    if (src)
        host_from_wire32((uint8_t *)v, src, n);
}

/* parley_get_f64s decodes n doubles into v; as parley_get_u32s. */
void parley_get_f64s(parley_dec *d, double *v, size_t n)
{
    const uint8_t *src = dec_take(d, v, n, 8);
    if (src)
        host_from_wire64((uint8_t *)v, src, n);
}
