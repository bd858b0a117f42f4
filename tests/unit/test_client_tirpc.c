/*
 * tests/unit/test_client_tirpc.c: Parley's client against a libtirpc server
 * (svc_run over svctcp_create and svcudp_create on ephemeral ports, in a
 * child process that the test starts and stops): results, the RPC errors
 * as libtirpc words them, AUTH_SYS credentials as libtirpc decodes them, and
 * threads sharing one connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <rpc/rpc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "parley/client.h"

#define PROG 0x20000123u
#define VERS 2u

enum { P_NULL = 0, P_ECHO = 1, P_SYSTEM_ERR = 2, P_UID = 3 };

static pid_t child;
static unsigned tcp_port, udp_port;

/* no_result encodes a void result; xdr_void's prototype takes no
 * arguments, which xdrproc_t cannot be cast from cleanly. */
static bool_t no_result(XDR *x, ...)
{
    (void)x;
    return TRUE;
}

static void dispatch(struct svc_req *rq, SVCXPRT *xprt)
{
    u_int v = 0;
    switch (rq->rq_proc) {
    case P_NULL:
        svc_sendreply(xprt, no_result, NULL);
        break;
    case P_ECHO:
        if (!svc_getargs(xprt, (xdrproc_t)xdr_u_int, (char *)&v)) {
            svcerr_decode(xprt);
            break;
        }
        svc_sendreply(xprt, (xdrproc_t)xdr_u_int, (char *)&v);
        break;
    case P_SYSTEM_ERR:
        svcerr_systemerr(xprt);
        break;
    case P_UID:
        if (rq->rq_cred.oa_flavor == AUTH_SYS)
            v = ((struct authunix_parms *)rq->rq_clntcred)->aup_uid;
        svc_sendreply(xprt, (xdrproc_t)xdr_u_int, (char *)&v);
        break;
    default:
        svcerr_noproc(xprt);
        break;
    }
}

/* serve runs in the child: both transports registered without rpcbind
 * (protocol 0), their ports written to fd, then svc_run until killed. */
static void serve(int fd)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    SVCXPRT *t = svctcp_create(RPC_ANYSOCK, 0, 0);
    SVCXPRT *u = svcudp_create(RPC_ANYSOCK);
    if (t == NULL || u == NULL || !svc_register(t, PROG, VERS, dispatch, 0) ||
        !svc_register(u, PROG, VERS, dispatch, 0))
        _exit(1);
    unsigned ports[2] = {t->xp_port, u->xp_port};
    if (write(fd, ports, sizeof ports) != (ssize_t)sizeof ports)
        _exit(1);
    close(fd);
    svc_run();
    _exit(0);
}

static int start_server(void **state)
{
    (void)state;
    int p[2];
    if (pipe(p) != 0)
        return -1;
    child = fork();
    if (child < 0)
        return -1;
    if (child == 0) {
        close(p[0]);
        serve(p[1]);
    }
    close(p[1]);
    unsigned ports[2];
    ssize_t n = read(p[0], ports, sizeof ports);
    close(p[0]);
    if (n != (ssize_t)sizeof ports)
        return -1;
    tcp_port = ports[0];
    udp_port = ports[1];
    return 0;
}

static int stop_server(void **state)
{
    (void)state;
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 0;
}

static void enc_u32(parley_enc *e, const void *v)
{
    parley_put_u32(e, *(const uint32_t *)v);
}

static void dec_u32(parley_dec *d, void *v)
{
    *(uint32_t *)v = parley_get_u32(d);
}

static parley_client *client(const char *scheme, uint32_t prog, uint32_t vers,
                             const parley_client_opts *o)
{
    char addr[64];
    snprintf(addr, sizeof addr, "%s://127.0.0.1:%u", scheme,
             strcmp(scheme, "tcp") == 0 ? tcp_port : udp_port);
    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, addr, prog, vers, o), PARLEY_OK);
    return c;
}

