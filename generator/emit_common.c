/*
 * generator/emit_common.c: the output buffer and the questions about types
 * that the header and codec emitters share (see emit.h).
 */
#include "emit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum {
    KNOWN_FIXED = 1,
    KNOWN_MIN = 2,
    KNOWN_FREE = 4,
    BUSY_FIXED = 8,
    BUSY_MIN = 16,
    BUSY_FREE = 32
};

static const uint64_t SAT = 0xffffffffu;

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a + b > SAT ? SAT : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    if (a == 0 || b == 0)
        return 0;
    return a > SAT / b ? SAT : a * b;
}

static void put_raw(gen_out *o, const char *s, size_t n);

/* put appends n bytes, first writing the #line back to the output file when
 * one is due (gen_line_back defers it so that two definitions in a row do
 * not get a useless pair of directives between them). */
static void put(gen_out *o, const char *s, size_t n)
{
    while (n) {
        if (o->back_pending) {
            size_t blank = 0; /* blank lines need no directive */
            while (blank < n && s[blank] == '\n')
                blank++;
            put_raw(o, s, blank);
            s += blank;
            n -= blank;
            if (!n)
                return;
            char dir[64];
            o->back_pending = 0;
            int k = snprintf(dir, sizeof dir, "#line %d \"", o->line + 1);
            put_raw(o, dir, (size_t)k);
            put_raw(o, o->name, strlen(o->name));
            put_raw(o, "\"\n", 2);
        }
        /* the end of the line: not a newline a backslash continues (a
         * pass-through #define), where a directive cannot go */
        const char *nl = o->back_after_nl ? memchr(s, '\n', n) : NULL;
        while (nl && nl > s && nl[-1] == '\\')
            nl = memchr(nl + 1, '\n', n - (size_t)(nl + 1 - s));
        if (!nl) {
            put_raw(o, s, n);
            return;
        }
        /* the line attributed to the IDL is complete: back to the output */
        size_t k = (size_t)(nl - s) + 1;
        put_raw(o, s, k);
        s += k;
        n -= k;
        o->back_after_nl = 0;
        o->back_pending = 1;
    }
}

