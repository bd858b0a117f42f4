/*
 * test_parleygen_output.c: what parleygen writes for valid input, by
 * running the real parleygen.
 *
 * constructs/ holds valid inputs that between them use every construct of
 * the language (docs/idl.md): every type in every declaration form, every
 * kind of definition, constant expressions, unions over every kind of
 * discriminant, inline types, lists, programs with attributes, the
 * preprocessor, %-lines and the rpcgen-isms of .x files. Each must compile
 * with no diagnostic at all (with -I constructs/include), give the same
 * bytes when run twice, and give a header and a codec that compile cleanly
 * with `-std=c11 -Wall -Wextra -pedantic -Werror` under gcc (or cc) and
 * clang, whichever are installed, with the header also compiled on its own.
 * A file NAME_check.c beside NAME.idl is compiled with them: its
 * _Static_asserts check the values the header gives constants.
 *
 * golden/ holds a few inputs with the exact header and codec expected for
 * them with default options (#line directives included), compared byte for
 * byte; PARLEY_UPDATE_GOLDEN=1 rewrites them (review the diff). They are
 * compiled like the constructs.
 *
 * constructs/bugs/ holds inputs whose output should compile and does not,
 * known bugs of parleygen (each file's comment says what goes wrong): they
 * are run like the others and skipped when they fail.
 *
 * The options: --no-line, --header, --xdr, -D and -I (with options/), and
 * RPC_HDR and RPC_XDR, are tested one by one at the end, and so is where
 * the #line directives of the golden files point.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front_support.h"

#ifndef PARLEYGEN
#error "PARLEYGEN must name the parleygen binary"
#endif
#ifndef FRONT_DATA
#error "FRONT_DATA must name the folder of the test data"
#endif
#ifndef RUNTIME_INCLUDE
#error "RUNTIME_INCLUDE must name runtime/include"
#endif

/* The C compilers found in PATH: gcc (or else cc) and clang. */
static char *compilers[2];
static size_t ncompilers;

typedef enum kind { CONSTRUCT, GOLDEN, KNOWN_BUG } kind;

typedef struct out_case {
    char *dir;   /* the folder of the input */
    char *input; /* NAME.idl or NAME.x */
    char *stem;  /* NAME */
    kind kind;
    char *title;
} out_case;

/* ---- helpers ------------------------------------------------------------- */

static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

/* generate runs parleygen in dir with the options (a NULL-terminated list)
 * and -o out on input; it returns the result, which the caller frees. */
static fs_result generate(const char *dir, const char *input, const char *out,
                          const char *const *options)
{
    const char *argv[16];
    size_t n = 0;
    argv[n++] = "parleygen";
    for (; options && *options; options++)
        argv[n++] = *options;
    argv[n++] = "-o";
    argv[n++] = out;
    argv[n++] = input;
    argv[n] = NULL;
    fs_result r;
    assert_int_equal(fs_run(dir, PARLEYGEN, argv, &r), 0);
    return r;
}

/* generate_ok is generate for a run that must succeed silently. */
static int generate_ok(const char *title, const char *dir, const char *input, const char *out,
                       const char *const *options)
{
    fs_result r = generate(dir, input, out, options);
    int ok = r.status == 0 && r.err_len == 0 && r.out_len == 0;
    if (!ok) {
        char st[64];
        fprintf(stderr, "%s: parleygen gave %s and printed:\n%s%s", title,
                fs_describe_status(r.status, st, sizeof st), r.out, r.err);
    }
    fs_result_free(&r);
    return ok;
}

static char *read_in(const char *dir, const char *name, size_t *len)
{
    char *path = fs_cat(dir, name);
    assert_non_null(path);
    char *text = fs_read_file(path, len);
    free(path);
    return text;
}

/* same_file says whether dir_a/name and dir_b/name hold the same bytes. */
static int same_file(const char *dir_a, const char *dir_b, const char *name)
{
    size_t la = 0, lb = 0;
    char *a = read_in(dir_a, name, &la), *b = read_in(dir_b, name, &lb);
    int same = a && b && la == lb && memcmp(a, b, la) == 0;
    free(a);
    free(b);
    return same;
}

/* compile_outputs compiles NAME_xdr.c, NAME_client.c, NAME_server.c, a file
 * that includes only NAME.h, and check (when not NULL) in out with every
 * compiler found; returns 1 when all of them compile cleanly. */
