/*
 * idl/diag.c: diagnostics in the compilers' format, with the source line and
 * a caret under the column.
 *
 * Sources are registered by the preprocessor as it reads them, so a
 * diagnostic can quote the line it points at even when it comes from an
 * included file.
 */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct diag_source {
    struct diag_source *next;
    char *file;
    char *text;
    size_t len;
} diag_source;

struct idl_diag {
    FILE *out;
    int errors;
    int max_errors;
    int suppressed;  /* past max_errors: drop notes of dropped errors too */
    int quiet_notes; /* the last warning was a repeat: drop its notes */
    diag_source *sources;
    char **seen; /* warnings printed, as "file:line:col: text", a hash set */
    size_t nseen, capseen;
};

/* idl_diag_create: see diag.h. Returns NULL when out of memory. */
idl_diag *idl_diag_create(FILE *out, int max_errors)
{
    idl_diag *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->out = out;
    d->max_errors = max_errors > 0 ? max_errors : 100;
    return d;
}

/* idl_diag_destroy frees the sink and its copies of the sources. */
void idl_diag_destroy(idl_diag *d)
{
    if (!d)
        return;
    diag_source *s = d->sources;
    while (s) {
        diag_source *next = s->next;
        free(s->file);
        free(s->text);
        free(s);
        s = next;
    }
    for (size_t i = 0; i < d->capseen; i++)
        free(d->seen[i]);
    free(d->seen);
    free(d);
}

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

/* first_time records key and returns nonzero unless it was recorded before.
 * parleygen reads a file once per output, so without this every warning
 * would be printed once per output. When memory runs out it says yes. */
static int first_time(idl_diag *d, const char *key)
{
    if (2 * (d->nseen + 1) > d->capseen) {
        size_t cap = d->capseen ? 2 * d->capseen : 64;
        char **t = calloc(cap, sizeof *t);
        if (!t)
            return 1;
        for (size_t i = 0; i < d->capseen; i++) {
            if (!d->seen[i])
                continue;
            size_t j = hash_str(d->seen[i]) & (cap - 1);
            while (t[j])
                j = (j + 1) & (cap - 1);
            t[j] = d->seen[i];
        }
        free(d->seen);
        d->seen = t;
        d->capseen = cap;
    }
    size_t j = hash_str(key) & (d->capseen - 1);
    for (; d->seen[j]; j = (j + 1) & (d->capseen - 1))
        if (strcmp(d->seen[j], key) == 0)
            return 0;
    d->seen[j] = strdup(key);
    if (d->seen[j])
        d->nseen++;
    return 1;
}

/* idl_diag_add_source keeps a copy of file's text; a later registration of
 * the same file replaces nothing (the first text is the one read). */
void idl_diag_add_source(idl_diag *d, const char *file, const char *text, size_t len)
{
    for (diag_source *s = d->sources; s; s = s->next)
        if (strcmp(s->file, file) == 0)
            return;
    diag_source *s = calloc(1, sizeof *s);
    if (!s)
        return;
    s->file = strdup(file);
    s->text = malloc(len + 1);
    if (!s->file || !s->text) {
        free(s->file);
        free(s->text);
        free(s);
        return;
    }
    memcpy(s->text, text, len);
    s->text[len] = '\0';
    s->len = len;
    s->next = d->sources;
    d->sources = s;
}

/* idl_diag_source_file: see diag.h. The list holds the newest first, so
 * the i-th registered is n-1-i from its head. */
const char *idl_diag_source_file(const idl_diag *d, size_t i)
{
    size_t n = 0;
    for (const diag_source *s = d->sources; s; s = s->next)
        n++;
    if (i >= n)
        return NULL;
    const diag_source *s = d->sources;
    for (size_t k = n - 1 - i; k > 0; k--)
        s = s->next;
    return s->file;
}

/* find_line returns the start of line `line` (1-based) of file and its
 * length, or NULL when the file or line is unknown. */
static const char *find_line(const idl_diag *d, const char *file, int line, size_t *len)
{
    const diag_source *s = d->sources;
    while (s && strcmp(s->file, file) != 0)
        s = s->next;
    if (!s || line < 1)
        return NULL;
    const char *p = s->text, *end = s->text + s->len;
    for (int l = 1; l < line; l++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return NULL;
        p = nl + 1;
    }
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    *len = (size_t)((nl ? nl : end) - p);
    if (*len && p[*len - 1] == '\r')
        (*len)--;
    return p;
}

/* print_source quotes the line at loc and puts a caret under its column;
 * tabs in the line are kept in the caret's indentation so it lines up. */
static void print_source(idl_diag *d, idl_loc loc)
{
    size_t len;
    const char *line = find_line(d, loc.file, loc.line, &len);
    if (!line)
        return;
    fprintf(d->out, " %.*s\n ", (int)len, line);
    for (int c = 1; c < loc.col && (size_t)(c - 1) < len; c++)
        fputc(line[c - 1] == '\t' ? '\t' : ' ', d->out);
    fputs("^\n", d->out);
}

static void report(idl_diag *d, idl_loc loc, const char *kind, const char *fmt, va_list ap)
    IDL_PRINTF(4, 0);

static void report(idl_diag *d, idl_loc loc, const char *kind, const char *fmt, va_list ap)
{
    if (loc.file)
        fprintf(d->out, "%s:%d:%d: %s: ", loc.file, loc.line, loc.col, kind);
    else
        fprintf(d->out, "parleygen: %s: ", kind);
    vfprintf(d->out, fmt, ap);
    fputc('\n', d->out);
    if (loc.file)
        print_source(d, loc);
}

/* idl_error: see diag.h. */
void idl_error(idl_diag *d, idl_loc loc, const char *fmt, ...)
{
    d->errors++;
    d->quiet_notes = 0;
    if (d->errors > d->max_errors) {
        if (!d->suppressed)
            fprintf(d->out, "parleygen: fatal: too many errors, stopping at %d\n", d->max_errors);
        d->suppressed = 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    report(d, loc, "error", fmt, ap);
    va_end(ap);
}

/* idl_warning: see diag.h. */
void idl_warning(idl_diag *d, idl_loc loc, const char *fmt, ...)
{
    if (d->suppressed)
        return;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    char key[1200];
    snprintf(key, sizeof key, "%s:%d:%d: %s", loc.file ? loc.file : "", loc.line, loc.col, text);
    d->quiet_notes = !first_time(d, key);
    if (d->quiet_notes)
        return;
    va_start(ap, fmt);
    report(d, loc, "warning", fmt, ap);
    va_end(ap);
}

/* idl_note: see diag.h. */
void idl_note(idl_diag *d, idl_loc loc, const char *fmt, ...)
{
    if (d->suppressed || d->quiet_notes)
        return;
    va_list ap;
    va_start(ap, fmt);
    report(d, loc, "note", fmt, ap);
    va_end(ap);
}

/* idl_diag_errors: see diag.h. */
int idl_diag_errors(const idl_diag *d)
{
    return d->errors;
}
