/*
 * tests/fault/proxy.c: the fault-injecting proxy (proxy.h) behind the
 * delivery tests. It sits beside the runtime, not in it: a test starts it
 * next to a server and points a client at it, and the runtime never knows.
 *
 * One thread runs an event loop over poll(2): the listening socket, an
 * eventfd that wakes the loop for pf_flush, pf_retarget and pf_stop, the
 * upstream socket of each UDP flow, and both sockets of each TCP
 * connection, all non-blocking. Datagrams held back wait in a binary heap
 * ordered by due time (delays) or in one slot per flow and direction
 * (reordering); each deadline bounds the poll's time-out.
 *
 * Locking: one mutex guards the whole proxy. The loop holds it except while
 * it sleeps in poll(2), so pf_set and pf_stats_get never see a half-handled
 * event. Only the loop touches descriptors; pf_flush and pf_retarget hand
 * it a command and wait on a condition variable until it is done, so no
 * descriptor is closed under a poll that watches it.
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "parley/error.h"

/* The largest UDP payload, and how many datagrams or accepts one wake-up
 * handles per socket before the others get their turn. */
#define PX_DGRAM_MAX 65536u
#define PX_BATCH     64u

/* The poll set: the wake-up descriptor, the listening socket, one socket
 * per flow and two per connection. */
#define PX_MAX_FDS (2u + PF_MAX_FLOWS + 2u * PF_MAX_CONNS)

/* Streams of the PRNG, told apart by kind. */
enum { PX_STREAM_UDP = 1, PX_STREAM_TCP = 2 };

/* What a slot of the poll set stands for. */
enum { PX_FD_WAKE, PX_FD_LISTEN, PX_FD_FLOW, PX_FD_CLIENT, PX_FD_UPSTREAM };

/* A datagram held back, delayed or for reordering. due_ms is when it must
 * go; seq keeps datagrams due at the same time in arrival order. */
typedef struct px_dgram {
    uint64_t due_ms;
    uint64_t seq;
    unsigned flow; /* slot in pf_proxy.flows */
    uint8_t dir, copies;
    size_t len;
    uint8_t data[];
} px_dgram;

/* A UDP flow: one client address, the upstream socket that speaks for it,
 * and per direction a PRNG stream and the datagram held for reordering. */
typedef struct px_flow {
    int used;
    struct sockaddr_storage peer;
    socklen_t peerlen;
    int up;
    uint64_t last_ms;
    uint64_t rng[2];
    px_dgram *held[2];
} px_flow;

/* Where the record-marking scan of a byte stream stands (RFC 5531, section
 * 11): each fragment starts with 4 bytes, the last-fragment bit and a
 * 31-bit length. pos is the stream offset scanned up to; when found, end is
 * the offset just past the record that ends first. */
typedef struct px_scan {
    uint64_t pos, end;
    uint64_t rec_len;
    uint32_t frag_left;
    uint8_t hdr[4];
    unsigned hdr_have; /* 4 while in a fragment's body */
    int last, found;
} px_scan;

/* One direction of a TCP connection: bytes read from the source and not yet
 * written to the sink are buf[off..len); in and out count the bytes read and
 * written since the connection opened, stream offsets for the scan. */
typedef struct px_pipe {
    uint8_t *buf;
    size_t off, len;
    uint64_t in, out;
    int eof;  /* the source ended */
    int shut; /* the sink's write side is shut since */
    px_scan scan;
} px_pipe;

/* A TCP connection: the client's socket, the upstream one (connecting until
 * it is writable), the two pipes, and the break in waiting, if any. */
typedef struct px_conn {
    int used;
    int cfd, ufd;
    int connecting;
    int breaking;
    uint64_t break_due;
    uint64_t rng;
    px_pipe pipe[2];  /* [PF_TO_SERVER] reads the client, [PF_TO_CLIENT] the server */
    int cslot, uslot; /* their places in the poll set, or -1 */
} px_conn;

/* A request for the loop, on the requester's stack until done is set. */
enum { PX_CMD_FLUSH = 1, PX_CMD_RETARGET = 2 };
typedef struct px_cmd {
    int kind;
    int mask; /* PX_CMD_FLUSH: the directions */
    struct sockaddr_storage target;
    socklen_t targetlen;
    int done;
} px_cmd;

struct pf_proxy {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a command done */
    pthread_t thread;
    int stopping;
    px_cmd *cmd;

    pf_opts opts;
    uint64_t seed;
    pf_stats st;
    int socktype;
    int lfd, wfd;
    struct sockaddr_storage target;
    socklen_t targetlen;

    px_flow flows[PF_MAX_FLOWS];
    px_conn conns[PF_MAX_CONNS];
    uint64_t nconns; /* connections accepted, numbering their streams */
    px_dgram **heap; /* PF_MAX_HELD entries */
    size_t nheap;
    size_t nheld; /* heap entries and datagrams held for reordering */
    uint64_t seq;
    uint8_t *dbuf; /* PX_DGRAM_MAX bytes for a datagram just read */

    struct pollfd pfd[PX_MAX_FDS];
    uint8_t kind[PX_MAX_FDS];
    unsigned idx[PX_MAX_FDS];
};

/* px_splitmix advances a splitmix64 state and returns its next number. */
static uint64_t px_splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* px_stream returns the initial state of stream n of a kind, so that each
 * flow and connection draws from its own sequence whatever the others do. */
