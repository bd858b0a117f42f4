/*
 * generator/emit_stubs.c: writes foo_client.c (one typed function per
 * procedure over parley_client_call) and foo_server.c (a handler per
 * procedure that decodes the arguments, calls the user's implementation
 * and encodes the result, and the parley_program_def of each version).
 *
 * For procedure PROC of version V (number n) of program P:
 *   client:  int proc_n(parley_client *c, const A1 *arg1, ..., R *result);
 *            int proc_n_submit(..., R *result, parley_done_fn *done, void *ctx);
 *            int proc_n_opts(..., R *result, const parley_call_opts *opts);
 *            int proc_n_submit_opts(..., R *result, const parley_call_opts *opts,
 *                                   done, ctx);
 *            int proc_n_arena(..., R *result, parley_arena *arena);
 *            int proc_n_submit_arena(..., R *result, parley_arena *arena, done, ctx);
 *   server:  int proc_n_svc(const A1 *arg1, ..., R *result, parley_call *call);
 *            const parley_program_def p_n;
 * The _opts forms do the work; the others call them. A void argument list
 * or result drops its parameters (and a void result the _arena forms,
 * having nothing to decode). The server's handler releases a result the
 * procedure handed over (parley_call_free_result) after encoding it. The NULL procedure
 * (number 0, void to void) is answered by the generated handler itself.
 * Every name defined here (with the stubs' own p_n_procs, proc_n_args,
 * proc_n_res, proc_n_handler and struct proc_n_argv) is also listed by
 * collect_stubs in names.c, which checks them against the IDL's names: a
 * name added here goes there too.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"

static char *lower_name(const char *name, uint32_t num)
{
    size_t n = strlen(name);
    char *s = malloc(n + 16);
    if (!s) {
        fputs("parleygen: out of memory\n", stderr);
        exit(2);
    }
    for (size_t i = 0; i < n; i++)
        s[i] = (char)tolower((unsigned char)name[i]);
    snprintf(s + n, 16, "_%u", num);
    return s;
}

/* gen_proc_name: see emit.h. */
char *gen_proc_name(const idl_proc *p, const idl_version *v)
{
    return lower_name(p->name, v->num);
}

/* gen_prog_name: see emit.h. */
char *gen_prog_name(const idl_def *prog, const idl_version *v)
{
    return lower_name(prog->name, v->num);
}

/* gen_proc_ctype: see emit.h. */
const char *gen_proc_ctype(const idl_type *t)
{
    if (t->kind == IDL_T_NAMED && t->ref && t->ref->external && t->ref->ctype)
        return t->ref->ctype; /* `struct netbuf`, as the C that defines it says */
    return gen_ctype(t);
}

static int is_void(const idl_type *t)
{
    return t->kind == IDL_T_VOID;
}

/* params writes ", const A1 *_arg1, ..." for a procedure's arguments. */
static void params(gen_out *o, const idl_proc *p)
{
    int i = 1;
    for (const idl_arg *a = p->args; a && p->nargs; a = a->next, i++) {
        const char *ct = gen_proc_ctype(a->type);
        /* string is char *: a const pointer to it is char *const * */
        if (a->type->kind == IDL_T_STRING)
            gen_printf(o, ", char *const *_arg%d", i);
        else
            gen_printf(o, ", const %s *_arg%d", ct, i);
    }
}

static void result_param(gen_out *o, const idl_proc *p)
{
    if (!is_void(p->result))
        gen_printf(o, ", %s%s*_result", gen_proc_ctype(p->result),
                   p->result->kind == IDL_T_STRING ? "" : " ");
}

