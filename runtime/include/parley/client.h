/*
 * parley/client.h: the RPC client (see docs/runtime.md).
 *
 * A client handle is bound to one address and one program version. Any
 * number of threads may call through one handle at once: calls are pipelined
 * over one connection and matched to their replies by xid, with no lock held
 * across a round trip. Generated foo_client.c files wrap parley_client_call
 * in one typed function per procedure. Calls can also be submitted and
 * completed from an event loop (parley_client_submit, _poll, _fd).
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
    unsigned retransmit_ms;  /* UDP: the first interval before a retransmission; 0: 250 ms;
                                each next interval doubles, up to 8 s (a first interval
                                above 8 s is taken as 8 s), until the deadline */
    const parley_cred *cred; /* AUTH_SYS credentials to send; NULL: AUTH_NONE */
    size_t max_alloc;        /* most a result's decoding allocates; 0: PARLEY_DEFAULT_MAX_ALLOC */
    int busy_poll_us;        /* wait for a reply this long polling the socket before sleeping
                                (adaptive: stops while replies come slower); 0: 50 us;
                                negative: never */
    int min_semantics;       /* the weakest delivery guarantee a call through the handle
                                gets, whatever it declares (docs/semantics.md):
                                PARLEY_MIN_DECLARED (0: each call its own),
                                PARLEY_MIN_AT_MOST_ONCE or PARLEY_MIN_EXACTLY_ONCE */
    const char *journal;     /* a file where the handle keeps its identity and its
                                synchronous guaranteed calls in flight, so that after
                                the client process's crash a handle made with the same
                                file sends them again (parley_client_recover) under the
                                same identity; NULL: none, a new identity per handle.
                                One handle at a time per file (another is refused with
                                PARLEY_ERR_IN_USE at create). */
} parley_client_opts;

/* The values of parley_client_opts.min_semantics. */
enum { PARLEY_MIN_DECLARED = 0, PARLEY_MIN_AT_MOST_ONCE = 1, PARLEY_MIN_EXACTLY_ONCE = 2 };

/* parley_client_create makes a client for prog/vers at addr
 * ("tcp://host:port", "udp://host:port", "unix:///path"), or at the service
 * registered with the matchmaker under a name: "date" (the matchmaker
 * PARLEY_MATCHMAKER names, by default localhost:111), "date@host" (the
 * matchmaker on host, at PARLEY_MATCHMAKER's port or 111) or
 * "date@host:port". A name is looked up here, to choose the transport from
 * those the service registered for prog and vers: a Unix socket when the
 * matchmaker asked is on this host (localhost, 127.x.y.z, ::1, or a Unix
 * socket), else TCP (IPv4, then IPv6), else UDP (a wildcard address
 * registered stands for the matchmaker's host). It is looked up again at
 * each connection, within the call's deadline, so that a client follows a
 * server that restarted at another address. An address is connected to on the
 * first call. The caller owns the handle; parley_client_destroy frees it.
 * Errors: PARLEY_ERR_INVALID, _ADDRESS (addr cannot be read), _NOMEM, and
 * for a name: _NOT_REGISTERED (no such service, or none on a transport
 * this host can use), _HOST_NOT_NAME (the look-up failed and the name
 * looks like a host, "127.0.0.1" or "localhost": write
 * "tcp://HOST:PORT", "NAME@HOST", or call parley_client_create_host), _PROG_MISMATCH (registered,
 * not in version vers), _PROG_UNAVAIL (registered as another program), and the errors of calling
 * the matchmaker (_REFUSED when none runs there, _TIMEDOUT, ...). */
int parley_client_create(parley_client **out, const char *addr, uint32_t prog, uint32_t vers,
                         const parley_client_opts *opts);

