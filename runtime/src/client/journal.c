/*
 * client/journal.c: the client's journal (parley_client_opts.journal): the
 * handle's identity and its guaranteed calls in flight, in a file, so that
 * a client restarted after its own crash sends them again under the same
 * identity and numbers and learns their outcome (docs/semantics.md).
 *
 * Part of the client layer, beside once.c, which writes a call's record
 * before the call first leaves and its end when it completes. The file is
 * a log of records, each
 *
 *   u32 length (of what follows the checksum), u32 CRC-32C (of the same),
 *   u8 type, then the type's fields, big-endian:
 *     'I' identity: opaque[16]                       (the first record)
 *     'C' call: u64 seq, u64 incarnation at first send, u32 procedure,
 *         u32 semantics, u32 argument length, the encoded arguments
 *     'D' done: u64 seq
 *
 * Each is written with one write(), so a crash of the client process (the
 * durability the journal gives: the record reached the kernel) leaves
 * every record whole but perhaps the last, which opening cuts off; a
 * damaged record before the last ends the journal there too (what follows
 * it cannot be trusted). When the file passes its bound and most of it is
 * done, it is rewritten with the identity and the calls still in flight,
 * and renamed over the old one.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/internal.h"
#include "delivery/crc32c.h"
#include "parley/xdr.h"

/* The most one record may hold, and the file's size before a rewrite. */
#define MAX_RECORD ((size_t)1 << 20)
#define COMPACT_AT ((size_t)1 << 20)
#define HEAD       8u /* length, checksum */

struct pl_journal {
    pthread_mutex_t mu;
    int fd;
    char *path;
    size_t bytes;       /* the file's size */
    pl_jcall *inflight; /* calls written and not done, newest first */
    size_t ninflight;
};

static void put64(uint8_t *p, uint64_t v)
{
    parley_st_u32(p, (uint32_t)(v >> 32));
    parley_st_u32(p + 4, (uint32_t)v);
}

static uint64_t get64(const uint8_t *p)
{
    return ((uint64_t)parley_ld_u32(p) << 32) | parley_ld_u32(p + 4);
}

/* append writes one record (type and body of n bytes) with one write().
 * Errors: PARLEY_ERR_TOO_LONG, PARLEY_ERR_NOMEM, PARLEY_ERR_IO. */
static int append(int fd, size_t *bytes, uint8_t type, const uint8_t *body, size_t n)
{
    if (n + 1 > MAX_RECORD)
        return PARLEY_ERR_TOO_LONG;
    uint8_t stack[256];
    size_t total = HEAD + 1 + n;
    uint8_t *rec = total <= sizeof stack ? stack : malloc(total);
    if (!rec)
        return PARLEY_ERR_NOMEM;
    rec[HEAD] = type;
    if (n)
        memcpy(rec + HEAD + 1, body, n);
    parley_st_u32(rec, (uint32_t)(n + 1));
    parley_st_u32(rec + 4, pl_crc32c(0, rec + HEAD, n + 1));
    ssize_t w;
    do
        w = write(fd, rec, total);
    while (w < 0 && errno == EINTR);
    if (rec != stack)
        free(rec);
    if (w != (ssize_t)total)
        return PARLEY_ERR_IO; /* a short write: the next open cuts it off */
    *bytes += total;
    return PARLEY_OK;
}

/* call_body lays out a 'C' record's body for call k into buf (28 + len). */
static void call_body(const pl_jcall *k, uint8_t *buf)
{
    put64(buf, k->seq);
    put64(buf + 8, k->incarnation);
    parley_st_u32(buf + 16, k->proc);
    parley_st_u32(buf + 20, k->semantics);
    parley_st_u32(buf + 24, (uint32_t)k->len);
    memcpy(buf + 28, k->args, k->len);
}

static int append_call(int fd, size_t *bytes, const pl_jcall *k)
{
    uint8_t *buf = malloc(28 + k->len);
    if (!buf)
        return PARLEY_ERR_NOMEM;
    call_body(k, buf);
    int rc = append(fd, bytes, 'C', buf, 28 + k->len);
    free(buf);
    return rc;
}

