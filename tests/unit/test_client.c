/*
 * tests/unit/test_client.c: the RPC client (runtime/src/client/) against a
 * fake server in the test itself: a thread with a TCP, Unix stream or UDP
 * socket that reads calls with its own framing code and answers canned
 * replies chosen by the procedure number: results, every RPC error, a
 * foreign xid, truncated or fragmented replies, silence, a closed
 * connection, replies out of order, a socket it does not read (the batched
 * sends of threads then time out). Calls are made synchronously and
 * submitted (completed by parley_client_poll, alone, from an event loop on
 * parley_client_fd, and mixed with synchronous callers on other threads).
 * Every server thread is stopped by its test; every wait in it is a poll
 * with a short timeout that checks the stop flag.
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
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "parley/client.h"
#include "wire/auth.h"
#include "wire/rpcmsg.h"
#include "net/sock.h"

#define PROG 0x20000099u
#define VERS 3u

/* What the fake server does with a call, by procedure number. */
enum {
    P_ECHO = 1,      /* the argument (a u32) back */
    P_PROG_UNAVAIL,  /* accepted errors ... */
    P_PROG_MISMATCH, /* */
    P_PROC_UNAVAIL,  /* */
    P_GARBAGE_ARGS,  /* */
    P_SYSTEM_ERR,    /* ... */
    P_RPC_MISMATCH,  /* denied: RPC version */
    P_AUTH_ERROR,    /* denied: AUTH_TOOWEAK */
    P_WRONG_XID,     /* a reply with another xid, then the echo */
    P_TRUNCATED,     /* a successful reply without its result */
    P_FRAGMENTS,     /* the echo, one byte per fragment, one write each */
    P_SILENT,        /* no reply */
    P_CLOSE,         /* close the connection */
    P_TRAILING,      /* the echo and one word more */
    P_NOT_REPLY,     /* a CALL with the call's xid */
    P_UID,           /* the AUTH_SYS uid of the caller, 0 for AUTH_NONE */
    P_LATE,          /* streams: the echo, held back until the next call arrives */
    P_BIG,           /* a 4 KiB result */
    P_DROP2,         /* UDP: ignore the first two datagrams */
    P_JUNK_FIRST,    /* UDP: a 3-byte datagram and a foreign reply first */
    P_FILL,          /* the echo (calls that fill a socket the server does not read) */
    P_QUEUED,        /* the echo (calls queued behind them) */
    P_NAMES,         /* a list of arg strings "user-0", "user-1", ... */
    P_NAMES_CUT,     /* the same list, one string short */
    NPROCS
};

typedef struct fake {
    int type; /* SOCK_STREAM or SOCK_DGRAM */
    int lfd;
    char addr[160];
    char dir[64]; /* the temporary folder of a Unix socket */
    pthread_t thread;
    atomic_int stop;
    atomic_int calls;           /* calls (or datagrams) received */
    atomic_int connections;     /* connections accepted */
    atomic_int by_proc[NPROCS]; /* calls received, by procedure */
    atomic_int hold;            /* streams: accept, but read nothing while set */
    atomic_int conn_fd;         /* streams: the connection being served, or -1 */
} fake;

static void enc_u32(parley_enc *e, const void *v)
{
    parley_put_u32(e, *(const uint32_t *)v);
}

static void dec_u32(parley_dec *d, void *v)
{
    *(uint32_t *)v = parley_get_u32(d);
}

static void dec_big(parley_dec *d, void *v)
{
    uint8_t tmp[4096];
    parley_get_opaque(d, tmp, sizeof tmp);
    *(uint32_t *)v = tmp[0];
}

/* ---- the fake server ------------------------------------------------------ */

/* wait_in waits up to 50 ms for fd to be readable; -1 when stopped. */
static int wait_in(fake *f, int fd)
{
    for (int i = 0; i < 200; i++) { /* at most 10 s */
        if (atomic_load(&f->stop))
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
        int n = poll(&p, 1, 50);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -1;
    }
    return -1;
}

/* read_exact reads n bytes of a stream; -1 at its end, on error or stop. */
static int read_exact(fake *f, int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        if (wait_in(f, fd) != 0)
            return -1;
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static void write_all(int fd, const uint8_t *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        buf += w;
        n -= (size_t)w;
    }
}

/* One reply to send: the message (without record mark) and how to send it. */
typedef struct reply {
    uint8_t msg[4200];
    size_t len;
    int fragments; /* one byte per fragment */
    int late;      /* streams: sent only once the connection's next call has arrived */
} reply;

/* answer builds the replies to the call in msg: up to three in out, the
 * number in *n; returns -1 when the connection is to be closed. */
static int answer(fake *f, const uint8_t *msg, size_t len, reply *out, int *n)
{
    parley_dec d;
    pl_call_header h;
    parley_dec_init(&d, msg, len, NULL);
    *n = 0;
    if (pl_msg_decode_call(&d, &h) != PARLEY_OK)
        return -1;
    atomic_fetch_add(&f->calls, 1);
    if (h.proc < NPROCS)
        atomic_fetch_add(&f->by_proc[h.proc], 1);
    uint32_t arg = parley_dec_remaining(&d) >= 4 ? parley_get_u32(&d) : 0;
    parley_enc e;
    reply *r = &out[0];
    memset(r, 0, sizeof *r);
    parley_enc_init(&e, r->msg, sizeof r->msg);
    switch (h.proc) {
    case P_PROG_UNAVAIL:
    case P_PROG_MISMATCH:
    case P_PROC_UNAVAIL:
    case P_GARBAGE_ARGS:
    case P_SYSTEM_ERR:
        pl_msg_encode_reply_accepted(&e, h.xid, NULL, h.proc - P_PROG_UNAVAIL + PARLEY_PROG_UNAVAIL,
                                     1, 2);
        break;
    case P_RPC_MISMATCH:
        pl_msg_encode_reply_denied_rpc_mismatch(&e, h.xid, 3, 4);
        break;
    case P_AUTH_ERROR:
        pl_msg_encode_reply_denied_auth_error(&e, h.xid, PARLEY_AUTH_TOOWEAK);
        break;
    case P_WRONG_XID:
    case P_JUNK_FIRST:
        pl_msg_encode_reply_accepted(&e, h.xid ^ 0x80000000u, NULL, PARLEY_SUCCESS, 0, 0);
        parley_put_u32(&e, 0xbad);
        r->len = (size_t)(e.p - e.start);
        r = &out[++*n];
        memset(r, 0, sizeof *r);
        parley_enc_init(&e, r->msg, sizeof r->msg);
        pl_msg_encode_reply_accepted(&e, h.xid, NULL, PARLEY_SUCCESS, 0, 0);
        parley_put_u32(&e, arg);
        break;
    case P_TRUNCATED:
        pl_msg_encode_reply_accepted(&e, h.xid, NULL, PARLEY_SUCCESS, 0, 0);
        break;
    case P_SILENT:
        return 0;
    case P_CLOSE:
        return -1;
    case P_TRAILING:
        pl_msg_encode_reply_accepted(&e, h.xid, NULL, PARLEY_SUCCESS, 0, 0);
        parley_put_u32(&e, arg);
        parley_put_u32(&e, 0);
        break;
    case P_NOT_REPLY:
        pl_msg_encode_call(&e, h.xid, PROG, VERS, 0, NULL, NULL);
        break;
    case P_UID: {
        parley_cred cred;
        memset(&cred, 0, sizeof cred);
        if (h.cred.flavor == PARLEY_AUTH_SYS &&
            pl_authsys_decode(h.cred.body, h.cred.len, &cred) != PARLEY_OK)
            return -1;
        pl_msg_encode_reply_accepted(&e, h.xid, NULL, PARLEY_SUCCESS, 0, 0);
        parley_put_u32(&e, cred.uid);
        break;
    }
    case P_NAMES:
    case P_NAMES_CUT: {
        uint32_t count = arg > 100 ? 100 : arg;
        pl_msg_encode_reply_accepted(&e, h.xid, NULL, PARLEY_SUCCESS, 0, 0);
        parley_put_u32(&e, count);
        for (uint32_t i = 0; i < count - (h.proc == P_NAMES_CUT && count > 0); i++) {
            char name[16];
            snprintf(name, sizeof name, "user-%u", i);
            parley_put_string(&e, name, 64);
        }
        break;
    }
    case P_BIG: {
        static const uint8_t zeros[4096];
        pl_msg_encode_reply_accepted(&e, h.xid, NULL, PARLEY_SUCCESS, 0, 0);
        parley_put_opaque(&e, zeros, sizeof zeros);
        break;
    }
    default: /* P_ECHO and the others that end with an echo */
        pl_msg_encode_reply_accepted(&e, h.xid, NULL, PARLEY_SUCCESS, 0, 0);
        parley_put_u32(&e, arg);
        break;
    }
    r->len = (size_t)(e.p - e.start);
    r->fragments = h.proc == P_FRAGMENTS;
    r->late = h.proc == P_LATE;
    if (h.proc == P_JUNK_FIRST) { /* junk, the foreign reply, the reply */
        out[2] = out[1];
        out[1] = out[0];
        memset(&out[0], 0, sizeof out[0]);
        out[0].len = 3;
        ++*n;
    }
    ++*n;
    return 0;
}

