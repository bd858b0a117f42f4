/*
 * test_codec_hostile.c: the generated decoders given input no honest peer
 * sends: valid encodings cut at every byte, lengths and counts of
 * 0xffffffff, 0x80000000, one past the bound or past the bytes that remain,
 * counts whose allocation would be huge, a small allocation budget,
 * allocations that fail, random garbage, and valid encodings with bytes
 * flipped or overwritten.
 *
 * Every input is read from a buffer that ends right before an inaccessible
 * page, so any over-read crashes; every decode is accounted (codec_support.h)
 * so a leak, or an allocation made before a length was checked, fails the
 * test even without the leak checker. Whatever decodes must be canonical: it
 * encodes back to the very bytes it was decoded from. The random loops are
 * seeded, bounded in count, and stop early past a time limit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec_support.h"

/* ---- helpers ---------------------------------------------------------- */

/* seconds returns a monotonic time in seconds. */
static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Each random loop stops after this long even if its count is not reached,
 * so that a slow machine or a sanitizer build stays within the timeout. */
#define LOOP_SECONDS 2.0

/* note_deadline says so when a loop stopped at its time limit rather than
 * its count, so that a slow run is seen to have tested less. */
static void note_deadline(const char *what, double stop)
{
    if (seconds() >= stop)
        print_message("%s: stopped at the time limit of %.0f s\n", what, LOOP_SECONDS);
}

/* expect_before_alloc checks that the n bytes at b fail to decode as tn with
 * want before anything was allocated, then makes the usual checks. */
static void expect_before_alloc(const char *tn, const void *b, size_t n, const parley_limits *lim,
                                int want)
{
    const codec_type *t = ct_type(tn);
    void *v = calloc(1, t->size);
    assert_non_null(v);
    ct_arm(-1);
    int rc = t->decode(v, ct_guard_in(b, n), n, NULL, lim);
    ct_disarm();
    if (rc != want || ct_alloc.calls != 0)
        fail_msg("%s: %s with %ld allocations, expected %s with none", tn, parley_errname(rc),
                 ct_alloc.calls, parley_errname(want));
    t->release(v);
    free(v);
    ct_expect_reject(t, b, n, lim, want);
}

/* counted builds a length (or count) word followed by have bytes of
 * filler (zeros). */
static void counted(ct_wire *w, uint32_t len, size_t have)
{
    ct_w32(w, len);
    for (size_t i = 0; i < have; i++)
        ct_wraw(w, "", 1);
}

/* ---- the account itself ---------------------------------------------------- */

static void test_allocation_account_sees_the_decoders_allocations(void **state)
{
    (void)state;
    /* Everything below that proves "nothing was allocated" relies on the
     * account seeing the runtime's allocations (the --wrap link options);
     * a string of three bytes is one allocation of four. */
    ct_wire w = {0};
    ct_wstr(&w, "abc", 3);
    name nm = NULL;
    ct_arm(-1);
    assert_int_equal(name_decode(&nm, w.b, w.n, NULL, NULL), PARLEY_OK);
    ct_disarm();
    assert_int_equal(ct_alloc.calls, 1);
    assert_int_equal(ct_alloc.bytes, 4);
    assert_int_equal(ct_alloc.live, 1);
    ct_arm(-1);
    name_free(&nm);
    ct_disarm();
    assert_int_equal(ct_alloc.live, -1);

    ct_arm(0);
    assert_int_equal(name_decode(&nm, w.b, w.n, NULL, NULL), PARLEY_ERR_NOMEM);
    ct_disarm();
    assert_null(nm);
    ct_wire_free(&w);
}

/* ---- truncation ----------------------------------------------------------- */

/* every_prefix checks each proper prefix of the n bytes at b. */
static void every_prefix(const codec_type *t, const uint8_t *b, size_t n)
{
    for (size_t cut = 0; cut < n; cut++)
        ct_expect_reject(t, b, cut, NULL, PARLEY_ERR_TRUNCATED);
}

