/*
 * examples/users/client.c: asks a users server who is logged in on its host
 * and which accounts it has, a page at a time, and prints them as tables;
 * looks up a uid; counts a login exactly once.
 *
 *   users_client ADDRESS [--page N] [COMMAND...]
 *
 * Commands, run in order (default: who):
 *   who          the logins of the server's host: NAME LINE FROM LOGIN IDLE
 *   accounts     its accounts: NAME UID GID HOME SHELL
 *   uid N        the account of uid N
 *   login NAME   a login of NAME, counted exactly once by the server
 * --page N asks for pages of N entries (default: the server's page size).
 * Login times are printed in this host's time zone (TZ).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "users.h"
#include "log.h"

/* The most pages one listing asks for: a server whose cursor never ends
 * does not keep the client asking forever. */
enum { MAX_PAGES = 100000, MAX_COLS = 5 };

/* A table of text cells, printed with each column as wide as its widest
 * cell; the cells are owned by the table. */
typedef struct table {
    int ncols;
    unsigned right; /* bit i: column i is aligned right (numbers) */
    size_t nrows, cap;
    char **cells; /* nrows * ncols */
} table;

/* table_add appends a row of ncols cells, each formatted by printf from
 * fmt, the cells separated by '\t' in fmt's output. -1 when out of memory. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int
table_add(table *t, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **cells = realloc(t->cells, cap * (size_t)t->ncols * sizeof *cells);
        if (!cells)
            return -1;
        t->cells = cells;
        t->cap = cap;
    }
    char *p = line;
    for (int i = 0; i < t->ncols; i++) {
        size_t n = strcspn(p, "\t");
        char *cell = malloc(n + 1);
        if (!cell) {
            while (i-- > 0)
                free(t->cells[t->nrows * (size_t)t->ncols + (size_t)i]);
            return -1;
        }
        memcpy(cell, p, n);
        cell[n] = '\0';
        t->cells[t->nrows * (size_t)t->ncols + (size_t)i] = cell;
        p += n + (p[n] == '\t');
    }
    t->nrows++;
    return 0;
}

/* table_print prints the table (its first row the header), two spaces
 * between columns, no spaces at the ends of lines. */
static void table_print(table *t)
{
    size_t width[MAX_COLS] = {0};
    for (size_t r = 0; r < t->nrows; r++)
        for (int i = 0; i < t->ncols; i++) {
            size_t n = strlen(t->cells[r * (size_t)t->ncols + (size_t)i]);
            width[i] = n > width[i] ? n : width[i];
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (int i = 0; i < t->ncols; i++) {
            const char *cell = t->cells[r * (size_t)t->ncols + (size_t)i];
            int w = (int)width[i];
            if (t->right & (1u << i))
                printf("%s%*s", i ? "  " : "", w, cell);
            else if (i == t->ncols - 1)
                printf("%s%s", i ? "  " : "", cell);
            else
                printf("%s%-*s", i ? "  " : "", w, cell);
        }
        putchar('\n');
    }
}

