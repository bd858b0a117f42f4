/*
 * bench_cluster.c: what the cluster costs a look-up, how fast a registration
 * travels to another host, and what idle matchmakers cost etcd, measured in
 * one run (docs/cluster.md, "Measured").
 *
 * The benchmark moves into a network namespace of its own (root only; it
 * says so and exits 0 otherwise), where only the loopback interface exists,
 * and starts there an etcd cluster (1 or 3 members, loopback ports, data in
 * a temporary folder) and two parley-matchmakers with --cluster: "a"
 * advertising 127.0.0.1 and "b" advertising 127.0.0.2, each on a port and
 * local socket of its own. A registration on the wildcard address 0.0.0.0
 * is what a matchmaker publishes (with its advertise address), so the
 * servers here are TCP sockets listening on 0.0.0.0 inside the namespace,
 * which nothing outside it can reach. It measures:
 *
 * (a) LOOKUP at "a" of a name registered at "a" (local) against a name
 *     registered at "b" (known to "a" from its cache of the cluster), over
 *     TCP and UDP: median and 99th percentile of single calls, the subjects
 *     taking turns batch by batch, and the median over the rounds of the
 *     ratio of the two medians of one round;
 * (b) N registrations at "b", each of a new name: the time from the
 *     REGISTER call to the first LOOKUP at "a" that finds it (polled every
 *     200 us), and from the UNREGISTER to the first LOOKUP at "a" that no
 *     longer does;
 * (c) K idle matchmakers ("a", "b" and K - 2 more): etcd's requests, lease
 *     renewals, Raft proposals, puts and WAL fsyncs per second over an
 *     interval, from the members' /metrics read before and after, and the
 *     members' CPU time.
 *
 * Every answer is checked (status, count, and whether the instance is local
 * or the cluster's); a wrong one, or a matchmaker or etcd that does not
 * start or connect, is the only thing that makes it exit 1. The figures are
 * printed, never judged.
 *
 * Usage: bench_cluster [--quick] [--members 1|3] [--rounds R] [--batch B]
 *                      [--regs N] [--idle K] [--interval-s S] [--ttl S]
 *                      [--matchmaker PATH] [--etcd PATH] [--dir DIR]
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"
#include "clusterutil.h"
#include "matchmaker.h"
#include "parley/client.h"
#include "parley/error.h"

#define MAX_MM      64
#define PROG_LOCAL  0x20000201u
#define PROG_REMOTE 0x20000202u
#define PROG_VIS    0x20000400u
#define POLL_US     200
#define VISIBLE_MS  10000 /* the longest wait for a registration to show at "a" */
#define CONNECT_MS  20000 /* the longest wait for a matchmaker to connect to etcd */
#define WATCHDOG_S  900

typedef struct options {
    int quick;
    unsigned members, rounds, batch, regs, idle, interval_s, ttl;
    const char *matchmaker, *etcd, *dir;
} options;

/* One parley-matchmaker of the benchmark's. */
typedef struct mm {
    pid_t pid;
    unsigned port;
    char addr[24]; /* what it binds and advertises: 127.0.0.N */
    char host[24]; /* --cluster-host */
    char log[300];
    parley_client *tcp, *udp;
} mm;

static char workdir[256];
static double base_cpu_pct; /* etcd's CPU with no matchmaker, % of one core */

/* netids as the generated structs want them (char *) */
static char netid_tcp[] = "tcp", netid_any[] = "";

/* ---- helpers ---- */

/* tail prints the last lines of the file at path to stderr, indented. */
static void tail(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    char lines[6][300];
    unsigned n = 0;
    while (fgets(lines[n % 6], sizeof lines[0], f))
        n++;
    fclose(f);
    for (unsigned i = n > 6 ? n - 6 : 0; i < n; i++)
        fprintf(stderr, "    | %s", lines[i % 6]);
}

/* on_watchdog ends a run that took longer than WATCHDOG_S, its children
 * first (SIGALRM). */
static void on_watchdog(int sig)
{
    static const char text[] = "bench_cluster: watchdog: the run took too long; stopping\n";
    (void)sig;
    if (write(2, text, sizeof text - 1) < 0) {
        /* nothing more to do */
    }
    bc_children_kill();
    _exit(1);
}

/* client_to makes a client of the matchmaker at addr:port over proto
 * ("tcp" or "udp"); NULL on failure. */
