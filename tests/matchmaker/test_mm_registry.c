/*
 * tests/matchmaker/test_mm_registry.c: the registration table
 * (matchmaker/registry.c): names, owners and their rights, rpcbind's SET
 * and the matchmaker's replacing REGISTER, the two unsets, look-ups, the
 * bound on entries, removal by predicate, threads, and the warm-start file
 * written and read back, with every kind of corrupt line reported at its
 * line number.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "registry.h"

/* ---- helpers -------------------------------------------------------------- */

static mm_reg_entry entry(const char *name, uint32_t prog, uint32_t vers, const char *netid,
                          const char *uaddr, uid_t owner)
{
    mm_reg_entry e;
    memset(&e, 0, sizeof e);
    snprintf(e.name, sizeof e.name, "%s", name);
    e.prog = prog;
    e.vers = vers;
    snprintf(e.netid, sizeof e.netid, "%s", netid);
    snprintf(e.uaddr, sizeof e.uaddr, "%s", uaddr);
    e.owner = owner;
    e.pid = 42;
    e.registered = 1700000000;
    return e;
}

static mm_registry *new_registry(size_t max)
{
    mm_registry *r = NULL;
    assert_int_equal(mm_registry_create(&r, max), 0);
    assert_non_null(r);
    return r;
}

static void set_ok(mm_registry *r, mm_reg_entry e, unsigned flags)
{
    mm_status st = mm_registry_set(r, &e, flags);
    if (st != MM_OK)
        fail_msg("set %s %u/%u/%s %s: status %d", e.name, e.prog, e.vers, e.netid, e.uaddr, st);
}

/* A temporary directory for the files of one test, removed with its files. */
static char tmpdir[64];

static int make_tmpdir(void **state)
{
    (void)state;
    strcpy(tmpdir, "/tmp/mm-registry-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    DIR *d = opendir(tmpdir);
    if (!d)
        return -1;
    struct dirent *de;
    char path[512];
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", tmpdir, de->d_name);
        if (remove(path) != 0)
            rmdir(path);
    }
    closedir(d);
    return rmdir(tmpdir);
}

static const char *tmp_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static size_t files_in_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* ---- names, owners, rights ------------------------------------------------ */

static void test_service_names_are_letters_digits_dots_dashes_underscores(void **state)
{
    (void)state;
    char longest[MM_NAME_MAX + 1], toolong[MM_NAME_MAX + 2];
    memset(longest, 'n', MM_NAME_MAX);
    longest[MM_NAME_MAX] = '\0';
    memset(toolong, 'n', MM_NAME_MAX + 1);
    toolong[MM_NAME_MAX + 1] = '\0';
    const char *good[] = {"a", "0", "date", "users.v2", "nfs-idmap", "A_b", "9lives", longest};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!mm_name_valid(good[i]))
            fail_msg("'%s' should be valid", good[i]);
    const char *bad[] = {"",    "-a",  ".a",  "_a",     "a b",  "a/b", "caf\xc3\xa9",
                         "a\n", "a:b", "a%b", "date\t", toolong};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (mm_name_valid(bad[i]))
            fail_msg("'%s' should be invalid", bad[i]);
    assert_false(mm_name_valid(NULL));
}

static void test_owners_are_written_as_rpcbind_writes_them(void **state)
{
    (void)state;
    char buf[MM_OWNER_TEXT_MAX + 1];
    mm_owner_format(0, buf);
    assert_string_equal(buf, "superuser");
    mm_owner_format(MM_UID_UNKNOWN, buf);
    assert_string_equal(buf, "unknown");
    mm_owner_format(1000, buf);
    assert_string_equal(buf, "1000");
    mm_owner_format((uid_t)4294967294u, buf);
    assert_string_equal(buf, "4294967294");
}

static void test_root_owners_and_anyone_for_unknown_owners_may_modify(void **state)
{
    (void)state;
    assert_true(mm_registry_may_modify(0, 1000));
    assert_true(mm_registry_may_modify(0, MM_UID_UNKNOWN));
    assert_true(mm_registry_may_modify(1000, 1000));
    assert_true(mm_registry_may_modify(1000, MM_UID_UNKNOWN));
    assert_true(mm_registry_may_modify(MM_UID_UNKNOWN, MM_UID_UNKNOWN));
    assert_false(mm_registry_may_modify(1000, 1001));
    assert_false(mm_registry_may_modify(1000, 0));
    assert_false(mm_registry_may_modify(MM_UID_UNKNOWN, 1000));
    assert_false(mm_registry_may_modify(MM_UID_UNKNOWN, 0));
}

static void test_create_bounds_the_number_of_entries(void **state)
{
    (void)state;
    mm_registry *r = NULL;
    assert_int_equal(mm_registry_create(&r, MM_LIST_MAX + 1), EINVAL);
    assert_null(r);
    assert_int_equal(mm_registry_create(NULL, 0), EINVAL);
    r = new_registry(MM_LIST_MAX);
    mm_registry_destroy(r);
    r = new_registry(0); /* the default */
    for (unsigned i = 0; i < MM_REG_DEFAULT_MAX; i++)
        set_ok(r, entry("", 1000000 + i, 1, "tcp", "127.0.0.1.0.1", 0), 0);
    mm_reg_entry e = entry("", 7, 1, "tcp", "127.0.0.1.0.1", 0);
    assert_int_equal(mm_registry_set(r, &e, 0), MM_FULL);
    assert_int_equal(mm_registry_count(r), MM_REG_DEFAULT_MAX);
    mm_registry_destroy(r);
    mm_registry_destroy(NULL);
}

/* ---- set ------------------------------------------------------------------ */

