/*
 * idl/check_names.c: pass 1 of the checks, names.
 *
 * Enters every global name (constants, enum members, types, programs,
 * versions, procedures) in the one namespace the generated C shares, as
 * rpcgen's does, reporting redefinitions, C keywords and names the
 * generated code reserves; and checks member names within each struct and
 * union. Every later pass looks names up in the table built here, so a name
 * may be used before it is defined.
 */
#include "check_int.h"

#include <stdlib.h>
#include <string.h>

/* Keywords of C11, and those C23 adds, which generated code compiled as C23
 * would trip over; sorted for bsearch. */
/* clang-format off */
static const char *const c_keywords[] = {
    "_Alignas", "_Alignof", "_Atomic", "_BitInt", "_Bool", "_Complex", "_Decimal128", "_Decimal32",
    "_Decimal64", "_Generic", "_Imaginary", "_Noreturn", "_Static_assert", "_Thread_local",
    "alignas", "alignof", "auto", "bool", "break", "case", "char", "const", "constexpr",
    "continue", "default", "do", "double", "else", "enum", "extern", "false", "float", "for",
    "goto", "if", "inline", "int", "long", "nullptr", "register", "restrict", "return", "short",
    "signed", "sizeof", "static", "static_assert", "struct", "switch", "thread_local", "true",
    "typedef", "typeof", "typeof_unqual", "union", "unsigned", "void", "volatile", "while",
};
/* clang-format on */

static int cmp_keyword(const void *a, const void *b)
{
    return strcmp(a, *(const char *const *)b);
}

static int is_c_keyword(const char *name)
{
    return bsearch(name, c_keywords, sizeof c_keywords / sizeof c_keywords[0], sizeof c_keywords[0],
                   cmp_keyword) != NULL;
}

/* check_c_name rejects a global name that C cannot take: a keyword, or a
 * name beginning with '_'. The second is the generated code's reserved
 * prefix: its own parameters and locals are all spelled _x, so no
 * constant's #define, type or enum member of the IDL can rewrite or shadow
 * them (rpcgen's reserved nothing, and `const len = 4;` broke its output).
 * C itself reserves such names at file scope (C11 7.1.3), which is where
 * every global name of the IDL goes; members of a struct or union (global
 * 0) are not at file scope and may begin with '_'. */
static void check_c_name(checker *c, const char *name, idl_loc loc, int global)
{
    /* a keyword of the IDL can be a name only where the parser took it as
     * one after reporting it */
    static const char *const idl_keywords[] = {
        "bool",   "case",   "char",    "const",  "default",  "double",    "enum",  "float",
        "hyper",  "int",    "long",    "opaque", "program",  "quadruple", "short", "string",
        "struct", "switch", "typedef", "union",  "unsigned", "version",   "void"};
    for (size_t i = 0; i < sizeof idl_keywords / sizeof idl_keywords[0]; i++)
        if (strcmp(name, idl_keywords[i]) == 0)
            return;
    if (is_c_keyword(name))
        ERR(c, loc, "'%s' is a C keyword and cannot be a name", name);
    else if (global && name[0] == '_')
        ERR(c, loc,
            "'%s' begins with '_', a prefix reserved for the generated code's own variables "
            "(C also reserves it at file scope)",
            name);
}

static size_t add_sym(checker *c, const char *name, sym s)
{
    c->syms = idl_grow(c->syms, c->nsyms, &c->capsyms, sizeof *c->syms);
    c->syms[c->nsyms] = s;
    idl_map_put(&c->names, name, c->nsyms);
    return c->nsyms++;
}

/* declare enters a global name, reporting a redefinition; the first
 * definition keeps the name, so later uses resolve to it. */
