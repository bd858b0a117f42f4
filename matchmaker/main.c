/*
 * main.c: parley-matchmaker, the rendezvous daemon. It parses the options,
 * listens on TCP and UDP (IPv4 and IPv6) and on its Unix sockets, loads the
 * warm-start file, registers itself, and serves matchmaker.idl and
 * rpcbind's protocol (service.c) until SIGTERM or SIGINT, when it saves the
 * table and removes its socket files. With --cluster it is also the local
 * agent of an etcd cluster (cluster.h): it publishes its registrations and
 * answers look-ups from the cluster's cache too; a clean stop revokes its
 * lease. Under systemd (parley-matchmaker.service)
 * it tells the service manager when it is ready and when it stops.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "cli.h"
#include "cluster.h"
#include "matchmaker.h"
#include "parley/log.h"
#include "parley/server.h"
#include "parley/stats.h"
#include "rpcb_prot.h"
#include "service.h"
#include "parley/uaddr.h"

#define PROG      "parley-matchmaker"
#define MAX_BINDS 16

static int use_syslog;
static int show_debug; /* -v, or PARLEY_LOG=debug: LOG_DEBUG messages too */
static parley_server *server;

static void say(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* say logs a message to syslog (--syslog) or stderr, in one write (the
 * library's threads log too); LOG_DEBUG only when show_debug. */
static void say(int level, const char *fmt, ...)
{
    if (level >= LOG_DEBUG && !show_debug)
        return;
    va_list ap;
    va_start(ap, fmt);
    if (use_syslog) {
        vsyslog(level, fmt, ap);
    } else {
        char line[1024];
        int n = snprintf(line, sizeof line, PROG ": ");
        vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
        strcat(line, "\n");
        fputs(line, stderr);
    }
    va_end(ap);
}

/* log_sink passes the library's events (parley/log.h) to say: called from
 * the server's threads, it only formats and writes. */
static void log_sink(void *ctx, const parley_log_record *r)
{
    static const int prio[] = {LOG_DEBUG, LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    (void)ctx;
    say(prio[r->level], "%s%s%s: %s", r->peer ? r->peer : "", r->peer ? " " : "", r->name,
        r->message);
}

enum { STATS_MAX = 256 }; /* mm_stats_list's bound */

/* What stats_one fills: the list, and room for the histograms. */
typedef struct stats_walk {
    mm_stats_list *l;
    uint64_t *lat; /* STATS_MAX * PARLEY_STATS_BUCKETS */
} stats_walk;

/* stats_one copies one procedure's counters into the list being built. */
static int stats_one(void *ctx, const parley_proc_stats *st)
{
    stats_walk *k = ctx;
    if (k->l->mm_stats_list_len == STATS_MAX)
        return 1; /* the list's bound: the rest is left out */
    u_int i = k->l->mm_stats_list_len++;
    mm_proc_stats *w = &k->l->mm_stats_list_val[i];
    w->prog = st->prog;
    w->vers = st->vers;
    w->proc = st->proc;
    w->calls = st->calls;
    w->ok = st->ok;
    w->garbage_args = st->garbage_args;
    w->system_err = st->system_err;
    w->not_run = st->not_run;
    w->latency_us.latency_us_len = PARLEY_STATS_BUCKETS;
    w->latency_us.latency_us_val = &k->lat[i * PARLEY_STATS_BUCKETS];
    memcpy(w->latency_us.latency_us_val, st->latency_us, sizeof st->latency_us);
    return 0;
}

/* matchmaker_stats_1_svc answers MATCHMAKER_STATS with the server's
 * counters (parley/stats.h), in the call's arena. Here rather than in
 * service.c: the server is main's. */
int matchmaker_stats_1_svc(mm_stats_list *result, parley_call *call)
{
    parley_arena *a = parley_call_arena(call);
    mm_proc_stats *v = parley_arena_alloc(a, STATS_MAX * sizeof *v);
    uint64_t *lat = parley_arena_alloc(a, STATS_MAX * PARLEY_STATS_BUCKETS * sizeof *lat);
    if (!v || !lat)
        return PARLEY_ERR_SYSTEM_ERR;
    result->mm_stats_list_len = 0;
    result->mm_stats_list_val = v;
    stats_walk k = {result, lat};
    parley_server_stats_each(server, stats_one, &k);
    return PARLEY_OK;
}

/* usage prints the full usage to stdout (--help). */
static void usage(void)
{
    fputs("usage: " PROG " [options]\n"
          "The rendezvous daemon of Parley services, speaking rpcbind's protocols too.\n"
          "\n"
          "options:\n"
          "      --port N              TCP and UDP port (default 111)\n"
          "      --bind ADDR           listen only on ADDR (repeatable; default 0.0.0.0 and ::)\n"
          "      --socket PATH         the local socket (default /run/parley/matchmaker.sock)\n"
          "      --rpcbind-socket PATH rpcbind's local socket (default /run/rpcbind.sock)\n"
          "      --no-rpcbind-socket   do not listen on rpcbind's local socket\n"
          "      --state FILE          warm-start file (default "
          "/var/lib/parley/matchmaker.state)\n"
          "      --no-state            keep no warm-start file\n"
          "      --max-entries N       most registrations held (default 1024, at most 8192)\n"
          "      --check-ms N          liveness scan period in ms (default 1000; 0: none)\n"
          "      --udp-ratio N         over UDP, answers to other hosts at most N times\n"
          "                            their call (default 4; 0: no bound)\n"
          "      --threads N           worker threads (default 2)\n"
          "      --cluster URL[,URL...]  etcd's client URLs (http:// or https://): be the local\n"
          "                            agent of that cluster (needs --advertise)\n"
          "      --cluster-cacert FILE the CA of the etcd members' certificates\n"
          "      --cluster-cert FILE   the client certificate (PEM) for etcd\n"
          "      --cluster-key FILE    its private key (PEM)\n"
          "      --advertise ADDR      the IP address other hosts reach this one at\n"
          "      --cluster-host NAME   this host's name in the cluster's keys (default: the\n"
          "                            advertised address; 1 to 64 of A-Z a-z 0-9 . _ : -)\n"
          "      --cluster-prefix P    etcd key prefix (default /parley/v1/)\n"
          "      --cluster-ttl S       the lease's time to live, seconds (default 10; 2 to 3600)\n"
          "      --cluster-stale S     seconds cluster names are served from the cache once\n"
          "                            etcd is lost (default 30; 0 to 86400)\n"
          "      --cluster-max-entries N  the cluster cache's bound (default and at most\n"
          "                            65536)\n"
          "      --daemon              run in the background (with --pidfile FILE)\n"
          "      --pidfile FILE        write the process id to FILE\n"
          "      --syslog              log to syslog instead of stderr\n"
          "  -v, --verbose             log the library's events too, down to debug\n"
          "                            (PARLEY_LOG=error|warning|info|debug chooses the level)\n"
          "  -h, --help                this text\n"
          "  -V, --version             the version\n"
          "\n"
          "Exit status: 0 after SIGTERM or SIGINT, 1 when it cannot serve, 2 for a usage error.\n",
          stdout);
}

/* usage_error is mm_usage_error for this program. */
#define usage_error(...) mm_usage_error(PROG, __VA_ARGS__)

/* notify tells the service manager the daemon's state ("READY=1",
 * "STOPPING=1") when it started the daemon with NOTIFY_SOCKET set
 * (systemd's Type=notify; sd_notify(3)'s protocol, spoken here without
 * libsystemd): one datagram to that Unix socket, a path or, after '@', a
 * name in the abstract namespace. Without NOTIFY_SOCKET it does nothing; a
 * socket it cannot reach is said, and ignored. */
static void notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !path[0])
        return;
    struct sockaddr_un to;
    memset(&to, 0, sizeof to);
    to.sun_family = AF_UNIX;
    size_t n = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || n >= sizeof to.sun_path) {
        say(LOG_WARNING, "NOTIFY_SOCKET '%s' is not a Unix socket's address", path);
        return;
    }
    memcpy(to.sun_path, path, n);
    if (path[0] == '@')
        to.sun_path[0] = '\0';
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&to, len) < 0)
        say(LOG_WARNING, "cannot tell the service manager %s: %s", state, strerror(errno));
    if (fd >= 0)
        close(fd);
}

