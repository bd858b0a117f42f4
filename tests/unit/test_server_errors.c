/*
 * tests/unit/test_server_errors.c: every error the server's functions
 * return, each reached, and what a failure leaves behind: nothing.
 *
 * Some errors come from the system for real: a Unix socket in a folder the
 * process may not write and a port below 1024, after dropping privileges
 * in a child (the tests run as root on CI), and an address that is not
 * this host's. The others happen only when something fails deep down, so
 * the test makes it fail: the executable is linked with --wrap for the
 * calls the server makes (epoll_create1, epoll_ctl, eventfd,
 * pthread_mutex_init, getsockname, getsockopt, chmod, getaddrinfo, malloc,
 * calloc, realloc), and for the names layer's pl_mm_register and
 * pl_mm_unregister, which here stand for a matchmaker and remember what
 * they were told. epoll_ctl's failures can be aimed at one operation on
 * one descriptor (a socket's re-arm), and its registrations are watched,
 * so that a test can also wake a connection's reader with nothing to
 * read. After each failure the test checks that the process holds the
 * descriptors it held before, that no socket file stays, that nothing
 * stays registered, and (in the ASan build) that nothing leaks, or that
 * the server goes on serving.
 *
 * The server is driven from the test's thread (parley_server_poll), its
 * callers are raw sockets of the test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "parley/server.h"
#include "wire/rpcmsg.h"

enum { PROG = 0x20001236, PROC_WHO = 1 };

/* ---- failure injection ---------------------------------------------------- */

/* A wrapped call to make fail: skip calls go through, then the next fail
 * ones (-1: all) fail with err (errno, or the error number returned);
 * fired counts the failures. */
typedef struct fault {
    atomic_int skip, fail, fired;
    int err;
} fault;

static fault f_epoll_create1, f_epoll_ctl, f_eventfd, f_mutex, f_getsockname, f_getsockopt, f_chmod,
    f_getaddrinfo, f_alloc;

static void inject(fault *f, int skip, int fail, int err)
{
    atomic_store(&f->skip, skip);
    atomic_store(&f->fired, 0);
    f->err = err;
    atomic_store(&f->fail, fail);
}

static int fires(fault *f)
{
    if (atomic_load(&f->fail) == 0)
        return 0;
    if (atomic_load(&f->skip) > 0) {
        atomic_fetch_sub(&f->skip, 1);
        return 0;
    }
    if (atomic_load(&f->fail) > 0)
        atomic_fetch_sub(&f->fail, 1);
    atomic_fetch_add(&f->fired, 1);
    return 1;
}

/* f_epoll_ctl fails only the operation f_epoll_op on the descriptor
 * f_epoll_fd (0 and -1: any). */
static atomic_int f_epoll_op, f_epoll_fd = -1;

static void aim_epoll(int op, int fd)
{
    atomic_store(&f_epoll_op, op);
    atomic_store(&f_epoll_fd, fd);
}

static void clear_faults(void)
{
    fault *all[] = {&f_epoll_create1, &f_epoll_ctl, &f_eventfd,     &f_mutex, &f_getsockname,
                    &f_getsockopt,    &f_chmod,     &f_getaddrinfo, &f_alloc};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        inject(all[i], 0, 0, 0);
    aim_epoll(0, -1);
}

/* What epoll_ctl last registered (ADD) that went through: its descriptor
 * and its data, and how many registrations asked for EPOLLOUT (a stream
 * whose replies wait for the client, stream.c's arm_writable). */
static atomic_int added_fd = -1, added_out;
static void *_Atomic added_ptr;

int __real_epoll_create1(int flags);
int __wrap_epoll_create1(int flags);
int __real_epoll_ctl(int ep, int op, int fd, struct epoll_event *ev);
int __wrap_epoll_ctl(int ep, int op, int fd, struct epoll_event *ev);
int __real_eventfd(unsigned int initval, int flags);
int __wrap_eventfd(unsigned int initval, int flags);
int __real_pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a);
int __wrap_pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a);
int __real_getsockname(int fd, struct sockaddr *sa, socklen_t *len);
int __wrap_getsockname(int fd, struct sockaddr *sa, socklen_t *len);
int __real_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
int __wrap_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
int __real_chmod(const char *path, mode_t mode);
int __wrap_chmod(const char *path, mode_t mode);
int __real_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res);
int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res);
void *__real_malloc(size_t n);
void *__wrap_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

int __wrap_epoll_create1(int flags)
{
    if (fires(&f_epoll_create1)) {
        errno = f_epoll_create1.err;
        return -1;
    }
    return __real_epoll_create1(flags);
}

int __wrap_epoll_ctl(int ep, int op, int fd, struct epoll_event *ev)
{
    int aim_op = atomic_load(&f_epoll_op), aim_fd = atomic_load(&f_epoll_fd);
    if ((aim_op == 0 || op == aim_op) && (aim_fd < 0 || fd == aim_fd) && fires(&f_epoll_ctl)) {
        errno = f_epoll_ctl.err;
        return -1;
    }
    int rc = __real_epoll_ctl(ep, op, fd, ev);
    if (rc == 0 && op == EPOLL_CTL_ADD) {
        atomic_store(&added_fd, fd);
        atomic_store(&added_ptr, ev->data.ptr);
        if (ev->events & EPOLLOUT)
            atomic_fetch_add(&added_out, 1);
    }
    return rc;
}

