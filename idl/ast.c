/*
 * idl/ast.c: the arena every AST node lives in, and the node builders the
 * parser's actions call.
 *
 * The generator is a short-lived command-line program: it builds one tree,
 * checks it, emits C and exits. One arena makes every node's lifetime the
 * tree's, so no action or error path in the parser has to free anything.
 */
#include "ast.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ARENA_CHUNK = 64 * 1024 };

typedef struct arena_block {
    struct arena_block *next;
    size_t used;
    size_t size;
    max_align_t data[];
} arena_block;

struct idl_arena {
    arena_block *head;
};

/* idl_arena_create returns an empty arena, or NULL when out of memory. */
idl_arena *idl_arena_create(void)
{
    return calloc(1, sizeof(idl_arena));
}

/* idl_arena_destroy frees the arena and everything allocated from it;
 * NULL is a no-op. */
void idl_arena_destroy(idl_arena *a)
{
    if (!a)
        return;
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}

/* idl_arena_alloc returns n zeroed, suitably aligned bytes. Running out of
 * memory while compiling an IDL file is not recoverable in any useful way,
 * so it reports and exits rather than making every builder fallible. */
void *idl_arena_alloc(idl_arena *a, size_t n)
{
    const size_t align = sizeof(max_align_t);
    n = (n + align - 1) & ~(align - 1);
    arena_block *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        b = malloc(sizeof(arena_block) + size);
        if (!b) {
            fputs("parleygen: out of memory\n", stderr);
            exit(2);
        }
        b->size = size;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

/* idl_arena_strndup copies n bytes of s and a terminating NUL into the arena. */
char *idl_arena_strndup(idl_arena *a, const char *s, size_t n)
{
    char *d = idl_arena_alloc(a, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* idl_arena_strdup copies the NUL-terminated s into the arena. */
char *idl_arena_strdup(idl_arena *a, const char *s)
{
    return idl_arena_strndup(a, s, strlen(s));
}

/* idl_expr_num builds a literal. */
idl_expr *idl_expr_num(idl_arena *a, idl_loc loc, const char *text, uint64_t v)
{
    idl_expr *e = idl_arena_alloc(a, sizeof *e);
    e->kind = IDL_EXPR_NUM;
    e->loc = loc;
    e->text = text;
    e->literal = v;
    return e;
}

/* idl_expr_name builds a reference to a constant or enum member. */
idl_expr *idl_expr_name(idl_arena *a, idl_loc loc, const char *name)
{
    idl_expr *e = idl_arena_alloc(a, sizeof *e);
    e->kind = IDL_EXPR_NAME;
    e->loc = loc;
    e->text = name;
    return e;
}

/* idl_expr_unary builds `op x`. */
idl_expr *idl_expr_unary(idl_arena *a, idl_loc loc, int op, idl_expr *x)
{
    idl_expr *e = idl_arena_alloc(a, sizeof *e);
    e->kind = IDL_EXPR_UNARY;
    e->loc = loc;
    e->op = op;
    e->a = x;
    return e;
}

/* idl_expr_binary builds `x op y`; loc is the operator's. */
idl_expr *idl_expr_binary(idl_arena *a, idl_loc loc, int op, idl_expr *x, idl_expr *y)
{
    idl_expr *e = idl_arena_alloc(a, sizeof *e);
    e->kind = IDL_EXPR_BINARY;
    e->loc = loc;
    e->op = op;
    e->a = x;
    e->b = y;
    return e;
}

/* idl_type_new builds a type reference; name only for IDL_T_NAMED. */
idl_type *idl_type_new(idl_arena *a, idl_loc loc, idl_type_kind kind, const char *name)
{
    idl_type *t = idl_arena_alloc(a, sizeof *t);
    t->kind = kind;
    t->loc = loc;
    t->name = name;
    return t;
}

/* idl_decl_new builds a declaration. */
idl_decl *idl_decl_new(idl_arena *a, idl_decl_kind kind, idl_loc loc, idl_type *type,
                       idl_loc name_loc, const char *name, idl_expr *size)
{
    idl_decl *d = idl_arena_alloc(a, sizeof *d);
    d->kind = kind;
    d->loc = loc;
    d->type = type;
    d->name_loc = name_loc;
    d->name = name;
    d->size = size;
    return d;
}

/* idl_def_new builds a definition of the given kind. */
idl_def *idl_def_new(idl_arena *a, idl_def_kind kind, idl_loc loc, const char *name)
{
    idl_def *d = idl_arena_alloc(a, sizeof *d);
    d->kind = kind;
    d->loc = loc;
    d->name = name;
    return d;
}

/* idl_type_tagged builds a reference written with its keyword, `struct x`,
 * `union x` or `enum x` (tag is IDL_DEF_STRUCT, _UNION or _ENUM). */
idl_type *idl_type_tagged(idl_arena *a, idl_loc loc, idl_def_kind tag, const char *name)
{
    idl_type *t = idl_type_new(a, loc, IDL_T_NAMED, name);
    t->tagged = 1;
    t->tag = tag;
    return t;
}

/* idl_type_inline wraps an inline enum, struct or union definition in a
 * type reference; hoist_inline() in parse.c names and places it. */
idl_type *idl_type_inline(idl_arena *a, idl_loc loc, idl_def *def)
{
    def->synthesized = 1;
    idl_type *t = idl_type_new(a, loc, IDL_T_NAMED, NULL);
    t->ref = def;
    return t;
}

/* idl_const_new builds `const name = value;`. */
idl_def *idl_const_new(idl_arena *a, idl_loc loc, const char *name, idl_expr *value)
{
    idl_def *d = idl_def_new(a, IDL_DEF_CONST, loc, name);
    d->u.cnst.value = value;
    return d;
}

/* idl_const_string builds rpcgen's `const name = "text";`, keeping the text
 * with its quotes for the #define. */
idl_def *idl_const_string(idl_arena *a, idl_loc loc, const char *name, const char *text)
{
    idl_def *d = idl_def_new(a, IDL_DEF_CONST, loc, name);
    size_t n = strlen(text);
    char *q = idl_arena_alloc(a, n + 3);
    q[0] = '"';
    memcpy(q + 1, text, n);
    q[n + 1] = '"';
    d->u.cnst.str = q;
    return d;
}

/* idl_typedef_new builds `typedef decl;`, named and placed at the name the
 * declaration gives (or at the declaration, when the parser lost it). */
idl_def *idl_typedef_new(idl_arena *a, idl_decl *decl)
{
    idl_def *d = idl_def_new(a, IDL_DEF_TYPEDEF, decl->name ? decl->name_loc : decl->loc,
                             decl->name ? decl->name : "");
    d->u.tdef.decl = decl;
    return d;
}

/* idl_enum_new builds an enum; name is NULL for an inline one. */
idl_def *idl_enum_new(idl_arena *a, idl_loc loc, const char *name, idl_enumerator *members)
{
    idl_def *d = idl_def_new(a, IDL_DEF_ENUM, loc, name);
    d->u.enm.members = members;
    return d;
}

/* idl_struct_new builds a struct; name is NULL for an inline one. */
idl_def *idl_struct_new(idl_arena *a, idl_loc loc, const char *name, idl_decl *fields)
{
    idl_def *d = idl_def_new(a, IDL_DEF_STRUCT, loc, name);
    d->u.strct.fields = fields;
    return d;
}

/* idl_union_new builds a union; name is NULL for an inline one, dflt NULL
 * when there is no default arm. */
idl_def *idl_union_new(idl_arena *a, idl_loc loc, const char *name, idl_decl *disc, idl_case *cases,
                       idl_decl *dflt, idl_loc dflt_loc)
{
    idl_def *d = idl_def_new(a, IDL_DEF_UNION, loc, name);
    d->u.un.disc = disc;
    d->u.un.cases = cases;
    d->u.un.dflt = dflt;
    d->u.un.dflt_loc = dflt_loc;
    return d;
}

/* idl_program_new builds `program name { versions } = number;`. */
idl_def *idl_program_new(idl_arena *a, idl_loc loc, const char *name, idl_version *versions,
                         idl_expr *number)
{
    idl_def *d = idl_def_new(a, IDL_DEF_PROGRAM, loc, name);
    d->u.prog.versions = versions;
    d->u.prog.number = number;
    return d;
}

/* idl_def_with_attrs gives def the attributes written before it and
 * returns it. */
idl_def *idl_def_with_attrs(idl_def *def, idl_attr *attrs)
{
    def->attrs = attrs;
    return def;
}

/* idl_enumerator_new builds an enum member; value is NULL when none is
 * written. */
idl_enumerator *idl_enumerator_new(idl_arena *a, idl_loc loc, const char *name, idl_expr *value)
{
    idl_enumerator *e = idl_arena_alloc(a, sizeof *e);
    e->loc = loc;
    e->name = name;
    e->value = value;
    return e;
}

/* idl_case_new builds one `case v: [case w:] decl;` group of a union. */
idl_case *idl_case_new(idl_arena *a, idl_loc loc, idl_case_value *values, idl_decl *decl)
{
    idl_case *c = idl_arena_alloc(a, sizeof *c);
    c->loc = loc;
    c->values = values;
    c->decl = decl;
    return c;
}

/* idl_case_value_new builds one value of a case group. */
idl_case_value *idl_case_value_new(idl_arena *a, idl_expr *value)
{
    idl_case_value *v = idl_arena_alloc(a, sizeof *v);
    v->value = value;
    return v;
}

/* idl_version_new builds `version name { procs } = number;`. */
idl_version *idl_version_new(idl_arena *a, idl_loc loc, const char *name, idl_proc *procs,
                             idl_expr *number, idl_attr *attrs)
{
    idl_version *v = idl_arena_alloc(a, sizeof *v);
    v->loc = loc;
    v->name = name;
    v->procs = procs;
    v->number = number;
    v->attrs = attrs;
    return v;
}

/* idl_proc_new builds `result name(args) = number;`, counting the
 * arguments into nargs: a lone void counts as none (a void among others is
 * left to the checks). */
idl_proc *idl_proc_new(idl_arena *a, idl_loc loc, const char *name, idl_type *result, idl_arg *args,
                       idl_expr *number, idl_attr *attrs)
{
    idl_proc *p = idl_arena_alloc(a, sizeof *p);
    p->loc = loc;
    p->name = name;
    p->result = result;
    p->args = args;
    for (const idl_arg *g = args; g; g = g->next)
        p->nargs++;
    if (p->nargs == 1 && args->type->kind == IDL_T_VOID)
        p->nargs = 0;
    p->number = number;
    p->attrs = attrs;
    return p;
}

/* idl_arg_new builds one argument of a procedure. */
idl_arg *idl_arg_new(idl_arena *a, idl_type *type)
{
    idl_arg *g = idl_arena_alloc(a, sizeof *g);
    g->type = type;
    return g;
}

/* idl_attr_new builds `@name` (arg NULL) or `@name(arg)`. */
idl_attr *idl_attr_new(idl_arena *a, idl_loc loc, const char *name, const char *arg,
                       idl_loc arg_loc)
{
    idl_attr *t = idl_arena_alloc(a, sizeof *t);
    t->loc = loc;
    t->name = name;
    t->arg = arg;
    t->arg_loc = arg_loc;
    return t;
}

/* idl_type_kind_name names a type kind as the IDL spells it. */
const char *idl_type_kind_name(idl_type_kind k)
{
    switch (k) {
    case IDL_T_INT:
        return "int";
    case IDL_T_UINT:
        return "unsigned int";
    case IDL_T_HYPER:
        return "hyper";
    case IDL_T_UHYPER:
        return "unsigned hyper";
    case IDL_T_FLOAT:
        return "float";
    case IDL_T_DOUBLE:
        return "double";
    case IDL_T_QUAD:
        return "quadruple";
    case IDL_T_BOOL:
        return "bool";
    case IDL_T_VOID:
        return "void";
    case IDL_T_STRING:
        return "string";
    case IDL_T_OPAQUE:
        return "opaque";
    case IDL_T_CHAR:
        return "char";
    case IDL_T_UCHAR:
        return "unsigned char";
    case IDL_T_SHORT:
        return "short";
    case IDL_T_USHORT:
        return "unsigned short";
    case IDL_T_LONG:
        return "long";
    case IDL_T_ULONG:
        return "unsigned long";
    case IDL_T_NAMED:
        return "named type";
    }
    return "?";
}

/* idl_def_kind_name names a definition kind as the IDL spells it. */
const char *idl_def_kind_name(idl_def_kind k)
{
    switch (k) {
    case IDL_DEF_CONST:
        return "constant";
    case IDL_DEF_ENUM:
        return "enum";
    case IDL_DEF_STRUCT:
        return "struct";
    case IDL_DEF_UNION:
        return "union";
    case IDL_DEF_TYPEDEF:
        return "typedef";
    case IDL_DEF_PROGRAM:
        return "program";
    case IDL_DEF_PASSTHRU:
        return "pass-through line";
    }
    return "?";
}
