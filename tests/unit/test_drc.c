/*
 * tests/unit/test_drc.c: the duplicate request cache for callers without an
 * identity (runtime/src/delivery/drc.c): replay, duplicates dropped while
 * in progress, calls that share an xid told apart by the rest of their key,
 * the LRU bounds on entries and bytes, aging, and threads. Time is passed in
 * explicitly: nothing here sleeps.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "delivery/drc.h"
#include "parley/error.h"

#define MS ((int64_t)1000000)

static const uint8_t peer_a[6] = {10, 0, 0, 1, 0x03, 0x20};
static const uint8_t peer_b[6] = {10, 0, 0, 2, 0x03, 0x20};
static const char args_x[] = "the arguments of x";
static const char args_y[] = "the arguments of y";

static pl_drc_call call_of(const uint8_t *peer, uint32_t xid, const char *args)
{
    return (pl_drc_call){.peer = peer,
                         .peer_len = 6,
                         .xid = xid,
                         .prog = 100003,
                         .vers = 3,
                         .proc = 7,
                         .args = args,
                         .args_len = strlen(args)};
}

static pl_drc *make_drc(const pl_drc_opts *o)
{
    pl_drc *d = NULL;
    assert_int_equal(pl_drc_create(&d, o), PARLEY_OK);
    assert_non_null(d);
    return d;
}

/* begin returns the verdict for c and its ticket in *t; a reply comes with
 * PL_DRC_REPLAY only, and its first byte is returned in *first. */
static pl_drc_verdict begin(pl_drc *d, const pl_drc_call *c, int64_t now, pl_drc_ticket *t,
                            int *first)
{
    pl_drc_verdict v;
    pl_rc_reply *r = (pl_rc_reply *)1;
    pl_drc_ticket tk;
    assert_int_equal(pl_drc_begin(d, c, now, &tk, &v, &r), PARLEY_OK);
    if (v == PL_DRC_REPLAY) {
        assert_non_null(r);
        if (first)
            *first = r->len ? r->data[0] : -1;
    } else {
        assert_null(r);
    }
    pl_rc_reply_put(r);
    if (t)
        *t = tk;
    return v;
}

/* run begins c as a new call and finishes it with len bytes of fill. */
static void run(pl_drc *d, const pl_drc_call *c, size_t len, int fill, int64_t now)
{
    pl_drc_ticket t;
    uint8_t buf[4096];
    assert_true(len <= sizeof buf);
    memset(buf, fill, len);
    assert_int_equal(begin(d, c, now, &t, NULL), PL_DRC_NEW);
    assert_int_equal(pl_drc_finish(d, &t, buf, len, now), PARLEY_OK);
}

static pl_drc_stats stats(pl_drc *d)
{
    pl_drc_stats s;
    pl_drc_stats_get(d, &s);
    return s;
}

static void test_a_duplicate_of_a_finished_call_gets_its_reply_again(void **state)
{
    pl_drc *d = make_drc(NULL);
    pl_drc_call c = call_of(peer_a, 42, args_x);
    run(d, &c, 100, 'r', 0);
    int first = 0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(begin(d, &c, 10 * MS, NULL, &first), PL_DRC_REPLAY);
        assert_int_equal(first, 'r');
    }
    pl_drc_stats s = stats(d);
    assert_int_equal(s.replays, 3);
    assert_int_equal(s.entries, 1);
    assert_int_equal(s.in_progress, 0);
    pl_drc_destroy(d);
}

static void test_a_duplicate_while_the_call_runs_is_dropped(void **state)
{
    pl_drc *d = make_drc(NULL);
    pl_drc_call c = call_of(peer_a, 42, args_x);
    pl_drc_ticket t;
    assert_int_equal(begin(d, &c, 0, &t, NULL), PL_DRC_NEW);
    assert_int_equal(begin(d, &c, 0, NULL, NULL), PL_DRC_IN_PROGRESS);
    assert_int_equal(begin(d, &c, 0, NULL, NULL), PL_DRC_IN_PROGRESS);
    assert_int_equal(stats(d).dropped, 2);
    assert_int_equal(pl_drc_finish(d, &t, "ok", 2, 0), PARLEY_OK);
    int first;
    assert_int_equal(begin(d, &c, 0, NULL, &first), PL_DRC_REPLAY);
    assert_int_equal(first, 'o');
    pl_drc_destroy(d);
}

