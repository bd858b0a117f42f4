/*
 * test_etcd.c: the matchmaker's etcd client (matchmaker/etcd.c) against a
 * real etcd 3.4, started by the test on free loopback ports with a data
 * folder in a temporary folder, and against a fake HTTP server of the test
 * (a loopback socket answering fixed bytes) for the answers etcd never
 * sends. Some cases start an etcd of their own: one with TLS and client
 * certificates made with openssl(1), one with authentication on, one that
 * is compacted, one that is killed under a watch, one of two members that
 * loses its quorum (tests/support/etcd_member.c starts them). Every etcd
 * started is stopped (SIGTERM, then SIGKILL; it also dies with the test,
 * through PR_SET_PDEATHSIG) and its folder removed. Without etcd on PATH
 * every case is skipped with a printed reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
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
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "etcd.h"
#include "etcd_member.h"

/* ---- processes and folders ----------------------------------------------- */

static char tmpdir[128]; /* this run's temporary folder */
static int have_etcd;    /* etcd and etcdctl are on PATH */

/* ---- an etcd of the test ------------------------------------------------- */

/* etcd_start starts an etcd of n members in the run's folder, logging
 * only errors, with the TLS settings of tls (its extra arguments and the
 * client's files; NULL: plain HTTP), and waits until every member answers
 * (pt_etcd_start). 0 or -1; either way the caller releases e with
 * pt_etcd_remove(). */
static int etcd_start(pt_etcd *e, int n, const pt_etcd_opts *tls)
{
    pt_etcd_opts o = {0};
    if (tls)
        o = *tls;
    o.dir = tmpdir;
    o.log_level = "error";
    return pt_etcd_start(e, n, &o);
}

/* The etcd most cases share; each case works under a key prefix of its
 * own. */
static pt_etcd shared;

/* client_of makes a handle of endpoints, with a request timeout long
 * enough for an etcd that syncs its writes on a busy machine. */
static mm_etcd *client_of(const char *endpoints)
{
    mm_etcd *h = NULL;
    mm_etcd_err err;
    mm_etcd_cfg cfg = {.endpoints = endpoints, .timeout_ms = 15000};
    int rc = mm_etcd_create(&h, &cfg, &err);
    if (rc != MM_ETCD_OK)
        fprintf(stderr, "mm_etcd_create: %s\n", err.text);
    assert_int_equal(rc, MM_ETCD_OK);
    return h;
}

