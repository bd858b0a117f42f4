/*
 * spin.h: the one busy-poll policy of the client and the server.
 *
 * Internal to libparley, in the net layer. A thread about to sleep for a
 * reply (the client) or for the next event (the server) may first poll for
 * it for a while: on a virtual machine the wake-up of an idle CPU is most
 * of a loopback round trip, and a thread that is awake when the answer
 * comes saves it. A spin that finds what it waited for earns credit, one
 * that finds nothing costs more, and with no credit left only every
 * PL_SPIN_PROBE-th wait spins: a peer whose answers take longer than the
 * spin (a slow server, a real network, an idle client) soon stops costing
 * CPU, and polling starts again when answers come fast.
 */
#ifndef PARLEY_SPIN_H
#define PARLEY_SPIN_H

#include <stdint.h>

/* The default spin, in microseconds (the options' busy_poll_us of 0). */
#define PL_SPIN_DEFAULT_US 50

enum { PL_SPIN_CREDIT_MAX = 16, PL_SPIN_MISS_COST = 4, PL_SPIN_PROBE = 64 };

/* The adaptive state of one spinning thread (or of whichever thread holds
 * the role that spins): not shared, no lock. */
typedef struct pl_spin {
    int credit;
    unsigned skips; /* waits without a spin since the credit ran out */
} pl_spin;

int64_t pl_spin_ns(int busy_poll_us);
void pl_spin_init(pl_spin *s);
int pl_spin_wanted(pl_spin *s);
void pl_spin_account(pl_spin *s, int hit);

#endif /* PARLEY_SPIN_H */