static void on_signal(int sig)
{
    (void)sig;
    parley_server_stop(server);
}

/* number parses a decimal option value in [lo, hi]; -1 when it is not one. */
static long number(const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    return v;
}

/* absolute makes path absolute (the daemon changes to /), into buf. */
static const char *absolute(const char *path, char *buf, size_t cap)
{
    if (!path || path[0] == '/')
        return path;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return path;
    if ((size_t)snprintf(buf, cap, "%s/%s", cwd, path) >= cap)
        return path;
    return buf;
}

/* parent_dir creates the directory holding path when it is missing (one
 * level, mode 0755): /run/parley and /var/lib/parley on a fresh system. */
static void parent_dir(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return;
    *slash = '\0';
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        say(LOG_WARNING, "cannot create %s: %s", dir, strerror(errno));
}

/* listen_one listens on addr and registers the matchmaker's programs of
 * self (MM_SELF_*) there under netid. Returns 0, or the parley error after
 * printing why. */
static int listen_one(mm_service *sv, const char *addr, const char *netid, unsigned port,
                      unsigned mode, unsigned self)
{
    char bound[256];
    /* an IPv6 socket takes IPv6 alone (as rpcbind's do): IPv4 has its own
     * socket on the same port, and each caller's netid is its socket's */
    parley_listen_opts lo = {.unix_mode = mode, .v6only = 1};
    int rc = parley_server_listen_opts(server, addr, &lo, bound, sizeof bound);
    if (rc == PARLEY_ERR_IN_USE && !mode) {
        say(LOG_ERR, "%s: port %u is in use (is rpcbind running? stop it, or use --port)", addr,
            port);
        return rc;
    }
    if (rc == PARLEY_ERR_DENIED && !mode && port < 1024) {
        say(LOG_ERR,
            "%s: binding port %u needs root or CAP_NET_BIND_SERVICE; use --port with "
            "a port above 1023",
            addr, port);
        return rc;
    }
    if (rc == PARLEY_ERR_DENIED && mode) {
        say(LOG_ERR, "cannot create the socket %s: permission denied", addr + strlen("unix://"));
        return rc;
    }
    if (rc == PARLEY_ERR_IN_USE && mode) {
        say(LOG_ERR, "%s is in use: another matchmaker (or rpcbind) listens there",
            addr + strlen("unix://"));
        return rc;
    }
    if (rc != PARLEY_OK) {
        say(LOG_ERR, "cannot listen on %s: %s", addr, parley_strerror(rc));
        return rc;
    }
    /* the uaddr of what was bound: the address text after "tcp://" */
    const char *hp = strstr(bound, "://");
    hp = hp ? hp + 3 : bound;
    char uaddr[MM_UADDR_MAX + 1];
    if (mode) {
        size_t n = strlen(hp);
        if (n >= sizeof uaddr) { /* a path the registry could not hold */
            say(LOG_ERR, "%s: the path is too long to register", addr);
            return PARLEY_ERR_ADDRESS;
        }
        memcpy(uaddr, hp, n + 1);
    } else {
        /* "[::1]:111" or "127.0.0.1:111" to "::1.0.111" or "127.0.0.1.0.111" */
        char host[128];
        const char *colon = strrchr(hp, ':');
        size_t hl = colon ? (size_t)(colon - hp) : strlen(hp);
        if (hl >= sizeof host)
            hl = sizeof host - 1;
        memcpy(host, hp, hl);
        host[hl] = '\0';
        char *h = host;
        if (h[0] == '[') {
            h++;
            char *rb = strchr(h, ']');
            if (rb)
                *rb = '\0';
        }
        snprintf(uaddr, sizeof uaddr, "%.64s.%u.%u", h, (port >> 8) & 0xff, port & 0xff);
    }
    if (mm_self_register(sv, netid, uaddr, self) != MM_OK)
        say(LOG_WARNING, "cannot register itself on %s at %s", netid, uaddr);
    return PARLEY_OK;
}

