/*
 * bench_delivery.c: what Parley's delivery guarantees cost end to end,
 * measured in one run on loopback. A Parley server in a child process
 * serves delivbench.x, whose procedures do the same tiny work on a counter
 * under each guarantee; clients in this process call it through
 * parley_client_call (a plain call) and the generated stubs (which carry
 * the guarantee the IDL declares). It measures:
 *
 *   - the round trip (median and 99th percentile) and calls per second of
 *     one client making one call at a time, and of 8 clients at once (8
 *     threads, each with a handle and so an identity of its own), over TCP
 *     and UDP, for each case: plain, plain to the at-most-once procedure
 *     (the server's duplicate request cache), idempotent, at-most-once,
 *     exactly-once with the store's durability at process level and at
 *     machine level (fdatasync with group commit, the store on the disk of
 *     --dir);
 *   - the server's memory per client that its reply cache remembers: VmRSS
 *     of a fresh server before and after 1,000 clients that each make a few
 *     at-most-once calls, next to as many clients that make idempotent
 *     calls, which leave nothing behind;
 *   - the completion store's file over 1,000,000 exactly-once calls of one
 *     client, whose acknowledgements let the store drop each record once
 *     answered: its size every tenth of the run and the largest seen.
 *
 * The one-client cases take turns batch by batch (benchutil.h), so that the
 * machine's drift falls on all alike, and the 8-client runs take turns run
 * by run; a ratio against plain is the median over the rounds of the ratio
 * within one round. Three targets are judged against plain in the same run,
 * each printed "target met" or "MISSED".
 *
 * Every call's result is checked: the counter a reply carries must be the
 * one this process expects (the plain and idempotent calls read it, each
 * at-most-once and exactly-once call adds one, so a call run twice or lost
 * shows), and a failed call or a wrong reply ends the run with a message
 * naming the case, exit status 1. The figures never change the exit
 * status. A watchdog ends a run that takes far too long; the servers are
 * stopped (SIGTERM, then SIGKILL) whatever happens, and die with this
 * process.
 *
 * Usage: bench_delivery [--quick] [--only PARTS] [--dir DIR] [--reps N]
 *                       [--batch N] [--runs N] [--window-ms W]
 *                       [--mem-clients N] [--store-calls N]
 *                       [--store-max-mib M] [--server-threads N]
 */
#include "benchutil.h"
#include "delivbench.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The full run takes a couple of minutes on two cores; --quick seconds. */
#define DEFAULT_REPS        20 /* rounds of one-client batches */
#define DEFAULT_BATCH       1000
#define DEFAULT_WARM        500
#define DEFAULT_RUNS        5 /* rounds of 8-client runs */
#define DEFAULT_WINDOW_MS   500.0
#define DEFAULT_MEM_CLIENTS 1000
#define DEFAULT_STORE_CALLS 1000000
#define QUICK_REPS          3
#define QUICK_BATCH         100
#define QUICK_WARM          20
#define QUICK_RUNS          1
#define QUICK_WINDOW_MS     50.0
#define QUICK_MEM_CLIENTS   100
#define QUICK_STORE_CALLS   10000
#define MAX_REPS            1000
#define MAX_RUNS            64
#define NCLIENTS            8          /* the concurrent clients */
#define MEM_CALLS           4          /* calls of each client of the memory figure */
#define MEM_WARM            20         /* clients that warm its server up */
#define THREAD_LAT_CAP      (1u << 18) /* latencies kept per thread and run */
#define CALL_TIMEOUT_MS     10000
#define WAIT_MS             10000 /* the longest wait for a server to start or stop */
#define WATCHDOG_S          600   /* the whole run; --quick: WATCHDOG_QUICK_S */
#define WATCHDOG_QUICK_S    120
#define STORE_CAP_S         300.0 /* the store's run stops here, whatever its count */
#define STORE_KEY           "counter"
#define SYNC_PROBES         200 /* fdatasyncs timed to know the disk, at the start */
#define SYNC_ROUND_PROBES   50  /* and before each round of 8-client runs */

/* ---- the server --------------------------------------------------------- */

/* The counter of DLV_READ and DLV_ADD, in the server child's memory. */
static _Atomic int64_t counter;

/* dlv_read_1_svc answers the counter plus its argument, changing nothing. */
int dlv_read_1_svc(const quad_t *arg, quad_t *result, parley_call *call)
{
    (void)call;
    *result = atomic_load_explicit(&counter, memory_order_relaxed) + *arg;
    return PARLEY_OK;
}

/* dlv_add_1_svc adds its argument to the counter and answers the sum. */
int dlv_add_1_svc(const quad_t *arg, quad_t *result, parley_call *call)
{
    (void)call;
    *result = atomic_fetch_add_explicit(&counter, *arg, memory_order_relaxed) + *arg;
    return PARLEY_OK;
}

/* dlv_add_stored_1_svc adds its argument to the counter kept in the
 * server's store (8 bytes, big-endian, under STORE_KEY) and answers the
 * sum: the put commits with the call's completion record. */
int dlv_add_stored_1_svc(const quad_t *arg, quad_t *result, parley_call *call)
{
    const void *val;
    size_t vlen;
    uint8_t buf[8];
    uint64_t n = 0;
    int rc = parley_call_store_get(call, STORE_KEY, sizeof STORE_KEY - 1, &val, &vlen);

    if (rc != PARLEY_OK)
        return rc;
    if (val != NULL) {
        if (vlen != sizeof buf)
            return PARLEY_ERR_SYSTEM_ERR;
        n = parley_ld_u64(val);
    }
    n += (uint64_t)*arg;
    parley_st_u64(buf, n);
    rc = parley_call_store_put(call, STORE_KEY, sizeof STORE_KEY - 1, buf, sizeof buf);
    if (rc != PARLEY_OK)
        return rc;
    *result = (quad_t)n;
    return PARLEY_OK;
}

/* A server's settings: its store's file (NULL: none), the durability and
 * the bound of the store's file (0: the default). */
typedef struct server_cfg {
    const char *name;
    const char *store;
    int durability;
    size_t store_max_bytes;
    unsigned threads; /* 0: one per core */
} server_cfg;

/* A server child: its pid and the addresses it listens on. */
typedef struct server {
    pid_t pid;
    char tcp[96], udp[96];
} server;

/* What a server child writes to its report pipe. */
typedef struct bound_report {
    char tcp[96], udp[96];
    char err[160];
} bound_report;

static parley_server *child_server;

static void on_sigterm(int sig)
{
    (void)sig;
    parley_server_stop(child_server);
}

/* serve_child is the server child's life: it makes a server with cfg's
 * settings, listens on TCP and UDP at 127.0.0.1 (ports chosen by the
 * system), reports the addresses bound (or why it could not) to report_fd,
 * and serves until SIGTERM. Returns the child's exit status. */