static void send_stream(int fd, const reply *r)
{
    if (r->fragments) {
        for (size_t i = 0; i < r->len; i++) {
            uint8_t b[5];
            parley_st_u32(b, (i + 1 == r->len ? 0x80000000u : 0) | 1u);
            b[4] = r->msg[i];
            write_all(fd, b, 5);
        }
        return;
    }
    uint8_t b[4 + sizeof r->msg];
    parley_st_u32(b, 0x80000000u | (uint32_t)r->len);
    memcpy(b + 4, r->msg, r->len);
    write_all(fd, b, 4 + r->len);
}

/* A batch of calls read from a connection: the calls that had arrived
 * together are answered in reverse order, so that pipelined callers get
 * their replies out of order. */
#define BATCH 16

typedef struct batch_entry {
    reply r[3];
    int n;
} batch_entry;

/* serve_conn answers calls on one connection until it ends or the test
 * stops the server. A late reply (P_LATE) is held back until the next call
 * on the connection has arrived, and sent before that call's reply: the
 * client sends that call only after the late one's deadline passed, so the
 * reply comes late without the server sleeping for it. */
static void serve_conn(fake *f, int fd)
{
    static _Thread_local batch_entry batch[BATCH];
    static _Thread_local uint8_t msg[65536];
    static _Thread_local reply held;
    int have_held = 0;
    for (;;) {
        int nb = 0;
        int close_it = 0;
        do {
            uint8_t hdr[4];
            if (read_exact(f, fd, hdr, 4) != 0)
                return;
            uint32_t len = parley_ld_u32(hdr) & 0x7fffffffu;
            if (len > sizeof msg || read_exact(f, fd, msg, len) != 0)
                return;
            if (answer(f, msg, len, batch[nb].r, &batch[nb].n) != 0) {
                close_it = 1;
                break;
            }
            nb++;
            struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
            if (poll(&p, 1, 0) <= 0)
                break;
        } while (nb < BATCH);
        if (have_held && nb > 0) {
            send_stream(fd, &held);
            have_held = 0;
        }
        for (int i = nb - 1; i >= 0; i--) {
            for (int j = 0; j < batch[i].n; j++) {
                if (batch[i].r[j].late) {
                    held = batch[i].r[j];
                    have_held = 1;
                } else {
                    send_stream(fd, &batch[i].r[j]);
                }
            }
        }
        if (close_it)
            return;
    }
}

static void serve_dgram(fake *f)
{
    static _Thread_local uint8_t msg[65536];
    reply r[3];
    int drops = 0;
    while (wait_in(f, f->lfd) == 0) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        ssize_t len = recvfrom(f->lfd, msg, sizeof msg, 0, (struct sockaddr *)&from, &flen);
        if (len < 0)
            continue;
        if (len >= 24 && parley_ld_u32(msg + 20) == P_DROP2 && drops < 2) {
            drops++;
            atomic_fetch_add(&f->calls, 1);
            continue;
        }
        int n;
        if (answer(f, msg, (size_t)len, r, &n) != 0)
            continue;
        for (int i = 0; i < n; i++)
            sendto(f->lfd, r[i].msg, r[i].len, 0, (struct sockaddr *)&from, flen);
    }
}

static void *serve(void *arg)
{
    fake *f = arg;
    if (f->type == SOCK_DGRAM) {
        serve_dgram(f);
        return NULL;
    }
    while (wait_in(f, f->lfd) == 0) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        atomic_fetch_add(&f->connections, 1);
        atomic_store(&f->conn_fd, fd);
        /* held: the client's socket fills up (for at most 30 s) */
        for (int i = 0; i < 3000 && atomic_load(&f->hold) && !atomic_load(&f->stop); i++)
            poll(NULL, 0, 10);
        serve_conn(f, fd);
        atomic_store(&f->conn_fd, -1);
        close(fd);
    }
    return NULL;
}

/* fake_start_held starts a server: "tcp", "udp" or "unix"; with hold, a
 * stream server reads nothing until the test clears f->hold. */
static fake *fake_start_held(const char *kind, int hold)
{
    fake *f = calloc(1, sizeof *f);
    assert_non_null(f);
    atomic_store(&f->hold, hold);
    atomic_store(&f->conn_fd, -1);
    f->type = strcmp(kind, "udp") == 0 ? SOCK_DGRAM : SOCK_STREAM;
    if (strcmp(kind, "unix") == 0) {
        strcpy(f->dir, "/tmp/parley-client-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        snprintf(un.sun_path, sizeof un.sun_path, "%s/s", f->dir);
        f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(f->lfd >= 0);
        assert_int_equal(bind(f->lfd, (struct sockaddr *)&un, sizeof un), 0);
        snprintf(f->addr, sizeof f->addr, "unix://%s", un.sun_path);
    } else {
        struct sockaddr_in in = {.sin_family = AF_INET};
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof in;
        f->lfd = socket(AF_INET, f->type | SOCK_CLOEXEC, 0);
        assert_true(f->lfd >= 0);
        assert_int_equal(bind(f->lfd, (struct sockaddr *)&in, sizeof in), 0);
        assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&in, &len), 0);
        snprintf(f->addr, sizeof f->addr, "%s://127.0.0.1:%u", kind, ntohs(in.sin_port));
    }
    if (f->type == SOCK_STREAM)
        assert_int_equal(listen(f->lfd, 16), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, serve, f), 0);
    return f;
}

static fake *fake_start(const char *kind)
{
    return fake_start_held(kind, 0);
}

static void fake_stop(fake *f)
{
    atomic_store(&f->stop, 1);
    pthread_join(f->thread, NULL);
    close(f->lfd);
    if (f->dir[0]) {
        char path[128];
        snprintf(path, sizeof path, "%s/s", f->dir);
        unlink(path);
        rmdir(f->dir);
    }
    free(f);
}

/* ---- helpers ------------------------------------------------------------- */

static parley_client *client_for(const fake *f, const parley_client_opts *opts)
{
    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, f->addr, PROG, VERS, opts), PARLEY_OK);
    assert_non_null(c);
    return c;
}

/* call makes a call of proc with argument arg; *res gets the result. */
static int call(parley_client *c, uint32_t proc, uint32_t arg, uint32_t *res, unsigned timeout_ms)
{
    *res = 0;
    return parley_client_call(c, proc, enc_u32, &arg, 4, dec_u32, res, timeout_ms);
}

static void assert_echo(parley_client *c, uint32_t v)
{
    uint32_t res;
    assert_int_equal(call(c, P_ECHO, v, &res, 0), PARLEY_OK);
    assert_int_equal(res, v);
}

/* ---- tests --------------------------------------------------------------- */

static void test_create_rejects_bad_arguments(void **state)
{
    (void)state;
    parley_client *c = NULL;
    assert_int_equal(parley_client_create(NULL, "tcp://127.0.0.1:1", 1, 1, NULL),
                     PARLEY_ERR_INVALID);
    assert_int_equal(parley_client_create(&c, NULL, 1, 1, NULL), PARLEY_ERR_INVALID);
    assert_int_equal(parley_client_create(&c, "smtp://x:1", 1, 1, NULL), PARLEY_ERR_ADDRESS);
    assert_null(c);
    parley_client_destroy(NULL);
    assert_int_equal(parley_client_errno(NULL), 0);
}

static void test_call_returns_the_result_over_tcp(void **state)
{
    (void)state;
    fake *f = fake_start("tcp");
    parley_client *c = client_for(f, NULL);
    for (uint32_t i = 0; i < 100; i++)
        assert_echo(c, i * 7919u);
    assert_int_equal(atomic_load(&f->connections), 1);
    parley_client_destroy(c);
    fake_stop(f);
}

