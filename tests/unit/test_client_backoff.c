/*
 * tests/unit/test_client_backoff.c: the schedule of a UDP call's
 * retransmissions (runtime/src/client/dgram.c), through the transport a
 * handle chose at create, checked on its values, never against the clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <string.h>

#include "client/internal.h"
#include "net/clock.h"

static void test_backoff_doubles_from_250_ms_up_to_8_s_and_stays_there(void **state)
{
    (void)state;
    static const unsigned want[] = {500, 1000, 2000, 4000, 8000, 8000, 8000};
    unsigned ms = 250;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        ms = pl_dgram_backoff(ms);
        assert_int_equal(ms, want[i]);
    }
}

static void test_backoff_from_6_s_goes_to_8_s_not_12(void **state)
{
    (void)state;
    assert_int_equal(pl_dgram_backoff(6000), 8000);
    assert_int_equal(pl_dgram_backoff(pl_dgram_backoff(6000)), 8000);
}

static void test_backoff_never_exceeds_the_cap_even_from_above_it(void **state)
{
    (void)state;
    assert_int_equal(pl_dgram_backoff(4000), PL_DGRAM_MAX_RETRANSMIT_MS);
    assert_int_equal(pl_dgram_backoff(7999), PL_DGRAM_MAX_RETRANSMIT_MS);
    assert_int_equal(pl_dgram_backoff(8001), PL_DGRAM_MAX_RETRANSMIT_MS);
    assert_int_equal(pl_dgram_backoff(20000), PL_DGRAM_MAX_RETRANSMIT_MS);
    assert_int_equal(pl_dgram_backoff(UINT_MAX / 2 + 1), PL_DGRAM_MAX_RETRANSMIT_MS);
    assert_int_equal(pl_dgram_backoff(UINT_MAX), PL_DGRAM_MAX_RETRANSMIT_MS);
    assert_int_equal(pl_dgram_backoff(1), 2);
}

/* expect_schedule makes a UDP client with the option retransmit_ms and
 * checks the intervals between a call's first transmissions. */
static void expect_schedule(unsigned retransmit_ms, const unsigned *want, size_t n)
{
    parley_client_opts o = {.retransmit_ms = retransmit_ms};
    parley_client *c = NULL;
    /* UDP: nothing is sent, nor looked up, before a call */
    assert_int_equal(parley_client_create(&c, "udp://127.0.0.1:9", 1, 1, &o), PARLEY_OK);
    assert_ptr_equal(c->ops, &pl_dgram_ops);
    pending p;
    memset(&p, 0, sizeof p);
    int64_t now = 1000;
    for (size_t i = 0; i < n; i++) {
        c->ops->schedule(c, &p, now);
        assert_int_equal(p.next_tx - now, (int64_t)want[i] * 1000000);
        now = p.next_tx;
    }
    parley_client_destroy(c);
}

static void test_a_udp_call_is_sent_again_after_250_ms_then_doubling_to_8_s(void **state)
{
    (void)state;
    static const unsigned want[] = {250, 500, 1000, 2000, 4000, 8000, 8000, 8000};
    expect_schedule(0, want, sizeof want / sizeof want[0]);
}

static void test_a_first_interval_of_6_s_is_followed_by_8_s_not_12(void **state)
{
    (void)state;
    static const unsigned want[] = {6000, 8000, 8000};
    expect_schedule(6000, want, sizeof want / sizeof want[0]);
}

static void test_a_first_interval_above_8_s_is_taken_as_8_s(void **state)
{
    (void)state;
    static const unsigned want[] = {8000, 8000, 8000};
    expect_schedule(20000, want, sizeof want / sizeof want[0]);
    expect_schedule(UINT_MAX, want, sizeof want / sizeof want[0]);
}

static void test_a_stream_call_is_never_sent_again(void **state)
{
    (void)state;
    static const char *const addrs[] = {"tcp://127.0.0.1:9", "unix:///nonexistent/s"};
    for (size_t i = 0; i < 2; i++) {
        parley_client *c = NULL;
        assert_int_equal(parley_client_create(&c, addrs[i], 1, 1, NULL), PARLEY_OK);
        assert_ptr_equal(c->ops, &pl_stream_ops);
        pending p;
        memset(&p, 0, sizeof p);
        for (int k = 0; k < 3; k++) {
            c->ops->schedule(c, &p, 1000);
            assert_true(p.next_tx == PL_NEVER);
        }
        parley_client_destroy(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_from_250_ms_up_to_8_s_and_stays_there),
        cmocka_unit_test(test_backoff_from_6_s_goes_to_8_s_not_12),
        cmocka_unit_test(test_backoff_never_exceeds_the_cap_even_from_above_it),
        cmocka_unit_test(test_a_udp_call_is_sent_again_after_250_ms_then_doubling_to_8_s),
        cmocka_unit_test(test_a_first_interval_of_6_s_is_followed_by_8_s_not_12),
        cmocka_unit_test(test_a_first_interval_above_8_s_is_taken_as_8_s),
        cmocka_unit_test(test_a_stream_call_is_never_sent_again),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
