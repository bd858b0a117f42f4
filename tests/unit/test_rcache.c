/*
 * tests/unit/test_rcache.c: the server's reply cache
 * (runtime/src/delivery/cache.c): every verdict, the window, acks (freeing
 * at once, going backwards, hostile), forged ids, eviction under the memory
 * cap, leases, a flood of new identities against a well-behaved client, and
 * eight threads that must run each call exactly once. Time is passed to the
 * cache explicitly: nothing here sleeps.
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

#include "delivery/cache.h"
#include "parley/error.h"

#define MS  ((int64_t)1000000)
#define SEC (1000 * MS)

/* make_id writes an id made of n. */
static void make_id(uint8_t id[PL_RC_ID_LEN], uint64_t n)
{
    memset(id, 0xa5, PL_RC_ID_LEN);
    memcpy(id, &n, sizeof n);
}

static pl_rcache *make_cache(const pl_rcache_opts *o)
{
    pl_rcache *rc = NULL;
    assert_int_equal(pl_rcache_create(&rc, o), PARLEY_OK);
    assert_non_null(rc);
    return rc;
}

static void hello(pl_rcache *rc, const uint8_t *id, uint64_t first, int64_t now)
{
    pl_rc_hello h;
    assert_int_equal(pl_rcache_hello(rc, id, first, now, &h), PARLEY_OK);
    assert_int_equal(h, PL_RC_HELLO_CREATED);
}

/* begin returns the verdict of the call, checking that a reply comes with
 * PL_RC_DONE only, and puts it. */
static pl_rc_verdict begin(pl_rcache *rc, const uint8_t *id, uint64_t seq, uint64_t ack,
                           int64_t now)
{
    pl_rc_verdict v;
    pl_rc_reply *r = (pl_rc_reply *)1;
    assert_int_equal(pl_rcache_begin(rc, id, seq, ack, now, &v, &r), PARLEY_OK);
    if (v == PL_RC_DONE)
        assert_non_null(r);
    else
        assert_null(r);
    pl_rc_reply_put(r);
    return v;
}

/* replayed begins a retransmission of seq, expects its recorded reply and
 * returns its first byte. */
static int replayed(pl_rcache *rc, const uint8_t *id, uint64_t seq, uint64_t ack, int64_t now,
                    size_t len)
{
    pl_rc_verdict v;
    pl_rc_reply *r = NULL;
    assert_int_equal(pl_rcache_begin(rc, id, seq, ack, now, &v, &r), PARLEY_OK);
    assert_int_equal(v, PL_RC_DONE);
    assert_non_null(r);
    assert_int_equal(r->len, len);
    int first = len ? r->data[0] : -1;
    pl_rc_reply_put(r);
    return first;
}

/* finish records a reply of len bytes of fill. */
static int finish(pl_rcache *rc, const uint8_t *id, uint64_t seq, size_t len, int fill, int64_t now)
{
    uint8_t buf[4096];
    assert_true(len <= sizeof buf);
    memset(buf, fill, len);
    return pl_rcache_finish(rc, id, seq, buf, len, now);
}

static pl_rcache_stats stats(pl_rcache *rc)
{
    pl_rcache_stats s;
    pl_rcache_stats_get(rc, &s);
    return s;
}

static void
test_a_new_call_runs_once_and_its_retransmissions_get_running_then_the_reply(void **state)
{
    pl_rcache *rc = make_cache(NULL);
    uint8_t id[16];
    make_id(id, 1);
    hello(rc, id, 1, 0);
    assert_int_equal(begin(rc, id, 1, 1, 0), PL_RC_NEW);
    assert_int_equal(begin(rc, id, 1, 1, 0), PL_RC_RUNNING);
    assert_int_equal(stats(rc).running, 1);
    assert_int_equal(finish(rc, id, 1, 40, 'x', 0), PARLEY_OK);
    assert_int_equal(replayed(rc, id, 1, 1, 0, 40), 'x');
    assert_int_equal(replayed(rc, id, 1, 1, 0, 40), 'x');
    pl_rcache_stats s = stats(rc);
    assert_int_equal(s.running, 0);
    assert_int_equal(s.done, 1);
    assert_int_equal(s.reply_bytes, 40);
    pl_rcache_destroy(rc);
}

static void test_a_reply_handed_out_outlives_its_acknowledgement(void **state)
{
    pl_rcache *rc = make_cache(NULL);
    uint8_t id[16];
    make_id(id, 1);
    hello(rc, id, 1, 0);
    assert_int_equal(begin(rc, id, 1, 1, 0), PL_RC_NEW);
    assert_int_equal(finish(rc, id, 1, 100, 'r', 0), PARLEY_OK);
    pl_rc_verdict v;
    pl_rc_reply *r = NULL;
    assert_int_equal(pl_rcache_begin(rc, id, 1, 1, 0, &v, &r), PARLEY_OK);
    assert_int_equal(v, PL_RC_DONE);
    /* the next call acknowledges the first: the cache lets go of its reply */
    assert_int_equal(begin(rc, id, 2, 2, 0), PL_RC_NEW);
    assert_int_equal(stats(rc).done, 0);
    assert_int_equal(r->len, 100);
    assert_int_equal(r->data[99], 'r');
    pl_rc_reply_put(r);
    pl_rcache_destroy(rc);
}

