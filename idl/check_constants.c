/*
 * idl/check.c: the semantic checks of the IDL compiler.
 *
 * The parser builds the AST (ast.h); idl_check validates it before the
 * emitters in generator/ walk it. The checks are separate passes, each one a
 * function that walks every definition, run in a fixed order: names,
 * resolution, constants, sizes, unions, programs, recursion. Every pass
 * reports every error it finds, never only the first, and fills in the
 * fields that ast.h marks "filled in by the checks" for the nodes it found
 * valid. A later pass skips whatever an earlier pass found invalid, so one
 * mistake gives one error rather than a cascade. The AST is annotated, never
 * restructured; the checks' own tables are allocated with malloc and freed
 * before idl_check returns.
 */
#include "check.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"

/* Expressions deeper than this are rejected outright, and evaluation (which
 * recurses through expressions and through the constants they name) stops
 * at MAX_EVAL_DEPTH frames, so no input can exhaust the C stack. */
#define MAX_EXPR_DEPTH 256
#define MAX_EVAL_DEPTH 10000

#define NONE      IDL_MAP_NONE
#define U32_LIMIT ((int64_t)UINT32_MAX)

/* ---- the checker's state ------------------------------------------------- */

/* What a global name stands for. Everything that becomes a C identifier or a
 * #define in generated code lives in one namespace, as with rpcgen. */
typedef enum sym_kind { SYM_DEF, SYM_ENUMERATOR, SYM_VERSION, SYM_PROC } sym_kind;

typedef struct sym {
    sym_kind kind;
    idl_loc loc;
    idl_def *def;       /* DEF: the definition; ENUMERATOR: its enum; VERSION, PROC: the program */
    idl_enumerator *en; /* ENUMERATOR */
    idl_version *ver;   /* VERSION, PROC */
    idl_proc *proc;     /* PROC */
} sym;

/* A procedure whose name is also used, legitimately, in an earlier version
 * of the same program; the programs pass checks that the numbers agree. */
typedef struct proc_alias {
    idl_proc *proc;
    idl_proc *first;
    idl_version *first_ver;
} proc_alias;

/* The evaluation state of a constant, an enum member, or a program, version
 * or procedure number. */
enum { EV_NONE, EV_BUSY, EV_DONE, EV_FAILED };

/* What the checks remember about a definition, an enum member, a version or
 * a procedure. All of
 * them are added before the passes run, so pointers to them stay valid. */
typedef struct info {
    int state;            /* EV_*: evaluation of its value or number */
    int64_t value;        /* when state is EV_DONE */
    idl_enumerator *prev; /* enum members: the member before, or NULL */
    int invalid;          /* an enum with a bad member: unions over it stay quiet */
} info;

/* One constant or enum member being evaluated, innermost last: the chain
 * that a dependency cycle is reported along. */
typedef struct frame {
    const void *key; /* the idl_def or idl_enumerator */
    const char *name;
    idl_loc loc;
    idl_expr *via; /* the name being followed out of it; NULL: the member before */
} frame;

typedef struct checker {
    idl_spec *spec;
    idl_diag *diag;
    int errors;

    idl_map names; /* global name -> index into syms */
    sym *syms;
    size_t nsyms, capsyms;

    proc_alias *aliases;
    size_t naliases, capaliases;

    idl_map infomap; /* idl_def or idl_enumerator -> index into infos */
    info *infos;
    size_t ninfos, capinfos;

    idl_map bad_exprs;      /* top-level expressions too deep to evaluate */
    idl_map numbered_names; /* name expression -> sym of the program, version or
                           procedure whose number it stands for */

    frame *frames;
    size_t nframes, capframes;
    int depth; /* frames of eval() on the C stack */

    int rpcgen_mode;    /* a .x file: undefined names are C's, not errors */
    int allow_external; /* resolving a whole array size or bound, where a C
                           constant can stand (rpcgen_mode only) */
    idl_arena *arena;   /* for the external types made here */
} checker;

/* Every error goes through ERR so that idl_check can return the count; the
 * format stays a literal, checked by the compiler against its arguments. */
#define ERR(c, loc, ...)  ((c)->errors++, idl_error((c)->diag, (loc), __VA_ARGS__))
#define NOTE(c, loc, ...) idl_note((c)->diag, (loc), __VA_ARGS__)

static const char *const note_previous = "previous definition is here";

static info *info_of(checker *c, const void *key)
{
    size_t i = idl_map_get(&c->infomap, key);
    return i == NONE ? NULL : &c->infos[i];
}

static info *info_add(checker *c, const void *key)
{
    c->infos = idl_grow(c->infos, c->ninfos, &c->capinfos, sizeof *c->infos);
    info *in = &c->infos[c->ninfos];
    memset(in, 0, sizeof *in);
    idl_map_put(&c->infomap, key, c->ninfos++);
    return in;
}

static int def_invalid(checker *c, const idl_def *d)
{
    const info *in = info_of(c, d);
    return in != NULL && in->invalid;
}

static void mark_invalid(checker *c, const idl_def *d)
{
    info *in = info_of(c, d);
    if (in != NULL)
        in->invalid = 1;
}

/* ---- small helpers ------------------------------------------------------- */

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

static void check_c_name(checker *c, const char *name, idl_loc loc)
{
    if (is_c_keyword(name))
        ERR(c, loc, "'%s' is a C keyword and cannot be a name", name);
}

/* A value and where it came from, for finding duplicates among many. */
typedef struct keyed {
    int64_t key;
    size_t pos; /* position in the caller's array */
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* find_dups sets first[i], for each of the n keys with valid[i] set, to the
 * position of the earliest valid key equal to it, or NONE when key i is the
 * earliest of its value. It sorts, so that enums with thousands of members
 * cost n log n rather than n squared. */
static void find_dups(const int64_t *keys, const int *valid, size_t n, size_t *first)
{
    keyed *k = idl_xcalloc(n, sizeof *k);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        first[i] = NONE;
        if (valid[i]) {
            k[m].key = keys[i];
            k[m].pos = i;
            m++;
        }
    }
    qsort(k, m, sizeof *k, cmp_keyed);
    for (size_t i = 1; i < m; i++) {
        size_t head = i;
        while (head > 0 && k[head - 1].key == k[i].key)
            head--;
        if (head != i)
            first[k[i].pos] = k[head].pos;
    }
    free(k);
}