static void test_every_prefix_of_a_valid_encoding_is_truncated(void **state)
{
    (void)state;
    double stop = seconds() + LOOP_SECONDS;
    for (size_t i = 0; i < ct_ntypes; i++) {
        const codec_type *t = &ct_types[i];
        ct_rng r;
        ct_seed(&r, 0xc07u + i);
        void *v = malloc(t->size);
        assert_non_null(v);
        int count = strcmp(t->name, "everything") == 0 ? 40 : 25;
        for (int k = 0; k < count && seconds() < stop; k++) {
            size_t n;
            t->fill(&r, v);
            uint8_t *enc = ct_encode_new(t, v, &n);
            t->release(v);
            every_prefix(t, enc, n);
            free(enc);
        }
        free(v);
    }
    note_deadline("prefixes", stop);
}

static void test_prefixes_of_lists_and_trees_free_what_was_built(void **state)
{
    (void)state;
    /* a four-element list: each cut leaves a partial list to release */
    node n4 = {4, (char[]){"dddd"}, NULL};
    node n3 = {3, (char[]){""}, &n4};
    node n2 = {2, (char[]){"bb"}, &n3};
    node n1 = {1, (char[]){"a"}, &n2};
    size_t n;
    uint8_t *enc = ct_encode_new(ct_type("node"), &n1, &n);
    every_prefix(ct_type("node"), enc, n);
    free(enc);

    /* a full tree of depth three */
    tree leaves[4] = {{NULL, NULL, 4}, {NULL, NULL, 5}, {NULL, NULL, 6}, {NULL, NULL, 7}};
    tree mid[2] = {{&leaves[0], &leaves[1], 2}, {&leaves[2], &leaves[3], 3}};
    tree root = {&mid[0], &mid[1], 1};
    enc = ct_encode_new(ct_type("tree"), &root, &n);
    every_prefix(ct_type("tree"), enc, n);
    free(enc);
}

/* ---- hostile lengths -------------------------------------------------------- */

static void test_string_lengths_are_checked_before_allocation(void **state)
{
    (void)state;
    static const uint32_t huge[] = {0xffffffffu, 0x80000000u, 0x7fffffffu,
                                    0xfffffffcu, 0xfffffffdu, 0xfffffffeu};
    ct_wire w = {0};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        counted(&w, huge[i], 16);
        /* bounded: too long; unbounded: more than remains */
        expect_before_alloc("name", w.b, w.n, NULL, PARLEY_ERR_TOO_LONG);
        expect_before_alloc("blob", w.b, w.n, NULL, PARLEY_ERR_TOO_LONG);
        expect_before_alloc("text", w.b, w.n, NULL, PARLEY_ERR_TRUNCATED);
        expect_before_alloc("bytes", w.b, w.n, NULL, PARLEY_ERR_TRUNCATED);
        ct_wire_free(&w);
    }
    /* one past the bound */
    counted(&w, WORD_MAX + 1, 12);
    expect_before_alloc("name", w.b, w.n, NULL, PARLEY_ERR_TOO_LONG);
    ct_wire_free(&w);
    counted(&w, BLOB_MAX + 1, 16);
    expect_before_alloc("blob", w.b, w.n, NULL, PARLEY_ERR_TOO_LONG);
    ct_wire_free(&w);

    /* one byte past what remains, and data present but its padding not */
    for (uint32_t len = 1; len <= WORD_MAX; len++) {
        counted(&w, len, len - 1);
        expect_before_alloc("name", w.b, w.n, NULL, PARLEY_ERR_TRUNCATED);
        expect_before_alloc("text", w.b, w.n, NULL, PARLEY_ERR_TRUNCATED);
        ct_wire_free(&w);
        if (len % 4) {
            counted(&w, len, len);
            expect_before_alloc("name", w.b, w.n, NULL, PARLEY_ERR_TRUNCATED);
            expect_before_alloc("bytes", w.b, w.n, NULL, PARLEY_ERR_TRUNCATED);
            ct_wire_free(&w);
        }
    }
}

