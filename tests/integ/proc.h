/*
 * tests/integ/proc.h: processes for the integration tests. A server runs in
 * a forked child that reports the addresses it listens on through a pipe,
 * one a line, and closes it once it serves; the parent waits for that EOF
 * (bounded), so no test sleeps to let a server start. Stopping sends
 * SIGTERM and reaps the child within a bound, killing it past that.
 */
#ifndef INTEG_PROC_H
#define INTEG_PROC_H

#include <stddef.h>
#include <sys/types.h>

enum { INTEG_MAX_ADDRS = 8, INTEG_ADDR_LEN = 160 };

typedef struct integ_proc {
    pid_t pid; /* 0: not running */
    size_t naddrs;
    char addrs[INTEG_MAX_ADDRS][INTEG_ADDR_LEN];
} integ_proc;

/* The child's work: write the addresses to wfd, close it, serve; its
 * return value is the child's exit status. */
typedef int integ_child_fn(int wfd, void *ctx);

/* integ_proc_start forks a child running fn and waits (up to 10 s) until it
 * closes its end of the pipe. 0, or -1 (the child is stopped) when it fails
 * to start or reports no address. */
int integ_proc_start(integ_proc *p, integ_child_fn *fn, void *ctx);

/* integ_proc_stop sends SIGTERM and reaps the child (SIGKILL after 10 s).
 * Returns its exit status, 128 + the signal that ended it, or -1. A
 * stopped (pid 0) process returns -1 at once. */
int integ_proc_stop(integ_proc *p);

/* integ_proc_kill ends the child with SIGKILL and reaps it (failure paths). */
void integ_proc_kill(integ_proc *p);

/* integ_rss_kib is VmRSS of pid in KiB, or -1. */
long integ_rss_kib(pid_t pid);

/* integ_port is the port at the end of an address, or -1. */
int integ_port(const char *addr);

#endif
