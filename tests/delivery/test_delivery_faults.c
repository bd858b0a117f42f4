/*
 * tests/delivery/test_delivery_faults.c: the delivery guarantees under
 * faults, with real processes. counter_server (counter.x) is called by
 * Parley's generated stubs through the fault proxy (tests/fault), which
 * drops, duplicates, delays and reorders UDP datagrams and breaks TCP
 * connections after a call went through; the server is killed with SIGKILL
 * and started again on the same address and store; an rpcgen client sees
 * what the duplicate request cache does for a plain caller; and raw
 * messages forge identities, sequence numbers and acknowledgements, and
 * flood the server with new identities. The server appends a line per run
 * of an ADD to its runs file before it returns, so the file says how often
 * each call ran, whatever the client was told.
 *
 *   test_delivery_faults COUNTER_SERVER [COUNTER_RCLIENT]
 *
 * Seeded: the seed is printed, and PARLEY_FAULT_SEED=N replays it (the
 * proxy's choices per flow and the kill schedule; thread timing is the
 * system's). Each case prints a line of counts. Only what the guarantees
 * promise is asserted; the rest (the at-most-once calls that ended in
 * doubt, the idempotent calls that ran twice, the duplicate request cache's
 * misses) is counted and printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "counter.h"
#include "proc.h"
#include "proxy.h"
#include "raw.h"
#include "wire/seq.h"

enum {
    MAX_WORKERS = 3,
    MAX_PROXIES = 3,
    MAX_ARGS = 24,
    CALL_TIMEOUT_MS = 10000,
};

static const char *server_path, *rclient_path;
static uint64_t seed;
static char tmpdir[64];

/* ---- randomness: splitmix64, seeded per case from the run's seed ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- the server process ---- */

/* A counter_server: its command line (kept for a restart on the addresses
 * it bound first) and its process. */
typedef struct server {
    integ_proc proc;
    char runs[128], store[128];
    char listen[2][INTEG_ADDR_LEN];
    size_t nlisten;
    char extra[4][32];
    size_t nextra;
    pid_t killed[16]; /* the pids ended by SIGKILL, for the runs file */
    size_t nkilled;
} server;

static server servers[1];

static int exec_server(int wfd, void *ctx)
{
    server *s = ctx;
    char path[256], o_listen[] = "--listen", o_runs[] = "--runs", o_store[] = "--store",
                    o_dur[] = "--durability", process[] = "process";
    char *argv[MAX_ARGS];
    size_t n = 0;
    snprintf(path, sizeof path, "%s", server_path);
    argv[n++] = path;
    for (size_t i = 0; i < s->nlisten; i++) {
        argv[n++] = o_listen;
        argv[n++] = s->listen[i];
    }
    argv[n++] = o_runs;
    argv[n++] = s->runs;
    if (s->store[0]) {
        argv[n++] = o_store;
        argv[n++] = s->store;
        argv[n++] = o_dur;
        argv[n++] = process;
    }
    for (size_t i = 0; i < s->nextra; i++)
        argv[n++] = s->extra[i];
    argv[n] = NULL;
    if (dup2(wfd, 1) < 0)
        return 127;
    close(wfd);
    execv(path, argv);
    return 127;
}

/* server_start starts counter_server for case name, listening on the
 * addresses given (port 0), with a store when store is set, and the extra
 * arguments (NULL-terminated). Its runs and store files are new. */
static server *server_start(const char *name, const char *const *listen, size_t nlisten, int store,
                            const char *const *extra)
{
    server *s = &servers[0];
    assert_int_equal(s->proc.pid, 0);
    memset(s, 0, sizeof *s);
    snprintf(s->runs, sizeof s->runs, "%s/%s.runs", tmpdir, name);
    unlink(s->runs);
    if (store) {
        snprintf(s->store, sizeof s->store, "%s/%s.store", tmpdir, name);
        unlink(s->store);
    }
    for (size_t i = 0; i < nlisten; i++)
        snprintf(s->listen[i], sizeof s->listen[i], "%s", listen[i]);
    s->nlisten = nlisten;
    for (size_t i = 0; extra && extra[i]; i++)
        snprintf(s->extra[s->nextra++], sizeof s->extra[0], "%s", extra[i]);
    assert_int_equal(integ_proc_start(&s->proc, exec_server, s), 0);
    assert_int_equal(s->proc.naddrs, nlisten);
    /* from now on the same addresses, for restarts */
    for (size_t i = 0; i < nlisten; i++)
        memcpy(s->listen[i], s->proc.addrs[i], sizeof s->listen[i]);
    return s;
}

/* server_kill ends s with SIGKILL (and reaps it), remembering its pid. */
static void server_kill(server *s)
{
    if (s->nkilled < sizeof s->killed / sizeof s->killed[0])
        s->killed[s->nkilled++] = s->proc.pid;
    integ_proc_kill(&s->proc);
}

/* server_restart starts s again on the addresses it bound, with the same
 * runs and store files. 0, or -1 when it would not start. */
static int server_restart(server *s)
{
    integ_proc p;
    if (integ_proc_start(&p, exec_server, s) != 0)
        return -1;
    s->proc = p;
    return 0;
}

/* ---- the runs file ---- */

typedef struct run {
    char sem[8];
    uint64_t id;
    long pid;
} run;

typedef struct runs {
    run *v;
    size_t n;
} runs;

/* runs_load reads the runs file of s. */
static runs runs_load(const server *s)
{
    runs r = {NULL, 0};
    FILE *f = fopen(s->runs, "r");
    if (!f)
        return r; /* nothing ran */
    size_t cap = 0;
    char line[128];
    while (fgets(line, sizeof line, f)) {
        run x;
        unsigned long long id;
        memset(&x, 0, sizeof x);
        assert_int_equal(sscanf(line, "%7s %llu %ld", x.sem, &id, &x.pid), 3);
        x.id = id;
        if (r.n == cap) {
            cap = cap ? cap * 2 : 1024;
            r.v = realloc(r.v, cap * sizeof *r.v);
            assert_non_null(r.v);
        }
        r.v[r.n++] = x;
    }
    fclose(f);
    return r;
}

/* runs_tally counts the runs of sem for ids first .. first + n - 1 into
 * count[n] (calloc'd); *others is the number of lines of sem outside. */
static unsigned *runs_tally(const runs *r, const char *sem, uint64_t first, size_t n,
                            size_t *others)
{
    unsigned *count = calloc(n ? n : 1, sizeof *count);
    assert_non_null(count);
    *others = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->v[i].sem, sem) != 0)
            continue;
        if (r->v[i].id >= first && r->v[i].id - first < n)
            count[r->v[i].id - first]++;
        else
            (*others)++;
    }
    return count;
}

/* runs_of counts the runs of (sem, id). */
static unsigned runs_of(const runs *r, const char *sem, uint64_t id)
{
    unsigned k = 0;
    for (size_t i = 0; i < r->n; i++)
        k += r->v[i].id == id && !strcmp(r->v[i].sem, sem);
    return k;
}

/* ---- the calling threads ---- */

/* A thread making ADD calls of one guarantee through one handle, one after
 * the other, ids first_id + i. It records each call's error and result; it
 * asserts nothing (cmocka asserts only in the test's thread). */
typedef struct worker {
    char addr[INTEG_ADDR_LEN];
    parley_semantics sem;
    uint64_t first_id;
    unsigned n_min, n_max; /* at least n_min calls; more while keep_going, up to n_max */
    unsigned retransmit_ms;
    unsigned timeout_ms; /* each call's deadline */
    int create_rc;
    int *rc;
    uint64_t *res;
    atomic_uint done;
    pthread_t th;
    int running;
    int submitted; /* submit_work's: results in the order the calls ran */
} worker;

static worker workers[MAX_WORKERS];
static parley_client *reader; /* the flood case's reader of the counters */
static pf_proxy *proxies[MAX_PROXIES];
static atomic_int keep_going, abort_all;

static const char *sem_name(parley_semantics sem)
{
    return sem == PARLEY_EXACTLY_ONCE ? "eo" : sem == PARLEY_AT_MOST_ONCE ? "amo" : "idem";
}

static parley_client *client_for(const char *addr, unsigned retransmit_ms, unsigned timeout_ms,
                                 int *rc)
{
    parley_client_opts o;
    memset(&o, 0, sizeof o);
    o.timeout_ms = timeout_ms ? timeout_ms : CALL_TIMEOUT_MS;
    o.retransmit_ms = retransmit_ms;
    parley_client *c = NULL;
    *rc = parley_client_create(&c, addr, COUNTER_PROG, COUNTER_VERS, &o);
    return *rc == PARLEY_OK ? c : NULL;
}

static void *work(void *arg)
{
    worker *w = arg;
    parley_client *c = client_for(w->addr, w->retransmit_ms, w->timeout_ms, &w->create_rc);
    if (!c)
        return NULL;
    for (unsigned i = 0; i < w->n_max && !atomic_load(&abort_all); i++) {
        if (i >= w->n_min && !atomic_load(&keep_going))
            break;
        add_args a = {w->first_id + i, 1};
        u_quad_t res = 0;
        int rc = w->sem == PARLEY_EXACTLY_ONCE   ? add_exactly_once_1(c, &a, &res)
                 : w->sem == PARLEY_AT_MOST_ONCE ? add_at_most_once_1(c, &a, &res)
                                                 : add_idempotent_1(c, &a, &res);
        w->rc[i] = rc;
        w->res[i] = res;
        atomic_store(&w->done, i + 1);
    }
    parley_client_destroy(c);
    return NULL;
}

