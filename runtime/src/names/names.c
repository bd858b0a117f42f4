/*
 * runtime/src/names/names.c: service names through the matchmaker, and
 * programs by number through a host's portmapper (see names.h).
 *
 * Each operation opens its own connection to the matchmaker, makes one call
 * (a look-up that finds nothing, two), and closes it: look-ups happen when a
 * client is made and when it reconnects, registrations when a server starts
 * and stops, so a connection kept open would only hold a descriptor for
 * nothing. A call is the plainest RPC there is: encode the call (the header
 * of wire/rpcmsg.h, the arguments with the codec below), send it, read one
 * record (record marking over a stream, one datagram over UDP, sent again
 * while no answer comes), decode the reply. Everything here lies beneath the
 * client and the server: the wire and net layers and the codec's cursors.
 *
 * The codec of the messages of matchmaker.idl that the runtime sends and
 * reads (mm_registration, mm_key, mm_query, mm_status, mm_lookup_res) is
 * written here by hand on parley/xdr.h, as parleygen would write it, so
 * that libparley compiles nothing generated and exports none of the
 * protocol's names. tests/unit/test_names_wire.c checks it against the
 * codec parleygen generates from matchmaker.idl, both ways.
 */
#include "names/names.h"

#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/clock.h"
#include "net/sock.h"
#include "parley/arena.h"
#include "parley/error.h"
#include "parley/uaddr.h"
#include "parley/xdr.h"
#include "wire/recmark.h"
#include "wire/rpcmsg.h"

/* The largest call: record mark, header with AUTH_NONE (10 words), and an
 * mm_registration of the longest strings. */
#define CALL_MAX (4 + 40 + 4 + PL_MM_NAME_MAX + 8 + 4 + PL_MM_NETID_MAX + 4 + PL_MM_UADDR_MAX)
/* The largest datagram UDP carries: a datagram reply is read into this. */
#define DGRAM_MAX ((size_t)65535)
/* A stream reply is read this much at a time. */
#define STREAM_READ 4096u
/* UDP: a call is sent again after this long, then after twice as long, up
 * to RETRANSMIT_MAX_MS (the client's defaults). */
#define RETRANSMIT_MS     250u
#define RETRANSMIT_MAX_MS 8000u
/* The smallest encoded mm_entry: four empty strings and four words. */
#define ENTRY_MIN_WIRE 32u

/* split_env reads PARLEY_MATCHMAKER's "HOST", "HOST:PORT", "[V6]" or
 * "[V6]:PORT" into host (cap bytes) and *port (0 when absent). */
static int split_env(const char *env, char *host, size_t cap, uint16_t *port)
{
    const char *h = env, *rest;
    size_t hlen;
    if (*env == '[') {
        const char *close = strchr(env, ']');
        if (close == NULL)
            return PARLEY_ERR_ADDRESS;
        h = env + 1;
        hlen = (size_t)(close - h);
        rest = close + 1;
    } else {
        rest = strchr(env, ':');
        if (rest && strchr(rest + 1, ':'))
            return PARLEY_ERR_ADDRESS; /* an IPv6 literal without brackets */
        hlen = rest ? (size_t)(rest - env) : strlen(env);
        if (!rest)
            rest = env + hlen;
    }
    *port = 0;
    if (*rest == ':') {
        char *end;
        unsigned long v = strtoul(rest + 1, &end, 10);
        if (rest[1] < '0' || rest[1] > '9' || *end != '\0' || v == 0 || v > 65535)
            return PARLEY_ERR_ADDRESS;
        *port = (uint16_t)v;
    } else if (*rest != '\0') {
        return PARLEY_ERR_ADDRESS;
    }
    if (hlen == 0 || hlen >= cap)
        return PARLEY_ERR_ADDRESS;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    return PARLEY_OK;
}

/* pl_mm_address writes into out the address of the matchmaker to ask:
 * PARLEY_MATCHMAKER's (see names.h), with host and port, when given (host
 * not NULL or empty, port not 0), in place of its own. A full address in
 * PARLEY_MATCHMAKER is used as it is unless host is given. Errors:
 * PARLEY_ERR_ADDRESS (PARLEY_MATCHMAKER cannot be read), _BUFFER_FULL. */
int pl_mm_address(const char *host, uint16_t port, char *out, size_t cap)
{
    const char *env = getenv("PARLEY_MATCHMAKER");
    char h[PL_ADDR_HOST_MAX + 1] = "localhost";
    uint16_t p = PL_MM_PORT;
    int n;
    if (env && *env) {
        if (strstr(env, "://") || strncasecmp(env, "unix:", 5) == 0) {
            pl_addr a;
            if (pl_addr_parse(env, &a) != PARLEY_OK || a.transport == PL_TR_NAME)
                return PARLEY_ERR_ADDRESS;
            if (!host || !*host) {
                n = snprintf(out, cap, "%s", env);
                return n < 0 || (size_t)n >= cap ? PARLEY_ERR_BUFFER_FULL : PARLEY_OK;
            }
            if (a.transport != PL_TR_UNIX)
                p = a.port;
        } else {
            uint16_t ep;
            int rc = split_env(env, h, sizeof h, &ep);
            if (rc != PARLEY_OK)
                return rc;
            if (ep)
                p = ep;
        }
    }
    if (host && *host) {
        if (strlen(host) >= sizeof h)
            return PARLEY_ERR_ADDRESS;
        strcpy(h, host);
    }
    if (port)
        p = port;
    const char *open = strchr(h, ':') ? "[" : "", *close = *open ? "]" : "";
    n = snprintf(out, cap, "tcp://%s%s%s:%u", open, h, close, (unsigned)p);
    return n < 0 || (size_t)n >= cap ? PARLEY_ERR_BUFFER_FULL : PARLEY_OK;
}

