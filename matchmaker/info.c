/*
 * info.c: parley-info, the matchmaker's command-line client. It lists the
 * registrations (like rpcinfo -p, with names and owners), looks a service
 * up, and pings a service with a NULL call. The matchmaker is found at
 * PARLEY_MATCHMAKER (host:port, or a unix:// address) or -m, by default
 * localhost:111.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

#include "cli.h"
#include "matchmaker.h"
#include "parley/client.h"
#include "parley/uaddr.h"

#define PROG       "parley-info"
#define TIMEOUT_MS 5000u

/* usage prints the full usage to stdout (--help). */
static void usage(void)
{
    fputs("usage: " PROG " [-m ADDRESS] list [--cluster]\n"
          "       " PROG " [-m ADDRESS] lookup NAME [VERS] [NETID]\n"
          "       " PROG " [-m ADDRESS] ping NAME|ADDRESS [PROG VERS]\n"
          "       " PROG " [-m ADDRESS] stats\n"
          "Lists and queries the registrations of a Parley matchmaker (or rpcbind).\n"
          "\n"
          "commands:\n"
          "  list                       every registration: program (decimal and hex),\n"
          "                             version, netid, address, name and owner\n"
          "  list --cluster             the matchmaker's link to its cluster (state, host,\n"
          "                             lease, ttl, revision, age, last error) and every\n"
          "                             instance of its cache: name, host, program, version,\n"
          "                             netid, address, lease (hex)\n"
          "  lookup NAME [VERS] [NETID] every instance of the service NAME (of version\n"
          "                             VERS, 0 the highest; on NETID), this host's first:\n"
          "                             origin (local or cluster), host, program, version,\n"
          "                             netid, address\n"
          "  ping NAME [PROG VERS]      a NULL call to the service NAME (of version VERS),\n"
          "                             timed\n"
          "  ping ADDRESS PROG VERS     a NULL call to program PROG version VERS at\n"
          "                             ADDRESS (tcp://host:port, udp://..., unix://path)\n"
          "  stats                      the matchmaker's counters per procedure: calls,\n"
          "                             errors, and the median and 99th percentile of their\n"
          "                             time in the server (bounds of log2 buckets, in us)\n"
          "\n"
          "options:\n"
          "  -m, --matchmaker ADDRESS   the matchmaker: host:port, [v6]:port, host, or a\n"
          "                             tcp:// or unix:// address (default: PARLEY_MATCHMAKER,\n"
          "                             else localhost:111)\n"
          "  -h, --help                 this text\n"
          "  -V, --version              the version\n"
          "\n"
          "Exit status: 0 when it worked, 1 when the name is not registered, known only\n"
          "from a cluster cut off for too long (stale), or a call failed, 2 for a usage\n"
          "error.\n",
          stdout);
}

/* usage_error is mm_usage_error for this program. */
#define usage_error(...) mm_usage_error(PROG, __VA_ARGS__)

/* address writes the client address ("tcp://127.0.0.1:4000") of a uaddr
 * of netid into buf; -1 when it is not one. */
static int address(const char *netid, const char *uaddr, char *buf, size_t cap)
{
    const parley_netid *ni = parley_netid_find(netid);
    struct sockaddr_storage ss;
    socklen_t len;
    if (!ni || parley_uaddr_parse(uaddr, ni->family, &ss, &len) != PARLEY_OK)
        return -1;
    const char *scheme = ni->family == AF_UNIX         ? "unix"
                         : ni->socktype == SOCK_STREAM ? "tcp"
                                                       : "udp";
    char host[INET6_ADDRSTRLEN];
    if (ni->family == AF_UNIX) {
        snprintf(buf, cap, "unix://%s", ((struct sockaddr_un *)&ss)->sun_path);
    } else if (ni->family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
        snprintf(buf, cap, "%s://%s:%u", scheme, host, ntohs(s4->sin_port));
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
        snprintf(buf, cap, "%s://[%s]:%u", scheme, host, ntohs(s6->sin6_port));
    }
    return 0;
}

