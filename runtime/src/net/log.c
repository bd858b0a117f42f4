/*
 * net/log.c: the process's log sink (parley/log.h) and pl_log_emit, which
 * the log points of net/log.h call when their level is on.
 *
 * The sink (a function and its context) is read under a reader-writer
 * lock held across the callback, so that once parley_set_log has replaced
 * it (under the writer's side) no callback of the old one is under way
 * and its context may be freed. The level is also kept in an atomic that
 * the log points load relaxed, without the lock: the only cost of logging
 * when it is off.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "parley/error.h"
#include "net/addr.h"
#include "net/log.h"

atomic_int pl_log_level_ = PARLEY_LOG_OFF;

static pthread_rwlock_t sink_lock = PTHREAD_RWLOCK_INITIALIZER;
static parley_log_fn *sink_fn;
static void *sink_ctx;
static int sink_level;

static const char *const event_names[] = {
#define PL_LOG_EVENT_NAME_(name, text) text,
    PARLEY_LOG_EVENT_MAP(PL_LOG_EVENT_NAME_)
#undef PL_LOG_EVENT_NAME_
};
_Static_assert(sizeof event_names / sizeof event_names[0] == PARLEY_LOG_EVENT_COUNT_,
               "one name per event");

static const char *const level_names[] = {"off", "error", "warning", "info", "debug"};

/* parley_set_log: see log.h. */
int parley_set_log(parley_log_fn *fn, void *ctx, int level)
{
    if (level < PARLEY_LOG_OFF || level > PARLEY_LOG_DEBUG)
        return PARLEY_ERR_INVALID;
    if (!fn)
        level = PARLEY_LOG_OFF;
    pthread_rwlock_wrlock(&sink_lock);
    sink_fn = fn;
    sink_ctx = ctx;
    sink_level = level;
    atomic_store_explicit(&pl_log_level_, level, memory_order_relaxed);
    pthread_rwlock_unlock(&sink_lock);
    return PARLEY_OK;
}

/* parley_log_level: see log.h. */
int parley_log_level(void)
{
    return atomic_load_explicit(&pl_log_level_, memory_order_relaxed);
}

/* parley_log_level_name: see log.h. */
const char *parley_log_level_name(int level)
{
    return level >= PARLEY_LOG_OFF && level <= PARLEY_LOG_DEBUG ? level_names[level] : "unknown";
}

/* parley_log_level_parse: see log.h. */
int parley_log_level_parse(const char *text, int *out)
{
    if (!text || !out)
        return PARLEY_ERR_INVALID;
    for (int l = PARLEY_LOG_OFF; l <= PARLEY_LOG_DEBUG; l++)
        if (strcmp(text, level_names[l]) == 0 || (text[0] == '0' + l && text[1] == '\0')) {
            *out = l;
            return PARLEY_OK;
        }
    if (strcmp(text, "warn") == 0) {
        *out = PARLEY_LOG_WARNING;
        return PARLEY_OK;
    }
    return PARLEY_ERR_INVALID;
}

/* parley_log_event_name: see log.h. */
const char *parley_log_event_name(int event)
{
    return event >= 0 && event < PARLEY_LOG_EVENT_COUNT_ ? event_names[event] : "unknown";
}

/* format_peer writes src's peer as an address Parley reads back
 * ("tcp://127.0.0.1:4000", "udp://[::1]:5", "unix:///run/x.sock", "unix:"
 * for an unnamed socket) into buf. */
static void format_peer(const pl_log_src *src, char *buf, size_t cap)
{
    const char *scheme = src->transport == PL_TR_UDP    ? "udp"
                         : src->transport == PL_TR_UNIX ? "unix"
                                                        : "tcp";
    char host[INET6_ADDRSTRLEN] = "?";
    const struct sockaddr *sa = src->peer;
    if (sa->sa_family == AF_INET && src->peer_len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(buf, cap, "%s://%s:%u", scheme, host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6 && src->peer_len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        snprintf(buf, cap, "%s://[%s]:%u", scheme, host, ntohs(in6->sin6_port));
    } else if (sa->sa_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        size_t n = src->peer_len > offsetof(struct sockaddr_un, sun_path)
                       ? src->peer_len - offsetof(struct sockaddr_un, sun_path)
                       : 0;
        if (n == 0 || un->sun_path[0] == '\0') /* unnamed, or abstract */
            snprintf(buf, cap, "unix:");
        else
            snprintf(buf, cap, "unix://%.*s", (int)strnlen(un->sun_path, n), un->sun_path);
    } else {
        snprintf(buf, cap, "%s://?", scheme);
    }
}

/* pl_log_emit: see net/log.h. The sink is checked again under the lock:
 * the level may have changed since the log point looked. */
void pl_log_emit(int level, int event, const pl_log_src *src, const char *fmt, ...)
{
    char msg[256], peer[PL_LOG_PEER_MAX];
    pthread_rwlock_rdlock(&sink_lock);
    if (sink_fn && level <= sink_level) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        parley_log_record r = {
            .level = level, .event = event, .name = parley_log_event_name(event), .message = msg};
        if (src) {
            if (src->peer) {
                format_peer(src, peer, sizeof peer);
                r.peer = peer;
            } else {
                r.peer = src->peer_text;
            }
            r.err = src->err;
            r.prog = src->prog;
            r.vers = src->vers;
            r.proc = src->proc;
        }
        sink_fn(sink_ctx, &r);
    }
    pthread_rwlock_unlock(&sink_lock);
}
