/*
 * parley/log.h: what the library does, told to a callback (see
 * docs/runtime.md, "Logging and counters").
 *
 * The library never prints. A program that wants to see what its servers
 * and clients do gives parley_set_log a function, which the library calls
 * with one record per event: a connection accepted or closed, a limit hit,
 * a malformed message, a call refused, a client's reconnection.
 *
 * The sink is process-wide, not per handle: clients are also made inside
 * the library (the names layer's calls to the matchmaker, a server's
 * registration), where no handle of the caller's could carry a callback,
 * and a program wants one place where everything goes, as with syslog.
 * Each record names its connection's peer, which tells apart the handles
 * of a program that has several.
 *
 * Cost: with logging off (the default, or a level below an event's) a log
 * point is one relaxed atomic load and a branch; nothing is formatted and
 * nothing allocated.
 */
#ifndef PARLEY_LOG_H
#define PARLEY_LOG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The levels, most severe first; a sink at level L receives the events of
 * level L and below. */
enum parley_log_level {
    PARLEY_LOG_OFF = 0,
    PARLEY_LOG_ERROR = 1,   /* the library cannot do what it should (a listener lost) */
    PARLEY_LOG_WARNING = 2, /* a limit hit, a malformed message, a call not run */
    PARLEY_LOG_INFO = 3,    /* a call refused, a client reconnecting */
    PARLEY_LOG_DEBUG = 4    /* connections opened and closed, retransmissions, HELLO */
};

/* X(name, text): the events, stable: PARLEY_LOG_<name> keeps its meaning
 * and text ("conn_accepted") from release to release, and new ones are
 * appended. The text is the record's event name, for a program that
 * filters or counts them. */
#define PARLEY_LOG_EVENT_MAP(X)                                                                    \
    X(CONN_ACCEPTED, "conn_accepted")         /* server: a stream connection accepted */           \
    X(CONN_CLOSED, "conn_closed")             /* server: a connection closed; err says why */      \
    X(LIMIT_MAX_CONNS, "limit_max_conns")     /* server: a connection refused at max_conns */      \
    X(LIMIT_MAX_MSG, "limit_max_msg")         /* server: a message beyond max_msg */               \
    X(LIMIT_MAX_QUEUED, "limit_max_queued")   /* server: unread replies beyond max_queued */       \
    X(LIMIT_MSG_TIMEOUT, "limit_msg_timeout") /* server: a message too slow to arrive */           \
    X(LIMIT_IDLE, "limit_idle")               /* server: a connection idle too long */             \
    X(LIMIT_CACHE, "limit_cache")             /* server: reply cache or store full: BUSY */        \
    X(MALFORMED, "malformed")                 /* server: a message that is not a call */           \
    X(CALL_REFUSED, "call_refused") /* server: a call answered with an error; err says which */    \
    X(CALL_NOT_RUN, "call_not_run") /* server: a delivery status instead of a run */               \
    X(CONNECT_FAILED, "connect_failed") /* client: a connection attempt failed */                  \
    X(RECONNECT, "reconnect")           /* client: connecting again after a failure */             \
    X(RETRANSMIT, "retransmit")         /* client: a call sent again */                            \
    X(HELLO, "hello")                   /* client: the server asked for a HELLO, or sent one */    \
    X(LISTENER_LOST, "listener_lost")   /* server: a socket that could not be re-armed */

typedef enum parley_log_event {
#define PARLEY_LOG_EVENT_ENUM_(name, text) PARLEY_LOG_##name,
    PARLEY_LOG_EVENT_MAP(PARLEY_LOG_EVENT_ENUM_)
#undef PARLEY_LOG_EVENT_ENUM_
        PARLEY_LOG_EVENT_COUNT_
} parley_log_event;

/* One event, valid only during the callback that receives it. */
typedef struct parley_log_record {
    int level;                 /* enum parley_log_level */
    int event;                 /* enum parley_log_event */
    const char *name;          /* the event's stable name ("conn_closed") */
    const char *message;       /* a sentence for people ("closed: idle for 60000 ms") */
    const char *peer;          /* the peer as text ("tcp://127.0.0.1:4000", "udp://[::1]:5",
                                  "unix:" for an unnamed Unix socket), or NULL when the event has
                                  none */
    int err;                   /* a parley_err saying why (PARLEY_ERR_AUTH, _BUSY, ...), or 0 */
    uint32_t prog, vers, proc; /* the call's, for CALL_* events; else 0 */
} parley_log_record;

/* The sink: called with ctx and a record. */
typedef void parley_log_fn(void *ctx, const parley_log_record *rec);

/* parley_set_log makes fn (with ctx) the process's sink for the events of
 * level and below; fn NULL or level PARLEY_LOG_OFF turns logging off.
 * Returns PARLEY_OK, or PARLEY_ERR_INVALID for a level out of range
 * (nothing changed). Any thread, any time; once it returns, the previous
 * sink is not called any more and its ctx may be freed.
 *
 * The rules for fn. It is called from the library's threads (a server's
 * workers, a client's caller or its reader), several at once: it must be
 * thread-safe. It must not call parley_set_log (that waits for every
 * callback under way: itself), and it must not call into the server or
 * client whose event it reports (a call, a stop, a destroy): the library
 * may hold that handle's locks. It should be quick, since it runs on the
 * path of the call or connection it reports; a sink that writes to a
 * slow place should queue. */
int parley_set_log(parley_log_fn *fn, void *ctx, int level);

/* parley_log_level returns the level set last (PARLEY_LOG_OFF when none). */
int parley_log_level(void);

/* parley_log_level_name returns "error", "warning", "info", "debug" or
 * "off" (static); parley_log_level_parse reads those names (and the digits
 * 0 to 4) into *out: PARLEY_OK or PARLEY_ERR_INVALID (nothing written). */
const char *parley_log_level_name(int level);
int parley_log_level_parse(const char *text, int *out);

/* parley_log_event_name returns an event's stable name, or "unknown". */
const char *parley_log_event_name(int event);

#ifdef __cplusplus
}
#endif
#endif /* PARLEY_LOG_H */