static int serve_child(const server_cfg *cfg, int report_fd)
{
    parley_server_opts opts = {.store = cfg->store,
                               .durability = cfg->durability,
                               .store_max_bytes = cfg->store_max_bytes,
                               .threads = cfg->threads};
    bound_report rep;
    struct sigaction sa;
    int rc;

    memset(&rep, 0, sizeof rep);
    if ((rc = parley_server_create(&child_server, &opts)) == PARLEY_OK &&
        (rc = parley_server_add_program(child_server, &dlv_prog_1)) == PARLEY_OK &&
        (rc = parley_server_listen(child_server, "tcp://127.0.0.1:0", rep.tcp, sizeof rep.tcp)) ==
            PARLEY_OK)
        rc = parley_server_listen(child_server, "udp://127.0.0.1:0", rep.udp, sizeof rep.udp);
    if (rc != PARLEY_OK)
        snprintf(rep.err, sizeof rep.err, "%s", parley_strerror(rc));
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigterm;
    sigaction(SIGTERM, &sa, NULL);
    if (write(report_fd, &rep, sizeof rep) != (ssize_t)sizeof rep || rc != PARLEY_OK) {
        parley_server_destroy(child_server);
        return 1;
    }
    close(report_fd);
    rc = parley_server_run(child_server);
    parley_server_destroy(child_server);
    return rc == PARLEY_OK ? 0 : 1;
}

/* The server children alive, for the watchdog and for stopping them when
 * the run fails. */
static volatile pid_t live_pids[4];

static void track_pid(pid_t pid, int add)
{
    for (size_t i = 0; i < sizeof live_pids / sizeof live_pids[0]; i++)
        if (add ? live_pids[i] == 0 : live_pids[i] == pid) {
            live_pids[i] = add ? pid : 0;
            return;
        }
}

/* on_watchdog ends a run that took far too long: its servers first. */
static void on_watchdog(int sig)
{
    static const char msg[] = "bench_delivery: the run took too long (watchdog); stopped\n";

    (void)sig;
    for (size_t i = 0; i < sizeof live_pids / sizeof live_pids[0]; i++)
        if (live_pids[i] > 0)
            kill(live_pids[i], SIGKILL);
    if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0)
        _exit(1);
    _exit(1);
}

/* server_start forks a server child with cfg's settings and waits (up to
 * WAIT_MS) for the addresses it bound. The child gets no descriptor of
 * this process but its report pipe, and dies with it. 0, or -1 with a
 * message printed. */
