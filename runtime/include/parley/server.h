/*
 * parley/server.h: the RPC server (see docs/runtime.md).
 *
 * One server serves any number of programs and versions on any number of
 * addresses (tcp://, udp://, unix://), with a pool of threads sharing one
 * epoll instance. Generated foo_server.c files describe their programs with
 * parley_program_def; the user writes the procedures and main().
 *
 * Threads: parley_server_stop and parley_server_add_program may be called
 * from any thread at any time (stop from a signal handler too). The other
 * functions on one server are called from one thread at a time, which may
 * be another than the thread running it; each says what it allows.
 * Procedures run on the server's threads, several at once. The
 * parley_call_* functions are called by a procedure, in its thread, on the
 * call it was given.
 */
#ifndef PARLEY_SERVER_H
#define PARLEY_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

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
    unsigned threads;         /* worker threads; 0: one per core (at least 16 with a store
                                 at machine durability: a thread answering an exactly-once
                                 call waits for the disk, and those waiting at once share
                                 one sync) */
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
    int busy_poll_us;         /* after an event, one thread looks for the next this long
                                 before sleeping (adaptive: stops while calls come
                                 slower); 0: 50 us; negative: never */

    /* Delivery guarantees (docs/semantics.md). */
    const char *store;          /* the completion store's file, for exactly-once calls;
                                   NULL: none (exactly-once calls are refused with
                                   PARLEY_ERR_NOT_GUARANTEED at the client) */
    int durability;             /* PARLEY_DURABLE_PROCESS (0, the default: a record has
                                   reached the kernel before the reply leaves, and
                                   survives the server's crash) or PARLEY_DURABLE_MACHINE
                                   (fdatasync, shared by concurrent calls: survives
                                   power loss) */
    size_t store_max_bytes;     /* the store file's bound before compaction; 0: 64 MiB */
    size_t cache_max_bytes;     /* the reply cache's memory; 0: 64 MiB */
    unsigned cache_max_clients; /* clients with an identity remembered; 0: 65,536 */
    unsigned cache_window;      /* calls of one client between its acknowledgement and its
                                   newest; 0: 1,024 */
    unsigned lease_ms;          /* a client silent this long is forgotten by the reply
                                   cache; 0: 120 s */
    unsigned store_lease_ms;    /* a client not heard of this long is forgotten by the
                                   completion store, with its records: its calls in
                                   flight then end in doubt, never run twice; 0: 1 hour */
    size_t store_max_clients;   /* clients the store remembers at once; a new client's
                                   HELLO beyond is answered busy; 0: 262,144 */
    size_t drc_max_entries;     /* calls without an identity remembered (best effort);
                                   0: 8,192 */
} parley_server_opts;

#define PARLEY_DEFAULT_STORE_LEASE_MS 3600000u

/* The durability of exactly-once calls (parley_server_opts.durability). */
enum { PARLEY_DURABLE_PROCESS = 0, PARLEY_DURABLE_MACHINE = 1 };

/* A procedure's handler (generated): decodes the arguments from args
 * (allocating from parley_call_arena), runs the procedure, and encodes the
 * result through parley_call_result. Returns PARLEY_OK, PARLEY_ERR_GARBAGE_ARGS
 * when the arguments do not decode (the caller gets GARBAGE_ARGS), or
 * PARLEY_ERR_SYSTEM_ERR when the procedure failed (the caller gets
 * SYSTEM_ERR, as for any other error returned, or a result encoded past
 * the size asked for). PARLEY_OK without parley_call_result answers with
 * an empty (void) result. */
typedef int parley_handler(parley_call *call, parley_dec *args);

typedef struct parley_proc_def {
    uint32_t proc;
    parley_handler *handler;
    parley_semantics semantics; /* declared in the IDL; zero: at-most-once */
} parley_proc_def;

typedef struct parley_program_def {
    uint32_t prog;
    uint32_t vers;
    const parley_proc_def *procs;
    size_t nprocs;
} parley_program_def;

/* parley_server_create makes a server with no programs and no addresses,
 * with the settings in opts (copied; NULL: the defaults), and writes it to
 * *out. The caller owns it; parley_server_destroy frees it. Errors:
 * PARLEY_ERR_INVALID (out NULL), PARLEY_ERR_NOMEM (memory, or a mutex's
 * resources), PARLEY_ERR_IO (no epoll instance or eventfd); *out is then
 * not written and nothing is held. Any thread. */
