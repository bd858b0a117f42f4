/*
 * equal.c: deep comparison of two alltypes_top values, for the differential
 * test against rpcgen and libtirpc (see diff.h).
 *
 * Like fill.c, this file is compiled once against Parley's generated
 * alltypes.h and once against rpcgen's. It compares what the values mean,
 * never where they live: array contents rather than pointers, floats by
 * their bits (so that negative zero differs from zero), the active union arm
 * only, and lists and trees node by node. On the first difference it writes
 * the path to it, such as "shapes[1].shape_u.nums[0]", built from the inside
 * out while the comparison unwinds.
 */
#include <stdio.h>
#include <string.h>

#include "alltypes.h"
#include "diff.h"

typedef struct eq_ctx {
    char *why;
    size_t n;
} eq_ctx;

/* differ records that the leaf field differs, and returns 0. */
static int differ(eq_ctx *cx, const char *field)
{
    snprintf(cx->why, cx->n, "%s", field);
    return 0;
}

/* within puts the component field (with [idx] when idx >= 0) in front of the
 * path recorded so far, and returns 0. */
static int within(eq_ctx *cx, const char *field, long idx)
{
    char tail[512];
    char head[128];
    snprintf(tail, sizeof tail, "%s", cx->why);
    if (idx >= 0)
        snprintf(head, sizeof head, "%s[%ld]", field, idx);
    else
        snprintf(head, sizeof head, "%s", field);
    snprintf(cx->why, cx->n, "%s%s%s", head, tail[0] && tail[0] != '[' ? "." : "", tail);
    return 0;
}

/* element_differs records that element idx of the array field differs. */
static int element_differs(eq_ctx *cx, const char *field, long idx)
{
    differ(cx, "");
    return within(cx, field, idx);
}

/* SAME(cx, a, b, name): scalars must be equal. */
#define SAME(cx, a, b, name)                                                                       \
    do {                                                                                           \
        if ((a) != (b))                                                                            \
            return differ(cx, name);                                                               \
    } while (0)

/* SAME_BITS(cx, a, b, name): floats must have the same bits. */
#define SAME_BITS(cx, a, b, name)                                                                  \
    do {                                                                                           \
        if (memcmp(&(a), &(b), sizeof(a)) != 0)                                                    \
            return differ(cx, name);                                                               \
    } while (0)

/* INSIDE(cx, name, idx, call): a nested comparison must succeed. */
#define INSIDE(cx, name, idx, call)                                                                \
    do {                                                                                           \
        if (!(call))                                                                               \
            return within(cx, name, idx);                                                          \
    } while (0)

/* SAME_ARRAY(cx, a, b, arr, name): a->arr and b->arr, variable-length
 * arrays of scalars, hold the same elements. */