static int server_start(const server_cfg *cfg, server *srv)
{
    bound_report rep;
    struct pollfd pfd;
    int fds[2], r;
    ssize_t n;

    memset(srv, 0, sizeof *srv);
    if (pipe(fds) != 0) {
        fprintf(stderr, "bench_delivery: pipe: %s\n", strerror(errno));
        return -1;
    }
    fflush(NULL);
    srv->pid = fork();
    if (srv->pid < 0) {
        fprintf(stderr, "bench_delivery: fork: %s\n", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (srv->pid == 0) {
        /* the child: only its end of the pipe, as descriptor 3 */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
            _exit(1);
        if (dup2(fds[1], 3) < 0 || close_range(4, ~0u, 0) != 0)
            _exit(1);
        signal(SIGALRM, SIG_DFL);
        alarm(0);
        _exit(serve_child(cfg, 3));
    }
    track_pid(srv->pid, 1);
    close(fds[1]);
    pfd.fd = fds[0];
    pfd.events = POLLIN;
    while ((r = poll(&pfd, 1, WAIT_MS)) < 0 && errno == EINTR)
        ;
    n = r == 1 ? read(fds[0], &rep, sizeof rep) : -1;
    close(fds[0]);
    if (n != (ssize_t)sizeof rep || rep.err[0] != '\0') {
        fprintf(stderr, "bench_delivery: the %s server did not start: %s\n", cfg->name,
                n == (ssize_t)sizeof rep ? rep.err : "no report");
        return -1;
    }
    memcpy(srv->tcp, rep.tcp, sizeof srv->tcp);
    memcpy(srv->udp, rep.udp, sizeof srv->udp);
    srv->tcp[sizeof srv->tcp - 1] = srv->udp[sizeof srv->udp - 1] = '\0';
    return 0;
}

/* server_stop sends the child SIGTERM, waits up to WAIT_MS for it to end,
 * kills it if it has not, and reaps it; a no-op on a stopped server. */
static void server_stop(server *srv)
{
    int status;

    if (srv->pid <= 0)
        return;
    kill(srv->pid, SIGTERM);
    for (int ms = 0; ms < WAIT_MS; ms += 10) {
        if (waitpid(srv->pid, &status, WNOHANG) == srv->pid)
            goto reaped;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(srv->pid, SIGKILL);
    waitpid(srv->pid, &status, 0);
reaped:
    track_pid(srv->pid, 0);
    srv->pid = 0;
}

/* rss_kib is the VmRSS of process pid in KiB, or -1. */
static long rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* ---- the cases ---------------------------------------------------------- */

enum { NET_TCP, NET_UDP, NNETS };
static const char *const net_names[NNETS] = {"tcp", "udp"};

/* The cases, plain first: the ratios are taken against it. */
enum { C_PLAIN, C_DRC, C_IDEM, C_AMO, C_EO_PROC, C_EO_MACH, NCASES };
static const char *const case_names[NCASES] = {
    "plain",        "plain, DRC",           "idempotent",
    "at-most-once", "exactly-once process", "exactly-once machine"};

/* The servers: the main one (its store with process durability) serves
 * every case but the one of machine durability, which has its own. */
enum { SRV_MAIN, SRV_MACHINE, NSERVERS };

/* What this process expects of the counters: the at-most-once calls made
 * (each adds one to the server's counter in memory) and each server's
 * exactly-once calls (each adds one to its store's counter). The cases
 * never run at the same time, so a read sees exactly these. */
static _Atomic int64_t amo_total;
static _Atomic int64_t eo_total[NSERVERS];

/* A client: a handle, the case it calls and what it saw last. */
typedef struct caller {
    parley_client *h;
    int c;
    int64_t last; /* the counter in its last at-most-once or exactly-once reply */
} caller;

static void enc_hyper(parley_enc *e, const void *arg)
{
    parley_put_u64(e, (uint64_t) * (const int64_t *)arg);
}

static void dec_hyper(parley_dec *d, void *res)
{
    *(int64_t *)res = (int64_t)parley_get_u64(d);
}

/* caller_open makes the handle of case c over net; 0, or -1 with a
 * message in err. */
static int caller_open(caller *k, int c, int net, const server srv[NSERVERS], char *err,
                       size_t errlen)
{
    parley_client_opts o = {.timeout_ms = CALL_TIMEOUT_MS};
    const server *s = &srv[c == C_EO_MACH ? SRV_MACHINE : SRV_MAIN];
    int rc = parley_client_create(&k->h, net == NET_TCP ? s->tcp : s->udp, DLV_PROG, DLV_VERS, &o);

    k->c = c;
    k->last = 0;
    if (rc != PARLEY_OK) {
        snprintf(err, errlen, "parley_client_create: %s", parley_strerror(rc));
        k->h = NULL;
        return -1;
    }
    return 0;
}

static void caller_close(caller *k)
{
    parley_client_destroy(k->h);
    k->h = NULL;
}

/* call_once makes one call of k's case and checks its reply: a read must
 * see the counter this process expects, an addition a counter above the
 * last one its client saw. 0, or -1 with a message in err. */
static int call_once(caller *k, char *err, size_t errlen)
{
    int64_t arg, res = 0, want;
    parley_rpc_detail det;
    char text[200];
    int rc;

    switch (k->c) {
    case C_PLAIN:
        arg = 7;
        want = atomic_load(&amo_total) + arg;
        rc = parley_client_call(k->h, DLV_READ, enc_hyper, &arg, 8, dec_hyper, &res, 0);
        break;
    case C_DRC: /* adds nothing: the at-most-once counter stays exact */
        arg = 0;
        want = atomic_load(&amo_total);
        rc = parley_client_call(k->h, DLV_ADD, enc_hyper, &arg, 8, dec_hyper, &res, 0);
        break;
    case C_IDEM:
        arg = 7;
        want = atomic_load(&amo_total) + arg;
        rc = dlv_read_1(k->h, &arg, &res);
        break;
    case C_AMO:
        arg = 1;
        want = k->last + 1;
        rc = dlv_add_1(k->h, &arg, &res);
        break;
    default:
        arg = 1;
        want = k->last + 1;
        rc = dlv_add_stored_1(k->h, &arg, &res);
        break;
    }
    if (rc != PARLEY_OK) {
        parley_client_last_detail(&det);
        snprintf(err, errlen, "call failed: %s", parley_rpc_detail_format(&det, text, sizeof text));
        return -1;
    }
    if (k->c <= C_IDEM ? res != want : res < want) {
        snprintf(err, errlen, "the reply says %lld, %s %lld", (long long)res,
                 k->c <= C_IDEM ? "this process expected" : "this client saw",
                 (long long)(k->c <= C_IDEM ? want : k->last));
        return -1;
    }
    if (k->c == C_AMO)
        atomic_fetch_add(&amo_total, 1);
    else if (k->c >= C_EO_PROC)
        atomic_fetch_add(&eo_total[k->c == C_EO_MACH ? SRV_MACHINE : SRV_MAIN], 1);
    if (k->c >= C_AMO)
        k->last = res;
    return 0;
}

/* The counters check_counters reads. */
enum { CHECK_AMO = 1, CHECK_EO_MAIN = 2, CHECK_EO_MACHINE = 4 };

/* check_counters asks the servers for the counters in which (CHECK_*),
 * which must be the calls this process made (nothing run twice, nothing
 * lost); 0, or -1 with a message naming part. */
static int check_counters(const server srv[NSERVERS], unsigned which, const char *part)
{
    static const struct {
        unsigned bit;
        int c, s;
    } reads[] = {{CHECK_AMO, C_IDEM, SRV_MAIN},
                 {CHECK_EO_MAIN, C_EO_PROC, SRV_MAIN},
                 {CHECK_EO_MACHINE, C_EO_MACH, SRV_MACHINE}};
    char err[256];

    for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
        caller k;
        int64_t zero = 0, res = 0, want;
        int rc;

        if (!(which & reads[i].bit))
            continue;
        if (caller_open(&k, reads[i].c, NET_TCP, srv, err, sizeof err) != 0) {
            fprintf(stderr, "bench_delivery: %s: %s\n", part, err);
            return -1;
        }
        rc = reads[i].c == C_IDEM ? dlv_read_1(k.h, &zero, &res)
                                  : dlv_add_stored_1(k.h, &zero, &res);
        caller_close(&k);
        want = reads[i].c == C_IDEM ? atomic_load(&amo_total) : atomic_load(&eo_total[reads[i].s]);
        if (rc != PARLEY_OK || res != want) {
            fprintf(stderr, "bench_delivery: %s: the %s counter is %lld, the calls made %lld%s%s\n",
                    part, reads[i].c == C_IDEM ? "at-most-once" : case_names[reads[i].c],
                    (long long)res, (long long)want, rc != PARLEY_OK ? ": " : "",
                    rc != PARLEY_OK ? parley_strerror(rc) : "");
            return -1;
        }
    }
    return 0;
}

/* ---- options ------------------------------------------------------------ */

enum { PART_LATENCY = 1, PART_THROUGHPUT = 2, PART_MEMORY = 4, PART_STORE = 8, PART_ALL = 15 };

typedef struct options {
    int quick;
    unsigned parts;
    const char *dir;
    unsigned reps, batch, warm, runs, mem_clients;
    double window_ms;
    uint64_t store_calls;
    size_t store_max_bytes;
    unsigned server_threads; /* 0: the server's default, one per core */
    const char *work;        /* the run's temporary folder, for the stores and probes */
} options;

/* ---- one client: round trips ---------------------------------------------- */

/* lat_ctx is one subject of the one-client measurement: a case over a
 * transport, every call's time once recording is on, and where each
 * round's batch begins. */
typedef struct lat_ctx {
    caller k;
    int net;
    int recording;
    double *samples;
    size_t n, cap;
    size_t batch_start[MAX_REPS];
    double batch_median[MAX_REPS];
    unsigned nbatches;
    char err[256];
    double median, p99, rate;
} lat_ctx;

static lat_ctx lat[NNETS][NCASES];

static int run_batch(void *p, size_t iters)
{
    lat_ctx *x = p;

    if (x->recording && x->nbatches < MAX_REPS)
        x->batch_start[x->nbatches++] = x->n;
    for (size_t i = 0; i < iters; i++) {
        uint64_t t0 = bench_now_ns();
        if (call_once(&x->k, x->err, sizeof x->err) != 0)
            return -1;
        uint64_t t1 = bench_now_ns();
        if (x->recording && x->n < x->cap)
            x->samples[x->n++] = (double)(t1 - t0);
    }
    return 0;
}

/* median_of sorts v[0..n) and returns its median (0 when empty). */
static double median_of(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, bench_cmp_double);
    return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* summarise_lat takes each batch's median, then the median, 99th
 * percentile and calls per second of all the calls. */
static void summarise_lat(lat_ctx *x)
{
    bench_lat_summarise(x->samples, x->n, x->batch_start, x->nbatches, x->batch_median, &x->median,
                        &x->p99, &x->rate);
}

/* lat_ratio is the median over the rounds of a's batch median over b's. */
static double lat_ratio(const lat_ctx *a, const lat_ctx *b)
{
    unsigned n = a->nbatches < b->nbatches ? a->nbatches : b->nbatches, k = 0;
    double v[MAX_REPS];

    for (unsigned i = 0; i < n; i++)
        if (b->batch_median[i] > 0)
            v[k++] = a->batch_median[i] / b->batch_median[i];
    return median_of(v, k);
}

/* measure_latency opens a client per case and transport, warms each up
 * (its first guaranteed call says HELLO), and runs reps rounds of one
 * batch of every subject, the order reversed every other round. 0 or -1. */
static int measure_latency(const options *o, const server srv[NSERVERS])
{
    bench_subject subj[NNETS * NCASES], *order[NNETS * NCASES], *failed = NULL;
    size_t n = 0;
    int rc = -1;

    for (int net = 0; net < NNETS; net++)
        for (int c = 0; c < NCASES; c++) {
            lat_ctx *x = &lat[net][c];

            x->net = net;
            if (caller_open(&x->k, c, net, srv, x->err, sizeof x->err) != 0) {
                fprintf(stderr, "bench_delivery: %s %s, 1 client: %s\n", case_names[c],
                        net_names[net], x->err);
                goto out;
            }
            x->cap = (size_t)o->reps * o->batch;
            if ((x->samples = malloc(x->cap * sizeof *x->samples)) == NULL ||
                bench_subject_init(&subj[n], case_names[c], run_batch, x, o->reps) != 0) {
                fprintf(stderr, "bench_delivery: out of memory\n");
                goto out;
            }
            subj[n].iters = o->batch;
            order[n] = &subj[n];
            n++;
        }
    for (size_t i = 0; i < n; i++) {
        lat_ctx *x = subj[i].ctx;

        if (run_batch(x, o->warm) != 0) {
            failed = &subj[i];
            goto fail;
        }
        x->recording = 1;
    }
    if (bench_run_interleaved(order, n, o->reps, &failed) != 0)
        goto fail;
    for (size_t i = 0; i < n; i++)
        summarise_lat(subj[i].ctx);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "bench_delivery: %s %s, 1 client: %s\n", failed->label,
            net_names[((lat_ctx *)failed->ctx)->net], ((lat_ctx *)failed->ctx)->err);
out:
    for (size_t i = 0; i < n; i++)
        bench_subject_fini(&subj[i]);
    for (int net = 0; net < NNETS; net++)
        for (int c = 0; c < NCASES; c++)
            if (lat[net][c].k.h != NULL)
                caller_close(&lat[net][c].k);
    return rc;
}

/* ---- the disk ------------------------------------------------------------ */

/* The times of the fdatasyncs sync_probe made, in us. */
static double sync_samples[SYNC_PROBES + MAX_RUNS * SYNC_ROUND_PROBES];
static size_t nsync;

/* sync_probe measures the disk under dir as machine durability uses it: n
 * appends of 200 bytes to a fresh file, each followed by fdatasync, their
 * times added to sync_samples. The disk is shared and its speed drifts, so
 * it is probed at the start and before each round of 8-client runs. 0 or
 * -1. */
static int sync_probe(const char *dir, size_t n)
{
    char path[600], rec[200];
    int fd, rc = 0;

    snprintf(path, sizeof path, "%s/sync.probe", dir);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600)) < 0)
        return -1;
    memset(rec, 0x2a, sizeof rec);
    for (size_t i = 0; i < n && nsync < sizeof sync_samples / sizeof sync_samples[0]; i++) {
        uint64_t t0 = bench_now_ns();
        if (write(fd, rec, sizeof rec) != (ssize_t)sizeof rec || fdatasync(fd) != 0) {
            rc = -1;
            break;
        }
        sync_samples[nsync++] = (double)(bench_now_ns() - t0) / 1e3;
    }
    close(fd);
    unlink(path);
    return rc;
}

