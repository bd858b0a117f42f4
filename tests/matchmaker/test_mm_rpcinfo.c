/*
 * tests/matchmaker/test_mm_rpcinfo.c: parley-matchmaker against the
 * reference tools of rpcbind: Debian's rpcinfo, libtirpc servers that
 * register with svc_create (rpcbind's SET over its local socket) and with
 * pmap_set (the port mapper's SET), and libtirpc clients that find a Parley
 * server through GETADDR and GETPORT and call it.
 *
 * The daemon runs on the well-known port 111 and rpcbind's socket
 * /run/rpcbind.sock, where those tools look, so the test moves itself into
 * a network namespace and a mount namespace of its own (a tmpfs on /run)
 * first: it never meets an rpcbind of the host. Everything it starts runs
 * in those namespaces, which end with it. Without root, or where the
 * namespaces cannot be made, or without rpcinfo, every test is skipped and
 * says why. argv[1] is the daemon, argv[2] the Parley server
 * (mm_rpcinfo_peer.c). Every wait is bounded; every process started is
 * stopped. Built with PARLEY_INTEROP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rpc/rpc.h>
#include <rpc/pmap_clnt.h>

#include <cmocka.h>

#include "matchmaker.h"
#include "parley/client.h"
#include "testproc.h"

#define S(x) ((char *)(uintptr_t)(x))

#define INTEG_PROG  0x20000200u /* integ.x, served by the Parley peer */
#define TIRPC_PROG  0x20000300u /* the libtirpc server of svc_create */
#define PMAP_PROG   0x20000301u /* the libtirpc server of pmap_set */
#define TIRPC_VERS  1u
#define PEER_NAME   "rpcinfo-peer"
#define MM_SOCK     "/run/parley/matchmaker.sock"
#define OUT_CAP     16384
#define CMD_TIMEOUT 10000

static const char *daemon_path, *peer_path;
static const char *skip_reason;
/* "another host": a network namespace of the test's own (REMOTE_NS), joined
 * to the test's by a veth pair with addresses in a private range that
 * exist only inside the two namespaces */
#define REMOTE_NS   "parleymm-remote"
#define LOCAL_ADDR  "10.211.0.1"
#define REMOTE_ADDR "10.211.0.2"
static const char *remote_skip; /* why there is no other host, or NULL */
static int remote_fd = -1;      /* the other host's namespace (setns) */
static int run_remote;          /* rpcinfo runs in the other host */
static char ip_path[256];
static char rpcinfo_path[256];
static pid_t mm_pid, peer_pid;
static int peer_out = -1;
static unsigned peer_tcp, peer_udp;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* stop sends SIGTERM, then SIGKILL after 5 s; the exit status or -1. */
static int stop(pid_t *pid)
{
    if (*pid <= 0)
        return -1;
    kill(*pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 500; i++) {
        if (waitpid(*pid, &st, WNOHANG) == *pid) {
            *pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        pt_sleep_ms(10);
    }
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = 0;
    return -1;
}

/* read_until reads fd into buf (cap bytes, NUL-terminated) until EOF, or
 * until it holds stop_at when that is given, for at most timeout_ms; the
 * bytes read, -1 on timeout. */
static int read_until(int fd, char *buf, size_t cap, const char *stop_at, int timeout_ms)
{
    size_t n = 0;
    buf[0] = '\0';
    long long end = now_ms() + timeout_ms;
    for (;;) {
        if (stop_at && strstr(buf, stop_at))
            return (int)n;
        long long left = end - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r <= 0)
            return (int)n;
        n += (size_t)r;
        buf[n] = '\0';
        if (n == cap - 1)
            return (int)n;
    }
}

