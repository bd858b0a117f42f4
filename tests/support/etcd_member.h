/*
 * etcd_member.h: an etcd of the test's own, of one member or a few.
 *
 * The tests of the matchmaker's cluster mode need a real etcd (3.4). They
 * never use the well-known ports: each member listens for clients and
 * peers on free loopback ports, keeps its data in a folder of its own
 * under the test's temporary folder, and is stopped by the test (it also
 * dies with the test, as every process of pt_spawn() does). A member
 * killed or stopped can be started again with the same data and ports, as
 * an etcd coming back. Waits are bounded. Needs etcd and etcdctl on PATH
 * (the caller checks with pt_on_path() and skips without them). Part of
 * the test support library, never of libparley.
 */
#ifndef PARLEY_TEST_ETCD_MEMBER_H
#define PARLEY_TEST_ETCD_MEMBER_H

#include "testproc.h"

#include <sys/types.h>

enum { PT_ETCD_MAX = 5 }; /* members of one pt_etcd at most */

/* pt_etcd_opts: how a pt_etcd's members run. The strings are borrowed:
 * they must outlive the pt_etcd. */
typedef struct pt_etcd_opts {
    const char *dir;            /* the folder its own folder is made in (required) */
    const char *const *extra;   /* more arguments for every member, NULL-terminated, or NULL */
    const char *cacert;         /* non-NULL: the client URLs are https, and the health */
    const char *cert, *key;     /* check (etcdctl) uses these CA, certificate and key */
    const char *log_level;      /* etcd's --log-level; NULL: etcd's default */
    pt_before_exec before_exec; /* called in each child (etcd, etcdctl) before exec, or NULL */
    void *arg;                  /* before_exec's argument */
} pt_etcd_opts;

/* pt_etcd_member: one member; pid is 0 while it is not running. */
typedef struct pt_etcd_member {
    pid_t pid;
    int cport, pport; /* client and peer ports */
    char name[8];     /* m0, m1, ... */
    char url[128];    /* its client URL: http(s)://127.0.0.1:PORT */
    char data[320];   /* its data folder */
    char log[320];    /* its output */
} pt_etcd_member;

/* pt_etcd: an etcd cluster of n members. */
typedef struct pt_etcd {
    int n;
    pt_etcd_opts o;
    char dir[256];                  /* its folder: a member's data and log */
    char initial[PT_ETCD_MAX * 48]; /* --initial-cluster */
    char urls[PT_ETCD_MAX * 128];   /* the client URLs, comma-separated */
    pt_etcd_member m[PT_ETCD_MAX];
} pt_etcd;

/* pt_etcd_start makes a folder under o->dir, picks free ports, starts n
 * members (1 to PT_ETCD_MAX) of a new cluster and waits until every member
 * is healthy (pt_etcd_wait). Returns 0, or -1 when a folder or a process
 * could not be made or the cluster did not become healthy; in every case
 * the caller releases e with pt_etcd_remove() (or pt_etcd_stop() to keep
 * its folder). e need not be initialised; o is copied. */
int pt_etcd_start(pt_etcd *e, int n, const pt_etcd_opts *o);

/* pt_etcd_wait waits until each running member answers etcdctl's endpoint
 * health (in all about 20 s at most, etcdctl's runs included). Returns 0;
 * -1 when a member was not running, ended meanwhile (its pid becomes 0)
 * or did not answer in time. */
int pt_etcd_wait(pt_etcd *e);

/* pt_etcd_restart starts again, with their data folders and ports, the
 * members that are not running, and waits as pt_etcd_wait(). 0 or -1. */
int pt_etcd_restart(pt_etcd *e);

/* pt_etcd_kill kills member i (SIGKILL) and reaps it; a member not running
 * is left as it is. Its data folder stays. */
void pt_etcd_kill(pt_etcd *e, int i);

/* pt_etcd_stop stops every running member: SIGTERM, then SIGKILL after a
 * bound (pt_stop); reaped. The data folders stay (pt_etcd_restart).
 * Returns 0, or -1 when some member was not running. */
int pt_etcd_stop(pt_etcd *e);

/* pt_etcd_remove stops every member (pt_etcd_stop) and removes e's folder.
 * Safe on a pt_etcd that failed to start, and twice. */
void pt_etcd_remove(pt_etcd *e);

/* pt_etcd_urls returns the members' client URLs, comma-separated, in
 * member order; the string belongs to e. */
const char *pt_etcd_urls(const pt_etcd *e);

/* pt_make_certs makes in dir, for a TLS member and its clients: a CA
 * (ca.pem, ca.key), a server certificate for 127.0.0.1 (server.pem,
 * server.key), a client certificate of CN root (client.pem, client.key),
 * and another CA (other-ca.pem) that signed none of them. Needs openssl(1).
 * Returns 0, or -1 (openssl's output in dir/log). */
int pt_make_certs(const char *dir);

#endif /* PARLEY_TEST_ETCD_MEMBER_H */
