/*
 * test_mm_hostile.c: the runtime's hostile-input battery
 * (tests/integ/test_server_hostile.c) applied to parley-matchmaker as a real
 * process on an unprivileged port of 127.0.0.1 (--no-state, its sockets in
 * a temporary folder), and the abuse peculiar to a binder: a table filled
 * by 10,000 SETs, over-long netids, addresses and owners (the "rpcbomb"
 * lengths), the remote-call procedures, names with bad characters.
 *
 * Each case checks the RPC error it earns or the close of its one
 * connection; after each, a fresh client's GETADDR must still find the
 * entry registered at the start, and the daemon's VmRSS must stay within a
 * generous bound of what it was then. At the end the daemon must exit 0 on
 * SIGTERM. argv[1] is the daemon.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "battery.h"
#include "matchmaker.h"
#include "parley/rpc.h"
#include "proc.h"
#include "raw.h"
#include "rpcb_prot.h"
#include "testproc.h"

#define MAX_ENTRIES "64"
#define KEEP_PROG   0x20000001u /* registered at the start, looked up after each case */
#define KEEP_ADDR   "127.0.0.1.1.2"

/* Bounds on the daemon's memory, in KiB. A build with AddressSanitizer
 * (the daemon is built as this test is) holds freed memory in quarantine
 * and pads every block, so its bounds are four times as generous. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_SCALE 4
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_SCALE 4
#endif
#endif
#ifndef RSS_SCALE
#define RSS_SCALE 1
#endif
#define RSS_BOUND (64 * 1024 * RSS_SCALE) /* after any case, over the start */
#define RSS_SMALL (4 * 1024 * RSS_SCALE)  /* where nothing should be allocated */

static const char *daemon_path;
static char dir[64], sock_path[96], rpcb_path[96];
static char addr[64]; /* tcp://127.0.0.1:port */
static int port;
static pid_t mm_pid;
static long rss_start;
static battery_target matchmaker; /* the daemon, once started */
static uint8_t buf[1 << 17];

static void put_string(raw_msg *m, const char *s)
{
    raw_opaque(m, s, (uint32_t)strlen(s));
}

/* rpcb_call appends a call of rpcbind's protocol taking an rpcb. */
static void rpcb_call(raw_msg *m, uint32_t xid, uint32_t vers, uint32_t proc, uint32_t prog,
                      const char *netid, const char *uaddr)
{
    raw_call(m, xid, MM_RPCBPROG, vers, proc);
    raw_u32(m, prog);
    raw_u32(m, 1);
    put_string(m, netid);
    put_string(m, uaddr);
    put_string(m, "");
}

/* call_expect sends m on a fresh connection and parses the reply. */
static void call_expect(const raw_msg *m, raw_reply *r)
{
    battery_call_expect(&matchmaker, m, r);
}

static uint32_t result_u32(const raw_reply *r)
{
    assert_true(r->result_len >= 4);
    const uint8_t *p = r->result;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* getaddr_keep: GETADDR (v4, over TCP) of the entry made at the start. */
static int getaddr_keep(void)
{
    raw_msg m = {0};
    raw_reply r;
    rpcb_call(&m, 0x600d, MM_RPCBVERS4, MM_RPCBPROC_GETADDR, KEEP_PROG, "tcp", "");
    int fd = raw_connect(addr);
    if (fd < 0)
        return -1;
    int rc = raw_call_reply(fd, &m, &r, buf, sizeof buf);
    close(fd);
    if (rc != 0 || r.accept_stat != PARLEY_SUCCESS || r.result_len < 4 + strlen(KEEP_ADDR))
        return -1;
    return memcmp(r.result + 4, KEEP_ADDR, strlen(KEEP_ADDR)) == 0 ? 0 : -1;
}

/* still_serving: the check after every case. */
static void still_serving(void)
{
    assert_int_equal(getaddr_keep(), 0);
    long rss = integ_rss_kib(mm_pid);
    assert_true(rss > 0);
    assert_true(rss - rss_start < RSS_BOUND);
}

static int mm_start(void)
{
    snprintf(sock_path, sizeof sock_path, "%s/mm.sock", dir);
    snprintf(rpcb_path, sizeof rpcb_path, "%s/rpcb.sock", dir);
    for (int attempt = 0; attempt < 5; attempt++) {
        port = pt_free_port();
        char ports[16];
        snprintf(ports, sizeof ports, "%d", port);
        snprintf(addr, sizeof addr, "tcp://127.0.0.1:%d", port);
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            execl(daemon_path, daemon_path, "--port", ports, "--bind", "127.0.0.1", "--socket",
                  sock_path, "--rpcbind-socket", rpcb_path, "--no-state", "--check-ms", "0",
                  "--max-entries", MAX_ENTRIES, (char *)NULL);
            _exit(127);
        }
        if (pid < 0)
            return -1;
        for (int i = 0; i < 200; i++) {
            if (waitpid(pid, NULL, WNOHANG) == pid) {
                pid = 0;
                break;
            }
            int fd = raw_connect(addr);
            if (fd >= 0) {
                close(fd);
                mm_pid = pid;
                return 0;
            }
            poll(NULL, 0, 25);
        }
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
    }
    return -1;
}