int parley_server_create(parley_server **out, const parley_server_opts *opts);

/* parley_server_add_program serves def, which stays the caller's and must
 * outlive s. Any thread may call it at any time until
 * parley_server_destroy, also while the server runs and while other
 * threads add programs: a call arriving after it returned is dispatched
 * to def, one being dispatched meanwhile sees the programs with or
 * without def. Each addition copies the table of programs, and the
 * copies are freed by parley_server_destroy (n programs: 3n(n+1)/2
 * pointers). Errors: PARLEY_ERR_INVALID (s or def NULL, or def's program
 * and version served already), PARLEY_ERR_NOMEM (nothing added). */
int parley_server_add_program(parley_server *s, const parley_program_def *def);

/* parley_server_add_program_ctx is parley_server_add_program with a
 * context: ctx (any pointer, NULL included) is what parley_call_ctx gives
 * the procedures of def, so that a service keeps its state in one object
 * instead of globals, and two servers in one process serve the same
 * generated program with different states. ctx stays the caller's: the
 * server never reads, frees or copies what it points to, and it must stay
 * valid until parley_server_destroy (a program is never removed). The
 * procedures share it: they run on the server's threads, several at once,
 * so what they change through it needs the caller's own locking.
 * parley_server_add_program is this with a NULL ctx. Errors: those of
 * parley_server_add_program. */
int parley_server_add_program_ctx(parley_server *s, const parley_program_def *def, void *ctx);

/* parley_server_listen listens on addr ("tcp://127.0.0.1:0", "udp://[::1]:4000",
 * "unix:///run/x.sock"; a host name is listened on at its first address);
 * when bound is not NULL, the address actually bound (with the port chosen
 * for port 0) is written there as text, truncated to boundlen bytes with
 * its NUL. A Unix socket's file gets the permissions the process's umask
 * leaves; a stale one (nobody listening) is replaced. The socket belongs to s until
 * parley_server_destroy, which closes it (and removes a Unix socket's
 * file). On a running server it is served at once. Errors:
 * PARLEY_ERR_INVALID (s or addr NULL), PARLEY_ERR_ADDRESS (addr cannot be
 * read, is a service name, or is not this host's), PARLEY_ERR_RESOLVE,
 * PARLEY_ERR_IN_USE, PARLEY_ERR_DENIED (a port below 1024, a folder the
 * process may not write), PARLEY_ERR_NOMEM, PARLEY_ERR_IO (anything else
 * the system refused); a failed listen leaves nothing: no socket, no file,
 * no address that parley_server_register would advertise. Not at the same
 * time as another listen, parley_server_register or _destroy on s. */
int parley_server_listen(parley_server *s, const char *addr, char *bound, size_t boundlen);

/* Settings of one address; zero fields take the defaults. */
typedef struct parley_listen_opts {
    unsigned unix_mode; /* a Unix socket: the permission bits of its file (e.g. 0666,
                           so that every user may connect; connecting needs write
                           permission), set before it accepts anyone; 0: as the
                           umask leaves them. Ignored for TCP and UDP. */
    int v6only;         /* an IPv6 address: 1, IPv6 only (IPV6_V6ONLY), so that the same
                           port can be bound on 0.0.0.0 too; -1, IPv4 as well (as
                           v4-mapped addresses); 0: the system's default (Linux's
                           net.ipv6.bindv6only, usually IPv4 as well). */
} parley_listen_opts;

/* parley_server_listen_opts is parley_server_listen with settings (NULL:
 * the defaults). Errors: those of parley_server_listen, and
 * PARLEY_ERR_INVALID for a unix_mode with bits beyond 07777; a failed chmod
 * of the socket file is PARLEY_ERR_DENIED or PARLEY_ERR_IO, and leaves
 * nothing listening. */
int parley_server_listen_opts(parley_server *s, const char *addr, const parley_listen_opts *opts,
                              char *bound, size_t boundlen);

