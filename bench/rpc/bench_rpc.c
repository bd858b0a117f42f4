/*
 * bench_rpc.c: the RPC benchmark. It measures, in one run and on loopback
 * only, each side of bench_rpc.h (the raw ping-pong, libtirpc, and Parley's
 * runtime) serving rpcbench.x from a child process:
 *
 *   - the round trip of the NULL call and of the USERS call (100 structs)
 *     over TCP, UDP and a Unix stream socket: median and 99th percentile of
 *     single calls, one client, one call at a time;
 *   - calls per second of NULL over TCP with 1, 2 and 8 client threads, on
 *     separate connections and (for the sides whose client allows it)
 *     sharing one, and with 2 client processes;
 *   - the server's memory per idle TCP connection: its VmRSS before and
 *     after a number of connections that make no call.
 *
 * The round trips of all sides take turns batch by batch (benchutil.h), so
 * that the machine's drift falls on all alike; a side's ratio to raw is the
 * median over the repetitions of the ratio of the two medians of one
 * repetition. The four targets of Parley's runtime are printed with the
 * figures they are judged on, met or MISSED. The exit status is 0 whatever the
 * figures and 1 only when something failed (a call, a reply, a server).
 *
 * Usage: bench_rpc [--quick] [--reps N] [--batch-ms M] [--window-ms W]
 *                  [--conns C]
 *        bench_rpc --trace SIDE NET CALL N
 *
 * --trace measures nothing: it starts one side's server and makes N calls
 * with one client, for counting system calls per round trip with a tracer.
 */
#include "benchutil.h"
#include "bench_rpc.h"
#include "parley/error.h"
#include "parley/log.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The default run takes well under a minute, --quick a few seconds. */
#define DEFAULT_REPS      31
#define DEFAULT_BATCH_MS  15.0
#define DEFAULT_WINDOW_MS 400.0
#define DEFAULT_TP_REPS   3
#define DEFAULT_CONNS     1000
#define QUICK_REPS        3
#define QUICK_BATCH_MS    2.0
#define QUICK_WINDOW_MS   40.0
#define QUICK_TP_REPS     1
#define QUICK_CONNS       100
#define MAX_SAMPLES       (1u << 22) /* per subject; later calls are not recorded */
#define MAX_CALLS_THREAD  (1u << 26) /* bound on a throughput thread's loop */
#define MAX_THREADS       8
#define WAIT_MS           10000 /* the longest wait for a child or a server */

/* The sides, in the order of the table: raw must stay first (the others are
 * compared with it); libtirpc comes before Parley's sides (which are also
 * compared with it). raw+poll and parley-sleep show what busy polling does:
 * raw+poll is the ping-pong polling as Parley does, parley-sleep is Parley
 * with its busy polling off. */
static const rb_side *const sides[] = {&rb_side_raw, &rb_side_rawpoll, &rb_side_tirpc,
                                       &rb_side_parley, &rb_side_parley_sleep};
enum {
    NSIDES = sizeof sides / sizeof sides[0],
    SIDE_RAW = 0,
    SIDE_RAWPOLL = 1,
    SIDE_TIRPC = 2,
    SIDE_PARLEY = 3,
    SIDE_PSLEEP = 4
};

/* Whose server's memory per connection is measured: not raw's, whose
 * thread per connection is a test harness, not a server design. */
static const int measure_memory[NSIDES] = {0, 0, 1, 1, 0};

static const char *const transport_names[RB_NTRANSPORTS] = {"tcp", "udp", "unix"};
static const char *const workload_names[RB_NWORKLOADS] = {"NULL", "users"};

typedef struct options {
    unsigned reps;
    double batch_ms;
    double window_ms;
    unsigned tp_reps;
    unsigned conns;
    int quick;
    /* --trace: one side, transport and call, made trace_calls times */
    const char *trace[3];
    unsigned trace_calls;
    int log_level; /* --log: a sink that counts the library's events, or off */
} options;

static int has_transport(const rb_side *s, int t)
{
    return (s->transports >> t) & 1u;
}

/* ---- round trips ---------------------------------------------------------- */

/* lat_ctx is one subject of the round-trip measurement: one side's client
 * on one transport calling one workload, the time of every call recorded
 * (once recording is on) and where each repetition's batch begins. */
typedef struct lat_ctx {
    const rb_side *side;
    void *client;
    int workload;
    int recording;
    double *samples;
    size_t n, cap;
    size_t *batch_start;
    unsigned nbatches, batch_cap;
    char err[256];
    /* results */
    double median, p99, calls_per_s;
    double *batch_median;
} lat_ctx;

static int run_calls(void *p, size_t iters)
{
    lat_ctx *c = p;

    if (c->recording && c->nbatches < c->batch_cap)
        c->batch_start[c->nbatches++] = c->n;
    for (size_t i = 0; i < iters; i++) {
        uint64_t t0 = bench_now_ns();
        if (c->side->call(c->client, c->workload, c->err, sizeof c->err) != 0)
            return -1;
        uint64_t t1 = bench_now_ns();
        if (c->recording && c->n < c->cap)
            c->samples[c->n++] = (double)(t1 - t0);
    }
    return 0;
}

/* summarise_lat computes the median of each batch, then sorts all samples
 * for the median and 99th percentile of single calls. */