/* ---- pass 1: names ------------------------------------------------------- */

static size_t lookup(const checker *c, const char *name)
{
    return name == NULL ? NONE : idl_map_get(&c->names, name);
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
    check_c_name(c, name, s.loc);
    size_t i = lookup(c, name);
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
                NOTE(c, p->loc, "%s", note_previous);
                return;
            }
        }
        c->aliases = idl_grow(c->aliases, c->naliases, &c->capaliases, sizeof *c->aliases);
        c->aliases[c->naliases++] = (proc_alias){s.proc, old->proc, old->ver};
        return;
    }
    ERR(c, s.loc, "redefinition of '%s'", name);
    NOTE(c, old->loc, "%s", note_previous);
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
    check_c_name(c, d->name, d->name_loc);
    size_t i = idl_map_get(&m->seen, d->name);
    if (i != NONE) {
        ERR(c, d->name_loc, "duplicate member '%s' in '%s'", d->name, owner);
        NOTE(c, m->decls[i]->name_loc, "%s", note_previous);
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

/* pass_names enters every global name (constants, enum members, types,
 * programs, versions, procedures) in one namespace and checks member names
 * within each struct and union. */
static void pass_names(checker *c)
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

/* ---- pass 2: resolution -------------------------------------------------- */

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
    ERR(c, t->loc, "unknown type '%s'", name);
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
    size_t i = lookup(c, t->name);
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
    size_t i = lookup(c, e->text);
    if (i == NONE) {
        /* TRUE and FALSE are predeclared unless the file defines them; the
         * generated code gets them from <parley/rpctypes.h>, as rpcgen's
         * gets them from <rpc/types.h>, so there is no definition to point
         * at: the name alone carries its value. */
        if (e->text != NULL && strcmp(e->text, "TRUE") == 0) {
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
            ERR(c, e->loc, "undefined constant '%s'", e->text != NULL ? e->text : "");
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

/* pass_resolve points every named type at its definition and every name in
 * an expression at its constant or enum member. All names were collected by
 * pass_names, so a name may be used before it is defined. */
static void pass_resolve(checker *c)
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

/* ---- pass 3: constants --------------------------------------------------- */

static int eval(checker *c, idl_expr *e, int64_t *out);

static frame *push_frame(checker *c, const void *key, const char *name, idl_loc loc)
{
    c->frames = idl_grow(c->frames, c->nframes, &c->capframes, sizeof *c->frames);
    frame *f = &c->frames[c->nframes++];
    f->key = key;
    f->name = name != NULL ? name : "";
    f->loc = loc;
    f->via = NULL;
    return f;
}

/* report_cycle reports a constant that depends on itself, found when the
 * evaluation reached key while key was still being evaluated: the error is
 * at the constant, and a note at each step of the chain back to it. */
static void report_cycle(checker *c, const void *key)
{
    size_t i = c->nframes;
    while (i > 0 && c->frames[i - 1].key != key)
        i--;
    if (i == 0)
        return;
    i--;
    ERR(c, c->frames[i].loc, "constant '%s' depends on itself", c->frames[i].name);
    for (size_t j = i; j < c->nframes; j++) {
        const frame *f = &c->frames[j];
        const char *next = j + 1 < c->nframes ? c->frames[j + 1].name : c->frames[i].name;
        if (f->via != NULL)
            NOTE(c, f->via->loc, "'%s' uses '%s' here", f->name, next);
        else
            NOTE(c, f->loc, "'%s' is one more than '%s'", f->name, next);
    }
}

static int eval_top(checker *c, idl_expr *e, int64_t *out)
{
    if (e == NULL || idl_map_get(&c->bad_exprs, e) != NONE)
        return 0;
    return eval(c, e, out);
}

/* eval_size evaluates an array size or bound, which alone may be an external
 * C constant (see resolve_name). */
static int eval_size(checker *c, idl_expr *e, int64_t *out)
{
    if (e != NULL && e->kind == IDL_EXPR_NAME && e->external)
        return 0;
    return eval_top(c, e, out);
}

static int eval_const(checker *c, idl_def *d, int64_t *out)
{
    info *in = info_of(c, d);
    if (in == NULL)
        return 0;
    switch (in->state) {
    case EV_DONE:
        *out = in->value;
        return 1;
    case EV_FAILED:
        return 0;
    case EV_BUSY:
        report_cycle(c, d);
        return 0;
    }
    if (d->u.cnst.value == NULL) /* a string constant: nothing to evaluate */
        return 0;
    in->state = EV_BUSY;
    push_frame(c, d, d->name, d->loc);
    int64_t v = 0;
    int ok = eval_top(c, d->u.cnst.value, &v);
    c->nframes--;
    in->state = ok ? EV_DONE : EV_FAILED;
    in->value = v;
    if (ok)
        *out = v;
    return ok;
}

static int eval_enumerator(checker *c, idl_enumerator *en, int64_t *out)
{
    info *in = info_of(c, en);
    if (in == NULL)
        return 0;
    switch (in->state) {
    case EV_DONE:
        *out = in->value;
        return 1;
    case EV_FAILED:
        return 0;
    case EV_BUSY:
        report_cycle(c, en);
        return 0;
    }
    in->state = EV_BUSY;
    idl_enumerator *prev = in->prev;
    push_frame(c, en, en->name, en->loc);
    int64_t v = 0;
    int ok = 1;
    if (en->value != NULL) {
        ok = eval_top(c, en->value, &v);
    } else if (prev != NULL) {
        /* An extension: a member without a value follows the one before. */
        ok = eval_enumerator(c, prev, &v);
        v++; /* the member before fits in 32 bits, so this cannot overflow */
    }
    c->nframes--;
    if (ok && (v < INT32_MIN || v > INT32_MAX)) {
        ERR(c, en->loc,
            "enum value %" PRId64 " of '%s' is out of range (-2147483648 to 2147483647)", v,
            en->name);
        ok = 0;
    }
    in->state = ok ? EV_DONE : EV_FAILED;
    in->value = v;
    if (ok) {
        en->ivalue = v;
        *out = v;
    }
    return ok;
}

/* eval_number evaluates the number of a program, version or procedure
 * (key), once, catching a number that depends on itself: rpcgen #defines
 * their names, and .x files use them as constants (rpcb_prot.x does). */
static int eval_number(checker *c, const void *key, const char *name, idl_loc loc, idl_expr *number,
                       int64_t *out)
{
    info *in = info_of(c, key);
    if (in == NULL)
        return 0;
    switch (in->state) {
    case EV_DONE:
        *out = in->value;
        return 1;
    case EV_FAILED:
        return 0;
    case EV_BUSY:
        report_cycle(c, key);
        return 0;
    }
    in->state = EV_BUSY;
    push_frame(c, key, name, loc);
    int64_t v = 0;
    int ok = eval_top(c, number, &v);
    c->nframes--;
    in->state = ok ? EV_DONE : EV_FAILED;
    in->value = v;
    if (ok)
        *out = v;
    return ok;
}

static int eval_number_of(checker *c, const sym *s, int64_t *out)
{
    if (s->kind == SYM_PROC)
        return eval_number(c, s->proc, s->proc->name, s->loc, s->proc->number, out);
    if (s->kind == SYM_VERSION)
        return eval_number(c, s->ver, s->ver->name, s->loc, s->ver->number, out);
    return eval_number(c, s->def, s->def->name, s->loc, s->def->u.prog.number, out);
}

static int eval_name(checker *c, idl_expr *e, int64_t *out)
{
    if (c->nframes > 0)
        c->frames[c->nframes - 1].via = e;
    if (e->ref != NULL)
        return eval_const(c, e->ref, out);
    if (e->enum_ref != NULL)
        return eval_enumerator(c, e->enum_ref, out);
    size_t i = idl_map_get(&c->numbered_names, e);
    if (i != NONE)
        return eval_number_of(c, &c->syms[i], out);
    if (e->external)
        ERR(c, e->loc, "the value of '%s' is needed here, but it is defined outside this file",
            e->text);
    return 0; /* unresolved: reported by pass_resolve */
}

/* Checked int64 arithmetic: each returns 0 on overflow. */
static int add_ok(int64_t a, int64_t b, int64_t *r)
{
    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b))
        return 0;
    *r = a + b;
    return 1;
}

static int sub_ok(int64_t a, int64_t b, int64_t *r)
{
    if ((b < 0 && a > INT64_MAX + b) || (b > 0 && a < INT64_MIN + b))
        return 0;
    *r = a - b;
    return 1;
}

static int mul_ok(int64_t a, int64_t b, int64_t *r)
{
    if (a == 0 || b == 0) {
        *r = 0;
        return 1;
    }
    if (a > 0 ? (b > 0 ? a > INT64_MAX / b : b < INT64_MIN / a)
              : (b > 0 ? a < INT64_MIN / b : a < INT64_MAX / b))
        return 0;
    *r = a * b;
    return 1;
}

static int eval_unary(checker *c, idl_expr *e, int64_t a, int64_t *out)
{
    switch (e->op) {
    case '-':
        if (a == INT64_MIN) {
            ERR(c, e->loc, "constant expression overflows");
            return 0;
        }
        *out = -a;
        return 1;
    case '+':
        *out = a;
        return 1;
    case '~':
        *out = ~a;
        return 1;
    case '!':
        *out = !a;
        return 1;
    }
    return 0; /* the parser makes no other operator */
}

static int eval_binary(checker *c, idl_expr *e, int64_t a, int64_t b, int64_t *out)
{
    int ok = 1;
    switch (e->op) {
    case '+':
        ok = add_ok(a, b, out);
        break;
    case '-':
        ok = sub_ok(a, b, out);
        break;
    case '*':
        ok = mul_ok(a, b, out);
        break;
    case '/':
    case '%':
        if (b == 0) {
            ERR(c, e->loc, "division by zero");
            return 0;
        }
        if (a == INT64_MIN && b == -1) {
            if (e->op == '/')
                ok = 0;
            else
                *out = 0;
            break;
        }
        *out = e->op == '/' ? a / b : a % b;
        break;
    case '&':
        *out = a & b;
        break;
    case '|':
        *out = a | b;
        break;
    case '^':
        *out = a ^ b;
        break;
    case IDL_OP_SHL:
    case IDL_OP_SHR:
        if (b < 0 || b > 63) {
            ERR(c, e->loc, "shift count %" PRId64 " is out of range (0 to 63)", b);
            return 0;
        }
        if (e->op == IDL_OP_SHL) {
            /* a << b is a * 2^b, and must fit like any product. */
            int64_t hi = INT64_MAX >> b, lo = -hi - 1;
            if (a > hi || a < lo)
                ok = 0;
            else
                *out = (int64_t)((uint64_t)a << b);
        } else {
            /* An arithmetic shift, spelled so as not to rely on what the C
             * implementation does with a negative operand. */
            *out = a >= 0 ? a >> b : ~(~a >> b);
        }
        break;
    default:
        return 0; /* the parser makes no other operator */
    }
    if (!ok)
        ERR(c, e->loc, "constant expression overflows");
    return ok;
}

/* eval evaluates e, filling in evaluated and value on every node it
 * evaluates. An error is reported where it arises and once only; what
 * depends on a failed part fails quietly. */
static int eval(checker *c, idl_expr *e, int64_t *out)
{
    if (e == NULL)
        return 0;
    if (e->evaluated) {
        *out = e->value;
        return 1;
    }
    if (c->depth >= MAX_EVAL_DEPTH) {
        ERR(c, e->loc, "constant expression is too deeply nested");
        return 0;
    }
    c->depth++;
    int ok = 0;
    int64_t v = 0, a = 0, b = 0;
    switch (e->kind) {
    case IDL_EXPR_NUM:
        if (e->literal > (uint64_t)INT64_MAX)
            ERR(c, e->loc, "integer constant too large");
        else {
            v = (int64_t)e->literal;
            ok = 1;
        }
        break;
    case IDL_EXPR_NAME:
        ok = eval_name(c, e, &v);
        break;
    case IDL_EXPR_UNARY:
        ok = eval(c, e->a, &a) && eval_unary(c, e, a, &v);
        break;
    case IDL_EXPR_BINARY: {
        /* Both sides, so that an error on the right is not hidden by one on
         * the left. */
        int oka = eval(c, e->a, &a);
        int okb = eval(c, e->b, &b);
        ok = oka && okb && eval_binary(c, e, a, b, &v);
        break;
    }
    }
    c->depth--;
    if (ok) {
        e->evaluated = 1;
        e->value = v;
        *out = v;
    }
    return ok;
}

/* check_enum evaluates the members of an enum and rejects an enum with no
 * members or with two members of one value. */
static void check_enum(checker *c, idl_def *d)
{
    size_t n = 0;
    for (idl_enumerator *e = d->u.enm.members; e != NULL; e = e->next)
        n++;
    if (n == 0) {
        ERR(c, d->loc, "enum '%s' has no members", d->name);
        mark_invalid(c, d);
        return;
    }
    idl_enumerator **ens = idl_xcalloc(n, sizeof *ens);
    int64_t *vals = idl_xcalloc(n, sizeof *vals);
    int *valid = idl_xcalloc(n, sizeof *valid);
    size_t *first = idl_xcalloc(n, sizeof *first);
    size_t i = 0;
    for (idl_enumerator *e = d->u.enm.members; e != NULL; e = e->next, i++) {
        ens[i] = e;
        valid[i] = eval_enumerator(c, e, &vals[i]);
        if (!valid[i])
            mark_invalid(c, d);
    }
    find_dups(vals, valid, n, first);
    for (i = 0; i < n; i++) {
        if (first[i] == NONE)
            continue;
        /* rpcgen accepts two names for one value, and .x files use that
         * (nis_object.x); in Parley's own .idl files it is an error */
        if (c->rpcgen_mode)
            idl_warning(c->diag, ens[i]->loc,
                        "duplicate value %" PRId64 " in enum '%s': '%s' and '%s'", vals[i], d->name,
                        ens[first[i]]->name, ens[i]->name);
        else
            ERR(c, ens[i]->loc, "duplicate value %" PRId64 " in enum '%s': '%s' and '%s'", vals[i],
                d->name, ens[first[i]]->name, ens[i]->name);
        NOTE(c, ens[first[i]]->loc, "'%s' declared here", ens[first[i]]->name);
    }
    free(ens);
    free(vals);
    free(valid);
    free(first);
}

/* pass_constants evaluates every expression: constants and enum members
 * first (in any order they need, following the names they use), then array
 * sizes, case values and program, version and procedure numbers. */
static void pass_constants(checker *c)
{
    int64_t v;
    for (idl_def *d = c->spec->defs; d != NULL; d = d->next) {
        if (d->kind == IDL_DEF_CONST)
            eval_const(c, d, &v);
        else if (d->kind == IDL_DEF_ENUM)
            check_enum(c, d);
    }
    for (idl_def *d = c->spec->defs; d != NULL; d = d->next) {
        switch (d->kind) {
        case IDL_DEF_STRUCT:
            for (idl_decl *f = d->u.strct.fields; f != NULL; f = f->next)
                eval_size(c, f->size, &v);
            break;
        case IDL_DEF_UNION:
            if (d->u.un.disc != NULL)
                eval_size(c, d->u.un.disc->size, &v);
            for (idl_case *k = d->u.un.cases; k != NULL; k = k->next) {
                for (idl_case_value *cv = k->values; cv != NULL; cv = cv->next)
                    eval_top(c, cv->value, &v);
                if (k->decl != NULL)
                    eval_size(c, k->decl->size, &v);
            }
            if (d->u.un.dflt != NULL)
                eval_size(c, d->u.un.dflt->size, &v);
            break;
        case IDL_DEF_TYPEDEF:
            if (d->u.tdef.decl != NULL)
                eval_size(c, d->u.tdef.decl->size, &v);
            break;
        case IDL_DEF_PROGRAM:
            for (idl_version *ver = d->u.prog.versions; ver != NULL; ver = ver->next) {
                for (idl_proc *p = ver->procs; p != NULL; p = p->next)
                    eval_number(c, p, p->name, p->loc, p->number, &v);
                eval_number(c, ver, ver->name, ver->loc, ver->number, &v);
            }
            eval_number(c, d, d->name, d->loc, d->u.prog.number, &v);
            break;
        default:
            break;
        }
    }
}

/* ---- pass 4: sizes and declarations -------------------------------------- */

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

/* pass_sizes checks every declaration: array sizes and bounds (filling in
 * decl->bound), the forms string, opaque and void may take, and the types
 * that are not supported. The discriminant of a union is left to
 * pass_unions, which has a stricter rule for it. */
static void pass_sizes(checker *c)
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

/* ---- pass 5: unions ------------------------------------------------------ */

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
    if (k == DISC_ENUM && def_invalid(c, enm))
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
    find_dups(vals, valid, n, first);
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

/* pass_unions checks each union's discriminant and its case values. */
static void pass_unions(checker *c)
{
    for (idl_def *d = c->spec->defs; d != NULL; d = d->next)
        if (d->kind == IDL_DEF_UNION)
            check_union(c, d);
}

/* ---- pass 6: programs ---------------------------------------------------- */

typedef enum attr_place { AT_PROGRAM, AT_VERSION, AT_PROC, AT_OTHER } attr_place;

static const struct {
    const char *name;
    idl_semantics sem;
} semantics_attrs[] = {
    {"idempotent", IDL_SEM_IDEMPOTENT},
    {"at_most_once", IDL_SEM_AT_MOST_ONCE},
    {"exactly_once", IDL_SEM_EXACTLY_ONCE},
};

/* valid_service_name follows the matchmaker's rule (matchmaker.idl): 1 to
 * 64 letters, digits, '_', '.' or '-', the first a letter or a digit, so
 * that every name the IDL accepts can be registered. */
static int valid_service_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
          (s[0] >= '0' && s[0] <= '9')))
        return 0;
    for (; *s; s++) {
        char ch = *s;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return 0;
    }
    return 1;
}