static void test_the_same_xid_with_other_arguments_or_from_elsewhere_is_another_call(void **state)
{
    pl_drc *d = make_drc(NULL);
    pl_drc_call c = call_of(peer_a, 42, args_x);
    run(d, &c, 1, 'x', 0);
    pl_drc_call other = call_of(peer_a, 42, args_y);
    assert_int_equal(begin(d, &other, 0, NULL, NULL), PL_DRC_NEW);
    /* the same arguments cut shorter */
    other = c;
    other.args_len--;
    assert_int_equal(begin(d, &other, 0, NULL, NULL), PL_DRC_NEW);
    other = call_of(peer_b, 42, args_x);
    assert_int_equal(begin(d, &other, 0, NULL, NULL), PL_DRC_NEW);
    other = c;
    other.proc = 8;
    assert_int_equal(begin(d, &other, 0, NULL, NULL), PL_DRC_NEW);
    other = c;
    other.vers = 4;
    assert_int_equal(begin(d, &other, 0, NULL, NULL), PL_DRC_NEW);
    other = c;
    other.prog = 100005;
    assert_int_equal(begin(d, &other, 0, NULL, NULL), PL_DRC_NEW);
    other = c;
    other.xid = 43;
    assert_int_equal(begin(d, &other, 0, NULL, NULL), PL_DRC_NEW);
    int first;
    assert_int_equal(begin(d, &c, 0, NULL, &first), PL_DRC_REPLAY);
    assert_int_equal(first, 'x');
    assert_int_equal(stats(d).entries, 8);
    pl_drc_destroy(d);
}

static void test_the_least_recently_used_entry_is_evicted_first(void **state)
{
    pl_drc_opts o = {.max_entries = 4, .shards = 1};
    pl_drc *d = make_drc(&o);
    pl_drc_call c[6];
    for (uint32_t i = 0; i < 6; i++)
        c[i] = call_of(peer_a, 100 + i, args_x);
    for (int i = 0; i < 4; i++)
        run(d, &c[i], 8, 'a' + i, i * MS);
    /* a replay makes call 0 the most recently used: call 1 goes first */
    assert_int_equal(begin(d, &c[0], 5 * MS, NULL, NULL), PL_DRC_REPLAY);
    run(d, &c[4], 8, 'e', 6 * MS);
    assert_int_equal(stats(d).entries, 4);
    assert_int_equal(stats(d).evictions, 1);
    int first;
    assert_int_equal(begin(d, &c[0], 7 * MS, NULL, &first), PL_DRC_REPLAY);
    assert_int_equal(first, 'a');
    assert_int_equal(begin(d, &c[2], 7 * MS, NULL, NULL), PL_DRC_REPLAY);
    assert_int_equal(begin(d, &c[3], 7 * MS, NULL, NULL), PL_DRC_REPLAY);
    assert_int_equal(begin(d, &c[4], 7 * MS, NULL, NULL), PL_DRC_REPLAY);
    /* forgotten: it runs again (and takes the place of the oldest) */
    assert_int_equal(begin(d, &c[1], 7 * MS, NULL, NULL), PL_DRC_NEW);
    assert_int_equal(stats(d).entries, 4);
    pl_drc_destroy(d);
}

static void test_the_byte_bound_evicts_old_replies_for_new_ones(void **state)
{
    pl_drc_opts o = {.max_bytes = 16 << 10, .shards = 1};
    pl_drc *d = make_drc(&o);
    for (uint32_t i = 0; i < 40; i++) {
        pl_drc_call c = call_of(peer_a, i, args_x);
        run(d, &c, 2000, 'b', 0);
        assert_true(stats(d).bytes <= o.max_bytes);
    }
    pl_drc_stats s = stats(d);
    assert_true(s.evictions >= 30);
    assert_int_equal(s.entries, 40 - s.evictions);
    pl_drc_call last = call_of(peer_a, 39, args_x);
    assert_int_equal(begin(d, &last, 0, NULL, NULL), PL_DRC_REPLAY);
    pl_drc_call oldest = call_of(peer_a, 0, args_x);
    assert_int_equal(begin(d, &oldest, 0, NULL, NULL), PL_DRC_NEW);
    pl_drc_destroy(d);
}