/* sync_median is the median of the fdatasyncs probed so far (0: none). */
static double sync_median(void)
{
    double v[sizeof sync_samples / sizeof sync_samples[0]];

    memcpy(v, sync_samples, nsync * sizeof *v);
    return median_of(v, nsync);
}

/* ---- 8 clients: calls per second ------------------------------------------ */

/* tp_ctx is one case over one transport with NCLIENTS clients: each run's
 * calls per second and the time of every call recorded. */
typedef struct tp_ctx {
    caller k[NCLIENTS];
    double rate[MAX_RUNS];
    unsigned nruns;
    uint32_t *lat; /* ns */
    size_t nlat, cap;
    double median, p99, rate_median;
} tp_ctx;

static tp_ctx tput[NNETS][NCASES];

/* tp_thread is one client thread of a run. */
typedef struct tp_thread {
    caller *k;
    pthread_barrier_t *start;
    double window_ns;
    uint64_t calls;
    double elapsed_ns;
    uint32_t *lat;
    size_t n;
    int failed;
    char err[256];
} tp_thread;

/* tp_main waits at the barrier, then calls until the window is over. */
static void *tp_main(void *p)
{
    tp_thread *t = p;
    uint64_t t0, now;

    pthread_barrier_wait(t->start);
    t0 = now = bench_now_ns();
    while (now - t0 < (uint64_t)t->window_ns) {
        if (call_once(t->k, t->err, sizeof t->err) != 0) {
            t->failed = 1;
            break;
        }
        uint64_t t1 = bench_now_ns();
        if (t->n < THREAD_LAT_CAP)
            t->lat[t->n++] = (uint32_t)(t1 - now > UINT32_MAX ? UINT32_MAX : t1 - now);
        t->calls++;
        now = t1;
    }
    t->elapsed_ns = (double)(now - t0);
    return NULL;
}

/* tp_run runs x's clients at once for a window and adds the run's rate
 * and latencies to x. 0, or -1 with a message printed. */