/* check_attrs checks the attributes of one node, returning its delivery
 * semantics (IDL_SEM_DEFAULT when it has none) and, for a program, its
 * @service attribute in *service. */
static idl_semantics check_attrs(checker *c, idl_attr *attrs, attr_place place, idl_attr **service)
{
    idl_attr *sem_attr = NULL;
    size_t sem_index = 0;
    idl_semantics sem = IDL_SEM_DEFAULT;
    for (idl_attr *a = attrs; a != NULL; a = a->next) {
        const char *name = a->name != NULL ? a->name : "";
        if (strcmp(name, "service") == 0) {
            if (place != AT_PROGRAM) {
                ERR(c, a->loc, "attribute '@service' only applies to programs");
            } else if (*service != NULL) {
                ERR(c, a->loc, "duplicate attribute '@service'");
                NOTE(c, (*service)->loc, "%s", note_previous);
            } else if (a->arg == NULL) {
                ERR(c, a->loc,
                    "attribute '@service' requires an argument, as in @service(\"name\")");
            } else if (!valid_service_name(a->arg)) {
                ERR(c, a->arg_loc,
                    "invalid service name '%s': use 1 to 64 letters, digits, '_', '.' or '-', "
                    "beginning with a letter or a digit",
                    a->arg);
            } else {
                *service = a;
            }
            continue;
        }
        size_t i = 0, n = sizeof semantics_attrs / sizeof semantics_attrs[0];
        while (i < n && strcmp(name, semantics_attrs[i].name) != 0)
            i++;
        if (i == n) {
            ERR(c, a->loc, "unknown attribute '@%s'", name);
            continue;
        }
        if (place == AT_OTHER) {
            ERR(c, a->loc, "attribute '@%s' only applies to programs, versions and procedures",
                name);
            continue;
        }
        if (a->arg != NULL) {
            ERR(c, a->arg_loc, "attribute '@%s' takes no argument", name);
            continue;
        }
        if (sem_attr != NULL) {
            const char *prev = semantics_attrs[sem_index].name;
            if (strcmp(prev, name) == 0) {
                ERR(c, a->loc, "duplicate attribute '@%s'", name);
                NOTE(c, sem_attr->loc, "%s", note_previous);
            } else {
                ERR(c, a->loc, "conflicting attributes '@%s' and '@%s'", prev, name);
                NOTE(c, sem_attr->loc, "'@%s' given here", prev);
            }
            continue;
        }
        sem_index = i;
        sem_attr = a;
        sem = semantics_attrs[i].sem;
    }
    return sem;
}

