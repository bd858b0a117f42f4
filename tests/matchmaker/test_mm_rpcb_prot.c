/*
 * tests/matchmaker/test_mm_rpcb_prot.c: the rpcbind protocol of RFC 1833 as
 * matchmaker/rpcb_prot.x declares it, through the codec parleygen made of
 * it. Messages are encoded and compared with bytes laid out by hand from
 * the RFC's XDR (each a word or a padded string), decoded back, and then
 * attacked: every truncation (before a guard page), each bound exceeded by
 * one and by 2^32 - 1 (the "rpcbomb" lengths), bad padding, bad bools,
 * trailing bytes. The procedure numbers are checked against the RFC.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"
#include "rpcb_prot.h"

/* The RFC's rpcb for rpcbind itself: program 100000 version 4 on tcp at
 * 0.0.0.0 port 111, owned by the superuser. */
static const uint8_t rpcb_bytes[] = {
    0x00, 0x01, 0x86, 0xa0,                        /* r_prog 100000 */
    0x00, 0x00, 0x00, 0x04,                        /* r_vers 4 */
    0x00, 0x00, 0x00, 0x03, 't', 'c',  'p',  0x00, /* r_netid "tcp", one byte of padding */
    0x00, 0x00, 0x00, 0x0d, '0', '.',  '0',  '.',  /* r_addr, 13 bytes */
    '0',  '.',  '0',  '.',  '0', '.',  '1',  '1',  /* */
    '1',  0x00, 0x00, 0x00,                        /* and three of padding */
    0x00, 0x00, 0x00, 0x09, 's', 'u',  'p',  'e',  /* r_owner, 9 bytes */
    'r',  'u',  's',  'e',  'r', 0x00, 0x00, 0x00, /* */
};

/* The port mapper's mapping of the same: 100000 v2 on TCP (6), port 111. */
static const uint8_t pmap_bytes[] = {
    0x00, 0x01, 0x86, 0xa0, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x6f,
};

/* PMAPPROC_DUMP's list: TCP then UDP (17), each behind a TRUE, then FALSE. */
static const uint8_t pmaplist_bytes[] = {
    0x00, 0x00, 0x00, 0x01,                         /* an entry follows */
    0x00, 0x01, 0x86, 0xa0, 0x00, 0x00, 0x00, 0x02, /* */
    0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x6f, /* */
    0x00, 0x00, 0x00, 0x01,                         /* another */
    0x00, 0x01, 0x86, 0xa0, 0x00, 0x00, 0x00, 0x02, /* */
    0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x6f, /* */
    0x00, 0x00, 0x00, 0x00,                         /* the end */
};

/* A netbuf of 5 bytes in a 32-byte buffer. */
static const uint8_t netbuf_bytes[] = {
    0x00, 0x00, 0x00, 0x20,                         /* maxlen 32 */
    0x00, 0x00, 0x00, 0x05, 0x01, 0x02, 0x03, 0x04, /* buf, 5 bytes */
    0x05, 0x00, 0x00, 0x00,                         /* and padding */
};

/* GETADDRLIST's list of one rpcb_entry: tcp at 127.0.0.1 port 111. */
static const uint8_t entry_list_bytes[] = {
    0x00, 0x00, 0x00, 0x01,                      /* an entry follows */
    0x00, 0x00, 0x00, 0x0f, '1', '2', '7', '.',  /* r_maddr, 15 bytes */
    '0',  '.',  '0',  '.',  '1', '.', '0', '.',  /* */
    '1',  '1',  '1',  0x00,                      /* */
    0x00, 0x00, 0x00, 0x03, 't', 'c', 'p', 0x00, /* r_nc_netid */
    0x00, 0x00, 0x00, 0x03,                      /* NC_TPI_COTS_ORD */
    0x00, 0x00, 0x00, 0x04, 'i', 'n', 'e', 't',  /* r_nc_protofmly */
    0x00, 0x00, 0x00, 0x03, 't', 'c', 'p', 0x00, /* r_nc_proto */
    0x00, 0x00, 0x00, 0x00,                      /* the end */
};

