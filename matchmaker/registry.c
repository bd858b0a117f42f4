/*
 * registry.c: the matchmaker's table of registrations (see registry.h).
 *
 * The table is an array in registration order, which is the order DUMP and
 * LIST report: at most MM_LIST_MAX entries of a few hundred bytes, scanned
 * linearly under one mutex. A look-up of 8192 entries is a few microseconds,
 * less than the system calls of the RPC that asked for it, and the array
 * keeps the order and the copies simple. Entries hold their strings in
 * fixed arrays, so that adding one is one allocation at most (the array's
 * growth), made before anything is changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lines.h"
#include "registry.h"
#include "parley/uaddr.h"

_Static_assert(MM_UADDR_MAX >= PARLEY_UADDR_LOCAL_MAX && MM_UADDR_MAX >= PARLEY_UADDR_INET6_MAX,
               "an entry holds every universal address");
_Static_assert(MM_NETID_MAX >= sizeof "local" - 1, "an entry holds every netid");
_Static_assert(MM_OWNER_MAX >= MM_OWNER_TEXT_MAX, "the protocol carries every owner text");
_Static_assert(sizeof(uid_t) == 4 && (uid_t)-1 > 0, "uids are 32-bit unsigned");

struct mm_registry {
    pthread_mutex_t lock;
    mm_reg_entry *v; /* the entries, in registration order */
    size_t n;        /* how many */
    size_t cap;      /* room in v */
    size_t max;      /* the most there may be */
    uint64_t next_id;
};

/* ---- names and owners ---------------------------------------------------- */

static int is_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* mm_name_valid: see registry.h. */
int mm_name_valid(const char *name)
{
    if (!name || !is_alnum(name[0]))
        return 0;
    size_t i = 0;
    for (; name[i] && i <= MM_NAME_MAX; i++)
        if (!is_alnum(name[i]) && name[i] != '.' && name[i] != '_' && name[i] != '-')
            return 0;
    return i <= MM_NAME_MAX;
}

/* mm_owner_format: see registry.h. */
void mm_owner_format(uid_t uid, char *buf)
{
    if (uid == 0)
        memcpy(buf, "superuser", sizeof "superuser");
    else if (uid == MM_UID_UNKNOWN)
        memcpy(buf, "unknown", sizeof "unknown");
    else
        snprintf(buf, MM_OWNER_TEXT_MAX + 1, "%u", (unsigned)uid);
}

/* mm_registry_may_modify: see registry.h. */
int mm_registry_may_modify(uid_t caller, uid_t owner)
{
    return caller == 0 || caller == owner || owner == MM_UID_UNKNOWN;
}

/* ---- the table ----------------------------------------------------------- */

/* mm_registry_create: see registry.h. */
int mm_registry_create(mm_registry **out, size_t max_entries)
{
    if (!out)
        return EINVAL;
    if (max_entries == 0)
        max_entries = MM_REG_DEFAULT_MAX;
    if (max_entries > MM_LIST_MAX)
        return EINVAL;
    mm_registry *r = calloc(1, sizeof *r);
    if (!r)
        return ENOMEM;
    int rc = pthread_mutex_init(&r->lock, NULL);
    if (rc != 0) {
        free(r);
        return rc;
    }
    r->max = max_entries;
    r->next_id = 1;
    *out = r;
    return 0;
}

/* mm_registry_destroy: see registry.h. */
void mm_registry_destroy(mm_registry *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r->v);
    free(r);
}

/* mm_registry_count: see registry.h. */
size_t mm_registry_count(mm_registry *r)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->n;
    pthread_mutex_unlock(&r->lock);
    return n;
}

/* terminated is nonzero when the size bytes at s hold a NUL. */
static int terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

/* any_netid is nonzero when netid asks for every transport. */
static int any_netid(const char *netid)
{
    return netid == NULL || netid[0] == '\0';
}

/* normalize checks e and writes into *out the entry to store: the uaddr in
 * canonical form, the time and pid made sane. Returns MM_OK or MM_INVALID. */
