/*
 * tests/unit/test_names_wire.c: the names layer's one-shot calls to the
 * matchmaker, on sockets the test holds both ends of.
 *
 * The other end is a scripted peer in a thread: it reads each call, checks
 * it with the codec parleygen generates from matchmaker.idl (the arguments
 * decoded, and encoded again to the same bytes), and answers what the test
 * says: any mm_status, a LOOKUP's entries encoded by the generated codec,
 * an RPC error, raw bytes (truncated, garbage, oversized, of another xid),
 * nothing at all, or the end of the stream. Each case asserts the exact
 * error the names layer gives. The reply decoder is also checked against
 * the generated one on every truncation and on random corruptions of a
 * reply, with the input right before a guard page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "guard.h"
#include "matchmaker.h"
#include "names/names.h"
#include "net/clock.h"
#include "parley/arena.h"
#include "parley/uaddr.h"
#include "wire/rpcmsg.h"

/* ---- the names layer's constants are the IDL's ------------------------------ */

_Static_assert(PL_MM_PROG == MATCHMAKER_PROG, "program");
_Static_assert(PL_MM_VERS == MATCHMAKER_VERS, "version");
_Static_assert(PL_MM_REGISTER == MATCHMAKER_REGISTER, "REGISTER");
_Static_assert(PL_MM_UNREGISTER == MATCHMAKER_UNREGISTER, "UNREGISTER");
_Static_assert(PL_MM_LOOKUP == MATCHMAKER_LOOKUP, "LOOKUP");
_Static_assert(PL_MM_NAME_MAX == MM_NAME_MAX, "names");
_Static_assert(PL_MM_NETID_MAX == MM_NETID_MAX, "netids");
_Static_assert(PL_MM_UADDR_MAX == MM_UADDR_MAX, "addresses");
_Static_assert(PL_MM_OWNER_MAX == MM_OWNER_MAX, "owners");
_Static_assert(PL_MM_LIST_MAX == MM_LIST_MAX, "lists");
_Static_assert(PL_MM_OK == (int)MM_OK && PL_MM_DENIED == (int)MM_DENIED &&
                   PL_MM_NOT_OWNER == (int)MM_NOT_OWNER && PL_MM_NOENT == (int)MM_NOENT &&
                   PL_MM_FULL == (int)MM_FULL && PL_MM_INVALID == (int)MM_INVALID &&
                   PL_MM_EXISTS == (int)MM_EXISTS && PL_MM_STALE == (int)MM_STALE,
               "statuses");
_Static_assert(sizeof(pl_mm_entry) == sizeof(mm_entry), "an entry charges the same budget");

/* ---- the scripted peer ------------------------------------------------------- */

enum { MAX_CALLS = 8 };

typedef struct peer peer;

/* answer_fn answers call i (xid) of p; its bytes go out with peer_send. */
typedef void answer_fn(peer *p, int i, uint32_t xid);

/* What the peer saw of a call, decoded with the generated codec. */
typedef struct seen {
    uint32_t xid, prog, vers, proc;
    int args_rc;    /* the generated decoder's */
    int same_bytes; /* encoding the decoded value again gave the bytes sent */
    char name[MM_NAME_MAX + 1], netid[MM_NETID_MAX + 1], uaddr[MM_UADDR_MAX + 1];
    uint32_t aprog, avers;
} seen;

struct peer {
    int fd;        /* the peer's end */
    int dgram;     /* a datagram socket */
    int listen_fd; /* >= 0: accept (a stream) or learn the sender (UDP) first */
    answer_fn *answer;
    const void *ctx; /* for answer */
    pthread_t thread;
    int ncalls;
    seen calls[MAX_CALLS];
    int failed; /* the peer could not do what it was told (checked by stop) */
};

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

/* peer_send sends n bytes as they are: a whole record or datagram, or any
 * piece of a stream. */
static void peer_send(peer *p, const void *buf, size_t n)
{
    if (send(p->fd, buf, n, MSG_NOSIGNAL) != (ssize_t)n)
        p->failed = 1;
}

/* peer_reply sends the message msg (n bytes) in a record, or a datagram. */
static void peer_reply(peer *p, const uint8_t *msg, size_t n)
{
    if (p->dgram) {
        peer_send(p, msg, n);
        return;
    }
    uint8_t *rec = malloc(n + 4);
    if (rec == NULL) {
        p->failed = 1;
        return;
    }
    parley_st_u32(rec, 0x80000000u | (uint32_t)n);
    memcpy(rec + 4, msg, n);
    peer_send(p, rec, n + 4);
    free(rec);
}

/* check_args decodes the arguments of a call with the generated codec into
 * s, and encodes them again to compare with what came. */
static void check_args(seen *s, const uint8_t *args, size_t n)
{
    uint8_t again[512];
    size_t len = 0;
    s->args_rc = PARLEY_ERR_INVALID;
    if (s->proc == MATCHMAKER_REGISTER) {
        mm_registration r;
        memset(&r, 0, sizeof r);
        s->args_rc = mm_registration_decode(&r, args, n, NULL, NULL);
        if (s->args_rc == PARLEY_OK) {
            snprintf(s->name, sizeof s->name, "%s", r.name);
            snprintf(s->netid, sizeof s->netid, "%s", r.netid);
            snprintf(s->uaddr, sizeof s->uaddr, "%s", r.uaddr);
            s->aprog = r.prog;
            s->avers = r.vers;
            s->same_bytes = mm_registration_encode(&r, again, sizeof again, &len) == PARLEY_OK &&
                            len == n && memcmp(again, args, n) == 0;
            mm_registration_free(&r);
        }
    } else if (s->proc == MATCHMAKER_UNREGISTER) {
        mm_key k;
        memset(&k, 0, sizeof k);
        s->args_rc = mm_key_decode(&k, args, n, NULL, NULL);
        if (s->args_rc == PARLEY_OK) {
            snprintf(s->name, sizeof s->name, "%s", k.name);
            snprintf(s->netid, sizeof s->netid, "%s", k.netid);
            s->avers = k.vers;
            s->same_bytes = mm_key_encode(&k, again, sizeof again, &len) == PARLEY_OK && len == n &&
                            memcmp(again, args, n) == 0;
            mm_key_free(&k);
        }
    } else if (s->proc == MATCHMAKER_LOOKUP) {
        mm_query q;
        memset(&q, 0, sizeof q);
        s->args_rc = mm_query_decode(&q, args, n, NULL, NULL);
        if (s->args_rc == PARLEY_OK) {
            snprintf(s->name, sizeof s->name, "%s", q.name);
            snprintf(s->netid, sizeof s->netid, "%s", q.netid);
            s->avers = q.vers;
            s->same_bytes = mm_query_encode(&q, again, sizeof again, &len) == PARLEY_OK &&
                            len == n && memcmp(again, args, n) == 0;
            mm_query_free(&q);
        }
    }
}

/* read_call reads one call: a record, or a datagram. Returns its length,
 * or -1 at the end. */