static void summarise_lat(lat_ctx *c)
{
    bench_lat_summarise(c->samples, c->n, c->batch_start, c->nbatches, c->batch_median, &c->median,
                        &c->p99, &c->calls_per_s);
}

/* paired_ratio is the median over the repetitions of a's batch median over
 * b's in the same repetition (0 when there is none). */
static double paired_ratio(const lat_ctx *a, const lat_ctx *b)
{
    unsigned n = a->nbatches < b->nbatches ? a->nbatches : b->nbatches, k = 0;
    double v[4096];

    for (unsigned i = 0; i < n && k < 4096; i++)
        if (b->batch_median[i] > 0)
            v[k++] = a->batch_median[i] / b->batch_median[i];
    if (k == 0)
        return 0;
    qsort(v, k, sizeof *v, bench_cmp_double);
    return k & 1 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

/* The round-trip subjects, indexed [transport][workload][side]; a side
 * without the transport has no client there. */
static lat_ctx lat[RB_NTRANSPORTS][RB_NWORKLOADS][NSIDES];

static void free_lat(void)
{
    for (int t = 0; t < RB_NTRANSPORTS; t++)
        for (int w = 0; w < RB_NWORKLOADS; w++)
            for (int s = 0; s < NSIDES; s++) {
                lat_ctx *c = &lat[t][w][s];
                if (c->client != NULL)
                    c->side->disconnect(c->client);
                free(c->samples);
                free(c->batch_start);
                free(c->batch_median);
                memset(c, 0, sizeof *c);
            }
}

/* measure_round_trips connects one client per subject, calibrates each
 * (which also checks its first replies), and runs them interleaved, the
 * sides of one transport and workload next to each other. */
static int measure_round_trips(const options *o, rb_server srv[][RB_NTRANSPORTS])
{
    bench_subject subj[RB_NTRANSPORTS * RB_NWORKLOADS * NSIDES];
    bench_subject *order[RB_NTRANSPORTS * RB_NWORKLOADS * NSIDES], *failed = NULL;
    size_t n = 0;
    int rc = -1;

    for (int t = 0; t < RB_NTRANSPORTS; t++)
        for (int w = 0; w < RB_NWORKLOADS; w++)
            for (int s = 0; s < NSIDES; s++) {
                lat_ctx *c = &lat[t][w][s];

                if (!has_transport(sides[s], t))
                    continue;
                c->side = sides[s];
                c->workload = w;
                c->client = sides[s]->connect(&srv[s][t], c->err, sizeof c->err);
                if (c->client == NULL) {
                    fprintf(stderr, "bench_rpc: %s %s client: %s\n", sides[s]->name,
                            transport_names[t], c->err);
                    goto out;
                }
                if (bench_subject_init(&subj[n], sides[s]->name, run_calls, c, o->reps) != 0)
                    goto nomem;
                order[n] = &subj[n];
                n++;
            }
    for (size_t i = 0; i < n; i++) {
        lat_ctx *c = subj[i].ctx;

        if (bench_calibrate(&subj[i], o->batch_ms * 1e6) != 0) {
            failed = &subj[i];
            goto fail;
        }
        c->cap = subj[i].iters * (o->reps + 1);
        c->cap = c->cap < MAX_SAMPLES ? c->cap : MAX_SAMPLES;
        c->batch_cap = o->reps;
        c->samples = malloc(c->cap * sizeof *c->samples);
        c->batch_start = calloc(o->reps, sizeof *c->batch_start);
        c->batch_median = calloc(o->reps, sizeof *c->batch_median);
        if (c->samples == NULL || c->batch_start == NULL || c->batch_median == NULL)
            goto nomem;
        c->recording = 1;
    }
    if (bench_run_interleaved(order, n, o->reps, &failed) != 0)
        goto fail;
    for (size_t i = 0; i < n; i++)
        summarise_lat(subj[i].ctx);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "bench_rpc: %s %s call failed: %s\n", ((lat_ctx *)failed->ctx)->side->name,
            workload_names[((lat_ctx *)failed->ctx)->workload], ((lat_ctx *)failed->ctx)->err);
    goto out;
nomem:
    fprintf(stderr, "bench_rpc: out of memory\n");
out:
    for (size_t i = 0; i < n; i++)
        bench_subject_fini(&subj[i]);
    return rc;
}

/* ---- calls per second ---------------------------------------------------- */

/* A throughput configuration: how many threads or processes call NULL over
 * TCP for a window, and whether the threads share one client. */
typedef struct tp_config {
    const char *label;
    unsigned nthreads;
    unsigned nprocs;
    int shared;
    unsigned inflight; /* one thread with this many asynchronous calls out; 0: none */
} tp_config;

static const tp_config tp_configs[] = {
    {"1 thread", 1, 0, 0, 0},           {"2 threads, 2 conns", 2, 0, 0, 0},
    {"8 threads, 8 conns", 8, 0, 0, 0}, {"2 threads, 1 conn", 2, 0, 1, 0},
    {"8 threads, 1 conn", 8, 0, 1, 0},  {"2 processes", 0, 2, 0, 0},
    {"1 thread, 8 async", 1, 0, 0, 8},  {"1 thread, 64 async", 1, 0, 0, 64},
};
enum { NTP = sizeof tp_configs / sizeof tp_configs[0] };

/* tp_thread is one calling thread: it waits at the barrier, then calls
 * until its window is over (or its count reaches MAX_CALLS_THREAD). */