#define SKIP_WITHOUT_ETCD()                                                                        \
    do {                                                                                           \
        if (!have_etcd) {                                                                          \
            print_message("skipped: etcd or etcdctl is not installed (Debian: etcd-server, "       \
                          "etcd-client)\n");                                                       \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* expect_ok asserts rc is OK, printing err's text when it is not. */
#define expect_ok(rc, err)                                                                         \
    do {                                                                                           \
        int rc_ = (rc);                                                                            \
        if (rc_ != MM_ETCD_OK)                                                                     \
            fprintf(stderr, "%s:%d: %s (%s)\n", __FILE__, __LINE__, mm_etcd_strerror(rc_),         \
                    (err).text);                                                                   \
        assert_int_equal(rc_, MM_ETCD_OK);                                                         \
    } while (0)

/* ---- keys ---------------------------------------------------------------- */

static void test_put_then_range_reads_values_leases_and_nul_bytes(void **state)
{
    (void)state;
    SKIP_WITHOUT_ETCD();
    mm_etcd *h = client_of(shared.m[0].url);
    mm_etcd_err err;
    int64_t lease = 0, rev1 = 0, rev2 = 0;
    expect_ok(mm_etcd_lease_grant(h, 60, &lease, &err), err);
    assert_true(lease != 0);
    const char bin[] = {'a', '\0', 'b', '\0'};
    expect_ok(mm_etcd_put(h, "/t1/a", "one", 3, 0, &rev1, &err), err);
    expect_ok(mm_etcd_put(h, "/t1/b", bin, sizeof bin, lease, &rev2, &err), err);
    expect_ok(mm_etcd_put(h, "/t1/c", "", 0, 0, NULL, &err), err);
    expect_ok(mm_etcd_put(h, "/t10", "outside", 7, 0, NULL, &err), err);
    assert_true(rev2 > rev1 && rev1 > 0);

    mm_etcd_kvs kvs;
    expect_ok(mm_etcd_range(h, "/t1/", &kvs, &err), err);
    assert_int_equal(kvs.n, 3);
    assert_true(kvs.revision > rev2);
    assert_string_equal(kvs.kv[0].key, "/t1/a");
    assert_int_equal(kvs.kv[0].value_len, 3);
    assert_string_equal(kvs.kv[0].value, "one");
    assert_int_equal(kvs.kv[0].lease, 0);
    assert_int_equal(kvs.kv[0].mod_revision, rev1);
    assert_string_equal(kvs.kv[1].key, "/t1/b");
    assert_int_equal(kvs.kv[1].value_len, sizeof bin);
    assert_memory_equal(kvs.kv[1].value, bin, sizeof bin);
    assert_int_equal(kvs.kv[1].lease, lease);
    assert_int_equal(kvs.kv[1].mod_revision, rev2);
    assert_string_equal(kvs.kv[2].key, "/t1/c");
    assert_int_equal(kvs.kv[2].value_len, 0);
    assert_string_equal(kvs.kv[2].value, "");
    mm_etcd_kvs_free(&kvs);
    assert_null(kvs.kv);
    assert_int_equal(kvs.n, 0);

    /* an empty range */
    expect_ok(mm_etcd_range(h, "/t1-none/", &kvs, &err), err);
    assert_int_equal(kvs.n, 0);
    assert_true(kvs.revision > 0);
    mm_etcd_kvs_free(&kvs);
    expect_ok(mm_etcd_lease_revoke(h, lease, &err), err);
    mm_etcd_destroy(h);
}

static void test_range_reads_many_keys_in_key_order(void **state)
{
    (void)state;
    SKIP_WITHOUT_ETCD();
    mm_etcd *h = client_of(shared.m[0].url);
    mm_etcd_err err;
    enum { N = 600 };
    for (int i = N - 1; i >= 0; i--) {
        char key[64], val[64];
        snprintf(key, sizeof key, "/many/%04d", i);
        int n = snprintf(val, sizeof val, "value of %d", i);
        expect_ok(mm_etcd_put(h, key, val, (size_t)n, 0, NULL, &err), err);
    }
    mm_etcd_kvs kvs;
    expect_ok(mm_etcd_range(h, "/many/", &kvs, &err), err);
    assert_int_equal(kvs.n, N);
    for (int i = 0; i < N; i++) {
        char key[64], val[64];
        snprintf(key, sizeof key, "/many/%04d", i);
        snprintf(val, sizeof val, "value of %d", i);
        assert_string_equal(kvs.kv[i].key, key);
        assert_string_equal(kvs.kv[i].value, val);
    }
    mm_etcd_kvs_free(&kvs);

    /* the same answer past a small max_answer */
    mm_etcd *small = NULL;
    mm_etcd_cfg cfg = {.endpoints = shared.m[0].url, .max_answer = 4096, .timeout_ms = 15000};
    expect_ok(mm_etcd_create(&small, &cfg, &err), err);
    assert_int_equal(mm_etcd_range(small, "/many/", &kvs, &err), MM_ETCD_TOO_LARGE);
    assert_int_equal(err.code, MM_ETCD_TOO_LARGE);
    assert_non_null(strstr(err.text, shared.m[0].url));
    mm_etcd_destroy(small);
    mm_etcd_destroy(h);
}

static void test_a_value_larger_than_etcd_takes_is_too_large(void **state)
{
    (void)state;
    SKIP_WITHOUT_ETCD();
    mm_etcd *h = client_of(shared.m[0].url);
    mm_etcd_err err;
    /* past etcd's request limit (1.5 MiB), then past its gRPC limit (2 MiB) */
    size_t sizes[] = {(size_t)1600 << 10, (size_t)3 << 20};
    for (size_t i = 0; i < 2; i++) {
        char *v = malloc(sizes[i]);
        assert_non_null(v);
        memset(v, 'v', sizes[i]);
        int rc = mm_etcd_put(h, "/big/v", v, sizes[i], 0, NULL, &err);
        free(v);
        if (rc != MM_ETCD_TOO_LARGE)
            fprintf(stderr, "%zu bytes: %s (%s)\n", sizes[i], mm_etcd_strerror(rc), err.text);
        assert_int_equal(rc, MM_ETCD_TOO_LARGE);
        assert_non_null(strstr(err.text, shared.m[0].url));
    }
    mm_etcd_destroy(h);
}

static void test_delete_removes_one_key_or_a_prefix(void **state)
{
    (void)state;
    SKIP_WITHOUT_ETCD();
    mm_etcd *h = client_of(shared.m[0].url);
    mm_etcd_err err;
    const char *keys[] = {"/del/a", "/del/b/1", "/del/b/2", "/del/c"};
    for (size_t i = 0; i < 4; i++)
        expect_ok(mm_etcd_put(h, keys[i], "v", 1, 0, NULL, &err), err);
    int64_t n = -1;
    expect_ok(mm_etcd_delete(h, "/del/a", 0, &n, &err), err);
    assert_int_equal(n, 1);
    expect_ok(mm_etcd_delete(h, "/del/a", 0, &n, &err), err);
    assert_int_equal(n, 0); /* proto3 leaves the 0 out: read as 0 */
    expect_ok(mm_etcd_delete(h, "/del/b/", 1, &n, &err), err);
    assert_int_equal(n, 2);
    mm_etcd_kvs kvs;
    expect_ok(mm_etcd_range(h, "/del/", &kvs, &err), err);
    assert_int_equal(kvs.n, 1);
    assert_string_equal(kvs.kv[0].key, "/del/c");
    mm_etcd_kvs_free(&kvs);
    mm_etcd_destroy(h);
}

/* ---- leases -------------------------------------------------------------- */

static void test_lease_keepalive_and_revoke_and_its_keys_go(void **state)
{
    (void)state;
    SKIP_WITHOUT_ETCD();
    mm_etcd *h = client_of(shared.m[0].url);
    mm_etcd_err err;
    int64_t lease = 0, ttl = 0;
    expect_ok(mm_etcd_lease_grant(h, 30, &lease, &err), err);
    expect_ok(mm_etcd_lease_keepalive(h, lease, &ttl, &err), err);
    assert_true(ttl > 0 && ttl <= 30);
    expect_ok(mm_etcd_put(h, "/lease/a", "1", 1, lease, NULL, &err), err);
    expect_ok(mm_etcd_put(h, "/lease/b", "2", 1, lease, NULL, &err), err);
    expect_ok(mm_etcd_put(h, "/lease/c", "3", 1, 0, NULL, &err), err);
    expect_ok(mm_etcd_lease_revoke(h, lease, &err), err);

    mm_etcd_kvs kvs;
    expect_ok(mm_etcd_range(h, "/lease/", &kvs, &err), err);
    assert_int_equal(kvs.n, 1);
    assert_string_equal(kvs.kv[0].key, "/lease/c");
    mm_etcd_kvs_free(&kvs);

    assert_int_equal(mm_etcd_lease_keepalive(h, lease, &ttl, &err), MM_ETCD_NOT_FOUND);
    assert_int_equal(err.code, MM_ETCD_NOT_FOUND);
    assert_int_equal(mm_etcd_lease_revoke(h, lease, &err), MM_ETCD_NOT_FOUND);
    assert_non_null(strstr(err.text, "not found"));
    assert_int_equal(mm_etcd_put(h, "/lease/d", "4", 1, lease, NULL, &err), MM_ETCD_NOT_FOUND);
    mm_etcd_destroy(h);
}

static void test_an_expired_lease_is_not_found(void **state)
{
    (void)state;
    SKIP_WITHOUT_ETCD();
    mm_etcd *h = client_of(shared.m[0].url);
    mm_etcd_err err;
    int64_t lease = 0;
    expect_ok(mm_etcd_lease_grant(h, 2, &lease, &err), err);
    expect_ok(mm_etcd_put(h, "/expire/a", "1", 1, lease, NULL, &err), err);
    /* etcd expires a lease at its TTL, on its own clock: poll (bounded)
     * rather than assume when. */
    int rc = MM_ETCD_OK;
    for (int i = 0; i < 150 && rc == MM_ETCD_OK; i++) {
        mm_etcd_kvs kvs;
        expect_ok(mm_etcd_range(h, "/expire/", &kvs, &err), err);
        size_t n = kvs.n;
        mm_etcd_kvs_free(&kvs);
        if (n == 0)
            rc = mm_etcd_lease_keepalive(h, lease, NULL, &err);
        else
            pt_sleep_ms(100);
    }
    assert_int_equal(rc, MM_ETCD_NOT_FOUND);
    mm_etcd_destroy(h);
}

/* ---- watch --------------------------------------------------------------- */

/* What a watch's callback saw. */
typedef struct seen {
    pthread_mutex_t lock;
    int type[64];
    char key[64][32];
    char value[64][32];
    int64_t rev[64];
    atomic_int n;
    int64_t last_revision; /* the revision of the last answer */
    int stop_after;        /* return nonzero once n reaches it (0: never) */
} seen;

static int collect(void *ctx, const mm_etcd_event *ev, size_t n, int64_t revision)
{
    seen *s = ctx;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < n; i++) {
        int k = atomic_load(&s->n);
        if (k >= 64)
            break;
        s->type[k] = ev[i].type;
        snprintf(s->key[k], sizeof s->key[k], "%s", ev[i].key);
        snprintf(s->value[k], sizeof s->value[k], "%.*s", (int)ev[i].value_len, ev[i].value);
        s->rev[k] = ev[i].mod_revision;
        atomic_store(&s->n, k + 1);
    }
    s->last_revision = revision;
    int k = atomic_load(&s->n);
    pthread_mutex_unlock(&s->lock);
    return s->stop_after && k >= s->stop_after;
}

/* A watch run in a thread of its own. */
typedef struct watcher {
    pthread_t thread;
    mm_etcd *h;
    const char *prefix;
    int64_t start;
    seen *s;
    atomic_int stop;
    unsigned keepalive_s;
    int rc;
    int64_t compact;
    mm_etcd_err err;
    atomic_int done;
} watcher;

static void *watch_thread(void *arg)
{
    watcher *w = arg;
    w->rc = mm_etcd_watch(w->h, w->prefix, w->start, collect, w->s, &w->stop, w->keepalive_s,
                          &w->compact, &w->err);
    atomic_store(&w->done, 1);
    return NULL;
}

/* join_bounded waits up to 30 s for w's thread; 0, or -1 (then it stops
 * it and waits). */
static int join_bounded(watcher *w)
{
    for (int i = 0; i < 600 && !atomic_load(&w->done); i++)
        pt_sleep_ms(50);
    int ended = atomic_load(&w->done);
    if (!ended)
        atomic_store(&w->stop, 1);
    pthread_join(w->thread, NULL);
    return ended ? 0 : -1;
}

/* wait_for waits (at most 20 s) until s has seen n events. */
static int wait_for(seen *s, int n)
{
    for (int i = 0; i < 400 && atomic_load(&s->n) < n; i++)
        pt_sleep_ms(50);
    return atomic_load(&s->n) >= n ? 0 : -1;
}

static void test_watch_gives_history_in_order_and_its_callback_ends_it(void **state)
{
    (void)state;
    SKIP_WITHOUT_ETCD();
    mm_etcd *h = client_of(shared.m[0].url);
    mm_etcd_err err;
    int64_t r1, r2, r3;
    expect_ok(mm_etcd_put(h, "/hist/a", "1", 1, 0, &r1, &err), err);
    expect_ok(mm_etcd_put(h, "/hist/b", "2", 1, 0, &r2, &err), err);
    expect_ok(mm_etcd_put(h, "/histo", "x", 1, 0, NULL, &err), err); /* not under /hist/ */
    expect_ok(mm_etcd_delete(h, "/hist/a", 0, NULL, &err), err);
    mm_etcd_kvs kvs;
    expect_ok(mm_etcd_range(h, "/hist/", &kvs, &err), err);
    r3 = kvs.revision;
    mm_etcd_kvs_free(&kvs);

    seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .stop_after = 3};
    atomic_int stop = 0;
    int64_t compact = -1;
    int rc = mm_etcd_watch(h, "/hist/", r1, collect, &s, &stop, 0, &compact, &err);
    assert_int_equal(rc, MM_ETCD_STOPPED);
    assert_int_equal(atomic_load(&s.n), 3);
    assert_int_equal(s.type[0], MM_ETCD_PUT);
    assert_string_equal(s.key[0], "/hist/a");
    assert_string_equal(s.value[0], "1");
    assert_int_equal(s.rev[0], r1);
    assert_int_equal(s.type[1], MM_ETCD_PUT);
    assert_string_equal(s.key[1], "/hist/b");
    assert_int_equal(s.rev[1], r2);
    assert_int_equal(s.type[2], MM_ETCD_DELETE);
    assert_string_equal(s.key[2], "/hist/a");
    assert_string_equal(s.value[2], "");
    assert_int_equal(s.rev[2], r3);
    assert_true(s.last_revision >= r3);
    assert_int_equal(compact, -1); /* only given on COMPACTED */
    mm_etcd_destroy(h);
}

