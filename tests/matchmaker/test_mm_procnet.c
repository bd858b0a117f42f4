/*
 * tests/matchmaker/test_mm_procnet.c: liveness and ownership of local
 * sockets from /proc/net (matchmaker/procnet.c).
 *
 * Most cases run against fixture tables written into a temporary directory
 * in the kernel's format, with addresses printed the kernel's way on this
 * host (each 32-bit word of the address as a native integer), so the same
 * fixtures hold on either byte order; one case pins the literal text a
 * little-endian kernel prints. Malformed, over-long, NUL-bearing and cut
 * lines must be skipped rather than guessed at. The last cases read the
 * real /proc with sockets the test opens itself on 127.0.0.1, ::1 and a
 * Unix path, and, when run as root, with a socket of another user made by a
 * child process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "procnet.h"

/* ---- fixtures ------------------------------------------------------------- */

static char root[64];

static int make_root(void **state)
{
    (void)state;
    strcpy(root, "/tmp/mm-procnet-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    char net[128];
    snprintf(net, sizeof net, "%s/net", root);
    return mkdir(net, 0700);
}

static int remove_root(void **state)
{
    (void)state;
    static const char *names[] = {"net/tcp", "net/tcp6", "net/udp",  "net/udp6", "net/unix",
                                  "s.sock",  "d.sock",   "a b.sock", "plain",    "net"};
    char path[160];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", root, names[i]);
        if (unlink(path) != 0)
            rmdir(path);
    }
    return rmdir(root);
}

static const char *in_root(const char *name)
{
    static char path[160];
    snprintf(path, sizeof path, "%s/%s", root, name);
    return path;
}

/* A table being written: text and length (it may hold NUL bytes). */
typedef struct table {
    char text[32768];
    size_t n;
} table;

static void add(table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(table *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(t->text + t->n, sizeof t->text - t->n, fmt, ap);
    va_end(ap);
    assert_true(k >= 0 && (size_t)k < sizeof t->text - t->n);
    t->n += (size_t)k;
}

static void put_table(const char *name, const table *t)
{
    char path[160];
    snprintf(path, sizeof path, "%s/net/%s", root, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(t->text, 1, t->n, f), t->n);
    assert_int_equal(fclose(f), 0);
}

/* kernel_hex writes an address as the kernel prints it: each 32-bit word of
 * its bytes as a native integer, in hex. */
static void kernel_hex(char *out, const char *ip)
{
    uint8_t b[16];
    int words;
    if (strchr(ip, ':')) {
        assert_int_equal(inet_pton(AF_INET6, ip, b), 1);
        words = 4;
    } else {
        assert_int_equal(inet_pton(AF_INET, ip, b), 1);
        words = 1;
    }
    for (int i = 0; i < words; i++) {
        uint32_t w;
        memcpy(&w, b + 4 * i, 4);
        sprintf(out + 8 * i, "%08X", w);
    }
}

static const char inet_header[] = "  sl  local_address rem_address   st tx_queue rx_queue tr "
                                  "tm->when retrnsmt   uid  timeout inode\n";

/* inet_line adds one socket to a TCP or UDP table. */
static void inet_line(table *t, const char *lip, unsigned lport, const char *rip, unsigned rport,
                      unsigned st, unsigned uid)
{
    static int sl;
    char l[33], r[33];
    kernel_hex(l, lip);
    kernel_hex(r, rip);
    sl++;
    add(t,
        "%4d: %s:%04X %s:%04X %02X 00000000:00000000 00:00000000 00000000 %5u        0 %d 1 "
        "0000000000000000 100 0 0 10 0\n",
        sl % 1000, l, lport, r, rport, st, uid, 10000 + sl);
}

static const char unix_header[] = "Num       RefCount Protocol Flags    Type St Inode Path\n";

/* unix_line adds one socket to the Unix table (path NULL: unbound). */
static void unix_line(table *t, unsigned flags, unsigned type, unsigned st, const char *path)
{
    add(t, "0000000000000000: 00000002 00000000 %08X %04X %02X %5u%s%s\n", flags, type, st, 31337u,
        path ? " " : "", path ? path : "");
}

static struct sockaddr_storage sa_ip(const char *ip, unsigned port, socklen_t *len)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
        *len = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
        *len = sizeof *s4;
    }
    return ss;
}

static struct sockaddr_un sa_unix(const char *path, socklen_t *len)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
    return sun;
}

/* listening answers (a) for an IP address, or fails the test. */
static int listening(const char *r, int socktype, const char *ip, unsigned port, uid_t uid)
{
    socklen_t len;
    struct sockaddr_storage ss = sa_ip(ip, port, &len);
    int found = -1;
    int rc = mm_procnet_listening(r, (struct sockaddr *)&ss, len, socktype, uid, &found);
    if (rc != 0)
        fail_msg("%s port %u: %s", ip, port, strerror(rc));
    return found;
}

static int unix_listening(const char *path, int socktype, uid_t uid)
{
    socklen_t len;
    struct sockaddr_un sun = sa_unix(path, &len);
    int found = -1;
    int rc = mm_procnet_listening(root, (struct sockaddr *)&sun, len, socktype, uid, &found);
    if (rc != 0)
        fail_msg("%s: %s", path, strerror(rc));
    return found;
}

/* owner answers (b); remote_ip NULL for any peer. Returns the errno, and
 * the uid through *uid. */
