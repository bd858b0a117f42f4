/*
 * test_xdr.c: unit tests of the XDR codec primitives (parley/xdr.h,
 * runtime/src/codec/xdr.c) and of the error texts (runtime/src/codec/error.c).
 *
 * Encodings are compared byte for byte with strings written by hand from
 * RFC 4506: big-endian words, four-byte alignment, zero padding. Every error
 * the codec can return is provoked, including lengths of 0xffffffff and
 * counts whose products would wrap a size_t. Decoders read their input from
 * buffers that end right before an inaccessible page (tests/support/guard.h),
 * cut at every possible point, so that any over-read crashes the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "parley/xdr.h"

/* Under AddressSanitizer a huge malloc() aborts the program instead of
 * returning NULL; the NOMEM test needs the NULL. Without the sanitizer this
 * function is never called. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

/* ---- helpers ---------------------------------------------------------- */

/* A value that decoders must overwrite with NULL on failure. */
static char sentinel[] = "sentinel";

/* expect_encoding checks that e finished without error and wrote exactly
 * the n bytes at want. */
static void expect_encoding(const parley_enc *e, const uint8_t *want, size_t n)
{
    size_t len = 0;
    assert_int_equal(parley_enc_finish(e, &len), PARLEY_OK);
    assert_int_equal(len, n);
    assert_memory_equal(e->start, want, n);
}

/* guarded_dec points d at a guarded copy of the n bytes at bytes, which the
 * caller releases with pt_guard_free() on the returned pointer. */
static const void *guarded_dec(parley_dec *d, const void *bytes, size_t n, const parley_limits *lim)
{
    const void *copy = pt_guard_copy(bytes, n);
    assert_non_null(copy);
    parley_dec_init(d, copy, n, lim);
    return copy;
}

/* A small deterministic generator for the garbage tests. */
static uint32_t rng_state = 0x12345678u;

static uint32_t rng(void)
{
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return x;
}

/* ---- error texts ------------------------------------------------------ */

static void test_errname_names_every_error_value(void **state)
{
    static const struct {
        int err;
        const char *name;
    } names[] = {
        {PARLEY_OK, "PARLEY_OK"},
        {PARLEY_ERR_TRUNCATED, "PARLEY_ERR_TRUNCATED"},
        {PARLEY_ERR_TOO_LONG, "PARLEY_ERR_TOO_LONG"},
        {PARLEY_ERR_LIMIT, "PARLEY_ERR_LIMIT"},
        {PARLEY_ERR_DEPTH, "PARLEY_ERR_DEPTH"},
        {PARLEY_ERR_BAD_ENUM, "PARLEY_ERR_BAD_ENUM"},
        {PARLEY_ERR_BAD_BOOL, "PARLEY_ERR_BAD_BOOL"},
        {PARLEY_ERR_BAD_UNION, "PARLEY_ERR_BAD_UNION"},
        {PARLEY_ERR_BAD_PADDING, "PARLEY_ERR_BAD_PADDING"},
        {PARLEY_ERR_BAD_STRING, "PARLEY_ERR_BAD_STRING"},
        {PARLEY_ERR_RANGE, "PARLEY_ERR_RANGE"},
        {PARLEY_ERR_NULL, "PARLEY_ERR_NULL"},
        {PARLEY_ERR_BUFFER_FULL, "PARLEY_ERR_BUFFER_FULL"},
        {PARLEY_ERR_NOMEM, "PARLEY_ERR_NOMEM"},
        {PARLEY_ERR_INVALID, "PARLEY_ERR_INVALID"},
    };
    /* And every value of the enumeration, including any added since this
     * table was written, gets the name of its enumerator. */
#define NAME_(name, text) "PARLEY_" #name,
    static const char *const all[] = {PARLEY_ERRNO_MAP(NAME_)};
#undef NAME_
    size_t i;

    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_string_equal(parley_errname(names[i].err), names[i].name);
    assert_int_equal(sizeof all / sizeof all[0], PARLEY_ERR_COUNT_);
    for (i = 0; i < PARLEY_ERR_COUNT_; i++)
        assert_string_equal(parley_errname((int)i), all[i]);
}

static void test_strerror_gives_a_distinct_text_for_every_error_value(void **state)
{
    int i, j;

    for (i = 0; i < PARLEY_ERR_COUNT_; i++) {
        const char *t = parley_strerror(i);
        assert_non_null(t);
        assert_true(strlen(t) > 0);
        assert_string_not_equal(t, "unknown error");
        for (j = 0; j < i; j++)
            assert_string_not_equal(t, parley_strerror(j));
    }
    assert_string_equal(parley_strerror(PARLEY_OK), "success");
    assert_string_equal(parley_strerror(PARLEY_ERR_NOMEM), "out of memory");
    assert_string_equal(parley_strerror(PARLEY_ERR_BAD_BOOL), "bool is neither 0 nor 1");
}

static void test_errors_outside_the_enumeration_are_unknown(void **state)
{
    static const int bad[] = {-1, PARLEY_ERR_COUNT_, PARLEY_ERR_COUNT_ + 1, INT_MAX, INT_MIN};
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_string_equal(parley_strerror(bad[i]), "unknown error");
        assert_string_equal(parley_errname(bad[i]), "PARLEY_ERR_UNKNOWN");
    }
}

/* ---- sizes and padding ------------------------------------------------ */

static void test_padding_rounds_lengths_up_to_a_multiple_of_four(void **state)
{
    assert_int_equal(parley_pad4(0), 0);
    assert_int_equal(parley_pad4(1), 3);
    assert_int_equal(parley_pad4(2), 2);
    assert_int_equal(parley_pad4(3), 1);
    assert_int_equal(parley_pad4(4), 0);
    assert_int_equal(parley_pad4(0xffffffffu), 1);
    assert_int_equal(parley_round4(0), 0);
    assert_int_equal(parley_round4(5), 8);
    assert_int_equal(parley_round4(8), 8);
    assert_int_equal(parley_size_string(NULL), 4);
    assert_int_equal(parley_size_string(""), 4);
    assert_int_equal(parley_size_string("hello"), 12);
    assert_int_equal(parley_size_string("abcd"), 8);
}

/* ---- one-value primitives --------------------------------------------- */

static void test_u32_encodes_big_endian(void **state)
{
    static const uint8_t want[] = {
        0x01, 0x02, 0x03, 0x04, /* 0x01020304 */
        0xff, 0xff, 0xff, 0xfe, /* int -2 */
        0x00, 0x00, 0x00, 0x00, /* 0 */
    };
    uint8_t buf[16];
    parley_enc e;

    parley_enc_init(&e, buf, sizeof buf);
    parley_put_u32(&e, 0x01020304u);
    parley_put_u32(&e, (uint32_t)-2);
    parley_put_u32(&e, 0);
    expect_encoding(&e, want, sizeof want);
}

static void test_u64_encodes_big_endian_high_word_first(void **state)
{
    static const uint8_t want[] = {
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* 0x0102030405060708 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* hyper -1 */
    };
    uint8_t buf[16];
    parley_enc e;

    parley_enc_init(&e, buf, sizeof buf);
    parley_put_u64(&e, 0x0102030405060708u);
    parley_put_u64(&e, (uint64_t)-1);
    expect_encoding(&e, want, sizeof want);
}

static void test_u32_and_u64_decode_what_they_encode(void **state)
{
    static const uint32_t w[] = {0, 1, 0x7fffffffu, 0x80000000u, 0xffffffffu, 0x01020304u};
    static const uint64_t h[] = {0, 1, 0x8000000000000000u, UINT64_MAX, 0x0102030405060708u};
    uint8_t buf[128];
    parley_enc e;
    parley_dec d;
    const void *g;
    size_t len, used, i;

    parley_enc_init(&e, buf, sizeof buf);
    for (i = 0; i < 6; i++)
        parley_put_u32(&e, w[i]);
    for (i = 0; i < 5; i++)
        parley_put_u64(&e, h[i]);
    assert_int_equal(parley_enc_finish(&e, &len), PARLEY_OK);
    assert_int_equal(len, 6 * 4 + 5 * 8);

    g = guarded_dec(&d, buf, len, NULL);
    for (i = 0; i < 6; i++)
        assert_int_equal(parley_get_u32(&d), w[i]);
    for (i = 0; i < 5; i++)
        assert_true(parley_get_u64(&d) == h[i]);
    assert_int_equal(parley_dec_finish(&d, &used), PARLEY_OK);
    assert_int_equal(used, len);
    assert_int_equal(parley_dec_remaining(&d), 0);
    pt_guard_free(g);
}

