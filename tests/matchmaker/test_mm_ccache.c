/*
 * test_mm_ccache.c: the cluster cache (matchmaker/ccache.c) as a data
 * structure, without etcd: the key layout parsed and refused in every way
 * it can be malformed, values right before a guard page, range reads and
 * watch events, the bound, the order, look-ups leaving this host out, the
 * reports of malformed keys once per key and revision, and readers beside
 * a writer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "ccache.h"
#include "guard.h"

#define PFX "/parley/v1/"

/* the log lines the cache wrote, counted, the last one kept */
static int warnings;
static char last_log[512];

static void capture(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void capture(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_log, sizeof last_log, fmt, ap);
    va_end(ap);
    if (level == LOG_WARNING)
        warnings++;
}

static mm_ccache *make(const char *host, size_t max)
{
    mm_ccache_cfg cfg = {PFX, host, max, capture};
    mm_ccache *cc = NULL;
    assert_int_equal(mm_ccache_create(&cc, &cfg), 0);
    warnings = 0;
    last_log[0] = '\0';
    return cc;
}

static mm_etcd_kv kv(const char *key, const char *value, int64_t rev)
{
    mm_etcd_kv k = {(char *)(uintptr_t)key, (char *)(uintptr_t)value, strlen(value), 0x77, rev};
    return k;
}

static mm_etcd_event put_ev(const char *key, const char *value, int64_t rev)
{
    mm_etcd_event e = {MM_ETCD_PUT, key, value, strlen(value), 0x77, rev};
    return e;
}

static mm_etcd_event del_ev(const char *key, int64_t rev)
{
    mm_etcd_event e = {MM_ETCD_DELETE, key, NULL, 0, 0, rev};
    return e;
}

/* parses key = value; the reason when refused, NULL when accepted */
static const char *why_of(const char *key, const char *value)
{
    mm_cc_entry e;
    const char *why = NULL;
    /* the value right before a guard page, not NUL-terminated */
    size_t len = strlen(value);
    const char *v = pt_guard_copy(value, len);
    assert_non_null(v);
    int rc = mm_ccache_parse(PFX, key, v, len, &e, &why);
    pt_guard_free(v);
    if (rc == 0)
        return NULL;
    assert_non_null(why);
    return why;
}

static void test_parse_accepts_the_key_layout(void **state)
{
    (void)state;
    mm_cc_entry e;
    const char *why = NULL;
    const char *val = "10.212.0.2.156.64";
    assert_int_equal(
        mm_ccache_parse(PFX, PFX "services/date/b/536870913/1/tcp", val, strlen(val), &e, &why), 0);
    assert_string_equal(e.name, "date");
    assert_string_equal(e.host, "b");
    assert_int_equal(e.prog, 536870913u);
    assert_int_equal(e.vers, 1);
    assert_string_equal(e.netid, "tcp");
    assert_string_equal(e.uaddr, "10.212.0.2.156.64");
    /* an IPv6 address in any form inet_pton takes is kept canonical */
    val = "fd00:0:0::0:2.1.2";
    assert_int_equal(mm_ccache_parse(PFX, PFX "services/a.b_c-d/h-1.x_y:z/0/4294967295/udp6", val,
                                     strlen(val), &e, &why),
                     0);
    assert_string_equal(e.uaddr, "fd00::2.1.2");
    assert_int_equal(e.prog, 0);
    assert_int_equal(e.vers, 4294967295u);
    assert_string_equal(e.host, "h-1.x_y:z");
    /* the key made from an entry is the key parsed */
    char key[MM_CLUSTER_KEY_MAX + 1];
    assert_int_equal(mm_ccache_key(PFX, &e, key, sizeof key), 0);
    assert_string_equal(key, PFX "services/a.b_c-d/h-1.x_y:z/0/4294967295/udp6");
    assert_int_equal(mm_ccache_key(PFX, &e, key, 10), -1);
    /* the longest fields fit MM_CLUSTER_KEY_MAX */
    char longkey[MM_CLUSTER_KEY_MAX + 1], prefix[MM_CLUSTER_PREFIX_MAX + 1];
    memset(prefix, 'p', MM_CLUSTER_PREFIX_MAX);
    prefix[MM_CLUSTER_PREFIX_MAX - 1] = '/';
    prefix[MM_CLUSTER_PREFIX_MAX] = '\0';
    assert_true(mm_cluster_prefix_valid(prefix));
    memset(e.name, 'n', MM_NAME_MAX);
    e.name[MM_NAME_MAX] = '\0';
    memset(e.host, 'h', MM_HOST_MAX);
    e.host[MM_HOST_MAX] = '\0';
    e.prog = e.vers = 4294967295u;
    assert_int_equal(mm_ccache_key(prefix, &e, longkey, sizeof longkey), 0);
    val = "fd00::1.0.1"; /* e's netid is still udp6, the longest */
    assert_int_equal(mm_ccache_parse(prefix, longkey, val, strlen(val), &e, &why), 0);
}

