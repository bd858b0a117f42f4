/*
 * generator/emit_header.c: writes foo.h: constants, types laid out and named
 * as rpcgen lays them out, program/version/procedure numbers, and the codec
 * prototypes.
 *
 * The IDL lets a type be used before its definition; C does not. Types are
 * written in declaration order, except that a definition first writes the
 * definitions it needs complete (fields held by value, typedef and enum
 * names, constants named in sizes). A struct or union reached only through a
 * pointer is named `struct x`, as rpcgen does for forward references.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"

enum { ST_NONE = 0, ST_BUSY = 1, ST_DONE = 2 };

/* The emitter's state; each definition's own is def->gen_state. depth bounds
 * the recursion of emit_def on pathological inputs (a long chain of types
 * each used before its definition): past it a definition is written without
 * first writing what it needs, and the C compiler will say what is missing. */
typedef struct hctx {
    gen_out *o;
    const gen_opts *opts;
    int depth;
} hctx;

enum { MAX_DEPTH = 5000 };

static void emit_def(hctx *h, idl_def *def);

static void need(hctx *h, idl_def *def)
{
    if (def)
        emit_def(h, def);
}

static int is_done(const hctx *h, const idl_def *def)
{
    (void)h;
    return def->gen_state == ST_DONE;
}

static void need_expr(hctx *h, const idl_expr *e)
{
    if (!e)
        return;
    if (e->kind == IDL_EXPR_NAME) {
        if (e->ref)
            need(h, e->ref);
        else if (e->enum_ref)
            need(h, e->enum_ref->owner);
    }
    need_expr(h, e->a);
    need_expr(h, e->b);
}

/* need_decl writes what a declaration needs before it can be written. */
static void need_decl(hctx *h, const idl_decl *d)
{
    if (!d || d->kind == IDL_D_VOID)
        return;
    if (d->size && d->size->kind == IDL_EXPR_NAME)
        need_expr(h, d->size);
    const idl_type *t = d->type;
    if (t->kind != IDL_T_NAMED || !t->ref)
        return;
    idl_def *ref = t->ref;
    int indirect = d->kind == IDL_D_OPTIONAL || d->kind == IDL_D_VAR;
    if (indirect && (ref->kind == IDL_DEF_STRUCT || ref->kind == IDL_DEF_UNION))
        return; /* `struct x *` needs nothing */
    need(h, ref);
}

/* type_name is how a declaration refers to a named type here: the typedef
 * name once complete, `struct x` while it is not. */
static char *type_name(hctx *h, const idl_type *t)
{
    const char *base = gen_ctype(t);
    char *s;
    if (t->kind == IDL_T_NAMED && t->ref && t->ref->external) {
        /* spelled as the file spells it: the C code that defines it decides */
        size_t n = strlen(base) + 8;
        s = malloc(n);
        if (s)
            snprintf(s, n, "%s", t->ref->ctype ? t->ref->ctype : base);
    } else if (t->kind == IDL_T_NAMED && t->ref &&
               (t->ref->kind == IDL_DEF_STRUCT || t->ref->kind == IDL_DEF_UNION) &&
               !is_done(h, t->ref)) {
        size_t n = strlen(base) + 8;
        s = malloc(n);
        if (s)
            snprintf(s, n, "struct %s", base);
    } else {
        s = strdup(base);
    }
    if (!s) {
        fputs("parleygen: out of memory\n", stderr);
        exit(2);
    }
    return s;
}

/* size_text writes a size as the IDL wrote it when it is one name or
 * literal, else as its value. */
static void size_text(gen_out *o, const idl_decl *d)
{
    if (d->bound_text)
        gen_puts(o, d->bound_text);
    else if (d->size && (d->size->kind == IDL_EXPR_NAME || d->size->kind == IDL_EXPR_NUM))
        gen_puts(o, d->size->text);
    else
        gen_printf(o, "%u", d->bound);
}