static void test_decode_of_u32_and_u64_past_the_end_is_truncated(void **state)
{
    static const uint8_t seven[] = {0, 0, 0, 1, 0, 0, 0};
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, seven, 3, NULL);
    assert_int_equal(parley_get_u32(&d), 0);
    assert_int_equal(d.err, PARLEY_ERR_TRUNCATED);
    assert_ptr_equal(d.err_at, d.start);
    pt_guard_free(g);

    g = guarded_dec(&d, seven, 7, NULL);
    assert_true(parley_get_u64(&d) == 0);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_TRUNCATED);
    pt_guard_free(g);
}

static void test_bool_encodes_as_a_word_of_zero_or_one(void **state)
{
    static const uint8_t want[] = {0, 0, 0, 1, 0, 0, 0, 0};
    uint8_t buf[8];
    parley_enc e;
    parley_dec d;
    const void *g;

    parley_enc_init(&e, buf, sizeof buf);
    parley_put_bool(&e, TRUE);
    parley_put_bool(&e, FALSE);
    expect_encoding(&e, want, sizeof want);

    g = guarded_dec(&d, want, sizeof want, NULL);
    assert_int_equal(parley_get_bool(&d), TRUE);
    assert_int_equal(parley_get_bool(&d), FALSE);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_OK);
    pt_guard_free(g);
}

static void test_encode_rejects_bool_other_than_zero_or_one(void **state)
{
    uint8_t buf[8];
    parley_enc e;

    parley_enc_init(&e, buf, sizeof buf);
    parley_put_bool(&e, 2);
    assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_BAD_BOOL);
    assert_ptr_equal(e.p, e.start);

    parley_enc_init(&e, buf, sizeof buf);
    parley_put_bool(&e, -1);
    assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_BAD_BOOL);
}

static void test_decode_rejects_bool_other_than_zero_or_one(void **state)
{
    static const uint8_t two[] = {0, 0, 0, 1, 0, 0, 0, 2};
    static const uint8_t high[] = {0x80, 0, 0, 0};
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, two, sizeof two, NULL);
    assert_int_equal(parley_get_bool(&d), TRUE);
    assert_int_equal(parley_get_bool(&d), FALSE);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_BAD_BOOL);
    assert_ptr_equal(d.err_at, d.start + 4);
    pt_guard_free(g);

    g = guarded_dec(&d, high, sizeof high, NULL);
    assert_int_equal(parley_get_bool(&d), FALSE);
    assert_int_equal(d.err, PARLEY_ERR_BAD_BOOL);
    pt_guard_free(g);
}

static void test_float_and_double_encode_as_big_endian_ieee_bits(void **state)
{
    static const uint8_t want[] = {
        0x3f, 0x80, 0x00, 0x00,                         /* 1.0f */
        0xc0, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* -2.5 */
    };
    uint8_t buf[12];
    parley_enc e;
    parley_dec d;
    const void *g;

    parley_enc_init(&e, buf, sizeof buf);
    parley_put_u32(&e, parley_f32_bits(1.0f));
    parley_put_u64(&e, parley_f64_bits(-2.5));
    expect_encoding(&e, want, sizeof want);

    g = guarded_dec(&d, want, sizeof want, NULL);
    assert_true(parley_bits_f32(parley_get_u32(&d)) == 1.0f);
    assert_true(parley_bits_f64(parley_get_u64(&d)) == -2.5);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_OK);
    pt_guard_free(g);
}

static void test_fixed_opaque_encodes_with_zero_padding(void **state)
{
    static const uint8_t want[] = {
        'a', 'b', 'c', 'd', 'e', 0, 0, 0, /* opaque[5] */
        'w', 'x', 'y', 'z',               /* opaque[4]: no padding */
        'q', 0,   0,   0,                 /* opaque[1] */
    };
    uint8_t buf[32];
    parley_enc e;

    memset(buf, 0xee, sizeof buf);
    parley_enc_init(&e, buf, sizeof buf);
    parley_put_opaque(&e, "abcde", 5);
    parley_put_opaque(&e, "wxyz", 4);
    parley_put_opaque(&e, "", 0);
    parley_put_opaque(&e, "q", 1);
    expect_encoding(&e, want, sizeof want);
}

static void test_fixed_opaque_decodes_what_it_encodes(void **state)
{
    static const uint8_t wire[] = {'a', 'b', 'c', 'd', 'e', 0, 0, 0, 'w', 'x', 'y', 'z'};
    uint8_t five[5], four[4];
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, wire, sizeof wire, NULL);
    parley_get_opaque(&d, five, 5);
    parley_get_opaque(&d, four, 4);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_OK);
    assert_memory_equal(five, "abcde", 5);
    assert_memory_equal(four, "wxyz", 4);
    pt_guard_free(g);
}

static void test_decode_rejects_fixed_opaque_with_nonzero_padding(void **state)
{
    static const uint8_t wire[] = {'a', 'b', 'c', 'd', 'e', 0, 1, 0};
    parley_limits lax = {0, 0, PARLEY_DEC_LAX_PADDING, NULL};
    uint8_t five[5];
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, wire, sizeof wire, NULL);
    parley_get_opaque(&d, five, 5);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_BAD_PADDING);
    assert_ptr_equal(d.err_at, d.start + 5);
    assert_memory_equal(five, "\0\0\0\0\0", 5);
    pt_guard_free(g);

    g = guarded_dec(&d, wire, sizeof wire, &lax);
    parley_get_opaque(&d, five, 5);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_OK);
    assert_memory_equal(five, "abcde", 5);
    pt_guard_free(g);
}

static void test_decode_of_truncated_fixed_opaque_zeroes_it(void **state)
{
    static const uint8_t wire[] = {'a', 'b', 'c', 'd', 'e', 0, 0};
    uint8_t five[5];
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, wire, sizeof wire, NULL);
    memset(five, 0xee, sizeof five);
    parley_get_opaque(&d, five, 5);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_TRUNCATED);
    assert_memory_equal(five, "\0\0\0\0\0", 5);
    pt_guard_free(g);
}

/* ---- strings ---------------------------------------------------------- */

static void test_string_encodes_as_length_bytes_and_zero_padding(void **state)
{
    static const uint8_t want[] = {
        0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', 0, 0, 0, /* "hello" */
        0, 0, 0, 0,                                   /* "" */
        0, 0, 0, 4, 'a', 'b', 'c', 'd',               /* "abcd": no padding */
        0, 0, 0, 2, 'h', 'i', 0,   0,                 /* "hi" */
    };
    uint8_t buf[64];
    parley_enc e;

    memset(buf, 0xee, sizeof buf);
    parley_enc_init(&e, buf, sizeof buf);
    parley_put_string(&e, "hello", 5);
    parley_put_string(&e, "", 0);
    parley_put_string(&e, "abcd", 0xffffffffu);
    parley_put_string(&e, "hi", 100);
    expect_encoding(&e, want, sizeof want);
}

static void test_encode_rejects_string_longer_than_its_bound(void **state)
{
    uint8_t buf[64];
    parley_enc e;

    parley_enc_init(&e, buf, sizeof buf);
    parley_put_string(&e, "hello", 4);
    assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_TOO_LONG);
    assert_ptr_equal(e.p, e.start);

    parley_enc_init(&e, buf, sizeof buf);
    parley_put_string(&e, "x", 0);
    assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_TOO_LONG);
}

static void test_encode_rejects_null_string(void **state)
{
    uint8_t buf[8];
    parley_enc e;

    parley_enc_init(&e, buf, sizeof buf);
    parley_put_string(&e, NULL, 10);
    assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_NULL);
    assert_ptr_equal(e.p, e.start);
}

static void test_encode_of_string_into_too_small_buffer_is_buffer_full_at_every_size(void **state)
{
    size_t cap;

    for (cap = 0; cap < 12; cap++) {
        uint8_t *buf = pt_guard_alloc(cap);
        parley_enc e;
        assert_non_null(buf);
        parley_enc_init(&e, buf, cap);
        parley_put_string(&e, "hello", 5);
        assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_BUFFER_FULL);
        assert_ptr_equal(e.p, e.start);
        pt_guard_free(buf);
    }
}

