/*
 * tests/cluster/cluster_peer.c: the server and the caller of the cluster's
 * tests (test_cluster.c), as a process the test starts inside one of its
 * "hosts" (a network namespace with its own matchmaker on port 111).
 *
 *   cluster_peer serve NAME HOST [PROG]
 *     serves cluster.idl's CLUSTER_WHERE as program PROG (default
 *     CLUSTER_PROG; a matchmaker gives one program to one name, so each
 *     name of a test has a number of its own) on tcp://0.0.0.0:0 and
 *     udp://0.0.0.0:0, wildcard addresses that the host's matchmaker
 *     publishes with its advertise address, answering HOST and the count
 *     of calls answered; registers as NAME with the local matchmaker;
 *     prints each address bound, then "ready"; serves until SIGTERM, then
 *     prints "served N calls" and exits 0 (exit 3 when the registration is
 *     refused, 1 on any other error).
 *
 *   cluster_peer call NAME HANDLES [PROG]
 *     reads commands from stdin, one a line: "call" makes one call of
 *     CLUSTER_WHERE through each of HANDLES client handles for NAME and
 *     PROG (a handle is created at its first call, looked up through the
 *     local matchmaker) and prints one line:
 *       calls ok=N fail=M HOST=K... [error=PARLEY_ERR_... (text)]
 *     with the answers per host and the first error; "renew" destroys the
 *     handles, so that the next "call" makes new ones (new look-ups, new
 *     connections); "quit" or the end of stdin ends it (exit 0).
 */
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "parley/server.h"

#define MAX_HANDLES 64
#define MAX_HOSTS   8
#define CALL_MS     15000u /* a call's deadline, failing over included: room for a loaded machine */

static parley_server *server;
static const char *own_host;
static atomic_uint_fast64_t served;

/* cluster_where_1_svc answers CLUSTER_WHERE: this instance's host and the
 * calls it answered so far, this one included. The host is the program's
 * argument, which outlives the server. */
int cluster_where_1_svc(cluster_where *result, parley_call *call)
{
    (void)call;
    result->host = (char *)(uintptr_t)own_host;
    result->calls = (u_quad_t)(atomic_fetch_add(&served, 1) + 1);
    return PARLEY_OK;
}

static void on_term(int sig)
{
    (void)sig;
    parley_server_stop(server);
}

/* serve is "cluster_peer serve": see the file's comment. */
static int serve(const char *name, const char *host, uint32_t prog)
{
    static const char *const addrs[] = {"tcp://0.0.0.0:0", "udp://0.0.0.0:0"};
    /* the generated program as another number: the same procedures */
    static parley_program_def def;
    def = cluster_prog_1;
    def.prog = prog;
    own_host = host;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    int rc = parley_server_create(&server, NULL);
    if (rc == PARLEY_OK)
        rc = parley_server_add_program(server, &def);
    for (int i = 0; rc == PARLEY_OK && i < 2; i++) {
        char bound[160];
        rc = parley_server_listen(server, addrs[i], bound, sizeof bound);
        if (rc == PARLEY_OK)
            printf("%s\n", bound);
    }
    if (rc != PARLEY_OK) {
        fprintf(stderr, "cluster_peer: %s\n", parley_strerror(rc));
        parley_server_destroy(server);
        return 1;
    }
    rc = parley_server_register(server, name);
    if (rc != PARLEY_OK) {
        printf("refused: %s (%s)\n", parley_errname(rc), parley_strerror(rc));
        fflush(stdout);
        parley_server_destroy(server);
        return 3;
    }
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("ready\n");
    fflush(stdout);
    rc = parley_server_run(server);
    sa.sa_handler = SIG_DFL; /* the handler must not reach a freed server */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    parley_server_destroy(server); /* unregisters */
    printf("served %" PRIuFAST64 " calls\n", atomic_load(&served));
    return rc == PARLEY_OK ? 0 : 1;
}

/* The answers of one round of calls, per host. */
typedef struct tally {
    char host[MAX_HOSTS][CLUSTER_HOST_MAX + 1];
    unsigned count[MAX_HOSTS];
    int hosts;
    unsigned ok, fail;
    int first_err; /* PARLEY_OK: none */
} tally;

/* tally_host counts one answer from host. */
static void tally_host(tally *t, const char *host)
{
    for (int i = 0; i < t->hosts; i++)
        if (strcmp(t->host[i], host) == 0) {
            t->count[i]++;
            return;
        }
    if (t->hosts == MAX_HOSTS)
        return;
    snprintf(t->host[t->hosts], sizeof t->host[0], "%s", host);
    t->count[t->hosts++] = 1;
}

/* call_round calls CLUSTER_WHERE once through each handle, creating those
 * not made yet, and prints the tally line. */
static void call_round(parley_client **h, int n, const char *name, uint32_t prog)
{
    tally t;
    memset(&t, 0, sizeof t);
    parley_client_opts o = {.timeout_ms = CALL_MS};
    for (int i = 0; i < n; i++) {
        int rc = PARLEY_OK;
        if (!h[i])
            rc = parley_client_create(&h[i], name, prog, CLUSTER_VERS, &o);
        cluster_where w;
        memset(&w, 0, sizeof w);
        if (rc == PARLEY_OK)
            rc = cluster_where_1(h[i], &w);
        if (rc == PARLEY_OK) {
            t.ok++;
            tally_host(&t, w.host);
        } else {
            t.fail++;
            if (t.first_err == PARLEY_OK)
                t.first_err = rc;
        }
        cluster_where_free(&w);
    }
    printf("calls ok=%u fail=%u", t.ok, t.fail);
    for (int i = 0; i < t.hosts; i++)
        printf(" %s=%u", t.host[i], t.count[i]);
    if (t.first_err != PARLEY_OK)
        printf(" error=%s (%s)", parley_errname(t.first_err), parley_strerror(t.first_err));
    printf("\n");
    fflush(stdout);
}

/* call is "cluster_peer call": see the file's comment. */
static int call(const char *name, int n, uint32_t prog)
{
    parley_client *h[MAX_HANDLES] = {NULL};
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, "call") == 0) {
            call_round(h, n, name, prog);
        } else if (strcmp(line, "renew") == 0) {
            for (int i = 0; i < n; i++) {
                parley_client_destroy(h[i]);
                h[i] = NULL;
            }
            printf("renewed\n");
            fflush(stdout);
        } else if (strcmp(line, "quit") == 0) {
            break;
        } else {
            printf("unknown command '%s'\n", line);
            fflush(stdout);
        }
    }
    for (int i = 0; i < n; i++)
        parley_client_destroy(h[i]);
    return 0;
}

/* program reads PROG (decimal or 0x hex), or gives CLUSTER_PROG when it is
 * absent; 0 when it is not a number. */
static uint32_t program(const char *arg)
{
    if (!arg)
        return CLUSTER_PROG;
    char *end;
    unsigned long v = strtoul(arg, &end, 0);
    return *arg && !*end && v <= UINT32_MAX ? (uint32_t)v : 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    uint32_t prog = argc == 5 ? program(argv[4]) : program(NULL);
    if ((argc == 4 || argc == 5) && prog != 0) {
        if (strcmp(argv[1], "serve") == 0)
            return serve(argv[2], argv[3], prog);
        int n = atoi(argv[3]);
        if (strcmp(argv[1], "call") == 0 && n >= 1 && n <= MAX_HANDLES)
            return call(argv[2], n, prog);
    }
    fprintf(stderr, "usage: cluster_peer serve NAME HOST [PROG]\n"
                    "       cluster_peer call NAME HANDLES [PROG] (1 to 64 handles)\n");
    return 2;
}
