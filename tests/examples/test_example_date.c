/*
 * tests/examples/test_example_date.c: the date example's server and client
 * as processes. The client's seconds are those of this machine's clock
 * between the test's readings before and after (the second may tick); its
 * text and struct tm are what the test computes itself from those seconds
 * in the same format and zone; clients in different zones at once each get
 * their own zone's time (the server sets TZ under a lock); an unknown zone,
 * a format too long and a text too long are refused with a sentence; the
 * clock offset the client measures on loopback is small.
 *
 *   test_example_date DATE_SERVER DATE_CLIENT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exproc.h"

static char *server_bin, *client_bin;
static ex_server server;

/* arg gives a string to an argv: execv takes char *const[] and writes
 * none of them. */
static char *arg(const char *s)
{
    union {
        const char *c;
        char *m;
    } u = {s};
    return u.m;
}

static int group_setup(void **state)
{
    (void)state;
    char *argv[] = {server_bin, arg("tcp://127.0.0.1:0"), NULL};
    return ex_server_start(&server, argv);
}

static int group_teardown(void **state)
{
    (void)state;
    return ex_server_stop(&server) == 0 ? 0 : -1;
}

/* local_tm breaks t down in zone here, as the server does there. */
static void local_tm(time_t t, const char *zone, struct tm *tm)
{
    setenv("TZ", zone, 1);
    tzset();
    assert_non_null(localtime_r(&t, tm));
}

/* line_after returns the rest of the line of out that begins with prefix,
 * copied into buf; fails the test when there is none. */
static const char *line_after(const char *out, const char *prefix, char *buf, size_t size)
{
    for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            p += strlen(prefix);
            snprintf(buf, size, "%.*s", (int)strcspn(p, "\n"), p);
            return buf;
        }
    }
    fail_msg("no line '%s...' in:\n%s", prefix, out);
    return NULL;
}

/* check_client checks one client's output for format and zone: its
 * seconds, text, struct tm and offset, against the test's clock read
 * before (t0) and after (t1) it ran. */
static void check_client(const char *out, const char *format, const char *zone, time_t t0,
                         time_t t1)
{
    char buf[1024], want[1024];
    long long now = 0;
    assert_int_equal(sscanf(line_after(out, "date: ", buf, sizeof buf), "%lld", &now), 1);
    assert_true(now >= (long long)t0 - 1 && now <= (long long)t1 + 1);

    struct tm tm;
    local_tm((time_t)now, zone, &tm);
    char text[512];
    /* the format comes from the test's own cases */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    assert_true(strftime(text, sizeof text, format, &tm) > 0 || format[0] == '\0');
#pragma GCC diagnostic pop
    snprintf(want, sizeof want, "date: %s (zone %s, format \"%s\")", text, zone, format);
    assert_non_null(strstr(out, want));

    snprintf(want, sizeof want,
             "sec=%d min=%d hour=%d mday=%d mon=%d year=%d wday=%d yday=%d isdst=%d "
             "gmtoff=%ld zone=%s",
             tm.tm_sec, tm.tm_min, tm.tm_hour, tm.tm_mday, tm.tm_mon, tm.tm_year, tm.tm_wday,
             tm.tm_yday, tm.tm_isdst, tm.tm_gmtoff, tm.tm_zone);
    assert_string_equal(line_after(out, "date: tm ", buf, sizeof buf), want);

    /* loopback, one clock: the offset and its bound are small (the bound
     * of 5 s leaves room for a loaded machine) */
    double offset = 99, bound = 99;
    assert_int_equal(sscanf(line_after(out, "date: clock offset ", buf, sizeof buf),
                            "%lf s (the server's clock less this host's), within %lf", &offset,
                            &bound),
                     2);
    assert_true(fabs(offset) < 5.0);
    assert_true(bound >= 0 && bound < 5.0);
}