static void declare(checker *c, const char *name, sym s)
{
    if (name == NULL || name[0] == '\0') /* the parser's stand-in for a missing name */
        return;
    check_c_name(c, name, s.loc, 1);
    size_t i = chk_lookup(c, name);
    if (i == NONE) {
        add_sym(c, name, s);
        return;
    }
    const sym *old = &c->syms[i];
    /* rpcgen emits proc_1 and proc_2 for a procedure kept across versions,
     * so the same name in another version of one program is fine (if the
     * number agrees, which the programs pass checks) unless the name is
     * also repeated within this one version. */
    if (s.kind == SYM_PROC && old->kind == SYM_PROC && old->def == s.def && old->ver != s.ver) {
        for (idl_proc *p = s.ver->procs; p != NULL && p != s.proc; p = p->next) {
            if (p->name != NULL && strcmp(p->name, name) == 0) {
                ERR(c, s.loc, "redefinition of '%s'", name);
                NOTE(c, p->loc, "%s", NOTE_PREVIOUS);
                return;
            }
        }
        c->aliases = idl_grow(c->aliases, c->naliases, &c->capaliases, sizeof *c->aliases);
        c->aliases[c->naliases++] = (proc_alias){s.proc, old->proc, old->ver};
        return;
    }
    ERR(c, s.loc, "redefinition of '%s'", name);
    NOTE(c, old->loc, "%s", NOTE_PREVIOUS);
}

/* Members of one struct or union, by name, for finding duplicates. */
typedef struct members {
    idl_map seen; /* name -> index into decls */
    idl_decl **decls;
    size_t n, cap;
} members;

static void member(checker *c, members *m, idl_decl *d, const char *owner)
{
    if (d == NULL || d->kind == IDL_D_VOID || d->name == NULL)
        return;
    check_c_name(c, d->name, d->name_loc, 0);
    size_t i = idl_map_get(&m->seen, d->name);
    if (i != NONE) {
        ERR(c, d->name_loc, "duplicate member '%s' in '%s'", d->name, owner);
        NOTE(c, m->decls[i]->name_loc, "%s", NOTE_PREVIOUS);
        return;
    }
    m->decls = idl_grow(m->decls, m->n, &m->cap, sizeof *m->decls);
    m->decls[m->n] = d;
    idl_map_put(&m->seen, d->name, m->n++);
}

static void members_free(members *m)
{
    idl_map_free(&m->seen);
    free(m->decls);
}

static void names_of_members(checker *c, idl_def *d)
{
    members m = {.seen = {.strings = 1}};
    const char *owner = d->name != NULL ? d->name : "";
    if (d->kind == IDL_DEF_STRUCT) {
        for (idl_decl *f = d->u.strct.fields; f != NULL; f = f->next)
            member(c, &m, f, owner);
    } else {
        member(c, &m, d->u.un.disc, owner);
        for (idl_case *k = d->u.un.cases; k != NULL; k = k->next)
            member(c, &m, k->decl, owner);
        member(c, &m, d->u.un.dflt, owner);
    }
    members_free(&m);
}

/* chk_pass_names enters every global name (constants, enum members, types,
 * programs, versions, procedures) in one namespace and checks member names
 * within each struct and union. */
void chk_pass_names(checker *c)
{
    for (idl_def *d = c->spec->defs; d != NULL; d = d->next) {
        if (d->kind == IDL_DEF_PASSTHRU)
            continue;
        declare(c, d->name, (sym){.kind = SYM_DEF, .loc = d->loc, .def = d});
        switch (d->kind) {
        case IDL_DEF_ENUM:
            for (idl_enumerator *e = d->u.enm.members; e != NULL; e = e->next) {
                e->owner = d; /* the parser leaves it unset */
                declare(c, e->name,
                        (sym){.kind = SYM_ENUMERATOR, .loc = e->loc, .def = d, .en = e});
            }
            break;
        case IDL_DEF_STRUCT:
        case IDL_DEF_UNION:
            names_of_members(c, d);
            break;
        case IDL_DEF_PROGRAM:
            for (idl_version *v = d->u.prog.versions; v != NULL; v = v->next) {
                declare(c, v->name, (sym){.kind = SYM_VERSION, .loc = v->loc, .def = d, .ver = v});
                for (idl_proc *p = v->procs; p != NULL; p = p->next)
                    declare(c, p->name,
                            (sym){.kind = SYM_PROC, .loc = p->loc, .def = d, .ver = v, .proc = p});
            }
            break;
        default:
            break;
        }
    }
}