/* ---- the codec of matchmaker.idl's messages -------------------------------- */

/* enc_registration encodes a as an mm_registration. */
static void enc_registration(parley_enc *e, const pl_mm_args *a)
{
    parley_put_string(e, a->name, PL_MM_NAME_MAX);
    parley_put_u32(e, a->prog);
    parley_put_u32(e, a->vers);
    parley_put_string(e, a->netid, PL_MM_NETID_MAX);
    parley_put_string(e, a->uaddr, PL_MM_UADDR_MAX);
}

/* enc_key encodes a as an mm_key or an mm_query (the same layout); a->prog
 * and a->uaddr are not part of them. */
static void enc_key(parley_enc *e, const pl_mm_args *a)
{
    parley_put_string(e, a->name, PL_MM_NAME_MAX);
    parley_put_u32(e, a->vers);
    parley_put_string(e, a->netid, PL_MM_NETID_MAX);
}

/* dec_status decodes an mm_status: a value outside the enum is
 * PARLEY_ERR_BAD_ENUM (and 0 is returned). */
static uint32_t dec_status(parley_dec *d)
{
    uint32_t v = parley_get_u32(d);
    if (!d->err && v > PL_MM_STALE) {
        d->p -= 4;
        parley_dec_fail(d, PARLEY_ERR_BAD_ENUM);
        return 0;
    }
    return v;
}

/* dec_entry decodes an mm_entry into e, its strings allocated by the
 * cursor (from its arena). */
static void dec_entry(parley_dec *d, pl_mm_entry *e)
{
    parley_get_string(d, &e->name, PL_MM_NAME_MAX);
    e->prog = parley_get_u32(d);
    e->vers = parley_get_u32(d);
    parley_get_string(d, &e->netid, PL_MM_NETID_MAX);
    parley_get_string(d, &e->uaddr, PL_MM_UADDR_MAX);
    parley_get_string(d, &e->owner, PL_MM_OWNER_MAX);
    e->registered = (int64_t)parley_get_u64(d);
}

/* dec_lookup_res decodes an mm_lookup_res into r: the status, and for
 * PL_MM_OK the mm_entry_list, whose count is checked against the bound,
 * the bytes left and the allocation budget before anything is allocated. */
static void dec_lookup_res(parley_dec *d, pl_mm_reply *r)
{
    r->status = dec_status(d);
    if (d->err || r->status != PL_MM_OK)
        return;
    uint32_t n = parley_get_count(d, PL_MM_LIST_MAX, ENTRY_MIN_WIRE, sizeof(pl_mm_entry));
    pl_mm_entry *a = n ? parley_dec_alloc(d, (size_t)n * sizeof *a) : NULL;
    if (a == NULL)
        n = 0;
    r->entries = a;
    r->n = n;
    for (uint32_t i = 0; i < n && !d->err; i++)
        dec_entry(d, &a[i]);
}

/* pl_mm_reply_decode decodes the len-byte message msg as the reply to the
 * call xid of procedure proc (PL_MM_REGISTER, _UNREGISTER or _LOOKUP) and
 * writes what it answered to *out, only on success. The entries of a
 * LOOKUP's answer and their strings are allocated from arena (required for
 * LOOKUP, unused otherwise), which owns them. Errors: the header's
 * (PARLEY_ERR_TRUNCATED, _PROTOCOL: not a reply, or to another xid, ...),
 * the RPC errors it carries (pl_reply_error: _PROG_MISMATCH, _PROG_UNAVAIL,
 * _RPC_MISMATCH, ...), the codec's (_TRUNCATED, _BAD_ENUM, _TOO_LONG,
 * _BAD_STRING, _BAD_PADDING, _LIMIT, _NOMEM), _TRAILING for bytes after
 * the result, _INVALID for a LOOKUP without an arena. */
int pl_mm_reply_decode(const void *msg, size_t len, uint32_t xid, uint32_t proc,
                       parley_arena *arena, pl_mm_reply *out)
{
    if (proc == PL_MM_LOOKUP && arena == NULL)
        return PARLEY_ERR_INVALID;
    parley_limits lim = {.max_alloc = 0, .max_depth = 0, .flags = 0, .arena = arena};
    parley_dec d;
    pl_reply_header h;
    parley_dec_init(&d, msg, len, &lim);
    int rc = pl_msg_decode_reply(&d, &h);
    if (rc != PARLEY_OK)
        return rc;
    if (h.xid != xid)
        return PARLEY_ERR_PROTOCOL;
    rc = pl_reply_error(&h);
    if (rc != PARLEY_OK)
        return rc;
    pl_mm_reply r = {0, 0, NULL};
    if (proc == PL_MM_LOOKUP)
        dec_lookup_res(&d, &r);
    else
        r.status = dec_status(&d);
    if (!d.err && d.p != d.end)
        parley_dec_fail(&d, PARLEY_ERR_TRAILING);
    rc = parley_dec_finish(&d, NULL);
    if (rc != PARLEY_OK)
        return rc;
    *out = r;
    return PARLEY_OK;
}

/* ---- one call --------------------------------------------------------------- */

/* A reply's decoder: the message (len bytes), and what it decodes into. */
typedef int reply_fn(const void *msg, size_t len, void *ctx);

/* read_stream reads the reply from c's stream, one record, and decodes it
 * with fn (which checks its xid). The record must be the only thing the
 * peer sent: bytes after it answer no call of ours (_PROTOCOL). Errors:
 * PARLEY_ERR_CLOSED (the stream ended first), _TIMEDOUT, those of the
 * socket, of the record marking (_MSG_TOO_LARGE over
 * PL_RM_DEFAULT_MAX_MSG, _PROTOCOL, _NOMEM), and fn's. */