/* gen_stub_prototypes: see emit.h. */
void gen_stub_prototypes(gen_out *o, const idl_spec *spec)
{
    for (const idl_def *d = spec->defs; d; d = d->next) {
        if (d->kind != IDL_DEF_PROGRAM)
            continue;
        gen_printf(o,
                   "/* Program %s: the client's calls, and the procedures a server implements\n"
                   " * (see docs/idl.md and docs/runtime.md).\n"
                   " *\n"
                   " * Client: a call's result is decoded with malloc (release it with T_free)\n"
                   " * and is zeroed, holding nothing, when the call fails; the _arena forms\n"
                   " * decode it into an arena (never passed to T_free; a reset releases it).\n"
                   " * The _opts forms take one call's settings (parley/client.h): its\n"
                   " * deadline (timeout_ms; 0: the handle's), the arena, and semantics,\n"
                   " * where PARLEY_EXACTLY_ONCE asks for more than the procedure declares\n"
                   " * and any other value keeps what it declares; NULL: the defaults. After\n"
                   " * a failed call, parley_client_last_detail tells what the server said.\n"
                   " *\n"
                   " * Server: proc_n_svc gets the decoded arguments, owned by the call (valid\n"
                   " * until it returns: T_copy what is kept), and a zeroed result to fill;\n"
                   " * it returns PARLEY_OK, or an error for the caller to get SYSTEM_ERR.\n"
                   " * The result's memory is the procedure's, and the skeleton encodes the\n"
                   " * reply from it after proc_n_svc returns, so it must outlive the call:\n"
                   " * static data, memory from parley_call_arena(call) (released after the\n"
                   " * reply), or heap memory (malloc, strdup, T_copy with a NULL arena)\n"
                   " * handed over with parley_call_free_result(call), which the skeleton\n"
                   " * then releases with T_free (free() for a string) once the reply is\n"
                   " * encoded, or when proc_n_svc fails. Heap memory not handed over leaks. */\n",
                   d->name);
        for (const idl_version *v = d->u.prog.versions; v; v = v->next) {
            for (const idl_proc *p = v->procs; p; p = p->next) {
                char *nm = gen_proc_name(p, v);
                gen_printf(o, "int %s(parley_client *_c", nm);
                params(o, p);
                result_param(o, p);
                gen_puts(o, ");\n");
                gen_printf(o, "int %s_submit(parley_client *_c", nm);
                params(o, p);
                result_param(o, p);
                gen_puts(o, ", parley_done_fn *_done, void *_ctx);\n");
                gen_printf(o, "int %s_opts(parley_client *_c", nm);
                params(o, p);
                result_param(o, p);
                gen_puts(o, ", const parley_call_opts *_opts);\n");
                gen_printf(o, "int %s_submit_opts(parley_client *_c", nm);
                params(o, p);
                result_param(o, p);
                gen_puts(o,
                         ", const parley_call_opts *_opts, parley_done_fn *_done, void *_ctx);\n");
                if (!is_void(p->result)) {
                    gen_printf(o, "int %s_arena(parley_client *_c", nm);
                    params(o, p);
                    result_param(o, p);
                    gen_puts(o, ", parley_arena *_arena);\n");
                    gen_printf(o, "int %s_submit_arena(parley_client *_c", nm);
                    params(o, p);
                    result_param(o, p);
                    gen_puts(o, ", parley_arena *_arena, parley_done_fn *_done, void *_ctx);\n");
                }
                if (!(p->num == 0 && p->nargs == 0 && is_void(p->result))) {
                    gen_printf(o, "int %s_svc(", nm);
                    int i = 1;
                    for (const idl_arg *a = p->args; a && p->nargs; a = a->next, i++) {
                        if (a->type->kind == IDL_T_STRING)
                            gen_printf(o, "char *const *_arg%d, ", i);
                        else
                            gen_printf(o, "const %s *_arg%d, ", gen_proc_ctype(a->type), i);
                    }
                    if (!is_void(p->result))
                        gen_printf(o, "%s%s*_result, ", gen_proc_ctype(p->result),
                                   p->result->kind == IDL_T_STRING ? "" : " ");
                    gen_puts(o, "parley_call *_call);\n");
                }
                free(nm);
            }
            char *pn = gen_prog_name(d, v);
            gen_printf(o, "extern const parley_program_def %s;\n", pn);
            free(pn);
        }
        gen_puts(o, "\n");
    }
}

/* ---- client ------------------------------------------------------------ */