/* number_of reads a program, version or procedure number evaluated by
 * pass_constants, reporting one out of the 32-bit range. */
static int number_of(checker *c, const idl_expr *e, const char *what, const char *name,
                     uint32_t *out)
{
    if (e == NULL || !e->evaluated)
        return 0;
    if (e->value < 0 || e->value > U32_LIMIT) {
        ERR(c, e->loc, "%s number %" PRId64 " of '%s' is out of range (0 to 4294967295)", what,
            e->value, name != NULL ? name : "");
        return 0;
    }
    *out = (uint32_t)e->value;
    return 1;
}

/* Numbered things of one kind (programs, or the versions of a program, or
 * the procedures of a version), for finding duplicate numbers. */
typedef struct numbered_item {
    int valid;
    uint32_t num;
    idl_loc loc;
    const char *name;
} numbered_item;

typedef struct numbered {
    numbered_item *items;
    size_t n, cap;
} numbered;

static void numbered_add(numbered *nb, int valid, uint32_t num, idl_loc loc, const char *name)
{
    nb->items = idl_grow(nb->items, nb->n, &nb->cap, sizeof *nb->items);
    nb->items[nb->n++] = (numbered_item){valid, num, loc, name != NULL ? name : ""};
}

/* report_numbers reports each number used twice, "duplicate <what> number N
 * in <where> 'owner'" (without the "in" part when owner is NULL) with a note
 * at the first use, and empties nb. */
