/*
 * examples/users/server.c: the user-list service: who is logged in,
 * and a look-up by uid. Run it with one or more addresses (default
 * tcp://127.0.0.1:0) and --store FILE (where exactly-once logins are kept):
 * it prints where it listens, and registers with the matchmaker
 * (PARLEY_MATCHMAKER, default localhost:111) as "users".
 */
#include <stdio.h>
#include <string.h>

#include "users.h"
#include "serve.h"

static char names[][USERS_MAX_NAME + 1] = {"ada", "grace", "ken", "dennis", "barbara"};
enum { NUSERS = sizeof names / sizeof names[0] };
static user people[NUSERS];

/* users_list_1_svc answers USERS_LIST. The list is the server's own,
 * which outlives the call: nothing to release. */
int users_list_1_svc(user_list *result, parley_call *call)
{
    (void)call;
    result->user_list_len = NUSERS;
    result->user_list_val = people;
    return PARLEY_OK;
}

/* users_lookup_1_svc answers USERS_LOOKUP for one uid. */
int users_lookup_1_svc(const u_int *uid, lookup_result *result, parley_call *call)
{
    (void)call;
    result->found = FALSE;
    for (unsigned i = 0; i < NUSERS; i++) {
        if (people[i].uid == *uid) {
            result->found = TRUE;
            result->lookup_result_u.who = people[i];
        }
    }
    return PARLEY_OK;
}

/* users_login_1_svc answers USERS_LOGIN: the user's login count, kept in
 * the server's store under the user's name, one more. The put commits
 * with the call's completion record, so a retry after the server crashed
 * gets the count this call made, and never counts twice. */
int users_login_1_svc(const user_name *name, u_int *result, parley_call *call)
{
    const void *v = NULL;
    size_t vl = 0;
    u_int count = 0;
    size_t klen = strlen(*name);
    int rc = parley_call_store_get(call, *name, klen, &v, &vl);
    if (rc != PARLEY_OK)
        return rc;
    if (v && vl == sizeof count)
        memcpy(&count, v, sizeof count);
    count++;
    rc = parley_call_store_put(call, *name, klen, &count, sizeof count);
    if (rc != PARLEY_OK)
        return rc;
    *result = count;
    return PARLEY_OK;
}

int main(int argc, char **argv)
{
    for (unsigned i = 0; i < NUSERS; i++) {
        people[i].name = names[i];
        people[i].uid = 1000 + i;
        people[i].login_time = 1700000000 + 3600 * (quad_t)i;
    }
    return example_serve("users_server", &users_prog_1, USERS_PROG_SERVICE, argc, argv);
}