static void test_call_returns_the_result_over_a_unix_socket(void **state)
{
    (void)state;
    fake *f = fake_start("unix");
    parley_client *c = client_for(f, NULL);
    assert_echo(c, 42);
    assert_echo(c, 43);
    parley_client_destroy(c);
    fake_stop(f);
}

static void test_server_errors_map_to_their_codes(void **state)
{
    (void)state;
    static const struct {
        uint32_t proc;
        int err;
    } cases[] = {
        {P_PROG_UNAVAIL, PARLEY_ERR_PROG_UNAVAIL}, {P_PROG_MISMATCH, PARLEY_ERR_PROG_MISMATCH},
        {P_PROC_UNAVAIL, PARLEY_ERR_PROC_UNAVAIL}, {P_GARBAGE_ARGS, PARLEY_ERR_GARBAGE_ARGS},
        {P_SYSTEM_ERR, PARLEY_ERR_SYSTEM_ERR},     {P_RPC_MISMATCH, PARLEY_ERR_RPC_MISMATCH},
        {P_AUTH_ERROR, PARLEY_ERR_AUTH},           {P_NOT_REPLY, PARLEY_ERR_PROTOCOL},
        {P_TRUNCATED, PARLEY_ERR_TRUNCATED},       {P_TRAILING, PARLEY_ERR_TRAILING},
    };
    fake *f = fake_start("tcp");
    parley_client *c = client_for(f, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t res;
        assert_int_equal(call(c, cases[i].proc, 1, &res, 0), cases[i].err);
        assert_echo(c, (uint32_t)i); /* the connection is still good */
    }
    assert_int_equal(atomic_load(&f->connections), 1);
    parley_client_destroy(c);
    fake_stop(f);
}

static void test_reply_with_a_foreign_xid_is_ignored(void **state)
{
    (void)state;
    fake *f = fake_start("tcp");
    parley_client *c = client_for(f, NULL);
    uint32_t res;
    assert_int_equal(call(c, P_WRONG_XID, 77, &res, 0), PARLEY_OK);
    assert_int_equal(res, 77);
    parley_client_destroy(c);
    fake_stop(f);
}

static void test_reply_in_many_fragments_is_reassembled(void **state)
{
    (void)state;
    fake *f = fake_start("tcp");
    parley_client *c = client_for(f, NULL);
    uint32_t res;
    assert_int_equal(call(c, P_FRAGMENTS, 0xfeedf00d, &res, 0), PARLEY_OK);
    assert_int_equal(res, 0xfeedf00d);
    assert_echo(c, 5);
    parley_client_destroy(c);
    fake_stop(f);
}

static void test_silent_server_times_out(void **state)
{
    (void)state;
    fake *f = fake_start("tcp");
    parley_client_opts o = {.timeout_ms = 100};
    parley_client *c = client_for(f, &o);
    uint32_t res;
    assert_int_equal(call(c, P_SILENT, 1, &res, 0), PARLEY_ERR_TIMEDOUT);
    assert_int_equal(call(c, P_SILENT, 1, &res, 50), PARLEY_ERR_TIMEDOUT);
    assert_echo(c, 9);
    parley_client_destroy(c);
    fake_stop(f);
}

static void test_late_reply_is_dropped_by_xid(void **state)
{
    (void)state;
    fake *f = fake_start("tcp");
    parley_client *c = client_for(f, NULL);
    uint32_t res;
    assert_int_equal(call(c, P_LATE, 1, &res, 50), PARLEY_ERR_TIMEDOUT);
    /* the late reply (1) arrives before this call's, and is dropped */
    assert_echo(c, 2);
    parley_client_destroy(c);
    fake_stop(f);
}

static void test_closed_port_is_refused(void **state)
{
    (void)state;
    struct sockaddr_in in = {.sin_family = AF_INET};
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof in;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(s, (struct sockaddr *)&in, sizeof in), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&in, &len), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "tcp://127.0.0.1:%u", ntohs(in.sin_port));
    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, addr, PROG, VERS, NULL), PARLEY_OK);
    uint32_t res;
    assert_int_equal(call(c, P_ECHO, 1, &res, 0), PARLEY_ERR_REFUSED);
    assert_int_equal(parley_client_errno(c), ECONNREFUSED);
    assert_int_equal(call(c, P_ECHO, 1, &res, 0), PARLEY_ERR_REFUSED);
    parley_client_destroy(c);
    close(s);

    /* a Unix socket path with nobody there */
    assert_int_equal(parley_client_create(&c, "unix:///nonexistent/parley", PROG, VERS, NULL),
                     PARLEY_OK);
    assert_int_equal(call(c, P_ECHO, 1, &res, 0), PARLEY_ERR_CONNECT);
    assert_int_equal(parley_client_errno(c), ENOENT);
    parley_client_destroy(c);
}

/* closer accepts up to two connections on the listening socket *arg, reads
 * what comes and closes each: the call on it ends as closed. */
static void *closer(void *arg)
{
    int lfd = *(int *)arg;
    for (int i = 0; i < 2; i++) {
        struct pollfd p = {.fd = lfd, .events = POLLIN, .revents = 0};
        if (poll(&p, 1, 2000) <= 0)
            break;
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            break;
        uint8_t buf[256];
        struct pollfd q = {.fd = fd, .events = POLLIN, .revents = 0};
        if (poll(&q, 1, 2000) > 0)
            (void)read(fd, buf, sizeof buf);
        close(fd);
    }
    return NULL;
}

static void test_errno_describes_the_last_failure_only(void **state)
{
    (void)state;
    struct sockaddr_in in = {.sin_family = AF_INET};
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof in;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(s, (struct sockaddr *)&in, sizeof in), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&in, &len), 0);
    char addr[64];
    snprintf(addr, sizeof addr, "tcp://127.0.0.1:%u", ntohs(in.sin_port));
    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, addr, PROG, VERS, NULL), PARLEY_OK);
    uint32_t res;
    assert_int_equal(call(c, P_ECHO, 1, &res, 0), PARLEY_ERR_REFUSED);
    assert_int_equal(parley_client_errno(c), ECONNREFUSED);

    /* the same port now accepts, and closes the connection: closed, and
     * the refusal before is not its errno */
    assert_int_equal(listen(s, 4), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, closer, &s), 0);
    assert_int_equal(call(c, P_ECHO, 1, &res, 5000), PARLEY_ERR_CLOSED);
    assert_int_equal(parley_client_errno(c), 0);
    pthread_join(t, NULL);
    parley_client_destroy(c);
    close(s);

    /* a time-out after a refusal has no errno either */
    s = socket(AF_INET, SOCK_STREAM, 0);
    in.sin_port = 0;
    len = sizeof in;
    assert_int_equal(bind(s, (struct sockaddr *)&in, sizeof in), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&in, &len), 0);
    snprintf(addr, sizeof addr, "tcp://127.0.0.1:%u", ntohs(in.sin_port));
    assert_int_equal(parley_client_create(&c, addr, PROG, VERS, NULL), PARLEY_OK);
    assert_int_equal(call(c, P_ECHO, 1, &res, 0), PARLEY_ERR_REFUSED);
    assert_int_equal(parley_client_errno(c), ECONNREFUSED);
    assert_int_equal(listen(s, 4), 0); /* connects, and nobody answers */
    assert_int_equal(call(c, P_ECHO, 1, &res, 200), PARLEY_ERR_TIMEDOUT);
    assert_int_equal(parley_client_errno(c), 0);
    parley_client_destroy(c);
    close(s);
}

static void test_server_closing_mid_call_is_closed_then_reconnects(void **state)
{
    (void)state;
    fake *f = fake_start("tcp");
    parley_client *c = client_for(f, NULL);
    uint32_t res;
    assert_echo(c, 1);
    assert_int_equal(call(c, P_CLOSE, 1, &res, 0), PARLEY_ERR_CLOSED);
    assert_echo(c, 2);
    assert_int_equal(atomic_load(&f->connections), 2);
    parley_client_destroy(c);
    fake_stop(f);
}

typedef struct silent_caller {
    parley_client *c;
    pthread_t t;
    int rc;
} silent_caller;

static void *call_silent(void *arg)
{
    silent_caller *s = arg;
    uint32_t res;
    s->rc = call(s->c, P_SILENT, 0, &res, 10000);
    return NULL;
}