static void test_a_finished_entry_ages_out(void **state)
{
    pl_drc_opts o = {.max_age_ms = 1000};
    pl_drc *d = make_drc(&o);
    pl_drc_call c = call_of(peer_a, 42, args_x);
    pl_drc_ticket t;
    assert_int_equal(begin(d, &c, 0, &t, NULL), PL_DRC_NEW);
    /* its age counts from its finish, not its start */
    assert_int_equal(pl_drc_finish(d, &t, "r", 1, 500 * MS), PARLEY_OK);
    assert_int_equal(begin(d, &c, 1499 * MS, NULL, NULL), PL_DRC_REPLAY);
    assert_int_equal(begin(d, &c, 1500 * MS, NULL, NULL), PL_DRC_NEW);
    pl_drc_stats s = stats(d);
    assert_int_equal(s.aged, 1);
    assert_int_equal(s.entries, 1);
    assert_int_equal(s.in_progress, 1);
    pl_drc_destroy(d);
}

static void test_calls_in_progress_are_never_evicted_and_new_ones_run_untracked(void **state)
{
    pl_drc_opts o = {.max_entries = 3, .shards = 1};
    pl_drc *d = make_drc(&o);
    pl_drc_ticket t[3];
    for (uint32_t i = 0; i < 3; i++) {
        pl_drc_call c = call_of(peer_a, i, args_x);
        assert_int_equal(begin(d, &c, 0, &t[i], NULL), PL_DRC_NEW);
    }
    pl_drc_call late = call_of(peer_a, 99, args_x);
    pl_drc_ticket lt;
    assert_int_equal(begin(d, &late, 0, &lt, NULL), PL_DRC_NEW_UNTRACKED);
    assert_int_equal(pl_drc_finish(d, &lt, "u", 1, 0), PARLEY_OK); /* a no-op */
    assert_int_equal(stats(d).untracked, 1);
    for (uint32_t i = 0; i < 3; i++) {
        pl_drc_call c = call_of(peer_a, i, args_x);
        assert_int_equal(begin(d, &c, 0, NULL, NULL), PL_DRC_IN_PROGRESS);
    }
    /* once one finishes, it can make room */
    assert_int_equal(pl_drc_finish(d, &t[0], "f", 1, 0), PARLEY_OK);
    assert_int_equal(begin(d, &late, 0, NULL, NULL), PL_DRC_NEW);
    pl_drc_destroy(d);
}

static void test_abort_lets_a_duplicate_run(void **state)
{
    pl_drc *d = make_drc(NULL);
    pl_drc_call c = call_of(peer_a, 42, args_x);
    pl_drc_ticket t;
    assert_int_equal(begin(d, &c, 0, &t, NULL), PL_DRC_NEW);
    assert_int_equal(pl_drc_abort(d, &t), PARLEY_OK);
    assert_int_equal(stats(d).entries, 0);
    assert_int_equal(begin(d, &c, 0, &t, NULL), PL_DRC_NEW);
    assert_int_equal(pl_drc_finish(d, &t, "z", 1, 0), PARLEY_OK);
    assert_int_equal(pl_drc_abort(d, &t), PARLEY_OK); /* finished: kept */
    assert_int_equal(begin(d, &c, 0, NULL, NULL), PL_DRC_REPLAY);
    pl_drc_destroy(d);
}

static void test_a_reply_too_large_to_keep_is_forgotten(void **state)
{
    pl_drc_opts o = {.max_bytes = 4096, .shards = 1};
    pl_drc *d = make_drc(&o);
    pl_drc_call c = call_of(peer_a, 42, args_x);
    pl_drc_ticket t;
    uint8_t big[8192] = {0};
    assert_int_equal(begin(d, &c, 0, &t, NULL), PL_DRC_NEW);
    assert_int_equal(pl_drc_finish(d, &t, big, 4000, 0), PARLEY_ERR_LIMIT);
    assert_int_equal(stats(d).entries, 0);
    assert_int_equal(stats(d).bytes, 0);
    assert_int_equal(begin(d, &c, 0, &t, NULL), PL_DRC_NEW);
    assert_int_equal(pl_drc_finish(d, &t, big, sizeof big, 0), PARLEY_ERR_LIMIT);
    assert_int_equal(begin(d, &c, 0, &t, NULL), PL_DRC_NEW);
    pl_drc_destroy(d);
}

/* A reply that would fit the bound alone, but not beside the calls in
 * progress (which are never evicted), is refused before anything is
 * evicted: emptying the cache could not have made room for it. */