static void diag(void *ctx, const char *path, unsigned line, const char *msg)
{
    (void)ctx;
    say(LOG_WARNING, "%s:%u: %s", path, line, msg);
}

enum {
    OPT_PORT = 256,
    OPT_BIND,
    OPT_SOCKET,
    OPT_RPCBIND_SOCKET,
    OPT_NO_RPCBIND_SOCKET,
    OPT_STATE,
    OPT_NO_STATE,
    OPT_MAX_ENTRIES,
    OPT_CHECK_MS,
    OPT_UDP_RATIO,
    OPT_THREADS,
    OPT_DAEMON,
    OPT_PIDFILE,
    OPT_SYSLOG,
    OPT_CLUSTER,
    OPT_CLUSTER_CACERT,
    OPT_CLUSTER_CERT,
    OPT_CLUSTER_KEY,
    OPT_ADVERTISE,
    OPT_CLUSTER_HOST,
    OPT_CLUSTER_PREFIX,
    OPT_CLUSTER_TTL,
    OPT_CLUSTER_STALE,
    OPT_CLUSTER_MAX_ENTRIES
};

/* the options; --help, --version and --verbose have short forms, -h, -V and -v */
static const struct option longopts[] = {
    {"port", required_argument, NULL, OPT_PORT},
    {"bind", required_argument, NULL, OPT_BIND},
    {"socket", required_argument, NULL, OPT_SOCKET},
    {"rpcbind-socket", required_argument, NULL, OPT_RPCBIND_SOCKET},
    {"no-rpcbind-socket", no_argument, NULL, OPT_NO_RPCBIND_SOCKET},
    {"state", required_argument, NULL, OPT_STATE},
    {"no-state", no_argument, NULL, OPT_NO_STATE},
    {"max-entries", required_argument, NULL, OPT_MAX_ENTRIES},
    {"check-ms", required_argument, NULL, OPT_CHECK_MS},
    {"udp-ratio", required_argument, NULL, OPT_UDP_RATIO},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"daemon", no_argument, NULL, OPT_DAEMON},
    {"pidfile", required_argument, NULL, OPT_PIDFILE},
    {"syslog", no_argument, NULL, OPT_SYSLOG},
    {"cluster", required_argument, NULL, OPT_CLUSTER},
    {"cluster-cacert", required_argument, NULL, OPT_CLUSTER_CACERT},
    {"cluster-cert", required_argument, NULL, OPT_CLUSTER_CERT},
    {"cluster-key", required_argument, NULL, OPT_CLUSTER_KEY},
    {"advertise", required_argument, NULL, OPT_ADVERTISE},
    {"cluster-host", required_argument, NULL, OPT_CLUSTER_HOST},
    {"cluster-prefix", required_argument, NULL, OPT_CLUSTER_PREFIX},
    {"cluster-ttl", required_argument, NULL, OPT_CLUSTER_TTL},
    {"cluster-stale", required_argument, NULL, OPT_CLUSTER_STALE},
    {"cluster-max-entries", required_argument, NULL, OPT_CLUSTER_MAX_ENTRIES},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0}};