/* table_free frees the table's cells. */
static void table_free(table *t)
{
    for (size_t k = 0; k < t->nrows * (size_t)t->ncols; k++)
        free(t->cells[k]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

/* idle_text is an idle time as who(1) shows it: "." under a minute,
 * H:MM under a day, then days ("3d"); "-" when unknown. */
static void idle_text(int idle, char *out, size_t size)
{
    if (idle < 0)
        snprintf(out, size, "-");
    else if (idle < 60)
        snprintf(out, size, ".");
    else if (idle < 86400)
        snprintf(out, size, "%d:%02d", idle / 3600, idle / 60 % 60);
    else
        snprintf(out, size, "%dd", idle / 86400);
}

/* list_who prints the logins of the server's host, asking a page of
 * page_size entries at a time. */
static int list_who(parley_client *c, unsigned page_size)
{
    table t = {.ncols = 5};
    if (table_add(&t, "NAME\tLINE\tFROM\tLOGIN\tIDLE") != 0)
        return PARLEY_ERR_NOMEM;
    users_page_request req = {0, page_size};
    unsigned pages = 0, total = 0;
    int rc = PARLEY_OK;
    for (;;) {
        user_login_reply reply;
        rc = users_list_1(c, &req, &reply);
        if (rc != PARLEY_OK)
            break;
        if (!reply.ok) {
            fflush(stdout);
            fprintf(stderr, "users_client: the server cannot list its logins: %s\n",
                    reply.user_login_reply_u.why);
            user_login_reply_free(&reply);
            table_free(&t);
            return -1;
        }
        const user_login_page *page = &reply.user_login_reply_u.page;
        pages++;
        for (u_int i = 0; i < page->entries.entries_len && rc == PARLEY_OK; i++) {
            const user_login *e = &page->entries.entries_val[i];
            char when[32] = "?", idle[16];
            time_t lt = (time_t)e->login_time;
            struct tm tm;
            if (localtime_r(&lt, &tm))
                strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
            idle_text(e->idle, idle, sizeof idle);
            if (table_add(&t, "%s\t%s\t%s\t%s\t%s", e->name, e->line[0] ? e->line : "-",
                          e->host[0] ? e->host : "-", when, idle) != 0)
                rc = PARLEY_ERR_NOMEM;
            total++;
        }
        int more = page->more, stuck = page->next <= req.cursor;
        req.cursor = page->next;
        user_login_reply_free(&reply);
        if (rc != PARLEY_OK || !more)
            break;
        if (stuck || pages == MAX_PAGES) {
            fprintf(stderr, "users_client: the server's pages do not end (cursor %u)\n",
                    req.cursor);
            table_free(&t);
            return -1;
        }
    }
    if (rc == PARLEY_OK) {
        printf("users: %u logged in (%u page%s)\n", total, pages, pages == 1 ? "" : "s");
        if (total > 0)
            table_print(&t);
    }
    table_free(&t);
    return rc;
}

/* list_accounts prints the accounts of the server's host, a page of
 * page_size entries at a time. */
static int list_accounts(parley_client *c, unsigned page_size)
{
    table t = {.ncols = 5, .right = 1u << 1 | 1u << 2};
    if (table_add(&t, "NAME\tUID\tGID\tHOME\tSHELL") != 0)
        return PARLEY_ERR_NOMEM;
    users_page_request req = {0, page_size};
    unsigned pages = 0, total = 0;
    int rc = PARLEY_OK;
    for (;;) {
        user_account_reply reply;
        rc = users_accounts_1(c, &req, &reply);
        if (rc != PARLEY_OK)
            break;
        if (!reply.ok) {
            fflush(stdout);
            fprintf(stderr, "users_client: the server cannot list its accounts: %s\n",
                    reply.user_account_reply_u.why);
            user_account_reply_free(&reply);
            table_free(&t);
            return -1;
        }
        const user_account_page *page = &reply.user_account_reply_u.page;
        pages++;
        for (u_int i = 0; i < page->entries.entries_len && rc == PARLEY_OK; i++) {
            const user_account *a = &page->entries.entries_val[i];
            if (table_add(&t, "%s\t%u\t%u\t%s\t%s", a->name, a->uid, a->gid,
                          a->home[0] ? a->home : "-", a->shell[0] ? a->shell : "-") != 0)
                rc = PARLEY_ERR_NOMEM;
            total++;
        }
        int more = page->more, stuck = page->next <= req.cursor;
        req.cursor = page->next;
        user_account_reply_free(&reply);
        if (rc != PARLEY_OK || !more)
            break;
        if (stuck || pages == MAX_PAGES) {
            fprintf(stderr, "users_client: the server's pages do not end (cursor %u)\n",
                    req.cursor);
            table_free(&t);
            return -1;
        }
    }
    if (rc == PARLEY_OK) {
        printf("users: %u accounts (%u page%s)\n", total, pages, pages == 1 ? "" : "s");
        table_print(&t);
    }
    table_free(&t);
    return rc;
}

/* lookup_uid prints the account of one uid, or that there is none. */
static int lookup_uid(parley_client *c, u_int uid)
{
    lookup_result found;
    int rc = users_lookup_1(c, &uid, &found);
    if (rc != PARLEY_OK)
        return rc;
    if (found.found) {
        const user_account *a = &found.lookup_result_u.who;
        printf("users: uid %u is %s (gid %u, home %s, shell %s)\n", uid, a->name, a->gid, a->home,
               a->shell);
    } else {
        printf("users: uid %u has no account\n", uid);
    }
    lookup_result_free(&found);
    return PARLEY_OK;
}

/* count_login counts a login of name: an exactly-once call, which needs a
 * server with a store. */
static int count_login(parley_client *c, char *name)
{
    user_name who = name;
    u_int logins = 0;
    int rc = users_login_1(c, &who, &logins);
    if (rc == PARLEY_OK)
        printf("users: %s logged in, login number %u (counted exactly once)\n", name, logins);
    return rc;
}

/* number parses a whole decimal unsigned int; -1 when text is not one. */
static int number(const char *text, u_int *out)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(text, &end, 10);
    if (errno || end == text || *end || text[0] == '-' || n > 0xffffffffUL)
        return -1;
    *out = (u_int)n;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: users_client [-v] ADDRESS [--page N] [who | accounts | uid N | "
                    "login NAME]...\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (example_log("users_client", &argc, argv) != 0)
        return 2;
    if (argc < 2 || argv[1][0] == '-')
        return usage();
    const char *address = argv[1];
    u_int page_size = 0;
    int first = 2;
    if (argc > 3 && strcmp(argv[2], "--page") == 0) {
        if (number(argv[3], &page_size) != 0 || page_size == 0) {
            fprintf(stderr, "users_client: --page %s: not a number above 0\n", argv[3]);
            return 2;
        }
        first = 4;
    }
    /* the commands are checked before any call, so a typo costs nothing */
    for (int i = first; i < argc; i++) {
        u_int uid;
        if (strcmp(argv[i], "who") == 0 || strcmp(argv[i], "accounts") == 0)
            continue;
        if (strcmp(argv[i], "uid") == 0 && i + 1 < argc && number(argv[i + 1], &uid) == 0) {
            i++;
            continue;
        }
        if (strcmp(argv[i], "login") == 0 && i + 1 < argc) {
            i++;
            continue;
        }
        fprintf(stderr, "users_client: %s: not a command, or its argument missing\n", argv[i]);
        return usage();
    }
    parley_client *c = NULL;
    int rc = parley_client_create(&c, address, USERS_PROG, USERS_VERS, NULL);
    static char who_cmd[] = "who";
    char *fallback[] = {who_cmd};
    char **cmds = argc > first ? argv + first : fallback;
    int ncmds = argc > first ? argc - first : 1;
    for (int i = 0; i < ncmds && rc == PARLEY_OK; i++) {
        u_int uid = 0;
        if (strcmp(cmds[i], "who") == 0)
            rc = list_who(c, page_size);
        else if (strcmp(cmds[i], "accounts") == 0)
            rc = list_accounts(c, page_size);
        else if (strcmp(cmds[i], "uid") == 0 && number(cmds[++i], &uid) == 0)
            rc = lookup_uid(c, uid);
        else if (strcmp(cmds[i], "login") == 0)
            rc = count_login(c, cmds[++i]);
    }
    if (rc > 0) {
        /* the failed call's details, e.g. the versions a server serves
         * when it does not serve ours (none when creating failed) */
        parley_rpc_detail why;
        parley_client_last_detail(&why);
        if (why.err != rc)
            why = (parley_rpc_detail){rc, 0, 0, 0};
        char text[160];
        fflush(stdout);
        fprintf(stderr, "users_client: %s: %s\n", address,
                parley_rpc_detail_format(&why, text, sizeof text));
    }
    parley_client_destroy(c);
    return rc == PARLEY_OK ? 0 : 1;
}
