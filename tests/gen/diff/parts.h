/*
 * parts.h: the named types of alltypes.x that the differential test also
 * encodes and decodes on their own, each with where a value of it sits in
 * an alltypes_top (see diff.h).
 *
 * DIFF_PARTS(X) expands X(type, where) once per type, where is an
 * expression of the alltypes_top *v that points to a value of the type (or
 * is NULL when the value has none). The first part is alltypes_top itself.
 * This list may be expanded without either generated header, as long as
 * X() does not expand where.
 */
#ifndef PARLEY_TEST_DIFF_PARTS_H
#define PARLEY_TEST_DIFF_PARTS_H

#define DIFF_PARTS(X)                                                                              \
    X(alltypes_top, v)                                                                             \
    X(color, &v->col)                                                                              \
    X(sparse, &v->sp)                                                                              \
    X(myint, &v->mi)                                                                               \
    X(myuhyper, &v->muh)                                                                           \
    X(mycolor, &v->in.c)                                                                           \
    X(name, &v->nm)                                                                                \
    X(alias_name, &v->an)                                                                          \
    X(namelist, &v->nl)                                                                            \
    X(namepair, &v->np)                                                                            \
    X(anystring, &v->any)                                                                          \
    X(blob, &v->bl)                                                                                \
    X(fixed3, &v->f3)                                                                              \
    X(intvec, &v->iv)                                                                              \
    X(hyperlist, &v->hl)                                                                           \
    X(boolvec, &v->fixed_bools)                                                                    \
    X(point, &v->fixed_pts[1])                                                                     \
    X(inner, &v->in)                                                                               \
    X(mypoint, &v->mp)                                                                             \
    X(pointpair, &v->pp)                                                                           \
    X(small_ints, &v->si)                                                                          \
    X(ctypes, &v->ct)                                                                              \
    X(node, v->list)                                                                               \
    X(mnode, v->mlist)                                                                             \
    X(nodeptr, &v->list2)                                                                          \
    X(tree, v->tr)                                                                                 \
    X(dir, &v->root)                                                                               \
    X(shape, &v->sh)                                                                               \
    X(result, &v->res)                                                                             \
    X(maybe, &v->mb)                                                                               \
    X(sparse_u, &v->su)                                                                            \
    X(big_u, &v->bu)                                                                               \
    X(outer_u, &v->ou)                                                                             \
    X(cu, &v->cu1)                                                                                 \
    X(ilist, &v->il)                                                                               \
    X(icell, v->il.more ? v->il.ilist_u.cell : NULL)                                               \
    X(myresult, &v->mres)

/* DIFF_PART_<type> numbers the parts; DIFF_PART_COUNT_ counts them. */
enum diff_part {
#define DIFF_PART_ENUM_(type, where) DIFF_PART_##type,
    DIFF_PARTS(DIFF_PART_ENUM_)
#undef DIFF_PART_ENUM_
        DIFF_PART_COUNT_
};

#endif /* PARLEY_TEST_DIFF_PARTS_H */
