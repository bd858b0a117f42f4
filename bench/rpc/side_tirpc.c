/*
 * side_tirpc.c: the libtirpc side of the RPC benchmark, over the code
 * rpcgen generates from rpcbench.x: its server dispatch routine
 * (rpcbench_svc.c, made with -m) registered on a transport of libtirpc, and
 * clients made with libtirpc's clnttcp_create, clntudp_create and
 * clntunix_create, called the way rpcgen's client stubs call.
 *
 * The server is registered with protocol 0, so that it never contacts
 * rpcbind, and its transports are made with svc_vc_create and
 * svc_dg_create on the socket the parent bound: svctcp_create,
 * svcudp_create and svcunix_create end in these same two after binding a
 * socket of their own (svcunix_create cannot take one already bound).
 */
#include "rpcbench.h"
#include "bench_rpc.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

/* The timeout rpcgen's client stubs use. */
static struct timeval call_timeout = {25, 0};

/* rpcgen's routines as xdrproc_t; the cast goes through void (*)(void), the
 * type that converts to and from any function pointer without a warning. */
#define XDRPROC(f) ((xdrproc_t)(void (*)(void))(f))

/* ---- server ------------------------------------------------------------- */

/* The reply of the USERS procedure, built once in the server child: the
 * classic (not -M) dispatch routine sends what the procedure returns and
 * frees nothing, as rpcgen's servers do with a static result. */
static users users_reply;
static user users_val[RB_NUSERS];

void *rpcbench_null_1_svc(void *argp, struct svc_req *rqstp);
users *rpcbench_users_1_svc(void *argp, struct svc_req *rqstp);
void rpcbench_prog_1(struct svc_req *rqstp, SVCXPRT *transp);

void *rpcbench_null_1_svc(void *argp, struct svc_req *rqstp)
{
    static char result;
    return &result;
}

users *rpcbench_users_1_svc(void *argp, struct svc_req *rqstp)
{
    return &users_reply;
}

static int tirpc_serve(int transport, int fd, char *err, size_t errlen)
{
    SVCXPRT *xprt;

    for (size_t i = 0; i < rb_input.n; i++) {
        users_val[i].name = rb_input.names[i];
        users_val[i].uid = rb_input.uids[i];
        users_val[i].login_time = rb_input.times[i];
    }
    users_reply.users_len = (u_int)rb_input.n;
    users_reply.users_val = users_val;

    if (transport == RB_UDP)
        xprt = svc_dg_create(fd, 0, 0);
    else
        xprt = svc_vc_create(fd, 0, 0);
    if (xprt == NULL) {
        rb_set_err(err, errlen, "creating the transport failed");
        return -1;
    }
    if (!svc_register(xprt, RPCBENCH_PROG, RPCBENCH_VERS, rpcbench_prog_1, 0)) {
        rb_set_err(err, errlen, "svc_register failed");
        return -1;
    }
    svc_run();
    rb_set_err(err, errlen, "svc_run returned");
    return -1;
}

/* ---- client ------------------------------------------------------------- */

typedef struct tirpc_client {
    CLIENT *clnt;
    int checked; /* the first USERS reply is compared with rb_input in full */
} tirpc_client;

static void tirpc_disconnect(void *p)
{
    tirpc_client *c = p;

    if (c != NULL) {
        /* the handles made on RPC_ANYSOCK close their socket */
        clnt_destroy(c->clnt);
        free(c);
    }
}

static void *tirpc_connect(const rb_server *srv, char *err, size_t errlen)
{
    tirpc_client *c = calloc(1, sizeof *c);
    int sock = RPC_ANYSOCK;

    if (c == NULL) {
        rb_set_err(err, errlen, "out of memory");
        return NULL;
    }
    if (srv->transport == RB_TCP) {
        struct sockaddr_in sin;
        memcpy(&sin, &srv->addr, sizeof sin);
        c->clnt = clnttcp_create(&sin, RPCBENCH_PROG, RPCBENCH_VERS, &sock, 0, 0);
    } else if (srv->transport == RB_UDP) {
        struct sockaddr_in sin;
        struct timeval retry = {1, 0};
        memcpy(&sin, &srv->addr, sizeof sin);
        c->clnt = clntudp_create(&sin, RPCBENCH_PROG, RPCBENCH_VERS, retry, &sock);
    } else {
        struct sockaddr_un sun;
        memcpy(&sun, &srv->addr, sizeof sun);
        c->clnt = clntunix_create(&sun, RPCBENCH_PROG, RPCBENCH_VERS, &sock, 0, 0);
    }
    if (c->clnt == NULL) {
        rb_set_err(err, errlen, "%s", clnt_spcreateerror("client"));
        free(c);
        return NULL;
    }
    return c;
}

/* same_as_input compares decoded users with rb_input. */
static int same_as_input(const users *u)
{
    if (u->users_len != rb_input.n)
        return 0;
    for (size_t i = 0; i < rb_input.n; i++) {
        const user *x = &u->users_val[i];
        if (x->name == NULL || strcmp(x->name, rb_input.names[i]) != 0 ||
            x->uid != rb_input.uids[i] || x->login_time != rb_input.times[i])
            return 0;
    }
    return 1;
}

/* tirpc_call makes one call as rpcgen's client stub does (clnt_call with
 * the stub's timeout), but with the result on the stack rather than in the
 * stub's static variable, so that threads may call at once. A USERS reply
 * is released with clnt_freeres; the first on each client is compared with
 * the input in full, later ones by count. */
static int tirpc_call(void *p, int w, char *err, size_t errlen)
{
    tirpc_client *c = p;
    enum clnt_stat st;

    if (w == RB_NULL) {
        st = clnt_call(c->clnt, RPCBENCH_NULL, XDRPROC(xdr_void), NULL, XDRPROC(xdr_void), NULL,
                       call_timeout);
    } else {
        users res;
        int ok;

        memset(&res, 0, sizeof res);
        st = clnt_call(c->clnt, RPCBENCH_USERS, XDRPROC(xdr_void), NULL, XDRPROC(xdr_users),
                       (caddr_t)&res, call_timeout);
        if (st != RPC_SUCCESS)
            goto fail;
        ok = c->checked ? res.users_len == rb_input.n : same_as_input(&res);
        clnt_freeres(c->clnt, XDRPROC(xdr_users), (caddr_t)&res);
        if (!ok) {
            rb_set_err(err, errlen, "the users in the reply differ from the input");
            return -1;
        }
        c->checked = 1;
    }
    if (st == RPC_SUCCESS)
        return 0;
fail:
    rb_set_err(err, errlen, "%s", clnt_sperrno(st));
    return -1;
}

int rb_tirpc_check_users(const uint8_t *buf, size_t len)
{
    XDR x;
    users u;
    int ok;

    memset(&u, 0, sizeof u);
    xdrmem_create(&x, (char *)(uintptr_t)buf, (u_int)len, XDR_DECODE);
    ok = xdr_users(&x, &u) && xdr_getpos(&x) == len && same_as_input(&u);
    xdr_destroy(&x);
    xdr_free(XDRPROC(xdr_users), (char *)&u);
    return ok ? 0 : -1;
}

const rb_side rb_side_tirpc = {
    .name = "libtirpc",
    .transports = 1u << RB_TCP | 1u << RB_UDP | 1u << RB_UNIX,
    .shared = 1,
    .serve = tirpc_serve,
    .connect = tirpc_connect,
    .call = tirpc_call,
    .disconnect = tirpc_disconnect,
};
