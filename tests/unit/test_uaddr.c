/*
 * tests/unit/test_uaddr.c: netids and universal addresses
 * (runtime/src/net/uaddr.c): canonical texts of each family parse to the socket
 * address they name and format back to themselves, sockaddrs survive the
 * trip through text, and every malformed text (placed right before a guard
 * page, so that an over-read crashes) is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cmocka.h>

#include "guard.h"
#include "parley/error.h"
#include "parley/uaddr.h"

/* parse_guarded parses s from a copy that ends right before a guard page. */
static int parse_guarded(const char *s, int family, struct sockaddr_storage *ss, socklen_t *len)
{
    const char *g = pt_guard_copy(s, strlen(s) + 1);
    assert_non_null(g);
    int rc = parley_uaddr_parse(g, family, ss, len);
    pt_guard_free(g);
    return rc;
}

/* assert_formats_to formats ss and compares with want. */
static void assert_formats_to(const struct sockaddr_storage *ss, socklen_t len, const char *want)
{
    char buf[256];
    size_t n = 0;
    assert_int_equal(parley_uaddr_format((const struct sockaddr *)ss, len, buf, sizeof buf, &n),
                     PARLEY_OK);
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_ipv4_uaddrs_parse_to_their_address_and_format_back(void **state)
{
    (void)state;
    static const struct {
        const char *uaddr, *ip;
        unsigned port;
    } ok[] = {
        {"127.0.0.1.0.111", "127.0.0.1", 111},
        {"0.0.0.0.0.0", "0.0.0.0", 0},
        {"10.1.2.3.15.160", "10.1.2.3", 4000},
        {"192.168.100.200.8.1", "192.168.100.200", 2049},
        {"255.255.255.255.255.255", "255.255.255.255", 65535},
        {"1.0.0.0.1.0", "1.0.0.0", 256},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct sockaddr_storage ss;
        socklen_t len;
        if (parse_guarded(ok[i].uaddr, AF_INET, &ss, &len) != PARLEY_OK)
            fail_msg("%s did not parse", ok[i].uaddr);
        assert_int_equal(len, sizeof(struct sockaddr_in));
        struct sockaddr_in sin;
        memcpy(&sin, &ss, sizeof sin);
        assert_int_equal(sin.sin_family, AF_INET);
        assert_int_equal(ntohs(sin.sin_port), ok[i].port);
        struct in_addr want;
        assert_int_equal(inet_pton(AF_INET, ok[i].ip, &want), 1);
        assert_memory_equal(&sin.sin_addr, &want, 4);
        assert_formats_to(&ss, len, ok[i].uaddr);
    }
}

static void test_ipv6_uaddrs_parse_to_their_address_and_format_back(void **state)
{
    (void)state;
    static const struct {
        const char *uaddr, *ip;
        unsigned port;
    } ok[] = {
        {"::.0.111", "::", 111},
        {"::1.8.1", "::1", 2049},
        {"::ffff:127.0.0.1.0.111", "::ffff:127.0.0.1", 111},
        {"fe80::1:2.1.0", "fe80::1:2", 256},
        {"2001:db8::ff00:42:8329.255.255", "2001:db8::ff00:42:8329", 65535},
        {"2001:db8:0:1:1:1:1:1.0.0", "2001:db8:0:1:1:1:1:1", 0},
        {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff.255.255",
         "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535},
        {"::ffff:255.255.255.255.255.255", "::ffff:255.255.255.255", 65535},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct sockaddr_storage ss;
        socklen_t len;
        if (parse_guarded(ok[i].uaddr, AF_INET6, &ss, &len) != PARLEY_OK)
            fail_msg("%s did not parse", ok[i].uaddr);
        assert_int_equal(len, sizeof(struct sockaddr_in6));
        struct sockaddr_in6 sin6;
        memcpy(&sin6, &ss, sizeof sin6);
        assert_int_equal(sin6.sin6_family, AF_INET6);
        assert_int_equal(ntohs(sin6.sin6_port), ok[i].port);
        assert_int_equal(sin6.sin6_scope_id, 0);
        struct in6_addr want;
        assert_int_equal(inet_pton(AF_INET6, ok[i].ip, &want), 1);
        assert_memory_equal(&sin6.sin6_addr, &want, 16);
        assert_formats_to(&ss, len, ok[i].uaddr);
    }
}

static void test_other_ipv6_forms_parse_and_format_canonically(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } forms[] = {
        {"0:0:0:0:0:0:0:1.0.111", "::1.0.111"},
        {"0000:0000:0000:0000:0000:0000:0000:0000.0.1", "::.0.1"},
        {"2001:DB8::1.0.1", "2001:db8::1.0.1"},
        {"::FFFF:1.2.3.4.0.1", "::ffff:1.2.3.4.0.1"},
        {"2001:db8:0:0:1:0:0:1.0.1", "2001:db8::1:0:0:1.0.1"},
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        struct sockaddr_storage ss;
        socklen_t len;
        if (parse_guarded(forms[i].in, AF_INET6, &ss, &len) != PARLEY_OK)
            fail_msg("%s did not parse", forms[i].in);
        assert_formats_to(&ss, len, forms[i].out);
    }
}

static void test_local_uaddrs_are_absolute_paths(void **state)
{
    (void)state;
    char longest[PARLEY_UADDR_LOCAL_MAX + 1];
    longest[0] = '/';
    memset(longest + 1, 'p', PARLEY_UADDR_LOCAL_MAX - 1);
    longest[PARLEY_UADDR_LOCAL_MAX] = '\0';
    const char *ok[] = {"/run/rpcbind.sock", "/a",   "/", "/tmp/my dir/x.sock",
                        "/tmp/caf\xc3\xa9",  longest};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct sockaddr_storage ss;
        socklen_t len;
        if (parse_guarded(ok[i], AF_UNIX, &ss, &len) != PARLEY_OK)
            fail_msg("%s did not parse", ok[i]);
        struct sockaddr_un sun;
        memcpy(&sun, &ss, sizeof sun);
        assert_int_equal(sun.sun_family, AF_UNIX);
        assert_string_equal(sun.sun_path, ok[i]);
        assert_int_equal(len, offsetof(struct sockaddr_un, sun_path) + strlen(ok[i]) + 1);
        assert_formats_to(&ss, len, ok[i]);
        /* a length without the NUL, as some callers give, formats the same */
        assert_formats_to(&ss, len - 1, ok[i]);
    }
}

