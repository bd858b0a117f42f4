/*
 * tests/unit/test_log.c: the log sink of parley/log.h, driven by real
 * servers and clients on loopback. Each event the library reports is
 * provoked for real (a malformed message, a message beyond max_msg, a
 * client that reads no replies, connections beyond max_conns, an idle
 * connection, a refused call of every kind, a connection refused, a UDP
 * call never answered) and looked for among the records the sink kept,
 * with its level, error and peer. With logging off the sink is never
 * called, and the log points allocate nothing.
 *
 * Every wait is for an event, bounded in count and time (WAIT_MS); no
 * time is asserted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "parley/client.h"
#include "parley/log.h"
#include "parley/server.h"

enum {
    PROG = 0x20004000,
    VERS = 1,
    PROC_ECHO = 1,
    PROC_GARBAGE = 2, /* answers GARBAGE_ARGS */
    PROC_FAIL = 3,    /* answers SYSTEM_ERR */
    PROC_BIG = 4,     /* a 64 KiB result */
    WAIT_MS = 10000,  /* the longest wait for an event */
    MAX_RECS = 4096,
};

/* ---- the sink: every record kept ----------------------------------------- */

typedef struct rec {
    int level, event, err;
    uint32_t prog, vers, proc;
    char name[32];
    char peer[160];
    char msg[256];
} rec;

static pthread_mutex_t recs_mu = PTHREAD_MUTEX_INITIALIZER;
static rec recs[MAX_RECS];
static int nrecs;
static atomic_int ncalls; /* callbacks, kept or not */

static void sink(void *ctx, const parley_log_record *r)
{
    (void)ctx;
    atomic_fetch_add(&ncalls, 1);
    pthread_mutex_lock(&recs_mu);
    if (nrecs < MAX_RECS) {
        rec *k = &recs[nrecs++];
        k->level = r->level;
        k->event = r->event;
        k->err = r->err;
        k->prog = r->prog;
        k->vers = r->vers;
        k->proc = r->proc;
        snprintf(k->name, sizeof k->name, "%s", r->name);
        snprintf(k->peer, sizeof k->peer, "%s", r->peer ? r->peer : "");
        snprintf(k->msg, sizeof k->msg, "%s", r->message);
    }
    pthread_mutex_unlock(&recs_mu);
}