static void test_a_call_from_an_id_that_never_said_hello_is_unknown(void **state)
{
    pl_rcache *rc = make_cache(NULL);
    uint8_t id[16], forged[16];
    make_id(id, 1);
    hello(rc, id, 1, 0);
    size_t before = stats(rc).bytes;
    for (uint64_t n = 2; n < 1000; n++) {
        make_id(forged, n);
        assert_int_equal(begin(rc, forged, 1, 1, 0), PL_RC_UNKNOWN_CLIENT);
        assert_int_equal(pl_rcache_finish(rc, forged, 1, "x", 1, 0), PARLEY_OK);
        assert_int_equal(pl_rcache_abort(rc, forged, 1), PARLEY_OK);
    }
    /* one bit off a real id is another id */
    memcpy(forged, id, 16);
    forged[15] ^= 1;
    assert_int_equal(begin(rc, forged, 1, 1, 0), PL_RC_UNKNOWN_CLIENT);
    pl_rcache_stats s = stats(rc);
    assert_int_equal(s.unknown, 999);
    assert_int_equal(s.bytes, before);
    assert_int_equal(s.clients, 1);
    assert_int_equal(begin(rc, id, 1, 1, 0), PL_RC_NEW);
    pl_rcache_destroy(rc);
}

static void test_the_window_admits_floor_plus_window_minus_one_and_refuses_one_more(void **state)
{
    pl_rcache_opts o = {.window = 64};
    pl_rcache *rc = make_cache(&o);
    uint8_t id[16];
    make_id(id, 1);
    hello(rc, id, 10, 0);
    assert_int_equal(begin(rc, id, 10 + 64, 10, 0), PL_RC_BEYOND_WINDOW);
    assert_int_equal(begin(rc, id, 10 + 63, 10, 0), PL_RC_NEW);
    assert_int_equal(begin(rc, id, 10, 10, 0), PL_RC_NEW);
    /* once the ack moves, the window moves with it */
    assert_int_equal(finish(rc, id, 10, 1, 'a', 0), PARLEY_OK);
    assert_int_equal(begin(rc, id, 11, 11, 0), PL_RC_NEW);
    assert_int_equal(begin(rc, id, 11 + 64, 11, 0), PL_RC_BEYOND_WINDOW);
    assert_int_equal(begin(rc, id, 11 + 63, 11, 0), PL_RC_NEW);
    assert_int_equal(stats(rc).beyond_window, 2);
    pl_rcache_destroy(rc);
}

static void test_a_call_far_ahead_is_refused_without_allocating(void **state)
{
    pl_rcache *rc = make_cache(NULL);
    uint8_t id[16];
    make_id(id, 1);
    hello(rc, id, 1, 0);
    size_t before = stats(rc).bytes;
    assert_int_equal(begin(rc, id, UINT64_MAX, 1, 0), PL_RC_BEYOND_WINDOW);
    assert_int_equal(begin(rc, id, 1u << 20, 1, 0), PL_RC_BEYOND_WINDOW);
    assert_int_equal(begin(rc, id, 1 + PL_RCACHE_DEFAULT_WINDOW, 1, 0), PL_RC_BEYOND_WINDOW);
    pl_rcache_stats s = stats(rc);
    assert_int_equal(s.bytes, before);
    assert_int_equal(s.running, 0);
    /* nor does it move the floor: call 1 is still new */
    assert_int_equal(begin(rc, id, 1, 1, 0), PL_RC_NEW);
    pl_rcache_destroy(rc);
}

static void test_aborting_a_call_far_ahead_gives_its_window_back(void **state)
{
    pl_rcache *rc = make_cache(NULL);
    uint8_t id[16];
    make_id(id, 1);
    hello(rc, id, 1, 0);
    size_t idle = stats(rc).bytes;
    assert_int_equal(begin(rc, id, 1000, 1, 0), PL_RC_NEW);
    assert_true(stats(rc).pinned >= idle + 1000 * 16 - 1024);
    assert_int_equal(pl_rcache_abort(rc, id, 1000), PARLEY_OK);
    assert_int_equal(stats(rc).bytes, idle);
    /* and the floor did not move: call 1 is still to come */
    assert_int_equal(begin(rc, id, 1, 1, 0), PL_RC_NEW);
    pl_rcache_destroy(rc);
}

static void test_a_call_below_the_floor_is_stale(void **state)
{
    pl_rcache *rc = make_cache(NULL);
    uint8_t id[16];
    make_id(id, 1);
    hello(rc, id, 1, 0);
    for (uint64_t s = 1; s <= 5; s++) {
        assert_int_equal(begin(rc, id, s, s, 0), PL_RC_NEW);
        assert_int_equal(finish(rc, id, s, 8, (int)s, 0), PARLEY_OK);
    }
    assert_int_equal(begin(rc, id, 6, 5, 0), PL_RC_NEW); /* 1..4 acknowledged */
    assert_int_equal(begin(rc, id, 4, 1, 0), PL_RC_STALE);
    assert_int_equal(begin(rc, id, 1, 1, 0), PL_RC_STALE);
    assert_int_equal(replayed(rc, id, 5, 5, 0, 8), 5);
    assert_int_equal(stats(rc).stale, 2);
    pl_rcache_destroy(rc);
}

static void test_hello_sets_the_floor_so_calls_sent_before_it_are_stale(void **state)
{
    pl_rcache *rc = make_cache(NULL);
    uint8_t id[16];
    make_id(id, 1);
    hello(rc, id, 1000000, 0);
    assert_int_equal(begin(rc, id, 999999, 1, 0), PL_RC_STALE);
    assert_int_equal(begin(rc, id, 1, 1, 0), PL_RC_STALE);
    assert_int_equal(begin(rc, id, 1000000, 1000000, 0), PL_RC_NEW);
    pl_rcache_destroy(rc);
}

