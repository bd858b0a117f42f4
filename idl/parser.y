/*
 * idl/parser.y: the grammar of Parley's IDL (bison; pure, with locations).
 *
 * The language is RFC 5531 section 12 (programs, versions, procedures) over
 * RFC 4506 section 6 (the data description language), plus what rpcgen
 * accepts (char, short, long, `unsigned` alone, several procedure arguments,
 * enum members without a value), constant expressions wherever a constant
 * goes, and the extension annotations `@name` and `@name(arg)` before
 * definitions, versions and procedures (see docs/idl.md). `@` is no token of
 * the RFC grammar, so no extension can change the meaning of an RFC file.
 *
 * Each action only calls an AST builder (ast.c) or appends to a list; the
 * comment above each rule shows what it builds. Every semantic value lives in the parser's arena, so
 * nothing needs a %destructor: error recovery drops values and the arena
 * frees them with the tree.
 */
%define api.pure full
%define api.prefix {idl_yy}
%define parse.error detailed
%locations
%param {void *scanner}
%parse-param {idl_parser *ctx}

%code requires {
#include "front.h"

typedef struct idl_decl_list { idl_decl *head, *tail; } idl_decl_list;
typedef struct idl_enum_list { idl_enumerator *head, *tail; } idl_enum_list;
typedef struct idl_case_list { idl_case *head, *tail; } idl_case_list;
typedef struct idl_cval_list { idl_case_value *head, *tail; } idl_cval_list;
typedef struct idl_attr_list { idl_attr *head, *tail; } idl_attr_list;
typedef struct idl_arg_list { idl_arg *head, *tail; } idl_arg_list;
typedef struct idl_proc_list { idl_proc *head, *tail; } idl_proc_list;
typedef struct idl_version_list { idl_version *head, *tail; } idl_version_list;
typedef struct idl_union_body {
    idl_decl *disc;
    idl_case *cases;
    idl_decl *dflt;
    idl_loc dflt_loc;
} idl_union_body;
}

%code provides {
int idl_yylex(IDL_YYSTYPE *lval, IDL_YYLTYPE *lloc, void *scanner);
void idl_yyerror(IDL_YYLTYPE *lloc, void *scanner, idl_parser *ctx, const char *msg);
}

%code {

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                                                \
    do {                                                                                           \
        if (N) {                                                                                   \
            (Cur).first_line = YYRHSLOC(Rhs, 1).first_line;                                        \
            (Cur).first_column = YYRHSLOC(Rhs, 1).first_column;                                    \
            (Cur).file = YYRHSLOC(Rhs, 1).file;                                                    \
            (Cur).last_line = YYRHSLOC(Rhs, N).last_line;                                          \
            (Cur).last_column = YYRHSLOC(Rhs, N).last_column;                                      \
        } else {                                                                                   \
            (Cur).first_line = (Cur).last_line = YYRHSLOC(Rhs, 0).last_line;                       \
            (Cur).first_column = (Cur).last_column = YYRHSLOC(Rhs, 0).last_column;                 \
            (Cur).file = YYRHSLOC(Rhs, 0).file;                                                    \
        }                                                                                          \
    } while (0)

/* APPEND adds node (evaluated once: it may be a builder's call) at the
 * end of a list of head and tail. */
#define APPEND(list, node)                                                                         \
    do {                                                                                           \
        void *node_ = (node);                                                                      \
        if ((list).tail)                                                                           \
            (list).tail->next = node_;                                                             \
        else                                                                                       \
            (list).head = node_;                                                                   \
        (list).tail = node_;                                                                       \
    } while (0)

#define A (ctx->arena)
#define L(x) idl_loc_of(x)
}

%union {
    const char *str;
    struct { const char *text; uint64_t value; } num;
    idl_expr *expr;
    idl_type *type;
    idl_decl *decl;
    idl_def *def;
    idl_enumerator *enumerator;
    idl_case *cas;
    idl_proc *proc;
    idl_version *version;
    idl_attr *attr;
    idl_decl_list decls;
    idl_enum_list enums;
    idl_case_list cases;
    idl_cval_list cvals;
    idl_attr_list attrs;
    idl_arg_list args;
    idl_proc_list procs;
    idl_version_list versions;
    idl_union_body ubody;
}