/* fail_call prints why a call to the matchmaker failed; returns 1. */
static int fail_call(const char *where, int rc)
{
    if (rc == PARLEY_ERR_REFUSED || rc == PARLEY_ERR_CONNECT || rc == PARLEY_ERR_TIMEDOUT ||
        rc == PARLEY_ERR_RESOLVE || rc == PARLEY_ERR_CLOSED)
        fprintf(stderr, PROG ": cannot reach the matchmaker at %s: %s\n", where,
                parley_strerror(rc));
    else
        fprintf(stderr, PROG ": the matchmaker at %s: %s\n", where, parley_strerror(rc));
    return 1;
}

static int cmd_list(parley_client *c, const char *where)
{
    mm_entry_list l;
    memset(&l, 0, sizeof l);
    int rc = matchmaker_list_1(c, &l);
    if (rc != PARLEY_OK) {
        mm_entry_list_free(&l);
        return fail_call(where, rc);
    }
    /* each column as wide as its widest text (the fields are bounded:
     * netids 16 bytes, addresses 128, names 64), so that they stay aligned
     * with a long Unix socket path or IPv6 address */
    int wnetid = 5, waddr = 7, wname = 4;
    for (u_int i = 0; i < l.mm_entry_list_len; i++) {
        const mm_entry *e = &l.mm_entry_list_val[i];
        char a[200];
        if (address(e->netid, e->uaddr, a, sizeof a) != 0)
            snprintf(a, sizeof a, "%s", e->uaddr);
        int n = (int)strlen(e->netid);
        wnetid = n > wnetid ? n : wnetid;
        n = (int)strlen(a);
        waddr = n > waddr ? n : waddr;
        n = (int)strlen(e->name);
        wname = n > wname ? n : wname;
    }
    /* the program number in decimal, as rpcinfo -p prints it, and in hex,
     * as IDL files write it (0x20000001) */
    printf("%10s %-10s %4s %-*s %-*s %-*s %s\n", "program", "hex", "vers", wnetid, "netid", waddr,
           "address", wname, "name", "owner");
    for (u_int i = 0; i < l.mm_entry_list_len; i++) {
        const mm_entry *e = &l.mm_entry_list_val[i];
        char a[200], hex[16];
        if (address(e->netid, e->uaddr, a, sizeof a) != 0)
            snprintf(a, sizeof a, "%s", e->uaddr);
        snprintf(hex, sizeof hex, "0x%x", e->prog);
        printf("%10u %-10s %4u %-*s %-*s %-*s %s\n", e->prog, hex, e->vers, wnetid, e->netid, waddr,
               a, wname, e->name[0] ? e->name : "-", e->owner);
    }
    mm_entry_list_free(&l);
    return 0;
}

/* quantile is the upper bound, in us, of the latency bucket where the
 * fraction q of the n calls counted in b is reached. */
static unsigned long long quantile(const mm_proc_stats *st, double q)
{
    unsigned long long n = 0, seen = 0;
    for (u_int b = 0; b < st->latency_us.latency_us_len; b++)
        n += st->latency_us.latency_us_val[b];
    for (u_int b = 0; b < st->latency_us.latency_us_len; b++) {
        seen += st->latency_us.latency_us_val[b];
        if (n && (double)seen >= q * (double)n)
            return 1ull << b;
    }
    return 0;
}

static int cmd_stats(parley_client *c, const char *where)
{
    mm_stats_list l;
    memset(&l, 0, sizeof l);
    int rc = matchmaker_stats_1(c, &l);
    if (rc != PARLEY_OK) {
        mm_stats_list_free(&l);
        return fail_call(where, rc);
    }
    printf("%10s %-10s %4s %4s %10s %10s %8s %8s %8s %10s %10s\n", "program", "hex", "vers", "proc",
           "calls", "ok", "garbage", "sys_err", "not_run", "median<=us", "p99<=us");
    for (u_int i = 0; i < l.mm_stats_list_len; i++) {
        const mm_proc_stats *st = &l.mm_stats_list_val[i];
        char hex[16];
        snprintf(hex, sizeof hex, "0x%x", st->prog);
        printf("%10u %-10s %4u %4u %10llu %10llu %8llu %8llu %8llu %10llu %10llu\n", st->prog, hex,
               st->vers, st->proc, (unsigned long long)st->calls, (unsigned long long)st->ok,
               (unsigned long long)st->garbage_args, (unsigned long long)st->system_err,
               (unsigned long long)st->not_run, quantile(st, 0.5), quantile(st, 0.99));
    }
    mm_stats_list_free(&l);
    return 0;
}