static void test_watch_delivers_puts_and_deletes_until_stopped(void **state)
{
    (void)state;
    SKIP_WITHOUT_ETCD();
    mm_etcd *h = client_of(shared.m[0].url);
    mm_etcd_err err;
    mm_etcd_kvs kvs;
    expect_ok(mm_etcd_range(h, "/live/", &kvs, &err), err);
    int64_t from = kvs.revision + 1;
    mm_etcd_kvs_free(&kvs);

    seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    watcher w = {.h = h, .prefix = "/live/", .start = from, .s = &s};
    assert_int_equal(pthread_create(&w.thread, NULL, watch_thread, &w), 0);
    int64_t revs[4];
    expect_ok(mm_etcd_put(h, "/live/x", "10", 2, 0, &revs[0], &err), err);
    expect_ok(mm_etcd_put(h, "/live/y", "20", 2, 0, &revs[1], &err), err);
    expect_ok(mm_etcd_put(h, "/live/x", "11", 2, 0, &revs[2], &err), err);
    expect_ok(mm_etcd_delete(h, "/live/", 1, NULL, &err), err);
    int ok = wait_for(&s, 5);
    atomic_store(&w.stop, 1);
    assert_int_equal(join_bounded(&w), 0);
    assert_int_equal(ok, 0);
    assert_int_equal(w.rc, MM_ETCD_STOPPED);
    assert_int_equal(w.err.code, MM_ETCD_STOPPED);
    assert_int_equal(atomic_load(&s.n), 5);
    assert_string_equal(s.key[0], "/live/x");
    assert_string_equal(s.value[0], "10");
    assert_int_equal(s.rev[0], revs[0]);
    assert_string_equal(s.key[1], "/live/y");
    assert_int_equal(s.rev[1], revs[1]);
    assert_string_equal(s.value[2], "11");
    assert_int_equal(s.rev[2], revs[2]);
    /* one delete of two keys: one revision, in key order */
    assert_int_equal(s.type[3], MM_ETCD_DELETE);
    assert_int_equal(s.type[4], MM_ETCD_DELETE);
    assert_string_equal(s.key[3], "/live/x");
    assert_string_equal(s.key[4], "/live/y");
    assert_int_equal(s.rev[3], s.rev[4]);
    assert_true(s.rev[3] > revs[2]);
    mm_etcd_destroy(h);
}

static void test_watch_of_a_compacted_revision_says_compacted(void **state)
{
    (void)state;
    SKIP_WITHOUT_ETCD();
    pt_etcd e;
    int started = etcd_start(&e, 1, NULL);
    if (started != 0)
        pt_etcd_remove(&e);
    assert_int_equal(started, 0);
    mm_etcd *h = client_of(e.m[0].url);
    mm_etcd_err err;
    int64_t r1, r;
    expect_ok(mm_etcd_put(h, "/c/a", "1", 1, 0, &r1, &err), err);
    for (int i = 0; i < 5; i++)
        expect_ok(mm_etcd_put(h, "/c/a", "2", 1, 0, &r, &err), err);
    char rev[32];
    snprintf(rev, sizeof rev, "%" PRId64, r);
    const char *argv[] = {"etcdctl", "--endpoints", e.m[0].url, "compact", rev, NULL};
    char log[300];
    snprintf(log, sizeof log, "%s/etcdctl.log", e.dir);
    int st = pt_run(argv, log);

    seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    atomic_int stop = 0;
    int64_t compact = 0;
    int rc = mm_etcd_watch(h, "/c/", r1, collect, &s, &stop, 0, &compact, &err);
    mm_etcd_destroy(h);
    pt_etcd_remove(&e);
    assert_int_equal(st, 0);
    assert_int_equal(rc, MM_ETCD_COMPACTED);
    assert_int_equal(err.code, MM_ETCD_COMPACTED);
    assert_int_equal(compact, r);
    assert_int_equal(atomic_load(&s.n), 0);
}

/* set_lo turns the loopback interface of this network namespace up or
 * down. 0 or -1. */
static int set_lo(int up)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        if (up)
            ifr.ifr_flags |= IFF_UP;
        else
            ifr.ifr_flags &= ~IFF_UP;
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    close(fd);
    return rc == 0 ? 0 : -1;
}

/* What the vanishing member's child process says: its exit status. */
enum {
    VANISH_OK = 0,
    VANISH_NO_NETNS = 2,
    VANISH_NO_ETCD = 3,
    VANISH_NO_EVENT = 4,
    VANISH_HUNG = 5,
    VANISH_WRONG = 6
};

/* vanish_child runs in a child process with a network namespace of its
 * own: an etcd there, a watch on it with keep-alives every second, then
 * the namespace's loopback taken down, so that the member's packets go
 * nowhere and it neither answers nor closes, as when its machine
 * vanished. Only the keep-alives can end the watch then. */
static int vanish_child(void)
{
    if (unshare(CLONE_NEWNET) != 0 || set_lo(1) != 0)
        return VANISH_NO_NETNS;
    pt_etcd e;
    if (etcd_start(&e, 1, NULL) != 0) {
        pt_etcd_remove(&e);
        return VANISH_NO_ETCD;
    }
    mm_etcd *h = NULL;
    mm_etcd_cfg cfg = {.endpoints = e.m[0].url, .timeout_ms = 15000};
    int64_t r1 = 0;
    int status = VANISH_NO_EVENT;
    if (mm_etcd_create(&h, &cfg, NULL) == MM_ETCD_OK &&
        mm_etcd_put(h, "/v/a", "1", 1, 0, &r1, NULL) == MM_ETCD_OK) {
        seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
        watcher w = {.h = h, .prefix = "/v/", .start = r1, .s = &s, .keepalive_s = 1};
        if (pthread_create(&w.thread, NULL, watch_thread, &w) == 0) {
            int ok = wait_for(&s, 1) == 0 && set_lo(0) == 0;
            int joined = join_bounded(&w);
            if (!ok)
                status = VANISH_NO_EVENT;
            else if (joined != 0)
                status = VANISH_HUNG;
            else if (w.rc != MM_ETCD_UNREACHABLE || !strstr(w.err.text, e.m[0].url))
                status = VANISH_WRONG;
            else
                status = VANISH_OK;
            if (status != VANISH_OK)
                fprintf(stderr, "the watch: %s (%s)\n", mm_etcd_strerror(w.rc), w.err.text);
        }
    }
    mm_etcd_destroy(h);
    pt_etcd_remove(&e);
    return status;
}

