/*
 * tests/unit/test_store.c: the completion store (runtime/src/delivery/
 * store.c) in one process: key-value visibility, abort, lookups in every
 * state, limits, acknowledgements and compaction keeping the file bounded,
 * reopening, concurrent commits and group commit. Its crash tests (SIGKILL,
 * torn and damaged records, a full disk) are in test_store_crash.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "delivery/crc32c.h"
#include "delivery/store.h"
#include "net/clock.h"
#include "parley/error.h"

/* ---- helpers -------------------------------------------------------------- */

static char dir[256];
static char path[300];

/* setup makes a fresh directory for each test's store. */
static int setup(void **state)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/pl_store_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/store", dir);
    return 0;
}

/* teardown removes the store and its directory. */
static int teardown(void **state)
{
    char p[320];
    unlink(path);
    snprintf(p, sizeof p, "%s.compact", path);
    unlink(p);
    rmdir(dir);
    return 0;
}

static pl_store *open_store(int durability, size_t max_bytes)
{
    pl_store_opts o = {.durability = durability, .max_bytes = max_bytes};
    pl_store *s = NULL;
    assert_int_equal(pl_store_open(&s, path, &o), PARLEY_OK);
    return s;
}

static void client_id(uint8_t id[16], unsigned n)
{
    memset(id, 0xc1, 16);
    memcpy(id, &n, sizeof n);
}

/* get_u64 reads the counter at key k in t (0 when absent). */
static uint64_t get_u64(pl_store_txn *t, const char *k)
{
    const void *v;
    size_t vl;
    uint64_t x = 0;
    assert_int_equal(pl_store_get(t, k, strlen(k), &v, &vl), PARLEY_OK);
    if (v != NULL) {
        assert_int_equal(vl, sizeof x);
        memcpy(&x, v, sizeof x);
    }
    return x;
}

static void put_u64(pl_store_txn *t, const char *k, uint64_t x)
{
    assert_int_equal(pl_store_put(t, k, strlen(k), &x, sizeof x), PARLEY_OK);
}

/* increment is one call of a counter service: read "count", write it plus
 * one, record the new count as the reply of call (id, seq). */
static uint64_t increment(pl_store *s, const uint8_t id[16], uint64_t seq)
{
    pl_store_txn *t;
    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    uint64_t n = get_u64(t, "count") + 1;
    put_u64(t, "count", n);
    assert_int_equal(pl_store_commit(t, id, seq, &n, sizeof n), PARLEY_OK);
    return n;
}

static uint64_t read_count(pl_store *s)
{
    pl_store_txn *t;
    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    uint64_t n = get_u64(t, "count");
    pl_store_abort(t);
    return n;
}

static int lookup_state(pl_store *s, const uint8_t id[16], uint64_t seq)
{
    uint8_t buf[64];
    size_t len;
    int st;
    assert_int_equal(pl_store_lookup(s, id, seq, buf, sizeof buf, &len, &st), PARLEY_OK);
    return st;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_crc32c_gives_the_standard_check_value_in_hardware_and_software(void **state)
{
    uint8_t b[1031];

    assert_int_equal(pl_crc32c(0, "123456789", 9), 0xe3069283u);
    assert_int_equal(pl_crc32c_portable(0, "123456789", 9), 0xe3069283u);
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = (uint8_t)(i * 131 + 7);
    for (size_t off = 0; off < 9; off++)
        for (size_t n = 0; n + off <= sizeof b; n += 97)
            assert_int_equal(pl_crc32c(0, b + off, n), pl_crc32c_portable(0, b + off, n));
    /* continuing a CRC is the CRC of the whole */
    assert_int_equal(pl_crc32c(pl_crc32c(0, b, 100), b + 100, 200), pl_crc32c(0, b, 300));
}

static void test_a_new_store_is_empty_and_reopens_empty(void **state)
{
    pl_store *s = open_store(PL_DUR_PROCESS, 0);
    pl_store_stats st;
    pl_store_stats_get(s, &st);
    assert_int_equal(st.kv_pairs, 0);
    assert_int_equal(st.calls, 0);
    assert_int_equal(st.file_bytes, 32 + 29); /* the header, and this run's number */
    assert_int_equal(st.boot, 1);
    pl_store_close(s);
    s = open_store(PL_DUR_MACHINE, 0);
    pl_store_stats_get(s, &st);
    assert_int_equal(st.file_bytes, 32 + 2 * 29);
    assert_int_equal(st.boot, 2);
    assert_int_equal(st.kv_pairs, 0);
    assert_int_equal(st.torn_bytes, 0);
    assert_int_equal(read_count(s), 0);
    pl_store_close(s);
}

static void test_puts_are_seen_by_their_transaction_then_by_all_and_after_reopen(void **state)
{
    pl_store *s = open_store(PL_DUR_PROCESS, 0);
    pl_store_txn *t;
    const void *v;
    size_t vl;

    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    assert_int_equal(pl_store_get(t, "a", 1, &v, &vl), PARLEY_OK);
    assert_null(v);
    assert_int_equal(pl_store_put(t, "a", 1, "one", 3), PARLEY_OK);
    assert_int_equal(pl_store_put(t, "e", 1, NULL, 0), PARLEY_OK);
    assert_int_equal(pl_store_get(t, "a", 1, &v, &vl), PARLEY_OK);
    assert_int_equal(vl, 3);
    assert_memory_equal(v, "one", 3);
    /* a later put of the key replaces the earlier one */
    assert_int_equal(pl_store_put(t, "a", 1, "uno", 3), PARLEY_OK);
    assert_int_equal(pl_store_get(t, "a", 1, &v, &vl), PARLEY_OK);
    assert_memory_equal(v, "uno", 3);
    /* an empty value is there, with a non-NULL pointer */
    assert_int_equal(pl_store_get(t, "e", 1, &v, &vl), PARLEY_OK);
    assert_non_null(v);
    assert_int_equal(vl, 0);
    assert_int_equal(pl_store_commit(t, NULL, 0, NULL, 0), PARLEY_OK);

    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    assert_int_equal(pl_store_get(t, "a", 1, &v, &vl), PARLEY_OK);
    assert_int_equal(vl, 3);
    assert_memory_equal(v, "uno", 3);
    pl_store_abort(t);
    pl_store_close(s);

    s = open_store(PL_DUR_PROCESS, 0);
    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    assert_int_equal(pl_store_get(t, "a", 1, &v, &vl), PARLEY_OK);
    assert_memory_equal(v, "uno", 3);
    assert_int_equal(pl_store_get(t, "e", 1, &v, &vl), PARLEY_OK);
    assert_non_null(v);
    assert_int_equal(vl, 0);
    pl_store_abort(t);
    pl_store_close(s);
}

static void test_abort_discards_puts_and_deletes(void **state)
{
    pl_store *s = open_store(PL_DUR_PROCESS, 0);
    pl_store_txn *t;
    const void *v;
    size_t vl;

    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    put_u64(t, "keep", 7);
    assert_int_equal(pl_store_commit(t, NULL, 0, NULL, 0), PARLEY_OK);
    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    put_u64(t, "new", 1);
    assert_int_equal(pl_store_del(t, "keep", 4), PARLEY_OK);
    assert_int_equal(pl_store_get(t, "keep", 4, &v, &vl), PARLEY_OK);
    assert_null(v);
    pl_store_abort(t);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
        assert_int_equal(get_u64(t, "keep"), 7);
        assert_int_equal(pl_store_get(t, "new", 3, &v, &vl), PARLEY_OK);
        assert_null(v);
        pl_store_abort(t);
        pl_store_close(s);
        s = open_store(PL_DUR_PROCESS, 0);
    }
    pl_store_close(s);
}

