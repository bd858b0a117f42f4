/*
 * tests/cluster/test_cluster.c: the matchmakers of three hosts sharing their
 * services through a 3-member etcd cluster (docs/cluster.md), end to end,
 * with real processes: etcd, parley-matchmaker --cluster, parley-info,
 * and the test's own server and caller (cluster_peer.c).
 *
 * The network is the test's own. A network namespace E holds a bridge with
 * 10.212.0.254 and the etcd members (peer URLs on its loopback, client URLs
 * on the bridge's address); three namespaces A, B and C are the "hosts",
 * each joined to the bridge by a veth pair (10.212.0.1, .2, .3) and running
 * its own matchmaker on port 111 (with its Unix sockets in the test's
 * temporary folder, which the hosts share). Nothing is added to the
 * machine's own namespace. The names carry the test's process id
 * ("parley-cl1234-a"); a crashed earlier run's namespaces and folders are
 * removed first, and every process started dies with the test
 * (PR_SET_PDEATHSIG) if it is killed before its teardown.
 *
 * The scenarios, in order, each a test that starts what it needs when an
 * earlier one left it stopped: a name registered in B is called from A; two
 * instances (B, C) share A's calls and survive either one being killed;
 * an instance in A itself comes first and takes A's calls; SIGKILL of B's
 * matchmaker removes B's entries; one etcd member killed changes nothing;
 * all members killed: local names still work, cluster names from the cache
 * until the staleness bound, then a clear error; etcd back: resynchronised;
 * malformed values written by hand under the prefix are ignored with a log
 * line. Every wait is a bounded poll that prints
 * where it stands when it gives up; no time is asserted.
 *
 * Without root, ip(8), etcd or etcdctl, or where namespaces cannot be made,
 * every test is skipped and says why. The processes' logs are in a
 * temporary folder, removed at the end unless PARLEY_TEST_KEEP is set (not
 * to 0); a failure prints the ends of the logs that matter.
 *   test_cluster MATCHMAKER PARLEY-INFO CLUSTER-PEER
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testproc.h"

#define S(x) ((char *)(uintptr_t)(x))

/* The cluster's settings. The ports are the etcd namespace's own, where
 * nothing else listens. */
#define NET_PREFIX  "10.212.0."
#define ETCD_ADDR   NET_PREFIX "254"
#define CLIENT_PORT 24001 /* member i's client URL: ETCD_ADDR:CLIENT_PORT+i */
#define PEER_PORT   24101 /* member i's peer URL: 127.0.0.1:PEER_PORT+i, in E */
#define MEMBERS     3
#define TTL         3  /* --cluster-ttl */
#define STALE       10 /* --cluster-stale: above what an election takes on a loaded machine */
#define PREFIX      "/parley/v1/"
#define WHERE_PROG  "536872448" /* CLUSTER_PROG (cluster.idl), in decimal */

/* The program of each name the test registers: a matchmaker gives one
 * program to one name. */
static const struct {
    const char *name, *prog;
} programs[] = {{"where", WHERE_PROG},
                {"local-a", "536872449"},
                {"fresh", "536872450"},
                {"late", "536872451"},
                {"gone", "536872452"}};

/* prog_of is the program of the test's name (as text). */
static const char *prog_of(const char *name)
{
    for (size_t i = 0; i < sizeof programs / sizeof programs[0]; i++)
        if (strcmp(programs[i].name, name) == 0)
            return programs[i].prog;
    return WHERE_PROG;
}

/* The bounds of the waits, generous: they only keep a broken run from
 * hanging, and a run under ThreadSanitizer on a loaded machine takes
 * several times as long as one alone. */
#define CMD_MS    15000                 /* one command (parley-info, etcdctl) */
#define START_MS  30000                 /* a process ready */
#define HEALTH_MS 60000                 /* the etcd cluster healthy */
#define SHOW_MS   45000                 /* an entry seen on another host, a link connected */
#define VANISH_MS ((TTL + 30) * 1000)   /* an entry gone: the TTL and slack */
#define STALE_MS  ((STALE + 30) * 1000) /* the cache stale: the bound and slack */
#define OUT_CAP   65536
#define NS_PREFIX "parley-cl"

enum { E = 0, A = 1, B = 2, C = 3, NNS = 4 };
static const char *const ns_label[NNS] = {"etcd", "a", "b", "c"};
static const char *const ns_addr[NNS] = {ETCD_ADDR, NET_PREFIX "1", NET_PREFIX "2", NET_PREFIX "3"};
static char ns_name[NNS][64];
static int ns_fd[NNS] = {-1, -1, -1, -1};
static int ns_made[NNS];
static char tmpdir[256]; /* short: Unix socket paths live in it */
static char ip_path[PATH_MAX], etcd_path[PATH_MAX], etcdctl_path[PATH_MAX];
static const char *mm_path, *info_path, *peer_path;
static const char *skip_reason;
static char endpoints[256]; /* the members' client URLs, comma-separated */

/* ---- small helpers ---- */

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* note prints a line of progress, or a log's end, to stdout as cmocka's
 * messages go, without print_message's cut at 1 KiB. */
static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* find_program looks for name along PATH and the system folders (Debian
 * has ip in /usr/sbin, which a user's PATH may lack) and writes its path to
 * out; -1 when it is nowhere. */
static int find_program(const char *name, char *out, size_t cap)
{
    char path[4096];
    const char *env = getenv("PATH");
    snprintf(path, sizeof path, "%s:/usr/sbin:/sbin:/usr/bin:/bin", env ? env : "");
    for (char *save = NULL, *d = strtok_r(path, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, cap, "%s/%s", d, name);
        if (*d && access(out, X_OK) == 0)
            return 0;
    }
    out[0] = '\0';
    return -1;
}

/* has_word says whether text holds word as a whole word, ignoring case:
 * not inside a longer run of letters, digits and "_-" ("connected" is not
 * in "DISCONNECTED"). */
static int has_word(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *s = text; *s; s++) {
        if (strncasecmp(s, word, n) != 0)
            continue;
        int before = s > text && (isalnum((unsigned char)s[-1]) || s[-1] == '_' || s[-1] == '-');
        int after = isalnum((unsigned char)s[n]) || s[n] == '_' || s[n] == '-';
        if (!before && !after)
            return 1;
    }
    return 0;
}

/* has_text_ci says whether text holds needle, ignoring case. */
static int has_text_ci(const char *text, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *s = text; *s; s++)
        if (strncasecmp(s, needle, n) == 0)
            return 1;
    return 0;
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

/* wait_exit waits at most ms for pid to end, then kills it; its exit
 * status, 128 + the signal that ended it, or -1 when it had to be killed. */