typedef struct tp_thread {
    const rb_side *side;
    void *client;
    unsigned inflight; /* see tp_config */
    pthread_barrier_t *start;
    double window_ns;
    uint64_t calls;
    double elapsed_ns;
    int failed;
    char err[256];
} tp_thread;

static void call_for_window(tp_thread *t)
{
    uint64_t t0 = bench_now_ns(), now = t0;

    while (now - t0 < (uint64_t)t->window_ns && t->calls < MAX_CALLS_THREAD) {
        if (t->side->call(t->client, RB_NULL, t->err, sizeof t->err) != 0) {
            t->failed = 1;
            break;
        }
        t->calls++;
        now = bench_now_ns();
    }
    t->elapsed_ns = (double)(now - t0);
}

static void *tp_main(void *p)
{
    tp_thread *t = p;

    pthread_barrier_wait(t->start);
    if (t->inflight)
        t->failed = t->side->pipeline(t->client, t->inflight, t->window_ns, &t->calls,
                                      &t->elapsed_ns, t->err, sizeof t->err) != 0;
    else
        call_for_window(t);
    return NULL;
}

/* tp_rate sums each caller's calls over its own elapsed time. */
static double tp_rate(const tp_thread *t, unsigned n)
{
    double rate = 0;

    for (unsigned i = 0; i < n; i++)
        if (t[i].elapsed_ns > 0)
            rate += (double)t[i].calls / t[i].elapsed_ns * 1e9;
    return rate;
}

/* run_threads measures one configuration with threads; 0 or -1. */
static int run_threads(const rb_side *side, const rb_server *srv, const tp_config *cfg,
                       double window_ns, double *rate)
{
    tp_thread t[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    pthread_barrier_t start;
    unsigned nclients = 0, nstarted = 0;
    int rc = -1;
    char err[256];

    memset(t, 0, sizeof t);
    if (pthread_barrier_init(&start, NULL, cfg->nthreads + 1) != 0)
        return -1;
    for (unsigned i = 0; i < cfg->nthreads; i++) {
        t[i].side = side;
        t[i].start = &start;
        t[i].window_ns = window_ns;
        t[i].inflight = cfg->inflight;
        if (i == 0 || !cfg->shared) {
            if ((t[i].client = side->connect(srv, err, sizeof err)) == NULL) {
                fprintf(stderr, "bench_rpc: %s client: %s\n", side->name, err);
                goto out;
            }
            nclients = i + 1;
        } else {
            t[i].client = t[0].client;
        }
    }
    for (; nstarted < cfg->nthreads; nstarted++)
        if (pthread_create(&tid[nstarted], NULL, tp_main, &t[nstarted]) != 0)
            break;
    if (nstarted < cfg->nthreads) {
        /* the barrier cannot be passed now: the started threads wait on it
         * forever, and so the program ends here */
        fprintf(stderr, "bench_rpc: no thread for the throughput measurement\n");
        exit(1);
    }
    pthread_barrier_wait(&start);
    for (unsigned i = 0; i < nstarted; i++)
        pthread_join(tid[i], NULL);
    rc = 0;
    for (unsigned i = 0; i < cfg->nthreads; i++)
        if (t[i].failed) {
            fprintf(stderr, "bench_rpc: %s call failed: %s\n", side->name, t[i].err);
            rc = -1;
        }
    *rate = tp_rate(t, cfg->nthreads);
out:
    for (unsigned i = 0; i < nclients; i++)
        if (t[i].client != NULL && (i == 0 || !cfg->shared))
            side->disconnect(t[i].client);
    pthread_barrier_destroy(&start);
    return rc;
}

/* A client process's report: its calls and the time they took. */
typedef struct proc_report {
    uint64_t calls;
    double elapsed_ns;
    int failed;
} proc_report;

/* wait_readable waits up to ms for fd to be readable; 0 or -1. */
static int wait_readable(int fd, int ms)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    int r;

    while ((r = poll(&pfd, 1, ms)) < 0 && errno == EINTR)
        ;
    return r == 1 ? 0 : -1;
}

/* proc_main is a client process: it connects, waits for the go byte, calls
 * for the window and writes its report. */
static void proc_main(const rb_side *side, const rb_server *srv, double window_ns, int go_fd,
                      int report_fd)
{
    proc_report rep = {0, 0, 1};
    tp_thread t;
    char go;

    memset(&t, 0, sizeof t);
    t.side = side;
    t.window_ns = window_ns;
    if (rb_child_setup() != 0)
        _exit(1);
    t.client = side->connect(srv, t.err, sizeof t.err);
    if (wait_readable(go_fd, WAIT_MS) == 0 && read(go_fd, &go, 1) == 1 && t.client != NULL) {
        call_for_window(&t);
        rep.calls = t.calls;
        rep.elapsed_ns = t.elapsed_ns;
        rep.failed = t.failed;
    }
    if (rep.failed)
        fprintf(stderr, "bench_rpc: %s client process: %s\n", side->name, t.err);
    if (t.client != NULL)
        side->disconnect(t.client);
    if (write(report_fd, &rep, sizeof rep) != (ssize_t)sizeof rep)
        _exit(1);
    _exit(0);
}

/* run_procs measures one configuration with client processes: they start
 * together when the parent closes the go pipe, and each writes its report
 * into a pipe of its own. Every process started is reaped, killed first if
 * it has not reported in time. */