static void test_a_watch_on_a_member_that_vanished_ends_through_keepalives(void **state)
{
    (void)state;
    SKIP_WITHOUT_ETCD();
    if (getuid() != 0) {
        print_message("skipped: not root: the test takes a network namespace's loopback down\n");
        skip();
    }
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(vanish_child());
    int st = 0, done = 0;
    for (int i = 0; i < 1200 && !done; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            done = 1;
        else
            pt_sleep_ms(50);
    }
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    assert_true(done);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == VANISH_NO_NETNS) {
        print_message("skipped: cannot make a network namespace (unshare)\n");
        skip();
    }
    assert_int_equal(WEXITSTATUS(st), VANISH_OK);
}

static void test_a_watch_ends_with_an_error_when_etcd_is_killed(void **state)
{
    (void)state;
    SKIP_WITHOUT_ETCD();
    pt_etcd e;
    int started = etcd_start(&e, 1, NULL);
    if (started != 0)
        pt_etcd_remove(&e);
    assert_int_equal(started, 0);
    mm_etcd *h = client_of(e.m[0].url);
    mm_etcd_err err;
    int64_t r1;
    expect_ok(mm_etcd_put(h, "/k/a", "1", 1, 0, &r1, &err), err);
    seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    watcher w = {.h = h, .prefix = "/k/", .start = r1, .s = &s, .keepalive_s = 1};
    assert_int_equal(pthread_create(&w.thread, NULL, watch_thread, &w), 0);
    int ok = wait_for(&s, 1);
    pt_etcd_kill(&e, 0);
    int joined = join_bounded(&w);
    mm_etcd_destroy(h);
    pt_etcd_remove(&e);
    assert_int_equal(ok, 0);
    assert_int_equal(joined, 0);
    assert_true(w.rc != MM_ETCD_OK && w.rc != MM_ETCD_STOPPED);
    assert_non_null(strstr(w.err.text, e.m[0].url));
}

static void test_a_member_that_lost_its_leader_ends_the_watch_and_answers_no_leader(void **state)
{
    (void)state;
    SKIP_WITHOUT_ETCD();
    pt_etcd c; /* a (its member 0) and b (its member 1) */
    int started = etcd_start(&c, 2, NULL);
    if (started != 0)
        pt_etcd_remove(&c);
    assert_int_equal(started, 0);

    mm_etcd *h = client_of(c.m[0].url);
    mm_etcd_err err;
    int64_t r1;
    int rc_put = mm_etcd_put(h, "/nl/a", "1", 1, 0, &r1, &err);
    seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    watcher w = {.h = h, .prefix = "/nl/", .start = r1, .s = &s};
    assert_int_equal(pthread_create(&w.thread, NULL, watch_thread, &w), 0);
    int ok = wait_for(&s, 1);
    pt_etcd_kill(&c, 1); /* a alone is no quorum: it loses its leader */
    int joined = join_bounded(&w);
    mm_etcd_err err_after;
    int rc_after = mm_etcd_put(h, "/nl/b", "2", 1, 0, NULL, &err_after);
    mm_etcd_destroy(h);
    pt_etcd_remove(&c);
    expect_ok(rc_put, err);
    assert_int_equal(ok, 0);
    assert_int_equal(joined, 0);
    fprintf(stderr, "watch: %s (%s)\nput: %s (%s)\n", mm_etcd_strerror(w.rc), w.err.text,
            mm_etcd_strerror(rc_after), err_after.text);
    assert_int_equal(w.rc, MM_ETCD_UNREACHABLE);
    assert_non_null(strstr(w.err.text, "no leader"));
    /* asked to require a leader, a answers at once rather than time out */
    assert_int_equal(rc_after, MM_ETCD_UNREACHABLE);
    assert_non_null(strstr(err_after.text, c.m[0].url));
    assert_non_null(strstr(err_after.text, "no leader"));
}

/* ---- endpoints ----------------------------------------------------------- */

static void test_a_closed_first_endpoint_fails_over_to_the_second(void **state)
{
    (void)state;
    SKIP_WITHOUT_ETCD();
    char eps[300];
    snprintf(eps, sizeof eps, "http://127.0.0.1:%d, %s", pt_free_port(), shared.m[0].url);
    mm_etcd *h = client_of(eps);
    mm_etcd_err err;
    int64_t rev = 0;
    expect_ok(mm_etcd_put(h, "/fo/a", "1", 1, 0, &rev, &err), err);
    assert_int_equal(err.code, MM_ETCD_OK);
    mm_etcd_kvs kvs;
    expect_ok(mm_etcd_range(h, "/fo/", &kvs, &err), err);
    assert_int_equal(kvs.n, 1);
    mm_etcd_kvs_free(&kvs);
    seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .stop_after = 1};
    atomic_int stop = 0;
    assert_int_equal(mm_etcd_watch(h, "/fo/", rev, collect, &s, &stop, 0, NULL, &err),
                     MM_ETCD_STOPPED);
    mm_etcd_destroy(h);
}

static void test_all_endpoints_closed_is_unreachable_and_names_the_endpoint(void **state)
{
    (void)state;
    int p1 = pt_free_port(), p2 = pt_free_port();
    char eps[128], ep2[64];
    snprintf(ep2, sizeof ep2, "http://127.0.0.1:%d", p2);
    snprintf(eps, sizeof eps, "http://127.0.0.1:%d,%s", p1, ep2);
    mm_etcd *h = client_of(eps);
    mm_etcd_err err;
    assert_int_equal(mm_etcd_put(h, "/x", "1", 1, 0, NULL, &err), MM_ETCD_UNREACHABLE);
    assert_int_equal(err.code, MM_ETCD_UNREACHABLE);
    assert_non_null(strstr(err.text, ep2));
    assert_non_null(strstr(err.text, "cannot connect"));
    assert_non_null(strstr(err.text, "all 2 endpoints failed"));
    int64_t id;
    assert_int_equal(mm_etcd_lease_grant(h, 5, &id, &err), MM_ETCD_UNREACHABLE);
    seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    atomic_int stop = 0;
    assert_int_equal(mm_etcd_watch(h, "/x", 0, collect, &s, &stop, 0, NULL, &err),
                     MM_ETCD_UNREACHABLE);
    assert_non_null(strstr(err.text, "127.0.0.1"));
    assert_non_null(strstr(err.text, "all 2 endpoints failed"));
    mm_etcd_destroy(h);
}

/* ---- TLS ----------------------------------------------------------------- */

