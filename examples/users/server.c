/*
 * examples/users/server.c: the user-list service, as rpc.rusersd is: the
 * logins of this host from its utmp file (getutxent), its accounts from the
 * password database (getpwent), a page at a time, a look-up by uid; and a
 * login counter run exactly once, kept in the server's store.
 *
 *   users_server [--utmp FILE] [--page-max N] [--store FILE] [ADDRESS...]
 *
 * --utmp reads another file of utmp records than the system's (the tests
 * write their own); --page-max caps the entries of one reply (default 50, at
 * most USERS_PAGE_MAX); --store is where exactly-once logins are kept. It
 * listens on each ADDRESS (default tcp://127.0.0.1:0), prints where, and
 * registers with the matchmaker (PARLEY_MATCHMAKER, default localhost:111)
 * as "users".
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <utmpx.h>

#include "users.h"
#include "log.h"
#include "serve.h"

enum { PAGE_DEFAULT = 50 };

static const char *utmp_file; /* NULL: the system's (_PATH_UTMPX) */
static unsigned page_max = PAGE_DEFAULT;

/* The C library keeps one position in the utmp file and one in the password
 * database for the whole process (getutxent, getpwent), so the pool's
 * threads take turns: db_lock is held from the rewind (setutxent,
 * setpwent) to the close (endutxent, endpwent) of every walk. (glibc's
 * utmp reader also waits for the file's lock with a SIGALRM of its own,
 * another thing of the whole process that one thread at a time may use.) */
static pthread_mutex_t db_lock = PTHREAD_MUTEX_INITIALIZER;

/* field_dup copies a utmp field, which need not end with a NUL, into the
 * call's arena, cut at max bytes. NULL when the arena is full. */
static char *field_dup(parley_call *call, const char *field, size_t field_size, size_t max)
{
    size_t n = strnlen(field, field_size);
    if (n > max)
        n = max;
    char *s = parley_arena_alloc(parley_call_arena(call), n + 1);
    if (s) {
        memcpy(s, field, n);
        s[n] = '\0';
    }
    return s;
}

/* idle_seconds is how long ago the terminal line (under /dev) was last
 * read from, as who(1) tells it: now less the device's access time. -1 when
 * there is no such device here, or the line would leave /dev. */
static int idle_seconds(const char *line, time_t now)
{
    char path[sizeof "/dev/" + USERS_MAX_LINE];
    struct stat st;
    if (line[0] == '\0' || strstr(line, "..") != NULL)
        return -1;
    snprintf(path, sizeof path, "/dev/%s", line);
    if (stat(path, &st) != 0)
        return -1;
    if (st.st_atime >= now)
        return 0;
    time_t idle = now - st.st_atime;
    return idle > INT_MAX ? INT_MAX : (int)idle;
}

/* page_count is how many entries a request gets: what it asks for, capped
 * by the server's page size; 0 asks for the page size itself. */
static unsigned page_count(const users_page_request *req)
{
    return req->count == 0 || req->count > page_max ? page_max : req->count;
}

/* users_list_1_svc answers USERS_LIST: the USER_PROCESS records of the utmp
 * file from the cursor on, which counts records from the start of the file
 * (of every type): utmp reuses a terminal's slot in place, so a cursor keeps
 * its place while others log in and out. The strings live in the call's
 * arena. A file that cannot be read is a FALSE reply that says why; the
 * system's file missing means nobody is logged in (containers have none). */
