/*
 * clock.h: the runtime's one clock. Times and deadlines are nanoseconds of
 * CLOCK_MONOTONIC, absolute; PL_NEVER is a deadline that never comes.
 *
 * Internal to libparley, in the net layer: the client's deadlines, the
 * server's idle and message timers and busy polling all read this clock,
 * so that they can be compared with one another.
 */
#ifndef PARLEY_CLOCK_H
#define PARLEY_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* A deadline that never comes. */
#define PL_NEVER INT64_MAX

int64_t pl_now_ns(void);
int64_t pl_now_ms(void);
int64_t pl_deadline_after_ms(unsigned ms);
struct timespec pl_timespec(int64_t ns);
int pl_cond_init_monotonic(pthread_cond_t *cv);

#endif /* PARLEY_CLOCK_H */