static void test_array_counts_are_checked_before_allocation(void **state)
{
    (void)state;
    static const struct {
        const char *type;
        uint32_t count;
        size_t have;
        int want;
    } cases[] = {
        /* unbounded arrays: the count cannot fit the bytes that remain, even
         * where count * element size wraps 32 or 64 bits */
        {"ints", 0xffffffffu, 64, PARLEY_ERR_TRUNCATED},
        {"ints", 0x80000000u, 64, PARLEY_ERR_TRUNCATED},
        {"ints", 0x40000000u, 64, PARLEY_ERR_TRUNCATED},
        {"ints", 0x40000001u, 64, PARLEY_ERR_TRUNCATED},
        {"ints", 17, 64, PARLEY_ERR_TRUNCATED},
        {"ints", 16, 64, PARLEY_OK},
        {"hypers", 0x20000000u, 64, PARLEY_ERR_TRUNCATED},
        {"hypers", 0x20000001u, 64, PARLEY_ERR_TRUNCATED},
        {"hypers", 9, 68, PARLEY_ERR_TRUNCATED}, /* 17 words: enough for ints */
        {"hypers", 8, 64, PARLEY_OK},
        {"sparse_list", 0xffffffffu, 64, PARLEY_ERR_TRUNCATED},
        {"sparse_list", 17, 64, PARLEY_ERR_TRUNCATED},
        /* bounded arrays: past the bound, whatever remains */
        {"row", ROW_MAX + 1, 64, PARLEY_ERR_TOO_LONG},
        {"row", 0xffffffffu, 64, PARLEY_ERR_TOO_LONG},
        {"matrix", MATRIX_MAX + 1, 64, PARLEY_ERR_TOO_LONG},
        {"names", TAGS_MAX + 1, 64, PARLEY_ERR_TOO_LONG},
        {"names", 0x80000000u, 64, PARLEY_ERR_TOO_LONG},
        {"int_unions", 0xffffffffu, 64, PARLEY_ERR_TOO_LONG},
        /* within the bound but not within the bytes */
        {"names", 3, 8, PARLEY_ERR_TRUNCATED},
        {"matrix", 3, 8, PARLEY_ERR_TRUNCATED},
        {"row", 3, 8, PARLEY_ERR_TRUNCATED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ct_wire w = {0};
        counted(&w, cases[i].count, cases[i].have);
        if (cases[i].want == PARLEY_OK)
            ct_expect_accept(ct_type(cases[i].type), w.b, w.n, NULL);
        else
            expect_before_alloc(cases[i].type, w.b, w.n, NULL, cases[i].want);
        ct_wire_free(&w);
    }

    /* an inner count that is too long, after the outer array was allocated */
    ct_wire w = {0};
    ct_w32(&w, 2);
    counted(&w, 1, 4);
    counted(&w, ROW_MAX + 1, 16);
    ct_expect_reject(ct_type("matrix"), w.b, w.n, NULL, PARLEY_ERR_TOO_LONG);
    ct_wire_free(&w);
    /* the array of inner structs in outer, past its bound of two */
    outer o;
    memset(&o, 0, sizeof o);
    o.first.label = (char[]){""};
    size_t n;
    uint8_t *enc = ct_encode_new(ct_type("outer"), &o, &n);
    parley_st_u32(enc + 16, 3);
    ct_expect_reject(ct_type("outer"), enc, n, NULL, PARLEY_ERR_TOO_LONG);
    free(enc);
}

static void test_allocation_budget_is_checked_before_allocation(void **state)
{
    (void)state;
    /* 1000 sparse unions take 4000 bytes on the wire but 1000 * 1028 in
     * memory: the budget is checked against the latter before allocating */
    ct_wire w = {0};
    counted(&w, 1000, 4000);
    ct_expect_accept(ct_type("sparse_list"), w.b, w.n, NULL);
    parley_limits lim = {.max_alloc = 64 << 10};
    expect_before_alloc("sparse_list", w.b, w.n, &lim, PARLEY_ERR_LIMIT);
    lim.max_alloc = 1000 * sizeof(sparse) - 1;
    expect_before_alloc("sparse_list", w.b, w.n, &lim, PARLEY_ERR_LIMIT);
    lim.max_alloc = 1000 * sizeof(sparse);
    ct_expect_accept(ct_type("sparse_list"), w.b, w.n, &lim);
    ct_wire_free(&w);

    /* strings and opaques: a string takes one more byte than its length */
    static char data[100000];
    memset(data, 'x', sizeof data);
    ct_wstr(&w, data, sizeof data);
    lim.max_alloc = sizeof data;
    expect_before_alloc("text", w.b, w.n, &lim, PARLEY_ERR_LIMIT);
    ct_expect_accept(ct_type("bytes"), w.b, w.n, &lim);
    lim.max_alloc = sizeof data - 1;
    expect_before_alloc("bytes", w.b, w.n, &lim, PARLEY_ERR_LIMIT);
    lim.max_alloc = sizeof data + 1;
    ct_expect_accept(ct_type("text"), w.b, w.n, &lim);
    ct_wire_free(&w);

    /* the default budget stops a count that fits the bytes: 16 Mi ints
     * (64 MiB + 4 bytes of wire) need 64 MiB, one more than the budget */
    const size_t count = (PARLEY_DEFAULT_MAX_ALLOC / sizeof(int)) + 1;
    uint8_t *big = calloc(1, 4 + count * 4);
    assert_non_null(big);
    parley_st_u32(big, (uint32_t)count);
    expect_before_alloc("ints", big, 4 + count * 4, NULL, PARLEY_ERR_LIMIT);
    free(big);
}

/* See test_count_of_elements_sized_by_a_c_constant_is_checked_first; set to
 * 0 once the generator checks such counts against the bytes that remain. */
#ifndef CT_BUG_EXTERNAL_SIZE_UNCHECKED
#define CT_BUG_EXTERNAL_SIZE_UNCHECKED 0
#endif

static void test_count_of_elements_sized_by_a_c_constant_fails_cleanly(void **state)
{
    (void)state;
    /* however the count is checked, the decode fails and leaves nothing */
    static const uint32_t counts[] = {0x00400000u, 0xffffffffu, 2};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        ct_wire w = {0};
        counted(&w, counts[i], 4);
        ct_expect_reject(ct_type("quads"), w.b, w.n, NULL, PARLEY_ERR_TRUNCATED);
        ct_wire_free(&w);
    }
}

