/*
 * tests/integ/proc.c: the processes of proc.h.
 */
#include "proc.h"

#include <errno.h>
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

/* read_lines reads fd until EOF (within deadline) into p->addrs. */
static int read_lines(int fd, integ_proc *p, long long deadline)
{
    char buf[INTEG_MAX_ADDRS * INTEG_ADDR_LEN];
    size_t n = 0;
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd pf = {fd, POLLIN, 0};
        int r = poll(&pf, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        if (n == sizeof buf - 1)
            return -1;
        ssize_t k = read(fd, buf + n, sizeof buf - 1 - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        n += (size_t)k;
    }
    buf[n] = '\0';
    p->naddrs = 0;
    for (char *line = strtok(buf, "\n"); line && p->naddrs < INTEG_MAX_ADDRS;
         line = strtok(NULL, "\n"))
        snprintf(p->addrs[p->naddrs++], INTEG_ADDR_LEN, "%s", line);
    return p->naddrs ? 0 : -1;
}

int integ_proc_start(integ_proc *p, integ_child_fn *fn, void *ctx)
{
    int fds[2];
    memset(p, 0, sizeof *p);
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        /* a test that dies (a crash, a ctest timeout) takes its server along */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(fds[0]);
        _exit(fn(fds[1], ctx));
    }
    close(fds[1]);
    p->pid = pid;
    int rc = read_lines(fds[0], p, now_ms() + 10000);
    close(fds[0]);
    if (rc != 0)
        integ_proc_kill(p);
    return rc;
}

/* reap waits (bounded) for the child; its status, or -1 on timeout. */
static int reap(pid_t pid, long long deadline, int *status)
{
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        if (now_ms() >= deadline)
            return -1;
        poll(NULL, 0, 5);
    }
}

int integ_proc_stop(integ_proc *p)
{
    if (p->pid <= 0)
        return -1;
    int status = 0;
    kill(p->pid, SIGTERM);
    if (reap(p->pid, now_ms() + 10000, &status) != 0) {
        integ_proc_kill(p);
        return -1;
    }
    p->pid = 0;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

void integ_proc_kill(integ_proc *p)
{
    if (p->pid <= 0)
        return;
    int status;
    kill(p->pid, SIGKILL);
    while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
        ;
    p->pid = 0;
}

long integ_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

int integ_port(const char *addr)
{
    const char *c = strrchr(addr, ':');
    if (!c)
        return -1;
    char *end;
    long v = strtol(c + 1, &end, 10);
    return end != c + 1 && *end == '\0' && v > 0 && v < 65536 ? (int)v : -1;
}