static char s_tcp[] = "tcp", s_udp[] = "udp", s_uaddr[] = "0.0.0.0.0.111";
static char s_owner[] = "superuser", s_maddr[] = "127.0.0.1.0.111", s_inet[] = "inet";

static mm_rpcb the_rpcb(void)
{
    mm_rpcb r = {100000, 4, s_tcp, s_uaddr, s_owner};
    return r;
}

/* assert_encodes encodes with enc and compares with the bytes. */
#define assert_encodes(type, value, bytes)                                                         \
    do {                                                                                           \
        uint8_t buf_[1024];                                                                        \
        size_t len_ = 0;                                                                           \
        assert_int_equal(type##_encode((value), buf_, sizeof buf_, &len_), PARLEY_OK);             \
        assert_int_equal(len_, sizeof(bytes));                                                     \
        assert_memory_equal(buf_, (bytes), sizeof(bytes));                                         \
        assert_int_equal(type##_size(value), sizeof(bytes));                                       \
        for (size_t cap_ = 0; cap_ < sizeof(bytes); cap_ += 3)                                     \
            assert_int_equal(type##_encode((value), buf_, cap_, NULL), PARLEY_ERR_BUFFER_FULL);    \
    } while (0)

/* assert_truncations_fail decodes every proper prefix of the bytes, each
 * ending right before a guard page, and expects an error each time, with
 * the value left freeable. */
#define assert_truncations_fail(type, bytes)                                                       \
    do {                                                                                           \
        for (size_t n_ = 0; n_ < sizeof(bytes); n_++) {                                            \
            const void *g_ = pt_guard_copy((bytes), n_);                                           \
            assert_non_null(g_);                                                                   \
            type v_;                                                                               \
            memset(&v_, 0, sizeof v_);                                                             \
            assert_int_equal(type##_decode(&v_, g_, n_, NULL, NULL), PARLEY_ERR_TRUNCATED);        \
            type##_free(&v_);                                                                      \
            pt_guard_free(g_);                                                                     \
        }                                                                                          \
    } while (0)

static void test_an_rpcb_encodes_as_the_rfc_lays_it_out(void **state)
{
    (void)state;
    mm_rpcb r = the_rpcb();
    assert_encodes(mm_rpcb, &r, rpcb_bytes);
    mm_rpcb back;
    const void *g = pt_guard_copy(rpcb_bytes, sizeof rpcb_bytes);
    assert_int_equal(mm_rpcb_decode(&back, g, sizeof rpcb_bytes, NULL, NULL), PARLEY_OK);
    assert_int_equal(back.r_prog, 100000);
    assert_int_equal(back.r_vers, 4);
    assert_string_equal(back.r_netid, "tcp");
    assert_string_equal(back.r_addr, "0.0.0.0.0.111");
    assert_string_equal(back.r_owner, "superuser");
    mm_rpcb_free(&back);
    pt_guard_free(g);
    assert_truncations_fail(mm_rpcb, rpcb_bytes);
}

static void test_a_pmap_and_the_dump_list_encode_as_the_rfc_lays_them_out(void **state)
{
    (void)state;
    mm_pmap m = {100000, 2, MM_IPPROTO_TCP, 111};
    assert_encodes(mm_pmap, &m, pmap_bytes);
    assert_truncations_fail(mm_pmap, pmap_bytes);

    mm_pmaplist second = {{100000, 2, MM_IPPROTO_UDP, 111}, NULL};
    mm_pmaplist first = {{100000, 2, MM_IPPROTO_TCP, 111}, &second};
    mm_pmaplist_ptr list = &first;
    assert_encodes(mm_pmaplist_ptr, &list, pmaplist_bytes);
    mm_pmaplist_ptr back = NULL;
    assert_int_equal(
        mm_pmaplist_ptr_decode(&back, pmaplist_bytes, sizeof pmaplist_bytes, NULL, NULL),
        PARLEY_OK);
    assert_non_null(back);
    assert_int_equal(back->pml_map.pm_prot, 6);
    assert_non_null(back->pml_next);
    assert_int_equal(back->pml_next->pml_map.pm_prot, 17);
    assert_null(back->pml_next->pml_next);
    mm_pmaplist_ptr_free(&back);
    assert_null(back);
    assert_truncations_fail(mm_pmaplist_ptr, pmaplist_bytes);

    /* the empty list is one FALSE */
    static const uint8_t empty[] = {0, 0, 0, 0};
    list = NULL;
    assert_encodes(mm_pmaplist_ptr, &list, empty);
}

static void test_the_rpcbind_dump_list_is_a_list_of_rpcbs(void **state)
{
    (void)state;
    uint8_t want[4 + sizeof rpcb_bytes + 4] = {0, 0, 0, 1};
    memcpy(want + 4, rpcb_bytes, sizeof rpcb_bytes);
    mm_rp__list one = {the_rpcb(), NULL};
    mm_rpcblist_ptr list = &one;
    assert_encodes(mm_rpcblist_ptr, &list, want);
    mm_rpcblist_ptr back = NULL;
    assert_int_equal(mm_rpcblist_ptr_decode(&back, want, sizeof want, NULL, NULL), PARLEY_OK);
    assert_string_equal(back->rpcb_map.r_owner, "superuser");
    assert_null(back->rpcb_next);
    mm_rpcblist_ptr_free(&back);
    assert_truncations_fail(mm_rpcblist_ptr, want);
}

static void test_a_netbuf_and_an_entry_list_encode_as_the_rfc_lays_them_out(void **state)
{
    (void)state;
    char bytes[5] = {1, 2, 3, 4, 5};
    mm_netbuf nb = {32, {5, bytes}};
    assert_encodes(mm_netbuf, &nb, netbuf_bytes);
    assert_truncations_fail(mm_netbuf, netbuf_bytes);

    mm_rpcb_entry_list e = {{s_maddr, s_tcp, MM_NC_TPI_COTS_ORD, s_inet, s_tcp}, NULL};
    mm_rpcb_entry_list_ptr list = &e;
    assert_encodes(mm_rpcb_entry_list_ptr, &list, entry_list_bytes);
    mm_rpcb_entry_list_ptr back = NULL;
    assert_int_equal(
        mm_rpcb_entry_list_ptr_decode(&back, entry_list_bytes, sizeof entry_list_bytes, NULL, NULL),
        PARLEY_OK);
    assert_string_equal(back->rpcb_entry_map.r_maddr, "127.0.0.1.0.111");
    assert_int_equal(back->rpcb_entry_map.r_nc_semantics, 3);
    assert_string_equal(back->rpcb_entry_map.r_nc_protofmly, "inet");
    mm_rpcb_entry_list_ptr_free(&back);
    assert_truncations_fail(mm_rpcb_entry_list_ptr, entry_list_bytes);
}

/* words writes n big-endian words into out. */
static size_t words(uint8_t *out, const uint32_t *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[4 * i] = (uint8_t)(w[i] >> 24);
        out[4 * i + 1] = (uint8_t)(w[i] >> 16);
        out[4 * i + 2] = (uint8_t)(w[i] >> 8);
        out[4 * i + 3] = (uint8_t)w[i];
    }
    return 4 * n;
}

static void test_the_statistics_are_three_rpcb_stats(void **state)
{
    (void)state;
    /* versions 2 and 3: 13 counters, setinfo, unsetinfo and two empty
     * lists, all zero. Version 4: 7 GETADDRs, one SET, and one entry in the
     * address list: 100003 v3 on udp, 2 found and 1 not. */
    uint32_t w[3 * 17 + 7]; /* the list takes 8 words where an empty one takes 1 */
    memset(w, 0, sizeof w);
    w[2 * 17 + 3] = 7;             /* info[RPCBPROC_GETADDR] */
    w[2 * 17 + 13] = 1;            /* setinfo */
    uint32_t *a = &w[2 * 17 + 15]; /* addrinfo */
    a[0] = 1;                      /* an entry follows */
    a[1] = 100003;                 /* prog */
    a[2] = 3;                      /* vers */
    a[3] = 2;                      /* success */
    a[4] = 1;                      /* failure */
    a[5] = 3;                      /* netid: "udp" */
    a[6] = ('u' << 24) | ('d' << 16) | ('p' << 8);
    a[7] = 0; /* next: none */
    a[8] = 0; /* rmtinfo: none */
    uint8_t want[sizeof w];
    size_t n = words(want, w, sizeof w / sizeof w[0]);
    assert_int_equal(n, 3 * 68 + 28);

    mm_rpcbs_addrlist al = {100003, 3, 2, 1, s_udp, NULL};
    mm_rpcb_stat_byvers st;
    memset(&st, 0, sizeof st);
    st[MM_RPCBVERS_4_STAT].info[MM_RPCBPROC_GETADDR] = 7;
    st[MM_RPCBVERS_4_STAT].setinfo = 1;
    st[MM_RPCBVERS_4_STAT].addrinfo = &al;
    assert_encodes(mm_rpcb_stat_byvers, &st, want);
    mm_rpcb_stat_byvers back;
    memset(&back, 0, sizeof back);
    assert_int_equal(mm_rpcb_stat_byvers_decode(&back, want, n, NULL, NULL), PARLEY_OK);
    assert_int_equal(back[2].info[3], 7);
    assert_string_equal(back[2].addrinfo->netid, "udp");
    assert_null(back[0].addrinfo);
    mm_rpcb_stat_byvers_free(&back);
    assert_truncations_fail(mm_rpcb_stat_byvers, want);
}

/* with_length returns rpcb_bytes with the length word at offset set to len
 * (the rest of the message as it was). */
static const void *with_length(size_t offset, uint32_t len)
{
    static uint8_t b[sizeof rpcb_bytes];
    memcpy(b, rpcb_bytes, sizeof b);
    words(b + offset, &len, 1);
    return b;
}

static void test_lengths_past_the_bounds_are_refused_before_anything_is_allocated(void **state)
{
    (void)state;
    /* the offsets of r_netid, r_addr and r_owner's lengths in rpcb_bytes */
    static const struct {
        size_t offset;
        uint32_t bound;
    } field[] = {{8, MM_RPCB_NETID_MAX}, {16, MM_RPCB_ADDR_MAX}, {36, MM_RPCB_OWNER_MAX}};
    parley_limits lim = {.max_alloc = 64, .max_depth = 0, .flags = 0, .arena = NULL};
    for (size_t i = 0; i < 3; i++) {
        const uint32_t lens[] = {field[i].bound + 1, 0x7fffffffu, 0xfffffff0u, 0xffffffffu};
        for (size_t k = 0; k < 4; k++) {
            mm_rpcb r;
            assert_int_equal(mm_rpcb_decode(&r, with_length(field[i].offset, lens[k]),
                                            sizeof rpcb_bytes, NULL, &lim),
                             PARLEY_ERR_TOO_LONG);
            assert_null(r.r_netid);
            assert_null(r.r_addr);
            mm_rpcb_free(&r);
        }
    }
    /* a netbuf longer than a sockaddr_storage */
    uint8_t nb[8 + 132];
    memset(nb, 0, sizeof nb);
    uint32_t head[2] = {132, 129};
    words(nb, head, 2);
    mm_netbuf v;
    assert_int_equal(mm_netbuf_decode(&v, nb, sizeof nb, NULL, NULL), PARLEY_ERR_TOO_LONG);
    head[1] = 128;
    words(nb, head, 2);
    assert_int_equal(mm_netbuf_decode(&v, nb, 8 + 128, NULL, NULL), PARLEY_OK);
    assert_int_equal(v.buf.buf_len, 128);
    mm_netbuf_free(&v);
    /* and the encoder refuses what the decoder would */
    char longnetid[MM_RPCB_NETID_MAX + 2];
    memset(longnetid, 'n', sizeof longnetid - 1);
    longnetid[sizeof longnetid - 1] = '\0';
    mm_rpcb r = the_rpcb();
    r.r_netid = longnetid;
    uint8_t buf[512];
    assert_int_equal(mm_rpcb_encode(&r, buf, sizeof buf, NULL), PARLEY_ERR_TOO_LONG);
    r = the_rpcb();
    r.r_addr = NULL;
    assert_int_equal(mm_rpcb_encode(&r, buf, sizeof buf, NULL), PARLEY_ERR_NULL);
}

static void test_an_address_at_its_bound_is_accepted(void **state)
{
    (void)state;
    char addr[MM_RPCB_ADDR_MAX + 1];
    memset(addr, '/', MM_RPCB_ADDR_MAX);
    addr[MM_RPCB_ADDR_MAX] = '\0';
    mm_rpcb r = the_rpcb();
    r.r_addr = addr;
    uint8_t buf[512];
    size_t len;
    assert_int_equal(mm_rpcb_encode(&r, buf, sizeof buf, &len), PARLEY_OK);
    mm_rpcb back;
    assert_int_equal(mm_rpcb_decode(&back, buf, len, NULL, NULL), PARLEY_OK);
    assert_string_equal(back.r_addr, addr);
    mm_rpcb_free(&back);
}

static void test_garbage_is_refused(void **state)
{
    (void)state;
    mm_rpcb r;
    uint8_t b[sizeof rpcb_bytes + 4];
    /* a padding byte that is not zero */
    memcpy(b, rpcb_bytes, sizeof rpcb_bytes);
    b[15] = 1;
    assert_int_equal(mm_rpcb_decode(&r, b, sizeof rpcb_bytes, NULL, NULL), PARLEY_ERR_BAD_PADDING);
    mm_rpcb_free(&r);
    /* a NUL inside a string */
    memcpy(b, rpcb_bytes, sizeof rpcb_bytes);
    b[13] = 0;
    assert_int_equal(mm_rpcb_decode(&r, b, sizeof rpcb_bytes, NULL, NULL), PARLEY_ERR_BAD_STRING);
    mm_rpcb_free(&r);
    /* a byte left over */
    memcpy(b, rpcb_bytes, sizeof rpcb_bytes);
    memset(b + sizeof rpcb_bytes, 0, 4);
    assert_int_equal(mm_rpcb_decode(&r, b, sizeof rpcb_bytes + 4, NULL, NULL), PARLEY_ERR_TRAILING);
    mm_rpcb_free(&r);
    size_t used = 0;
    assert_int_equal(mm_rpcb_decode(&r, b, sizeof rpcb_bytes + 4, &used, NULL), PARLEY_OK);
    assert_int_equal(used, sizeof rpcb_bytes);
    mm_rpcb_free(&r);
    /* a list whose "more follows" is neither TRUE nor FALSE */
    uint8_t l[sizeof pmaplist_bytes];
    memcpy(l, pmaplist_bytes, sizeof l);
    l[23] = 2;
    mm_pmaplist_ptr p = NULL;
    assert_int_equal(mm_pmaplist_ptr_decode(&p, l, sizeof l, NULL, NULL), PARLEY_ERR_BAD_BOOL);
    mm_pmaplist_ptr_free(&p);
    /* random words never crash the decoder */
    uint32_t seed = 99;
    for (int i = 0; i < 2000; i++) {
        uint8_t junk[64];
        for (size_t k = 0; k < sizeof junk; k++) {
            seed = seed * 1103515245u + 12345u;
            junk[k] = (uint8_t)(seed >> 16);
            if (k % 4 < 2)
                junk[k] = 0; /* small lengths, so that strings do begin */
        }
        const void *g = pt_guard_copy(junk, sizeof junk);
        mm_rpcb x;
        if (mm_rpcb_decode(&x, g, sizeof junk, &used, NULL) == PARLEY_OK)
            assert_true(used <= sizeof junk);
        mm_rpcb_free(&x);
        mm_rpcblist_ptr y = NULL;
        (void)mm_rpcblist_ptr_decode(&y, g, sizeof junk, NULL, NULL);
        mm_rpcblist_ptr_free(&y);
        mm_rpcb_stat_byvers z;
        (void)mm_rpcb_stat_byvers_decode(&z, g, sizeof junk, NULL, NULL);
        mm_rpcb_stat_byvers_free(&z);
        pt_guard_free(g);
    }
}

static void test_a_long_dump_decodes_without_recursion(void **state)
{
    (void)state;
    /* 100000 mappings: the list is decoded in a loop, bounded only by the
     * message */
    size_t n = 100000;
    size_t len = n * 20 + 4;
    uint8_t *b = malloc(len);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        uint32_t w[5] = {1, 100000, 2, (uint32_t)(i % 2 ? 17 : 6), (uint32_t)i};
        words(b + 20 * i, w, 5);
    }
    memset(b + 20 * n, 0, 4);
    mm_pmaplist_ptr list = NULL;
    assert_int_equal(mm_pmaplist_ptr_decode(&list, b, len, NULL, NULL), PARLEY_OK);
    size_t count = 0;
    for (mm_pmaplist *p = list; p; p = p->pml_next)
        assert_int_equal(p->pml_map.pm_port, count++);
    assert_int_equal(count, n);
    assert_int_equal(mm_pmaplist_ptr_size(&list), len);
    mm_pmaplist_ptr_free(&list);
    free(b);
}

static void test_the_procedure_numbers_are_the_rfcs(void **state)
{
    (void)state;
    assert_int_equal(MM_RPCBPROG, 100000);
    assert_int_equal(MM_RPCB_PORT, 111);
    assert_int_equal(MM_PMAPVERS, 2);
    assert_int_equal(MM_RPCBVERS, 3);
    assert_int_equal(MM_RPCBVERS4, 4);
    const int pmap[] = {MM_PMAPPROC_NULL,    MM_PMAPPROC_SET,  MM_PMAPPROC_UNSET,
                        MM_PMAPPROC_GETPORT, MM_PMAPPROC_DUMP, MM_PMAPPROC_CALLIT};
    for (int i = 0; i < 6; i++)
        assert_int_equal(pmap[i], i);
    const int rpcb[] = {MM_RPCBPROC_NULL,        MM_RPCBPROC_SET,         MM_RPCBPROC_UNSET,
                        MM_RPCBPROC_GETADDR,     MM_RPCBPROC_DUMP,        MM_RPCBPROC_CALLIT,
                        MM_RPCBPROC_GETTIME,     MM_RPCBPROC_UADDR2TADDR, MM_RPCBPROC_TADDR2UADDR,
                        MM_RPCBPROC_GETVERSADDR, MM_RPCBPROC_INDIRECT,    MM_RPCBPROC_GETADDRLIST,
                        MM_RPCBPROC_GETSTAT};
    for (int i = 0; i < 13; i++)
        assert_int_equal(rpcb[i], i);
    assert_int_equal(MM_RPCBPROC_BCAST, MM_RPCBPROC_CALLIT);
    assert_int_equal(MM_RPCBSTAT_HIGHPROC, 13);
    assert_int_equal(MM_RPCBVERS_STAT, 3);
    assert_int_equal(MM_NC_TPI_CLTS, 1);
    assert_int_equal(MM_NC_TPI_COTS, 2);
    assert_int_equal(MM_NC_TPI_COTS_ORD, 3);
    assert_int_equal(MM_NC_TPI_RAW, 4);
    assert_int_equal(MM_IPPROTO_TCP, 6);
    assert_int_equal(MM_IPPROTO_UDP, 17);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_rpcb_encodes_as_the_rfc_lays_it_out),
        cmocka_unit_test(test_a_pmap_and_the_dump_list_encode_as_the_rfc_lays_them_out),
        cmocka_unit_test(test_the_rpcbind_dump_list_is_a_list_of_rpcbs),
        cmocka_unit_test(test_a_netbuf_and_an_entry_list_encode_as_the_rfc_lays_them_out),
        cmocka_unit_test(test_the_statistics_are_three_rpcb_stats),
        cmocka_unit_test(test_lengths_past_the_bounds_are_refused_before_anything_is_allocated),
        cmocka_unit_test(test_an_address_at_its_bound_is_accepted),
        cmocka_unit_test(test_garbage_is_refused),
        cmocka_unit_test(test_a_long_dump_decodes_without_recursion),
        cmocka_unit_test(test_the_procedure_numbers_are_the_rfcs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
