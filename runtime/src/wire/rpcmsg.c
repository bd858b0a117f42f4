/*
 * rpcmsg.c: the headers of ONC RPC messages (RFC 5531, section 9).
 *
 * This is the layer under the client and the server that knows the layout
 * of rpc_msg and nothing of transports: it reads and writes the XDR cursors
 * of parley/xdr.h, so framing (recmark.c), credential flavors (auth.c) and sockets stay elsewhere.
 * The decoders are strict about what RFC 5531 fixes (message types, reply and accept statuses, the
 * 400-byte limit of auth bodies, zero padding) and never allocate.
 */
#include "wire/rpcmsg.h"

#include <string.h>

/* ---- opaque_auth ------------------------------------------------------- */

/* pl_opaque_auth_dec decodes an opaque_auth at the cursor: out->body points
 * into the message. A body longer than PARLEY_MAX_AUTH_BYTES records
 * PARLEY_ERR_TOO_LONG; padding must be zero (PARLEY_ERR_BAD_PADDING) unless
 * the cursor is lax. On error *out is zero. */
void pl_opaque_auth_dec(parley_dec *d, pl_opaque_auth *out)
{
    pl_opaque_auth a = {0, 0, NULL};
    a.flavor = parley_get_u32(d);
    a.len = parley_get_u32(d);
    if (!d->err && a.len > PARLEY_MAX_AUTH_BYTES) {
        d->p -= 4;
        parley_dec_fail(d, PARLEY_ERR_TOO_LONG);
    }
    if (!d->err && parley_dec_need(d, parley_round4(a.len))) {
        a.body = a.len ? d->p : NULL;
        d->p += a.len;
        parley_dec_skip_pad(d, parley_pad4(a.len));
    }
    if (d->err)
        memset(&a, 0, sizeof a);
    *out = a;
}

/* pl_opaque_auth_enc encodes a, or AUTH_NONE with an empty body when a is
 * NULL. Errors: PARLEY_ERR_TOO_LONG for a body over PARLEY_MAX_AUTH_BYTES,
 * PARLEY_ERR_NULL for a NULL body with a non-zero length. */
void pl_opaque_auth_enc(parley_enc *e, const pl_opaque_auth *a)
{
    if (a == NULL) {
        parley_put_u32(e, PARLEY_AUTH_NONE);
        parley_put_u32(e, 0);
        return;
    }
    parley_put_u32(e, a->flavor);
    parley_put_bytes(e, a->body, a->len, PARLEY_MAX_AUTH_BYTES);
}

/* ---- decoding ---------------------------------------------------------- */

/* dec_enum_fail rejects the 32-bit value just read as an unknown enum value
 * of the protocol, pointing the error at it. */
static void dec_enum_fail(parley_dec *d)
{
    d->p -= 4;
    parley_dec_fail(d, PARLEY_ERR_PROTOCOL);
}

/* call_body decodes what follows "xid CALL". A call of another RPC version
 * ends after rpcvers: what follows it is that version's business, and the
 * server needs only the xid to answer RPC_MISMATCH. */
static void call_body(parley_dec *d, pl_call_header *c)
{
    c->rpcvers = parley_get_u32(d);
    if (d->err || c->rpcvers != PARLEY_RPC_VERSION)
        return;
    c->prog = parley_get_u32(d);
    c->vers = parley_get_u32(d);
    c->proc = parley_get_u32(d);
    pl_opaque_auth_dec(d, &c->cred);
    pl_opaque_auth_dec(d, &c->verf);
}

/* reply_body decodes what follows "xid REPLY". */
static void reply_body(parley_dec *d, pl_reply_header *r)
{
    r->stat = parley_get_u32(d);
    if (d->err)
        return;
    if (r->stat == PARLEY_MSG_ACCEPTED) {
        pl_opaque_auth_dec(d, &r->verf);
        r->accept_stat = parley_get_u32(d);
        if (d->err)
            return;
        if (r->accept_stat > PARLEY_SYSTEM_ERR) {
            dec_enum_fail(d);
        } else if (r->accept_stat == PARLEY_PROG_MISMATCH) {
            r->low = parley_get_u32(d);
            r->high = parley_get_u32(d);
        }
    } else if (r->stat == PARLEY_MSG_DENIED) {
        r->reject_stat = parley_get_u32(d);
        if (d->err)
            return;
        if (r->reject_stat == PARLEY_RPC_MISMATCH) {
            r->low = parley_get_u32(d);
            r->high = parley_get_u32(d);
        } else if (r->reject_stat == PARLEY_AUTH_ERROR) {
            /* auth_stat grows with new flavors (RPCSEC_GSS added two), so
             * any value is passed on; the client reports PARLEY_ERR_AUTH. */
            r->auth_stat = parley_get_u32(d);
        } else {
            dec_enum_fail(d);
        }
    } else {
        dec_enum_fail(d);
    }
}

