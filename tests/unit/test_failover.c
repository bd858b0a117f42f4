/*
 * tests/unit/test_failover.c: a service name with several instances, as
 * the matchmaker of a cluster answers it (this host's instances first,
 * then those of other hosts with owner "cluster"), seen from the client:
 * new connections spread over the cluster's instances, this host's
 * instance is used first, idempotent calls go on at another instance when
 * one dies (from handles connected before and handles made after), a
 * plain call reports its broken connection as ever while a refused
 * instance is passed over, an at-most-once or exactly-once call in flight
 * on an instance that dies ends in doubt and never runs at the other one,
 * and a matchmaker whose copy of the cluster is stale is reported so.
 *
 * The matchmaker is a small one written for the test with the skeleton
 * parleygen makes from matchmaker.idl, in a thread, answering LOOKUP with
 * the entries a test sets. The service's instances are real servers in
 * processes of their own (this executable again, run with --serve), so
 * that one dies as a host would: SIGKILL closes its listener and its
 * connections. They count what each procedure ran in a file mapped shared
 * with the test, which reads there what ran where.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "matchmaker.h"
#include "parley/client.h"
#include "parley/server.h"

extern char **environ;

/* ---- what the instances share with the test ------------------------------ */

enum { MAX_SERVERS = 3, NPROCS = 4 };

/* The service: procedure P_PLAIN (no guarantee declared: plain callers),
 * P_IDEM (idempotent), P_AMO (at-most-once), P_EO (exactly-once). Each
 * takes a word, nonzero to wait (bounded) after it has begun until it is
 * killed, and answers the index of the instance that ran it. */
#define PROG 0x20006a6au
enum { P_PLAIN = 0, P_IDEM = 1, P_AMO = 2, P_EO = 3 };

typedef struct shared {
    atomic_uint runs[MAX_SERVERS][NPROCS]; /* calls each instance ran, by procedure */
    atomic_uint waiting[MAX_SERVERS];      /* a call waits in the instance */
} shared;

static shared *sh;
static char dir[200];

/* ---- an instance (the child) ----------------------------------------------- */

static unsigned my_index;

static int handler(parley_call *call, parley_dec *args, unsigned proc)
{
    uint32_t wait = parley_get_u32(args);
    if (args->err || parley_dec_remaining(args))
        return PARLEY_ERR_GARBAGE_ARGS;
    atomic_fetch_add(&sh->runs[my_index][proc], 1);
    if (wait) {
        atomic_store(&sh->waiting[my_index], 1);
        for (int i = 0; i < 3000; i++) /* until killed, at most 30 s */
            usleep(10000);
    }
    parley_enc *e = parley_call_result(call, 4);
    if (!e)
        return PARLEY_ERR_SYSTEM_ERR;
    parley_put_u32(e, my_index);
    return PARLEY_OK;
}

static int plain_handler(parley_call *call, parley_dec *args)
{
    return handler(call, args, P_PLAIN);
}

static int idem_handler(parley_call *call, parley_dec *args)
{
    return handler(call, args, P_IDEM);
}

static int amo_handler(parley_call *call, parley_dec *args)
{
    return handler(call, args, P_AMO);
}

static int eo_handler(parley_call *call, parley_dec *args)
{
    return handler(call, args, P_EO);
}

/* P_PLAIN declares nothing: a plain call (no identity) is run as it
 * comes, whatever the table says. */
static const parley_proc_def procs[] = {
    {P_PLAIN + 10, plain_handler, PARLEY_AT_MOST_ONCE},
    {P_IDEM + 10, idem_handler, PARLEY_IDEMPOTENT},
    {P_AMO + 10, amo_handler, PARLEY_AT_MOST_ONCE},
    {P_EO + 10, eo_handler, PARLEY_EXACTLY_ONCE},
};
static const parley_program_def program = {PROG, 1, procs, sizeof procs / sizeof procs[0]};

