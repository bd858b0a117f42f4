/*
 * test_diff_rpcgen.c: the differential test of Parley against rpcgen and
 * libtirpc, the implementation Parley promises to be compatible with.
 *
 * alltypes.x uses every type class of the XDR language that rpcgen accepts.
 * For each value, built from the same options once by each side (see
 * diff.h), the test checks that
 *   - both sides built the same value, read through either header;
 *   - Parley's alltypes_top_encode() and libtirpc's xdr_alltypes_top() write
 *     the very same bytes, and alltypes_top_size() predicts their number;
 *   - each side also encodes the value the other side built to those bytes,
 *     so the two headers really lay the types out alike;
 *   - Parley decodes libtirpc's bytes, read from a buffer that ends at an
 *     inaccessible page, to a value equal to its own, and libtirpc decodes
 *     Parley's bytes to a value equal to its own;
 *   - neither side encodes into one byte too few or decodes one byte too
 *     few, and Parley leaves a value it failed to decode zeroed;
 *   - every named type inside the value (parts.h), through its own
 *     functions, encodes to the same bytes on both sides, and each side's
 *     decoding of the other's bytes encodes back to them; Parley's decoder
 *     also reports how many bytes it used, or refuses trailing ones.
 * The values are random (2,000 seeds by default), empty, or at their
 * bounds, with every union arm taken in turn, and include linked lists of
 * 1,000 nodes. Both sides must also refuse every truncation of a value and
 * every value pushed over one of its bounds. A failure names the seed; to
 * rerun just one random seed, set PARLEY_DIFF_FIRST_SEED to it and
 * PARLEY_DIFF_SEEDS to 1 (PARLEY_DIFF_SEEDS alone runs more or fewer).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "guard.h"
#include "parley/arena.h"
#include "parley/error.h"

#define DEFAULT_SEEDS 2000u

/* Room for the largest value a test builds (the long lists included). */
#define BUF_CAP ((size_t)1 << 20)

static uint8_t parley_bytes[BUF_CAP];
static uint8_t tirpc_bytes[BUF_CAP];
static uint8_t scratch[BUF_CAP];

/* BUF_CAP bytes that end right before an inaccessible page, mapped once for
 * all the tests (see guarded()). */
static uint8_t *guard_area;

static int map_guard_area(void **state)
{
    (void)state;
    guard_area = pt_guard_alloc(BUF_CAP);
    return guard_area ? 0 : -1;
}

static int unmap_guard_area(void **state)
{
    (void)state;
    pt_guard_free(guard_area);
    return 0;
}

/* guarded returns a copy of the n bytes at bytes that ends right before an
 * inaccessible page, so that a decoder reading past the end crashes. The
 * copy lasts until the next call. */
static const void *guarded(const void *bytes, size_t n)
{
    assert_true(n <= BUF_CAP);
    memcpy(guard_area + BUF_CAP - n, bytes, n);
    return guard_area + BUF_CAP - n;
}

/* env_number returns the environment variable name as a number, or dflt
 * when it is unset or not a number. */
static unsigned long long env_number(const char *name, unsigned long long dflt)
{
    const char *s = getenv(name);
    char *end;
    if (!s || !*s)
        return dflt;
    unsigned long long n = strtoull(s, &end, 0);
    return *end ? dflt : n;
}

/* describe writes what a failure message needs to rebuild the value. */
static void describe(char *out, size_t n, const diff_fill_opts *o)
{
    static const char *const profiles[] = {"random", "empty", "full"};
    snprintf(out, n, "seed %llu (%s value, arm %d, lists of %u%s)", (unsigned long long)o->seed,
             profiles[o->profile], o->arm, o->list_len,
             o->negative_longs ? ", negative longs" : "");
}

/* expect_same_bytes fails the test, naming the first differing offset and
 * the words around it, unless the two encodings are identical. */
static void expect_same_bytes(const char *what, const char *an, const uint8_t *a, size_t alen,
                              const char *bn, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    size_t at = 0;
    while (at < n && a[at] == b[at])
        at++;
    if (at == n && alen == blen)
        return;
    char ha[64] = "", hb[64] = "";
    size_t from = at & ~(size_t)3;
    for (size_t i = from; i < from + 12; i++) {
        if (i < alen)
            snprintf(ha + strlen(ha), sizeof ha - strlen(ha), "%02x%s", a[i],
                     i % 4 == 3 ? " " : "");
        if (i < blen)
            snprintf(hb + strlen(hb), sizeof hb - strlen(hb), "%02x%s", b[i],
                     i % 4 == 3 ? " " : "");
    }
    fail_msg("%s: %s wrote %zu bytes and %s %zu; they first differ at offset %zu:\n"
             "  %-8s %s\n  %-8s %s",
             what, an, alen, bn, blen, at, an, ha, bn, hb);
}

