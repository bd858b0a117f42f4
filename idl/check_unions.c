/*
 * idl/check_unions.c: pass 5 of the checks, unions.
 *
 * Checks each union's discriminant (int, unsigned int, bool, rpcgen's C
 * integer types, or an enum) and its case values: valid for the
 * discriminant's type, and none given twice.
 */
#include "check_int.h"

#include <inttypes.h>
#include <stdlib.h>

/* The kinds a discriminant may have, with the range of its case values. */
typedef struct disc_kind {
    idl_type_kind kind;
    const char *name;
    int64_t lo, hi;
} disc_kind;

static const disc_kind disc_kinds[] = {
    {IDL_T_INT, "int", INT32_MIN, INT32_MAX},
    {IDL_T_UINT, "unsigned int", 0, UINT32_MAX},
    {IDL_T_BOOL, "bool", 0, 1},
    {IDL_T_CHAR, "char", -128, 127},
    {IDL_T_UCHAR, "unsigned char", 0, 255},
    {IDL_T_SHORT, "short", -32768, 32767},
    {IDL_T_USHORT, "unsigned short", 0, 65535},
    {IDL_T_LONG, "long", INT32_MIN, INT32_MAX},
    {IDL_T_ULONG, "unsigned long", 0, UINT32_MAX},
};

enum { DISC_BAD, DISC_UNKNOWN, DISC_SCALAR, DISC_ENUM };

/* classify_disc finds what a discriminant is: a built-in kind (*scalar), an
 * enum (*enm), something not allowed, or unknown because its type did not
 * resolve (reported already). */
static int classify_disc(const idl_decl *d, const disc_kind **scalar, idl_def **enm)
{
    if (d == NULL || d->kind != IDL_D_SCALAR || d->type == NULL)
        return DISC_BAD;
    const idl_type *t = d->type;
    if (t->kind == IDL_T_NAMED) {
        if (t->ref == NULL)
            return DISC_UNKNOWN;
        idl_def *r = idl_resolve_type(t);
        if (r == NULL)
            return DISC_UNKNOWN;
        if (r->kind == IDL_DEF_ENUM) {
            *enm = r;
            return DISC_ENUM;
        }
        if (r->kind != IDL_DEF_TYPEDEF || r->u.tdef.decl == NULL)
            return DISC_BAD;
        const idl_decl *td = r->u.tdef.decl;
        if (td->kind != IDL_D_SCALAR || td->type == NULL)
            return DISC_BAD;
        if (td->type->kind == IDL_T_NAMED)
            return DISC_UNKNOWN; /* a typedef of an unknown name */
        t = td->type;
    }
    for (size_t i = 0; i < sizeof disc_kinds / sizeof disc_kinds[0]; i++) {
        if (disc_kinds[i].kind == t->kind) {
            *scalar = &disc_kinds[i];
            return DISC_SCALAR;
        }
    }
    return DISC_BAD;
}

static int enum_has_value(const idl_def *enm, const idl_expr *e)
{
    if (e->kind == IDL_EXPR_NAME && e->enum_ref != NULL && e->enum_ref->owner == enm)
        return 1;
    for (const idl_enumerator *m = enm->u.enm.members; m != NULL; m = m->next)
        if (m->ivalue == e->value)
            return 1;
    return 0;
}

static void check_union(checker *c, idl_def *d)
{
    const disc_kind *scalar = NULL;
    idl_def *enm = NULL;
    int k = classify_disc(d->u.un.disc, &scalar, &enm);
    if (k == DISC_BAD) {
        idl_loc loc = d->u.un.disc != NULL ? d->u.un.disc->loc : d->loc;
        ERR(c, loc, "discriminant of union '%s' must be int, unsigned int, bool or an enum",
            d->name);
    }
    /* An enum with a bad member cannot say what its members are. */
    if (k == DISC_ENUM && chk_def_invalid(c, enm))
        k = DISC_UNKNOWN;

    size_t n = 0;
    for (idl_case *cs = d->u.un.cases; cs != NULL; cs = cs->next)
        for (idl_case_value *cv = cs->values; cv != NULL; cv = cv->next)
            n++;
    idl_expr **exprs = idl_xcalloc(n, sizeof *exprs);
    int64_t *vals = idl_xcalloc(n, sizeof *vals);
    int *valid = idl_xcalloc(n, sizeof *valid);
    size_t *first = idl_xcalloc(n, sizeof *first);
    size_t i = 0;
    for (idl_case *cs = d->u.un.cases; cs != NULL; cs = cs->next) {
        for (idl_case_value *cv = cs->values; cv != NULL; cv = cv->next, i++) {
            idl_expr *e = cv->value;
            exprs[i] = e;
            if (e == NULL || !e->evaluated)
                continue;
            vals[i] = e->value;
            valid[i] = 1;
            if (k == DISC_ENUM && !enum_has_value(enm, e)) {
                ERR(c, e->loc, "case value %" PRId64 " is not a member of enum '%s'", e->value,
                    enm->name);
            } else if (k == DISC_SCALAR && (e->value < scalar->lo || e->value > scalar->hi)) {
                ERR(c, e->loc, "case value %" PRId64 " is out of range for %s", e->value,
                    scalar->name);
            }
        }
    }
    chk_find_dups(vals, valid, n, first);
    for (i = 0; i < n; i++) {
        if (first[i] == NONE)
            continue;
        ERR(c, exprs[i]->loc, "duplicate case value %" PRId64 " in union '%s'", vals[i], d->name);
        NOTE(c, exprs[first[i]]->loc, "previous case is here");
    }
    free(exprs);
    free(vals);
    free(valid);
    free(first);
}

/* chk_pass_unions checks each union's discriminant and its case values. */
void chk_pass_unions(checker *c)
{
    for (idl_def *d = c->spec->defs; d != NULL; d = d->next)
        if (d->kind == IDL_DEF_UNION)
            check_union(c, d);
}