static void test_malformed_ipv4_uaddrs_are_refused(void **state)
{
    (void)state;
    char huge[1000];
    for (size_t i = 0; i < sizeof huge - 1; i++)
        huge[i] = i % 2 ? '.' : '1';
    huge[sizeof huge - 1] = '\0';
    const char *bad[] = {
        "",
        "1.2.3.4.5",
        "1.2.3.4.5.6.7",
        "256.0.0.1.0.1",
        "1.2.3.4.256.0",
        "1.2.3.4.0.256",
        "01.2.3.4.0.1",
        "1.2.3.4.00.1",
        "1.2.3.4.0.01",
        "+1.2.3.4.0.1",
        "-1.2.3.4.0.1",
        "1.2.3.4.0.1 ",
        " 1.2.3.4.0.1",
        "1..3.4.0.1",
        "1.2.3.4.0.",
        ".1.2.3.4.0",
        "1.2.3.4.0.1x",
        "a.b.c.d.e.f",
        "1.2.3.4:0.1",
        "1.2.3.4.0.1\n",
        "1234.2.3.4.0.1",
        "1.2.3.4.0.1111",
        "0x1.2.3.4.0.1",
        "::1.0.1",
        "/tmp/x",
        "255.255.255.255.255.2555",
        huge,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sockaddr_storage ss;
        socklen_t len = 77;
        memset(&ss, 0xaa, sizeof ss);
        if (parse_guarded(bad[i], AF_INET, &ss, &len) != PARLEY_ERR_ADDRESS)
            fail_msg("'%s' was not refused", bad[i]);
        assert_int_equal(len, 77); /* untouched */
        assert_int_equal(((unsigned char *)&ss)[0], 0xaa);
    }
}