static void test_count_of_elements_sized_by_a_c_constant_is_checked_first(void **state)
{
    (void)state;
    /* Known bug, reported: in a .x file, an array whose size is a C
     * constant the file does not define (`%#define EXT_N 4`,
     * `typedef int quad[EXT_N]; typedef quad quads<>;`) counts as taking no
     * bytes on the wire (gen_decl_min_size returns 0 when bound_text is
     * set), so the generated quads_dec passes min_wire 0 to
     * parley_get_count and the count is checked only against the budget.
     * Eight bytes of input (a count of 0x00400000 and four more bytes) then
     * cost a zeroed 64 MiB allocation before the decode fails with
     * PARLEY_ERR_TRUNCATED. The generator knows the constant's name and
     * could pass EXT_N * 4. */
    if (CT_BUG_EXTERNAL_SIZE_UNCHECKED)
        skip();
    ct_wire w = {0};
    counted(&w, 0x00400000u, 4);
    expect_before_alloc("quads", w.b, w.n, NULL, PARLEY_ERR_TRUNCATED);
    expect_before_alloc("ext_keys", w.b, w.n, NULL, PARLEY_ERR_TRUNCATED);
    counted(&w, 2, 4 * EXT_N);
    expect_before_alloc("quads", w.b, w.n, NULL, PARLEY_ERR_TRUNCATED);
    ct_wire_free(&w);
}

/* decode_bytes_used decodes the n bytes at b as t and returns how many
 * bytes the decode allocated; the decode must succeed. */
static size_t decode_bytes_used(const codec_type *t, const uint8_t *b, size_t n)
{
    void *v = calloc(1, t->size);
    assert_non_null(v);
    ct_arm(-1);
    assert_int_equal(t->decode(v, ct_guard_in(b, n), n, NULL, NULL), PARLEY_OK);
    ct_disarm();
    size_t bytes_used = ct_alloc.bytes;
    t->release(v);
    free(v);
    return bytes_used;
}

static void test_allocation_budget_counts_everything_a_decode_allocates(void **state)
{
    (void)state;
    static const char *const names_[] = {"everything", "node", "matrix", "strs", "spine"};
    ct_rng r;
    ct_seed(&r, 0xb0d9e7u);
    for (size_t i = 0; i < sizeof names_ / sizeof names_[0]; i++) {
        const codec_type *t = ct_type(names_[i]);
        void *v = malloc(t->size);
        assert_non_null(v);
        for (int k = 0; k < 30; k++) {
            size_t n;
            t->fill(&r, v);
            uint8_t *enc = ct_encode_new(t, v, &n);
            t->release(v);
            size_t total = decode_bytes_used(t, enc, n);
            if (total > 0) {
                parley_limits lim = {.max_alloc = total};
                ct_expect_accept(t, enc, n, &lim);
                lim.max_alloc = total - 1;
                if (lim.max_alloc > 0)
                    ct_expect_reject(t, enc, n, &lim, PARLEY_ERR_LIMIT);
                lim.max_alloc = 1 + ct_below(&r, (uint32_t)total);
                if (lim.max_alloc < total)
                    ct_expect_reject(t, enc, n, &lim, PARLEY_ERR_LIMIT);
            }
            free(enc);
        }
        free(v);
    }
}