static void test_string_decodes_into_a_new_nul_terminated_allocation(void **state)
{
    static const uint8_t wire[] = {
        0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', 0, 0, 0, /* "hello" */
        0, 0, 0, 4, 'a', 'b', 'c', 'd',               /* "abcd" */
    };
    parley_limits lim = {100, 0, 0, NULL};
    char *s = NULL, *t = NULL;
    parley_dec d;
    const void *g;
    size_t used;

    g = guarded_dec(&d, wire, sizeof wire, &lim);
    parley_get_string(&d, &s, 5);
    parley_get_string(&d, &t, 4);
    assert_int_equal(parley_dec_finish(&d, &used), PARLEY_OK);
    assert_int_equal(used, sizeof wire);
    assert_string_equal(s, "hello");
    assert_string_equal(t, "abcd");
    assert_int_equal(d.budget, 100 - 6 - 5);
    free(s);
    free(t);
    pt_guard_free(g);
}

static void test_empty_string_decodes_as_an_allocated_empty_string(void **state)
{
    static const uint8_t wire[] = {0, 0, 0, 0};
    char *s = NULL;
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, wire, sizeof wire, NULL);
    parley_get_string(&d, &s, 0);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_OK);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(d.budget, PARLEY_DEFAULT_MAX_ALLOC - 1);
    free(s);
    pt_guard_free(g);
}

static void test_decode_rejects_string_longer_than_its_bound(void **state)
{
    static const uint8_t wire[] = {0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', 0, 0, 0};
    char *s = sentinel;
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, wire, sizeof wire, NULL);
    parley_get_string(&d, &s, 4);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_TOO_LONG);
    assert_null(s);
    assert_ptr_equal(d.err_at, d.start);
    assert_int_equal(d.budget, PARLEY_DEFAULT_MAX_ALLOC);
    pt_guard_free(g);
}

static void test_decode_rejects_string_with_an_embedded_nul(void **state)
{
    static const uint8_t wire[] = {0, 0, 0, 5, 'h', 'e', 0, 'l', 'o', 0, 0, 0};
    char *s = NULL;
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, wire, sizeof wire, NULL);
    parley_get_string(&d, &s, 16);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_BAD_STRING);
    assert_null(s);
    assert_ptr_equal(d.err_at, d.start + 6);
    assert_int_equal(d.budget, PARLEY_DEFAULT_MAX_ALLOC);
    pt_guard_free(g);
}

static void test_decode_rejects_string_with_nonzero_padding_unless_lax(void **state)
{
    static const uint8_t wire[] = {0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', 0, 0, 'x'};
    parley_limits lax = {0, 0, PARLEY_DEC_LAX_PADDING, NULL};
    char *s = NULL;
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, wire, sizeof wire, NULL);
    parley_get_string(&d, &s, 16);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_BAD_PADDING);
    assert_null(s);
    assert_ptr_equal(d.err_at, d.start + 9);
    pt_guard_free(g);

    g = guarded_dec(&d, wire, sizeof wire, &lax);
    parley_get_string(&d, &s, 16);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_OK);
    assert_string_equal(s, "hello");
    free(s);
    pt_guard_free(g);
}

static void test_decode_rejects_string_length_of_0xffffffff_without_allocating(void **state)
{
    static const uint8_t wire[] = {0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c', 'd'};
    parley_limits lim = {SIZE_MAX, 0, 0, NULL};
    char *s = NULL;
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, wire, sizeof wire, &lim);
    parley_get_string(&d, &s, 0xffffffffu);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_TRUNCATED);
    assert_null(s);
    assert_ptr_equal(d.err_at, d.start);
    assert_int_equal(d.budget, SIZE_MAX);
    pt_guard_free(g);
}

static void test_decode_rejects_string_whose_padding_is_missing(void **state)
{
    static const uint8_t wire[] = {0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', 0, 0};
    char *s = NULL;
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, wire, sizeof wire, NULL);
    parley_get_string(&d, &s, 16);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_TRUNCATED);
    assert_null(s);
    pt_guard_free(g);
}

static void test_decode_rejects_string_over_the_allocation_budget(void **state)
{
    static const uint8_t wire[] = {0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o', 0, 0, 0};
    parley_limits five = {5, 0, 0, NULL}, six = {6, 0, 0, NULL};
    char *s = NULL;
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, wire, sizeof wire, &five);
    parley_get_string(&d, &s, 16);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_LIMIT);
    assert_null(s);
    assert_ptr_equal(d.err_at, d.start);
    assert_int_equal(d.budget, 5);
    pt_guard_free(g);

    g = guarded_dec(&d, wire, sizeof wire, &six);
    parley_get_string(&d, &s, 16);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_OK);
    assert_string_equal(s, "hello");
    assert_int_equal(d.budget, 0);
    free(s);
    pt_guard_free(g);
}

/* ---- variable-length opaque ------------------------------------------- */

static void test_bytes_encode_as_length_data_and_zero_padding(void **state)
{
    static const uint8_t want[] = {
        0, 0, 0, 3, 0x00, 0xff, 0x7f, 0, /* {00 ff 7f} */
        0, 0, 0, 0,                      /* empty, from NULL */
        0, 0, 0, 4, 1,    2,    3,    4, /* {1 2 3 4} */
    };
    uint8_t buf[32];
    parley_enc e;

    memset(buf, 0xee, sizeof buf);
    parley_enc_init(&e, buf, sizeof buf);
    parley_put_bytes(&e, "\x00\xff\x7f", 3, 3);
    parley_put_bytes(&e, NULL, 0, 0);
    parley_put_bytes(&e, "\x01\x02\x03\x04", 4, 0xffffffffu);
    expect_encoding(&e, want, sizeof want);
}

static void test_encode_rejects_bytes_longer_than_their_bound(void **state)
{
    uint8_t buf[32];
    parley_enc e;

    parley_enc_init(&e, buf, sizeof buf);
    parley_put_bytes(&e, "abc", 3, 2);
    assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_TOO_LONG);
    assert_ptr_equal(e.p, e.start);
}

static void test_encode_rejects_null_bytes_of_nonzero_length(void **state)
{
    uint8_t buf[32];
    parley_enc e;

    parley_enc_init(&e, buf, sizeof buf);
    parley_put_bytes(&e, NULL, 1, 8);
    assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_NULL);
    assert_ptr_equal(e.p, e.start);
}

static void test_encode_of_bytes_into_too_small_buffer_is_buffer_full_at_every_size(void **state)
{
    size_t cap;

    for (cap = 0; cap < 8; cap++) {
        uint8_t *buf = pt_guard_alloc(cap);
        parley_enc e;
        assert_non_null(buf);
        parley_enc_init(&e, buf, cap);
        parley_put_bytes(&e, "abc", 3, 3);
        assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_BUFFER_FULL);
        assert_ptr_equal(e.p, e.start);
        pt_guard_free(buf);
    }
}

static void test_bytes_decode_into_a_new_allocation_nuls_and_all(void **state)
{
    static const uint8_t wire[] = {0, 0, 0, 3, 0x00, 0xff, 0x7f, 0};
    parley_limits lim = {10, 0, 0, NULL};
    char *val = NULL;
    u_int len = 99;
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, wire, sizeof wire, &lim);
    parley_get_bytes(&d, &val, &len, 3);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(val, "\x00\xff\x7f", 3);
    assert_int_equal(d.budget, 7);
    free(val);
    pt_guard_free(g);
}

static void test_empty_bytes_decode_as_null_and_zero_length(void **state)
{
    static const uint8_t wire[] = {0, 0, 0, 0};
    char *val = sentinel;
    u_int len = 99;
    parley_dec d;
    const void *g;
    size_t used;

    g = guarded_dec(&d, wire, sizeof wire, NULL);
    parley_get_bytes(&d, &val, &len, 0);
    assert_int_equal(parley_dec_finish(&d, &used), PARLEY_OK);
    assert_int_equal(used, 4);
    assert_null(val);
    assert_int_equal(len, 0);
    assert_int_equal(d.budget, PARLEY_DEFAULT_MAX_ALLOC);
    pt_guard_free(g);
}

