/*
 * tests/integ/side_rpcgen.c: the libtirpc side of the interoperability
 * test: the calls of cases.c through rpcgen's client stubs. rpcgen's stubs
 * return a pointer to a static result; it is moved into the caller's and
 * released with xdr_free.
 */
#include <string.h>

#include "cases.h"
#include "side_rpcgen.h"

#define MOVE(T, p, res)                                                                            \
    do {                                                                                           \
        if (!(p))                                                                                  \
            return 0;                                                                              \
        *(res) = *(p);                                                                             \
        memset((p), 0, sizeof(T));                                                                 \
        return 1;                                                                                  \
    } while (0)

int side_echo_record(side *h, record *arg, record *res)
{
    record *p = echo_record_1(arg, h->clnt);
    MOVE(record, p, res);
}

int side_echo_shape(side *h, shape *arg, shape *res)
{
    shape *p = echo_shape_1(arg, h->clnt);
    MOVE(shape, p, res);
}

int side_next_color(side *h, color *arg, color *res)
{
    color *p = next_color_1(arg, h->clnt);
    MOVE(color, p, res);
}

int side_sum_list(side *h, node_list *arg, int *res)
{
    int *p = sum_list_1(arg, h->clnt);
    MOVE(int, p, res);
}

int side_make_list(side *h, int *arg, node_list *res)
{
    node_list *p = make_list_1(arg, h->clnt);
    MOVE(node_list, p, res);
}

int side_whoami(side *h, int auth_sys, whoami_res *res)
{
    AUTH *saved = h->clnt->cl_auth;
    if (auth_sys)
        h->clnt->cl_auth = h->sys;
    whoami_res *p = whoami_1(NULL, h->clnt);
    h->clnt->cl_auth = saved;
    MOVE(whoami_res, p, res);
}

int side_slow(side *h, int *arg, int *res)
{
    int *p = slow_1(arg, h->clnt);
    MOVE(int, p, res);
}

int side_echo_blob(side *h, blob *arg, blob *res)
{
    blob *p = echo_blob_1(arg, h->clnt);
    MOVE(blob, p, res);
}

void side_free_record(record *v)
{
    xdr_free((xdrproc_t)xdr_record, (char *)v);
}

void side_free_shape(shape *v)
{
    xdr_free((xdrproc_t)xdr_shape, (char *)v);
}

void side_free_list(node_list *v)
{
    xdr_free((xdrproc_t)xdr_node_list, (char *)v);
}

void side_free_whoami(whoami_res *v)
{
    xdr_free((xdrproc_t)xdr_whoami_res, (char *)v);
}

void side_free_blob(blob *v)
{
    xdr_free((xdrproc_t)xdr_blob, (char *)v);
}
