/*
 * sock.h: the socket calls of the client, bounded by deadlines.
 *
 * Internal to libparley. Deadlines are absolute times of CLOCK_MONOTONIC in
 * nanoseconds (pl_now_ns). The functions return a parley_err and keep the
 * errno of a failed system call in *sys_errno, so that the caller can report
 * it through parley_client_errno. Sockets are left blocking after connect:
 * sends and most receives pass MSG_DONTWAIT and poll for the rest, and
 * pl_sock_recv may block inside the kernel with SO_RCVTIMEO as its bound,
 * which saves a poll per call (see pl_sock_recv).
 */
#ifndef PARLEY_SOCK_H
#define PARLEY_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "net/clock.h"

int pl_sock_connect(int *out_fd, const struct sockaddr *sa, socklen_t sa_len, int socktype,
                    int64_t deadline, int *sys_errno);
int pl_sock_send(int fd, const void *buf, size_t len, int64_t deadline, size_t *sent,
                 int *sys_errno);
int pl_sock_recv(int fd, void *buf, size_t cap, int flags, int64_t deadline, int64_t *rcvtimeo,
                 size_t *got, int *sys_errno);
int pl_sock_recv_spin(int fd, void *buf, size_t cap, int flags, int64_t spin_until, size_t *got,
                      int *sys_errno);

#endif /* PARLEY_SOCK_H */
