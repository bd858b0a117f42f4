/*
 * test_mm_man.c: the man pages of docs/man (parley-matchmaker.8,
 * parley-info.1, parleygen.1). Each renders without a warning, through
 * man(1) as a reader gets it (`man --warnings -l`) and through groff alone
 * (`groff -man -ww -z`), each check skipped where its tool is not
 * installed; each has the sections of a Debian manual page; and every
 * option a program's --help names is in its page. argv[1] is docs/man,
 * argv[2] parley-matchmaker, argv[3] parley-info, argv[4] parleygen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "mm_shell.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *man_dir;
static const char *programs[3];

static const char *const pages[] = {"parley-matchmaker.8", "parley-info.1", "parleygen.1"};
enum { NPAGES = sizeof pages / sizeof pages[0] };

/* read_page reads docs/man/page into a string the caller frees. */
static char *read_page(const char *page)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", man_dir, page);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *s = strdup(buf);
    assert_non_null(s);
    return s;
}

/* render runs the shell command "before PAGE after" on every page and
 * fails on a non-zero exit or anything printed: the commands send the
 * rendered page itself to /dev/null, their warnings to the pipe. */
static void render(const char *before, const char *after)
{
    for (int i = 0; i < NPAGES; i++) {
        char cmd[1024], out[8192];
        snprintf(cmd, sizeof cmd, "%s '%s/%s' %s", before, man_dir, pages[i], after);
        int rc = mm_shell(cmd, out, sizeof out);
        if (rc != 0 || out[0])
            fail_msg("%s: exit %d:\n%s", cmd, rc, out);
    }
}

static void test_pages_render_with_man_without_warnings(void **state)
{
    (void)state;
    if (!mm_on_path("man")) {
        print_message("man is not installed: skipped\n");
        skip();
    }
    render("LC_ALL=C.UTF-8 MANWIDTH=80 timeout 60 man --warnings -l", "2>&1 >/dev/null");
}

static void test_pages_render_with_groff_without_warnings(void **state)
{
    (void)state;
    if (!mm_on_path("groff")) {
        print_message("groff is not installed: skipped\n");
        skip();
    }
    render("LC_ALL=C.UTF-8 timeout 60 groff -man -ww -z -Tutf8", "2>&1");
}

static void test_pages_have_the_sections_of_a_manual_page(void **state)
{
    (void)state;
    static const char *const sections[] = {
        ".SH NAME\n",        ".SH SYNOPSIS\n", ".SH DESCRIPTION\n", ".SH OPTIONS\n",
        ".SH EXIT STATUS\n", ".SH FILES\n",    ".SH EXAMPLES\n",    ".SH SEE ALSO\n"};
    for (int i = 0; i < NPAGES; i++) {
        char *text = read_page(pages[i]);
        /* .TH NAME SECTION, the name upper-cased */
        char th[64];
        size_t n = strlen(pages[i]) - 2;
        snprintf(th, sizeof th, ".TH %.*s %c ", (int)n, pages[i], pages[i][n + 1]);
        for (char *c = th + 4; *c != ' '; c++)
            *c = (char)toupper((unsigned char)*c);
        if (!strstr(text, th))
            fail_msg("%s: no '%s' line", pages[i], th);
        const char *at = text;
        for (size_t k = 0; k < sizeof sections / sizeof sections[0]; k++) {
            const char *s = strstr(at, sections[k]);
            if (!s && strcmp(sections[k], ".SH FILES\n") == 0 &&
                strcmp(pages[i], "parley-info.1") == 0)
                continue; /* parley-info reads and writes no file */
            if (!s)
                fail_msg("%s: no section '%.*s' (in this order)", pages[i],
                         (int)strlen(sections[k]) - 1, sections[k]);
            at = s;
        }
        free(text);
    }
}

static void test_every_option_of_the_usage_is_in_the_page(void **state)
{
    (void)state;
    for (int i = 0; i < NPAGES; i++) {
        char cmd[600], usage[16384];
        snprintf(cmd, sizeof cmd, "timeout 20 '%s' --help", programs[i]);
        assert_int_equal(mm_shell(cmd, usage, sizeof usage), 0);
        char *text = read_page(pages[i]);
        int seen = 0;
        /* each "--word" of the usage, written "\-\-word" in roff */
        for (const char *p = usage; (p = strstr(p, "--")) != NULL;) {
            p += 2;
            size_t n = 0;
            while (isalnum((unsigned char)p[n]) || p[n] == '-')
                n++;
            if (n == 0)
                continue;
            char want[128] = "\\-\\-";
            size_t w = 4;
            for (size_t k = 0; k < n && w + 3 < sizeof want; k++) {
                if (p[k] == '-')
                    want[w++] = '\\';
                want[w++] = p[k];
            }
            want[w] = '\0';
            if (!strstr(text, want))
                fail_msg("%s: --%.*s is in the usage but not in the page", pages[i], (int)n, p);
            seen++;
            p += n;
        }
        assert_true(seen >= 3);
        free(text);
    }
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s MANDIR parley-matchmaker parley-info parleygen\n", argv[0]);
        return 2;
    }
    man_dir = argv[1];
    for (int i = 0; i < 3; i++)
        programs[i] = argv[2 + i];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages_render_with_man_without_warnings),
        cmocka_unit_test(test_pages_render_with_groff_without_warnings),
        cmocka_unit_test(test_pages_have_the_sections_of_a_manual_page),
        cmocka_unit_test(test_every_option_of_the_usage_is_in_the_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
