/*
 * codec_support.c: the table of the types of codec.idl and external.x,
 * random valid values and deep equality for each, hand-written wire bytes,
 * the allocation account, guarded buffers and the shared checks, for the
 * tests of the generated codec (codec_support.h).
 *
 * Random values are built with malloc, as a caller would build them, and
 * released by the generated T_free, which must cope with memory from any
 * allocator free() accepts. Part of the tests, never of libparley.
 */
#include "codec_support.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"

/* ---- random numbers ---------------------------------------------------- */

/* ct_seed starts r at seed (any value; 0 is mapped to a non-zero state). */
void ct_seed(ct_rng *r, uint64_t seed)
{
    r->s = seed ? seed : 0x9e3779b97f4a7c15u;
}

/* ct_u64 is xorshift64* (Vigna): small, fast and good enough for tests. */
uint64_t ct_u64(ct_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1du;
}

uint32_t ct_u32(ct_rng *r)
{
    return (uint32_t)(ct_u64(r) >> 32);
}

uint32_t ct_below(ct_rng *r, uint32_t n)
{
    return (uint32_t)(((uint64_t)ct_u32(r) * n) >> 32);
}

/* ---- allocations ------------------------------------------------------ */

ct_alloc_state ct_alloc = {0, -1, 0, 0, 0};

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void __real_free(void *p);

/* take_call counts one allocation call and tells whether it must fail. */
static int take_call(void)
{
    if (!ct_alloc.armed)
        return 0;
    return ct_alloc.calls++ == ct_alloc.fail_at;
}

/* note_block accounts for a block of n bytes that was just allocated. */
static void *note_block(void *p, size_t n)
{
    if (p != NULL && ct_alloc.armed) {
        ct_alloc.live++;
        ct_alloc.bytes += n;
    }
    return p;
}

void *__wrap_malloc(size_t n)
{
    if (take_call())
        return NULL;
    return note_block(__real_malloc(n), n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (take_call())
        return NULL;
    return note_block(__real_calloc(n, size), n * size);
}

void __wrap_free(void *p)
{
    if (p != NULL && ct_alloc.armed)
        ct_alloc.live--;
    __real_free(p);
}

void ct_arm(long fail_at)
{
    ct_alloc.fail_at = fail_at;
    ct_alloc.calls = 0;
    ct_alloc.live = 0;
    ct_alloc.bytes = 0;
    ct_alloc.armed = 1;
}

/* ct_disarm pauses the account and keeps its counts for the caller. */
void ct_disarm(void)
{
    ct_alloc.armed = 0;
}

/* xmalloc is malloc that gives up on failure: the tests build their values
 * with it and cannot go on without them. */
static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        fputs("codec tests: out of memory\n", stderr);
        abort();
    }
    return p;
}

/* ---- wire bytes ------------------------------------------------------- */

static void wire_room(ct_wire *w, size_t n)
{
    if (w->cap - w->n >= n)
        return;
    size_t cap = w->cap ? w->cap : 64;
    while (cap - w->n < n)
        cap *= 2;
    uint8_t *b = xmalloc(cap);
    if (w->n)
        memcpy(b, w->b, w->n);
    free(w->b);
    w->b = b;
    w->cap = cap;
}

void ct_w32(ct_wire *w, uint32_t v)
{
    wire_room(w, 4);
    parley_st_u32(w->b + w->n, v);
    w->n += 4;
}

void ct_w64(ct_wire *w, uint64_t v)
{
    wire_room(w, 8);
    parley_st_u64(w->b + w->n, v);
    w->n += 8;
}

void ct_wraw(ct_wire *w, const void *p, size_t n)
{
    wire_room(w, n);
    if (n)
        memcpy(w->b + w->n, p, n);
    w->n += n;
}

void ct_wstr(ct_wire *w, const void *p, size_t n)
{
    static const uint8_t zeros[4];
    ct_w32(w, (uint32_t)n);
    ct_wraw(w, p, n);
    ct_wraw(w, zeros, parley_pad4(n));
}

void ct_wire_free(ct_wire *w)
{
    free(w->b);
    memset(w, 0, sizeof *w);
}

/* ---- helpers ---------------------------------------------------------- */

int ct_is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

uint8_t *ct_encode_new(const codec_type *t, const void *v, size_t *len)
{
    size_t n = t->wire_size(v), got = 0;
    uint8_t *buf = xmalloc(n);
    int rc = t->encode(v, buf, n, &got);
    if (rc != PARLEY_OK || got != n) {
        fprintf(stderr, "codec tests: %s does not encode: %s\n", t->name, parley_errname(rc));
        abort();
    }
    *len = n;
    return buf;
}

/* ---- random values ------------------------------------------------------ */

/* rand_bytes fills n bytes with random values. */
static void rand_bytes(ct_rng *r, void *p, size_t n)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)ct_u32(r);
}

/* rand_str returns a new string of 0 to max bytes; mostly letters, now and
 * then any byte but NUL. */
static char *rand_str(ct_rng *r, uint32_t max)
{
    uint32_t n = ct_below(r, max + 1);
    char *s = xmalloc((size_t)n + 1);
    int wild = ct_below(r, 4) == 0;
    for (uint32_t i = 0; i < n; i++)
        s[i] = (char)(wild ? 1 + ct_below(r, 255) : 'a' + ct_below(r, 26));
    s[n] = '\0';
    return s;
}

/* rand_word is a 32-bit value that is often at an edge. */
static uint32_t rand_word(ct_rng *r)
{
    static const uint32_t edges[] = {0, 1, 2, 0x7fffffffu, 0x80000000u, 0xffffffffu, 0xfffffffeu};
    if (ct_below(r, 3) == 0)
        return edges[ct_below(r, sizeof edges / sizeof edges[0])];
    return ct_u32(r);
}

static uint64_t rand_hyper(ct_rng *r)
{
    static const uint64_t edges[] = {0, 1, UINT64_MAX, (uint64_t)INT64_MIN, (uint64_t)INT64_MAX};
    if (ct_below(r, 3) == 0)
        return edges[ct_below(r, sizeof edges / sizeof edges[0])];
    return ct_u64(r);
}

/* rand_float and rand_double are random bit patterns (NaNs with payloads,
 * infinities, denormals included) or ordinary values. */
static float rand_float(ct_rng *r)
{
    if (ct_below(r, 2))
        return parley_bits_f32(ct_u32(r));
    return (float)(int32_t)ct_u32(r) / 1024.0f;
}

static double rand_double(ct_rng *r)
{
    if (ct_below(r, 2))
        return parley_bits_f64(ct_u64(r));
    return (double)(int32_t)ct_u32(r) / 3.0;
}

