# check_depfile.cmake: parleygen --depfile writes a make rule naming the
# outputs and every file the input includes, escaped for make and ninja.
#
#   cmake -DPARLEYGEN=<parleygen> -DDATA=<this folder> -DWORK=<scratch folder>
#         -P check_depfile.cmake
#
# The input (main.x) includes "common.x" beside it and <extra.x> from an -I
# folder whose name holds a space; common.x includes "shared/inner.x" only
# under RPC_HDR, so inner.x is read for the header alone and must be listed
# all the same. An input with an error writes no depfile.
cmake_minimum_required(VERSION 3.20)
foreach(v PARLEYGEN DATA WORK)
  if(NOT ${v})
    message(FATAL_ERROR "${v} is not set")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/in/shared "${WORK}/more dir" ${WORK}/out)
file(COPY ${DATA}/main.x ${DATA}/common.x DESTINATION ${WORK}/in)
file(COPY ${DATA}/inner.x DESTINATION ${WORK}/in/shared)
file(COPY ${DATA}/extra.x DESTINATION "${WORK}/more dir")

function(fail what)
  message(FATAL_ERROR "${what}")
endfunction()

execute_process(COMMAND ${PARLEYGEN} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT help MATCHES "--depfile FILE")
  fail("parleygen --help does not document --depfile:\n${help}")
endif()

execute_process(
  COMMAND ${PARLEYGEN} -I "${WORK}/more dir" --depfile ${WORK}/out/main.d -o ${WORK}/out
          ${WORK}/in/main.x
  RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  fail("parleygen failed (${rc}): ${err}")
endif()
file(READ ${WORK}/out/main.d dep)
message(STATUS "depfile:\n${dep}")

# the targets: the four outputs, before the colon
string(FIND "${dep}" ":" colon)
string(SUBSTRING "${dep}" 0 ${colon} targets)
foreach(out main.h main_xdr.c main_client.c main_server.c)
  if(NOT targets MATCHES "(^| )${WORK}/out/${out}( |$)")
    fail("the depfile's targets lack ${out}: '${targets}'")
  endif()
endforeach()
# the prerequisites: the input, its includes, the space escaped
foreach(pre "${WORK}/in/main.x" "${WORK}/in/common.x" "${WORK}/in/shared/inner.x"
            "${WORK}/more\\ dir/extra.x")
  string(FIND "${dep}" "${pre}" at)
  if(at LESS colon)
    fail("the depfile does not list ${pre} after the colon:\n${dep}")
  endif()
endforeach()
if(NOT dep MATCHES "\n$")
  fail("the depfile does not end with a newline")
endif()

# only some outputs: only they are targets
execute_process(
  COMMAND ${PARLEYGEN} -I "${WORK}/more dir" --header --depfile ${WORK}/out/h.d
          -o ${WORK}/out/h ${WORK}/in/main.x
  RESULT_VARIABLE rc ERROR_VARIABLE err)
file(READ ${WORK}/out/h.d dep)
if(NOT rc EQUAL 0 OR NOT dep MATCHES "^${WORK}/out/h/main.h:")
  fail("--header --depfile: rc ${rc}, ${err}, depfile:\n${dep}")
endif()

# an error: no depfile
file(WRITE ${WORK}/in/bad.x "struct s { int a; int a; };\n")
execute_process(
  COMMAND ${PARLEYGEN} --depfile ${WORK}/out/bad.d -o ${WORK}/out ${WORK}/in/bad.x
  RESULT_VARIABLE rc ERROR_QUIET)
if(NOT rc EQUAL 1 OR EXISTS ${WORK}/out/bad.d)
  fail("a bad input: exit ${rc} (expected 1), depfile written: ${WORK}/out/bad.d")
endif()
message(STATUS "the depfile lists the outputs, the input and its includes")