static parley_client *client_to(const char *proto, const char *addr, unsigned port)
{
    char url[64];
    snprintf(url, sizeof url, "%s://%s:%u", proto, addr, port);
    parley_client_opts o;
    memset(&o, 0, sizeof o);
    o.timeout_ms = 5000;
    parley_client *c = NULL;
    if (parley_client_create(&c, url, MATCHMAKER_PROG, MATCHMAKER_VERS, &o) != PARLEY_OK)
        return NULL;
    return c;
}

/* mm_start starts matchmaker m (host name and address already set) against
 * the etcd endpoints; it does not wait for it. 0 or -1. */
static int mm_start(mm *m, const options *o, const char *endpoints)
{
    char port[16], sock[300], ttl[16];
    m->port = bc_free_port();
    snprintf(port, sizeof port, "%u", m->port);
    snprintf(sock, sizeof sock, "%s/mm-%s.sock", workdir, m->host);
    snprintf(m->log, sizeof m->log, "%s/mm-%s.log", workdir, m->host);
    snprintf(ttl, sizeof ttl, "%u", o->ttl);
    const char *argv[] = {o->matchmaker, "--port",
                          port,          "--bind",
                          m->addr,       "--socket",
                          sock,          "--no-rpcbind-socket",
                          "--no-state",  "--cluster",
                          endpoints,     "--advertise",
                          m->addr,       "--cluster-host",
                          m->host,       "--cluster-ttl",
                          ttl,           NULL};
    m->pid = bc_spawn(argv, m->log);
    if (m->pid <= 0) {
        fprintf(stderr, "bench_cluster: cannot start %s: %s\n", o->matchmaker, strerror(errno));
        return -1;
    }
    return 0;
}

/* mm_wait_connected waits until m answers CLUSTER with state CONNECTED, and
 * makes its TCP and UDP clients. 0, or -1 after saying why. */
static int mm_wait_connected(mm *m)
{
    uint64_t deadline = bc_now_ns() + (uint64_t)CONNECT_MS * 1000000u;
    mm_cluster_state last = MM_CLUSTER_OFF;
    char error[MM_ERROR_MAX + 1] = "";
    for (;;) {
        int status;
        if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
            m->pid = 0;
            fprintf(stderr, "bench_cluster: matchmaker %s exited (status %d); its log:\n", m->host,
                    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
            tail(m->log);
            return -1;
        }
        if (m->tcp == NULL)
            m->tcp = client_to("tcp", m->addr, m->port);
        if (m->tcp) {
            mm_cluster_info info;
            memset(&info, 0, sizeof info);
            if (matchmaker_cluster_1(m->tcp, &info) == PARLEY_OK) {
                last = info.state;
                snprintf(error, sizeof error, "%s", info.error ? info.error : "");
                mm_cluster_info_free(&info);
                if (last == MM_CLUSTER_CONNECTED)
                    break;
            }
        }
        if (bc_now_ns() > deadline) {
            fprintf(stderr,
                    "bench_cluster: matchmaker %s not connected to etcd after %u ms (state %d, "
                    "error '%s'); its log:\n",
                    m->host, CONNECT_MS, (int)last, error);
            tail(m->log);
            return -1;
        }
        bc_sleep_ms(20);
    }
    if (m->udp == NULL)
        m->udp = client_to("udp", m->addr, m->port);
    if (m->udp == NULL) {
        fprintf(stderr, "bench_cluster: no UDP client of matchmaker %s\n", m->host);
        return -1;
    }
    return 0;
}

/* mm_stop destroys m's clients and stops it (SIGTERM: it revokes its
 * lease). */
static void mm_stop(mm *m)
{
    parley_client_destroy(m->tcp);
    parley_client_destroy(m->udp);
    m->tcp = m->udp = NULL;
    if (m->pid > 0)
        bc_stop(m->pid, 5000);
    m->pid = 0;
}

/* listen_wildcard makes a TCP socket listening on 0.0.0.0 (inside the
 * benchmark's namespace) and writes its universal address; the fd or -1. */
static int listen_wildcard(char *uaddr, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    unsigned port = ntohs(a.sin_port);
    snprintf(uaddr, cap, "0.0.0.0.%u.%u", port >> 8, port & 255);
    return fd;
}

/* do_register registers name (prog, version 1, tcp) at uaddr; the status,
 * or -1 when the call failed. */
