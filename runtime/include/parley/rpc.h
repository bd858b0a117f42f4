/*
 * parley/rpc.h: the constants of ONC RPC version 2 (RFC 5531) and the
 * credentials of a caller as a server procedure sees them.
 *
 * The numbers are those of the RFC's rpc_msg definition (section 9) and of
 * its authentication flavors (sections 8.2 and 10); they are what travels on
 * the wire, so they never change. The runtime's message codec, client and
 * server use them; applications need them to read a parley_cred or to choose
 * a flavor, and parley_auth_strerror to tell a user why a server refused
 * the credentials.
 */
#ifndef PARLEY_RPC_H
#define PARLEY_RPC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The RPC protocol version a call carries in its rpcvers field. */
#define PARLEY_RPC_VERSION 2u

/* The largest body of an opaque_auth (a credential or a verifier). */
#define PARLEY_MAX_AUTH_BYTES 400u

/* msg_type: the discriminant after the xid. */
enum parley_msg_type { PARLEY_CALL = 0, PARLEY_REPLY = 1 };

/* reply_stat: whether the server accepted the call at all. */
enum parley_reply_stat { PARLEY_MSG_ACCEPTED = 0, PARLEY_MSG_DENIED = 1 };

/* accept_stat: the outcome of an accepted call. */
enum parley_accept_stat {
    PARLEY_SUCCESS = 0,       /* the results follow */
    PARLEY_PROG_UNAVAIL = 1,  /* the program is not exported */
    PARLEY_PROG_MISMATCH = 2, /* the version is not; low and high follow */
    PARLEY_PROC_UNAVAIL = 3,  /* the procedure is not */
    PARLEY_GARBAGE_ARGS = 4,  /* the arguments did not decode */
    PARLEY_SYSTEM_ERR = 5     /* the server failed, e.g. out of memory */
};

/* reject_stat: why a call was denied. */
enum parley_reject_stat {
    PARLEY_RPC_MISMATCH = 0, /* rpcvers was not 2; low and high follow */
    PARLEY_AUTH_ERROR = 1    /* an auth_stat follows */
};

/* auth_stat: why authentication failed (PARLEY_AUTH_OK when it did not). */
enum parley_auth_stat {
    PARLEY_AUTH_OK = 0,
    PARLEY_AUTH_BADCRED = 1,      /* bad credential (seal broken) */
    PARLEY_AUTH_REJECTEDCRED = 2, /* the client must begin a new session */
    PARLEY_AUTH_BADVERF = 3,      /* bad verifier (seal broken) */
    PARLEY_AUTH_REJECTEDVERF = 4, /* verifier expired or replayed */
    PARLEY_AUTH_TOOWEAK = 5,      /* rejected for security reasons */
    PARLEY_AUTH_INVALIDRESP = 6,  /* bogus response verifier */
    PARLEY_AUTH_FAILED = 7,       /* reason unknown */
    PARLEY_AUTH_KERB_GENERIC = 8,
    PARLEY_AUTH_TIMEEXPIRE = 9,
    PARLEY_AUTH_TKT_FILE = 10,
    PARLEY_AUTH_DECODE = 11,
    PARLEY_AUTH_NET_ADDR = 12,
    PARLEY_RPCSEC_GSS_CREDPROBLEM = 13,
    PARLEY_RPCSEC_GSS_CTXPROBLEM = 14
};

/* parley_auth_strerror returns a static English text, never NULL, for an
 * auth_stat (RFC 5531's words, e.g. "rejected for security reasons" for
 * PARLEY_AUTH_TOOWEAK); values it does not know give "unknown
 * authentication error". */
const char *parley_auth_strerror(uint32_t auth_stat);

/* The authentication flavors. */
enum parley_auth_flavor {
    PARLEY_AUTH_NONE = 0,
    PARLEY_AUTH_SYS = 1,
    PARLEY_AUTH_SHORT = 2,
    PARLEY_AUTH_DH = 3,
    PARLEY_RPCSEC_GSS = 6
};

/* parley_semantics is a procedure's delivery guarantee (docs/semantics.md):
 * what may happen to a call when messages are lost, repeated or late,
 * connections break and servers crash. The IDL declares it per procedure
 * (@idempotent, @at_most_once, @exactly_once); the generated tables and
 * stubs carry it; a client may ask for a stronger one than declared, never
 * get a weaker one. Zero is the default, at-most-once. From weaker to
 * stronger: IDEMPOTENT, AT_MOST_ONCE, EXACTLY_ONCE. */
typedef enum parley_semantics {
    PARLEY_AT_MOST_ONCE = 0, /* never runs twice; a call whose outcome is lost
                                fails with PARLEY_ERR_IN_DOUBT */
    PARLEY_IDEMPOTENT = 1,   /* may run more than once: sent again freely */
    PARLEY_EXACTLY_ONCE = 2  /* runs once, across a server crash (the server
                                needs a completion store) */
} parley_semantics;

/* parley_semantics_stronger is the stronger of a and b; values out of
 * range count as at-most-once. */
parley_semantics parley_semantics_stronger(parley_semantics a, parley_semantics b);

/* The limits of an AUTH_SYS credential (RFC 5531, appendix A). */
#define PARLEY_AUTHSYS_MAX_MACHINE 255u
#define PARLEY_AUTHSYS_MAX_GIDS    16u

/* parley_cred is the credential of a call as the server checked it: the
 * flavor, and for AUTH_SYS the stamp, the NUL-terminated machine name and
 * the caller's uid, gid and supplementary gids. For AUTH_NONE every field
 * but flavor is zero. The server owns it; a procedure reads it during the
 * call and copies what it wants to keep. */
typedef struct parley_cred {
    uint32_t flavor;
    uint32_t stamp;
    char machine[PARLEY_AUTHSYS_MAX_MACHINE + 1];
    uint32_t uid, gid;
    uint32_t ngids;
    uint32_t gids[PARLEY_AUTHSYS_MAX_GIDS];
} parley_cred;

#ifdef __cplusplus
}
#endif
#endif /* PARLEY_RPC_H */