static void test_a_repeated_hello_keeps_the_clients_calls(void **state)
{
    pl_rcache *rc = make_cache(NULL);
    uint8_t id[16];
    make_id(id, 1);
    hello(rc, id, 1, 0);
    assert_int_equal(begin(rc, id, 1, 1, 0), PL_RC_NEW);
    assert_int_equal(finish(rc, id, 1, 3, 'h', 0), PARLEY_OK);
    pl_rc_hello h;
    assert_int_equal(pl_rcache_hello(rc, id, 1, 5, &h), PARLEY_OK);
    assert_int_equal(h, PL_RC_HELLO_KNOWN);
    assert_int_equal(replayed(rc, id, 1, 1, 5, 3), 'h');
    assert_int_equal(stats(rc).clients, 1);
    assert_int_equal(stats(rc).hellos, 1);
    pl_rcache_destroy(rc);
}

static void test_an_ack_frees_the_replies_below_it_at_once(void **state)
{
    pl_rcache *rc = make_cache(NULL);
    uint8_t id[16];
    make_id(id, 1);
    hello(rc, id, 1, 0);
    size_t idle = stats(rc).bytes;
    for (uint64_t s = 1; s <= 100; s++) {
        assert_int_equal(begin(rc, id, s, 1, 0), PL_RC_NEW);
        assert_int_equal(finish(rc, id, s, 1000, 'a', 0), PARLEY_OK);
    }
    pl_rcache_stats s = stats(rc);
    assert_int_equal(s.done, 100);
    assert_int_equal(s.reply_bytes, 100 * 1000);
    assert_true(s.bytes >= idle + 100 * 1000);
    /* call 101 says 1..100 are answered: all of it goes, the ring shrinks */
    assert_int_equal(begin(rc, id, 101, 101, 0), PL_RC_NEW);
    s = stats(rc);
    assert_int_equal(s.done, 0);
    assert_int_equal(s.reply_bytes, 0);
    assert_int_equal(s.bytes, idle);
    assert_int_equal(pl_rcache_abort(rc, id, 101), PARLEY_OK);
    assert_int_equal(stats(rc).running, 0);
    pl_rcache_destroy(rc);
}

static void test_an_ack_going_backwards_is_ignored(void **state)
{
    pl_rcache *rc = make_cache(NULL);
    uint8_t id[16];
    make_id(id, 1);
    hello(rc, id, 1, 0);
    for (uint64_t s = 1; s <= 10; s++) {
        assert_int_equal(begin(rc, id, s, 1, 0), PL_RC_NEW);
        assert_int_equal(finish(rc, id, s, 4, (int)s, 0), PARLEY_OK);
    }
    assert_int_equal(begin(rc, id, 11, 8, 0), PL_RC_NEW);
    assert_int_equal(stats(rc).done, 3);
    /* a late retransmission with an older ack brings nothing back */
    assert_int_equal(begin(rc, id, 7, 2, 0), PL_RC_STALE);
    assert_int_equal(replayed(rc, id, 8, 3, 0, 4), 8);
    assert_int_equal(stats(rc).done, 3);
    pl_rcache_destroy(rc);
}

static void test_an_ack_of_calls_never_made_cannot_make_a_later_call_stale(void **state)
{
    pl_rcache *rc = make_cache(NULL);
    uint8_t id[16];
    make_id(id, 1);
    hello(rc, id, 1, 0);
    /* call 1 claims that everything below 1,000 is answered */
    assert_int_equal(begin(rc, id, 1, 1000, 0), PL_RC_NEW);
    assert_int_equal(finish(rc, id, 1, 2, 'o', 0), PARLEY_OK);
    /* it does not acknowledge itself, so it cannot run twice */
    assert_int_equal(replayed(rc, id, 1, 1000, 0, 2), 'o');
    /* and the calls it never made still run when they come, once each
     * (each acknowledging those below it, as its ack is believed up to it) */
    for (uint64_t s = 2; s <= 20; s++)
        assert_int_equal(begin(rc, id, s, UINT64_MAX, 0), PL_RC_NEW);
    for (uint64_t s = 2; s <= 20; s++)
        assert_int_equal(begin(rc, id, s, UINT64_MAX, 0), s == 20 ? PL_RC_RUNNING : PL_RC_STALE);
    /* a repeated HELLO claiming a far floor is held to what was seen too */
    pl_rc_hello h;
    assert_int_equal(pl_rcache_hello(rc, id, 1u << 30, 0, &h), PARLEY_OK);
    assert_int_equal(h, PL_RC_HELLO_KNOWN);
    assert_int_equal(begin(rc, id, 21, 21, 0), PL_RC_NEW);
    pl_rcache_destroy(rc);
}

static void test_abort_lets_a_retransmission_run(void **state)
{
    pl_rcache *rc = make_cache(NULL);
    uint8_t id[16];
    make_id(id, 1);
    hello(rc, id, 1, 0);
    assert_int_equal(begin(rc, id, 3, 1, 0), PL_RC_NEW);
    assert_int_equal(pl_rcache_abort(rc, id, 3), PARLEY_OK);
    assert_int_equal(begin(rc, id, 3, 1, 0), PL_RC_NEW);
    assert_int_equal(finish(rc, id, 3, 1, 'z', 0), PARLEY_OK);
    /* aborting a call that is done, or unknown, changes nothing */
    assert_int_equal(pl_rcache_abort(rc, id, 3), PARLEY_OK);
    assert_int_equal(pl_rcache_abort(rc, id, 99), PARLEY_OK);
    assert_int_equal(replayed(rc, id, 3, 1, 0, 1), 'z');
    pl_rcache_destroy(rc);
}

