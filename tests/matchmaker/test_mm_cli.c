/*
 * test_mm_cli.c: the command-line manners of parley-matchmaker and
 * parley-info, as Debian's tools have them: --help prints the whole usage
 * to stdout and exits 0; --version prints the name and the project's
 * version (MM_VERSION, given by CMake as to the programs) and exits 0; a
 * usage error is one line on stderr naming the problem and pointing at
 * --help, exit status 2. No daemon is started: each case ends before the
 * program would listen. argv[1] is the daemon, argv[2] parley-info.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *daemon_path, *info_path;

/* What a run printed and how it ended. */
typedef struct run_result {
    char out[8192], err[8192];
    int status; /* the exit status; -1 when it did not exit (killed, or too slow) */
} run_result;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* run runs path with the arguments args (NULL-terminated, after argv[0])
 * and an environment without PARLEY_MATCHMAKER, collecting its stdout and
 * stderr (truncated to the buffers) for at most 10 s, after which it is
 * killed. */
static void run(run_result *r, const char *path, const char *const *args)
{
    memset(r, 0, sizeof *r);
    r->status = -1;
    const char *argv[64];
    int n = 0;
    argv[n++] = path;
    for (; *args && n < 63; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    int po[2], pe[2];
    if (pipe(po) != 0)
        return;
    if (pipe(pe) != 0) {
        close(po[0]);
        close(po[1]);
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(po[1]);
        close(pe[0]);
        close(pe[1]);
        unsetenv("PARLEY_MATCHMAKER");
        execv(path, (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    if (pid < 0) {
        close(po[0]);
        close(pe[0]);
        return;
    }
    struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
    char *buf[2] = {r->out, r->err};
    size_t len[2] = {0, 0};
    int open_fds = 2;
    long deadline = now_ms() + 10000;
    while (open_fds > 0 && now_ms() < deadline) {
        if (poll(fds, 2, 100) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char tmp[1024];
            ssize_t k = read(fds[i].fd, tmp, sizeof tmp);
            if (k <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
                continue;
            }
            size_t room = sizeof r->out - 1 - len[i];
            size_t take = (size_t)k < room ? (size_t)k : room;
            memcpy(buf[i] + len[i], tmp, take);
            len[i] += take;
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    int st;
    pid_t w = 0;
    for (int i = 0; i < 200 && (w = waitpid(pid, &st, WNOHANG)) == 0; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (w == 0) { /* still running: it was meant to have ended long ago */
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        return;
    }
    if (w == pid && WIFEXITED(st))
        r->status = WEXITSTATUS(st);
}

/* count_lines counts the newline-ended lines of s. */
static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* expect_usage_error runs prog (the daemon or parley-info, named name) with
 * args and checks it refused them as a usage error mentioning want: exit
 * status 2, nothing on stdout, one line on stderr that names want and
 * "try 'NAME --help'". */
static void expect_usage_error(const char *path, const char *name, const char *want,
                               const char *const *args)
{
    run_result r;
    run(&r, path, args);
    char pointer[64];
    snprintf(pointer, sizeof pointer, "try '%s --help'\n", name);
    if (r.status != 2 || r.out[0] || count_lines(r.err) != 1 || !strstr(r.err, want) ||
        !strstr(r.err, pointer) || strncmp(r.err, name, strlen(name)) != 0)
        fail_msg("%s %s: exit %d, stdout '%s', stderr '%s'; wanted exit 2, one line naming '%s'",
                 name, args[0] ? args[0] : "", r.status, r.out, r.err, want);
}

/* expect_help checks that args print the usage to stdout, nothing to
 * stderr, exit 0. */
static void expect_help(const char *path, const char *const *args)
{
    run_result r;
    run(&r, path, args);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_true(strncmp(r.out, "usage: ", 7) == 0);
    assert_non_null(strstr(r.out, "--help"));
    assert_non_null(strstr(r.out, "--version"));
    assert_non_null(strstr(r.out, "Exit status"));
    assert_true(count_lines(r.out) > 5);
}

/* expect_version checks that args print "NAME VERSION" alone, exit 0. */
static void expect_version(const char *path, const char *name, const char *const *args)
{
    run_result r;
    run(&r, path, args);
    char want[64];
    snprintf(want, sizeof want, "%s %s\n", name, MM_VERSION);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_string_equal(r.out, want);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_daemon_help_and_version_print_to_stdout_and_exit_0(void **state)
{
    (void)state;
    expect_help(daemon_path, ARGS("--help"));
    expect_help(daemon_path, ARGS("-h"));
    /* help wins over what would have been served */
    expect_help(daemon_path, ARGS("--port", "1", "--help"));
    expect_version(daemon_path, "parley-matchmaker", ARGS("--version"));
    expect_version(daemon_path, "parley-matchmaker", ARGS("-V"));
    run_result r;
    run(&r, daemon_path, ARGS("--help"));
    /* every option is in the usage */
    static const char *const opts[] = {"--port",
                                       "--bind",
                                       "--socket",
                                       "--rpcbind-socket",
                                       "--no-rpcbind-socket",
                                       "--state",
                                       "--no-state",
                                       "--max-entries",
                                       "--check-ms",
                                       "--threads",
                                       "--daemon",
                                       "--pidfile",
                                       "--syslog",
                                       "--cluster",
                                       "--cluster-cacert",
                                       "--cluster-cert",
                                       "--cluster-key",
                                       "--advertise",
                                       "--cluster-host",
                                       "--cluster-prefix",
                                       "--cluster-ttl",
                                       "--cluster-stale",
                                       "--cluster-max-entries"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        if (!strstr(r.out, opts[i]))
            fail_msg("the usage does not name %s", opts[i]);
}

static void test_daemon_usage_errors_are_one_line_and_exit_2(void **state)
{
    (void)state;
    const char *d = daemon_path, *n = "parley-matchmaker";
    expect_usage_error(d, n, "unknown option '--bogus'", ARGS("--bogus"));
    expect_usage_error(d, n, "unknown option '-x'", ARGS("-x"));
    expect_usage_error(d, n, "option '--check-ms' needs a value", ARGS("--check-ms"));
    expect_usage_error(d, n, "option '--help' takes no value", ARGS("--help=yes"));
    expect_usage_error(d, n, "option '--no' is ambiguous", ARGS("--no"));
    expect_usage_error(d, n, "--port: '70000' is not a port", ARGS("--port", "70000"));
    expect_usage_error(d, n, "--port: 'x' is not a port", ARGS("--port", "x"));
    expect_usage_error(d, n, "--threads: '0' is not a number", ARGS("--threads", "0"));
    expect_usage_error(d, n, "--max-entries: '9999999999' is not a number",
                       ARGS("--max-entries", "9999999999"));
    expect_usage_error(d, n, "--check-ms: '-1' is not a number", ARGS("--check-ms", "-1"));
    expect_usage_error(d, n, "unexpected argument 'serve'", ARGS("serve"));
    /* the cluster's options */
#define E "http://127.0.0.1:1"
    expect_usage_error(d, n, "--advertise needs --cluster", ARGS("--advertise", "10.0.0.1"));
    expect_usage_error(d, n, "--cluster-ttl needs --cluster", ARGS("--cluster-ttl", "5"));
    expect_usage_error(d, n, "--cluster needs --advertise", ARGS("--cluster", E));
    expect_usage_error(d, n, "--cluster: 'ftp://x' is not an etcd client URL",
                       ARGS("--cluster", "ftp://x", "--advertise", "10.0.0.1"));
    expect_usage_error(d, n, "--cluster: '' is not an etcd client URL",
                       ARGS("--cluster", E ",", "--advertise", "10.0.0.1"));
    expect_usage_error(d, n, "--advertise: 'host.example' is not an IPv4 or IPv6 address",
                       ARGS("--cluster", E, "--advertise", "host.example"));
    expect_usage_error(d, n, "--advertise: '0.0.0.0' is the wildcard address",
                       ARGS("--cluster", E, "--advertise", "0.0.0.0"));
    expect_usage_error(d, n, "--advertise: '::' is the wildcard address",
                       ARGS("--cluster", E, "--advertise", "::"));
    expect_usage_error(d, n, "--cluster-host: 'a/b' is not 1 to 64 characters",
                       ARGS("--cluster-host", "a/b"));
    expect_usage_error(d, n, "--cluster-prefix: 'p' is not", ARGS("--cluster-prefix", "p"));
    expect_usage_error(d, n, "--cluster-ttl: '1' is not a number of seconds from 2 to 3600",
                       ARGS("--cluster-ttl", "1"));
    expect_usage_error(d, n, "--cluster-ttl: '3601' is not", ARGS("--cluster-ttl", "3601"));
    expect_usage_error(d, n, "--cluster-stale: '-1' is not", ARGS("--cluster-stale", "-1"));
    expect_usage_error(d, n, "--cluster-max-entries: '65537' is not a number from 1 to 65536",
                       ARGS("--cluster-max-entries", "65537"));
    expect_usage_error(d, n, "--cluster-cert and --cluster-key go together",
                       ARGS("--cluster", E, "--advertise", "10.0.0.1", "--cluster-cert", "c.pem"));
#undef E
    const char *binds[64];
    int k = 0;
    for (int b = 0; b < 17; b++) { /* one more than the 16 it takes */
        binds[k++] = "--bind";
        binds[k++] = "::1";
    }
    binds[k] = NULL;
    expect_usage_error(d, n, "--bind: at most 16 addresses", binds);
}

static void test_info_help_and_version_print_to_stdout_and_exit_0(void **state)
{
    (void)state;
    expect_help(info_path, ARGS("--help"));
    expect_help(info_path, ARGS("-h"));
    expect_help(info_path, ARGS("-m", "127.0.0.1:1", "--help"));
    expect_version(info_path, "parley-info", ARGS("--version"));
    expect_version(info_path, "parley-info", ARGS("-V"));
    run_result r;
    run(&r, info_path, ARGS("--help"));
    assert_non_null(strstr(r.out, "list"));
    assert_non_null(strstr(r.out, "lookup NAME"));
    assert_non_null(strstr(r.out, "ping NAME"));
    assert_non_null(strstr(r.out, "PARLEY_MATCHMAKER"));
}

static void test_info_usage_errors_are_one_line_and_exit_2(void **state)
{
    (void)state;
    const char *i = info_path, *n = "parley-info";
    expect_usage_error(i, n, "no command", ARGS("-m", "127.0.0.1:1"));
    expect_usage_error(i, n, "option '-m' needs a value", ARGS("-m"));
    expect_usage_error(i, n, "option '--matchmaker' needs a value", ARGS("--matchmaker"));
    expect_usage_error(i, n, "unknown option '--bogus'", ARGS("--bogus", "list"));
    expect_usage_error(i, n, "unknown option '-x'", ARGS("-x"));
    expect_usage_error(i, n, "unknown command 'frobnicate'", ARGS("frobnicate"));
    expect_usage_error(i, n, "list takes no arguments", ARGS("list", "all"));
    expect_usage_error(i, n, "lookup takes NAME", ARGS("lookup"));
    expect_usage_error(i, n, "lookup: 'one' is not a version number", ARGS("lookup", "x", "one"));
    expect_usage_error(i, n, "ping takes NAME or ADDRESS", ARGS("ping", "x", "1"));
    expect_usage_error(i, n, "ping: '-3' is not a program number", ARGS("ping", "x", "-3", "1"));
    expect_usage_error(i, n, "ping: 'v' is not a version number", ARGS("ping", "x", "1", "v"));
    expect_usage_error(i, n, "an address needs PROG and VERS", ARGS("ping", "tcp://127.0.0.1:1"));
    /* an IPv6 literal wants brackets, as in PARLEY_MATCHMAKER */
    expect_usage_error(i, n, "'::1' is not a matchmaker address", ARGS("-m", "::1", "list"));
    expect_usage_error(i, n, "'[::1' is not a matchmaker address", ARGS("-m", "[::1", "list"));
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s parley-matchmaker parley-info\n", argv[0]);
        return 2;
    }
    daemon_path = argv[1];
    info_path = argv[2];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_daemon_help_and_version_print_to_stdout_and_exit_0),
        cmocka_unit_test(test_daemon_usage_errors_are_one_line_and_exit_2),
        cmocka_unit_test(test_info_help_and_version_print_to_stdout_and_exit_0),
        cmocka_unit_test(test_info_usage_errors_are_one_line_and_exit_2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
