/*
 * generator/emit.h: what the C emitters share: an output buffer that counts
 * lines (for #line directives), and questions about checked IDL types (their
 * C spelling, their wire sizes, whether they own memory).
 *
 * The emitters run only on a specification the checks passed, so they may
 * rely on every "filled in by the checks" field of the AST.
 */
#ifndef PARLEY_GEN_EMIT_H
#define PARLEY_GEN_EMIT_H

#include <stddef.h>
#include <stdint.h>

#include "ast.h"
#include "diag.h"

/* An output file being built in memory; written to disk only when complete. */
typedef struct gen_out {
    char *buf;
    size_t len, cap;
    int line;          /* lines written so far + 1: the current line */
    const char *name;  /* the output file's name, for #line back to it */
    int back_pending;  /* a #line back to the output is due before more text */
    int back_after_nl; /* ... once the current line is complete */
    int oom;
} gen_out;

/* Options shared by the emitters. */
typedef struct gen_opts {
    int line_directives;  /* emit #line directives back to the IDL */
    const char *idl_name; /* the IDL file as named on the command line */
    const char *base;     /* the output base name ("foo" for foo.h) */
} gen_opts;

void gen_printf(gen_out *o, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void gen_puts(gen_out *o, const char *s);
/* gen_line_to_idl points the compiler at loc in the IDL for the next line
 * written (the first line of what the definition there generates), then back
 * at the output file itself; gen_line_back does the latter at once. Both do
 * nothing when line directives are off. */
void gen_line_to_idl(gen_out *o, const gen_opts *opts, idl_loc loc);
void gen_line_back(gen_out *o, const gen_opts *opts);
void gen_out_free(gen_out *o);

/* ---- type questions (valid after the checks) -------------------------- */

/* What a scalar declaration of a type is, once typedefs of plain names are
 * followed. */
typedef enum gen_kind {
    GK_INT, /* int: 4 bytes */
    GK_UINT,
    GK_HYPER,
    GK_UHYPER,
    GK_FLOAT,
    GK_DOUBLE,
    GK_BOOL,
    GK_CHAR,  /* char, u_char, short, u_short, long, u_long: 4 bytes with a */
    GK_UCHAR, /* range check */
    GK_SHORT,
    GK_USHORT,
    GK_LONG,
    GK_ULONG,
    GK_ENUM,    /* def: the enum */
    GK_STRUCT,  /* def: the struct or union (encoded by its function) */
    GK_TYPEDEF, /* def: a typedef of an array, string, opaque or optional */
    GK_VOID
} gen_kind;

typedef struct gen_type {
    gen_kind kind;
    idl_def *def;
} gen_type;

/* gen_classify follows typedefs of plain names from t. */
gen_type gen_classify(const idl_type *t);

/* gen_ctype is the C spelling of a type as rpcgen writes it in a
 * declaration ("u_int", "quad_t", "color", "struct user" for a struct not
 * yet complete at that point when forward is set). */
const char *gen_ctype(const idl_type *t);

/* gen_prim_size is 4 or 8 for the kinds that are one XDR integer, else 0. */
size_t gen_prim_size(gen_kind k);

/* gen_*_fixed return nonzero when every value of the declaration or type has
 * the same encoded size, stored in *size (saturating at UINT32_MAX). */
int gen_decl_fixed(const idl_decl *d, uint64_t *size);
int gen_type_fixed(const idl_type *t, uint64_t *size);
int gen_def_fixed(idl_def *def, uint64_t *size);

/* gen_min_size is the smallest encoded size of a value of a declaration or
 * type, saturating at UINT32_MAX. */
uint64_t gen_decl_min_size(const idl_decl *d);
uint64_t gen_type_min_size(const idl_type *t);
uint64_t gen_def_min_size(idl_def *def);

/* gen_needs_free is nonzero when a value of the declaration or type owns
 * memory (a string, an array or opaque of variable length, an optional, or
 * anything holding one of those). */
int gen_decl_needs_free(const idl_decl *d);
int gen_type_needs_free(const idl_type *t);
int gen_def_needs_free(idl_def *def);

/* gen_is_type_def is nonzero for the definitions that are types with codec
 * functions (enum, struct, union, typedef). */
int gen_is_type_def(const idl_def *def);

/* gen_check_names reports the IDL names that clash with a name the
 * generated C defines, and the names the generated C would define twice
 * (see names.c), returning the number of errors. Run it after the
 * front end's checks passed, before any emitter. */
int gen_check_names(const idl_spec *spec, idl_diag *diag);

/* The emitters. Each returns 0, or -1 when memory ran out. */
int gen_emit_header(gen_out *o, const idl_spec *spec, const gen_opts *opts);
int gen_emit_xdr(gen_out *o, const idl_spec *spec, const gen_opts *opts);
int gen_emit_client(gen_out *o, const idl_spec *spec, const gen_opts *opts);
int gen_emit_server(gen_out *o, const idl_spec *spec, const gen_opts *opts);
/* --sample (emit_sample.c): a server's main() and a stub per procedure,
 * and a client's main() calling each procedure once. */
int gen_emit_sample_server(gen_out *o, const idl_spec *spec, const gen_opts *opts);
int gen_emit_sample_client(gen_out *o, const idl_spec *spec, const gen_opts *opts);

/* For the stubs (emit_xdr.c): the code that encodes, decodes, and sizes
 * (_n += ...) a procedure's argument or result of type t at lv, on cursors
 * named _e and _d. */
void gen_proc_enc(gen_out *o, int in, const idl_type *t, const char *lv);
void gen_proc_dec(gen_out *o, int in, const idl_type *t, const char *lv);
void gen_proc_size(gen_out *o, int in, const idl_type *t, const char *lv);

/* gen_proc_name is the C name of procedure p of version v: rpcgen's, the
 * name in lower case and the version number ("date_now_1"), malloc'ed. */
char *gen_proc_name(const idl_proc *p, const idl_version *v);

/* gen_prog_name is the C name of the definition of version v of program
 * prog: the name in lower case and the version number, malloc'ed. */
char *gen_prog_name(const idl_def *prog, const idl_version *v);

/* gen_proc_ctype is the C type of a procedure argument or result. */
const char *gen_proc_ctype(const idl_type *t);

/* gen_stub_prototypes writes, for the header, the client calls and the
 * procedures a server implements, and the program definitions. */
void gen_stub_prototypes(gen_out *o, const idl_spec *spec);

#endif /* PARLEY_GEN_EMIT_H */
