/*
 * clusterutil.c: the helpers of clusterutil.h: an etcd cluster of the
 * benchmark's own, its metrics over libcurl, /proc readings, children that
 * die with the benchmark, and a private network namespace.
 */
#include "clusterutil.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHILDREN 256

uint64_t bc_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bc_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* bc_find_program tries each folder of PATH in turn, as execvp does. */
int bc_find_program(const char *name, char *out, size_t cap)
{
    if (strchr(name, '/')) {
        if (access(name, X_OK) != 0)
            return -1;
        snprintf(out, cap, "%s", name);
        return 0;
    }
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        int n = snprintf(out, cap, "%.*s/%s", (int)len, len ? path : ".", name);
        if (n > 0 && (size_t)n < cap && access(out, X_OK) == 0)
            return 0;
        path += len + (end != NULL);
    }
    return -1;
}

/* bc_private_network unshares the network namespace and sets IFF_UP on lo
 * with SIOCSIFFLAGS, as `ip link set lo up` would. */
int bc_private_network(char *msg, size_t cap)
{
    if (geteuid() != 0) {
        snprintf(msg, cap, "a private network namespace needs root");
        return -1;
    }
    if (unshare(CLONE_NEWNET) != 0) {
        snprintf(msg, cap, "unshare(CLONE_NEWNET): %s", strerror(errno));
        return -1;
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int rc = fd < 0 ? -1 : ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    if (rc != 0)
        snprintf(msg, cap, "bringing lo up: %s", strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

unsigned bc_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    unsigned port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

int bc_make_dir(const char *base, const char *prefix, char *out, size_t cap)
{
    if (base == NULL)
        base = getenv("TMPDIR");
    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    int n = snprintf(out, cap, "%s/%s-XXXXXX", base, prefix);
    if (n < 0 || (size_t)n >= cap || mkdtemp(out) == NULL)
        return -1;
    return 0;
}

/* remove_one is bc_remove_tree's nftw callback. */
static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP || flag == FTW_D)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void bc_remove_tree(const char *path)
{
    if (path && path[0])
        nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *bc_fs_type(const char *path)
{
    struct statfs s;
    if (statfs(path, &s) != 0)
        return "?";
    switch ((unsigned long)s.f_type) {
    case 0xEF53UL:
        return "ext4";
    case 0x01021994UL:
        return "tmpfs";
    case 0x58465342UL:
        return "xfs";
    case 0x9123683EUL:
        return "btrfs";
    case 0x794c7630UL:
        return "overlayfs";
    default:
        return "other";
    }
}

/* The children started by bc_spawn, for bc_children_kill; a slot is 0
 * when free. Atomic, since the signal handler reads them. */
static _Atomic pid_t children[MAX_CHILDREN];

/* remember puts pid in a free slot of children[]. */
static void remember(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        pid_t z = 0;
        if (atomic_compare_exchange_strong(&children[i], &z, pid))
            return;
    }
}

/* forget frees pid's slot of children[]. */
static void forget(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        pid_t p = pid;
        if (atomic_compare_exchange_strong(&children[i], &p, 0))
            return;
    }
}

/* bc_spawn forks and execs; the child asks for SIGKILL when its parent
 * dies, and checks the parent did not die before that took effect. */
pid_t bc_spawn(const char *const argv[], const char *log_path)
{
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        if (log_path) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        execv(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    remember(pid);
    return pid;
}

/* bc_stop polls waitpid every 10 ms up to wait_ms. */
int bc_stop(pid_t pid, unsigned wait_ms)
{
    if (pid <= 0)
        return -1;
    int status = -1;
    kill(pid, SIGTERM);
    for (unsigned waited = 0;; waited += 10) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            break;
        if (r < 0) {
            status = -1;
            break;
        }
        if (waited >= wait_ms) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            break;
        }
        bc_sleep_ms(10);
    }
    forget(pid);
    return status;
}

void bc_children_kill(void)
{
    for (int i = 0; i < MAX_CHILDREN; i++) {
        pid_t p = atomic_exchange(&children[i], 0);
        if (p > 0) {
            kill(p, SIGKILL);
            waitpid(p, NULL, 0);
        }
    }
}

/* on_signal kills the children and ends the benchmark with the signal's
 * usual status. */
static void on_signal(int sig)
{
    bc_children_kill();
    _exit(128 + sig);
}

