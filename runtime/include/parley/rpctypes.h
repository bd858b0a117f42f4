/*
 * parley/rpctypes.h: the C type names that rpcgen's generated headers use
 * (u_int, bool_t, quad_t, u_quad_t, TRUE, FALSE).
 *
 * Parley's generated headers lay data out exactly as rpcgen does, so code
 * written against rpcgen's types compiles unchanged. These typedefs repeat
 * those of <sys/types.h> and <rpc/types.h> with the very same types, which
 * C11 allows, so either header may be included before or after this one.
 */
#ifndef PARLEY_RPCTYPES_H
#define PARLEY_RPCTYPES_H

#include <stdint.h>

typedef unsigned char u_char;
typedef unsigned short u_short;
typedef unsigned int u_int;
typedef unsigned long u_long;
typedef int32_t bool_t;
typedef int64_t quad_t;
typedef uint64_t u_quad_t;
typedef uint32_t u_int32_t;
typedef uint64_t u_int64_t;

/* The ONC RPC number types of libtirpc, which .x files use by name. */
typedef uint32_t rpcprog_t;
typedef uint32_t rpcvers_t;
typedef uint32_t rpcproc_t;
typedef uint32_t rpcprot_t;
typedef uint32_t rpcport_t;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

#endif /* PARLEY_RPCTYPES_H */
