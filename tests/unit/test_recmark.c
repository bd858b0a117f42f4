/*
 * tests/unit/test_recmark.c: TCP record marking (runtime/src/wire/recmark.c):
 * the reader on streams cut at every byte, pipelined and multi-fragment
 * messages, hostile headers and limits; the writer's headers and fragments.
 * Every piece fed to the reader ends right before a guard page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "parley/error.h"
#include "parley/xdr.h"
#include "wire/recmark.h"

/* A stream under construction. */
typedef struct stream {
    uint8_t b[8192];
    size_t n;
} stream;

/* frag appends a fragment of len bytes of fill (a header only when fill is
 * negative) to s. */
static void frag(stream *s, uint32_t len, int last, int fill)
{
    pl_rm_header(s->b + s->n, len, last);
    s->n += 4;
    if (fill >= 0) {
        assert_true(s->n + len <= sizeof s->b);
        memset(s->b + s->n, fill, len);
        s->n += len;
    }
}

/* Collected messages. */
typedef struct got {
    size_t n;
    size_t len[16];
    uint8_t first[16], lastb[16];
} got;

/* feed_piece feeds one guarded copy of piece to r, collecting every message
 * in g, and returns the last result (PL_RM_NEED_MORE when all went well). */
static int feed_piece(pl_rm_reader *r, const uint8_t *piece, size_t n, got *g)
{
    const uint8_t *p = pt_guard_copy(piece, n);
    assert_non_null(p);
    size_t off = 0;
    int rc;
    for (;;) {
        size_t used = 12345;
        rc = pl_rm_feed(r, p + off, n - off, &used);
        assert_true(used <= n - off);
        off += used;
        if (rc != PL_RM_MESSAGE)
            break;
        assert_true(g->n < 16);
        g->len[g->n] = r->msg_len;
        g->first[g->n] = r->msg_len ? r->msg[0] : 0;
        g->lastb[g->n] = r->msg_len ? r->msg[r->msg_len - 1] : 0;
        /* the whole message is readable */
        for (size_t i = 0; i < r->msg_len; i++)
            assert_true(r->msg[i] == g->first[g->n] || r->msg[i] == g->lastb[g->n]);
        g->n++;
    }
    if (rc == PL_RM_NEED_MORE)
        assert_int_equal(off, n);
    pt_guard_free(p);
    return rc;
}

/* The test stream: a one-fragment message of 10 'a', a message of three
 * fragments (5 'b', an empty one, 7 'c'), an empty message, and one of 3 'd'. */
static void test_stream(stream *s)
{
    s->n = 0;
    frag(s, 10, 1, 'a');
    frag(s, 5, 0, 'b');
    frag(s, 0, 0, 0);
    frag(s, 7, 1, 'c');
    frag(s, 0, 1, 0);
    frag(s, 3, 1, 'd');
}

static void check_test_stream(const got *g)
{
    assert_int_equal(g->n, 4);
    assert_int_equal(g->len[0], 10);
    assert_int_equal(g->first[0], 'a');
    assert_int_equal(g->len[1], 12);
    assert_int_equal(g->first[1], 'b');
    assert_int_equal(g->lastb[1], 'c');
    assert_int_equal(g->len[2], 0);
    assert_int_equal(g->len[3], 3);
    assert_int_equal(g->first[3], 'd');
}

static void test_header_has_the_last_bit_and_31_bits_of_length(void **state)
{
    (void)state;
    uint8_t h[4];
    pl_rm_header(h, 5, 1);
    assert_memory_equal(h, ((uint8_t[]){0x80, 0, 0, 5}), 4);
    pl_rm_header(h, 0x01020304, 0);
    assert_memory_equal(h, ((uint8_t[]){1, 2, 3, 4}), 4);
    pl_rm_header(h, PL_RM_MAX_FRAG, 1);
    assert_memory_equal(h, ((uint8_t[]){0xff, 0xff, 0xff, 0xff}), 4);
}

