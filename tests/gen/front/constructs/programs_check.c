/*
 * Compiled with the header parleygen writes for programs.idl: program,
 * version and procedure numbers, and the service names.
 */
#include <string.h>

#include "programs.h"

_Static_assert(STORE_PROG == 0x20000001 && BANK_PROG == 0x20000002 && BARE_PROG == 0x30000000,
               "program numbers");
_Static_assert(STORE_V1 == 1 && STORE_V2 == 2 && BANK_V1 == 1 && BARE_V1 == 1, "versions");
_Static_assert(STORE_NULL == 0 && STORE_GET == 1 && STORE_PUT == 2 && STORE_SWAP == 3 &&
                   STORE_NAME == 4 && STORE_ALL == 5 && STORE_COUNT == 6 && STORE_SIZE == 7,
               "procedures");
_Static_assert(BANK_BALANCE == 1 && BANK_PING == 2 && BARE_ECHO == 2, "procedures");
_Static_assert(sizeof STORE_PROG_SERVICE == sizeof "store.v1" &&
                   sizeof BARE_PROG_SERVICE == sizeof "bare",
               "service names");