static void test_tls_with_the_right_certificates_works_and_wrong_ones_fail(void **state)
{
    (void)state;
    SKIP_WITHOUT_ETCD();
    if (!pt_on_path("openssl")) {
        print_message("skipped: openssl is not installed\n");
        skip();
    }
    char certs[200];
    snprintf(certs, sizeof certs, "%s/certs", tmpdir);
    assert_int_equal(mkdir(certs, 0700), 0);
    assert_int_equal(pt_make_certs(certs), 0);
    char ca[300], cert[300], key[300], scert[300], skey[300];
    snprintf(ca, sizeof ca, "%s/ca.pem", certs);
    snprintf(cert, sizeof cert, "%s/client.pem", certs);
    snprintf(key, sizeof key, "%s/client.key", certs);
    snprintf(scert, sizeof scert, "%s/server.pem", certs);
    snprintf(skey, sizeof skey, "%s/server.key", certs);
    /* the server's certificate, and client certificates required */
    const char *server[] = {"--cert-file",       scert, "--key-file", skey, "--client-cert-auth",
                            "--trusted-ca-file", ca,    NULL};
    pt_etcd_opts tls = {.extra = server, .cacert = ca, .cert = cert, .key = key};
    pt_etcd e;
    int started = etcd_start(&e, 1, &tls);
    if (started != 0)
        pt_etcd_remove(&e);
    assert_int_equal(started, 0);

    mm_etcd_err err;
    mm_etcd *h = NULL;
    mm_etcd_cfg right = {
        .endpoints = e.m[0].url, .cacert = ca, .cert = cert, .key = key, .timeout_ms = 15000};
    int rc_right = mm_etcd_create(&h, &right, &err);
    int rc_put = rc_right == MM_ETCD_OK ? mm_etcd_put(h, "/tls/a", "1", 1, 0, NULL, &err) : -1;
    char right_text[256];
    snprintf(right_text, sizeof right_text, "%s", err.text);
    mm_etcd_destroy(h);

    /* no client certificate */
    mm_etcd_cfg nocert = {.endpoints = e.m[0].url, .cacert = ca, .timeout_ms = 15000};
    mm_etcd_err err_nocert;
    h = NULL;
    int rc_nocert = mm_etcd_create(&h, &nocert, &err_nocert);
    if (rc_nocert == MM_ETCD_OK)
        rc_nocert = mm_etcd_put(h, "/tls/b", "1", 1, 0, NULL, &err_nocert);
    mm_etcd_destroy(h);

    /* a CA that did not sign the server's certificate */
    char other[300];
    snprintf(other, sizeof other, "%s/other-ca.pem", certs);
    mm_etcd_cfg wrongca = {
        .endpoints = e.m[0].url, .cacert = other, .cert = cert, .key = key, .timeout_ms = 15000};
    mm_etcd_err err_wrongca;
    h = NULL;
    int rc_wrongca = mm_etcd_create(&h, &wrongca, &err_wrongca);
    if (rc_wrongca == MM_ETCD_OK)
        rc_wrongca = mm_etcd_put(h, "/tls/c", "1", 1, 0, NULL, &err_wrongca);
    mm_etcd_destroy(h);

    /* plain HTTP to the TLS member */
    char plain[sizeof e.m[0].url];
    snprintf(plain, sizeof plain, "http://%.100s", e.m[0].url + strlen("https://"));
    mm_etcd_cfg http = {.endpoints = plain, .timeout_ms = 15000};
    mm_etcd_err err_http;
    h = NULL;
    int rc_http = mm_etcd_create(&h, &http, &err_http);
    if (rc_http == MM_ETCD_OK)
        rc_http = mm_etcd_put(h, "/tls/d", "1", 1, 0, NULL, &err_http);
    mm_etcd_destroy(h);
    pt_etcd_remove(&e);

    if (rc_put != MM_ETCD_OK)
        fprintf(stderr, "right certificates: %s\n", right_text);
    assert_int_equal(rc_right, MM_ETCD_OK);
    assert_int_equal(rc_put, MM_ETCD_OK);
    fprintf(stderr, "no client certificate: %s\n", err_nocert.text);
    assert_int_equal(rc_nocert, MM_ETCD_TLS);
    assert_non_null(strstr(err_nocert.text, "TLS"));
    assert_non_null(strstr(err_nocert.text, e.m[0].url));
    fprintf(stderr, "wrong CA: %s\n", err_wrongca.text);
    assert_int_equal(rc_wrongca, MM_ETCD_TLS);
    assert_non_null(strstr(err_wrongca.text, "TLS"));
    fprintf(stderr, "plain HTTP to a TLS member: %s (%s)\n", mm_etcd_strerror(rc_http),
            err_http.text);
    assert_int_not_equal(rc_http, MM_ETCD_OK);
}

/* ---- authentication ------------------------------------------------------ */

static void test_an_unauthenticated_put_with_auth_on_is_denied(void **state)
{
    (void)state;
    SKIP_WITHOUT_ETCD();
    pt_etcd e;
    int started = etcd_start(&e, 1, NULL);
    if (started != 0)
        pt_etcd_remove(&e);
    assert_int_equal(started, 0);
    char log[300];
    snprintf(log, sizeof log, "%s/etcdctl.log", e.dir);
    const char *add[] = {"etcdctl", "--endpoints", e.m[0].url, "user", "add", "root:pw", NULL};
    const char *enable[] = {"etcdctl", "--endpoints", e.m[0].url, "auth", "enable", NULL};
    int st_add = pt_run(add, log);
    int st_enable = st_add == 0 ? pt_run(enable, log) : -1;

    mm_etcd *h = client_of(e.m[0].url);
    mm_etcd_err err_put, err_range, err_lease, err_watch;
    int rc_put = mm_etcd_put(h, "/auth/a", "1", 1, 0, NULL, &err_put);
    mm_etcd_kvs kvs = {0};
    int rc_range = mm_etcd_range(h, "/auth/", &kvs, &err_range);
    mm_etcd_kvs_free(&kvs);
    int64_t id = 0;
    int rc_lease = mm_etcd_lease_grant(h, 5, &id, &err_lease);
    seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    atomic_int stop = 0;
    watcher w = {.h = h, .prefix = "/auth/", .s = &s};
    assert_int_equal(pthread_create(&w.thread, NULL, watch_thread, &w), 0);
    /* a denied watch may also just stay silent: stop it after a while */
    for (int i = 0; i < 40 && !atomic_load(&w.done); i++)
        pt_sleep_ms(50);
    atomic_store(&w.stop, 1);
    int joined = join_bounded(&w);
    err_watch = w.err;
    (void)stop;
    mm_etcd_destroy(h);
    pt_etcd_remove(&e);

    assert_int_equal(st_add, 0);
    assert_int_equal(st_enable, 0);
    fprintf(stderr, "put: %s\nrange: %s\nlease: %s (%s)\nwatch: %s (%s)\n", err_put.text,
            err_range.text, mm_etcd_strerror(rc_lease), err_lease.text, mm_etcd_strerror(w.rc),
            err_watch.text);
    assert_int_equal(rc_put, MM_ETCD_DENIED);
    assert_non_null(strstr(err_put.text, "permission denied"));
    assert_non_null(strstr(err_put.text, e.m[0].url));
    assert_int_equal(rc_range, MM_ETCD_DENIED);
    assert_int_equal(joined, 0);
    assert_int_equal(w.rc, MM_ETCD_DENIED);
    assert_int_equal(atomic_load(&s.n), 0);
}

/* ---- a fake server: answers etcd never sends ----------------------------- */

typedef struct fake {
    int fd;
    int port;
    const char *answer; /* sent as it is */
    size_t answer_len;
    size_t filler; /* then this many bytes of 'x' */
    int mode;      /* FAKE_CLOSE, FAKE_KEEP or FAKE_HOLD */
    atomic_int accepted;
    pthread_t thread;
    atomic_int stop;
} fake;

enum {
    FAKE_CLOSE, /* answer one request per connection, then close it */
    FAKE_KEEP,  /* answer every request of a connection until the client closes it */
    FAKE_HOLD   /* read the request and never answer */
};

/* fake_read reads one request of connection c (its headers and the body
 * Content-Length says) within about 5 s; 1, or 0 when the client closed
 * or the fake is stopping. */
