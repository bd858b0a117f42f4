/*
 * clusterutil.h: what the cluster benchmarks (bench_cluster.c,
 * bench_cluster_scale.c) share: an etcd cluster of their own (one or three
 * members on loopback ports, data in a temporary folder, stopped and removed
 * at the end), etcd's Prometheus metrics read over HTTP with libcurl, the
 * memory and CPU time of a process from /proc, child processes that die with
 * the benchmark, and a private network namespace where the benchmark may
 * make one.
 *
 * Every child started here gets PR_SET_PDEATHSIG (SIGKILL), so a benchmark
 * killed outright leaves no etcd or matchmaker behind, and bc_children_kill
 * (also run at exit and on SIGINT/SIGTERM) stops the ones still running.
 */
#ifndef BENCH_CLUSTERUTIL_H
#define BENCH_CLUSTERUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BC_MAX_MEMBERS 3

/* An etcd cluster started by bc_etcd_start. */
typedef struct bc_etcd {
    unsigned n;                           /* members */
    pid_t pid[BC_MAX_MEMBERS];            /* 0 when not running */
    unsigned client_port[BC_MAX_MEMBERS]; /* on 127.0.0.1 */
    unsigned peer_port[BC_MAX_MEMBERS];
    char url[BC_MAX_MEMBERS][64];        /* "http://127.0.0.1:PORT" */
    char endpoints[BC_MAX_MEMBERS * 64]; /* the URLs, comma-separated */
    char dir[256];                       /* the temporary folder: data and logs */
} bc_etcd;

/* bc_now_ns reads CLOCK_MONOTONIC in nanoseconds. */
uint64_t bc_now_ns(void);

/* bc_sleep_ms sleeps ms milliseconds (0: returns at once). */
void bc_sleep_ms(unsigned ms);

/* bc_find_program looks name up as execvp would (a path with a '/' as it
 * is, else in PATH) and writes the path to out; 0, or -1 when there is no
 * executable of that name. */
int bc_find_program(const char *name, char *out, size_t cap);

/* bc_private_network moves the calling process into a network namespace of
 * its own with only the loopback interface, up; children started later
 * share it. It must run before any thread is started. 0, or -1 with why in
 * msg (not root, or the kernel refused). */
int bc_private_network(char *msg, size_t cap);

/* bc_free_port returns a TCP port on 127.0.0.1 that was free a moment ago
 * (bound to port 0 and closed), or 0. */
unsigned bc_free_port(void);

/* bc_make_dir makes a fresh temporary folder under base (NULL: TMPDIR, else
 * /tmp) named prefix-XXXXXX into out; 0 or -1. */
int bc_make_dir(const char *base, const char *prefix, char *out, size_t cap);

/* bc_remove_tree removes path and everything under it; missing is fine. */
void bc_remove_tree(const char *path);

/* bc_fs_type is the type of the file system that holds path ("ext4",
 * "tmpfs", ...; "?" when unknown), a static text. */
const char *bc_fs_type(const char *path);

/* bc_spawn starts argv[0] (a path) with argv, its stdout and stderr
 * appended to log_path (NULL: inherited), as a child that is killed when the
 * benchmark dies. Its pid, or -1. The child is remembered, for
 * bc_children_kill. */
pid_t bc_spawn(const char *const argv[], const char *log_path);

/* bc_stop sends SIGTERM to pid and waits up to wait_ms for it, then kills
 * it (SIGKILL) and reaps it. Its exit status as waitpid gives it, or -1. */
int bc_stop(pid_t pid, unsigned wait_ms);

/* bc_children_kill kills (SIGKILL) and reaps every child still running;
 * safe in a signal handler. bc_children_guard installs it at exit and on
 * SIGINT, SIGTERM and SIGHUP. */
void bc_children_kill(void);
void bc_children_guard(void);

/* bc_etcd_start starts an etcd cluster of n members (1 to BC_MAX_MEMBERS)
 * from the program etcd_path on free loopback ports, with its data in a
 * fresh folder under base_dir (NULL: TMPDIR, else /tmp), and waits up to
 * wait_ms until every member answers /health with "true". 0, or -1 with why
 * in msg (the members are stopped then). */
int bc_etcd_start(bc_etcd *e, const char *etcd_path, unsigned n, const char *base_dir,
                  unsigned wait_ms, char *msg, size_t cap);

/* bc_etcd_tail_logs prints the last lines of each member's log to stderr
 * (after a failure, before bc_etcd_stop removes them). */
void bc_etcd_tail_logs(const bc_etcd *e, unsigned lines);

/* bc_etcd_stop stops the members (SIGTERM, then SIGKILL) and removes the
 * folder. */
void bc_etcd_stop(bc_etcd *e);

/* bc_http_get fetches url into a NUL-terminated heap buffer *out (the caller
 * frees it), waiting at most timeout_ms. 0, or -1 (nothing to free). */
int bc_http_get(const char *url, unsigned timeout_ms, char **out);

/* bc_metric sums, in the Prometheus text text, the samples of the metric
 * name (exactly that name, any labels) whose labels contain every one of the
 * comma-free substrings given in labels, separated by '|' ("" or NULL: all
 * samples). The sum, or -1 when no sample matched. */
double bc_metric(const char *text, const char *name, const char *labels);

/* bc_metrics_of fetches member i's /metrics into *out (the caller frees
 * it); 0 or -1. */
int bc_metrics_of(const bc_etcd *e, unsigned i, char **out);

/* bc_rss_kib is VmRSS of pid in KiB, or -1. */
long bc_rss_kib(pid_t pid);

/* bc_cpu_s is the CPU time (user + system) pid has used, in seconds, or -1. */
double bc_cpu_s(pid_t pid);

/* bc_loadavg writes the machine's load averages over 1, 5 and 15 minutes
 * ("2.56 1.64 1.18", from /proc/loadavg) to out. */
void bc_loadavg(char *out, size_t cap);

/* bc_raise_nofile raises the soft limit on open files to the hard one and
 * returns it. */
long bc_raise_nofile(void);

#endif /* BENCH_CLUSTERUTIL_H */