static int do_register(parley_client *c, const char *name, unsigned prog, const char *uaddr)
{
    mm_registration r = {(char *)(uintptr_t)name, prog, 1, netid_tcp, (char *)(uintptr_t)uaddr};
    mm_status st;
    if (matchmaker_register_1(c, &r, &st) != PARLEY_OK)
        return -1;
    return (int)st;
}

/* do_unregister removes name (every version and transport); the status, or
 * -1 when the call failed. */
static int do_unregister(parley_client *c, const char *name)
{
    mm_key k = {(char *)(uintptr_t)name, 0, netid_any};
    mm_status st;
    if (matchmaker_unregister_1(c, &k, &st) != PARLEY_OK)
        return -1;
    return (int)st;
}

/* port_of is the port part ("P1.P2") of a universal address of IPv4. */
static const char *port_of(const char *uaddr)
{
    const char *p = strrchr(uaddr, '.');
    while (p > uaddr && *--p != '.')
        ;
    return p && *p == '.' ? p + 1 : uaddr;
}

/* Lookup outcomes. */
enum { FOUND_LOCAL, FOUND_CLUSTER, NOT_FOUND, LOOKUP_FAILED };

/* lookup asks c for name (any version, tcp) and says whether it was found,
 * and whether the first instance is local or the cluster's. With want_uaddr
 * it also checks the first instance's address. */
static int lookup(parley_client *c, const char *name, const char *want_uaddr)
{
    mm_query q = {(char *)(uintptr_t)name, 0, netid_tcp};
    mm_lookup_res res;
    memset(&res, 0, sizeof res);
    if (matchmaker_lookup_1(c, &q, &res) != PARLEY_OK)
        return LOOKUP_FAILED;
    int out;
    if (res.status == MM_NOENT) {
        out = NOT_FOUND;
    } else if (res.status != MM_OK || res.mm_lookup_res_u.entries.mm_entry_list_len == 0) {
        out = LOOKUP_FAILED;
    } else {
        const mm_entry *e = &res.mm_lookup_res_u.entries.mm_entry_list_val[0];
        out = strcmp(e->owner, "cluster") == 0 ? FOUND_CLUSTER : FOUND_LOCAL;
        /* a wildcard registration is answered with the address the caller
         * reached the matchmaker at: the port is what must match */
        if (want_uaddr && strcmp(port_of(e->uaddr), port_of(want_uaddr)) != 0) {
            fprintf(stderr, "bench_cluster: LOOKUP of %s answered %s (owner %s), not %s\n", name,
                    e->uaddr, e->owner, want_uaddr);
            out = LOOKUP_FAILED;
        }
    }
    mm_lookup_res_free(&res);
    return out;
}

/* cluster_uaddr is the address a wildcard registration at uaddr
 * ("0.0.0.0.P1.P2") is published with by a matchmaker advertising addr. */
static void cluster_uaddr(const char *uaddr, const char *addr, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s", addr, uaddr + strlen("0.0.0.0"));
}

/* ---- (a) LOOKUP latency ---- */

typedef struct lat_subject {
    const char *label;
    parley_client *c;
    const char *name;
    int want; /* FOUND_LOCAL or FOUND_CLUSTER */
    double *ns;
    size_t n;
} lat_subject;

/* lat_batch makes batch LOOKUPs, recording each one's time; 0 or -1 on a
 * failed or wrong answer. */
static int lat_batch(lat_subject *s, unsigned batch)
{
    mm_query q = {(char *)(uintptr_t)s->name, 0, netid_tcp};
    for (unsigned i = 0; i < batch; i++) {
        mm_lookup_res res;
        memset(&res, 0, sizeof res);
        uint64_t t0 = bench_now_ns();
        int rc = matchmaker_lookup_1(s->c, &q, &res);
        uint64_t t1 = bench_now_ns();
        int ok = rc == PARLEY_OK && res.status == MM_OK &&
                 res.mm_lookup_res_u.entries.mm_entry_list_len >= 1 &&
                 (strcmp(res.mm_lookup_res_u.entries.mm_entry_list_val[0].owner, "cluster") == 0) ==
                     (s->want == FOUND_CLUSTER);
        mm_lookup_res_free(&res);
        if (!ok) {
            fprintf(stderr, "bench_cluster: %s: a LOOKUP failed or was answered wrong (%s)\n",
                    s->label, parley_strerror(rc));
            return -1;
        }
        s->ns[s->n++] = (double)(t1 - t0);
    }
    return 0;
}

