/*
 * examples/common/log.c: the examples' -v option (see log.h): a sink for
 * the library's events that writes one line per event to stderr.
 */
#include "log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parley/error.h"
#include "parley/log.h"

/* sink writes one record as one line (one fputs: the server's threads log
 * at once). */
static void sink(void *ctx, const parley_log_record *r)
{
    char line[768];
    snprintf(line, sizeof line, "%s: %s: %s%s%s: %s\n", (const char *)ctx,
             parley_log_level_name(r->level), r->peer ? r->peer : "", r->peer ? " " : "", r->name,
             r->message);
    fputs(line, stderr);
}

/* example_log: see log.h. */
int example_log(const char *who, int *argc, char **argv)
{
    int level = PARLEY_LOG_OFF, n = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0)
            level = PARLEY_LOG_DEBUG;
        else
            argv[n++] = argv[i];
    }
    argv[n] = NULL;
    *argc = n;
    const char *env = getenv("PARLEY_LOG");
    if (env && *env && parley_log_level_parse(env, &level) != PARLEY_OK) {
        fprintf(stderr, "%s: PARLEY_LOG: '%s' is not a level (off, error, warning, info, debug)\n",
                who, env);
        return 2;
    }
    parley_set_log(sink, (void *)(uintptr_t)who, level);
    return 0;
}
