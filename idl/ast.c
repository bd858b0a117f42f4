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
