/*
 * tests/integ/battery.h: the hostile-input battery that any Parley server
 * over loopback TCP must withstand (tests/integ/test_server_hostile.c runs
 * it against a test server, tests/matchmaker/test_mm_hostile.c against the
 * matchmaker): the connections a test opens, the expectations on what one
 * message earns, and each generic case as a function of its target.
 *
 * The functions assert with cmocka, so they are called from the cmocka
 * tests of one executable at a time; the connections they open are kept
 * in one table, which battery_close_all, a test's teardown, empties.
 */
#ifndef INTEG_BATTERY_H
#define INTEG_BATTERY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "raw.h"

/* What a battery is run against, and how to tell that it still serves. */
typedef struct battery_target {
    const char *addr; /* tcp://host:port */
    const char *name; /* "server", "daemon": in the figures printed */
    pid_t pid;        /* the process whose VmRSS the bounded cases read */
    int nodelay;      /* connections set TCP_NODELAY (no wait for delayed ACKs) */
    long rss_small;   /* KiB a case that should allocate nothing may add */
    long rss_bound;   /* KiB a case that holds many connections or calls may add */
    /* served: a fresh client's call, made between a hostile client's
     * steps; 0 when it was answered as it should be. */
    int (*served)(void);
    /* still_serving: the check (asserting) after every case. */
    void (*still_serving)(void);
} battery_target;

/* battery_now_ms is CLOCK_MONOTONIC in milliseconds. */
long long battery_now_ms(void);

/* battery_track adds fd, when not negative, to the connections closed by
 * battery_close_all; returns fd. */
int battery_track(int fd);

/* battery_open_conn connects to t (tracked); the fd or -1. */
int battery_open_conn(const battery_target *t);

/* battery_close_conn closes fd and forgets it. */
void battery_close_conn(int fd);

/* battery_close_all closes every connection still open: the teardown of
 * each test, since a connection left open by a test that failed half-way
 * could hold the target and fail the tests after it. */
int battery_close_all(void **state);

/* battery_call_expect sends m on a fresh connection and parses the reply
 * into r, which points into a buffer of the battery's until the next
 * call. */
void battery_call_expect(const battery_target *t, const raw_msg *m, raw_reply *r);

/* battery_send_expect_closed sends n bytes on a fresh connection and
 * expects t to close it without a reply. */
void battery_send_expect_closed(const battery_target *t, const void *p, size_t n);

/* battery_record_expect_closed sends m as one record and expects t to
 * close the connection without a reply. */
void battery_record_expect_closed(const battery_target *t, const raw_msg *m);

/* battery_pipeline_unread opens a connection and pipelines 10,000 copies
 * of m (their xids 0 to 9,999) on it, writing for at most 3 s what t takes,
 * and never reads a reply. Returns the connection; *taken and *total are
 * the bytes t took and those there were. */
int battery_pipeline_unread(const battery_target *t, const raw_msg *m, size_t *taken,
                            size_t *total);

/* The cases. Each ends with t->still_serving(). */

/* Every proper prefix of a call of (prog, vers, proc)'s header, framed as
 * a whole record, closes the connection. */
void battery_truncated_headers(const battery_target *t, uint32_t prog, uint32_t vers,
                               uint32_t proc);

/* A header whose msg_type is neither CALL nor REPLY, and a call of (prog,
 * vers, proc) whose verifier's length runs past the end, close the
 * connection. */
void battery_malformed_headers(const battery_target *t, uint32_t prog, uint32_t vers,
                               uint32_t proc);

/* A call of (prog, vers, 0) with RPC version 3 is RPC_MISMATCH 2..2. */
void battery_wrong_rpc_version(const battery_target *t, uint32_t prog, uint32_t vers);

/* A call of version 1, procedure 0 of each of the n programs is
 * PROG_UNAVAIL. */
void battery_unknown_programs(const battery_target *t, const uint32_t *progs, size_t n);

/* A call of procedure 0 of each of the n versions of prog is PROG_MISMATCH
 * low..high. */
void battery_unknown_versions(const battery_target *t, uint32_t prog, const uint32_t *vers,
                              size_t n, uint32_t low, uint32_t high);

/* A credential of 404 bytes in a call of (prog, vers, proc), and a verifier
 * of 404 bytes in a call of (prog, vers, 0), close the connection. */
void battery_auth_body_over_400(const battery_target *t, uint32_t prog, uint32_t vers,
                                uint32_t proc);

/* Fragment lengths of 2 GiB close the connection before t allocates more
 * than t->rss_small. */
void battery_huge_fragment_header(const battery_target *t);

/* Empty non-last fragments without end close the connection. */
void battery_endless_empty_fragments(const battery_target *t);

/* A REPLY sent to t closes the connection. */
void battery_reply_sent(const battery_target *t);

/* Random bytes on 64 connections are closed, or ignored, or answered with
 * a reply; when udp_port is not 0, each round's bytes go to
 * 127.0.0.1:udp_port as a datagram too. */
void battery_random_bytes(const battery_target *t, int udp_port);

/* 10,000 unread pipelined copies of m, what calls describes ("calls"),
 * keep t within t->rss_bound; when others is not 0, another client is
 * served within a second meanwhile. */
void battery_unread_pipelined(const battery_target *t, const raw_msg *m, const char *calls,
                              int others);

/* A client that sends m one byte every 200 ms does not stop another from
 * being served within a second, and m is answered (SUCCESS) once whole. */
void battery_dribbling_client(const battery_target *t, const raw_msg *m);

/* A thousand idle connections leave another client served and t within
 * t->rss_bound (skipped when the file limit cannot be raised to allow
 * them). */
void battery_idle_connections(const battery_target *t);

#endif