static void free_calls(pl_jcall *k)
{
    while (k) {
        pl_jcall *next = k->next;
        free(k);
        k = next;
    }
}

/* load reads the journal at fd (size n) into j: the identity into id, the
 * calls not done into j->inflight, the highest number seen into *top. A
 * record that does not check ends it: the file is cut there. Errors:
 * PARLEY_ERR_NOMEM, PARLEY_ERR_IO, PARLEY_ERR_STORE (no identity). */
static int load(pl_journal *j, uint8_t id[16], uint64_t *top)
{
    struct stat st;
    if (fstat(j->fd, &st) != 0)
        return PARLEY_ERR_IO;
    size_t n = (size_t)st.st_size;
    uint8_t *f = n ? malloc(n) : NULL;
    if (n && !f)
        return PARLEY_ERR_NOMEM;
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(j->fd, f + got, n - got, (off_t)got);
        if (r <= 0) {
            free(f);
            return PARLEY_ERR_IO;
        }
        got += (size_t)r;
    }
    size_t off = 0;
    int have_id = 0;
    int rc = PARLEY_OK;
    while (off + HEAD + 1 <= n) {
        uint32_t len = parley_ld_u32(f + off);
        if (len == 0 || len > MAX_RECORD || len > n - off - HEAD ||
            pl_crc32c(0, f + off + HEAD, len) != parley_ld_u32(f + off + 4))
            break; /* torn or damaged: the journal ends here */
        const uint8_t *b = f + off + HEAD;
        if (b[0] == 'I' && len == 17) {
            memcpy(id, b + 1, 16);
            have_id = 1;
        } else if (b[0] == 'C' && len >= 29 && parley_ld_u32(b + 25) == len - 29) {
            pl_jcall *k = malloc(sizeof *k + (len - 29));
            if (!k) {
                rc = PARLEY_ERR_NOMEM;
                break;
            }
            k->seq = get64(b + 1);
            k->incarnation = get64(b + 9);
            k->proc = parley_ld_u32(b + 17);
            k->semantics = parley_ld_u32(b + 21);
            k->len = len - 29;
            memcpy(k->args, b + 29, k->len);
            k->next = j->inflight;
            j->inflight = k;
            j->ninflight++;
            if (k->seq > *top)
                *top = k->seq;
        } else if (b[0] == 'D' && len == 9) {
            uint64_t seq = get64(b + 1);
            for (pl_jcall **pp = &j->inflight; *pp; pp = &(*pp)->next)
                if ((*pp)->seq == seq) {
                    pl_jcall *k = *pp;
                    *pp = k->next;
                    free(k);
                    j->ninflight--;
                    break;
                }
        } else {
            break; /* a record of no known kind: treated as damage */
        }
        off += HEAD + len;
    }
    free(f);
    if (rc == PARLEY_OK && !have_id)
        rc = PARLEY_ERR_STORE;
    if (rc == PARLEY_OK && off < n && ftruncate(j->fd, (off_t)off) != 0)
        rc = PARLEY_ERR_IO;
    j->bytes = off;
    return rc;
}

/* pl_journal_open opens the journal at path, or makes it: an existing one
 * gives the handle's identity (into id), the number after the highest it
 * used (*next_seq) and its calls in flight (pl_journal_inflight); a new one
 * records id, as given. The caller owns *out (pl_journal_close). Errors:
 * PARLEY_ERR_INVALID, PARLEY_ERR_NOMEM, PARLEY_ERR_IO (the file cannot be
 * opened or written: errno says why), PARLEY_ERR_IN_USE (another handle,
 * of this process or another, has it open), PARLEY_ERR_STORE (a file that
 * is not a journal). */
