/*
 * idl/check_resolve.c: pass 2 of the checks, resolution.
 *
 * Points every named type at its definition (or at an external one: C's
 * integer type names, netobj, and in a .x file types the C code it includes
 * defines) and every name in a constant expression at its constant, enum
 * member, or program, version or procedure number. Expressions too deeply
 * nested to evaluate are reported here and kept from pass 3.
 */
#include "check_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* kind_phrase names a kind of definition with its article, for messages of
 * the form "'x' is a struct, not a type". */
static const char *kind_phrase(idl_def_kind k)
{
    switch (k) {
    case IDL_DEF_CONST:
        return "a constant";
    case IDL_DEF_ENUM:
        return "an enum";
    case IDL_DEF_STRUCT:
        return "a struct";
    case IDL_DEF_UNION:
        return "a union";
    case IDL_DEF_TYPEDEF:
        return "a typedef";
    case IDL_DEF_PROGRAM:
        return "a program";
    case IDL_DEF_PASSTHRU:
        break;
    }
    return "a definition";
}

/* tag_matches says whether a definition of kind k satisfies a reference
 * written with a keyword (`struct x`, `union x`, `enum x`); tag is the
 * keyword's kind as the parser recorded it in idl_type.tag. Should the
 * parser leave tag unset, any of the three kinds is accepted. */
static int tag_matches(idl_def_kind tag, idl_def_kind k)
{
    if (tag == IDL_DEF_STRUCT || tag == IDL_DEF_UNION || tag == IDL_DEF_ENUM)
        return k == tag;
    return k == IDL_DEF_STRUCT || k == IDL_DEF_UNION || k == IDL_DEF_ENUM;
}

static const char *tag_phrase(idl_def_kind tag)
{
    switch (tag) {
    case IDL_DEF_STRUCT:
        return "a struct";
    case IDL_DEF_UNION:
        return "a union";
    case IDL_DEF_ENUM:
        return "an enum";
    default:
        return "a struct, union or enum";
    }
}

/* sym_phrase describes what a symbol is, for "'x' is ..., not a type". */
static const char *sym_phrase(const sym *s)
{
    switch (s->kind) {
    case SYM_DEF:
        return kind_phrase(s->def->kind);
    case SYM_ENUMERATOR:
        return "an enum member";
    case SYM_VERSION:
        return "a program version";
    case SYM_PROC:
        return "a procedure";
    }
    return "a name";
}

/* The C type names .x files use as XDR types, as rpcgen's C does: each is
 * the built-in kind of the same size and range, written with its C name. */
static const struct {
    const char *name;
    idl_type_kind kind;
} c_aliases[] = {
    {"bool_t", IDL_T_BOOL},     {"int16_t", IDL_T_SHORT},    {"int32_t", IDL_T_INT},
    {"int64_t", IDL_T_HYPER},   {"quad_t", IDL_T_HYPER},     {"rpcport_t", IDL_T_UINT},
    {"rpcproc_t", IDL_T_UINT},  {"rpcprog_t", IDL_T_UINT},   {"rpcprot_t", IDL_T_UINT},
    {"rpcvers_t", IDL_T_UINT},  {"u_char", IDL_T_UCHAR},     {"u_int", IDL_T_UINT},
    {"u_int32_t", IDL_T_UINT},  {"u_int64_t", IDL_T_UHYPER}, {"u_long", IDL_T_ULONG},
    {"u_quad_t", IDL_T_UHYPER}, {"u_short", IDL_T_USHORT},   {"uint16_t", IDL_T_USHORT},
    {"uint32_t", IDL_T_UINT},   {"uint64_t", IDL_T_UHYPER},  {"uint8_t", IDL_T_UCHAR},
};

/* external_type returns the one external definition for name, making it on
 * first use. */
static idl_def *external_type(checker *c, const idl_type *t, const char *header)
{
    for (idl_def *d = c->spec->externals; d != NULL; d = d->next)
        if (strcmp(d->name, t->name) == 0)
            return d;
    idl_def *d = idl_def_new(c->arena, IDL_DEF_STRUCT, t->loc, t->name);
    d->external = 1;
    d->header = header;
    if (t->tagged) {
        size_t n = strlen(t->name) + 8;
        char *ct = idl_arena_alloc(c->arena, n);
        const char *kw = t->tag == IDL_DEF_UNION  ? "union"
                         : t->tag == IDL_DEF_ENUM ? "enum"
                                                  : "struct";
        snprintf(ct, n, "%s %s", kw, t->name);
        d->ctype = ct;
    } else {
        d->ctype = t->name;
    }
    d->next = c->spec->externals;
    c->spec->externals = d;
    return d;
}

