/*
 * parley/server.h: the RPC server (see docs/runtime.md).
 *
 * One server serves any number of programs and versions on any number of
 * addresses (tcp://, udp://, unix://), with a pool of threads sharing one
 * epoll instance. Generated foo_server.c files describe their programs with
 * parley_program_def; the user writes the procedures and main().
 */
#ifndef PARLEY_SERVER_H
#define PARLEY_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "parley/arena.h"
#include "parley/error.h"
#include "parley/rpc.h"
#include "parley/xdr.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct parley_server parley_server;

/* One call being served: its caller, its arena, its reply. Valid only
 * during the handler that receives it. */
typedef struct parley_call parley_call;

/* Limits and settings; zero fields take the defaults. */
typedef struct parley_server_opts {
    unsigned threads;         /* worker threads; 0: one per core */
    size_t max_msg;           /* largest message received; 0: 4 MiB */
    unsigned max_conns;       /* connections at once; 0: 1024 */
    unsigned idle_timeout_ms; /* close connections idle this long; 0: 60 s */
    size_t max_queued;        /* replies a client has not read yet, per connection,
                                 before its connection is closed; 0: 4 MiB */
    unsigned msg_timeout_ms;  /* a message must arrive whole this soon after its
                                 first byte, or its connection is closed (a client
                                 dribbling bytes holds no buffer for long); checked
                                 about once a second, so a connection may live up
                                 to a second past it; 0: 30 s */
} parley_server_opts;

/* A procedure's handler (generated): decodes the arguments from args
 * (allocating from parley_call_arena), runs the procedure, and encodes the
 * result through parley_call_result. Returns PARLEY_OK, PARLEY_ERR_GARBAGE_ARGS
 * when the arguments do not decode, or PARLEY_ERR_SYSTEM_ERR when the
 * procedure failed (the caller gets SYSTEM_ERR). */
typedef int parley_handler(parley_call *call, parley_dec *args);

typedef struct parley_proc_def {
    uint32_t proc;
    parley_handler *handler;
} parley_proc_def;

typedef struct parley_program_def {
    uint32_t prog;
    uint32_t vers;
    const parley_proc_def *procs;
    size_t nprocs;
} parley_program_def;

/* parley_server_create makes a server with no programs and no addresses.
 * The caller owns it; parley_server_destroy frees it. */
int parley_server_create(parley_server **out, const parley_server_opts *opts);

/* parley_server_add_program serves def (which must outlive the server).
 * PARLEY_ERR_INVALID when that program and version are served already. */
int parley_server_add_program(parley_server *s, const parley_program_def *def);

/* parley_server_listen listens on addr ("tcp://127.0.0.1:0", "udp://[::1]:4000",
 * "unix:///run/x.sock"); when bound is not NULL, the address actually bound
 * (with the port chosen for port 0) is written there as text. */
int parley_server_listen(parley_server *s, const char *addr, char *bound, size_t boundlen);

/* parley_server_run serves until parley_server_stop; it returns once the
 * calls in flight have been answered. */
int parley_server_run(parley_server *s);

/* parley_server_stop asks a running server to stop: it stops accepting,
 * finishes the calls in flight, and parley_server_run returns. Safe to call
 * from a signal handler and from any thread. */
void parley_server_stop(parley_server *s);

/* For a program with its own event loop, instead of parley_server_run:
 * parley_server_fd is a descriptor that becomes readable when the server has
 * work (put it in your poll/epoll set); parley_server_poll then does that
 * work in the calling thread, waiting at most timeout_ms (0: not at all;
 * negative: until there is work) for the first event. Calls are then run in
 * the calling thread, one at a time. */
int parley_server_fd(const parley_server *s);
int parley_server_poll(parley_server *s, int timeout_ms);

/* parley_server_destroy closes every address and frees s; NULL is a no-op.
 * The server must not be running. */
void parley_server_destroy(parley_server *s);

/* parley_call_cred is the caller's credentials (AUTH_SYS fields, or zeros). */
const parley_cred *parley_call_cred(const parley_call *call);

/* parley_call_arena is an arena released when the call has been answered. */
parley_arena *parley_call_arena(parley_call *call);

/* parley_call_limits are the limits to decode the arguments with (the
 * server's, allocating from the call's arena). */
const parley_limits *parley_call_limits(const parley_call *call);

/* parley_call_result returns the encoder for a result of size bytes (the
 * exact encoded size, from T_size), or NULL when memory ran out. */
parley_enc *parley_call_result(parley_call *call, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* PARLEY_SERVER_H */
