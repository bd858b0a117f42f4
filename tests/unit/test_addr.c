/*
 * tests/unit/test_addr.c: transport addresses (runtime/src/net/addr.c): parsing
 * valid and invalid text, formatting it back, and resolution of literals,
 * localhost and Unix paths. Nothing here needs a network: the one name that
 * must fail to resolve is under the reserved .invalid domain, looked up in a
 * child process with a deadline, and the case is skipped if the resolver
 * hangs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cmocka.h>

#include "net/addr.h"
#include "parley/error.h"

static void test_valid_addresses_parse_and_format_back(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int transport;
        const char *host;
        unsigned port;
        const char *path;
        const char *formatted; /* NULL: the same text */
    } ok[] = {
        {"tcp://127.0.0.1:4000", PL_TR_TCP, "127.0.0.1", 4000, "", NULL},
        {"udp://10.0.0.1:0", PL_TR_UDP, "10.0.0.1", 0, "", NULL},
        {"tcp://[::1]:4000", PL_TR_TCP, "::1", 4000, "", NULL},
        {"udp://[fe80::1%lo]:1", PL_TR_UDP, "fe80::1%lo", 1, "", NULL},
        {"tcp://[::ffff:1.2.3.4]:7", PL_TR_TCP, "::ffff:1.2.3.4", 7, "", NULL},
        {"tcp://localhost:65535", PL_TR_TCP, "localhost", 65535, "", NULL},
        {"tcp://my-host_1.example.com:80", PL_TR_TCP, "my-host_1.example.com", 80, "", NULL},
        {"tcp://host.:5", PL_TR_TCP, "host.", 5, "", NULL},
        {"tcp://x:00080", PL_TR_TCP, "x", 80, "", "tcp://x:80"},
        {"TCP://Host:1", PL_TR_TCP, "Host", 1, "", "tcp://Host:1"},
        {"Udp://h:2", PL_TR_UDP, "h", 2, "", "udp://h:2"},
        {"unix:///tmp/x.sock", PL_TR_UNIX, "", 0, "/tmp/x.sock", NULL},
        {"unix:///", PL_TR_UNIX, "", 0, "/", NULL},
        {"unix:rel/path.sock", PL_TR_UNIX, "", 0, "rel/path.sock", NULL},
        {"unix:/abs", PL_TR_UNIX, "", 0, "/abs", "unix:///abs"},
        {"UNIX:x", PL_TR_UNIX, "", 0, "x", "unix:x"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        pl_addr a;
        int rc = pl_addr_parse(ok[i].text, &a);
        if (rc != PARLEY_OK)
            fail_msg("%s: %s", ok[i].text, parley_errname(rc));
        assert_int_equal(a.transport, ok[i].transport);
        assert_string_equal(a.host, ok[i].host);
        assert_int_equal(a.port, ok[i].port);
        assert_string_equal(a.path, ok[i].path);

        const char *want = ok[i].formatted ? ok[i].formatted : ok[i].text;
        char buf[300];
        size_t len;
        assert_int_equal(pl_addr_format(&a, buf, sizeof buf, &len), PARLEY_OK);
        assert_string_equal(buf, want);
        assert_int_equal(len, strlen(want));
        /* every buffer without room for the NUL is too small */
        for (size_t cap = 0; cap <= len; cap++)
            assert_int_equal(pl_addr_format(&a, buf, cap, NULL), PARLEY_ERR_BUFFER_FULL);
        /* and the text formatted parses to the same address */
        pl_addr b;
        assert_int_equal(pl_addr_format(&a, buf, sizeof buf, NULL), PARLEY_OK);
        assert_int_equal(pl_addr_parse(buf, &b), PARLEY_OK);
        assert_memory_equal(&a, &b, sizeof a);
    }
}