static void fill_color(ct_rng *r, color *v)
{
    *v = (color)ct_below(r, 3);
}

static void fill_status(ct_rng *r, status *v)
{
    static const status all[] = {ST_OK, ST_WARN, ST_FAIL, ST_GONE};
    *v = all[ct_below(r, 4)];
}

static void fill_name(ct_rng *r, name *v)
{
    *v = rand_str(r, WORD_MAX);
}

static void fill_text(ct_rng *r, text *v)
{
    *v = rand_str(r, 40);
}

static void fill_blob(ct_rng *r, blob *v)
{
    v->blob_len = ct_below(r, BLOB_MAX + 1);
    v->blob_val = NULL;
    if (v->blob_len) {
        v->blob_val = xmalloc(v->blob_len);
        rand_bytes(r, v->blob_val, v->blob_len);
    }
}

static void fill_bytes(ct_rng *r, bytes *v)
{
    v->bytes_len = ct_below(r, 25);
    v->bytes_val = NULL;
    if (v->bytes_len) {
        v->bytes_val = xmalloc(v->bytes_len);
        rand_bytes(r, v->bytes_val, v->bytes_len);
    }
}

static void fill_tag6(ct_rng *r, tag6 *v)
{
    rand_bytes(r, *v, sizeof *v);
}

static void fill_row(ct_rng *r, row *v)
{
    v->row_len = ct_below(r, ROW_MAX + 1);
    v->row_val = NULL;
    if (v->row_len) {
        v->row_val = xmalloc(v->row_len * sizeof(int));
        for (u_int i = 0; i < v->row_len; i++)
            v->row_val[i] = (int)rand_word(r);
    }
}

static void fill_matrix(ct_rng *r, matrix *v)
{
    v->matrix_len = ct_below(r, MATRIX_MAX + 1);
    v->matrix_val = NULL;
    if (v->matrix_len) {
        v->matrix_val = xmalloc(v->matrix_len * sizeof(row));
        for (u_int i = 0; i < v->matrix_len; i++)
            fill_row(r, &v->matrix_val[i]);
    }
}

static void fill_names(ct_rng *r, names *v)
{
    v->names_len = ct_below(r, TAGS_MAX + 1);
    v->names_val = NULL;
    if (v->names_len) {
        v->names_val = xmalloc(v->names_len * sizeof(name));
        for (u_int i = 0; i < v->names_len; i++)
            fill_name(r, &v->names_val[i]);
    }
}

static void fill_ints(ct_rng *r, ints *v)
{
    v->ints_len = ct_below(r, 7);
    v->ints_val = NULL;
    if (v->ints_len) {
        v->ints_val = xmalloc(v->ints_len * sizeof(int));
        for (u_int i = 0; i < v->ints_len; i++)
            v->ints_val[i] = (int)rand_word(r);
    }
}

static void fill_hypers(ct_rng *r, hypers *v)
{
    v->hypers_len = ct_below(r, 5);
    v->hypers_val = NULL;
    if (v->hypers_len) {
        v->hypers_val = xmalloc(v->hypers_len * sizeof(quad_t));
        for (u_int i = 0; i < v->hypers_len; i++)
            v->hypers_val[i] = (quad_t)rand_hyper(r);
    }
}

static void fill_scalars(ct_rng *r, scalars *v)
{
    memset(v, 0, sizeof *v);
    v->i = (int)rand_word(r);
    v->u = rand_word(r);
    v->h = (quad_t)rand_hyper(r);
    v->uh = rand_hyper(r);
    v->f = rand_float(r);
    v->d = rand_double(r);
    v->b = (bool_t)ct_below(r, 2);
    v->c = (char)(CHAR_MIN + (int)ct_below(r, CHAR_MAX - CHAR_MIN + 1));
    v->uc = (u_char)ct_below(r, UCHAR_MAX + 1);
    v->s = (short)(SHRT_MIN + (int)ct_below(r, SHRT_MAX - SHRT_MIN + 1));
    v->us = (u_short)ct_below(r, USHRT_MAX + 1);
    v->l = (long)(int32_t)rand_word(r);
    v->ul = (u_long)rand_word(r);
    fill_color(r, &v->col);
    fill_status(r, &v->st);
}

static void fill_point(ct_rng *r, point *v)
{
    v->x = (int)rand_word(r);
    v->y = (int)rand_word(r);
}

static void fill_inner(ct_rng *r, inner *v)
{
    fill_name(r, &v->label);
    fill_point(r, &v->at);
    fill_blob(r, &v->data);
}

static void fill_outer(ct_rng *r, outer *v)
{
    fill_inner(r, &v->first);
    v->more.more_len = ct_below(r, 3);
    v->more.more_val = NULL;
    if (v->more.more_len) {
        v->more.more_val = xmalloc(v->more.more_len * sizeof(inner));
        for (u_int i = 0; i < v->more.more_len; i++)
            fill_inner(r, &v->more.more_val[i]);
    }
    v->maybe = NULL;
    if (ct_below(r, 2)) {
        v->maybe = xmalloc(sizeof *v->maybe);
        fill_inner(r, v->maybe);
    }
    for (int i = 0; i < GRID; i++)
        fill_point(r, &v->grid[i]);
    fill_tag6(r, &v->id);
    for (int i = 0; i < 3; i++)
        v->flags[i] = (bool_t)ct_below(r, 2);
    for (int i = 0; i < 2; i++)
        fill_color(r, &v->palette[i]);
    for (int i = 0; i < 2; i++)
        v->shorts[i] = (short)(SHRT_MIN + (int)ct_below(r, SHRT_MAX - SHRT_MIN + 1));
}

static void fill_by_int(ct_rng *r, by_int *v)
{
    static const int kinds[] = {1, 2, 3, -1};
    memset(v, 0, sizeof *v);
    v->kind = kinds[ct_below(r, 4)];
    if (v->kind == 1)
        v->by_int_u.num = (int)rand_word(r);
    else if (v->kind != -1)
        fill_name(r, &v->by_int_u.word);
}

static void fill_int_unions(ct_rng *r, int_unions *v)
{
    v->int_unions_len = ct_below(r, 4);
    v->int_unions_val = NULL;
    if (v->int_unions_len) {
        v->int_unions_val = xmalloc(v->int_unions_len * sizeof(by_int));
        for (u_int i = 0; i < v->int_unions_len; i++)
            fill_by_int(r, &v->int_unions_val[i]);
    }
}

static void fill_by_int_dflt(ct_rng *r, by_int_dflt *v)
{
    memset(v, 0, sizeof *v);
    switch (ct_below(r, 3)) {
    case 0:
        v->kind = 0;
        break;
    case 1:
        v->kind = 1;
        v->by_int_dflt_u.big = (quad_t)rand_hyper(r);
        break;
    default:
        do
            v->kind = (int)rand_word(r);
        while (v->kind == 0 || v->kind == 1);
        fill_blob(r, &v->by_int_dflt_u.other);
        break;
    }
}

