/*
 * test_mm_daemon.c: parley-matchmaker and parley-info as real processes on
 * loopback (an unprivileged port, its sockets and state in a temporary
 * folder), through the generated clients of matchmaker.idl and
 * rpcb_prot.x. Every wait is a bounded poll; every process started is
 * stopped. argv[1] is the daemon, argv[2] parley-info, argv[3] mm_reg_peer
 * (a registering server as a process).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "matchmaker.h"
#include "parley/client.h"
#include "raw.h"
#include "rpcb_prot.h"
#include "service.h"
#include "testproc.h"

/* a string constant where a generated struct wants char * */
#define S(x) ((char *)(uintptr_t)(x))

static const char *daemon_path, *info_path, *peer_path;
static char dir[64];
static int port;
static pid_t mm_pid;
static char sock_path[128], rpcb_path[128], state_path[128];

static parley_client *mm_client(const char *addr)
{
    parley_client *c = NULL;
    parley_client_opts o = {.timeout_ms = 3000};
    if (parley_client_create(&c, addr, MATCHMAKER_PROG, MATCHMAKER_VERS, &o) != PARLEY_OK)
        return NULL;
    return c;
}

static char unix_addr[160], tcp_addr[64];

/* mm_start starts the daemon with a liveness period of check_ms and waits
 * (bounded) until it answers on its Unix socket; 0 or -1. */
static int mm_start(const char *check_ms)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        if (!port)
            port = pt_free_port();
        char ports[16];
        snprintf(ports, sizeof ports, "%d", port);
        snprintf(unix_addr, sizeof unix_addr, "unix://%s", sock_path);
        snprintf(tcp_addr, sizeof tcp_addr, "tcp://127.0.0.1:%d", port);
        pid_t pid = fork();
        if (pid == 0) {
            execl(daemon_path, daemon_path, "--port", ports, "--bind", "127.0.0.1", "--bind", "::1",
                  "--socket", sock_path, "--rpcbind-socket", rpcb_path, "--state", state_path,
                  "--check-ms", check_ms, S(NULL));
            _exit(127);
        }
        if (pid < 0)
            return -1;
        for (int i = 0; i < 200; i++) {
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid) {
                pid = 0;
                break;
            }
            parley_client *c = mm_client(unix_addr);
            int rc = c ? matchmaker_null_1(c) : -1;
            parley_client_destroy(c);
            if (rc == PARLEY_OK) {
                mm_pid = pid;
                return 0;
            }
            pt_sleep_ms(25);
        }
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        port = 0; /* taken meanwhile: another */
    }
    return -1;
}

/* mm_stop stops the daemon (SIGTERM, SIGKILL after 5 s); its status. */
static int mm_stop(void)
{
    if (!mm_pid)
        return -1;
    kill(mm_pid, SIGTERM);
    int st = -1;
    for (int i = 0; i < 500; i++) {
        if (waitpid(mm_pid, &st, WNOHANG) == mm_pid) {
            mm_pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        pt_sleep_ms(10);
    }
    kill(mm_pid, SIGKILL);
    waitpid(mm_pid, NULL, 0);
    mm_pid = 0;
    return -1;
}

static int setup(void **state)
{
    (void)state;
    snprintf(sock_path, sizeof sock_path, "%s/mm.sock", dir);
    snprintf(rpcb_path, sizeof rpcb_path, "%s/rpcb.sock", dir);
    snprintf(state_path, sizeof state_path, "%s/state", dir);
    unlink(state_path);
    return mm_start("100");
}

static int setup_noscan(void **state)
{
    (void)state;
    snprintf(sock_path, sizeof sock_path, "%s/mm.sock", dir);
    snprintf(rpcb_path, sizeof rpcb_path, "%s/rpcb.sock", dir);
    snprintf(state_path, sizeof state_path, "%s/state", dir);
    unlink(state_path);
    return mm_start("0");
}

static int teardown(void **state)
{
    (void)state;
    return mm_stop() == 0 ? 0 : -1;
}

/* A listening TCP socket on 127.0.0.1; its fd, and its uaddr in buf. */
static int listener(char *uaddr, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) != 0)
        return -1;
    unsigned p = ntohs(a.sin_port);
    snprintf(uaddr, cap, "127.0.0.1.%u.%u", p >> 8, p & 0xff);
    return fd;
}

static mm_status do_register(parley_client *c, const char *name, unsigned vers, const char *uaddr)
{
    static uint32_t next_prog = 0x30000042; /* each registration its own program */
    mm_registration r = {S(name), next_prog++, vers, S("tcp"), S(uaddr)};
    mm_status st = MM_INVALID;
    assert_int_equal(matchmaker_register_1(c, &r, &st), PARLEY_OK);
    return st;
}

static mm_status do_lookup(parley_client *c, const char *name, char *uaddr, size_t cap)
{
    mm_query q = {S(name), 0, S("")};
    mm_lookup_res res;
    memset(&res, 0, sizeof res);
    assert_int_equal(matchmaker_lookup_1(c, &q, &res), PARLEY_OK);
    mm_status st = res.status;
    if (st == MM_OK && uaddr)
        snprintf(uaddr, cap, "%s", res.mm_lookup_res_u.entries.mm_entry_list_val[0].uaddr);
    mm_lookup_res_free(&res);
    return st;
}

static void test_register_lookup_list_unregister(void **state)
{
    (void)state;
    char ua[64], got[160];
    int fd = listener(ua, sizeof ua);
    assert_true(fd >= 0);
    parley_client *c = mm_client(unix_addr);
    assert_non_null(c);
    assert_int_equal(do_register(c, "svc-a", 1, ua), MM_OK);
    assert_int_equal(do_lookup(c, "svc-a", got, sizeof got), MM_OK);
    assert_string_equal(got, ua);
    mm_entry_list l;
    memset(&l, 0, sizeof l);
    assert_int_equal(matchmaker_list_1(c, &l), PARLEY_OK);
    int seen = 0;
    for (u_int i = 0; i < l.mm_entry_list_len; i++)
        if (strcmp(l.mm_entry_list_val[i].name, "svc-a") == 0) {
            seen = 1;
            char owner[16];
            snprintf(owner, sizeof owner, "%s", getuid() == 0 ? "superuser" : "");
            if (getuid() == 0)
                assert_string_equal(l.mm_entry_list_val[i].owner, owner);
        }
    mm_entry_list_free(&l);
    assert_true(seen);
    assert_int_equal(do_register(c, "bad name", 1, ua), MM_INVALID);
    assert_int_equal(do_register(c, "svc-b", 0, ua), MM_INVALID);
    mm_key k = {S("svc-a"), 0, S("")};
    mm_status st;
    assert_int_equal(matchmaker_unregister_1(c, &k, &st), PARLEY_OK);
    assert_int_equal(st, MM_OK);
    assert_int_equal(do_lookup(c, "svc-a", NULL, 0), MM_NOENT);
    assert_int_equal(matchmaker_unregister_1(c, &k, &st), PARLEY_OK);
    assert_int_equal(st, MM_NOENT);
    parley_client_destroy(c);
    close(fd);
}