static int read_stream(pl_mm_conn *c, reply_fn *fn, void *ctx)
{
    uint8_t buf[STREAM_READ];
    pl_rm_reader rm;
    int rc;
    pl_rm_init(&rm);
    for (;;) {
        size_t got, used;
        int e = 0;
        rc = pl_sock_recv(c->fd, buf, sizeof buf, 0, c->deadline, &c->rcvtimeo, &got, &e);
        if (rc != PARLEY_OK)
            break;
        if (got == 0) {
            rc = PARLEY_ERR_CLOSED;
            break;
        }
        int r = pl_rm_feed(&rm, buf, got, &used);
        if (r < 0) {
            rc = -r;
            break;
        }
        if (r == PL_RM_MESSAGE) {
            /* decoded before the next feed, which would end rm.msg's life */
            rc = used < got ? PARLEY_ERR_PROTOCOL : fn(rm.msg, rm.msg_len, ctx);
            break;
        }
    }
    pl_rm_destroy(&rm);
    return rc;
}

/* read_dgram waits for the datagram answering the call xid on c and decodes
 * it with fn, sending the call (msg, len bytes) again each time the
 * retransmission interval passes without one, as the client does over UDP.
 * Datagrams of another xid (a late answer to an earlier call) or too short
 * to hold one are dropped. Errors: PARLEY_ERR_MSG_TOO_LARGE (the answer
 * does not fit a datagram's largest size), _TIMEDOUT, _REFUSED (no one at
 * the port), _NOMEM, those of the socket, and fn's. */
static int read_dgram(pl_mm_conn *c, const uint8_t *msg, size_t len, uint32_t xid, reply_fn *fn,
                      void *ctx)
{
    uint8_t *buf = malloc(DGRAM_MAX);
    if (buf == NULL)
        return PARLEY_ERR_NOMEM;
    unsigned every = RETRANSMIT_MS;
    int64_t next_tx = pl_now_ns() + (int64_t)every * 1000000;
    int rc;
    for (;;) {
        size_t got;
        int e = 0;
        int64_t until = next_tx < c->deadline ? next_tx : c->deadline;
        rc = pl_sock_recv(c->fd, buf, DGRAM_MAX, MSG_TRUNC, until, &c->rcvtimeo, &got, &e);
        if (rc == PARLEY_ERR_TIMEDOUT && until < c->deadline) {
            size_t sent;
            rc = pl_sock_send(c->fd, msg, len, c->deadline, &sent, &e);
            if (rc != PARLEY_OK)
                break;
            every = every > RETRANSMIT_MAX_MS / 2 ? RETRANSMIT_MAX_MS : every * 2;
            next_tx = pl_now_ns() + (int64_t)every * 1000000;
            continue;
        }
        if (rc != PARLEY_OK)
            break;
        if (got < 4 || parley_ld_u32(buf) != xid)
            continue;
        rc = got > DGRAM_MAX ? PARLEY_ERR_MSG_TOO_LARGE : fn(buf, got, ctx);
        break;
    }
    free(buf);
    return rc;
}

/* What a matchmaker call's reply decodes into (mm_reply_fn's ctx). */
typedef struct mm_reply_ctx {
    uint32_t xid, proc;
    parley_arena *arena;
    pl_mm_reply *out;
} mm_reply_ctx;

static int mm_reply_fn(const void *msg, size_t len, void *ctx)
{
    mm_reply_ctx *m = ctx;
    return pl_mm_reply_decode(msg, len, m->xid, m->proc, m->arena, m->out);
}

/* call_on sends on c the call xid whose header and arguments e holds
 * (encoded at buf + 4, the room for a record mark left before them) and
 * reads its reply with fn, before c->deadline. Errors: the encoder's, the socket's, and those of
 * reading the reply. */
static int call_on(pl_mm_conn *c, uint8_t *buf, parley_enc *e, uint32_t xid, reply_fn *fn,
                   void *ctx)
{
    size_t n = 0, sent;
    int err = 0;
    int rc = parley_enc_finish(e, &n);
    if (rc != PARLEY_OK)
        return rc;
    const uint8_t *msg = buf + 4;
    if (!c->dgram) {
        rc = pl_rm_frame(buf, n);
        msg = buf;
        n += 4;
    }
    if (rc == PARLEY_OK)
        rc = pl_sock_send(c->fd, msg, n, c->deadline, &sent, &err);
    if (rc != PARLEY_OK)
        return rc;
    if (c->dgram)
        return read_dgram(c, msg, n, xid, fn, ctx);
    return read_stream(c, fn, ctx);
}

/* pl_mm_call calls procedure proc of the matchmaker with args on c, before
 * c->deadline, and decodes its reply into *out (see pl_mm_reply_decode: a
 * LOOKUP's entries are allocated from arena, which owns them); *out is
 * written only on success. The status in *out is the matchmaker's answer,
 * left to the caller to judge. Errors: the encoder's (PARLEY_ERR_NULL,
 * _TOO_LONG for a string over its bound), _INVALID (an unknown proc), the
 * socket's (_CLOSED, _TIMEDOUT, _REFUSED, _IO, ...), and those of reading and
 * decoding the reply (read_stream, read_dgram). */