static void test_one_message_in_one_feed_is_returned_in_place(void **state)
{
    (void)state;
    uint8_t b[4 + 8] = {0x80, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
    pl_rm_reader r;
    pl_rm_init(&r);
    size_t used;
    assert_int_equal(pl_rm_feed(&r, b, sizeof b, &used), PL_RM_MESSAGE);
    assert_int_equal(used, sizeof b);
    assert_ptr_equal(r.msg, b + 4);
    assert_int_equal(r.msg_len, 8);
    assert_null(r.buf); /* nothing was copied */
    assert_int_equal(pl_rm_feed(&r, b, 0, &used), PL_RM_NEED_MORE);
    assert_null(r.msg);
    pl_rm_destroy(&r);
}

static void test_many_messages_in_one_feed_come_out_one_by_one(void **state)
{
    (void)state;
    stream s;
    test_stream(&s);
    pl_rm_reader r;
    pl_rm_init(&r);
    got g = {0};
    assert_int_equal(feed_piece(&r, s.b, s.n, &g), PL_RM_NEED_MORE);
    check_test_stream(&g);
    pl_rm_destroy(&r);
}

static void test_stream_split_at_every_byte_gives_the_same_messages(void **state)
{
    (void)state;
    stream s;
    test_stream(&s);
    for (size_t cut = 0; cut <= s.n; cut++) {
        pl_rm_reader r;
        pl_rm_init(&r);
        got g = {0};
        assert_int_equal(feed_piece(&r, s.b, cut, &g), PL_RM_NEED_MORE);
        assert_int_equal(feed_piece(&r, s.b + cut, s.n - cut, &g), PL_RM_NEED_MORE);
        check_test_stream(&g);
        pl_rm_destroy(&r);
    }
    /* and one byte at a time */
    pl_rm_reader r;
    pl_rm_init(&r);
    got g = {0};
    for (size_t i = 0; i < s.n; i++)
        assert_int_equal(feed_piece(&r, s.b + i, 1, &g), PL_RM_NEED_MORE);
    check_test_stream(&g);
    pl_rm_destroy(&r);
}

static void test_multi_fragment_message_is_reassembled_in_order(void **state)
{
    (void)state;
    stream s = {.n = 0};
    uint8_t want[300];
    for (int i = 0; i < 3; i++) {
        pl_rm_header(s.b + s.n, 100, i == 2);
        s.n += 4;
        for (int j = 0; j < 100; j++) {
            want[i * 100 + j] = (uint8_t)(i * 100 + j);
            s.b[s.n++] = want[i * 100 + j];
        }
    }
    pl_rm_reader r;
    pl_rm_init(&r);
    size_t used;
    assert_int_equal(pl_rm_feed(&r, s.b, s.n, &used), PL_RM_MESSAGE);
    assert_int_equal(used, s.n);
    assert_int_equal(r.msg_len, 300);
    assert_memory_equal(r.msg, want, 300);
    assert_ptr_equal(r.msg, r.buf); /* copied into the reader's buffer */
    pl_rm_destroy(&r);
}

static void test_zero_length_fragments_are_accepted(void **state)
{
    (void)state;
    stream s = {.n = 0};
    frag(&s, 0, 0, 0);
    frag(&s, 0, 0, 0);
    frag(&s, 4, 0, 'x');
    frag(&s, 0, 1, 0);
    pl_rm_reader r;
    pl_rm_init(&r);
    got g = {0};
    assert_int_equal(feed_piece(&r, s.b, s.n, &g), PL_RM_NEED_MORE);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.len[0], 4);
    assert_int_equal(g.first[0], 'x');

    /* an empty message of empty fragments has a non-NULL msg */
    s.n = 0;
    frag(&s, 0, 0, 0);
    frag(&s, 0, 1, 0);
    size_t used;
    assert_int_equal(pl_rm_feed(&r, s.b, s.n, &used), PL_RM_MESSAGE);
    assert_int_equal(used, 8);
    assert_int_equal(r.msg_len, 0);
    assert_non_null(r.msg);
    pl_rm_destroy(&r);
}

static void test_a_2_gib_header_fails_at_once_without_allocating(void **state)
{
    (void)state;
    static const uint32_t hdrs[] = {0x7fffffffu, 0xffffffffu};
    for (size_t i = 0; i < 2; i++) {
        uint8_t b[8];
        parley_st_u32(b, hdrs[i]);
        memset(b + 4, 'z', 4);
        pl_rm_reader r;
        pl_rm_init(&r);
        size_t used;
        const uint8_t *g = pt_guard_copy(b, sizeof b);
        assert_int_equal(pl_rm_feed(&r, g, sizeof b, &used), -PARLEY_ERR_MSG_TOO_LARGE);
        assert_int_equal(used, 4);
        assert_null(r.buf);
        /* the error sticks: the stream's framing is lost */
        assert_int_equal(pl_rm_feed(&r, g + 4, 4, &used), -PARLEY_ERR_MSG_TOO_LARGE);
        assert_int_equal(used, 0);
        pt_guard_free(g);
        pl_rm_destroy(&r);
    }
}

