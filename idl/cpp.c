/*
 * idl/cpp.c: the IDL preprocessor.
 *
 * rpcgen runs the system's cpp over a .x file; Parley does the part of that
 * job .x files use itself, so that it needs no external program, behaves the
 * same everywhere, and keeps every token at the line and column where it was
 * written (cpp folds white space, which would put the carets of diagnostics
 * in the wrong place). Supported: #include "f" and <f>, object-like #define
 * and #undef, #if/#ifdef/#ifndef/#elif/#else/#endif with defined() and C
 * integer expressions, #error, #warning, #pragma and #ident (ignored), and
 * line markers. Function-like macros are reported as unsupported.
 *
 * The output is the text with every directive line blanked and `#line`
 * markers where the file changes; the lexer follows the markers.
 */
#include "cpp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct macro {
    struct macro *next;
    char *name;
    char *value;
    int expanding;
} macro;

typedef struct cond {
    idl_loc loc;
    int active; /* this branch's lines are kept */
    int taken;  /* some branch of this #if group was taken */
    int in_else;
    int parent_active;
} cond;

typedef struct obuf {
    char *p;
    size_t len, cap;
} obuf;

typedef struct pp {
    idl_arena *arena;
    idl_diag *diag;
    const idl_parse_options *opts;
    size_t max_file;
    int max_depth;
    macro *macros;
    obuf out;
    int oom;
    int marks;         /* column marks for the lexer: see idl_preprocess_marked */
    const char *shown; /* the file and line shift a line marker in the */
    int shift;         /* current file set, for the directives' messages */
    int overflow;      /* #if groups past MAX_COND_DEPTH in the current file: not
                          tracked, but their #else and #endif are absorbed */
} pp;

enum { MAX_COND_DEPTH = 256, MAX_EXPAND_DEPTH = 64 };

