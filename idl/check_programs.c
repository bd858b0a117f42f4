/*
 * idl/check_programs.c: pass 6 of the checks, programs and attributes.
 *
 * Checks program, version and procedure numbers (in range, none used twice
 * where it must be unique, a procedure kept across versions keeping its
 * number), procedure arguments, and the attributes of every definition,
 * filling in each program's service name and each procedure's delivery
 * semantics.
 */
#include "check_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef enum attr_place { AT_PROGRAM, AT_VERSION, AT_PROC, AT_OTHER } attr_place;

static const struct {
    const char *name;
    idl_semantics sem;
} semantics_attrs[] = {
    {"idempotent", IDL_SEM_IDEMPOTENT},
    {"at_most_once", IDL_SEM_AT_MOST_ONCE},
    {"exactly_once", IDL_SEM_EXACTLY_ONCE},
};

/* valid_service_name follows the matchmaker's rule (matchmaker.idl): 1 to
 * 64 letters, digits, '_', '.' or '-', the first a letter or a digit, so
 * that every name the IDL accepts can be registered. */
static int valid_service_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
          (s[0] >= '0' && s[0] <= '9')))
        return 0;
    for (; *s; s++) {
        char ch = *s;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '.' || ch == '-'))
            return 0;
    }
    return 1;
}

/* check_attrs checks the attributes of one node, returning its delivery
 * semantics (IDL_SEM_DEFAULT when it has none) and, for a program, its
 * @service attribute in *service. */
static idl_semantics check_attrs(checker *c, idl_attr *attrs, attr_place place, idl_attr **service)
{
    idl_attr *sem_attr = NULL;
    size_t sem_index = 0;
    idl_semantics sem = IDL_SEM_DEFAULT;
    for (idl_attr *a = attrs; a != NULL; a = a->next) {
        const char *name = a->name != NULL ? a->name : "";
        if (strcmp(name, "service") == 0) {
            if (place != AT_PROGRAM) {
                ERR(c, a->loc, "attribute '@service' only applies to programs");
            } else if (*service != NULL) {
                ERR(c, a->loc, "duplicate attribute '@service'");
                NOTE(c, (*service)->loc, "%s", NOTE_PREVIOUS);
            } else if (a->arg == NULL) {
                ERR(c, a->loc,
                    "attribute '@service' requires an argument, as in @service(\"name\")");
            } else if (!valid_service_name(a->arg)) {
                ERR(c, a->arg_loc,
                    "invalid service name '%s': use 1 to 64 letters, digits, '_', '.' or '-', "
                    "beginning with a letter or a digit",
                    a->arg);
            } else {
                *service = a;
            }
            continue;
        }
        size_t i = 0, n = sizeof semantics_attrs / sizeof semantics_attrs[0];
        while (i < n && strcmp(name, semantics_attrs[i].name) != 0)
            i++;
        if (i == n) {
            ERR(c, a->loc, "unknown attribute '@%s'", name);
            continue;
        }
        if (place == AT_OTHER) {
            ERR(c, a->loc, "attribute '@%s' only applies to programs, versions and procedures",
                name);
            continue;
        }
        if (a->arg != NULL) {
            ERR(c, a->arg_loc, "attribute '@%s' takes no argument", name);
            continue;
        }
        if (sem_attr != NULL) {
            const char *prev = semantics_attrs[sem_index].name;
            if (strcmp(prev, name) == 0) {
                ERR(c, a->loc, "duplicate attribute '@%s'", name);
                NOTE(c, sem_attr->loc, "%s", NOTE_PREVIOUS);
            } else {
                ERR(c, a->loc, "conflicting attributes '@%s' and '@%s'", prev, name);
                NOTE(c, sem_attr->loc, "'@%s' given here", prev);
            }
            continue;
        }
        sem_index = i;
        sem_attr = a;
        sem = semantics_attrs[i].sem;
    }
    return sem;
}

/* number_of reads a program, version or procedure number evaluated by
 * chk_pass_constants, reporting one out of the 32-bit range. */
static int number_of(checker *c, const idl_expr *e, const char *what, const char *name,
                     uint32_t *out)
{
    if (e == NULL || !e->evaluated)
        return 0;
    if (e->value < 0 || e->value > U32_LIMIT) {
        ERR(c, e->loc, "%s number %" PRId64 " of '%s' is out of range (0 to 4294967295)", what,
            e->value, name != NULL ? name : "");
        return 0;
    }
    *out = (uint32_t)e->value;
    return 1;
}

/* Numbered things of one kind (programs, or the versions of a program, or
 * the procedures of a version), for finding duplicate numbers. */
typedef struct numbered_item {
    int valid;
    uint32_t num;
    idl_loc loc;
    const char *name;
} numbered_item;

typedef struct numbered {
    numbered_item *items;
    size_t n, cap;
} numbered;

static void numbered_add(numbered *nb, int valid, uint32_t num, idl_loc loc, const char *name)
{
    nb->items = idl_grow(nb->items, nb->n, &nb->cap, sizeof *nb->items);
    nb->items[nb->n++] = (numbered_item){valid, num, loc, name != NULL ? name : ""};
}

/* report_numbers reports each number used twice, "duplicate <what> number N
 * in <where> 'owner'" (without the "in" part when owner is NULL) with a note
 * at the first use, and empties nb. */
