/*
 * parley/client.h: the RPC client (see docs/runtime.md).
 *
 * A client handle is bound to one address and one program version. Any
 * number of threads may call through one handle at once: calls are pipelined
 * over one connection and matched to their replies by xid, with no lock held
 * across a round trip. Generated foo_client.c files wrap parley_client_call
 * in one typed function per procedure.
 */
#ifndef PARLEY_CLIENT_H
#define PARLEY_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "parley/error.h"
#include "parley/rpc.h"
#include "parley/xdr.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct parley_client parley_client;

/* Settings; zero fields take the defaults. */
typedef struct parley_client_opts {
    unsigned timeout_ms;     /* deadline of a call that gives none; 0: 25 s */
    size_t max_msg;          /* largest reply accepted; 0: 4 MiB */
    unsigned retransmit_ms;  /* UDP: first retransmission; 0: 250 ms, doubling to 8 s */
    const parley_cred *cred; /* AUTH_SYS credentials to send; NULL: AUTH_NONE */
    size_t max_alloc;        /* most a result's decoding allocates; 0: PARLEY_DEFAULT_MAX_ALLOC */
} parley_client_opts;

/* parley_client_create makes a client for prog/vers at addr
 * ("tcp://host:port", "udp://host:port", "unix:///path"). It connects on
 * the first call. The caller owns it; parley_client_destroy frees it. */
int parley_client_create(parley_client **out, const char *addr, uint32_t prog, uint32_t vers,
                         const parley_client_opts *opts);

/* parley_client_destroy closes the connection and frees c; NULL is a no-op.
 * No call may be in progress. Calls whose deadline passed leave nothing
 * behind, so a destroy after them is safe. */
void parley_client_destroy(parley_client *c);

/* How a call's arguments are encoded and its result decoded (generated). */
typedef void parley_args_enc(parley_enc *e, const void *args);
typedef void parley_res_dec(parley_dec *d, void *res);

/* parley_client_call calls procedure proc: encodes args (args_size bytes,
 * from T_size) with enc (NULL: no arguments), waits for the reply until
 * timeout_ms (0: the handle's default), and decodes the result into res with
 * dec (NULL: a void result), allocating with malloc. Any number of threads
 * may call through one handle at once.
 *
 * Ownership of res: pass it zeroed (or holding a value its T_free accepts).
 * Errors before the result's decoding leave it untouched; a result that does
 * not decode (or has bytes left over) leaves it partly decoded. Either way,
 * and on success, the caller releases it with the result type's T_free, which
 * is always safe afterwards.
 *
 * Returns PARLEY_OK or the error: PARLEY_ERR_TIMEDOUT (the deadline passed;
 * a reply that comes later is dropped), _REFUSED and _CONNECT (connecting
 * failed; the next call tries again), _CLOSED (the connection broke while the
 * call was in flight; the next call reconnects), _IO, _MSG_TOO_LARGE (the
 * reply exceeds max_msg), _PROTOCOL (the reply is not an RPC reply), the
 * server's RPC errors (_PROG_UNAVAIL, _PROG_MISMATCH, _PROC_UNAVAIL,
 * _GARBAGE_ARGS, _SYSTEM_ERR, _RPC_MISMATCH, _AUTH), an encoding error of the
 * arguments (nothing is sent), a decoding error of the result, or
 * PARLEY_ERR_TRAILING when the result leaves bytes over (the two sides
 * disagree on its type; libtirpc ignores them). */
int parley_client_call(parley_client *c, uint32_t proc, parley_args_enc *enc, const void *args,
                       size_t args_size, parley_res_dec *dec, void *res, unsigned timeout_ms);

/* parley_client_errno is the errno of the last failed system call of c's
 * connection (for messages), or 0. */
int parley_client_errno(const parley_client *c);

#ifdef __cplusplus
}
#endif
#endif /* PARLEY_CLIENT_H */
