/*
 * Compiled with the header parleygen writes for rpcgenisms.x: the types
 * have rpcgen's C layout, and names of programs and procedures work as
 * constants.
 */
#include "rpcgenisms.h"

_Static_assert(MAXNAMELEN == 255 && sizeof VERSION_TEXT == 4, "constants");
_Static_assert(CPROG_AGAIN == CPROG && CPROC_NUMBER == 4, "program names as constants");
_Static_assert(sizeof(((cstyle *)0)->name) == 255, "char arrays");
_Static_assert(sizeof(((cstyle *)0)->c1) == sizeof(char) &&
                   sizeof(((cstyle *)0)->s1) == sizeof(short) &&
                   sizeof(((cstyle *)0)->l1) == sizeof(long) && sizeof(((cstyle *)0)->u64) == 8,
               "C types as rpcgen writes them");
_Static_assert(CS_IDLE == 0 && CS_BUSY == 1, "typedef enum x x");