static void report_numbers(checker *c, numbered *nb, const char *what, const char *where,
                           const char *owner)
{
    size_t n = nb->n;
    int64_t *vals = idl_xcalloc(n, sizeof *vals);
    int *valid = idl_xcalloc(n, sizeof *valid);
    size_t *first = idl_xcalloc(n, sizeof *first);
    for (size_t i = 0; i < n; i++) {
        vals[i] = nb->items[i].num;
        valid[i] = nb->items[i].valid;
    }
    chk_find_dups(vals, valid, n, first);
    for (size_t i = 0; i < n; i++) {
        if (first[i] == NONE)
            continue;
        if (owner != NULL)
            ERR(c, nb->items[i].loc, "duplicate %s number %" PRId64 " in %s '%s'", what, vals[i],
                where, owner);
        else
            ERR(c, nb->items[i].loc, "duplicate %s number %" PRId64, what, vals[i]);
        NOTE(c, nb->items[first[i]].loc, "'%s' declared here", nb->items[first[i]].name);
    }
    free(vals);
    free(valid);
    free(first);
    free(nb->items);
    memset(nb, 0, sizeof *nb);
}

static void check_proc(checker *c, idl_proc *p, numbered *procs, idl_semantics inherited)
{
    idl_attr *unused = NULL;
    idl_semantics sem = check_attrs(c, p->attrs, AT_PROC, &unused);
    p->semantics = sem != IDL_SEM_DEFAULT ? sem : inherited;
    uint32_t num = 0;
    int ok = number_of(c, p->number, "procedure", p->name, &num);
    if (ok)
        p->num = num;
    numbered_add(procs, ok, num, p->loc, p->name);
    size_t nargs = 0;
    for (idl_arg *a = p->args; a != NULL; a = a->next)
        nargs++;
    for (idl_arg *a = p->args; nargs > 1 && a != NULL; a = a->next) {
        if (a->type != NULL && a->type->kind == IDL_T_VOID) {
            ERR(c, a->type->loc, "void must be the only argument of '%s'", p->name);
            break;
        }
    }
}

/* The service names taken so far, for finding one used twice. */
typedef struct services {
    idl_map names; /* name -> index into attrs */
    idl_attr **attrs;
    size_t n, cap;
} services;

static void check_program(checker *c, idl_def *d, numbered *progs, services *sv)
{
    idl_attr *service = NULL;
    idl_semantics prog_sem = check_attrs(c, d->attrs, AT_PROGRAM, &service);
    if (service != NULL) {
        size_t i = idl_map_get(&sv->names, service->arg);
        if (i != NONE) {
            ERR(c, service->arg_loc, "duplicate service name '%s'", service->arg);
            NOTE(c, sv->attrs[i]->arg_loc, "%s", NOTE_PREVIOUS);
        } else {
            d->u.prog.service = service->arg;
            sv->attrs = idl_grow(sv->attrs, sv->n, &sv->cap, sizeof *sv->attrs);
            sv->attrs[sv->n] = service;
            idl_map_put(&sv->names, service->arg, sv->n++);
        }
    }

    numbered vers = {0};
    for (idl_version *v = d->u.prog.versions; v != NULL; v = v->next) {
        idl_attr *unused = NULL;
        idl_semantics ver_sem = check_attrs(c, v->attrs, AT_VERSION, &unused);
        if (ver_sem == IDL_SEM_DEFAULT)
            ver_sem = prog_sem;
        numbered procs = {0};
        for (idl_proc *p = v->procs; p != NULL; p = p->next)
            check_proc(c, p, &procs, ver_sem);
        report_numbers(c, &procs, "procedure", "version", v->name != NULL ? v->name : "");
        uint32_t vnum = 0;
        int vok = number_of(c, v->number, "version", v->name, &vnum);
        if (vok)
            v->num = vnum;
        numbered_add(&vers, vok, vnum, v->loc, v->name);
    }
    report_numbers(c, &vers, "version", "program", d->name != NULL ? d->name : "");

    /* The number comes last in the source, so it is checked last. */
    uint32_t num = 0;
    int ok = number_of(c, d->u.prog.number, "program", d->name, &num);
    if (ok)
        d->u.prog.num = num;
    numbered_add(progs, ok, num, d->loc, d->name);
}

/* chk_pass_programs checks program, version and procedure numbers (filling in
 * num), procedure arguments, and the attributes of every definition (filling
 * in the service name and each procedure's semantics). */
void chk_pass_programs(checker *c)
{
    numbered progs = {0};
    services sv = {.names = {.strings = 1}};
    for (idl_def *d = c->spec->defs; d != NULL; d = d->next) {
        if (d->kind == IDL_DEF_PROGRAM) {
            check_program(c, d, &progs, &sv);
        } else {
            idl_attr *unused = NULL;
            check_attrs(c, d->attrs, AT_OTHER, &unused);
        }
    }
    report_numbers(c, &progs, "program", NULL, NULL);
    idl_map_free(&sv.names);
    free(sv.attrs);

    /* A procedure kept across versions must keep its number. */
    for (size_t i = 0; i < c->naliases; i++) {
        const proc_alias *al = &c->aliases[i];
        const idl_expr *a = al->proc->number, *b = al->first->number;
        if (a == NULL || b == NULL || !a->evaluated || !b->evaluated || a->value == b->value)
            continue;
        ERR(c, al->proc->loc,
            "procedure '%s' has number %" PRId64 " here but %" PRId64 " in version '%s'",
            al->proc->name, a->value, b->value, al->first_ver->name ? al->first_ver->name : "");
        NOTE(c, al->first->loc, "%s", NOTE_PREVIOUS);
    }
}
