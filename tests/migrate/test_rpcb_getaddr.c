/*
 * tests/migrate/test_rpcb_getaddr.c: the names layer's look-up of a program
 * by number (pl_rpcb_getaddr_on, runtime/src/names/names.c), on a stream
 * the test holds both ends of, against a scripted portmapper: the call it
 * sends (rpcbind version 3 GETADDR with the program, version and netid),
 * and each answer it can get: an address, a wildcard one, none, one that
 * is no address, an RPC refusal, bytes left over; a netid it cannot ask for
 * is refused before anything is sent.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "names/names.h"
#include "net/clock.h"
#include "parley/error.h"
#include "parley/xdr.h"

/* The scripted portmapper: what it answers, and what it saw. */
typedef struct peer {
    int fd;
    const char *uaddr;    /* the string answered; NULL: accept_stat instead */
    uint32_t accept_stat; /* when uaddr is NULL */
    int trailing;         /* a word after the answer */
    uint32_t words[8];    /* the call's xid, type, rpcvers, prog, vers, proc, arg prog, vers */
    char netid[32], addr[32], owner[32];
    int got;
} peer;

static int read_full(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* get_string reads an XDR string at *off of msg into out (cap bytes). */
static void get_string(const uint8_t *msg, size_t len, size_t *off, char *out, size_t cap)
{
    out[0] = '\0';
    if (*off + 4 > len)
        return;
    uint32_t n = parley_ld_u32(msg + *off);
    *off += 4;
    if (n >= cap || *off + n > len)
        return;
    memcpy(out, msg + *off, n);
    out[n] = '\0';
    *off += parley_round4(n);
}

static void *peer_run(void *arg)
{
    peer *p = arg;
    uint8_t mark[4], msg[1024], out[256];
    if (read_full(p->fd, mark, 4) != 0)
        return NULL;
    uint32_t len = parley_ld_u32(mark) & 0x7fffffffu;
    if (len > sizeof msg || read_full(p->fd, msg, len) != 0)
        return NULL;
    /* xid, CALL, rpcvers, prog, vers, proc, cred (2 words), verf (2), args */
    for (int i = 0; i < 6; i++)
        p->words[i] = parley_ld_u32(msg + 4 * i);
    p->words[6] = parley_ld_u32(msg + 40);
    p->words[7] = parley_ld_u32(msg + 44);
    size_t off = 48;
    get_string(msg, len, &off, p->netid, sizeof p->netid);
    get_string(msg, len, &off, p->addr, sizeof p->addr);
    get_string(msg, len, &off, p->owner, sizeof p->owner);
    p->got = off == len;
    parley_enc e;
    size_t n = 0;
    parley_enc_init(&e, out + 4, sizeof out - 4);
    parley_put_u32(&e, p->words[0]); /* xid */
    parley_put_u32(&e, 1);           /* REPLY */
    parley_put_u32(&e, 0);           /* MSG_ACCEPTED */
    parley_put_u32(&e, 0);           /* verifier: AUTH_NONE, empty */
    parley_put_u32(&e, 0);
    parley_put_u32(&e, p->uaddr ? 0 : p->accept_stat);
    if (p->uaddr)
        parley_put_string(&e, p->uaddr, 200);
    if (p->trailing)
        parley_put_u32(&e, 7);
    if (parley_enc_finish(&e, &n) != PARLEY_OK)
        return NULL;
    parley_st_u32(out, 0x80000000u | (uint32_t)n);
    if (write(p->fd, out, n + 4) != (ssize_t)(n + 4))
        return NULL;
    return NULL;
}

/* getaddr runs one look-up against a portmapper answering as p says. */
static int getaddr(peer *p, const char *netid, pl_sockaddr *out)
{
    int sv[2];
    pthread_t t;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    p->fd = sv[1];
    assert_int_equal(pthread_create(&t, NULL, peer_run, p), 0);
    pl_mm_conn c = {.fd = sv[0],
                    .dgram = 0,
                    .local = 1,
                    .host = "127.0.0.1",
                    .deadline = pl_deadline_after_ms(5000),
                    .xid = 77,
                    .rcvtimeo = 0};
    int rc = pl_rpcb_getaddr_on(&c, 0x20000001u, 1, netid, out);
    close(sv[0]); /* ends a peer still waiting for a call */
    pthread_join(t, NULL);
    close(sv[1]);
    return rc;
}

static uint16_t port_of(const pl_sockaddr *s)
{
    return ntohs(((const struct sockaddr_in *)&s->ss)->sin_port);
}

static void test_getaddr_sends_rpcbind_v3_getaddr_and_reads_the_address(void **state)
{
    (void)state;
    peer p = {.uaddr = "127.0.0.2.15.160"};
    pl_sockaddr s;
    assert_int_equal(getaddr(&p, "tcp", &s), PARLEY_OK);
    assert_int_equal(p.words[0], 77);
    assert_int_equal(p.words[1], 0);          /* CALL */
    assert_int_equal(p.words[2], 2);          /* RPC version 2 */
    assert_int_equal(p.words[3], 100000);     /* rpcbind */
    assert_int_equal(p.words[4], 3);          /* version 3 */
    assert_int_equal(p.words[5], 3);          /* GETADDR */
    assert_int_equal(p.words[6], 0x20000001); /* the program asked for */
    assert_int_equal(p.words[7], 1);
    assert_string_equal(p.netid, "tcp");
    assert_string_equal(p.addr, "");
    assert_string_equal(p.owner, "");
    assert_true(p.got);
    assert_int_equal(s.family, AF_INET);
    assert_int_equal(s.socktype, SOCK_STREAM);
    assert_int_equal(port_of(&s), 4000);
    const struct sockaddr_in *in = (const struct sockaddr_in *)&s.ss;
    assert_int_equal(ntohl(in->sin_addr.s_addr), 0x7f000002u);
}

static void test_getaddr_over_udp_gives_a_datagram_address(void **state)
{
    (void)state;
    peer p = {.uaddr = "127.0.0.1.0.53"};
    pl_sockaddr s;
    assert_int_equal(getaddr(&p, "udp", &s), PARLEY_OK);
    assert_string_equal(p.netid, "udp");
    assert_int_equal(s.socktype, SOCK_DGRAM);
    assert_int_equal(port_of(&s), 53);
}

static void test_getaddr_answers_a_wildcard_address_as_the_portmappers_host(void **state)
{
    (void)state;
    peer p = {.uaddr = "0.0.0.0.15.161"};
    pl_sockaddr s;
    assert_int_equal(getaddr(&p, "tcp", &s), PARLEY_OK);
    const struct sockaddr_in *in = (const struct sockaddr_in *)&s.ss;
    assert_int_equal(ntohl(in->sin_addr.s_addr), INADDR_LOOPBACK);
    assert_int_equal(port_of(&s), 4001);
}

static void test_getaddr_errors_say_what_is_wrong(void **state)
{
    (void)state;
    pl_sockaddr s;
    peer none = {.uaddr = ""};
    assert_int_equal(getaddr(&none, "tcp", &s), PARLEY_ERR_NOT_REGISTERED);
    peer junk = {.uaddr = "not an address"};
    assert_int_equal(getaddr(&junk, "tcp", &s), PARLEY_ERR_PROTOCOL);
    peer v6 = {.uaddr = "::1.0.80"}; /* not an address of netid tcp */
    assert_int_equal(getaddr(&v6, "tcp", &s), PARLEY_ERR_PROTOCOL);
    peer unavail = {.uaddr = NULL, .accept_stat = 1};
    assert_int_equal(getaddr(&unavail, "tcp", &s), PARLEY_ERR_PROG_UNAVAIL);
    peer trailing = {.uaddr = "127.0.0.1.0.80", .trailing = 1};
    assert_int_equal(getaddr(&trailing, "tcp", &s), PARLEY_ERR_TRAILING);
}

static void test_getaddr_refuses_a_netid_it_cannot_ask_for_before_sending(void **state)
{
    (void)state;
    pl_sockaddr s;
    peer p = {.uaddr = "127.0.0.1.0.80"};
    assert_int_equal(getaddr(&p, "local", &s), PARLEY_ERR_INVALID);
    assert_false(p.got);
    assert_int_equal(getaddr(&p, "sctp", &s), PARLEY_ERR_INVALID);
    assert_false(p.got);
    assert_int_equal(pl_rpcb_getaddr("127.0.0.1", 1, 1, "sctp", 100, &s), PARLEY_ERR_INVALID);
    assert_int_equal(pl_rpcb_getaddr("", 1, 1, "tcp", 100, &s), PARLEY_ERR_ADDRESS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_getaddr_sends_rpcbind_v3_getaddr_and_reads_the_address),
        cmocka_unit_test(test_getaddr_over_udp_gives_a_datagram_address),
        cmocka_unit_test(test_getaddr_answers_a_wildcard_address_as_the_portmappers_host),
        cmocka_unit_test(test_getaddr_errors_say_what_is_wrong),
        cmocka_unit_test(test_getaddr_refuses_a_netid_it_cannot_ask_for_before_sending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
