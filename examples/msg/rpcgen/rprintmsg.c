/*
 * examples/msg/rpcgen/rprintmsg.c: the msg client as written for rpcgen
 * and libtirpc, the "before" of docs/migrating-from-rpcgen.md. Built (not
 * run) by tests/migrate.
 *
 *   rprintmsg HOST MESSAGE [tcp|udp]
 */
#include <stdio.h>

#include "msg.h"

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s host message [tcp|udp]\n", argv[0]);
        return 1;
    }
    char *server = argv[1];
    char *message = argv[2];
    const char *nettype = argc > 3 ? argv[3] : "tcp";
    CLIENT *clnt = clnt_create(server, MESSAGEPROG, PRINTMESSAGEVERS, nettype);
    if (clnt == NULL) {
        clnt_pcreateerror(server);
        return 1;
    }
    int *result = printmessage_1(&message, clnt);
    if (result == NULL) {
        clnt_perror(clnt, server);
        clnt_destroy(clnt);
        return 1;
    }
    clnt_destroy(clnt);
    if (*result == 0) {
        fprintf(stderr, "%s: could not print your message\n", argv[0]);
        return 1;
    }
    printf("Message delivered to %s\n", server);
    return 0;
}
