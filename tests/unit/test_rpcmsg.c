/*
 * tests/unit/test_rpcmsg.c: RPC message headers (runtime/src/wire/rpcmsg.c)
 * against hand-written RFC 5531 bytes, hostile headers, AUTH_SYS bodies and
 * the table of auth flavors. Every decode reads a copy that ends right
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
#include "wire/rpcmsg.h"

/* W(x) is the four big-endian bytes of x, for writing messages by hand. */
#define W(x)                                                                                       \
    (uint8_t)((uint32_t)(x) >> 24), (uint8_t)((uint32_t)(x) >> 16), (uint8_t)((uint32_t)(x) >> 8), \
        (uint8_t)(x)

/* A NULL call to rpcbind (100000 v2) as libtirpc's clnt_call sends it:
 * xid, CALL, rpcvers 2, prog, vers, proc 0, AUTH_NONE cred and verf. */
static const uint8_t null_call[] = {W(0x5eed1234), W(0), W(2), W(100000), W(2),
                                    W(0),          W(0), W(0), W(0),      W(0)};

/* dec_guarded decodes the n bytes at b, copied before a guard page, with
 * pl_msg_decode_header; *used is how far the cursor got. */
static int dec_guarded(const uint8_t *b, size_t n, pl_msg_header *h, size_t *used, unsigned flags)
{
    const uint8_t *g = pt_guard_copy(b, n);
    assert_non_null(g);
    parley_limits lim = {.flags = flags};
    parley_dec d;
    parley_dec_init(&d, g, n, &lim);
    int rc = pl_msg_decode_header(&d, h);
    assert_int_equal(rc, d.err);
    if (used)
        *used = (size_t)(d.p - d.start);
    pt_guard_free(g);
    return rc;
}

static void test_encode_null_call_matches_libtirpc_bytes(void **state)
{
    (void)state;
    uint8_t buf[64];
    parley_enc e;
    size_t len;
    parley_enc_init(&e, buf, sizeof buf);
    assert_int_equal(pl_msg_encode_call(&e, 0x5eed1234, 100000, 2, 0, NULL, NULL), PARLEY_OK);
    assert_int_equal(parley_enc_finish(&e, &len), PARLEY_OK);
    assert_int_equal(len, sizeof null_call);
    assert_memory_equal(buf, null_call, sizeof null_call);

    /* explicit AUTH_NONE is the same as NULL */
    pl_opaque_auth none = {PARLEY_AUTH_NONE, 0, NULL};
    parley_enc_init(&e, buf, sizeof buf);
    assert_int_equal(pl_msg_encode_call(&e, 0x5eed1234, 100000, 2, 0, &none, &none), PARLEY_OK);
    assert_int_equal(parley_enc_finish(&e, &len), PARLEY_OK);
    assert_memory_equal(buf, null_call, sizeof null_call);
}

static void test_decode_null_call_gives_every_field_and_stops_at_the_arguments(void **state)
{
    (void)state;
    uint8_t msg[sizeof null_call + 4];
    memcpy(msg, null_call, sizeof null_call);
    memcpy(msg + sizeof null_call, (uint8_t[]){W(0xabcdef01)}, 4); /* an argument */
    pl_msg_header h;
    size_t used;
    assert_int_equal(dec_guarded(msg, sizeof msg, &h, &used, 0), PARLEY_OK);
    assert_int_equal(used, sizeof null_call);
    assert_int_equal(h.mtype, PARLEY_CALL);
    assert_int_equal(h.u.call.xid, 0x5eed1234);
    assert_int_equal(h.u.call.rpcvers, 2);
    assert_int_equal(h.u.call.prog, 100000);
    assert_int_equal(h.u.call.vers, 2);
    assert_int_equal(h.u.call.proc, 0);
    assert_int_equal(h.u.call.cred.flavor, PARLEY_AUTH_NONE);
    assert_int_equal(h.u.call.cred.len, 0);
    assert_null(h.u.call.cred.body);
    assert_int_equal(h.u.call.verf.flavor, PARLEY_AUTH_NONE);
    assert_null(h.u.call.verf.body);

    /* the call-only decoder agrees */
    parley_dec d;
    pl_call_header c;
    parley_dec_init(&d, msg, sizeof msg, NULL);
    assert_int_equal(pl_msg_decode_call(&d, &c), PARLEY_OK);
    assert_int_equal(c.prog, 100000);
    assert_int_equal(parley_dec_remaining(&d), 4);
}