/* status_error prints why a look-up of name was answered status; 1. */
static int status_error(const char *name, mm_status status)
{
    if (status == MM_STALE) /* the text says where to look */
        fprintf(stderr, PROG ": '%s': %s\n", name, parley_strerror(PARLEY_ERR_CLUSTER_STALE));
    else
        fprintf(stderr, PROG ": '%s': %s\n", name,
                status == MM_INVALID ? "not a valid name, version or netid" : "refused");
    return 1;
}

/* lookup asks for name; prints nothing, returns 0 with *res filled, or 1
 * after printing why. */
static int lookup(parley_client *c, const char *where, const char *name, unsigned vers,
                  const char *netid, mm_lookup_res *res)
{
    mm_query q = {(char *)(uintptr_t)name, vers, (char *)(uintptr_t)netid};
    int rc = matchmaker_lookup_1(c, &q, res);
    if (rc != PARLEY_OK)
        return fail_call(where, rc);
    if (res->status == MM_NOENT) {
        fprintf(stderr, PROG ": no service named '%s'%s registered at %s\n", name,
                vers || netid[0] ? " (of that version and transport)" : "", where);
        return 1;
    }
    if (res->status != MM_OK)
        return status_error(name, res->status);
    return 0;
}

static const char *state_text(mm_cluster_state s)
{
    switch (s) {
    case MM_CLUSTER_OFF:
        return "OFF";
    case MM_CLUSTER_CONNECTED:
        return "CONNECTED";
    case MM_CLUSTER_DISCONNECTED:
        return "DISCONNECTED";
    case MM_CLUSTER_STALE:
        return "STALE";
    }
    return "?";
}

/* cmd_list_cluster prints the matchmaker's link to its cluster, one line,
 * then its cache as a table. */
static int cmd_list_cluster(parley_client *c, const char *where)
{
    mm_cluster_info ci;
    memset(&ci, 0, sizeof ci);
    int rc = matchmaker_cluster_1(c, &ci);
    if (rc != PARLEY_OK) {
        mm_cluster_info_free(&ci);
        return fail_call(where, rc);
    }
    if (ci.state == MM_CLUSTER_OFF) {
        printf("state OFF (the matchmaker at %s is not in a cluster)\n", where);
        mm_cluster_info_free(&ci);
        return 0;
    }
    printf("state %s host %s lease %llx ttl %u revision %lld age %llu ms error %s\n",
           state_text(ci.state), ci.host, (unsigned long long)ci.lease, ci.ttl,
           (long long)ci.revision, (unsigned long long)ci.age_ms, ci.error[0] ? ci.error : "-");
    int wname = 4, whost = 4, waddr = 7;
    for (u_int i = 0; i < ci.instances.mm_instance_list_len; i++) {
        const mm_instance *in = &ci.instances.mm_instance_list_val[i];
        char a[200];
        if (address(in->entry.netid, in->entry.uaddr, a, sizeof a) != 0)
            snprintf(a, sizeof a, "%s", in->entry.uaddr);
        int n = (int)strlen(in->entry.name);
        wname = n > wname ? n : wname;
        n = (int)strlen(in->host);
        whost = n > whost ? n : whost;
        n = (int)strlen(a);
        waddr = n > waddr ? n : waddr;
    }
    printf("%-*s %-*s %10s %4s %-5s %-*s %s\n", wname, "name", whost, "host", "program", "vers",
           "netid", waddr, "address", "lease");
    for (u_int i = 0; i < ci.instances.mm_instance_list_len; i++) {
        const mm_instance *in = &ci.instances.mm_instance_list_val[i];
        char a[200];
        if (address(in->entry.netid, in->entry.uaddr, a, sizeof a) != 0)
            snprintf(a, sizeof a, "%s", in->entry.uaddr);
        printf("%-*s %-*s %10u %4u %-5s %-*s %llx\n", wname, in->entry.name, whost, in->host,
               in->entry.prog, in->entry.vers, in->entry.netid, waddr, a,
               (unsigned long long)in->lease);
    }
    mm_cluster_info_free(&ci);
    return 0;
}

/* cmd_lookup prints every instance of name (INSTANCES) with its origin,
 * this host's first; 1 after printing why when there is none. */
