/*
 * examples/date/server.c: the date service. The server's clock, raw or
 * formatted; run it with an address (default tcp://127.0.0.1:0, a port the
 * system chooses) and it prints the address it listens on.
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
    const char *addr = argc > 1 ? argv[1] : "tcp://127.0.0.1:0";
    char bound[128];
    int rc = parley_server_create(&server, NULL);
    if (rc == PARLEY_OK)
        rc = parley_server_add_program(server, &date_prog_1);
    if (rc == PARLEY_OK)
        rc = parley_server_listen(server, addr, bound, sizeof bound);
    if (rc != PARLEY_OK) {
        fprintf(stderr, "date_server: %s: %s\n", addr, parley_strerror(rc));
        parley_server_destroy(server);
        return 1;
    }
    printf("date_server: listening on %s\n", bound);
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