static void clear(void)
{
    pthread_mutex_lock(&recs_mu);
    nrecs = 0;
    pthread_mutex_unlock(&recs_mu);
    atomic_store(&ncalls, 0);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* find waits up to WAIT_MS for a record of event with error err (-1: any)
 * whose peer begins with prefix (NULL: any) and copies it to *out: 1 when
 * found. */
static int find_peer(int event, int err, const char *prefix, rec *out)
{
    for (int t = 0; t < WAIT_MS / 10; t++) {
        pthread_mutex_lock(&recs_mu);
        for (int i = 0; i < nrecs; i++)
            if (recs[i].event == event && (err < 0 || recs[i].err == err) &&
                (!prefix || strncmp(recs[i].peer, prefix, strlen(prefix)) == 0)) {
                *out = recs[i];
                pthread_mutex_unlock(&recs_mu);
                return 1;
            }
        pthread_mutex_unlock(&recs_mu);
        sleep_ms(10);
    }
    return 0;
}

static int find(int event, int err, rec *out)
{
    return find_peer(event, err, NULL, out);
}

/* expect finds the record of event and err and checks its level, its name
 * and that its peer begins with prefix (NULL: no peer). */
static rec expect(int event, int err, int level, const char *prefix)
{
    rec r;
    if (!find_peer(event, err, prefix, &r))
        fail_msg("no %s event with error %s and peer %s...", parley_log_event_name(event),
                 parley_errname(err), prefix ? prefix : "(none)");
    assert_int_equal(r.level, level);
    assert_string_equal(r.name, parley_log_event_name(event));
    assert_true(r.msg[0] != '\0');
    if (prefix) {
        if (strncmp(r.peer, prefix, strlen(prefix)) != 0)
            fail_msg("%s: peer \"%s\", expected \"%s...\"", r.name, r.peer, prefix);
    } else {
        assert_string_equal(r.peer, "");
    }
    return r;
}

/* ---- the server ------------------------------------------------------------ */

static int echo_handler(parley_call *call, parley_dec *args)
{
    uint32_t x = parley_get_u32(args);
    if (args->err || parley_dec_remaining(args))
        return PARLEY_ERR_GARBAGE_ARGS;
    parley_enc *e = parley_call_result(call, 4);
    if (!e)
        return PARLEY_ERR_SYSTEM_ERR;
    parley_put_u32(e, x);
    return PARLEY_OK;
}

static int garbage_handler(parley_call *call, parley_dec *args)
{
    (void)call;
    (void)args;
    return PARLEY_ERR_GARBAGE_ARGS;
}

static int fail_handler(parley_call *call, parley_dec *args)
{
    (void)call;
    (void)args;
    return PARLEY_ERR_SYSTEM_ERR;
}

static int big_handler(parley_call *call, parley_dec *args)
{
    (void)args;
    parley_enc *e = parley_call_result(call, 65536);
    if (!e)
        return PARLEY_ERR_SYSTEM_ERR;
    static const uint8_t zeros[65536];
    parley_put_opaque(e, zeros, sizeof zeros);
    return PARLEY_OK;
}

static const parley_proc_def procs[] = {
    {.proc = PROC_ECHO, .handler = echo_handler},
    {.proc = PROC_GARBAGE, .handler = garbage_handler},
    {.proc = PROC_FAIL, .handler = fail_handler},
    {.proc = PROC_BIG, .handler = big_handler},
};
static const parley_program_def prog_def = {PROG, VERS, procs, 4};
static const parley_program_def prog_def2 = {PROG, VERS + 2, procs, 4};

typedef struct server {
    parley_server *s;
    pthread_t th;
    char tcp[128], udp[128], unx[128];
    char dir[64];
} server;

static void *run_thread(void *arg)
{
    parley_server_run(arg);
    return NULL;
}

static void server_start(server *v, const parley_server_opts *o)
{
    memset(v, 0, sizeof *v);
    assert_int_equal(parley_server_create(&v->s, o), PARLEY_OK);
    assert_int_equal(parley_server_add_program(v->s, &prog_def), PARLEY_OK);
    assert_int_equal(parley_server_add_program(v->s, &prog_def2), PARLEY_OK);
    assert_int_equal(parley_server_listen(v->s, "tcp://127.0.0.1:0", v->tcp, sizeof v->tcp),
                     PARLEY_OK);
    assert_int_equal(parley_server_listen(v->s, "udp://127.0.0.1:0", v->udp, sizeof v->udp),
                     PARLEY_OK);
    snprintf(v->dir, sizeof v->dir, "/tmp/parley-log-XXXXXX");
    assert_non_null(mkdtemp(v->dir));
    char a[160];
    snprintf(a, sizeof a, "unix://%s/s.sock", v->dir);
    assert_int_equal(parley_server_listen(v->s, a, v->unx, sizeof v->unx), PARLEY_OK);
    assert_int_equal(pthread_create(&v->th, NULL, run_thread, v->s), 0);
}

static void server_stop(server *v)
{
    parley_server_stop(v->s);
    pthread_join(v->th, NULL);
    parley_server_destroy(v->s);
    rmdir(v->dir);
}

static void put_u32(parley_enc *e, const void *a)
{
    parley_put_u32(e, *(const uint32_t *)a);
}

static void get_u32(parley_dec *d, void *r)
{
    *(uint32_t *)r = parley_get_u32(d);
}

/* call makes one call of proc through a new handle to addr (prog, vers). */
static int call(const char *addr, uint32_t prog, uint32_t vers, uint32_t proc)
{
    parley_client *c = NULL;
    parley_client_opts o = {.timeout_ms = 5000};
    int rc = parley_client_create(&c, addr, prog, vers, &o);
    if (rc != PARLEY_OK)
        return rc;
    uint32_t x = 7, r = 0;
    rc = parley_client_call(c, proc, put_u32, &x, 4, get_u32, &r, 0);
    parley_client_destroy(c);
    return rc;
}

/* port_of is the port of "tcp://127.0.0.1:NNN". */
static int port_of(const char *addr)
{
    const char *p = strrchr(addr, ':');
    return p ? atoi(p + 1) : 0;
}

/* raw_connect connects a plain TCP socket to the server's TCP address. */
static int raw_connect(const server *v, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    if (rcvbuf)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port_of(v->tcp))};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    return fd;
}