static int cmd_lookup(parley_client *c, const char *where, const char *name, unsigned vers,
                      const char *netid)
{
    mm_query q = {(char *)(uintptr_t)name, vers, (char *)(uintptr_t)netid};
    mm_instances_res res;
    memset(&res, 0, sizeof res);
    int rc = matchmaker_instances_1(c, &q, &res);
    if (rc != PARLEY_OK) {
        mm_instances_res_free(&res);
        return fail_call(where, rc);
    }
    if (res.status == MM_NOENT) {
        fprintf(stderr, PROG ": no service named '%s'%s registered at %s\n", name,
                vers || netid[0] ? " (of that version and transport)" : "", where);
        mm_instances_res_free(&res);
        return 1;
    }
    if (res.status != MM_OK) {
        mm_status st = res.status;
        mm_instances_res_free(&res);
        return status_error(name, st);
    }
    const mm_instance_list *l = &res.mm_instances_res_u.instances;
    int whost = 4, waddr = 7;
    for (u_int i = 0; i < l->mm_instance_list_len; i++) {
        const mm_instance *in = &l->mm_instance_list_val[i];
        char a[200];
        if (address(in->entry.netid, in->entry.uaddr, a, sizeof a) != 0)
            snprintf(a, sizeof a, "%s", in->entry.uaddr);
        int n = (int)strlen(in->host);
        whost = n > whost ? n : whost;
        n = (int)strlen(a);
        waddr = n > waddr ? n : waddr;
    }
    printf("%-7s %-*s %10s %4s %-5s %s\n", "origin", whost, "host", "program", "vers", "netid",
           "address");
    for (u_int i = 0; i < l->mm_instance_list_len; i++) {
        const mm_instance *in = &l->mm_instance_list_val[i];
        char a[200];
        if (address(in->entry.netid, in->entry.uaddr, a, sizeof a) != 0)
            snprintf(a, sizeof a, "%s", in->entry.uaddr);
        printf("%-7s %-*s %10u %4u %-5s %s\n",
               in->origin == MM_ORIGIN_CLUSTER ? "cluster" : "local", whost,
               in->host[0] ? in->host : "-", in->entry.prog, in->entry.vers, in->entry.netid, a);
    }
    mm_instances_res_free(&res);
    return 0;
}