static int owner(const char *r, int socktype, const char *ip, unsigned port, const char *remote_ip,
                 unsigned remote_port, uid_t *uid)
{
    socklen_t len, rlen = 0;
    struct sockaddr_storage l = sa_ip(ip, port, &len), rem;
    if (remote_ip)
        rem = sa_ip(remote_ip, remote_port, &rlen);
    return mm_procnet_owner(r, socktype, (struct sockaddr *)&l, len,
                            remote_ip ? (struct sockaddr *)&rem : NULL, rlen, uid);
}

enum { ESTABLISHED = 0x01, TIME_WAIT = 0x06, CLOSE = 0x07, LISTEN = 0x0A };

/* empty_tables writes every table with its header only. */
static void empty_tables(void)
{
    table t = {.n = 0};
    add(&t, "%s", inet_header);
    put_table("tcp", &t);
    put_table("tcp6", &t);
    put_table("udp", &t);
    put_table("udp6", &t);
    table u = {.n = 0};
    add(&u, "%s", unix_header);
    put_table("unix", &u);
}

/* ---- (a) listening, from fixtures ----------------------------------------- */

static void test_a_listening_tcp_socket_is_found_by_address_port_and_owner(void **state)
{
    (void)state;
    empty_tables();
    static table t;
    t.n = 0;
    add(&t, "%s", inet_header);
    inet_line(&t, "127.0.0.1", 4000, "0.0.0.0", 0, LISTEN, 1000);
    inet_line(&t, "127.0.0.1", 4001, "127.0.0.1", 111, ESTABLISHED, 1000);
    put_table("tcp", &t);
    assert_true(listening(root, SOCK_STREAM, "127.0.0.1", 4000, 1000));
    assert_true(listening(root, SOCK_STREAM, "127.0.0.1", 4000, MM_PROCNET_ANY_OWNER));
    assert_false(listening(root, SOCK_STREAM, "127.0.0.1", 4000, 1001));
    assert_false(listening(root, SOCK_STREAM, "127.0.0.1", 4000, 0));
    assert_false(listening(root, SOCK_STREAM, "127.0.0.1", 4002, 1000));
    assert_false(listening(root, SOCK_STREAM, "10.0.0.1", 4000, 1000));
    assert_false(listening(root, SOCK_STREAM, "::1", 4000, 1000));
    /* a registered wildcard address is served by any socket of its port */
    assert_true(listening(root, SOCK_STREAM, "0.0.0.0", 4000, 1000));
    /* connected, not listening */
    assert_false(listening(root, SOCK_STREAM, "127.0.0.1", 4001, 1000));
    /* and TCP is not UDP */
    assert_false(listening(root, SOCK_DGRAM, "127.0.0.1", 4000, 1000));
}

static void test_wildcard_and_ipv6_sockets_serve_what_they_can_receive(void **state)
{
    (void)state;
    empty_tables();
    static table t4, t6;
    t4.n = t6.n = 0;
    add(&t4, "%s", inet_header);
    add(&t6, "%s", inet_header);
    inet_line(&t4, "0.0.0.0", 5000, "0.0.0.0", 0, LISTEN, 1000);
    inet_line(&t6, "::", 6000, "::", 0, LISTEN, 1000);
    inet_line(&t6, "::ffff:127.0.0.1", 7000, "::", 0, LISTEN, 1000);
    inet_line(&t6, "::1", 8000, "::", 0, LISTEN, 1000);
    put_table("tcp", &t4);
    put_table("tcp6", &t6);
    /* 0.0.0.0 serves every IPv4 address, no IPv6 one */
    assert_true(listening(root, SOCK_STREAM, "127.0.0.1", 5000, 1000));
    assert_true(listening(root, SOCK_STREAM, "192.0.2.7", 5000, 1000));
    assert_true(listening(root, SOCK_STREAM, "::ffff:127.0.0.1", 5000, 1000));
    assert_false(listening(root, SOCK_STREAM, "::1", 5000, 1000));
    /* :: is taken to be dual-stack */
    assert_true(listening(root, SOCK_STREAM, "127.0.0.1", 6000, 1000));
    assert_true(listening(root, SOCK_STREAM, "::1", 6000, 1000));
    assert_true(listening(root, SOCK_STREAM, "::", 6000, 1000));
    /* a v4-mapped socket address is the IPv4 address */
    assert_true(listening(root, SOCK_STREAM, "127.0.0.1", 7000, 1000));
    assert_true(listening(root, SOCK_STREAM, "0.0.0.0", 7000, 1000));
    assert_false(listening(root, SOCK_STREAM, "127.0.0.2", 7000, 1000));
    /* ::1 serves only ::1, and a registered :: */
    assert_true(listening(root, SOCK_STREAM, "::1", 8000, 1000));
    assert_true(listening(root, SOCK_STREAM, "::", 8000, 1000));
    assert_false(listening(root, SOCK_STREAM, "127.0.0.1", 8000, 1000));
    assert_false(listening(root, SOCK_STREAM, "0.0.0.0", 8000, 1000));
    assert_false(listening(root, SOCK_STREAM, "::2", 8000, 1000));
}

