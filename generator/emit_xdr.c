/*
 * generator/emit_xdr.c: writes foo_xdr.c, the straight-line XDR codec of
 * every type in foo.idl.
 *
 * For each type T it writes T_enc/T_dec (on the cursors of parley/xdr.h),
 * T_size, T_free, and the buffer-level T_encode/T_decode. A run of
 * consecutive fixed-size fields is bounds-checked once and then stored or
 * loaded without further checks; arrays of 32- and 64-bit values go through
 * the runtime's bulk loops; a struct whose last field points to the next
 * element of a list is walked in a loop rather than by recursion, so long
 * lists cannot exhaust the stack. No function pointer is called per field.
 *
 * Every decoder leaves its value releasable by T_free even when it fails
 * (see parley/xdr.h): each field is written on every path, with zeros,
 * NULLs and matching counts when the data ran out or was invalid.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"

/* A formatted string on the heap; the emitters are short-lived, and every
 * one is freed by its caller. Exits on out-of-memory like the arena. */
static char *fmt(const char *f, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s) {
        fputs("parleygen: out of memory\n", stderr);
        exit(2);
    }
    va_start(ap, f);
    vsnprintf(s, (size_t)n + 1, f, ap);
    va_end(ap);
    return s;
}

/* bound_of is the C text of a declaration's size or bound: the number,
 * written into buf, or the name of the C constant a .x file takes it from.
 * BOUND_TEXT is room enough for the number. */
enum { BOUND_TEXT = 16 };

static const char *bound_of(const idl_decl *d, char *buf, size_t size)
{
    if (d->bound_text)
        return d->bound_text;
    snprintf(buf, size, "%uu", d->bound);
    return buf;
}

static void ind(gen_out *o, int n)
{
    for (int i = 0; i < n; i++)
        gen_puts(o, "    ");
}

/* A value of a scalar kind, for the runs. */
typedef struct item {
    gen_type g;
    const char *lv;
} item;

/* is_array_typedef is nonzero for a typedef of a fixed-length array, whose
 * pointer needs a cast to become a pointer to const. */
static int is_array_typedef(gen_type g)
{
    return g.kind == GK_TYPEDEF && g.def->u.tdef.decl->kind == IDL_D_FIXED;
}

static int is_run_kind(gen_kind k)
{
    return gen_prim_size(k) != 0;
}

/* What the codec does with each kind that is one XDR integer (the kinds
 * gen_prim_size gives a size): how a run stores and loads it, what the
 * encoder and the decoder check about it, and the runtime's bulk loop for
 * arrays of it. The one table for them all, so that a kind cannot be
 * handled in one direction and forgotten in the other. */
typedef enum scalar_member { MEMBER_ANY, MEMBER_BOOL, MEMBER_ENUM } scalar_member;

typedef struct scalar {
    const char *st, *st_pre, *st_post; /* st(p + off, st_pre VALUE st_post) */
    const char *ld, *ld_pre, *ld_post; /* VALUE = ld_pre ld(p + off) ld_post;
                                          ld_pre NULL: a cast to the enum */
    scalar_member member;              /* bool 0 or 1, or enum member: both ways */
    const char *enc_lo, *enc_hi;       /* range of the C value (encoder), or NULL */
    const char *dec_lo, *dec_hi;       /* range of the wire value (decoder), or NULL;
                                          dec_lo set: read as int32_t */
    const char *bulk;                  /* parley_put_X / parley_get_X, or NULL */
} scalar;

#define U32 "parley_st_u32", "(uint32_t)", ""
#define I32 "parley_st_u32", "(uint32_t)(int32_t)", ""
static const scalar scalars[] = {
    [GK_INT] = {U32, "parley_ld_u32", "(int)(int32_t)", "", MEMBER_ANY, NULL, NULL, NULL, NULL,
                "u32s"},
    [GK_UINT] = {U32, "parley_ld_u32", "", "", MEMBER_ANY, NULL, NULL, NULL, NULL, "u32s"},
    [GK_HYPER] = {"parley_st_u64", "(uint64_t)", "", "parley_ld_u64", "(quad_t)", "", MEMBER_ANY,
                  NULL, NULL, NULL, NULL, "u64s"},
    [GK_UHYPER] = {"parley_st_u64", "(uint64_t)", "", "parley_ld_u64", "", "", MEMBER_ANY, NULL,
                   NULL, NULL, NULL, "u64s"},
    [GK_FLOAT] = {"parley_st_u32", "parley_f32_bits(", ")", "parley_ld_u32", "parley_bits_f32(",
                  ")", MEMBER_ANY, NULL, NULL, NULL, NULL, "f32s"},
    [GK_DOUBLE] = {"parley_st_u64", "parley_f64_bits(", ")", "parley_ld_u64", "parley_bits_f64(",
                   ")", MEMBER_ANY, NULL, NULL, NULL, NULL, "f64s"},
    [GK_BOOL] = {I32, "parley_ld_u32", "(bool_t)", "", MEMBER_BOOL, NULL, NULL, NULL, NULL, NULL},
    [GK_CHAR] = {I32, "parley_ld_u32", "(char)(int32_t)", "", MEMBER_ANY, NULL, NULL, "CHAR_MIN",
                 "CHAR_MAX", NULL},
    [GK_UCHAR] = {I32, "parley_ld_u32", "(u_char)", "", MEMBER_ANY, NULL, NULL, NULL, "UCHAR_MAX",
                  NULL},
    [GK_SHORT] = {I32, "parley_ld_u32", "(short)(int32_t)", "", MEMBER_ANY, NULL, NULL, "SHRT_MIN",
                  "SHRT_MAX", NULL},
    [GK_USHORT] = {I32, "parley_ld_u32", "(u_short)", "", MEMBER_ANY, NULL, NULL, NULL, "USHRT_MAX",
                   NULL},
    [GK_LONG] = {I32, "parley_ld_u32", "(long)(int32_t)", "", MEMBER_ANY, "INT32_MIN", "INT32_MAX",
                 NULL, NULL, NULL},
    [GK_ULONG] = {U32, "parley_ld_u32", "(u_long)", "", MEMBER_ANY, NULL, "UINT32_MAX", NULL, NULL,
                  NULL},
    [GK_ENUM] = {I32, "parley_ld_u32", NULL, "", MEMBER_ENUM, NULL, NULL, NULL, NULL, NULL},
};
#undef U32
#undef I32

/* scalar_of is the row of a kind, or NULL for a kind that is not one XDR
 * integer. */
static const scalar *scalar_of(gen_kind k)
{
    if ((size_t)k >= sizeof scalars / sizeof scalars[0] || scalars[k].st == NULL)
        return NULL;
    return &scalars[k];
}

/* member_test is the condition that a value at lv is not a valid bool or
 * enum member (heap), or NULL when the kind has no such test. */
static char *member_test(const scalar *sc, gen_type g, const char *lv)
{
    switch (sc->member) {
    case MEMBER_BOOL:
        return fmt("(uint32_t)%s > 1u", lv);
    case MEMBER_ENUM:
        return fmt("!%s__valid((int32_t)%s)", g.def->name, lv);
    case MEMBER_ANY:
        break;
    }
    return NULL;
}

/* member_error is the error member_test's failure stands for. */
static const char *member_error(const scalar *sc)
{
    return sc->member == MEMBER_BOOL ? "PARLEY_ERR_BAD_BOOL" : "PARLEY_ERR_BAD_ENUM";
}

/* range_test is the condition that x is outside lo..hi (lo may be NULL),
 * on the heap. */
static char *range_test(const char *x, const char *lo, const char *hi)
{
    return lo ? fmt("%s < %s || %s > %s", x, lo, x, hi) : fmt("%s > %s", x, hi);
}

/* fail_if writes `if (PARLEY_UNLIKELY(cond)) fail(cursor, err);` and frees
 * cond. */
static void fail_if(gen_out *o, int in, char *cond, const char *fail, const char *err)
{
    ind(o, in);
    gen_printf(o, "if (PARLEY_UNLIKELY(%s))\n", cond);
    ind(o, in + 1);
    gen_printf(o, "%s, %s);\n", fail, err);
    free(cond);
}

