/*
 * tests/unit/test_store_crash.c: the crash safety of the completion store
 * (runtime/src/delivery/store.c), tested by crashing it.
 *
 * - A child process commits from four threads and reports each commit
 *   through a pipe only after pl_store_commit returned; the parent kills it
 *   with SIGKILL at a random moment, reopens the store and checks that every
 *   reported commit is there and that the key-value state is the effect of
 *   exactly the committed transactions. Seeded: the seed is printed, and
 *   PARLEY_STORE_SEED=<seed> replays the same kill times (PARLEY_STORE_ROUNDS
 *   sets the number of rounds).
 * - The last record cut at every offset, or garbled at every byte: open
 *   recovers everything before it and appends work afterwards. A record in
 *   the middle garbled at every byte: open fails with PARLEY_ERR_STORE.
 * - A full disk: a 256 KiB tmpfs in a private mount namespace (root only;
 *   skipped otherwise) filled by commits until PARLEY_ERR_NO_SPACE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "delivery/store.h"
#include "parley/error.h"

static char dir[256];
static char path[300];

static int setup(void **state)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/pl_crash_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/store", dir);
    return 0;
}

static int teardown(void **state)
{
    char p[320];
    unlink(path);
    snprintf(p, sizeof p, "%s.compact", path);
    unlink(p);
    rmdir(dir);
    return 0;
}

/* A small generator for the kill times, replayable from its seed. */
static uint64_t rng_next(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void client_id(uint8_t id[16], unsigned n)
{
    memset(id, 0x5a, 16);
    memcpy(id, &n, sizeof n);
}

/* read_u64 reads the counter at the NUL-terminated key k (0 when absent). */
static int read_u64(pl_store_txn *t, const char *k, uint64_t *out)
{
    const void *v;
    size_t vl;
    uint64_t x = 0;
    int rc = pl_store_get(t, k, strlen(k), &v, &vl);
    if (rc != PARLEY_OK)
        return rc;
    if (v != NULL) {
        if (vl != sizeof x)
            return PARLEY_ERR_STORE;
        memcpy(&x, v, sizeof x);
    }
    *out = x;
    return PARLEY_OK;
}

static uint64_t count_of(pl_store *s, const char *k)
{
    pl_store_txn *t;
    uint64_t n = 0;
    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    assert_int_equal(read_u64(t, k, &n), PARLEY_OK);
    pl_store_abort(t);
    return n;
}

/* ---- SIGKILL at random points --------------------------------------------- */

#define KILL_THREADS 4

typedef struct killer_arg {
    pl_store *s;
    unsigned n;
    int fd; /* the pipe to the parent */
} killer_arg;

typedef struct report {
    uint64_t thread, seq;
} report;

/* killer_thread is one thread of the child: as client n it increments its
 * own counter "c<n>" and the shared "total" in one transaction whose reply
 * is the new count, a started record before every seventh, an
 * acknowledgement now and then, and reports each seq after its commit
 * returned. It runs until killed. */
static void *killer_thread(void *arg)
{
    killer_arg *a = arg;
    char key[8];
    uint8_t id[16], reply[64];

    snprintf(key, sizeof key, "c%u", a->n);
    client_id(id, a->n);
    for (;;) {
        pl_store_txn *t;
        uint64_t c = 0, total = 0;
        if (pl_store_begin(a->s, &t) != PARLEY_OK || read_u64(t, key, &c) != PARLEY_OK ||
            read_u64(t, "total", &total) != PARLEY_OK)
            _exit(3);
        uint64_t seq = c + 1;
        if (seq % 7 == 0) {
            /* record it started outside the transaction, then read the
             * shared total again: another thread may have moved it */
            pl_store_abort(t);
            if (pl_store_started(a->s, id, seq) != PARLEY_OK)
                _exit(4);
            if (pl_store_begin(a->s, &t) != PARLEY_OK || read_u64(t, "total", &total) != PARLEY_OK)
                _exit(3);
        }
        c++;
        total++;
        memset(reply, (int)seq, sizeof reply);
        memcpy(reply, &c, sizeof c);
        if (pl_store_put(t, key, strlen(key), &c, sizeof c) != PARLEY_OK ||
            pl_store_put(t, "total", 5, &total, sizeof total) != PARLEY_OK)
            _exit(5);
        if (pl_store_commit(t, id, seq, reply, sizeof reply) != PARLEY_OK)
            _exit(6);
        report r = {a->n, seq};
        if (write(a->fd, &r, sizeof r) != (ssize_t)sizeof r)
            _exit(7);
        if (seq % 5 == 0 && pl_store_ack(a->s, id, seq - 4) != PARLEY_OK)
            _exit(8);
    }
    return NULL;
}

/* killer_child opens the store and commits from KILL_THREADS threads until
 * the parent kills it. */
static void killer_child(int fd, int durability)
{
    pl_store_opts o = {.durability = durability, .max_bytes = 16 << 10};
    pthread_t th[KILL_THREADS];
    killer_arg a[KILL_THREADS];
    pl_store *s;

    if (pl_store_open(&s, path, &o) != PARLEY_OK)
        _exit(2);
    for (unsigned i = 0; i < KILL_THREADS; i++) {
        a[i] = (killer_arg){s, i, fd};
        if (pthread_create(&th[i], NULL, killer_thread, &a[i]) != 0)
            _exit(2);
    }
    for (;;)
        pause();
}

static void test_sigkill_at_random_points_loses_no_reported_commit(void **state)
{
    const char *env = getenv("PARLEY_STORE_SEED");
    uint64_t seed =
        env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    const char *renv = getenv("PARLEY_STORE_ROUNDS");
    unsigned rounds = renv ? (unsigned)strtoul(renv, NULL, 0) : 50;
    uint64_t rng = seed, reported[KILL_THREADS] = {0}, torn_total = 0, commits_total = 0;
    struct timespec t0, now;

    print_message("seed %llu (replay: PARLEY_STORE_SEED=%llu), %u rounds\n",
                  (unsigned long long)seed, (unsigned long long)seed, rounds);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned round;
    for (round = 0; round < rounds; round++) {
        int durability = round % 2 ? PL_DUR_MACHINE : PL_DUR_PROCESS;
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            killer_child(p[1], durability);
        }
        close(p[1]);

        /* read reports until the kill time, then kill, then drain */
        int64_t wait_us = 2000 + (int64_t)(rng_next(&rng) % 40000);
        struct timespec start;
        clock_gettime(CLOCK_MONOTONIC, &start);
        report r;
        uint64_t got = 0;
        for (;;) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            int64_t el =
                (now.tv_sec - start.tv_sec) * 1000000 + (now.tv_nsec - start.tv_nsec) / 1000;
            if (el >= wait_us)
                break;
            struct pollfd pf = {p[0], POLLIN, 0};
            int ms = (int)((wait_us - el + 999) / 1000);
            if (poll(&pf, 1, ms) > 0) {
                ssize_t n = read(p[0], &r, sizeof r);
                if (n <= 0)
                    break;
                assert_int_equal(n, sizeof r);
                assert_true(r.thread < KILL_THREADS);
                assert_true(r.seq > reported[r.thread]);
                reported[r.thread] = r.seq;
                got++;
            }
        }
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status))
            fail_msg("round %u: the child exited with %d before the kill", round,
                     WEXITSTATUS(status));
        ssize_t n;
        while ((n = read(p[0], &r, sizeof r)) == (ssize_t)sizeof r) {
            reported[r.thread] = r.seq;
            got++;
        }
        close(p[0]);
        commits_total += got;

        /* every reported commit is there, and no other but the one each
         * thread may have had between its commit and its report */
        pl_store_opts o = {.durability = durability, .max_bytes = 16 << 10};
        pl_store *s;
        pl_store_stats st;
        int rc = pl_store_open(&s, path, &o);
        if (rc != PARLEY_OK)
            fail_msg("round %u: open after SIGKILL: %s (seed %llu)", round, parley_errname(rc),
                     (unsigned long long)seed);
        pl_store_stats_get(s, &st);
        torn_total += st.torn_bytes;
        uint64_t sum = 0;
        for (unsigned i = 0; i < KILL_THREADS; i++) {
            char key[8];
            uint8_t id[16], buf[64];
            size_t len;
            int cs;
            snprintf(key, sizeof key, "c%u", i);
            client_id(id, i);
            uint64_t c = count_of(s, key);
            if (c < reported[i] || c > reported[i] + 1)
                fail_msg("round %u thread %u: count %llu, reported %llu (seed %llu)", round, i,
                         (unsigned long long)c, (unsigned long long)reported[i],
                         (unsigned long long)seed);
            reported[i] = c; /* the next round goes on from there */
            sum += c;
            if (c > 0) {
                /* the last commit's record, with its effects */
                assert_int_equal(pl_store_lookup(s, id, c, buf, sizeof buf, &len, &cs), PARLEY_OK);
                assert_int_equal(cs, PL_STORE_DONE);
                assert_int_equal(len, 64);
                assert_memory_equal(buf, &c, sizeof c);
                assert_int_equal(buf[63], (uint8_t)c);
            }
            /* the next call never ran */
            assert_int_equal(pl_store_lookup(s, id, c + 1, buf, sizeof buf, &len, &cs), PARLEY_OK);
            assert_true(cs == PL_STORE_NONE || cs == PL_STORE_STARTED ||
                        (c == 0 && cs == PL_STORE_UNKNOWN)); /* nothing of it yet */
        }
        assert_int_equal(count_of(s, "total"), sum);
        pl_store_close(s);
        /* the recovered file is clean */
        assert_int_equal(pl_store_open(&s, path, &o), PARLEY_OK);
        pl_store_stats_get(s, &st);
        assert_int_equal(st.torn_bytes, 0);
        pl_store_close(s);

        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > 60) {
            round++;
            break;
        }
    }
    print_message("%u rounds, %llu reported commits, %llu torn bytes cut in all\n", round,
                  (unsigned long long)commits_total, (unsigned long long)torn_total);
    assert_true(commits_total > 0);
}

