/*
 * idl/check.h: the semantic checks, separate passes over the AST.
 *
 * idl_check resolves names (types, constants, enum members), evaluates
 * constant expressions, and validates the specification, reporting every
 * error it finds through diag rather than stopping at the first. On return
 * the "filled in by the checks" fields of the AST are set wherever the
 * definitions they belong to were valid. The emitters run only when
 * idl_check reported no error.
 */
#ifndef PARLEY_IDL_CHECK_H
#define PARLEY_IDL_CHECK_H

#include "ast.h"
#include "diag.h"

/* idl_check returns the number of errors it reported. It checks what
 * parsed after syntax errors too (names that definitions the parser dropped
 * would have defined are not reported as undefined), but nothing after
 * errors of the preprocessor, where the text parsed is not what was
 * written. */
int idl_check(idl_spec *spec, idl_diag *diag);

/* idl_resolve_type follows typedefs from t to the type that is not a plain
 * (IDL_D_SCALAR) typedef of another name, returning the definition reached
 * (a struct, union, enum, or a typedef whose declaration is not a plain
 * named scalar), or NULL for a built-in type. Valid after idl_check. */
idl_def *idl_resolve_type(const idl_type *t);

#endif /* PARLEY_IDL_CHECK_H */