/* ---- encoding --------------------------------------------------------- */

/* enc_store writes the store of one value into a run at offset off. */
static void enc_store(gen_out *o, int in, gen_type g, const char *lv, size_t off)
{
    const scalar *sc = scalar_of(g.kind);
    ind(o, in);
    gen_printf(o, "%s(_p + %zu, %s%s%s);\n", sc->st, off, sc->st_pre, lv, sc->st_post);
}

/* enc_check writes the test that a value is encodable, or nothing. */
static void enc_check(gen_out *o, int in, gen_type g, const char *lv)
{
    const scalar *sc = scalar_of(g.kind);
    char *cond = member_test(sc, g, lv);
    if (cond)
        fail_if(o, in, cond, "parley_enc_fail(_e", member_error(sc));
    else if (sc->enc_hi)
        fail_if(o, in, range_test(lv, sc->enc_lo, sc->enc_hi), "parley_enc_fail(_e",
                "PARLEY_ERR_RANGE");
}

static void enc_run(gen_out *o, int in, const item *it, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += gen_prim_size(it[i].g.kind);
    ind(o, in);
    gen_printf(o, "if (parley_enc_room(_e, %zu)) {\n", total);
    ind(o, in + 1);
    gen_puts(o, "uint8_t *_p = parley_enc_pos(_e);\n");
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        enc_store(o, in + 1, it[i].g, it[i].lv, off);
        off += gen_prim_size(it[i].g.kind);
    }
    ind(o, in + 1);
    gen_printf(o, "parley_enc_set_pos(_e, _p + %zu);\n", total);
    for (size_t i = 0; i < n; i++)
        enc_check(o, in + 1, it[i].g, it[i].lv);
    ind(o, in);
    gen_puts(o, "}\n");
}

/* bulk_suffix names the runtime's bulk loop for arrays of a kind, or NULL. */
static const char *bulk_suffix(gen_kind k)
{
    const scalar *sc = scalar_of(k);
    return sc ? sc->bulk : NULL;
}

static void enc_value(gen_out *o, int in, const idl_type *t, const char *lv);

/* enc_decl encodes one declaration whose storage is lv. */
static void enc_decl(gen_out *o, int in, const idl_decl *d, const char *lv)
{
    char nb[BOUND_TEXT];
    gen_type g = d->type ? gen_classify(d->type) : (gen_type){GK_VOID, NULL};
    switch (d->kind) {
    case IDL_D_VOID:
        return;
    case IDL_D_SCALAR:
        enc_value(o, in, d->type, lv);
        return;
    case IDL_D_FIXED:
        if (d->type->kind == IDL_T_OPAQUE) {
            ind(o, in);
            gen_printf(o, "parley_put_opaque(_e, %s, %s);\n", lv, bound_of(d, nb, sizeof nb));
        } else if (bulk_suffix(g.kind)) {
            ind(o, in);
            gen_printf(o, "parley_put_%s(_e, %s, %s);\n", bulk_suffix(g.kind), lv,
                       bound_of(d, nb, sizeof nb));
        } else {
            ind(o, in);
            gen_printf(o, "for (u_int _i = 0; _i < %s; _i++) {\n", bound_of(d, nb, sizeof nb));
            char *el = fmt("%s[_i]", lv);
            enc_value(o, in + 1, d->type, el);
            free(el);
            ind(o, in);
            gen_puts(o, "}\n");
        }
        return;
    case IDL_D_VAR:
        if (d->type->kind == IDL_T_STRING) {
            ind(o, in);
            gen_printf(o, "parley_put_string(_e, %s, %s);\n", lv, bound_of(d, nb, sizeof nb));
        } else if (d->type->kind == IDL_T_OPAQUE) {
            ind(o, in);
            gen_printf(o, "parley_put_bytes(_e, %s.%s_val, %s.%s_len, %s);\n", lv, d->name, lv,
                       d->name, bound_of(d, nb, sizeof nb));
        } else {
            ind(o, in);
            gen_printf(o, "if (parley_put_count(_e, %s.%s_val, %s.%s_len, %s)) {\n", lv, d->name,
                       lv, d->name, bound_of(d, nb, sizeof nb));
            if (bulk_suffix(g.kind)) {
                ind(o, in + 1);
                gen_printf(o, "parley_put_%s(_e, %s.%s_val, %s.%s_len);\n", bulk_suffix(g.kind), lv,
                           d->name, lv, d->name);
            } else {
                ind(o, in + 1);
                gen_printf(o, "for (u_int _i = 0; _i < %s.%s_len; _i++) {\n", lv, d->name);
                char *el = fmt("%s.%s_val[_i]", lv, d->name);
                enc_value(o, in + 2, d->type, el);
                free(el);
                ind(o, in + 1);
                gen_puts(o, "}\n");
            }
            ind(o, in);
            gen_puts(o, "}\n");
        }
        return;
    case IDL_D_OPTIONAL: {
        ind(o, in);
        gen_printf(o, "parley_put_u32(_e, %s != NULL);\n", lv);
        ind(o, in);
        gen_printf(o, "if (%s) {\n", lv);
        char *el = fmt("(*%s)", lv);
        enc_value(o, in + 1, d->type, el);
        free(el);
        ind(o, in);
        gen_puts(o, "}\n");
        return;
    }
    }
}

/* enc_value encodes one value of type t stored at lv. */
static void enc_value(gen_out *o, int in, const idl_type *t, const char *lv)
{
    gen_type g = gen_classify(t);
    if (is_run_kind(g.kind)) {
        item it = {g, lv};
        enc_run(o, in, &it, 1);
    } else if (is_array_typedef(g)) {
        /* C (before C23) does not convert a pointer to an array to a pointer to
         * a const array implicitly; -pedantic says so */
        ind(o, in);
        gen_printf(o, "%s_enc(_e, (const %s *)&%s);\n", g.def->name, g.def->name, lv);
    } else if (g.kind == GK_STRUCT || g.kind == GK_TYPEDEF) {
        ind(o, in);
        gen_printf(o, "%s_enc(_e, &%s);\n", g.def->name, lv);
    }
}

/* The emitters of a run of fixed-size scalars and of one declaration, for
 * one direction. */
typedef void run_emitter(gen_out *o, int in, const item *it, size_t n);
typedef void decl_emitter(gen_out *o, int in, const idl_decl *d, const char *lv);

/* walk_fields emits a list of declarations (a struct's fields) stored at
 * base, stopping before `stop`: consecutive fixed-size scalars go to `run`
 * together, so that they share one bounds check (at most 64 to a run), and
 * every other declaration to `one`. */
static void walk_fields(gen_out *o, int in, const idl_decl *d, const idl_decl *stop,
                        const char *base, run_emitter *run_fn, decl_emitter *one)
{
    item run[64];
    char *lvs[64];
    size_t n = 0;
    for (;; d = d->next) {
        gen_type g = d && d != stop && d->kind == IDL_D_SCALAR ? gen_classify(d->type)
                                                               : (gen_type){GK_VOID, NULL};
        int joins = d && d != stop && is_run_kind(g.kind);
        if (n && (!joins || n == 64)) {
            run_fn(o, in, run, n);
            for (size_t i = 0; i < n; i++)
                free(lvs[i]);
            n = 0;
        }
        if (!d || d == stop)
            break;
        if (joins) {
            lvs[n] = fmt("%s%s", base, d->name);
            run[n].g = g;
            run[n].lv = lvs[n];
            n++;
            continue;
        }
        char *lv = fmt("%s%s", base, d->name);
        one(o, in, d, lv);
        free(lv);
    }
}

static void enc_fields(gen_out *o, int in, const idl_decl *d, const idl_decl *stop,
                       const char *base)
{
    walk_fields(o, in, d, stop, base, enc_run, enc_decl);
}

/* ---- decoding --------------------------------------------------------- */