static worker *worker_start(size_t k, const char *addr, parley_semantics sem, uint64_t first_id,
                            unsigned n_min, unsigned n_max, unsigned retransmit_ms,
                            unsigned timeout_ms)
{
    worker *w = &workers[k];
    assert_false(w->running);
    memset(w, 0, sizeof *w);
    snprintf(w->addr, sizeof w->addr, "%s", addr);
    w->sem = sem;
    w->first_id = first_id;
    w->n_min = n_min;
    w->n_max = n_max;
    w->retransmit_ms = retransmit_ms;
    w->timeout_ms = timeout_ms;
    w->rc = calloc(n_max, sizeof *w->rc);
    w->res = calloc(n_max, sizeof *w->res);
    assert_non_null(w->rc);
    assert_non_null(w->res);
    atomic_init(&w->done, 0);
    assert_int_equal(pthread_create(&w->th, NULL, work, w), 0);
    w->running = 1;
    return w;
}

static void worker_join(worker *w)
{
    if (w->running)
        pthread_join(w->th, NULL);
    w->running = 0;
}

static void worker_free(worker *w)
{
    free(w->rc);
    free(w->res);
    w->rc = NULL;
    w->res = NULL;
}

/* ---- checking a worker's calls against the runs ---- */

typedef struct tally {
    unsigned calls, ok, in_doubt, timedout, other;
    unsigned ran_twice;    /* ids that ran more than once */
    unsigned ran_never;    /* ids that never ran */
    unsigned doubt_ran;    /* in-doubt calls that had run */
    unsigned cut_by_kill;  /* exactly-once ids run again after a kill
                              between their run and their commit */
    unsigned bad_error;    /* failures that are not explicit */
    unsigned ok_not_run;   /* OK calls whose id never ran: a lie */
    unsigned wrong_result; /* exactly-once results not i + 1 */
    unsigned refused;      /* REFUSED or CONNECT: nothing was sent */
    unsigned refused_ran;  /* ... and yet the id ran: a lie */
    int first_other;       /* the first other error, and its call */
    unsigned first_other_at;
} tally;

/* killed_last: whether line j of r is the last line of a pid s killed. */
static int killed_last(const server *s, const runs *r, size_t j)
{
    int killed = 0;
    for (size_t k = 0; k < s->nkilled; k++)
        killed |= s->killed[k] == r->v[j].pid;
    if (!killed)
        return 0;
    for (size_t i = j + 1; i < r->n; i++)
        if (r->v[i].pid == r->v[j].pid)
            return 0;
    return 1;
}

/* first_run is the index of the first line of (sem, id) in r. */
static size_t first_run(const runs *r, const char *sem, uint64_t id)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].id == id && !strcmp(r->v[i].sem, sem))
            return i;
    return r->n;
}

static tally check_worker(const worker *w, const server *s, const runs *r)
{
    tally t;
    memset(&t, 0, sizeof t);
    t.calls = atomic_load(&w->done);
    size_t others = 0;
    const char *sem = sem_name(w->sem);
    unsigned *count = runs_tally(r, sem, w->first_id, t.calls, &others);
    for (unsigned i = 0; i < t.calls; i++) {
        int rc = w->rc[i];
        if (rc == PARLEY_OK)
            t.ok++;
        else if (rc == PARLEY_ERR_IN_DOUBT)
            t.in_doubt++;
        else if (rc == PARLEY_ERR_TIMEDOUT)
            t.timedout++;
        else if (rc == PARLEY_ERR_REFUSED || rc == PARLEY_ERR_CONNECT) {
            t.refused++;
            t.refused_ran += count[i] > 0;
        } else if (t.other++ == 0) {
            t.first_other = rc;
            t.first_other_at = i;
        }
        if (rc != PARLEY_OK && rc != PARLEY_ERR_IN_DOUBT && rc != PARLEY_ERR_TIMEDOUT &&
            rc != PARLEY_ERR_BUSY && rc != PARLEY_ERR_REFUSED && rc != PARLEY_ERR_CONNECT)
            t.bad_error++;
        if (count[i] == 0)
            t.ran_never++;
        if (rc == PARLEY_OK && count[i] == 0)
            t.ok_not_run++;
        if (rc == PARLEY_ERR_IN_DOUBT && count[i] > 0)
            t.doubt_ran++;
        if (count[i] == 2 && w->sem == PARLEY_EXACTLY_ONCE &&
            killed_last(s, r, first_run(r, sem, w->first_id + i)))
            t.cut_by_kill++;
        else if (count[i] > 1)
            t.ran_twice++;
        if (w->sem == PARLEY_EXACTLY_ONCE && rc == PARLEY_OK && !w->submitted && w->res[i] != i + 1)
            t.wrong_result++;
    }
    free(count);
    return t;
}

static void print_tally(const char *name, const worker *w, const tally *t)
{
    print_message("delivery: %-14s %-4s calls=%u ok=%u in_doubt=%u timedout=%u refused=%u other=%u "
                  "ran_twice=%u ran_never=%u in_doubt_ran=%u cut_by_kill=%u seed=%" PRIu64 "\n",
                  name, sem_name(w->sem), t->calls, t->ok, t->in_doubt, t->timedout, t->refused,
                  t->other, t->ran_twice, t->ran_never, t->doubt_ran, t->cut_by_kill, seed);
    if (t->other)
        print_message("delivery: %-14s %-4s first other error %s at call %u of %u\n", name,
                      sem_name(w->sem), parley_errname(t->first_other), t->first_other_at,
                      t->calls);
}

/* assert_guarantee asserts what w's guarantee promises of its calls. */
static void assert_guarantee(const worker *w, const tally *t)
{
    assert_int_equal(t->ok_not_run, 0);  /* an OK is never made up */
    assert_int_equal(t->refused_ran, 0); /* nor a refusal */
    switch (w->sem) {
    case PARLEY_EXACTLY_ONCE:
        assert_int_equal(t->ok, t->calls);
        assert_int_equal(t->ran_twice, 0);
        assert_int_equal(t->ran_never, 0);
        assert_int_equal(t->wrong_result, 0);
        break;
    case PARLEY_AT_MOST_ONCE:
        assert_int_equal(t->ran_twice, 0);
        assert_int_equal(t->bad_error, 0);
        break;
    case PARLEY_IDEMPOTENT:
        break;
    }
}

/* read_counts_with reads the server's counters through c. */
static void read_counts_with(parley_client *c, uint64_t *eo, counts *mem)
{
    u_quad_t v = 0;
    if (eo) {
        assert_int_equal(read_exactly_once_1(c, &v), PARLEY_OK);
        *eo = v;
    }
    if (mem)
        assert_int_equal(read_counts_1(c, mem), PARLEY_OK);
}

/* read_counts reads the server's counters through a handle of its own. */
static void read_counts(const char *addr, uint64_t *eo, counts *mem)
{
    int rc;
    parley_client *c = client_for(addr, 0, 0, &rc);
    assert_non_null(c);
    u_quad_t v = 0;
    if (eo) {
        assert_int_equal(read_exactly_once_1(c, &v), PARLEY_OK);
        *eo = v;
    }
    if (mem)
        assert_int_equal(read_counts_1(c, mem), PARLEY_OK);
    parley_client_destroy(c);
}

/* ---- setup and cleanup ---- */

