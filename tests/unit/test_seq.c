/*
 * tests/unit/test_seq.c: the Parley credential flavor and its verifier
 * (runtime/src/wire/seq.c) against bytes laid out by hand from the XDR in
 * seq.h, and hostile bodies. Every decode reads a copy that ends right
 * before a guard page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "wire/auth.h"
#include "wire/seq.h"

#define W(x)                                                                                       \
    (uint8_t)((uint32_t)(x) >> 24), (uint8_t)((uint32_t)(x) >> 16), (uint8_t)((uint32_t)(x) >> 8), \
        (uint8_t)(x)
#define H(x) W((uint64_t)(x) >> 32), W((uint64_t)(x)&0xffffffffu)

/* A credential for call 7 of client 00 01 .. 0f, everything below 5
 * answered, sent first to incarnation 0x1122334455667788, at-most-once,
 * around an AUTH_NONE credential. */
static const uint8_t cred_bytes[] = {
    W(1), /* version */
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    15,                     /* client */
    H(7),                   /* seq */
    H(5),                   /* ack */
    H(0x1122334455667788u), /* incarnation */
    W(1),                   /* semantics */
    W(0),
    W(0) /* inner: AUTH_NONE */
};

static int decode_guarded(const uint8_t *b, size_t n, pl_seq_cred *out)
{
    const uint8_t *g = pt_guard_copy(b, n);
    assert_non_null(g);
    int rc = pl_seq_cred_decode(g, (uint32_t)n, out);
    pt_guard_free(g);
    return rc;
}

static pl_seq_cred sample(void)
{
    pl_seq_cred c;
    memset(&c, 0, sizeof c);
    for (unsigned i = 0; i < PL_SEQ_ID_BYTES; i++)
        c.client[i] = (uint8_t)i;
    c.seq = 7;
    c.ack = 5;
    c.incarnation = 0x1122334455667788u;
    c.semantics = PL_SEM_AT_MOST_ONCE;
    c.inner.flavor = PARLEY_AUTH_NONE;
    return c;
}

static void test_encode_matches_the_xdr_laid_out_by_hand(void **state)
{
    (void)state;
    pl_seq_cred c = sample();
    uint8_t buf[PARLEY_MAX_AUTH_BYTES];
    parley_enc e;
    size_t len = 0;
    parley_enc_init(&e, buf, sizeof buf);
    pl_seq_cred_enc(&e, &c);
    assert_int_equal(parley_enc_finish(&e, &len), PARLEY_OK);
    assert_int_equal(len, sizeof cred_bytes);
    assert_int_equal(len, PL_SEQ_CRED_BYTES(0));
    assert_memory_equal(buf, cred_bytes, sizeof cred_bytes);
}

static void test_decode_reads_every_field(void **state)
{
    (void)state;
    pl_seq_cred c;
    assert_int_equal(decode_guarded(cred_bytes, sizeof cred_bytes, &c), PARLEY_OK);
    pl_seq_cred want = sample();
    assert_memory_equal(c.client, want.client, PL_SEQ_ID_BYTES);
    assert_true(c.seq == 7 && c.ack == 5 && c.incarnation == 0x1122334455667788u);
    assert_int_equal(c.semantics, PL_SEM_AT_MOST_ONCE);
    assert_int_equal(c.inner.flavor, PARLEY_AUTH_NONE);
    assert_int_equal(c.inner.len, 0);
}

static void test_offsets_name_the_fields_a_retransmission_updates(void **state)
{
    (void)state;
    assert_int_equal(parley_ld_u32(cred_bytes + PL_SEQ_OFF_SEQ + 4), 7);
    assert_int_equal(parley_ld_u32(cred_bytes + PL_SEQ_OFF_ACK + 4), 5);
    assert_int_equal(parley_ld_u32(cred_bytes + PL_SEQ_OFF_INCARNATION), 0x11223344u);
}