/* measure_lookups is (a): LOOKUP at a of the local and the cluster name over
 * TCP and UDP, in rounds; prints the figures. 0, or -1 on a wrong answer. */
static int measure_lookups(const options *o, mm *a)
{
    enum { NSUBJ = 4 };
    lat_subject subj[NSUBJ] = {
        {"tcp local", a->tcp, "bench-local", FOUND_LOCAL, NULL, 0},
        {"tcp cluster", a->tcp, "bench-remote", FOUND_CLUSTER, NULL, 0},
        {"udp local", a->udp, "bench-local", FOUND_LOCAL, NULL, 0},
        {"udp cluster", a->udp, "bench-remote", FOUND_CLUSTER, NULL, 0},
    };
    size_t total = (size_t)o->rounds * o->batch;
    double *bmed[NSUBJ];
    size_t *start = calloc(o->rounds, sizeof *start);
    int rc = start ? 0 : -1;
    for (int i = 0; i < NSUBJ; i++) {
        subj[i].ns = calloc(total, sizeof *subj[i].ns);
        bmed[i] = calloc(o->rounds, sizeof *bmed[i]);
        if (subj[i].ns == NULL || bmed[i] == NULL)
            rc = -1;
    }
    /* warm-up: the first calls connect and fault pages in */
    for (int i = 0; i < NSUBJ && rc == 0; i++) {
        rc = lat_batch(&subj[i], o->batch < 100 ? o->batch : 100);
        subj[i].n = 0;
    }
    for (unsigned r = 0; r < o->rounds && rc == 0; r++) {
        start[r] = (size_t)r * o->batch;
        for (int k = 0; k < NSUBJ && rc == 0; k++)
            rc = lat_batch(&subj[r % 2 ? NSUBJ - 1 - k : k], o->batch);
    }
    if (rc == 0) {
        double med[NSUBJ], p99[NSUBJ], rate[NSUBJ];
        for (int i = 0; i < NSUBJ; i++)
            bench_lat_summarise(subj[i].ns, total, start, o->rounds, bmed[i], &med[i], &p99[i],
                                &rate[i]);
        printf("\n(a) LOOKUP at matchmaker a: a local name against a name registered at b "
               "(from a's cache)\n");
        printf("    %u rounds x %u calls per subject, the subjects taking turns round by round\n",
               o->rounds, o->batch);
        printf("    %-12s %10s %10s %12s %10s\n", "subject", "median us", "p99 us", "lookups/s",
               "calls");
        for (int i = 0; i < NSUBJ; i++)
            printf("    %-12s %10.1f %10.1f %12.0f %10zu\n", subj[i].label, med[i] / 1000,
                   p99[i] / 1000, rate[i], total);
        for (int t = 0; t < 2; t++) {
            double *ratios = calloc(o->rounds, sizeof *ratios);
            if (ratios == NULL)
                break;
            for (unsigned r = 0; r < o->rounds; r++)
                ratios[r] = bmed[2 * t + 1][r] / bmed[2 * t][r];
            qsort(ratios, o->rounds, sizeof *ratios, bench_cmp_double);
            printf("    %s cluster/local: %.3f (median over %u rounds of the ratio of the "
                   "round's medians)\n",
                   t ? "udp" : "tcp", bench_quantile(ratios, o->rounds, 0.5), o->rounds);
            free(ratios);
        }
    }
    for (int i = 0; i < NSUBJ; i++) {
        free(subj[i].ns);
        free(bmed[i]);
    }
    free(start);
    return rc;
}

/* ---- (b) from a registration at b to its visibility at a ---- */

/* wait_for polls LOOKUP of name at c every POLL_US until it gives want
 * (FOUND_CLUSTER or NOT_FOUND); the time it was seen, or 0 on timeout or
 * error (said). */
static uint64_t wait_for(parley_client *c, const char *name, int want, const char *uaddr)
{
    uint64_t deadline = bench_now_ns() + (uint64_t)VISIBLE_MS * 1000000u;
    for (;;) {
        int r = lookup(c, name, want == FOUND_CLUSTER ? uaddr : NULL);
        uint64_t now = bench_now_ns();
        if (r == want)
            return now;
        if (r == LOOKUP_FAILED || r == FOUND_LOCAL) {
            fprintf(stderr, "bench_cluster: LOOKUP of %s at a failed or was answered wrong\n",
                    name);
            return 0;
        }
        if (now > deadline) {
            fprintf(stderr, "bench_cluster: %s not %s at a after %u ms\n", name,
                    want == NOT_FOUND ? "gone" : "visible", VISIBLE_MS);
            return 0;
        }
        usleep(POLL_US);
    }
}