/* all_zero reports whether the n bytes at p are zero. */
static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

#define TOP DIFF_PART_alltypes_top

/* The names of the parts, for messages. */
static const char *const part_names[] = {
#define PART_NAME_(type, where) #type,
    DIFF_PARTS(PART_NAME_)
#undef PART_NAME_
};

/* cross_check_top runs the checks of the file comment on the alltypes_top
 * values a (built by Parley's side) and b (by rpcgen's), equal as built
 * from o. */
static void cross_check_top(const diff_fill_opts *o, const char *what, void *a, void *b)
{
    char why[512];
    size_t plen = 0, tlen = 0, len = 0;
    int rc;

    if (!diff_parley_equal(a, b, why, sizeof why))
        fail_msg("%s: the two sides built different values, at %s", what, why);
    if (!diff_rpcgen_equal(a, b, why, sizeof why))
        fail_msg("%s: the two sides built different values (rpcgen's header), at %s", what, why);

    /* The same bytes from both encoders, whichever side built the value. */
    rc = diff_parley_encode(TOP, a, parley_bytes, BUF_CAP, &plen);
    if (rc != PARLEY_OK)
        fail_msg("%s: Parley refused to encode: %s", what, parley_errname(rc));
    if (diff_parley_size(TOP, a) != plen)
        fail_msg("%s: alltypes_top_size() says %zu, the encoder wrote %zu", what,
                 diff_parley_size(TOP, a), plen);
    if (diff_rpcgen_encode(TOP, b, tirpc_bytes, BUF_CAP, &tlen) != 0)
        fail_msg("%s: libtirpc refused to encode", what);
    expect_same_bytes(what, "Parley", parley_bytes, plen, "libtirpc", tirpc_bytes, tlen);

    if (diff_rpcgen_encode(TOP, a, scratch, BUF_CAP, &len) != 0)
        fail_msg("%s: libtirpc refused to encode Parley's value", what);
    expect_same_bytes(what, "Parley", parley_bytes, plen, "libtirpc (Parley's value)", scratch,
                      len);
    rc = diff_parley_encode(TOP, b, scratch, BUF_CAP, &len);
    if (rc != PARLEY_OK)
        fail_msg("%s: Parley refused to encode rpcgen's value: %s", what, parley_errname(rc));
    expect_same_bytes(what, "libtirpc", tirpc_bytes, tlen, "Parley (rpcgen's value)", scratch, len);

    /* One byte too few for either encoder. */
    rc = diff_parley_encode(TOP, a, scratch, plen - 1, &len);
    if (rc != PARLEY_ERR_BUFFER_FULL)
        fail_msg("%s: Parley encoding into %zu bytes gave %s", what, plen - 1, parley_errname(rc));
    if (diff_rpcgen_encode(TOP, b, scratch, tlen - 1, &len) == 0)
        fail_msg("%s: libtirpc encoded into %zu bytes", what, tlen - 1);

    /* Each side decodes the other's bytes to its own value. */
    void *a2 = diff_parley_new(TOP);
    rc = diff_parley_decode(TOP, a2, guarded(tirpc_bytes, tlen), tlen, NULL);
    if (rc != PARLEY_OK)
        fail_msg("%s: Parley failed to decode libtirpc's bytes: %s", what, parley_errname(rc));
    if (!diff_parley_equal(a, a2, why, sizeof why))
        fail_msg("%s: Parley decoded libtirpc's bytes to a different value, at %s", what, why);

    /* Its deep copies, on the heap and in an arena, encode to those bytes;
     * the heap copy outlives the decoded value and T_free releases it. */
    parley_arena *arena = parley_arena_create(0);
    assert_non_null(arena);
    void *ac = diff_parley_new(TOP), *hc = diff_parley_new(TOP);
    rc = diff_parley_copy(TOP, ac, a2, arena);
    if (rc != PARLEY_OK)
        fail_msg("%s: Parley failed to copy into an arena: %s", what, parley_errname(rc));
    rc = diff_parley_copy(TOP, hc, a2, NULL);
    if (rc != PARLEY_OK)
        fail_msg("%s: Parley failed to copy onto the heap: %s", what, parley_errname(rc));
    /* the decoded value goes first: the copies must not point into it */
    diff_parley_release(TOP, a2);
    assert_int_equal(diff_parley_encode(TOP, ac, scratch, BUF_CAP, &len), PARLEY_OK);
    expect_same_bytes(what, "libtirpc", tirpc_bytes, tlen, "Parley (arena copy)", scratch, len);
    assert_int_equal(diff_parley_encode(TOP, hc, scratch, BUF_CAP, &len), PARLEY_OK);
    expect_same_bytes(what, "libtirpc", tirpc_bytes, tlen, "Parley (heap copy)", scratch, len);
    diff_parley_release(TOP, hc);
    free(ac);
    parley_arena_destroy(arena);

    void *b2 = diff_rpcgen_new(TOP);
    memcpy(scratch, parley_bytes, plen);
    if (diff_rpcgen_decode(TOP, b2, scratch, plen, NULL) != 0)
        fail_msg("%s: libtirpc failed to decode Parley's bytes", what);
    if (!o->negative_longs && !diff_rpcgen_equal(b, b2, why, sizeof why))
        fail_msg("%s: libtirpc decoded Parley's bytes to a different value, at %s", what, why);
    diff_rpcgen_release(TOP, b2);

    /* One byte too few for either decoder; Parley zeroes what it failed
     * to decode. */
    a2 = diff_parley_new(TOP);
    rc = diff_parley_decode(TOP, a2, guarded(tirpc_bytes, tlen - 1), tlen - 1, NULL);
    if (rc != PARLEY_ERR_TRUNCATED)
        fail_msg("%s: Parley decoding %zu bytes gave %s", what, tlen - 1, parley_errname(rc));
    if (!all_zero(a2, diff_parley_sizeof(TOP)))
        fail_msg("%s: Parley left a value it failed to decode non-zero", what);
    diff_parley_release(TOP, a2);
    b2 = diff_rpcgen_new(TOP);
    memcpy(scratch, parley_bytes, plen - 1);
    if (diff_rpcgen_decode(TOP, b2, scratch, plen - 1, NULL) == 0)
        fail_msg("%s: libtirpc decoded %zu bytes", what, plen - 1);
    diff_rpcgen_release(TOP, b2);
}