static void test_register_over_loopback_tcp_is_allowed(void **state)
{
    (void)state;
    char ua[64];
    int fd = listener(ua, sizeof ua);
    parley_client *c = mm_client(tcp_addr);
    assert_non_null(c);
    assert_int_equal(do_register(c, "svc-tcp", 1, ua), MM_OK);
    /* the owner is the uid of the caller's socket, learnt from the kernel */
    mm_query q = {S("svc-tcp"), 0, S("")};
    mm_lookup_res res;
    memset(&res, 0, sizeof res);
    assert_int_equal(matchmaker_lookup_1(c, &q, &res), PARLEY_OK);
    assert_int_equal(res.status, MM_OK);
    char want[16];
    if (getuid() == 0)
        snprintf(want, sizeof want, "superuser");
    else
        snprintf(want, sizeof want, "%u", (unsigned)getuid());
    assert_string_equal(res.mm_lookup_res_u.entries.mm_entry_list_val[0].owner, want);
    mm_lookup_res_free(&res);
    mm_key k = {S("svc-tcp"), 0, S("")};
    mm_status st;
    assert_int_equal(matchmaker_unregister_1(c, &k, &st), PARLEY_OK);
    assert_int_equal(st, MM_OK);
    parley_client_destroy(c);
    close(fd);
}