/* write_decl writes one C declaration (a field, an arm, or after `typedef`). */
static void write_decl(hctx *h, int indent, const idl_decl *d)
{
    gen_out *o = h->o;
    if (d->kind == IDL_D_VOID)
        return;
    for (int i = 0; i < indent; i++)
        gen_puts(o, "\t");
    if (d->type->kind == IDL_T_STRING) {
        gen_printf(o, "char *%s;\n", d->name);
        return;
    }
    char *tn = type_name(h, d->type);
    switch (d->kind) {
    case IDL_D_SCALAR:
        gen_printf(o, "%s %s;\n", tn, d->name);
        break;
    case IDL_D_FIXED:
        gen_printf(o, "%s %s[", tn, d->name);
        size_text(o, d);
        gen_puts(o, "];\n");
        break;
    case IDL_D_VAR:
        gen_puts(o, "struct {\n");
        for (int i = 0; i <= indent; i++)
            gen_puts(o, "\t");
        gen_printf(o, "u_int %s_len;\n", d->name);
        for (int i = 0; i <= indent; i++)
            gen_puts(o, "\t");
        gen_printf(o, "%s *%s_val;\n", tn, d->name);
        for (int i = 0; i < indent; i++)
            gen_puts(o, "\t");
        gen_printf(o, "} %s;\n", d->name);
        break;
    case IDL_D_OPTIONAL:
        gen_printf(o, "%s *%s;\n", tn, d->name);
        break;
    default:
        break;
    }
    free(tn);
}

static void write_value(gen_out *o, const idl_expr *e)
{
    if (e->kind == IDL_EXPR_NUM || e->kind == IDL_EXPR_NAME)
        gen_puts(o, e->text);
    else if (e->value < 0)
        gen_printf(o, "(%lld)", (long long)e->value);
    else
        gen_printf(o, "%lld", (long long)e->value);
}

static void emit_const(hctx *h, const idl_def *def)
{
    gen_printf(h->o, "#define %s ", def->name);
    if (def->u.cnst.str)
        gen_puts(h->o, def->u.cnst.str);
    else
        write_value(h->o, def->u.cnst.value);
    gen_puts(h->o, "\n\n");
}

static void emit_enum(hctx *h, const idl_def *def)
{
    gen_out *o = h->o;
    gen_printf(o, "enum %s {\n", def->name);
    for (const idl_enumerator *m = def->u.enm.members; m; m = m->next) {
        if (m->value && m->value->kind == IDL_EXPR_NUM)
            gen_printf(o, "\t%s = %s,\n", m->name, m->value->text);
        else
            gen_printf(o, "\t%s = %lld,\n", m->name, (long long)m->ivalue);
    }
    gen_printf(o, "};\ntypedef enum %s %s;\n\n", def->name, def->name);
}

static void emit_struct(hctx *h, const idl_def *def)
{
    gen_out *o = h->o;
    gen_printf(o, "struct %s {\n", def->name);
    for (const idl_decl *d = def->u.strct.fields; d; d = d->next)
        write_decl(h, 1, d);
    gen_printf(o, "};\ntypedef struct %s %s;\n\n", def->name, def->name);
}

static void emit_union(hctx *h, const idl_def *def)
{
    gen_out *o = h->o;
    int body = 0;
    for (const idl_case *c = def->u.un.cases; c; c = c->next)
        body |= c->decl->kind != IDL_D_VOID;
    if (def->u.un.dflt)
        body |= def->u.un.dflt->kind != IDL_D_VOID;
    gen_printf(o, "struct %s {\n", def->name);
    write_decl(h, 1, def->u.un.disc);
    if (body) {
        gen_puts(o, "\tunion {\n");
        for (const idl_case *c = def->u.un.cases; c; c = c->next)
            write_decl(h, 2, c->decl);
        if (def->u.un.dflt)
            write_decl(h, 2, def->u.un.dflt);
        gen_printf(o, "\t} %s_u;\n", def->name);
    }
    gen_printf(o, "};\ntypedef struct %s %s;\n\n", def->name, def->name);
}

