/*
 * cli.h: what the matchmaker's two programs, parley-matchmaker and
 * parley-info, share on their command lines. Internal to the matchmaker.
 */
#ifndef MM_CLI_H
#define MM_CLI_H

/* mm_usage_error prints one line to stderr: prog, what is wrong with the
 * command line (fmt and its arguments), and where to read the usage
 * ("try 'prog --help'"). Returns 2, the exit status of a usage error. */
int mm_usage_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* MM_CLI_H */
