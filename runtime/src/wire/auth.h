/*
 * auth.h: credential flavors (RFC 5531, section 8): the table of what the
 * runtime knows of each flavor, and the AUTH_SYS credential body.
 *
 * Internal to libparley, part of the wire layer (bytes only). The client
 * makes its credential with a flavor's make_cred, the server checks a
 * call's with pl_auth_check and answers with the flavor's make_verf.
 */
#ifndef PARLEY_AUTH_H
#define PARLEY_AUTH_H

#include <stdint.h>

#include "wire/rpcmsg.h"

/* ---- AUTH_SYS ---------------------------------------------------------- */

void pl_authsys_encode(parley_enc *e, const parley_cred *cred);
int pl_authsys_decode(const uint8_t *body, uint32_t len, parley_cred *out);

/* ---- auth flavors ------------------------------------------------------ */

/* pl_auth_ops is what the runtime knows of one flavor. A new flavor is one
 * more entry in the table of auth.c.
 *
 * check: on the server, checks the call's credential and verifier; fills
 * *out and returns PARLEY_AUTH_OK, or returns the auth_stat to deny with.
 * make_verf: on the server, the verifier of the reply to an accepted call;
 * its body, if any, is written in buf, which *verf then points to; returns a
 * parley_err.
 * make_cred: on the client, the credential for cred; the same contract. */
typedef struct pl_auth_ops {
    uint32_t flavor;
    uint32_t (*check)(const pl_call_header *call, parley_cred *out);
    int (*make_verf)(const pl_call_header *call, const parley_cred *cred,
                     uint8_t buf[PARLEY_MAX_AUTH_BYTES], pl_opaque_auth *verf);
    int (*make_cred)(const parley_cred *cred, uint8_t buf[PARLEY_MAX_AUTH_BYTES],
                     pl_opaque_auth *out);
} pl_auth_ops;

const pl_auth_ops *pl_auth_find(uint32_t flavor);
uint32_t pl_auth_check(const pl_call_header *call, parley_cred *out);

/* The entries of the table (auth.c, auth_sys.c). */
extern const pl_auth_ops pl_auth_none_ops;
extern const pl_auth_ops pl_auth_sys_ops;

int pl_auth_none_verf(const pl_call_header *call, const parley_cred *cred,
                      uint8_t buf[PARLEY_MAX_AUTH_BYTES], pl_opaque_auth *verf);

#endif /* PARLEY_AUTH_H */
