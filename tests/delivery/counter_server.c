/*
 * tests/delivery/counter_server.c: counter_server, the server process of the
 * delivery fault tests (counter.x). A test starts it, kills it with SIGKILL
 * at random moments and starts it again on the same addresses and store, so
 * it is a program of its own rather than a forked copy of the test.
 *
 *   counter_server --listen ADDR [--listen ADDR]... --runs FILE
 *                  [--store FILE] [--durability process|machine]
 *                  [--threads N] [--cache-max-clients N] [--lease-ms N]
 *                  [--drc-max-entries N]
 *
 * It listens on every ADDR (port 0: one the kernel chooses; a fixed port is
 * bound again after a restart, as the server sets SO_REUSEADDR), prints the
 * addresses it got on stdout, one a line, closes stdout, and serves until
 * SIGTERM, when it exits 0.
 *
 * The ground truth of the tests is the runs file: every ADD that runs
 * appends one line "SEM ID PID\n" (SEM one of eo, amo, idem) with a single
 * write() on an O_APPEND descriptor before it returns, so the line is in
 * the kernel, and survives a SIGKILL, before any reply can leave. The PID
 * tells the incarnations apart. The exactly-once counter lives in the
 * server's store (parley_call_store_get/put, committed with the call's
 * completion record); the other two in memory, lost at a restart.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "counter.h"

#define MAX_LISTEN 8

static const char count_key[] = "count";
static int runs_fd = -1;
static parley_server *server;
static atomic_uint_least64_t at_most_once_count, idempotent_count;

/* log_run appends "sem id pid" to the runs file in one write(). Returns
 * PARLEY_OK, or PARLEY_ERR_SYSTEM_ERR when the line could not be written
 * whole (the caller fails the call: a run not logged would make the test's
 * counts lie). */
static int log_run(const char *sem, uint64_t id)
{
    char line[80];
    int n = snprintf(line, sizeof line, "%s %" PRIu64 " %ld\n", sem, id, (long)getpid());
    if (n <= 0 || (size_t)n >= sizeof line)
        return PARLEY_ERR_SYSTEM_ERR;
    ssize_t w;
    do
        w = write(runs_fd, line, (size_t)n);
    while (w < 0 && errno == EINTR);
    return w == n ? PARLEY_OK : PARLEY_ERR_SYSTEM_ERR;
}

/* read_store reads the exactly-once counter from the call's store (0 when
 * absent). */
static int read_store(parley_call *call, uint64_t *out)
{
    const void *val = NULL;
    size_t len = 0;
    int rc = parley_call_store_get(call, count_key, sizeof count_key - 1, &val, &len);
    if (rc != PARLEY_OK)
        return rc;
    uint64_t v = 0;
    if (val && len != sizeof v)
        return PARLEY_ERR_SYSTEM_ERR;
    if (val)
        memcpy(&v, val, sizeof v);
    *out = v;
    return PARLEY_OK;
}

/* add_exactly_once_1_svc adds to the counter in the store; the put is
 * committed with the call's completion record after this returns. */
int add_exactly_once_1_svc(const add_args *arg, u_quad_t *res, parley_call *call)
{
    uint64_t v = 0;
    int rc = read_store(call, &v);
    if (rc != PARLEY_OK)
        return PARLEY_ERR_SYSTEM_ERR;
    v += arg->amount;
    rc = parley_call_store_put(call, count_key, sizeof count_key - 1, &v, sizeof v);
    if (rc != PARLEY_OK)
        return PARLEY_ERR_SYSTEM_ERR;
    rc = log_run("eo", arg->id);
    if (rc != PARLEY_OK)
        return rc;
    *res = v;
    return PARLEY_OK;
}

int add_at_most_once_1_svc(const add_args *arg, u_quad_t *res, parley_call *call)
{
    (void)call;
    int rc = log_run("amo", arg->id);
    if (rc != PARLEY_OK)
        return rc;
    *res = atomic_fetch_add(&at_most_once_count, arg->amount) + arg->amount;
    return PARLEY_OK;
}

int add_idempotent_1_svc(const add_args *arg, u_quad_t *res, parley_call *call)
{
    (void)call;
    int rc = log_run("idem", arg->id);
    if (rc != PARLEY_OK)
        return rc;
    *res = atomic_fetch_add(&idempotent_count, arg->amount) + arg->amount;
    return PARLEY_OK;
}

