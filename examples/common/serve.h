/*
 * examples/common/serve.h: the main() every example server shares: listen,
 * register with the matchmaker, serve until SIGTERM or SIGINT.
 */
#ifndef EXAMPLE_SERVE_H
#define EXAMPLE_SERVE_H

#include "parley/server.h"

/* example_serve serves def on the addresses of argv[1..] (none:
 * tcp://127.0.0.1:0; a first "--store FILE" gives the completion store of
 * exactly-once calls), printing each one bound, registers it with the
 * matchmaker as service (saying so, or why not: without a matchmaker it
 * serves those who know an address), and runs it until SIGTERM or SIGINT.
 * Messages begin with who. Returns main's exit status. */
int example_serve(const char *who, const parley_program_def *def, const char *service, int argc,
                  char **argv);

#endif /* EXAMPLE_SERVE_H */