static void test_parse_refuses_every_malformed_key(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "/other/services/date/b/1/1/tcp",           /* another prefix */
        PFX "service/date/b/1/1/tcp",               /* not services/ */
        PFX "services/date/b/1/1",                  /* too few parts */
        PFX "services/date/b/1/1/tcp/x",            /* too many */
        PFX "services/date/b/1/1/tcp/",             /* a trailing slash */
        PFX "services//b/1/1/tcp",                  /* empty name */
        PFX "services/-date/b/1/1/tcp",             /* a name starting with '-' */
        PFX "services/da te/b/1/1/tcp",             /* a space */
        PFX "services/da%te/b/1/1/tcp",             /* a '%' */
        PFX "services/date/b c/1/1/tcp",            /* a host with a space */
        PFX "services/date//1/1/tcp",               /* empty host */
        PFX "services/date/b@c/1/1/tcp",            /* '@' in a host */
        PFX "services/date/b/01/1/tcp",             /* a leading zero */
        PFX "services/date/b/+1/1/tcp",             /* a sign */
        PFX "services/date/b/-1/1/tcp",             /* a negative */
        PFX "services/date/b/0x10/1/tcp",           /* hex */
        PFX "services/date/b/4294967296/1/tcp",     /* 2^32 */
        PFX "services/date/b/99999999999/1/tcp",    /* 11 digits */
        PFX "services/date/b//1/tcp",               /* empty program */
        PFX "services/date/b/1/0/tcp",              /* version 0 */
        PFX "services/date/b/1/4294967296/tcp",     /* version 2^32 */
        PFX "services/date/b/1/1a/tcp",             /* trailing garbage */
        PFX "services/date/b/1/1/local",            /* never in the cluster */
        PFX "services/date/b/1/1/unix",             /* nor this */
        PFX "services/date/b/1/1/TCP",              /* netids are exact */
        PFX "services/date/b/1/1/",                 /* empty netid */
        PFX "services/date/b/1/1/tcp6x",            /* longer */
        PFX "services/date/b/1/1/tcp\x01",          /* a control byte */
        PFX "services/\xc3\xa9t\xc3\xa9/b/1/1/tcp", /* not ASCII */
        PFX "services/",                            /* nothing */
        "",                                         /* nothing at all */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *why = why_of(bad[i], "1.2.3.4.0.1");
        if (!why)
            fail_msg("accepted: %s", bad[i]);
    }
    /* names and hosts one past their bound */
    char key[400], name[MM_NAME_MAX + 2], host[MM_HOST_MAX + 2];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    snprintf(key, sizeof key, PFX "services/%s/b/1/1/tcp", name);
    assert_non_null(why_of(key, "1.2.3.4.0.1"));
    name[MM_NAME_MAX] = '\0';
    snprintf(key, sizeof key, PFX "services/%s/b/1/1/tcp", name);
    assert_null(why_of(key, "1.2.3.4.0.1"));
    memset(host, 'h', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(key, sizeof key, PFX "services/d/%s/1/1/tcp", host);
    assert_non_null(why_of(key, "1.2.3.4.0.1"));
    host[MM_HOST_MAX] = '\0';
    snprintf(key, sizeof key, PFX "services/d/%s/1/1/tcp", host);
    assert_null(why_of(key, "1.2.3.4.0.1"));
    /* a key far longer than any valid one */
    size_t big = 1u << 16;
    char *huge = malloc(big + 1);
    assert_non_null(huge);
    memset(huge, 'a', big);
    huge[big] = '\0';
    memcpy(huge, PFX "services/", sizeof PFX "services/" - 1);
    assert_non_null(why_of(huge, "1.2.3.4.0.1"));
    free(huge);
}