static void test_allocation_failure_is_reported_without_leaks(void **state)
{
    (void)state;
    double stop = seconds() + LOOP_SECONDS;
    for (size_t i = 0; i < ct_ntypes; i++) {
        const codec_type *t = &ct_types[i];
        if (!t->owns)
            continue;
        ct_rng r;
        ct_seed(&r, 0x90e3u + i);
        void *v = malloc(t->size);
        assert_non_null(v);
        for (int k = 0; k < 10 && seconds() < stop; k++) {
            size_t n;
            t->fill(&r, v);
            uint8_t *enc = ct_encode_new(t, v, &n);
            t->release(v);
            memset(v, 0, t->size);
            ct_arm(-1);
            assert_int_equal(t->decode(v, ct_guard_in(enc, n), n, NULL, NULL), PARLEY_OK);
            ct_disarm();
            long calls = ct_alloc.calls;
            t->release(v);
            for (long fail = 0; fail < calls; fail++) {
                memset(v, 0xa5, t->size);
                ct_arm(fail);
                int rc = t->decode(v, ct_guard_in(enc, n), n, NULL, NULL);
                ct_disarm();
                if (rc != PARLEY_ERR_NOMEM || ct_alloc.live != 0)
                    fail_msg("%s with allocation %ld of %ld failing: %s, %ld blocks left", t->name,
                             fail, calls, parley_errname(rc), ct_alloc.live);
                assert_true(ct_is_zero(v, t->size));
                t->release(v);
            }
            free(enc);
        }
        free(v);
    }
    note_deadline("allocation failures", stop);
}

/* ---- garbage and mutations ------------------------------------------------ */

/* rand_wire_word is a word that hostile input is made of: small numbers
 * (lengths, discriminants, bools), the edges of the ranges, or anything. */
static uint32_t rand_wire_word(ct_rng *r)
{
    static const uint32_t edges[] = {0xffffffffu, 0x80000000u, 0x7fffffffu,  0xfffffffcu,
                                     0xfffffffdu, 0x10000u,    256,          100000,
                                     7,           WORD_MAX,    WORD_MAX + 1, BLOB_MAX + 1};
    uint32_t pick = ct_below(r, 100);
    if (pick < 40)
        return ct_below(r, 4);
    if (pick < 55)
        return 4 + ct_below(r, 13);
    if (pick < 70)
        return edges[ct_below(r, sizeof edges / sizeof edges[0])];
    if (pick < 80)
        return ct_u32(r) & 0x01010101u; /* letters' worth of non-zero bytes */
    return ct_u32(r);
}

/* garbage fills up to max bytes at b and returns how many. */
static size_t garbage(ct_rng *r, uint8_t *b, size_t max)
{
    size_t n = ct_below(r, (uint32_t)max + 1);
    if (ct_below(r, 2))
        n &= ~(size_t)3;
    for (size_t i = 0; i < n; i += 4) {
        uint8_t word[4];
        parley_st_u32(word, rand_wire_word(r));
        memcpy(b + i, word, n - i < 4 ? n - i : 4);
    }
    return n;
}

static void test_random_garbage_never_crashes_leaks_or_decodes_uncanonically(void **state)
{
    (void)state;
    double stop = seconds() + LOOP_SECONDS;
    uint8_t b[512];
    long tried = 0, decoded = 0;
    for (size_t i = 0; i < ct_ntypes; i++) {
        const codec_type *t = &ct_types[i];
        ct_rng r;
        ct_seed(&r, 0x6a7ba9eu + i);
        for (int k = 0; k < 150 && seconds() < stop; k++) {
            size_t n = garbage(&r, b, k % 3 ? 64 : sizeof b);
            if (ct_probe(t, b, n, NULL) == PARLEY_OK)
                decoded++;
            tried++;
        }
    }
    note_deadline("garbage", stop);
    print_message("garbage: %ld buffers, %ld decoded\n", tried, decoded);
    assert_true(decoded > 0);
}

