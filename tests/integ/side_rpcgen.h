/*
 * tests/integ/side_rpcgen.h: the libtirpc side's handle: one CLIENT, and
 * the AUTH_SYS credentials swapped in for the calls that send them.
 */
#ifndef INTEG_SIDE_RPCGEN_H
#define INTEG_SIDE_RPCGEN_H

#include <rpc/rpc.h>

struct side {
    CLIENT *clnt;
    AUTH *sys;
};

#endif