static void
test_decode_rejects_bytes_that_are_too_long_truncated_badly_padded_or_over_budget(void **state)
{
    static const struct {
        uint8_t wire[12];
        size_t n;
        uint32_t max;
        size_t budget;
        int err;
        size_t err_at;
    } cases[] = {
        {{0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0}, 12, 4, 0, PARLEY_ERR_TOO_LONG, 0},
        {{0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0}, 11, 8, 0, PARLEY_ERR_TRUNCATED, 0},
        {{0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}, 8, 0xffffffffu, SIZE_MAX, PARLEY_ERR_TRUNCATED, 0},
        {{0xff, 0xff, 0xff, 0xfd, 1, 2, 3, 4}, 8, 0xffffffffu, SIZE_MAX, PARLEY_ERR_TRUNCATED, 0},
        {{0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 9, 0}, 12, 8, 0, PARLEY_ERR_BAD_PADDING, 9},
        {{0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0}, 12, 8, 4, PARLEY_ERR_LIMIT, 0},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        parley_limits lim = {cases[i].budget, 0, 0, NULL};
        char *val = sentinel;
        u_int len = 99;
        parley_dec d;
        const void *g = guarded_dec(&d, cases[i].wire, cases[i].n, &lim);

        parley_get_bytes(&d, &val, &len, cases[i].max);
        assert_int_equal(parley_dec_finish(&d, NULL), cases[i].err);
        assert_ptr_equal(d.err_at, d.start + cases[i].err_at);
        assert_null(val);
        assert_int_equal(len, 0);
        assert_int_equal(d.budget, lim.max_alloc ? lim.max_alloc : PARLEY_DEFAULT_MAX_ALLOC);
        pt_guard_free(g);
    }
}

/* ---- array counts ----------------------------------------------------- */

static void test_count_encodes_as_a_length_word(void **state)
{
    static const uint8_t want[] = {0, 0, 0, 3, 0, 0, 0, 0};
    int32_t vals[3] = {0};
    uint8_t buf[8];
    parley_enc e;

    parley_enc_init(&e, buf, sizeof buf);
    assert_true(parley_put_count(&e, vals, 3, 3));
    assert_true(parley_put_count(&e, NULL, 0, 0));
    expect_encoding(&e, want, sizeof want);
}

static void test_encode_rejects_count_above_its_bound_or_null_elements(void **state)
{
    int32_t vals[3] = {0};
    uint8_t buf[8];
    parley_enc e;

    parley_enc_init(&e, buf, sizeof buf);
    assert_false(parley_put_count(&e, vals, 3, 2));
    assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_TOO_LONG);
    assert_ptr_equal(e.p, e.start);

    parley_enc_init(&e, buf, sizeof buf);
    assert_false(parley_put_count(&e, NULL, 1, 2));
    assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_NULL);

    parley_enc_init(&e, buf, 3);
    assert_false(parley_put_count(&e, vals, 1, 2));
    assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_BUFFER_FULL);
}

static void test_count_decodes_when_bound_bytes_and_budget_allow_it(void **state)
{
    static const uint8_t wire[] = {0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3};
    parley_limits lim = {12, 0, 0, NULL};
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, wire, sizeof wire, &lim);
    assert_int_equal(parley_get_count(&d, 3, 4, 4), 3);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_OK);
    assert_int_equal(parley_dec_remaining(&d), 12);
    assert_int_equal(d.budget, 12); /* checked, not charged */
    pt_guard_free(g);
}

static void test_decode_rejects_count_above_its_bound(void **state)
{
    static const uint8_t wire[] = {0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3};
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, wire, sizeof wire, NULL);
    assert_int_equal(parley_get_count(&d, 2, 4, 4), 0);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_TOO_LONG);
    assert_ptr_equal(d.err_at, d.start);
    pt_guard_free(g);
}

static void test_decode_rejects_count_the_remaining_bytes_cannot_hold(void **state)
{
    static const uint8_t wire[] = {0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2};
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, wire, sizeof wire, NULL);
    assert_int_equal(parley_get_count(&d, 10, 4, 4), 0);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_TRUNCATED);
    assert_ptr_equal(d.err_at, d.start);
    pt_guard_free(g);
}

static void test_decode_rejects_count_whose_elements_exceed_the_budget(void **state)
{
    static const uint8_t wire[] = {0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3};
    parley_limits lim = {11, 0, 0, NULL};
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, wire, sizeof wire, &lim);
    assert_int_equal(parley_get_count(&d, 3, 4, 4), 0);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_LIMIT);
    assert_ptr_equal(d.err_at, d.start);
    assert_int_equal(d.budget, 11);
    pt_guard_free(g);
}

static void test_decode_rejects_count_of_0xffffffff(void **state)
{
    static const uint8_t wire[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    parley_limits lim = {SIZE_MAX, 0, 0, NULL};
    parley_dec d;
    const void *g;

    /* Against the bytes: 0xffffffff four-byte elements do not fit in 4. */
    g = guarded_dec(&d, wire, sizeof wire, &lim);
    assert_int_equal(parley_get_count(&d, 0xffffffffu, 4, 4), 0);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_TRUNCATED);
    pt_guard_free(g);

    /* Against the budget, for elements that take no wire bytes (void). */
    g = guarded_dec(&d, wire, sizeof wire, NULL);
    assert_int_equal(parley_get_count(&d, 0xffffffffu, 0, 1 << 20), 0);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_LIMIT);
    pt_guard_free(g);
}

static void test_decode_of_count_does_not_let_size_products_wrap(void **state)
{
    /* 16 * (SIZE_MAX / 16 + 1) is SIZE_MAX + 1, which wraps to 0: a check
     * written as a multiplication would wave these counts through. */
    static const uint8_t wire[] = {0, 0, 0, 16, 0, 0, 0, 0};
    const size_t huge = SIZE_MAX / 16 + 1;
    parley_limits lim = {SIZE_MAX, 0, 0, NULL};
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, wire, sizeof wire, &lim);
    assert_int_equal(parley_get_count(&d, 100, huge, 1), 0);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_TRUNCATED);
    pt_guard_free(g);

    g = guarded_dec(&d, wire, sizeof wire, NULL);
    assert_int_equal(parley_get_count(&d, 100, 0, huge), 0);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_LIMIT);
    pt_guard_free(g);
}

/* ---- arrays of numbers ------------------------------------------------ */

static void test_u32_array_encodes_each_value_big_endian(void **state)
{
    static const uint32_t v[] = {1, 0x01020304u, 0xffffffffu, (uint32_t)-2, 0x80000000u};
    static const uint8_t want[] = {
        0, 0, 0, 1, 1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x80, 0, 0, 0,
    };
    uint8_t buf[20];
    parley_enc e;

    parley_enc_init(&e, buf, sizeof buf);
    parley_put_u32s(&e, v, 5);
    expect_encoding(&e, want, sizeof want);
}

static void test_u64_array_encodes_each_value_big_endian(void **state)
{
    static const uint64_t v[] = {0x0102030405060708u, (uint64_t)-2, 1};
    static const uint8_t want[] = {
        1,    2,    3,    4,    5,    6,    7,    8,    /* 0x0102030405060708 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, /* hyper -2 */
        0,    0,    0,    0,    0,    0,    0,    1,    /* 1 */
    };
    uint8_t buf[24];
    parley_enc e;

    parley_enc_init(&e, buf, sizeof buf);
    parley_put_u64s(&e, v, 3);
    expect_encoding(&e, want, sizeof want);
}

static void test_float_and_double_arrays_encode_as_big_endian_ieee_bits(void **state)
{
    static const float f[] = {1.0f, -0.5f, 0.0f};
    static const double g[] = {2.0, -2.5};
    static const uint8_t want[] = {
        0x3f, 0x80, 0, 0, 0xbf, 0, 0, 0, 0, 0, 0, 0, /* 1.0f, -0.5f, 0.0f */
        0x40, 0,    0, 0, 0,    0, 0, 0,             /* 2.0 */
        0xc0, 0x04, 0, 0, 0,    0, 0, 0,             /* -2.5 */
    };
    uint8_t buf[28];
    parley_enc e;

    parley_enc_init(&e, buf, sizeof buf);
    parley_put_f32s(&e, f, 3);
    parley_put_f64s(&e, g, 2);
    expect_encoding(&e, want, sizeof want);
}

/* The lengths below cover the vector loop, its scalar tail, and both
 * together; the offsets make the wire buffer unaligned. */
#define ARRAY_MAX 67

