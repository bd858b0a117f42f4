/*
 * etcd_member.c: an etcd of the test's own (etcd_member.h).
 *
 * Each member is one etcd process with the arguments a static cluster
 * needs (--initial-cluster names every member's peer URL), and whether it
 * is up is asked of etcdctl, the reference client, so that the check does
 * not depend on the client a test is testing. A member restarted finds its
 * data folder and rejoins with the same name and URLs.
 */
#include "etcd_member.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
    HEALTH_POLLS = 100, /* pt_etcd_wait: looks at a member */
    HEALTH_GAP_MS = 200 /* between two looks */
};

/* spawn_member starts member i of e with its folder and ports. 0 or -1. */
static int spawn_member(pt_etcd *e, int i)
{
    pt_etcd_member *m = &e->m[i];
    char listen[128], peer[64];
    snprintf(listen, sizeof listen, "%s", m->url);
    snprintf(peer, sizeof peer, "http://127.0.0.1:%d", m->pport);
    const char *argv[64] = {"etcd",    "--name",
                            m->name,   "--data-dir",
                            m->data,   "--listen-client-urls",
                            listen,    "--advertise-client-urls",
                            listen,    "--listen-peer-urls",
                            peer,      "--initial-advertise-peer-urls",
                            peer,      "--initial-cluster",
                            e->initial};
    int n = 15;
    if (e->o.log_level) {
        argv[n++] = "--log-level";
        argv[n++] = e->o.log_level;
    }
    for (int k = 0; e->o.extra && e->o.extra[k] && n < 63; k++)
        argv[n++] = e->o.extra[k];
    argv[n] = NULL;
    m->pid = pt_spawn_hook(argv, m->log, NULL, e->o.before_exec, e->o.arg);
    if (m->pid < 0) {
        m->pid = 0;
        return -1;
    }
    return 0;
}

/* healthy says whether member m answers etcdctl's endpoint health (1) or
 * not (0). */
static int healthy(const pt_etcd *e, const pt_etcd_member *m)
{
    char ep[160];
    snprintf(ep, sizeof ep, "--endpoints=%s", m->url);
    const char *argv[16] = {"etcdctl", ep, "--dial-timeout=2s", "--command-timeout=3s"};
    int n = 4;
    if (e->o.cacert) {
        argv[n++] = "--cacert";
        argv[n++] = e->o.cacert;
    }
    if (e->o.cert) {
        argv[n++] = "--cert";
        argv[n++] = e->o.cert;
    }
    if (e->o.key) {
        argv[n++] = "--key";
        argv[n++] = e->o.key;
    }
    argv[n++] = "endpoint";
    argv[n++] = "health";
    argv[n] = NULL;
    return pt_run_hook(argv, NULL, "ETCDCTL_API=3", e->o.before_exec, e->o.arg) == 0;
}

/* pt_etcd_start lays out e's folder, ports and URLs, then starts and
 * waits for its members. */
int pt_etcd_start(pt_etcd *e, int n, const pt_etcd_opts *o)
{
    memset(e, 0, sizeof *e);
    if (n < 1 || n > PT_ETCD_MAX || !o || !o->dir)
        return -1;
    e->o = *o;
    snprintf(e->dir, sizeof e->dir, "%s/etcd.XXXXXX", o->dir);
    if (!mkdtemp(e->dir)) {
        e->dir[0] = '\0';
        return -1;
    }
    e->n = n;
    const char *scheme = o->cacert ? "https" : "http";
    size_t il = 0, ul = 0;
    for (int i = 0; i < n; i++) {
        pt_etcd_member *m = &e->m[i];
        m->cport = pt_free_port();
        m->pport = pt_free_port();
        if (m->cport < 0 || m->pport < 0)
            return -1;
        snprintf(m->name, sizeof m->name, "m%d", i);
        snprintf(m->url, sizeof m->url, "%s://127.0.0.1:%d", scheme, m->cport);
        snprintf(m->data, sizeof m->data, "%s/%s.data", e->dir, m->name);
        snprintf(m->log, sizeof m->log, "%s/%s.log", e->dir, m->name);
        il += (size_t)snprintf(e->initial + il, sizeof e->initial - il, "%s%s=http://127.0.0.1:%d",
                               i ? "," : "", m->name, m->pport);
        ul += (size_t)snprintf(e->urls + ul, sizeof e->urls - ul, "%s%s", i ? "," : "", m->url);
    }
    for (int i = 0; i < n; i++)
        if (spawn_member(e, i) != 0)
            return -1;
    return pt_etcd_wait(e);
}

/* pt_etcd_wait polls each member in turn until it is healthy, its process
 * ended, or the bound passed. */