static void test_finish_after_the_call_was_forgotten_is_harmless(void **state)
{
    pl_rcache_opts o = {.lease_ms = 1000};
    pl_rcache *rc = make_cache(&o);
    uint8_t id[16];
    make_id(id, 1);
    hello(rc, id, 1, 0);
    assert_int_equal(begin(rc, id, 1, 1, 0), PL_RC_NEW);
    /* acknowledged while running (a confused client): the finish finds nothing */
    assert_int_equal(begin(rc, id, 2, 2, 0), PL_RC_NEW);
    assert_int_equal(finish(rc, id, 1, 10, 'q', 0), PARLEY_OK);
    assert_int_equal(stats(rc).done, 0);
    assert_int_equal(finish(rc, id, 2, 10, 'q', 0), PARLEY_OK);
    /* reclaimed at the end of its lease: the finish finds no client */
    assert_int_equal(begin(rc, id, 3, 3, 0), PL_RC_NEW);
    assert_int_equal(pl_rcache_abort(rc, id, 3), PARLEY_OK);
    assert_int_equal(pl_rcache_expire(rc, 1000 * MS), 1);
    assert_int_equal(finish(rc, id, 3, 10, 'q', 1000 * MS), PARLEY_OK);
    pl_rcache_stats s = stats(rc);
    assert_int_equal(s.clients, 0);
    assert_int_equal(s.bytes, 0);
    pl_rcache_destroy(rc);
}

static void test_an_evicted_reply_makes_its_retransmission_in_doubt_never_new(void **state)
{
    pl_rcache_opts o = {.max_bytes = 64 << 10, .shards = 1};
    pl_rcache *rc = make_cache(&o);
    uint8_t id[16];
    make_id(id, 1);
    hello(rc, id, 1, 0);
    /* replies of 4 KiB, never acknowledged: the cap of 64 KiB holds ~15 */
    for (uint64_t s = 1; s <= 40; s++) {
        assert_int_equal(begin(rc, id, s, 1, 0), PL_RC_NEW);
        assert_int_equal(finish(rc, id, s, 4096, (int)s, 0), PARLEY_OK);
        assert_true(stats(rc).bytes <= o.max_bytes);
    }
    pl_rcache_stats s = stats(rc);
    assert_true(s.evictions >= 20);
    assert_int_equal(s.in_doubt, s.evictions);
    assert_int_equal(s.done + s.in_doubt, 40);
    /* the oldest went first; each is in doubt, again and again */
    for (int round = 0; round < 2; round++)
        for (uint64_t seq = 1; seq <= s.evictions; seq++)
            assert_int_equal(begin(rc, id, seq, 1, 0), PL_RC_IN_DOUBT);
    for (uint64_t seq = s.evictions + 1; seq <= 40; seq++)
        assert_int_equal(replayed(rc, id, seq, 1, 0, 4096), (int)seq);
    /* acknowledged, the tombstones go and the calls are stale */
    assert_int_equal(begin(rc, id, 41, 41, 0), PL_RC_NEW);
    assert_int_equal(stats(rc).in_doubt, 0);
    assert_int_equal(begin(rc, id, 1, 41, 0), PL_RC_STALE);
    pl_rcache_destroy(rc);
}

static void test_eviction_takes_from_the_client_holding_the_most_reply_bytes(void **state)
{
    pl_rcache_opts o = {.max_bytes = 256 << 10, .shards = 8};
    pl_rcache *rc = make_cache(&o);
    uint8_t hog[16], good[16];
    make_id(hog, 1);
    make_id(good, 2);
    hello(rc, hog, 1, 0);
    hello(rc, good, 1, 0);
    uint64_t gseq = 1;
    for (uint64_t s = 1; s <= 200; s++) {
        /* the good client keeps one small reply, acknowledged by its next call */
        assert_int_equal(begin(rc, good, gseq, gseq, 0), PL_RC_NEW);
        assert_int_equal(finish(rc, good, gseq, 100, 'g', 0), PARLEY_OK);
        gseq++;
        assert_int_equal(begin(rc, hog, s, 1, 0), PL_RC_NEW);
        assert_int_equal(finish(rc, hog, s, 3000, 'h', 0), PARLEY_OK);
        assert_int_equal(replayed(rc, good, gseq - 1, gseq - 1, 0, 100), 'g');
    }
    pl_rcache_stats s = stats(rc);
    assert_true(s.evictions > 0);
    assert_true(s.bytes <= o.max_bytes);
    assert_int_equal(begin(rc, hog, 1, 1, 0), PL_RC_IN_DOUBT);
    pl_rcache_destroy(rc);
}

static void test_a_reply_that_cannot_fit_is_recorded_in_doubt(void **state)
{
    pl_rcache_opts o = {.max_bytes = 16 << 10};
    pl_rcache *rc = make_cache(&o);
    uint8_t id[16];
    make_id(id, 1);
    hello(rc, id, 1, 0);
    assert_int_equal(begin(rc, id, 1, 1, 0), PL_RC_NEW);
    uint8_t *big = calloc(1, 32 << 10);
    assert_non_null(big);
    assert_int_equal(pl_rcache_finish(rc, id, 1, big, 32 << 10, 0), PARLEY_ERR_LIMIT);
    free(big);
    assert_int_equal(begin(rc, id, 1, 1, 0), PL_RC_IN_DOUBT);
    assert_int_equal(stats(rc).in_doubt, 1);
    pl_rcache_destroy(rc);
}

static void test_a_new_call_is_busy_when_running_calls_fill_the_cap(void **state)
{
    /* room for the clients and a little more: the rings of calls running
     * cannot be evicted */
    pl_rcache_opts o = {.max_bytes = 8 << 10, .window = 1024};
    pl_rcache *rc = make_cache(&o);
    uint8_t a[16], b[16];
    make_id(a, 1);
    make_id(b, 2);
    hello(rc, a, 1, 0);
    hello(rc, b, 1, 0);
    size_t before = stats(rc).bytes;
    /* a's ring would need 1,024 slots, 16 KiB: over the cap */
    assert_int_equal(begin(rc, a, 1000, 1, 0), PL_RC_BUSY);
    assert_int_equal(stats(rc).bytes, before);
    assert_int_equal(stats(rc).busy, 1);
    /* b's first eight calls need nothing more */
    for (uint64_t s = 1; s <= 8; s++)
        assert_int_equal(begin(rc, b, s, 1, 0), PL_RC_NEW);
    pl_rcache_destroy(rc);
}

