/*
 * mm_shell.h: what the matchmaker's tests of its installed face (the man
 * pages, the systemd units) need of the shell: whether a program is on
 * PATH, and a command's output and exit status.
 */
#ifndef MM_SHELL_H
#define MM_SHELL_H

#include <stddef.h>

/* mm_on_path says whether the program name is found in PATH. */
int mm_on_path(const char *name);

/* mm_shell runs cmd with sh -c, what it prints on stdout into out (cap
 * bytes with the NUL); the exit status, or -1. The commands given are
 * bounded by timeout(1). */
int mm_shell(const char *cmd, char *out, size_t cap);

#endif /* MM_SHELL_H */
