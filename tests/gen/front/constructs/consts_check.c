/*
 * Compiled with the header parleygen writes for consts.idl: the constants
 * and enum members have the values C gives the same expressions.
 */
#include "consts.h"

_Static_assert(DEC == 42 && HEX == 42 && OCT == 42 && HEX_UPPER == 255, "literals");
_Static_assert(ZERO == 0 && NEGATIVE == -7 && PLUS == 7 && COMPLEMENT == -1, "unary");
_Static_assert(SUM == 83 && PRODUCT == 42 && QUOTIENT == 42 && REMAINDER == 1, "arithmetic");
_Static_assert(SHIFTED == 1048576 && UNSHIFTED == 65536, "shifts");
_Static_assert(MASKED == 48 && ORED == 255 && XORED == 240, "bitwise");
_Static_assert(PRECEDENCE == 1 + 2 * 3 - 8 / 4 % 3, "precedence");
_Static_assert(GROUPED == (1 + 2) * (3 - 8) / 4, "parentheses, truncation toward zero");
_Static_assert(SHIFT_PREC == (1 << (2 + 1)) && BIT_PREC == (1 | (2 ^ (3 & 4))), "precedence");
_Static_assert(NESTED == -43 && FROM_ENUM == 20 && LARGE == 4294967295, "names");
_Static_assert(HYPER_SIZED == 0x7fffffffffffffff && MIN_INT == -2147483647 - 1, "limits");
_Static_assert(USES_LATER == 4 && LATER == 3, "used before definition");
_Static_assert(sizeof GREETING == 13 && sizeof EMPTY_STRING == 1, "string constants");
_Static_assert(sizeof ESCAPED == 21, "escapes kept as written");
_Static_assert(RED == 0 && GREEN == 1 && BLUE == 2, "enum without values");
_Static_assert(EV_A == 1 && EV_B == 2 && EV_C == 4, "enum with values");
_Static_assert(M_A == 10 && M_B == 11 && M_C == 20 && M_D == 21, "enum, mixed");
_Static_assert(FE_A == 42 && FE_B == -1 && FE_C == 1 << 30 && FE_D == -2147483647 - 1 &&
                   FE_E == 2147483647,
               "enum values from expressions");
_Static_assert(ONLY == 0, "single member");
_Static_assert(sizeof(((sized *)0)->by_const) == 42 * sizeof(int), "array size from a constant");
_Static_assert(sizeof(((sized *)0)->by_enum) == 3, "opaque size from an enum member");
