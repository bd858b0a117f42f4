/*
 * generator/names.c: the names the generated C itself defines, checked
 * against the names an IDL file defines, before any emitter runs.
 *
 * The front end's checks (idl/check_*.c) know the IDL's one namespace; they
 * do not know what the emitters add to it. Each type T gets functions
 * T_enc, T_dec, T_size, T_free, T_encode, T_decode (and an enum T__valid),
 * so a constant, type or enum member spelled like one of those for another
 * type would clash with it in C. (The generated code's own parameters and
 * locals need no check: they all begin with '_', which no global IDL name
 * may; nor do the fields of the runtime's codec cursors, which it reaches
 * only through the accessors of parley/xdr.h, defined before any #define of
 * the generated header.) This check sits beside the emitters so that it
 * changes with them.
 */
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "map.h"

static const char *const generated_suffixes[] = {"_enc",    "_dec",    "_size",   "_free",
                                                 "_encode", "_decode", "__valid", NULL};

/* A global name of the IDL file, and where it is defined. */
typedef struct name_ent {
    const char *name;
    idl_loc loc;
} name_ent;

/* A name that is also the name of a function generated for a type. */
typedef struct clash {
    const name_ent *hit;
    const idl_def *type;
    size_t order; /* the order found, to keep the sort stable */
} clash;

static int cmp_clash(const void *a, const void *b)
{
    const clash *x = a, *y = b;
    if (x->hit->loc.line != y->hit->loc.line)
        return x->hit->loc.line < y->hit->loc.line ? -1 : 1;
    if (x->hit->loc.col != y->hit->loc.col)
        return x->hit->loc.col < y->hit->loc.col ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* gen_check_names: see emit.h. */
int gen_check_names(const idl_spec *spec, idl_diag *diag)
{
    name_ent *names = NULL;
    size_t n = 0, cap = 0;
    idl_map index = IDL_MAP_STRINGS; /* name -> index into names */
    for (const idl_def *d = spec->defs; d != NULL; d = d->next) {
        if (d->kind == IDL_DEF_PASSTHRU || d->name == NULL)
            continue;
        names = idl_grow(names, n, &cap, sizeof *names);
        names[n] = (name_ent){d->name, d->loc};
        idl_map_put(&index, d->name, n++);
        if (d->kind != IDL_DEF_ENUM)
            continue;
        for (const idl_enumerator *m = d->u.enm.members; m != NULL; m = m->next) {
            if (m->name == NULL)
                continue;
            names = idl_grow(names, n, &cap, sizeof *names);
            names[n] = (name_ent){m->name, m->loc};
            idl_map_put(&index, m->name, n++);
        }
    }

    int errors = 0;
    /* clashes, reported in the order of the names that clash */
    clash *clashes = NULL;
    size_t nclash = 0, capclash = 0;
    for (const idl_def *d = spec->defs; d != NULL; d = d->next) {
        if (!gen_is_type_def(d))
            continue;
        size_t len = strlen(d->name);
        for (const char *const *s = generated_suffixes; *s; s++) {
            char *fn = malloc(len + strlen(*s) + 1);
            if (fn == NULL)
                abort();
            memcpy(fn, d->name, len);
            strcpy(fn + len, *s);
            size_t hit = idl_map_get(&index, fn);
            free(fn);
            if (hit == IDL_MAP_NONE)
                continue;
            clashes = idl_grow(clashes, nclash, &capclash, sizeof *clashes);
            clashes[nclash] = (clash){&names[hit], d, nclash};
            nclash++;
        }
    }
    if (nclash > 1) /* qsort is not to be given NULL, even for nothing */
        qsort(clashes, nclash, sizeof *clashes, cmp_clash);
    for (size_t i = 0; i < nclash; i++) {
        const clash *k = &clashes[i];
        idl_error(diag, k->hit->loc,
                  "'%s' clashes with the function the generated code defines for type '%s'",
                  k->hit->name, k->type->name);
        idl_note(diag, k->type->loc, "'%s' is defined here", k->type->name);
        errors++;
    }
    free(clashes);
    idl_map_free(&index);
    free(names);
    return errors;
}