static mm_status normalize(const mm_reg_entry *e, mm_reg_entry *out)
{
    if (!terminated(e->name, sizeof e->name) || !terminated(e->netid, sizeof e->netid) ||
        !terminated(e->uaddr, sizeof e->uaddr))
        return MM_INVALID;
    if (e->name[0] != '\0' && (!mm_name_valid(e->name) || e->vers == 0))
        return MM_INVALID;
    const parley_netid *nid = parley_netid_find(e->netid);
    if (!nid)
        return MM_INVALID;
    struct sockaddr_storage ss;
    socklen_t len;
    if (parley_uaddr_parse(e->uaddr, nid->family, &ss, &len) != 0)
        return MM_INVALID;
    *out = *e;
    memset(out->uaddr, 0, sizeof out->uaddr);
    if (parley_uaddr_format((const struct sockaddr *)&ss, len, out->uaddr, sizeof out->uaddr,
                            NULL) != 0)
        return MM_INVALID;
    if (out->registered <= 0)
        out->registered = (int64_t)time(NULL);
    if (out->pid < 0)
        out->pid = 0;
    out->id = 0;
    return MM_OK;
}

/* find_prog returns the index of the entry of (prog, vers, netid), or -1. */
static ptrdiff_t find_prog(const mm_registry *r, uint32_t prog, uint32_t vers, const char *netid)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].prog == prog && r->v[i].vers == vers && strcmp(r->v[i].netid, netid) == 0)
            return (ptrdiff_t)i;
    return -1;
}

/* find_name returns the index of the entry of (name, vers, netid), or -1. */
static ptrdiff_t find_name(const mm_registry *r, const char *name, uint32_t vers, const char *netid)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].vers == vers && strcmp(r->v[i].name, name) == 0 &&
            strcmp(r->v[i].netid, netid) == 0)
            return (ptrdiff_t)i;
    return -1;
}

static void remove_at(mm_registry *r, size_t i)
{
    memmove(&r->v[i], &r->v[i + 1], (r->n - i - 1) * sizeof r->v[0]);
    r->n--;
}

/* reserve makes room for one more entry in the array, within the maximum.
 * Returns 0 or -1 (full, or no memory), changing nothing then. */
static int reserve(mm_registry *r, size_t needed)
{
    if (needed > r->max)
        return -1;
    if (needed <= r->cap)
        return 0;
    size_t cap = r->cap ? r->cap * 2 : 16;
    if (cap > r->max)
        cap = r->max;
    mm_reg_entry *v = realloc(r->v, cap * sizeof *v);
    if (!v)
        return -1;
    r->v = v;
    r->cap = cap;
    return 0;
}

/* same_registration is nonzero when a and b register the same thing. */
static int same_registration(const mm_reg_entry *a, const mm_reg_entry *b)
{
    return a->prog == b->prog && a->vers == b->vers && strcmp(a->name, b->name) == 0 &&
           strcmp(a->netid, b->netid) == 0 && strcmp(a->uaddr, b->uaddr) == 0;
}

/* set_locked is mm_registry_set on a normalized entry, with the lock held.
 * *added is set to 1 when an entry was stored, 0 when the registration was
 * there already. */
static mm_status set_locked(mm_registry *r, const mm_reg_entry *e, unsigned flags, int *added)
{
    *added = 0;
    ptrdiff_t a = find_prog(r, e->prog, e->vers, e->netid);
    ptrdiff_t b = e->name[0] ? find_name(r, e->name, e->vers, e->netid) : -1;
    size_t held = 0; /* entries under the two keys, which a replace removes */
    if (a >= 0 || b >= 0) {
        if (!(flags & MM_REG_REPLACE)) {
            ptrdiff_t x = a >= 0 ? a : b;
            if ((a >= 0 && b >= 0 && a != b) || !same_registration(&r->v[x], e))
                return MM_EXISTS;
            return MM_OK;
        }
        if ((a >= 0 && !mm_registry_may_modify(e->owner, r->v[a].owner)) ||
            (b >= 0 && !mm_registry_may_modify(e->owner, r->v[b].owner)))
            return MM_EXISTS;
        held = (a >= 0) + (b >= 0 && b != a);
    }
    if (reserve(r, r->n - held + 1) != 0)
        return MM_FULL;
    /* remove the higher index first, so that the lower one stays valid */
    if (a >= 0 && b >= 0 && b != a) {
        remove_at(r, (size_t)(a > b ? a : b));
        remove_at(r, (size_t)(a > b ? b : a));
    } else if (a >= 0 || b >= 0) {
        remove_at(r, (size_t)(a >= 0 ? a : b));
    }
    r->v[r->n] = *e;
    r->v[r->n].id = r->next_id++;
    r->n++;
    *added = 1;
    return MM_OK;
}