/* unparsed says whether name would have been defined by a definition the
 * parser dropped in recovering from a syntax error: using it is no error of
 * its own, and reporting it would repeat the syntax error in other words. */
static int unparsed(const checker *c, const char *name)
{
    return name != NULL && idl_map_get(&c->unparsed, name) != NONE;
}

/* sym_name is the name a symbol was declared with. */
static const char *sym_name(const sym *s)
{
    switch (s->kind) {
    case SYM_DEF:
        return s->def->name;
    case SYM_ENUMERATOR:
        return s->en->name;
    case SYM_VERSION:
        return s->ver->name;
    case SYM_PROC:
        return s->proc->name;
    }
    return NULL;
}

/* suggest finds the defined name closest to name (see idl_suggest): a type
 * (or a built-in type's keyword) when want_type, else a constant or enum
 * member. *at is the symbol it names, or NONE for a keyword. */
static const char *suggest(const checker *c, const char *name, int want_type, size_t *at)
{
    static const char *const type_words[] = {"bool",   "char",     "double", "float",     "hyper",
                                             "int",    "long",     "opaque", "quadruple", "short",
                                             "string", "unsigned", "void"};
    static const char *const const_words[] = {"TRUE", "FALSE"};
    const char *const *words = want_type ? type_words : const_words;
    size_t nwords = want_type ? sizeof type_words / sizeof type_words[0] : 2;
    const char **cands = idl_xcalloc(c->nsyms + nwords, sizeof *cands);
    for (size_t i = 0; i < c->nsyms; i++) {
        const sym *s = &c->syms[i];
        int is_type = s->kind == SYM_DEF &&
                      (s->def->kind == IDL_DEF_STRUCT || s->def->kind == IDL_DEF_UNION ||
                       s->def->kind == IDL_DEF_ENUM || s->def->kind == IDL_DEF_TYPEDEF);
        int is_const =
            s->kind == SYM_ENUMERATOR || (s->kind == SYM_DEF && s->def->kind == IDL_DEF_CONST);
        if (want_type ? is_type : is_const)
            cands[i] = sym_name(s);
    }
    for (size_t k = 0; k < nwords; k++)
        cands[c->nsyms + k] = words[k];
    const char *best = idl_suggest(name, cands, c->nsyms + nwords);
    *at = NONE;
    for (size_t i = 0; best != NULL && i < c->nsyms; i++)
        if (cands[i] == best)
            *at = i;
    free(cands);
    return best;
}

/* report_undefined reports an undefined type or constant, with the defined
 * name it most resembles, if any. */
static void report_undefined(checker *c, idl_loc loc, const char *what, const char *name,
                             int want_type)
{
    enum { MAX_SUGGESTIONS = 200 };
    size_t at = NONE;
    const char *hint = NULL;
    if (c->suggestions++ < MAX_SUGGESTIONS)
        hint = suggest(c, name, want_type, &at);
    if (hint == NULL) {
        ERR(c, loc, "%s '%s'", what, name);
        return;
    }
    ERR(c, loc, "%s '%s'; did you mean '%s'?", what, name, hint);
    if (at != NONE)
        NOTE(c, c->syms[at].loc, "'%s' declared here", hint);
}

/* resolve_outside resolves a type name the file does not define: one of the
 * C type names above; netobj, which the runtime provides as libtirpc does;
 * in a .x file, a type the C code it includes defines (as rpcgen assumes,
 * with a warning); anything else is an error. */