%token <str> IDENT "identifier"
%token <num> NUMBER "number"
%token <str> STRING_LIT "string literal"
%token KW_BOOL "bool" KW_CASE "case" KW_CHAR "char" KW_CONST "const"
%token KW_DEFAULT "default" KW_DOUBLE "double" KW_ENUM "enum" KW_FLOAT "float"
%token KW_HYPER "hyper" KW_INT "int" KW_LONG "long" KW_OPAQUE "opaque"
%token KW_PROGRAM "program" KW_QUADRUPLE "quadruple" KW_SHORT "short"
%token KW_STRING "string" KW_STRUCT "struct" KW_SWITCH "switch"
%token KW_TYPEDEF "typedef" KW_UNION "union" KW_UNSIGNED "unsigned"
%token KW_VERSION "version" KW_VOID "void"
%token SHL "<<" SHR ">>"

%type <def> definition type_def const_def program_def
%type <expr> expr opt_expr
%type <type> type_spec simple_type proc_type
%type <decl> declaration
%type <decls> decl_list
%type <enumerator> enumerator
%type <enums> enum_body enumerators
%type <cases> case_list
%type <cas> case_spec
%type <cvals> case_values
%type <ubody> union_body
%type <attrs> attrs
%type <attr> attr
%type <args> proc_args type_list
%type <proc> proc_def
%type <procs> proc_list
%type <version> version_def
%type <versions> version_list
%type <decl> opt_default

%left '|'
%left '^'
%left '&'
%left SHL SHR
%left '+' '-'
%left '*' '/' '%'
%precedence UNARY

%%

/* spec: the definitions, appended to ctx->spec as each one completes */
spec
    : %empty
    | spec definition           { if ($2) idl_parser_append(ctx, $2); }
    ;

/* definition: an idl_def, with the annotations written before it */
definition
    : attrs type_def            { $$ = idl_def_with_attrs($2, $1.head); }
    | attrs const_def           { $$ = idl_def_with_attrs($2, $1.head); }
    | attrs program_def         { $$ = idl_def_with_attrs($2, $1.head); }
    | error ';'                 { $$ = NULL; }
    | error '}'                 { $$ = NULL; }
    ;

/* attrs: a list of idl_attr, @name or @name(arg) */
attrs
    : %empty                    { $$.head = $$.tail = NULL; }
    | attrs attr                { $$ = $1; APPEND($$, $2); }
    ;

/* @name or @name(arg)  ->  idl_attr */
attr
    : '@' IDENT                         { $$ = idl_attr_new(A, L(@2), $2, NULL, L(@2)); }
    | '@' IDENT '(' STRING_LIT ')'      { $$ = idl_attr_new(A, L(@2), $2, $4, L(@4)); }
    | '@' IDENT '(' IDENT ')'           { $$ = idl_attr_new(A, L(@2), $2, $4, L(@4)); }
    | '@' IDENT '(' NUMBER ')'          { $$ = idl_attr_new(A, L(@2), $2, $4.text, L(@4)); }
    ;

/* const NAME = expr;  ->  IDL_DEF_CONST; rpcgen also takes a string */
const_def
    : KW_CONST IDENT '=' expr ';'          { $$ = idl_const_new(A, L(@2), $2, $4); }
    | KW_CONST IDENT '=' STRING_LIT ';'    { $$ = idl_const_string(A, L(@2), $2, $4); }
    ;

