/*
 * async.c: submitted calls (parley_client_submit), parley_client_poll and
 * parley_client_fd.
 *
 * Part of the client (runtime/src/client/), beside the synchronous calls of
 * client.c, whose send and read roles it shares. Submitted calls are sent
 * the same way as synchronous ones and wait in the same list, on the heap,
 * with no thread behind them. Whoever reads their reply (a synchronous
 * leader or parley_client_poll) moves them to the handle's list of finished
 * calls and signals an eventfd; parley_client_poll takes that list and runs
 * the callbacks, so that callbacks run only in the polling thread. The
 * poller also takes the read role when it is free (reading only what is
 * there), times the submitted calls out and retransmits them over UDP. The
 * descriptor of parley_client_fd is an epoll set of the socket, the eventfd
 * and a timerfd armed to the earliest deadline or retransmission of a
 * submitted call, made on first use, so that handles used only
 * synchronously cost no descriptors. A guaranteed submitted call whose
 * attempt ended without its answer (a broken or refused connection, RETRY,
 * BUSY, HELLO) goes on as once.c's rules say: sent again at once, parked
 * with backoff on the handle's parked list (the timer armed for it), or
 * under a new number after a HELLO the poller says itself.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "client/internal.h"
#include "net/clock.h"
#include "net/sock.h"

/* pl_async_wake signals the eventfd that parley_client_poll waits on (and the
 * epoll set of parley_client_fd holds). */
void pl_async_wake(parley_client *c)
{
    uint64_t one = 1;
    if (c->evfd >= 0 && write(c->evfd, &one, sizeof one) < 0) {
        /* the counter is full, so it is readable already */
    }
}

/* watch adds fd to the epoll set efd, for reading. */
static int watch(int efd, int fd)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    return epoll_ctl(efd, EPOLL_CTL_ADD, fd, &ev);
}

/* due is when the submitted call p next needs the poller: its deadline or
 * its retransmission (UDP; a stream's is PL_NEVER). */
static int64_t due(const pending *p)
{
    return p->next_tx < p->deadline ? p->next_tx : p->deadline;
}

/* arm_timer sets the timerfd to go off at at (PL_NEVER: never; mutex
 * held). */
