/*
 * testproc.c: processes, ports and folders for the tests (testproc.h).
 *
 * Waits poll waitpid(WNOHANG) every 10 ms up to a fixed count, so that a
 * process that never ends costs a test a known bound, after which it is
 * killed with SIGKILL and reaped: no test leaves a process behind, and a
 * child also dies with the test through PR_SET_PDEATHSIG should the test
 * itself be killed.
 */

#include "testproc.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
    POLL_MS = 10,      /* between two looks at a child */
    STOP_POLLS = 1000, /* pt_stop: 10 s before SIGKILL */
    RUN_POLLS = 3000,  /* pt_run: 30 s before SIGKILL */
    MAX_ARGS = 63      /* pt_spawn: more arguments are left out */
};

/* pt_sleep_ms sleeps ms milliseconds; an interrupting signal shortens it,
 * which every caller's bounded loop tolerates. */
void pt_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* pt_on_path looks for prog in each folder of PATH, as execvp would. */
int pt_on_path(const char *prog)
{
    const char *path = getenv("PATH");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path ? path : "");
    for (char *save, *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char f[4200];
        snprintf(f, sizeof f, "%s/%s", d, prog);
        if (access(f, X_OK) == 0)
            return 1;
    }
    return 0;
}

/* pt_free_port binds a TCP socket to 127.0.0.1 port 0, reads the port the
 * kernel chose and closes the socket. */
int pt_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* pt_spawn starts argv without a hook (pt_spawn_hook). */
pid_t pt_spawn(const char *const argv[], const char *log, const char *env)
{
    return pt_spawn_hook(argv, log, env, NULL, NULL);
}

/* pt_spawn_hook forks; the child asks to be killed with its parent,
 * redirects its output, sets env, calls hook, and execs argv. The
 * arguments are copied into an array of execvp's type first, so the
 * caller's stay const. Returns the child's pid or -1 (fork failed). */
pid_t pt_spawn_hook(const char *const argv[], const char *log, const char *env, pt_before_exec hook,
                    void *arg)
{
    char *av[MAX_ARGS + 1];
    size_t n = 0;
    for (; argv[n] && n < MAX_ARGS; n++)
        av[n] = (char *)(uintptr_t)argv[n]; /* execvp's type, not a change */
    av[n] = NULL;
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    if (env)
        putenv((char *)(uintptr_t)env); /* the child's own copy of the environment */
    if (hook && hook(arg) != 0)
        _exit(127);
    execvp(av[0], av);
    _exit(127);
}

/* status_of turns a wait status into an exit status, 128 + a signal, or
 * -1. */
static int status_of(int st)
{
    return WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
}

/* wait_bounded waits for pid at most polls times POLL_MS and reaps it;
 * 1 (ended, *st set) or 0 (still running). */
static int wait_bounded(pid_t pid, int *st, int polls)
{
    for (int i = 0; i < polls; i++) {
        if (waitpid(pid, st, WNOHANG) == pid)
            return 1;
        pt_sleep_ms(POLL_MS);
    }
    return 0;
}

/* pt_stop signals *pid, waits (bounded), kills and reaps it. */
int pt_stop(pid_t *pid, int sig)
{
    if (*pid <= 0)
        return -1;
    kill(*pid, sig);
    int st = -1;
    if (!wait_bounded(*pid, &st, STOP_POLLS)) {
        kill(*pid, SIGKILL);
        waitpid(*pid, &st, 0);
    }
    *pid = 0;
    return status_of(st);
}

/* pt_run starts argv without env or hook (pt_run_hook). */
int pt_run(const char *const argv[], const char *log)
{
    return pt_run_hook(argv, log, NULL, NULL, NULL);
}

/* pt_run_hook starts argv and waits for its end (bounded); past the bound
 * it is killed and reaped, and the answer is -1. */
int pt_run_hook(const char *const argv[], const char *log, const char *env, pt_before_exec hook,
                void *arg)
{
    pid_t pid = pt_spawn_hook(argv, log, env, hook, arg);
    if (pid < 0)
        return -1;
    int st = -1;
    if (wait_bounded(pid, &st, RUN_POLLS))
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

/* pt_read_file reads at most cap - 1 bytes of path into out. */
size_t pt_read_file(const char *path, char *out, size_t cap)
{
    size_t n = 0;
    if (cap == 0)
        return 0;
    FILE *f = fopen(path, "r");
    if (f) {
        n = fread(out, 1, cap - 1, f);
        fclose(f);
    }
    out[n] = '\0';
    return n;
}

/* rm_entry removes one entry of the tree (nftw's callback, depth first). */
static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

/* pt_rm_tree walks path depth first without following links, removing
 * each entry. */
void pt_rm_tree(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
