/*
 * test_parleygen_files.c: what parleygen does to the file system, by
 * running the real parleygen: the files it writes get the mode the umask
 * gives (as a compiler's outputs do, not the 0600 of the temporary file
 * they are written through).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "front_support.h"

#ifndef PARLEYGEN
#error "PARLEYGEN must name the parleygen binary"
#endif

static const char valid_idl[] = "const A = 1;\nstruct s { int x1; };\n";

static const char *const outputs[] = {"f.h", "f_xdr.c", "f_client.c", "f_server.c"};

/* write_in writes text into dir/name. */
static void write_in(const char *dir, const char *name, const char *text)
{
    char *path = fs_cat(dir, name);
    assert_non_null(path);
    assert_int_equal(fs_write_file(path, text, strlen(text)), 0);
    free(path);
}

/* run_parleygen runs `parleygen -o out input` in dir, with the umask mask. */
static void run_parleygen(const char *dir, const char *out, const char *input, mode_t mask,
                          fs_result *r)
{
    const char *argv[] = {"parleygen", "-o", out, input, NULL};
    mode_t old = umask(mask);
    int rc = fs_run(dir, PARLEYGEN, argv, r);
    umask(old);
    assert_int_equal(rc, 0);
}

/* mode_of returns the permission bits of path, or -1 when it is missing. */
static int mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* expect_outputs checks that the four outputs are in out with the mode. */
static void expect_outputs(const char *out, int mode)
{
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
        char *path = fs_cat(out, outputs[i]);
        int got = mode_of(path);
        if (got != mode)
            fail_msg("%s: mode %04o, expected %04o", path, (unsigned)got, (unsigned)mode);
        free(path);
    }
}

static void check_umask(mode_t mask, int mode)
{
    char *dir = fs_tempdir();
    assert_non_null(dir);
    write_in(dir, "f.idl", valid_idl);
    fs_result r;
    run_parleygen(dir, ".", "f.idl", mask, &r);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.err_len, 0);
    fs_result_free(&r);
    expect_outputs(dir, mode);
    /* and again, over the outputs of the first run */
    run_parleygen(dir, ".", "f.idl", mask, &r);
    assert_int_equal(r.status, 0);
    fs_result_free(&r);
    expect_outputs(dir, mode);
    fs_rmtree(dir);
    free(dir);
}

static void test_outputs_get_mode_0644_under_umask_022(void **state)
{
    (void)state;
    check_umask(022, 0644);
}

static void test_outputs_get_mode_0640_under_umask_027(void **state)
{
    (void)state;
    check_umask(027, 0640);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outputs_get_mode_0644_under_umask_022),
        cmocka_unit_test(test_outputs_get_mode_0640_under_umask_027),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