/* mm_registry_set: see registry.h. */
mm_status mm_registry_set(mm_registry *r, const mm_reg_entry *e, unsigned flags)
{
    mm_reg_entry norm;
    mm_status st = normalize(e, &norm);
    if (st != MM_OK)
        return st;
    int added;
    pthread_mutex_lock(&r->lock);
    st = set_locked(r, &norm, flags, &added);
    pthread_mutex_unlock(&r->lock);
    return st;
}

/* remove_matching removes, with the lock held, the entries for which match
 * returns nonzero, provided that caller may remove every one of them. */
static mm_status remove_matching(mm_registry *r, int (*match)(const mm_reg_entry *, const void *),
                                 const void *key, uid_t caller, size_t *removed)
{
    size_t found = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (!match(&r->v[i], key))
            continue;
        if (!mm_registry_may_modify(caller, r->v[i].owner))
            return MM_NOT_OWNER;
        found++;
    }
    if (found == 0)
        return MM_NOENT;
    size_t j = 0;
    for (size_t i = 0; i < r->n; i++)
        if (!match(&r->v[i], key))
            r->v[j++] = r->v[i];
    r->n = j;
    if (removed)
        *removed = found;
    return MM_OK;
}

/* The keys of the two unsets. */
struct prog_key {
    uint32_t prog, vers;
    const char *netid;
};
struct name_key {
    const char *name;
    uint32_t vers;
    const char *netid;
};

static int match_prog(const mm_reg_entry *e, const void *key)
{
    const struct prog_key *k = key;
    return e->prog == k->prog && e->vers == k->vers &&
           (any_netid(k->netid) || strcmp(e->netid, k->netid) == 0);
}

static int match_name(const mm_reg_entry *e, const void *key)
{
    const struct name_key *k = key;
    return strcmp(e->name, k->name) == 0 && (k->vers == 0 || e->vers == k->vers) &&
           (any_netid(k->netid) || strcmp(e->netid, k->netid) == 0);
}

/* mm_registry_unset: see registry.h. */
mm_status mm_registry_unset(mm_registry *r, uint32_t prog, uint32_t vers, const char *netid,
                            uid_t caller, size_t *removed)
{
    struct prog_key k = {prog, vers, netid};
    pthread_mutex_lock(&r->lock);
    mm_status st = remove_matching(r, match_prog, &k, caller, removed);
    pthread_mutex_unlock(&r->lock);
    return st;
}

/* mm_registry_unset_name: see registry.h. */
mm_status mm_registry_unset_name(mm_registry *r, const char *name, uint32_t vers, const char *netid,
                                 uid_t caller, size_t *removed)
{
    if (!mm_name_valid(name) || (!any_netid(netid) && !parley_netid_find(netid)))
        return MM_INVALID;
    struct name_key k = {name, vers, netid};
    pthread_mutex_lock(&r->lock);
    mm_status st = remove_matching(r, match_name, &k, caller, removed);
    pthread_mutex_unlock(&r->lock);
    return st;
}

/* mm_registry_get: see registry.h. */
mm_status mm_registry_get(mm_registry *r, uint32_t prog, uint32_t vers, const char *netid,
                          mm_reg_entry *out)
{
    if (!netid)
        return MM_NOENT;
    pthread_mutex_lock(&r->lock);
    ptrdiff_t i = find_prog(r, prog, vers, netid);
    if (i >= 0)
        *out = r->v[i];
    pthread_mutex_unlock(&r->lock);
    return i >= 0 ? MM_OK : MM_NOENT;
}

static int filter_match(const mm_reg_filter *f, const mm_reg_entry *e)
{
    if (!f)
        return 1;
    if ((f->match & MM_MATCH_PROG) && e->prog != f->prog)
        return 0;
    if ((f->match & MM_MATCH_VERS) && e->vers != f->vers)
        return 0;
    if (f->name && strcmp(e->name, f->name) != 0)
        return 0;
    return any_netid(f->netid) || strcmp(e->netid, f->netid) == 0;
}

