/*
 * idl/check_int.h: what the passes of the checks share, and nothing else
 * includes: the checker's state (the one namespace of global names, what is
 * known about each definition, the chain of constants being evaluated), the
 * ERR and NOTE macros every diagnostic goes through, the few helpers more
 * than one pass needs, and the passes themselves, one file each
 * (check_names.c, check_resolve.c, check_constants.c, check_sizes.c,
 * check_unions.c, check_programs.c, check_recursion.c), which check.c runs
 * in that order.
 */
#ifndef PARLEY_IDL_CHECK_INT_H
#define PARLEY_IDL_CHECK_INT_H

#include <stddef.h>
#include <stdint.h>

#include "check.h"
#include "map.h"

/* Expressions deeper than this are rejected outright, and evaluation (which
 * recurses through expressions and through the constants they name) stops
 * at MAX_EVAL_DEPTH frames, so no input can exhaust the C stack. */
#define MAX_EXPR_DEPTH 256
#define MAX_EVAL_DEPTH 10000

#define NONE      IDL_MAP_NONE
#define U32_LIMIT ((int64_t)UINT32_MAX)

/* What a global name stands for. Everything that becomes a C identifier or a
 * #define in generated code lives in one namespace, as with rpcgen. */
typedef enum sym_kind { SYM_DEF, SYM_ENUMERATOR, SYM_VERSION, SYM_PROC } sym_kind;

typedef struct sym {
    sym_kind kind;
    idl_loc loc;
    idl_def *def;       /* DEF: the definition; ENUMERATOR: its enum; VERSION, PROC: the program */
    idl_enumerator *en; /* ENUMERATOR */
    idl_version *ver;   /* VERSION, PROC */
    idl_proc *proc;     /* PROC */
} sym;

/* A procedure whose name is also used, legitimately, in an earlier version
 * of the same program; the programs pass checks that the numbers agree. */
typedef struct proc_alias {
    idl_proc *proc;
    idl_proc *first;
    idl_version *first_ver;
} proc_alias;

/* The evaluation state of a constant, an enum member, or a program, version
 * or procedure number. */
enum { EV_NONE, EV_BUSY, EV_DONE, EV_FAILED };

/* What the checks remember about a definition, an enum member, a version or
 * a procedure. All of them are added before the passes run, so pointers to
 * them stay valid. */
typedef struct info {
    int state;            /* EV_*: evaluation of its value or number */
    int64_t value;        /* when state is EV_DONE */
    idl_enumerator *prev; /* enum members: the member before, or NULL */
    int invalid;          /* an enum with a bad member: unions over it stay quiet */
} info;

/* One constant or enum member being evaluated, innermost last: the chain
 * that a dependency cycle is reported along. */
typedef struct frame {
    const void *key; /* the idl_def or idl_enumerator */
    const char *name;
    idl_loc loc;
    idl_expr *via; /* the name being followed out of it; NULL: the member before */
} frame;

typedef struct checker {
    idl_spec *spec;
    idl_diag *diag;
    int errors;

    idl_map names; /* global name -> index into syms */
    sym *syms;
    size_t nsyms, capsyms;

    proc_alias *aliases;
    size_t naliases, capaliases;

    idl_map infomap; /* idl_def or idl_enumerator -> index into infos */
    info *infos;
    size_t ninfos, capinfos;

    idl_map bad_exprs;      /* top-level expressions too deep to evaluate */
    idl_map numbered_names; /* name expression -> sym of the program, version or
                           procedure whose number it stands for */

    frame *frames;
    size_t nframes, capframes;
    int depth; /* frames of eval() on the C stack */

    int rpcgen_mode;    /* a .x file: undefined names are C's, not errors */
    int allow_external; /* resolving a whole array size or bound, where a C
                           constant can stand (rpcgen_mode only) */
    idl_arena *arena;   /* for the external types made here */
    idl_map unparsed;   /* spec->unparsed_names, as a set */
    int suggestions;    /* "did you mean" searches made: each looks at every
                           name, so a file full of mistakes gets a few */
} checker;

/* Every error goes through ERR so that idl_check can return the count; the
 * format stays a literal, checked by the compiler against its arguments. */
#define ERR(c, loc, ...)  ((c)->errors++, idl_error((c)->diag, (loc), __VA_ARGS__))
#define NOTE(c, loc, ...) idl_note((c)->diag, (loc), __VA_ARGS__)

#define NOTE_PREVIOUS "previous definition is here"

/* ---- shared helpers (check.c) -------------------------------------------- */

/* chk_info_of returns what is known about a definition, enum member,
 * version or procedure (key), or NULL for a key never added. */
info *chk_info_of(checker *c, const void *key);

/* chk_def_invalid says whether a pass marked the definition invalid (an
 * enum with a bad member), chk_mark_invalid marks it. */
int chk_def_invalid(checker *c, const idl_def *d);
void chk_mark_invalid(checker *c, const idl_def *d);

/* chk_lookup returns the index into c->syms of a global name, or NONE. */
size_t chk_lookup(const checker *c, const char *name);

/* chk_find_dups sets first[i], for each of the n keys with valid[i] set, to
 * the position of the earliest valid key equal to it, or NONE when key i is
 * the earliest of its value. It sorts, so that enums with thousands of
 * members cost n log n rather than n squared. */
void chk_find_dups(const int64_t *keys, const int *valid, size_t n, size_t *first);

/* ---- the passes, in the order check.c runs them -------------------------- */

void chk_pass_names(checker *c);
void chk_pass_resolve(checker *c);
void chk_pass_constants(checker *c);
void chk_pass_sizes(checker *c);
void chk_pass_unions(checker *c);
void chk_pass_programs(checker *c);
void chk_pass_recursion(checker *c);

#endif /* PARLEY_IDL_CHECK_INT_H */
