/*
 * idl/parse.c: the front end's driver: read, preprocess, lex and parse one
 * IDL file into an AST, then give inline types (RFC 4506 allows
 * `struct { ... } x;` inside a declaration) names and places of their own.
 */
#include "parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpp.h"
#include "front.h"
#include "parser.h"
#define YYSTYPE IDL_YYSTYPE
#define YYLTYPE IDL_YYLTYPE
#include "lexer.h"

/* idl_parser_append: see front.h. */
void idl_parser_append(idl_parser *ctx, idl_def *def)
{
    if (ctx->tail)
        ctx->tail->next = def;
    else
        ctx->spec->defs = def;
    ctx->tail = def;
    def->next = NULL;
}

static void hoist_decl(idl_arena *a, idl_def ***slot, const char *outer, idl_decl *d);

/* hoist_def names the inline types inside def after the declarations that
 * hold them and inserts them just before def, innermost first, so that every
 * type is defined before it is used. */
static void hoist_def(idl_arena *a, idl_def ***slot, idl_def *def)
{
    switch (def->kind) {
    case IDL_DEF_STRUCT:
        for (idl_decl *d = def->u.strct.fields; d; d = d->next)
            hoist_decl(a, slot, def->name, d);
        break;
    case IDL_DEF_UNION:
        hoist_decl(a, slot, def->name, def->u.un.disc);
        for (idl_case *c = def->u.un.cases; c; c = c->next)
            hoist_decl(a, slot, def->name, c->decl);
        if (def->u.un.dflt)
            hoist_decl(a, slot, def->name, def->u.un.dflt);
        break;
    case IDL_DEF_TYPEDEF:
        hoist_decl(a, slot, NULL, def->u.tdef.decl);
        break;
    default:
        break;
    }
}

static void hoist_decl(idl_arena *a, idl_def ***slot, const char *outer, idl_decl *d)
{
    if (!d || !d->type || d->type->kind != IDL_T_NAMED || d->type->name || !d->type->ref)
        return;
    idl_def *in = d->type->ref;
    const char *field = d->name ? d->name : "anon";
    if (outer) {
        size_t n = strlen(outer) + strlen(field) + 2;
        char *name = idl_arena_alloc(a, n);
        snprintf(name, n, "%s_%s", outer, field);
        in->name = name;
    } else {
        /* typedef struct { ... } name;  the struct takes the typedef's name
         * with a _s suffix; the typedef keeps the name itself */
        size_t n = strlen(field) + 3;
        char *name = idl_arena_alloc(a, n);
        snprintf(name, n, "%s_s", field);
        in->name = name;
    }
    in->loc = d->type->loc;
    d->type->name = in->name;
    hoist_def(a, slot, in);
    in->next = **slot;
    **slot = in;
    *slot = &in->next;
}

/* is_self_typedef recognises `typedef struct x x;` (and union, enum): C
 * idiom that .x files carry over, which rpcgen accepts and which means
 * nothing more than the definition of x itself already does. */
static int is_self_typedef(const idl_def *def)
{
    if (def->kind != IDL_DEF_TYPEDEF)
        return 0;
    const idl_decl *d = def->u.tdef.decl;
    return d->kind == IDL_D_SCALAR && d->type->kind == IDL_T_NAMED && d->type->tagged &&
           d->type->name && d->name && strcmp(d->type->name, d->name) == 0;
}

static void hoist_inline(idl_arena *a, idl_spec *spec)
{
    idl_def **slot = &spec->defs;
    while (*slot) {
        idl_def *def = *slot;
        if (is_self_typedef(def)) {
            *slot = def->next;
            continue;
        }
        hoist_def(a, &slot, def);
        slot = &def->next;
    }
}

/* idl_parse_text: see parse.h. */
idl_spec *idl_parse_text(idl_arena *arena, idl_diag *diag, const char *name, const char *text,
                         size_t len, const idl_parse_options *opts)
{
    const char *file = idl_arena_strdup(arena, name);
    idl_diag_add_source(diag, file, text, len);
    size_t plen = 0;
    int errors_before = idl_diag_errors(diag);
    char *pre = idl_preprocess_marked(arena, diag, file, text, len, opts, &plen);
    if (!pre)
        return NULL;

    idl_spec *spec = idl_arena_alloc(arena, sizeof *spec);
    spec->file = file;
    spec->arena = arena;
    spec->pp_errors = idl_diag_errors(diag) > errors_before;
    idl_parser ctx = {0};
    ctx.arena = arena;
    ctx.diag = diag;
    ctx.spec = spec;
    ctx.file = file;
    ctx.line = 1;
    ctx.col = 1;
    ctx.order = 1;

    yyscan_t scanner;
    if (idl_yylex_init_extra(&ctx, &scanner) != 0) {
        free(pre);
        idl_error(diag, (idl_loc){0}, "out of memory");
        return NULL;
    }
    YY_BUFFER_STATE buf = idl_yy_scan_bytes(pre, (int)plen, scanner);
    int rc = idl_yyparse(scanner, &ctx);
    idl_parser_finish(&ctx);
    idl_yy_delete_buffer(buf, scanner);
    idl_yylex_destroy(scanner);
    free(pre);
    if (rc == 2)
        idl_error(diag, (idl_loc){0}, "out of memory while parsing '%s'", name);
    else if (rc != 0 && ctx.syntax_errors == 0)
        idl_error(diag, (idl_loc){file, ctx.line, ctx.col, ctx.order},
                  "cannot parse the rest of the file");
    hoist_inline(arena, spec);
    return spec;
}

/* idl_parse_file: see parse.h. */
idl_spec *idl_parse_file(idl_arena *arena, idl_diag *diag, const char *path,
                         const idl_parse_options *opts)
{
    size_t max = opts && opts->max_file_size ? opts->max_file_size : (size_t)16 << 20;
    size_t len = 0;
    char *text = idl_read_file(path, max, &len);
    if (!text) {
        if (errno == EFBIG)
            idl_error(diag, (idl_loc){0}, "'%s' is larger than %zu bytes", path, max);
        else
            idl_error(diag, (idl_loc){0}, "cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    idl_spec *spec = idl_parse_text(arena, diag, path, text, len, opts);
    free(text);
    return spec;
}
