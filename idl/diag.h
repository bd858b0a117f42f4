/*
 * idl/diag.h: diagnostics in the compilers' format.
 *
 *   file:line:col: error: message
 *    source line
 *         ^
 *   file:line:col: note: previous definition is here
 *
 * The front end and the checks report through one idl_diag, which counts the
 * errors; the generator exits 1 when any was reported. Source lines are
 * printed from the texts registered with idl_diag_add_source (the
 * preprocessor registers every file it reads).
 */
#ifndef PARLEY_IDL_DIAG_H
#define PARLEY_IDL_DIAG_H

#include <stdio.h>

#include "ast.h"

typedef struct idl_diag idl_diag;

/* idl_diag_create makes a sink that writes to out (stderr, or a memory
 * stream in tests). After max_errors errors (0: 100) it reports "too many
 * errors" once and drops the rest. */
idl_diag *idl_diag_create(FILE *out, int max_errors);
void idl_diag_destroy(idl_diag *d);

/* idl_diag_add_source registers the text of file for printing source lines;
 * the diag keeps its own copy. */
void idl_diag_add_source(idl_diag *d, const char *file, const char *text, size_t len);

/* idl_diag_source_file is the name of the i-th file registered (0: the
 * first, in the order they were read), or NULL past the last: the input and
 * every file it included, for parleygen's --depfile. The name lives as long
 * as d. */
const char *idl_diag_source_file(const idl_diag *d, size_t i);

#if defined(__GNUC__) || defined(__clang__)
#define IDL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define IDL_PRINTF(f, a)
#endif

/* idl_error reports an error at loc; idl_warning a warning; idl_note a note
 * that belongs to the error or warning just reported. A loc with a NULL file
 * prints "parleygen: error: ..." without a position. */
void idl_error(idl_diag *d, idl_loc loc, const char *fmt, ...) IDL_PRINTF(3, 4);
void idl_warning(idl_diag *d, idl_loc loc, const char *fmt, ...) IDL_PRINTF(3, 4);
void idl_note(idl_diag *d, idl_loc loc, const char *fmt, ...) IDL_PRINTF(3, 4);

/* idl_diag_errors is the number of errors reported so far. */
int idl_diag_errors(const idl_diag *d);

#endif /* PARLEY_IDL_DIAG_H */