int pl_mm_call(pl_mm_conn *c, uint32_t proc, const pl_mm_args *args, parley_arena *arena,
               pl_mm_reply *out)
{
    if (proc != PL_MM_REGISTER && proc != PL_MM_UNREGISTER && proc != PL_MM_LOOKUP)
        return PARLEY_ERR_INVALID;
    uint8_t buf[CALL_MAX];
    uint32_t xid = c->xid++;
    parley_enc e;
    parley_enc_init(&e, buf + 4, sizeof buf - 4);
    pl_msg_encode_call(&e, xid, PL_MM_PROG, PL_MM_VERS, proc, NULL, NULL);
    if (proc == PL_MM_REGISTER)
        enc_registration(&e, args);
    else
        enc_key(&e, args);
    mm_reply_ctx m = {xid, proc, arena, out};
    return call_on(c, buf, &e, xid, mm_reply_fn, &m);
}

/* ---- the connection --------------------------------------------------------- */

/* is_local_host tells whether host names this host, so that the
 * service's Unix sockets are reachable and its wildcard addresses are
 * loopback. */
static int is_local_host(const char *host)
{
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        return 1;
    return strncmp(host, "127.", 4) == 0;
}

/* conn_open connects *c to the matchmaker at host:port (see pl_mm_address;
 * mm receives its address, parsed, to which c->host points) before
 * deadline: each address the name resolves to is tried in order, as the
 * client does, until one connects. The caller closes c->fd. Errors:
 * PARLEY_ERR_ADDRESS, _BUFFER_FULL, _RESOLVE, _NOMEM, and the last address's
 * error of connecting (_REFUSED, _CONNECT, _TIMEDOUT). */
static int conn_open(pl_mm_conn *c, pl_addr *mm, const char *host, uint16_t port, int64_t deadline)
{
    char where[PL_ADDR_HOST_MAX + 64];
    pl_sockaddr *list;
    size_t n;
    int rc = pl_mm_address(host, port, where, sizeof where);
    if (rc == PARLEY_OK)
        rc = pl_addr_parse(where, mm);
    if (rc == PARLEY_OK)
        rc = pl_addr_resolve(mm, &list, &n);
    if (rc != PARLEY_OK)
        return rc;
    int fd = -1;
    rc = PARLEY_ERR_RESOLVE;
    for (size_t i = 0; i < n; i++) {
        int e = 0;
        rc = pl_sock_connect(&fd, (const struct sockaddr *)&list[i].ss, list[i].len,
                             list[i].socktype, deadline, &e);
        if (rc == PARLEY_OK || rc == PARLEY_ERR_TIMEDOUT)
            break;
    }
    pl_addr_resolved_free(list);
    if (rc != PARLEY_OK)
        return rc;
    c->fd = fd;
    c->dgram = mm->transport == PL_TR_UDP;
    c->local = mm->transport == PL_TR_UNIX || is_local_host(mm->host);
    c->host = mm->host;
    c->deadline = deadline;
    /* xids differ between processes, calls and connections at once */
    c->xid = (uint32_t)pl_now_ns() ^ ((uint32_t)getpid() << 16) ^ (uint32_t)((uintptr_t)c >> 4);
    c->rcvtimeo = 0;
    return PARLEY_OK;
}

/* status_error is the parley_err of a matchmaker's answer. */
static int status_error(uint32_t st)
{
    switch (st) {
    case PL_MM_OK:
        return PARLEY_OK;
    case PL_MM_DENIED:
        return PARLEY_ERR_NOT_LOCAL;
    case PL_MM_NOT_OWNER:
        return PARLEY_ERR_NOT_OWNER;
    case PL_MM_EXISTS:
        return PARLEY_ERR_NAME_HELD;
    case PL_MM_NOENT:
        return PARLEY_ERR_NOT_REGISTERED;
    case PL_MM_FULL:
        return PARLEY_ERR_TABLE_FULL;
    case PL_MM_INVALID:
        return PARLEY_ERR_INVALID;
    case PL_MM_STALE:
        return PARLEY_ERR_CLUSTER_STALE;
    }
    return PARLEY_ERR_PROTOCOL; /* dec_status lets no other value through */
}

/* ---- the operations --------------------------------------------------------- */

/* rank orders the transports a client tries: a Unix socket first when the
 * server is on this host, then TCP, TCP over IPv6, UDP, UDP over IPv6; -1
 * for one it cannot use. */
static int rank(const parley_netid *t, int local)
{
    if (t->family == AF_UNIX)
        return local ? 0 : -1;
    int v6 = t->family == AF_INET6;
    return t->socktype == SOCK_STREAM ? 1 + v6 : 3 + v6;
}

/* is_wildcard tells whether ss is a wildcard address (0.0.0.0, ::). */
static int is_wildcard(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return 0;
}

/* unwild replaces a wildcard address (0.0.0.0, ::; a server listening on
 * every interface) by one of the host the matchmaker is on: loopback for
 * the local one, else the first address host resolves to in the family. */