/* ---- torn and damaged records --------------------------------------------- */

/* build_log writes a store of 20 increments (calls 1..20 of one client,
 * with an acknowledgement riding along) and returns its bytes, with the
 * offsets where the 10th and the 20th records begin and end. */
static uint8_t *build_log(int durability, size_t *size, size_t mid[2], size_t last[2])
{
    pl_store_opts o = {.durability = durability};
    pl_store *s;
    pl_store_stats st;
    uint8_t id[16], reply[64];

    client_id(id, 77);
    unlink(path);
    assert_int_equal(pl_store_open(&s, path, &o), PARLEY_OK);
    for (uint64_t seq = 1; seq <= 20; seq++) {
        pl_store_txn *t;
        uint64_t c = 0;
        pl_store_stats_get(s, &st);
        if (seq == 10)
            mid[0] = st.file_bytes;
        if (seq == 11)
            mid[1] = st.file_bytes;
        if (seq == 20)
            last[0] = st.file_bytes;
        assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
        assert_int_equal(read_u64(t, "count", &c), PARLEY_OK);
        c++;
        assert_int_equal(pl_store_put(t, "count", 5, &c, sizeof c), PARLEY_OK);
        memset(reply, 0xab, sizeof reply);
        assert_int_equal(pl_store_commit(t, id, seq, reply, sizeof reply), PARLEY_OK);
        if (seq == 5)
            assert_int_equal(pl_store_ack(s, id, 3), PARLEY_OK);
    }
    pl_store_stats_get(s, &st);
    last[1] = st.file_bytes;
    pl_store_close(s);

    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    uint8_t *b = malloc(last[1]);
    assert_non_null(b);
    assert_int_equal(read(fd, b, last[1]), (ssize_t)last[1]);
    close(fd);
    *size = last[1];
    return b;
}