static void test_udp_sockets_serve_when_unconnected(void **state)
{
    (void)state;
    empty_tables();
    static table t;
    t.n = 0;
    add(&t, "%s", inet_header);
    inet_line(&t, "127.0.0.1", 2049, "0.0.0.0", 0, CLOSE, 0);
    inet_line(&t, "127.0.0.1", 2050, "127.0.0.1", 53, ESTABLISHED, 0);
    put_table("udp", &t);
    assert_true(listening(root, SOCK_DGRAM, "127.0.0.1", 2049, 0));
    assert_false(listening(root, SOCK_DGRAM, "127.0.0.1", 2049, 1));
    assert_false(listening(root, SOCK_DGRAM, "127.0.0.1", 2050, 0));
    assert_false(listening(root, SOCK_STREAM, "127.0.0.1", 2049, 0));
}

static void test_the_table_as_a_little_endian_kernel_prints_it(void **state)
{
    (void)state;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    empty_tables();
    static table t;
    t.n = 0;
    add(&t, "%s", inet_header);
    add(&t, "   0: 0100007F:0FA0 00000000:0000 0A 00000000:00000000 00:00000000 00000000  "
            "1000        0 23456 1 0000000000000000 100 0 0 10 0\n");
    put_table("tcp", &t);
    static table t6;
    t6.n = 0;
    add(&t6, "%s", inet_header);
    /* ::1 port 2049, and ::ffff:10.0.0.1 port 111 */
    add(&t6, "   0: 00000000000000000000000001000000:0801 00000000000000000000000000000000:0000 "
             "0A 00000000:00000000 00:00000000 00000000     0        0 34567 1 "
             "0000000000000000 100 0 0 10 0\n");
    add(&t6, "   1: 0000000000000000FFFF00000100000A:006F 00000000000000000000000000000000:0000 "
             "0A 00000000:00000000 00:00000000 00000000     7        0 34568 1 "
             "0000000000000000 100 0 0 10 0\n");
    put_table("tcp6", &t6);
    assert_true(listening(root, SOCK_STREAM, "127.0.0.1", 4000, 1000));
    assert_true(listening(root, SOCK_STREAM, "::1", 2049, 0));
    assert_true(listening(root, SOCK_STREAM, "10.0.0.1", 111, 7));
    assert_false(listening(root, SOCK_STREAM, "1.0.0.127", 4000, 1000));
#else
    skip();
#endif
}

static void test_missing_ipv6_tables_are_empty_but_a_missing_ipv4_table_is_an_error(void **state)
{
    (void)state;
    empty_tables();
    static table t;
    t.n = 0;
    add(&t, "%s", inet_header);
    inet_line(&t, "127.0.0.1", 4000, "0.0.0.0", 0, LISTEN, 1000);
    put_table("tcp", &t);
    assert_int_equal(unlink(in_root("net/tcp6")), 0);
    assert_true(listening(root, SOCK_STREAM, "127.0.0.1", 4000, 1000));
    assert_int_equal(unlink(in_root("net/tcp")), 0);
    socklen_t len;
    struct sockaddr_storage ss = sa_ip("127.0.0.1", 4000, &len);
    int found = 7;
    assert_int_equal(
        mm_procnet_listening(root, (struct sockaddr *)&ss, len, SOCK_STREAM, 1000, &found), ENOENT);
    assert_int_equal(found, 7);
    uid_t uid = 7;
    assert_int_equal(owner(root, SOCK_STREAM, "127.0.0.1", 4000, NULL, 0, &uid), ENOENT);
    assert_int_equal(uid, 7);
    assert_int_equal(owner(in_root("nowhere"), SOCK_DGRAM, "127.0.0.1", 4000, NULL, 0, &uid),
                     ENOENT);
    /* a table that is a directory is no table */
    assert_int_equal(mkdir(in_root("net/tcp"), 0700), 0);
    assert_int_equal(owner(root, SOCK_STREAM, "127.0.0.1", 4000, NULL, 0, &uid), EINVAL);
    assert_int_equal(rmdir(in_root("net/tcp")), 0);
}

static void test_malformed_lines_are_skipped_not_guessed_at(void **state)
{
    (void)state;
    empty_tables();
    static table t;
    t.n = 0;
    char l[33], z[33];
    kernel_hex(l, "127.0.0.1");
    kernel_hex(z, "0.0.0.0");
    const char *tail = "00000000:00000000 00:00000000 00000000  1000        0 1 1 0 100 0 0 10 0";
    add(&t, "%s", inet_header);
    add(&t, "garbage\n");
    add(&t, "   0: %s:2328\n", l);                                        /* 9000: too few fields */
    add(&t, "   0: %s0:2329 %s:0000 0A %s\n", l, z, tail);                /* 9001: 9 hex digits */
    add(&t, "   0: %s:232A %s:0000 A %s\n", l, z, tail);                  /* 9002: 1-digit state */
    add(&t, "   0: %s:232B %s:0000 0AA %s\n", l, z, tail);                /* 9003: 3-digit state */
    add(&t, "   0: %s:232C %s:0000 0A 0:0 0:0 0 abc 0 1\n", l, z);        /* 9004: uid */
    add(&t, "   0: %s:232D %s:0000 0A 0:0 0:0 0 4294967295 0 1\n", l, z); /* 9005: uid -1 */
    add(&t, "   0: %s:232E %s:0000 0A 0:0 0:0 0 -1 0 1\n", l, z);         /* 9006: negative uid */
    add(&t, "   0 %s:232F %s:0000 0A %s\n", l, z, tail);   /* 9007: no colon after sl */
    add(&t, "   x: %s:2330 %s:0000 0A %s\n", l, z, tail);  /* 9008: sl not a number */
    add(&t, "   0: %s:2331 %s:00000 0A %s\n", l, z, tail); /* 9009: 5-digit port */
    add(&t, "   0: %s:233G %s:0000 0A %s\n", l, z, tail);  /* not hex */
    add(&t, "   0: %s:2332 %s:0000 0A %s", l, z, tail);    /* 9010: over-long */
    for (int i = 0; i < 500; i++)
        add(&t, " 0000000000");
    add(&t, "\n");
    add(&t, "   0: %s:2333 %s:0000 0A %s", l, z, tail); /* 9011: NUL */
    t.text[t.n++] = '\0';
    add(&t, "\n");
    add(&t, "   0: %s:2334 %s:0000 0A %s\n", l, z, tail); /* 9012: good */
    add(&t, "   0: %s:2335 %s:0000 0A %s", l, z, tail);   /* 9013: no newline */
    put_table("tcp", &t);
    for (unsigned port = 9000; port <= 9013; port++)
        if (listening(root, SOCK_STREAM, "127.0.0.1", port, MM_PROCNET_ANY_OWNER) != (port == 9012))
            fail_msg("port %u", port);
}