static void
test_arrays_encode_as_consecutive_single_values_at_any_length_and_alignment(void **state)
{
    static uint32_t w[ARRAY_MAX];
    static uint64_t h[ARRAY_MAX];
    static uint8_t bulk[12 * ARRAY_MAX + 4], one[12 * ARRAY_MAX + 4];
    size_t n, off, i;

    for (i = 0; i < ARRAY_MAX; i++) {
        w[i] = rng();
        h[i] = ((uint64_t)rng() << 32) | rng();
    }
    for (n = 0; n <= ARRAY_MAX; n++) {
        for (off = 0; off < 4; off++) {
            parley_enc a, b;
            size_t la, lb;

            parley_enc_init(&a, bulk + off, sizeof bulk - off);
            parley_put_u32s(&a, w, n);
            parley_put_u64s(&a, h, n);
            parley_enc_init(&b, one + off, sizeof one - off);
            for (i = 0; i < n; i++)
                parley_put_u32(&b, w[i]);
            for (i = 0; i < n; i++)
                parley_put_u64(&b, h[i]);
            assert_int_equal(parley_enc_finish(&a, &la), PARLEY_OK);
            assert_int_equal(parley_enc_finish(&b, &lb), PARLEY_OK);
            assert_int_equal(la, 12 * n);
            assert_int_equal(la, lb);
            assert_memory_equal(bulk + off, one + off, la);
        }
    }
}

static void test_arrays_decode_what_they_encode_without_reading_past_the_end(void **state)
{
    static uint32_t w[ARRAY_MAX], w2[ARRAY_MAX];
    static uint64_t h[ARRAY_MAX], h2[ARRAY_MAX];
    static float f[ARRAY_MAX], f2[ARRAY_MAX];
    static double g[ARRAY_MAX], g2[ARRAY_MAX];
    size_t n, i;

    for (i = 0; i < ARRAY_MAX; i++) {
        w[i] = rng();
        h[i] = ((uint64_t)rng() << 32) | rng();
        f[i] = (float)(int32_t)rng() / 1024.0f;
        g[i] = (double)(int32_t)rng() / 3.0;
    }
    for (n = 0; n <= ARRAY_MAX; n++) {
        size_t len = 24 * n, used;
        uint8_t *buf = pt_guard_alloc(len);
        parley_enc e;
        parley_dec d;

        /* The encoder writes right up to the guard page, and the decoder
         * reads right up to it. */
        assert_non_null(buf);
        parley_enc_init(&e, buf, len);
        parley_put_u32s(&e, w, n);
        parley_put_u64s(&e, h, n);
        parley_put_f32s(&e, f, n);
        parley_put_f64s(&e, g, n);
        assert_int_equal(parley_enc_finish(&e, &used), PARLEY_OK);
        assert_int_equal(used, len);

        parley_dec_init(&d, buf, len, NULL);
        parley_get_u32s(&d, w2, n);
        parley_get_u64s(&d, h2, n);
        parley_get_f32s(&d, f2, n);
        parley_get_f64s(&d, g2, n);
        assert_int_equal(parley_dec_finish(&d, &used), PARLEY_OK);
        assert_int_equal(used, len);
        assert_memory_equal(w, w2, 4 * n);
        assert_memory_equal(h, h2, 8 * n);
        assert_memory_equal(f, f2, 4 * n);
        assert_memory_equal(g, g2, 8 * n);
        pt_guard_free(buf);
    }
}

static void test_arrays_decode_from_an_unaligned_buffer(void **state)
{
    static const uint8_t wire[] = {
        0xee,                                           /* skipped: misaligns the rest */
        0,    0,    0,    1,    1,    2,    3,    4,    /* unsigned int[5]: 1, 0x01020304 */
        0xff, 0xff, 0xff, 0xfe, 0x80, 0,    0,    0,    /* -2, 0x80000000 */
        0,    0,    0,    7,                            /* 7 */
        1,    2,    3,    4,    5,    6,    7,    8,    /* hyper[2]: 0x0102030405060708 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, /* -2 */
    };
    static const uint32_t want_w[] = {1, 0x01020304u, (uint32_t)-2, 0x80000000u, 7};
    static const uint64_t want_h[] = {0x0102030405060708u, (uint64_t)-2};
    uint32_t w[5];
    uint64_t h[2];
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, wire + 1, sizeof wire - 1, NULL);
    parley_get_u32s(&d, w, 5);
    parley_get_u64s(&d, h, 2);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_OK);
    assert_memory_equal(w, want_w, sizeof w);
    assert_memory_equal(h, want_h, sizeof h);
    pt_guard_free(g);
}

static void
test_encode_of_arrays_into_too_small_buffer_is_buffer_full_and_writes_nothing(void **state)
{
    static const uint32_t w[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    static const uint64_t h[3] = {1, 2, 3};
    static const float f[9] = {1};
    static const double g[3] = {1};
    size_t cap;

    for (cap = 0; cap < 36; cap++) {
        uint8_t *buf = pt_guard_alloc(cap);
        parley_enc e;

        assert_non_null(buf);
        memset(buf, 0xee, cap);
        parley_enc_init(&e, buf, cap);
        parley_put_u32s(&e, w, 9);
        assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_BUFFER_FULL);
        parley_enc_init(&e, buf, cap);
        parley_put_f32s(&e, f, 9);
        assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_BUFFER_FULL);
        if (cap < 24) {
            parley_enc_init(&e, buf, cap);
            parley_put_u64s(&e, h, 3);
            assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_BUFFER_FULL);
            parley_enc_init(&e, buf, cap);
            parley_put_f64s(&e, g, 3);
            assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_BUFFER_FULL);
        }
        assert_ptr_equal(e.p, e.start);
        for (size_t i = 0; i < cap; i++)
            assert_int_equal(buf[i], 0xee);
        pt_guard_free(buf);
    }
}

static void test_decode_of_truncated_arrays_zeroes_the_values(void **state)
{
    static const uint8_t wire[36] = {0, 0, 0, 1, 0, 0, 0, 2};
    uint32_t w[9];
    uint64_t h[5];
    float f[9];
    double g[5];
    size_t cut, i;

    for (cut = 0; cut < 36; cut++) {
        parley_dec d;
        const void *c;

        c = guarded_dec(&d, wire, cut, NULL);
        memset(w, 0xee, sizeof w);
        parley_get_u32s(&d, w, 9);
        assert_int_equal(d.err, PARLEY_ERR_TRUNCATED);
        assert_ptr_equal(d.err_at, d.start);
        for (i = 0; i < 9; i++)
            assert_int_equal(w[i], 0);
        pt_guard_free(c);

        c = guarded_dec(&d, wire, cut, NULL);
        memset(f, 0xee, sizeof f);
        parley_get_f32s(&d, f, 9);
        assert_int_equal(d.err, PARLEY_ERR_TRUNCATED);
        for (i = 0; i < 9; i++)
            assert_true(f[i] == 0.0f);
        pt_guard_free(c);

        c = guarded_dec(&d, wire, cut, NULL);
        memset(h, 0xee, sizeof h);
        parley_get_u64s(&d, h, 5);
        assert_int_equal(d.err, PARLEY_ERR_TRUNCATED);
        for (i = 0; i < 5; i++)
            assert_true(h[i] == 0);
        pt_guard_free(c);

        c = guarded_dec(&d, wire, cut, NULL);
        memset(g, 0xee, sizeof g);
        parley_get_f64s(&d, g, 5);
        assert_int_equal(d.err, PARLEY_ERR_TRUNCATED);
        for (i = 0; i < 5; i++)
            assert_true(g[i] == 0.0);
        pt_guard_free(c);
    }
}

static void test_arrays_reject_null_values_of_nonzero_count(void **state)
{
    static const uint8_t wire[8] = {0};
    uint8_t buf[8];
    parley_enc e;
    parley_dec d;
    const void *g;

    parley_enc_init(&e, buf, sizeof buf);
    parley_put_u32s(&e, NULL, 0);
    parley_put_u64s(&e, NULL, 0);
    parley_put_f32s(&e, NULL, 0);
    parley_put_f64s(&e, NULL, 0);
    assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_OK);
    parley_put_u32s(&e, NULL, 1);
    assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_NULL);

    parley_enc_init(&e, buf, sizeof buf);
    parley_put_f64s(&e, NULL, 1);
    assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_NULL);

    g = guarded_dec(&d, wire, sizeof wire, NULL);
    parley_get_u32s(&d, NULL, 0);
    parley_get_u64s(&d, NULL, 0);
    parley_get_f32s(&d, NULL, 0);
    parley_get_f64s(&d, NULL, 0);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_OK);
    parley_get_u64s(&d, NULL, 1);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_NULL);
    pt_guard_free(g);
}