int users_list_1_svc(const users_page_request *req, user_login_reply *result, parley_call *call)
{
    unsigned want = page_count(req);
    user_login *out = parley_arena_alloc(parley_call_arena(call), want * sizeof *out);
    if (!out)
        return PARLEY_ERR_NOMEM;
    user_login_page *page = &result->user_login_reply_u.page;
    memset(result, 0, sizeof *result);
    time_t now = time(NULL);
    unsigned n = 0, index = 0;
    int rc = PARLEY_OK, err = 0;
    pthread_mutex_lock(&db_lock);
    if (utmp_file && utmpxname(utmp_file) != 0)
        err = errno ? errno : ENOMEM;
    setutxent();
    errno = 0;
    struct utmpx *u = err ? NULL : getutxent();
    if (!u && errno != 0 && !(errno == ENOENT && !utmp_file))
        err = errno;
    for (; u && rc == PARLEY_OK; u = getutxent(), index++) {
        if (index < req->cursor || u->ut_type != USER_PROCESS)
            continue;
        if (n == want) {
            page->more = TRUE; /* another login after a full page */
            break;
        }
        user_login *e = &out[n];
        e->name = field_dup(call, u->ut_user, sizeof u->ut_user, USERS_MAX_NAME);
        e->line = field_dup(call, u->ut_line, sizeof u->ut_line, USERS_MAX_LINE);
        e->host = field_dup(call, u->ut_host, sizeof u->ut_host, USERS_MAX_HOST);
        e->login_time = (quad_t)u->ut_tv.tv_sec;
        if (!e->name || !e->line || !e->host)
            rc = PARLEY_ERR_NOMEM;
        else
            e->idle = idle_seconds(e->line, now);
        n++;
        page->next = index + 1;
    }
    endutxent();
    pthread_mutex_unlock(&db_lock);
    if (rc != PARLEY_OK)
        return rc;
    if (err) {
        char *why = parley_arena_alloc(parley_call_arena(call), USERS_MAX_WHY + 1);
        if (!why)
            return PARLEY_ERR_NOMEM;
        snprintf(why, USERS_MAX_WHY + 1, "cannot read %s: %s", utmp_file ? utmp_file : _PATH_UTMPX,
                 strerror(err));
        result->ok = FALSE;
        result->user_login_reply_u.why = why;
        return PARLEY_OK;
    }
    if (n == 0)
        page->next = req->cursor; /* nothing more: the same place */
    result->ok = TRUE;
    page->entries.entries_len = n;
    page->entries.entries_val = out;
    return PARLEY_OK;
}

/* account_fill copies a password entry into *a, its strings in the call's
 * arena, cut at the IDL's bounds. PARLEY_ERR_NOMEM when the arena is full. */
static int account_fill(parley_call *call, const struct passwd *pw, user_account *a)
{
    a->name = field_dup(call, pw->pw_name, USERS_MAX_NAME + 1, USERS_MAX_NAME);
    a->home = field_dup(call, pw->pw_dir, USERS_MAX_PATH + 1, USERS_MAX_PATH);
    a->shell = field_dup(call, pw->pw_shell, USERS_MAX_PATH + 1, USERS_MAX_PATH);
    a->uid = (u_int)pw->pw_uid;
    a->gid = (u_int)pw->pw_gid;
    return a->name && a->home && a->shell ? PARLEY_OK : PARLEY_ERR_NOMEM;
}

/* users_accounts_1_svc answers USERS_ACCOUNTS: the accounts of the password
 * database (getpwent: /etc/passwd, or whatever NSS is set up to give) from
 * the cursor on, which counts accounts from the first. A database that
 * cannot be read is a FALSE reply that says why. */
int users_accounts_1_svc(const users_page_request *req, user_account_reply *result,
                         parley_call *call)
{
    unsigned want = page_count(req);
    user_account *out = parley_arena_alloc(parley_call_arena(call), want * sizeof *out);
    if (!out)
        return PARLEY_ERR_NOMEM;
    user_account_page *page = &result->user_account_reply_u.page;
    memset(result, 0, sizeof *result);
    unsigned n = 0, index = 0;
    int rc = PARLEY_OK, err = 0;
    pthread_mutex_lock(&db_lock);
    setpwent();
    errno = 0;
    struct passwd *pw = getpwent();
    if (!pw && errno != 0 && errno != ENOENT)
        err = errno;
    for (; pw && rc == PARLEY_OK; pw = getpwent(), index++) {
        if (index < req->cursor)
            continue;
        if (n == want) {
            page->more = TRUE;
            break;
        }
        rc = account_fill(call, pw, &out[n++]);
        page->next = index + 1;
    }
    endpwent();
    pthread_mutex_unlock(&db_lock);
    if (rc != PARLEY_OK)
        return rc;
    if (err) {
        char *why = parley_arena_alloc(parley_call_arena(call), USERS_MAX_WHY + 1);
        if (!why)
            return PARLEY_ERR_NOMEM;
        snprintf(why, USERS_MAX_WHY + 1, "cannot read the password database: %s", strerror(err));
        result->ok = FALSE;
        result->user_account_reply_u.why = why;
        return PARLEY_OK;
    }
    if (n == 0)
        page->next = req->cursor;
    result->ok = TRUE;
    page->entries.entries_len = n;
    page->entries.entries_val = out;
    return PARLEY_OK;
}