static int unwild(struct sockaddr_storage *ss, socklen_t *len, const char *host, int local)
{
    if (!is_wildcard(ss))
        return 1;
    uint16_t port = ss->ss_family == AF_INET ? ((struct sockaddr_in *)ss)->sin_port
                                             : ((struct sockaddr_in6 *)ss)->sin6_port;
    if (local) {
        if (ss->ss_family == AF_INET)
            ((struct sockaddr_in *)ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        else
            ((struct sockaddr_in6 *)ss)->sin6_addr = in6addr_loopback;
        return 1;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = ss->ss_family;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL)
        return 0;
    int ok = res->ai_addrlen <= sizeof *ss;
    if (ok) {
        memcpy(ss, res->ai_addr, res->ai_addrlen);
        *len = res->ai_addrlen;
        if (ss->ss_family == AF_INET)
            ((struct sockaddr_in *)ss)->sin_port = port;
        else
            ((struct sockaddr_in6 *)ss)->sin6_port = port;
    }
    freeaddrinfo(res);
    return ok;
}

/* The owner the matchmaker gives an instance on another host, learnt from
 * the cluster (matchmaker.idl's mm_entry). */
#define OWNER_CLUSTER "cluster"

/* is_cluster tells whether e is an instance on another host of the
 * cluster: its matchmaker answers them after this host's own. */
static int is_cluster(const pl_mm_entry *e)
{
    return strcmp(e->owner, OWNER_CLUSTER) == 0;
}

/* entry_rank is the rank (see rank) of the entry e for a client of program
 * prog, -1 when it cannot be used: another program, an unknown netid, a
 * Unix socket of another host. An instance of the cluster is on another
 * host whatever the matchmaker's host is. */
static int entry_rank(const pl_mm_entry *e, uint32_t prog, int local)
{
    const parley_netid *t = parley_netid_find(e->netid);
    if (t == NULL || e->prog != prog)
        return -1;
    return rank(t, local && !is_cluster(e));
}

/* take_entry writes the address of the entry e (of netid t) into *s;
 * returns 0 when it has none usable: an address that is no address of its
 * netid, or a wildcard address of the cluster (published addresses are
 * made specific by their host's matchmaker, and the host of this one would
 * be the wrong one to put in its place). */
static int take_entry(const pl_mm_conn *c, const pl_mm_entry *e, const parley_netid *t,
                      pl_sockaddr *s)
{
    int cluster = is_cluster(e);
    if (parley_uaddr_parse(e->uaddr, t->family, &s->ss, &s->len) != PARLEY_OK)
        return 0;
    if (cluster ? is_wildcard(&s->ss) : !unwild(&s->ss, &s->len, c->host, c->local))
        return 0;
    s->family = t->family;
    s->socktype = t->socktype;
    s->protocol = t->protocol;
    s->remote = cluster;
    return 1;
}

/* pl_mm_lookup_on does pl_mm_lookup's work on the connection c: it asks
 * for the service name (vers, or any version when that one is not there)
 * and picks the addresses as pl_mm_lookup says. */
int pl_mm_lookup_on(pl_mm_conn *c, const char *name, uint32_t prog, uint32_t vers, int want_dgram,
                    pl_sockaddr **out, size_t *n, int *dgram)
{
    parley_arena *arena = parley_arena_create(0);
    if (arena == NULL)
        return PARLEY_ERR_NOMEM;
    pl_mm_args q = {.name = name, .prog = 0, .vers = vers, .netid = "", .uaddr = NULL};
    pl_mm_reply res = {0, 0, NULL};
    int rc = pl_mm_call(c, PL_MM_LOOKUP, &q, arena, &res);
    if (rc == PARLEY_OK && res.status == PL_MM_NOENT) {
        /* is it there in another version? */
        pl_mm_reply any = {0, 0, NULL};
        q.vers = 0;
        if (pl_mm_call(c, PL_MM_LOOKUP, &q, arena, &any) == PARLEY_OK && any.status == PL_MM_OK)
            rc = PARLEY_ERR_PROG_MISMATCH;
    }
    if (rc == PARLEY_OK)
        rc = status_error(res.status);
    pl_sockaddr *list = NULL;
    size_t count = 0;
    int other_prog = 0, kind = want_dgram, local = c->local;
    if (rc == PARLEY_OK) {
        list = calloc(res.n ? res.n : 1, sizeof *list);
        if (list == NULL)
            rc = PARLEY_ERR_NOMEM;
        /* the kind: the best-ranked transport's, unless asked for; this
         * host's instances choose it when there are any, the cluster's
         * otherwise */
        for (int group = 0; rc == PARLEY_OK && want_dgram < 0 && kind < 0 && group < 2; group++) {
            int best = -1;
            for (uint32_t i = 0; i < res.n; i++) {
                const pl_mm_entry *e = &res.entries[i];
                int r = entry_rank(e, prog, local);
                if (is_cluster(e) != group || r < 0 || (best >= 0 && r >= best))
                    continue;
                best = r;
                kind = parley_netid_find(e->netid)->socktype == SOCK_DGRAM;
            }
        }
        /* the entries of that kind: this host's, then the cluster's, each
         * best rank first, in the order answered within a rank */
        for (int group = 0; rc == PARLEY_OK && group < 2; group++) {
            for (int r = 0; r <= 4; r++) {
                for (uint32_t i = 0; i < res.n; i++) {
                    const pl_mm_entry *e = &res.entries[i];
                    if (e->prog != prog) {
                        other_prog = 1;
                        continue;
                    }
                    const parley_netid *t = parley_netid_find(e->netid);
                    if (is_cluster(e) != group || entry_rank(e, prog, local) != r ||
                        (t->socktype == SOCK_DGRAM) != kind)
                        continue;
                    count += take_entry(c, e, t, &list[count]);
                }
            }
        }
        if (rc == PARLEY_OK && count == 0)
            rc = other_prog ? PARLEY_ERR_PROG_UNAVAIL : PARLEY_ERR_NOT_REGISTERED;
    }
    parley_arena_destroy(arena);
    if (rc != PARLEY_OK) {
        free(list);
        return rc;
    }
    *out = list;
    *n = count;
    *dgram = kind;
    return PARLEY_OK;
}

/* The start of the next look-up's rotation of the cluster's instances
 * (pl_mm_spread): one counter for the whole process, so that the
 * connections of all its handles, made one after another, take the
 * instances in turn; seeded at random once, so that the processes of a
 * host started together do not all begin with the same instance. */
static atomic_uint spread_next;
static pthread_once_t spread_once = PTHREAD_ONCE_INIT;

static void spread_seed(void)
{
    unsigned seed;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
        seed = (unsigned)pl_now_ns() ^ (unsigned)getpid();
    atomic_store_explicit(&spread_next, seed, memory_order_relaxed);
}

/* reverse reverses the n addresses at a. */
static void reverse(pl_sockaddr *a, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        pl_sockaddr t = a[i];
        a[i] = a[n - 1 - i];
        a[n - 1 - i] = t;
    }
}