static void test_hello_is_refused_when_pinned_memory_is_full_of_live_windows(void **state)
{
    /* 16 KiB for the windows of calls running: one far call fills it */
    pl_rcache_opts o = {.max_bytes = 64 << 10, .max_pinned = 16 << 10, .lease_ms = 1000};
    pl_rcache *rc = make_cache(&o);
    uint8_t a[16], b[16], late[16];
    make_id(a, 1);
    make_id(b, 2);
    make_id(late, 3);
    hello(rc, a, 1, 0);
    hello(rc, b, 1, 0);
    assert_int_equal(begin(rc, a, 500, 1, 0), PL_RC_NEW); /* 512 slots, 8 KiB */
    assert_int_equal(begin(rc, b, 900, 1, 0), PL_RC_BUSY);
    pl_rc_hello h;
    for (uint64_t n = 10; stats(rc).pinned + 300 < o.max_pinned; n++) {
        make_id(late, n);
        assert_int_equal(pl_rcache_hello(rc, late, 1, 0, &h), PARLEY_OK);
        assert_int_equal(h, PL_RC_HELLO_CREATED);
    }
    make_id(late, 9);
    assert_int_equal(pl_rcache_hello(rc, late, 1, 0, &h), PARLEY_OK);
    assert_int_equal(h, PL_RC_HELLO_BUSY);
    /* the clients that said HELLO can still call within their first ring */
    assert_int_equal(begin(rc, b, 1, 1, 0), PL_RC_NEW);
    /* once the idle ones expire, there is room again (a, running, stays) */
    assert_int_equal(pl_rcache_hello(rc, late, 1, SEC, &h), PARLEY_OK);
    assert_int_equal(h, PL_RC_HELLO_CREATED);
    assert_int_equal(begin(rc, a, 400, 1, SEC), PL_RC_NEW);
    pl_rcache_destroy(rc);
}

static void test_lease_expiry_reclaims_an_idle_client_and_all_its_memory(void **state)
{
    pl_rcache_opts o = {.lease_ms = 120000};
    pl_rcache *rc = make_cache(&o);
    uint8_t id[16], other[16];
    make_id(id, 1);
    make_id(other, 2);
    hello(rc, id, 1, 0);
    hello(rc, other, 1, 0);
    size_t one = stats(rc).bytes / 2;
    for (uint64_t s = 1; s <= 50; s++) {
        assert_int_equal(begin(rc, id, s, 1, s * SEC), PL_RC_NEW);
        assert_int_equal(finish(rc, id, s, 500, 'l', s * SEC), PARLEY_OK);
    }
    /* other was idle since 0, id since 50 s */
    assert_int_equal(pl_rcache_expire(rc, 120 * SEC - 1), 0);
    assert_int_equal(pl_rcache_expire(rc, 120 * SEC), 1);
    assert_int_equal(begin(rc, other, 1, 1, 120 * SEC), PL_RC_UNKNOWN_CLIENT);
    assert_int_equal(pl_rcache_expire(rc, 170 * SEC - 1), 0);
    assert_int_equal(stats(rc).clients, 1);
    assert_true(stats(rc).bytes > one);
    assert_int_equal(pl_rcache_expire(rc, 170 * SEC), 1);
    pl_rcache_stats s = stats(rc);
    assert_int_equal(s.clients, 0);
    assert_int_equal(s.done, 0);
    assert_int_equal(s.bytes, 0);
    assert_int_equal(s.expired, 2);
    assert_int_equal(begin(rc, id, 50, 1, 170 * SEC), PL_RC_UNKNOWN_CLIENT);
    pl_rcache_destroy(rc);
}

/* Sequence numbers up to UINT64_MAX, from a hostile or buggy client: the
 * window's walks (growing and shrinking its ring, eviction, reclaiming the
 * client) end, under the shard's lock, and every verdict stays right. */
static void test_sequence_numbers_at_the_top_of_the_range_end_every_walk(void **state)
{
    (void)state;
    pl_rcache_opts o = {.lease_ms = 1000, .max_bytes = 64 << 10};
    pl_rcache *rc = make_cache(&o);
    uint8_t id[16], other[16];
    make_id(id, 7);
    make_id(other, 8);
    hello(rc, id, UINT64_MAX - 9, 0);
    for (uint64_t s = UINT64_MAX - 9;; s++) { /* ten calls: the ring grows */
        assert_int_equal(begin(rc, id, s, 0, 0), PL_RC_NEW);
        assert_int_equal(finish(rc, id, s, 2500, 't', 0), PARLEY_OK);
        if (s == UINT64_MAX)
            break;
    }
    /* replies of another client that need room: eviction walks the
     * windows of the clients holding the most reply bytes */
    hello(rc, other, 1, 0);
    for (uint64_t s = 1; s <= 20; s++) {
        assert_int_equal(begin(rc, other, s, 1, 0), PL_RC_NEW);
        assert_int_equal(finish(rc, other, s, 2000, 'o', 0), PARLEY_OK);
    }
    assert_true(stats(rc).evictions > 0);
    pl_rc_verdict low = begin(rc, id, UINT64_MAX - 9, 0, 0);
    assert_true(low == PL_RC_DONE || low == PL_RC_IN_DOUBT);
    /* an ack of everything shrinks the ring */
    pl_rc_verdict top = begin(rc, id, UINT64_MAX, UINT64_MAX, 0);
    assert_true(top == PL_RC_DONE || top == PL_RC_IN_DOUBT);
    /* the lease's end reclaims the client, walking its window */
    assert_true(pl_rcache_expire(rc, 10 * SEC) >= 1);
    assert_int_equal(begin(rc, id, UINT64_MAX, UINT64_MAX, 10 * SEC), PL_RC_UNKNOWN_CLIENT);
    hello(rc, id, UINT64_MAX, 10 * SEC);
    assert_int_equal(begin(rc, id, UINT64_MAX, 0, 10 * SEC), PL_RC_NEW);
    pl_rcache_destroy(rc); /* and destroy walks it once more */
}