static void test_a_reply_with_no_room_beside_the_calls_in_progress_evicts_nothing(void **state)
{
    pl_drc_opts o = {.max_bytes = 16 << 10, .shards = 1};
    pl_drc *d = make_drc(&o);
    pl_drc_call done[3];
    for (uint32_t i = 0; i < 3; i++) {
        done[i] = call_of(peer_a, i, args_x);
        run(d, &done[i], 8, 'd', 0);
    }
    /* calls in progress until they count more than half the bound (the
     * size of an entry is the cache's business: the stats say it) */
    size_t before = stats(d).bytes;
    pl_drc_ticket t[200];
    uint32_t n = 0;
    while (stats(d).bytes - before <= o.max_bytes / 2 + 256) {
        assert_true(n < 200);
        pl_drc_call c = call_of(peer_b, 1000 + n, args_y);
        assert_int_equal(begin(d, &c, 0, &t[n], NULL), PL_DRC_NEW);
        n++;
    }
    size_t fixed = stats(d).bytes - before;
    /* half the bound: it fits alone, but not beside the calls in progress */
    static uint8_t reply[8 << 10];
    assert_true(fixed + sizeof reply > o.max_bytes);
    assert_int_equal(pl_drc_finish(d, &t[0], reply, sizeof reply, 0), PARLEY_ERR_LIMIT);
    pl_drc_stats s = stats(d);
    assert_int_equal(s.evictions, 0);
    assert_int_equal(s.in_progress, n - 1);
    for (uint32_t i = 0; i < 3; i++) {
        int first = 0;
        assert_int_equal(begin(d, &done[i], 0, NULL, &first), PL_DRC_REPLAY);
        assert_int_equal(first, 'd');
    }
    /* with the calls in progress done, the same reply finds its room */
    for (uint32_t i = 1; i < n; i++)
        assert_int_equal(pl_drc_abort(d, &t[i]), PARLEY_OK);
    pl_drc_call c = call_of(peer_b, 1000, args_y);
    assert_int_equal(begin(d, &c, 0, &t[0], NULL), PL_DRC_NEW);
    assert_int_equal(pl_drc_finish(d, &t[0], reply, sizeof reply, 0), PARLEY_OK);
    assert_int_equal(begin(d, &c, 0, NULL, NULL), PL_DRC_REPLAY);
    pl_drc_destroy(d);
}

static void test_bad_arguments_are_refused(void **state)
{
    pl_drc *d = NULL;
    pl_drc_opts o = {.shards = PL_DRC_MAX_SHARDS + 1};
    assert_int_equal(pl_drc_create(NULL, NULL), PARLEY_ERR_NULL);
    assert_int_equal(pl_drc_create(&d, &o), PARLEY_ERR_INVALID);
    o = (pl_drc_opts){.max_entries = 2, .shards = 4};
    assert_int_equal(pl_drc_create(&d, &o), PARLEY_ERR_INVALID);
    o = (pl_drc_opts){.max_bytes = 16};
    assert_int_equal(pl_drc_create(&d, &o), PARLEY_ERR_INVALID);
    assert_null(d);

    d = make_drc(NULL);
    uint8_t long_peer[PL_DRC_MAX_PEER + 1] = {0};
    pl_drc_call c = call_of(peer_a, 1, args_x);
    pl_drc_ticket t;
    pl_drc_verdict v;
    pl_rc_reply *r;
    assert_int_equal(pl_drc_begin(d, NULL, 0, &t, &v, &r), PARLEY_ERR_NULL);
    assert_int_equal(pl_drc_begin(d, &c, 0, &t, NULL, &r), PARLEY_ERR_NULL);
    c.args = NULL;
    assert_int_equal(pl_drc_begin(d, &c, 0, &t, &v, &r), PARLEY_ERR_NULL);
    c = call_of(long_peer, 1, args_x);
    c.peer_len = sizeof long_peer;
    assert_int_equal(pl_drc_begin(d, &c, 0, &t, &v, &r), PARLEY_ERR_INVALID);
    /* no peer bytes and no arguments are a key like any other */
    c = (pl_drc_call){.xid = 1};
    assert_int_equal(begin(d, &c, 0, &t, NULL), PL_DRC_NEW);
    assert_int_equal(pl_drc_finish(d, &t, NULL, 0, 0), PARLEY_OK);
    assert_int_equal(begin(d, &c, 0, NULL, NULL), PL_DRC_REPLAY);
    assert_int_equal(pl_drc_finish(d, &t, NULL, 1, 0), PARLEY_ERR_NULL);
    assert_int_equal(pl_drc_finish(NULL, &t, "x", 1, 0), PARLEY_ERR_NULL);
    assert_int_equal(pl_drc_abort(d, NULL), PARLEY_ERR_NULL);
    pl_drc_destroy(d);
    pl_drc_destroy(NULL);
}

