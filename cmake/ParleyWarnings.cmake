# parley_warnings(target): the project's warning set, as errors, for gcc and clang.
function(parley_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wpointer-arith -Wcast-qual -Wwrite-strings -Wformat=2 -Wundef
    -Wno-unused-parameter)
endfunction()
