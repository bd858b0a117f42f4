/*
 * tests/integ/test_server_interop.c: an rpcgen-generated client linked
 * with libtirpc calls a Parley server (integ_server, in a child process)
 * over TCP and UDP, straight to its ports (no portmapper), and must get
 * exactly what Parley's own client (integ_pclient, run against the same
 * server) gets: every procedure of cases.c, printed in the same words.
 *   test_server_interop INTEG_SERVER INTEG_PCLIENT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cases.h"
#include "proc.h"
#include "side_rpcgen.h"

static const char *server_path, *pclient_path;
static integ_proc srv;

static int exec_server(int wfd, void *ctx)
{
    (void)ctx;
    if (dup2(wfd, 1) < 0)
        return 127;
    close(wfd);
    execl(server_path, server_path, "tcp://127.0.0.1:0", "udp://127.0.0.1:0", (char *)NULL);
    return 127;
}

static int group_setup(void **state)
{
    (void)state;
    return integ_proc_start(&srv, exec_server, NULL) == 0 && srv.naddrs == 2 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    integ_proc_kill(&srv); /* only when a test failed before the last one */
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* run_pclient runs integ_pclient ADDRESS and returns its output (malloc'd),
 * or NULL when it fails or takes over 20 s. */
static char *run_pclient(const char *addr)
{
    int fds[2];
    if (pipe(fds) != 0)
        return NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return NULL;
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(pclient_path, pclient_path, addr, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap);
    long long deadline = now_ms() + 20000;
    int ok = out != NULL;
    while (ok) {
        long long left = deadline - now_ms();
        struct pollfd pf = {fds[0], POLLIN, 0};
        if (left <= 0 || poll(&pf, 1, (int)left) <= 0 || n == cap - 1) {
            ok = 0;
            break;
        }
        ssize_t k = read(fds[0], out + n, cap - 1 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            ok = k == 0;
            break;
        }
        n += (size_t)k;
    }
    close(fds[0]);
    if (!ok)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        free(out);
        return NULL;
    }
    out[n] = '\0';
    return out;
}

/* compare: the rpcgen client's output over clnt against integ_pclient's. */
static void compare(CLIENT *clnt, const char *addr)
{
    assert_non_null(clnt);
    gid_t gids[CASES_NGIDS];
    for (unsigned i = 0; i < CASES_NGIDS; i++)
        gids[i] = cases_gids[i];
    char machine[] = CASES_MACHINE;
    side h = {clnt, authunix_create(machine, CASES_UID, CASES_GID, CASES_NGIDS, gids)};
    assert_non_null(h.sys);
    char *mine = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mine, &len);
    assert_non_null(f);
    integ_cases(&h, f);
    fclose(f);
    auth_destroy(h.sys);
    clnt_destroy(clnt);
    char *theirs = run_pclient(addr);
    print_message("%s: %zu bytes of results\n", addr, len);
    int same = theirs && !strcmp(mine, theirs);
    if (!same)
        print_message("rpcgen and libtirpc:\n%s\nParley:\n%s\n", mine, theirs ? theirs : "(none)");
    int failed = strstr(mine, "failed") != NULL;
    int named = strstr(mine, "echo_record: name=olleh big=5000000000") != NULL;
    free(mine);
    free(theirs);
    assert_true(same);
    assert_false(failed);
    assert_true(named);
}

static struct sockaddr_in loopback(const char *addr)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)integ_port(addr));
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sin;
}

static void test_an_rpcgen_client_over_tcp_gets_what_parley_gets(void **state)
{
    (void)state;
    struct sockaddr_in sin = loopback(srv.addrs[0]);
    int sock = RPC_ANYSOCK;
    compare(clnttcp_create(&sin, INTEG_PROG, INTEG_VERS, &sock, 0, 0), srv.addrs[0]);
}

static void test_an_rpcgen_client_over_udp_gets_what_parley_gets(void **state)
{
    (void)state;
    struct sockaddr_in sin = loopback(srv.addrs[1]);
    int sock = RPC_ANYSOCK;
    struct timeval retry = {1, 0};
    compare(clntudp_create(&sin, INTEG_PROG, INTEG_VERS, retry, &sock), srv.addrs[1]);
}

static void test_the_server_exits_zero_on_sigterm(void **state)
{
    (void)state;
    assert_int_equal(integ_proc_stop(&srv), 0);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: test_server_interop INTEG_SERVER INTEG_PCLIENT\n");
        return 2;
    }
    server_path = argv[1];
    pclient_path = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_rpcgen_client_over_tcp_gets_what_parley_gets),
        cmocka_unit_test(test_an_rpcgen_client_over_udp_gets_what_parley_gets),
        cmocka_unit_test(test_the_server_exits_zero_on_sigterm),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
