# cmake -DPARLEYGEN=... -DIDL=external.x -DOUTDIR=... -P quiet_external.cmake
# Runs parleygen on external.x, whose array sizes use a C constant the file
# does not define: that is the point of the fixture, and parleygen warns of
# each use (the diagnostics tests check the warning itself:
# tests/gen/front/diag/x-undefined-names-are-warnings.err). Those expected
# warnings, each three lines (the message, the source line, the caret), and
# the summary line after them, are kept out of the build's output; any other message is shown, and an error
# or an unexpected message fails the build.
execute_process(COMMAND ${PARLEYGEN} -o ${OUTDIR} ${IDL}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX REPLACE
  "[^\n]*: warning: 'EXT_N' is not defined in this file; assuming a C constant\n[^\n]*\n[^\n]*\n"
  "" rest "${err}")
# and the summary that counts them
string(REGEX REPLACE "^[0-9]+ warnings? generated\\.\n$" "" rest "${rest}")
if(NOT rc EQUAL 0 OR NOT rest STREQUAL "")
  message(FATAL_ERROR "parleygen ${IDL} (exit ${rc}):\n${out}${err}")
endif()
