/*
 * tests/examples/test_example_users.c: the users example's server and
 * client as processes. The server reads a utmp file the test writes (struct
 * utmpx records: names, terminals, hosts and times the test chooses, among
 * records of other types that are not logins), more entries than one page;
 * the client's table is checked line by line against the one the test
 * builds from those records, over several page sizes. The accounts the
 * client lists are the machine's own (getpwent), in its order. Bad options
 * and an unreadable utmp file are said clearly. TCP mostly; UDP and a Unix
 * socket page the same.
 *
 *   test_example_users USERS_SERVER USERS_CLIENT
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <utmpx.h>

#include "exproc.h"

static char *server_bin, *client_bin;
static char tmpdir[256], utmp_path[300], empty_path[300];

/* The logins the test writes: more than a page of 3, a name that fills
 * ut_user without a NUL, a local login (no host), a long host, and a
 * terminal that exists (/dev/null: its idle time is the device's). */
static const struct {
    const char *name, *line, *host;
    long when;
} logins[] = {
    {"alice", "pts/test1", "10.1.2.3", 1790000000},
    {"bob", "pts/test2", "", 1790003661},
    {"abcdefghijklmnopqrstuvwxyz012345", "tty/test3", "lab.example.org", 1790007322},
    {"carol", "pts/test4", "a-rather-long-host-name.in.a.deep.domain.example.net", 1790010983},
    {"dave", "null", "192.0.2.77", 1790014644},
    {"erin", "pts/test6", "", 1790018305},
    {"frank", "pts/test7", "::1", 1790021966},
};
enum { NLOGINS = sizeof logins / sizeof logins[0], DEV_NULL_ROW = 4 };

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

/* put_record appends one utmpx record of type to fd. */
static void put_record(int fd, short type, const char *name, const char *line, const char *host,
                       long when, int pid)
{
    struct utmpx u;
    memset(&u, 0, sizeof u);
    u.ut_type = type;
    u.ut_pid = pid;
    strncpy(u.ut_user, name, sizeof u.ut_user);
    strncpy(u.ut_line, line, sizeof u.ut_line);
    strncpy(u.ut_host, host, sizeof u.ut_host);
    snprintf(u.ut_id, sizeof u.ut_id, "%d", pid % 1000);
    u.ut_tv.tv_sec = (int32_t)when;
    assert_int_equal(write(fd, &u, sizeof u), (ssize_t)sizeof u);
}