static void test_an_auth_sys_credential_round_trips_inside(void **state)
{
    (void)state;
    parley_cred sys;
    memset(&sys, 0, sizeof sys);
    sys.flavor = PARLEY_AUTH_SYS;
    memset(sys.machine, 'm', PARLEY_AUTHSYS_MAX_MACHINE);
    sys.uid = 1000;
    sys.ngids = PARLEY_AUTHSYS_MAX_GIDS; /* the largest AUTH_SYS body there is */
    uint8_t inner[PARLEY_MAX_AUTH_BYTES];
    pl_opaque_auth in;
    assert_int_equal(pl_auth_sys_ops.make_cred(&sys, inner, &in), PARLEY_OK);
    pl_seq_cred c = sample();
    c.semantics = PL_SEM_EXACTLY_ONCE;
    c.inner = in;
    uint8_t buf[PARLEY_MAX_AUTH_BYTES];
    parley_enc e;
    size_t len = 0;
    parley_enc_init(&e, buf, sizeof buf);
    pl_seq_cred_enc(&e, &c);
    assert_int_equal(parley_enc_finish(&e, &len), PARLEY_OK);
    assert_true(len <= PARLEY_MAX_AUTH_BYTES);
    pl_seq_cred out;
    assert_int_equal(decode_guarded(buf, len, &out), PARLEY_OK);
    /* the inner body points into what was decoded: decode buf itself */
    assert_int_equal(pl_seq_cred_decode(buf, (uint32_t)len, &out), PARLEY_OK);
    assert_ptr_equal(out.inner.body, buf + PL_SEQ_CRED_BYTES(0));
    assert_int_equal(out.inner.flavor, PARLEY_AUTH_SYS);
    parley_cred back;
    assert_int_equal(pl_authsys_decode(out.inner.body, out.inner.len, &back), PARLEY_OK);
    assert_int_equal(back.uid, 1000);
    assert_int_equal(back.ngids, PARLEY_AUTHSYS_MAX_GIDS);
}

static void test_every_truncation_is_refused(void **state)
{
    (void)state;
    for (size_t n = 0; n < sizeof cred_bytes; n++) {
        pl_seq_cred c;
        memset(&c, 0x5a, sizeof c);
        pl_seq_cred before = c;
        assert_int_equal(decode_guarded(cred_bytes, n, &c), PARLEY_ERR_TRUNCATED);
        assert_memory_equal(&c, &before, sizeof c); /* untouched */
    }
}

static void test_hostile_bodies_are_refused_with_their_reason(void **state)
{
    (void)state;
    uint8_t b[sizeof cred_bytes + 8];
    pl_seq_cred c;

    memcpy(b, cred_bytes, sizeof cred_bytes);
    b[3] = 2; /* another version */
    assert_int_equal(decode_guarded(b, sizeof cred_bytes, &c), PARLEY_ERR_PROTOCOL);

    memcpy(b, cred_bytes, sizeof cred_bytes);
    b[4 + 16 + 24 + 3] = 3; /* semantics past exactly-once */
    assert_int_equal(decode_guarded(b, sizeof cred_bytes, &c), PARLEY_ERR_PROTOCOL);

    memcpy(b, cred_bytes, sizeof cred_bytes);
    const uint8_t nested[] = {W(PL_AUTH_PARLEY)};
    memcpy(b + sizeof cred_bytes - 8, nested, 4); /* a Parley credential inside itself */
    assert_int_equal(decode_guarded(b, sizeof cred_bytes, &c), PARLEY_ERR_PROTOCOL);

    memcpy(b, cred_bytes, sizeof cred_bytes);
    const uint8_t huge[] = {W(401)};
    memcpy(b + sizeof cred_bytes - 4, huge, 4); /* an inner body over the RFC's bound */
    assert_int_equal(decode_guarded(b, sizeof cred_bytes, &c), PARLEY_ERR_TOO_LONG);

    memcpy(b, cred_bytes, sizeof cred_bytes);
    memset(b + sizeof cred_bytes, 0, 4); /* bytes after the inner credential */
    assert_int_equal(decode_guarded(b, sizeof cred_bytes + 4, &c), PARLEY_ERR_TRAILING);

    memcpy(b, cred_bytes, sizeof cred_bytes);
    const uint8_t odd[] = {W(1), 'x', 1, 0, 0}; /* a one-byte body with non-zero padding */
    memcpy(b + sizeof cred_bytes - 4, odd, sizeof odd);
    assert_int_equal(decode_guarded(b, sizeof cred_bytes + 4, &c), PARLEY_ERR_BAD_PADDING);
}

