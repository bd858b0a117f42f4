/*
 * seq.h: the credential flavor of Parley's delivery guarantees, on the wire.
 *
 * Internal to libparley, part of the wire layer (bytes only). A call that
 * asks for at-most-once or exactly-once delivery carries, in place of its
 * AUTH_NONE or AUTH_SYS credential, a credential of flavor
 * PL_AUTH_PARLEY that wraps it and adds who the caller is and which call
 * this is; the server answers with a verifier of the same flavor that says
 * which incarnation of the server answered and what became of the call.
 * docs/semantics.md has the protocol; the XDR of both bodies is:
 *
 *   struct parley_seq_cred {
 *       unsigned int  version;      -- PL_SEQ_VERSION
 *       opaque        client[16];   -- random, one per client incarnation
 *       unsigned hyper seq;         -- the call's number; 0: HELLO
 *       unsigned hyper ack;         -- every call below it is answered
 *       unsigned hyper incarnation; -- the server's, as known at first send
 *       unsigned int  semantics;    -- PL_SEM_*
 *       opaque_auth   inner;        -- the wrapped AUTH_NONE or AUTH_SYS
 *   };
 *   struct parley_seq_verf {
 *       unsigned hyper incarnation; -- the answering server's
 *       unsigned int  status;       -- PL_SEQ_*
 *   };
 *
 * The flavor's number is not one IANA assigned: it spells "PRLY" and lies
 * in a range (8 to 30000 and 300003 to 389999 are the unassigned ranges
 * IANA lists; this one is above them all) that IANA does not hand out.
 */
#ifndef PARLEY_SEQ_H
#define PARLEY_SEQ_H

#include <stdint.h>

#include "parley/xdr.h"
#include "wire/rpcmsg.h"

#define PL_AUTH_PARLEY  0x50524c59u
#define PL_SEQ_VERSION  1u
#define PL_SEQ_ID_BYTES 16u

/* The guarantee a call asks for. */
enum pl_semantics {
    PL_SEM_NONE = 0,         /* plain, or idempotent: may run more than once */
    PL_SEM_AT_MOST_ONCE = 1, /* never runs twice */
    PL_SEM_EXACTLY_ONCE = 2  /* runs once, across a server crash */
};

/* What the server made of a call, in its verifier. */
enum pl_seq_status {
    PL_SEQ_OK = 0,       /* the reply is the call's (first run or recorded) */
    PL_SEQ_RETRY = 1,    /* the call is running: ask again later */
    PL_SEQ_IN_DOUBT = 2, /* it may have run and its record is gone: not run */
    PL_SEQ_HELLO = 3,    /* the server does not know the client (any more) */
    PL_SEQ_BUSY = 4,     /* no room for the call now: not run */
    PL_SEQ_NO_STORE = 5, /* exactly-once asked of a server without a store */
    PL_SEQ_NO_SPACE = 6, /* the store's disk is full: not run (nothing kept) */
    PL_SEQ_STORE = 7     /* the store failed: not run (nothing kept) */
};
#define PL_SEQ_STATUS_LAST PL_SEQ_STORE

typedef struct pl_seq_cred {
    uint8_t client[PL_SEQ_ID_BYTES];
    uint64_t seq;
    uint64_t ack;
    uint64_t incarnation;
    uint32_t semantics;
    pl_opaque_auth inner; /* decoded: its body points into the message */
} pl_seq_cred;

typedef struct pl_seq_verf {
    uint64_t incarnation;
    uint32_t status;
} pl_seq_verf;

/* The encoded size of a credential body around an inner body of n bytes. */
#define PL_SEQ_CRED_BYTES(n) (4u + PL_SEQ_ID_BYTES + 8u + 8u + 8u + 4u + 8u + (((n) + 3u) & ~3u))
#define PL_SEQ_VERF_BYTES    12u

/* Where seq, ack and incarnation lie in an encoded credential body, so that
 * a retransmission can be brought up to date in place. */
#define PL_SEQ_OFF_SEQ         (4u + PL_SEQ_ID_BYTES)
#define PL_SEQ_OFF_ACK         (PL_SEQ_OFF_SEQ + 8u)
#define PL_SEQ_OFF_INCARNATION (PL_SEQ_OFF_ACK + 8u)

void pl_seq_cred_enc(parley_enc *e, const pl_seq_cred *c);
int pl_seq_cred_decode(const uint8_t *body, uint32_t len, pl_seq_cred *out);
void pl_seq_verf_enc(parley_enc *e, const pl_seq_verf *v);
int pl_seq_verf_decode(const uint8_t *body, uint32_t len, pl_seq_verf *out);

#endif /* PARLEY_SEQ_H */
