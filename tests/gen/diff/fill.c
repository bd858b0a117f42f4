/*
 * fill.c: builds values of alltypes.x's alltypes_top from a seed, for the
 * differential test against rpcgen and libtirpc (see diff.h).
 *
 * This file is compiled twice, once against Parley's generated alltypes.h
 * and once against rpcgen's. Both headers lay the types out alike, so the
 * two copies build the same value from the same options. Values stay within
 * what both implementations accept and give back unchanged: bools are 0 or
 * 1, enums are members, strings hold no NUL byte, floats are never NaN (any
 * other bit pattern is fair, negative zero, infinities and subnormals
 * included), and longs are not negative unless asked for, because libtirpc
 * does not sign-extend a long it decodes on a 64-bit host (IXDR_GET_LONG and
 * xdrmem_getlong read an unsigned 32-bit word into a long, so -5 comes back
 * as 4294967291).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "alltypes.h"
#include "diff.h"

/* Sizes that the IDL leaves unbounded are kept this small; a DIFF_FULL value
 * takes them as its bounds. */
#define UNBOUNDED_ARRAY  6u
#define UNBOUNDED_STRING 24u
#define RANDOM_LIST      5u
#define TREE_DEPTH       4
#define DIR_DEPTH        3

typedef struct fill_ctx {
    uint64_t state;
    diff_profile profile;
    int arm;
    int negative_longs;
} fill_ctx;

/* ---- randomness ------------------------------------------------------- */

/* next is splitmix64: every seed, even 0, 1, 2, ..., gives an unrelated
 * stream. */