/* cross_check_part runs the checks of the file comment on part k of the
 * alltypes_top values a and b, through that type's own functions. Values
 * decoded on their own are compared by encoding them again, the encoders
 * being checked already. */
static void cross_check_part(const char *what, void *a, void *b, int k)
{
    const char *type = part_names[k];
    char whats[256];
    snprintf(whats, sizeof whats, "%s, the %s on its own", what, type);
    what = whats;
    void *pa = diff_parley_part(a, k);
    void *pb = diff_rpcgen_part(b, k);
    size_t plen = 0, tlen = 0, len = 0, used = 0;
    int rc;

    if (!pa || !pb) {
        if (pa || pb)
            fail_msg("%s: only one side's value has one", what);
        return;
    }
    rc = diff_parley_encode(k, pa, parley_bytes, BUF_CAP, &plen);
    if (rc != PARLEY_OK)
        fail_msg("%s: Parley refused to encode it: %s", what, parley_errname(rc));
    if (diff_parley_size(k, pa) != plen)
        fail_msg("%s: %s_size() says %zu, the encoder wrote %zu", what, type,
                 diff_parley_size(k, pa), plen);
    if (diff_rpcgen_encode(k, pb, tirpc_bytes, BUF_CAP, &tlen) != 0)
        fail_msg("%s: libtirpc refused to encode it", what);
    expect_same_bytes(what, "Parley", parley_bytes, plen, "libtirpc", tirpc_bytes, tlen);

    /* Parley decodes libtirpc's bytes, followed by a word of trailing
     * bytes that only a caller who asked how many were used accepts. */
    memcpy(scratch, tirpc_bytes, tlen);
    memset(scratch + tlen, 0, 4);
    const void *in = guarded(scratch, tlen + 4);
    void *a2 = diff_parley_new(k);
    rc = diff_parley_decode(k, a2, in, tlen + 4, NULL);
    if (rc != PARLEY_ERR_TRAILING)
        fail_msg("%s: Parley decoding a %s with trailing bytes gave %s", what, type,
                 parley_errname(rc));
    rc = diff_parley_decode(k, a2, in, tlen + 4, &used);
    if (rc != PARLEY_OK)
        fail_msg("%s: Parley failed to decode libtirpc's bytes: %s", what, parley_errname(rc));
    if (used != tlen)
        fail_msg("%s: Parley used %zu of libtirpc's %zu bytes", what, used, tlen);
    rc = diff_parley_encode(k, a2, scratch, BUF_CAP, &len);
    if (rc != PARLEY_OK)
        fail_msg("%s: Parley refused to encode the %s it decoded: %s", what, type,
                 parley_errname(rc));
    expect_same_bytes(what, "libtirpc", tirpc_bytes, tlen, "Parley (decoded)", scratch, len);
    diff_parley_release(k, a2);

    /* libtirpc decodes Parley's bytes. */
    void *b2 = diff_rpcgen_new(k);
    memcpy(scratch, parley_bytes, plen);
    if (diff_rpcgen_decode(k, b2, scratch, plen, NULL) != 0)
        fail_msg("%s: libtirpc failed to decode Parley's bytes", what);
    if (diff_rpcgen_encode(k, b2, scratch, BUF_CAP, &len) != 0)
        fail_msg("%s: libtirpc refused to encode what it decoded", what);
    expect_same_bytes(what, "Parley", parley_bytes, plen, "libtirpc (decoded)", scratch, len);
    diff_rpcgen_release(k, b2);
}

