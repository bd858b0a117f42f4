/*
 * tests/integ/cases.c: the calls of cases.h, and their results in words.
 */
#include "cases.h"

#include <limits.h>
#include <string.h>

const unsigned cases_gids[CASES_NGIDS] = {10, 20, 30};

static void print_record(FILE *out, record *a, side *h)
{
    record r;
    memset(&r, 0, sizeof r);
    if (!side_echo_record(h, a, &r)) {
        fprintf(out, "echo_record: failed\n");
        return;
    }
    fprintf(out, "echo_record: name=%s big=%lld ubig=%llu values=[", r.name, (long long)r.big,
            (unsigned long long)r.ubig);
    for (unsigned i = 0; i < r.values.values_len; i++)
        fprintf(out, "%s%d", i ? "," : "", r.values.values_val[i]);
    fprintf(out, "] tag=%02x%02x%02x%02x hue=%d\n", (unsigned char)r.tag[0],
            (unsigned char)r.tag[1], (unsigned char)r.tag[2], (unsigned char)r.tag[3], (int)r.hue);
    side_free_record(&r);
}

static void print_shape(FILE *out, shape *a, side *h)
{
    shape r;
    memset(&r, 0, sizeof r);
    if (!side_echo_shape(h, a, &r)) {
        fprintf(out, "echo_shape: failed\n");
        return;
    }
    if (r.kind == RED)
        fprintf(out, "echo_shape: RED side=%d\n", r.shape_u.side);
    else if (r.kind == GREEN)
        fprintf(out, "echo_shape: GREEN label=%s\n", r.shape_u.label);
    else
        fprintf(out, "echo_shape: kind=%d\n", (int)r.kind);
    side_free_shape(&r);
}

static void print_list(FILE *out, const char *what, node_list l)
{
    fprintf(out, "%s: [", what);
    for (node *p = l; p; p = p->next)
        fprintf(out, "%s%d", p == l ? "" : ",", p->value);
    fprintf(out, "]\n");
}

static void print_whoami(FILE *out, side *h, int auth_sys)
{
    whoami_res r;
    memset(&r, 0, sizeof r);
    if (!side_whoami(h, auth_sys, &r)) {
        fprintf(out, "whoami: failed\n");
        return;
    }
    /* not the stamp: libtirpc's is the time */
    fprintf(out, "whoami: flavor=%u uid=%u gid=%u gids=[", r.flavor, r.uid, r.gid);
    for (unsigned i = 0; i < r.gids.gids_len; i++)
        fprintf(out, "%s%u", i ? "," : "", r.gids.gids_val[i]);
    fprintf(out, "] machine=%s\n", r.machine);
    side_free_whoami(&r);
}

void integ_cases(side *h, FILE *out)
{
    char hello[] = "hello", empty[] = "", hi[] = "hi";
    int vals[INTEG_MAX_VALUES];
    for (int i = 0; i < INTEG_MAX_VALUES; i++)
        vals[i] = i % 3 == 0 ? INT_MIN + i : i % 3 == 1 ? INT_MAX - i : -i;
    record recs[] = {
        {hello, -5000000000LL, (u_quad_t)1 << 40, {4, vals}, {'a', 'b', 'c', 'd'}, BLUE},
        {empty, 0, 0, {0, NULL}, {0, 0, 0, 0}, RED},
        {hello, LLONG_MAX, ULLONG_MAX, {INTEG_MAX_VALUES, vals}, {-1, 0, 1, 127}, GREEN},
    };
    for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++)
        print_record(out, &recs[i], h);

    shape shapes[] = {
        {RED, {.side = -21}}, {GREEN, {.label = hi}}, {GREEN, {.label = empty}}, {BLUE, {0}}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        print_shape(out, &shapes[i], h);

    color colors[] = {RED, GREEN, BLUE};
    for (size_t i = 0; i < 3; i++) {
        color r = RED;
        if (side_next_color(h, &colors[i], &r))
            fprintf(out, "next_color: %d -> %d\n", (int)colors[i], (int)r);
        else
            fprintf(out, "next_color: failed\n");
    }

    node nodes[50];
    for (int i = 0; i < 50; i++) {
        nodes[i].value = i % 2 ? -i * 1000 : i * 77;
        nodes[i].next = i < 49 ? &nodes[i + 1] : NULL;
    }
    node_list lists[] = {NULL, &nodes[49], &nodes[40], nodes};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        int sum = 0;
        if (side_sum_list(h, &lists[i], &sum))
            fprintf(out, "sum_list: %d\n", sum);
        else
            fprintf(out, "sum_list: failed\n");
    }

    int lens[] = {0, 1, 7, -3};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        node_list l = NULL;
        if (side_make_list(h, &lens[i], &l)) {
            print_list(out, "make_list", l);
            side_free_list(&l);
        } else {
            fprintf(out, "make_list: failed\n");
        }
    }

    print_whoami(out, h, 0);
    print_whoami(out, h, 1);

    int ms = 3, got = 0;
    if (side_slow(h, &ms, &got))
        fprintf(out, "slow: %d\n", got);
    else
        fprintf(out, "slow: failed\n");

    static char bytes[3000];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (char)(i * 31 + 7);
    u_int sizes[] = {0, 5, sizeof bytes};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        blob b = {sizes[i], bytes}, r;
        memset(&r, 0, sizeof r);
        if (!side_echo_blob(h, &b, &r)) {
            fprintf(out, "echo_blob: failed\n");
            continue;
        }
        unsigned sum = 0;
        for (u_int k = 0; k < r.blob_len; k++)
            sum = sum * 33 + (unsigned char)r.blob_val[k];
        fprintf(out, "echo_blob: %u bytes, hash %08x, same %d\n", r.blob_len, sum,
                r.blob_len == sizes[i] && (!sizes[i] || !memcmp(r.blob_val, bytes, sizes[i])));
        side_free_blob(&r);
    }
}