static void resolve_outside(checker *c, idl_type *t)
{
    const char *name = t->name != NULL ? t->name : "";
    if (!t->tagged) {
        for (size_t k = 0; k < sizeof c_aliases / sizeof c_aliases[0]; k++) {
            if (strcmp(c_aliases[k].name, name) == 0) {
                t->kind = c_aliases[k].kind;
                t->cname = c_aliases[k].name;
                return;
            }
        }
        if (strcmp(name, "netobj") == 0) {
            t->ref = external_type(c, t, "parley/netobj.h");
            return;
        }
    }
    if (unparsed(c, name))
        return;
    if (c->rpcgen_mode && name[0] != '\0') {
        int known = 0;
        for (const idl_def *d = c->spec->externals; d != NULL && !known; d = d->next)
            known = strcmp(d->name, name) == 0;
        if (!known)
            idl_warning(c->diag, t->loc,
                        "type '%s' is not defined in this file; assuming C code defines it, "
                        "with %s_enc, %s_dec, %s_size and %s_free",
                        name, name, name, name, name);
        t->ref = external_type(c, t, NULL);
        return;
    }
    report_undefined(c, t->loc, "unknown type", name, 1);
}

static void resolve_type(checker *c, idl_type *t)
{
    if (t == NULL || t->kind != IDL_T_NAMED)
        return;
    /* The parser points an inline type at the definition it made for it;
     * that stands even if the name it gave it is taken by another. */
    if (t->ref != NULL && t->ref->synthesized)
        return;
    t->ref = NULL;
    size_t i = chk_lookup(c, t->name);
    if (i == NONE) {
        resolve_outside(c, t);
        return;
    }
    const sym *s = &c->syms[i];
    int is_type =
        s->kind == SYM_DEF && (s->def->kind == IDL_DEF_STRUCT || s->def->kind == IDL_DEF_UNION ||
                               s->def->kind == IDL_DEF_ENUM || s->def->kind == IDL_DEF_TYPEDEF);
    if (!is_type) {
        ERR(c, t->loc, "'%s' is %s, not a type", t->name, sym_phrase(s));
        NOTE(c, s->loc, "'%s' declared here", t->name);
        return;
    }
    if (t->tagged && !tag_matches(t->tag, s->def->kind)) {
        ERR(c, t->loc, "'%s' is %s, not %s", t->name, kind_phrase(s->def->kind),
            tag_phrase(t->tag));
        NOTE(c, s->loc, "'%s' declared here", t->name);
        return;
    }
    t->ref = s->def;
}

static void resolve_name(checker *c, idl_expr *e)
{
    e->ref = NULL;
    e->enum_ref = NULL;
    size_t i = chk_lookup(c, e->text);
    if (i == NONE) {
        /* TRUE and FALSE are predeclared unless the file defines them; the
         * generated code gets them from <parley/rpctypes.h>, as rpcgen's
         * gets them from <rpc/types.h>, so there is no definition to point
         * at: the name alone carries its value. */
        if (e->text != NULL && unparsed(c, e->text)) {
            e->unparsed = 1;
        } else if (e->text != NULL && strcmp(e->text, "TRUE") == 0) {
            e->evaluated = 1;
            e->value = 1;
        } else if (e->text != NULL && strcmp(e->text, "FALSE") == 0) {
            e->evaluated = 1;
            e->value = 0;
        } else if (c->rpcgen_mode && c->allow_external && e->text != NULL && e->text[0] != '\0') {
            /* rpcgen passes such a name through to C, where a header the
             * file includes defines it; it can stand as an array size or
             * bound, where the C code needs only the name */
            idl_warning(c->diag, e->loc, "'%s' is not defined in this file; assuming a C constant",
                        e->text);
            e->external = 1;
        } else if (c->rpcgen_mode && e->text != NULL && e->text[0] != '\0') {
            ERR(c, e->loc, "the value of '%s' is needed here, but it is defined outside this file",
                e->text);
        } else {
            report_undefined(c, e->loc, "undefined constant", e->text != NULL ? e->text : "", 0);
        }
        return;
    }
    const sym *s = &c->syms[i];
    if (s->kind == SYM_ENUMERATOR) {
        e->enum_ref = s->en;
    } else if (s->kind == SYM_VERSION || s->kind == SYM_PROC ||
               (s->kind == SYM_DEF && s->def->kind == IDL_DEF_PROGRAM)) {
        /* rpcgen #defines program, version and procedure names to their
         * numbers, and .x files use them so (rpcb_prot.x does); the name
         * stands for the number, with neither ref nor enum_ref. */
        idl_map_put(&c->numbered_names, e, i);
    } else if (s->kind == SYM_DEF && s->def->kind == IDL_DEF_CONST) {
        if (s->def->u.cnst.value == NULL) { /* rpcgen's const NAME = "text"; */
            ERR(c, e->loc, "'%s' is a string constant, not a number", e->text);
            NOTE(c, s->loc, "'%s' declared here", e->text);
            return;
        }
        e->ref = s->def;
    } else {
        ERR(c, e->loc, "'%s' is not a constant", e->text);
        NOTE(c, s->loc, "'%s' declared here", e->text);
    }
}

