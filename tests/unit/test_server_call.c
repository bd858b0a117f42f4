/*
 * tests/unit/test_server_call.c: what a procedure learns of its caller's
 * socket (parley_call_transport, _peer, _local, _peer_ids) and the mode of
 * a Unix socket the server listens on (parley_server_listen_opts), over
 * real sockets: TCP on 127.0.0.1 and ::1, UDP on a bound and on a wildcard
 * address (v4 and v6; the reply then leaves from the address called), and
 * Unix sockets in a temporary folder.
 *
 * The server is driven from the test's thread (parley_server_poll); the
 * caller is a raw socket of the test, so that its own address is known
 * exactly: the test sends a call, polls the server until the procedure has
 * run (it records what it saw), and reads the reply.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "parley/client.h"
#include "parley/server.h"
#include "wire/rpcmsg.h"

enum { PROG = 0x20001235, VERS = 1, PROC_WHO = 1 };

/* What the procedure saw of its last call. */
typedef struct seen {
    int calls;
    int transport;
    int peer_rc, local_rc, ids_rc, ids_null_rc;
    struct sockaddr_storage peer, local;
    socklen_t peer_len, local_len;
    uid_t uid;
    gid_t gid;
    pid_t pid;
    int invalid; /* every NULL argument was refused with PARLEY_ERR_INVALID */
} seen;

static seen last;

static int who_handler(parley_call *call, parley_dec *args)
{
    if (parley_dec_remaining(args))
        return PARLEY_ERR_GARBAGE_ARGS;
    int calls = last.calls;
    memset(&last, 0, sizeof last);
    last.calls = calls + 1;
    last.transport = parley_call_transport(call);
    last.peer_rc = parley_call_peer(call, &last.peer, &last.peer_len);
    last.local_rc = parley_call_local(call, &last.local, &last.local_len);
    last.ids_rc = parley_call_peer_ids(call, &last.uid, &last.gid, &last.pid);
    last.ids_null_rc = parley_call_peer_ids(call, NULL, NULL, NULL);
    struct sockaddr_storage ss;
    socklen_t len;
    uid_t uid;
    last.invalid = parley_call_peer(NULL, &ss, &len) == PARLEY_ERR_INVALID &&
                   parley_call_peer(call, NULL, &len) == PARLEY_ERR_INVALID &&
                   parley_call_peer(call, &ss, NULL) == PARLEY_ERR_INVALID &&
                   parley_call_local(NULL, &ss, &len) == PARLEY_ERR_INVALID &&
                   parley_call_local(call, NULL, &len) == PARLEY_ERR_INVALID &&
                   parley_call_local(call, &ss, NULL) == PARLEY_ERR_INVALID &&
                   parley_call_peer_ids(NULL, &uid, NULL, NULL) == PARLEY_ERR_INVALID;
    return PARLEY_OK;
}

static const parley_proc_def procs[] = {{.proc = PROC_WHO, .handler = who_handler}};
static const parley_program_def program = {PROG, VERS, procs, 1};

/* ---- helpers ------------------------------------------------------------ */

static parley_server *server_on(const char *addr, const parley_listen_opts *opts, char *bound,
                                size_t boundlen)
{
    parley_server *s = NULL;
    assert_int_equal(parley_server_create(&s, NULL), PARLEY_OK);
    assert_int_equal(parley_server_add_program(s, &program), PARLEY_OK);
    assert_int_equal(parley_server_listen_opts(s, addr, opts, bound, boundlen), PARLEY_OK);
    return s;
}

/* port_of is the port at the end of a bound address ("tcp://[::1]:4000"). */
static uint16_t port_of(const char *bound)
{
    const char *colon = strrchr(bound, ':');
    assert_non_null(colon);
    return (uint16_t)atoi(colon + 1);
}

static socklen_t inet_addr_of(int family, const char *host, uint16_t port,
                              struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        assert_int_equal(inet_pton(AF_INET, host, &sin->sin_addr), 1);
        return sizeof *sin;
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    assert_int_equal(inet_pton(AF_INET6, host, &sin6->sin6_addr), 1);
    return sizeof *sin6;
}

/* assert_same_inet: a and b are the same IPv4 or IPv6 address and port. */
static void assert_same_inet(const struct sockaddr_storage *a, socklen_t alen,
                             const struct sockaddr_storage *b, socklen_t blen)
{
    assert_int_equal(a->ss_family, b->ss_family);
    assert_int_equal(alen, blen);
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a;
        const struct sockaddr_in *y = (const struct sockaddr_in *)b;
        assert_int_equal(x->sin_port, y->sin_port);
        assert_int_equal(x->sin_addr.s_addr, y->sin_addr.s_addr);
    } else {
        assert_int_equal(a->ss_family, AF_INET6);
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
        const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
        assert_int_equal(x->sin6_port, y->sin6_port);
        assert_memory_equal(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr);
    }
}