static void report_numbers(checker *c, numbered *nb, const char *what, const char *where,
                           const char *owner)
{
    size_t n = nb->n;
    int64_t *vals = idl_xcalloc(n, sizeof *vals);
    int *valid = idl_xcalloc(n, sizeof *valid);
    size_t *first = idl_xcalloc(n, sizeof *first);
    for (size_t i = 0; i < n; i++) {
        vals[i] = nb->items[i].num;
        valid[i] = nb->items[i].valid;
    }
    find_dups(vals, valid, n, first);
    for (size_t i = 0; i < n; i++) {
        if (first[i] == NONE)
            continue;
        if (owner != NULL)
            ERR(c, nb->items[i].loc, "duplicate %s number %" PRId64 " in %s '%s'", what, vals[i],
                where, owner);
        else
            ERR(c, nb->items[i].loc, "duplicate %s number %" PRId64, what, vals[i]);
        NOTE(c, nb->items[first[i]].loc, "'%s' declared here", nb->items[first[i]].name);
    }
    free(vals);
    free(valid);
    free(first);
    free(nb->items);
    memset(nb, 0, sizeof *nb);
}

static void check_proc(checker *c, idl_proc *p, numbered *procs, idl_semantics inherited)
{
    idl_attr *unused = NULL;
    idl_semantics sem = check_attrs(c, p->attrs, AT_PROC, &unused);
    p->semantics = sem != IDL_SEM_DEFAULT ? sem : inherited;
    uint32_t num = 0;
    int ok = number_of(c, p->number, "procedure", p->name, &num);
    if (ok)
        p->num = num;
    numbered_add(procs, ok, num, p->loc, p->name);
    size_t nargs = 0;
    for (idl_arg *a = p->args; a != NULL; a = a->next)
        nargs++;
    for (idl_arg *a = p->args; nargs > 1 && a != NULL; a = a->next) {
        if (a->type != NULL && a->type->kind == IDL_T_VOID) {
            ERR(c, a->type->loc, "void must be the only argument of '%s'", p->name);
            break;
        }
    }
}