static int compile_outputs(const char *title, const char *out, const char *stem, const char *check)
{
    char *hdr_c = str_printf("%s_header_alone.c", stem);
    char *hdr_text = str_printf("#include \"%s.h\"\n", stem);
    char *hdr_path = fs_cat(out, hdr_c);
    assert_int_equal(fs_write_file(hdr_path, hdr_text, strlen(hdr_text)), 0);
    char *xdr_c = str_printf("%s_xdr.c", stem);
    char *client_c = str_printf("%s_client.c", stem);
    char *server_c = str_printf("%s_server.c", stem);
    int ok = 1;
    for (size_t k = 0; k < ncompilers; k++) {
        const char *argv[] = {compilers[k], "-std=c11", "-Wall",         "-Wextra", "-pedantic",
                              "-Werror",    "-I",       RUNTIME_INCLUDE, "-I",      ".",
                              "-c",         xdr_c,      client_c,        server_c,  hdr_c,
                              check,        NULL};
        fs_result r;
        assert_int_equal(fs_run(out, compilers[k], argv, &r), 0);
        if (r.status != 0 || r.err_len != 0) {
            char st[64];
            fprintf(stderr, "%s: %s gave %s on the generated code:\n%s%s", title, compilers[k],
                    fs_describe_status(r.status, st, sizeof st), r.out, r.err);
            ok = 0;
        }
        fs_result_free(&r);
    }
    free(xdr_c);
    free(client_c);
    free(server_c);
    free(hdr_path);
    free(hdr_text);
    free(hdr_c);
    return ok;
}

/* ---- constructs, golden files and known bugs ----------------------------- */

static void run_out_case(void **state)
{
    const out_case *c = *state;
    char *out = fs_tempdir(), *again = fs_tempdir();
    assert_non_null(out);
    assert_non_null(again);
    const char *const options[] = {"-I", "include", NULL};
    const char *const *opts = c->kind == GOLDEN ? NULL : options;
    char *h = str_printf("%s.h", c->stem), *x = str_printf("%s_xdr.c", c->stem);
    int ok = generate_ok(c->title, c->dir, c->input, out, opts);

    if (ok) {
        /* deterministic: a second run gives the same bytes */
        ok = generate_ok(c->title, c->dir, c->input, again, opts);
        if (ok && (!same_file(out, again, h) || !same_file(out, again, x))) {
            fprintf(stderr, "%s: two runs gave different outputs\n", c->title);
            ok = 0;
        }
    }
    if (ok && c->kind == GOLDEN) {
        size_t len = 0;
        static const char *const suffixes[] = {".h", "_xdr.c"};
        for (size_t k = 0; k < 2; k++) {
            char *name = str_printf("%s%s", c->stem, suffixes[k]);
            char *text = read_in(out, name, &len);
            char *expected = fs_cat(c->dir, name);
            assert_non_null(text);
            if (!fs_expect_file(expected, text, len, 1))
                ok = 0;
            free(expected);
            free(text);
            free(name);
        }
    }
    if (ok) {
        char *check_name = str_printf("%s_check.c", c->stem);
        char *check = fs_cat(c->dir, check_name);
        ok = compile_outputs(c->title, out, c->stem, fs_exists(check) ? check : NULL);
        free(check);
        free(check_name);
    }
    free(h);
    free(x);
    fs_rmtree(out);
    fs_rmtree(again);
    free(out);
    free(again);
    if (!ok && c->kind == KNOWN_BUG) {
        fprintf(stderr, "%s: a known bug of parleygen, not fixed yet (see the input's comment)\n",
                c->title);
        skip();
    }
    if (!ok)
        fail_msg("%s: see above", c->title);
}

static void collect(const char *dir, const char *prefix, kind k, out_case **cases, size_t *n,
                    size_t *cap)
{
    static const char *const exts[] = {".idl", ".x"};
    for (size_t e = 0; e < 2; e++) {
        size_t count = 0;
        char **names = fs_list(dir, exts[e], &count);
        for (size_t i = 0; i < count; i++) {
            if (*n == *cap) {
                *cap = *cap ? 2 * *cap : 32;
                *cases = realloc(*cases, *cap * sizeof **cases);
                if (!*cases)
                    abort();
            }
            out_case *c = &(*cases)[(*n)++];
            c->dir = strdup(dir);
            c->input = strdup(names[i]);
            c->stem = strndup(names[i], strlen(names[i]) - strlen(exts[e]));
            c->kind = k;
            size_t len = strlen(prefix) + strlen(names[i]) + 1;
            c->title = malloc(len);
            snprintf(c->title, len, "%s%s", prefix, names[i]);
        }
        fs_list_free(names);
    }
}