static uint64_t next(fill_ctx *c)
{
    uint64_t z = (c->state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* below returns a number in [0, n), n > 0. */
static uint32_t below(fill_ctx *c, uint32_t n)
{
    return (uint32_t)(next(c) % n);
}

static uint32_t pick_u32(fill_ctx *c)
{
    static const uint32_t edges[] = {0, 1, 0x7fffffffu, 0x80000000u, 0xffffffffu};
    if (c->profile == DIFF_EMPTY)
        return 0;
    if (c->profile == DIFF_FULL || below(c, 4) == 0)
        return edges[below(c, 5)];
    return (uint32_t)next(c);
}

static int32_t pick_i32(fill_ctx *c)
{
    static const int32_t edges[] = {0, 1, -1, INT32_MAX, INT32_MIN};
    if (c->profile == DIFF_EMPTY)
        return 0;
    if (c->profile == DIFF_FULL || below(c, 4) == 0)
        return edges[below(c, 5)];
    return (int32_t)(uint32_t)next(c);
}

static uint64_t pick_u64(fill_ctx *c)
{
    static const uint64_t edges[] = {0, 1, 0xffffffffu, 0x100000000u, INT64_MAX, UINT64_MAX};
    if (c->profile == DIFF_EMPTY)
        return 0;
    if (c->profile == DIFF_FULL || below(c, 4) == 0)
        return edges[below(c, 6)];
    return next(c);
}

static int64_t pick_i64(fill_ctx *c)
{
    static const int64_t edges[] = {0, 1, -1, INT32_MIN, INT64_MAX, INT64_MIN};
    if (c->profile == DIFF_EMPTY)
        return 0;
    if (c->profile == DIFF_FULL || below(c, 4) == 0)
        return edges[below(c, 6)];
    return (int64_t)next(c);
}

static bool_t pick_bool(fill_ctx *c)
{
    return c->profile == DIFF_EMPTY ? 0 : (bool_t)below(c, 2);
}

/* pick_float returns any bit pattern but NaN; the edges are signed zeros,
 * infinities, the smallest subnormal and the largest finite value. */
static float pick_float(fill_ctx *c)
{
    static const uint32_t edges[] = {0x00000000u, 0x80000000u, 0x7f800000u,
                                     0xff800000u, 0x00000001u, 0x7f7fffffu};
    uint32_t u;
    float f;
    if (c->profile == DIFF_EMPTY)
        u = 0;
    else if (c->profile == DIFF_FULL || below(c, 4) == 0)
        u = edges[below(c, 6)];
    else
        u = (uint32_t)next(c);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0)
        u &= 0xff800000u; /* a NaN becomes an infinity of the same sign */
    memcpy(&f, &u, sizeof f);
    return f;
}

static double pick_double(fill_ctx *c)
{
    static const uint64_t edges[] = {0x0000000000000000u, 0x8000000000000000u, 0x7ff0000000000000u,
                                     0xfff0000000000000u, 0x0000000000000001u, 0x7fefffffffffffffu};
    uint64_t u;
    double d;
    if (c->profile == DIFF_EMPTY)
        u = 0;
    else if (c->profile == DIFF_FULL || below(c, 4) == 0)
        u = edges[below(c, 6)];
    else
        u = next(c);
    if ((u & 0x7ff0000000000000u) == 0x7ff0000000000000u && (u & 0x000fffffffffffffu) != 0)
        u &= 0xfff0000000000000u;
    memcpy(&d, &u, sizeof d);
    return d;
}

static color pick_color(fill_ctx *c)
{
    static const color all[] = {RED, GREEN, BLUE};
    return c->profile == DIFF_EMPTY ? RED : all[below(c, 3)];
}

static sparse pick_sparse(fill_ctx *c)
{
    static const sparse all[] = {SP_MIN, SP_NEG, SP_ZERO, SP_TEN, SP_CONST, SP_MINUS, SP_MAX};
    return c->profile == DIFF_EMPTY ? SP_ZERO : all[below(c, 7)];
}

static char pick_char(fill_ctx *c)
{
    if (c->profile == DIFF_EMPTY)
        return 0;
    if (c->profile == DIFF_FULL)
        return below(c, 2) ? CHAR_MIN : CHAR_MAX;
    return (char)next(c);
}

static u_char pick_uchar(fill_ctx *c)
{
    return c->profile == DIFF_EMPTY ? 0 : c->profile == DIFF_FULL ? UCHAR_MAX : (u_char)next(c);
}

static short pick_short(fill_ctx *c)
{
    if (c->profile == DIFF_EMPTY)
        return 0;
    if (c->profile == DIFF_FULL)
        return below(c, 2) ? SHRT_MIN : SHRT_MAX;
    return (short)next(c);
}

static u_short pick_ushort(fill_ctx *c)
{
    return c->profile == DIFF_EMPTY ? 0 : c->profile == DIFF_FULL ? USHRT_MAX : (u_short)next(c);
}

/* pick_long: see the file comment. */
static long pick_long(fill_ctx *c)
{
    long l = (long)(pick_u32(c) & 0x7fffffffu);
    return c->negative_longs ? -l - 1 : l;
}

static u_long pick_ulong(fill_ctx *c)
{
    return pick_u32(c);
}

/* pick_len returns the length of an array or string whose bound is max:
 * 0 when empty, max when full, anything up to max otherwise. */
static uint32_t pick_len(fill_ctx *c, uint32_t max)
{
    if (c->profile == DIFF_EMPTY)
        return 0;
    if (c->profile == DIFF_FULL)
        return max;
    return below(c, max + 1);
}

/* pick_arm returns an arm number in [0, narms): the one the options ask
 * for, or a random one. */
static int pick_arm(fill_ctx *c, int narms)
{
    if (c->arm >= 0)
        return c->arm % narms;
    return (int)below(c, (uint32_t)narms);
}

/* ---- allocation ------------------------------------------------------- */

/* alloc returns n zeroed elements of size bytes, or NULL for n = 0, as both
 * decoders leave an empty array. Running out of memory ends the test. */
static void *alloc(size_t n, size_t size)
{
    if (n == 0)
        return NULL;
    void *p = calloc(n, size);
    if (!p)
        abort();
    return p;
}

/* fill_bytes writes n random bytes (zeros when empty). */
static void fill_bytes(fill_ctx *c, void *p, size_t n)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = c->profile == DIFF_EMPTY ? 0 : (unsigned char)next(c);
}

/* pick_string returns a new string of pick_len(max) bytes from 1 to 255:
 * never a NUL inside, which a C string cannot carry. */
static char *pick_string(fill_ctx *c, uint32_t max)
{
    uint32_t n = pick_len(c, max);
    char *s = alloc(n + 1, 1);
    for (uint32_t i = 0; i < n; i++)
        s[i] = (char)(1 + below(c, 255));
    return s;
}

/* Arrays of numbers: FILL_ARRAY(c, field, type, bound, pick) fills
 * v->field.field_len and field_val. */
