/*
 * clock.c: the runtime's one clock (clock.h): CLOCK_MONOTONIC, which no
 * change of the wall clock moves, read in nanoseconds.
 */
#include "net/clock.h"

#include "parley/error.h"

/* pl_now_ns is the time of CLOCK_MONOTONIC in nanoseconds. */
int64_t pl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* pl_now_ms is the same clock in milliseconds. */
int64_t pl_now_ms(void)
{
    return pl_now_ns() / 1000000;
}

/* pl_deadline_after_ms is the deadline ms milliseconds from now. */
int64_t pl_deadline_after_ms(unsigned ms)
{
    return pl_now_ns() + (int64_t)ms * 1000000;
}

/* pl_timespec is the absolute time ns (a deadline, not PL_NEVER) as the
 * timespec that pthread_cond_timedwait and futex waits take. */
struct timespec pl_timespec(int64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
    return ts;
}

/* pl_cond_init_monotonic makes cv a condition variable whose timed waits
 * read this clock. Errors: PARLEY_ERR_NOMEM. */
int pl_cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    if (pthread_condattr_init(&a) != 0)
        return PARLEY_ERR_NOMEM;
    int rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
    return rc == 0 ? PARLEY_OK : PARLEY_ERR_NOMEM;
}
