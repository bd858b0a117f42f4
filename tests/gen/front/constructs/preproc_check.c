/*
 * Compiled with the header parleygen writes for preproc.idl: the right
 * #if branches were taken, RPC_HDR was defined for the header, and the
 * %-lines arrived whole.
 */
#include "preproc.h"

#ifdef NOT_REACHED
#error "an #elif after a true #if was taken"
#endif
#ifdef UNUSED_WAS_DEFINED
#error "#undef did not undefine"
#endif
#ifdef NESTED_SKIPPED
#error "a nested #if 0 was taken"
#endif
#ifndef HEADER_ONLY
#error "the RPC_HDR section did not reach the header"
#endif

_Static_assert(WIDE == 1 && UNUSED_NOT_DEFINED == 1, "#if and #ifndef");
_Static_assert(ARITHMETIC_OK == 1 && NESTED_TAKEN == 1, "#elif and nested #if");
_Static_assert(MULTI_LINE(1, 2) == 3, "a %-line continued with backslashes");
_Static_assert(sizeof(((grid *)0)->cells) == 64 * sizeof(int), "macros in array sizes");
_Static_assert(AFTER_EMPTY_COMMENT == 30 && COMMON_VALUE == 10 && SYSTEM_VALUE == 20,
               "included files");
