/*
 * generator/emit_sample.c: parleygen --sample, rpcgen -a's counterpart:
 * foo_sample_server.c (a _svc function per procedure that answers a zeroed
 * result, and a main() that listens, registers and serves) and
 * foo_sample_client.c (a main() that calls each procedure once with zeroed
 * arguments and prints the outcome). Both compile against foo.h and the
 * other generated files with the project's warnings, and run as they are:
 * they are where a new service starts, written once and then edited, so
 * main.c never writes one over an existing file.
 *
 * A zeroed string is a NULL pointer, which the codec refuses to encode
 * (PARLEY_ERR_NULL): a string argument or result is given as "" instead.
 * A string inside a struct stays NULL, and the client then prints that
 * error for that procedure: the sample still runs, and shows where to
 * fill in.
 */
#include <stdio.h>
#include <stdlib.h>

#include "emit.h"

static int is_void(const idl_type *t)
{
    return t->kind == IDL_T_VOID;
}

/* is_null_proc tells the NULL procedure (number 0, void to void), which
 * the generated handler answers itself and which has no _svc function. */
static int is_null_proc(const idl_proc *p)
{
    return p->num == 0 && p->nargs == 0 && is_void(p->result);
}

/* service_name writes the service name the server registers: the first
 * program's @service name, else its name in lower case. */