/* ---- threads ---------------------------------------------------------- */

#define T_THREADS 8
#define T_CALLS   4000

typedef struct shared {
    pl_drc *d;
    atomic_uint runs[T_CALLS];
    atomic_int failed;
} shared;

/* worker sends every call, each twice, in an order of its own; all threads
 * send the same calls, as retransmissions racing each other. */
static void *worker(void *arg)
{
    shared *s = arg;
    static atomic_uint next_seed;
    unsigned seed = atomic_fetch_add(&next_seed, 1) * 2654435761u + 1;
    for (uint32_t n = 0; n < 2 * T_CALLS; n++) {
        seed = seed * 1103515245u + 12345u;
        uint32_t i = (n / 2 + (seed >> 16) % 64) % T_CALLS;
        uint8_t peer[4] = {10, 0, (uint8_t)(i >> 8), (uint8_t)i};
        pl_drc_call c = {.peer = peer,
                         .peer_len = 4,
                         .xid = i,
                         .prog = 1,
                         .vers = 1,
                         .proc = 1,
                         .args = &i,
                         .args_len = sizeof i};
        pl_drc_ticket t;
        pl_drc_verdict v;
        pl_rc_reply *r = NULL;
        if (pl_drc_begin(s->d, &c, 0, &t, &v, &r) != PARLEY_OK) {
            atomic_store(&s->failed, 1);
            return NULL;
        }
        if (v == PL_DRC_NEW) {
            atomic_fetch_add(&s->runs[i], 1);
            if (pl_drc_finish(s->d, &t, &i, sizeof i, 0) != PARLEY_OK)
                atomic_store(&s->failed, 2);
        } else if (v == PL_DRC_REPLAY) {
            if (r->len != sizeof i || memcmp(r->data, &i, sizeof i) != 0)
                atomic_store(&s->failed, 3);
            pl_rc_reply_put(r);
        } else if (v != PL_DRC_IN_PROGRESS) {
            atomic_store(&s->failed, 4);
        }
    }
    return NULL;
}

static void test_threads_racing_duplicates_run_each_call_once(void **state)
{
    pl_drc_opts o = {.max_entries = 2 * T_CALLS * 16, .shards = 4};
    shared *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->d = make_drc(&o);
    pthread_t th[T_THREADS];
    for (int t = 0; t < T_THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, worker, s), 0);
    for (int t = 0; t < T_THREADS; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(atomic_load(&s->failed), 0);
    pl_drc_stats st = stats(s->d);
    assert_int_equal(st.evictions, 0);
    assert_int_equal(st.untracked, 0);
    for (uint32_t i = 0; i < T_CALLS; i++)
        if (atomic_load(&s->runs[i]) > 1)
            fail_msg("call %u ran %u times", i, atomic_load(&s->runs[i]));
    pl_drc_destroy(s->d);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_duplicate_of_a_finished_call_gets_its_reply_again),
        cmocka_unit_test(test_a_duplicate_while_the_call_runs_is_dropped),
        cmocka_unit_test(test_the_same_xid_with_other_arguments_or_from_elsewhere_is_another_call),
        cmocka_unit_test(test_the_least_recently_used_entry_is_evicted_first),
        cmocka_unit_test(test_the_byte_bound_evicts_old_replies_for_new_ones),
        cmocka_unit_test(test_a_finished_entry_ages_out),
        cmocka_unit_test(test_calls_in_progress_are_never_evicted_and_new_ones_run_untracked),
        cmocka_unit_test(test_abort_lets_a_duplicate_run),
        cmocka_unit_test(test_a_reply_too_large_to_keep_is_forgotten),
        cmocka_unit_test(test_a_reply_with_no_room_beside_the_calls_in_progress_evicts_nothing),
        cmocka_unit_test(test_bad_arguments_are_refused),
        cmocka_unit_test(test_threads_racing_duplicates_run_each_call_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