/* ---- options --------------------------------------------------------------- */

static char *constructs_dir(void)
{
    return fs_cat(FRONT_DATA, "constructs");
}

static char *options_dir(void)
{
    return fs_cat(FRONT_DATA, "options");
}

/* --no-line leaves no #line in either output; by default there are some. */
static void test_no_line_removes_every_line_directive(void **state)
{
    (void)state;
    char *dir = constructs_dir(), *out = fs_tempdir();
    static const char *const with_lines[] = {"-I", "include", NULL};
    static const char *const no_lines[] = {"-I", "include", "--no-line", NULL};
    static const char *const names[] = {"preproc.h", "preproc_xdr.c"};
    assert_true(generate_ok("default", dir, "preproc.idl", out, with_lines));
    for (size_t k = 0; k < 2; k++) {
        char *text = read_in(out, names[k], NULL);
        assert_non_null(text);
        assert_non_null(strstr(text, "#line "));
        free(text);
    }
    assert_true(generate_ok("--no-line", dir, "preproc.idl", out, no_lines));
    for (size_t k = 0; k < 2; k++) {
        char *text = read_in(out, names[k], NULL);
        assert_non_null(text);
        assert_null(strstr(text, "#line"));
        free(text);
    }
    fs_rmtree(out);
    free(out);
    free(dir);
}

/* The #line directives name the IDL by the path it was given by, folder
 * included, so that a C compiler's message about generated code names the
 * file and line of the IDL as the user knows it; those back to the output
 * name the output. */
static void test_line_directives_name_the_idl_as_given(void **state)
{
    (void)state;
    char *out = fs_tempdir();
    assert_true(generate_ok("types", FRONT_DATA, "constructs/types.idl", out, NULL));
    static const char *const names[] = {"types.h", "types_xdr.c"};
    for (size_t k = 0; k < 2; k++) {
        char *text = read_in(out, names[k], NULL);
        assert_non_null(text);
        assert_non_null(strstr(text, "\"constructs/types.idl\"\n"));
        size_t idl = 0;
        for (const char *p = strstr(text, "#line "); p; p = strstr(p + 1, "#line ")) {
            const char *q = strchr(p, '"');
            assert_non_null(q);
            int to_idl = strncmp(q, "\"constructs/types.idl\"\n", 23) == 0;
            int to_out = strncmp(q + 1, names[k], strlen(names[k])) == 0;
            if (!to_idl && !to_out)
                fail_msg("%s: a #line names neither the IDL nor the output: %.60s", names[k], p);
            idl += (size_t)to_idl;
        }
        assert_true(idl > 0);
        free(text);
    }
    fs_rmtree(out);
    free(out);
}

/* --header writes only the header, --xdr only the codec. */
static void test_header_and_xdr_options_write_one_file_each(void **state)
{
    (void)state;
    char *dir = constructs_dir();
    static const char *const header[] = {"--header", NULL};
    static const char *const xdr[] = {"--xdr", NULL};
    const char *const *opts[] = {header, xdr};
    const char *want[] = {"types.h", "types_xdr.c"};
    for (size_t k = 0; k < 2; k++) {
        char *out = fs_tempdir();
        assert_true(generate_ok(opts[k][0], dir, "types.idl", out, opts[k]));
        size_t n = 0;
        char **files = fs_list(out, "", &n);
        assert_int_equal(n, 1);
        assert_string_equal(files[0], want[k]);
        fs_list_free(files);
        fs_rmtree(out);
        free(out);
    }
    free(dir);
}

/* header_of generates the header for input in dir with options and
 * returns it. */
static char *header_of(const char *dir, const char *input, const char *stem,
                       const char *const *options)
{
    char *out = fs_tempdir();
    assert_non_null(out);
    assert_true(generate_ok(input, dir, input, out, options));
    char *name = str_printf("%s.h", stem);
    char *text = read_in(out, name, NULL);
    assert_non_null(text);
    free(name);
    fs_rmtree(out);
    free(out);
    return text;
}

