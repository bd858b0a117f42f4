/*
 * idl/check_constants.c: pass 3 of the checks, constants.
 *
 * Evaluates every constant expression in 64 bits (constants and enum
 * members first, in whatever order the names they use need, then array
 * sizes, case values and program, version and procedure numbers), reporting
 * overflow, division by zero, shifts out of range and constants that depend
 * on themselves (with the chain of names that closes the cycle), and checks
 * each enum's values: in range, and distinct.
 */
#include "check_int.h"

#include <inttypes.h>
#include <stdlib.h>

static int eval(checker *c, idl_expr *e, int64_t *out);

static frame *push_frame(checker *c, const void *key, const char *name, idl_loc loc)
{
    c->frames = idl_grow(c->frames, c->nframes, &c->capframes, sizeof *c->frames);
    frame *f = &c->frames[c->nframes++];
    f->key = key;
    f->name = name != NULL ? name : "";
    f->loc = loc;
    f->via = NULL;
    return f;
}

/* report_cycle reports a constant that depends on itself, found when the
 * evaluation reached key while key was still being evaluated: the error is
 * at the constant, and a note at each step of the chain back to it. */
static void report_cycle(checker *c, const void *key)
{
    size_t i = c->nframes;
    while (i > 0 && c->frames[i - 1].key != key)
        i--;
    if (i == 0)
        return;
    i--;
    ERR(c, c->frames[i].loc, "constant '%s' depends on itself", c->frames[i].name);
    for (size_t j = i; j < c->nframes; j++) {
        const frame *f = &c->frames[j];
        const char *next = j + 1 < c->nframes ? c->frames[j + 1].name : c->frames[i].name;
        if (f->via != NULL)
            NOTE(c, f->via->loc, "'%s' uses '%s' here", f->name, next);
        else
            NOTE(c, f->loc, "'%s' is one more than '%s'", f->name, next);
    }
}

static int eval_top(checker *c, idl_expr *e, int64_t *out)
{
    if (e == NULL || idl_map_get(&c->bad_exprs, e) != NONE)
        return 0;
    return eval(c, e, out);
}

/* eval_size evaluates an array size or bound, which alone may be an external
 * C constant (see resolve_name). */
static int eval_size(checker *c, idl_expr *e, int64_t *out)
{
    if (e != NULL && e->kind == IDL_EXPR_NAME && e->external)
        return 0;
    return eval_top(c, e, out);
}

static int eval_const(checker *c, idl_def *d, int64_t *out)
{
    info *in = chk_info_of(c, d);
    if (in == NULL)
        return 0;
    switch (in->state) {
    case EV_DONE:
        *out = in->value;
        return 1;
    case EV_FAILED:
        return 0;
    case EV_BUSY:
        report_cycle(c, d);
        return 0;
    }
    if (d->u.cnst.value == NULL) /* a string constant: nothing to evaluate */
        return 0;
    in->state = EV_BUSY;
    push_frame(c, d, d->name, d->loc);
    int64_t v = 0;
    int ok = eval_top(c, d->u.cnst.value, &v);
    c->nframes--;
    in->state = ok ? EV_DONE : EV_FAILED;
    in->value = v;
    if (ok)
        *out = v;
    return ok;
}

static int eval_enumerator(checker *c, idl_enumerator *en, int64_t *out)
{
    info *in = chk_info_of(c, en);
    if (in == NULL)
        return 0;
    switch (in->state) {
    case EV_DONE:
        *out = in->value;
        return 1;
    case EV_FAILED:
        return 0;
    case EV_BUSY:
        report_cycle(c, en);
        return 0;
    }
    in->state = EV_BUSY;
    idl_enumerator *prev = in->prev;
    push_frame(c, en, en->name, en->loc);
    int64_t v = 0;
    int ok = 1;
    if (en->value != NULL) {
        ok = eval_top(c, en->value, &v);
    } else if (prev != NULL) {
        /* An extension: a member without a value follows the one before. */
        ok = eval_enumerator(c, prev, &v);
        v++; /* the member before fits in 32 bits, so this cannot overflow */
    }
    c->nframes--;
    if (ok && (v < INT32_MIN || v > INT32_MAX)) {
        ERR(c, en->loc,
            "enum value %" PRId64 " of '%s' is out of range (-2147483648 to 2147483647)", v,
            en->name);
        ok = 0;
    }
    in->state = ok ? EV_DONE : EV_FAILED;
    in->value = v;
    if (ok) {
        en->ivalue = v;
        *out = v;
    }
    return ok;
}

/* eval_number evaluates the number of a program, version or procedure
 * (key), once, catching a number that depends on itself: rpcgen #defines
 * their names, and .x files use them as constants (rpcb_prot.x does). */
