/*
 * side_parley.c: Parley's side of the RPC benchmark, over the code
 * parleygen generates from rpcbench.x: its server (rpcbench_server.c, whose
 * handler answers the NULL procedure and calls rpcbench_users_1_svc below)
 * run by parley_server_run, and clients made with parley_client_create and
 * called through the generated stubs rpcbench_null_1 and rpcbench_users_1.
 *
 * Parley's server takes addresses, not sockets, so this side has no serve
 * but a listen_serve (bench_rpc.h): the child listens on port 0 (or on the
 * Unix path it is given), reports the address it bound, and serves with the
 * default number of threads until SIGTERM. A Parley client is thread-safe
 * and pipelines the calls of many threads over one connection, so the
 * benchmark's threads may share one handle.
 *
 * The USERS result is decoded into an arena of the calling thread
 * (rpcbench_users_1_arena), reset before each call: its 100 names cost no
 * malloc and no free, as they would with rpcbench_users_1 and users_free.
 */
#include "rpcbench.h"
#include "bench_rpc.h"
#include "benchutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

/* ---- server ------------------------------------------------------------- */

/* The users of the USERS reply, built once in the server child from
 * rb_input, whose names they point at; they outlive every call, so the
 * procedure hands them out and nothing is released. */
static user users_val[RB_NUSERS];

static parley_server *server;

/* rpcbench_users_1_svc answers USERS with the benchmark's 100 users. */
int rpcbench_users_1_svc(users *result, parley_call *call)
{
    (void)call;
    result->users_len = (u_int)rb_input.n;
    result->users_val = users_val;
    return PARLEY_OK;
}

static void on_sigterm(int sig)
{
    (void)sig;
    parley_server_stop(server);
}

/* bound_sockaddr turns the address parley_server_listen bound (text) into
 * the socket address the parent's clients reach: 127.0.0.1 with the port
 * at the end of the text for TCP and UDP, sock_path for Unix. */
static int bound_sockaddr(int transport, const char *bound, const char *sock_path,
                          struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (transport == RB_UNIX) {
        struct sockaddr_un *sun = (struct sockaddr_un *)ss;

        if (strlen(sock_path) >= sizeof sun->sun_path)
            return -1;
        sun->sun_family = AF_UNIX;
        strcpy(sun->sun_path, sock_path);
        *len = sizeof *sun;
    } else {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        const char *colon = strrchr(bound, ':');
        char *end;
        unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;

        if (colon == NULL || *end != '\0' || port == 0 || port > 65535)
            return -1;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sin->sin_port = htons((uint16_t)port);
        *len = sizeof *sin;
    }
    return 0;
}

/* parley-sleep's server child sets this to -1 (no busy polling) before
 * it serves. */
static int server_busy_poll_us;