static void ob_put(pp *p, const char *s, size_t n)
{
    obuf *b = &p->out;
    if (p->oom)
        return;
    if (b->cap - b->len < n + 1) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            p->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void ob_puts(pp *p, const char *s)
{
    ob_put(p, s, strlen(s));
}

static void ob_marker(pp *p, int line, const char *file)
{
    char head[32];
    snprintf(head, sizeof head, "#line %d \"", line);
    ob_puts(p, head);
    ob_puts(p, file);
    ob_puts(p, "\"\n");
}

static int is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident(int c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static macro *find_macro(pp *p, const char *name, size_t n)
{
    for (macro *m = p->macros; m; m = m->next)
        if (strlen(m->name) == n && memcmp(m->name, name, n) == 0)
            return m;
    return NULL;
}

static void undef_macro(pp *p, const char *name, size_t n)
{
    for (macro **mp = &p->macros; *mp; mp = &(*mp)->next) {
        macro *m = *mp;
        if (strlen(m->name) == n && memcmp(m->name, name, n) == 0) {
            *mp = m->next;
            free(m->name);
            free(m->value);
            free(m);
            return;
        }
    }
}

static void define_macro(pp *p, const char *name, size_t n, const char *value, size_t vn)
{
    undef_macro(p, name, n);
    macro *m = calloc(1, sizeof *m);
    if (!m) {
        p->oom = 1;
        return;
    }
    m->name = malloc(n + 1);
    m->value = malloc(vn + 1);
    if (!m->name || !m->value) {
        free(m->name);
        free(m->value);
        free(m);
        p->oom = 1;
        return;
    }
    memcpy(m->name, name, n);
    m->name[n] = '\0';
    memcpy(m->value, value, vn);
    m->value[vn] = '\0';
    m->next = p->macros;
    p->macros = m;
}

/* expand copies n bytes of text to the output, replacing the names of
 * object-like macros by their (recursively expanded) values. Comments and
 * literals are copied as they are. *in_comment carries a block comment
 * across lines. */
static void expand(pp *p, const char *s, size_t n, int *in_comment, int depth)
{
    size_t i = 0, run = 0;
    while (i < n) {
        if (*in_comment) {
            if (s[i] == '*' && i + 1 < n && s[i + 1] == '/') {
                *in_comment = 0;
                i += 2;
            } else {
                i++;
            }
            continue;
        }
        char c = s[i];
        if (c == '/' && i + 1 < n && s[i + 1] == '*') {
            *in_comment = 1;
            i += 2;
        } else if (c == '/' && i + 1 < n && s[i + 1] == '/') {
            i = n;
        } else if (c == '"' || c == '\'') {
            i++;
            while (i < n && s[i] != c) {
                if (s[i] == '\\' && i + 1 < n)
                    i++;
                i++;
            }
            if (i < n)
                i++;
        } else if (is_ident_start((unsigned char)c)) {
            size_t st = i;
            while (i < n && is_ident((unsigned char)s[i]))
                i++;
            macro *m = find_macro(p, s + st, i - st);
            if (m && !m->expanding && depth < MAX_EXPAND_DEPTH) {
                ob_put(p, s + run, st - run);
                int inner = 0;
                size_t before = p->out.len;
                m->expanding = 1;
                expand(p, m->value, strlen(m->value), &inner, depth + 1);
                m->expanding = 0;
                run = i;
                size_t made = p->out.len - before;
                if (depth == 0 && p->marks && made < i - st) {
                    for (size_t k = made; k < i - st; k++)
                        ob_puts(p, " ");
                } else if (depth == 0 && p->marks && made > i - st) {
                    char mark[16];
                    snprintf(mark, sizeof mark, "\x1f%zu\x1f", i + 1);
                    ob_puts(p, mark);
                }
            }
        } else if (c >= '0' && c <= '9') {
            while (i < n && is_ident((unsigned char)s[i]))
                i++;
        } else {
            i++;
        }
    }
    ob_put(p, s + run, n - run);
}

/* ---- #if expressions -------------------------------------------------- */

typedef struct ex {
    pp *p;
    const char *s, *end;
    idl_loc loc;
    int err;
    int depth;
    int dead; /* inside an operand C does not evaluate (0 && x, 1 || x, the
                 other arm of ?:): arithmetic errors there are not errors */
} ex;

static void ex_skip(ex *e)
{
    for (;;) {
        while (e->s < e->end && (*e->s == ' ' || *e->s == '\t'))
            e->s++;
        if (e->end - e->s >= 2 && e->s[0] == '/' && e->s[1] == '*') {
            const char *q = e->s + 2;
            while (q + 1 < e->end && !(q[0] == '*' && q[1] == '/'))
                q++;
            e->s = q + 1 < e->end ? q + 2 : e->end;
        } else if (e->end - e->s >= 2 && e->s[0] == '/' && e->s[1] == '/') {
            e->s = e->end;
        } else {
            return;
        }
    }
}

static int ex_accept(ex *e, const char *op)
{
    ex_skip(e);
    size_t n = strlen(op);
    if ((size_t)(e->end - e->s) >= n && memcmp(e->s, op, n) == 0) {
        /* do not take '<' out of '<<', '&' out of '&&', and the like */
        if (n == 1 && e->end - e->s >= 2 && (e->s[1] == op[0] || e->s[1] == '=') &&
            strchr("<>&|=!", op[0]))
            return 0;
        e->s += n;
        return 1;
    }
    return 0;
}

static void ex_fail(ex *e, const char *msg)
{
    if (!e->err)
        idl_error(e->p->diag, e->loc, "%s in preprocessor expression", msg);
    e->err = 1;
}

static int64_t ex_cond(ex *e);

static int64_t ex_eval_text(pp *p, const char *s, size_t n, idl_loc loc, int depth, int *err);

static int64_t ex_primary(ex *e)
{
    ex_skip(e);
    if (e->err || e->s >= e->end) {
        ex_fail(e, "expected a value");
        return 0;
    }
    char c = *e->s;
    if (c == '(') {
        e->s++;
        int64_t v = ex_cond(e);
        if (!ex_accept(e, ")"))
            ex_fail(e, "expected ')'");
        return v;
    }
    if (c >= '0' && c <= '9') {
        char *endp;
        errno = 0;
        unsigned long long v = strtoull(e->s, &endp, 0);
        if (errno || endp == e->s)
            ex_fail(e, "bad number");
        e->s = endp;
        while (e->s < e->end && strchr("uUlL", *e->s))
            e->s++;
        return (int64_t)v;
    }
    if (is_ident_start((unsigned char)c)) {
        const char *st = e->s;
        while (e->s < e->end && is_ident((unsigned char)*e->s))
            e->s++;
        size_t n = (size_t)(e->s - st);
        if (n == 7 && memcmp(st, "defined", 7) == 0) {
            int paren = ex_accept(e, "(");
            ex_skip(e);
            const char *ns = e->s;
            while (e->s < e->end && is_ident((unsigned char)*e->s))
                e->s++;
            if (e->s == ns) {
                ex_fail(e, "expected a name after 'defined'");
                return 0;
            }
            size_t nn = (size_t)(e->s - ns);
            if (paren && !ex_accept(e, ")"))
                ex_fail(e, "expected ')'");
            return find_macro(e->p, ns, nn) != NULL;
        }
        macro *m = find_macro(e->p, st, n);
        if (!m || m->expanding)
            return 0; /* as in C: an unknown name is 0 */
        if (e->depth >= MAX_EXPAND_DEPTH) {
            ex_fail(e, "macro nested too deeply");
            return 0;
        }
        int err = 0;
        m->expanding = 1;
        int64_t v = ex_eval_text(e->p, m->value, strlen(m->value), e->loc, e->depth + 1, &err);
        m->expanding = 0;
        if (err)
            e->err = 1;
        return v;
    }
    ex_fail(e, "unexpected character");
    return 0;
}

static int64_t ex_unary(ex *e)
{
    if (ex_accept(e, "!"))
        return !ex_unary(e);
    if (ex_accept(e, "~"))
        return (int64_t) ~(uint64_t)ex_unary(e);
    if (ex_accept(e, "-"))
        return (int64_t)(0 - (uint64_t)ex_unary(e));
    if (ex_accept(e, "+"))
        return ex_unary(e);
    return ex_primary(e);
}

/* Binary levels, loosest last; wrapping arithmetic as in C's uintmax_t. */
static int64_t ex_mul(ex *e)
{
    int64_t v = ex_unary(e);
    for (;;) {
        if (ex_accept(e, "*")) {
            v = (int64_t)((uint64_t)v * (uint64_t)ex_unary(e));
        } else if (ex_accept(e, "/") || ex_accept(e, "%")) {
            char op = e->s[-1];
            int64_t r = ex_unary(e);
            if (r == 0) {
                if (!e->dead)
                    ex_fail(e, "division by zero");
                v = 0;
                continue;
            }
            if (r == -1)
                v = op == '/' ? (int64_t)(0 - (uint64_t)v) : 0;
            else
                v = op == '/' ? v / r : v % r;
        } else {
            return v;
        }
    }
}

static int64_t ex_add(ex *e)
{
    int64_t v = ex_mul(e);
    for (;;) {
        if (ex_accept(e, "+"))
            v = (int64_t)((uint64_t)v + (uint64_t)ex_mul(e));
        else if (ex_accept(e, "-"))
            v = (int64_t)((uint64_t)v - (uint64_t)ex_mul(e));
        else
            return v;
    }
}

static int64_t ex_shift(ex *e)
{
    int64_t v = ex_add(e);
    for (;;) {
        int left = ex_accept(e, "<<");
        if (!left && !ex_accept(e, ">>"))
            return v;
        int64_t r = ex_add(e);
        if (r < 0 || r > 63) {
            if (!e->dead)
                ex_fail(e, "shift count out of range");
            v = 0;
            continue;
        }
        v = left ? (int64_t)((uint64_t)v << r) : v >> r;
    }
}

static int64_t ex_rel(ex *e)
{
    int64_t v = ex_shift(e);
    for (;;) {
        if (ex_accept(e, "<="))
            v = v <= ex_shift(e);
        else if (ex_accept(e, ">="))
            v = v >= ex_shift(e);
        else if (ex_accept(e, "<"))
            v = v < ex_shift(e);
        else if (ex_accept(e, ">"))
            v = v > ex_shift(e);
        else
            return v;
    }
}

static int64_t ex_eq(ex *e)
{
    int64_t v = ex_rel(e);
    for (;;) {
        if (ex_accept(e, "=="))
            v = v == ex_rel(e);
        else if (ex_accept(e, "!="))
            v = v != ex_rel(e);
        else
            return v;
    }
}

static int64_t ex_band(ex *e)
{
    int64_t v = ex_eq(e);
    while (ex_accept(e, "&"))
        v &= ex_eq(e);
    return v;
}

static int64_t ex_bxor(ex *e)
{
    int64_t v = ex_band(e);
    while (ex_accept(e, "^"))
        v ^= ex_band(e);
    return v;
}

static int64_t ex_bor(ex *e)
{
    int64_t v = ex_bxor(e);
    while (ex_accept(e, "|"))
        v |= ex_bxor(e);
    return v;
}

static int64_t ex_land(ex *e)
{
    int64_t v = ex_bor(e);
    while (ex_accept(e, "&&")) {
        e->dead += !v;
        int64_t r = ex_bor(e);
        e->dead -= !v;
        v = v && r;
    }
    return v;
}

static int64_t ex_lor(ex *e)
{
    int64_t v = ex_land(e);
    while (ex_accept(e, "||")) {
        e->dead += !!v;
        int64_t r = ex_land(e);
        e->dead -= !!v;
        v = v || r;
    }
    return v;
}

static int64_t ex_cond(ex *e)
{
    if (++e->depth > MAX_EXPAND_DEPTH * 4) {
        ex_fail(e, "expression nested too deeply");
        return 0;
    }
    int64_t v = ex_lor(e);
    if (ex_accept(e, "?")) {
        e->dead += !v;
        int64_t a = ex_cond(e);
        e->dead -= !v;
        if (!ex_accept(e, ":"))
            ex_fail(e, "expected ':'");
        e->dead += !!v;
        int64_t b = ex_cond(e);
        e->dead -= !!v;
        v = v ? a : b;
    }
    e->depth--;
    return v;
}

static int64_t ex_eval_text(pp *p, const char *s, size_t n, idl_loc loc, int depth, int *err)
{
    ex e = {p, s, s + n, loc, 0, depth, 0};
    int64_t v = ex_cond(&e);
    ex_skip(&e);
    if (!e.err && e.s != e.end)
        ex_fail(&e, "unexpected text");
    *err = e.err;
    return e.err ? 0 : v;
}

/* ---- files and directives --------------------------------------------- */

static int process(pp *p, const char *file, const char *text, size_t len, int depth);

/* read_file reads path whole; NULL with errno set on failure. */
static char *read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        errno = EISDIR;
        return NULL;
    }
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            if (cap > max) {
                free(buf);
                fclose(f);
                errno = EFBIG;
                return NULL;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int ferr = ferror(f);
    fclose(f);
    if (!buf || ferr) {
        free(buf);
        errno = ferr ? EIO : ENOMEM;
        return NULL;
    }
    if (n > max) {
        free(buf);
        errno = EFBIG;
        return NULL;
    }
    *len = n;
    return buf;
}

/* include_file finds name (quoted: first beside the including file) and
 * processes it. */
static void include_file(pp *p, const char *from, const char *name, int quoted, idl_loc loc,
                         int depth)
{
    if (depth >= p->max_depth) {
        idl_error(p->diag, loc, "#include nested more than %d deep", p->max_depth);
        return;
    }
    static const char *const sys_dirs[] = {"/usr/local/include", "/usr/include", NULL};
    char path[4096];
    char *text = NULL;
    size_t len = 0;
    int found = 0, tried_err = 0;
    if (name[0] == '/') {
        snprintf(path, sizeof path, "%s", name);
        text = read_file(path, p->max_file, &len);
        found = text != NULL;
        tried_err = !found && errno != ENOENT ? errno : 0;
    }
    if (!found && name[0] != '/' && quoted) {
        const char *slash = strrchr(from, '/');
        int dirlen = slash ? (int)(slash - from) : 0;
        if (slash)
            snprintf(path, sizeof path, "%.*s/%s", dirlen, from, name);
        else
            snprintf(path, sizeof path, "%s", name);
        text = read_file(path, p->max_file, &len);
        found = text != NULL;
        if (!found && errno != ENOENT)
            tried_err = errno;
    }
    const char *const *dirs = p->opts ? p->opts->include_dirs : NULL;
    for (int pass = 0; !found && name[0] != '/' && pass < 2; pass++) {
        const char *const *list = pass == 0 ? dirs : (quoted ? NULL : sys_dirs);
        for (; list && *list && !found; list++) {
            snprintf(path, sizeof path, "%s/%s", *list, name);
            text = read_file(path, p->max_file, &len);
            found = text != NULL;
            if (!found && errno != ENOENT)
                tried_err = errno;
        }
    }
    if (!found) {
        if (tried_err == EFBIG)
            idl_error(p->diag, loc, "'%s' is larger than %zu bytes", name, p->max_file);
        else if (tried_err)
            idl_error(p->diag, loc, "cannot read '%s': %s", name, strerror(tried_err));
        else
            idl_error(p->diag, loc, "'%s' file not found", name);
        return;
    }
    const char *interned = idl_arena_strdup(p->arena, path);
    idl_diag_add_source(p->diag, interned, text, len);
    process(p, interned, text, len, depth + 1);
    free(text);
}

static const char *skip_ws(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    return s;
}

/* strip_comments copies a directive's text without comments, so that
 * `#define X 1 // one` defines X as 1. */
static size_t strip_comments(char *dst, const char *s, size_t n)
{
    size_t o = 0, i = 0;
    while (i < n) {
        if (s[i] == '/' && i + 1 < n && s[i + 1] == '*') {
            i += 2;
            while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/'))
                i++;
            i = i + 1 < n ? i + 2 : n;
            dst[o++] = ' ';
        } else if (s[i] == '/' && i + 1 < n && s[i + 1] == '/') {
            break;
        } else {
            dst[o++] = s[i++];
        }
    }
    while (o && (dst[o - 1] == ' ' || dst[o - 1] == '\t' || dst[o - 1] == '\r'))
        o--;
    dst[o] = '\0';
    return o;
}

/* directive handles one logical directive line (continuations joined),
 * whose text after '#' is s[0..n). */
static void directive(pp *p, const char *file, const char *s, size_t n, idl_loc loc, cond *stack,
                      int *nstack, int depth, int *line_after)
{
    char *buf = malloc(n + 1);
    if (!buf) {
        p->oom = 1;
        return;
    }
    n = strip_comments(buf, s, n);
    const char *q = skip_ws(buf, buf + n), *end = buf + n;
    const char *w = q;
    while (q < end && is_ident((unsigned char)*q))
        q++;
    size_t wn = (size_t)(q - w);
    int active = *nstack == 0 || stack[*nstack - 1].active;
#define IS(word) (wn == sizeof(word) - 1 && memcmp(w, word, wn) == 0)
    if (p->overflow && (IS("if") || IS("ifdef") || IS("ifndef"))) {
        p->overflow++;
        goto out;
    }
    if (p->overflow && (IS("elif") || IS("else"))) {
        goto out;
    }
    if (p->overflow && IS("endif")) {
        p->overflow--;
        goto out;
    }
    if (IS("if") || IS("ifdef") || IS("ifndef")) {
        if (*nstack >= MAX_COND_DEPTH) {
            idl_error(p->diag, loc, "#if nested more than %d deep", MAX_COND_DEPTH);
            p->overflow = 1;
            goto out;
        }
        int v = 0;
        if (active) {
            const char *a = skip_ws(q, end);
            if (IS("if")) {
                int err = 0;
                if (a == end)
                    idl_error(p->diag, loc, "#if with no expression");
                else
                    v = ex_eval_text(p, a, (size_t)(end - a), loc, 0, &err) != 0;
            } else {
                const char *ne = a;
                while (ne < end && is_ident((unsigned char)*ne))
                    ne++;
                if (ne == a || !is_ident_start((unsigned char)*a)) {
                    idl_error(p->diag, loc, "macro name missing after #%.*s", (int)wn, w);
                } else {
                    v = find_macro(p, a, (size_t)(ne - a)) != NULL;
                    if (IS("ifndef"))
                        v = !v;
                }
            }
        }
        cond c = {loc, active && v, active && v, 0, active};
        stack[(*nstack)++] = c;
    } else if (IS("elif") || IS("else")) {
        if (*nstack == 0) {
            idl_error(p->diag, loc, "#%.*s without #if", (int)wn, w);
            goto out;
        }
        cond *c = &stack[*nstack - 1];
        if (c->in_else) {
            idl_error(p->diag, loc, "#%.*s after #else", (int)wn, w);
            idl_note(p->diag, c->loc, "the #if group began here");
            goto out;
        }
        if (IS("else")) {
            c->in_else = 1;
            c->active = c->parent_active && !c->taken;
        } else {
            int v = 0;
            if (c->parent_active && !c->taken) {
                int err = 0;
                const char *a = skip_ws(q, end);
                v = ex_eval_text(p, a, (size_t)(end - a), loc, 0, &err) != 0;
            }
            c->active = c->parent_active && !c->taken && v;
        }
        c->taken |= c->active;
    } else if (IS("endif")) {
        if (*nstack == 0)
            idl_error(p->diag, loc, "#endif without #if");
        else
            (*nstack)--;
    } else if (!active) {
        /* other directives in a skipped group are not looked at */
    } else if (IS("define")) {
        const char *a = skip_ws(q, end), *ne = a;
        while (ne < end && is_ident((unsigned char)*ne))
            ne++;
        if (ne == a || !is_ident_start((unsigned char)*a)) {
            idl_error(p->diag, loc, "macro name missing after #define");
        } else if (ne < end && *ne == '(') {
            idl_error(p->diag, loc,
                      "function-like macro '%.*s' is not supported; use a const definition",
                      (int)(ne - a), a);
        } else {
            const char *v = skip_ws(ne, end);
            define_macro(p, a, (size_t)(ne - a), v, (size_t)(end - v));
        }
    } else if (IS("undef")) {
        const char *a = skip_ws(q, end), *ne = a;
        while (ne < end && is_ident((unsigned char)*ne))
            ne++;
        if (ne == a)
            idl_error(p->diag, loc, "macro name missing after #undef");
        else
            undef_macro(p, a, (size_t)(ne - a));
    } else if (IS("include")) {
        const char *a = skip_ws(q, end);
        char close = a < end && *a == '"' ? '"' : a < end && *a == '<' ? '>' : 0;
        const char *ne = close ? memchr(a + 1, close, (size_t)(end - a - 1)) : NULL;
        if (!ne || ne == a + 1) {
            idl_error(p->diag, loc, "#include expects \"file\" or <file>");
        } else {
            char *name = idl_arena_strndup(p->arena, a + 1, (size_t)(ne - a - 1));
            include_file(p, file, name, close == '"', loc, depth);
            ob_marker(p, *line_after + p->shift, p->shown);
            *line_after = -1; /* the marker stands for the directive's lines */
        }
    } else if (IS("error")) {
        const char *a = skip_ws(q, end);
        idl_error(p->diag, loc, "#error %.*s", (int)(end - a), a);
    } else if (IS("warning")) {
        const char *a = skip_ws(q, end);
        idl_warning(p->diag, loc, "#warning %.*s", (int)(end - a), a);
    } else if (IS("pragma") || IS("ident") || IS("sccs") || wn == 0) {
        /* ignored, as cpp would pass them on and rpcgen ignore them; an empty
         * '#' line is the null directive */
    } else if (IS("line") || (wn > 0 && w[0] >= '0' && w[0] <= '9')) {
        /* a line marker from an earlier preprocessing: hand it to the lexer,
         * and report this file's later directives where it says */
        ob_puts(p, "#");
        ob_put(p, buf, n);
        ob_puts(p, "\n");
        const char *num = IS("line") ? skip_ws(q, end) : w;
        char *numend;
        errno = 0;
        long target = strtol(num, &numend, 10);
        if (errno == 0 && numend != num && target >= 1 && target <= 100000000) {
            p->shift = (int)target - *line_after;
            const char *qa = memchr(numend, '"', (size_t)(end - numend));
            const char *qb = qa ? memchr(qa + 1, '"', (size_t)(end - qa - 1)) : NULL;
            if (qb)
                p->shown = idl_arena_strndup(p->arena, qa + 1, (size_t)(qb - qa - 1));
        }
        *line_after = -1;
    } else {
        idl_error(p->diag, loc, "unknown preprocessing directive '#%.*s'", (int)wn, w);
    }
#undef IS
out:
    free(buf);
}

/* process runs one file's text through the directives. */
static int process(pp *p, const char *file, const char *text, size_t len, int depth)
{
    cond stack[MAX_COND_DEPTH];
    int nstack = 0;
    int outer_overflow = p->overflow;
    p->overflow = 0;
    int in_comment = 0;
    const char *s = text, *end = text + len;
    int line = 1;
    const char *outer_shown = p->shown;
    int outer_shift = p->shift;
    p->shown = file;
    p->shift = 0;
    ob_marker(p, 1, file);
    while (s < end && !p->oom) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *le = nl ? nl : end;
        const char *t = skip_ws(s, le);
        int active = nstack == 0 || stack[nstack - 1].active;
        if (!in_comment && t < le && *t == '#') {
            /* join continuation lines */
            const char *dend = le;
            int lines = 1;
            while (dend > s && dend[-1 - (dend[-1] == '\r')] == '\\' && dend < end) {
                const char *nn = memchr(dend + 1, '\n', (size_t)(end - dend - 1));
                dend = nn ? nn : end;
                lines++;
            }
            size_t dn = (size_t)(dend - (t + 1));
            char *joined = malloc(dn + 1);
            if (!joined) {
                p->oom = 1;
                break;
            }
            size_t o = 0;
            for (const char *c = t + 1; c < dend; c++) {
                if (*c == '\\' &&
                    (c + 1 == dend || c[1] == '\n' || (c[1] == '\r' && c + 2 <= dend))) {
                    while (c < dend && *c != '\n')
                        c++;
                    continue;
                }
                joined[o++] = *c;
            }
            idl_loc loc = {p->shown, line + p->shift, (int)(t - s) + 1, p->out.len + 1};
            int line_after = line + lines;
            directive(p, file, joined, o, loc, stack, &nstack, depth, &line_after);
            free(joined);
            if (line_after < 0) {
                /* the marker set the next line's position itself */
            } else {
                for (int k = 0; k < lines; k++)
                    ob_puts(p, "\n");
            }
            line += lines;
            s = dend < end ? dend + 1 : end;
            continue;
        }
        if (active) {
            if (!in_comment && t < le && *t == '%') {
                /* a pass-through line goes out as written, together with the
                 * lines a trailing backslash continues it onto (cpp would
                 * splice them: a multi-line %#define) */
                ob_put(p, s, (size_t)(le - s));
                while (nl && le > s && le[-1 - (le[-1] == '\r' && le - 1 > s)] == '\\') {
                    s = nl + 1;
                    nl = memchr(s, '\n', (size_t)(end - s));
                    le = nl ? nl : end;
                    ob_puts(p, "\n");
                    line++;
                    ob_put(p, s, (size_t)(le - s));
                }
            } else
                expand(p, s, (size_t)(le - s), &in_comment, 0);
        } else {
            /* keep track of comments in skipped groups too */
            for (const char *c = s; c < le; c++) {
                if (in_comment && c + 1 < le && c[0] == '*' && c[1] == '/') {
                    in_comment = 0;
                    c++;
                } else if (!in_comment && c + 1 < le && c[0] == '/' && c[1] == '*') {
                    in_comment = 1;
                    c++;
                } else if (!in_comment && c + 1 < le && c[0] == '/' && c[1] == '/') {
                    break;
                }
            }
        }
        ob_puts(p, "\n");
        line++;
        s = nl ? nl + 1 : end;
    }
    while (nstack > 0) {
        idl_error(p->diag, stack[nstack - 1].loc, "unterminated #if");
        nstack--;
    }
    p->overflow = outer_overflow;
    p->shown = outer_shown;
    p->shift = outer_shift;
    return 0;
}

