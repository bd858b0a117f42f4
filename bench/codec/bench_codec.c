/*
 * bench_codec.c: the codec benchmark. It measures, in one run, the encode
 * and decode throughput of Parley's generated codec and of libtirpc's
 * (rpcgen's routines over xdrmem) on the types of bench.x:
 *
 *   (a) an array of 100 structs { string name<32>; unsigned int uid;
 *       hyper login_time; }, names of 6 to 24 characters;
 *   (b) a 1 MiB opaque<>, next to a plain memcpy of 1 MiB, the physical
 *       limit;
 *   (c) an array of 100,000 ints.
 *
 * Decoding is counted with its allocations and the free that releases
 * them. Before timing anything it checks that both sides produce the same
 * bytes and decode them to the input. It prints a table and whether each
 * target was met; the exit status is 0 whatever the figures (this is a
 * measurement, not a test) and 1 only when something failed.
 *
 * Usage: bench_codec [--quick] [--reps N] [--batch-ms M]
 */
#include "benchutil.h"
#include "bench_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The default run takes about 10 s; --quick a fraction of a second, for a
 * smoke test whose figures are only indicative. */
#define DEFAULT_REPS     41
#define DEFAULT_BATCH_MS 15.0
#define QUICK_REPS       5
#define QUICK_BATCH_MS   2.0

const char *bench_strerror(int rc)
{
    switch (rc) {
    case BENCH_ERR_MISMATCH:
        return "decoded values differ from the input";
    case BENCH_ERR_NOMEM:
        return "out of memory";
    default:
        return NULL;
    }
}

/* ---- input -------------------------------------------------------------- */

/* splitmix64 is a small deterministic generator, so that every run (and
 * both sides) sees the same input. */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void free_input(bench_data *in)
{
    if (in->names)
        for (size_t i = 0; i < in->nusers; i++)
            free(in->names[i]);
    free(in->names);
    free(in->uids);
    free(in->times);
    free(in->blob);
    free(in->ints);
    memset(in, 0, sizeof *in);
}

/* make_input builds the shared values: login names such as "mvogel.ops2"
 * of 6 to 24 characters, uids from 1000, login times in microseconds of
 * recent years, random blob bytes and ints of either sign. */
static int make_input(bench_data *in)
{
    static const char letters[] = "abcdefghijklmnopqrstuvwxyz";
    uint64_t seed = 20240601;

    memset(in, 0, sizeof *in);
    in->nusers = BENCH_NUSERS;
    in->blob_len = BENCH_BLOB_BYTES;
    in->nints = BENCH_NINTS;
    in->names = calloc(in->nusers, sizeof *in->names);
    in->uids = malloc(in->nusers * sizeof *in->uids);
    in->times = malloc(in->nusers * sizeof *in->times);
    in->blob = malloc(in->blob_len);
    in->ints = malloc(in->nints * sizeof *in->ints);
    if (!in->names || !in->uids || !in->times || !in->blob || !in->ints)
        goto nomem;
    for (size_t i = 0; i < in->nusers; i++) {
        size_t len = BENCH_NAME_MIN + splitmix64(&seed) % (BENCH_NAME_MAX - BENCH_NAME_MIN + 1);
        char *s = malloc(len + 1);
        if (s == NULL)
            goto nomem;
        for (size_t k = 0; k < len; k++) {
            uint64_t r = splitmix64(&seed);
            if (k == len / 2 && r % 3 == 0)
                s[k] = '.';
            else if (k == len - 1 && r % 4 == 0)
                s[k] = (char)('0' + r % 10);
            else
                s[k] = letters[r % 26];
        }
        s[len] = '\0';
        in->names[i] = s;
        in->uids[i] = 1000 + (uint32_t)(splitmix64(&seed) % 60000);
        in->times[i] = 1600000000000000 + (int64_t)(splitmix64(&seed) % 200000000000000);
    }
    for (size_t i = 0; i < in->blob_len; i += 8) {
        uint64_t r = splitmix64(&seed);
        memcpy(in->blob + i, &r, in->blob_len - i < 8 ? in->blob_len - i : 8);
    }
    for (size_t i = 0; i < in->nints; i++)
        in->ints[i] = (int32_t)(uint32_t)splitmix64(&seed);
    return 0;
nomem:
    free_input(in);
    return BENCH_ERR_NOMEM;
}

/* ---- verification ------------------------------------------------------- */

static const char *const case_names[BENCH_NCASES] = {
    "(a) 100 structs",
    "(b) 1 MiB opaque",
    "(c) 100000 ints",
};

/* verify checks, for each case, that both sides encode to the same bytes
 * and that each side decodes them back to the input. */