/* pl_mm_spread turns the instances of the cluster in list (n addresses of
 * a look-up, this host's first, the cluster's, remote, after them), so
 * that the first of them is the next in turn: a new connection goes to
 * this host's instance when there is one, else spreads over the cluster's.
 * Called once per connection a client makes (not for the look-up that
 * chooses a handle's transport, which connects nowhere). Thread-safe: the
 * turn is an atomic counter. */
void pl_mm_spread(pl_sockaddr *list, size_t n)
{
    size_t first = 0;
    while (first < n && !list[first].remote)
        first++;
    size_t m = n - first;
    if (m < 2)
        return;
    pthread_once(&spread_once, spread_seed);
    size_t k = atomic_fetch_add_explicit(&spread_next, 1, memory_order_relaxed) % m;
    if (k == 0)
        return;
    /* rotated left by k, in place: each part reversed, then the whole */
    reverse(list + first, k);
    reverse(list + first + k, m - k);
    reverse(list + first, m);
}

/* pl_mm_lookup asks the matchmaker (a's host and port, or the default) for
 * the addresses of the service a->name, program prog, version vers, and
 * returns those of one kind of transport, in the order to try them: a new
 * array of *n in *out (released with pl_addr_resolved_free), and *dgram
 * (nonzero: UDP). want_dgram chooses the kind (0 streams, 1 datagrams, -1
 * the best the service offers: a Unix socket when the matchmaker is on this
 * host, TCP, then UDP; chosen among this host's instances when there are
 * any). The order: this host's instances, then the cluster's (owner
 * "cluster", marked remote), each best transport first, in the order the
 * matchmaker answered them within a transport (pl_mm_spread turns the
 * cluster's for a connection). An instance of the cluster is never a Unix
 * socket nor a wildcard address (its host's matchmaker publishes an address
 * the other hosts reach); one that is, is left out. The whole look-up (connecting, and its one or
 * two calls) takes at most timeout_ms (0: PL_MM_TIMEOUT_MS), which a client takes from its own
 * call's deadline. Errors: PARLEY_ERR_NOT_REGISTERED (no such name, or none on a usable transport),
 * _PROG_MISMATCH (the name is registered, but not version vers),
 * _PROG_UNAVAIL (it is another program), _INVALID (the matchmaker found the
 * name bad), _CLUSTER_STALE (the name is known only from the cluster, and
 * the matchmaker's copy of it is past its staleness bound), the errors of reaching the matchmaker
 * (_REFUSED, _TIMEDOUT,
 * ...) and of its answer (pl_mm_call), _NOMEM. */
int pl_mm_lookup(const pl_addr *a, uint32_t prog, uint32_t vers, int want_dgram,
                 unsigned timeout_ms, pl_sockaddr **out, size_t *n, int *dgram)
{
    pl_mm_conn c;
    pl_addr mm;
    int64_t deadline = pl_deadline_after_ms(timeout_ms ? timeout_ms : PL_MM_TIMEOUT_MS);
    int rc = conn_open(&c, &mm, a->host, a->port, deadline);
    if (rc != PARLEY_OK)
        return rc;
    rc = pl_mm_lookup_on(&c, a->name, prog, vers, want_dgram, out, n, dgram);
    close(c.fd);
    return rc;
}

/* pl_mm_register_on registers r on the connection c (see pl_mm_register). */
int pl_mm_register_on(pl_mm_conn *c, const pl_mm_args *r)
{
    pl_mm_reply res;
    int rc = pl_mm_call(c, PL_MM_REGISTER, r, NULL, &res);
    return rc != PARLEY_OK ? rc : status_error(res.status);
}

/* entry_address writes the Parley address of the entry e ("tcp://HOST:PORT",
 * "udp://...", "unix:///path") into out (cap bytes), a wildcard address
 * made one of the matchmaker's host as a look-up makes it. Errors:
 * PARLEY_ERR_PROTOCOL (e holds no address of its netid), _BUFFER_FULL. */
static int entry_address(const pl_mm_conn *c, const pl_mm_entry *e, char *out, size_t cap)
{
    const parley_netid *t = parley_netid_find(e->netid);
    struct sockaddr_storage ss;
    socklen_t len;
    if (t == NULL || parley_uaddr_parse(e->uaddr, t->family, &ss, &len) != PARLEY_OK ||
        !unwild(&ss, &len, c->host, c->local))
        return PARLEY_ERR_PROTOCOL;
    pl_addr a;
    memset(&a, 0, sizeof a);
    const void *ip = NULL;
    if (ss.ss_family == AF_UNIX) {
        const struct sockaddr_un *sun = (const struct sockaddr_un *)&ss;
        a.transport = PL_TR_UNIX;
        size_t n = strnlen(sun->sun_path, sizeof sun->sun_path);
        if (n >= sizeof a.path)
            return PARLEY_ERR_PROTOCOL;
        memcpy(a.path, sun->sun_path, n);
    } else if (ss.ss_family == AF_INET) {
        ip = &((const struct sockaddr_in *)&ss)->sin_addr;
        a.port = ntohs(((const struct sockaddr_in *)&ss)->sin_port);
    } else {
        ip = &((const struct sockaddr_in6 *)&ss)->sin6_addr;
        a.port = ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
    }
    if (ip != NULL) {
        a.transport = t->socktype == SOCK_DGRAM ? PL_TR_UDP : PL_TR_TCP;
        if (inet_ntop(ss.ss_family, ip, a.host, sizeof a.host) == NULL)
            return PARLEY_ERR_PROTOCOL;
    }
    return pl_addr_format(&a, out, cap, NULL);
}