static ssize_t read_call(peer *p, uint8_t *buf, size_t cap)
{
    if (p->dgram)
        return recv(p->fd, buf, cap, 0);
    uint8_t mark[4];
    if (read_full(p->fd, mark, 4) != 0)
        return -1;
    uint32_t n = parley_ld_u32(mark);
    if (!(n & 0x80000000u) || (n & 0x7fffffffu) > cap) {
        p->failed = 1;
        return -1;
    }
    n &= 0x7fffffffu;
    return read_full(p->fd, buf, n) == 0 ? (ssize_t)n : -1;
}

static void *peer_run(void *arg)
{
    peer *p = arg;
    uint8_t buf[1024];
    if (p->listen_fd >= 0 && !p->dgram) {
        p->fd = accept(p->listen_fd, NULL, NULL);
        if (p->fd < 0) {
            p->failed = 1;
            return NULL;
        }
    } else if (p->listen_fd >= 0) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        if (recvfrom(p->listen_fd, buf, 1, MSG_PEEK, (struct sockaddr *)&from, &flen) < 0 ||
            connect(p->listen_fd, (struct sockaddr *)&from, flen) != 0) {
            p->failed = 1;
            return NULL;
        }
        p->fd = p->listen_fd;
    }
    for (;;) {
        ssize_t n = read_call(p, buf, sizeof buf);
        if (n <= 0)
            break;
        parley_dec d;
        pl_call_header h;
        parley_dec_init(&d, buf, (size_t)n, NULL);
        if (pl_msg_decode_call(&d, &h) != PARLEY_OK || p->ncalls == MAX_CALLS) {
            p->failed = 1;
            break;
        }
        seen *s = &p->calls[p->ncalls];
        s->xid = h.xid;
        s->prog = h.prog;
        s->vers = h.vers;
        s->proc = h.proc;
        check_args(s, d.p, parley_dec_remaining(&d));
        p->answer(p, p->ncalls++, h.xid);
    }
    return NULL;
}

/* start makes a pair of sockets (of type, SOCK_STREAM or SOCK_DGRAM), runs
 * the peer with answer on one end, and returns a connection on the other
 * whose calls end by ms from now; the first call's xid is 1000. */
static pl_mm_conn start(peer *p, int type, answer_fn *answer, const void *ctx, unsigned ms)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv), 0);
    memset(p, 0, sizeof *p);
    p->fd = sv[1];
    p->dgram = type == SOCK_DGRAM;
    p->listen_fd = -1;
    p->answer = answer;
    p->ctx = ctx;
    assert_int_equal(pthread_create(&p->thread, NULL, peer_run, p), 0);
    pl_mm_conn c = {.fd = sv[0],
                    .dgram = type == SOCK_DGRAM,
                    .local = 1,
                    .host = "localhost",
                    .deadline = pl_deadline_after_ms(ms),
                    .xid = 1000,
                    .rcvtimeo = 0};
    return c;
}

/* stop ends the peer (its socket shut down under it) and closes c. */
static void stop(peer *p, pl_mm_conn *c)
{
    shutdown(p->fd, SHUT_RDWR);
    assert_int_equal(pthread_join(p->thread, NULL), 0);
    close(p->fd);
    if (c)
        close(c->fd);
    assert_false(p->failed);
}

/* ---- answers ----------------------------------------------------------------- */

/* reply_status answers the status *(const uint32_t *)ctx, for each call. */
static void reply_status_n(peer *p, uint32_t xid, uint32_t st)
{
    uint8_t buf[64];
    parley_enc e;
    size_t n = 0;
    parley_enc_init(&e, buf, sizeof buf);
    pl_msg_encode_reply_accepted(&e, xid, NULL, PARLEY_SUCCESS, 0, 0);
    parley_put_u32(&e, st);
    if (parley_enc_finish(&e, &n) != PARLEY_OK)
        p->failed = 1;
    peer_reply(p, buf, n);
}

static void reply_status(peer *p, int i, uint32_t xid)
{
    (void)i;
    reply_status_n(p, xid, *(const uint32_t *)p->ctx);
}

/* A LOOKUP's answers: one mm_lookup_res for each call, in order. */
typedef struct lookup_script {
    const mm_lookup_res *res[MAX_CALLS];
} lookup_script;

/* encode_lookup writes the reply to xid carrying r, encoded by the
 * generated codec, into buf; returns its length. */
static size_t encode_lookup(uint8_t *buf, size_t cap, uint32_t xid, const mm_lookup_res *r)
{
    parley_enc e;
    size_t n = 0;
    parley_enc_init(&e, buf, cap);
    pl_msg_encode_reply_accepted(&e, xid, NULL, PARLEY_SUCCESS, 0, 0);
    mm_lookup_res_enc(&e, r);
    assert_int_equal(parley_enc_finish(&e, &n), PARLEY_OK);
    return n;
}

static void reply_lookup(peer *p, int i, uint32_t xid)
{
    const lookup_script *s = p->ctx;
    if (s->res[i] == NULL)
        return; /* silent */
    size_t cap = 24 + mm_lookup_res_size(s->res[i]), n = 0;
    uint8_t *buf = malloc(cap);
    parley_enc e;
    parley_enc_init(&e, buf, cap);
    pl_msg_encode_reply_accepted(&e, xid, NULL, PARLEY_SUCCESS, 0, 0);
    mm_lookup_res_enc(&e, s->res[i]);
    if (parley_enc_finish(&e, &n) != PARLEY_OK)
        p->failed = 1;
    else
        peer_reply(p, buf, n);
    free(buf);
}

/* Raw answers: the bytes of a record or datagram, whose first word is
 * replaced by the call's xid plus xid_delta when patch_xid. */
typedef struct raw {
    const uint8_t *bytes;
    size_t len;
    int patch_xid;
    uint32_t xid_delta;
    int framed;    /* bytes already carry their record marks */
    int then_shut; /* end the stream after them */
} raw;

static void reply_raw(peer *p, int i, uint32_t xid)
{
    (void)i;
    const raw *r = p->ctx;
    uint8_t *b = malloc(r->len ? r->len : 1);
    if (b == NULL) {
        p->failed = 1;
        return;
    }
    memcpy(b, r->bytes, r->len);
    size_t at = r->framed ? 4 : 0;
    if (r->patch_xid && r->len >= at + 4)
        parley_st_u32(b + at, xid + r->xid_delta);
    if (r->framed)
        peer_send(p, b, r->len);
    else
        peer_reply(p, b, r->len);
    free(b);
    if (r->then_shut)
        shutdown(p->fd, SHUT_WR);
}

static void reply_nothing(peer *p, int i, uint32_t xid)
{
    (void)p;
    (void)i;
    (void)xid;
}

static void reply_shut(peer *p, int i, uint32_t xid)
{
    (void)i;
    (void)xid;
    shutdown(p->fd, SHUT_WR);
}

/* ---- statuses ---------------------------------------------------------------- */

static const pl_mm_args reg = {
    .name = "adder", .prog = 0x20000123u, .vers = 2, .netid = "tcp6", .uaddr = "::1.15.160"};

