/*
 * net/log.h: the library's log points (parley/log.h is the sink's API).
 *
 * A log point is PL_LOG(level, event, ...): with logging off, or below
 * level, it costs a relaxed load of pl_log_level_ and a branch, and its
 * arguments are not evaluated. Above, pl_log_emit formats the message and
 * the peer and calls the sink. It sits in the net layer, beneath every
 * layer that logs (names, delivery, the client and the server), since a
 * record's peer is a socket address.
 */
#ifndef PARLEY_NET_LOG_H
#define PARLEY_NET_LOG_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "parley/log.h"

enum { PL_LOG_PEER_MAX = 160 }; /* a peer's text, with its NUL, at most */

/* the level set by parley_set_log; PARLEY_LOG_OFF when no sink */
extern atomic_int pl_log_level_;

/* PL_LOG_ON(level) tells whether an event of level goes to the sink. */
#define PL_LOG_ON(level)                                                                           \
    __builtin_expect((level) <= atomic_load_explicit(&pl_log_level_, memory_order_relaxed), 0)

/* Where an event came from: its peer (NULL, or a socket address of len
 * bytes; transport a PL_TR_* value saying how to write it), its call and
 * its error. */
typedef struct pl_log_src {
    const struct sockaddr *peer;
    socklen_t peer_len;
    int transport;
    int err;
    uint32_t prog, vers, proc;
    const char *peer_text; /* the peer as text already, when peer is NULL */
} pl_log_src;

/* pl_log_emit formats fmt and calls the sink, if it still wants level.
 * Only through PL_LOG. */
void pl_log_emit(int level, int event, const pl_log_src *src, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* PL_LOG(level, event, src, fmt, ...): one log point (src may be NULL). */
#define PL_LOG(level, event, src, ...)                                                             \
    do {                                                                                           \
        if (PL_LOG_ON(level))                                                                      \
            pl_log_emit((level), (event), (src), __VA_ARGS__);                                     \
    } while (0)

#endif /* PARLEY_NET_LOG_H */
