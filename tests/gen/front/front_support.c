/*
 * tests/gen/front/front_support.c: running programs, files and folders, and
 * diffs for the front-end tests (see front_support.h).
 *
 * Programs run with fork and exec: the child changes folder first, which
 * posix_spawn cannot portably do. Their output goes to temporary files, not
 * pipes, so that a program printing a lot cannot block on a full pipe.
 */
#include "front_support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

char *fs_cat(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", a, b);
    return s;
}

char *fs_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (cap - n < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int fs_write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t put = fwrite(data, 1, len, f);
    return fclose(f) == 0 && put == len ? 0 : -1;
}

int fs_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

char *fs_tempdir(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    char *tmpl = fs_cat(base, "parley-front-XXXXXX");
    if (tmpl && !mkdtemp(tmpl)) {
        free(tmpl);
        return NULL;
    }
    return tmpl;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void fs_rmtree(const char *dir)
{
    if (dir)
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **fs_list(const char *dir, const char *suffix, size_t *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    size_t cap = 16, len = 0, sl = strlen(suffix);
    char **names = malloc(cap * sizeof *names);
    struct dirent *e;
    while (names && (e = readdir(d)) != NULL) {
        size_t nl = strlen(e->d_name);
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (nl < sl || strcmp(e->d_name + nl - sl, suffix) != 0)
            continue;
        if (len + 1 >= cap) {
            char **g = realloc(names, 2 * cap * sizeof *names);
            if (!g)
                break;
            names = g;
            cap *= 2;
        }
        names[len] = strdup(e->d_name);
        if (names[len])
            len++;
    }
    closedir(d);
    if (!names)
        return NULL;
    qsort(names, len, sizeof *names, cmp_str);
    names[len] = NULL;
    *n = len;
    return names;
}

void fs_list_free(char **names)
{
    for (char **p = names; p && *p; p++)
        free(*p);
    free(names);
}

char *fs_find_program(const char *name)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t n = colon ? (size_t)(colon - path) : strlen(path);
        char *dir = strndup(path, n);
        char *full = dir ? fs_cat(n ? dir : ".", name) : NULL;
        free(dir);
        if (full && access(full, X_OK) == 0)
            return full;
        free(full);
        path += n;
        if (*path == ':')
            path++;
    }
    return NULL;
}

/* temp_capture opens an unlinked temporary file for a child's output. */
static int temp_capture(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    char *tmpl = fs_cat(base, "parley-front-out-XXXXXX");
    if (!tmpl)
        return -1;
    int fd = mkstemp(tmpl);
    if (fd >= 0)
        unlink(tmpl);
    free(tmpl);
    return fd;
}

