/*
 * examples/users/server.c: the user-list service: who is logged in,
 * and a look-up by uid. Run it with an address (default tcp://127.0.0.1:0)
 * and it prints the address it listens on.
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
    const char *addr = argc > 1 ? argv[1] : "tcp://127.0.0.1:0";
    char bound[128];
    int rc = parley_server_create(&server, NULL);
    if (rc == PARLEY_OK)
        rc = parley_server_add_program(server, &users_prog_1);
    if (rc == PARLEY_OK)
        rc = parley_server_listen(server, addr, bound, sizeof bound);
    if (rc != PARLEY_OK) {
        fprintf(stderr, "users_server: %s: %s\n", addr, parley_strerror(rc));
        parley_server_destroy(server);
        return 1;
    }
    printf("users_server: listening on %s\n", bound);
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