static void test_set_stores_a_canonical_copy_that_get_finds(void **state)
{
    (void)state;
    mm_registry *r = new_registry(0);
    mm_reg_entry e = entry("date", 0x20000100, 1, "tcp6", "0:0:0:0:0:0:0:1.15.160", 1000);
    time_t before = time(NULL);
    e.registered = 0; /* now */
    assert_int_equal(mm_registry_set(r, &e, MM_REG_REPLACE), MM_OK);
    time_t after = time(NULL);
    mm_reg_entry got;
    assert_int_equal(mm_registry_get(r, 0x20000100, 1, "tcp6", &got), MM_OK);
    assert_string_equal(got.name, "date");
    assert_string_equal(got.uaddr, "::1.15.160");
    assert_int_equal(got.owner, 1000);
    assert_int_equal(got.pid, 42);
    assert_true(got.registered >= before && got.registered <= after);
    assert_true(got.id > 0);
    assert_int_equal(mm_registry_get(r, 0x20000100, 2, "tcp6", &got), MM_NOENT);
    assert_int_equal(mm_registry_get(r, 0x20000100, 1, "tcp", &got), MM_NOENT);
    assert_int_equal(mm_registry_get(r, 0x20000100, 1, "", &got), MM_NOENT);
    assert_int_equal(mm_registry_get(r, 0x20000100, 1, NULL, &got), MM_NOENT);
    /* a given time is kept, a negative pid becomes unknown */
    e = entry("", 100003, 3, "udp", "0.0.0.0.8.1", 0);
    e.registered = 12345;
    e.pid = -5;
    set_ok(r, e, 0);
    assert_int_equal(mm_registry_get(r, 100003, 3, "udp", &got), MM_OK);
    assert_int_equal(got.registered, 12345);
    assert_int_equal(got.pid, 0);
    mm_registry_destroy(r);
}