static void test_broken_connection_fails_every_call_in_flight(void **state)
{
    (void)state;
    fake *f = fake_start("tcp");
    parley_client *c = client_for(f, NULL);
    silent_caller s[4];
    for (int i = 0; i < 4; i++) {
        s[i].c = c;
        assert_int_equal(pthread_create(&s[i].t, NULL, call_silent, &s[i]), 0);
    }
    /* wait (at most 5 s) until the server has the four calls */
    for (int i = 0; i < 5000 && atomic_load(&f->calls) < 4; i++)
        usleep(1000);
    assert_int_equal(atomic_load(&f->calls), 4);
    uint32_t res;
    assert_int_equal(call(c, P_CLOSE, 0, &res, 0), PARLEY_ERR_CLOSED);
    for (int i = 0; i < 4; i++) {
        pthread_join(s[i].t, NULL);
        assert_int_equal(s[i].rc, PARLEY_ERR_CLOSED);
    }
    assert_echo(c, 1);
    parley_client_destroy(c);
    fake_stop(f);
}

static void test_oversized_reply_fails_and_reconnects(void **state)
{
    (void)state;
    fake *f = fake_start("tcp");
    parley_client_opts o = {.max_msg = 1024};
    parley_client *c = client_for(f, &o);
    uint32_t res = 0;
    uint32_t arg = 0;
    assert_int_equal(parley_client_call(c, P_BIG, enc_u32, &arg, 4, dec_big, &res, 0),
                     PARLEY_ERR_MSG_TOO_LARGE);
    assert_echo(c, 3);
    parley_client_destroy(c);

    o.max_msg = 0; /* the default takes it */
    c = client_for(f, &o);
    assert_int_equal(parley_client_call(c, P_BIG, enc_u32, &arg, 4, dec_big, &res, 0), PARLEY_OK);
    parley_client_destroy(c);
    fake_stop(f);
}

static void test_auth_sys_credential_is_sent(void **state)
{
    (void)state;
    fake *f = fake_start("tcp");
    parley_cred cred;
    memset(&cred, 0, sizeof cred);
    cred.flavor = PARLEY_AUTH_SYS;
    strcpy(cred.machine, "testhost");
    cred.uid = 1234;
    cred.gid = 99;
    cred.ngids = 2;
    cred.gids[0] = 5;
    cred.gids[1] = 6;
    parley_client_opts o = {.cred = &cred};
    parley_client *c = client_for(f, &o);
    uint32_t res;
    assert_int_equal(call(c, P_UID, 0, &res, 0), PARLEY_OK);
    assert_int_equal(res, 1234);
    parley_client_destroy(c);

    c = client_for(f, NULL); /* AUTH_NONE */
    res = 7;
    assert_int_equal(call(c, P_UID, 0, &res, 0), PARLEY_OK);
    assert_int_equal(res, 0);
    parley_client_destroy(c);

    cred.ngids = PARLEY_AUTHSYS_MAX_GIDS + 1;
    assert_int_equal(parley_client_create(&c, f->addr, PROG, VERS, &o), PARLEY_ERR_TOO_LONG);
    fake_stop(f);
}

static void test_udp_call_returns_the_result(void **state)
{
    (void)state;
    fake *f = fake_start("udp");
    parley_client *c = client_for(f, NULL);
    for (uint32_t i = 0; i < 20; i++)
        assert_echo(c, i);
    uint32_t res;
    assert_int_equal(call(c, P_PROC_UNAVAIL, 1, &res, 0), PARLEY_ERR_PROC_UNAVAIL);
    parley_client_destroy(c);
    fake_stop(f);
}

static void test_udp_retransmits_until_a_reply_comes(void **state)
{
    (void)state;
    fake *f = fake_start("udp");
    parley_client_opts o = {.retransmit_ms = 20};
    parley_client *c = client_for(f, &o);
    uint32_t res;
    assert_int_equal(call(c, P_DROP2, 31, &res, 0), PARLEY_OK);
    assert_int_equal(res, 31);
    assert_int_equal(atomic_load(&f->calls), 3);
    parley_client_destroy(c);
    fake_stop(f);
}

static void test_udp_ignores_junk_and_foreign_datagrams(void **state)
{
    (void)state;
    fake *f = fake_start("udp");
    parley_client *c = client_for(f, NULL);
    uint32_t res;
    assert_int_equal(call(c, P_JUNK_FIRST, 8, &res, 0), PARLEY_OK);
    assert_int_equal(res, 8);
    assert_echo(c, 9);
    parley_client_destroy(c);
    fake_stop(f);
}

static void test_udp_silent_server_times_out(void **state)
{
    (void)state;
    fake *f = fake_start("udp");
    parley_client_opts o = {.retransmit_ms = 10};
    parley_client *c = client_for(f, &o);
    uint32_t res;
    assert_int_equal(call(c, P_SILENT, 1, &res, 100), PARLEY_ERR_TIMEDOUT);
    /* sent at 0, 10, 30, 70 ms: four times before the deadline */
    assert_in_range(atomic_load(&f->calls), 3, 5);
    assert_echo(c, 1);
    parley_client_destroy(c);
    fake_stop(f);
}

#define THREADS      8
#define THREAD_CALLS 1000

typedef struct worker {
    parley_client *c;
    uint32_t id;
    int failures;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    for (uint32_t i = 0; i < THREAD_CALLS; i++) {
        uint32_t v = w->id << 16 | i;
        uint32_t res = 0;
        int rc = call(w->c, P_ECHO, v, &res, 10000);
        if (rc != PARLEY_OK || res != v)
            w->failures++;
    }
    return NULL;
}

static void run_threads(const char *kind)
{
    fake *f = fake_start(kind);
    parley_client *c = client_for(f, NULL);
    pthread_t t[THREADS];
    worker w[THREADS];
    for (uint32_t i = 0; i < THREADS; i++) {
        w[i] = (worker){c, i + 1, 0};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    int failures = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        failures += w[i].failures;
    }
    assert_int_equal(failures, 0);
    /* UDP may retransmit a datagram that loopback dropped */
    if (strcmp(kind, "udp") != 0)
        assert_int_equal(atomic_load(&f->calls), THREADS * THREAD_CALLS);
    else
        assert_true(atomic_load(&f->calls) >= THREADS * THREAD_CALLS);
    parley_client_destroy(c);
    fake_stop(f);
}

static void test_threads_share_one_connection_with_replies_out_of_order(void **state)
{
    (void)state;
    run_threads("tcp");
}

static void test_threads_share_one_udp_socket(void **state)
{
    (void)state;
    run_threads("udp");
}

/* ---- a batch the socket never takes ---------------------------------------
 *
 * A call that finds another thread sending queues its message for that
 * thread, which writes the queue in one send() after its own message. When
 * the socket takes none of a batch before the sender's deadline, the calls
 * of the batch fail with PARLEY_ERR_TIMEDOUT and their messages are dropped:
 * never sent later, after their callers were told they failed.
 *
 * The server is a Unix stream socket that reads nothing. On a Unix stream a
 * message smaller than one socket buffer unit (a few tens of KiB) is taken
 * whole or not at all, so the socket fills without ever taking part of a
 * message (which would break the connection: another branch). Over TCP the
 * same fill would cut a message. */

#define FILL_ARGS    8192 /* the arguments of a call that fills the socket */
#define FILL_THREADS 4

static void enc_fill(parley_enc *e, const void *v)
{
    static const uint8_t zeros[FILL_ARGS - 4];
    parley_put_u32(e, *(const uint32_t *)v);
    parley_put_opaque(e, zeros, sizeof zeros);
}

static int fill_call(parley_client *c, uint32_t proc, unsigned timeout_ms)
{
    uint32_t arg = proc, res = 0;
    return parley_client_call(c, proc, enc_fill, &arg, FILL_ARGS, dec_u32, &res, timeout_ms);
}

/* queued_bytes is what the server's end of the connection holds unread. */
static int queued_bytes(int fd)
{
    int n = -1;
    assert_int_equal(ioctl(fd, FIONREAD, &n), 0);
    return n;
}

typedef struct fill_caller {
    parley_client *c;
    pthread_barrier_t *start;
    int rc;
} fill_caller;

static void *call_fill_queued(void *arg)
{
    fill_caller *f = arg;
    pthread_barrier_wait(f->start);
    f->rc = fill_call(f->c, P_QUEUED, 300);
    return NULL;
}

