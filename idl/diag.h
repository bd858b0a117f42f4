/*
 * idl/diag.h: diagnostics in the compilers' format.
 *
 *   file:line:col: error: message
 *    source line
 *         ^
 *   file:line:col: note: previous definition is here
 *   2 errors generated.
 *
 * The front end and the checks report through one idl_diag, which counts the
 * errors; the generator exits 1 when any was reported. Source lines are
 * printed from the texts registered with idl_diag_add_source (the
 * preprocessor registers every file it reads).
 *
 * Diagnostics are held until idl_diag_flush, which prints them sorted by
 * their position in the preprocessed text (idl_loc.order), each error or
 * warning with its notes: the preprocessor, the parser and each pass of the
 * checks find their mistakes at different times, and the reader wants them
 * in the order of the file.
 */
#ifndef PARLEY_IDL_DIAG_H
#define PARLEY_IDL_DIAG_H

#include <stdio.h>

#include "ast.h"

typedef struct idl_diag idl_diag;

/* idl_diag_create makes a sink that writes to out (stderr, or a memory
 * stream in tests). Of more than max_errors errors (0: 100) it prints the
 * first max_errors in the order of the text, then "too many errors" once;
 * idl_diag_errors and the summary count them all. */
idl_diag *idl_diag_create(FILE *out, int max_errors);
void idl_diag_destroy(idl_diag *d);

/* idl_diag_set_color turns ANSI colours on or off (off by default). */
void idl_diag_set_color(idl_diag *d, int on);

/* idl_diag_flush prints what was reported since the last flush, in the
 * order of the text (diagnostics without a position first, as they were
 * reported), then "too many errors" if errors were dropped. */
void idl_diag_flush(idl_diag *d);

/* idl_diag_summary flushes, then prints "N errors generated." (and the
 * warnings, as clang counts them) when anything was reported. */
void idl_diag_summary(idl_diag *d);

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

/* idl_suggest returns the candidate closest to name by edit distance
 * (Damerau-Levenshtein, optimal string alignment), or NULL when none is
 * close enough to be a likely misspelling: at most a third of the longer
 * name's length, at least one edit, fewer edits than the candidate has
 * characters, and never name itself. Ties go to the earlier candidate. */
const char *idl_suggest(const char *name, const char *const *cands, size_t n);

#endif /* PARLEY_IDL_DIAG_H */