/* The service names taken so far, for finding one used twice. */
typedef struct services {
    idl_map names; /* name -> index into attrs */
    idl_attr **attrs;
    size_t n, cap;
} services;

static void check_program(checker *c, idl_def *d, numbered *progs, services *sv)
{
    idl_attr *service = NULL;
    idl_semantics prog_sem = check_attrs(c, d->attrs, AT_PROGRAM, &service);
    if (service != NULL) {
        size_t i = idl_map_get(&sv->names, service->arg);
        if (i != NONE) {
            ERR(c, service->arg_loc, "duplicate service name '%s'", service->arg);
            NOTE(c, sv->attrs[i]->arg_loc, "%s", note_previous);
        } else {
            d->u.prog.service = service->arg;
            sv->attrs = idl_grow(sv->attrs, sv->n, &sv->cap, sizeof *sv->attrs);
            sv->attrs[sv->n] = service;
            idl_map_put(&sv->names, service->arg, sv->n++);
        }
    }

    numbered vers = {0};
    for (idl_version *v = d->u.prog.versions; v != NULL; v = v->next) {
        idl_attr *unused = NULL;
        idl_semantics ver_sem = check_attrs(c, v->attrs, AT_VERSION, &unused);
        if (ver_sem == IDL_SEM_DEFAULT)
            ver_sem = prog_sem;
        numbered procs = {0};
        for (idl_proc *p = v->procs; p != NULL; p = p->next)
            check_proc(c, p, &procs, ver_sem);
        report_numbers(c, &procs, "procedure", "version", v->name != NULL ? v->name : "");
        uint32_t vnum = 0;
        int vok = number_of(c, v->number, "version", v->name, &vnum);
        if (vok)
            v->num = vnum;
        numbered_add(&vers, vok, vnum, v->loc, v->name);
    }
    report_numbers(c, &vers, "version", "program", d->name != NULL ? d->name : "");

    /* The number comes last in the source, so it is checked last. */
    uint32_t num = 0;
    int ok = number_of(c, d->u.prog.number, "program", d->name, &num);
    if (ok)
        d->u.prog.num = num;
    numbered_add(progs, ok, num, d->loc, d->name);
}

/* pass_programs checks program, version and procedure numbers (filling in
 * num), procedure arguments, and the attributes of every definition (filling
 * in the service name and each procedure's semantics). */
static void pass_programs(checker *c)
{
    numbered progs = {0};
    services sv = {.names = {.strings = 1}};
    for (idl_def *d = c->spec->defs; d != NULL; d = d->next) {
        if (d->kind == IDL_DEF_PROGRAM) {
            check_program(c, d, &progs, &sv);
        } else {
            idl_attr *unused = NULL;
            check_attrs(c, d->attrs, AT_OTHER, &unused);
        }
    }
    report_numbers(c, &progs, "program", NULL, NULL);
    idl_map_free(&sv.names);
    free(sv.attrs);

    /* A procedure kept across versions must keep its number. */
    for (size_t i = 0; i < c->naliases; i++) {
        const proc_alias *al = &c->aliases[i];
        const idl_expr *a = al->proc->number, *b = al->first->number;
        if (a == NULL || b == NULL || !a->evaluated || !b->evaluated || a->value == b->value)
            continue;
        ERR(c, al->proc->loc,
            "procedure '%s' has number %" PRId64 " here but %" PRId64 " in version '%s'",
            al->proc->name, a->value, b->value, al->first_ver->name ? al->first_ver->name : "");
        NOTE(c, al->first->loc, "%s", note_previous);
    }
}

/* ---- pass 7: recursion --------------------------------------------------- */

/* The type graph: a node per struct, union and typedef, an edge per
 * declaration naming another of them. An edge is direct when the value is
 * contained (a scalar or a fixed array) and indirect through '*' or '<>'. */
typedef struct edge {
    size_t from, to;
    int direct;
    const idl_decl *decl;
} edge;

typedef struct graph {
    idl_def **nodes;
    size_t n;
    size_t *start; /* edges of node i: edges[start[i] .. start[i+1]) */
    edge *edges;
    size_t nedges, capedges;
    idl_map index; /* idl_def -> node */
} graph;

static void graph_edge(graph *g, size_t from, const idl_decl *d)
{
    if (d == NULL || d->kind == IDL_D_VOID || d->type == NULL || d->type->kind != IDL_T_NAMED)
        return;
    size_t to = idl_map_get(&g->index, d->type->ref);
    if (to == NONE)
        return;
    g->edges = idl_grow(g->edges, g->nedges, &g->capedges, sizeof *g->edges);
    g->edges[g->nedges++] = (edge){from, to, d->kind == IDL_D_SCALAR || d->kind == IDL_D_FIXED, d};
}

