/*
 * tests/gen/tirpc/tirpc_order.h: the two units of test_netobj_order, each
 * including libtirpc's <rpc/xdr.h> on one side of a generated header.
 */
#ifndef TIRPC_ORDER_H
#define TIRPC_ORDER_H

int xdr_first_roundtrip(void);
int xdr_after_roundtrip(void);
int xdr_after_same_bytes_as_tirpc(void);

#endif