static int verify(const bench_side *p, const bench_side *t)
{
    for (int c = 0; c < BENCH_NCASES; c++) {
        const uint8_t *pb, *tb;
        size_t pn, tn;
        int rc;

        p->wire(c, &pb, &pn);
        t->wire(c, &tb, &tn);
        if (pn != tn || memcmp(pb, tb, pn) != 0) {
            size_t at = 0;
            while (at < pn && at < tn && pb[at] == tb[at])
                at++;
            fprintf(stderr,
                    "bench_codec: %s: the encodings differ (parley %zu bytes, libtirpc %zu bytes,"
                    " first difference at byte %zu)\n",
                    case_names[c], pn, tn, at);
            return 1;
        }
        for (int i = 0; i < 2; i++) {
            const bench_side *s = i ? t : p;
            if ((rc = s->check(c)) != 0) {
                fprintf(stderr, "bench_codec: %s: %s decode check failed: %s\n", case_names[c],
                        s->name, s->strerror(rc));
                return 1;
            }
        }
    }
    return 0;
}

/* ---- subjects ------------------------------------------------------------- */

/* What a row of the table measures. */
enum { OP_ENCODE, OP_DECODE, OP_DECODE_ARENA, OP_MEMCPY };

/* op_ctx names one measured operation: an op on a case by a side. */
typedef struct op_ctx {
    const bench_side *side;
    int c;
    int op;
} op_ctx;

static int run_op(void *ctx, size_t iters)
{
    const op_ctx *o = ctx;

    switch (o->op) {
    case OP_ENCODE:
        return o->side->encode(o->c, iters);
    case OP_DECODE:
        return o->side->decode(o->c, iters);
    default:
        return o->side->decode_arena(o->c, iters);
    }
}

typedef struct copy_ctx {
    void *dst;
    const void *src;
    size_t n;
} copy_ctx;

static int run_memcpy(void *ctx, size_t iters)
{
    const copy_ctx *m = ctx;
    for (size_t i = 0; i < iters; i++) {
        memcpy(m->dst, m->src, m->n);
        bench_clobber(m->dst);
    }
    return 0;
}

/* The rows of the table, which is also the order of measurement: for each
 * case and direction Parley then libtirpc, so that the batches compared run
 * next to each other; memcpy between the encodes and the decodes of (b),
 * the two it is compared with; and, for (a), a decode into an arena. The
 * target for (a)'s decode counts the decode with its allocations and their
 * release: with an arena that is the bump allocations and one reset per
 * message, the way the runtime decodes every call; the decode with malloc
 * and <type>_free is printed beside it, for rpcgen-style use. */
typedef struct row {
    int c;
    int op;
    int tirpc;
} row;

static const row rows[] = {
    {BENCH_CASE_USERS, OP_ENCODE, 0},       {BENCH_CASE_USERS, OP_ENCODE, 1},
    {BENCH_CASE_USERS, OP_DECODE, 0},       {BENCH_CASE_USERS, OP_DECODE, 1},
    {BENCH_CASE_USERS, OP_DECODE_ARENA, 0}, {BENCH_CASE_BLOB, OP_ENCODE, 0},
    {BENCH_CASE_BLOB, OP_ENCODE, 1},        {BENCH_CASE_BLOB, OP_MEMCPY, 0},
    {BENCH_CASE_BLOB, OP_DECODE, 0},        {BENCH_CASE_BLOB, OP_DECODE, 1},
    {BENCH_CASE_INTS, OP_ENCODE, 0},        {BENCH_CASE_INTS, OP_ENCODE, 1},
    {BENCH_CASE_INTS, OP_DECODE, 0},        {BENCH_CASE_INTS, OP_DECODE, 1},
};

enum { NROWS = sizeof rows / sizeof rows[0] };

/* find_row returns the row of op on case c by a side (or memcpy), -1 when
 * there is none. */
static int find_row(int c, int op, int tirpc)
{
    for (int r = 0; r < NROWS; r++)
        if (rows[r].c == c && rows[r].op == op && rows[r].tirpc == tirpc)
            return r;
    return -1;
}

/* ---- report ------------------------------------------------------------- */

/* figures holds, per row, the median and minimum time of one operation; for
 * Parley's rows the speed-up over libtirpc's row of the same case and
 * direction (a decode into an arena is compared with libtirpc's decode);
 * and for (b) the bandwidth relative to memcpy. The ratios are medians of
 * per-repetition ratios; 0 where there is none. */
typedef struct figures {
    double med[NROWS];
    double min[NROWS];
    double speedup[NROWS];
    double vs_memcpy[NROWS];
} figures;

