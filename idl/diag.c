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

/* One error or warning with its notes, formatted, waiting for the flush. */
typedef struct diag_group {
    size_t order; /* of the error or warning */
    size_t seq;   /* when it was reported: ties keep that order */
    int is_error;
    char *text;
    size_t len, cap;
} diag_group;

struct idl_diag {
    FILE *out;
    int errors;
    int warnings;
    int max_errors;
    int color;
    int kept_errors;  /* errors held in groups */
    int dropped;      /* errors past max_errors were dropped: say so once */
    int told_dropped; /* "too many errors" printed */
    int quiet_notes;  /* the last error or warning was dropped: drop its notes */
    diag_group *groups;
    size_t ngroups, capgroups, seq;
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

/* idl_diag_set_color: see diag.h. */
void idl_diag_set_color(idl_diag *d, int on)
{
    d->color = on;
}

/* idl_diag_destroy frees the sink and its copies of the sources. */
void idl_diag_destroy(idl_diag *d)
{
    if (!d)
        return;
    idl_diag_flush(d);
    free(d->groups);
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

/* A growing text, for formatting a group; out of memory leaves it short. */
static void put(diag_group *g, const char *text, size_t n)
{
    if (g->cap - g->len < n + 1) {
        size_t cap = g->cap ? g->cap : 256;
        while (cap - g->len < n + 1)
            cap *= 2;
        char *t = realloc(g->text, cap);
        if (!t)
            return;
        g->text = t;
        g->cap = cap;
    }
    memcpy(g->text + g->len, text, n);
    g->len += n;
    g->text[g->len] = '\0';
}

static void putv(diag_group *g, const char *fmt, va_list ap) IDL_PRINTF(2, 0);

static void putv(diag_group *g, const char *fmt, va_list ap)
{
    char small[512];
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(small, sizeof small, fmt, aq);
    va_end(aq);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        put(g, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big)
        return;
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    put(g, big, (size_t)n);
    free(big);
}

static void putf(diag_group *g, const char *fmt, ...) IDL_PRINTF(2, 3);

static void putf(diag_group *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    putv(g, fmt, ap);
    va_end(ap);
}

/* The colours clang uses: the position and the message bold, the kind in
 * its colour, the caret green. */
#define BOLD  "\033[1m"
#define RESET "\033[0m"
#define GREEN "\033[1;32m"

static const char *kind_color(const char *kind)
{
    if (strcmp(kind, "error") == 0 || strcmp(kind, "fatal") == 0)
        return "\033[1;31m";
    if (strcmp(kind, "warning") == 0)
        return "\033[1;35m";
    return "\033[1;36m";
}

/* print_source quotes the line at loc and puts a caret under its column;
 * tabs in the line are kept in the caret's indentation so it lines up. */
static void print_source(idl_diag *d, diag_group *g, idl_loc loc)
{
    size_t len;
    const char *line = find_line(d, loc.file, loc.line, &len);
    if (!line)
        return;
    putf(g, " %.*s\n ", (int)len, line);
    for (int c = 1; c < loc.col && (size_t)(c - 1) < len; c++)
        put(g, line[c - 1] == '\t' ? "\t" : " ", 1);
    putf(g, "%s^%s\n", d->color ? GREEN : "", d->color ? RESET : "");
}

static void report(idl_diag *d, diag_group *g, idl_loc loc, const char *kind, const char *fmt,
                   va_list ap) IDL_PRINTF(5, 0);

static void report(idl_diag *d, diag_group *g, idl_loc loc, const char *kind, const char *fmt,
                   va_list ap)
{
    if (d->color)
        put(g, BOLD, strlen(BOLD));
    if (loc.file)
        putf(g, "%s:%d:%d: ", loc.file, loc.line, loc.col);
    else
        put(g, "parleygen: ", 11);
    if (d->color)
        putf(g, "%s%s:" RESET BOLD " ", kind_color(kind), kind);
    else
        putf(g, "%s: ", kind);
    putv(g, fmt, ap);
    if (d->color)
        put(g, RESET, strlen(RESET));
    put(g, "\n", 1);
    if (loc.file)
        print_source(d, g, loc);
}

static int group_before(const diag_group *a, const diag_group *b)
{
    return a->order != b->order ? a->order < b->order : a->seq < b->seq;
}

/* new_group holds a new error or warning at loc, or returns NULL when it is
 * dropped: past max_errors the errors furthest into the text are dropped,
 * so that what is printed is the first max_errors in the order of the text. */
static diag_group *new_group(idl_diag *d, idl_loc loc, int is_error)
{
    diag_group key = {loc.order, d->seq++, is_error, NULL, 0, 0};
    if (is_error && d->kept_errors >= d->max_errors) {
        d->dropped = 1;
        size_t last = d->ngroups;
        for (size_t i = 0; i < d->ngroups; i++)
            if (d->groups[i].is_error &&
                (last == d->ngroups || group_before(&d->groups[last], &d->groups[i])))
                last = i;
        if (last == d->ngroups || !group_before(&key, &d->groups[last]))
            return NULL;
        free(d->groups[last].text);
        memmove(&d->groups[last], &d->groups[last + 1],
                (d->ngroups - last - 1) * sizeof *d->groups);
        d->ngroups--;
        d->kept_errors--;
    }
    if (d->ngroups == d->capgroups) {
        size_t cap = d->capgroups ? 2 * d->capgroups : 16;
        diag_group *t = realloc(d->groups, cap * sizeof *t);
        if (!t)
            return NULL;
        d->groups = t;
        d->capgroups = cap;
    }
    d->kept_errors += is_error;
    d->groups[d->ngroups] = key;
    return &d->groups[d->ngroups++];
}

/* idl_error: see diag.h. */
void idl_error(idl_diag *d, idl_loc loc, const char *fmt, ...)
{
    d->errors++;
    diag_group *g = new_group(d, loc, 1);
    d->quiet_notes = g == NULL;
    if (!g)
        return;
    va_list ap;
    va_start(ap, fmt);
    report(d, g, loc, "error", fmt, ap);
    va_end(ap);
}

/* idl_warning: see diag.h. */
void idl_warning(idl_diag *d, idl_loc loc, const char *fmt, ...)
{
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
    d->warnings++;
    diag_group *g = new_group(d, loc, 0);
    d->quiet_notes = g == NULL;
    if (!g)
        return;
    va_start(ap, fmt);
    report(d, g, loc, "warning", fmt, ap);
    va_end(ap);
}

/* idl_note: see diag.h. */
void idl_note(idl_diag *d, idl_loc loc, const char *fmt, ...)
{
    if (d->quiet_notes || d->ngroups == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    report(d, &d->groups[d->ngroups - 1], loc, "note", fmt, ap);
    va_end(ap);
}

static int cmp_group(const void *a, const void *b)
{
    const diag_group *x = a, *y = b;
    return group_before(x, y) ? -1 : group_before(y, x);
}

/* idl_diag_flush: see diag.h. */
void idl_diag_flush(idl_diag *d)
{
    if (d->ngroups > 1)
        qsort(d->groups, d->ngroups, sizeof *d->groups, cmp_group);
    for (size_t i = 0; i < d->ngroups; i++) {
        if (d->groups[i].text)
            fwrite(d->groups[i].text, 1, d->groups[i].len, d->out);
        free(d->groups[i].text);
    }
    d->ngroups = 0;
    d->kept_errors = 0;
    d->quiet_notes = 1;
    if (d->dropped && !d->told_dropped) {
        fprintf(d->out, "parleygen: %sfatal:%s too many errors, only the first %d shown\n",
                d->color ? kind_color("fatal") : "", d->color ? RESET : "", d->max_errors);
        d->told_dropped = 1;
    }
    /* once errors were dropped, later ones are too */
    if (d->dropped)
        d->max_errors = 0;
    fflush(d->out);
}

/* idl_diag_summary: see diag.h. */
void idl_diag_summary(idl_diag *d)
{
    idl_diag_flush(d);
    if (d->warnings > 0)
        fprintf(d->out, "%d warning%s%s", d->warnings, d->warnings == 1 ? "" : "s",
                d->errors > 0 ? " and " : "");
    if (d->errors > 0)
        fprintf(d->out, "%d error%s", d->errors, d->errors == 1 ? "" : "s");
    if (d->warnings > 0 || d->errors > 0)
        fputs(" generated.\n", d->out);
    fflush(d->out);
}

/* idl_diag_errors: see diag.h. */
int idl_diag_errors(const idl_diag *d)
{
    return d->errors;
}

/* distance is the optimal string alignment distance between a and b
 * (insertions, deletions, substitutions and swaps of neighbours), or a
 * number above limit as soon as it must be. */
static size_t distance(const char *a, const char *b, size_t limit)
{
    size_t n = strlen(a), m = strlen(b);
    if ((n > m ? n - m : m - n) > limit || n > 64 || m > 64)
        return limit + 1;
    size_t rows[3][65];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++)
        prev[j] = j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = i;
        size_t best = cur[0];
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t v = prev[j - 1] + cost;
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < v)
                v = prev2[j - 2] + 1;
            cur[j] = v;
            if (v < best)
                best = v;
        }
        if (best > limit)
            return limit + 1;
        size_t *t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[m];
}

/* idl_suggest: see diag.h. */
const char *idl_suggest(const char *name, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t best_d = 0;
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (!cands[i] || strcmp(cands[i], name) == 0)
            continue;
        size_t clen = strlen(cands[i]);
        size_t limit = (len > clen ? len : clen) / 3;
        if (limit < 1)
            limit = 1;
        if (best && best_d - 1 < limit)
            limit = best_d - 1;
        size_t dist = distance(name, cands[i], limit);
        if (dist <= limit && dist < clen && (!best || dist < best_d)) {
            best = cands[i];
            best_d = dist;
        }
    }
    return best;
}