/* typedef decl; enum/struct/union NAME body;  ->  IDL_DEF_TYPEDEF/ENUM/STRUCT/UNION */
type_def
    : KW_TYPEDEF declaration ';'
        { $$ = idl_typedef_new(A, $2); }
    | KW_ENUM IDENT enum_body ';'
        { $$ = idl_enum_new(A, L(@2), $2, $3.head); }
    | KW_STRUCT IDENT '{' decl_list '}' ';'
        { $$ = idl_struct_new(A, L(@2), $2, $4.head); }
    | KW_UNION IDENT union_body ';'
        { $$ = idl_union_new(A, L(@2), $2, $3.disc, $3.cases, $3.dflt, $3.dflt_loc); }
    ;

/* { A = 1, B, ... }  ->  a list of idl_enumerator (a trailing comma is allowed) */
enum_body
    : '{' enumerators '}'           { $$ = $2; }
    | '{' enumerators ',' '}'       { $$ = $2; }
    ;

/* A, B = 2, ...  ->  a list of idl_enumerator */
enumerators
    : enumerator                    { $$.head = $$.tail = $1; }
    | enumerators ',' enumerator    { $$ = $1; APPEND($$, $3); }
    ;

/* NAME [= expr]  ->  idl_enumerator */
enumerator
    : IDENT '=' expr                { $$ = idl_enumerator_new(A, L(@1), $1, $3); }
    | IDENT                         { $$ = idl_enumerator_new(A, L(@1), $1, NULL); }
    ;

/* decl; decl; ...  ->  a list of idl_decl */
decl_list
    : declaration ';'               { $$.head = $$.tail = $1; }
    | decl_list declaration ';'     { $$ = $1; APPEND($$, $2); }
    | decl_list error ';'           { $$ = $1; }
    | error ';'                     { $$.head = $$.tail = NULL; }
    ;

/* switch (decl) { case ...: decl; ... default: decl; }  ->  idl_union_body */
union_body
    : KW_SWITCH '(' declaration ')' '{' case_list opt_default '}'
        {
            $$.disc = $3;
            $$.cases = $6.head;
            $$.dflt = $7;
            $$.dflt_loc = L(@7);
        }
    | KW_SWITCH '(' declaration ')' '{' opt_default '}'
        {
            $$.disc = $3;
            $$.cases = NULL;
            $$.dflt = $6;
            $$.dflt_loc = L(@6);
        }
    ;

/* case groups  ->  a list of idl_case */
case_list
    : case_spec                     { $$.head = $$.tail = $1; }
    | case_list case_spec           { $$ = $1; APPEND($$, $2); }
    ;

/* case v: [case w:] decl;  ->  idl_case */
case_spec
    : case_values declaration ';'   { $$ = idl_case_new(A, L(@1), $1.head, $2); }
    ;

/* case v: case w:  ->  a list of idl_case_value */
case_values
    : KW_CASE expr ':'              { $$.head = $$.tail = idl_case_value_new(A, $2); }
    | case_values KW_CASE expr ':'  { $$ = $1; APPEND($$, idl_case_value_new(A, $3)); }
    ;

/* default: decl;  ->  idl_decl, or NULL */
opt_default
    : %empty                            { $$ = NULL; }
    | KW_DEFAULT ':' declaration ';'    { $$ = $3; }
    ;

/* the forms of a declaration  ->  idl_decl of kind SCALAR, FIXED, VAR,
   OPTIONAL or VOID; whether the type allows the form is checked later */
declaration
    : type_spec IDENT
        { $$ = idl_decl_new(A, IDL_D_SCALAR, L(@1), $1, L(@2), $2, NULL); }
    | type_spec IDENT '[' expr ']'
        { $$ = idl_decl_new(A, IDL_D_FIXED, L(@1), $1, L(@2), $2, $4); }
    | type_spec IDENT '<' opt_expr '>'
        { $$ = idl_decl_new(A, IDL_D_VAR, L(@1), $1, L(@2), $2, $4); }
    | type_spec '*' IDENT
        { $$ = idl_decl_new(A, IDL_D_OPTIONAL, L(@1), $1, L(@3), $3, NULL); }
    | KW_VOID
        { $$ = idl_decl_new(A, IDL_D_VOID, L(@1), NULL, L(@1), NULL, NULL); }
    ;