static int group_setup(void **state)
{
    (void)state;
    if (mm_start() != 0)
        return -1;
    raw_msg m = {0};
    raw_reply r;
    rpcb_call(&m, 1, MM_RPCBVERS, MM_RPCBPROC_SET, KEEP_PROG, "tcp", KEEP_ADDR);
    int fd = raw_connect(addr);
    int rc = fd >= 0 ? raw_call_reply(fd, &m, &r, buf, sizeof buf) : -1;
    if (fd >= 0)
        close(fd);
    if (rc != 0 || r.accept_stat != PARLEY_SUCCESS || getaddr_keep() != 0)
        return -1;
    rss_start = integ_rss_kib(mm_pid);
    matchmaker = (battery_target){.addr = addr,
                                  .name = "daemon",
                                  .pid = mm_pid,
                                  .nodelay = 1,
                                  .rss_small = RSS_SMALL,
                                  .rss_bound = RSS_BOUND,
                                  .served = getaddr_keep,
                                  .still_serving = still_serving};
    return rss_start > 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    if (mm_pid > 0) { /* only when a test failed before the last one */
        kill(mm_pid, SIGKILL);
        waitpid(mm_pid, NULL, 0);
    }
    unlink(sock_path);
    unlink(rpcb_path);
    rmdir(dir);
    return 0;
}

static void test_truncated_headers_close_the_connection(void **state)
{
    (void)state;
    battery_truncated_headers(&matchmaker, MM_RPCBPROG, MM_RPCBVERS4, MM_RPCBPROC_NULL);
}

static void test_malformed_headers_close_the_connection(void **state)
{
    (void)state;
    battery_malformed_headers(&matchmaker, MM_RPCBPROG, MM_RPCBVERS4, MM_RPCBPROC_NULL);
}

static void test_wrong_rpc_version_is_rpc_mismatch_2_2(void **state)
{
    (void)state;
    battery_wrong_rpc_version(&matchmaker, MM_RPCBPROG, MM_RPCBVERS4);
}

static void test_unknown_program_is_prog_unavail(void **state)
{
    (void)state;
    static const uint32_t progs[] = {100003, MATCHMAKER_PROG + 1, 0};
    battery_unknown_programs(&matchmaker, progs, sizeof progs / sizeof progs[0]);
}

static void test_unknown_version_is_prog_mismatch_with_low_and_high(void **state)
{
    (void)state;
    raw_msg m = {0}; /* the matchmaker's own program has version 1 only */
    raw_reply r;
    raw_call(&m, 6, MATCHMAKER_PROG, 2, 0);
    call_expect(&m, &r);
    assert_int_equal(r.accept_stat, PARLEY_PROG_MISMATCH);
    assert_int_equal(r.low, 1);
    assert_int_equal(r.high, 1);
    /* rpcbind's has versions 2 to 4 */
    static const uint32_t bad[] = {0, 1, 5, 0xffffffffu};
    battery_unknown_versions(&matchmaker, MM_RPCBPROG, bad, sizeof bad / sizeof bad[0], 2, 4);
}