/* ---- (a) listening: Unix sockets ------------------------------------------ */

/* bind_unix makes a Unix socket bound at path, listening or not. */
static int bind_unix(const char *path, int type, int do_listen)
{
    int fd = socket(AF_UNIX, type, 0);
    assert_true(fd >= 0);
    socklen_t len;
    struct sockaddr_un sun = sa_unix(path, &len);
    unlink(path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, len), 0);
    if (do_listen)
        assert_int_equal(listen(fd, 4), 0);
    return fd;
}

static void test_a_unix_socket_listens_when_listed_and_its_file_is_the_owners(void **state)
{
    (void)state;
    empty_tables();
    char s[160], d[160], sp[160], gone[160], plain[160];
    snprintf(s, sizeof s, "%s", in_root("s.sock"));
    snprintf(d, sizeof d, "%s", in_root("d.sock"));
    snprintf(sp, sizeof sp, "%s", in_root("a b.sock"));
    snprintf(gone, sizeof gone, "%s", in_root("gone.sock"));
    snprintf(plain, sizeof plain, "%s", in_root("plain"));
    int fs = bind_unix(s, SOCK_STREAM, 0);
    int fd = bind_unix(d, SOCK_DGRAM, 0);
    int fsp = bind_unix(sp, SOCK_STREAM, 0);
    FILE *f = fopen(plain, "w");
    assert_non_null(f);
    fclose(f);
    static table t;
    t.n = 0;
    add(&t, "%s", unix_header);
    unix_line(&t, 0, 1, 1, NULL);              /* unbound */
    unix_line(&t, 0x10000, 1, 1, s);           /* listening stream */
    unix_line(&t, 0, 2, 1, d);                 /* bound datagram */
    unix_line(&t, 0x10000, 1, 1, sp);          /* a path with a space */
    unix_line(&t, 0x10000, 1, 1, gone);        /* listed, but its file is gone */
    unix_line(&t, 0x10000, 1, 1, plain);       /* listed, but not a socket file */
    unix_line(&t, 0x10000, 1, 1, "@abstract"); /* abstract */
    put_table("unix", &t);
    uid_t me = geteuid();
    assert_true(unix_listening(s, SOCK_STREAM, me));
    assert_true(unix_listening(s, SOCK_STREAM, MM_PROCNET_ANY_OWNER));
    assert_false(unix_listening(s, SOCK_STREAM, me + 1));
    assert_false(unix_listening(s, SOCK_DGRAM, me));
    assert_true(unix_listening(d, SOCK_DGRAM, me));
    assert_false(unix_listening(d, SOCK_STREAM, me));
    assert_true(unix_listening(sp, SOCK_STREAM, me));
    assert_false(unix_listening(gone, SOCK_STREAM, MM_PROCNET_ANY_OWNER));
    assert_false(unix_listening(plain, SOCK_STREAM, MM_PROCNET_ANY_OWNER));
    assert_false(unix_listening("/nowhere.sock", SOCK_STREAM, MM_PROCNET_ANY_OWNER));

    /* not listening, connected, or listed with two spaces before the path */
    t.n = 0;
    add(&t, "%s", unix_header);
    unix_line(&t, 0, 1, 1, s);
    unix_line(&t, 0x10000, 1, 3, sp);
    add(&t, "0000000000000000: 00000002 00000000 00010000 0001 01 31337  %s\n", s);
    put_table("unix", &t);
    assert_false(unix_listening(s, SOCK_STREAM, me));
    assert_false(unix_listening(sp, SOCK_STREAM, me));

    /* malformed lines */
    t.n = 0;
    add(&t, "%s", unix_header);
    add(&t, "0000000000000000 00000002 00000000 00010000 0001 01 31337 %s\n", s);  /* no colon */
    add(&t, "0000000000000000: 00000002 00000000 0010000 0001 01 31337 %s\n", s);  /* flags */
    add(&t, "0000000000000000: 00000002 00000000 00010000 001 01 31337 %s\n", s);  /* type */
    add(&t, "0000000000000000: 00000002 00000000 00010000 0001 1 31337 %s\n", s);  /* state */
    add(&t, "0000000000000000: 00000002 00000000 0001000G 0001 01 31337 %s\n", s); /* hex */
    add(&t, "0000000000000000: 00000002 00000000 00010000 0001 01\n");
    put_table("unix", &t);
    assert_false(unix_listening(s, SOCK_STREAM, MM_PROCNET_ANY_OWNER));

    /* the real path's file changing owner does not fool the check */
    t.n = 0;
    add(&t, "%s", unix_header);
    unix_line(&t, 0x10000, 1, 1, s);
    put_table("unix", &t);
    if (me == 0) {
        assert_int_equal(chown(s, 4242, (gid_t)-1), 0);
        assert_false(unix_listening(s, SOCK_STREAM, 0));
        assert_true(unix_listening(s, SOCK_STREAM, 4242));
    }
    close(fs);
    close(fd);
    close(fsp);
}

