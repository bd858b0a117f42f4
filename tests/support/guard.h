/*
 * guard.h: buffers fenced by inaccessible pages, for the tests.
 *
 * A decoder handed truncated or hostile input must never read past its end.
 * picohttpparser's tests catch the mistake by placing the input so that its
 * last byte is the last byte of a page and the next page is mapped PROT_NONE:
 * any over-read then crashes the test instead of passing unnoticed. These
 * helpers do the same, and also fence the page before the buffer. Part of
 * the test support library, never of libparley.
 */
#ifndef PARLEY_TEST_GUARD_H
#define PARLEY_TEST_GUARD_H

#include <stddef.h>

/* pt_guard_alloc returns n writable bytes whose last one is followed at once
 * by a PROT_NONE page, or NULL when the mapping fails. n may be 0: the
 * pointer then points at the guard page itself. Release it with
 * pt_guard_free(). */
void *pt_guard_alloc(size_t n);

/* pt_guard_copy returns a guarded copy of the n bytes at src (src may be
 * NULL when n is 0), or NULL when the mapping fails; release it with
 * pt_guard_free(). */
const void *pt_guard_copy(const void *src, size_t n);

/* pt_guard_free releases what pt_guard_alloc() or pt_guard_copy() returned;
 * NULL is a no-op. It takes a pointer to const so that a guarded copy can be
 * released without a cast. */
void pt_guard_free(const void *p);

#endif /* PARLEY_TEST_GUARD_H */