/* An AUTH_SYS call: stamp 7, machine "host1", uid 1000, gid 100, gids {4, 24}. */
static const uint8_t sys_call[] = {W(42), W(0), W(2), W(0x20000001), W(3), W(9),
                                   /* cred: AUTH_SYS, 36 bytes */
                                   W(1), W(36), W(7), W(5), 'h', 'o', 's', 't', '1', 0, 0, 0,
                                   W(1000), W(100), W(2), W(4), W(24),
                                   /* verf: AUTH_NONE */
                                   W(0), W(0)};

static void test_call_with_authsys_credential_matches_hand_written_bytes_both_ways(void **state)
{
    (void)state;
    parley_cred cred = {.stamp = 7, .machine = "host1", .uid = 1000, .gid = 100, .ngids = 2};
    cred.gids[0] = 4;
    cred.gids[1] = 24;
    uint8_t body[PARLEY_MAX_AUTH_BYTES];
    pl_opaque_auth oa;
    const pl_auth_ops *ops = pl_auth_find(PARLEY_AUTH_SYS);
    assert_non_null(ops);
    assert_int_equal(ops->make_cred(&cred, body, &oa), PARLEY_OK);
    assert_int_equal(oa.flavor, PARLEY_AUTH_SYS);
    assert_int_equal(oa.len, 36);

    uint8_t buf[128];
    parley_enc e;
    size_t len;
    parley_enc_init(&e, buf, sizeof buf);
    assert_int_equal(pl_msg_encode_call(&e, 42, 0x20000001, 3, 9, &oa, NULL), PARLEY_OK);
    assert_int_equal(parley_enc_finish(&e, &len), PARLEY_OK);
    assert_int_equal(len, sizeof sys_call);
    assert_memory_equal(buf, sys_call, sizeof sys_call);

    pl_msg_header h;
    size_t used;
    assert_int_equal(dec_guarded(sys_call, sizeof sys_call, &h, &used, 0), PARLEY_OK);
    assert_int_equal(used, sizeof sys_call);
    assert_int_equal(h.u.call.cred.flavor, PARLEY_AUTH_SYS);
    assert_int_equal(h.u.call.cred.len, 36);

    parley_dec d;
    pl_call_header c;
    parley_dec_init(&d, sys_call, sizeof sys_call, NULL);
    assert_int_equal(pl_msg_decode_call(&d, &c), PARLEY_OK);
    assert_ptr_equal(c.cred.body, sys_call + 32); /* points into the message */
    parley_cred got;
    assert_int_equal(pl_auth_check(&c, &got), PARLEY_AUTH_OK);
    assert_int_equal(got.flavor, PARLEY_AUTH_SYS);
    assert_int_equal(got.stamp, 7);
    assert_string_equal(got.machine, "host1");
    assert_int_equal(got.uid, 1000);
    assert_int_equal(got.gid, 100);
    assert_int_equal(got.ngids, 2);
    assert_int_equal(got.gids[0], 4);
    assert_int_equal(got.gids[1], 24);
}

/* ---- replies ----------------------------------------------------------- */

typedef struct reply_case {
    const char *name;
    uint8_t bytes[40];
    size_t len;
    pl_reply_header h;
    int err; /* pl_reply_error */
} reply_case;

static const reply_case replies[] = {
    {"success",
     {W(9), W(1), W(0), W(0), W(0), W(0)},
     24,
     {.xid = 9, .stat = PARLEY_MSG_ACCEPTED, .accept_stat = PARLEY_SUCCESS},
     PARLEY_OK},
    {"prog_unavail",
     {W(9), W(1), W(0), W(0), W(0), W(1)},
     24,
     {.xid = 9, .stat = PARLEY_MSG_ACCEPTED, .accept_stat = PARLEY_PROG_UNAVAIL},
     PARLEY_ERR_PROG_UNAVAIL},
    {"prog_mismatch",
     {W(9), W(1), W(0), W(0), W(0), W(2), W(2), W(4)},
     32,
     {.xid = 9,
      .stat = PARLEY_MSG_ACCEPTED,
      .accept_stat = PARLEY_PROG_MISMATCH,
      .low = 2,
      .high = 4},
     PARLEY_ERR_PROG_MISMATCH},
    {"proc_unavail",
     {W(9), W(1), W(0), W(0), W(0), W(3)},
     24,
     {.xid = 9, .stat = PARLEY_MSG_ACCEPTED, .accept_stat = PARLEY_PROC_UNAVAIL},
     PARLEY_ERR_PROC_UNAVAIL},
    {"garbage_args",
     {W(9), W(1), W(0), W(0), W(0), W(4)},
     24,
     {.xid = 9, .stat = PARLEY_MSG_ACCEPTED, .accept_stat = PARLEY_GARBAGE_ARGS},
     PARLEY_ERR_GARBAGE_ARGS},
    {"system_err",
     {W(9), W(1), W(0), W(0), W(0), W(5)},
     24,
     {.xid = 9, .stat = PARLEY_MSG_ACCEPTED, .accept_stat = PARLEY_SYSTEM_ERR},
     PARLEY_ERR_SYSTEM_ERR},
    {"rpc_mismatch",
     {W(9), W(1), W(1), W(0), W(2), W(2)},
     24,
     {.xid = 9, .stat = PARLEY_MSG_DENIED, .reject_stat = PARLEY_RPC_MISMATCH, .low = 2, .high = 2},
     PARLEY_ERR_RPC_MISMATCH},
    {"auth_error",
     {W(9), W(1), W(1), W(1), W(5)},
     20,
     {.xid = 9,
      .stat = PARLEY_MSG_DENIED,
      .reject_stat = PARLEY_AUTH_ERROR,
      .auth_stat = PARLEY_AUTH_TOOWEAK},
     PARLEY_ERR_AUTH},
};
#define NREPLIES (sizeof replies / sizeof replies[0])