static void check_calls(const char *scheme)
{
    parley_client *c = client(scheme, PROG, VERS, NULL);
    assert_int_equal(parley_client_call(c, P_NULL, NULL, NULL, 0, NULL, NULL, 0), PARLEY_OK);
    for (uint32_t i = 0; i < 100; i++) {
        uint32_t arg = i * 2654435761u, res = 0;
        assert_int_equal(parley_client_call(c, P_ECHO, enc_u32, &arg, 4, dec_u32, &res, 0),
                         PARLEY_OK);
        assert_int_equal(res, arg);
    }
    uint32_t res = 0;
    /* no argument where libtirpc wants one; its UDP transport decodes the
     * arguments from its whole receive buffer, not the datagram's length,
     * and so reads what the buffer holds past it instead of failing */
    if (strcmp(scheme, "tcp") == 0)
        assert_int_equal(parley_client_call(c, P_ECHO, NULL, NULL, 0, dec_u32, &res, 0),
                         PARLEY_ERR_GARBAGE_ARGS);
    assert_int_equal(parley_client_call(c, P_SYSTEM_ERR, NULL, NULL, 0, NULL, NULL, 0),
                     PARLEY_ERR_SYSTEM_ERR);
    assert_int_equal(parley_client_call(c, 99, NULL, NULL, 0, NULL, NULL, 0),
                     PARLEY_ERR_PROC_UNAVAIL);
    parley_client_destroy(c);

    c = client(scheme, PROG, VERS + 7, NULL);
    assert_int_equal(parley_client_call(c, P_NULL, NULL, NULL, 0, NULL, NULL, 0),
                     PARLEY_ERR_PROG_MISMATCH);
    parley_client_destroy(c);
    c = client(scheme, PROG + 1, VERS, NULL);
    assert_int_equal(parley_client_call(c, P_NULL, NULL, NULL, 0, NULL, NULL, 0),
                     PARLEY_ERR_PROG_UNAVAIL);
    parley_client_destroy(c);

    parley_cred cred;
    memset(&cred, 0, sizeof cred);
    strcpy(cred.machine, "parley-test");
    cred.uid = 4321;
    cred.gid = 12;
    cred.ngids = 1;
    cred.gids[0] = 12;
    parley_client_opts o = {.cred = &cred};
    c = client(scheme, PROG, VERS, &o);
    assert_int_equal(parley_client_call(c, P_UID, NULL, NULL, 0, dec_u32, &res, 0), PARLEY_OK);
    assert_int_equal(res, 4321);
    parley_client_destroy(c);
}

/* check_guarantees: a libtirpc server refuses Parley's credential, so the
 * client learns it is a plain server: an at-most-once call is made plainly
 * (sent once), an exactly-once one is refused before anything is sent. */
static void check_guarantees(const char *scheme)
{
    parley_client *c = client(scheme, PROG, VERS, NULL);
    uint32_t arg = 77, res = 0;
    parley_call_opts amo = {0, PARLEY_AT_MOST_ONCE, NULL};
    for (int i = 0; i < 3; i++) {
        res = 0;
        assert_int_equal(parley_client_call_opts(c, P_ECHO, enc_u32, &arg, 4, dec_u32, &res, &amo),
                         PARLEY_OK);
        assert_int_equal(res, 77);
    }
    parley_call_opts eo = {0, PARLEY_EXACTLY_ONCE, NULL};
    assert_int_equal(parley_client_call_opts(c, P_ECHO, enc_u32, &arg, 4, dec_u32, &res, &eo),
                     PARLEY_ERR_NOT_GUARANTEED);
    /* and a version it does not serve is said so at the HELLO */
    parley_client_destroy(c);
    c = client(scheme, PROG, VERS + 7, NULL);
    assert_int_equal(parley_client_call_opts(c, P_ECHO, enc_u32, &arg, 4, dec_u32, &res, &amo),
                     PARLEY_ERR_PROG_MISMATCH);
    parley_client_destroy(c);
}

static void test_guaranteed_calls_to_libtirpc_are_made_plainly_or_refused(void **state)
{
    (void)state;
    check_guarantees("tcp");
    check_guarantees("udp");
}

static void test_calls_over_tcp_match_libtirpc(void **state)
{
    (void)state;
    check_calls("tcp");
}

static void test_calls_over_udp_match_libtirpc(void **state)
{
    (void)state;
    check_calls("udp");
}

#define THREADS 8
#define CALLS   500

static void *work(void *arg)
{
    parley_client *c = arg;
    intptr_t failures = 0;
    for (uint32_t i = 0; i < CALLS; i++) {
        uint32_t v = (uint32_t)(uintptr_t)&v ^ i, res = 0;
        if (parley_client_call(c, P_ECHO, enc_u32, &v, 4, dec_u32, &res, 10000) != PARLEY_OK ||
            res != v)
            failures++;
    }
    return (void *)failures;
}

static void test_threads_share_one_connection_to_libtirpc(void **state)
{
    (void)state;
    parley_client *c = client("tcp", PROG, VERS, NULL);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, work, c), 0);
    intptr_t failures = 0;
    for (int i = 0; i < THREADS; i++) {
        void *f;
        pthread_join(t[i], &f);
        failures += (intptr_t)f;
    }
    assert_int_equal(failures, 0);
    parley_client_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calls_over_tcp_match_libtirpc),
        cmocka_unit_test(test_calls_over_udp_match_libtirpc),
        cmocka_unit_test(test_threads_share_one_connection_to_libtirpc),
        cmocka_unit_test(test_guaranteed_calls_to_libtirpc_are_made_plainly_or_refused),
    };
    return cmocka_run_group_tests(tests, start_server, stop_server);
}