static void test_set_refuses_invalid_entries(void **state)
{
    (void)state;
    mm_registry *r = new_registry(0);
    mm_reg_entry bad[] = {
        entry("-bad", 1, 1, "tcp", "127.0.0.1.0.1", 0),
        entry("a b", 1, 1, "tcp", "127.0.0.1.0.1", 0),
        entry("date", 1, 0, "tcp", "127.0.0.1.0.1", 0), /* named, version 0 */
        entry("", 1, 1, "TCP", "127.0.0.1.0.1", 0),
        entry("", 1, 1, "", "127.0.0.1.0.1", 0),
        entry("", 1, 1, "rdma", "127.0.0.1.0.1", 0),
        entry("", 1, 1, "tcp", "::1.0.1", 0),
        entry("", 1, 1, "tcp6", "127.0.0.1.0.1", 0),
        entry("", 1, 1, "local", "relative.sock", 0),
        entry("", 1, 1, "udp", "127.0.0.1.0.1 ", 0),
        entry("", 1, 1, "udp", "", 0),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        for (unsigned flags = 0; flags <= MM_REG_REPLACE; flags++)
            if (mm_registry_set(r, &bad[i], flags) != MM_INVALID)
                fail_msg("entry %zu was accepted", i);
    /* strings not terminated within their arrays */
    mm_reg_entry e = entry("date", 1, 1, "tcp", "127.0.0.1.0.1", 0);
    memset(e.name, 'n', sizeof e.name);
    assert_int_equal(mm_registry_set(r, &e, 0), MM_INVALID);
    e = entry("date", 1, 1, "tcp", "127.0.0.1.0.1", 0);
    memset(e.netid, 't', sizeof e.netid);
    assert_int_equal(mm_registry_set(r, &e, 0), MM_INVALID);
    e = entry("date", 1, 1, "tcp", "127.0.0.1.0.1", 0);
    memset(e.uaddr, '1', sizeof e.uaddr);
    assert_int_equal(mm_registry_set(r, &e, 0), MM_INVALID);
    assert_int_equal(mm_registry_count(r), 0);
    /* an unnamed entry of version 0 is rpcbind's business, and allowed */
    set_ok(r, entry("", 1, 0, "tcp", "127.0.0.1.0.1", 0), 0);
    mm_registry_destroy(r);
}

static void test_rpcbind_set_never_replaces_but_accepts_the_same_registration(void **state)
{
    (void)state;
    mm_registry *r = new_registry(0);
    set_ok(r, entry("", 100005, 3, "tcp", "0.0.0.0.3.1", 1000), 0);
    mm_reg_entry got;
    assert_int_equal(mm_registry_get(r, 100005, 3, "tcp", &got), MM_OK);
    uint64_t id = got.id;
    /* the same registration, by anyone: TRUE, nothing changes */
    set_ok(r, entry("", 100005, 3, "tcp", "0.0.0.0.3.1", 1000), 0);
    set_ok(r, entry("", 100005, 3, "tcp", "0.0.0.0.3.1", 2000), 0);
    assert_int_equal(mm_registry_get(r, 100005, 3, "tcp", &got), MM_OK);
    assert_int_equal(got.id, id);
    assert_int_equal(got.owner, 1000);
    /* another address: refused, even for the owner and root */
    mm_reg_entry e = entry("", 100005, 3, "tcp", "0.0.0.0.3.2", 1000);
    assert_int_equal(mm_registry_set(r, &e, 0), MM_EXISTS);
    e.owner = 0;
    assert_int_equal(mm_registry_set(r, &e, 0), MM_EXISTS);
    /* other versions and transports are other keys */
    set_ok(r, entry("", 100005, 1, "tcp", "0.0.0.0.3.2", 1000), 0);
    set_ok(r, entry("", 100005, 3, "udp", "0.0.0.0.3.2", 1000), 0);
    assert_int_equal(mm_registry_count(r), 3);
    /* a named registration whose name key is taken by another program */
    set_ok(r, entry("mountd", 100005, 4, "tcp", "0.0.0.0.3.3", 1000), 0);
    e = entry("mountd", 200005, 4, "tcp", "0.0.0.0.3.3", 1000);
    assert_int_equal(mm_registry_set(r, &e, 0), MM_EXISTS);
    /* and the same program under another name */
    e = entry("other", 100005, 4, "tcp", "0.0.0.0.3.3", 1000);
    assert_int_equal(mm_registry_set(r, &e, 0), MM_EXISTS);
    assert_int_equal(mm_registry_count(r), 4);
    mm_registry_destroy(r);
}

static void test_register_replaces_only_what_the_caller_may_modify(void **state)
{
    (void)state;
    mm_registry *r = new_registry(0);
    set_ok(r, entry("date", 0x20000100, 1, "tcp", "127.0.0.1.15.160", 1000), MM_REG_REPLACE);
    /* the owner moves it */
    set_ok(r, entry("date", 0x20000100, 1, "tcp", "127.0.0.1.15.161", 1000), MM_REG_REPLACE);
    mm_reg_entry got;
    assert_int_equal(mm_registry_get(r, 0x20000100, 1, "tcp", &got), MM_OK);
    assert_string_equal(got.uaddr, "127.0.0.1.15.161");
    assert_int_equal(mm_registry_count(r), 1);
    /* another user may not, by either key */
    mm_reg_entry e = entry("date", 0x20000100, 1, "tcp", "127.0.0.1.15.162", 1001);
    assert_int_equal(mm_registry_set(r, &e, MM_REG_REPLACE), MM_EXISTS);
    e = entry("date", 0x20000999, 1, "tcp", "127.0.0.1.15.162", 1001);
    assert_int_equal(mm_registry_set(r, &e, MM_REG_REPLACE), MM_EXISTS);
    e = entry("imposter", 0x20000100, 1, "tcp", "127.0.0.1.15.162", 1001);
    assert_int_equal(mm_registry_set(r, &e, MM_REG_REPLACE), MM_EXISTS);
    e = entry("date", 0x20000100, 1, "tcp", "127.0.0.1.15.162", MM_UID_UNKNOWN);
    assert_int_equal(mm_registry_set(r, &e, MM_REG_REPLACE), MM_EXISTS);
    assert_int_equal(mm_registry_get(r, 0x20000100, 1, "tcp", &got), MM_OK);
    assert_string_equal(got.uaddr, "127.0.0.1.15.161");
    assert_int_equal(got.owner, 1000);
    /* root may, and then owns it */
    set_ok(r, entry("date", 0x20000100, 1, "tcp", "127.0.0.1.15.163", 0), MM_REG_REPLACE);
    assert_int_equal(mm_registry_get(r, 0x20000100, 1, "tcp", &got), MM_OK);
    assert_int_equal(got.owner, 0);
    /* anyone may replace an entry whose owner is unknown */
    set_ok(r, entry("ghost", 0x20000200, 1, "udp", "127.0.0.1.1.1", MM_UID_UNKNOWN), 0);
    set_ok(r, entry("ghost", 0x20000200, 1, "udp", "127.0.0.1.1.2", 1001), MM_REG_REPLACE);
    assert_int_equal(mm_registry_get(r, 0x20000200, 1, "udp", &got), MM_OK);
    assert_int_equal(got.owner, 1001);
    assert_int_equal(mm_registry_count(r), 2);
    mm_registry_destroy(r);
}

static void test_register_over_two_entries_replaces_both(void **state)
{
    (void)state;
    mm_registry *r = new_registry(0);
    set_ok(r, entry("svc-a", 1, 1, "tcp", "127.0.0.1.0.1", 1000), 0);
    set_ok(r, entry("svc-b", 2, 1, "tcp", "127.0.0.1.0.2", 1000), 0);
    set_ok(r, entry("svc-c", 3, 1, "tcp", "127.0.0.1.0.3", 1000), 0);
    /* prog 1 holds the (prog, vers, netid) key and svc-b the name key */
    set_ok(r, entry("svc-b", 1, 1, "tcp", "127.0.0.1.0.9", 1000), MM_REG_REPLACE);
    assert_int_equal(mm_registry_count(r), 2);
    mm_reg_entry *v;
    size_t n;
    assert_int_equal(mm_registry_snapshot(r, &v, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].name, "svc-c");
    assert_string_equal(v[1].name, "svc-b");
    assert_int_equal(v[1].prog, 1);
    free(v);
    /* when one of the two is another user's, neither is touched */
    set_ok(r, entry("svc-d", 4, 1, "tcp", "127.0.0.1.0.4", 2000), 0);
    mm_reg_entry e = entry("svc-d", 3, 1, "tcp", "127.0.0.1.0.5", 1000);
    assert_int_equal(mm_registry_set(r, &e, MM_REG_REPLACE), MM_EXISTS);
    assert_int_equal(mm_registry_count(r), 3);
    mm_reg_entry got;
    assert_int_equal(mm_registry_get(r, 3, 1, "tcp", &got), MM_OK);
    assert_string_equal(got.name, "svc-c");
    mm_registry_destroy(r);
}

static void test_a_full_table_refuses_new_keys_but_takes_replacements(void **state)
{
    (void)state;
    mm_registry *r = new_registry(4);
    for (uint32_t i = 0; i < 4; i++)
        set_ok(r, entry("", 100 + i, 1, "udp", "127.0.0.1.0.1", 1000), 0);
    mm_reg_entry e = entry("", 200, 1, "udp", "127.0.0.1.0.1", 1000);
    assert_int_equal(mm_registry_set(r, &e, 0), MM_FULL);
    assert_int_equal(mm_registry_set(r, &e, MM_REG_REPLACE), MM_FULL);
    set_ok(r, entry("", 100, 1, "udp", "127.0.0.1.0.2", 1000), MM_REG_REPLACE);
    assert_int_equal(mm_registry_count(r), 4);
    assert_int_equal(mm_registry_unset(r, 101, 1, "udp", 1000, NULL), MM_OK);
    set_ok(r, e, 0);
    assert_int_equal(mm_registry_set(r, &(mm_reg_entry){0}, 0), MM_INVALID);
    mm_registry_destroy(r);
}

/* ---- unset ---------------------------------------------------------------- */

static void test_unset_removes_every_transport_or_one(void **state)
{
    (void)state;
    mm_registry *r = new_registry(0);
    const char *netids[] = {"tcp", "udp", "tcp6", "udp6"};
    const char *uaddrs[] = {"0.0.0.0.8.1", "0.0.0.0.8.1", "::.8.1", "::.8.1"};
    for (int i = 0; i < 4; i++)
        set_ok(r, entry("", 100003, 3, netids[i], uaddrs[i], 0), 0);
    set_ok(r, entry("nfs4", 100003, 4, "tcp", "0.0.0.0.8.1", 0), 0);
    size_t removed = 99;
    assert_int_equal(mm_registry_unset(r, 100003, 3, "udp6", 0, &removed), MM_OK);
    assert_int_equal(removed, 1);
    assert_int_equal(mm_registry_unset(r, 100003, 3, "udp6", 0, &removed), MM_NOENT);
    assert_int_equal(removed, 1); /* written only on success */
    assert_int_equal(mm_registry_unset(r, 100003, 3, "", 0, &removed), MM_OK);
    assert_int_equal(removed, 3);
    assert_int_equal(mm_registry_unset(r, 100003, 3, NULL, 0, NULL), MM_NOENT);
    /* a named entry goes too when its program is unset */
    assert_int_equal(mm_registry_unset(r, 100003, 4, NULL, 0, &removed), MM_OK);
    assert_int_equal(removed, 1);
    assert_int_equal(mm_registry_count(r), 0);
    assert_int_equal(mm_registry_unset(r, 1, 1, "no-such-netid", 0, NULL), MM_NOENT);
    mm_registry_destroy(r);
}

static void test_unset_removes_all_or_nothing_by_owner(void **state)
{
    (void)state;
    mm_registry *r = new_registry(0);
    set_ok(r, entry("", 300000, 1, "tcp", "127.0.0.1.4.0", 1000), 0);
    set_ok(r, entry("", 300000, 1, "udp", "127.0.0.1.4.0", 2000), 0);
    set_ok(r, entry("", 300001, 1, "udp", "127.0.0.1.4.1", MM_UID_UNKNOWN), 0);
    /* 1000 owns one of the two: nothing is removed */
    assert_int_equal(mm_registry_unset(r, 300000, 1, "", 1000, NULL), MM_NOT_OWNER);
    assert_int_equal(mm_registry_count(r), 3);
    /* but its own, by netid */
    assert_int_equal(mm_registry_unset(r, 300000, 1, "tcp", 1000, NULL), MM_OK);
    assert_int_equal(mm_registry_unset(r, 300000, 1, "udp", 1000, NULL), MM_NOT_OWNER);
    assert_int_equal(mm_registry_unset(r, 300000, 1, "udp", MM_UID_UNKNOWN, NULL), MM_NOT_OWNER);
    /* root removes anyone's */
    assert_int_equal(mm_registry_unset(r, 300000, 1, "udp", 0, NULL), MM_OK);
    /* an unknown owner's entry: any caller, known or not */
    assert_int_equal(mm_registry_unset(r, 300001, 1, "udp", MM_UID_UNKNOWN, NULL), MM_OK);
    set_ok(r, entry("", 300001, 1, "udp", "127.0.0.1.4.1", MM_UID_UNKNOWN), 0);
    assert_int_equal(mm_registry_unset(r, 300001, 1, "udp", 4242, NULL), MM_OK);
    assert_int_equal(mm_registry_count(r), 0);
    mm_registry_destroy(r);
}

static void test_unset_by_name_takes_every_version_or_one(void **state)
{
    (void)state;
    mm_registry *r = new_registry(0);
    set_ok(r, entry("date", 0x20000100, 1, "tcp", "127.0.0.1.15.160", 1000), 0);
    set_ok(r, entry("date", 0x20000100, 2, "tcp", "127.0.0.1.15.161", 1000), 0);
    set_ok(r, entry("date", 0x20000100, 2, "udp", "127.0.0.1.15.161", 1000), 0);
    set_ok(r, entry("date2", 0x20000101, 1, "tcp", "127.0.0.1.15.162", 1000), 0);
    set_ok(r, entry("", 0x20000100, 3, "tcp", "127.0.0.1.15.163", 1000), 0);
    size_t removed;
    assert_int_equal(mm_registry_unset_name(r, "date", 2, "udp", 1000, &removed), MM_OK);
    assert_int_equal(removed, 1);
    assert_int_equal(mm_registry_unset_name(r, "date", 0, "udp", 1000, &removed), MM_NOENT);
    assert_int_equal(mm_registry_unset_name(r, "date", 0, "", 2000, &removed), MM_NOT_OWNER);
    assert_int_equal(mm_registry_unset_name(r, "date", 0, "", 1000, &removed), MM_OK);
    assert_int_equal(removed, 2);
    /* neither the other name nor the unnamed entry of the same program */
    assert_int_equal(mm_registry_count(r), 2);
    assert_int_equal(mm_registry_unset_name(r, "Date2", 0, NULL, 0, NULL), MM_NOENT);
    assert_int_equal(mm_registry_unset_name(r, "", 0, NULL, 0, NULL), MM_INVALID);
    assert_int_equal(mm_registry_unset_name(r, NULL, 0, NULL, 0, NULL), MM_INVALID);
    assert_int_equal(mm_registry_unset_name(r, "-x", 0, NULL, 0, NULL), MM_INVALID);
    assert_int_equal(mm_registry_unset_name(r, "date2", 0, "sctp", 0, NULL), MM_INVALID);
    assert_int_equal(mm_registry_unset_name(r, "date2", 1, "tcp", 0, &removed), MM_OK);
    mm_registry_destroy(r);
}

/* ---- look-ups ------------------------------------------------------------- */

static void test_lookup_finds_the_highest_version_on_the_transports_asked_for(void **state)
{
    (void)state;
    mm_registry *r = new_registry(0);
    set_ok(r, entry("date", 0x20000100, 1, "tcp", "127.0.0.1.15.160", 1000), 0);
    set_ok(r, entry("date", 0x20000100, 1, "udp", "127.0.0.1.15.160", 1000), 0);
    set_ok(r, entry("date", 0x20000100, 2, "tcp", "127.0.0.1.15.161", 1000), 0);
    set_ok(r, entry("date", 0x20000100, 3, "udp", "127.0.0.1.15.162", 1000), 0);
    set_ok(r, entry("", 0x20000100, 9, "tcp", "127.0.0.1.15.163", 1000), 0);
    mm_reg_entry out[6];
    size_t n;
    assert_int_equal(mm_registry_lookup(r, "date", 0, "", out, 6, &n), MM_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].vers, 3);
    assert_string_equal(out[0].netid, "udp");
    assert_int_equal(mm_registry_lookup(r, "date", 0, "tcp", out, 6, &n), MM_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].vers, 2);
    assert_int_equal(mm_registry_lookup(r, "date", 1, NULL, out, 6, &n), MM_OK);
    assert_int_equal(n, 2);
    assert_string_equal(out[0].netid, "tcp"); /* in registration order */
    assert_string_equal(out[1].netid, "udp");
    /* a cap too small: the count says how many there are */
    assert_int_equal(mm_registry_lookup(r, "date", 1, NULL, out, 1, &n), MM_OK);
    assert_int_equal(n, 2);
    assert_int_equal(mm_registry_lookup(r, "date", 1, NULL, NULL, 6, &n), MM_OK);
    assert_int_equal(n, 2);
    assert_int_equal(mm_registry_lookup(r, "date", 4, NULL, out, 6, &n), MM_NOENT);
    assert_int_equal(mm_registry_lookup(r, "date", 0, "tcp6", out, 6, &n), MM_NOENT);
    assert_int_equal(mm_registry_lookup(r, "nope", 0, NULL, out, 6, &n), MM_NOENT);
    assert_int_equal(mm_registry_lookup(r, "", 0, NULL, out, 6, &n), MM_INVALID);
    assert_int_equal(mm_registry_lookup(r, "date", 0, "bogus", out, 6, &n), MM_INVALID);
    mm_registry_destroy(r);
}