/* dec_load writes the load of one value from a run at offset off. */
static void dec_load(gen_out *o, int in, gen_type g, const char *lv, size_t off)
{
    const scalar *sc = scalar_of(g.kind);
    ind(o, in);
    if (sc->ld_pre)
        gen_printf(o, "%s = %s%s(_p + %zu)%s;\n", lv, sc->ld_pre, sc->ld, off, sc->ld_post);
    else
        gen_printf(o, "%s = (%s)(int32_t)%s(_p + %zu)%s;\n", lv, g.def->name, sc->ld, off,
                   sc->ld_post);
}

/* dec_check writes the test that a loaded value is valid, or nothing. The
 * range checks read the wire value again: the C value has been narrowed. */
static void dec_check(gen_out *o, int in, gen_type g, const char *lv, size_t off)
{
    const scalar *sc = scalar_of(g.kind);
    char *cond = member_test(sc, g, lv);
    if (cond) {
        fail_if(o, in, cond, "parley_dec_fail(_d", member_error(sc));
    } else if (sc->dec_hi) {
        char *wire = fmt(sc->dec_lo ? "(int32_t)%s(_p + %zu)" : "%s(_p + %zu)", sc->ld, off);
        fail_if(o, in, range_test(wire, sc->dec_lo, sc->dec_hi), "parley_dec_fail(_d",
                "PARLEY_ERR_RANGE");
        free(wire);
    }
}

/* dec_zero writes what a value of a run holds when the data ran out. */
static void dec_zero(gen_out *o, int in, gen_type g, const char *lv)
{
    ind(o, in);
    if (scalar_of(g.kind)->ld_pre == NULL)
        gen_printf(o, "%s = (%s)0;\n", lv, g.def->name);
    else
        gen_printf(o, "%s = 0;\n", lv);
}

static void dec_run(gen_out *o, int in, const item *it, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += gen_prim_size(it[i].g.kind);
    ind(o, in);
    gen_printf(o, "if (parley_dec_need(_d, %zu)) {\n", total);
    ind(o, in + 1);
    gen_puts(o, "const uint8_t *_p = parley_dec_pos(_d);\n");
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        dec_load(o, in + 1, it[i].g, it[i].lv, off);
        off += gen_prim_size(it[i].g.kind);
    }
    ind(o, in + 1);
    gen_printf(o, "parley_dec_set_pos(_d, _p + %zu);\n", total);
    off = 0;
    for (size_t i = 0; i < n; i++) {
        dec_check(o, in + 1, it[i].g, it[i].lv, off);
        off += gen_prim_size(it[i].g.kind);
    }
    ind(o, in);
    gen_puts(o, "} else {\n");
    for (size_t i = 0; i < n; i++)
        dec_zero(o, in + 1, it[i].g, it[i].lv);
    ind(o, in);
    gen_puts(o, "}\n");
}

static void dec_value(gen_out *o, int in, const idl_type *t, const char *lv);

/* min_text is the C text of the smallest encoded size of a value of type t:
 * a number, or, for a typedef of a fixed array whose size is a C constant
 * (.x files), an expression of that constant. */
static char *min_text(const idl_type *t)
{
    gen_type g = gen_classify(t);
    if (g.kind == GK_TYPEDEF) {
        const idl_decl *d = g.def->u.tdef.decl;
        if (d->kind == IDL_D_FIXED && d->bound_text) {
            if (d->type->kind == IDL_T_OPAQUE)
                return fmt("parley_round4(%s)", d->bound_text);
            char *inner = min_text(d->type);
            char *r = fmt("(size_t)%s * %s", d->bound_text, inner);
            free(inner);
            return r;
        }
    }
    return fmt("%llu", (unsigned long long)gen_type_min_size(t));
}

/* elem_ctype is the C type of an array element or pointee. */
static const char *elem_ctype(const idl_type *t)
{
    return gen_ctype(t);
}

/* dec_decl decodes one declaration into lv. */
static void dec_decl(gen_out *o, int in, const idl_decl *d, const char *lv)
{
    char nb[BOUND_TEXT];
    gen_type g = d->type ? gen_classify(d->type) : (gen_type){GK_VOID, NULL};
    switch (d->kind) {
    case IDL_D_VOID:
        return;
    case IDL_D_SCALAR:
        dec_value(o, in, d->type, lv);
        return;
    case IDL_D_FIXED:
        if (d->type->kind == IDL_T_OPAQUE) {
            ind(o, in);
            gen_printf(o, "parley_get_opaque(_d, %s, %s);\n", lv, bound_of(d, nb, sizeof nb));
        } else if (bulk_suffix(g.kind)) {
            ind(o, in);
            gen_printf(o, "parley_get_%s(_d, %s, %s);\n", bulk_suffix(g.kind), lv,
                       bound_of(d, nb, sizeof nb));
        } else {
            ind(o, in);
            gen_printf(o, "for (u_int _i = 0; _i < %s; _i++) {\n", bound_of(d, nb, sizeof nb));
            char *el = fmt("%s[_i]", lv);
            dec_value(o, in + 1, d->type, el);
            free(el);
            ind(o, in + 1);
            gen_puts(o, "if (PARLEY_UNLIKELY(parley_dec_error(_d))) {\n");
            ind(o, in + 2);
            gen_printf(o, "memset(&%s[_i + 1], 0, (%s - _i - 1) * sizeof %s[0]);\n", lv,
                       bound_of(d, nb, sizeof nb), lv);
            ind(o, in + 2);
            gen_puts(o, "break;\n");
            ind(o, in + 1);
            gen_puts(o, "}\n");
            ind(o, in);
            gen_puts(o, "}\n");
        }
        return;
    case IDL_D_VAR:
        if (d->type->kind == IDL_T_STRING) {
            ind(o, in);
            gen_printf(o, "parley_get_string(_d, &%s, %s);\n", lv, bound_of(d, nb, sizeof nb));
        } else if (d->type->kind == IDL_T_OPAQUE) {
            ind(o, in);
            gen_printf(o, "parley_get_bytes(_d, &%s.%s_val, &%s.%s_len, %s);\n", lv, d->name, lv,
                       d->name, bound_of(d, nb, sizeof nb));
        } else {
            const char *ct = elem_ctype(d->type);
            char *minw = min_text(d->type);
            ind(o, in);
            gen_puts(o, "{\n");
            ind(o, in + 1);
            gen_printf(o, "uint32_t _n = parley_get_count(_d, %s, %s, sizeof(%s));\n",
                       bound_of(d, nb, sizeof nb), minw, ct);
            free(minw);
            ind(o, in + 1);
            gen_printf(o, "%s *_a = _n ? parley_dec_alloc(_d, (size_t)_n * sizeof(%s)) : NULL;\n",
                       ct, ct);
            ind(o, in + 1);
            gen_puts(o, "if (!_a)\n");
            ind(o, in + 2);
            gen_puts(o, "_n = 0;\n");
            ind(o, in + 1);
            gen_printf(o, "%s.%s_val = _a;\n", lv, d->name);
            ind(o, in + 1);
            gen_printf(o, "%s.%s_len = _n;\n", lv, d->name);
            if (bulk_suffix(g.kind)) {
                ind(o, in + 1);
                gen_printf(o, "parley_get_%s(_d, _a, _n);\n", bulk_suffix(g.kind));
            } else {
                ind(o, in + 1);
                gen_puts(o, "for (uint32_t _i = 0; _i < _n; _i++) {\n");
                dec_value(o, in + 2, d->type, "_a[_i]");
                ind(o, in + 2);
                gen_puts(o, "if (PARLEY_UNLIKELY(parley_dec_error(_d))) {\n");
                ind(o, in + 3);
                gen_printf(o, "%s.%s_len = _i + 1;\n", lv, d->name);
                ind(o, in + 3);
                gen_puts(o, "break;\n");
                ind(o, in + 2);
                gen_puts(o, "}\n");
                ind(o, in + 1);
                gen_puts(o, "}\n");
            }
            ind(o, in);
            gen_puts(o, "}\n");
        }
        return;
    case IDL_D_OPTIONAL: {
        const char *ct = elem_ctype(d->type);
        ind(o, in);
        gen_puts(o, "if (parley_get_bool(_d)) {\n");
        ind(o, in + 1);
        gen_printf(o, "%s *_q = parley_dec_alloc(_d, sizeof(%s));\n", ct, ct);
        ind(o, in + 1);
        gen_printf(o, "%s = _q;\n", lv);
        ind(o, in + 1);
        gen_puts(o, "if (_q) {\n");
        dec_value(o, in + 2, d->type, "(*_q)");
        ind(o, in + 1);
        gen_puts(o, "}\n");
        ind(o, in);
        gen_puts(o, "} else {\n");
        ind(o, in + 1);
        gen_printf(o, "%s = NULL;\n", lv);
        ind(o, in);
        gen_puts(o, "}\n");
        return;
    }
    }
}