/* call_who sends a WHO call on fd (a stream when stream, else a connected
 * datagram socket), runs the server until the procedure has run, and
 * checks that the reply says success. */
static void call_who(parley_server *s, int fd, int stream)
{
    static uint32_t xid = 1;
    uint8_t buf[256];
    parley_enc e;
    size_t n = 0;
    parley_enc_init(&e, buf + 4, sizeof buf - 4);
    pl_msg_encode_call(&e, ++xid, PROG, VERS, PROC_WHO, NULL, NULL);
    assert_int_equal(parley_enc_finish(&e, &n), PARLEY_OK);
    parley_st_u32(buf, 0x80000000u | (uint32_t)n);
    const uint8_t *msg = stream ? buf : buf + 4;
    size_t len = stream ? n + 4 : n;
    assert_int_equal(send(fd, msg, len, MSG_NOSIGNAL), (ssize_t)len);

    int calls = last.calls;
    for (int i = 0; i < 500 && last.calls == calls; i++) /* at most about 5 s */
        assert_int_equal(parley_server_poll(s, 10), PARLEY_OK);
    assert_int_equal(last.calls, calls + 1);

    struct pollfd pf = {fd, POLLIN, 0};
    assert_int_equal(poll(&pf, 1, 5000), 1);
    ssize_t got = recv(fd, buf, sizeof buf, 0);
    const uint8_t *reply = stream ? buf + 4 : buf;
    assert_true(got >= (stream ? 4 : 0) + 24);
    parley_dec d;
    pl_reply_header h;
    parley_dec_init(&d, reply, (size_t)got - (stream ? 4 : 0), NULL);
    assert_int_equal(pl_msg_decode_reply(&d, &h), PARLEY_OK);
    assert_int_equal(h.xid, xid);
    assert_int_equal(pl_reply_error(&h), PARLEY_OK);
    assert_true(last.invalid);
}

/* inet_client makes a socket of type connected to host:port (bound first
 * to an ephemeral port of its family), and gives its own address. */
static int inet_client(int family, int type, const char *host, uint16_t port,
                       struct sockaddr_storage *self, socklen_t *self_len)
{
    struct sockaddr_storage to;
    socklen_t tolen = inet_addr_of(family, host, port, &to);
    int fd = socket(family, type | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&to, tolen), 0);
    *self_len = sizeof *self;
    assert_int_equal(getsockname(fd, (struct sockaddr *)self, self_len), 0);
    return fd;
}

/* have_ipv6: whether ::1 can be bound here (some containers lack it). */
static int have_ipv6(void)
{
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof sin6);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr = in6addr_loopback;
    int ok = bind(fd, (struct sockaddr *)&sin6, sizeof sin6) == 0;
    close(fd);
    return ok;
}

/* check_inet calls a server listening on listen_addr from a client of
 * family and type aimed at host, and checks what the procedure saw: the
 * client's own address as the peer, host and the server's port as the
 * local address. */
static void check_inet(const char *listen_addr, int family, int type, const char *host)
{
    char bound[128];
    parley_server *s = server_on(listen_addr, NULL, bound, sizeof bound);
    uint16_t port = port_of(bound);
    struct sockaddr_storage self, want_local;
    socklen_t self_len;
    int fd = inet_client(family, type, host, port, &self, &self_len);
    socklen_t want_len = inet_addr_of(family, host, port, &want_local);
    call_who(s, fd, type == SOCK_STREAM);
    print_message("%s, called at %s: transport %d\n", listen_addr, host, last.transport);
    assert_int_equal(last.transport,
                     type == SOCK_STREAM ? PARLEY_TRANSPORT_TCP : PARLEY_TRANSPORT_UDP);
    assert_int_equal(last.peer_rc, PARLEY_OK);
    assert_same_inet(&last.peer, last.peer_len, &self, self_len);
    assert_int_equal(last.local_rc, PARLEY_OK);
    assert_same_inet(&last.local, last.local_len, &want_local, want_len);
    assert_int_equal(last.ids_rc, PARLEY_ERR_UNSUPPORTED);
    assert_int_equal(last.ids_null_rc, PARLEY_ERR_UNSUPPORTED);
    assert_int_equal(last.uid, 0); /* nothing written */
    close(fd);
    parley_server_destroy(s);
}

/* ---- tests --------------------------------------------------------------- */

