/*
 * lines.c: the bounded line reader of lines.h. The file is read in blocks
 * with read(2) into a fixed buffer; a line is copied out as it is assembled,
 * so its length is bounded by the caller's buffer and never by the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lines.h"

/* mm_lines_open: see lines.h. O_NONBLOCK keeps the open itself from
 * waiting on a FIFO; the file is then checked to be regular and the flag
 * cleared. */
int mm_lines_open(mm_lines *lr, const char *path, size_t max_total)
{
    if (!lr || !path)
        return EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return err;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return EINVAL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int err = errno;
        close(fd);
        return err;
    }
    memset(lr, 0, offsetof(mm_lines, buf));
    lr->fd = fd;
    lr->max_total = max_total;
    return 0;
}

/* fill reads the next block; returns 1 with bytes in buf, 0 at the end of
 * the file, -1 on error (lr->err set). */
static int fill(mm_lines *lr)
{
    if (lr->err)
        return -1;
    if (lr->eof)
        return 0;
    ssize_t n;
    do
        n = read(lr->fd, lr->buf, sizeof lr->buf);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        lr->err = errno;
        return -1;
    }
    if (n == 0) {
        lr->eof = 1;
        return 0;
    }
    if ((size_t)n > lr->max_total - lr->total) {
        lr->err = EFBIG;
        return -1;
    }
    lr->total += (size_t)n;
    lr->pos = 0;
    lr->len = (size_t)n;
    return 1;
}

/* mm_lines_next: see lines.h. */
int mm_lines_next(mm_lines *lr, char *out, size_t cap, size_t *len)
{
    if (lr->err)
        return MM_LINE_ERROR;
    size_t n = 0;     /* characters of the line seen */
    int too_long = 0; /* it did not fit */
    int has_nul = 0;  /* it holds a NUL */
    int started = 0;  /* any byte of it seen */
    for (;;) {
        if (lr->pos == lr->len) {
            int rc = fill(lr);
            if (rc < 0)
                return MM_LINE_ERROR;
            if (rc == 0) {
                if (!started)
                    return MM_LINE_EOF;
                lr->line++;
                return MM_LINE_PARTIAL;
            }
        }
        const char *p = lr->buf + lr->pos;
        size_t avail = lr->len - lr->pos;
        const char *nl = memchr(p, '\n', avail);
        size_t take = nl ? (size_t)(nl - p) : avail;
        started = 1;
        if (memchr(p, '\0', take))
            has_nul = 1;
        if (!too_long) {
            if (cap == 0 || take > cap - 1 - n) {
                too_long = 1;
            } else {
                memcpy(out + n, p, take);
            }
        }
        n += take;
        lr->pos += take;
        if (nl) {
            lr->pos++; /* the newline */
            lr->line++;
            if (too_long)
                return MM_LINE_LONG;
            if (has_nul)
                return MM_LINE_NUL;
            out[n] = '\0';
            if (len)
                *len = n;
            return MM_LINE_OK;
        }
    }
}

/* mm_lines_close: see lines.h. */
void mm_lines_close(mm_lines *lr)
{
    if (lr && lr->fd >= 0) {
        close(lr->fd);
        lr->fd = -1;
    }
}