static int group_setup(void **state)
{
    (void)state;
    const char *env = getenv("PARLEY_FAULT_SEED");
    if (env && *env) {
        seed = strtoull(env, NULL, 0);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed =
            ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 40);
    }
    print_message("delivery: seed %" PRIu64 " (replay: PARLEY_FAULT_SEED=%" PRIu64 ")\n", seed,
                  seed);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/parley-delivery-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* cleanup ends what a case started, also after a failed assertion: the
 * threads (asked to stop; each ends within a call's deadline), the
 * proxies, the server. */
static int cleanup(void **state)
{
    (void)state;
    atomic_store(&abort_all, 1);
    for (size_t i = 0; i < MAX_WORKERS; i++) {
        worker_join(&workers[i]);
        worker_free(&workers[i]);
    }
    atomic_store(&abort_all, 0);
    atomic_store(&keep_going, 0);
    parley_client_destroy(reader);
    reader = NULL;
    for (size_t i = 0; i < MAX_PROXIES; i++) {
        pf_stop(proxies[i]);
        proxies[i] = NULL;
    }
    for (size_t i = 0; i < sizeof servers / sizeof servers[0]; i++)
        integ_proc_kill(&servers[i].proc);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* stop_server ends the case's server with SIGTERM and expects exit 0. */
static void stop_server(server *s)
{
    assert_int_equal(integ_proc_stop(&s->proc), 0);
}

/* ---- the cases ---- */

static const parley_semantics all_sems[3] = {PARLEY_EXACTLY_ONCE, PARLEY_AT_MOST_ONCE,
                                             PARLEY_IDEMPOTENT};

/* finish_three joins the three workers of a proxy case, checks them
 * against the runs and the counters, and prints the counts. */
static void finish_three(const char *name, server *s)
{
    for (size_t k = 0; k < 3; k++)
        worker_join(&workers[k]);
    for (size_t k = 0; k < 3; k++)
        assert_int_equal(workers[k].create_rc, PARLEY_OK);
    uint64_t eo = 0;
    counts mem;
    memset(&mem, 0, sizeof mem);
    read_counts(s->proc.addrs[0], &eo, &mem);
    runs r = runs_load(s);
    tally t[3];
    for (size_t k = 0; k < 3; k++) {
        t[k] = check_worker(&workers[k], s, &r);
        print_tally(name, &workers[k], &t[k]);
    }
    size_t amo_runs = 0, idem_runs = 0;
    for (size_t i = 0; i < r.n; i++) {
        amo_runs += !strcmp(r.v[i].sem, "amo");
        idem_runs += !strcmp(r.v[i].sem, "idem");
    }
    print_message("delivery: %-14s counters eo=%" PRIu64 " amo=%" PRIu64 " (runs %zu) idem=%" PRIu64
                  " (runs %zu)\n",
                  name, eo, (uint64_t)mem.at_most_once, amo_runs, (uint64_t)mem.idempotent,
                  idem_runs);
    free(r.v);
    for (size_t k = 0; k < 3; k++)
        assert_guarantee(&workers[k], &t[k]);
    /* every run of each counter is in it, and nothing else */
    assert_int_equal(eo, t[0].calls);
    assert_int_equal(mem.at_most_once, amo_runs);
    assert_int_equal(mem.idempotent, idem_runs);
}

static void print_proxy(const char *name, pf_proxy *p, const char *sem)
{
    pf_stats st;
    pf_stats_get(p, &st);
    const pf_dir_stats *a = &st.dir[PF_TO_SERVER], *b = &st.dir[PF_TO_CLIENT];
    print_message("delivery: %-14s %-4s proxy seed=%" PRIu64 " to_server: datagrams=%" PRIu64
                  " dropped=%" PRIu64 " dup=%" PRIu64 " delayed=%" PRIu64 " reordered=%" PRIu64
                  " to_client: datagrams=%" PRIu64 " dropped=%" PRIu64 " dup=%" PRIu64
                  " records=%" PRIu64 " broken=%" PRIu64 "\n",
                  name, sem, pf_seed(p), a->datagrams, a->dropped, a->duplicated, a->delayed,
                  a->reordered, b->datagrams, b->dropped, b->duplicated, a->records,
                  st.connections_broken);
}

/* With 30% of the datagrams dropped each way a round trip fails about
 * half the time; retransmissions back off to one each 8 s, so a call's
 * deadline is 60 s (17 transmissions: all lost about once in 400,000
 * calls). Typical calls take milliseconds. */
enum { UDP_N = 100, TCP_N = 200, UDP_TIMEOUT_MS = 60000 };

/* Over UDP, each guarantee through a proxy of its own (one flow each, so
 * that a seed replays the proxy's choices) that drops, duplicates, delays
 * and reorders 30% of the datagrams both ways. */
static void test_udp_drop_dup_delay_reorder_keep_each_guarantee(void **state)
{
    (void)state;
    const char *listen[] = {"udp://127.0.0.1:0"};
    server *s = server_start("udp", listen, 1, 1, NULL);
    for (size_t k = 0; k < 3; k++) {
        pf_opts o;
        memset(&o, 0, sizeof o);
        o.seed = seed + 1 + k;
        o.drop_pct = 30;
        o.dup_pct = 30;
        o.delay_pct = 30;
        o.reorder_pct = 30;
        o.delay_max_ms = 30;
        o.reorder_wait_ms = 30;
        o.direction_mask = PF_DIR_BOTH;
        char bound[PF_ADDR_MAX];
        assert_int_equal(
            pf_start(&proxies[k], "udp://127.0.0.1:0", s->proc.addrs[0], &o, bound, sizeof bound),
            PARLEY_OK);
        worker_start(k, bound, all_sems[k], 1000000 * (k + 1), UDP_N, UDP_N, 10, UDP_TIMEOUT_MS);
    }
    for (size_t k = 0; k < 3; k++)
        worker_join(&workers[k]);
    for (size_t k = 0; k < 3; k++)
        print_proxy("udp", proxies[k], sem_name(all_sems[k]));
    finish_three("udp", s);
    /* the control: duplicated datagrams do run an idempotent call twice */
    tally ti;
    runs r = runs_load(s);
    ti = check_worker(&workers[2], s, &r);
    free(r.v);
    assert_true(ti.ran_twice > 0);
    stop_server(s);
}

/* Over TCP, a proxy that resets both connections once the server started
 * to answer a call (it read the call, and ran it), 30% of the calls, at
 * most 60 times per guarantee. */
static void test_tcp_broken_after_the_call_keeps_each_guarantee(void **state)
{
    (void)state;
    const char *listen[] = {"tcp://127.0.0.1:0"};
    server *s = server_start("tcp", listen, 1, 1, NULL);
    for (size_t k = 0; k < 3; k++) {
        pf_opts o;
        memset(&o, 0, sizeof o);
        o.seed = seed + 11 + k;
        o.break_after_call_pct = 30;
        o.break_max = 60;
        o.break_on_reply = 1;
        o.direction_mask = PF_DIR_BOTH;
        char bound[PF_ADDR_MAX];
        assert_int_equal(
            pf_start(&proxies[k], "tcp://127.0.0.1:0", s->proc.addrs[0], &o, bound, sizeof bound),
            PARLEY_OK);
        worker_start(k, bound, all_sems[k], 1000000 * (k + 1), TCP_N, TCP_N, 0, 0);
    }
    for (size_t k = 0; k < 3; k++)
        worker_join(&workers[k]);
    for (size_t k = 0; k < 3; k++)
        print_proxy("tcp", proxies[k], sem_name(all_sems[k]));
    finish_three("tcp", s);
    stop_server(s);
}

/* A submitted call's completion, for the case below. */
typedef struct submitted {
    int done, err;
    u_quad_t res;
} submitted;

static void on_submitted(void *ctx, int err)
{
    submitted *sb = ctx;
    sb->done = 1;
    sb->err = err;
}

/* Submitted (asynchronous) exactly-once and at-most-once calls through a
 * TCP proxy that resets every connection after the server read a call and
 * began its reply, up to a bound: each call is sent again on a new
 * connection, under its own number, and the server answers the copy from
 * its records. Every call ends OK, each id runs once. */
static void test_submitted_calls_ride_over_broken_connections(void **state)
{
    (void)state;
    const char *listen[] = {"tcp://127.0.0.1:0"};
    server *s = server_start("submit-tcp", listen, 1, 1, NULL);
    pf_opts o;
    memset(&o, 0, sizeof o);
    o.seed = seed + 71;
    o.break_on_reply = 1;
    o.direction_mask = PF_DIR_BOTH;
    char bound[PF_ADDR_MAX];
    pf_proxy *px = NULL;
    assert_int_equal(pf_start(&px, "tcp://127.0.0.1:0", s->proc.addrs[0], &o, bound, sizeof bound),
                     PARLEY_OK);
    int rc;
    parley_client *c = client_for(bound, 0, 0, &rc);
    assert_non_null(c);
    /* HELLO first, on a sound connection (it is retried synchronously,
     * and would take the breaks for itself) */
    add_args first = {6999999, 1};
    u_quad_t first_res = 0;
    assert_int_equal(add_at_most_once_1(c, &first, &first_res), PARLEY_OK);
    o.break_after_call_pct = 100;
    o.break_max = 5;
    assert_int_equal(pf_set(px, &o), PARLEY_OK);
    enum { N = 20 };
    unsigned ok = 0;
    for (uint64_t i = 0; i < N; i++) {
        submitted sb = {0, -1, 0};
        add_args a = {7000000 + i, 1};
        assert_int_equal(i % 2 ? add_at_most_once_1_submit(c, &a, &sb.res, on_submitted, &sb)
                               : add_exactly_once_1_submit(c, &a, &sb.res, on_submitted, &sb),
                         PARLEY_OK);
        for (int k = 0; k < 1000 && !sb.done; k++)
            assert_int_equal(parley_client_poll(c, 100, NULL), PARLEY_OK);
        assert_true(sb.done);
        ok += sb.err == PARLEY_OK;
    }
    pf_stats st;
    pf_stats_get(px, &st);
    parley_client_destroy(c);
    pf_stop(px);
    runs r = runs_load(s);
    unsigned twice = 0;
    for (uint64_t i = 0; i < N; i++) {
        unsigned n = 0;
        for (size_t k = 0; k < r.n; k++)
            n += r.v[k].id == 7000000 + i;
        twice += n > 1;
    }
    free(r.v);
    print_message("delivery: submit-tcp  calls=%u ok=%u ran_twice=%u broken=%" PRIu64
                  " seed=%" PRIu64 "\n",
                  (unsigned)N, ok, twice, (uint64_t)st.connections_broken, seed);
    assert_true(st.connections_broken > 0);
    assert_int_equal(ok, N);
    assert_int_equal(twice, 0);
    stop_server(s);
}

enum { KILLS = 5, KILL_MIN_CALLS = 50, KILL_MAX_CALLS = 200000 };

/* kill_case: one worker of sem calls s over transport addr while the
 * server is killed KILLS times at random moments and started again at
 * once on the same address (and store). */
static void kill_case(const char *name, parley_semantics sem, int store, const char *listen_addr,
                      uint64_t case_seed)
{
    const char *listen[] = {listen_addr};
    server *s = server_start(name, listen, 1, store, NULL);
    uint64_t rng = case_seed;
    atomic_store(&keep_going, 1);
    worker *w =
        worker_start(0, s->proc.addrs[0], sem, 5000000, KILL_MIN_CALLS, KILL_MAX_CALLS, 20, 0);
    unsigned restarts = 0;
    for (unsigned k = 0; k < KILLS && atomic_load(&w->done) < KILL_MAX_CALLS; k++) {
        sleep_ms(10 + (unsigned)(rng_next(&rng) % 150));
        server_kill(s);
        sleep_ms((unsigned)(rng_next(&rng) % 50));
        assert_int_equal(server_restart(s), 0);
        restarts++;
    }
    atomic_store(&keep_going, 0);
    worker_join(w);
    assert_int_equal(w->create_rc, PARLEY_OK);
    runs r = runs_load(s);
    tally t = check_worker(w, s, &r);
    print_tally(name, w, &t);
    print_message("delivery: %-14s kills=%zu restarts=%u\n", name, s->nkilled, restarts);
    if (sem == PARLEY_EXACTLY_ONCE) {
        uint64_t eo = 0;
        read_counts(s->proc.addrs[0], &eo, NULL);
        print_message("delivery: %-14s counter eo=%" PRIu64 " (calls %u)\n", name, eo, t.calls);
        assert_int_equal(eo, t.calls);
    }
    free(r.v);
    assert_guarantee(w, &t);
    assert_int_equal(s->nkilled, KILLS);
    stop_server(s);
}

static void test_sigkill_and_restart_exactly_once_with_a_store(void **state)
{
    (void)state;
    kill_case("kill-tcp", PARLEY_EXACTLY_ONCE, 1, "tcp://127.0.0.1:0", seed + 21);
}

static void test_sigkill_and_restart_exactly_once_over_udp(void **state)
{
    (void)state;
    kill_case("kill-udp", PARLEY_EXACTLY_ONCE, 1, "udp://127.0.0.1:0", seed + 22);
}

static void test_sigkill_and_restart_at_most_once_without_a_store(void **state)
{
    (void)state;
    kill_case("kill-tcp", PARLEY_AT_MOST_ONCE, 0, "tcp://127.0.0.1:0", seed + 23);
}

static void test_sigkill_and_restart_at_most_once_over_udp(void **state)
{
    (void)state;
    kill_case("kill-udp", PARLEY_AT_MOST_ONCE, 0, "udp://127.0.0.1:0", seed + 24);
}

/* ---- submitted calls over a restart ---- */

/* At most SUBMIT_WINDOW calls in flight, one submitted a millisecond at
 * most, so that the calls span the kills. */
enum {
    SUBMIT_WINDOW = 16,
    SUBMIT_MIN_CALLS = 100,
    SUBMIT_MAX_CALLS = 5000,
    SUBMIT_LIMIT_MS = 120000
};

/* A submitted call of submit_work: its worker and index. */
typedef struct slot {
    worker *w;
    unsigned i;
    unsigned *completed;
} slot;

static void on_slot(void *ctx, int err)
{
    slot *sl = ctx;
    sl->w->rc[sl->i] = err;
    (*sl->completed)++;
}

/* submit_work: a thread submitting w's ADD calls, SUBMIT_WINDOW at a time,
 * and polling for their completions through one handle, until every call
 * it submitted is complete (each within its deadline; the whole within
 * SUBMIT_LIMIT_MS, after which the handle's destruction cancels what is
 * left). w->done is the number of calls made, once all are complete. */
static void *submit_work(void *arg)
{
    worker *w = arg;
    parley_client *c = client_for(w->addr, w->retransmit_ms, w->timeout_ms, &w->create_rc);
    if (!c)
        return NULL;
    slot *slots = calloc(w->n_max, sizeof *slots);
    if (!slots) {
        w->create_rc = PARLEY_ERR_NOMEM;
        parley_client_destroy(c);
        return NULL;
    }
    unsigned made = 0, completed = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int more = made < w->n_max && !atomic_load(&abort_all) &&
                   (made < w->n_min || atomic_load(&keep_going));
        if (!more && completed == made)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        int64_t ms = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        while (more && made - completed < SUBMIT_WINDOW && (int64_t)made <= ms) {
            unsigned i = made++;
            slots[i] = (slot){w, i, &completed};
            add_args a = {w->first_id + i, 1};
            int rc = w->sem == PARLEY_EXACTLY_ONCE
                         ? add_exactly_once_1_submit(c, &a, &w->res[i], on_slot, &slots[i])
                         : add_at_most_once_1_submit(c, &a, &w->res[i], on_slot, &slots[i]);
            if (rc != PARLEY_OK) { /* not submitted: its error is the call's */
                w->rc[i] = rc;
                completed++;
            }
            more = made < w->n_max && (made < w->n_min || atomic_load(&keep_going));
        }
        if (parley_client_poll(c, 1, NULL) != PARLEY_OK || ms > SUBMIT_LIMIT_MS)
            break;
    }
    parley_client_destroy(c); /* completes what is left, cancelled */
    free(slots);
    atomic_store(&w->done, made);
    return NULL;
}

/* submit_kill_case: one thread submits ADD calls of sem to s over TCP, up
 * to SUBMIT_WINDOW in flight, while the server is killed KILLS times at
 * random (seeded) moments and started again on the same address (and
 * store) after a random pause, its connections refused meanwhile. */
static void submit_kill_case(const char *name, parley_semantics sem, int store,
                             const char *listen_addr, uint64_t case_seed)
{
    const char *listen[] = {listen_addr};
    server *s = server_start(name, listen, 1, store, NULL);
    uint64_t rng = case_seed;
    atomic_store(&keep_going, 1);
    worker *w = &workers[0];
    assert_false(w->running);
    memset(w, 0, sizeof *w);
    snprintf(w->addr, sizeof w->addr, "%s", s->proc.addrs[0]);
    w->sem = sem;
    w->first_id = 8000000;
    w->n_min = SUBMIT_MIN_CALLS;
    w->n_max = SUBMIT_MAX_CALLS;
    w->submitted = 1;
    w->retransmit_ms = 20;
    w->rc = calloc(w->n_max, sizeof *w->rc);
    w->res = calloc(w->n_max, sizeof *w->res);
    assert_non_null(w->rc);
    assert_non_null(w->res);
    for (unsigned i = 0; i < w->n_max; i++)
        w->rc[i] = -1;
    atomic_init(&w->done, 0);
    assert_int_equal(pthread_create(&w->th, NULL, submit_work, w), 0);
    w->running = 1;
    unsigned restarts = 0;
    for (unsigned k = 0; k < KILLS; k++) {
        sleep_ms(10 + (unsigned)(rng_next(&rng) % 150));
        server_kill(s);
        sleep_ms((unsigned)(rng_next(&rng) % 80));
        assert_int_equal(server_restart(s), 0);
        restarts++;
    }
    atomic_store(&keep_going, 0);
    worker_join(w);
    assert_int_equal(w->create_rc, PARLEY_OK);
    runs r = runs_load(s);
    tally t = check_worker(w, s, &r);
    print_tally(name, w, &t);
    print_message("delivery: %-14s kills=%zu restarts=%u\n", name, s->nkilled, restarts);
    free(r.v);
    assert_guarantee(w, &t);
    assert_int_equal(s->nkilled, KILLS);
    assert_true(t.calls >= SUBMIT_MIN_CALLS);
    if (sem == PARLEY_EXACTLY_ONCE) {
        /* every call its result: the counter's values 1 .. N, each once */
        uint64_t eo = 0;
        read_counts(s->proc.addrs[0], &eo, NULL);
        print_message("delivery: %-14s counter eo=%" PRIu64 " (calls %u)\n", name, eo, t.calls);
        assert_int_equal(eo, t.calls);
        unsigned char *seen = calloc(t.calls + 1, 1);
        assert_non_null(seen);
        unsigned bad = 0;
        for (unsigned i = 0; i < t.calls; i++) {
            uint64_t v = w->res[i];
            if (v < 1 || v > t.calls || seen[v]++)
                bad++;
        }
        free(seen);
        assert_int_equal(bad, 0);
    } else {
        /* each call its result or an explicit doubt */
        assert_int_equal(t.ok + t.in_doubt, t.calls);
    }
    worker_free(w);
    stop_server(s);
}

/* Submitted exactly-once calls against a server with a store, killed and
 * restarted: each waits for the server, goes out again under its number,
 * and gets its result; the counter ends at exactly the number of calls. */
static void test_submitted_exactly_once_calls_ride_over_restarts(void **state)
{
    (void)state;
    submit_kill_case("submit-kill", PARLEY_EXACTLY_ONCE, 1, "tcp://127.0.0.1:0", seed + 31);
    submit_kill_case("submit-kill-udp", PARLEY_EXACTLY_ONCE, 1, "udp://127.0.0.1:0", seed + 33);
}

/* Submitted at-most-once calls against a server without a store, killed
 * and restarted: none runs twice; each gets its result or PARLEY_ERR_IN_DOUBT
 * (one that never reached the old server goes out again under a new number
 * after one HELLO of the handle to the new one). */
static void test_submitted_at_most_once_calls_ride_over_restarts(void **state)
{
    (void)state;
    submit_kill_case("submit-kill", PARLEY_AT_MOST_ONCE, 0, "tcp://127.0.0.1:0", seed + 32);
    submit_kill_case("submit-kill-udp", PARLEY_AT_MOST_ONCE, 0, "udp://127.0.0.1:0", seed + 34);
}

/* ---- the rpcgen client ---- */

typedef struct rclient_out {
    unsigned calls, ok, err;
} rclient_out;

/* run_rclient runs counter_rclient ADDR PROC N FIRST and reads its last
 * line; -1 when it failed or took over 60 s. */
static int run_rclient(const char *addr, int proc, unsigned n, uint64_t first, rclient_out *out)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    char sproc[16], sn[16], sfirst[32];
    snprintf(sproc, sizeof sproc, "%d", proc);
    snprintf(sn, sizeof sn, "%u", n);
    snprintf(sfirst, sizeof sfirst, "%" PRIu64, first);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(rclient_path, rclient_path, addr, sproc, sn, sfirst, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[256], last[256] = "";
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int ok = f != NULL;
    while (ok && fgets(line, sizeof line, f)) {
        snprintf(last, sizeof last, "%s", line);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec > 60)
            ok = 0;
    }
    if (f)
        fclose(f);
    else
        close(fds[0]);
    if (!ok)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return sscanf(last, "calls %u ok %u err %u", &out->calls, &out->ok, &out->err) == 3 ? 0 : -1;
}