/* bad_option is usage_error for an option getopt_long refused: arg is
 * the argument it stopped at (a short option may sit inside a bundle such
 * as "-hx", where optopt names it). */
static int bad_option(const char *arg)
{
    if (strncmp(arg, "--", 2) != 0)
        return usage_error("unknown option '-%c'", optopt);
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    if (eq && optopt) /* glibc: a known option given a value it takes none of */
        return usage_error("option '%.*s' takes no value", (int)n, arg);
    int matches = 0; /* getopt_long takes any unambiguous prefix */
    for (const struct option *o = longopts; o->name; o++)
        matches += strncmp(o->name, arg + 2, n - 2) == 0;
    if (matches > 1)
        return usage_error("option '%.*s' is ambiguous", (int)n, arg);
    return usage_error("unknown option '%s'", arg);
}

/* check_cluster checks the cluster options together (each alone was
 * checked as it was parsed): every URL http:// or https://, an address to
 * advertise that other hosts could reach, a certificate with its key. 0,
 * or the usage error's status; *loopback nonzero when the address is a
 * loopback one (accepted: a cluster on one machine). */
static int check_cluster(const mm_cluster_cfg *cc, int *loopback)
{
    const char *u = cc->endpoints;
    for (;;) {
        size_t n = strcspn(u, ",");
        if (n == 0 || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) || n == 7 ||
            (n == 8 && u[4] == 's'))
            return usage_error("--cluster: '%.*s' is not an etcd client URL (http://HOST:PORT "
                               "or https://HOST:PORT)",
                               (int)n, u);
        if (!u[n])
            break;
        u += n + 1;
    }
    if (!cc->advertise)
        return usage_error("--cluster needs --advertise ADDR, the address other hosts reach "
                           "this one at");
    unsigned char a[16];
    int v4 = inet_pton(AF_INET, cc->advertise, a) == 1;
    if (!v4 && inet_pton(AF_INET6, cc->advertise, a) != 1)
        return usage_error("--advertise: '%s' is not an IPv4 or IPv6 address", cc->advertise);
    static const unsigned char zero[16], one6[16] = {[15] = 1};
    if (memcmp(a, zero, v4 ? 4 : 16) == 0)
        return usage_error("--advertise: '%s' is the wildcard address, which other hosts "
                           "cannot reach",
                           cc->advertise);
    *loopback = v4 ? a[0] == 127 : memcmp(a, one6, 16) == 0;
    if (!cc->host && !mm_cluster_host_valid(cc->advertise))
        return usage_error("--advertise: '%s' cannot name this host in the keys; give "
                           "--cluster-host",
                           cc->advertise);
    if (!cc->cert != !cc->key)
        return usage_error("--cluster-cert and --cluster-key go together");
    return 0;
}

