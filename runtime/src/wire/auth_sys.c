/*
 * auth_sys.c: the AUTH_SYS flavor (RFC 5531, appendix A): the body of its
 * credential, struct authsys_parms, and its entry of the flavor table.
 *
 * Part of the wire layer: bytes only. The decoder never allocates and is
 * strict about the bounds RFC 5531 fixes (a machine name of at most 255
 * bytes, at most 16 gids, zero padding, no bytes left over).
 */
#include "wire/auth.h"

#include <string.h>

/* pl_authsys_encode encodes the body of an AUTH_SYS credential (struct
 * authsys_parms): stamp, machine name, uid, gid, gids. Errors recorded on e:
 * PARLEY_ERR_TOO_LONG for a machine name that is not NUL-terminated within
 * 256 bytes (so longer than 255) or more than 16 gids, and
 * PARLEY_ERR_BUFFER_FULL. */
void pl_authsys_encode(parley_enc *e, const parley_cred *cred)
{
    size_t mlen = strnlen(cred->machine, sizeof cred->machine);
    if (mlen > PARLEY_AUTHSYS_MAX_MACHINE || cred->ngids > PARLEY_AUTHSYS_MAX_GIDS) {
        parley_enc_fail(e, PARLEY_ERR_TOO_LONG);
        return;
    }
    parley_put_u32(e, cred->stamp);
    parley_put_bytes(e, cred->machine, (uint32_t)mlen, PARLEY_AUTHSYS_MAX_MACHINE);
    parley_put_u32(e, cred->uid);
    parley_put_u32(e, cred->gid);
    if (parley_put_count(e, cred->gids, cred->ngids, PARLEY_AUTHSYS_MAX_GIDS))
        parley_put_u32s(e, cred->gids, cred->ngids);
}

/* pl_authsys_decode decodes the len bytes of an AUTH_SYS credential body at
 * body into *out (flavor PARLEY_AUTH_SYS), which is written only on success.
 * The body must be used up exactly. Errors: PARLEY_ERR_TRUNCATED,
 * PARLEY_ERR_TOO_LONG (a machine name over 255 bytes, more than 16 gids),
 * PARLEY_ERR_BAD_STRING (a NUL in the machine name), PARLEY_ERR_BAD_PADDING,
 * PARLEY_ERR_TRAILING. */
int pl_authsys_decode(const uint8_t *body, uint32_t len, parley_cred *out)
{
    parley_cred c;
    parley_dec d;
    memset(&c, 0, sizeof c);
    parley_dec_init(&d, body, len, NULL);
    c.flavor = PARLEY_AUTH_SYS;
    c.stamp = parley_get_u32(&d);
    uint32_t mlen = parley_get_u32(&d);
    if (!d.err && mlen > PARLEY_AUTHSYS_MAX_MACHINE) {
        d.p -= 4;
        parley_dec_fail(&d, PARLEY_ERR_TOO_LONG);
    }
    if (!d.err && parley_dec_need(&d, parley_round4(mlen))) {
        if (memchr(d.p, 0, mlen) != NULL) {
            parley_dec_fail(&d, PARLEY_ERR_BAD_STRING);
        } else {
            memcpy(c.machine, d.p, mlen);
            d.p += mlen;
            parley_dec_skip_pad(&d, parley_pad4(mlen));
        }
    }
    c.uid = parley_get_u32(&d);
    c.gid = parley_get_u32(&d);
    c.ngids = parley_get_u32(&d);
    if (!d.err && c.ngids > PARLEY_AUTHSYS_MAX_GIDS) {
        d.p -= 4;
        parley_dec_fail(&d, PARLEY_ERR_TOO_LONG);
    }
    if (!d.err)
        parley_get_u32s(&d, c.gids, c.ngids);
    if (!d.err && parley_dec_remaining(&d) != 0)
        parley_dec_fail(&d, PARLEY_ERR_TRAILING);
    if (d.err)
        return d.err;
    *out = c;
    return PARLEY_OK;
}

/* ---- the flavor -------------------------------------------------------- */

/* AUTH_SYS: the body must decode exactly. The verifier is not looked at,
 * as with AUTH_NONE. */
static uint32_t sys_check(const pl_call_header *call, parley_cred *out)
{
    parley_cred c;
    if (pl_authsys_decode(call->cred.body, call->cred.len, &c) != PARLEY_OK)
        return PARLEY_AUTH_BADCRED;
    *out = c;
    return PARLEY_AUTH_OK;
}

static int sys_make_cred(const parley_cred *cred, uint8_t buf[PARLEY_MAX_AUTH_BYTES],
                         pl_opaque_auth *out)
{
    parley_enc e;
    size_t len;
    parley_enc_init(&e, buf, PARLEY_MAX_AUTH_BYTES);
    pl_authsys_encode(&e, cred);
    int rc = parley_enc_finish(&e, &len);
    if (rc != PARLEY_OK)
        return rc;
    out->flavor = PARLEY_AUTH_SYS;
    out->len = (uint32_t)len;
    out->body = buf;
    return PARLEY_OK;
}

const pl_auth_ops pl_auth_sys_ops = {PARLEY_AUTH_SYS, sys_check, pl_auth_none_verf, sys_make_cred};
