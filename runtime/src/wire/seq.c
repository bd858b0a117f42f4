/*
 * seq.c: the codec of the Parley credential flavor and its verifier
 * (seq.h), and its entry in the flavor table.
 *
 * Part of the wire layer: bytes only, no state. The decoders never
 * allocate (the inner credential's body points into the message), are
 * strict about everything the format fixes (the version, the semantics,
 * zero padding, no bytes left over) and write their output only on
 * success. The delivery layer above decides what a client id and a
 * sequence number mean; this file only carries them.
 */
#include "wire/seq.h"

#include <string.h>

#include "wire/auth.h"

/* pl_seq_cred_enc encodes the body of a Parley credential. Errors recorded
 * on e: PARLEY_ERR_INVALID for an inner credential of the Parley flavor
 * itself or semantics out of range, PARLEY_ERR_TOO_LONG when the whole body
 * would pass PARLEY_MAX_AUTH_BYTES, PARLEY_ERR_BUFFER_FULL. */
void pl_seq_cred_enc(parley_enc *e, const pl_seq_cred *c)
{
    if (c->inner.flavor == PL_AUTH_PARLEY || c->semantics > PL_SEM_EXACTLY_ONCE) {
        parley_enc_fail(e, PARLEY_ERR_INVALID);
        return;
    }
    if (c->inner.len > PARLEY_MAX_AUTH_BYTES ||
        PL_SEQ_CRED_BYTES(c->inner.len) > PARLEY_MAX_AUTH_BYTES) {
        parley_enc_fail(e, PARLEY_ERR_TOO_LONG);
        return;
    }
    parley_put_u32(e, PL_SEQ_VERSION);
    parley_put_opaque(e, c->client, PL_SEQ_ID_BYTES);
    parley_put_u64(e, c->seq);
    parley_put_u64(e, c->ack);
    parley_put_u64(e, c->incarnation);
    parley_put_u32(e, c->semantics);
    pl_opaque_auth_enc(e, &c->inner);
}

/* pl_seq_cred_decode decodes the len bytes of a Parley credential body at
 * body into *out, written only on success; out->inner.body points into
 * body. Errors: PARLEY_ERR_TRUNCATED, PARLEY_ERR_PROTOCOL (another version,
 * unknown semantics, an inner credential of this flavor),
 * PARLEY_ERR_TOO_LONG, PARLEY_ERR_BAD_PADDING, PARLEY_ERR_TRAILING. */
int pl_seq_cred_decode(const uint8_t *body, uint32_t len, pl_seq_cred *out)
{
    pl_seq_cred c;
    parley_dec d;
    memset(&c, 0, sizeof c);
    parley_dec_init(&d, body, len, NULL);
    uint32_t version = parley_get_u32(&d);
    if (!d.err && version != PL_SEQ_VERSION) {
        d.p -= 4;
        parley_dec_fail(&d, PARLEY_ERR_PROTOCOL);
    }
    parley_get_opaque(&d, c.client, PL_SEQ_ID_BYTES);
    c.seq = parley_get_u64(&d);
    c.ack = parley_get_u64(&d);
    c.incarnation = parley_get_u64(&d);
    c.semantics = parley_get_u32(&d);
    if (!d.err && c.semantics > PL_SEM_EXACTLY_ONCE) {
        d.p -= 4;
        parley_dec_fail(&d, PARLEY_ERR_PROTOCOL);
    }
    pl_opaque_auth_dec(&d, &c.inner);
    if (!d.err && c.inner.flavor == PL_AUTH_PARLEY)
        parley_dec_fail(&d, PARLEY_ERR_PROTOCOL);
    if (!d.err && parley_dec_remaining(&d) != 0)
        parley_dec_fail(&d, PARLEY_ERR_TRAILING);
    if (d.err)
        return d.err;
    *out = c;
    return PARLEY_OK;
}

/* pl_seq_verf_enc encodes the body of a Parley verifier. */
void pl_seq_verf_enc(parley_enc *e, const pl_seq_verf *v)
{
    parley_put_u64(e, v->incarnation);
    parley_put_u32(e, v->status);
}

/* pl_seq_verf_decode decodes a Parley verifier body into *out, written only
 * on success. Errors: PARLEY_ERR_TRUNCATED, PARLEY_ERR_PROTOCOL (an
 * unknown status), PARLEY_ERR_TRAILING. */
int pl_seq_verf_decode(const uint8_t *body, uint32_t len, pl_seq_verf *out)
{
    pl_seq_verf v;
    parley_dec d;
    parley_dec_init(&d, body, len, NULL);
    v.incarnation = parley_get_u64(&d);
    v.status = parley_get_u32(&d);
    if (!d.err && v.status > PL_SEQ_STATUS_LAST) {
        d.p -= 4;
        parley_dec_fail(&d, PARLEY_ERR_PROTOCOL);
    }
    if (!d.err && parley_dec_remaining(&d) != 0)
        parley_dec_fail(&d, PARLEY_ERR_TRAILING);
    if (d.err)
        return d.err;
    *out = v;
    return PARLEY_OK;
}

/* parley_semantics_stronger: see parley/rpc.h. */
parley_semantics parley_semantics_stronger(parley_semantics a, parley_semantics b)
{
    /* ranks, weakest first: idempotent, at-most-once, exactly-once */
    int ra = a == PARLEY_IDEMPOTENT ? 0 : a == PARLEY_EXACTLY_ONCE ? 2 : 1;
    int rb = b == PARLEY_IDEMPOTENT ? 0 : b == PARLEY_EXACTLY_ONCE ? 2 : 1;
    static const parley_semantics by_rank[] = {PARLEY_IDEMPOTENT, PARLEY_AT_MOST_ONCE,
                                               PARLEY_EXACTLY_ONCE};
    return by_rank[ra > rb ? ra : rb];
}