/* ---- (b) owners, from fixtures -------------------------------------------- */

static void test_the_owner_of_a_tcp_peer_is_its_connected_socket(void **state)
{
    (void)state;
    empty_tables();
    static table t4, t6;
    t4.n = t6.n = 0;
    add(&t4, "%s", inet_header);
    add(&t6, "%s", inet_header);
    inet_line(&t4, "127.0.0.1", 40000, "127.0.0.1", 111, ESTABLISHED, 1000); /* the client */
    inet_line(&t4, "127.0.0.1", 111, "127.0.0.1", 40000, ESTABLISHED, 0);    /* our end */
    inet_line(&t4, "0.0.0.0", 111, "0.0.0.0", 0, LISTEN, 0);
    inet_line(&t4, "127.0.0.1", 40000, "127.0.0.1", 222, TIME_WAIT, 0); /* long gone */
    inet_line(&t4, "127.0.0.1", 40003, "0.0.0.0", 0, CLOSE, 3000);      /* bound, no peer */
    /* a client that sent and closed: FIN_WAIT2, no inode, and uid 0 */
    add(&t4, " 999: 0100007F:9C44 0100007F:006F 05 00000000:00000000 00:00000000 00000000     0"
             "        0 0 1 0000000000000000 100 0 0 10 0\n");
    inet_line(&t6, "::1", 40001, "::1", 111, ESTABLISHED, 1001);
    inet_line(&t6, "::ffff:127.0.0.1", 40002, "::ffff:127.0.0.1", 111, ESTABLISHED, 1002);
    put_table("tcp", &t4);
    put_table("tcp6", &t6);
    uid_t uid = 7;
    assert_int_equal(owner(root, SOCK_STREAM, "127.0.0.1", 40000, "127.0.0.1", 111, &uid), 0);
    assert_int_equal(uid, 1000);
    assert_int_equal(owner(root, SOCK_STREAM, "127.0.0.1", 40000, NULL, 0, &uid), 0);
    assert_int_equal(uid, 1000);
    assert_int_equal(owner(root, SOCK_STREAM, "127.0.0.1", 111, "127.0.0.1", 40000, &uid), 0);
    assert_int_equal(uid, 0);
    assert_int_equal(owner(root, SOCK_STREAM, "::1", 40001, "::1", 111, &uid), 0);
    assert_int_equal(uid, 1001);
    /* a v4-mapped peer is found in either table */
    assert_int_equal(owner(root, SOCK_STREAM, "127.0.0.1", 40002, "127.0.0.1", 111, &uid), 0);
    assert_int_equal(uid, 1002);
    assert_int_equal(
        owner(root, SOCK_STREAM, "::ffff:127.0.0.1", 40000, "::ffff:127.0.0.1", 111, &uid), 0);
    assert_int_equal(uid, 1000);
    uid = 7;
    assert_int_equal(owner(root, SOCK_STREAM, "127.0.0.1", 40000, "127.0.0.1", 112, &uid), ESRCH);
    assert_int_equal(owner(root, SOCK_STREAM, "127.0.0.1", 40000, "127.0.0.2", 111, &uid), ESRCH);
    assert_int_equal(owner(root, SOCK_STREAM, "10.0.0.1", 40000, "127.0.0.1", 111, &uid), ESRCH);
    assert_int_equal(owner(root, SOCK_STREAM, "127.0.0.1", 40003, NULL, 0, &uid), ESRCH);
    /* a closed socket's uid 0 is no owner: the caller must not pass for root */
    assert_int_equal(owner(root, SOCK_STREAM, "127.0.0.1", 40004, "127.0.0.1", 111, &uid), ESRCH);
    assert_int_equal(owner(root, SOCK_STREAM, "::1", 40000, NULL, 0, &uid), ESRCH);
    assert_int_equal(owner(root, SOCK_DGRAM, "127.0.0.1", 40000, NULL, 0, &uid), ESRCH);
    assert_int_equal(uid, 7);
}

