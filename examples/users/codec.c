/*
 * examples/users/codec.c: the user-list service's data through the
 * generated codec alone, with no server: a page of logins encoded to XDR,
 * decoded back, and checked field by field.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "users.h"

int main(void)
{
    static char names[][8] = {"ada", "grace", "ken"};
    static char lines[][8] = {"pts/0", "pts/1", "tty1"};
    static char hosts[][16] = {"10.0.0.7", "lab.example", ""};
    enum { N = sizeof names / sizeof names[0] };
    user_login people[N];
    for (unsigned i = 0; i < N; i++) {
        people[i].name = names[i];
        people[i].line = lines[i];
        people[i].host = hosts[i];
        people[i].login_time = 1700000000 + 3600 * (quad_t)i;
        people[i].idle = i == 2 ? -1 : 60 * (int)i;
    }
    user_login_reply reply = {TRUE, {.page = {{N, people}, 3, FALSE}}};

    size_t need = user_login_reply_size(&reply);
    unsigned char *buf = malloc(need);
    size_t len = 0;
    int rc = buf ? user_login_reply_encode(&reply, buf, need, &len) : PARLEY_ERR_NOMEM;
    if (rc != PARLEY_OK) {
        fprintf(stderr, "users: encode failed: %s\n", parley_strerror(rc));
        free(buf);
        return 1;
    }
    printf("users: a page of %u logins encodes to %zu bytes of XDR\n", (unsigned)N, len);

    user_login_reply back;
    rc = user_login_reply_decode(&back, buf, len, NULL, NULL);
    free(buf);
    if (rc != PARLEY_OK) {
        fprintf(stderr, "users: decode failed: %s\n", parley_strerror(rc));
        return 1;
    }
    const user_login_page *page = &back.user_login_reply_u.page;
    int same = back.ok && page->entries.entries_len == N && page->next == 3 && !page->more;
    for (unsigned i = 0; same && i < N; i++) {
        const user_login *u = &page->entries.entries_val[i];
        same = strcmp(u->name, names[i]) == 0 && strcmp(u->line, lines[i]) == 0 &&
               strcmp(u->host, hosts[i]) == 0 && u->login_time == people[i].login_time &&
               u->idle == people[i].idle;
        printf("  %-6s %-6s %-12s login %" PRId64 "  idle %d\n", u->name, u->line,
               u->host[0] ? u->host : "-", (int64_t)u->login_time, u->idle);
    }
    user_login_reply_free(&back);
    if (!same) {
        fprintf(stderr, "users: the decoded page differs from the encoded one\n");
        return 1;
    }
    puts("users: decoded page matches");
    return 0;
}