static void test_versions_and_find_select_by_program_version_name_netid(void **state)
{
    (void)state;
    mm_registry *r = new_registry(0);
    set_ok(r, entry("", 100000, 2, "tcp", "0.0.0.0.0.111", 0), 0);
    set_ok(r, entry("", 100000, 3, "tcp", "0.0.0.0.0.111", 0), 0);
    set_ok(r, entry("", 100000, 4, "udp", "0.0.0.0.0.111", 0), 0);
    set_ok(r, entry("matchmaker", 100000, 5, "tcp6", "::.0.111", 0), 0);
    uint32_t lo = 0, hi = 0;
    assert_int_equal(mm_registry_versions(r, 100000, NULL, &lo, &hi), MM_OK);
    assert_int_equal(lo, 2);
    assert_int_equal(hi, 5);
    assert_int_equal(mm_registry_versions(r, 100000, "tcp", &lo, &hi), MM_OK);
    assert_int_equal(lo, 2);
    assert_int_equal(hi, 3);
    assert_int_equal(mm_registry_versions(r, 100001, "", &lo, &hi), MM_NOENT);
    assert_int_equal(lo, 2); /* untouched */

    mm_reg_entry out[8];
    size_t n;
    mm_reg_filter f = {NULL, NULL, 100000, 0, MM_MATCH_PROG};
    assert_int_equal(mm_registry_find(r, &f, out, 8, &n), MM_OK);
    assert_int_equal(n, 4);
    f = (mm_reg_filter){NULL, NULL, 100000, 4, MM_MATCH_PROG | MM_MATCH_VERS};
    assert_int_equal(mm_registry_find(r, &f, out, 8, &n), MM_OK);
    assert_int_equal(n, 1);
    assert_string_equal(out[0].netid, "udp");
    f = (mm_reg_filter){"", "tcp", 0, 0, 0};
    assert_int_equal(mm_registry_find(r, &f, out, 8, &n), MM_OK);
    assert_int_equal(n, 2);
    f = (mm_reg_filter){"matchmaker", NULL, 0, 0, 0};
    assert_int_equal(mm_registry_find(r, &f, out, 8, &n), MM_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].vers, 5);
    f = (mm_reg_filter){NULL, "local", 0, 0, 0};
    assert_int_equal(mm_registry_find(r, &f, out, 8, &n), MM_NOENT);
    assert_int_equal(n, 0);
    assert_int_equal(mm_registry_find(r, NULL, NULL, 0, &n), MM_OK);
    assert_int_equal(n, 4);
    mm_registry_destroy(r);
}