/* register_answered registers reg on a pair of type whose peer answers st. */
static int register_answered(int type, uint32_t st)
{
    peer p;
    pl_mm_conn c = start(&p, type, reply_status, &st, 2000);
    int rc = pl_mm_register_on(&c, &reg);
    stop(&p, &c);
    assert_int_equal(p.ncalls, 1);
    return rc;
}

static void test_register_maps_every_status_to_its_error(void **state)
{
    (void)state;
    static const struct {
        uint32_t st;
        int err;
    } cases[] = {
        {MM_OK, PARLEY_OK},
        {MM_DENIED, PARLEY_ERR_NOT_LOCAL},
        {MM_NOT_OWNER, PARLEY_ERR_NOT_OWNER},
        {MM_EXISTS, PARLEY_ERR_NAME_HELD},
        {MM_NOENT, PARLEY_ERR_NOT_REGISTERED},
        {MM_FULL, PARLEY_ERR_TABLE_FULL},
        {MM_INVALID, PARLEY_ERR_INVALID},
        {MM_STALE, PARLEY_ERR_CLUSTER_STALE},
        {8, PARLEY_ERR_BAD_ENUM},
        {0xffffffffu, PARLEY_ERR_BAD_ENUM},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int dg = 0; dg < 2; dg++) {
            int rc = register_answered(dg ? SOCK_DGRAM : SOCK_STREAM, cases[i].st);
            if (rc != cases[i].err)
                fail_msg("status %u over %s: %s, not %s", cases[i].st, dg ? "UDP" : "a stream",
                         parley_errname(rc), parley_errname(cases[i].err));
        }
    }
}

static void test_register_sends_what_the_generated_codec_reads(void **state)
{
    (void)state;
    uint32_t st = MM_OK;
    peer p;
    pl_mm_conn c = start(&p, SOCK_STREAM, reply_status, &st, 2000);
    assert_int_equal(pl_mm_register_on(&c, &reg), PARLEY_OK);
    stop(&p, &c);
    assert_int_equal(p.ncalls, 1);
    const seen *s = &p.calls[0];
    assert_int_equal(s->xid, 1000);
    assert_int_equal(s->prog, MATCHMAKER_PROG);
    assert_int_equal(s->vers, MATCHMAKER_VERS);
    assert_int_equal(s->proc, MATCHMAKER_REGISTER);
    assert_int_equal(s->args_rc, PARLEY_OK);
    assert_true(s->same_bytes);
    assert_string_equal(s->name, "adder");
    assert_int_equal(s->aprog, 0x20000123u);
    assert_int_equal(s->avers, 2);
    assert_string_equal(s->netid, "tcp6");
    assert_string_equal(s->uaddr, "::1.15.160");
}

static void test_register_refuses_strings_over_their_bounds_before_sending(void **state)
{
    (void)state;
    char name[MM_NAME_MAX + 2];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    uint32_t st = MM_OK;
    peer p;
    pl_mm_conn c = start(&p, SOCK_STREAM, reply_status, &st, 2000);
    pl_mm_args r = reg;
    r.name = name;
    assert_int_equal(pl_mm_register_on(&c, &r), PARLEY_ERR_TOO_LONG);
    r.name = NULL;
    assert_int_equal(pl_mm_register_on(&c, &r), PARLEY_ERR_NULL);
    assert_int_equal(pl_mm_call(&c, 9, &reg, NULL, &(pl_mm_reply){0, 0, NULL}), PARLEY_ERR_INVALID);
    name[MM_NAME_MAX] = '\0'; /* the longest name goes */
    r.name = name;
    assert_int_equal(pl_mm_register_on(&c, &r), PARLEY_OK);
    stop(&p, &c);
    assert_int_equal(p.ncalls, 1);
    assert_true(p.calls[0].same_bytes);
    assert_string_equal(p.calls[0].name, name);
}