/* dec_value decodes one value of type t into lv. */
static void dec_value(gen_out *o, int in, const idl_type *t, const char *lv)
{
    gen_type g = gen_classify(t);
    if (is_run_kind(g.kind)) {
        item it = {g, lv};
        dec_run(o, in, &it, 1);
    } else if (g.kind == GK_STRUCT || g.kind == GK_TYPEDEF) {
        ind(o, in);
        gen_printf(o, "%s_dec(_d, &%s);\n", g.def->name, lv);
    }
}

static void dec_fields(gen_out *o, int in, const idl_decl *d, const idl_decl *stop,
                       const char *base)
{
    walk_fields(o, in, d, stop, base, dec_run, dec_decl);
}

/* ---- sizes ------------------------------------------------------------ */

static void size_value(gen_out *o, int in, const idl_type *t, const char *lv);

static void size_decl(gen_out *o, int in, const idl_decl *d, const char *lv)
{
    char nb[BOUND_TEXT];
    uint64_t fs;
    if (gen_decl_fixed(d, &fs)) {
        if (fs) {
            ind(o, in);
            gen_printf(o, "_n += %llu;\n", (unsigned long long)fs);
        }
        return;
    }
    switch (d->kind) {
    case IDL_D_VOID:
        return;
    case IDL_D_SCALAR:
        size_value(o, in, d->type, lv);
        return;
    case IDL_D_FIXED:
        /* not fixed in size here only when the size is a C constant */
        if (d->type->kind == IDL_T_OPAQUE) {
            ind(o, in);
            gen_printf(o, "_n += parley_round4(%s);\n", bound_of(d, nb, sizeof nb));
            return;
        }
        if (gen_type_fixed(d->type, &fs)) {
            ind(o, in);
            gen_printf(o, "_n += (size_t)%s * %llu;\n", bound_of(d, nb, sizeof nb),
                       (unsigned long long)fs);
            return;
        }
        ind(o, in);
        gen_printf(o, "for (u_int _i = 0; _i < %s; _i++) {\n", bound_of(d, nb, sizeof nb));
        {
            char *el = fmt("%s[_i]", lv);
            size_value(o, in + 1, d->type, el);
            free(el);
        }
        ind(o, in);
        gen_puts(o, "}\n");
        return;
    case IDL_D_VAR:
        ind(o, in);
        if (d->type->kind == IDL_T_STRING) {
            gen_printf(o, "_n += parley_size_string(%s);\n", lv);
        } else if (d->type->kind == IDL_T_OPAQUE) {
            gen_printf(o, "_n += 4 + parley_round4(%s.%s_len);\n", lv, d->name);
        } else if (gen_type_fixed(d->type, &fs)) {
            gen_printf(o, "_n += 4 + (size_t)%s.%s_len * %llu;\n", lv, d->name,
                       (unsigned long long)fs);
        } else {
            gen_printf(o, "_n += 4;\n");
            ind(o, in);
            gen_printf(o, "for (u_int _i = 0; _i < %s.%s_len; _i++) {\n", lv, d->name);
            char *el = fmt("%s.%s_val[_i]", lv, d->name);
            size_value(o, in + 1, d->type, el);
            free(el);
            ind(o, in);
            gen_puts(o, "}\n");
        }
        return;
    case IDL_D_OPTIONAL: {
        ind(o, in);
        gen_printf(o, "_n += 4;\n");
        ind(o, in);
        gen_printf(o, "if (%s) {\n", lv);
        char *el = fmt("(*%s)", lv);
        size_value(o, in + 1, d->type, el);
        free(el);
        ind(o, in);
        gen_puts(o, "}\n");
        return;
    }
    }
}

static void size_value(gen_out *o, int in, const idl_type *t, const char *lv)
{
    uint64_t fs;
    if (gen_type_fixed(t, &fs)) {
        ind(o, in);
        gen_printf(o, "_n += %llu;\n", (unsigned long long)fs);
        return;
    }
    gen_type g = gen_classify(t);
    if (is_array_typedef(g)) {
        ind(o, in);
        gen_printf(o, "_n += %s_size((const %s *)&%s);\n", g.def->name, g.def->name, lv);
    } else if (g.kind == GK_STRUCT || g.kind == GK_TYPEDEF) {
        ind(o, in);
        gen_printf(o, "_n += %s_size(&%s);\n", g.def->name, lv);
    }
}

static void size_fields(gen_out *o, int in, const idl_decl *d, const idl_decl *stop,
                        const char *base)
{
    uint64_t fixed = 0, fs;
    for (const idl_decl *f = d; f && f != stop; f = f->next)
        if (gen_decl_fixed(f, &fs))
            fixed += fs;
    if (fixed) {
        ind(o, in);
        gen_printf(o, "_n += %llu;\n", (unsigned long long)fixed);
    }
    for (const idl_decl *f = d; f && f != stop; f = f->next) {
        if (gen_decl_fixed(f, &fs))
            continue;
        char *lv = fmt("%s%s", base, f->name);
        size_decl(o, in, f, lv);
        free(lv);
    }
}

/* ---- freeing ---------------------------------------------------------- */

static void free_value(gen_out *o, int in, const idl_type *t, const char *lv);

static void free_decl(gen_out *o, int in, const idl_decl *d, const char *lv)
{
    char nb[BOUND_TEXT];
    if (!gen_decl_needs_free(d))
        return;
    switch (d->kind) {
    case IDL_D_VOID:
        return;
    case IDL_D_SCALAR:
        free_value(o, in, d->type, lv);
        return;
    case IDL_D_FIXED:
        ind(o, in);
        gen_printf(o, "for (u_int _i = 0; _i < %s; _i++) {\n", bound_of(d, nb, sizeof nb));
        {
            char *el = fmt("%s[_i]", lv);
            free_value(o, in + 1, d->type, el);
            free(el);
        }
        ind(o, in);
        gen_puts(o, "}\n");
        return;
    case IDL_D_VAR:
        if (d->type->kind == IDL_T_STRING) {
            ind(o, in);
            gen_printf(o, "free(%s);\n", lv);
            return;
        }
        if (d->type->kind != IDL_T_OPAQUE && gen_type_needs_free(d->type)) {
            ind(o, in);
            gen_printf(o, "if (%s.%s_val) {\n", lv, d->name);
            ind(o, in + 1);
            gen_printf(o, "for (u_int _i = 0; _i < %s.%s_len; _i++) {\n", lv, d->name);
            char *el = fmt("%s.%s_val[_i]", lv, d->name);
            free_value(o, in + 2, d->type, el);
            free(el);
            ind(o, in + 1);
            gen_puts(o, "}\n");
            ind(o, in);
            gen_puts(o, "}\n");
        }
        ind(o, in);
        gen_printf(o, "free(%s.%s_val);\n", lv, d->name);
        return;
    case IDL_D_OPTIONAL: {
        ind(o, in);
        gen_printf(o, "if (%s) {\n", lv);
        char *el = fmt("(*%s)", lv);
        free_value(o, in + 1, d->type, el);
        free(el);
        ind(o, in + 1);
        gen_printf(o, "free(%s);\n", lv);
        ind(o, in);
        gen_puts(o, "}\n");
        return;
    }
    }
}

static void free_value(gen_out *o, int in, const idl_type *t, const char *lv)
{
    if (!gen_type_needs_free(t))
        return;
    gen_type g = gen_classify(t);
    if (g.kind == GK_STRUCT || g.kind == GK_TYPEDEF) {
        ind(o, in);
        gen_printf(o, "%s_free(&%s);\n", g.def->name, lv);
    }
}

