# parley_generate(<prefix> IDL <file> [OUTDIR <dir>] [OUTPUTS <what>...] [FLAGS <flag>...])
#
# Runs parleygen (the target Parley::parleygen: the one built in Parley's
# tree, or the installed one ParleyConfig.cmake imports) on an IDL file at
# build time, into OUTDIR (default ${CMAKE_CURRENT_BINARY_DIR}/gen).
#
#   OUTPUTS  which of CODEC (foo_xdr.c), CLIENT (foo_client.c) and SERVER
#            (foo_server.c) to make; the header foo.h, which all of them
#            include, is always made. Default: all three.
#   FLAGS    more parleygen options, e.g. -I <dir> or -D NAME.
#
# It sets, in the caller's scope:
#   <prefix>_HEADER, <prefix>_CODEC, <prefix>_CLIENT, <prefix>_SERVER
#            the path of each output (empty for one not made), so that a
#            client compiles HEADER CODEC CLIENT and a server HEADER CODEC
#            SERVER (the server's foo_server.c calls foo_*_svc functions the
#            server defines: a client that compiled it would not link);
#   <prefix> all the outputs made, as one list;
#   <prefix>_DIR the output folder, for the include path.
#
# The outputs depend on the IDL file and on every file it #includes:
# parleygen writes a depfile (--depfile) that the build tool reads.
#
# The function records the policies in effect where it is defined (here),
# not where it is called: CMP0116 NEW, so that the depfile's paths, which are
# absolute or relative to the current binary folder, are read the same way
# by the Makefile and Ninja generators.
if(CMAKE_VERSION VERSION_LESS 3.20)
  message(FATAL_ERROR "parley_generate needs CMake 3.20 or later (DEPFILE with Makefiles)")
endif()
cmake_policy(PUSH)
cmake_policy(VERSION 3.20)
cmake_policy(SET CMP0116 NEW)
function(parley_generate prefix)
  cmake_parse_arguments(G "" "IDL;OUTDIR" "OUTPUTS;FLAGS" ${ARGN})
  if(NOT G_IDL)
    message(FATAL_ERROR "parley_generate(${prefix}): IDL <file> is required")
  endif()
  if(G_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "parley_generate(${prefix}): unknown arguments: ${G_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT TARGET Parley::parleygen)
    message(FATAL_ERROR "parley_generate(${prefix}): no target Parley::parleygen "
                        "(find_package(Parley) defines it)")
  endif()
  if(NOT G_OUTPUTS)
    set(G_OUTPUTS CODEC CLIENT SERVER)
  endif()
  get_filename_component(idl_abs ${G_IDL} ABSOLUTE)
  get_filename_component(base ${G_IDL} NAME_WE)
  if(NOT G_OUTDIR)
    set(G_OUTDIR ${CMAKE_CURRENT_BINARY_DIR}/gen)
  endif()
  get_filename_component(G_OUTDIR ${G_OUTDIR} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_BINARY_DIR})

  set(header ${G_OUTDIR}/${base}.h)
  set(outs ${header})
  set(only --header)
  foreach(what CODEC CLIENT SERVER)
    set(${what} "")
  endforeach()
  foreach(what IN LISTS G_OUTPUTS)
    if(what STREQUAL "CODEC")
      set(CODEC ${G_OUTDIR}/${base}_xdr.c)
      list(APPEND only --xdr)
    elseif(what STREQUAL "CLIENT")
      set(CLIENT ${G_OUTDIR}/${base}_client.c)
      list(APPEND only --client)
    elseif(what STREQUAL "SERVER")
      set(SERVER ${G_OUTDIR}/${base}_server.c)
      list(APPEND only --server)
    else()
      message(FATAL_ERROR "parley_generate(${prefix}): OUTPUTS takes CODEC, CLIENT and "
                          "SERVER, not '${what}'")
    endif()
    list(APPEND outs ${${what}})
  endforeach()
  list(REMOVE_DUPLICATES outs)

  # One depfile per output folder and IDL: two calls on one IDL file need
  # two folders anyway.
  set(depfile ${G_OUTDIR}/${base}.parleygen.d)
  add_custom_command(
    OUTPUT ${outs}
    COMMAND Parley::parleygen ${G_FLAGS} ${only} --depfile ${depfile} -o ${G_OUTDIR} ${idl_abs}
    DEPENDS Parley::parleygen ${idl_abs}
    DEPFILE ${depfile}
    COMMENT "parleygen ${base}"
    VERBATIM)
  set(${prefix} ${outs} PARENT_SCOPE)
  set(${prefix}_HEADER ${header} PARENT_SCOPE)
  set(${prefix}_CODEC ${CODEC} PARENT_SCOPE)
  set(${prefix}_CLIENT ${CLIENT} PARENT_SCOPE)
  set(${prefix}_SERVER ${SERVER} PARENT_SCOPE)
  set(${prefix}_DIR ${G_OUTDIR} PARENT_SCOPE)
endfunction()
cmake_policy(POP)