#define FILL_ARRAY(c, arr, type, bound, pick)                                                      \
    do {                                                                                           \
        arr##_len = pick_len(c, bound);                                                            \
        arr##_val = alloc(arr##_len, sizeof(type));                                                \
        for (u_int i_ = 0; i_ < arr##_len; i_++)                                                   \
            arr##_val[i_] = pick(c);                                                               \
    } while (0)

/* ---- the types of alltypes.x ------------------------------------------ */

static void fill_point(fill_ctx *c, point *v)
{
    v->x = pick_i32(c);
    v->y = pick_i32(c);
}

static void fill_inner(fill_ctx *c, inner *v)
{
    fill_point(c, &v->p);
    v->c = pick_color(c);
    v->u = pick_u32(c);
    v->flag = pick_bool(c);
    v->count = pick_u32(c);
}

/* fill_small_ints stays within each C type's range (which Parley checks on
 * both ends and libtirpc does not); see the file comment about longs. */
static void fill_small_ints(fill_ctx *c, small_ints *v)
{
    v->c = pick_char(c);
    v->uc = pick_uchar(c);
    v->s = pick_short(c);
    v->us = pick_ushort(c);
    v->l = pick_long(c);
    v->ul = pick_ulong(c);
}

static void fill_blob(fill_ctx *c, blob *v)
{
    v->blob_len = pick_len(c, UNBOUNDED_STRING);
    v->blob_val = alloc(v->blob_len, 1);
    fill_bytes(c, v->blob_val, v->blob_len);
}

/* fill_netobj makes a netobj of up to its 1024 bytes, or of up to
 * UNBOUNDED_STRING when random. */
static void fill_netobj(fill_ctx *c, netobj *v)
{
    v->n_len = c->profile == DIFF_RANDOM ? pick_len(c, UNBOUNDED_STRING) : pick_len(c, 1024);
    v->n_bytes = alloc(v->n_len, 1);
    fill_bytes(c, v->n_bytes, v->n_len);
}

static void fill_ctypes(fill_ctx *c, ctypes *v)
{
    for (int i = 0; i < 4; i++)
        v->ca[i] = pick_char(c);
    FILL_ARRAY(c, v->cv.cv, char, 4, pick_char);
    for (int i = 0; i < 3; i++)
        v->uca[i] = pick_uchar(c);
    FILL_ARRAY(c, v->sv.sv, short, 3, pick_short);
    FILL_ARRAY(c, v->lv.lv, long, 2, pick_long);
    for (int i = 0; i < 2; i++)
        v->usa[i] = pick_ushort(c);
    v->a = pick_u32(c);
    v->b = pick_i32(c);
    v->c = pick_u64(c);
    v->d = pick_i64(c);
    v->e = pick_u32(c);
    v->f = pick_u64(c);
    v->g = pick_uchar(c);
    v->h = pick_ushort(c);
    v->i = pick_u32(c);
    v->j = pick_ulong(c);
    v->k = pick_i64(c);
    v->l = pick_u64(c);
    fill_netobj(c, &v->n);
    v->nv.nv_len = pick_len(c, 2);
    v->nv.nv_val = alloc(v->nv.nv_len, sizeof(netobj));
    for (u_int i = 0; i < v->nv.nv_len; i++)
        fill_netobj(c, &v->nv.nv_val[i]);
    FILL_ARRAY(c, v->u32v.u32v, uint32_t, 3, pick_u32);
    FILL_ARRAY(c, v->ucv.ucv, u_char, 5, pick_uchar);
    for (int i = 0; i < 2; i++)
        v->i64a[i] = pick_i64(c);
}

/* fill_node_list builds a list of n nodes at *head (NULL for none). */
static void fill_node_list(fill_ctx *c, node **head, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        node *q = alloc(1, sizeof *q);
        q->id = pick_i64(c);
        q->label = pick_string(c, NAME_MAX_LEN);
        *head = q;
        head = &q->next;
    }
}

static void fill_mnode_list(fill_ctx *c, mnode **head, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        mnode *q = alloc(1, sizeof *q);
        q->before = pick_i32(c);
        q->after = pick_string(c, UNBOUNDED_STRING);
        *head = q;
        head = &q->next;
    }
}

/* fill_tree builds a tree at most depth levels deep: complete when full,
 * absent when empty. */
static tree *fill_tree(fill_ctx *c, int depth)
{
    if (depth == 0 || c->profile == DIFF_EMPTY)
        return NULL;
    if (c->profile == DIFF_RANDOM && below(c, 3) == 0)
        return NULL;
    tree *t = alloc(1, sizeof *t);
    t->value = pick_i32(c);
    t->left = fill_tree(c, depth - 1);
    t->right = fill_tree(c, depth - 1);
    return t;
}

