/*
 * tests/matchmaker/mm_reg_peer.c: a Parley server as a process of its own,
 * for the matchmaker's tests of two servers registering one name
 * (test_mm_daemon.c). It serves a program with the NULL procedure alone
 * (0x20000400, version 1) on the addresses given, registers it with the
 * matchmaker PARLEY_MATCHMAKER names under NAME, prints each address bound,
 * then "ready", and serves until SIGTERM, when it unregisters and exits 0.
 * A refused registration prints "refused: " and the error's text, then
 * " (held by ADDRESS)" when the runtime names the holder, and exits 3.
 *   mm_reg_peer NAME ADDRESS...
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "parley/server.h"

static parley_server *server;

static void on_term(int sig)
{
    (void)sig;
    parley_server_stop(server);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mm_reg_peer NAME ADDRESS...\n");
        return 2;
    }
    static const parley_program_def prog = {0x20000400u, 1, NULL, 0};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    int rc = parley_server_create(&server, NULL);
    if (rc == PARLEY_OK)
        rc = parley_server_add_program(server, &prog);
    for (int i = 2; rc == PARLEY_OK && i < argc; i++) {
        char bound[160];
        rc = parley_server_listen(server, argv[i], bound, sizeof bound);
        if (rc == PARLEY_OK)
            printf("%s\n", bound);
    }
    if (rc != PARLEY_OK) {
        fprintf(stderr, "mm_reg_peer: %s\n", parley_strerror(rc));
        parley_server_destroy(server);
        return 1;
    }
    rc = parley_server_register(server, argv[1]);
    if (rc != PARLEY_OK) {
        char holder[320];
        if (parley_server_register_holder(server, holder, sizeof holder) == PARLEY_OK)
            printf("refused: %s (held by %s)\n", parley_strerror(rc), holder);
        else
            printf("refused: %s\n", parley_strerror(rc));
        fflush(stdout);
        parley_server_destroy(server);
        return 3;
    }
    printf("ready\n");
    fflush(stdout);
    rc = parley_server_run(server);
    parley_server_destroy(server);
    return rc == PARLEY_OK ? 0 : 1;
}
