/*
 * test_codec_names_defines.c: constants and procedures named like the
 * generated code's own variables (`const len = 4;`, e, d, v, n, a, cap,
 * used, lim, rc, buf, next, after, c, r, av; procedures result, call, done,
 * ctx: see names_as_defines.idl) or like the fields of the runtime's codec
 * cursors (`const p = 4;`, end, err, arena) become #defines that no longer
 * rewrite the generated codec, client or server, which compile with the
 * project's warnings, and the types round-trip. The server's procedures are defined
 * here, so the prototypes the header gives them are compiled against a
 * definition too.
 *
 * The header's #defines of one-letter names come last, after every other
 * header, and the code below takes care not to use them as its own names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "names_as_defines.h"

int result_1_svc(const box *arg, box *res, parley_call *call_)
{
    (void)call_;
    *res = *arg;
    return PARLEY_OK;
}

int call_1_svc(const int *num, const box *arg, choice *res, parley_call *call_)
{
    (void)num;
    (void)arg;
    (void)call_;
    res->which = TWO;
    return PARLEY_OK;
}

int done_1_svc(parley_call *call_)
{
    (void)call_;
    return PARLEY_OK;
}

int ctx_1_svc(char *const *text, int *res, parley_call *call_)
{
    (void)call_;
    *res = (int)strlen(*text);
    return PARLEY_OK;
}

int multi_1_svc(const choice *one, const int *two, const box *three, parley_call *call_)
{
    (void)one;
    (void)two;
    (void)three;
    (void)call_;
    return PARLEY_OK;
}

static void test_the_constants_keep_their_values(void **state)
{
    (void)state;
    assert_int_equal(len, 4);
    assert_int_equal(cap, 8);
    assert_int_equal(rc, 3);
    assert_int_equal(next, 15);
    assert_int_equal(ONE, 11);
    assert_int_equal(TWO, 12);
    assert_int_equal(result, 1);
    assert_int_equal(call, 2);
    assert_int_equal(done, 3);
    assert_int_equal(ctx, 4);
    assert_int_equal(sizeof(((box *)NULL)->items) / sizeof(int), 4);
    assert_int_equal(p, 4);
    assert_int_equal(end, 5);
    assert_int_equal(err, 6);
    assert_int_equal(arena, 7);
    assert_int_equal(sizeof(((spot *)NULL)->mark), 4);
}

/* spots fills a list of two spots with arrays at their bounds (end, arena
 * and err) and a string of err bytes; the caller frees nothing. */
static void spots(spot *head, spot *tail, int *runs, pick *picks, char *note)
{
    memset(head, 0, sizeof *head);
    memset(tail, 0, sizeof *tail);
    memcpy(head->mark, "\x01\x02\x03\x04", 4);
    head->stamp = 0x0123456789abcdefu;
    head->runs.runs_len = 5;
    head->runs.runs_val = runs;
    head->picks.picks_len = 7;
    head->picks.picks_val = picks;
    head->note = note;
    head->after_this = tail;
    tail->stamp = 1;
    tail->note = note + 6;
}