static void test_snapshot_copies_in_registration_order(void **state)
{
    (void)state;
    mm_registry *r = new_registry(0);
    mm_reg_entry *v = (mm_reg_entry *)&v;
    size_t n = 99;
    assert_int_equal(mm_registry_snapshot(r, &v, &n), 0);
    assert_null(v);
    assert_int_equal(n, 0);
    for (uint32_t i = 0; i < 10; i++)
        set_ok(r, entry("", 500 - i, 1, "tcp", "127.0.0.1.0.1", 0), 0);
    assert_int_equal(mm_registry_snapshot(r, &v, &n), 0);
    assert_int_equal(n, 10);
    for (uint32_t i = 0; i < 10; i++) {
        assert_int_equal(v[i].prog, 500 - i);
        if (i)
            assert_true(v[i].id > v[i - 1].id);
    }
    free(v);
    mm_registry_destroy(r);
}

/* Ids to remove, for the predicate. */
struct ids {
    const uint64_t *v;
    size_t n;
};

static int id_listed(const mm_reg_entry *e, void *ctx)
{
    const struct ids *ids = ctx;
    for (size_t i = 0; i < ids->n; i++)
        if (ids->v[i] == e->id)
            return 1;
    return 0;
}

static void test_remove_if_removes_by_id_and_spares_reregistrations(void **state)
{
    (void)state;
    mm_registry *r = new_registry(0);
    for (uint32_t i = 0; i < 6; i++)
        set_ok(r, entry("", 600 + i, 1, "tcp", "127.0.0.1.0.1", 1000), 0);
    mm_reg_entry *v;
    size_t n;
    assert_int_equal(mm_registry_snapshot(r, &v, &n), 0);
    /* the liveness check decides 600 and 603 are dead... */
    uint64_t dead[2] = {v[0].id, v[3].id};
    /* ...while 603 is registered again */
    set_ok(r, entry("", 603, 1, "tcp", "127.0.0.1.0.2", 1000), MM_REG_REPLACE);
    struct ids ids = {dead, 2};
    assert_int_equal(mm_registry_remove_if(r, id_listed, &ids), 1);
    mm_reg_entry got;
    assert_int_equal(mm_registry_get(r, 600, 1, "tcp", &got), MM_NOENT);
    assert_int_equal(mm_registry_get(r, 603, 1, "tcp", &got), MM_OK);
    assert_string_equal(got.uaddr, "127.0.0.1.0.2");
    assert_int_equal(mm_registry_count(r), 5);
    assert_int_equal(mm_registry_remove_if(r, id_listed, &ids), 0);
    free(v);
    mm_registry_destroy(r);
}