/* find_locked is mm_registry_find with the lock held. */
static mm_status find_locked(mm_registry *r, const mm_reg_filter *f, mm_reg_entry *out, size_t cap,
                             size_t *n)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (!filter_match(f, &r->v[i]))
            continue;
        if (k < cap)
            out[k] = r->v[i];
        k++;
    }
    if (n)
        *n = k;
    return k ? MM_OK : MM_NOENT;
}

/* mm_registry_find: see registry.h. */
mm_status mm_registry_find(mm_registry *r, const mm_reg_filter *f, mm_reg_entry *out, size_t cap,
                           size_t *n)
{
    if (!out)
        cap = 0;
    pthread_mutex_lock(&r->lock);
    mm_status st = find_locked(r, f, out, cap, n);
    pthread_mutex_unlock(&r->lock);
    return st;
}

/* mm_registry_lookup: see registry.h. */
mm_status mm_registry_lookup(mm_registry *r, const char *name, uint32_t vers, const char *netid,
                             mm_reg_entry *out, size_t cap, size_t *n)
{
    if (!mm_name_valid(name) || (!any_netid(netid) && !parley_netid_find(netid)))
        return MM_INVALID;
    if (!out)
        cap = 0;
    mm_reg_filter f = {name, netid, 0, vers, MM_MATCH_VERS};
    pthread_mutex_lock(&r->lock);
    if (vers == 0) {
        /* the highest version of name among the transports asked for */
        int seen = 0;
        for (size_t i = 0; i < r->n; i++) {
            const mm_reg_entry *e = &r->v[i];
            if (strcmp(e->name, name) == 0 && (any_netid(netid) || strcmp(e->netid, netid) == 0) &&
                (!seen || e->vers > f.vers)) {
                f.vers = e->vers;
                seen = 1;
            }
        }
        if (!seen) {
            pthread_mutex_unlock(&r->lock);
            return MM_NOENT;
        }
    }
    mm_status st = find_locked(r, &f, out, cap, n);
    pthread_mutex_unlock(&r->lock);
    return st;
}

/* mm_registry_versions: see registry.h. */
mm_status mm_registry_versions(mm_registry *r, uint32_t prog, const char *netid, uint32_t *low,
                               uint32_t *high)
{
    uint32_t lo = UINT32_MAX, hi = 0;
    int seen = 0;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n; i++) {
        const mm_reg_entry *e = &r->v[i];
        if (e->prog != prog || (!any_netid(netid) && strcmp(e->netid, netid) != 0))
            continue;
        seen = 1;
        if (e->vers < lo)
            lo = e->vers;
        if (e->vers > hi)
            hi = e->vers;
    }
    pthread_mutex_unlock(&r->lock);
    if (!seen)
        return MM_NOENT;
    *low = lo;
    *high = hi;
    return MM_OK;
}

/* mm_registry_snapshot: see registry.h. */
int mm_registry_snapshot(mm_registry *r, mm_reg_entry **out, size_t *n)
{
    pthread_mutex_lock(&r->lock);
    mm_reg_entry *v = NULL;
    size_t k = r->n;
    if (k) {
        v = malloc(k * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&r->lock);
            return ENOMEM;
        }
        memcpy(v, r->v, k * sizeof *v);
    }
    pthread_mutex_unlock(&r->lock);
    *out = v;
    *n = k;
    return 0;
}

/* mm_registry_remove_if: see registry.h. */
size_t mm_registry_remove_if(mm_registry *r, int (*pred)(const mm_reg_entry *e, void *ctx),
                             void *ctx)
{
    pthread_mutex_lock(&r->lock);
    size_t j = 0;
    for (size_t i = 0; i < r->n; i++)
        if (!pred(&r->v[i], ctx))
            r->v[j++] = r->v[i];
    size_t removed = r->n - j;
    r->n = j;
    pthread_mutex_unlock(&r->lock);
    return removed;
}

/* ---- warm start: writing ------------------------------------------------- */

/* put_escaped writes s with the bytes outside '!'..'~', and '%', as %XX. */
static void put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < '!' || ch > '~' || ch == '%')
            fprintf(f, "%%%02X", ch);
        else
            fputc(ch, f);
    }
}