static void test_a_batch_the_socket_never_takes_times_out_every_caller(void **state)
{
    (void)state;
    fake *f = fake_start_held("unix", 1);
    parley_client *c = client_for(f, NULL);
    /* fill the socket: calls whose messages it takes whole (and which time
     * out waiting for a reply), until one it does not take */
    assert_int_equal(fill_call(c, P_FILL, 10), PARLEY_ERR_TIMEDOUT);
    int fd = -1;
    for (int i = 0; i < 5000 && (fd = atomic_load(&f->conn_fd)) < 0; i++)
        usleep(1000);
    assert_true(fd >= 0);
    int full = -1, fills = 1;
    for (; fills < 1000; fills++) {
        int before = queued_bytes(fd);
        assert_int_equal(fill_call(c, P_FILL, 10), PARLEY_ERR_TIMEDOUT);
        if (queued_bytes(fd) == before) {
            full = before;
            break;
        }
    }
    const int msg = FILL_ARGS + 44; /* record mark, header, AUTH_NONE */
    assert_true(full > 0);
    assert_int_equal(full % msg, 0); /* whole messages only */

    /* threads call at once: one takes the send role and waits for the
     * socket, the others queue their messages behind it; when its deadline
     * passes the batch goes nowhere, and every call times out */
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, FILL_THREADS), 0);
    pthread_t t[FILL_THREADS];
    fill_caller fc[FILL_THREADS];
    for (int i = 0; i < FILL_THREADS; i++) {
        fc[i] = (fill_caller){c, &start, -1};
        assert_int_equal(pthread_create(&t[i], NULL, call_fill_queued, &fc[i]), 0);
    }
    for (int i = 0; i < FILL_THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(fc[i].rc, PARLEY_ERR_TIMEDOUT);
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(queued_bytes(fd), full);

    /* the server reads again: the handle works on the same connection, and
     * none of the calls that timed out reaches the server afterwards (the
     * second echo's reply means the server has read all that came before) */
    atomic_store(&f->hold, 0);
    assert_echo(c, 5);
    assert_echo(c, 6);
    assert_int_equal(atomic_load(&f->by_proc[P_FILL]), full / msg);
    assert_int_equal(atomic_load(&f->by_proc[P_QUEUED]), 0);
    assert_int_equal(atomic_load(&f->connections), 1);
    parley_client_destroy(c);
    fake_stop(f);
}

/* ---- submitted calls ------------------------------------------------------ */

/* One submitted call: what its callback saw. */
typedef struct async_call {
    uint32_t arg, res;
    int runs; /* how many times the callback ran */
    int err;
    pthread_t thread; /* where it ran */
} async_call;

static void on_done(void *ctx, int err)
{
    async_call *a = ctx;
    a->runs++;
    a->err = err;
    a->thread = pthread_self();
}

static int submit(parley_client *c, uint32_t proc, async_call *a, uint32_t arg, unsigned timeout_ms)
{
    memset(a, 0, sizeof *a);
    a->arg = arg;
    return parley_client_submit(c, proc, enc_u32, &a->arg, 4, dec_u32, &a->res, timeout_ms, on_done,
                                a);
}

/* poll_until polls c until *runs reaches want (at most about 10 s). */
static void poll_until(parley_client *c, const int *runs, int want)
{
    for (int i = 0; i < 100 && *runs < want; i++)
        assert_int_equal(parley_client_poll(c, 100, NULL), PARLEY_OK);
    assert_int_equal(*runs, want);
}

/* count_done counts the completions of calls[0..n) into *done. */
static unsigned count_done(const async_call *calls, unsigned n)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++)
        k += (unsigned)calls[i].runs;
    return k;
}

#define ASYNC_CALLS 100

static void submit_many_then_poll(const char *kind)
{
    fake *f = fake_start(kind);
    parley_client *c = client_for(f, NULL);
    static async_call calls[ASYNC_CALLS];
    for (uint32_t i = 0; i < ASYNC_CALLS; i++)
        assert_int_equal(submit(c, P_ECHO, &calls[i], i * 7919u, 10000), PARLEY_OK);
    unsigned total = 0;
    for (int k = 0; k < 100 && total < ASYNC_CALLS; k++) {
        unsigned n = 0;
        assert_int_equal(parley_client_poll(c, 100, &n), PARLEY_OK);
        total += n;
        assert_int_equal(count_done(calls, ASYNC_CALLS), total);
    }
    assert_int_equal(total, ASYNC_CALLS);
    for (uint32_t i = 0; i < ASYNC_CALLS; i++) {
        assert_int_equal(calls[i].runs, 1);
        assert_int_equal(calls[i].err, PARLEY_OK);
        assert_int_equal(calls[i].res, i * 7919u);
        assert_true(pthread_equal(calls[i].thread, pthread_self()));
    }
    /* nothing more to do: a poll that does not wait runs nothing */
    unsigned n = 1;
    assert_int_equal(parley_client_poll(c, 0, &n), PARLEY_OK);
    assert_int_equal(n, 0);
    if (strcmp(kind, "udp") != 0)
        assert_int_equal(atomic_load(&f->connections), 1);
    assert_echo(c, 5); /* and the synchronous API still works */
    parley_client_destroy(c);
    fake_stop(f);
}

static void test_submitted_calls_complete_once_each_from_poll(void **state)
{
    (void)state;
    submit_many_then_poll("tcp");
}

static void test_submitted_calls_complete_once_each_over_udp(void **state)
{
    (void)state;
    submit_many_then_poll("udp");
}

static void test_submit_rejects_bad_arguments_and_reports_connect_errors(void **state)
{
    (void)state;
    uint32_t arg = 1, res;
    assert_int_equal(
        parley_client_submit(NULL, P_ECHO, enc_u32, &arg, 4, dec_u32, &res, 0, on_done, NULL),
        PARLEY_ERR_INVALID);
    assert_int_equal(parley_client_poll(NULL, 0, NULL), PARLEY_ERR_INVALID);
    assert_int_equal(parley_client_fd(NULL), -1);

    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, "unix:///nonexistent/parley", PROG, VERS, NULL),
                     PARLEY_OK);
    assert_int_equal(
        parley_client_submit(c, P_ECHO, enc_u32, &arg, 4, dec_u32, &res, 0, NULL, NULL),
        PARLEY_ERR_INVALID);
    async_call a;
    assert_int_equal(submit(c, P_ECHO, &a, 1, 0), PARLEY_ERR_CONNECT);
    unsigned n = 1;
    assert_int_equal(parley_client_poll(c, 0, &n), PARLEY_OK);
    assert_int_equal(n, 0);
    assert_int_equal(a.runs, 0); /* a failed submit never calls back */
    parley_client_destroy(c);
    assert_int_equal(a.runs, 0);
}

static void test_submitted_call_times_out_in_poll(void **state)
{
    (void)state;
    fake *f = fake_start("tcp");
    parley_client *c = client_for(f, NULL);
    async_call silent, late;
    assert_int_equal(submit(c, P_SILENT, &silent, 1, 50), PARLEY_OK);
    assert_int_equal(submit(c, P_LATE, &late, 2, 50), PARLEY_OK);
    unsigned n = 0;
    /* polls with no timeout of their own return: they wait for the calls'
     * deadlines (a poll that did not would hang, and the test's own
     * time limit would end it) */
    for (int i = 0; i < 2 && n < 2; i++) {
        unsigned k = 0;
        assert_int_equal(parley_client_poll(c, -1, &k), PARLEY_OK);
        assert_true(k >= 1);
        n += k;
    }
    assert_int_equal(n, 2);
    assert_int_equal(silent.runs, 1);
    assert_int_equal(silent.err, PARLEY_ERR_TIMEDOUT);
    assert_int_equal(late.runs, 1);
    assert_int_equal(late.err, PARLEY_ERR_TIMEDOUT);
    assert_int_equal(late.res, 0); /* res untouched */
    /* the late reply comes while this call waits, and is dropped */
    assert_echo(c, 3);
    async_call a;
    assert_int_equal(submit(c, P_ECHO, &a, 4, 0), PARLEY_OK);
    poll_until(c, &a.runs, 1);
    assert_int_equal(a.err, PARLEY_OK);
    assert_int_equal(a.res, 4);
    parley_client_destroy(c);
    fake_stop(f);
}

static void test_submitted_udp_call_is_retransmitted_by_poll(void **state)
{
    (void)state;
    fake *f = fake_start("udp");
    parley_client_opts o = {.retransmit_ms = 20};
    parley_client *c = client_for(f, &o);
    async_call a;
    assert_int_equal(submit(c, P_DROP2, &a, 31, 5000), PARLEY_OK);
    poll_until(c, &a.runs, 1);
    assert_int_equal(a.err, PARLEY_OK);
    assert_int_equal(a.res, 31);
    assert_int_equal(atomic_load(&f->calls), 3);
    parley_client_destroy(c);
    fake_stop(f);
}

