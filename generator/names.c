/*
 * generator/names.c: the names the generated C itself defines, checked
 * against the names an IDL file defines, before any emitter runs.
 *
 * The front end's checks (idl/check_*.c) know the IDL's one namespace; they
 * do not know what the emitters add to it. Each type T gets functions
 * T_enc, T_dec, T_size, T_free, T_encode, T_decode, T_copy, T_cpy (and an
 * enum T__valid, an external type T__cpy);
 * each procedure PROC of version n gets the client calls proc_n,
 * proc_n_submit, proc_n_opts, proc_n_submit_opts, proc_n_arena and
 * proc_n_submit_arena, the server function
 * proc_n_svc, and the stubs' own proc_n_args, proc_n_res, proc_n_handler and
 * struct proc_n_argv; each version n of program P gets p_n and p_n_procs
 * (see emit_stubs.c). An IDL name spelled like one of those would clash with
 * it in C, and so would two of those spelled alike (a procedure `ping` and
 * a procedure or program `PING` in a version 1, both ping_1). (The
 * generated code's own parameters and locals need no check: they all begin
 * with '_', which no global IDL name may; nor do the fields of the
 * runtime's codec cursors, which it reaches only through the accessors of
 * parley/xdr.h, defined before any #define of the generated header.) This
 * check sits beside the emitters so that it changes with them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "map.h"

static const char *const generated_suffixes[] = {"_enc",    "_dec",    "_size", "_free",
                                                 "_encode", "_decode", "_copy", "_cpy",
                                                 "__valid", "__cpy",   NULL};

/* The C namespaces a name lives in. A #define rewrites a name of any
 * namespace; an IDL struct, union or enum is both a tag and a typedef. */
enum { NS_ORDINARY = 1, NS_TAG = 2, NS_MACRO = 4 };

/* A global name of the IDL file, where it is defined, and its namespaces. */
typedef struct name_ent {
    const char *name;
    idl_loc loc;
    int ns;
} name_ent;

/* A name the generated stubs define: what it is, and for which procedure
 * (proc set) or version of a program (proc NULL). */
typedef struct stub_ent {
    char *name;
    const char *what;
    int ns; /* NS_ORDINARY or NS_TAG */
    const idl_def *prog;
    const idl_version *ver;
    const idl_proc *proc;
    idl_loc loc; /* the procedure's or the version's */
} stub_ent;

/* A clash, reported at `at`: an IDL name that is also the name of a
 * function generated for a type (type set) or of a name the stubs define
 * (stub set); or a name the stubs define twice (stub and first set). */
typedef struct clash {
    idl_loc at;
    const name_ent *hit;
    const idl_def *type;
    const stub_ent *stub;
    const stub_ent *first;
    size_t order; /* the order found, to keep the sort stable */
} clash;

typedef struct clashes {
    clash *v;
    size_t n, cap;
} clashes;

static void add_clash(clashes *c, clash k)
{
    c->v = idl_grow(c->v, c->n, &c->cap, sizeof *c->v);
    k.order = c->n;
    c->v[c->n++] = k;
}

static int cmp_loc(idl_loc a, idl_loc b)
{
    if (a.line != b.line)
        return a.line < b.line ? -1 : 1;
    if (a.col != b.col)
        return a.col < b.col ? -1 : 1;
    return 0;
}