static int run_procs(const rb_side *side, const rb_server *srv, const tp_config *cfg,
                     double window_ns, double *rate)
{
    enum { MAXP = 4 };
    pid_t pid[MAXP];
    int report[MAXP] = {-1, -1, -1, -1}, go[2] = {-1, -1};
    tp_thread t[MAXP];
    unsigned n = 0;
    int rc = -1;

    memset(t, 0, sizeof t);
    if (cfg->nprocs > MAXP || pipe(go) != 0)
        return -1;
    fflush(stdout);
    fflush(stderr);
    for (; n < cfg->nprocs; n++) {
        int fds[2];

        if (pipe(fds) != 0)
            break;
        if ((pid[n] = fork()) < 0) {
            close(fds[0]);
            close(fds[1]);
            break;
        }
        if (pid[n] == 0) {
            close(go[1]);
            close(fds[0]);
            proc_main(side, srv, window_ns, go[0], fds[1]);
        }
        close(fds[1]);
        report[n] = fds[0];
    }
    close(go[0]);
    if (n == cfg->nprocs) {
        char bytes[MAXP] = {0};
        if (write(go[1], bytes, n) == (ssize_t)n)
            rc = 0;
    }
    close(go[1]);
    for (unsigned i = 0; i < n; i++) {
        proc_report rep;

        if (rc == 0 && (wait_readable(report[i], (int)(window_ns / 1e6) + WAIT_MS) != 0 ||
                        read(report[i], &rep, sizeof rep) != (ssize_t)sizeof rep || rep.failed))
            rc = -1;
        else if (rc == 0) {
            t[i].calls = rep.calls;
            t[i].elapsed_ns = rep.elapsed_ns;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        if (rc != 0)
            kill(pid[i], SIGKILL);
        while (waitpid(pid[i], NULL, 0) < 0 && errno == EINTR)
            ;
        close(report[i]);
    }
    if (rc != 0)
        fprintf(stderr, "bench_rpc: %s client processes failed\n", side->name);
    *rate = tp_rate(t, n);
    return rc;
}

/* The median calls per second of each side and configuration (0 where the
 * side cannot run it). */
static double tp_rates[NSIDES][NTP];

/* tp_runs says whether side s runs configuration cfg. raw+poll does not:
 * its reads poll for a fixed time, which with more threads than cores only
 * takes the CPU from the thread that would answer (Parley's polling backs
 * off, and only one server thread polls at a time). */
static int tp_runs(const rb_side *s, const tp_config *cfg)
{
    return !(cfg->shared && !s->shared) && has_transport(s, RB_TCP) && s != &rb_side_rawpoll &&
           (cfg->inflight == 0 || s->pipeline != NULL);
}

/* measure_throughput runs every configuration tp_reps times, the
 * configurations and sides taking turns, and keeps the median. */
static int measure_throughput(const options *o, rb_server srv[][RB_NTRANSPORTS])
{
    double v[NSIDES][NTP][16];
    unsigned reps = o->tp_reps < 16 ? o->tp_reps : 16;

    for (unsigned r = 0; r < reps; r++)
        for (int c = 0; c < NTP; c++)
            for (int s = 0; s < NSIDES; s++) {
                const tp_config *cfg = &tp_configs[c];
                int rc;

                if (!tp_runs(sides[s], cfg))
                    continue;
                if (cfg->nprocs)
                    rc = run_procs(sides[s], &srv[s][RB_TCP], cfg, o->window_ms * 1e6, &v[s][c][r]);
                else
                    rc = run_threads(sides[s], &srv[s][RB_TCP], cfg, o->window_ms * 1e6,
                                     &v[s][c][r]);
                if (rc != 0)
                    return -1;
            }
    for (int s = 0; s < NSIDES; s++)
        for (int c = 0; c < NTP; c++) {
            if (!tp_runs(sides[s], &tp_configs[c]))
                continue;
            qsort(v[s][c], reps, sizeof v[s][c][0], bench_cmp_double);
            tp_rates[s][c] =
                reps & 1 ? v[s][c][reps / 2] : (v[s][c][reps / 2 - 1] + v[s][c][reps / 2]) / 2;
        }
    return 0;
}

/* ---- memory per idle connection ------------------------------------------ */

/* vm_rss_kib reads VmRSS of pid in KiB, or -1. */
static long vm_rss_kib(pid_t pid)
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

/* count_fds counts the open descriptors of pid, or -1. */
static long count_fds(pid_t pid)
{
    char path[64];
    struct dirent *e;
    long n = 0;
    DIR *d;

    snprintf(path, sizeof path, "/proc/%ld/fd", (long)pid);
    if ((d = opendir(path)) == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* wait_fds waits (up to WAIT_MS) until pid has at least want descriptors. */
static int wait_fds(pid_t pid, long want)
{
    for (int i = 0; i < WAIT_MS / 10; i++) {
        long n = count_fds(pid);
        if (n < 0)
            return -1;
        if (n >= want)
            return 0;
        sleep_ms(10);
    }
    return -1;
}

typedef struct mem_figure {
    unsigned conns;
    long rss_before, rss_after;
    double kib_per_conn;
} mem_figure;

static mem_figure mem[NSIDES];

/* measure_memory_of starts a fresh TCP server of side, makes one call so
 * that whatever a server allocates once is allocated, then opens conns
 * connections that make no call, waits until the server has accepted them
 * all, and reads its VmRSS. */
static int measure_memory_of(int s, unsigned conns, mem_figure *m)
{
    const rb_side *side = sides[s];
    rb_server srv;
    int *fds = malloc(conns * sizeof *fds);
    unsigned n = 0;
    long base;
    char err[256];
    void *c;
    int rc = -1;

    if (fds == NULL)
        return -1;
    if (rb_server_start(side, RB_TCP, NULL, &srv, err, sizeof err) != 0) {
        fprintf(stderr, "bench_rpc: %s server: %s\n", side->name, err);
        free(fds);
        return -1;
    }
    if ((c = side->connect(&srv, err, sizeof err)) == NULL ||
        side->call(c, RB_NULL, err, sizeof err) != 0) {
        fprintf(stderr, "bench_rpc: %s: %s\n", side->name, err);
        if (c != NULL)
            side->disconnect(c);
        goto out;
    }
    side->disconnect(c);
    sleep_ms(50);
    base = count_fds(srv.pid);
    m->rss_before = vm_rss_kib(srv.pid);
    for (; n < conns; n++) {
        fds[n] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[n] < 0 || connect(fds[n], (struct sockaddr *)&srv.addr, srv.addrlen) != 0) {
            fprintf(stderr, "bench_rpc: idle connection %u: %s\n", n + 1, strerror(errno));
            if (fds[n] >= 0)
                close(fds[n]);
            goto out;
        }
    }
    if (base < 0 || wait_fds(srv.pid, base + (long)conns) != 0) {
        fprintf(stderr, "bench_rpc: %s server did not accept %u connections\n", side->name, conns);
        goto out;
    }
    sleep_ms(100);
    m->rss_after = vm_rss_kib(srv.pid);
    m->conns = conns;
    if (m->rss_before < 0 || m->rss_after < 0)
        goto out;
    m->kib_per_conn = (double)(m->rss_after - m->rss_before) / conns;
    rc = 0;
out:
    for (unsigned i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    rb_server_stop(&srv);
    return rc;
}

/* ---- report ------------------------------------------------------------- */

static void print_row(const char *transport, const char *workload, const char *clients,
                      const char *side, double med_ns, double p99_ns, double calls_per_s,
                      double vs_raw, double vs_tirpc)
{
    printf("%-5s %-6s %-19s %-9s", transport, workload, clients, side);
    if (med_ns > 0)
        printf(" %9.2f %9.2f", med_ns / 1e3, p99_ns / 1e3);
    else
        printf(" %9s %9s", "-", "-");
    printf(" %10.0f", calls_per_s);
    if (vs_raw > 0)
        printf(" %7.2fx", vs_raw);
    else
        printf(" %8s", "");
    if (vs_tirpc > 0)
        printf(" %10.2fx", vs_tirpc);
    printf("\n");
}

static void print_table(void)
{
    printf("%-5s %-6s %-19s %-9s %9s %9s %10s %8s %11s\n", "net", "call", "clients", "side",
           "median us", "p99 us", "calls/s", "vs raw", "vs libtirpc");
    for (int t = 0; t < RB_NTRANSPORTS; t++)
        for (int w = 0; w < RB_NWORKLOADS; w++)
            for (int s = 0; s < NSIDES; s++) {
                const lat_ctx *c = &lat[t][w][s], *raw = &lat[t][w][SIDE_RAW];
                const lat_ctx *tirpc = &lat[t][w][SIDE_TIRPC];
                int first = s == 0 || lat[t][w][0].side == NULL;

                if (c->side == NULL)
                    continue;
                print_row(first && w == 0 ? transport_names[t] : "", first ? workload_names[w] : "",
                          first ? "1, round trip" : "", c->side->name, c->median, c->p99,
                          c->calls_per_s, s != SIDE_RAW && raw->side ? paired_ratio(c, raw) : 0,
                          s > SIDE_TIRPC && tirpc->side ? paired_ratio(c, tirpc) : 0);
            }
    for (int k = 0; k < NTP; k++) {
        int first = 1;

        for (int s = 0; s < NSIDES; s++) {
            double r = tp_rates[s][k], raw = tp_rates[SIDE_RAW][k];
            double tirpc = tp_rates[SIDE_TIRPC][k];

            if (r <= 0)
                continue;
            print_row(k == 0 && first ? "tcp" : "", k == 0 && first ? "NULL" : "",
                      first ? tp_configs[k].label : "", sides[s]->name, 0, 0, r,
                      s != SIDE_RAW && raw > 0 ? raw / r : 0,
                      s > SIDE_TIRPC && tirpc > 0 ? tirpc / r : 0);
            first = 0;
        }
    }
    printf("\n");
    for (int s = 0; s < NSIDES; s++)
        if (mem[s].conns > 0)
            printf("server memory, %s: %.1f KiB per idle TCP connection (VmRSS %ld KiB, "
                   "then %ld KiB with %u connections)\n",
                   sides[s]->name, mem[s].kib_per_conn, mem[s].rss_before, mem[s].rss_after,
                   mem[s].conns);
    printf("\n"
           "median, p99: of single calls, one client making one call at a time. calls/s: of\n"
           "those calls, or of NULL calls by all clients together (median of the runs).\n"
           "vs raw: the side's time over the raw ping-pong's (for round trips, the median\n"
           "over the repetitions of the ratio of their medians; >1: slower than raw).\n"
           "vs libtirpc: the same against libtirpc, for Parley's rows.\n\n");
}

/* best_tirpc_rate is libtirpc's highest calls per second of any
 * configuration, and which. */
static double best_tirpc_rate(const char **which)
{
    double best = 0;

    for (int k = 0; k < NTP; k++)
        if (tp_rates[SIDE_TIRPC][k] > best) {
            best = tp_rates[SIDE_TIRPC][k];
            *which = tp_configs[k].label;
        }
    return best;
}

/* verdict is what a target's line ends with. */
static const char *verdict(int met)
{
    return met ? "met" : "MISSED";
}

/* print_targets judges Parley's runtime on its four targets, each line
 * with the figures it was judged on. */
static void print_targets(void)
{
    const char *which = "none";
    double best = best_tirpc_rate(&which);
    int all = 1, any = 0, k8 = -1;

    for (int t = 0; t < RB_NTRANSPORTS; t++)
        if (lat[t][RB_NULL][SIDE_PARLEY].side && lat[t][RB_NULL][SIDE_RAW].side) {
            double r = paired_ratio(&lat[t][RB_NULL][SIDE_PARLEY], &lat[t][RB_NULL][SIDE_RAW]);
            all &= r > 0 && r <= 1.1;
            any = 1;
        }
    printf("target NULL median <= 1.1x raw, every transport: %s\n", verdict(any && all));
    for (int t = 0; t < RB_NTRANSPORTS; t++)
        if (lat[t][RB_NULL][SIDE_PARLEY].side && lat[t][RB_NULL][SIDE_RAW].side)
            printf("       %-4s: parley %.2f us, %.2fx raw (%.2f us); libtirpc %.2fx raw\n",
                   transport_names[t], lat[t][RB_NULL][SIDE_PARLEY].median / 1e3,
                   paired_ratio(&lat[t][RB_NULL][SIDE_PARLEY], &lat[t][RB_NULL][SIDE_RAW]),
                   lat[t][RB_NULL][SIDE_RAW].median / 1e3,
                   paired_ratio(&lat[t][RB_NULL][SIDE_TIRPC], &lat[t][RB_NULL][SIDE_RAW]));
    printf("       (raw blocks in its reads; against raw+poll, which polls as Parley does:");
    for (int t = 0; t < RB_NTRANSPORTS; t++)
        if (lat[t][RB_NULL][SIDE_PARLEY].side && lat[t][RB_NULL][SIDE_RAWPOLL].side)
            printf(" %s %.2fx", transport_names[t],
                   paired_ratio(&lat[t][RB_NULL][SIDE_PARLEY], &lat[t][RB_NULL][SIDE_RAWPOLL]));
    printf(";\n        parley-sleep, without polling, against raw:");
    for (int t = 0; t < RB_NTRANSPORTS; t++)
        if (lat[t][RB_NULL][SIDE_PSLEEP].side && lat[t][RB_NULL][SIDE_RAW].side)
            printf(" %s %.2fx", transport_names[t],
                   paired_ratio(&lat[t][RB_NULL][SIDE_PSLEEP], &lat[t][RB_NULL][SIDE_RAW]));
    printf(")\n");

    all = 1;
    any = 0;
    for (int t = 0; t < RB_NTRANSPORTS; t++)
        if (lat[t][RB_USERS][SIDE_PARLEY].side && lat[t][RB_USERS][SIDE_TIRPC].side) {
            double r = paired_ratio(&lat[t][RB_USERS][SIDE_PARLEY], &lat[t][RB_USERS][SIDE_TIRPC]);
            all &= r > 0 && r <= 0.7;
            any = 1;
        }
    printf("target users call <= 0.7x libtirpc's, every transport: %s\n", verdict(any && all));
    for (int t = 0; t < RB_NTRANSPORTS; t++)
        if (lat[t][RB_USERS][SIDE_PARLEY].side && lat[t][RB_USERS][SIDE_TIRPC].side)
            printf("       %-4s: parley %.2f us, %.2fx libtirpc's %.2f us\n", transport_names[t],
                   lat[t][RB_USERS][SIDE_PARLEY].median / 1e3,
                   paired_ratio(&lat[t][RB_USERS][SIDE_PARLEY], &lat[t][RB_USERS][SIDE_TIRPC]),
                   lat[t][RB_USERS][SIDE_TIRPC].median / 1e3);

    for (int k = 0; k < NTP; k++)
        if (tp_configs[k].shared && tp_configs[k].nthreads == MAX_THREADS)
            k8 = k;
    if (k8 >= 0 && best > 0) {
        double r = tp_rates[SIDE_PARLEY][k8];
        printf("target calls/s, 8 threads over one connection >= 4x libtirpc's best: %s\n"
               "       parley %.0f calls/s, %.2fx libtirpc's best %.0f (%s; 4x: %.0f)\n",
               verdict(r >= 4 * best), r, r / best, best, which, 4 * best);
    } else {
        printf("target calls/s, 8 threads over one connection >= 4x libtirpc's best: MISSED\n"
               "       (not measured)\n");
    }
    for (int k = 0; k < NTP && best > 0; k++)
        if (tp_configs[k].inflight && tp_rates[SIDE_PARLEY][k] > 0)
            printf("       (one connection, one thread, %u asynchronous calls out: parley %.0f "
                   "calls/s, %.2fx)\n",
                   tp_configs[k].inflight, tp_rates[SIDE_PARLEY][k],
                   tp_rates[SIDE_PARLEY][k] / best);

    if (mem[SIDE_PARLEY].conns > 0)
        printf("target server memory < 16 KiB per idle connection: %s\n"
               "       parley %.1f KiB; libtirpc %.1f KiB\n",
               verdict(mem[SIDE_PARLEY].kib_per_conn < 16), mem[SIDE_PARLEY].kib_per_conn,
               mem[SIDE_TIRPC].kib_per_conn);
    else
        printf("target server memory < 16 KiB per idle connection: MISSED\n"
               "       (not measured: no descriptors for the connections)\n");
}

/* ---- main --------------------------------------------------------------- */

/* The --log sink: it counts, so that what is measured is the library's
 * side of logging (the level let through, the record made), not a write. */
static _Atomic unsigned long log_events;

static void count_event(void *ctx, const parley_log_record *rec)
{
    (void)ctx;
    (void)rec;
    atomic_fetch_add_explicit(&log_events, 1, memory_order_relaxed);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_rpc [--quick] [--reps N] [--batch-ms M] [--window-ms W] [--conns C]\n"
            "  --quick        a short run (a smoke test; rough figures)\n"
            "  --reps N       repetitions of the round trips (default %d)\n"
            "  --batch-ms M   length of one batch of round trips in ms (default %.0f)\n"
            "  --window-ms W  length of one calls-per-second run in ms (default %.0f)\n"
            "  --conns C      idle connections for the memory figure (default %d)\n"
            "  --log LEVEL    measure with the library's logging on at LEVEL (error, warning,\n"
            "                 info, debug), into a sink that counts the events (default: off)\n"
            "  --trace SIDE NET CALL N  no measurement: N calls of CALL (NULL, users) over\n"
            "                 NET (tcp, udp, unix) to SIDE's server (raw, libtirpc, parley),\n"
            "                 to be counted by a system call tracer\n",
            DEFAULT_REPS, DEFAULT_BATCH_MS, DEFAULT_WINDOW_MS, DEFAULT_CONNS);
}

/* parse_number reads a positive number no larger than max from s. */
static int parse_number(const char *s, double max, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || *end != '\0' || !(v > 0) || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    int reps_set = 0, batch_set = 0, window_set = 0, conns_set = 0;
    double v;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;

        if (strcmp(a, "--quick") == 0) {
            o->quick = 1;
        } else if (strcmp(a, "--reps") == 0 && more && parse_number(argv[i + 1], 4096, &v) == 0 &&
                   v == (unsigned)v) {
            o->reps = (unsigned)v;
            reps_set = 1;
            i++;
        } else if (strcmp(a, "--batch-ms") == 0 && more &&
                   parse_number(argv[i + 1], 10000, &v) == 0) {
            o->batch_ms = v;
            batch_set = 1;
            i++;
        } else if (strcmp(a, "--window-ms") == 0 && more &&
                   parse_number(argv[i + 1], 60000, &v) == 0) {
            o->window_ms = v;
            window_set = 1;
            i++;
        } else if (strcmp(a, "--conns") == 0 && more &&
                   parse_number(argv[i + 1], 100000, &v) == 0 && v == (unsigned)v) {
            o->conns = (unsigned)v;
            conns_set = 1;
            i++;
        } else if (strcmp(a, "--trace") == 0 && i + 4 < argc &&
                   parse_number(argv[i + 4], 1e8, &v) == 0 && v == (unsigned)v) {
            o->trace[0] = argv[i + 1];
            o->trace[1] = argv[i + 2];
            o->trace[2] = argv[i + 3];
            o->trace_calls = (unsigned)v;
            i += 4;
        } else if (strcmp(a, "--log") == 0 && more &&
                   parley_log_level_parse(argv[i + 1], &o->log_level) == PARLEY_OK) {
            i++;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (o->quick) {
        o->reps = reps_set ? o->reps : QUICK_REPS;
        o->batch_ms = batch_set ? o->batch_ms : QUICK_BATCH_MS;
        o->window_ms = window_set ? o->window_ms : QUICK_WINDOW_MS;
        o->conns = conns_set ? o->conns : QUICK_CONNS;
        o->tp_reps = QUICK_TP_REPS;
    }
    return 0;
}

/* raise_fd_limit lifts the soft limit on descriptors to the hard one, and
 * returns how many idle connections fit under it (the parent and the
 * server each hold one descriptor per connection, plus a margin). */
static unsigned raise_fd_limit(unsigned want)
{
    struct rlimit rl;
    rlim_t room;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    room = rl.rlim_cur > 128 ? rl.rlim_cur - 128 : 0;
    return room < want ? (unsigned)room : want;
}

/* find_name returns the index of name among n names, or -1. */
static int find_name(const char *name, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

/* run_trace starts the server of the side named in o->trace, makes the
 * calls with one client and stops the server; 0 or 1. */
static int run_trace(const options *o, const char *dir)
{
    const char *side_names[NSIDES];
    int s, t, w, rc = 1;
    char path[300], err[256];
    rb_server srv;
    void *c;

    for (int i = 0; i < NSIDES; i++)
        side_names[i] = sides[i]->name;
    s = find_name(o->trace[0], side_names, NSIDES);
    t = find_name(o->trace[1], transport_names, RB_NTRANSPORTS);
    w = find_name(o->trace[2], workload_names, RB_NWORKLOADS);
    if (s < 0 || t < 0 || w < 0 || !has_transport(sides[s], t)) {
        fprintf(stderr, "bench_rpc: --trace: no such side, transport or call\n");
        return 2;
    }
    snprintf(path, sizeof path, "%s/%s.sock", dir, sides[s]->name);
    if (rb_server_start(sides[s], t, path, &srv, err, sizeof err) != 0) {
        fprintf(stderr, "bench_rpc: %s server: %s\n", sides[s]->name, err);
        return 1;
    }
    if ((c = sides[s]->connect(&srv, err, sizeof err)) == NULL) {
        fprintf(stderr, "bench_rpc: %s client: %s\n", sides[s]->name, err);
        goto out;
    }
    for (unsigned i = 0; i < o->trace_calls; i++)
        if (sides[s]->call(c, w, err, sizeof err) != 0) {
            fprintf(stderr, "bench_rpc: %s call %u failed: %s\n", sides[s]->name, i + 1, err);
            sides[s]->disconnect(c);
            goto out;
        }
    sides[s]->disconnect(c);
    printf("bench_rpc: %u %s calls over %s to %s's server (server pid %ld)\n", o->trace_calls,
           workload_names[w], transport_names[t], sides[s]->name, (long)srv.pid);
    rc = 0;
out:
    rb_server_stop(&srv);
    return rc;
}

int main(int argc, char **argv)
{
    options o = {.reps = DEFAULT_REPS,
                 .batch_ms = DEFAULT_BATCH_MS,
                 .window_ms = DEFAULT_WINDOW_MS,
                 .tp_reps = DEFAULT_TP_REPS,
                 .conns = DEFAULT_CONNS};
    rb_server srv[NSIDES][RB_NTRANSPORTS];
    char dir[256], path[300], err[256];
    const char *tmp = getenv("TMPDIR");
    uint8_t wire[RB_MAX_MESSAGE];
    size_t wire_len;
    unsigned conns;
    int status = 1, rc;

    if ((rc = parse_args(argc, argv, &o)) != 0)
        return rc == 1 ? 0 : rc;
    if (o.log_level != PARLEY_LOG_OFF) {
        /* set before the servers start: their processes inherit it */
        parley_set_log(count_event, NULL, o.log_level);
        printf("logging on at %s (a sink that counts the events)\n",
               parley_log_level_name(o.log_level));
    }
    memset(srv, 0, sizeof srv);
    signal(SIGPIPE, SIG_IGN);
    rb_make_input();
    wire_len = rb_encode_users(wire, sizeof wire);
    if (wire_len == 0 || rb_tirpc_check_users(wire, wire_len) != 0) {
        fprintf(stderr, "bench_rpc: the raw side's users reply is not what rpcgen decodes\n");
        return 1;
    }
    conns = raise_fd_limit(o.conns);

    snprintf(dir, sizeof dir, "%s/bench_rpc.XXXXXX",
             tmp && *tmp && strlen(tmp) < 64 ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "bench_rpc: cannot make a folder for the Unix sockets: %s\n",
                strerror(errno));
        return 1;
    }
    if (o.trace_calls > 0) {
        status = run_trace(&o, dir);
        goto out;
    }
    for (int s = 0; s < NSIDES; s++)
        for (int t = 0; t < RB_NTRANSPORTS; t++) {
            if (!has_transport(sides[s], t))
                continue;
            snprintf(path, sizeof path, "%s/%s.sock", dir, sides[s]->name);
            if (rb_server_start(sides[s], t, path, &srv[s][t], err, sizeof err) != 0) {
                fprintf(stderr, "bench_rpc: %s %s server: %s\n", sides[s]->name, transport_names[t],
                        err);
                goto out;
            }
        }

    printf("bench_rpc: loopback, servers in child processes; round trips: %u repetitions of "
           "~%.0f ms batches,\nsides taking turns; calls/s: %u runs of %.0f ms; memory: %u idle "
           "connections%s\n\n",
           o.reps, o.batch_ms, o.tp_reps, o.window_ms, conns,
           o.quick ? " (--quick: rough figures)" : "");
    fflush(stdout);
    if (measure_round_trips(&o, srv) != 0)
        goto out;
    for (int s = 0; s < NSIDES; s++)
        for (int t = 0; t < RB_NTRANSPORTS; t++)
            for (int w = 0; w < RB_NWORKLOADS; w++)
                if (lat[t][w][s].client != NULL) {
                    sides[s]->disconnect(lat[t][w][s].client);
                    lat[t][w][s].client = NULL;
                }
    if (measure_throughput(&o, srv) != 0)
        goto out;
    for (int s = 0; s < NSIDES; s++)
        if (measure_memory[s] && conns > 0 && measure_memory_of(s, conns, &mem[s]) != 0)
            goto out;
    print_table();
    print_targets();
    if (o.log_level != PARLEY_LOG_OFF)
        printf("log events seen by this process's sink (the clients' side): %lu\n",
               atomic_load(&log_events));
    status = 0;
out:
    free_lat();
    for (int s = 0; s < NSIDES; s++)
        for (int t = 0; t < RB_NTRANSPORTS; t++)
            rb_server_stop(&srv[s][t]);
    if (rmdir(dir) != 0)
        fprintf(stderr, "bench_rpc: cannot remove %s: %s\n", dir, strerror(errno));
    return status;
}
