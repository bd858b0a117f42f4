# parley_generate(<out-var> IDL <file> [OUTDIR <dir>] [FLAGS ...])
# Runs parleygen on an IDL file at build time; <out-var> receives the list of
# generated C sources (foo_xdr.c, foo_client.c, foo_server.c and foo.h), and
# ${<out-var>_DIR} their folder, for the include path.
function(parley_generate out_var)
  cmake_parse_arguments(G "" "IDL;OUTDIR" "FLAGS" ${ARGN})
  get_filename_component(idl_abs ${G_IDL} ABSOLUTE)
  get_filename_component(base ${G_IDL} NAME_WE)
  if(NOT G_OUTDIR)
    set(G_OUTDIR ${CMAKE_CURRENT_BINARY_DIR}/gen)
  endif()
  set(outs ${G_OUTDIR}/${base}.h ${G_OUTDIR}/${base}_xdr.c ${G_OUTDIR}/${base}_client.c
           ${G_OUTDIR}/${base}_server.c)
  add_custom_command(
    OUTPUT ${outs}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${G_OUTDIR}
    COMMAND parleygen ${G_FLAGS} -o ${G_OUTDIR} ${idl_abs}
    DEPENDS parleygen ${idl_abs}
    COMMENT "parleygen ${base}"
    VERBATIM)
  set(${out_var} ${outs} PARENT_SCOPE)
  set(${out_var}_DIR ${G_OUTDIR} PARENT_SCOPE)
endfunction()