/* call_args writes what a stub computes before its call (the arguments'
 * encoded size n, and for several arguments the struct that carries them)
 * and returns the enc, args and size parameters of the runtime call. */
static const char *call_args(gen_out *o, const idl_proc *p, const char *nm, char *buf, size_t cap)
{
    if (p->nargs == 0)
        return "NULL, NULL, 0";
    gen_puts(o, "    size_t _n = 0;\n");
    int i = 1;
    for (const idl_arg *a = p->args; a; a = a->next, i++) {
        char lv[32];
        snprintf(lv, sizeof lv, "(*_arg%d)", i);
        gen_proc_size(o, 1, a->type, lv);
    }
    if (p->nargs == 1) {
        snprintf(buf, cap, "%s_args, _arg1, _n", nm);
        return buf;
    }
    gen_printf(o, "    struct %s_argv _av = {", nm);
    for (i = 1; i <= p->nargs; i++)
        gen_printf(o, "%s_arg%d", i > 1 ? ", " : "", i);
    gen_puts(o, "};\n");
    snprintf(buf, cap, "%s_args, &_av, _n", nm);
    return buf;
}

/* semantics_name is the parley_semantics constant of p's declared
 * guarantee (at-most-once when it declares none). */
static const char *semantics_name(const idl_proc *p)
{
    switch (p->semantics) {
    case IDL_SEM_IDEMPOTENT:
        return "PARLEY_IDEMPOTENT";
    case IDL_SEM_EXACTLY_ONCE:
        return "PARLEY_EXACTLY_ONCE";
    case IDL_SEM_AT_MOST_ONCE:
    case IDL_SEM_DEFAULT:
        break;
    }
    return "PARLEY_AT_MOST_ONCE";
}

/* pass_args writes "_arg1, ..., " (the arguments a wrapper passes on). */
static void pass_args(gen_out *o, const idl_proc *p)
{
    for (int i = 1; i <= p->nargs; i++)
        gen_printf(o, "_arg%d, ", i);
}

/* opts_setup writes the call's settings _o (parley_call_opts_for) and,
 * when arena is set, _arena: the arena its result is decoded into. */
static void opts_setup(gen_out *o, const idl_proc *p, int arena)
{
    gen_printf(o, "    parley_call_opts _o;\n    %sparley_call_opts_for(&_o, _opts, %s);\n",
               arena ? "parley_arena *_arena = " : "", semantics_name(p));
}

/* emit_call writes proc_n_opts, the synchronous call with a call's
 * settings, and the forms over it: proc_n (the handle's deadline, the
 * result decoded with malloc) and, with a result, proc_n_arena (into an
 * arena). The result starts zeroed and is zeroed again when the call fails
 * (released first when it was malloc'd), so the caller has something to
 * free only on success. */
static void emit_call(gen_out *o, const idl_proc *p, const char *nm)
{
    char argsbuf[256];
    int res = !is_void(p->result);
    gen_printf(o, "int %s_opts(parley_client *_c", nm);
    params(o, p);
    result_param(o, p);
    gen_puts(o, ", const parley_call_opts *_opts)\n{\n");
    if (res)
        gen_puts(o, "    memset(_result, 0, sizeof *_result);\n");
    const char *args = call_args(o, p, nm, argsbuf, sizeof argsbuf);
    gen_type g = res ? gen_classify(p->result) : (gen_type){GK_VOID, NULL};
    int owns = res && (p->result->kind == IDL_T_STRING || g.kind == GK_STRUCT ||
                       g.kind == GK_TYPEDEF || g.kind == GK_ENUM);
    opts_setup(o, p, owns);
    if (!res) {
        gen_printf(o, "    return parley_client_call_opts(_c, %s, %s, NULL, NULL, &_o);\n}\n\n",
                   p->name, args);
    } else {
        gen_printf(o, "    int _rc = parley_client_call_opts(_c, %s, %s, %s_res, _result, &_o);\n",
                   p->name, args, nm);
        gen_puts(o, "    if (_rc != PARLEY_OK) {\n");
        if (p->result->kind == IDL_T_STRING)
            gen_puts(o, "        if (!_arena)\n            free(*_result);\n");
        else if (owns)
            gen_printf(o, "        if (!_arena)\n            %s_free(_result);\n", g.def->name);
        gen_puts(o, "        memset(_result, 0, sizeof *_result);\n    }\n    return _rc;\n}\n\n");

        gen_printf(o, "int %s_arena(parley_client *_c", nm);
        params(o, p);
        result_param(o, p);
        gen_puts(o, ", parley_arena *_arena)\n{\n");
        gen_puts(o, "    const parley_call_opts _o = {0, PARLEY_AT_MOST_ONCE, _arena};\n");
        gen_printf(o, "    return %s_opts(_c, ", nm);
        pass_args(o, p);
        gen_puts(o, "_result, &_o);\n}\n\n");
    }

    gen_printf(o, "int %s(parley_client *_c", nm);
    params(o, p);
    result_param(o, p);
    gen_printf(o, ")\n{\n    return %s_opts(_c, ", nm);
    pass_args(o, p);
    gen_puts(o, res ? "_result, NULL);\n}\n\n" : "NULL);\n}\n\n");
}

