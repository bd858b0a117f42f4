/*
 * tests/matchmaker/test_mm_proto.c: the matchmaker's own protocol
 * (matchmaker/matchmaker.idl) through its generated codec: a registration
 * and a look-up's answer laid out by hand, the bounds of names, netids,
 * addresses, owners and lists on both sides of the wire, statuses that are
 * not members of mm_status, and the program's numbers and service name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "matchmaker.h"
#include "registry.h"

static char s_date[] = "date", s_tcp[] = "tcp", s_uaddr[] = "127.0.0.1.15.160", s_owner[] = "1000";

static const uint8_t registration_bytes[] = {
    0x00, 0x00, 0x00, 0x04, 'd', 'a', 't', 'e',  /* name */
    0x20, 0x00, 0x01, 0x00,                      /* prog */
    0x00, 0x00, 0x00, 0x01,                      /* vers */
    0x00, 0x00, 0x00, 0x03, 't', 'c', 'p', 0x00, /* netid */
    0x00, 0x00, 0x00, 0x10, '1', '2', '7', '.',  /* uaddr, 16 bytes */
    '0',  '.',  '0',  '.',  '1', '.', '1', '5',  /* */
    '.',  '1',  '6',  '0',                       /* */
};

static const uint8_t lookup_ok_bytes[] = {
    0x00, 0x00, 0x00, 0x00,                         /* MM_OK */
    0x00, 0x00, 0x00, 0x01,                         /* one entry */
    0x00, 0x00, 0x00, 0x04, 'd',  'a',  't',  'e',  /* name */
    0x20, 0x00, 0x01, 0x00,                         /* prog */
    0x00, 0x00, 0x00, 0x01,                         /* vers */
    0x00, 0x00, 0x00, 0x03, 't',  'c',  'p',  0x00, /* netid */
    0x00, 0x00, 0x00, 0x10, '1',  '2',  '7',  '.',  /* uaddr */
    '0',  '.',  '0',  '.',  '1',  '.',  '1',  '5',  /* */
    '.',  '1',  '6',  '0',                          /* */
    0x00, 0x00, 0x00, 0x04, '1',  '0',  '0',  '0',  /* owner */
    0x00, 0x00, 0x00, 0x00, 0x67, 0x40, 0x3a, 0x00, /* registered: 1732262400 */
};

static void test_a_registration_encodes_as_laid_out(void **state)
{
    (void)state;
    mm_registration reg = {s_date, 0x20000100, 1, s_tcp, s_uaddr};
    uint8_t buf[256];
    size_t len;
    assert_int_equal(mm_registration_encode(&reg, buf, sizeof buf, &len), PARLEY_OK);
    assert_int_equal(len, sizeof registration_bytes);
    assert_memory_equal(buf, registration_bytes, len);
    assert_int_equal(mm_registration_size(&reg), len);
    for (size_t n = 0; n < sizeof registration_bytes; n++) {
        const void *g = pt_guard_copy(registration_bytes, n);
        mm_registration back;
        assert_int_equal(mm_registration_decode(&back, g, n, NULL, NULL), PARLEY_ERR_TRUNCATED);
        mm_registration_free(&back);
        pt_guard_free(g);
    }
    mm_registration back;
    assert_int_equal(
        mm_registration_decode(&back, registration_bytes, sizeof registration_bytes, NULL, NULL),
        PARLEY_OK);
    assert_string_equal(back.uaddr, "127.0.0.1.15.160");
    mm_registration_free(&back);
}

static void test_lookup_answers_carry_entries_only_when_ok(void **state)
{
    (void)state;
    mm_entry e = {s_date, 0x20000100, 1, s_tcp, s_uaddr, s_owner, 1732262400};
    mm_lookup_res res;
    memset(&res, 0, sizeof res);
    res.status = MM_OK;
    res.mm_lookup_res_u.entries.mm_entry_list_len = 1;
    res.mm_lookup_res_u.entries.mm_entry_list_val = &e;
    uint8_t buf[256];
    size_t len;
    assert_int_equal(mm_lookup_res_encode(&res, buf, sizeof buf, &len), PARLEY_OK);
    assert_int_equal(len, sizeof lookup_ok_bytes);
    assert_memory_equal(buf, lookup_ok_bytes, len);
    mm_lookup_res back;
    assert_int_equal(mm_lookup_res_decode(&back, lookup_ok_bytes, len, NULL, NULL), PARLEY_OK);
    assert_int_equal(back.mm_lookup_res_u.entries.mm_entry_list_len, 1);
    assert_string_equal(back.mm_lookup_res_u.entries.mm_entry_list_val[0].owner, "1000");
    assert_int_equal(back.mm_lookup_res_u.entries.mm_entry_list_val[0].registered, 1732262400);
    mm_lookup_res_free(&back);

    /* every other status is the status alone */
    for (int st = MM_DENIED; st <= MM_STALE; st++) {
        res.status = (mm_status)st;
        assert_int_equal(mm_lookup_res_encode(&res, buf, sizeof buf, &len), PARLEY_OK);
        assert_int_equal(len, 4);
        assert_int_equal(buf[3], st);
    }
    /* statuses outside the enum are refused both ways */
    static const uint8_t bad[][4] = {{0, 0, 0, 8}, {0, 0, 0, 99}, {0xff, 0xff, 0xff, 0xff}};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(mm_lookup_res_decode(&back, bad[i], 4, NULL, NULL), PARLEY_ERR_BAD_ENUM);
        mm_status s;
        assert_int_equal(mm_status_decode(&s, bad[i], 4, NULL, NULL), PARLEY_ERR_BAD_ENUM);
    }
    res.status = (mm_status)8;
    assert_int_equal(mm_lookup_res_encode(&res, buf, sizeof buf, &len), PARLEY_ERR_BAD_ENUM);
}