static void put_entry(FILE *f, const mm_reg_entry *e)
{
    fprintf(f, "%s %" PRIu32 " %" PRIu32 " %s ", e->name[0] ? e->name : "-", e->prog, e->vers,
            e->netid);
    put_escaped(f, e->uaddr);
    if (e->owner == MM_UID_UNKNOWN)
        fputs(" -", f);
    else
        fprintf(f, " %u", (unsigned)e->owner);
    fprintf(f, " %ld %" PRId64 "\n", (long)e->pid, e->registered);
}

/* sync_dir flushes the directory holding path, so that a rename in it
 * survives a crash. Returns 0 or the errno. */
static int sync_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        memcpy(dir, ".", 2);
    } else if (slash == path) {
        memcpy(dir, "/", 2);
    } else {
        size_t n = (size_t)(slash - path);
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int rc = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return rc;
}

/* mm_registry_save: see registry.h. */
int mm_registry_save(mm_registry *r, const char *path)
{
    if (!r || !path || !path[0])
        return EINVAL;
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return ENAMETOOLONG;
    mm_reg_entry *v;
    size_t count;
    int rc = mm_registry_snapshot(r, &v, &count);
    if (rc != 0)
        return rc;
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = errno;
        free(v);
        return rc;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        rc = errno;
        close(fd);
        goto fail;
    }
    errno = 0;
    fprintf(f, "%s %d\n# name prog vers netid uaddr owner pid registered\n", MM_REG_FILE_MAGIC,
            MM_REG_FILE_VERSION);
    for (size_t i = 0; i < count; i++)
        put_entry(f, &v[i]);
    if (fflush(f) != 0 || ferror(f)) {
        rc = errno ? errno : EIO;
        fclose(f);
        goto fail;
    }
    if (fsync(fileno(f)) != 0) {
        rc = errno;
        fclose(f);
        goto fail;
    }
    if (fclose(f) != 0) {
        rc = errno;
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        rc = errno;
        goto fail;
    }
    free(v);
    return sync_dir(path);

fail:
    unlink(tmp);
    free(v);
    return rc;
}

/* ---- warm start: reading ------------------------------------------------- */

/* parse_dec parses the decimal field s (digits only, no leading zero unless
 * it is "0") into *out; returns 0, or -1 past max or for anything else. */
static int parse_dec(const char *s, uint64_t max, uint64_t *out)
{
    if (!s[0] || (s[0] == '0' && s[1]))
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* unescape decodes the %XX escapes of s into out (cap bytes with the NUL);
 * returns 0, or -1 for a malformed escape, a %00, a byte that should have
 * been escaped, or a result that does not fit. */
static int unescape(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    while (*s) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '%') {
            int hi = hexval(s[1]);
            int lo = hi < 0 ? -1 : hexval(s[2]);
            if (lo < 0 || (hi == 0 && lo == 0))
                return -1;
            ch = (unsigned char)(hi << 4 | lo);
            s += 3;
        } else if (ch < '!' || ch > '~') {
            return -1;
        } else {
            s++;
        }
        if (n + 1 >= cap)
            return -1;
        out[n++] = (char)ch;
    }
    out[n] = '\0';
    return 0;
}

/* parse_line parses one entry line into *e; on failure returns a message
 * saying what is wrong. */
static const char *parse_line(char *line, mm_reg_entry *e)
{
    char *field[8];
    size_t nf = 0;
    char *p = line;
    for (;;) {
        char *sp = strchr(p, ' ');
        if (sp)
            *sp = '\0';
        if (!*p)
            return "empty field (fields are separated by one space)";
        if (nf == 8)
            return "more than 8 fields";
        field[nf++] = p;
        if (!sp)
            break;
        p = sp + 1;
    }
    if (nf != 8)
        return "fewer than 8 fields";
    memset(e, 0, sizeof *e);
    uint64_t v;
    if (strcmp(field[0], "-") != 0) {
        if (!mm_name_valid(field[0]))
            return "invalid service name";
        memcpy(e->name, field[0], strlen(field[0]) + 1);
    }
    if (parse_dec(field[1], UINT32_MAX, &v) != 0)
        return "invalid program number";
    e->prog = (uint32_t)v;
    if (parse_dec(field[2], UINT32_MAX, &v) != 0)
        return "invalid version number";
    e->vers = (uint32_t)v;
    if (!parley_netid_find(field[3]))
        return "unknown netid";
    memcpy(e->netid, field[3], strlen(field[3]) + 1);
    if (unescape(field[4], e->uaddr, sizeof e->uaddr) != 0)
        return "malformed universal address";
    if (strcmp(field[5], "-") == 0) {
        e->owner = MM_UID_UNKNOWN;
    } else {
        if (parse_dec(field[5], (uint64_t)MM_UID_UNKNOWN - 1, &v) != 0)
            return "invalid owner uid";
        e->owner = (uid_t)v;
    }
    if (parse_dec(field[6], INT_MAX, &v) != 0)
        return "invalid pid";
    e->pid = (pid_t)v;
    if (parse_dec(field[7], INT64_MAX, &v) != 0)
        return "invalid registration time";
    e->registered = (int64_t)v;
    return NULL;
}

