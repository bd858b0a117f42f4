/*
 * examples/msg/client.c: rprintmsg, the msg client of the rpcgen
 * programming guide, ported to Parley (docs/migrating-from-rpcgen.md
 * quotes this file whole). It finds MESSAGEPROG on the host through the
 * host's portmapper, as clnt_create does, and sends it one message.
 *
 *   msg_client HOST MESSAGE [tcp|udp]
 */
#include <stdio.h>

#include "msg.h"

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: %s host message [tcp|udp]\n", argv[0]);
        return 1;
    }
    const char *server = argv[1];
    char *message = argv[2];
    const char *nettype = argc > 3 ? argv[3] : "tcp";
    parley_client *clnt;
    int rc = parley_client_create_host(&clnt, server, MESSAGEPROG, PRINTMESSAGEVERS, nettype, NULL);
    if (rc != PARLEY_OK) {
        fprintf(stderr, "%s: %s\n", server, parley_strerror(rc));
        return 1;
    }
    int result;
    rc = printmessage_1(clnt, &message, &result);
    parley_client_destroy(clnt);
    if (rc != PARLEY_OK) {
        fprintf(stderr, "%s: %s\n", server, parley_strerror(rc));
        return 1;
    }
    if (result == 0) {
        fprintf(stderr, "%s: could not print your message\n", argv[0]);
        return 1;
    }
    printf("Message delivered to %s\n", server);
    return 0;
}