static void test_array_lengths_whose_byte_size_overflows_are_rejected(void **state)
{
    /* n * 4 and n * 8 wrap to 0 for these n: a multiplying check would pass
     * them and write nothing, or worse. The arrays are never touched. */
    const size_t n32 = SIZE_MAX / 4 + 1, n64 = SIZE_MAX / 8 + 1;
    static const uint8_t wire[8] = {0};
    uint32_t w = 0xeeeeeeeeu;
    uint64_t h = 0xeeeeeeeeeeeeeeeeu;
    uint8_t buf[8];
    parley_enc e;
    parley_dec d;
    const void *g;

    parley_enc_init(&e, buf, sizeof buf);
    parley_put_u32s(&e, &w, n32);
    assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_BUFFER_FULL);
    parley_enc_init(&e, buf, sizeof buf);
    parley_put_u64s(&e, &h, n64);
    assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_BUFFER_FULL);

    g = guarded_dec(&d, wire, sizeof wire, NULL);
    parley_get_u32s(&d, &w, n32);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_TRUNCATED);
    pt_guard_free(g);
    g = guarded_dec(&d, wire, sizeof wire, NULL);
    parley_get_u64s(&d, &h, n64);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_TRUNCATED);
    pt_guard_free(g);
    assert_int_equal(w, 0xeeeeeeeeu);
    assert_true(h == 0xeeeeeeeeeeeeeeeeu);
}

/* ---- cursors, limits and allocation ----------------------------------- */

static void test_decoder_takes_defaults_for_null_or_zero_limits(void **state)
{
    static const uint8_t wire[4] = {0};
    parley_limits zero = {0, 0, 0, NULL};
    parley_limits set = {1000, 7, PARLEY_DEC_LAX_PADDING, NULL};
    parley_dec d;

    parley_dec_init(&d, wire, sizeof wire, NULL);
    assert_int_equal(d.budget, PARLEY_DEFAULT_MAX_ALLOC);
    assert_int_equal(d.depth, PARLEY_DEFAULT_MAX_DEPTH);
    assert_int_equal(d.flags, 0);
    assert_int_equal(d.err, PARLEY_OK);
    assert_ptr_equal(d.p, wire);
    assert_ptr_equal(d.end, wire + 4);

    parley_dec_init(&d, wire, sizeof wire, &zero);
    assert_int_equal(d.budget, PARLEY_DEFAULT_MAX_ALLOC);
    assert_int_equal(d.depth, PARLEY_DEFAULT_MAX_DEPTH);
    assert_int_equal(d.flags, 0);

    parley_dec_init(&d, wire, sizeof wire, &set);
    assert_int_equal(d.budget, 1000);
    assert_int_equal(d.depth, 7);
    assert_int_equal(d.flags, PARLEY_DEC_LAX_PADDING);
}

static void test_decoder_over_a_null_buffer_is_empty_or_null(void **state)
{
    parley_dec d;

    parley_dec_init(&d, NULL, 0, NULL);
    assert_int_equal(parley_dec_remaining(&d), 0);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_OK);
    parley_get_u32(&d);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_TRUNCATED);

    parley_dec_init(&d, NULL, 5, NULL);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_NULL);
    assert_int_equal(parley_dec_remaining(&d), 0);
}

static void test_encoder_over_a_null_buffer_is_empty_or_null(void **state)
{
    parley_enc e;
    size_t len = 99;

    parley_enc_init(&e, NULL, 0);
    assert_int_equal(parley_enc_finish(&e, &len), PARLEY_OK);
    assert_int_equal(len, 0);
    parley_put_u32(&e, 1);
    assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_BUFFER_FULL);

    parley_enc_init(&e, NULL, 16);
    parley_put_u32(&e, 1);
    assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_NULL);
}

static void test_dec_alloc_charges_the_budget_and_zero_fills(void **state)
{
    parley_limits lim = {100, 0, 0, NULL};
    parley_dec d;
    uint8_t *m;
    size_t i;

    parley_dec_init(&d, NULL, 0, &lim);
    m = parley_dec_alloc(&d, 60);
    assert_non_null(m);
    for (i = 0; i < 60; i++)
        assert_int_equal(m[i], 0);
    assert_int_equal(d.budget, 40);
    free(m);
    m = parley_dec_alloc(&d, 40);
    assert_non_null(m);
    assert_int_equal(d.budget, 0);
    free(m);
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_OK);
}

static void test_dec_alloc_rejects_allocation_over_the_budget(void **state)
{
    parley_limits lim = {100, 0, 0, NULL};
    parley_dec d;

    parley_dec_init(&d, NULL, 0, &lim);
    assert_null(parley_dec_alloc(&d, 101));
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_LIMIT);
    assert_int_equal(d.budget, 100);

    parley_dec_init(&d, NULL, 0, &lim);
    assert_null(parley_dec_alloc(&d, SIZE_MAX));
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_LIMIT);
}

static void test_dec_alloc_of_zero_bytes_returns_null_without_error(void **state)
{
    parley_dec d;

    parley_dec_init(&d, NULL, 0, NULL);
    assert_null(parley_dec_alloc(&d, 0));
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_OK);
    assert_int_equal(d.budget, PARLEY_DEFAULT_MAX_ALLOC);
}

static void test_dec_alloc_reports_nomem_when_memory_runs_out(void **state)
{
    parley_limits lim = {SIZE_MAX, 0, 0, NULL};
    parley_dec d;

    parley_dec_init(&d, NULL, 0, &lim);
    assert_null(parley_dec_alloc(&d, SIZE_MAX / 2));
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_NOMEM);
    assert_int_equal(d.budget, SIZE_MAX);
}

static void test_decoder_rejects_nesting_deeper_than_its_limit(void **state)
{
    parley_limits lim = {0, 3, 0, NULL};
    parley_dec d;
    unsigned i;

    parley_dec_init(&d, NULL, 0, &lim);
    for (i = 0; i < 3; i++)
        assert_true(parley_dec_enter(&d));
    parley_dec_leave(&d);
    assert_true(parley_dec_enter(&d));
    assert_false(parley_dec_enter(&d));
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_DEPTH);

    parley_dec_init(&d, NULL, 0, NULL);
    for (i = 0; i < PARLEY_DEFAULT_MAX_DEPTH; i++)
        assert_true(parley_dec_enter(&d));
    assert_false(parley_dec_enter(&d));
    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_DEPTH);
}

/* ---- sticky errors ---------------------------------------------------- */

static void test_encoder_keeps_its_first_error_and_writes_nothing_after_it(void **state)
{
    static const uint32_t w[2] = {1, 2};
    static const uint64_t h[2] = {1, 2};
    static const float f[2] = {1, 2};
    static const double g[2] = {1, 2};
    uint8_t buf[128];
    parley_enc e;
    size_t i;

    memset(buf, 0xee, sizeof buf);
    parley_enc_init(&e, buf, sizeof buf);
    parley_put_u32(&e, 7);
    parley_put_string(&e, "toolong", 3);
    assert_int_equal(e.err, PARLEY_ERR_TOO_LONG);

    parley_put_u32(&e, 1);
    parley_put_u64(&e, 1);
    parley_put_bool(&e, TRUE);
    parley_put_bool(&e, 5);
    parley_put_opaque(&e, "abc", 3);
    parley_put_string(&e, "ok", 10);
    parley_put_string(&e, NULL, 10);
    parley_put_bytes(&e, "ab", 2, 10);
    parley_put_bytes(&e, "ab", 2, 1);
    parley_put_bytes(&e, NULL, 2, 10);
    assert_false(parley_put_count(&e, w, 2, 2));
    assert_false(parley_put_count(&e, NULL, 2, 2));
    parley_put_u32s(&e, w, 2);
    parley_put_u64s(&e, h, 2);
    parley_put_f32s(&e, f, 2);
    parley_put_f64s(&e, g, 2);
    parley_put_u32s(&e, NULL, 2);

    assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_TOO_LONG);
    assert_ptr_equal(e.p, buf + 4);
    for (i = 4; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0xee);
}