/* call_msg writes a record-marked call message into b (at least 64
 * bytes) with msg_type mtype and a credential of flavor (no body): its
 * length. */
static size_t call_msg(uint8_t *b, uint32_t mtype, uint32_t proc, uint32_t flavor)
{
    uint32_t w[] = {0, 42, mtype, 2, PROG, VERS, proc, flavor, 0, 0, 0};
    w[0] = 0x80000000u | (uint32_t)(sizeof w - 4);
    for (size_t i = 0; i < sizeof w / 4; i++)
        w[i] = htonl(w[i]);
    memcpy(b, w, sizeof w);
    return sizeof w;
}

static void send_all(int fd, const void *p, size_t n)
{
    assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_server_reports_connections_limits_and_refused_calls(void **state)
{
    (void)state;
    clear();
    assert_int_equal(parley_set_log(sink, NULL, PARLEY_LOG_DEBUG), PARLEY_OK);
    parley_server_opts o = {.threads = 2, .max_msg = 1024, .max_conns = 3, .max_queued = 4096};
    server v;
    server_start(&v, &o);

    /* refused calls over each transport, with the caller as the peer */
    assert_int_equal(call(v.tcp, PROG, VERS, 99), PARLEY_ERR_PROC_UNAVAIL);
    rec r = expect(PARLEY_LOG_CALL_REFUSED, PARLEY_ERR_PROC_UNAVAIL, PARLEY_LOG_INFO,
                   "tcp://127.0.0.1:");
    assert_int_equal(r.prog, PROG);
    assert_int_equal(r.vers, VERS);
    assert_int_equal(r.proc, 99);
    assert_int_equal(call(v.udp, PROG + 1, VERS, 1), PARLEY_ERR_PROG_UNAVAIL);
    expect(PARLEY_LOG_CALL_REFUSED, PARLEY_ERR_PROG_UNAVAIL, PARLEY_LOG_INFO, "udp://127.0.0.1:");
    assert_int_equal(call(v.unx, PROG, VERS + 1, 1), PARLEY_ERR_PROG_MISMATCH);
    expect(PARLEY_LOG_CALL_REFUSED, PARLEY_ERR_PROG_MISMATCH, PARLEY_LOG_INFO, "unix:");
    assert_int_equal(call(v.tcp, PROG, VERS, PROC_GARBAGE), PARLEY_ERR_GARBAGE_ARGS);
    expect(PARLEY_LOG_CALL_REFUSED, PARLEY_ERR_GARBAGE_ARGS, PARLEY_LOG_INFO, "tcp://");
    assert_int_equal(call(v.tcp, PROG, VERS, PROC_FAIL), PARLEY_ERR_SYSTEM_ERR);
    expect(PARLEY_LOG_CALL_REFUSED, PARLEY_ERR_SYSTEM_ERR, PARLEY_LOG_INFO, "tcp://");
    /* a client's connection accepted and closed */
    expect(PARLEY_LOG_CONN_ACCEPTED, 0, PARLEY_LOG_DEBUG, "tcp://127.0.0.1:");
    expect(PARLEY_LOG_CONN_CLOSED, PARLEY_ERR_CLOSED, PARLEY_LOG_DEBUG, "tcp://127.0.0.1:");
    expect(PARLEY_LOG_CONN_ACCEPTED, 0, PARLEY_LOG_DEBUG, "unix:");

    /* a credential of a flavor nobody knows */
    uint8_t b[128];
    int fd = raw_connect(&v, 0);
    send_all(fd, b, call_msg(b, 0, PROC_ECHO, 77));
    expect(PARLEY_LOG_CALL_REFUSED, PARLEY_ERR_AUTH, PARLEY_LOG_INFO, "tcp://127.0.0.1:");
    /* a message that is not a call: the connection is closed for it */
    send_all(fd, b, call_msg(b, 1, PROC_ECHO, 0));
    expect(PARLEY_LOG_MALFORMED, -1, PARLEY_LOG_WARNING, "tcp://127.0.0.1:");
    expect(PARLEY_LOG_CONN_CLOSED, PARLEY_ERR_PROTOCOL, PARLEY_LOG_DEBUG, "tcp://127.0.0.1:");
    close(fd);

    /* a message beyond max_msg */
    fd = raw_connect(&v, 0);
    uint32_t mark = htonl(0x80000000u | 4096u);
    send_all(fd, &mark, 4);
    expect(PARLEY_LOG_LIMIT_MAX_MSG, PARLEY_ERR_MSG_TOO_LARGE, PARLEY_LOG_WARNING,
           "tcp://127.0.0.1:");
    expect(PARLEY_LOG_CONN_CLOSED, PARLEY_ERR_MSG_TOO_LARGE, PARLEY_LOG_DEBUG, "tcp://");
    close(fd);

    /* a client that sends calls and reads no reply */
    fd = raw_connect(&v, 4096);
    size_t n = call_msg(b, 0, PROC_BIG, 0);
    int closed = 0;
    for (int i = 0; i < 2000 && !closed; i++) {
        ssize_t k = send(fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            closed = 1;
        else if (k < 0)
            sleep_ms(5);
        if (i % 50 == 0 && find(PARLEY_LOG_LIMIT_MAX_QUEUED, -1, &r))
            break;
    }
    expect(PARLEY_LOG_LIMIT_MAX_QUEUED, PARLEY_ERR_LIMIT, PARLEY_LOG_WARNING, "tcp://127.0.0.1:");
    expect(PARLEY_LOG_CONN_CLOSED, PARLEY_ERR_LIMIT, PARLEY_LOG_DEBUG, "tcp://");
    close(fd);

    /* connections beyond max_conns (3) */
    int held[4];
    for (int i = 0; i < 4; i++)
        held[i] = raw_connect(&v, 0);
    expect(PARLEY_LOG_LIMIT_MAX_CONNS, PARLEY_ERR_LIMIT, PARLEY_LOG_WARNING, "tcp://127.0.0.1:");
    for (int i = 0; i < 4; i++)
        close(held[i]);

    server_stop(&v);
    parley_set_log(NULL, NULL, PARLEY_LOG_OFF);
}

static void test_server_reports_idle_and_slow_connections(void **state)
{
    (void)state;
    clear();
    assert_int_equal(parley_set_log(sink, NULL, PARLEY_LOG_INFO), PARLEY_OK);
    parley_server_opts o = {.threads = 1, .idle_timeout_ms = 300, .msg_timeout_ms = 300};
    server v;
    server_start(&v, &o);
    int idle = raw_connect(&v, 0);
    int slow = raw_connect(&v, 0);
    uint8_t half[2] = {0x80, 0};
    send_all(slow, half, sizeof half);
    expect(PARLEY_LOG_LIMIT_IDLE, PARLEY_ERR_TIMEDOUT, PARLEY_LOG_INFO, "tcp://127.0.0.1:");
    expect(PARLEY_LOG_LIMIT_MSG_TIMEOUT, PARLEY_ERR_TIMEDOUT, PARLEY_LOG_WARNING,
           "tcp://127.0.0.1:");
    /* debug events are below the level: none came */
    rec r;
    pthread_mutex_lock(&recs_mu);
    for (int i = 0; i < nrecs; i++)
        assert_true(recs[i].level <= PARLEY_LOG_INFO);
    pthread_mutex_unlock(&recs_mu);
    (void)r;
    close(idle);
    close(slow);
    server_stop(&v);
    parley_set_log(NULL, NULL, PARLEY_LOG_OFF);
}

static void test_server_reports_a_call_not_run_for_lack_of_room(void **state)
{
    (void)state;
    clear();
    assert_int_equal(parley_set_log(sink, NULL, PARLEY_LOG_DEBUG), PARLEY_OK);
    parley_server_opts o = {.threads = 1, .cache_max_clients = 1};
    server v;
    server_start(&v, &o);
    parley_client *a = NULL, *b = NULL;
    parley_client_opts co = {.timeout_ms = 500};
    assert_int_equal(parley_client_create(&a, v.tcp, PROG, VERS, &co), PARLEY_OK);
    assert_int_equal(parley_client_create(&b, v.tcp, PROG, VERS, &co), PARLEY_OK);
    uint32_t x = 1, res = 0;
    parley_call_opts once = {.semantics = PARLEY_AT_MOST_ONCE};
    assert_int_equal(parley_client_call_opts(a, PROC_ECHO, put_u32, &x, 4, get_u32, &res, &once),
                     PARLEY_OK);
    /* the client said HELLO first */
    expect(PARLEY_LOG_HELLO, 0, PARLEY_LOG_DEBUG, v.tcp);
    /* the cache remembers one client: the second's HELLO is answered busy */
    assert_int_not_equal(
        parley_client_call_opts(b, PROC_ECHO, put_u32, &x, 4, get_u32, &res, &once), PARLEY_OK);
    expect(PARLEY_LOG_LIMIT_CACHE, PARLEY_ERR_BUSY, PARLEY_LOG_WARNING, "tcp://127.0.0.1:");
    parley_client_destroy(a);
    parley_client_destroy(b);
    server_stop(&v);
    parley_set_log(NULL, NULL, PARLEY_LOG_OFF);
}

static void test_client_reports_connect_failures_reconnects_and_retransmissions(void **state)
{
    (void)state;
    clear();
    assert_int_equal(parley_set_log(sink, NULL, PARLEY_LOG_DEBUG), PARLEY_OK);
    /* a port nobody listens on: bound, never listening */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof sin), 0);
    socklen_t sl = sizeof sin;
    getsockname(s, (struct sockaddr *)&sin, &sl);
    char addr[64];
    snprintf(addr, sizeof addr, "tcp://127.0.0.1:%u", ntohs(sin.sin_port));
    assert_int_equal(call(addr, PROG, VERS, PROC_ECHO), PARLEY_ERR_REFUSED);
    expect(PARLEY_LOG_CONNECT_FAILED, PARLEY_ERR_REFUSED, PARLEY_LOG_INFO, addr);
    close(s);

    /* a UDP socket that never answers: the call is sent again */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    sin.sin_port = 0;
    assert_int_equal(bind(u, (struct sockaddr *)&sin, sizeof sin), 0);
    sl = sizeof sin;
    getsockname(u, (struct sockaddr *)&sin, &sl);
    snprintf(addr, sizeof addr, "udp://127.0.0.1:%u", ntohs(sin.sin_port));
    parley_client *c = NULL;
    parley_client_opts co = {.timeout_ms = 300, .retransmit_ms = 20};
    assert_int_equal(parley_client_create(&c, addr, PROG, VERS, &co), PARLEY_OK);
    uint32_t x = 1, r = 0;
    assert_int_equal(parley_client_call(c, PROC_ECHO, put_u32, &x, 4, get_u32, &r, 0),
                     PARLEY_ERR_TIMEDOUT);
    expect(PARLEY_LOG_RETRANSMIT, 0, PARLEY_LOG_DEBUG, addr);
    parley_client_destroy(c);
    close(u);

    /* a connection the server closed (idle): the next call connects again */
    parley_server_opts o = {.threads = 1, .idle_timeout_ms = 200};
    server v;
    server_start(&v, &o);
    assert_int_equal(parley_client_create(&c, v.tcp, PROG, VERS, NULL), PARLEY_OK);
    assert_int_equal(parley_client_call(c, PROC_ECHO, put_u32, &x, 4, get_u32, &r, 0), PARLEY_OK);
    rec k;
    assert_true(find(PARLEY_LOG_CONN_CLOSED, PARLEY_ERR_TIMEDOUT, &k));
    assert_int_equal(parley_client_call(c, PROC_ECHO, put_u32, &x, 4, get_u32, &r, 0), PARLEY_OK);
    expect(PARLEY_LOG_RECONNECT, 0, PARLEY_LOG_INFO, v.tcp);
    parley_client_destroy(c);
    server_stop(&v);
    parley_set_log(NULL, NULL, PARLEY_LOG_OFF);
}