/* emit_submit writes proc_n_submit_opts, the asynchronous call with a
 * call's settings, and the forms over it: proc_n_submit and, with a
 * result, proc_n_submit_arena. The arguments are encoded before it
 * returns; *result must stay valid until done runs, and holds the result
 * when done gets PARLEY_OK. */
static void emit_submit(gen_out *o, const idl_proc *p, const char *nm)
{
    char argsbuf[256];
    int res = !is_void(p->result);
    gen_printf(o, "int %s_submit_opts(parley_client *_c", nm);
    params(o, p);
    result_param(o, p);
    gen_puts(o, ", const parley_call_opts *_opts, parley_done_fn *_done, void *_ctx)\n{\n");
    if (res)
        gen_puts(o, "    memset(_result, 0, sizeof *_result);\n");
    const char *args = call_args(o, p, nm, argsbuf, sizeof argsbuf);
    opts_setup(o, p, 0);
    if (res)
        gen_printf(o,
                   "    return parley_client_submit_opts(_c, %s, %s, %s_res, _result, &_o, _done, "
                   "_ctx);\n}\n\n",
                   p->name, args, nm);
    else
        gen_printf(o,
                   "    return parley_client_submit_opts(_c, %s, %s, NULL, NULL, &_o, _done, "
                   "_ctx);\n}\n\n",
                   p->name, args);

    if (res) {
        gen_printf(o, "int %s_submit_arena(parley_client *_c", nm);
        params(o, p);
        result_param(o, p);
        gen_puts(o, ", parley_arena *_arena, parley_done_fn *_done, void *_ctx)\n{\n");
        gen_puts(o, "    const parley_call_opts _o = {0, PARLEY_AT_MOST_ONCE, _arena};\n");
        gen_printf(o, "    return %s_submit_opts(_c, ", nm);
        pass_args(o, p);
        gen_puts(o, "_result, &_o, _done, _ctx);\n}\n\n");
    }

    gen_printf(o, "int %s_submit(parley_client *_c", nm);
    params(o, p);
    result_param(o, p);
    gen_printf(o, ", parley_done_fn *_done, void *_ctx)\n{\n    return %s_submit_opts(_c, ", nm);
    pass_args(o, p);
    gen_puts(o, res ? "_result, NULL, _done, _ctx);\n}\n\n" : "NULL, _done, _ctx);\n}\n\n");
}