/* parley_client_create_host makes a client for program prog, version vers
 * on host, found as libtirpc's clnt_create(host, prog, vers, nettype)
 * finds it: by asking host's portmapper (rpcbind, or a Parley matchmaker,
 * which answers rpcbind's protocol and has Parley servers registered by
 * name in the same table) for the program's address, with rpcbind version
 * 3's GETADDR. host is a host name, an IPv4 literal, or an IPv6 literal
 * with or without brackets; nettype is "tcp" (also for NULL), "udp",
 * "tcp6" or "udp6". The portmapper is reached over TCP at
 * PARLEY_MATCHMAKER's port if that variable gives one (a test's
 * matchmaker on a free port), else 111, within opts->timeout_ms up to 5 s.
 * The address is looked up once, here, as clnt_create does: a server that
 * restarts at another port is not followed (a service registered by name,
 * "NAME@HOST", is looked up again at each connection). The handle is
 * then as parley_client_create's for "tcp://IP:PORT" (or udp): owned by
 * the caller, freed with parley_client_destroy; *out is written only on
 * success. Errors: PARLEY_ERR_INVALID (out or host NULL, another
 * nettype), _ADDRESS (host cannot be read), _NOT_REGISTERED (the
 * portmapper knows no such program, version and transport),
 * _PROG_UNAVAIL or _PROG_MISMATCH (no rpcbind version 3 at the port), the
 * errors of reaching the portmapper (_RESOLVE, _REFUSED when none runs
 * there, _TIMEDOUT, ...), _PROTOCOL (its answer is no address), _NOMEM,
 * and parley_client_create's. Thread-safe: it shares nothing. */
int parley_client_create_host(parley_client **out, const char *host, uint32_t prog, uint32_t vers,
                              const char *nettype, const parley_client_opts *opts);

/* parley_client_destroy closes the connection and frees c; NULL is a no-op.
 * No synchronous call may be in progress, nor parley_client_poll. Calls whose
 * deadline passed leave nothing behind, so a destroy after them is safe.
 * Submitted calls not yet completed have their callbacks run here, in the
 * calling thread: with their result when their reply had already been read,
 * else with PARLEY_ERR_CANCELLED. */
void parley_client_destroy(parley_client *c);

/* How a call's arguments are encoded and its result decoded (generated). */
typedef void parley_args_enc(parley_enc *e, const void *args);
typedef void parley_res_dec(parley_dec *d, void *res);

/* parley_client_call calls procedure proc as a plain ONC RPC call, with no
 * delivery guarantee (docs/semantics.md): over UDP it is sent again until
 * its reply comes, so the server may run it more than once, and a
 * connection that breaks under it fails it with PARLEY_ERR_CLOSED, run or
 * not; the handle's min_semantics makes it at-most-once or exactly-once.
 * The generated stubs call parley_client_call_opts with the guarantee the
 * IDL declares (at-most-once by default). It encodes args (args_size bytes,
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
 * a reply that comes later is dropped; a call whose message waits behind
 * another thread's send fails with it, and is never sent, when the socket
 * takes nothing before that send's deadline), _REFUSED and _CONNECT (connecting
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

/* parley_client_call_arena is parley_client_call with the result decoded
 * into arena instead of malloc'd storage (NULL: malloc, as
 * parley_client_call): a result of many strings or elements then costs no
 * allocation per piece, and releasing it is one parley_arena_reset.
 *
 * The arena is used only during the call and only by the calling thread (a
 * parley_arena is not thread-safe: each thread sharing a handle brings its
 * own). Ownership of res: whatever the decoding allocated, on success and
 * on failure alike (a result that does not decode leaves its pieces
 * there), lives in the arena; res points into it and is valid until the
 * arena's next reset or its destroy, which release it. Never pass it to
 * T_free. Errors: as parley_client_call. */
int parley_client_call_arena(parley_client *c, uint32_t proc, parley_args_enc *enc,
                             const void *args, size_t args_size, parley_res_dec *dec, void *res,
                             unsigned timeout_ms, parley_arena *arena);

/* parley_call_opts are one call's settings, for parley_client_call_opts
 * and parley_client_submit_opts; a NULL pointer, or zero fields, take the
 * defaults. */
typedef struct parley_call_opts {
    unsigned timeout_ms;        /* 0: the handle's */
    parley_semantics semantics; /* the guarantee the procedure declares (the
                                   generated stubs pass the IDL's); the handle's
                                   min_semantics may make it stronger; 0:
                                   at-most-once */
    parley_arena *arena;        /* what the result is decoded into; NULL: malloc */
} parley_call_opts;