static void test_a_tcp_call_knows_its_peer_and_local_address(void **state)
{
    (void)state;
    check_inet("tcp://127.0.0.1:0", AF_INET, SOCK_STREAM, "127.0.0.1");
    if (have_ipv6())
        check_inet("tcp://[::1]:0", AF_INET6, SOCK_STREAM, "::1");
    else
        print_message("no ::1 here: IPv6 not checked\n");
}

static void test_a_udp_call_knows_its_source_and_the_bound_address(void **state)
{
    (void)state;
    check_inet("udp://127.0.0.1:0", AF_INET, SOCK_DGRAM, "127.0.0.1");
    if (have_ipv6())
        check_inet("udp://[::1]:0", AF_INET6, SOCK_DGRAM, "::1");
}

/* On a wildcard address the local address is the datagram's destination:
 * 127.0.0.2 is one of the loopback interface's addresses too, which
 * getsockname (0.0.0.0) could not tell. */
static void test_a_udp_call_on_a_wildcard_address_knows_where_it_was_sent(void **state)
{
    (void)state;
    check_inet("udp://0.0.0.0:0", AF_INET, SOCK_DGRAM, "127.0.0.1");
    check_inet("udp://0.0.0.0:0", AF_INET, SOCK_DGRAM, "127.0.0.2");
    if (have_ipv6())
        check_inet("udp://[::]:0", AF_INET6, SOCK_DGRAM, "::1");
}

static void on_null(void *ctx, int err)
{
    *(int *)ctx = err;
}

/* The reply to a datagram sent to 127.0.0.2 leaves from 127.0.0.2, which
 * the Parley client (its UDP socket connected to the address it calls)
 * requires: a reply from 127.0.0.1 would never reach it. */
static void test_a_wildcard_udp_server_replies_from_the_address_called(void **state)
{
    (void)state;
    char bound[128], addr[64];
    parley_server *s = server_on("udp://0.0.0.0:0", NULL, bound, sizeof bound);
    snprintf(addr, sizeof addr, "udp://127.0.0.2:%u", (unsigned)port_of(bound));
    parley_client *c = NULL;
    parley_client_opts o = {.retransmit_ms = 5000};
    assert_int_equal(parley_client_create(&c, addr, PROG, VERS, &o), PARLEY_OK);
    int err = -1;
    assert_int_equal(parley_client_submit(c, 0, NULL, NULL, 0, NULL, NULL, 3000, on_null, &err),
                     PARLEY_OK);
    /* one thread drives both ends, bounded by the call's deadline */
    for (int i = 0; i < 1000 && err < 0; i++) {
        assert_int_equal(parley_server_poll(s, 1), PARLEY_OK);
        assert_int_equal(parley_client_poll(c, 1, NULL), PARLEY_OK);
    }
    assert_int_equal(err, PARLEY_OK);
    parley_client_destroy(c);
    parley_server_destroy(s);
}

/* A temporary folder for the Unix sockets of a test. */
static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/parley-call-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/server", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/client", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}

static int unix_client(const char *server_path, const char *bind_path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un un;
    if (bind_path) {
        memset(&un, 0, sizeof un);
        un.sun_family = AF_UNIX;
        assert_true(strlen(bind_path) < sizeof un.sun_path);
        memcpy(un.sun_path, bind_path, strlen(bind_path) + 1);
        assert_int_equal(bind(fd, (struct sockaddr *)&un, sizeof un), 0);
    }
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    assert_true(strlen(server_path) < sizeof un.sun_path);
    memcpy(un.sun_path, server_path, strlen(server_path) + 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&un, sizeof un), 0);
    return fd;
}

static void test_a_unix_call_knows_its_peer_process_and_paths(void **state)
{
    (void)state;
    char server_path[128], client_path[128], addr[160];
    snprintf(server_path, sizeof server_path, "%s/server", dir);
    snprintf(client_path, sizeof client_path, "%s/client", dir);
    snprintf(addr, sizeof addr, "unix://%s", server_path);
    parley_server *s = server_on(addr, NULL, NULL, 0);

    /* a client that did not bind: an unnamed peer */
    int fd = unix_client(server_path, NULL);
    call_who(s, fd, 1);
    assert_int_equal(last.transport, PARLEY_TRANSPORT_UNIX);
    assert_int_equal(last.peer_rc, PARLEY_OK);
    assert_int_equal(last.peer.ss_family, AF_UNIX);
    assert_int_equal(last.peer_len, sizeof(sa_family_t));
    assert_int_equal(last.local_rc, PARLEY_OK);
    assert_int_equal(last.local.ss_family, AF_UNIX);
    assert_string_equal(((struct sockaddr_un *)&last.local)->sun_path, server_path);
    /* the peer is this very process */
    assert_int_equal(last.ids_rc, PARLEY_OK);
    assert_int_equal(last.ids_null_rc, PARLEY_OK);
    assert_int_equal(last.uid, getuid());
    assert_int_equal(last.gid, getgid());
    assert_int_equal(last.pid, getpid());
    close(fd);

    /* a client bound to a path: that path */
    fd = unix_client(server_path, client_path);
    call_who(s, fd, 1);
    assert_int_equal(last.peer.ss_family, AF_UNIX);
    assert_true(last.peer_len > sizeof(sa_family_t));
    assert_string_equal(((struct sockaddr_un *)&last.peer)->sun_path, client_path);
    assert_int_equal(last.pid, getpid());
    close(fd);
    unlink(client_path);
    parley_server_destroy(s);
}

