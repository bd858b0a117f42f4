/*
 * tests/unit/server_only.c: a program that serves and registers by name but
 * never calls: linked against libparley, it must not contain the client
 * (the names layer beneath the server reaches the matchmaker without it).
 * Built by the test "a_server_only_program_links_no_client", which only
 * reads its symbols; run, it registers nothing unless given a name.
 */
#include <stdio.h>

#include "parley/server.h"

int main(int argc, char **argv)
{
    parley_server *s = NULL;
    int rc = parley_server_create(&s, NULL);
    if (rc == PARLEY_OK)
        rc = parley_server_listen(s, "tcp://127.0.0.1:0", NULL, 0);
    if (rc == PARLEY_OK && argc > 1)
        rc = parley_server_register(s, argv[1]);
    parley_server_destroy(s);
    if (rc != PARLEY_OK)
        fprintf(stderr, "server_only: %s\n", parley_strerror(rc));
    return rc == PARLEY_OK ? 0 : 1;
}