static void arm_timer(parley_client *c, int64_t at)
{
    if (at == c->timer_at)
        return;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (at != PL_NEVER) {
        int64_t t = at > 0 ? at : 1; /* zero would disarm it */
        its.it_value.tv_sec = (time_t)(t / 1000000000);
        its.it_value.tv_nsec = (long)(t % 1000000000);
    }
    if (timerfd_settime(c->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
        c->timer_at = at;
}

/* pl_async_watch adds the socket fd, just connected, to the epoll set of
 * parley_client_fd when there is one (mutex held). Errors: PARLEY_ERR_IO
 * (the errno is kept). */
int pl_async_watch(parley_client *c, int fd)
{
    if (c->efd < 0 || watch(c->efd, fd) == 0)
        return PARLEY_OK;
    pl_client_set_errno(c, errno);
    return PARLEY_ERR_IO;
}

/* pl_async_added arms the timer earlier when the submitted call p, just
 * registered among the waiting calls, is due before it goes off (mutex
 * held). */
void pl_async_added(parley_client *c, const pending *p)
{
    if (due(p) < c->timer_at)
        arm_timer(c, due(p));
}

/* async_init makes the eventfd, the timerfd and the epoll set holding them
 * and the socket, on the first use of the asynchronous API (mutex held), so
 * that handles used only synchronously cost no descriptors. Errors:
 * PARLEY_ERR_IO (the errno is kept). */
static int async_init(parley_client *c)
{
    if (c->efd >= 0)
        return PARLEY_OK;
    int efd = epoll_create1(EPOLL_CLOEXEC);
    int evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (efd < 0 || evfd < 0 || tfd < 0 || watch(efd, evfd) != 0 || watch(efd, tfd) != 0 ||
        (c->fd >= 0 && watch(efd, c->fd) != 0)) {
        int e = errno;
        pl_client_set_errno(c, e);
        if (efd >= 0)
            close(efd);
        if (evfd >= 0)
            close(evfd);
        if (tfd >= 0)
            close(tfd);
        errno = e;
        return PARLEY_ERR_IO;
    }
    c->efd = efd;
    c->evfd = evfd;
    c->tfd = tfd;
    c->timer_at = PL_NEVER;
    return PARLEY_OK;
}

/* drain reads what a nonblocking eventfd or timerfd has to say. */
static void drain(int fd)
{
    uint64_t v;
    if (read(fd, &v, sizeof v) < 0) {
        /* EAGAIN: nothing had happened */
    }
}

/* pl_async_take_finished detaches the finished calls, oldest first (mutex
 * held). */
pending *pl_async_take_finished(parley_client *c)
{
    pending *list = NULL;
    while (c->finished) {
        pending *p = c->finished;
        pl_pending_remove(&c->finished, p);
        pl_pending_add(&list, p);
    }
    return list;
}

/* park puts the guaranteed submitted call p on the parked list until
 * p->next_tx, arming the timer for it (mutex not held). */
static void park(parley_client *c, pending *p)
{
    pthread_mutex_lock(&c->mu);
    p->parked = 1;
    pl_pending_add(&c->parked, p);
    if (due(p) < c->timer_at)
        arm_timer(c, due(p));
    pl_client_unlock(c);
}

/* out_in tells whether a call of list other than p, first sent to another
 * incarnation than the one that answered p HELLO, went out and waits for
 * its outcome under its number. */
static int out_in(const pending *list, const pending *p)
{
    for (const pending *q = list; q; q = q->next)
        if (q != p && q->async && q->seq && !q->renew && q->first_inc != p->hello_inc &&
            (q->sent || q->handed))
            return 1;
    return 0;
}

/* older_out tells whether p, to go out under a new number after a HELLO,
 * is to wait: a HELLO to a server whose incarnation the handle learnt
 * already (from a reply) moves the server's floor up to the handle's next
 * number (see seq_cred in once.c), and a call below it that went out
 * before the restart would then be dropped unanswered until its deadline
 * instead of learning that it is in doubt, or its recorded reply. Each
 * such call is answered or ends within its own deadline. rest: the
 * finished calls this round has not looked at yet. */
static int older_out(parley_client *c, const pending *p, const pending *rest)
{
    pthread_mutex_lock(&c->mu);
    int r =
        out_in(c->waiters, p) || out_in(c->parked, p) || out_in(c->finished, p) || out_in(rest, p);
    pl_client_unlock(c);
    return r;
}

/* carry_on takes the guaranteed submitted call p on after an attempt (or,
 * p->parked, when it was due again): as pl_once_settle says, it goes out
 * again, now or parked until its time, or under a new number, or it ends.
 * Returns 1 while p belongs to the handle, 0 when it ended (*err its
 * error, its number complete). Bounded: a start that fails is settled
 * again, and only the first broken connection is retried at once. */
static int carry_on(parley_client *c, pending *p, const pending *rest, parley_rpc_detail *det,
                    int *err)
{
    int step;
    if (p->parked) {
        p->parked = 0;
        if (pl_now_ns() >= p->deadline || c->closing) {
            p->renew = 0;
            p->handed = 0;
            p->err = c->closing ? PARLEY_ERR_CANCELLED : p->park_rc;
            *err = pl_once_finish(c, p, det);
            return 0;
        }
        step = p->renew ? PL_ONCE_RENEW : PL_ONCE_AGAIN;
    } else {
        step = pl_once_settle(c, p, det, err);
    }
    for (;;) {
        if (step == PL_ONCE_END)
            return 0;
        if (c->closing) { /* parley_client_destroy: nothing goes out again */
            p->renew = 0;
            p->handed = 0;
            p->err = PARLEY_ERR_CANCELLED;
            *err = pl_once_finish(c, p, det);
            return 0;
        }
        if (step == PL_ONCE_RENEW) {
            if (older_out(c, p, rest)) {
                pl_once_park_later(p);
                park(c, p);
                return 1;
            }
            int rc = pl_once_renew(c, p, det);
            if (rc != PARLEY_OK) {
                p->renew = 0;
                *err = rc;
                return 0;
            }
        } else if (p->next_tx > pl_now_ns()) {
            park(c, p);
            return 1;
        }
        /* the same message (or renumbered), on the connection there is or
         * a new one; the server answers a copy of what it ran from its
         * records */
        free(p->copy);
        p->copy = NULL;
        p->reply = NULL;
        p->reply_len = 0;
        p->done = 0;
        p->err = PARLEY_OK;
        p->retransmit_ms = 0;
        c->ops->schedule(c, p, pl_now_ns());
        int rc = pl_client_start(c, p, p->msg, p->msg_len, p->deadline);
        if (rc == PARLEY_OK)
            return 1; /* registered: it ends in a later round */
        p->done = 1;
        p->err = rc; /* not sent: settled like any attempt */
        step = pl_once_settle(c, p, det, err);
    }
}

/* pl_async_run_callbacks decodes the result of each finished call of list
 * and runs its callback (mutex not held), then frees it; returns how many
 * ran. A guaranteed call goes on instead while its rules say so
 * (carry_on). */
unsigned pl_async_run_callbacks(parley_client *c, pending *list)
{
    unsigned n = 0;
    while (list) {
        pending *p = list;
        list = p->next;
        int err = p->err;
        parley_rpc_detail det = {0, 0, 0, 0};
        if (p->seq || p->renew) {
            if (carry_on(c, p, list, &det, &err))
                continue; /* it goes on: it ends in a later round */
        } else if (p->once_plain) {
            err = pl_once_finish(c, p, &det);
        } else if (err == PARLEY_OK) {
            err = pl_client_decode_reply(c, p, p->dec, p->res, p->arena, &det);
        }
        pl_client_set_detail(err, &det);
        p->fn(p->ctx, err);
        free(p->copy);
        free(p);
        n++;
    }
    return n;
}

/* pl_async_cancel_parked ends the parked calls, for parley_client_destroy
 * (mutex held): they go to the finished list, cancelled. */
void pl_async_cancel_parked(parley_client *c)
{
    c->closing = 1;
    while (c->parked) {
        pending *p = c->parked;
        pl_pending_remove(&c->parked, p);
        p->done = 1;
        pl_pending_add(&c->finished, p); /* still p->parked: carry_on cancels it */
    }
}

/* poll_round does one round of parley_client_poll's work: reads what is
 * there when the read role is free, times out and retransmits the
 * submitted calls, arms the timer for the next of them, and returns the
 * finished calls. *sock is the socket to watch for the next round (-1 when
 * another thread reads it), *next when the next submitted call is due.
 * UDP retransmissions are sent under the mutex, so that no other poller
 * frees the call under them; a datagram socket's send waits only when its
 * buffer is full. */
static pending *poll_round(parley_client *c, int *sock, int64_t *next)
{
    drain(c->evfd);
    drain(c->tfd);
    pthread_mutex_lock(&c->mu);
    c->timer_at = 0; /* consumed: armed again below */
    *sock = -1;
    if (!c->reading && c->fd >= 0 && !c->broken) {
        int fd = c->fd;
        c->reading = 1;
        pl_client_unlock(c);
        int rc = c->ops->read(c, NULL, fd, 0, 1);
        pthread_mutex_lock(&c->mu);
        pl_client_release_reader(c, NULL, rc);
        if (!c->reading && c->fd == fd && !c->broken)
            *sock = fd;
    }
    int64_t now = pl_now_ns();
    *next = PL_NEVER;
    for (pending *q = c->waiters, *nq; q; q = nq) {
        nq = q->next;
        if (!q->async)
            continue;
        if (now >= q->deadline) {
            pl_client_complete(c, q, PARLEY_ERR_TIMEDOUT);
            continue;
        }
        if (now >= q->next_tx && c->fd >= 0) {
            size_t sent;
            int e = 0;
            int rc = pl_sock_send(c->fd, q->msg, q->msg_len, q->deadline, &sent, &e);
            if (rc != PARLEY_OK) {
                pl_client_set_errno(c, e);
                pl_client_complete(c, q, rc);
                continue;
            }
            c->ops->schedule(c, q, now);
        }
        if (due(q) < *next)
            *next = due(q);
    }
    for (pending *q = c->parked, *nq; q; q = nq) {
        nq = q->next;
        if (now >= due(q)) { /* its time to go out again, or to end */
            pl_pending_remove(&c->parked, q);
            pl_pending_add(&c->finished, q);
        } else if (due(q) < *next) {
            *next = due(q);
        }
    }
    arm_timer(c, *next);
    pending *list = pl_async_take_finished(c);
    pl_client_unlock(c);
    return list;
}

/* pl_async_close closes the descriptors of the asynchronous API, if they
 * were made (parley_client_destroy). */
void pl_async_close(parley_client *c)
{
    if (c->efd >= 0) {
        close(c->efd);
        close(c->evfd);
        close(c->tfd);
    }
}

/* parley_client_submit: see parley/client.h. */
int parley_client_submit(parley_client *c, uint32_t proc, parley_args_enc *enc, const void *args,
                         size_t args_size, parley_res_dec *dec, void *res, unsigned timeout_ms,
                         parley_done_fn *done, void *ctx)
{
    return parley_client_submit_arena(c, proc, enc, args, args_size, dec, res, timeout_ms, NULL,
                                      done, ctx);
}

/* submit makes the submitted call of parley_client_submit_opts with the
 * guarantee sem (a parley_semantics, or PL_SEM_PLAIN). The call and its
 * message live in one allocation, freed after its callback ran. */
static int submit(parley_client *c, uint32_t proc, parley_args_enc *enc, const void *args,
                  size_t args_size, parley_res_dec *dec, void *res, unsigned timeout_ms,
                  parley_arena *arena, int sem, parley_done_fn *done, void *ctx)
{
    if (c == NULL || done == NULL || (dec != NULL && res == NULL))
        return PARLEY_ERR_INVALID;
    int64_t deadline = pl_deadline_after_ms(timeout_ms ? timeout_ms : c->timeout_ms);
    uint32_t xid = atomic_fetch_add_explicit(&c->next_xid, 1, memory_order_relaxed);
    sem = pl_once_semantics(c, proc, sem);
    int guaranteed = sem == PARLEY_AT_MOST_ONCE || sem == PARLEY_EXACTLY_ONCE;
    pending head; /* what the guarantee decides, before the call is allocated */
    memset(&head, 0, sizeof head);
    uint8_t cred_buf[PARLEY_MAX_AUTH_BYTES];
    pl_opaque_auth cred = c->cred;
    int rc;
    if (guaranteed) {
        parley_rpc_detail det = {0, 0, 0, 0};
        rc = pl_once_submit_cred(c, (parley_semantics)sem, deadline, &head, cred_buf, &cred, &det);
        if (rc != PARLEY_OK)
            return rc;
    }
    size_t cap = 4 + 24 + 8 + parley_round4(cred.len) + 8;
    rc = PARLEY_ERR_MSG_TOO_LARGE;
    if (args_size > SIZE_MAX - cap || cap + args_size > SIZE_MAX - sizeof(pending))
        goto fail_seq;
    cap += args_size;
    pending *p = calloc(1, sizeof *p + cap);
    rc = PARLEY_ERR_NOMEM;
    if (p == NULL)
        goto fail_seq;
    const uint8_t *msg;
    size_t len;
    rc = pl_client_encode_cred(c, xid, proc, &cred, enc, args, (uint8_t *)(p + 1), cap, &msg, &len);
    if (rc != PARLEY_OK)
        goto fail;
    p->xid = xid;
    p->async = 1;
    p->deadline = deadline;
    p->fn = done;
    p->ctx = ctx;
    p->dec = dec;
    p->res = res;
    p->arena = arena;
    p->msg = msg;
    p->msg_len = len;
    p->seq = head.seq;
    p->sem = head.sem;
    p->first_inc = head.first_inc;
    p->once_plain = head.once_plain;
    p->pin = p->seq != 0; /* sent again only to the instance it went out to */
    c->ops->schedule(c, p, pl_now_ns());
    if (p->once_plain)
        p->next_tx = PL_NEVER; /* a plain server would run a second copy */
    pthread_mutex_lock(&c->mu);
    rc = async_init(c);
    pl_client_unlock(c);
    if (rc == PARLEY_OK)
        rc = pl_once_submit_journal(c, p);
    if (rc != PARLEY_OK)
        goto fail;
    rc = pl_client_start(c, p, msg, len, deadline);
    if (rc != PARLEY_OK && p->seq) {
        /* not sent (a server down or restarting): a guaranteed call waits
         * and goes out again as a synchronous one would, parked */
        parley_rpc_detail det = {0, 0, 0, 0};
        p->done = 1;
        p->err = rc;
        if (pl_once_settle(c, p, &det, &rc) == PL_ONCE_AGAIN) {
            park(c, p);
            return PARLEY_OK;
        }
        free(p); /* ended (its number complete): not submitted */
        return rc;
    }
    if (rc != PARLEY_OK)
        goto fail;
    return PARLEY_OK; /* p belongs to the handle now */
fail:
    free(p);
fail_seq:
    if (head.seq) { /* never sent: complete, so the acknowledgement moves on */
        parley_rpc_detail det = {0, 0, 0, 0};
        head.err = PARLEY_ERR_CANCELLED;
        pl_once_finish(c, &head, &det);
    }
    return rc;
}

/* parley_client_submit_opts: see parley/client.h. */
int parley_client_submit_opts(parley_client *c, uint32_t proc, parley_args_enc *enc,
                              const void *args, size_t args_size, parley_res_dec *dec, void *res,
                              const parley_call_opts *o, parley_done_fn *done, void *ctx)
{
    parley_call_opts d = {0, PARLEY_AT_MOST_ONCE, NULL};
    if (o)
        d = *o;
    if (d.semantics != PARLEY_AT_MOST_ONCE && d.semantics != PARLEY_IDEMPOTENT &&
        d.semantics != PARLEY_EXACTLY_ONCE)
        return PARLEY_ERR_INVALID;
    return submit(c, proc, enc, args, args_size, dec, res, d.timeout_ms, d.arena, (int)d.semantics,
                  done, ctx);
}

/* parley_client_submit_arena: see parley/client.h: a plain call. */
int parley_client_submit_arena(parley_client *c, uint32_t proc, parley_args_enc *enc,
                               const void *args, size_t args_size, parley_res_dec *dec, void *res,
                               unsigned timeout_ms, parley_arena *arena, parley_done_fn *done,
                               void *ctx)
{
    return submit(c, proc, enc, args, args_size, dec, res, timeout_ms, arena, PL_SEM_PLAIN, done,
                  ctx);
}

/* parley_client_fd: see parley/client.h. */
int parley_client_fd(parley_client *c)
{
    if (c == NULL) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&c->mu);
    int rc = async_init(c);
    int fd = c->efd;
    pl_client_unlock(c);
    return rc == PARLEY_OK ? fd : -1;
}

/* parley_client_poll: see parley/client.h. Between rounds it waits in
 * poll() on the eventfd, the timerfd (a call parked by a callback's round
 * arms it), on the socket when the read role was free, and until the next
 * deadline or retransmission of a submitted call. */
int parley_client_poll(parley_client *c, int timeout_ms, unsigned *completed)
{
    if (completed)
        *completed = 0;
    if (c == NULL)
        return PARLEY_ERR_INVALID;
    pthread_mutex_lock(&c->mu);
    int rc = async_init(c);
    pl_client_unlock(c);
    if (rc != PARLEY_OK)
        return rc;
    int64_t until = timeout_ms < 0 ? PL_NEVER : pl_deadline_after_ms((unsigned)timeout_ms);
    unsigned n = 0;
    for (;;) {
        int sock;
        int64_t next;
        n += pl_async_run_callbacks(c, poll_round(c, &sock, &next));
        int64_t now = pl_now_ns();
        if (n > 0 || now >= until)
            break;
        int64_t wake = next < until ? next : until;
        int ms = -1;
        if (wake != PL_NEVER) {
            int64_t w = (wake - now + 999999) / 1000000;
            ms = w > INT_MAX ? INT_MAX : (int)w;
        }
        struct pollfd pf[3] = {{.fd = c->evfd, .events = POLLIN, .revents = 0},
                               {.fd = c->tfd, .events = POLLIN, .revents = 0},
                               {.fd = sock, .events = POLLIN, .revents = 0}};
        if (poll(pf, sock >= 0 ? 3 : 2, ms) < 0 && errno != EINTR) {
            pl_client_set_errno(c, errno);
            rc = PARLEY_ERR_IO;
            break;
        }
    }
    if (completed)
        *completed = n;
    return rc;
}