static void test_the_owner_of_a_udp_peer_may_be_a_wildcard_socket(void **state)
{
    (void)state;
    empty_tables();
    static table t4, t6;
    t4.n = t6.n = 0;
    add(&t4, "%s", inet_header);
    add(&t6, "%s", inet_header);
    inet_line(&t4, "0.0.0.0", 50000, "0.0.0.0", 0, CLOSE, 1000);
    inet_line(&t4, "127.0.0.1", 50001, "127.0.0.2", 53, ESTABLISHED, 1001);
    inet_line(&t4, "127.0.0.1", 111, "0.0.0.0", 0, CLOSE, 0);
    inet_line(&t6, "::", 50002, "::", 0, CLOSE, 1002);
    inet_line(&t6, "::1", 50003, "::", 0, CLOSE, 1003);
    put_table("udp", &t4);
    put_table("udp6", &t6);
    uid_t uid = 7;
    assert_int_equal(owner(root, SOCK_DGRAM, "127.0.0.1", 50000, "127.0.0.1", 111, &uid), 0);
    assert_int_equal(uid, 1000);
    assert_int_equal(owner(root, SOCK_DGRAM, "127.0.0.1", 50001, "127.0.0.2", 53, &uid), 0);
    assert_int_equal(uid, 1001);
    assert_int_equal(owner(root, SOCK_DGRAM, "127.0.0.1", 50001, "127.0.0.1", 111, &uid), ESRCH);
    assert_int_equal(owner(root, SOCK_DGRAM, "127.0.0.1", 50002, "127.0.0.1", 111, &uid), 0);
    assert_int_equal(uid, 1002);
    assert_int_equal(owner(root, SOCK_DGRAM, "::1", 50002, "::1", 111, &uid), 0);
    assert_int_equal(uid, 1002);
    assert_int_equal(owner(root, SOCK_DGRAM, "::1", 50003, "::1", 111, &uid), 0);
    assert_int_equal(uid, 1003);
    uid = 7;
    assert_int_equal(owner(root, SOCK_DGRAM, "::1", 50000, "::1", 111, &uid), ESRCH);
    assert_int_equal(owner(root, SOCK_DGRAM, "127.0.0.1", 50003, "127.0.0.1", 111, &uid), ESRCH);
    assert_int_equal(owner(root, SOCK_STREAM, "127.0.0.1", 50000, NULL, 0, &uid), ESRCH);
    assert_int_equal(uid, 7);
}

static void test_sockets_of_different_owners_at_one_address_are_ambiguous(void **state)
{
    (void)state;
    empty_tables();
    static table t, u;
    t.n = u.n = 0;
    add(&t, "%s", inet_header);
    inet_line(&t, "127.0.0.1", 41000, "127.0.0.1", 111, ESTABLISHED, 1000);
    inet_line(&t, "127.0.0.1", 41000, "127.0.0.1", 222, ESTABLISHED, 2000);
    inet_line(&t, "127.0.0.1", 41001, "127.0.0.1", 111, ESTABLISHED, 1000);
    inet_line(&t, "127.0.0.1", 41001, "127.0.0.1", 222, ESTABLISHED, 1000);
    put_table("tcp", &t);
    add(&u, "%s", inet_header);
    inet_line(&u, "0.0.0.0", 51000, "0.0.0.0", 0, CLOSE, 1000);
    inet_line(&u, "127.0.0.1", 51000, "0.0.0.0", 0, CLOSE, 2000); /* SO_REUSEADDR */
    put_table("udp", &u);
    uid_t uid = 7;
    assert_int_equal(owner(root, SOCK_STREAM, "127.0.0.1", 41000, NULL, 0, &uid), ENOTUNIQ);
    assert_int_equal(uid, 7);
    assert_int_equal(owner(root, SOCK_STREAM, "127.0.0.1", 41000, "127.0.0.1", 111, &uid), 0);
    assert_int_equal(uid, 1000);
    assert_int_equal(owner(root, SOCK_STREAM, "127.0.0.1", 41000, "127.0.0.1", 222, &uid), 0);
    assert_int_equal(uid, 2000);
    assert_int_equal(owner(root, SOCK_STREAM, "127.0.0.1", 41001, NULL, 0, &uid), 0);
    assert_int_equal(uid, 1000);
    assert_int_equal(owner(root, SOCK_DGRAM, "127.0.0.1", 51000, "127.0.0.1", 111, &uid), ENOTUNIQ);
    assert_int_equal(owner(root, SOCK_DGRAM, "127.0.0.2", 51000, "127.0.0.1", 111, &uid), 0);
    assert_int_equal(uid, 1000);
}

