/*
 * tests/integ/side_parley.c: integ_pclient, the Parley side of the
 * interoperability test: the calls of cases.c through the generated stubs,
 * their results printed to stdout.   integ_pclient ADDRESS
 */
#include <stdio.h>
#include <string.h>

#include "cases.h"

struct side {
    parley_client *none, *sys;
};

int side_echo_record(side *h, record *arg, record *res)
{
    return echo_record_1(h->none, arg, res) == PARLEY_OK;
}

int side_echo_shape(side *h, shape *arg, shape *res)
{
    return echo_shape_1(h->none, arg, res) == PARLEY_OK;
}

int side_next_color(side *h, color *arg, color *res)
{
    return next_color_1(h->none, arg, res) == PARLEY_OK;
}

int side_sum_list(side *h, node_list *arg, int *res)
{
    return sum_list_1(h->none, arg, res) == PARLEY_OK;
}

int side_make_list(side *h, int *arg, node_list *res)
{
    return make_list_1(h->none, arg, res) == PARLEY_OK;
}

int side_whoami(side *h, int auth_sys, whoami_res *res)
{
    return whoami_1(auth_sys ? h->sys : h->none, res) == PARLEY_OK;
}

int side_slow(side *h, int *arg, int *res)
{
    return slow_1(h->none, arg, res) == PARLEY_OK;
}

int side_echo_blob(side *h, blob *arg, blob *res)
{
    return echo_blob_1(h->none, arg, res) == PARLEY_OK;
}

void side_free_record(record *v)
{
    record_free(v);
}

void side_free_shape(shape *v)
{
    shape_free(v);
}

void side_free_list(node_list *v)
{
    node_list_free(v);
}

void side_free_whoami(whoami_res *v)
{
    whoami_res_free(v);
}

void side_free_blob(blob *v)
{
    blob_free(v);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: integ_pclient ADDRESS\n");
        return 2;
    }
    parley_cred cred;
    memset(&cred, 0, sizeof cred);
    cred.flavor = PARLEY_AUTH_SYS;
    snprintf(cred.machine, sizeof cred.machine, "%s", CASES_MACHINE);
    cred.uid = CASES_UID;
    cred.gid = CASES_GID;
    cred.ngids = CASES_NGIDS;
    for (unsigned i = 0; i < CASES_NGIDS; i++)
        cred.gids[i] = cases_gids[i];
    parley_client_opts sys_opts;
    memset(&sys_opts, 0, sizeof sys_opts);
    sys_opts.cred = &cred;
    side h = {NULL, NULL};
    int rc = parley_client_create(&h.none, argv[1], INTEG_PROG, INTEG_VERS, NULL);
    if (rc == PARLEY_OK)
        rc = parley_client_create(&h.sys, argv[1], INTEG_PROG, INTEG_VERS, &sys_opts);
    if (rc != PARLEY_OK) {
        fprintf(stderr, "integ_pclient: %s: %s\n", argv[1], parley_strerror(rc));
        return 1;
    }
    integ_cases(&h, stdout);
    parley_client_destroy(h.sys);
    parley_client_destroy(h.none);
    return fflush(stdout) == 0 ? 0 : 1;
}
