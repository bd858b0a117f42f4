/*
 * tests/unit/test_names.c: service names in the runtime: where the
 * matchmaker is (PARLEY_MATCHMAKER), a server registering its addresses
 * with parley_server_register and removing them at parley_server_destroy,
 * and a client made with a name ("echo", "echo@127.0.0.1:PORT") that looks
 * the service up, prefers a Unix socket, then TCP, then UDP, reaches a
 * server on a wildcard address, follows a server that restarted on another
 * port, and reports an unknown name, another version and another program
 * clearly.
 *
 * The matchmaker here is a small one written for the test with the
 * skeleton parleygen makes from matchmaker.idl (a table in memory, no owner
 * rules), served by a real Parley server on loopback: the runtime is tested
 * against the protocol, independently of parley-matchmaker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "matchmaker.h"
#include "names/names.h"
#include "parley/client.h"
#include "parley/server.h"

/* ---- a matchmaker in memory ---------------------------------------------- */

enum { MAX_ENTRIES = 64 };

typedef struct entry {
    char name[MM_NAME_MAX + 1], netid[MM_NETID_MAX + 1], uaddr[MM_UADDR_MAX + 1];
    uint32_t prog, vers;
} entry;

static pthread_mutex_t table_mu = PTHREAD_MUTEX_INITIALIZER;
static entry table[MAX_ENTRIES];
static size_t ntable;

int matchmaker_register_1_svc(const mm_registration *r, mm_status *result, parley_call *call)
{
    (void)call;
    pthread_mutex_lock(&table_mu);
    size_t i = 0;
    while (i < ntable && !(strcmp(table[i].name, r->name) == 0 && table[i].vers == r->vers &&
                           strcmp(table[i].netid, r->netid) == 0))
        i++;
    if (i == MAX_ENTRIES) {
        *result = MM_FULL;
    } else {
        entry *e = &table[i];
        snprintf(e->name, sizeof e->name, "%s", r->name);
        snprintf(e->netid, sizeof e->netid, "%s", r->netid);
        snprintf(e->uaddr, sizeof e->uaddr, "%s", r->uaddr);
        e->prog = r->prog;
        e->vers = r->vers;
        if (i == ntable)
            ntable++;
        *result = MM_OK;
    }
    pthread_mutex_unlock(&table_mu);
    return PARLEY_OK;
}