/* map_shared maps the file at path as the shared counters. */
static shared *map_shared(const char *path, int create)
{
    int fd = open(path, O_RDWR | (create ? O_CREAT | O_TRUNC : 0) | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    if (create && ftruncate(fd, sizeof(shared)) != 0) {
        close(fd);
        return NULL;
    }
    void *p = mmap(NULL, sizeof(shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

/* serve is the instance's main: --serve INDEX SHARED STORE|- IDLE_MS. It
 * prints the address it listens at, then serves until it is killed (at
 * most five minutes, and not past the test, whose death kills it). */
static int serve(char **argv)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm(300);
    my_index = (unsigned)atoi(argv[2]);
    sh = map_shared(argv[3], 0);
    if (sh == NULL || my_index >= MAX_SERVERS)
        return 2;
    parley_server_opts o = {.threads = 4,
                            .store = strcmp(argv[4], "-") ? argv[4] : NULL,
                            .idle_timeout_ms = (unsigned)atoi(argv[5])};
    parley_server *s = NULL;
    char bound[128];
    if (parley_server_create(&s, &o) != PARLEY_OK ||
        parley_server_add_program(s, &program) != PARLEY_OK ||
        parley_server_listen(s, "tcp://127.0.0.1:0", bound, sizeof bound) != PARLEY_OK)
        return 2;
    printf("%s\n", bound);
    fflush(stdout);
    return parley_server_run(s) == PARLEY_OK ? 0 : 2;
}

/* ---- the instances, from the test ------------------------------------------ */

typedef struct instance {
    pid_t pid; /* 0: not running */
    char uaddr[64];
} instance;

static instance inst[MAX_SERVERS];

/* spawn starts instance i (a store in the test's folder when store is set;
 * idle_ms its idle timeout, 0 the default) and learns its address. */
static void spawn(unsigned i, int store, unsigned idle_ms)
{
    int pfd[2];
    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
    char idx[8], shm[256], st[256], idle[16];
    snprintf(idx, sizeof idx, "%u", i);
    snprintf(shm, sizeof shm, "%s/shared", dir);
    if (store)
        snprintf(st, sizeof st, "%s/store%u", dir, i);
    else
        snprintf(st, sizeof st, "-");
    snprintf(idle, sizeof idle, "%u", idle_ms);
    char prog[] = "test_failover", serve_arg[] = "--serve";
    char *args[] = {prog, serve_arg, idx, shm, st, idle, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    int rc = posix_spawn(&inst[i].pid, "/proc/self/exe", &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    assert_int_equal(rc, 0);
    char line[128];
    size_t n = 0;
    struct pollfd p = {.fd = pfd[0], .events = POLLIN, .revents = 0};
    while (n < sizeof line - 1 && (n == 0 || line[n - 1] != '\n') && poll(&p, 1, 20000) == 1) {
        ssize_t r = read(pfd[0], line + n, sizeof line - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(pfd[0]);
    line[n] = '\0';
    const char *colon = strrchr(line, ':');
    if (strncmp(line, "tcp://127.0.0.1:", 16) != 0 || colon == NULL)
        fail_msg("instance %u did not start: \"%s\"", i, line);
    unsigned port = (unsigned)atoi(colon + 1);
    snprintf(inst[i].uaddr, sizeof inst[i].uaddr, "127.0.0.1.%u.%u", port >> 8, port & 255);
}

/* kill_instance kills instance i as a host dies: its listener and its
 * connections close with it. */
static void kill_instance(unsigned i)
{
    if (inst[i].pid <= 0)
        return;
    kill(inst[i].pid, SIGKILL);
    while (waitpid(inst[i].pid, NULL, 0) < 0 && errno == EINTR)
        ;
    inst[i].pid = 0;
}

/* wait_waiting waits (bounded) until a call waits in some instance and
 * returns its index. */
static unsigned wait_waiting(void)
{
    for (int tries = 0; tries < 2000; tries++) {
        for (unsigned i = 0; i < MAX_SERVERS; i++)
            if (atomic_load(&sh->waiting[i]))
                return i;
        usleep(5000);
    }
    fail_msg("no call reached a procedure");
    return 0;
}

/* ---- a matchmaker in memory ---------------------------------------------- */

#define NAME "svc"

typedef struct answer_entry {
    unsigned instance;
    int cluster; /* owner "cluster": an instance of another host */
} answer_entry;

static pthread_mutex_t answer_mu = PTHREAD_MUTEX_INITIALIZER;
static answer_entry answer[MAX_SERVERS];
static size_t nanswer;
static int answer_stale;

/* answer_with sets what LOOKUP answers for NAME: the n entries of e, or
 * MM_STALE when stale. */
static void answer_with(const answer_entry *e, size_t n, int stale)
{
    pthread_mutex_lock(&answer_mu);
    if (n)
        memcpy(answer, e, n * sizeof *e);
    nanswer = n;
    answer_stale = stale;
    pthread_mutex_unlock(&answer_mu);
}

/* The strings of the entries answered (the generated structures hold char *). */
static char s_name[] = NAME, s_tcp[] = "tcp", s_cluster[] = "cluster", s_uid[] = "1000",
            s_none[] = "";

int matchmaker_lookup_1_svc(const mm_query *q, mm_lookup_res *result, parley_call *call)
{
    parley_arena *a = parley_call_arena(call);
    mm_entry_list *l = &result->mm_lookup_res_u.entries;
    l->mm_entry_list_val = parley_arena_alloc(a, MAX_SERVERS * sizeof(mm_entry));
    l->mm_entry_list_len = 0;
    pthread_mutex_lock(&answer_mu);
    int ours = strcmp(q->name, NAME) == 0 && (q->vers == 0 || q->vers == 1);
    for (size_t i = 0; ours && l->mm_entry_list_val && i < nanswer; i++) {
        mm_entry *m = &l->mm_entry_list_val[l->mm_entry_list_len++];
        memset(m, 0, sizeof *m);
        m->name = s_name;
        m->prog = PROG;
        m->vers = 1;
        m->netid = s_tcp;
        m->uaddr = parley_arena_alloc(a, sizeof inst[0].uaddr);
        if (m->uaddr)
            memcpy(m->uaddr, inst[answer[i].instance].uaddr, sizeof inst[0].uaddr);
        else
            m->uaddr = s_none;
        m->owner = answer[i].cluster ? s_cluster : s_uid;
        m->registered = 1700000000;
    }
    if (ours && answer_stale)
        result->status = MM_STALE;
    else
        result->status = l->mm_entry_list_len ? MM_OK : MM_NOENT;
    pthread_mutex_unlock(&answer_mu);
    return PARLEY_OK;
}

/* The procedures the client never asks: answered as an empty matchmaker. */
int matchmaker_register_1_svc(const mm_registration *r, mm_status *result, parley_call *call)
{
    (void)r;
    (void)call;
    *result = MM_DENIED;
    return PARLEY_OK;
}

int matchmaker_unregister_1_svc(const mm_key *k, mm_status *result, parley_call *call)
{
    (void)k;
    (void)call;
    *result = MM_NOENT;
    return PARLEY_OK;
}

int matchmaker_list_1_svc(mm_entry_list *result, parley_call *call)
{
    (void)call;
    result->mm_entry_list_len = 0;
    result->mm_entry_list_val = NULL;
    return PARLEY_OK;
}

int matchmaker_stats_1_svc(mm_stats_list *result, parley_call *call)
{
    (void)call;
    result->mm_stats_list_len = 0;
    result->mm_stats_list_val = NULL;
    return PARLEY_OK;
}

int matchmaker_instances_1_svc(const mm_query *q, mm_instances_res *result, parley_call *call)
{
    (void)q;
    (void)call;
    result->status = MM_NOENT;
    return PARLEY_OK;
}

static char empty[1];

int matchmaker_cluster_1_svc(mm_cluster_info *result, parley_call *call)
{
    (void)call;
    memset(result, 0, sizeof *result);
    result->host = empty;
    result->error = empty;
    return PARLEY_OK;
}

static parley_server *mm;
static pthread_t mm_thread;
static int mm_rc;

static void *mm_run(void *arg)
{
    (void)arg;
    mm_rc = parley_server_run(mm);
    return NULL;
}

/* setup starts the matchmaker, and makes the test's folder and the shared
 * counters; no instance runs yet. */
static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/parley-failover-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/shared", dir);
    sh = map_shared(path, 1);
    assert_non_null(sh);
    memset(inst, 0, sizeof inst);
    answer_with(NULL, 0, 0);
    char bound[128];
    assert_int_equal(parley_server_create(&mm, NULL), PARLEY_OK);
    assert_int_equal(parley_server_add_program(mm, &matchmaker_prog_1), PARLEY_OK);
    assert_int_equal(parley_server_listen(mm, "tcp://127.0.0.1:0", bound, sizeof bound), PARLEY_OK);
    char env[64];
    snprintf(env, sizeof env, "127.0.0.1:%s", strrchr(bound, ':') + 1);
    setenv("PARLEY_MATCHMAKER", env, 1);
    assert_int_equal(pthread_create(&mm_thread, NULL, mm_run, NULL), 0);
    return 0;
}

/* teardown stops every instance still running and the matchmaker, and
 * removes the test's files. */
static int teardown(void **state)
{
    (void)state;
    for (unsigned i = 0; i < MAX_SERVERS; i++)
        kill_instance(i);
    parley_server_stop(mm);
    pthread_join(mm_thread, NULL);
    parley_server_destroy(mm);
    unsetenv("PARLEY_MATCHMAKER");
    munmap(sh, sizeof *sh);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return mm_rc == PARLEY_OK ? 0 : -1;
}

/* ---- calls --------------------------------------------------------------- */

static void put_u32(parley_enc *e, const void *a)
{
    parley_put_u32(e, *(const uint32_t *)a);
}

static void get_u32(parley_dec *d, void *r)
{
    *(uint32_t *)r = parley_get_u32(d);
}

/* call makes procedure proc (P_*) through c with the guarantee sem (-1: a
 * plain call), waiting in the procedure when wait is set; *where is the
 * instance that answered. */
static int call(parley_client *c, unsigned proc, int sem, uint32_t wait, uint32_t *where)
{
    *where = UINT32_MAX;
    if (sem < 0)
        return parley_client_call(c, proc + 10, put_u32, &wait, 4, get_u32, where, 10000);
    parley_call_opts o = {10000, (parley_semantics)sem, NULL};
    return parley_client_call_opts(c, proc + 10, put_u32, &wait, 4, get_u32, where, &o);
}

static unsigned runs(unsigned i, unsigned proc)
{
    return atomic_load(&sh->runs[i][proc]);
}

static parley_client *client(void)
{
    parley_client *c = NULL;
    int rc = parley_client_create(&c, NAME, PROG, 1, NULL);
    if (rc != PARLEY_OK)
        fail_msg("parley_client_create: %s", parley_errname(rc));
    return c;
}

/* ---- spreading ------------------------------------------------------------ */

enum { HANDLES = 12 };

static void test_new_connections_spread_over_the_clusters_instances(void **state)
{
    (void)state;
    spawn(0, 0, 0);
    spawn(1, 0, 0);
    const answer_entry both[] = {{0, 1}, {1, 1}};
    answer_with(both, 2, 0);
    parley_client *c[HANDLES];
    for (unsigned i = 0; i < HANDLES; i++) {
        c[i] = client();
        uint32_t where;
        assert_int_equal(call(c[i], P_IDEM, PARLEY_IDEMPOTENT, 0, &where), PARLEY_OK);
        assert_true(where < 2);
    }
    /* one connection per handle, taken in turn: both instances have some */
    print_message("failover: spread over two instances: %u and %u\n", runs(0, P_IDEM),
                  runs(1, P_IDEM));
    assert_true(runs(0, P_IDEM) > 0);
    assert_true(runs(1, P_IDEM) > 0);
    assert_int_equal(runs(0, P_IDEM) + runs(1, P_IDEM), HANDLES);
    for (unsigned i = 0; i < HANDLES; i++)
        parley_client_destroy(c[i]);
}

static void test_this_hosts_instance_is_used_first(void **state)
{
    (void)state;
    spawn(0, 0, 0);
    spawn(1, 0, 0);
    /* instance 1 is this host's: answered after the cluster's one, used first all the same */
    const answer_entry mixed[] = {{0, 1}, {1, 0}};
    answer_with(mixed, 2, 0);
    for (unsigned i = 0; i < HANDLES; i++) {
        parley_client *c = client();
        uint32_t where;
        assert_int_equal(call(c, P_IDEM, PARLEY_IDEMPOTENT, 0, &where), PARLEY_OK);
        assert_int_equal(where, 1);
        parley_client_destroy(c);
    }
    assert_int_equal(runs(0, P_IDEM), 0);
    assert_int_equal(runs(1, P_IDEM), HANDLES);
    /* this host's instance gone: the cluster's serves */
    kill_instance(1);
    parley_client *c = client();
    uint32_t where;
    assert_int_equal(call(c, P_IDEM, PARLEY_IDEMPOTENT, 0, &where), PARLEY_OK);
    assert_int_equal(where, 0);
    parley_client_destroy(c);
}

/* silent_listener makes a listening socket on loopback that answers no
 * new connection: its accept queue (backlog 0) is filled by one connection
 * the test makes and never accepts, so the kernel drops further SYNs, as
 * a host that has gone silent does (no refusal, no reset). Its address goes
 * to inst[i].uaddr; *fds gets the listener and the filling connection. */
static void silent_listener(unsigned i, int fds[2])
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fds[0] >= 0);
    assert_int_equal(bind(fds[0], (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fds[0], 0), 0);
    assert_int_equal(getsockname(fds[0], (struct sockaddr *)&a, &len), 0);
    fds[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fds[1] >= 0);
    assert_int_equal(connect(fds[1], (struct sockaddr *)&a, sizeof a), 0);
    unsigned port = ntohs(a.sin_port);
    snprintf(inst[i].uaddr, sizeof inst[i].uaddr, "127.0.0.1.%u.%u", port >> 8, port & 255);
}

enum { SILENT_HANDLES = 4, SILENT_DEADLINE_MS = 2000 };

static void test_a_silent_instance_does_not_take_the_whole_deadline(void **state)
{
    (void)state;
    int fds[2];
    silent_listener(2, fds);
    spawn(0, 0, 0);
    /* taken in turn, half the handles try the silent instance first: each
     * gets its share of the deadline there, and the rest goes to the other */
    const answer_entry both[] = {{2, 1}, {0, 1}};
    answer_with(both, 2, 0);
    for (unsigned i = 0; i < SILENT_HANDLES; i++) {
        parley_client *c = client();
        uint32_t wait = 0, where = UINT32_MAX;
        parley_call_opts o = {SILENT_DEADLINE_MS, PARLEY_IDEMPOTENT, NULL};
        assert_int_equal(
            parley_client_call_opts(c, P_IDEM + 10, put_u32, &wait, 4, get_u32, &where, &o),
            PARLEY_OK);
        assert_int_equal(where, 0);
        parley_client_destroy(c);
    }
    assert_int_equal(runs(0, P_IDEM), SILENT_HANDLES);
    close(fds[1]);
    close(fds[0]);
}

/* ---- idempotent calls when an instance dies -------------------------------- */

static void test_idempotent_calls_go_on_at_the_other_instance_when_one_dies(void **state)
{
    (void)state;
    spawn(0, 0, 0);
    spawn(1, 0, 0);
    const answer_entry both[] = {{0, 1}, {1, 1}};
    answer_with(both, 2, 0);
    parley_client *c[HANDLES];
    unsigned on0 = 0;
    for (unsigned i = 0; i < HANDLES; i++) {
        c[i] = client();
        uint32_t where;
        assert_int_equal(call(c[i], P_IDEM, PARLEY_IDEMPOTENT, 0, &where), PARLEY_OK);
        on0 += where == 0;
    }
    assert_true(on0 > 0);
    /* instance 0 dies; the matchmaker still answers it (a cluster forgets
     * a dead host's entries only when its lease runs out) */
    kill_instance(0);
    unsigned before = runs(1, P_IDEM);
    for (unsigned round = 0; round < 3; round++) {
        for (unsigned i = 0; i < HANDLES; i++) {
            uint32_t where;
            assert_int_equal(call(c[i], P_IDEM, PARLEY_IDEMPOTENT, 0, &where), PARLEY_OK);
            assert_int_equal(where, 1);
        }
    }
    /* and new handles, whichever instance their turn begins with */
    for (unsigned i = 0; i < 4; i++) {
        parley_client *n = client();
        uint32_t where;
        assert_int_equal(call(n, P_IDEM, PARLEY_IDEMPOTENT, 0, &where), PARLEY_OK);
        assert_int_equal(where, 1);
        parley_client_destroy(n);
    }
    assert_int_equal(runs(1, P_IDEM) - before, 3 * HANDLES + 4);
    for (unsigned i = 0; i < HANDLES; i++)
        parley_client_destroy(c[i]);
}

/* Threads calling through one handle while its instance dies under them. */
/* The callers go on until told to stop (at most CALLS_MAX calls each), so
 * that calls are still being made when the instance dies, however fast the
 * machine; the test stops them once AFTER_KILL calls ran at the other one. */
enum { THREADS = 4, CALLS = 60, CALLS_MAX = 200000, AFTER_KILL = 50 };

typedef struct caller {
    parley_client *c;
    atomic_int *stop; /* set: make no more calls */
    atomic_uint *done;
    atomic_uint *last; /* the instance that answered last */
    int failed;        /* the first error met, PARLEY_OK when none */
    pthread_t t;
} caller;

static void *caller_run(void *arg)
{
    caller *k = arg;
    for (unsigned i = 0; i < CALLS_MAX && !atomic_load(k->stop); i++) {
        uint32_t where;
        int rc = call(k->c, P_IDEM, PARLEY_IDEMPOTENT, 0, &where);
        if (rc != PARLEY_OK && k->failed == PARLEY_OK)
            k->failed = rc;
        if (rc == PARLEY_OK)
            atomic_store(k->last, where);
        atomic_fetch_add(k->done, 1);
    }
    return NULL;
}

static void test_idempotent_calls_in_flight_go_on_at_the_other_instance(void **state)
{
    (void)state;
    spawn(0, 0, 0);
    spawn(1, 0, 0);
    const answer_entry both[] = {{0, 1}, {1, 1}};
    answer_with(both, 2, 0);
    parley_client *c = client();
    atomic_uint done = 0, last = UINT32_MAX;
    atomic_int stop = 0;
    caller k[THREADS];
    for (unsigned i = 0; i < THREADS; i++) {
        k[i] = (caller){.c = c, .stop = &stop, .done = &done, .last = &last, .failed = PARLEY_OK};
        assert_int_equal(pthread_create(&k[i].t, NULL, caller_run, &k[i]), 0);
    }
    for (int tries = 0; tries < 2000 && atomic_load(&done) < THREADS * CALLS / 4; tries++)
        usleep(1000);
    unsigned victim = atomic_load(&last);
    assert_true(victim < 2);
    unsigned other_before = runs(1 - victim, P_IDEM);
    kill_instance(victim); /* the instance the handle is connected to */
    for (int tries = 0; tries < 10000 && runs(1 - victim, P_IDEM) < other_before + AFTER_KILL;
         tries++)
        usleep(1000);
    atomic_store(&stop, 1);
    for (unsigned i = 0; i < THREADS; i++) {
        pthread_join(k[i].t, NULL);
        if (k[i].failed != PARLEY_OK)
            fail_msg("an idempotent call failed: %s", parley_errname(k[i].failed));
    }
    /* the calls after the kill ran at the other instance (counted there: a
     * caller's "last" may be stored late by a thread whose call the victim
     * answered just before it died, so it cannot say this) */
    assert_true(runs(1 - victim, P_IDEM) >= other_before + AFTER_KILL);
    assert_int_equal(runs(0, P_IDEM) + runs(1, P_IDEM) >= atomic_load(&done), 1);
    parley_client_destroy(c);
}

/* ---- plain calls ---------------------------------------------------------- */

typedef struct pending_call {
    parley_client *c;
    unsigned proc;
    int sem;
    int rc;
    uint32_t where;
    pthread_t t;
} pending_call;

static void *pending_run(void *arg)
{
    pending_call *p = arg;
    p->rc = call(p->c, p->proc, p->sem, 1, &p->where);
    return NULL;
}

/* in_flight_death makes the call p (waiting in its procedure) in a
 * thread, kills the instance it waits in, and returns that instance once
 * the call has ended. */
static unsigned in_flight_death(pending_call *p)
{
    assert_int_equal(pthread_create(&p->t, NULL, pending_run, p), 0);
    unsigned victim = wait_waiting();
    kill_instance(victim);
    pthread_join(p->t, NULL);
    atomic_store(&sh->waiting[victim], 0);
    return victim;
}

static void
test_a_plain_call_reports_its_broken_connection_and_a_refusal_is_passed_over(void **state)
{
    (void)state;
    spawn(0, 0, 0);
    spawn(1, 0, 0);
    const answer_entry both[] = {{0, 1}, {1, 1}};
    answer_with(both, 2, 0);
    parley_client *c = client();
    pending_call p = {.c = c, .proc = P_PLAIN, .sem = -1};
    unsigned victim = in_flight_death(&p);
    /* it went out and its connection broke: reported, as ONC RPC clients do */
    assert_int_equal(p.rc, PARLEY_ERR_CLOSED);
    assert_int_equal(runs(1 - victim, P_PLAIN), 0);
    /* the next call connects again, to the instance alive */
    uint32_t where;
    assert_int_equal(call(c, P_PLAIN, -1, 0, &where), PARLEY_OK);
    assert_int_equal(where, 1 - victim);
    parley_client_destroy(c);
    /* new handles: those whose turn begins at the dead instance are
     * refused there, which no call reached, and go to the next */
    for (unsigned i = 0; i < 4; i++) {
        parley_client *n = client();
        assert_int_equal(call(n, P_PLAIN, -1, 0, &where), PARLEY_OK);
        assert_int_equal(where, 1 - victim);
        parley_client_destroy(n);
    }
    assert_int_equal(runs(1 - victim, P_PLAIN), 5);
}

/* ---- guaranteed calls ------------------------------------------------------- */

/* guaranteed_in_doubt: a call of proc with sem waits in the instance it
 * went to, which dies: in doubt, and never run at the other; the handle
 * goes on there afterwards. */
static void guaranteed_in_doubt(unsigned proc, parley_semantics sem, int store)
{
    spawn(0, store, 0);
    spawn(1, store, 0);
    const answer_entry both[] = {{0, 1}, {1, 1}};
    answer_with(both, 2, 0);
    parley_client *c = client();
    pending_call p = {.c = c, .proc = proc, .sem = (int)sem};
    unsigned victim = in_flight_death(&p);
    assert_int_equal(p.rc, PARLEY_ERR_IN_DOUBT);
    assert_int_equal(runs(victim, proc), 1);
    assert_int_equal(runs(1 - victim, proc), 0); /* not run again elsewhere */
    /* the handle's next call of the kind runs at the other instance */
    uint32_t where;
    assert_int_equal(call(c, proc, (int)sem, 0, &where), PARLEY_OK);
    assert_int_equal(where, 1 - victim);
    assert_int_equal(runs(1 - victim, proc), 1);
    parley_client_destroy(c);
}

static void test_an_at_most_once_call_on_an_instance_that_dies_is_in_doubt(void **state)
{
    (void)state;
    guaranteed_in_doubt(P_AMO, PARLEY_AT_MOST_ONCE, 0);
}

static void test_an_exactly_once_call_on_an_instance_that_dies_is_in_doubt(void **state)
{
    (void)state;
    guaranteed_in_doubt(P_EO, PARLEY_EXACTLY_ONCE, 1);
}

/* An exactly-once call in flight on an instance that dies, when the other
 * instance knows the handle already (it ran its calls before, and its
 * store registered it): that instance, asked, would find no record of the
 * call and run it; the handle does not ask it. */
static void test_an_exactly_once_call_is_not_sent_to_an_instance_that_knows_its_handle(void **state)
{
    (void)state;
    spawn(0, 1, 0);
    spawn(1, 1, 300); /* closes idle connections after 300 ms */
    const answer_entry only1[] = {{1, 1}}, only0[] = {{0, 1}}, both[] = {{0, 1}, {1, 1}};
    answer_with(only1, 1, 0);
    parley_client *c = client();
    uint32_t where;
    assert_int_equal(call(c, P_EO, PARLEY_EXACTLY_ONCE, 0, &where), PARLEY_OK);
    assert_int_equal(where, 1);
    /* the handle moves to instance 0 once instance 1 closes its idle
     * connection */
    answer_with(only0, 1, 0);
    int moved = 0;
    for (int tries = 0; tries < 8 && !moved; tries++) {
        usleep(1500000); /* idle: its server's scan closes it within about a second */
        assert_int_equal(call(c, P_IDEM, PARLEY_IDEMPOTENT, 0, &where), PARLEY_OK);
        moved = where == 0;
    }
    assert_true(moved);
    answer_with(both, 2, 0);
    pending_call p = {.c = c, .proc = P_EO, .sem = PARLEY_EXACTLY_ONCE};
    unsigned victim = in_flight_death(&p);
    assert_int_equal(victim, 0);
    assert_int_equal(p.rc, PARLEY_ERR_IN_DOUBT);
    assert_int_equal(runs(0, P_EO), 1);
    assert_int_equal(runs(1, P_EO), 1); /* the first call only */
    parley_client_destroy(c);
}

/* ---- a stale cluster ---------------------------------------------------------- */

static void test_a_stale_cluster_is_reported_at_create_and_at_a_call(void **state)
{
    (void)state;
    spawn(0, 0, 0);
    const answer_entry one[] = {{0, 1}};
    answer_with(one, 1, 0);
    parley_client *early = client(); /* made while the copy was fresh */
    answer_with(one, 1, 1);
    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, NAME, PROG, 1, NULL), PARLEY_ERR_CLUSTER_STALE);
    assert_null(c);
    const char *text = parley_strerror(PARLEY_ERR_CLUSTER_STALE);
    print_message("failover: %s: %s\n", parley_errname(PARLEY_ERR_CLUSTER_STALE), text);
    assert_non_null(strstr(text, "cluster"));
    /* the first call connects, looking the name up: stale too, and not run */
    uint32_t where;
    assert_int_equal(call(early, P_IDEM, PARLEY_IDEMPOTENT, 0, &where), PARLEY_ERR_CLUSTER_STALE);
    assert_int_equal(runs(0, P_IDEM), 0);
    /* fresh again: the call goes */
    answer_with(one, 1, 0);
    assert_int_equal(call(early, P_IDEM, PARLEY_IDEMPOTENT, 0, &where), PARLEY_OK);
    assert_int_equal(where, 0);
    parley_client_destroy(early);
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "--serve") == 0)
        return serve(argv);
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_connections_spread_over_the_clusters_instances,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_this_hosts_instance_is_used_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_silent_instance_does_not_take_the_whole_deadline,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_idempotent_calls_go_on_at_the_other_instance_when_one_dies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idempotent_calls_in_flight_go_on_at_the_other_instance,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_plain_call_reports_its_broken_connection_and_a_refusal_is_passed_over, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_an_at_most_once_call_on_an_instance_that_dies_is_in_doubt, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_an_exactly_once_call_on_an_instance_that_dies_is_in_doubt, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_an_exactly_once_call_is_not_sent_to_an_instance_that_knows_its_handle, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_a_stale_cluster_is_reported_at_create_and_at_a_call,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