static void test_parse_refuses_every_malformed_address(void **state)
{
    (void)state;
    static const struct {
        const char *netid, *value;
    } bad[] = {
        {"tcp", ""},                                   /* empty */
        {"tcp", "1.2.3.4.0"},                          /* five fields */
        {"tcp", "1.2.3.4.0.1.2"},                      /* seven */
        {"tcp", "256.2.3.4.0.1"},                      /* an octet past 255 */
        {"tcp", "01.2.3.4.0.1"},                       /* a leading zero */
        {"tcp", "1.2.3.4.0.1 "},                       /* a trailing space */
        {"tcp", "0.0.0.0.15.160"},                     /* the wildcard */
        {"udp", "1.2.3.4.0.0"},                        /* port 0 */
        {"tcp", "::1.0.1"},                            /* IPv6 on tcp */
        {"tcp6", "1.2.3.4.0.1"},                       /* IPv4 on tcp6 */
        {"tcp6", "::.15.160"},                         /* the IPv6 wildcard */
        {"udp6", "fe80::1%eth0.0.1"},                  /* a zone */
        {"tcp", "/run/x.sock"},                        /* a path */
        {"tcp", "hello"},                              /* words */
        {"tcp6", "1:2:3:4:5:6:7:8:9:10:11:12:13.0.1"}, /* longer than any */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char key[128];
        snprintf(key, sizeof key, PFX "services/d/h/1/1/%s", bad[i].netid);
        if (!why_of(key, bad[i].value))
            fail_msg("accepted %s on %s", bad[i].value, bad[i].netid);
    }
    /* a NUL inside the value's length */
    mm_cc_entry e;
    const char *why = NULL;
    static const char nul[] = "1.2.3.4\0.0.1";
    assert_int_equal(
        mm_ccache_parse(PFX, PFX "services/d/h/1/1/tcp", nul, sizeof nul - 1, &e, &why), -1);
    assert_string_equal(why, "the address holds a NUL byte");
    /* a value far too long, read only within its length */
    size_t big = 4096;
    char *v = pt_guard_alloc(big);
    assert_non_null(v);
    memset(v, '1', big);
    assert_int_equal(mm_ccache_parse(PFX, PFX "services/d/h/1/1/tcp", v, big, &e, &why), -1);
    pt_guard_free(v);
    /* a NULL value (a put without one) */
    assert_int_equal(mm_ccache_parse(PFX, PFX "services/d/h/1/1/tcp", NULL, 0, &e, &why), -1);
}

static void test_create_checks_its_settings(void **state)
{
    (void)state;
    mm_ccache *cc = NULL;
    mm_ccache_cfg cfg = {"no-slash", "h", 0, NULL};
    assert_int_equal(mm_ccache_create(&cc, &cfg), EINVAL);
    cfg.prefix = "/a b/";
    assert_int_equal(mm_ccache_create(&cc, &cfg), EINVAL);
    cfg.prefix = NULL;
    cfg.host = "";
    assert_int_equal(mm_ccache_create(&cc, &cfg), EINVAL);
    cfg.host = "a/b";
    assert_int_equal(mm_ccache_create(&cc, &cfg), EINVAL);
    cfg.host = "h";
    cfg.max_entries = (size_t)MM_CLUSTER_MAX + 1;
    assert_int_equal(mm_ccache_create(&cc, &cfg), EINVAL);
    cfg.max_entries = 0;
    assert_int_equal(mm_ccache_create(&cc, &cfg), 0);
    mm_ccache_stats st;
    mm_ccache_stats_get(cc, &st);
    assert_int_equal(st.max, MM_CLUSTER_MAX);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.revision, 0);
    mm_ccache_destroy(cc);
    mm_ccache_destroy(NULL);
    assert_true(mm_cluster_host_valid("127.0.0.1"));
    assert_true(mm_cluster_host_valid("fd00::2"));
    assert_false(mm_cluster_host_valid(NULL));
}