static void fill_by_enum(ct_rng *r, by_enum *v)
{
    memset(v, 0, sizeof *v);
    v->c = ct_below(r, 2) ? RED : GREEN;
    if (v->c == RED)
        v->by_enum_u.r = (int)rand_word(r);
    else
        fill_name(r, &v->by_enum_u.g);
}

static void fill_by_enum_dflt(ct_rng *r, by_enum_dflt *v)
{
    memset(v, 0, sizeof *v);
    fill_status(r, &v->s);
    if (v->s != ST_OK)
        v->by_enum_dflt_u.code = (int)rand_word(r);
}

static void fill_by_bool(ct_rng *r, by_bool *v)
{
    memset(v, 0, sizeof *v);
    v->present = TRUE;
    fill_point(r, &v->by_bool_u.p);
}

static void fill_by_bool_dflt(ct_rng *r, by_bool_dflt *v)
{
    memset(v, 0, sizeof *v);
    v->on = (bool_t)ct_below(r, 2);
    if (v->on)
        fill_name(r, &v->by_bool_dflt_u.who);
}

static void fill_by_uint(ct_rng *r, by_uint *v)
{
    memset(v, 0, sizeof *v);
    v->tag = ct_below(r, 2) ? BIG_TAG : 0;
    if (v->tag == BIG_TAG)
        v->by_uint_u.d = rand_double(r);
}

static void fill_sparse(ct_rng *r, sparse *v)
{
    memset(v, 0, sizeof *v);
    v->k = (int)ct_below(r, 2);
    if (v->k)
        rand_bytes(r, v->sparse_u.page, sizeof v->sparse_u.page);
}

static void fill_sparse_list(ct_rng *r, sparse_list *v)
{
    v->sparse_list_len = ct_below(r, 4);
    v->sparse_list_val = NULL;
    if (v->sparse_list_len) {
        v->sparse_list_val = xmalloc(v->sparse_list_len * sizeof(sparse));
        for (u_int i = 0; i < v->sparse_list_len; i++)
            fill_sparse(r, &v->sparse_list_val[i]);
    }
}

static void fill_node(ct_rng *r, node *v)
{
    uint32_t n = ct_below(r, 5);
    for (;;) {
        v->value = (int)rand_word(r);
        fill_name(r, &v->tag);
        v->next = NULL;
        if (n-- == 0)
            break;
        v->next = xmalloc(sizeof *v->next);
        v = v->next;
    }
}

static void fill_chain(ct_rng *r, chain *v)
{
    uint32_t n = ct_below(r, 6);
    for (;;) {
        v->n = rand_word(r);
        v->next = NULL;
        if (n-- == 0)
            break;
        v->next = xmalloc(sizeof *v->next);
        v = v->next;
    }
}

static void fill_tree_depth(ct_rng *r, tree *v, int depth)
{
    v->key = (int)rand_word(r);
    v->left = v->right = NULL;
    if (depth > 0 && ct_below(r, 3)) {
        v->left = xmalloc(sizeof *v->left);
        fill_tree_depth(r, v->left, depth - 1);
    }
    if (depth > 0 && ct_below(r, 3)) {
        v->right = xmalloc(sizeof *v->right);
        fill_tree_depth(r, v->right, depth - 1);
    }
}

static void fill_tree(ct_rng *r, tree *v)
{
    fill_tree_depth(r, v, 3);
}

static void fill_spine_depth(ct_rng *r, spine *v, int depth)
{
    uint32_t n = ct_below(r, 4);
    for (;;) {
        v->key = (int)rand_word(r);
        v->left = NULL;
        if (depth > 0 && ct_below(r, 2)) {
            v->left = xmalloc(sizeof *v->left);
            fill_spine_depth(r, v->left, depth - 1);
        }
        v->right = NULL;
        if (n-- == 0)
            break;
        v->right = xmalloc(sizeof *v->right);
        v = v->right;
    }
}

static void fill_spine(ct_rng *r, spine *v)
{
    fill_spine_depth(r, v, 2);
}

static void fill_forest_depth(ct_rng *r, forest *v, int depth)
{
    v->id = (int)rand_word(r);
    v->kids.kids_len = depth > 0 ? ct_below(r, 4) : 0;
    v->kids.kids_val = NULL;
    if (v->kids.kids_len) {
        v->kids.kids_val = xmalloc(v->kids.kids_len * sizeof(forest));
        for (u_int i = 0; i < v->kids.kids_len; i++)
            fill_forest_depth(r, &v->kids.kids_val[i], depth - 1);
    }
}

static void fill_forest(ct_rng *r, forest *v)
{
    fill_forest_depth(r, v, 2);
}

static void fill_groupnode(ct_rng *r, groupnode *v)
{
    uint32_t n = ct_below(r, 5);
    for (;;) {
        fill_name(r, &v->gr_name);
        v->gr_next = NULL;
        if (n-- == 0)
            break;
        v->gr_next = xmalloc(sizeof *v->gr_next);
        v = v->gr_next;
    }
}

static void fill_groups(ct_rng *r, groups *v)
{
    *v = NULL;
    if (ct_below(r, 4)) {
        *v = xmalloc(sizeof **v);
        fill_groupnode(r, *v);
    }
}

static void fill_tree_ptr(ct_rng *r, tree_ptr *v)
{
    *v = NULL;
    if (ct_below(r, 4)) {
        *v = xmalloc(sizeof **v);
        fill_tree(r, *v);
    }
}

static void fill_node_lists(ct_rng *r, node_lists *v)
{
    v->node_lists_len = ct_below(r, 3);
    v->node_lists_val = NULL;
    if (v->node_lists_len) {
        v->node_lists_val = xmalloc(v->node_lists_len * sizeof(node));
        for (u_int i = 0; i < v->node_lists_len; i++)
            fill_node(r, &v->node_lists_val[i]);
    }
}

/* FILL_ARRAY gives the array field f of v a random length up to max and
 * fills each element with the expression el (which may use r). */