/* A HELLO from a client already known (another of its threads, after a
 * restart it saw first) does not acknowledge the calls in flight: a copy
 * of one running is still RUNNING, of one done still replayed. */
static void hello_again(pl_rcache *rc, const uint8_t *id, uint64_t first)
{
    pl_rc_hello h;
    assert_int_equal(pl_rcache_hello(rc, id, first, 0, &h), PARLEY_OK);
    assert_int_equal(h, PL_RC_HELLO_KNOWN);
}

static void test_a_hello_from_a_known_client_keeps_its_calls_in_flight(void **state)
{
    (void)state;
    pl_rcache *rc = make_cache(NULL);
    uint8_t id[16];
    make_id(id, 42);
    hello(rc, id, 1, 0);
    assert_int_equal(begin(rc, id, 1, 1, 0), PL_RC_NEW);
    hello_again(rc, id, 2); /* its next number is 2 */
    assert_int_equal(begin(rc, id, 1, 1, 0), PL_RC_RUNNING);
    assert_int_equal(finish(rc, id, 1, 8, 'h', 0), PARLEY_OK);
    hello_again(rc, id, 2);
    assert_int_equal(replayed(rc, id, 1, 1, 0, 8), 'h');
    /* a HELLO saying its next number is 10 keeps call 1's reply too; an
     * acknowledgement frees it, and then the floor moves over the numbers
     * never begun: a copy below it is stale */
    hello_again(rc, id, 10);
    assert_int_equal(replayed(rc, id, 1, 1, 0, 8), 'h');
    assert_int_equal(begin(rc, id, 2, 2, 0), PL_RC_NEW);
    assert_int_equal(finish(rc, id, 2, 8, 'i', 0), PARLEY_OK);
    assert_int_equal(begin(rc, id, 3, 3, 0), PL_RC_NEW);
    assert_int_equal(finish(rc, id, 3, 8, 'j', 0), PARLEY_OK);
    hello_again(rc, id, 10);
    assert_int_equal(begin(rc, id, 1, 3, 0), PL_RC_STALE);
    pl_rcache_destroy(rc);
}

static void test_a_client_with_calls_running_is_not_reclaimed(void **state)
{
    pl_rcache_opts o = {.lease_ms = 1000};
    pl_rcache *rc = make_cache(&o);
    uint8_t id[16];
    make_id(id, 1);
    hello(rc, id, 1, 0);
    assert_int_equal(begin(rc, id, 1, 1, 0), PL_RC_NEW);
    assert_int_equal(pl_rcache_expire(rc, 10 * SEC), 0);
    assert_int_equal(finish(rc, id, 1, 2, 'k', 11 * SEC), PARLEY_OK);
    /* its lease runs from the finish */
    assert_int_equal(pl_rcache_expire(rc, 11 * SEC + 999 * MS), 0);
    assert_int_equal(replayed(rc, id, 1, 1, 11 * SEC + 999 * MS, 2), 'k');
    assert_int_equal(pl_rcache_expire(rc, 13 * SEC), 1);
    pl_rcache_destroy(rc);
}

static void test_expire_examines_a_bounded_number_of_clients_per_call(void **state)
{
    pl_rcache_opts o = {.lease_ms = 1000, .expire_batch = 10, .shards = 1};
    pl_rcache *rc = make_cache(&o);
    uint8_t id[16];
    for (uint64_t n = 0; n < 95; n++) {
        make_id(id, n);
        hello(rc, id, 1, 0);
    }
    for (int i = 0; i < 9; i++)
        assert_int_equal(pl_rcache_expire(rc, SEC), 10);
    assert_int_equal(pl_rcache_expire(rc, SEC), 5);
    assert_int_equal(pl_rcache_expire(rc, SEC), 0);
    assert_int_equal(stats(rc).bytes, 0);
    pl_rcache_destroy(rc);
}

static void test_hello_into_a_full_table_reclaims_expired_clients_first(void **state)
{
    pl_rcache_opts o = {.max_clients = 100, .lease_ms = 1000};
    pl_rcache *rc = make_cache(&o);
    uint8_t id[16];
    for (uint64_t n = 0; n < 100; n++) {
        make_id(id, n);
        hello(rc, id, 1, 0);
    }
    make_id(id, 100);
    pl_rc_hello h;
    assert_int_equal(pl_rcache_hello(rc, id, 1, 999 * MS, &h), PARLEY_OK);
    assert_int_equal(h, PL_RC_HELLO_BUSY);
    assert_int_equal(pl_rcache_hello(rc, id, 1, SEC, &h), PARLEY_OK);
    assert_int_equal(h, PL_RC_HELLO_CREATED);
    pl_rcache_stats s = stats(rc);
    assert_true(s.clients <= 100);
    assert_true(s.expired >= 1);
    assert_int_equal(s.hello_refused, 1);
    pl_rcache_destroy(rc);
}

/* The flood: 100,000 new identities, each saying HELLO and, when let in,
 * leaving replies unacknowledged and probing far sequence numbers, against
 * a table of 1,000 clients and a cap of 2 MiB, while one client that said
 * HELLO first calls at every step. Memory and the table stay bounded, and
 * the well-behaved client loses nothing. */
