/*
 * idl/ast.h: the abstract syntax tree of a Parley IDL file.
 *
 * The parser builds it (through the builders in ast.c), the checks in
 * check.c resolve and validate it, and the emitters in generator/ walk it.
 * Every node lives in one arena (idl_arena) and is freed with it in one go;
 * nothing in the tree is freed on its own. Lists are singly linked through
 * `next` in declaration order. Every node carries the location of its first
 * token, for diagnostics.
 */
#ifndef PARLEY_IDL_AST_H
#define PARLEY_IDL_AST_H

#include <stddef.h>
#include <stdint.h>

/* A source position: file name (owned by the arena), 1-based line and column
 * (columns count bytes; a tab is one column). order is 1 + the byte offset of
 * the position in the preprocessed text, or 0 when unknown: diagnostics are
 * printed sorted by it, so in the order of the text however the passes that
 * found them ran. */
typedef struct idl_loc {
    const char *file;
    int line;
    int col;
    size_t order;
} idl_loc;

/* ---- arena ------------------------------------------------------------ */

typedef struct idl_arena idl_arena;

idl_arena *idl_arena_create(void);
void idl_arena_destroy(idl_arena *a);
/* idl_arena_alloc returns n zeroed bytes that live as long as the arena; it
 * aborts the program if memory runs out (the generator is a command-line
 * tool; see arena.c). */
void *idl_arena_alloc(idl_arena *a, size_t n);
char *idl_arena_strdup(idl_arena *a, const char *s);
char *idl_arena_strndup(idl_arena *a, const char *s, size_t n);

/* ---- constant expressions --------------------------------------------- */

typedef enum idl_expr_kind {
    IDL_EXPR_NUM,   /* a literal: value, and text as written */
    IDL_EXPR_NAME,  /* a constant or enum member: name */
    IDL_EXPR_UNARY, /* op a: op is one of '-', '+', '~', '!' */
    IDL_EXPR_BINARY /* a op b: op is one of + - * / % & | ^ and IDL_OP_* */
} idl_expr_kind;

/* Binary operators that are more than one character. */
enum { IDL_OP_SHL = 256, IDL_OP_SHR };

typedef struct idl_expr {
    idl_expr_kind kind;
    idl_loc loc;
    int op;
    const char *text;   /* NUM: the literal's spelling; NAME: the name */
    uint64_t literal;   /* NUM: its value (literals are non-negative) */
    int bad;            /* NUM: the literal was invalid and reported (value 0) */
    int unparsed;       /* NAME: defined by a definition that did not parse */
    struct idl_expr *a; /* UNARY, BINARY */
    struct idl_expr *b; /* BINARY */
    /* Filled in by the checks. */
    int evaluated;                   /* 1 once value is known and valid */
    int64_t value;                   /* the value, when evaluated */
    struct idl_def *ref;             /* NAME: the const definition it names, or ... */
    struct idl_enumerator *enum_ref; /* NAME: ... the enum member it names */
    int external;                    /* NAME: not defined in a .x file, so taken to be a
                                        C constant defined elsewhere (see docs/idl.md) */
} idl_expr;

/* ---- types and declarations -------------------------------------------- */

typedef enum idl_def_kind {
    IDL_DEF_CONST,
    IDL_DEF_ENUM,
    IDL_DEF_STRUCT,
    IDL_DEF_UNION,
    IDL_DEF_TYPEDEF,
    IDL_DEF_PROGRAM,
    IDL_DEF_PASSTHRU /* a `%` line: text after the % */
} idl_def_kind;

typedef enum idl_type_kind {
    IDL_T_INT,  /* int */
    IDL_T_UINT, /* unsigned int, unsigned */
    IDL_T_HYPER,
    IDL_T_UHYPER,
    IDL_T_FLOAT,
    IDL_T_DOUBLE,
    IDL_T_QUAD, /* quadruple: parsed, reported as unsupported */
    IDL_T_BOOL,
    IDL_T_VOID,
    IDL_T_STRING, /* only in declarations of the form string name<n> */
    IDL_T_OPAQUE, /* only in declarations of the form opaque name[n] or <n> */
    IDL_T_CHAR,   /* rpcgen's char, unsigned char, short, unsigned short: */
    IDL_T_UCHAR,  /* four bytes on the wire, range-checked when decoded */
    IDL_T_SHORT,
    IDL_T_USHORT,
    IDL_T_LONG,  /* rpcgen's long and unsigned long: C long, four bytes */
    IDL_T_ULONG, /* on the wire, range-checked when encoded */
    IDL_T_NAMED  /* a name: a typedef, struct, union or enum (`struct x` too) */
} idl_type_kind;