/* pl_msg_decode_header decodes the header of any message, call or reply,
 * leaving the cursor at the first byte of the arguments or results.
 * Errors (also recorded on d): PARLEY_ERR_TRUNCATED, PARLEY_ERR_PROTOCOL for
 * an unknown msg_type, reply_stat, accept_stat or reject_stat,
 * PARLEY_ERR_TOO_LONG for an auth body over 400 bytes,
 * PARLEY_ERR_BAD_PADDING. *out is written only on success; its auth bodies
 * point into d's buffer. A call whose rpcvers is not 2 decodes successfully
 * up to rpcvers (see pl_call_header). */
int pl_msg_decode_header(parley_dec *d, pl_msg_header *out)
{
    pl_msg_header h;
    memset(&h, 0, sizeof h);
    uint32_t xid = parley_get_u32(d);
    h.mtype = parley_get_u32(d);
    if (d->err)
        return d->err;
    if (h.mtype == PARLEY_CALL) {
        h.u.call.xid = xid;
        call_body(d, &h.u.call);
    } else if (h.mtype == PARLEY_REPLY) {
        h.u.reply.xid = xid;
        reply_body(d, &h.u.reply);
    } else {
        dec_enum_fail(d);
    }
    if (d->err)
        return d->err;
    *out = h;
    return PARLEY_OK;
}

/* pl_msg_decode_call decodes the header of a message that must be a call (a
 * server's view): a reply is PARLEY_ERR_PROTOCOL. Otherwise as
 * pl_msg_decode_header. */
int pl_msg_decode_call(parley_dec *d, pl_call_header *out)
{
    pl_msg_header h;
    int rc = pl_msg_decode_header(d, &h);
    if (rc != PARLEY_OK)
        return rc;
    if (h.mtype != PARLEY_CALL) {
        parley_dec_fail(d, PARLEY_ERR_PROTOCOL);
        return PARLEY_ERR_PROTOCOL;
    }
    *out = h.u.call;
    return PARLEY_OK;
}

/* pl_msg_decode_reply decodes the header of a message that must be a reply
 * (a client's view): a call is PARLEY_ERR_PROTOCOL. Otherwise as
 * pl_msg_decode_header. */
int pl_msg_decode_reply(parley_dec *d, pl_reply_header *out)
{
    pl_msg_header h;
    int rc = pl_msg_decode_header(d, &h);
    if (rc != PARLEY_OK)
        return rc;
    if (h.mtype != PARLEY_REPLY) {
        parley_dec_fail(d, PARLEY_ERR_PROTOCOL);
        return PARLEY_ERR_PROTOCOL;
    }
    *out = h.u.reply;
    return PARLEY_OK;
}

/* ---- encoding ---------------------------------------------------------- */

/* pl_msg_encode_call encodes the header of a call of RPC version 2; the
 * arguments are encoded after it. A NULL cred or verf is AUTH_NONE. Returns
 * the cursor's first error: PARLEY_ERR_BUFFER_FULL, PARLEY_ERR_TOO_LONG for
 * an auth body over 400 bytes, PARLEY_ERR_NULL. */
int pl_msg_encode_call(parley_enc *e, uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
                       const pl_opaque_auth *cred, const pl_opaque_auth *verf)
{
    parley_put_u32(e, xid);
    parley_put_u32(e, PARLEY_CALL);
    parley_put_u32(e, PARLEY_RPC_VERSION);
    parley_put_u32(e, prog);
    parley_put_u32(e, vers);
    parley_put_u32(e, proc);
    pl_opaque_auth_enc(e, cred);
    pl_opaque_auth_enc(e, verf);
    return e->err;
}