/* ---- threads -------------------------------------------------------------- */

struct worker {
    mm_registry *r;
    uint32_t base;
    int errors;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    char name[16];
    snprintf(name, sizeof name, "svc%u", w->base);
    for (uint32_t i = 0; i < 302; i++) {
        mm_reg_entry e =
            entry(name, w->base, 1 + i % 3, i % 2 ? "udp" : "tcp", "127.0.0.1.1.1", (uid_t)w->base);
        if (mm_registry_set(w->r, &e, MM_REG_REPLACE) != MM_OK)
            w->errors++;
        mm_reg_entry out[6];
        size_t n;
        if (mm_registry_lookup(w->r, name, 0, NULL, out, 6, &n) != MM_OK || n > 6)
            w->errors++;
        if (i % 7 == 0) {
            mm_reg_entry *v;
            if (mm_registry_snapshot(w->r, &v, &n) != 0)
                w->errors++;
            free(v);
        }
        if (i % 5 == 4 &&
            mm_registry_unset_name(w->r, name, 0, NULL, (uid_t)w->base, NULL) != MM_OK)
            w->errors++;
    }
    return NULL;
}

static void test_threads_share_the_registry(void **state)
{
    (void)state;
    mm_registry *r = new_registry(64);
    struct worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){r, 7000u + (uint32_t)i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].errors, 0);
    }
    /* each worker ends with what it registered after its last unset (at
     * i = 299): versions 1 on tcp and 2 on udp */
    mm_reg_entry *v;
    size_t n;
    assert_int_equal(mm_registry_snapshot(r, &v, &n), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(v[i].owner, v[i].prog);
    assert_int_equal(n, 4 * 2);
    free(v);
    mm_registry_destroy(r);
}

/* ---- warm start ----------------------------------------------------------- */

static void test_save_writes_the_documented_format(void **state)
{
    (void)state;
    mm_registry *r = new_registry(0);
    mm_reg_entry e = entry("date", 536871168, 1, "tcp", "127.0.0.1.15.160", 1000);
    e.pid = 4242;
    e.registered = 1732262400;
    set_ok(r, e, 0);
    e = entry("", 100000, 4, "local", "/run/my dir/100%.sock", MM_UID_UNKNOWN);
    e.pid = 0;
    e.registered = 1;
    set_ok(r, e, 0);
    const char *path = tmp_path("registry");
    assert_int_equal(mm_registry_save(r, path), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char text[1024];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    assert_string_equal(text, "parley-matchmaker-registry 1\n"
                              "# name prog vers netid uaddr owner pid registered\n"
                              "date 536871168 1 tcp 127.0.0.1.15.160 1000 4242 1732262400\n"
                              "- 100000 4 local /run/my%20dir/100%25.sock - 0 1\n");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(files_in_tmpdir(), 1); /* no temporary file left */
    mm_registry_destroy(r);
}

static void test_save_and_load_round_trip(void **state)
{
    (void)state;
    mm_registry *r = new_registry(0);
    set_ok(r, entry("date", 0x20000100, 1, "tcp", "127.0.0.1.15.160", 1000), 0);
    set_ok(r, entry("date", 0x20000100, 1, "tcp6", "::ffff:127.0.0.1.15.160", 1000), 0);
    set_ok(r, entry("", 100000, 4, "local", "/run/caf\xc3\xa9 x.sock", 0), 0);
    set_ok(r, entry("", 100000, 3, "unix", "/run/a%b", MM_UID_UNKNOWN), 0);
    set_ok(r, entry("x", 4294967295u, 4294967295u, "udp6", "ffff::.255.255", 4294967294u), 0);
    const char *path = tmp_path("registry");
    for (int round = 0; round < 2; round++) { /* the second save replaces the first */
        assert_int_equal(mm_registry_save(r, path), 0);
        mm_registry *back = new_registry(0);
        size_t loaded = 0, rejected = 9;
        assert_int_equal(mm_registry_load(back, path, NULL, NULL, &loaded, &rejected), 0);
        assert_int_equal(loaded, 5);
        assert_int_equal(rejected, 0);
        mm_reg_entry *a, *b;
        size_t na, nb;
        assert_int_equal(mm_registry_snapshot(r, &a, &na), 0);
        assert_int_equal(mm_registry_snapshot(back, &b, &nb), 0);
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++) {
            b[i].id = a[i].id;
            assert_memory_equal(&a[i], &b[i], sizeof a[i]);
        }
        free(a);
        free(b);
        mm_registry_destroy(back);
    }
    assert_int_equal(files_in_tmpdir(), 1);
    /* an empty registry saves a file that loads to nothing */
    mm_registry *empty = new_registry(0);
    assert_int_equal(mm_registry_save(empty, path), 0);
    size_t loaded = 9;
    assert_int_equal(mm_registry_load(empty, path, NULL, NULL, &loaded, NULL), 0);
    assert_int_equal(loaded, 0);
    mm_registry_destroy(empty);
    mm_registry_destroy(r);
}

