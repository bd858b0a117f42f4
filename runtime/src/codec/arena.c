/*
 * runtime/src/codec/arena.c: the bump allocator of parley/arena.h.
 *
 * Blocks are chained; allocation bumps a pointer in the current block and
 * starts a new block (twice as large, up to 1 MiB) when it runs out. A
 * request larger than half a block gets a block of its own, linked behind
 * the current one so the current block keeps serving small requests. A reset
 * frees every block but the first.
 */
#include "parley/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

enum { ALIGN = alignof(max_align_t), DEFAULT_BLOCK = 16 * 1024, MAX_BLOCK = 1024 * 1024 };

typedef struct block {
    struct block *next;
    size_t size;
    alignas(max_align_t) unsigned char data[];
} block;

struct parley_arena {
    unsigned char *p;   /* next free byte of the current block */
    unsigned char *end; /* end of the current block */
    block *first;       /* kept across resets */
    block *current;     /* the block p points into */
    size_t next_size;   /* size of the next block to make */
    size_t used;
};

static size_t round_up(size_t n)
{
    return (n + (ALIGN - 1)) & ~(size_t)(ALIGN - 1);
}

static block *block_new(size_t size)
{
    if (size > SIZE_MAX - sizeof(block))
        return NULL;
    block *b = malloc(sizeof(block) + size);
    if (b) {
        b->next = NULL;
        b->size = size;
    }
    return b;
}

/* parley_arena_create: see arena.h. */
parley_arena *parley_arena_create(size_t block_size)
{
    parley_arena *a = malloc(sizeof *a);
    if (!a)
        return NULL;
    size_t size = round_up(block_size ? block_size : DEFAULT_BLOCK);
    a->first = block_new(size);
    if (!a->first) {
        free(a);
        return NULL;
    }
    a->current = a->first;
    a->p = a->first->data;
    a->end = a->p + size;
    a->next_size = size * 2 > MAX_BLOCK ? (size > MAX_BLOCK ? size : MAX_BLOCK) : size * 2;
    a->used = 0;
    return a;
}

/* grow serves a request that does not fit the current block. */
static void *grow(parley_arena *a, size_t n)
{
    if (n > a->next_size / 2) {
        /* a block of its own, behind the current one */
        block *b = block_new(n);
        if (!b)
            return NULL;
        b->next = a->current->next;
        a->current->next = b;
        a->used += n;
        return b->data;
    }
    block *b = block_new(a->next_size);
    if (!b)
        return NULL;
    b->next = a->current->next;
    a->current->next = b;
    a->current = b;
    a->p = b->data + n;
    a->end = b->data + b->size;
    if (a->next_size < MAX_BLOCK)
        a->next_size *= 2;
    a->used += n;
    return b->data;
}

/* parley_arena_alloc: see arena.h. */
void *parley_arena_alloc(parley_arena *a, size_t n)
{
    if (n == 0 || n > SIZE_MAX - ALIGN)
        return NULL;
    n = round_up(n);
    if ((size_t)(a->end - a->p) >= n) {
        void *r = a->p;
        a->p += n;
        a->used += n;
        return r;
    }
    return grow(a, n);
}

/* parley_arena_reset: see arena.h. */
void parley_arena_reset(parley_arena *a)
{
    block *b = a->first->next;
    while (b) {
        block *next = b->next;
        free(b);
        b = next;
    }
    a->first->next = NULL;
    a->current = a->first;
    a->p = a->first->data;
    a->end = a->p + a->first->size;
    a->used = 0;
}

/* parley_arena_destroy: see arena.h. */
void parley_arena_destroy(parley_arena *a)
{
    if (!a)
        return;
    parley_arena_reset(a);
    free(a->first);
    free(a);
}

/* parley_arena_used: see arena.h. */
size_t parley_arena_used(const parley_arena *a)
{
    return a->used;
}