static void test_a_flood_of_new_identities_leaves_a_well_behaved_client_whole(void **state)
{
    pl_rcache_opts o = {.max_clients = 1000, .max_bytes = 2 << 20, .lease_ms = 120000};
    pl_rcache *rc = make_cache(&o);
    uint8_t good[16], id[16];
    make_id(good, UINT64_MAX);
    hello(rc, good, 1, 0);
    uint64_t gseq = 1, admitted = 0;
    for (uint64_t n = 0; n < 100000; n++) {
        int64_t now = (int64_t)n * 10 * MS;
        make_id(id, n);
        pl_rc_hello h;
        assert_int_equal(pl_rcache_hello(rc, id, 1, now, &h), PARLEY_OK);
        if (h == PL_RC_HELLO_CREATED) {
            admitted++;
            for (uint64_t s = 1; s <= 8; s++) {
                pl_rc_verdict v = begin(rc, id, s, 1, now);
                if (v == PL_RC_NEW)
                    (void)finish(rc, id, s, 200, 'f', now);
            }
            /* a window of 1,024 slots each, while pinned memory lasts */
            pl_rc_verdict v = begin(rc, id, 1000, 1, now);
            assert_true(v == PL_RC_NEW || v == PL_RC_BUSY);
            if (v == PL_RC_NEW)
                assert_int_equal(pl_rcache_abort(rc, id, 1000), PARLEY_OK);
            assert_int_equal(begin(rc, id, 5000, 1, now), PL_RC_BEYOND_WINDOW);
        }
        /* the good client: a new call, its retransmission, then the next */
        assert_int_equal(begin(rc, good, gseq, gseq, now), PL_RC_NEW);
        assert_int_equal(finish(rc, good, gseq, 32, (int)(gseq & 0x7f), now), PARLEY_OK);
        assert_int_equal(replayed(rc, good, gseq, gseq, now, 32), (int)(gseq & 0x7f));
        gseq++;
        if (n % 1000 == 0) {
            pl_rcache_stats s = stats(rc);
            assert_true(s.clients <= 1000);
            assert_true(s.bytes <= o.max_bytes);
        }
    }
    pl_rcache_stats s = stats(rc);
    assert_true(s.clients <= 1000);
    assert_true(s.bytes <= o.max_bytes);
    assert_true(s.hello_refused > 0);
    assert_true(admitted > 1000); /* leases ran out and made room */
    assert_true(s.evictions > 0);
    pl_rcache_destroy(rc);
}

/* ---- eight threads ------------------------------------------------------ */

#define T_THREADS 8
#define T_CLIENTS 16
#define T_CALLS   3000

typedef struct hammer {
    pl_rcache *rc;
    atomic_uint runs[T_CLIENTS][T_CALLS + 1];
    atomic_int failed;
} hammer;

typedef struct worker {
    hammer *h;
    int t;
} worker;

static void reply_of(uint8_t out[16], int client, uint64_t seq)
{
    memset(out, 0, 16);
    memcpy(out, &client, sizeof client);
    memcpy(out + 8, &seq, sizeof seq);
}

/* hammer_thread calls every seq of four clients, two of them shared with the
 * thread before and two with the one after, each call twice (a
 * retransmission), acknowledging with a lag, and checks every replayed
 * reply. */
static void *hammer_thread(void *arg)
{
    worker *w = arg;
    hammer *h = w->h;
    uint8_t id[16], want[16];
    for (uint64_t seq = 1; seq <= T_CALLS; seq++) {
        for (int k = 0; k < 4; k++) {
            int client = (2 * w->t + k) % T_CLIENTS;
            make_id(id, (uint64_t)client);
            uint64_t ack = seq > 32 ? seq - 32 + (uint64_t)w->t : 1;
            for (int again = 0; again < 2; again++) {
                pl_rc_verdict v;
                pl_rc_reply *r = NULL;
                if (pl_rcache_begin(h->rc, id, seq, ack, 0, &v, &r) != PARLEY_OK) {
                    atomic_store(&h->failed, 1);
                    return NULL;
                }
                reply_of(want, client, seq);
                if (v == PL_RC_NEW) {
                    atomic_fetch_add(&h->runs[client][seq], 1);
                    if (pl_rcache_finish(h->rc, id, seq, want, 16, 0) != PARLEY_OK)
                        atomic_store(&h->failed, 2);
                } else if (v == PL_RC_DONE) {
                    if (r->len != 16 || memcmp(r->data, want, 16) != 0)
                        atomic_store(&h->failed, 3);
                    pl_rc_reply_put(r);
                } else if (v != PL_RC_RUNNING && v != PL_RC_STALE) {
                    atomic_store(&h->failed, 4);
                }
            }
        }
    }
    return NULL;
}