void bc_children_guard(void)
{
    atexit(bc_children_kill);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* A growing buffer for libcurl's write callback. */
typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

/* on_data is libcurl's write callback: it appends to the buf ctx, kept
 * NUL-terminated; 0 (which ends the transfer) when out of memory. */
static size_t on_data(char *data, size_t size, size_t nmemb, void *ctx)
{
    buf *b = ctx;
    size_t len = size * nmemb;
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->n + len + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
    b->p[b->n] = '\0';
    return len;
}

int bc_http_get(const char *url, unsigned timeout_ms, char **out)
{
    CURL *c = curl_easy_init();
    if (c == NULL)
        return -1;
    buf b = {NULL, 0, 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK || code != 200 || b.p == NULL) {
        free(b.p);
        return -1;
    }
    *out = b.p;
    return 0;
}

/* labels_match checks that every '|'-separated part of want occurs in the
 * labels lab[0..n). */
static int labels_match(const char *lab, size_t n, const char *want)
{
    while (want && *want) {
        const char *end = strchr(want, '|');
        size_t len = end ? (size_t)(end - want) : strlen(want);
        int found = 0;
        for (size_t i = 0; len && i + len <= n; i++)
            if (memcmp(lab + i, want, len) == 0) {
                found = 1;
                break;
            }
        if (!found && len)
            return 0;
        want += len + (end != NULL);
    }
    return 1;
}

/* bc_metric walks the text line by line; comment lines start with '#'. */
double bc_metric(const char *text, const char *name, const char *labels)
{
    size_t nlen = strlen(name);
    double sum = 0;
    int seen = 0;
    for (const char *line = text; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len > nlen && memcmp(line, name, nlen) == 0 &&
            (line[nlen] == '{' || line[nlen] == ' ')) {
            const char *lab = line + nlen, *labend = lab;
            if (*lab == '{') {
                labend = memchr(lab, '}', len - nlen);
                if (labend == NULL)
                    goto next;
            }
            if (labels_match(lab, (size_t)(labend - lab), labels)) {
                const char *v = memchr(labend, ' ', (size_t)(line + len - labend));
                if (v) {
                    sum += strtod(v + 1, NULL);
                    seen = 1;
                }
            }
        }
    next:
        line = eol ? eol + 1 : NULL;
    }
    return seen ? sum : -1;
}

int bc_metrics_of(const bc_etcd *e, unsigned i, char **out)
{
    char url[96];
    snprintf(url, sizeof url, "%s/metrics", e->url[i]);
    return bc_http_get(url, 5000, out);
}

long bc_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

/* bc_cpu_s reads utime and stime, fields 14 and 15 of /proc/PID/stat,
 * counted after the command's closing parenthesis. */
double bc_cpu_s(pid_t pid)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *p = strrchr(text, ')');
    if (p == NULL)
        return -1;
    unsigned long long ut = 0, st = 0;
    /* after ')': state (3), then fields 4..13, then utime (14), stime (15) */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

void bc_loadavg(char *out, size_t cap)
{
    snprintf(out, cap, "?");
    FILE *f = fopen("/proc/loadavg", "r");
    if (f == NULL)
        return;
    double a, b, c;
    if (fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
        snprintf(out, cap, "%.2f %.2f %.2f", a, b, c);
    fclose(f);
}

long bc_raise_nofile(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0)
        return -1;
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
    getrlimit(RLIMIT_NOFILE, &r);
    return (long)r.rlim_cur;
}

/* healthy asks url's /health; 1 when it says "true". */
static int healthy(const char *url)
{
    char u[96], *body = NULL;
    snprintf(u, sizeof u, "%s/health", url);
    if (bc_http_get(u, 1000, &body) != 0)
        return 0;
    int ok = strstr(body, "\"true\"") != NULL;
    free(body);
    return ok;
}

/* bc_etcd_start writes each member's command line out in full (the flags
 * of etcd 3.4) and logs each member to its own file in the folder. */