static void test_unknown_procedures_and_remote_calls_are_proc_unavail(void **state)
{
    (void)state;
    /* CALLIT (v2, v3), BCAST and INDIRECT (v4) forward calls: refused like
     * procedures that do not exist, and nothing is forwarded */
    static const struct {
        uint32_t vers, proc;
    } calls[] = {
        {MM_PMAPVERS, MM_PMAPPROC_CALLIT},
        {MM_RPCBVERS, MM_RPCBPROC_CALLIT},
        {MM_RPCBVERS4, MM_RPCBPROC_BCAST},
        {MM_RPCBVERS4, MM_RPCBPROC_INDIRECT},
        {MM_PMAPVERS, 6},
        {MM_RPCBVERS, 9},
        {MM_RPCBVERS4, 13},
        {MM_RPCBVERS4, 0xffffffffu},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        raw_msg m = {0};
        raw_reply r;
        raw_call(&m, 7, MM_RPCBPROG, calls[i].vers, calls[i].proc);
        /* call_args / rpcb_rmtcallargs of a NULL call to the matchmaker */
        raw_u32(&m, MATCHMAKER_PROG);
        raw_u32(&m, MATCHMAKER_VERS);
        raw_u32(&m, 0);
        if (calls[i].vers == MM_PMAPVERS)
            raw_u32(&m, 0);
        else
            raw_opaque(&m, NULL, 0);
        call_expect(&m, &r);
        assert_int_equal(r.reply_stat, PARLEY_MSG_ACCEPTED);
        assert_int_equal(r.accept_stat, PARLEY_PROC_UNAVAIL);
    }
    raw_msg m = {0};
    raw_reply r;
    raw_call(&m, 8, MATCHMAKER_PROG, MATCHMAKER_VERS, 8); /* 7 is CLUSTER */
    call_expect(&m, &r);
    assert_int_equal(r.accept_stat, PARLEY_PROC_UNAVAIL);
    still_serving();
}

static void test_auth_body_over_400_bytes_closes_the_connection(void **state)
{
    (void)state;
    battery_auth_body_over_400(&matchmaker, MM_RPCBPROG, MM_RPCBVERS4, MM_RPCBPROC_NULL);
}

static void test_huge_fragment_header_closes_before_allocating(void **state)
{
    (void)state;
    battery_huge_fragment_header(&matchmaker);
}

static void test_endless_empty_fragments_close_the_connection(void **state)
{
    (void)state;
    battery_endless_empty_fragments(&matchmaker);
}

/* expect_garbage: m, a whole call, gets GARBAGE_ARGS. */
static void expect_garbage(const raw_msg *m)
{
    raw_reply r;
    call_expect(m, &r);
    assert_int_equal(r.reply_stat, PARLEY_MSG_ACCEPTED);
    assert_int_equal(r.accept_stat, PARLEY_GARBAGE_ARGS);
}

/* string_claim: a call of (prog, vers, proc) whose first string argument,
 * after `words` words, claims len bytes and carries only a few. */
static void string_claim(uint32_t prog, uint32_t vers, uint32_t proc, int words, uint32_t len)
{
    raw_msg m = {0};
    raw_call(&m, 9, prog, vers, proc);
    for (int i = 0; i < words; i++)
        raw_u32(&m, 1);
    raw_u32(&m, len);
    raw_bytes(&m, "xyz", 4);
    expect_garbage(&m);
}

static void test_string_lengths_of_0xffffffff_are_garbage_args(void **state)
{
    (void)state;
    long before = integ_rss_kib(mm_pid);
    uint32_t lens[] = {0xffffffffu, 0x40000000u, 0x7ffffffcu};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        /* SET and GETADDR: r_netid after r_prog and r_vers */
        string_claim(MM_RPCBPROG, MM_RPCBVERS, MM_RPCBPROC_SET, 2, lens[i]);
        string_claim(MM_RPCBPROG, MM_RPCBVERS4, MM_RPCBPROC_GETADDR, 2, lens[i]);
        string_claim(MM_RPCBPROG, MM_RPCBVERS4, MM_RPCBPROC_UADDR2TADDR, 0, lens[i]);
        /* REGISTER: the name first; LOOKUP too */
        string_claim(MATCHMAKER_PROG, MATCHMAKER_VERS, MATCHMAKER_REGISTER, 0, lens[i]);
        string_claim(MATCHMAKER_PROG, MATCHMAKER_VERS, MATCHMAKER_LOOKUP, 0, lens[i]);
    }
    long after = integ_rss_kib(mm_pid);
    assert_true(after - before < RSS_SMALL); /* nothing near what was claimed */
    still_serving();
}

