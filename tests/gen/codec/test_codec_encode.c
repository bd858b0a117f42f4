/*
 * test_codec_encode.c: the generated encoders refuse values a decoder would
 * reject, each with its own error (docs/idl.md): a NULL string
 * (PARLEY_ERR_NULL), an array or string longer than its bound
 * (PARLEY_ERR_TOO_LONG), array storage missing for a non-zero count
 * (PARLEY_ERR_NULL), an enum value outside the enum (PARLEY_ERR_BAD_ENUM), a
 * bool other than 0 or 1 (PARLEY_ERR_BAD_BOOL), a discriminant without an
 * arm (PARLEY_ERR_BAD_UNION), a long that does not fit 32 bits
 * (PARLEY_ERR_RANGE); and an output buffer too small by any amount gives
 * PARLEY_ERR_BUFFER_FULL without a byte written past its end.
 *
 * Output buffers end right before an inaccessible page, so a write past the
 * capacity crashes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "codec_support.h"

/* S makes a modifiable string from a literal (the types hold char *). */
#define S(lit) ((char[]){lit})

/* expect_enc_err checks that v of the type named tn does not encode, with
 * want, into a buffer large enough for any of these values, and that
 * T_encode leaves *len alone. */
static void expect_enc_err(const char *tn, const void *v, int want)
{
    const codec_type *t = ct_type(tn);
    uint8_t *out = ct_guard_out(4096);
    size_t len = 12345;
    int rc = t->encode(v, out, 4096, &len);
    if (rc != want)
        fail_msg("%s_encode: %s, expected %s", tn, parley_errname(rc), parley_errname(want));
    assert_int_equal(len, 12345);
}

/* ---- values the encoders refuse ------------------------------------------ */

static void test_encode_rejects_null_strings(void **state)
{
    (void)state;
    name nm = NULL;
    expect_enc_err("name", &nm, PARLEY_ERR_NULL);
    text tx = NULL;
    expect_enc_err("text", &tx, PARLEY_ERR_NULL);

    inner in;
    memset(&in, 0, sizeof in);
    expect_enc_err("inner", &in, PARLEY_ERR_NULL);

    strs st = {{S("a"), NULL}, {0, NULL}, S("")};
    expect_enc_err("strs", &st, PARLEY_ERR_NULL);
    st.pair[1] = S("b");
    name two[2] = {S("x"), NULL};
    st.many.names_len = 2;
    st.many.names_val = two;
    expect_enc_err("strs", &st, PARLEY_ERR_NULL);

    by_int bi;
    memset(&bi, 0, sizeof bi);
    bi.kind = 3;
    expect_enc_err("by_int", &bi, PARLEY_ERR_NULL);

    /* in the third element of a list */
    node n3 = {3, NULL, NULL};
    node n2 = {2, S("b"), &n3};
    node n1 = {1, S("a"), &n2};
    expect_enc_err("node", &n1, PARLEY_ERR_NULL);
}

static void test_encode_rejects_strings_and_arrays_longer_than_their_bound(void **state)
{
    (void)state;
    name nm = S("123456789");
    expect_enc_err("name", &nm, PARLEY_ERR_TOO_LONG);

    char thirteen[BLOB_MAX + 1] = {0};
    blob bl = {BLOB_MAX + 1, thirteen};
    expect_enc_err("blob", &bl, PARLEY_ERR_TOO_LONG);

    int four[ROW_MAX + 1] = {1, 2, 3, 4};
    row rw = {ROW_MAX + 1, four};
    expect_enc_err("row", &rw, PARLEY_ERR_TOO_LONG);
    rw.row_len = 0xffffffffu;
    expect_enc_err("row", &rw, PARLEY_ERR_TOO_LONG);

    row rows[MATRIX_MAX + 1] = {{0, NULL}, {0, NULL}, {0, NULL}, {0, NULL}};
    matrix m = {MATRIX_MAX + 1, rows};
    expect_enc_err("matrix", &m, PARLEY_ERR_TOO_LONG);
    /* an inner array too long */
    m.matrix_len = 2;
    rw.row_len = ROW_MAX + 1;
    rows[1] = rw;
    expect_enc_err("matrix", &m, PARLEY_ERR_TOO_LONG);

    name four_names[TAGS_MAX + 1] = {S("a"), S("b"), S("c"), S("d")};
    names ns = {TAGS_MAX + 1, four_names};
    expect_enc_err("names", &ns, PARLEY_ERR_TOO_LONG);

    by_int unions[4];
    memset(unions, 0, sizeof unions);
    for (int i = 0; i < 4; i++)
        unions[i].kind = -1;
    int_unions iu = {4, unions};
    expect_enc_err("int_unions", &iu, PARLEY_ERR_TOO_LONG);

    inner three[3];
    memset(three, 0, sizeof three);
    outer o;
    memset(&o, 0, sizeof o);
    o.first.label = S("");
    o.more.more_len = 3;
    o.more.more_val = three;
    expect_enc_err("outer", &o, PARLEY_ERR_TOO_LONG);
}

