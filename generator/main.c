/*
 * generator/main.c: parleygen, the IDL compiler.
 *
 *   parleygen [-o DIR] [-I DIR]... [-D NAME[=VALUE]]... [--no-line] [--depfile FILE]
 *             [--sample] FILE.idl|FILE.x
 *
 * For foo.x or foo.idl it writes DIR/foo.h, DIR/foo_xdr.c, DIR/foo_client.c
 * and DIR/foo_server.c; with --sample, also DIR/foo_sample_server.c and
 * DIR/foo_sample_client.c (emit_sample.c), never over existing ones. As rpcgen
 * does, the file is preprocessed once per output, with RPC_HDR defined for
 * the header and RPC_XDR for the codec, so `#ifdef RPC_HDR` sections work.
 * Every error is reported (not just the first) as file:line:col; the exit
 * status is 1 if there was any, and then no output file is touched. Outputs
 * are written to temporary files and renamed into place only when all of
 * them are complete; a missing output folder is made, with its parents,
 * when the first of them is. With --depfile FILE it also writes, once the
 * outputs are in place, a make-style rule naming them and every file they
 * were made from (the input and what it #includes), for build tools
 * (CMake's DEPFILE, make, ninja) to run it again when any of these changes.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ast.h"
#include "check.h"
#include "diag.h"
#include "emit.h"
#include "parse.h"
#include "cpp.h"

/* The project's version (CMakeLists.txt's project()), given by the build. */
#ifndef PARLEYGEN_VERSION
#error "PARLEYGEN_VERSION is defined by generator/CMakeLists.txt"
#endif

/* usage prints the full usage (--help) to f. */
static void usage(FILE *f)
{
    fputs("usage: parleygen [options] FILE.idl|FILE.x\n"
          "Compiles an ONC RPC / Parley IDL file into C: FILE.h (types, constants,\n"
          "prototypes), FILE_xdr.c (the XDR codec), FILE_client.c (a function per\n"
          "procedure) and FILE_server.c (the dispatch to the procedures you write).\n"
          "\n"
          "options:\n"
          "  -o, --output-dir DIR  write the outputs into DIR, made with its parents if\n"
          "                        missing (default: .)\n"
          "  -I DIR                search DIR for #include files\n"
          "  -D NAME[=VALUE]       define a preprocessor macro\n"
          "      --no-line         no #line directives back to the IDL\n"
          "      --header          write FILE.h (with the others: only those named)\n"
          "      --xdr             write FILE_xdr.c\n"
          "      --client          write FILE_client.c\n"
          "      --server          write FILE_server.c\n"
          "      --sample          also write FILE_sample_server.c (a main() and a stub\n"
          "                        per procedure) and FILE_sample_client.c (a main()\n"
          "                        calling each procedure once), as rpcgen -a does;\n"
          "                        never over existing files\n"
          "      --max-errors N    stop reporting after N errors (default 100)\n"
          "      --color=WHEN      colour diagnostics: auto (on a terminal, unless\n"
          "                        NO_COLOR is set), always or never (default auto)\n"
          "      --depfile FILE    also write FILE, a make rule: the outputs depend on\n"
          "                        the input and every file it includes\n"
          "  -E                    print the preprocessed IDL (as for the header) and stop\n"
          "  -h, --help            this text\n"
          "  -V, --version         the version\n",
          f);
}

/* use_color decides --color=WHEN (NULL: auto) for standard error; -1 for a
 * WHEN it does not know. */
static int use_color(const char *when)
{
    if (when && strcmp(when, "always") == 0)
        return 1;
    if (when && strcmp(when, "never") == 0)
        return 0;
    if (when && strcmp(when, "auto") != 0)
        return -1;
    const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
    return isatty(2) && !(no && *no) && !(term && strcmp(term, "dumb") == 0);
}

/* usage_error ends a command line parleygen cannot take: the message (none
 * when getopt already printed its own line), a hint, and exit status 2. */
static int usage_error(const char *msg)
{
    if (msg)
        fprintf(stderr, "parleygen: error: %s\n", msg);
    fputs("try 'parleygen --help'\n", stderr);
    return 2;
}

/* make_dirs makes the folder dir and any of its parents that are missing,
 * as `mkdir -p` does, each with mode 0777 less the umask. Returns 0, or -1
 * with errno set (ENOTDIR when something on the way is not a folder). */