/* -D NAME and -D NAME=VALUE define macros for the preprocessor, in both
 * the separate and the attached spelling. */
static void test_define_option_defines_macros(void **state)
{
    (void)state;
    char *dir = options_dir();
    char *plain = header_of(dir, "defines.idl", "defines", NULL);
    assert_non_null(strstr(plain, "#define FEATURE_OFF 1\n"));
    assert_null(strstr(plain, "FEATURE_ON"));
    assert_null(strstr(plain, "HIGH_LEVEL"));
    static const char *const separate[] = {"-D", "FEATURE", "-D", "LEVEL=3", NULL};
    static const char *const attached[] = {"-DFEATURE", "-DLEVEL=3", NULL};
    const char *const *opts[] = {separate, attached};
    for (size_t k = 0; k < 2; k++) {
        char *defined = header_of(dir, "defines.idl", "defines", opts[k]);
        assert_non_null(strstr(defined, "#define FEATURE_ON 1\n"));
        assert_non_null(strstr(defined, "#define HIGH_LEVEL 3\n"));
        assert_null(strstr(defined, "FEATURE_OFF"));
        free(defined);
    }
    free(plain);
    free(dir);
}

/* -I DIR is searched for #include <file> and, after the including file's
 * own folder, for #include "file"; without it both are not found. */
static void test_include_option_adds_a_search_folder(void **state)
{
    (void)state;
    char *dir = options_dir();
    static const char *const with_dir[] = {"-I", "dir", NULL};
    char *text = header_of(dir, "includes.idl", "includes", with_dir);
    assert_non_null(strstr(text, "struct from_angle {"));
    assert_non_null(strstr(text, "struct from_quoted {"));
    free(text);

    char *out = fs_tempdir();
    fs_result r = generate(dir, "includes.idl", out, NULL);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, "includes.idl:3:1: error: 'options_angle.inc' file not found\n"
                               " #include <options_angle.inc>\n"
                               " ^\n"
                               "includes.idl:4:1: error: 'options_quoted.inc' file not found\n"
                               " #include \"options_quoted.inc\"\n"
                               " ^\n"
                               "2 errors generated.\n");
    fs_result_free(&r);
    fs_rmtree(out);
    free(out);
    free(dir);
}

/* As with rpcgen, the file is read with RPC_HDR defined for the header and
 * RPC_XDR for the codec, and %-lines go where their section says. */
static void test_rpc_hdr_and_rpc_xdr_select_what_goes_where(void **state)
{
    (void)state;
    char *dir = constructs_dir(), *out = fs_tempdir();
    static const char *const options[] = {"-I", "include", NULL};
    assert_true(generate_ok("preproc.idl", dir, "preproc.idl", out, options));
    char *h = read_in(out, "preproc.h", NULL), *x = read_in(out, "preproc_xdr.c", NULL);
    assert_non_null(h);
    assert_non_null(x);
    assert_non_null(strstr(h, "/* this comment goes to the header only */"));
    assert_null(strstr(x, "goes to the header only"));
    assert_non_null(strstr(x, "/* this comment goes to the codec only */"));
    assert_null(strstr(h, "goes to the codec only"));
    /* %-lines outside any section go to both */
    assert_non_null(strstr(h, "#include <stddef.h>"));
    assert_non_null(strstr(x, "#include <stddef.h>"));
    free(h);
    free(x);
    fs_rmtree(out);
    free(out);
    free(dir);
}

/* past_end_of_idl checks the #line directives of the generated text: a
 * line they attribute to the IDL file (named idl, of idl_lines lines) must
 * be one of its lines. Returns the first generated line (1-based) that maps
 * past the end, or 0. */
static size_t past_end_of_idl(const char *text, const char *idl, long idl_lines, long *maps_to)
{
    const char *file = NULL;
    size_t flen = 0, gen_line = 0;
    long line = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        gen_line++;
        if (n > 6 && strncmp(p, "#line ", 6) == 0) {
            char *end;
            line = strtol(p + 6, &end, 10);
            const char *q = strchr(end, '"');
            file = q && q < p + n ? q + 1 : NULL;
            const char *r = file ? strchr(file, '"') : NULL;
            flen = r ? (size_t)(r - file) : 0;
        } else if (file) {
            if (flen == strlen(idl) && strncmp(file, idl, flen) == 0 && line > idl_lines) {
                *maps_to = line;
                return gen_line;
            }
            line++;
        }
        p += n + (nl != NULL);
    }
    return 0;
}

