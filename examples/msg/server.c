/*
 * examples/msg/server.c: the msg server of the rpcgen programming guide,
 * ported to Parley (docs/migrating-from-rpcgen.md quotes this file whole).
 * It listens on the addresses given (default: every interface, a port the
 * system chooses, over TCP and UDP), registers with the matchmaker as
 * "msg", and prints each message it is sent.
 */
#include <stdio.h>

#include "msg.h"

/* printmessage_1_svc prints the message; the result is 1 when it was. */
int printmessage_1_svc(char *const *msg, int *result, parley_call *call)
{
    (void)call;
    *result = printf("%s\n", *msg) >= 0 && fflush(stdout) == 0;
    return PARLEY_OK;
}

int main(int argc, char **argv)
{
    const char *fallback[] = {"tcp://0.0.0.0:0", "udp://0.0.0.0:0"};
    const char *const *addrs = argc > 1 ? (const char *const *)argv + 1 : fallback;
    int naddrs = argc > 1 ? argc - 1 : 2;
    parley_server *s;
    int rc = parley_server_create(&s, NULL);
    if (rc == PARLEY_OK)
        rc = parley_server_add_program(s, &messageprog_1);
    for (int i = 0; rc == PARLEY_OK && i < naddrs; i++)
        rc = parley_server_listen(s, addrs[i], NULL, 0);
    if (rc == PARLEY_OK)
        rc = parley_server_register(s, "msg"); /* and by number, for clnt_create */
    if (rc == PARLEY_OK)
        rc = parley_server_run(s);
    if (rc != PARLEY_OK)
        fprintf(stderr, "msg_server: %s\n", parley_strerror(rc));
    parley_server_destroy(s);
    return rc == PARLEY_OK ? 0 : 1;
}
