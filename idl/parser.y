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
 *
 * Error recovery works at the level of declarations: each list (the
 * definitions, a struct's members, a union's arms, an enum's members, the
 * versions, the procedures) has error rules that resume at its next element,
 * and the rules that end in `error` complete a construct whose ';' is
 * missing (INSERTED). The functions at the end make the messages
 * (yyreport_syntax_error), skip what a broken declaration still holds and
 * remember the names dropped definitions would have defined (filter_token),
 * so that each mistake is reported once and the checks can run on the rest.
 */
%define api.pure full
%define api.prefix {idl_yy}
%define parse.error custom
%locations
%param {void *scanner}
%parse-param {idl_parser *ctx}

%code top {
#include <stdlib.h>
#include <string.h>
}

%code requires {
#include "front.h"

typedef struct idl_decl_list { idl_decl *head, *tail; } idl_decl_list;
typedef struct idl_enum_list { idl_enumerator *head, *tail; int dropped; } idl_enum_list;
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
/* idl_parser_finish: after the parse, the names of the definitions that
 * failed to parse go to spec->unparsed_names. */
void idl_parser_finish(idl_parser *ctx);
}

%code {

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                                                \
    do {                                                                                           \
        if (N) {                                                                                   \
            (Cur).first_line = YYRHSLOC(Rhs, 1).first_line;                                        \
            (Cur).first_column = YYRHSLOC(Rhs, 1).first_column;                                    \
            (Cur).file = YYRHSLOC(Rhs, 1).file;                                                    \
            (Cur).first_order = YYRHSLOC(Rhs, 1).first_order;                                      \
            (Cur).last_line = YYRHSLOC(Rhs, N).last_line;                                          \
            (Cur).last_column = YYRHSLOC(Rhs, N).last_column;                                      \
            (Cur).last_order = YYRHSLOC(Rhs, N).last_order;                                        \
        } else {                                                                                   \
            (Cur).first_line = (Cur).last_line = YYRHSLOC(Rhs, 0).last_line;                       \
            (Cur).first_column = (Cur).last_column = YYRHSLOC(Rhs, 0).last_column;                 \
            (Cur).file = YYRHSLOC(Rhs, 0).file;                                                    \
            (Cur).first_order = (Cur).last_order = YYRHSLOC(Rhs, 0).last_order;                    \
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

/* The parser reads its tokens through filter_token, which keeps the last
 * three for the syntax errors' messages, follows the braces, and skips what
 * error recovery would otherwise misread (see filter_token). */
static int filter_token(IDL_YYSTYPE *lval, IDL_YYLTYPE *lloc, void *scanner, idl_parser *ctx);
#define idl_yylex(lval, lloc, scanner) filter_token(lval, lloc, scanner, ctx)

static const char *keyword_name(idl_parser *ctx, IDL_YYLTYPE loc, const char *kw);
static void definition_done(idl_parser *ctx);
/* INSERTED ends a rule that error recovery completed by supposing a missing
 * ';': when the syntax error was reported as that, the token after it
 * starts what comes next, and errors in it are reported again at once. */
#define INSERTED()                                                                                 \
    do {                                                                                           \
        if (ctx->missing_semi)                                                                     \
            yyerrok;                                                                               \
        ctx->missing_semi = 0;                                                                     \
    } while (0)
}

%union {
    const char *str;
    struct { const char *text; uint64_t value; int bad; } num;
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
%type <str> name
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
    | spec definition           { if ($2) idl_parser_append(ctx, $2); definition_done(ctx); }
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

/* a name being defined; a keyword there is reported and taken as the name
   so that the definition still counts (not switch, which after `union X`
   in a struct more likely begins a union whose struct was left open) */
name
    : IDENT                     { $$ = $1; }
    | KW_BOOL                   { $$ = keyword_name(ctx, @1, "bool"); }
    | KW_CASE                   { $$ = keyword_name(ctx, @1, "case"); }
    | KW_CONST                  { $$ = keyword_name(ctx, @1, "const"); }
    | KW_DEFAULT                { $$ = keyword_name(ctx, @1, "default"); }
    | KW_DOUBLE                 { $$ = keyword_name(ctx, @1, "double"); }
    | KW_ENUM                   { $$ = keyword_name(ctx, @1, "enum"); }
    | KW_FLOAT                  { $$ = keyword_name(ctx, @1, "float"); }
    | KW_OPAQUE                 { $$ = keyword_name(ctx, @1, "opaque"); }
    | KW_PROGRAM                { $$ = keyword_name(ctx, @1, "program"); }
    | KW_QUADRUPLE              { $$ = keyword_name(ctx, @1, "quadruple"); }
    | KW_STRING                 { $$ = keyword_name(ctx, @1, "string"); }
    | KW_STRUCT                 { $$ = keyword_name(ctx, @1, "struct"); }
    | KW_TYPEDEF                { $$ = keyword_name(ctx, @1, "typedef"); }
    | KW_UNION                  { $$ = keyword_name(ctx, @1, "union"); }
    | KW_VERSION                { $$ = keyword_name(ctx, @1, "version"); }
    | KW_VOID                   { $$ = keyword_name(ctx, @1, "void"); }
    ;

/* const NAME = expr;  ->  IDL_DEF_CONST; rpcgen also takes a string */
const_def
    : KW_CONST name '=' expr ';'           { $$ = idl_const_new(A, L(@2), $2, $4); }
    | KW_CONST name '=' STRING_LIT ';'     { $$ = idl_const_string(A, L(@2), $2, $4); }
    | KW_CONST name '=' expr error         { $$ = idl_const_new(A, L(@2), $2, $4); INSERTED(); }
    | KW_CONST name '=' STRING_LIT error
        { $$ = idl_const_string(A, L(@2), $2, $4); INSERTED(); }
    ;

/* typedef decl; enum/struct/union NAME body;  ->  IDL_DEF_TYPEDEF/ENUM/STRUCT/UNION */
type_def
    : KW_TYPEDEF declaration ';'
        { $$ = idl_typedef_new(A, $2); }
    | KW_ENUM name enum_body ';'
        {
            $$ = idl_enum_new(A, L(@2), $2, $3.head);
            $$->recovered = $3.dropped;
        }
    | KW_STRUCT name '{' decl_list '}' ';'
        { $$ = idl_struct_new(A, L(@2), $2, $4.head); }
    | KW_UNION name union_body ';'
        { $$ = idl_union_new(A, L(@2), $2, $3.disc, $3.cases, $3.dflt, $3.dflt_loc); }
    | KW_TYPEDEF declaration error
        { $$ = idl_typedef_new(A, $2); INSERTED(); }
    | KW_ENUM name enum_body error
        {
            $$ = idl_enum_new(A, L(@2), $2, $3.head);
            $$->recovered = $3.dropped;
            INSERTED();
        }
    | KW_STRUCT name '{' decl_list '}' error
        { $$ = idl_struct_new(A, L(@2), $2, $4.head); INSERTED(); }
    | KW_UNION name union_body error
        {
            $$ = idl_union_new(A, L(@2), $2, $3.disc, $3.cases, $3.dflt, $3.dflt_loc);
            INSERTED();
        }
    ;

/* { A = 1, B, ... }  ->  a list of idl_enumerator (a trailing comma is allowed) */
enum_body
    : '{' enumerators '}'           { $$ = $2; }
    | '{' enumerators ',' '}'       { $$ = $2; }
    | '{' enumerators error '}'     { $$ = $2; $$.dropped = 1; }
    | '{' error '}'                 { $$.head = $$.tail = NULL; $$.dropped = 1; }
    ;

/* A, B = 2, ...  ->  a list of idl_enumerator */
enumerators
    : enumerator                    { $$.head = $$.tail = $1; $$.dropped = 0; }
    | enumerators ',' enumerator    { $$ = $1; APPEND($$, $3); }
    ;

/* NAME [= expr]  ->  idl_enumerator */
enumerator
    : name '=' expr                 { $$ = idl_enumerator_new(A, L(@1), $1, $3); }
    | name                          { $$ = idl_enumerator_new(A, L(@1), $1, NULL); }
    ;

/* decl; decl; ...  ->  a list of idl_decl */
decl_list
    : declaration ';'               { $$.head = $$.tail = $1; }
    | decl_list declaration ';'     { $$ = $1; APPEND($$, $2); }
    | declaration error             { $$.head = $$.tail = $1; INSERTED(); }
    | decl_list declaration error   { $$ = $1; APPEND($$, $2); INSERTED(); }
    | decl_list error ';'           { $$ = $1; }
    | decl_list error               { $$ = $1; }
    | error ';'                     { $$.head = $$.tail = NULL; }
    | error                         { $$.head = $$.tail = NULL; }
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
    | case_list case_spec
        {
            $$ = $1;
            if ($2)
                APPEND($$, $2);
        }
    | case_list error ';'           { $$ = $1; }
    ;

/* case v: [case w:] decl;  ->  idl_case, or NULL for an arm recovery dropped */
case_spec
    : case_values declaration ';'   { $$ = idl_case_new(A, L(@1), $1.head, $2); }
    | case_values declaration error { $$ = idl_case_new(A, L(@1), $1.head, $2); INSERTED(); }
    | case_values error ';'         { $$ = NULL; }
    ;

/* case v: case w:  ->  a list of idl_case_value */
case_values
    : KW_CASE expr ':'              { $$.head = $$.tail = idl_case_value_new(A, $2); }
    | case_values KW_CASE expr ':'  { $$ = $1; APPEND($$, idl_case_value_new(A, $3)); }
    ;

/* default: decl;  ->  idl_decl, or NULL (none, or dropped by recovery) */
opt_default
    : %empty                            { $$ = NULL; }
    | KW_DEFAULT ':' declaration ';'    { $$ = $3; }
    | KW_DEFAULT ':' declaration error  { $$ = $3; INSERTED(); }
    | KW_DEFAULT error ';'              { $$ = NULL; }
    ;

/* the forms of a declaration  ->  idl_decl of kind SCALAR, FIXED, VAR,
   OPTIONAL or VOID; whether the type allows the form is checked later */
declaration
    : type_spec name
        { $$ = idl_decl_new(A, IDL_D_SCALAR, L(@1), $1, L(@2), $2, NULL); }
    | type_spec name '[' expr ']'
        { $$ = idl_decl_new(A, IDL_D_FIXED, L(@1), $1, L(@2), $2, $4); }
    | type_spec name '<' opt_expr '>'
        { $$ = idl_decl_new(A, IDL_D_VAR, L(@1), $1, L(@2), $2, $4); }
    | type_spec '*' name
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
        {
            idl_def *e = idl_enum_new(A, L(@1), NULL, $2.head);
            e->recovered = $2.dropped;
            $$ = idl_type_inline(A, L(@1), e);
        }
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
    : KW_PROGRAM name '{' version_list '}' '=' expr ';'
        { $$ = idl_program_new(A, L(@2), $2, $4.head, $7); }
    | KW_PROGRAM name '{' version_list '}' '=' expr error
        { $$ = idl_program_new(A, L(@2), $2, $4.head, $7); INSERTED(); }
    ;

/* versions  ->  a list of idl_version */
version_list
    : version_def                   { $$.head = $$.tail = $1; }
    | version_list version_def      { $$ = $1; APPEND($$, $2); }
    | version_list error ';'        { $$ = $1; }
    | version_list error            { $$ = $1; }
    | error ';'                     { $$.head = $$.tail = NULL; }
    | error                         { $$.head = $$.tail = NULL; }
    ;

/* [attrs] version NAME { procedures } = expr;  ->  idl_version */
version_def
    : attrs KW_VERSION name '{' proc_list '}' '=' expr ';'
        { $$ = idl_version_new(A, L(@3), $3, $5.head, $8, $1.head); }
    | attrs KW_VERSION name '{' proc_list '}' '=' expr error
        { $$ = idl_version_new(A, L(@3), $3, $5.head, $8, $1.head); INSERTED(); }
    ;

/* procedures  ->  a list of idl_proc */
proc_list
    : proc_def                      { $$.head = $$.tail = $1; }
    | proc_list proc_def            { $$ = $1; APPEND($$, $2); }
    | proc_list error ';'           { $$ = $1; }
    | proc_list error               { $$ = $1; }
    | error ';'                     { $$.head = $$.tail = NULL; }
    | error                         { $$.head = $$.tail = NULL; }
    ;

/* [attrs] result NAME(args) = expr;  ->  idl_proc */
proc_def
    : attrs proc_type name '(' proc_args ')' '=' expr ';'
        { $$ = idl_proc_new(A, L(@3), $3, $2, $5.head, $8, $1.head); }
    | attrs proc_type name '(' proc_args ')' '=' expr error
        { $$ = idl_proc_new(A, L(@3), $3, $2, $5.head, $8, $1.head); INSERTED(); }
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
    : NUMBER
        {
            $$ = idl_expr_num(A, L(@1), $1.text, $1.value);
            $$->bad = $1.bad;
        }
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

/* idl_yyerror reports what bison itself reports (memory exhausted). */
void idl_yyerror(IDL_YYLTYPE *lloc, void *scanner, idl_parser *ctx, const char *msg)
{
    (void)scanner;
    ctx->syntax_errors++;
    idl_error(ctx->diag, idl_loc_of(*lloc), "%s", msg);
}

/* push_name appends name to a growing array of names (malloc'ed; see
 * idl_parser_finish). Out of memory, the name is not kept: at worst an
 * undefined name is reported that recovery made so. */
static void push_name(const char ***names, size_t *n, size_t *cap, const char *name)
{
    if (*n == *cap) {
        size_t ncap = *cap ? 2 * *cap : 16;
        const char **t = realloc(*names, ncap * sizeof *t);
        if (!t)
            return;
        *names = t;
        *cap = ncap;
    }
    (*names)[(*n)++] = name;
}

/* definition_done is called as each top-level definition ends, parsed or
 * dropped: if a syntax error was reported since the previous one, the names
 * it (or what recovery dropped) would have defined are kept as unparsed. */
static void definition_done(idl_parser *ctx)
{
    if (ctx->syntax_errors != ctx->errors_at_def)
        for (size_t i = 0; i < ctx->nnames; i++)
            push_name(&ctx->unparsed, &ctx->nunparsed, &ctx->capunparsed, ctx->names[i]);
    ctx->nnames = 0;
    ctx->errors_at_def = ctx->syntax_errors;
}

/* idl_parser_finish: see the declaration. */
void idl_parser_finish(idl_parser *ctx)
{
    definition_done(ctx);
    ctx->spec->syntax_errors = ctx->syntax_errors > 0;
    if (ctx->nunparsed > 0) {
        const char **names = idl_arena_alloc(ctx->arena, ctx->nunparsed * sizeof *names);
        memcpy(names, ctx->unparsed, ctx->nunparsed * sizeof *names);
        ctx->spec->unparsed_names = names;
        ctx->spec->nunparsed = ctx->nunparsed;
    }
    free(ctx->unparsed);
    free(ctx->names);
    ctx->unparsed = ctx->names = NULL;
    ctx->nunparsed = ctx->nnames = 0;
}

/* keyword_name reports a keyword written where a name goes and returns the
 * keyword as the name, so that the definition holding it stays. */
static const char *keyword_name(idl_parser *ctx, IDL_YYLTYPE loc, const char *kw)
{
    ctx->syntax_errors++;
    idl_error(ctx->diag, idl_loc_of(loc), "'%s' is a keyword and cannot be used as a name", kw);
    return kw;
}

/* note_names remembers, for definition_done, the names a definition being
 * read would define: the name after const, struct, union, enum, program and
 * version; enum members; procedure names; a typedef's name. */
static void note_names(idl_parser *ctx)
{
    const idl_token *t = &ctx->cur, *p = &ctx->prev;
    const char *name = NULL;
    if (t->kind == IDENT &&
        (p->kind == KW_CONST || p->kind == KW_STRUCT || p->kind == KW_UNION ||
         p->kind == KW_ENUM || p->kind == KW_PROGRAM || p->kind == KW_VERSION))
        name = t->text;
    else if (t->kind == '=' && p->kind == IDENT && t->depth == 0)
        name = p->text; /* a constant without its keyword: N = 1; */
    else if (t->kind == IDENT && p->kind == IDENT && t->depth == 0)
        name = t->text; /* a misspelled keyword: stuct name { ... }; */
    else if (t->kind == IDENT && ctx->in_enum && t->depth >= ctx->in_enum &&
             (p->kind == '{' || p->kind == ','))
        name = t->text;
    else if (t->kind == '(' && p->kind == IDENT && ctx->def_kind == KW_PROGRAM && t->depth == 2)
        name = p->text;
    else if ((t->kind == ';' || t->kind == '[' || t->kind == '<') && p->kind == IDENT &&
             ctx->def_kind == KW_TYPEDEF && t->depth == 0)
        name = p->text;
    if (name)
        push_name(&ctx->names, &ctx->nnames, &ctx->capnames, name);
}

/* filter_token hands the parser the lexer's next token, keeping the last
 * three for messages and following braces, definitions and names.
 *
 * After a syntax error that is not a missing ';', the parser recovers at
 * the end of the declaration it was in: the ';' that ends it, or the '}'
 * that ends the list it is in. Left to bison, recovery would drop tokens
 * only until one could follow: a ';' or '}' inside braces opened after the
 * error, or a type name that could begin a declaration, would be taken for
 * the end of the broken one, and what follows reported as new errors. So
 * while skipping, every token up to a ';' or '}' at the depth of the error
 * is dropped here, with whatever is inside braces opened in between. */
static int filter_token(IDL_YYSTYPE *lval, IDL_YYLTYPE *lloc, void *scanner, idl_parser *ctx)
{
    for (;;) {
        idl_token t;
        if (ctx->nqueued > 0) {
            /* made or given back by a recovery (see missing_brace); the
             * braces were counted when the recovery queued them */
            t = ctx->queued[ctx->qhead++];
            ctx->nqueued--;
            *lloc = t.loc;
            if (t.kind == IDENT)
                lval->str = t.text;
        } else {
            ctx->bad_token = 0;
            int kind = (idl_yylex)(lval, lloc, scanner);
            t = (idl_token){kind, *lloc, NULL, ctx->bad_token, ctx->depth, 0};
            if (kind == IDENT)
                t.text = lval->str;
            else if (kind == NUMBER)
                t.text = lval->num.text;
            if (kind == '{' && ++ctx->depth == 1)
                ctx->open_brace = idl_loc_of(t.loc);
            else if (kind == '}' && ctx->depth > 0)
                ctx->depth--;
            if (kind == '{' && (ctx->cur.kind == KW_ENUM ||
                                (ctx->cur.kind == IDENT && ctx->prev.kind == KW_ENUM)))
                ctx->in_enum = ctx->depth;
            else if (kind == '}' && ctx->depth < ctx->in_enum)
                ctx->in_enum = 0;
        }
        int skip = 0;
        if (ctx->skipping && t.kind != 0) {
            if (t.depth == ctx->skip_depth && (t.kind == ';' || t.kind == '}'))
                ctx->skipping = 0;
            else if (t.depth >= ctx->skip_depth)
                skip = 1;
        }
        int kind = t.kind;
        int starts = kind == KW_CONST || kind == KW_TYPEDEF || kind == KW_STRUCT ||
                     kind == KW_UNION || kind == KW_ENUM || kind == KW_PROGRAM;
        if (starts && t.depth == 0 &&
            (ctx->def_kind == 0 || ctx->cur.kind == ';' || ctx->cur.kind == '}' ||
             t.loc.first_line > ctx->cur.loc.last_line)) {
            ctx->def_kind = kind;
            ctx->def_name = NULL;
        }
        if (kind == IDENT && t.depth == 0 && ctx->def_name == NULL && ctx->cur.kind == ctx->def_kind)
            ctx->def_name = t.text;
        t.def_kind = ctx->def_kind;
        /* what is skipped still counts for the names (note_names) */
        ctx->prev2 = ctx->prev;
        ctx->prev = ctx->cur;
        ctx->cur = t;
        note_names(ctx);
        if (!skip)
            return kind;
    }
}

/* missing_brace recognises a struct left open: inside the braces of a
 * top-level struct, a line that begins a definition (const, typedef,
 * program; or struct, union or enum NAME followed by '{' or switch at the
 * start of a line). It reports it, and queues for the parser a '}' and a
 * ';' that close the struct and then the tokens of the new definition that
 * error recovery took, so that the definition is read as written. The
 * parser gets the queued tokens after it has dropped the one it stopped at,
 * by the error rules of decl_list that end without a ';'. */
static int missing_brace(idl_parser *ctx)
{
    const idl_token *t = &ctx->cur, *p = &ctx->prev, *p2 = &ctx->prev2;
    if (t->def_kind != KW_STRUCT || t->depth != 1 || ctx->nqueued > 0)
        return 0;
    int line_start = t->loc.first_line > p->loc.last_line;
    int keyword = (t->kind == KW_CONST || t->kind == KW_TYPEDEF || t->kind == KW_PROGRAM) &&
                  line_start;
    int tagged = (t->kind == '{' || t->kind == KW_SWITCH) && p->kind == IDENT &&
                 (p2->kind == KW_STRUCT || p2->kind == KW_UNION || p2->kind == KW_ENUM) &&
                 p2->depth == 1 && p2->loc.first_column == 1;
    if (!keyword && !tagged)
        return 0;
    const idl_token *start = tagged ? p2 : t;
    idl_error(ctx->diag, idl_loc_of(start->loc), "expected '}' to end struct '%s'",
              ctx->def_name ? ctx->def_name : "");
    idl_note(ctx->diag, ctx->open_brace, "to match this '{'");
    idl_token close = {'}', start->loc, NULL, 0, 1, KW_STRUCT};
    idl_token semi = {';', start->loc, NULL, 0, 0, KW_STRUCT};
    close.loc.last_line = close.loc.first_line;
    close.loc.last_column = close.loc.first_column;
    semi.loc = close.loc;
    ctx->qhead = 0;
    ctx->queued[ctx->nqueued++] = close;
    ctx->queued[ctx->nqueued++] = semi;
    if (tagged) {
        ctx->queued[ctx->nqueued++] = *p2;
        ctx->queued[ctx->nqueued++] = *p;
    }
    ctx->queued[ctx->nqueued++] = *t;
    for (int i = 2; i < ctx->nqueued; i++) {
        ctx->queued[i].depth--;
        ctx->queued[i].def_kind = 0;
    }
    ctx->depth--;
    return 1;
}

static int is_keyword(yysymbol_kind_t k)
{
    return k >= YYSYMBOL_KW_BOOL && k <= YYSYMBOL_KW_VOID;
}

static int expects(const yysymbol_kind_t *exp, int n, yysymbol_kind_t k)
{
    for (int i = 0; i < n; i++)
        if (exp[i] == k)
            return 1;
    return 0;
}

/* describe names a token for a message: keyword 'int', identifier 'x'. */
static void describe(const idl_token *t, char *buf, size_t n)
{
    yysymbol_kind_t k = YYTRANSLATE(t->kind);
    if (t->kind == 0)
        snprintf(buf, n, "end of file");
    else if (t->kind == IDENT)
        snprintf(buf, n, "identifier '%s'", t->text);
    else if (t->kind == NUMBER)
        snprintf(buf, n, "number %s", t->text);
    else if (is_keyword(k))
        snprintf(buf, n, "keyword '%s'", yysymbol_name(k));
    else if (t->kind == SHL || t->kind == SHR)
        snprintf(buf, n, "'%s'", yysymbol_name(k));
    else
        snprintf(buf, n, "%s", yysymbol_name(k));
}

/* what_ends names what a missing ';' would have ended, from the definition
 * being read and the depth of braces. */
static const char *what_ends(const idl_parser *ctx, int depth)
{
    int def_kind = ctx->prev.def_kind;
    if (def_kind == KW_PROGRAM)
        return depth == 0 ? "program definition"
               : depth == 1 ? "version definition"
                            : "procedure definition";
    if (depth > 0)
        return "declaration";
    switch (def_kind) {
    case KW_CONST:
        return "constant definition";
    case KW_TYPEDEF:
        return "typedef";
    case KW_STRUCT:
        return "struct definition";
    case KW_UNION:
        return "union definition";
    case KW_ENUM:
        return "enum definition";
    default:
        return "definition";
    }
}

/* yyreport_syntax_error reports a syntax error as a compiler would: a
 * missing ';' just after the token it should follow, a keyword written as a
 * name as such, a misspelled keyword with what it resembles, and otherwise
 * what was expected and what was found, at the token found. All but a
 * missing ';' (which recovery supposes) start skipping (filter_token). */
static int yyreport_syntax_error(const yypcontext_t *yyctx, void *scanner, idl_parser *ctx)
{
    (void)scanner;
    ctx->syntax_errors++;
    ctx->missing_semi = 0;
    yysymbol_kind_t exp[YYNTOKENS];
    int n = yypcontext_expected_tokens(yyctx, exp, YYNTOKENS);
    if (n < 0)
        return 2;
    /* where a name goes, the keywords the grammar takes there (to report
     * them as names) are not worth listing; where a type goes they are */
    if (expects(exp, n, YYSYMBOL_IDENT) && !expects(exp, n, YYSYMBOL_KW_INT)) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (!is_keyword(exp[i]))
                exp[m++] = exp[i];
        n = m;
    }
    /* after an operand, the binary operators that could continue it are not
     * what was missing: `case 0 item` lacks the ':' */
    if (!expects(exp, n, YYSYMBOL_NUMBER) && expects(exp, n, YYTRANSLATE('+'))) {
        static const int ops[] = {'|', '^', '&', SHL, SHR, '+', '-', '*', '/', '%'};
        int m = 0;
        for (int i = 0; i < n; i++) {
            int op = 0;
            for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
                op |= exp[i] == YYTRANSLATE(ops[k]);
            if (!op)
                exp[m++] = exp[i];
        }
        n = m;
    }
    const idl_token *t = &ctx->cur, *p = &ctx->prev, *p2 = &ctx->prev2;
    yysymbol_kind_t tok = yypcontext_token(yyctx);
    idl_diag *d = ctx->diag;
    if (p->bad) {
        /* an unterminated string ran to the end of its line: reported */
        ctx->missing_semi = 1;
        return 0;
    }
    if (t->loc.first_order == ctx->semi_before && t->kind != 0) {
        /* the token a missing ';' was reported at: it did not start what
         * comes next after all, but that is the same mistake */
        ctx->skipping = 1;
        ctx->skip_depth = t->depth;
        return 0;
    }
    if (missing_brace(ctx))
        return 0;
    char found[160];
    describe(t, found, sizeof found);
    static const char *const type_keywords[] = {"unsigned", "struct", "union", "enum"};
    if ((tok == YYSYMBOL_KW_INT || tok == YYSYMBOL_KW_HYPER || tok == YYSYMBOL_KW_CHAR ||
         tok == YYSYMBOL_KW_SHORT || tok == YYSYMBOL_KW_LONG) &&
        p->kind == IDENT && idl_suggest(p->text, type_keywords, 1)) {
        idl_error(d, idl_loc_of(p->loc), "unknown type name '%s'; did you mean 'unsigned'?",
                  p->text);
    } else if (t->kind == IDENT && p->kind == IDENT && p2->kind == IDENT &&
               idl_suggest(p2->text, type_keywords + 1, 3)) {
        idl_error(d, idl_loc_of(p2->loc), "unknown type name '%s'; did you mean '%s'?", p2->text,
                  idl_suggest(p2->text, type_keywords + 1, 3));
    } else if (is_keyword(tok) && expects(exp, n, YYSYMBOL_IDENT)) {
        idl_error(d, idl_loc_of(t->loc), "'%s' is a keyword and cannot be used as a name",
                  yysymbol_name(tok));
    } else if (expects(exp, n, YYTRANSLATE(';')) &&
               (t->loc.first_line > p->loc.last_line || t->kind == '}' || t->kind == 0 ||
                n == 1)) {
        idl_loc end = {p->loc.file, p->loc.last_line, p->loc.last_column, p->loc.last_order};
        idl_error(d, end, "expected ';' after %s", what_ends(ctx, t->depth));
        ctx->missing_semi = 1;
        ctx->semi_before = t->loc.first_order;
        return 0;
    } else {
        const char *hint = NULL;
        if (t->kind == IDENT) {
            const char *kws[YYNTOKENS];
            int nk = 0;
            for (int i = 0; i < n; i++)
                if (is_keyword(exp[i]))
                    kws[nk++] = yysymbol_name(exp[i]);
            hint = idl_suggest(t->text, kws, (size_t)nk);
        }
        char want[256] = "";
        if (n > 0 && n <= 4) {
            size_t o = 0;
            for (int i = 0; i < n && o < sizeof want; i++) {
                const char *sep = i == 0 ? "" : i == n - 1 ? " or " : ", ";
                const char *q = is_keyword(exp[i]) ? "'" : "";
                o += (size_t)snprintf(want + o, sizeof want - o, "%s%s%s%s", sep, q,
                                      yysymbol_name(exp[i]), q);
            }
        } else if (expects(exp, n, YYTRANSLATE(';'))) {
            snprintf(want, sizeof want, "';'");
        } else if (expects(exp, n, YYSYMBOL_NUMBER) && expects(exp, n, YYTRANSLATE('('))) {
            snprintf(want, sizeof want, "a constant expression");
        } else if (expects(exp, n, YYSYMBOL_KW_INT)) {
            snprintf(want, sizeof want, "a type");
        } else if (expects(exp, n, YYSYMBOL_KW_CONST) && expects(exp, n, YYSYMBOL_KW_STRUCT)) {
            snprintf(want, sizeof want, "a definition");
        }
        char did[96] = "";
        if (hint)
            snprintf(did, sizeof did, "; did you mean '%s'?", hint);
        if (want[0])
            idl_error(d, idl_loc_of(t->loc), "expected %s, found %s%s", want, found, did);
        else
            idl_error(d, idl_loc_of(t->loc), "unexpected %s%s", found, did);
    }
    if (t->kind != ';' && t->kind != '}' && t->kind != 0) {
        ctx->skipping = 1;
        ctx->skip_depth = t->depth;
    }
    return 0;
}