static void test_delete_removes_a_key_for_good(void **state)
{
    pl_store *s = open_store(PL_DUR_MACHINE, 0);
    pl_store_txn *t;
    const void *v;
    size_t vl;

    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    put_u64(t, "k", 1);
    put_u64(t, "j", 2);
    assert_int_equal(pl_store_commit(t, NULL, 0, NULL, 0), PARLEY_OK);
    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    assert_int_equal(pl_store_del(t, "k", 1), PARLEY_OK);
    assert_int_equal(pl_store_del(t, "absent", 6), PARLEY_OK);
    assert_int_equal(pl_store_commit(t, NULL, 0, NULL, 0), PARLEY_OK);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
        assert_int_equal(pl_store_get(t, "k", 1, &v, &vl), PARLEY_OK);
        assert_null(v);
        assert_int_equal(get_u64(t, "j"), 2);
        pl_store_abort(t);
        pl_store_close(s);
        s = open_store(PL_DUR_MACHINE, 0);
        if (round == 1)
            assert_int_equal(pl_store_compact(s), PARLEY_OK);
    }
    pl_store_close(s);
}

static void test_lookup_says_none_started_done_and_acked(void **state)
{
    pl_store *s = open_store(PL_DUR_MACHINE, 0);
    uint8_t id[16], other[16], buf[16];
    size_t len;
    int st;

    client_id(id, 1);
    client_id(other, 2);
    /* a client not registered: nothing can be said; registered: none */
    assert_int_equal(lookup_state(s, id, 1), PL_STORE_UNKNOWN);
    int known = -1;
    assert_int_equal(pl_store_hello(s, id, 1, &known), PARLEY_OK);
    assert_int_equal(known, 0);
    assert_int_equal(lookup_state(s, id, 1), PL_STORE_NONE);
    assert_int_equal(pl_store_started(s, id, 1), PARLEY_OK);
    assert_int_equal(pl_store_started(s, id, 1), PARLEY_OK); /* again: no error */
    assert_int_equal(lookup_state(s, id, 1), PL_STORE_STARTED);
    assert_int_equal(lookup_state(s, other, 1), PL_STORE_UNKNOWN);
    assert_int_equal(increment(s, id, 2), 1);
    assert_int_equal(pl_store_lookup(s, id, 2, buf, sizeof buf, &len, &st), PARLEY_OK);
    assert_int_equal(st, PL_STORE_DONE);
    assert_int_equal(len, 8);
    assert_int_equal(*(uint64_t *)buf, 1);
    pl_store_close(s);

    /* after a reopen: the same, and a commit completes the started call */
    s = open_store(PL_DUR_MACHINE, 0);
    assert_int_equal(lookup_state(s, id, 1), PL_STORE_STARTED);
    assert_int_equal(lookup_state(s, id, 2), PL_STORE_DONE);
    assert_int_equal(increment(s, id, 1), 2);
    assert_int_equal(lookup_state(s, id, 1), PL_STORE_DONE);
    assert_int_equal(pl_store_ack(s, id, 2), PARLEY_OK);
    assert_int_equal(lookup_state(s, id, 1), PL_STORE_ACKED);
    assert_int_equal(lookup_state(s, id, 2), PL_STORE_DONE);
    assert_int_equal(lookup_state(s, id, 3), PL_STORE_NONE);
    /* a lower acknowledgement changes nothing */
    assert_int_equal(pl_store_ack(s, id, 1), PARLEY_OK);
    assert_int_equal(lookup_state(s, id, 1), PL_STORE_ACKED);
    pl_store_close(s);
    s = open_store(PL_DUR_MACHINE, 0);
    assert_int_equal(lookup_state(s, id, 1), PL_STORE_ACKED);
    assert_int_equal(lookup_state(s, id, 2), PL_STORE_DONE);
    pl_store_close(s);
}