static void test_destroy_cancels_submitted_calls(void **state)
{
    (void)state;
    fake *f = fake_start("tcp");
    parley_client *c = client_for(f, NULL);
    async_call calls[5];
    for (uint32_t i = 0; i < 5; i++)
        assert_int_equal(submit(c, P_SILENT, &calls[i], i, 10000), PARLEY_OK);
    parley_client_destroy(c);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(calls[i].runs, 1);
        assert_int_equal(calls[i].err, PARLEY_ERR_CANCELLED);
        assert_true(pthread_equal(calls[i].thread, pthread_self()));
    }
    fake_stop(f);
}

static void test_broken_connection_completes_submitted_calls_as_closed(void **state)
{
    (void)state;
    fake *f = fake_start("tcp");
    parley_client *c = client_for(f, NULL);
    async_call silent, closing;
    assert_int_equal(submit(c, P_SILENT, &silent, 1, 10000), PARLEY_OK);
    assert_int_equal(submit(c, P_CLOSE, &closing, 2, 10000), PARLEY_OK);
    unsigned n = 0;
    for (int i = 0; i < 100 && n < 2; i++) {
        unsigned k = 0;
        assert_int_equal(parley_client_poll(c, 100, &k), PARLEY_OK);
        n += k;
    }
    assert_int_equal(n, 2);
    assert_int_equal(silent.err, PARLEY_ERR_CLOSED);
    assert_int_equal(closing.err, PARLEY_ERR_CLOSED);
    async_call a; /* the next call reconnects */
    assert_int_equal(submit(c, P_ECHO, &a, 7, 0), PARLEY_OK);
    poll_until(c, &a.runs, 1);
    assert_int_equal(a.err, PARLEY_OK);
    assert_int_equal(a.res, 7);
    assert_int_equal(atomic_load(&f->connections), 2);
    parley_client_destroy(c);
    fake_stop(f);
}

/* wait_readable waits (at most 5 s) for fd to be readable, as an event loop
 * would. */
static void wait_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_true(p.revents & POLLIN);
}

static void test_client_fd_drives_an_event_loop(void **state)
{
    (void)state;
    fake *f = fake_start("tcp");
    parley_client *c = client_for(f, NULL);
    int fd = parley_client_fd(c);
    assert_true(fd >= 0);
    assert_int_equal(parley_client_fd(c), fd);

    /* replies */
    static async_call calls[ASYNC_CALLS];
    for (uint32_t i = 0; i < ASYNC_CALLS; i++)
        assert_int_equal(submit(c, P_ECHO, &calls[i], i, 10000), PARLEY_OK);
    unsigned total = 0;
    for (int k = 0; k < 1000 && total < ASYNC_CALLS; k++) {
        wait_readable(fd);
        unsigned n = 0;
        assert_int_equal(parley_client_poll(c, 0, &n), PARLEY_OK);
        total += n;
    }
    assert_int_equal(total, ASYNC_CALLS);
    for (uint32_t i = 0; i < ASYNC_CALLS; i++) {
        assert_int_equal(calls[i].runs, 1);
        assert_int_equal(calls[i].res, i);
    }

    /* a deadline makes the descriptor readable too */
    async_call a;
    assert_int_equal(submit(c, P_SILENT, &a, 1, 50), PARLEY_OK);
    for (int k = 0; k < 100 && a.runs == 0; k++) {
        wait_readable(fd);
        assert_int_equal(parley_client_poll(c, 0, NULL), PARLEY_OK);
    }
    assert_int_equal(a.runs, 1);
    assert_int_equal(a.err, PARLEY_ERR_TIMEDOUT);

    /* and so does a reconnection's socket: the descriptor stays the same */
    assert_int_equal(submit(c, P_CLOSE, &a, 1, 0), PARLEY_OK);
    for (int k = 0; k < 100 && a.runs == 0; k++) {
        wait_readable(fd);
        assert_int_equal(parley_client_poll(c, 0, NULL), PARLEY_OK);
    }
    assert_int_equal(a.err, PARLEY_ERR_CLOSED);
    assert_int_equal(submit(c, P_ECHO, &a, 9, 0), PARLEY_OK);
    for (int k = 0; k < 100 && a.runs == 0; k++) {
        wait_readable(fd);
        assert_int_equal(parley_client_poll(c, 0, NULL), PARLEY_OK);
    }
    assert_int_equal(a.err, PARLEY_OK);
    assert_int_equal(a.res, 9);
    assert_int_equal(parley_client_fd(c), fd);
    parley_client_destroy(c);
    fake_stop(f);
}

#define MIX_THREADS      4
#define MIX_THREAD_CALLS 300
#define MIX_ASYNC        300

static void *work_mixed(void *arg)
{
    worker *w = arg;
    for (uint32_t i = 0; i < MIX_THREAD_CALLS; i++) {
        uint32_t v = w->id << 16 | i;
        uint32_t res = 0;
        int rc = call(w->c, P_ECHO, v, &res, 10000);
        if (rc != PARLEY_OK || res != v)
            w->failures++;
    }
    return NULL;
}

static void mix_sync_and_submitted(const char *kind)
{
    fake *f = fake_start(kind);
    parley_client *c = client_for(f, NULL);
    pthread_t t[MIX_THREADS];
    worker w[MIX_THREADS];
    for (uint32_t i = 0; i < MIX_THREADS; i++) {
        w[i] = (worker){c, i + 1, 0};
        assert_int_equal(pthread_create(&t[i], NULL, work_mixed, &w[i]), 0);
    }
    static async_call calls[MIX_ASYNC];
    unsigned total = 0;
    /* submit in batches of ten, polling in between */
    for (uint32_t i = 0; i < MIX_ASYNC; i += 10) {
        for (uint32_t j = i; j < i + 10; j++)
            assert_int_equal(submit(c, P_ECHO, &calls[j], 0xa0000000u | j, 10000), PARLEY_OK);
        unsigned n = 0;
        assert_int_equal(parley_client_poll(c, 0, &n), PARLEY_OK);
        total += n;
    }
    for (int k = 0; k < 200 && total < MIX_ASYNC; k++) {
        unsigned n = 0;
        assert_int_equal(parley_client_poll(c, 100, &n), PARLEY_OK);
        total += n;
    }
    int failures = 0;
    for (int i = 0; i < MIX_THREADS; i++) {
        pthread_join(t[i], NULL);
        failures += w[i].failures;
    }
    assert_int_equal(failures, 0);
    assert_int_equal(total, MIX_ASYNC);
    for (uint32_t i = 0; i < MIX_ASYNC; i++) {
        assert_int_equal(calls[i].runs, 1);
        assert_int_equal(calls[i].err, PARLEY_OK);
        assert_int_equal(calls[i].res, 0xa0000000u | i);
        assert_true(pthread_equal(calls[i].thread, pthread_self()));
    }
    parley_client_destroy(c);
    fake_stop(f);
}

static void test_sync_calls_from_threads_mix_with_submitted_calls(void **state)
{
    (void)state;
    mix_sync_and_submitted("tcp");
}

static void test_sync_calls_mix_with_submitted_calls_over_udp(void **state)
{
    (void)state;
    mix_sync_and_submitted("udp");
}

/* ---- the server's details of an error -------------------------------------- */

static void assert_detail(int err, uint32_t low, uint32_t high, uint32_t auth_stat)
{
    parley_rpc_detail d;
    memset(&d, 0xa5, sizeof d);
    parley_client_last_detail(&d);
    assert_int_equal(d.err, err);
    assert_int_equal(d.low, low);
    assert_int_equal(d.high, high);
    assert_int_equal(d.auth_stat, auth_stat);
}