int __wrap_eventfd(unsigned int initval, int flags)
{
    if (fires(&f_eventfd)) {
        errno = f_eventfd.err;
        return -1;
    }
    return __real_eventfd(initval, flags);
}

int __wrap_pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a)
{
    if (fires(&f_mutex))
        return f_mutex.err;
    return __real_pthread_mutex_init(m, a);
}

int __wrap_getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
    if (fires(&f_getsockname)) {
        errno = f_getsockname.err;
        return -1;
    }
    return __real_getsockname(fd, sa, len);
}

int __wrap_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    if (fires(&f_getsockopt)) {
        errno = f_getsockopt.err;
        return -1;
    }
    return __real_getsockopt(fd, level, name, val, len);
}

int __wrap_chmod(const char *path, mode_t mode)
{
    if (fires(&f_chmod)) {
        errno = f_chmod.err;
        return -1;
    }
    return __real_chmod(path, mode);
}

int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res)
{
    if (fires(&f_getaddrinfo))
        return f_getaddrinfo.err;
    return __real_getaddrinfo(node, service, hints, res);
}

void *__wrap_malloc(size_t n)
{
    return fires(&f_alloc) ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return fires(&f_alloc) ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return fires(&f_alloc) ? NULL : __real_realloc(p, n);
}

/* ---- a matchmaker in memory ------------------------------------------------ */

/* What pl_mm_register was told and pl_mm_unregister has not taken back. */
typedef struct entry {
    char name[80];
    uint32_t prog, vers;
    struct sockaddr_storage sa;
    socklen_t len;
    int socktype;
} entry;

static entry table[32];
static size_t nentries;
static int mm_fail_at; /* the nth registration from now fails with mm_err; 0: none */
static int mm_err;
static int mm_unreg_err; /* what pl_mm_unregister returns (it removes all the same) */

int __wrap_pl_mm_register(const char *name, uint32_t prog, uint32_t vers, const struct sockaddr *sa,
                          socklen_t len, int socktype);
int __wrap_pl_mm_unregister(const char *name, uint32_t vers, const char *netid);

int __wrap_pl_mm_register(const char *name, uint32_t prog, uint32_t vers, const struct sockaddr *sa,
                          socklen_t len, int socktype)
{
    if (mm_fail_at > 0 && --mm_fail_at == 0)
        return mm_err;
    assert_true(nentries < sizeof table / sizeof table[0]);
    assert_true(len <= sizeof(struct sockaddr_storage));
    entry *e = &table[nentries++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->prog = prog;
    e->vers = vers;
    memcpy(&e->sa, sa, len);
    e->len = len;
    e->socktype = socktype;
    return PARLEY_OK;
}

int __wrap_pl_mm_unregister(const char *name, uint32_t vers, const char *netid)
{
    (void)netid;
    size_t k = 0;
    for (size_t i = 0; i < nentries; i++)
        if (strcmp(table[i].name, name) != 0 || table[i].vers != vers)
            table[k++] = table[i];
    nentries = k;
    return mm_unreg_err;
}

/* ---- helpers -------------------------------------------------------------- */

/* What the procedure saw of its call. */
static int who_calls, who_local_rc, who_ids_rc;

static int who_handler(parley_call *call, parley_dec *args)
{
    (void)args;
    struct sockaddr_storage ss;
    socklen_t len;
    uid_t uid;
    who_calls++;
    who_local_rc = parley_call_local(call, &ss, &len);
    who_ids_rc = parley_call_peer_ids(call, &uid, NULL, NULL);
    return PARLEY_OK;
}

static const parley_proc_def procs[] = {{.proc = PROC_WHO, .handler = who_handler}};
static const parley_program_def prog_v1 = {PROG, 1, procs, 1};
static const parley_program_def prog_v2 = {PROG, 2, procs, 1};

/* open_fds counts the descriptors the process holds. */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own */
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static uint16_t port_of(const char *bound)
{
    const char *colon = strrchr(bound, ':');
    assert_non_null(colon);
    return (uint16_t)atoi(colon + 1);
}

static uint16_t port_in(const struct sockaddr_storage *ss)
{
    assert_int_equal(ss->ss_family, AF_INET);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static int tcp_client(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    return fd;
}

static int unix_client(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un un;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    assert_true(strlen(path) < sizeof un.sun_path);
    memcpy(un.sun_path, path, strlen(path) + 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&un, sizeof un), 0);
    return fd;
}

static int udp_client(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    return fd;
}

/* encode_who writes a WHO call of xid at buf (framed: after its record
 * mark) and returns its length. */
static size_t encode_who(uint8_t *buf, size_t cap, uint32_t xid, int framed)
{
    parley_enc e;
    size_t n = 0, at = framed ? 4 : 0;
    parley_enc_init(&e, buf + at, cap - at);
    pl_msg_encode_call(&e, xid, PROG, 1, PROC_WHO, NULL, NULL);
    assert_int_equal(parley_enc_finish(&e, &n), PARLEY_OK);
    if (framed)
        parley_st_u32(buf, 0x80000000u | (uint32_t)n);
    return n + at;
}

static uint32_t next_xid = 1;

/* call_on sends a WHO call on fd, a stream or (dgram) a connected UDP
 * socket, and runs the server until the client has an answer, or the end
 * of its connection, or about 5 s have passed: 1 for a reply, 0 for the
 * end (a stream's end or reset, a datagram refused), -1 for nothing. */
static int call_on(parley_server *s, int fd, int dgram)
{
    uint32_t xid = ++next_xid;
    uint8_t buf[256];
    size_t n = encode_who(buf, sizeof buf, xid, !dgram);
    assert_int_equal(send(fd, buf, n, MSG_NOSIGNAL), (ssize_t)n);
    for (int i = 0; i < 500; i++) { /* at most about 5 s */
        assert_int_equal(parley_server_poll(s, 10), PARLEY_OK);
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 0) == 1)
            break;
    }
    ssize_t got = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return -1;
    if (got <= 0) {
        assert_true(got == 0 || errno == ECONNRESET || errno == ECONNREFUSED);
        return 0;
    }
    size_t at = dgram ? 0 : 4;
    assert_true((size_t)got >= at + 24);
    parley_dec d;
    pl_reply_header h;
    parley_dec_init(&d, buf + at, (size_t)got - at, NULL);
    assert_int_equal(pl_msg_decode_reply(&d, &h), PARLEY_OK);
    assert_int_equal(h.xid, xid);
    assert_int_equal(pl_reply_error(&h), PARLEY_OK);
    return 1;
}