static void test_a_reply_too_large_for_the_buffer_gives_its_length(void **state)
{
    pl_store *s = open_store(PL_DUR_PROCESS, 0);
    uint8_t id[16], reply[300], buf[300];
    pl_store_txn *t;
    size_t len = 0;
    int st = -1;

    client_id(id, 3);
    for (size_t i = 0; i < sizeof reply; i++)
        reply[i] = (uint8_t)i;
    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    assert_int_equal(pl_store_commit(t, id, 9, reply, sizeof reply), PARLEY_OK);
    assert_int_equal(pl_store_lookup(s, id, 9, buf, 299, &len, &st), PARLEY_ERR_BUFFER_FULL);
    assert_int_equal(len, 300);
    assert_int_equal(st, PL_STORE_DONE);
    assert_int_equal(pl_store_lookup(s, id, 9, NULL, 0, &len, &st), PARLEY_ERR_BUFFER_FULL);
    assert_int_equal(len, 300);
    assert_int_equal(pl_store_lookup(s, id, 9, buf, 300, &len, &st), PARLEY_OK);
    assert_memory_equal(buf, reply, 300);
    /* an empty reply fits anywhere */
    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    assert_int_equal(pl_store_commit(t, id, 10, NULL, 0), PARLEY_OK);
    assert_int_equal(pl_store_lookup(s, id, 10, NULL, 0, &len, &st), PARLEY_OK);
    assert_int_equal(len, 0);
    assert_int_equal(st, PL_STORE_DONE);
    pl_store_close(s);
}

static void test_keys_values_replies_and_transactions_over_their_limits_are_refused(void **state)
{
    pl_store_opts o = {.durability = PL_DUR_PROCESS,
                       .max_key = 8,
                       .max_value = 16,
                       .max_reply = 32,
                       .max_txn = 200};
    uint8_t big[256] = {0}, id[16];
    pl_store *s;
    pl_store_txn *t;
    const void *v;
    size_t vl;

    client_id(id, 4);
    assert_int_equal(pl_store_open(&s, path, &o), PARLEY_OK);
    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    assert_int_equal(pl_store_put(t, big, 8, big, 16), PARLEY_OK); /* exactly at the limits */
    assert_int_equal(pl_store_put(t, big, 9, big, 1), PARLEY_ERR_TOO_LONG);
    assert_int_equal(pl_store_put(t, big, 1, big, 17), PARLEY_ERR_TOO_LONG);
    assert_int_equal(pl_store_del(t, big, 9), PARLEY_ERR_TOO_LONG);
    assert_int_equal(pl_store_get(t, big, 9, &v, &vl), PARLEY_ERR_TOO_LONG);
    /* puts of distinct keys until the transaction is full (33 bytes each) */
    int i, rc = PARLEY_OK;
    for (i = 1; i < 20 && rc == PARLEY_OK; i++) {
        big[0] = (uint8_t)i;
        rc = pl_store_put(t, big, 8, big, 16);
    }
    assert_int_equal(rc, PARLEY_ERR_TOO_LONG);
    assert_int_equal(i, 6); /* 5 puts of 33 bytes fit in 200, the 6th does not */
    /* a refused put left the transaction as it was: it commits */
    assert_int_equal(pl_store_commit(t, NULL, 0, NULL, 0), PARLEY_OK);

    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    assert_int_equal(pl_store_commit(t, id, 1, big, 33), PARLEY_ERR_TOO_LONG);
    assert_int_equal(lookup_state(s, id, 1), PL_STORE_UNKNOWN); /* nothing of it kept */
    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    assert_int_equal(pl_store_commit(t, id, 1, big, 32), PARLEY_OK);
    /* the reply fits its bound but not the transaction's */
    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    for (i = 0; i < 5; i++) {
        big[0] = (uint8_t)i;
        assert_int_equal(pl_store_put(t, big, 8, big, 16), PARLEY_OK);
    }
    assert_int_equal(pl_store_commit(t, id, 2, big, 32), PARLEY_ERR_TOO_LONG);
    assert_int_equal(lookup_state(s, id, 2), PL_STORE_NONE);
    pl_store_close(s);

    /* settings out of range */
    o.durability = 3;
    assert_int_equal(pl_store_open(&s, path, &o), PARLEY_ERR_INVALID);
    o.durability = 0;
    o.max_txn = (size_t)2 << 30;
    assert_int_equal(pl_store_open(&s, path, &o), PARLEY_ERR_INVALID);
}