static int fake_read(fake *f, int c)
{
    char req[65536];
    size_t got = 0, need = (size_t)-1;
    for (int i = 0; i < 100 && got < need && !atomic_load(&f->stop); i++) {
        struct pollfd q = {.fd = c, .events = POLLIN};
        if (poll(&q, 1, 50) <= 0)
            continue;
        ssize_t r = recv(c, req + got, sizeof req - 1 - got, 0);
        if (r <= 0)
            return 0;
        got += (size_t)r;
        req[got] = '\0';
        char *end = strstr(req, "\r\n\r\n");
        char *cl = strcasestr(req, "Content-Length:");
        if (end && cl)
            need = (size_t)(end + 4 - req) + strtoul(cl + 15, NULL, 10);
        if (got == sizeof req - 1)
            break;
    }
    return got >= need;
}

/* fake_answer sends f's answer and filler on c. */
static void fake_answer(fake *f, int c)
{
    send(c, f->answer, f->answer_len, MSG_NOSIGNAL);
    char chunk[4096];
    memset(chunk, 'x', sizeof chunk);
    for (size_t sent = 0; sent < f->filler;) {
        size_t n = f->filler - sent < sizeof chunk ? f->filler - sent : sizeof chunk;
        ssize_t w = send(c, chunk, n, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        sent += (size_t)w;
    }
}

/* fake_serve serves connections one at a time, as f->mode says, until
 * f->stop. */
static void *fake_serve(void *arg)
{
    fake *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd p = {.fd = f->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(f->fd, NULL, NULL);
        if (c < 0)
            continue;
        atomic_fetch_add(&f->accepted, 1);
        if (f->mode == FAKE_CLOSE) {
            fake_read(f, c);
            fake_answer(f, c);
        } else if (f->mode == FAKE_KEEP) {
            while (fake_read(f, c))
                fake_answer(f, c);
        } else {
            fake_read(f, c);
            char b[512];
            for (int i = 0; i < 600 && !atomic_load(&f->stop); i++) {
                struct pollfd q = {.fd = c, .events = POLLIN};
                if (poll(&q, 1, 50) > 0 && recv(c, b, sizeof b, 0) <= 0)
                    break;
            }
        }
        close(c);
    }
    return NULL;
}

static void fake_start_mode(fake *f, const char *answer, size_t filler, int mode);

static void fake_start(fake *f, const char *answer, size_t filler)
{
    fake_start_mode(f, answer, filler, FAKE_CLOSE);
}

/* fake_start_mode starts a fake server that answers answer (then filler
 * bytes of 'x') as mode says. */
static void fake_start_mode(fake *f, const char *answer, size_t filler, int mode)
{
    f->answer = answer;
    f->answer_len = strlen(answer);
    f->filler = filler;
    f->mode = mode;
    atomic_init(&f->stop, 0);
    atomic_init(&f->accepted, 0);
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    assert_int_equal(bind(f->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(f->fd, 8), 0);
    assert_int_equal(getsockname(f->fd, (struct sockaddr *)&a, &l), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_serve, f), 0);
}

static void fake_stop(fake *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->thread, NULL);
    close(f->fd);
}

/* One malformed answer and what each kind of request must make of it:
 * head is sent as it is, then (when body is not NULL) a Content-Length of
 * body and body, then filler bytes of 'x'. */
typedef struct bad_answer {
    const char *what;
    const char *head;
    const char *body;
    size_t filler;
    int unary; /* the code of put, range, grant and keep-alive */
    int watch; /* the code of a watch */
} bad_answer;

#define HTTP_OK "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"

static const bad_answer bad_answers[] = {
    {"not JSON", HTTP_OK, "hello world", 0, MM_ETCD_PROTOCOL, MM_ETCD_PROTOCOL},
    {"JSON without a result or a header", HTTP_OK, "{\"a\":[1]}", 0, MM_ETCD_PROTOCOL,
     MM_ETCD_PROTOCOL},
    {"a JSON array", HTTP_OK, "[1,2,3]", 0, MM_ETCD_PROTOCOL, MM_ETCD_PROTOCOL},
    {"a truncated body", HTTP_OK "Content-Length: 100\r\n\r\n{\"result\":{\"header\":", NULL, 0,
     MM_ETCD_PROTOCOL, MM_ETCD_PROTOCOL},
    {"a body cut by the close", HTTP_OK "\r\n{\"header\":{\"revision\":\"", NULL, 0,
     MM_ETCD_PROTOCOL, MM_ETCD_PROTOCOL},
    {"a huge body announced", HTTP_OK "Content-Length: 100000000\r\n\r\n{\"result\":\"", NULL,
     100000, MM_ETCD_TOO_LARGE, MM_ETCD_TOO_LARGE},
    {"a huge body not announced", HTTP_OK "\r\n{\"result\":\"", NULL, 100000, MM_ETCD_TOO_LARGE,
     MM_ETCD_TOO_LARGE},
    {"bad base64 and numbers", HTTP_OK,
     "{\"header\":{\"revision\":\"x\"},\"ID\":\"zz\",\"kvs\":[{\"key\":\"!!\"}],"
     "\"result\":{\"events\":[{\"kv\":{\"key\":\"%%%%\"}}],\"TTL\":\"\"}}",
     0, MM_ETCD_PROTOCOL, MM_ETCD_PROTOCOL},
    {"bad events", HTTP_OK,
     "{\"result\":{\"header\":{\"revision\":\"9\"},\"events\":[{\"type\":\"MOVE\",\"kv\":{}}],"
     "\"TTL\":\"-x\"}}",
     0, MM_ETCD_PROTOCOL, MM_ETCD_PROTOCOL},
    {"not HTTP", "SSH-2.0-OpenSSH\r\n", NULL, 0, MM_ETCD_PROTOCOL, MM_ETCD_PROTOCOL},
    {"an HTTP error without JSON", "HTTP/1.1 404 Not Found\r\n", "no!", 0, MM_ETCD_PROTOCOL,
     MM_ETCD_PROTOCOL},
};

static void test_malformed_answers_are_protocol_or_too_large_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_answers / sizeof bad_answers[0]; i++) {
        const bad_answer *b = &bad_answers[i];
        char answer[1024];
        if (b->body)
            snprintf(answer, sizeof answer, "%sContent-Length: %zu\r\n\r\n%s", b->head,
                     strlen(b->body), b->body);
        else
            snprintf(answer, sizeof answer, "%s", b->head);
        fake f;
        fake_start(&f, answer, b->filler);
        char url[64];
        snprintf(url, sizeof url, "http://127.0.0.1:%d", f.port);
        mm_etcd *h = NULL;
        mm_etcd_err err;
        mm_etcd_cfg cfg = {.endpoints = url, .max_answer = 4096, .timeout_ms = 3000};
        expect_ok(mm_etcd_create(&h, &cfg, &err), err);
        int64_t v;
        mm_etcd_kvs kvs = {0};
        int rc[5];
        rc[0] = mm_etcd_put(h, "/k", "v", 1, 0, &v, &err);
        rc[1] = mm_etcd_range(h, "/k", &kvs, &err);
        mm_etcd_kvs_free(&kvs);
        rc[2] = mm_etcd_lease_grant(h, 5, &v, &err);
        rc[3] = mm_etcd_lease_keepalive(h, 1, &v, &err);
        seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
        atomic_int stop = 0;
        rc[4] = mm_etcd_watch(h, "/k", 0, collect, &s, &stop, 0, NULL, &err);
        mm_etcd_destroy(h);
        fake_stop(&f);
        for (int k = 0; k < 5; k++) {
            int want = k < 4 ? b->unary : b->watch;
            if (rc[k] != want)
                fprintf(stderr, "%s: request %d: %s, wanted %s\n", b->what, k,
                        mm_etcd_strerror(rc[k]), mm_etcd_strerror(want));
            assert_int_equal(rc[k], want);
        }
        assert_non_null(strstr(err.text, url));
    }
}