/* pl_mm_holder_on asks the matchmaker on c who holds r->name (a LOOKUP of
 * every version and transport, after it refused r with PL_MM_EXISTS) and
 * writes the Parley address of the holder into out (cap bytes): the entry
 * on r's netid, else the first entry answered. Errors:
 * PARLEY_ERR_NOT_REGISTERED (the name has no entry: the refusal was for the
 * program, held under another name, or the holder left since), those of
 * the call (pl_mm_call), of entry_address, _NOMEM. */
int pl_mm_holder_on(pl_mm_conn *c, const pl_mm_args *r, char *out, size_t cap)
{
    parley_arena *arena = parley_arena_create(0);
    if (arena == NULL)
        return PARLEY_ERR_NOMEM;
    pl_mm_args q = {.name = r->name, .prog = 0, .vers = 0, .netid = "", .uaddr = NULL};
    pl_mm_reply res = {0, 0, NULL};
    int rc = pl_mm_call(c, PL_MM_LOOKUP, &q, arena, &res);
    if (rc == PARLEY_OK && (res.status != PL_MM_OK || res.n == 0))
        rc = PARLEY_ERR_NOT_REGISTERED;
    if (rc == PARLEY_OK) {
        const pl_mm_entry *pick = &res.entries[0];
        for (uint32_t i = 0; i < res.n; i++)
            if (strcmp(res.entries[i].netid, r->netid) == 0) {
                pick = &res.entries[i];
                break;
            }
        rc = entry_address(c, pick, out, cap);
    }
    parley_arena_destroy(arena);
    return rc;
}

/* pl_mm_register registers the socket address sa (len bytes, of socktype)
 * with the default matchmaker as name, program prog, version vers. A
 * wildcard address is registered as it is (the matchmaker answers it with
 * the address it was reached at). When the matchmaker refuses it because a
 * live server holds the name (PARLEY_ERR_NAME_HELD) and holder is not NULL,
 * the holder's address is asked on the same connection and written into
 * holder (cap bytes; see pl_mm_holder_on), or "" when it cannot be had; holder
 * is left alone on every other outcome. The whole takes at most
 * PL_MM_TIMEOUT_MS. Errors: PARLEY_ERR_ADDRESS (sa has no universal
 * address), _INVALID (a name too long), the matchmaker's refusals
 * (PARLEY_ERR_NOT_LOCAL, _NOT_OWNER, _NAME_HELD, _TABLE_FULL, _INVALID),
 * and those of reaching it. */
int pl_mm_register(const char *name, uint32_t prog, uint32_t vers, const struct sockaddr *sa,
                   socklen_t len, int socktype, char *holder, size_t cap)
{
    const parley_netid *t = parley_netid_for(sa->sa_family, socktype);
    char uaddr[PARLEY_UADDR_LOCAL_MAX + 1];
    if (t == NULL || parley_uaddr_format(sa, len, uaddr, sizeof uaddr, NULL) != PARLEY_OK)
        return PARLEY_ERR_ADDRESS;
    if (strlen(name) > PL_MM_NAME_MAX || strlen(t->netid) > PL_MM_NETID_MAX ||
        strlen(uaddr) > PL_MM_UADDR_MAX)
        return PARLEY_ERR_INVALID;
    pl_mm_conn c;
    pl_addr mm;
    int rc = conn_open(&c, &mm, NULL, 0, pl_deadline_after_ms(PL_MM_TIMEOUT_MS));
    if (rc != PARLEY_OK)
        return rc;
    pl_mm_args r = {.name = name, .prog = prog, .vers = vers, .netid = t->netid, .uaddr = uaddr};
    rc = pl_mm_register_on(&c, &r);
    if (rc == PARLEY_ERR_NAME_HELD && holder != NULL && cap > 0 &&
        pl_mm_holder_on(&c, &r, holder, cap) != PARLEY_OK)
        holder[0] = '\0';
    close(c.fd);
    return rc;
}

/* pl_mm_unregister_on removes name's registrations on the connection c
 * (see pl_mm_unregister). */
int pl_mm_unregister_on(pl_mm_conn *c, const char *name, uint32_t vers, const char *netid)
{
    pl_mm_args k = {.name = name, .prog = 0, .vers = vers, .netid = netid, .uaddr = NULL};
    pl_mm_reply res;
    int rc = pl_mm_call(c, PL_MM_UNREGISTER, &k, NULL, &res);
    if (rc == PARLEY_OK && res.status == PL_MM_NOENT)
        return PARLEY_OK;
    return rc != PARLEY_OK ? rc : status_error(res.status);
}

/* pl_mm_unregister removes name's registrations of version vers (0: all)
 * on netid ("": all) from the default matchmaker, in at most
 * PL_MM_TIMEOUT_MS. Nothing to remove is success. Errors: as
 * pl_mm_register's. */
int pl_mm_unregister(const char *name, uint32_t vers, const char *netid)
{
    if (strlen(name) > PL_MM_NAME_MAX || strlen(netid) > PL_MM_NETID_MAX)
        return PARLEY_ERR_INVALID;
    pl_mm_conn c;
    pl_addr mm;
    int rc = conn_open(&c, &mm, NULL, 0, pl_deadline_after_ms(PL_MM_TIMEOUT_MS));
    if (rc != PARLEY_OK)
        return rc;
    rc = pl_mm_unregister_on(&c, name, vers, netid);
    close(c.fd);
    return rc;
}

/* ---- a program by number, through rpcbind ---------------------------------- */