static void test_other_user_cannot_replace_or_remove_roots_entry(void **state)
{
    (void)state;
    if (getuid() != 0) {
        print_message("skipped: needs root to run a child as another user\n");
        skip();
    }
    pid_t pid = fork();
    if (pid == 0) {
        if (setuid(65534) != 0)
            _exit(10);
        parley_client *c = mm_client(unix_addr);
        mm_key k = {S("matchmaker"), 0, S("")};
        mm_status st = MM_OK;
        if (!c || matchmaker_unregister_1(c, &k, &st) != PARLEY_OK || st != MM_NOT_OWNER)
            _exit(11);
        mm_registration r = {S("matchmaker"), MATCHMAKER_PROG, 1, S("tcp"), S("127.0.0.1.0.9")};
        if (matchmaker_register_1(c, &r, &st) != PARLEY_OK || st != MM_EXISTS)
            _exit(12);
        parley_client_destroy(c);
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static parley_client *rpcb_client(unsigned vers);

/* A caller that sends a change and closes its socket at once leaves it
 * lingering (FIN_WAIT, TIME_WAIT) with no file, where the kernel's tables
 * show uid 0: the matchmaker must not take such a caller for root. Another
 * user tries it 50 times against root's own entries; they stay. */
static void test_a_caller_that_closes_at_once_does_not_pass_for_root(void **state)
{
    (void)state;
    if (getuid() != 0) {
        print_message("skipped: needs root to run a child as another user\n");
        skip();
    }
    pid_t pid = fork();
    if (pid == 0) {
        if (setuid(65534) != 0)
            _exit(10);
        for (uint32_t i = 0; i < 50; i++) {
            int fd = raw_connect(tcp_addr);
            if (fd < 0)
                _exit(11);
            /* calls ahead of the change, so that the daemon's other thread
             * sees the end of the connection and shuts it down while this
             * one still works through them: the closed socket then waits
             * in TIME_WAIT, uid 0 in the kernel's tables */
            static uint8_t burst[300 * 44];
            size_t nb = 0;
            for (uint32_t k = 0; k < 300; k++) {
                raw_msg z;
                z.n = 0;
                raw_call(&z, 0x5d0000u + k, MATCHMAKER_PROG, MATCHMAKER_VERS, MATCHMAKER_NULL);
                uint32_t mark = htonl(0x80000000u | (uint32_t)z.n);
                memcpy(burst + nb, &mark, 4);
                memcpy(burst + nb + 4, z.b, z.n);
                nb += 4 + z.n;
            }
            raw_send_all(fd, burst, nb);
            raw_msg m;
            m.n = 0;
            raw_call(&m, 0x5e0000u + i, MATCHMAKER_PROG, MATCHMAKER_VERS, MATCHMAKER_UNREGISTER);
            raw_opaque(&m, "matchmaker", 10); /* every version, every transport */
            raw_u32(&m, 0);
            raw_opaque(&m, "", 0);
            raw_send_record(fd, &m);
            /* and port mapper v2 UNSET of itself, the same way */
            m.n = 0;
            raw_call(&m, 0x5f0000u + i, MM_RPCBPROG, MM_PMAPVERS, MM_PMAPPROC_UNSET);
            raw_u32(&m, MM_RPCBPROG);
            raw_u32(&m, MM_PMAPVERS);
            raw_u32(&m, 6);
            raw_u32(&m, 0);
            raw_send_record(fd, &m);
            close(fd);
        }
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* the daemon has read them all once a call made after them is answered */
    parley_client *c = mm_client(tcp_addr);
    char uaddr[MM_UADDR_MAX + 1];
    assert_int_equal(do_lookup(c, "matchmaker", uaddr, sizeof uaddr), MM_OK);
    parley_client_destroy(c);
    c = rpcb_client(2);
    mm_pmap q = {MM_RPCBPROG, MM_PMAPVERS, 6, 0};
    u_int got = 0;
    assert_int_equal(mm_pmapproc_getport_2(c, &q, &got), PARLEY_OK);
    assert_int_equal(got, (u_int)port);
    parley_client_destroy(c);
}

static void test_only_local_callers_may_change(void **state)
{
    (void)state;
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    a4.sin_addr.s_addr = htonl(0x7f000001);
    assert_true(mm_caller_is_local(PARLEY_TRANSPORT_TCP, (struct sockaddr *)&a4, sizeof a4));
    a4.sin_addr.s_addr = htonl(0x0a000001);
    assert_false(mm_caller_is_local(PARLEY_TRANSPORT_UDP, (struct sockaddr *)&a4, sizeof a4));
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    a6.sin6_addr = in6addr_loopback;
    assert_true(mm_caller_is_local(PARLEY_TRANSPORT_TCP, (struct sockaddr *)&a6, sizeof a6));
    inet_pton(AF_INET6, "::ffff:127.0.0.5", &a6.sin6_addr);
    assert_true(mm_caller_is_local(PARLEY_TRANSPORT_TCP, (struct sockaddr *)&a6, sizeof a6));
    inet_pton(AF_INET6, "::ffff:192.0.2.1", &a6.sin6_addr);
    assert_false(mm_caller_is_local(PARLEY_TRANSPORT_TCP, (struct sockaddr *)&a6, sizeof a6));
    inet_pton(AF_INET6, "2001:db8::1", &a6.sin6_addr);
    assert_false(mm_caller_is_local(PARLEY_TRANSPORT_TCP, (struct sockaddr *)&a6, sizeof a6));
    assert_true(mm_caller_is_local(PARLEY_TRANSPORT_UNIX, NULL, 0));
    assert_false(mm_caller_is_local(PARLEY_TRANSPORT_TCP, NULL, 0));
}

/* The scan runs every 100 ms: an entry goes within 2 periods and a scan. */
static void test_entry_of_closed_socket_is_removed(void **state)
{
    (void)state;
    char ua[64];
    int fd = listener(ua, sizeof ua);
    parley_client *c = mm_client(unix_addr);
    assert_int_equal(do_register(c, "short-lived", 1, ua), MM_OK);
    pt_sleep_ms(350); /* several scans: a live entry stays */
    assert_int_equal(do_lookup(c, "short-lived", NULL, 0), MM_OK);
    close(fd);
    mm_status st = MM_OK;
    for (int i = 0; i < 100 && st == MM_OK; i++) {
        pt_sleep_ms(20);
        st = do_lookup(c, "short-lived", NULL, 0);
    }
    assert_int_equal(st, MM_NOENT);
    parley_client_destroy(c);
}

static void test_restart_keeps_live_entries_and_drops_dead_ones(void **state)
{
    (void)state;
    char live[64], dead[64];
    int fl = listener(live, sizeof live);
    int fdead = listener(dead, sizeof dead);
    parley_client *c = mm_client(unix_addr);
    assert_int_equal(do_register(c, "keeper", 1, live), MM_OK);
    assert_int_equal(do_register(c, "goner", 1, dead), MM_OK);
    parley_client_destroy(c);
    assert_int_equal(mm_stop(), 0);
    close(fdead);
    assert_int_equal(mm_start("100"), 0);
    c = mm_client(unix_addr);
    char got[160];
    assert_int_equal(do_lookup(c, "keeper", got, sizeof got), MM_OK);
    assert_string_equal(got, live);
    mm_status st = MM_OK;
    for (int i = 0; i < 100 && st == MM_OK; i++) {
        pt_sleep_ms(20);
        st = do_lookup(c, "goner", NULL, 0);
    }
    assert_int_equal(st, MM_NOENT);
    assert_int_equal(do_lookup(c, "keeper", NULL, 0), MM_OK);
    parley_client_destroy(c);
    close(fl);
}

static parley_client *rpcb_client(unsigned vers)
{
    parley_client *c = NULL;
    parley_client_opts o = {.timeout_ms = 3000};
    assert_int_equal(parley_client_create(&c, tcp_addr, MM_RPCBPROG, vers, &o), PARLEY_OK);
    return c;
}

static void test_pmap_v2_set_getport_dump_unset(void **state)
{
    (void)state;
    parley_client *c = rpcb_client(2);
    mm_pmap m = {0x30000077, 3, MM_IPPROTO_TCP, 4000};
    bool_t ok = 0;
    assert_int_equal(mm_pmapproc_set_2(c, &m, &ok), PARLEY_OK);
    assert_true(ok);
    assert_int_equal(mm_pmapproc_set_2(c, &m, &ok), PARLEY_OK);
    assert_true(ok); /* the very same registration */
    m.pm_port = 4001;
    assert_int_equal(mm_pmapproc_set_2(c, &m, &ok), PARLEY_OK);
    assert_false(ok); /* SET never replaces */
    u_int p = 0;
    assert_int_equal(mm_pmapproc_getport_2(c, &m, &p), PARLEY_OK);
    assert_int_equal(p, 4000);
    mm_pmaplist_ptr l = NULL;
    assert_int_equal(mm_pmapproc_dump_2(c, &l), PARLEY_OK);
    int seen = 0, self = 0;
    for (mm_pmaplist *q = l; q; q = q->pml_next) {
        seen |= q->pml_map.pm_prog == 0x30000077 && q->pml_map.pm_port == 4000;
        self |= q->pml_map.pm_prog == MM_RPCBPROG && q->pml_map.pm_port == (u_int)port;
    }
    mm_pmaplist_ptr_free(&l);
    assert_true(seen);
    assert_true(self);
    assert_int_equal(mm_pmapproc_unset_2(c, &m, &ok), PARLEY_OK);
    assert_true(ok);
    assert_int_equal(mm_pmapproc_getport_2(c, &m, &p), PARLEY_OK);
    assert_int_equal(p, 0);
    /* CALLIT is refused */
    assert_int_equal(parley_client_call(c, MM_PMAPPROC_CALLIT, NULL, NULL, 0, NULL, NULL, 0),
                     PARLEY_ERR_PROC_UNAVAIL);
    parley_client_destroy(c);
}

static void test_rpcbind_v3_v4_procedures(void **state)
{
    (void)state;
    parley_client *c3 = rpcb_client(3), *c4 = rpcb_client(4);
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1.%d.%d", port >> 8, port & 0xff);
    mm_rpcb q = {MM_RPCBPROG, 3, S(""), S(""), S("")};
    mm_rpcb_uaddr u = NULL;
    assert_int_equal(mm_rpcbproc_getaddr_3(c3, &q, &u), PARLEY_OK);
    assert_string_equal(u, want);
    mm_rpcb_uaddr_free(&u);
    /* a wildcard registration is answered with the address called */
    mm_rpcb r = {0x30000088, 1, S("tcp"), S("0.0.0.0.15.160"), S("999")};
    bool_t ok = 0;
    assert_int_equal(mm_rpcbproc_set_4(c4, &r, &ok), PARLEY_OK);
    assert_true(ok);
    mm_rpcb g = {0x30000088, 1, S(""), S(""), S("")};
    assert_int_equal(mm_rpcbproc_getaddr_4(c4, &g, &u), PARLEY_OK);
    assert_string_equal(u, "127.0.0.1.15.160");
    mm_rpcb_uaddr_free(&u);
    g.r_vers = 2; /* GETVERSADDR: exactly that version */
    assert_int_equal(mm_rpcbproc_getversaddr_4(c4, &g, &u), PARLEY_OK);
    assert_string_equal(u, "");
    mm_rpcb_uaddr_free(&u);
    mm_rpcblist_ptr d = NULL;
    assert_int_equal(mm_rpcbproc_dump_3(c3, &d), PARLEY_OK);
    int seen = 0;
    for (mm_rp__list *p = d; p; p = p->rpcb_next)
        if (p->rpcb_map.r_prog == 0x30000088)
            seen = strcmp(p->rpcb_map.r_owner, "999") != 0; /* never the claim */
    mm_rpcblist_ptr_free(&d);
    assert_true(seen);
    mm_rpcb_entry_list_ptr al = NULL;
    mm_rpcb a = {MM_RPCBPROG, 4, S(""), S(""), S("")};
    assert_int_equal(mm_rpcbproc_getaddrlist_4(c4, &a, &al), PARLEY_OK);
    int n = 0;
    for (mm_rpcb_entry_list *p = al; p; p = p->rpcb_entry_next, n++)
        assert_string_equal(p->rpcb_entry_map.r_nc_protofmly, "inet");
    mm_rpcb_entry_list_ptr_free(&al);
    /* tcp and udp: rpcbind answers with the caller's family only */
    assert_int_equal(n, 2);
    u_int t = 0;
    assert_int_equal(mm_rpcbproc_gettime_3(c3, &t), PARLEY_OK);
    assert_true(labs((long)t - (long)time(NULL)) < 5);
    mm_rpcb_uaddr in = S("127.0.0.1.15.160");
    mm_netbuf nb;
    memset(&nb, 0, sizeof nb);
    assert_int_equal(mm_rpcbproc_uaddr2taddr_4(c4, &in, &nb), PARLEY_OK);
    assert_int_equal(nb.buf.buf_len, sizeof(struct sockaddr_in));
    assert_int_equal(mm_rpcbproc_taddr2uaddr_4(c4, &nb, &u), PARLEY_OK);
    assert_string_equal(u, "127.0.0.1.15.160");
    mm_rpcb_uaddr_free(&u);
    mm_netbuf_free(&nb);
    /* NULL calls are counted, as rpcbind counts them (this daemon is
     * fresh: none before) */
    parley_client *c2 = rpcb_client(2);
    assert_int_equal(mm_rpcbproc_null_4(c4), PARLEY_OK);
    assert_int_equal(mm_rpcbproc_null_4(c4), PARLEY_OK);
    assert_int_equal(mm_rpcbproc_null_3(c3), PARLEY_OK);
    assert_int_equal(mm_pmapproc_null_2(c2), PARLEY_OK);
    parley_client_destroy(c2);
    mm_rpcb_stat_byvers st;
    memset(&st, 0, sizeof st);
    assert_int_equal(mm_rpcbproc_getstat_4(c4, &st), PARLEY_OK);
    assert_int_equal(st[MM_RPCBVERS_4_STAT].info[0], 2);
    assert_int_equal(st[MM_RPCBVERS_3_STAT].info[0], 1);
    assert_int_equal(st[MM_RPCBVERS_2_STAT].info[0], 1);
    /* GETADDRLIST is a look-up on the call's netid too, and the newest
     * look-up comes first (rpcbind's order) */
    assert_int_equal(st[MM_RPCBVERS_4_STAT].info[11], 1);
    assert_non_null(st[MM_RPCBVERS_4_STAT].addrinfo);
    assert_int_equal(st[MM_RPCBVERS_4_STAT].addrinfo->prog, MM_RPCBPROG);
    assert_int_equal(st[MM_RPCBVERS_4_STAT].addrinfo->vers, 4);
    assert_string_equal(st[MM_RPCBVERS_4_STAT].addrinfo->netid, "tcp");
    assert_int_equal(st[MM_RPCBVERS_4_STAT].addrinfo->success, 1);
    assert_true(st[MM_RPCBVERS_4_STAT].info[3] >= 1);
    assert_true(st[MM_RPCBVERS_4_STAT].setinfo >= 1);
    assert_true(st[MM_RPCBVERS_3_STAT].info[3] >= 1);
    int found = 0; /* the GETADDR of 0x30000088 v1 on tcp, found */
    for (mm_rpcbs_addrlist *p = st[MM_RPCBVERS_4_STAT].addrinfo; p; p = p->next)
        found |= p->prog == 0x30000088 && p->vers == 1 && strcmp(p->netid, "tcp") == 0 &&
                 p->success == 1;
    assert_true(found);
    mm_rpcb_stat_byvers_free(&st);
    assert_int_equal(mm_rpcbproc_unset_4(c4, &r, &ok), PARLEY_OK);
    assert_true(ok);
    assert_int_equal(parley_client_call(c4, MM_RPCBPROC_INDIRECT, NULL, NULL, 0, NULL, NULL, 0),
                     PARLEY_ERR_PROC_UNAVAIL);
    assert_int_equal(parley_client_call(c3, MM_RPCBPROC_CALLIT, NULL, NULL, 0, NULL, NULL, 0),
                     PARLEY_ERR_PROC_UNAVAIL);
    parley_client_destroy(c3);
    parley_client_destroy(c4);
}

/* The daemon survives what no client sends, and answers afterwards. */
static void test_hostile_input_leaves_the_daemon_serving(void **state)
{
    (void)state;
    srand(7);
    for (int round = 0; round < 4; round++) {
        int fd = raw_connect(tcp_addr);
        assert_true(fd >= 0);
        raw_msg m;
        memset(&m, 0, sizeof m);
        raw_call(&m, 1u + (uint32_t)round, MATCHMAKER_PROG, MATCHMAKER_VERS, MATCHMAKER_REGISTER);
        if (round == 0) {
            raw_u32(&m, 0xffffffffu); /* a huge name length */
        } else if (round == 1) {
            char big[300];
            memset(big, 'a', sizeof big);
            raw_opaque(&m, big, sizeof big); /* over MM_NAME_MAX */
        } else if (round == 2) {
            for (int i = 0; i < 64; i++)
                raw_u32(&m, (uint32_t)rand());
        } else {
            m.n -= 6; /* truncated */
        }
        raw_send_record(fd, &m);
        raw_closed(fd, 300);
        close(fd);
    }
    parley_client *c = mm_client(tcp_addr);
    assert_int_equal(matchmaker_null_1(c), PARLEY_OK);
    parley_client_destroy(c);
}

/* run_info runs parley-info with args (a shell word list) and captures
 * stdout into out; returns its exit status. */
static int run_info(const char *args, char *out, size_t cap)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "PARLEY_MATCHMAKER=127.0.0.1:%d '%s' %s 2>&1", port, info_path, args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* column_at says whether a column of a table starts at off in line: a
 * space before it (or the line's start) and a text there. */
static int column_at(const char *line, size_t len, size_t off)
{
    return off < len && line[off] != ' ' && (off == 0 || line[off - 1] == ' ');
}

/* check_list checks parley-info list's table: the header, then a line per
 * entry whose columns start where the header's do (the program's decimal
 * and the version right-aligned, ending where theirs end), the program in
 * decimal and in hex; returns the number of entry lines. */
static int check_list(const char *out)
{
    static const char *const cols[] = {"program", "hex",  "vers", "netid",
                                       "address", "name", "owner"};
    enum { NCOLS = sizeof cols / sizeof cols[0] };
    const char *eol = strchr(out, '\n');
    assert_non_null(eol);
    size_t hlen = (size_t)(eol - out);
    size_t start[NCOLS], end[NCOLS];
    const char *from = out;
    for (int i = 0; i < NCOLS; i++) {
        const char *at = strstr(from, cols[i]);
        if (!at || at > eol)
            fail_msg("no column '%s' in the header '%.*s'", cols[i], (int)hlen, out);
        start[i] = (size_t)(at - out);
        end[i] = start[i] + strlen(cols[i]);
        from = at + strlen(cols[i]);
    }
    int rows = 0;
    for (const char *line = eol + 1; *line; rows++) {
        const char *e = strchr(line, '\n');
        assert_non_null(e);
        size_t len = (size_t)(e - line);
        /* right-aligned: program (decimal) and vers end where their titles do */
        for (int i = 0; i < NCOLS; i++) {
            int right = i == 0 || i == 2;
            if (right ? !(end[i] < len && line[end[i] - 1] != ' ' && line[end[i]] == ' ')
                      : !column_at(line, len, start[i]))
                fail_msg("column '%s' out of line in '%.*s' under '%.*s'", cols[i], (int)len, line,
                         (int)hlen, out);
        }
        /* the hex is the decimal's */
        unsigned long dec = strtoul(line, NULL, 10);
        char hex[16];
        snprintf(hex, sizeof hex, "0x%lx ", dec);
        if (strncmp(line + start[1], hex, strlen(hex)) != 0)
            fail_msg("program %lu not written %s in '%.*s'", dec, hex, (int)len, line);
        line = e + 1;
    }
    return rows;
}

static void test_info_outputs_and_exit_codes(void **state)
{
    (void)state;
    char out[8192];
    assert_int_equal(run_info("list", out, sizeof out), 0);
    assert_non_null(strstr(out, "matchmaker"));
    assert_non_null(strstr(out, "superuser"));
    assert_true(check_list(out) >= 6);
    /* rpcbind's program and the matchmaker's, as their IDL files write them */
    assert_non_null(strstr(out, "    100000 0x186a0 "));
    assert_non_null(strstr(out, " 542134860 0x2050524c "));
    /* every instance with its origin; this matchmaker has no cluster */
    assert_int_equal(run_info("lookup matchmaker 1 tcp", out, sizeof out), 0);
    char want[160];
    snprintf(want, sizeof want,
             "origin  host    program vers netid address\n"
             "local   -     542134860    1 tcp   tcp://127.0.0.1:%d\n",
             port);
    assert_string_equal(out, want);
    assert_int_equal(run_info("list --cluster", out, sizeof out), 0);
    assert_non_null(strstr(out, "state OFF"));
    assert_int_equal(run_info("lookup nosuch", out, sizeof out), 1);
    assert_non_null(strstr(out, "no service named 'nosuch' registered at"));
    assert_int_equal(run_info("ping matchmaker", out, sizeof out), 0);
    assert_non_null(strstr(out, " us\n"));
    assert_int_equal(run_info("ping tcp://127.0.0.1:1 100000 4", out, sizeof out), 1);
    /* the counters: the LIST, the ping's LOOKUP and the lookups'
     * INSTANCES above among them */
    assert_int_equal(run_info("stats", out, sizeof out), 0);
    const char *row = strstr(out, " 542134860 0x2050524c    1    4 ");
    unsigned long long calls = 0, ok = 0;
    assert_non_null(row);
    assert_int_equal(sscanf(row, "%*u %*s %*u %*u %llu %llu", &calls, &ok), 2);
    assert_true(calls >= 1 && ok >= 1);
    row = strstr(out, " 542134860 0x2050524c    1    3 ");
    assert_non_null(row);
    assert_int_equal(sscanf(row, "%*u %*s %*u %*u %llu %llu", &calls, &ok), 2);
    assert_true(calls >= 1);
    row = strstr(out, " 542134860 0x2050524c    1    6 ");
    assert_non_null(row);
    assert_int_equal(sscanf(row, "%*u %*s %*u %*u %llu %llu", &calls, &ok), 2);
    assert_true(calls >= 2);
    assert_int_equal(run_info("stats now", out, sizeof out), 2);
    assert_int_equal(run_info("frobnicate", out, sizeof out), 2);
    assert_int_equal(run_info("lookup", out, sizeof out), 2);
    assert_int_equal(run_info("-m 127.0.0.1:1 list", out, sizeof out), 1);
    assert_non_null(strstr(out, "cannot reach the matchmaker at 127.0.0.1:1"));
}

static void test_rpcbind_socket_and_ipv6_answer_for_their_transport(void **state)
{
    (void)state;
    char a[200];
    snprintf(a, sizeof a, "unix://%s", rpcb_path);
    parley_client *c = NULL;
    parley_client_opts o = {.timeout_ms = 3000};
    assert_int_equal(parley_client_create(&c, a, MM_RPCBPROG, 4, &o), PARLEY_OK);
    mm_rpcb q = {MATCHMAKER_PROG, 1, S(""), S(""), S("")};
    mm_rpcb_uaddr u = NULL;
    assert_int_equal(mm_rpcbproc_getaddr_4(c, &q, &u), PARLEY_OK);
    assert_string_equal(u, sock_path); /* netid "local": the call's */
    mm_rpcb_uaddr_free(&u);
    parley_client_destroy(c);
    snprintf(a, sizeof a, "tcp://[::1]:%d", port);
    assert_int_equal(parley_client_create(&c, a, MM_RPCBPROG, 3, &o), PARLEY_OK);
    assert_int_equal(mm_rpcbproc_getaddr_3(c, &q, &u), PARLEY_OK);
    char want[64];
    snprintf(want, sizeof want, "::1.%d.%d", port >> 8, port & 0xff);
    assert_string_equal(u, want);
    mm_rpcb_uaddr_free(&u);
    parley_client_destroy(c);
    struct stat st;
    assert_int_equal(stat(sock_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0666);
    assert_int_equal(stat(rpcb_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0666);
}

static void test_random_datagrams_leave_the_daemon_serving(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srand(11);
    for (int i = 0; i < 200; i++) {
        uint8_t b[512];
        size_t n = (size_t)(rand() % (int)sizeof b);
        for (size_t k = 0; k < n; k++)
            b[k] = (uint8_t)rand();
        if (i % 2 && n >= 24) { /* a call header before the garbage */
            raw_msg m;
            memset(&m, 0, sizeof m);
            raw_call(&m, (uint32_t)i, MM_RPCBPROG, 4, (uint32_t)(i % 13));
            memcpy(b, m.b, m.n < n ? m.n : n);
        }
        sendto(fd, b, n, 0, (struct sockaddr *)&a, sizeof a);
    }
    close(fd);
    char ua[64];
    snprintf(ua, sizeof ua, "udp://127.0.0.1:%d", port);
    parley_client *c = mm_client(ua);
    assert_int_equal(matchmaker_null_1(c), PARLEY_OK);
    parley_client_destroy(c);
}

/* run_daemon runs the daemon with extra arguments and returns its exit
 * status, its stderr in err. */
static int run_daemon(const char *args, char *err, size_t cap)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "'%s' --no-state --no-rpcbind-socket --socket %s/other.sock %s 2>&1",
             daemon_path, dir, args);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(err, 1, cap - 1, p);
    err[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_daemon_reports_bad_options_and_a_taken_port(void **state)
{
    (void)state;
    char out[4096], args[128];
    assert_int_equal(run_daemon("--bogus", out, sizeof out), 2);
    /* one line, not the whole usage (test_mm_cli has the rest) */
    assert_string_equal(out, "parley-matchmaker: unknown option '--bogus'; try "
                             "'parley-matchmaker --help'\n");
    assert_int_equal(run_daemon("--port 70000", out, sizeof out), 2);
    assert_int_equal(run_daemon("--check-ms", out, sizeof out), 2);
    snprintf(args, sizeof args, "--bind 127.0.0.1 --port %d", port);
    assert_int_equal(run_daemon(args, out, sizeof out), 1);
    char want[64];
    snprintf(want, sizeof want, "port %d is in use (is rpcbind running?", port);
    assert_non_null(strstr(out, want));
}

/* ---- daemons started with options of a test's own ---- */

/* The one a test started; extra_teardown stops it whatever happened. */
static pid_t extra_pid;
static int extra_err = -1; /* the read end of its stderr, or -1 */
static int extra_port;
static char extra_sock[128], extra_unix[160], extra_pidfile[128];

/* reap waits (bounded, ms) for child pid to end; its exit status (128 +
 * the signal when killed), or -1 when it did not end in time. */
static int reap(pid_t pid, unsigned ms)
{
    for (unsigned i = 0; i <= ms / 5; i++) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0)
            return -1;
        pt_sleep_ms(5);
    }
    return -1;
}

/* extra_spawn starts the daemon on extra_port (TCP and UDP), with its own
 * socket at extra_sock, no rpcbind socket, no state, no scan, and the
 * options in more (NULL-terminated); its stderr into extra_err. The child's
 * pid, or -1. */
static pid_t extra_spawn(const char *const *more)
{
    const char *argv[32];
    char ports[16];
    int n = 0;
    snprintf(ports, sizeof ports, "%d", extra_port);
    argv[n++] = daemon_path;
    argv[n++] = "--port";
    argv[n++] = ports;
    argv[n++] = "--socket";
    argv[n++] = extra_sock;
    argv[n++] = "--no-rpcbind-socket";
    argv[n++] = "--no-state";
    argv[n++] = "--check-ms";
    argv[n++] = "0";
    for (; more && *more && n < 31; more++)
        argv[n++] = *more;
    argv[n] = NULL;
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execv(daemon_path, (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -1;
    }
    if (extra_err >= 0)
        close(extra_err);
    extra_err = p[0];
    return pid;
}

/* extra_answers says whether a daemon answers NULL on extra_sock. */
static int extra_answers(void)
{
    parley_client *c = mm_client(extra_unix);
    int rc = c ? matchmaker_null_1(c) : -1;
    parley_client_destroy(c);
    return rc == PARLEY_OK;
}

/* extra_start starts the daemon (extra_spawn) and waits (bounded) until it
 * answers, on another port when its own was taken meanwhile; 0 or -1. */
static int extra_start(const char *const *more)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        extra_port = pt_free_port();
        pid_t pid = extra_spawn(more);
        if (pid < 0)
            return -1;
        extra_pid = pid;
        for (int i = 0; i < 200; i++) {
            if (extra_answers())
                return 0;
            int st;
            if (waitpid(pid, &st, WNOHANG) == pid) {
                extra_pid = 0;
                break;
            }
            pt_sleep_ms(25);
        }
        if (extra_pid) {
            kill(extra_pid, SIGKILL);
            reap(extra_pid, 5000);
            extra_pid = 0;
        }
    }
    return -1;
}

/* extra_stop sends SIGTERM and waits (5 s) for the daemon's status; -1
 * when it did not end (it is killed then). */
static int extra_stop(void)
{
    if (extra_pid <= 0)
        return -1;
    kill(extra_pid, SIGTERM);
    int st = reap(extra_pid, 5000);
    if (st < 0) {
        kill(extra_pid, SIGKILL);
        reap(extra_pid, 5000);
    }
    extra_pid = 0;
    return st;
}

/* extra_stderr reads what the daemon wrote on stderr until EOF (it has
 * ended), for at most 2 s, into buf. */
static void extra_stderr(char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < 200 && extra_err >= 0 && n < cap - 1; i++) {
        struct pollfd p = {extra_err, POLLIN, 0};
        if (poll(&p, 1, 10) <= 0)
            continue;
        ssize_t r = read(extra_err, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = '\0';
    }
}

static int extra_setup(void **state)
{
    (void)state;
    snprintf(extra_sock, sizeof extra_sock, "%s/extra.sock", dir);
    snprintf(extra_unix, sizeof extra_unix, "unix://%s", extra_sock);
    snprintf(extra_pidfile, sizeof extra_pidfile, "%s/extra.pid", dir);
    unlink(extra_pidfile);
    return 0;
}

static int extra_teardown(void **state)
{
    (void)state;
    if (extra_pid > 0) {
        kill(extra_pid, SIGKILL);
        if (reap(extra_pid, 5000) < 0)
            for (int i = 0; i < 500 && kill(extra_pid, 0) == 0; i++)
                pt_sleep_ms(10);
        extra_pid = 0;
    }
    if (extra_err >= 0)
        close(extra_err);
    extra_err = -1;
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    unlink(extra_pidfile);
    unlink(extra_sock);
    return 0;
}

/* --daemon returns at once; the daemon it leaves behind writes its pid,
 * serves, and at SIGTERM removes its pidfile and socket and ends. */
static void test_daemon_option_runs_in_the_background_with_a_pidfile(void **state)
{
    (void)state;
    /* the daemon, orphaned by its parent, becomes this process's child */
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    extra_port = pt_free_port();
    const char *more[] = {"--bind", "127.0.0.1", "--daemon", "--pidfile", extra_pidfile, NULL};
    pid_t parent = extra_spawn(more);
    assert_true(parent > 0);
    extra_pid = parent;
    assert_int_equal(reap(parent, 5000), 0);
    extra_pid = 0;
    long pid = 0;
    for (int i = 0; i < 200 && pid <= 0; i++) {
        FILE *f = fopen(extra_pidfile, "r");
        if (f) {
            if (fscanf(f, "%ld", &pid) != 1)
                pid = 0;
            fclose(f);
        }
        if (pid <= 0)
            pt_sleep_ms(25);
    }
    assert_true(pid > 0);
    assert_int_not_equal(pid, parent);
    extra_pid = (pid_t)pid;
    assert_int_equal(kill(extra_pid, 0), 0);
    int up = 0;
    for (int i = 0; i < 200 && !(up = extra_answers()); i++)
        pt_sleep_ms(25);
    assert_true(up);
    parley_client *c = mm_client(extra_unix);
    assert_non_null(c);
    assert_int_equal(do_lookup(c, "matchmaker", NULL, 0), MM_OK);
    parley_client_destroy(c);
    assert_int_equal(extra_stop(), 0);
    assert_int_not_equal(access(extra_pidfile, F_OK), 0);
    assert_int_not_equal(access(extra_sock, F_OK), 0);
    assert_int_not_equal(kill((pid_t)pid, 0), 0);
}

/* Its messages go to stderr, or with --syslog to syslog alone (whether a
 * syslog daemon runs or not). */
static void test_syslog_option_keeps_stderr_empty(void **state)
{
    (void)state;
    char err[4096], want[64];
    const char *plain[] = {"--bind", "127.0.0.1", NULL};
    assert_int_equal(extra_start(plain), 0);
    assert_int_equal(extra_stop(), 0);
    extra_stderr(err, sizeof err);
    snprintf(want, sizeof want, "serving on port %d", extra_port);
    if (!strstr(err, want))
        fail_msg("stderr without --syslog: '%s'", err);
    const char *logged[] = {"--bind", "127.0.0.1", "--syslog", NULL};
    assert_int_equal(extra_start(logged), 0);
    parley_client *c = mm_client(extra_unix);
    assert_non_null(c);
    assert_int_equal(do_lookup(c, "matchmaker", NULL, 0), MM_OK);
    parley_client_destroy(c);
    assert_int_equal(extra_stop(), 0);
    extra_stderr(err, sizeof err);
    assert_string_equal(err, "");
}

/* rpcb_at is a client of rpcbind's version vers at addr. */
static parley_client *rpcb_at(const char *addr, unsigned vers)
{
    parley_client *c = NULL;
    parley_client_opts o = {.timeout_ms = 3000};
    assert_int_equal(parley_client_create(&c, addr, MM_RPCBPROG, vers, &o), PARLEY_OK);
    return c;
}

/* Past --max-entries, REGISTER answers FULL and rpcbind's SET FALSE, until
 * an entry goes. */
static void test_max_entries_bounds_the_table(void **state)
{
    (void)state;
    const char *more[] = {"--bind", "127.0.0.1", "--max-entries", "16", NULL};
    assert_int_equal(extra_start(more), 0);
    parley_client *c = mm_client(extra_unix);
    assert_non_null(c);
    mm_entry_list l;
    memset(&l, 0, sizeof l);
    assert_int_equal(matchmaker_list_1(c, &l), PARLEY_OK);
    u_int held = l.mm_entry_list_len; /* its own */
    mm_entry_list_free(&l);
    assert_true(held > 0 && held < 16);
    for (u_int i = held; i < 16; i++) {
        char name[32];
        snprintf(name, sizeof name, "full-%u", i);
        assert_int_equal(do_register(c, name, 1, "127.0.0.1.0.9"), MM_OK);
    }
    assert_int_equal(do_register(c, "one-too-many", 1, "127.0.0.1.0.9"), MM_FULL);
    char a[64];
    snprintf(a, sizeof a, "tcp://127.0.0.1:%d", extra_port);
    parley_client *c4 = rpcb_at(a, 4), *c2 = rpcb_at(a, 2);
    mm_rpcb r = {0x30000099, 1, S("tcp"), S("127.0.0.1.0.10"), S("")};
    bool_t ok = 1;
    assert_int_equal(mm_rpcbproc_set_4(c4, &r, &ok), PARLEY_OK);
    assert_false(ok);
    mm_pmap m = {0x30000099, 1, MM_IPPROTO_UDP, 10};
    ok = 1;
    assert_int_equal(mm_pmapproc_set_2(c2, &m, &ok), PARLEY_OK);
    assert_false(ok);
    /* one goes: one more fits */
    char name[32];
    snprintf(name, sizeof name, "full-%u", held);
    mm_key k = {S(name), 0, S("")};
    mm_status st = MM_INVALID;
    assert_int_equal(matchmaker_unregister_1(c, &k, &st), PARLEY_OK);
    assert_int_equal(st, MM_OK);
    assert_int_equal(do_register(c, "one-more", 1, "127.0.0.1.0.9"), MM_OK);
    assert_int_equal(do_register(c, "one-too-many", 1, "127.0.0.1.0.9"), MM_FULL);
    k.name = S("one-more");
    assert_int_equal(matchmaker_unregister_1(c, &k, &st), PARLEY_OK);
    assert_int_equal(st, MM_OK);
    assert_int_equal(mm_rpcbproc_set_4(c4, &r, &ok), PARLEY_OK);
    assert_true(ok);
    parley_client_destroy(c4);
    parley_client_destroy(c2);
    parley_client_destroy(c);
    assert_int_equal(extra_stop(), 0);
}

/* has_ipv6 says whether ::1 can be bound here. */
static int has_ipv6(void)
{
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    a.sin6_addr = in6addr_loopback;
    int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* Without --bind it listens on every address, IPv4 and IPv6 apart: a
 * look-up without a netid is answered for the caller's own (tcp, udp,
 * tcp6, udp6), at the address it called. */
static void test_wildcard_binding_answers_each_family_for_its_netid(void **state)
{
    (void)state;
    assert_int_equal(extra_start(NULL), 0);
    int v6 = has_ipv6();
    if (!v6)
        print_message("no IPv6 here: IPv4 only\n");
    static const struct {
        const char *netid, *reg, *host, *want;
    } t[] = {
        {"tcp", "0.0.0.0.0.1", "tcp://127.0.0.1", "127.0.0.1.0.1"},
        {"udp", "0.0.0.0.0.2", "udp://127.0.0.1", "127.0.0.1.0.2"},
        {"tcp6", "::.0.3", "tcp://[::1]", "::1.0.3"},
        {"udp6", "::.0.4", "udp://[::1]", "::1.0.4"},
    };
    size_t n = v6 ? 4 : 2;
    char a[64];
    snprintf(a, sizeof a, "tcp://127.0.0.1:%d", extra_port);
    parley_client *c = rpcb_at(a, 4);
    for (size_t i = 0; i < n; i++) {
        mm_rpcb r = {0x3000009a, 1, S(t[i].netid), S(t[i].reg), S("")};
        bool_t ok = 0;
        assert_int_equal(mm_rpcbproc_set_4(c, &r, &ok), PARLEY_OK);
        assert_true(ok);
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(a, sizeof a, "%s:%d", t[i].host, extra_port);
        parley_client *ci = rpcb_at(a, 4);
        mm_rpcb q = {0x3000009a, 1, S(""), S(""), S("")};
        mm_rpcb_uaddr u = NULL;
        assert_int_equal(mm_rpcbproc_getaddr_4(ci, &q, &u), PARLEY_OK);
        if (strcmp(u, t[i].want) != 0)
            fail_msg("GETADDR over %s: '%s', not '%s'", a, u, t[i].want);
        mm_rpcb_uaddr_free(&u);
        parley_client_destroy(ci);
    }
    /* GETSTAT counted each look-up under the caller's netid */
    mm_rpcb_stat_byvers st;
    memset(&st, 0, sizeof st);
    assert_int_equal(mm_rpcbproc_getstat_4(c, &st), PARLEY_OK);
    for (size_t i = 0; i < n; i++) {
        int found = 0;
        for (mm_rpcbs_addrlist *p = st[MM_RPCBVERS_4_STAT].addrinfo; p; p = p->next)
            found |= p->prog == 0x3000009a && strcmp(p->netid, t[i].netid) == 0 &&
                     p->success == 1 && p->failure == 0;
        if (!found)
            fail_msg("no successful look-up counted on %s", t[i].netid);
    }
    mm_rpcb_stat_byvers_free(&st);
    parley_client_destroy(c);
    assert_int_equal(extra_stop(), 0);
}

/* ---- two servers, one name ---- */

/* A registering server (mm_reg_peer) as a process. */
typedef struct peer {
    pid_t pid;
    char uaddr[64]; /* of its TCP address on 127.0.0.1 */
    char addr[64];  /* the same as a Parley address, tcp://127.0.0.1:PORT */
    char line[320]; /* its last line: "ready" or "refused: ..." */
} peer;

/* The peers started and not yet reaped: killed by peers_teardown when an
 * assertion ends the test early. */
static pid_t peer_pids[8];

static void peer_track(pid_t pid, int on)
{
    for (size_t i = 0; i < sizeof peer_pids / sizeof peer_pids[0]; i++)
        if (on ? peer_pids[i] == 0 : peer_pids[i] == pid) {
            peer_pids[i] = on ? pid : 0;
            return;
        }
}

static int peers_teardown(void **state)
{
    for (size_t i = 0; i < sizeof peer_pids / sizeof peer_pids[0]; i++)
        if (peer_pids[i] > 0) {
            kill(peer_pids[i], SIGKILL);
            waitpid(peer_pids[i], NULL, 0);
            peer_pids[i] = 0;
        }
    return teardown(state);
}

/* peer_start starts mm_reg_peer under name on the addresses given
 * (NULL-terminated; one a tcp://127.0.0.1:0), registering through
 * the daemon's loopback TCP address, and reads its lines (bounded) until
 * "ready", "refused: ..." or its end. 0, or -1. */
static int peer_start(peer *pr, const char *name, const char *const *addrs)
{
    memset(pr, 0, sizeof *pr);
    const char *argv[8];
    int n = 0;
    argv[n++] = peer_path;
    argv[n++] = name;
    for (; *addrs && n < 7; addrs++)
        argv[n++] = *addrs;
    argv[n] = NULL;
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pr->pid = fork();
    if (pr->pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        setenv("PARLEY_MATCHMAKER", tcp_addr, 1);
        execv(peer_path, (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    close(p[1]);
    if (pr->pid < 0) {
        close(p[0]);
        return -1;
    }
    peer_track(pr->pid, 1);
    char buf[1024];
    size_t len = 0;
    int done = 0;
    for (int i = 0; i < 200 && !done && len < sizeof buf - 1; i++) { /* at most 10 s */
        struct pollfd pf = {.fd = p[0], .events = POLLIN, .revents = 0};
        if (poll(&pf, 1, 50) <= 0)
            continue;
        ssize_t r = read(p[0], buf + len, sizeof buf - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        done = strstr(buf, "ready\n") || strstr(buf, "refused: ");
        if (strstr(buf, "refused: ") && !strchr(strstr(buf, "refused: "), '\n'))
            done = 0; /* the rest of the line is coming */
    }
    close(p[0]);
    buf[len] = '\0';
    /* its TCP address's line: "tcp://127.0.0.1:PORT" */
    const char *tcp = strstr(buf, "tcp://127.0.0.1:");
    unsigned pport = tcp ? (unsigned)atoi(tcp + strlen("tcp://127.0.0.1:")) : 0;
    snprintf(pr->uaddr, sizeof pr->uaddr, "127.0.0.1.%u.%u", pport >> 8, pport & 0xff);
    snprintf(pr->addr, sizeof pr->addr, "tcp://127.0.0.1:%u", pport);
    const char *last = strstr(buf, "ready\n") ? "ready" : strstr(buf, "refused: ");
    if (last)
        snprintf(pr->line, sizeof pr->line, "%.*s", (int)strcspn(last, "\n"), last);
    return done ? 0 : -1;
}

/* peer_stop ends pr with sig (0: waits for it to end by itself); its exit
 * status, as reap. */
static int peer_stop(peer *pr, int sig)
{
    if (sig)
        kill(pr->pid, sig);
    int st = reap(pr->pid, 5000);
    if (st < 0) {
        kill(pr->pid, SIGKILL);
        waitpid(pr->pid, NULL, 0);
    }
    peer_track(pr->pid, 0);
    return st;
}

/* lookup_netid is LOOKUP of name on netid: the status, the first uaddr in
 * out. */
static mm_status lookup_netid(parley_client *c, const char *name, const char *netid, char *out,
                              size_t cap)
{
    mm_query q = {S(name), 0, S(netid)};
    mm_lookup_res res;
    memset(&res, 0, sizeof res);
    assert_int_equal(matchmaker_lookup_1(c, &q, &res), PARLEY_OK);
    mm_status st = res.status;
    if (st == MM_OK && out)
        snprintf(out, cap, "%s", res.mm_lookup_res_u.entries.mm_entry_list_val[0].uaddr);
    mm_lookup_res_free(&res);
    return st;
}

static void test_a_second_server_of_a_name_never_orphans_the_first(void **state)
{
    (void)state;
    static const char *const tcp[] = {"tcp://127.0.0.1:0", NULL};
    char refused[320], got[160], unix_listen[160];
    snprintf(unix_listen, sizeof unix_listen, "unix://%s/twin.sock", dir);
    /* the Unix socket first: registered before the refusal */
    const char *const unix_and_tcp[] = {unix_listen, "tcp://127.0.0.1:0", NULL};
    parley_client *c = mm_client(unix_addr);
    assert_non_null(c);

    /* A serves "twin"; B, the same user, is refused while A lives */
    peer a, b;
    assert_int_equal(peer_start(&a, "twin", tcp), 0);
    assert_string_equal(a.line, "ready");
    assert_int_equal(lookup_netid(c, "twin", "", got, sizeof got), MM_OK);
    assert_string_equal(got, a.uaddr);
    /* B is told where A is: A's address, exactly */
    snprintf(refused, sizeof refused, "refused: %s (held by %s)",
             parley_strerror(PARLEY_ERR_NAME_HELD), a.addr);
    assert_int_equal(peer_start(&b, "twin", tcp), 0);
    assert_string_equal(b.line, refused);
    assert_int_equal(peer_stop(&b, 0), 3);
    assert_int_equal(lookup_netid(c, "twin", "", got, sizeof got), MM_OK);
    assert_string_equal(got, a.uaddr);

    /* B on a Unix socket and TCP: its Unix entry is made, its TCP one
     * refused; taking its own back, it leaves A's */
    assert_int_equal(peer_start(&b, "twin", unix_and_tcp), 0);
    assert_string_equal(b.line, refused);
    assert_int_equal(peer_stop(&b, 0), 3);
    assert_int_equal(lookup_netid(c, "twin", "tcp", got, sizeof got), MM_OK);
    assert_string_equal(got, a.uaddr);
    assert_int_equal(lookup_netid(c, "twin", "local", NULL, 0), MM_NOENT);

    /* A stops and unregisters: the name is gone */
    assert_int_equal(peer_stop(&a, SIGTERM), 0);
    assert_int_equal(lookup_netid(c, "twin", "", NULL, 0), MM_NOENT);

    /* a server that died without unregistering is replaced at once by the
     * next (no scan runs in this test: the daemon checks the holder) */
    assert_int_equal(peer_start(&a, "twin", tcp), 0);
    assert_string_equal(a.line, "ready");
    assert_int_equal(peer_stop(&a, SIGKILL), 128 + SIGKILL);
    assert_int_equal(peer_start(&b, "twin", tcp), 0);
    assert_string_equal(b.line, "ready");
    assert_int_equal(lookup_netid(c, "twin", "", got, sizeof got), MM_OK);
    assert_string_equal(got, b.uaddr);
    assert_int_equal(peer_stop(&b, SIGTERM), 0);
    assert_int_equal(lookup_netid(c, "twin", "", NULL, 0), MM_NOENT);
    parley_client_destroy(c);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s parley-matchmaker parley-info mm_reg_peer\n", argv[0]);
        return 2;
    }
    daemon_path = argv[1];
    info_path = argv[2];
    peer_path = argv[3];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mmtest.XXXXXX", tmp && tmp[0] && strlen(tmp) < 24 ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    chmod(dir, 0711); /* another user's child reaches the socket inside */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_local_callers_may_change),
        cmocka_unit_test_setup_teardown(test_a_caller_that_closes_at_once_does_not_pass_for_root,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_lookup_list_unregister, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_over_loopback_tcp_is_allowed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_other_user_cannot_replace_or_remove_roots_entry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_entry_of_closed_socket_is_removed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_live_entries_and_drops_dead_ones, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_second_server_of_a_name_never_orphans_the_first,
                                        setup_noscan, peers_teardown),
        cmocka_unit_test_setup_teardown(test_pmap_v2_set_getport_dump_unset, setup_noscan,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rpcbind_v3_v4_procedures, setup_noscan, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_input_leaves_the_daemon_serving, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_info_outputs_and_exit_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rpcbind_socket_and_ipv6_answer_for_their_transport,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_datagrams_leave_the_daemon_serving, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_daemon_reports_bad_options_and_a_taken_port, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_daemon_option_runs_in_the_background_with_a_pidfile,
                                        extra_setup, extra_teardown),
        cmocka_unit_test_setup_teardown(test_syslog_option_keeps_stderr_empty, extra_setup,
                                        extra_teardown),
        cmocka_unit_test_setup_teardown(test_max_entries_bounds_the_table, extra_setup,
                                        extra_teardown),
        cmocka_unit_test_setup_teardown(test_wildcard_binding_answers_each_family_for_its_netid,
                                        extra_setup, extra_teardown),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (mm_pid)
        mm_stop();
    unlink(state_path);
    rmdir(dir);
    return failed;
}