/* print_delays sorts the n delays v (ns) and prints their median, p99, min
 * and max in ms. */
static void print_delays(const char *what, double *v, size_t n)
{
    qsort(v, n, sizeof *v, bench_cmp_double);
    printf("    %-34s %9.2f %9.2f %9.2f %9.2f %6zu\n", what, bench_quantile(v, n, 0.5) / 1e6,
           bench_quantile(v, n, 0.99) / 1e6, n ? v[0] / 1e6 : 0, n ? v[n - 1] / 1e6 : 0, n);
}

/* measure_visibility is (b): o->regs new names registered at b (at uaddr)
 * and unregistered, each timed until a sees it come and go. 0 or -1. */
static int measure_visibility(const options *o, mm *a, mm *b, const char *uaddr)
{
    unsigned n = o->regs;
    double *reg = calloc(n, sizeof *reg), *seen = calloc(n, sizeof *seen);
    double *unreg = calloc(n, sizeof *unreg), *gone = calloc(n, sizeof *gone);
    char want[128];
    cluster_uaddr(uaddr, b->addr, want, sizeof want);
    int rc = reg && seen && unreg && gone ? 0 : -1;
    for (unsigned i = 0; i < n && rc == 0; i++) {
        char name[32];
        snprintf(name, sizeof name, "vis-%u", i);
        uint64_t t0 = bench_now_ns();
        int st = do_register(b->tcp, name, PROG_VIS + i, uaddr);
        uint64_t t1 = bench_now_ns();
        if (st != MM_OK) {
            fprintf(stderr, "bench_cluster: REGISTER of %s at b: %d\n", name, st);
            rc = -1;
            break;
        }
        uint64_t t2 = wait_for(a->tcp, name, FOUND_CLUSTER, want);
        if (t2 == 0) {
            rc = -1;
            break;
        }
        reg[i] = (double)(t1 - t0);
        seen[i] = (double)(t2 - t0);
        t0 = bench_now_ns();
        st = do_unregister(b->tcp, name);
        t1 = bench_now_ns();
        if (st != MM_OK) {
            fprintf(stderr, "bench_cluster: UNREGISTER of %s at b: %d\n", name, st);
            rc = -1;
            break;
        }
        t2 = wait_for(a->tcp, name, NOT_FOUND, NULL);
        if (t2 == 0) {
            rc = -1;
            break;
        }
        unreg[i] = (double)(t1 - t0);
        gone[i] = (double)(t2 - t0);
    }
    if (rc == 0) {
        printf("\n(b) a new name registered at b, looked up at a (polled every %u us)\n", POLL_US);
        printf("    %-34s %9s %9s %9s %9s %6s\n", "ms", "median", "p99", "min", "max", "count");
        print_delays("REGISTER at b, its round trip", reg, n);
        print_delays("REGISTER at b -> found at a", seen, n);
        print_delays("UNREGISTER at b, its round trip", unreg, n);
        print_delays("UNREGISTER at b -> gone at a", gone, n);
    }
    free(reg);
    free(seen);
    free(unreg);
    free(gone);
    return rc;
}

/* ---- (c) etcd's load from K idle matchmakers ---- */

/* A reading of every member's counters. */
typedef struct reading {
    uint64_t t;
    double renewed, ka_calls, range_calls, put_calls, watch_calls, grant_calls, all_calls, msgs_in;
    double proposals[BC_MAX_MEMBERS], puts[BC_MAX_MEMBERS], fsyncs[BC_MAX_MEMBERS],
        cpu[BC_MAX_MEMBERS];
} reading;

/* nonneg is v, or 0 for a metric that was missing (-1). */
static double nonneg(double v)
{
    return v < 0 ? 0 : v;
}

/* read_counters reads every member's /metrics and CPU time into *r; 0 or
 * -1 (said). */
