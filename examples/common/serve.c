/*
 * examples/common/serve.c: see serve.h. The server's main() in a few
 * calls: parley_server_create, _add_program, _listen, _register, _run.
 */
#include "serve.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static parley_server *server;

static void on_signal(int sig)
{
    (void)sig;
    parley_server_stop(server);
}

/* example_serve: see serve.h. */
int example_serve(const char *who, const parley_program_def *def, const char *service, int argc,
                  char **argv)
{
    parley_server_opts opts = {0};
    if (argc > 2 && strcmp(argv[1], "--store") == 0) {
        opts.store = argv[2]; /* exactly-once calls' completion records */
        argc -= 2;
        argv += 2;
    }
    const char *fallback[] = {"tcp://127.0.0.1:0"};
    const char *const *addrs = argc > 1 ? (const char *const *)argv + 1 : fallback;
    int naddrs = argc > 1 ? argc - 1 : 1;
    char bound[128];
    int rc = parley_server_create(&server, &opts);
    if (rc != PARLEY_OK)
        fprintf(stderr, "%s: %s%s\n", who, parley_strerror(rc),
                opts.store ? " (the store given with --store)" : "");
    if (rc == PARLEY_OK)
        rc = parley_server_add_program(server, def);
    for (int i = 0; rc == PARLEY_OK && i < naddrs; i++) {
        rc = parley_server_listen(server, addrs[i], bound, sizeof bound);
        if (rc == PARLEY_OK)
            printf("%s: listening on %s\n", who, bound);
        else
            fprintf(stderr, "%s: %s: %s\n", who, addrs[i], parley_strerror(rc));
    }
    if (rc != PARLEY_OK) {
        parley_server_destroy(server);
        return 1;
    }
    if (opts.store)
        printf("%s: exactly-once calls kept in %s\n", who, opts.store);
    rc = parley_server_register(server, service);
    if (rc == PARLEY_OK)
        printf("%s: registered as '%s'\n", who, service);
    else {
        char holder[320];
        int held = parley_server_register_holder(server, holder, sizeof holder) == PARLEY_OK;
        printf("%s: not registered with the matchmaker (%s%s%s); clients need an address\n", who,
               parley_strerror(rc), held ? ", held by " : "", held ? holder : "");
    }
    fflush(stdout);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    rc = parley_server_run(server);
    /* the handler must not reach the server once it is freed */
    sa.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    parley_server_destroy(server); /* unregisters */
    if (rc != PARLEY_OK) {
        fprintf(stderr, "%s: %s\n", who, parley_strerror(rc));
        return 1;
    }
    return 0;
}