static void test_bad_arguments_are_refused(void **state)
{
    (void)state;
    empty_tables();
    socklen_t len;
    struct sockaddr_storage ss = sa_ip("127.0.0.1", 1, &len);
    const struct sockaddr *sa = (struct sockaddr *)&ss;
    int found = 7;
    uid_t uid = 7;
    assert_int_equal(mm_procnet_listening(root, NULL, len, SOCK_STREAM, 0, &found), EINVAL);
    assert_int_equal(mm_procnet_listening(root, sa, len, SOCK_STREAM, 0, NULL), EINVAL);
    assert_int_equal(mm_procnet_listening(root, sa, len, SOCK_RAW, 0, &found), EINVAL);
    assert_int_equal(mm_procnet_listening(root, sa, 1, SOCK_STREAM, 0, &found), EINVAL);
    assert_int_equal(mm_procnet_listening(root, sa, len - 1, SOCK_STREAM, 0, &found), EINVAL);
    ss.ss_family = AF_APPLETALK;
    assert_int_equal(mm_procnet_listening(root, sa, len, SOCK_STREAM, 0, &found), EINVAL);
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    socklen_t off = (socklen_t)offsetof(struct sockaddr_un, sun_path);
    assert_int_equal(
        mm_procnet_listening(root, (struct sockaddr *)&sun, off, SOCK_STREAM, 0, &found), EINVAL);
    assert_int_equal(
        mm_procnet_listening(root, (struct sockaddr *)&sun, sizeof sun, SOCK_STREAM, 0, &found),
        EINVAL); /* abstract: a leading NUL */
    memset(sun.sun_path, 'p', sizeof sun.sun_path);
    assert_int_equal(
        mm_procnet_listening(root, (struct sockaddr *)&sun, sizeof sun, SOCK_STREAM, 0, &found),
        EINVAL); /* no NUL within sun_path */
    assert_int_equal(found, 7);

    ss = sa_ip("127.0.0.1", 1, &len);
    assert_int_equal(mm_procnet_owner(root, SOCK_STREAM, sa, len, NULL, 0, NULL), EINVAL);
    assert_int_equal(mm_procnet_owner(root, SOCK_SEQPACKET, sa, len, NULL, 0, &uid), EINVAL);
    assert_int_equal(mm_procnet_owner(root, SOCK_STREAM, NULL, len, NULL, 0, &uid), EINVAL);
    assert_int_equal(mm_procnet_owner(root, SOCK_STREAM, sa, len - 1, NULL, 0, &uid), EINVAL);
    assert_int_equal(mm_procnet_owner(root, SOCK_STREAM, sa, len, sa, 2, &uid), EINVAL);
    sun.sun_path[0] = '/';
    sun.sun_path[1] = '\0';
    assert_int_equal(
        mm_procnet_owner(root, SOCK_STREAM, (struct sockaddr *)&sun, sizeof sun, NULL, 0, &uid),
        EINVAL);
    assert_int_equal(uid, 7);

    char longroot[5000];
    memset(longroot, 'r', sizeof longroot - 1);
    longroot[sizeof longroot - 1] = '\0';
    assert_int_equal(mm_procnet_listening(longroot, sa, len, SOCK_STREAM, 0, &found), ENAMETOOLONG);
    assert_int_equal(mm_procnet_owner(longroot, SOCK_DGRAM, sa, len, NULL, 0, &uid), ENAMETOOLONG);
    sun.sun_path[0] = '/';
    assert_int_equal(
        mm_procnet_listening(longroot, (struct sockaddr *)&sun, sizeof sun, SOCK_STREAM, 0, &found),
        ENAMETOOLONG);
}

/* ---- the real /proc ------------------------------------------------------- */

/* bound_socket makes a socket of family and type bound to ip port 0 (the
 * system chooses), listening when a stream; returns -1 when the host cannot
 * (no IPv6). *ss receives the address bound. */
static int bound_socket(const char *ip, int type, struct sockaddr_storage *ss, socklen_t *len)
{
    *ss = sa_ip(ip, 0, len);
    int fd = socket(ss->ss_family, type, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)ss, *len) != 0 || (type == SOCK_STREAM && listen(fd, 4) != 0)) {
        close(fd);
        return -1;
    }
    assert_int_equal(getsockname(fd, (struct sockaddr *)ss, len), 0);
    return fd;
}

static int real_listening(const struct sockaddr_storage *ss, socklen_t len, int type, uid_t uid)
{
    int found = -1;
    int rc = mm_procnet_listening(NULL, (const struct sockaddr *)ss, len, type, uid, &found);
    if (rc != 0)
        fail_msg("/proc: %s", strerror(rc));
    return found;
}

/* check_real_ip runs the real-/proc checks on one loopback address. */
static void check_real_ip(const char *ip)
{
    uid_t me = geteuid();
    struct sockaddr_storage srv, cli, udp, ucli;
    socklen_t srvlen, clilen, udplen, uclilen;
    int lfd = bound_socket(ip, SOCK_STREAM, &srv, &srvlen);
    if (lfd < 0) {
        assert_string_equal(ip, "::1"); /* IPv4 loopback is always there */
        return;
    }
    assert_true(real_listening(&srv, srvlen, SOCK_STREAM, me));
    assert_true(real_listening(&srv, srvlen, SOCK_STREAM, MM_PROCNET_ANY_OWNER));
    assert_false(real_listening(&srv, srvlen, SOCK_STREAM, me + 1));

    /* a client connects; the kernel completes it without an accept */
    int cfd = socket(srv.ss_family, SOCK_STREAM, 0);
    assert_true(cfd >= 0);
    assert_int_equal(connect(cfd, (struct sockaddr *)&srv, srvlen), 0);
    clilen = sizeof cli;
    assert_int_equal(getsockname(cfd, (struct sockaddr *)&cli, &clilen), 0);
    uid_t uid = 7;
    assert_int_equal(mm_procnet_owner(NULL, SOCK_STREAM, (struct sockaddr *)&cli, clilen,
                                      (struct sockaddr *)&srv, srvlen, &uid),
                     0);
    assert_int_equal(uid, me);
    close(cfd);
    /* closed, the client's socket lingers (FIN_WAIT2, no inode) with uid 0:
     * no owner, through the kernel's look-up and through the table */
    uid = 7;
    assert_int_equal(mm_procnet_owner(NULL, SOCK_STREAM, (struct sockaddr *)&cli, clilen,
                                      (struct sockaddr *)&srv, srvlen, &uid),
                     ESRCH);
    assert_int_equal(mm_procnet_owner("/proc", SOCK_STREAM, (struct sockaddr *)&cli, clilen,
                                      (struct sockaddr *)&srv, srvlen, &uid),
                     ESRCH);
    assert_int_equal(uid, 7);

    /* the listener closed, its port is no longer served */
    close(lfd);
    assert_false(real_listening(&srv, srvlen, SOCK_STREAM, MM_PROCNET_ANY_OWNER));

    /* UDP: a bound server, and a client's socket */
    int ufd = bound_socket(ip, SOCK_DGRAM, &udp, &udplen);
    assert_true(ufd >= 0);
    assert_true(real_listening(&udp, udplen, SOCK_DGRAM, me));
    assert_false(real_listening(&udp, udplen, SOCK_DGRAM, me + 1));
    int ucfd = bound_socket(ip, SOCK_DGRAM, &ucli, &uclilen);
    assert_true(ucfd >= 0);
    assert_int_equal(mm_procnet_owner(NULL, SOCK_DGRAM, (struct sockaddr *)&ucli, uclilen,
                                      (struct sockaddr *)&udp, udplen, &uid),
                     0);
    assert_int_equal(uid, me);
    close(ucfd);
    close(ufd);
}

