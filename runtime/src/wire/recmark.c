/*
 * recmark.c: TCP record marking (RFC 5531, section 11).
 *
 * The stream transports (TCP, Unix stream sockets) read whatever the socket
 * has into a buffer and hand it to pl_rm_feed, which returns one message at
 * a time, as picohttpparser returns one request: "need more", "a message,
 * having used this many bytes", or an error. Several pipelined messages in
 * one read come out of successive calls on the rest of the buffer.
 *
 * The common case is zero-copy: a message in one fragment that lies wholly
 * in the caller's data is returned in place. Otherwise the fragments are
 * copied into a buffer owned by the reader, which never grows beyond
 * max_msg. A peer cannot make the reader allocate by announcing a length:
 * a fragment header over the limit fails at once, and the buffer grows only
 * with bytes actually received. A peer cannot keep the reader busy with
 * empty fragments either: a message has at most max_frags of them.
 */
#include "wire/recmark.h"

#include <stdlib.h>
#include <string.h>

#include "parley/error.h"
#include "parley/xdr.h"

/* A reassembly buffer larger than this is released once its message has
 * been delivered, so that an idle connection does not keep megabytes. */
#define RM_KEEP_BUF ((size_t)64 << 10)

/* pl_rm_init prepares r with the default limits and no buffer. */
void pl_rm_init(pl_rm_reader *r)
{
    memset(r, 0, sizeof *r);
    r->max_msg = PL_RM_DEFAULT_MAX_MSG;
    r->max_frags = PL_RM_DEFAULT_MAX_FRAGS;
}

/* pl_rm_destroy releases r's buffer; a message it returned that pointed
 * there is gone. r may be initialised again. NULL is a no-op. */
void pl_rm_destroy(pl_rm_reader *r)
{
    if (r == NULL)
        return;
    free(r->buf);
    r->buf = NULL;
    r->buf_len = r->buf_cap = 0;
}

/* rm_fail records err as the reader's sticky error: the stream's framing is
 * lost, and the connection must be closed. */
static int rm_fail(pl_rm_reader *r, int err, size_t pos, size_t *consumed)
{
    r->err = err;
    *consumed = pos;
    return -err;
}

/* rm_grow makes room for extra more bytes in the buffer, doubling it but
 * never beyond max_msg (the caller has checked that the message fits). */
static int rm_grow(pl_rm_reader *r, size_t extra, size_t max_msg)
{
    size_t need = r->buf_len + extra;
    if (need <= r->buf_cap)
        return PARLEY_OK;
    size_t cap = r->buf_cap ? r->buf_cap : 4096;
    while (cap < need)
        cap = cap > max_msg / 2 ? max_msg : cap * 2;
    if (cap > max_msg)
        cap = max_msg; /* need <= max_msg: the header was checked */
    uint8_t *nb = realloc(r->buf, cap);
    if (nb == NULL)
        return PARLEY_ERR_NOMEM;
    r->buf = nb;
    r->buf_cap = cap;
    return PARLEY_OK;
}

/* pl_rm_feed reads the n bytes at data, the next bytes of the stream, until
 * the end of a message or of the data. Returns:
 *
 *   PL_RM_MESSAGE: r->msg and r->msg_len are the whole message, and
 *     *consumed tells how many bytes of data were used; the caller feeds the
 *     rest (data + *consumed) next, since it may hold more messages.
 *   PL_RM_NEED_MORE: all n bytes were used (*consumed == n), and the message
 *     is not complete yet. Feed the next bytes of the stream.
 *   -PARLEY_ERR_MSG_TOO_LARGE: a fragment header announced more bytes than
 *     max_msg allows for the message (detected at the header, before its
 *     bytes arrive or anything is allocated).
 *   -PARLEY_ERR_PROTOCOL: more than max_frags fragments in one message.
 *   Both are sticky: every later feed returns them, because the framing of
 *   the stream is lost.
 *   -PARLEY_ERR_NOMEM: the buffer could not grow; *consumed bytes were used,
 *     and feeding the rest again may succeed.
 *   -PARLEY_ERR_NULL: data is NULL with a non-zero n.
 *
 * Lifetime of r->msg: either it points into data (the message came in one
 * fragment wholly inside this call's data) and lives as long as the caller
 * keeps those bytes, or it points into r's buffer and lives until the next
 * pl_rm_feed or pl_rm_destroy on r. Either way, the caller must be done with
 * it (or copy it) before the next feed. Not thread-safe: one reader per
 * connection. */