/* encode_reply encodes case c with the function for its variant. */
static int encode_reply(parley_enc *e, const reply_case *c)
{
    if (c->h.stat == PARLEY_MSG_ACCEPTED)
        return pl_msg_encode_reply_accepted(e, c->h.xid, NULL, c->h.accept_stat, c->h.low,
                                            c->h.high);
    if (c->h.reject_stat == PARLEY_RPC_MISMATCH)
        return pl_msg_encode_reply_denied_rpc_mismatch(e, c->h.xid, c->h.low, c->h.high);
    return pl_msg_encode_reply_denied_auth_error(e, c->h.xid, c->h.auth_stat);
}

static void test_every_reply_variant_encodes_to_the_rfc_bytes(void **state)
{
    (void)state;
    for (size_t i = 0; i < NREPLIES; i++) {
        uint8_t buf[64];
        parley_enc e;
        size_t len;
        parley_enc_init(&e, buf, sizeof buf);
        assert_int_equal(encode_reply(&e, &replies[i]), PARLEY_OK);
        assert_int_equal(parley_enc_finish(&e, &len), PARLEY_OK);
        assert_int_equal(len, replies[i].len);
        assert_memory_equal(buf, replies[i].bytes, len);
        /* every shorter buffer is too small */
        for (size_t cap = 0; cap < replies[i].len; cap++) {
            parley_enc_init(&e, buf, cap);
            assert_int_equal(encode_reply(&e, &replies[i]), PARLEY_ERR_BUFFER_FULL);
        }
    }
}

static void test_every_reply_variant_decodes_and_maps_to_its_error(void **state)
{
    (void)state;
    for (size_t i = 0; i < NREPLIES; i++) {
        const reply_case *c = &replies[i];
        pl_msg_header h;
        size_t used;
        assert_int_equal(dec_guarded(c->bytes, c->len, &h, &used, 0), PARLEY_OK);
        assert_int_equal(used, c->len);
        assert_int_equal(h.mtype, PARLEY_REPLY);
        const pl_reply_header *r = &h.u.reply;
        assert_int_equal(r->xid, c->h.xid);
        assert_int_equal(r->stat, c->h.stat);
        assert_int_equal(r->accept_stat, c->h.accept_stat);
        assert_int_equal(r->reject_stat, c->h.reject_stat);
        assert_int_equal(r->auth_stat, c->h.auth_stat);
        assert_int_equal(r->low, c->h.low);
        assert_int_equal(r->high, c->h.high);
        assert_int_equal(r->verf.flavor, 0);
        assert_null(r->verf.body);
        assert_int_equal(pl_reply_error(r), c->err);

        pl_reply_header rr;
        parley_dec d;
        parley_dec_init(&d, c->bytes, c->len, NULL);
        assert_int_equal(pl_msg_decode_reply(&d, &rr), PARLEY_OK);
        assert_int_equal(pl_reply_error(&rr), c->err);
    }
}

