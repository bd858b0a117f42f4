/*
 * tests/pkg/echo/client.c: calls the echo service at ADDRESS with TEXT and
 * prints "echo: TEXT (N bytes)".   echo_client ADDRESS TEXT
 */
#include <stdio.h>

#include "echo.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: echo_client ADDRESS TEXT\n");
        return 2;
    }
    parley_client_opts opts = {0};
    opts.timeout_ms = 5000;
    parley_client *c;
    int rc = parley_client_create(&c, argv[1], ECHO_PROG, ECHO_VERS, &opts);
    if (rc != PARLEY_OK) {
        fprintf(stderr, "echo_client: %s: %s\n", argv[1], parley_strerror(rc));
        return 1;
    }
    echo_reply reply = {0};
    rc = echo_1(c, &argv[2], &reply);
    if (rc == PARLEY_OK)
        printf("echo: %s (%u bytes)\n", reply.text, reply.len);
    else
        fprintf(stderr, "echo_client: %s\n", parley_strerror(rc));
    echo_reply_free(&reply);
    parley_client_destroy(c);
    return rc == PARLEY_OK ? 0 : 1;
}