static void test_requests_reuse_one_connection(void **state)
{
    (void)state;
    fake f;
    fake_start_mode(&f, HTTP_OK "Content-Length: 27\r\n\r\n{\"header\":{\"revision\":\"5\"}}", 0,
                    FAKE_KEEP);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f.port);
    mm_etcd *h = client_of(url);
    mm_etcd_err err;
    int rc = MM_ETCD_OK;
    for (int i = 0; i < 20 && rc == MM_ETCD_OK; i++) {
        int64_t rev = 0;
        rc = mm_etcd_put(h, "/k", "v", 1, 0, &rev, &err);
        if (rc == MM_ETCD_OK && rev != 5)
            rc = -1;
    }
    mm_etcd_destroy(h);
    fake_stop(&f);
    expect_ok(rc, err);
    assert_int_equal(atomic_load(&f.accepted), 1);
}

static void test_a_silent_endpoint_times_out_and_the_next_one_answers(void **state)
{
    (void)state;
    fake f;
    fake_start_mode(&f, "", 0, FAKE_HOLD);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f.port);
    mm_etcd *h = NULL;
    mm_etcd_err err_put, err_watch;
    mm_etcd_cfg cfg = {.endpoints = url, .timeout_ms = 300};
    expect_ok(mm_etcd_create(&h, &cfg, &err_put), err_put);
    int rc_put = mm_etcd_put(h, "/k", "v", 1, 0, NULL, &err_put);
    seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    atomic_int stop = 0;
    int rc_watch = mm_etcd_watch(h, "/k", 0, collect, &s, &stop, 0, NULL, &err_watch);
    mm_etcd_destroy(h);

    /* the same silent endpoint first, then one that answers at once (a
     * fake: a real etcd may take longer than this short timeout to sync a
     * write on a busy machine) */
    fake good;
    fake_start_mode(&good, HTTP_OK "Content-Length: 27\r\n\r\n{\"header\":{\"revision\":\"9\"}}", 0,
                    FAKE_KEEP);
    char eps[160];
    snprintf(eps, sizeof eps, "%s,http://127.0.0.1:%d", url, good.port);
    mm_etcd_cfg two = {.endpoints = eps, .timeout_ms = 300};
    mm_etcd_err err_next;
    expect_ok(mm_etcd_create(&h, &two, &err_next), err_next);
    int64_t rev = 0;
    int rc_next = mm_etcd_put(h, "/silent/k", "v", 1, 0, &rev, &err_next);
    mm_etcd_destroy(h);
    fake_stop(&good);
    fake_stop(&f);
    assert_int_equal(rc_put, MM_ETCD_TIMEDOUT);
    assert_non_null(strstr(err_put.text, url));
    assert_non_null(strstr(err_put.text, "timed out"));
    assert_int_equal(rc_watch, MM_ETCD_TIMEDOUT);
    assert_non_null(strstr(err_watch.text, url));
    expect_ok(rc_next, err_next);
    assert_int_equal(rev, 9);
}

/* A thread of the shared-handle case: puts and range reads of its own. */
typedef struct sharer {
    pthread_t thread;
    mm_etcd *h;
    int id;
    int rc;
    mm_etcd_err err;
} sharer;

static void *share_thread(void *arg)
{
    sharer *t = arg;
    t->rc = MM_ETCD_OK;
    for (int i = 0; i < 25 && t->rc == MM_ETCD_OK; i++) {
        char key[64];
        snprintf(key, sizeof key, "/share/%d/%02d", t->id, i);
        t->rc = mm_etcd_put(t->h, key, "v", 1, 0, NULL, &t->err);
        mm_etcd_kvs kvs;
        char prefix[64];
        snprintf(prefix, sizeof prefix, "/share/%d/", t->id);
        if (t->rc == MM_ETCD_OK)
            t->rc = mm_etcd_range(t->h, prefix, &kvs, &t->err);
        if (t->rc == MM_ETCD_OK) {
            if (kvs.n != (size_t)i + 1)
                t->rc = -1;
            mm_etcd_kvs_free(&kvs);
        }
    }
    return NULL;
}

static void test_threads_share_one_handle_while_it_watches(void **state)
{
    (void)state;
    SKIP_WITHOUT_ETCD();
    mm_etcd *h = client_of(shared.m[0].url);
    mm_etcd_err err;
    mm_etcd_kvs kvs;
    expect_ok(mm_etcd_range(h, "/share/", &kvs, &err), err);
    int64_t from = kvs.revision + 1;
    mm_etcd_kvs_free(&kvs);
    seen s = {.lock = PTHREAD_MUTEX_INITIALIZER, .stop_after = 0};
    watcher w = {.h = h, .prefix = "/share/", .start = from, .s = &s};
    assert_int_equal(pthread_create(&w.thread, NULL, watch_thread, &w), 0);
    sharer t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (sharer){.h = h, .id = i};
        assert_int_equal(pthread_create(&t[i].thread, NULL, share_thread, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i].thread, NULL);
    /* the callback keeps 64 events: wait for those */
    int ok = wait_for(&s, 64);
    atomic_store(&w.stop, 1);
    assert_int_equal(join_bounded(&w), 0);
    mm_etcd_destroy(h);
    for (int i = 0; i < 4; i++)
        expect_ok(t[i].rc, t[i].err);
    assert_int_equal(ok, 0);
    assert_int_equal(w.rc, MM_ETCD_STOPPED);
    for (int i = 1; i < 64; i++)
        assert_true(s.rev[i] > s.rev[i - 1]);
}

static void test_a_key_with_a_nul_byte_is_left_out_of_ranges_and_watches(void **state)
{
    (void)state;
    /* "/nul/a\0b" and "/nul/c", as a range's answer, then as a watch's */
    const char *range_body = "{\"header\":{\"revision\":\"7\"},\"kvs\":["
                             "{\"key\":\"L251bC9hAGI=\",\"mod_revision\":\"6\"},"
                             "{\"key\":\"L251bC9j\",\"value\":\"dg==\",\"mod_revision\":\"7\"}]}";
    char range[512];
    snprintf(range, sizeof range, "%sContent-Length: %zu\r\n\r\n%s", HTTP_OK, strlen(range_body),
             range_body);
    const char *watch = HTTP_OK "\r\n"
                                "{\"result\":{\"header\":{\"revision\":\"7\"},\"created\":true}}\n"
                                "{\"result\":{\"header\":{\"revision\":\"7\"},\"events\":["
                                "{\"kv\":{\"key\":\"L251bC9hAGI=\",\"mod_revision\":\"6\"}},"
                                "{\"kv\":{\"key\":\"L251bC9j\",\"value\":\"dg==\","
                                "\"mod_revision\":\"7\"}}]}}\n"
                                "{\"result\":{\"header\":{\"revision\":\"8\"},\"events\":["
                                "{\"type\":\"DELETE\",\"kv\":{\"key\":\"L251bC9hAGI=\","
                                "\"mod_revision\":\"8\"}}]}}\n";
    fake f;
    fake_start(&f, range, 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f.port);
    mm_etcd *h = client_of(url);
    mm_etcd_err err;
    mm_etcd_kvs kvs = {0};
    int rc_range = mm_etcd_range(h, "/nul/", &kvs, &err);
    mm_etcd_destroy(h);
    fake_stop(&f);
    expect_ok(rc_range, err);
    assert_int_equal(kvs.n, 1);
    assert_string_equal(kvs.kv[0].key, "/nul/c");
    assert_string_equal(kvs.kv[0].value, "v");
    assert_int_equal(kvs.revision, 7);
    mm_etcd_kvs_free(&kvs);

    fake_start(&f, watch, 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f.port);
    h = client_of(url);
    seen s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    atomic_int stop = 0;
    int rc_watch = mm_etcd_watch(h, "/nul/", 0, collect, &s, &stop, 0, NULL, &err);
    mm_etcd_destroy(h);
    fake_stop(&f);
    /* the fake closes after its answers: the stream ended */
    assert_int_equal(rc_watch, MM_ETCD_UNREACHABLE);
    assert_int_equal(atomic_load(&s.n), 1);
    assert_string_equal(s.key[0], "/nul/c");
    assert_int_equal(s.last_revision, 8); /* told of the answer it all left out */
}