static int side_listen_serve(int transport, const char *sock_path, int report_fd, char *err,
                             size_t errlen)
{
    /* as many connections as the memory measurement may open (--conns) */
    parley_server_opts opts = {.max_conns = 1u << 17, .busy_poll_us = server_busy_poll_us};
    char addr[160], bound[160];
    struct sockaddr_storage ss;
    struct sigaction sa;
    socklen_t sslen;
    int rc;

    for (size_t i = 0; i < rb_input.n; i++) {
        users_val[i].name = rb_input.names[i];
        users_val[i].uid = rb_input.uids[i];
        users_val[i].login_time = rb_input.times[i];
    }
    if (transport == RB_UNIX)
        snprintf(addr, sizeof addr, "unix:%s", sock_path);
    else
        snprintf(addr, sizeof addr, "%s://127.0.0.1:0", transport == RB_UDP ? "udp" : "tcp");
    if ((rc = parley_server_create(&server, &opts)) == PARLEY_OK &&
        (rc = parley_server_add_program(server, &rpcbench_prog_1)) == PARLEY_OK)
        rc = parley_server_listen(server, addr, bound, sizeof bound);
    if (rc != PARLEY_OK) {
        rb_set_err(err, errlen, "%s: %s", addr, parley_strerror(rc));
        goto fail;
    }
    if (bound_sockaddr(transport, bound, sock_path, &ss, &sslen) != 0) {
        rb_set_err(err, errlen, "unexpected bound address %s", bound);
        goto fail;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigterm;
    sigaction(SIGTERM, &sa, NULL);
    if (rb_report_bound(report_fd, (struct sockaddr *)&ss, sslen) != 0) {
        rb_set_err(err, errlen, "cannot report the address");
        goto fail;
    }
    rc = parley_server_run(server);
    parley_server_destroy(server);
    if (rc != PARLEY_OK) {
        rb_set_err(err, errlen, "parley_server_run: %s", parley_strerror(rc));
        return -1;
    }
    return 0;
fail:
    parley_server_destroy(server);
    return -1;
}

/* ---- client ------------------------------------------------------------- */

typedef struct side_client {
    parley_client *c;
    atomic_int checked; /* the first USERS reply is compared with rb_input in full */
} side_client;

static void side_disconnect(void *p)
{
    side_client *c = p;

    if (c != NULL) {
        parley_client_destroy(c->c);
        free(c);
    }
}

/* side_connect makes a handle for srv's address; it connects on the
 * first call, as the other sides' clients connect in their _create. */
static void *connect_opts(const rb_server *srv, const parley_client_opts *opts, char *err,
                          size_t errlen)
{
    side_client *c = calloc(1, sizeof *c);
    char addr[160], host[INET_ADDRSTRLEN];
    int rc;

    if (c == NULL) {
        rb_set_err(err, errlen, "out of memory");
        return NULL;
    }
    atomic_init(&c->checked, 0);
    if (srv->transport == RB_UNIX) {
        snprintf(addr, sizeof addr, "unix:%s", ((const struct sockaddr_un *)&srv->addr)->sun_path);
    } else {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&srv->addr;

        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
        snprintf(addr, sizeof addr, "%s://%s:%u", srv->transport == RB_UDP ? "udp" : "tcp", host,
                 (unsigned)ntohs(sin->sin_port));
    }
    rc = parley_client_create(&c->c, addr, RPCBENCH_PROG, RPCBENCH_VERS, opts);
    if (rc != PARLEY_OK) {
        rb_set_err(err, errlen, "%s: %s", addr, parley_strerror(rc));
        free(c);
        return NULL;
    }
    return c;
}

/* Each calling thread's arena for USERS results: made on its first call,
 * destroyed when the thread exits. */
static pthread_key_t arena_key;
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;

static void arena_free(void *a)
{
    parley_arena_destroy(a);
}

static void arena_key_make(void)
{
    if (pthread_key_create(&arena_key, arena_free) != 0)
        abort(); /* no key: the benchmark cannot run as designed */
}

/* thread_arena is the calling thread's arena, or NULL when out of memory. */
static parley_arena *thread_arena(void)
{
    pthread_once(&arena_once, arena_key_make);
    parley_arena *a = pthread_getspecific(arena_key);
    if (a == NULL) {
        a = parley_arena_create(0);
        if (a != NULL && pthread_setspecific(arena_key, a) != 0) {
            parley_arena_destroy(a);
            a = NULL;
        }
    }
    return a;
}

static void *side_connect(const rb_server *srv, char *err, size_t errlen)
{
    return connect_opts(srv, NULL, err, errlen);
}

/* same_as_input compares decoded users with rb_input. */
static int same_as_input(const users *u)
{
    if (u->users_len != rb_input.n)
        return 0;
    for (size_t i = 0; i < rb_input.n; i++) {
        const user *x = &u->users_val[i];
        if (x->name == NULL || strcmp(x->name, rb_input.names[i]) != 0 ||
            x->uid != rb_input.uids[i] || x->login_time != rb_input.times[i])
            return 0;
    }
    return 1;
}

/* side_call makes one call through the generated stub. A USERS reply is
 * decoded into the thread's arena, reset before the call; the first on each
 * client is compared with the input in full, later ones by count (as on the
 * libtirpc side). */
static int side_call(void *p, int w, char *err, size_t errlen)
{
    side_client *c = p;
    parley_arena *arena;
    users res;
    int rc, ok;

    if (w == RB_NULL) {
        rc = rpcbench_null_1(c->c);
        if (rc != PARLEY_OK)
            goto fail;
        return 0;
    }
    if ((arena = thread_arena()) == NULL) {
        rc = PARLEY_ERR_NOMEM;
        goto fail;
    }
    parley_arena_reset(arena);
    rc = rpcbench_users_1_arena(c->c, &res, arena);
    if (rc != PARLEY_OK)
        goto fail;
    ok = atomic_load_explicit(&c->checked, memory_order_relaxed) ? res.users_len == rb_input.n
                                                                 : same_as_input(&res);
    if (!ok) {
        rb_set_err(err, errlen, "the users in the reply differ from the input");
        return -1;
    }
    atomic_store_explicit(&c->checked, 1, memory_order_relaxed);
    return 0;
fail:
    rb_set_err(err, errlen, "%s", parley_strerror(rc));
    return -1;
}

/* The state of side_pipeline's calls. */
typedef struct pipe_state {
    unsigned out;  /* calls submitted and not completed */
    uint64_t done; /* calls completed */
    int err;       /* the first failure */
} pipe_state;

static void pipe_done(void *ctx, int err)
{
    pipe_state *st = ctx;
    st->out--;
    st->done++;
    if (err && !st->err)
        st->err = err;
}

/* side_pipeline keeps inflight NULL calls out with the generated
 * asynchronous stub, completing them from parley_client_poll in this
 * thread, until the window has passed; then it waits for the rest. */
static int side_pipeline(void *p, unsigned inflight, double window_ns, uint64_t *calls,
                         double *elapsed_ns, char *err, size_t errlen)
{
    side_client *c = p;
    pipe_state st = {0, 0, 0};
    uint64_t t0 = bench_now_ns(), now = t0;
    int rc = PARLEY_OK;

    while (rc == PARLEY_OK && !st.err && now - t0 < (uint64_t)window_ns) {
        while (rc == PARLEY_OK && st.out < inflight) {
            rc = rpcbench_null_1_submit(c->c, pipe_done, &st);
            st.out += rc == PARLEY_OK;
        }
        if (rc == PARLEY_OK)
            rc = parley_client_poll(c->c, 1000, NULL);
        now = bench_now_ns();
    }
    /* the calls still out, each bounded by its deadline */
    while (st.out > 0 && parley_client_poll(c->c, 1000, NULL) == PARLEY_OK)
        ;
    now = bench_now_ns();
    *calls = st.done;
    *elapsed_ns = (double)(now - t0);
    if (rc == PARLEY_OK)
        rc = st.err;
    if (rc != PARLEY_OK) {
        rb_set_err(err, errlen, "%s", parley_strerror(rc));
        return -1;
    }
    return 0;
}

const rb_side rb_side_parley = {
    .name = "parley",
    .transports = 1u << RB_TCP | 1u << RB_UDP | 1u << RB_UNIX,
    .shared = 1,
    .listen_serve = side_listen_serve,
    .connect = side_connect,
    .call = side_call,
    .disconnect = side_disconnect,
    .pipeline = side_pipeline,
};

/* parley-sleep: the same, with busy polling off at both ends (client and
 * server sleep in the kernel as soon as they wait). */
static int sleep_listen_serve(int transport, const char *sock_path, int report_fd, char *err,
                              size_t errlen)
{
    server_busy_poll_us = -1;
    return side_listen_serve(transport, sock_path, report_fd, err, errlen);
}

static void *sleep_connect(const rb_server *srv, char *err, size_t errlen)
{
    parley_client_opts o = {.busy_poll_us = -1};
    return connect_opts(srv, &o, err, errlen);
}

const rb_side rb_side_parley_sleep = {
    .name = "parley-sleep",
    .transports = 1u << RB_TCP | 1u << RB_UDP | 1u << RB_UNIX,
    .shared = 1,
    .listen_serve = sleep_listen_serve,
    .connect = sleep_connect,
    .call = side_call,
    .disconnect = side_disconnect,
};