static int read_counters(const bc_etcd *e, reading *r)
{
    memset(r, 0, sizeof *r);
    r->t = bc_now_ns();
    for (unsigned i = 0; i < e->n; i++) {
        char *m = NULL;
        if (bc_metrics_of(e, i, &m) != 0) {
            fprintf(stderr, "bench_cluster: cannot read member m%u's /metrics\n", i);
            return -1;
        }
        r->renewed += nonneg(bc_metric(m, "etcd_debugging_lease_renewed_total", NULL));
        r->ka_calls +=
            nonneg(bc_metric(m, "grpc_server_started_total", "grpc_method=\"LeaseKeepAlive\""));
        r->range_calls +=
            nonneg(bc_metric(m, "grpc_server_started_total", "grpc_method=\"Range\""));
        r->put_calls += nonneg(bc_metric(m, "grpc_server_started_total", "grpc_method=\"Put\""));
        r->watch_calls +=
            nonneg(bc_metric(m, "grpc_server_started_total", "grpc_method=\"Watch\""));
        r->grant_calls +=
            nonneg(bc_metric(m, "grpc_server_started_total", "grpc_method=\"LeaseGrant\""));
        r->all_calls += nonneg(bc_metric(m, "grpc_server_started_total", NULL));
        r->msgs_in += nonneg(bc_metric(m, "grpc_server_msg_received_total", NULL));
        r->proposals[i] = nonneg(bc_metric(m, "etcd_server_proposals_committed_total", NULL));
        r->puts[i] = nonneg(bc_metric(m, "etcd_mvcc_put_total", NULL));
        r->fsyncs[i] = nonneg(bc_metric(m, "etcd_disk_wal_fsync_duration_seconds_count", NULL));
        r->cpu[i] = bc_cpu_s(e->pid[i]);
        free(m);
    }
    return 0;
}

/* measure_idle is (c): etcd's counters over o->interval_s with the k
 * matchmakers of all[] idle; prints them per second and per host. 0 or -1. */
static int measure_idle(const options *o, const bc_etcd *e, mm *all, unsigned k)
{
    printf("\n(c) etcd's load from %u idle matchmakers (TTL %u s: one keep-alive per %.2f s "
           "each), over %u s\n",
           k, o->ttl, o->ttl / 3.0, o->interval_s);
    /* let every lease settle into its keep-alive cadence */
    bc_sleep_ms(1000);
    reading r0, r1;
    if (read_counters(e, &r0) != 0)
        return -1;
    bc_sleep_ms(o->interval_s * 1000);
    if (read_counters(e, &r1) != 0)
        return -1;
    for (unsigned i = 0; i < k; i++)
        if (all[i].pid > 0 && waitpid(all[i].pid, NULL, WNOHANG) == all[i].pid) {
            all[i].pid = 0;
            fprintf(stderr, "bench_cluster: matchmaker %s died during the interval\n", all[i].host);
            return -1;
        }
    double s = (double)(r1.t - r0.t) / 1e9;
    double prop = 0, puts = 0, fs = 0, cpu = 0;
    for (unsigned i = 0; i < e->n; i++) {
        double d = r1.proposals[i] - r0.proposals[i];
        if (d > prop)
            prop = d; /* a gauge of the member's committed index: the same writes on each */
        if (r1.puts[i] - r0.puts[i] > puts)
            puts = r1.puts[i] - r0.puts[i];
        fs += r1.fsyncs[i] - r0.fsyncs[i];
        cpu += r1.cpu[i] - r0.cpu[i];
    }
    printf("    %-44s %12s %12s %10s\n", "", "per second", "per host/s", "in total");
#define ROW(label, v) printf("    %-44s %12.3f %12.4f %10.0f\n", label, (v) / s, (v) / s / k, (v))
    ROW("lease renewals (etcd_debugging_lease_renewed)", r1.renewed - r0.renewed);
    ROW("gRPC calls: LeaseKeepAlive", r1.ka_calls - r0.ka_calls);
    ROW("gRPC calls: Range", r1.range_calls - r0.range_calls);
    ROW("gRPC calls: Put", r1.put_calls - r0.put_calls);
    ROW("gRPC calls: LeaseGrant", r1.grant_calls - r0.grant_calls);
    ROW("gRPC calls: Watch (streams opened)", r1.watch_calls - r0.watch_calls);
    ROW("gRPC calls: all methods", r1.all_calls - r0.all_calls);
    ROW("gRPC messages received", r1.msgs_in - r0.msgs_in);
    ROW("Raft proposals committed (writes)", prop);
    ROW("puts (etcd_mvcc_put_total)", puts);
    ROW("WAL fsyncs, all members", fs);
#undef ROW
    printf("    etcd CPU, all %u members: %.2f%% of one core (%.3f s over %.1f s); with no "
           "matchmaker yet, at the start: %.2f%%\n",
           e->n, 100 * cpu / s, cpu, s, base_cpu_pct);
    return 0;
}