static void graph_build(checker *c, graph *g)
{
    memset(g, 0, sizeof *g);
    size_t cap = 0;
    for (idl_def *d = c->spec->defs; d != NULL; d = d->next) {
        if (d->kind != IDL_DEF_STRUCT && d->kind != IDL_DEF_UNION && d->kind != IDL_DEF_TYPEDEF)
            continue;
        g->nodes = idl_grow(g->nodes, g->n, &cap, sizeof *g->nodes);
        idl_map_put(&g->index, d, g->n);
        g->nodes[g->n++] = d;
    }
    g->start = idl_xcalloc(g->n + 1, sizeof *g->start);
    for (size_t i = 0; i < g->n; i++) {
        idl_def *d = g->nodes[i];
        g->start[i] = g->nedges;
        if (d->kind == IDL_DEF_STRUCT) {
            for (idl_decl *f = d->u.strct.fields; f != NULL; f = f->next)
                graph_edge(g, i, f);
        } else if (d->kind == IDL_DEF_UNION) {
            /* Not the discriminant: one naming a struct is already an error. */
            for (idl_case *k = d->u.un.cases; k != NULL; k = k->next)
                graph_edge(g, i, k->decl);
            graph_edge(g, i, d->u.un.dflt);
        } else {
            graph_edge(g, i, d->u.tdef.decl);
        }
    }
    g->start[g->n] = g->nedges;
}

static void graph_free(graph *g)
{
    free(g->nodes);
    free(g->start);
    free(g->edges);
    idl_map_free(&g->index);
}

/* scc numbers the strongly connected components of the graph (using the
 * direct edges only, or all), writing each node's component to comp and
 * setting cyclic[component] when the component contains a cycle: more than
 * one node, or an edge from its node to itself. Tarjan's algorithm, run with
 * an explicit stack so that a long chain of typedefs cannot exhaust the C
 * stack. Returns the number of components. */
static size_t scc(const graph *g, int direct_only, size_t *comp, int *cyclic)
{
    size_t n = g->n, counter = 0, ncomp = 0;
    size_t *idx = idl_xcalloc(n, sizeof *idx); /* 0: unvisited, else visit order + 1 */
    size_t *low = idl_xcalloc(n, sizeof *low);
    int *on = idl_xcalloc(n, sizeof *on);
    size_t *stack = idl_xcalloc(n, sizeof *stack);
    size_t *call = idl_xcalloc(n, sizeof *call); /* DFS path: the node */
    size_t *pos = idl_xcalloc(n, sizeof *pos);   /* and its next edge */
    size_t sp = 0;
    for (size_t root = 0; root < n; root++) {
        if (idx[root] != 0)
            continue;
        size_t depth = 0;
        call[depth] = root;
        pos[depth] = g->start[root];
        idx[root] = low[root] = ++counter;
        stack[sp++] = root;
        on[root] = 1;
        while (1) {
            size_t u = call[depth];
            if (pos[depth] < g->start[u + 1]) {
                const edge *e = &g->edges[pos[depth]++];
                if (direct_only && !e->direct)
                    continue;
                size_t v = e->to;
                if (idx[v] == 0) {
                    depth++;
                    call[depth] = v;
                    pos[depth] = g->start[v];
                    idx[v] = low[v] = ++counter;
                    stack[sp++] = v;
                    on[v] = 1;
                } else if (on[v] && idx[v] < low[u]) {
                    low[u] = idx[v];
                }
                continue;
            }
            if (low[u] == idx[u]) {
                size_t size = 0, w;
                do {
                    w = stack[--sp];
                    on[w] = 0;
                    comp[w] = ncomp;
                    size++;
                } while (w != u);
                cyclic[ncomp] = size > 1;
                ncomp++;
            }
            if (depth == 0)
                break;
            depth--;
            size_t parent = call[depth];
            if (low[u] < low[parent])
                low[parent] = low[u];
        }
    }
    for (size_t u = 0; u < n; u++)
        for (size_t i = g->start[u]; i < g->start[u + 1]; i++)
            if (g->edges[i].to == u && (!direct_only || g->edges[i].direct))
                cyclic[comp[u]] = 1;
    free(idx);
    free(low);
    free(on);
    free(stack);
    free(call);
    free(pos);
    return ncomp;
}

static void note_edge(checker *c, const graph *g, const edge *e)
{
    const idl_def *d = g->nodes[e->from];
    const char *to = g->nodes[e->to]->name;
    const char *member = e->decl->name != NULL ? e->decl->name : "";
    if (d->kind == IDL_DEF_STRUCT)
        NOTE(c, e->decl->name_loc, "'%s' contains '%s' in field '%s'", d->name, to, member);
    else if (d->kind == IDL_DEF_UNION)
        NOTE(c, e->decl->name_loc, "'%s' contains '%s' in arm '%s'", d->name, to, member);
    else
        NOTE(c, e->decl->loc, "'%s' contains '%s'", d->name, to);
}

/* report_direct_cycle reports that node s contains itself, with a note for
 * each step of a shortest cycle through it (found breadth-first over the
 * direct edges within its component). */
static void report_direct_cycle(checker *c, const graph *g, size_t s, const size_t *comp)
{
    size_t n = g->n;
    size_t *via = idl_xcalloc(n, sizeof *via); /* edge that reached the node, or NONE */
    size_t *queue = idl_xcalloc(n, sizeof *queue);
    for (size_t i = 0; i < n; i++)
        via[i] = NONE;
    size_t head = 0, tail = 0, last = NONE; /* last: edge closing the cycle */
    queue[tail++] = s;
    while (head < tail && last == NONE) {
        size_t u = queue[head++];
        for (size_t i = g->start[u]; i < g->start[u + 1]; i++) {
            const edge *e = &g->edges[i];
            if (!e->direct || comp[e->to] != comp[s])
                continue;
            if (e->to == s) {
                last = i;
                break;
            }
            if (via[e->to] == NONE) {
                via[e->to] = i;
                queue[tail++] = e->to;
            }
        }
    }
    ERR(c, g->nodes[s]->loc, "'%s' contains itself without indirection (use '*' or '<>')",
        g->nodes[s]->name);
    if (last != NONE) {
        /* Walk back from the closing edge to s, then note the steps in
         * order from s. */
        size_t len = 0;
        size_t *path = idl_xcalloc(n + 1, sizeof *path);
        for (size_t i = last;; i = via[g->edges[i].from]) {
            path[len++] = i;
            if (g->edges[i].from == s)
                break;
        }
        while (len > 0)
            note_edge(c, g, &g->edges[path[--len]]);
        free(path);
    }
    free(via);
    free(queue);
}