static void test_accepted_reply_carries_its_verifier_and_results_follow(void **state)
{
    (void)state;
    static const uint8_t msg[] = {W(77), W(1), W(0), W(6), W(5), 'v',  'e',      'r',
                                  'f',   'y',  0,    0,    0,    W(0), W(0xcafe)};
    uint8_t verf_body[] = "verfy";
    pl_opaque_auth verf = {PARLEY_RPCSEC_GSS, 5, verf_body};
    uint8_t buf[64];
    parley_enc e;
    size_t len;
    parley_enc_init(&e, buf, sizeof buf);
    assert_int_equal(pl_msg_encode_reply_accepted(&e, 77, &verf, PARLEY_SUCCESS, 0, 0), PARLEY_OK);
    parley_put_u32(&e, 0xcafe);
    assert_int_equal(parley_enc_finish(&e, &len), PARLEY_OK);
    assert_int_equal(len, sizeof msg);
    assert_memory_equal(buf, msg, sizeof msg);

    pl_msg_header h;
    size_t used;
    assert_int_equal(dec_guarded(msg, sizeof msg, &h, &used, 0), PARLEY_OK);
    assert_int_equal(used, sizeof msg - 4);
    assert_int_equal(h.u.reply.verf.flavor, PARLEY_RPCSEC_GSS);
    assert_int_equal(h.u.reply.verf.len, 5);
    assert_non_null(h.u.reply.verf.body);
}

static void test_reply_error_rejects_headers_no_decoder_produces(void **state)
{
    (void)state;
    pl_reply_header h = {.stat = PARLEY_MSG_ACCEPTED, .accept_stat = 6};
    assert_int_equal(pl_reply_error(&h), PARLEY_ERR_PROTOCOL);
    h = (pl_reply_header){.stat = PARLEY_MSG_DENIED, .reject_stat = 2};
    assert_int_equal(pl_reply_error(&h), PARLEY_ERR_PROTOCOL);
    h = (pl_reply_header){.stat = 2};
    assert_int_equal(pl_reply_error(&h), PARLEY_ERR_PROTOCOL);
}

/* ---- hostile headers --------------------------------------------------- */

static void test_every_truncation_of_every_header_is_truncated(void **state)
{
    (void)state;
    const uint8_t *msgs[NREPLIES + 2];
    size_t lens[NREPLIES + 2];
    for (size_t i = 0; i < NREPLIES; i++) {
        msgs[i] = replies[i].bytes;
        lens[i] = replies[i].len;
    }
    msgs[NREPLIES] = null_call;
    lens[NREPLIES] = sizeof null_call;
    msgs[NREPLIES + 1] = sys_call;
    lens[NREPLIES + 1] = sizeof sys_call;
    for (size_t i = 0; i < NREPLIES + 2; i++) {
        for (size_t cut = 0; cut < lens[i]; cut++) {
            pl_msg_header h;
            memset(&h, 0x5a, sizeof h);
            assert_int_equal(dec_guarded(msgs[i], cut, &h, NULL, 0), PARLEY_ERR_TRUNCATED);
            /* nothing was written to the output */
            assert_int_equal(h.mtype, 0x5a5a5a5a);
        }
    }
}

static void test_call_of_another_rpc_version_decodes_up_to_rpcvers(void **state)
{
    (void)state;
    /* a whole call of version 3, and one that ends right after rpcvers */
    static const uint8_t v3[] = {W(5), W(0), W(3), W(100000), W(2), W(0), W(0), W(0), W(0), W(0)};
    for (size_t n = 12; n <= sizeof v3; n += sizeof v3 - 12) {
        pl_msg_header h;
        size_t used;
        assert_int_equal(dec_guarded(v3, n, &h, &used, 0), PARLEY_OK);
        assert_int_equal(used, 12);
        assert_int_equal(h.mtype, PARLEY_CALL);
        assert_int_equal(h.u.call.xid, 5);
        assert_int_equal(h.u.call.rpcvers, 3);
        assert_int_equal(h.u.call.prog, 0);
    }
    /* the server answers RPC_MISMATCH with the xid it saw */
    uint8_t buf[32];
    parley_enc e;
    parley_enc_init(&e, buf, sizeof buf);
    assert_int_equal(pl_msg_encode_reply_denied_rpc_mismatch(&e, 5, 2, 2), PARLEY_OK);
    static const uint8_t want[] = {W(5), W(1), W(1), W(0), W(2), W(2)};
    assert_memory_equal(buf, want, sizeof want);
}

/* call_with_cred_len writes a call whose credential has a body of n bytes of
 * 'x' (n a multiple of 4), returning its length. */
static size_t call_with_cred_len(uint8_t *buf, uint32_t n)
{
    static const uint8_t head[] = {W(1), W(0), W(2), W(3), W(4), W(5), W(7), W(0)};
    memcpy(buf, head, sizeof head);
    parley_st_u32(buf + 28, n);
    memset(buf + 32, 'x', n);
    memset(buf + 32 + n, 0, 8);
    return 32 + n + 8;
}

