/*
 * examples/date/codec.c: the date service's request and answer through
 * the generated codec alone, with no server: encode a request, decode it as
 * a server would, format the date it asks for (in UTC, the zone it names),
 * and send the text back the same way.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "date.h"

int main(void)
{
    unsigned char wire[256];
    size_t len = 0;
    char format[] = "%Y-%m-%d %H:%M:%S UTC";
    char zone[] = "UTC";
    date_request req = {1700000000, format, zone};
    int rc = date_request_encode(&req, wire, sizeof wire, &len);
    if (rc != PARLEY_OK) {
        fprintf(stderr, "date: encode failed: %s\n", parley_strerror(rc));
        return 1;
    }

    date_request got;
    rc = date_request_decode(&got, wire, len, NULL, NULL);
    if (rc != PARLEY_OK) {
        fprintf(stderr, "date: decode failed: %s\n", parley_strerror(rc));
        return 1;
    }
    char text[DATE_MAX_TEXT + 1];
    time_t when = (time_t)got.when;
    struct tm tm;
    /* the format comes from the request: that is the service */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    size_t n = gmtime_r(&when, &tm) ? strftime(text, sizeof text, got.format, &tm) : 0;
#pragma GCC diagnostic pop
    if (n == 0) {
        fprintf(stderr, "date: cannot format %lld with '%s'\n", (long long)got.when, got.format);
        date_request_free(&got);
        return 1;
    }
    date_request_free(&got);

    date_text answer = text;
    rc = date_text_encode(&answer, wire, sizeof wire, &len);
    date_text back = NULL;
    if (rc == PARLEY_OK)
        rc = date_text_decode(&back, wire, len, NULL, NULL);
    if (rc != PARLEY_OK) {
        fprintf(stderr, "date: answer failed: %s\n", parley_strerror(rc));
        return 1;
    }
    printf("date: %s (%zu bytes of XDR)\n", back, len);
    int ok = strcmp(back, "2023-11-14 22:13:20 UTC") == 0;
    date_text_free(&back);
    if (!ok) {
        fprintf(stderr, "date: unexpected answer\n");
        return 1;
    }
    return 0;
}