static int group_setup(void **state)
{
    (void)state;
    if (ex_tmpdir(tmpdir, sizeof tmpdir) != 0)
        return -1;
    snprintf(utmp_path, sizeof utmp_path, "%s/utmp", tmpdir);
    snprintf(empty_path, sizeof empty_path, "%s/utmp.empty", tmpdir);
    int fd = open(utmp_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    /* what a real utmp holds besides logins: boot, run level, a getty,
     * an ended session; none of them is listed */
    put_record(fd, BOOT_TIME, "reboot", "~", "", 1789990000, 0);
    put_record(fd, RUN_LVL, "runlevel", "~", "", 1789990001, 0);
    for (int i = 0; i < NLOGINS; i++) {
        put_record(fd, USER_PROCESS, logins[i].name, logins[i].line, logins[i].host, logins[i].when,
                   100 + i);
        if (i == 2)
            put_record(fd, LOGIN_PROCESS, "LOGIN", "tty9", "", 1789990002, 99);
        if (i == 4)
            put_record(fd, DEAD_PROCESS, "gone", "pts/test9", "old.example", 1789990003, 98);
    }
    close(fd);
    fd = open(empty_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    ex_rmdir(tmpdir);
    return 0;
}

/* A table built the way the client prints one: each column as wide as its
 * widest cell, two spaces between columns, the last not padded, the right
 * columns (bits) aligned right. */
enum { MAX_ROWS = 4096, MAX_CELL = 300 };
typedef struct expect {
    int ncols;
    unsigned right;
    int nrows;
    char (*cells)[5][MAX_CELL];
} expect;

static void expect_row(expect *t, const char *c0, const char *c1, const char *c2, const char *c3,
                       const char *c4)
{
    const char *c[5] = {c0, c1, c2, c3, c4};
    assert_true(t->nrows < MAX_ROWS);
    for (int i = 0; i < 5; i++)
        snprintf(t->cells[t->nrows][i], MAX_CELL, "%s", c[i]);
    t->nrows++;
}

/* expect_line writes row r of t as the client prints it into line. */
static void expect_line(const expect *t, int r, char *line, size_t size)
{
    size_t width[5] = {0};
    for (int k = 0; k < t->nrows; k++)
        for (int i = 0; i < t->ncols; i++)
            if (strlen(t->cells[k][i]) > width[i])
                width[i] = strlen(t->cells[k][i]);
    size_t n = 0;
    for (int i = 0; i < t->ncols && n < size; i++) {
        const char *cell = t->cells[r][i];
        const char *sep = i ? "  " : "";
        if (t->right & (1u << i))
            n += (size_t)snprintf(line + n, size - n, "%s%*s", sep, (int)width[i], cell);
        else if (i == t->ncols - 1)
            n += (size_t)snprintf(line + n, size - n, "%s%s", sep, cell);
        else
            n += (size_t)snprintf(line + n, size - n, "%s%-*s", sep, (int)width[i], cell);
    }
}

/* next_line returns the line at *p (cut at its '\n') and moves *p past
 * it; NULL at the end. */
static char *next_line(char **p)
{
    if (!*p || !**p)
        return NULL;
    char *line = *p;
    char *nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = line + strlen(line);
    }
    return line;
}

/* start_at starts the users server on addr with up to four arguments
 * (NULL: no more) before it. */
static void start_at(ex_server *s, const char *addr, const char *a1, const char *a2, const char *a3,
                     const char *a4)
{
    const char *given[] = {a1, a2, a3, a4};
    char *argv[7] = {server_bin};
    int n = 1;
    for (int i = 0; i < 4 && given[i]; i++)
        argv[n++] = arg(given[i]);
    argv[n++] = arg(addr);
    argv[n] = NULL;
    assert_int_equal(ex_server_start(s, argv), 0);
}

/* start starts the users server on TCP (see start_at). */
static void start(ex_server *s, const char *a1, const char *a2, const char *a3, const char *a4)
{
    start_at(s, "tcp://127.0.0.1:0", a1, a2, a3, a4);
}

/* client runs the users client against addr with the arguments given
 * (NULL-ended), in TZ=UTC; its exit status, and its output in *out and
 * *err (to free). */
static int client(const char *addr, char **out, char **err, const char *a1, const char *a2,
                  const char *a3)
{
    static char tz[] = "TZ=UTC";
    char *const env[] = {tz, NULL};
    char *argv[] = {client_bin, arg(addr), arg(a1), arg(a2), arg(a3), NULL};
    int st = ex_run(argv, env, out, err);
    assert_non_null(*out);
    assert_non_null(*err);
    if (st != 0)
        fprintf(stderr, "users_client said:\n%s%s", *out, *err);
    return st;
}

/* check_who checks the client's who output: the count, the pages, and the
 * table line by line (the idle time of /dev/null only as known). */
static void check_who(char *out, int pages)
{
    expect t = {5, 0, 0, calloc(MAX_ROWS, sizeof *t.cells)};
    assert_non_null(t.cells);
    expect_row(&t, "NAME", "LINE", "FROM", "LOGIN", "IDLE");
    for (int i = 0; i < NLOGINS; i++) {
        char when[32];
        time_t lt = (time_t)logins[i].when;
        struct tm tm;
        assert_non_null(gmtime_r(&lt, &tm));
        strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
        expect_row(&t, logins[i].name, logins[i].line, logins[i].host[0] ? logins[i].host : "-",
                   when, "-");
    }
    char *p = out, *line, want[1024];
    snprintf(want, sizeof want, "users: %d logged in (%d page%s)", NLOGINS, pages,
             pages == 1 ? "" : "s");
    line = next_line(&p);
    assert_non_null(line);
    assert_string_equal(line, want);
    for (int r = 0; r < t.nrows; r++) {
        line = next_line(&p);
        assert_non_null(line);
        expect_line(&t, r, want, sizeof want);
        if (r == DEV_NULL_ROW + 1) {
            /* a terminal that exists: an idle time, not "-" */
            size_t idle_at = strlen(want) - 1;
            assert_true(strlen(line) > idle_at);
            assert_memory_equal(line, want, idle_at);
            assert_string_not_equal(line + idle_at, "-");
        } else {
            assert_string_equal(line, want);
        }
    }
    assert_null(next_line(&p));
    free(t.cells);
}

static void test_who_lists_exactly_the_logins_of_the_utmp_file_a_page_at_a_time(void **state)
{
    (void)state;
    ex_server s;
    start(&s, "--utmp", utmp_path, "--page-max", "3");
    char *out, *err;
    /* the server's page size, 3: 7 logins in 3 pages */
    assert_int_equal(client(s.addr, &out, &err, "who", NULL, NULL), 0);
    check_who(out, 3);
    free(out);
    free(err);
    /* pages of 2 asked for: 4 pages */
    assert_int_equal(client(s.addr, &out, &err, "--page", "2", "who"), 0);
    check_who(out, 4);
    free(out);
    free(err);
    /* more than the server's cap asked for: capped at 3 */
    assert_int_equal(client(s.addr, &out, &err, "--page", "50", "who"), 0);
    check_who(out, 3);
    free(out);
    free(err);
    /* one login a page: a page each, and the last one says no more */
    assert_int_equal(client(s.addr, &out, &err, "--page", "1", "who"), 0);
    check_who(out, NLOGINS);
    free(out);
    free(err);
    assert_int_equal(ex_server_stop(&s), 0);
}

static void test_who_over_udp_and_a_unix_socket_pages_the_same(void **state)
{
    (void)state;
    char unix_addr[320];
    snprintf(unix_addr, sizeof unix_addr, "unix:%s/users.sock", tmpdir);
    const char *addrs[] = {"udp://127.0.0.1:0", unix_addr};
    for (int k = 0; k < 2; k++) {
        ex_server s;
        start_at(&s, addrs[k], "--utmp", utmp_path, "--page-max", "3");
        char *out, *err;
        assert_int_equal(client(s.addr, &out, &err, "--page", "2", "who"), 0);
        check_who(out, 4);
        free(out);
        free(err);
        assert_int_equal(ex_server_stop(&s), 0);
    }
}

static void test_a_server_with_a_large_page_answers_in_one_page(void **state)
{
    (void)state;
    ex_server s;
    start(&s, "--utmp", utmp_path, NULL, NULL); /* the default page size, 50 */
    char *out, *err;
    assert_int_equal(client(s.addr, &out, &err, NULL, NULL, NULL), 0); /* who by default */
    check_who(out, 1);
    free(out);
    free(err);
    assert_int_equal(ex_server_stop(&s), 0);
}

static void test_an_empty_utmp_file_lists_nobody(void **state)
{
    (void)state;
    ex_server s;
    start(&s, "--utmp", empty_path, NULL, NULL);
    char *out, *err;
    assert_int_equal(client(s.addr, &out, &err, "who", NULL, NULL), 0);
    assert_string_equal(out, "users: 0 logged in (1 page)\n");
    free(out);
    free(err);
    assert_int_equal(ex_server_stop(&s), 0);
}

static void test_a_utmp_file_gone_is_a_clear_error_reply(void **state)
{
    (void)state;
    char path[320];
    snprintf(path, sizeof path, "%s/utmp.gone", tmpdir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    close(fd);
    ex_server s;
    start(&s, "--utmp", path, NULL, NULL);
    assert_int_equal(unlink(path), 0);
    char *out, *err;
    char *argv[] = {client_bin, s.addr, arg("who"), NULL};
    assert_int_equal(ex_run(argv, NULL, &out, &err), 1);
    assert_non_null(strstr(err, "the server cannot list its logins: cannot read "));
    assert_non_null(strstr(err, "utmp.gone: No such file or directory"));
    free(out);
    free(err);
    assert_int_equal(ex_server_stop(&s), 0);
}

static void test_accounts_are_those_of_getpwent_in_its_order(void **state)
{
    (void)state;
    expect t = {5, 1u << 1 | 1u << 2, 0, calloc(MAX_ROWS, sizeof *t.cells)};
    assert_non_null(t.cells);
    expect_row(&t, "NAME", "UID", "GID", "HOME", "SHELL");
    setpwent();
    for (struct passwd *pw = getpwent(); pw; pw = getpwent()) {
        char uid[16], gid[16], name[40];
        snprintf(uid, sizeof uid, "%u", (unsigned)pw->pw_uid);
        snprintf(gid, sizeof gid, "%u", (unsigned)pw->pw_gid);
        snprintf(name, sizeof name, "%.32s", pw->pw_name);
        expect_row(&t, name, uid, gid, pw->pw_dir[0] ? pw->pw_dir : "-",
                   pw->pw_shell[0] ? pw->pw_shell : "-");
    }
    endpwent();
    int naccounts = t.nrows - 1;
    assert_true(naccounts > 0);

    ex_server s;
    start(&s, "--utmp", empty_path, "--page-max", "4");
    for (int page = 1; page <= 4; page += 3) {
        char *out, *err, pg[8], want[2048];
        snprintf(pg, sizeof pg, "%d", page);
        assert_int_equal(client(s.addr, &out, &err, "--page", pg, "accounts"), 0);
        int pages = naccounts / page + (naccounts % page != 0);
        snprintf(want, sizeof want, "users: %d accounts (%d page%s)", naccounts, pages,
                 pages == 1 ? "" : "s");
        char *p = out, *line = next_line(&p);
        assert_non_null(line);
        assert_string_equal(line, want);
        for (int r = 0; r < t.nrows; r++) {
            line = next_line(&p);
            assert_non_null(line);
            expect_line(&t, r, want, sizeof want);
            assert_string_equal(line, want);
        }
        assert_null(next_line(&p));
        free(out);
        free(err);
    }
    free(t.cells);

    /* the look-up by uid agrees with getpwuid */
    struct passwd *root = getpwuid(0);
    assert_non_null(root);
    char *out, *err, want[1024];
    assert_int_equal(client(s.addr, &out, &err, "uid", "0", NULL), 0);
    snprintf(want, sizeof want, "users: uid 0 is %s (gid %u, home %s, shell %s)\n", root->pw_name,
             (unsigned)root->pw_gid, root->pw_dir, root->pw_shell);
    assert_string_equal(out, want);
    free(out);
    free(err);
    assert_int_equal(ex_server_stop(&s), 0);
}

static void test_logins_are_counted_exactly_once_in_the_store(void **state)
{
    (void)state;
    char store[320];
    snprintf(store, sizeof store, "%s/users.store", tmpdir);
    for (int run = 1; run <= 2; run++) {
        ex_server s;
        start(&s, "--utmp", empty_path, "--store", store);
        char *out, *err, want[256];
        assert_int_equal(client(s.addr, &out, &err, "login", "ada", NULL), 0);
        snprintf(want, sizeof want,
                 "users: ada logged in, login number %d (counted exactly once)\n", run);
        assert_string_equal(out, want);
        free(out);
        free(err);
        assert_int_equal(ex_server_stop(&s), 0);
    }
}

static void test_bad_options_are_named(void **state)
{
    (void)state;
    char *out, *err;
    char missing[320];
    snprintf(missing, sizeof missing, "%s/no-such-utmp", tmpdir);
    char *s1[] = {server_bin, arg("--utmp"), missing, NULL};
    assert_int_equal(ex_run(s1, NULL, &out, &err), 1);
    assert_non_null(strstr(err, "no-such-utmp: No such file or directory"));
    free(out);
    free(err);
    char *s2[] = {server_bin, arg("--page-max"), arg("1000"), NULL};
    assert_int_equal(ex_run(s2, NULL, &out, &err), 2);
    assert_non_null(strstr(err, "--page-max 1000: not a number from 1 to 100"));
    free(out);
    free(err);
    char *s3[] = {server_bin, arg("--utmpp"), missing, NULL};
    assert_int_equal(ex_run(s3, NULL, &out, &err), 2);
    assert_non_null(strstr(err, "--utmpp: unknown option"));
    free(out);
    free(err);
    char *c1[] = {client_bin, arg("tcp://127.0.0.1:1"), arg("whom"), NULL};
    assert_int_equal(ex_run(c1, NULL, &out, &err), 2);
    assert_non_null(strstr(err, "whom: not a command"));
    free(out);
    free(err);
    char *c2[] = {client_bin, arg("tcp://127.0.0.1:1"), arg("--page"), arg("0"), NULL};
    assert_int_equal(ex_run(c2, NULL, &out, &err), 2);
    assert_non_null(strstr(err, "--page 0: not a number above 0"));
    free(out);
    free(err);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_example_users USERS_SERVER USERS_CLIENT [FILTER]\n");
        return 2;
    }
    server_bin = argv[1];
    client_bin = argv[2];
    if (argc > 3)
        cmocka_set_test_filter(argv[3]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_who_lists_exactly_the_logins_of_the_utmp_file_a_page_at_a_time),
        cmocka_unit_test(test_who_over_udp_and_a_unix_socket_pages_the_same),
        cmocka_unit_test(test_a_server_with_a_large_page_answers_in_one_page),
        cmocka_unit_test(test_an_empty_utmp_file_lists_nobody),
        cmocka_unit_test(test_a_utmp_file_gone_is_a_clear_error_reply),
        cmocka_unit_test(test_accounts_are_those_of_getpwent_in_its_order),
        cmocka_unit_test(test_logins_are_counted_exactly_once_in_the_store),
        cmocka_unit_test(test_bad_options_are_named),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
