/*
 * examples/common/log.h: the examples' -v option, which every server and
 * client takes: the library's events (parley/log.h) on standard error.
 */
#ifndef EXAMPLE_LOG_H
#define EXAMPLE_LOG_H

/* example_log takes -v (or --verbose) out of argv wherever it is, and
 * logs the library's events to stderr, each line beginning with who: at
 * debug level with -v, at the level PARLEY_LOG names (off, error,
 * warning, info, debug) when it is set, else not at all. Returns 0, or 2
 * (main's exit status for a usage error) after saying what is wrong with
 * PARLEY_LOG. */
int example_log(const char *who, int *argc, char **argv);

#endif /* EXAMPLE_LOG_H */