/* list_names writes "name/host/vers/netid" of every instance, in order,
 * comma-separated, into buf */
static const char *list_text(mm_ccache *cc, char *buf, size_t cap)
{
    mm_cc_entry *v = NULL;
    size_t n = 0;
    assert_int_equal(mm_ccache_list(cc, &v, &n, NULL), 0);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(buf);
        snprintf(buf + l, cap - l, "%s%s/%s/%u/%s", i ? "," : "", v[i].name, v[i].host, v[i].vers,
                 v[i].netid);
    }
    free(v);
    return buf;
}

static void test_a_range_read_fills_in_order_and_leaves_malformed_keys_out(void **state)
{
    (void)state;
    mm_ccache *cc = make("me", 0);
    mm_etcd_kv in[] = {
        kv(PFX "services/date/c/536870913/1/tcp", "10.0.0.3.1.1", 5),
        kv(PFX "services/date/b/536870913/2/tcp", "10.0.0.2.1.1", 6),
        kv(PFX "services/date/b/536870913/1/udp", "10.0.0.2.1.2", 7),
        kv(PFX "services/bad name/b/1/1/tcp", "10.0.0.2.1.1", 8),
        kv(PFX "services/date/b/536870913/1/tcp", "0.0.0.0.1.1", 9),
        kv(PFX "services/alpha/me/7/1/tcp6", "fd00::1.0.7", 10),
        kv(PFX "elsewhere", "x", 11),
    };
    assert_int_equal(mm_ccache_replace(cc, in, 7, 42), 0);
    char buf[512];
    assert_string_equal(list_text(cc, buf, sizeof buf),
                        "alpha/me/1/tcp6,date/b/1/udp,date/b/2/tcp,date/c/1/tcp");
    assert_int_equal(warnings, 3);
    assert_non_null(strstr(last_log, "elsewhere"));
    mm_ccache_stats st;
    mm_ccache_stats_get(cc, &st);
    assert_int_equal(st.entries, 4);
    assert_int_equal(st.malformed, 3);
    assert_int_equal(st.revision, 42);
    assert_int_equal(mm_ccache_revision(cc), 42);
    mm_cc_entry *v = NULL;
    size_t n = 0;
    assert_int_equal(mm_ccache_list(cc, &v, &n, NULL), 0);
    assert_int_equal(v[0].lease, 0x77);
    assert_int_equal(v[0].mod_revision, 10);
    assert_true(v[0].learnt > 0);
    free(v);

    /* read again unchanged (a reconnection): nothing reported again */
    assert_int_equal(mm_ccache_replace(cc, in, 7, 43), 0);
    assert_int_equal(warnings, 3);
    /* one malformed key written again: reported again */
    in[3].mod_revision = 50;
    assert_int_equal(mm_ccache_replace(cc, in, 7, 50), 0);
    assert_int_equal(warnings, 4);
    assert_non_null(strstr(last_log, "bad name"));
    assert_non_null(strstr(last_log, "not a valid service name"));
    /* an empty read empties the cache */
    assert_int_equal(mm_ccache_replace(cc, NULL, 0, 51), 0);
    assert_string_equal(list_text(cc, buf, sizeof buf), "");
    mm_ccache_stats_get(cc, &st);
    assert_int_equal(st.malformed, 0);
    mm_ccache_destroy(cc);
}