static void test_malformed_ipv6_uaddrs_are_refused(void **state)
{
    (void)state;
    char huge[200];
    memset(huge, ':', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    const char *bad[] = {
        "",
        "::1",
        "::1.0",
        "::1.0.256",
        "::1.00.1",
        "::1%lo.0.1",
        "fe80::1%eth0.0.1",
        ":::.0.1",
        "1:2:3:4:5:6:7:8:9.0.1",
        "::g.0.1",
        " ::1.0.1",
        "::1.0.1 ",
        "::1 .0.1",
        "1.2.3.4.0.1",
        "::ffff:01.2.3.4.0.1",
        "::ffff:1.2.3.256.0.1",
        "[::1].0.1",
        ".0.1",
        "::1..0.1",
        "12345::.0.1",
        "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255.255.255.0", /* one field too many */
        "0000:0000:0000:0000:0000:0000:0000:0000:0000.0.1",
        huge,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sockaddr_storage ss;
        socklen_t len = 77;
        if (parse_guarded(bad[i], AF_INET6, &ss, &len) != PARLEY_ERR_ADDRESS)
            fail_msg("'%s' was not refused", bad[i]);
        assert_int_equal(len, 77);
    }
}

static void test_malformed_local_uaddrs_are_refused(void **state)
{
    (void)state;
    char toolong[PARLEY_UADDR_LOCAL_MAX + 2];
    toolong[0] = '/';
    memset(toolong + 1, 'p', PARLEY_UADDR_LOCAL_MAX);
    toolong[PARLEY_UADDR_LOCAL_MAX + 1] = '\0';
    const char *bad[] = {"",          "relative/x.sock", "x",
                         "@abstract", "/tmp/a\nb",       "/tmp/\x01",
                         "/tmp/\x7f", "/tmp/tab\there",  toolong};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct sockaddr_storage ss;
        socklen_t len = 77;
        if (parse_guarded(bad[i], AF_UNIX, &ss, &len) != PARLEY_ERR_ADDRESS)
            fail_msg("'%s' was not refused", bad[i]);
        assert_int_equal(len, 77);
    }
}

static void test_parse_refuses_bad_arguments(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    socklen_t len;
    assert_int_equal(parley_uaddr_parse(NULL, AF_INET, &ss, &len), PARLEY_ERR_INVALID);
    assert_int_equal(parley_uaddr_parse("1.2.3.4.0.1", AF_INET, NULL, &len), PARLEY_ERR_INVALID);
    assert_int_equal(parley_uaddr_parse("1.2.3.4.0.1", AF_INET, &ss, NULL), PARLEY_ERR_INVALID);
    assert_int_equal(parley_uaddr_parse("1.2.3.4.0.1", AF_UNSPEC, &ss, &len), PARLEY_ERR_INVALID);
    assert_int_equal(parley_uaddr_parse("1.2.3.4.0.1", AF_APPLETALK, &ss, &len),
                     PARLEY_ERR_INVALID);
}