/* parley_call_opts_for fills *o with the settings a generated stub calls
 * with: given's (NULL: the defaults), with the guarantee the procedure
 * declares unless given asks for PARLEY_EXACTLY_ONCE (zero is at-most-once,
 * so no other value can ask for more than declared). It returns the arena
 * the result is decoded into (NULL: malloc). The generated code calls it
 * rather than naming the fields, which an IDL constant may #define. */
static inline parley_arena *parley_call_opts_for(parley_call_opts *o, const parley_call_opts *given,
                                                 parley_semantics declared)
{
    parley_call_opts d = {0, PARLEY_AT_MOST_ONCE, NULL};
    *o = given ? *given : d;
    if (o->semantics != PARLEY_EXACTLY_ONCE)
        o->semantics = declared;
    return o->arena;
}

/* parley_client_call_opts is parley_client_call with a call's settings:
 * its deadline, the delivery guarantee the procedure declares, and an
 * arena (as parley_client_call_arena). The guarantee (docs/semantics.md):
 *
 *   PARLEY_IDEMPOTENT: sent again freely, over UDP and on a new connection
 *     when its own broke, until the deadline.
 *   PARLEY_AT_MOST_ONCE: carries the handle's identity and a sequence
 *     number; a Parley server answers its retransmissions (UDP, or on a
 *     new connection after a broken one: the call is sent again until the
 *     deadline) from its reply cache and never runs it twice. A plain ONC
 *     RPC server gets it once, never again: a connection broken after it
 *     was sent is PARLEY_ERR_IN_DOUBT.
 *   PARLEY_EXACTLY_ONCE: as at-most-once, and the server keeps its
 *     completion record in a crash-safe store, so that it runs once across
 *     a server crash; PARLEY_ERR_NOT_GUARANTEED, with nothing sent, from a
 *     server without a store or a plain one.
 *
 * The first guaranteed call of a handle says HELLO to the server first
 * (one round trip), and again after the server restarted. Errors: those
 * of parley_client_call, PARLEY_ERR_INVALID (semantics out of range),
 * PARLEY_ERR_IN_DOUBT (the call may have run and its outcome is lost: the
 * server forgot it, or restarted without a store; it was not run again),
 * PARLEY_ERR_NOT_GUARANTEED, PARLEY_ERR_BUSY (the server had no room for
 * it until the deadline; it did not run), PARLEY_ERR_NO_SPACE and
 * PARLEY_ERR_STORE (the server's store could not keep it; it did not run,
 * or what it did was undone). The deadline passing (PARLEY_ERR_TIMEDOUT)
 * leaves the outcome unknown, as for any call; a call whose connection
 * broke after it left and that could not be sent again before its
 * deadline is PARLEY_ERR_IN_DOUBT. Calls submitted with
 * parley_client_submit_opts carry the identity too, and the poller takes
 * them on by the same rules: sent again while connections are refused or
 * broken and after RETRY or BUSY (with backoff, until the deadline), and
 * after a HELLO to a restarted server (said once per handle, by the
 * poller) under a new number when they provably never ran. */
int parley_client_call_opts(parley_client *c, uint32_t proc, parley_args_enc *enc, const void *args,
                            size_t args_size, parley_res_dec *dec, void *res,
                            const parley_call_opts *o);

/* parley_client_recover sends again, under the handle's journaled
 * identity and their own numbers, the guaranteed calls that were in flight
 * when the process that used the journal (parley_client_opts.journal)
 * stopped, one after another, and tells fn the outcome of each: its
 * procedure, sequence number, error, and on PARLEY_OK its result's encoded
 * bytes (valid during fn; decode them with the result type's T_decode).
 * A call the server ran gets its recorded reply; one it never saw runs
 * now; one whose record the server lost (a restart without a store) is
 * PARLEY_ERR_IN_DOUBT. Until it has been called, the handle's other
 * guaranteed calls wait for nothing, but the server keeps the records of
 * the recovered ones. Returns the number of calls recovered through *n
 * (may be NULL). Errors: PARLEY_ERR_INVALID (c or fn NULL). Calls made
 * before parley_client_recover are fine; a handle without a journal has
 * nothing to recover. */
