/*
 * tests/integ/raw.c: the hand-built messages of raw.h.
 */
#include "raw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

void raw_u32(raw_msg *m, uint32_t v)
{
    if (m->n + 4 > sizeof m->b)
        return;
    m->b[m->n++] = (uint8_t)(v >> 24);
    m->b[m->n++] = (uint8_t)(v >> 16);
    m->b[m->n++] = (uint8_t)(v >> 8);
    m->b[m->n++] = (uint8_t)v;
}

void raw_bytes(raw_msg *m, const void *p, size_t n)
{
    size_t pad = (4 - n % 4) % 4;
    if (m->n + n + pad > sizeof m->b)
        return;
    if (n)
        memcpy(m->b + m->n, p, n);
    memset(m->b + m->n + n, 0, pad);
    m->n += n + pad;
}

void raw_opaque(raw_msg *m, const void *p, uint32_t n)
{
    raw_u32(m, n);
    raw_bytes(m, p, n);
}

void raw_call_header(raw_msg *m, uint32_t xid, uint32_t rpcvers, uint32_t prog, uint32_t vers,
                     uint32_t proc, uint32_t cred_flavor, const void *cred, uint32_t cred_len)
{
    raw_u32(m, xid);
    raw_u32(m, 0); /* CALL */
    raw_u32(m, rpcvers);
    raw_u32(m, prog);
    raw_u32(m, vers);
    raw_u32(m, proc);
    raw_u32(m, cred_flavor);
    raw_opaque(m, cred, cred_len);
    raw_u32(m, 0); /* verifier: AUTH_NONE */
    raw_u32(m, 0);
}

void raw_call(raw_msg *m, uint32_t xid, uint32_t prog, uint32_t vers, uint32_t proc)
{
    raw_call_header(m, xid, 2, prog, vers, proc, 0, NULL, 0);
}

int raw_connect(const char *addr)
{
    int port = integ_port(addr);
    if (port < 0)
        return -1;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int raw_send_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

int raw_send_record(int fd, const raw_msg *m)
{
    /* the mark and the message in one send: two small writes on a reused
     * connection would wait for the peer's delayed ack (Nagle) */
    static _Thread_local uint8_t out[4 + sizeof m->b];
    uint32_t v = 0x80000000u | (uint32_t)m->n;
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
    memcpy(out + 4, m->b, m->n);
    return raw_send_all(fd, out, 4 + m->n);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* read_exact reads n bytes by deadline: 1, 0 at EOF, -1 on timeout/error. */
static int read_exact(int fd, uint8_t *p, size_t n, long long deadline)
{
    while (n) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd pf = {fd, POLLIN, 0};
        int r = poll(&pf, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t k = recv(fd, p, n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k == 0 || (k < 0 && errno == ECONNRESET))
            return 0;
        if (k < 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 1;
}

int raw_read_record(int fd, uint8_t *buf, size_t cap, size_t *len, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    size_t have = 0;
    for (int frags = 0; frags < 64; frags++) {
        uint8_t h[4];
        int r = read_exact(fd, h, 4, deadline);
        if (r <= 0)
            return r;
        uint32_t v = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
        size_t n = v & 0x7fffffffu;
        if (n > cap - have)
            return -1;
        r = read_exact(fd, buf + have, n, deadline);
        if (r <= 0)
            return r;
        have += n;
        if (v & 0x80000000u) {
            *len = have;
            return 1;
        }
    }
    return -1;
}

int raw_closed(int fd, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    uint8_t junk[4096];
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd pf = {fd, POLLIN, 0};
        int r = poll(&pf, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        ssize_t k = recv(fd, junk, sizeof junk, 0);
        if (k == 0 || (k < 0 && errno == ECONNRESET))
            return 1;
        if (k < 0 && errno != EINTR)
            return 0;
    }
}

static uint32_t get32(const uint8_t **p, const uint8_t *end, int *bad)
{
    if (end - *p < 4) {
        *bad = 1;
        return 0;
    }
    const uint8_t *b = *p;
    *p += 4;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

int raw_parse_reply(const uint8_t *p, size_t n, raw_reply *r)
{
    const uint8_t *end = p + n;
    int bad = 0;
    memset(r, 0, sizeof *r);
    r->xid = get32(&p, end, &bad);
    r->mtype = get32(&p, end, &bad);
    r->reply_stat = get32(&p, end, &bad);
    if (bad || r->mtype != 1)
        return -1;
    if (r->reply_stat == 0) {
        get32(&p, end, &bad); /* verifier flavor */
        uint32_t vlen = get32(&p, end, &bad);
        if (bad || vlen > 400 || (size_t)(end - p) < (vlen + 3) / 4 * 4)
            return -1;
        p += (vlen + 3) / 4 * 4;
        r->accept_stat = get32(&p, end, &bad);
        if (r->accept_stat == 2) {
            r->low = get32(&p, end, &bad);
            r->high = get32(&p, end, &bad);
        }
        r->result = p;
        r->result_len = (size_t)(end - p);
    } else if (r->reply_stat == 1) {
        r->reject_stat = get32(&p, end, &bad);
        if (r->reject_stat == 0) {
            r->low = get32(&p, end, &bad);
            r->high = get32(&p, end, &bad);
        } else {
            r->auth_stat = get32(&p, end, &bad);
        }
    } else {
        return -1;
    }
    return bad ? -1 : 0;
}

int raw_call_reply(int fd, const raw_msg *m, raw_reply *r, uint8_t *buf, size_t cap)
{
    size_t len = 0;
    if (raw_send_record(fd, m) != 0 || raw_read_record(fd, buf, cap, &len, 2000) != 1)
        return -1;
    return raw_parse_reply(buf, len, r);
}