/* slurp reads what the child wrote to fd, from the start. */
static char *slurp(int fd, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (lseek(fd, 0, SEEK_SET) != 0) {
        free(buf);
        return NULL;
    }
    while (buf) {
        if (cap - n < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t got = read(fd, buf + n, cap - n - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    if (buf)
        buf[n] = '\0';
    *len = n;
    return buf;
}

static int run(const char *cwd, const char *path, const char *const argv[], fs_result *r,
               int no_leak_check);

int fs_run(const char *cwd, const char *path, const char *const argv[], fs_result *r)
{
    return run(cwd, path, argv, r, 0);
}

int fs_run_no_leak_check(const char *cwd, const char *path, const char *const argv[], fs_result *r)
{
    return run(cwd, path, argv, r, 1);
}

static int run(const char *cwd, const char *path, const char *const argv[], fs_result *r,
               int no_leak_check)
{
    memset(r, 0, sizeof *r);
    int out = temp_capture(), err = temp_capture();
    if (out < 0 || err < 0) {
        if (out >= 0)
            close(out);
        if (err >= 0)
            close(err);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(out);
        close(err);
        return -1;
    }
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(126);
        if (cwd && chdir(cwd) != 0) {
            dprintf(2, "cannot change to folder %s: %s\n", cwd, strerror(errno));
            _exit(126);
        }
        if (no_leak_check) {
            const char *old = getenv("ASAN_OPTIONS");
            char opts[1024];
            snprintf(opts, sizeof opts, "%s%sdetect_leaks=0", old ? old : "",
                     old && *old ? ":" : "");
            setenv("ASAN_OPTIONS", opts, 1);
        }
        /* a pending alarm survives exec: the program gets the signal */
        alarm(FS_RUN_TIMEOUT);
        /* exec takes char *const[]; the strings are not written to */
        char **args = (char **)(uintptr_t)argv;
        if (strchr(path, '/'))
            execv(path, args);
        else
            execvp(path, args);
        dprintf(2, "cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? -WTERMSIG(st) : -1;
    r->out = slurp(out, &r->out_len);
    r->err = slurp(err, &r->err_len);
    close(out);
    close(err);
    if (!r->out || !r->err) {
        fs_result_free(r);
        return -1;
    }
    return 0;
}

void fs_result_free(fs_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

const char *fs_describe_status(int status, char *buf, size_t size)
{
    if (status >= 0)
        snprintf(buf, size, "exit status %d", status);
    else if (-status == SIGALRM)
        snprintf(buf, size, "killed after %d s (a hang?)", FS_RUN_TIMEOUT);
    else
        snprintf(buf, size, "killed by signal %d (%s)", -status, strsignal(-status));
    return buf;
}

int fs_update_mode(void)
{
    const char *u = getenv("PARLEY_UPDATE_GOLDEN");
    return u && strcmp(u, "1") == 0;
}

/* ---- diff ---------------------------------------------------------------- */

typedef struct lines {
    const char **p; /* start of each line */
    size_t *len;    /* its length, without the newline */
    size_t n;
} lines;

static int split_lines(const char *s, lines *l)
{
    size_t n = 0;
    for (const char *c = s; *c; c++)
        if (*c == '\n')
            n++;
    n++;
    l->p = malloc(n * sizeof *l->p);
    l->len = malloc(n * sizeof *l->len);
    l->n = 0;
    if (!l->p || !l->len)
        return -1;
    const char *c = s;
    while (*c) {
        const char *nl = strchr(c, '\n');
        size_t k = nl ? (size_t)(nl - c) : strlen(c);
        l->p[l->n] = c;
        l->len[l->n++] = k;
        c += k + (nl != NULL);
    }
    return 0;
}

static int same_line(const lines *a, size_t i, const lines *b, size_t j)
{
    return a->len[i] == b->len[j] && memcmp(a->p[i], b->p[j], a->len[i]) == 0;
}

enum { CONTEXT = 3, MAX_CELLS = 16 * 1024 * 1024 };

/* An edit script entry: ' ' (both), '-' (only a) or '+' (only b), with
 * the line index in a or b. */
typedef struct edit {
    char op;
    size_t i;
} edit;

void fs_print_diff(const char *label_a, const char *a, const char *label_b, const char *b)
{
    lines la = {0}, lb = {0};
    edit *ed = NULL;
    unsigned *tab = NULL;
    if (split_lines(a, &la) != 0 || split_lines(b, &lb) != 0)
        goto out;
    /* common prefix and suffix, then a longest common subsequence of the
     * middle (small in practice) */
    size_t pre = 0;
    while (pre < la.n && pre < lb.n && same_line(&la, pre, &lb, pre))
        pre++;
    size_t suf = 0;
    while (suf < la.n - pre && suf < lb.n - pre &&
           same_line(&la, la.n - 1 - suf, &lb, lb.n - 1 - suf))
        suf++;
    size_t m = la.n - pre - suf, k = lb.n - pre - suf;
    ed = malloc((la.n + lb.n + 1) * sizeof *ed);
    if (!ed)
        goto out;
    size_t ne = 0;
    for (size_t i = 0; i < pre; i++)
        ed[ne++] = (edit){' ', i};
    if ((m + 1) * (k + 1) <= MAX_CELLS)
        tab = calloc((m + 1) * (k + 1), sizeof *tab);
    if (tab) {
        /* tab[i][j]: LCS length of a[pre+i..] and b[pre+j..] */
        for (size_t i = m; i-- > 0;)
            for (size_t j = k; j-- > 0;)
                tab[i * (k + 1) + j] = same_line(&la, pre + i, &lb, pre + j)
                                           ? tab[(i + 1) * (k + 1) + j + 1] + 1
                                           : (tab[(i + 1) * (k + 1) + j] > tab[i * (k + 1) + j + 1]
                                                  ? tab[(i + 1) * (k + 1) + j]
                                                  : tab[i * (k + 1) + j + 1]);
        size_t i = 0, j = 0;
        while (i < m || j < k) {
            if (i < m && j < k && same_line(&la, pre + i, &lb, pre + j)) {
                ed[ne++] = (edit){' ', pre + i};
                i++;
                j++;
            } else if (i < m &&
                       (j == k || tab[(i + 1) * (k + 1) + j] >= tab[i * (k + 1) + j + 1])) {
                ed[ne++] = (edit){'-', pre + i++};
            } else {
                ed[ne++] = (edit){'+', pre + j++};
            }
        }
    } else {
        for (size_t i = 0; i < m; i++)
            ed[ne++] = (edit){'-', pre + i};
        for (size_t j = 0; j < k; j++)
            ed[ne++] = (edit){'+', pre + j};
    }
    for (size_t i = 0; i < suf; i++)
        ed[ne++] = (edit){' ', la.n - suf + i};

    fprintf(stderr, "--- %s\n+++ %s\n", label_a, label_b);
    /* print the changes with CONTEXT lines around them */
    size_t ai = 0, bi = 0; /* line numbers (0-based) in a and b at ed[x] */
    size_t x = 0;
    while (x < ne) {
        size_t y = x;
        while (y < ne && ed[y].op == ' ')
            y++;
        if (y == ne)
            break;
        /* skip to CONTEXT lines before the change at y */
        size_t start = y > CONTEXT && y - CONTEXT > x ? y - CONTEXT : x;
        for (size_t s = x; s < start; s++) {
            ai++;
            bi++;
        }
        /* extend the hunk while changes are within 2*CONTEXT of each other */
        size_t end = y, gap = 0;
        while (end < ne) {
            if (ed[end].op == ' ') {
                if (++gap > 2 * CONTEXT)
                    break;
            } else {
                gap = 0;
            }
            end++;
        }
        size_t trailing = 0;
        while (trailing < end - y && ed[end - 1 - trailing].op == ' ')
            trailing++;
        if (trailing > CONTEXT)
            end -= trailing - CONTEXT;
        size_t na = 0, nb = 0;
        for (size_t s = start; s < end; s++) {
            na += ed[s].op != '+';
            nb += ed[s].op != '-';
        }
        fprintf(stderr, "@@ -%zu,%zu +%zu,%zu @@\n", ai + 1, na, bi + 1, nb);
        for (size_t s = start; s < end; s++) {
            const lines *l = ed[s].op == '+' ? &lb : &la;
            size_t idx = ed[s].op == ' ' ? ai : ed[s].op == '-' ? ai : bi;
            fprintf(stderr, "%c%.*s\n", ed[s].op, (int)l->len[idx], l->p[idx]);
            ai += ed[s].op != '+';
            bi += ed[s].op != '-';
        }
        x = end;
    }
out:
    free(tab);
    free(ed);
    free(la.p);
    free(la.len);
    free(lb.p);
    free(lb.len);
}

int fs_expect_file(const char *expected_path, const char *actual, size_t len, int may_update)
{
    size_t elen = 0;
    char *expected = fs_read_file(expected_path, &elen);
    int same = expected && elen == len && memcmp(expected, actual, len) == 0;
    if (!same && may_update && fs_update_mode()) {
        same = fs_write_file(expected_path, actual, len) == 0;
        fprintf(stderr, "updated %s\n", expected_path);
    } else if (!same) {
        char *act = strndup(actual, len);
        fprintf(stderr, "output differs from %s%s:\n", expected_path,
                expected ? "" : " (which cannot be read)");
        fs_print_diff("expected", expected ? expected : "", "actual", act ? act : "");
        free(act);
    }
    free(expected);
    return same;
}