static void test_strings_past_their_bounds_are_refused_both_ways(void **state)
{
    (void)state;
    char name[MM_NAME_MAX + 2], netid[MM_NETID_MAX + 2], uaddr[MM_UADDR_MAX + 2];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    memset(netid, 't', sizeof netid - 1);
    netid[sizeof netid - 1] = '\0';
    memset(uaddr, '1', sizeof uaddr - 1);
    uaddr[sizeof uaddr - 1] = '\0';
    uint8_t buf[512];
    size_t len;
    mm_registration reg = {name, 1, 1, s_tcp, s_uaddr};
    assert_int_equal(mm_registration_encode(&reg, buf, sizeof buf, &len), PARLEY_ERR_TOO_LONG);
    name[MM_NAME_MAX] = '\0'; /* at the bound: fine */
    assert_int_equal(mm_registration_encode(&reg, buf, sizeof buf, &len), PARLEY_OK);
    /* one more byte on the wire is refused by the decoder */
    buf[3] = MM_NAME_MAX + 1;
    mm_registration back;
    assert_int_equal(mm_registration_decode(&back, buf, len, NULL, NULL), PARLEY_ERR_TOO_LONG);
    reg = (mm_registration){s_date, 1, 1, netid, s_uaddr};
    assert_int_equal(mm_registration_encode(&reg, buf, sizeof buf, &len), PARLEY_ERR_TOO_LONG);
    reg = (mm_registration){s_date, 1, 1, s_tcp, uaddr};
    assert_int_equal(mm_registration_encode(&reg, buf, sizeof buf, &len), PARLEY_ERR_TOO_LONG);
    char owner[MM_OWNER_MAX + 2];
    memset(owner, '9', sizeof owner - 1);
    owner[sizeof owner - 1] = '\0';
    mm_entry e = {s_date, 1, 1, s_tcp, s_uaddr, owner, 0};
    assert_int_equal(mm_entry_encode(&e, buf, sizeof buf, &len), PARLEY_ERR_TOO_LONG);
    /* a query, a key: the same bounds */
    mm_query q = {name, 0, s_tcp};
    name[MM_NAME_MAX] = 'n';
    assert_int_equal(mm_query_encode(&q, buf, sizeof buf, &len), PARLEY_ERR_TOO_LONG);
    mm_key k = {s_date, 0, netid};
    assert_int_equal(mm_key_encode(&k, buf, sizeof buf, &len), PARLEY_ERR_TOO_LONG);
}

static void test_entry_lists_are_bounded_and_checked_before_allocation(void **state)
{
    (void)state;
    /* a count past the bound, and a count the message cannot hold */
    static const uint8_t toolong[] = {0, 0, 0x20, 0x01};
    static const uint8_t claims[] = {0, 0, 0x20, 0x00, 0, 0, 0, 0};
    mm_entry_list l;
    parley_limits lim = {.max_alloc = 1024, .max_depth = 0, .flags = 0, .arena = NULL};
    assert_int_equal(mm_entry_list_decode(&l, toolong, sizeof toolong, NULL, &lim),
                     PARLEY_ERR_TOO_LONG);
    assert_int_equal(mm_entry_list_decode(&l, claims, sizeof claims, NULL, &lim),
                     PARLEY_ERR_TRUNCATED);
    assert_null(l.mm_entry_list_val);
    /* and the encoder will not send more than MM_LIST_MAX */
    mm_entry e = {s_date, 1, 1, s_tcp, s_uaddr, s_owner, 0};
    mm_entry_list big = {MM_LIST_MAX + 1, &e};
    uint8_t buf[64];
    assert_int_equal(mm_entry_list_encode(&big, buf, sizeof buf, NULL), PARLEY_ERR_TOO_LONG);
}

static void test_the_wire_bounds_hold_what_the_registry_holds(void **state)
{
    (void)state;
    assert_int_equal(MATCHMAKER_PROG, 0x2050524c);
    assert_int_equal(MATCHMAKER_VERS, 1);
    assert_string_equal(MATCHMAKER_PROG_SERVICE, "matchmaker");
    assert_int_equal(MATCHMAKER_NULL, 0);
    assert_int_equal(MATCHMAKER_REGISTER, 1);
    assert_int_equal(MATCHMAKER_UNREGISTER, 2);
    assert_int_equal(MATCHMAKER_LOOKUP, 3);
    assert_int_equal(MATCHMAKER_LIST, 4);
    assert_int_equal(MM_OK, 0);
    /* the service name is a valid matchmaker name */
    assert_true(mm_name_valid(MATCHMAKER_PROG_SERVICE));
    /* every owner text fits the wire */
    char owner[MM_OWNER_TEXT_MAX + 1];
    mm_owner_format((uid_t)4294967294u, owner);
    assert_true(strlen(owner) <= MM_OWNER_MAX);
    /* a full table's LIST fits the runtime's default message size (4 MiB)
     * even with every string at its bound */
    size_t worst = 4 + (4 + MM_NAME_MAX) + 4 + 4 + (4 + MM_NETID_MAX) + (4 + MM_UADDR_MAX) +
                   (4 + MM_OWNER_MAX) + 8;
    assert_true(4 + (size_t)MM_LIST_MAX * worst < (size_t)4 << 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_registration_encodes_as_laid_out),
        cmocka_unit_test(test_lookup_answers_carry_entries_only_when_ok),
        cmocka_unit_test(test_strings_past_their_bounds_are_refused_both_ways),
        cmocka_unit_test(test_entry_lists_are_bounded_and_checked_before_allocation),
        cmocka_unit_test(test_the_wire_bounds_hold_what_the_registry_holds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