static uint64_t px_stream(uint64_t seed, uint64_t kind, uint64_t n)
{
    uint64_t s = seed ^ (kind * 0xd1b54a32d192ed03u) ^ ((n + 1) * 0x8cb92ba72f3d8dd7u);
    return px_splitmix(&s);
}

/* px_pct draws from a stream and says whether the draw falls under pct
 * percent. The draw is made whatever pct is, so that changing the faults
 * does not shift the decisions that follow. */
static int px_pct(uint64_t *rng, unsigned pct)
{
    return px_splitmix(rng) % 100u < pct;
}

/* px_now_ms is the monotonic clock in milliseconds, the time of every
 * deadline. */
static uint64_t px_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* px_mask says whether faults apply in direction dir (a mask of 0 is both). */
static int px_mask(const pf_opts *o, int dir)
{
    int m = o->direction_mask ? o->direction_mask : PF_DIR_BOTH;
    return (m >> dir) & 1;
}

/* px_opts_valid checks the percentages and the direction mask. */
static int px_opts_valid(const pf_opts *o)
{
    return o->drop_pct <= 100 && o->dup_pct <= 100 && o->delay_pct <= 100 &&
           o->reorder_pct <= 100 && o->break_after_call_pct <= 100 &&
           (o->direction_mask & ~PF_DIR_BOTH) == 0;
}

/* pf_addr_parse: see proxy.h. */
int pf_addr_parse(const char *addr, struct sockaddr_storage *ss, socklen_t *len, int *socktype)
{
    if (addr == NULL || ss == NULL || len == NULL || socktype == NULL)
        return PARLEY_ERR_INVALID;
    int st;
    if (strncmp(addr, "udp://", 6) == 0)
        st = SOCK_DGRAM;
    else if (strncmp(addr, "tcp://", 6) == 0)
        st = SOCK_STREAM;
    else
        return PARLEY_ERR_ADDRESS;
    const char *h = addr + 6, *rest;
    size_t hlen;
    int v6 = *h == '[';
    if (v6) {
        const char *close = strchr(h, ']');
        if (close == NULL)
            return PARLEY_ERR_ADDRESS;
        h++;
        hlen = (size_t)(close - h);
        rest = close + 1;
    } else {
        rest = strrchr(h, ':');
        if (rest == NULL)
            return PARLEY_ERR_ADDRESS;
        hlen = (size_t)(rest - h);
    }
    char host[INET6_ADDRSTRLEN];
    if (hlen == 0 || hlen >= sizeof host || rest[0] != ':')
        return PARLEY_ERR_ADDRESS;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    const char *d = rest + 1;
    unsigned long port = 0;
    size_t nd = 0;
    for (; d[nd] >= '0' && d[nd] <= '9' && nd < 5; nd++)
        port = port * 10 + (unsigned long)(d[nd] - '0');
    if (nd == 0 || d[nd] != '\0' || port > 65535)
        return PARLEY_ERR_ADDRESS;

    struct sockaddr_storage a;
    memset(&a, 0, sizeof a);
    socklen_t alen;
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
            return PARLEY_ERR_ADDRESS;
        alen = sizeof *s6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&a;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
            return PARLEY_ERR_ADDRESS;
        alen = sizeof *s4;
    }
    *ss = a;
    *len = alen;
    *socktype = st;
    return PARLEY_OK;
}

/* px_addr_format writes a socket address back as pf_addr_parse reads it.
 * Errors: PARLEY_ERR_INVALID (cap too small, a family other than IP). */
static int px_addr_format(const struct sockaddr_storage *ss, int socktype, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN];
    unsigned port;
    int n;
    const char *scheme = socktype == SOCK_DGRAM ? "udp" : "tcp";
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
        port = ntohs(s4->sin_port);
        n = snprintf(buf, cap, "%s://%s:%u", scheme, host, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
        port = ntohs(s6->sin6_port);
        n = snprintf(buf, cap, "%s://[%s]:%u", scheme, host, port);
    } else {
        return PARLEY_ERR_INVALID;
    }
    return n < 0 || (size_t)n >= cap ? PARLEY_ERR_INVALID : PARLEY_OK;
}

/* px_wake makes the loop's poll return. */
static void px_wake(pf_proxy *p)
{
    uint64_t one = 1;
    ssize_t r = write(p->wfd, &one, sizeof one);
    (void)r; /* a full counter (EAGAIN) wakes the loop just as well */
}

/* px_abort closes fd with a reset (SO_LINGER 0) rather than an orderly
 * FIN: the peer's next read fails with ECONNRESET. */
static void px_abort(int fd)
{
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

/* ---- the timer queue: a binary heap of px_dgram by (due_ms, seq) ---- */

/* px_before orders the timer queue: by due time, then by arrival. */
static int px_before(const px_dgram *a, const px_dgram *b)
{
    return a->due_ms != b->due_ms ? a->due_ms < b->due_ms : a->seq < b->seq;
}

/* px_heap_down moves entry i down to its place in the heap. */
static void px_heap_down(pf_proxy *p, size_t i)
{
    for (;;) { /* at most log2(PF_MAX_HELD) rounds */
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < p->nheap && px_before(p->heap[l], p->heap[m]))
            m = l;
        if (r < p->nheap && px_before(p->heap[r], p->heap[m]))
            m = r;
        if (m == i)
            return;
        px_dgram *t = p->heap[i];
        p->heap[i] = p->heap[m];
        p->heap[m] = t;
        i = m;
    }
}