/* measure_base measures etcd's CPU with no matchmaker, over the interval,
 * into base_cpu_pct. */
static int measure_base(const options *o, const bc_etcd *e)
{
    reading r0, r1;
    if (read_counters(e, &r0) != 0)
        return -1;
    bc_sleep_ms(o->interval_s * 1000);
    if (read_counters(e, &r1) != 0)
        return -1;
    double cpu = 0;
    for (unsigned i = 0; i < e->n; i++)
        cpu += r1.cpu[i] - r0.cpu[i];
    base_cpu_pct = 100 * cpu / ((double)(r1.t - r0.t) / 1e9);
    return 0;
}

/* ---- main ---- */

/* usage prints the command line's form to f. */
static void usage(FILE *f)
{
    fputs("usage: bench_cluster [--quick] [--members 1|3] [--rounds R] [--batch B] [--regs N]\n"
          "                     [--idle K] [--interval-s S] [--ttl S] [--matchmaker PATH]\n"
          "                     [--etcd PATH] [--dir DIR]\n",
          f);
}

/* parse_uint parses s as a decimal from lo to hi into *out; 0 or -1. */
static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* parse reads the command line into *o, with --quick's or the full run's
 * defaults for what is not given; 0, or -1 after the usage. */
static int parse(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    unsigned members = 0, rounds = 0, batch = 0, regs = 0, idle = 0, interval = 0;
    o->ttl = 10;
    o->matchmaker = "parley-matchmaker";
    o->etcd = "etcd";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(a, "--quick") == 0) {
            o->quick = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        }
        if (v == NULL) {
            bad = 1;
        } else if (strcmp(a, "--members") == 0) {
            bad = parse_uint(v, 1, BC_MAX_MEMBERS, &members) || members == 2;
        } else if (strcmp(a, "--rounds") == 0) {
            bad = parse_uint(v, 1, 1000, &rounds);
        } else if (strcmp(a, "--batch") == 0) {
            bad = parse_uint(v, 1, 100000, &batch);
        } else if (strcmp(a, "--regs") == 0) {
            bad = parse_uint(v, 1, 10000, &regs);
        } else if (strcmp(a, "--idle") == 0) {
            bad = parse_uint(v, 2, MAX_MM, &idle);
        } else if (strcmp(a, "--interval-s") == 0) {
            bad = parse_uint(v, 1, 3600, &interval);
        } else if (strcmp(a, "--ttl") == 0) {
            bad = parse_uint(v, 2, 3600, &o->ttl);
        } else if (strcmp(a, "--matchmaker") == 0) {
            o->matchmaker = v;
        } else if (strcmp(a, "--etcd") == 0) {
            o->etcd = v;
        } else if (strcmp(a, "--dir") == 0) {
            o->dir = v;
        } else {
            bad = 1;
        }
        if (bad) {
            fprintf(stderr, "bench_cluster: bad option or value: %s %s\n", a, v ? v : "");
            usage(stderr);
            return -1;
        }
        i++;
    }
    o->members = members ? members : o->quick ? 1 : 3;
    o->rounds = rounds ? rounds : o->quick ? 2 : 20;
    o->batch = batch ? batch : o->quick ? 50 : 500;
    o->regs = regs ? regs : o->quick ? 3 : 100;
    o->idle = idle ? idle : o->quick ? 2 : 10;
    o->interval_s = interval ? interval : o->quick ? 2 : 20;
    return 0;
}