static void fill_dir(fill_ctx *c, dir *v, int depth)
{
    v->dname = pick_string(c, NAME_MAX_LEN);
    uint32_t n = depth > 1 ? pick_len(c, 2) : 0;
    v->children.children_len = n;
    v->children.children_val = alloc(n, sizeof(dir));
    for (uint32_t i = 0; i < n; i++)
        fill_dir(c, &v->children.children_val[i], depth - 1);
}

/* fill_shape: arms 0 to 7 are the labels 0, 1, 2, 3, -7, 5, 6 and default;
 * the default arm takes discriminants that no label names. */
static void fill_shape(fill_ctx *c, shape *v)
{
    static const int labels[] = {0, 1, 2, 3, -7, 5, 6};
    static const int others[] = {4, 7, -1, INT32_MIN, INT32_MAX};
    int arm = pick_arm(c, 8);
    v->kind = arm < 7 ? labels[arm] : others[below(c, 5)];
    switch (v->kind) {
    case 0:
        break;
    case 1:
        fill_point(c, &v->shape_u.pt);
        break;
    case 2:
    case 3:
        v->shape_u.radius = pick_double(c);
        break;
    case -7:
        v->shape_u.nums.nums_len = pick_len(c, 3);
        v->shape_u.nums.nums_val = alloc(v->shape_u.nums.nums_len, sizeof(int));
        for (u_int i = 0; i < v->shape_u.nums.nums_len; i++)
            v->shape_u.nums.nums_val[i] = pick_i32(c);
        break;
    case 5:
        fill_node_list(c, &v->shape_u.lst, pick_len(c, 2));
        break;
    case 6:
        fill_bytes(c, v->shape_u.tag, sizeof v->shape_u.tag);
        break;
    default:
        v->shape_u.text = pick_string(c, 8);
        break;
    }
}

static void fill_result(fill_ctx *c, result *v)
{
    static const color arms[] = {RED, GREEN, BLUE};
    v->c = arms[pick_arm(c, 3)];
    if (v->c == RED)
        v->result_u.code = pick_i32(c);
    else if (v->c == GREEN)
        fill_inner(c, &v->result_u.in);
}

static void fill_maybe(fill_ctx *c, maybe *v)
{
    v->present = pick_arm(c, 2) == 0 ? TRUE : FALSE;
    if (v->present)
        v->maybe_u.value = pick_u64(c);
}

/* fill_sparse_u: arms SP_MIN, SP_MAX, SP_NEG, then the void default, which
 * takes the other members of the enum. */
static void fill_sparse_u(fill_ctx *c, sparse_u *v)
{
    static const sparse labels[] = {SP_MIN, SP_MAX, SP_NEG};
    static const sparse others[] = {SP_ZERO, SP_TEN, SP_CONST, SP_MINUS};
    int arm = pick_arm(c, 4);
    v->s = arm < 3 ? labels[arm] : others[below(c, 4)];
    switch (v->s) {
    case SP_MIN:
        v->sparse_u_u.f = pick_float(c);
        break;
    case SP_MAX:
        v->sparse_u_u.o.o_len = pick_len(c, SMALL);
        v->sparse_u_u.o.o_val = alloc(v->sparse_u_u.o.o_len, 1);
        fill_bytes(c, v->sparse_u_u.o.o_val, v->sparse_u_u.o.o_len);
        break;
    case SP_NEG:
        v->sparse_u_u.names.names_len = pick_len(c, 2);
        v->sparse_u_u.names.names_val = alloc(v->sparse_u_u.names.names_len, sizeof(name));
        for (u_int i = 0; i < v->sparse_u_u.names.names_len; i++)
            v->sparse_u_u.names.names_val[i] = pick_string(c, NAME_MAX_LEN);
        break;
    default:
        break;
    }
}

static void fill_big_u(fill_ctx *c, big_u *v)
{
    if (pick_arm(c, 2) == 0) {
        v->d = 4000000000u;
        v->big_u_u.h = pick_i64(c);
    } else {
        v->d = 1;
        v->big_u_u.e = pick_sparse(c);
    }
}