#define FILL_ARRAY(v, f, max, el)                                                                  \
    do {                                                                                           \
        (v)->f.f##_len = ct_below(r, (max) + 1);                                                   \
        (v)->f.f##_val = NULL;                                                                     \
        if ((v)->f.f##_len) {                                                                      \
            (v)->f.f##_val = xmalloc((v)->f.f##_len * sizeof *(v)->f.f##_val);                     \
            for (u_int i_ = 0; i_ < (v)->f.f##_len; i_++)                                          \
                (v)->f.f##_val[i_] = (el);                                                         \
        }                                                                                          \
    } while (0)

static point rand_point(ct_rng *r)
{
    point p;
    fill_point(r, &p);
    return p;
}

static void fill_arrays(ct_rng *r, arrays *v)
{
    FILL_ARRAY(v, pts, 4, rand_point(r));
    v->tags.tags_len = ct_below(r, 5);
    v->tags.tags_val = NULL;
    if (v->tags.tags_len) {
        v->tags.tags_val = xmalloc(v->tags.tags_len * sizeof(tag6));
        rand_bytes(r, v->tags.tags_val, v->tags.tags_len * sizeof(tag6));
    }
    FILL_ARRAY(v, bools, 5, (bool_t)ct_below(r, 2));
    FILL_ARRAY(v, colors, 3, (color)ct_below(r, 3));
    FILL_ARRAY(v, ushorts, 4, (u_short)ct_below(r, USHRT_MAX + 1));
    FILL_ARRAY(v, chars, 4, (char)(CHAR_MIN + (int)ct_below(r, CHAR_MAX - CHAR_MIN + 1)));
    FILL_ARRAY(v, dbls, 3, rand_double(r));
    FILL_ARRAY(v, uhs, 3, rand_hyper(r));
    FILL_ARRAY(v, uis, 2, rand_word(r));
}

static void fill_wide(ct_rng *r, wide *v)
{
    rand_bytes(r, v, sizeof *v);
    v->f63 = (bool_t)ct_below(r, 2);
    fill_color(r, &v->f64);
}

static void fill_quads(ct_rng *r, quads *v)
{
    v->quads_len = ct_below(r, 4);
    v->quads_val = NULL;
    if (v->quads_len) {
        v->quads_val = xmalloc(v->quads_len * sizeof(quad));
        rand_bytes(r, v->quads_val, v->quads_len * sizeof(quad));
    }
}

#if !CT_BUG_EXTERNAL_OPAQUE_SIZE
static void fill_ext_keys(ct_rng *r, ext_keys *v)
{
    v->ext_keys_len = ct_below(r, 4);
    v->ext_keys_val = NULL;
    if (v->ext_keys_len) {
        v->ext_keys_val = xmalloc(v->ext_keys_len * sizeof(ext_key));
        rand_bytes(r, v->ext_keys_val, v->ext_keys_len * sizeof(ext_key));
    }
}
#endif

static void fill_strs(ct_rng *r, strs *v)
{
    fill_name(r, &v->pair[0]);
    fill_name(r, &v->pair[1]);
    fill_names(r, &v->many);
    fill_text(r, &v->free_text);
}

void ct_fill_everything(ct_rng *r, everything *v)
{
    memset(v, 0, sizeof *v);
    fill_scalars(r, &v->s);
    fill_outer(r, &v->o);
    fill_by_int(r, &v->a);
    fill_by_int_dflt(r, &v->b);
    fill_by_enum(r, &v->c);
    fill_by_enum_dflt(r, &v->e);
    fill_by_bool(r, &v->f);
    fill_by_bool_dflt(r, &v->g);
    fill_by_uint(r, &v->h);
    v->choices.choices_len = ct_below(r, 3);
    if (v->choices.choices_len) {
        v->choices.choices_val = xmalloc(v->choices.choices_len * sizeof(by_int_dflt));
        for (u_int i = 0; i < v->choices.choices_len; i++)
            fill_by_int_dflt(r, &v->choices.choices_val[i]);
    }
    if (ct_below(r, 2)) {
        v->opt_union = xmalloc(sizeof *v->opt_union);
        fill_by_int(r, v->opt_union);
    }
    fill_matrix(r, &v->m);
    fill_strs(r, &v->t);
    if (ct_below(r, 2)) {
        v->list = xmalloc(sizeof *v->list);
        fill_node(r, v->list);
    }
    if (ct_below(r, 2)) {
        v->root = xmalloc(sizeof *v->root);
        fill_tree(r, v->root);
    }
    if (ct_below(r, 2)) {
        v->sp = xmalloc(sizeof *v->sp);
        fill_spine(r, v->sp);
    }
    fill_bytes(r, &v->raw);
    rand_bytes(r, v->one, sizeof v->one);
    v->hs.hs_len = ct_below(r, 3);
    if (v->hs.hs_len) {
        v->hs.hs_val = xmalloc(v->hs.hs_len * sizeof(quad_t));
        for (u_int i = 0; i < v->hs.hs_len; i++)
            v->hs.hs_val[i] = (quad_t)rand_hyper(r);
    }
    v->fl.fl_len = ct_below(r, 3);
    if (v->fl.fl_len) {
        v->fl.fl_val = xmalloc(v->fl.fl_len * sizeof(float));
        for (u_int i = 0; i < v->fl.fl_len; i++)
            v->fl.fl_val[i] = rand_float(r);
    }
    v->db[0] = rand_double(r);
    v->db[1] = rand_double(r);
}

/* ---- equality ----------------------------------------------------------- */

/* Strings are equal when both are NULL or both hold the same bytes. */
static int eq_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Counted memory is equal when the counts are and the bytes are; the
 * pointer of an empty one does not matter. */
static int eq_mem(const void *a, const void *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

static int eq_float(float a, float b)
{
    return parley_f32_bits(a) == parley_f32_bits(b);
}

static int eq_double(double a, double b)
{
    return parley_f64_bits(a) == parley_f64_bits(b);
}

static int equal_color(const color *a, const color *b)
{
    return *a == *b;
}

static int equal_status(const status *a, const status *b)
{
    return *a == *b;
}

static int equal_name(const name *a, const name *b)
{
    return eq_str(*a, *b);
}

static int equal_text(const text *a, const text *b)
{
    return eq_str(*a, *b);
}

static int equal_blob(const blob *a, const blob *b)
{
    return a->blob_len == b->blob_len && eq_mem(a->blob_val, b->blob_val, a->blob_len);
}

static int equal_bytes(const bytes *a, const bytes *b)
{
    return a->bytes_len == b->bytes_len && eq_mem(a->bytes_val, b->bytes_val, a->bytes_len);
}

static int equal_tag6(const tag6 *a, const tag6 *b)
{
    return memcmp(*a, *b, sizeof *a) == 0;
}

static int equal_row(const row *a, const row *b)
{
    return a->row_len == b->row_len && eq_mem(a->row_val, b->row_val, a->row_len * sizeof(int));
}

static int equal_matrix(const matrix *a, const matrix *b)
{
    if (a->matrix_len != b->matrix_len)
        return 0;
    for (u_int i = 0; i < a->matrix_len; i++)
        if (!equal_row(&a->matrix_val[i], &b->matrix_val[i]))
            return 0;
    return 1;
}

static int equal_names(const names *a, const names *b)
{
    if (a->names_len != b->names_len)
        return 0;
    for (u_int i = 0; i < a->names_len; i++)
        if (!eq_str(a->names_val[i], b->names_val[i]))
            return 0;
    return 1;
}

static int equal_ints(const ints *a, const ints *b)
{
    return a->ints_len == b->ints_len &&
           eq_mem(a->ints_val, b->ints_val, a->ints_len * sizeof(int));
}

static int equal_hypers(const hypers *a, const hypers *b)
{
    return a->hypers_len == b->hypers_len &&
           eq_mem(a->hypers_val, b->hypers_val, a->hypers_len * sizeof(quad_t));
}

static int equal_scalars(const scalars *a, const scalars *b)
{
    return a->i == b->i && a->u == b->u && a->h == b->h && a->uh == b->uh && eq_float(a->f, b->f) &&
           eq_double(a->d, b->d) && a->b == b->b && a->c == b->c && a->uc == b->uc &&
           a->s == b->s && a->us == b->us && a->l == b->l && a->ul == b->ul && a->col == b->col &&
           a->st == b->st;
}

static int equal_point(const point *a, const point *b)
{
    return a->x == b->x && a->y == b->y;
}

static int equal_inner(const inner *a, const inner *b)
{
    return eq_str(a->label, b->label) && equal_point(&a->at, &b->at) &&
           equal_blob(&a->data, &b->data);
}

static int equal_outer(const outer *a, const outer *b)
{
    if (!equal_inner(&a->first, &b->first) || a->more.more_len != b->more.more_len)
        return 0;
    for (u_int i = 0; i < a->more.more_len; i++)
        if (!equal_inner(&a->more.more_val[i], &b->more.more_val[i]))
            return 0;
    if ((a->maybe == NULL) != (b->maybe == NULL))
        return 0;
    if (a->maybe && !equal_inner(a->maybe, b->maybe))
        return 0;
    for (int i = 0; i < GRID; i++)
        if (!equal_point(&a->grid[i], &b->grid[i]))
            return 0;
    return memcmp(a->id, b->id, sizeof a->id) == 0 &&
           memcmp(a->flags, b->flags, sizeof a->flags) == 0 &&
           memcmp(a->palette, b->palette, sizeof a->palette) == 0 &&
           memcmp(a->shorts, b->shorts, sizeof a->shorts) == 0;
}

static int equal_by_int(const by_int *a, const by_int *b)
{
    if (a->kind != b->kind)
        return 0;
    if (a->kind == 1)
        return a->by_int_u.num == b->by_int_u.num;
    if (a->kind == 2 || a->kind == 3)
        return eq_str(a->by_int_u.word, b->by_int_u.word);
    return 1;
}

static int equal_int_unions(const int_unions *a, const int_unions *b)
{
    if (a->int_unions_len != b->int_unions_len)
        return 0;
    for (u_int i = 0; i < a->int_unions_len; i++)
        if (!equal_by_int(&a->int_unions_val[i], &b->int_unions_val[i]))
            return 0;
    return 1;
}

static int equal_by_int_dflt(const by_int_dflt *a, const by_int_dflt *b)
{
    if (a->kind != b->kind)
        return 0;
    if (a->kind == 0)
        return 1;
    if (a->kind == 1)
        return a->by_int_dflt_u.big == b->by_int_dflt_u.big;
    return equal_blob(&a->by_int_dflt_u.other, &b->by_int_dflt_u.other);
}

static int equal_by_enum(const by_enum *a, const by_enum *b)
{
    if (a->c != b->c)
        return 0;
    if (a->c == RED)
        return a->by_enum_u.r == b->by_enum_u.r;
    return eq_str(a->by_enum_u.g, b->by_enum_u.g);
}

static int equal_by_enum_dflt(const by_enum_dflt *a, const by_enum_dflt *b)
{
    return a->s == b->s && (a->s == ST_OK || a->by_enum_dflt_u.code == b->by_enum_dflt_u.code);
}

static int equal_by_bool(const by_bool *a, const by_bool *b)
{
    return a->present == b->present && equal_point(&a->by_bool_u.p, &b->by_bool_u.p);
}

static int equal_by_bool_dflt(const by_bool_dflt *a, const by_bool_dflt *b)
{
    return a->on == b->on && (!a->on || eq_str(a->by_bool_dflt_u.who, b->by_bool_dflt_u.who));
}

static int equal_by_uint(const by_uint *a, const by_uint *b)
{
    return a->tag == b->tag && (a->tag != BIG_TAG || eq_double(a->by_uint_u.d, b->by_uint_u.d));
}

static int equal_sparse(const sparse *a, const sparse *b)
{
    return a->k == b->k &&
           (a->k == 0 || memcmp(a->sparse_u.page, b->sparse_u.page, sizeof a->sparse_u.page) == 0);
}

static int equal_sparse_list(const sparse_list *a, const sparse_list *b)
{
    if (a->sparse_list_len != b->sparse_list_len)
        return 0;
    for (u_int i = 0; i < a->sparse_list_len; i++)
        if (!equal_sparse(&a->sparse_list_val[i], &b->sparse_list_val[i]))
            return 0;
    return 1;
}

static int equal_node(const node *a, const node *b)
{
    for (; a && b; a = a->next, b = b->next)
        if (a->value != b->value || !eq_str(a->tag, b->tag))
            return 0;
    return a == NULL && b == NULL;
}

static int equal_chain(const chain *a, const chain *b)
{
    for (; a && b; a = a->next, b = b->next)
        if (a->n != b->n)
            return 0;
    return a == NULL && b == NULL;
}

static int equal_tree(const tree *a, const tree *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return a->key == b->key && equal_tree(a->left, b->left) && equal_tree(a->right, b->right);
}

static int equal_spine(const spine *a, const spine *b)
{
    for (; a && b; a = a->right, b = b->right) {
        if (a->key != b->key || (a->left == NULL) != (b->left == NULL))
            return 0;
        if (a->left && !equal_spine(a->left, b->left))
            return 0;
    }
    return a == NULL && b == NULL;
}

static int equal_forest(const forest *a, const forest *b)
{
    if (a->id != b->id || a->kids.kids_len != b->kids.kids_len)
        return 0;
    for (u_int i = 0; i < a->kids.kids_len; i++)
        if (!equal_forest(&a->kids.kids_val[i], &b->kids.kids_val[i]))
            return 0;
    return 1;
}

static int equal_groupnode(const groupnode *a, const groupnode *b)
{
    for (; a && b; a = a->gr_next, b = b->gr_next)
        if (!eq_str(a->gr_name, b->gr_name))
            return 0;
    return a == NULL && b == NULL;
}

static int equal_groups(const groups *a, const groups *b)
{
    if (*a == NULL || *b == NULL)
        return *a == *b;
    return equal_groupnode(*a, *b);
}

static int equal_tree_ptr(const tree_ptr *a, const tree_ptr *b)
{
    return equal_tree(*a, *b);
}

static int equal_node_lists(const node_lists *a, const node_lists *b)
{
    if (a->node_lists_len != b->node_lists_len)
        return 0;
    for (u_int i = 0; i < a->node_lists_len; i++)
        if (!equal_node(&a->node_lists_val[i], &b->node_lists_val[i]))
            return 0;
    return 1;
}

/* SAME_ARRAY compares the array fields f of a and b element by element,
 * with the equality expression eq over x and y. */
#define SAME_ARRAY(a, b, f, eq)                                                                    \
    do {                                                                                           \
        if ((a)->f.f##_len != (b)->f.f##_len)                                                      \
            return 0;                                                                              \
        for (u_int i_ = 0; i_ < (a)->f.f##_len; i_++) {                                            \
            const void *x = &(a)->f.f##_val[i_], *y = &(b)->f.f##_val[i_];                         \
            if (!(eq))                                                                             \
                return 0;                                                                          \
        }                                                                                          \
    } while (0)

static int equal_arrays(const arrays *a, const arrays *b)
{
    SAME_ARRAY(a, b, pts, equal_point(x, y));
    SAME_ARRAY(a, b, tags, memcmp(x, y, sizeof(tag6)) == 0);
    SAME_ARRAY(a, b, bools, memcmp(x, y, sizeof(bool_t)) == 0);
    SAME_ARRAY(a, b, colors, memcmp(x, y, sizeof(color)) == 0);
    SAME_ARRAY(a, b, ushorts, memcmp(x, y, sizeof(u_short)) == 0);
    SAME_ARRAY(a, b, chars, memcmp(x, y, 1) == 0);
    SAME_ARRAY(a, b, dbls, memcmp(x, y, sizeof(double)) == 0);
    SAME_ARRAY(a, b, uhs, memcmp(x, y, sizeof(u_quad_t)) == 0);
    SAME_ARRAY(a, b, uis, memcmp(x, y, sizeof(u_int)) == 0);
    return 1;
}

/* wide is seventy four-byte fields: no padding to differ */
static int equal_wide(const wide *a, const wide *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

static int equal_quads(const quads *a, const quads *b)
{
    return a->quads_len == b->quads_len &&
           eq_mem(a->quads_val, b->quads_val, a->quads_len * sizeof(quad));
}

#if !CT_BUG_EXTERNAL_OPAQUE_SIZE
static int equal_ext_keys(const ext_keys *a, const ext_keys *b)
{
    return a->ext_keys_len == b->ext_keys_len &&
           eq_mem(a->ext_keys_val, b->ext_keys_val, a->ext_keys_len * sizeof(ext_key));
}
#endif

static int equal_strs(const strs *a, const strs *b)
{
    return eq_str(a->pair[0], b->pair[0]) && eq_str(a->pair[1], b->pair[1]) &&
           equal_names(&a->many, &b->many) && eq_str(a->free_text, b->free_text);
}

int ct_equal_everything(const everything *a, const everything *b)
{
    if (!equal_scalars(&a->s, &b->s) || !equal_outer(&a->o, &b->o) || !equal_by_int(&a->a, &b->a) ||
        !equal_by_int_dflt(&a->b, &b->b) || !equal_by_enum(&a->c, &b->c) ||
        !equal_by_enum_dflt(&a->e, &b->e) || !equal_by_bool(&a->f, &b->f) ||
        !equal_by_bool_dflt(&a->g, &b->g) || !equal_by_uint(&a->h, &b->h))
        return 0;
    if (a->choices.choices_len != b->choices.choices_len)
        return 0;
    for (u_int i = 0; i < a->choices.choices_len; i++)
        if (!equal_by_int_dflt(&a->choices.choices_val[i], &b->choices.choices_val[i]))
            return 0;
    if ((a->opt_union == NULL) != (b->opt_union == NULL) ||
        (a->opt_union && !equal_by_int(a->opt_union, b->opt_union)))
        return 0;
    if (!equal_matrix(&a->m, &b->m) || !equal_strs(&a->t, &b->t))
        return 0;
    if ((a->list == NULL) != (b->list == NULL) || (a->list && !equal_node(a->list, b->list)))
        return 0;
    if (!equal_tree(a->root, b->root))
        return 0;
    if ((a->sp == NULL) != (b->sp == NULL) || (a->sp && !equal_spine(a->sp, b->sp)))
        return 0;
    if (!equal_bytes(&a->raw, &b->raw) || a->one[0] != b->one[0])
        return 0;
    if (a->hs.hs_len != b->hs.hs_len ||
        !eq_mem(a->hs.hs_val, b->hs.hs_val, a->hs.hs_len * sizeof(quad_t)))
        return 0;
    if (a->fl.fl_len != b->fl.fl_len)
        return 0;
    for (u_int i = 0; i < a->fl.fl_len; i++)
        if (!eq_float(a->fl.fl_val[i], b->fl.fl_val[i]))
            return 0;
    return eq_double(a->db[0], b->db[0]) && eq_double(a->db[1], b->db[1]);
}

static void fill_everything(ct_rng *r, everything *v)
{
    ct_fill_everything(r, v);
}

static int equal_everything(const everything *a, const everything *b)
{
    return ct_equal_everything(a, b);
}

/* ---- the table ---------------------------------------------------------- */

/* CT_CONST converts v to a pointer to const T. For an array type such as
 * tag6, C11 takes `const tag6` to be an array of const char rather than a
 * const-qualified type, so gcc's -Wcast-qual reads a plain cast from a
 * const void * as dropping a qualifier; the round trip through uintptr_t
 * says what is meant without the warning. */
#define CT_CONST(T, v) ((const T *)(uintptr_t)(v))

/* CT_WRAP(T) defines the wrappers of one type: the generated functions and
 * the fill and equality functions above, with void pointers. */
#define CT_WRAP(T)                                                                                 \
    static int T##_encode_w(const void *v, void *buf, size_t cap, size_t *len)                     \
    {                                                                                              \
        return T##_encode(CT_CONST(T, v), buf, cap, len);                                          \
    }                                                                                              \
    static int T##_decode_w(void *v, const void *buf, size_t len, size_t *used,                    \
                            const parley_limits *lim)                                              \
    {                                                                                              \
        return T##_decode((T *)v, buf, len, used, lim);                                            \
    }                                                                                              \
    static size_t T##_size_w(const void *v)                                                        \
    {                                                                                              \
        return T##_size(CT_CONST(T, v));                                                           \
    }                                                                                              \
    static void T##_free_w(void *v)                                                                \
    {                                                                                              \
        T##_free((T *)v);                                                                          \
    }                                                                                              \
    static void T##_enc_w(parley_enc *e, const void *v)                                            \
    {                                                                                              \
        T##_enc(e, CT_CONST(T, v));                                                                \
    }                                                                                              \
    static void T##_dec_w(parley_dec *d, void *v)                                                  \
    {                                                                                              \
        T##_dec(d, (T *)v);                                                                        \
    }                                                                                              \
    static void T##_fill_w(ct_rng *r, void *v)                                                     \
    {                                                                                              \
        fill_##T(r, (T *)v);                                                                       \
    }                                                                                              \
    static int T##_equal_w(const void *a, const void *b)                                           \
    {                                                                                              \
        return equal_##T(CT_CONST(T, a), CT_CONST(T, b));                                          \
    }                                                                                              \
    static int T##_copy_w(void *dst, const void *src, parley_arena *arena)                         \
    {                                                                                              \
        return T##_copy((T *)dst, CT_CONST(T, src), arena);                                        \
    }

#define CT_ENTRY(T, owns)                                                                          \
    {                                                                                              \
#T, sizeof(T), owns, T##_encode_w, T##_decode_w, T##_size_w, T##_free_w, T##_enc_w,        \
            T##_dec_w, T##_fill_w, T##_equal_w, T##_copy_w                                         \
    }

CT_WRAP(color)
CT_WRAP(status)
CT_WRAP(name)
CT_WRAP(text)
CT_WRAP(blob)
CT_WRAP(bytes)
CT_WRAP(tag6)
CT_WRAP(row)
CT_WRAP(matrix)
CT_WRAP(names)
CT_WRAP(ints)
CT_WRAP(hypers)
CT_WRAP(scalars)
CT_WRAP(point)
CT_WRAP(inner)
CT_WRAP(outer)
CT_WRAP(by_int)
CT_WRAP(int_unions)
CT_WRAP(by_int_dflt)
CT_WRAP(by_enum)
CT_WRAP(by_enum_dflt)
CT_WRAP(by_bool)
CT_WRAP(by_bool_dflt)
CT_WRAP(by_uint)
CT_WRAP(sparse)
CT_WRAP(sparse_list)
CT_WRAP(node)
CT_WRAP(chain)
CT_WRAP(tree)
CT_WRAP(spine)
CT_WRAP(forest)
CT_WRAP(groups)
CT_WRAP(groupnode)
CT_WRAP(tree_ptr)
CT_WRAP(node_lists)
CT_WRAP(arrays)
CT_WRAP(wide)
CT_WRAP(quads)
#if !CT_BUG_EXTERNAL_OPAQUE_SIZE
CT_WRAP(ext_keys)
#endif
CT_WRAP(strs)
CT_WRAP(everything)

const codec_type ct_types[] = {
    CT_ENTRY(color, 0),       CT_ENTRY(status, 0),       CT_ENTRY(name, 1),
    CT_ENTRY(text, 1),        CT_ENTRY(blob, 1),         CT_ENTRY(bytes, 1),
    CT_ENTRY(tag6, 0),        CT_ENTRY(row, 1),          CT_ENTRY(matrix, 1),
    CT_ENTRY(names, 1),       CT_ENTRY(ints, 1),         CT_ENTRY(hypers, 1),
    CT_ENTRY(scalars, 0),     CT_ENTRY(point, 0),        CT_ENTRY(inner, 1),
    CT_ENTRY(outer, 1),       CT_ENTRY(by_int, 1),       CT_ENTRY(int_unions, 1),
    CT_ENTRY(by_int_dflt, 1), CT_ENTRY(by_enum, 1),      CT_ENTRY(by_enum_dflt, 0),
    CT_ENTRY(by_bool, 0),     CT_ENTRY(by_bool_dflt, 1), CT_ENTRY(by_uint, 0),
    CT_ENTRY(sparse, 0),      CT_ENTRY(sparse_list, 1),  CT_ENTRY(node, 1),
    CT_ENTRY(chain, 1),       CT_ENTRY(tree, 1),         CT_ENTRY(spine, 1),
    CT_ENTRY(forest, 1),      CT_ENTRY(groups, 1),       CT_ENTRY(groupnode, 1),
    CT_ENTRY(tree_ptr, 1),    CT_ENTRY(node_lists, 1),   CT_ENTRY(arrays, 1),
    CT_ENTRY(wide, 0),        CT_ENTRY(quads, 1),        CT_ENTRY(strs, 1),
    CT_ENTRY(everything, 1),
#if !CT_BUG_EXTERNAL_OPAQUE_SIZE
    CT_ENTRY(ext_keys, 1),
#endif
};

const size_t ct_ntypes = sizeof ct_types / sizeof ct_types[0];

const codec_type *ct_type(const char *nm)
{
    for (size_t i = 0; i < ct_ntypes; i++)
        if (strcmp(ct_types[i].name, nm) == 0)
            return &ct_types[i];
    fprintf(stderr, "codec tests: no type %s\n", nm);
    abort();
}

/* ---- guarded buffers ------------------------------------------------------ */

/* Mapping and unmapping a fenced buffer costs tens of microseconds, which
 * thousands of decodes would feel, so the checks keep two fenced buffers
 * (one for input, one for output) and reuse them: each is a whole number of
 * pages, and the bytes are placed at its end, right before the guard page,
 * exactly as pt_guard_alloc() places them. */
static struct {
    uint8_t *base;
    size_t cap;
} slots[2];

/* slot returns n bytes at the end of fenced buffer i. The size is rounded
 * to 4 KiB; where pages are larger, pt_guard_alloc still places the end of
 * the buffer at the guard page. */
static uint8_t *slot(int i, size_t n)
{
    const size_t page = 4096;
    size_t cap = n <= page ? page : (n + page - 1) / page * page;
    if (slots[i].cap != cap) {
        pt_guard_free(slots[i].base);
        slots[i].base = pt_guard_alloc(cap);
        assert_non_null(slots[i].base);
        slots[i].cap = cap;
    }
    return slots[i].base + cap - n;
}

const void *ct_guard_in(const void *src, size_t n)
{
    uint8_t *p = slot(0, n);
    if (n)
        memcpy(p, src, n);
    return p;
}

uint8_t *ct_guard_out(size_t n)
{
    return slot(1, n);
}

/* ---- checks ------------------------------------------------------------ */

/* report prints what a failed check was looking at. */
static void report(const codec_type *t, const void *buf, size_t n)
{
    const uint8_t *b = buf;
    print_error("type %s, %zu bytes:", t->name, n);
    for (size_t i = 0; i < n && i < 256; i++)
        print_error("%s%02x", i % 4 ? "" : " ", b[i]);
    print_error("%s\n", n > 256 ? " ..." : "");
}

/* CHECK fails the test with a message when cond is false, after reporting
 * the type t and the n bytes at buf that the calling check has in scope. */
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            report(t, buf, n);                                                                     \
            fail_msg(__VA_ARGS__);                                                                 \
        }                                                                                          \
    } while (0)

/* new_value returns storage for one value of t, filled with 0xa5. */
static void *new_value(const codec_type *t)
{
    void *v = xmalloc(t->size);
    memset(v, 0xa5, t->size);
    return v;
}

/* zero_expected tells whether a failed decode of t must leave it zeroed;
 * see CT_BUG_PLAIN_FREE_DOES_NOT_ZERO. */
static int zero_expected(const codec_type *t)
{
    return t->owns || !CT_BUG_PLAIN_FREE_DOES_NOT_ZERO;
}

/* check_failed_value checks a value whose decode failed (the caller has
 * checked that the decode released what it allocated): it is zeroed, and
 * releasing it, twice, neither allocates nor frees. Then it frees v. */
static void check_failed_value(const codec_type *t, void *v, const void *buf, size_t n)
{
    CHECK(zero_expected(t) ? ct_is_zero(v, t->size) : 1, "%s not zeroed after a failed decode",
          t->name);
    ct_arm(-1);
    t->release(v);
    t->release(v);
    ct_disarm();
    CHECK(ct_alloc.calls == 0 && ct_alloc.live == 0, "%s_free allocated or freed after a failure",
          t->name);
    free(v);
}

void ct_expect_reject(const codec_type *t, const void *buf, size_t n, const parley_limits *lim,
                      int want)
{
    for (int with_used = 0; with_used < 2; with_used++) {
        if (with_used && want == PARLEY_ERR_TRAILING)
            break;
        void *v = new_value(t);
        size_t used = 12345;
        const void *copy = ct_guard_in(buf, n);
        ct_arm(-1);
        int rc = t->decode(v, copy, n, with_used ? &used : NULL, lim);
        ct_disarm();
        CHECK(rc == want, "%s_decode (used %s): %s, expected %s", t->name,
              with_used ? "given" : "NULL", parley_errname(rc), parley_errname(want));
        CHECK(ct_alloc.live == 0, "%s_decode failed and left %ld allocations", t->name,
              ct_alloc.live);
        CHECK(used == 12345, "%s_decode failed and wrote *used", t->name);
        check_failed_value(t, v, buf, n);
    }
}

/* check_decoded checks a value decoded from the n bytes at buf (of which
 * it used all): its size and encoding. */
static void check_decoded(const codec_type *t, const void *v, const void *buf, size_t n)
{
    size_t sz = t->wire_size(v);
    CHECK(sz == n, "%s_size is %zu for a value decoded from %zu bytes", t->name, sz, n);
    uint8_t *out = ct_guard_out(n);
    size_t len = 0;
    int rc = t->encode(v, out, n, &len);
    CHECK(rc == PARLEY_OK, "%s_encode of a decoded value: %s", t->name, parley_errname(rc));
    CHECK(len == n, "%s_encode wrote %zu bytes of %zu", t->name, len, n);
    CHECK(n == 0 || memcmp(out, buf, n) == 0,
          "%s: decoded value encodes to other bytes (non-canonical accept)", t->name);
}

/* release_decoded frees a decoded value, checking that everything the
 * decode allocated is released: the account, paused since the decode with
 * its counts kept, resumes for T_free. */
static void release_decoded(const codec_type *t, void *v, const void *buf, size_t n)
{
    ct_alloc.armed = 1;
    t->release(v);
    ct_disarm();
    CHECK(ct_alloc.live == 0, "%s_free left %ld of the decoder's allocations", t->name,
          ct_alloc.live);
    CHECK(ct_is_zero(v, t->size) || !zero_expected(t), "%s_free did not zero the value", t->name);
    t->release(v);
    free(v);
}

void ct_expect_accept(const codec_type *t, const void *buf, size_t n, const parley_limits *lim)
{
    void *v = new_value(t);
    const void *copy = ct_guard_in(buf, n);
    ct_arm(-1);
    int rc = t->decode(v, copy, n, NULL, lim);
    ct_disarm();
    CHECK(rc == PARLEY_OK, "%s_decode: %s", t->name, parley_errname(rc));
    check_decoded(t, v, buf, n);
    release_decoded(t, v, buf, n);
}

void ct_expect_roundtrip(const codec_type *t, const void *v)
{
    size_t n = t->wire_size(v), len = 0;
    uint8_t *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    int rc = t->encode(v, ct_guard_out(n), n, &len);
    memcpy(buf, ct_guard_out(n), n);
    CHECK(rc == PARLEY_OK, "%s_encode: %s", t->name, parley_errname(rc));
    CHECK(len == n, "%s_encode wrote %zu bytes, %s_size says %zu", t->name, len, t->name, n);

    void *w = new_value(t);
    const void *copy = ct_guard_in(buf, n);
    ct_arm(-1);
    size_t used = 0;
    rc = t->decode(w, copy, n, &used, NULL);
    ct_disarm();
    CHECK(rc == PARLEY_OK, "%s_decode: %s", t->name, parley_errname(rc));
    CHECK(used == n, "%s_decode used %zu bytes of %zu", t->name, used, n);
    CHECK(t->equal(v, w), "%s: decoded value differs from the encoded one", t->name);
    check_decoded(t, w, buf, n);
    release_decoded(t, w, buf, n);
    free(buf);
}

int ct_probe(const codec_type *t, const void *buf, size_t n, const parley_limits *lim)
{
    int last = PARLEY_OK;
    for (int with_used = 0; with_used < 2; with_used++) {
        void *v = new_value(t);
        size_t used = 0;
        const void *copy = ct_guard_in(buf, n);
        ct_arm(-1);
        int rc = t->decode(v, copy, n, with_used ? &used : NULL, lim);
        ct_disarm();
        if (rc != PARLEY_OK) {
            CHECK(rc > PARLEY_OK && rc < PARLEY_ERR_COUNT_, "%s_decode returned %d", t->name, rc);
            CHECK(ct_alloc.live == 0, "%s_decode failed (%s) and left %ld allocations", t->name,
                  parley_errname(rc), ct_alloc.live);
            check_failed_value(t, v, buf, n);
        } else {
            if (!with_used)
                used = n;
            CHECK(used <= n, "%s_decode used %zu of %zu bytes", t->name, used, n);
            check_decoded(t, v, buf, used);
            release_decoded(t, v, buf, n);
        }
        last = rc;
    }
    return last;
}