/* parley_server_run serves in the calling thread and opts.threads - 1
 * more, until parley_server_stop; it returns once each thread has
 * finished the event it was handling (the calls read are answered), the
 * threads joined. Connections and addresses stay open until
 * parley_server_destroy. A stopped server stays stopped: run returns at
 * once. PARLEY_OK, or PARLEY_ERR_NOMEM when the threads' buffers could not
 * be made (nothing served); a thread that cannot be started leaves the
 * others to serve. One run at a time, and not with parley_server_poll. */
int parley_server_run(parley_server *s);

/* parley_server_stop asks s to stop: its threads take no new event
 * (connections, calls) once they have finished the one they handle, and
 * parley_server_run returns. Safe to call from a signal handler and from
 * any thread, before run too (run then returns at once). A server driven
 * by parley_server_poll sees parley_server_fd readable from then on: its
 * caller stops polling. */
void parley_server_stop(parley_server *s);

/* For a program with its own event loop, instead of parley_server_run:
 * parley_server_fd is a descriptor that becomes readable when the server has
 * work (put it in your poll/epoll set; it stays s's, closed by
 * parley_server_destroy); parley_server_poll then does that work in the
 * calling thread, waiting at most timeout_ms (0: not at all; negative:
 * until there is work) for the first event, and handling at most 64.
 * Calls are then run in the calling thread, one at a time. parley_server_poll
 * returns PARLEY_OK (also when there was nothing to do), or
 * PARLEY_ERR_NOMEM when the buffers it makes at its first call could not
 * be made. One thread at a time, and not with parley_server_run. */
int parley_server_fd(const parley_server *s);
int parley_server_poll(parley_server *s, int timeout_ms);

/* parley_server_register registers the server with the matchmaker as the
 * service name (1 to 64 characters of A-Z a-z 0-9 . _ -, the first a letter
 * or a digit; a generated header defines it as PROG_SERVICE, PROG the
 * program's name, when the IDL gives @service("name")): every program and version added so far, on
 * every address listened on (a Unix socket by its absolute path; one given by a relative path is
 * left out), so that clients can call it by name ("date", "date@host"). Call it after
 * parley_server_listen and parley_server_add_program; a program added later is not registered
 * until register is called again. The matchmaker is the one PARLEY_MATCHMAKER
 * names ("HOST:PORT", a full "tcp://" or "unix://" address; default localhost:111); it accepts
 * registrations only from its own host and keeps each one for the user
 * that made it. A second call replaces the first registration. Each
 * (version, transport) is registered at the first address of that
 * transport, and unregistering takes back exactly what was registered. A
 * name (or program) that a live server holds at another address is
 * refused, also to the same user (PARLEY_ERR_NAME_HELD; see
 * docs/matchmaker.md), so that a second server never orphans the first.
 * parley_server_destroy unregisters, so a server that exits cleanly leaves
 * nothing behind; one that dies is dropped by the matchmaker once its
 * socket is gone. On failure nothing stays registered. Errors:
 * PARLEY_ERR_INVALID (s or name NULL, a bad name, or no address or program yet),
 * PARLEY_ERR_IO (an address listened on could not be read back),
 * PARLEY_ERR_NOT_LOCAL, _NOT_OWNER (another user holds the name or a
 * program), _NAME_HELD (a live server at another address holds it), _TABLE_FULL, PARLEY_ERR_NOMEM,
 * and those of reaching the matchmaker (PARLEY_ERR_REFUSED when none runs, _TIMEDOUT, ...). Each
 * call to the matchmaker takes at most 5 s. Not at the same time as parley_server_listen,
 * _unregister or _destroy on s; while s runs, and while programs are added, it may. */
int parley_server_register(parley_server *s, const char *name);

/* parley_server_register_holder writes into buf (cap bytes, with its NUL)
 * the address of the live server that held the name when the last
 * parley_server_register on s failed with PARLEY_ERR_NAME_HELD, as a Parley
 * address ("tcp://127.0.0.1:4000", "unix:///run/date.sock"): the holder's
 * entry on the transport that was refused, else its first. The runtime asks
 * the matchmaker for it (a LOOKUP of the name) right after the refusal.
 * Errors: PARLEY_ERR_INVALID (s or buf NULL, cap 0), PARLEY_ERR_NOT_REGISTERED
 * (the last register was not refused so, or the holder could not be had:
 * the program was held under another name, or the holder left in between),
 * _BUFFER_FULL (cap too small; 320 bytes always suffice).
 * The threads of parley_server_register: not at the same time as it. */