static void test_auth_body_of_400_bytes_decodes_and_401_is_too_long(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t n = call_with_cred_len(buf, 400);
    pl_msg_header h;
    size_t used;
    assert_int_equal(dec_guarded(buf, n, &h, &used, 0), PARLEY_OK);
    assert_int_equal(used, n);
    assert_int_equal(h.u.call.cred.flavor, 7);
    assert_int_equal(h.u.call.cred.len, 400);

    n = call_with_cred_len(buf, 404);
    parley_st_u32(buf + 28, 401);
    assert_int_equal(dec_guarded(buf, n, &h, &used, 0), PARLEY_ERR_TOO_LONG);
    assert_int_equal(used, 28); /* the error points at the length */

    /* the same limit in a reply's verifier */
    static const uint8_t r[] = {W(1), W(1), W(0), W(0), W(0xffffffff)};
    assert_int_equal(dec_guarded(r, sizeof r, &h, NULL, 0), PARLEY_ERR_TOO_LONG);
}

static void test_encoders_refuse_auth_bodies_over_400_bytes_and_null_bodies(void **state)
{
    (void)state;
    static uint8_t body[401];
    uint8_t buf[1024];
    parley_enc e;
    pl_opaque_auth big = {PARLEY_AUTH_SYS, 401, body};
    parley_enc_init(&e, buf, sizeof buf);
    assert_int_equal(pl_msg_encode_call(&e, 1, 2, 3, 4, &big, NULL), PARLEY_ERR_TOO_LONG);
    parley_enc_init(&e, buf, sizeof buf);
    assert_int_equal(pl_msg_encode_reply_accepted(&e, 1, &big, 0, 0, 0), PARLEY_ERR_TOO_LONG);
    pl_opaque_auth null_body = {PARLEY_AUTH_SYS, 4, NULL};
    parley_enc_init(&e, buf, sizeof buf);
    assert_int_equal(pl_msg_encode_call(&e, 1, 2, 3, 4, NULL, &null_body), PARLEY_ERR_NULL);
    big.len = 400;
    parley_enc_init(&e, buf, sizeof buf);
    assert_int_equal(pl_msg_encode_call(&e, 1, 2, 3, 4, &big, NULL), PARLEY_OK);
}

static void test_encoders_refuse_unknown_accept_stat_and_auth_ok_denials(void **state)
{
    (void)state;
    uint8_t buf[64];
    parley_enc e;
    parley_enc_init(&e, buf, sizeof buf);
    assert_int_equal(pl_msg_encode_reply_accepted(&e, 1, NULL, 6, 0, 0), PARLEY_ERR_BAD_ENUM);
    assert_ptr_equal(e.p, buf);
    parley_enc_init(&e, buf, sizeof buf);
    assert_int_equal(pl_msg_encode_reply_denied_auth_error(&e, 1, PARLEY_AUTH_OK),
                     PARLEY_ERR_INVALID);
    assert_ptr_equal(e.p, buf);
}