static int rpcinfo(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* rpcinfo runs rpcinfo with args (split at spaces) and puts what it
 * printed (stdout and stderr) in out; its exit status, or -1 when it did
 * not end within CMD_TIMEOUT (it is killed then). */
static int rpcinfo(char *out, const char *fmt, ...)
{
    char args[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    char *argv[32];
    int argc = 0;
    argv[argc++] = rpcinfo_path;
    for (char *save = NULL, *t = strtok_r(args, " ", &save); t && argc < 31;
         t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    argv[argc] = NULL;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        if (run_remote && setns(remote_fd, CLONE_NEWNET) != 0)
            _exit(126);
        execv(rpcinfo_path, argv);
        _exit(127);
    }
    close(p[1]);
    int n = read_until(p[0], out, OUT_CAP, NULL, CMD_TIMEOUT);
    close(p[0]);
    if (n < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    int st = 0;
    long long end = now_ms() + CMD_TIMEOUT;
    while (waitpid(pid, &st, WNOHANG) != pid) {
        if (now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -1;
        }
        pt_sleep_ms(5);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* has_line says whether text has a line whose words, separated by single
 * spaces, are want. */
static int has_line(const char *text, const char *want)
{
    const char *s = text;
    while (*s) {
        char line[512];
        size_t n = 0;
        int space = 0;
        for (; *s && *s != '\n'; s++) {
            if (*s == ' ' || *s == '\t') {
                space = n > 0;
                continue;
            }
            if (space && n < sizeof line - 1)
                line[n++] = ' ';
            space = 0;
            if (n < sizeof line - 1)
                line[n++] = *s;
        }
        line[n] = '\0';
        if (strcmp(line, want) == 0)
            return 1;
        if (*s)
            s++;
    }
    return 0;
}

/* words splits the line of text whose first word is first into at most
 * max words (in buf); how many, 0 when there is no such line. */
static int words(const char *text, const char *first, char *buf, size_t cap, char **w, int max)
{
    size_t fl = strlen(first);
    for (const char *s = text; *s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : s + strlen(s)) {
        while (*s == ' ')
            s++;
        if (strncmp(s, first, fl) != 0 || (s[fl] != ' ' && s[fl] != '\t'))
            continue;
        size_t n = strcspn(s, "\n");
        if (n >= cap)
            n = cap - 1;
        memcpy(buf, s, n);
        buf[n] = '\0';
        int k = 0;
        for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t && k < max;
             t = strtok_r(NULL, " \t", &save))
            w[k++] = t;
        return k;
    }
    return 0;
}

/* in_list says whether the comma-separated list has item. */
static int in_list(const char *list, const char *item)
{
    size_t n = strlen(item);
    for (const char *s = list; s; s = strchr(s, ',') ? strchr(s, ',') + 1 : NULL)
        if (strncmp(s, item, n) == 0 && (s[n] == ',' || s[n] == '\0'))
            return 1;
    return 0;
}

/* ---- the namespaces and the processes ---- */

/* lo_up brings the namespace's loopback interface up. */
static int lo_up(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    close(fd);
    return rc;
}

/* find_rpcinfo looks for rpcinfo along PATH, then in the system folders
 * (Debian has it in /usr/sbin, which a user's PATH may lack). */
static int find_rpcinfo(void)
{
    char path[2048];
    const char *env = getenv("PATH");
    snprintf(path, sizeof path, "%s:/usr/sbin:/sbin:/usr/bin", env ? env : "");
    for (char *save = NULL, *d = strtok_r(path, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(rpcinfo_path, sizeof rpcinfo_path, "%s/rpcinfo", d);
        if (*d && access(rpcinfo_path, X_OK) == 0)
            return 0;
    }
    return -1;
}

/* port_open says whether 127.0.0.1:111 accepts a TCP connection. */
static int port_open(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(111);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static int start_daemon(void)
{
    mm_pid = fork();
    if (mm_pid < 0)
        return -1;
    if (mm_pid == 0) {
        execl(daemon_path, daemon_path, "--socket", MM_SOCK, "--no-state", "--check-ms", "0",
              S(NULL));
        _exit(127);
    }
    for (int i = 0; i < 400; i++) {
        if (waitpid(mm_pid, NULL, WNOHANG) == mm_pid) {
            mm_pid = 0;
            return -1;
        }
        if (port_open() && access("/run/rpcbind.sock", F_OK) == 0 && access(MM_SOCK, F_OK) == 0)
            return 0;
        pt_sleep_ms(10);
    }
    return -1;
}

/* start_peer starts the Parley server and reads its ports. */
static int start_peer(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    peer_pid = fork();
    if (peer_pid < 0)
        return -1;
    if (peer_pid == 0) {
        dup2(p[1], 1);
        execl(peer_path, peer_path, PEER_NAME, S(NULL));
        _exit(127);
    }
    close(p[1]);
    peer_out = p[0];
    char buf[512];
    if (read_until(peer_out, buf, sizeof buf, "ready\n", 5000) < 0)
        return -1;
    const char *t = strstr(buf, "tcp://0.0.0.0:"), *u = strstr(buf, "udp://0.0.0.0:");
    if (!t || !u)
        return -1;
    peer_tcp = (unsigned)atoi(t + strlen("tcp://0.0.0.0:"));
    peer_udp = (unsigned)atoi(u + strlen("udp://0.0.0.0:"));
    return peer_tcp && peer_udp ? 0 : -1;
}

/* ip runs ip(8) with args (split at spaces), quietly; its exit status. */
static int ip(const char *args)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", args);
    char *argv[16];
    int argc = 0;
    argv[argc++] = ip_path;
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t && argc < 15;
         t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0) {
            dup2(nul, 1);
            dup2(nul, 2);
        }
        execv(ip_path, argv);
        _exit(127);
    }
    int st = 0;
    for (int i = 0; i < 1000; i++) { /* at most 10 s */
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        pt_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* remote_setup makes the other host (REMOTE_NS, with REMOTE_ADDR) and
 * gives the test's namespace LOCAL_ADDR, on a veth pair; on failure
 * remote_skip says why. */
static void remote_setup(void)
{
    char path[2048];
    const char *env = getenv("PATH");
    snprintf(path, sizeof path, "%s:/usr/sbin:/sbin:/usr/bin:/bin", env ? env : "");
    ip_path[0] = '\0';
    for (char *save = NULL, *d = strtok_r(path, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(ip_path, sizeof ip_path, "%s/ip", d);
        if (*d && access(ip_path, X_OK) == 0)
            break;
        ip_path[0] = '\0';
    }
    if (!ip_path[0]) {
        remote_skip = "ip(8) is not installed (Debian's iproute2)";
        return;
    }
    if (ip("netns add " REMOTE_NS) != 0 ||
        ip("link add pmmv0 type veth peer name pmmv1 netns " REMOTE_NS) != 0 ||
        ip("addr add " LOCAL_ADDR "/24 dev pmmv0") != 0 || ip("link set pmmv0 up") != 0 ||
        ip("-n " REMOTE_NS " addr add " REMOTE_ADDR "/24 dev pmmv1") != 0 ||
        ip("-n " REMOTE_NS " link set pmmv1 up") != 0 ||
        ip("-n " REMOTE_NS " link set lo up") != 0) {
        remote_skip = "cannot make a network namespace and a veth pair with ip(8)";
        return;
    }
    remote_fd = open("/run/netns/" REMOTE_NS, O_RDONLY | O_CLOEXEC);
    if (remote_fd < 0)
        remote_skip = "cannot open the other namespace";
}

static int group_setup(void **state)
{
    (void)state;
    if (getuid() != 0) {
        skip_reason = "not root: the test needs network and mount namespaces of its own";
        return 0;
    }
    if (find_rpcinfo() != 0) {
        skip_reason = "rpcinfo is not installed (Debian's rpcbind package)";
        return 0;
    }
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) {
        skip_reason = errno == EPERM ? "unshare: not permitted here (a container without "
                                       "CAP_SYS_ADMIN?)"
                                     : "unshare failed";
        return 0;
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) {
        skip_reason = "cannot mount a tmpfs on /run in the new mount namespace";
        return 0;
    }
    if (lo_up() != 0) {
        skip_reason = "cannot bring lo up in the new network namespace";
        return 0;
    }
    if (start_daemon() != 0) {
        fprintf(stderr, "the matchmaker did not start on port 111\n");
        return -1;
    }
    if (start_peer() != 0) {
        fprintf(stderr, "the Parley server did not start\n");
        return -1;
    }
    remote_setup();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    int rc = 0;
    if (peer_pid > 0 && stop(&peer_pid) != 0)
        rc = -1;
    if (peer_out >= 0)
        close(peer_out);
    if (mm_pid > 0 && stop(&mm_pid) != 0)
        rc = -1;
    if (remote_fd >= 0) {
        close(remote_fd);
        ip("netns del " REMOTE_NS); /* and its end of the veth pair, and the pair */
    }
    return rc;
}

#define NEED_NAMESPACE()                                                                           \
    do {                                                                                           \
        if (skip_reason) {                                                                         \
            print_message("skipped: %s\n", skip_reason);                                           \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* ---- the matchmaker's own protocol, to compare ---- */

static parley_client *mm_client(void)
{
    parley_client *c = NULL;
    parley_client_opts o = {.timeout_ms = 3000};
    assert_int_equal(
        parley_client_create(&c, "unix://" MM_SOCK, MATCHMAKER_PROG, MATCHMAKER_VERS, &o),
        PARLEY_OK);
    return c;
}

/* mm_find looks for (prog, vers, netid) in the matchmaker's LIST: 1 and
 * its owner in owner (32 bytes), or 0. */
static int mm_find(uint32_t prog, uint32_t vers, const char *netid, char *owner)
{
    parley_client *c = mm_client();
    mm_entry_list l;
    memset(&l, 0, sizeof l);
    assert_int_equal(matchmaker_list_1(c, &l), PARLEY_OK);
    int found = 0;
    for (u_int i = 0; i < l.mm_entry_list_len; i++) {
        const mm_entry *e = &l.mm_entry_list_val[i];
        if (e->prog == prog && e->vers == vers && strcmp(e->netid, netid) == 0) {
            snprintf(owner, 32, "%s", e->owner);
            found = 1;
        }
    }
    mm_entry_list_free(&l);
    parley_client_destroy(c);
    return found;
}

/* ---- rpcinfo against the matchmaker and a Parley server ---- */

static void test_dump_portmapper(void **state)
{
    (void)state;
    NEED_NAMESPACE();
    char *out = malloc(OUT_CAP), want[128];
    assert_non_null(out);
    assert_int_equal(rpcinfo(out, "-p"), 0);
    assert_true(has_line(out, "program vers proto port service"));
    for (unsigned v = 2; v <= 4; v++) {
        snprintf(want, sizeof want, "100000 %u tcp 111 portmapper", v);
        assert_true(has_line(out, want));
        snprintf(want, sizeof want, "100000 %u udp 111 portmapper", v);
        assert_true(has_line(out, want));
    }
    for (unsigned v = 1; v <= 3; v += 2) {
        snprintf(want, sizeof want, "%u %u tcp %u", INTEG_PROG, v, peer_tcp);
        assert_true(has_line(out, want));
        snprintf(want, sizeof want, "%u %u udp %u", INTEG_PROG, v, peer_udp);
        assert_true(has_line(out, want));
    }
    /* the same through the local socket's rpcbind DUMP */
    assert_int_equal(rpcinfo(out, "%s", ""), 0); /* the rpcbind DUMP */
    assert_true(has_line(out, "100000 2 tcp 0.0.0.0.0.111 portmapper superuser"));
    assert_true(has_line(out, "100000 4 udp 0.0.0.0.0.111 portmapper superuser"));
    assert_true(has_line(out, "100000 4 local /run/rpcbind.sock portmapper superuser"));
    snprintf(want, sizeof want, "%u 3 tcp 0.0.0.0.%u.%u - superuser", INTEG_PROG, peer_tcp >> 8,
             peer_tcp & 0xff);
    assert_true(has_line(out, want));
    free(out);
}

static void test_dump_summary(void **state)
{
    (void)state;
    NEED_NAMESPACE();
    char *out = malloc(OUT_CAP), buf[512], prog[16];
    char *w[8];
    assert_non_null(out);
    assert_int_equal(rpcinfo(out, "-s"), 0);
    assert_true(has_line(out, "program version(s) netid(s) service owner"));
    assert_int_equal(words(out, "100000", buf, sizeof buf, w, 8), 5);
    assert_string_equal(w[1], "2,3,4");
    assert_true(in_list(w[2], "tcp") && in_list(w[2], "udp") && in_list(w[2], "local"));
    assert_string_equal(w[3], "portmapper");
    assert_string_equal(w[4], "superuser");
    snprintf(prog, sizeof prog, "%u", INTEG_PROG);
    assert_int_equal(words(out, prog, buf, sizeof buf, w, 8), 5);
    assert_true(in_list(w[1], "1") && in_list(w[1], "3") && strlen(w[1]) == 3);
    assert_true(in_list(w[2], "tcp") && in_list(w[2], "udp"));
    assert_string_equal(w[3], "-");
    assert_string_equal(w[4], "superuser");
    free(out);
}

static void test_ping(void **state)
{
    (void)state;
    NEED_NAMESPACE();
    char *out = malloc(OUT_CAP), want[128];
    assert_non_null(out);
    const char *forms[] = {"-T tcp", "-T udp", "-t", "-u"};
    for (size_t i = 0; i < 4; i++) {
        for (unsigned v = 1; v <= 3; v += 2) {
            char args[64];
            snprintf(args, sizeof args, "%s localhost %u %u", forms[i], INTEG_PROG, v);
            assert_int_equal(rpcinfo(out, "%s", args), 0);
            snprintf(want, sizeof want, "program %u version %u ready and waiting", INTEG_PROG, v);
            if (!has_line(out, want))
                fail_msg("rpcinfo %s: %s", args, out);
        }
    }
    /* without a version: each of the program's versions, as the server
     * tells them (PROG_MISMATCH 1..3; version 2 is not served) */
    assert_int_equal(rpcinfo(out, "-t localhost %u", INTEG_PROG), 1);
    snprintf(want, sizeof want, "program %u version 1 ready and waiting", INTEG_PROG);
    assert_true(has_line(out, want));
    snprintf(want, sizeof want, "program %u version 3 ready and waiting", INTEG_PROG);
    assert_true(has_line(out, want));
    /* the port mapper itself */
    assert_int_equal(rpcinfo(out, "-T tcp localhost 100000 4"), 0);
    assert_true(has_line(out, "program 100000 version 4 ready and waiting"));
    assert_int_equal(rpcinfo(out, "-u localhost 100000 2"), 0);
    assert_true(has_line(out, "program 100000 version 2 ready and waiting"));
    /* at a universal address, without the matchmaker */
    assert_int_equal(
        rpcinfo(out, "-a 127.0.0.1.%u.%u -T tcp %u 3", peer_tcp >> 8, peer_tcp & 0xff, INTEG_PROG),
        0);
    snprintf(want, sizeof want, "program %u version 3 ready and waiting", INTEG_PROG);
    assert_true(has_line(out, want));
    free(out);
}

/* stat_row reads, in rpcinfo -m's output out, the figures under the
 * header line that begins with header in the section titled section: the
 * count of each column (for "a/b", b) into n and the part before the
 * slash, or -1, into ok; how many columns, 0 when it is not there. */
static int stat_row(const char *out, const char *section, const char *header, int *n, int *ok,
                    int max)
{
    const char *s = strstr(out, section);
    s = s ? strstr(s, header) : NULL;
    s = s ? strchr(s, '\n') : NULL;
    if (!s)
        return 0;
    char line[256];
    size_t len = strcspn(s + 1, "\n");
    if (len >= sizeof line)
        len = sizeof line - 1;
    memcpy(line, s + 1, len);
    line[len] = '\0';
    int k = 0;
    for (char *save = NULL, *t = strtok_r(line, " \t", &save); t && k < max;
         t = strtok_r(NULL, " \t", &save), k++) {
        char *slash = strchr(t, '/');
        ok[k] = slash ? atoi(t) : -1;
        n[k] = atoi(slash ? slash + 1 : t);
    }
    return k;
}

/* The GETSTAT figures rpcinfo -m shows: version 4's first row (NULL, SET,
 * UNSET, GETADDR, DUMP, CALLIT, TIME, U2T, T2U; GETADDR's calls include
 * GETADDRLIST's), its second (VERADDR, INDRECT, GETLIST, GETSTAT), and
 * version 2's first (NULL ... CALLIT). */
typedef struct stats {
    int v4[9], v4ok[9], v4b[4], v4bok[4], v2[6], v2ok[6];
} stats;

static void get_stats(char *out, stats *st)
{
    assert_int_equal(rpcinfo(out, "-m"), 0);
    assert_int_equal(stat_row(out, "RPCBIND (version 4)", "NULL", st->v4, st->v4ok, 9), 9);
    assert_int_equal(stat_row(out, "RPCBIND (version 4)", "VERADDR", st->v4b, st->v4bok, 4), 4);
    assert_int_equal(stat_row(out, "PORTMAP (version 2)", "NULL", st->v2, st->v2ok, 6), 6);
}

static void test_addrlist_and_stats(void **state)
{
    (void)state;
    NEED_NAMESPACE();
    char *out = malloc(OUT_CAP), want[160];
    assert_non_null(out);
    stats before, after;
    get_stats(out, &before);
    /* GETADDRLIST: the addresses of the caller's protocol family, merged
     * with the address it called (as rpcbind answers) */
    assert_int_equal(rpcinfo(out, "-l localhost %u 3", INTEG_PROG), 0);
    snprintf(want, sizeof want, "%u 3 inet/tcp/cots_ord 127.0.0.1.%u.%u -", INTEG_PROG,
             peer_tcp >> 8, peer_tcp & 0xff);
    if (!has_line(out, want))
        fail_msg("rpcinfo -l: %s", out);
    snprintf(want, sizeof want, "%u 3 inet/udp/clts 127.0.0.1.%u.%u -", INTEG_PROG, peer_udp >> 8,
             peer_udp & 0xff);
    assert_true(has_line(out, want));
    assert_null(strstr(out, "inet6"));
    assert_null(strstr(out, "loopback"));
    assert_int_equal(rpcinfo(out, "-l localhost 100000 4"), 0);
    if (!has_line(out, "100000 4 inet/tcp/cots_ord 127.0.0.1.0.111 portmapper") ||
        !has_line(out, "100000 4 inet/udp/clts 127.0.0.1.0.111 portmapper") ||
        strstr(out, "inet6") || strstr(out, "loopback"))
        fail_msg("rpcinfo -l localhost 100000 4: %s", out);
    /* a NULL call of rpcbind v4 and one of the port mapper (v2), each
     * after rpcinfo's GETADDR (v4) of it */
    assert_int_equal(rpcinfo(out, "-T tcp localhost 100000 4"), 0);
    assert_int_equal(rpcinfo(out, "-n 111 -u localhost 100000 2"), 0);
    /* GETSTAT: what rpcbind counts for the same calls (rpcinfo -m against
     * rpcbind -f -w): each GETADDRLIST counted as a look-up too, found or
     * not, and every NULL call */
    get_stats(out, &after);
    assert_non_null(strstr(out, "RPCBIND (version 3) statistics"));
    assert_int_equal(after.v4[0] - before.v4[0], 1);     /* NULL */
    assert_int_equal(after.v4[3] - before.v4[3], 4);     /* GETADDR: 2 lists, 2 look-ups */
    assert_int_equal(after.v4ok[3] - before.v4ok[3], 4); /* all found */
    assert_int_equal(after.v4b[2] - before.v4b[2], 2);   /* GETLIST */
    assert_int_equal(after.v4b[3] - before.v4b[3], 1);   /* GETSTAT (this one) */
    assert_int_equal(after.v2[0] - before.v2[0], 1);     /* NULL */
    for (int i = 1; i < 9; i++)
        if (i != 3)
            assert_int_equal(after.v4[i], before.v4[i]);
    /* a list nobody registered: a failed look-up */
    assert_int_equal(rpcinfo(out, "-l localhost %u 9", INTEG_PROG), 0);
    get_stats(out, &before);
    assert_int_equal(before.v4[3] - after.v4[3], 1);
    assert_int_equal(before.v4ok[3] - after.v4ok[3], 0);
    free(out);
}

/* ---- libtirpc servers registering with the matchmaker ---- */

static void tirpc_dispatch(struct svc_req *rq, SVCXPRT *x)
{
    int a = 0;
    switch (rq->rq_proc) {
    case 0:
        svc_sendreply(x, (xdrproc_t)(void (*)(void))xdr_void, NULL);
        return;
    case 1:
        if (!svc_getargs(x, (xdrproc_t)xdr_int, (caddr_t)&a)) {
            svcerr_decode(x);
            return;
        }
        a += 1;
        svc_sendreply(x, (xdrproc_t)xdr_int, (caddr_t)&a);
        return;
    default:
        svcerr_noproc(x);
    }
}

/* tirpc_serve is the libtirpc server's child: it registers prog (with
 * svc_create, or with svc_register, which calls pmap_set, when pmap), says
 * 'r' (or 'f') on out, and serves until a byte on ctl: 'u' unregisters
 * (svc_unreg, or svc_unregister, which calls pmap_unset) and says 'd';
 * anything else or EOF ends it. */
static void tirpc_serve(uint32_t prog, int pmap, int ctl, int out)
{
    int ok;
    if (pmap) {
        SVCXPRT *t = svctcp_create(RPC_ANYSOCK, 0, 0), *u = svcudp_create(RPC_ANYSOCK);
        ok = t && u && svc_register(t, prog, TIRPC_VERS, tirpc_dispatch, IPPROTO_TCP) &&
             svc_register(u, prog, TIRPC_VERS, tirpc_dispatch, IPPROTO_UDP);
    } else {
        /* the nettypes: tcp and tcp6, udp and udp6 where IPv6 is */
        ok = svc_create(tirpc_dispatch, prog, TIRPC_VERS, "tcp") >= 1 &&
             svc_create(tirpc_dispatch, prog, TIRPC_VERS, "udp") >= 1;
    }
    if (write(out, ok ? "r" : "f", 1) != 1 || !ok)
        _exit(1);
    for (;;) {
        struct pollfd fds[65];
        int n = svc_max_pollfd < 64 ? svc_max_pollfd : 64;
        memcpy(fds, svc_pollfd, (size_t)n * sizeof *fds);
        fds[n] = (struct pollfd){ctl, POLLIN, 0};
        int r = poll(fds, (nfds_t)n + 1, 1000);
        if (r > 0 && fds[n].revents) {
            char c = 0;
            if (read(ctl, &c, 1) != 1 || c != 'u')
                _exit(0);
            if (pmap)
                svc_unregister(prog, TIRPC_VERS);
            else
                svc_unreg(prog, TIRPC_VERS);
            if (write(out, "d", 1) != 1)
                _exit(1);
            continue;
        }
        if (r > 0)
            svc_getreq_poll(fds, r);
    }
}

typedef struct tirpc_child {
    pid_t pid;
    int ctl, in;
} tirpc_child;

static void tirpc_start(tirpc_child *t, uint32_t prog, int pmap)
{
    int a[2], b[2];
    assert_int_equal(pipe(a), 0);
    assert_int_equal(pipe(b), 0);
    t->pid = fork();
    assert_true(t->pid >= 0);
    if (t->pid == 0) {
        close(a[1]);
        close(b[0]);
        tirpc_serve(prog, pmap, a[0], b[1]);
        _exit(0);
    }
    close(a[0]);
    close(b[1]);
    t->ctl = a[1];
    t->in = b[0];
    char buf[4];
    assert_int_equal(read_until(t->in, buf, 2, "r", 5000), 1);
}

static void tirpc_unreg(tirpc_child *t)
{
    char buf[4];
    assert_int_equal(write(t->ctl, "u", 1), 1);
    assert_int_equal(read_until(t->in, buf, 2, "d", 5000), 1);
}

static void tirpc_end(tirpc_child *t)
{
    close(t->ctl);
    close(t->in);
    int st = 0;
    for (int i = 0; i < 500 && waitpid(t->pid, &st, WNOHANG) != t->pid; i++)
        pt_sleep_ms(10);
    if (kill(t->pid, 0) == 0) {
        kill(t->pid, SIGKILL);
        waitpid(t->pid, NULL, 0);
    }
}

/* check_tirpc_server checks a registered libtirpc server of prog: listed
 * by rpcinfo -p and the matchmaker's LIST (owned by the superuser), and
 * answering through the matchmaker; then unregistered, listed nowhere. */
static void check_tirpc_server(uint32_t prog, int pmap)
{
    tirpc_child t;
    tirpc_start(&t, prog, pmap);
    char *out = malloc(OUT_CAP), want[128], owner[32];
    assert_non_null(out);
    assert_int_equal(rpcinfo(out, "-p"), 0);
    for (int udp = 0; udp < 2; udp++) {
        char buf[256], p[16];
        char *w[8];
        snprintf(p, sizeof p, "%u", prog);
        const char *proto = udp ? "udp" : "tcp";
        int found = 0;
        /* the port is the server's: whatever it is, on both transports */
        for (const char *s = out; (s = strstr(s, p)) != NULL; s += strlen(p))
            if (words(s, p, buf, sizeof buf, w, 8) == 4 && strcmp(w[1], "1") == 0 &&
                strcmp(w[2], proto) == 0 && atoi(w[3]) > 0)
                found = 1;
        if (!found)
            fail_msg("rpcinfo -p lacks %u 1 %s: %s", prog, proto, out);
        assert_true(mm_find(prog, TIRPC_VERS, proto, owner));
        /* an rpcbind SET over the local socket is owned by the caller's
         * uid (SO_PEERCRED); a port mapper SET over loopback too */
        assert_string_equal(owner, "superuser");
    }
    assert_int_equal(rpcinfo(out, "-T tcp localhost %u 1", prog), 0);
    snprintf(want, sizeof want, "program %u version 1 ready and waiting", prog);
    assert_true(has_line(out, want));
    assert_int_equal(rpcinfo(out, "-u localhost %u 1", prog), 0);
    assert_true(has_line(out, want));

    tirpc_unreg(&t);
    assert_int_equal(rpcinfo(out, "-p"), 0);
    snprintf(want, sizeof want, "%u", prog);
    assert_null(strstr(out, want));
    assert_false(mm_find(prog, TIRPC_VERS, "tcp", owner));
    assert_false(mm_find(prog, TIRPC_VERS, "udp", owner));
    tirpc_end(&t);
    free(out);
}

static void test_tirpc_server_svc_create(void **state)
{
    (void)state;
    NEED_NAMESPACE();
    check_tirpc_server(TIRPC_PROG, 0);
}

static void test_tirpc_server_pmap_set(void **state)
{
    (void)state;
    NEED_NAMESPACE();
    check_tirpc_server(PMAP_PROG, 1);
}

/* ---- libtirpc clients finding the Parley server ---- */

/* ping3 calls integ.x's PING3 (version 3, procedure 1: x + 3) through cl. */
static void ping3(CLIENT *cl)
{
    int x = 39, y = 0;
    struct timeval tv = {5, 0};
    enum clnt_stat st =
        clnt_call(cl, 1, (xdrproc_t)xdr_int, (caddr_t)&x, (xdrproc_t)xdr_int, (caddr_t)&y, tv);
    if (st != RPC_SUCCESS)
        fail_msg("PING3: %s", clnt_sperrno(st));
    assert_int_equal(y, 42);
}

static void test_tirpc_client(void **state)
{
    (void)state;
    NEED_NAMESPACE();
    /* clnt_create asks rpcbind's GETADDR (version 4, then 3) */
    const char *nettypes[] = {"tcp", "udp"};
    for (size_t i = 0; i < 2; i++) {
        CLIENT *cl = clnt_create("localhost", INTEG_PROG, 3, nettypes[i]);
        if (!cl)
            fail_msg("clnt_create %s: %s", nettypes[i], clnt_spcreateerror("localhost"));
        /* at the address the matchmaker gave */
        struct netbuf nb;
        memset(&nb, 0, sizeof nb);
        assert_true(clnt_control(cl, CLGET_SVC_ADDR, (char *)&nb));
        assert_true(nb.len >= sizeof(struct sockaddr_in));
        struct sockaddr_in got;
        memcpy(&got, nb.buf, sizeof got);
        assert_int_equal(got.sin_family, AF_INET);
        assert_int_equal(ntohs(got.sin_port), i == 0 ? peer_tcp : peer_udp);
        ping3(cl);
        clnt_destroy(cl);
    }
    /* (rpcb_getaddr itself is not called: libtirpc leaks 16 bytes in it) */
    struct sockaddr_in sin;
    /* the port mapper's GETPORT (version 2), then a UDP client at that
     * port */
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(pmap_getport(&sin, INTEG_PROG, 3, IPPROTO_UDP), peer_udp);
    assert_int_equal(pmap_getport(&sin, INTEG_PROG, 3, IPPROTO_TCP), peer_tcp);
    assert_int_equal(pmap_getport(&sin, INTEG_PROG, 7, IPPROTO_TCP), peer_tcp); /* rpcbind too */
    sin.sin_port = htons((uint16_t)peer_udp);
    int sock = RPC_ANYSOCK;
    struct timeval wait = {1, 0};
    CLIENT *cl = clntudp_create(&sin, INTEG_PROG, 3, wait, &sock);
    assert_non_null(cl);
    ping3(cl);
    clnt_destroy(cl);
}

/* the Parley server's registration as its name, compared with the port
 * mapper's view; then rpcinfo -d removes one version */
static void test_unregister(void **state)
{
    (void)state;
    NEED_NAMESPACE();
    parley_client *c = mm_client();
    mm_query q = {S(PEER_NAME), 3, S("tcp")};
    mm_lookup_res res;
    memset(&res, 0, sizeof res);
    assert_int_equal(matchmaker_lookup_1(c, &q, &res), PARLEY_OK);
    assert_int_equal(res.status, MM_OK);
    assert_int_equal(res.mm_lookup_res_u.entries.mm_entry_list_len, 1);
    const mm_entry *e = &res.mm_lookup_res_u.entries.mm_entry_list_val[0];
    assert_int_equal(e->prog, INTEG_PROG);
    assert_string_equal(e->owner, "superuser");
    mm_lookup_res_free(&res);
    parley_client_destroy(c);

    char *out = malloc(OUT_CAP), want[128], owner[32];
    assert_non_null(out);
    assert_int_equal(rpcinfo(out, "-d %u 1", INTEG_PROG), 0);
    assert_int_equal(rpcinfo(out, "-p"), 0);
    snprintf(want, sizeof want, "%u 1 tcp %u", INTEG_PROG, peer_tcp);
    assert_false(has_line(out, want));
    snprintf(want, sizeof want, "%u 1 udp %u", INTEG_PROG, peer_udp);
    assert_false(has_line(out, want));
    snprintf(want, sizeof want, "%u 3 tcp %u", INTEG_PROG, peer_tcp);
    assert_true(has_line(out, want));
    assert_false(mm_find(INTEG_PROG, 1, "tcp", owner));
    assert_true(mm_find(INTEG_PROG, 3, "tcp", owner));
    /* a version nobody registered: rpcinfo says it could not delete it */
    assert_int_not_equal(rpcinfo(out, "-d %u 1", INTEG_PROG), 0);
    free(out);
}

/* ---- reflection: UDP answers to another host ---- */

/* An answer over UDP to a 40-byte call (AUTH_NONE, no arguments): its size
 * (0: none came within 2 s) and its accept status. */
typedef struct udp_answer {
    size_t len;
    uint32_t stat;
} udp_answer;

/* udp_call sends the call (prog, vers, proc) from the other host when
 * remote, else from this one, to addr:111 and reads the answer, in a child
 * (setns changes the thread's namespace). */
static udp_answer udp_call(int remote, const char *addr, uint32_t prog, uint32_t vers,
                           uint32_t proc)
{
    udp_answer a = {0, 0xffffffffu};
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return a;
    pid_t pid = fork();
    if (pid == 0) {
        if (remote && setns(remote_fd, CLONE_NEWNET) != 0)
            _exit(1);
        uint32_t call[10] = {htonl(0x5eed0001u), 0, htonl(2), htonl(prog), htonl(vers),
                             htonl(proc),        0, 0,        0,           0};
        struct sockaddr_in to;
        memset(&to, 0, sizeof to);
        to.sin_family = AF_INET;
        to.sin_port = htons(111);
        inet_pton(AF_INET, addr, &to.sin_addr);
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        udp_answer r = {0, 0xffffffffu};
        static uint8_t buf[65536];
        if (fd >= 0 && sendto(fd, call, sizeof call, 0, (struct sockaddr *)&to, sizeof to) > 0) {
            struct pollfd pf = {fd, POLLIN, 0};
            ssize_t n = poll(&pf, 1, 2000) > 0 ? recv(fd, buf, sizeof buf, 0) : -1;
            if (n >= 24) {
                uint32_t w[6];
                memcpy(w, buf, sizeof w);
                uint32_t vlen = ntohl(w[4]);
                size_t at = 20 + ((vlen + 3u) & ~3u);
                r.len = (size_t)n;
                if (at + 4 <= (size_t)n) {
                    uint32_t st;
                    memcpy(&st, buf + at, 4);
                    r.stat = ntohl(st);
                }
            }
        }
        ssize_t k = write(p[1], &r, sizeof r);
        _exit(k == (ssize_t)sizeof r ? 0 : 1);
    }
    close(p[1]);
    if (pid > 0) {
        char buf[sizeof a + 1];
        if (read_until(p[0], buf, sizeof buf, NULL, 5000) == (int)sizeof a)
            memcpy(&a, buf, sizeof a);
        waitpid(pid, NULL, 0);
    }
    close(p[0]);
    return a;
}

#define NEED_REMOTE()                                                                              \
    do {                                                                                           \
        NEED_NAMESPACE();                                                                          \
        if (remote_skip) {                                                                         \
            print_message("skipped: %s\n", remote_skip);                                           \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static void test_udp_answers_to_another_host_are_bounded(void **state)
{
    (void)state;
    NEED_REMOTE();
    static const struct {
        const char *what;
        uint32_t prog, vers, proc;
    } calls[] = {{"port mapper DUMP", 100000, 2, 4},
                 {"rpcbind v3 DUMP", 100000, 3, 4},
                 {"rpcbind v4 DUMP", 100000, 4, 4},
                 {"rpcbind v4 GETSTAT", 100000, 4, 12},
                 {"matchmaker LIST", MATCHMAKER_PROG, MATCHMAKER_VERS, MATCHMAKER_LIST}};
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        /* from this host, the whole answer: the amplification unbounded */
        udp_answer here = udp_call(0, "127.0.0.1", calls[i].prog, calls[i].vers, calls[i].proc);
        /* from another host, through the veth pair */
        udp_answer there = udp_call(1, LOCAL_ADDR, calls[i].prog, calls[i].vers, calls[i].proc);
        print_message("%s over UDP, a 40-byte call: %zu bytes (%.1f times) to loopback, "
                      "%zu bytes (%.1f times) to another host\n",
                      calls[i].what, here.len, (double)here.len / 40, there.len,
                      (double)there.len / 40);
        assert_int_equal(here.stat, 0); /* SUCCESS */
        assert_true(here.len > 4 * 40); /* the bound has something to bound */
        assert_true(there.len > 0);     /* answered, not dropped */
        assert_true(there.len <= 4 * 40);
        assert_int_equal(there.stat, 5); /* SYSTEM_ERR: use TCP */
    }
    /* a small answer (NULL) goes to the other host as to any */
    udp_answer null = udp_call(1, LOCAL_ADDR, 100000, 4, 0);
    assert_int_equal(null.stat, 0);
}

/* lookup_udp looks "matchmaker" up over UDP at addr, from the other host
 * when remote (in a child); the number of entries (-1 on failure), and the
 * answer's size over the call's in *ratio (each with its RPC header). */
static int lookup_udp(int remote, const char *addr, double *ratio)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        double r[2] = {-1, 0};
        parley_client *c = NULL;
        parley_client_opts o = {.timeout_ms = 3000};
        char url[64];
        snprintf(url, sizeof url, "udp://%s:111", addr);
        mm_query q = {S("matchmaker"), 0, S("")};
        mm_lookup_res res;
        memset(&res, 0, sizeof res);
        if ((!remote || setns(remote_fd, CLONE_NEWNET) == 0) &&
            parley_client_create(&c, url, MATCHMAKER_PROG, MATCHMAKER_VERS, &o) == PARLEY_OK &&
            matchmaker_lookup_1(c, &q, &res) == PARLEY_OK && res.status == MM_OK) {
            r[0] = res.mm_lookup_res_u.entries.mm_entry_list_len;
            r[1] = (double)(24 + mm_lookup_res_size(&res)) / (double)(40 + mm_query_size(&q));
        }
        mm_lookup_res_free(&res);
        parley_client_destroy(c);
        ssize_t k = write(p[1], r, sizeof r);
        _exit(k == (ssize_t)sizeof r ? 0 : 1);
    }
    close(p[1]);
    double r[2] = {-1, 0};
    char buf[sizeof r + 1];
    if (pid > 0 && read_until(p[0], buf, sizeof buf, NULL, 10000) == (int)sizeof r)
        memcpy(r, buf, sizeof r);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    close(p[0]);
    *ratio = r[1];
    return (int)r[0];
}

static void test_udp_lookup_from_another_host_gets_the_entries_that_fit(void **state)
{
    (void)state;
    NEED_REMOTE();
    double here_ratio = 0, there_ratio = 0;
    int here = lookup_udp(0, "127.0.0.1", &here_ratio);
    int there = lookup_udp(1, LOCAL_ADDR, &there_ratio);
    print_message("LOOKUP matchmaker over UDP: %d entries (%.1f times the call) to loopback, "
                  "%d (%.1f times) to another host\n",
                  here, here_ratio, there, there_ratio);
    assert_true(here_ratio > 4); /* one per transport: more than the bound */
    assert_true(there >= 1);
    assert_true(there < here);
    assert_true(there_ratio <= 4);
}

static void test_rpcinfo_from_another_host_still_lists(void **state)
{
    (void)state;
    NEED_REMOTE();
    /* rpcinfo -p and -s call over TCP (the port mapper's DUMP through a TCP
     * client, rpcbind's through the circuit transports first), which the
     * bound leaves alone */
    char *out = malloc(OUT_CAP), *sum = malloc(OUT_CAP), want[128], buf[512];
    char *w[8];
    assert_non_null(out);
    assert_non_null(sum);
    run_remote = 1;
    int p = rpcinfo(out, "-p " LOCAL_ADDR);
    int s = rpcinfo(sum, "-s " LOCAL_ADDR);
    run_remote = 0;
    assert_int_equal(p, 0);
    assert_int_equal(s, 0);
    for (unsigned v = 2; v <= 4; v++) {
        snprintf(want, sizeof want, "100000 %u udp 111 portmapper", v);
        assert_true(has_line(out, want));
    }
    /* the Parley server's version 3 (test_unregister took version 1 away) */
    snprintf(want, sizeof want, "%u 3 udp %u", INTEG_PROG, peer_udp);
    assert_true(has_line(out, want));
    assert_int_equal(words(sum, "100000", buf, sizeof buf, w, 8), 5);
    assert_string_equal(w[1], "2,3,4");
    assert_string_equal(w[3], "portmapper");
    free(out);
    free(sum);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MATCHMAKER PEER\n", argv[0]);
        return 2;
    }
    daemon_path = argv[1];
    peer_path = argv[2];
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dump_portmapper),
        cmocka_unit_test(test_dump_summary),
        cmocka_unit_test(test_ping),
        cmocka_unit_test(test_addrlist_and_stats),
        cmocka_unit_test(test_tirpc_server_svc_create),
        cmocka_unit_test(test_tirpc_server_pmap_set),
        cmocka_unit_test(test_tirpc_client),
        cmocka_unit_test(test_unregister),
        cmocka_unit_test(test_udp_answers_to_another_host_are_bounded),
        cmocka_unit_test(test_udp_lookup_from_another_host_gets_the_entries_that_fit),
        cmocka_unit_test(test_rpcinfo_from_another_host_still_lists),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
