# check_layers.cmake: the runtime's folders include only the layers beneath
# them (docs/runtime.md, "The layout").
#
#   cmake -DSRC=<runtime/src> -P check_layers.cmake
#     fails, listing each offending line, when a file of one folder includes
#     an internal header of a folder that is not beneath it: the codec knows
#     only the public headers; the wire layer (bytes) and the net layer
#     (sockets, the clock) know nothing of each other's internals or of
#     anything above; delivery and names sit on wire and net; the client and
#     the server sit on all of those and never on each other.
cmake_minimum_required(VERSION 3.20)
if(NOT SRC)
  message(FATAL_ERROR "SRC is not set")
endif()
get_filename_component(SRC "${SRC}" ABSOLUTE)

set(allowed_codec "")
set(allowed_wire "")
set(allowed_net "")
set(allowed_delivery wire net)
set(allowed_names wire net)
set(allowed_client wire net delivery names)
set(allowed_server wire net delivery names)
set(layers codec wire net delivery names client server)

set(bad "")
file(GLOB dirs RELATIVE ${SRC} ${SRC}/*)
foreach(d ${dirs})
  if(IS_DIRECTORY ${SRC}/${d} AND NOT d IN_LIST layers)
    string(APPEND bad "  ${d}/: a folder no rule names (add it to check_layers.cmake)\n")
  endif()
endforeach()
foreach(layer ${layers})
  file(GLOB files ${SRC}/${layer}/*.c ${SRC}/${layer}/*.h)
  foreach(f ${files})
    file(STRINGS ${f} lines REGEX "^#include \"")
    foreach(line ${lines})
      if(line MATCHES "^#include \"([a-z_]+)/")
        set(to ${CMAKE_MATCH_1})
        if(NOT to STREQUAL "parley" AND NOT to STREQUAL layer AND NOT to IN_LIST allowed_${layer})
          file(RELATIVE_PATH rel ${SRC} ${f})
          string(APPEND bad "  ${rel}: ${line} (${layer} may include ${allowed_${layer}})\n")
        endif()
      elseif(line MATCHES "^#include \"[^/]+\"")
        file(RELATIVE_PATH rel ${SRC} ${f})
        string(APPEND bad "  ${rel}: ${line} (name the folder of an internal header)\n")
      endif()
    endforeach()
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "includes across the runtime's layers that the layout forbids:\n${bad}")
endif()
message(STATUS "the runtime's folders include only the layers beneath them")