int read_counts_1_svc(counts *res, parley_call *call)
{
    (void)call;
    res->at_most_once = atomic_load(&at_most_once_count);
    res->idempotent = atomic_load(&idempotent_count);
    return PARLEY_OK;
}

int read_exactly_once_1_svc(u_quad_t *res, parley_call *call)
{
    uint64_t v = 0;
    if (read_store(call, &v) != PARLEY_OK)
        return PARLEY_ERR_SYSTEM_ERR;
    *res = v;
    return PARLEY_OK;
}

static void on_term(int sig)
{
    (void)sig;
    if (server)
        parley_server_stop(server);
}

static int usage(void)
{
    fprintf(stderr, "usage: counter_server --listen ADDR... --runs FILE [--store FILE]\n"
                    "       [--durability process|machine] [--threads N]\n"
                    "       [--cache-max-clients N] [--lease-ms N] [--drc-max-entries N]\n"
                    "       [--store-lease-ms N] [--store-max-clients N]\n");
    return 2;
}

/* number reads a decimal option value into *out; 0 or -1. */
static int number(const char *s, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v > 0xffffffffu)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    const char *listen[MAX_LISTEN];
    size_t nlisten = 0;
    const char *runs = NULL;
    parley_server_opts o;
    memset(&o, 0, sizeof o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long n = 0;
        if (!v)
            return usage();
        i++;
        if (!strcmp(a, "--listen") && nlisten < MAX_LISTEN)
            listen[nlisten++] = v;
        else if (!strcmp(a, "--runs"))
            runs = v;
        else if (!strcmp(a, "--store"))
            o.store = v;
        else if (!strcmp(a, "--durability") && !strcmp(v, "process"))
            o.durability = PARLEY_DURABLE_PROCESS;
        else if (!strcmp(a, "--durability") && !strcmp(v, "machine"))
            o.durability = PARLEY_DURABLE_MACHINE;
        else if (!strcmp(a, "--threads") && number(v, &n) == 0)
            o.threads = (unsigned)n;
        else if (!strcmp(a, "--cache-max-clients") && number(v, &n) == 0)
            o.cache_max_clients = (unsigned)n;
        else if (!strcmp(a, "--lease-ms") && number(v, &n) == 0)
            o.lease_ms = (unsigned)n;
        else if (!strcmp(a, "--drc-max-entries") && number(v, &n) == 0)
            o.drc_max_entries = n;
        else if (!strcmp(a, "--store-lease-ms") && number(v, &n) == 0)
            o.store_lease_ms = (unsigned)n;
        else if (!strcmp(a, "--store-max-clients") && number(v, &n) == 0)
            o.store_max_clients = n;
        else
            return usage();
    }
    if (!nlisten || !runs)
        return usage();

    runs_fd = open(runs, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (runs_fd < 0) {
        fprintf(stderr, "counter_server: %s: %s\n", runs, strerror(errno));
        return 1;
    }
    int rc = parley_server_create(&server, &o);
    if (rc == PARLEY_OK)
        rc = parley_server_add_program(server, &counter_prog_1);
    if (rc != PARLEY_OK)
        fprintf(stderr, "counter_server: %s\n", parley_strerror(rc));
    for (size_t i = 0; rc == PARLEY_OK && i < nlisten; i++) {
        char bound[160];
        rc = parley_server_listen(server, listen[i], bound, sizeof bound);
        if (rc == PARLEY_OK)
            printf("%s\n", bound);
        else
            fprintf(stderr, "counter_server: %s: %s\n", listen[i], parley_strerror(rc));
    }
    if (rc != PARLEY_OK) {
        parley_server_destroy(server);
        close(runs_fd);
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    /* the addresses are all there: closing stdout tells the test so */
    if (fflush(stdout) != 0)
        return 1;
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) {
        dup2(null, 1);
        close(null);
    }

    rc = parley_server_run(server);
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    parley_server_destroy(server);
    server = NULL;
    close(runs_fd);
    if (rc != PARLEY_OK) {
        fprintf(stderr, "counter_server: %s\n", parley_strerror(rc));
        return 1;
    }
    return 0;
}
