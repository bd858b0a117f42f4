/*
 * parley/stats.h: a server's counters, per procedure (see docs/runtime.md,
 * "Logging and counters").
 *
 * Every procedure a server serves (each parley_proc_def of each program
 * added) counts its calls by outcome and their latency, with relaxed
 * atomic additions on the call's path (two per call, no lock). Reading
 * them takes no lock either: a snapshot read while calls run may be
 * off by the calls under way (each counter is exact on its own, their
 * sum is read counter by counter). The NULL procedure (0) is counted when
 * the program defines it; its built-in answer is not.
 */
#ifndef PARLEY_STATS_H
#define PARLEY_STATS_H

#include <stdint.h>

#include "parley/server.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The latency histogram's buckets: bucket 0 counts calls answered in
 * under 1 us, bucket i (1 to 30) those in [2^(i-1), 2^i) us, bucket 31
 * those of 2^30 us (about 18 minutes) and more. */
#define PARLEY_STATS_BUCKETS 32

typedef struct parley_proc_stats {
    uint32_t prog, vers, proc;
    uint64_t calls;        /* the sum of the four outcomes below */
    uint64_t ok;           /* ran, and answered with its result */
    uint64_t garbage_args; /* ran, and its arguments did not decode (GARBAGE_ARGS) */
    uint64_t system_err;   /* ran, and failed (SYSTEM_ERR) */
    uint64_t not_run;      /* answered without running: a reply recorded earlier (a
                              retransmission), or a delivery status (busy, in doubt, no
                              space, retry, hello: see the log's call_not_run events) */
    /* every call above by its time in the server, from its procedure
     * found to its reply made (the procedure, and the delivery guarantee's
     * bookkeeping; not the network, nor the reading and writing) */
    uint64_t latency_us[PARLEY_STATS_BUCKETS];
} parley_proc_stats;

/* parley_server_stats writes the counters of procedure proc of program
 * prog, version vers into *out. Any thread, any time until
 * parley_server_destroy, also while s runs. Errors: PARLEY_ERR_INVALID (s
 * or out NULL), PARLEY_ERR_PROC_UNAVAIL (s serves no such procedure);
 * *out is written only on success. */
int parley_server_stats(const parley_server *s, uint32_t prog, uint32_t vers, uint32_t proc,
                        parley_proc_stats *out);

/* parley_stats_fn receives one procedure's counters (valid during the
 * call); a nonzero return stops the walk and is returned by
 * parley_server_stats_each. */
typedef int parley_stats_fn(void *ctx, const parley_proc_stats *st);

/* parley_server_stats_each calls fn for every procedure s serves, in the
 * order the programs were added and each program's procedures in its
 * definition's order. Returns PARLEY_OK, fn's first nonzero return, or
 * PARLEY_ERR_INVALID (s or fn NULL). The threads of parley_server_stats;
 * fn must not add programs to s. */
int parley_server_stats_each(const parley_server *s, parley_stats_fn *fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* PARLEY_STATS_H */
