/*
 * parley/arena.h: a bump allocator for decoded values.
 *
 * Decoding with malloc costs an allocation per string and array and a free
 * for each when the value is released; with an arena a decode bumps a
 * pointer, and releasing every value decoded into it is one reset. A server
 * decodes each call's arguments into an arena and resets it after the reply;
 * a client can do the same with results it has finished with.
 *
 * An arena is not thread-safe: use one per thread (or per call).
 */
#ifndef PARLEY_ARENA_H
#define PARLEY_ARENA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct parley_arena parley_arena;

/* parley_arena_create returns an empty arena whose first block holds
 * block_size bytes (0: 16 KiB), or NULL when out of memory. The caller owns
 * it and releases it with parley_arena_destroy. */
parley_arena *parley_arena_create(size_t block_size);

/* parley_arena_alloc returns n bytes aligned for any type, valid until the
 * next reset or the destroy, or NULL when out of memory (or n is 0). */
void *parley_arena_alloc(parley_arena *a, size_t n);

/* parley_arena_reset releases everything allocated from a at once, keeping
 * its first block for reuse. */
void parley_arena_reset(parley_arena *a);

/* parley_arena_destroy frees a and everything allocated from it; NULL is a
 * no-op. */
void parley_arena_destroy(parley_arena *a);

/* parley_arena_used is the number of bytes handed out since the last reset
 * (for tests and statistics). */
size_t parley_arena_used(const parley_arena *a);

#ifdef __cplusplus
}
#endif
#endif /* PARLEY_ARENA_H */