/* a bound, or nothing  ->  idl_expr, or NULL (no bound) */
opt_expr
    : %empty                    { $$ = NULL; }
    | expr                      { $$ = $1; }
    ;

/* a type in a declaration: a simple type, or an inline enum, struct or
   union (RFC 4506), which becomes a definition of its own named after the
   declaration that holds it */
type_spec
    : simple_type               { $$ = $1; }
    | KW_STRING                 { $$ = idl_type_new(A, L(@1), IDL_T_STRING, NULL); }
    | KW_OPAQUE                 { $$ = idl_type_new(A, L(@1), IDL_T_OPAQUE, NULL); }
    | KW_ENUM enum_body
        { $$ = idl_type_inline(A, L(@1), idl_enum_new(A, L(@1), NULL, $2.head)); }
    | KW_STRUCT '{' decl_list '}'
        { $$ = idl_type_inline(A, L(@1), idl_struct_new(A, L(@1), NULL, $3.head)); }
    | KW_UNION union_body
        {
            $$ = idl_type_inline(A, L(@1), idl_union_new(A, L(@1), NULL, $2.disc, $2.cases,
                                                          $2.dflt, $2.dflt_loc));
        }
    ;

/* a built-in type or a name  ->  idl_type */
simple_type
    : KW_INT                    { $$ = idl_type_new(A, L(@1), IDL_T_INT, NULL); }
    | KW_UNSIGNED KW_INT        { $$ = idl_type_new(A, L(@1), IDL_T_UINT, NULL); }
    | KW_UNSIGNED               { $$ = idl_type_new(A, L(@1), IDL_T_UINT, NULL); }
    | KW_HYPER                  { $$ = idl_type_new(A, L(@1), IDL_T_HYPER, NULL); }
    | KW_UNSIGNED KW_HYPER      { $$ = idl_type_new(A, L(@1), IDL_T_UHYPER, NULL); }
    | KW_FLOAT                  { $$ = idl_type_new(A, L(@1), IDL_T_FLOAT, NULL); }
    | KW_DOUBLE                 { $$ = idl_type_new(A, L(@1), IDL_T_DOUBLE, NULL); }
    | KW_QUADRUPLE              { $$ = idl_type_new(A, L(@1), IDL_T_QUAD, NULL); }
    | KW_BOOL                   { $$ = idl_type_new(A, L(@1), IDL_T_BOOL, NULL); }
    | KW_CHAR                   { $$ = idl_type_new(A, L(@1), IDL_T_CHAR, NULL); }
    | KW_UNSIGNED KW_CHAR       { $$ = idl_type_new(A, L(@1), IDL_T_UCHAR, NULL); }
    | KW_SHORT                  { $$ = idl_type_new(A, L(@1), IDL_T_SHORT, NULL); }
    | KW_UNSIGNED KW_SHORT      { $$ = idl_type_new(A, L(@1), IDL_T_USHORT, NULL); }
    | KW_LONG                   { $$ = idl_type_new(A, L(@1), IDL_T_LONG, NULL); }
    | KW_UNSIGNED KW_LONG       { $$ = idl_type_new(A, L(@1), IDL_T_ULONG, NULL); }
    | IDENT                     { $$ = idl_type_new(A, L(@1), IDL_T_NAMED, $1); }
    | KW_STRUCT IDENT           { $$ = idl_type_tagged(A, L(@1), IDL_DEF_STRUCT, $2); }
    | KW_UNION IDENT            { $$ = idl_type_tagged(A, L(@1), IDL_DEF_UNION, $2); }
    | KW_ENUM IDENT             { $$ = idl_type_tagged(A, L(@1), IDL_DEF_ENUM, $2); }
    ;

/* program NAME { versions } = expr;  ->  IDL_DEF_PROGRAM */
program_def
    : KW_PROGRAM IDENT '{' version_list '}' '=' expr ';'
        { $$ = idl_program_new(A, L(@2), $2, $4.head, $7); }
    ;

