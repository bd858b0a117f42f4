/*
 * tests/integ/raw.h: RPC messages built and read by hand (RFC 5531 and its
 * record marking), for the tests that send the server what no client would.
 */
#ifndef INTEG_RAW_H
#define INTEG_RAW_H

#include <stddef.h>
#include <stdint.h>

/* A message being built: XDR words and bytes, big-endian. */
typedef struct raw_msg {
    uint8_t b[16384];
    size_t n;
} raw_msg;

void raw_u32(raw_msg *m, uint32_t v);
void raw_bytes(raw_msg *m, const void *p, size_t n);    /* padded to 4 */
void raw_opaque(raw_msg *m, const void *p, uint32_t n); /* length, bytes, padding */

/* raw_call_header appends a CALL header with the given credential (flavor
 * and body) and an AUTH_NONE verifier. */
void raw_call_header(raw_msg *m, uint32_t xid, uint32_t rpcvers, uint32_t prog, uint32_t vers,
                     uint32_t proc, uint32_t cred_flavor, const void *cred, uint32_t cred_len);

/* raw_call is raw_call_header with RPC version 2 and AUTH_NONE. */
void raw_call(raw_msg *m, uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc);

/* raw_connect connects a blocking TCP socket to an address such as
 * "tcp://127.0.0.1:4000"; the fd or -1. */
int raw_connect(const char *addr);

/* raw_send_all writes n bytes (blocking); 0 or -1. */
int raw_send_all(int fd, const void *p, size_t n);

/* raw_send_record writes m as one last fragment; 0 or -1. */
int raw_send_record(int fd, const raw_msg *m);

/* raw_read_record reads one record (all its fragments) within timeout_ms:
 * 1 and its length, 0 when the server closed, -1 on timeout or error. */
int raw_read_record(int fd, uint8_t *buf, size_t cap, size_t *len, int timeout_ms);

/* raw_closed waits up to timeout_ms for the server to close fd, discarding
 * what it sends: 1 when it did, 0 when not. */
int raw_closed(int fd, int timeout_ms);

/* A reply's header, as parsed by raw_parse_reply. */
typedef struct raw_reply {
    uint32_t xid, mtype, reply_stat;
    uint32_t accept_stat;  /* MSG_ACCEPTED */
    uint32_t reject_stat;  /* MSG_DENIED */
    uint32_t auth_stat;    /* AUTH_ERROR */
    uint32_t low, high;    /* PROG_MISMATCH, RPC_MISMATCH */
    const uint8_t *result; /* SUCCESS: what follows the header */
    size_t result_len;
} raw_reply;

/* raw_parse_reply parses a reply's header; 0, or -1 when it is not one. */
int raw_parse_reply(const uint8_t *p, size_t n, raw_reply *r);

/* raw_call_reply sends m on fd and reads and parses the reply (2 s); 0 or -1. */
int raw_call_reply(int fd, const raw_msg *m, raw_reply *r, uint8_t *buf, size_t cap);

#endif