static int tp_run(tp_ctx *x, int net, int c, tp_thread th[NCLIENTS], double window_ns)
{
    pthread_t tid[NCLIENTS];
    pthread_barrier_t start;
    double rate = 0;
    unsigned started = 0;
    int rc = 0;

    if (pthread_barrier_init(&start, NULL, NCLIENTS + 1) != 0)
        return -1;
    for (unsigned i = 0; i < NCLIENTS; i++) {
        th[i].k = &x->k[i];
        th[i].start = &start;
        th[i].window_ns = window_ns;
        th[i].calls = 0;
        th[i].elapsed_ns = 0;
        th[i].n = 0;
        th[i].failed = 0;
    }
    for (; started < NCLIENTS; started++)
        if (pthread_create(&tid[started], NULL, tp_main, &th[started]) != 0)
            break;
    if (started < NCLIENTS) {
        /* the started threads wait at the barrier for good */
        fprintf(stderr, "bench_delivery: no thread for the 8-client run\n");
        return -2;
    }
    pthread_barrier_wait(&start);
    for (unsigned i = 0; i < NCLIENTS; i++)
        pthread_join(tid[i], NULL);
    pthread_barrier_destroy(&start);
    for (unsigned i = 0; i < NCLIENTS; i++) {
        if (th[i].failed) {
            fprintf(stderr, "bench_delivery: %s %s, %u clients, client %u: %s\n", case_names[c],
                    net_names[net], NCLIENTS, i, th[i].err);
            rc = -1;
        }
        if (th[i].elapsed_ns > 0)
            rate += (double)th[i].calls / th[i].elapsed_ns * 1e9;
        if (x->nlat + th[i].n > x->cap) {
            size_t cap = (x->nlat + th[i].n) * 2;
            uint32_t *l = realloc(x->lat, cap * sizeof *l);
            if (l == NULL) {
                fprintf(stderr, "bench_delivery: out of memory\n");
                return -1;
            }
            x->lat = l;
            x->cap = cap;
        }
        memcpy(x->lat + x->nlat, th[i].lat, th[i].n * sizeof *th[i].lat);
        x->nlat += th[i].n;
    }
    if (x->nruns < MAX_RUNS)
        x->rate[x->nruns++] = rate;
    return rc;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* tp_ratio is the median over the runs of a's rate over b's in the same
 * round. */
static double tp_ratio(const tp_ctx *a, const tp_ctx *b)
{
    unsigned n = a->nruns < b->nruns ? a->nruns : b->nruns, k = 0;
    double v[MAX_RUNS];

    for (unsigned i = 0; i < n; i++)
        if (b->rate[i] > 0)
            v[k++] = a->rate[i] / b->rate[i];
    return median_of(v, k);
}

/* open_warm opens a client of case c over net and makes warm calls; 0, or
 * -1 with a message in err. */
static int open_warm(caller *k, int c, int net, const server srv[NSERVERS], unsigned warm,
                     char *err, size_t errlen)
{
    if (caller_open(k, c, net, srv, err, errlen) != 0)
        return -1;
    for (unsigned i = 0; i < warm; i++)
        if (call_once(k, err, errlen) != 0)
            return -1;
    return 0;
}

/* measure_throughput opens NCLIENTS clients per case and transport, warms
 * them up, and runs runs rounds of one window per subject, the order
 * reversed every other round. 0 or -1. */
static int measure_throughput(const options *o, const server srv[NSERVERS])
{
    tp_thread th[NCLIENTS];
    int rc = -1;
    char err[256];

    memset(th, 0, sizeof th);
    for (unsigned i = 0; i < NCLIENTS; i++)
        if ((th[i].lat = malloc(THREAD_LAT_CAP * sizeof *th[i].lat)) == NULL) {
            fprintf(stderr, "bench_delivery: out of memory\n");
            goto out;
        }
    for (int net = 0; net < NNETS; net++)
        for (int c = 0; c < NCASES; c++)
            for (unsigned i = 0; i < NCLIENTS; i++)
                if (open_warm(&tput[net][c].k[i], c, net, srv, o->warm / 10 + 1, err, sizeof err) !=
                    0) {
                    fprintf(stderr, "bench_delivery: %s %s, %u clients: %s\n", case_names[c],
                            net_names[net], NCLIENTS, err);
                    goto out;
                }
    for (unsigned r = 0; r < o->runs; r++) {
        sync_probe(o->work, SYNC_ROUND_PROBES);
        for (int s = 0; s < NNETS * NCASES; s++) {
            int k = r & 1 ? NNETS * NCASES - 1 - s : s, net = k / NCASES, c = k % NCASES;
            int trc = tp_run(&tput[net][c], net, c, th, o->window_ms * 1e6);

            if (trc == -2)
                exit(1); /* threads wait at a barrier; the servers die with us */
            if (trc != 0)
                goto out;
        }
    }
    for (int net = 0; net < NNETS; net++)
        for (int c = 0; c < NCASES; c++) {
            tp_ctx *x = &tput[net][c];
            double rates[MAX_RUNS];

            qsort(x->lat, x->nlat, sizeof *x->lat, cmp_u32);
            x->median = x->nlat ? x->lat[x->nlat / 2] : 0;
            x->p99 = x->nlat ? x->lat[(size_t)(0.99 * (double)x->nlat)] : 0;
            memcpy(rates, x->rate, x->nruns * sizeof *rates);
            x->rate_median = median_of(rates, x->nruns);
        }
    rc = 0;
out:
    for (unsigned i = 0; i < NCLIENTS; i++)
        free(th[i].lat);
    for (int net = 0; net < NNETS; net++)
        for (int c = 0; c < NCASES; c++)
            for (unsigned i = 0; i < NCLIENTS; i++)
                if (tput[net][c].k[i].h != NULL)
                    caller_close(&tput[net][c].k[i]);
    return rc;
}

/* ---- the reply cache's memory --------------------------------------------- */

/* mem_result is the memory figure of one kind of client over one
 * transport: a fresh server's VmRSS before and after the clients. */
typedef struct mem_result {
    long before, after;
    unsigned clients;
} mem_result;

/* The kinds of client of the memory figure: idempotent calls, which leave
 * nothing in the reply cache, and at-most-once calls. */
enum { MEM_IDEM, MEM_AMO, NMEM };
static const int mem_case[NMEM] = {C_IDEM, C_AMO};

static mem_result mem[NNETS][NMEM];

/* settle gives the server a moment to finish with the last client. */
static void settle(void)
{
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* clients_one_by_one makes n clients of case c over net one after the
 * other, each making MEM_CALLS calls and going away (the server keeps an
 * at-most-once client's state until its lease runs out). 0 or -1. */
static int clients_one_by_one(const server *srv, int c, int net, unsigned n)
{
    server both[NSERVERS] = {*srv, *srv};
    char err[256];

    for (unsigned i = 0; i < n; i++) {
        caller k;

        if (caller_open(&k, c, net, both, err, sizeof err) != 0)
            goto fail;
        for (unsigned j = 0; j < MEM_CALLS; j++)
            if (call_once(&k, err, sizeof err) != 0) {
                caller_close(&k);
                goto fail;
            }
        caller_close(&k);
    }
    return 0;
fail:
    fprintf(stderr, "bench_delivery: %s %s, memory: %s\n", case_names[c], net_names[net], err);
    return -1;
}

/* measure_memory_of reads the VmRSS of a fresh server (no store) before
 * and after o->mem_clients clients of one kind over one transport, once
 * MEM_WARM clients of that kind have warmed it up (its threads' buffers
 * and heaps, the first connections' memory). A fresh server for each
 * figure: memory that one kind's clients freed (a closed connection's)
 * would otherwise take the next kind's allocations, and hide them from
 * VmRSS. 0 or -1. */
static int measure_memory_of(const options *o, int net, int kind, mem_result *m)
{
    server_cfg cfg = {"memory", NULL, PARLEY_DURABLE_PROCESS, 0, o->server_threads};
    server srv;
    int rc = -1;

    if (server_start(&cfg, &srv) != 0)
        return -1;
    /* this server has a counter of its own: the at-most-once calls below
     * add to it, and the reads expect what this process counted */
    int64_t saved = atomic_exchange(&amo_total, 0);
    if (clients_one_by_one(&srv, mem_case[kind], net, MEM_WARM) != 0)
        goto out;
    settle();
    m->before = rss_kib(srv.pid);
    if (clients_one_by_one(&srv, mem_case[kind], net, o->mem_clients) != 0)
        goto out;
    settle();
    m->after = rss_kib(srv.pid);
    m->clients = o->mem_clients;
    if (m->before < 0 || m->after < 0) {
        fprintf(stderr, "bench_delivery: cannot read the server's VmRSS\n");
        goto out;
    }
    rc = 0;
out:
    atomic_store(&amo_total, saved);
    server_stop(&srv);
    return rc;
}

/* measure_memory takes the memory figure of each kind of client over each
 * transport. 0 or -1. */
static int measure_memory(const options *o)
{
    for (int net = 0; net < NNETS; net++)
        for (int kind = 0; kind < NMEM; kind++)
            if (measure_memory_of(o, net, kind, &mem[net][kind]) != 0)
                return -1;
    return 0;
}

/* ---- the store's file ----------------------------------------------------- */

/* store_result is what the store's run saw. */
typedef struct store_result {
    uint64_t calls;       /* made */
    uint64_t max_bytes;   /* the largest size seen */
    uint64_t final_bytes; /* after the last call */
    unsigned shrinks;     /* samples smaller than the one before: compactions */
    double seconds;
    double per_call;   /* bytes appended per call, before the first compaction */
    double longest_us; /* the longest call (a compaction's falls on one) */
    int capped;        /* stopped by STORE_CAP_S */
} store_result;

static store_result store_res;

/* file_bytes is the size of the file at path (0 when it is not there). */
static uint64_t file_bytes(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

/* measure_store starts a server with a fresh store (process durability)
 * and makes o->store_calls exactly-once calls with one client over TCP,
 * each of which acknowledges the one before it. The file's size is read
 * every thousandth of the run (the largest kept) and printed every tenth.
 * 0 or -1. */
static int measure_store(const options *o, const char *path)
{
    server_cfg cfg = {"store", path, PARLEY_DURABLE_PROCESS, o->store_max_bytes, o->server_threads};
    uint64_t every = o->store_calls / 1000 ? o->store_calls / 1000 : 1;
    uint64_t print_every = o->store_calls / 10 ? o->store_calls / 10 : 1;
    uint64_t prev = 0, t0;
    server both[NSERVERS];
    char err[256];
    caller k;
    int rc = -1;

    memset(&store_res, 0, sizeof store_res);
    if (server_start(&cfg, &both[0]) != 0)
        return -1;
    both[1] = both[0];
    int64_t saved = atomic_exchange(&eo_total[SRV_MAIN], 0);
    if (caller_open(&k, C_EO_PROC, NET_TCP, both, err, sizeof err) != 0)
        goto fail;
    printf("store file over %llu exactly-once calls of one client over tcp (process "
           "durability, bound %s):\n"
           "%12s %14s %14s %10s\n",
           (unsigned long long)o->store_calls,
           o->store_max_bytes ? "as --store-max-mib" : "the default 64 MiB", "calls", "file bytes",
           "max bytes", "calls/s");
    fflush(stdout);
    t0 = bench_now_ns();
    for (uint64_t i = 1; i <= o->store_calls; i++) {
        uint64_t c0 = bench_now_ns();

        if (call_once(&k, err, sizeof err) != 0) {
            caller_close(&k);
            goto fail;
        }
        double us = (double)(bench_now_ns() - c0) / 1e3;
        store_res.longest_us = us > store_res.longest_us ? us : store_res.longest_us;
        if (i % every == 0 || i == o->store_calls) {
            uint64_t size = file_bytes(path);
            double s = (double)(bench_now_ns() - t0) / 1e9;

            if (i == every)
                store_res.per_call = (double)size / (double)i;
            store_res.max_bytes = size > store_res.max_bytes ? size : store_res.max_bytes;
            store_res.shrinks += size < prev;
            prev = size;
            store_res.calls = i;
            store_res.final_bytes = size;
            store_res.seconds = s;
            if (i % print_every == 0 || i == o->store_calls) {
                printf("%12llu %14llu %14llu %10.0f\n", (unsigned long long)i,
                       (unsigned long long)size, (unsigned long long)store_res.max_bytes,
                       s > 0 ? (double)i / s : 0);
                fflush(stdout);
            }
            if (s > STORE_CAP_S) {
                store_res.capped = 1;
                break;
            }
        }
    }
    caller_close(&k);
    rc = check_counters(both, CHECK_EO_MAIN, "store") == 0 ? 0 : -1;
    goto out;
fail:
    fprintf(stderr, "bench_delivery: %s, store: %s\n", case_names[C_EO_PROC], err);
out:
    atomic_store(&eo_total[SRV_MAIN], saved);
    server_stop(&both[0]);
    return rc;
}

/* ---- printing ----------------------------------------------------------- */

static const char *verdict(int met)
{
    return met ? "target met" : "MISSED";
}

/* print_tables prints a row per case, transport and client count. */
static void print_tables(const options *o)
{
    printf("\n%-22s %-4s %7s %10s %10s %11s %9s\n", "case", "net", "clients", "median us", "p99 us",
           "calls/s", "vs plain");
    for (int net = 0; net < NNETS; net++) {
        if (o->parts & PART_LATENCY)
            for (int c = 0; c < NCASES; c++) {
                const lat_ctx *x = &lat[net][c];
                printf("%-22s %-4s %7u %10.1f %10.1f %11.0f %9.2f\n", case_names[c], net_names[net],
                       1u, x->median / 1e3, x->p99 / 1e3, x->rate,
                       lat_ratio(x, &lat[net][C_PLAIN]));
            }
        if (o->parts & PART_THROUGHPUT)
            for (int c = 0; c < NCASES; c++) {
                const tp_ctx *x = &tput[net][c];
                printf("%-22s %-4s %7u %10.1f %10.1f %11.0f %9.2f\n", case_names[c], net_names[net],
                       NCLIENTS, x->median / 1e3, x->p99 / 1e3, x->rate_median,
                       tp_ratio(x, &tput[net][C_PLAIN]));
            }
    }
    printf("\nmedian, p99: of single calls. calls/s: 1 client, its calls over their time; "
           "%u clients, all\ntogether (median of the runs). vs plain: 1 client, the median over "
           "the rounds of the\nratio of the batch medians (time: >1 slower); %u clients, of "
           "calls/s (<1 fewer).\n",
           NCLIENTS, NCLIENTS);
}

/* print_memory prints the reply cache's memory per client: what an
 * at-most-once client adds to the server's VmRSS, less what an idempotent
 * one adds. */
static void print_memory(void)
{
    printf("\nserver memory per client (VmRSS of a fresh server for each line, %d clients of "
           "warm-up;\nthen clients one after the other, %u calls each, each handle destroyed "
           "after its calls):\n",
           MEM_WARM, MEM_CALLS);
    for (int net = 0; net < NNETS; net++) {
        double per[NMEM];

        for (int kind = 0; kind < NMEM; kind++) {
            const mem_result *m = &mem[net][kind];

            per[kind] = (double)(m->after - m->before) * 1024 / m->clients;
            printf("  %s, %u %-12s clients: VmRSS %ld KiB, then %ld KiB: %+.0f bytes per client\n",
                   net_names[net], m->clients, case_names[mem_case[kind]], m->before, m->after,
                   per[kind]);
        }
        printf("  %s, the reply cache: %.0f bytes per at-most-once client\n", net_names[net],
               per[MEM_AMO] - per[MEM_IDEM]);
    }
}

/* print_store sums up the store's run. */
static void print_store(const options *o)
{
    uint64_t bound = o->store_max_bytes ? o->store_max_bytes : (uint64_t)64 << 20;

    printf("store file: max %llu bytes seen, %llu at the end, %u compactions seen, %.1f s%s;\n"
           "  about %.0f bytes appended per call; the longest call %.1f ms;\n"
           "  bounded by the acknowledgements (max <= bound %llu + 1 MiB): %s\n",
           (unsigned long long)store_res.max_bytes, (unsigned long long)store_res.final_bytes,
           store_res.shrinks, store_res.seconds,
           store_res.capped ? " (stopped at the time cap)" : "", store_res.per_call,
           store_res.longest_us / 1e3, (unsigned long long)bound,
           store_res.max_bytes <= bound + (1u << 20) ? "yes" : "NO");
}

/* print_targets judges the three targets against plain in this run. For
 * machine durability it also gives the disk's limit: NCLIENTS clients, one
 * call out each, can at best share every fdatasync. */
static void print_targets(const options *o)
{
    printf("\ntargets, against plain in this run:\n");
    for (int net = 0; net < NNETS; net++) {
        if (!(o->parts & PART_LATENCY)) {
            printf("  at-most-once / plain, median, 1 client, %s: not measured\n", net_names[net]);
            continue;
        }
        double r = lat_ratio(&lat[net][C_AMO], &lat[net][C_PLAIN]);
        printf("  at-most-once / plain, median, 1 client, %s: %.3f (%.1f us / %.1f us), "
               "<= 1.05: %s\n",
               net_names[net], r, lat[net][C_AMO].median / 1e3, lat[net][C_PLAIN].median / 1e3,
               verdict(r > 0 && r <= 1.05));
    }
    for (int m = 0; m < 2; m++) {
        int c = m ? C_EO_MACH : C_EO_PROC;
        double target = m ? 0.50 : 0.70;

        for (int net = 0; net < NNETS; net++) {
            if (!(o->parts & PART_THROUGHPUT)) {
                printf("  %s / plain, calls/s, %u clients, %s: not measured\n", case_names[c],
                       NCLIENTS, net_names[net]);
                continue;
            }
            double r = tp_ratio(&tput[net][c], &tput[net][C_PLAIN]);
            printf("  %s / plain, calls/s, %u clients, %s: %.3f (%.0f / %.0f), >= %.2f: %s\n",
                   case_names[c], NCLIENTS, net_names[net], r, tput[net][c].rate_median,
                   tput[net][C_PLAIN].rate_median, target, verdict(r >= target));
        }
    }
    double sync_us = sync_median();
    if ((o->parts & PART_THROUGHPUT) && sync_us > 0)
        for (int net = 0; net < NNETS; net++) {
            double limit = NCLIENTS / sync_us * 1e6;
            printf("    (%s: the disk's limit, %u clients sharing every fdatasync, %.0f us (median "
                   "of %zu\n     through the run): %.0f calls/s, %.3f of plain)\n",
                   net_names[net], NCLIENTS, sync_us, nsync, limit,
                   tput[net][C_PLAIN].rate_median > 0 ? limit / tput[net][C_PLAIN].rate_median : 0);
        }
}

/* ---- main --------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_delivery [--quick] [--only PARTS] [--dir DIR] [--reps N] [--batch N]\n"
            "                      [--runs N] [--window-ms W] [--mem-clients N]\n"
            "                      [--store-calls N] [--store-max-mib M] [--server-threads N]\n"
            "  --quick            a short run (a smoke test; rough figures)\n"
            "  --only PARTS       a comma-separated list of latency, throughput, memory, store\n"
            "                     (default: all)\n"
            "  --dir DIR          where the stores' files go (default: $TMPDIR, else /tmp); not\n"
            "                     a tmpfs, whose syncs cost nothing\n"
            "  --reps N           rounds of one-client batches (default %d)\n"
            "  --batch N          calls per batch (default %d)\n"
            "  --runs N           rounds of %d-client runs (default %d)\n"
            "  --window-ms W      length of one %d-client run (default %.0f)\n"
            "  --mem-clients N    clients for the memory figure (default %d)\n"
            "  --store-calls N    exactly-once calls for the store's file (default %d)\n"
            "  --store-max-mib M  the store's bound for that run (default: the server's)\n"
            "  --server-threads N the servers' threads (default: theirs, one per core)\n",
            DEFAULT_REPS, DEFAULT_BATCH, NCLIENTS, DEFAULT_RUNS, NCLIENTS, DEFAULT_WINDOW_MS,
            DEFAULT_MEM_CLIENTS, DEFAULT_STORE_CALLS);
}

/* parse_count reads a whole number from 1 to max. */
static int parse_count(const char *s, double max, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || *end != '\0' || !(v >= 1) || v > max || v != (double)(uint64_t)v)
        return -1;
    *out = v;
    return 0;
}

/* parse_parts reads --only's list into *parts. */
static int parse_parts(const char *s, unsigned *parts)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"latency", PART_LATENCY},
                 {"throughput", PART_THROUGHPUT},
                 {"memory", PART_MEMORY},
                 {"store", PART_STORE}};

    *parts = 0;
    while (*s) {
        size_t len = strcspn(s, ",");
        size_t i;

        for (i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strlen(names[i].name) == len && strncmp(s, names[i].name, len) == 0)
                break;
        if (i == sizeof names / sizeof names[0])
            return -1;
        *parts |= names[i].bit;
        s += len + (s[len] == ',');
    }
    return *parts ? 0 : -1;
}

