/*
 * idl/cpp.h: the IDL preprocessor (see cpp.c) and file reading.
 */
#ifndef PARLEY_IDL_CPP_H
#define PARLEY_IDL_CPP_H

#include <stddef.h>

#include "ast.h"
#include "diag.h"
#include "parse.h"

/* idl_preprocess runs len bytes of text, named name, through the
 * directives and returns the result (malloc'ed, NUL-terminated, the caller
 * frees it) with its length in *out_len. Errors go to diag; NULL only when
 * memory ran out. Included files are registered with diag. */
char *idl_preprocess(idl_arena *arena, idl_diag *diag, const char *name, const char *text,
                     size_t len, const idl_parse_options *opts, size_t *out_len);

/* idl_preprocess_marked is idl_preprocess for the lexer: where a macro's
 * value is shorter than its name it is padded with spaces, and where it is
 * longer it is followed by a column mark (the byte 0x1f, the column, 0x1f)
 * that sets the lexer's column back to the text as written, so that every
 * later token of the line keeps the column it was written at. */
char *idl_preprocess_marked(idl_arena *arena, idl_diag *diag, const char *name, const char *text,
                            size_t len, const idl_parse_options *opts, size_t *out_len);

/* idl_read_file reads path whole (at most max bytes) into a malloc'ed
 * buffer; NULL with errno set (EFBIG when larger than max) on failure. */
char *idl_read_file(const char *path, size_t max, size_t *len);

#endif /* PARLEY_IDL_CPP_H */
