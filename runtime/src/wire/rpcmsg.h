/*
 * rpcmsg.h: the headers of ONC RPC messages (RFC 5531, section 9) on the
 * XDR cursors.
 *
 * Internal to libparley: the client encodes calls and decodes replies with
 * these functions, the server the other way round; the bytes of arguments or
 * results follow the header at the cursor and are handled by generated code.
 * Decoders never allocate: credential and verifier bodies point into the
 * message, so they live as long as the buffer the cursor reads.
 */
#ifndef PARLEY_RPCMSG_H
#define PARLEY_RPCMSG_H

#include <stdint.h>

#include "parley/rpc.h"
#include "parley/xdr.h"

/* An opaque_auth: a flavor and up to PARLEY_MAX_AUTH_BYTES of body. When
 * decoded, body points into the message (NULL when len is 0). */
typedef struct pl_opaque_auth {
    uint32_t flavor;
    uint32_t len;
    const uint8_t *body;
} pl_opaque_auth;

/* The header of a CALL. When rpcvers is not PARLEY_RPC_VERSION the decoder
 * stops right after it (the rest of the layout belongs to that version) and
 * the fields after it are zero: the server answers RPC_MISMATCH. */
typedef struct pl_call_header {
    uint32_t xid;
    uint32_t rpcvers;
    uint32_t prog, vers, proc;
    pl_opaque_auth cred, verf;
} pl_call_header;

/* The header of a REPLY. stat is a parley_reply_stat. When MSG_ACCEPTED:
 * verf and accept_stat, and low/high for PROG_MISMATCH. When MSG_DENIED:
 * reject_stat, then low/high for RPC_MISMATCH or auth_stat for AUTH_ERROR.
 * Fields that the variant does not carry are zero. */
typedef struct pl_reply_header {
    uint32_t xid;
    uint32_t stat;
    pl_opaque_auth verf;
    uint32_t accept_stat;
    uint32_t reject_stat;
    uint32_t auth_stat;
    uint32_t low, high;
} pl_reply_header;

/* Any message header: mtype (a parley_msg_type) tells which arm is set. */
typedef struct pl_msg_header {
    uint32_t mtype;
    union {
        pl_call_header call;
        pl_reply_header reply;
    } u;
} pl_msg_header;

/* ---- decoding ---------------------------------------------------------- */

int pl_msg_decode_header(parley_dec *d, pl_msg_header *out);
int pl_msg_decode_call(parley_dec *d, pl_call_header *out);
int pl_msg_decode_reply(parley_dec *d, pl_reply_header *out);
void pl_opaque_auth_dec(parley_dec *d, pl_opaque_auth *out);

/* ---- encoding ---------------------------------------------------------- */

void pl_opaque_auth_enc(parley_enc *e, const pl_opaque_auth *a);
int pl_msg_encode_call(parley_enc *e, uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc,
                       const pl_opaque_auth *cred, const pl_opaque_auth *verf);
int pl_msg_encode_reply_accepted(parley_enc *e, uint32_t xid, const pl_opaque_auth *verf,
                                 uint32_t accept_stat, uint32_t low, uint32_t high);
int pl_msg_encode_reply_denied_rpc_mismatch(parley_enc *e, uint32_t xid, uint32_t low,
                                            uint32_t high);
int pl_msg_encode_reply_denied_auth_error(parley_enc *e, uint32_t xid, uint32_t auth_stat);

/* pl_reply_error maps a decoded reply header to the error a client call
 * returns: PARLEY_OK for an accepted, successful call. */
int pl_reply_error(const pl_reply_header *h);

#endif /* PARLEY_RPCMSG_H */
