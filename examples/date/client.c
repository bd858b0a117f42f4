/*
 * examples/date/client.c: asks a date server for the time: in seconds, with
 * an asynchronous call completed from an event loop (here, poll(2) on the
 * client's descriptor); as text in a format and a time zone, and as struct
 * tm, with plain synchronous calls; and measures the offset of the server's
 * clock from this host's, as rdate and NTP do.
 *
 *   date_client ADDRESS [--format FORMAT] [--zone ZONE]
 *
 * FORMAT is strftime's (default "%Y-%m-%d %H:%M:%S %Z"), ZONE a name of the
 * tz database ("Europe/Paris", "UTC"; default: the server's own zone).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "date.h"
#include "log.h"

/* The samples of the clock offset: the one with the shortest round trip
 * has the tightest bound, as NTP keeps. */
enum { OFFSET_SAMPLES = 4 };

/* now_done is the completion of the asynchronous DATE_NOW: it keeps the
 * call's outcome with the server's details of an error. */
static void now_done(void *ctx, int err)
{
    (void)err; /* the details hold it too */
    parley_client_last_detail(ctx);
}

/* seconds is a timespec as seconds, in a double. */
static double seconds(quad_t sec, long nsec)
{
    return (double)sec + (double)nsec / 1e9;
}

/* clock_offset measures the server's clock against this host's: t0 before
 * the call, the server's time, t1 after; the offset is the server's time
 * less the middle of t0 and t1, and the server read its clock between t0
 * and t1, so the offset is off by at most half the round trip. Keeps the
 * sample with the shortest round trip. */
static int clock_offset(parley_client *c, double *offset, double *rtt)
{
    *rtt = -1;
    for (int i = 0; i < OFFSET_SAMPLES; i++) {
        struct timespec t0, t1;
        date_clock server;
        clock_gettime(CLOCK_REALTIME, &t0);
        int rc = date_clock_1(c, &server);
        clock_gettime(CLOCK_REALTIME, &t1);
        if (rc != PARLEY_OK)
            return rc;
        double a = seconds((quad_t)t0.tv_sec, t0.tv_nsec);
        double b = seconds((quad_t)t1.tv_sec, t1.tv_nsec);
        if (*rtt < 0 || b - a < *rtt) {
            *rtt = b - a;
            *offset = seconds(server.sec, (long)server.nsec) - (a + b) / 2;
        }
    }
    return PARLEY_OK;
}

static int usage(void)
{
    fprintf(stderr, "usage: date_client [-v] ADDRESS [--format FORMAT] [--zone ZONE]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (example_log("date_client", &argc, argv) != 0)
        return 2;
    if (argc < 2 || argv[1][0] == '-')
        return usage();
    const char *address = argv[1];
    char format_default[] = "%Y-%m-%d %H:%M:%S %Z";
    char zone_default[] = "";
    char *format = format_default;
    char *zone = zone_default;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            format = argv[++i];
        } else if (strcmp(argv[i], "--zone") == 0 && i + 1 < argc) {
            zone = argv[++i];
        } else {
            fprintf(stderr, "date_client: %s: unknown option, or its value missing\n", argv[i]);
            return usage();
        }
    }
    /* what no request can carry is said here; the rest is the server's
     * to judge, and it says what it refuses */
    if (strlen(format) > DATE_MAX_FORMAT_WIRE || strlen(zone) > DATE_MAX_ZONE) {
        fprintf(stderr, "date_client: the %s is longer than the %d bytes a request carries\n",
                strlen(zone) > DATE_MAX_ZONE ? "zone" : "format",
                strlen(zone) > DATE_MAX_ZONE ? DATE_MAX_ZONE : DATE_MAX_FORMAT_WIRE);
        return 2;
    }
    parley_client *c;
    int rc = parley_client_create(&c, address, DATE_PROG, DATE_VERS, NULL);
    if (rc != PARLEY_OK) {
        fprintf(stderr, "date_client: %s: %s\n", address, parley_strerror(rc));
        return 1;
    }
    quad_t now = 0;
    parley_rpc_detail why = {-1, 0, 0, 0}; /* err -1: not completed yet */
    rc = date_now_1_submit(c, &now, now_done, &why);
    /* the program's own event loop, bounded: wait on the client's
     * descriptor, let the client read and run the completion */
    for (int rounds = 0; rc == PARLEY_OK && why.err < 0 && rounds < 1000; rounds++) {
        struct pollfd pf = {parley_client_fd(c), POLLIN, 0};
        poll(&pf, 1, 100);
        rc = parley_client_poll(c, 0, NULL);
    }
    if (rc == PARLEY_OK)
        rc = why.err < 0 ? PARLEY_ERR_TIMEDOUT : why.err;
    date_text_result text = {DATE_OK, {NULL}};
    date_tm_result tm = {DATE_OK, {.tm = {0}}};
    const char *refused = NULL;
    double offset = 0, rtt = 0;
    if (rc == PARLEY_OK) {
        printf("date: %lld seconds since the epoch\n", (long long)now);
        date_request req = {now, format, zone};
        rc = date_format_1(c, &req, &text);
        if (rc == PARLEY_OK && text.status != DATE_OK)
            refused = text.date_text_result_u.why;
        else if (rc == PARLEY_OK)
            rc = date_tm_1(c, &req, &tm);
        if (rc == PARLEY_OK && !refused && tm.status != DATE_OK)
            refused = tm.date_tm_result_u.why;
        if (rc == PARLEY_OK && !refused)
            rc = clock_offset(c, &offset, &rtt);
        parley_client_last_detail(&why);
    }
    if (rc == PARLEY_OK && !refused) {
        const date_tm *t = &tm.date_tm_result_u.tm;
        printf("date: %s (zone %s, format \"%s\")\n", text.date_text_result_u.text,
               zone[0] ? zone : "of the server", format);
        printf("date: tm sec=%d min=%d hour=%d mday=%d mon=%d year=%d wday=%d yday=%d "
               "isdst=%d gmtoff=%lld zone=%s\n",
               t->sec, t->min, t->hour, t->mday, t->mon, t->year, t->wday, t->yday, t->isdst,
               (long long)t->gmtoff, t->zone);
        printf("date: clock offset %+.6f s (the server's clock less this host's), within "
               "%.6f s (half the round trip of %.6f s)\n",
               offset, rtt / 2, rtt);
    } else if (refused) {
        fflush(stdout); /* what came before the error comes before it */
        fprintf(stderr, "date_client: the server refused: %s\n", refused);
    } else {
        /* the server's details when it refused the call (e.g. the versions
         * it serves), else the error's text */
        if (why.err != rc)
            why = (parley_rpc_detail){rc, 0, 0, 0};
        fflush(stdout);
        char msg[160];
        fprintf(stderr, "date_client: %s: %s\n", address,
                parley_rpc_detail_format(&why, msg, sizeof msg));
    }
    date_text_result_free(&text);
    date_tm_result_free(&tm);
    parley_client_destroy(c);
    return rc == PARLEY_OK && !refused ? 0 : 1;
}
