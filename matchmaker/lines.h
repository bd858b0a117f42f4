/*
 * lines.h: a bounded reader of text lines, for the two kinds of file the
 * matchmaker parses: its own warm-start file (registry.c) and the kernel's
 * socket tables under /proc/net (procnet.c).
 *
 * Neither file is trusted to be well formed, so nothing here grows with the
 * input: a line longer than the caller's buffer is skipped whole and
 * reported, a line holding a NUL byte is reported, a last line without its
 * newline (a file cut short) is reported rather than taken as complete, and
 * the whole read stops with EFBIG past a byte budget. Internal to the
 * matchmaker.
 */
#ifndef MM_LINES_H
#define MM_LINES_H

#include <stddef.h>

/* What mm_lines_next found. */
enum mm_line_kind {
    MM_LINE_OK = 0,  /* a complete line, in the caller's buffer */
    MM_LINE_EOF,     /* no more lines */
    MM_LINE_LONG,    /* a line longer than the buffer: skipped, not returned */
    MM_LINE_NUL,     /* a line with a NUL byte in it: skipped, not returned */
    MM_LINE_PARTIAL, /* the last line has no newline: not returned */
    MM_LINE_ERROR    /* reading failed: mm_lines.err is the errno */
};

typedef struct mm_lines {
    int fd;
    unsigned line;    /* the number of the line last reported, from 1 */
    size_t total;     /* bytes read so far */
    size_t max_total; /* the budget: EFBIG past it */
    size_t pos, len;  /* the unread bytes of buf */
    int eof;
    int err;
    char buf[8192];
} mm_lines;

/* mm_lines_open opens path for reading, refusing anything but a regular
 * file (EINVAL: a FIFO or a device would block or never end), with a budget
 * of max_total bytes. Returns 0 or the errno; on success the caller closes
 * lr with mm_lines_close. */
int mm_lines_open(mm_lines *lr, const char *path, size_t max_total);

/* mm_lines_next reads the next line into out (cap bytes, so at most cap - 1
 * characters, NUL-terminated, without the newline) and its length into *len.
 * It returns an mm_line_kind; lr->line numbers every line it reports,
 * skipped ones included, so that messages can point at them. After
 * MM_LINE_ERROR or MM_LINE_EOF every later call returns the same. */
int mm_lines_next(mm_lines *lr, char *out, size_t cap, size_t *len);

/* mm_lines_close closes the file; closing a closed reader is a no-op. */
void mm_lines_close(mm_lines *lr);

#endif /* MM_LINES_H */