static void test_endless_empty_fragments_are_a_protocol_error(void **state)
{
    (void)state;
    size_t nb = 4 * (PL_RM_DEFAULT_MAX_FRAGS + 1);
    uint8_t *b = calloc(1, nb);
    assert_non_null(b);
    pl_rm_reader r;
    pl_rm_init(&r);
    size_t used;
    /* max_frags fragments make a message */
    pl_rm_header(b + 4 * (PL_RM_DEFAULT_MAX_FRAGS - 1), 0, 1);
    assert_int_equal(pl_rm_feed(&r, b, 4 * PL_RM_DEFAULT_MAX_FRAGS, &used), PL_RM_MESSAGE);
    assert_int_equal(used, 4 * PL_RM_DEFAULT_MAX_FRAGS);
    /* one more is too many */
    pl_rm_header(b + 4 * (PL_RM_DEFAULT_MAX_FRAGS - 1), 0, 0);
    pl_rm_header(b + 4 * PL_RM_DEFAULT_MAX_FRAGS, 0, 1);
    const uint8_t *g = pt_guard_copy(b, nb);
    assert_int_equal(pl_rm_feed(&r, g, nb, &used), -PARLEY_ERR_PROTOCOL);
    assert_int_equal(used, nb);
    assert_int_equal(pl_rm_feed(&r, g, nb, &used), -PARLEY_ERR_PROTOCOL);
    pt_guard_free(g);
    free(b);
    pl_rm_destroy(&r);

    /* a smaller limit of one's own */
    pl_rm_init(&r);
    r.max_frags = 2;
    stream s = {.n = 0};
    frag(&s, 0, 0, 0);
    frag(&s, 0, 0, 0);
    frag(&s, 1, 1, 'q');
    got gg = {0};
    assert_int_equal(feed_piece(&r, s.b, s.n, &gg), -PARLEY_ERR_PROTOCOL);
    pl_rm_destroy(&r);
}

static void test_max_msg_is_accepted_exactly_and_one_more_byte_is_refused(void **state)
{
    (void)state;
    for (int split = 0; split < 2; split++) {
        for (uint32_t extra = 0; extra < 2; extra++) {
            stream s = {.n = 0};
            if (split) {
                frag(&s, 60, 0, 'm');
                frag(&s, 40 + extra, 1, 'm');
            } else {
                frag(&s, 100 + extra, 1, 'm');
            }
            pl_rm_reader r;
            pl_rm_init(&r);
            r.max_msg = 100;
            got g = {0};
            int rc = feed_piece(&r, s.b, s.n, &g);
            if (extra) {
                assert_int_equal(rc, -PARLEY_ERR_MSG_TOO_LARGE);
                assert_int_equal(g.n, 0);
            } else {
                assert_int_equal(rc, PL_RM_NEED_MORE);
                assert_int_equal(g.n, 1);
                assert_int_equal(g.len[0], 100);
            }
            assert_true(r.buf_cap <= 100);
            pl_rm_destroy(&r);
        }
    }
}

static void test_default_limit_is_4_mib(void **state)
{
    (void)state;
    uint8_t b[4];
    pl_rm_reader r;
    size_t used;
    pl_rm_init(&r);
    assert_int_equal(r.max_msg, 4u << 20);
    r.max_msg = 0; /* zero means the default */
    pl_rm_header(b, 4u << 20, 1);
    assert_int_equal(pl_rm_feed(&r, b, 4, &used), PL_RM_NEED_MORE);
    pl_rm_destroy(&r);
    pl_rm_init(&r);
    pl_rm_header(b, (4u << 20) + 1, 1);
    assert_int_equal(pl_rm_feed(&r, b, 4, &used), -PARLEY_ERR_MSG_TOO_LARGE);
    pl_rm_destroy(&r);
}

static void test_reassembled_message_lives_until_the_next_feed(void **state)
{
    (void)state;
    stream s = {.n = 0};
    frag(&s, 3, 1, 'k');
    pl_rm_reader r;
    pl_rm_init(&r);
    size_t used;
    assert_int_equal(pl_rm_feed(&r, s.b, 5, &used), PL_RM_NEED_MORE);
    assert_int_equal(pl_rm_feed(&r, s.b + 5, 2, &used), PL_RM_MESSAGE);
    assert_ptr_equal(r.msg, r.buf);
    memset(s.b, 0, sizeof s.b); /* the caller's bytes may be reused at once */
    assert_memory_equal(r.msg, "kkk", 3);
    assert_int_equal(pl_rm_feed(&r, s.b, 0, &used), PL_RM_NEED_MORE);
    assert_null(r.msg);
    assert_int_equal(r.msg_len, 0);
    pl_rm_destroy(&r);
    pl_rm_destroy(NULL);
}