static int make_dirs(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        errno = ENOTDIR;
        return -1;
    }
    size_t n = strlen(dir);
    char *path = malloc(n + 1);
    if (!path)
        return -1;
    memcpy(path, dir, n + 1);
    /* each prefix ending before a '/', then the whole path */
    for (size_t i = 1; i <= n; i++) {
        if (i < n && path[i] != '/')
            continue;
        if (i < n && path[i - 1] == '/')
            continue; /* "a//b": the empty component */
        char saved = path[i];
        path[i] = '\0';
        int rc = mkdir(path, 0777);
        int err = errno;
        path[i] = saved;
        if (rc != 0 && err != EEXIST) {
            free(path);
            errno = err;
            return -1;
        }
    }
    free(path);
    if (stat(dir, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* write_atomically writes o into dir/name through a temporary file in the
 * same folder, renamed over the target only once complete. mkstemp makes
 * the file 0600; it gets mode, what a file created by open(0666) would
 * have under the umask, before anything is written to it. */
static int write_atomically(const char *dir, const char *name, const gen_out *o, mode_t mode,
                            char **tmp_out)
{
    size_t n = strlen(dir) + strlen(name) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return -1;
    snprintf(tmp, n, "%s/.%s.XXXXXX", dir, name);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "parleygen: error: cannot create a file in '%s': %s\n", dir,
                strerror(errno));
        free(tmp);
        return -1;
    }
    if (fchmod(fd, mode) != 0) {
        fprintf(stderr, "parleygen: error: cannot set the mode of '%s': %s\n", tmp,
                strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return -1;
    }
    size_t off = 0;
    while (off < o->len) {
        ssize_t w = write(fd, o->buf + off, o->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fprintf(stderr, "parleygen: error: cannot write '%s': %s\n", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            free(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0) {
        fprintf(stderr, "parleygen: error: cannot write '%s': %s\n", tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    *tmp_out = tmp;
    return 0;
}

/* base_name returns the file name of path without folder and .x/.idl. */
static char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *b = slash ? slash + 1 : path;
    size_t n = strlen(b);
    if (n > 2 && strcmp(b + n - 2, ".x") == 0)
        n -= 2;
    else if (n > 4 && strcmp(b + n - 4, ".idl") == 0)
        n -= 4;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, b, n);
        s[n] = '\0';
    }
    return s;
}

/* preprocess_to_stdout prints what the lexer would read for the header. */
static int preprocess_to_stdout(const char *input, const char **defs, size_t ndef,
                                const char **incs, int max_errors, int color)
{
    defs[ndef] = "RPC_HDR";
    idl_parse_options opts = {defs, incs, 0, 0};
    idl_diag *diag = idl_diag_create(stderr, max_errors);
    if (diag)
        idl_diag_set_color(diag, color);
    idl_arena *arena = idl_arena_create();
    size_t len = 0, plen = 0;
    char *text = diag && arena ? idl_read_file(input, (size_t)16 << 20, &len) : NULL;
    char *pre = NULL;
    if (!text && diag && arena)
        idl_error(diag, (idl_loc){0}, "cannot read '%s': %s", input, strerror(errno));
    if (text) {
        idl_diag_add_source(diag, input, text, len);
        pre = idl_preprocess(arena, diag, input, text, len, &opts, &plen);
    }
    if (pre)
        fwrite(pre, 1, plen, stdout);
    int rc = !diag || !arena ? 2 : idl_diag_errors(diag) > 0 || !pre ? 1 : 0;
    if (diag)
        idl_diag_summary(diag);
    free(pre);
    free(text);
    idl_arena_destroy(arena);
    idl_diag_destroy(diag);
    return rc;
}

/* dep_put appends path to a make rule, escaped as make and ninja read
 * it: a space or tab, or a '#', after a backslash, a '$' doubled. */
static void dep_put(gen_out *o, const char *path)
{
    for (const char *p = path; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '#')
            gen_puts(o, "\\");
        if (*p == '$')
            gen_puts(o, "$");
        char c[2] = {*p, '\0'};
        gen_puts(o, c);
    }
}

/* write_depfile writes path, a make rule whose targets are the outputs
 * written (finals, n of them, NULL where none was) and whose prerequisites
 * are the files diag read: the input and every file it included, in the
 * order they were read. Through a temporary file, as the outputs; returns 0,
 * or 1 after printing why it could not. */
static int write_depfile(const char *path, char *const *finals, size_t n, const idl_diag *diag,
                         mode_t mode)
{
    gen_out o = {0};
    const char *sep = "";
    for (size_t k = 0; k < n; k++) {
        if (!finals[k])
            continue;
        gen_puts(&o, sep);
        dep_put(&o, finals[k]);
        sep = " ";
    }
    gen_puts(&o, ":");
    const char *file;
    for (size_t i = 0; (file = idl_diag_source_file(diag, i)) != NULL; i++) {
        gen_puts(&o, " \\\n  ");
        dep_put(&o, file);
    }
    gen_puts(&o, "\n");
    if (o.oom) {
        fputs("parleygen: out of memory\n", stderr);
        gen_out_free(&o);
        return 1;
    }
    /* the folder and name of path, for write_atomically */
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    const char *name = slash ? slash + 1 : path;
    char *tmp = NULL;
    int rc = 1;
    if (!dir)
        fputs("parleygen: out of memory\n", stderr);
    else if (!*name)
        fprintf(stderr, "parleygen: error: --depfile '%s' names a folder, not a file\n", path);
    else if (write_atomically(dir, name, &o, mode, &tmp) == 0) {
        if (rename(tmp, path) == 0)
            rc = 0;
        else {
            fprintf(stderr, "parleygen: error: cannot write '%s': %s\n", path, strerror(errno));
            unlink(tmp);
        }
    }
    free(tmp);
    free(dir);
    gen_out_free(&o);
    return rc;
}

/* sample_exists tells, with a message, whether dir/name exists: a sample is
 * written once and then edited, so it is never written over. */
static int sample_exists(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    struct stat st;
    if (!path)
        return 1;
    snprintf(path, n, "%s/%s", dir, name);
    int exists = lstat(path, &st) == 0;
    if (exists)
        fprintf(stderr,
                "parleygen: error: '%s' exists: --sample writes only new files (remove it to "
                "write it again)\n",
                path);
    free(path);
    return exists;
}

typedef struct output {
    const char *define; /* RPC_HDR, RPC_XDR */
    const char *suffix; /* ".h", "_xdr.c" */
    int (*emit)(gen_out *, const idl_spec *, const gen_opts *);
} output;

/* run is parleygen with room for the -I folders and -D macros (and one
 * more define per output) allocated by main, which frees them whatever path
 * run leaves by. */
static int run(int argc, char **argv, const char **incs, const char **defs)
{
    const char *outdir = ".";
    const char *depfile = NULL;
    size_t ninc = 0, ndef = 0;
    int line_directives = 1, only = 0, max_errors = 0, preprocess_only = 0, sample = 0;
    const char *color_when = NULL;
    static const struct option longopts[] = {
        {"output-dir", required_argument, NULL, 'o'},
        {"no-line", no_argument, NULL, 'L'},
        {"header", no_argument, NULL, 'H'},
        {"xdr", no_argument, NULL, 'X'},
        {"client", no_argument, NULL, 'C'},
        {"server", no_argument, NULL, 'S'},
        {"max-errors", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"depfile", required_argument, NULL, 'P'},
        {"sample", no_argument, NULL, 'A'},
        {"color", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "o:I:D:EhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'E':
            preprocess_only = 1;
            break;
        case 'o':
            outdir = optarg;
            break;
        case 'P':
            depfile = optarg;
            break;
        case 'I':
            incs[ninc++] = optarg;
            break;
        case 'D':
            defs[ndef++] = optarg;
            break;
        case 'L':
            line_directives = 0;
            break;
        case 'H':
            only |= 1;
            break;
        case 'X':
            only |= 2;
            break;
        case 'C':
            only |= 4;
            break;
        case 'S':
            only |= 8;
            break;
        case 'A':
            sample = 1;
            break;
        case 'M': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 1000000) {
                fprintf(stderr,
                        "parleygen: error: --max-errors takes a number from 1 to "
                        "1000000, not '%s'\n",
                        optarg);
                return usage_error(NULL);
            }
            max_errors = (int)v;
            break;
        }
        case 'c':
            color_when = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            puts("parleygen " PARLEYGEN_VERSION);
            return 0;
        default:
            return usage_error(NULL); /* getopt said what is wrong */
        }
    }
    if (optind != argc - 1)
        return usage_error(optind >= argc ? "no input file" : "only one input file at a time");
    int color = use_color(color_when);
    if (color < 0) {
        fprintf(stderr, "parleygen: error: --color takes auto, always or never, not '%s'\n",
                color_when);
        return usage_error(NULL);
    }
    const char *input = argv[optind];
    char *base = base_name(input);
    if (!base || !*base) {
        fprintf(stderr, "parleygen: error: '%s' is not an IDL file name\n", input);
        free(base);
        return 2;
    }

    if (preprocess_only) {
        int rc = preprocess_to_stdout(input, defs, ndef, incs, max_errors, color);
        free(base);
        return rc;
    }

    static const output outputs[] = {
        {"RPC_HDR", ".h", gen_emit_header},
        {"RPC_XDR", "_xdr.c", gen_emit_xdr},
        {"RPC_CLNT", "_client.c", gen_emit_client},
        {"RPC_SVC", "_server.c", gen_emit_server},
        {"RPC_HDR", "_sample_server.c", gen_emit_sample_server}, /* --sample only */
        {"RPC_HDR", "_sample_client.c", gen_emit_sample_client},
    };
    enum { NOUT = sizeof outputs / sizeof outputs[0] };
    char *tmps[NOUT] = {0};
    mode_t mask = umask(0); /* umask can only be read by setting it */
    umask(mask);
    mode_t mode = 0666 & ~mask;
    char *finals[NOUT] = {0};
    int outdir_made = 0; /* -o DIR is made only once there is an output to write */
    int status = 0;
    idl_diag *diag = idl_diag_create(stderr, max_errors);
    if (!diag) {
        fputs("parleygen: out of memory\n", stderr);
        free(base);
        return 2;
    }
    idl_diag_set_color(diag, color);

    for (int k = 0; k < NOUT && status == 0; k++) {
        if (k < 4 ? only && !(only & (1 << k)) : !sample)
            continue;
        defs[ndef] = outputs[k].define;
        idl_parse_options opts = {defs, incs, 0, 0};
        idl_arena *arena = idl_arena_create();
        if (!arena) {
            status = 2;
            break;
        }
        idl_spec *spec = idl_parse_file(arena, diag, input, &opts);
        /* the checks run on whatever parsed, syntax errors or not */
        if (spec)
            idl_check(spec, diag);
        if (spec && idl_diag_errors(diag) == 0)
            gen_check_names(spec, diag);
        idl_diag_flush(diag);
        if (!spec || idl_diag_errors(diag) > 0) {
            status = 1;
            idl_arena_destroy(arena);
            break;
        }
        size_t flen = strlen(base) + strlen(outputs[k].suffix) + 1;
        char *fname = malloc(flen);
        if (!fname) {
            status = 2;
            idl_arena_destroy(arena);
            break;
        }
        snprintf(fname, flen, "%s%s", base, outputs[k].suffix);
        if (k >= 4 && sample_exists(outdir, fname)) {
            status = 1;
            free(fname);
            idl_arena_destroy(arena);
            break;
        }
        gen_out o = {0};
        o.line = 1;
        o.name = fname;
        gen_opts gopts = {line_directives, input, base};
        if (outputs[k].emit(&o, spec, &gopts) != 0 || o.oom) {
            fputs("parleygen: out of memory\n", stderr);
            status = 2;
        } else if (!outdir_made && make_dirs(outdir) != 0) {
            fprintf(stderr, "parleygen: error: cannot create the output folder '%s': %s\n", outdir,
                    strerror(errno));
            status = 1;
        } else if (write_atomically(outdir, fname, &o, mode, &tmps[k]) != 0) {
            outdir_made = 1;
            status = 1;
        } else {
            outdir_made = 1;
            size_t n = strlen(outdir) + flen + 2;
            finals[k] = malloc(n);
            if (finals[k])
                snprintf(finals[k], n, "%s/%s", outdir, fname);
            else
                status = 2;
        }
        gen_out_free(&o);
        free(fname);
        idl_arena_destroy(arena);
    }

    for (int k = 0; k < NOUT; k++) {
        if (!tmps[k])
            continue;
        if (status == 0 && rename(tmps[k], finals[k]) != 0) {
            fprintf(stderr, "parleygen: error: cannot write '%s': %s\n", finals[k],
                    strerror(errno));
            status = 1;
        }
        if (status != 0)
            unlink(tmps[k]);
        free(tmps[k]);
    }
    if (status == 0 && depfile)
        status = write_depfile(depfile, finals, NOUT, diag, mode);
    for (int k = 0; k < NOUT; k++)
        free(finals[k]);
    idl_diag_summary(diag);
    idl_diag_destroy(diag);
    free(base);
    return status;
}

int main(int argc, char **argv)
{
    const char **incs = calloc((size_t)argc + 1, sizeof *incs);
    const char **defs = calloc((size_t)argc + 2, sizeof *defs);
    int rc = 2;
    if (incs && defs)
        rc = run(argc, argv, incs, defs);
    else
        fputs("parleygen: out of memory\n", stderr);
    free(incs);
    free(defs);
    return rc;
}