enum { RPCGEN_N = 150 };

/* rclient_case runs the rpcgen client's n calls of proc (sem) at addr and
 * prints what the runs say; returns the ids that ran twice. */
static unsigned rclient_case(const char *name, server *s, const char *addr, int proc,
                             const char *sem, uint64_t first)
{
    rclient_out o;
    memset(&o, 0, sizeof o);
    assert_int_equal(run_rclient(addr, proc, RPCGEN_N, first, &o), 0);
    runs r = runs_load(s);
    size_t others = 0;
    unsigned *count = runs_tally(&r, sem, first, RPCGEN_N, &others);
    unsigned twice = 0, never = 0;
    for (unsigned i = 0; i < RPCGEN_N; i++) {
        twice += count[i] > 1;
        never += count[i] == 0;
    }
    print_message("delivery: %-14s %-4s calls=%u ok=%u err=%u ran_twice=%u ran_never=%u "
                  "seed=%" PRIu64 "\n",
                  name, sem, o.calls, o.ok, o.err, twice, never, seed);
    free(count);
    free(r.v);
    assert_int_equal(o.calls, RPCGEN_N);
    return twice;
}

/* An rpcgen client with libtirpc, which carries no identity: only the
 * duplicate request cache keeps a duplicated datagram (same xid) from
 * running an at-most-once ADD twice. Its calls all fit in the cache (150
 * of 8,192 entries), so none may run twice; an idempotent ADD gets no
 * cache, and is the control. */