int pl_rm_feed(pl_rm_reader *r, const uint8_t *data, size_t n, size_t *consumed)
{
    static const uint8_t empty[1] = {0};
    size_t max_msg = r->max_msg ? r->max_msg : PL_RM_DEFAULT_MAX_MSG;
    unsigned max_frags = r->max_frags ? r->max_frags : PL_RM_DEFAULT_MAX_FRAGS;
    size_t pos = 0;

    *consumed = 0;
    r->msg = NULL;
    r->msg_len = 0;
    if (r->err)
        return -r->err;
    if (data == NULL && n != 0)
        return -PARLEY_ERR_NULL;
    if (r->delivered) {
        r->delivered = 0;
        r->buf_len = 0;
        r->nfrags = 0;
        if (r->buf_cap > RM_KEEP_BUF)
            pl_rm_destroy(r);
    }

    for (;;) {
        if (!r->in_body) {
            while (r->hdr_have < 4 && pos < n)
                r->hdr[r->hdr_have++] = data[pos++];
            if (r->hdr_have < 4)
                break;
            uint32_t h = parley_ld_u32(r->hdr);
            uint32_t len = h & PL_RM_MAX_FRAG;
            r->hdr_have = 0;
            r->last = (h & PL_RM_LAST_FRAG) != 0;
            if (++r->nfrags > max_frags)
                return rm_fail(r, PARLEY_ERR_PROTOCOL, pos, consumed);
            if (r->buf_len > max_msg || len > max_msg - r->buf_len)
                return rm_fail(r, PARLEY_ERR_MSG_TOO_LARGE, pos, consumed);
            r->frag_left = len;
            r->in_body = 1;
            if (r->last && r->buf_len == 0 && n - pos >= len) {
                /* the whole message is in the caller's data: no copy */
                r->in_body = 0;
                r->delivered = 1;
                r->msg = data + pos;
                r->msg_len = len;
                *consumed = pos + len;
                return PL_RM_MESSAGE;
            }
        }
        size_t take = r->frag_left < n - pos ? r->frag_left : n - pos;
        if (take) {
            int rc = rm_grow(r, take, max_msg);
            if (rc != PARLEY_OK) {
                *consumed = pos;
                return -rc;
            }
            memcpy(r->buf + r->buf_len, data + pos, take);
            r->buf_len += take;
            r->frag_left -= (uint32_t)take;
            pos += take;
        }
        if (r->frag_left)
            break;
        r->in_body = 0;
        if (r->last) {
            r->delivered = 1;
            r->msg = r->buf ? r->buf : empty;
            r->msg_len = r->buf_len;
            *consumed = pos;
            return PL_RM_MESSAGE;
        }
    }
    *consumed = pos;
    return PL_RM_NEED_MORE;
}

/* pl_rm_header writes the header of a fragment of len bytes (at most
 * PL_RM_MAX_FRAG; higher bits are dropped), the last of its message when
 * last is nonzero. */
void pl_rm_header(uint8_t out[4], uint32_t len, int last)
{
    parley_st_u32(out, (len & PL_RM_MAX_FRAG) | (last ? PL_RM_LAST_FRAG : 0));
}

/* pl_rm_frame frames the len-byte message at buf + 4 as one record of one
 * fragment by writing its header in the 4 bytes of headroom at buf, so that
 * buf[0 .. len + 4) can be sent as is. A message longer than PL_RM_MAX_FRAG
 * needs several fragments, which cannot be made in place: it returns
 * PARLEY_ERR_MSG_TOO_LARGE, writing nothing, and the sender uses
 * pl_rm_next_fragment. */
int pl_rm_frame(uint8_t *buf, size_t len)
{
    if (len > PL_RM_MAX_FRAG)
        return PARLEY_ERR_MSG_TOO_LARGE;
    pl_rm_header(buf, (uint32_t)len, 1);
    return PARLEY_OK;
}

/* pl_rm_next_fragment cuts the next fragment off a message of which left
 * bytes remain to be sent: it writes the fragment's header to hdr and
 * returns its length, at most max_frag (0, or anything over PL_RM_MAX_FRAG,
 * means PL_RM_MAX_FRAG). The fragment is the last when it takes all that is
 * left; an empty message is one empty last fragment. A sender loops:
 *
 *     do { n = pl_rm_next_fragment(h, left, 0); send(h, 4); send(p, n);
 *          p += n; left -= n; } while (left);
 */
size_t pl_rm_next_fragment(uint8_t hdr[4], size_t left, size_t max_frag)
{
    if (max_frag == 0 || max_frag > PL_RM_MAX_FRAG)
        max_frag = PL_RM_MAX_FRAG;
    size_t n = left < max_frag ? left : max_frag;
    pl_rm_header(hdr, (uint32_t)n, n == left);
    return n;
}