typedef struct idl_type {
    idl_type_kind kind;
    idl_loc loc;
    const char *name;    /* NAMED: the name as written */
    int tagged;          /* NAMED: written as `struct x`, `union x` or `enum x` */
    idl_def_kind tag;    /* NAMED and tagged: IDL_DEF_STRUCT, _UNION or _ENUM */
    struct idl_def *ref; /* NAMED: the definition, filled in by the checks */
    const char *cname;   /* a built-in kind written with a C type name
                            (uint32_t, u_char, ...): that name, for the C */
} idl_type;

typedef enum idl_decl_kind {
    IDL_D_SCALAR,   /* type name */
    IDL_D_FIXED,    /* type name[size] (opaque name[size]) */
    IDL_D_VAR,      /* type name<size> or type name<> (string, opaque too) */
    IDL_D_OPTIONAL, /* type *name */
    IDL_D_VOID      /* void */
} idl_decl_kind;

/* A declaration: a struct field, a union arm, the body of a typedef. */
typedef struct idl_decl {
    struct idl_decl *next;
    idl_decl_kind kind;
    idl_loc loc;      /* of the type */
    idl_loc name_loc; /* of the name */
    idl_type *type;   /* NULL for IDL_D_VOID */
    const char *name; /* NULL for IDL_D_VOID */
    idl_expr *size;   /* FIXED: required; VAR: NULL for <> (no bound) */
    /* Filled in by the checks: the bound, or 0xffffffff for <>. */
    uint32_t bound;
    const char *bound_text; /* a size that is an external C constant (.x
                               files): its name, and bound is then unknown */
} idl_decl;

/* ---- definitions ------------------------------------------------------ */

typedef struct idl_enumerator {
    struct idl_enumerator *next;
    idl_loc loc;
    const char *name;
    idl_expr *value;       /* NULL: one more than the previous (an extension) */
    struct idl_def *owner; /* filled in by the checks */
    int64_t ivalue;        /* filled in by the checks */
} idl_enumerator;

/* One `case v1: case v2: decl;` group of a union. */
typedef struct idl_case_value {
    struct idl_case_value *next;
    idl_expr *value;
} idl_case_value;

typedef struct idl_case {
    struct idl_case *next;
    idl_loc loc;
    idl_case_value *values;
    idl_decl *decl; /* IDL_D_VOID for `void` */
} idl_case;

/* Per-procedure delivery semantics (an extension, see docs/idl.md). */
typedef enum idl_semantics {
    IDL_SEM_DEFAULT = 0, /* as the version or program says, else at-most-once */
    IDL_SEM_IDEMPOTENT,
    IDL_SEM_AT_MOST_ONCE,
    IDL_SEM_EXACTLY_ONCE
} idl_semantics;

/* An extension annotation: @name or @name(argument). */
typedef struct idl_attr {
    struct idl_attr *next;
    idl_loc loc;
    const char *name;
    const char *arg; /* a string literal's contents, an identifier or number text; or NULL */
    idl_loc arg_loc;
} idl_attr;

/* A procedure's argument: a type (void for none). */
typedef struct idl_arg {
    struct idl_arg *next;
    idl_type *type;
} idl_arg;

typedef struct idl_proc {
    struct idl_proc *next;
    idl_loc loc; /* of the name */
    const char *name;
    idl_type *result; /* IDL_T_VOID for void */
    idl_arg *args;    /* one IDL_T_VOID arg for (void) */
    int nargs;        /* 0 for (void) */
    idl_expr *number;
    idl_attr *attrs;
    idl_semantics semantics; /* filled in by the checks */
    uint32_t num;            /* filled in by the checks */
} idl_proc;

typedef struct idl_version {
    struct idl_version *next;
    idl_loc loc;
    const char *name;
    idl_proc *procs;
    idl_expr *number;
    idl_attr *attrs;
    uint32_t num; /* filled in by the checks */
} idl_version;

typedef struct idl_def {
    struct idl_def *next;
    idl_def_kind kind;
    idl_loc loc;      /* of the name (PASSTHRU: of the %) */
    const char *name; /* NULL for PASSTHRU */
    idl_attr *attrs;  /* extension annotations before the definition */
    int synthesized;  /* made by the parser for an inline type (RFC 4506
                         allows `struct { ... } x;` in a declaration) */
    int recovered;    /* parts of it were dropped after a syntax error (an
                         enum's members): the checks say nothing of what
                         may be missing */
    union {
        struct {
            idl_expr *value; /* NULL for a string constant */
            const char *str; /* a string constant's literal, quotes included */
        } cnst;
        struct {
            idl_enumerator *members;
        } enm;
        struct {
            idl_decl *fields;
        } strct;
        struct {
            idl_decl *disc; /* the discriminant declaration */
            idl_case *cases;
            idl_decl *dflt; /* NULL when there is no default arm */
            idl_loc dflt_loc;
        } un;
        struct {
            idl_decl *decl;
        } tdef; /* decl->name is the new name */
        struct {
            idl_version *versions;
            idl_expr *number;
            uint32_t num;        /* filled in by the checks */
            const char *service; /* @service("name"), filled in by the checks */
        } prog;
        struct {
            const char *text;
        } pass;
    } u;
    /* Filled in by the checks. */
    int recursive;      /* part of a cycle of types (through indirection) */
    int list_tail;      /* STRUCT: its last field is an optional pointer to
                           the struct itself, so codecs loop along it */
    int external;       /* STRUCT made by the checks for a type defined
                           outside the IDL (netobj, or an undefined name in
                           a .x file): no fields; its codec functions have
                           the usual names and are defined elsewhere */
    const char *header; /* external: the header that declares it, or NULL */
    const char *ctype;  /* external: its C spelling (`struct x` or `x`) */
    /* The emitters' caches of derived facts (generator/emit_common.c). */
    unsigned gen_known;
    int gen_state;
    int gen_fixed, gen_free;
    uint64_t gen_fixed_size, gen_min_size;
} idl_def;