static void test_a_completed_or_acknowledged_call_cannot_run_again(void **state)
{
    pl_store *s = open_store(PL_DUR_PROCESS, 0);
    uint8_t id[16];
    pl_store_txn *t;

    client_id(id, 5);
    assert_int_equal(increment(s, id, 5), 1);
    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    put_u64(t, "count", 100);
    assert_int_equal(pl_store_commit(t, id, 5, "x", 1), PARLEY_ERR_INVALID);
    assert_int_equal(read_count(s), 1); /* nothing of it applied */
    assert_int_equal(pl_store_started(s, id, 5), PARLEY_ERR_INVALID);
    assert_int_equal(pl_store_ack(s, id, 7), PARLEY_OK);
    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    assert_int_equal(pl_store_commit(t, id, 6, "x", 1), PARLEY_ERR_INVALID);
    assert_int_equal(pl_store_started(s, id, 6), PARLEY_ERR_INVALID);
    assert_int_equal(increment(s, id, 7), 2);
    pl_store_close(s);
}

static void test_forget_drops_a_client_and_its_records(void **state)
{
    pl_store *s = open_store(PL_DUR_PROCESS, 0);
    uint8_t a[16], b[16];
    pl_store_stats st;

    client_id(a, 6);
    client_id(b, 7);
    increment(s, a, 1);
    increment(s, b, 1);
    assert_int_equal(pl_store_started(s, a, 2), PARLEY_OK);
    assert_int_equal(pl_store_ack(s, a, 1), PARLEY_OK);
    assert_int_equal(pl_store_forget(s, a), PARLEY_OK);
    assert_int_equal(pl_store_forget(s, a), PARLEY_OK); /* unknown now: no error */
    assert_int_equal(lookup_state(s, a, 1), PL_STORE_UNKNOWN);
    assert_int_equal(lookup_state(s, a, 2), PL_STORE_UNKNOWN);
    assert_int_equal(lookup_state(s, b, 1), PL_STORE_DONE);
    pl_store_stats_get(s, &st);
    assert_int_equal(st.clients, 1);
    pl_store_close(s);
    s = open_store(PL_DUR_PROCESS, 0);
    assert_int_equal(lookup_state(s, a, 1), PL_STORE_UNKNOWN);
    assert_int_equal(lookup_state(s, a, 2), PL_STORE_UNKNOWN);
    assert_int_equal(lookup_state(s, b, 1), PL_STORE_DONE);
    assert_int_equal(read_count(s), 2);
    pl_store_close(s);
}

static void test_acks_and_compaction_keep_the_file_bounded_over_200000_calls(void **state)
{
    const size_t max = (size_t)256 << 10;
    pl_store *s = open_store(PL_DUR_PROCESS, max);
    uint8_t ids[4][16], reply[64] = {0};
    pl_store_stats st;
    uint64_t top = 0;

    for (unsigned c = 0; c < 4; c++)
        client_id(ids[c], 100 + c);
    for (uint64_t i = 1; i <= 200000; i++) {
        const uint8_t *id = ids[i % 4];
        uint64_t seq = (i + 3) / 4;
        pl_store_txn *t;
        assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
        uint64_t n = get_u64(t, "count") + 1;
        put_u64(t, "count", n);
        memcpy(reply, &n, sizeof n);
        assert_int_equal(pl_store_commit(t, id, seq, reply, sizeof reply), PARLEY_OK);
        /* the client's next call acknowledges the calls before this one */
        assert_int_equal(pl_store_ack(s, id, seq), PARLEY_OK);
        if (i % 1000 == 0) {
            pl_store_stats_get(s, &st);
            if (st.file_bytes > top)
                top = st.file_bytes;
            assert_true(st.file_bytes <= max + 4096);
            assert_int_equal(st.calls, 4);
        }
    }
    pl_store_stats_get(s, &st);
    assert_true(st.compactions >= 40); /* 200,000 x ~150 bytes / 256 KiB */
    pl_store_close(s);
    print_message("200000 calls: largest file %llu bytes (bound %zu), %llu compactions\n",
                  (unsigned long long)top, max, (unsigned long long)st.compactions);
    s = open_store(PL_DUR_PROCESS, max);
    assert_int_equal(read_count(s), 200000);
    assert_int_equal(lookup_state(s, ids[0], 50000), PL_STORE_DONE);
    assert_int_equal(lookup_state(s, ids[0], 49999), PL_STORE_ACKED);
    pl_store_close(s);
}

