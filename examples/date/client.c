/*
 * examples/date/client.c: asks a date server for the time, raw and
 * formatted.   date_client ADDRESS [FORMAT]
 */
#include <stdio.h>
#include <stdlib.h>

#include "date.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: date_client ADDRESS [FORMAT]\n");
        return 2;
    }
    char format_default[] = "%Y-%m-%d %H:%M:%S UTC";
    char *format = argc > 2 ? argv[2] : format_default;
    parley_client *c;
    int rc = parley_client_create(&c, argv[1], DATE_PROG, DATE_VERS, NULL);
    if (rc != PARLEY_OK) {
        fprintf(stderr, "date_client: %s: %s\n", argv[1], parley_strerror(rc));
        return 1;
    }
    quad_t now = 0;
    rc = date_now_1(c, &now);
    date_text text = NULL;
    if (rc == PARLEY_OK) {
        date_request req = {now, format};
        rc = date_format_1(c, &req, &text);
    }
    if (rc != PARLEY_OK) {
        fprintf(stderr, "date_client: %s: %s\n", argv[1], parley_strerror(rc));
        parley_client_destroy(c);
        return 1;
    }
    printf("date: %lld seconds since the epoch: %s\n", (long long)now, text);
    date_text_free(&text);
    parley_client_destroy(c);
    return 0;
}