static void write_file(const uint8_t *b, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b, n), (ssize_t)n);
    close(fd);
}

static off_t file_size(void)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return sb.st_size;
}

/* check_recovered opens the store and checks that it holds the first 19
 * calls, that torn bytes were cut, and that appends work afterwards and
 * survive a reopen. */
static void check_recovered(int durability, size_t torn)
{
    pl_store_opts o = {.durability = durability};
    pl_store *s;
    pl_store_stats st;
    uint8_t id[16];
    pl_store_txn *t;
    uint8_t buf[64];
    size_t len;
    int cs;

    client_id(id, 77);
    assert_int_equal(pl_store_open(&s, path, &o), PARLEY_OK);
    pl_store_stats_get(s, &st);
    assert_int_equal(st.torn_bytes, torn);
    assert_int_equal(count_of(s, "count"), 19);
    assert_int_equal(pl_store_lookup(s, id, 19, buf, sizeof buf, &len, &cs), PARLEY_OK);
    assert_int_equal(cs, PL_STORE_DONE);
    assert_int_equal(pl_store_lookup(s, id, 20, buf, sizeof buf, &len, &cs), PARLEY_OK);
    assert_int_equal(cs, PL_STORE_NONE);
    assert_int_equal(pl_store_lookup(s, id, 2, buf, sizeof buf, &len, &cs), PARLEY_OK);
    assert_int_equal(cs, PL_STORE_ACKED);
    uint64_t c = 20;
    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    assert_int_equal(pl_store_put(t, "count", 5, &c, sizeof c), PARLEY_OK);
    assert_int_equal(pl_store_commit(t, id, 20, "x", 1), PARLEY_OK);
    pl_store_close(s);
    assert_int_equal(pl_store_open(&s, path, &o), PARLEY_OK);
    pl_store_stats_get(s, &st);
    assert_int_equal(st.torn_bytes, 0);
    assert_int_equal(count_of(s, "count"), 20);
    assert_int_equal(pl_store_lookup(s, id, 20, buf, sizeof buf, &len, &cs), PARLEY_OK);
    assert_int_equal(cs, PL_STORE_DONE);
    pl_store_close(s);
}