static void test_many_keys_survive_compaction_and_reopen(void **state)
{
    pl_store *s = open_store(PL_DUR_PROCESS, 0);
    pl_store_txn *t;
    char k[32], v[200];
    const void *got;
    size_t gl;

    memset(v, 'v', sizeof v);
    for (int round = 0; round < 10; round++) {
        assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
        for (int i = round * 1000; i < (round + 1) * 1000; i++) {
            int n = snprintf(k, sizeof k, "key-%d", i);
            assert_int_equal(pl_store_put(t, k, (size_t)n, v, (size_t)(i % 200)), PARLEY_OK);
        }
        assert_int_equal(pl_store_commit(t, NULL, 0, NULL, 0), PARLEY_OK);
    }
    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    for (int i = 0; i < 10000; i += 2) {
        int n = snprintf(k, sizeof k, "key-%d", i);
        assert_int_equal(pl_store_del(t, k, (size_t)n), PARLEY_OK);
    }
    assert_int_equal(pl_store_commit(t, NULL, 0, NULL, 0), PARLEY_OK);
    assert_int_equal(pl_store_compact(s), PARLEY_OK);
    pl_store_close(s);
    s = open_store(PL_DUR_PROCESS, 0);
    pl_store_stats st;
    pl_store_stats_get(s, &st);
    assert_int_equal(st.kv_pairs, 5000);
    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    for (int i = 0; i < 10000; i++) {
        int n = snprintf(k, sizeof k, "key-%d", i);
        assert_int_equal(pl_store_get(t, k, (size_t)n, &got, &gl), PARLEY_OK);
        if (i % 2 == 0) {
            assert_null(got);
        } else {
            assert_non_null(got);
            assert_int_equal(gl, (size_t)(i % 200));
        }
    }
    pl_store_abort(t);
    pl_store_close(s);
}

/* ---- concurrency ---------------------------------------------------------- */

typedef struct worker {
    pl_store *s;
    unsigned n, calls;
    int failed;
} worker;

/* worker_run commits calls increments as client n, looking each one up
 * after its commit, and acknowledging as it goes. */
static void *worker_run(void *arg)
{
    worker *w = arg;
    uint8_t id[16], buf[16];
    size_t len;
    int st;

    client_id(id, 1000 + w->n);
    for (uint64_t seq = 1; seq <= w->calls; seq++) {
        pl_store_txn *t;
        const void *v;
        size_t vl;
        uint64_t x = 0;
        if (pl_store_begin(w->s, &t) != PARLEY_OK)
            goto fail;
        if (pl_store_get(t, "count", 5, &v, &vl) != PARLEY_OK)
            goto fail;
        if (v != NULL)
            memcpy(&x, v, sizeof x);
        x++;
        if (pl_store_put(t, "count", 5, &x, sizeof x) != PARLEY_OK)
            goto fail;
        if (pl_store_commit(t, id, seq, &x, sizeof x) != PARLEY_OK)
            goto fail;
        if (pl_store_lookup(w->s, id, seq, buf, sizeof buf, &len, &st) != PARLEY_OK ||
            st != PL_STORE_DONE || len != 8 || memcmp(buf, &x, 8) != 0)
            goto fail;
        if (seq % 3 == 0 && pl_store_ack(w->s, id, seq - 1) != PARLEY_OK)
            goto fail;
    }
    return NULL;
fail:
    w->failed = 1;
    return NULL;
}

/* run_workers runs n workers of calls each on s, as clients first,
 * first + 1, ... */
static void run_workers(pl_store *s, unsigned n, unsigned calls, unsigned first)
{
    pthread_t th[16];
    worker w[16];

    for (unsigned i = 0; i < n; i++) {
        w[i] = (worker){.s = s, .n = first + i, .calls = calls};
        assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
    }
    for (unsigned i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        assert_false(w[i].failed);
    }
}

static void test_eight_threads_commit_at_once_and_the_counter_is_exact(void **state)
{
    pl_store *s = open_store(PL_DUR_PROCESS, (size_t)64 << 10);
    run_workers(s, 8, 2000, 0);
    assert_int_equal(read_count(s), 16000);
    pl_store_stats st;
    pl_store_stats_get(s, &st);
    assert_true(st.compactions > 0);
    pl_store_close(s);
    s = open_store(PL_DUR_PROCESS, 0);
    assert_int_equal(read_count(s), 16000);
    uint8_t id[16];
    client_id(id, 1007);
    assert_int_equal(lookup_state(s, id, 2000), PL_STORE_DONE);
    pl_store_close(s);
}

static void test_group_commit_shares_syncs_between_threads(void **state)
{
    pl_store *s = open_store(PL_DUR_MACHINE, 0);
    pl_store_stats st;

    run_workers(s, 8, 100, 0);
    pl_store_stats_get(s, &st);
    print_message("8 threads, MACHINE: %llu commits, %llu syncs\n", (unsigned long long)st.commits,
                  (unsigned long long)st.syncs);
    assert_int_equal(st.commits, 800);
    assert_true(st.syncs < st.commits);
    assert_int_equal(read_count(s), 800);
    pl_store_close(s);
    /* and one thread alone syncs every commit */
    s = open_store(PL_DUR_MACHINE, 0);
    run_workers(s, 1, 20, 8);
    pl_store_stats_get(s, &st);
    assert_int_equal(st.commits, 20);
    assert_int_equal(st.syncs, 20);
    assert_int_equal(read_count(s), 820);
    pl_store_close(s);
}

/* ---- refusals ------------------------------------------------------------- */