static void put_raw(gen_out *o, const char *s, size_t n)
{
    if (o->oom)
        return;
    if (o->cap - o->len < n + 1) {
        size_t cap = o->cap ? o->cap : 16384;
        while (cap - o->len < n + 1)
            cap *= 2;
        char *b = realloc(o->buf, cap);
        if (!b) {
            o->oom = 1;
            return;
        }
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n')
            o->line++;
}

/* gen_printf appends formatted text to o. */
void gen_printf(gen_out *o, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        o->oom = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        put(o, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        o->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    put(o, big, (size_t)n);
    free(big);
}

/* gen_puts appends s to o. */
void gen_puts(gen_out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* gen_line_to_idl: see emit.h. */
void gen_line_to_idl(gen_out *o, const gen_opts *opts, idl_loc loc)
{
    if (opts->line_directives && loc.file) {
        o->back_pending = 0;
        o->back_after_nl = 0;
        gen_printf(o, "#line %d \"%s\"\n", loc.line, loc.file);
        o->back_after_nl = 1;
    }
}

/* gen_line_back: see emit.h. */
void gen_line_back(gen_out *o, const gen_opts *opts)
{
    if (opts->line_directives && !o->back_after_nl)
        o->back_pending = 1;
}

/* gen_out_free releases the buffer; NULL-safe. */
void gen_out_free(gen_out *o)
{
    if (o) {
        free(o->buf);
        o->buf = NULL;
        o->len = o->cap = 0;
    }
}

static gen_kind builtin_kind(idl_type_kind k)
{
    switch (k) {
    case IDL_T_INT:
        return GK_INT;
    case IDL_T_UINT:
        return GK_UINT;
    case IDL_T_HYPER:
        return GK_HYPER;
    case IDL_T_UHYPER:
        return GK_UHYPER;
    case IDL_T_FLOAT:
        return GK_FLOAT;
    case IDL_T_DOUBLE:
        return GK_DOUBLE;
    case IDL_T_BOOL:
        return GK_BOOL;
    case IDL_T_CHAR:
        return GK_CHAR;
    case IDL_T_UCHAR:
        return GK_UCHAR;
    case IDL_T_SHORT:
        return GK_SHORT;
    case IDL_T_USHORT:
        return GK_USHORT;
    case IDL_T_LONG:
        return GK_LONG;
    case IDL_T_ULONG:
        return GK_ULONG;
    default:
        return GK_VOID;
    }
}

/* gen_classify: see emit.h. The checks reject typedef cycles; the bound on
 * the walk only keeps a broken tree from looping. */
gen_type gen_classify(const idl_type *t)
{
    gen_type g = {GK_VOID, NULL};
    for (int hops = 0; t && hops < 10000; hops++) {
        if (t->kind != IDL_T_NAMED) {
            g.kind = builtin_kind(t->kind);
            return g;
        }
        idl_def *def = t->ref;
        if (!def)
            return g;
        switch (def->kind) {
        case IDL_DEF_ENUM:
            g.kind = GK_ENUM;
            g.def = def;
            return g;
        case IDL_DEF_STRUCT:
        case IDL_DEF_UNION:
            g.kind = GK_STRUCT;
            g.def = def;
            return g;
        case IDL_DEF_TYPEDEF:
            if (def->u.tdef.decl->kind == IDL_D_SCALAR) {
                t = def->u.tdef.decl->type;
                continue;
            }
            g.kind = GK_TYPEDEF;
            g.def = def;
            return g;
        default:
            return g;
        }
    }
    return g;
}

/* gen_ctype: see emit.h. */
const char *gen_ctype(const idl_type *t)
{
    if (t->cname)
        return t->cname;
    switch (t->kind) {
    case IDL_T_INT:
        return "int";
    case IDL_T_UINT:
        return "u_int";
    case IDL_T_HYPER:
        return "quad_t";
    case IDL_T_UHYPER:
        return "u_quad_t";
    case IDL_T_FLOAT:
        return "float";
    case IDL_T_DOUBLE:
        return "double";
    case IDL_T_BOOL:
        return "bool_t";
    case IDL_T_CHAR:
        return "char";
    case IDL_T_UCHAR:
        return "u_char";
    case IDL_T_SHORT:
        return "short";
    case IDL_T_USHORT:
        return "u_short";
    case IDL_T_LONG:
        return "long";
    case IDL_T_ULONG:
        return "u_long";
    case IDL_T_STRING:
        return "char *";
    case IDL_T_OPAQUE:
        return "char";
    case IDL_T_VOID:
        return "void";
    case IDL_T_QUAD:
        return "long double";
    case IDL_T_NAMED:
        return t->name;
    }
    return "?";
}

/* gen_prim_size: see emit.h. */
size_t gen_prim_size(gen_kind k)
{
    switch (k) {
    case GK_HYPER:
    case GK_UHYPER:
    case GK_DOUBLE:
        return 8;
    case GK_INT:
    case GK_UINT:
    case GK_FLOAT:
    case GK_BOOL:
    case GK_CHAR:
    case GK_UCHAR:
    case GK_SHORT:
    case GK_USHORT:
    case GK_LONG:
    case GK_ULONG:
    case GK_ENUM:
        return 4;
    default:
        return 0;
    }
}

/* gen_def_fixed: see emit.h. Unions count as varying even when every arm
 * happens to be the same size: nothing is gained by treating them as fixed. */
int gen_def_fixed(idl_def *def, uint64_t *size)
{
    if (def->gen_known & KNOWN_FIXED) {
        *size = def->gen_fixed_size;
        return def->gen_fixed;
    }
    if ((def->gen_known & BUSY_FIXED) || def->external)
        return 0;
    def->gen_known |= BUSY_FIXED;
    int fixed = 0;
    uint64_t n = 0;
    switch (def->kind) {
    case IDL_DEF_ENUM:
        fixed = 1;
        n = 4;
        break;
    case IDL_DEF_STRUCT:
        fixed = 1;
        for (const idl_decl *d = def->u.strct.fields; d && fixed; d = d->next) {
            uint64_t fs;
            fixed = gen_decl_fixed(d, &fs);
            n = sat_add(n, fs);
        }
        break;
    case IDL_DEF_TYPEDEF:
        fixed = gen_decl_fixed(def->u.tdef.decl, &n);
        break;
    default:
        break;
    }
    def->gen_known = (def->gen_known & ~(unsigned)BUSY_FIXED) | KNOWN_FIXED;
    def->gen_fixed = fixed;
    def->gen_fixed_size = fixed ? n : 0;
    *size = def->gen_fixed_size;
    return fixed;
}

/* gen_type_fixed: see emit.h. */
int gen_type_fixed(const idl_type *t, uint64_t *size)
{
    if (t->kind == IDL_T_NAMED)
        return t->ref ? gen_def_fixed(t->ref, size) : 0;
    size_t p = gen_prim_size(builtin_kind(t->kind));
    *size = p;
    return p != 0;
}

/* gen_decl_fixed: see emit.h. */
int gen_decl_fixed(const idl_decl *d, uint64_t *size)
{
    uint64_t es;
    switch (d->kind) {
    case IDL_D_VOID:
        *size = 0;
        return 1;
    case IDL_D_SCALAR:
        return gen_type_fixed(d->type, size);
    case IDL_D_FIXED:
        if (d->bound_text)
            return 0;
        if (d->type->kind == IDL_T_OPAQUE) {
            *size = ((uint64_t)d->bound + 3) & ~(uint64_t)3;
            if (*size > SAT)
                *size = SAT;
            return 1;
        }
        if (!gen_type_fixed(d->type, &es))
            return 0;
        *size = sat_mul(es, d->bound);
        return 1;
    default:
        return 0;
    }
}

/* gen_def_min_size: see emit.h. A type on a cycle counts 0 for the edge
 * that closes the cycle, which only makes the minimum smaller (safe: it is
 * used to reject counts that cannot fit the bytes left). */
uint64_t gen_def_min_size(idl_def *def)
{
    if (def->gen_known & KNOWN_MIN)
        return def->gen_min_size;
    if ((def->gen_known & BUSY_MIN) || def->external)
        return 0;
    def->gen_known |= BUSY_MIN;
    uint64_t n = 0;
    switch (def->kind) {
    case IDL_DEF_ENUM:
        n = 4;
        break;
    case IDL_DEF_STRUCT:
        for (const idl_decl *d = def->u.strct.fields; d; d = d->next)
            n = sat_add(n, gen_decl_min_size(d));
        break;
    case IDL_DEF_UNION: {
        uint64_t arm = SAT;
        for (const idl_case *c = def->u.un.cases; c; c = c->next) {
            uint64_t m = gen_decl_min_size(c->decl);
            arm = m < arm ? m : arm;
        }
        if (def->u.un.dflt) {
            uint64_t m = gen_decl_min_size(def->u.un.dflt);
            arm = m < arm ? m : arm;
        }
        n = sat_add(4, arm == SAT && !def->u.un.cases && !def->u.un.dflt ? 0 : arm);
        break;
    }
    case IDL_DEF_TYPEDEF:
        n = gen_decl_min_size(def->u.tdef.decl);
        break;
    default:
        break;
    }
    def->gen_known = (def->gen_known & ~(unsigned)BUSY_MIN) | KNOWN_MIN;
    def->gen_min_size = n;
    return n;
}

/* gen_type_min_size: see emit.h. */
uint64_t gen_type_min_size(const idl_type *t)
{
    if (t->kind == IDL_T_NAMED)
        return t->ref ? gen_def_min_size(t->ref) : 0;
    return gen_prim_size(builtin_kind(t->kind));
}

/* gen_decl_min_size: see emit.h. */
uint64_t gen_decl_min_size(const idl_decl *d)
{
    switch (d->kind) {
    case IDL_D_VOID:
        return 0;
    case IDL_D_SCALAR:
        return gen_type_min_size(d->type);
    case IDL_D_FIXED:
        if (d->bound_text)
            return 0;
        if (d->type->kind == IDL_T_OPAQUE) {
            uint64_t n = ((uint64_t)d->bound + 3) & ~(uint64_t)3;
            return n > SAT ? SAT : n;
        }
        return sat_mul(gen_type_min_size(d->type), d->bound);
    case IDL_D_VAR:
    case IDL_D_OPTIONAL:
        return 4;
    }
    return 0;
}

/* gen_def_needs_free: see emit.h. */
int gen_def_needs_free(idl_def *def)
{
    if (def->gen_known & KNOWN_FREE)
        return def->gen_free;
    if (def->external)
        return 1;
    if (def->gen_known & BUSY_FREE)
        return 0;
    def->gen_known |= BUSY_FREE;
    int f = 0;
    switch (def->kind) {
    case IDL_DEF_STRUCT:
        for (const idl_decl *d = def->u.strct.fields; d && !f; d = d->next)
            f = gen_decl_needs_free(d);
        break;
    case IDL_DEF_UNION:
        for (const idl_case *c = def->u.un.cases; c && !f; c = c->next)
            f = gen_decl_needs_free(c->decl);
        if (!f && def->u.un.dflt)
            f = gen_decl_needs_free(def->u.un.dflt);
        break;
    case IDL_DEF_TYPEDEF:
        f = gen_decl_needs_free(def->u.tdef.decl);
        break;
    default:
        break;
    }
    def->gen_known = (def->gen_known & ~(unsigned)BUSY_FREE) | KNOWN_FREE;
    def->gen_free = f;
    return f;
}

/* gen_type_needs_free: see emit.h. */
int gen_type_needs_free(const idl_type *t)
{
    if (t->kind == IDL_T_STRING)
        return 1;
    if (t->kind == IDL_T_NAMED)
        return t->ref ? gen_def_needs_free(t->ref) : 0;
    return 0;
}

/* gen_decl_needs_free: see emit.h. */
int gen_decl_needs_free(const idl_decl *d)
{
    switch (d->kind) {
    case IDL_D_VOID:
        return 0;
    case IDL_D_VAR:
    case IDL_D_OPTIONAL:
        return 1;
    case IDL_D_SCALAR:
    case IDL_D_FIXED:
        return gen_type_needs_free(d->type);
    }
    return 0;
}

/* gen_is_type_def: see emit.h. */
int gen_is_type_def(const idl_def *def)
{
    return def->kind == IDL_DEF_ENUM || def->kind == IDL_DEF_STRUCT || def->kind == IDL_DEF_UNION ||
           def->kind == IDL_DEF_TYPEDEF;
}