static void test_watch_events_put_update_and_delete(void **state)
{
    (void)state;
    mm_ccache *cc = make("me", 0);
    const char *k1 = PFX "services/date/b/536870913/1/tcp";
    const char *k2 = PFX "services/date/c/536870913/1/tcp";
    mm_etcd_event ev[] = {put_ev(k1, "10.0.0.2.1.1", 3), put_ev(k2, "10.0.0.3.1.1", 3)};
    assert_int_equal(mm_ccache_apply(cc, ev, 2, 3), 0);
    char buf[256];
    assert_string_equal(list_text(cc, buf, sizeof buf), "date/b/1/tcp,date/c/1/tcp");
    assert_int_equal(mm_ccache_revision(cc), 3);

    /* an update moves the address */
    mm_etcd_event up = put_ev(k1, "10.0.0.9.1.1", 4);
    assert_int_equal(mm_ccache_apply(cc, &up, 1, 4), 0);
    mm_cc_entry *v = NULL;
    size_t n = 0;
    assert_int_equal(mm_ccache_lookup(cc, "date", 0, "", &v, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].uaddr, "10.0.0.9.1.1");
    assert_int_equal(v[0].mod_revision, 4);
    free(v);

    /* a malformed value for a held key: the key's instance goes, reported
     * once however often the same event is seen */
    mm_etcd_event badv = put_ev(k1, "garbage", 5);
    assert_int_equal(mm_ccache_apply(cc, &badv, 1, 5), 0);
    assert_int_equal(mm_ccache_apply(cc, &badv, 1, 5), 0);
    assert_int_equal(warnings, 1);
    assert_non_null(strstr(last_log, "not an IPv4 universal address"));
    assert_string_equal(list_text(cc, buf, sizeof buf), "date/c/1/tcp");
    mm_ccache_stats st;
    mm_ccache_stats_get(cc, &st);
    assert_int_equal(st.malformed, 1);
    /* made good again: forgotten as malformed */
    mm_etcd_event good = put_ev(k1, "10.0.0.2.1.1", 6);
    assert_int_equal(mm_ccache_apply(cc, &good, 1, 6), 0);
    mm_ccache_stats_get(cc, &st);
    assert_int_equal(st.malformed, 0);
    assert_string_equal(list_text(cc, buf, sizeof buf), "date/b/1/tcp,date/c/1/tcp");

    /* deletes, of a held key, an unknown one, a malformed one */
    mm_etcd_event dels[] = {del_ev(k2, 7), del_ev(PFX "services/x/y/1/1/tcp", 7),
                            del_ev(PFX "junk\n", 7)};
    assert_int_equal(mm_ccache_apply(cc, dels, 3, 7), 0);
    assert_string_equal(list_text(cc, buf, sizeof buf), "date/b/1/tcp");
    assert_int_equal(warnings, 1);
    /* a malformed key with a control byte is logged without it */
    mm_etcd_event ctl = put_ev(PFX "services/a\nb/h/1/1/tcp", "1.2.3.4.0.1", 8);
    assert_int_equal(mm_ccache_apply(cc, &ctl, 1, 8), 0);
    assert_int_equal(warnings, 2);
    assert_null(strchr(last_log, '\n'));
    /* a revision never goes back */
    assert_int_equal(mm_ccache_apply(cc, NULL, 0, 2), 0);
    assert_int_equal(mm_ccache_revision(cc), 8);
    mm_ccache_destroy(cc);
}

