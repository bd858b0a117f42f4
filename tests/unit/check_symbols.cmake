# check_symbols.cmake: what libparley puts into a user's link.
#
#   cmake -DNM=<nm> -DLIB=<libparley.a> -P check_symbols.cmake
#     fails, listing them, on global symbols that libparley defines outside
#     its two prefixes: parley_ (the public API) and pl_ (internal), so that
#     no name a user's IDL may generate (mm_key_enc, matchmaker_lookup_1, ...)
#     collides with one of the library's.
#   cmake -DNM=<nm> -DSHARED=<libparley.so> -DHEADERS=<runtime/include/parley>
#         -P check_symbols.cmake
#     fails, listing them, on the symbols the shared library exports (its
#     dynamic symbol table) other than the public API: parley_ and netobj's
#     codec names that the public headers declare. The internal pl_ ones are
#     local to it (runtime/parley.map).
#   cmake -DNM=<nm> -DEXE=<program> -DFORBID=<regex> -P check_symbols.cmake
#     fails on symbols of the linked program that match FORBID: what a
#     program that does not call a layer must not have pulled in.
#
# Exceptions: the codec of netobj (netobj_enc, ...), which parley/netobj.h
# declares under libtirpc's names because generated code for IDLs that use
# the predefined netobj calls it (see idl/check_resolve.c); and names beginning with
# two underscores, reserved to the implementation (a sanitizer's), which no
# conforming program defines.
cmake_minimum_required(VERSION 3.20)
if(NOT NM)
  message(FATAL_ERROR "NM is not set")
endif()

set(allowed_re "^(parley_|pl_|__)")
set(netobj netobj_enc netobj_dec netobj_size netobj_free netobj_encode netobj_decode)

if(LIB)
  execute_process(COMMAND ${NM} -g --defined-only ${LIB}
                  OUTPUT_VARIABLE out RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} failed on ${LIB}: ${err}")
  endif()
  string(REPLACE "\n" ";" lines "${out}")
  set(count 0)
  set(bad "")
  foreach(line IN LISTS lines)
    # "<address> <type> <name>"; member headers ("xdr.c.o:") and blank lines skipped
    if(line MATCHES "^[0-9a-fA-F]+ [A-Za-z] ([^ ]+)$")
      set(sym ${CMAKE_MATCH_1})
      math(EXPR count "${count} + 1")
      if(NOT sym MATCHES "${allowed_re}" AND NOT sym IN_LIST netobj)
        list(APPEND bad ${sym})
      endif()
    endif()
  endforeach()
  if(count EQUAL 0)
    message(FATAL_ERROR "no symbols read from ${LIB}: is ${NM} the right tool?")
  endif()
  list(REMOVE_DUPLICATES bad)
  list(LENGTH bad nbad)
  if(nbad GREATER 0)
    list(SORT bad)
    string(REPLACE ";" "\n  " shown "${bad}")
    message(FATAL_ERROR "libparley exports ${nbad} symbols outside parley_ and pl_:\n  ${shown}")
  endif()
  message(STATUS "libparley: ${count} global symbols, all parley_, pl_ or netobj's")
endif()

if(SHARED)
  if(NOT HEADERS)
    message(FATAL_ERROR "HEADERS is not set")
  endif()
  file(GLOB public_headers ${HEADERS}/*.h)
  set(api "")
  foreach(h IN LISTS public_headers)
    file(READ ${h} text)
    string(APPEND api "${text}\n")
  endforeach()
  execute_process(COMMAND ${NM} -D --defined-only ${SHARED}
                  OUTPUT_VARIABLE out RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} failed on ${SHARED}: ${err}")
  endif()
  string(REPLACE "\n" ";" lines "${out}")
  set(count 0)
  set(bad "")
  foreach(line IN LISTS lines)
    # "<address> <type> <name>[@version]"
    if(line MATCHES "^[0-9a-fA-F]+ [A-Za-z] ([^ @]+)")
      set(sym ${CMAKE_MATCH_1})
      math(EXPR count "${count} + 1")
      if(NOT sym MATCHES "^parley_" AND NOT sym IN_LIST netobj)
        list(APPEND bad ${sym})
      elseif(NOT api MATCHES "[^A-Za-z0-9_]${sym}[^A-Za-z0-9_]")
        list(APPEND bad "${sym} (declared in no public header)")
      endif()
    endif()
  endforeach()
  if(count EQUAL 0)
    message(FATAL_ERROR "no symbols read from ${SHARED}: is ${NM} the right tool?")
  endif()
  if(bad)
    list(SORT bad)
    string(REPLACE ";" "\n  " shown "${bad}")
    message(FATAL_ERROR "${SHARED} exports symbols outside its API:\n  ${shown}")
  endif()
  message(STATUS "${SHARED}: exports ${count} symbols, all parley_ or netobj's")
endif()

if(EXE)
  execute_process(COMMAND ${NM} --defined-only ${EXE}
                  OUTPUT_VARIABLE out RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} failed on ${EXE}: ${err}")
  endif()
  string(REPLACE "\n" ";" lines "${out}")
  set(bad "")
  foreach(line IN LISTS lines)
    if(line MATCHES "^[0-9a-fA-F]+ [A-Za-z] ([^ ]+)$" AND CMAKE_MATCH_1 MATCHES "${FORBID}")
      list(APPEND bad ${CMAKE_MATCH_1})
    endif()
  endforeach()
  if(bad)
    list(SORT bad)
    string(REPLACE ";" "\n  " shown "${bad}")
    message(FATAL_ERROR "${EXE} has symbols matching ${FORBID}:\n  ${shown}")
  endif()
  message(STATUS "${EXE}: nothing matches ${FORBID}")
endif()