static int parse_u32(const char *s, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 0);
    if (errno || end == s || *end || v > 0xffffffffu || s[0] == '-')
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int cmd_ping(parley_client *mm, const char *where, const char *target, unsigned prog,
                    unsigned vers, int have_pv)
{
    char addr[200];
    char label[120];
    if (strstr(target, "://")) {
        if (!have_pv)
            return usage_error("ping %s: an address needs PROG and VERS", target);
        snprintf(addr, sizeof addr, "%s", target);
        snprintf(label, sizeof label, "program %u version %u", prog, vers);
    } else {
        mm_lookup_res res;
        memset(&res, 0, sizeof res);
        int rc = lookup(mm, where, target, have_pv ? vers : 0, "", &res);
        if (rc != 0) {
            mm_lookup_res_free(&res);
            return rc;
        }
        const mm_entry *e = &res.mm_lookup_res_u.entries.mm_entry_list_val[0];
        prog = e->prog;
        vers = e->vers;
        rc = address(e->netid, e->uaddr, addr, sizeof addr);
        snprintf(label, sizeof label, "%s (program %u version %u)", target, prog, vers);
        mm_lookup_res_free(&res);
        if (rc != 0) {
            fprintf(stderr, PROG ": '%s' has an address I cannot use\n", target);
            return 1;
        }
    }
    parley_client *c = NULL;
    parley_client_opts o;
    memset(&o, 0, sizeof o);
    o.timeout_ms = TIMEOUT_MS;
    int rc = parley_client_create(&c, addr, prog, vers, &o);
    struct timespec t0, t1;
    if (rc == PARLEY_OK) /* the first call connects */
        rc = parley_client_call(c, 0, NULL, NULL, 0, NULL, NULL, 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (rc == PARLEY_OK)
        rc = parley_client_call(c, 0, NULL, NULL, 0, NULL, NULL, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    parley_client_destroy(c);
    if (rc != PARLEY_OK) {
        parley_rpc_detail d;
        char text[200];
        parley_client_last_detail(&d);
        fprintf(stderr, PROG ": %s at %s: %s\n", label, addr,
                d.err == rc ? parley_rpc_detail_format(&d, text, sizeof text)
                            : parley_strerror(rc));
        return 1;
    }
    long us = (long)(t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000L;
    printf("%s at %s: round trip %ld us\n", label, addr, us);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"matchmaker", required_argument, NULL, 'm'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    const char *mmaddr = getenv("PARLEY_MATCHMAKER");
    int opt;
    opterr = 0; /* usage_error says it, in one line */
    /* '+': options end at the command, whose arguments are its own; ':'
     * tells a missing value from an unknown option */
    while ((opt = getopt_long(argc, argv, "+:m:hV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'm':
            mmaddr = optarg;
            break;
        case 'h':
            usage();
            return 0;
        case 'V':
            puts(PROG " " MM_VERSION);
            return 0;
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            if (strncmp(argv[optind - 1], "--", 2) == 0)
                return usage_error("unknown option '%s'", argv[optind - 1]);
            return usage_error("unknown option '-%c'", optopt);
        }
    }
    if (!mmaddr || !mmaddr[0])
        mmaddr = "localhost:111";
    if (optind >= argc)
        return usage_error("no command (list, lookup, ping or stats)");
    const char *cmd = argv[optind++];
    int nargs = argc - optind;
    char **args = argv + optind;
    unsigned vers = 0, prog = 0;
    const char *netid = "";
    int cluster = 0;
    if (strcmp(cmd, "list") == 0) {
        if (nargs == 1 && strcmp(args[0], "--cluster") == 0)
            cluster = 1;
        else if (nargs != 0)
            return usage_error("list takes no arguments but --cluster");
    } else if (strcmp(cmd, "stats") == 0) {
        if (nargs != 0)
            return usage_error("%s takes no arguments", cmd);
    } else if (strcmp(cmd, "lookup") == 0) {
        if (nargs < 1 || nargs > 3)
            return usage_error("lookup takes NAME [VERS] [NETID]");
        if (nargs >= 2 && parse_u32(args[1], &vers) != 0)
            return usage_error("lookup: '%s' is not a version number", args[1]);
        if (nargs == 3)
            netid = args[2];
    } else if (strcmp(cmd, "ping") == 0) {
        if (nargs != 1 && nargs != 3)
            return usage_error("ping takes NAME or ADDRESS, then PROG and VERS or nothing");
        if (nargs == 3 && parse_u32(args[1], &prog) != 0)
            return usage_error("ping: '%s' is not a program number", args[1]);
        if (nargs == 3 && parse_u32(args[2], &vers) != 0)
            return usage_error("ping: '%s' is not a version number", args[2]);
    } else {
        return usage_error("unknown command '%s'", cmd);
    }

    /* as the runtime reads PARLEY_MATCHMAKER: a full address as it is; a
     * host or [v6] without a port, at the matchmaker's port, 111 */
    char url[300];
    const char *bracket = mmaddr[0] == '[' ? strchr(mmaddr, ']') : NULL;
    int has_port = bracket ? bracket[1] == ':' : strchr(mmaddr, ':') != NULL;
    if (strstr(mmaddr, "://"))
        snprintf(url, sizeof url, "%s", mmaddr);
    else
        snprintf(url, sizeof url, has_port ? "tcp://%s" : "tcp://%s:111", mmaddr);
    parley_client *mm = NULL;
    parley_client_opts o;
    memset(&o, 0, sizeof o);
    o.timeout_ms = TIMEOUT_MS;
    int rc = parley_client_create(&mm, url, MATCHMAKER_PROG, MATCHMAKER_VERS, &o);
    if (rc != PARLEY_OK)
        return usage_error("'%s' is not a matchmaker address: %s", mmaddr, parley_strerror(rc));
    int status;
    if (strcmp(cmd, "list") == 0) {
        status = cluster ? cmd_list_cluster(mm, mmaddr) : cmd_list(mm, mmaddr);
    } else if (strcmp(cmd, "stats") == 0) {
        status = cmd_stats(mm, mmaddr);
    } else if (strcmp(cmd, "lookup") == 0) {
        status = cmd_lookup(mm, mmaddr, args[0], vers, netid);
    } else {
        status = cmd_ping(mm, mmaddr, args[0], prog, vers, nargs == 3);
    }
    parley_client_destroy(mm);
    return status;
}