static void test_encode_rejects_missing_array_storage(void **state)
{
    (void)state;
    row rw = {2, NULL};
    expect_enc_err("row", &rw, PARLEY_ERR_NULL);
    blob bl = {3, NULL};
    expect_enc_err("blob", &bl, PARLEY_ERR_NULL);
    bytes by = {1, NULL};
    expect_enc_err("bytes", &by, PARLEY_ERR_NULL);
    hypers hs = {1, NULL};
    expect_enc_err("hypers", &hs, PARLEY_ERR_NULL);
    names ns = {1, NULL};
    expect_enc_err("names", &ns, PARLEY_ERR_NULL);
    /* and no storage with no elements is fine */
    row empty = {0, NULL};
    ct_expect_roundtrip(ct_type("row"), &empty);
}

static void test_encode_rejects_values_outside_an_enum(void **state)
{
    (void)state;
    color c = (color)3;
    expect_enc_err("color", &c, PARLEY_ERR_BAD_ENUM);
    c = (color)-1;
    expect_enc_err("color", &c, PARLEY_ERR_BAD_ENUM);
    status s = (status)1;
    expect_enc_err("status", &s, PARLEY_ERR_BAD_ENUM);
    s = (status)99999;
    expect_enc_err("status", &s, PARLEY_ERR_BAD_ENUM);

    scalars sc;
    memset(&sc, 0, sizeof sc);
    sc.st = (status)-2;
    expect_enc_err("scalars", &sc, PARLEY_ERR_BAD_ENUM);

    outer o;
    memset(&o, 0, sizeof o);
    o.first.label = S("");
    o.palette[1] = (color)5;
    expect_enc_err("outer", &o, PARLEY_ERR_BAD_ENUM);

    by_enum be;
    memset(&be, 0, sizeof be);
    be.c = (color)7;
    expect_enc_err("by_enum", &be, PARLEY_ERR_BAD_ENUM);
    by_enum_dflt bed;
    memset(&bed, 0, sizeof bed);
    bed.s = (status)5;
    expect_enc_err("by_enum_dflt", &bed, PARLEY_ERR_BAD_ENUM);
}

static void test_encode_rejects_bools_other_than_zero_and_one(void **state)
{
    (void)state;
    static const bool_t bad[] = {2, -1, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        scalars sc;
        memset(&sc, 0, sizeof sc);
        sc.b = bad[i];
        expect_enc_err("scalars", &sc, PARLEY_ERR_BAD_BOOL);

        outer o;
        memset(&o, 0, sizeof o);
        o.first.label = S("");
        o.flags[2] = bad[i];
        expect_enc_err("outer", &o, PARLEY_ERR_BAD_BOOL);

        by_bool bb;
        memset(&bb, 0, sizeof bb);
        bb.present = bad[i];
        expect_enc_err("by_bool", &bb, PARLEY_ERR_BAD_BOOL);
        by_bool_dflt bbd;
        memset(&bbd, 0, sizeof bbd);
        bbd.on = bad[i];
        expect_enc_err("by_bool_dflt", &bbd, PARLEY_ERR_BAD_BOOL);
    }
}

static void test_encode_rejects_discriminants_without_an_arm(void **state)
{
    (void)state;
    by_int bi;
    memset(&bi, 0, sizeof bi);
    static const int kinds[] = {0, 4, -2, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        bi.kind = kinds[i];
        expect_enc_err("by_int", &bi, PARLEY_ERR_BAD_UNION);
    }
    by_enum be;
    memset(&be, 0, sizeof be);
    be.c = BLUE;
    expect_enc_err("by_enum", &be, PARLEY_ERR_BAD_UNION);
    by_bool bb;
    memset(&bb, 0, sizeof bb);
    bb.present = FALSE;
    expect_enc_err("by_bool", &bb, PARLEY_ERR_BAD_UNION);
    by_uint bu;
    memset(&bu, 0, sizeof bu);
    bu.tag = 1;
    expect_enc_err("by_uint", &bu, PARLEY_ERR_BAD_UNION);
    bu.tag = 0x80000001u;
    expect_enc_err("by_uint", &bu, PARLEY_ERR_BAD_UNION);
    sparse sp;
    memset(&sp, 0, sizeof sp);
    sp.k = 2;
    expect_enc_err("sparse", &sp, PARLEY_ERR_BAD_UNION);

    /* inside an array, after other elements */
    by_int unions[2];
    memset(unions, 0, sizeof unions);
    unions[0].kind = -1;
    unions[1].kind = 9;
    int_unions iu = {2, unions};
    expect_enc_err("int_unions", &iu, PARLEY_ERR_BAD_UNION);
}