/* rpcb_strings: SET (v3) with these strings, whole. */
static void rpcb_strings(raw_msg *m, const char *netid, const char *uaddr, const char *owner)
{
    raw_call(m, 10, MM_RPCBPROG, MM_RPCBVERS, MM_RPCBPROC_SET);
    raw_u32(m, 0x20000077);
    raw_u32(m, 1);
    put_string(m, netid);
    put_string(m, uaddr);
    put_string(m, owner);
}

static void test_over_long_strings_and_lists_are_garbage_args(void **state)
{
    (void)state;
    char s[600];
    memset(s, 'a', sizeof s);
    s[MM_RPCB_NETID_MAX + 1] = '\0'; /* one over each bound */
    raw_msg m = {0};
    rpcb_strings(&m, s, KEEP_ADDR, "");
    expect_garbage(&m);
    memset(s, '1', sizeof s);
    s[MM_RPCB_ADDR_MAX + 1] = '\0';
    m.n = 0;
    rpcb_strings(&m, "tcp", s, "");
    expect_garbage(&m);
    s[MM_RPCB_OWNER_MAX + 1] = '\0';
    m.n = 0;
    rpcb_strings(&m, "tcp", KEEP_ADDR, s);
    expect_garbage(&m);
    /* a netbuf over sizeof(struct sockaddr_storage) in TADDR2UADDR */
    m.n = 0;
    raw_call(&m, 11, MM_RPCBPROG, MM_RPCBVERS4, MM_RPCBPROC_TADDR2UADDR);
    raw_u32(&m, 256);
    raw_opaque(&m, s, MM_RPCB_TADDR_MAX + 1);
    expect_garbage(&m);
    /* REGISTER: name, netid and uaddr one over their bounds */
    static const uint32_t over[3] = {MM_NAME_MAX + 1, MM_NETID_MAX + 1, MM_UADDR_MAX + 1};
    for (int field = 0; field < 3; field++) {
        m.n = 0;
        raw_call(&m, 12, MATCHMAKER_PROG, MATCHMAKER_VERS, MATCHMAKER_REGISTER);
        raw_opaque(&m, s, field == 0 ? over[0] : 3);
        raw_u32(&m, 0x20000078);
        raw_u32(&m, 1);
        raw_opaque(&m, field == 1 ? s : "tcp", field == 1 ? over[1] : 3);
        raw_opaque(&m, field == 2 ? s : KEEP_ADDR,
                   field == 2 ? over[2] : (uint32_t)strlen(KEEP_ADDR));
        expect_garbage(&m);
    }
    /* the same strings at their bounds decode: an answer, not an error */
    memset(s, 'a', sizeof s);
    s[MM_RPCB_NETID_MAX] = '\0';
    m.n = 0;
    rpcb_strings(&m, s, KEEP_ADDR, "");
    raw_reply r;
    call_expect(&m, &r);
    assert_int_equal(r.accept_stat, PARLEY_SUCCESS);
    assert_int_equal(result_u32(&r), 0); /* no such netid: FALSE */
    still_serving();
}

/* mm_register sends REGISTER over fd: the status. Each call has an xid of
 * its own, as RFC 5531 asks of a client: the same xid, arguments and
 * address are a retransmission, which the server's duplicate request
 * cache answers with the first call's reply. */
static uint32_t mm_register(int fd, const char *name, uint32_t prog, const char *netid,
                            const char *uaddr)
{
    static uint32_t next_xid = 0x7e000000u;
    raw_msg m = {0};
    raw_reply r;
    raw_call(&m, next_xid++, MATCHMAKER_PROG, MATCHMAKER_VERS, MATCHMAKER_REGISTER);
    put_string(&m, name);
    raw_u32(&m, prog);
    raw_u32(&m, 1);
    put_string(&m, netid);
    put_string(&m, uaddr);
    assert_int_equal(raw_call_reply(fd, &m, &r, buf, sizeof buf), 0);
    assert_int_equal(r.accept_stat, PARLEY_SUCCESS);
    return result_u32(&r);
}

