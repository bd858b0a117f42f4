/*
 * examples/date/server.c: the date service. The server's clock, raw or
 * formatted. Run it with one or more addresses (default tcp://127.0.0.1:0,
 * a port the system chooses): it prints where it listens, and registers
 * with the matchmaker (PARLEY_MATCHMAKER, default localhost:111) as "date",
 * so that clients can call it by name.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "date.h"

static parley_server *server;

static void on_signal(int sig)
{
    (void)sig;
    parley_server_stop(server);
}

/* date_now_1_svc answers DATE_NOW: seconds since the epoch. */
int date_now_1_svc(quad_t *result, parley_call *call)
{
    (void)call;
    *result = (quad_t)time(NULL);
    return PARLEY_OK;
}

/* date_format_1_svc answers DATE_FORMAT: the time asked for (0: now) in the
 * strftime format asked for, in UTC. The text lives in the call's arena,
 * which the server releases once the reply is sent. */
int date_format_1_svc(const date_request *req, date_text *result, parley_call *call)
{
    char *text = parley_arena_alloc(parley_call_arena(call), DATE_MAX_TEXT + 1);
    if (!text)
        return PARLEY_ERR_NOMEM;
    time_t when = req->when ? (time_t)req->when : time(NULL);
    struct tm tm;
    size_t n = 0;
    /* the format comes from the request: that is the service */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    if (gmtime_r(&when, &tm))
        n = strftime(text, DATE_MAX_TEXT + 1, req->format, &tm);
#pragma GCC diagnostic pop
    if (n == 0)
        text[0] = '\0';
    *result = text;
    return PARLEY_OK;
}

int main(int argc, char **argv)
{
    const char *fallback[] = {"tcp://127.0.0.1:0"};
    const char *const *addrs = argc > 1 ? (const char *const *)argv + 1 : fallback;
    int naddrs = argc > 1 ? argc - 1 : 1;
    char bound[128];
    int rc = parley_server_create(&server, NULL);
    if (rc == PARLEY_OK)
        rc = parley_server_add_program(server, &date_prog_1);
    for (int i = 0; rc == PARLEY_OK && i < naddrs; i++) {
        rc = parley_server_listen(server, addrs[i], bound, sizeof bound);
        if (rc == PARLEY_OK)
            printf("date_server: listening on %s\n", bound);
        else
            fprintf(stderr, "date_server: %s: %s\n", addrs[i], parley_strerror(rc));
    }
    if (rc != PARLEY_OK) {
        parley_server_destroy(server);
        return 1;
    }
    /* clients can then call it by name; without a matchmaker it serves
     * those who know an address */
    rc = parley_server_register(server, DATE_PROG_SERVICE);
    if (rc == PARLEY_OK)
        printf("date_server: registered as '%s'\n", DATE_PROG_SERVICE);
    else
        printf("date_server: not registered with the matchmaker (%s); clients need an address\n",
               parley_strerror(rc));
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
    parley_server_destroy(server);
    if (rc != PARLEY_OK) {
        fprintf(stderr, "date_server: %s\n", parley_strerror(rc));
        return 1;
    }
    return 0;
}