/* A service name, alone or at a host, for the matchmaker to resolve. */
static void test_service_names_parse_and_format_back(void **state)
{
    (void)state;
    static const struct {
        const char *text, *name, *host;
        unsigned port;
    } ok[] = {
        {"date", "date", "", 0},
        {"tcp", "tcp", "", 0}, /* a name, as a scheme needs "://" */
        {"users.v2-x_1", "users.v2-x_1", "", 0},
        {"9lives", "9lives", "", 0},
        {"date@host", "date", "host", 0},
        {"date@10.0.0.1:4111", "date", "10.0.0.1", 4111},
        {"x@[::1]", "x", "::1", 0},
        {"x@[::1]:7", "x", "::1", 7},
        {"x@my-host.example.com.", "x", "my-host.example.com.", 0},
        {"a234567890123456789012345678901234567890123456789012345678901234",
         "a234567890123456789012345678901234567890123456789012345678901234", "", 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        pl_addr a, b;
        int rc = pl_addr_parse(ok[i].text, &a);
        if (rc != PARLEY_OK)
            fail_msg("%s: %s", ok[i].text, parley_errname(rc));
        assert_int_equal(a.transport, PL_TR_NAME);
        assert_string_equal(a.name, ok[i].name);
        assert_string_equal(a.host, ok[i].host);
        assert_int_equal(a.port, ok[i].port);
        char buf[400];
        assert_int_equal(pl_addr_format(&a, buf, sizeof buf, NULL), PARLEY_OK);
        assert_string_equal(buf, ok[i].text);
        assert_int_equal(pl_addr_parse(buf, &b), PARLEY_OK);
        assert_memory_equal(&a, &b, sizeof a);
    }
    static const char *const bad[] = {
        "-date",
        ".x",
        "_x",
        "da te",
        "date/x",
        "date:1",
        "date@",
        "date@host:",
        "date@host:0",
        "date@host:70000",
        "date@[::1",
        "date@::1",
        "date@[::1]x",
        "a@b@c",
        "date@-h",
        "a2345678901234567890123456789012345678901234567890123456789012345",
        "d\xc3\xa9j\xc3\xa0",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pl_addr a;
        int rc = pl_addr_parse(bad[i], &a);
        if (rc != PARLEY_ERR_ADDRESS)
            fail_msg("\"%s\": %s", bad[i], parley_errname(rc));
    }
}

static void test_invalid_addresses_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "tcp:/x:1",
        "http://x:1",
        "tcp://",
        "tcp://host",
        "tcp://host:",
        "tcp://:80",
        "tcp://host:65536",
        "tcp://host:100000",
        "tcp://host:-1",
        "tcp://host:+1",
        "tcp://host: 1",
        "tcp://host:8a",
        "tcp://host:80/",
        "tcp://host:80:81",
        "tcp://::1:80",
        "tcp://[::1]",
        "tcp://[::1]80",
        "tcp://[::1:80",
        "tcp://[]:80",
        "tcp://[1.2.3.4]:80",
        "tcp://[::g]:1",
        "tcp://[fe80::1%]:1",
        "tcp://[fe80::1%a/b]:1",
        "tcp://[fe80::1%abcdefghijklmnop]:1",
        "tcp://1.2.3.256:1",
        "tcp://1.2.3:1",
        "tcp://123:1",
        "tcp://-bad.com:1",
        "tcp://bad-.com:1",
        "tcp://a..b:1",
        "tcp://.a:1",
        "tcp://.:1",
        "tcp://a b:1",
        "tcp://a@b:1",
        "tcp://a/b:1",
        "unix://rel/path",
        "unix://",
        "unix:",
        "unix://relative",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pl_addr a;
        memset(&a, 0x5a, sizeof a);
        int rc = pl_addr_parse(bad[i], &a);
        if (rc != PARLEY_ERR_ADDRESS)
            fail_msg("\"%s\": %s", bad[i], parley_errname(rc));
        assert_int_equal(a.transport, 0x5a5a5a5a); /* untouched */
    }
    pl_addr a;
    assert_int_equal(pl_addr_parse(NULL, &a), PARLEY_ERR_NULL);
}

static void test_length_limits_of_names_labels_and_paths(void **state)
{
    (void)state;
    char text[600];
    pl_addr a;

    /* a label of 63 bytes, and of 64 */
    char label[65];
    memset(label, 'l', 64);
    label[63] = '\0';
    snprintf(text, sizeof text, "tcp://%s.com:1", label);
    assert_int_equal(pl_addr_parse(text, &a), PARLEY_OK);
    label[63] = 'l';
    label[64] = '\0';
    snprintf(text, sizeof text, "tcp://%s.com:1", label);
    assert_int_equal(pl_addr_parse(text, &a), PARLEY_ERR_ADDRESS);

    /* a name of 253 bytes (with a final dot, 254), and of 254 */
    char name[260];
    for (size_t i = 0; i < 253; i++)
        name[i] = (i % 50 == 49) ? '.' : 'n';
    name[253] = '\0';
    assert_int_equal(strlen(name), 253);
    snprintf(text, sizeof text, "tcp://%s:1", name);
    assert_int_equal(pl_addr_parse(text, &a), PARLEY_OK);
    assert_string_equal(a.host, name);
    snprintf(text, sizeof text, "tcp://%s.:1", name);
    assert_int_equal(pl_addr_parse(text, &a), PARLEY_ERR_ADDRESS); /* no room for the dot */
    snprintf(text, sizeof text, "tcp://%sn:1", name);
    assert_int_equal(pl_addr_parse(text, &a), PARLEY_ERR_ADDRESS);

    /* a Unix path of 107 bytes, and of 108 */
    char path[120];
    memset(path, 'p', sizeof path);
    path[0] = '/';
    path[PL_ADDR_PATH_MAX] = '\0';
    snprintf(text, sizeof text, "unix://%s", path);
    assert_int_equal(pl_addr_parse(text, &a), PARLEY_OK);
    assert_int_equal(strlen(a.path), PL_ADDR_PATH_MAX);
    path[PL_ADDR_PATH_MAX] = 'p';
    path[PL_ADDR_PATH_MAX + 1] = '\0';
    snprintf(text, sizeof text, "unix://%s", path);
    assert_int_equal(pl_addr_parse(text, &a), PARLEY_ERR_ADDRESS);
}