static uint32_t mm_lookup(int fd, const char *name)
{
    raw_msg m = {0};
    raw_reply r;
    raw_call(&m, 3, MATCHMAKER_PROG, MATCHMAKER_VERS, MATCHMAKER_LOOKUP);
    put_string(&m, name);
    raw_u32(&m, 0);
    put_string(&m, "");
    assert_int_equal(raw_call_reply(fd, &m, &r, buf, sizeof buf), 0);
    assert_int_equal(r.accept_stat, PARLEY_SUCCESS);
    return result_u32(&r);
}

static void test_names_with_bad_characters_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {"bad name", "a/b",        "",
                                      "-lead",    ".lead",      "tab\there",
                                      "nul\001",  "semi;colon", "\xc3\xa9t\xc3\xa9"};
    int fd = battery_open_conn(&matchmaker);
    assert_true(fd >= 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(mm_register(fd, bad[i], 0x20000080 + (uint32_t)i, "tcp", KEEP_ADDR),
                         MM_INVALID);
        assert_int_equal(mm_lookup(fd, bad[i]), MM_INVALID);
    }
    /* a bad netid or address is refused too, in both protocols */
    assert_int_equal(mm_register(fd, "good", 0x20000090, "tc p", KEEP_ADDR), MM_INVALID);
    assert_int_equal(mm_register(fd, "good", 0x20000090, "tcp", "not-an-address"), MM_INVALID);
    static const char *const bad_uaddr[] = {"not-an-address", "127.0.0.1.300.1", "1.2.3"};
    for (size_t i = 0; i < sizeof bad_uaddr / sizeof bad_uaddr[0]; i++) {
        raw_msg m = {0};
        raw_reply r;
        rpcb_call(&m, 4, MM_RPCBVERS, MM_RPCBPROC_SET, 0x20000091, "tcp", bad_uaddr[i]);
        assert_int_equal(raw_call_reply(fd, &m, &r, buf, sizeof buf), 0);
        assert_int_equal(r.accept_stat, PARLEY_SUCCESS);
        assert_int_equal(result_u32(&r), 0);
    }
    battery_close_conn(fd);
    still_serving();
}

static void test_a_reply_sent_to_the_daemon_closes_the_connection(void **state)
{
    (void)state;
    battery_reply_sent(&matchmaker);
}

static void test_random_bytes_are_closed_or_ignored(void **state)
{
    (void)state;
    battery_random_bytes(&matchmaker, port); /* each round's bytes over UDP too */
}

static void test_unread_pipelined_calls_keep_the_daemon_bounded(void **state)
{
    (void)state;
    raw_msg m = {0}; /* each answered with the whole table */
    raw_call(&m, 0, MM_RPCBPROG, MM_RPCBVERS4, MM_RPCBPROC_DUMP);
    battery_unread_pipelined(&matchmaker, &m, "DUMPs", 1);
}

static void test_a_dribbling_client_does_not_stop_others(void **state)
{
    (void)state;
    raw_msg m = {0};
    rpcb_call(&m, 1, MM_RPCBVERS4, MM_RPCBPROC_GETADDR, KEEP_PROG, "tcp", "");
    battery_dribbling_client(&matchmaker, &m);
}

static void test_a_thousand_idle_connections_leave_others_served(void **state)
{
    (void)state;
    battery_idle_connections(&matchmaker);
}

/* open_local connects to the daemon's rpcbind socket (a Unix stream
 * socket, where local registrants call). */
static int open_local(void)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", rpcb_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return battery_track(fd);
}

/* 10,000 SETs of distinct programs over one connection: the table takes
 * what --max-entries allows and refuses the rest (FALSE; REGISTER says
 * MM_FULL); the daemon stays up and within bounds. The flood goes over the
 * local socket: over loopback TCP the daemon learns each caller's uid from
 * /proc/net, which makes a SET cost milliseconds on a host with many
 * sockets, and the test's time would depend on the host. */