int parley_server_register_holder(const parley_server *s, char *buf, size_t cap);

/* parley_server_unregister removes what parley_server_register registered
 * (nothing registered: PARLEY_OK): the versions registered then, whatever
 * was added since. Errors: PARLEY_ERR_INVALID (s NULL), and those of
 * reaching the matchmaker (the first of them); either way s no longer
 * counts as registered, and a second call does nothing. The threads of
 * parley_server_register. */
int parley_server_unregister(parley_server *s);

/* parley_server_destroy unregisters from the matchmaker (when registered:
 * one call per program, each taking at most 5 s when the matchmaker does
 * not answer), closes every address and connection, removes the files of
 * its Unix sockets, and frees s; NULL is a no-op. The program definitions
 * stay the caller's. The server must not be running (parley_server_run
 * returned, no parley_server_poll under way), and no other call on s may
 * be under way or follow. */
void parley_server_destroy(parley_server *s);

/* parley_call_ctx is the context the call's program was added with
 * (parley_server_add_program_ctx), or NULL (parley_server_add_program).
 * The same pointer for every call of the program, on every transport and
 * thread (see there for its lifetime and sharing). */
void *parley_call_ctx(const parley_call *call);

/* parley_call_cred is the caller's credentials (AUTH_SYS fields, or zeros),
 * owned by the call. */
const parley_cred *parley_call_cred(const parley_call *call);

/* ---- the caller's transport and identity ----
 *
 * What the socket says about a call, as opposed to what the caller claims
 * (parley_call_cred). Valid only during the handler, like the call. None of
 * them costs a system call per call: a connection's peer address is taken
 * when it is accepted and a Unix connection's peer credentials too (one
 * getsockopt), and parley_call_local makes its getsockname only when it is
 * called. */

/* The transports a call arrives over. */
enum parley_transport {
    PARLEY_TRANSPORT_TCP = 1,
    PARLEY_TRANSPORT_UDP = 2,
    PARLEY_TRANSPORT_UNIX = 3 /* a Unix stream socket */
};

/* parley_call_transport is the transport of call (enum parley_transport). */
int parley_call_transport(const parley_call *call);

/* parley_call_peer writes the caller's address into *out and its length
 * into *len: for UDP the datagram's source, for TCP the connection's peer,
 * for a Unix socket the path the peer's socket is bound to, or, as for
 * most clients, an unnamed address (*len is then sizeof(sa_family_t)).
 * Errors: PARLEY_ERR_INVALID (a NULL argument); out and len are written
 * only on success. */
int parley_call_peer(const parley_call *call, struct sockaddr_storage *out, socklen_t *len);

/* parley_call_local writes the local address the call arrived on into
 * *out and its length into *len: for TCP and Unix connections the
 * connection's own address (getsockname: the listening path for Unix), for
 * UDP the address the datagram was sent to when the socket is bound to a
 * wildcard address (0.0.0.0 or ::, read from IP_PKTINFO or IPV6_PKTINFO,
 * with the socket's port), else the socket's bound address. Errors:
 * PARLEY_ERR_INVALID, PARLEY_ERR_IO (getsockname failed); out and len are
 * written only on success. */
int parley_call_local(const parley_call *call, struct sockaddr_storage *out, socklen_t *len);

/* parley_call_peer_ids gives, on a Unix socket connection, the peer
 * process's credentials as the kernel saw them when it connected
 * (SO_PEERCRED, taken once at accept): its user, group and process ids,
 * each written when its pointer is not NULL. Unlike parley_call_cred they
 * cannot be forged. Errors: PARLEY_ERR_UNSUPPORTED on TCP and UDP,
 * PARLEY_ERR_IO when the kernel would not tell, PARLEY_ERR_INVALID for a
 * NULL call; nothing is written on failure. */
int parley_call_peer_ids(const parley_call *call, uid_t *uid, gid_t *gid, pid_t *pid);

/* parley_call_size is the size in bytes of the call message being served
 * (its RPC header, credentials and arguments; for a stream, without the
 * record mark): what a service compares its answer with, for instance to
 * bound what a spoofed UDP request can make it send (docs/matchmaker.md). */