static void free_fields(gen_out *o, int in, const idl_decl *d, const idl_decl *stop,
                        const char *base)
{
    for (; d && d != stop; d = d->next) {
        char *lv = fmt("%s%s", base, d->name);
        free_decl(o, in, d, lv);
        free(lv);
    }
}

/* ---- copying ---------------------------------------------------------- */

/* A copy starts with a shallow one (memcpy of the whole value, which also
 * copies every plain field), and then replaces each pointer it copied with
 * a deep copy of what it points to. Each of these steps writes its pointers
 * on every path, so after a failed allocation the copy holds only its own
 * memory and NULLs, and T_free releases it. */

static void cpy_value(gen_out *o, int in, const idl_type *t, const char *dlv, const char *slv);

/* cpy_decl makes the deep part of the copy of one declaration, stored at
 * dlv (already a shallow copy of slv). */
static void cpy_decl(gen_out *o, int in, const idl_decl *d, const char *dlv, const char *slv)
{
    char nb[BOUND_TEXT];
    if (!gen_decl_needs_free(d))
        return;
    switch (d->kind) {
    case IDL_D_VOID:
        return;
    case IDL_D_SCALAR:
        cpy_value(o, in, d->type, dlv, slv);
        return;
    case IDL_D_FIXED: {
        ind(o, in);
        gen_printf(o, "for (u_int _i = 0; _i < %s; _i++) {\n", bound_of(d, nb, sizeof nb));
        char *de = fmt("%s[_i]", dlv), *se = fmt("%s[_i]", slv);
        cpy_value(o, in + 1, d->type, de, se);
        free(de);
        free(se);
        ind(o, in);
        gen_puts(o, "}\n");
        return;
    }
    case IDL_D_VAR:
        if (d->type->kind == IDL_T_STRING) {
            ind(o, in);
            gen_printf(o, "parley_cpy_string(_c, &%s, %s);\n", dlv, slv);
            return;
        }
        if (d->type->kind == IDL_T_OPAQUE) {
            ind(o, in);
            gen_printf(o, "parley_cpy_bytes(_c, &%s.%s_val, &%s.%s_len, %s.%s_val, %s.%s_len);\n",
                       dlv, d->name, dlv, d->name, slv, d->name, slv, d->name);
            return;
        }
        if (!gen_type_needs_free(d->type)) {
            ind(o, in);
            gen_printf(o,
                       "%s.%s_val = parley_cpy_mem(_c, %s.%s_val, %s.%s_len, sizeof *%s.%s_val);\n",
                       dlv, d->name, slv, d->name, slv, d->name, slv, d->name);
            ind(o, in);
            gen_printf(o, "if (!%s.%s_val)\n", dlv, d->name);
            ind(o, in + 1);
            gen_printf(o, "%s.%s_len = 0;\n", dlv, d->name);
            return;
        }
        {
            const char *ct = elem_ctype(d->type);
            ind(o, in);
            gen_puts(o, "{\n");
            ind(o, in + 1);
            gen_printf(o, "u_int _n = %s.%s_len;\n", slv, d->name);
            ind(o, in + 1);
            gen_printf(o, "if (_n && !%s.%s_val) {\n", slv, d->name);
            ind(o, in + 2);
            gen_puts(o, "parley_cpy_fail(_c, PARLEY_ERR_NULL);\n");
            ind(o, in + 2);
            gen_puts(o, "_n = 0;\n");
            ind(o, in + 1);
            gen_puts(o, "}\n");
            ind(o, in + 1);
            gen_printf(o, "%s *_a = parley_cpy_alloc(_c, _n, sizeof(%s));\n", ct, ct);
            ind(o, in + 1);
            gen_puts(o, "if (!_a)\n");
            ind(o, in + 2);
            gen_puts(o, "_n = 0;\n");
            ind(o, in + 1);
            gen_printf(o, "%s.%s_val = _a;\n", dlv, d->name);
            ind(o, in + 1);
            gen_printf(o, "%s.%s_len = _n;\n", dlv, d->name);
            ind(o, in + 1);
            gen_puts(o, "for (u_int _i = 0; _i < _n; _i++) {\n");
            char *se = fmt("%s.%s_val[_i]", slv, d->name);
            cpy_value(o, in + 2, d->type, "_a[_i]", se);
            free(se);
            ind(o, in + 1);
            gen_puts(o, "}\n");
            ind(o, in);
            gen_puts(o, "}\n");
        }
        return;
    case IDL_D_OPTIONAL: {
        const char *ct = elem_ctype(d->type);
        ind(o, in);
        gen_printf(o, "if (%s) {\n", slv);
        ind(o, in + 1);
        gen_printf(o, "%s *_q = parley_cpy_alloc(_c, 1, sizeof(%s));\n", ct, ct);
        ind(o, in + 1);
        gen_printf(o, "%s = _q;\n", dlv);
        ind(o, in + 1);
        gen_puts(o, "if (_q) {\n");
        char *se = fmt("(*%s)", slv);
        if (gen_type_needs_free(d->type)) {
            cpy_value(o, in + 2, d->type, "(*_q)", se);
        } else {
            ind(o, in + 2);
            gen_printf(o, "memcpy(_q, %s, sizeof *_q);\n", slv);
        }
        free(se);
        ind(o, in + 1);
        gen_puts(o, "}\n");
        ind(o, in);
        gen_puts(o, "}\n");
        return;
    }
    }
}

/* cpy_value copies one value of type t from slv into dlv deeply. A type
 * that owns no memory is copied whole; one that does by its T_cpy (an
 * external type by the helper that goes through its codec), which starts
 * with the shallow copy itself. */
static void cpy_value(gen_out *o, int in, const idl_type *t, const char *dlv, const char *slv)
{
    ind(o, in);
    if (!gen_type_needs_free(t)) {
        gen_printf(o, "memcpy(&%s, &%s, sizeof %s);\n", dlv, slv, dlv);
        return;
    }
    if (t->kind == IDL_T_STRING) {
        gen_printf(o, "parley_cpy_string(_c, &%s, %s);\n", dlv, slv);
        return;
    }
    gen_type g = gen_classify(t);
    const char *suffix = g.def->external ? "__cpy" : "_cpy";
    if (is_array_typedef(g))
        gen_printf(o, "%s%s(_c, &%s, (const %s *)&%s);\n", g.def->name, suffix, dlv, g.def->name,
                   slv);
    else
        gen_printf(o, "%s%s(_c, &%s, &%s);\n", g.def->name, suffix, dlv, slv);
}

static void cpy_fields(gen_out *o, int in, const idl_decl *d, const idl_decl *stop,
                       const char *dbase, const char *sbase)
{
    for (; d && d != stop; d = d->next) {
        char *dl = fmt("%s%s", dbase, d->name), *sl = fmt("%s%s", sbase, d->name);
        cpy_decl(o, in, d, dl, sl);
        free(dl);
        free(sl);
    }
}

/* ---- per definition --------------------------------------------------- */

static const idl_decl *last_field(const idl_def *def)
{
    const idl_decl *d = def->u.strct.fields;
    while (d && d->next)
        d = d->next;
    return d;
}

/* has_union_body is nonzero when a union has an arm with storage (rpcgen
 * leaves the U_u member out otherwise). */
static int has_union_body(const idl_def *def)
{
    for (const idl_case *c = def->u.un.cases; c; c = c->next)
        if (c->decl->kind != IDL_D_VOID)
            return 1;
    return def->u.un.dflt && def->u.un.dflt->kind != IDL_D_VOID;
}

/* case_label prints a union case value as C: a name as written, else the
 * value (with a u suffix past INT_MAX, for unsigned discriminants). */
static void case_labels(gen_out *o, int in, const idl_case *c)
{
    for (const idl_case_value *v = c->values; v; v = v->next) {
        ind(o, in);
        if (v->value->kind == IDL_EXPR_NAME && v->value->ref == NULL && v->value->enum_ref != NULL)
            gen_printf(o, "case %s:\n", v->value->text);
        else if (v->value->value > 2147483647)
            gen_printf(o, "case %lldu:\n", (long long)v->value->value);
        else
            gen_printf(o, "case %lld:\n", (long long)v->value->value);
    }
}