int bc_etcd_start(bc_etcd *e, const char *etcd_path, unsigned n, const char *base_dir,
                  unsigned wait_ms, char *msg, size_t cap)
{
    memset(e, 0, sizeof *e);
    if (n < 1 || n > BC_MAX_MEMBERS) {
        snprintf(msg, cap, "%u members: 1 to %d", n, BC_MAX_MEMBERS);
        return -1;
    }
    if (bc_make_dir(base_dir, "bench-etcd", e->dir, sizeof e->dir) != 0) {
        snprintf(msg, cap, "cannot make a temporary folder: %s", strerror(errno));
        return -1;
    }
    e->n = n;
    char initial[BC_MAX_MEMBERS * 80] = "";
    for (unsigned i = 0; i < n; i++) {
        e->client_port[i] = bc_free_port();
        e->peer_port[i] = bc_free_port();
        if (e->client_port[i] == 0 || e->peer_port[i] == 0 ||
            e->client_port[i] == e->peer_port[i]) {
            snprintf(msg, cap, "no free loopback port");
            bc_etcd_stop(e);
            return -1;
        }
        snprintf(e->url[i], sizeof e->url[i], "http://127.0.0.1:%u", e->client_port[i]);
        size_t used = strlen(initial);
        snprintf(initial + used, sizeof initial - used, "%sm%u=http://127.0.0.1:%u", i ? "," : "",
                 i, e->peer_port[i]);
        used = strlen(e->endpoints);
        snprintf(e->endpoints + used, sizeof e->endpoints - used, "%s%s", i ? "," : "", e->url[i]);
    }
    char token[64];
    snprintf(token, sizeof token, "bench-%d", (int)getpid());
    for (unsigned i = 0; i < n; i++) {
        char name[16], data[300], log[300], peer[64];
        snprintf(name, sizeof name, "m%u", i);
        snprintf(data, sizeof data, "%s/%s.etcd", e->dir, name);
        snprintf(log, sizeof log, "%s/%s.log", e->dir, name);
        snprintf(peer, sizeof peer, "http://127.0.0.1:%u", e->peer_port[i]);
        const char *argv[] = {etcd_path, "--name",
                              name,      "--data-dir",
                              data,      "--listen-client-urls",
                              e->url[i], "--advertise-client-urls",
                              e->url[i], "--listen-peer-urls",
                              peer,      "--initial-advertise-peer-urls",
                              peer,      "--initial-cluster",
                              initial,   "--initial-cluster-token",
                              token,     "--initial-cluster-state",
                              "new",     NULL};
        e->pid[i] = bc_spawn(argv, log);
        if (e->pid[i] < 0) {
            e->pid[i] = 0;
            snprintf(msg, cap, "cannot start %s: %s", etcd_path, strerror(errno));
            bc_etcd_stop(e);
            return -1;
        }
    }
    uint64_t deadline = bc_now_ns() + (uint64_t)wait_ms * 1000000u;
    for (unsigned i = 0; i < n;) {
        if (healthy(e->url[i])) {
            i++;
            continue;
        }
        int status;
        if (waitpid(e->pid[i], &status, WNOHANG) == e->pid[i]) {
            e->pid[i] = 0;
            snprintf(msg, cap, "etcd member m%u exited (see its log, %s/m%u.log)", i, e->dir, i);
            bc_etcd_stop(e);
            return -1;
        }
        if (bc_now_ns() > deadline) {
            snprintf(msg, cap, "etcd member m%u not healthy after %u ms", i, wait_ms);
            bc_etcd_stop(e);
            return -1;
        }
        bc_sleep_ms(50);
    }
    return 0;
}

void bc_etcd_tail_logs(const bc_etcd *e, unsigned lines)
{
    enum { KEEP = 16 };
    if (lines > KEEP)
        lines = KEEP;
    for (unsigned i = 0; i < e->n; i++) {
        char path[300], ring[KEEP][400];
        snprintf(path, sizeof path, "%s/m%u.log", e->dir, i);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        unsigned n = 0;
        while (fgets(ring[n % KEEP], sizeof ring[0], f))
            n++;
        fclose(f);
        fprintf(stderr, "etcd member m%u, the last lines of its log:\n", i);
        for (unsigned k = n > lines ? n - lines : 0; k < n; k++)
            fprintf(stderr, "    | %s", ring[k % KEEP]);
    }
}

void bc_etcd_stop(bc_etcd *e)
{
    for (unsigned i = 0; i < e->n; i++)
        if (e->pid[i] > 0) {
            bc_stop(e->pid[i], 10000);
            e->pid[i] = 0;
        }
    bc_remove_tree(e->dir);
    e->dir[0] = '\0';
}