/* call_who is call_on for a stream. */
static int call_who(parley_server *s, int fd)
{
    return call_on(s, fd, 0);
}

static int reset(void **state)
{
    (void)state;
    clear_faults();
    nentries = 0;
    mm_fail_at = 0;
    mm_unreg_err = PARLEY_OK;
    return 0;
}

/* A temporary folder for Unix sockets. */
static char dir[64];

static int make_dir(void **state)
{
    reset(state);
    snprintf(dir, sizeof dir, "/tmp/parley-errors-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    reset(state);
    char path[128];
    snprintf(path, sizeof path, "%s/s", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}

static parley_server *new_server_opts(const parley_server_opts *o)
{
    parley_server *s = NULL;
    assert_int_equal(parley_server_create(&s, o), PARLEY_OK);
    assert_int_equal(parley_server_add_program(s, &prog_v1), PARLEY_OK);
    assert_int_equal(parley_server_add_program(s, &prog_v2), PARLEY_OK);
    return s;
}

static parley_server *new_server(void)
{
    return new_server_opts(NULL);
}

/* ---- creating ------------------------------------------------------------- */

/* fail_each_in_create makes each call f wraps in parley_server_create fail in turn,
 * with errno (or error number) err, and checks that create returns want,
 * writes nothing and holds nothing; returns how many calls there were. */
static int fail_each_in_create(fault *f, int err, int want)
{
    int fds = open_fds();
    for (int k = 0;; k++) {
        parley_server *s = NULL;
        inject(f, k, 1, err);
        int rc = parley_server_create(&s, NULL);
        int fired = atomic_load(&f->fired);
        clear_faults();
        if (!fired) {
            assert_int_equal(rc, PARLEY_OK);
            parley_server_destroy(s);
            assert_int_equal(open_fds(), fds);
            return k;
        }
        print_message("call %d failing: %s\n", k + 1, parley_errname(rc));
        assert_int_equal(rc, want);
        assert_null(s);
        assert_int_equal(open_fds(), fds);
    }
}

static void test_create_fails_cleanly_when_the_system_refuses_it_anything(void **state)
{
    (void)state;
    /* a mutex without resources: out of memory, as the system says */
    assert_true(fail_each_in_create(&f_mutex, EAGAIN, PARLEY_ERR_NOMEM) >= 1);
    assert_true(fail_each_in_create(&f_mutex, ENOMEM, PARLEY_ERR_NOMEM) >= 1);
    /* descriptors: the epoll instance, the eventfd, its registration */
    assert_int_equal(fail_each_in_create(&f_epoll_create1, EMFILE, PARLEY_ERR_IO), 1);
    assert_int_equal(fail_each_in_create(&f_eventfd, EMFILE, PARLEY_ERR_IO), 1);
    assert_int_equal(fail_each_in_create(&f_epoll_ctl, ENOSPC, PARLEY_ERR_IO), 1);
    assert_true(fail_each_in_create(&f_alloc, 0, PARLEY_ERR_NOMEM) >= 1);
}

/* Arguments that cannot be right are refused before anything is done. */
static void test_null_arguments_are_refused(void **state)
{
    (void)state;
    assert_int_equal(parley_server_create(NULL, NULL), PARLEY_ERR_INVALID);
    parley_server *s = new_server();
    assert_int_equal(parley_server_add_program(NULL, &prog_v1), PARLEY_ERR_INVALID);
    assert_int_equal(parley_server_add_program(s, NULL), PARLEY_ERR_INVALID);
    assert_int_equal(parley_server_listen(NULL, "tcp://127.0.0.1:0", NULL, 0), PARLEY_ERR_INVALID);
    assert_int_equal(parley_server_listen(s, NULL, NULL, 0), PARLEY_ERR_INVALID);
    parley_server_destroy(s);
}

/* ---- listening ------------------------------------------------------------ */

/* A listen that fails at its last step, the socket's registration with
 * epoll, leaves nothing: no descriptor, no socket file, and no address
 * that parley_server_register would advertise. */
static void test_a_listen_that_cannot_be_armed_leaves_nothing_behind(void **state)
{
    (void)state;
    parley_server *s = new_server();
    int fds = open_fds();
    char path[128], unix_addr[160];
    snprintf(path, sizeof path, "%s/s", dir);
    snprintf(unix_addr, sizeof unix_addr, "unix://%s", path);
    const char *const addrs[] = {"tcp://127.0.0.1:0", "udp://127.0.0.1:0", unix_addr};
    for (size_t i = 0; i < 3; i++) {
        inject(&f_epoll_ctl, 0, 1, ENOSPC);
        assert_int_equal(parley_server_listen(s, addrs[i], NULL, 0), PARLEY_ERR_IO);
        assert_int_equal(atomic_load(&f_epoll_ctl.fired), 1);
        assert_int_equal(open_fds(), fds);
    }
    assert_false(exists(path));
    /* nothing to advertise: no address yet */
    assert_int_equal(parley_server_register(s, "svc"), PARLEY_ERR_INVALID);
    assert_int_equal(nentries, 0);

    /* the address that works is the only one registered, once per version */
    char bound[128];
    assert_int_equal(parley_server_listen(s, "tcp://127.0.0.1:0", bound, sizeof bound), PARLEY_OK);
    assert_int_equal(parley_server_register(s, "svc"), PARLEY_OK);
    assert_int_equal(nentries, 2);
    for (size_t i = 0; i < nentries; i++) {
        assert_int_equal(table[i].socktype, SOCK_STREAM);
        assert_int_equal(port_in(&table[i].sa), port_of(bound));
    }
    parley_server_destroy(s);
    assert_int_equal(nentries, 0);
}

/* Every other step of a listen that can fail leaves nothing either. */
static void test_a_listen_that_fails_anywhere_leaves_nothing_behind(void **state)
{
    (void)state;
    parley_server *s = new_server();
    int fds = open_fds();
    char path[128], unix_addr[160];
    snprintf(path, sizeof path, "%s/s", dir);
    snprintf(unix_addr, sizeof unix_addr, "unix://%s", path);

    /* the listening socket's mutex */
    inject(&f_mutex, 0, 1, EAGAIN);
    assert_int_equal(parley_server_listen(s, unix_addr, NULL, 0), PARLEY_ERR_NOMEM);
    assert_int_equal(atomic_load(&f_mutex.fired), 1);
    /* each allocation in turn */
    for (int k = 0;; k++) {
        inject(&f_alloc, k, 1, 0);
        int rc = parley_server_listen(s, unix_addr, NULL, 0);
        int fired = atomic_load(&f_alloc.fired);
        clear_faults();
        if (!fired) {
            assert_int_equal(rc, PARLEY_OK);
            break;
        }
        assert_int_equal(rc, PARLEY_ERR_NOMEM);
        assert_false(exists(path));
        assert_int_equal(open_fds(), fds);
    }
    parley_server_destroy(s);
    assert_false(exists(path));

    /* the mode of a Unix socket's file: refused, or failed */
    s = new_server();
    fds = open_fds();
    parley_listen_opts o = {.unix_mode = 0666};
    inject(&f_chmod, 0, 1, EPERM);
    assert_int_equal(parley_server_listen_opts(s, unix_addr, &o, NULL, 0), PARLEY_ERR_DENIED);
    inject(&f_chmod, 0, 1, EIO);
    assert_int_equal(parley_server_listen_opts(s, unix_addr, &o, NULL, 0), PARLEY_ERR_IO);
    assert_false(exists(path));
    assert_int_equal(open_fds(), fds);
    /* a name that does not resolve */
    inject(&f_getaddrinfo, 0, 1, EAI_NONAME);
    assert_int_equal(parley_server_listen(s, "tcp://127.0.0.1:0", NULL, 0), PARLEY_ERR_RESOLVE);
    assert_int_equal(parley_server_register(s, "svc"), PARLEY_ERR_INVALID);
    parley_server_destroy(s);
}

/* An address that is not this host's is PARLEY_ERR_ADDRESS (192.0.2.1 is
 * TEST-NET-1, on no interface). */
static void test_listening_at_an_address_of_another_host_is_refused(void **state)
{
    (void)state;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_nonlocal_bind", "r");
    int nonlocal = 0;
    if (f) {
        if (fscanf(f, "%d", &nonlocal) != 1)
            nonlocal = 0;
        fclose(f);
    }
    if (nonlocal) {
        print_message("ip_nonlocal_bind is set: any address binds, not tested\n");
        return;
    }
    parley_server *s = new_server();
    assert_int_equal(parley_server_listen(s, "tcp://192.0.2.1:0", NULL, 0), PARLEY_ERR_ADDRESS);
    assert_int_equal(parley_server_listen(s, "udp://192.0.2.1:0", NULL, 0), PARLEY_ERR_ADDRESS);
    parley_server_destroy(s);
}

/* listen_as_nobody runs listen on addr in a child that dropped to nobody (65534)
 * when it was root, and returns listen's result. */
static int listen_as_nobody(const char *addr)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
            _exit(100);
        if (geteuid() == 0)
            _exit(101);
        parley_server *s = NULL;
        if (parley_server_create(&s, NULL) != PARLEY_OK)
            _exit(102);
        int rc = parley_server_listen(s, addr, NULL, 0);
        parley_server_destroy(s);
        _exit(rc);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* What only privileges allow is PARLEY_ERR_DENIED: a socket file in a
 * folder the process may not write (the folder is root's, mode 0700; a
 * test not run as root takes the write permission off its own), and a
 * port below the system's first unprivileged one. */
static void test_listening_without_the_privileges_is_denied(void **state)
{
    (void)state;
    char addr[160];
    snprintf(addr, sizeof addr, "unix://%s/s", dir);
    assert_int_equal(chmod(dir, geteuid() == 0 ? 0700 : 0500), 0);
    int rc = listen_as_nobody(addr);
    assert_int_equal(chmod(dir, 0700), 0);
    if (rc == 100) {
        print_message("cannot become nobody here: not tested\n");
        return;
    }
    assert_int_equal(rc, PARLEY_ERR_DENIED);

    unsigned first = 1024;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "r");
    if (f) {
        if (fscanf(f, "%u", &first) != 1)
            first = 1024;
        fclose(f);
    }
    if (first <= 1) {
        print_message("every port is unprivileged here: ports not tested\n");
        return;
    }
    assert_int_equal(listen_as_nobody("tcp://127.0.0.1:1"), PARLEY_ERR_DENIED);
}

/* ---- serving -------------------------------------------------------------- */

/* A connection that cannot be given a mutex is closed unanswered, and the
 * server goes on serving. */
static void test_a_connection_the_server_cannot_set_up_is_closed(void **state)
{
    (void)state;
    parley_server *s = new_server();
    char bound[128];
    assert_int_equal(parley_server_listen(s, "tcp://127.0.0.1:0", bound, sizeof bound), PARLEY_OK);
    int fd = tcp_client(port_of(bound));
    inject(&f_mutex, 0, 1, EAGAIN);
    assert_int_equal(call_who(s, fd), 0);
    assert_int_equal(atomic_load(&f_mutex.fired), 1);
    close(fd);
    fd = tcp_client(port_of(bound));
    assert_int_equal(call_who(s, fd), 1);
    close(fd);
    parley_server_destroy(s);
}

/* What the kernel will not tell a procedure is PARLEY_ERR_IO: a stream's
 * local address (getsockname) and a Unix peer's credentials
 * (SO_PEERCRED, asked at accept). */
static void test_what_the_kernel_does_not_tell_a_procedure_is_an_io_error(void **state)
{
    (void)state;
    char path[128], addr[160];
    snprintf(path, sizeof path, "%s/s", dir);
    snprintf(addr, sizeof addr, "unix://%s", path);
    parley_server *s = new_server();
    assert_int_equal(parley_server_listen(s, addr, NULL, 0), PARLEY_OK);
    int fd = unix_client(path);
    inject(&f_getsockopt, 0, -1, ENOBUFS);
    inject(&f_getsockname, 0, -1, ENOBUFS);
    who_calls = 0;
    assert_int_equal(call_who(s, fd), 1);
    clear_faults();
    assert_int_equal(who_calls, 1);
    assert_int_equal(who_local_rc, PARLEY_ERR_IO);
    assert_int_equal(who_ids_rc, PARLEY_ERR_IO);
    close(fd);
    parley_server_destroy(s);
}

/* Memory that runs out: parley_server_add_program, _run and _poll say
 * PARLEY_ERR_NOMEM, at each of their allocations, and leave the server
 * as it was. */
static void test_running_out_of_memory_is_reported_and_leaves_the_server_whole(void **state)
{
    (void)state;
    parley_server *s = NULL;
    assert_int_equal(parley_server_create(&s, NULL), PARLEY_OK);
    inject(&f_alloc, 0, -1, 0);
    assert_int_equal(parley_server_add_program(s, &prog_v1), PARLEY_ERR_NOMEM);
    clear_faults();
    assert_int_equal(parley_server_add_program(s, &prog_v1), PARLEY_OK);
    assert_int_equal(parley_server_add_program(s, &prog_v1), PARLEY_ERR_INVALID); /* added once */

    int allocs = 0;
    for (int k = 0;; k++, allocs++) {
        inject(&f_alloc, k, 1, 0);
        int rc = parley_server_poll(s, 0);
        int fired = atomic_load(&f_alloc.fired);
        clear_faults();
        if (!fired) {
            assert_int_equal(rc, PARLEY_OK);
            break;
        }
        assert_int_equal(rc, PARLEY_ERR_NOMEM);
    }
    assert_true(allocs >= 1);
    parley_server_destroy(s);

    parley_server_opts o = {.threads = 2};
    assert_int_equal(parley_server_create(&s, &o), PARLEY_OK);
    parley_server_stop(s); /* so that a run that starts returns at once */
    allocs = 0;
    for (int k = 0;; k++, allocs++) {
        inject(&f_alloc, k, 1, 0);
        int rc = parley_server_run(s);
        int fired = atomic_load(&f_alloc.fired);
        clear_faults();
        if (!fired) {
            assert_int_equal(rc, PARLEY_OK);
            break;
        }
        assert_int_equal(rc, PARLEY_ERR_NOMEM);
    }
    assert_true(allocs >= 2);
    parley_server_destroy(s);
}

/* ---- re-arming ------------------------------------------------------------ */

/* A socket whose one-shot event fired is read by one thread, which re-arms
 * it with epoll_ctl's MOD; here those MODs fail (ENOMEM), aimed at the one
 * socket each case is about. */

/* tcp_connect_error connects to port on the loopback: 0, or the errno. */
static int tcp_connect_error(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int err = connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0 ? 0 : errno;
    close(fd);
    return err;
}

/* A listener whose re-arm fails keeps accepting: the MOD is tried again,
 * then the registration made anew. One that cannot be armed at all is
 * shut down, so that its clients are refused at once rather than queued
 * for an accept that never comes. */
static void test_a_listener_whose_rearm_fails_keeps_accepting(void **state)
{
    (void)state;
    parley_server *s = new_server();
    char bound[128];
    assert_int_equal(parley_server_listen(s, "tcp://127.0.0.1:0", bound, sizeof bound), PARLEY_OK);
    int lfd = atomic_load(&added_fd);
    uint16_t port = port_of(bound);

    /* the re-arm after the accept fails twice, then works */
    aim_epoll(EPOLL_CTL_MOD, lfd);
    inject(&f_epoll_ctl, 0, 2, ENOMEM);
    int fd = tcp_client(port);
    assert_int_equal(call_who(s, fd), 1);
    close(fd);
    fd = tcp_client(port);
    assert_int_equal(call_who(s, fd), 1);
    close(fd);
    assert_int_equal(atomic_load(&f_epoll_ctl.fired), 2);

    /* every MOD fails: a new registration each time */
    inject(&f_epoll_ctl, 0, -1, ENOMEM);
    for (int i = 0; i < 3; i++) {
        fd = tcp_client(port);
        assert_int_equal(call_who(s, fd), 1);
        close(fd);
    }
    assert_true(atomic_load(&f_epoll_ctl.fired) >= 3);

    /* nothing works on the listener: the connection accepted is served,
     * the next one refused */
    aim_epoll(0, lfd);
    inject(&f_epoll_ctl, 0, -1, ENOMEM);
    fd = tcp_client(port);
    assert_int_equal(call_who(s, fd), 1);
    clear_faults();
    assert_int_equal(tcp_connect_error(port), ECONNREFUSED);
    assert_int_equal(call_who(s, fd), 1); /* and its connections go on */
    close(fd);
    parley_server_destroy(s);
}

/* A UDP socket whose re-arm fails keeps answering, in the same ways; one
 * that cannot be armed at all refuses its callers' datagrams (ICMP port
 * unreachable), so that they do not send them again until their
 * deadlines. */
static void test_a_udp_socket_whose_rearm_fails_keeps_answering(void **state)
{
    (void)state;
    parley_server *s = new_server();
    char bound[128];
    assert_int_equal(parley_server_listen(s, "udp://127.0.0.1:0", bound, sizeof bound), PARLEY_OK);
    int ufd = atomic_load(&added_fd);
    int fd = udp_client(port_of(bound));

    aim_epoll(EPOLL_CTL_MOD, ufd);
    inject(&f_epoll_ctl, 0, 2, ENOMEM);
    assert_int_equal(call_on(s, fd, 1), 1);
    assert_int_equal(call_on(s, fd, 1), 1);
    assert_int_equal(atomic_load(&f_epoll_ctl.fired), 2);

    inject(&f_epoll_ctl, 0, -1, ENOMEM);
    for (int i = 0; i < 3; i++)
        assert_int_equal(call_on(s, fd, 1), 1);
    assert_true(atomic_load(&f_epoll_ctl.fired) >= 3);

    /* nothing works on the socket: the datagram read is answered, the
     * next one refused */
    aim_epoll(0, ufd);
    inject(&f_epoll_ctl, 0, -1, ENOMEM);
    assert_int_equal(call_on(s, fd, 1), 1);
    clear_faults();
    assert_int_equal(call_on(s, fd, 1), 0);
    close(fd);
    parley_server_destroy(s);
}

/* send_calls sends n WHO calls at once on the stream fd. */
static void send_calls(int fd, int n)
{
    static uint8_t buf[1024 * 64];
    size_t len = 0;
    assert_true(n <= 1024);
    for (int i = 0; i < n; i++)
        len += encode_who(buf + len, sizeof buf - len, ++next_xid, 1);
    assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* blocked_client connects to port with a small receive buffer and sends
 * calls, a few at a time and reading no reply, until the server's replies
 * wait for it (the server asks for EPOLLOUT); *cfd is the server's end of
 * the connection. */
static int blocked_client(parley_server *s, uint16_t port, int *cfd)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    int small = 4096, one = 1;
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    assert_int_equal(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(call_who(s, fd), 1); /* accepted */
    *cfd = atomic_load(&added_fd);
    int before = atomic_load(&added_out);
    for (int i = 0; i < 100000 && atomic_load(&added_out) == before; i++) {
        send_calls(fd, 16);
        assert_int_equal(parley_server_poll(s, 10), PARLEY_OK);
    }
    assert_int_not_equal(atomic_load(&added_out), before);
    return fd;
}

/* drain_to_end reads what the stream fd brings, running the server, until
 * its end: 1, or 0 when it has not ended after about 5 s of quiet. */
static int drain_to_end(parley_server *s, int fd)
{
    for (int quiet = 0; quiet < 500;) {
        assert_int_equal(parley_server_poll(s, 10), PARLEY_OK);
        uint8_t buf[65536];
        ssize_t got = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (got == 0 || (got < 0 && errno == ECONNRESET))
            return 1;
        if (got < 0)
            quiet++;
        else
            quiet = 0;
    }
    return 0;
}

/* served_after_end says whether a new client on port is served once the
 * server has handled what the end of the last connection left (on a server
 * of one connection at most, only once that one is freed). */
static int served_after_end(parley_server *s, uint16_t port)
{
    for (int i = 0; i < 4; i++)
        assert_int_equal(parley_server_poll(s, 0), PARLEY_OK);
    int fd = tcp_client(port);
    int rc = call_who(s, fd);
    close(fd);
    return rc;
}

/* A connection whose re-arm fails is ended, wherever the re-arm is: the
 * client sees its end, and the connection is freed (the server takes one
 * connection at most, and serves the next): after a read; after a wake-up
 * that found nothing to read; when the replies that kept it from being
 * read are all out; and when they are given up. */
static void test_a_connection_whose_rearm_fails_is_ended_and_freed(void **state)
{
    (void)state;
    parley_server_opts o = {.max_conns = 1, .max_queued = 16384};
    parley_server *s = new_server_opts(&o);
    char bound[128];
    assert_int_equal(parley_server_listen(s, "tcp://127.0.0.1:0", bound, sizeof bound), PARLEY_OK);
    uint16_t port = port_of(bound);

    /* after a read: its reply is dropped */
    int fd = tcp_client(port);
    assert_int_equal(call_who(s, fd), 1);
    aim_epoll(EPOLL_CTL_MOD, atomic_load(&added_fd));
    inject(&f_epoll_ctl, 0, 1, ENOMEM);
    assert_int_equal(call_who(s, fd), 0);
    assert_int_equal(atomic_load(&f_epoll_ctl.fired), 1);
    clear_faults();
    close(fd);
    assert_int_equal(served_after_end(s, port), 1);

    /* after a wake-up with nothing to read (asked for here: a writable
     * socket wakes its reader at once) */
    fd = tcp_client(port);
    assert_int_equal(call_who(s, fd), 1);
    int cfd = atomic_load(&added_fd);
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLONESHOT};
    ev.data.ptr = atomic_load(&added_ptr);
    aim_epoll(EPOLL_CTL_MOD, cfd);
    inject(&f_epoll_ctl, 0, -1, ENOMEM);
    assert_int_equal(__real_epoll_ctl(parley_server_fd(s), EPOLL_CTL_MOD, cfd, &ev), 0);
    assert_int_equal(drain_to_end(s, fd), 1);
    assert_int_equal(atomic_load(&f_epoll_ctl.fired), 1);
    clear_faults();
    close(fd);
    assert_int_equal(served_after_end(s, port), 1);

    /* when its replies are all out: one more read waits for them (the
     * server does not re-arm it), then the client takes them */
    fd = blocked_client(s, port, &cfd);
    aim_epoll(EPOLL_CTL_MOD, cfd);
    inject(&f_epoll_ctl, 0, -1, ENOMEM);
    send_calls(fd, 16);
    assert_int_equal(parley_server_poll(s, 10), PARLEY_OK);
    assert_int_equal(atomic_load(&f_epoll_ctl.fired), 0);
    assert_int_equal(drain_to_end(s, fd), 1);
    assert_int_equal(atomic_load(&f_epoll_ctl.fired), 1);
    clear_faults();
    close(fd);
    assert_int_equal(served_after_end(s, port), 1);

    /* when they are given up: the read that waits brings more replies than
     * max_queued (1024 calls, 44 KiB sent at once, which one read of the
     * loopback takes whole) */
    fd = blocked_client(s, port, &cfd);
    aim_epoll(EPOLL_CTL_MOD, cfd);
    inject(&f_epoll_ctl, 0, -1, ENOMEM);
    send_calls(fd, 1024);
    assert_int_equal(drain_to_end(s, fd), 1);
    assert_int_equal(atomic_load(&f_epoll_ctl.fired), 1);
    clear_faults();
    close(fd);
    assert_int_equal(served_after_end(s, port), 1);
    parley_server_destroy(s);
}

/* ---- registering ---------------------------------------------------------- */

/* A registration that fails part-way is taken back whole, and says why:
 * the matchmaker's refusals and failures to reach it come back as they
 * are, a listening socket whose address cannot be read is PARLEY_ERR_IO. */
static void test_a_registration_that_fails_leaves_nothing_registered(void **state)
{
    (void)state;
    parley_server *s = new_server();
    assert_int_equal(parley_server_listen(s, "tcp://127.0.0.1:0", NULL, 0), PARLEY_OK);
    assert_int_equal(parley_server_listen(s, "udp://127.0.0.1:0", NULL, 0), PARLEY_OK);
    static const int refusals[] = {PARLEY_ERR_NOT_LOCAL, PARLEY_ERR_NOT_OWNER,
                                   PARLEY_ERR_NAME_HELD, PARLEY_ERR_TABLE_FULL,
                                   PARLEY_ERR_REFUSED,   PARLEY_ERR_TIMEDOUT};
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        mm_fail_at = 3; /* the UDP socket's first */
        mm_err = refusals[i];
        assert_int_equal(parley_server_register(s, "svc"), refusals[i]);
        assert_int_equal(nentries, 0);
    }
    mm_fail_at = 0;
    inject(&f_getsockname, 1, 1, ENOBUFS); /* the second socket's */
    assert_int_equal(parley_server_register(s, "svc"), PARLEY_ERR_IO);
    clear_faults();
    assert_int_equal(nentries, 0);

    /* all of it, then none of it */
    assert_int_equal(parley_server_register(s, "svc"), PARLEY_OK);
    assert_int_equal(nentries, 4);
    assert_int_equal(parley_server_unregister(s), PARLEY_OK);
    assert_int_equal(nentries, 0);
    assert_int_equal(parley_server_unregister(s), PARLEY_OK); /* nothing registered */
    /* a matchmaker that fails to unregister: its error, and nothing left to retry */
    assert_int_equal(parley_server_register(s, "svc"), PARLEY_OK);
    mm_unreg_err = PARLEY_ERR_TIMEDOUT;
    assert_int_equal(parley_server_unregister(s), PARLEY_ERR_TIMEDOUT);
    mm_unreg_err = PARLEY_OK;
    assert_int_equal(parley_server_unregister(s), PARLEY_OK);
    assert_int_equal(parley_server_unregister(NULL), PARLEY_ERR_INVALID);
    assert_int_equal(parley_server_register(NULL, "svc"), PARLEY_ERR_INVALID);
    assert_int_equal(parley_server_register(s, NULL), PARLEY_ERR_INVALID);
    parley_server_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_create_fails_cleanly_when_the_system_refuses_it_anything, reset, reset),
        cmocka_unit_test_setup_teardown(test_null_arguments_are_refused, reset, reset),
        cmocka_unit_test_setup_teardown(test_a_listen_that_cannot_be_armed_leaves_nothing_behind,
                                        make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_a_listen_that_fails_anywhere_leaves_nothing_behind,
                                        make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_listening_at_an_address_of_another_host_is_refused,
                                        reset, reset),
        cmocka_unit_test_setup_teardown(test_listening_without_the_privileges_is_denied, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(test_a_connection_the_server_cannot_set_up_is_closed, reset,
                                        reset),
        cmocka_unit_test_setup_teardown(
            test_what_the_kernel_does_not_tell_a_procedure_is_an_io_error, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(
            test_running_out_of_memory_is_reported_and_leaves_the_server_whole, reset, reset),
        cmocka_unit_test_setup_teardown(test_a_listener_whose_rearm_fails_keeps_accepting, reset,
                                        reset),
        cmocka_unit_test_setup_teardown(test_a_udp_socket_whose_rearm_fails_keeps_answering, reset,
                                        reset),
        cmocka_unit_test_setup_teardown(test_a_connection_whose_rearm_fails_is_ended_and_freed,
                                        reset, reset),
        cmocka_unit_test_setup_teardown(test_a_registration_that_fails_leaves_nothing_registered,
                                        reset, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
