/*
 * tests/matchmaker/test_mm_rpcb_tirpc.c: matchmaker/rpcb_prot.x against the
 * real thing. libtirpc's own encoders of the rpcbind protocol (xdr_rpcb,
 * xdr_pmaplist, xdr_rpcblist_ptr, xdr_rpcb_entry_list_ptr, xdr_netbuf,
 * xdr_rpcb_stat_byvers) must write the bytes Parley's generated codec
 * writes for the same values, and each side must read the other's. This is
 * also the test that the mm_ prefix lets both declarations live in one
 * file. Built with PARLEY_INTEROP.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rpc/rpc.h>
#include <rpc/pmap_prot.h>
#include <rpc/rpcb_prot.h>

#include <cmocka.h>

#include "rpcb_prot.h"

/* tirpc_encode runs a libtirpc encoder into buf; returns the length. */
static size_t tirpc_encode(xdrproc_t proc, void *value, char *buf, size_t cap)
{
    XDR x;
    xdrmem_create(&x, buf, (u_int)cap, XDR_ENCODE);
    assert_true(proc(&x, value));
    size_t n = xdr_getpos(&x);
    xdr_destroy(&x);
    return n;
}

/* tirpc_decode runs a libtirpc decoder over len bytes and checks it took
 * them all. */
static void tirpc_decode(xdrproc_t proc, void *value, const uint8_t *buf, size_t len)
{
    XDR x;
    xdrmem_create(&x, (char *)(uintptr_t)buf, (u_int)len, XDR_DECODE);
    assert_true(proc(&x, value));
    assert_int_equal(xdr_getpos(&x), len);
    xdr_destroy(&x);
}

static char s_tcp[] = "tcp", s_udp[] = "udp", s_addr[] = "0.0.0.0.0.111", s_owner[] = "superuser";
static char s_maddr[] = "::1.0.111", s_inet6[] = "inet6", s_local[] = "/run/rpcbind.sock";