static void test_unregister_maps_nothing_to_remove_to_success(void **state)
{
    (void)state;
    static const struct {
        uint32_t st;
        int err;
    } cases[] = {
        {MM_OK, PARLEY_OK},
        {MM_NOENT, PARLEY_OK},
        {MM_DENIED, PARLEY_ERR_NOT_LOCAL},
        {MM_NOT_OWNER, PARLEY_ERR_NOT_OWNER},
        {MM_INVALID, PARLEY_ERR_INVALID},
        {MM_FULL, PARLEY_ERR_TABLE_FULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        peer p;
        pl_mm_conn c = start(&p, SOCK_STREAM, reply_status, &cases[i].st, 2000);
        assert_int_equal(pl_mm_unregister_on(&c, "adder", 3, "udp"), cases[i].err);
        stop(&p, &c);
        assert_int_equal(p.ncalls, 1);
        const seen *s = &p.calls[0];
        assert_int_equal(s->proc, MATCHMAKER_UNREGISTER);
        assert_int_equal(s->args_rc, PARLEY_OK);
        assert_true(s->same_bytes);
        assert_string_equal(s->name, "adder");
        assert_int_equal(s->avers, 3);
        assert_string_equal(s->netid, "udp");
    }
}

/* ---- look-ups ---------------------------------------------------------------- */

#define PROG 0x20000123u

/* text copies s into a pool of strings that the generated structures,
 * which hold char *, can point to; a test uses fewer than the pool holds. */
static char *text(const char *s)
{
    static char pool[1024][MM_UADDR_MAX + 1];
    static unsigned next;
    char *p = pool[next++ % 1024];
    snprintf(p, sizeof pool[0], "%s", s);
    return p;
}

static mm_entry entry(const char *netid, const char *uaddr, uint32_t prog)
{
    mm_entry e = {.name = text("adder"),
                  .prog = prog,
                  .vers = 1,
                  .netid = text(netid),
                  .uaddr = text(uaddr),
                  .owner = text("1000"),
                  .registered = 1700000000};
    return e;
}

static mm_lookup_res found(mm_entry *e, u_int n)
{
    mm_lookup_res r;
    memset(&r, 0, sizeof r);
    r.status = MM_OK;
    r.mm_lookup_res_u.entries.mm_entry_list_len = n;
    r.mm_lookup_res_u.entries.mm_entry_list_val = e;
    return r;
}

static const mm_lookup_res noent = {.status = MM_NOENT};
static const mm_lookup_res invalid = {.status = MM_INVALID};

/* lookup runs pl_mm_lookup_on against a peer playing script, with want and
 * local; *p is the peer afterwards. */
static int lookup(peer *p, int type, const lookup_script *script, int want, int local,
                  pl_sockaddr **out, size_t *n, int *dgram)
{
    pl_mm_conn c = start(p, type, reply_lookup, script, 2000);
    c.local = local;
    c.host = "127.0.0.1";
    int rc = pl_mm_lookup_on(&c, "adder", PROG, 1, want, out, n, dgram);
    stop(p, &c);
    return rc;
}

static void test_lookup_errors_say_what_is_wrong(void **state)
{
    (void)state;
    peer p;
    pl_sockaddr *out = NULL;
    size_t n = 0;
    int dgram = -1;
    /* no such name in any version */
    lookup_script s1 = {{&noent, &noent}};
    assert_int_equal(lookup(&p, SOCK_STREAM, &s1, -1, 1, &out, &n, &dgram),
                     PARLEY_ERR_NOT_REGISTERED);
    assert_int_equal(p.ncalls, 2);
    assert_int_equal(p.calls[0].avers, 1);
    assert_int_equal(p.calls[1].avers, 0); /* the second asks for any version */
    assert_int_equal(p.calls[1].xid, p.calls[0].xid + 1);
    assert_true(p.calls[0].same_bytes && p.calls[1].same_bytes);
    assert_string_equal(p.calls[0].netid, "");
    /* there, in another version */
    mm_entry e[4] = {entry("tcp", "127.0.0.1.15.160", PROG)};
    mm_lookup_res other = found(e, 1);
    lookup_script s2 = {{&noent, &other}};
    assert_int_equal(lookup(&p, SOCK_STREAM, &s2, -1, 1, &out, &n, &dgram),
                     PARLEY_ERR_PROG_MISMATCH);
    /* the second call failing leaves the first answer */
    lookup_script s3 = {{&noent, &invalid}};
    assert_int_equal(lookup(&p, SOCK_STREAM, &s3, -1, 1, &out, &n, &dgram),
                     PARLEY_ERR_NOT_REGISTERED);
    /* another program under the name */
    e[0] = entry("tcp", "127.0.0.1.15.160", PROG + 1);
    mm_lookup_res prog = found(e, 1);
    lookup_script s4 = {{&prog}};
    assert_int_equal(lookup(&p, SOCK_STREAM, &s4, -1, 1, &out, &n, &dgram),
                     PARLEY_ERR_PROG_UNAVAIL);
    assert_int_equal(p.ncalls, 1);
    /* only transports this client cannot use: an unknown netid, a Unix
     * socket of another host, a bad address */
    e[0] = entry("rdma", "127.0.0.1.15.160", PROG);
    e[1] = entry("local", "/run/adder.sock", PROG);
    e[2] = entry("tcp", "not-an-address", PROG);
    mm_lookup_res unusable = found(e, 3);
    lookup_script s5 = {{&unusable}};
    assert_int_equal(lookup(&p, SOCK_STREAM, &s5, -1, 0, &out, &n, &dgram),
                     PARLEY_ERR_NOT_REGISTERED);
    /* the matchmaker finds the request bad */
    lookup_script s6 = {{&invalid}};
    assert_int_equal(lookup(&p, SOCK_STREAM, &s6, -1, 1, &out, &n, &dgram), PARLEY_ERR_INVALID);
    assert_int_equal(dgram, -1); /* nothing written on failure */
    assert_null(out);
}

static void test_lookup_picks_a_unix_socket_here_then_tcp_then_udp(void **state)
{
    (void)state;
    mm_entry e[5] = {
        entry("udp", "127.0.0.1.0.7", PROG),     entry("tcp6", "::1.0.6", PROG),
        entry("tcp", "0.0.0.0.0.5", PROG), /* a wildcard */
        entry("local", "/run/adder.sock", PROG), entry("udp6", "::1.0.8", PROG),
    };
    mm_lookup_res all = found(e, 5);
    lookup_script s = {{&all}};
    peer p;
    pl_sockaddr *out = NULL;
    size_t n = 0;
    int dgram = -1;
    for (int dg = 0; dg < 2; dg++) {
        /* on this host: the Unix socket, TCP (loopback for the wildcard), TCP6 */
        assert_int_equal(lookup(&p, dg ? SOCK_DGRAM : SOCK_STREAM, &s, -1, 1, &out, &n, &dgram),
                         PARLEY_OK);
        assert_int_equal(dgram, 0);
        assert_int_equal(n, 3);
        assert_int_equal(out[0].family, AF_UNIX);
        assert_int_equal(out[1].family, AF_INET);
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&out[1].ss;
        assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
        assert_int_equal(ntohs(sin->sin_port), 5);
        assert_int_equal(out[2].family, AF_INET6);
        pl_addr_resolved_free(out);
    }
    /* from another host: no Unix socket */
    assert_int_equal(lookup(&p, SOCK_STREAM, &s, -1, 0, &out, &n, &dgram), PARLEY_OK);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].family, AF_INET);
    pl_addr_resolved_free(out);
    /* datagrams asked for: UDP, then UDP6 */
    assert_int_equal(lookup(&p, SOCK_STREAM, &s, 1, 1, &out, &n, &dgram), PARLEY_OK);
    assert_int_equal(dgram, 1);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].family, AF_INET);
    assert_int_equal(out[0].socktype, SOCK_DGRAM);
    assert_int_equal(out[1].family, AF_INET6);
    pl_addr_resolved_free(out);
    /* only UDP offered: the best is UDP */
    mm_lookup_res udp = found(e, 1);
    lookup_script s2 = {{&udp}};
    assert_int_equal(lookup(&p, SOCK_STREAM, &s2, -1, 1, &out, &n, &dgram), PARLEY_OK);
    assert_int_equal(dgram, 1);
    assert_int_equal(n, 1);
    pl_addr_resolved_free(out);
}

/* cluster_entry is entry() of an instance another host published, as the
 * matchmaker answers it from the cluster. */
static mm_entry cluster_entry(const char *netid, const char *uaddr)
{
    mm_entry e = entry(netid, uaddr, PROG);
    e.owner = text("cluster");
    return e;
}

/* port_of is the port of the IPv4 or IPv6 address s. */
static unsigned port_of(const pl_sockaddr *s)
{
    if (s->family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&s->ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)&s->ss)->sin6_port);
}