static void test_the_bound_refuses_counts_and_reports(void **state)
{
    (void)state;
    mm_ccache *cc = make("me", 3);
    mm_etcd_kv in[] = {
        kv(PFX "services/e/h/1/1/tcp", "10.0.0.5.1.1", 2),
        kv(PFX "services/d/h/1/1/tcp", "10.0.0.4.1.1", 2),
        kv(PFX "services/c/h/1/1/tcp", "10.0.0.3.1.1", 2),
        kv(PFX "services/b/h/1/1/tcp", "10.0.0.2.1.1", 2),
        kv(PFX "services/a/h/1/1/tcp", "10.0.0.1.1.1", 2),
    };
    assert_int_equal(mm_ccache_replace(cc, in, 5, 2), 0);
    char buf[256];
    /* the first three in key order */
    assert_string_equal(list_text(cc, buf, sizeof buf), "a/h/1/tcp,b/h/1/tcp,c/h/1/tcp");
    mm_ccache_stats st;
    mm_ccache_stats_get(cc, &st);
    assert_int_equal(st.entries, 3);
    assert_int_equal(st.refused, 2);
    assert_true(st.full);
    assert_int_equal(warnings, 1);
    assert_non_null(strstr(last_log, "--cluster-max-entries"));

    /* a read that fits makes it whole again */
    assert_int_equal(mm_ccache_replace(cc, in + 2, 3, 3), 0);
    mm_ccache_stats_get(cc, &st);
    assert_false(st.full);
    assert_string_equal(list_text(cc, buf, sizeof buf), "a/h/1/tcp,b/h/1/tcp,c/h/1/tcp");

    /* a new key into the full cache is refused, logged the first time */
    mm_etcd_event ev[] = {put_ev(PFX "services/z/h/1/1/tcp", "10.0.0.26.1.1", 4),
                          put_ev(PFX "services/y/h/1/1/tcp", "10.0.0.25.1.1", 5)};
    assert_int_equal(mm_ccache_apply(cc, ev, 2, 5), 0);
    mm_ccache_stats_get(cc, &st);
    assert_int_equal(st.refused, 4);
    assert_int_equal(st.entries, 3);
    assert_int_equal(warnings, 2);
    assert_non_null(strstr(last_log, "services/z/h/1/1/tcp"));
    /* a held key is still updated */
    mm_etcd_event up = put_ev(PFX "services/a/h/1/1/tcp", "10.0.0.100.1.1", 6);
    assert_int_equal(mm_ccache_apply(cc, &up, 1, 6), 0);
    mm_cc_entry *v = NULL;
    size_t n = 0;
    assert_int_equal(mm_ccache_lookup(cc, "a", 1, "tcp", &v, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].uaddr, "10.0.0.100.1.1");
    free(v);
    /* a delete makes room for the next put */
    mm_etcd_event more[] = {del_ev(PFX "services/b/h/1/1/tcp", 7), ev[0]};
    more[1].mod_revision = 7;
    assert_int_equal(mm_ccache_apply(cc, more, 2, 7), 0);
    assert_string_equal(list_text(cc, buf, sizeof buf), "a/h/1/tcp,c/h/1/tcp,z/h/1/tcp");
    assert_int_equal(warnings, 2);
    mm_ccache_destroy(cc);
}

