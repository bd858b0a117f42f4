/*
 * tests/examples/exproc.h: the example programs as processes, for the tests
 * of the examples: a server started with its output on a pipe until it
 * says where it listens, and a client run to its end with its output kept.
 * Every wait is bounded; a process past its bound is killed.
 */
#ifndef EXAMPLES_EXPROC_H
#define EXAMPLES_EXPROC_H

#include <stddef.h>
#include <sys/types.h>

typedef struct ex_server {
    pid_t pid; /* 0: not running */
    int out;   /* the read end of its standard output */
    char addr[256];
} ex_server;

/* ex_server_start runs argv (argv[0] a path) with PARLEY_MATCHMAKER naming
 * a Unix socket that does not exist (so it registers with no matchmaker of
 * this machine), its standard output on a pipe and its standard error the
 * test's, and waits (up to 10 s) until it says "registered": the last line
 * before it serves. s->addr is the first address it listens on. 0, or -1
 * (with the server's output on stderr, and the process ended) when it
 * exits first or says no address. */
int ex_server_start(ex_server *s, char *const argv[]);

/* ex_server_stop sends SIGTERM and reaps the server (SIGKILL after 10 s).
 * Its exit status, 128 + the signal that ended it, or -1 (not running). */
int ex_server_stop(ex_server *s);

/* ex_run runs argv to its end (killed after 30 s) with env's "NAME=VALUE"
 * strings (NULL-terminated; NULL: none) added to the environment, and
 * returns its exit status (128 + a signal; -1 when it could not run). *out
 * and *err are its standard output and error, NUL-terminated, to free(). */
int ex_run(char *const argv[], char *const env[], char **out, char **err);

/* ex_run_start and ex_run_wait are ex_run in two halves, so that several
 * clients run at once: _start gives the pid and the two pipes' read ends,
 * _wait reads them to their ends and reaps the process. */
typedef struct ex_child {
    pid_t pid;
    int out, err;
} ex_child;
int ex_run_start(ex_child *c, char *const argv[], char *const env[]);
int ex_run_wait(ex_child *c, char **out, char **err);

/* ex_tmpdir makes a fresh folder under TMPDIR (or /tmp) into dir (size
 * bytes); ex_rmdir removes it and what it holds (one level). 0 or -1. */
int ex_tmpdir(char *dir, size_t size);
void ex_rmdir(const char *dir);

#endif /* EXAMPLES_EXPROC_H */