/* A parsed file: its definitions in order. */
typedef struct idl_spec {
    idl_def *defs;
    const char *file;            /* the top-level file, as given */
    idl_def *externals;          /* the external types the checks made, linked
                                    through next; not part of defs */
    idl_arena *arena;            /* the arena everything here lives in */
    const char **unparsed_names; /* names that definitions dropped by the
                                    parser's error recovery would have
                                    defined: not reported as undefined */
    size_t nunparsed;
    int syntax_errors; /* the parser reported syntax errors */
    int pp_errors;     /* the preprocessor reported errors: the text parsed is
                          not what was written (an include is missing, a
                          group was misread), so the checks do not run */
} idl_spec;

/* ---- builders the parser calls ----------------------------------------- */

idl_expr *idl_expr_num(idl_arena *a, idl_loc loc, const char *text, uint64_t v);
idl_expr *idl_expr_name(idl_arena *a, idl_loc loc, const char *name);
idl_expr *idl_expr_unary(idl_arena *a, idl_loc loc, int op, idl_expr *x);
idl_expr *idl_expr_binary(idl_arena *a, idl_loc loc, int op, idl_expr *x, idl_expr *y);
idl_type *idl_type_new(idl_arena *a, idl_loc loc, idl_type_kind kind, const char *name);
idl_decl *idl_decl_new(idl_arena *a, idl_decl_kind kind, idl_loc loc, idl_type *type,
                       idl_loc name_loc, const char *name, idl_expr *size);
idl_def *idl_def_new(idl_arena *a, idl_def_kind kind, idl_loc loc, const char *name);
idl_type *idl_type_tagged(idl_arena *a, idl_loc loc, idl_def_kind tag, const char *name);
idl_type *idl_type_inline(idl_arena *a, idl_loc loc, idl_def *def);
idl_def *idl_const_new(idl_arena *a, idl_loc loc, const char *name, idl_expr *value);
idl_def *idl_const_string(idl_arena *a, idl_loc loc, const char *name, const char *text);
idl_def *idl_typedef_new(idl_arena *a, idl_decl *decl);
idl_def *idl_enum_new(idl_arena *a, idl_loc loc, const char *name, idl_enumerator *members);
idl_def *idl_struct_new(idl_arena *a, idl_loc loc, const char *name, idl_decl *fields);
idl_def *idl_union_new(idl_arena *a, idl_loc loc, const char *name, idl_decl *disc, idl_case *cases,
                       idl_decl *dflt, idl_loc dflt_loc);
idl_def *idl_program_new(idl_arena *a, idl_loc loc, const char *name, idl_version *versions,
                         idl_expr *number);
idl_def *idl_def_with_attrs(idl_def *def, idl_attr *attrs);
idl_enumerator *idl_enumerator_new(idl_arena *a, idl_loc loc, const char *name, idl_expr *value);
idl_case *idl_case_new(idl_arena *a, idl_loc loc, idl_case_value *values, idl_decl *decl);
idl_case_value *idl_case_value_new(idl_arena *a, idl_expr *value);
idl_version *idl_version_new(idl_arena *a, idl_loc loc, const char *name, idl_proc *procs,
                             idl_expr *number, idl_attr *attrs);
idl_proc *idl_proc_new(idl_arena *a, idl_loc loc, const char *name, idl_type *result, idl_arg *args,
                       idl_expr *number, idl_attr *attrs);
idl_arg *idl_arg_new(idl_arena *a, idl_type *type);
idl_attr *idl_attr_new(idl_arena *a, idl_loc loc, const char *name, const char *arg,
                       idl_loc arg_loc);

/* idl_type_name returns a printable name for a type kind ("unsigned int"). */
const char *idl_type_kind_name(idl_type_kind k);
const char *idl_def_kind_name(idl_def_kind k);

#endif /* PARLEY_IDL_AST_H */
