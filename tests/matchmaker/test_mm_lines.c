/*
 * tests/matchmaker/test_mm_lines.c: the bounded line reader
 * (matchmaker/lines.c) that the registry's loader and the /proc/net parser
 * share: lines of every length around the caller's buffer and the reader's
 * own block, NUL bytes, a cut last line, the byte budget, and files that
 * are not regular.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lines.h"

static char dir[64];
static char file[96];

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/mm-lines-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(file, sizeof file, "%s/f", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char fifo[96];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    unlink(fifo);
    unlink(file);
    return rmdir(dir);
}

static void write_bytes(const void *p, size_t n)
{
    FILE *f = fopen(file, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void open_file(mm_lines *lr, size_t budget)
{
    assert_int_equal(mm_lines_open(lr, file, budget), 0);
}

static void test_lines_come_back_without_their_newlines(void **state)
{
    (void)state;
    static const char text[] = "one\n\ntwo words\n  three\r\n";
    write_bytes(text, sizeof text - 1);
    static mm_lines lr;
    open_file(&lr, 1 << 20);
    char buf[64];
    size_t len;
    const char *want[] = {"one", "", "two words", "  three\r"};
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(mm_lines_next(&lr, buf, sizeof buf, &len), MM_LINE_OK);
        assert_string_equal(buf, want[i]);
        assert_int_equal(len, strlen(want[i]));
        assert_int_equal(lr.line, i + 1);
    }
    assert_int_equal(mm_lines_next(&lr, buf, sizeof buf, &len), MM_LINE_EOF);
    assert_int_equal(mm_lines_next(&lr, buf, sizeof buf, &len), MM_LINE_EOF);
    mm_lines_close(&lr);
    mm_lines_close(&lr);
}

static void test_a_line_must_leave_room_for_its_nul(void **state)
{
    (void)state;
    write_bytes("abcdefg\nabcdefgh\nabc\n", 21);
    static mm_lines lr;
    open_file(&lr, 1 << 20);
    char buf[9];
    size_t len = 0;
    assert_int_equal(mm_lines_next(&lr, buf, sizeof buf, &len), MM_LINE_OK);
    assert_string_equal(buf, "abcdefg");
    assert_int_equal(mm_lines_next(&lr, buf, 8, &len), MM_LINE_LONG); /* 8 characters, cap 8 */
    assert_int_equal(lr.line, 2);
    assert_int_equal(mm_lines_next(&lr, buf, 0, &len), MM_LINE_LONG);
    assert_int_equal(mm_lines_next(&lr, buf, sizeof buf, &len), MM_LINE_EOF);
    assert_int_equal(lr.line, 3);
    mm_lines_close(&lr);
}

static void test_lines_across_the_readers_blocks_are_whole(void **state)
{
    (void)state;
    /* lines of lengths around the reader's 8192-byte block */
    size_t lens[] = {8191, 8192, 8193, 1, 20000, 0, 3};
    size_t total = 0;
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++)
        total += lens[i] + 1;
    char *text = malloc(total);
    assert_non_null(text);
    size_t k = 0;
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (size_t j = 0; j < lens[i]; j++)
            text[k++] = (char)('a' + (i + j) % 26);
        text[k++] = '\n';
    }
    write_bytes(text, total);
    static mm_lines lr;
    open_file(&lr, 1 << 20);
    char *buf = malloc(20001);
    assert_non_null(buf);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t len = 0;
        if (lens[i] == 20000) {
            /* too long for a 10000-byte buffer: skipped whole, the next one follows */
            assert_int_equal(mm_lines_next(&lr, buf, 10000, &len), MM_LINE_LONG);
            continue;
        }
        assert_int_equal(mm_lines_next(&lr, buf, 20001, &len), MM_LINE_OK);
        assert_int_equal(len, lens[i]);
        for (size_t j = 0; j < lens[i]; j++)
            assert_int_equal(buf[j], (char)('a' + (i + j) % 26));
    }
    assert_int_equal(mm_lines_next(&lr, buf, 20001, NULL), MM_LINE_EOF);
    mm_lines_close(&lr);
    free(buf);
    free(text);
}

static void test_nul_bytes_and_a_cut_last_line_are_reported(void **state)
{
    (void)state;
    static const char text[] = "ok\nbad\0line\n\0\nlast";
    write_bytes(text, sizeof text - 1);
    static mm_lines lr;
    open_file(&lr, 1 << 20);
    char buf[64];
    assert_int_equal(mm_lines_next(&lr, buf, sizeof buf, NULL), MM_LINE_OK);
    assert_int_equal(mm_lines_next(&lr, buf, sizeof buf, NULL), MM_LINE_NUL);
    assert_int_equal(lr.line, 2);
    assert_int_equal(mm_lines_next(&lr, buf, sizeof buf, NULL), MM_LINE_NUL);
    assert_int_equal(mm_lines_next(&lr, buf, sizeof buf, NULL), MM_LINE_PARTIAL);
    assert_int_equal(lr.line, 4);
    assert_int_equal(mm_lines_next(&lr, buf, sizeof buf, NULL), MM_LINE_EOF);
    mm_lines_close(&lr);
}

static void test_reading_stops_past_the_budget(void **state)
{
    (void)state;
    char text[20000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = i % 10 == 9 ? '\n' : 'x';
    write_bytes(text, sizeof text);
    static mm_lines lr;
    open_file(&lr, 10000);
    char buf[64];
    int kind;
    unsigned n = 0;
    while ((kind = mm_lines_next(&lr, buf, sizeof buf, NULL)) == MM_LINE_OK)
        n++;
    assert_int_equal(kind, MM_LINE_ERROR);
    assert_int_equal(lr.err, EFBIG);
    assert_true(n < 1000);
    assert_int_equal(mm_lines_next(&lr, buf, sizeof buf, NULL), MM_LINE_ERROR);
    mm_lines_close(&lr);
    /* exactly the budget is fine */
    open_file(&lr, sizeof text);
    n = 0;
    while ((kind = mm_lines_next(&lr, buf, sizeof buf, NULL)) == MM_LINE_OK)
        n++;
    assert_int_equal(kind, MM_LINE_EOF);
    assert_int_equal(n, 2000);
    mm_lines_close(&lr);
}

static void test_only_regular_files_open(void **state)
{
    (void)state;
    static mm_lines lr;
    char fifo[96];
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(mm_lines_open(&lr, fifo, 100), EINVAL);
    assert_int_equal(mm_lines_open(&lr, dir, 100), EINVAL);
    assert_int_equal(mm_lines_open(&lr, "/dev/null", 100), EINVAL);
    assert_int_equal(mm_lines_open(&lr, file, 100), ENOENT);
    assert_int_equal(mm_lines_open(&lr, NULL, 100), EINVAL);
    assert_int_equal(mm_lines_open(NULL, file, 100), EINVAL);
    write_bytes("", 0);
    open_file(&lr, 100);
    char buf[8];
    assert_int_equal(mm_lines_next(&lr, buf, sizeof buf, NULL), MM_LINE_EOF);
    assert_int_equal(lr.line, 0);
    mm_lines_close(&lr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lines_come_back_without_their_newlines, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_line_must_leave_room_for_its_nul, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lines_across_the_readers_blocks_are_whole, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_nul_bytes_and_a_cut_last_line_are_reported, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reading_stops_past_the_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_regular_files_open, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