/* emit_enum_valid writes the membership test of an enum; they all come
 * first in the file, since any codec function may use any of them. */
static void emit_enum_valid(gen_out *o, const idl_def *def)
{
    /* the set of members as a range test when they are contiguous */
    int64_t lo = 0, hi = 0;
    size_t count = 0;
    for (const idl_enumerator *m = def->u.enm.members; m; m = m->next, count++) {
        if (!count || m->ivalue < lo)
            lo = m->ivalue;
        if (!count || m->ivalue > hi)
            hi = m->ivalue;
    }
    gen_printf(o, "static inline int %s__valid(int32_t _x)\n{\n", def->name);
    if (count && (uint64_t)(hi - lo) + 1 == count) {
        gen_printf(o, "    return _x >= %lld && _x <= %lld;\n", (long long)lo, (long long)hi);
    } else {
        gen_puts(o, "    switch (_x) {\n");
        for (const idl_enumerator *m = def->u.enm.members; m; m = m->next) {
            /* a .x file may give two members one value: one label each */
            int dup = 0;
            for (const idl_enumerator *k = def->u.enm.members; k != m && !dup; k = k->next)
                dup = k->ivalue == m->ivalue;
            if (!dup)
                gen_printf(o, "    case %lld:\n", (long long)m->ivalue);
        }
        gen_puts(o, "        return 1;\n    default:\n        return 0;\n    }\n");
    }
    gen_puts(o, "}\n\n");
}

static void emit_enum(gen_out *o, idl_def *def)
{
    gen_printf(o, "void %s_enc(parley_enc *_e, const %s *_v)\n{\n", def->name, def->name);
    item it = {{GK_ENUM, def}, "(*_v)"};
    enc_run(o, 1, &it, 1);
    gen_puts(o, "}\n\n");
    gen_printf(o, "void %s_dec(parley_dec *_d, %s *_v)\n{\n", def->name, def->name);
    dec_run(o, 1, &it, 1);
    gen_puts(o, "}\n\n");
    gen_printf(o, "size_t %s_size(const %s *_v)\n{\n    (void)_v;\n    return 4;\n}\n\n", def->name,
               def->name);
    gen_printf(o, "void %s_free(%s *_v)\n{\n    if (_v)\n        *_v = (%s)0;\n}\n\n", def->name,
               def->name, def->name);
}

static void emit_struct(gen_out *o, idl_def *def)
{
    const idl_decl *fields = def->u.strct.fields;
    const idl_decl *tail = def->list_tail ? last_field(def) : NULL;
    const char *nm = def->name;

    /* encode */
    gen_printf(o, "void %s_enc(parley_enc *_e, const %s *_v)\n{\n", nm, nm);
    if (tail) {
        gen_puts(o, "    for (;;) {\n");
        enc_fields(o, 2, fields, tail, "_v->");
        gen_printf(o, "        parley_put_u32(_e, _v->%s != NULL);\n", tail->name);
        gen_printf(o, "        if (!_v->%s || parley_enc_error(_e))\n            break;\n",
                   tail->name);
        gen_printf(o, "        _v = _v->%s;\n    }\n", tail->name);
    } else {
        enc_fields(o, 1, fields, NULL, "_v->");
    }
    gen_puts(o, "}\n\n");

    /* decode */
    gen_printf(o, "void %s_dec(parley_dec *_d, %s *_v)\n{\n", nm, nm);
    if (def->recursive) {
        gen_puts(o, "    if (!parley_dec_enter(_d)) {\n        memset(_v, 0, sizeof *_v);\n"
                    "        return;\n    }\n");
    }
    if (tail) {
        gen_puts(o, "    for (;;) {\n");
        dec_fields(o, 2, fields, tail, "_v->");
        gen_printf(o,
                   "        if (!parley_get_bool(_d)) {\n            _v->%s = NULL;\n"
                   "            break;\n        }\n",
                   tail->name);
        gen_printf(o, "        %s *_next = parley_dec_alloc(_d, sizeof *_next);\n", nm);
        gen_printf(o, "        _v->%s = _next;\n", tail->name);
        gen_puts(o, "        if (!_next)\n            break;\n        _v = _next;\n    }\n");
    } else {
        dec_fields(o, 1, fields, NULL, "_v->");
    }
    if (def->recursive)
        gen_puts(o, "    parley_dec_leave(_d);\n");
    gen_puts(o, "}\n\n");

    /* size */
    gen_printf(o, "size_t %s_size(const %s *_v)\n{\n    size_t _n = 0;\n", nm, nm);
    if (tail) {
        gen_printf(o, "    for (; _v; _v = _v->%s) {\n", tail->name);
        size_fields(o, 2, fields, tail, "_v->");
        gen_puts(o, "        _n += 4;\n    }\n");
    } else {
        size_fields(o, 1, fields, NULL, "_v->");
        uint64_t fs;
        if (gen_def_fixed(def, &fs))
            gen_puts(o, "    (void)_v;\n");
    }
    gen_puts(o, "    return _n;\n}\n\n");

    /* free */
    gen_printf(o, "void %s_free(%s *_v)\n{\n", nm, nm);
    gen_puts(o, "    if (!_v)\n        return;\n"); /* _free(NULL) is a no-op */
    if (gen_def_needs_free(def)) {
        free_fields(o, 1, fields, tail, "_v->");
        if (tail) {
            gen_printf(o, "    %s *_next = _v->%s;\n", nm, tail->name);
            gen_puts(o, "    while (_next) {\n");
            gen_printf(o, "        %s *_after = _next->%s;\n", nm, tail->name);
            free_fields(o, 2, fields, tail, "_next->");
            gen_puts(o, "        free(_next);\n        _next = _after;\n    }\n");
        }
    }
    gen_puts(o, "    memset(_v, 0, sizeof *_v);\n}\n\n");
}

/* union_arm_lv is the storage of an arm: v->U_u.name. */
static char *union_arm_lv(const idl_def *def, const idl_decl *d)
{
    return d->name ? fmt("_v->%s_u.%s", def->name, d->name) : fmt("_v");
}

/* emit_arms writes the switch over a union's discriminant (at disc_lv) that
 * runs one of the declaration emitters (encode, decode, size or free) on the
 * arm selected. Without a default arm the default label runs `otherwise`
 * (NULL: nothing). The caller closes the function. */
static void emit_arms(gen_out *o, const idl_def *def, const char *disc_lv, decl_emitter *arm,
                      const char *otherwise)
{
    gen_printf(o, "    switch (%s) {\n", disc_lv);
    for (const idl_case *c = def->u.un.cases; c; c = c->next) {
        case_labels(o, 1, c);
        char *lv = union_arm_lv(def, c->decl);
        arm(o, 2, c->decl, lv);
        free(lv);
        gen_puts(o, "        break;\n");
    }
    gen_puts(o, "    default:\n");
    if (def->u.un.dflt) {
        char *lv = union_arm_lv(def, def->u.un.dflt);
        arm(o, 2, def->u.un.dflt, lv);
        free(lv);
    } else if (otherwise) {
        gen_puts(o, otherwise);
    }
    gen_puts(o, "        break;\n    }\n");
}