static void test_an_rpcgen_client_gets_the_duplicate_request_cache(void **state)
{
    (void)state;
    if (!rclient_path) {
        print_message("delivery: no rpcgen client built (PARLEY_INTEROP off)\n");
        skip();
    }
    const char *listen[] = {"udp://127.0.0.1:0", "tcp://127.0.0.1:0"};
    server *s = server_start("rpcgen", listen, 2, 1, NULL);
    pf_opts o;
    memset(&o, 0, sizeof o);
    o.seed = seed + 31;
    o.dup_pct = 40;
    o.delay_pct = 30;
    o.delay_max_ms = 20;
    o.direction_mask = PF_DIR_TO_SERVER;
    char bound[PF_ADDR_MAX];
    assert_int_equal(
        pf_start(&proxies[0], "udp://127.0.0.1:0", s->proc.addrs[0], &o, bound, sizeof bound),
        PARLEY_OK);
    unsigned amo_dup = rclient_case("rpcgen-dup", s, bound, 2, "amo", 6000000);
    unsigned idem_dup = rclient_case("rpcgen-dup", s, bound, 3, "idem", 6100000);
    unsigned eo_dup = rclient_case("rpcgen-dup", s, bound, 1, "eo", 6200000);
    print_proxy("rpcgen-dup", proxies[0], "all");
    unsigned plain_dup = rclient_case("rpcgen-plain", s, s->proc.addrs[0], 2, "amo", 6300000);
    unsigned tcp_dup = rclient_case("rpcgen-tcp", s, s->proc.addrs[1], 2, "amo", 6400000);
    assert_int_equal(amo_dup, 0);
    assert_int_equal(eo_dup, 0);
    assert_int_equal(plain_dup, 0);
    assert_int_equal(tcp_dup, 0);
    print_message("delivery: rpcgen-dup    idem ran twice %u times (no cache: expected)\n",
                  idem_dup);
    stop_server(s);
}

/* ---- hostile identities, with raw datagrams ---- */

/* The credential of wire/seq.h, encoded by hand. */
static void seq_cred(uint8_t body[PL_SEQ_CRED_BYTES(0)], const uint8_t id[16], uint64_t seq,
                     uint64_t ack, uint64_t inc, uint32_t sem)
{
    raw_msg m;
    m.n = 0;
    raw_u32(&m, PL_SEQ_VERSION);
    raw_bytes(&m, id, 16);
    raw_u32(&m, (uint32_t)(seq >> 32));
    raw_u32(&m, (uint32_t)seq);
    raw_u32(&m, (uint32_t)(ack >> 32));
    raw_u32(&m, (uint32_t)ack);
    raw_u32(&m, (uint32_t)(inc >> 32));
    raw_u32(&m, (uint32_t)inc);
    raw_u32(&m, sem);
    raw_u32(&m, PARLEY_AUTH_NONE);
    raw_u32(&m, 0);
    assert_int_equal(m.n, PL_SEQ_CRED_BYTES(0));
    memcpy(body, m.b, m.n);
}

/* What came back for a raw call. */
typedef struct hreply {
    int got;         /* a reply came */
    int parley;      /* with Parley's verifier */
    uint64_t inc;    /* the server's incarnation */
    uint32_t status; /* PL_SEQ_* */
    uint32_t accept; /* accept_stat */
    uint64_t result; /* an ADD's count when SUCCESS */
} hreply;

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

/* udp_socket connects a UDP socket to addr ("udp://127.0.0.1:PORT"). */
static int udp_socket(const char *addr)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    int type = 0;
    assert_int_equal(pf_addr_parse(addr, &ss, &len, &type), PARLEY_OK);
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
    return fd;
}

/* parse_reply reads a reply to xid from n bytes at b into *r; 0 or -1. */
static int parse_reply(const uint8_t *b, size_t n, uint32_t xid, hreply *r)
{
    if (n < 24 || rd32(b) != xid || rd32(b + 4) != 1 || rd32(b + 8) != 0)
        return -1;
    uint32_t flavor = rd32(b + 12), vlen = rd32(b + 16);
    size_t off = 20 + ((vlen + 3u) & ~3u);
    if (vlen > 400 || off + 4 > n)
        return -1;
    memset(r, 0, sizeof *r);
    r->got = 1;
    if (flavor == PL_AUTH_PARLEY && vlen == PL_SEQ_VERF_BYTES) {
        r->parley = 1;
        r->inc = rd64(b + 20);
        r->status = rd32(b + 28);
    }
    r->accept = rd32(b + off);
    if (r->accept == PARLEY_SUCCESS && off + 12 <= n)
        r->result = rd64(b + off + 4);
    return 0;
}

/* raw_seq_call sends a call of proc with a Parley credential (and an ADD's
 * arguments when a is set) on fd, and waits up to wait_ms for its reply;
 * r->got is 0 when none came. */
static void raw_seq_call(int fd, uint32_t xid, uint32_t proc, const uint8_t id[16], uint64_t seq,
                         uint64_t ack, uint64_t inc, uint32_t sem, const add_args *a, int wait_ms,
                         hreply *r)
{
    uint8_t cred[PL_SEQ_CRED_BYTES(0)];
    seq_cred(cred, id, seq, ack, inc, sem);
    raw_msg m;
    m.n = 0;
    raw_call_header(&m, xid, 2, COUNTER_PROG, COUNTER_VERS, proc, PL_AUTH_PARLEY, cred,
                    sizeof cred);
    if (a) {
        raw_u32(&m, (uint32_t)(a->id >> 32));
        raw_u32(&m, (uint32_t)a->id);
        raw_u32(&m, a->amount);
    }
    memset(r, 0, sizeof *r);
    assert_int_equal(send(fd, m.b, m.n, 0), (ssize_t)m.n);
    for (int tries = 0; tries < 64; tries++) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, wait_ms) <= 0)
            return;
        uint8_t buf[2048];
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k > 0 && parse_reply(buf, (size_t)k, xid, r) == 0)
            return;
    }
}

