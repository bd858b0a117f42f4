/*
 * examples/users/codec.c: the user-list service's data, through the
 * generated codec: build a list of users, encode it to XDR, decode it back,
 * and check that nothing changed. (The RPC client and server come with the
 * runtime; until then this is what the example runs.)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "users.h"

int main(void)
{
    static char names[][8] = {"ada", "grace", "ken", "dennis", "barbara"};
    enum { N = sizeof names / sizeof names[0] };
    user people[N];
    for (unsigned i = 0; i < N; i++) {
        people[i].name = names[i];
        people[i].uid = 1000 + i;
        people[i].login_time = 1700000000 + 3600 * (quad_t)i;
    }
    user_list list = {N, people};

    size_t need = user_list_size(&list);
    unsigned char *buf = malloc(need);
    size_t len = 0;
    int rc = buf ? user_list_encode(&list, buf, need, &len) : PARLEY_ERR_NOMEM;
    if (rc != PARLEY_OK) {
        fprintf(stderr, "users: encode failed: %s\n", parley_strerror(rc));
        free(buf);
        return 1;
    }
    printf("users: %u users encode to %zu bytes of XDR\n", list.user_list_len, len);

    user_list back;
    rc = user_list_decode(&back, buf, len, NULL, NULL);
    free(buf);
    if (rc != PARLEY_OK) {
        fprintf(stderr, "users: decode failed: %s\n", parley_strerror(rc));
        return 1;
    }
    int same = back.user_list_len == N;
    for (unsigned i = 0; same && i < N; i++) {
        const user *u = &back.user_list_val[i];
        same = strcmp(u->name, names[i]) == 0 && u->uid == 1000 + i &&
               u->login_time == 1700000000 + 3600 * (quad_t)i;
        printf("  %-8s uid %u  logged in at %" PRId64 "\n", u->name, u->uid,
               (int64_t)u->login_time);
    }
    user_list_free(&back);
    if (!same) {
        fprintf(stderr, "users: the decoded list differs from the encoded one\n");
        return 1;
    }
    puts("users: decoded list matches");
    return 0;
}