int main(int argc, char **argv)
{
    long port = 111, max_entries = 0, check_ms = 1000, threads = 2;
    long udp_ratio = MM_UDP_RATIO_DEFAULT;
    const char *binds[MAX_BINDS];
    size_t nbinds = 0;
    const char *sock = "/run/parley/matchmaker.sock";
    const char *rpcb_sock = "/run/rpcbind.sock";
    const char *state = "/var/lib/parley/matchmaker.state";
    const char *pidfile = NULL;
    int daemonize = 0;
    mm_cluster_cfg cc;
    memset(&cc, 0, sizeof cc);
    cc.ttl_s = MM_CLUSTER_TTL_DEFAULT;
    cc.stale_s = MM_CLUSTER_STALE_DEFAULT;
    const char *cluster_only = NULL; /* a cluster option given, for the check below */
    int opt;
    opterr = 0; /* usage_error says it, in one line */
    /* the leading ':' tells a missing value (':') from an unknown option */
    int verbose = 0;
    while ((opt = getopt_long(argc, argv, ":hVv", longopts, NULL)) != -1) {
        switch (opt) {
        case OPT_PORT:
            if ((port = number(optarg, 1, 65535)) < 0)
                return usage_error("--port: '%s' is not a port (1 to 65535)", optarg);
            break;
        case OPT_BIND:
            if (nbinds == MAX_BINDS)
                return usage_error("--bind: at most %d addresses", MAX_BINDS);
            binds[nbinds++] = optarg;
            break;
        case OPT_SOCKET:
            sock = optarg;
            break;
        case OPT_RPCBIND_SOCKET:
            rpcb_sock = optarg;
            break;
        case OPT_NO_RPCBIND_SOCKET:
            rpcb_sock = NULL;
            break;
        case OPT_STATE:
            state = optarg;
            break;
        case OPT_NO_STATE:
            state = NULL;
            break;
        case OPT_MAX_ENTRIES:
            if ((max_entries = number(optarg, 1, MM_LIST_MAX)) < 0)
                return usage_error("--max-entries: '%s' is not a number from 1 to %d", optarg,
                                   MM_LIST_MAX);
            break;
        case OPT_CHECK_MS:
            if ((check_ms = number(optarg, 0, 3600000)) < 0)
                return usage_error("--check-ms: '%s' is not a number from 0 to 3600000", optarg);
            break;
        case OPT_UDP_RATIO:
            if ((udp_ratio = number(optarg, 0, 1000)) < 0)
                return usage_error("--udp-ratio: '%s' is not a number from 0 to 1000", optarg);
            break;
        case OPT_THREADS:
            if ((threads = number(optarg, 1, 256)) < 0)
                return usage_error("--threads: '%s' is not a number from 1 to 256", optarg);
            break;
        case OPT_DAEMON:
            daemonize = 1;
            break;
        case OPT_PIDFILE:
            pidfile = optarg;
            break;
        case OPT_SYSLOG:
            use_syslog = 1;
            break;
        case OPT_CLUSTER:
            cc.endpoints = optarg;
            break;
        case OPT_CLUSTER_CACERT:
            cc.cacert = optarg;
            cluster_only = "--cluster-cacert";
            break;
        case OPT_CLUSTER_CERT:
            cc.cert = optarg;
            cluster_only = "--cluster-cert";
            break;
        case OPT_CLUSTER_KEY:
            cc.key = optarg;
            cluster_only = "--cluster-key";
            break;
        case OPT_ADVERTISE:
            cc.advertise = optarg;
            cluster_only = "--advertise";
            break;
        case OPT_CLUSTER_HOST:
            if (!mm_cluster_host_valid(optarg))
                return usage_error("--cluster-host: '%s' is not 1 to %d characters of A-Z a-z "
                                   "0-9 . _ : -",
                                   optarg, MM_HOST_MAX);
            cc.host = optarg;
            cluster_only = "--cluster-host";
            break;
        case OPT_CLUSTER_PREFIX:
            if (!mm_cluster_prefix_valid(optarg))
                return usage_error("--cluster-prefix: '%s' is not 1 to %u printable characters "
                                   "without spaces ending in '/'",
                                   optarg, MM_CLUSTER_PREFIX_MAX);
            cc.prefix = optarg;
            cluster_only = "--cluster-prefix";
            break;
        case OPT_CLUSTER_TTL: {
            long v = number(optarg, MM_CLUSTER_TTL_MIN, MM_CLUSTER_TTL_MAX);
            if (v < 0)
                return usage_error("--cluster-ttl: '%s' is not a number of seconds from %u to %u",
                                   optarg, MM_CLUSTER_TTL_MIN, MM_CLUSTER_TTL_MAX);
            cc.ttl_s = (unsigned)v;
            cluster_only = "--cluster-ttl";
            break;
        }
        case OPT_CLUSTER_STALE: {
            long v = number(optarg, 0, MM_CLUSTER_STALE_MAX);
            if (v < 0)
                return usage_error("--cluster-stale: '%s' is not a number of seconds from 0 to %u",
                                   optarg, MM_CLUSTER_STALE_MAX);
            cc.stale_s = (unsigned)v;
            cluster_only = "--cluster-stale";
            break;
        }
        case OPT_CLUSTER_MAX_ENTRIES: {
            long v = number(optarg, 1, MM_CLUSTER_MAX);
            if (v < 0)
                return usage_error("--cluster-max-entries: '%s' is not a number from 1 to %d",
                                   optarg, MM_CLUSTER_MAX);
            cc.max_entries = (size_t)v;
            cluster_only = "--cluster-max-entries";
            break;
        }
        case 'v':
            verbose = 1;
            break;
        case 'h':
            usage();
            return 0;
        case 'V':
            puts(PROG " " MM_VERSION);
            return 0;
        case ':': /* only long options take values */
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return bad_option(argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    int cluster_warn_loopback = 0;
    if (!cc.endpoints && cluster_only)
        return usage_error("%s needs --cluster", cluster_only);
    if (cc.endpoints) {
        int rc = check_cluster(&cc, &cluster_warn_loopback);
        if (rc != 0)
            return rc;
    }
    /* the library's events: PARLEY_LOG's level, or debug with -v */
    int log_level = verbose ? PARLEY_LOG_DEBUG : PARLEY_LOG_OFF;
    const char *env = getenv("PARLEY_LOG");
    if (env && *env && parley_log_level_parse(env, &log_level) != PARLEY_OK)
        return usage_error("PARLEY_LOG: '%s' is not a level (off, error, warning, info, debug)",
                           env);
    show_debug = log_level == PARLEY_LOG_DEBUG;
    parley_set_log(log_sink, NULL, log_level);
    char sockbuf[PATH_MAX], rpcbbuf[PATH_MAX], statebuf[PATH_MAX], pidbuf[PATH_MAX];
    sock = absolute(sock, sockbuf, sizeof sockbuf);
    rpcb_sock = absolute(rpcb_sock, rpcbbuf, sizeof rpcbbuf);
    state = absolute(state, statebuf, sizeof statebuf);
    pidfile = absolute(pidfile, pidbuf, sizeof pidbuf);
    if (use_syslog)
        openlog(PROG, LOG_PID, LOG_DAEMON);
    /* rpcbind's socket, then the matchmaker's */
    const char *socks[2] = {rpcb_sock, sock};
    int made[2] = {0, 0}; /* the socket files this process made */

    mm_registry *reg = NULL;
    int err = mm_registry_create(&reg, (size_t)max_entries);
    if (err != 0) {
        say(LOG_ERR, "cannot create the table: %s", strerror(err));
        return 1;
    }
    mm_cluster *cluster = NULL;
    if (cc.endpoints) {
        char why[300];
        cc.reg = reg;
        cc.log = say;
        if (mm_cluster_create(&cluster, &cc, why, sizeof why) != 0) {
            say(LOG_ERR, "cannot be the cluster's agent: %s", why);
            mm_registry_destroy(reg);
            return 1;
        }
        if (cluster_warn_loopback)
            say(LOG_WARNING,
                "--advertise %s is a loopback address: only a cluster on this one machine can "
                "reach what it publishes",
                cc.advertise);
    }
    mm_service_cfg sc = {reg, state, NULL, (unsigned)check_ms, say, (unsigned)udp_ratio, cluster};
    if (state) {
        size_t loaded = 0, rejected = 0;
        err = mm_registry_load(reg, state, diag, NULL, &loaded, &rejected);
        if (err != 0 && err != ENOENT)
            say(LOG_WARNING, "cannot load %s: %s", state, strerror(err));
        else if (err == 0)
            say(LOG_INFO, "loaded %zu entries from %s (%zu lines rejected)", loaded, state,
                rejected);
    }
    mm_service *sv = NULL;
    err = mm_service_create(&sv, &sc);
    if (err != 0) {
        say(LOG_ERR, "cannot create the service: %s", strerror(err));
        mm_cluster_destroy(cluster);
        mm_registry_destroy(reg);
        return 1;
    }
    mm_self_remove(sv);

    parley_server_opts so;
    memset(&so, 0, sizeof so);
    so.threads = (unsigned)threads;
    int rc = parley_server_create(&server, &so);
    if (rc == PARLEY_OK)
        rc = parley_server_add_program_ctx(server, &matchmaker_prog_1, sv);
    /* rpcbind's versions with a NULL procedure GETSTAT counts */
    static const parley_program_def *const rpcb_gen[] = {&mm_rpcbprog_2, &mm_rpcbprog_3,
                                                         &mm_rpcbprog_4};
    static parley_proc_def rpcb_procs[3][MM_RPCBSTAT_HIGHPROC + 1];
    static parley_program_def rpcb_defs[3];
    for (int i = 0; i < 3 && rc == PARLEY_OK; i++) {
        rc = mm_rpcb_counting(rpcb_gen[i], rpcb_procs[i], MM_RPCBSTAT_HIGHPROC + 1, &rpcb_defs[i]);
        if (rc == PARLEY_OK)
            rc = parley_server_add_program_ctx(server, &rpcb_defs[i], sv);
    }
    if (rc != PARLEY_OK) {
        say(LOG_ERR, "cannot create the server: %s", parley_strerror(rc));
        goto fail;
    }
    int wildcard = nbinds == 0;
    if (wildcard) {
        /* IPv6 sockets are IPv6-only (listen_one), so the two wildcards
         * share the port */
        binds[nbinds++] = "::";
        binds[nbinds++] = "0.0.0.0";
    }
    for (size_t i = 0; i < nbinds; i++) {
        int v6 = strchr(binds[i], ':') != NULL;
        for (int udp = 0; udp < 2; udp++) {
            char addr[300];
            snprintf(addr, sizeof addr, v6 ? "%s://[%s]:%ld" : "%s://%s:%ld", udp ? "udp" : "tcp",
                     binds[i], port);
            const char *netid = udp ? (v6 ? "udp6" : "udp") : (v6 ? "tcp6" : "tcp");
            rc = listen_one(sv, addr, netid, (unsigned)port, 0, MM_SELF_ALL);
            /* a host without IPv6 is served over IPv4 alone */
            if (rc != PARLEY_OK && wildcard && v6 && rc != PARLEY_ERR_IN_USE &&
                rc != PARLEY_ERR_DENIED) {
                say(LOG_WARNING, "no IPv6 (%s): serving IPv4 only", parley_strerror(rc));
                rc = PARLEY_OK;
                break;
            }
            if (rc != PARLEY_OK)
                goto fail;
        }
    }
    for (int i = 0; i < 2; i++) {
        if (!socks[i])
            continue;
        parent_dir(socks[i]);
        char addr[PATH_MAX + 16];
        snprintf(addr, sizeof addr, "unix://%s", socks[i]);
        /* rpcbind's programs at rpcbind's socket (as rpcbind lists
         * them), the matchmaker's at its own; both at the matchmaker's
         * without rpcbind's */
        unsigned self = i == 0 ? MM_SELF_RPCBIND : socks[0] ? MM_SELF_MATCHMAKER : MM_SELF_ALL;
        if (listen_one(sv, addr, "local", 0, 0666, self) != PARLEY_OK) {
            rc = PARLEY_ERR_IO;
            goto fail;
        }
        made[i] = 1;
    }
    if (state)
        parent_dir(state);

    if (daemonize) {
        pid_t pid = fork();
        if (pid < 0) {
            say(LOG_ERR, "fork: %s", strerror(errno));
            goto fail;
        }
        if (pid > 0)
            _exit(0);
        setsid();
        if (chdir("/") != 0)
            say(LOG_WARNING, "chdir /: %s", strerror(errno));
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
            if (use_syslog)
                dup2(nul, 2);
            if (nul > 2)
                close(nul);
        }
    }
    if (pidfile) {
        FILE *f = fopen(pidfile, "w");
        if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0) {
            say(LOG_ERR, "cannot write %s: %s", pidfile, strerror(errno));
            goto fail;
        }
    }
    err = mm_service_start(sv);
    if (err != 0) {
        say(LOG_ERR, "cannot start the liveness scan: %s", strerror(err));
        goto fail;
    }
    if (cluster) {
        err = mm_cluster_start(cluster);
        if (err != 0) {
            say(LOG_ERR, "cannot start the cluster's agent: %s", strerror(err));
            mm_service_stop(sv, 0);
            goto fail;
        }
        say(LOG_INFO, "cluster: the agent of %s as host %s, advertising %s (ttl %u s)",
            cc.endpoints, mm_cluster_host(cluster), cc.advertise, cc.ttl_s);
    }
    mm_service_changed(sv);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    say(LOG_INFO, "serving on port %ld", port);
    /* every address listens: a caller from now on is queued until run serves it */
    notify("READY=1");
    rc = parley_server_run(server);
    notify("STOPPING=1");
    sa.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (cluster) /* revokes the lease: this host's entries leave the cluster now */
        mm_cluster_stop(cluster);
    err = mm_service_stop(sv, 1);
    parley_server_destroy(server);
    mm_service_destroy(sv);
    mm_cluster_destroy(cluster);
    for (int i = 0; i < 2; i++)
        if (made[i])
            unlink(socks[i]);
    if (pidfile)
        unlink(pidfile);
    mm_registry_destroy(reg);
    if (rc != PARLEY_OK) {
        say(LOG_ERR, "%s", parley_strerror(rc));
        return 1;
    }
    return err ? 1 : 0;

fail:
    parley_server_destroy(server);
    mm_service_destroy(sv);
    mm_cluster_destroy(cluster);
    for (int i = 0; i < 2; i++)
        if (made[i])
            unlink(socks[i]);
    mm_registry_destroy(reg);
    return 1;
}
