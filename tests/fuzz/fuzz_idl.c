/*
 * tests/fuzz/fuzz_idl.c: a libFuzzer target for the IDL front end and the
 * emitters: any bytes go through the preprocessor, lexer, parser and checks,
 * and, when they are a valid specification, through both C emitters.
 *
 * It is built with -DPARLEY_FUZZ=ON (clang) and run by hand for a bounded
 * time (see tests/fuzz/README.md); what it finds becomes a regression test in
 * tests/gen/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ast.h"
#include "check.h"
#include "diag.h"
#include "emit.h"
#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink)
        sink = fopen("/dev/null", "w");
    idl_diag *diag = idl_diag_create(sink, 50);
    idl_arena *arena = idl_arena_create();
    /* no include folders: an #include of a real file is not what is tested */
    static const char *const none[] = {NULL};
    idl_parse_options opts = {none, none, 1 << 20, 8};
    idl_spec *spec = idl_parse_text(arena, diag, "fuzz.x", (const char *)data, size, &opts);
    if (spec && idl_diag_errors(diag) == 0)
        idl_check(spec, diag);
    if (spec && idl_diag_errors(diag) == 0) {
        gen_opts g = {1, "fuzz.x", "fuzz"};
        gen_out h = {0}, x = {0};
        h.line = x.line = 1;
        h.name = "fuzz.h";
        x.name = "fuzz_xdr.c";
        gen_emit_header(&h, spec, &g);
        gen_emit_xdr(&x, spec, &g);
        gen_out_free(&h);
        gen_out_free(&x);
    }
    idl_arena_destroy(arena);
    idl_diag_destroy(diag);
    return 0;
}