static void report(mm_reg_diag_fn *diag, void *ctx, const char *path, unsigned line,
                   const char *msg)
{
    if (diag)
        diag(ctx, path, line, msg);
}

/* load_line adds the entry of one line; returns NULL or a message. */
static const char *load_line(mm_registry *r, char *line)
{
    mm_reg_entry e, norm;
    const char *msg = parse_line(line, &e);
    if (msg)
        return msg;
    if (normalize(&e, &norm) != MM_OK)
        return e.name[0] && e.vers == 0 ? "named entry of version 0"
                                        : "universal address not valid for the netid";
    if (e.registered == 0)
        norm.registered = 0; /* keep the file's time, even the epoch */
    int added;
    pthread_mutex_lock(&r->lock);
    mm_status st = set_locked(r, &norm, 0, &added);
    pthread_mutex_unlock(&r->lock);
    if (st == MM_FULL)
        return "the table is full";
    if (st != MM_OK || !added)
        return "duplicate: its (prog, vers, netid) or (name, vers, netid) is already loaded";
    return NULL;
}

/* mm_registry_load: see registry.h. */
int mm_registry_load(mm_registry *r, const char *path, mm_reg_diag_fn *diag, void *ctx,
                     size_t *loaded, size_t *rejected)
{
    if (!r || !path)
        return EINVAL;
    mm_lines lr;
    int rc = mm_lines_open(&lr, path, MM_REG_FILE_MAX);
    if (rc != 0)
        return rc;
    char line[MM_REG_LINE_MAX + 1];
    char header[64];
    snprintf(header, sizeof header, "%s %d", MM_REG_FILE_MAGIC, MM_REG_FILE_VERSION);
    size_t len, nload = 0, nreject = 0;
    int kind = mm_lines_next(&lr, line, sizeof line, &len);
    if (kind == MM_LINE_ERROR) {
        rc = lr.err;
        goto out;
    }
    if (kind != MM_LINE_OK || strcmp(line, header) != 0) {
        size_t m = sizeof MM_REG_FILE_MAGIC - 1;
        report(diag, ctx, path, 1,
               kind == MM_LINE_OK && strncmp(line, MM_REG_FILE_MAGIC " ", m + 1) == 0
                   ? "unsupported version of the registry file"
                   : "not a matchmaker registry file (no '" MM_REG_FILE_MAGIC " 1' header)");
        rc = EINVAL;
        goto out;
    }
    for (;;) {
        kind = mm_lines_next(&lr, line, sizeof line, &len);
        if (kind == MM_LINE_EOF)
            break;
        if (kind == MM_LINE_ERROR) {
            rc = lr.err;
            break;
        }
        const char *msg = NULL;
        if (kind == MM_LINE_LONG)
            msg = "line too long";
        else if (kind == MM_LINE_NUL)
            msg = "NUL byte in line";
        else if (kind == MM_LINE_PARTIAL)
            msg = "last line has no newline (file cut short?)";
        else if (len == 0 || line[0] == '#')
            continue;
        else
            msg = load_line(r, line);
        if (msg) {
            report(diag, ctx, path, lr.line, msg);
            nreject++;
        } else {
            nload++;
        }
    }
out:
    mm_lines_close(&lr);
    if (rc == 0) {
        if (loaded)
            *loaded = nload;
        if (rejected)
            *rejected = nreject;
    }
    return rc;
}
