/*
 * tests/fault/proxy_main.c: parley-faultproxy, the fault-injecting proxy
 * (proxy.h) as a command, for trying a client and a server against a bad
 * network by hand. It prints the address it listens on and the seed, runs
 * until SIGINT or SIGTERM (or --duration-ms), and prints what it did.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parley/error.h"
#include "proxy.h"

/* The long options, numbered past any character. */
enum {
    O_SEED = 256,
    O_DROP,
    O_DUP,
    O_DELAY,
    O_DELAY_MAX,
    O_REORDER,
    O_REORDER_WAIT,
    O_BREAK,
    O_BREAK_MAX,
    O_BREAK_REPLY,
    O_DIRECTION,
    O_DURATION,
    O_LISTEN,
    O_TARGET,
    O_HELP,
};

/* opt_max is the largest number option c takes, or 0 for one that takes none. */
static unsigned long long opt_max(int c)
{
    switch (c) {
    case O_SEED:
        return UINT64_MAX;
    case O_DROP:
    case O_DUP:
    case O_DELAY:
    case O_REORDER:
    case O_BREAK:
        return 100;
    case O_DELAY_MAX:
    case O_REORDER_WAIT:
    case O_BREAK_MAX:
        return 3600000;
    case O_DURATION:
        return UINT32_MAX;
    default:
        return 0;
    }
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: parley-faultproxy --listen ADDR --target ADDR [options]\n"
            "\n"
            "Forwards UDP datagrams or TCP connections from ADDR to the target, injecting\n"
            "faults. ADDR is udp://HOST:PORT or tcp://HOST:PORT, HOST a numeric IPv4\n"
            "address or an IPv6 one in brackets; port 0 lets the kernel choose.\n"
            "\n"
            "  --seed N              seed of every random choice (default: from the clock)\n"
            "  --drop PCT            UDP: drop this percentage of datagrams\n"
            "  --dup PCT             UDP: send this percentage twice\n"
            "  --delay PCT           UDP: delay this percentage ...\n"
            "  --delay-max-ms MS     ... by 1 to MS milliseconds\n"
            "  --reorder PCT         UDP: hold this percentage until the next one passes\n"
            "  --reorder-wait-ms MS  ... or at most MS milliseconds (default %u)\n"
            "  --break PCT           TCP: reset both connections after this percentage of\n"
            "                        call records reached the server\n"
            "  --break-max N         at most N breaks\n"
            "  --break-on-reply      break when the reply starts to arrive, and drop it\n"
            "  --direction DIR       to-server, to-client or both (default both)\n"
            "  --duration-ms MS      stop after MS milliseconds (default: at a signal)\n"
            "  --help                this text\n",
            PF_REORDER_WAIT_DEFAULT_MS);
}

/* parse_uint reads a decimal number no larger than max. */
static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