/* cross_check builds the value that o describes on both sides and runs
 * every check on it and on each of its parts. */
static void cross_check(const diff_fill_opts *o)
{
    char what[128];
    describe(what, sizeof what, o);
    void *a = diff_parley_new(TOP);
    void *b = diff_rpcgen_new(TOP);
    diff_parley_fill(a, o);
    diff_rpcgen_fill(b, o);
    cross_check_top(o, what, a, b);
    for (int k = TOP + 1; k < DIFF_PART_COUNT_; k++)
        cross_check_part(what, a, b, k);
    diff_parley_release(TOP, a);
    diff_rpcgen_release(TOP, b);
}

/* ---- tests ------------------------------------------------------------ */

static void test_random_values_encode_identically_under_parley_and_libtirpc(void **state)
{
    (void)state;
    unsigned long long first = env_number("PARLEY_DIFF_FIRST_SEED", 1);
    unsigned long long count = env_number("PARLEY_DIFF_SEEDS", DEFAULT_SEEDS);
    for (unsigned long long s = first; s < first + count; s++) {
        diff_fill_opts o = {.seed = s, .profile = DIFF_RANDOM, .arm = -1};
        cross_check(&o);
    }
}

static void test_empty_values_encode_identically_in_every_union_arm(void **state)
{
    (void)state;
    for (int arm = 0; arm < DIFF_MAX_ARMS; arm++) {
        for (uint64_t s = 1; s <= 4; s++) {
            diff_fill_opts o = {.seed = s, .profile = DIFF_EMPTY, .arm = arm};
            cross_check(&o);
        }
    }
}

static void test_values_at_their_bounds_encode_identically_in_every_union_arm(void **state)
{
    (void)state;
    for (int arm = 0; arm < DIFF_MAX_ARMS; arm++) {
        for (uint64_t s = 1; s <= 16; s++) {
            diff_fill_opts o = {.seed = s, .profile = DIFF_FULL, .arm = arm};
            cross_check(&o);
        }
    }
}

static void test_random_values_cross_in_every_union_arm(void **state)
{
    (void)state;
    for (int arm = 0; arm < DIFF_MAX_ARMS; arm++) {
        for (uint64_t s = 1; s <= 50; s++) {
            diff_fill_opts o = {.seed = 1000000 + s, .profile = DIFF_RANDOM, .arm = arm};
            cross_check(&o);
        }
    }
}

static void test_long_linked_lists_cross_both_ways(void **state)
{
    (void)state;
    diff_fill_opts o = {.seed = 7, .profile = DIFF_RANDOM, .arm = -1, .list_len = 1000};
    cross_check(&o);
}

/* libtirpc reads a negative long back as a large positive one on a 64-bit
 * host, so only its encoding is compared with Parley's here; Parley must
 * still decode libtirpc's bytes to the negative value. */