static uint32_t next_xid = 0x5000;

/* hello says HELLO for id (acknowledging everything below ack) and
 * returns the server's incarnation. */
static uint64_t hello(int fd, const uint8_t id[16], uint64_t ack)
{
    hreply r;
    raw_seq_call(fd, next_xid++, 0, id, 0, ack, 0, PL_SEM_AT_MOST_ONCE, NULL, 2000, &r);
    assert_true(r.got);
    assert_true(r.parley);
    assert_int_equal(r.status, PL_SEQ_OK);
    return r.inc;
}

static void random_id(uint64_t *rng, uint8_t id[16])
{
    uint64_t a = rng_next(rng), b = rng_next(rng);
    memcpy(id, &a, 8);
    memcpy(id + 8, &b, 8);
}

/* Forged identities, sequence numbers and acknowledgements, each answered
 * as the reply cache's rules say and never run where they say not. */
static void test_forged_identities_and_sequence_numbers_run_nothing(void **state)
{
    (void)state;
    const char *listen[] = {"udp://127.0.0.1:0"};
    server *s = server_start("forged", listen, 1, 1, NULL);
    int fd = udp_socket(s->proc.addrs[0]);
    uint64_t rng = seed + 41;
    uint8_t id[16];
    hreply r;
    add_args a = {7000000, 1};

    /* a client that never said HELLO: answered HELLO, not run, whatever
     * incarnation it claims */
    random_id(&rng, id);
    raw_seq_call(fd, next_xid++, ADD_AT_MOST_ONCE, id, 1, 1, 0, PL_SEM_AT_MOST_ONCE, &a, 2000, &r);
    assert_true(r.got && r.parley);
    assert_int_equal(r.status, PL_SEQ_HELLO);
    uint64_t inc = r.inc;
    a.id++;
    raw_seq_call(fd, next_xid++, ADD_AT_MOST_ONCE, id, 1, 1, inc, PL_SEM_AT_MOST_ONCE, &a, 2000,
                 &r);
    assert_true(r.got && r.parley);
    assert_int_equal(r.status, PL_SEQ_HELLO);
    unsigned unknown_answered = 2;

    /* an exactly-once call from a client the store has not registered
     * (it never said HELLO, or the store forgot it at the end of its
     * lease): answered HELLO, not run, whatever incarnation it claims */
    random_id(&rng, id);
    add_args e = {7100000, 1};
    raw_seq_call(fd, next_xid++, ADD_EXACTLY_ONCE, id, 1, 1, 0, PL_SEM_EXACTLY_ONCE, &e, 2000, &r);
    assert_true(r.got && r.parley);
    assert_int_equal(r.status, PL_SEQ_HELLO);
    raw_seq_call(fd, next_xid++, ADD_EXACTLY_ONCE, id, 1, 1, inc, PL_SEM_EXACTLY_ONCE, &e, 2000,
                 &r);
    assert_true(r.got && r.parley);
    assert_int_equal(r.status, PL_SEQ_HELLO);
    unknown_answered += 2;

    /* far ahead: beyond the window, refused (BUSY), not run */
    random_id(&rng, id);
    hello(fd, id, 1);
    a.id = 7200000;
    uint64_t far[] = {1025, 1u << 20, (uint64_t)1 << 40, UINT64_MAX - 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++, a.id++) {
        raw_seq_call(fd, next_xid++, ADD_AT_MOST_ONCE, id, far[i], 1, inc, PL_SEM_AT_MOST_ONCE, &a,
                     2000, &r);
        assert_true(r.got && r.parley);
        assert_int_equal(r.status, PL_SEQ_BUSY);
    }

    /* far behind: calls 1..5 run once each; with the acknowledgement
     * moved to 6, a copy of call 2 is stale: no answer, not run. A HELLO
     * that acknowledges 1,000 makes call 500 stale too. */
    a.id = 7300000;
    for (uint64_t q = 1; q <= 5; q++) {
        add_args b = {a.id + q, 1};
        raw_seq_call(fd, next_xid++, ADD_AT_MOST_ONCE, id, q, q, inc, PL_SEM_AT_MOST_ONCE, &b, 2000,
                     &r);
        assert_true(r.got && r.parley);
        assert_int_equal(r.status, PL_SEQ_OK);
        assert_int_equal(r.accept, PARLEY_SUCCESS);
    }
    add_args six = {a.id + 6, 1}, two = {a.id + 2, 1}, stale = {a.id + 500, 1};
    raw_seq_call(fd, next_xid++, ADD_AT_MOST_ONCE, id, 6, 6, inc, PL_SEM_AT_MOST_ONCE, &six, 2000,
                 &r);
    assert_int_equal(r.status, PL_SEQ_OK);
    raw_seq_call(fd, next_xid++, ADD_AT_MOST_ONCE, id, 2, 6, inc, PL_SEM_AT_MOST_ONCE, &two, 300,
                 &r);
    int stale_answered = r.got;
    random_id(&rng, id);
    hello(fd, id, 1000);
    raw_seq_call(fd, next_xid++, ADD_AT_MOST_ONCE, id, 500, 1, inc, PL_SEM_AT_MOST_ONCE, &stale,
                 300, &r);
    stale_answered += r.got;

    /* acknowledgements of calls never made: call 1 acknowledges up to a
     * million; it still runs once (the floor never passes the call that
     * carries the ack), and so does a later real call, once however often
     * it is sent */
    random_id(&rng, id);
    hello(fd, id, 1);
    add_args ack1 = {7400001, 1}, ack2 = {7400002, 1};
    raw_seq_call(fd, next_xid++, ADD_AT_MOST_ONCE, id, 1, 1000000, inc, PL_SEM_AT_MOST_ONCE, &ack1,
                 2000, &r);
    uint32_t ack1_status = r.got ? r.status : 99;
    uint32_t x2 = next_xid++;
    unsigned ack2_ok = 0;
    for (int i = 0; i < 3; i++) {
        raw_seq_call(fd, x2, ADD_AT_MOST_ONCE, id, 2, 2, inc, PL_SEM_AT_MOST_ONCE, &ack2, 2000, &r);
        ack2_ok += r.got && r.parley && r.status == PL_SEQ_OK && r.accept == PARLEY_SUCCESS;
    }
    close(fd);

    runs rs = runs_load(s);
    print_message("delivery: forged         unknown answered HELLO=%u, stale answered=%d, "
                  "call under a forged ack: status %u ran %u, later call ok=%u/3 ran %u, "
                  "seed=%" PRIu64 "\n",
                  unknown_answered, stale_answered, ack1_status, runs_of(&rs, "amo", 7400001),
                  ack2_ok, runs_of(&rs, "amo", 7400002), seed);
    assert_int_equal(runs_of(&rs, "amo", 7000000), 0);
    assert_int_equal(runs_of(&rs, "amo", 7000001), 0);
    assert_int_equal(runs_of(&rs, "eo", 7100000), 0);
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++)
        assert_int_equal(runs_of(&rs, "amo", 7200000 + i), 0);
    for (uint64_t q = 1; q <= 6; q++)
        assert_int_equal(runs_of(&rs, "amo", 7300000 + q), 1);
    assert_int_equal(runs_of(&rs, "amo", 7300500), 0);
    assert_int_equal(stale_answered, 0);
    assert_true(runs_of(&rs, "amo", 7400001) <= 1);
    assert_int_equal(runs_of(&rs, "amo", 7400002), 1);
    assert_int_equal(ack2_ok, 3);
    free(rs.v);
    stop_server(s);
}

/* Copies of calls sent before a crash, arriving at the server started
 * again (a delayed or duplicated datagram): an exactly-once call answered
 * and acknowledged is not answered, one answered and not yet acknowledged
 * gets its recorded reply, and an at-most-once call first sent to the old
 * incarnation is answered HELLO; none runs again. */
