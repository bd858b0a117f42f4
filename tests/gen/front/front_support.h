/*
 * tests/gen/front/front_support.h: what the front-end tests share: running
 * a program (parleygen, a C compiler, rpcgen) in a folder and capturing what
 * it prints, files and temporary folders, and comparing a text with an
 * expected file, showing a diff when they differ.
 *
 * Expected files are specifications, reviewed by eye. With
 * PARLEY_UPDATE_GOLDEN=1 in the environment, fs_expect_file() rewrites them
 * from the actual output instead of comparing, for maintenance; the diff of
 * the source tree is then what to review.
 */
#ifndef PARLEY_TEST_FRONT_SUPPORT_H
#define PARLEY_TEST_FRONT_SUPPORT_H

#include <stddef.h>

/* A program run longer than this many seconds is killed (SIGALRM), so that
 * a hang fails its test instead of the whole suite's time limit. */
#define FS_RUN_TIMEOUT 60

/* What a finished program left behind. status is its exit code, or -N
 * when it was killed by signal N. out and err are NUL-terminated. */
typedef struct fs_result {
    int status;
    char *out;
    size_t out_len;
    char *err;
    size_t err_len;
} fs_result;

/* fs_run runs path (searched in PATH when it has no '/') with argv (whose
 * argv[0] is what the program sees as its name) in folder cwd, with stdin
 * from /dev/null, and fills r. Returns 0, or -1 when the program could not
 * be started (r then holds nothing to free). Release r with
 * fs_result_free(). */
int fs_run(const char *cwd, const char *path, const char *const argv[], fs_result *r);
void fs_result_free(fs_result *r);

/* fs_run_no_leak_check is fs_run with LeakSanitizer turned off in the
 * program (detect_leaks=0 added to ASAN_OPTIONS), for runs that would
 * otherwise only show a leak already known and reported, where the test is
 * about something else. */
int fs_run_no_leak_check(const char *cwd, const char *path, const char *const argv[], fs_result *r);

/* fs_describe_status writes "exit status N" or "killed by signal N" into
 * buf and returns buf. */
const char *fs_describe_status(int status, char *buf, size_t size);

/* fs_find_program returns the path of name in PATH (malloc'ed), or NULL. */
char *fs_find_program(const char *name);

/* fs_cat returns a malloc'ed "a/b". */
char *fs_cat(const char *a, const char *b);

/* fs_read_file reads path whole, NUL-terminated; NULL when it cannot. */
char *fs_read_file(const char *path, size_t *len);

/* fs_write_file writes len bytes to path; 0 or -1. */
int fs_write_file(const char *path, const char *data, size_t len);

/* fs_exists says whether path exists. */
int fs_exists(const char *path);

/* fs_tempdir makes a fresh folder under $TMPDIR (or /tmp) and returns its
 * path (malloc'ed); fs_rmtree removes it with everything in it. */
char *fs_tempdir(void);
void fs_rmtree(const char *dir);

/* fs_list returns the sorted names of the entries of dir that end with
 * suffix (all of them for ""), excluding "." and "..", NULL-terminated;
 * *n gets their number. Free with fs_list_free(). */
char **fs_list(const char *dir, const char *suffix, size_t *n);
void fs_list_free(char **names);

/* fs_update_mode says whether PARLEY_UPDATE_GOLDEN=1 is set. */
int fs_update_mode(void);

/* fs_print_diff prints a unified diff of two texts (by lines) to stderr,
 * labelled with the two names. */
void fs_print_diff(const char *label_a, const char *a, const char *label_b, const char *b);

/* fs_expect_file compares len bytes of actual with the file expected_path.
 * Returns 1 when they are the same. Otherwise it prints a diff and returns
 * 0, except in update mode when may_update is set, where it rewrites the
 * file and returns 1. */
int fs_expect_file(const char *expected_path, const char *actual, size_t len, int may_update);

#endif /* PARLEY_TEST_FRONT_SUPPORT_H */