int pl_journal_open(const char *path, uint8_t id[16], uint64_t *next_seq, pl_journal **out)
{
    if (!path || !*path)
        return PARLEY_ERR_INVALID;
    pl_journal *j = calloc(1, sizeof *j);
    if (!j)
        return PARLEY_ERR_NOMEM;
    j->path = strdup(path);
    int rc = PARLEY_ERR_NOMEM;
    if (!j->path || pthread_mutex_init(&j->mu, NULL) != 0)
        goto fail;
    j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    rc = PARLEY_ERR_IO;
    if (j->fd < 0)
        goto fail_mu;
    /* one handle at a time: two would interleave their records and send
     * each other's calls under one identity */
    if (flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK ? PARLEY_ERR_IN_USE : PARLEY_ERR_IO;
        goto fail_fd;
    }
    struct stat st;
    if (fstat(j->fd, &st) != 0)
        goto fail_fd;
    uint64_t top = 0;
    if (st.st_size == 0) {
        rc = append(j->fd, &j->bytes, 'I', id, 16);
    } else {
        rc = load(j, id, &top);
    }
    if (rc != PARLEY_OK)
        goto fail_fd;
    *next_seq = top + 1;
    *out = j;
    return PARLEY_OK;
fail_fd:
    free_calls(j->inflight);
    close(j->fd);
fail_mu:
    pthread_mutex_destroy(&j->mu);
fail:
    free(j->path);
    free(j);
    return rc;
}

/* pl_journal_close closes j; NULL is a no-op. */
void pl_journal_close(pl_journal *j)
{
    if (!j)
        return;
    close(j->fd);
    free_calls(j->inflight);
    pthread_mutex_destroy(&j->mu);
    free(j->path);
    free(j);
}

/* pl_journal_inflight hands over the calls the journal found in flight
 * when it was opened (the caller frees each with free()); later calls
 * are not in the list. */
pl_jcall *pl_journal_inflight(pl_journal *j)
{
    pthread_mutex_lock(&j->mu);
    pl_jcall *k = j->inflight;
    j->inflight = NULL;
    pthread_mutex_unlock(&j->mu);
    return k;
}

/* compact rewrites the journal with the identity id and the calls in
 * flight, renamed over the old one (j->mu held). On failure the old file
 * stays as it was. */
static void compact(pl_journal *j, const uint8_t id[16], const pl_jcall *live)
{
    size_t n = strlen(j->path) + 8;
    char *tmp = malloc(n);
    if (!tmp)
        return;
    snprintf(tmp, n, "%s.new", j->path);
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    size_t bytes = 0;
    int rc = fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0 ? PARLEY_ERR_IO
                                                         : append(fd, &bytes, 'I', id, 16);
    for (const pl_jcall *k = live; k && rc == PARLEY_OK; k = k->next)
        rc = append_call(fd, &bytes, k);
    if (rc == PARLEY_OK && rename(tmp, j->path) == 0) {
        close(j->fd);
        j->fd = fd;
        j->bytes = bytes;
    } else {
        if (fd >= 0)
            close(fd);
        unlink(tmp);
    }
    free(tmp);
}

/* pl_journal_call records call k before it first leaves (k stays the
 * caller's). Errors: those of writing (the call must not be sent). */
int pl_journal_call(pl_journal *j, const pl_jcall *k)
{
    pthread_mutex_lock(&j->mu);
    int rc = append_call(j->fd, &j->bytes, k);
    pthread_mutex_unlock(&j->mu);
    return rc;
}

/* pl_journal_done records that call seq is complete; when the file has
 * passed its bound, rewrites it with id and live, the calls still in
 * flight (the caller's list, under its lock). A failure only keeps a call
 * in the journal, to be sent again by a recovery (the server answers it
 * from its records). */
void pl_journal_done(pl_journal *j, uint64_t seq, const uint8_t id[16], const pl_jcall *live)
{
    uint8_t b[8];
    put64(b, seq);
    pthread_mutex_lock(&j->mu);
    append(j->fd, &j->bytes, 'D', b, sizeof b);
    if (j->bytes > COMPACT_AT)
        compact(j, id, live);
    pthread_mutex_unlock(&j->mu);
}