/* mode_of is the permission bits of path. */
static unsigned mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    return (unsigned)st.st_mode & 07777u;
}

static void test_a_unix_socket_gets_the_mode_asked_for(void **state)
{
    (void)state;
    char path[128], addr[160];
    snprintf(path, sizeof path, "%s/server", dir);
    snprintf(addr, sizeof addr, "unix://%s", path);
    mode_t old = umask(077); /* the mode must not depend on the umask */
    static const unsigned modes[] = {0666, 0600, 0660};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        parley_listen_opts o = {.unix_mode = modes[i]};
        parley_server *s = server_on(addr, &o, NULL, 0);
        assert_int_equal(mode_of(path), modes[i]);
        int fd = unix_client(path, NULL); /* and it serves */
        call_who(s, fd, 1);
        close(fd);
        parley_server_destroy(s);
    }
    /* no mode: what the umask leaves */
    parley_server *s = server_on(addr, NULL, NULL, 0);
    assert_int_equal(mode_of(path) & 077u, 0);
    parley_server_destroy(s);
    umask(old);

    /* bits beyond 07777 are refused, before anything is bound */
    assert_int_equal(parley_server_create(&s, NULL), PARLEY_OK);
    parley_listen_opts bad = {.unix_mode = 010000};
    assert_int_equal(parley_server_listen_opts(s, addr, &bad, NULL, 0), PARLEY_ERR_INVALID);
    struct stat st;
    assert_int_equal(stat(path, &st), -1);
    /* the mode is ignored for TCP and UDP */
    parley_listen_opts o = {.unix_mode = 0600};
    assert_int_equal(parley_server_listen_opts(s, "tcp://127.0.0.1:0", &o, NULL, 0), PARLEY_OK);
    assert_int_equal(parley_server_listen_opts(s, "udp://127.0.0.1:0", &o, NULL, 0), PARLEY_OK);
    parley_server_destroy(s);
}

/* v6only: an IPv6 wildcard that leaves IPv4 to a second socket on the same
 * port, or takes it itself; and a service name is no place to listen. */
static void test_an_ipv6_wildcard_takes_ipv4_or_leaves_it(void **state)
{
    (void)state;
    parley_server *s = NULL;
    assert_int_equal(parley_server_create(&s, NULL), PARLEY_OK);
    assert_int_equal(parley_server_listen(s, "date", NULL, 0), PARLEY_ERR_ADDRESS);
    parley_server_destroy(s);
    if (!have_ipv6()) {
        print_message("no IPv6 on this host: v6only not tested\n");
        return;
    }
    static const char *const kinds[] = {"tcp", "udp"};
    for (size_t k = 0; k < 2; k++) {
        for (int v6only = -1; v6only <= 1; v6only += 2) {
            char addr[64], bound[128];
            snprintf(addr, sizeof addr, "%s://[::]:0", kinds[k]);
            parley_listen_opts o = {.v6only = v6only};
            s = server_on(addr, &o, bound, sizeof bound);
            snprintf(addr, sizeof addr, "%s://0.0.0.0:%u", kinds[k], (unsigned)port_of(bound));
            int rc = parley_server_listen(s, addr, NULL, 0);
            if (v6only > 0)
                assert_int_equal(rc, PARLEY_OK);
            else if (k == 0) /* UDP sockets with SO_REUSEADDR may share a port */
                assert_int_equal(rc, PARLEY_ERR_IN_USE);
            parley_server_destroy(s);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_tcp_call_knows_its_peer_and_local_address),
        cmocka_unit_test(test_a_udp_call_knows_its_source_and_the_bound_address),
        cmocka_unit_test(test_a_udp_call_on_a_wildcard_address_knows_where_it_was_sent),
        cmocka_unit_test(test_a_wildcard_udp_server_replies_from_the_address_called),
        cmocka_unit_test_setup_teardown(test_a_unix_call_knows_its_peer_process_and_paths, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(test_a_unix_socket_gets_the_mode_asked_for, make_dir,
                                        remove_dir),
        cmocka_unit_test(test_an_ipv6_wildcard_takes_ipv4_or_leaves_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
