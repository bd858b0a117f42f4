/*
 * idl/check_sizes.c: pass 4 of the checks, sizes and declaration forms.
 *
 * Checks every declaration: array sizes and bounds (filling in decl->bound,
 * or bound_text for a C constant in a .x file), the forms string, opaque
 * and void may take, and the types that are not supported (quadruple).
 */
#include "check_int.h"

#include <stdint.h>

typedef enum decl_place { PLACE_FIELD, PLACE_ARM, PLACE_TYPEDEF } decl_place;

static const char *const quad_message =
    "quadruple is not supported: C has no portable 128-bit floating type";

static void check_decl(checker *c, idl_decl *d, decl_place place)
{
    if (d == NULL)
        return;
    if (d->kind == IDL_D_VOID || d->type == NULL) {
        if (place != PLACE_ARM)
            ERR(c, d->loc, "void is only allowed as a union arm or a procedure argument or result");
        return;
    }
    const char *name = d->name != NULL ? d->name : "";
    switch (d->type->kind) {
    case IDL_T_VOID:
        ERR(c, d->loc, "'%s' cannot be declared void", name);
        return;
    case IDL_T_QUAD:
        ERR(c, d->type->loc, "%s", quad_message);
        return;
    case IDL_T_STRING:
        if (d->kind != IDL_D_VAR)
            ERR(c, d->loc, "string must be declared as 'string name<>' or 'string name<N>'");
        break;
    case IDL_T_OPAQUE:
        if (d->kind != IDL_D_VAR && d->kind != IDL_D_FIXED)
            ERR(c, d->loc,
                "opaque must be declared as 'opaque name[N]', 'opaque name<>' or 'opaque name<N>'");
        break;
    default:
        break;
    }
    if (d->size != NULL && d->size->kind == IDL_EXPR_NAME && d->size->external) {
        d->bound_text = d->size->text;
        d->bound = d->kind == IDL_D_VAR ? UINT32_MAX : 0;
    } else if (d->kind == IDL_D_FIXED && d->size != NULL && d->size->evaluated) {
        int64_t v = d->size->value;
        if (v <= 0)
            ERR(c, d->size->loc, "array size of '%s' must be positive", name);
        else if (v > U32_LIMIT)
            ERR(c, d->size->loc, "array size of '%s' is too large (maximum 4294967295)", name);
        else
            d->bound = (uint32_t)v;
    } else if (d->kind == IDL_D_VAR) {
        if (d->size == NULL) {
            d->bound = UINT32_MAX;
        } else if (d->size->evaluated) {
            int64_t v = d->size->value;
            if (v < 0)
                ERR(c, d->size->loc, "bound of '%s' is negative", name);
            else if (v > U32_LIMIT)
                ERR(c, d->size->loc, "bound of '%s' is too large (maximum 4294967295)", name);
            else
                d->bound = (uint32_t)v;
        }
    }
}

/* check_proc_type checks a procedure's argument or result, which is a bare
 * type rather than a declaration: string stands for string<> as in rpcgen,
 * but opaque has no such reading. */
static void check_proc_type(checker *c, const idl_type *t)
{
    if (t == NULL)
        return;
    if (t->kind == IDL_T_QUAD)
        ERR(c, t->loc, "%s", quad_message);
    else if (t->kind == IDL_T_OPAQUE)
        ERR(c, t->loc, "opaque is not allowed as a procedure argument or result (use a typedef)");
}

/* chk_pass_sizes checks every declaration: array sizes and bounds (filling in
 * decl->bound), the forms string, opaque and void may take, and the types
 * that are not supported. The discriminant of a union is left to
 * chk_pass_unions, which has a stricter rule for it. */
void chk_pass_sizes(checker *c)
{
    for (idl_def *d = c->spec->defs; d != NULL; d = d->next) {
        switch (d->kind) {
        case IDL_DEF_STRUCT:
            for (idl_decl *f = d->u.strct.fields; f != NULL; f = f->next)
                check_decl(c, f, PLACE_FIELD);
            break;
        case IDL_DEF_UNION:
            for (idl_case *k = d->u.un.cases; k != NULL; k = k->next)
                check_decl(c, k->decl, PLACE_ARM);
            check_decl(c, d->u.un.dflt, PLACE_ARM);
            break;
        case IDL_DEF_TYPEDEF:
            check_decl(c, d->u.tdef.decl, PLACE_TYPEDEF);
            break;
        case IDL_DEF_PROGRAM:
            for (idl_version *v = d->u.prog.versions; v != NULL; v = v->next) {
                for (idl_proc *p = v->procs; p != NULL; p = p->next) {
                    check_proc_type(c, p->result);
                    for (idl_arg *a = p->args; a != NULL; a = a->next)
                        check_proc_type(c, a->type);
                }
            }
            break;
        default:
            break;
        }
    }
}