static void emit_typedef(hctx *h, const idl_def *def)
{
    gen_puts(h->o, "typedef ");
    write_decl(h, 0, def->u.tdef.decl);
    gen_puts(h->o, "\n");
}

static void emit_program(hctx *h, const idl_def *def)
{
    gen_out *o = h->o;
    gen_printf(o, "#define %s ", def->name);
    write_value(o, def->u.prog.number);
    gen_puts(o, "\n");
    if (def->u.prog.service)
        gen_printf(o, "#define %s_SERVICE \"%s\"\n", def->name, def->u.prog.service);
    for (const idl_version *v = def->u.prog.versions; v; v = v->next) {
        gen_printf(o, "#define %s ", v->name);
        write_value(o, v->number);
        gen_puts(o, "\n");
        for (const idl_proc *p = v->procs; p; p = p->next) {
            /* a procedure of the same name in an earlier version has the
             * same number (the checks make sure) and is defined already */
            int seen = 0;
            for (const idl_version *w = def->u.prog.versions; w != v && !seen; w = w->next)
                for (const idl_proc *q = w->procs; q && !seen; q = q->next)
                    seen = strcmp(q->name, p->name) == 0;
            if (seen)
                continue;
            gen_printf(o, "#define %s ", p->name);
            write_value(o, p->number);
            gen_puts(o, "\n");
        }
    }
    gen_puts(o, "\n");
}

/* emit_def writes def after what it needs, once. */
static void emit_def(hctx *h, idl_def *def)
{
    if (def->gen_state != ST_NONE || h->depth >= MAX_DEPTH || def->external)
        return;
    def->gen_state = ST_BUSY;
    h->depth++;
    switch (def->kind) {
    case IDL_DEF_CONST:
        if (def->u.cnst.value)
            need_expr(h, def->u.cnst.value);
        break;
    case IDL_DEF_STRUCT:
        for (const idl_decl *d = def->u.strct.fields; d; d = d->next)
            need_decl(h, d);
        break;
    case IDL_DEF_UNION:
        need_decl(h, def->u.un.disc);
        for (const idl_case *c = def->u.un.cases; c; c = c->next)
            need_decl(h, c->decl);
        need_decl(h, def->u.un.dflt);
        break;
    case IDL_DEF_TYPEDEF:
        need_decl(h, def->u.tdef.decl);
        break;
    default:
        break;
    }
    gen_line_to_idl(h->o, h->opts, def->loc);
    switch (def->kind) {
    case IDL_DEF_CONST:
        emit_const(h, def);
        break;
    case IDL_DEF_ENUM:
        emit_enum(h, def);
        break;
    case IDL_DEF_STRUCT:
        emit_struct(h, def);
        break;
    case IDL_DEF_UNION:
        emit_union(h, def);
        break;
    case IDL_DEF_TYPEDEF:
        emit_typedef(h, def);
        break;
    case IDL_DEF_PROGRAM:
        emit_program(h, def);
        break;
    case IDL_DEF_PASSTHRU:
        gen_printf(h->o, "%s\n", def->u.pass.text);
        break;
    }
    gen_line_back(h->o, h->opts);
    def->gen_state = ST_DONE;
    h->depth--;
}

static void guard_name(gen_out *o, const char *base)
{
    gen_puts(o, "PARLEY_GEN_");
    for (const char *c = base; *c; c++) {
        char ch = *c;
        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        else if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')))
            ch = '_';
        gen_printf(o, "%c", ch);
    }
    gen_puts(o, "_H");
}