typedef void parley_recover_fn(void *ctx, uint32_t proc, uint64_t seq, int err,
                               const uint8_t *result, size_t len);
int parley_client_recover(parley_client *c, parley_recover_fn *fn, void *ctx, unsigned *n);

/* ---- asynchronous calls ----
 *
 * For programs with their own event loop: parley_client_submit sends a call
 * and returns at once; parley_client_poll reads the replies and runs each
 * submitted call's completion callback; parley_client_fd is the descriptor
 * to watch for readability in the program's poll(), epoll or libuv loop.
 * Synchronous and submitted calls may be mixed on one handle and from any
 * threads.
 *
 * Callbacks run only in a thread calling parley_client_poll (or in the one
 * calling parley_client_destroy), never in a synchronous caller's thread,
 * even when that thread happens to read the reply: an event loop's state is
 * touched only from the loop. A callback run by parley_client_poll may
 * submit and make synchronous calls through the handle, but must not destroy
 * it; one run by parley_client_destroy must not use the handle at all. */

/* A submitted call's completion: err is what parley_client_call would have
 * returned for it, and its res is filled when err is PARLEY_OK (under the
 * same ownership rules). ctx is the submitter's. */
typedef void parley_done_fn(void *ctx, int err);

/* parley_client_submit starts a call of procedure proc like
 * parley_client_call (same enc, args, args_size, dec, res, timeout_ms) and
 * returns without waiting for the reply. It may connect, and wait for the
 * socket to take the message, within the call's deadline.
 *
 * The arguments are encoded before it returns: args may be released then.
 * res must stay valid, and untouched, until done runs: the result is decoded
 * into it in the thread that runs done, just before. On PARLEY_OK, done runs
 * exactly once, later, from parley_client_poll or parley_client_destroy,
 * with the call's outcome; that includes a send that failed after the call
 * was registered (the connection broke: PARLEY_ERR_CLOSED). Errors, after
 * which nothing was sent and done never runs: PARLEY_ERR_INVALID (a NULL c
 * or done, or res NULL with a dec), the encoder's, _MSG_TOO_LARGE, _NOMEM,
 * _IO (the descriptors of the asynchronous API could not be made), and
 * connecting's (_REFUSED, _CONNECT, _RESOLVE, _TIMEDOUT).
 *
 * The deadline (timeout_ms, 0: the handle's default) is enforced by
 * parley_client_poll: a call whose deadline has passed completes with
 * PARLEY_ERR_TIMEDOUT there, and its late reply is dropped. Over UDP a
 * submitted call is retransmitted only by parley_client_poll, so the
 * program polls (parley_client_fd becomes readable when one is due). */
int parley_client_submit(parley_client *c, uint32_t proc, parley_args_enc *enc, const void *args,
                         size_t args_size, parley_res_dec *dec, void *res, unsigned timeout_ms,
                         parley_done_fn *done, void *ctx);

/* parley_client_submit_arena is parley_client_submit with the result
 * decoded into arena (NULL: malloc), under parley_client_call_arena's
 * ownership rules. The decoding happens in the thread that runs done, just
 * before it: the arena must stay valid, and be used by no other thread, from
 * the submit until done has run (an event loop that submits and polls from
 * one thread, with an arena of its own, has nothing to arrange). */
int parley_client_submit_arena(parley_client *c, uint32_t proc, parley_args_enc *enc,
                               const void *args, size_t args_size, parley_res_dec *dec, void *res,
                               unsigned timeout_ms, parley_arena *arena, parley_done_fn *done,
                               void *ctx);

/* parley_client_submit_opts is parley_client_submit with a call's
 * settings (parley_call_opts). Errors: those of parley_client_submit; but
 * an at-most-once or exactly-once call that cannot connect (a server down
 * or restarting) is kept and sent when it can be, before its deadline, as
 * a synchronous one waits (done then runs with its outcome). Its first
 * call to a server may say HELLO first, waiting for it as a synchronous
 * call does. */
