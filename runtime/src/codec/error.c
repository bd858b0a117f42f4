/*
 * error.c: the texts and names of Parley's error values.
 *
 * Both tables are expanded from PARLEY_ERRNO_MAP in parley/error.h, so an
 * error added there gets its text and its name here without anyone touching
 * this file. Everything in libparley and in generated code reports failures
 * with these values; this file is where they become words for a log.
 */
#include "parley/error.h"

#define ERR_TEXT_(name, text) text,
static const char *const err_texts[] = {PARLEY_ERRNO_MAP(ERR_TEXT_)};
#undef ERR_TEXT_

#define ERR_NAME_(name, text) "PARLEY_" #name,
static const char *const err_names[] = {PARLEY_ERRNO_MAP(ERR_NAME_)};
#undef ERR_NAME_

_Static_assert(sizeof err_texts / sizeof err_texts[0] == PARLEY_ERR_COUNT_,
               "one text per error value");
_Static_assert(sizeof err_names / sizeof err_names[0] == PARLEY_ERR_COUNT_,
               "one name per error value");

/* err_known tells whether err is one of the enumerated values; the tables are
 * indexed only after this check, so any int is a safe argument. */
static int err_known(int err)
{
    return err >= 0 && err < (int)PARLEY_ERR_COUNT_;
}

/* parley_strerror returns the static English text of err, or "unknown error"
 * for a value outside the enumeration. It never returns NULL, so a caller may
 * print the result unchecked. */
const char *parley_strerror(int err)
{
    return err_known(err) ? err_texts[err] : "unknown error";
}

/* parley_errname returns the static name of err's enumerator, such as
 * "PARLEY_ERR_TRUNCATED", or "PARLEY_ERR_UNKNOWN" for a value outside the
 * enumeration. Tests and logs use it where a stable token reads better than
 * prose. */
const char *parley_errname(int err)
{
    return err_known(err) ? err_names[err] : "PARLEY_ERR_UNKNOWN";
}
