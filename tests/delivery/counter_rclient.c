/*
 * tests/delivery/counter_rclient.c: counter_rclient, an rpcgen-generated
 * client linked with libtirpc that calls counter_server, for the delivery
 * test's look at the server's duplicate request cache: a plain ONC RPC
 * client carries no identity, so only that best-effort cache stands
 * between a duplicated datagram and a second run. A program of its own
 * because rpcgen's stubs and parleygen's define the same names.
 *
 *   counter_rclient udp://127.0.0.1:PORT|tcp://127.0.0.1:PORT PROC N FIRST_ID
 *
 * It makes N calls of procedure PROC (1, 2 or 3: the ADDs) with ids
 * FIRST_ID, FIRST_ID + 1, ... and amount 1, one after the other, and prints
 * a line per call ("ok ID COUNT" or "err ID reason") and a last one,
 * "calls N ok K err E". Exit 0 when it could make the calls at all.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter.h"

static int usage(void)
{
    fprintf(stderr, "usage: counter_rclient udp://127.0.0.1:PORT|tcp://127.0.0.1:PORT "
                    "PROC N FIRST_ID\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc != 5)
        return usage();
    int udp = !strncmp(argv[1], "udp://127.0.0.1:", 16);
    if (!udp && strncmp(argv[1], "tcp://127.0.0.1:", 16))
        return usage();
    long port = strtol(argv[1] + 16, NULL, 10);
    long proc = strtol(argv[2], NULL, 10);
    long n = strtol(argv[3], NULL, 10);
    unsigned long long first = strtoull(argv[4], NULL, 10);
    if (port <= 0 || port > 65535 || proc < 1 || proc > 3 || n < 0 || n > 100000)
        return usage();

    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int sock = RPC_ANYSOCK;
    struct timeval retry = {0, 100000}; /* libtirpc resends every 100 ms, same xid */
    CLIENT *clnt = udp ? clntudp_create(&sin, COUNTER_PROG, COUNTER_VERS, retry, &sock)
                       : clnttcp_create(&sin, COUNTER_PROG, COUNTER_VERS, &sock, 0, 0);
    if (!clnt) {
        clnt_pcreateerror("counter_rclient");
        return 1;
    }
    struct timeval total = {10, 0};
    clnt_control(clnt, CLSET_TIMEOUT, (char *)&total);

    long ok = 0, err = 0;
    for (long i = 0; i < n; i++) {
        add_args a = {(u_quad_t)(first + (unsigned long long)i), 1};
        u_quad_t *r = proc == 1   ? add_exactly_once_1(&a, clnt)
                      : proc == 2 ? add_at_most_once_1(&a, clnt)
                                  : add_idempotent_1(&a, clnt);
        if (r) {
            ok++;
            printf("ok %llu %llu\n", (unsigned long long)a.id, (unsigned long long)*r);
        } else {
            err++;
            char why[256];
            snprintf(why, sizeof why, "%s", clnt_sperror(clnt, "rpc"));
            why[strcspn(why, "\n")] = '\0';
            printf("err %llu %s\n", (unsigned long long)a.id, why);
        }
    }
    printf("calls %ld ok %ld err %ld\n", n, ok, err);
    clnt_destroy(clnt);
    return fflush(stdout) == 0 ? 0 : 1;
}