static void test_a_second_open_of_the_same_store_is_refused(void **state)
{
    pl_store *s = open_store(PL_DUR_PROCESS, 0), *s2 = NULL;
    assert_int_equal(pl_store_open(&s2, path, NULL), PARLEY_ERR_STORE);
    assert_null(s2);
    pl_store_close(s);
    assert_int_equal(pl_store_open(&s2, path, NULL), PARLEY_OK);
    pl_store_close(s2);
}

static void test_a_file_that_is_not_a_store_is_refused(void **state)
{
    static const char junk[] = "this is not a completion store, it is a text file\n";
    pl_store *s = NULL;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
    assert_int_equal(pl_store_open(&s, path, NULL), PARLEY_ERR_STORE);
    assert_int_equal(truncate(path, 10), 0); /* shorter than a header */
    assert_int_equal(pl_store_open(&s, path, NULL), PARLEY_ERR_STORE);
    /* a directory where the store should be, or none at all */
    char p[320];
    snprintf(p, sizeof p, "%s/no/such/dir/store", dir);
    assert_int_equal(pl_store_open(&s, p, NULL), PARLEY_ERR_STORE);
    assert_int_equal(pl_store_open(&s, dir, NULL), PARLEY_ERR_STORE);
    assert_null(s);
}

static void test_null_arguments_are_refused(void **state)
{
    pl_store *s = open_store(PL_DUR_PROCESS, 0), *none;
    pl_store_txn *t;
    uint8_t id[16] = {0};
    size_t len;
    int st;
    const void *v;
    size_t vl;

    assert_int_equal(pl_store_open(NULL, path, NULL), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_open(&none, NULL, NULL), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_open(&none, "", NULL), PARLEY_ERR_INVALID);
    assert_int_equal(pl_store_begin(NULL, &t), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_begin(s, NULL), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_started(s, NULL, 1), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_ack(s, NULL, 1), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_forget(s, NULL), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_lookup(s, id, 1, NULL, 4, &len, &st), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_lookup(s, id, 1, NULL, 0, NULL, &st), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_compact(NULL), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_commit(NULL, id, 1, NULL, 0), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_begin(s, &t), PARLEY_OK);
    assert_int_equal(pl_store_get(t, NULL, 1, &v, &vl), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_get(t, "k", 1, NULL, &vl), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_put(t, "k", 1, NULL, 1), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_put(t, NULL, 1, "v", 1), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_del(t, NULL, 1), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_commit(t, id, 1, NULL, 5), PARLEY_ERR_NULL); /* ends it */
    assert_int_equal(lookup_state(s, id, 1), PL_STORE_UNKNOWN);
    int known;
    assert_int_equal(pl_store_hello(NULL, id, 1, &known), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_hello(s, NULL, 1, &known), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_hello(s, id, 1, NULL), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_touch(s, NULL, 1, &known, NULL), PARLEY_ERR_NULL);
    assert_int_equal(pl_store_expire(NULL, 0, 0, 1), 0);
    pl_store_abort(NULL);
    pl_store_close(NULL);
    pl_store_close(s);
}

/* A HELLO registers a client durably, with its floor; a second HELLO (the
 * server restarted, or another thread of the client) keeps the floor and
 * the records, so that calls in flight below the new HELLO's number are
 * not dropped. A call's copy from a client not registered is UNKNOWN. */
static void test_a_hello_registers_a_client_once_and_keeps_its_floor(void **state)
{
    (void)state;
    for (int d = PL_DUR_PROCESS; d <= PL_DUR_MACHINE; d++) {
        unlink(path);
        pl_store *s = open_store(d, 0);
        uint8_t id[16];
        int known = -1;
        client_id(id, 40 + (unsigned)d);
        assert_int_equal(pl_store_touch(s, id, 3, &known, NULL), PARLEY_OK);
        assert_int_equal(known, 0); /* not registered: nothing made */
        assert_int_equal(lookup_state(s, id, 3), PL_STORE_UNKNOWN);
        assert_int_equal(pl_store_hello(s, id, 3, &known), PARLEY_OK);
        assert_int_equal(known, 0);
        assert_int_equal(lookup_state(s, id, 2), PL_STORE_ACKED);
        assert_int_equal(lookup_state(s, id, 3), PL_STORE_NONE);
        assert_int_equal(increment(s, id, 3), 1);
        assert_int_equal(pl_store_hello(s, id, 9, &known), PARLEY_OK);
        assert_int_equal(known, 1);
        assert_int_equal(lookup_state(s, id, 3), PL_STORE_DONE);
        assert_int_equal(lookup_state(s, id, 4), PL_STORE_NONE);
        assert_int_equal(pl_store_touch(s, id, 4, &known, NULL), PARLEY_OK);
        assert_int_equal(known, 1);
        assert_int_equal(lookup_state(s, id, 3), PL_STORE_ACKED);
        pl_store_stats st;
        pl_store_stats_get(s, &st);
        assert_int_equal(st.registered, 1);
        pl_store_close(s);
        /* the registration and its floor survive a reopen */
        s = open_store(d, 0);
        assert_int_equal(lookup_state(s, id, 3), PL_STORE_ACKED);
        assert_int_equal(lookup_state(s, id, 4), PL_STORE_NONE);
        assert_int_equal(pl_store_hello(s, id, 5, &known), PARLEY_OK);
        assert_int_equal(known, 1);
        pl_store_close(s);
    }
}

