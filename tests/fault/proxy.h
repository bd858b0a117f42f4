/*
 * tests/fault/proxy.h: a fault-injecting proxy on loopback, for the tests
 * that prove Parley's delivery guarantees under a bad network. These
 * machines' kernels have no netem, so the faults come from here: a proxy
 * that runs on a thread of its own, between a client and a server, and
 * drops, duplicates, delays and reorders UDP datagrams, and breaks TCP
 * connections right after a whole call record went through to the server.
 *
 * One proxy serves one transport: it listens on "udp://HOST:PORT" or
 * "tcp://HOST:PORT" and forwards to a target of the same transport. HOST is
 * an IPv4 literal or an IPv6 literal in brackets ("[::1]"); names are not
 * resolved, so a test cannot reach beyond the addresses it wrote.
 *
 * UDP: each client address gets an upstream socket of its own, connected
 * to the target, so that replies find their way back; a flow is one client
 * address in one direction. TCP: each accepted connection gets an upstream
 * connection; both directions are read as RPC record marking (RFC 5531,
 * section 11), so that "a whole call was forwarded" is exact.
 *
 * Determinism: every random choice comes from a PRNG seeded by pf_opts.seed.
 * Each UDP flow and each TCP connection has a stream of its own, derived
 * from the seed and the flow's or connection's number (in order of first
 * appearance), and every datagram or record draws the same count of
 * numbers whatever the settings. So the same seed and the same sequence of
 * datagrams per flow give the same decisions, whatever the interleaving of
 * flows, directions and timers. A datagram held for reordering that no
 * other datagram releases is let go after reorder_wait_ms, which is the one
 * way time enters the decisions: a test that compares runs makes that wait
 * long and ends with pf_flush, one direction after the other.
 *
 * Everything is bounded: flows (PF_MAX_FLOWS, the least recently active
 * one is evicted), connections (PF_MAX_CONNS, further ones wait in the
 * listen backlog), datagrams held (PF_MAX_HELD, beyond which a datagram
 * passes undelayed), buffered stream bytes (PF_STREAM_BUF a direction) and
 * records (PF_MAX_RECORD). The library never prints; errors are parley_err
 * values (parley/error.h).
 */
#ifndef PARLEY_FAULT_PROXY_H
#define PARLEY_FAULT_PROXY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum {
    PF_MAX_FLOWS = 64,
    PF_MAX_CONNS = 64,
    PF_MAX_HELD = 1024,
    PF_STREAM_BUF = 64 << 10,
    PF_MAX_RECORD = 16 << 20,
    PF_REORDER_WAIT_DEFAULT_MS = 200,
    PF_BREAK_WAIT_DEFAULT_MS = 2000,
    PF_ADDR_MAX = 64, /* "tcp://[ffff:...:255.255.255.255]:65535" and its NUL */
};

/* The two directions, as indices of pf_stats.dir and bits of direction_mask. */
enum { PF_TO_SERVER = 0, PF_TO_CLIENT = 1 };
#define PF_DIR_TO_SERVER (1 << PF_TO_SERVER)
#define PF_DIR_TO_CLIENT (1 << PF_TO_CLIENT)
#define PF_DIR_BOTH      (PF_DIR_TO_SERVER | PF_DIR_TO_CLIENT)

/* The faults. A zeroed pf_opts forwards everything unchanged with a seed
 * from the clock. Percentages are 0 to 100. */
typedef struct pf_opts {
    uint64_t seed; /* 0: one from the clock, which pf_seed reports */
    /* UDP, per datagram in each direction the mask selects; a datagram is
     * dropped, else duplicated (sent twice) or not, and then either delayed
     * (held 1..delay_max_ms), or held for reordering (until the next
     * datagram of its flow passes, at most reorder_wait_ms), or sent. */
    unsigned drop_pct, dup_pct, delay_pct, reorder_pct;
    unsigned delay_max_ms;    /* 0: no delay, whatever delay_pct */
    unsigned reorder_wait_ms; /* 0: PF_REORDER_WAIT_DEFAULT_MS */
    /* TCP: once the last byte of a client's call record has been written to
     * the server, with this probability reset both connections (SO_LINGER 0)
     * before any reply is forwarded. Applies when the mask has
     * PF_DIR_TO_SERVER. */
    unsigned break_after_call_pct;
    unsigned break_max; /* at most this many breaks over the proxy's life; 0: no bound */
    /* 0: break at once. 1: first wait until the server's reply starts to
     * arrive (proof that the server read the call), discard it and break;
     * at most break_wait_ms (0: PF_BREAK_WAIT_DEFAULT_MS), then break anyway. */
    int break_on_reply;
    unsigned break_wait_ms;
    int direction_mask; /* PF_DIR_TO_SERVER, PF_DIR_TO_CLIENT, PF_DIR_BOTH; 0: both */
} pf_opts;