static void test_encode_rejects_longs_that_do_not_fit_32_bits(void **state)
{
    (void)state;
#if LONG_MAX > INT32_MAX
    scalars sc;
    memset(&sc, 0, sizeof sc);
    sc.l = (long)INT32_MAX + 1;
    expect_enc_err("scalars", &sc, PARLEY_ERR_RANGE);
    sc.l = (long)INT32_MIN - 1;
    expect_enc_err("scalars", &sc, PARLEY_ERR_RANGE);
    sc.l = INT32_MIN;
    ct_expect_roundtrip(ct_type("scalars"), &sc);
    sc.ul = (u_long)UINT32_MAX + 1;
    expect_enc_err("scalars", &sc, PARLEY_ERR_RANGE);
#else
    skip(); /* long has 32 bits here: every value fits */
#endif
}

/* ---- short buffers ------------------------------------------------------ */

/* every_short_buffer encodes v into buffers of every size below what it
 * needs, placed right before a guard page: each must fail with
 * PARLEY_ERR_BUFFER_FULL, with what was written a prefix of the encoding
 * and nothing written after it. */
static void every_short_buffer(const codec_type *t, const void *v)
{
    size_t n;
    uint8_t *want = ct_encode_new(t, v, &n);
    for (size_t cap = 0; cap < n; cap++) {
        uint8_t *out = ct_guard_out(cap);
        memset(out, 0xee, cap);
        size_t len = 12345;
        int rc = t->encode(v, out, cap, &len);
        if (rc != PARLEY_ERR_BUFFER_FULL || len != 12345)
            fail_msg("%s_encode into %zu of %zu bytes: %s", t->name, cap, n, parley_errname(rc));

        parley_enc e;
        memset(out, 0xee, cap);
        parley_enc_init(&e, out, cap);
        t->enc(&e, v);
        assert_int_equal(parley_enc_finish(&e, NULL), PARLEY_ERR_BUFFER_FULL);
        size_t wrote = (size_t)(e.p - e.start);
        assert_true(wrote <= cap);
        if (memcmp(out, want, wrote) != 0)
            fail_msg("%s: %zu bytes written into %zu are not the encoding's", t->name, wrote, cap);
        for (size_t i = wrote; i < cap; i++)
            if (out[i] != 0xee)
                fail_msg("%s: byte %zu written past the failure at %zu (cap %zu)", t->name, i,
                         wrote, cap);
    }
    free(want);
}

static void test_encode_into_a_short_buffer_fails_at_every_size(void **state)
{
    (void)state;
    for (size_t i = 0; i < ct_ntypes; i++) {
        const codec_type *t = &ct_types[i];
        ct_rng r;
        ct_seed(&r, 0xb0ffu + i);
        void *v = malloc(t->size);
        assert_non_null(v);
        for (int k = 0; k < 15; k++) {
            t->fill(&r, v);
            every_short_buffer(t, v);
            t->release(v);
        }
        free(v);
    }
}

static void test_encode_into_no_buffer_fails_cleanly(void **state)
{
    (void)state;
    point p = {1, 2};
    size_t len = 12345;
    assert_int_equal(point_encode(&p, NULL, 0, &len), PARLEY_ERR_BUFFER_FULL);
    assert_int_equal(point_encode(&p, NULL, 8, &len), PARLEY_ERR_NULL);
    assert_int_equal(len, 12345);
    /* and the exact size is enough, with len optional */
    uint8_t *out = ct_guard_out(8);
    assert_int_equal(point_encode(&p, out, 8, NULL), PARLEY_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_rejects_null_strings),
        cmocka_unit_test(test_encode_rejects_strings_and_arrays_longer_than_their_bound),
        cmocka_unit_test(test_encode_rejects_missing_array_storage),
        cmocka_unit_test(test_encode_rejects_values_outside_an_enum),
        cmocka_unit_test(test_encode_rejects_bools_other_than_zero_and_one),
        cmocka_unit_test(test_encode_rejects_discriminants_without_an_arm),
        cmocka_unit_test(test_encode_rejects_longs_that_do_not_fit_32_bits),
        cmocka_unit_test(test_encode_into_a_short_buffer_fails_at_every_size),
        cmocka_unit_test(test_encode_into_no_buffer_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
