/*
 * cli.c: the command-line manners the matchmaker's programs share (cli.h).
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>

/* mm_usage_error: see cli.h. */
int mm_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "; try '%s --help'\n", prog);
    va_end(ap);
    return 2;
}
