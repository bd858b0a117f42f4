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
} IDL_YYLTYPE;
#define IDL_YYLTYPE_IS_DECLARED 1
#define IDL_YYLTYPE_IS_TRIVIAL  1

typedef struct idl_parser {
    idl_arena *arena;
    idl_diag *diag;
    idl_spec *spec;
    idl_def *tail;    /* last definition appended to spec */
    const char *file; /* the lexer's current position */
    int line;
    int col;
    int syntax_errors;
    idl_loc comment; /* where the open block comment began */
} idl_parser;

/* idl_parser_append adds def at the end of the specification. The lexer
 * calls it for `%` lines as it reads them, and the parser for each
 * definition once it is complete, which orders them as rpcgen does. */
void idl_parser_append(idl_parser *ctx, idl_def *def);

/* idl_loc_of turns a bison location into an AST location. */
static inline idl_loc idl_loc_of(IDL_YYLTYPE l)
{
    idl_loc loc = {l.file, l.first_line, l.first_column};
    return loc;
}

#endif /* PARLEY_IDL_FRONT_H */
