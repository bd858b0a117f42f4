/*
 * test_mm_units.c: parley-matchmaker under systemd. The unit CMake wrote
 * passes `systemd-analyze verify` (a copy of it whose ExecStart is the
 * daemon just built, since verify wants the program to exist, and whose
 * man page is found in docs/man; skipped where systemd-analyze is not
 * installed); and the daemon speaks Type=notify's protocol: started with
 * NOTIFY_SOCKET, it sends READY=1 once it answers and STOPPING=1 at
 * SIGTERM, to a socket path and to an abstract name. argv[1] is the daemon,
 * argv[2] parley-info, argv[3] the configured unit, argv[4] docs/man. Every
 * wait is bounded; every process started is stopped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "mm_shell.h"
#include "testproc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *daemon_path, *info_path, *unit_path, *man_dir;
static char dir[64];

static void test_the_unit_passes_systemd_analyze_verify(void **state)
{
    (void)state;
    if (!mm_on_path("systemd-analyze")) {
        print_message("systemd-analyze is not installed: skipped\n");
        skip();
    }
    /* a copy of the unit with the built daemon for the installed one, and
     * a man folder holding the page its Documentation= names */
    FILE *in = fopen(unit_path, "r");
    assert_non_null(in);
    char unit[160], mandir[160], page[200], line[1024];
    snprintf(unit, sizeof unit, "%s/parley-matchmaker.service", dir);
    snprintf(mandir, sizeof mandir, "%s/man/man8", dir);
    snprintf(page, sizeof page, "%s/parley-matchmaker.8", mandir);
    FILE *out = fopen(unit, "w");
    assert_non_null(out);
    char *daemon = realpath(daemon_path, NULL); /* systemd takes absolute paths only */
    assert_non_null(daemon);
    int execs = 0;
    while (fgets(line, sizeof line, in)) {
        if (strncmp(line, "ExecStart=", 10) == 0) {
            const char *args = strchr(line, ' ');
            fprintf(out, "ExecStart=%s%s", daemon, args ? args : "\n");
            execs++;
        } else {
            fputs(line, out);
        }
    }
    free(daemon);
    fclose(in);
    assert_int_equal(fclose(out), 0);
    assert_int_equal(execs, 1);
    char cmd[1024], text[8192];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s/parley-matchmaker.8' '%s'", mandir, man_dir,
             page);
    assert_int_equal(mm_shell(cmd, text, sizeof text), 0);
    /* verify prints its findings (and fails) on anything it dislikes */
    snprintf(cmd, sizeof cmd, "MANPATH='%s/man' timeout 60 systemd-analyze verify '%s' 2>&1", dir,
             unit);
    int rc = mm_shell(cmd, text, sizeof text);
    if (rc != 0 || text[0])
        fail_msg("systemd-analyze verify: exit %d:\n%s", rc, text);
    unlink(page);
    unlink(unit);
    snprintf(cmd, sizeof cmd, "rmdir '%s' '%s/man'", mandir, dir);
    mm_shell(cmd, text, sizeof text);
}

/* notify_socket binds a datagram socket at name (a path, or '@' and an
 * abstract name); the descriptor, or -1. */
static int notify_socket(const char *name)
{
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    size_t n = strlen(name);
    if (n >= sizeof a.sun_path)
        return -1;
    memcpy(a.sun_path, name, n);
    if (name[0] == '@')
        a.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) !=
        0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* next_state waits (at most ms) for a datagram on fd; its text in buf, or
 * "" when none came. */
static void next_state(int fd, char *buf, size_t cap, int ms)
{
    buf[0] = '\0';
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, ms) == 1) {
        ssize_t n = recv(fd, buf, cap - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
    }
}

/* reap waits (bounded, ms) for pid to end; its exit status (128 + the
 * signal when killed), or -1 when it did not end in time. */
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

/* ready_then_stopping starts the daemon with NOTIFY_SOCKET=name on a free
 * port, checks that READY=1 comes and that parley-info then lists its
 * table, and that SIGTERM brings STOPPING=1 and exit status 0. */
static void ready_then_stopping(const char *name)
{
    int nfd = notify_socket(name);
    assert_true(nfd >= 0);
    char sock[160], ports[16], state[256];
    snprintf(sock, sizeof sock, "%s/mm.sock", dir);
    pid_t pid = -1;
    for (int attempt = 0; attempt < 5; attempt++) { /* another may take the port meanwhile */
        int port = pt_free_port();
        assert_true(port > 0);
        snprintf(ports, sizeof ports, "%d", port);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            setenv("NOTIFY_SOCKET", name, 1);
            execl(daemon_path, daemon_path, "--port", ports, "--bind", "127.0.0.1", "--socket",
                  sock, "--no-rpcbind-socket", "--no-state", "--check-ms", "0", (char *)NULL);
            _exit(127);
        }
        next_state(nfd, state, sizeof state, 10000);
        if (strcmp(state, "READY=1") == 0)
            break;
        /* no READY=1: it ended (the port taken), or it is stuck */
        int rc = reap(pid, 2000);
        if (rc < 0) {
            kill(pid, SIGKILL);
            reap(pid, 5000);
            fail_msg("no READY=1 in 10 s from a daemon still running");
        }
        pid = -1;
    }
    assert_true(pid > 0);
    char cmd[512], out[4096];
    snprintf(cmd, sizeof cmd, "timeout 20 '%s' -m 127.0.0.1:%s list 2>&1", info_path, ports);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = '\0';
    int st = p ? pclose(p) : -1;
    kill(pid, SIGTERM);
    next_state(nfd, state, sizeof state, 10000);
    int rc = reap(pid, 10000);
    if (rc < 0) {
        kill(pid, SIGKILL);
        reap(pid, 5000);
    }
    close(nfd);
    if (name[0] == '/')
        unlink(name);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !strstr(out, "matchmaker"))
        fail_msg("parley-info list after READY=1: %s", out);
    assert_string_equal(state, "STOPPING=1");
    assert_int_equal(rc, 0);
}

static void test_notify_socket_path_gets_ready_and_stopping(void **state)
{
    (void)state;
    char name[160];
    snprintf(name, sizeof name, "%s/notify.sock", dir);
    ready_then_stopping(name);
}

static void test_notify_abstract_socket_gets_ready_and_stopping(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof name, "@parley-mm-notify-%ld", (long)getpid());
    ready_then_stopping(name);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s parley-matchmaker parley-info UNIT MANDIR\n", argv[0]);
        return 2;
    }
    daemon_path = argv[1];
    info_path = argv[2];
    unit_path = argv[3];
    man_dir = argv[4];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mmunit.XXXXXX", tmp && tmp[0] && strlen(tmp) < 24 ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_unit_passes_systemd_analyze_verify),
        cmocka_unit_test(test_notify_socket_path_gets_ready_and_stopping),
        cmocka_unit_test(test_notify_abstract_socket_gets_ready_and_stopping),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(dir);
    return failed;
}