static void test_negative_longs_encode_identically(void **state)
{
    (void)state;
    for (uint64_t s = 1; s <= 20; s++) {
        diff_fill_opts o = {.seed = s,
                            .profile = s <= 10 ? DIFF_RANDOM : DIFF_FULL,
                            .arm = -1,
                            .negative_longs = 1};
        cross_check(&o);
    }
}

static void test_both_sides_refuse_every_truncation_of_a_value(void **state)
{
    (void)state;
    char what[128];
    /* Random values take every union arm; one value at its bounds (a few
     * kilobytes, hence only one) takes every maximum length. */
    for (int arm = 0; arm <= DIFF_MAX_ARMS; arm++) {
        diff_fill_opts o = {.seed = 5, .profile = DIFF_RANDOM, .arm = arm};
        if (arm == DIFF_MAX_ARMS)
            o = (diff_fill_opts){.seed = 5, .profile = DIFF_FULL, .arm = 7};
        describe(what, sizeof what, &o);
        void *a = diff_parley_new(TOP);
        diff_parley_fill(a, &o);
        size_t plen = 0;
        assert_int_equal(diff_parley_encode(TOP, a, parley_bytes, BUF_CAP, &plen), PARLEY_OK);
        for (size_t cut = 0; cut < plen; cut++) {
            void *a2 = diff_parley_new(TOP);
            int rc = diff_parley_decode(TOP, a2, guarded(parley_bytes, cut), cut, NULL);
            if (rc != PARLEY_ERR_TRUNCATED)
                fail_msg("%s: Parley decoding the first %zu of %zu bytes gave %s", what, cut, plen,
                         parley_errname(rc));
            if (!all_zero(a2, diff_parley_sizeof(TOP)))
                fail_msg("%s: Parley left a value cut at %zu bytes non-zero", what, cut);
            diff_parley_release(TOP, a2);

            void *b2 = diff_rpcgen_new(TOP);
            memcpy(scratch, parley_bytes, cut);
            if (diff_rpcgen_decode(TOP, b2, scratch, cut, NULL) == 0)
                fail_msg("%s: libtirpc decoded the first %zu of %zu bytes", what, cut, plen);
            diff_rpcgen_release(TOP, b2);
        }
        diff_parley_release(TOP, a);
    }
}

static void test_both_sides_refuse_to_encode_values_over_their_bounds(void **state)
{
    (void)state;
    diff_fill_opts o = {.seed = 3, .profile = DIFF_FULL, .arm = 7};
    for (int which = 0; which < DIFF_OVERFLOWS; which++) {
        void *a = diff_parley_new(TOP);
        void *b = diff_rpcgen_new(TOP);
        diff_parley_fill(a, &o);
        diff_rpcgen_fill(b, &o);
        const char *field = diff_parley_overflow(a, which);
        assert_non_null(field);
        assert_string_equal(diff_rpcgen_overflow(b, which), field);
        size_t len = 0;
        int rc = diff_parley_encode(TOP, a, parley_bytes, BUF_CAP, &len);
        if (rc != PARLEY_ERR_TOO_LONG)
            fail_msg("%s over its bound: Parley's encoder gave %s", field, parley_errname(rc));
        if (diff_rpcgen_encode(TOP, b, tirpc_bytes, BUF_CAP, &len) == 0)
            fail_msg("%s over its bound: libtirpc encoded it", field);
        diff_parley_release(TOP, a);
        /* xdr_free() stops at a string or opaque over its bound and leaks
         * the rest, so b, which fill() allocated with malloc() like a, is
         * released by Parley's function, which the two layouts allow. */
        diff_parley_release(TOP, b);
    }
    assert_null(diff_parley_overflow(NULL, DIFF_OVERFLOWS));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_values_encode_identically_under_parley_and_libtirpc),
        cmocka_unit_test(test_empty_values_encode_identically_in_every_union_arm),
        cmocka_unit_test(test_values_at_their_bounds_encode_identically_in_every_union_arm),
        cmocka_unit_test(test_random_values_cross_in_every_union_arm),
        cmocka_unit_test(test_long_linked_lists_cross_both_ways),
        cmocka_unit_test(test_negative_longs_encode_identically),
        cmocka_unit_test(test_both_sides_refuse_every_truncation_of_a_value),
        cmocka_unit_test(test_both_sides_refuse_to_encode_values_over_their_bounds),
    };
    return cmocka_run_group_tests(tests, map_guard_area, unmap_guard_area);
}