static void test_save_reports_what_failed_and_leaves_nothing_behind(void **state)
{
    (void)state;
    mm_registry *r = new_registry(0);
    set_ok(r, entry("date", 1, 1, "tcp", "127.0.0.1.0.1", 0), 0);
    assert_int_equal(mm_registry_save(r, tmp_path("no-such-dir/registry")), ENOENT);
    /* a directory in the way: the rename fails, the temporary file goes */
    assert_int_equal(mkdir(tmp_path("adir"), 0700), 0);
    assert_int_equal(mm_registry_save(r, tmp_path("adir")), EISDIR);
    assert_int_equal(files_in_tmpdir(), 1);
    char longpath[5000];
    memset(longpath, 'x', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    assert_int_equal(mm_registry_save(r, longpath), ENAMETOOLONG);
    assert_int_equal(mm_registry_save(r, ""), EINVAL);
    assert_int_equal(mm_registry_save(r, NULL), EINVAL);
    mm_registry_destroy(r);
}

/* Diagnostics collected by a test. */
struct diags {
    unsigned n;
    unsigned line[16];
    char msg[16][128];
    char path[256];
};

static void collect(void *ctx, const char *path, unsigned line, const char *msg)
{
    struct diags *d = ctx;
    snprintf(d->path, sizeof d->path, "%s", path);
    if (d->n < 16) {
        d->line[d->n] = line;
        snprintf(d->msg[d->n], sizeof d->msg[0], "%s", msg);
    }
    d->n++;
}

static void test_load_refuses_files_that_are_not_registry_files(void **state)
{
    (void)state;
    mm_registry *r = new_registry(0);
    struct diags d;
    memset(&d, 0, sizeof d);
    assert_int_equal(mm_registry_load(r, tmp_path("missing"), collect, &d, NULL, NULL), ENOENT);
    assert_int_equal(mm_registry_load(r, tmpdir, collect, &d, NULL, NULL), EINVAL);
    assert_int_equal(mkfifo(tmp_path("fifo"), 0600), 0);
    assert_int_equal(mm_registry_load(r, tmp_path("fifo"), collect, &d, NULL, NULL), EINVAL);
    assert_int_equal(d.n, 0);
    static const struct {
        const char *text;
        const char *msg;
    } bad[] = {
        {"", "not a matchmaker registry file"},
        {"\n", "not a matchmaker registry file"},
        {"hello\n", "not a matchmaker registry file"},
        {"parley-matchmaker-registry 1", "not a matchmaker registry file"}, /* no newline */
        {"parley-matchmaker-registry 1 \n", "unsupported version"},
        {"parley-matchmaker-registry 2\n", "unsupported version"},
        {"parley-matchmaker-registry\n", "not a matchmaker registry file"},
        {"- 1 1 tcp 127.0.0.1.0.1 0 0 1\n", "not a matchmaker registry file"},
    };
    const char *path = tmp_path("registry");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(path, bad[i].text, strlen(bad[i].text));
        memset(&d, 0, sizeof d);
        size_t loaded = 77;
        assert_int_equal(mm_registry_load(r, path, collect, &d, &loaded, NULL), EINVAL);
        assert_int_equal(loaded, 77);
        assert_int_equal(d.n, 1);
        assert_int_equal(d.line[0], 1);
        assert_string_equal(d.path, path);
        if (!strstr(d.msg[0], bad[i].msg))
            fail_msg("case %zu: '%s'", i, d.msg[0]);
    }
    assert_int_equal(mm_registry_count(r), 0);
    mm_registry_destroy(r);
}

static void test_load_reports_each_bad_line_and_loads_the_rest(void **state)
{
    (void)state;
    char longline[2000];
    memset(longline, 'x', sizeof longline - 1);
    longline[sizeof longline - 1] = '\0';
    const struct {
        const char *line;
        const char *msg;
    } bad[] = {
        {"good 1 1 tcp 127.0.0.1.0.1 0 0", "fewer than 8 fields"},
        {"good 1 1 tcp 127.0.0.1.0.1 0 0 1 extra", "more than 8 fields"},
        {"good 1 1 tcp 127.0.0.1.0.1 0 0 1 ", "empty field"},
        {" good 1 1 tcp 127.0.0.1.0.1 0 0 1", "empty field"},
        {"good  1 1 tcp 127.0.0.1.0.1 0 0 1", "empty field"},
        {"good\t1 1 tcp 127.0.0.1.0.1 0 0 1", "fewer than 8 fields"},
        {"-good 7 1 tcp 127.0.0.1.0.1 0 0 1", "invalid service name"},
        {"x 01 1 tcp 127.0.0.1.0.1 0 0 1", "invalid program number"},
        {"x 4294967296 1 tcp 127.0.0.1.0.1 0 0 1", "invalid program number"},
        {"x -1 1 tcp 127.0.0.1.0.1 0 0 1", "invalid program number"},
        {"x 7 v1 tcp 127.0.0.1.0.1 0 0 1", "invalid version number"},
        {"x 7 1 tcpx 127.0.0.1.0.1 0 0 1", "unknown netid"},
        {"x 7 1 tcp 127.0.0.1.0.256 0 0 1", "universal address not valid"},
        {"x 7 1 tcp6 127.0.0.1.0.1 0 0 1", "universal address not valid"},
        {"x 7 1 local /a%G1 0 0 1", "malformed universal address"},
        {"x 7 1 local /a%00b 0 0 1", "malformed universal address"},
        {"x 7 1 local /a%2 0 0 1", "malformed universal address"},
        {"x 7 1 local /caf\xc3\xa9 0 0 1", "malformed universal address"},
        {"x 7 1 tcp 127.0.0.1.0.1 4294967295 0 1", "invalid owner uid"},
        {"x 7 1 tcp 127.0.0.1.0.1 root 0 1", "invalid owner uid"},
        {"x 7 1 tcp 127.0.0.1.0.1 0 2147483648 1", "invalid pid"},
        {"x 7 1 tcp 127.0.0.1.0.1 0 0 9223372036854775808", "invalid registration time"},
        {"x 7 1 tcp 127.0.0.1.0.1 0 0 1\r", "invalid registration time"},
        {"x 7 0 tcp 127.0.0.1.0.1 0 0 1", "named entry of version 0"},
        {"good 1 1 tcp 127.0.0.1.0.1 0 0 1", "duplicate"},
        {"other 1 1 tcp 127.0.0.1.0.9 0 0 1", "duplicate"},
        {longline, "line too long"},
    };
    const char *path = tmp_path("registry");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[4096];
        snprintf(text, sizeof text,
                 "parley-matchmaker-registry 1\n"
                 "# a comment\n"
                 "good 1 1 tcp 127.0.0.1.0.1 0 0 1\n"
                 "\n"
                 "%s\n"
                 "- 2 1 udp 127.0.0.1.0.2 - 0 1\n",
                 bad[i].line);
        write_file(path, text, strlen(text));
        mm_registry *r = new_registry(0);
        struct diags d;
        memset(&d, 0, sizeof d);
        size_t loaded = 0, rejected = 0;
        assert_int_equal(mm_registry_load(r, path, collect, &d, &loaded, &rejected), 0);
        assert_int_equal(loaded, 2);
        assert_int_equal(rejected, 1);
        assert_int_equal(d.n, 1);
        assert_int_equal(d.line[0], 5);
        if (!strstr(d.msg[0], bad[i].msg))
            fail_msg("line '%.40s': got '%s', want '%s'", bad[i].line, d.msg[0], bad[i].msg);
        assert_int_equal(mm_registry_count(r), 2);
        mm_registry_destroy(r);
    }
}

