/*
 * test_parleygen_files.c: what parleygen does to the file system, by
 * running the real parleygen: the files it writes get the mode the umask
 * gives (as a compiler's outputs do, not the 0600 of the temporary file
 * they are written through), and `-o DIR` makes DIR and its parents when
 * they are missing (as protoc does), or names the folder it could not make.
 * A run that fails before it writes anything makes no folder.
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
static const char invalid_idl[] = "const A = ;\n";

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

static void test_a_missing_output_folder_is_made_with_its_parents(void **state)
{
    (void)state;
    char *dir = fs_tempdir();
    assert_non_null(dir);
    write_in(dir, "f.idl", valid_idl);
    fs_result r;
    run_parleygen(dir, "gen/c/deep/", "f.idl", 022, &r);
    if (r.status != 0)
        fail_msg("parleygen failed: %s", r.err);
    assert_int_equal(r.err_len, 0);
    fs_result_free(&r);
    char *out = fs_cat(dir, "gen/c/deep");
    expect_outputs(out, 0644);
    assert_int_equal(mode_of(out), 0755);
    char *mid = fs_cat(dir, "gen/c");
    assert_int_equal(mode_of(mid), 0755);
    free(mid);
    free(out);
    fs_rmtree(dir);
    free(dir);
}

static void test_a_folder_that_cannot_be_made_is_named_in_the_error(void **state)
{
    (void)state;
    char *dir = fs_tempdir();
    assert_non_null(dir);
    write_in(dir, "f.idl", valid_idl);
    fs_result r;
    run_parleygen(dir, "f.idl/gen", "f.idl", 022, &r);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.err, "parleygen: error: cannot create the output folder 'f.idl/gen': "
                               "Not a directory\n");
    fs_result_free(&r);
    size_t n = 0;
    char **names = fs_list(dir, "", &n);
    assert_int_equal(n, 1); /* f.idl alone */
    fs_list_free(names);
    fs_rmtree(dir);
    free(dir);
}

static void test_a_run_that_fails_makes_no_folder(void **state)
{
    (void)state;
    char *dir = fs_tempdir();
    assert_non_null(dir);
    write_in(dir, "bad.idl", invalid_idl);
    fs_result r;
    run_parleygen(dir, "gen", "bad.idl", 022, &r);
    assert_int_equal(r.status, 1);
    fs_result_free(&r);
    char *out = fs_cat(dir, "gen");
    assert_false(fs_exists(out));
    free(out);
    fs_rmtree(dir);
    free(dir);
}

static void test_help_says_the_output_folder_is_made(void **state)
{
    (void)state;
    const char *argv[] = {"parleygen", "--help", NULL};
    fs_result r;
    assert_int_equal(fs_run(NULL, PARLEYGEN, argv, &r), 0);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "  -o, --output-dir DIR  write the outputs into DIR, made with "
                                  "its parents if\n"
                                  "                        missing (default: .)\n"));
    fs_result_free(&r);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outputs_get_mode_0644_under_umask_022),
        cmocka_unit_test(test_outputs_get_mode_0640_under_umask_027),
        cmocka_unit_test(test_a_missing_output_folder_is_made_with_its_parents),
        cmocka_unit_test(test_a_folder_that_cannot_be_made_is_named_in_the_error),
        cmocka_unit_test(test_a_run_that_fails_makes_no_folder),
        cmocka_unit_test(test_help_says_the_output_folder_is_made),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