static void test_lookup_answers_this_hosts_instances_first_then_the_clusters(void **state)
{
    (void)state;
    /* the cluster's instances answered first, to show the order is the
     * client's: a Unix socket and a wildcard of the cluster are no use */
    mm_entry e[7] = {
        cluster_entry("tcp", "10.0.0.2.0.1"),   cluster_entry("tcp6", "fd00::3.0.2"),
        cluster_entry("tcp", "10.0.0.4.0.3"),   cluster_entry("local", "/run/adder.sock"),
        cluster_entry("tcp", "0.0.0.0.0.9"),    entry("tcp", "127.0.0.1.0.4", PROG),
        entry("local", "/run/here.sock", PROG),
    };
    mm_lookup_res all = found(e, 7);
    lookup_script s = {{&all}};
    peer p;
    pl_sockaddr *out = NULL;
    size_t n = 0;
    int dgram = -1;
    assert_int_equal(lookup(&p, SOCK_STREAM, &s, -1, 1, &out, &n, &dgram), PARLEY_OK);
    assert_int_equal(dgram, 0);
    assert_int_equal(n, 5);
    /* this host's: the Unix socket, TCP */
    assert_int_equal(out[0].family, AF_UNIX);
    assert_false(out[0].remote);
    assert_int_equal(port_of(&out[1]), 4);
    assert_false(out[1].remote);
    /* the cluster's: TCP in the order answered, then TCP6 */
    assert_int_equal(port_of(&out[2]), 1);
    assert_int_equal(port_of(&out[3]), 3);
    assert_int_equal(port_of(&out[4]), 2);
    for (size_t i = 2; i < 5; i++)
        assert_true(out[i].remote);

    /* spreading turns the cluster's part only: every start in turn */
    unsigned starts[3] = {0, 0, 0};
    for (int round = 0; round < 6; round++) {
        pl_sockaddr copy[5];
        memcpy(copy, out, sizeof copy);
        pl_mm_spread(copy, 5);
        assert_int_equal(copy[0].family, AF_UNIX);
        assert_int_equal(port_of(&copy[1]), 4);
        /* a rotation: the order kept, from another start */
        unsigned first = port_of(&copy[2]);
        size_t at = first == 1 ? 2 : first == 3 ? 3 : 4;
        for (size_t k = 0; k < 3; k++)
            assert_int_equal(port_of(&copy[2 + k]), port_of(&out[2 + (at - 2 + k) % 3]));
        starts[at - 2]++;
    }
    assert_int_equal(starts[0], 2); /* six turns of a counter over three */
    assert_int_equal(starts[1], 2);
    assert_int_equal(starts[2], 2);
    pl_addr_resolved_free(out);

    /* no instance here: the cluster's choose the transport (UDP), and a
     * client elsewhere has no Unix socket */
    mm_entry u[2] = {cluster_entry("udp", "10.0.0.2.0.5"), cluster_entry("udp", "10.0.0.3.0.5")};
    mm_lookup_res only = found(u, 2);
    lookup_script s2 = {{&only}};
    assert_int_equal(lookup(&p, SOCK_STREAM, &s2, -1, 1, &out, &n, &dgram), PARLEY_OK);
    assert_int_equal(dgram, 1);
    assert_int_equal(n, 2);
    assert_true(out[0].remote && out[1].remote);
    pl_addr_resolved_free(out);
    /* this host's instance chooses the transport, the cluster's follow on it */
    mm_entry m[3] = {cluster_entry("tcp", "10.0.0.2.0.5"), entry("udp", "127.0.0.1.0.6", PROG),
                     cluster_entry("udp", "10.0.0.3.0.5")};
    mm_lookup_res mixed = found(m, 3);
    lookup_script s3 = {{&mixed}};
    assert_int_equal(lookup(&p, SOCK_STREAM, &s3, -1, 1, &out, &n, &dgram), PARLEY_OK);
    assert_int_equal(dgram, 1);
    assert_int_equal(n, 2);
    assert_false(out[0].remote);
    assert_true(out[1].remote);
    pl_addr_resolved_free(out);
    /* a cluster's copy past its bound: MM_STALE */
    static const mm_lookup_res stale = {.status = MM_STALE};
    lookup_script s4 = {{&stale}};
    out = NULL;
    assert_int_equal(lookup(&p, SOCK_STREAM, &s4, -1, 1, &out, &n, &dgram),
                     PARLEY_ERR_CLUSTER_STALE);
    assert_int_equal(p.ncalls, 1);
    assert_null(out);
}

/* holder runs pl_mm_holder_on for r against a peer playing script. */
static int holder(peer *p, const lookup_script *script, const pl_mm_args *r, char *out, size_t cap)
{
    pl_mm_conn c = start(p, SOCK_STREAM, reply_lookup, script, 2000);
    c.local = 1;
    c.host = "127.0.0.1";
    int rc = pl_mm_holder_on(&c, r, out, cap);
    stop(p, &c);
    return rc;
}

static void test_the_holder_of_a_refused_name_is_its_entry_on_that_transport(void **state)
{
    (void)state;
    mm_entry e[3] = {entry("local", "/run/adder.sock", PROG), entry("tcp", "0.0.0.0.15.160", PROG),
                     entry("tcp6", "::1.15.161", PROG)};
    mm_lookup_res all = found(e, 3);
    lookup_script s = {{&all}};
    peer p;
    char out[320];
    /* the entry on the netid refused, as a Parley address; a LOOKUP of the
     * name in every version and transport */
    assert_int_equal(holder(&p, &s, &reg, out, sizeof out), PARLEY_OK);
    assert_string_equal(out, "tcp://[::1]:4001");
    assert_int_equal(p.ncalls, 1);
    assert_int_equal(p.calls[0].proc, MATCHMAKER_LOOKUP);
    assert_string_equal(p.calls[0].name, "adder");
    assert_int_equal(p.calls[0].avers, 0);
    assert_string_equal(p.calls[0].netid, "");
    /* a wildcard made loopback here */
    pl_mm_args r = reg;
    r.netid = "tcp";
    assert_int_equal(holder(&p, &s, &r, out, sizeof out), PARLEY_OK);
    assert_string_equal(out, "tcp://127.0.0.1:4000");
    /* none on that netid: the first entry */
    r.netid = "udp";
    assert_int_equal(holder(&p, &s, &r, out, sizeof out), PARLEY_OK);
    assert_string_equal(out, "unix:///run/adder.sock");
    /* too small a buffer */
    assert_int_equal(holder(&p, &s, &r, out, 8), PARLEY_ERR_BUFFER_FULL);
    /* the name gone (or only the program held): nothing to name */
    lookup_script s2 = {{&noent}};
    assert_int_equal(holder(&p, &s2, &reg, out, sizeof out), PARLEY_ERR_NOT_REGISTERED);
    /* an entry with no address of its netid */
    e[0] = entry("tcp6", "not-an-address", PROG);
    mm_lookup_res bad = found(e, 1);
    lookup_script s3 = {{&bad}};
    assert_int_equal(holder(&p, &s3, &reg, out, sizeof out), PARLEY_ERR_PROTOCOL);
}

/* ---- replies that are not answers ------------------------------------------- */

/* A reply header: xid (patched), REPLY, MSG_ACCEPTED, AUTH_NONE, SUCCESS. */
#define HDR 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0

/* raw_register registers reg over type with a peer answering r. */
static int raw_register(int type, const raw *r, unsigned ms)
{
    peer p;
    pl_mm_conn c = start(&p, type, reply_raw, r, ms);
    int rc = pl_mm_register_on(&c, &reg);
    stop(&p, &c);
    return rc;
}