static void test_load_reports_nul_bytes_cut_files_and_a_full_table(void **state)
{
    (void)state;
    const char *path = tmp_path("registry");
    static const char nul[] = "parley-matchmaker-registry 1\n"
                              "a 1 1 tcp 127.0.0.1.0.1 0 0 1\n"
                              "b 2 1 tcp 127.0.0.1\0.0.2 0 0 1\n"
                              "c 3 1 tcp 127.0.0.1.0.3 0 0 1\n"
                              "d 4 1 tcp 127.0.0.1.0.4 0 0 1\n"
                              "e 5 1 tcp 127.0.0.1.0.5 0 0 1";
    write_file(path, nul, sizeof nul - 1);
    mm_registry *r = new_registry(2);
    struct diags d;
    memset(&d, 0, sizeof d);
    size_t loaded, rejected;
    assert_int_equal(mm_registry_load(r, path, collect, &d, &loaded, &rejected), 0);
    assert_int_equal(loaded, 2);
    assert_int_equal(rejected, 3);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.line[0], 3);
    assert_string_equal(d.msg[0], "NUL byte in line");
    assert_int_equal(d.line[1], 5);
    assert_string_equal(d.msg[1], "the table is full");
    assert_int_equal(d.line[2], 6);
    assert_true(strstr(d.msg[2], "no newline") != NULL);
    mm_reg_entry got;
    assert_int_equal(mm_registry_get(r, 3, 1, "tcp", &got), MM_OK);
    mm_registry_destroy(r);
}

static void test_load_stops_past_the_size_limit(void **state)
{
    (void)state;
    const char *path = tmp_path("big");
    static const char head[] = "parley-matchmaker-registry 1\n"
                               "a 1 1 tcp 127.0.0.1.0.1 0 0 1\n";
    write_file(path, head, sizeof head - 1);
    /* comment lines, past the limit */
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    char comment[1000];
    memset(comment, '#', sizeof comment - 1);
    comment[sizeof comment - 1] = '\n';
    size_t total = sizeof head - 1;
    while (total <= MM_REG_FILE_MAX) {
        assert_int_equal(fwrite(comment, 1, sizeof comment, f), sizeof comment);
        total += sizeof comment;
    }
    assert_int_equal(fclose(f), 0);
    mm_registry *r = new_registry(0);
    size_t loaded = 77;
    assert_int_equal(mm_registry_load(r, path, NULL, NULL, &loaded, NULL), EFBIG);
    assert_int_equal(loaded, 77);
    assert_int_equal(mm_registry_count(r), 1); /* what came before stays */
    mm_registry_destroy(r);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_service_names_are_letters_digits_dots_dashes_underscores),
        cmocka_unit_test(test_owners_are_written_as_rpcbind_writes_them),
        cmocka_unit_test(test_root_owners_and_anyone_for_unknown_owners_may_modify),
        cmocka_unit_test(test_create_bounds_the_number_of_entries),
        cmocka_unit_test(test_set_stores_a_canonical_copy_that_get_finds),
        cmocka_unit_test(test_set_refuses_invalid_entries),
        cmocka_unit_test(test_rpcbind_set_never_replaces_but_accepts_the_same_registration),
        cmocka_unit_test(test_register_replaces_only_what_the_caller_may_modify),
        cmocka_unit_test(test_register_over_two_entries_replaces_both),
        cmocka_unit_test(test_a_full_table_refuses_new_keys_but_takes_replacements),
        cmocka_unit_test(test_unset_removes_every_transport_or_one),
        cmocka_unit_test(test_unset_removes_all_or_nothing_by_owner),
        cmocka_unit_test(test_unset_by_name_takes_every_version_or_one),
        cmocka_unit_test(test_lookup_finds_the_highest_version_on_the_transports_asked_for),
        cmocka_unit_test(test_versions_and_find_select_by_program_version_name_netid),
        cmocka_unit_test(test_snapshot_copies_in_registration_order),
        cmocka_unit_test(test_remove_if_removes_by_id_and_spares_reregistrations),
        cmocka_unit_test(test_threads_share_the_registry),
        cmocka_unit_test_setup_teardown(test_save_writes_the_documented_format, make_tmpdir,
                                        remove_tmpdir),
        cmocka_unit_test_setup_teardown(test_save_and_load_round_trip, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(test_save_reports_what_failed_and_leaves_nothing_behind,
                                        make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(test_load_refuses_files_that_are_not_registry_files,
                                        make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(test_load_reports_each_bad_line_and_loads_the_rest,
                                        make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(test_load_reports_nul_bytes_cut_files_and_a_full_table,
                                        make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(test_load_stops_past_the_size_limit, make_tmpdir,
                                        remove_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