static void test_null_data_with_a_length_is_refused(void **state)
{
    (void)state;
    pl_rm_reader r;
    pl_rm_init(&r);
    size_t used = 9;
    assert_int_equal(pl_rm_feed(&r, NULL, 4, &used), -PARLEY_ERR_NULL);
    assert_int_equal(used, 0);
    assert_int_equal(pl_rm_feed(&r, NULL, 0, &used), PL_RM_NEED_MORE);
    pl_rm_destroy(&r);
}

static void test_frame_writes_the_header_in_the_headroom(void **state)
{
    (void)state;
    uint8_t b[4 + 6] = {0, 0, 0, 0, 'p', 'a', 'r', 'l', 'e', 'y'};
    assert_int_equal(pl_rm_frame(b, 6), PARLEY_OK);
    assert_memory_equal(b, ((uint8_t[]){0x80, 0, 0, 6}), 4);
    pl_rm_reader r;
    pl_rm_init(&r);
    size_t used;
    assert_int_equal(pl_rm_feed(&r, b, sizeof b, &used), PL_RM_MESSAGE);
    assert_memory_equal(r.msg, "parley", 6);
    pl_rm_destroy(&r);
    /* past 2 GiB - 1 a message needs fragments: nothing is written */
    uint8_t z[4] = {0};
    assert_int_equal(pl_rm_frame(z, (size_t)PL_RM_MAX_FRAG + 1), PARLEY_ERR_MSG_TOO_LARGE);
    assert_memory_equal(z, ((uint8_t[]){0, 0, 0, 0}), 4);
    assert_int_equal(pl_rm_frame(z, PL_RM_MAX_FRAG), PARLEY_OK);
    assert_memory_equal(z, ((uint8_t[]){0xff, 0xff, 0xff, 0xff}), 4);
}

static void test_next_fragment_splits_messages_the_reader_puts_back_together(void **state)
{
    (void)state;
    const char *msg = "0123456789";
    stream s = {.n = 0};
    size_t left = 10, frags = 0;
    const char *p = msg;
    do {
        size_t n = pl_rm_next_fragment(s.b + s.n, left, 4);
        s.n += 4;
        memcpy(s.b + s.n, p, n);
        s.n += n;
        p += n;
        left -= n;
        frags++;
    } while (left);
    assert_int_equal(frags, 3);
    assert_int_equal(s.n, 3 * 4 + 10);
    assert_memory_equal(s.b, ((uint8_t[]){0, 0, 0, 4}), 4);
    assert_memory_equal(s.b + 16, ((uint8_t[]){0x80, 0, 0, 2}), 4);
    pl_rm_reader r;
    pl_rm_init(&r);
    size_t used;
    assert_int_equal(pl_rm_feed(&r, s.b, s.n, &used), PL_RM_MESSAGE);
    assert_int_equal(r.msg_len, 10);
    assert_memory_equal(r.msg, msg, 10);
    pl_rm_destroy(&r);

    /* an empty message is one empty last fragment */
    uint8_t h[4];
    assert_int_equal(pl_rm_next_fragment(h, 0, 4), 0);
    assert_memory_equal(h, ((uint8_t[]){0x80, 0, 0, 0}), 4);
    /* by default fragments stop at 2 GiB - 1 */
    assert_int_equal(pl_rm_next_fragment(h, (size_t)PL_RM_MAX_FRAG + 5, 0), PL_RM_MAX_FRAG);
    assert_memory_equal(h, ((uint8_t[]){0x7f, 0xff, 0xff, 0xff}), 4);
    assert_int_equal(pl_rm_next_fragment(h, 5, 0), 5);
    assert_memory_equal(h, ((uint8_t[]){0x80, 0, 0, 5}), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_has_the_last_bit_and_31_bits_of_length),
        cmocka_unit_test(test_one_message_in_one_feed_is_returned_in_place),
        cmocka_unit_test(test_many_messages_in_one_feed_come_out_one_by_one),
        cmocka_unit_test(test_stream_split_at_every_byte_gives_the_same_messages),
        cmocka_unit_test(test_multi_fragment_message_is_reassembled_in_order),
        cmocka_unit_test(test_zero_length_fragments_are_accepted),
        cmocka_unit_test(test_a_2_gib_header_fails_at_once_without_allocating),
        cmocka_unit_test(test_endless_empty_fragments_are_a_protocol_error),
        cmocka_unit_test(test_max_msg_is_accepted_exactly_and_one_more_byte_is_refused),
        cmocka_unit_test(test_default_limit_is_4_mib),
        cmocka_unit_test(test_reassembled_message_lives_until_the_next_feed),
        cmocka_unit_test(test_null_data_with_a_length_is_refused),
        cmocka_unit_test(test_frame_writes_the_header_in_the_headroom),
        cmocka_unit_test(test_next_fragment_splits_messages_the_reader_puts_back_together),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