static void test_a_torn_last_record_is_cut_at_every_offset(void **state)
{
    for (int durability = PL_DUR_PROCESS; durability <= PL_DUR_MACHINE; durability++) {
        size_t n, mid[2], last[2];
        uint8_t *b = build_log(durability, &n, mid, last);
        for (size_t cut = last[0]; cut < last[1]; cut++) {
            write_file(b, cut);
            check_recovered(durability, cut - last[0]);
        }
        free(b);
    }
}

static void test_a_garbled_last_record_is_cut_whatever_byte_is_hit(void **state)
{
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    size_t n, mid[2], last[2];
    uint8_t *b = build_log(PL_DUR_PROCESS, &n, mid, last);

    for (size_t at = last[0]; at < last[1]; at++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            b[at] ^= masks[m];
            write_file(b, n);
            b[at] ^= masks[m];
            check_recovered(PL_DUR_PROCESS, last[1] - last[0]);
        }
    }
    /* trailing zeros, as a power loss may leave after the last record */
    uint8_t *z = calloc(1, n + 4096);
    assert_non_null(z);
    memcpy(z, b, last[0]);
    write_file(z, last[0] + 4096);
    check_recovered(PL_DUR_PROCESS, 4096);
    free(z);
    free(b);
}

static void test_a_damaged_record_in_the_middle_fails_the_open(void **state)
{
    for (int durability = PL_DUR_PROCESS; durability <= PL_DUR_MACHINE; durability++) {
        pl_store_opts o = {.durability = durability};
        size_t n, mid[2], last[2];
        uint8_t *b = build_log(durability, &n, mid, last);
        for (size_t at = mid[0]; at < mid[1]; at++) {
            pl_store *s = NULL;
            b[at] ^= 0x10;
            write_file(b, n);
            b[at] ^= 0x10;
            assert_int_equal(pl_store_open(&s, path, &o), PARLEY_ERR_STORE);
            assert_null(s);
            /* and the file was left alone, for a person to look at */
            assert_int_equal(file_size(), (off_t)n);
        }
        /* a cut in the middle is damage too: the records after it were durable */
        uint8_t *cut = malloc(n);
        assert_non_null(cut);
        memcpy(cut, b, mid[0] + 7);
        memcpy(cut + mid[0] + 7, b + mid[1], n - mid[1]);
        write_file(cut, mid[0] + 7 + n - mid[1]);
        pl_store *s = NULL;
        assert_int_equal(pl_store_open(&s, path, &o), PARLEY_ERR_STORE);
        free(cut);
        free(b);
    }
}

static void test_a_compaction_cut_short_by_a_crash_leaves_the_log_as_it_was(void **state)
{
    size_t n, mid[2], last[2];
    uint8_t *b = build_log(PL_DUR_PROCESS, &n, mid, last);
    char tmp[320];

    snprintf(tmp, sizeof tmp, "%s.compact", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, b, 100), 100); /* half a new file */
    close(fd);
    pl_store *s;
    assert_int_equal(pl_store_open(&s, path, NULL), PARLEY_OK);
    assert_int_equal(count_of(s, "count"), 20);
    assert_int_equal(access(tmp, F_OK), -1);
    pl_store_close(s);
    free(b);
}

/* ---- a full disk ------------------------------------------------------------ */

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);                  \
            _exit(1);                                                                              \
        }                                                                                          \
    } while (0)

/* full_commit is one increment of "count" as call seq, its reply 64 bytes
 * of the count; it returns the commit's result. */
static int full_commit(pl_store *s, const uint8_t id[16], uint64_t seq)
{
    pl_store_txn *t;
    uint64_t c = 0;
    uint8_t reply[64];

    CHECK(pl_store_begin(s, &t) == PARLEY_OK);
    CHECK(read_u64(t, "count", &c) == PARLEY_OK);
    c++;
    CHECK(pl_store_put(t, "count", 5, &c, sizeof c) == PARLEY_OK);
    memset(reply, (int)seq, sizeof reply);
    return pl_store_commit(t, id, seq, reply, sizeof reply);
}

static uint64_t full_count(pl_store *s)
{
    pl_store_txn *t;
    uint64_t c = 0;
    CHECK(pl_store_begin(s, &t) == PARLEY_OK);
    CHECK(read_u64(t, "count", &c) == PARLEY_OK);
    pl_store_abort(t);
    return c;
}

