/*
 * examples/date/server.c: the date service. The server's clock, raw or
 * formatted. Run it with one or more addresses (default tcp://127.0.0.1:0,
 * a port the system chooses): it prints where it listens, and registers
 * with the matchmaker (PARLEY_MATCHMAKER, default localhost:111) as "date",
 * so that clients can call it by name.
 */
#include <stdio.h>

#include <time.h>

#include "date.h"
#include "serve.h"

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
    return example_serve("date_server", &date_prog_1, DATE_PROG_SERVICE, argc, argv);
}