/* pl_msg_encode_reply_accepted encodes the header of an accepted reply with
 * verifier verf (NULL: AUTH_NONE); low and high are written only for
 * PARLEY_PROG_MISMATCH. After PARLEY_SUCCESS the results follow. Errors: as
 * pl_msg_encode_call, and PARLEY_ERR_BAD_ENUM for an unknown accept_stat
 * (nothing is written then). */
int pl_msg_encode_reply_accepted(parley_enc *e, uint32_t xid, const pl_opaque_auth *verf,
                                 uint32_t accept_stat, uint32_t low, uint32_t high)
{
    if (accept_stat > PARLEY_SYSTEM_ERR) {
        parley_enc_fail(e, PARLEY_ERR_BAD_ENUM);
        return e->err;
    }
    parley_put_u32(e, xid);
    parley_put_u32(e, PARLEY_REPLY);
    parley_put_u32(e, PARLEY_MSG_ACCEPTED);
    pl_opaque_auth_enc(e, verf);
    parley_put_u32(e, accept_stat);
    if (accept_stat == PARLEY_PROG_MISMATCH) {
        parley_put_u32(e, low);
        parley_put_u32(e, high);
    }
    return e->err;
}

/* pl_msg_encode_reply_denied_rpc_mismatch encodes the whole reply to a call
 * of an RPC version outside [low, high]. Errors: PARLEY_ERR_BUFFER_FULL. */
int pl_msg_encode_reply_denied_rpc_mismatch(parley_enc *e, uint32_t xid, uint32_t low,
                                            uint32_t high)
{
    parley_put_u32(e, xid);
    parley_put_u32(e, PARLEY_REPLY);
    parley_put_u32(e, PARLEY_MSG_DENIED);
    parley_put_u32(e, PARLEY_RPC_MISMATCH);
    parley_put_u32(e, low);
    parley_put_u32(e, high);
    return e->err;
}

/* pl_msg_encode_reply_denied_auth_error encodes the whole reply to a call
 * whose authentication failed with auth_stat. Errors: PARLEY_ERR_INVALID for
 * PARLEY_AUTH_OK, which is no reason to deny (nothing is written then), and
 * PARLEY_ERR_BUFFER_FULL. */
int pl_msg_encode_reply_denied_auth_error(parley_enc *e, uint32_t xid, uint32_t auth_stat)
{
    if (auth_stat == PARLEY_AUTH_OK) {
        parley_enc_fail(e, PARLEY_ERR_INVALID);
        return e->err;
    }
    parley_put_u32(e, xid);
    parley_put_u32(e, PARLEY_REPLY);
    parley_put_u32(e, PARLEY_MSG_DENIED);
    parley_put_u32(e, PARLEY_AUTH_ERROR);
    parley_put_u32(e, auth_stat);
    return e->err;
}

/* pl_reply_error maps a decoded reply header to the error a client call
 * returns: PARLEY_OK for an accepted call that succeeded, one of the RPC
 * errors for the other variants, and PARLEY_ERR_PROTOCOL for a header that
 * no decoder would have produced. */
int pl_reply_error(const pl_reply_header *h)
{
    if (h->stat == PARLEY_MSG_ACCEPTED) {
        switch (h->accept_stat) {
        case PARLEY_SUCCESS:
            return PARLEY_OK;
        case PARLEY_PROG_UNAVAIL:
            return PARLEY_ERR_PROG_UNAVAIL;
        case PARLEY_PROG_MISMATCH:
            return PARLEY_ERR_PROG_MISMATCH;
        case PARLEY_PROC_UNAVAIL:
            return PARLEY_ERR_PROC_UNAVAIL;
        case PARLEY_GARBAGE_ARGS:
            return PARLEY_ERR_GARBAGE_ARGS;
        case PARLEY_SYSTEM_ERR:
            return PARLEY_ERR_SYSTEM_ERR;
        default:
            return PARLEY_ERR_PROTOCOL;
        }
    }
    if (h->stat == PARLEY_MSG_DENIED) {
        if (h->reject_stat == PARLEY_RPC_MISMATCH)
            return PARLEY_ERR_RPC_MISMATCH;
        if (h->reject_stat == PARLEY_AUTH_ERROR)
            return PARLEY_ERR_AUTH;
    }
    return PARLEY_ERR_PROTOCOL;
}