static void print_stats(const pf_stats *st)
{
    static const char *const names[2] = {"to server", "to client"};
    for (int d = 0; d < 2; d++) {
        const pf_dir_stats *s = &st->dir[d];
        printf("%s: datagrams %" PRIu64 " dropped %" PRIu64 " duplicated %" PRIu64
               " delayed %" PRIu64 " reordered %" PRIu64 " sent %" PRIu64 " send-failed %" PRIu64
               " bytes %" PRIu64 " records %" PRIu64 "\n",
               names[d], s->datagrams, s->dropped, s->duplicated, s->delayed, s->reordered, s->sent,
               s->send_failed, s->bytes, s->records);
    }
    printf("flows %" PRIu64 " evicted %" PRIu64 " connections %" PRIu64 " failed %" PRIu64
           " broken %" PRIu64 " rejected %" PRIu64 "\n",
           st->flows, st->flows_evicted, st->connections, st->connections_failed,
           st->connections_broken, st->records_rejected);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"seed", required_argument, NULL, O_SEED},
        {"drop", required_argument, NULL, O_DROP},
        {"dup", required_argument, NULL, O_DUP},
        {"delay", required_argument, NULL, O_DELAY},
        {"delay-max-ms", required_argument, NULL, O_DELAY_MAX},
        {"reorder", required_argument, NULL, O_REORDER},
        {"reorder-wait-ms", required_argument, NULL, O_REORDER_WAIT},
        {"break", required_argument, NULL, O_BREAK},
        {"break-max", required_argument, NULL, O_BREAK_MAX},
        {"break-on-reply", no_argument, NULL, O_BREAK_REPLY},
        {"direction", required_argument, NULL, O_DIRECTION},
        {"duration-ms", required_argument, NULL, O_DURATION},
        {"listen", required_argument, NULL, O_LISTEN},
        {"target", required_argument, NULL, O_TARGET},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    pf_opts o = {0};
    const char *listen_addr = NULL, *target_addr = NULL;
    unsigned long long duration = 0, v = 0;
    int c;

    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        unsigned long long max = opt_max(c);
        if (max != 0 && parse_uint(optarg, max, &v) != 0) {
            fprintf(stderr, "parley-faultproxy: bad number: %s\n", optarg);
            return 2;
        }
        switch (c) {
        case O_SEED:
            o.seed = v;
            break;
        case O_DROP:
            o.drop_pct = (unsigned)v;
            break;
        case O_DUP:
            o.dup_pct = (unsigned)v;
            break;
        case O_DELAY:
            o.delay_pct = (unsigned)v;
            break;
        case O_DELAY_MAX:
            o.delay_max_ms = (unsigned)v;
            break;
        case O_REORDER:
            o.reorder_pct = (unsigned)v;
            break;
        case O_REORDER_WAIT:
            o.reorder_wait_ms = (unsigned)v;
            break;
        case O_BREAK:
            o.break_after_call_pct = (unsigned)v;
            break;
        case O_BREAK_MAX:
            o.break_max = (unsigned)v;
            break;
        case O_BREAK_REPLY:
            o.break_on_reply = 1;
            break;
        case O_DIRECTION:
            if (strcmp(optarg, "to-server") == 0) {
                o.direction_mask = PF_DIR_TO_SERVER;
            } else if (strcmp(optarg, "to-client") == 0) {
                o.direction_mask = PF_DIR_TO_CLIENT;
            } else if (strcmp(optarg, "both") == 0) {
                o.direction_mask = PF_DIR_BOTH;
            } else {
                fprintf(stderr, "parley-faultproxy: bad --direction: %s\n", optarg);
                return 2;
            }
            break;
        case O_DURATION:
            duration = v;
            break;
        case O_LISTEN:
            listen_addr = optarg;
            break;
        case O_TARGET:
            target_addr = optarg;
            break;
        case O_HELP:
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || listen_addr == NULL || target_addr == NULL) {
        usage(stderr);
        return 2;
    }

    /* The signals are blocked before the proxy's thread starts, so that it
     * inherits the mask and only sigtimedwait below takes them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    pf_proxy *p;
    char bound[PF_ADDR_MAX];
    int rv = pf_start(&p, listen_addr, target_addr, &o, bound, sizeof bound);
    if (rv != PARLEY_OK) {
        fprintf(stderr, "parley-faultproxy: %s -> %s: %s\n", listen_addr, target_addr,
                parley_strerror(rv));
        return 1;
    }
    printf("listening on %s, forwarding to %s, seed %" PRIu64 "\n", bound, target_addr, pf_seed(p));
    fflush(stdout);

    /* Wait for a signal, or until the duration is over: one wait when there
     * is a duration, else waits of a minute each until a signal comes. */
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    uint64_t start = (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        uint64_t now = (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
        uint64_t left = 60000;
        if (duration != 0) {
            if (now - start >= duration)
                break;
            left = duration - (now - start);
        }
        struct timespec ts = {.tv_sec = (time_t)(left / 1000),
                              .tv_nsec = (long)(left % 1000) * 1000000L};
        int sig = sigtimedwait(&sigs, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM)
            break;
    }

    pf_stats st;
    pf_stats_get(p, &st);
    pf_stop(p);
    print_stats(&st);
    return 0;
}