int matchmaker_unregister_1_svc(const mm_key *k, mm_status *result, parley_call *call)
{
    (void)call;
    pthread_mutex_lock(&table_mu);
    *result = MM_NOENT;
    for (size_t i = 0; i < ntable;) {
        entry *e = &table[i];
        if (strcmp(e->name, k->name) == 0 && (k->vers == 0 || e->vers == k->vers) &&
            (!k->netid[0] || strcmp(e->netid, k->netid) == 0)) {
            table[i] = table[--ntable];
            *result = MM_OK;
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&table_mu);
    return PARLEY_OK;
}

/* copy_entries answers the entries that match into the call's arena. */
static void copy_entries(parley_call *call, const char *name, uint32_t vers, mm_entry_list *out)
{
    parley_arena *a = parley_call_arena(call);
    out->mm_entry_list_val = parley_arena_alloc(a, MAX_ENTRIES * sizeof(mm_entry));
    out->mm_entry_list_len = 0;
    for (size_t i = 0; i < ntable; i++) {
        const entry *e = &table[i];
        if ((name && strcmp(e->name, name) != 0) || (vers && e->vers != vers))
            continue;
        mm_entry *m = &out->mm_entry_list_val[out->mm_entry_list_len++];
        memset(m, 0, sizeof *m);
        m->name = parley_arena_alloc(a, sizeof e->name);
        m->netid = parley_arena_alloc(a, sizeof e->netid);
        m->uaddr = parley_arena_alloc(a, sizeof e->uaddr);
        m->owner = parley_arena_alloc(a, 2);
        memcpy(m->name, e->name, sizeof e->name);
        memcpy(m->netid, e->netid, sizeof e->netid);
        memcpy(m->uaddr, e->uaddr, sizeof e->uaddr);
        memcpy(m->owner, "0", 2);
        m->prog = e->prog;
        m->vers = e->vers;
    }
}

int matchmaker_lookup_1_svc(const mm_query *q, mm_lookup_res *result, parley_call *call)
{
    pthread_mutex_lock(&table_mu);
    uint32_t vers = q->vers;
    for (size_t i = 0; vers == 0 && i < ntable; i++)
        if (strcmp(table[i].name, q->name) == 0 && table[i].vers > vers)
            vers = table[i].vers;
    copy_entries(call, q->name, vers ? vers : UINT32_MAX, &result->mm_lookup_res_u.entries);
    result->status = result->mm_lookup_res_u.entries.mm_entry_list_len ? MM_OK : MM_NOENT;
    pthread_mutex_unlock(&table_mu);
    return PARLEY_OK;
}

int matchmaker_list_1_svc(mm_entry_list *result, parley_call *call)
{
    pthread_mutex_lock(&table_mu);
    copy_entries(call, NULL, 0, result);
    pthread_mutex_unlock(&table_mu);
    return PARLEY_OK;
}

int matchmaker_stats_1_svc(mm_stats_list *result, parley_call *call)
{
    (void)call;
    result->mm_stats_list_len = 0; /* counters are not what this test is about */
    result->mm_stats_list_val = NULL;
    return PARLEY_OK;
}

static char empty[1];

int matchmaker_instances_1_svc(const mm_query *q, mm_instances_res *result, parley_call *call)
{
    (void)q;
    (void)call;
    result->status = MM_NOENT; /* the runtime never asks for instances */
    return PARLEY_OK;
}

int matchmaker_cluster_1_svc(mm_cluster_info *result, parley_call *call)
{
    (void)call;
    memset(result, 0, sizeof *result); /* nor for the cluster */
    result->host = empty;
    result->error = empty;
    return PARLEY_OK;
}

/* ---- servers run in threads ---------------------------------------------- */

typedef struct running {
    parley_server *s;
    pthread_t thread;
    int rc; /* parley_server_run's, checked in the test's thread by halt */
} running;

static void *run(void *arg)
{
    running *r = arg;
    r->rc = parley_server_run(r->s);
    return NULL;
}

static void go(running *r)
{
    assert_int_equal(pthread_create(&r->thread, NULL, run, r), 0);
}

static void halt(running *r)
{
    parley_server_stop(r->s);
    assert_int_equal(pthread_join(r->thread, NULL), 0);
    assert_int_equal(r->rc, PARLEY_OK);
    parley_server_destroy(r->s);
}

static running mm;
static char mm_port[8];
static char dir[64];

static int start_matchmaker(void **state)
{
    (void)state;
    char bound[128];
    ntable = 0;
    assert_int_equal(parley_server_create(&mm.s, NULL), PARLEY_OK);
    assert_int_equal(parley_server_add_program(mm.s, &matchmaker_prog_1), PARLEY_OK);
    assert_int_equal(parley_server_listen(mm.s, "tcp://127.0.0.1:0", bound, sizeof bound),
                     PARLEY_OK);
    snprintf(mm_port, sizeof mm_port, "%s", strrchr(bound, ':') + 1);
    char env[64];
    snprintf(env, sizeof env, "127.0.0.1:%s", mm_port);
    setenv("PARLEY_MATCHMAKER", env, 1);
    go(&mm);
    strcpy(dir, "/tmp/parley-names-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int stop_matchmaker(void **state)
{
    (void)state;
    halt(&mm);
    unsetenv("PARLEY_MATCHMAKER");
    char path[128];
    snprintf(path, sizeof path, "%s/s", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}

/* The service: program PROG, versions 1 and 2, procedure 1 answers its
 * argument plus the version times 1000. */
#define PROG 0x20000123u

static _Atomic int last_transport; /* of the last call to the service */

static int add(parley_call *call, parley_dec *args, uint32_t vers)
{
    last_transport = parley_call_transport(call);
    uint32_t v = parley_get_u32(args);
    if (args->err || parley_dec_remaining(args))
        return PARLEY_ERR_GARBAGE_ARGS;
    parley_enc *e = parley_call_result(call, 4);
    if (!e)
        return PARLEY_ERR_SYSTEM_ERR;
    parley_put_u32(e, v + vers * 1000);
    return PARLEY_OK;
}

static int add_v1(parley_call *call, parley_dec *args)
{
    return add(call, args, 1);
}

static const parley_proc_def procs_v1[] = {{.proc = 1, .handler = add_v1}};
static const parley_program_def prog_v1 = {PROG, 1, procs_v1, 1};

/* service starts the service on the addresses given (NULL-terminated) and
 * registers it as name. */
static void service(running *r, const char *name, const char *const *addrs)
{
    assert_int_equal(parley_server_create(&r->s, NULL), PARLEY_OK);
    assert_int_equal(parley_server_add_program(r->s, &prog_v1), PARLEY_OK);
    for (size_t i = 0; addrs[i]; i++)
        assert_int_equal(parley_server_listen(r->s, addrs[i], NULL, 0), PARLEY_OK);
    assert_int_equal(parley_server_register(r->s, name), PARLEY_OK);
    go(r);
}

static void enc_u32(parley_enc *e, const void *v)
{
    parley_put_u32(e, *(const uint32_t *)v);
}

static void dec_u32(parley_dec *d, void *v)
{
    *(uint32_t *)v = parley_get_u32(d);
}

static int call_add(parley_client *c, uint32_t v, uint32_t *res)
{
    *res = 0;
    return parley_client_call(c, 1, enc_u32, &v, 4, dec_u32, res, 5000);
}

static size_t count_netid(const char *name, const char *netid)
{
    size_t n = 0;
    pthread_mutex_lock(&table_mu);
    for (size_t i = 0; i < ntable; i++)
        n += strcmp(table[i].name, name) == 0 && strcmp(table[i].netid, netid) == 0;
    pthread_mutex_unlock(&table_mu);
    return n;
}

/* ---- tests --------------------------------------------------------------- */

static void expect_address(const char *env, const char *host, uint16_t port, const char *want)
{
    char out[300];
    if (env)
        setenv("PARLEY_MATCHMAKER", env, 1);
    else
        unsetenv("PARLEY_MATCHMAKER");
    int rc = pl_mm_address(host, port, out, sizeof out);
    if (want == NULL) {
        assert_int_equal(rc, PARLEY_ERR_ADDRESS);
        return;
    }
    if (rc != PARLEY_OK)
        fail_msg("%s / %s: %s", env ? env : "(unset)", host ? host : "-", parley_errname(rc));
    assert_string_equal(out, want);
}

static void test_the_matchmaker_is_where_the_environment_says(void **state)
{
    (void)state;
    expect_address(NULL, NULL, 0, "tcp://localhost:111");
    expect_address("", NULL, 0, "tcp://localhost:111");
    expect_address("mm.example:4111", NULL, 0, "tcp://mm.example:4111");
    expect_address("127.0.0.1", NULL, 0, "tcp://127.0.0.1:111");
    expect_address("[::1]:5", NULL, 0, "tcp://[::1]:5");
    expect_address("[::1]", NULL, 0, "tcp://[::1]:111");
    expect_address("unix:///run/mm.sock", NULL, 0, "unix:///run/mm.sock");
    expect_address("tcp://10.1.1.1:99", NULL, 0, "tcp://10.1.1.1:99");
    /* a host of the client's address replaces the environment's, keeping its port */
    expect_address("127.0.0.1:4111", "other", 0, "tcp://other:4111");
    expect_address("tcp://10.1.1.1:99", "other", 0, "tcp://other:99");
    expect_address("unix:///run/mm.sock", "other", 0, "tcp://other:111");
    expect_address(NULL, "::1", 7, "tcp://[::1]:7");
    /* what cannot be read */
    expect_address("::1:5", NULL, 0, NULL);
    expect_address("host:0", NULL, 0, NULL);
    expect_address("host:70000", NULL, 0, NULL);
    expect_address("host:x", NULL, 0, NULL);
    expect_address("[::1", NULL, 0, NULL);
    expect_address("ftp://x:1", NULL, 0, NULL);
    unsetenv("PARLEY_MATCHMAKER");
}

static void test_a_client_finds_a_registered_server_by_name(void **state)
{
    (void)state;
    char unix_addr[128];
    snprintf(unix_addr, sizeof unix_addr, "unix://%s/s", dir);
    const char *const addrs[] = {"tcp://127.0.0.1:0", "udp://127.0.0.1:0", unix_addr, NULL};
    running r;
    service(&r, "adder", addrs);
    assert_int_equal(count_netid("adder", "tcp"), 1);
    assert_int_equal(count_netid("adder", "udp"), 1);
    assert_int_equal(count_netid("adder", "local"), 1);

    char at[64];
    snprintf(at, sizeof at, "adder@127.0.0.1:%s", mm_port);
    const char *const names[] = {"adder", at};
    for (size_t i = 0; i < 2; i++) {
        parley_client *c = NULL;
        assert_int_equal(parley_client_create(&c, names[i], PROG, 1, NULL), PARLEY_OK);
        uint32_t res;
        assert_int_equal(call_add(c, 5, &res), PARLEY_OK);
        assert_int_equal(res, 1005);
        assert_int_equal(last_transport, PARLEY_TRANSPORT_UNIX); /* the best on this host */
        parley_client_destroy(c);
    }
    /* a clean exit leaves nothing registered */
    halt(&r);
    assert_int_equal(count_netid("adder", "tcp") + count_netid("adder", "local"), 0);
}

static void test_a_name_falls_back_to_udp_and_resolves_wildcards(void **state)
{
    (void)state;
    const char *const udp_only[] = {"udp://0.0.0.0:0", NULL};
    running r;
    service(&r, "adder-udp", udp_only);
    pthread_mutex_lock(&table_mu);
    assert_int_equal(strncmp(table[0].uaddr, "0.0.0.0.", 8), 0);
    pthread_mutex_unlock(&table_mu);
    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, "adder-udp", PROG, 1, NULL), PARLEY_OK);
    uint32_t res;
    assert_int_equal(call_add(c, 7, &res), PARLEY_OK);
    assert_int_equal(res, 1007);
    assert_int_equal(last_transport, PARLEY_TRANSPORT_UDP);
    parley_client_destroy(c);
    halt(&r);
}

static void test_a_client_follows_a_server_that_restarted_elsewhere(void **state)
{
    (void)state;
    const char *const addrs[] = {"tcp://127.0.0.1:0", NULL};
    running a, b;
    service(&a, "mover", addrs);
    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, "mover", PROG, 1, NULL), PARLEY_OK);
    uint32_t res;
    assert_int_equal(call_add(c, 1, &res), PARLEY_OK);
    halt(&a);
    service(&b, "mover", addrs); /* another port */
    /* the broken connection fails at most one call; the next looks again */
    int rc = call_add(c, 2, &res);
    if (rc != PARLEY_OK) {
        assert_int_equal(rc, PARLEY_ERR_CLOSED);
        rc = call_add(c, 2, &res);
    }
    assert_int_equal(rc, PARLEY_OK);
    assert_int_equal(res, 1002);
    parley_client_destroy(c);
    halt(&b);
}

