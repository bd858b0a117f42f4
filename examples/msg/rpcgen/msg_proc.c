/*
 * examples/msg/rpcgen/msg_proc.c: the msg server's procedure as written
 * for rpcgen and libtirpc, the "before" of docs/migrating-from-rpcgen.md.
 * rpcgen's msg_svc.c holds main(), which registers the program with the
 * portmapper and serves. Built (not run) by tests/migrate, so the guide's
 * rpcgen side compiles too.
 */
#include <stdio.h>

#include "msg.h"

/* printmessage_1_svc prints the message; the result is 1 when it was. */
int *printmessage_1_svc(char **msg, struct svc_req *req)
{
    static int result; /* rpcgen's server sends what this points to */
    (void)req;
    result = printf("%s\n", *msg) >= 0 && fflush(stdout) == 0;
    return &result;
}