/* Leases: a client not heard of for a lease is forgotten with its records,
 * oldest first, in bounded batches; one heard of since is kept. The store
 * then stays bounded when every client is a new identity that never
 * acknowledges its last call (a program making one call per process). */
static void test_leases_forget_idle_clients_and_keep_the_store_bounded(void **state)
{
    (void)state;
    pl_store *s = open_store(PL_DUR_PROCESS, 64 << 10);
    const int64_t lease = (int64_t)60 * 1000000000;
    uint8_t a[16], b[16];
    int known;
    client_id(a, 50);
    client_id(b, 51);
    assert_int_equal(pl_store_hello(s, a, 1, &known), PARLEY_OK);
    assert_int_equal(increment(s, a, 1), 1);
    int64_t t0 = pl_now_ns();
    assert_int_equal(pl_store_hello(s, b, 1, &known), PARLEY_OK);
    assert_int_equal(increment(s, b, 1), 2);
    /* just before a's lease ends: nothing; at t0 + lease: a, not b (heard
     * of after t0) */
    assert_int_equal(pl_store_expire(s, t0 - 1, lease, 100), 0);
    assert_int_equal(pl_store_expire(s, t0 + lease, lease, 100), 1);
    assert_int_equal(lookup_state(s, a, 1), PL_STORE_UNKNOWN);
    assert_int_equal(lookup_state(s, b, 1), PL_STORE_DONE);
    /* a came back: registered again with its next number as the floor;
     * its old call, forgotten, is below it and not taken as new */
    assert_int_equal(pl_store_hello(s, a, 2, &known), PARLEY_OK);
    assert_int_equal(known, 0);
    assert_int_equal(lookup_state(s, a, 1), PL_STORE_ACKED);
    pl_store_close(s);
    s = open_store(PL_DUR_PROCESS, 64 << 10);
    assert_int_equal(lookup_state(s, a, 1), PL_STORE_ACKED);
    assert_int_equal(lookup_state(s, a, 2), PL_STORE_NONE);
    assert_int_equal(lookup_state(s, b, 1), PL_STORE_DONE);
    assert_int_equal(read_count(s), 2);

    /* 20,000 one-call clients, expired in batches of at most 4,096 */
    enum { ONE_SHOT = 20000 };
    for (unsigned i = 0; i < ONE_SHOT; i++) {
        uint8_t id[16];
        client_id(id, 1000 + i);
        assert_int_equal(pl_store_hello(s, id, 1, &known), PARLEY_OK);
        increment(s, id, 1);
    }
    pl_store_stats st;
    pl_store_stats_get(s, &st);
    assert_int_equal(st.clients, ONE_SHOT + 2);
    size_t n = pl_store_expire(s, pl_now_ns() + lease, lease, 4096);
    assert_int_equal(n, 4096); /* bounded work */
    size_t total = n, rounds = 1;
    while ((n = pl_store_expire(s, pl_now_ns() + lease, lease, 4096)) > 0 && rounds++ < 100)
        total += n;
    assert_int_equal(total, ONE_SHOT + 2);
    assert_int_equal(pl_store_compact(s), PARLEY_OK);
    pl_store_stats_get(s, &st);
    assert_int_equal(st.clients, 0);
    assert_int_equal(st.expired, ONE_SHOT + 2);
    assert_true(st.file_bytes < 4096); /* the counter's pair, and the header */
    assert_int_equal(read_count(s), ONE_SHOT + 2);
    pl_store_close(s);
}

/* max_clients bounds the registrations: a new HELLO past it is refused
 * (PARLEY_ERR_BUSY), a known client's HELLO is not, and room comes back
 * when leases end. */
static void test_a_full_store_refuses_new_clients_not_known_ones(void **state)
{
    (void)state;
    pl_store_opts o = {.durability = PL_DUR_PROCESS, .max_clients = 3};
    pl_store *s = NULL;
    assert_int_equal(pl_store_open(&s, path, &o), PARLEY_OK);
    uint8_t id[16];
    int known;
    for (unsigned i = 0; i < 3; i++) {
        client_id(id, 60 + i);
        assert_int_equal(pl_store_hello(s, id, 1, &known), PARLEY_OK);
    }
    client_id(id, 63);
    assert_int_equal(pl_store_hello(s, id, 1, &known), PARLEY_ERR_BUSY);
    assert_int_equal(lookup_state(s, id, 1), PL_STORE_UNKNOWN);
    client_id(id, 61);
    assert_int_equal(pl_store_hello(s, id, 7, &known), PARLEY_OK);
    assert_int_equal(known, 1);
    pl_store_stats st;
    pl_store_stats_get(s, &st);
    assert_int_equal(st.hello_refused, 1);
    const int64_t lease = 1000000000;
    assert_int_equal(pl_store_expire(s, pl_now_ns() + lease, lease, 10), 3);
    client_id(id, 63);
    assert_int_equal(pl_store_hello(s, id, 1, &known), PARLEY_OK);
    assert_int_equal(known, 0);
    pl_store_close(s);
}