static void test_a_call_leaves_the_details_of_its_refusal(void **state)
{
    (void)state;
    fake *f = fake_start("tcp");
    parley_client *c = client_for(f, NULL);
    uint32_t res;
    assert_int_equal(call(c, P_PROG_MISMATCH, 1, &res, 0), PARLEY_ERR_PROG_MISMATCH);
    assert_detail(PARLEY_ERR_PROG_MISMATCH, 1, 2, 0);
    assert_int_equal(call(c, P_RPC_MISMATCH, 1, &res, 0), PARLEY_ERR_RPC_MISMATCH);
    assert_detail(PARLEY_ERR_RPC_MISMATCH, 3, 4, 0);
    assert_int_equal(call(c, P_AUTH_ERROR, 1, &res, 0), PARLEY_ERR_AUTH);
    assert_detail(PARLEY_ERR_AUTH, 0, 0, PARLEY_AUTH_TOOWEAK);
    /* errors without details, and success, leave zeros */
    assert_int_equal(call(c, P_PROC_UNAVAIL, 1, &res, 0), PARLEY_ERR_PROC_UNAVAIL);
    assert_detail(PARLEY_ERR_PROC_UNAVAIL, 0, 0, 0);
    assert_echo(c, 1);
    assert_detail(PARLEY_OK, 0, 0, 0);
    assert_int_equal(call(c, P_SILENT, 1, &res, 20), PARLEY_ERR_TIMEDOUT);
    assert_detail(PARLEY_ERR_TIMEDOUT, 0, 0, 0);
    assert_int_equal(parley_client_call(NULL, P_ECHO, NULL, NULL, 0, NULL, NULL, 0),
                     PARLEY_ERR_INVALID);
    assert_detail(PARLEY_ERR_INVALID, 0, 0, 0);
    parley_client_last_detail(NULL); /* a no-op */
    parley_client_destroy(c);
    fake_stop(f);
}

static void test_details_are_formatted_as_one_line(void **state)
{
    (void)state;
    char buf[128];
    parley_rpc_detail d = {PARLEY_ERR_PROG_MISMATCH, 1, 2, 0};
    assert_string_equal(parley_rpc_detail_format(&d, buf, sizeof buf),
                        "program version mismatch: the server serves versions 1 to 2");
    d.low = d.high = 4;
    assert_string_equal(parley_rpc_detail_format(&d, buf, sizeof buf),
                        "program version mismatch: the server serves version 4");
    d = (parley_rpc_detail){PARLEY_ERR_RPC_MISMATCH, 3, 4, 0};
    assert_string_equal(parley_rpc_detail_format(&d, buf, sizeof buf),
                        "RPC version mismatch: the server speaks RPC versions 3 to 4");
    d.low = d.high = 2;
    assert_string_equal(parley_rpc_detail_format(&d, buf, sizeof buf),
                        "RPC version mismatch: the server speaks RPC version 2");
    d = (parley_rpc_detail){PARLEY_ERR_AUTH, 0, 0, PARLEY_AUTH_TOOWEAK};
    assert_string_equal(parley_rpc_detail_format(&d, buf, sizeof buf),
                        "authentication failed: rejected for security reasons");
    d = (parley_rpc_detail){PARLEY_ERR_TIMEDOUT, 0, 0, 0};
    assert_string_equal(parley_rpc_detail_format(&d, buf, sizeof buf),
                        parley_strerror(PARLEY_ERR_TIMEDOUT));
    /* cut to the buffer, and NUL-terminated */
    assert_string_equal(parley_rpc_detail_format(&d, buf, 4), "the");
    assert_string_equal(parley_rpc_detail_format(NULL, buf, sizeof buf), "");
    assert_null(parley_rpc_detail_format(&d, NULL, 0));
}

/* A submitted call whose callback keeps the details it reads. */
typedef struct detail_call {
    async_call a;
    parley_rpc_detail d;
} detail_call;

static void on_done_detail(void *ctx, int err)
{
    detail_call *x = ctx;
    on_done(&x->a, err);
    parley_client_last_detail(&x->d);
}

static int submit_detail(parley_client *c, uint32_t proc, detail_call *x)
{
    memset(x, 0, sizeof *x);
    x->a.arg = proc;
    return parley_client_submit(c, proc, enc_u32, &x->a.arg, 4, dec_u32, &x->a.res, 5000,
                                on_done_detail, x);
}

static void test_a_callback_reads_the_details_of_its_own_call(void **state)
{
    (void)state;
    fake *f = fake_start("tcp");
    parley_client *c = client_for(f, NULL);
    static const uint32_t procs[] = {P_PROG_MISMATCH, P_RPC_MISMATCH, P_AUTH_ERROR, P_ECHO};
    enum { N = sizeof procs / sizeof procs[0] };
    detail_call x[N];
    for (int i = 0; i < N; i++)
        assert_int_equal(submit_detail(c, procs[i], &x[i]), PARLEY_OK);
    unsigned total = 0;
    for (int k = 0; k < 100 && total < N; k++) {
        unsigned n = 0;
        assert_int_equal(parley_client_poll(c, 100, &n), PARLEY_OK);
        total += n;
    }
    assert_int_equal(total, N);
    const parley_rpc_detail want[N] = {{PARLEY_ERR_PROG_MISMATCH, 1, 2, 0},
                                       {PARLEY_ERR_RPC_MISMATCH, 3, 4, 0},
                                       {PARLEY_ERR_AUTH, 0, 0, PARLEY_AUTH_TOOWEAK},
                                       {PARLEY_OK, 0, 0, 0}};
    for (int i = 0; i < N; i++) {
        assert_int_equal(x[i].a.runs, 1);
        assert_int_equal(x[i].a.err, want[i].err);
        assert_int_equal(x[i].d.err, want[i].err);
        assert_int_equal(x[i].d.low, want[i].low);
        assert_int_equal(x[i].d.high, want[i].high);
        assert_int_equal(x[i].d.auth_stat, want[i].auth_stat);
    }
    /* a callback run by destroy reads its cancellation */
    detail_call silent;
    assert_int_equal(submit_detail(c, P_SILENT, &silent), PARLEY_OK);
    parley_client_destroy(c);
    assert_int_equal(silent.a.runs, 1);
    assert_int_equal(silent.d.err, PARLEY_ERR_CANCELLED);
    fake_stop(f);
}

#define DETAIL_CALLS 200

typedef struct detail_worker {
    parley_client *c;
    uint32_t proc;
    int err;
    parley_rpc_detail want;
    pthread_barrier_t *start;
    int failures;
} detail_worker;

/* detail_work makes calls of its procedure, each followed by an echo, and
 * checks after each that its thread has its own call's details. */
static void *detail_work(void *arg)
{
    detail_worker *w = arg;
    pthread_barrier_wait(w->start);
    for (int i = 0; i < DETAIL_CALLS; i++) {
        uint32_t res = 0;
        parley_rpc_detail d;
        int rc = call(w->c, w->proc, 1, &res, 10000);
        parley_client_last_detail(&d);
        if (rc != w->err || d.err != w->err || d.low != w->want.low || d.high != w->want.high ||
            d.auth_stat != w->want.auth_stat)
            w->failures++;
        rc = call(w->c, P_ECHO, 7, &res, 10000);
        parley_client_last_detail(&d);
        if (rc != PARLEY_OK || d.err != PARLEY_OK || d.low || d.high || d.auth_stat)
            w->failures++;
    }
    return NULL;
}

static void *fresh_thread_detail(void *arg)
{
    parley_client_last_detail(arg);
    return NULL;
}

