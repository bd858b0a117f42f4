/*
 * idl/check.c: the semantic checks of the IDL compiler, the driver.
 *
 * The parser builds the AST (ast.h); idl_check validates it before the
 * emitters in generator/ walk it. The checks are separate passes, one file
 * each (check_int.h lists them), run in a fixed order: names, resolution,
 * constants, sizes, unions, programs, recursion. Every pass reports every
 * error it finds, never only the first, and fills in the fields that ast.h
 * marks "filled in by the checks" for the nodes it found valid. A later pass
 * skips whatever an earlier pass found invalid, so one mistake gives one
 * error rather than a cascade. The AST is annotated, never restructured;
 * the checks' own tables (map.h) are allocated with malloc and freed before
 * idl_check returns. This file holds the state the passes share and the
 * helpers more than one of them uses.
 */
#include "check_int.h"

#include <stdlib.h>
#include <string.h>

/* chk_info_of: see check_int.h. */
info *chk_info_of(checker *c, const void *key)
{
    size_t i = idl_map_get(&c->infomap, key);
    return i == NONE ? NULL : &c->infos[i];
}

/* info_add makes the record of a key; idl_check adds every one before the
 * passes run. */
static info *info_add(checker *c, const void *key)
{
    c->infos = idl_grow(c->infos, c->ninfos, &c->capinfos, sizeof *c->infos);
    info *in = &c->infos[c->ninfos];
    memset(in, 0, sizeof *in);
    idl_map_put(&c->infomap, key, c->ninfos++);
    return in;
}

/* chk_def_invalid and chk_mark_invalid: see check_int.h. */
int chk_def_invalid(checker *c, const idl_def *d)
{
    const info *in = chk_info_of(c, d);
    return in != NULL && in->invalid;
}

void chk_mark_invalid(checker *c, const idl_def *d)
{
    info *in = chk_info_of(c, d);
    if (in != NULL)
        in->invalid = 1;
}

/* chk_lookup: see check_int.h. */
size_t chk_lookup(const checker *c, const char *name)
{
    return name == NULL ? NONE : idl_map_get(&c->names, name);
}

/* A value and where it came from, for finding duplicates among many. */
typedef struct keyed {
    int64_t key;
    size_t pos; /* position in the caller's array */
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* chk_find_dups: see check_int.h. */
void chk_find_dups(const int64_t *keys, const int *valid, size_t n, size_t *first)
{
    keyed *k = idl_xcalloc(n, sizeof *k);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        first[i] = NONE;
        if (valid[i]) {
            k[m].key = keys[i];
            k[m].pos = i;
            m++;
        }
    }
    qsort(k, m, sizeof *k, cmp_keyed);
    for (size_t i = 1; i < m; i++) {
        size_t head = i;
        while (head > 0 && k[head - 1].key == k[i].key)
            head--;
        if (head != i)
            first[k[i].pos] = k[head].pos;
    }
    free(k);
}

/* next_typedef returns the definition a typedef of a plain named type
 * stands for, or NULL when d is not such a typedef. */
static idl_def *next_typedef(const idl_def *d)
{
    if (d->kind != IDL_DEF_TYPEDEF)
        return NULL;
    const idl_decl *decl = d->u.tdef.decl;
    if (decl == NULL || decl->kind != IDL_D_SCALAR || decl->type == NULL ||
        decl->type->kind != IDL_T_NAMED)
        return NULL;
    return decl->type->ref;
}

/* idl_resolve_type follows plain typedefs of names from t. It stays finite
 * on a typedef cycle (reported by the checks, but it is also called while
 * they run): the slow pointer moves at half speed, and meeting it means a
 * loop, where any member serves as the answer. */
idl_def *idl_resolve_type(const idl_type *t)
{
    if (t == NULL || t->kind != IDL_T_NAMED || t->ref == NULL)
        return NULL;
    idl_def *d = t->ref, *slow = t->ref;
    int step = 0;
    for (idl_def *next; (next = next_typedef(d)) != NULL;) {
        d = next;
        if (step++ & 1)
            slow = next_typedef(slow);
        if (d == slow)
            break;
    }
    return d;
}

/* idl_check runs the passes in order; see check.h. Every pass runs even
 * when an earlier one reported errors, so that one run shows them all. */
int idl_check(idl_spec *spec, idl_diag *diag)
{
    if (spec == NULL || spec->pp_errors)
        return 0;
    checker c = {.spec = spec, .diag = diag};
    c.names.strings = 1;
    size_t flen = spec->file != NULL ? strlen(spec->file) : 0;
    c.rpcgen_mode = flen >= 2 && strcmp(spec->file + flen - 2, ".x") == 0;
    c.arena = spec->arena;
    c.unparsed.strings = 1;
    for (size_t i = 0; i < spec->nunparsed; i++)
        idl_map_put(&c.unparsed, spec->unparsed_names[i], 1);
    for (idl_def *d = spec->defs; d != NULL; d = d->next) {
        if (d->kind == IDL_DEF_PASSTHRU)
            continue;
        info_add(&c, d);
        if (d->kind == IDL_DEF_PROGRAM) {
            for (idl_version *v = d->u.prog.versions; v != NULL; v = v->next) {
                info_add(&c, v);
                for (idl_proc *p = v->procs; p != NULL; p = p->next)
                    info_add(&c, p);
            }
        }
        if (d->kind == IDL_DEF_ENUM) {
            idl_enumerator *prev = NULL;
            for (idl_enumerator *e = d->u.enm.members; e != NULL; e = e->next) {
                info_add(&c, e)->prev = prev;
                prev = e;
            }
        }
    }

    chk_pass_names(&c);
    chk_pass_resolve(&c);
    chk_pass_constants(&c);
    chk_pass_sizes(&c);
    chk_pass_unions(&c);
    chk_pass_programs(&c);
    chk_pass_recursion(&c);

    idl_map_free(&c.names);
    idl_map_free(&c.infomap);
    idl_map_free(&c.bad_exprs);
    idl_map_free(&c.numbered_names);
    idl_map_free(&c.unparsed);
    free(c.syms);
    free(c.aliases);
    free(c.infos);
    free(c.frames);
    return c.errors;
}