static void test_rpc_refusals_are_the_client_errors(void **state)
{
    (void)state;
    static const struct {
        uint8_t bytes[40];
        size_t len;
        int err;
    } cases[] = {
        /* accepted, PROG_MISMATCH 2..3: a matchmaker of another version */
        {{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
          0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3},
         32,
         PARLEY_ERR_PROG_MISMATCH},
        /* accepted, PROG_UNAVAIL: not a matchmaker */
        {{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
         24,
         PARLEY_ERR_PROG_UNAVAIL},
        /* accepted, PROC_UNAVAIL, GARBAGE_ARGS, SYSTEM_ERR */
        {{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3},
         24,
         PARLEY_ERR_PROC_UNAVAIL},
        {{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4},
         24,
         PARLEY_ERR_GARBAGE_ARGS},
        {{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5},
         24,
         PARLEY_ERR_SYSTEM_ERR},
        /* denied, RPC_MISMATCH 3..3; denied, AUTH_ERROR (AUTH_TOOWEAK) */
        {{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 3},
         24,
         PARLEY_ERR_RPC_MISMATCH},
        {{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 5}, 20, PARLEY_ERR_AUTH},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        raw r = {.bytes = cases[i].bytes, .len = cases[i].len, .patch_xid = 1};
        int rc = raw_register(SOCK_STREAM, &r, 2000);
        if (rc != cases[i].err)
            fail_msg("case %zu: %s, not %s", i, parley_errname(rc), parley_errname(cases[i].err));
    }
}

static void test_broken_replies_are_refused(void **state)
{
    (void)state;
    static const uint8_t ok[] = {HDR, 0, 0, 0, 0};
    static const uint8_t no_status[] = {HDR};
    static const uint8_t half_status[] = {HDR, 0, 0};
    static const uint8_t trailing[] = {HDR, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t a_call[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3}; /* CALL, RPC v3 */
    static const uint8_t garbage[] = {0, 0, 0, 0, 'g', 'a', 'r', 'b', 'a', 'g', 'e', '!'};
    static const uint8_t short_hdr[] = {0, 0, 0, 0, 0, 0, 0, 1, 0, 0};
    static const struct {
        const uint8_t *bytes;
        size_t len;
        uint32_t xid_delta;
        int err;
    } cases[] = {
        {ok, sizeof ok, 0, PARLEY_OK},
        {ok, sizeof ok, 1, PARLEY_ERR_PROTOCOL}, /* another xid */
        {no_status, sizeof no_status, 0, PARLEY_ERR_TRUNCATED},
        {half_status, sizeof half_status, 0, PARLEY_ERR_TRUNCATED},
        {trailing, sizeof trailing, 0, PARLEY_ERR_TRAILING},
        {a_call, sizeof a_call, 0, PARLEY_ERR_PROTOCOL},
        {garbage, sizeof garbage, 0, PARLEY_ERR_PROTOCOL},
        {short_hdr, sizeof short_hdr, 0, PARLEY_ERR_TRUNCATED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        raw r = {.bytes = cases[i].bytes,
                 .len = cases[i].len,
                 .patch_xid = 1,
                 .xid_delta = cases[i].xid_delta};
        int rc = raw_register(SOCK_STREAM, &r, 2000);
        if (rc != cases[i].err)
            fail_msg("case %zu: %s, not %s", i, parley_errname(rc), parley_errname(cases[i].err));
    }
}

static void test_a_stream_that_breaks_or_lies_about_lengths_fails_the_call(void **state)
{
    (void)state;
    /* a record of 0x7fffffff bytes announced: refused at its mark */
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
    raw r = {.bytes = huge, .len = sizeof huge, .framed = 1};
    assert_int_equal(raw_register(SOCK_STREAM, &r, 2000), PARLEY_ERR_MSG_TOO_LARGE);
    /* one byte over the 4 MiB a message may take */
    static const uint8_t over[] = {0x80, 0x40, 0x00, 0x01};
    r = (raw){.bytes = over, .len = sizeof over, .framed = 1};
    assert_int_equal(raw_register(SOCK_STREAM, &r, 2000), PARLEY_ERR_MSG_TOO_LARGE);
    /* the stream ends in the middle of the record */
    static const uint8_t cut[] = {0x80, 0, 0, 28, 0, 0, 3, 0xe8, 0, 0, 0, 1};
    r = (raw){.bytes = cut, .len = sizeof cut, .framed = 1, .then_shut = 1};
    assert_int_equal(raw_register(SOCK_STREAM, &r, 2000), PARLEY_ERR_CLOSED);
    /* ... or before it */
    peer p;
    pl_mm_conn c = start(&p, SOCK_STREAM, reply_shut, NULL, 2000);
    assert_int_equal(pl_mm_register_on(&c, &reg), PARLEY_ERR_CLOSED);
    stop(&p, &c);
    /* a record in two fragments is one reply */
    static const uint8_t frags[] = {0, 0, 0, 8, 0, 0, 3, 0xe8, 0, 0, 0, 1, 0x80, 0, 0, 20, 0, 0,
                                    0, 0, 0, 0, 0, 0, 0, 0,    0, 0, 0, 0, 0,    0, 0, 0,  0, 4};
    r = (raw){.bytes = frags, .len = sizeof frags, .framed = 1};
    assert_int_equal(raw_register(SOCK_STREAM, &r, 2000), PARLEY_ERR_TABLE_FULL);
    /* bytes after the record answer no call */
    static const uint8_t extra[] = {0x80, 0, 0, 28, 0, 0, 3, 0xe8, 0, 0, 0, 1, 0, 0, 0,    0, 0, 0,
                                    0,    0, 0, 0,  0, 0, 0, 0,    0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0};
    r = (raw){.bytes = extra, .len = sizeof extra, .framed = 1};
    assert_int_equal(raw_register(SOCK_STREAM, &r, 2000), PARLEY_ERR_PROTOCOL);
}

static void test_no_answer_by_the_deadline_times_out(void **state)
{
    (void)state;
    for (int dg = 0; dg < 2; dg++) {
        peer p;
        int64_t t0 = pl_now_ns();
        pl_mm_conn c = start(&p, dg ? SOCK_DGRAM : SOCK_STREAM, reply_nothing, NULL, 300);
        assert_int_equal(pl_mm_register_on(&c, &reg), PARLEY_ERR_TIMEDOUT);
        int64_t took = pl_now_ns() - t0;
        stop(&p, &c);
        assert_true(took >= 290 * 1000000LL); /* not before the deadline */
        if (dg)                               /* sent again at 250 ms, with the same xid */
            assert_int_equal(p.ncalls, 2);
        if (dg)
            assert_int_equal(p.calls[1].xid, p.calls[0].xid);
    }
}

/* A look-up's two calls share one deadline: the connection's, one absolute
 * time that no call moves. The answer to the first call (not in that
 * version) waits in the socket before the look-up begins, so that the
 * first call finds it however the threads are scheduled; the second (is
 * it there in another version?) is never answered, and gives up at the
 * deadline, not before. The test checks that the deadline is unchanged and that the
 * look-up ended at it or after it, never how long after (these machines
 * are shared and noisy). A test held up past the deadline before its first
 * read sees its first call time out: that run shows nothing, and the case
 * runs again with a deadline twice as far, so no stall fails it. */
static void test_a_lookup_and_its_second_call_share_one_deadline(void **state)
{
    (void)state;
    lookup_script s = {{NULL, NULL}}; /* the peer itself answers nothing */
    for (unsigned ms = 300;; ms *= 2) {
        assert_true(ms <= 4800);
        peer p;
        pl_sockaddr *out = NULL;
        size_t n = 0;
        int dgram;
        pl_mm_conn c = start(&p, SOCK_STREAM, reply_lookup, &s, ms);
        uint8_t first[64];
        peer_reply(&p, first, encode_lookup(first, sizeof first, c.xid, &noent));
        int64_t deadline = c.deadline;
        int rc = pl_mm_lookup_on(&c, "adder", PROG, 1, -1, &out, &n, &dgram);
        int64_t ended = pl_now_ns();
        assert_true(c.deadline == deadline);
        stop(&p, &c);
        if (rc == PARLEY_ERR_TIMEDOUT && p.ncalls <= 1) {
            print_message("held up past the deadline before the first read: again\n");
            continue;
        }
        assert_int_equal(rc, PARLEY_ERR_NOT_REGISTERED);
        assert_int_equal(p.ncalls, 2);
        assert_int_equal(p.calls[0].avers, 1);
        assert_int_equal(p.calls[1].avers, 0);
        /* a receive gives up only within a microsecond of its deadline */
        assert_true(ended >= deadline - 1000000);
        break;
    }
}

static void test_datagrams_of_other_calls_are_dropped_and_a_lost_call_sent_again(void **state)
{
    (void)state;
    /* answers of another xid only: dropped, each sending of the call */
    static const uint8_t stale[] = {HDR, 0, 0, 0, 4};
    raw r = {.bytes = stale, .len = sizeof stale, .patch_xid = 1, .xid_delta = 7};
    assert_int_equal(raw_register(SOCK_DGRAM, &r, 600), PARLEY_ERR_TIMEDOUT);
    /* a datagram larger than any UDP one, of our xid */
    static uint8_t big[70000];
    r = (raw){.bytes = big, .len = sizeof big, .patch_xid = 1};
    assert_int_equal(raw_register(SOCK_DGRAM, &r, 2000), PARLEY_ERR_MSG_TOO_LARGE);
    /* ... of another xid: dropped */
    r.xid_delta = 1;
    assert_int_equal(raw_register(SOCK_DGRAM, &r, 300), PARLEY_ERR_TIMEDOUT);
}

/* reply_second_and_stale answers only the second sending of the call, after
 * a stale datagram and a short one. */
static void reply_second_and_stale(peer *p, int i, uint32_t xid)
{
    static const uint8_t tiny[2] = {1, 2};
    if (i == 0)
        return;
    reply_status_n(p, xid - 1, MM_DENIED);
    peer_send(p, tiny, sizeof tiny);
    reply_status_n(p, xid, MM_FULL);
}

static void test_a_datagram_answer_to_the_resent_call_is_taken(void **state)
{
    (void)state;
    peer p;
    pl_mm_conn c = start(&p, SOCK_DGRAM, reply_second_and_stale, NULL, 2000);
    assert_int_equal(pl_mm_register_on(&c, &reg), PARLEY_ERR_TABLE_FULL);
    stop(&p, &c);
    assert_int_equal(p.ncalls, 2);
    assert_int_equal(p.calls[1].xid, p.calls[0].xid);
}

/* ---- the reply decoder against the generated one ------------------------------ */

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* same_entries checks that the names layer decoded what the generated
 * codec encoded. */
static void same_entries(const pl_mm_reply *got, const mm_lookup_res *want)
{
    assert_int_equal(got->status, want->status);
    const mm_entry_list *l = &want->mm_lookup_res_u.entries;
    assert_int_equal(got->n, l->mm_entry_list_len);
    for (u_int i = 0; i < l->mm_entry_list_len; i++) {
        const mm_entry *w = &l->mm_entry_list_val[i];
        const pl_mm_entry *g = &got->entries[i];
        assert_string_equal(g->name, w->name);
        assert_int_equal(g->prog, w->prog);
        assert_int_equal(g->vers, w->vers);
        assert_string_equal(g->netid, w->netid);
        assert_string_equal(g->uaddr, w->uaddr);
        assert_string_equal(g->owner, w->owner);
        assert_int_equal(g->registered, w->registered);
    }
}

static void test_the_reply_decoder_agrees_with_the_generated_codec(void **state)
{
    (void)state;
    mm_entry e[3] = {entry("tcp", "127.0.0.1.15.160", PROG), entry("local", "/run/a.sock", 7),
                     entry("udp6", "::1.0.1", PROG)};
    e[1].name = text("");
    e[1].owner = text("superuser");
    e[1].registered = -5;
    e[2].vers = 0xffffffffu;
    e[2].registered = INT64_MAX;
    mm_lookup_res res = found(e, 3);
    uint8_t msg[1024];
    const uint32_t xid = 0xdeadbeefu;
    size_t len = encode_lookup(msg, sizeof msg, xid, &res);
    const size_t hdr = 24;

    parley_arena *a = parley_arena_create(0);
    assert_non_null(a);
    pl_mm_reply r;
    const uint8_t *g = pt_guard_copy(msg, len);
    assert_int_equal(pl_mm_reply_decode(g, len, xid, PL_MM_LOOKUP, a, &r), PARLEY_OK);
    same_entries(&r, &res);
    pt_guard_free(g);
    assert_int_equal(pl_mm_reply_decode(msg, len, xid, PL_MM_LOOKUP, NULL, &r), PARLEY_ERR_INVALID);

    /* every truncation, and random corruptions of the result, give both
     * decoders the same outcome */
    parley_limits lim = {.max_alloc = 0, .max_depth = 0, .flags = 0, .arena = a};
    for (size_t cut = hdr; cut <= len; cut++) {
        g = pt_guard_copy(msg, cut);
        mm_lookup_res v;
        memset(&v, 0, sizeof v);
        int want = mm_lookup_res_decode(&v, g + hdr, cut - hdr, NULL, &lim);
        int got = pl_mm_reply_decode(g, cut, xid, PL_MM_LOOKUP, a, &r);
        if (got != want)
            fail_msg("cut at %zu: %s, the generated codec %s", cut, parley_errname(got),
                     parley_errname(want));
        pt_guard_free(g);
        parley_arena_reset(a);
    }
    const uint32_t seed0 = 0x5eed1u;
    uint32_t seed = seed0;
    print_message("seed 0x%x\n", seed0);
    uint8_t bad[1024];
    int agreed_ok = 0;
    for (int k = 0; k < 20000; k++) {
        memcpy(bad, msg, len);
        int flips = 1 + (int)(lcg(&seed) % 3);
        for (int f = 0; f < flips; f++) {
            size_t at = hdr + lcg(&seed) % (len - hdr);
            uint32_t how = lcg(&seed) % 4;
            bad[at] = how == 0   ? 0
                      : how == 1 ? 0xff
                      : how == 2 ? (uint8_t)(bad[at] ^ 1)
                                 : (uint8_t)lcg(&seed);
        }
        size_t blen = len - (lcg(&seed) % 8 == 0 ? lcg(&seed) % 8 : 0);
        g = pt_guard_copy(bad, blen);
        mm_lookup_res v;
        memset(&v, 0, sizeof v);
        int want = mm_lookup_res_decode(&v, g + hdr, blen - hdr, NULL, &lim);
        int got = pl_mm_reply_decode(g, blen, xid, PL_MM_LOOKUP, a, &r);
        if (got != want)
            fail_msg("round %d (seed 0x%x): %s, the generated codec %s", k, seed0,
                     parley_errname(got), parley_errname(want));
        if (got == PARLEY_OK) {
            same_entries(&r, &v);
            agreed_ok++;
        }
        pt_guard_free(g);
        parley_arena_reset(a);
    }
    assert_true(agreed_ok > 0); /* some corruptions still decode */

    /* mm_status: every value */
    for (uint32_t st = 0; st < 9; st++) {
        uint8_t m[28];
        parley_enc en;
        parley_enc_init(&en, m, sizeof m);
        pl_msg_encode_reply_accepted(&en, xid, NULL, PARLEY_SUCCESS, 0, 0);
        parley_put_u32(&en, st);
        assert_int_equal(parley_enc_finish(&en, NULL), PARLEY_OK);
        mm_status v;
        int want = mm_status_decode(&v, m + hdr, 4, NULL, NULL);
        int got = pl_mm_reply_decode(m, sizeof m, xid, PL_MM_REGISTER, NULL, &r);
        assert_int_equal(got, want);
        if (got == PARLEY_OK)
            assert_int_equal(r.status, (uint32_t)v);
    }
    parley_arena_destroy(a);
}

static void test_a_long_answer_arrives_in_pieces(void **state)
{
    (void)state;
    /* 200 entries: a record of several reads */
    enum { N = 200 };
    static mm_entry e[N];
    static char uaddrs[N][32];
    for (int i = 0; i < N; i++) {
        snprintf(uaddrs[i], sizeof uaddrs[i], "127.0.0.%d.%d.%d", 1 + i % 200, i / 256, i % 256);
        e[i] = entry("tcp", uaddrs[i], PROG);
    }
    mm_lookup_res all = found(e, N);
    lookup_script s = {{&all}};
    peer p;
    pl_sockaddr *out = NULL;
    size_t n = 0;
    int dgram;
    assert_int_equal(lookup(&p, SOCK_STREAM, &s, -1, 1, &out, &n, &dgram), PARLEY_OK);
    assert_int_equal(n, N);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&out[N - 1].ss;
    assert_int_equal(ntohs(sin->sin_port), N - 1);
    pl_addr_resolved_free(out);
}

/* ---- through PARLEY_MATCHMAKER ---------------------------------------------- */

/* listening starts a peer behind a socket bound to addr (len bytes) of
 * type, and returns its port (0 for a Unix socket). */
static uint16_t listening(peer *p, int family, int type, const struct sockaddr *addr, socklen_t len,
                          answer_fn *answer, const void *ctx)
{
    memset(p, 0, sizeof *p);
    int fd = socket(family, type | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, addr, len), 0);
    if (type == SOCK_STREAM)
        assert_int_equal(listen(fd, 4), 0);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
    p->fd = -1;
    p->listen_fd = fd;
    p->dgram = type == SOCK_DGRAM;
    p->answer = answer;
    p->ctx = ctx;
    assert_int_equal(pthread_create(&p->thread, NULL, peer_run, p), 0);
    return family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port) : 0;
}

static void stop_listening(peer *p)
{
    assert_int_equal(pthread_join(p->thread, NULL), 0);
    if (p->fd >= 0 && p->fd != p->listen_fd)
        close(p->fd);
    close(p->listen_fd);
    assert_false(p->failed);
}

static void test_the_environment_chooses_the_matchmakers_transport(void **state)
{
    (void)state;
    mm_entry e[2] = {entry("tcp", "0.0.0.0.15.160", PROG), entry("local", "/run/adder.sock", PROG)};
    mm_lookup_res all = found(e, 2);
    lookup_script s = {{&all}};
    pl_addr name;
    assert_int_equal(pl_addr_parse("adder", &name), PARLEY_OK);
    for (int kind = 0; kind < 3; kind++) {
        peer p;
        char env[160];
        struct sockaddr_in sa4 = {.sin_family = AF_INET};
        sa4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        char dir[] = "/tmp/parley-names-wire-XXXXXX";
        if (kind == 2) {
            assert_non_null(mkdtemp(dir));
            snprintf(un.sun_path, sizeof un.sun_path, "%s/mm", dir);
            listening(&p, AF_UNIX, SOCK_STREAM, (struct sockaddr *)&un, sizeof un, reply_lookup,
                      &s);
            snprintf(env, sizeof env, "unix://%s", un.sun_path);
        } else {
            int type = kind ? SOCK_DGRAM : SOCK_STREAM;
            uint16_t port =
                listening(&p, AF_INET, type, (struct sockaddr *)&sa4, sizeof sa4, reply_lookup, &s);
            snprintf(env, sizeof env, "%s127.0.0.1:%u", kind ? "udp://" : "", (unsigned)port);
        }
        setenv("PARLEY_MATCHMAKER", env, 1);
        pl_sockaddr *out = NULL;
        size_t n = 0;
        int dgram = -1;
        assert_int_equal(pl_mm_lookup(&name, PROG, 1, -1, 2000, &out, &n, &dgram), PARLEY_OK);
        if (kind == 1)
            shutdown(p.listen_fd, SHUT_RDWR); /* UDP: no end of stream to stop the peer */
        stop_listening(&p);
        assert_int_equal(p.ncalls, 1);
        assert_true(p.calls[0].same_bytes);
        assert_string_equal(p.calls[0].name, "adder");
        /* a matchmaker on this host: the Unix socket first, the wildcard as loopback */
        assert_int_equal(dgram, 0);
        assert_int_equal(n, 2);
        assert_int_equal(out[0].family, AF_UNIX);
        const struct sockaddr_in *a = (const struct sockaddr_in *)&out[1].ss;
        assert_int_equal(ntohl(a->sin_addr.s_addr), INADDR_LOOPBACK);
        pl_addr_resolved_free(out);
        if (kind == 2) {
            unlink(un.sun_path);
            rmdir(dir);
        }
    }
    unsetenv("PARLEY_MATCHMAKER");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_maps_every_status_to_its_error),
        cmocka_unit_test(test_register_sends_what_the_generated_codec_reads),
        cmocka_unit_test(test_register_refuses_strings_over_their_bounds_before_sending),
        cmocka_unit_test(test_unregister_maps_nothing_to_remove_to_success),
        cmocka_unit_test(test_lookup_errors_say_what_is_wrong),
        cmocka_unit_test(test_lookup_picks_a_unix_socket_here_then_tcp_then_udp),
        cmocka_unit_test(test_lookup_answers_this_hosts_instances_first_then_the_clusters),
        cmocka_unit_test(test_the_holder_of_a_refused_name_is_its_entry_on_that_transport),
        cmocka_unit_test(test_rpc_refusals_are_the_client_errors),
        cmocka_unit_test(test_broken_replies_are_refused),
        cmocka_unit_test(test_a_stream_that_breaks_or_lies_about_lengths_fails_the_call),
        cmocka_unit_test(test_no_answer_by_the_deadline_times_out),
        cmocka_unit_test(test_a_lookup_and_its_second_call_share_one_deadline),
        cmocka_unit_test(test_datagrams_of_other_calls_are_dropped_and_a_lost_call_sent_again),
        cmocka_unit_test(test_a_datagram_answer_to_the_resent_call_is_taken),
        cmocka_unit_test(test_the_reply_decoder_agrees_with_the_generated_codec),
        cmocka_unit_test(test_a_long_answer_arrives_in_pieces),
        cmocka_unit_test(test_the_environment_chooses_the_matchmakers_transport),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