static int eval_number(checker *c, const void *key, const char *name, idl_loc loc, idl_expr *number,
                       int64_t *out)
{
    info *in = chk_info_of(c, key);
    if (in == NULL)
        return 0;
    switch (in->state) {
    case EV_DONE:
        *out = in->value;
        return 1;
    case EV_FAILED:
        return 0;
    case EV_BUSY:
        report_cycle(c, key);
        return 0;
    }
    in->state = EV_BUSY;
    push_frame(c, key, name, loc);
    int64_t v = 0;
    int ok = eval_top(c, number, &v);
    c->nframes--;
    in->state = ok ? EV_DONE : EV_FAILED;
    in->value = v;
    if (ok)
        *out = v;
    return ok;
}

static int eval_number_of(checker *c, const sym *s, int64_t *out)
{
    if (s->kind == SYM_PROC)
        return eval_number(c, s->proc, s->proc->name, s->loc, s->proc->number, out);
    if (s->kind == SYM_VERSION)
        return eval_number(c, s->ver, s->ver->name, s->loc, s->ver->number, out);
    return eval_number(c, s->def, s->def->name, s->loc, s->def->u.prog.number, out);
}

static int eval_name(checker *c, idl_expr *e, int64_t *out)
{
    if (c->nframes > 0)
        c->frames[c->nframes - 1].via = e;
    if (e->ref != NULL)
        return eval_const(c, e->ref, out);
    if (e->enum_ref != NULL)
        return eval_enumerator(c, e->enum_ref, out);
    size_t i = idl_map_get(&c->numbered_names, e);
    if (i != NONE)
        return eval_number_of(c, &c->syms[i], out);
    if (e->external)
        ERR(c, e->loc, "the value of '%s' is needed here, but it is defined outside this file",
            e->text);
    return 0; /* unresolved: reported by chk_pass_resolve */
}

/* Checked int64 arithmetic: each returns 0 on overflow. */
static int add_ok(int64_t a, int64_t b, int64_t *r)
{
    if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b))
        return 0;
    *r = a + b;
    return 1;
}

static int sub_ok(int64_t a, int64_t b, int64_t *r)
{
    if ((b < 0 && a > INT64_MAX + b) || (b > 0 && a < INT64_MIN + b))
        return 0;
    *r = a - b;
    return 1;
}

static int mul_ok(int64_t a, int64_t b, int64_t *r)
{
    if (a == 0 || b == 0) {
        *r = 0;
        return 1;
    }
    if (a > 0 ? (b > 0 ? a > INT64_MAX / b : b < INT64_MIN / a)
              : (b > 0 ? a < INT64_MIN / b : a < INT64_MAX / b))
        return 0;
    *r = a * b;
    return 1;
}

static int eval_unary(checker *c, idl_expr *e, int64_t a, int64_t *out)
{
    switch (e->op) {
    case '-':
        if (a == INT64_MIN) {
            ERR(c, e->loc, "constant expression overflows");
            return 0;
        }
        *out = -a;
        return 1;
    case '+':
        *out = a;
        return 1;
    case '~':
        *out = ~a;
        return 1;
    case '!':
        *out = !a;
        return 1;
    }
    return 0; /* the parser makes no other operator */
}

static int eval_binary(checker *c, idl_expr *e, int64_t a, int64_t b, int64_t *out)
{
    int ok = 1;
    switch (e->op) {
    case '+':
        ok = add_ok(a, b, out);
        break;
    case '-':
        ok = sub_ok(a, b, out);
        break;
    case '*':
        ok = mul_ok(a, b, out);
        break;
    case '/':
    case '%':
        if (b == 0) {
            ERR(c, e->loc, "division by zero");
            return 0;
        }
        if (a == INT64_MIN && b == -1) {
            if (e->op == '/')
                ok = 0;
            else
                *out = 0;
            break;
        }
        *out = e->op == '/' ? a / b : a % b;
        break;
    case '&':
        *out = a & b;
        break;
    case '|':
        *out = a | b;
        break;
    case '^':
        *out = a ^ b;
        break;
    case IDL_OP_SHL:
    case IDL_OP_SHR:
        if (b < 0 || b > 63) {
            ERR(c, e->loc, "shift count %" PRId64 " is out of range (0 to 63)", b);
            return 0;
        }
        if (e->op == IDL_OP_SHL) {
            /* a << b is a * 2^b, and must fit like any product. */
            int64_t hi = INT64_MAX >> b, lo = -hi - 1;
            if (a > hi || a < lo)
                ok = 0;
            else
                *out = (int64_t)((uint64_t)a << b);
        } else {
            /* An arithmetic shift, spelled so as not to rely on what the C
             * implementation does with a negative operand. */
            *out = a >= 0 ? a >> b : ~(~a >> b);
        }
        break;
    default:
        return 0; /* the parser makes no other operator */
    }
    if (!ok)
        ERR(c, e->loc, "constant expression overflows");
    return ok;
}

/* eval evaluates e, filling in evaluated and value on every node it
 * evaluates. An error is reported where it arises and once only; what
 * depends on a failed part fails quietly. */
