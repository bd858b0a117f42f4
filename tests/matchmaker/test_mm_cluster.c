/*
 * test_mm_cluster.c: two parley-matchmakers as the agents of one etcd, on
 * loopback, without namespaces. The test starts a single-member etcd (free
 * loopback ports, a data folder in a temporary folder), matchmaker X
 * advertising 127.0.0.1 as host "hx" and matchmaker Y advertising
 * 127.0.0.2 as host "hy" (loopback is 127.0.0.0/8), each on a port of its
 * own, and servers (mm_reg_peer) registering with one or the other. Then,
 * in order: a name registered with X on the wildcard address is answered
 * by Y as a cluster instance, callable by name through Y; unregistered, it
 * vanishes at Y; X killed, its entry vanishes with its lease; X stopped
 * cleanly, at once (its lease revoked, long before its TTL); malformed
 * keys written with etcdctl are ignored and logged; etcd stopped, Y keeps
 * answering from its cache (DISCONNECTED), then refuses cluster names
 * (STALE) while its own names resolve; etcd restarted, both reconnect, X
 * with a new lease, and Y's cache is current again. Every wait is a
 * bounded poll; no time is asserted. Every process started is stopped,
 * also on failure (and dies with the test: PR_SET_PDEATHSIG). Without etcd
 * or etcdctl on PATH every case is skipped with the reason.
 *   argv: parley-matchmaker parley-info mm_reg_peer
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "etcd_member.h"
#include "matchmaker.h"
#include "parley/client.h"

#define S(x) ((char *)(uintptr_t)(x))

#define PEER_PROG 0x20000400u /* mm_reg_peer's program */
#define Y_STALE   "6"         /* Y's --cluster-stale */

static const char *daemon_path, *info_path, *peer_path;
static char dir[128];
static int have_etcd;
static char why_skip[256];

/* ---- processes ---- */

/* run runs argv to its end (at most 30 s), its output into out (cap
 * bytes); its exit status, or -1. */
static int run(const char *const *argv, char *out, size_t cap)
{
    char log[200];
    snprintf(log, sizeof log, "%s/run.out", dir);
    unlink(log);
    int st = pt_run(argv, log);
    pt_read_file(log, out, cap);
    return st;
}

/* file_has says whether the file at path (its first 4 MiB) holds text. */
static int file_has(const char *path, const char *text)
{
    enum { MAX = 4 << 20 };
    char *buf = malloc(MAX);
    FILE *f = fopen(path, "r");
    int found = 0;
    if (buf && f) {
        size_t n = fread(buf, 1, MAX - 1, f);
        buf[n] = '\0';
        found = strstr(buf, text) != NULL;
    }
    if (f)
        fclose(f);
    free(buf);
    return found;
}

/* ---- etcd ---- */

static pt_etcd etcd; /* one member */

/* etcdctl runs etcdctl against the test's etcd with the arguments given
 * (NULL-terminated, at most 8); its exit status. */
static int etcdctl(const char *a0, const char *a1, const char *a2, const char *a3)
{
    char ep[96], out[1024];
    snprintf(ep, sizeof ep, "--endpoints=%s", pt_etcd_urls(&etcd));
    const char *argv[] = {"etcdctl", ep, "--dial-timeout=2s", a0, a1, a2, a3, NULL};
    return run(argv, out, sizeof out);
}

/* etcd_start starts the test's etcd (its ports and folder chosen the first
 * time, the same ones again later) and waits (bounded) until it answers.
 * 0 or -1. */
static int etcd_start(void)
{
    if (etcd.n)
        return pt_etcd_restart(&etcd);
    pt_etcd_opts o = {.dir = dir};
    return pt_etcd_start(&etcd, 1, &o);
}

/* ---- matchmakers and servers ---- */

typedef struct mm {
    pid_t pid;
    int port;
    char host[8]; /* --cluster-host */
    char advertise[16];
    char addr[64]; /* tcp://127.0.0.1:PORT */
    char env[96];  /* PARLEY_MATCHMAKER=127.0.0.1:PORT */
    char log[200];
} mm;

