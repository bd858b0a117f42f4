/*
 * tests/integ/integ_server_main.c: integ_server, the integ.x service as a
 * program of its own, for the interoperability test (whose rpcgen-generated
 * client cannot share an executable with parleygen's stubs: they define
 * the same names). It listens on the addresses given, prints those it got
 * on stdout, closes it, and serves until SIGTERM.
 *   integ_server ADDRESS...
 */
#include <stdio.h>

#include "integ_svc.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: integ_server ADDRESS...\n");
        return 2;
    }
    integ_serve_args a = {(const char *const *)(argv + 1), (size_t)(argc - 1), 0, 0};
    fflush(stdout);
    return integ_serve(1, &a);
}