static void test_eight_threads_run_each_call_of_shared_clients_exactly_once(void **state)
{
    pl_rcache_opts o = {.shards = 4};
    hammer *h = calloc(1, sizeof *h);
    assert_non_null(h);
    h->rc = make_cache(&o);
    uint8_t id[16];
    for (int c = 0; c < T_CLIENTS; c++) {
        make_id(id, (uint64_t)c);
        hello(h->rc, id, 1, 0);
    }
    pthread_t th[T_THREADS];
    worker w[T_THREADS];
    for (int t = 0; t < T_THREADS; t++) {
        w[t] = (worker){h, t};
        assert_int_equal(pthread_create(&th[t], NULL, hammer_thread, &w[t]), 0);
    }
    for (int t = 0; t < T_THREADS; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(atomic_load(&h->failed), 0);
    for (int c = 0; c < T_CLIENTS; c++)
        for (uint64_t s = 1; s <= T_CALLS; s++)
            if (atomic_load(&h->runs[c][s]) != 1)
                fail_msg("client %d call %llu ran %u times", c, (unsigned long long)s,
                         atomic_load(&h->runs[c][s]));
    pl_rcache_stats s = stats(h->rc);
    assert_int_equal(s.running, 0);
    assert_int_equal(s.evictions, 0);
    pl_rcache_destroy(h->rc);
    free(h);
}

static void test_bad_arguments_are_refused(void **state)
{
    pl_rcache *rc = NULL;
    pl_rcache_opts o = {.window = PL_RCACHE_MAX_WINDOW + 1};
    assert_int_equal(pl_rcache_create(NULL, NULL), PARLEY_ERR_NULL);
    assert_int_equal(pl_rcache_create(&rc, &o), PARLEY_ERR_INVALID);
    o = (pl_rcache_opts){.max_clients = PL_RCACHE_MAX_CLIENTS_LIMIT + 1};
    assert_int_equal(pl_rcache_create(&rc, &o), PARLEY_ERR_INVALID);
    o = (pl_rcache_opts){.shards = PL_RCACHE_MAX_SHARDS + 1};
    assert_int_equal(pl_rcache_create(&rc, &o), PARLEY_ERR_INVALID);
    o = (pl_rcache_opts){.max_bytes = 64};
    assert_int_equal(pl_rcache_create(&rc, &o), PARLEY_ERR_INVALID);
    assert_null(rc);

    rc = make_cache(NULL);
    uint8_t id[16];
    make_id(id, 1);
    pl_rc_hello h;
    pl_rc_verdict v;
    pl_rc_reply *r;
    assert_int_equal(pl_rcache_hello(rc, NULL, 1, 0, &h), PARLEY_ERR_NULL);
    assert_int_equal(pl_rcache_hello(rc, id, 1, 0, NULL), PARLEY_ERR_NULL);
    hello(rc, id, 0, 0); /* first_seq 0 is 1 */
    assert_int_equal(pl_rcache_begin(rc, id, 0, 0, 0, &v, &r), PARLEY_ERR_INVALID);
    assert_int_equal(pl_rcache_begin(rc, id, 1, 1, 0, NULL, &r), PARLEY_ERR_NULL);
    assert_int_equal(pl_rcache_begin(NULL, id, 1, 1, 0, &v, &r), PARLEY_ERR_NULL);
    assert_int_equal(pl_rcache_finish(rc, id, 1, NULL, 1, 0), PARLEY_ERR_NULL);
    assert_int_equal(pl_rcache_abort(rc, NULL, 1), PARLEY_ERR_NULL);
    assert_int_equal(begin(rc, id, 1, 0, 0), PL_RC_NEW);
    assert_int_equal(pl_rcache_finish(rc, id, 1, NULL, 0, 0), PARLEY_OK);
    assert_int_equal(replayed(rc, id, 1, 1, 0, 0), -1);
    assert_int_equal(pl_rcache_expire(NULL, 0), 0);
    pl_rcache_destroy(rc);
    pl_rcache_destroy(NULL);
    pl_rc_reply_put(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_a_new_call_runs_once_and_its_retransmissions_get_running_then_the_reply),
        cmocka_unit_test(test_a_reply_handed_out_outlives_its_acknowledgement),
        cmocka_unit_test(test_a_call_from_an_id_that_never_said_hello_is_unknown),
        cmocka_unit_test(test_the_window_admits_floor_plus_window_minus_one_and_refuses_one_more),
        cmocka_unit_test(test_a_call_far_ahead_is_refused_without_allocating),
        cmocka_unit_test(test_aborting_a_call_far_ahead_gives_its_window_back),
        cmocka_unit_test(test_a_call_below_the_floor_is_stale),
        cmocka_unit_test(test_hello_sets_the_floor_so_calls_sent_before_it_are_stale),
        cmocka_unit_test(test_a_repeated_hello_keeps_the_clients_calls),
        cmocka_unit_test(test_an_ack_frees_the_replies_below_it_at_once),
        cmocka_unit_test(test_an_ack_going_backwards_is_ignored),
        cmocka_unit_test(test_an_ack_of_calls_never_made_cannot_make_a_later_call_stale),
        cmocka_unit_test(test_abort_lets_a_retransmission_run),
        cmocka_unit_test(test_finish_after_the_call_was_forgotten_is_harmless),
        cmocka_unit_test(test_an_evicted_reply_makes_its_retransmission_in_doubt_never_new),
        cmocka_unit_test(test_eviction_takes_from_the_client_holding_the_most_reply_bytes),
        cmocka_unit_test(test_a_reply_that_cannot_fit_is_recorded_in_doubt),
        cmocka_unit_test(test_a_new_call_is_busy_when_running_calls_fill_the_cap),
        cmocka_unit_test(test_hello_is_refused_when_pinned_memory_is_full_of_live_windows),
        cmocka_unit_test(test_lease_expiry_reclaims_an_idle_client_and_all_its_memory),
        cmocka_unit_test(test_sequence_numbers_at_the_top_of_the_range_end_every_walk),
        cmocka_unit_test(test_a_hello_from_a_known_client_keeps_its_calls_in_flight),
        cmocka_unit_test(test_a_client_with_calls_running_is_not_reclaimed),
        cmocka_unit_test(test_expire_examines_a_bounded_number_of_clients_per_call),
        cmocka_unit_test(test_hello_into_a_full_table_reclaims_expired_clients_first),
        cmocka_unit_test(test_a_flood_of_new_identities_leaves_a_well_behaved_client_whole),
        cmocka_unit_test(test_eight_threads_run_each_call_of_shared_clients_exactly_once),
        cmocka_unit_test(test_bad_arguments_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