static void test_encoder_refuses_what_the_decoder_would(void **state)
{
    (void)state;
    uint8_t buf[PARLEY_MAX_AUTH_BYTES * 2];
    parley_enc e;
    size_t len = 0;
    pl_seq_cred c = sample();
    c.semantics = 3;
    parley_enc_init(&e, buf, sizeof buf);
    pl_seq_cred_enc(&e, &c);
    assert_int_equal(parley_enc_finish(&e, &len), PARLEY_ERR_INVALID);

    c = sample();
    c.inner.flavor = PL_AUTH_PARLEY;
    parley_enc_init(&e, buf, sizeof buf);
    pl_seq_cred_enc(&e, &c);
    assert_int_equal(parley_enc_finish(&e, &len), PARLEY_ERR_INVALID);

    static const uint8_t big[PARLEY_MAX_AUTH_BYTES];
    c = sample();
    c.inner.flavor = PARLEY_AUTH_SYS;
    c.inner.body = big;
    c.inner.len = PARLEY_MAX_AUTH_BYTES - PL_SEQ_CRED_BYTES(0) + 4; /* four bytes too many */
    parley_enc_init(&e, buf, sizeof buf);
    pl_seq_cred_enc(&e, &c);
    assert_int_equal(parley_enc_finish(&e, &len), PARLEY_ERR_TOO_LONG);
    c.inner.len -= 4; /* exactly fits */
    parley_enc_init(&e, buf, sizeof buf);
    pl_seq_cred_enc(&e, &c);
    assert_int_equal(parley_enc_finish(&e, &len), PARLEY_OK);
    assert_int_equal(len, PARLEY_MAX_AUTH_BYTES);
}

static void test_verifier_round_trips_and_refuses_unknown_statuses(void **state)
{
    (void)state;
    const uint8_t want[] = {H(0xfeedfacecafebeefu), W(PL_SEQ_IN_DOUBT)};
    pl_seq_verf v = {0xfeedfacecafebeefu, PL_SEQ_IN_DOUBT};
    uint8_t buf[PL_SEQ_VERF_BYTES];
    parley_enc e;
    size_t len = 0;
    parley_enc_init(&e, buf, sizeof buf);
    pl_seq_verf_enc(&e, &v);
    assert_int_equal(parley_enc_finish(&e, &len), PARLEY_OK);
    assert_int_equal(len, sizeof want);
    assert_memory_equal(buf, want, sizeof want);

    pl_seq_verf out;
    const uint8_t *g = pt_guard_copy(want, sizeof want);
    assert_int_equal(pl_seq_verf_decode(g, sizeof want, &out), PARLEY_OK);
    assert_true(out.incarnation == v.incarnation && out.status == v.status);
    for (uint32_t n = 0; n < sizeof want; n++)
        assert_int_equal(pl_seq_verf_decode(g, n, &out), PARLEY_ERR_TRUNCATED);
    pt_guard_free(g);

    const uint8_t unknown[] = {H(1), W(PL_SEQ_STATUS_LAST + 1)};
    g = pt_guard_copy(unknown, sizeof unknown);
    assert_int_equal(pl_seq_verf_decode(g, sizeof unknown, &out), PARLEY_ERR_PROTOCOL);
    pt_guard_free(g);

    const uint8_t longer[] = {H(1), W(0), W(0)};
    g = pt_guard_copy(longer, sizeof longer);
    assert_int_equal(pl_seq_verf_decode(g, sizeof longer, &out), PARLEY_ERR_TRAILING);
    pt_guard_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_matches_the_xdr_laid_out_by_hand),
        cmocka_unit_test(test_decode_reads_every_field),
        cmocka_unit_test(test_offsets_name_the_fields_a_retransmission_updates),
        cmocka_unit_test(test_an_auth_sys_credential_round_trips_inside),
        cmocka_unit_test(test_every_truncation_is_refused),
        cmocka_unit_test(test_hostile_bodies_are_refused_with_their_reason),
        cmocka_unit_test(test_encoder_refuses_what_the_decoder_would),
        cmocka_unit_test(test_verifier_round_trips_and_refuses_unknown_statuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