/* pass_recursion rejects types that contain themselves without
 * indirection, then fills in recursive (on a cycle through indirection) and
 * list_tail (a struct whose last field points to the struct itself). */
static void pass_recursion(checker *c)
{
    graph g;
    graph_build(c, &g);
    size_t *comp = idl_xcalloc(g.n, sizeof *comp);
    int *cyclic = idl_xcalloc(g.n, sizeof *cyclic);
    int *reported = idl_xcalloc(g.n, sizeof *reported);

    scc(&g, 1, comp, cyclic);
    for (size_t u = 0; u < g.n; u++) { /* nodes are in source order */
        if (!cyclic[comp[u]])
            continue;
        if (!reported[comp[u]]) {
            reported[comp[u]] = 1;
            report_direct_cycle(c, &g, u, comp);
        }
    }

    memset(cyclic, 0, g.n * sizeof *cyclic);
    scc(&g, 0, comp, cyclic);
    for (size_t u = 0; u < g.n; u++)
        g.nodes[u]->recursive = cyclic[comp[u]];

    for (size_t u = 0; u < g.n; u++) {
        idl_def *d = g.nodes[u];
        if (d->kind != IDL_DEF_STRUCT || d->u.strct.fields == NULL)
            continue;
        const idl_decl *last = d->u.strct.fields;
        while (last->next != NULL)
            last = last->next;
        /* the link is `S *next`, or a typedef of S * (`typedef struct S *Sp;`
         * then `Sp next`: the RFC 1813 mount protocol's idiom) */
        const idl_def *link = NULL;
        if (last->kind == IDL_D_OPTIONAL && last->type != NULL) {
            link = idl_resolve_type(last->type);
        } else if (last->kind == IDL_D_SCALAR && last->type != NULL &&
                   last->type->kind == IDL_T_NAMED) {
            const idl_def *t = idl_resolve_type(last->type);
            if (t != NULL && t->kind == IDL_DEF_TYPEDEF && t->u.tdef.decl->kind == IDL_D_OPTIONAL &&
                t->u.tdef.decl->type != NULL)
                link = idl_resolve_type(t->u.tdef.decl->type);
        }
        d->list_tail = link == d;
    }
    free(comp);
    free(cyclic);
    free(reported);
    graph_free(&g);
}

/* ---- entry points -------------------------------------------------------- */

/* next_typedef returns the definition a typedef of a plain named type
 * stands for, or NULL when d is not such a typedef. */
static idl_def *next_typedef(const idl_def *d)
{
    if (d->kind != IDL_DEF_TYPEDEF)
        return NULL;
    const idl_decl *decl = d->u.tdef.decl;
    if (decl == NULL || decl->kind != IDL_D_SCALAR || decl->type == NULL ||
        decl->type->kind != IDL_T_NAMED)
        return NULL;
    return decl->type->ref;
}

/* idl_resolve_type follows plain typedefs of names from t. It stays finite
 * on a typedef cycle (reported by the checks, but it is also called while
 * they run): the slow pointer moves at half speed, and meeting it means a
 * loop, where any member serves as the answer. */
idl_def *idl_resolve_type(const idl_type *t)
{
    if (t == NULL || t->kind != IDL_T_NAMED || t->ref == NULL)
        return NULL;
    idl_def *d = t->ref, *slow = t->ref;
    int step = 0;
    for (idl_def *next; (next = next_typedef(d)) != NULL;) {
        d = next;
        if (step++ & 1)
            slow = next_typedef(slow);
        if (d == slow)
            break;
    }
    return d;
}

/* idl_check runs the passes in order; see check.h. Every pass runs even
 * when an earlier one reported errors, so that one run shows them all. */
int idl_check(idl_spec *spec, idl_diag *diag)
{
    if (spec == NULL)
        return 0;
    checker c = {.spec = spec, .diag = diag};
    c.names.strings = 1;
    size_t flen = spec->file != NULL ? strlen(spec->file) : 0;
    c.rpcgen_mode = flen >= 2 && strcmp(spec->file + flen - 2, ".x") == 0;
    c.arena = spec->arena;
    for (idl_def *d = spec->defs; d != NULL; d = d->next) {
        if (d->kind == IDL_DEF_PASSTHRU)
            continue;
        info_add(&c, d);
        if (d->kind == IDL_DEF_PROGRAM) {
            for (idl_version *v = d->u.prog.versions; v != NULL; v = v->next) {
                info_add(&c, v);
                for (idl_proc *p = v->procs; p != NULL; p = p->next)
                    info_add(&c, p);
            }
        }
        if (d->kind == IDL_DEF_ENUM) {
            idl_enumerator *prev = NULL;
            for (idl_enumerator *e = d->u.enm.members; e != NULL; e = e->next) {
                info_add(&c, e)->prev = prev;
                prev = e;
            }
        }
    }

    pass_names(&c);
    pass_resolve(&c);
    pass_constants(&c);
    pass_sizes(&c);
    pass_unions(&c);
    pass_programs(&c);
    pass_recursion(&c);

    idl_map_free(&c.names);
    idl_map_free(&c.infomap);
    idl_map_free(&c.bad_exprs);
    idl_map_free(&c.numbered_names);
    free(c.syms);
    free(c.aliases);
    free(c.infos);
    free(c.frames);
    return c.errors;
}
