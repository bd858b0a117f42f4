/*
 * benchutil.h: timing helpers shared by the benchmarks under bench/.
 *
 * A benchmark is a program that prints figures, never a timed test. The
 * machines it runs on are shared and noisy, so a figure is never one
 * measurement: each subject (one thing being measured, such as "encode 100
 * structs with Parley") runs as batches sized to take a chosen time, the
 * subjects of one comparison take turns batch by batch (A B A B ...) so that
 * drift of the clock or of the machine's load falls on all of them alike, and
 * what is reported is the median (and the minimum) over the repetitions.
 */
#ifndef BENCH_BENCHUTIL_H
#define BENCH_BENCHUTIL_H

#include <stddef.h>
#include <stdint.h>

/* bench_fn performs iters operations on ctx and returns 0, or nonzero on an
 * error, which stops the measurement. */
typedef int (*bench_fn)(void *ctx, size_t iters);

/* bench_subject is one thing being measured: fn and ctx, the batch size
 * chosen by bench_calibrate, and the time of one operation in nanoseconds in
 * each repetition (ns[0..nsamples)). */
typedef struct bench_subject {
    const char *label;
    bench_fn fn;
    void *ctx;
    size_t iters;
    double *ns;
    unsigned nsamples;
    unsigned cap;
} bench_subject;

/* bench_now_ns reads CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* bench_subject_init prepares s to measure fn on ctx over up to reps
 * repetitions; label is borrowed and must outlive s. Returns 0, or -1 when
 * out of memory. bench_subject_fini releases what s owns. */
int bench_subject_init(bench_subject *s, const char *label, bench_fn fn, void *ctx, unsigned reps);
void bench_subject_fini(bench_subject *s);

/* bench_calibrate warms s up and sets s->iters so that one batch takes about
 * batch_ns nanoseconds. Returns 0 or fn's error. */
int bench_calibrate(bench_subject *s, double batch_ns);

/* bench_run_interleaved runs reps repetitions of the n subjects, each
 * repetition one batch of every subject in the order given, and records the
 * time per operation of each batch. The order is reversed on every other
 * repetition (A B C, C B A, ...), so that none always runs right after the
 * same neighbour; subjects to be compared should be neighbours in the list,
 * so that their batches of one repetition run close together in time.
 * Returns 0, or the first error of a subject's fn, with the subject in
 * *failed. */
int bench_run_interleaved(bench_subject *const *subjects, size_t n, unsigned reps,
                          bench_subject **failed);

/* bench_median and bench_min summarise the samples of s (0 when there are
 * none). */
double bench_median(const bench_subject *s);
double bench_min(const bench_subject *s);

/* bench_ratio is the median over the repetitions of num's time over den's in
 * the same repetition (0 when there are no samples). Pairing the batches of
 * one repetition, which ran moments apart, cancels the load that a shared
 * machine puts on both alike, which the ratio of two medians does not. */
double bench_ratio(const bench_subject *num, const bench_subject *den);

/* bench_cmp_double orders doubles, for qsort. */
int bench_cmp_double(const void *a, const void *b);

/* bench_quantile is the q-quantile (nearest rank) of the sorted v[0..n),
 * 0 when n is 0. */
double bench_quantile(const double *v, size_t n, double q);

/* bench_lat_summarise summarises single-call latencies, samples[0..n) in
 * ns, taken in nbatches batches starting at start[0..nbatches): it sorts
 * each batch and writes its median to batch_median[], then sorts them all
 * and writes the median, the 99th percentile and the calls per second
 * (calls over their summed time) to *median, *p99 and *rate. */
void bench_lat_summarise(double *samples, size_t n, const size_t *start, unsigned nbatches,
                         double *batch_median, double *median, double *p99, double *rate);

/* bench_clobber tells the compiler that the memory at p may be read, so that
 * work whose only effect is to write there is not optimised away. */
static inline void bench_clobber(void *p)
{
#if defined(__GNUC__) || defined(__clang__)
    __asm__ __volatile__("" : : "r"(p) : "memory");
#else
    (void)p;
#endif
}

#endif /* BENCH_BENCHUTIL_H */