static void service_name(gen_out *o, const idl_def *prog)
{
    if (prog->u.prog.service) {
        gen_printf(o, "%s_SERVICE", prog->name);
        return;
    }
    gen_puts(o, "\"");
    for (const char *s = prog->name; *s; s++)
        gen_printf(o, "%c", *s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
    gen_puts(o, "\"");
}

/* emit_svc writes the sample _svc function of p: it answers a zeroed
 * result (an empty string for a string), which lives in static storage. */
static void emit_svc(gen_out *o, const idl_version *v, const idl_proc *p)
{
    char *nm = gen_proc_name(p, v);
    gen_printf(o, "/* %s answers %s (number %u) of version %u: fill it in. */\n", nm, p->name,
               (unsigned)p->num, (unsigned)v->num);
    gen_printf(o, "int %s_svc(", nm);
    int i = 1;
    for (const idl_arg *a = p->args; a && p->nargs; a = a->next, i++) {
        if (a->type->kind == IDL_T_STRING)
            gen_printf(o, "char *const *arg%d, ", i);
        else
            gen_printf(o, "const %s *arg%d, ", gen_proc_ctype(a->type), i);
    }
    if (!is_void(p->result))
        gen_printf(o, "%s%sresult, ", gen_proc_ctype(p->result),
                   p->result->kind == IDL_T_STRING ? "*" : " *");
    gen_puts(o, "parley_call *call)\n{\n");
    for (i = 1; i <= p->nargs; i++)
        gen_printf(o, "    (void)arg%d;\n", i);
    gen_puts(o, "    (void)call;\n");
    if (p->result->kind == IDL_T_STRING) {
        gen_puts(o, "    static char empty[1];\n"
                    "    *result = empty; /* static, or from parley_call_arena(call): never "
                    "malloc */\n");
    } else if (!is_void(p->result)) {
        gen_puts(o, "    memset(result, 0, sizeof *result);\n");
    }
    gen_puts(o, "    return PARLEY_OK;\n}\n\n");
    free(nm);
}

/* gen_emit_sample_server: see emit.h. */
int gen_emit_sample_server(gen_out *o, const idl_spec *spec, const gen_opts *opts)
{
    const idl_def *first = NULL;
    gen_printf(o,
               "/*\n"
               " * %s_sample_server.c: a starting point for a server of the programs of\n"
               " * %s, written by parleygen --sample: fill in the procedures.\n"
               " * Each answers a zeroed result. A result's memory must outlive the reply: static "
               "storage, or\n"
               " * the call's arena (parley_call_arena), reset once the generated handler\n"
               " * has encoded the result; the generated dispatch frees nothing of it.\n"
               " *\n"
               " *   %s_sample_server [ADDRESS]...   (default tcp://127.0.0.1:0 and\n"
               " *                                     udp://127.0.0.1:0)\n"
               " *\n"
               " * It prints where it listens, registers with the matchmaker (PARLEY_MATCHMAKER,\n"
               " * default localhost:111) when one runs, and serves until SIGINT or SIGTERM.\n"
               " */\n"
               "#define _POSIX_C_SOURCE 200809L /* sigaction */\n\n"
               "#include <signal.h>\n"
               "#include <stdio.h>\n"
               "#include <string.h>\n\n"
               "#include <parley/server.h>\n\n"
               "#include \"%s.h\"\n\n",
               opts->base, opts->idl_name, opts->base, opts->base);
    for (const idl_def *d = spec->defs; d; d = d->next) {
        if (d->kind != IDL_DEF_PROGRAM)
            continue;
        if (!first)
            first = d;
        for (const idl_version *v = d->u.prog.versions; v; v = v->next)
            for (const idl_proc *p = v->procs; p; p = p->next)
                if (!is_null_proc(p))
                    emit_svc(o, v, p);
    }
    gen_puts(o, "static parley_server *server;\n\n"
                "/* on_signal stops the server's run; main() then destroys it. */\n"
                "static void on_signal(int sig)\n{\n    (void)sig;\n"
                "    parley_server_stop(server);\n}\n\n");
    gen_puts(o, "int main(int argc, char **argv)\n{\n"
                "    const char *fallback[] = {\"tcp://127.0.0.1:0\", \"udp://127.0.0.1:0\"};\n"
                "    const char *const *addrs = argc > 1 ? (const char *const *)argv + 1 : "
                "fallback;\n"
                "    int naddrs = argc > 1 ? argc - 1 : 2;\n"
                "    char bound[128];\n"
                "    int rc = parley_server_create(&server, NULL);\n");
    for (const idl_def *d = spec->defs; d; d = d->next) {
        if (d->kind != IDL_DEF_PROGRAM)
            continue;
        for (const idl_version *v = d->u.prog.versions; v; v = v->next) {
            char *pn = gen_prog_name(d, v);
            gen_printf(
                o,
                "    if (rc == PARLEY_OK)\n        rc = parley_server_add_program(server, &%s);\n",
                pn);
            free(pn);
        }
    }
    gen_printf(o,
               "    for (int i = 0; rc == PARLEY_OK && i < naddrs; i++) {\n"
               "        rc = parley_server_listen(server, addrs[i], bound, sizeof bound);\n"
               "        if (rc == PARLEY_OK)\n"
               "            printf(\"listening on %%s\\n\", bound);\n"
               "        else\n"
               "            fprintf(stderr, \"%s_sample_server: %%s: %%s\\n\", addrs[i], "
               "parley_strerror(rc));\n"
               "    }\n"
               "    if (rc != PARLEY_OK) {\n"
               "        fprintf(stderr, \"%s_sample_server: %%s\\n\", parley_strerror(rc));\n"
               "        parley_server_destroy(server);\n"
               "        return 1;\n"
               "    }\n",
               opts->base, opts->base);
    if (first) {
        gen_puts(o, "    rc = parley_server_register(server, ");
        service_name(o, first);
        gen_puts(o, ");\n"
                    "    printf(\"%s\\n\", rc == PARLEY_OK ? \"registered with the matchmaker\"\n"
                    "                                   : \"not registered with the "
                    "matchmaker\");\n");
    }
    gen_puts(o, "    fflush(stdout);\n"
                "    struct sigaction sa;\n"
                "    memset(&sa, 0, sizeof sa);\n"
                "    sa.sa_handler = on_signal;\n"
                "    sigaction(SIGTERM, &sa, NULL);\n"
                "    sigaction(SIGINT, &sa, NULL);\n"
                "    rc = parley_server_run(server);\n"
                "    sa.sa_handler = SIG_DFL; /* no stop once the server is freed */\n"
                "    sigaction(SIGTERM, &sa, NULL);\n"
                "    sigaction(SIGINT, &sa, NULL);\n"
                "    parley_server_destroy(server); /* unregisters */\n"
                "    return rc == PARLEY_OK ? 0 : 1;\n}\n");
    return o->oom ? -1 : 0;
}

/* emit_free writes the release of a result r of type t that a call
 * malloc'd (the stub leaves a zeroed one after a failure, which is safe to
 * release too), if it owns memory. */
static void emit_free(gen_out *o, const idl_type *t, const char *r)
{
    if (t->kind == IDL_T_STRING) {
        gen_printf(o, "            free(%s);\n", r);
        return;
    }
    gen_type g = gen_classify(t);
    if (g.kind == GK_STRUCT || g.kind == GK_TYPEDEF || g.kind == GK_ENUM)
        gen_printf(o, "            %s_free(&%s);\n", g.def->name, r);
}

/* emit_client_call writes the block of main() that calls p once through
 * the handle c, counting a failure in failed. */
static void emit_client_call(gen_out *o, const idl_version *v, const idl_proc *p)
{
    char *nm = gen_proc_name(p, v);
    gen_puts(o, "        {\n");
    int i = 1;
    for (const idl_arg *a = p->args; a && p->nargs; a = a->next, i++) {
        if (a->type->kind == IDL_T_STRING) {
            gen_printf(o, "            char *arg%d = empty;\n", i);
        } else {
            gen_printf(o, "            %s arg%d;\n", gen_proc_ctype(a->type), i);
            gen_printf(o, "            memset(&arg%d, 0, sizeof arg%d);\n", i, i);
        }
    }
    if (!is_void(p->result)) {
        gen_printf(o, "            %s result;\n", gen_proc_ctype(p->result));
        gen_puts(o, "            memset(&result, 0, sizeof result);\n");
    }
    gen_printf(o, "            rc = %s(c", nm);
    for (i = 1; i <= p->nargs; i++)
        gen_printf(o, ", &arg%d", i);
    if (!is_void(p->result))
        gen_puts(o, ", &result");
    gen_puts(o, ");\n");
    gen_printf(o, "            printf(\"%s: %%s\\n\", parley_strerror(rc));\n", p->name);
    if (!is_void(p->result)) {
        size_t before = o->len;
        emit_free(o, p->result, "result");
        if (o->len == before)
            gen_puts(o, "            (void)result;\n");
    }
    gen_puts(o, "            failed += rc != PARLEY_OK;\n        }\n");
    free(nm);
}

/* gen_emit_sample_client: see emit.h. */
int gen_emit_sample_client(gen_out *o, const idl_spec *spec, const gen_opts *opts)
{
    gen_printf(o,
               "/*\n"
               " * %s_sample_client.c: a starting point for a client of the programs of\n"
               " * %s, written by parleygen --sample: it calls each procedure once, with zeroed "
               "arguments,\n"
               " * and prints the outcome.\n"
               " *\n"
               " *   %s_sample_client ADDRESS   (tcp://HOST:PORT, udp://HOST:PORT, a service\n"
               " *                               name registered with the matchmaker, ...)\n"
               " *\n"
               " * Exit status: 0 when every call succeeded, 1 when one failed, 2 for usage.\n"
               " */\n"
               "#include <stdio.h>\n"
               "#include <stdlib.h>\n"
               "#include <string.h>\n\n"
               "#include <parley/client.h>\n\n"
               "#include \"%s.h\"\n\n",
               opts->base, opts->idl_name, opts->base, opts->base);
    gen_printf(o,
               "int main(int argc, char **argv)\n{\n"
               "    if (argc != 2) {\n"
               "        fprintf(stderr, \"usage: %s_sample_client ADDRESS\\n\");\n"
               "        return 2;\n"
               "    }\n"
               "    char empty[1] = \"\";\n"
               "    int failed = 0;\n"
               "    (void)empty;\n",
               opts->base);
    for (const idl_def *d = spec->defs; d; d = d->next) {
        if (d->kind != IDL_DEF_PROGRAM)
            continue;
        for (const idl_version *v = d->u.prog.versions; v; v = v->next) {
            gen_printf(o, "    /* %s version %u */\n    {\n        parley_client *c;\n", d->name,
                       (unsigned)v->num);
            gen_printf(o,
                       "        int rc = parley_client_create(&c, argv[1], %s, %s, NULL);\n"
                       "        if (rc != PARLEY_OK) {\n"
                       "            fprintf(stderr, \"%s_sample_client: %%s: %%s\\n\", argv[1],\n"
                       "                    parley_strerror(rc));\n"
                       "            return 1;\n"
                       "        }\n",
                       d->name, v->name, opts->base);
            for (const idl_proc *p = v->procs; p; p = p->next)
                emit_client_call(o, v, p);
            gen_puts(o, "        parley_client_destroy(c);\n    }\n");
        }
    }
    gen_puts(o, "    return failed ? 1 : 0;\n}\n");
    return o->oom ? -1 : 0;
}
