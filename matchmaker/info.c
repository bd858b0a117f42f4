/*
 * info.c: parley-info, the matchmaker's command-line client. It lists the
 * registrations (like rpcinfo -p, with names and owners), looks a service
 * up, and pings a service with a NULL call. The matchmaker is found at
 * PARLEY_MATCHMAKER (host:port, or a unix:// address) or -m, by default
 * localhost:111.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

#include "matchmaker.h"
#include "parley/client.h"
#include "parley/uaddr.h"

#define PROG       "parley-info"
#define TIMEOUT_MS 5000u

static void usage(FILE *f)
{
    fprintf(f, "usage: " PROG " [-m host:port] list\n"
               "       " PROG " [-m host:port] lookup NAME [VERS] [NETID]\n"
               "       " PROG " [-m host:port] ping NAME|ADDRESS [PROG VERS]\n"
               "The matchmaker is at PARLEY_MATCHMAKER or -m (default localhost:111).\n");
}

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
    printf("%10s %5s %-6s %-32s %-16s %s\n", "program", "vers", "netid", "address", "name",
           "owner");
    for (u_int i = 0; i < l.mm_entry_list_len; i++) {
        const mm_entry *e = &l.mm_entry_list_val[i];
        char a[160];
        if (address(e->netid, e->uaddr, a, sizeof a) != 0)
            snprintf(a, sizeof a, "%s", e->uaddr);
        printf("%10u %5u %-6s %-32s %-16s %s\n", e->prog, e->vers, e->netid, a,
               e->name[0] ? e->name : "-", e->owner);
    }
    mm_entry_list_free(&l);
    return 0;
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
    if (res->status != MM_OK) {
        fprintf(stderr, PROG ": '%s': %s\n", name,
                res->status == MM_INVALID ? "not a valid name, version or netid" : "refused");
        return 1;
    }
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
        if (!have_pv) {
            fprintf(stderr, PROG ": ping ADDRESS needs PROG and VERS\n");
            return 2;
        }
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
    const char *mmaddr = getenv("PARLEY_MATCHMAKER");
    int i = 1;
    if (i < argc && strcmp(argv[i], "-m") == 0) {
        if (i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        mmaddr = argv[i + 1];
        i += 2;
    }
    if (!mmaddr || !mmaddr[0])
        mmaddr = "localhost:111";
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[i++];
    int nargs = argc - i;
    char **args = argv + i;
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        usage(stdout);
        return 0;
    }
    unsigned vers = 0, prog = 0;
    const char *netid = "";
    if (strcmp(cmd, "list") == 0) {
        if (nargs != 0) {
            usage(stderr);
            return 2;
        }
    } else if (strcmp(cmd, "lookup") == 0) {
        if (nargs < 1 || nargs > 3 || (nargs >= 2 && parse_u32(args[1], &vers) != 0)) {
            usage(stderr);
            return 2;
        }
        if (nargs == 3)
            netid = args[2];
    } else if (strcmp(cmd, "ping") == 0) {
        if ((nargs != 1 && nargs != 3) ||
            (nargs == 3 && (parse_u32(args[1], &prog) != 0 || parse_u32(args[2], &vers) != 0))) {
            usage(stderr);
            return 2;
        }
    } else {
        fprintf(stderr, PROG ": unknown command '%s'\n", cmd);
        usage(stderr);
        return 2;
    }

    char url[300];
    if (strstr(mmaddr, "://"))
        snprintf(url, sizeof url, "%s", mmaddr);
    else
        snprintf(url, sizeof url, "tcp://%s", mmaddr);
    parley_client *mm = NULL;
    parley_client_opts o;
    memset(&o, 0, sizeof o);
    o.timeout_ms = TIMEOUT_MS;
    int rc = parley_client_create(&mm, url, MATCHMAKER_PROG, MATCHMAKER_VERS, &o);
    if (rc != PARLEY_OK) {
        fprintf(stderr, PROG ": '%s' is not a matchmaker address: %s\n", mmaddr,
                parley_strerror(rc));
        return 2;
    }
    int status;
    if (strcmp(cmd, "list") == 0) {
        status = cmd_list(mm, mmaddr);
    } else if (strcmp(cmd, "lookup") == 0) {
        mm_lookup_res res;
        memset(&res, 0, sizeof res);
        status = lookup(mm, mmaddr, args[0], vers, netid, &res);
        for (u_int k = 0; status == 0 && k < res.mm_lookup_res_u.entries.mm_entry_list_len; k++) {
            const mm_entry *e = &res.mm_lookup_res_u.entries.mm_entry_list_val[k];
            char a[200];
            if (address(e->netid, e->uaddr, a, sizeof a) != 0)
                snprintf(a, sizeof a, "%s", e->uaddr);
            printf("%s\n", a);
        }
        mm_lookup_res_free(&res);
    } else {
        status = cmd_ping(mm, mmaddr, args[0], prog, vers, nargs == 3);
    }
    parley_client_destroy(mm);
    return status;
}