static mm X = {.host = "hx", .advertise = "127.0.0.1"};
static mm Y = {.host = "hy", .advertise = "127.0.0.2"};

static parley_client *mm_client(const mm *m)
{
    parley_client *c = NULL;
    parley_client_opts o = {.timeout_ms = 3000};
    if (parley_client_create(&c, m->addr, MATCHMAKER_PROG, MATCHMAKER_VERS, &o) != PARLEY_OK)
        return NULL;
    return c;
}

/* mm_start_with starts m as the agent of the etcd at urls, with extra
 * arguments (NULL-terminated, at most 8; NULL: none), a lease of ttl
 * seconds and stale seconds of staleness, and waits (at most 10 s) until
 * it answers. 0 or -1. */
static int mm_start_with(mm *m, const char *urls, const char *const *extra, const char *ttl,
                         const char *stale)
{
    if (!m->port)
        m->port = pt_free_port();
    char port[16], sock[200];
    snprintf(port, sizeof port, "%d", m->port);
    snprintf(sock, sizeof sock, "%s/%s.sock", dir, m->host);
    snprintf(m->addr, sizeof m->addr, "tcp://127.0.0.1:%d", m->port);
    snprintf(m->env, sizeof m->env, "PARLEY_MATCHMAKER=127.0.0.1:%d", m->port);
    snprintf(m->log, sizeof m->log, "%s/%s.log", dir, m->host);
    const char *argv[40] = {daemon_path,  "--port",
                            port,         "--bind",
                            "127.0.0.1",  "--socket",
                            sock,         "--no-rpcbind-socket",
                            "--no-state", "--check-ms",
                            "200",        "--cluster",
                            urls,         "--advertise",
                            m->advertise, "--cluster-host",
                            m->host,      "--cluster-ttl",
                            ttl,          "--cluster-stale",
                            stale,        NULL};
    size_t n = 21;
    for (size_t i = 0; extra && extra[i] && i < 8; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    m->pid = pt_spawn(argv, m->log, NULL);
    if (m->pid < 0)
        return -1;
    for (int i = 0; i < 200; i++) {
        parley_client *c = mm_client(m);
        int rc = c ? matchmaker_null_1(c) : -1;
        parley_client_destroy(c);
        if (rc == PARLEY_OK)
            return 0;
        if (waitpid(m->pid, NULL, WNOHANG) == m->pid)
            break;
        pt_sleep_ms(50);
    }
    pt_stop(&m->pid, SIGKILL);
    return -1;
}

/* mm_start starts m as the agent of the test's etcd (mm_start_with). */
static int mm_start(mm *m, const char *ttl, const char *stale)
{
    return mm_start_with(m, pt_etcd_urls(&etcd), NULL, ttl, stale);
}

/* A registering server (mm_reg_peer) and the port it listens on. */
typedef struct peer {
    pid_t pid;
    unsigned port;
} peer;

static peer px, py;

/* X's lease before etcd was stopped (test_without_etcd_...) */
static int64_t x_lease_before;

/* peer_start starts mm_reg_peer registering name at listen with the
 * matchmaker m, and waits (at most 10 s) for its "ready". 0 or -1. */
static int peer_start(peer *p, const mm *m, const char *name, const char *listen)
{
    char log[200];
    snprintf(log, sizeof log, "%s/peer-%s.out", dir, name);
    unlink(log);
    const char *argv[] = {peer_path, name, listen, NULL};
    p->pid = pt_spawn(argv, log, m->env);
    for (int i = 0; i < 200 && p->pid > 0; i++) {
        char buf[512] = "";
        FILE *f = fopen(log, "r");
        if (f) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            buf[n] = '\0';
            fclose(f);
        }
        if (strstr(buf, "ready\n")) {
            const char *colon = strrchr(strtok(buf, "\n"), ':');
            p->port = colon ? (unsigned)atoi(colon + 1) : 0;
            return p->port ? 0 : -1;
        }
        if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
            p->pid = 0;
            break;
        }
        pt_sleep_ms(50);
    }
    pt_stop(&p->pid, SIGKILL);
    return -1;
}

