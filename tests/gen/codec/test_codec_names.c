/*
 * test_codec_names.c: types, enum members, struct fields, union arms and a
 * list's link named like the generated code's own variables (len, e, d, v,
 * p, n, a, cap, used, lim, rc, buf, after, arena, next, ...: see
 * names_as_types.idl) compile, as rpcgen accepts them, and round-trip: each
 * value encodes to T_size bytes and decodes to an equal value.
 *
 * The generated code's own names begin with '_', which the front end keeps
 * from global IDL names (check-names-reserved-prefix in diag/), so no IDL
 * name can rewrite or shadow them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "names_as_types.h"

/* S makes a modifiable string from a literal (the types hold char *). */
#define S(lit) ((char[]){lit})

/* roundtrip_v encodes a struct v, checks the size, decodes it and compares
 * the decoded value field by field with the original. */
static void roundtrip_v(const struct v *in)
{
    uint8_t wire[512];
    size_t nbytes = 0;
    assert_int_equal(v_encode(in, wire, sizeof wire, &nbytes), PARLEY_OK);
    assert_int_equal(nbytes, v_size(in));
    struct v out;
    memset(&out, 0xa5, sizeof out);
    assert_int_equal(v_decode(&out, wire, nbytes, NULL, NULL), PARLEY_OK);
    assert_int_equal(out.len, in->len);
    assert_int_equal(out.e, in->e);
    assert_int_equal(out.d, in->d);
    assert_int_equal(out.v, in->v);
    assert_int_equal(out.p, in->p);
    assert_int_equal(out.n, in->n);
    assert_int_equal(out.a, in->a);
    assert_int_equal(out.cap, in->cap);
    assert_int_equal(out.used, in->used);
    assert_int_equal(out.lim, in->lim);
    assert_int_equal(out.rc, in->rc);
    assert_int_equal(out.buf.buf_len, in->buf.buf_len);
    assert_memory_equal(out.buf.buf_val, in->buf.buf_val, in->buf.buf_len);
    assert_string_equal(out.after, in->after);
    assert_int_equal(out.arena.arena_len, in->arena.arena_len);
    for (u_int k = 0; k < in->arena.arena_len; k++)
        assert_int_equal(out.arena.arena_val[k], in->arena.arena_val[k]);
    assert_string_equal(out.c, in->c);
    assert_int_equal(out.r != NULL, in->r != NULL);
    if (in->r)
        assert_int_equal(out.r->v, in->r->v);
    v_free(&out);
}

static void test_fields_named_like_the_generated_code_locals_round_trip(void **state)
{
    (void)state;
    char bytes[] = {1, 2, 3, 4, 5};
    int ints[] = {-1, 0, 7};
    struct v inner;
    memset(&inner, 0, sizeof inner);
    inner.after = S("");
    inner.c = S("");
    inner.d = q;
    inner.v = 99;
    struct v val = {
        .len = 4,
        .e = -5,
        .d = x,
        .v = 6,
        .p = 7,
        .n = 8,
        .a = 9,
        .cap = 4000000000u,
        .used = -(1LL << 40),
        .lim = 1,
        .rc = -300,
        .buf = {sizeof bytes, bytes},
        .after = S("after"),
        .arena = {3, ints},
        .c = S("ab"),
        .r = &inner,
    };
    roundtrip_v(&val);
    val.r = NULL;
    roundtrip_v(&val);
}

/* roundtrip_n is roundtrip_v for the union n, by its encoding: decoded and
 * encoded again, it gives the same bytes. */
static void roundtrip_n(const n *in)
{
    uint8_t wire[512], again[512];
    size_t nbytes = 0, len2 = 0;
    assert_int_equal(n_encode(in, wire, sizeof wire, &nbytes), PARLEY_OK);
    assert_int_equal(nbytes, n_size(in));
    n out;
    assert_int_equal(n_decode(&out, wire, nbytes, NULL, NULL), PARLEY_OK);
    assert_int_equal(out.d, in->d);
    assert_int_equal(n_encode(&out, again, sizeof again, &len2), PARLEY_OK);
    assert_int_equal(len2, nbytes);
    assert_memory_equal(again, wire, nbytes);
    n_free(&out);
}

static void test_union_over_an_enum_with_members_named_like_locals_round_trips(void **state)
{
    (void)state;
    n val;
    memset(&val, 0, sizeof val);
    val.d = i;
    val.n_u.v.after = S("arm v");
    val.n_u.v.c = S("");
    val.n_u.v.d = q;
    val.n_u.v.len = 12;
    roundtrip_n(&val);

    int ints[] = {10, 20};
    memset(&val, 0, sizeof val);
    val.d = x;
    val.n_u.e.e_len = 2;
    val.n_u.e.e_val = ints;
    roundtrip_n(&val);

    memset(&val, 0, sizeof val);
    val.d = q;
    roundtrip_n(&val);
}

static void test_list_linked_by_next_round_trips(void **state)
{
    (void)state;
    a cells[3];
    memset(cells, 0, sizeof cells);
    for (int k = 0; k < 3; k++) {
        cells[k].n.d = q;
        cells[k].next = k < 2 ? &cells[k + 1] : NULL;
    }
    cells[1].n.d = i;
    cells[1].n.n_u.v.after = S("middle");
    cells[1].n.n_u.v.c = S("c");
    cells[1].n.n_u.v.d = q;
    uint8_t wire[512];
    size_t nbytes = 0;
    assert_int_equal(a_encode(&cells[0], wire, sizeof wire, &nbytes), PARLEY_OK);
    assert_int_equal(nbytes, a_size(&cells[0]));
    a out;
    assert_int_equal(a_decode(&out, wire, nbytes, NULL, NULL), PARLEY_OK);
    assert_non_null(out.next);
    assert_int_equal(out.next->n.d, i);
    assert_string_equal(out.next->n.n_u.v.after, "middle");
    assert_non_null(out.next->next);
    assert_null(out.next->next->next);
    a_free(&out);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields_named_like_the_generated_code_locals_round_trip),
        cmocka_unit_test(test_union_over_an_enum_with_members_named_like_locals_round_trips),
        cmocka_unit_test(test_list_linked_by_next_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