/* fill_outer_u: arms 1, 2, MINUS_THREE, then the void default. */
static void fill_outer_u(fill_ctx *c, outer_u *v)
{
    static const myint labels[] = {1, 2, MINUS_THREE};
    static const myint others[] = {0, 3, -1};
    int arm = pick_arm(c, 4);
    v->which = arm < 3 ? labels[arm] : others[below(c, 3)];
    if (v->which == 1)
        fill_shape(c, &v->outer_u_u.sh);
    else if (v->which == 2)
        fill_maybe(c, &v->outer_u_u.mb);
    else if (v->which == MINUS_THREE)
        v->outer_u_u.nm = pick_string(c, NAME_MAX_LEN);
}

static void fill_namelist(fill_ctx *c, namelist *v)
{
    v->namelist_len = pick_len(c, 3);
    v->namelist_val = alloc(v->namelist_len, sizeof(name));
    for (u_int i = 0; i < v->namelist_len; i++)
        v->namelist_val[i] = pick_string(c, NAME_MAX_LEN);
}

/* fill_cu: arms RED, BLUE, then the void default (GREEN). */
static void fill_cu(fill_ctx *c, cu *v)
{
    static const color arms[] = {RED, BLUE, GREEN};
    v->c = arms[pick_arm(c, 3)];
    if (v->c == RED) {
        v->cu_u.np[0] = pick_string(c, NAME_MAX_LEN);
        v->cu_u.np[1] = pick_string(c, NAME_MAX_LEN);
    } else if (v->c == BLUE) {
        fill_namelist(c, &v->cu_u.nl);
    }
}

/* fill_ilist builds a list of n cells linked through ilist unions. */
static void fill_ilist(fill_ctx *c, ilist *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        icell *q = alloc(1, sizeof *q);
        q->v = pick_i32(c);
        v->more = TRUE;
        v->ilist_u.cell = q;
        v = &q->rest;
    }
    v->more = FALSE;
}