/* px_heap_push adds g; the caller has checked that nheld < PF_MAX_HELD. */
static void px_heap_push(pf_proxy *p, px_dgram *g)
{
    size_t i = p->nheap++;
    p->heap[i] = g;
    while (i > 0 && px_before(p->heap[i], p->heap[(i - 1) / 2])) {
        px_dgram *t = p->heap[i];
        p->heap[i] = p->heap[(i - 1) / 2];
        p->heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
    p->nheld++;
}

/* px_heap_pop takes out the entry due first; the heap is not empty. */
static px_dgram *px_heap_pop(pf_proxy *p)
{
    px_dgram *g = p->heap[0];
    p->heap[0] = p->heap[--p->nheap];
    px_heap_down(p, 0);
    p->nheld--;
    return g;
}

/* ---- UDP ---- */

/* px_udp_send sends copies of a datagram of flow f in direction dir: to the
 * server on the flow's upstream socket, to the client from the listening
 * socket. A datagram the kernel refuses is counted and dropped. */
static void px_udp_send(pf_proxy *p, px_flow *f, int dir, const uint8_t *data, size_t len,
                        unsigned copies)
{
    for (unsigned i = 0; i < copies; i++) {
        ssize_t w;
        if (dir == PF_TO_SERVER)
            w = send(f->up, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        else
            w = sendto(p->lfd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                       (const struct sockaddr *)&f->peer, f->peerlen);
        if (w < 0)
            p->st.dir[dir].send_failed++;
        else
            p->st.dir[dir].sent++;
    }
}

/* px_dgram_send sends a held datagram and frees it. */
static void px_dgram_send(pf_proxy *p, px_dgram *g)
{
    px_udp_send(p, &p->flows[g->flow], g->dir, g->data, g->len, g->copies);
    free(g);
}

/* px_heap_take takes out of the timer queue the delayed datagrams of flow
 * slot flow (of every flow when negative) that go in a direction of mask,
 * sends them in order when send is set, frees them, and keeps the others. */
static void px_heap_take(pf_proxy *p, int flow, int mask, int send)
{
    px_dgram *keep[PF_MAX_HELD];
    size_t nkeep = 0;
    while (p->nheap > 0) {
        px_dgram *g = px_heap_pop(p);
        if ((flow < 0 || g->flow == (unsigned)flow) && ((mask >> g->dir) & 1)) {
            if (send)
                px_dgram_send(p, g);
            else
                free(g);
        } else {
            keep[nkeep++] = g;
        }
    }
    for (size_t i = 0; i < nkeep; i++)
        px_heap_push(p, keep[i]);
}

/* px_dgram_new copies a datagram to hold until due, or returns NULL when
 * PF_MAX_HELD are held already or memory is short (it then passes). */
static px_dgram *px_dgram_new(pf_proxy *p, unsigned flow, int dir, unsigned copies,
                              const uint8_t *data, size_t len, uint64_t due)
{
    if (p->nheld >= PF_MAX_HELD)
        return NULL;
    px_dgram *g = malloc(sizeof *g + len);
    if (g == NULL)
        return NULL;
    g->due_ms = due;
    g->seq = p->seq++;
    g->flow = flow;
    g->dir = (uint8_t)dir;
    g->copies = (uint8_t)copies;
    g->len = len;
    memcpy(g->data, data, len);
    return g;
}

/* px_udp_fault decides the fate of one datagram of flow slot fi in
 * direction dir. Five numbers are drawn from the flow's stream every time:
 * drop, duplicate, delay, reorder, and the delay's length. A dropped
 * datagram does not release one held for reordering; one that passes does,
 * right after itself. A datagram that finds no room in the bounded queue
 * passes. */
static void px_udp_fault(pf_proxy *p, unsigned fi, int dir, const uint8_t *data, size_t len,
                         uint64_t now)
{
    px_flow *f = &p->flows[fi];
    const pf_opts *o = &p->opts;
    pf_dir_stats *st = &p->st.dir[dir];
    int on = px_mask(o, dir);
    int drop = px_pct(&f->rng[dir], on ? o->drop_pct : 0);
    int dup = px_pct(&f->rng[dir], on ? o->dup_pct : 0);
    int delay = px_pct(&f->rng[dir], on && o->delay_max_ms ? o->delay_pct : 0);
    int reorder = px_pct(&f->rng[dir], on ? o->reorder_pct : 0);
    uint64_t ms = 1 + px_splitmix(&f->rng[dir]) % (o->delay_max_ms ? o->delay_max_ms : 1);
    unsigned copies = dup ? 2 : 1;

    st->datagrams++;
    f->last_ms = now;
    if (drop) {
        st->dropped++;
        return;
    }
    if (dup)
        st->duplicated++;
    if (delay) {
        px_dgram *g = px_dgram_new(p, fi, dir, copies, data, len, now + ms);
        if (g != NULL) {
            px_heap_push(p, g);
            st->delayed++;
            return;
        }
    }
    if (reorder && f->held[dir] == NULL) {
        unsigned wait = o->reorder_wait_ms ? o->reorder_wait_ms : PF_REORDER_WAIT_DEFAULT_MS;
        px_dgram *g = px_dgram_new(p, fi, dir, copies, data, len, now + wait);
        if (g != NULL) {
            f->held[dir] = g;
            p->nheld++;
            st->reordered++;
            return;
        }
    }
    px_udp_send(p, f, dir, data, len, copies);
    if (f->held[dir] != NULL) {
        px_dgram *g = f->held[dir];
        f->held[dir] = NULL;
        p->nheld--;
        px_dgram_send(p, g);
    }
}

/* px_flow_upstream opens a socket connected to the target, or returns -1. */
static int px_flow_upstream(pf_proxy *p)
{
    int fd = socket(p->target.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)&p->target, p->targetlen) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* px_flow_close closes flow slot fi and frees what it held. */
static void px_flow_close(pf_proxy *p, unsigned fi)
{
    px_flow *f = &p->flows[fi];
    for (int d = 0; d < 2; d++) {
        if (f->held[d] != NULL) {
            free(f->held[d]);
            f->held[d] = NULL;
            p->nheld--;
        }
    }
    px_heap_take(p, (int)fi, PF_DIR_BOTH, 0);
    close(f->up);
    f->used = 0;
}

/* px_same_peer compares client addresses by family, address and port only
 * (not the padding nor an IPv6 flow label). */
static int px_same_peer(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return 0;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a;
        const struct sockaddr_in *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
    return x->sin6_port == y->sin6_port &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

/* px_flow_get returns the slot of the flow of client address ss, opening
 * one (and evicting the least recently active flow if all are in use), or
 * -1 when no upstream socket can be made. */
static int px_flow_get(pf_proxy *p, const struct sockaddr_storage *ss, socklen_t sl, uint64_t now)
{
    int free_slot = -1, lru = -1;
    for (unsigned i = 0; i < PF_MAX_FLOWS; i++) {
        px_flow *f = &p->flows[i];
        if (!f->used) {
            if (free_slot < 0)
                free_slot = (int)i;
            continue;
        }
        if (px_same_peer(&f->peer, ss))
            return (int)i;
        if (lru < 0 || f->last_ms < p->flows[lru].last_ms)
            lru = (int)i;
    }
    int fd = px_flow_upstream(p);
    if (fd < 0)
        return -1;
    if (free_slot < 0) {
        px_flow_close(p, (unsigned)lru);
        p->st.flows_evicted++;
        free_slot = lru;
    }
    px_flow *f = &p->flows[free_slot];
    memset(f, 0, sizeof *f);
    f->used = 1;
    f->peer = *ss;
    f->peerlen = sl;
    f->up = fd;
    f->last_ms = now;
    for (int d = 0; d < 2; d++)
        f->rng[d] = px_stream(p->seed, PX_STREAM_UDP, 2 * p->st.flows + (uint64_t)d);
    p->st.flows++;
    return free_slot;
}

/* px_udp_from_clients reads datagrams from the listening socket. */
static void px_udp_from_clients(pf_proxy *p, uint64_t now)
{
    for (unsigned i = 0; i < PX_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        ssize_t n =
            recvfrom(p->lfd, p->dbuf, PX_DGRAM_MAX, MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            continue; /* an error queued by an earlier send: read on */
        }
        int fi = px_flow_get(p, &ss, sl, now);
        if (fi < 0) {
            p->st.dir[PF_TO_SERVER].datagrams++;
            p->st.dir[PF_TO_SERVER].send_failed++;
            continue;
        }
        px_udp_fault(p, (unsigned)fi, PF_TO_SERVER, p->dbuf, (size_t)n, now);
    }
}

/* px_udp_from_server reads the replies that came to flow slot fi. */
static void px_udp_from_server(pf_proxy *p, unsigned fi, uint64_t now)
{
    for (unsigned i = 0; i < PX_BATCH; i++) {
        ssize_t n = recv(p->flows[fi].up, p->dbuf, PX_DGRAM_MAX, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            continue; /* ECONNREFUSED: nobody listens at the target (yet) */
        }
        px_udp_fault(p, fi, PF_TO_CLIENT, p->dbuf, (size_t)n, now);
    }
}

/* ---- TCP ---- */

/* px_scan_next scans the bytes of pi not yet scanned for the end of the
 * next record and stops there. Returns 0, or -1 for a record longer than
 * PF_MAX_RECORD: the stream is not RPC, or is hostile. */
static int px_scan_next(px_pipe *pi)
{
    px_scan *s = &pi->scan;
    while (!s->found && s->pos < pi->in) { /* each round consumes at least one byte */
        const uint8_t *b = pi->buf + pi->off + (size_t)(s->pos - pi->out);
        size_t avail = (size_t)(pi->in - s->pos);
        if (s->hdr_have < 4) {
            s->hdr[s->hdr_have++] = *b;
            s->pos++;
            if (s->hdr_have < 4)
                continue;
            uint32_t v = (uint32_t)s->hdr[0] << 24 | (uint32_t)s->hdr[1] << 16 |
                         (uint32_t)s->hdr[2] << 8 | s->hdr[3];
            s->last = (v >> 31) != 0;
            s->frag_left = v & 0x7fffffffu;
            if (s->frag_left > PF_MAX_RECORD - s->rec_len)
                return -1;
            s->rec_len += s->frag_left;
        } else {
            size_t n = avail < s->frag_left ? avail : s->frag_left;
            s->pos += n;
            s->frag_left -= (uint32_t)n;
        }
        if (s->frag_left == 0) {
            s->hdr_have = 0;
            if (s->last) {
                s->found = 1;
                s->end = s->pos;
                s->rec_len = 0;
            }
        }
    }
    return 0;
}

/* px_conn_close ends a connection: with resets (abort) or orderly. */
static void px_conn_close(pf_proxy *p, px_conn *c, int abort)
{
    if (abort) {
        px_abort(c->cfd);
        px_abort(c->ufd);
    } else {
        close(c->cfd);
        close(c->ufd);
    }
    free(c->pipe[0].buf);
    free(c->pipe[1].buf);
    memset(c, 0, sizeof *c);
}

/* px_conn_break resets both connections for a fault. */
static void px_conn_break(pf_proxy *p, px_conn *c)
{
    p->st.connections_broken++;
    px_conn_close(p, c, 1);
}

/* px_break_now draws the break decision for a call record just written
 * whole to the server. The draw is made for every record. */
static int px_break_now(pf_proxy *p, px_conn *c)
{
    const pf_opts *o = &p->opts;
    int hit = px_pct(&c->rng, px_mask(o, PF_TO_SERVER) ? o->break_after_call_pct : 0);
    return hit && (o->break_max == 0 || p->st.connections_broken < o->break_max);
}

/* px_pipe_flush writes what pipe dir of c holds to its sink, stopping at
 * each record's end to count it and, towards the server, to draw a break.
 * Returns 0, or -1 when the connection is gone (a socket error, a record
 * over the limit, or a break). Bounded: each round writes bytes or ends a
 * record, and the buffer holds at most PF_STREAM_BUF bytes. */
static int px_pipe_flush(pf_proxy *p, px_conn *c, int dir)
{
    px_pipe *pi = &c->pipe[dir];
    int fd = dir == PF_TO_SERVER ? c->ufd : c->cfd;
    for (;;) {
        if (px_scan_next(pi) != 0) {
            p->st.records_rejected++;
            px_conn_close(p, c, 1);
            return -1;
        }
        size_t n = pi->len - pi->off;
        if (pi->scan.found && pi->scan.end - pi->out < n)
            n = (size_t)(pi->scan.end - pi->out);
        size_t w = 0;
        if (n > 0) {
            ssize_t r = send(fd, pi->buf + pi->off, n, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (r < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                    return 0;
                px_conn_close(p, c, 1);
                return -1;
            }
            w = (size_t)r;
            pi->off += w;
            pi->out += w;
            p->st.dir[dir].bytes += w;
            if (pi->off == pi->len)
                pi->off = pi->len = 0;
        }
        if (pi->scan.found && pi->out == pi->scan.end) {
            pi->scan.found = 0;
            p->st.dir[dir].records++;
            if (dir == PF_TO_SERVER && px_break_now(p, c)) {
                if (!p->opts.break_on_reply) {
                    px_conn_break(p, c);
                    return -1;
                }
                unsigned wait =
                    p->opts.break_wait_ms ? p->opts.break_wait_ms : PF_BREAK_WAIT_DEFAULT_MS;
                c->breaking = 1;
                c->break_due = px_now_ms() + wait;
                return 0;
            }
            continue;
        }
        if (n == 0 || w < n)
            return 0;
    }
}

/* px_pipe_read reads from fd into pi while there is room. Returns 0, or -1
 * on a socket error (the caller resets the connection). */
static int px_pipe_read(px_pipe *pi, int fd)
{
    if (pi->off > 0) {
        memmove(pi->buf, pi->buf + pi->off, pi->len - pi->off);
        pi->len -= pi->off;
        pi->off = 0;
    }
    size_t room = PF_STREAM_BUF - pi->len;
    if (room == 0 || pi->eof)
        return 0;
    ssize_t r = recv(fd, pi->buf + pi->len, room, MSG_DONTWAIT);
    if (r < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    if (r == 0)
        pi->eof = 1;
    pi->len += (size_t)r;
    pi->in += (uint64_t)r;
    return 0;
}

/* px_pipe_room says whether pi may read more from its source. */
static int px_pipe_room(const px_pipe *pi)
{
    return !pi->eof && (pi->len < PF_STREAM_BUF || pi->off > 0);
}

/* px_pipe_pending says whether pi holds bytes for its sink. */
static int px_pipe_pending(const px_pipe *pi)
{
    return pi->len > pi->off;
}

/* px_conn_events says what c waits for on each socket. */
static void px_conn_events(const px_conn *c, short *cev, short *uev)
{
    *cev = *uev = 0;
    if (c->connecting) {
        *uev = POLLOUT;
        if (px_pipe_room(&c->pipe[PF_TO_SERVER]))
            *cev = POLLIN;
        return;
    }
    if (c->breaking) {
        *uev = POLLIN; /* the reply, or the server's end */
        return;
    }
    if (px_pipe_room(&c->pipe[PF_TO_SERVER]))
        *cev |= POLLIN;
    if (px_pipe_pending(&c->pipe[PF_TO_CLIENT]))
        *cev |= POLLOUT;
    if (px_pipe_room(&c->pipe[PF_TO_CLIENT]))
        *uev |= POLLIN;
    if (px_pipe_pending(&c->pipe[PF_TO_SERVER]))
        *uev |= POLLOUT;
}

/* px_conn_io handles the events of connection c: reads, writes through the
 * record scan, half-closes passed on, and the end. */
static void px_conn_io(pf_proxy *p, px_conn *c, short crev, short urev)
{
    short cev, uev;
    px_conn_events(c, &cev, &uev);
    if (c->connecting) {
        if (urev == 0)
            goto read_client;
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
            p->st.connections_failed++;
            px_conn_close(p, c, 1);
            return;
        }
        c->connecting = 0;
        urev = 0;
    }
    if (c->breaking) {
        if (urev != 0) {
            px_conn_break(p, c); /* the reply began: the server read the call */
            return;
        }
        return;
    }
    if ((urev & (POLLIN | POLLHUP | POLLERR)) && (uev & POLLIN)) {
        if (px_pipe_read(&c->pipe[PF_TO_CLIENT], c->ufd) != 0) {
            px_conn_close(p, c, 1);
            return;
        }
    }
read_client:
    if ((crev & (POLLIN | POLLHUP | POLLERR)) && (cev & POLLIN)) {
        if (px_pipe_read(&c->pipe[PF_TO_SERVER], c->cfd) != 0) {
            px_conn_close(p, c, 1);
            return;
        }
    }
    if (c->connecting)
        return;
    if (px_pipe_flush(p, c, PF_TO_SERVER) != 0)
        return;
    if (c->breaking)
        return; /* nothing more goes to the client */
    if (px_pipe_flush(p, c, PF_TO_CLIENT) != 0)
        return;
    for (int d = 0; d < 2; d++) {
        px_pipe *pi = &c->pipe[d];
        if (pi->eof && !px_pipe_pending(pi) && !pi->shut) {
            shutdown(d == PF_TO_SERVER ? c->ufd : c->cfd, SHUT_WR);
            pi->shut = 1;
        }
    }
    if (c->pipe[0].shut && c->pipe[1].shut)
        px_conn_close(p, c, 0);
}

/* px_tcp_accept accepts connections while there are free slots and
 * connects each upstream. */
static void px_tcp_accept(pf_proxy *p)
{
    unsigned slot = 0;
    for (unsigned i = 0; i < PX_BATCH; i++) {
        while (slot < PF_MAX_CONNS && p->conns[slot].used)
            slot++;
        if (slot == PF_MAX_CONNS)
            return;
        int cfd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
            return;
        p->st.connections++;
        uint64_t n = p->nconns++;
        int ufd = socket(p->target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        px_conn *c = &p->conns[slot];
        uint8_t *b0 = malloc(PF_STREAM_BUF), *b1 = malloc(PF_STREAM_BUF);
        if (ufd < 0 || b0 == NULL || b1 == NULL ||
            (connect(ufd, (const struct sockaddr *)&p->target, p->targetlen) != 0 &&
             errno != EINPROGRESS)) {
            p->st.connections_failed++;
            free(b0);
            free(b1);
            if (ufd >= 0)
                close(ufd);
            px_abort(cfd);
            continue;
        }
        int one = 1;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        memset(c, 0, sizeof *c);
        c->used = 1;
        c->cfd = cfd;
        c->ufd = ufd;
        c->connecting = 1;
        c->rng = px_stream(p->seed, PX_STREAM_TCP, n);
        c->pipe[0].buf = b0;
        c->pipe[1].buf = b1;
    }
}

/* ---- the loop ---- */

/* px_flush sends every held datagram going in a direction of mask. */
static void px_flush(pf_proxy *p, int mask)
{
    px_heap_take(p, -1, mask, 1);
    for (unsigned i = 0; i < PF_MAX_FLOWS; i++) {
        for (int d = 0; d < 2 && p->flows[i].used; d++) {
            px_dgram *g = p->flows[i].held[d];
            if (g != NULL && ((mask >> d) & 1)) {
                p->flows[i].held[d] = NULL;
                p->nheld--;
                px_dgram_send(p, g);
            }
        }
    }
}

/* px_retarget points every flow at the new target through a new socket. */
static void px_retarget(pf_proxy *p, const px_cmd *cmd)
{
    p->target = cmd->target;
    p->targetlen = cmd->targetlen;
    for (unsigned i = 0; i < PF_MAX_FLOWS; i++) {
        px_flow *f = &p->flows[i];
        if (!f->used)
            continue;
        int fd = px_flow_upstream(p);
        if (fd < 0) {
            px_flow_close(p, i);
            continue;
        }
        close(f->up);
        f->up = fd;
    }
}

/* px_timers sends the datagrams that are due, breaks the connections whose
 * wait for a reply is over, and returns the poll time-out until the next
 * deadline (-1: none). */
static int px_timers(pf_proxy *p, uint64_t now)
{
    uint64_t next = UINT64_MAX;
    while (p->nheap > 0 && p->heap[0]->due_ms <= now)
        px_dgram_send(p, px_heap_pop(p));
    if (p->nheap > 0)
        next = p->heap[0]->due_ms;
    for (unsigned i = 0; i < PF_MAX_FLOWS; i++) {
        for (int d = 0; d < 2 && p->flows[i].used; d++) {
            px_dgram *g = p->flows[i].held[d];
            if (g == NULL)
                continue;
            if (g->due_ms <= now) {
                p->flows[i].held[d] = NULL;
                p->nheld--;
                px_dgram_send(p, g);
            } else if (g->due_ms < next) {
                next = g->due_ms;
            }
        }
    }
    for (unsigned i = 0; i < PF_MAX_CONNS; i++) {
        px_conn *c = &p->conns[i];
        if (!c->used || !c->breaking)
            continue;
        if (c->break_due <= now)
            px_conn_break(p, c);
        else if (c->break_due < next)
            next = c->break_due;
    }
    if (next == UINT64_MAX)
        return -1;
    return next - now > 60000 ? 60000 : (int)(next - now);
}

/* px_poll_add appends a socket, what it stands for and its index. */
static void px_poll_add(pf_proxy *p, unsigned *n, int fd, short ev, int kind, unsigned idx)
{
    p->pfd[*n] = (struct pollfd){.fd = fd, .events = ev};
    p->kind[*n] = (uint8_t)kind;
    p->idx[*n] = idx;
    (*n)++;
}

/* px_poll_set fills the poll set; a socket that waits for nothing is left
 * out, so that a hang-up it cannot act on does not spin the loop. */
static unsigned px_poll_set(pf_proxy *p)
{
    unsigned n = 0;
    px_poll_add(p, &n, p->wfd, POLLIN, PX_FD_WAKE, 0);
    if (p->socktype == SOCK_DGRAM) {
        px_poll_add(p, &n, p->lfd, POLLIN, PX_FD_LISTEN, 0);
        for (unsigned i = 0; i < PF_MAX_FLOWS; i++)
            if (p->flows[i].used)
                px_poll_add(p, &n, p->flows[i].up, POLLIN, PX_FD_FLOW, i);
        return n;
    }
    int room = 0;
    for (unsigned i = 0; i < PF_MAX_CONNS; i++) {
        px_conn *c = &p->conns[i];
        if (!c->used) {
            room = 1;
            continue;
        }
        short cev, uev;
        px_conn_events(c, &cev, &uev);
        c->cslot = c->uslot = -1;
        if (cev) {
            c->cslot = (int)n;
            px_poll_add(p, &n, c->cfd, cev, PX_FD_CLIENT, i);
        }
        if (uev) {
            c->uslot = (int)n;
            px_poll_add(p, &n, c->ufd, uev, PX_FD_UPSTREAM, i);
        }
    }
    if (room)
        px_poll_add(p, &n, p->lfd, POLLIN, PX_FD_LISTEN, 0);
    return n;
}

/* px_dispatch handles what poll reported. The listening socket comes last:
 * a new flow may evict an old one, and a new connection takes a free slot,
 * neither of which may happen under an entry still to be handled. */
static void px_dispatch(pf_proxy *p, unsigned n)
{
    uint64_t now = px_now_ms();
    int listen_ready = 0;
    for (unsigned i = 0; i < n; i++) {
        short rev = p->pfd[i].revents;
        if (rev == 0)
            continue;
        switch (p->kind[i]) {
        case PX_FD_WAKE: {
            uint64_t v;
            ssize_t r = read(p->wfd, &v, sizeof v);
            (void)r;
            break;
        }
        case PX_FD_LISTEN:
            listen_ready = 1;
            break;
        case PX_FD_FLOW:
            if (p->flows[p->idx[i]].used)
                px_udp_from_server(p, p->idx[i], now);
            break;
        case PX_FD_CLIENT:
        case PX_FD_UPSTREAM: {
            px_conn *c = &p->conns[p->idx[i]];
            if (!c->used)
                break; /* closed while handling its other socket */
            if (p->kind[i] == PX_FD_UPSTREAM && c->cslot >= 0 && p->pfd[c->cslot].revents != 0)
                break; /* handled with its client socket, which comes first */
            short crev = c->cslot >= 0 ? p->pfd[c->cslot].revents : 0;
            short urev = c->uslot >= 0 ? p->pfd[c->uslot].revents : 0;
            px_conn_io(p, c, crev, urev);
            break;
        }
        }
    }
    if (listen_ready) {
        if (p->socktype == SOCK_DGRAM)
            px_udp_from_clients(p, now);
        else
            px_tcp_accept(p);
    }
}

/* px_run is the proxy's thread: the loop, with p->mu held except in poll. */
static void *px_run(void *arg)
{
    pf_proxy *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stopping) {
        if (p->cmd != NULL) {
            if (p->cmd->kind == PX_CMD_FLUSH)
                px_flush(p, p->cmd->mask);
            else
                px_retarget(p, p->cmd);
            p->cmd->done = 1;
            p->cmd = NULL;
            pthread_cond_broadcast(&p->cv);
        }
        int timeout = px_timers(p, px_now_ms());
        unsigned n = px_poll_set(p);
        pthread_mutex_unlock(&p->mu);
        int r = poll(p->pfd, n, timeout);
        pthread_mutex_lock(&p->mu);
        if (r > 0 && !p->stopping)
            px_dispatch(p, n);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* px_command hands cmd to the loop and waits until it is done. */
static void px_command(pf_proxy *p, px_cmd *cmd)
{
    pthread_mutex_lock(&p->mu);
    while (p->cmd != NULL)
        pthread_cond_wait(&p->cv, &p->mu);
    p->cmd = cmd;
    px_wake(p);
    while (!cmd->done)
        pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

/* pf_start: see proxy.h. */
int pf_start(pf_proxy **out, const char *listen_addr, const char *target_addr, const pf_opts *o,
             char *bound, size_t boundlen)
{
    static const pf_opts none;
    struct sockaddr_storage lss, tss;
    socklen_t llen, tlen;
    int lst, tst, rv;
    char name[PF_ADDR_MAX];

    if (out == NULL || listen_addr == NULL || target_addr == NULL)
        return PARLEY_ERR_INVALID;
    if (o == NULL)
        o = &none;
    if (!px_opts_valid(o))
        return PARLEY_ERR_INVALID;
    if ((rv = pf_addr_parse(listen_addr, &lss, &llen, &lst)) != PARLEY_OK ||
        (rv = pf_addr_parse(target_addr, &tss, &tlen, &tst)) != PARLEY_OK)
        return rv;
    if (lst != tst)
        return PARLEY_ERR_INVALID;

    pf_proxy *p = calloc(1, sizeof *p);
    if (p == NULL)
        return PARLEY_ERR_NOMEM;
    p->lfd = p->wfd = -1;
    p->opts = *o;
    p->seed = o->seed;
    if (p->seed == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t s = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        s ^= (uint64_t)getpid() << 32;
        do
            p->seed = px_splitmix(&s);
        while (p->seed == 0);
    }
    p->opts.seed = p->seed;
    p->socktype = lst;
    p->target = tss;
    p->targetlen = tlen;
    p->heap = calloc(PF_MAX_HELD, sizeof *p->heap);
    p->dbuf = malloc(PX_DGRAM_MAX);
    rv = PARLEY_ERR_NOMEM;
    if (p->heap == NULL || p->dbuf == NULL)
        goto fail_mem;

    rv = PARLEY_ERR_IO;
    p->lfd = socket(lss.ss_family, lst | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->lfd < 0)
        goto fail_mem;
    int one = 1;
    if (lst == SOCK_STREAM)
        setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(p->lfd, (const struct sockaddr *)&lss, llen) != 0) {
        rv = errno == EADDRINUSE ? PARLEY_ERR_IN_USE : PARLEY_ERR_IO;
        goto fail_sock;
    }
    if (lst == SOCK_STREAM && listen(p->lfd, 128) != 0)
        goto fail_sock;
    socklen_t blen = sizeof lss;
    if (getsockname(p->lfd, (struct sockaddr *)&lss, &blen) != 0)
        goto fail_sock;
    rv = px_addr_format(&lss, lst, name, sizeof name);
    if (rv == PARLEY_OK && bound != NULL && strlen(name) >= boundlen)
        rv = PARLEY_ERR_INVALID;
    if (rv != PARLEY_OK)
        goto fail_sock;
    rv = PARLEY_ERR_IO;
    p->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->wfd < 0)
        goto fail_sock;
    if (pthread_mutex_init(&p->mu, NULL) != 0)
        goto fail_wake;
    if (pthread_cond_init(&p->cv, NULL) != 0)
        goto fail_mutex;
    if (pthread_create(&p->thread, NULL, px_run, p) != 0)
        goto fail_cond;

    if (bound != NULL)
        memcpy(bound, name, strlen(name) + 1);
    *out = p;
    return PARLEY_OK;

fail_cond:
    pthread_cond_destroy(&p->cv);
fail_mutex:
    pthread_mutex_destroy(&p->mu);
fail_wake:
    close(p->wfd);
fail_sock:
    close(p->lfd);
fail_mem:
    free(p->dbuf);
    free(p->heap);
    free(p);
    return rv;
}

/* pf_set: see proxy.h. */
int pf_set(pf_proxy *p, const pf_opts *o)
{
    if (p == NULL || o == NULL || !px_opts_valid(o))
        return PARLEY_ERR_INVALID;
    pthread_mutex_lock(&p->mu);
    p->opts = *o;
    p->opts.seed = p->seed;
    pthread_mutex_unlock(&p->mu);
    return PARLEY_OK;
}

/* pf_seed: see proxy.h. The seed never changes after pf_start. */
uint64_t pf_seed(const pf_proxy *p)
{
    return p->seed;
}

/* pf_stats_get: see proxy.h. */
void pf_stats_get(pf_proxy *p, pf_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->st;
    out->held = p->nheld;
    pthread_mutex_unlock(&p->mu);
}

/* pf_flush: see proxy.h. */
void pf_flush(pf_proxy *p, int direction_mask)
{
    px_cmd cmd = {.kind = PX_CMD_FLUSH, .mask = direction_mask ? direction_mask : PF_DIR_BOTH};
    px_command(p, &cmd);
}

/* pf_retarget: see proxy.h. */
int pf_retarget(pf_proxy *p, const char *target_addr)
{
    px_cmd cmd = {.kind = PX_CMD_RETARGET};
    int st, rv;
    if (p == NULL || target_addr == NULL)
        return PARLEY_ERR_INVALID;
    if ((rv = pf_addr_parse(target_addr, &cmd.target, &cmd.targetlen, &st)) != PARLEY_OK)
        return rv;
    if (st != p->socktype)
        return PARLEY_ERR_INVALID;
    px_command(p, &cmd);
    return PARLEY_OK;
}

/* pf_stop: see proxy.h. */
void pf_stop(pf_proxy *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    px_wake(p);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);

    for (unsigned i = 0; i < PF_MAX_FLOWS; i++)
        if (p->flows[i].used)
            px_flow_close(p, i);
    for (unsigned i = 0; i < PF_MAX_CONNS; i++)
        if (p->conns[i].used)
            px_conn_close(p, &p->conns[i], 0);
    while (p->nheap > 0)
        free(px_heap_pop(p));
    close(p->lfd);
    close(p->wfd);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->dbuf);
    free(p->heap);
    free(p);
}