/* main: see the top of this file. */
int main(int argc, char **argv)
{
    options o;
    if (parse(argc, argv, &o) != 0)
        return 2;
    char etcd_path[512], mm_path[512], why[200];
    if (bc_find_program(o.etcd, etcd_path, sizeof etcd_path) != 0) {
        printf("bench_cluster: skipped: no etcd program ('%s'; Debian package etcd-server)\n",
               o.etcd);
        return 0;
    }
    if (bc_find_program(o.matchmaker, mm_path, sizeof mm_path) != 0) {
        fprintf(stderr, "bench_cluster: no matchmaker program '%s' (--matchmaker PATH)\n",
                o.matchmaker);
        return 1;
    }
    o.etcd = etcd_path;
    o.matchmaker = mm_path;
    if (bc_private_network(why, sizeof why) != 0) {
        printf("bench_cluster: skipped: %s (its servers listen on 0.0.0.0, which only a "
               "network namespace of its own keeps private)\n",
               why);
        return 0;
    }
    bc_children_guard();
    signal(SIGALRM, on_watchdog);
    alarm(WATCHDOG_S);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    bc_etcd e;
    if (bc_etcd_start(&e, o.etcd, o.members, o.dir, 30000, why, sizeof why) != 0) {
        fprintf(stderr, "bench_cluster: etcd: %s\n", why);
        return 1;
    }
    snprintf(workdir, sizeof workdir, "%s", e.dir);
    printf("bench_cluster: etcd %u member%s on loopback (%s), data on %s; matchmakers with "
           "--cluster-ttl %u\n",
           e.n, e.n > 1 ? "s" : "", e.endpoints, bc_fs_type(e.dir), o.ttl);

    char load[64];
    bc_loadavg(load, sizeof load);
    printf("    the machine's load average at the start: %s (%ld cores)\n", load,
           sysconf(_SC_NPROCESSORS_ONLN));

    static mm all[MAX_MM];
    memset(all, 0, sizeof all);
    int rc = 1, fd_local = -1, fd_remote = -1;
    unsigned started = 0;
    mm *a = &all[0], *b = &all[1];
    snprintf(a->host, sizeof a->host, "a");
    snprintf(a->addr, sizeof a->addr, "127.0.0.1");
    snprintf(b->host, sizeof b->host, "b");
    snprintf(b->addr, sizeof b->addr, "127.0.0.2");
    if (measure_base(&o, &e) != 0)
        goto out;
    for (; started < 2; started++)
        if (mm_start(&all[started], &o, e.endpoints) != 0)
            goto out;
    if (mm_wait_connected(a) != 0 || mm_wait_connected(b) != 0)
        goto out;

    char ua_local[64], ua_remote[64], want_remote[128];
    fd_local = listen_wildcard(ua_local, sizeof ua_local);
    fd_remote = listen_wildcard(ua_remote, sizeof ua_remote);
    if (fd_local < 0 || fd_remote < 0) {
        fprintf(stderr, "bench_cluster: cannot listen on 0.0.0.0: %s\n", strerror(errno));
        goto out;
    }
    int st1 = do_register(a->tcp, "bench-local", PROG_LOCAL, ua_local);
    int st2 = do_register(b->tcp, "bench-remote", PROG_REMOTE, ua_remote);
    if (st1 != MM_OK || st2 != MM_OK) {
        fprintf(stderr, "bench_cluster: REGISTER refused (a: %d, b: %d)\n", st1, st2);
        goto out;
    }
    cluster_uaddr(ua_remote, b->addr, want_remote, sizeof want_remote);
    if (wait_for(a->tcp, "bench-remote", FOUND_CLUSTER, want_remote) == 0)
        goto out;
    int lr = lookup(a->tcp, "bench-local", ua_local);
    if (lr != FOUND_LOCAL) {
        fprintf(stderr, "bench_cluster: LOOKUP of bench-local at a: %s\n",
                lr == NOT_FOUND       ? "not found"
                : lr == FOUND_CLUSTER ? "the cluster's"
                                      : "failed");
        goto out;
    }
    printf("bench_cluster: bench-local registered at a (%s), bench-remote at b, published as "
           "%s and found at a\n",
           ua_local, want_remote);

    if (measure_lookups(&o, a) != 0)
        goto out;
    if (measure_visibility(&o, a, b, ua_remote) != 0)
        goto out;

    for (; started < o.idle; started++) {
        mm *m = &all[started];
        snprintf(m->host, sizeof m->host, "idle%u", started + 1);
        snprintf(m->addr, sizeof m->addr, "127.0.0.%u", started + 1);
        if (mm_start(m, &o, e.endpoints) != 0)
            goto out;
    }
    for (unsigned i = 2; i < started; i++)
        if (mm_wait_connected(&all[i]) != 0)
            goto out;
    if (measure_idle(&o, &e, all, started) != 0)
        goto out;
    rc = 0;
out:
    if (fd_local >= 0)
        close(fd_local);
    if (fd_remote >= 0)
        close(fd_remote);
    for (unsigned i = 0; i < started; i++)
        mm_stop(&all[i]);
    bc_etcd_stop(&e);
    curl_global_cleanup();
    bc_loadavg(load, sizeof load);
    if (rc == 0)
        printf("\nbench_cluster: done; the machine's load average at the end: %s\n", load);
    return rc;
}