static void test_format_refuses_an_unknown_transport(void **state)
{
    (void)state;
    pl_addr a;
    memset(&a, 0, sizeof a);
    char buf[64];
    assert_int_equal(pl_addr_format(&a, buf, sizeof buf, NULL), PARLEY_ERR_INVALID);
    pl_sockaddr *list;
    size_t n;
    assert_int_equal(pl_addr_resolve(&a, &list, &n), PARLEY_ERR_INVALID);
}

/* resolve parses text and resolves it, expecting success. */
static pl_sockaddr *resolve(const char *text, size_t *n)
{
    pl_addr a;
    pl_sockaddr *list = NULL;
    assert_int_equal(pl_addr_parse(text, &a), PARLEY_OK);
    int rc = pl_addr_resolve(&a, &list, n);
    if (rc != PARLEY_OK)
        fail_msg("%s: %s", text, parley_errname(rc));
    assert_non_null(list);
    assert_true(*n >= 1);
    return list;
}

static void test_ipv4_and_ipv6_literals_resolve_without_a_lookup(void **state)
{
    (void)state;
    size_t n;
    pl_sockaddr *l = resolve("tcp://127.0.0.1:4000", &n);
    assert_int_equal(n, 1);
    assert_int_equal(l[0].family, AF_INET);
    assert_int_equal(l[0].socktype, SOCK_STREAM);
    assert_int_equal(l[0].len, sizeof(struct sockaddr_in));
    const struct sockaddr_in *in = (const struct sockaddr_in *)&l[0].ss;
    assert_int_equal(ntohs(in->sin_port), 4000);
    assert_int_equal(ntohl(in->sin_addr.s_addr), 0x7f000001);
    pl_addr_resolved_free(l);

    l = resolve("udp://[::1]:53", &n);
    assert_int_equal(n, 1);
    assert_int_equal(l[0].family, AF_INET6);
    assert_int_equal(l[0].socktype, SOCK_DGRAM);
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&l[0].ss;
    assert_int_equal(ntohs(in6->sin6_port), 53);
    assert_true(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
    pl_addr_resolved_free(l);
    pl_addr_resolved_free(NULL);
}

static void test_localhost_resolves_to_loopback_addresses(void **state)
{
    (void)state;
    size_t n;
    pl_sockaddr *l = resolve("tcp://localhost:4001", &n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(l[i].socktype, SOCK_STREAM);
        if (l[i].family == AF_INET) {
            const struct sockaddr_in *in = (const struct sockaddr_in *)&l[i].ss;
            assert_int_equal(ntohs(in->sin_port), 4001);
            assert_int_equal(ntohl(in->sin_addr.s_addr) >> 24, 127);
        } else {
            assert_int_equal(l[i].family, AF_INET6);
            const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&l[i].ss;
            assert_int_equal(ntohs(in6->sin6_port), 4001);
        }
    }
    pl_addr_resolved_free(l);
}

static void test_unix_paths_resolve_to_one_sockaddr_un(void **state)
{
    (void)state;
    size_t n;
    pl_sockaddr *l = resolve("unix:///run/parley.sock", &n);
    assert_int_equal(n, 1);
    assert_int_equal(l[0].family, AF_UNIX);
    assert_int_equal(l[0].socktype, SOCK_STREAM);
    const struct sockaddr_un *un = (const struct sockaddr_un *)&l[0].ss;
    assert_int_equal(un->sun_family, AF_UNIX);
    assert_string_equal(un->sun_path, "/run/parley.sock");
    assert_int_equal(l[0].len, offsetof(struct sockaddr_un, sun_path) + 17);
    pl_addr_resolved_free(l);
}

static void test_names_under_dot_invalid_do_not_resolve(void **state)
{
    (void)state;
    pl_addr a;
    assert_int_equal(pl_addr_parse("tcp://no-such-host.invalid:1", &a), PARLEY_OK);
    /* The lookup runs in a child with a deadline: without a network a
     * resolver may wait for its timeouts instead of failing fast. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(10);
        pl_sockaddr *l = NULL;
        size_t n;
        int rc = pl_addr_resolve(&a, &l, &n);
        pl_addr_resolved_free(l);
        _exit(rc);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        skip();
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), PARLEY_ERR_RESOLVE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_addresses_parse_and_format_back),
        cmocka_unit_test(test_service_names_parse_and_format_back),
        cmocka_unit_test(test_invalid_addresses_are_refused),
        cmocka_unit_test(test_length_limits_of_names_labels_and_paths),
        cmocka_unit_test(test_format_refuses_an_unknown_transport),
        cmocka_unit_test(test_ipv4_and_ipv6_literals_resolve_without_a_lookup),
        cmocka_unit_test(test_localhost_resolves_to_loopback_addresses),
        cmocka_unit_test(test_unix_paths_resolve_to_one_sockaddr_un),
        cmocka_unit_test(test_names_under_dot_invalid_do_not_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