static void summarise(const bench_subject *subj, figures *f)
{
    int copy = find_row(BENCH_CASE_BLOB, OP_MEMCPY, 0);

    memset(f, 0, sizeof *f);
    for (int r = 0; r < NROWS; r++) {
        const row *w = &rows[r];
        f->med[r] = bench_median(&subj[r]);
        f->min[r] = bench_min(&subj[r]);
        if (!w->tirpc && w->op != OP_MEMCPY) {
            int peer = find_row(w->c, w->op == OP_ENCODE ? OP_ENCODE : OP_DECODE, 1);
            f->speedup[r] = bench_ratio(&subj[peer], &subj[r]);
        }
        if (w->c == BENCH_CASE_BLOB)
            f->vs_memcpy[r] = bench_ratio(&subj[copy], &subj[r]);
    }
}

static const char *const item_names[BENCH_NCASES] = {"struct", "MiB", "int"};

/* items_per_op is how many items (structs, MiB, ints) one operation of
 * case c handles. */
static double items_per_op(const bench_data *in, int c)
{
    switch (c) {
    case BENCH_CASE_USERS:
        return (double)in->nusers;
    case BENCH_CASE_BLOB:
        return (double)in->blob_len / (double)BENCH_BLOB_BYTES;
    default:
        return (double)in->nints;
    }
}

static void print_table(const bench_data *in, const bench_side *p, const figures *f)
{
    static const char *const op_names[] = {"encode", "decode", "decode", "copy"};

    printf("%-17s %-7s %-12s %11s %11s  %-6s %10s %12s %10s\n", "case", "op", "side", "ns/item",
           "min ns/item", "item", "MB/s", "vs libtirpc", "vs memcpy");
    for (int r = 0; r < NROWS; r++) {
        const row *w = &rows[r];
        const char *label = case_names[w->c], *side = "parley";
        const uint8_t *wire;
        size_t len;
        double items = items_per_op(in, w->c);

        p->wire(w->c, &wire, &len);
        if (r > 0 && rows[r - 1].c == w->c && rows[r - 1].op != OP_MEMCPY)
            label = "";
        if (w->op == OP_MEMCPY) {
            label = "memcpy 1 MiB";
            side = "memcpy";
            len = BENCH_BLOB_BYTES;
        } else if (w->tirpc) {
            side = "libtirpc";
        } else if (w->op == OP_DECODE_ARENA) {
            side = "parley+arena";
        }
        printf("%-17s %-7s %-12s %11.2f %11.2f  %-6s %10.1f", label, op_names[w->op], side,
               f->med[r] / items, f->min[r] / items, item_names[w->c],
               (double)len / f->med[r] * 1e3);
        if (f->speedup[r] > 0)
            printf(" %11.2fx", f->speedup[r]);
        else
            printf(" %12s", "");
        if (f->vs_memcpy[r] > 0)
            printf(" %9.2fx", f->vs_memcpy[r]);
        printf("\n");
    }
    printf(
        "ns/item: median and minimum over the repetitions. MB/s: wire bytes (10^6 bytes\n"
        "per second) at the median. vs libtirpc: Parley's speed-up, libtirpc's time over\n"
        "Parley's (>1: Parley is faster). vs memcpy: bandwidth as a fraction of memcpy's.\n"
        "Both ratios are medians of the ratios within each repetition. parley+arena decodes\n"
        "into a parley_limits.arena reset after each message, as the runtime decodes calls.\n\n");
}

/* print_target prints one target and whether it was met. */
static void print_target(const char *what, double got, double want)
{
    printf("target %-38s %6.2fx  %s\n", what, got, got >= want ? "met" : "MISSED");
}

static void print_targets(const figures *f)
{
    int a_enc = find_row(BENCH_CASE_USERS, OP_ENCODE, 0);
    int a_dec = find_row(BENCH_CASE_USERS, OP_DECODE, 0);
    int a_arena = find_row(BENCH_CASE_USERS, OP_DECODE_ARENA, 0);
    int b_enc = find_row(BENCH_CASE_BLOB, OP_ENCODE, 0);
    int b_dec = find_row(BENCH_CASE_BLOB, OP_DECODE, 0);
    int c_enc = find_row(BENCH_CASE_INTS, OP_ENCODE, 0);
    int c_dec = find_row(BENCH_CASE_INTS, OP_DECODE, 0);

    print_target("(a) encode >= 4x libtirpc:", f->speedup[a_enc], 4.0);
    print_target("(a) decode >= 4x libtirpc (arena):", f->speedup[a_arena], 4.0);
    printf("       (a) decode, malloc and _free:          %6.2fx  (information: glibc's\n"
           "           malloc and free of 100 strings cost more than the target allows)\n",
           f->speedup[a_dec]);
    print_target("(b) encode >= 0.8x memcpy bandwidth:", f->vs_memcpy[b_enc], 0.8);
    print_target("(b) decode >= 0.8x memcpy bandwidth:", f->vs_memcpy[b_dec], 0.8);
    print_target("(c) encode >= 8x libtirpc:", f->speedup[c_enc], 8.0);
    print_target("(c) decode >= 8x libtirpc:", f->speedup[c_dec], 8.0);
}

