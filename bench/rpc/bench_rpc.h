/*
 * bench_rpc.h: what the RPC benchmark's main program (bench_rpc.c) shares
 * with its sides and helpers.
 *
 * A side is one implementation of the service of rpcbench.x: "raw" (a
 * ping-pong of the exact bytes of an ONC RPC call and its reply, with one
 * read and one write per message, the physical limit of the transport),
 * "libtirpc" (rpcgen's code over libtirpc), and "parley" (Parley's runtime
 * over parleygen's code). Each
 * side lives in its own translation unit (rpcgen and parleygen give the
 * types the same names) and is reached through a table of functions, so
 * that the main program measures every side in the same way and a new side
 * is one more entry in its list.
 *
 * The server of every side runs in a child process. Either it is forked
 * with a socket that the parent has already bound (and, for streams, made
 * to listen), or, for a side whose server binds its own addresses (Parley's
 * takes an address, not a socket), it listens itself and reports the
 * address it bound to the parent through a pipe; either way clients may
 * connect as soon as rb_server_start returns.
 */
#ifndef BENCH_RPC_H
#define BENCH_RPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

/* The program of rpcbench.x, for the sides that do not include rpcgen's
 * header. */
#define RB_PROG        0x20000b0eu
#define RB_VERS        1u
#define RB_PROC_NULL   0u
#define RB_PROC_USERS  1u
#define RB_NUSERS      100
#define RB_NAME_MIN    6
#define RB_NAME_MAX    24
#define RB_MAX_MESSAGE 8192 /* larger than any call or reply of the benchmark */

enum rb_transport { RB_TCP, RB_UDP, RB_UNIX, RB_NTRANSPORTS };
enum rb_workload { RB_NULL, RB_USERS, RB_NWORKLOADS };

/* The users the USERS procedure returns, the same in every run and side:
 * names of RB_NAME_MIN..RB_NAME_MAX characters, as in the codec benchmark. */
typedef struct rb_users {
    size_t n;
    char names[RB_NUSERS][RB_NAME_MAX + 1];
    uint32_t uids[RB_NUSERS];
    int64_t times[RB_NUSERS];
} rb_users;

extern rb_users rb_input;

/* rb_make_input fills rb_input; it runs once, before any server starts. */
void rb_make_input(void);

/* rb_encode_users writes the XDR encoding of rb_input (the body of a USERS
 * reply) at buf and returns its length, or 0 when cap is too small. */
size_t rb_encode_users(uint8_t *buf, size_t cap);

/* rb_server is a side's server running in a child process: its pid, the
 * transport, and the address clients reach it at. */
typedef struct rb_server {
    pid_t pid;
    int transport;
    struct sockaddr_storage addr;
    socklen_t addrlen;
} rb_server;

/* rb_side is one implementation of the service. Every function that can
 * fail returns 0 or -1 with a message in err (errlen bytes).
 *
 * serve runs in the server child with fd, the bound socket of transport
 * (listening for streams), and serves until the child is killed; it returns
 * only when setting up failed. listen_serve, for a side with no serve,
 * runs in the server child instead: it listens on the loopback address of
 * transport with port 0 (for Unix, on sock_path), passes the address bound
 * to rb_report_bound with report_fd, serves until SIGTERM and returns 0, or
 * returns -1 when setting up failed. connect opens a client to srv and returns it
 * (owned by the caller until disconnect), or NULL. call makes one call of
 * workload on a client and checks the reply. shared is nonzero when several
 * threads may call on one client at once (their calls then share one
 * connection). A side without a transport leaves it out of transports
 * (a bit per enum rb_transport). */
typedef struct rb_side {
    const char *name;
    unsigned transports;
    int shared;
    int (*serve)(int transport, int fd, char *err, size_t errlen);
    int (*listen_serve)(int transport, const char *sock_path, int report_fd, char *err,
                        size_t errlen);
    void *(*connect)(const rb_server *srv, char *err, size_t errlen);
    int (*call)(void *client, int workload, char *err, size_t errlen);
    void (*disconnect)(void *client);
    /* pipeline, when not NULL, calls NULL on client from the calling thread
     * with up to inflight calls outstanding at once (asynchronous calls)
     * until window_ns has passed; *calls is the number completed, *elapsed_ns
     * the time taken. 0 or -1 with a message in err. */
    int (*pipeline)(void *client, unsigned inflight, double window_ns, uint64_t *calls,
                    double *elapsed_ns, char *err, size_t errlen);
} rb_side;

extern const rb_side rb_side_raw;
extern const rb_side rb_side_tirpc;
extern const rb_side rb_side_parley;
extern const rb_side rb_side_rawpoll;
extern const rb_side rb_side_parley_sleep;

/* rb_tirpc_check_users decodes len bytes at buf with rpcgen's xdr_users and
 * returns 0 when they are rb_input, -1 otherwise: a check of
 * rb_encode_users, whose bytes the raw side sends. */
int rb_tirpc_check_users(const uint8_t *buf, size_t len);

/* rb_server_start binds a socket of transport (127.0.0.1 port 0 for TCP
 * and UDP, the path sock_path for Unix), forks a child that runs
 * side->serve on it, and fills srv; for a side with listen_serve, the child
 * binds and the parent waits (up to a few seconds) for the address it
 * reports. The child is killed when the parent dies. Returns 0, or -1 with
 * a message in err. rb_server_stop sends the child SIGTERM, waits a moment
 * for it to end, kills it if it has not, and reaps it (a no-op on a stopped
 * server). */
int rb_server_start(const rb_side *side, int transport, const char *sock_path, rb_server *srv,
                    char *err, size_t errlen);
void rb_server_stop(rb_server *srv);

/* rb_report_bound, in a listen_serve child, writes the address the server
 * bound (addrlen bytes at addr) to report_fd and closes it; 0 or -1. */
int rb_report_bound(int report_fd, const struct sockaddr *addr, socklen_t addrlen);

/* rb_child_setup, called first in every forked child, makes the child die
 * with its parent; it returns -1 when the parent is already gone. */
int rb_child_setup(void);

/* rb_read_full and rb_write_full move exactly n bytes over a stream,
 * retrying on EINTR; they return 0, or -1 on an error or end of stream. */
int rb_read_full(int fd, void *buf, size_t n);
int rb_write_full(int fd, const void *buf, size_t n);

/* rb_set_err formats a message into err (errlen bytes), printf-style. */
void rb_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* BENCH_RPC_H */
