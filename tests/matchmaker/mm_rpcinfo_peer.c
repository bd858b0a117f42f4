/*
 * tests/matchmaker/mm_rpcinfo_peer.c: the Parley server of the rpcbind
 * compatibility test (test_mm_rpcinfo.c). It serves integ.x (versions 1
 * and 3) on TCP and UDP at the wildcard address, on ports the system
 * chooses, registers with the matchmaker under the name given, prints the
 * addresses it listens on and then "ready", and serves until SIGTERM, when
 * it unregisters and exits 0. A program of its own because integ.x's
 * generated names and libtirpc's cannot share the test's file.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "integ.h"
#include "parley/server.h"

static parley_server *server;

static void on_term(int sig)
{
    (void)sig;
    parley_server_stop(server);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mm_rpcinfo_peer NAME\n");
        return 2;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    int rc = parley_server_create(&server, NULL);
    if (rc == PARLEY_OK)
        rc = parley_server_add_program(server, &integ_prog_1);
    if (rc == PARLEY_OK)
        rc = parley_server_add_program(server, &integ_prog_3);
    static const char *const addrs[] = {"tcp://0.0.0.0:0", "udp://0.0.0.0:0"};
    for (size_t i = 0; rc == PARLEY_OK && i < 2; i++) {
        char bound[160];
        rc = parley_server_listen(server, addrs[i], bound, sizeof bound);
        if (rc == PARLEY_OK)
            printf("%s\n", bound);
    }
    if (rc == PARLEY_OK)
        rc = parley_server_register(server, argv[1]);
    if (rc != PARLEY_OK) {
        fprintf(stderr, "mm_rpcinfo_peer: %s\n", parley_strerror(rc));
        parley_server_destroy(server);
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    rc = parley_server_run(server);
    parley_server_destroy(server);
    return rc == PARLEY_OK ? 0 : 1;
}