#define SAME_ARRAY(cx, a, b, arr, name)                                                            \
    do {                                                                                           \
        SAME(cx, (a)->arr##_len, (b)->arr##_len, name "_len");                                     \
        for (u_int i_ = 0; i_ < (a)->arr##_len; i_++)                                              \
            if (memcmp(&(a)->arr##_val[i_], &(b)->arr##_val[i_], sizeof *(a)->arr##_val) != 0)     \
                return element_differs(cx, name, (long)i_);                                        \
    } while (0)

/* EACH(cx, a, b, arr, name, eq): the same for arrays of compound elements
 * compared by eq(cx, &x, &y). */
#define EACH(cx, a, b, arr, name, eq)                                                              \
    do {                                                                                           \
        SAME(cx, (a)->arr##_len, (b)->arr##_len, name "_len");                                     \
        for (u_int i_ = 0; i_ < (a)->arr##_len; i_++)                                              \
            INSIDE(cx, name, (long)i_, eq(cx, &(a)->arr##_val[i_], &(b)->arr##_val[i_]));          \
    } while (0)

/* eq_string compares two strings, either of which may be NULL. */
static int eq_string(eq_ctx *cx, const char *const *a, const char *const *b)
{
    if ((*a == NULL) != (*b == NULL))
        return differ(cx, "");
    if (*a && strcmp(*a, *b) != 0)
        return differ(cx, "");
    return 1;
}

static int eq_bytes(eq_ctx *cx, const char *a, u_int alen, const char *b, u_int blen)
{
    if (alen != blen)
        return differ(cx, "");
    if (alen && memcmp(a, b, alen) != 0)
        return differ(cx, "");
    return 1;
}

static int eq_point(eq_ctx *cx, const point *a, const point *b)
{
    SAME(cx, a->x, b->x, "x");
    SAME(cx, a->y, b->y, "y");
    return 1;
}

static int eq_inner(eq_ctx *cx, const inner *a, const inner *b)
{
    INSIDE(cx, "p", -1, eq_point(cx, &a->p, &b->p));
    SAME(cx, a->c, b->c, "c");
    SAME(cx, a->u, b->u, "u");
    SAME(cx, a->flag, b->flag, "flag");
    SAME(cx, a->count, b->count, "count");
    return 1;
}

static int eq_small_ints(eq_ctx *cx, const small_ints *a, const small_ints *b)
{
    SAME(cx, a->c, b->c, "c");
    SAME(cx, a->uc, b->uc, "uc");
    SAME(cx, a->s, b->s, "s");
    SAME(cx, a->us, b->us, "us");
    SAME(cx, a->l, b->l, "l");
    SAME(cx, a->ul, b->ul, "ul");
    return 1;
}

static int eq_netobj(eq_ctx *cx, const netobj *a, const netobj *b)
{
    return eq_bytes(cx, a->n_bytes, a->n_len, b->n_bytes, b->n_len);
}

static int eq_ctypes(eq_ctx *cx, const ctypes *a, const ctypes *b)
{
    if (memcmp(a->ca, b->ca, sizeof a->ca) != 0)
        return differ(cx, "ca");
    SAME_ARRAY(cx, &a->cv, &b->cv, cv, "cv");
    if (memcmp(a->uca, b->uca, sizeof a->uca) != 0)
        return differ(cx, "uca");
    SAME_ARRAY(cx, &a->sv, &b->sv, sv, "sv");
    SAME_ARRAY(cx, &a->lv, &b->lv, lv, "lv");
    if (memcmp(a->usa, b->usa, sizeof a->usa) != 0)
        return differ(cx, "usa");
    SAME(cx, a->a, b->a, "a");
    SAME(cx, a->b, b->b, "b");
    SAME(cx, a->c, b->c, "c");
    SAME(cx, a->d, b->d, "d");
    SAME(cx, a->e, b->e, "e");
    SAME(cx, a->f, b->f, "f");
    SAME(cx, a->g, b->g, "g");
    SAME(cx, a->h, b->h, "h");
    SAME(cx, a->i, b->i, "i");
    SAME(cx, a->j, b->j, "j");
    SAME(cx, a->k, b->k, "k");
    SAME(cx, a->l, b->l, "l");
    INSIDE(cx, "n", -1, eq_netobj(cx, &a->n, &b->n));
    EACH(cx, &a->nv, &b->nv, nv, "nv", eq_netobj);
    SAME_ARRAY(cx, &a->u32v, &b->u32v, u32v, "u32v");
    SAME_ARRAY(cx, &a->ucv, &b->ucv, ucv, "ucv");
    if (memcmp(a->i64a, b->i64a, sizeof a->i64a) != 0)
        return differ(cx, "i64a");
    return 1;
}

static int eq_name(eq_ctx *cx, const name *a, const name *b)
{
    return eq_string(cx, (const char *const *)a, (const char *const *)b);
}

static int eq_blob(eq_ctx *cx, const blob *a, const blob *b)
{
    return eq_bytes(cx, a->blob_val, a->blob_len, b->blob_val, b->blob_len);
}

/* eq_node_list compares two lists node by node (the index is the node's
 * position). */
static int eq_node_list(eq_ctx *cx, const node *a, const node *b)
{
    for (long i = 0; a || b; i++, a = a->next, b = b->next) {
        if (!a || !b)
            return element_differs(cx, "node", i);
        if (a->id != b->id) {
            differ(cx, "id");
            return within(cx, "node", i);
        }
        if (!eq_string(cx, (const char *const *)&a->label, (const char *const *)&b->label)) {
            within(cx, "label", -1);
            return within(cx, "node", i);
        }
    }
    return 1;
}

static int eq_mnode_list(eq_ctx *cx, const mnode *a, const mnode *b)
{
    for (long i = 0; a || b; i++, a = a->next, b = b->next) {
        if (!a || !b)
            return element_differs(cx, "node", i);
        if (a->before != b->before) {
            differ(cx, "before");
            return within(cx, "node", i);
        }
        if (!eq_string(cx, (const char *const *)&a->after, (const char *const *)&b->after)) {
            within(cx, "after", -1);
            return within(cx, "node", i);
        }
    }
    return 1;
}

static int eq_tree(eq_ctx *cx, const tree *a, const tree *b)
{
    if (!a || !b)
        return a == b ? 1 : differ(cx, "");
    SAME(cx, a->value, b->value, "value");
    INSIDE(cx, "left", -1, eq_tree(cx, a->left, b->left));
    INSIDE(cx, "right", -1, eq_tree(cx, a->right, b->right));
    return 1;
}

static int eq_dir(eq_ctx *cx, const dir *a, const dir *b)
{
    INSIDE(cx, "dname", -1, eq_name(cx, &a->dname, &b->dname));
    EACH(cx, &a->children, &b->children, children, "children", eq_dir);
    return 1;
}

static int eq_shape(eq_ctx *cx, const shape *a, const shape *b)
{
    SAME(cx, a->kind, b->kind, "kind");
    switch (a->kind) {
    case 0:
        break;
    case 1:
        INSIDE(cx, "shape_u.pt", -1, eq_point(cx, &a->shape_u.pt, &b->shape_u.pt));
        break;
    case 2:
    case 3:
        SAME_BITS(cx, a->shape_u.radius, b->shape_u.radius, "shape_u.radius");
        break;
    case -7:
        SAME_ARRAY(cx, &a->shape_u.nums, &b->shape_u.nums, nums, "shape_u.nums");
        break;
    case 5:
        INSIDE(cx, "shape_u.lst", -1, eq_node_list(cx, a->shape_u.lst, b->shape_u.lst));
        break;
    case 6:
        INSIDE(cx, "shape_u.tag", -1, eq_bytes(cx, a->shape_u.tag, 5, b->shape_u.tag, 5));
        break;
    default:
        INSIDE(cx, "shape_u.text", -1,
               eq_string(cx, (const char *const *)&a->shape_u.text,
                         (const char *const *)&b->shape_u.text));
        break;
    }
    return 1;
}

static int eq_result(eq_ctx *cx, const result *a, const result *b)
{
    SAME(cx, a->c, b->c, "c");
    if (a->c == RED)
        SAME(cx, a->result_u.code, b->result_u.code, "result_u.code");
    else if (a->c == GREEN)
        INSIDE(cx, "result_u.in", -1, eq_inner(cx, &a->result_u.in, &b->result_u.in));
    return 1;
}

static int eq_maybe(eq_ctx *cx, const maybe *a, const maybe *b)
{
    SAME(cx, a->present, b->present, "present");
    if (a->present)
        SAME(cx, a->maybe_u.value, b->maybe_u.value, "maybe_u.value");
    return 1;
}

static int eq_sparse_u(eq_ctx *cx, const sparse_u *a, const sparse_u *b)
{
    SAME(cx, a->s, b->s, "s");
    switch (a->s) {
    case SP_MIN:
        SAME_BITS(cx, a->sparse_u_u.f, b->sparse_u_u.f, "sparse_u_u.f");
        break;
    case SP_MAX:
        INSIDE(cx, "sparse_u_u.o", -1,
               eq_bytes(cx, a->sparse_u_u.o.o_val, a->sparse_u_u.o.o_len, b->sparse_u_u.o.o_val,
                        b->sparse_u_u.o.o_len));
        break;
    case SP_NEG:
        EACH(cx, &a->sparse_u_u.names, &b->sparse_u_u.names, names, "sparse_u_u.names", eq_name);
        break;
    default:
        break;
    }
    return 1;
}

static int eq_big_u(eq_ctx *cx, const big_u *a, const big_u *b)
{
    SAME(cx, a->d, b->d, "d");
    if (a->d == 4000000000u)
        SAME(cx, a->big_u_u.h, b->big_u_u.h, "big_u_u.h");
    else
        SAME(cx, a->big_u_u.e, b->big_u_u.e, "big_u_u.e");
    return 1;
}

static int eq_outer_u(eq_ctx *cx, const outer_u *a, const outer_u *b)
{
    SAME(cx, a->which, b->which, "which");
    if (a->which == 1)
        INSIDE(cx, "outer_u_u.sh", -1, eq_shape(cx, &a->outer_u_u.sh, &b->outer_u_u.sh));
    else if (a->which == 2)
        INSIDE(cx, "outer_u_u.mb", -1, eq_maybe(cx, &a->outer_u_u.mb, &b->outer_u_u.mb));
    else if (a->which == MINUS_THREE)
        INSIDE(cx, "outer_u_u.nm", -1, eq_name(cx, &a->outer_u_u.nm, &b->outer_u_u.nm));
    return 1;
}

static int eq_namelist(eq_ctx *cx, const namelist *a, const namelist *b)
{
    EACH(cx, a, b, namelist, "namelist", eq_name);
    return 1;
}

static int eq_cu(eq_ctx *cx, const cu *a, const cu *b)
{
    SAME(cx, a->c, b->c, "c");
    if (a->c == RED) {
        INSIDE(cx, "cu_u.np", 0, eq_name(cx, &a->cu_u.np[0], &b->cu_u.np[0]));
        INSIDE(cx, "cu_u.np", 1, eq_name(cx, &a->cu_u.np[1], &b->cu_u.np[1]));
    } else if (a->c == BLUE) {
        INSIDE(cx, "cu_u.nl", -1, eq_namelist(cx, &a->cu_u.nl, &b->cu_u.nl));
    }
    return 1;
}

/* eq_ilist compares two lists linked through ilist unions. */
static int eq_ilist(eq_ctx *cx, const ilist *a, const ilist *b)
{
    for (long i = 0;; i++) {
        if (a->more != b->more) {
            differ(cx, "more");
            return within(cx, "cell", i);
        }
        if (!a->more)
            return 1;
        const icell *x = a->ilist_u.cell;
        const icell *y = b->ilist_u.cell;
        if ((x == NULL) != (y == NULL))
            return element_differs(cx, "cell", i);
        if (!x)
            return 1;
        if (x->v != y->v) {
            differ(cx, "v");
            return within(cx, "cell", i);
        }
        a = &x->rest;
        b = &y->rest;
    }
}

static int eq_top(eq_ctx *cx, const alltypes_top *a, const alltypes_top *b)
{
    SAME(cx, a->i, b->i, "i");
    SAME(cx, a->u, b->u, "u");
    SAME(cx, a->h, b->h, "h");
    SAME(cx, a->uh, b->uh, "uh");
    SAME(cx, a->b, b->b, "b");
    SAME_BITS(cx, a->f, b->f, "f");
    SAME_BITS(cx, a->d, b->d, "d");
    SAME(cx, a->col, b->col, "col");
    SAME(cx, a->sp, b->sp, "sp");
    SAME(cx, a->mi, b->mi, "mi");
    SAME(cx, a->muh, b->muh, "muh");
    INSIDE(cx, "si", -1, eq_small_ints(cx, &a->si, &b->si));
    INSIDE(cx, "ct", -1, eq_ctypes(cx, &a->ct, &b->ct));

    INSIDE(cx, "in", -1, eq_inner(cx, &a->in, &b->in));
    INSIDE(cx, "mp", -1, eq_point(cx, &a->mp, &b->mp));
    for (long i = 0; i < 2; i++) {
        INSIDE(cx, "fixed_pts", i, eq_point(cx, &a->fixed_pts[i], &b->fixed_pts[i]));
        INSIDE(cx, "pp", i, eq_inner(cx, &a->pp[i], &b->pp[i]));
        SAME(cx, a->fixed_hypers[i], b->fixed_hypers[i], "fixed_hypers");
        SAME_BITS(cx, a->fixed_floats[i], b->fixed_floats[i], "fixed_floats");
        SAME_BITS(cx, a->fixed_doubles[i], b->fixed_doubles[i], "fixed_doubles");
        SAME(cx, a->fixed_colors[i], b->fixed_colors[i], "fixed_colors");
        INSIDE(cx, "fixed_names", i, eq_name(cx, &a->fixed_names[i], &b->fixed_names[i]));
        INSIDE(cx, "fixed_shapes", i, eq_shape(cx, &a->fixed_shapes[i], &b->fixed_shapes[i]));
    }
    if (memcmp(a->fixed_ints, b->fixed_ints, sizeof a->fixed_ints) != 0)
        return differ(cx, "fixed_ints");
    if (memcmp(a->iv, b->iv, sizeof a->iv) != 0)
        return differ(cx, "iv");
    if (memcmp(a->fixed_bools, b->fixed_bools, sizeof a->fixed_bools) != 0)
        return differ(cx, "fixed_bools");

    SAME_ARRAY(cx, &a->bounded_ints, &b->bounded_ints, bounded_ints, "bounded_ints");
    SAME_ARRAY(cx, &a->unbounded_ints, &b->unbounded_ints, unbounded_ints, "unbounded_ints");
    SAME_ARRAY(cx, &a->octal_ints, &b->octal_ints, octal_ints, "octal_ints");
    SAME_ARRAY(cx, &a->hypers, &b->hypers, hypers, "hypers");
    SAME_ARRAY(cx, &a->hl, &b->hl, hyperlist, "hl");
    SAME_ARRAY(cx, &a->uhs, &b->uhs, uhs, "uhs");
    SAME_ARRAY(cx, &a->floats, &b->floats, floats, "floats");
    SAME_ARRAY(cx, &a->doubles, &b->doubles, doubles, "doubles");
    SAME_ARRAY(cx, &a->bools, &b->bools, bools, "bools");
    SAME_ARRAY(cx, &a->colors, &b->colors, colors, "colors");
    EACH(cx, &a->pts, &b->pts, pts, "pts", eq_point);
    EACH(cx, &a->inners, &b->inners, inners, "inners", eq_inner);
    EACH(cx, &a->names, &b->names, names, "names", eq_name);
    EACH(cx, &a->strs, &b->strs, strs, "strs", eq_name);
    EACH(cx, &a->blobs, &b->blobs, blobs, "blobs", eq_blob);
    for (long i = 0; i < 2; i++)
        INSIDE(cx, "fixed_blobs", i, eq_blob(cx, &a->fixed_blobs[i], &b->fixed_blobs[i]));
    SAME(cx, a->hls.hls_len, b->hls.hls_len, "hls_len");
    for (u_int i = 0; i < a->hls.hls_len; i++)
        SAME_ARRAY(cx, &a->hls.hls_val[i], &b->hls.hls_val[i], hyperlist, "hls");
    INSIDE(cx, "nl", -1, eq_namelist(cx, &a->nl, &b->nl));
    INSIDE(cx, "np", 0, eq_name(cx, &a->np[0], &b->np[0]));
    INSIDE(cx, "np", 1, eq_name(cx, &a->np[1], &b->np[1]));
    EACH(cx, &a->shapes, &b->shapes, shapes, "shapes", eq_shape);

    INSIDE(cx, "fixed_op", -1, eq_bytes(cx, a->fixed_op, 5, b->fixed_op, 5));
    INSIDE(cx, "fixed8", -1, eq_bytes(cx, a->fixed8, 8, b->fixed8, 8));
    INSIDE(cx, "f3", -1, eq_bytes(cx, a->f3, 3, b->f3, 3));
    INSIDE(cx, "var_op", -1,
           eq_bytes(cx, a->var_op.var_op_val, a->var_op.var_op_len, b->var_op.var_op_val,
                    b->var_op.var_op_len));
    INSIDE(cx, "bl", -1, eq_blob(cx, &a->bl, &b->bl));
    INSIDE(cx, "s", -1, eq_string(cx, (const char *const *)&a->s, (const char *const *)&b->s));
    INSIDE(cx, "any", -1,
           eq_string(cx, (const char *const *)&a->any, (const char *const *)&b->any));
    INSIDE(cx, "nm", -1, eq_name(cx, &a->nm, &b->nm));
    INSIDE(cx, "an", -1, eq_name(cx, &a->an, &b->an));

    if ((a->opt_inner == NULL) != (b->opt_inner == NULL))
        return differ(cx, "opt_inner");
    if (a->opt_inner)
        INSIDE(cx, "opt_inner", -1, eq_inner(cx, a->opt_inner, b->opt_inner));
    INSIDE(cx, "list", -1, eq_node_list(cx, a->list, b->list));
    INSIDE(cx, "list2", -1, eq_node_list(cx, a->list2, b->list2));
    INSIDE(cx, "mlist", -1, eq_mnode_list(cx, a->mlist, b->mlist));
    INSIDE(cx, "tr", -1, eq_tree(cx, a->tr, b->tr));
    INSIDE(cx, "root", -1, eq_dir(cx, &a->root, &b->root));
    if ((a->opt_shape == NULL) != (b->opt_shape == NULL))
        return differ(cx, "opt_shape");
    if (a->opt_shape)
        INSIDE(cx, "opt_shape", -1, eq_shape(cx, a->opt_shape, b->opt_shape));
    if ((a->opt_name == NULL) != (b->opt_name == NULL))
        return differ(cx, "opt_name");
    if (a->opt_name)
        INSIDE(cx, "opt_name", -1, eq_name(cx, a->opt_name, b->opt_name));
    if ((a->opt_color == NULL) != (b->opt_color == NULL))
        return differ(cx, "opt_color");
    if (a->opt_color)
        SAME(cx, *a->opt_color, *b->opt_color, "opt_color");
    if ((a->opt_hyper == NULL) != (b->opt_hyper == NULL))
        return differ(cx, "opt_hyper");
    if (a->opt_hyper)
        SAME(cx, *a->opt_hyper, *b->opt_hyper, "opt_hyper");
    if ((a->opt_f3 == NULL) != (b->opt_f3 == NULL))
        return differ(cx, "opt_f3");
    if (a->opt_f3)
        INSIDE(cx, "opt_f3", -1, eq_bytes(cx, *a->opt_f3, 3, *b->opt_f3, 3));
    INSIDE(cx, "il", -1, eq_ilist(cx, &a->il, &b->il));

    INSIDE(cx, "sh", -1, eq_shape(cx, &a->sh, &b->sh));
    INSIDE(cx, "res", -1, eq_result(cx, &a->res, &b->res));
    INSIDE(cx, "mres", -1, eq_result(cx, &a->mres, &b->mres));
    INSIDE(cx, "mb", -1, eq_maybe(cx, &a->mb, &b->mb));
    INSIDE(cx, "su", -1, eq_sparse_u(cx, &a->su, &b->su));
    INSIDE(cx, "bu", -1, eq_big_u(cx, &a->bu, &b->bu));
    INSIDE(cx, "ou", -1, eq_outer_u(cx, &a->ou, &b->ou));
    INSIDE(cx, "cu1", -1, eq_cu(cx, &a->cu1, &b->cu1));
    SAME(cx, a->last, b->last, "last");
    return 1;
}

/* equal: see diff.h. */
int DIFF_SIDE(equal)(const void *a, const void *b, char *why, size_t n)
{
    eq_ctx cx = {.why = why, .n = n};
    if (n)
        why[0] = '\0';
    return eq_top(&cx, a, b);
}
