/*
 * side_parley.c: the Parley side of the differential test against rpcgen
 * and libtirpc (see diff.h): the types of parts.h through the code that
 * parleygen generated from alltypes.x.
 */
#include <stdlib.h>

#include "alltypes.h"
#include "diff.h"

/* One part: thin wrappers, written out per type by PART_FUNCS, that turn
 * the typed generated functions into functions over void pointers. */
typedef struct part_ops {
    size_t size;
    int (*encode)(const void *v, void *buf, size_t cap, size_t *len);
    int (*decode)(void *v, const void *buf, size_t len, size_t *used);
    size_t (*encoded_size)(const void *v);
    void (*release)(void *v);
    void *(*at)(alltypes_top *v);
    int (*copy)(void *dst, const void *src, parley_arena *arena);
} part_ops;

#define PART_FUNCS(type, where)                                                                    \
    static int encode_##type(const void *p, void *buf, size_t cap, size_t *len)                    \
    {                                                                                              \
        return type##_encode(p, buf, cap, len);                                                    \
    }                                                                                              \
    static int decode_##type(void *p, const void *buf, size_t len, size_t *used)                   \
    {                                                                                              \
        return type##_decode(p, buf, len, used, NULL);                                             \
    }                                                                                              \
    static size_t size_##type(const void *p)                                                       \
    {                                                                                              \
        return type##_size(p);                                                                     \
    }                                                                                              \
    static void release_##type(void *p)                                                            \
    {                                                                                              \
        type##_free(p);                                                                            \
    }                                                                                              \
    static void *at_##type(alltypes_top *v)                                                        \
    {                                                                                              \
        return (void *)(where);                                                                    \
    }                                                                                              \
    static int copy_##type(void *d, const void *s, parley_arena *arena)                            \
    {                                                                                              \
        return type##_copy(d, s, arena);                                                           \
    }
DIFF_PARTS(PART_FUNCS)

#define PART_ENTRY(type, where)                                                                    \
    {sizeof(type),   encode_##type, decode_##type, size_##type,                                    \
     release_##type, at_##type,     copy_##type},
static const part_ops parts[] = {DIFF_PARTS(PART_ENTRY)};

/* diff_parley_copy: see diff.h. */
int diff_parley_copy(int k, void *dst, const void *src, struct parley_arena *arena)
{
    return parts[k].copy(dst, src, arena);
}

/* diff_parley_new: see diff.h. */
void *diff_parley_new(int k)
{
    void *v = calloc(1, parts[k].size);
    if (!v)
        abort();
    return v;
}

/* diff_parley_release frees with <type>_free(), the only function that may
 * release what Parley's decoder allocated. */
void diff_parley_release(int k, void *v)
{
    if (v) {
        parts[k].release(v);
        free(v);
    }
}

/* diff_parley_part: see diff.h. */
void *diff_parley_part(void *top, int k)
{
    return parts[k].at(top);
}

/* diff_parley_encode returns the parley_err of <type>_encode(). */
int diff_parley_encode(int k, const void *v, void *buf, size_t cap, size_t *len)
{
    return parts[k].encode(v, buf, cap, len);
}

/* diff_parley_decode returns the parley_err of <type>_decode() under the
 * default limits. */
int diff_parley_decode(int k, void *v, const void *buf, size_t len, size_t *used)
{
    return parts[k].decode(v, buf, len, used);
}

/* diff_parley_size: see diff.h. */
size_t diff_parley_size(int k, const void *v)
{
    return parts[k].encoded_size(v);
}

/* diff_parley_sizeof: see diff.h. */
size_t diff_parley_sizeof(int k)
{
    return parts[k].size;
}