/* ---- what a matchmaker answers ---- */

/* instances asks m for INSTANCES of name (any version and netid): the
 * status; the number of cluster instances in *ncluster and of local ones
 * in *nlocal; the first cluster instance in *first, its host and uaddr in
 * host (64 bytes) and uaddr (128), each when not NULL (its strings are not
 * kept: only its scalars are to be read). -1 when the call failed. */
static int instances(const mm *m, const char *name, int *nlocal, int *ncluster, mm_instance *first,
                     char *host, char *uaddr)
{
    parley_client *c = mm_client(m);
    if (!c)
        return -1;
    mm_query q = {S(name), 0, S("")};
    mm_instances_res res;
    memset(&res, 0, sizeof res);
    int rc = matchmaker_instances_1(c, &q, &res);
    parley_client_destroy(c);
    if (rc != PARLEY_OK)
        return -1;
    int st = res.status;
    *nlocal = *ncluster = 0;
    const mm_instance_list *l = &res.mm_instances_res_u.instances;
    for (u_int i = 0; st == MM_OK && i < l->mm_instance_list_len; i++) {
        const mm_instance *in = &l->mm_instance_list_val[i];
        if (in->origin == MM_ORIGIN_LOCAL) {
            (*nlocal)++;
            continue;
        }
        if ((*ncluster)++ > 0)
            continue;
        if (first)
            *first = *in;
        if (host)
            snprintf(host, 64, "%s", in->host);
        if (uaddr)
            snprintf(uaddr, 128, "%s", in->entry.uaddr);
    }
    mm_instances_res_free(&res);
    return st;
}

/* cluster_state asks m for CLUSTER: the state, its lease in *lease (may be
 * NULL); -1 when the call failed. */
static int cluster_state(const mm *m, int64_t *lease)
{
    parley_client *c = mm_client(m);
    if (!c)
        return -1;
    mm_cluster_info ci;
    memset(&ci, 0, sizeof ci);
    int rc = matchmaker_cluster_1(c, &ci);
    parley_client_destroy(c);
    if (rc != PARLEY_OK)
        return -1;
    int st = ci.state;
    if (lease)
        *lease = ci.lease;
    mm_cluster_info_free(&ci);
    return st;
}

/* lookup_status is LOOKUP's status for name at m, with the first entry's
 * owner in owner (64 bytes; may be NULL); -1 when the call failed. */
static int lookup_status(const mm *m, const char *name, char *owner)
{
    parley_client *c = mm_client(m);
    if (!c)
        return -1;
    mm_query q = {S(name), 0, S("")};
    mm_lookup_res res;
    memset(&res, 0, sizeof res);
    int rc = matchmaker_lookup_1(c, &q, &res);
    parley_client_destroy(c);
    if (rc != PARLEY_OK)
        return -1;
    int st = res.status;
    if (st == MM_OK && owner)
        snprintf(owner, 64, "%s", res.mm_lookup_res_u.entries.mm_entry_list_val[0].owner);
    mm_lookup_res_free(&res);
    return st;
}

/* wait_instances polls (every 100 ms, at most ms) until m's INSTANCES of
 * name has want cluster instances (0: answers MM_NOENT); 0 or -1. */
static int wait_instances(const mm *m, const char *name, int want, unsigned ms)
{
    for (unsigned t = 0; t <= ms; t += 100) {
        int nl = 0, nc = 0;
        int st = instances(m, name, &nl, &nc, NULL, NULL, NULL);
        if (want == 0 ? st == MM_NOENT : st == MM_OK && nc == want)
            return 0;
        pt_sleep_ms(100);
    }
    return -1;
}

/* wait_state polls (every 100 ms, at most ms) until m's state is want. */
static int wait_state(const mm *m, int want, unsigned ms)
{
    for (unsigned t = 0; t <= ms; t += 100) {
        if (cluster_state(m, NULL) == want)
            return 0;
        pt_sleep_ms(100);
    }
    return -1;
}

/* ---- the fixture ---- */