/* ---- settings ------------------------------------------------------------ */

static void test_bad_settings_are_invalid_at_create(void **state)
{
    (void)state;
    mm_etcd *h = (mm_etcd *)&h;
    mm_etcd_err err;
    const char *bad[] = {"",
                         "127.0.0.1:2379",
                         "ftp://127.0.0.1:2379",
                         "http://",
                         "http://127.0.0.1:2379,",
                         "http://127.0.0.1:2379,,http://127.0.0.1:2380",
                         "http://127.0.0.1:2379/v3",
                         "http://u:p@127.0.0.1:2379",
                         "http://127.0.0.1:99999",
                         "unix:///run/etcd.sock"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mm_etcd_cfg cfg = {.endpoints = bad[i]};
        h = (mm_etcd *)&h;
        int rc = mm_etcd_create(&h, &cfg, &err);
        if (rc != MM_ETCD_INVALID)
            fprintf(stderr, "endpoint \"%s\": %s\n", bad[i], mm_etcd_strerror(rc));
        assert_int_equal(rc, MM_ETCD_INVALID);
        assert_int_equal(err.code, MM_ETCD_INVALID);
        assert_null(h);
    }
    mm_etcd_cfg big1 = {.endpoints = "http://127.0.0.1:1", .max_answer = (size_t)1 << 31};
    assert_int_equal(mm_etcd_create(&h, &big1, &err), MM_ETCD_INVALID);
    assert_non_null(strstr(err.text, "max_answer"));
    mm_etcd_cfg big2 = {.endpoints = "http://127.0.0.1:1", .max_idle = 100000};
    assert_int_equal(mm_etcd_create(&h, &big2, &err), MM_ETCD_INVALID);
    mm_etcd_cfg big3 = {.endpoints = "http://127.0.0.1:1", .timeout_ms = 4000000000u};
    assert_int_equal(mm_etcd_create(&h, &big3, &err), MM_ETCD_INVALID);
    mm_etcd_cfg nocert = {.endpoints = "https://127.0.0.1:1", .key = tmpdir};
    assert_int_equal(mm_etcd_create(&h, &nocert, &err), MM_ETCD_INVALID);
    mm_etcd_cfg none = {0};
    assert_int_equal(mm_etcd_create(&h, &none, &err), MM_ETCD_INVALID);
    assert_int_equal(mm_etcd_create(&h, NULL, &err), MM_ETCD_INVALID);

    char missing[256];
    snprintf(missing, sizeof missing, "%s/no-such-file.pem", tmpdir);
    mm_etcd_cfg c1 = {.endpoints = "https://127.0.0.1:1", .cacert = missing};
    assert_int_equal(mm_etcd_create(&h, &c1, &err), MM_ETCD_INVALID);
    assert_non_null(strstr(err.text, "no-such-file.pem"));
    mm_etcd_cfg c2 = {.endpoints = "https://127.0.0.1:1", .cert = missing, .key = missing};
    assert_int_equal(mm_etcd_create(&h, &c2, &err), MM_ETCD_INVALID);
    mm_etcd_cfg c3 = {.endpoints = "https://127.0.0.1:1", .cert = tmpdir};
    assert_int_equal(mm_etcd_create(&h, &c3, &err), MM_ETCD_INVALID);
    assert_null(h);

    /* good ones: several, spaces, a trailing '/', IPv6, a name */
    mm_etcd_cfg good = {.endpoints =
                            " http://127.0.0.1:2379/ ,https://[::1]:2379,http://localhost"};
    expect_ok(mm_etcd_create(&h, &good, &err), err);
    assert_non_null(h);
    mm_etcd_destroy(h);
    mm_etcd_destroy(NULL);

    /* bad arguments */
    h = client_of("http://127.0.0.1:1");
    int64_t v;
    atomic_int stop = 0;
    assert_int_equal(mm_etcd_put(h, "", "v", 1, 0, NULL, &err), MM_ETCD_INVALID);
    assert_int_equal(mm_etcd_put(h, "/k", NULL, 1, 0, NULL, &err), MM_ETCD_INVALID);
    assert_int_equal(mm_etcd_lease_grant(h, 0, &v, &err), MM_ETCD_INVALID);
    assert_int_equal(mm_etcd_lease_keepalive(h, 0, &v, &err), MM_ETCD_INVALID);
    assert_int_equal(mm_etcd_watch(h, "/k", 0, NULL, NULL, &stop, 0, NULL, &err), MM_ETCD_INVALID);
    assert_int_equal(mm_etcd_watch(h, "/k", 0, collect, NULL, &stop, 40000, NULL, &err),
                     MM_ETCD_INVALID);
    mm_etcd_destroy(h);
    for (int c = MM_ETCD_OK; c <= MM_ETCD_STOPPED; c++)
        assert_string_not_equal(mm_etcd_strerror(c), "unknown etcd error");
}

/* ---- the run ------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/parley-etcd-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir))
        return -1;
    have_etcd = pt_on_path("etcd") && pt_on_path("etcdctl");
    if (!have_etcd)
        return 0;
    if (etcd_start(&shared, 1, NULL) != 0) {
        pt_etcd_remove(&shared);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    pt_etcd_remove(&shared);
    pt_rm_tree(tmpdir);
    return 0;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_settings_are_invalid_at_create),
        cmocka_unit_test(test_malformed_answers_are_protocol_or_too_large_errors),
        cmocka_unit_test(test_all_endpoints_closed_is_unreachable_and_names_the_endpoint),
        cmocka_unit_test(test_requests_reuse_one_connection),
        cmocka_unit_test(test_a_key_with_a_nul_byte_is_left_out_of_ranges_and_watches),
        cmocka_unit_test(test_a_silent_endpoint_times_out_and_the_next_one_answers),
        cmocka_unit_test(test_threads_share_one_handle_while_it_watches),
        cmocka_unit_test(test_put_then_range_reads_values_leases_and_nul_bytes),
        cmocka_unit_test(test_range_reads_many_keys_in_key_order),
        cmocka_unit_test(test_a_value_larger_than_etcd_takes_is_too_large),
        cmocka_unit_test(test_delete_removes_one_key_or_a_prefix),
        cmocka_unit_test(test_lease_keepalive_and_revoke_and_its_keys_go),
        cmocka_unit_test(test_an_expired_lease_is_not_found),
        cmocka_unit_test(test_watch_gives_history_in_order_and_its_callback_ends_it),
        cmocka_unit_test(test_watch_delivers_puts_and_deletes_until_stopped),
        cmocka_unit_test(test_a_closed_first_endpoint_fails_over_to_the_second),
        cmocka_unit_test(test_watch_of_a_compacted_revision_says_compacted),
        cmocka_unit_test(test_a_watch_ends_with_an_error_when_etcd_is_killed),
        cmocka_unit_test(test_a_watch_on_a_member_that_vanished_ends_through_keepalives),
        cmocka_unit_test(test_a_member_that_lost_its_leader_ends_the_watch_and_answers_no_leader),
        cmocka_unit_test(test_tls_with_the_right_certificates_works_and_wrong_ones_fail),
        cmocka_unit_test(test_an_unauthenticated_put_with_auth_on_is_denied),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