/* parse_args reads the command line; 0, 1 after --help, 2 on a bad one. */
static int parse_args(int argc, char **argv, options *o)
{
    int reps = 0, batch = 0, runs = 0, window = 0, memc = 0, calls = 0;
    double v;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--quick") == 0) {
            o->quick = 1;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (next == NULL)
            goto bad;
        i++;
        if (strcmp(a, "--only") == 0 && parse_parts(next, &o->parts) == 0) {
        } else if (strcmp(a, "--dir") == 0 && *next) {
            o->dir = next;
        } else if (strcmp(a, "--reps") == 0 && parse_count(next, MAX_REPS, &v) == 0) {
            o->reps = (unsigned)v;
            reps = 1;
        } else if (strcmp(a, "--batch") == 0 && parse_count(next, 1e6, &v) == 0) {
            o->batch = (unsigned)v;
            batch = 1;
        } else if (strcmp(a, "--runs") == 0 && parse_count(next, MAX_RUNS, &v) == 0) {
            o->runs = (unsigned)v;
            runs = 1;
        } else if (strcmp(a, "--window-ms") == 0 && parse_count(next, 60000, &v) == 0) {
            o->window_ms = v;
            window = 1;
        } else if (strcmp(a, "--mem-clients") == 0 && parse_count(next, 1e6, &v) == 0) {
            o->mem_clients = (unsigned)v;
            memc = 1;
        } else if (strcmp(a, "--store-calls") == 0 && parse_count(next, 1e9, &v) == 0) {
            o->store_calls = (uint64_t)v;
            calls = 1;
        } else if (strcmp(a, "--store-max-mib") == 0 && parse_count(next, 1 << 20, &v) == 0) {
            o->store_max_bytes = (size_t)v << 20;
        } else if (strcmp(a, "--server-threads") == 0 && parse_count(next, 256, &v) == 0) {
            o->server_threads = (unsigned)v;
        } else {
            goto bad;
        }
    }
    if (o->quick) {
        o->reps = reps ? o->reps : QUICK_REPS;
        o->batch = batch ? o->batch : QUICK_BATCH;
        o->warm = QUICK_WARM;
        o->runs = runs ? o->runs : QUICK_RUNS;
        o->window_ms = window ? o->window_ms : QUICK_WINDOW_MS;
        o->mem_clients = memc ? o->mem_clients : QUICK_MEM_CLIENTS;
        o->store_calls = calls ? o->store_calls : QUICK_STORE_CALLS;
    }
    return 0;
