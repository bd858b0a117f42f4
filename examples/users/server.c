/*
 * examples/users/server.c: the user-list service: who is logged in,
 * and a look-up by uid. Run it with one or more addresses (default
 * tcp://127.0.0.1:0): it prints where it listens, and registers with the
 * matchmaker (PARLEY_MATCHMAKER, default localhost:111) as "users".
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "users.h"

static parley_server *server;

static void on_signal(int sig)
{
    (void)sig;
    parley_server_stop(server);
}

static char names[][USERS_MAX_NAME + 1] = {"ada", "grace", "ken", "dennis", "barbara"};
enum { NUSERS = sizeof names / sizeof names[0] };
static user people[NUSERS];

/* users_list_1_svc answers USERS_LIST. The list is the server's own,
 * which outlives the call: nothing to release. */
int users_list_1_svc(user_list *result, parley_call *call)
{
    (void)call;
    result->user_list_len = NUSERS;
    result->user_list_val = people;
    return PARLEY_OK;
}

/* users_lookup_1_svc answers USERS_LOOKUP for one uid. */
int users_lookup_1_svc(const u_int *uid, lookup_result *result, parley_call *call)
{
    (void)call;
    result->found = FALSE;
    for (unsigned i = 0; i < NUSERS; i++) {
        if (people[i].uid == *uid) {
            result->found = TRUE;
            result->lookup_result_u.who = people[i];
        }
    }
    return PARLEY_OK;
}

int main(int argc, char **argv)
{
    for (unsigned i = 0; i < NUSERS; i++) {
        people[i].name = names[i];
        people[i].uid = 1000 + i;
        people[i].login_time = 1700000000 + 3600 * (quad_t)i;
    }
    const char *fallback[] = {"tcp://127.0.0.1:0"};
    const char *const *addrs = argc > 1 ? (const char *const *)argv + 1 : fallback;
    int naddrs = argc > 1 ? argc - 1 : 1;
    char bound[128];
    int rc = parley_server_create(&server, NULL);
    if (rc == PARLEY_OK)
        rc = parley_server_add_program(server, &users_prog_1);
    for (int i = 0; rc == PARLEY_OK && i < naddrs; i++) {
        rc = parley_server_listen(server, addrs[i], bound, sizeof bound);
        if (rc == PARLEY_OK)
            printf("users_server: listening on %s\n", bound);
        else
            fprintf(stderr, "users_server: %s: %s\n", addrs[i], parley_strerror(rc));
    }
    if (rc != PARLEY_OK) {
        parley_server_destroy(server);
        return 1;
    }
    /* clients can then call it by name; without a matchmaker it serves
     * those who know an address */
    rc = parley_server_register(server, USERS_PROG_SERVICE);
    if (rc == PARLEY_OK)
        printf("users_server: registered as '%s'\n", USERS_PROG_SERVICE);
    else
        printf("users_server: not registered with the matchmaker (%s); clients need an address\n",
               parley_strerror(rc));
    fflush(stdout);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    rc = parley_server_run(server);
    /* the handler must not reach the server once it is freed */
    sa.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    parley_server_destroy(server);
    return rc == PARLEY_OK ? 0 : 1;
}