static void fill_top(fill_ctx *c, alltypes_top *v, const diff_fill_opts *o)
{
    v->i = pick_i32(c);
    v->u = pick_u32(c);
    v->h = pick_i64(c);
    v->uh = pick_u64(c);
    v->b = pick_bool(c);
    v->f = pick_float(c);
    v->d = pick_double(c);
    v->col = pick_color(c);
    v->sp = pick_sparse(c);
    v->mi = pick_i32(c);
    v->muh = pick_u64(c);
    fill_small_ints(c, &v->si);
    fill_ctypes(c, &v->ct);

    fill_inner(c, &v->in);
    fill_point(c, &v->mp);
    for (int i = 0; i < 2; i++) {
        fill_point(c, &v->fixed_pts[i]);
        fill_inner(c, &v->pp[i]);
        v->fixed_hypers[i] = pick_i64(c);
        v->fixed_floats[i] = pick_float(c);
        v->fixed_doubles[i] = pick_double(c);
        v->fixed_colors[i] = pick_color(c);
        v->fixed_names[i] = pick_string(c, NAME_MAX_LEN);
        fill_shape(c, &v->fixed_shapes[i]);
    }
    for (int i = 0; i < SMALL; i++) {
        v->fixed_ints[i] = pick_i32(c);
        v->iv[i] = pick_i32(c);
    }
    for (int i = 0; i < 3; i++)
        v->fixed_bools[i] = pick_bool(c);

    FILL_ARRAY(c, v->bounded_ints.bounded_ints, int, SMALL, pick_i32);
    FILL_ARRAY(c, v->unbounded_ints.unbounded_ints, int, UNBOUNDED_ARRAY, pick_i32);
    FILL_ARRAY(c, v->octal_ints.octal_ints, int, OCTAL_BOUND, pick_i32);
    FILL_ARRAY(c, v->hypers.hypers, quad_t, 6, pick_i64);
    FILL_ARRAY(c, v->hl.hyperlist, quad_t, UNBOUNDED_ARRAY, pick_i64);
    FILL_ARRAY(c, v->uhs.uhs, u_quad_t, UNBOUNDED_ARRAY, pick_u64);
    FILL_ARRAY(c, v->floats.floats, float, 4, pick_float);
    FILL_ARRAY(c, v->doubles.doubles, double, 4, pick_double);
    FILL_ARRAY(c, v->bools.bools, bool_t, 4, pick_bool);
    FILL_ARRAY(c, v->colors.colors, color, 4, pick_color);

    v->pts.pts_len = pick_len(c, 3);
    v->pts.pts_val = alloc(v->pts.pts_len, sizeof(point));
    for (u_int i = 0; i < v->pts.pts_len; i++)
        fill_point(c, &v->pts.pts_val[i]);
    v->inners.inners_len = pick_len(c, UNBOUNDED_ARRAY);
    v->inners.inners_val = alloc(v->inners.inners_len, sizeof(inner));
    for (u_int i = 0; i < v->inners.inners_len; i++)
        fill_inner(c, &v->inners.inners_val[i]);
    v->names.names_len = pick_len(c, 4);
    v->names.names_val = alloc(v->names.names_len, sizeof(name));
    for (u_int i = 0; i < v->names.names_len; i++)
        v->names.names_val[i] = pick_string(c, NAME_MAX_LEN);
    v->strs.strs_len = pick_len(c, UNBOUNDED_ARRAY);
    v->strs.strs_val = alloc(v->strs.strs_len, sizeof(anystring));
    for (u_int i = 0; i < v->strs.strs_len; i++)
        v->strs.strs_val[i] = pick_string(c, UNBOUNDED_STRING);
    v->blobs.blobs_len = pick_len(c, 2);
    v->blobs.blobs_val = alloc(v->blobs.blobs_len, sizeof(blob));
    for (u_int i = 0; i < v->blobs.blobs_len; i++)
        fill_blob(c, &v->blobs.blobs_val[i]);
    for (int i = 0; i < 2; i++)
        fill_blob(c, &v->fixed_blobs[i]);
    v->hls.hls_len = pick_len(c, 2);
    v->hls.hls_val = alloc(v->hls.hls_len, sizeof(hyperlist));
    for (u_int i = 0; i < v->hls.hls_len; i++)
        FILL_ARRAY(c, v->hls.hls_val[i].hyperlist, quad_t, UNBOUNDED_ARRAY, pick_i64);
    fill_namelist(c, &v->nl);
    v->np[0] = pick_string(c, NAME_MAX_LEN);
    v->np[1] = pick_string(c, NAME_MAX_LEN);
    v->shapes.shapes_len = pick_len(c, 3);
    v->shapes.shapes_val = alloc(v->shapes.shapes_len, sizeof(shape));
    for (u_int i = 0; i < v->shapes.shapes_len; i++)
        fill_shape(c, &v->shapes.shapes_val[i]);

    fill_bytes(c, v->fixed_op, sizeof v->fixed_op);
    fill_bytes(c, v->fixed8, sizeof v->fixed8);
    fill_bytes(c, v->f3, sizeof v->f3);
    v->var_op.var_op_len = pick_len(c, 7);
    v->var_op.var_op_val = alloc(v->var_op.var_op_len, 1);
    fill_bytes(c, v->var_op.var_op_val, v->var_op.var_op_len);
    fill_blob(c, &v->bl);
    v->s = pick_string(c, NAME_MAX_LEN);
    v->any = pick_string(c, UNBOUNDED_STRING);
    v->nm = pick_string(c, NAME_MAX_LEN);
    v->an = pick_string(c, NAME_MAX_LEN);

    if (pick_len(c, 1)) {
        v->opt_inner = alloc(1, sizeof(inner));
        fill_inner(c, v->opt_inner);
    }
    fill_node_list(c, &v->list, o->list_len ? o->list_len : pick_len(c, RANDOM_LIST));
    fill_node_list(c, &v->list2, o->list_len ? o->list_len : pick_len(c, RANDOM_LIST));
    fill_mnode_list(c, &v->mlist, pick_len(c, RANDOM_LIST));
    v->tr = fill_tree(c, TREE_DEPTH);
    fill_dir(c, &v->root, DIR_DEPTH);
    if (pick_len(c, 1)) {
        v->opt_shape = alloc(1, sizeof(shape));
        fill_shape(c, v->opt_shape);
    }
    if (pick_len(c, 1)) {
        v->opt_name = alloc(1, sizeof(name));
        *v->opt_name = pick_string(c, NAME_MAX_LEN);
    }
    if (pick_len(c, 1)) {
        v->opt_color = alloc(1, sizeof(color));
        *v->opt_color = pick_color(c);
    }
    if (pick_len(c, 1)) {
        v->opt_hyper = alloc(1, sizeof(quad_t));
        *v->opt_hyper = pick_i64(c);
    }
    if (pick_len(c, 1)) {
        v->opt_f3 = alloc(1, sizeof(fixed3));
        fill_bytes(c, *v->opt_f3, sizeof(fixed3));
    }
    fill_ilist(c, &v->il, pick_len(c, RANDOM_LIST));

    fill_shape(c, &v->sh);
    fill_result(c, &v->res);
    fill_result(c, &v->mres);
    fill_maybe(c, &v->mb);
    fill_sparse_u(c, &v->su);
    fill_big_u(c, &v->bu);
    fill_outer_u(c, &v->ou);
    fill_cu(c, &v->cu1);
    v->last = pick_i32(c);
}