/* mutate changes the n bytes at b in one of several ways and returns the new
 * length (at most cap). */
static size_t mutate(ct_rng *r, uint8_t *b, size_t n, size_t cap)
{
    switch (ct_below(r, 6)) {
    case 0: /* flip a bit */
        if (n)
            b[ct_below(r, (uint32_t)n)] ^= (uint8_t)(1u << ct_below(r, 8));
        return n;
    case 1: /* overwrite a byte */
        if (n)
            b[ct_below(r, (uint32_t)n)] = (uint8_t)ct_u32(r);
        return n;
    case 2: /* overwrite an aligned word with a hostile one */
        if (n >= 4)
            parley_st_u32(b + 4 * ct_below(r, (uint32_t)(n / 4)), rand_wire_word(r));
        return n;
    case 3: /* nudge a word by one: lengths and counts off by one */
        if (n >= 4) {
            uint8_t *p = b + 4 * ct_below(r, (uint32_t)(n / 4));
            parley_st_u32(p, parley_ld_u32(p) + (ct_below(r, 2) ? 1u : 0xffffffffu));
        }
        return n;
    case 4: /* cut */
        return n ? ct_below(r, (uint32_t)n) : 0;
    default: /* drop or duplicate a word, shifting what follows */
        if (n >= 4) {
            size_t at = 4 * ct_below(r, (uint32_t)(n / 4));
            if (ct_below(r, 2)) {
                memmove(b + at, b + at + 4, n - at - 4);
                return n - 4;
            }
            if (n + 4 <= cap) {
                memmove(b + at + 4, b + at, n - at);
                return n + 4;
            }
        }
        return n;
    }
}

static void test_mutated_encodings_never_crash_leak_or_decode_uncanonically(void **state)
{
    (void)state;
    double stop = seconds() + LOOP_SECONDS;
    long tried = 0, decoded = 0;
    for (size_t i = 0; i < ct_ntypes; i++) {
        const codec_type *t = &ct_types[i];
        ct_rng r;
        ct_seed(&r, 0x3a7a7e0u + i);
        void *v = malloc(t->size);
        assert_non_null(v);
        for (int k = 0; k < 30 && seconds() < stop; k++) {
            size_t n;
            t->fill(&r, v);
            uint8_t *enc = ct_encode_new(t, v, &n);
            t->release(v);
            size_t cap = n + 64;
            uint8_t *b = malloc(cap);
            assert_non_null(b);
            for (int m = 0; m < 25; m++) {
                memcpy(b, enc, n);
                size_t len = n;
                int rounds = 1 + (int)ct_below(&r, 3);
                for (int j = 0; j < rounds; j++)
                    len = mutate(&r, b, len, cap);
                /* now and then under tight limits */
                parley_limits lim = {.max_alloc = 0};
                if (ct_below(&r, 4) == 0) {
                    lim.max_alloc = 1 + ct_below(&r, 256);
                    lim.max_depth = 1 + ct_below(&r, 3);
                }
                if (ct_probe(t, b, len, &lim) == PARLEY_OK)
                    decoded++;
                tried++;
            }
            free(b);
            free(enc);
        }
        free(v);
    }
    note_deadline("mutations", stop);
    print_message("mutations: %ld buffers, %ld decoded\n", tried, decoded);
    assert_true(decoded > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocation_account_sees_the_decoders_allocations),
        cmocka_unit_test(test_every_prefix_of_a_valid_encoding_is_truncated),
        cmocka_unit_test(test_prefixes_of_lists_and_trees_free_what_was_built),
        cmocka_unit_test(test_string_lengths_are_checked_before_allocation),
        cmocka_unit_test(test_array_counts_are_checked_before_allocation),
        cmocka_unit_test(test_allocation_budget_is_checked_before_allocation),
        cmocka_unit_test(test_count_of_elements_sized_by_a_c_constant_fails_cleanly),
        cmocka_unit_test(test_count_of_elements_sized_by_a_c_constant_is_checked_first),
        cmocka_unit_test(test_allocation_budget_counts_everything_a_decode_allocates),
        cmocka_unit_test(test_allocation_failure_is_reported_without_leaks),
        cmocka_unit_test(test_random_garbage_never_crashes_leaks_or_decodes_uncanonically),
        cmocka_unit_test(test_mutated_encodings_never_crash_leak_or_decode_uncanonically),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
