/*
 * recmark.h: TCP record marking (RFC 5531, section 11), the framing of RPC
 * messages on byte streams (TCP and Unix stream sockets).
 *
 * Internal to libparley. A record is one or more fragments, each a 4-byte
 * big-endian header (bit 31: last fragment; bits 0-30: length) and its
 * bytes. The reader reassembles records from whatever pieces the socket
 * delivers, with picohttpparser's contract; the writer makes headers.
 */
#ifndef PARLEY_RECMARK_H
#define PARLEY_RECMARK_H

#include <stddef.h>
#include <stdint.h>

/* What pl_rm_feed returns besides a negated parley_err. */
#define PL_RM_NEED_MORE 0
#define PL_RM_MESSAGE   1

#define PL_RM_LAST_FRAG         0x80000000u
#define PL_RM_MAX_FRAG          0x7fffffffu
#define PL_RM_DEFAULT_MAX_MSG   ((size_t)4 << 20)
#define PL_RM_DEFAULT_MAX_FRAGS 1024u

/* pl_rm_reader reassembles records. Set max_msg and max_frags after
 * pl_rm_init and before the first feed if the defaults do not suit (0 means
 * the default); msg and
 * msg_len are the output of pl_rm_feed; the other fields are private. */
typedef struct pl_rm_reader {
    size_t max_msg;     /* largest message accepted (PL_RM_DEFAULT_MAX_MSG) */
    unsigned max_frags; /* most fragments in one message (PL_RM_DEFAULT_MAX_FRAGS) */
    const uint8_t *msg; /* the message, after PL_RM_MESSAGE */
    size_t msg_len;

    uint8_t hdr[4];     /* a fragment header being read */
    unsigned hdr_have;  /* how many of its bytes are in hdr */
    int in_body;        /* reading a fragment's bytes, not a header */
    int last;           /* the fragment being read is the last one */
    uint32_t frag_left; /* bytes of the fragment still to come */
    unsigned nfrags;    /* fragments of the current message so far */
    int delivered;      /* a message was returned: start afresh at the next feed */
    int err;            /* the sticky error, a parley_err */
    uint8_t *buf;       /* reassembly buffer */
    size_t buf_len, buf_cap;
} pl_rm_reader;

void pl_rm_init(pl_rm_reader *r);
void pl_rm_destroy(pl_rm_reader *r);
int pl_rm_feed(pl_rm_reader *r, const uint8_t *data, size_t n, size_t *consumed);

void pl_rm_header(uint8_t out[4], uint32_t len, int last);
int pl_rm_frame(uint8_t *buf, size_t len);
size_t pl_rm_next_fragment(uint8_t hdr[4], size_t left, size_t max_frag);

#endif /* PARLEY_RECMARK_H */