static void emit_union(gen_out *o, idl_def *def)
{
    const char *nm = def->name;
    const idl_decl *disc = def->u.un.disc;
    char *disc_lv = fmt("_v->%s", disc->name);

    /* encode */
    gen_printf(o, "void %s_enc(parley_enc *_e, const %s *_v)\n{\n", nm, nm);
    enc_decl(o, 1, disc, disc_lv);
    emit_arms(o, def, disc_lv, enc_decl, "        parley_enc_fail(_e, PARLEY_ERR_BAD_UNION);\n");
    gen_puts(o, "}\n\n");

    /* decode: with no arm selected, the arms' storage is zeroed so that
     * v_free finds nothing to free */
    gen_printf(o, "void %s_dec(parley_dec *_d, %s *_v)\n{\n", nm, nm);
    if (def->recursive) {
        gen_puts(o, "    if (!parley_dec_enter(_d)) {\n        memset(_v, 0, sizeof *_v);\n"
                    "        return;\n    }\n");
    }
    dec_decl(o, 1, disc, disc_lv);
    char *bad = has_union_body(def) ? fmt("        parley_dec_fail(_d, PARLEY_ERR_BAD_UNION);\n"
                                          "        memset(&_v->%s_u, 0, sizeof _v->%s_u);\n",
                                          nm, nm)
                                    : fmt("        parley_dec_fail(_d, PARLEY_ERR_BAD_UNION);\n");
    emit_arms(o, def, disc_lv, dec_decl, bad);
    free(bad);
    if (def->recursive)
        gen_puts(o, "    parley_dec_leave(_d);\n");
    gen_puts(o, "}\n\n");

    /* size */
    gen_printf(o, "size_t %s_size(const %s *_v)\n{\n    size_t _n = 4;\n", nm, nm);
    emit_arms(o, def, disc_lv, size_decl, NULL);
    gen_puts(o, "    return _n;\n}\n\n");

    /* free */
    gen_printf(o, "void %s_free(%s *_v)\n{\n", nm, nm);
    gen_puts(o, "    if (!_v)\n        return;\n"); /* _free(NULL) is a no-op */
    if (gen_def_needs_free(def))
        emit_arms(o, def, disc_lv, free_decl, NULL);
    gen_puts(o, "    memset(_v, 0, sizeof *_v);\n}\n\n");
    free(disc_lv);
}

static void emit_typedef(gen_out *o, idl_def *def)
{
    const char *nm = def->name;
    const idl_decl *d = def->u.tdef.decl;

    gen_printf(o, "void %s_enc(parley_enc *_e, const %s *_v)\n{\n", nm, nm);
    enc_decl(o, 1, d, "(*_v)");
    gen_puts(o, "}\n\n");

    /* no depth guard here: every cycle of types C can express passes
     * through a struct or union, whose decoder keeps the count */
    gen_printf(o, "void %s_dec(parley_dec *_d, %s *_v)\n{\n", nm, nm);
    dec_decl(o, 1, d, "(*_v)");
    gen_puts(o, "}\n\n");

    gen_printf(o, "size_t %s_size(const %s *_v)\n{\n    size_t _n = 0;\n", nm, nm);
    uint64_t fs;
    if (gen_decl_fixed(d, &fs) || (d->kind == IDL_D_FIXED && d->bound_text &&
                                   (d->type->kind == IDL_T_OPAQUE || gen_type_fixed(d->type, &fs))))
        gen_puts(o, "    (void)_v;\n");
    size_decl(o, 1, d, "(*_v)");
    gen_puts(o, "    return _n;\n}\n\n");

    gen_printf(o, "void %s_free(%s *_v)\n{\n", nm, nm);
    gen_puts(o, "    if (!_v)\n        return;\n"); /* _free(NULL) is a no-op */
    if (gen_def_needs_free(def))
        free_decl(o, 1, d, "(*_v)");
    gen_puts(o, "    memset(_v, 0, sizeof *_v);\n}\n\n");
}

/* copy_head writes the opening of T_cpy: the depth guard of a recursive
 * type and the shallow copy. */
static void copy_head(gen_out *o, idl_def *def)
{
    gen_printf(o, "void %s_cpy(parley_cpy *_c, %s *_dst, const %s *_src)\n{\n", def->name,
               def->name, def->name);
    if (def->recursive && gen_def_needs_free(def))
        gen_puts(o, "    if (!parley_cpy_enter(_c)) {\n        memset(_dst, 0, sizeof *_dst);\n"
                    "        return;\n    }\n");
    if (!gen_def_needs_free(def))
        gen_puts(o, "    (void)_c;\n");
    gen_puts(o, "    memcpy(_dst, _src, sizeof *_dst);\n");
}

static void copy_tail(gen_out *o, idl_def *def)
{
    if (def->recursive && gen_def_needs_free(def))
        gen_puts(o, "    parley_cpy_leave(_c);\n");
    gen_puts(o, "}\n\n");
}

/* emit_copy writes T_cpy, the deep copy on a copying cursor, and T_copy
 * over it. */
static void emit_copy(gen_out *o, idl_def *def)
{
    const char *nm = def->name;
    copy_head(o, def);
    if (gen_def_needs_free(def)) {
        switch (def->kind) {
        case IDL_DEF_STRUCT: {
            const idl_decl *tail = def->list_tail ? last_field(def) : NULL;
            if (!tail) {
                cpy_fields(o, 1, def->u.strct.fields, NULL, "_dst->", "_src->");
                break;
            }
            gen_puts(o, "    for (;;) {\n");
            cpy_fields(o, 2, def->u.strct.fields, tail, "_dst->", "_src->");
            gen_printf(o, "        if (!_src->%s)\n            break;\n", tail->name);
            gen_printf(o, "        %s *_next = parley_cpy_alloc(_c, 1, sizeof *_next);\n", nm);
            gen_printf(o, "        _dst->%s = _next;\n", tail->name);
            gen_puts(o, "        if (!_next)\n            break;\n");
            gen_printf(o, "        memcpy(_next, _src->%s, sizeof *_next);\n", tail->name);
            gen_printf(o, "        _dst = _next;\n        _src = _src->%s;\n    }\n", tail->name);
            break;
        }
        case IDL_DEF_UNION: {
            const char *disc = def->u.un.disc->name;
            gen_printf(o, "    switch (_src->%s) {\n", disc);
            for (const idl_case *c = def->u.un.cases; c; c = c->next) {
                /* every arm has its label, a plain one too: the default
                 * label is for the discriminants with no arm */
                case_labels(o, 1, c);
                char *dl = fmt("_dst->%s_u.%s", nm, c->decl->name);
                char *sl = fmt("_src->%s_u.%s", nm, c->decl->name);
                cpy_decl(o, 2, c->decl, dl, sl);
                free(dl);
                free(sl);
                gen_puts(o, "        break;\n");
            }
            gen_puts(o, "    default:\n");
            const idl_decl *dd = def->u.un.dflt;
            if (dd && gen_decl_needs_free(dd)) {
                char *dl = fmt("_dst->%s_u.%s", nm, dd->name);
                char *sl = fmt("_src->%s_u.%s", nm, dd->name);
                cpy_decl(o, 2, dd, dl, sl);
                free(dl);
                free(sl);
            } else if (!dd) {
                /* no arm: nothing of the source's storage is the copy's */
                gen_printf(o, "        memset(&_dst->%s_u, 0, sizeof _dst->%s_u);\n", nm, nm);
            }
            gen_puts(o, "        break;\n    }\n");
            break;
        }
        case IDL_DEF_TYPEDEF:
            cpy_decl(o, 1, def->u.tdef.decl, "(*_dst)", "(*_src)");
            break;
        default:
            break;
        }
    }
    copy_tail(o, def);

    gen_printf(o,
               "int %s_copy(%s *_dst, const %s *_src, parley_arena *_arena)\n"
               "{\n"
               "    if (!_dst || !_src)\n"
               "        return PARLEY_ERR_INVALID;\n"
               "    parley_cpy _c;\n"
               "    parley_cpy_init(&_c, _arena);\n"
               "    %s_cpy(&_c, _dst, _src);\n"
               "    int _rc = parley_cpy_error(&_c);\n"
               "    if (_rc && !_arena)\n"
               "        %s_free(_dst);\n"
               "    else if (_rc)\n"
               "        memset(_dst, 0, sizeof *_dst);\n"
               "    return _rc;\n"
               "}\n\n",
               nm, nm, nm, nm, nm);
}

/* uses_external is nonzero when a type of spec holds a value of the
 * external type x (directly or through typedefs of plain names), whose copy
 * then needs x__cpy. */
static int decl_uses(const idl_decl *d, const idl_def *x)
{
    if (!d || d->kind == IDL_D_VOID || !d->type || d->type->kind != IDL_T_NAMED)
        return 0;
    return gen_classify(d->type).def == x;
}

