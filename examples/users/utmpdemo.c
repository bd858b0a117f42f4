/*
 * examples/users/utmpdemo.c: writes a utmp file of made-up logins, for
 * showing the users service on a host where nobody is logged in (a
 * container, a CI machine): users_server --utmp FILE then lists them.
 *
 *   users_utmpdemo FILE
 *
 * The records are struct utmpx as the C library reads them (getutxent):
 * five logins of the last hours, with a boot record and an ended session
 * among them, which the server does not list.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <utmpx.h>

/* put appends one record of type to fd; -1 when the write fails. */
static int put(int fd, short type, const char *user, const char *line, const char *host,
               time_t when, int pid)
{
    struct utmpx u;
    memset(&u, 0, sizeof u);
    u.ut_type = type;
    u.ut_pid = pid;
    strncpy(u.ut_user, user, sizeof u.ut_user);
    strncpy(u.ut_line, line, sizeof u.ut_line);
    strncpy(u.ut_host, host, sizeof u.ut_host);
    snprintf(u.ut_id, sizeof u.ut_id, "%d", pid % 1000);
    u.ut_tv.tv_sec = (int32_t)when;
    return write(fd, &u, sizeof u) == (ssize_t)sizeof u ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: users_utmpdemo FILE\n");
        return 2;
    }
    static const struct {
        const char *user, *line, *host;
        int minutes_ago;
    } demo[] = {
        {"ada", "pts/90", "analytical.example.org", 312},
        {"grace", "pts/91", "", 275},
        {"ken", "pts/92", "10.0.0.7", 130},
        {"dennis", "tty7", "", 61},
        {"barbara", "pts/93", "clu.lcs.example.edu", 4},
    };
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fprintf(stderr, "users_utmpdemo: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    time_t now = time(NULL);
    int rc = put(fd, BOOT_TIME, "reboot", "~", "", now - 86400, 0);
    for (size_t i = 0; rc == 0 && i < sizeof demo / sizeof demo[0]; i++) {
        rc = put(fd, USER_PROCESS, demo[i].user, demo[i].line, demo[i].host,
                 now - 60 * (time_t)demo[i].minutes_ago, 4000 + (int)i);
        if (rc == 0 && i == 1)
            rc = put(fd, DEAD_PROCESS, "", "pts/94", "", now - 3600, 3999);
    }
    if (close(fd) != 0 || rc != 0) {
        fprintf(stderr, "users_utmpdemo: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    printf("users_utmpdemo: %zu made-up logins written to %s\n", sizeof demo / sizeof demo[0],
           argv[1]);
    return 0;
}