static int eval(checker *c, idl_expr *e, int64_t *out)
{
    if (e == NULL)
        return 0;
    if (e->evaluated) {
        *out = e->value;
        return 1;
    }
    if (c->depth >= MAX_EVAL_DEPTH) {
        ERR(c, e->loc, "constant expression is too deeply nested");
        return 0;
    }
    c->depth++;
    int ok = 0;
    int64_t v = 0, a = 0, b = 0;
    switch (e->kind) {
    case IDL_EXPR_NUM:
        if (e->literal > (uint64_t)INT64_MAX)
            ERR(c, e->loc, "integer constant too large");
        else {
            v = (int64_t)e->literal;
            ok = 1;
        }
        break;
    case IDL_EXPR_NAME:
        ok = eval_name(c, e, &v);
        break;
    case IDL_EXPR_UNARY:
        ok = eval(c, e->a, &a) && eval_unary(c, e, a, &v);
        break;
    case IDL_EXPR_BINARY: {
        /* Both sides, so that an error on the right is not hidden by one on
         * the left. */
        int oka = eval(c, e->a, &a);
        int okb = eval(c, e->b, &b);
        ok = oka && okb && eval_binary(c, e, a, b, &v);
        break;
    }
    }
    c->depth--;
    if (ok) {
        e->evaluated = 1;
        e->value = v;
        *out = v;
    }
    return ok;
}

/* check_enum evaluates the members of an enum and rejects an enum with no
 * members or with two members of one value. */
static void check_enum(checker *c, idl_def *d)
{
    size_t n = 0;
    for (idl_enumerator *e = d->u.enm.members; e != NULL; e = e->next)
        n++;
    if (n == 0 && d->recovered) {
        chk_mark_invalid(c, d); /* its members did not parse: reported */
        return;
    }
    if (n == 0) {
        ERR(c, d->loc, "enum '%s' has no members", d->name);
        chk_mark_invalid(c, d);
        return;
    }
    idl_enumerator **ens = idl_xcalloc(n, sizeof *ens);
    int64_t *vals = idl_xcalloc(n, sizeof *vals);
    int *valid = idl_xcalloc(n, sizeof *valid);
    size_t *first = idl_xcalloc(n, sizeof *first);
    size_t i = 0;
    for (idl_enumerator *e = d->u.enm.members; e != NULL; e = e->next, i++) {
        ens[i] = e;
        valid[i] = eval_enumerator(c, e, &vals[i]);
        if (!valid[i])
            chk_mark_invalid(c, d);
    }
    chk_find_dups(vals, valid, n, first);
    for (i = 0; i < n; i++) {
        if (first[i] == NONE)
            continue;
        /* rpcgen accepts two names for one value, and .x files use that
         * (nis_object.x); in Parley's own .idl files it is an error */
        if (c->rpcgen_mode)
            idl_warning(c->diag, ens[i]->loc,
                        "duplicate value %" PRId64 " in enum '%s': '%s' and '%s'", vals[i], d->name,
                        ens[first[i]]->name, ens[i]->name);
        else
            ERR(c, ens[i]->loc, "duplicate value %" PRId64 " in enum '%s': '%s' and '%s'", vals[i],
                d->name, ens[first[i]]->name, ens[i]->name);
        NOTE(c, ens[first[i]]->loc, "'%s' declared here", ens[first[i]]->name);
    }
    free(ens);
    free(vals);
    free(valid);
    free(first);
}

/* chk_pass_constants evaluates every expression: constants and enum members
 * first (in any order they need, following the names they use), then array
 * sizes, case values and program, version and procedure numbers. */
void chk_pass_constants(checker *c)
{
    int64_t v;
    for (idl_def *d = c->spec->defs; d != NULL; d = d->next) {
        if (d->kind == IDL_DEF_CONST)
            eval_const(c, d, &v);
        else if (d->kind == IDL_DEF_ENUM)
            check_enum(c, d);
    }
    for (idl_def *d = c->spec->defs; d != NULL; d = d->next) {
        switch (d->kind) {
        case IDL_DEF_STRUCT:
            for (idl_decl *f = d->u.strct.fields; f != NULL; f = f->next)
                eval_size(c, f->size, &v);
            break;
        case IDL_DEF_UNION:
            if (d->u.un.disc != NULL)
                eval_size(c, d->u.un.disc->size, &v);
            for (idl_case *k = d->u.un.cases; k != NULL; k = k->next) {
                for (idl_case_value *cv = k->values; cv != NULL; cv = cv->next)
                    eval_top(c, cv->value, &v);
                if (k->decl != NULL)
                    eval_size(c, k->decl->size, &v);
            }
            if (d->u.un.dflt != NULL)
                eval_size(c, d->u.un.dflt->size, &v);
            break;
        case IDL_DEF_TYPEDEF:
            if (d->u.tdef.decl != NULL)
                eval_size(c, d->u.tdef.decl->size, &v);
            break;
        case IDL_DEF_PROGRAM:
            for (idl_version *ver = d->u.prog.versions; ver != NULL; ver = ver->next) {
                for (idl_proc *p = ver->procs; p != NULL; p = p->next)
                    eval_number(c, p, p->name, p->loc, p->number, &v);
                eval_number(c, ver, ver->name, ver->loc, ver->number, &v);
            }
            eval_number(c, d, d->name, d->loc, d->u.prog.number, &v);
            break;
        default:
            break;
        }
    }
}