size_t parley_call_size(const parley_call *call);

/* parley_call_arena is the calling thread's arena, reset as soon as the
 * handler returns: what the handler allocates from it (the decoded
 * arguments) must not be kept past the call. */
parley_arena *parley_call_arena(parley_call *call);

/* parley_call_limits are the limits to decode the arguments with (the
 * server's, allocating from the call's arena), owned by the call. */
const parley_limits *parley_call_limits(const parley_call *call);

/* parley_call_result returns the encoder for a result of size bytes (the
 * exact encoded size, from T_size), owned by the call; the reply is sent
 * after the handler returns. NULL when memory ran out (or size is beyond
 * any buffer); the handler then returns PARLEY_ERR_SYSTEM_ERR. */
parley_enc *parley_call_result(parley_call *call, size_t size);

/* parley_call_free_result hands the procedure's result over to the
 * generated handler, as rpcgen's freeresult does: once the reply is
 * encoded (or when the procedure fails), the handler releases the result
 * with the result type's T_free (free() for a string). A procedure calls
 * it, in the thread running it, when its result is on the heap (malloc,
 * strdup, T_copy with a NULL arena); a result not handed over stays the
 * procedure's (static data, or parley_call_arena memory). It holds for
 * this call only; NULL is a no-op. */
void parley_call_free_result(parley_call *call);

/* parley_call_frees_result is nonzero when the procedure of this call
 * handed its result over (the generated handler asks, after encoding). */
int parley_call_frees_result(const parley_call *call);

/* ---- delivery guarantees ----
 *
 * What a procedure may know of its call's identity and keep with it
 * (docs/semantics.md). Valid only during the handler. */

/* parley_call_identity writes the call's client id (16 bytes) and sequence
 * number, which name the call uniquely and stay the same on every
 * retransmission: an effect kept outside Parley's store (a row in one's
 * own database) can be made once by keying it with them. Either pointer
 * may be NULL. Errors: PARLEY_ERR_INVALID (call NULL),
 * PARLEY_ERR_UNSUPPORTED (the caller sent no identity: a plain ONC RPC
 * client, or an idempotent call); nothing is written on failure. */
int parley_call_identity(const parley_call *call, uint8_t client_id[16], uint64_t *seq);

/* parley_call_store_get, _put and _del read and change the server's store
 * (a key-value space in the completion store) as part of an exactly-once
 * call: what the call puts is committed atomically with its completion
 * record, before its reply leaves, so that after a crash either both are
 * there (a retry gets the recorded reply) or neither (a retry runs the
 * call, which has left no trace). Calls that use the store run one at a
 * time. A value read stays valid until the call's next put or del of that
 * key, or its end; *val is NULL when the key is absent. Keys of up to
 * 1 KiB, values of up to 64 KiB. Errors: PARLEY_ERR_INVALID (NULL
 * arguments), PARLEY_ERR_UNSUPPORTED (not an exactly-once call, or the
 * server has no store), PARLEY_ERR_TOO_LONG, PARLEY_ERR_NOMEM,
 * PARLEY_ERR_STORE. */
int parley_call_store_get(parley_call *call, const void *key, size_t klen, const void **val,
                          size_t *vlen);
int parley_call_store_put(parley_call *call, const void *key, size_t klen, const void *val,
                          size_t vlen);
int parley_call_store_del(parley_call *call, const void *key, size_t klen);

/* parley_call_external records, durably, that the call has started, before
 * the procedure makes an effect outside the store (sends a mail, writes
 * its own file). If the server then crashes before the call completes, a
 * retry finds that record and no completion, and fails with
 * PARLEY_ERR_IN_DOUBT instead of running the effect twice. Calls whose
 * effects are all in the store need not call it. Errors:
 * PARLEY_ERR_UNSUPPORTED (not an exactly-once call), PARLEY_ERR_IN_DOUBT
 * (the call started before, in another run: its effect may have been
 * made), PARLEY_ERR_NO_SPACE, PARLEY_ERR_STORE (the record could not be
 * made); on any error the procedure must not make its effect. */
int parley_call_external(parley_call *call);

#ifdef __cplusplus
}
#endif
#endif /* PARLEY_SERVER_H */
