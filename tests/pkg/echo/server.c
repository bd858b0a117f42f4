/*
 * tests/pkg/echo/server.c: the echo service, built out of the tree against
 * the installed Parley. It listens on a loopback port the system chooses,
 * prints "echo_server: listening on ADDRESS", and serves until SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "echo.h"

/* echo_1_svc answers ECHO: the text (the argument's, which lives until the
 * reply is sent) and its length. */
int echo_1_svc(const echo_text *text, echo_reply *result, parley_call *call)
{
    (void)call;
    result->text = *text;
    result->len = (unsigned)strlen(*text);
    return PARLEY_OK;
}

static parley_server *server;

static void on_signal(int sig)
{
    (void)sig;
    parley_server_stop(server);
}

int main(void)
{
    parley_server_opts opts = {0};
    opts.threads = 1;
    char bound[128];
    int rc = parley_server_create(&server, &opts);
    if (rc == PARLEY_OK)
        rc = parley_server_add_program(server, &echo_prog_1);
    if (rc == PARLEY_OK)
        rc = parley_server_listen(server, "tcp://127.0.0.1:0", bound, sizeof bound);
    if (rc != PARLEY_OK) {
        fprintf(stderr, "echo_server: %s\n", parley_strerror(rc));
        parley_server_destroy(server);
        return 1;
    }
    printf("echo_server: listening on %s\n", bound);
    fflush(stdout);
    signal(SIGTERM, on_signal);
    rc = parley_server_run(server);
    parley_server_destroy(server);
    return rc == PARLEY_OK ? 0 : 1;
}