static char *preprocess(idl_arena *arena, idl_diag *diag, const char *name, const char *text,
                        size_t len, const idl_parse_options *opts, size_t *out_len, int marks)
{
    pp p = {0};
    p.marks = marks;
    p.arena = arena;
    p.diag = diag;
    p.opts = opts;
    p.max_file = opts && opts->max_file_size ? opts->max_file_size : (size_t)16 << 20;
    p.max_depth = opts && opts->max_include_depth ? opts->max_include_depth : 64;
    for (const char *const *d = opts ? opts->defines : NULL; d && *d; d++) {
        const char *eq = strchr(*d, '=');
        if (eq)
            define_macro(&p, *d, (size_t)(eq - *d), eq + 1, strlen(eq + 1));
        else
            define_macro(&p, *d, strlen(*d), "1", 1);
    }
    process(&p, name, text, len, 0);
    while (p.macros) {
        macro *m = p.macros;
        p.macros = m->next;
        free(m->name);
        free(m->value);
        free(m);
    }
    if (p.oom) {
        free(p.out.p);
        idl_error(diag, (idl_loc){0}, "out of memory while preprocessing '%s'", name);
        return NULL;
    }
    if (!p.out.p)
        ob_put(&p, "", 0);
    *out_len = p.out.len;
    return p.out.p;
}

/* idl_preprocess: see cpp.h. */
char *idl_preprocess(idl_arena *arena, idl_diag *diag, const char *name, const char *text,
                     size_t len, const idl_parse_options *opts, size_t *out_len)
{
    return preprocess(arena, diag, name, text, len, opts, out_len, 0);
}

/* idl_preprocess_marked: see cpp.h. */
char *idl_preprocess_marked(idl_arena *arena, idl_diag *diag, const char *name, const char *text,
                            size_t len, const idl_parse_options *opts, size_t *out_len)
{
    return preprocess(arena, diag, name, text, len, opts, out_len, 1);
}

/* idl_read_file: see cpp.h. */
char *idl_read_file(const char *path, size_t max, size_t *len)
{
    return read_file(path, max, len);
}