static void test_levels_and_names(void **state)
{
    (void)state;
    int l = -1;
    assert_int_equal(parley_log_level_parse("debug", &l), PARLEY_OK);
    assert_int_equal(l, PARLEY_LOG_DEBUG);
    assert_int_equal(parley_log_level_parse("warn", &l), PARLEY_OK);
    assert_int_equal(l, PARLEY_LOG_WARNING);
    assert_int_equal(parley_log_level_parse("2", &l), PARLEY_OK);
    assert_int_equal(l, PARLEY_LOG_WARNING);
    assert_int_equal(parley_log_level_parse("loud", &l), PARLEY_ERR_INVALID);
    assert_int_equal(l, PARLEY_LOG_WARNING);
    assert_string_equal(parley_log_level_name(PARLEY_LOG_INFO), "info");
    assert_string_equal(parley_log_event_name(PARLEY_LOG_CONN_CLOSED), "conn_closed");
    assert_string_equal(parley_log_event_name(-1), "unknown");
    assert_int_equal(parley_set_log(sink, NULL, 9), PARLEY_ERR_INVALID);
    assert_int_equal(parley_log_level(), PARLEY_LOG_OFF);
    /* a sink of NULL is off, whatever the level */
    assert_int_equal(parley_set_log(NULL, NULL, PARLEY_LOG_DEBUG), PARLEY_OK);
    assert_int_equal(parley_log_level(), PARLEY_LOG_OFF);
}