static void emit_client_proc(gen_out *o, const idl_def *prog, const idl_version *v,
                             const idl_proc *p)
{
    char *nm = gen_proc_name(p, v);
    (void)prog;
    /* the arguments' encoder */
    if (p->nargs > 1) {
        gen_printf(o, "struct %s_argv {\n", nm);
        int i = 1;
        for (const idl_arg *a = p->args; a; a = a->next, i++)
            gen_printf(o, "    %s%s *_arg%d;\n",
                       a->type->kind == IDL_T_STRING ? "char *const" : "const ",
                       a->type->kind == IDL_T_STRING ? "" : gen_proc_ctype(a->type), i);
        gen_puts(o, "};\n\n");
    }
    if (p->nargs > 0) {
        gen_printf(o, "static void %s_args(parley_enc *_e, const void *_a)\n{\n", nm);
        if (p->nargs == 1) {
            const idl_type *t = p->args->type;
            if (t->kind == IDL_T_STRING)
                gen_puts(o, "    char *const *_arg1 = _a;\n");
            else
                gen_printf(o, "    const %s *_arg1 = _a;\n", gen_proc_ctype(t));
            gen_proc_enc(o, 1, t, "(*_arg1)");
        } else {
            gen_printf(o, "    const struct %s_argv *_av = _a;\n", nm);
            int i = 1;
            for (const idl_arg *a = p->args; a; a = a->next, i++) {
                char lv[32];
                snprintf(lv, sizeof lv, "(*_av->_arg%d)", i);
                gen_proc_enc(o, 1, a->type, lv);
            }
        }
        gen_puts(o, "}\n\n");
    }
    if (!is_void(p->result)) {
        gen_printf(o, "static void %s_res(parley_dec *_d, void *_r)\n{\n", nm);
        gen_printf(o, "    %s%s*_result = _r;\n", gen_proc_ctype(p->result),
                   p->result->kind == IDL_T_STRING ? "" : " ");
        gen_proc_dec(o, 1, p->result, "(*_result)");
        gen_puts(o, "}\n\n");
    }
    emit_call(o, p, nm);
    emit_submit(o, p, nm);
    free(nm);
}

/* gen_emit_client: see emit.h. */
int gen_emit_client(gen_out *o, const idl_spec *spec, const gen_opts *opts)
{
    gen_printf(o,
               "/*\n"
               " * %s_client.c: the client calls of the programs in %s.\n"
               " * Generated by parleygen. DO NOT EDIT.\n"
               " */\n"
               "#include <limits.h>\n"
               "#include <stddef.h>\n"
               "#include <stdlib.h>\n"
               "#include <string.h>\n\n"
               "#include \"%s.h\"\n\n",
               opts->base, opts->idl_name, opts->base);
    for (const idl_def *d = spec->defs; d; d = d->next) {
        if (d->kind == IDL_DEF_PASSTHRU) {
            gen_printf(o, "%s\n", d->u.pass.text);
            continue;
        }
        if (d->kind != IDL_DEF_PROGRAM)
            continue;
        for (const idl_version *v = d->u.prog.versions; v; v = v->next)
            for (const idl_proc *p = v->procs; p; p = p->next) {
                gen_line_to_idl(o, opts, p->loc);
                emit_client_proc(o, d, v, p);
            }
    }
    return o->oom ? -1 : 0;
}

/* ---- server ------------------------------------------------------------ */