/* versions  ->  a list of idl_version */
version_list
    : version_def                   { $$.head = $$.tail = $1; }
    | version_list version_def      { $$ = $1; APPEND($$, $2); }
    ;

/* [attrs] version NAME { procedures } = expr;  ->  idl_version */
version_def
    : attrs KW_VERSION IDENT '{' proc_list '}' '=' expr ';'
        { $$ = idl_version_new(A, L(@3), $3, $5.head, $8, $1.head); }
    ;

/* procedures  ->  a list of idl_proc */
proc_list
    : proc_def                      { $$.head = $$.tail = $1; }
    | proc_list proc_def            { $$ = $1; APPEND($$, $2); }
    ;

/* [attrs] result NAME(args) = expr;  ->  idl_proc */
proc_def
    : attrs proc_type IDENT '(' proc_args ')' '=' expr ';'
        { $$ = idl_proc_new(A, L(@3), $3, $2, $5.head, $8, $1.head); }
    ;

/* a procedure's result or argument; rpcgen takes `string` there too */
proc_type
    : KW_VOID                   { $$ = idl_type_new(A, L(@1), IDL_T_VOID, NULL); }
    | KW_STRING                 { $$ = idl_type_new(A, L(@1), IDL_T_STRING, NULL); }
    | simple_type               { $$ = $1; }
    ;

/* (void) or (type, type, ...)  ->  a list of idl_arg (idl_proc_new counts
   them, a lone void as none) */
proc_args
    : type_list                     { $$ = $1; }
    ;

/* type, type, ...  ->  a list of idl_arg */
type_list
    : proc_type                     { $$.head = $$.tail = idl_arg_new(A, $1); }
    | type_list ',' proc_type       { $$ = $1; APPEND($$, idl_arg_new(A, $3)); }
    ;

/* constant expressions  ->  idl_expr */
expr
    : NUMBER                    { $$ = idl_expr_num(A, L(@1), $1.text, $1.value); }
    | IDENT                     { $$ = idl_expr_name(A, L(@1), $1); }
    | '(' expr ')'              { $$ = $2; }
    | '-' expr %prec UNARY      { $$ = idl_expr_unary(A, L(@1), '-', $2); }
    | '+' expr %prec UNARY      { $$ = idl_expr_unary(A, L(@1), '+', $2); }
    | '~' expr %prec UNARY      { $$ = idl_expr_unary(A, L(@1), '~', $2); }
    | expr '+' expr             { $$ = idl_expr_binary(A, L(@2), '+', $1, $3); }
    | expr '-' expr             { $$ = idl_expr_binary(A, L(@2), '-', $1, $3); }
    | expr '*' expr             { $$ = idl_expr_binary(A, L(@2), '*', $1, $3); }
    | expr '/' expr             { $$ = idl_expr_binary(A, L(@2), '/', $1, $3); }
    | expr '%' expr             { $$ = idl_expr_binary(A, L(@2), '%', $1, $3); }
    | expr '&' expr             { $$ = idl_expr_binary(A, L(@2), '&', $1, $3); }
    | expr '|' expr             { $$ = idl_expr_binary(A, L(@2), '|', $1, $3); }
    | expr '^' expr             { $$ = idl_expr_binary(A, L(@2), '^', $1, $3); }
    | expr SHL expr             { $$ = idl_expr_binary(A, L(@2), IDL_OP_SHL, $1, $3); }
    | expr SHR expr             { $$ = idl_expr_binary(A, L(@2), IDL_OP_SHR, $1, $3); }
    ;

%%

/* idl_yyerror reports a syntax error at the token bison stopped at. */
void idl_yyerror(IDL_YYLTYPE *lloc, void *scanner, idl_parser *ctx, const char *msg)
{
    (void)scanner;
    ctx->syntax_errors++;
    idl_error(ctx->diag, idl_loc_of(*lloc), "%s", msg);
}