static void test_ten_thousand_sets_stop_at_max_entries(void **state)
{
    (void)state;
    enum { SETS = 10000 };
    long before = integ_rss_kib(mm_pid);
    int fd = open_local();
    assert_true(fd >= 0);
    int accepted = 0, last_true = -1;
    for (int i = 0; i < SETS; i++) {
        raw_msg m = {0};
        raw_reply r;
        rpcb_call(&m, (uint32_t)i, MM_RPCBVERS, MM_RPCBPROC_SET, 0x21000000u + (uint32_t)i,
                  i % 2 ? "udp" : "tcp", KEEP_ADDR);
        assert_int_equal(raw_call_reply(fd, &m, &r, buf, sizeof buf), 0);
        assert_int_equal(r.xid, (uint32_t)i);
        assert_int_equal(r.accept_stat, PARLEY_SUCCESS);
        if (result_u32(&r)) {
            accepted++;
            last_true = i;
        }
    }
    print_message("10,000 SETs: %d accepted (--max-entries " MAX_ENTRIES "), the last at %d\n",
                  accepted, last_true);
    assert_true(accepted > 0 && accepted <= atoi(MAX_ENTRIES));
    assert_int_equal(last_true, accepted - 1); /* none once full */
    assert_int_equal(mm_register(fd, "one-more", 0x2000fff0, "tcp", KEEP_ADDR), MM_FULL);
    /* still full after the flood; a look-up of one of them works */
    raw_msg m = {0};
    raw_reply r;
    rpcb_call(&m, 5, MM_RPCBVERS4, MM_RPCBPROC_GETADDR, 0x21000000u, "tcp", "");
    assert_int_equal(raw_call_reply(fd, &m, &r, buf, sizeof buf), 0);
    assert_int_equal(r.accept_stat, PARLEY_SUCCESS);
    assert_int_equal(result_u32(&r), strlen(KEEP_ADDR));
    /* UNSET of them all makes room again */
    for (int i = 0; i < accepted; i++) {
        m.n = 0;
        rpcb_call(&m, 6, MM_RPCBVERS, MM_RPCBPROC_UNSET, 0x21000000u + (uint32_t)i, "", "");
        assert_int_equal(raw_call_reply(fd, &m, &r, buf, sizeof buf), 0);
        assert_int_equal(result_u32(&r), 1);
    }
    assert_int_equal(mm_register(fd, "one-more", 0x2000fff0, "tcp", KEEP_ADDR), MM_OK);
    battery_close_conn(fd);
    long after = integ_rss_kib(mm_pid);
    assert_true(after - before < RSS_BOUND);
    still_serving();
}

static void test_the_daemon_exits_zero_on_sigterm(void **state)
{
    (void)state;
    still_serving();
    kill(mm_pid, SIGTERM);
    int st = -1;
    pid_t got = 0;
    for (int i = 0; i < 500 && got != mm_pid; i++) {
        got = waitpid(mm_pid, &st, WNOHANG);
        if (got != mm_pid)
            poll(NULL, 0, 10);
    }
    assert_int_equal(got, mm_pid);
    mm_pid = 0;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s parley-matchmaker [filter]\n", argv[0]);
        return 2;
    }
    daemon_path = argv[1];
    if (argc > 2)
        cmocka_set_test_filter(argv[2]);
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mmhXXXXXX", tmp && *tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_truncated_headers_close_the_connection, battery_close_all),
        cmocka_unit_test_teardown(test_malformed_headers_close_the_connection, battery_close_all),
        cmocka_unit_test_teardown(test_wrong_rpc_version_is_rpc_mismatch_2_2, battery_close_all),
        cmocka_unit_test_teardown(test_unknown_program_is_prog_unavail, battery_close_all),
        cmocka_unit_test_teardown(test_unknown_version_is_prog_mismatch_with_low_and_high,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_unknown_procedures_and_remote_calls_are_proc_unavail,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_auth_body_over_400_bytes_closes_the_connection,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_huge_fragment_header_closes_before_allocating,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_endless_empty_fragments_close_the_connection,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_string_lengths_of_0xffffffff_are_garbage_args,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_over_long_strings_and_lists_are_garbage_args,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_names_with_bad_characters_are_refused, battery_close_all),
        cmocka_unit_test_teardown(test_a_reply_sent_to_the_daemon_closes_the_connection,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_random_bytes_are_closed_or_ignored, battery_close_all),
        cmocka_unit_test_teardown(test_unread_pipelined_calls_keep_the_daemon_bounded,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_a_dribbling_client_does_not_stop_others, battery_close_all),
        cmocka_unit_test_teardown(test_a_thousand_idle_connections_leave_others_served,
                                  battery_close_all),
        cmocka_unit_test_teardown(test_ten_thousand_sets_stop_at_max_entries, battery_close_all),
        cmocka_unit_test_teardown(test_the_daemon_exits_zero_on_sigterm, battery_close_all),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
