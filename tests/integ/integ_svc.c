/*
 * tests/integ/integ_svc.c: the procedures of integ.x, and the server's
 * child process. Each procedure transforms its argument in a way a test can
 * predict (and which the interoperability test compares with what a
 * libtirpc client gets): results live in the call's arena.
 */
#include "integ_svc.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "integ.h"

static integ_shared *shared;
static parley_server *server;

integ_shared *integ_shared_map(void)
{
    if (!shared) {
        void *p =
            mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        shared = p;
        atomic_init(&shared->slow_started, 0);
        atomic_init(&shared->slow_done, 0);
    }
    return shared;
}

static color next(color c)
{
    return c == RED ? GREEN : c == GREEN ? BLUE : RED;
}

/* echo_record_1_svc: the name reversed, big negated, ubig + 1, the values
 * in reverse order, the tag reversed, the next colour. */
int echo_record_1_svc(const record *arg, record *res, parley_call *call)
{
    parley_arena *a = parley_call_arena(call);
    size_t n = strlen(arg->name);
    char *name = parley_arena_alloc(a, n + 1);
    int *vals = parley_arena_alloc(a, (arg->values.values_len + 1) * sizeof *vals);
    if (!name || !vals)
        return PARLEY_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        name[i] = arg->name[n - 1 - i];
    name[n] = '\0';
    for (u_int i = 0; i < arg->values.values_len; i++)
        vals[i] = arg->values.values_val[arg->values.values_len - 1 - i];
    res->name = name;
    res->big = -arg->big;
    res->ubig = arg->ubig + 1;
    res->values.values_len = arg->values.values_len;
    res->values.values_val = vals;
    for (int i = 0; i < 4; i++)
        res->tag[i] = arg->tag[3 - i];
    res->hue = next(arg->hue);
    return PARLEY_OK;
}

/* echo_shape_1_svc: a RED side doubled, a GREEN label with "!" added,
 * BLUE unchanged. */
int echo_shape_1_svc(const shape *arg, shape *res, parley_call *call)
{
    res->kind = arg->kind;
    if (arg->kind == RED) {
        res->shape_u.side = arg->shape_u.side * 2;
    } else if (arg->kind == GREEN) {
        size_t n = strlen(arg->shape_u.label);
        if (n >= INTEG_MAX_NAME)
            n = INTEG_MAX_NAME - 1;
        char *s = parley_arena_alloc(parley_call_arena(call), n + 2);
        if (!s)
            return PARLEY_ERR_NOMEM;
        memcpy(s, arg->shape_u.label, n);
        s[n] = '!';
        s[n + 1] = '\0';
        res->shape_u.label = s;
    }
    return PARLEY_OK;
}

int next_color_1_svc(const color *arg, color *res, parley_call *call)
{
    (void)call;
    *res = next(*arg);
    return PARLEY_OK;
}

int sum_list_1_svc(const node_list *arg, int *res, parley_call *call)
{
    (void)call;
    unsigned sum = 0;
    for (const node *p = *arg; p; p = p->next)
        sum += (unsigned)p->value;
    *res = (int)sum;
    return PARLEY_OK;
}

/* make_list_1_svc: the list 1, 2, ..., n (n capped at 1000; none for n <= 0). */
int make_list_1_svc(const int *arg, node_list *res, parley_call *call)
{
    int n = *arg > 1000 ? 1000 : *arg;
    node *head = NULL;
    for (int v = n; v >= 1; v--) {
        node *p = parley_arena_alloc(parley_call_arena(call), sizeof *p);
        if (!p)
            return PARLEY_ERR_NOMEM;
        p->value = v;
        p->next = head;
        head = p;
    }
    *res = head;
    return PARLEY_OK;
}

/* whoami_1_svc: the caller's credentials as the server checked them. */
int whoami_1_svc(whoami_res *res, parley_call *call)
{
    const parley_cred *c = parley_call_cred(call);
    u_int *gids = parley_arena_alloc(parley_call_arena(call), (c->ngids + 1) * sizeof *gids);
    char *machine = parley_arena_alloc(parley_call_arena(call), sizeof c->machine);
    if (!gids || !machine)
        return PARLEY_ERR_NOMEM;
    memcpy(gids, c->gids, c->ngids * sizeof *gids);
    memcpy(machine, c->machine, sizeof c->machine);
    res->flavor = c->flavor;
    res->stamp = c->stamp;
    res->uid = c->uid;
    res->gid = c->gid;
    res->gids.gids_len = c->ngids;
    res->gids.gids_val = gids;
    res->machine = machine;
    return PARLEY_OK;
}

/* slow_1_svc sleeps *arg ms (at most 5 s) and returns it; the shared
 * counters say when it began and ended. */
int slow_1_svc(const int *arg, int *res, parley_call *call)
{
    (void)call;
    if (shared)
        atomic_fetch_add(&shared->slow_started, 1);
    int ms = *arg < 0 ? 0 : *arg > 5000 ? 5000 : *arg;
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
    *res = *arg;
    if (shared)
        atomic_fetch_add(&shared->slow_done, 1);
    return PARLEY_OK;
}

/* echo_blob_1_svc: the bytes as they came (the arguments outlive the
 * encoding of the result). */
int echo_blob_1_svc(const blob *arg, blob *res, parley_call *call)
{
    (void)call;
    *res = *arg;
    return PARLEY_OK;
}

int ping3_3_svc(const int *arg, int *res, parley_call *call)
{
    (void)call;
    *res = *arg + 3;
    return PARLEY_OK;
}

static void on_sigterm(int sig)
{
    (void)sig;
    parley_server_stop(server);
}

int integ_serve(int wfd, void *ctx)
{
    const integ_serve_args *a = ctx;
    parley_server_opts opts;
    memset(&opts, 0, sizeof opts);
    opts.threads = a->threads;
    opts.msg_timeout_ms = a->msg_timeout_ms;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigterm;
    int rc = parley_server_create(&server, &opts);
    if (rc == PARLEY_OK)
        rc = parley_server_add_program(server, &integ_prog_1);
    if (rc == PARLEY_OK)
        rc = parley_server_add_program(server, &integ_prog_3);
    for (size_t i = 0; rc == PARLEY_OK && i < a->naddrs; i++) {
        char bound[160];
        rc = parley_server_listen(server, a->addrs[i], bound, sizeof bound);
        if (rc == PARLEY_OK)
            dprintf(wfd, "%s\n", bound);
    }
    if (rc != PARLEY_OK) {
        fprintf(stderr, "integ server: %s\n", parley_strerror(rc));
        parley_server_destroy(server);
        close(wfd);
        return 1;
    }
    sigaction(SIGTERM, &sa, NULL);
    close(wfd);
    rc = parley_server_run(server);
    /* a second SIGTERM must not reach a destroyed server */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGTERM, &sa, NULL);
    parley_server_destroy(server);
    return rc == PARLEY_OK ? 0 : 1;
}
