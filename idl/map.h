/*
 * idl/map.h: the open-addressing hash map that the checks (idl/check_*.c)
 * and the generator's own name checks (generator/names.c) share, and the
 * growable array they build their tables with.
 *
 * A map takes a key to an index into an array its user keeps. Keys are
 * either NUL-terminated strings compared by content or pointers compared by
 * identity, fixed when the map is made; they are borrowed, never copied, so
 * they must outlive the map (the AST's strings and nodes do). Like
 * idl_arena_alloc, the functions here abort when memory runs out: they run
 * inside a command-line tool that has no useful way on.
 */
#ifndef PARLEY_IDL_MAP_H
#define PARLEY_IDL_MAP_H

#include <stddef.h>
#include <stdint.h>

/* What idl_map_get returns for a key that is not there. */
#define IDL_MAP_NONE SIZE_MAX

typedef struct idl_map {
    int strings; /* keys are strings (compared by content), else pointers */
    const void **keys;
    size_t *vals;
    size_t cap;
    size_t len;
} idl_map;

/* IDL_MAP_STRINGS and IDL_MAP_POINTERS initialise an empty map; it
 * allocates on the first idl_map_put. */
#define IDL_MAP_STRINGS  ((idl_map){.strings = 1})
#define IDL_MAP_POINTERS ((idl_map){.strings = 0})

/* idl_map_get returns the value stored for key, or IDL_MAP_NONE (also for a
 * NULL key). */
size_t idl_map_get(const idl_map *m, const void *key);

/* idl_map_put stores val for key (not NULL), replacing any value stored
 * before. */
void idl_map_put(idl_map *m, const void *key, size_t val);

/* idl_map_free releases the map's tables (not the keys) and leaves it empty
 * and reusable. */
void idl_map_free(idl_map *m);

/* idl_grow returns p, or p moved to room for more elements of size elem,
 * so that an array of *cap elements holding len has room for one more;
 * *cap is updated. */
void *idl_grow(void *p, size_t len, size_t *cap, size_t elem);

/* idl_xcalloc is calloc that aborts when memory runs out; n may be 0. */
void *idl_xcalloc(size_t n, size_t elem);

#endif /* PARLEY_IDL_MAP_H */