/* ---- off: no callback, nothing allocated ------------------------------------ */

static atomic_long allocs; /* malloc, calloc and realloc calls, in every thread */

void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

void *__wrap_malloc(size_t n)
{
    atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
    return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
    return __real_realloc(p, n);
}

/* refusals makes n calls answered with errors (each a log point) through
 * c; returns the allocations made meanwhile by every thread. */
static long refusals(parley_client *c, int n)
{
    long before = atomic_load(&allocs);
    uint32_t x = 1, r = 0;
    for (int i = 0; i < n; i++) {
        assert_int_equal(parley_client_call(c, 99, put_u32, &x, 4, get_u32, &r, 0),
                         PARLEY_ERR_PROC_UNAVAIL);
        assert_int_equal(parley_client_call(c, PROC_FAIL, put_u32, &x, 4, get_u32, &r, 0),
                         PARLEY_ERR_SYSTEM_ERR);
    }
    return atomic_load(&allocs) - before;
}

static void test_off_calls_no_sink_and_allocates_nothing(void **state)
{
    (void)state;
    server v;
    parley_server_opts o = {.threads = 1};
    server_start(&v, &o);
    const char *addrs[] = {v.tcp, v.udp, v.unx};
    for (size_t t = 0; t < 3; t++) {
        parley_client *c = NULL;
        assert_int_equal(parley_client_create(&c, addrs[t], PROG, VERS, NULL), PARLEY_OK);
        refusals(c, 4); /* connected, buffers grown */
        clear();
        /* a sink set at a level below the events, then none at all */
        assert_int_equal(parley_set_log(sink, NULL, PARLEY_LOG_WARNING), PARLEY_OK);
        long quiet = refusals(c, 50);
        assert_int_equal(parley_set_log(sink, NULL, PARLEY_LOG_OFF), PARLEY_OK);
        long off = refusals(c, 50);
        assert_int_equal(atomic_load(&ncalls), 0);
        /* and on: the sink hears each of them, and logging allocates
         * nothing either way (what the calls allocate is the same) */
        assert_int_equal(parley_set_log(sink, NULL, PARLEY_LOG_DEBUG), PARLEY_OK);
        long on = refusals(c, 50);
        parley_set_log(NULL, NULL, PARLEY_LOG_OFF);
        assert_true(atomic_load(&ncalls) >= 100);
        assert_int_equal(off, quiet);
        assert_int_equal(on, off);
        parley_client_destroy(c);
    }
    server_stop(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_levels_and_names),
        cmocka_unit_test(test_server_reports_connections_limits_and_refused_calls),
        cmocka_unit_test(test_server_reports_idle_and_slow_connections),
        cmocka_unit_test(test_server_reports_a_call_not_run_for_lack_of_room),
        cmocka_unit_test(test_client_reports_connect_failures_reconnects_and_retransmissions),
        cmocka_unit_test(test_off_calls_no_sink_and_allocates_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