/* resolve_expr resolves the names in a top-level expression. It walks the
 * tree with its own stack rather than by recursion, since a long chain like
 * 1+1+1+... makes a tree as deep as it is long; a tree deeper than
 * MAX_EXPR_DEPTH is reported and kept from evaluation. */
static void resolve_expr(checker *c, idl_expr *top)
{
    if (top == NULL)
        return;
    typedef struct item {
        idl_expr *e;
        int depth;
    } item;
    item *stack = NULL;
    size_t n = 0, cap = 0;
    int too_deep = 0;
    stack = idl_grow(stack, n, &cap, sizeof *stack);
    stack[n++] = (item){top, 1};
    while (n > 0) {
        item it = stack[--n];
        if (it.depth > MAX_EXPR_DEPTH && !too_deep) {
            ERR(c, it.e->loc, "constant expression is too deeply nested");
            idl_map_put(&c->bad_exprs, top, 1);
            too_deep = 1;
        }
        switch (it.e->kind) {
        case IDL_EXPR_NAME:
            resolve_name(c, it.e);
            if (it.e->unparsed)
                idl_map_put(&c->bad_exprs, top, 1);
            break;
        case IDL_EXPR_BINARY:
            if (it.e->b != NULL) {
                stack = idl_grow(stack, n, &cap, sizeof *stack);
                stack[n++] = (item){it.e->b, it.depth + 1};
            }
            /* fall through */
        case IDL_EXPR_UNARY:
            if (it.e->a != NULL) {
                stack = idl_grow(stack, n, &cap, sizeof *stack);
                stack[n++] = (item){it.e->a, it.depth + 1};
            }
            break;
        case IDL_EXPR_NUM:
            /* an invalid literal was reported by the lexer */
            if (it.e->bad)
                idl_map_put(&c->bad_exprs, top, 1);
            break;
        }
    }
    free(stack);
}

static void resolve_decl(checker *c, idl_decl *d)
{
    if (d == NULL)
        return;
    resolve_type(c, d->type);
    c->allow_external = d->size != NULL && d->size->kind == IDL_EXPR_NAME;
    resolve_expr(c, d->size);
    c->allow_external = 0;
}

/* chk_pass_resolve points every named type at its definition and every name in
 * an expression at its constant or enum member. All names were collected by
 * chk_pass_names, so a name may be used before it is defined. */
void chk_pass_resolve(checker *c)
{
    for (idl_def *d = c->spec->defs; d != NULL; d = d->next) {
        switch (d->kind) {
        case IDL_DEF_CONST:
            resolve_expr(c, d->u.cnst.value);
            break;
        case IDL_DEF_ENUM:
            for (idl_enumerator *e = d->u.enm.members; e != NULL; e = e->next)
                resolve_expr(c, e->value);
            break;
        case IDL_DEF_STRUCT:
            for (idl_decl *f = d->u.strct.fields; f != NULL; f = f->next)
                resolve_decl(c, f);
            break;
        case IDL_DEF_UNION:
            resolve_decl(c, d->u.un.disc);
            for (idl_case *k = d->u.un.cases; k != NULL; k = k->next) {
                for (idl_case_value *v = k->values; v != NULL; v = v->next)
                    resolve_expr(c, v->value);
                resolve_decl(c, k->decl);
            }
            resolve_decl(c, d->u.un.dflt);
            break;
        case IDL_DEF_TYPEDEF:
            resolve_decl(c, d->u.tdef.decl);
            break;
        case IDL_DEF_PROGRAM:
            resolve_expr(c, d->u.prog.number);
            for (idl_version *v = d->u.prog.versions; v != NULL; v = v->next) {
                resolve_expr(c, v->number);
                for (idl_proc *p = v->procs; p != NULL; p = p->next) {
                    resolve_expr(c, p->number);
                    resolve_type(c, p->result);
                    for (idl_arg *a = p->args; a != NULL; a = a->next)
                        resolve_type(c, a->type);
                }
            }
            break;
        case IDL_DEF_PASSTHRU:
            break;
        }
    }
}