static void test_lookup_leaves_this_host_out_and_picks_the_version(void **state)
{
    (void)state;
    mm_ccache *cc = make("me", 0);
    mm_etcd_kv in[] = {
        kv(PFX "services/date/me/9/9/tcp", "127.0.0.1.1.1", 2), /* this host's: not looked up */
        kv(PFX "services/date/b/9/1/tcp", "10.0.0.2.1.1", 2),
        kv(PFX "services/date/b/9/2/tcp", "10.0.0.2.1.2", 2),
        kv(PFX "services/date/c/9/2/udp", "10.0.0.3.1.2", 2),
        kv(PFX "services/date/a/9/3/udp6", "fd00::1.1.3", 2),
        kv(PFX "services/dates/a/9/5/tcp", "10.0.0.1.1.5", 2),
        kv(PFX "services/dat/a/9/5/tcp", "10.0.0.1.1.6", 2),
    };
    assert_int_equal(mm_ccache_replace(cc, in, 7, 2), 0);
    mm_cc_entry *v = NULL;
    size_t n = 0;
    uint32_t vers = 0;
    /* vers 0: the highest among the other hosts (3, on udp6) */
    assert_int_equal(mm_ccache_lookup(cc, "date", 0, "", &v, &n, &vers), 0);
    assert_int_equal(n, 1);
    assert_int_equal(vers, 3);
    assert_string_equal(v[0].host, "a");
    free(v);
    /* on tcp the highest is 2 (this host's 9 is not counted) */
    assert_int_equal(mm_ccache_lookup(cc, "date", 0, "tcp", &v, &n, &vers), 0);
    assert_int_equal(n, 1);
    assert_int_equal(vers, 2);
    assert_string_equal(v[0].uaddr, "10.0.0.2.1.2");
    free(v);
    /* version 2 on any netid: b's tcp, c's udp, in host order */
    assert_int_equal(mm_ccache_lookup(cc, "date", 2, NULL, &v, &n, &vers), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].host, "b");
    assert_string_equal(v[1].host, "c");
    free(v);
    /* this host's own version: none from others */
    assert_int_equal(mm_ccache_lookup(cc, "date", 9, "", &v, &n, &vers), 0);
    assert_int_equal(n, 0);
    assert_null(v);
    assert_int_equal(vers, 0);
    /* names are exact */
    assert_int_equal(mm_ccache_lookup(cc, "dat", 0, "", &v, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].uaddr, "10.0.0.1.1.6");
    free(v);
    assert_int_equal(mm_ccache_lookup(cc, "nothing", 0, "", &v, &n, NULL), 0);
    assert_int_equal(n, 0);
    assert_int_equal(mm_ccache_lookup(cc, "date", 0, "local", &v, &n, NULL), 0);
    assert_int_equal(n, 0);
    /* the list has this host's too */
    mm_ccache_stats st;
    assert_int_equal(mm_ccache_list(cc, &v, &n, &st), 0);
    assert_int_equal(n, 7);
    assert_int_equal(st.entries, 7);
    assert_string_equal(v[0].name, "dat");
    assert_string_equal(v[1].host, "a");
    assert_string_equal(v[6].name, "dates");
    free(v);
    mm_ccache_destroy(cc);
}

/* published says what mm_cluster_publish_uaddr makes of a registration
 * of name, prog on netid at uaddr, with adv advertised: the address, or
 * "-" when not published */
