/*
 * auth.c: the table of credential flavors (RFC 5531, section 8) and the
 * texts of auth_stat.
 *
 * Part of the wire layer: bytes only, no sockets. The client asks the
 * table for a flavor's credential, the server for the check of a call's
 * credential and the verifier of its reply. Each flavor is one entry of
 * pl_auth_ops; AUTH_NONE lives here, AUTH_SYS in auth_sys.c, and a flavor
 * of Parley's own is one more entry in the table below.
 */
#include "wire/auth.h"

#include <string.h>

/* The texts of auth_stat, in RFC 5531's words (section 9, and RFC 2203 for
 * the two of RPCSEC_GSS), indexed by value. */
static const char *const auth_texts[] = {
    [PARLEY_AUTH_OK] = "success",
    [PARLEY_AUTH_BADCRED] = "bad credential (seal broken)",
    [PARLEY_AUTH_REJECTEDCRED] = "the client must begin a new session",
    [PARLEY_AUTH_BADVERF] = "bad verifier (seal broken)",
    [PARLEY_AUTH_REJECTEDVERF] = "verifier expired or replayed",
    [PARLEY_AUTH_TOOWEAK] = "rejected for security reasons",
    [PARLEY_AUTH_INVALIDRESP] = "bogus response verifier",
    [PARLEY_AUTH_FAILED] = "reason unknown",
    [PARLEY_AUTH_KERB_GENERIC] = "kerberos generic error",
    [PARLEY_AUTH_TIMEEXPIRE] = "time of credential expired",
    [PARLEY_AUTH_TKT_FILE] = "problem with ticket file",
    [PARLEY_AUTH_DECODE] = "cannot decode authenticator",
    [PARLEY_AUTH_NET_ADDR] = "wrong net address in ticket",
    [PARLEY_RPCSEC_GSS_CREDPROBLEM] = "no credentials for user",
    [PARLEY_RPCSEC_GSS_CTXPROBLEM] = "problem with context",
};

/* parley_auth_strerror: see parley/rpc.h. Any value is a safe argument. */
const char *parley_auth_strerror(uint32_t auth_stat)
{
    if (auth_stat < sizeof auth_texts / sizeof auth_texts[0] && auth_texts[auth_stat])
        return auth_texts[auth_stat];
    return "unknown authentication error";
}

/* ---- AUTH_NONE --------------------------------------------------------- */

/* AUTH_NONE: the credential's body must be empty (RFC 5531, 10.1). Like
 * libtirpc, the verifier is not looked at: clients send AUTH_NONE there. */
static uint32_t none_check(const pl_call_header *call, parley_cred *out)
{
    if (call->cred.len != 0)
        return PARLEY_AUTH_BADCRED;
    memset(out, 0, sizeof *out);
    out->flavor = PARLEY_AUTH_NONE;
    return PARLEY_AUTH_OK;
}

/* pl_auth_none_verf makes an AUTH_NONE verifier, the answer of AUTH_NONE
 * and AUTH_SYS alike. */
int pl_auth_none_verf(const pl_call_header *call, const parley_cred *cred,
                      uint8_t buf[PARLEY_MAX_AUTH_BYTES], pl_opaque_auth *verf)
{
    verf->flavor = PARLEY_AUTH_NONE;
    verf->len = 0;
    verf->body = NULL;
    return PARLEY_OK;
}

static int none_make_cred(const parley_cred *cred, uint8_t buf[PARLEY_MAX_AUTH_BYTES],
                          pl_opaque_auth *out)
{
    out->flavor = PARLEY_AUTH_NONE;
    out->len = 0;
    out->body = NULL;
    return PARLEY_OK;
}

const pl_auth_ops pl_auth_none_ops = {PARLEY_AUTH_NONE, none_check, pl_auth_none_verf,
                                      none_make_cred};

/* ---- the table --------------------------------------------------------- */

static const pl_auth_ops *const auth_table[] = {
    &pl_auth_none_ops,
    &pl_auth_sys_ops,
};

/* pl_auth_find returns the operations of flavor, or NULL for a flavor the
 * runtime does not implement. The table is constant. */
const pl_auth_ops *pl_auth_find(uint32_t flavor)
{
    for (size_t i = 0; i < sizeof auth_table / sizeof auth_table[0]; i++) {
        if (auth_table[i]->flavor == flavor)
            return auth_table[i];
    }
    return NULL;
}

/* pl_auth_check checks the credential of a decoded call with its flavor's
 * operations: PARLEY_AUTH_OK and *out filled, or the auth_stat to deny with
 * (*out untouched). An unknown flavor is PARLEY_AUTH_REJECTEDCRED, as
 * libtirpc answers. */
uint32_t pl_auth_check(const pl_call_header *call, parley_cred *out)
{
    const pl_auth_ops *ops = pl_auth_find(call->cred.flavor);
    if (ops == NULL)
        return PARLEY_AUTH_REJECTEDCRED;
    return ops->check(call, out);
}