/* rpcbind's protocol (RFC 1833), version 3, which the matchmaker speaks on
 * its port too: GETADDR(rpcb) answers the universal address of a program,
 * version and netid ("" when none is registered). */
#define RPCB_PROG        100000u
#define RPCB_VERS        3u
#define RPCBPROC_GETADDR 3u
#define RPCB_STRING_MAX  256u /* the bound on rpcb's strings and the answer */

/* What a GETADDR reply decodes into (rpcb_reply_fn's ctx). */
typedef struct rpcb_reply_ctx {
    uint32_t xid;
    parley_arena *arena;
    char *uaddr; /* from arena */
} rpcb_reply_ctx;

/* rpcb_reply_fn decodes the reply to a GETADDR call: its header, the RPC
 * errors it carries, and the string answered, into the ctx's arena. */
static int rpcb_reply_fn(const void *msg, size_t len, void *ctx)
{
    rpcb_reply_ctx *r = ctx;
    parley_limits lim = {.max_alloc = 0, .max_depth = 0, .flags = 0, .arena = r->arena};
    parley_dec d;
    pl_reply_header h;
    parley_dec_init(&d, msg, len, &lim);
    int rc = pl_msg_decode_reply(&d, &h);
    if (rc != PARLEY_OK)
        return rc;
    if (h.xid != r->xid)
        return PARLEY_ERR_PROTOCOL;
    rc = pl_reply_error(&h);
    if (rc != PARLEY_OK)
        return rc;
    parley_get_string(&d, &r->uaddr, RPCB_STRING_MAX);
    if (!d.err && d.p != d.end)
        parley_dec_fail(&d, PARLEY_ERR_TRAILING);
    return parley_dec_finish(&d, NULL);
}

/* pl_rpcb_getaddr_on does pl_rpcb_getaddr's work on the connection c. */
int pl_rpcb_getaddr_on(pl_mm_conn *c, uint32_t prog, uint32_t vers, const char *netid,
                       pl_sockaddr *out)
{
    const parley_netid *t = parley_netid_find(netid);
    if (t == NULL || t->family == AF_UNIX)
        return PARLEY_ERR_INVALID;
    parley_arena *arena = parley_arena_create(0);
    if (arena == NULL)
        return PARLEY_ERR_NOMEM;
    uint8_t buf[4 + 40 + 8 + 3 * (4 + RPCB_STRING_MAX)];
    uint32_t xid = c->xid++;
    parley_enc e;
    parley_enc_init(&e, buf + 4, sizeof buf - 4);
    pl_msg_encode_call(&e, xid, RPCB_PROG, RPCB_VERS, RPCBPROC_GETADDR, NULL, NULL);
    parley_put_u32(&e, prog);
    parley_put_u32(&e, vers);
    parley_put_string(&e, netid, RPCB_STRING_MAX);
    parley_put_string(&e, "", RPCB_STRING_MAX); /* r_addr: unused by GETADDR */
    parley_put_string(&e, "", RPCB_STRING_MAX); /* r_owner: likewise */
    rpcb_reply_ctx r = {xid, arena, NULL};
    int rc = call_on(c, buf, &e, xid, rpcb_reply_fn, &r);
    pl_sockaddr s;
    memset(&s, 0, sizeof s);
    if (rc == PARLEY_OK && r.uaddr[0] == '\0')
        rc = PARLEY_ERR_NOT_REGISTERED;
    if (rc == PARLEY_OK && (parley_uaddr_parse(r.uaddr, t->family, &s.ss, &s.len) != PARLEY_OK ||
                            !unwild(&s.ss, &s.len, c->host, c->local)))
        rc = PARLEY_ERR_PROTOCOL; /* an answer that is no address of netid */
    parley_arena_destroy(arena);
    if (rc != PARLEY_OK)
        return rc;
    s.family = t->family;
    s.socktype = t->socktype;
    s.protocol = t->protocol;
    *out = s;
    return PARLEY_OK;
}

/* pl_rpcb_getaddr asks the portmapper of host (rpcbind, or a matchmaker,
 * which speaks its protocol on its port: PARLEY_MATCHMAKER's port, else
 * 111) for the address of program prog, version vers on netid ("tcp",
 * "udp", "tcp6", "udp6"), with RPCBPROC_GETADDR of rpcbind version 3, in at
 * most timeout_ms (0: PL_MM_TIMEOUT_MS), and writes it to *out. A wildcard
 * address is answered as one of host. Errors: PARLEY_ERR_INVALID (another
 * netid), _NOT_REGISTERED (nothing registered for prog, vers and netid),
 * _PROTOCOL (an answer that is no address of netid), the errors of
 * reaching the portmapper (_ADDRESS, _RESOLVE, _REFUSED, _TIMEDOUT, ...)
 * and of its answer (_PROG_UNAVAIL, _PROG_MISMATCH: no rpcbind version 3
 * there), _NOMEM. */
int pl_rpcb_getaddr(const char *host, uint32_t prog, uint32_t vers, const char *netid,
                    unsigned timeout_ms, pl_sockaddr *out)
{
    const parley_netid *t = parley_netid_find(netid);
    if (t == NULL || t->family == AF_UNIX)
        return PARLEY_ERR_INVALID;
    if (host == NULL || *host == '\0')
        return PARLEY_ERR_ADDRESS;
    pl_mm_conn c;
    pl_addr mm;
    int64_t deadline = pl_deadline_after_ms(timeout_ms ? timeout_ms : PL_MM_TIMEOUT_MS);
    int rc = conn_open(&c, &mm, host, 0, deadline);
    if (rc != PARLEY_OK)
        return rc;
    rc = pl_rpcb_getaddr_on(&c, prog, vers, netid, out);
    close(c.fd);
    return rc;
}