static const char *published(const char *name, uint32_t prog, const char *netid, const char *uaddr,
                             const char *adv, char *buf, size_t cap)
{
    mm_reg_entry e;
    memset(&e, 0, sizeof e);
    snprintf(e.name, sizeof e.name, "%s", name);
    e.prog = prog;
    e.vers = 1;
    snprintf(e.netid, sizeof e.netid, "%s", netid);
    snprintf(e.uaddr, sizeof e.uaddr, "%s", uaddr);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (inet_pton(AF_INET, adv, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
        ss.ss_family = AF_INET;
    else if (inet_pton(AF_INET6, adv, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
        ss.ss_family = AF_INET6;
    if (!mm_cluster_publish_uaddr(&e, (struct sockaddr *)&ss, buf, cap))
        snprintf(buf, cap, "-");
    return buf;
}

static void test_what_is_published_and_at_which_address(void **state)
{
    (void)state;
    char b[64];
    /* a wildcard: the advertised address of its family, with its port */
    assert_string_equal(published("date", 9, "tcp", "0.0.0.0.15.160", "10.0.0.2", b, sizeof b),
                        "10.0.0.2.15.160");
    assert_string_equal(published("date", 9, "udp6", "::.15.160", "fd00::2", b, sizeof b),
                        "fd00::2.15.160");
    assert_string_equal(published("date", 9, "tcp6", "::.15.160", "10.0.0.2", b, sizeof b), "-");
    assert_string_equal(published("date", 9, "tcp", "0.0.0.0.15.160", "fd00::2", b, sizeof b), "-");
    /* a loopback advertised address is used (a cluster on one machine) */
    assert_string_equal(published("date", 9, "tcp", "0.0.0.0.15.160", "127.0.0.2", b, sizeof b),
                        "127.0.0.2.15.160");
    /* a specific address as it is; loopback never */
    assert_string_equal(published("date", 9, "udp", "10.1.2.3.0.99", "10.0.0.2", b, sizeof b),
                        "10.1.2.3.0.99");
    assert_string_equal(published("date", 9, "tcp", "127.0.0.1.15.160", "10.0.0.2", b, sizeof b),
                        "-");
    assert_string_equal(published("date", 9, "tcp", "127.9.9.9.15.160", "10.0.0.2", b, sizeof b),
                        "-");
    assert_string_equal(published("date", 9, "tcp6", "::1.15.160", "fd00::2", b, sizeof b), "-");
    assert_string_equal(
        published("date", 9, "tcp6", "::ffff:127.0.0.1.15.160", "fd00::2", b, sizeof b), "-");
    /* Unix sockets, unnamed (rpcbind's) and the matchmaker's own: never */
    assert_string_equal(published("date", 9, "local", "/run/date.sock", "10.0.0.2", b, sizeof b),
                        "-");
    assert_string_equal(published("", 9, "tcp", "10.1.2.3.0.99", "10.0.0.2", b, sizeof b), "-");
    assert_string_equal(
        published("matchmaker", MATCHMAKER_PROG, "tcp", "0.0.0.0.0.111", "10.0.0.2", b, sizeof b),
        "-");
    assert_string_equal(published("x", 100000, "tcp", "0.0.0.0.0.111", "10.0.0.2", b, sizeof b),
                        "-");
    /* port 0, a malformed address */
    assert_string_equal(published("date", 9, "tcp", "10.1.2.3.0.0", "10.0.0.2", b, sizeof b), "-");
    assert_string_equal(published("date", 9, "tcp", "10.1.2.3", "10.0.0.2", b, sizeof b), "-");
    /* and what is published parses as the cache reads it */
    mm_cc_entry e;
    const char *why = NULL,
               *v = published("date", 9, "tcp", "0.0.0.0.15.160", "10.0.0.2", b, sizeof b);
    assert_int_equal(mm_ccache_parse(PFX, PFX "services/date/b/9/1/tcp", v, strlen(v), &e, &why),
                     0);
}

/* readers beside a writer, for ThreadSanitizer */
static void *reader(void *arg)
{
    mm_ccache *cc = arg;
    for (int i = 0; i < 2000; i++) {
        mm_cc_entry *v = NULL;
        size_t n = 0;
        if (mm_ccache_lookup(cc, "s", 0, "", &v, &n, NULL) != 0)
            return (void *)1;
        for (size_t k = 0; k < n; k++)
            if (strcmp(v[k].name, "s") != 0)
                return (void *)1;
        free(v);
    }
    return NULL;
}

static void test_readers_and_a_writer_share_the_cache(void **state)
{
    (void)state;
    mm_ccache *cc = make("me", 64);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reader, cc), 0);
    for (int i = 0; i < 2000; i++) {
        char key[80], val[32];
        snprintf(key, sizeof key, PFX "services/s/h%d/1/1/tcp", i % 100);
        snprintf(val, sizeof val, "10.0.%d.%d.1.1", i / 256 % 256, i % 256);
        mm_etcd_event ev = i % 3 == 2 ? del_ev(key, i + 1) : put_ev(key, val, i + 1);
        assert_int_equal(mm_ccache_apply(cc, &ev, 1, i + 1), 0);
    }
    for (int i = 0; i < 2; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_null(r);
    }
    mm_ccache_stats st;
    mm_ccache_stats_get(cc, &st);
    assert_true(st.entries <= 64);
    assert_int_equal(st.revision, 2000);
    mm_ccache_destroy(cc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts_the_key_layout),
        cmocka_unit_test(test_parse_refuses_every_malformed_key),
        cmocka_unit_test(test_parse_refuses_every_malformed_address),
        cmocka_unit_test(test_create_checks_its_settings),
        cmocka_unit_test(test_a_range_read_fills_in_order_and_leaves_malformed_keys_out),
        cmocka_unit_test(test_watch_events_put_update_and_delete),
        cmocka_unit_test(test_the_bound_refuses_counts_and_reports),
        cmocka_unit_test(test_lookup_leaves_this_host_out_and_picks_the_version),
        cmocka_unit_test(test_what_is_published_and_at_which_address),
        cmocka_unit_test(test_readers_and_a_writer_share_the_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