static void test_decoder_keeps_its_first_error_and_allocates_nothing_after_it(void **state)
{
    /* A bad bool, then bytes that would decode into every kind of value. */
    static const uint8_t wire[] = {0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                                   0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    parley_limits lim = {1000, 0, 0, NULL};
    char *s = sentinel, *val = sentinel;
    u_int len = 99;
    uint32_t w[2] = {5, 5};
    uint64_t h[2] = {5, 5};
    uint8_t fixed[3] = {5, 5, 5};
    parley_dec d;
    const void *g;

    g = guarded_dec(&d, wire, sizeof wire, &lim);
    assert_int_equal(parley_get_bool(&d), 0);
    assert_int_equal(d.err, PARLEY_ERR_BAD_BOOL);

    assert_int_equal(parley_get_u32(&d), 0);
    assert_true(parley_get_u64(&d) == 0);
    assert_int_equal(parley_get_bool(&d), 0);
    parley_get_string(&d, &s, 100);
    assert_null(s);
    parley_get_bytes(&d, &val, &len, 100);
    assert_null(val);
    assert_int_equal(len, 0);
    assert_int_equal(parley_get_count(&d, 100, 4, 4), 0);
    assert_null(parley_dec_alloc(&d, 4));
    parley_get_u32s(&d, w, 2);
    parley_get_u64s(&d, h, 2);
    parley_get_opaque(&d, fixed, 3);

    assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_BAD_BOOL);
    assert_ptr_equal(d.err_at, d.start);
    assert_int_equal(d.budget, 1000);
    assert_memory_equal(w, "\0\0\0\0\0\0\0\0", 8);
    assert_true(h[0] == 0 && h[1] == 0);
    assert_memory_equal(fixed, "\0\0\0", 3);
    pt_guard_free(g);
}

/* ---- a whole message -------------------------------------------------- */

/* struct sample is a message with one of each kind of value, decoded the way
 * generated code decodes: straight-line calls, one check at the end. */
struct sample {
    uint32_t u;
    uint64_t h;
    bool_t b;
    uint8_t fixed[5];
    char *s;
    u_int bytes_len;
    char *bytes_val;
    u_int ints_len;
    int32_t *ints_val;
    uint64_t hypers[2];
    float fl[2];
    double db[1];
};

/* The RFC 4506 encoding of sample_value, written out by hand. */
static const uint8_t sample_wire[] = {
    0x01, 0x02, 0x03, 0x04,                         /* unsigned int 0x01020304 */
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, /* unsigned hyper */
    0x00, 0x00, 0x00, 0x01,                         /* bool TRUE */
    'a',  'b',  'c',  'd',  'e',  0x00, 0x00, 0x00, /* opaque[5] */
    0x00, 0x00, 0x00, 0x05, 'h',  'e',  'l',  'l',  /* string<16> "hello" */
    'o',  0x00, 0x00, 0x00,                         /* ... and its padding */
    0x00, 0x00, 0x00, 0x03, 0x00, 0xff, 0x7f, 0x00, /* opaque<16> {00 ff 7f} */
    0x00, 0x00, 0x00, 0x03,                         /* int<8>: 3 elements */
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x02, /* -1, 2 */
    0x7f, 0xff, 0xff, 0xff,                         /* 0x7fffffff */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, /* hyper[2]: -2 */
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* 0x0102030405060708 */
    0x3f, 0x80, 0x00, 0x00, 0xbf, 0x00, 0x00, 0x00, /* float[2]: 1.0, -0.5 */
    0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* double[1]: 2.0 */
};

static int32_t sample_ints[] = {-1, 2, 0x7fffffff};
static char sample_string[] = "hello";
static char sample_bytes[] = {0x00, (char)0xff, 0x7f};

static const struct sample sample_value = {
    .u = 0x01020304u,
    .h = 0x1122334455667788u,
    .b = TRUE,
    .fixed = {'a', 'b', 'c', 'd', 'e'},
    .s = sample_string,
    .bytes_len = 3,
    .bytes_val = sample_bytes,
    .ints_len = 3,
    .ints_val = sample_ints,
    .hypers = {(uint64_t)-2, 0x0102030405060708u},
    .fl = {1.0f, -0.5f},
    .db = {2.0},
};

static void sample_encode(parley_enc *e, const struct sample *s)
{
    parley_put_u32(e, s->u);
    parley_put_u64(e, s->h);
    parley_put_bool(e, s->b);
    parley_put_opaque(e, s->fixed, sizeof s->fixed);
    parley_put_string(e, s->s, 16);
    parley_put_bytes(e, s->bytes_val, s->bytes_len, 16);
    if (parley_put_count(e, s->ints_val, s->ints_len, 8))
        parley_put_u32s(e, s->ints_val, s->ints_len);
    parley_put_u64s(e, s->hypers, 2);
    parley_put_f32s(e, s->fl, 2);
    parley_put_f64s(e, s->db, 1);
}

static void sample_decode(parley_dec *d, struct sample *s)
{
    uint32_t n;

    memset(s, 0, sizeof *s);
    s->u = parley_get_u32(d);
    s->h = parley_get_u64(d);
    s->b = parley_get_bool(d);
    parley_get_opaque(d, s->fixed, sizeof s->fixed);
    parley_get_string(d, &s->s, 16);
    parley_get_bytes(d, &s->bytes_val, &s->bytes_len, 16);
    n = parley_get_count(d, 8, 4, sizeof *s->ints_val);
    if (n != 0) {
        s->ints_val = parley_dec_alloc(d, n * sizeof *s->ints_val);
        if (s->ints_val != NULL) {
            s->ints_len = n;
            parley_get_u32s(d, s->ints_val, n);
        }
    }
    parley_get_u64s(d, s->hypers, 2);
    parley_get_f32s(d, s->fl, 2);
    parley_get_f64s(d, s->db, 1);
}

static void sample_free(struct sample *s)
{
    free(s->s);
    free(s->bytes_val);
    free(s->ints_val);
}

static void test_message_encodes_to_its_hand_written_rfc4506_bytes(void **state)
{
    uint8_t *buf = pt_guard_alloc(sizeof sample_wire);
    parley_enc e;

    assert_non_null(buf);
    parley_enc_init(&e, buf, sizeof sample_wire);
    sample_encode(&e, &sample_value);
    expect_encoding(&e, sample_wire, sizeof sample_wire);
    pt_guard_free(buf);
}

static void test_message_decodes_from_its_hand_written_rfc4506_bytes(void **state)
{
    struct sample s;
    parley_dec d;
    const void *g;
    size_t used;

    g = guarded_dec(&d, sample_wire, sizeof sample_wire, NULL);
    sample_decode(&d, &s);
    assert_int_equal(parley_dec_finish(&d, &used), PARLEY_OK);
    assert_int_equal(used, sizeof sample_wire);
    assert_int_equal(s.u, sample_value.u);
    assert_true(s.h == sample_value.h);
    assert_int_equal(s.b, TRUE);
    assert_memory_equal(s.fixed, "abcde", 5);
    assert_string_equal(s.s, "hello");
    assert_int_equal(s.bytes_len, 3);
    assert_memory_equal(s.bytes_val, "\x00\xff\x7f", 3);
    assert_int_equal(s.ints_len, 3);
    assert_memory_equal(s.ints_val, sample_ints, sizeof sample_ints);
    assert_true(s.hypers[0] == (uint64_t)-2 && s.hypers[1] == 0x0102030405060708u);
    assert_true(s.fl[0] == 1.0f && s.fl[1] == -0.5f);
    assert_true(s.db[0] == 2.0);
    assert_int_equal(d.budget, PARLEY_DEFAULT_MAX_ALLOC - 6 - 3 - 12);
    sample_free(&s);
    pt_guard_free(g);
}

static void test_decode_of_message_cut_at_every_point_is_truncated_and_leaks_nothing(void **state)
{
    size_t cut;

    for (cut = 0; cut < sizeof sample_wire; cut++) {
        struct sample s;
        parley_dec d;
        const void *g = guarded_dec(&d, sample_wire, cut, NULL);

        sample_decode(&d, &s);
        assert_int_equal(parley_dec_finish(&d, NULL), PARLEY_ERR_TRUNCATED);
        assert_true(d.err_at >= d.start && d.err_at <= d.start + cut);
        /* What failed is NULL, what succeeded is owned: sample_free (like a
         * generated _free) releases it, and the sanitizer checks for leaks. */
        sample_free(&s);
        pt_guard_free(g);
    }
}

static void test_encode_of_message_into_every_too_small_buffer_is_buffer_full(void **state)
{
    size_t cap;

    for (cap = 0; cap < sizeof sample_wire; cap++) {
        uint8_t *buf = pt_guard_alloc(cap);
        parley_enc e;
        size_t used;

        assert_non_null(buf);
        parley_enc_init(&e, buf, cap);
        sample_encode(&e, &sample_value);
        assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_BUFFER_FULL);
        /* What was written before the failure is a prefix of the message. */
        used = (size_t)(e.p - e.start);
        assert_true(used <= cap);
        assert_memory_equal(buf, sample_wire, used);
        pt_guard_free(buf);
    }
}