static int cmp_clash(const void *a, const void *b)
{
    const clash *x = a, *y = b;
    int c = cmp_loc(x->at, y->at);
    if (c != 0)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static char *concat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (s == NULL)
        abort();
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

typedef struct stubs {
    stub_ent *v;
    size_t n, cap;
} stubs;

static void add_stub(stubs *s, const char *base, const char *suffix, const char *what, int ns,
                     const idl_def *prog, const idl_version *ver, const idl_proc *proc)
{
    s->v = idl_grow(s->v, s->n, &s->cap, sizeof *s->v);
    s->v[s->n++] = (stub_ent){
        concat(base, suffix), what, ns, prog, ver, proc, proc != NULL ? proc->loc : ver->loc};
}

static int is_void(const idl_type *t)
{
    return t->kind == IDL_T_VOID;
}

/* collect_stubs lists the names emit_stubs.c defines, under the same
 * conditions, in the order it defines them. */
static void collect_stubs(const idl_spec *spec, stubs *s)
{
    for (const idl_def *d = spec->defs; d != NULL; d = d->next) {
        if (d->kind != IDL_DEF_PROGRAM)
            continue;
        for (const idl_version *v = d->u.prog.versions; v != NULL; v = v->next) {
            for (const idl_proc *p = v->procs; p != NULL; p = p->next) {
                char *nm = gen_proc_name(p, v);
                int result = !is_void(p->result);
                add_stub(s, nm, "", "client call", NS_ORDINARY, d, v, p);
                add_stub(s, nm, "_submit", "asynchronous client call", NS_ORDINARY, d, v, p);
                add_stub(s, nm, "_opts", "client call with options", NS_ORDINARY, d, v, p);
                add_stub(s, nm, "_submit_opts", "asynchronous client call with options",
                         NS_ORDINARY, d, v, p);
                if (result) {
                    add_stub(s, nm, "_arena", "client call into an arena", NS_ORDINARY, d, v, p);
                    add_stub(s, nm, "_submit_arena", "asynchronous client call into an arena",
                             NS_ORDINARY, d, v, p);
                }
                if (!(p->num == 0 && p->nargs == 0 && !result))
                    add_stub(s, nm, "_svc", "server function", NS_ORDINARY, d, v, p);
                if (p->nargs > 1)
                    add_stub(s, nm, "_argv", "client's struct of arguments", NS_TAG, d, v, p);
                if (p->nargs > 0)
                    add_stub(s, nm, "_args", "client's argument encoder", NS_ORDINARY, d, v, p);
                if (result)
                    add_stub(s, nm, "_res", "client's result decoder", NS_ORDINARY, d, v, p);
                add_stub(s, nm, "_handler", "server's handler", NS_ORDINARY, d, v, p);
                free(nm);
            }
            char *pn = gen_prog_name(d, v);
            add_stub(s, pn, "", "program definition", NS_ORDINARY, d, v, NULL);
            add_stub(s, pn, "_procs", "server's table of procedures", NS_ORDINARY, d, v, NULL);
            free(pn);
        }
    }
}

/* owner describes what a stub name is defined for, into buf. */
static const char *owner(const stub_ent *s, char *buf, size_t cap)
{
    if (s->proc != NULL)
        snprintf(buf, cap, "procedure '%s'", s->proc->name);
    else
        snprintf(buf, cap, "version '%s' of program '%s'", s->ver->name, s->prog->name);
    return buf;
}

static const char *owner_name(const stub_ent *s)
{
    return s->proc != NULL ? s->proc->name : s->ver->name;
}

static int same_owner(const stub_ent *a, const stub_ent *b)
{
    return a->proc == b->proc && a->ver == b->ver;
}

/* reported is nonzero when a name that a and b's owners both define is
 * already reported: two procedures named alike clash in each of their
 * names, and one error says it. */
static int reported(const clashes *c, const stub_ent *a, const stub_ent *b)
{
    for (size_t i = 0; i < c->n; i++) {
        const clash *k = &c->v[i];
        if (k->first != NULL && ((same_owner(k->first, a) && same_owner(k->stub, b)) ||
                                 (same_owner(k->first, b) && same_owner(k->stub, a))))
            return 1;
    }
    return 0;
}

static void add_name(name_ent **names, size_t *n, size_t *cap, idl_map *index, const char *name,
                     idl_loc loc, int ns)
{
    if (name == NULL || idl_map_get(index, name) != IDL_MAP_NONE)
        return; /* a procedure kept across versions is one #define */
    *names = idl_grow(*names, *n, cap, sizeof **names);
    (*names)[*n] = (name_ent){name, loc, ns};
    idl_map_put(index, name, (*n)++);
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
        int ns = d->kind == IDL_DEF_CONST || d->kind == IDL_DEF_PROGRAM ? NS_MACRO
                 : d->kind == IDL_DEF_TYPEDEF                           ? NS_ORDINARY
                                                                        : NS_ORDINARY | NS_TAG;
        add_name(&names, &n, &cap, &index, d->name, d->loc, ns);
        if (d->kind == IDL_DEF_ENUM) {
            for (const idl_enumerator *m = d->u.enm.members; m != NULL; m = m->next)
                add_name(&names, &n, &cap, &index, m->name, m->loc, NS_ORDINARY);
        } else if (d->kind == IDL_DEF_PROGRAM) {
            for (const idl_version *v = d->u.prog.versions; v != NULL; v = v->next) {
                add_name(&names, &n, &cap, &index, v->name, v->loc, NS_MACRO);
                for (const idl_proc *p = v->procs; p != NULL; p = p->next)
                    add_name(&names, &n, &cap, &index, p->name, p->loc, NS_MACRO);
            }
        }
    }

    clashes found = {NULL, 0, 0};
    for (const idl_def *d = spec->defs; d != NULL; d = d->next) {
        if (!gen_is_type_def(d))
            continue;
        for (const char *const *s = generated_suffixes; *s; s++) {
            char *fn = concat(d->name, *s);
            size_t hit = idl_map_get(&index, fn);
            free(fn);
            if (hit != IDL_MAP_NONE)
                add_clash(&found, (clash){.at = names[hit].loc, .hit = &names[hit], .type = d});
        }
    }

    stubs st = {NULL, 0, 0};
    collect_stubs(spec, &st);
    idl_map defined = IDL_MAP_STRINGS; /* stub name -> index into st, first one */
    for (size_t i = 0; i < st.n; i++) {
        const stub_ent *s = &st.v[i];
        size_t first = idl_map_get(&defined, s->name);
        if (first != IDL_MAP_NONE) {
            const stub_ent *f = &st.v[first];
            if (f->ns == s->ns && !reported(&found, f, s)) {
                /* reported at the later of the two, the other in a note */
                int later = cmp_loc(s->loc, f->loc) >= 0;
                add_clash(&found, (clash){.at = later ? s->loc : f->loc,
                                          .stub = later ? s : f,
                                          .first = later ? f : s});
            }
            continue;
        }
        idl_map_put(&defined, s->name, i);
        size_t hit = idl_map_get(&index, s->name);
        if (hit != IDL_MAP_NONE && (names[hit].ns & (NS_MACRO | s->ns)))
            add_clash(&found, (clash){.at = names[hit].loc, .hit = &names[hit], .stub = s});
    }

    if (found.n > 1) /* qsort is not to be given NULL, even for nothing */
        qsort(found.v, found.n, sizeof *found.v, cmp_clash);
    for (size_t i = 0; i < found.n; i++) {
        const clash *k = &found.v[i];
        char a[256], b[256];
        if (k->type != NULL) {
            idl_error(diag, k->at,
                      "'%s' clashes with the function the generated code defines for type '%s'",
                      k->hit->name, k->type->name);
            idl_note(diag, k->type->loc, "'%s' is defined here", k->type->name);
        } else if (k->hit != NULL) {
            idl_error(diag, k->at, "'%s' clashes with the %s the generated code declares for %s",
                      k->hit->name, k->stub->what, owner(k->stub, a, sizeof a));
            idl_note(diag, k->stub->loc, "'%s' is defined here", owner_name(k->stub));
        } else {
            idl_error(diag, k->at,
                      "the generated code would define '%s' twice: as the %s for %s, and as the "
                      "%s for %s",
                      k->stub->name, k->first->what, owner(k->first, a, sizeof a), k->stub->what,
                      owner(k->stub, b, sizeof b));
            idl_note(diag, k->first->loc, "'%s' is defined here", owner_name(k->first));
        }
    }
    int errors = (int)found.n;
    free(found.v);
    idl_map_free(&defined);
    for (size_t i = 0; i < st.n; i++)
        free(st.v[i].name);
    free(st.v);
    idl_map_free(&index);
    free(names);
    return errors;
}