static void test_types_sized_by_the_cursor_fields_names_round_trip(void **state)
{
    (void)state;
    int runs[5] = {-1, 2, -3, 4, -5};
    pick picks[7] = {ONE, TWO, ONE, ONE, TWO, TWO, ONE};
    char note[] = "sixchr";
    spot head, tail;
    spots(&head, &tail, runs, picks, note);
    uint8_t wire[512], again[512];
    size_t wire_bytes = 0, again_bytes = 0;
    assert_int_equal(spot_encode(&head, wire, sizeof wire, &wire_bytes), PARLEY_OK);
    assert_int_equal(wire_bytes, spot_size(&head));

    spot out;
    assert_int_equal(spot_decode(&out, wire, wire_bytes, NULL, NULL), PARLEY_OK);
    assert_memory_equal(out.mark, head.mark, 4);
    assert_true(out.stamp == head.stamp);
    assert_int_equal(out.runs.runs_len, 5);
    assert_memory_equal(out.runs.runs_val, runs, sizeof runs);
    assert_int_equal(out.picks.picks_len, 7);
    assert_memory_equal(out.picks.picks_val, picks, sizeof picks);
    assert_string_equal(out.note, note);
    assert_non_null(out.after_this);
    assert_string_equal(out.after_this->note, "");
    assert_null(out.after_this->after_this);
    assert_int_equal(spot_encode(&out, again, sizeof again, &again_bytes), PARLEY_OK);
    assert_int_equal(again_bytes, wire_bytes);
    assert_memory_equal(again, wire, wire_bytes);
    spot_free(&out);

    /* into an arena, which the failed decode leaves to be reset */
    parley_arena *ar = parley_arena_create(0);
    assert_non_null(ar);
    parley_limits in_arena = {0, 0, 0, ar};
    assert_int_equal(spot_decode(&out, wire, wire_bytes, NULL, &in_arena), PARLEY_OK);
    assert_string_equal(out.note, note);
    assert_int_equal(spot_decode(&out, wire, wire_bytes - 4, NULL, &in_arena),
                     PARLEY_ERR_TRUNCATED);
    assert_null(out.after_this);
    parley_arena_destroy(ar);

    /* a trailing word is refused when the caller does not ask what was used */
    memset(wire + wire_bytes, 0, 4);
    assert_int_equal(spot_decode(&out, wire, wire_bytes + 4, NULL, NULL), PARLEY_ERR_TRAILING);
    size_t used_bytes = 0;
    assert_int_equal(spot_decode(&out, wire, wire_bytes + 4, &used_bytes, NULL), PARLEY_OK);
    assert_int_equal(used_bytes, wire_bytes);
    spot_free(&out);

    /* a pick out of range (the third, after mark, stamp, the five runs and
     * the picks' count) stops the decoding of its array and of the rest */
    parley_st_u32(wire + 4 + 8 + 4 + 20 + 4 + 8, 3);
    assert_int_equal(spot_decode(&out, wire, wire_bytes, NULL, NULL), PARLEY_ERR_BAD_ENUM);
    assert_null(out.picks.picks_val);
    assert_null(out.after_this);

    /* one over each bound, and a pick out of range, are refused */
    head.runs.runs_len = 6;
    assert_int_equal(spot_encode(&head, wire, sizeof wire, &wire_bytes), PARLEY_ERR_TOO_LONG);
    head.runs.runs_len = 5;
    char long_note[] = "sevench";
    head.note = long_note;
    assert_int_equal(spot_encode(&head, wire, sizeof wire, &wire_bytes), PARLEY_ERR_TOO_LONG);
    head.note = note;
    picks[6] = (pick)3;
    assert_int_equal(spot_encode(&head, wire, sizeof wire, &wire_bytes), PARLEY_ERR_BAD_ENUM);

    /* the encoder's error ends the list: a buffer one word short */
    picks[6] = ONE;
    assert_int_equal(spot_encode(&head, wire, spot_size(&head) - 4, &wire_bytes),
                     PARLEY_ERR_BUFFER_FULL);
}

static void test_types_sized_by_those_constants_round_trip(void **state)
{
    (void)state;
    char label[] = "eight ch";
    char bytes[] = {1, 2, 3, 4, 5};
    int more[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    box tail;
    memset(&tail, 0, sizeof tail);
    tail.label = label + 8;
    box head = {{1, -2, 3, -4}, label, {sizeof bytes, bytes}, {10, more}, &tail};
    choice in = {ONE, {head}};
    uint8_t wire[1024], again[1024];
    size_t used_bytes = 0, again_bytes = 0;
    assert_int_equal(choice_encode(&in, wire, sizeof wire, &used_bytes), PARLEY_OK);
    assert_int_equal(used_bytes, choice_size(&in));
    choice out;
    assert_int_equal(choice_decode(&out, wire, used_bytes, NULL, NULL), PARLEY_OK);
    assert_int_equal(out.which, ONE);
    assert_int_equal(out.choice_u.b.items[3], -4);
    assert_string_equal(out.choice_u.b.label, label);
    assert_int_equal(out.choice_u.b.more.more_len, 10);
    assert_non_null(out.choice_u.b.link);
    assert_int_equal(choice_encode(&out, again, sizeof again, &again_bytes), PARLEY_OK);
    assert_int_equal(again_bytes, used_bytes);
    assert_memory_equal(again, wire, used_bytes);
    choice_free(&out);

    /* one over a bound given by a constant is refused */
    more[0] = 0;
    box over = head;
    over.link = NULL;
    int eleven[11] = {0};
    over.more.more_len = 11;
    over.more.more_val = eleven;
    assert_int_equal(box_encode(&over, wire, sizeof wire, &used_bytes), PARLEY_ERR_TOO_LONG);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_constants_keep_their_values),
        cmocka_unit_test(test_types_sized_by_those_constants_round_trip),
        cmocka_unit_test(test_types_sized_by_the_cursor_fields_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
