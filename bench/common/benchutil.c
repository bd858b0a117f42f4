/*
 * benchutil.c: the timing helpers of benchutil.h: a monotonic clock, batch
 * calibration, interleaved repetitions and their median.
 */
#include "benchutil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* bench_subject_init sets s up with room for reps samples. */
int bench_subject_init(bench_subject *s, const char *label, bench_fn fn, void *ctx, unsigned reps)
{
    memset(s, 0, sizeof *s);
    s->ns = calloc(reps ? reps : 1, sizeof *s->ns);
    if (s->ns == NULL)
        return -1;
    s->label = label;
    s->fn = fn;
    s->ctx = ctx;
    s->iters = 1;
    s->cap = reps;
    return 0;
}

/* bench_subject_fini frees the samples; s may then be initialised again. */
void bench_subject_fini(bench_subject *s)
{
    free(s->ns);
    memset(s, 0, sizeof *s);
}

/* time_batch runs one batch of iters operations and stores its duration in
 * *ns. */
static int time_batch(const bench_subject *s, size_t iters, double *ns)
{
    uint64_t t0 = bench_now_ns();
    int rc = s->fn(s->ctx, iters);
    uint64_t t1 = bench_now_ns();

    *ns = (double)(t1 - t0);
    return rc;
}

/* bench_calibrate first runs one operation untimed, since a first run pays
 * for page faults and cold caches that would make a batch look far longer
 * than it is. It then doubles the batch until it takes a noticeable fraction
 * of batch_ns, scales it to batch_ns, and times one batch of that size,
 * rescaling it once more when that batch is off by more than a quarter
 * (the doubling runs are short and noisy). */
int bench_calibrate(bench_subject *s, double batch_ns)
{
    size_t iters = 1;
    double ns = 0;
    int rc;

    if ((rc = s->fn(s->ctx, 1)) != 0)
        return rc;
    for (;;) {
        if ((rc = time_batch(s, iters, &ns)) != 0)
            return rc;
        if (ns >= batch_ns / 8 || iters >= ((size_t)1 << 40))
            break;
        iters *= 2;
    }
    for (int round = 0; round < 2; round++) {
        if (ns > 0) {
            double scaled = (double)iters * batch_ns / ns;
            iters = scaled < 1 ? 1 : (size_t)scaled;
        }
        if ((rc = time_batch(s, iters, &ns)) != 0)
            return rc;
        if (ns > batch_ns * 0.75 && ns < batch_ns * 1.25)
            break;
    }
    s->iters = iters;
    return 0;
}

int bench_run_interleaved(bench_subject *const *subjects, size_t n, unsigned reps,
                          bench_subject **failed)
{
    for (unsigned r = 0; r < reps; r++) {
        for (size_t k = 0; k < n; k++) {
            bench_subject *s = subjects[(r & 1) ? n - 1 - k : k];
            double ns;
            int rc = time_batch(s, s->iters, &ns);

            if (rc != 0) {
                *failed = s;
                return rc;
            }
            if (s->nsamples < s->cap)
                s->ns[s->nsamples++] = ns / (double)s->iters;
        }
    }
    return 0;
}

/* bench_cmp_double: see benchutil.h. */
int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* bench_quantile: see benchutil.h. */
double bench_quantile(const double *v, size_t n, double q)
{
    size_t k = (size_t)(q * (double)n);
    return n == 0 ? 0 : v[k < n ? k : n - 1];
}

/* bench_lat_summarise: see benchutil.h. */
void bench_lat_summarise(double *samples, size_t n, const size_t *start, unsigned nbatches,
                         double *batch_median, double *median, double *p99, double *rate)
{
    double sum = 0;
    for (unsigned b = 0; b < nbatches; b++) {
        size_t from = start[b];
        size_t to = b + 1 < nbatches ? start[b + 1] : n;
        qsort(samples + from, to - from, sizeof *samples, bench_cmp_double);
        batch_median[b] = bench_quantile(samples + from, to - from, 0.5);
    }
    for (size_t i = 0; i < n; i++)
        sum += samples[i];
    qsort(samples, n, sizeof *samples, bench_cmp_double);
    *median = bench_quantile(samples, n, 0.5);
    *p99 = bench_quantile(samples, n, 0.99);
    *rate = sum > 0 ? (double)n / sum * 1e9 : 0;
}

/* median sorts v (n > 0) and returns its median; an even count gives the
 * mean of the two middle values. */
static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, bench_cmp_double);
    return (n & 1) ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* bench_median works on a copy, so that the samples keep their order. */
double bench_median(const bench_subject *s)
{
    double *v, m;
    size_t n = s->nsamples;

    if (n == 0 || (v = malloc(n * sizeof *v)) == NULL)
        return 0;
    memcpy(v, s->ns, n * sizeof *v);
    m = median(v, n);
    free(v);
    return m;
}

double bench_ratio(const bench_subject *num, const bench_subject *den)
{
    size_t n = num->nsamples < den->nsamples ? num->nsamples : den->nsamples;
    double *v, m;

    if (n == 0 || (v = malloc(n * sizeof *v)) == NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        v[i] = den->ns[i] > 0 ? num->ns[i] / den->ns[i] : 0;
    m = median(v, n);
    free(v);
    return m;
}

double bench_min(const bench_subject *s)
{
    double m = 0;

    for (unsigned i = 0; i < s->nsamples; i++)
        if (i == 0 || s->ns[i] < m)
            m = s->ns[i];
    return m;
}
