/*
 * tests/examples/exproc.c: the processes of exproc.h.
 */
#include "exproc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* spawn forks argv with env added, its stdout on *out and its stderr on
 * *err (the test's own when err is NULL). The child dies with the test. */
static pid_t spawn(char *const argv[], char *const env[], int *out, int *err)
{
    int o[2], e[2] = {-1, -1};
    if (pipe(o) != 0)
        return -1;
    if (err && pipe(e) != 0) {
        close(o[0]);
        close(o[1]);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(o[1], 1);
        if (err)
            dup2(e[1], 2);
        close(o[0]);
        close(o[1]);
        if (err) {
            close(e[0]);
            close(e[1]);
        }
        for (size_t i = 0; env && env[i]; i++)
            putenv(env[i]);
        execv(argv[0], argv);
        fprintf(stderr, "exproc: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(o[1]);
    if (err)
        close(e[1]);
    if (pid < 0) {
        close(o[0]);
        if (err)
            close(e[0]);
        return -1;
    }
    *out = o[0];
    if (err)
        *err = e[0];
    return pid;
}

/* reap waits for pid until deadline, then kills it; its status as
 * ex_server_stop tells it. */
static int reap(pid_t pid, long long deadline)
{
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR)
            return -1;
        if (now_ms() > deadline) {
            kill(pid, SIGKILL);
            if (waitpid(pid, &st, 0) != pid)
                return -1;
            break;
        }
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int ex_server_start(ex_server *s, char *const argv[])
{
    static char mm[] = "PARLEY_MATCHMAKER=unix:///nonexistent/parley-test-no-matchmaker.sock";
    char *const env[] = {mm, NULL};
    memset(s, 0, sizeof *s);
    s->out = -1;
    pid_t pid = spawn(argv, env, &s->out, NULL);
    if (pid < 0)
        return -1;
    s->pid = pid;
    char buf[4096];
    size_t n = 0;
    long long deadline = now_ms() + 10000;
    buf[0] = '\0';
    while (strstr(buf, "registered") == NULL || buf[n - 1] != '\n') {
        long long left = deadline - now_ms();
        struct pollfd pf = {s->out, POLLIN, 0};
        int r = left > 0 ? poll(&pf, 1, (int)left) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        ssize_t k = r > 0 && n < sizeof buf - 1 ? read(s->out, buf + n, sizeof buf - 1 - n) : 0;
        if (k <= 0)
            break;
        n += (size_t)k;
        buf[n] = '\0';
    }
    const char *at = strstr(buf, "listening on ");
    if (at && strstr(buf, "registered") != NULL) {
        at += strlen("listening on ");
        snprintf(s->addr, sizeof s->addr, "%.*s", (int)strcspn(at, "\n"), at);
        return 0;
    }
    fprintf(stderr, "exproc: %s did not start; it said:\n%s\n", argv[0], buf);
    ex_server_stop(s);
    return -1;
}

int ex_server_stop(ex_server *s)
{
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    int st = reap(s->pid, now_ms() + 10000);
    s->pid = 0;
    if (s->out >= 0)
        close(s->out);
    s->out = -1;
    return st;
}

int ex_run_start(ex_child *c, char *const argv[], char *const env[])
{
    c->pid = spawn(argv, env, &c->out, &c->err);
    return c->pid < 0 ? -1 : 0;
}

/* grow appends what fd has to read into *buf; 0 at its end, 1 when more
 * may come, -1 when out of memory. */
static int grow(int fd, char **buf, size_t *len, size_t *cap)
{
    if (*cap - *len < 4096) {
        size_t ncap = *cap * 2 + 4096;
        char *b = realloc(*buf, ncap);
        if (!b)
            return -1;
        *buf = b;
        *cap = ncap;
    }
    ssize_t k = read(fd, *buf + *len, *cap - *len - 1);
    if (k < 0 && errno == EINTR)
        return 1;
    if (k <= 0)
        return 0;
    *len += (size_t)k;
    return 1;
}

int ex_run_wait(ex_child *c, char **out, char **err)
{
    char *buf[2] = {NULL, NULL};
    size_t len[2] = {0, 0}, cap[2] = {0, 0};
    int fds[2] = {c->out, c->err}, open_fds = 2, failed = 0;
    long long deadline = now_ms() + 30000;
    while (open_fds > 0 && !failed) {
        struct pollfd pf[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
        long long left = deadline - now_ms();
        int r = left > 0 ? poll(pf, 2, (int)left) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break; /* past the bound: reap kills it */
        for (int i = 0; i < 2; i++) {
            if (fds[i] < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            int g = grow(fds[i], &buf[i], &len[i], &cap[i]);
            if (g < 0)
                failed = 1;
            if (g <= 0) {
                close(fds[i]);
                fds[i] = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    int st = reap(c->pid, now_ms() + 1000);
    for (int i = 0; i < 2; i++) {
        if (!buf[i])
            buf[i] = malloc(1);
        if (buf[i])
            buf[i][len[i]] = '\0';
    }
    *out = buf[0];
    *err = buf[1];
    return failed || !buf[0] || !buf[1] ? -1 : st;
}

int ex_run(char *const argv[], char *const env[], char **out, char **err)
{
    ex_child c;
    *out = *err = NULL;
    if (ex_run_start(&c, argv, env) != 0)
        return -1;
    return ex_run_wait(&c, out, err);
}

int ex_tmpdir(char *dir, size_t size)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    if ((size_t)snprintf(dir, size, "%s/parley-examples-XXXXXX", base) >= size)
        return -1;
    return mkdtemp(dir) ? 0 : -1;
}

void ex_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[4096];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
}
