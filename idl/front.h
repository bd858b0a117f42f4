/*
 * idl/front.h: state shared by the lexer and the parser of one file (never
 * globals: both are reentrant), and the location type they pass around.
 */
#ifndef PARLEY_IDL_FRONT_H
#define PARLEY_IDL_FRONT_H

#include "ast.h"
#include "diag.h"

/* The bison location type, carrying the file as well as line and column.
 * The parser's prefix is idl_yy, so bison and flex know it as IDL_YYLTYPE. */
typedef struct IDL_YYLTYPE {
    int first_line;
    int first_column;
    int last_line;
    int last_column;
    const char *file;
    size_t first_order; /* 1 + the byte offset in the preprocessed text */
    size_t last_order;  /* just past the last byte */
} IDL_YYLTYPE;
#define IDL_YYLTYPE_IS_DECLARED 1
#define IDL_YYLTYPE_IS_TRIVIAL  1

/* A token as the parser's filter between lexer and parser saw it. */
typedef struct idl_token {
    int kind; /* the bison token number, 0 at the end */
    IDL_YYLTYPE loc;
    const char *text; /* identifiers: the name */
    int bad;          /* the lexer reported it (an unterminated string) */
    int depth;        /* braces open before it */
    int def_kind;     /* the top-level definition it belongs to (a keyword) */
} idl_token;

typedef struct idl_parser {
    idl_arena *arena;
    idl_diag *diag;
    idl_spec *spec;
    idl_def *tail;    /* last definition appended to spec */
    const char *file; /* the lexer's current position */
    int line;
    int col;
    size_t order; /* 1 + the lexer's offset in the preprocessed text */
    int syntax_errors;
    int errors_at_def; /* syntax_errors when the current definition began */
    int bad_token;     /* the lexer reported the token it returns */
    idl_loc comment;   /* where the open block comment began */
    /* the filter's view: the last two tokens, and what the current
     * top-level definition began with */
    idl_token prev2, prev, cur;
    int depth;
    int skipping; /* after a syntax error: see filter_token in parser.y */
    int skip_depth;
    int missing_semi;     /* the last syntax error was reported as a missing ';' */
    size_t semi_before;   /* order of the token that error was found at */
    idl_loc open_brace;   /* where the braces of the current definition open */
    const char *def_name; /* the name of the current top-level definition */
    idl_token queued[8];  /* tokens to hand the parser before reading on */
    int nqueued, qhead;
    int def_kind; /* the keyword of the current top-level definition, or 0 */
    int in_enum;  /* depth of the enum body being read, or 0 */
    /* names the definitions being read would define, kept for
     * spec->unparsed_names should they fail to parse */
    const char **names;
    size_t nnames, capnames;
    const char **unparsed; /* those of definitions that failed */
    size_t nunparsed, capunparsed;
} idl_parser;

/* idl_parser_append adds def at the end of the specification. The lexer
 * calls it for `%` lines as it reads them, and the parser for each
 * definition once it is complete, which orders them as rpcgen does. */
void idl_parser_append(idl_parser *ctx, idl_def *def);

/* idl_loc_of turns a bison location into an AST location. */
static inline idl_loc idl_loc_of(IDL_YYLTYPE l)
{
    idl_loc loc = {l.file, l.first_line, l.first_column, l.first_order};
    return loc;
}

#endif /* PARLEY_IDL_FRONT_H */