static void test_format_refuses_addresses_without_a_universal_form(void **state)
{
    (void)state;
    char buf[256];
    strcpy(buf, "untouched");
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    assert_int_equal(parley_uaddr_format(NULL, sizeof sin, buf, sizeof buf, NULL),
                     PARLEY_ERR_INVALID);
    assert_int_equal(parley_uaddr_format((struct sockaddr *)&sin, sizeof sin, NULL, 10, NULL),
                     PARLEY_ERR_INVALID);
    assert_int_equal(
        parley_uaddr_format((struct sockaddr *)&sin, sizeof sin - 1, buf, sizeof buf, NULL),
        PARLEY_ERR_INVALID);
    assert_int_equal(parley_uaddr_format((struct sockaddr *)&sin, 1, buf, sizeof buf, NULL),
                     PARLEY_ERR_INVALID);
    sin.sin_family = AF_APPLETALK;
    assert_int_equal(
        parley_uaddr_format((struct sockaddr *)&sin, sizeof sin, buf, sizeof buf, NULL),
        PARLEY_ERR_INVALID);

    /* a scoped IPv6 address: a uaddr has no place for the scope */
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof sin6);
    sin6.sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, "fe80::1", &sin6.sin6_addr), 1);
    sin6.sin6_scope_id = 2;
    assert_int_equal(
        parley_uaddr_format((struct sockaddr *)&sin6, sizeof sin6, buf, sizeof buf, NULL),
        PARLEY_ERR_ADDRESS);
    assert_int_equal(
        parley_uaddr_format((struct sockaddr *)&sin6, sizeof sin6 - 1, buf, sizeof buf, NULL),
        PARLEY_ERR_INVALID);

    /* Unix: unnamed, abstract, relative, control characters, no NUL */
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    socklen_t off = (socklen_t)offsetof(struct sockaddr_un, sun_path);
    assert_int_equal(parley_uaddr_format((struct sockaddr *)&sun, off, buf, sizeof buf, NULL),
                     PARLEY_ERR_ADDRESS);
    memcpy(sun.sun_path, "\0abstract", 9);
    assert_int_equal(parley_uaddr_format((struct sockaddr *)&sun, off + 9, buf, sizeof buf, NULL),
                     PARLEY_ERR_ADDRESS);
    strcpy(sun.sun_path, "relative.sock");
    assert_int_equal(
        parley_uaddr_format((struct sockaddr *)&sun, sizeof sun, buf, sizeof buf, NULL),
        PARLEY_ERR_ADDRESS);
    strcpy(sun.sun_path, "/tmp/a\nb");
    assert_int_equal(
        parley_uaddr_format((struct sockaddr *)&sun, sizeof sun, buf, sizeof buf, NULL),
        PARLEY_ERR_ADDRESS);
    memset(sun.sun_path, 'p', sizeof sun.sun_path);
    sun.sun_path[0] = '/';
    assert_int_equal(
        parley_uaddr_format((struct sockaddr *)&sun, sizeof sun, buf, sizeof buf, NULL),
        PARLEY_ERR_ADDRESS);
    assert_string_equal(buf, "untouched");
}

static void test_format_needs_room_for_the_text_and_its_nul(void **state)
{
    (void)state;
    const char *u[] = {"255.255.255.255.255.255", "2001:db8::ff00:42:8329.255.255", "/run/x.sock"};
    const int fam[] = {AF_INET, AF_INET6, AF_UNIX};
    for (size_t i = 0; i < 3; i++) {
        struct sockaddr_storage ss;
        socklen_t len;
        assert_int_equal(parley_uaddr_parse(u[i], fam[i], &ss, &len), PARLEY_OK);
        size_t n = strlen(u[i]);
        char buf[128];
        for (size_t cap = 0; cap <= n; cap++) {
            memset(buf, 'z', sizeof buf);
            assert_int_equal(parley_uaddr_format((struct sockaddr *)&ss, len, buf, cap, NULL),
                             PARLEY_ERR_BUFFER_FULL);
            assert_int_equal(buf[0], 'z'); /* written only on success */
        }
        assert_int_equal(parley_uaddr_format((struct sockaddr *)&ss, len, buf, n + 1, NULL),
                         PARLEY_OK);
        assert_string_equal(buf, u[i]);
    }
}

/* A small deterministic generator, for addresses to round-trip. */
static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static void test_socket_addresses_survive_the_trip_through_text(void **state)
{
    (void)state;
    uint32_t seed = 12345;
    for (int i = 0; i < 2000; i++) {
        struct sockaddr_storage in, out;
        socklen_t inlen, outlen;
        memset(&in, 0, sizeof in);
        uint16_t port = (uint16_t)(i < 4 ? (unsigned[]){0, 255, 256, 65535}[i] : lcg(&seed));
        if (i % 2) {
            struct sockaddr_in sin;
            memset(&sin, 0, sizeof sin);
            sin.sin_family = AF_INET;
            sin.sin_port = htons(port);
            uint32_t a = lcg(&seed) << 8 ^ lcg(&seed);
            memcpy(&sin.sin_addr, &a, 4);
            memcpy(&in, &sin, sizeof sin);
            inlen = sizeof sin;
        } else {
            struct sockaddr_in6 sin6;
            memset(&sin6, 0, sizeof sin6);
            sin6.sin6_family = AF_INET6;
            sin6.sin6_port = htons(port);
            /* runs of zeros, v4-mapped and plain addresses */
            for (int b = 0; b < 16; b++)
                sin6.sin6_addr.s6_addr[b] = (uint8_t)(lcg(&seed) % 3 ? 0 : lcg(&seed));
            if (i % 10 == 0) {
                memset(sin6.sin6_addr.s6_addr, 0, 10);
                sin6.sin6_addr.s6_addr[10] = sin6.sin6_addr.s6_addr[11] = 0xff;
            }
            memcpy(&in, &sin6, sizeof sin6);
            inlen = sizeof sin6;
        }
        char text[128];
        assert_int_equal(
            parley_uaddr_format((struct sockaddr *)&in, inlen, text, sizeof text, NULL), PARLEY_OK);
        assert_int_equal(parley_uaddr_parse(text, in.ss_family, &out, &outlen), PARLEY_OK);
        assert_int_equal(outlen, inlen);
        assert_memory_equal(&in, &out, inlen);
    }
}