static void test_threads_sharing_a_handle_read_their_own_details(void **state)
{
    (void)state;
    fake *f = fake_start("tcp");
    parley_client *c = client_for(f, NULL);
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
    detail_worker w[2] = {
        {c, P_PROG_MISMATCH, PARLEY_ERR_PROG_MISMATCH, {0, 1, 2, 0}, &start, 0},
        {c, P_AUTH_ERROR, PARLEY_ERR_AUTH, {0, 0, 0, PARLEY_AUTH_TOOWEAK}, &start, 0},
    };
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, detail_work, &w[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    pthread_barrier_destroy(&start);
    /* a thread that has completed no call reads no error */
    parley_rpc_detail d;
    memset(&d, 0xa5, sizeof d);
    pthread_t fresh;
    assert_int_equal(pthread_create(&fresh, NULL, fresh_thread_detail, &d), 0);
    pthread_join(fresh, NULL);
    assert_int_equal(d.err, PARLEY_OK);
    assert_int_equal(d.low | d.high | d.auth_stat, 0);
    parley_client_destroy(c);
    fake_stop(f);
}

/* ---- results decoded into an arena ----------------------------------------- */

typedef struct names {
    uint32_t n;
    char **v;
} names;

static void dec_names(parley_dec *d, void *r)
{
    names *x = r;
    uint32_t n = parley_get_count(d, 1000, 4, sizeof(char *));
    x->v = parley_dec_alloc(d, n * sizeof *x->v);
    if (x->v == NULL)
        return;
    x->n = n;
    for (uint32_t i = 0; i < n; i++)
        parley_get_string(d, &x->v[i], 64);
}

static void assert_names(const names *x, uint32_t n)
{
    assert_int_equal(x->n, n);
    for (uint32_t i = 0; i < n; i++) {
        char want[16];
        snprintf(want, sizeof want, "user-%u", i);
        assert_string_equal(x->v[i], want);
    }
}

/* in_arena: whether p lies in the n bytes that a fresh arena of one block
 * handed out from its start (a test's arena is big enough for that). */
static int in_arena(const void *p, const void *first, size_t n)
{
    return (const char *)p >= (const char *)first && (const char *)p < (const char *)first + n;
}

static void test_a_result_decoded_into_an_arena_lives_there(void **state)
{
    (void)state;
    fake *f = fake_start("tcp");
    parley_client *c = client_for(f, NULL);
    parley_arena *a = parley_arena_create(64 << 10);
    assert_non_null(a);
    for (int round = 0; round < 3; round++) {
        /* where the arena's first allocation lands: the result must be there */
        void *first = parley_arena_alloc(a, 8);
        assert_non_null(first);
        names x = {0, NULL};
        uint32_t n = 100;
        assert_int_equal(parley_client_call_arena(c, P_NAMES, enc_u32, &n, 4, dec_names, &x, 0, a),
                         PARLEY_OK);
        assert_names(&x, 100);
        size_t used = parley_arena_used(a);
        assert_true(used > 100 * sizeof(char *));
        assert_true(in_arena(x.v, first, used));
        for (uint32_t i = 0; i < x.n; i++)
            assert_true(in_arena(x.v[i], first, used));
        parley_arena_reset(a); /* releases it: nothing to free */
        assert_int_equal(parley_arena_used(a), 0);
    }
    /* NULL: malloc, released with free as after parley_client_call */
    names x = {0, NULL};
    uint32_t n = 3;
    assert_int_equal(parley_client_call_arena(c, P_NAMES, enc_u32, &n, 4, dec_names, &x, 0, NULL),
                     PARLEY_OK);
    assert_names(&x, 3);
    assert_int_equal(parley_arena_used(a), 0);
    for (uint32_t i = 0; i < x.n; i++)
        free(x.v[i]);
    free(x.v);
    parley_arena_destroy(a);
    parley_client_destroy(c);
    fake_stop(f);
}

static void test_a_result_that_fails_to_decode_leaves_its_pieces_in_the_arena(void **state)
{
    (void)state;
    fake *f = fake_start("tcp");
    parley_client *c = client_for(f, NULL);
    parley_arena *a = parley_arena_create(0);
    assert_non_null(a);
    names x = {0, NULL};
    uint32_t n = 10;
    assert_int_equal(parley_client_call_arena(c, P_NAMES_CUT, enc_u32, &n, 4, dec_names, &x, 0, a),
                     PARLEY_ERR_TRUNCATED);
    /* the array and the nine strings that decoded are in the arena (the
     * tenth is NULL); the reset releases them, and ASan sees no leak */
    assert_int_equal(x.n, 10);
    for (uint32_t i = 0; i < 9; i++)
        assert_non_null(x.v[i]);
    assert_null(x.v[9]);
    assert_true(parley_arena_used(a) > 10 * sizeof(char *));
    parley_arena_reset(a);
    assert_int_equal(parley_arena_used(a), 0);
    /* an error before decoding leaves the arena untouched */
    uint32_t res;
    assert_int_equal(
        parley_client_call_arena(c, P_PROC_UNAVAIL, enc_u32, &n, 4, dec_u32, &res, 0, a),
        PARLEY_ERR_PROC_UNAVAIL);
    assert_int_equal(parley_arena_used(a), 0);
    /* and the handle goes on */
    assert_int_equal(parley_client_call_arena(c, P_NAMES, enc_u32, &n, 4, dec_names, &x, 0, a),
                     PARLEY_OK);
    assert_names(&x, 10);
    parley_arena_destroy(a);
    parley_client_destroy(c);
    fake_stop(f);
}

/* A submitted call decoding into an arena. */
typedef struct names_call {
    uint32_t arg;
    names x;
    int runs, err;
} names_call;

static void on_names(void *ctx, int err)
{
    names_call *nc = ctx;
    nc->runs++;
    nc->err = err;
}

static void test_a_submitted_call_decodes_into_its_arena_before_its_callback(void **state)
{
    (void)state;
    fake *f = fake_start("tcp");
    parley_client *c = client_for(f, NULL);
    parley_arena *a = parley_arena_create(0);
    assert_non_null(a);
    names_call ok = {50, {0, NULL}, 0, -1}, cut = {5, {0, NULL}, 0, -1};
    assert_int_equal(parley_client_submit_arena(c, P_NAMES, enc_u32, &ok.arg, 4, dec_names, &ok.x,
                                                0, a, on_names, &ok),
                     PARLEY_OK);
    assert_int_equal(parley_client_submit_arena(c, P_NAMES_CUT, enc_u32, &cut.arg, 4, dec_names,
                                                &cut.x, 0, a, on_names, &cut),
                     PARLEY_OK);
    assert_int_equal(parley_arena_used(a), 0); /* nothing decoded yet */
    poll_until(c, &ok.runs, 1);
    poll_until(c, &cut.runs, 1);
    assert_int_equal(ok.err, PARLEY_OK);
    assert_names(&ok.x, 50);
    assert_int_equal(cut.err, PARLEY_ERR_TRUNCATED);
    assert_true(parley_arena_used(a) > 0);
    parley_arena_reset(a);
    parley_arena_destroy(a);
    parley_client_destroy(c);
    fake_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_rejects_bad_arguments),
        cmocka_unit_test(test_call_returns_the_result_over_tcp),
        cmocka_unit_test(test_call_returns_the_result_over_a_unix_socket),
        cmocka_unit_test(test_server_errors_map_to_their_codes),
        cmocka_unit_test(test_reply_with_a_foreign_xid_is_ignored),
        cmocka_unit_test(test_reply_in_many_fragments_is_reassembled),
        cmocka_unit_test(test_silent_server_times_out),
        cmocka_unit_test(test_late_reply_is_dropped_by_xid),
        cmocka_unit_test(test_closed_port_is_refused),
        cmocka_unit_test(test_errno_describes_the_last_failure_only),
        cmocka_unit_test(test_server_closing_mid_call_is_closed_then_reconnects),
        cmocka_unit_test(test_broken_connection_fails_every_call_in_flight),
        cmocka_unit_test(test_oversized_reply_fails_and_reconnects),
        cmocka_unit_test(test_auth_sys_credential_is_sent),
        cmocka_unit_test(test_udp_call_returns_the_result),
        cmocka_unit_test(test_udp_retransmits_until_a_reply_comes),
        cmocka_unit_test(test_udp_ignores_junk_and_foreign_datagrams),
        cmocka_unit_test(test_udp_silent_server_times_out),
        cmocka_unit_test(test_threads_share_one_connection_with_replies_out_of_order),
        cmocka_unit_test(test_threads_share_one_udp_socket),
        cmocka_unit_test(test_a_batch_the_socket_never_takes_times_out_every_caller),
        cmocka_unit_test(test_submitted_calls_complete_once_each_from_poll),
        cmocka_unit_test(test_submitted_calls_complete_once_each_over_udp),
        cmocka_unit_test(test_submit_rejects_bad_arguments_and_reports_connect_errors),
        cmocka_unit_test(test_submitted_call_times_out_in_poll),
        cmocka_unit_test(test_submitted_udp_call_is_retransmitted_by_poll),
        cmocka_unit_test(test_destroy_cancels_submitted_calls),
        cmocka_unit_test(test_broken_connection_completes_submitted_calls_as_closed),
        cmocka_unit_test(test_client_fd_drives_an_event_loop),
        cmocka_unit_test(test_sync_calls_from_threads_mix_with_submitted_calls),
        cmocka_unit_test(test_sync_calls_mix_with_submitted_calls_over_udp),
        cmocka_unit_test(test_a_call_leaves_the_details_of_its_refusal),
        cmocka_unit_test(test_details_are_formatted_as_one_line),
        cmocka_unit_test(test_a_callback_reads_the_details_of_its_own_call),
        cmocka_unit_test(test_threads_sharing_a_handle_read_their_own_details),
        cmocka_unit_test(test_a_result_decoded_into_an_arena_lives_there),
        cmocka_unit_test(test_a_result_that_fails_to_decode_leaves_its_pieces_in_the_arena),
        cmocka_unit_test(test_a_submitted_call_decodes_into_its_arena_before_its_callback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