int pt_etcd_wait(pt_etcd *e)
{
    for (int i = 0; i < e->n; i++) {
        pt_etcd_member *m = &e->m[i];
        int ok = 0;
        for (int k = 0; k < HEALTH_POLLS && !ok && m->pid > 0; k++) {
            ok = healthy(e, m);
            if (!ok && waitpid(m->pid, NULL, WNOHANG) == m->pid)
                m->pid = 0;
            else if (!ok)
                pt_sleep_ms(HEALTH_GAP_MS);
        }
        if (!ok) {
            fprintf(stderr, "etcd member %s did not answer on %s (its log: %s)\n", m->name, m->url,
                    m->log);
            return -1;
        }
    }
    return 0;
}

/* pt_etcd_restart respawns the members whose pid is 0. */
int pt_etcd_restart(pt_etcd *e)
{
    for (int i = 0; i < e->n; i++)
        if (e->m[i].pid <= 0 && spawn_member(e, i) != 0)
            return -1;
    return pt_etcd_wait(e);
}

/* pt_etcd_kill ends member i at once. */
void pt_etcd_kill(pt_etcd *e, int i)
{
    if (i >= 0 && i < e->n)
        pt_stop(&e->m[i].pid, SIGKILL);
}

/* pt_etcd_stop ends every member with SIGTERM (bounded by pt_stop). */
int pt_etcd_stop(pt_etcd *e)
{
    int rc = 0;
    for (int i = 0; i < e->n; i++)
        if (pt_stop(&e->m[i].pid, SIGTERM) < 0)
            rc = -1;
    return rc;
}

/* pt_etcd_remove stops e and removes its folder; its folder name is
 * cleared so that a second call does nothing more. */
void pt_etcd_remove(pt_etcd *e)
{
    pt_etcd_stop(e);
    if (e->dir[0])
        pt_rm_tree(e->dir);
    e->dir[0] = '\0';
}

/* pt_etcd_urls returns e->urls. */
const char *pt_etcd_urls(const pt_etcd *e)
{
    return e->urls;
}

/* ---- certificates ---- */

/* pt_make_certs makes in dir a CA (ca.pem), a server certificate for
 * 127.0.0.1 (server.pem, server.key), a client certificate (client.pem,
 * client.key), and another CA (other-ca.pem) that signed none of them,
 * with openssl(1) (the caller checks it with pt_on_path()). Returns 0, or
 * -1 (openssl's output is in dir/log). */
int pt_make_certs(const char *dir)
{
    char f[16][320];
    const char *names[] = {"ca.key",       "ca.pem",     "server.key", "server.csr", "server.pem",
                           "client.key",   "client.csr", "client.pem", "ext.cnf",    "other.key",
                           "other-ca.pem", "log",        "ca.srl",     "cext.cnf"};
    for (int i = 0; i < 14; i++)
        snprintf(f[i], sizeof f[i], "%s/%s", dir, names[i]);
    FILE *x = fopen(f[8], "w");
    if (!x)
        return -1;
    fputs("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n", x);
    fclose(x);
    x = fopen(f[13], "w");
    if (!x)
        return -1;
    fputs("extendedKeyUsage=clientAuth\n", x);
    fclose(x);
    const char *ec = "ec", *curve = "ec_paramgen_curve:prime256v1";
    const char *ca[] = {
        "openssl", "req", "-x509", "-newkey", ec,      "-pkeyopt", curve,   "-nodes",
        "-keyout", f[0],  "-out",  f[1],      "-days", "2",        "-subj", "/CN=parley test CA",
        NULL};
    const char *other[] = {"openssl",        "req", "-x509",  "-newkey", ec,
                           "-pkeyopt",       curve, "-nodes", "-keyout", f[9],
                           "-out",           f[10], "-days",  "2",       "-subj",
                           "/CN=another CA", NULL};
    const char *sreq[] = {"openssl", "req", "-newkey", ec,   "-pkeyopt", curve,           "-nodes",
                          "-keyout", f[2],  "-out",    f[3], "-subj",    "/CN=127.0.0.1", NULL};
    const char *ssign[] = {"openssl",   "x509",     "-req",   "-in", f[3],
                           "-CA",       f[1],       "-CAkey", f[0],  "-CAcreateserial",
                           "-CAserial", f[12],      "-out",   f[4],  "-days",
                           "2",         "-extfile", f[8],     NULL};
    const char *creq[] = {"openssl", "req", "-newkey", ec,   "-pkeyopt", curve,      "-nodes",
                          "-keyout", f[5],  "-out",    f[6], "-subj",    "/CN=root", NULL};
    const char *csign[] = {"openssl", "x509",   "-req", "-in",       f[6],  "-CA",
                           f[1],      "-CAkey", f[0],   "-CAserial", f[12], "-out",
                           f[7],      "-days",  "2",    "-extfile",  f[13], NULL};
    const char *const *steps[] = {ca, other, sreq, ssign, creq, csign};
    for (int i = 0; i < 6; i++)
        if (pt_run(steps[i], f[11]) != 0) {
            fprintf(stderr, "openssl failed (its output: %s)\n", f[11]);
            return -1;
        }
    return 0;
}
