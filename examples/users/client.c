/*
 * examples/users/client.c: lists the users a server knows and looks
 * one up.   users_client ADDRESS
 */
#include <inttypes.h>
#include <stdio.h>

#include "users.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: users_client ADDRESS\n");
        return 2;
    }
    parley_client *c = NULL;
    int rc = parley_client_create(&c, argv[1], USERS_PROG, USERS_VERS, NULL);
    user_list list = {0, NULL};
    lookup_result found;
    if (rc == PARLEY_OK)
        rc = users_list_1(c, &list);
    if (rc == PARLEY_OK) {
        printf("users: %u logged in\n", list.user_list_len);
        for (u_int i = 0; i < list.user_list_len; i++)
            printf("  %-8s uid %u  since %" PRId64 "\n", list.user_list_val[i].name,
                   list.user_list_val[i].uid, (int64_t)list.user_list_val[i].login_time);
        u_int uid = 1002;
        rc = users_lookup_1(c, &uid, &found);
    }
    if (rc == PARLEY_OK) {
        if (found.found)
            printf("users: uid 1002 is %s\n", found.lookup_result_u.who.name);
        else
            printf("users: uid 1002 is not logged in\n");
        lookup_result_free(&found);
        /* an exactly-once call: needs a server with a store */
        char ada[] = "ada";
        user_name who = ada;
        u_int logins = 0;
        rc = users_login_1(c, &who, &logins);
        if (rc == PARLEY_OK)
            printf("users: ada logged in, login number %u (counted exactly once)\n", logins);
    }
    user_list_free(&list);
    if (rc != PARLEY_OK) {
        /* the failed call's details, e.g. the versions a server serves
         * when it does not serve ours (none when creating failed) */
        parley_rpc_detail why;
        parley_client_last_detail(&why);
        if (why.err != rc)
            why = (parley_rpc_detail){rc, 0, 0, 0};
        char text[160];
        fprintf(stderr, "users_client: %s: %s\n", argv[1],
                parley_rpc_detail_format(&why, text, sizeof text));
    }
    parley_client_destroy(c);
    return rc == PARLEY_OK ? 0 : 1;
}