/* A client forgotten and registered again within a run gets its floor
 * above every call it made before (its tomb), whatever its HELLO says; in
 * a later run its registration's run tells the calls sent before it. When
 * the tombs are full, a new run begins instead. */
static void test_a_forgotten_client_comes_back_above_its_old_calls(void **state)
{
    (void)state;
    pl_store_opts o = {.durability = PL_DUR_PROCESS, .max_tombs = 2};
    pl_store *s = NULL;
    assert_int_equal(pl_store_open(&s, path, &o), PARLEY_OK);
    uint64_t boot = pl_store_boot(s);
    assert_true(boot >= 1);
    uint8_t a[16], b[16], c[16];
    int known;
    uint64_t reg = 0;
    client_id(a, 70);
    client_id(b, 71);
    client_id(c, 72);
    assert_int_equal(pl_store_hello(s, a, 1, &known), PARLEY_OK);
    assert_int_equal(increment(s, a, 1), 1);
    assert_int_equal(increment(s, a, 5), 2); /* 2 to 4 still out */
    assert_int_equal(pl_store_forget(s, a), PARLEY_OK);
    pl_store_stats st;
    pl_store_stats_get(s, &st);
    assert_int_equal(st.tombs, 1);
    /* its HELLO says 2 (its lowest call not complete): the floor goes to 6 */
    assert_int_equal(pl_store_hello(s, a, 2, &known), PARLEY_OK);
    assert_int_equal(known, 0);
    assert_int_equal(lookup_state(s, a, 5), PL_STORE_ACKED);
    assert_int_equal(lookup_state(s, a, 3), PL_STORE_ACKED);
    assert_int_equal(lookup_state(s, a, 6), PL_STORE_NONE);
    assert_int_equal(pl_store_touch(s, a, 0, &known, &reg), PARLEY_OK);
    assert_int_equal(reg, boot);
    pl_store_stats_get(s, &st);
    assert_int_equal(st.tombs, 0);

    /* three forgotten, two tombs: a new run begins, and the tombs go */
    assert_int_equal(pl_store_hello(s, b, 1, &known), PARLEY_OK);
    assert_int_equal(pl_store_hello(s, c, 1, &known), PARLEY_OK);
    assert_int_equal(pl_store_forget(s, a), PARLEY_OK);
    assert_int_equal(pl_store_forget(s, b), PARLEY_OK);
    assert_int_equal(pl_store_boot(s), boot);
    assert_int_equal(pl_store_forget(s, c), PARLEY_OK);
    assert_int_equal(pl_store_boot(s), boot + 1);
    pl_store_stats_get(s, &st);
    assert_int_equal(st.tombs, 0);
    assert_int_equal(pl_store_hello(s, b, 1, &known), PARLEY_OK);
    assert_int_equal(pl_store_touch(s, b, 0, &known, &reg), PARLEY_OK);
    assert_int_equal(reg, boot + 1);
    pl_store_close(s);

    /* the next open is a later run; registrations keep theirs, through a
     * compaction too */
    assert_int_equal(pl_store_open(&s, path, &o), PARLEY_OK);
    assert_int_equal(pl_store_boot(s), boot + 2);
    assert_int_equal(pl_store_touch(s, b, 0, &known, &reg), PARLEY_OK);
    assert_int_equal(known, 1);
    assert_int_equal(reg, boot + 1);
    assert_int_equal(pl_store_compact(s), PARLEY_OK);
    pl_store_close(s);
    assert_int_equal(pl_store_open(&s, path, &o), PARLEY_OK);
    assert_int_equal(pl_store_boot(s), boot + 3);
    assert_int_equal(pl_store_touch(s, b, 0, &known, &reg), PARLEY_OK);
    assert_int_equal(reg, boot + 1);
    assert_int_equal(pl_store_touch(s, a, 0, &known, &reg), PARLEY_OK);
    assert_int_equal(known, 0);
    pl_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_gives_the_standard_check_value_in_hardware_and_software),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_a_new_store_is_empty_and_reopens_empty),
        T(test_puts_are_seen_by_their_transaction_then_by_all_and_after_reopen),
        T(test_abort_discards_puts_and_deletes),
        T(test_delete_removes_a_key_for_good),
        T(test_lookup_says_none_started_done_and_acked),
        T(test_a_reply_too_large_for_the_buffer_gives_its_length),
        T(test_keys_values_replies_and_transactions_over_their_limits_are_refused),
        T(test_a_completed_or_acknowledged_call_cannot_run_again),
        T(test_forget_drops_a_client_and_its_records),
        T(test_acks_and_compaction_keep_the_file_bounded_over_200000_calls),
        T(test_many_keys_survive_compaction_and_reopen),
        T(test_eight_threads_commit_at_once_and_the_counter_is_exact),
        T(test_group_commit_shares_syncs_between_threads),
        T(test_a_second_open_of_the_same_store_is_refused),
        T(test_a_file_that_is_not_a_store_is_refused),
        T(test_null_arguments_are_refused),
        T(test_a_hello_registers_a_client_once_and_keeps_its_floor),
        T(test_leases_forget_idle_clients_and_keep_the_store_bounded),
        T(test_a_full_store_refuses_new_clients_not_known_ones),
        T(test_a_forgotten_client_comes_back_above_its_old_calls),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
