/*
 * idl/map.c: the hash map and growable arrays of map.h, shared by the
 * checks' passes and the generator's name checks so that each of them is a
 * walk over the AST rather than a data structure of its own.
 */
#include "map.h"

#include <stdlib.h>
#include <string.h>

/* idl_grow: see map.h. */
void *idl_grow(void *p, size_t len, size_t *cap, size_t elem)
{
    if (len < *cap)
        return p;
    size_t n = *cap ? *cap * 2 : 16;
    void *q = realloc(p, n * elem);
    if (q == NULL)
        abort();
    *cap = n;
    return q;
}

/* idl_xcalloc: see map.h. */
void *idl_xcalloc(size_t n, size_t elem)
{
    void *p = calloc(n ? n : 1, elem);
    if (p == NULL)
        abort();
    return p;
}

static uint64_t map_hash(const idl_map *m, const void *key)
{
    if (m->strings) {
        uint64_t h = 14695981039346656037u; /* FNV-1a */
        for (const unsigned char *s = key; *s; s++)
            h = (h ^ *s) * 1099511628211u;
        return h;
    }
    uint64_t h = (uint64_t)(uintptr_t)key * 0x9e3779b97f4a7c15u;
    return h ^ (h >> 29);
}

static int map_eq(const idl_map *m, const void *a, const void *b)
{
    return m->strings ? strcmp(a, b) == 0 : a == b;
}

/* idl_map_get: see map.h. */
size_t idl_map_get(const idl_map *m, const void *key)
{
    if (m->cap == 0 || key == NULL)
        return IDL_MAP_NONE;
    size_t i = (size_t)map_hash(m, key) & (m->cap - 1);
    while (m->keys[i] != NULL) {
        if (map_eq(m, m->keys[i], key))
            return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
    return IDL_MAP_NONE;
}

/* idl_map_put: see map.h. The table stays at most half full, so a probe
 * always ends at an empty slot. */
void idl_map_put(idl_map *m, const void *key, size_t val)
{
    if ((m->len + 1) * 2 > m->cap) {
        idl_map old = *m;
        m->cap = old.cap ? old.cap * 2 : 16;
        m->keys = idl_xcalloc(m->cap, sizeof *m->keys);
        m->vals = idl_xcalloc(m->cap, sizeof *m->vals);
        m->len = 0;
        for (size_t j = 0; j < old.cap; j++)
            if (old.keys[j] != NULL)
                idl_map_put(m, old.keys[j], old.vals[j]);
        free(old.keys);
        free(old.vals);
    }
    size_t i = (size_t)map_hash(m, key) & (m->cap - 1);
    while (m->keys[i] != NULL) {
        if (map_eq(m, m->keys[i], key)) {
            m->vals[i] = val;
            return;
        }
        i = (i + 1) & (m->cap - 1);
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->len++;
}

/* idl_map_free: see map.h. */
void idl_map_free(idl_map *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->len = 0;
}