static void test_netids_name_their_family_and_socket_type(void **state)
{
    (void)state;
    static const struct {
        const char *netid;
        int family, socktype;
        uint32_t semantics;
        const char *protofmly, *proto;
    } known[] = {
        {"tcp", AF_INET, SOCK_STREAM, PARLEY_NC_TPI_COTS_ORD, "inet", "tcp"},
        {"udp", AF_INET, SOCK_DGRAM, PARLEY_NC_TPI_CLTS, "inet", "udp"},
        {"tcp6", AF_INET6, SOCK_STREAM, PARLEY_NC_TPI_COTS_ORD, "inet6", "tcp"},
        {"udp6", AF_INET6, SOCK_DGRAM, PARLEY_NC_TPI_CLTS, "inet6", "udp"},
        {"local", AF_UNIX, SOCK_STREAM, PARLEY_NC_TPI_COTS_ORD, "loopback", "-"},
        {"unix", AF_UNIX, SOCK_STREAM, PARLEY_NC_TPI_COTS_ORD, "loopback", "-"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        const parley_netid *n = parley_netid_find(known[i].netid);
        assert_non_null(n);
        assert_string_equal(n->netid, known[i].netid);
        assert_int_equal(n->family, known[i].family);
        assert_int_equal(n->socktype, known[i].socktype);
        assert_int_equal(n->semantics, known[i].semantics);
        assert_string_equal(n->protofmly, known[i].protofmly);
        assert_string_equal(n->proto, known[i].proto);
    }
    const char *unknown[] = {"TCP", "tcp ", " tcp", "", "rdma", "ticotsord", "tcp66", "loc"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        assert_null(parley_netid_find(unknown[i]));
    assert_null(parley_netid_find(NULL));

    assert_string_equal(parley_netid_for(AF_INET, SOCK_STREAM)->netid, "tcp");
    assert_string_equal(parley_netid_for(AF_INET, SOCK_DGRAM)->netid, "udp");
    assert_string_equal(parley_netid_for(AF_INET6, SOCK_STREAM)->netid, "tcp6");
    assert_string_equal(parley_netid_for(AF_INET6, SOCK_DGRAM)->netid, "udp6");
    assert_string_equal(parley_netid_for(AF_UNIX, SOCK_STREAM)->netid, "local");
    assert_null(parley_netid_for(AF_UNIX, SOCK_DGRAM));
    assert_null(parley_netid_for(AF_INET, SOCK_RAW));
    assert_null(parley_netid_for(AF_UNSPEC, SOCK_STREAM));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_uaddrs_parse_to_their_address_and_format_back),
        cmocka_unit_test(test_ipv6_uaddrs_parse_to_their_address_and_format_back),
        cmocka_unit_test(test_other_ipv6_forms_parse_and_format_canonically),
        cmocka_unit_test(test_local_uaddrs_are_absolute_paths),
        cmocka_unit_test(test_malformed_ipv4_uaddrs_are_refused),
        cmocka_unit_test(test_malformed_ipv6_uaddrs_are_refused),
        cmocka_unit_test(test_malformed_local_uaddrs_are_refused),
        cmocka_unit_test(test_parse_refuses_bad_arguments),
        cmocka_unit_test(test_format_refuses_addresses_without_a_universal_form),
        cmocka_unit_test(test_format_needs_room_for_the_text_and_its_nul),
        cmocka_unit_test(test_socket_addresses_survive_the_trip_through_text),
        cmocka_unit_test(test_netids_name_their_family_and_socket_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