static void test_copies_of_calls_sent_before_a_crash_do_not_run_again(void **state)
{
    (void)state;
    const char *listen[] = {"udp://127.0.0.1:0"};
    server *s = server_start("copies", listen, 1, 1, NULL);
    int fd = udp_socket(s->proc.addrs[0]);
    uint64_t rng = seed + 61;
    uint8_t id[16];
    hreply r;
    random_id(&rng, id);
    uint64_t inc = hello(fd, id, 1);
    for (uint64_t q = 1; q <= 4; q++) {
        add_args a = {7500000 + q, 1};
        raw_seq_call(fd, next_xid++, ADD_EXACTLY_ONCE, id, q, q, inc, PL_SEM_EXACTLY_ONCE, &a, 2000,
                     &r);
        assert_true(r.got && r.parley);
        assert_int_equal(r.status, PL_SEQ_OK);
        assert_int_equal(r.result, q);
    }
    add_args five = {7500005, 1};
    raw_seq_call(fd, next_xid++, ADD_AT_MOST_ONCE, id, 5, 5, inc, PL_SEM_AT_MOST_ONCE, &five, 2000,
                 &r);
    assert_int_equal(r.status, PL_SEQ_OK);
    close(fd);

    server_kill(s);
    assert_int_equal(server_restart(s), 0);
    fd = udp_socket(s->proc.addrs[0]);
    add_args two = {7500002, 1}, four = {7500004, 1};
    raw_seq_call(fd, next_xid++, ADD_EXACTLY_ONCE, id, 2, 2, inc, PL_SEM_EXACTLY_ONCE, &two, 300,
                 &r);
    int acked_answered = r.got;
    uint32_t acked_status = r.status;
    int acked_ok = r.got && r.status == PL_SEQ_OK && r.accept == PARLEY_SUCCESS;
    raw_seq_call(fd, next_xid++, ADD_EXACTLY_ONCE, id, 4, 4, inc, PL_SEM_EXACTLY_ONCE, &four, 2000,
                 &r);
    int done_answered = r.got;
    uint32_t done_status = r.status;
    uint64_t done_result = r.result;
    raw_seq_call(fd, next_xid++, ADD_AT_MOST_ONCE, id, 5, 5, inc, PL_SEM_AT_MOST_ONCE, &five, 2000,
                 &r);
    int amo_answered = r.got;
    uint32_t amo_status = r.status;
    close(fd);

    runs rs = runs_load(s);
    print_message("delivery: copies         after a restart: acknowledged eo copy answered=%d "
                  "(status %u), unacknowledged eo copy answered=%d status %u result %" PRIu64
                  ", amo copy answered=%d status %u, seed=%" PRIu64 "\n",
                  acked_answered, acked_status, done_answered, done_status, done_result,
                  amo_answered, amo_status, seed);
    for (uint64_t q = 1; q <= 5; q++)
        assert_int_equal(runs_of(&rs, q == 5 ? "amo" : "eo", 7500000 + q), 1);
    free(rs.v);
    assert_false(acked_ok); /* dropped, or told it is not the call's reply */
    assert_true(done_answered);
    assert_int_equal(done_status, PL_SEQ_OK);
    assert_int_equal(done_result, 4);
    assert_true(amo_answered);
    assert_int_equal(amo_status, PL_SEQ_HELLO);
    stop_server(s);
}

/* A client the store forgot at the end of its lease (and the reply cache
 * at the end of its own): a late copy of a call it made, even one never
 * acknowledged, is not run again but answered HELLO; after a new HELLO the
 * client's next call runs once, and the old copy stays unrun. The store
 * stays bounded by it: a client that never comes back leaves nothing. */
static void test_a_client_whose_lease_ran_out_is_never_run_twice(void **state)
{
    (void)state;
    const char *listen[] = {"udp://127.0.0.1:0"};
    const char *extra[] = {"--store-lease-ms", "300", "--lease-ms", "300", NULL};
    server *s = server_start("lease", listen, 1, 1, extra);
    int fd = udp_socket(s->proc.addrs[0]);
    uint64_t rng = seed + 71;
    uint8_t id[16];
    hreply r;
    random_id(&rng, id);
    uint64_t inc = hello(fd, id, 1);
    add_args one = {7600001, 1}, two = {7600002, 1};
    raw_seq_call(fd, next_xid++, ADD_EXACTLY_ONCE, id, 1, 1, inc, PL_SEM_EXACTLY_ONCE, &one, 2000,
                 &r);
    assert_true(r.got && r.parley);
    assert_int_equal(r.status, PL_SEQ_OK);

    /* silent past both leases: the idle scan runs about once a second */
    uint32_t late_status = PL_SEQ_OK;
    for (int tries = 0; tries < 40 && late_status != PL_SEQ_HELLO; tries++) {
        sleep_ms(250);
        /* the copy of call 1, as a duplicated datagram would bring it: the
         * recorded reply while the client is remembered, HELLO after */
        raw_seq_call(fd, next_xid++, ADD_EXACTLY_ONCE, id, 1, 1, inc, PL_SEM_EXACTLY_ONCE, &one,
                     2000, &r);
        assert_true(r.got && r.parley);
        late_status = r.status;
        if (late_status == PL_SEQ_OK) {
            assert_int_equal(r.result, 1);
            /* asking renews the lease: stay silent a while longer */
            sleep_ms(1500);
        }
    }
    assert_int_equal(late_status, PL_SEQ_HELLO);

    /* registered again, its floor at its next call: call 2 runs once, the
     * copy of call 1 is below the floor and not run */
    hello(fd, id, 2);
    raw_seq_call(fd, next_xid++, ADD_EXACTLY_ONCE, id, 2, 2, inc, PL_SEM_EXACTLY_ONCE, &two, 2000,
                 &r);
    assert_true(r.got && r.parley);
    assert_int_equal(r.status, PL_SEQ_OK);
    assert_int_equal(r.result, 2);
    raw_seq_call(fd, next_xid++, ADD_EXACTLY_ONCE, id, 1, 1, inc, PL_SEM_EXACTLY_ONCE, &one, 300,
                 &r);
    int old_ok = r.got && r.status == PL_SEQ_OK;

    /* forgotten again, then the server restarts (its memory of forgotten
     * clients gone with it): the client registers anew with a HELLO that
     * acknowledges only up to its call still out (3, sent before), as one
     * does to a new server. The copy of call 3, first sent in the store's
     * earlier run, is told by its incarnation: in doubt, not run. */
    add_args three = {7600003, 1};
    hello(fd, id, 3); /* the lease is short: it may have run out already */
    raw_seq_call(fd, next_xid++, ADD_EXACTLY_ONCE, id, 3, 3, inc, PL_SEM_EXACTLY_ONCE, &three, 2000,
                 &r);
    assert_true(r.got && r.parley);
    assert_int_equal(r.status, PL_SEQ_OK);
    late_status = PL_SEQ_OK;
    for (int tries = 0; tries < 40 && late_status != PL_SEQ_HELLO; tries++) {
        sleep_ms(250);
        raw_seq_call(fd, next_xid++, ADD_EXACTLY_ONCE, id, 3, 3, inc, PL_SEM_EXACTLY_ONCE, &three,
                     2000, &r);
        assert_true(r.got && r.parley);
        late_status = r.status;
        if (late_status == PL_SEQ_OK)
            sleep_ms(1500);
    }
    assert_int_equal(late_status, PL_SEQ_HELLO);
    /* the record of the forgetting rides with the next append: another
     * client's registration */
    uint8_t other[16];
    random_id(&rng, other);
    hello(fd, other, 1);
    close(fd);
    server_kill(s);
    assert_int_equal(server_restart(s), 0);
    fd = udp_socket(s->proc.addrs[0]);
    uint64_t inc2 = hello(fd, id, 3);
    raw_seq_call(fd, next_xid++, ADD_EXACTLY_ONCE, id, 3, 3, inc, PL_SEM_EXACTLY_ONCE, &three, 2000,
                 &r);
    assert_true(r.got && r.parley);
    uint32_t cross_status = r.status;
    add_args four = {7600004, 1};
    raw_seq_call(fd, next_xid++, ADD_EXACTLY_ONCE, id, 4, 4, inc2, PL_SEM_EXACTLY_ONCE, &four, 2000,
                 &r);
    assert_true(r.got && r.parley);
    assert_int_equal(r.status, PL_SEQ_OK);
    assert_int_equal(r.result, 4);
    close(fd);

    runs rs = runs_load(s);
    print_message("delivery: lease          a copy after the lease: status %u; after a new "
                  "HELLO the old copy answered ok=%d; after a restart, a copy first sent in the "
                  "store's earlier run: status %u; runs %u %u %u %u, seed=%" PRIu64 "\n",
                  late_status, old_ok, cross_status, runs_of(&rs, "eo", 7600001),
                  runs_of(&rs, "eo", 7600002), runs_of(&rs, "eo", 7600003),
                  runs_of(&rs, "eo", 7600004), seed);
    assert_false(old_ok);
    assert_int_equal(cross_status, PL_SEQ_IN_DOUBT);
    assert_int_equal(runs_of(&rs, "eo", 7600001), 1);
    assert_int_equal(runs_of(&rs, "eo", 7600002), 1);
    assert_int_equal(runs_of(&rs, "eo", 7600003), 1);
    assert_int_equal(runs_of(&rs, "eo", 7600004), 1);
    free(rs.v);
    stop_server(s);
}

enum { FLOOD = 100000, FLOOD_BATCH = 250, FLOOD_MAX_CLIENTS = 1024 };

/* A flood of new identities, each saying HELLO, against a server that
 * remembers at most 1,024 clients: the HELLOs past the bound are refused,
 * memory stays bounded, and two clients that said HELLO before keep
 * calling (exactly-once and at-most-once) without losing a call. */