/* run_client runs the client with a format and zone, and checks it. */
static void run_client(const char *format, const char *zone)
{
    char *argv[] = {client_bin, server.addr, arg("--format"), arg(format), arg("--zone"),
                    arg(zone),  NULL};
    char *out, *err;
    time_t t0 = time(NULL);
    int st = ex_run(argv, NULL, &out, &err);
    time_t t1 = time(NULL);
    assert_non_null(out);
    assert_non_null(err);
    if (st != 0)
        fprintf(stderr, "date_client said:\n%s%s", out, err);
    assert_int_equal(st, 0);
    check_client(out, format, zone, t0, t1);
    free(out);
    free(err);
}

static void test_the_time_in_a_format_and_zone_is_the_one_computed_here(void **state)
{
    (void)state;
    run_client("%Y-%m-%d %H:%M:%S %Z %z", "Europe/Paris");
    run_client("%A %d %B %Y, %I:%M:%S %p", "America/New_York");
    run_client("%s seconds, day %j of %Y, week %V", "UTC");
    run_client("%c", "Asia/Kolkata");
    run_client("", "Australia/Lord_Howe"); /* an empty text is a text */
}

static void test_clients_in_different_zones_at_once_each_get_their_own(void **state)
{
    (void)state;
    static const char *const zones[] = {"Europe/Paris", "America/Los_Angeles", "Asia/Tokyo",
                                        "UTC",          "Pacific/Chatham",     "America/St_Johns"};
    enum { N = sizeof zones / sizeof zones[0], ROUNDS = 3 };
    const char *format = "%Y-%m-%d %H:%M:%S %Z %z";
    for (int round = 0; round < ROUNDS; round++) {
        ex_child c[N];
        time_t t0 = time(NULL);
        for (int i = 0; i < N; i++) {
            char *argv[] = {client_bin,    server.addr, arg("--format"), arg(format), arg("--zone"),
                            arg(zones[i]), NULL};
            assert_int_equal(ex_run_start(&c[i], argv, NULL), 0);
        }
        char *out[N], *err[N];
        int st[N];
        for (int i = 0; i < N; i++)
            st[i] = ex_run_wait(&c[i], &out[i], &err[i]);
        time_t t1 = time(NULL);
        for (int i = 0; i < N; i++) {
            assert_non_null(out[i]);
            assert_int_equal(st[i], 0);
            check_client(out[i], format, zones[i], t0, t1);
            free(out[i]);
            free(err[i]);
        }
    }
}

/* refused runs the client with format and zone, and checks that it fails
 * with the server's sentence containing why. */
static void refused(const char *format, const char *zone, const char *why)
{
    char *argv[] = {client_bin, server.addr, arg("--format"), arg(format), arg("--zone"),
                    arg(zone),  NULL};
    char *out, *err;
    assert_int_equal(ex_run(argv, NULL, &out, &err), 1);
    assert_non_null(err);
    if (strstr(err, why) == NULL)
        fail_msg("expected '%s' in: %s", why, err);
    assert_non_null(strstr(err, "date_client: the server refused: "));
    free(out);
    free(err);
}

static void test_bad_input_is_refused_with_a_clear_reply(void **state)
{
    (void)state;
    refused("%c", "No/Such_Zone", "unknown time zone 'No/Such_Zone'");
    refused("%c", "../../../etc/passwd", "unknown time zone '../../../etc/passwd'");
    refused("%c", "Europe", "unknown time zone 'Europe'"); /* a folder, not a zone */
    char longfmt[201];
    memset(longfmt, 'x', 200);
    longfmt[200] = '\0';
    refused(longfmt, "UTC", "the format is 200 bytes, more than the 128 the server takes");
    /* 20 times %c: over 400 bytes of text from 40 of format */
    char manyc[41] = "";
    for (int i = 0; i < 20; i++)
        strcat(manyc, "%c");
    refused(manyc, "UTC", "the text would be longer than 256 bytes");
    /* the server goes on serving after each */
    run_client("%H:%M", "UTC");
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_example_date DATE_SERVER DATE_CLIENT [FILTER]\n");
        return 2;
    }
    server_bin = argv[1];
    client_bin = argv[2];
    if (argc > 3)
        cmocka_set_test_filter(argv[3]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_time_in_a_format_and_zone_is_the_one_computed_here),
        cmocka_unit_test(test_clients_in_different_zones_at_once_each_get_their_own),
        cmocka_unit_test(test_bad_input_is_refused_with_a_clear_reply),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
