/*
 * testproc.h: processes, ports and folders for the tests that start programs.
 *
 * The integration tests start real processes (the matchmaker, etcd, its
 * etcdctl, servers of their own) on free loopback ports and must stop every
 * one of them, also when a case fails. These helpers are the one version of
 * what those tests share: find a program on PATH, pick a free port, start a
 * program with its output to a log (it dies with the test), stop it within
 * a bound, run one to its end within a bound, and remove a folder tree.
 * Every wait here is bounded. (tests/integ/proc.h is another thing: servers
 * forked from the test's own code, reporting their addresses through a
 * pipe.) Part of the test support library, never of libparley.
 */
#ifndef PARLEY_TEST_TESTPROC_H
#define PARLEY_TEST_TESTPROC_H

#include <stddef.h>
#include <sys/types.h>

/* pt_before_exec is called in a child of pt_spawn_hook() after its output
 * is redirected and before exec (e.g. to enter a network namespace); a
 * nonzero return ends the child with status 127 instead. */
typedef int (*pt_before_exec)(void *arg);

/* pt_sleep_ms sleeps ms milliseconds (less if a signal interrupts it). */
void pt_sleep_ms(unsigned ms);

/* pt_on_path says whether prog is an executable file in a folder of PATH
 * (1) or not (0). */
int pt_on_path(const char *prog);

/* pt_free_port returns a TCP port of 127.0.0.1 that was free a moment ago
 * (the kernel picks it; another process may take it before the caller
 * binds it), or -1 when no socket could be made. */
int pt_free_port(void);

/* pt_spawn starts argv (NULL-terminated, argv[0] searched on PATH) with
 * stdout and stderr appended to the file log (NULL: /dev/null) and env
 * ("NAME=VALUE", or NULL) added to its environment. The child is killed
 * when the test ends (PR_SET_PDEATHSIG); an exec that fails ends it with
 * status 127. Returns its pid, which the caller owns and stops with
 * pt_stop() or pt_run(), or -1 when fork fails. */
pid_t pt_spawn(const char *const argv[], const char *log, const char *env);

/* pt_spawn_hook is pt_spawn() that also calls hook(arg) in the child
 * before exec (hook NULL: none). */
pid_t pt_spawn_hook(const char *const argv[], const char *log, const char *env, pt_before_exec hook,
                    void *arg);

/* pt_stop sends sig to *pid, waits for it to end (at most 10 s, then
 * SIGKILL) and reaps it; *pid becomes 0. Returns its exit status, 128 plus
 * the signal that ended it, or -1 when *pid was not a process (0 or less). */
int pt_stop(pid_t *pid, int sig);

/* pt_run runs argv to its end (at most 30 s, then SIGKILL) with its output
 * appended to log (NULL: /dev/null). Returns its exit status, or -1 when it
 * could not start, ended by a signal or was killed at the bound. */
int pt_run(const char *const argv[], const char *log);

/* pt_run_hook is pt_run() with env and a hook as for pt_spawn_hook(). */
int pt_run_hook(const char *const argv[], const char *log, const char *env, pt_before_exec hook,
                void *arg);

/* pt_read_file reads the file at path (its first cap - 1 bytes) into out,
 * NUL-terminated; out is "" when it cannot be opened. Returns the number of
 * bytes read. */
size_t pt_read_file(const char *path, char *out, size_t cap);

/* pt_rm_tree removes the folder path and everything under it, as far as it
 * can (errors are ignored: it is a test's clean-up). */
void pt_rm_tree(const char *path);

#endif /* PARLEY_TEST_TESTPROC_H */