static void test_a_flood_of_new_identities_leaves_earlier_clients_whole(void **state)
{
    (void)state;
    const char *listen[] = {"udp://127.0.0.1:0", "tcp://127.0.0.1:0"};
    const char *extra[] = {"--cache-max-clients", "1024", "--store-max-clients", "1024", NULL};
    server *s = server_start("flood", listen, 2, 1, extra);
    long rss0 = integ_rss_kib(s->proc.pid);
    /* the reader of the counters says HELLO before the flood too: after
     * it, the table of clients is full until leases end, and a new client
     * is refused (BUSY) */
    int rc;
    reader = client_for(s->proc.addrs[1], 0, 0, &rc);
    assert_non_null(reader);
    uint64_t eo = 0;
    read_counts_with(reader, &eo, NULL);
    atomic_store(&keep_going, 1);
    worker *we = worker_start(0, s->proc.addrs[1], PARLEY_EXACTLY_ONCE, 8000000, 20, 50000, 0, 0);
    worker *wa = worker_start(1, s->proc.addrs[1], PARLEY_AT_MOST_ONCE, 8100000, 20, 50000, 0, 0);
    /* both said HELLO (their first call is done) before the flood */
    for (int i = 0; i < 1000 && (atomic_load(&we->done) == 0 || atomic_load(&wa->done) == 0); i++)
        sleep_ms(10);
    assert_true(atomic_load(&we->done) > 0 && atomic_load(&wa->done) > 0);

    int fd = udp_socket(s->proc.addrs[0]);
    uint64_t rng = seed + 51;
    unsigned replies = 0, ok = 0, busy = 0;
    for (unsigned sent = 0; sent < FLOOD;) {
        for (unsigned b = 0; b < FLOOD_BATCH && sent < FLOOD; b++, sent++) {
            uint8_t id[16], cred[PL_SEQ_CRED_BYTES(0)];
            random_id(&rng, id);
            seq_cred(cred, id, 0, 1, 0, PL_SEM_AT_MOST_ONCE);
            raw_msg m;
            m.n = 0;
            raw_call_header(&m, next_xid++, 2, COUNTER_PROG, COUNTER_VERS, 0, PL_AUTH_PARLEY, cred,
                            sizeof cred);
            (void)send(fd, m.b, m.n, 0);
        }
        /* read the replies of this batch, so that the next one does not
         * just overflow the socket buffers (bounded: 50 ms of silence) */
        for (unsigned k = 0; k < FLOOD_BATCH; k++) {
            struct pollfd p = {fd, POLLIN, 0};
            if (poll(&p, 1, 50) <= 0)
                break;
            uint8_t buf[512];
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n < 32)
                continue;
            replies++;
            uint32_t st = rd32(buf + 28);
            ok += st == PL_SEQ_OK;
            busy += st == PL_SEQ_BUSY;
        }
    }
    close(fd);
    long rss1 = integ_rss_kib(s->proc.pid);
    atomic_store(&keep_going, 0);
    worker_join(we);
    worker_join(wa);
    assert_int_equal(we->create_rc, PARLEY_OK);
    assert_int_equal(wa->create_rc, PARLEY_OK);

    counts mem;
    read_counts_with(reader, &eo, &mem);
    parley_client *late = client_for(s->proc.addrs[1], 0, 0, &rc);
    assert_non_null(late);
    u_quad_t v = 0;
    int late_rc = read_exactly_once_1(late, &v);
    parley_client_destroy(late);
    print_message("delivery: flood          a client new after the flood: %s\n",
                  parley_errname(late_rc));
    runs r = runs_load(s);
    tally te = check_worker(we, s, &r), ta = check_worker(wa, s, &r);
    free(r.v);
    print_message("delivery: flood          hellos=%u replies=%u ok=%u busy=%u "
                  "rss_kib %ld -> %ld seed=%" PRIu64 "\n",
                  FLOOD, replies, ok, busy, rss0, rss1, seed);
    print_tally("flood", we, &te);
    print_tally("flood", wa, &ta);
    assert_true(rss0 > 0 && rss1 > 0);
    assert_true(rss1 - rss0 < 256L * 1024);
    assert_true(ok <= FLOOD_MAX_CLIENTS);
    assert_guarantee(we, &te);
    assert_guarantee(wa, &ta);
    /* the earlier clients lost nothing */
    assert_int_equal(ta.ok, ta.calls);
    assert_int_equal(ta.ran_never, 0);
    assert_int_equal(eo, te.calls);
    assert_int_equal(mem.at_most_once, ta.calls);
    stop_server(s);
}

/* ---- a call over a restart ---- */

typedef struct restart_call {
    parley_client *c;
    uint64_t id;
    int rc;
} restart_call;

static void *call_in_thread(void *arg)
{
    restart_call *r = arg;
    add_args a = {r->id, 1};
    u_quad_t res = 0;
    r->rc = add_at_most_once_1(r->c, &a, &res);
    return NULL;
}

/* call_over_a_restart kills s, makes an at-most-once ADD through c (10 s
 * deadline) from another thread meanwhile, and starts s again 300 ms later
 * from this one (a child's PR_SET_PDEATHSIG follows the thread that forked
 * it: a server started by a thread that then ends would be killed with
 * it); the call's error. */
static int call_over_a_restart(server *s, parley_client *c, uint64_t id)
{
    server_kill(s);
    restart_call r = {c, id, -1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, call_in_thread, &r), 0);
    sleep_ms(300);
    int started = server_restart(s);
    pthread_join(th, NULL);
    assert_int_equal(started, 0);
    return r.rc;
}

/* A handle that said HELLO to a server without a store, which then
 * restarts: its next at-most-once call (TCP) finds the connection closed,
 * waits for the server (REFUSED, backing off), reaches the new incarnation
 * once, is answered HELLO, says HELLO and goes out again under a new
 * number above the floor that HELLO sets; it runs once. */
static void test_a_call_over_a_restart_runs_once_after_a_new_hello(void **state)
{
    (void)state;
    const char *listen[] = {"tcp://127.0.0.1:0"};
    server *s = server_start("restart-hello", listen, 1, 0, NULL);
    int rc;
    parley_client *c = client_for(s->proc.addrs[0], 0, 0, &rc);
    assert_non_null(c);
    add_args a = {9000001, 1};
    u_quad_t res = 0;
    assert_int_equal(add_at_most_once_1(c, &a, &res), PARLEY_OK);
    int after = call_over_a_restart(s, c, 9000002);
    parley_client_destroy(c);
    print_message("delivery: restart-hello  the call over a restart: %s\n", parley_errname(after));
    assert_int_equal(after, PARLEY_OK);
    runs r = runs_load(s);
    size_t n = 0;
    for (size_t i = 0; i < r.n; i++)
        n += r.v[i].id == 9000002;
    free(r.v);
    assert_int_equal(n, 1);
    stop_server(s);
}

/* A handle's first guaranteed call, which must say HELLO first, rides over
 * a server restart: the HELLO waits for the server as a call does. */
static void test_a_first_guaranteed_call_rides_over_a_restart(void **state)
{
    (void)state;
    const char *listen[] = {"tcp://127.0.0.1:0"};
    server *s = server_start("hello-restart", listen, 1, 0, NULL);
    int rc;
    parley_client *c = client_for(s->proc.addrs[0], 0, 0, &rc);
    assert_non_null(c);
    int first = call_over_a_restart(s, c, 9100001);
    parley_client_destroy(c);
    print_message("delivery: hello-restart  a first call over a restart: %s\n",
                  parley_errname(first));
    assert_int_equal(first, PARLEY_OK);
    stop_server(s);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: test_delivery_faults COUNTER_SERVER [COUNTER_RCLIENT]\n");
        return 2;
    }
    server_path = argv[1];
    rclient_path = argc == 3 ? argv[2] : NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_udp_drop_dup_delay_reorder_keep_each_guarantee, cleanup),
        cmocka_unit_test_teardown(test_tcp_broken_after_the_call_keeps_each_guarantee, cleanup),
        cmocka_unit_test_teardown(test_submitted_calls_ride_over_broken_connections, cleanup),
        cmocka_unit_test_teardown(test_sigkill_and_restart_exactly_once_with_a_store, cleanup),
        cmocka_unit_test_teardown(test_sigkill_and_restart_exactly_once_over_udp, cleanup),
        cmocka_unit_test_teardown(test_sigkill_and_restart_at_most_once_without_a_store, cleanup),
        cmocka_unit_test_teardown(test_sigkill_and_restart_at_most_once_over_udp, cleanup),
        cmocka_unit_test_teardown(test_submitted_exactly_once_calls_ride_over_restarts, cleanup),
        cmocka_unit_test_teardown(test_submitted_at_most_once_calls_ride_over_restarts, cleanup),
        cmocka_unit_test_teardown(test_an_rpcgen_client_gets_the_duplicate_request_cache, cleanup),
        cmocka_unit_test_teardown(test_forged_identities_and_sequence_numbers_run_nothing, cleanup),
        cmocka_unit_test_teardown(test_a_client_whose_lease_ran_out_is_never_run_twice, cleanup),
        cmocka_unit_test_teardown(test_copies_of_calls_sent_before_a_crash_do_not_run_again,
                                  cleanup),
        cmocka_unit_test_teardown(test_a_flood_of_new_identities_leaves_earlier_clients_whole,
                                  cleanup),
        cmocka_unit_test_teardown(test_a_call_over_a_restart_runs_once_after_a_new_hello, cleanup),
        cmocka_unit_test_teardown(test_a_first_guaranteed_call_rides_over_a_restart, cleanup),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