/* ---- main --------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_codec [--quick] [--reps N] [--batch-ms M]\n"
            "  --quick       a short run (a smoke test; rough figures)\n"
            "  --reps N      repetitions of each measurement (default %d)\n"
            "  --batch-ms M  length of one batch in milliseconds (default %.0f)\n",
            DEFAULT_REPS, DEFAULT_BATCH_MS);
}

/* parse_number reads a positive number no larger than max from s. */
static int parse_number(const char *s, double max, double *out)
{
    char *end;
    double v = strtod(s, &end);

    if (end == s || *end != '\0' || !(v > 0) || v > max)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    const bench_side *sides[2] = {&bench_side_parley, &bench_side_tirpc};
    unsigned reps = DEFAULT_REPS;
    double batch_ms = DEFAULT_BATCH_MS, v;
    int reps_set = 0, batch_set = 0, quick = 0, status = 1, rc;
    bench_data in;
    op_ctx ops[NROWS];
    copy_ctx copy = {NULL, NULL, BENCH_BLOB_BYTES};
    bench_subject subj[NROWS], *order[NROWS], *failed = NULL;
    size_t nsubj = 0;
    figures f;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
        } else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc &&
                   parse_number(argv[i + 1], 100000, &v) == 0 && v == (unsigned)v) {
            reps = (unsigned)v;
            reps_set = 1;
            i++;
        } else if (strcmp(argv[i], "--batch-ms") == 0 && i + 1 < argc &&
                   parse_number(argv[i + 1], 10000, &v) == 0) {
            batch_ms = v;
            batch_set = 1;
            i++;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (quick) {
        reps = reps_set ? reps : QUICK_REPS;
        batch_ms = batch_set ? batch_ms : QUICK_BATCH_MS;
    }

    if (make_input(&in) != 0) {
        fprintf(stderr, "bench_codec: out of memory\n");
        return 1;
    }
    for (int s = 0; s < 2; s++) {
        if ((rc = sides[s]->prepare(&in)) != 0) {
            fprintf(stderr, "bench_codec: %s: preparing the input failed: %s\n", sides[s]->name,
                    sides[s]->strerror(rc));
            if (s == 1)
                sides[0]->release();
            free_input(&in);
            return 1;
        }
    }
    copy.dst = malloc(copy.n);
    copy.src = in.blob;
    if (copy.dst == NULL) {
        fprintf(stderr, "bench_codec: out of memory\n");
        goto out;
    }
    if (verify(sides[0], sides[1]) != 0)
        goto out;
    printf("verified: Parley and libtirpc encode each case to the same bytes "
           "and decode them back to the input\n");

    for (int r = 0; r < NROWS; r++) {
        const row *w = &rows[r];
        ops[r] = (op_ctx){sides[w->tirpc], w->c, w->op};
        if (w->op == OP_MEMCPY)
            rc = bench_subject_init(&subj[r], "memcpy", run_memcpy, &copy, reps);
        else
            rc = bench_subject_init(&subj[r], sides[w->tirpc]->name, run_op, &ops[r], reps);
        if (rc != 0)
            goto nomem;
        order[r] = &subj[r];
        nsubj++;
    }

    printf("timing: %u repetitions of batches of ~%.0f ms, Parley and libtirpc taking turns%s\n\n",
           reps, batch_ms, quick ? " (--quick: rough figures)" : "");
    fflush(stdout);
    for (int r = 0; r < NROWS; r++) {
        if ((rc = bench_calibrate(&subj[r], batch_ms * 1e6)) != 0) {
            failed = &subj[r];
            goto fail;
        }
    }
    if ((rc = bench_run_interleaved(order, NROWS, reps, &failed)) != 0)
        goto fail;

    summarise(subj, &f);
    print_table(&in, sides[0], &f);
    print_targets(&f);
    status = 0;
    goto out;

fail:
    if (failed->fn == run_op) {
        const op_ctx *o = failed->ctx;
        fprintf(stderr, "bench_codec: %s %s of %s failed: %s\n", o->side->name,
                o->op == OP_ENCODE ? "encode" : "decode", case_names[o->c], o->side->strerror(rc));
    } else {
        fprintf(stderr, "bench_codec: %s failed\n", failed->label);
    }
    goto out;
nomem:
    fprintf(stderr, "bench_codec: out of memory\n");
out:
    for (size_t i = 0; i < nsubj; i++)
        bench_subject_fini(&subj[i]);
    free(copy.dst);
    sides[1]->release();
    sides[0]->release();
    free_input(&in);
    return status;
}