static void emit_handler(gen_out *o, const idl_version *v, const idl_proc *p)
{
    char *nm = gen_proc_name(p, v);
    gen_printf(o, "static int %s_handler(parley_call *_call, parley_dec *_d)\n{\n", nm);
    if (p->num == 0 && p->nargs == 0 && is_void(p->result)) {
        /* the NULL procedure: nothing to run */
        gen_puts(o,
                 "    (void)_call;\n    return parley_dec_remaining(_d) ? PARLEY_ERR_GARBAGE_ARGS "
                 ": PARLEY_OK;\n}\n\n");
        free(nm);
        return;
    }
    int i = 1;
    for (const idl_arg *a = p->args; a && p->nargs; a = a->next, i++) {
        gen_printf(o, "    %s _arg%d;\n", gen_proc_ctype(a->type), i);
        gen_printf(o, "    memset(&_arg%d, 0, sizeof _arg%d);\n", i, i);
    }
    if (!is_void(p->result)) {
        gen_printf(o, "    %s _result;\n", gen_proc_ctype(p->result));
        gen_puts(o, "    memset(&_result, 0, sizeof _result);\n");
    }
    i = 1;
    for (const idl_arg *a = p->args; a && p->nargs; a = a->next, i++) {
        char lv[32];
        snprintf(lv, sizeof lv, "_arg%d", i);
        gen_proc_dec(o, 1, a->type, lv);
    }
    gen_puts(o, "    if (parley_dec_error(_d) || parley_dec_remaining(_d))\n"
                "        return PARLEY_ERR_GARBAGE_ARGS;\n");
    if (is_void(p->result)) {
        gen_printf(o, "    if (%s_svc(", nm);
        for (i = 1; i <= p->nargs; i++)
            gen_printf(o, "&_arg%d, ", i);
        gen_puts(o, "_call) != PARLEY_OK)\n        return PARLEY_ERR_SYSTEM_ERR;\n"
                    "    return PARLEY_OK;\n}\n\n");
        free(nm);
        return;
    }
    /* the result is encoded in a block of its own, so that a result handed
     * over (parley_call_free_result) is released on every path */
    gen_printf(o, "    int _rc = PARLEY_ERR_SYSTEM_ERR;\n    if (%s_svc(", nm);
    for (i = 1; i <= p->nargs; i++)
        gen_printf(o, "&_arg%d, ", i);
    gen_puts(o, "&_result, _call) == PARLEY_OK) {\n        size_t _n = 0;\n");
    gen_proc_size(o, 2, p->result, "_result");
    gen_puts(o, "        parley_enc *_e = parley_call_result(_call, _n);\n"
                "        if (_e) {\n");
    gen_proc_enc(o, 3, p->result, "_result");
    gen_puts(o, "            if (!parley_enc_error(_e))\n                _rc = PARLEY_OK;\n"
                "        }\n    }\n");
    gen_type g = gen_classify(p->result);
    if (p->result->kind == IDL_T_STRING)
        gen_puts(o, "    if (parley_call_frees_result(_call))\n        free(_result);\n");
    else if ((g.kind == GK_STRUCT || g.kind == GK_TYPEDEF) && gen_type_needs_free(p->result))
        gen_printf(o, "    if (parley_call_frees_result(_call))\n        %s_free(&_result);\n",
                   g.def->name);
    gen_puts(o, "    return _rc;\n}\n\n");
    free(nm);
}

/* gen_emit_server: see emit.h. */
int gen_emit_server(gen_out *o, const idl_spec *spec, const gen_opts *opts)
{
    gen_printf(o,
               "/*\n"
               " * %s_server.c: the server side of the programs in %s: a handler per\n"
               " * procedure, calling the _svc function the user writes.\n"
               " * Generated by parleygen. DO NOT EDIT.\n"
               " */\n"
               "#include <limits.h>\n"
               "#include <stdint.h>\n"
               "#include <stdlib.h>\n"
               "#include <string.h>\n\n"
               "#include \"%s.h\"\n\n",
               opts->base, opts->idl_name, opts->base);
    for (const idl_def *d = spec->defs; d; d = d->next) {
        if (d->kind == IDL_DEF_PASSTHRU) {
            gen_printf(o, "%s\n", d->u.pass.text);
            continue;
        }
        if (d->kind != IDL_DEF_PROGRAM)
            continue;
        for (const idl_version *v = d->u.prog.versions; v; v = v->next) {
            size_t np = 0;
            for (const idl_proc *p = v->procs; p; p = p->next, np++) {
                gen_line_to_idl(o, opts, p->loc);
                emit_handler(o, v, p);
            }
            char *pn = gen_prog_name(d, v);
            gen_printf(o, "static const parley_proc_def %s_procs[] = {\n", pn);
            for (const idl_proc *p = v->procs; p; p = p->next) {
                char *nm = gen_proc_name(p, v);
                /* positional: a field's name could be an IDL constant's #define */
                gen_printf(o, "    {%s, %s_handler, %s},\n", p->name, nm, semantics_name(p));
                free(nm);
            }
            gen_printf(o, "};\n\nconst parley_program_def %s = {%s, %s, %s_procs, %zu};\n\n", pn,
                       d->name, v->name, pn, np);
            free(pn);
        }
    }
    return o->oom ? -1 : 0;
}
