/*
 * spin.c: the busy-poll policy (spin.h) shared by the client's reader and
 * the server's pool threads.
 */
#include "net/spin.h"

/* pl_spin_ns is how long to spin, in nanoseconds, for an option's
 * busy_poll_us: 0 is the default, a negative value turns polling off (0). */
int64_t pl_spin_ns(int busy_poll_us)
{
    if (busy_poll_us < 0)
        return 0;
    return (int64_t)(busy_poll_us ? busy_poll_us : PL_SPIN_DEFAULT_US) * 1000;
}

/* pl_spin_init starts s with full credit: the first waits spin. */
void pl_spin_init(pl_spin *s)
{
    s->credit = PL_SPIN_CREDIT_MAX;
    s->skips = 0;
}

/* pl_spin_wanted tells whether this wait should spin first. */
int pl_spin_wanted(pl_spin *s)
{
    if (s->credit > 0)
        return 1;
    return ++s->skips % PL_SPIN_PROBE == 0;
}

/* pl_spin_account records whether the spin found what it waited for. */
void pl_spin_account(pl_spin *s, int hit)
{
    if (hit)
        s->credit += s->credit < PL_SPIN_CREDIT_MAX;
    else
        s->credit = s->credit > PL_SPIN_MISS_COST ? s->credit - PL_SPIN_MISS_COST : 0;
}