static void test_decode_of_random_garbage_never_reads_past_the_end_or_leaks(void **state)
{
    enum { room = sizeof sample_wire + 16 };
    uint8_t *tail = pt_guard_alloc(room);
    int round;

    /* Each input is placed at the end of one guarded buffer, right before
     * its guard page, which saves a mapping per round. */
    assert_non_null(tail);
    for (round = 0; round < 20000; round++) {
        size_t len = rng() % room, hits = 1 + rng() % 4, i;
        uint8_t *garbage = tail + room - len;
        parley_limits lim = {rng() % 64, 0, rng() & 1 ? PARLEY_DEC_LAX_PADDING : 0, NULL};
        struct sample s;
        parley_dec d;
        int err;

        /* Start from (a prefix of) the real message and damage it, so that
         * decoding gets past the first fields often enough to reach the
         * later ones; now and then, use noise instead. */
        memset(garbage, 0, len);
        memcpy(garbage, sample_wire, len < sizeof sample_wire ? len : sizeof sample_wire);
        for (i = 0; i < hits && len != 0; i++)
            garbage[rng() % len] = (uint8_t)rng();
        if (rng() % 4 == 0)
            for (i = 0; i < len; i++)
                garbage[i] = (uint8_t)(rng() % 3 == 0 ? rng() : 0);

        parley_dec_init(&d, garbage, len, &lim);
        sample_decode(&d, &s);
        err = parley_dec_finish(&d, NULL);
        assert_true(err == PARLEY_OK || err == PARLEY_ERR_TRUNCATED || err == PARLEY_ERR_TOO_LONG ||
                    err == PARLEY_ERR_LIMIT || err == PARLEY_ERR_BAD_BOOL ||
                    err == PARLEY_ERR_BAD_PADDING || err == PARLEY_ERR_BAD_STRING);
        if (err == PARLEY_OK)
            assert_non_null(s.s);
        else
            assert_true(d.err_at >= d.start && d.err_at <= d.start + len);
        sample_free(&s);
    }
    pt_guard_free(tail);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errname_names_every_error_value),
        cmocka_unit_test(test_strerror_gives_a_distinct_text_for_every_error_value),
        cmocka_unit_test(test_errors_outside_the_enumeration_are_unknown),
        cmocka_unit_test(test_padding_rounds_lengths_up_to_a_multiple_of_four),
        cmocka_unit_test(test_u32_encodes_big_endian),
        cmocka_unit_test(test_u64_encodes_big_endian_high_word_first),
        cmocka_unit_test(test_u32_and_u64_decode_what_they_encode),
        cmocka_unit_test(test_decode_of_u32_and_u64_past_the_end_is_truncated),
        cmocka_unit_test(test_bool_encodes_as_a_word_of_zero_or_one),
        cmocka_unit_test(test_encode_rejects_bool_other_than_zero_or_one),
        cmocka_unit_test(test_decode_rejects_bool_other_than_zero_or_one),
        cmocka_unit_test(test_float_and_double_encode_as_big_endian_ieee_bits),
        cmocka_unit_test(test_fixed_opaque_encodes_with_zero_padding),
        cmocka_unit_test(test_fixed_opaque_decodes_what_it_encodes),
        cmocka_unit_test(test_decode_rejects_fixed_opaque_with_nonzero_padding),
        cmocka_unit_test(test_decode_of_truncated_fixed_opaque_zeroes_it),
        cmocka_unit_test(test_string_encodes_as_length_bytes_and_zero_padding),
        cmocka_unit_test(test_encode_rejects_string_longer_than_its_bound),
        cmocka_unit_test(test_encode_rejects_null_string),
        cmocka_unit_test(test_encode_of_string_into_too_small_buffer_is_buffer_full_at_every_size),
        cmocka_unit_test(test_string_decodes_into_a_new_nul_terminated_allocation),
        cmocka_unit_test(test_empty_string_decodes_as_an_allocated_empty_string),
        cmocka_unit_test(test_decode_rejects_string_longer_than_its_bound),
        cmocka_unit_test(test_decode_rejects_string_with_an_embedded_nul),
        cmocka_unit_test(test_decode_rejects_string_with_nonzero_padding_unless_lax),
        cmocka_unit_test(test_decode_rejects_string_length_of_0xffffffff_without_allocating),
        cmocka_unit_test(test_decode_rejects_string_whose_padding_is_missing),
        cmocka_unit_test(test_decode_rejects_string_over_the_allocation_budget),
        cmocka_unit_test(test_bytes_encode_as_length_data_and_zero_padding),
        cmocka_unit_test(test_encode_rejects_bytes_longer_than_their_bound),
        cmocka_unit_test(test_encode_rejects_null_bytes_of_nonzero_length),
        cmocka_unit_test(test_encode_of_bytes_into_too_small_buffer_is_buffer_full_at_every_size),
        cmocka_unit_test(test_bytes_decode_into_a_new_allocation_nuls_and_all),
        cmocka_unit_test(test_empty_bytes_decode_as_null_and_zero_length),
        cmocka_unit_test(
            test_decode_rejects_bytes_that_are_too_long_truncated_badly_padded_or_over_budget),
        cmocka_unit_test(test_count_encodes_as_a_length_word),
        cmocka_unit_test(test_encode_rejects_count_above_its_bound_or_null_elements),
        cmocka_unit_test(test_count_decodes_when_bound_bytes_and_budget_allow_it),
        cmocka_unit_test(test_decode_rejects_count_above_its_bound),
        cmocka_unit_test(test_decode_rejects_count_the_remaining_bytes_cannot_hold),
        cmocka_unit_test(test_decode_rejects_count_whose_elements_exceed_the_budget),
        cmocka_unit_test(test_decode_rejects_count_of_0xffffffff),
        cmocka_unit_test(test_decode_of_count_does_not_let_size_products_wrap),
        cmocka_unit_test(test_u32_array_encodes_each_value_big_endian),
        cmocka_unit_test(test_u64_array_encodes_each_value_big_endian),
        cmocka_unit_test(test_float_and_double_arrays_encode_as_big_endian_ieee_bits),
        cmocka_unit_test(
            test_arrays_encode_as_consecutive_single_values_at_any_length_and_alignment),
        cmocka_unit_test(test_arrays_decode_what_they_encode_without_reading_past_the_end),
        cmocka_unit_test(test_arrays_decode_from_an_unaligned_buffer),
        cmocka_unit_test(
            test_encode_of_arrays_into_too_small_buffer_is_buffer_full_and_writes_nothing),
        cmocka_unit_test(test_decode_of_truncated_arrays_zeroes_the_values),
        cmocka_unit_test(test_arrays_reject_null_values_of_nonzero_count),
        cmocka_unit_test(test_array_lengths_whose_byte_size_overflows_are_rejected),
        cmocka_unit_test(test_decoder_takes_defaults_for_null_or_zero_limits),
        cmocka_unit_test(test_decoder_over_a_null_buffer_is_empty_or_null),
        cmocka_unit_test(test_encoder_over_a_null_buffer_is_empty_or_null),
        cmocka_unit_test(test_dec_alloc_charges_the_budget_and_zero_fills),
        cmocka_unit_test(test_dec_alloc_rejects_allocation_over_the_budget),
        cmocka_unit_test(test_dec_alloc_of_zero_bytes_returns_null_without_error),
        cmocka_unit_test(test_dec_alloc_reports_nomem_when_memory_runs_out),
        cmocka_unit_test(test_decoder_rejects_nesting_deeper_than_its_limit),
        cmocka_unit_test(test_encoder_keeps_its_first_error_and_writes_nothing_after_it),
        cmocka_unit_test(test_decoder_keeps_its_first_error_and_allocates_nothing_after_it),
        cmocka_unit_test(test_message_encodes_to_its_hand_written_rfc4506_bytes),
        cmocka_unit_test(test_message_decodes_from_its_hand_written_rfc4506_bytes),
        cmocka_unit_test(test_decode_of_message_cut_at_every_point_is_truncated_and_leaks_nothing),
        cmocka_unit_test(test_encode_of_message_into_every_too_small_buffer_is_buffer_full),
        cmocka_unit_test(test_decode_of_random_garbage_never_reads_past_the_end_or_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