/* What happened in one direction. */
typedef struct pf_dir_stats {
    uint64_t datagrams;   /* UDP datagrams received */
    uint64_t dropped;     /* ... dropped */
    uint64_t duplicated;  /* ... sent twice */
    uint64_t delayed;     /* ... held in the timer queue */
    uint64_t reordered;   /* ... held for the next datagram of their flow */
    uint64_t sent;        /* UDP datagrams sent on, copies counted */
    uint64_t send_failed; /* ... that the kernel refused (a full buffer, no listener) */
    uint64_t bytes;       /* TCP bytes forwarded */
    uint64_t records;     /* TCP records forwarded whole */
} pf_dir_stats;

typedef struct pf_stats {
    pf_dir_stats dir[2];         /* [PF_TO_SERVER], [PF_TO_CLIENT] */
    uint64_t held;               /* UDP datagrams held now (delayed or for reordering) */
    uint64_t flows;              /* UDP flows opened */
    uint64_t flows_evicted;      /* ... closed to make room for another */
    uint64_t connections;        /* TCP connections accepted */
    uint64_t connections_failed; /* ... whose upstream connection failed */
    uint64_t connections_broken; /* ... reset by a fault */
    uint64_t records_rejected;   /* ... reset for a record over PF_MAX_RECORD */
} pf_stats;

typedef struct pf_proxy pf_proxy;

/* pf_start listens on listen_addr ("udp://127.0.0.1:0", "tcp://[::1]:0")
 * and forwards to target_addr, of the same transport, with the faults of o
 * (NULL: none), on a thread of its own. The address it listens on, with the
 * port the kernel chose, is written to bound (boundlen bytes, at least
 * PF_ADDR_MAX is enough; NULL: not wanted). The caller owns *out and ends
 * it with pf_stop; *out and bound are written only on success. Errors:
 * PARLEY_ERR_INVALID (NULL out or addresses, a percentage over 100, the
 * transports differ, bound too small), _ADDRESS (an address cannot be
 * read), _IN_USE (listen_addr is taken), _NOMEM, _IO (a socket, the wake-up
 * descriptor or the thread could not be made). */
int pf_start(pf_proxy **out, const char *listen_addr, const char *target_addr, const pf_opts *o,
             char *bound, size_t boundlen);

/* pf_set replaces the faults from the next datagram or record on (to heal
 * the network, or to break it); the seed is not changed, nor the streams
 * already drawn from. Datagrams already held stay held. Thread-safe.
 * Errors: PARLEY_ERR_INVALID (a percentage over 100). */
int pf_set(pf_proxy *p, const pf_opts *o);

/* pf_seed returns the seed in use (the one given, or the one drawn). */
uint64_t pf_seed(const pf_proxy *p);

/* pf_stats copies the counters so far into *out. Thread-safe. */
void pf_stats_get(pf_proxy *p, pf_stats *out);

/* pf_flush sends every held datagram that goes in a direction of
 * direction_mask (0: both), delayed and held for reordering alike, and
 * returns once the proxy has done so. One direction at a time lets a test
 * flush the calls without deciding for their replies, whose reordering
 * depends on what is held when each arrives. Thread-safe. */
void pf_flush(pf_proxy *p, int direction_mask);

/* pf_retarget makes target_addr (same transport) the target from now on:
 * when it returns, every UDP flow has a new upstream socket connected there
 * (datagrams held go there too; replies still queued on the old sockets are
 * lost), and new TCP connections go there. TCP connections already made
 * stay with the old target until either end closes them. Thread-safe, but
 * not concurrent with pf_stop. Errors: PARLEY_ERR_INVALID (NULL, another
 * transport), _ADDRESS; the old target stays on error. A flow whose new
 * socket cannot be made is closed. */
int pf_retarget(pf_proxy *p, const char *target_addr);

/* pf_stop stops the thread, joins it, closes every socket (clients still
 * connected see their connections end) and frees p with every datagram it
 * held. NULL is a no-op. No other pf_ call on p may run concurrently. */
void pf_stop(pf_proxy *p);

/* pf_addr_parse reads "udp://HOST:PORT" or "tcp://HOST:PORT" (HOST a
 * numeric IPv4 or bracketed IPv6 literal) into a socket address and the
 * socket type (SOCK_DGRAM, SOCK_STREAM); for the tests and the command.
 * Outputs are written only on success. Errors: PARLEY_ERR_INVALID (NULL),
 * _ADDRESS. */
int pf_addr_parse(const char *addr, struct sockaddr_storage *ss, socklen_t *len, int *socktype);

#endif /* PARLEY_FAULT_PROXY_H */
