/*
 * idl/parse.h: the front end's entry points: preprocess, lex and parse an
 * IDL file (.x or .idl) into an AST.
 *
 * The preprocessor handles #include "file" and <file>, object-like #define
 * and #undef, #if/#ifdef/#ifndef/#elif/#else/#endif (with defined() and
 * integer expressions), #error, #warning, #pragma (ignored), and cpp line
 * markers, so diagnostics point into the file as written. Every file read is
 * registered with the diag for source lines.
 */
#ifndef PARLEY_IDL_PARSE_H
#define PARLEY_IDL_PARSE_H

#include "ast.h"
#include "diag.h"

typedef struct idl_parse_options {
    const char *const *defines;      /* NULL-terminated "NAME" or "NAME=VALUE", or NULL */
    const char *const *include_dirs; /* NULL-terminated, searched after the file's own folder */
    size_t max_file_size;            /* 0: 16 MiB */
    int max_include_depth;           /* 0: 64 */
} idl_parse_options;

/* idl_parse_file reads, preprocesses and parses path. Errors go to diag; the
 * result is NULL only when nothing could be parsed (the file could not be
 * read). A non-NULL result may still come with errors: check
 * idl_diag_errors. Everything returned lives in arena. */
idl_spec *idl_parse_file(idl_arena *arena, idl_diag *diag, const char *path,
                         const idl_parse_options *opts);

/* idl_parse_text does the same for len bytes of text named name (which need
 * not be NUL-terminated); #include is resolved against include_dirs and the
 * current folder. */
idl_spec *idl_parse_text(idl_arena *arena, idl_diag *diag, const char *name, const char *text,
                         size_t len, const idl_parse_options *opts);

#endif /* PARLEY_IDL_PARSE_H */