/* users_lookup_1_svc answers USERS_LOOKUP: the account of one uid
 * (getpwuid_r, which keeps no state between calls: no lock). */
int users_lookup_1_svc(const u_int *uid, lookup_result *result, parley_call *call)
{
    char buf[4096];
    struct passwd pw, *found = NULL;
    result->found = FALSE;
    if (getpwuid_r((uid_t)*uid, &pw, buf, sizeof buf, &found) != 0 || found == NULL)
        return PARLEY_OK; /* no such account, or none that fits: not found */
    int rc = account_fill(call, &pw, &result->lookup_result_u.who);
    if (rc == PARLEY_OK)
        result->found = TRUE;
    return rc;
}

/* users_login_1_svc answers USERS_LOGIN: the user's login count, kept in
 * the server's store under the user's name, one more. The put commits
 * with the call's completion record, so a retry after the server crashed
 * gets the count this call made, and never counts twice. */
int users_login_1_svc(const user_name *name, u_int *result, parley_call *call)
{
    const void *v = NULL;
    size_t vl = 0;
    u_int count = 0;
    size_t klen = strlen(*name);
    int rc = parley_call_store_get(call, *name, klen, &v, &vl);
    if (rc != PARLEY_OK)
        return rc;
    if (v && vl == sizeof count)
        memcpy(&count, v, sizeof count);
    count++;
    rc = parley_call_store_put(call, *name, klen, &count, sizeof count);
    if (rc != PARLEY_OK)
        return rc;
    *result = count;
    return PARLEY_OK;
}

/* main takes the service's own options out of argv and gives the rest
 * (--store first, then the addresses) to example_serve. A --utmp file must
 * be readable now: a mistyped name is said at once, not at the first call. */
int main(int argc, char **argv)
{
    if (example_log("users_server", &argc, argv) != 0)
        return 2;
    char **rest = calloc((size_t)argc + 3, sizeof *rest);
    if (!rest)
        return 1;
    static char store_opt[] = "--store";
    char *store = NULL;
    int nrest = 0, status = 2;
    rest[nrest++] = argv[0];
    rest[nrest++] = NULL; /* room for --store FILE */
    rest[nrest++] = NULL;
    for (int i = 1; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--utmp") == 0 && value) {
            utmp_file = argv[++i];
        } else if (strcmp(argv[i], "--store") == 0 && value) {
            store = argv[++i];
        } else if (strcmp(argv[i], "--page-max") == 0 && value) {
            char *end;
            errno = 0;
            unsigned long n = strtoul(argv[++i], &end, 10);
            if (errno || *end || n == 0 || n > USERS_PAGE_MAX) {
                fprintf(stderr, "users_server: --page-max %s: not a number from 1 to %d\n", argv[i],
                        USERS_PAGE_MAX);
                goto out;
            }
            page_max = (unsigned)n;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "users_server: %s: %s\n", argv[i],
                    value ? "unknown option" : "unknown option, or its value missing");
            fprintf(stderr, "usage: users_server [-v] [--utmp FILE] [--page-max N] [--store FILE] "
                            "[ADDRESS...]\n");
            goto out;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    status = 1;
    if (utmp_file) {
        FILE *f = fopen(utmp_file, "r");
        if (!f) {
            fprintf(stderr, "users_server: --utmp %s: %s\n", utmp_file, strerror(errno));
            goto out;
        }
        fclose(f);
    }
    char **args = rest;
    if (store) {
        rest[1] = store_opt;
        rest[2] = store;
    } else { /* no --store: the program's name moves up over the room */
        rest[2] = rest[0];
        args = rest + 2;
        nrest -= 2;
    }
    printf("users_server: logins from %s, at most %u entries a page\n",
           utmp_file ? utmp_file : _PATH_UTMPX, page_max);
    status = example_serve("users_server", &users_prog_1, USERS_PROG_SERVICE, nrest, args);
out:
    free(rest);
    return status;
}