/* gen_emit_header: see emit.h. */
int gen_emit_header(gen_out *o, const idl_spec *spec, const gen_opts *opts)
{
    hctx h = {o, opts, 0};
    for (idl_def *d = spec->defs; d; d = d->next)
        d->gen_state = ST_NONE;

    gen_printf(o,
               "/*\n"
               " * %s.h: the types and constants of %s.\n"
               " * Generated by parleygen. DO NOT EDIT.\n"
               " */\n"
               "#ifndef ",
               opts->base, opts->idl_name);
    guard_name(o, opts->base);
    gen_puts(o, "\n#define ");
    guard_name(o, opts->base);
    int programs = 0;
    for (const idl_def *d = spec->defs; d; d = d->next)
        programs |= d->kind == IDL_DEF_PROGRAM;
    gen_puts(o, "\n\n#include <parley/xdr.h>\n");
    if (programs)
        gen_puts(o, "#include <parley/client.h>\n#include <parley/server.h>\n");
    for (const idl_def *x = spec->externals; x; x = x->next)
        if (x->header)
            gen_printf(o, "#include <%s>\n", x->header);
    gen_puts(o, "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");

    for (idl_def *d = spec->defs; d; d = d->next) {
        emit_def(&h, d);
        if (d->gen_state != ST_DONE) { /* past MAX_DEPTH: write it anyway */
            d->gen_state = ST_NONE;
            h.depth = -MAX_DEPTH;
            emit_def(&h, d);
            h.depth = 0;
        }
    }

    int any = 0;
    for (const idl_def *d = spec->defs; d; d = d->next) {
        if (!gen_is_type_def(d))
            continue;
        if (!any)
            gen_puts(o,
                     "/* The codec: see parley/xdr.h and docs/idl.md. T_copy copies *src deeply\n"
                     " * into *dst (which must not overlap it, and whose old contents are not\n"
                     " * released): into arena, released by resetting it and never passed to\n"
                     " * T_free; or, arena NULL, onto the heap, released by T_free. It returns\n"
                     " * PARLEY_OK, PARLEY_ERR_NOMEM, PARLEY_ERR_DEPTH (a recursive value\n"
                     " * nested deeper than PARLEY_COPY_MAX_DEPTH), PARLEY_ERR_NULL (a NULL\n"
                     " * pointer with a count) or PARLEY_ERR_INVALID (dst or src NULL); on\n"
                     " * failure *dst is zeroed, holding nothing. */\n");
        any = 1;
        const char *t = d->name;
        gen_printf(o,
                   "int %s_encode(const %s *_v, void *_buf, size_t _cap, size_t *_len);\n"
                   "int %s_decode(%s *_v, const void *_buf, size_t _len, size_t *_used,\n"
                   "    const parley_limits *_lim);\n"
                   "size_t %s_size(const %s *_v);\n"
                   "void %s_free(%s *_v);\n"
                   "void %s_enc(parley_enc *_e, const %s *_v);\n"
                   "void %s_dec(parley_dec *_d, %s *_v);\n"
                   "int %s_copy(%s *_dst, const %s *_src, parley_arena *_arena);\n"
                   "void %s_cpy(parley_cpy *_c, %s *_dst, const %s *_src);\n\n",
                   t, t, t, t, t, t, t, t, t, t, t, t, t, t, t, t, t, t);
    }

    any = 0;
    for (const idl_def *x = spec->externals; x; x = x->next) {
        if (x->header)
            continue;
        if (!any)
            gen_puts(o, "/* The codec of the types this file takes from C code elsewhere, which\n"
                        " * that code must define. */\n");
        any = 1;
        const char *t = x->name, *ct = x->ctype;
        gen_printf(o,
                   "size_t %s_size(const %s *_v);\n"
                   "void %s_free(%s *_v);\n"
                   "void %s_enc(parley_enc *_e, const %s *_v);\n"
                   "void %s_dec(parley_dec *_d, %s *_v);\n\n",
                   t, ct, t, ct, t, ct, t, ct);
    }

    gen_stub_prototypes(o, spec);

    gen_puts(o, "#ifdef __cplusplus\n}\n#endif\n\n#endif /* ");
    guard_name(o, opts->base);
    gen_puts(o, " */\n");
    return o->oom ? -1 : 0;
}