static int uses_external(const idl_spec *spec, const idl_def *x)
{
    for (const idl_def *def = spec->defs; def; def = def->next) {
        switch (def->kind) {
        case IDL_DEF_STRUCT:
            for (const idl_decl *d = def->u.strct.fields; d; d = d->next)
                if (decl_uses(d, x))
                    return 1;
            break;
        case IDL_DEF_UNION:
            for (const idl_case *c = def->u.un.cases; c; c = c->next)
                if (decl_uses(c->decl, x))
                    return 1;
            if (decl_uses(def->u.un.dflt, x))
                return 1;
            break;
        case IDL_DEF_TYPEDEF:
            if (decl_uses(def->u.tdef.decl, x))
                return 1;
            break;
        default:
            break;
        }
    }
    return 0;
}

/* emit_external_copy writes x__cpy, the copy of a value of a type defined
 * in C elsewhere, which has only the codec functions: it is encoded into a
 * scratch buffer and decoded from it into the copy's arena or the heap, so
 * a value that does not encode does not copy (the encoder's error). */
static void emit_external_copy(gen_out *o, const idl_def *x)
{
    const char *nm = x->name, *ct = x->ctype ? x->ctype : x->name;
    gen_printf(o,
               "static void %s__cpy(parley_cpy *_c, %s *_dst, const %s *_src)\n"
               "{\n"
               "    memset(_dst, 0, sizeof *_dst);\n"
               "    if (parley_cpy_error(_c))\n"
               "        return;\n"
               "    size_t _n = %s_size(_src);\n"
               "    uint8_t *_buf = malloc(_n ? _n : 1);\n"
               "    if (!_buf) {\n"
               "        parley_cpy_fail(_c, PARLEY_ERR_NOMEM);\n"
               "        return;\n"
               "    }\n"
               "    parley_enc _e;\n"
               "    parley_enc_init(&_e, _buf, _n);\n"
               "    %s_enc(&_e, _src);\n"
               "    size_t _len = 0;\n"
               "    int _rc = parley_enc_finish(&_e, &_len);\n"
               "    if (_rc == PARLEY_OK) {\n"
               "        parley_limits _lim = {SIZE_MAX, 0, 0, parley_cpy_arena(_c)};\n"
               "        parley_dec _d;\n"
               "        parley_dec_init(&_d, _buf, _len, &_lim);\n"
               "        %s_dec(&_d, _dst);\n"
               "        _rc = parley_dec_finish(&_d, NULL);\n"
               "        if (_rc && !parley_cpy_arena(_c))\n"
               "            %s_free(_dst);\n"
               "        if (_rc)\n"
               "            memset(_dst, 0, sizeof *_dst);\n"
               "    }\n"
               "    free(_buf);\n"
               "    if (_rc)\n"
               "        parley_cpy_fail(_c, _rc);\n"
               "}\n\n",
               nm, ct, ct, nm, nm, nm, nm);
}

/* emit_buffer_api writes T_encode and T_decode over T_enc and T_dec. */
static void emit_buffer_api(gen_out *o, const idl_def *def)
{
    const char *nm = def->name;
    gen_printf(o,
               "int %s_encode(const %s *_v, void *_buf, size_t _cap, size_t *_len)\n"
               "{\n"
               "    parley_enc _e;\n"
               "    parley_enc_init(&_e, _buf, _cap);\n"
               "    %s_enc(&_e, _v);\n"
               "    return parley_enc_finish(&_e, _len);\n"
               "}\n\n",
               nm, nm, nm);
    gen_printf(o,
               "int %s_decode(%s *_v, const void *_buf, size_t _len, size_t *_used,\n"
               "    const parley_limits *_lim)\n"
               "{\n"
               "    parley_dec _d;\n"
               "    parley_dec_init(&_d, _buf, _len, _lim);\n"
               "    %s_dec(&_d, _v);\n"
               "    if (!parley_dec_error(&_d) && !_used && parley_dec_remaining(&_d))\n"
               "        parley_dec_fail(&_d, PARLEY_ERR_TRAILING);\n"
               "    int _rc = parley_dec_finish(&_d, _used);\n"
               "    if (_rc && !parley_dec_arena(&_d))\n"
               "        %s_free(_v);\n"
               "    else if (_rc)\n"
               "        memset(_v, 0, sizeof *_v);\n"
               "    return _rc;\n"
               "}\n\n",
               nm, nm, nm, nm);
}

/* gen_emit_xdr: see emit.h. */
int gen_emit_xdr(gen_out *o, const idl_spec *spec, const gen_opts *opts)
{
    gen_printf(o,
               "/*\n"
               " * %s_xdr.c: the XDR codec of the types in %s.\n"
               " * Generated by parleygen. DO NOT EDIT.\n"
               " */\n"
               "#include <limits.h>\n"
               "#include <stdint.h>\n"
               "#include <stdlib.h>\n"
               "#include <string.h>\n\n"
               "#include \"%s.h\"\n\n",
               opts->base, opts->idl_name, opts->base);
    for (const idl_def *def = spec->defs; def; def = def->next)
        if (def->kind == IDL_DEF_ENUM)
            emit_enum_valid(o, def);
    for (const idl_def *x = spec->externals; x; x = x->next)
        if (uses_external(spec, x))
            emit_external_copy(o, x);
    for (idl_def *def = spec->defs; def; def = def->next) {
        if (def->kind == IDL_DEF_PASSTHRU) {
            gen_printf(o, "%s\n", def->u.pass.text);
            continue;
        }
        if (!gen_is_type_def(def))
            continue;
        gen_line_to_idl(o, opts, def->loc);
        switch (def->kind) {
        case IDL_DEF_ENUM:
            emit_enum(o, def);
            break;
        case IDL_DEF_STRUCT:
            emit_struct(o, def);
            break;
        case IDL_DEF_UNION:
            emit_union(o, def);
            break;
        case IDL_DEF_TYPEDEF:
            emit_typedef(o, def);
            break;
        default:
            break;
        }
        emit_buffer_api(o, def);
        emit_copy(o, def);
        gen_line_back(o, opts);
    }
    return o->oom ? -1 : 0;
}

/* ---- for the stubs ----------------------------------------------------- */

/* gen_proc_enc, gen_proc_dec and gen_proc_size write the code that encodes,
 * decodes and sizes (_n += ...) a procedure's argument or result of type t
 * stored at lv: any type a procedure may take, `string` (unbounded) too. */
/* proc_enum is the enum a procedure type names: its codec functions are
 * called, since its membership test is private to the codec file. */
static const idl_def *proc_enum(const idl_type *t)
{
    gen_type g = gen_classify(t);
    return g.kind == GK_ENUM ? g.def : NULL;
}

void gen_proc_enc(gen_out *o, int in, const idl_type *t, const char *lv)
{
    const idl_def *en = proc_enum(t);
    if (en) {
        ind(o, in);
        gen_printf(o, "%s_enc(_e, &%s);\n", en->name, lv);
        return;
    }
    if (t->kind == IDL_T_STRING) {
        ind(o, in);
        gen_printf(o, "parley_put_string(_e, %s, 4294967295u);\n", lv);
        return;
    }
    enc_value(o, in, t, lv);
}

void gen_proc_dec(gen_out *o, int in, const idl_type *t, const char *lv)
{
    const idl_def *en = proc_enum(t);
    if (en) {
        ind(o, in);
        gen_printf(o, "%s_dec(_d, &%s);\n", en->name, lv);
        return;
    }
    if (t->kind == IDL_T_STRING) {
        ind(o, in);
        gen_printf(o, "parley_get_string(_d, &%s, 4294967295u);\n", lv);
        return;
    }
    dec_value(o, in, t, lv);
}

void gen_proc_size(gen_out *o, int in, const idl_type *t, const char *lv)
{
    if (t->kind == IDL_T_STRING) {
        ind(o, in);
        gen_printf(o, "_n += parley_size_string(%s);\n", lv);
        return;
    }
    size_value(o, in, t, lv);
}