/* The #line directives that point the C compiler back at the IDL cover
 * only lines of the IDL: a diagnostic in generated code never names a line
 * past the end of the IDL file.
 * KNOWN BUG: after `#line N "foo.idl"` before a definition, parleygen
 * writes the whole codec of the type (dozens of lines) with no directive
 * back to foo_xdr.c, so the compiler counts foo.idl lines on through the
 * generated functions: an error in generated code is reported at a line of
 * foo.idl that does not exist (or that holds something else). */
static void test_line_directives_never_point_past_the_end_of_the_idl(void **state)
{
    (void)state;
    char *dir = fs_cat(FRONT_DATA, "golden");
    static const char *const inputs[][3] = {{"users.idl", "users.h", "users_xdr.c"},
                                            {"service.idl", "service.h", "service_xdr.c"},
                                            {"rpcgen.x", "rpcgen.h", "rpcgen_xdr.c"}};
    int ok = 1;
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        char *idl = read_in(dir, inputs[i][0], NULL);
        assert_non_null(idl);
        long lines = 0;
        for (const char *c = idl; *c; c++)
            lines += *c == '\n';
        for (size_t k = 1; k < 3; k++) {
            char *text = read_in(dir, inputs[i][k], NULL);
            assert_non_null(text);
            long to = 0;
            size_t at = past_end_of_idl(text, inputs[i][0], lines, &to);
            if (at) {
                fprintf(stderr, "%s:%zu is attributed to %s:%ld, past its last line %ld\n",
                        inputs[i][k], at, inputs[i][0], to, lines);
                ok = 0;
            }
            free(text);
        }
        free(idl);
    }
    free(dir);
    if (!ok) {
        fail_msg("a regression of a fixed bug: see above");
    }
}

int main(void)
{
    static const char *const names[][2] = {{"gcc", "cc"}, {"clang", NULL}};
    for (size_t k = 0; k < 2; k++) {
        char *path = fs_find_program(names[k][0]);
        if (!path && names[k][1])
            path = fs_find_program(names[k][1]);
        if (path)
            compilers[ncompilers++] = path;
        else
            fprintf(stderr, "note: no %s in PATH; its compile checks are left out\n", names[k][0]);
    }

    out_case *cases = NULL;
    size_t n = 0, cap = 0;
    char *constructs = fs_cat(FRONT_DATA, "constructs");
    char *golden = fs_cat(FRONT_DATA, "golden");
    char *bugs = fs_cat(constructs, "bugs");
    collect(constructs, "constructs/", CONSTRUCT, &cases, &n, &cap);
    collect(golden, "golden/", GOLDEN, &cases, &n, &cap);
    collect(bugs, "constructs/bugs/", KNOWN_BUG, &cases, &n, &cap);

    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_no_line_removes_every_line_directive),
        cmocka_unit_test(test_line_directives_name_the_idl_as_given),
        cmocka_unit_test(test_header_and_xdr_options_write_one_file_each),
        cmocka_unit_test(test_define_option_defines_macros),
        cmocka_unit_test(test_include_option_adds_a_search_folder),
        cmocka_unit_test(test_rpc_hdr_and_rpc_xdr_select_what_goes_where),
        cmocka_unit_test(test_line_directives_never_point_past_the_end_of_the_idl),
    };
    size_t nfixed = sizeof fixed / sizeof fixed[0];
    struct CMUnitTest *tests = calloc(n + nfixed, sizeof *tests);
    if (!tests)
        return 1;
    for (size_t i = 0; i < n; i++) {
        tests[i].name = cases[i].title;
        tests[i].test_func = run_out_case;
        tests[i].initial_state = &cases[i];
    }
    for (size_t i = 0; i < nfixed; i++)
        tests[n + i] = fixed[i];
    int failed = _cmocka_run_group_tests("parleygen output", tests, n + nfixed, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        free(cases[i].dir);
        free(cases[i].input);
        free(cases[i].stem);
        free(cases[i].title);
    }
    free(cases);
    free(tests);
    free(constructs);
    free(golden);
    free(bugs);
    for (size_t k = 0; k < ncompilers; k++)
        free(compilers[k]);
    return failed;
}
