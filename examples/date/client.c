/*
 * examples/date/client.c: asks a date server for the time, raw and
 * formatted: the first with an asynchronous call completed from an event
 * loop (here, poll(2) on the client's descriptor), the second with a plain
 * synchronous one.   date_client ADDRESS [FORMAT]
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>

#include "date.h"

/* now_done is the completion of the asynchronous DATE_NOW: it keeps the
 * call's outcome with the server's details of an error. */
static void now_done(void *ctx, int err)
{
    (void)err; /* the details hold it too */
    parley_client_last_detail(ctx);
}

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
    date_text text = NULL;
    if (rc == PARLEY_OK) {
        date_request req = {now, format};
        rc = date_format_1(c, &req, &text);
        parley_client_last_detail(&why);
    }
    if (rc != PARLEY_OK) {
        /* the server's details when it refused the call (e.g. the versions
         * it serves), else the error's text */
        if (why.err != rc)
            why = (parley_rpc_detail){rc, 0, 0, 0};
        char msg[160];
        fprintf(stderr, "date_client: %s: %s\n", argv[1],
                parley_rpc_detail_format(&why, msg, sizeof msg));
        parley_client_destroy(c);
        return 1;
    }
    printf("date: %lld seconds since the epoch: %s\n", (long long)now, text);
    date_text_free(&text);
    parley_client_destroy(c);
    return 0;
}