static void test_the_real_proc_shows_sockets_this_test_opens(void **state)
{
    (void)state;
    check_real_ip("127.0.0.1");
    check_real_ip("::1");

    /* a Unix socket in a temporary directory, bound, then listening */
    char dir[] = "/tmp/mm-procnet-real-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/l.sock", dir);
    int fd = bind_unix(path, SOCK_STREAM, 0);
    socklen_t len;
    struct sockaddr_un sun = sa_unix(path, &len);
    int found = -1;
    assert_int_equal(
        mm_procnet_listening(NULL, (struct sockaddr *)&sun, len, SOCK_STREAM, geteuid(), &found),
        0);
    assert_false(found);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(
        mm_procnet_listening(NULL, (struct sockaddr *)&sun, len, SOCK_STREAM, geteuid(), &found),
        0);
    assert_true(found);
    close(fd);
    unlink(path);
    rmdir(dir);
}

static void test_the_real_proc_tells_another_users_socket_apart(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip(); /* only root can make a socket of another user */
    int up[2], down[2];
    assert_int_equal(pipe(up), 0);
    assert_int_equal(pipe(down), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the child: become nobody, listen, report the port, wait */
        close(up[0]);
        close(down[1]);
        struct sockaddr_storage ss;
        socklen_t len;
        uint16_t port = 0;
        if (setgid(65534) == 0 && setuid(65534) == 0) {
            int fd = bound_socket("127.0.0.1", SOCK_STREAM, &ss, &len);
            if (fd >= 0)
                port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        }
        if (write(up[1], &port, sizeof port) != (ssize_t)sizeof port)
            _exit(1);
        char c;
        _exit(read(down[0], &c, 1) < 0); /* until the parent is done (or gone) */
    }
    close(up[1]);
    close(down[0]);
    uint16_t port = 0;
    assert_int_equal(read(up[0], &port, sizeof port), sizeof port);
    assert_true(port != 0);
    assert_true(listening(NULL, SOCK_STREAM, "127.0.0.1", port, 65534));
    assert_false(listening(NULL, SOCK_STREAM, "127.0.0.1", port, 0));
    /* connect as root: root's end is root's */
    socklen_t len, clilen;
    struct sockaddr_storage srv = sa_ip("127.0.0.1", port, &len), cli;
    int cfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(cfd >= 0);
    assert_int_equal(connect(cfd, (struct sockaddr *)&srv, len), 0);
    clilen = sizeof cli;
    assert_int_equal(getsockname(cfd, (struct sockaddr *)&cli, &clilen), 0);
    uid_t uid = 7;
    assert_int_equal(mm_procnet_owner(NULL, SOCK_STREAM, (struct sockaddr *)&cli, clilen,
                                      (struct sockaddr *)&srv, len, &uid),
                     0);
    assert_int_equal(uid, 0);
    /* the child's end, not yet accepted, has no file (no inode): like a
     * closed socket it tells no owner, though the kernel shows the
     * listener's uid (only a caller's own socket, which has a file, is
     * ever asked about) */
    uid = 7;
    assert_int_equal(mm_procnet_owner(NULL, SOCK_STREAM, (struct sockaddr *)&srv, len,
                                      (struct sockaddr *)&cli, clilen, &uid),
                     ESRCH);
    assert_int_equal(uid, 7);
    close(cfd);
    close(down[1]);
    close(up[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_listening_tcp_socket_is_found_by_address_port_and_owner),
        cmocka_unit_test(test_wildcard_and_ipv6_sockets_serve_what_they_can_receive),
        cmocka_unit_test(test_udp_sockets_serve_when_unconnected),
        cmocka_unit_test(test_the_table_as_a_little_endian_kernel_prints_it),
        cmocka_unit_test(test_missing_ipv6_tables_are_empty_but_a_missing_ipv4_table_is_an_error),
        cmocka_unit_test(test_malformed_lines_are_skipped_not_guessed_at),
        cmocka_unit_test(test_a_unix_socket_listens_when_listed_and_its_file_is_the_owners),
        cmocka_unit_test(test_the_owner_of_a_tcp_peer_is_its_connected_socket),
        cmocka_unit_test(test_the_owner_of_a_udp_peer_may_be_a_wildcard_socket),
        cmocka_unit_test(test_sockets_of_different_owners_at_one_address_are_ambiguous),
        cmocka_unit_test(test_bad_arguments_are_refused),
        cmocka_unit_test(test_the_real_proc_shows_sockets_this_test_opens),
        cmocka_unit_test(test_the_real_proc_tells_another_users_socket_apart),
    };
    return cmocka_run_group_tests(tests, make_root, remove_root);
}
