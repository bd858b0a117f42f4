/*
 * tests/integ/integ_svc.h: the integ.x service (its procedures are in
 * integ_svc.c), served in a child process (see proc.h).
 */
#ifndef INTEG_SVC_H
#define INTEG_SVC_H

#include <stdatomic.h>
#include <stddef.h>

/* State the server's child shares with the test (an anonymous shared
 * mapping made before the fork). */
typedef struct integ_shared {
    atomic_int slow_started; /* SLOW calls that began */
    atomic_int slow_done;    /* SLOW calls that ended */
} integ_shared;

/* What integ_serve listens on. */
typedef struct integ_serve_args {
    const char *const *addrs;
    size_t naddrs;
    unsigned threads;        /* 0: the server's default */
    unsigned msg_timeout_ms; /* 0: the server's default */
} integ_serve_args;

/* integ_shared_map maps the shared state (once); NULL when mmap fails. */
integ_shared *integ_shared_map(void);

/* integ_serve is an integ_child_fn: serves INTEG_PROG versions 1 and 3 on
 * the addresses of ctx (an integ_serve_args) until SIGTERM; 0 when the
 * server ran and stopped cleanly. */
int integ_serve(int wfd, void *ctx);

#endif