/* full_disk_child runs in its own mount namespace with a 256 KiB tmpfs at
 * dir. Exits 0 when every check passed, 77 when it cannot set up. */
static void full_disk_child(int durability)
{
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount("tmpfs", dir, "tmpfs", 0, "size=256k") < 0) {
        fprintf(stderr, "cannot mount a tmpfs in a mount namespace: %s\n", strerror(errno));
        _exit(77);
    }
    char filler[320];
    snprintf(filler, sizeof filler, "%s/filler", dir);
    int fd = open(filler, O_WRONLY | O_CREAT, 0600);
    CHECK(fd >= 0);
    static uint8_t junk[48 << 10];
    CHECK(write(fd, junk, sizeof junk) == (ssize_t)sizeof junk);
    close(fd);

    pl_store_opts o = {.durability = durability, .max_bytes = 64 << 10};
    pl_store *s;
    uint8_t id[16], buf[64];
    size_t len;
    int cs, rc = PARLEY_OK;
    uint64_t seq;

    client_id(id, 9);
    CHECK(pl_store_open(&s, path, &o) == PARLEY_OK);
    /* no acknowledgement: nothing dies, and the disk fills up */
    for (seq = 1; seq < 100000; seq++)
        if ((rc = full_commit(s, id, seq)) != PARLEY_OK)
            break;
    CHECK(rc == PARLEY_ERR_NO_SPACE);
    uint64_t done = seq - 1;
    CHECK(done > 100);
    CHECK(full_count(s) == done);
    /* the store goes on serving what it has, and refuses what does not fit */
    for (uint64_t k = 1; k <= done; k++) {
        CHECK(pl_store_lookup(s, id, k, buf, sizeof buf, &len, &cs) == PARLEY_OK);
        CHECK(cs == PL_STORE_DONE && len == 64 && buf[0] == (uint8_t)k);
    }
    CHECK(pl_store_lookup(s, id, seq, buf, sizeof buf, &len, &cs) == PARLEY_OK);
    CHECK(cs == PL_STORE_NONE);
    CHECK(full_commit(s, id, seq) == PARLEY_ERR_NO_SPACE);
    CHECK(full_count(s) == done);

    /* room again: the commit goes through */
    CHECK(unlink(filler) == 0);
    CHECK(full_commit(s, id, seq) == PARLEY_OK);
    done++;
    /* acknowledgements let compaction keep the file small from now on */
    CHECK(pl_store_ack(s, id, seq) == PARLEY_OK);
    for (uint64_t k = 0; k < 3000; k++) {
        seq++;
        CHECK(full_commit(s, id, seq) == PARLEY_OK);
        CHECK(pl_store_ack(s, id, seq) == PARLEY_OK);
        done++;
    }
    pl_store_stats st;
    pl_store_stats_get(s, &st);
    CHECK(st.compactions > 0);
    pl_store_close(s);

    /* nothing committed was lost, and the file is clean */
    CHECK(pl_store_open(&s, path, &o) == PARLEY_OK);
    pl_store_stats_get(s, &st);
    CHECK(st.torn_bytes == 0);
    CHECK(full_count(s) == done);
    CHECK(pl_store_lookup(s, id, seq, buf, sizeof buf, &len, &cs) == PARLEY_OK);
    CHECK(cs == PL_STORE_DONE && buf[0] == (uint8_t)seq);
    pl_store_close(s);
    fprintf(stderr, "full disk (%s): %llu calls fitted before PARLEY_ERR_NO_SPACE\n",
            durability == PL_DUR_MACHINE ? "machine" : "process",
            (unsigned long long)(done - 3001));
    _exit(0);
}

static void test_a_full_disk_gives_no_space_and_the_store_goes_on(void **state)
{
    if (geteuid() != 0)
        skip();
    for (int durability = PL_DUR_PROCESS; durability <= PL_DUR_MACHINE; durability++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            full_disk_child(durability);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 77) {
            print_message("no mount namespace or tmpfs here: skipped\n");
            skip();
        }
        assert_int_equal(WEXITSTATUS(status), 0);
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_a_torn_last_record_is_cut_at_every_offset),
        T(test_a_garbled_last_record_is_cut_whatever_byte_is_hit),
        T(test_a_damaged_record_in_the_middle_fails_the_open),
        T(test_a_compaction_cut_short_by_a_crash_leaves_the_log_as_it_was),
        T(test_a_full_disk_gives_no_space_and_the_store_goes_on),
        T(test_sigkill_at_random_points_loses_no_reported_commit),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
