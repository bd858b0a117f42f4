# check_api.cmake: docs/api.md is what docs/gen_api.sh makes of the public
# headers today, and names every public function they declare.
#
#   cmake -DROOT=<source folder> -P check_api.cmake
#
# Fails when the file differs from the script's output (a header's comment
# or a declaration changed and the document was not made again: run
# `sh docs/gen_api.sh > docs/api.md`), and lists each function of
# runtime/include/parley/*.h whose signature the document lacks.
cmake_minimum_required(VERSION 3.20)
if(NOT ROOT)
  message(FATAL_ERROR "ROOT is not set")
endif()
find_program(SH sh REQUIRED)
execute_process(COMMAND ${SH} ${ROOT}/docs/gen_api.sh ${ROOT}
  OUTPUT_VARIABLE made RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "docs/gen_api.sh failed (${rc})")
endif()
file(READ ${ROOT}/docs/api.md doc)
set(bad "")
if(NOT made STREQUAL doc)
  string(APPEND bad "  docs/api.md is not what docs/gen_api.sh makes of the headers: "
                    "run sh docs/gen_api.sh > docs/api.md\n")
endif()
file(GLOB headers ${ROOT}/runtime/include/parley/*.h)
set(count 0)
foreach(h ${headers})
  file(STRINGS ${h} lines REGEX "^(static inline )?[a-z_][a-z_0-9 ]*[ *](parley|netobj)_[a-z0-9_]+\\(")
  foreach(line ${lines})
    if(line MATCHES "^typedef")
      continue()
    endif()
    if(line MATCHES "[ *]((parley|netobj)_[a-z0-9_]+)\\(")
      set(fn ${CMAKE_MATCH_1})
      math(EXPR count "${count} + 1")
      string(FIND "${doc}" "${fn}(" at)
      if(at LESS 0)
        get_filename_component(hn ${h} NAME)
        string(APPEND bad "  ${fn} (parley/${hn}) is not in docs/api.md\n")
      endif()
    endif()
  endforeach()
endforeach()
if(count LESS 100)
  string(APPEND bad "  only ${count} public functions found in the headers: is the pattern right?\n")
endif()
if(bad)
  message(FATAL_ERROR "docs/api.md:\n${bad}")
endif()
message(STATUS "docs/api.md is current and names the ${count} public functions")