static int group_setup(void **state)
{
    (void)state;
    have_etcd = pt_on_path("etcd") && pt_on_path("etcdctl");
    if (!have_etcd) {
        snprintf(why_skip, sizeof why_skip,
                 "etcd or etcdctl is not on PATH (Debian: etcd-server, "
                 "etcd-client)");
        return 0;
    }
    if (etcd_start() != 0) {
        have_etcd = 0;
        snprintf(why_skip, sizeof why_skip, "etcd did not start (see its log in %s)", dir);
        return 0;
    }
    if (mm_start(&X, "3", "30") != 0 || mm_start(&Y, "3", Y_STALE) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    pt_stop(&px.pid, SIGKILL);
    pt_stop(&py.pid, SIGKILL);
    pt_stop(&X.pid, SIGKILL);
    pt_stop(&Y.pid, SIGKILL);
    pt_etcd_stop(&etcd);
    return 0;
}

#define NEED_ETCD()                                                                                \
    do {                                                                                           \
        if (!have_etcd) {                                                                          \
            printf("skipped: %s\n", why_skip);                                                     \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* ---- the cases, in order ---- */

static void test_a_name_registered_with_x_is_answered_by_y_from_the_cluster(void **state)
{
    (void)state;
    NEED_ETCD();
    assert_int_equal(wait_state(&X, MM_CLUSTER_CONNECTED, 20000), 0);
    assert_int_equal(wait_state(&Y, MM_CLUSTER_CONNECTED, 20000), 0);
    assert_int_equal(peer_start(&px, &X, "csvc", "tcp://0.0.0.0:0"), 0);
    assert_int_equal(wait_instances(&Y, "csvc", 1, 20000), 0);

    /* Y: X's instance, at X's advertised address and the server's port,
     * attached to X's lease */
    int nl, nc;
    mm_instance in;
    char host[64], uaddr[128], want[64];
    assert_int_equal(instances(&Y, "csvc", &nl, &nc, &in, host, uaddr), MM_OK);
    assert_int_equal(nl, 0);
    assert_int_equal(nc, 1);
    assert_string_equal(host, "hx");
    snprintf(want, sizeof want, "127.0.0.1.%u.%u", px.port >> 8, px.port & 0xff);
    assert_string_equal(uaddr, want);
    int64_t xlease = 0;
    assert_int_equal(cluster_state(&X, &xlease), MM_CLUSTER_CONNECTED);
    assert_true(xlease != 0);
    assert_true(in.lease == xlease);
    char owner[64];
    assert_int_equal(lookup_status(&Y, "csvc", owner), MM_OK);
    assert_string_equal(owner, "cluster");
    /* X: its own registration, local, and not again from the cluster */
    assert_int_equal(instances(&X, "csvc", &nl, &nc, NULL, NULL, NULL), MM_OK);
    assert_int_equal(nl, 1);
    assert_int_equal(nc, 0);

    /* a client asking Y calls the server by name */
    parley_client *c = NULL;
    parley_client_opts o = {.timeout_ms = 3000};
    setenv("PARLEY_MATCHMAKER", Y.addr + strlen("tcp://"), 1);
    assert_int_equal(parley_client_create(&c, "csvc", PEER_PROG, 1, &o), PARLEY_OK);
    assert_int_equal(parley_client_call(c, 0, NULL, NULL, 0, NULL, NULL, 0), PARLEY_OK);
    parley_client_destroy(c);

    /* parley-info on Y: the link and the cache, with the lease in hex;
     * lookup with the origin */
    char out[8192], lease_hex[32], yport[32];
    snprintf(yport, sizeof yport, "127.0.0.1:%d", Y.port);
    const char *list[] = {info_path, "-m", yport, "list", "--cluster", NULL};
    assert_int_equal(run(list, out, sizeof out), 0);
    assert_non_null(strstr(out, "state CONNECTED host hy lease "));
    snprintf(lease_hex, sizeof lease_hex, " %llx\n", (unsigned long long)xlease);
    assert_non_null(strstr(out, lease_hex));
    assert_non_null(strstr(out, "csvc"));
    const char *look[] = {info_path, "-m", yport, "lookup", "csvc", NULL};
    assert_int_equal(run(look, out, sizeof out), 0);
    snprintf(want, sizeof want, "tcp://127.0.0.1:%u\n", px.port);
    assert_non_null(strstr(out, "cluster hx"));
    assert_non_null(strstr(out, want));
    /* on X, its own instance, local, under its cluster name */
    char xport[32];
    snprintf(xport, sizeof xport, "127.0.0.1:%d", X.port);
    const char *xlook[] = {info_path, "-m", xport, "lookup", "csvc", NULL};
    assert_int_equal(run(xlook, out, sizeof out), 0);
    assert_non_null(strstr(out, "\nlocal   hx "));
    assert_null(strstr(out, "cluster"));
    assert_true(file_has(X.log, "cluster: lease ") && file_has(X.log, " granted (ttl 3 s)"));
}

static void test_unregistered_at_x_it_vanishes_at_y(void **state)
{
    (void)state;
    NEED_ETCD();
    assert_int_equal(pt_stop(&px.pid, SIGTERM), 0); /* it unregisters */
    assert_int_equal(wait_instances(&Y, "csvc", 0, 20000), 0);
    assert_int_equal(lookup_status(&Y, "csvc", NULL), MM_NOENT);
}

static void test_x_killed_its_entry_vanishes_with_its_lease(void **state)
{
    (void)state;
    NEED_ETCD();
    assert_int_equal(peer_start(&px, &X, "csvc", "tcp://0.0.0.0:0"), 0);
    assert_int_equal(wait_instances(&Y, "csvc", 1, 20000), 0);
    assert_int_equal(pt_stop(&X.pid, SIGKILL), 128 + SIGKILL);
    /* nothing revoked it: the lease (3 s) expires */
    assert_int_equal(wait_instances(&Y, "csvc", 0, 30000), 0);
    pt_stop(&px.pid, SIGKILL);
}

static void test_x_stopped_cleanly_revokes_its_lease_at_once(void **state)
{
    (void)state;
    NEED_ETCD();
    /* a lease of 30 s, which only a revocation ends within the wait */
    assert_int_equal(mm_start(&X, "30", "30"), 0);
    assert_int_equal(wait_state(&X, MM_CLUSTER_CONNECTED, 20000), 0);
    assert_int_equal(peer_start(&px, &X, "csvc", "tcp://0.0.0.0:0"), 0);
    assert_int_equal(wait_instances(&Y, "csvc", 1, 20000), 0);
    assert_int_equal(pt_stop(&X.pid, SIGTERM), 0);
    assert_true(file_has(X.log, "revoked (stopping)"));
    assert_int_equal(wait_instances(&Y, "csvc", 0, 10000), 0);
    pt_stop(&px.pid, SIGKILL);
}

static void test_malformed_keys_are_ignored_and_logged(void **state)
{
    (void)state;
    NEED_ETCD();
    /* a third host's entry written by hand, and malformed ones beside it */
    assert_int_equal(
        etcdctl("put", "/parley/v1/services/hand/hz/536870999/1/tcp", "10.9.8.7.0.80", NULL), 0);
    assert_int_equal(
        etcdctl("put", "/parley/v1/services/bad name/hz/1/1/tcp", "10.9.8.7.0.80", NULL), 0);
    assert_int_equal(
        etcdctl("put", "/parley/v1/services/badaddr/hz/1/1/tcp", "not-an-address", NULL), 0);
    assert_int_equal(
        etcdctl("put", "/parley/v1/services/badvers/hz/1/0/tcp", "10.9.8.7.0.80", NULL), 0);
    assert_int_equal(etcdctl("put", "/parley/v1/services/short/hz/1", "x", NULL), 0);
    assert_int_equal(wait_instances(&Y, "hand", 1, 20000), 0);
    for (int i = 0; i < 100 && !file_has(Y.log, "services/short/hz/1'"); i++)
        pt_sleep_ms(100);
    assert_true(file_has(Y.log, "ignoring the malformed key '/parley/v1/services/bad name/hz"));
    assert_true(file_has(Y.log, "services/badaddr/hz/1/1/tcp"));
    assert_true(file_has(Y.log, "services/badvers/hz/1/0/tcp"));
    assert_true(file_has(Y.log, "services/short/hz/1'"));
    assert_int_equal(lookup_status(&Y, "badaddr", NULL), MM_NOENT);
    assert_int_equal(lookup_status(&Y, "badvers", NULL), MM_NOENT);
    /* the cache still serves, and the matchmaker too */
    char owner[64];
    assert_int_equal(lookup_status(&Y, "hand", owner), MM_OK);
    assert_string_equal(owner, "cluster");
    assert_int_equal(cluster_state(&Y, NULL), MM_CLUSTER_CONNECTED);
    assert_int_equal(etcdctl("del", "--prefix", "/parley/v1/services/b", NULL), 0);
    assert_int_equal(etcdctl("del", "/parley/v1/services/short/hz/1", NULL, NULL), 0);
}

static void test_without_etcd_y_answers_from_its_cache_then_refuses_as_stale(void **state)
{
    (void)state;
    NEED_ETCD();
    assert_int_equal(mm_start(&X, "3", "30"), 0);
    assert_int_equal(peer_start(&px, &X, "csvc", "tcp://0.0.0.0:0"), 0);
    assert_int_equal(peer_start(&py, &Y, "ylocal", "tcp://127.0.0.1:0"), 0);
    assert_int_equal(wait_instances(&Y, "csvc", 1, 20000), 0);
    /* the server's new port, not the last one's */
    char host[64], uaddr[128], want[64];
    int nl, nc;
    snprintf(want, sizeof want, "127.0.0.1.%u.%u", px.port >> 8, px.port & 0xff);
    assert_int_equal(instances(&Y, "csvc", &nl, &nc, NULL, host, uaddr), MM_OK);
    assert_string_equal(uaddr, want);
    assert_int_equal(wait_state(&X, MM_CLUSTER_CONNECTED, 20000), 0);
    assert_int_equal(cluster_state(&X, &x_lease_before), MM_CLUSTER_CONNECTED);
    assert_true(pt_etcd_stop(&etcd) >= 0);

    /* DISCONNECTED: the cluster's names still answered from the cache
     * (a look-up between two answers of DISCONNECTED) */
    int seen = 0;
    for (int i = 0; i < 300 && !seen; i++) {
        int s1 = cluster_state(&Y, NULL);
        int l = lookup_status(&Y, "csvc", NULL);
        int s2 = cluster_state(&Y, NULL);
        if (s1 == MM_CLUSTER_DISCONNECTED && s2 == MM_CLUSTER_DISCONNECTED) {
            assert_int_equal(l, MM_OK);
            seen = 1;
        } else if (s2 == MM_CLUSTER_STALE) {
            break;
        }
        pt_sleep_ms(50);
    }
    assert_true(seen);

    /* STALE: refused, also through the client library and parley-info;
     * Y's own name still resolves */
    assert_int_equal(wait_state(&Y, MM_CLUSTER_STALE, 30000), 0);
    assert_int_equal(lookup_status(&Y, "csvc", NULL), MM_STALE);
    assert_int_equal(instances(&Y, "csvc", &nl, &nc, NULL, NULL, NULL), MM_STALE);
    assert_int_equal(lookup_status(&Y, "ylocal", NULL), MM_OK);
    assert_int_equal(lookup_status(&Y, "nosuch", NULL), MM_NOENT);
    parley_client *c = NULL;
    parley_client_opts o = {.timeout_ms = 3000};
    setenv("PARLEY_MATCHMAKER", Y.addr + strlen("tcp://"), 1);
    assert_int_equal(parley_client_create(&c, "csvc", PEER_PROG, 1, &o), PARLEY_ERR_CLUSTER_STALE);
    assert_int_equal(parley_client_create(&c, "ylocal", PEER_PROG, 1, &o), PARLEY_OK);
    parley_client_destroy(c);
    char out[4096], yport[32];
    snprintf(yport, sizeof yport, "127.0.0.1:%d", Y.port);
    const char *look[] = {info_path, "-m", yport, "lookup", "csvc", NULL};
    assert_int_equal(run(look, out, sizeof out), 1);
    assert_non_null(strstr(out, parley_strerror(PARLEY_ERR_CLUSTER_STALE)));
    const char *list[] = {info_path, "-m", yport, "list", "--cluster", NULL};
    assert_int_equal(run(list, out, sizeof out), 0);
    assert_non_null(strstr(out, "state STALE host hy lease 0 "));
    assert_non_null(strstr(out, "cannot connect")); /* the cause, named */
    /* each change logged (by the session thread, at its next look) */
    for (int i = 0; i < 100 && !file_has(Y.log, "cluster: now STALE"); i++)
        pt_sleep_ms(100);
    assert_true(file_has(Y.log, "cluster: now DISCONNECTED"));
    assert_true(file_has(Y.log, "cluster: now STALE"));
}

static void test_etcd_back_both_reconnect_x_republishes_y_resynchronises(void **state)
{
    (void)state;
    NEED_ETCD();
    int64_t now = -1, after = 0;
    assert_int_equal(cluster_state(&X, &now), MM_CLUSTER_DISCONNECTED);
    assert_int_equal(now, 0);          /* it holds no lease while cut off */
    assert_int_equal(etcd_start(), 0); /* the same folder and ports */
    assert_int_equal(wait_state(&X, MM_CLUSTER_CONNECTED, 30000), 0);
    assert_int_equal(wait_state(&Y, MM_CLUSTER_CONNECTED, 30000), 0);
    assert_true(file_has(X.log, "cluster: republished 1 entries under lease "));
    /* Y has X's entry under X's new lease */
    assert_int_equal(cluster_state(&X, &after), MM_CLUSTER_CONNECTED);
    assert_true(after != 0 && after != x_lease_before);
    int ok = 0;
    for (int i = 0; i < 200 && !ok; i++) {
        int nl, nc;
        mm_instance in;
        char host[64], uaddr[128];
        ok = instances(&Y, "csvc", &nl, &nc, &in, host, uaddr) == MM_OK && nc == 1 &&
             in.lease == after;
        if (!ok)
            pt_sleep_ms(100);
    }
    assert_true(ok);
    assert_int_equal(lookup_status(&Y, "csvc", NULL), MM_OK);
    assert_int_equal(lookup_status(&Y, "ylocal", NULL), MM_OK);
}

/* ---- TLS ---- */

static void test_the_agent_speaks_tls_with_its_certificates_and_names_a_tls_failure(void **state)
{
    (void)state;
    NEED_ETCD();
    if (!pt_on_path("openssl")) {
        print_message("skipped: openssl is not installed\n");
        skip();
    }
    char certs[200], ca[300], other[300], cert[300], key[300], scert[300], skey[300];
    snprintf(certs, sizeof certs, "%s/certs", dir);
    assert_int_equal(mkdir(certs, 0700), 0);
    assert_int_equal(pt_make_certs(certs), 0);
    snprintf(ca, sizeof ca, "%s/ca.pem", certs);
    snprintf(other, sizeof other, "%s/other-ca.pem", certs);
    snprintf(cert, sizeof cert, "%s/client.pem", certs);
    snprintf(key, sizeof key, "%s/client.key", certs);
    snprintf(scert, sizeof scert, "%s/server.pem", certs);
    snprintf(skey, sizeof skey, "%s/server.key", certs);
    /* a member that serves TLS and asks for client certificates */
    const char *server[] = {"--cert-file",       scert, "--key-file", skey, "--client-cert-auth",
                            "--trusted-ca-file", ca,    NULL};
    pt_etcd_opts o = {.dir = dir, .extra = server, .cacert = ca, .cert = cert, .key = key};
    pt_etcd tls;
    int started = pt_etcd_start(&tls, 1, &o);
    if (started != 0)
        pt_etcd_remove(&tls);
    assert_int_equal(started, 0);

    /* its certificates: connected; a CA that did not sign the member's, or
     * no client certificate: not, and the state's error says TLS */
    mm good = {.host = "tgood", .advertise = "127.0.0.3"};
    mm badca = {.host = "tbadca", .advertise = "127.0.0.4"};
    mm nocert = {.host = "tnocert", .advertise = "127.0.0.5"};
    const char *good_args[] = {
        "--cluster-cacert", ca, "--cluster-cert", cert, "--cluster-key", key, NULL};
    const char *badca_args[] = {
        "--cluster-cacert", other, "--cluster-cert", cert, "--cluster-key", key, NULL};
    const char *nocert_args[] = {"--cluster-cacert", ca, NULL};
    int rc_good = mm_start_with(&good, pt_etcd_urls(&tls), good_args, "3", "30");
    int rc_badca = mm_start_with(&badca, pt_etcd_urls(&tls), badca_args, "3", "30");
    int rc_nocert = mm_start_with(&nocert, pt_etcd_urls(&tls), nocert_args, "3", "30");
    int st_good = rc_good == 0 ? wait_state(&good, MM_CLUSTER_CONNECTED, 20000) : -1;
    int st_badca = rc_badca == 0 ? wait_state(&badca, MM_CLUSTER_DISCONNECTED, 20000) : -1;
    int st_nocert = rc_nocert == 0 ? wait_state(&nocert, MM_CLUSTER_DISCONNECTED, 20000) : -1;
    char out_badca[4096] = "", out_nocert[4096] = "";
    char port[16];
    snprintf(port, sizeof port, "127.0.0.1:%d", badca.port);
    const char *list_badca[] = {info_path, "-m", port, "list", "--cluster", NULL};
    if (rc_badca == 0)
        run(list_badca, out_badca, sizeof out_badca);
    char port2[16];
    snprintf(port2, sizeof port2, "127.0.0.1:%d", nocert.port);
    const char *list_nocert[] = {info_path, "-m", port2, "list", "--cluster", NULL};
    if (rc_nocert == 0)
        run(list_nocert, out_nocert, sizeof out_nocert);
    int stop_good = pt_stop(&good.pid, SIGTERM);
    pt_stop(&badca.pid, SIGKILL);
    pt_stop(&nocert.pid, SIGKILL);
    pt_etcd_remove(&tls);

    print_message("wrong CA: %s", out_badca);
    print_message("no client certificate: %s", out_nocert);
    assert_int_equal(rc_good, 0);
    assert_int_equal(st_good, 0);
    assert_int_equal(stop_good, 0);
    assert_int_equal(rc_badca, 0);
    assert_int_equal(st_badca, 0);
    assert_non_null(strstr(out_badca, "TLS failure"));
    assert_int_equal(rc_nocert, 0);
    assert_int_equal(st_nocert, 0);
    assert_non_null(strstr(out_nocert, "TLS failure"));
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s parley-matchmaker parley-info mm_reg_peer\n", argv[0]);
        return 2;
    }
    daemon_path = argv[1];
    info_path = argv[2];
    peer_path = argv[3];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mmcluster.XXXXXX",
             tmp && tmp[0] && strlen(tmp) < 64 ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_name_registered_with_x_is_answered_by_y_from_the_cluster),
        cmocka_unit_test(test_unregistered_at_x_it_vanishes_at_y),
        cmocka_unit_test(test_x_killed_its_entry_vanishes_with_its_lease),
        cmocka_unit_test(test_x_stopped_cleanly_revokes_its_lease_at_once),
        cmocka_unit_test(test_malformed_keys_are_ignored_and_logged),
        cmocka_unit_test(test_without_etcd_y_answers_from_its_cache_then_refuses_as_stale),
        cmocka_unit_test(test_etcd_back_both_reconnect_x_republishes_y_resynchronises),
        cmocka_unit_test(test_the_agent_speaks_tls_with_its_certificates_and_names_a_tls_failure),
    };
    int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);
    if (failed && getenv("PARLEY_KEEP_LOGS"))
        fprintf(stderr, "logs kept in %s\n", dir);
    else
        pt_rm_tree(dir);
    return failed;
}