static void test_an_rpcb_is_the_same_bytes_on_both_sides(void **state)
{
    (void)state;
    mm_rpcb ours = {100000, 4, s_tcp, s_addr, s_owner};
    RPCB theirs = {100000, 4, s_tcp, s_addr, s_owner};
    uint8_t a[512];
    char b[512];
    size_t na;
    assert_int_equal(mm_rpcb_encode(&ours, a, sizeof a, &na), PARLEY_OK);
    size_t nb = tirpc_encode((xdrproc_t)xdr_rpcb, &theirs, b, sizeof b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    /* libtirpc reads ours */
    RPCB back;
    memset(&back, 0, sizeof back);
    tirpc_decode((xdrproc_t)xdr_rpcb, &back, a, na);
    assert_string_equal(back.r_addr, "0.0.0.0.0.111");
    xdr_free((xdrproc_t)xdr_rpcb, (char *)&back);
    /* and ours reads libtirpc's */
    mm_rpcb mine;
    assert_int_equal(mm_rpcb_decode(&mine, b, nb, NULL, NULL), PARLEY_OK);
    assert_string_equal(mine.r_owner, "superuser");
    mm_rpcb_free(&mine);
}

static void test_the_dump_lists_are_the_same_bytes_on_both_sides(void **state)
{
    (void)state;
    /* the port mapper's */
    mm_pmaplist o2 = {{100000, 2, 17, 111}, NULL}, o1 = {{100000, 2, 6, 111}, &o2};
    mm_pmaplist_ptr ours = &o1;
    struct pmaplist t2 = {{100000, 2, 17, 111}, NULL}, t1 = {{100000, 2, 6, 111}, &t2};
    struct pmaplist *theirs = &t1;
    uint8_t a[1024];
    char b[1024];
    size_t na;
    assert_int_equal(mm_pmaplist_ptr_encode(&ours, a, sizeof a, &na), PARLEY_OK);
    size_t nb = tirpc_encode((xdrproc_t)xdr_pmaplist, &theirs, b, sizeof b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);

    /* rpcbind's */
    mm_rp__list r2 = {{100000, 3, s_udp, s_addr, s_owner}, NULL};
    mm_rp__list r1 = {{100000, 4, s_tcp, s_addr, s_owner}, &r2};
    mm_rpcblist_ptr rours = &r1;
    rpcblist u2 = {{100000, 3, s_udp, s_addr, s_owner}, NULL};
    rpcblist u1 = {{100000, 4, s_tcp, s_addr, s_owner}, &u2};
    rpcblist_ptr rtheirs = &u1;
    assert_int_equal(mm_rpcblist_ptr_encode(&rours, a, sizeof a, &na), PARLEY_OK);
    nb = tirpc_encode((xdrproc_t)xdr_rpcblist_ptr, &rtheirs, b, sizeof b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    rpcblist_ptr back = NULL;
    tirpc_decode((xdrproc_t)xdr_rpcblist_ptr, &back, a, na);
    assert_non_null(back);
    assert_non_null(back->rpcb_next);
    assert_string_equal(back->rpcb_next->rpcb_map.r_netid, "udp");
    xdr_free((xdrproc_t)xdr_rpcblist_ptr, (char *)&back);

    /* GETADDRLIST's */
    mm_rpcb_entry_list e1 = {{s_maddr, s_tcp, 3, s_inet6, s_tcp}, NULL};
    mm_rpcb_entry_list_ptr eours = &e1;
    rpcb_entry_list f1 = {{s_maddr, s_tcp, 3, s_inet6, s_tcp}, NULL};
    rpcb_entry_list_ptr etheirs = &f1;
    assert_int_equal(mm_rpcb_entry_list_ptr_encode(&eours, a, sizeof a, &na), PARLEY_OK);
    nb = tirpc_encode((xdrproc_t)xdr_rpcb_entry_list_ptr, &etheirs, b, sizeof b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
}

static void test_a_netbuf_and_the_statistics_are_the_same_bytes_on_both_sides(void **state)
{
    (void)state;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(111);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    mm_netbuf ours = {sizeof sin, {sizeof sin, (char *)&sin}};
    struct netbuf theirs = {sizeof sin, sizeof sin, &sin};
    uint8_t a[2048];
    char b[2048];
    size_t na;
    assert_int_equal(mm_netbuf_encode(&ours, a, sizeof a, &na), PARLEY_OK);
    size_t nb = tirpc_encode((xdrproc_t)xdr_netbuf, &theirs, b, sizeof b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);

    mm_rpcbs_addrlist al = {100003, 3, 2, 1, s_udp, NULL};
    mm_rpcbs_rmtcalllist rl = {100005, 1, 3, 4, 5, 1, s_local, NULL};
    mm_rpcb_stat_byvers st;
    memset(&st, 0, sizeof st);
    for (int v = 0; v < MM_RPCBVERS_STAT; v++)
        for (int p = 0; p < MM_RPCBSTAT_HIGHPROC; p++)
            st[v].info[p] = v * 100 + p;
    st[2].setinfo = 9;
    st[1].unsetinfo = 8;
    st[2].addrinfo = &al;
    st[0].rmtinfo = &rl;
    rpcbs_addrlist tal = {100003, 3, 2, 1, s_udp, NULL};
    rpcbs_rmtcalllist trl = {100005, 1, 3, 4, 5, 1, s_local, NULL};
    rpcb_stat_byvers tst;
    memset(&tst, 0, sizeof tst);
    for (int v = 0; v < RPCBVERS_STAT; v++)
        for (int p = 0; p < RPCBSTAT_HIGHPROC; p++)
            tst[v].info[p] = v * 100 + p;
    tst[2].setinfo = 9;
    tst[1].unsetinfo = 8;
    tst[2].addrinfo = &tal;
    tst[0].rmtinfo = &trl;
    assert_int_equal(mm_rpcb_stat_byvers_encode(&st, a, sizeof a, &na), PARLEY_OK);
    nb = tirpc_encode((xdrproc_t)xdr_rpcb_stat_byvers, tst, b, sizeof b);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    mm_rpcb_stat_byvers back;
    assert_int_equal(mm_rpcb_stat_byvers_decode(&back, b, nb, NULL, NULL), PARLEY_OK);
    assert_string_equal(back[0].rmtinfo->netid, "/run/rpcbind.sock");
    assert_int_equal(back[2].info[12], 212);
    mm_rpcb_stat_byvers_free(&back);
}

static void test_the_numbers_are_libtirpcs(void **state)
{
    (void)state;
    assert_int_equal(MM_RPCBPROG, RPCBPROG);
    assert_int_equal(MM_RPCBVERS, RPCBVERS);
    assert_int_equal(MM_RPCBVERS4, RPCBVERS4);
    assert_int_equal(MM_PMAPVERS, PMAPVERS);
    assert_int_equal(MM_PMAPPROC_SET, PMAPPROC_SET);
    assert_int_equal(MM_PMAPPROC_UNSET, PMAPPROC_UNSET);
    assert_int_equal(MM_PMAPPROC_GETPORT, PMAPPROC_GETPORT);
    assert_int_equal(MM_PMAPPROC_DUMP, PMAPPROC_DUMP);
    assert_int_equal(MM_PMAPPROC_CALLIT, PMAPPROC_CALLIT);
    assert_int_equal(MM_RPCBPROC_SET, RPCBPROC_SET);
    assert_int_equal(MM_RPCBPROC_UNSET, RPCBPROC_UNSET);
    assert_int_equal(MM_RPCBPROC_GETADDR, RPCBPROC_GETADDR);
    assert_int_equal(MM_RPCBPROC_DUMP, RPCBPROC_DUMP);
    assert_int_equal(MM_RPCBPROC_CALLIT, RPCBPROC_CALLIT);
    assert_int_equal(MM_RPCBPROC_BCAST, RPCBPROC_BCAST);
    assert_int_equal(MM_RPCBPROC_GETTIME, RPCBPROC_GETTIME);
    assert_int_equal(MM_RPCBPROC_UADDR2TADDR, RPCBPROC_UADDR2TADDR);
    assert_int_equal(MM_RPCBPROC_TADDR2UADDR, RPCBPROC_TADDR2UADDR);
    assert_int_equal(MM_RPCBPROC_GETVERSADDR, RPCBPROC_GETVERSADDR);
    assert_int_equal(MM_RPCBPROC_INDIRECT, RPCBPROC_INDIRECT);
    assert_int_equal(MM_RPCBPROC_GETADDRLIST, RPCBPROC_GETADDRLIST);
    assert_int_equal(MM_RPCBPROC_GETSTAT, RPCBPROC_GETSTAT);
    assert_int_equal(MM_RPCBSTAT_HIGHPROC, RPCBSTAT_HIGHPROC);
    assert_int_equal(MM_RPCBVERS_STAT, RPCBVERS_STAT);
    assert_int_equal(MM_RPCBVERS_4_STAT, RPCBVERS_4_STAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_rpcb_is_the_same_bytes_on_both_sides),
        cmocka_unit_test(test_the_dump_lists_are_the_same_bytes_on_both_sides),
        cmocka_unit_test(test_a_netbuf_and_the_statistics_are_the_same_bytes_on_both_sides),
        cmocka_unit_test(test_the_numbers_are_libtirpcs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