bad:
    usage(stderr);
    return 2;
}

/* fs_name names the file system of path, and says so of a tmpfs. */
static const char *fs_name(const char *path)
{
    struct statfs sf;

    if (statfs(path, &sf) != 0)
        return "unknown file system";
    switch ((unsigned long)sf.f_type) {
    case 0xef53:
        return "ext4";
    case 0x58465342:
        return "xfs";
    case 0x9123683e:
        return "btrfs";
    case 0x794c7630:
        return "overlayfs";
    case 0x01021994:
        return "tmpfs: its syncs cost nothing, machine durability is not measured";
    default:
        return "another file system";
    }
}

/* remove_store removes a store's file and its compaction's. */
static void remove_store(const char *path)
{
    char tmp[700];
    size_t n = strlen(path);

    unlink(path);
    if (n + sizeof ".compact" <= sizeof tmp) {
        memcpy(tmp, path, n);
        memcpy(tmp + n, ".compact", sizeof ".compact");
        unlink(tmp);
    }
}

int main(int argc, char **argv)
{
    options o = {.parts = PART_ALL,
                 .reps = DEFAULT_REPS,
                 .batch = DEFAULT_BATCH,
                 .warm = DEFAULT_WARM,
                 .runs = DEFAULT_RUNS,
                 .window_ms = DEFAULT_WINDOW_MS,
                 .mem_clients = DEFAULT_MEM_CLIENTS,
                 .store_calls = DEFAULT_STORE_CALLS};
    const char *tmp = getenv("TMPDIR");
    char dir[512], paths[3][600];
    server srv[NSERVERS];
    int status = 1, rc;

    o.dir = tmp && *tmp ? tmp : "/tmp";
    if ((rc = parse_args(argc, argv, &o)) != 0)
        return rc == 1 ? 0 : rc;
    if (strlen(o.dir) > 400) {
        fprintf(stderr, "bench_delivery: --dir: too long a path\n");
        return 2;
    }
    memset(srv, 0, sizeof srv);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGALRM, on_watchdog);
    alarm(o.quick ? WATCHDOG_QUICK_S : WATCHDOG_S);

    snprintf(dir, sizeof dir, "%s/bench_delivery.XXXXXX", o.dir);
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "bench_delivery: cannot make a folder in %s: %s\n", o.dir, strerror(errno));
        return 1;
    }
    snprintf(paths[0], sizeof paths[0], "%s/process.store", dir);
    snprintf(paths[1], sizeof paths[1], "%s/machine.store", dir);
    snprintf(paths[2], sizeof paths[2], "%s/size.store", dir);
    server_cfg cfgs[NSERVERS] = {
        {"main", paths[0], PARLEY_DURABLE_PROCESS, 0, o.server_threads},
        {"machine", paths[1], PARLEY_DURABLE_MACHINE, 0, o.server_threads}};

    printf("bench_delivery: loopback, servers in child processes (");
    if (o.server_threads)
        printf("%u threads", o.server_threads);
    else
        printf("one thread per core");
    printf("); stores in %s (%s)\n", o.dir, fs_name(dir));
    if (o.quick)
        printf("--quick: a check that every call succeeds; rough figures\n");
    o.work = dir;
    if (sync_probe(dir, SYNC_PROBES) == 0)
        printf("the disk: fdatasync after a 200-byte append, median %.0f us of %zu\n",
               sync_median(), nsync);
    if (o.parts & (PART_LATENCY | PART_THROUGHPUT))
        printf("1 client: %u rounds of %u calls per case, cases taking turns, after %u calls of "
               "warm-up;\n%u clients: %u rounds of %.0f ms per case\n",
               o.reps, o.batch, o.warm, NCLIENTS, o.runs, o.window_ms);
    fflush(stdout);

    if (o.parts & (PART_LATENCY | PART_THROUGHPUT)) {
        for (int s = 0; s < NSERVERS; s++)
            if (server_start(&cfgs[s], &srv[s]) != 0)
                goto out;
        if ((o.parts & PART_LATENCY) && measure_latency(&o, srv) != 0)
            goto out;
        if ((o.parts & PART_THROUGHPUT) && measure_throughput(&o, srv) != 0)
            goto out;
        if (check_counters(srv, CHECK_AMO | CHECK_EO_MAIN | CHECK_EO_MACHINE, "after the calls") !=
            0)
            goto out;
        for (int s = 0; s < NSERVERS; s++)
            server_stop(&srv[s]);
        print_tables(&o);
    }
    if ((o.parts & PART_MEMORY) && measure_memory(&o) != 0)
        goto out;
    if (o.parts & PART_MEMORY)
        print_memory();
    if (o.parts & PART_STORE) {
        printf("\n");
        if (measure_store(&o, paths[2]) != 0)
            goto out;
        print_store(&o);
    }
    if (o.parts & (PART_LATENCY | PART_THROUGHPUT))
        print_targets(&o);
    status = 0;
out:
    for (int s = 0; s < NSERVERS; s++)
        server_stop(&srv[s]);
    for (int i = 0; i < 3; i++)
        remove_store(paths[i]);
    if (rmdir(dir) != 0)
        fprintf(stderr, "bench_delivery: cannot remove %s: %s\n", dir, strerror(errno));
    return status;
}