static int wait_exit(pid_t pid, int ms)
{
    int st = 0;
    long long end = now_ms() + ms;
    while (waitpid(pid, &st, WNOHANG) != pid) {
        if (now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            return -1;
        }
        pt_sleep_ms(5);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* enter_ns is the start of every child: it dies with the test (which is
 * single-threaded, so the parent "thread" is the process), and moves into
 * namespace ns. It returns only on success. */
static void enter_ns(pid_t parent, int ns)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(126);
    if (ns >= 0 && setns(ns_fd[ns], CLONE_NEWNET) != 0)
        _exit(126);
    unsetenv("PARLEY_MATCHMAKER"); /* each host's own matchmaker: localhost:111 */
    setenv("ETCDCTL_API", "3", 1);
}

/* run_argv runs argv (NULL-terminated) in namespace ns (-1: the test's
 * own), feeding it input (inlen bytes; NULL: nothing) and putting what it
 * printed (stdout and stderr) in out (OUT_CAP bytes); its exit status, or
 * -1 when it did not end within CMD_MS (it is killed then) or could not be
 * started. */
static int run_argv(int ns, const char *input, size_t inlen, char *out, char *const argv[])
{
    int o[2], in[2];
    out[0] = '\0';
    if (pipe2(o, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(in, O_CLOEXEC) != 0) {
        close(o[0]);
        close(o[1]);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        enter_ns(parent, ns);
        dup2(in[0], 0);
        dup2(o[1], 1);
        dup2(o[1], 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(o[1]);
    close(in[0]);
    if (pid < 0) {
        close(o[0]);
        close(in[1]);
        return -1;
    }
    /* small inputs only: they fit in the pipe, so writing cannot block on
     * a child that is not reading yet */
    if (input && write(in[1], input, inlen) != (ssize_t)inlen)
        fprintf(stderr, "run: the input to %s was cut short\n", argv[0]);
    close(in[1]);
    int n = read_until(o[0], out, OUT_CAP, NULL, CMD_MS);
    close(o[0]);
    if (n < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return wait_exit(pid, CMD_MS);
}

/* run is run_argv with the arguments listed, ending with NULL. */
static int run(int ns, const char *input, size_t inlen, char *out, const char *prog, ...)
{
    char *argv[40];
    int argc = 0;
    argv[argc++] = S(prog);
    va_list ap;
    va_start(ap, prog);
    for (char *a; argc < 39 && (a = va_arg(ap, char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    return run_argv(ns, input, inlen, out, argv);
}

/* IP runs ip(8) in the test's own namespace; its exit status. */
#define IP(out, ...) run(-1, NULL, 0, out, ip_path, __VA_ARGS__, S(NULL))
/* INFO runs parley-info in host h, against its matchmaker (localhost:111) */
#define INFO(h, out, ...) run(h, NULL, 0, out, info_path, __VA_ARGS__, S(NULL))
/* ETCDCTL runs etcdctl (v3) in E, at every member */
#define ETCDCTL(out, ...)                                                                          \
    run(E, NULL, 0, out, etcdctl_path, "--endpoints", endpoints, "--dial-timeout", "2s",           \
        "--command-timeout", "5s", __VA_ARGS__, S(NULL))

/* ---- processes the test keeps running ---- */

typedef struct proc {
    char what[32];      /* its name in messages, and its log's */
    int ns;             /* where it runs */
    int pipes;          /* stdin and stdout on pipes (else stdout to its log) */
    char args[2048];    /* its arguments, NUL-separated */
    char *argv[32];     /* into args */
    char log[PATH_MAX]; /* its stderr (and stdout without pipes), appended across restarts */
    pid_t pid;          /* 0: not running */
    int in, out;        /* the pipes' ends, -1 without */
    long log_from;      /* the log's size when it was last started */
} proc;

static proc etcd_m[MEMBERS]; /* the etcd members */
static proc mm[NNS];         /* the matchmakers of A, B, C */
static proc where_srv[NNS];  /* the "where" servers of B and C (and A) */
static proc local_a;         /* "local-a", a server in A */
static proc fresh_c;         /* "fresh", registered in C while one member is down */
static proc late_c;          /* "late", registered in C while etcd is down */
static proc gone_b;          /* "gone", unregistered in B while etcd is down */
static proc caller;          /* a cluster_peer call in A */

static proc *const all_procs[] = {&gone_b,  &where_srv[A], &caller,       &fresh_c,  &late_c,
                                  &local_a, &where_srv[B], &where_srv[C], &mm[A],    &mm[B],
                                  &mm[C],   &etcd_m[0],    &etcd_m[1],    &etcd_m[2]};

/* proc_set describes p (not started): its name, namespace, and argv
 * (ending with NULL). */
static int proc_stop(proc *p);

static void proc_set(proc *p, const char *what, int ns, int pipes, ...)
{
    proc_stop(p); /* one left running by a test that failed */
    memset(p, 0, sizeof *p);
    snprintf(p->what, sizeof p->what, "%s", what);
    p->ns = ns;
    p->pipes = pipes;
    p->in = p->out = -1;
    snprintf(p->log, sizeof p->log, "%s/%s.log", tmpdir, what);
    va_list ap;
    va_start(ap, pipes);
    size_t at = 0;
    int argc = 0;
    for (const char *a; argc < 31 && (a = va_arg(ap, const char *)) != NULL;) {
        size_t n = strlen(a) + 1;
        if (at + n > sizeof p->args)
            break;
        memcpy(p->args + at, a, n);
        p->argv[argc++] = p->args + at;
        at += n;
    }
    va_end(ap);
    p->argv[argc] = NULL;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : 0;
}

/* log_since reads p's log from offset from into buf (cap bytes, NUL-
 * terminated, the last cap - 1 bytes when longer). */
static void log_since(const proc *p, long from, char *buf, size_t cap)
{
    buf[0] = '\0';
    int fd = open(p->log, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    long size = file_size(p->log);
    if (size - from > (long)cap - 1)
        from = size - ((long)cap - 1);
    ssize_t n = pread(fd, buf, cap - 1, from);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    for (ssize_t i = 0; i < n; i++) /* printable: a NUL would end it early */
        if (buf[i] == '\0')
            buf[i] = '?';
}

/* show_log prints the end of p's log, for a failure's message. */
static void show_log(const proc *p)
{
    static char buf[4096];
    log_since(p, 0, buf, sizeof buf);
    note("---- the end of %s's log ----\n%s\n---- end ----\n", p->what, buf);
}

/* proc_start starts p; 0, or -1 (said) when it could not be. */
static int proc_start(proc *p)
{
    int lfd = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (lfd < 0) {
        note("cannot open %s: %s\n", p->log, strerror(errno));
        return -1;
    }
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    if (p->pipes && (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0)) {
        close(lfd);
        return -1;
    }
    p->log_from = file_size(p->log);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        enter_ns(parent, p->ns);
        int nul = open("/dev/null", O_RDONLY);
        dup2(p->pipes ? in[0] : nul, 0);
        dup2(p->pipes ? out[1] : lfd, 1);
        dup2(lfd, 2);
        execv(p->argv[0], p->argv);
        _exit(127);
    }
    close(lfd);
    if (p->pipes) {
        close(in[0]);
        close(out[1]);
    }
    if (pid < 0) {
        if (p->pipes) {
            close(in[1]);
            close(out[0]);
        }
        return -1;
    }
    p->pid = pid;
    p->in = in[1];
    p->out = out[0];
    return 0;
}

/* proc_alive says whether p runs (reaping it when it ended). */
static int proc_alive(proc *p)
{
    if (p->pid <= 0)
        return 0;
    int st;
    if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
        note("%s ended by itself (%s %d)\n", p->what, WIFEXITED(st) ? "exit status" : "signal",
             WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        p->pid = 0;
        return 0;
    }
    return 1;
}

static void proc_close_pipes(proc *p)
{
    if (!p->pipes) /* never set: a static proc's zeros are no descriptors */
        return;
    if (p->in >= 0)
        close(p->in);
    if (p->out >= 0)
        close(p->out);
    p->in = p->out = -1;
}

/* proc_kill kills p (SIGKILL: the tests' crash) and reaps it. */
static void proc_kill(proc *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
    }
    p->pid = 0;
    proc_close_pipes(p);
}

/* proc_stop asks p to end (SIGTERM), and kills it after 8 s; its exit
 * status, or -1. */
static int proc_stop(proc *p)
{
    int rc = -1;
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        rc = wait_exit(p->pid, 8000);
    }
    p->pid = 0;
    proc_close_pipes(p);
    return rc;
}

/* ---- what a host sees ---- */

static char view_out[OUT_CAP];

/* view counts the instances of name that host h's matchmaker gives
 * (parley-info lookup NAME) with origin ("local" or "cluster") from host
 * from: lines whose first words are ORIGIN HOST. 0 when the name is not
 * found, -1 when parley-info failed otherwise; its output stays in
 * view_out. */
static int view(int h, const char *name, const char *origin, const char *from)
{
    int rc = INFO(h, view_out, "lookup", name);
    if (rc == 1)
        return 0;
    if (rc != 0)
        return -1;
    int n = 0;
    for (const char *s = view_out; *s;) {
        char line[512], w0[64] = "", w1[128] = "";
        size_t len = strcspn(s, "\n");
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), s);
        if (sscanf(line, "%63s %127s", w0, w1) == 2 && strcmp(w0, origin) == 0 &&
            strcmp(w1, from) == 0)
            n++;
        s += len;
        if (*s)
            s++;
    }
    return n;
}

/* wait_view waits (at most ms) until host h sees name from host from
 * (origin cluster, or local when from is h itself) when present, or no
 * longer when not, printing where it stands every few seconds; the time it
 * took, in ms. It fails the test, with A's view and the matchmakers' logs,
 * when the wait runs out. */
static long long wait_view(int h, const char *name, const char *from, int present, int ms)
{
    const char *origin = strcmp(from, ns_label[h]) == 0 ? "local" : "cluster";
    long long t0 = now_ms(), said = t0;
    int n = -1;
    while (now_ms() - t0 < ms) {
        n = view(h, name, origin, from);
        if (present ? n > 0 : n == 0) {
            long long took = now_ms() - t0;
            note("  %s sees '%s' from %s %s (after %.1f s)\n", ns_label[h], name, from,
                 present ? "" : "no more", (double)took / 1000);
            return took;
        }
        if (now_ms() - said >= 3000) {
            said = now_ms();
            note("  waiting %.0f s for %s to see '%s' from %s %s: %d instance(s) now\n",
                 (double)(said - t0) / 1000, ns_label[h], name, from, present ? "" : "go", n);
        }
        pt_sleep_ms(200);
    }
    note("parley-info lookup %s in %s:\n%s\n", name, ns_label[h], view_out);
    for (int i = A; i < NNS; i++)
        show_log(&mm[i]);
    fail_msg("%s did not see '%s' from %s %s within %d s (%d instance(s))", ns_label[h], name, from,
             present ? "appear" : "vanish", ms / 1000, n);
    return -1;
}

/* cluster_state is host h's `parley-info list --cluster`, in out; its exit
 * status. */
static int cluster_state(int h, char *out)
{
    return INFO(h, out, "list", "--cluster");
}

/* listed counts the lines of host h's `parley-info list --cluster` that
 * list name from host from (-1 when parley-info failed). */
static int listed(int h, const char *name, const char *from)
{
    static char out[OUT_CAP];
    if (cluster_state(h, out) != 0)
        return -1;
    int n = 0;
    for (const char *s = out; *s; s += strcspn(s, "\n"), s += *s == '\n') {
        char w0[80] = "", w1[80] = "";
        if (sscanf(s, "%79s %79s", w0, w1) == 2 && strcmp(w0, name) == 0 && strcmp(w1, from) == 0)
            n++;
    }
    return n;
}

/* wait_state waits (at most ms) until host h's link to the cluster is in
 * state (a word of the state line: "connected", "disconnected", "stale"). */
static void wait_state(int h, const char *state, int ms)
{
    static char out[OUT_CAP];
    long long t0 = now_ms(), said = t0;
    while (now_ms() - t0 < ms) {
        int rc = cluster_state(h, out);
        /* the state line is the first */
        char first[512];
        snprintf(first, sizeof first, "%.*s", (int)strcspn(out, "\n"), out);
        if (rc == 0 && has_word(first, state)) {
            note("  %s's link is %s (after %.1f s)\n", ns_label[h], state,
                 (double)(now_ms() - t0) / 1000);
            return;
        }
        if (now_ms() - said >= 3000) {
            said = now_ms();
            note("  waiting %.0f s for %s's link to be %s: %s\n", (double)(said - t0) / 1000,
                 ns_label[h], state, first);
        }
        pt_sleep_ms(200);
    }
    note("parley-info list --cluster in %s:\n%s\n", ns_label[h], out);
    show_log(&mm[h]);
    fail_msg("%s's link to the cluster did not become %s within %d s", ns_label[h], state,
             ms / 1000);
}

/* ---- the caller ---- */

/* One round of calls, as cluster_peer prints it. */
typedef struct round {
    unsigned ok, fail;
    unsigned from[NNS]; /* answers per host */
    char line[512];
} round;

static int caller_handles; /* the caller's */

static void caller_start(int h, const char *name, int handles)
{
    caller_handles = handles;
    char n[16];
    snprintf(n, sizeof n, "%d", handles);
    proc_set(&caller, "caller", h, 1, peer_path, "call", name, n, prog_of(name), S(NULL));
    assert_int_equal(proc_start(&caller), 0);
}

/* caller_say sends the caller a command and reads its one-line answer. */
static void caller_say(const char *cmd, char *line, size_t cap)
{
    static char buf[4096];
    char c[32];
    int n = snprintf(c, sizeof c, "%s\n", cmd);
    if (write(caller.in, c, (size_t)n) != n)
        fail_msg("the caller is gone");
    /* each handle's call takes at most its 15 s deadline, its look-up 5 s */
    int bound = caller_handles * 20000 + 5000;
    if (read_until(caller.out, buf, sizeof buf, "\n", bound) < 0 || !strchr(buf, '\n')) {
        show_log(&caller);
        fail_msg("the caller did not answer '%s'", cmd);
    }
    snprintf(line, cap, "%.*s", (int)strcspn(buf, "\n"), buf);
}

/* caller_round makes one round of calls and reads its tally. */
static void caller_round(round *r)
{
    memset(r, 0, sizeof *r);
    caller_say("call", r->line, sizeof r->line);
    if (sscanf(r->line, "calls ok=%u fail=%u", &r->ok, &r->fail) != 2)
        fail_msg("the caller said: %s", r->line);
    for (int h = A; h < NNS; h++) {
        char key[16];
        snprintf(key, sizeof key, " %s=", ns_label[h]);
        const char *at = strstr(r->line, key);
        if (at)
            r->from[h] = (unsigned)atoi(at + strlen(key));
    }
    note("  calls from %s: %s\n", ns_label[caller.ns], r->line);
}

static void caller_end(void)
{
    if (caller.pid > 0 && write(caller.in, "quit\n", 5) == 5)
        wait_exit(caller.pid, 10000);
    else
        proc_kill(&caller);
    caller.pid = 0;
    proc_close_pipes(&caller);
}

/* call_once calls name from host h through handles new handles, once each. */
static void call_once(int h, const char *name, int handles, round *r)
{
    caller_start(h, name, handles);
    caller_round(r);
    caller_end();
}

/* ---- starting the pieces ---- */

/* wait_log waits (at most START_MS) until p's log since its start holds
 * one of the texts; which one (0 or 1), -1 when p ended or the wait ran
 * out. */
static int wait_log(proc *p, const char *text, const char *other)
{
    static char buf[OUT_CAP];
    long long t0 = now_ms();
    while (now_ms() - t0 < START_MS) {
        log_since(p, p->log_from, buf, sizeof buf);
        if (strstr(buf, text))
            return 0;
        if (other && strstr(buf, other))
            return 1;
        if (!proc_alive(p))
            return -1;
        pt_sleep_ms(50);
    }
    return -1;
}

/* start_server starts (or restarts) the server s: cluster_peer serve NAME
 * HOST in host h, and waits until it registered. */
static void start_server(proc *s, const char *what, int h, const char *name)
{
    if (s->pid > 0)
        return;
    proc_set(s, what, h, 0, peer_path, "serve", name, ns_label[h], prog_of(name), S(NULL));
    if (proc_start(s) != 0 || wait_log(s, "ready\n", "refused") != 0) {
        show_log(s);
        show_log(&mm[h]);
        fail_msg("the server %s did not start and register", what);
    }
}

static void start_where(int h)
{
    char what[32];
    snprintf(what, sizeof what, "where-%s", ns_label[h]);
    start_server(&where_srv[h], what, h, "where");
}

/* start_mm starts host h's matchmaker, and waits until it answers. */
static int start_mm(int h)
{
    char sock[PATH_MAX], rpcb[PATH_MAX], what[32], ttl[8], stale[8];
    snprintf(sock, sizeof sock, "%s/%s-matchmaker.sock", tmpdir, ns_label[h]);
    snprintf(rpcb, sizeof rpcb, "%s/%s-rpcbind.sock", tmpdir, ns_label[h]);
    snprintf(what, sizeof what, "matchmaker-%s", ns_label[h]);
    snprintf(ttl, sizeof ttl, "%d", TTL);
    snprintf(stale, sizeof stale, "%d", STALE);
    proc_set(&mm[h], what, h, 0, mm_path, "--no-state", "--socket", sock, "--rpcbind-socket", rpcb,
             "--cluster", endpoints, "--advertise", ns_addr[h], "--cluster-host", ns_label[h],
             "--cluster-ttl", ttl, "--cluster-stale", stale, S(NULL));
    if (proc_start(&mm[h]) != 0)
        return -1;
    static char out[OUT_CAP];
    long long t0 = now_ms();
    while (now_ms() - t0 < START_MS) {
        if (INFO(h, out, "list") == 0)
            return 0;
        if (!proc_alive(&mm[h]))
            break;
        pt_sleep_ms(100);
    }
    note("the matchmaker of %s did not answer: %s\n", ns_label[h], out);
    show_log(&mm[h]);
    return -1;
}

/* start_member starts etcd member i (again: its data folder stays). The
 * members are not tests/support/etcd_member.c's: they run in the etcd
 * namespace on fixed ports (free ports of the test's own namespace mean
 * nothing there), serve clients on ETCD_ADDR rather than loopback, and are
 * procs of this test, whose logs, "ended by itself" notes and end-of-run
 * checks cover them with the other processes. */
static int start_member(int i)
{
    char name[16], data[PATH_MAX], peer[64], client[64], cluster[256], token[64];
    snprintf(name, sizeof name, "m%d", i);
    snprintf(data, sizeof data, "%s/etcd-m%d", tmpdir, i);
    snprintf(peer, sizeof peer, "http://127.0.0.1:%d", PEER_PORT + i);
    snprintf(client, sizeof client, "http://%s:%d", ETCD_ADDR, CLIENT_PORT + i);
    snprintf(cluster, sizeof cluster,
             "m0=http://127.0.0.1:%d,m1=http://127.0.0.1:%d,"
             "m2=http://127.0.0.1:%d",
             PEER_PORT, PEER_PORT + 1, PEER_PORT + 2);
    snprintf(token, sizeof token, "%s%ld", NS_PREFIX, (long)getpid());
    char what[32];
    snprintf(what, sizeof what, "etcd-m%d", i);
    proc_set(&etcd_m[i], what, E, 0, etcd_path, "--name", name, "--data-dir", data,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--listen-client-urls", client, "--advertise-client-urls", client, "--initial-cluster",
             cluster, "--initial-cluster-token", token, "--initial-cluster-state", "new", S(NULL));
    return proc_start(&etcd_m[i]);
}

/* wait_health waits (at most HEALTH_MS) until every member says it is
 * healthy; 0, or -1 (said). */
static int wait_health(void)
{
    static char out[OUT_CAP];
    long long t0 = now_ms(), said = t0;
    while (now_ms() - t0 < HEALTH_MS) {
        if (ETCDCTL(out, "endpoint", "health") == 0) {
            note("  etcd healthy (after %.1f s)\n", (double)(now_ms() - t0) / 1000);
            return 0;
        }
        for (int i = 0; i < MEMBERS; i++)
            if (etcd_m[i].pid > 0 && !proc_alive(&etcd_m[i])) {
                show_log(&etcd_m[i]);
                return -1;
            }
        if (now_ms() - said >= 5000) {
            said = now_ms();
            note("  waiting %.0f s for etcd's health: %s\n", (double)(said - t0) / 1000, out);
        }
        pt_sleep_ms(250);
    }
    note("etcd is not healthy: %s\n", out);
    for (int i = 0; i < MEMBERS; i++)
        show_log(&etcd_m[i]);
    return -1;
}

/* ensure_etcd starts the members that are not running, and waits for the
 * cluster's health. */
static void ensure_etcd(void)
{
    int started = 0;
    for (int i = 0; i < MEMBERS; i++)
        if (!proc_alive(&etcd_m[i])) {
            assert_int_equal(start_member(i), 0);
            started = 1;
        }
    if (started && wait_health() != 0)
        fail_msg("the etcd cluster did not come back");
}

/* ensure_hosts starts the matchmakers and the "where" servers that are not
 * running (an earlier test that failed may have left them stopped); C's
 * "where" server only when where_c. */
static void ensure_hosts(int where_c)
{
    ensure_etcd();
    for (int h = A; h < NNS; h++)
        if (!proc_alive(&mm[h])) {
            assert_int_equal(start_mm(h), 0);
            /* its servers' registrations died with it */
            proc_stop(&where_srv[h]);
            if (h == A)
                proc_stop(&local_a);
        }
    start_where(B);
    if (where_c)
        start_where(C);
    start_server(&local_a, "local-a", A, "local-a");
}

/* ---- the namespaces, and what a crashed run left ---- */

/* stale_pid reads the process id in a name "parley-cl<pid>-..."; it is a
 * crashed run's when that process no longer exists (or is this one: a run
 * that had this id before). 0 otherwise. */
static int stale_pid(const char *name)
{
    if (strncmp(name, NS_PREFIX, strlen(NS_PREFIX)) != 0)
        return 0;
    char *end;
    long pid = strtol(name + strlen(NS_PREFIX), &end, 10);
    if (pid <= 0 || *end != '-')
        return 0;
    return pid == (long)getpid() || (kill((pid_t)pid, 0) != 0 && errno == ESRCH);
}

/* remove_stale deletes the namespaces and temporary folders of runs that
 * crashed (their processes died with them: PR_SET_PDEATHSIG). */
static void remove_stale(void)
{
    static char out[OUT_CAP];
    DIR *d = opendir("/run/netns");
    if (d) {
        for (struct dirent *e; (e = readdir(d)) != NULL;)
            if (stale_pid(e->d_name)) {
                note("removing a crashed run's namespace %s\n", e->d_name);
                IP(out, "netns", "del", e->d_name);
            }
        closedir(d);
    }
    const char *t = getenv("TMPDIR");
    if (!t || !*t)
        t = "/tmp";
    d = opendir(t);
    if (d) {
        for (struct dirent *e; (e = readdir(d)) != NULL;)
            if (stale_pid(e->d_name)) {
                char path[PATH_MAX];
                snprintf(path, sizeof path, "%s/%s", t, e->d_name);
                note("removing a crashed run's folder %s\n", path);
                pt_rm_tree(path);
            }
        closedir(d);
    }
}

/* make_network makes E with its bridge, and A, B, C joined to it; 0, or
 * -1 with the ip command that failed said. */
static int make_network(void)
{
    static char out[OUT_CAP];
    for (int i = 0; i < NNS; i++) {
        snprintf(ns_name[i], sizeof ns_name[i], "%s%ld-%s", NS_PREFIX, (long)getpid(), ns_label[i]);
        if (IP(out, "netns", "add", ns_name[i]) != 0) {
            note("ip netns add %s: %s\n", ns_name[i], out);
            return -1;
        }
        ns_made[i] = 1;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "/run/netns/%s", ns_name[i]);
        ns_fd[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (ns_fd[i] < 0)
            return -1;
        if (IP(out, "-n", ns_name[i], "link", "set", "lo", "up") != 0)
            return -1;
    }
    const char *e = ns_name[E];
    char cidr[32];
    snprintf(cidr, sizeof cidr, "%s/24", ETCD_ADDR);
    if (IP(out, "-n", e, "link", "add", "plbr0", "type", "bridge") != 0 ||
        IP(out, "-n", e, "addr", "add", cidr, "dev", "plbr0") != 0 ||
        IP(out, "-n", e, "link", "set", "plbr0", "up") != 0) {
        note("the bridge: %s\n", out);
        return -1;
    }
    for (int h = A; h < NNS; h++) {
        char port[16];
        snprintf(port, sizeof port, "plv%s", ns_label[h]);
        snprintf(cidr, sizeof cidr, "%s/24", ns_addr[h]);
        if (IP(out, "-n", e, "link", "add", port, "type", "veth", "peer", "name", "plv0", "netns",
               ns_name[h]) != 0 ||
            IP(out, "-n", e, "link", "set", port, "master", "plbr0") != 0 ||
            IP(out, "-n", e, "link", "set", port, "up") != 0 ||
            IP(out, "-n", ns_name[h], "addr", "add", cidr, "dev", "plv0") != 0 ||
            IP(out, "-n", ns_name[h], "link", "set", "plv0", "up") != 0) {
            note("host %s's veth pair: %s\n", ns_label[h], out);
            return -1;
        }
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    static char out[OUT_CAP];
    int rc = 0;
    /* the matchmakers and servers end cleanly on SIGTERM, with status 0
     * (under the sanitizers, also without leaks); etcd's is its own */
    for (size_t i = 0; i < sizeof all_procs / sizeof all_procs[0]; i++) {
        proc *p = all_procs[i];
        int running = p->pid > 0, st = proc_stop(p);
        if (running && st != 0 && p != &caller && strncmp(p->what, "etcd", 4) != 0) {
            note("cluster: %s ended with status %d on SIGTERM\n", p->what, st);
            show_log(p);
            rc = -1;
        }
    }
    for (int i = NNS - 1; i >= 0; i--) {
        if (ns_fd[i] >= 0)
            close(ns_fd[i]);
        ns_fd[i] = -1;
        if (ns_made[i])
            IP(out, "netns", "del", ns_name[i]); /* and the links in it */
        ns_made[i] = 0;
    }
    const char *keep = getenv("PARLEY_TEST_KEEP");
    if (tmpdir[0] && keep && *keep && strcmp(keep, "0") != 0)
        note("cluster: the logs stay in %s (PARLEY_TEST_KEEP)\n", tmpdir);
    else if (tmpdir[0])
        pt_rm_tree(tmpdir);
    tmpdir[0] = '\0';
    return rc;
}

static int group_setup(void **state)
{
    (void)state;
    if (getuid() != 0) {
        skip_reason = "not root: the test makes network namespaces";
        return 0;
    }
    if (find_program("ip", ip_path, sizeof ip_path) != 0) {
        skip_reason = "ip(8) is not installed (Debian's iproute2)";
        return 0;
    }
    if (find_program("etcd", etcd_path, sizeof etcd_path) != 0 ||
        find_program("etcdctl", etcdctl_path, sizeof etcdctl_path) != 0) {
        skip_reason = "etcd or etcdctl is not installed (Debian's etcd-server, etcd-client)";
        return 0;
    }
    note("cluster: removing what crashed runs left\n");
    remove_stale();
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/%s%ld-XXXXXX", t && *t ? t : "/tmp", NS_PREFIX,
             (long)getpid());
    if (!mkdtemp(tmpdir)) {
        tmpdir[0] = '\0';
        skip_reason = "cannot make a temporary folder";
        return 0;
    }
    note("cluster: making the network: namespaces %s%ld-{etcd,a,b,c}, a bridge, "
         "veth pairs on %s0/24\n",
         NS_PREFIX, (long)getpid(), NET_PREFIX);
    if (make_network() != 0) {
        group_teardown(NULL);
        skip_reason = "cannot make network namespaces, a bridge and veth pairs with ip(8) "
                      "(a container without CAP_SYS_ADMIN or CAP_NET_ADMIN?)";
        return 0;
    }
    int n = 0;
    for (int i = 0; i < MEMBERS; i++)
        n += snprintf(endpoints + n, sizeof endpoints - (size_t)n, "%shttp://%s:%d", i ? "," : "",
                      ETCD_ADDR, CLIENT_PORT + i);
    note("cluster: starting etcd (%d members, clients at %s)\n", MEMBERS, endpoints);
    for (int i = 0; i < MEMBERS; i++)
        if (start_member(i) != 0)
            goto fail;
    if (wait_health() != 0)
        goto fail;
    note("cluster: starting the matchmakers of a, b, c (ttl %d s, stale %d s)\n", TTL, STALE);
    for (int h = A; h < NNS; h++)
        if (start_mm(h) != 0)
            goto fail;
    return 0;
fail:
    note("cluster: the set-up failed; the logs were in %s\n", tmpdir);
    group_teardown(NULL);
    return -1;
}

/* expect_alive fails the test when a process it left running ended by
 * itself (a crash, a sanitizer's report): every scenario ends with it, so
 * that the next one's ensure_hosts does not quietly start it again. */
static void expect_alive(void)
{
    for (size_t i = 0; i < sizeof all_procs / sizeof all_procs[0]; i++) {
        proc *p = all_procs[i];
        if (p->pid > 0 && !proc_alive(p)) {
            show_log(p);
            fail_msg("%s ended by itself", p->what);
        }
    }
}

#define NEED_CLUSTER()                                                                             \
    do {                                                                                           \
        if (skip_reason) {                                                                         \
            note("skipped: %s\n", skip_reason);                                                    \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* ---- the scenarios ---- */

static void test_a_server_registered_in_b_is_called_by_name_from_a(void **state)
{
    (void)state;
    NEED_CLUSTER();
    note("cluster (1): a server registered in b, called by name from a\n");
    ensure_hosts(0);                        /* b's alone */
    wait_view(B, "where", "b", 1, SHOW_MS); /* b's own, local */
    wait_view(A, "where", "b", 1, SHOW_MS);
    static char out[OUT_CAP];
    assert_int_equal(cluster_state(A, out), 0);
    note("  parley-info list --cluster in a:\n%s", out);
    assert_true(has_word(out, "where"));
    assert_true(has_word(out, NET_PREFIX "2")); /* b's address */
    assert_true(listed(A, "where", "b") > 0);
    round r;
    call_once(A, "where", 4, &r);
    assert_int_equal(r.fail, 0);
    assert_int_equal(r.from[B], 4);
    expect_alive();
}

/* kill_and_survive kills the "where" server of victim while the caller
 * (in A, with several handles on both instances) keeps calling: the calls
 * go on succeeding at the other one, and A's view loses victim's entries;
 * then the victim is started again. */
static void kill_and_survive(int victim, int handles)
{
    int other = victim == B ? C : B;
    note("  SIGKILL of %s's server\n", ns_label[victim]);
    proc_kill(&where_srv[victim]);
    round r;
    caller_round(&r); /* the same handles: some were connected to the victim */
    assert_int_equal(r.fail, 0);
    assert_int_equal(r.from[other], (unsigned)handles);
    caller_say("renew", r.line, sizeof r.line);
    caller_round(&r); /* new handles: new look-ups, which may still list the victim */
    assert_int_equal(r.fail, 0);
    assert_int_equal(r.from[other], (unsigned)handles);
    wait_view(A, "where", ns_label[victim], 0, VANISH_MS);
    assert_int_equal(listed(A, "where", ns_label[victim]), 0);
    assert_true(view(A, "where", "cluster", ns_label[other]) > 0);
    caller_say("renew", r.line, sizeof r.line);
    caller_round(&r);
    assert_int_equal(r.fail, 0);
    assert_int_equal(r.from[other], (unsigned)handles);
    note("  %s's server again\n", ns_label[victim]);
    start_where(victim);
    wait_view(A, "where", ns_label[victim], 1, SHOW_MS);
    caller_say("renew", r.line, sizeof r.line);
    caller_round(&r);
    assert_int_equal(r.fail, 0);
    assert_true(r.from[B] > 0);
    assert_true(r.from[C] > 0);
}

static void test_two_instances_share_the_calls_and_survive_either_one_being_killed(void **state)
{
    (void)state;
    NEED_CLUSTER();
    note("cluster (2): two instances, in b and c, share a's calls and survive either "
         "one's death\n");
    ensure_hosts(1);
    wait_view(A, "where", "b", 1, SHOW_MS);
    wait_view(A, "where", "c", 1, SHOW_MS);
    enum { HANDLES = 8 };
    caller_start(A, "where", HANDLES);
    round r;
    caller_round(&r);
    assert_int_equal(r.fail, 0);
    assert_int_equal(r.ok, HANDLES);
    assert_true(r.from[B] > 0);
    assert_true(r.from[C] > 0);
    assert_int_equal(r.from[A], 0);
    kill_and_survive(B, HANDLES);
    kill_and_survive(C, HANDLES);
    caller_end();
    expect_alive();
}

/* first_origin is the origin (first word) of the first instance that
 * parley-info lookup listed in text, in buf; "" when none. */
static const char *first_origin(const char *text, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (const char *s = text; *s; s += strcspn(s, "\n"), s += *s == '\n') {
        char w0[32] = "";
        if (sscanf(s, "%31s", w0) == 1 &&
            (strcmp(w0, "local") == 0 || strcmp(w0, "cluster") == 0)) {
            snprintf(buf, cap, "%s", w0);
            break;
        }
    }
    return buf;
}

static void test_an_instance_on_this_host_comes_first_and_takes_its_calls(void **state)
{
    (void)state;
    NEED_CLUSTER();
    note("cluster (2b): an instance in a as well: a's own comes first\n");
    ensure_hosts(1);
    wait_view(A, "where", "b", 1, SHOW_MS);
    wait_view(A, "where", "c", 1, SHOW_MS);
    start_where(A);
    wait_view(A, "where", "a", 1, SHOW_MS); /* local */
    char origin[32];
    assert_string_equal(first_origin(view_out, origin, sizeof origin), "local");
    assert_true(view(A, "where", "cluster", "b") > 0);
    wait_view(B, "where", "a", 1, SHOW_MS); /* published */
    round r;
    call_once(A, "where", 8, &r);
    assert_int_equal(r.fail, 0);
    assert_int_equal(r.from[A], 8);
    assert_int_equal(proc_stop(&where_srv[A]), 0);
    wait_view(A, "where", "a", 0, VANISH_MS);
    wait_view(B, "where", "a", 0, VANISH_MS);
    call_once(A, "where", 8, &r);
    assert_int_equal(r.fail, 0);
    assert_int_equal(r.from[B] + r.from[C], 8);
    expect_alive();
}

static void test_sigkill_of_b_matchmaker_removes_b_entries_within_the_ttl(void **state)
{
    (void)state;
    NEED_CLUSTER();
    note("cluster (3): SIGKILL of b's matchmaker\n");
    ensure_hosts(1);
    wait_view(A, "where", "b", 1, SHOW_MS);
    wait_view(A, "where", "c", 1, SHOW_MS);
    proc_kill(&mm[B]);
    long long took = wait_view(A, "where", "b", 0, VANISH_MS);
    note("  b's entries vanished from a's view %.1f s after its matchmaker died (ttl "
         "%d s)\n",
         (double)took / 1000, TTL);
    assert_int_equal(listed(A, "where", "b"), 0);
    assert_true(view(A, "where", "cluster", "c") > 0);
    round r;
    call_once(A, "where", 4, &r);
    assert_int_equal(r.fail, 0);
    assert_int_equal(r.from[C], 4);
    note("  b's matchmaker and server again\n");
    proc_stop(&where_srv[B]);
    assert_int_equal(start_mm(B), 0);
    start_where(B);
    wait_view(A, "where", "b", 1, SHOW_MS);
    expect_alive();
}

/* field is the i-th comma-separated field (0 first) of the line of text
 * that holds key, spaces trimmed, in buf; NULL when there is none. */
static const char *field(const char *text, const char *key, int i, char *buf, size_t cap)
{
    const char *line = strstr(text, key);
    if (!line)
        return NULL;
    while (line > text && line[-1] != '\n')
        line--;
    for (; i > 0 && line; i--) {
        line = strpbrk(line, ",\n");
        line = line && *line == ',' ? line + 1 : NULL;
    }
    if (!line)
        return NULL;
    line += strspn(line, " ");
    size_t n = strcspn(line, ",\n");
    while (n > 0 && line[n - 1] == ' ')
        n--;
    snprintf(buf, cap, "%.*s", (int)n, line);
    return buf;
}

/* lead_m0 makes m0 the cluster's leader (etcdctl move-leader, asked of the
 * leader), so that killing it takes both the endpoint the matchmakers
 * talk to first and the leader: an election follows. */
static void lead_m0(void)
{
    static char out[OUT_CAP];
    char id[32], leader[256];
    assert_int_equal(ETCDCTL(out, "member", "list"), 0);
    if (!field(out, ", m0,", 0, id, sizeof id))
        fail_msg("no member m0 in: %s", out);
    long long t0 = now_ms();
    while (now_ms() - t0 < HEALTH_MS) {
        assert_int_equal(ETCDCTL(out, "endpoint", "status"), 0);
        /* ENDPOINT, ID, VERSION, DB SIZE, IS LEADER, ... */
        for (const char *l = out; *l; l += strcspn(l, "\n"), l += *l == '\n') {
            char f[64];
            snprintf(leader, sizeof leader, "%.*s", (int)strcspn(l, "\n"), l);
            if (field(leader, ",", 4, f, sizeof f) && strcmp(f, "true") == 0)
                break;
            leader[0] = '\0';
        }
        char lid[32], lurl[64];
        if (leader[0] && field(leader, ",", 1, lid, sizeof lid) &&
            field(leader, ",", 0, lurl, sizeof lurl)) {
            if (strcmp(lid, id) == 0) {
                note("  m0 (%s) leads\n", id);
                return;
            }
            int rc =
                run(E, NULL, 0, out, etcdctl_path, "--endpoints", lurl, "move-leader", id, S(NULL));
            note("  etcdctl move-leader %s at %s: (%d) %s", id, lurl, rc, out);
        }
        pt_sleep_ms(500);
    }
    fail_msg("m0 did not become the leader: %s", out);
}

/* no_stale_since fails when a matchmaker logged that its cache went stale
 * since the offsets from. */
static void no_stale_since(const long *from)
{
    static char logged[OUT_CAP];
    for (int h = A; h < NNS; h++) {
        log_since(&mm[h], from[h], logged, sizeof logged);
        if (strstr(logged, "now STALE")) {
            note("%s", logged);
            fail_msg("%s's cache went stale with one member down", ns_label[h]);
        }
    }
}

static void test_one_etcd_member_killed_changes_nothing(void **state)
{
    (void)state;
    NEED_CLUSTER();
    note("cluster (4): one etcd member killed: m0, the first endpoint and the leader\n");
    ensure_hosts(1);
    wait_view(A, "where", "b", 1, SHOW_MS);
    wait_view(A, "where", "c", 1, SHOW_MS);
    lead_m0();
    long from[NNS];
    for (int h = A; h < NNS; h++)
        from[h] = file_size(mm[h].log);
    proc_kill(&etcd_m[0]);
    assert_true(view(A, "where", "cluster", "b") > 0);
    assert_true(view(A, "where", "cluster", "c") > 0);
    round r;
    call_once(A, "where", 4, &r);
    assert_int_equal(r.fail, 0);
    note("  a new registration in c, 'fresh'\n");
    start_server(&fresh_c, "fresh-c", C, "fresh");
    wait_view(A, "fresh", "c", 1, SHOW_MS);
    wait_view(B, "fresh", "c", 1, SHOW_MS);
    call_once(A, "fresh", 2, &r);
    assert_int_equal(r.fail, 0);
    assert_int_equal(r.from[C], 2);
    /* a watch on m0 broke: each link is connected again, at another member,
     * and none went stale */
    for (int h = A; h < NNS; h++)
        wait_state(h, "connected", SHOW_MS);
    assert_true(view(B, "where", "cluster", "c") > 0);
    assert_true(view(C, "where", "cluster", "b") > 0);
    no_stale_since(from);
    note("  m0 again\n");
    assert_int_equal(start_member(0), 0);
    assert_int_equal(wait_health(), 0);
    assert_int_equal(proc_stop(&fresh_c), 0); /* a clean stop: gone from every view */
    wait_view(A, "fresh", "c", 0, VANISH_MS);
    no_stale_since(from);
    expect_alive();
}

static void test_all_etcd_members_killed_local_names_work_cluster_names_go_stale(void **state)
{
    (void)state;
    NEED_CLUSTER();
    note("cluster (5): every etcd member killed\n");
    ensure_hosts(1);
    wait_view(A, "where", "b", 1, SHOW_MS);
    wait_view(A, "local-a", "a", 1, SHOW_MS);
    start_server(&gone_b, "gone-b", B, "gone");
    wait_view(A, "gone", "b", 1, SHOW_MS);
    for (int i = 0; i < MEMBERS; i++)
        proc_kill(&etcd_m[i]);
    long long t0 = now_ms();
    /* from the cache, within the staleness bound (the first look-up comes
     * well before it) */
    assert_true(view(A, "where", "cluster", "b") > 0);
    round r;
    call_once(A, "where", 2, &r);
    assert_int_equal(r.fail, 0);
    note("  served from a's cache %.1f s after etcd died (stale after %d s)\n",
         (double)(now_ms() - t0) / 1000, STALE);
    note("  a registration in c while etcd is down, 'late'; 'gone' in b unregistered\n");
    start_server(&late_c, "late-c", C, "late");
    assert_true(view(C, "late", "local", "c") > 0);
    assert_int_equal(proc_stop(&gone_b), 0);
    assert_int_equal(view(B, "gone", "local", "b"), 0);
    /* from the cache until the bound, then a clear error */
    static char out[OUT_CAP];
    long long said = now_ms();
    int rc = 0;
    while (now_ms() - t0 < STALE_MS) {
        rc = INFO(A, out, "lookup", "where");
        if (rc == 1 && has_text_ci(out, "stale"))
            break;
        if (rc != 0) {
            show_log(&mm[A]);
            fail_msg("a's look-up failed %.1f s after etcd died, before the bound: (%d) %s",
                     (double)(now_ms() - t0) / 1000, rc, out);
        }
        if (now_ms() - said >= 3000) {
            said = now_ms();
            note("  waiting %.0f s for a's cache to go stale: the look-up still answers\n",
                 (double)(now_ms() - t0) / 1000);
        }
        pt_sleep_ms(200);
    }
    note("  %.1f s after etcd died, parley-info lookup where in a: (exit %d) %s",
         (double)(now_ms() - t0) / 1000, rc, out);
    if (rc != 1 || !has_text_ci(out, "stale")) {
        show_log(&mm[A]);
        fail_msg("a's cache did not go stale within %d s", STALE_MS / 1000);
    }
    assert_int_equal(cluster_state(A, out), 0);
    note("  parley-info list --cluster in a:\n%s", out);
    assert_true(has_text_ci(out, "stale"));
    call_once(A, "where", 1, &r);
    assert_int_equal(r.fail, 1);
    assert_non_null(strstr(r.line, "PARLEY_ERR_CLUSTER_STALE"));
    /* local names still resolve, and are called */
    assert_true(view(A, "local-a", "local", "a") > 0);
    call_once(A, "local-a", 2, &r);
    assert_int_equal(r.fail, 0);
    assert_int_equal(r.from[A], 2);
    expect_alive();
}

static void test_etcd_back_resynchronises(void **state)
{
    (void)state;
    NEED_CLUSTER();
    note("cluster (6): etcd back\n");
    for (int i = 0; i < MEMBERS; i++)
        if (!proc_alive(&etcd_m[i]))
            assert_int_equal(start_member(i), 0);
    assert_int_equal(wait_health(), 0);
    ensure_hosts(1);
    for (int h = A; h < NNS; h++)
        wait_state(h, "connected", SHOW_MS);
    wait_view(A, "where", "b", 1, SHOW_MS);
    wait_view(A, "where", "c", 1, SHOW_MS);
    /* made while etcd was down, published since; what was unregistered
     * meanwhile is gone */
    start_server(&late_c, "late-c", C, "late");
    wait_view(A, "late", "c", 1, SHOW_MS);
    wait_view(A, "gone", "b", 0, VANISH_MS);
    round r;
    call_once(A, "late", 2, &r);
    assert_int_equal(r.fail, 0);
    assert_int_equal(r.from[C], 2);
    call_once(A, "where", 8, &r);
    assert_int_equal(r.fail, 0);
    assert_int_equal(proc_stop(&late_c), 0);
    expect_alive();
}

/* A value written by hand under the prefix. */
typedef struct bad_entry {
    const char *key;   /* after PREFIX "services/" */
    const char *value; /* NULL: garbage bytes */
    const char *token; /* a word of the key the log line should name */
} bad_entry;

static const bad_entry bad_entries[] = {
    {"where/bad-netid/" WHERE_PROG "/1/bogus", NET_PREFIX "9.4.1", "bad-netid"},
    {"where/bad-uaddr/" WHERE_PROG "/1/tcp", "not-an-address", "bad-uaddr"},
    {"where/bad-short/" WHERE_PROG "/1/tcp", NET_PREFIX "9.4", "bad-short"},
    {"where/bad-family/" WHERE_PROG "/1/tcp6", NET_PREFIX "9.4.1", "bad-family"},
    {"where/bad-port/" WHERE_PROG "/1/tcp", NET_PREFIX "9.300.1", "bad-port"},
    {"where/bad-bytes/" WHERE_PROG "/1/tcp", NULL, "bad-bytes"},
    {"where/bad-big/" WHERE_PROG "/1/tcp", "", "bad-big"}, /* a 4 KiB value */
    {"where/bad-prog/536872448x/1/tcp", NET_PREFIX "9.4.1", "bad-prog"},
    {"where/bad-vers/" WHERE_PROG "/99999999999999999999/tcp", NET_PREFIX "9.4.1", "bad-vers"},
    {"where/bad-neg/-1/1/tcp", NET_PREFIX "9.4.1", "bad-neg"},
    {"where/bad-h!st/" WHERE_PROG "/1/tcp", NET_PREFIX "9.4.1", "bad-h!st"},
    {"bad~name/x/" WHERE_PROG "/1/tcp", NET_PREFIX "9.4.1", "bad~name"},
    {"bad-parts/x/" WHERE_PROG "/1", NET_PREFIX "9.4.1", "bad-parts"},
    {"bad-extra/x/" WHERE_PROG "/1/tcp/more", NET_PREFIX "9.4.1", "bad-extra"},
};

static void test_malformed_values_under_the_prefix_are_ignored_with_a_log_line(void **state)
{
    (void)state;
    NEED_CLUSTER();
    note("cluster (7): malformed keys and values written with etcdctl under %s\n", PREFIX);
    ensure_hosts(1);
    wait_view(A, "where", "b", 1, SHOW_MS);
    wait_view(A, "where", "c", 1, SHOW_MS);
    long from = file_size(mm[A].log);
    static char out[OUT_CAP], key[512], big[4097];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    static const char garbage[] = "\xff\xfe\x00\x01" NET_PREFIX "2\x00\x80\n\t\x7f";
    size_t nbad = sizeof bad_entries / sizeof bad_entries[0];
    for (size_t i = 0; i < nbad; i++) {
        const bad_entry *b = &bad_entries[i];
        snprintf(key, sizeof key, "%sservices/%s", PREFIX, b->key);
        int rc;
        if (!b->value) /* etcdctl put reads the value from stdin when it has none */
            rc = run(E, garbage, sizeof garbage - 1, out, etcdctl_path, "--endpoints", endpoints,
                     "put", key, S(NULL));
        else
            rc = ETCDCTL(out, "put", "--", key, *b->value ? b->value : big);
        if (rc != 0)
            fail_msg("etcdctl put %s: %s", key, out);
    }
    /* a well-formed entry written last: once a sees it, it has read the
     * others (one watch, in revision order) */
    snprintf(key, sizeof key, "%sservices/ghost/x/" WHERE_PROG "/1/tcp", PREFIX);
    assert_int_equal(ETCDCTL(out, "put", key, NET_PREFIX "9.4.1"), 0);
    wait_view(A, "ghost", "x", 1, SHOW_MS);
    for (int h = A; h < NNS; h++)
        if (!proc_alive(&mm[h])) {
            show_log(&mm[h]);
            fail_msg("the matchmaker of %s died", ns_label[h]);
        }
    /* each ignored with a line naming it */
    static char logged[OUT_CAP];
    log_since(&mm[A], from, logged, sizeof logged);
    note("  a's matchmaker logged:\n%s", logged);
    for (size_t i = 0; i < nbad; i++)
        if (!strstr(logged, bad_entries[i].token))
            fail_msg("no log line in a's matchmaker names the malformed key %s",
                     bad_entries[i].key);
    /* none in the cache; the valid ones still resolve and answer */
    for (size_t i = 0; i < nbad; i++)
        if (strncmp(bad_entries[i].key, "where/", 6) == 0) {
            char host[64];
            snprintf(host, sizeof host, "%.*s", (int)strcspn(bad_entries[i].key + 6, "/"),
                     bad_entries[i].key + 6);
            assert_int_equal(view(A, "where", "cluster", host), 0);
        }
    assert_true(view(A, "where", "cluster", "b") > 0);
    assert_true(view(A, "where", "cluster", "c") > 0);
    assert_int_equal(INFO(A, out, "lookup", "bad-parts"), 1);
    assert_int_equal(INFO(A, out, "lookup", "bad-extra"), 1);
    assert_int_equal(cluster_state(A, out), 0);
    assert_null(strstr(out, "bad-"));
    round r;
    call_once(A, "where", 8, &r);
    assert_int_equal(r.fail, 0);
    assert_int_equal(r.from[B] + r.from[C], 8);
    /* deleting them is as harmless */
    snprintf(key, sizeof key, "%sservices/", PREFIX);
    for (size_t i = 0; i < nbad; i++) {
        snprintf(key, sizeof key, "%sservices/%s", PREFIX, bad_entries[i].key);
        assert_int_equal(ETCDCTL(out, "del", "--", key), 0);
    }
    snprintf(key, sizeof key, "%sservices/ghost/x/" WHERE_PROG "/1/tcp", PREFIX);
    assert_int_equal(ETCDCTL(out, "del", key), 0);
    wait_view(A, "ghost", "x", 0, VANISH_MS);
    for (int h = A; h < NNS; h++)
        assert_true(proc_alive(&mm[h]));
    expect_alive();
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s MATCHMAKER PARLEY-INFO CLUSTER-PEER\n", argv[0]);
        return 2;
    }
    mm_path = argv[1];
    info_path = argv[2];
    peer_path = argv[3];
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_server_registered_in_b_is_called_by_name_from_a),
        cmocka_unit_test(test_two_instances_share_the_calls_and_survive_either_one_being_killed),
        cmocka_unit_test(test_an_instance_on_this_host_comes_first_and_takes_its_calls),
        cmocka_unit_test(test_sigkill_of_b_matchmaker_removes_b_entries_within_the_ttl),
        cmocka_unit_test(test_one_etcd_member_killed_changes_nothing),
        cmocka_unit_test(test_all_etcd_members_killed_local_names_work_cluster_names_go_stale),
        cmocka_unit_test(test_etcd_back_resynchronises),
        cmocka_unit_test(test_malformed_values_under_the_prefix_are_ignored_with_a_log_line),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