static void test_look_up_failures_say_what_is_wrong(void **state)
{
    (void)state;
    parley_client *c = NULL;
    assert_int_equal(parley_client_create(&c, "nobody", PROG, 1, NULL), PARLEY_ERR_NOT_REGISTERED);
    const char *const addrs[] = {"tcp://127.0.0.1:0", NULL};
    running r;
    service(&r, "adder", addrs);
    assert_int_equal(parley_client_create(&c, "adder", PROG, 2, NULL), PARLEY_ERR_PROG_MISMATCH);
    assert_int_equal(parley_client_create(&c, "adder", PROG + 1, 1, NULL), PARLEY_ERR_PROG_UNAVAIL);
    assert_null(c);
    /* a bad name is refused before any call */
    assert_int_equal(parley_server_register(r.s, "-bad"), PARLEY_ERR_INVALID);
    halt(&r);
    /* no matchmaker there */
    setenv("PARLEY_MATCHMAKER", "127.0.0.1:1", 1);
    assert_int_equal(parley_client_create(&c, "adder", PROG, 1, NULL), PARLEY_ERR_REFUSED);
    parley_server *s = NULL;
    assert_int_equal(parley_server_create(&s, NULL), PARLEY_OK);
    assert_int_equal(parley_server_add_program(s, &prog_v1), PARLEY_OK);
    assert_int_equal(parley_server_register(s, "adder"), PARLEY_ERR_INVALID); /* no address */
    assert_int_equal(parley_server_listen(s, "tcp://127.0.0.1:0", NULL, 0), PARLEY_OK);
    assert_int_equal(parley_server_register(s, "adder"), PARLEY_ERR_REFUSED);
    parley_server_destroy(s);
    char env[64];
    snprintf(env, sizeof env, "127.0.0.1:%s", mm_port);
    setenv("PARLEY_MATCHMAKER", env, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_matchmaker_is_where_the_environment_says),
        cmocka_unit_test_setup_teardown(test_a_client_finds_a_registered_server_by_name,
                                        start_matchmaker, stop_matchmaker),
        cmocka_unit_test_setup_teardown(test_a_name_falls_back_to_udp_and_resolves_wildcards,
                                        start_matchmaker, stop_matchmaker),
        cmocka_unit_test_setup_teardown(test_a_client_follows_a_server_that_restarted_elsewhere,
                                        start_matchmaker, stop_matchmaker),
        cmocka_unit_test_setup_teardown(test_look_up_failures_say_what_is_wrong, start_matchmaker,
                                        stop_matchmaker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