/* fill: see diff.h. */
void DIFF_SIDE(fill)(void *v, const diff_fill_opts *o)
{
    fill_ctx c = {.state = o->seed,
                  .profile = o->profile,
                  .arm = o->arm,
                  .negative_longs = o->negative_longs};
    fill_top(&c, v, o);
}

/* ---- values over their bounds ----------------------------------------- */

/* grow_string replaces *s with a string of n 'x' bytes. */
static void grow_string(char **s, size_t n)
{
    free(*s);
    *s = alloc(n + 1, 1);
    memset(*s, 'x', n);
}

/* GROW(arr, type, n) reallocates arr##_val to n zeroed elements; the old
 * elements must own nothing. */
#define GROW(arr, type, n)                                                                         \
    do {                                                                                           \
        free(arr##_val);                                                                           \
        arr##_len = (n);                                                                           \
        arr##_val = alloc((n), sizeof(type));                                                      \
    } while (0)

/* overflow: see diff.h. It expects a FULL value built with arm 7, which
 * puts every shape in its default arm (a string) and every sparse_u in its
 * void default, so that the arms it rewrites own nothing else. Arrays of
 * strings grow to one more element and get empty strings, so the value stays
 * releasable. */
const char *DIFF_SIDE(overflow)(void *p, int which)
{
    alltypes_top *v = p;
    switch (which) {
    case 0:
        GROW(v->bounded_ints.bounded_ints, int, SMALL + 1);
        return "bounded_ints";
    case 1:
        GROW(v->octal_ints.octal_ints, int, OCTAL_BOUND + 1);
        return "octal_ints";
    case 2:
        GROW(v->hypers.hypers, quad_t, 7);
        return "hypers";
    case 3:
        GROW(v->pts.pts, point, 4);
        return "pts";
    case 4:
        GROW(v->var_op.var_op, char, 8);
        return "var_op";
    case 5:
        grow_string(&v->s, NAME_MAX_LEN + 1);
        return "s";
    case 6:
        grow_string(&v->nm, NAME_MAX_LEN + 1);
        return "nm";
    case 7:
        grow_string(&v->fixed_names[1], NAME_MAX_LEN + 1);
        return "fixed_names[1]";
    case 8:
        for (u_int i = 0; i < v->names.names_len; i++)
            free(v->names.names_val[i]);
        GROW(v->names.names, name, 5);
        for (u_int i = 0; i < 5; i++)
            v->names.names_val[i] = alloc(1, 1);
        return "names";
    case 9:
        if (v->list == NULL)
            v->list = alloc(1, sizeof(node));
        grow_string(&v->list->label, NAME_MAX_LEN + 1);
        return "list->label";
    case 10:
        /* the default arm of shape: a text of up to 8 bytes */
        grow_string(&v->sh.shape_u.text, 9);
        return "sh.text";
    case 11:
        /* an arm of sparse_u: opaque o<SMALL> */
        v->su.s = SP_MAX;
        GROW(v->su.sparse_u_u.o.o, char, SMALL + 1);
        return "su.o";
    case 12:
        for (u_int i = 0; i < v->nl.namelist_len; i++)
            free(v->nl.namelist_val[i]);
        GROW(v->nl.namelist, name, 4);
        for (u_int i = 0; i < 4; i++)
            v->nl.namelist_val[i] = alloc(1, 1);
        return "nl";
    case 13:
        grow_string(&v->an, NAME_MAX_LEN + 1);
        return "an";
    case 14:
        free(v->ct.n.n_bytes);
        v->ct.n.n_len = 1025;
        v->ct.n.n_bytes = alloc(1025, 1);
        return "ct.n";
    case 15:
        GROW(v->ct.cv.cv, char, 5);
        return "ct.cv";
    default:
        return NULL;
    }
}