static void test_unknown_enum_values_are_protocol_errors(void **state)
{
    (void)state;
    static const struct {
        uint8_t b[24];
        size_t len, err_at;
    } bad[] = {
        {{W(1), W(2)}, 8, 4},                           /* msg_type 2 */
        {{W(1), W(0xffffffff)}, 8, 4},                  /* msg_type -1 */
        {{W(1), W(1), W(2)}, 12, 8},                    /* reply_stat 2 */
        {{W(1), W(1), W(0), W(0), W(0), W(6)}, 24, 20}, /* accept_stat 6 */
        {{W(1), W(1), W(1), W(2), W(0)}, 20, 12},       /* reject_stat 2 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const uint8_t *g = pt_guard_copy(bad[i].b, bad[i].len);
        parley_dec d;
        pl_msg_header h;
        parley_dec_init(&d, g, bad[i].len, NULL);
        assert_int_equal(pl_msg_decode_header(&d, &h), PARLEY_ERR_PROTOCOL);
        assert_int_equal(d.err_at - d.start, bad[i].err_at);
        pt_guard_free(g);
    }
}

static void test_auth_status_values_beyond_the_rfc_list_pass_through(void **state)
{
    (void)state;
    static const uint8_t msg[] = {W(3), W(1), W(1), W(1), W(99)};
    pl_msg_header h;
    assert_int_equal(dec_guarded(msg, sizeof msg, &h, NULL, 0), PARLEY_OK);
    assert_int_equal(h.u.reply.auth_stat, 99);
    assert_int_equal(pl_reply_error(&h.u.reply), PARLEY_ERR_AUTH);
}

static void test_a_reply_where_a_call_is_expected_and_back_is_a_protocol_error(void **state)
{
    (void)state;
    parley_dec d;
    pl_call_header c;
    pl_reply_header r;
    parley_dec_init(&d, replies[0].bytes, replies[0].len, NULL);
    assert_int_equal(pl_msg_decode_call(&d, &c), PARLEY_ERR_PROTOCOL);
    assert_int_equal(d.err, PARLEY_ERR_PROTOCOL);
    parley_dec_init(&d, null_call, sizeof null_call, NULL);
    assert_int_equal(pl_msg_decode_reply(&d, &r), PARLEY_ERR_PROTOCOL);
    /* and errors of the header itself come through */
    parley_dec_init(&d, null_call, 7, NULL);
    assert_int_equal(pl_msg_decode_reply(&d, &r), PARLEY_ERR_TRUNCATED);
    parley_dec_init(&d, null_call, 7, NULL);
    assert_int_equal(pl_msg_decode_call(&d, &c), PARLEY_ERR_TRUNCATED);
}

static void test_non_zero_padding_of_an_auth_body_is_refused_unless_lax(void **state)
{
    (void)state;
    static const uint8_t msg[] = {W(1), W(0), W(2), W(3), W(4), W(5), W(9),
                                  W(1), 'a',  0,    1,    0,    W(0), W(0)};
    pl_msg_header h;
    assert_int_equal(dec_guarded(msg, sizeof msg, &h, NULL, 0), PARLEY_ERR_BAD_PADDING);
    assert_int_equal(dec_guarded(msg, sizeof msg, &h, NULL, PARLEY_DEC_LAX_PADDING), PARLEY_OK);
    assert_int_equal(h.u.call.cred.len, 1);
    /* (the guarded copy is gone: look at the body in a decode of msg itself) */
    parley_limits lax = {.flags = PARLEY_DEC_LAX_PADDING};
    parley_dec d;
    parley_dec_init(&d, msg, sizeof msg, &lax);
    assert_int_equal(pl_msg_decode_header(&d, &h), PARLEY_OK);
    assert_ptr_equal(h.u.call.cred.body, msg + 32);
}

/* ---- AUTH_SYS ---------------------------------------------------------- */

/* authsys_round_trip encodes c, decodes the result from a guarded copy and
 * returns the decoder's error, leaving the decoded value in *out. */
static int authsys_round_trip(const parley_cred *c, parley_cred *out)
{
    uint8_t buf[PARLEY_MAX_AUTH_BYTES];
    parley_enc e;
    size_t len;
    parley_enc_init(&e, buf, sizeof buf);
    pl_authsys_encode(&e, c);
    int rc = parley_enc_finish(&e, &len);
    if (rc != PARLEY_OK)
        return rc;
    const uint8_t *g = pt_guard_copy(buf, len);
    rc = pl_authsys_decode(g, (uint32_t)len, out);
    pt_guard_free(g);
    return rc;
}

static void test_authsys_holds_16_gids_and_255_byte_machine_names(void **state)
{
    (void)state;
    parley_cred c;
    memset(&c, 0, sizeof c);
    memset(c.machine, 'm', 255);
    c.ngids = 16;
    for (uint32_t i = 0; i < 16; i++)
        c.gids[i] = 1000 + i;
    c.uid = 0xfffffffe;
    parley_cred got;
    assert_int_equal(authsys_round_trip(&c, &got), PARLEY_OK);
    assert_int_equal(got.flavor, PARLEY_AUTH_SYS);
    assert_int_equal(strlen(got.machine), 255);
    assert_int_equal(got.ngids, 16);
    assert_int_equal(got.gids[15], 1015);
    assert_int_equal(got.uid, 0xfffffffe);
    /* the largest body: 4 + 4 + 256 + 4 + 4 + 4 + 64 */
    uint8_t buf[PARLEY_MAX_AUTH_BYTES];
    pl_opaque_auth oa;
    c.flavor = PARLEY_AUTH_SYS;
    assert_int_equal(pl_auth_find(PARLEY_AUTH_SYS)->make_cred(&c, buf, &oa), PARLEY_OK);
    assert_int_equal(oa.len, 340);
}

static void test_authsys_encoder_refuses_17_gids_and_256_byte_machine_names(void **state)
{
    (void)state;
    parley_cred c, got;
    memset(&c, 0, sizeof c);
    c.ngids = 17;
    assert_int_equal(authsys_round_trip(&c, &got), PARLEY_ERR_TOO_LONG);
    c.ngids = 0;
    memset(c.machine, 'm', sizeof c.machine); /* 256 bytes, no NUL */
    assert_int_equal(authsys_round_trip(&c, &got), PARLEY_ERR_TOO_LONG);
    uint8_t buf[PARLEY_MAX_AUTH_BYTES];
    pl_opaque_auth oa = {99, 99, NULL};
    assert_int_equal(pl_auth_find(PARLEY_AUTH_SYS)->make_cred(&c, buf, &oa), PARLEY_ERR_TOO_LONG);
    assert_int_equal(oa.flavor, 99); /* untouched on failure */
}

static void test_authsys_decoder_refuses_hostile_bodies(void **state)
{
    (void)state;
    uint8_t b[400];
    memset(b, 0, sizeof b);
    parley_cred got;
    memset(&got, 0x5a, sizeof got);

    /* machine name of 256 bytes */
    parley_st_u32(b + 4, 256);
    memset(b + 8, 'm', 256);
    const uint8_t *g = pt_guard_copy(b, 8 + 256 + 12);
    assert_int_equal(pl_authsys_decode(g, 8 + 256 + 12, &got), PARLEY_ERR_TOO_LONG);
    pt_guard_free(g);

    /* 17 gids */
    memset(b, 0, sizeof b);
    parley_st_u32(b + 16, 17);
    g = pt_guard_copy(b, 20 + 68);
    assert_int_equal(pl_authsys_decode(g, 20 + 68, &got), PARLEY_ERR_TOO_LONG);
    pt_guard_free(g);

    /* a NUL inside the machine name */
    static const uint8_t nul[] = {W(0), W(3), 'a', 0, 'b', 0, W(0), W(0), W(0)};
    g = pt_guard_copy(nul, sizeof nul);
    assert_int_equal(pl_authsys_decode(g, sizeof nul, &got), PARLEY_ERR_BAD_STRING);
    pt_guard_free(g);

    /* non-zero padding after the machine name */
    static const uint8_t pad[] = {W(0), W(3), 'a', 'b', 'c', 1, W(0), W(0), W(0)};
    g = pt_guard_copy(pad, sizeof pad);
    assert_int_equal(pl_authsys_decode(g, sizeof pad, &got), PARLEY_ERR_BAD_PADDING);
    pt_guard_free(g);

    /* a body with a word left over */
    static const uint8_t trail[] = {W(0), W(0), W(0), W(0), W(0), W(0)};
    g = pt_guard_copy(trail, sizeof trail);
    assert_int_equal(pl_authsys_decode(g, sizeof trail, &got), PARLEY_ERR_TRAILING);
    assert_int_equal(pl_authsys_decode(g, sizeof trail - 4, &got), PARLEY_OK);
    pt_guard_free(g);

    /* the body of sys_call truncated at every byte */
    const uint8_t *body = sys_call + 32;
    for (uint32_t cut = 0; cut < 36; cut++) {
        memset(&got, 0x5a, sizeof got);
        g = pt_guard_copy(body, cut);
        assert_int_equal(pl_authsys_decode(g, cut, &got), PARLEY_ERR_TRUNCATED);
        assert_int_equal(got.flavor, 0x5a5a5a5a);
        pt_guard_free(g);
    }
}

/* ---- the flavor table -------------------------------------------------- */

static void test_auth_table_knows_none_and_sys_only(void **state)
{
    (void)state;
    assert_non_null(pl_auth_find(PARLEY_AUTH_NONE));
    assert_non_null(pl_auth_find(PARLEY_AUTH_SYS));
    assert_null(pl_auth_find(PARLEY_AUTH_SHORT));
    assert_null(pl_auth_find(PARLEY_AUTH_DH));
    assert_null(pl_auth_find(PARLEY_RPCSEC_GSS));
}

static void test_auth_check_accepts_good_credentials_and_denies_bad_ones(void **state)
{
    (void)state;
    pl_call_header c;
    memset(&c, 0, sizeof c);
    parley_cred got;
    memset(&got, 0x5a, sizeof got);
    assert_int_equal(pl_auth_check(&c, &got), PARLEY_AUTH_OK);
    assert_int_equal(got.flavor, PARLEY_AUTH_NONE);
    assert_int_equal(got.uid, 0);
    assert_int_equal(got.machine[0], 0);

    static const uint8_t junk[4] = {1, 2, 3, 4};
    c.cred = (pl_opaque_auth){PARLEY_AUTH_NONE, 4, junk};
    assert_int_equal(pl_auth_check(&c, &got), PARLEY_AUTH_BADCRED);
    c.cred.flavor = PARLEY_AUTH_SYS;
    assert_int_equal(pl_auth_check(&c, &got), PARLEY_AUTH_BADCRED);
    c.cred.flavor = PARLEY_AUTH_DH;
    assert_int_equal(pl_auth_check(&c, &got), PARLEY_AUTH_REJECTEDCRED);

    /* both flavors answer with an AUTH_NONE verifier */
    uint8_t buf[PARLEY_MAX_AUTH_BYTES];
    for (uint32_t fl = PARLEY_AUTH_NONE; fl <= PARLEY_AUTH_SYS; fl++) {
        pl_opaque_auth v = {9, 9, buf};
        assert_int_equal(pl_auth_find(fl)->make_verf(&c, &got, buf, &v), PARLEY_OK);
        assert_int_equal(v.flavor, PARLEY_AUTH_NONE);
        assert_int_equal(v.len, 0);
        assert_null(v.body);
    }
    pl_opaque_auth oa = {9, 9, buf};
    assert_int_equal(pl_auth_find(PARLEY_AUTH_NONE)->make_cred(&got, buf, &oa), PARLEY_OK);
    assert_int_equal(oa.flavor, PARLEY_AUTH_NONE);
    assert_int_equal(oa.len, 0);
}

static void test_every_auth_stat_has_a_text(void **state)
{
    (void)state;
    const char *unknown = "unknown authentication error";
    for (uint32_t v = PARLEY_AUTH_OK; v <= PARLEY_RPCSEC_GSS_CTXPROBLEM; v++) {
        const char *t = parley_auth_strerror(v);
        assert_non_null(t);
        assert_true(t[0] != '\0');
        assert_string_not_equal(t, unknown);
        for (uint32_t w = PARLEY_AUTH_OK; w < v; w++)
            assert_string_not_equal(parley_auth_strerror(w), t);
    }
    assert_string_equal(parley_auth_strerror(PARLEY_AUTH_TOOWEAK), "rejected for security reasons");
    assert_string_equal(parley_auth_strerror(PARLEY_RPCSEC_GSS_CTXPROBLEM + 1), unknown);
    assert_string_equal(parley_auth_strerror(0xffffffffu), unknown);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_null_call_matches_libtirpc_bytes),
        cmocka_unit_test(test_decode_null_call_gives_every_field_and_stops_at_the_arguments),
        cmocka_unit_test(test_call_with_authsys_credential_matches_hand_written_bytes_both_ways),
        cmocka_unit_test(test_every_reply_variant_encodes_to_the_rfc_bytes),
        cmocka_unit_test(test_every_reply_variant_decodes_and_maps_to_its_error),
        cmocka_unit_test(test_accepted_reply_carries_its_verifier_and_results_follow),
        cmocka_unit_test(test_reply_error_rejects_headers_no_decoder_produces),
        cmocka_unit_test(test_every_truncation_of_every_header_is_truncated),
        cmocka_unit_test(test_call_of_another_rpc_version_decodes_up_to_rpcvers),
        cmocka_unit_test(test_auth_body_of_400_bytes_decodes_and_401_is_too_long),
        cmocka_unit_test(test_encoders_refuse_auth_bodies_over_400_bytes_and_null_bodies),
        cmocka_unit_test(test_encoders_refuse_unknown_accept_stat_and_auth_ok_denials),
        cmocka_unit_test(test_unknown_enum_values_are_protocol_errors),
        cmocka_unit_test(test_auth_status_values_beyond_the_rfc_list_pass_through),
        cmocka_unit_test(test_a_reply_where_a_call_is_expected_and_back_is_a_protocol_error),
        cmocka_unit_test(test_non_zero_padding_of_an_auth_body_is_refused_unless_lax),
        cmocka_unit_test(test_authsys_holds_16_gids_and_255_byte_machine_names),
        cmocka_unit_test(test_authsys_encoder_refuses_17_gids_and_256_byte_machine_names),
        cmocka_unit_test(test_authsys_decoder_refuses_hostile_bodies),
        cmocka_unit_test(test_auth_table_knows_none_and_sys_only),
        cmocka_unit_test(test_auth_check_accepts_good_credentials_and_denies_bad_ones),
        cmocka_unit_test(test_every_auth_stat_has_a_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