int parley_client_submit_opts(parley_client *c, uint32_t proc, parley_args_enc *enc,
                              const void *args, size_t args_size, parley_res_dec *dec, void *res,
                              const parley_call_opts *o, parley_done_fn *done, void *ctx);

/* parley_client_fd is a descriptor that becomes readable when
 * parley_client_poll has something to do: a reply may be waiting, a call
 * has completed (its reply read by another thread, or its connection
 * broken), or a submitted call's deadline or retransmission is due. It is
 * the same descriptor for the handle's life (an epoll descriptor that
 * follows the reconnections), owned by the handle: watch it, never read or
 * close it. Returns -1 (errno set) when it cannot be made. While a
 * synchronous caller holds the reader's role the descriptor may stay
 * readable for a moment without parley_client_poll completing anything. */
int parley_client_fd(parley_client *c);

/* parley_client_poll reads the replies that are there (taking the reader's
 * role when no synchronous caller holds it), completes the submitted calls
 * whose deadline passed with PARLEY_ERR_TIMEDOUT, retransmits due UDP
 * calls, and runs the callbacks of the completed calls in the calling thread.
 * It waits up to timeout_ms (0: not at all, -1: without limit) for at least
 * one callback to run. *completed (when not NULL) is the number of callbacks
 * it ran. Returns PARLEY_OK (also when the wait ended with none),
 * PARLEY_ERR_INVALID (NULL c) or PARLEY_ERR_IO (poll() or the descriptors
 * of the asynchronous API failed; parley_client_errno says why); a
 * connection's failure is reported to the calls in flight on it, not here.
 * Any number of threads may poll; each finished call's callback runs in
 * exactly one of them. */
int parley_client_poll(parley_client *c, int timeout_ms, unsigned *completed);

/* parley_client_errno is the errno of the system call behind the last
 * failure of c's connection (for messages), or 0 when that failure had
 * none (the server closed the connection, a time-out) or nothing failed
 * yet: an earlier failure's errno is not kept past a later failure. */
int parley_client_errno(const parley_client *c);

/* ---- the server's details of an error ----
 *
 * Some of the server's refusals carry more than their error code: the
 * versions of the program it serves (PROG_MISMATCH), the RPC versions it
 * speaks (RPC_MISMATCH), and why it refused the credentials (AUTH_ERROR).
 * They are kept per thread, like errno, so that any number of threads
 * calling through one handle each read their own. */
typedef struct parley_rpc_detail {
    int err;            /* the error of the call described (PARLEY_OK included) */
    uint32_t low, high; /* PARLEY_ERR_PROG_MISMATCH: the lowest and highest versions
                           of the program the server serves; PARLEY_ERR_RPC_MISMATCH:
                           the RPC versions it speaks; else 0 */
    uint32_t auth_stat; /* PARLEY_ERR_AUTH: the server's reason (enum parley_auth_stat,
                           parley_auth_strerror); else 0 */
} parley_rpc_detail;

/* parley_client_last_detail copies into *out the details of the last call
 * completed in the calling thread: set by parley_client_call (and the
 * generated proc_n stubs, which call it) just before it returns, and by
 * parley_client_poll and parley_client_destroy just before they run each
 * completion callback, so that a callback reads its own call's. A thread
 * that has completed no call reads err PARLEY_OK and zeros. A call that
 * fails before anything is sent (PARLEY_ERR_INVALID, an encoding error)
 * sets it too, with no details; parley_client_submit does not: a submitted
 * call's details are set when its callback runs. */
void parley_client_last_detail(parley_rpc_detail *out);

/* parley_rpc_detail_format writes a one-line English text of d into buf
 * (len bytes, always NUL-terminated when len > 0) and returns buf: the
 * error's text (parley_strerror) followed by the details when it has any,
 * e.g. "program version mismatch: the server serves versions 1 to 3" or
 * "authentication failed: rejected for security reasons". */
char *parley_rpc_detail_format(const parley_rpc_detail *d, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* PARLEY_CLIENT_H */
